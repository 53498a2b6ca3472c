#include "ferry/platform/fs.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <limits>
#include <string>
#include <system_error>
#include <vector>

#include "account_native.hpp"
#include "ferry/core/error_codes.hpp"
#include "unique_fd.hpp"

namespace ferry::platform {
namespace {

namespace stdfs = std::filesystem;

Error io_error(std::string_view what, const stdfs::path& path, int err) {
  return errno_error(codes::kInternalError, std::string(what) + " " + path.string(), err);
}

// "dir/" would make O_NOFOLLOW follow a symlink named dir (the trailing slash resolves it).
stdfs::path without_trailing_slash(const stdfs::path& p) {
  if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) {
    return p.parent_path();
  }
  return p;
}

Status write_all(int fd, std::string_view data, const stdfs::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return io_error("writing", path, errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Status fsync_directory(const stdfs::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    return io_error("opening directory", dir, errno);
  }
  if (::fsync(fd.get()) != 0) {
    return io_error("syncing directory", dir, errno);
  }
  return {};
}

mode_t mode_of(DirectoryAccess access) {
  return access == DirectoryAccess::kTraversable ? 0711 : 0700;
}

mode_t mode_of(FileAccess access) {
  return access == FileAccess::kReadOnly ? 0400 : 0600;
}

// chown first: it may clear set-id bits that the chmod then sets as asked.
Status set_owner_and_mode(int fd, const std::optional<Account>& owner, mode_t mode,
                          const stdfs::path& path) {
  if (owner && owner->native() != nullptr &&
      ::fchown(fd, owner->native()->uid, owner->native()->gid) != 0) {
    return io_error("changing owner of", path, errno);
  }
  if (::fchmod(fd, mode) != 0) {
    return io_error("changing mode of", path, errno);
  }
  return {};
}

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

Status ensure_directory(const stdfs::path& dir_in, DirectoryAccess access,
                        const std::optional<Account>& owner) {
  const stdfs::path dir = without_trailing_slash(dir_in);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return io_error("creating directory", dir, errno);
  }
  // Mode and owner are set through the descriptor so that a symlink swapped in after mkdir
  // can never redirect the chmod/chown elsewhere.
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ELOOP || errno == ENOTDIR) {
      return Error{codes::kInternalError, dir.string() + " is a symlink or not a directory"};
    }
    return io_error("opening directory", dir, errno);
  }
  return set_owner_and_mode(fd.get(), owner, mode_of(access), dir);
}

Status ensure_directories(const stdfs::path& dir_in, DirectoryAccess access) {
  const stdfs::path dir = without_trailing_slash(dir_in);
  stdfs::path prefix;
  const stdfs::path parent = dir.parent_path();
  for (const auto& part : parent) {
    prefix /= part;
    if (part.empty() || part == prefix.root_path() || part == "." || part == "..") {
      continue;
    }
    if (::mkdir(prefix.c_str(), 0700) == 0) {
      // Created by us: give it the requested mode, independent of the umask.
      if (::chmod(prefix.c_str(), mode_of(access)) != 0) {
        return io_error("changing mode of", prefix, errno);
      }
    } else if (errno != EEXIST) {
      return io_error("creating directory", prefix, errno);
    }
  }
  return ensure_directory(dir, access);
}

Status write_new_file(const stdfs::path& path, std::string_view data, FileAccess access,
                      const std::optional<Account>& owner) {
  // O_EXCL refuses any existing entry, a symlink included (it is not followed).
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     S_IRUSR | S_IWUSR));
  if (!fd.valid()) {
    return io_error("creating", path, errno);
  }
  auto fail = [&](Error e) -> Status {
    ::unlink(path.c_str());
    return e;
  };
  if (auto st = set_owner_and_mode(fd.get(), owner, mode_of(access), path); !st) {
    return fail(st.error());
  }
  if (auto st = write_all(fd.get(), data, path); !st) {
    return fail(st.error());
  }
  if (::close(fd.release()) != 0) {
    return fail(io_error("closing", path, errno));
  }
  return {};
}

