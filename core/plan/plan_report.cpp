// The plan as text (`wb plan`), as the change between two plans (the REPL's plan()), and as
// versioned JSON (docs/plan.md).
#include <cmath>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/plan/plan.hpp"

namespace wb {
namespace {

constexpr double gib = 1024.0 * 1024 * 1024;

std::string gibs(double bytes) { return fmt::format("{:.2f} GiB", bytes / gib); }

// A rank's total: MiB below a GiB, where a small model's ranks would all read 0.0x GiB.
std::string rank_bytes(double bytes) {
  return bytes < gib ? fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024)) : gibs(bytes);
}

std::string count(double n) {
  if (n >= 1e12) return fmt::format("{:.2f}T", n / 1e12);
  if (n >= 1e9) return fmt::format("{:.2f}B", n / 1e9);
  if (n >= 1e6) return fmt::format("{:.2f}M", n / 1e6);
  if (n >= 1e3) return fmt::format("{:.1f}k", n / 1e3);
  return fmt::format("{:.0f}", n);
}

std::string duration(double s) {
  if (s >= 2 * 86400) return fmt::format("{:.1f} days", s / 86400);
  if (s >= 2 * 3600) return fmt::format("{:.1f} hours", s / 3600);
  if (s >= 120) return fmt::format("{:.1f} min", s / 60);
  if (s >= 1) return fmt::format("{:.2f} s", s);
  return fmt::format("{:.1f} ms", s * 1e3);
}

std::string dollars(double usd) {
  std::string digits = fmt::format("{:.0f}", usd), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return "$" + out;
}

std::string layout_line(const plan_layout& l) {
  std::string s = fmt::format("dp {}  tp {}  pp {}", l.dp, l.tp, l.pp);
  if (l.virtual_stages > 1) s += fmt::format(" (x{} virtual)", l.virtual_stages);
  s += fmt::format("  zero {}  microbatch {} x {} per replica  recompute {}", l.zero, l.microbatch, l.microbatches, l.recompute);
  if (l.sequence_parallel) s += "  sequence parallel";
  return s;
}

struct memory_row {
  const char* name;
  double plan_memory::*field;
};
constexpr memory_row memory_rows[] = {
    {"parameters", &plan_memory::parameters},   {"gradients", &plan_memory::gradients},
    {"optimizer_state", &plan_memory::optimizer_state}, {"activations", &plan_memory::activations},
    {"logits", &plan_memory::logits},           {"comm_buffers", &plan_memory::comm_buffers},
    {"temporaries", &plan_memory::temporaries}, {"reserve", &plan_memory::reserve},
};

struct time_row {
  const char* name;
  double plan_time::*field;
};
constexpr time_row time_rows[] = {
    {"compute", &plan_time::compute_s},   {"tp comm", &plan_time::tp_comm_s}, {"dp comm", &plan_time::dp_comm_s},
    {"pp comm", &plan_time::pp_comm_s},   {"bubble", &plan_time::bubble_s},   {"optimizer", &plan_time::optimizer_s},
};

}  // namespace

std::string plan_text(const plan_result& p) {
  const plan_layout& l = p.layout;
  const plan_memory& m = p.memory;
  std::string s;
  s += fmt::format("cluster   {} x {} ({} devices)\n", l.nodes, l.instance, l.devices);
  s += fmt::format("layout    {}\n", layout_line(l));
  s += fmt::format("model     {} parameters, {} tokens per step\n", count(double(p.params)), count(p.tokens_per_step));
  if (p.memory_by_rank.size() > 1)
    s += fmt::format("memory    per rank, rank {} (pipeline stage {} of {}; the most loaded of {})\n", m.rank, m.stage, l.pp,
                     p.memory_by_rank.size());
  else
    s += fmt::format("memory    per device, pipeline stage {} of {} (the most loaded)\n", m.stage, l.pp);
  for (auto& r : memory_rows)
    if (m.*r.field > 0) s += fmt::format("  {:<16} {:>12}\n", r.name, gibs(m.*r.field));
  s += fmt::format("  {:<16} {:>12} of {}: {}\n", "total", gibs(m.total_bytes), gibs(m.device_bytes),
                   m.fits ? fmt::format("fits ({} free)", gibs(m.device_bytes - m.total_bytes))
                          : fmt::format("DOES NOT FIT (over by {})", gibs(m.total_bytes - m.device_bytes)));
  if (p.memory_by_rank.size() > 1) {
    s += "ranks     peak per rank (stage):";
    for (size_t i = 0; i < p.memory_by_rank.size(); ++i)
      s += fmt::format("{}{} ({}) {}", i ? ", " : " ", i, p.memory_by_rank[i].stage, rank_bytes(p.memory_by_rank[i].total_bytes));
    s += "\n";
  }
  s += fmt::format("flops     {:.3g} model, {:.3g} hardware per step\n", p.model_flops_per_step, p.hardware_flops_per_step);
  s += fmt::format("step      {}:", duration(p.time.step_s));
  bool first = true;
  for (auto& r : time_rows)
    if (p.time.*r.field > 0) {
      s += fmt::format("{} {} {}", first ? "" : ",", r.name, duration(p.time.*r.field));
      first = false;
    }
  s += "\n";
  s += fmt::format("speed     MFU {:.1f}%, {} tokens/s\n", 100 * p.mfu, count(p.tokens_per_s));
  s += fmt::format("train     {:.0f} steps in {}, {} device-hours", p.steps, duration(p.time_to_train_s), count(p.device_hours));
  if (p.cost_usd) s += fmt::format(", {} at ${:.2f}/h per node", dollars(*p.cost_usd), *p.price_per_hour);
  else s += ", no price for this instance (set cluster.price_per_hour)";
  s += "\n";
  for (auto& n : p.notes) s += "note      " + n + "\n";
  return s;
}

