// A file that appears complete or not at all: written to PATH.tmp, fsynced, renamed over PATH,
// and the directory fsynced so the rename survives a crash. Destroyed without commit(), the
// temporary is removed. Used for data shards, manifests and (later) checkpoints.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace wb {

class atomic_file {
 public:
  explicit atomic_file(const std::string& path);  // throws std::runtime_error naming the path
  ~atomic_file();
  atomic_file(const atomic_file&) = delete;
  atomic_file& operator=(const atomic_file&) = delete;

  void write(const void* data, size_t size);
  void commit();

 private:
  std::string path_, tmp_;
  int fd_ = -1;
  uint64_t written_ = 0, flushed_ = 0;  // bytes written, and handed to writeback so far
};

// Writes a whole small file atomically.
void atomic_write_file(const std::string& path, const std::string& contents);

// fsync of the directory holding `path`.
void fsync_parent_dir(const std::string& path);

}  // namespace wb
