// Checkpoint directories: atomic commit, listing, retention and verified reading.
#include "core/ckpt/checkpoint.hpp"

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <future>
#include <map>
#include <regex>
#include <csignal>
#include <stdexcept>
#include <sys/file.h>
#include <unistd.h>

#include "core/util/atomic_file.hpp"
#include "core/util/crc32c.hpp"

namespace fs = std::filesystem;

namespace wb {
namespace {

uint32_t file_crc(const std::string& path, uint64_t& size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": missing");
  std::vector<char> buf(8 << 20);
  uint32_t crc = 0;
  size = 0;
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    auto n = size_t(in.gcount());
    crc = crc32c(buf.data(), n, crc);
    size += n;
  }
  return crc;
}

bool is_step_dir(const fs::path& p, uint64_t& step) {
  static const std::regex name("step-([0-9]{8,})");
  std::smatch m;
  std::string s = p.filename().string();
  if (!std::regex_match(s, m, name)) return false;
  step = std::stoull(m[1]);
  return fs::exists(p / "manifest.json");
}

}  // namespace

std::string ckpt_step_name(uint64_t step) { return fmt::format("step-{:08d}", step); }

std::string ckpt_write(const std::string& root, const ckpt_contents& c) {
  fs::create_directories(root);
  fs::path final_dir = fs::path(root) / ckpt_step_name(c.step);
  fs::path partial = fs::path(root) / fmt::format(".{}.partial-{}", ckpt_step_name(c.step), ::getpid());
  std::error_code ec;
  fs::remove_all(partial, ec);
  fs::create_directories(partial);

  // One safetensors file per writing rank; a tensor appears in a file at most once.
  std::map<int, std::vector<st_tensor_out>> by_file;
  nlohmann::json tensors = nlohmann::json::array();
  for (auto& t : c.tensors) {
    std::string file = fmt::format("tensors-{}.safetensors", t.file);
    by_file[t.file].push_back({t.name, t.dtype, t.shape, t.data});
    tensors.push_back({{"name", t.name}, {"file", file}, {"dtype", st_dtype_name(t.dtype)}, {"shape", t.shape},
                       {"global_shape", t.global_shape.empty() ? t.shape : t.global_shape},
                       {"offset", t.offset.empty() ? std::vector<int64_t>(t.shape.size(), 0) : t.offset}});
  }
  if (by_file.empty()) by_file[0] = {};
  nlohmann::json files = nlohmann::json::array();
  for (auto& [index, outs] : by_file) {
    std::string file = fmt::format("tensors-{}.safetensors", index);
    std::string tensor_path = (partial / file).string();
    // The checksum is computed from the bytes in memory on a second thread while this one writes
    // and fsyncs them: it costs no extra pass over the file and hides behind the disk.
    std::string header = safetensors_header(outs, {{"format", "wb"}});
    auto crc_job = std::async(std::launch::async, [&] {
      uint32_t crc = crc32c(header.data(), header.size());
      for (auto& t : outs) {
        uint64_t n = 1;
        for (auto d : t.shape) n *= uint64_t(d);
        crc = crc32c(t.data, n * st_dtype_bytes(t.dtype), crc);
      }
      return crc;
    });
    uint64_t size = header.size();
    {
      atomic_file out(tensor_path);
      out.write(header.data(), header.size());
      for (auto& t : outs) {
        uint64_t n = 1;
        for (auto d : t.shape) n *= uint64_t(d);
        out.write(t.data, n * st_dtype_bytes(t.dtype));
        size += n * st_dtype_bytes(t.dtype);
      }
      out.commit();
    }
    files.push_back({{"name", file}, {"bytes", size}, {"crc32c", crc_job.get()}});
  }

  nlohmann::ordered_json m;
  m["format"] = "wb-checkpoint";
  m["version"] = ckpt_format_version;
  m["step"] = c.step;
  m["recipe_hash"] = c.recipe_hash;
  m["tokenizer_fingerprint"] = c.tokenizer_fingerprint;
  m["layout"] = c.layout;
  m["recipe"] = c.recipe;
  m["state"] = c.state;
  m["files"] = files;
  m["tensors"] = tensors;
  atomic_write_file((partial / "manifest.json").string(), m.dump(1) + "\n");
  fsync_parent_dir((partial / "manifest.json").string());

  if (fs::exists(final_dir)) fs::remove_all(final_dir);  // a re-save of the same step replaces it
  fs::rename(partial, final_dir);
  fsync_parent_dir(final_dir.string());
  return final_dir.string();
}

