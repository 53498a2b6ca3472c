#include "ferry/core/task_file.hpp"

#include <algorithm>

#include "ferry/core/error_codes.hpp"

namespace ferry {
namespace {

bool is_account_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

Error file_field_error(std::string_view field, std::string_view what) {
  return Error{codes::kInvalidParameterValue,
               "File." + std::string(field) + ": " + std::string(what)};
}

}  // namespace

bool is_valid_file_name(std::string_view name) {
  return !name.empty() && name.size() <= kMaxFileNameBytes && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

bool is_valid_target_dir(std::string_view dir) {
  return !dir.empty() && dir.size() <= kMaxTargetDirBytes && dir.front() == '/' &&
         dir.find('\0') == std::string_view::npos;
}

std::optional<uint32_t> parse_file_mode(std::string_view mode) {
  if (mode.empty() || mode.size() > 4) {
    return std::nullopt;
  }
  uint32_t value = 0;
  for (const char c : mode) {
    if (c < '0' || c > '7') {
      return std::nullopt;
    }
    value = value * 8 + static_cast<uint32_t>(c - '0');
  }
  return value;
}

bool is_valid_file_account(std::string_view name) {
  if (name.empty() || name.size() > kMaxFileAccountBytes || name.front() == '-') {
    return false;
  }
  if (name.back() == '$') {
    name.remove_suffix(1);
  }
  return !name.empty() && std::all_of(name.begin(), name.end(), is_account_char);
}

Status validate_task_file(const TaskFile& f) {
  if (!is_valid_file_name(f.name)) {
    return file_field_error("Name", "must be 1 to 255 bytes without '/' or NUL, not . or ..");
  }
  if (!is_valid_target_dir(f.target_dir)) {
    return file_field_error("TargetDir", "must be an absolute path of at most 255 bytes");
  }
  if (!parse_file_mode(f.mode)) {
    return file_field_error("Mode", "must be 1 to 4 octal digits, such as 0644");
  }
  if (!is_valid_file_account(f.owner)) {
    return file_field_error("Owner", "must be 1 to 64 characters of [A-Za-z0-9._-]");
  }
  if (!is_valid_file_account(f.group)) {
    return file_field_error("Group", "must be 1 to 64 characters of [A-Za-z0-9._-]");
  }
  return {};
}

}  // namespace ferry
