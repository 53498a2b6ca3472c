#include "ferry/server/domain/value_rules.hpp"

#include <algorithm>
#include <set>

#include "ferry/core/base64.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/server/cos/bucket_url.hpp"
#include "ferry/server/domain/text.hpp"

namespace ferry::server::domain {
namespace {

bool is_ascii_name_char(unsigned char c) {
  return std::isalnum(c) != 0 || c == '_' || c == '-' || c == '.';
}

// `error` unless `ok`.
Status unless(bool ok, Error error) {
  return ok ? Status{} : Status{std::move(error)};
}

// "" (the user's home), or absolute for SHELL ("/..."), a drive or UNC path otherwise.
bool is_working_directory(std::string_view dir, std::string_view command_type) {
  if (dir.empty()) {
    return true;
  }
  if (dir.size() > kMaxWorkingDirectory || has_control(dir)) {
    return false;
  }
  if (command_type == "SHELL") {
    return dir.front() == '/';
  }
  const bool drive =
      dir.size() >= 2 && std::isalpha(static_cast<unsigned char>(dir[0])) != 0 && dir[1] == ':';
  const bool unc = dir.rfind("\\\\", 0) == 0;
  return drive || unc;
}

bool is_username(std::string_view username) {
  if (username.empty() || username.size() > kMaxUsername || username.front() == '-') {
    return false;
  }
  for (std::size_t i = 0; i < username.size(); ++i) {
    const auto c = static_cast<unsigned char>(username[i]);
    const bool ok = std::isalnum(c) != 0 || c == '.' || c == '_' || c == '-' || c == '\\' ||
                    c == '@' || (c == '$' && i + 1 == username.size());
    if (!ok) {
      return false;
    }
  }
  return true;
}

// "" (none), or at most 60 visible characters, no leading '/', no "//", no ".." segment.
bool is_key_prefix(std::string_view prefix) {
  if (prefix.empty()) {
    return true;
  }
  if (utf8_length(prefix) > kMaxCosKeyPrefix || prefix.front() == '/' ||
      prefix.find("//") != std::string_view::npos || has_control(prefix) ||
      prefix.find(' ') != std::string_view::npos) {
    return false;
  }
  for (std::size_t start = 0; start <= prefix.size();) {
    const auto end = std::min(prefix.find('/', start), prefix.size());
    if (prefix.substr(start, end - start) == "..") {
      return false;
    }
    start = end + 1;
  }
  return true;
}

}  // namespace

Status validate_command_name(std::string_view name, bool allow_non_ascii) {
  const bool ok = !name.empty() && name.size() <= kMaxCommandName &&
                  std::all_of(name.begin(), name.end(), [allow_non_ascii](char ch) {
                    const auto c = static_cast<unsigned char>(ch);
                    return is_ascii_name_char(c) || (allow_non_ascii && c >= 0x80);
                  });
  return unless(ok, Error{"InvalidParameterValue.InvalidCommandName",
                          "CommandName: 1 to 60 bytes of letters, digits, '_', '-' and '.'"});
}

Status validate_description(std::string_view description) {
  if (utf8_length(description) > kMaxDescription) {
    return Error{codes::kTooLong, "Description: at most 120 characters"};
  }
  return {};
}

Status validate_content(std::string_view content_base64) {
  if (content_base64.size() > kMaxContentBase64) {
    return Error{codes::kTooLong, "Content: at most 64 KB of base64"};
  }
  auto decoded = base64_decode(content_base64);
  if (!decoded) {
    return Error{codes::kCommandContentInvalid, "Content: " + decoded.error().message};
  }
  if (decoded->empty()) {
    return Error{codes::kCommandContentInvalid, "Content: the command is empty"};
  }
  return {};
}

Status validate_command_type(std::string_view type) {
  if (type == "SHELL" || type == "POWERSHELL" || type == "BAT") {
    return {};
  }
  return Error{codes::kInvalidParameterValue,
               "CommandType: must be SHELL, POWERSHELL or BAT, not " + std::string(type)};
}

Status validate_working_directory(std::string_view dir, std::string_view command_type) {
  return unless(is_working_directory(dir, command_type),
                Error{codes::kInvalidWorkingDirectory,
                      "WorkingDirectory: " +
                          std::string(command_type == "SHELL" ? "an absolute path such as /root"
                                                              : "a path such as C:\\Windows") +
                          ", at most 512 characters, without control characters"});
}

Status validate_timeout(int64_t timeout) {
  if (timeout < 1 || timeout > 86400) {
    return Error{codes::kRange, "Timeout: must be in [1, 86400], not " + std::to_string(timeout)};
  }
  return {};
}

Status validate_username(std::string_view username) {
  return unless(is_username(username),
                Error{codes::kInvalidUsername,
                      "Username: 1 to 256 characters of letters, digits, '.', '_', '-', '\\', "
                      "'@'"});
}

Status validate_cos_bucket_url(std::string_view url,
                               const std::vector<std::string>& allow_http_hosts) {
  // One rule for the URL: the parser the uploads use.
  auto bucket = cos::parse_bucket_url(url, allow_http_hosts);
  if (!bucket) {
    return bucket.error();
  }
  return {};
}

Status validate_cos_key_prefix(std::string_view prefix) {
  return unless(is_key_prefix(prefix),
                Error{"InvalidParameterValue.InvalidOutputCOSKeyPrefix",
                      "OutputCOSKeyPrefix: at most 60 visible characters, no leading '/', no "
                      "'//', no '..' folder"});
}

Status validate_tags(const std::vector<Tag>& tags, std::size_t max) {
  if (tags.size() > max) {
    return Error{codes::kLimitExceeded, "Tags: at most " + std::to_string(max) + " tags"};
  }
  std::set<std::string> keys;
  for (const auto& t : tags) {
    if (t.key.empty() || utf8_length(t.key) > 128 || utf8_length(t.value) > 256 ||
        has_control(t.key) || has_control(t.value)) {
      return Error{codes::kInvalidParameterValue,
                   "Tags: keys of 1 to 128 and values of at most 256 visible characters"};
    }
    if (!keys.insert(t.key).second) {
      return Error{codes::kInvalidParameterValue, "Tags: the key " + t.key + " appears twice"};
    }
  }
  return {};
}

Status validate_instance_ids(const std::vector<std::string>& ids, std::size_t max) {
  if (ids.size() > max) {
    return Error{codes::kLimitExceeded,
                 "InstanceIds: at most " + std::to_string(max) + " instances"};
  }
  std::set<std::string> seen;
  for (const auto& id : ids) {
    const bool well_formed =
        id.size() >= 5 && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
          return std::isalnum(c) != 0 || c == '-' || c == '_';
        });
    if (!well_formed) {
      return Error{"InvalidParameterValue.InvalidInstanceId",
                   "InstanceIds: '" + id.substr(0, 64) + "' is not an instance id"};
    }
    if (!seen.insert(id).second) {
      return Error{"InvalidParameterValue.InvalidInstanceId",
                   "InstanceIds: " + id + " appears twice"};
    }
  }
  return {};
}

