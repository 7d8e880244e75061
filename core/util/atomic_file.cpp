// Temp-write, fsync, rename, fsync the directory (the POSIX recipe for atomic replacement).
#include "core/util/atomic_file.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <stdexcept>
#include <unistd.h>

namespace wb {

atomic_file::atomic_file(const std::string& path) : path_(path), tmp_(path + ".tmp") {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error(tmp_ + ": cannot create: " + std::strerror(errno));
}

atomic_file::~atomic_file() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

// Writeback of what is already written starts every this many bytes (sync_file_range(2),
// SYNC_FILE_RANGE_WRITE: start, do not wait), so the disk works while later data is still being
// copied and the final fsync has little left to do.
constexpr uint64_t writeback_bytes = 32ull << 20;

void atomic_file::write(const void* data, size_t size) {
  auto* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(tmp_ + ": write failed: " + std::strerror(errno));
    p += n;
    size -= size_t(n);
    written_ += uint64_t(n);
    if (written_ - flushed_ >= writeback_bytes) {
      sync_file_range(fd_, off64_t(flushed_), off64_t(written_ - flushed_), SYNC_FILE_RANGE_WRITE);
      flushed_ = written_;
    }
  }
}

void atomic_file::commit() {
  if (::fsync(fd_) != 0) throw std::runtime_error(tmp_ + ": fsync failed: " + std::strerror(errno));
  ::close(fd_);
  fd_ = -1;
  if (::rename(tmp_.c_str(), path_.c_str()) != 0)
    throw std::runtime_error(path_ + ": rename failed: " + std::strerror(errno));
  fsync_parent_dir(path_);
}

void atomic_write_file(const std::string& path, const std::string& contents) {
  atomic_file f(path);
  f.write(contents.data(), contents.size());
  f.commit();
}

void fsync_parent_dir(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace wb