std::string plan_diff_text(const plan_result& a, const plan_result& b) {
  std::vector<std::string> lines;
  auto change = [&](const std::string& what, double x, double y, const std::string& from, const std::string& to, bool lower_is_better) {
    if (x == y || (std::abs(y - x) <= 1e-9 * std::max(std::abs(x), std::abs(y)))) return;
    double pct = x != 0 ? 100 * (y - x) / x : 0;
    bool better = lower_is_better ? y < x : y > x;
    lines.push_back(fmt::format("  {:<18} {} -> {} ({:+.1f}%{})", what, from, to, pct, better ? ", better" : ", worse"));
  };
  if (layout_line(a.layout) != layout_line(b.layout))
    lines.push_back(fmt::format("  {:<18} {} -> {}", "layout", layout_line(a.layout), layout_line(b.layout)));
  for (auto& r : memory_rows) change(std::string("memory ") + r.name, a.memory.*r.field, b.memory.*r.field, gibs(a.memory.*r.field), gibs(b.memory.*r.field), true);
  change("memory total", a.memory.total_bytes, b.memory.total_bytes, gibs(a.memory.total_bytes), gibs(b.memory.total_bytes), true);
  if (a.memory.fits != b.memory.fits) lines.push_back(fmt::format("  {:<18} {} -> {}", "fits", a.memory.fits ? "yes" : "no", b.memory.fits ? "yes" : "no"));
  change("step time", a.time.step_s, b.time.step_s, duration(a.time.step_s), duration(b.time.step_s), true);
  change("MFU", a.mfu, b.mfu, fmt::format("{:.1f}%", 100 * a.mfu), fmt::format("{:.1f}%", 100 * b.mfu), false);
  change("tokens/s", a.tokens_per_s, b.tokens_per_s, count(a.tokens_per_s), count(b.tokens_per_s), false);
  change("time to train", a.time_to_train_s, b.time_to_train_s, duration(a.time_to_train_s), duration(b.time_to_train_s), true);
  if (a.cost_usd && b.cost_usd) change("cost", *a.cost_usd, *b.cost_usd, dollars(*a.cost_usd), dollars(*b.cost_usd), true);
  if (lines.empty()) return "no change\n";
  std::string s = "changed:\n";
  for (auto& l : lines) s += l + "\n";
  return s;
}

nlohmann::json plan_to_json(const plan_result& p) {
  const plan_layout& l = p.layout;
  nlohmann::ordered_json j;
  j["plan_version"] = plan_json_version;
  j["params"] = p.params;
  j["tokens_per_step"] = p.tokens_per_step;
  j["flops_per_step"] = {{"model", p.model_flops_per_step}, {"hardware", p.hardware_flops_per_step}};
  nlohmann::ordered_json mem;
  for (auto& r : memory_rows) mem[r.name] = p.memory.*r.field;
  mem["total_bytes"] = p.memory.total_bytes;
  mem["device_bytes"] = p.memory.device_bytes;
  mem["fits"] = p.memory.fits;
  mem["stage"] = p.memory.stage;
  if (!p.memory_by_rank.empty()) mem["rank"] = p.memory.rank;
  j["memory"] = mem;
  nlohmann::ordered_json by_rank = nlohmann::ordered_json::array();
  for (const plan_memory& m : p.memory_by_rank) {
    nlohmann::ordered_json r;
    r["rank"] = m.rank;
    r["stage"] = m.stage;
    for (auto& row : memory_rows) r[row.name] = m.*row.field;
    r["total_bytes"] = m.total_bytes;
    r["fits"] = m.fits;
    by_rank.push_back(r);
  }
  j["memory_by_rank"] = by_rank;
  j["time_predicted"] = true;  // every plan times its layout now; kept for plan_version 2 readers
  j["step_time_s"] = p.time.step_s;
  j["time"] = {{"compute_s", p.time.compute_s}, {"tp_comm_s", p.time.tp_comm_s}, {"dp_comm_s", p.time.dp_comm_s},
               {"pp_comm_s", p.time.pp_comm_s}, {"bubble_s", p.time.bubble_s}, {"optimizer_s", p.time.optimizer_s}};
  j["mfu"] = p.mfu;
  j["tokens_per_s"] = p.tokens_per_s;
  j["steps"] = p.steps;
  j["time_to_train_s"] = p.time_to_train_s;
  j["device_hours"] = p.device_hours;
  j["cost_usd"] = p.cost_usd ? nlohmann::json(*p.cost_usd) : nlohmann::json(nullptr);
  j["price_per_hour"] = p.price_per_hour ? nlohmann::json(*p.price_per_hour) : nlohmann::json(nullptr);
  j["layout"] = {{"instance", l.instance}, {"nodes", l.nodes}, {"devices", l.devices}, {"dp", l.dp}, {"tp", l.tp},
                 {"pp", l.pp}, {"virtual_stages", l.virtual_stages}, {"zero", l.zero}, {"microbatch", l.microbatch},
                 {"global_batch", l.global_batch}, {"microbatches", l.microbatches}, {"recompute", l.recompute},
                 {"sequence_parallel", l.sequence_parallel}};
  j["notes"] = p.notes;
  return nlohmann::json(j);
}

}  // namespace wb
