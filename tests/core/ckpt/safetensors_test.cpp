// safetensors: exact round trip, the reference layout, and damaged files refused with a reason.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/ckpt/safetensors.hpp"
#include "tests/support/recipe_fixture.hpp"

using namespace wb;
using wb::test::recipe_dir;

TEST_CASE("tensors and metadata read back exactly", "[ckpt][safetensors]") {
  recipe_dir dir;
  std::vector<float> a{1.5f, -2.0f, 3.25f, 0.0f, 1e-30f, -0.0f};
  std::vector<uint16_t> b{0x3f80, 0xc000, 0x7f80};
  safetensors_write("t.safetensors", {{"a", st_dtype::f32, {2, 3}, a.data()}, {"b", st_dtype::bf16, {3}, b.data()}},
                    {{"format", "pt"}});
  safetensors_file f("t.safetensors");
  REQUIRE(f.tensors().size() == 2);
  auto* ta = f.find("a");
  REQUIRE(ta);
  CHECK(ta->shape == std::vector<int64_t>{2, 3});
  CHECK(std::memcmp(ta->data, a.data(), 24) == 0);
  CHECK(f.find("b")->dtype == st_dtype::bf16);
  CHECK(std::memcmp(f.find("b")->data, b.data(), 6) == 0);
  CHECK(f.metadata().at("format") == "pt");
}

TEST_CASE("the header is JSON padded to 8 bytes after a little-endian length", "[ckpt][safetensors]") {
  recipe_dir dir;
  float x = 1.0f;
  safetensors_write("t.safetensors", {{"x", st_dtype::f32, {1}, &x}});
  std::ifstream in("t.safetensors", std::ios::binary);
  uint64_t n;
  in.read(reinterpret_cast<char*>(&n), 8);
  std::string header(n, '\0');
  in.read(header.data(), std::streamsize(n));
  CHECK(n % 8 == 0);
  CHECK_THAT(header, Catch::StartsWith(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})"));
}

TEST_CASE("a truncated safetensors file is refused", "[ckpt][safetensors]") {
  recipe_dir dir;
  std::vector<float> a(100, 1.0f);
  safetensors_write("t.safetensors", {{"a", st_dtype::f32, {100}, a.data()}});
  std::filesystem::resize_file("t.safetensors", std::filesystem::file_size("t.safetensors") - 4);
  CHECK_THROWS_WITH(safetensors_file("t.safetensors"),
                    "t.safetensors: tensor 'a' has data_offsets outside the file's 396 data bytes (truncated?)");
}

TEST_CASE("a header whose sizes disagree with the shape is refused", "[ckpt][safetensors]") {
  recipe_dir dir;
  std::string header = R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})";
  uint64_t n = header.size();
  std::ofstream out("t.safetensors", std::ios::binary);
  out.write(reinterpret_cast<char*>(&n), 8);
  out << header << std::string(12, '\0');
  out.close();
  CHECK_THROWS_WITH(safetensors_file("t.safetensors"),
                    "t.safetensors: tensor 'w' of shape [2,2] and dtype F32 needs 16 bytes, its offsets span 12");
}

TEST_CASE("a file that is not safetensors is refused", "[ckpt][safetensors]") {
  recipe_dir dir;
  dir.write("t.safetensors", "this is not a tensor file at all");
  CHECK_THROWS_WITH(safetensors_file("t.safetensors"),
                    Catch::StartsWith("t.safetensors: truncated or not safetensors: header of "));
}
