// Canonical JSON and the hash do not depend on field order or on how a number was written.
#include <catch2/catch.hpp>

#include "core/recipe/canonical.hpp"
#include "core/util/sha256.hpp"

using namespace wb;

TEST_CASE("canonical JSON sorts keys and writes integers without a fraction", "[canonical]") {
  recipe_value t = recipe_value::table();
  t.set("zeta", recipe_value::number(2.0));
  t.set("alpha", recipe_value::number(0.1));
  recipe_value inner = recipe_value::table();
  inner.set("b", recipe_value::boolean(true));
  inner.set("a", recipe_value::string("x\"y"));
  t.set("mid", inner);
  CHECK(canonical_json(t) == R"({"alpha":0.1,"mid":{"a":"x\"y","b":true},"zeta":2})");
}

TEST_CASE("sha256 matches the FIPS 180-4 test vectors", "[sha256]") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  std::string million(1000000, 'a');
  CHECK(sha256_hex(million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("the hash ignores where values were written", "[canonical]") {
  recipe_value a = recipe_value::table({"a.lua", 1});
  a.set("x", recipe_value::number(1, {"a.lua", 2}));
  recipe_value b = recipe_value::table({"b.lua", 7});
  b.set("x", recipe_value::number(1, {"command line", 0}));
  CHECK(recipe_hash(a) == recipe_hash(b));
}
