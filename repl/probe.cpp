// Running and comparing a probe; see probe.hpp.
#include "repl/probe.hpp"

#include <algorithm>
#include <filesystem>
#include <tuple>
#include <fmt/format.h>

#include "backends/cpu/cpu_backend.hpp"
#include "core/run/machine.hpp"
#include "core/run/rehearsal.hpp"
#include "core/run/train_run.hpp"
#include "core/tokenizer/tokenizer_json.hpp"
#include "repl/units.hpp"

namespace fs = std::filesystem;

namespace wb {
namespace {

// Whether the recipe must be rehearsed rather than run as written, and why ("" when it can run).
std::string rehearsal_reason(const recipe& r) {
  if (r.cluster.instance != "local")
    return fmt::format("the recipe is for {} x {}", r.cluster.nodes, r.cluster.instance);
  machine_info mi = machine_probe();
  if (model_state_bytes(r) >= 0.8 * double(mi.memory_available))
    return fmt::format("its model state needs {} and this machine has {} available", bytes_text(model_state_bytes(r)),
                       bytes_text(double(mi.memory_available)));
  if (r.model.precision != "fp32") return "the CPU engine trains in fp32, not " + r.model.precision;
  if (r.model.init != "random") return "its initial weights (" + r.model.init + ") are not loaded for a probe";
  bool have_data = fs::exists(r.data.tokenizer);
  for (auto& s : r.data.sources) have_data = have_data && fs::exists(fs::path(s.path) / "manifest.json");
  if (!have_data) return "its data is not on this machine";
  return "";
}

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "wb-probe-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("probe: cannot create a temporary run directory in " +
                                                        fs::temp_directory_path().string());
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

}  // namespace

probe_result probe_run(const recipe& r, session_planner& planner, const probe_options& options) {
  if (options.steps < 1) throw std::runtime_error(fmt::format("probe: expected at least 1 step, got {}", options.steps));
  probe_result p;
  p.probed = r;
  std::string why = rehearsal_reason(r);
  if (!why.empty()) {
    rehearsal_plan plan = rehearsal_scale(r, options.steps, options.default_data);
    if (!fs::exists(plan.scaled.data.tokenizer))
      throw std::runtime_error(fmt::format(
          "probe: {}, so it runs rehearsal-sized on the default data mix, which is not in {}\n"
          "  hint: build it with scripts/make-default-data (or point WB_DEFAULT_DATA at one)", why, options.default_data));
    p.probed = plan.scaled;
    p.probed.model.vocab = int(tokenizer_load(p.probed.data.tokenizer).vocab_size());
    p.notes.push_back("rehearsal-sized: " + why);
    for (auto& n : plan.notes) p.notes.push_back(n);
  }
  recipe& q = p.probed;
  q.train.steps = options.steps;
  q.train.eval_every = 0;
  q.train.eval_batches = 1;
  q.checkpoint.dir = "checkpoints";  // inside the temporary run directory
  q.checkpoint.every = 0;
  q.checkpoint.async = false;
  q.cluster.instance = "local";
  q.cluster.nodes = 1;
  p.predicted = planner.plan(q);

  temp_dir dir;
  cpu_backend backend(q.train.threads);
  run_options ro;
  ro.run_dir = dir.path.string();
  ro.steps = options.steps;
  ro.resume = "never";
  ro.stop = options.stop;
  run_observer obs;
  obs.on_step = [&](const step_report& s) {
    p.step_times.push_back(s.step_time_s);
    for (int c = 0; c < mem_category_count; ++c)
      p.measured_peak[size_t(c)] = std::max(p.measured_peak[size_t(c)], double(memory().category(mem_category(c)).peak));
    p.measured_total_peak = std::max(p.measured_total_peak, double(memory().total().peak));
  };
  run_summary s = train_run(q, backend, ro, obs);
  p.steps_done = (long long)p.step_times.size();
  p.stopped = s.stopped;
  if (!p.step_times.empty()) {
    // The first step also allocates the optimizer state and warms caches: it is not a typical step.
    std::vector<double> t(p.step_times.begin() + (p.step_times.size() > 1 ? 1 : 0), p.step_times.end());
    std::sort(t.begin(), t.end());
    size_t mid = t.size() / 2;  // the median; of an even count the mean of the middle two
    p.measured_step_s = t.size() % 2 ? t[mid] : (t[mid - 1] + t[mid]) / 2;
  }
  return p;
}

std::string probe_table(const probe_result& p) {
  const plan_memory& m = p.predicted.memory;
  std::string out;
  for (auto& n : p.notes) out += "  - " + n + "\n";
  out += fmt::format("{} step{} of {} ({} layers x {} dim, microbatch {}, global batch {}) on this machine{}\n",
                     p.steps_done, p.steps_done == 1 ? "" : "s", p.probed.name, p.probed.model.layers,
                     p.probed.model.dim, p.probed.parallel.microbatch, p.probed.parallel.global_batch,
                     p.stopped ? " (interrupted)" : "");
  if (p.steps_done == 0) return out + "no step finished: nothing measured\n";
  out += fmt::format("{:<18}{:>12}{:>12}{:>9}\n", "", "predicted", "measured", "error");
  auto line = [&](const std::string& what, double predicted, double measured) {
    out += fmt::format("{:<18}{:>12}{:>12}{:>9}\n", what, bytes_text(predicted), bytes_text(measured),
                       percent_error(predicted, measured));
  };
  const auto& peak = p.measured_peak;
  double state = 0;
  for (auto [name, c, predicted] : {std::tuple{"parameters", mem_category::parameters, m.parameters},
                                    std::tuple{"gradients", mem_category::gradients, m.gradients},
                                    std::tuple{"optimizer state", mem_category::optimizer_state, m.optimizer_state}}) {
    line(name, predicted, peak[size_t(c)]);
    state += peak[size_t(c)];
  }
  // The planner's activations, logits and temporaries against what sat beside the model state at
  // the step's peak (the engine files the logits' buffers under activations or temporaries by op).
  line("activations etc.", m.activations + m.logits + m.temporaries, p.measured_total_peak - state);
  line("peak", m.parameters + m.gradients + m.optimizer_state + m.activations + m.logits + m.temporaries,
       p.measured_total_peak);
  out += fmt::format("{:<18}{:>12}{:>12}{:>9}\n", "step time", seconds_text(p.predicted.time.step_s),
                     seconds_text(p.measured_step_s), percent_error(p.predicted.time.step_s, p.measured_step_s));
  if (m.comm_buffers + m.reserve > 0)
    out += fmt::format("(the plan also reserves {} for communication buffers and runtime, which the engine's accountant "
                       "does not see)\n", bytes_text(m.comm_buffers + m.reserve));
  return out;
}

}  // namespace wb
