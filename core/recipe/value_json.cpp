// Located JSON for recipe trees and diagnostics.
#include "core/recipe/value_json.hpp"

namespace wb {

nlohmann::json value_to_located_json(const recipe_value& v) {
  nlohmann::json j;
  j["f"] = v.loc.file;
  j["l"] = v.loc.line;
  switch (v.type()) {
    case recipe_value::kind::nil: j["k"] = "nil"; break;
    case recipe_value::kind::boolean: j["k"] = "bool"; j["v"] = v.as_bool(); break;
    case recipe_value::kind::number: j["k"] = "num"; j["v"] = v.as_number(); break;
    case recipe_value::kind::string: j["k"] = "str"; j["v"] = v.as_string(); break;
    case recipe_value::kind::list: {
      j["k"] = "list";
      j["v"] = nlohmann::json::array();
      for (auto& x : v.items()) j["v"].push_back(value_to_located_json(x));
      break;
    }
    case recipe_value::kind::table: {
      j["k"] = "table";
      j["v"] = nlohmann::json::array();
      for (auto& [k, x] : v.fields()) j["v"].push_back({k, value_to_located_json(x)});
      break;
    }
  }
  return j;
}

recipe_value value_from_located_json(const nlohmann::json& j) {
  source_loc loc{j.at("f").get<std::string>(), j.at("l").get<int>()};
  const std::string& k = j.at("k").get_ref<const std::string&>();
  if (k == "bool") return recipe_value::boolean(j.at("v").get<bool>(), loc);
  if (k == "num") return recipe_value::number(j.at("v").get<double>(), loc);
  if (k == "str") return recipe_value::string(j.at("v").get<std::string>(), loc);
  if (k == "list") {
    auto v = recipe_value::list(loc);
    for (auto& x : j.at("v")) v.push(value_from_located_json(x));
    return v;
  }
  if (k == "table") {
    auto v = recipe_value::table(loc);
    for (auto& kv : j.at("v")) v.set(kv.at(0).get<std::string>(), value_from_located_json(kv.at(1)));
    return v;
  }
  recipe_value nil;
  nil.loc = loc;
  return nil;
}

nlohmann::json diagnostics_to_json(const diagnostics& ds) {
  nlohmann::json a = nlohmann::json::array();
  for (auto& d : ds)
    a.push_back({{"f", d.loc.file}, {"l", d.loc.line}, {"key", d.key}, {"given", d.given},
                 {"expected", d.expected}, {"got", d.got}, {"hint", d.hint}, {"message", d.message}});
  return a;
}

diagnostics diagnostics_from_json(const nlohmann::json& j) {
  diagnostics ds;
  for (auto& x : j)
    ds.push_back({{x.at("f").get<std::string>(), x.at("l").get<int>()}, x.at("key"), x.at("given"),
                  x.at("expected"), x.at("got"), x.at("hint"), x.at("message")});
  return ds;
}

}  // namespace wb

namespace wb {

recipe_value value_from_plain_json(const nlohmann::json& j) {
  if (j.is_boolean()) return recipe_value::boolean(j.get<bool>());
  if (j.is_number()) return recipe_value::number(j.get<double>());
  if (j.is_string()) return recipe_value::string(j.get<std::string>());
  if (j.is_array()) {
    auto v = recipe_value::list();
    for (auto& x : j) v.push(value_from_plain_json(x));
    return v;
  }
  if (j.is_object()) {
    auto v = recipe_value::table();
    for (auto& [k, x] : j.items()) v.set(k, value_from_plain_json(x));
    return v;
  }
  return {};
}

}  // namespace wb