Status write_file_atomic(const stdfs::path& path, std::string_view data, FileAccess access,
                         Durability durability) {
  const stdfs::path dir = path.has_parent_path() ? path.parent_path() : stdfs::path(".");
  // Appended piecewise: "." + string trips GCC 12's false -Wrestrict at -O2 (PR 105329).
  std::string name = ".";
  name += path.filename().string();
  name += ".tmp-XXXXXX";
  std::string temp = (dir / name).string();
  UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (!fd.valid()) {
    return io_error("creating temporary file in", dir, errno);
  }
  auto fail = [&](Error e) -> Status {
    ::unlink(temp.c_str());
    return e;
  };
  if (auto st = set_owner_and_mode(fd.get(), std::nullopt, mode_of(access), temp); !st) {
    return fail(st.error());
  }
  if (auto st = write_all(fd.get(), data, temp); !st) {
    return fail(st.error());
  }
  if (durability == Durability::kSynced && ::fsync(fd.get()) != 0) {
    return fail(io_error("syncing", temp, errno));
  }
  if (::close(fd.release()) != 0) {
    return fail(io_error("closing", temp, errno));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return fail(io_error("renaming temporary file to", path, errno));
  }
  // Without this the rename itself may be lost in a crash, leaving the old content.
  return durability == Durability::kSynced ? fsync_directory(dir) : Status{};
}

Status reserve_space(const stdfs::path& path, uint64_t bytes) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    return io_error("opening", path, errno);
  }
  if (bytes > static_cast<uint64_t>(std::numeric_limits<off_t>::max()) ||
      ::fallocate(fd.get(), FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(bytes)) != 0) {
    return io_error("reserving space for", path, errno);
  }
  return {};
}

Status overwrite_in_place(const stdfs::path& path, std::string_view data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    return io_error("opening", path, errno);
  }
  if (auto st = write_all(fd.get(), data, path); !st) {
    return st;
  }
  if (::ftruncate(fd.get(), static_cast<off_t>(data.size())) != 0) {
    return io_error("truncating", path, errno);
  }
  if (::fsync(fd.get()) != 0) {
    return io_error("syncing", path, errno);
  }
  return {};
}

Expected<std::string> read_file(const stdfs::path& path, std::size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return io_error("opening", path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return io_error("inspecting", path, errno);
  }
  auto too_large = [&] {
    return Error{codes::kLimitExceeded,
                 path.string() + " is larger than " + std::to_string(max_bytes) + " bytes"};
  };
  if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > max_bytes) {
    return too_large();
  }
  std::string content;
  // Files in /proc report size 0, so the loop reads to EOF rather than trusting st_size; one
  // byte past the limit tells "exactly max_bytes" from "larger".
  constexpr std::size_t kChunk = 64 * 1024;
  for (;;) {
    const std::size_t old_size = content.size();
    const std::size_t want = std::min(kChunk, max_bytes + 1 - old_size);
    content.resize(old_size + want);
    const ssize_t n = ::read(fd.get(), content.data() + old_size, want);
    if (n < 0) {
      if (errno == EINTR) {
        content.resize(old_size);
        continue;
      }
      return io_error("reading", path, errno);
    }
    content.resize(old_size + static_cast<std::size_t>(n));
    if (content.size() > max_bytes) {
      return too_large();
    }
    if (n == 0) {
      return content;
    }
  }
}

Expected<std::string> read_file_range(const stdfs::path& path, uint64_t offset,
                                      std::size_t length) {
  if (offset > static_cast<uint64_t>(std::numeric_limits<off_t>::max())) {
    return io_error("reading", path, EINVAL);
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return io_error("opening", path, errno);
  }
  std::string content;
  // Grown as bytes arrive rather than sized to `length` up front, so a huge length on a small
  // file costs nothing.
  constexpr std::size_t kChunk = 64 * 1024;
  while (content.size() < length) {
    const std::size_t old_size = content.size();
    const std::size_t want = std::min(kChunk, length - old_size);
    content.resize(old_size + want);
    const ssize_t n =
        ::pread(fd.get(), content.data() + old_size, want, static_cast<off_t>(offset + old_size));
    if (n < 0) {
      content.resize(old_size);
      if (errno == EINTR) {
        continue;
      }
      return io_error("reading", path, errno);
    }
    content.resize(old_size + static_cast<std::size_t>(n));
    if (n == 0) {
      break;
    }
  }
  return content;
}

Status remove_tree(const stdfs::path& path) {
  // remove_all does not follow symlinks: a link inside the tree is removed, not its target.
  std::error_code ec;
  stdfs::remove_all(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return io_error("removing", path, ec.value());
  }
  return {};
}

