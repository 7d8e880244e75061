// The recipe constructors a recipe calls (recipe, model, data, source, parallel, cluster, optim,
// train, checkpoint), the sandboxed `require` for wb.* modules, and the conversion of the returned
// Lua table into a located recipe_value tree.
#pragma once
#include <map>
#include <string>

#include "core/recipe/diagnostic.hpp"
#include "core/recipe/lua_source_index.hpp"
#include "core/recipe/value.hpp"

struct lua_State;

namespace wb {

// Registers the constructors and `require` in the sandbox environment of L.
void recipe_constructors_register(lua_State* L);

// Converts the value at the top of the stack. `file` and `source` are the chunk's display name and
// text (to index key lines); modules' sources are known by the registry. Problems go to `errors`.
recipe_value recipe_value_from_lua(lua_State* L, const std::string& file, const std::string& source,
                                   diagnostics& errors);

}  // namespace wb
