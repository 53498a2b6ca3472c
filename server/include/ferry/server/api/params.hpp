// Reads an action's request object field by field. The first problem sticks (MissingParameter,
// InvalidParameter for a wrong type) and finish() also refuses fields nobody read
// (UnknownParameter), so a typo in a request never passes silently. The TAT API and the agent
// protocol carry their parameters as this JSON object.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/server/model.hpp"

namespace ferry::server {

struct Filter {
  std::string name;
  std::vector<std::string> values;
};

class Params {
 public:
  explicit Params(nlohmann::json body);
  ~Params();
  Params(const Params&) = delete;
  Params& operator=(const Params&) = delete;

  // A JSON null counts as absent.
  std::optional<std::string> opt_string(std::string_view name);
  std::string req_string(std::string_view name);  // MissingParameter when absent
  std::optional<int64_t> opt_int(std::string_view name);
  std::optional<bool> opt_bool(std::string_view name);
  std::optional<std::vector<std::string>> opt_string_list(std::string_view name);
  std::vector<std::string> req_string_list(std::string_view name);  // absent or empty: Missing
  std::optional<std::vector<Filter>> opt_filters(std::string_view name = "Filters");
  std::optional<std::vector<Tag>> opt_tags(std::string_view name);
  std::optional<std::vector<DefaultParameterConf>> opt_parameter_confs(std::string_view name);
  // Any JSON value (nested objects such as ScheduleSettings); the caller checks its shape.
  std::optional<nlohmann::json> opt_json(std::string_view name);

  [[nodiscard]] bool has(std::string_view name) const;
  // Records an error unless one is already recorded.
  void fail(Error error);
  [[nodiscard]] bool ok() const { return !error_.has_value(); }
  // The first error, or UnknownParameter naming a field that was never read.
  [[nodiscard]] Status finish() const;

 private:
  // Checks one item of an array of objects: nullopt when it is fine, an Error without a code
  // when its shape is wrong (the array's `what` then says what it must be), else the Error.
  using ItemCheck = std::function<std::optional<Error>(const nlohmann::json& item)>;
  const nlohmann::json* field(std::string_view name);
  // The field when present and of the type `is_type` checks; a type error otherwise.
  const nlohmann::json* typed_field(std::string_view name,
                                    bool (nlohmann::json::*is_type)() const noexcept,
                                    std::string_view expected);
  void type_error(std::string_view name, std::string_view expected);
  // The array `name` of objects: each item passes `shape`, names no other keys than `keys`
  // (UnknownParameter) and is handed to `take`, which may still refuse it. False when absent
  // or refused (the error recorded).
  bool read_objects(std::string_view name, std::string_view what,
                    std::initializer_list<std::string_view> keys, const ItemCheck& shape,
                    const ItemCheck& take);

  std::unique_ptr<nlohmann::json> body_;
  std::set<std::string, std::less<>> read_;
  std::optional<Error> error_;
};

}  // namespace ferry::server
