#include "ferry/platform/file_delivery.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "account_native.hpp"
#include "ferry/platform/users.hpp"
#include "unique_fd.hpp"

namespace ferry::platform {
namespace {

namespace fdc = file_delivery_codes;

struct OwnerIds {
  uid_t uid;
  gid_t gid;
};

Expected<gid_t> lookup_group(const std::string& name) {
  std::vector<char> buffer(16 * 1024);
  group entry{};
  group* result = nullptr;
  for (;;) {
    const int rc = ::getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &result);
    if (rc == ERANGE && buffer.size() < (std::size_t{1} << 20)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    break;
  }
  if (result == nullptr) {
    return Error{fdc::kAccountNotExists, "group '" + name + "' does not exist"};
  }
  return result->gr_gid;
}

Expected<OwnerIds> lookup_owner_ids(const FileDelivery& d) {
  auto user = lookup_user(d.owner);
  if (!user) {
    return Error{fdc::kAccountNotExists, "owner '" + d.owner + "' does not exist"};
  }
  auto gid = lookup_group(d.group);
  if (!gid) {
    return gid.error();
  }
  return OwnerIds{user->account.native()->uid, *gid};
}

Error delivery_failed(const std::string& what, int err) {
  return Error{fdc::kFailed, what + ": " + std::strerror(err)};
}

Status write_fully(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return delivery_failed(what, errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

// Moves `temp` to `name` in `dir`, refusing to replace anything unless `overwrite`.
Status place_file(int dir, const std::string& temp, const std::string& name, bool overwrite,
                  const std::string& path) {
  if (overwrite) {
    // rename replaces the directory entry itself: a symlink put there meanwhile is replaced,
    // never written through.
    if (::renameat(dir, temp.c_str(), dir, name.c_str()) != 0) {
      return delivery_failed("renaming into " + path, errno);
    }
    return {};
  }
  if (::renameat2(dir, temp.c_str(), dir, name.c_str(), RENAME_NOREPLACE) == 0) {
    return {};
  }
  int err = errno;
  if (err == EINVAL || err == ENOSYS) {
    // A file system without RENAME_NOREPLACE: a hard link is refused the same way.
    if (::linkat(dir, temp.c_str(), dir, name.c_str(), 0) == 0) {
      ::unlinkat(dir, temp.c_str(), 0);
      return {};
    }
    err = errno;
  }
  if (err == EEXIST) {
    return Error{fdc::kFileAlreadyExists, path + " already exists and Overwrite is false"};
  }
  return delivery_failed("creating " + path, err);
}

// Everything after the lookups; runs in the child.
Status write_delivered(const FileDelivery& d, std::string_view content, OwnerIds ids) {
  const std::string dir_path = d.target_dir.string();
  const std::string path = (d.target_dir / d.name).string();
  std::error_code ec;
  std::filesystem::create_directories(d.target_dir, ec);
  if (ec) {
    return Error{fdc::kFailed, "creating " + dir_path + ": " + ec.message()};
  }
  UniqueFd dir(::open(dir_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) {
    return delivery_failed("opening " + dir_path, errno);
  }
  struct stat existing {};
  if (::fstatat(dir.get(), d.name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!d.overwrite) {
      return Error{fdc::kFileAlreadyExists, path + " already exists and Overwrite is false"};
    }
    if (!S_ISREG(existing.st_mode)) {
      return Error{fdc::kFailed, path + " exists and is not a regular file (" +
                                     (S_ISLNK(existing.st_mode) ? "a symlink" : "another kind") +
                                     "): not replaced"};
    }
  } else if (errno != ENOENT) {
    return delivery_failed("inspecting " + path, errno);
  }
  const std::string temp = "." + d.name.substr(0, 200) + ".ferry-" + std::to_string(::getpid());
  UniqueFd file(::openat(dir.get(), temp.c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!file.valid()) {
    return delivery_failed("creating a temporary file in " + dir_path, errno);
  }
  Status s = write_fully(file.get(), content, "writing " + path);
  // The owner before the mode: a chown clears set-user-ID and set-group-ID bits.
  if (s && ::fchown(file.get(), ids.uid, ids.gid) != 0) {
    s = delivery_failed("setting the owner and group of " + path, errno);
  }
  if (s && ::fchmod(file.get(), d.mode) != 0) {
    s = delivery_failed("setting the mode of " + path, errno);
  }
  if (s && ::fsync(file.get()) != 0) {
    s = delivery_failed("syncing " + path, errno);
  }
  file.reset();
  if (s) {
    s = place_file(dir.get(), temp, d.name, d.overwrite, path);
  }
  if (!s) {
    ::unlinkat(dir.get(), temp.c_str(), 0);
    return s;
  }
  ::fsync(dir.get());
  return {};
}

// The child's verdict on the pipe: "" for success, else "code\nmessage".
std::string encode_verdict(const Status& s) {
  return s ? std::string() : s.error().code + "\n" + s.error().message;
}

Error decode_verdict(const std::string& text) {
  const auto nl = text.find('\n');
  if (nl == std::string::npos) {
    return Error{fdc::kFailed, "the writer ended without a verdict"};
  }
  return Error{text.substr(0, nl), text.substr(nl + 1)};
}

}  // namespace

Status deliver_file(const FileDelivery& d, std::string_view content) {
  auto ids = lookup_owner_ids(d);
  if (!ids) {
    return ids.error();
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return delivery_failed("creating a pipe", errno);
  }
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  const pid_t pid = ::fork();
  if (pid < 0) {
    return delivery_failed("starting the writer", errno);
  }
  if (pid == 0) {
    read_end.reset();
    const std::string verdict = encode_verdict(write_delivered(d, content, *ids));
    (void)write_fully(write_end.get(), verdict, "");
    ::_exit(verdict.empty() ? 0 : 1);
  }
  write_end.reset();
  std::string verdict;
  const auto deadline = std::chrono::steady_clock::now() + d.timeout;
  bool timed_out = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{read_end.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) {
      break;
    }
    if (ready <= 0) {
      continue;
    }
    char buffer[1024];
    const ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0 || verdict.size() > 8192) {
      break;
    }
    verdict.append(buffer, static_cast<std::size_t>(n));
  }
  if (timed_out) {
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return Error{fdc::kTimeout, "writing " + (d.target_dir / d.name).string() +
                                    " took longer than the timeout of " +
                                    std::to_string(d.timeout.count() / 1000) + " s"};
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && verdict.empty()) {
    return {};
  }
  return decode_verdict(verdict);
}

}  // namespace ferry::platform
