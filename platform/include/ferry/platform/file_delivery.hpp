// Writing a delivered file (Cloud Assistant's SendFile) the way a package manager installs one:
// a temp file in the target directory, synced, its owner, group and mode set, then renamed over
// the final name, so that readers see the old file or the whole new one.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "ferry/core/error.hpp"

namespace ferry::platform {

struct FileDelivery {
  std::filesystem::path target_dir;  // absolute; created with its parents (0755) when missing
  std::string name;                  // a file name, no '/'
  uint32_t mode = 0644;              // chmod's bits, set exactly (no umask)
  std::string owner = "root";
  std::string group = "root";
  bool overwrite = false;  // replace a regular file already there
  std::chrono::milliseconds timeout{60000};
};

// The codes deliver_file's errors carry, in Cloud Assistant's words where it has one.
namespace file_delivery_codes {
inline constexpr const char* kFileAlreadyExists = "FileAlreadyExists";
inline constexpr const char* kAccountNotExists = "AccountNotExists";
inline constexpr const char* kTimeout = "ExecutionTimeout";
inline constexpr const char* kFailed = "FileDeliveryFailed";
}  // namespace file_delivery_codes

// Writes `content` as target_dir/name. The owner and group are looked up by name first
// (AccountNotExists naming which one is unknown). A file already there is refused unless
// `overwrite` (FileAlreadyExists); whatever is there that is not a regular file (a symlink, a
// directory) is never replaced nor followed. The work runs in a child process that is killed
// at `timeout` (ExecutionTimeout), so a hung file system cannot hold the caller; call it from a
// single-threaded process (the task supervisor). Other failures: FileDeliveryFailed with the
// path and the system's reason. The content is never part of a message.
Status deliver_file(const FileDelivery& delivery, std::string_view content);

}  // namespace ferry::platform
