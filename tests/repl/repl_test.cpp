// `wb repl` as a person at a terminal meets it: the real binary on a pseudo-terminal, lines typed,
// Tab and Ctrl-C/Ctrl-D pressed, and the printed text checked.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "lua/recipe_eval.hpp"
#include "tests/support/pty_process.hpp"
#include "tests/support/recipe_fixture.hpp"
#include "tests/support/small_run.hpp"
#include "tests/support/test_profile.hpp"

using namespace wb::test;
namespace fs = std::filesystem;

namespace {

const std::string llama3_8b = std::string(WB_SOURCE_DIR) + "/recipes/llama3_8b_cpt.lua";

struct repl {
  pty_process p;
  explicit repl(const std::string& recipe, const std::string& history = "history")
      : p(recipe.empty() ? std::vector<std::string>{WB_BINARY, "repl"} : std::vector<std::string>{WB_BINARY, "repl", recipe},
          {{"TERM", "dumb"}, {"LANG", "C.UTF-8"}, {"WB_HISTORY", (fs::current_path() / history).string()},
           {"WB_PROFILE", test_profile_path()}}) {
    REQUIRE(!p.wait_for("wb> ").empty());
  }
  // Types a line and returns what it printed up to the next prompt.
  std::string line(const std::string& text, double seconds = 30) {
    p.type(text + "\n");
    std::string out = p.wait_for("wb> ", seconds);
    INFO(p.transcript());
    REQUIRE(!out.empty());
    return out;
  }
};

}  // namespace

TEST_CASE("r reads a field and an assignment edits it, checked like an override", "[repl][pty]") {
  recipe_dir dir;
  repl w(llama3_8b);
  CHECK_THAT(w.line("r.parallel.microbatch"), Catch::Contains("\r\n1\r\n"));
  CHECK_THAT(w.line("r.parallel.microbatch = 2"), Catch::Contains("parallel.microbatch = 2 (was 1)"));
  CHECK_THAT(w.line("r.parallel.microbatch"), Catch::Contains("\r\n2\r\n"));
  CHECK_THAT(w.line("print(r.parallel)"), Catch::Contains("parallel.microbatch = 2") &&
                                              Catch::Contains("-- repl (parallel.microbatch=2)"));
}

TEST_CASE("an invalid edit prints what wb check prints and leaves the recipe unchanged", "[repl][pty]") {
  recipe_dir dir;
  repl w(llama3_8b);
  CHECK_THAT(w.line("r.parallel.tp = 3"),
             Catch::Contains("repl (parallel.tp=3): Invalid 'parallel.tp' 3: expected a divisor of heads (32), got 3\r\n"
                             "  hint: try 1, 2, 4 or 8"));
  CHECK_THAT(w.line("r.parallel.tp"), Catch::Contains("\r\n2\r\n"));
  CHECK_THAT(w.line("r.parallel.microbach = 2"), Catch::Contains("hint: did you mean 'parallel.microbatch'?"));
  CHECK_THAT(w.line("r.parallel.microbach"),
             Catch::Contains("r.parallel.microbach: no such field; did you mean 'microbatch'?"));
  CHECK_THAT(w.line("x = nil + 1"), Catch::Contains("repl:1: attempt to perform arithmetic on a nil value"));
  CHECK_THAT(w.line("1 +"), Catch::Contains("repl:1: unexpected symbol near '1'"));
  CHECK_THAT(w.line("2 + 2"), Catch::Contains("\r\n4\r\n"));
}

TEST_CASE("plan() shows the plan, and after an edit what changed against the previous one", "[repl][pty][plan]") {
  recipe_dir dir;
  repl w(llama3_8b);
  std::string first = w.line("plan()");
  CHECK_THAT(first, Catch::Contains("32 x p5.48xlarge") && Catch::Contains("microbatch 1"));
  CHECK_THAT(first, !Catch::Contains("changes against the previous plan"));
  w.line("r.parallel.microbatch = 2");
  std::string second = w.line("plan()");
  CHECK_THAT(second, Catch::Contains("microbatch 2") && Catch::Contains("changes against the previous plan:") &&
                         Catch::Contains("memory activations"));
  CHECK_THAT(w.line("plan()"), Catch::Contains("(the recipe has not changed since the previous plan)"));
}

