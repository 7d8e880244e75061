// The search enumerates, for each instance type and node count: tp among the divisors of
// gcd(heads, kv_heads) that fit in one node (tensor parallelism stays on NVLink/NeuronLink,
// Narayanan et al. 2021 §3.3 "Takeaway #1"), pp among the divisors of layers with dp = devices /
// (tp x pp) whole, virtual stages 1, 2, 4 when they divide layers / pp, ZeRO 0-1 (and 2-3 without
// pipeline), microbatches 1-16 dividing the global batch, and recompute none, selective, full.
// Sequence parallelism is on whenever tp > 1: it never costs more (Korthikanti et al. 2022 §4.2.2).
// On this machine (instance "local") a node count is a count of rank processes (`wb run --nproc`),
// the recipe's own by default, and tp may span them all (local_parallel_time.hpp times each layout).
#include "core/plan/layout_search.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

namespace wb {

std::vector<int> parse_node_range(const std::string& text) {
  std::vector<int> out;
  auto number = [&](const std::string& s) {
    size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != s.size() || v <= 0) throw std::invalid_argument(fmt::format("'{}' is not a positive node count", s));
    return v;
  };
  if (auto dots = text.find(".."); dots != std::string::npos) {
    int a = number(text.substr(0, dots)), b = number(text.substr(dots + 2));
    if (a > b) throw std::invalid_argument(fmt::format("'{}': the range's start is after its end", text));
    for (int n = a; n <= b; ++n) out.push_back(n);
    return out;
  }
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    out.push_back(number(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

search_result layout_search(const recipe& base, const instance_catalog& catalog, const search_space& space,
                            const device_profile* local) {
  search_result out;
  std::vector<std::string> instances = space.instances.empty() ? std::vector<std::string>{base.cluster.instance} : space.instances;
  const model_config& c = base.model;
  int kv = c.kv_heads > 0 ? c.kv_heads : c.heads;
  int gb = base.parallel.global_batch;
  std::vector<plan_result> ok;
  auto reject = [&](const std::string& why) { ++out.rejected[why]; };

  for (auto& name : instances) {
    const instance_spec* inst = catalog_find(catalog, name);
    if (!inst) throw plan_error("cluster.instance", fmt::format("unknown instance type '{}'", name));
    std::vector<int> node_counts = space.nodes;
    if (node_counts.empty()) node_counts = {inst->is_local ? std::max(1, base.parallel.world()) : base.cluster.nodes};
    for (int nodes : node_counts) {
      // This machine ("local"): `nodes` counts its rank processes, and tp may span all of them.
      int devices = inst->is_local ? nodes : nodes * inst->devices_per_node;
      int tp_max = inst->is_local ? devices : inst->devices_per_node;
      for (int tp = 1; tp <= tp_max; ++tp) {
        if (std::gcd(c.heads, kv) % tp) continue;
        for (int pp = 1; pp <= c.layers; ++pp) {
          if (c.layers % pp) continue;
          if (devices % (tp * pp)) continue;
          int dp = devices / (tp * pp);
          for (int v : {1, 2, 4}) {
            if (v > 1 && (pp == 1 || c.layers % (pp * v))) continue;
            for (int zero = 0; zero <= 3; ++zero) {
              if (zero >= 2 && pp > 1) continue;
              if (zero > 0 && dp == 1) continue;
              for (int mb : {1, 2, 4, 8, 16}) {
                for (const char* rc : {"none", "selective", "full"}) {
                  ++out.considered;
                  if (mb * dp > gb || gb % (mb * dp)) { reject("global_batch does not split into microbatch x dp"); continue; }
                  if (v > 1 && (gb / (mb * dp)) % pp) { reject("interleaving needs microbatches divisible by pp"); continue; }
                  recipe r = base;
                  r.cluster.instance = name;
                  r.cluster.nodes = inst->is_local ? 1 : nodes;
                  if (name != base.cluster.instance) r.cluster.price_per_hour.reset();
                  r.parallel.dp = dp;
                  r.parallel.tp = tp;
                  r.parallel.pp = pp;
                  r.parallel.virtual_stages = v;
                  r.parallel.zero = zero;
                  r.parallel.microbatch = mb;
                  r.parallel.recompute = rc;
                  r.parallel.sequence_parallel = tp > 1;
                  plan_result p;
                  try {
                    p = plan_recipe(r, catalog, local);
                  } catch (const plan_error& e) {
                    reject(e.what());
                    continue;
                  }
                  if (!p.memory.fits) {
                    reject("over device memory");
                    double over = p.memory.total_bytes - p.memory.device_bytes;
                    if (!out.closest_over_memory || over < out.closest_over_memory->memory.total_bytes - out.closest_over_memory->memory.device_bytes)
                      out.closest_over_memory = p;
                    continue;
                  }
                  if (space.rank_by == "cost" && !p.cost_usd) { reject("no price for the instance"); continue; }
                  ++out.fitting;
                  ok.push_back(std::move(p));
                }
              }
            }
          }
        }
      }
    }
  }
  auto key = [&](const plan_result& p) { return space.rank_by == "cost" ? *p.cost_usd : p.time_to_train_s; };
  size_t n = std::min(space.top, ok.size());
  std::partial_sort(ok.begin(), ok.begin() + n, ok.end(), [&](auto& a, auto& b) { return key(a) < key(b); });
  ok.resize(n);
  out.best = std::move(ok);
  return out;
}

}  // namespace wb
