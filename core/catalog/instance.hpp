// Facts about one instance type, as the catalog module (lua/wb/catalog.lua) declares them with
// their sources. core reads them as plain data so the planner and validator need no Lua.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace wb {

struct instance_spec {
  std::string name;               // "p5.48xlarge"
  std::string device;             // "H100 SXM5"
  int devices_per_node = 1;
  double device_memory_bytes = 0;
  double device_peak_flops = 0;   // dense bf16/fp16 FLOP/s per device
  double device_memory_bandwidth = 0;  // bytes/s
  double intra_node_bandwidth = 0;     // bytes/s per device, one direction
  double inter_node_bandwidth = 0;     // bytes/s per node (EFA), one direction
  std::optional<double> price_per_hour;  // USD on demand; absent for capacity-block-only types
  std::string price_note;         // date and source of the price
  bool has_efa = false;
  bool is_local = false;          // "local": this machine, sizes measured at run time
};

using instance_catalog = std::vector<instance_spec>;

const instance_spec* catalog_find(const instance_catalog& catalog, const std::string& name);
std::vector<std::string> catalog_names(const instance_catalog& catalog);

}  // namespace wb
