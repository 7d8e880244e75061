// `wb plan RECIPE [key=value ...] [--json] [--search [--nodes A..B] [--instances a,b] [--by time|cost]]`
// and `wb plan --calibrate`: the planner (core/plan) on a recipe, and the measured profile of this
// machine that plans for cluster.instance = "local" use.
#include <cstdio>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "backends/cpu/cpu_backend.hpp"
#include "backends/fabric/collective_profile.hpp"
#include "cli/command.hpp"
#include "core/plan/device_profile.hpp"
#include "core/plan/layout_search.hpp"
#include "core/plan/plan.hpp"
#include "core/run/machine.hpp"
#include "lua/recipe_eval.hpp"

namespace wb {
namespace {

struct plan_args {
  recipe_args recipe;
  bool json = false, search = false, calibrate = false;
  std::string nodes, instances, by = "time";
  size_t top = 5;
  int threads = -1;
};

// Ranks of a local data-parallel run exchange gradients over the fabric collective: measured
// between this many processes.
constexpr int collective_profile_ranks = 2;

// The collective table, measured into `p` (a warning, and an empty table, when the fabric does
// not start here: the plan then says communication is not measured).
void add_collectives(device_profile& p) {
  std::fprintf(stderr, "wb plan: measuring all-reduce, reduce-scatter and all-gather between %d local ranks...\n",
               collective_profile_ranks);
  try {
    measure_collectives(p, collective_profile_ranks);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wb plan: %s\n", e.what());
  }
}

// The measured profile for `threads` threads: loaded, or measured once and saved. `collectives`:
// the plan needs the collective table too (a profile measured by `wb repl` has none yet).
std::optional<device_profile> local_profile(int threads, bool remeasure, bool collectives = true) {
  std::string path = device_profile_path();
  cpu_backend backend(threads);
  if (!remeasure)
    if (auto p = device_profile_load(path); p && p->threads == backend.threads()) {
      if (!collectives || p->collective_ranks > 0) return p;
      add_collectives(*p);
      if (p->collective_ranks > 0) device_profile_save(*p, path);
      return p;
    }
  // Collectives first: their ranks are forked processes, before the compute profile starts threads.
  device_profile measured_collectives;
  if (collectives) add_collectives(measured_collectives);
  std::fprintf(stderr, "wb plan: measuring this machine with %d thread(s) (GEMM by shape, memory bandwidth, attention, "
               "kernels, optimizer)...\n", backend.threads());
  device_profile p = device_profile_measure(backend, backend.threads());
  p.collectives = measured_collectives.collectives;
  p.collective_ranks = measured_collectives.collective_ranks;
  try {
    device_profile_save(p, path);
    std::fprintf(stderr, "wb plan: saved %s\n", path.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wb plan: %s\n", e.what());
  }
  return p;
}

// A planner error as `wb check` prints one: the recipe line of the field at fault.
int report_plan_error(const resolved_recipe& r, const plan_error& e) {
  const recipe_value* v = r.tree.at_path(e.key);
  std::string where = v && v->loc.known() ? v->loc.str() + ": " : "";
  std::fprintf(stderr, "%sInvalid '%s'%s: %s\n1 error\n", where.c_str(), e.key.c_str(),
               v ? (" " + v->describe()).c_str() : "", e.what());
  return 1;
}

std::string row(const plan_result& p) {
  const plan_layout& l = p.layout;
  return fmt::format("{:<15} {:>5} {:>5} {:>3} {:>3} {:>2} {:>4} {:>3} {:<9} {:>9.1f} {:>9.3f} {:>6.1f}% {:>9.1f} {:>14}",
                     l.instance, l.nodes, l.dp, l.tp, l.pp, l.virtual_stages, l.zero, l.microbatch, l.recompute,
                     p.memory.total_bytes / (1024.0 * 1024 * 1024), p.time.step_s, 100 * p.mfu,
                     p.time_to_train_s / 86400, p.cost_usd ? fmt::format("${:.0f}", *p.cost_usd) : "no price");
}

int print_search(const recipe& r, const plan_args& a, const device_profile* local) {
  search_space space;
  if (!a.instances.empty()) {
    size_t start = 0;
    while (true) {
      size_t comma = a.instances.find(',', start);
      space.instances.push_back(a.instances.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (!a.nodes.empty()) space.nodes = parse_node_range(a.nodes);
  space.rank_by = a.by;
  space.top = a.top;
  search_result s = layout_search(r, catalog_builtin(), space, local);
  if (a.json) {
    nlohmann::ordered_json j;
    j["plan_version"] = plan_json_version;
    j["considered"] = s.considered;
    j["fitting"] = s.fitting;
    j["rejected"] = s.rejected;
    j["best"] = nlohmann::ordered_json::array();
    for (auto& p : s.best) j["best"].push_back(nlohmann::ordered_json::parse(plan_to_json(p).dump()));
    std::puts(j.dump(2).c_str());
    return s.best.empty() ? 1 : 0;
  }
  fmt::print("{} layouts considered, {} fit; best {} by {}:\n", s.considered, s.fitting, s.best.size(), a.by);
  fmt::print("{:<15} {:>5} {:>5} {:>3} {:>3} {:>2} {:>4} {:>3} {:<9} {:>9} {:>9} {:>7} {:>9} {:>14}\n", "instance", "nodes",
             "dp", "tp", "pp", "v", "zero", "mb", "recompute", "GiB/dev", "step s", "MFU", "days", "cost");
  for (auto& p : s.best) fmt::print("{}\n", row(p));
  if (!s.rejected.empty()) fmt::print("rejected:\n");
  for (auto& [why, n] : s.rejected) fmt::print("  {:>8}  {}\n", n, why);
  if (s.closest_over_memory) {
    auto& p = *s.closest_over_memory;
    fmt::print("closest over memory: {} (needs {:.1f} GiB of {:.1f})\n", row(p), p.memory.total_bytes / (1024.0 * 1024 * 1024),
               p.memory.device_bytes / (1024.0 * 1024 * 1024));
  }
  return s.best.empty() ? 1 : 0;
}

}  // namespace

command add_plan_command(CLI::App& app) {
  auto* sub = app.add_subcommand("plan", "Predict memory per device, step time, MFU, days and dollars; search layouts");
  auto a = std::make_shared<plan_args>();
  sub->add_option("recipe", a->recipe.path, "Recipe file (.lua)");
  sub->add_option("overrides", a->recipe.overrides, "Dotted overrides key=value, e.g. parallel.microbatch=4");
  sub->add_flag("--trust", a->recipe.trust, "Evaluate the recipe without the sandbox");
  sub->add_flag("--json", a->json, "Print JSON (schema: docs/plan.md)");
  sub->add_flag("--search", a->search, "Enumerate the layouts that fit and rank them");
  sub->add_option("--nodes", a->nodes, "With --search: node counts, A..B or a,b,c");
  sub->add_option("--instances", a->instances, "With --search: instance types, comma-separated");
  sub->add_option("--by", a->by, "With --search: rank by time or cost")->check(CLI::IsMember({"time", "cost"}));
  sub->add_option("--top", a->top, "With --search: how many layouts to print");
  sub->add_flag("--calibrate", a->calibrate, "Measure this machine (GEMM by shape, memory bandwidth) and save its profile");
  sub->add_option("--threads", a->threads, "CPU threads for a local plan (default: train.threads, 0 = every core)");
  return {sub, [a] {
    if (a->calibrate) {
      auto p = local_profile(a->threads < 0 ? 0 : a->threads, true);
      double peak = 0;
      for (auto& g : p->gemm) peak = std::max(peak, g.flops_per_s);
      fmt::print("{} ({} threads): peak GEMM {:.1f} GFLOP/s, memory {:.1f} GB/s, attention {:.1f} GFLOP/s\n", p->cpu,
                 p->threads, peak / 1e9, p->memory_bandwidth / 1e9, p->attention_flops_per_s / 1e9);
      for (auto& c : p->collectives)
        fmt::print("  {} ranks, {:>9.0f} KiB: all-reduce {:>9.1f} us ({:.2f} GB/s bus), reduce-scatter {:>9.1f} us, all-gather {:>9.1f} us\n",
                   p->collective_ranks, c.bytes / 1024, c.all_reduce_s * 1e6, c.bytes / c.all_reduce_s * (p->collective_ranks - 1) * 2.0 /
                   p->collective_ranks / 1e9, c.reduce_scatter_s * 1e6, c.all_gather_s * 1e6);
      if (a->recipe.path.empty()) return 0;
    }
    if (a->recipe.path.empty()) {
      std::fputs("wb plan: a recipe is needed (or --calibrate)\nRun 'wb plan --help' for usage.\n", stderr);
      return 2;
    }
    auto loaded = a->recipe.load();
    if (!loaded) return 1;
    const recipe& r = *loaded->config;
    std::optional<device_profile> local;
    bool wants_local = r.cluster.instance == "local" || a->instances.find("local") != std::string::npos;
    // As `wb run --nproc` sets them: ranks on this machine share its cores.
    int threads = a->threads >= 0 ? a->threads : r.train.threads;
    if (threads == 0 && r.parallel.world() > 1) threads = std::max(1, machine_probe().cores / r.parallel.world());
    if (wants_local) local = local_profile(threads, false, r.parallel.world() > 1);
    try {
      if (a->search) return print_search(r, *a, local ? &*local : nullptr);
      plan_result p = plan_recipe(r, catalog_builtin(), local ? &*local : nullptr);
      if (!p.price_per_hour && !p.layout.instance.empty() && p.layout.instance != "local")
        throw plan_error("cluster.instance", fmt::format("'{}' has no on-demand price in the catalog; set cluster.price_per_hour",
                                                         p.layout.instance));
      if (a->json) std::puts(plan_to_json(p).dump(2).c_str());
      else std::fputs(plan_text(p).c_str(), stdout);
      return p.memory.fits ? 0 : 1;
    } catch (const plan_error& e) {
      return report_plan_error(*loaded, e);
    } catch (const std::invalid_argument& e) {
      std::fprintf(stderr, "wb plan: %s\nRun 'wb plan --help' for usage.\n", e.what());
      return 2;
    }
  }};
}

}  // namespace wb
