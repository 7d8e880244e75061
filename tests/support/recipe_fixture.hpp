// Test support: a temporary folder of recipe files, and the base recipe the bad-recipe tests edit.
// The base writes one field per line so each test knows the line its mistake lands on.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/recipe/diagnostic.hpp"
#include "lua/recipe_eval.hpp"

namespace wb::test {

inline const char* base_recipe =
    "return recipe {\n"                                      // 1
    "  name = \"t\",\n"                                      // 2
    "  model = model {\n"                                    // 3
    "    family = \"llama\",\n"                              // 4
    "    layers = 4,\n"                                      // 5
    "    dim = 256,\n"                                       // 6
    "    heads = 8,\n"                                       // 7
    "    kv_heads = 4,\n"                                    // 8
    "    ffn = 688,\n"                                       // 9
    "    vocab = 4096,\n"                                    // 10
    "    seq_len = 256,\n"                                   // 11
    "  },\n"                                                 // 12
    "  data = data {\n"                                      // 13
    "    tokenizer = \"tok.json\",\n"                        // 14
    "    sources = {\n"                                      // 15
    "      ja = source { path = \"ja\", weight = 0.6 },\n"   // 16
    "      en = source { path = \"en\", weight = 0.4 },\n"   // 17
    "    },\n"                                               // 18
    "  },\n"                                                 // 19
    "  parallel = parallel {\n"                              // 20
    "    microbatch = 2,\n"                                  // 21
    "    global_batch = 8,\n"                                // 22
    "  },\n"                                                 // 23
    "  cluster = cluster {\n"                                // 24
    "    instance = \"local\",\n"                            // 25
    "  },\n"                                                 // 26
    "  optim = optim {\n"                                    // 27
    "    lr = 1e-3,\n"                                       // 28
    "  },\n"                                                 // 29
    "  train = train {\n"                                    // 30
    "    steps = 10,\n"                                      // 31
    "  },\n"                                                 // 32
    "}\n";                                                   // 33

// The base with the first occurrence of `from` replaced by `to` (which must exist: a test that
// edits nothing would pass for the wrong reason).
inline std::string edited(const std::string& from, const std::string& to, std::string text = base_recipe) {
  auto at = text.find(from);
  if (at == std::string::npos) throw std::logic_error("fixture text not found: " + from);
  return text.replace(at, from.size(), to);
}

class recipe_dir {
 public:
  recipe_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "wb-test-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    previous_ = std::filesystem::current_path();
    std::filesystem::current_path(dir_);  // so errors name files as "x.lua"
  }
  ~recipe_dir() {
    std::filesystem::current_path(previous_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    auto path = dir_ / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return name;
  }
  const std::filesystem::path& path() const { return dir_; }

 private:
  std::filesystem::path dir_, previous_;
};

// The text `wb check` prints for a recipe's errors ("" when it is valid).
inline std::string check(const std::string& file, const std::vector<std::string>& overrides = {}) {
  return format_diagnostics(recipe_load(file, overrides).errors);
}

// Writes `text` as x.lua in a fresh folder and checks it.
inline std::string check_text(const std::string& text, const std::vector<std::string>& overrides = {}) {
  recipe_dir dir;
  return check(dir.write("x.lua", text), overrides);
}

}  // namespace wb::test
