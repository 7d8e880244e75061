// safetensors reading and writing; see the header.
#include "core/ckpt/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/atomic_file.hpp"

namespace wb {
namespace {
struct dtype_info {
  st_dtype d;
  const char* name;
  size_t bytes;
};
constexpr dtype_info dtypes[] = {{st_dtype::f32, "F32", 4}, {st_dtype::bf16, "BF16", 2}, {st_dtype::f16, "F16", 2},
                                 {st_dtype::f64, "F64", 8}, {st_dtype::i64, "I64", 8},   {st_dtype::i32, "I32", 4},
                                 {st_dtype::u8, "U8", 1}};
// The format caps the header at 100 MB (safetensors docs: "header size ... 100MB max").
constexpr uint64_t max_header_bytes = 100'000'000;
}  // namespace

size_t st_dtype_bytes(st_dtype d) {
  for (auto& i : dtypes) if (i.d == d) return i.bytes;
  return 0;
}
const char* st_dtype_name(st_dtype d) {
  for (auto& i : dtypes) if (i.d == d) return i.name;
  return "?";
}

int64_t st_tensor_in::elements() const {
  int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

std::string safetensors_header(const std::vector<st_tensor_out>& tensors,
                               const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (auto& t : tensors) {
    uint64_t n = 1;
    for (auto s : t.shape) n *= uint64_t(s);
    uint64_t bytes = n * st_dtype_bytes(t.dtype);
    header[t.name] = {{"dtype", st_dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // align the data to 8 bytes, as the reference writer does
  uint64_t n = text.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  return out + text;
}

void safetensors_write(const std::string& path, const std::vector<st_tensor_out>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::string header = safetensors_header(tensors, metadata);
  atomic_file out(path);
  out.write(header.data(), header.size());
  for (auto& t : tensors) {
    uint64_t count = 1;
    for (auto s : t.shape) count *= uint64_t(s);
    out.write(t.data, count * st_dtype_bytes(t.dtype));
  }
  out.commit();
}

safetensors_file::safetensors_file(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  struct stat st{};
  fstat(fd, &st);
  size_ = size_t(st.st_size);
  if (size_ < 8) {
    ::close(fd);
    throw std::runtime_error(fmt::format("{}: truncated: {} bytes, a safetensors file starts with an 8-byte header length",
                                         path, size_));
  }
  map_ = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map_ == MAP_FAILED) { map_ = nullptr; throw std::runtime_error(path + ": cannot map"); }
  auto fail = [&](const std::string& what) {
    munmap(map_, size_);
    map_ = nullptr;
    throw std::runtime_error(path + ": " + what);
  };
  auto* bytes = static_cast<const uint8_t*>(map_);
  uint64_t n;
  std::memcpy(&n, bytes, 8);
  if (n > max_header_bytes || 8 + n > size_)
    fail(fmt::format("truncated or not safetensors: header of {} bytes in a file of {}", n, size_));
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes + 8, bytes + 8 + n);
  } catch (nlohmann::json::exception& e) {
    fail(std::string("unreadable header: ") + e.what());
  }
  if (!header.is_object()) fail("the header is not a JSON object");
  const uint8_t* data = bytes + 8 + n;
  uint64_t data_size = size_ - 8 - n;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto& [name, t] : header.items()) {
    if (name == "__metadata__") {
      for (auto& [k, v] : t.items()) metadata_[k] = v.is_string() ? v.get<std::string>() : v.dump();
      continue;
    }
    st_tensor_in in{name, st_dtype::f32, {}, nullptr, 0};
    try {
      std::string dt = t.at("dtype");
      bool known = false;
      for (auto& i : dtypes) if (dt == i.name) { in.dtype = i.d; known = true; }
      if (!known) fail(fmt::format("tensor '{}' has dtype {}, which wb does not read", name, dt));
      in.shape = t.at("shape").get<std::vector<int64_t>>();
      auto off = t.at("data_offsets").get<std::vector<uint64_t>>();
      if (off.size() != 2 || off[0] > off[1] || off[1] > data_size)
        fail(fmt::format("tensor '{}' has data_offsets outside the file's {} data bytes (truncated?)", name, data_size));
      in.data = data + off[0];
      in.bytes = off[1] - off[0];
      ranges.emplace_back(off[0], off[1]);
    } catch (nlohmann::json::exception& e) {
      fail(fmt::format("tensor '{}': {}", name, e.what()));
    }
    if (uint64_t(in.elements()) * st_dtype_bytes(in.dtype) != in.bytes)
      fail(fmt::format("tensor '{}' of shape {} and dtype {} needs {} bytes, its offsets span {}", name,
                       nlohmann::json(in.shape).dump(), st_dtype_name(in.dtype),
                       uint64_t(in.elements()) * st_dtype_bytes(in.dtype), in.bytes));
    tensors_.push_back(in);
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second) fail("two tensors overlap in the data section");
  // Keep the file's order (by offset) for deterministic iteration.
  std::sort(tensors_.begin(), tensors_.end(), [](auto& a, auto& b) { return a.data < b.data; });
}

safetensors_file::~safetensors_file() {
  if (map_) munmap(map_, size_);
}

const st_tensor_in* safetensors_file::find(const std::string& name) const {
  for (auto& t : tensors_) if (t.name == name) return &t;
  return nullptr;
}

}  // namespace wb