TEST_CASE("sweep prints one row per value, and a row saying why for a value the recipe rejects", "[repl][pty][plan]") {
  recipe_dir dir;
  repl w(llama3_8b);
  std::string out = w.line("sweep{[\"parallel.microbatch\"] = {1, 2, 4, 8, 3}}");
  std::regex row(R"(\r\n(\d)\s+(yes|NO)\s+[\d.]+ GiB / [\d.]+ GiB)");
  std::vector<std::string> values;
  for (auto it = std::sregex_iterator(out.begin(), out.end(), row); it != std::sregex_iterator(); ++it)
    values.push_back((*it)[1]);
  CHECK(values == std::vector<std::string>{"1", "2", "4", "8"});
  CHECK_THAT(out, Catch::Contains("\r\n3 ") && Catch::Contains("Invalid 'parallel.global_batch' 1024: expected a multiple of"));
}

TEST_CASE("an incomplete chunk continues on a .. prompt until it is complete", "[repl][pty]") {
  recipe_dir dir;
  repl w(llama3_8b);
  w.p.type("for i = 1, 3 do\n");
  CHECK(!w.p.wait_for("\r\n.. ").empty());
  w.p.type("print(i * 10)\n");
  CHECK(!w.p.wait_for("\r\n.. ").empty());
  CHECK_THAT(w.line("end"), Catch::Contains("10\r\n20\r\n30\r\n"));
  w.p.type("x = {\n");
  CHECK(!w.p.wait_for("\r\n.. ").empty());
  CHECK_THAT(w.line("a = 1 }; return x.a"), Catch::Contains("\r\n1\r\n"));
}

TEST_CASE("Tab completes recipe fields, map entries and REPL functions", "[repl][pty][completion]") {
  recipe_dir dir;
  repl w(llama3_8b);
  w.p.type("r.para\t");
  CHECK(!w.p.wait_for("r.parallel.").empty());
  w.p.type("micro\t");
  CHECK(!w.p.wait_for("r.parallel.microbatch").empty());
  CHECK_THAT(w.line(""), Catch::Contains("\r\n1\r\n"));
  w.p.type("r.parallel.\t");  // several: listed
  std::string listed = w.p.wait_for("r.parallel.zero");
  CHECK_THAT(listed, Catch::Contains("r.parallel.tp") && Catch::Contains("r.parallel.recompute"));
  w.p.type("\x03");
  CHECK(!w.p.wait_for("wb> ").empty());
  w.p.type("swe\t");
  CHECK(!w.p.wait_for("sweep").empty());
  w.p.type("\x03");
  CHECK(!w.p.wait_for("wb> ").empty());
}

TEST_CASE("Ctrl-C interrupts a long call and clears a half-typed line, and Ctrl-D leaves", "[repl][pty][interrupt]") {
  recipe_dir dir;
  repl w(llama3_8b);
  // Ctrl-C only once the loop is surely running (a loaded machine may take a while to get there).
  w.p.type("io.write('loop', 'ing\\n') while true do end\n");
  REQUIRE_FALSE(w.p.wait_for("looping").empty());
  CHECK(w.p.wait_for("wb> ", 0.5).empty());  // still running
  w.p.type("\x03");
  std::string out = w.p.wait_for("wb> ", 10);
  INFO(w.p.transcript());
  CHECK_THAT(out, Catch::Contains("interrupted"));
  CHECK_THAT(w.line("1 + 1"), Catch::Contains("\r\n2\r\n"));
  w.p.type("r.parallel.micr");
  REQUIRE_FALSE(w.p.wait_for("r.parallel.micr").empty());  // echoed: libedit has the text
  // One ^C: the REPL is in edit mode before it draws the prompt, so the key is never met by
  // canonical mode (where it was a SIGINT with no call to stop, lost on a loaded machine).
  w.p.type("\x03");
  CHECK_THAT(w.p.wait_for("wb> ", 10), Catch::Contains("^C"));
  CHECK_THAT(w.line("3 + 3"), Catch::Contains("\r\n6\r\n"));  // the half-typed text is gone
  size_t before_eof = w.p.transcript().size();
  int status = w.p.send_eof_and_wait_exit();
  INFO("after ^D: " << w.p.transcript().substr(before_eof));
  CHECK(status == 0);
}

