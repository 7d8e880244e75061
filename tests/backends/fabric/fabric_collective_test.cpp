// Real multi-process tests of fabric_collective over loopback: 2 and 4 ranks, shm and tcp
// (tcp;ofi_rxm), every collective checked exactly against a computed expectation for sizes that
// do and do not divide by the world (values are small integers, so float sums are exact).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include "tests/backends/fabric/rank_processes.hpp"

using namespace wb;
using wb::test::rank_processes;

namespace {

// Element i of rank r's input: a small integer, different per rank and position.
float input_value(int r, size_t i) { return float((r + 1) * int(i % 97 + 1)); }
float summed_value(int world, size_t i) { return float(world * (world + 1) / 2 * int(i % 97 + 1)); }

void expect(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

const size_t sizes[] = {1, 3, 1001, 4097, 65537, 262147};

// Runs `body` on `world` ranks and requires every rank to finish cleanly.
// algorithm: fabric_options::algorithm ("auto" picks by provider and size; "ring" forces the ring on
// power-of-two worlds too, where "auto" would take recursive halving/doubling or, over shm, the
// one-sided algorithm).
void run_ranks(int world, const std::string& provider, const rank_processes::body& body, const std::string& algorithm = "auto") {
  fabric_options o = test::loopback_options(provider);
  o.algorithm = algorithm;
  rank_processes ranks(world, o, body);
  auto out = ranks.wait_all(120);
  for (int r = 0; r < world; ++r) {
    INFO("rank " << r << " of " << world << " over " << provider << " (" << algorithm << "): " << out[size_t(r)].message);
    CHECK(out[size_t(r)].exit_code == 0);
  }
}

}  // namespace

TEST_CASE("all_reduce_sum over the fabric gives the exact sum on every rank for every size", "[fabric]") {
  int world = GENERATE(2, 3, 4, 8);  // 3: the ring where halving/doubling does not apply; 8: three levels of it
  std::string provider = GENERATE("shm", "tcp");
  std::string algorithm = GENERATE("auto", "ring", "halving_doubling");
  run_ranks(world, provider, [](fabric_collective& c) {
    for (size_t n : sizes) {
      std::vector<float> v(n);
      for (size_t i = 0; i < n; ++i) v[i] = input_value(c.rank(), i);
      c.all_reduce_sum(v.data(), n);
      for (size_t i = 0; i < n; ++i)
        expect(v[i] == summed_value(c.world(), i), fmt::format("n={} i={}: got {}, expected {}", n, i, v[i], summed_value(c.world(), i)));
    }
  }, algorithm);
}

TEST_CASE("all_reduce_sum with the collective's own slice sizes is exact on buffers of several MiB", "[fabric]") {
  // The defaults the tests above replace with 4 KiB slices: over tcp with two ranks one message per
  // MiB by ofi_rxm's rendezvous, over shm with two ranks one message per chunk, with four ranks
  // slices of 256 KiB (shm) or 1 MiB sent eagerly (tcp).
  int world = GENERATE(2, 4);
  std::string provider = GENERATE("shm", "tcp");
  fabric_options o = test::loopback_options(provider);
  o.slice_bytes = 0;
  rank_processes ranks(world, o, [](fabric_collective& c) {
    for (size_t n : {size_t(1) << 18, (size_t(3) << 20) + 5}) {  // 1 MiB, and 12 MiB plus a remainder
      std::vector<float> v(n);
      for (size_t i = 0; i < n; ++i) v[i] = input_value(c.rank(), i);
      c.all_reduce_sum(v.data(), n);
      for (size_t i = 0; i < n; ++i)
        expect(v[i] == summed_value(c.world(), i), fmt::format("n={} i={}: got {}, expected {}", n, i, v[i], summed_value(c.world(), i)));
    }
  });
  auto out = ranks.wait_all(120);
  for (int r = 0; r < world; ++r) {
    INFO("rank " << r << " of " << world << " over " << provider << ": " << out[size_t(r)].message);
    CHECK(out[size_t(r)].exit_code == 0);
  }
}

TEST_CASE("reduce_scatter_sum over the fabric leaves each rank its own summed chunk", "[fabric]") {
  int world = GENERATE(2, 4, 8);
  std::string provider = GENERATE("shm", "tcp");
  std::string algorithm = GENERATE("auto", "ring");
  run_ranks(world, provider, [](fabric_collective& c) {
    for (size_t n : sizes) {
      std::vector<float> v(n);
      for (size_t i = 0; i < n; ++i) v[i] = input_value(c.rank(), i);
      c.reduce_scatter_sum(v.data(), n);
      chunk mine = chunk_range(n, c.world(), c.rank());
      for (size_t i = mine.begin; i < mine.begin + mine.size; ++i)
        expect(v[i] == summed_value(c.world(), i), fmt::format("n={} i={}: got {}, expected {}", n, i, v[i], summed_value(c.world(), i)));
    }
  }, algorithm);
}

TEST_CASE("all_gather over the fabric fills every rank with every rank's chunk", "[fabric]") {
  int world = GENERATE(2, 4, 8);
  std::string provider = GENERATE("shm", "tcp");
  std::string algorithm = GENERATE("auto", "ring");
  run_ranks(world, provider, [](fabric_collective& c) {
    for (size_t n : sizes) {
      std::vector<float> v(n, -1.0f);
      chunk mine = chunk_range(n, c.world(), c.rank());
      for (size_t i = mine.begin; i < mine.begin + mine.size; ++i) v[i] = input_value(c.rank(), i);
      c.all_gather(v.data(), n);
      for (int owner = 0; owner < c.world(); ++owner) {
        chunk ch = chunk_range(n, c.world(), owner);
        for (size_t i = ch.begin; i < ch.begin + ch.size; ++i)
          expect(v[i] == input_value(owner, i), fmt::format("n={} i={} (rank {}'s chunk): got {}", n, i, owner, v[i]));
      }
    }
  }, algorithm);
}

TEST_CASE("broadcast over the fabric copies the root's bytes to every rank, from any root", "[fabric]") {
  int world = GENERATE(2, 4);
  std::string provider = GENERATE("shm", "tcp");
  run_ranks(world, provider, [](fabric_collective& c) {
    for (int root = 0; root < c.world(); ++root)
      for (size_t bytes : {size_t(1), size_t(4095), size_t(100003)}) {
        std::vector<unsigned char> b(bytes);
        for (size_t i = 0; i < bytes; ++i) b[i] = c.rank() == root ? (unsigned char)(i * 7 + root) : 0;
        c.broadcast(b.data(), bytes, root);
        for (size_t i = 0; i < bytes; ++i)
          expect(b[i] == (unsigned char)(i * 7 + root), fmt::format("root {} bytes {} i={}: got {}", root, bytes, i, b[i]));
      }
  });
}

TEST_CASE("send and recv over the fabric deliver messages in order per tag, around the ring", "[fabric]") {
  int world = GENERATE(2, 4);
  std::string provider = GENERATE("shm", "tcp");
  run_ranks(world, provider, [](fabric_collective& c) {
    int next = (c.rank() + 1) % c.world(), prev = (c.rank() + c.world() - 1) % c.world();
    for (size_t bytes : {size_t(8), size_t(20001)}) {
      // Two messages with tag 5 and one with tag 9: the receiver takes tag 9 first.
      std::vector<int32_t> a(bytes / 4), b(bytes / 4), t(bytes / 4);
      for (size_t i = 0; i < a.size(); ++i) a[i] = c.rank() * 1000 + int(i), b[i] = -a[i], t[i] = 7;
      c.send(a.data(), bytes / 4 * 4, next, 5);
      c.send(b.data(), bytes / 4 * 4, next, 5);
      c.send(t.data(), bytes / 4 * 4, next, 9);
      std::vector<int32_t> r1(a.size()), r2(a.size()), r3(a.size());
      c.recv(r3.data(), bytes / 4 * 4, prev, 9);
      c.recv(r1.data(), bytes / 4 * 4, prev, 5);
      c.recv(r2.data(), bytes / 4 * 4, prev, 5);
      for (size_t i = 0; i < a.size(); ++i) {
        expect(r1[i] == prev * 1000 + int(i), fmt::format("first tag-5 message i={}: got {}", i, r1[i]));
        expect(r2[i] == -(prev * 1000 + int(i)), fmt::format("second tag-5 message i={}: got {}", i, r2[i]));
        expect(r3[i] == 7, fmt::format("tag-9 message i={}: got {}", i, r3[i]));
      }
    }
    c.barrier();
  });
}

TEST_CASE("one-sided collectives over shm give the exact results for every world from 2 to 8 and odd sizes", "[fabric][one_sided]") {
  int world = GENERATE(range(2, 9));
  run_ranks(world, "shm", [](fabric_collective& c) {
    for (size_t n : sizes) {
      std::vector<float> v(n);
      for (size_t i = 0; i < n; ++i) v[i] = input_value(c.rank(), i);
      c.all_reduce_sum(v.data(), n);
      for (size_t i = 0; i < n; ++i)
        expect(v[i] == summed_value(c.world(), i), fmt::format("all_reduce n={} i={}: got {}, expected {}", n, i, v[i], summed_value(c.world(), i)));

      for (size_t i = 0; i < n; ++i) v[i] = input_value(c.rank(), i);
      c.reduce_scatter_sum(v.data(), n);
      chunk mine = chunk_range(n, c.world(), c.rank());
      for (size_t i = mine.begin; i < mine.begin + mine.size; ++i)
        expect(v[i] == summed_value(c.world(), i), fmt::format("reduce_scatter n={} i={}: got {}, expected {}", n, i, v[i], summed_value(c.world(), i)));

      std::fill(v.begin(), v.end(), -1.0f);
      for (size_t i = mine.begin; i < mine.begin + mine.size; ++i) v[i] = input_value(c.rank(), i);
      c.all_gather(v.data(), n);
      for (int owner = 0; owner < c.world(); ++owner) {
        chunk ch = chunk_range(n, c.world(), owner);
        for (size_t i = ch.begin; i < ch.begin + ch.size; ++i)
          expect(v[i] == input_value(owner, i), fmt::format("all_gather n={} i={} (rank {}'s chunk): got {}", n, i, owner, v[i]));
      }
    }
  }, "one_sided");
}

TEST_CASE("a one-sided all_reduce_sum sums each chunk in one fixed order, so every rank gets the same bits", "[fabric][one_sided]") {
  int world = GENERATE(3, 4);
  run_ranks(world, "shm", [](fabric_collective& c) {
    // Values whose float sums round differently in different orders.
    auto value = [](int r, size_t i) { return 1.0f / float(3 + r) + float(i % 1013) * 1e-3f * float(r + 1); };
    size_t n = 300007;
    std::vector<float> v(n);
    for (int round = 0; round < 3; ++round) {
      for (size_t i = 0; i < n; ++i) v[i] = value(c.rank(), i);
      c.all_reduce_sum(v.data(), n);
      for (int owner = 0; owner < c.world(); ++owner) {
        // Chunk `owner` is summed by its owner: its own value, then ranks owner+1, owner+2, ... (mod world).
        chunk ch = chunk_range(n, c.world(), owner);
        for (size_t i = ch.begin; i < ch.begin + ch.size; ++i) {
          float sum = value(owner, i);
          for (int k = 1; k < c.world(); ++k) sum += value((owner + k) % c.world(), i);
          expect(v[i] == sum, fmt::format("round {} i={} (chunk {}): got {:.9g}, expected {:.9g}", round, i, owner, v[i], sum));
        }
      }
    }
  }, "one_sided");
}

TEST_CASE("the one-sided algorithm is refused where the provider has no suitable RMA", "[fabric][one_sided]") {
  fabric_options o = test::loopback_options("tcp");
  o.algorithm = "one_sided";
  try {
    fabric_collective c(0, 1, o);
    FAIL("expected an error");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()) == "WB_FABRIC_ALGORITHM=one_sided needs RMA whose completed writes are in the peer's memory, which "
                                   "provider 'tcp;ofi_rxm' does not give here; hint: use FI_PROVIDER=shm, or WB_FABRIC_ALGORITHM=auto");
  }
}

