// PLACEHOLDER until the acs-wire branch lands: the minimal reader the actions are written
// against. Replaced by the wire's AcsParams at merge.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/server/api/action_registry.hpp"

namespace ferry::server {

class AcsParams {
 public:
  explicit AcsParams(const std::map<std::string, std::string>& values)
      : values_(values.begin(), values.end()) {}
  std::optional<std::string> opt_string(std::string_view name);
  std::string req_string(std::string_view name);
  std::optional<int64_t> opt_int(std::string_view name);
  std::optional<bool> opt_bool(std::string_view name);
  std::optional<std::vector<std::string>> opt_list(std::string_view name, std::size_t max = 1000);
  std::optional<std::vector<std::map<std::string, std::string>>> opt_objects(
      std::string_view name, std::initializer_list<std::string_view> keys);
  void fail(Error error) {
    if (!error_) {
      error_ = std::move(error);
    }
  }
  [[nodiscard]] bool ok() const { return !error_.has_value(); }
  [[nodiscard]] Status finish() const {
    if (error_) {
      return *error_;
    }
    return {};
  }

 private:
  std::map<std::string, std::string, std::less<>> values_;
  std::optional<Error> error_;
};

using AcsActionHandler = std::function<Expected<nlohmann::json>(const ApiCall&, AcsParams&)>;
struct AcsActionSpec {
  AcsActionHandler handler;
};
class AcsActionRegistry {
 public:
  void add(const std::string& name, AcsActionSpec spec) { actions_[name] = std::move(spec); }
  [[nodiscard]] const AcsActionSpec* find(std::string_view name) const {
    auto it = actions_.find(name);
    return it == actions_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, AcsActionSpec, std::less<>> actions_;
};

}  // namespace ferry::server
