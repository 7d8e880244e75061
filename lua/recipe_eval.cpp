// Child-process evaluation. The child builds a sandbox, runs the chunk, converts the result and
// writes located JSON to a pipe; the parent waits with a deadline and reads which limit (if any)
// was hit from a page shared with the child, so the limit is named even if the child died of it.
#include "lua/recipe_eval.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

extern "C" {
#include <lua.h>
}

#include "core/recipe/value_json.hpp"
#include "lua/embedded_modules.hpp"
#include "lua/wrap_recipe.hpp"

namespace wb {
namespace {

struct chunk {
  std::string file;  // display name
  std::string text;
};

// Runs in the child (or in-process): returns {"ok":..., "tree":..., "errors":[...]}.
nlohmann::json evaluate(const chunk& c, const eval_options& options, volatile int* flag) {
  nlohmann::json out;
  diagnostics errors;
  try {
    lua_sandbox sandbox(options.limits, options.trust);
    if (flag) sandbox.share_limit_flag(flag);
    recipe_constructors_register(sandbox.state());
    std::string err = sandbox.run(c.text, "@" + c.file);
    if (!err.empty()) {
      // Lua messages already start with "file:line:"; limit messages get the file.
      if (sandbox.limit_hit() != sandbox_limit_hit::none) err = c.file + ": " + err;
      errors.push_back({{}, "", "", "", "", "", err});
    } else {
      lua_State* L = sandbox.state();
      if (!lua_istable(L, -1)) {
        lua_source_index ix(c.text);
        recipe_diagnostic d{{c.file, ix.lines()}, "", "", "", "", "",
                            std::string("Invalid recipe: expected the file to return a recipe table, got ") +
                                (lua_isnil(L, -1) ? "nothing" : std::string("a ") + lua_typename(L, lua_type(L, -1)))};
        d.hint = "end the file with: return recipe { name = ..., model = ..., ... }";
        errors.push_back(d);
      } else {
        recipe_value tree = recipe_value_from_lua(L, c.file, c.text, errors);
        out["tree"] = value_to_located_json(tree);
      }
    }
  } catch (std::exception& e) {
    errors.push_back({{c.file, 0}, "", "", "", "", "", std::string("cannot evaluate: ") + e.what()});
  }
  out["errors"] = diagnostics_to_json(errors);
  return out;
}

bool write_all(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += size_t(n);
  }
  return true;
}

nlohmann::json evaluate_in_child(const chunk& c, const eval_options& options) {
  auto* flag = static_cast<volatile int*>(
      mmap(nullptr, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  if (flag == MAP_FAILED) throw std::runtime_error("mmap failed");
  *flag = 0;
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::close(fds[0]);
    struct rlimit core{0, 0};
    setrlimit(RLIMIT_CORE, &core);
    if (!options.trust) {
      // Backstops for what the in-Lua limits cannot see: CPU spent inside C functions, memory
      // allocated outside the Lua allocator.
      rlim_t cpu = rlim_t(options.limits.seconds) + 2;
      struct rlimit cpu_limit{cpu, cpu};
      setrlimit(RLIMIT_CPU, &cpu_limit);
    }
    std::string text = evaluate(c, options, flag).dump();
    _exit(write_all(fds[1], text) ? 0 : 3);
  }
  ::close(fds[1]);
  std::string data;
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds((long long)(options.limits.seconds * 1000) + 1500);
  bool timed_out = false;
  char buf[65536];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!options.trust && left.count() <= 0) { timed_out = true; break; }
    struct pollfd p{fds[0], POLLIN, 0};
    int r = poll(&p, 1, options.trust ? -1 : (int)left.count());
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) { timed_out = true; break; }
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, size_t(n));
  }
  ::close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  int hit = *flag;
  munmap((void*)flag, sizeof(int));

  auto failure = [&](const std::string& what) {
    nlohmann::json out;
    out["errors"] = diagnostics_to_json({{{c.file, 0}, "", "", "", "", "", what}});
    return out;
  };
  sandbox_limits l = options.limits;
  std::string time_message = fmt::format(
      "time limit exceeded: the recipe ran longer than {} s and was stopped; a recipe should only declare values "
      "(raise WB_RECIPE_TIME_LIMIT if it really needs more)", l.seconds);
  if (timed_out) return failure(time_message);
  if (data.empty()) {
    if (hit == 1 || (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU)) return failure(time_message);
    if (hit == 2)
      return failure(fmt::format("memory limit exceeded: the recipe allocated more than {} MiB (raise "
                                 "WB_RECIPE_MEMORY_LIMIT if it really needs more)", l.memory_bytes >> 20));
    if (WIFSIGNALED(status))
      return failure(fmt::format("recipe evaluation crashed (signal {}: {})", WTERMSIG(status),
                                 strsignal(WTERMSIG(status))));
    return failure(fmt::format("recipe evaluation failed (exit status {})", WEXITSTATUS(status)));
  }
  try {
    return nlohmann::json::parse(data);
  } catch (std::exception&) {
    return failure("recipe evaluation returned unreadable output");
  }
}

recipe_value eval_chunk(const chunk& c, const eval_options& options) {
  nlohmann::json out = options.in_process ? evaluate(c, options, nullptr) : evaluate_in_child(c, options);
  diagnostics errors = diagnostics_from_json(out.at("errors"));
  if (!errors.empty()) throw recipe_failure{errors};
  return value_from_located_json(out.at("tree"));
}

}  // namespace

recipe_value recipe_eval_file(const std::string& path, const eval_options& options) {
  std::ifstream in(path, std::ios::binary);
  int error = errno;
  std::string shown = display_path(path);
  if (!in)
    throw recipe_failure{{{{shown, 0}, "", "", "", "", "", std::string("cannot read the recipe: ") + std::strerror(error)}}};
  std::stringstream ss;
  ss << in.rdbuf();
  return eval_chunk({shown, ss.str()}, options);
}

recipe_value recipe_eval_module(const std::string& module_name, const eval_options& options) {
  for (auto& m : embedded_modules())
    if (module_name == m.name) {
      // A module returns a table of blocks; wrap as "return require(name)" so it is loaded once.
      return eval_chunk({std::string("wb/") + module_name + ".eval", "return require \"" + module_name + "\""},
                        options);
    }
  throw recipe_failure{{{{}, "", "", "", "", "", "no embedded module " + module_name}}};
}

recipe_file_loader recipe_loader(const eval_options& options) {
  return [options](const std::string& path) { return recipe_eval_file(path, options); };
}

std::vector<std::string> recipe_search_dirs() {
  std::vector<std::string> dirs;
  if (const char* p = std::getenv("WB_RECIPE_PATH")) {
    std::string s = p;
    size_t start = 0;
    while (start <= s.size()) {
      size_t colon = s.find(':', start);
      std::string dir = s.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      if (!dir.empty()) dirs.push_back(dir);
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  dirs.push_back(WB_RECIPE_DIR);
  return dirs;
}

resolved_recipe recipe_load(const std::string& path, const std::vector<std::string>& overrides,
                            const eval_options& options) {
  resolve_options ro;
  ro.overrides = overrides;
  ro.search_dirs = recipe_search_dirs();
  return recipe_resolve(path, recipe_loader(options), catalog_builtin(), ro);
}

}  // namespace wb
