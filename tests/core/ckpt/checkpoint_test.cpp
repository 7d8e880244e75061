// Checkpoint directories: committed atomically, found newest-first, retained without touching the
// newest or one being read, and refused with a reason when damaged.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "core/ckpt/checkpoint.hpp"
#include "tests/support/recipe_fixture.hpp"

using namespace wb;
using wb::test::recipe_dir;
namespace fs = std::filesystem;

namespace {
std::vector<float> weights(int n, float base) {
  std::vector<float> w(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) w[size_t(i)] = base + float(i) * 0.5f;
  return w;
}
std::string save(uint64_t step, const std::vector<float>& w) {
  ckpt_contents c;
  c.step = step;
  c.recipe_hash = "h";
  c.state = {{"loader", {{"samples", step * 8}}}};
  c.tensors.push_back({"model.w", st_dtype::f32, {int64_t(w.size())}, {}, {}, w.data()});
  return ckpt_write("ckpt", c);
}
}  // namespace

TEST_CASE("a checkpoint reads back its tensors and state exactly", "[ckpt]") {
  recipe_dir dir;
  auto w = weights(1000, 1.0f);
  std::string d = save(100, w);
  CHECK(d == "ckpt/step-00000100");
  ckpt_reader r(d);
  CHECK(r.step() == 100);
  CHECK(r.manifest()["state"]["loader"]["samples"] == 800);
  auto* t = r.find("model.w");
  REQUIRE(t);
  CHECK(t->meta.global_shape == std::vector<int64_t>{1000});
  CHECK(std::memcmp(t->meta.data, w.data(), 4000) == 0);
}

TEST_CASE("the newest complete checkpoint is found and partial ones are ignored", "[ckpt]") {
  recipe_dir dir;
  save(100, weights(10, 1));
  save(200, weights(10, 2));
  fs::create_directories("ckpt/.step-00000300.partial-999999");  // a writer killed mid-save
  fs::create_directories("ckpt/step-00000400");                  // a step name without a manifest
  CHECK(ckpt_latest("ckpt") == "ckpt/step-00000200");
  CHECK(ckpt_list("ckpt").size() == 2);
}

TEST_CASE("retention keeps the newest K and removes abandoned partial directories", "[ckpt]") {
  recipe_dir dir;
  for (uint64_t s = 1; s <= 5; ++s) save(s * 10, weights(10, float(s)));
  fs::create_directories("ckpt/.step-00000060.partial-999999");
  ckpt_retain("ckpt", 2);
  CHECK(ckpt_list("ckpt") == std::vector<std::string>{"ckpt/step-00000040", "ckpt/step-00000050"});
  CHECK_FALSE(fs::exists("ckpt/.step-00000060.partial-999999"));
}

TEST_CASE("retention never deletes a checkpoint that is being read", "[ckpt]") {
  recipe_dir dir;
  for (uint64_t s = 1; s <= 3; ++s) save(s, weights(10, float(s)));
  {
    ckpt_reader reading("ckpt/step-00000001");
    ckpt_retain("ckpt", 1);
    CHECK(fs::exists("ckpt/step-00000001/manifest.json"));
    CHECK_FALSE(fs::exists("ckpt/step-00000002"));
  }
  ckpt_retain("ckpt", 1);
  CHECK(ckpt_list("ckpt") == std::vector<std::string>{"ckpt/step-00000003"});
}

