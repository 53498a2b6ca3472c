#include "ferry/cli/params.hpp"

#include <nlohmann/json.hpp>

#include "ferry/core/error_codes.hpp"

namespace ferry::cli {

Expected<std::pair<std::string, std::string>> parse_param(std::string_view text) {
  const auto eq = text.find('=');
  const std::string shown(text.substr(0, 80));
  if (eq == std::string_view::npos) {
    return Error{codes::kInvalidParameterValue,
                 "--param " + shown + ": expected NAME=VALUE (no '=' found)"};
  }
  if (eq == 0) {
    return Error{codes::kInvalidParameterValue,
                 "--param " + shown + ": expected NAME=VALUE (the name is empty)"};
  }
  return std::pair<std::string, std::string>(std::string(text.substr(0, eq)),
                                             std::string(text.substr(eq + 1)));
}

Expected<std::string> parameters_json(const std::vector<std::string>& params) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& text : params) {
    auto p = parse_param(text);
    if (!p) {
      return p.error();
    }
    if (object.contains(p->first)) {
      return Error{codes::kInvalidParameterValue, "--param " + p->first + ": given twice"};
    }
    object[p->first] = p->second;
  }
  // Not ASCII-escaped, and a value that is not valid UTF-8 is an error rather than an exception.
  try {
    return object.dump();
  } catch (const nlohmann::json::exception&) {
    return Error{codes::kInvalidParameterValue, "--param: a value is not valid UTF-8"};
  }
}

}  // namespace ferry::cli
