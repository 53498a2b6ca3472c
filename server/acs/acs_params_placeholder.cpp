// PLACEHOLDER until the acs-wire branch lands (see acs_params.hpp).
#include <charconv>
#include <nlohmann/json.hpp>

#include "ferry/core/error_codes.hpp"
#include "ferry/server/acs/acs_params.hpp"

namespace ferry::server {

std::optional<std::string> AcsParams::opt_string(std::string_view name) {
  auto it = values_.find(name);
  if (it == values_.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::string AcsParams::req_string(std::string_view name) {
  auto v = opt_string(name);
  if (!v) {
    fail(Error{codes::kMissingParameter, "The input parameter \"" + std::string(name) +
                                             "\" that is mandatory for processing this request "
                                             "is not supplied."});
    return {};
  }
  return *v;
}

std::optional<int64_t> AcsParams::opt_int(std::string_view name) {
  auto v = opt_string(name);
  if (!v) {
    return std::nullopt;
  }
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || p != v->data() + v->size()) {
    fail(Error{codes::kInvalidParameter, "The parameter " + std::string(name) + " is invalid."});
    return std::nullopt;
  }
  return n;
}

std::optional<bool> AcsParams::opt_bool(std::string_view name) {
  auto v = opt_string(name);
  if (!v) {
    return std::nullopt;
  }
  if (*v == "true") {
    return true;
  }
  if (*v == "false") {
    return false;
  }
  fail(Error{codes::kInvalidParameter, "The parameter " + std::string(name) + " is invalid."});
  return std::nullopt;
}

std::optional<std::vector<std::string>> AcsParams::opt_list(std::string_view name,
                                                            std::size_t /*max*/) {
  std::vector<std::string> out;
  for (int i = 1;; ++i) {
    auto v = opt_string(std::string(name) + "." + std::to_string(i));
    if (!v) {
      break;
    }
    out.push_back(*v);
  }
  if (out.empty()) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::vector<std::map<std::string, std::string>>> AcsParams::opt_objects(
    std::string_view name, std::initializer_list<std::string_view> keys) {
  std::vector<std::map<std::string, std::string>> out;
  for (int i = 1;; ++i) {
    std::map<std::string, std::string> item;
    bool any = false;
    for (auto key : keys) {
      auto v = opt_string(std::string(name) + "." + std::to_string(i) + "." + std::string(key));
      if (v) {
        any = true;
        item[std::string(key)] = *v;
      } else {
        item[std::string(key)] = "";
      }
    }
    if (!any) {
      break;
    }
    out.push_back(std::move(item));
  }
  if (out.empty()) {
    return std::nullopt;
  }
  return out;
}

}  // namespace ferry::server