TEST_CASE("a flipped byte in a checkpoint is found by verify and refused by the reader", "[ckpt]") {
  recipe_dir dir;
  std::string d = save(7, weights(1000, 3));
  {
    std::fstream f(d + "/tensors-0.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-100, std::ios::end);
    f.put('\x55');
  }
  CHECK_THAT(ckpt_verify(d), Catch::StartsWith("ckpt/step-00000007/tensors-0.safetensors: checksum mismatch (crc32c ") &&
                                 Catch::EndsWith("): the file is corrupted"));
  CHECK_THROWS(ckpt_reader(d));
}

TEST_CASE("a truncated or missing checkpoint file is refused", "[ckpt]") {
  recipe_dir dir;
  std::string d = save(7, weights(1000, 3));
  fs::resize_file(d + "/tensors-0.safetensors", 100);
  CHECK_THROWS_WITH(ckpt_reader(d, false), Catch::Contains("tensors-0.safetensors: 100 bytes, the manifest says "));
  fs::remove(d + "/tensors-0.safetensors");
  CHECK_THROWS_WITH(ckpt_reader(d, false), "ckpt/step-00000007/tensors-0.safetensors: missing (the manifest lists it)");
}

TEST_CASE("a checkpoint of a newer format version is refused", "[ckpt]") {
  recipe_dir dir;
  std::string d = save(7, weights(10, 3));
  std::ifstream in(d + "/manifest.json");
  auto m = nlohmann::json::parse(in);
  in.close();
  m["version"] = 99;
  std::ofstream(d + "/manifest.json") << m.dump();
  CHECK_THROWS_WITH(ckpt_reader(d), "ckpt/step-00000007: checkpoint format version 99 is newer than this wb reads (1); "
                                    "upgrade wb");
}

TEST_CASE("a tensor written in slices by several ranks reads back whole", "[ckpt][reshard]") {
  recipe_dir dir;
  // A (5, 4) tensor cut into a 2x2 grid of uneven blocks across four files, as a tp x pp layout
  // would write it; and a vector cut in two.
  std::vector<float> whole(20), vec{1, 2, 3, 4, 5, 6, 7};
  for (int i = 0; i < 20; ++i) whole[size_t(i)] = float(i);
  auto block = [&](int r0, int r1, int c0, int c1) {
    std::vector<float> b;
    for (int r = r0; r < r1; ++r)
      for (int c = c0; c < c1; ++c) b.push_back(whole[size_t(r * 4 + c)]);
    return b;
  };
  auto b00 = block(0, 3, 0, 1), b01 = block(0, 3, 1, 4), b10 = block(3, 5, 0, 1), b11 = block(3, 5, 1, 4);
  ckpt_contents c;
  c.step = 1;
  c.tensors = {{"w", st_dtype::f32, {3, 1}, {5, 4}, {0, 0}, b00.data(), 0},
               {"w", st_dtype::f32, {3, 3}, {5, 4}, {0, 1}, b01.data(), 1},
               {"w", st_dtype::f32, {2, 1}, {5, 4}, {3, 0}, b10.data(), 2},
               {"w", st_dtype::f32, {2, 3}, {5, 4}, {3, 1}, b11.data(), 3},
               {"v", st_dtype::f32, {3}, {7}, {0}, vec.data(), 0},
               {"v", st_dtype::f32, {4}, {7}, {3}, vec.data() + 3, 1}};
  std::string d = ckpt_write("ckpt", c);
  ckpt_reader r(d);
  CHECK(r.manifest()["files"].size() == 4);
  CHECK(r.global_shape("w") == std::vector<int64_t>{5, 4});
  CHECK(r.find("w") == nullptr);  // not stored whole
  std::vector<float> back(20), vback(7);
  r.read_global("w", back.data());
  r.read_global("v", vback.data());
  CHECK(back == whole);
  CHECK(vback == vec);
}

TEST_CASE("slices that do not cover a tensor are refused", "[ckpt][reshard]") {
  recipe_dir dir;
  std::vector<float> half{1, 2, 3};
  ckpt_contents c;
  c.step = 1;
  c.tensors = {{"v", st_dtype::f32, {3}, {6}, {0}, half.data(), 0}};
  ckpt_reader r(ckpt_write("ckpt", c));
  std::vector<float> out(6);
  CHECK_THROWS_WITH(r.read_global("v", out.data()), "ckpt/step-00000001: the slices of 'v' hold 3 of its 6 elements");
}
