#include "ferry/server/domain/parameter_rules.hpp"

#include <nlohmann/json.hpp>
#include <set>

#include "ferry/core/error_codes.hpp"
#include "ferry/core/parameters.hpp"

namespace ferry::server::domain {

Expected<std::map<std::string, std::string>> parse_parameter_object(std::string_view field,
                                                                    std::string_view json_text) {
  const std::string f(field);
  std::set<std::string> seen;
  bool duplicate = false;
  std::string duplicate_key;
  nlohmann::json::parser_callback_t cb = [&](int depth, nlohmann::json::parse_event_t event,
                                             nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 && parsed.is_string()) {
      if (!seen.insert(parsed.get<std::string>()).second && !duplicate) {
        duplicate = true;
        duplicate_key = parsed.get<std::string>();
      }
    }
    return true;
  };
  auto j = nlohmann::json::parse(json_text, cb, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error{"InvalidParameterValue.ParameterInvalidJsonFormat",
                 f + ": must be a JSON object such as {\"name\": \"value\"}"};
  }
  if (duplicate) {
    return Error{"InvalidParameterValue.ParameterKeyDuplicated",
                 f + ": the key " + duplicate_key + " appears twice"};
  }
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : j.items()) {
    if (!value.is_string()) {
      return Error{codes::kParameterValueNotString,
                   f + ": the value of " + key + " must be a string"};
    }
    out.emplace(key, value.get<std::string>());
  }
  if (auto s = validate_parameters(out); !s) {
    return s.error().wrap(f);
  }
  return out;
}

Expected<std::map<std::string, std::string>> parameter_confs_to_map(
    const std::vector<DefaultParameterConf>& confs) {
  std::map<std::string, std::string> out;
  for (const auto& c : confs) {
    if (!out.emplace(c.name, c.value).second) {
      return Error{"InvalidParameter.ParameterNameDuplicated",
                   "DefaultParameterConfs: the name " + c.name + " appears twice"};
    }
  }
  if (auto s = validate_parameters(out); !s) {
    return s.error().wrap("DefaultParameterConfs");
  }
  return out;
}

std::string parameter_map_to_json(const std::map<std::string, std::string>& params) {
  if (params.empty()) {
    return "";
  }
  return nlohmann::json(params).dump();
}

}  // namespace ferry::server::domain
