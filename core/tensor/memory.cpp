// The process-wide memory accountant and aligned buffers.
#include "core/tensor/memory.hpp"

#include <cstdlib>
#include <new>

namespace wb {

const char* mem_category_name(mem_category c) {
  switch (c) {
    case mem_category::parameters: return "parameters";
    case mem_category::gradients: return "gradients";
    case mem_category::optimizer_state: return "optimizer_state";
    case mem_category::activations: return "activations";
    case mem_category::temporaries: return "temporaries";
  }
  return "?";
}

void memory_accountant::charge(mem_category c, size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& s = by_category_[size_t(c)];
  s.live += bytes;
  if (s.live > s.peak) s.peak = s.live;
  total_.live += bytes;
  if (total_.live > total_.peak) total_.peak = total_.live;
}

void memory_accountant::release(mem_category c, size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  by_category_[size_t(c)].live -= bytes;
  total_.live -= bytes;
}

mem_stats memory_accountant::category(mem_category c) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return by_category_[size_t(c)];
}

mem_stats memory_accountant::total() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return total_;
}

void memory_accountant::reset_peaks() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& s : by_category_) s.peak = s.live;
  total_.peak = total_.live;
}

memory_accountant& memory() {
  static memory_accountant accountant;
  return accountant;
}

buffer::buffer(size_t n, mem_category c) : bytes(n), category(c) {
  size_t rounded = (n + buffer_alignment - 1) / buffer_alignment * buffer_alignment;
  if (rounded == 0) rounded = buffer_alignment;
  data = std::aligned_alloc(buffer_alignment, rounded);
  if (!data) throw std::bad_alloc();
  memory().charge(c, n);
}

buffer::~buffer() {
  memory().release(category, bytes);
  std::free(data);
}

}  // namespace wb
