// The custom parameters of a command and a run: a JSON object of string values as the API
// carries it, the seeds' rules on its names and values (core/parameters.hpp), and the compact
// text the store keeps.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/server/model.hpp"

namespace ferry::server::domain {

// A JSON-encoded object of string values ("Parameters", "DefaultParameters"):
// ParameterInvalidJsonFormat, ParameterKeyDuplicated, ParameterValueNotString,
// ParameterKeyContainsInvalidChar, ParameterKeyLenExceeded, ParameterNumberExceeded.
Expected<std::map<std::string, std::string>> parse_parameter_object(std::string_view field,
                                                                    std::string_view json_text);
// DefaultParameterConfs: names valid and unique (InvalidParameter.ParameterNameDuplicated).
Expected<std::map<std::string, std::string>> parameter_confs_to_map(
    const std::vector<DefaultParameterConf>& confs);
// The compact JSON text of a parameter map ("" for an empty map).
std::string parameter_map_to_json(const std::map<std::string, std::string>& params);

}  // namespace ferry::server::domain
