// Checkpoint save and load of a large training state, and how long training is blocked by an
// asynchronous save (the in-memory snapshot) against a synchronous one. Prints one JSON line per
// measurement; bench/ckpt/run compares them with this disk's own fsynced write bandwidth.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/ckpt/checkpoint.hpp"
#include "core/util/parallel_copy.hpp"
#include "core/util/random.hpp"

using namespace wb;
using clock_type = std::chrono::steady_clock;

static double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

int main(int argc, char** argv) {
  std::string root = argc > 1 ? argv[1] : "bench-ckpt";
  double gib = argc > 2 ? std::atof(argv[2]) : 1.125;
  // Parameters, first and second moments of a model of `params` fp32 weights, in 64 tensors as a
  // real model's layers would be.
  size_t params = size_t(gib * double(1ull << 30) / 12);
  const int pieces = 64;
  size_t per = params / pieces;
  params = per * pieces;
  std::vector<float> state(3 * params);
  rng64 rng(1);
  for (auto& x : state) x = float(int64_t(rng.next() >> 40)) * 1e-6f;
  ckpt_contents c;
  c.step = 1;
  c.state = {{"note", "bench"}};
  for (int k = 0; k < 3; ++k)
    for (int i = 0; i < pieces; ++i) {
      const char* kind = k == 0 ? "model" : k == 1 ? "optim.m" : "optim.v";
      c.tensors.push_back({std::string(kind) + ".w" + std::to_string(i), st_dtype::f32, {int64_t(per)}, {}, {},
                           state.data() + size_t(k) * params + size_t(i) * per});
    }
  double bytes = double(state.size()) * 4;

  // Synchronous save: the whole write, fsyncs and commit.
  std::filesystem::remove_all(root);
  auto t0 = clock_type::now();
  std::string dir = ckpt_write(root, c);
  double save_s = seconds_since(t0);

  // What an asynchronous save blocks: copying the state into the snapshot buffer, as
  // checkpoint_snapshot does (core/run/train_checkpoint.cpp). The buffer is touched first, as a
  // run's second and later snapshots find it.
  std::vector<float> snapshot(state.size(), 0.0f);
  t0 = clock_type::now();
  parallel_copy(snapshot.data(), state.data(), state.size() * 4);
  double snapshot_s = seconds_since(t0);

  // Load: verify every checksum and assemble every tensor.
  t0 = clock_type::now();
  {
    ckpt_reader r(dir, true);
    std::vector<float> out(per);
    for (auto& t : c.tensors) r.read_global(t.name, out.data());
  }
  double load_s = seconds_since(t0);

  nlohmann::json j = {{"bytes", bytes},           {"save_s", save_s},
                      {"save_MBps", bytes / save_s / 1e6}, {"load_s", load_s},
                      {"load_MBps", bytes / load_s / 1e6}, {"async_blocked_s", snapshot_s},
                      {"blocked_ratio", snapshot_s / save_s}};
  std::printf("%s\n", j.dump().c_str());
  std::filesystem::remove_all(root);
  return 0;
}
