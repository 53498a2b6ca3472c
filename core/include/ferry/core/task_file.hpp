// A file a task delivers instead of running a script (Cloud Assistant's SendFile): where it goes,
// its mode, owner and group, and whether it may replace a file already there. Its bytes are the
// task's Content (base64).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/core/error.hpp"

namespace ferry {

struct TaskFile {
  std::string name;        // a file name: is_valid_file_name()
  std::string target_dir;  // an absolute directory: is_valid_target_dir()
  std::string mode = "0644";
  std::string owner = "root";
  std::string group = "root";
  bool overwrite = false;

  friend bool operator==(const TaskFile&, const TaskFile&) = default;
};

inline constexpr std::size_t kMaxFileNameBytes = 255;
inline constexpr std::size_t kMaxTargetDirBytes = 255;
inline constexpr std::size_t kMaxFileAccountBytes = 64;
// SendFile's limit: the content's base64 at most 32 KB.
inline constexpr std::size_t kMaxFileContentBase64 = 32 * 1024;

// 1 to 255 bytes, no '/', no NUL, not "." or "..".
bool is_valid_file_name(std::string_view name);
// An absolute path ('/' first), 1 to 255 bytes, no NUL.
bool is_valid_target_dir(std::string_view dir);
// chmod's numeric form: 1 to 4 octal digits ("644", "0644", "4755"); nullopt otherwise.
std::optional<uint32_t> parse_file_mode(std::string_view mode);
// An owner or group name: 1 to 64 characters of [A-Za-z0-9._-] (and a trailing '$'), not
// starting with '-'.
bool is_valid_file_account(std::string_view name);

// Every rule above, the error naming the field (File.Name, File.TargetDir, File.Mode, File.Owner,
// File.Group) with InvalidParameterValue.
Status validate_task_file(const TaskFile& file);

}  // namespace ferry
