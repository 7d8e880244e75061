// Writing and verified reading of shard files.
#include "core/data/shard_file.hpp"

#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/data/data_error.hpp"
#include "core/util/atomic_file.hpp"
#include "core/util/crc32c.hpp"

namespace wb {
namespace {

constexpr char magic[8] = {'W', 'B', 'T', 'O', 'K', 'E', 'N', 'S'};
constexpr char end_magic[8] = {'W', 'B', 'T', 'O', 'K', 'E', 'N', 'D'};
constexpr size_t header_bytes = 128;

#pragma pack(push, 1)
struct header {
  char magic[8];
  uint32_t version, token_bytes, vocab_size, block_bytes;
  uint64_t documents, tokens;
  uint8_t fingerprint[32];
  uint32_t header_crc;  // of the bytes before it
  uint8_t reserved[header_bytes - 76];
};
#pragma pack(pop)
static_assert(sizeof(header) == header_bytes);
constexpr size_t header_crc_span = offsetof(header, header_crc);

}  // namespace

fingerprint_bytes fingerprint_from_hex(const std::string& hex) {
  fingerprint_bytes f{};
  for (size_t i = 0; i < 32 && 2 * i + 1 < hex.size(); ++i)
    f[i] = uint8_t(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  return f;
}

std::string fingerprint_to_hex(const fingerprint_bytes& f) {
  std::string s;
  for (auto b : f) s += fmt::format("{:02x}", b);
  return s;
}

void shard_write(const std::string& path, const shard_contents& c, uint32_t vocab_size,
                 const fingerprint_bytes& fingerprint) {
  header h{};
  std::memcpy(h.magic, magic, 8);
  h.version = shard_version;
  h.token_bytes = vocab_size <= 65536 ? 2 : 4;
  h.vocab_size = vocab_size;
  h.block_bytes = shard_block_bytes;
  h.documents = c.documents();
  h.tokens = c.tokens.size();
  std::memcpy(h.fingerprint, fingerprint.data(), 32);
  h.header_crc = crc32c(&h, header_crc_span);

  std::string body(c.doc_offsets.size() * 8 + c.tokens.size() * h.token_bytes, '\0');
  std::memcpy(body.data(), c.doc_offsets.data(), c.doc_offsets.size() * 8);
  char* t = body.data() + c.doc_offsets.size() * 8;
  for (size_t i = 0; i < c.tokens.size(); ++i) {
    if (c.tokens[i] >= vocab_size)
      throw data_error(fmt::format("{}: token id {} of token {} is outside the vocabulary ({})", path, c.tokens[i], i,
                                   vocab_size));
    if (h.token_bytes == 2) { uint16_t v = uint16_t(c.tokens[i]); std::memcpy(t + 2 * i, &v, 2); }
    else std::memcpy(t + 4 * i, &c.tokens[i], 4);
  }
  uint64_t blocks = (body.size() + shard_block_bytes - 1) / shard_block_bytes;
  std::string footer(blocks * 4 + 16, '\0');
  for (uint64_t b = 0; b < blocks; ++b) {
    size_t begin = b * shard_block_bytes, size = std::min<size_t>(shard_block_bytes, body.size() - begin);
    uint32_t crc = crc32c(body.data() + begin, size);
    std::memcpy(footer.data() + 4 * b, &crc, 4);
  }
  std::memcpy(footer.data() + blocks * 4, &blocks, 8);
  std::memcpy(footer.data() + blocks * 4 + 8, end_magic, 8);

  atomic_file out(path);
  out.write(&h, sizeof h);
  out.write(body.data(), body.size());
  out.write(footer.data(), footer.size());
  out.commit();
}

shard_reader::shard_reader(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw data_error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  struct stat st{};
  fstat(fd, &st);
  map_size_ = size_t(st.st_size);
  if (map_size_ < header_bytes) {
    ::close(fd);
    throw data_error(fmt::format("{}: truncated at byte {}: a shard has a {}-byte header", path, map_size_, header_bytes));
  }
  map_ = mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map_ == MAP_FAILED) { map_ = nullptr; throw data_error(fmt::format("{}: cannot map: {}", path, std::strerror(errno))); }
  auto fail = [&](const std::string& what) {
    munmap(map_, map_size_);
    map_ = nullptr;
    throw data_error(path + ": " + what);
  };
  auto* bytes = static_cast<const char*>(map_);
  header h;
  std::memcpy(&h, bytes, sizeof h);
  if (std::memcmp(h.magic, magic, 8) != 0) fail("not a wb token shard (bad magic at byte 0)");
  if (h.version > shard_version)
    fail(fmt::format("shard format version {} is newer than this wb reads ({}); upgrade wb", h.version, shard_version));
  if (crc32c(&h, header_crc_span) != h.header_crc) fail("header checksum mismatch at bytes 0-127: the file is corrupted");
  if (h.token_bytes != 2 && h.token_bytes != 4) fail(fmt::format("bad token width {} at byte 12", h.token_bytes));
  uint64_t body = (h.documents + 1) * 8 + h.tokens * h.token_bytes;
  uint64_t blocks = (body + h.block_bytes - 1) / h.block_bytes;
  uint64_t expected = header_bytes + body + blocks * 4 + 16;
  if (map_size_ != expected)
    fail(fmt::format("{} at byte {}: the header promises {} bytes", map_size_ < expected ? "truncated" : "trailing bytes",
                     std::min<uint64_t>(map_size_, expected), expected));
  const char* footer = bytes + header_bytes + body;
  if (std::memcmp(footer + blocks * 4 + 8, end_magic, 8) != 0)
    fail(fmt::format("bad end marker at byte {}: the file is corrupted", header_bytes + body + blocks * 4 + 8));
  for (uint64_t b = 0; b < blocks; ++b) {
    uint64_t begin = b * h.block_bytes, size = std::min<uint64_t>(h.block_bytes, body - begin);
    uint32_t stored;
    std::memcpy(&stored, footer + 4 * b, 4);
    if (crc32c(bytes + header_bytes + begin, size) != stored)
      fail(fmt::format("checksum mismatch in bytes {}-{} (block {}): the file is corrupted; prepare it again",
                       header_bytes + begin, header_bytes + begin + size - 1, b));
  }
  documents_ = h.documents;
  tokens_ = h.tokens;
  vocab_size_ = h.vocab_size;
  token_bytes_ = h.token_bytes;
  std::memcpy(fingerprint_.data(), h.fingerprint, 32);
  offsets_ = reinterpret_cast<const uint64_t*>(bytes + header_bytes);
  const char* toks = bytes + header_bytes + (h.documents + 1) * 8;
  tok16_ = reinterpret_cast<const uint16_t*>(toks);
  tok32_ = reinterpret_cast<const uint32_t*>(toks);
  if (offsets_[0] != 0 || offsets_[documents_] != tokens_) fail("document index does not cover the tokens: corrupted");
  for (uint64_t d = 0; d < documents_; ++d)
    if (offsets_[d + 1] < offsets_[d]) fail(fmt::format("document index decreases at document {}: corrupted", d));
  for (uint64_t i = 0; i < tokens_; ++i)
    if (token(i) >= vocab_size_)
      fail(fmt::format("token id {} at byte {} is outside the vocabulary ({})", token(i),
                       header_bytes + (documents_ + 1) * 8 + i * token_bytes_, vocab_size_));
}

shard_reader::~shard_reader() {
  if (map_) munmap(map_, map_size_);
}

shard_reader::shard_reader(shard_reader&& o) noexcept
    : path_(std::move(o.path_)), map_(o.map_), map_size_(o.map_size_), documents_(o.documents_), tokens_(o.tokens_),
      vocab_size_(o.vocab_size_), token_bytes_(o.token_bytes_), fingerprint_(o.fingerprint_), offsets_(o.offsets_),
      tok16_(o.tok16_), tok32_(o.tok32_) {
  o.map_ = nullptr;
}

void shard_reader::read(uint64_t begin, uint64_t count, uint32_t* out) const {
  if (token_bytes_ == 4) { std::memcpy(out, tok32_ + begin, count * 4); return; }
  for (uint64_t i = 0; i < count; ++i) out[i] = tok16_[begin + i];
}

}  // namespace wb
