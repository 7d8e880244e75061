// The Lua modules under lua/wb/, compiled into the binary (see embed_modules.cmake).
#pragma once
#include <string>
#include <vector>

namespace wb {

struct embedded_module {
  const char* name;   // "wb.catalog"
  const char* file;   // "wb/catalog.lua", as errors name it
  const char* text;
};

const std::vector<embedded_module>& embedded_modules();

}  // namespace wb
