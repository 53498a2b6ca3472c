// File system operations with the modes and durability Ferry's state needs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/core/error.hpp"

namespace ferry::platform {

struct Owner {
  uint32_t uid;
  uint32_t gid;
};

// Creates `dir` (not its parents) if missing and sets its mode (and owner when given); refuses
// a symlink or non-directory in its place.
Status ensure_directory(const std::filesystem::path& dir, uint32_t mode,
                        std::optional<Owner> owner = std::nullopt);

// Creates parents as needed with `mode`, then ensure_directory() on the last component.
Status ensure_directories(const std::filesystem::path& dir, uint32_t mode);

// Writes a new file (refusing to follow a symlink or to replace an existing file), with `mode`
// and owner set before any byte is written.
Status write_new_file(const std::filesystem::path& path, std::string_view data, uint32_t mode,
                      std::optional<Owner> owner = std::nullopt);

enum class Durability {
  kSynced,      // fsync the file and the directory: the new content survives a crash
  kAtomicOnly,  // no fsync: readers see old or new, but a crash may keep the old content
};

// Replaces `path` atomically: temp file in the same directory, rename; with kSynced (the
// default) also fsync of the file before and of the directory after the rename.
Status write_file_atomic(const std::filesystem::path& path, std::string_view data,
                         uint32_t mode = 0600, Durability durability = Durability::kSynced);

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

}  // namespace ferry::platform
