// Lookup in the instance catalog.
#include "core/catalog/instance.hpp"

namespace wb {

const instance_spec* catalog_find(const instance_catalog& catalog, const std::string& name) {
  for (auto& i : catalog) if (i.name == name) return &i;
  return nullptr;
}

std::vector<std::string> catalog_names(const instance_catalog& catalog) {
  std::vector<std::string> names;
  for (auto& i : catalog) names.push_back(i.name);
  return names;
}

}  // namespace wb
