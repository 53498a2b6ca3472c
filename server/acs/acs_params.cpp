#include "ferry/server/acs/acs_params.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include "ferry/server/acs/acs_envelope.hpp"

namespace ferry::server {
namespace {

// "12" -> 12; "", "0", "012", "1x" -> nullopt.
std::optional<std::size_t> list_index(std::string_view text) {
  if (text.empty() || text.front() == '0' || text.size() > 9) {
    return std::nullopt;
  }
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return n;
}

std::string ascii_lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

Error acs_missing_parameter(std::string_view name) {
  return Error{acs_codes::kMissingParameter,
               "The input parameter \"" + std::string(name) +
                   "\" that is mandatory for processing this request is not supplied."};
}

Error acs_invalid_parameter(std::string_view name, std::string_view reason) {
  return Error{acs_codes::kInvalidParameter, "The specified parameter \"" + std::string(name) +
                                                 "\" is not valid: " + std::string(reason) + "."};
}

Expected<AcsParams> AcsParams::from_pairs(const AcsParamList& pairs) {
  Map values;
  for (const auto& [name, value] : pairs) {
    const auto [it, inserted] = values.emplace(name, value);
    if (!inserted && it->second != value) {
      return acs_invalid_parameter(name, "it is given twice with different values");
    }
  }
  return AcsParams(std::move(values));
}

bool AcsParams::has(std::string_view name) const {
  return values_.find(name) != values_.end();
}

void AcsParams::erase(std::string_view name) {
  if (const auto it = values_.find(name); it != values_.end()) {
    values_.erase(it);
  }
}

std::optional<std::string> AcsParams::opt_string(std::string_view name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) {
    return std::nullopt;
  }
  return it->second;
}

Expected<std::string> AcsParams::req_string(std::string_view name) const {
  auto value = opt_string(name);
  if (!value || value->empty()) {
    return acs_missing_parameter(name);
  }
  return std::move(*value);
}

Expected<std::optional<int64_t>> AcsParams::opt_int(std::string_view name, int64_t min,
                                                    int64_t max) const {
  const auto text = opt_string(name);
  if (!text) {
    return std::optional<int64_t>{};
  }
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (text->empty() || ec != std::errc() || end != text->data() + text->size()) {
    return acs_invalid_parameter(name, "it must be an integer");
  }
  if (n < min || n > max) {
    return acs_invalid_parameter(
        name, "it must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return std::optional<int64_t>{n};
}

Expected<std::optional<bool>> AcsParams::opt_bool(std::string_view name) const {
  const auto text = opt_string(name);
  if (!text) {
    return std::optional<bool>{};
  }
  const std::string lower = ascii_lowercase(*text);
  if (lower == "true") {
    return std::optional<bool>{true};
  }
  if (lower == "false") {
    return std::optional<bool>{false};
  }
  return acs_invalid_parameter(name, "it must be true or false");
}

Expected<std::size_t> AcsParams::count_indexed(std::string_view name, bool objects,
                                               std::size_t max) const {
  const std::string prefix = std::string(name) + ".";
  std::set<std::size_t> indices;
  for (auto it = values_.lower_bound(prefix); it != values_.end() && it->first.starts_with(prefix);
       ++it) {
    std::string_view rest = std::string_view(it->first).substr(prefix.size());
    const auto dot = rest.find('.');
    if (objects != (dot != std::string_view::npos)) {
      return acs_invalid_parameter(
          it->first, objects ? "expected " + prefix + "N.Field" : "expected " + prefix + "N");
    }
    const auto index = list_index(rest.substr(0, dot));
    if (!index) {
      return acs_invalid_parameter(it->first, "the index must be a number from 1");
    }
    indices.insert(*index);
  }
  if (indices.empty()) {
    return std::size_t{0};
  }
  const std::size_t count = *indices.rbegin();
  if (count > max) {
    return acs_invalid_parameter(prefix + "N", "at most " + std::to_string(max) + " are allowed");
  }
  if (indices.size() != count) {
    return acs_invalid_parameter(prefix + "N", "the indices must run from 1 without a gap");
  }
  return count;
}

Expected<std::vector<std::string>> AcsParams::opt_list(std::string_view name,
                                                       std::size_t max) const {
  auto count = count_indexed(name, false, max);
  if (!count) {
    return count.error();
  }
  std::vector<std::string> out;
  out.reserve(*count);
  for (std::size_t i = 1; i <= *count; ++i) {
    out.push_back(values_.find(std::string(name) + "." + std::to_string(i))->second);
  }
  return out;
}

Expected<std::vector<AcsParams::Object>> AcsParams::opt_objects(
    std::string_view name, const std::vector<std::string>& fields, std::size_t max) const {
  auto count = count_indexed(name, true, max);
  if (!count) {
    return count.error();
  }
  std::vector<Object> out(*count);
  for (std::size_t i = 1; i <= *count; ++i) {
    const std::string prefix = std::string(name) + "." + std::to_string(i) + ".";
    for (const auto& field : fields) {
      if (const auto it = values_.find(prefix + field); it != values_.end()) {
        out[i - 1].emplace(field, it->second);
      }
    }
  }
  return out;
}

Expected<std::optional<nlohmann::json>> AcsParams::opt_json(
    std::string_view name, nlohmann::json::value_t expected) const {
  const auto text = opt_string(name);
  if (!text) {
    return std::optional<nlohmann::json>{};
  }
  auto value = nlohmann::json::parse(*text, nullptr, false);
  if (value.is_discarded()) {
    return acs_invalid_parameter(name, "it is not valid JSON");
  }
  if (value.type() != expected) {
    return acs_invalid_parameter(
        name, std::string("it must be a JSON ") + nlohmann::json(expected).type_name());
  }
  return std::optional<nlohmann::json>{std::move(value)};
}

}  // namespace ferry::server
