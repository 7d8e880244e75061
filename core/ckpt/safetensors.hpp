// The safetensors file format (huggingface/safetensors, docs "Format"): an 8-byte little-endian
// header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, optional
// "__metadata__": {string: string}}, then the tensor bytes. wb checkpoints and Hugging Face
// import/export both use it. Reading maps the file and checks every offset, size and dtype before
// any tensor is handed out; writing is atomic.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace wb {

enum class st_dtype { f32, bf16, f16, f64, i64, i32, u8 };
size_t st_dtype_bytes(st_dtype d);
const char* st_dtype_name(st_dtype d);  // "F32", "BF16", ...

struct st_tensor_out {
  std::string name;
  st_dtype dtype = st_dtype::f32;
  std::vector<int64_t> shape;
  const void* data = nullptr;  // product(shape) * dtype bytes
};

// The bytes before the data: 8-byte length and the JSON header (padded to 8 bytes).
std::string safetensors_header(const std::vector<st_tensor_out>& tensors,
                               const std::map<std::string, std::string>& metadata = {});

// Tensors are laid out in the order given. Throws std::runtime_error naming the path.
void safetensors_write(const std::string& path, const std::vector<st_tensor_out>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

struct st_tensor_in {
  std::string name;
  st_dtype dtype;
  std::vector<int64_t> shape;
  const uint8_t* data;  // into the mapping; valid while the file is open
  size_t bytes;
  int64_t elements() const;
};

class safetensors_file {
 public:
  explicit safetensors_file(const std::string& path);  // throws std::runtime_error naming the problem
  ~safetensors_file();
  safetensors_file(const safetensors_file&) = delete;
  safetensors_file& operator=(const safetensors_file&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<st_tensor_in>& tensors() const { return tensors_; }
  const st_tensor_in* find(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  std::string path_;
  void* map_ = nullptr;
  size_t size_ = 0;
  std::vector<st_tensor_in> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace wb