TEST_CASE("a fabric rank names an unknown provider and the ones offered", "[fabric]") {
  fabric_options o = test::loopback_options("no_such_provider");
  try {
    fabric_collective c(0, 1, o);
    FAIL("expected an error");
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    CHECK_THAT(what, Catch::Contains("libfabric has no reliable-datagram tagged endpoint for provider 'no_such_provider'"));
    CHECK_THAT(what, Catch::Contains("providers offered here:"));
    CHECK_THAT(what, Catch::Contains("shm"));
  }
}

// CI once failed with "rank 0 cannot listen on port N: Address already in use": the port was
// picked free, then taken (by a parallel test's connection) before rank 0 bound it. The listener
// holds the port from the moment it is chosen; rank 0 accepts on that very socket.
TEST_CASE("the bootstrap port stays taken from choice until rank 0 accepts on it", "[fabric]") {
  loopback_listener listener;
  int other = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(uint16_t(listener.port()));
  int bound = ::bind(other, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  int bind_errno = errno;
  ::close(other);
  CHECK(bound != 0);
  CHECK(bind_errno == EADDRINUSE);

  fabric_options o = test::loopback_options("tcp");
  listener.use_in(o);
  CHECK(o.master_port == listener.port());
  CHECK(o.listen_fd == listener.fd());
  run_ranks(2, "tcp", [](fabric_collective& c) {  // rank_processes opens its own listener the same way
    std::vector<float> v(1001, float(c.rank() + 1));
    c.all_reduce_sum(v.data(), v.size());
    expect(v[1000] == 3.0f, fmt::format("got {}", v[1000]));
  });
}

TEST_CASE("WB_FABRIC_LISTEN_FD hands rank 0 the launcher's socket", "[fabric]") {
  ::setenv("WB_FABRIC_LISTEN_FD", "7", 1);
  CHECK(fabric_options_from_env().listen_fd == 7);
  ::setenv("WB_FABRIC_LISTEN_FD", "seven", 1);
  CHECK_THROWS_WITH(fabric_options_from_env(), "Invalid WB_FABRIC_LISTEN_FD=seven: expected an integer from 0 to 1048576");
  ::unsetenv("WB_FABRIC_LISTEN_FD");
  CHECK(fabric_options_from_env().listen_fd == -1);
}
