#include "ferry/server/api/params.hpp"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "ferry/core/error_codes.hpp"

namespace ferry::server {

Params::Params(nlohmann::json body) : body_(std::make_unique<nlohmann::json>(std::move(body))) {
  if (!body_->is_object()) {
    fail(Error{codes::kInvalidParameter, "the request body must be a JSON object"});
    *body_ = nlohmann::json::object();
  }
}

Params::~Params() = default;

const nlohmann::json* Params::field(std::string_view name) {
  read_.emplace(name);
  auto it = body_->find(name);
  if (it == body_->end() || it->is_null()) {
    return nullptr;
  }
  return &*it;
}

bool Params::has(std::string_view name) const {
  auto it = body_->find(name);
  return it != body_->end() && !it->is_null();
}

void Params::fail(Error error) {
  if (!error_) {
    error_ = std::move(error);
  }
}

void Params::type_error(std::string_view name, std::string_view expected) {
  fail(Error{codes::kInvalidParameter, std::string(name) + ": must be " + std::string(expected)});
}

const nlohmann::json* Params::typed_field(std::string_view name,
                                          bool (nlohmann::json::*is_type)() const noexcept,
                                          std::string_view expected) {
  const auto* v = field(name);
  if (v != nullptr && !(v->*is_type)()) {
    type_error(name, expected);
    return nullptr;
  }
  return v;
}

std::optional<std::string> Params::opt_string(std::string_view name) {
  const auto* v = typed_field(name, &nlohmann::json::is_string, "a string");
  return v != nullptr ? std::optional(v->get<std::string>()) : std::nullopt;
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
  // Non-negative integers arrive as unsigned (is_number_integer is true for both): 2^63 and
  // above must be refused, not wrapped to a negative number. A float with no fraction is still an
  // integer to a JS SDK.
  if (v->is_number_unsigned()) {
    const auto u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      type_error(name, "an integer in the 64-bit range");
      return std::nullopt;
    }
    return static_cast<int64_t>(u);
  }
  if (v->is_number_integer()) {
    return v->get<int64_t>();
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
  const auto* v = typed_field(name, &nlohmann::json::is_boolean, "a boolean");
  return v != nullptr ? std::optional(v->get<bool>()) : std::nullopt;
}

std::optional<std::vector<std::string>> Params::opt_string_list(std::string_view name) {
  const auto* v = field(name);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_array() ||
      !std::all_of(v->begin(), v->end(), [](const auto& item) { return item.is_string(); })) {
    type_error(name, "an array of strings");
    return std::nullopt;
  }
  return v->get<std::vector<std::string>>();
}

std::vector<std::string> Params::req_string_list(std::string_view name) {
  auto v = opt_string_list(name);
  if (ok() && (!v || v->empty())) {
    fail(Error{codes::kMissingParameter, "the parameter " + std::string(name) + " is required"});
  }
  return v.value_or(std::vector<std::string>{});
}

bool Params::read_objects(std::string_view name, std::string_view what,
                          std::initializer_list<std::string_view> keys, const ItemCheck& shape,
                          const ItemCheck& take) {
  const auto* v = field(name);
  if (v == nullptr) {
    return false;
  }
  const Error wrong_shape{codes::kInvalidParameter,
                          std::string(name) + ": must be " + std::string(what)};
  if (!v->is_array()) {
    fail(wrong_shape);
    return false;
  }
  for (const auto& item : *v) {
    if (!item.is_object()) {
      fail(wrong_shape);
      return false;
    }
    if (auto e = shape(item)) {
      fail(e->code.empty() ? wrong_shape : *e);
      return false;
    }
    for (const auto& [key, value] : item.items()) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        fail(Error{"UnknownParameter", std::string(name) + "." + key + " is not recognized"});
        return false;
      }
    }
    if (auto e = take(item)) {
      fail(e->code.empty() ? wrong_shape : *e);
      return false;
    }
  }
  return true;
}

namespace {

bool is_string_member(const nlohmann::json& item, const char* key) {
  return item.contains(key) && item[key].is_string();
}

// An item check's "the shape is wrong": read_objects puts its own message in.
const std::optional<Error> kWrongShape = Error{};

}  // namespace

std::optional<std::vector<Filter>> Params::opt_filters(std::string_view name) {
  std::vector<Filter> out;
  const auto shape = [](const nlohmann::json& item) -> std::optional<Error> {
    if (!is_string_member(item, "Name") || !item.contains("Values") || !item["Values"].is_array()) {
      return kWrongShape;
    }
    return std::nullopt;
  };
  const auto take = [&out](const nlohmann::json& item) -> std::optional<Error> {
    Filter f;
    f.name = item["Name"].get<std::string>();
    for (const auto& value : item["Values"]) {
      if (!value.is_string()) {
        return kWrongShape;
      }
      f.values.push_back(value.get<std::string>());
    }
    out.push_back(std::move(f));
    return std::nullopt;
  };
  if (!read_objects(name, "an array of {Name, Values}", {"Name", "Values"}, shape, take)) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::vector<Tag>> Params::opt_tags(std::string_view name) {
  std::vector<Tag> out;
  const auto shape = [](const nlohmann::json& item) -> std::optional<Error> {
    const bool value_ok =
        !item.contains("Value") || item["Value"].is_string() || item["Value"].is_null();
    if (!is_string_member(item, "Key") || !value_ok) {
      return kWrongShape;
    }
    return std::nullopt;
  };
  const auto take = [&out](const nlohmann::json& item) -> std::optional<Error> {
    out.push_back(Tag{item["Key"].get<std::string>(), item.value("Value", std::string())});
    return std::nullopt;
  };
  if (!read_objects(name, "an array of {Key, Value}", {"Key", "Value"}, shape, take)) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::vector<DefaultParameterConf>> Params::opt_parameter_confs(
    std::string_view name) {
  std::vector<DefaultParameterConf> out;
  const auto shape = [name](const nlohmann::json& item) -> std::optional<Error> {
    if (!is_string_member(item, "ParameterName") || !item.contains("ParameterValue")) {
      return kWrongShape;
    }
    if (!item["ParameterValue"].is_string()) {
      return Error{codes::kParameterValueNotString, std::string(name) + ": the value of " +
                                                        item["ParameterName"].get<std::string>() +
                                                        " is not a string"};
    }
    return std::nullopt;
  };
  const auto take = [&out](const nlohmann::json& item) -> std::optional<Error> {
    DefaultParameterConf c;
    c.name = item["ParameterName"].get<std::string>();
    c.value = item["ParameterValue"].get<std::string>();
    if (is_string_member(item, "ParameterDescription")) {
      c.description = item["ParameterDescription"].get<std::string>();
    }
    out.push_back(std::move(c));
    return std::nullopt;
  };
  if (!read_objects(name, "an array of {ParameterName, ParameterValue, ParameterDescription}",
                    {"ParameterName", "ParameterValue", "ParameterDescription"}, shape, take)) {
    return std::nullopt;
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
  for (const auto& [key, value] : body_->items()) {
    if (!read_.contains(key)) {
      return Error{"UnknownParameter", "the parameter " + key + " is not recognized"};
    }
  }
  return {};
}

}  // namespace ferry::server