std::vector<std::string> ckpt_list(const std::string& root) {
  std::vector<std::pair<uint64_t, std::string>> found;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(root, ec)) {
    uint64_t step;
    if (e.is_directory() && is_step_dir(e.path(), step)) found.emplace_back(step, e.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [_, p] : found) out.push_back(p);
  return out;
}

std::optional<std::string> ckpt_latest(const std::string& root) {
  auto all = ckpt_list(root);
  if (all.empty()) return std::nullopt;
  return all.back();
}

void ckpt_retain(const std::string& root, int keep) {
  auto all = ckpt_list(root);
  keep = std::max(keep, 1);  // the newest complete checkpoint is never deleted
  for (size_t i = 0; i + size_t(keep) < all.size(); ++i) {
    std::string manifest = (fs::path(all[i]) / "manifest.json").string();
    int fd = ::open(manifest.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    bool free = flock(fd, LOCK_EX | LOCK_NB) == 0;  // fails while a reader holds LOCK_SH
    if (free) {
      // Un-name it first so that a crash mid-delete never leaves a half-deleted "complete" step.
      fs::path doomed = fs::path(root) / fmt::format(".deleting-{}", fs::path(all[i]).filename().string());
      std::error_code ec;
      fs::rename(all[i], doomed, ec);
      if (!ec) fs::remove_all(doomed, ec);
    }
    ::close(fd);
  }
  // Partial directories of writers that died (their pid is gone).
  std::error_code ec;
  for (auto& e : fs::directory_iterator(root, ec)) {
    std::string name = e.path().filename().string();
    auto at = name.find(".partial-");
    if (name[0] != '.' || at == std::string::npos) continue;
    int pid = std::atoi(name.c_str() + at + 9);
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) fs::remove_all(e.path(), ec);
  }
}

