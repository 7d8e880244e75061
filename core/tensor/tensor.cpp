// Tensor construction and views.
#include "core/tensor/tensor.hpp"

#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace wb {

int64_t shape_numel(const shape_t& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

std::string shape_str(const shape_t& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + ")";
}

tensor::tensor(shape_t shape, mem_category category, dtype type) : shape_(std::move(shape)), type_(type) {
  for (auto d : shape_)
    if (d < 0) throw std::invalid_argument(fmt::format("Invalid tensor shape {}: negative dimension", shape_str(shape_)));
  buf_ = std::make_shared<buffer>(nbytes(), category);
}

tensor tensor::zeros(shape_t shape, mem_category category, dtype type) {
  tensor t(std::move(shape), category, type);
  t.zero();
  return t;
}

float* tensor::f32() const {
  if (type_ != dtype::f32) throw std::logic_error(fmt::format("tensor is {}, not fp32", dtype_name(type_)));
  return static_cast<float*>(raw());
}
int32_t* tensor::i32() const {
  if (type_ != dtype::i32) throw std::logic_error(fmt::format("tensor is {}, not i32", dtype_name(type_)));
  return static_cast<int32_t*>(raw());
}
uint16_t* tensor::bf16() const {
  if (type_ != dtype::bf16) throw std::logic_error(fmt::format("tensor is {}, not bf16", dtype_name(type_)));
  return static_cast<uint16_t*>(raw());
}

tensor tensor::reshape(shape_t shape) const {
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) throw std::invalid_argument("reshape: at most one -1 dimension");
      infer = int(i);
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0 && known > 0) shape[infer] = numel() / known;
  if (shape_numel(shape) != numel())
    throw std::invalid_argument(fmt::format("Invalid reshape of {} to {}: element counts differ", shape_str(shape_), shape_str(shape)));
  tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

tensor tensor::slice(int64_t begin, int64_t end) const {
  if (rank() == 0 || begin < 0 || end > shape_[0] || begin > end)
    throw std::invalid_argument(fmt::format("Invalid slice [{}, {}) of {}", begin, end, shape_str(shape_)));
  tensor t = *this;
  int64_t row = numel() / (shape_[0] ? shape_[0] : 1);
  t.offset_ += size_t(begin * row) * dtype_size(type_);
  t.shape_[0] = end - begin;
  return t;
}

void tensor::zero() const { std::memset(raw(), 0, nbytes()); }

void tensor::fill(float v) const {
  float* p = f32();
  for (int64_t i = 0, n = numel(); i < n; ++i) p[i] = v;
}

void tensor::copy_from(const tensor& src) const {
  if (src.numel() != numel() || src.type_ != type_)
    throw std::invalid_argument(fmt::format("copy_from: {} {} into {} {}", dtype_name(src.type_), shape_str(src.shape_),
                                            dtype_name(type_), shape_str(shape_)));
  std::memcpy(raw(), src.raw(), nbytes());
}

tensor tensor::clone(mem_category category) const {
  tensor t(shape_, category, type_);
  t.copy_from(*this);
  return t;
}

}  // namespace wb
