// Contiguous tensors: a shared, accounted buffer plus a byte offset, a shape and a dtype. Views
// (reshape, slice along dim 0) share the buffer and stay contiguous; there are no strides, so every
// kernel can treat a tensor as one flat row-major array. Shapes are written outer to inner, as in
// the shape comments: (B, T, C) is B*T rows of C.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor/dtype.hpp"
#include "core/tensor/memory.hpp"

namespace wb {

using shape_t = std::vector<int64_t>;
int64_t shape_numel(const shape_t& s);
std::string shape_str(const shape_t& s);  // "(2, 3, 4)"

class tensor {
 public:
  tensor() = default;
  // Allocates uninitialised storage charged to `category`.
  tensor(shape_t shape, mem_category category, dtype type = dtype::f32);
  static tensor zeros(shape_t shape, mem_category category, dtype type = dtype::f32);

  bool defined() const { return buf_ != nullptr; }
  const shape_t& shape() const { return shape_; }
  int rank() const { return int(shape_.size()); }
  int64_t dim(int i) const { return shape_[i < 0 ? shape_.size() + i : i]; }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return size_t(numel()) * dtype_size(type_); }
  dtype type() const { return type_; }
  mem_category category() const { return buf_->category; }

  void* raw() const { return static_cast<char*>(buf_->data) + offset_; }
  float* f32() const;
  int32_t* i32() const;
  uint16_t* bf16() const;

  // Views sharing this tensor's buffer. reshape accepts one -1 dimension to infer.
  tensor reshape(shape_t shape) const;
  tensor slice(int64_t begin, int64_t end) const;  // rows [begin, end) of dim 0

  void zero() const;
  void fill(float v) const;                 // f32 only
  void copy_from(const tensor& src) const;  // same numel and dtype
  tensor clone(mem_category category) const;

  // Same shape and dtype, no storage (defined() is false): what a backward rule keeps of an input
  // it only needs the shape of, so the buffer can be freed.
  tensor shape_only() const {
    tensor t;
    t.shape_ = shape_;
    t.type_ = type_;
    return t;
  }

  // The whole buffer's bytes freed or allocated again under every view of it (buffer::free_storage:
  // ZeRO-3's gathered parameters); has_storage is false in between, and the data must not be read.
  void free_storage() const { buf_->free_storage(); }
  void restore_storage() const { buf_->restore_storage(); }
  bool has_storage() const { return buf_ && buf_->data; }

  // Shares buffer and offset with `other`: both view the same bytes.
  bool same_storage(const tensor& other) const { return buf_ == other.buf_ && offset_ == other.offset_; }

 private:
  std::shared_ptr<buffer> buf_;
  size_t offset_ = 0;  // bytes
  shape_t shape_;
  dtype type_ = dtype::f32;
};

}  // namespace wb