ckpt_reader::ckpt_reader(const std::string& dir, bool verify) : dir_(dir) {
  std::string manifest_path = (fs::path(dir) / "manifest.json").string();
  lock_fd_ = ::open(manifest_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (lock_fd_ < 0)
    throw std::runtime_error(fmt::format("{}: not a complete checkpoint (no manifest.json)", dir));
  flock(lock_fd_, LOCK_SH);  // retention will not delete it while we read
  try {
    std::ifstream in(manifest_path);
    manifest_ = nlohmann::json::parse(in);
  } catch (nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{}: unreadable manifest: {}", manifest_path, e.what()));
  }
  if (manifest_.value("format", "") != "wb-checkpoint")
    throw std::runtime_error(manifest_path + ": not a wb checkpoint manifest");
  int version = manifest_.value("version", 0);
  if (version > ckpt_format_version)
    throw std::runtime_error(fmt::format("{}: checkpoint format version {} is newer than this wb reads ({}); upgrade wb",
                                         dir, version, ckpt_format_version));
  for (auto& f : manifest_.at("files")) {
    std::string path = (fs::path(dir) / f.at("name").get<std::string>()).string();
    std::error_code ec;
    uint64_t expected = f.at("bytes"), actual = fs::file_size(path, ec);
    if (ec) throw std::runtime_error(fmt::format("{}: missing (the manifest lists it)", path));
    if (actual != expected)
      throw std::runtime_error(fmt::format("{}: {} bytes, the manifest says {} (truncated?)", path, actual, expected));
    if (verify) {
      uint64_t size;
      uint32_t crc = file_crc(path, size);
      if (crc != f.at("crc32c").get<uint32_t>())
        throw std::runtime_error(fmt::format("{}: checksum mismatch (crc32c {:08x}, the manifest says {:08x}): the file "
                                             "is corrupted", path, crc, f.at("crc32c").get<uint32_t>()));
    }
    files_.push_back(std::make_unique<safetensors_file>(path));
  }
  for (auto& t : manifest_.at("tensors")) {
    std::string name = t.at("name"), file = t.at("file");
    const st_tensor_in* in = nullptr;
    for (auto& f : files_)
      if (fs::path(f->path()).filename() == file) in = f->find(name);
    if (!in) throw std::runtime_error(fmt::format("{}: tensor '{}' is listed but not in {}", dir, name, file));
    ckpt_tensor_view v;
    v.meta = {name, in->dtype, in->shape, t.at("global_shape").get<std::vector<int64_t>>(),
              t.at("offset").get<std::vector<int64_t>>(), in->data};
    v.bytes = in->bytes;
    tensors_.push_back(v);
  }
}

ckpt_reader::~ckpt_reader() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

const ckpt_tensor_view* ckpt_reader::find(const std::string& name) const {
  const ckpt_tensor_view* found = nullptr;
  for (auto& t : tensors_)
    if (t.meta.name == name) {
      if (found || t.meta.shape != t.meta.global_shape) return nullptr;  // split into slices
      found = &t;
    }
  return found;
}

std::vector<int64_t> ckpt_reader::global_shape(const std::string& name) const {
  for (auto& t : tensors_) if (t.meta.name == name) return t.meta.global_shape;
  return {};
}

void ckpt_reader::read_global(const std::string& name, void* out) const {
  std::vector<int64_t> global = global_shape(name);
  if (global.empty()) throw std::runtime_error(fmt::format("{}: no tensor '{}'", dir_, name));
  const size_t rank = global.size();
  int64_t total = 1;
  for (auto d : global) total *= d;
  int64_t covered = 0;
  for (auto& t : tensors_) {
    if (t.meta.name != name) continue;
    auto& shape = t.meta.shape;
    auto& off = t.meta.offset;
    if (shape.size() != rank || off.size() != rank || t.meta.global_shape != global)
      throw std::runtime_error(fmt::format("{}: slices of '{}' disagree on its shape", dir_, name));
    for (size_t d = 0; d < rank; ++d)
      if (off[d] < 0 || off[d] + shape[d] > global[d])
        throw std::runtime_error(fmt::format("{}: a slice of '{}' lies outside its global shape", dir_, name));
    size_t elem = st_dtype_bytes(t.meta.dtype);
    // Copy row by row of the innermost dimension: the slice's rows in order, to their place in the
    // global row-major layout.
    int64_t inner = rank ? shape[rank - 1] : 1, rows = 1;
    for (size_t d = 0; d + 1 < rank; ++d) rows *= shape[d];
    std::vector<int64_t> index(rank, 0);
    auto* src = static_cast<const uint8_t*>(t.meta.data);
    for (int64_t r = 0; r < rows; ++r) {
      int64_t at = 0;
      for (size_t d = 0; d < rank; ++d) at = at * global[d] + off[d] + (d + 1 < rank ? index[d] : 0);
      std::memcpy(static_cast<uint8_t*>(out) + size_t(at) * elem, src + size_t(r * inner) * elem, size_t(inner) * elem);
      for (size_t d = rank - 1; d-- > 0;) {  // next row index, odometer style
        if (++index[d] < shape[d]) break;
        index[d] = 0;
      }
    }
    covered += int64_t(t.bytes / elem);
  }
  if (covered != total)
    throw std::runtime_error(fmt::format("{}: the slices of '{}' hold {} of its {} elements", dir_, name, covered, total));
}

std::string ckpt_verify(const std::string& dir) {
  try {
    ckpt_reader r(dir, true);
    return "";
  } catch (std::exception& e) {
    return e.what();
  }
}

}  // namespace wb
