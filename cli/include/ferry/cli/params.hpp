// `--param NAME=VALUE` for `ferry run`: split at the first '=', so values may hold '='.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ferry/core/error.hpp"

namespace ferry::cli {

// "name=value" -> {name, value}. The value may be empty or hold '='; the name may not be empty.
// Names are otherwise checked by the server (its error names the rule).
Expected<std::pair<std::string, std::string>> parse_param(std::string_view text);

// All of them as the JSON object text RunCommand's Parameters takes. A name given twice is an
// error rather than a silent last-one-wins.
Expected<std::string> parameters_json(const std::vector<std::string>& params);

}  // namespace ferry::cli
