// File system operations with the access and durability Ferry's state needs. Access is said as
// what it is for; each OS maps it onto its own permissions (the POSIX modes are in the comments).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/core/error.hpp"
#include "ferry/platform/users.hpp"

namespace ferry::platform {

enum class DirectoryAccess {
  kPrivate,      // its owner only (0700)
  kTraversable,  // its owner; others may pass through to a name they know, not list it (0711)
};

enum class FileAccess {
  kPrivate,   // read and written by its owner only (0600)
  kReadOnly,  // read by its owner only, written by no one (0400)
};

// Creates `dir` (not its parents) if missing and sets its access (and owner when given);
// refuses a symlink or non-directory in its place.
Status ensure_directory(const std::filesystem::path& dir, DirectoryAccess access,
                        const std::optional<Account>& owner = std::nullopt);

// Creates parents as needed with `access`, then ensure_directory() on the last component.
Status ensure_directories(const std::filesystem::path& dir, DirectoryAccess access);

// Writes a new file (refusing to follow a symlink or to replace an existing file), with its
// access and owner set before any byte is written.
Status write_new_file(const std::filesystem::path& path, std::string_view data, FileAccess access,
                      const std::optional<Account>& owner = std::nullopt);

enum class Durability {
  kSynced,      // sync the file and the directory: the new content survives a crash
  kAtomicOnly,  // no sync: readers see old or new, but a crash may keep the old content
};

// Replaces `path` atomically: temp file in the same directory, rename; with kSynced (the
// default) also a sync of the file before and of the directory after the rename.
Status write_file_atomic(const std::filesystem::path& path, std::string_view data,
                         FileAccess access = FileAccess::kPrivate,
                         Durability durability = Durability::kSynced);

// Allocates `bytes` of disk space to the existing file `path` without changing its size, so
// that overwrite_in_place() of up to that many bytes cannot fail for lack of space later.
Status reserve_space(const std::filesystem::path& path, uint64_t bytes);

// The fallback when write_file_atomic() cannot get space (disk full): `data` written over the
// existing file's blocks (see reserve_space), truncated to its length and synced. Not atomic:
// a crash in the middle leaves a torn file, which readers must treat as unreadable.
Status overwrite_in_place(const std::filesystem::path& path, std::string_view data);

// Reads a whole file of at most `max_bytes` (an error if larger).
Expected<std::string> read_file(const std::filesystem::path& path, std::size_t max_bytes);

// Reads `length` bytes at `offset` (fewer at end of file).
Expected<std::string> read_file_range(const std::filesystem::path& path, uint64_t offset,
                                      std::size_t length);

// Removes a directory tree; missing is not an error.
Status remove_tree(const std::filesystem::path& path);

// The absolute path of `program` found on `search_path` (":"-separated) as an executable
// regular file, or an error naming the program. A program containing '/' is checked as is.
Expected<std::string> find_program(std::string_view program, std::string_view search_path);

// The path of the running executable.
Expected<std::filesystem::path> current_executable();

// What Ferry checks of a file before it trusts it with a secret or runs it with its own rights.
struct FileFacts {
  bool regular_file = false;
  bool executable = false;          // this process may run it
  bool private_to_owner = false;    // no other account may read or write it (no group/other bits)
  bool writable_by_others = false;  // an account other than its owner may write it
  Account owner;
};
enum class FollowLinks { kNo, kYes };
// Errors: "<path>: <reason>" (InternalError), e.g. when it does not exist.
Expected<FileFacts> inspect_file(const std::filesystem::path& path, FollowLinks follow);

// An open file, closed when the handle goes.
class OpenFile {
 public:
  OpenFile() = default;
  explicit OpenFile(std::intptr_t native) : native_(native) {}
  OpenFile(OpenFile&& other) noexcept;
  OpenFile& operator=(OpenFile&& other) noexcept;
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  ~OpenFile();

  // What the OS names it by (a file descriptor on POSIX), for platform/ implementations.
  [[nodiscard]] std::intptr_t native() const { return native_; }

 private:
  std::intptr_t native_ = -1;
};

// Creates `path` for writing, which must not exist yet (a symlink in its place is not followed).
// Errors: "<what>: <reason>" (InternalError).
Expected<OpenFile> create_file(const std::filesystem::path& path, FileAccess access,
                               std::string_view what);

// Opens `path` for appending, created with `access` when missing (a symlink in its place is not
// followed): every write goes at the end of the file, even with other writers. An existing file
// is given `access` too. Errors: "<what>: <reason>" (InternalError).
Expected<OpenFile> open_append_file(const std::filesystem::path& path, FileAccess access,
                                    std::string_view what);
// Writes all of `data` to `file` (at its end for an append file). Errors name `what`.
Status write_to(const OpenFile& file, std::string_view data, std::string_view what);
// The size of an open file in bytes.
Expected<std::uint64_t> file_size(const OpenFile& file, std::string_view what);

}  // namespace ferry::platform
