// A stand-in for systemd's NOTIFY_SOCKET: a bound AF_UNIX datagram socket, and what came on it.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_process.hpp"

namespace ferry::test {

class NotifyListener {
 public:
  // `dir`/notify.sock, or an abstract name (shown with a leading '@') when `abstract`.
  explicit NotifyListener(const std::filesystem::path& dir, bool abstract = false) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      throw std::runtime_error("notify listener: socket");
    }
    static int counter = 0;
    name_ = abstract ? "@ferry-notify-test-" + std::to_string(::getpid()) + "-" +
                           std::to_string(++counter)
                     : (dir / "notify.sock").string();
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (name_.size() >= sizeof(addr.sun_path)) {
      throw std::runtime_error("notify listener: name too long");
    }
    std::memcpy(addr.sun_path, name_.data(), name_.size());
    if (abstract) {
      addr.sun_path[0] = '\0';
    }
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name_.size());
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
      ::close(fd_);
      throw std::runtime_error("notify listener: bind " + name_);
    }
  }
  ~NotifyListener() { ::close(fd_); }
  NotifyListener(const NotifyListener&) = delete;
  NotifyListener& operator=(const NotifyListener&) = delete;

  // The value for NOTIFY_SOCKET.
  [[nodiscard]] const std::string& name() const { return name_; }

  // Every datagram queued now, oldest first; also kept in seen().
  std::vector<std::string> take() {
    std::vector<std::string> out;
    std::vector<char> buffer(4096);
    for (int i = 0; i < 10000; ++i) {
      const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (n < 0) {
        break;
      }
      out.emplace_back(buffer.data(), static_cast<std::size_t>(n));
    }
    seen_.insert(seen_.end(), out.begin(), out.end());
    return out;
  }

  // Everything received so far, oldest first.
  [[nodiscard]] const std::vector<std::string>& seen() const { return seen_; }

  // Waits (up to `limit`) for a message that starts with `prefix` at index `from` or later in
  // seen(); its index, or -1.
  int wait_for(const std::string& prefix, std::size_t from = 0,
               std::chrono::milliseconds limit = std::chrono::seconds(15)) {
    int found = -1;
    eventually(
        [&] {
          take();
          for (std::size_t i = from; i < seen_.size(); ++i) {
            if (seen_[i].starts_with(prefix)) {
              found = static_cast<int>(i);
              return true;
            }
          }
          return false;
        },
        limit, std::chrono::milliseconds(10));
    return found;
  }

 private:
  int fd_ = -1;
  std::string name_;
  std::vector<std::string> seen_;
};

}  // namespace ferry::test