Status validate_command_id(const std::string& id) {
  const bool ok = id.size() == 12 && id.rfind("cmd-", 0) == 0 &&
                  std::all_of(id.begin() + 4, id.end(), [](unsigned char c) {
                    return std::islower(c) != 0 || std::isdigit(c) != 0;
                  });
  if (!ok) {
    return Error{"InvalidParameterValue.InvalidCommandId",
                 "CommandId: '" + id.substr(0, 64) + "' is not a command id (cmd-xxxxxxxx)"};
  }
  return {};
}

Status validate_ids(const std::vector<std::string>& ids, std::string_view prefix, const char* code,
                    std::string_view field) {
  const auto is_id = [prefix](const std::string& id) {
    return id.size() == prefix.size() + 8 && id.rfind(prefix, 0) == 0 &&
           std::all_of(
               id.begin() + static_cast<std::ptrdiff_t>(prefix.size()), id.end(),
               [](unsigned char c) { return std::islower(c) != 0 || std::isdigit(c) != 0; });
  };
  for (const auto& id : ids) {
    if (!is_id(id)) {
      return Error{code, std::string(field) + ": '" + id.substr(0, 64) +
                             "' is not an id of the form " + std::string(prefix) + "xxxxxxxx"};
    }
  }
  return {};
}

Status validate_id_count(const std::vector<std::string>& ids, std::string_view field) {
  if (ids.size() > kMaxIds) {
    return Error{codes::kLimitExceeded, std::string(field) + ": at most 100 ids"};
  }
  return {};
}

Error invalid_value(std::string_view field, std::string_view what) {
  return Error{codes::kInvalidParameterValue, std::string(field) + ": " + std::string(what)};
}

Status validate_text(std::string_view field, std::string_view value, std::size_t max) {
  if (utf8_length(value) > max) {
    return Error{codes::kTooLong,
                 std::string(field) + ": at most " + std::to_string(max) + " characters"};
  }
  if (has_control(value)) {
    return Error{codes::kInvalidParameterValue,
                 std::string(field) + ": control characters are not allowed"};
  }
  return {};
}

}  // namespace ferry::server::domain