Expected<std::string> find_program(std::string_view program, std::string_view search_path) {
  const std::string name(program);
  auto not_found = [&] { return Error{codes::kInternalError, "program '" + name + "' not found"}; };
  if (name.empty()) {
    return not_found();
  }
  if (name.find('/') != std::string::npos) {
    if (!is_executable_file(name)) {
      return Error{codes::kInternalError, "'" + name + "' is not an executable file"};
    }
    std::error_code ec;
    auto absolute = stdfs::absolute(name, ec);
    return ec ? name : absolute.string();
  }
  // Empty and relative entries are skipped: they mean the current directory, and a root
  // process should never run whatever happens to sit in its working directory.
  while (true) {
    const auto colon = search_path.find(':');
    const std::string_view dir = search_path.substr(0, colon);
    if (!dir.empty() && dir.front() == '/') {
      std::string candidate(dir);
      if (candidate.back() != '/') {
        candidate += '/';
      }
      candidate += name;
      if (is_executable_file(candidate)) {
        return candidate;
      }
    }
    if (colon == std::string_view::npos) {
      break;
    }
    search_path.remove_prefix(colon + 1);
  }
  return not_found();
}

Expected<stdfs::path> current_executable() {
  std::vector<char> buffer(PATH_MAX);
  for (;;) {
    const ssize_t n = ::readlink("/proc/self/exe", buffer.data(), buffer.size());
    if (n < 0) {
      return io_error("reading", "/proc/self/exe", errno);
    }
    if (static_cast<std::size_t>(n) < buffer.size()) {
      std::string path(buffer.data(), static_cast<std::size_t>(n));
      // After an upgrade replaced the binary, the kernel appends this; the path itself then
      // names the new binary, which is the one a re-exec wants.
      constexpr std::string_view kDeleted = " (deleted)";
      if (path.ends_with(kDeleted)) {
        path.resize(path.size() - kDeleted.size());
      }
      return stdfs::path(path);
    }
    buffer.resize(buffer.size() * 2);
  }
}

Expected<FileFacts> inspect_file(const stdfs::path& path, FollowLinks follow) {
  struct stat st {};
  const int rc =
      follow == FollowLinks::kYes ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
  if (rc != 0) {
    return errno_error(codes::kInternalError, path.string(), errno);
  }
  return FileFacts{
      .regular_file = S_ISREG(st.st_mode),
      .executable = ::access(path.c_str(), X_OK) == 0,
      .private_to_owner = (st.st_mode & 077) == 0,
      .writable_by_others = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0,
      .owner = make_account(st.st_uid, st.st_gid),
  };
}

OpenFile::OpenFile(OpenFile&& other) noexcept : native_(std::exchange(other.native_, -1)) {}

OpenFile& OpenFile::operator=(OpenFile&& other) noexcept {
  if (this != &other) {
    UniqueFd old(static_cast<int>(std::exchange(native_, std::exchange(other.native_, -1))));
  }
  return *this;
}

OpenFile::~OpenFile() {
  UniqueFd closing(static_cast<int>(native_));
}

Expected<OpenFile> create_file(const stdfs::path& path, FileAccess access, std::string_view what) {
  // The mode goes through the umask here, as a plain open(2) does.
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_of(access));
  if (fd < 0) {
    return errno_error(codes::kInternalError, what, errno);
  }
  return OpenFile(fd);
}

Expected<OpenFile> open_append_file(const stdfs::path& path, FileAccess access,
                                    std::string_view what) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode_of(access));
  if (fd < 0) {
    return errno_error(codes::kInternalError, what, errno);
  }
  UniqueFd file(fd);
  // A file made earlier (or by someone else) gets the access asked for, whatever its mode was.
  if (::fchmod(fd, mode_of(access)) != 0) {
    return errno_error(codes::kInternalError, what, errno);
  }
  return OpenFile(file.release());
}

Status write_to(const OpenFile& file, std::string_view data, std::string_view what) {
  return write_all(static_cast<int>(file.native()), data, stdfs::path(std::string(what)));
}

Expected<std::uint64_t> file_size(const OpenFile& file, std::string_view what) {
  struct stat st {};
  if (::fstat(static_cast<int>(file.native()), &st) != 0) {
    return errno_error(codes::kInternalError, what, errno);
  }
  return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace ferry::platform
