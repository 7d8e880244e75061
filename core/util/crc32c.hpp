// CRC-32C (Castagnoli), for block checksums of data shards: cheap enough to verify every block of
// a shard when it is opened (SSE4.2 crc32 instruction where the CPU has it, a table otherwise).
#pragma once
#include <cstddef>
#include <cstdint>

namespace wb {

uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);

}  // namespace wb