TEST_CASE("a Ctrl-D typed while a call runs does not turn the next key into a literal", "[repl][pty][eof]") {
  // A ^D the terminal receives in canonical mode (while a call runs, or before the line editor
  // takes the terminal) reaches the editor as a NUL byte. Bound as libedit binds a disabled
  // terminal character, NUL quoted the next key: the ^D after it went into the line, and from
  // then on every ^D only rang the bell (seen as a REPL that would not leave in CI).
  recipe_dir dir;
  repl w(llama3_8b);
  w.p.type(std::string("\0", 1));
  w.p.type("\x04");
  int status = w.p.wait_exit(10);
  INFO(w.p.transcript());
  CHECK(status == 0);
  CHECK_THAT(w.p.transcript(), !Catch::Contains("\x07"));
}

TEST_CASE("the prompt appears only once the terminal is in edit mode", "[repl][pty][eof]") {
  // Keys typed after the prompt is visible must reach the line editor as keys: in canonical mode
  // ^D would be an end-of-file marker and ^C a signal that no call is there to receive.
  recipe_dir dir;
  repl w(llama3_8b);
  CHECK_FALSE(w.p.terminal_is_canonical());
  w.line("1 + 1");
  CHECK_FALSE(w.p.terminal_is_canonical());
  CHECK(w.p.send_eof_and_wait_exit() == 0);
}

TEST_CASE("history is kept in WB_HISTORY across sessions", "[repl][pty][history]") {
  recipe_dir dir;
  {
    repl w(llama3_8b, "h");
    w.line("r.parallel.zero");
    REQUIRE(w.p.send_eof_and_wait_exit() == 0);
  }
  std::ifstream in("h");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK_THAT(text, Catch::Contains("r.parallel.zero"));
  repl again(llama3_8b, "h");
  again.p.type("\x10");  // Ctrl-P: the previous line
  CHECK(!again.p.wait_for("r.parallel.zero").empty());
}

TEST_CASE("save writes a recipe extending the original with the changes, which loads to the same recipe",
          "[repl][pty][save]") {
  recipe_dir dir;
  repl w(llama3_8b);
  w.line("r.parallel.microbatch = 2");
  w.line("r.optim.lr = 2e-5");
  CHECK_THAT(w.line("save \"tuned/my_8b.lua\""),
             Catch::Contains("wrote tuned/my_8b.lua: extends \"llama3_8b_cpt\", sets:") &&
                 Catch::Contains("parallel.microbatch = 2") && Catch::Contains("name = \"my_8b\""));
  std::string shown = w.line("print(r)");
  std::smatch m;
  REQUIRE(std::regex_search(shown, m, std::regex("recipe_hash ([0-9a-f]{64})")));
  auto loaded = wb::recipe_load("tuned/my_8b.lua", {});
  INFO(wb::format_diagnostics(loaded.errors));
  REQUIRE(loaded.ok());
  CHECK(loaded.hash == m[1].str());
  CHECK(loaded.config->parallel.microbatch == 2);
  CHECK(loaded.config->optim.lr == 2e-5);
}

TEST_CASE("probe(2) trains two steps here and prints measured against predicted memory and time",
          "[repl][pty][probe]") {
  small_run s;
  repl w("small.lua");
  std::string out = w.line("probe(2)", 300);
  CHECK_THAT(out, Catch::Contains("2 steps of small (2 layers x 64 dim, microbatch 4, global batch 8) on this machine"));
  std::regex params(R"(parameters\s+([\d.]+ KiB)\s+([\d.]+ KiB)\s+\+0\.0%)");
  CHECK(std::regex_search(out, params));  // the weights are exactly what the planner counts
  CHECK_THAT(out, Catch::Contains("peak ") && Catch::Contains("step time "));
}

