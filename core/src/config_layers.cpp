#include "ferry/core/config_layers.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <system_error>

#include "ferry/core/error_codes.hpp"

namespace ferry::config {
namespace {

std::string_view trim_list_item(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && blank(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && blank(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

Expected<nlohmann::json> json_from_layer_text(std::string_view text, std::string_view expected) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return Error{codes::kInvalidParameterValue,
                 "must be " + std::string(expected) + " (not valid JSON)"};
  }
  return j;
}

}  // namespace

EnvironmentLookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    return value == nullptr ? std::nullopt : std::optional<std::string>(value);
  };
}

std::string environment_variable(std::string_view key) {
  std::string name = "FERRY_";
  for (const char c : key) {
    name.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return name;
}

std::string flag_name(std::string_view key) {
  std::string flag = "--";
  for (const char c : key) {
    flag.push_back(c == '_' ? '-' : c);
  }
  return flag;
}

Expected<nlohmann::json> value_from_text(ValueKind kind, std::string_view text) {
  switch (kind) {
    case ValueKind::kString:
      return nlohmann::json(std::string(text));
    case ValueKind::kInteger:
    case ValueKind::kNumber:
    case ValueKind::kBoolean: {
      auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (j.is_number() || j.is_boolean()) {
        return j;
      }
      return nlohmann::json(std::string(text));
    }
    case ValueKind::kList: {
      if (trim_list_item(text).starts_with('[')) {
        return json_from_layer_text(text, "a JSON array or comma-separated values");
      }
      auto list = nlohmann::json::array();
      while (!text.empty()) {
        const auto comma = text.find(',');
        const auto item = trim_list_item(text.substr(0, comma));
        if (!item.empty()) {
          list.push_back(std::string(item));
        }
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
      }
      return list;
    }
    case ValueKind::kJson:
      return json_from_layer_text(text, "JSON");
  }
  return Error{codes::kInternalError, "unknown value kind"};
}

std::optional<std::filesystem::path> choose_config_file(
    const std::optional<std::filesystem::path>& given, const std::filesystem::path& default_file) {
  if (given) {
    return given;
  }
  std::error_code ec;
  if (!default_file.empty() && std::filesystem::exists(default_file, ec)) {
    return default_file;
  }
  return std::nullopt;
}

Expected<std::string> read_secret_file(const std::filesystem::path& file, std::string_view what) {
  constexpr std::size_t kMaxSecretBytes = 4096;
  const auto fail = [&](std::string_view why) -> Error {
    return Error{codes::kInvalidParameterValue,
                 file.string() + ": " + std::string(why) + " (" + std::string(what) + ")"};
  };
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return fail("cannot be read");
  }
  std::string text;
  text.resize(kMaxSecretBytes + 3);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (in.bad()) {
    return fail("cannot be read");
  }
  if (text.ends_with("\r\n")) {
    text.resize(text.size() - 2);
  } else if (text.ends_with('\n')) {
    text.pop_back();
  }
  if (text.empty()) {
    return fail("is empty");
  }
  if (text.size() > kMaxSecretBytes) {
    return fail("holds more than 4096 bytes");
  }
  if (std::any_of(text.begin(), text.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return fail("holds a control character or more than one line");
  }
  return text;
}

}  // namespace ferry::config
