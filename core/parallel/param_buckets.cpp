// param_buckets_of: the model's parameters walked in arena order into layer and outer buckets.
#include "core/parallel/param_buckets.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "core/model/param_layout.hpp"

namespace wb {

param_buckets param_buckets_of(const model& m, const char* who) {
  param_buckets out;
  const auto& params = m.params();
  for (size_t i = 0; i < params.size(); ++i) {
    chunk at{m.param_offset(i), size_t(params[i].v->data.numel())};
    int l = param_layer(params[i].name);
    param_bucket* b = nullptr;
    if (l >= 0) {
      if (size_t(l) >= out.layers.size()) out.layers.resize(size_t(l) + 1);
      b = &out.layers[size_t(l)];
    } else if (out.outer.empty() || out.outer.back().range.begin + out.outer.back().range.size != at.begin) {
      b = &out.outer.emplace_back();  // an outer run of its own, else it extends the one it follows
    } else {
      b = &out.outer.back();
    }
    if (b->params.empty()) {
      b->range = at;
    } else {
      if (b->range.begin + b->range.size != at.begin)
        throw std::logic_error(fmt::format("{}: parameter '{}' is not next to the rest of its layer", who, params[i].name));
      b->range.size += at.size;
    }
    b->params.push_back(i);
  }
  return out;
}

}  // namespace wb