TEST_CASE("Ctrl-C during probe stops training after the current step and returns to the prompt",
          "[repl][pty][probe][interrupt]") {
  small_run s;
  repl w("small.lua");
  w.p.type("probe(100000)\n");
  REQUIRE(!w.p.wait_for("probe: training 100000 steps", 30).empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  w.p.type("\x03");
  std::string out = w.p.wait_for("wb> ", 60);
  INFO(w.p.transcript());
  CHECK_THAT(out, Catch::Contains("on this machine (interrupted)") && Catch::Contains("interrupted"));
  CHECK_THAT(w.line("1 + 1"), Catch::Contains("\r\n2\r\n"));
}

TEST_CASE("a table assigned to a section edits each of its fields together, and a new source is added",
          "[repl][pty]") {
  recipe_dir dir;
  repl w(llama3_8b);
  std::string out = w.line("r.parallel = {microbatch = 2, recompute = \"full\"}");
  CHECK_THAT(out, Catch::Contains("parallel.microbatch = 2 (was 1)") &&
                      Catch::Contains("parallel.recompute = \"full\" (was \"selective\")"));
  CHECK_THAT(w.line("r.parallel = {microbatch = 2, tp = 3}"), Catch::Contains("Invalid 'parallel.tp' 3"));
  CHECK_THAT(w.line("r.parallel.microbatch, r.parallel.tp"), Catch::Contains("\r\n2\t2\r\n"));
  CHECK_THAT(w.line("r.data.sources.extra = {path = \"/fsx/extra\", weight = 0.1}"),
             Catch::Contains("data.sources.extra.weight = 0.1 (was nil)"));
  CHECK_THAT(w.line("r.parallel.microbatch = nil"), Catch::Contains("parallel.microbatch = 1 (was 2)"));
  CHECK_THAT(w.line("changes()"), Catch::Contains("changed from ") && Catch::Contains("parallel.recompute = \"full\"") &&
                                      !Catch::Contains("parallel.microbatch"));
}

TEST_CASE("r prints the whole recipe with where each value was written, and its hash", "[repl][pty]") {
  recipe_dir dir;
  repl w(llama3_8b);
  std::string out = w.line("r");
  CHECK_THAT(out, Catch::Contains("parallel.global_batch = 1024") && Catch::Contains("recipes/llama3_8b_cpt.lua:") &&
                      Catch::Contains("recipe_hash "));
  CHECK_THAT(w.line("help()"), Catch::Contains("probe(steps)") && Catch::Contains("save \"file.lua\""));
}

TEST_CASE("wb repl reads a script from a pipe without prompts, and a bad recipe is refused as wb check does",
          "[repl][cli]") {
  recipe_dir dir;
  dir.write("script.lua", "r.parallel.microbatch = 2\nprint(r.parallel.microbatch * 10)\nr.parallel.tp = 3\nprint('still here')\n");
  auto r = run_command("TERM=dumb " + std::string(WB_BINARY) + " repl " + llama3_8b + " < script.lua");
  CHECK(r.status == 0);
  CHECK(r.out == "parallel.microbatch = 2 (was 1)\n20\n"
                 "repl (parallel.tp=3): Invalid 'parallel.tp' 3: expected a divisor of heads (32), got 3\n"
                 "  hint: try 1, 2, 4 or 8\n"
                 "repl (parallel.tp=3): Invalid 'parallel.tp' 3: expected tp*pp to divide the 256 devices (32 x "
                 "p5.48xlarge with 8 each), got tp*pp = 3*1 = 3\n"
                 "still here\n");
  dir.write("bad.lua", edited("    layers = 4,\n", "    layers = 0,\n"));
  auto bad = run_command(std::string(WB_BINARY) + " repl bad.lua < /dev/null");
  CHECK(bad.status == 1);
  CHECK(bad.out == "bad.lua:5: Invalid 'model.layers' 0: expected an integer >= 1, got 0\n1 error\n");
}

TEST_CASE("without a recipe, the REPL says how to open one, and open loads it", "[repl][pty]") {
  recipe_dir dir;
  repl w("");
  CHECK_THAT(w.line("plan()"), Catch::Contains("no recipe is open: open one with open \"recipes/tiny_llama_cpt.lua\""));
  CHECK_THAT(w.line("open \"" + llama3_8b + "\""), Catch::Contains("llama3_8b_cpt (recipe_hash "));
  CHECK_THAT(w.line("r.parallel.tp"), Catch::Contains("\r\n2\r\n"));
}
