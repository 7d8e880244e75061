// Reads the embedded wb.catalog module into core's instance_catalog. The figures and their sources
// are in lua/wb/catalog.lua; this file only converts units.
#include <cstdio>
#include <cstdlib>

#include "core/recipe/diagnostic.hpp"
#include "lua/recipe_eval.hpp"

namespace wb {
namespace {

double field(const recipe_value& t, const char* key, double fallback = 0) {
  auto* v = t.find(key);
  return v && v->is_number() ? v->as_number() : fallback;
}

instance_catalog load() {
  eval_options options;
  options.in_process = true;  // shipped code; no need for a child
  recipe_value tree = recipe_eval_module("wb.catalog", options);
  instance_catalog catalog;
  for (auto& [name, t] : tree.fields()) {
    instance_spec s;
    s.name = name;
    if (auto* d = t.find("device")) s.device = d->as_string();
    s.devices_per_node = (int)field(t, "devices", 1);
    s.device_memory_bytes = field(t, "device_memory_gib") * double(1ull << 30);
    s.device_peak_flops = field(t, "peak_tflops") * 1e12;
    s.device_memory_bandwidth = field(t, "memory_bw_gbs") * 1e9;
    s.intra_node_bandwidth = field(t, "intra_node_gbs") * 1e9;
    s.inter_node_bandwidth = field(t, "efa_gbps") * 1e9 / 8;
    s.has_efa = field(t, "efa_gbps") > 0;
    if (auto* p = t.find("price_per_hour"); p && p->is_number()) s.price_per_hour = p->as_number();
    if (auto* n = t.find("price_note")) s.price_note = n->as_string();
    if (auto* l = t.find("local")) s.is_local = l->as_bool();
    catalog.push_back(s);
  }
  return catalog;
}

}  // namespace

const instance_catalog& catalog_builtin() {
  static const instance_catalog catalog = [] {
    try {
      return load();
    } catch (recipe_failure& f) {
      // The catalog ships with wb: failing to load it is a bug in wb, not in the user's recipe.
      std::fprintf(stderr, "wb: internal error loading wb.catalog:\n%s", format_diagnostics(f.errors).c_str());
      std::abort();
    }
  }();
  return catalog;
}

}  // namespace wb
