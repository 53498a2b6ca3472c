#include "ferry/server/api/params.hpp"

#include <limits>

#include "ferry/core/error_codes.hpp"

namespace ferry::server {

Params::Params(nlohmann::json body) : body_(std::move(body)) {
  if (!body_.is_object()) {
    fail(Error{codes::kInvalidParameter, "the request body must be a JSON object"});
    body_ = nlohmann::json::object();
  }
}

const nlohmann::json* Params::field(std::string_view name) {
  read_.emplace(name);
  auto it = body_.find(name);
  if (it == body_.end() || it->is_null()) {
    return nullptr;
  }
  return &*it;
}

bool Params::has(std::string_view name) const {
  auto it = body_.find(name);
  return it != body_.end() && !it->is_null();
}

void Params::fail(Error error) {
  if (!error_) {
    error_ = std::move(error);
  }
}

void Params::type_error(std::string_view name, std::string_view expected) {
  fail(Error{codes::kInvalidParameter, std::string(name) + ": must be " + std::string(expected)});
}

std::optional<std::string> Params::opt_string(std::string_view name) {
  const auto* v = field(name);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_string()) {
    type_error(name, "a string");
    return std::nullopt;
  }
  return v->get<std::string>();
}

std::string Params::req_string(std::string_view name) {
  const bool present = has(name);
  auto v = opt_string(name);
  if (!present) {
    fail(Error{codes::kMissingParameter, "the parameter " + std::string(name) + " is required"});
  }
  return v.value_or("");
}

std::optional<int64_t> Params::opt_int(std::string_view name) {
  const auto* v = field(name);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (v->is_number_integer()) {
    return v->get<int64_t>();
  }
  // 2^63 and above arrive as unsigned; a float with no fraction is still an integer to a JS SDK.
  if (v->is_number_unsigned()) {
    type_error(name, "an integer in the 64-bit range");
    return std::nullopt;
  }
  if (v->is_number_float()) {
    const double d = v->get<double>();
    if (d == static_cast<double>(static_cast<int64_t>(d)) && d < 9.2e18 && d > -9.2e18) {
      return static_cast<int64_t>(d);
    }
  }
  type_error(name, "an integer");
  return std::nullopt;
}

std::optional<bool> Params::opt_bool(std::string_view name) {
  const auto* v = field(name);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_boolean()) {
    type_error(name, "a boolean");
    return std::nullopt;
  }
  return v->get<bool>();
}

std::optional<std::vector<std::string>> Params::opt_string_list(std::string_view name) {
  const auto* v = field(name);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_array()) {
    type_error(name, "an array of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const auto& item : *v) {
    if (!item.is_string()) {
      type_error(name, "an array of strings");
      return std::nullopt;
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::vector<std::string> Params::req_string_list(std::string_view name) {
  auto v = opt_string_list(name);
  if (ok() && (!v || v->empty())) {
    fail(Error{codes::kMissingParameter, "the parameter " + std::string(name) + " is required"});
  }
  return v.value_or(std::vector<std::string>{});
}

std::optional<std::vector<Filter>> Params::opt_filters(std::string_view name) {
  const auto* v = field(name);
  if (v == nullptr) {
    return std::nullopt;
  }
  const std::string what = std::string(name) + ": must be an array of {Name, Values}";
  if (!v->is_array()) {
    fail(Error{codes::kInvalidParameter, what});
    return std::nullopt;
  }
  std::vector<Filter> out;
  for (const auto& item : *v) {
    if (!item.is_object() || !item.contains("Name") || !item["Name"].is_string() ||
        !item.contains("Values") || !item["Values"].is_array()) {
      fail(Error{codes::kInvalidParameter, what});
      return std::nullopt;
    }
    for (const auto& [key, value] : item.items()) {
      if (key != "Name" && key != "Values") {
        fail(Error{"UnknownParameter", std::string(name) + "." + key + " is not recognized"});
        return std::nullopt;
      }
    }
    Filter f;
    f.name = item["Name"].get<std::string>();
    for (const auto& value : item["Values"]) {
      if (!value.is_string()) {
        fail(Error{codes::kInvalidParameter, what});
        return std::nullopt;
      }
      f.values.push_back(value.get<std::string>());
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::optional<std::vector<Tag>> Params::opt_tags(std::string_view name) {
  const auto* v = field(name);
  if (v == nullptr) {
    return std::nullopt;
  }
  const std::string what = std::string(name) + ": must be an array of {Key, Value}";
  if (!v->is_array()) {
    fail(Error{codes::kInvalidParameter, what});
    return std::nullopt;
  }
  std::vector<Tag> out;
  for (const auto& item : *v) {
    if (!item.is_object() || !item.contains("Key") || !item["Key"].is_string() ||
        (item.contains("Value") && !item["Value"].is_string() && !item["Value"].is_null())) {
      fail(Error{codes::kInvalidParameter, what});
      return std::nullopt;
    }
    for (const auto& [key, value] : item.items()) {
      if (key != "Key" && key != "Value") {
        fail(Error{"UnknownParameter", std::string(name) + "." + key + " is not recognized"});
        return std::nullopt;
      }
    }
    out.push_back(Tag{item["Key"].get<std::string>(), item.value("Value", std::string())});
  }
  return out;
}

std::optional<std::vector<DefaultParameterConf>> Params::opt_parameter_confs(
    std::string_view name) {
  const auto* v = field(name);
  if (v == nullptr) {
    return std::nullopt;
  }
  const std::string what = std::string(name) +
                           ": must be an array of {ParameterName, ParameterValue, "
                           "ParameterDescription}";
  if (!v->is_array()) {
    fail(Error{codes::kInvalidParameter, what});
    return std::nullopt;
  }
  std::vector<DefaultParameterConf> out;
  for (const auto& item : *v) {
    if (!item.is_object() || !item.contains("ParameterName") ||
        !item["ParameterName"].is_string() || !item.contains("ParameterValue")) {
      fail(Error{codes::kInvalidParameter, what});
      return std::nullopt;
    }
    if (!item["ParameterValue"].is_string()) {
      fail(Error{codes::kParameterValueNotString, std::string(name) + ": the value of " +
                                                      item["ParameterName"].get<std::string>() +
                                                      " is not a string"});
      return std::nullopt;
    }
    for (const auto& [key, value] : item.items()) {
      if (key != "ParameterName" && key != "ParameterValue" && key != "ParameterDescription") {
        fail(Error{"UnknownParameter", std::string(name) + "." + key + " is not recognized"});
        return std::nullopt;
      }
    }
    DefaultParameterConf c;
    c.name = item["ParameterName"].get<std::string>();
    c.value = item["ParameterValue"].get<std::string>();
    if (item.contains("ParameterDescription") && item["ParameterDescription"].is_string()) {
      c.description = item["ParameterDescription"].get<std::string>();
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::optional<nlohmann::json> Params::opt_json(std::string_view name) {
  const auto* v = field(name);
  if (v == nullptr) {
    return std::nullopt;
  }
  return *v;
}

Status Params::finish() const {
  if (error_) {
    return *error_;
  }
  for (const auto& [key, value] : body_.items()) {
    if (!read_.contains(key)) {
      return Error{"UnknownParameter", "the parameter " + key + " is not recognized"};
    }
  }
  return {};
}

}  // namespace ferry::server
