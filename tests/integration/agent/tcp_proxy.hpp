// A loopback TCP proxy for the agent tests: forwards bytes both ways, and can refuse or cut the
// push socket (connections whose first bytes are "GET ") while plain POSTs still pass, and keeps
// the first bytes each client sent so that a test can replay a real signed request.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace ferry::test {

class TcpProxy {
 public:
  explicit TcpProxy(std::uint16_t upstream_port) : upstream_port_(upstream_port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listen_fd_, 64) != 0) {
      throw std::runtime_error("proxy: bind/listen failed");
    }
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
      throw std::runtime_error("proxy: pipe failed");
    }
    thread_ = std::thread([this] { loop(); });
  }
  ~TcpProxy() {
    stop_ = true;
    wake();
    thread_.join();
    for (auto& c : conns_) {
      close_conn(c);
    }
    ::close(listen_fd_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // While set, a connection that starts with "GET " (the WebSocket upgrade) is closed at once.
  void block_websocket(bool on) {
    block_ws_ = on;
    if (on) {
      cut_ws_ = true;
      wake();
    }
  }
  [[nodiscard]] int websocket_refusals() const { return ws_refusals_; }
  // New connections go to this port from now on (a server restarted on another port).
  void set_upstream_port(std::uint16_t port) { upstream_port_ = port; }

  // Called on the proxy's thread with each chunk a client sends, as it arrives (benchmarks
  // timestamp requests with it). Set before any traffic.
  void on_client_data(std::function<void(std::string_view)> observer) {
    observer_ = std::move(observer);
  }

  // The first bytes (up to 64 KiB) clients sent on each POST connection so far.
  std::vector<std::string> captured_posts() {
    std::lock_guard lock(mu_);
    return captured_;
  }

 private:
  struct Conn {
    int client = -1;
    int server = -1;
    bool classified = false;
    bool ws = false;
    std::size_t capture_index = SIZE_MAX;
  };

  void wake() {
    char c = 1;
    // A full pipe already wakes the loop: a failed write needs nothing more.
    if (::write(wake_[1], &c, 1) < 0) {
      return;
    }
  }

  static void close_conn(Conn& c) {
    if (c.client >= 0)
      ::close(c.client);
    if (c.server >= 0)
      ::close(c.server);
    c.client = c.server = -1;
  }

  int connect_upstream() const {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(upstream_port_);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }

  // Moves bytes from `from` to `to`; false when the connection is over.
  bool pump(int from, int to, Conn& c, bool from_client) {
    char buf[16384];
    const ssize_t n = ::read(from, buf, sizeof(buf));
    if (n <= 0) {
      return false;
    }
    if (from_client && !c.classified) {
      c.classified = true;
      c.ws = n >= 4 && std::string(buf, 4) == "GET ";
      if (c.ws && block_ws_) {
        ++ws_refusals_;
        return false;
      }
      if (!c.ws) {
        std::lock_guard lock(mu_);
        c.capture_index = captured_.size();
        captured_.emplace_back();
      }
    }
    if (from_client && observer_) {
      observer_(std::string_view(buf, static_cast<std::size_t>(n)));
    }
    if (from_client && c.capture_index != SIZE_MAX) {
      std::lock_guard lock(mu_);
      auto& cap = captured_[c.capture_index];
      if (cap.size() < 65536) {
        cap.append(buf, static_cast<std::size_t>(n));
      }
    }
    ssize_t off = 0;
    while (off < n) {
      const ssize_t w = ::write(to, buf + off, static_cast<std::size_t>(n - off));
      if (w <= 0) {
        if (w < 0 && errno == EINTR)
          continue;
        return false;
      }
      off += w;
    }
    return true;
  }

  void loop() {
    while (!stop_) {
      if (cut_ws_.exchange(false)) {
        for (auto& c : conns_) {
          if (c.ws)
            close_conn(c);
        }
      }
      std::erase_if(conns_, [](const Conn& c) { return c.client < 0; });
      std::vector<pollfd> fds;
      fds.push_back({listen_fd_, POLLIN, 0});
      fds.push_back({wake_[0], POLLIN, 0});
      for (auto& c : conns_) {
        fds.push_back({c.client, POLLIN, 0});
        fds.push_back({c.server, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), 200) < 0) {
        continue;
      }
      if (fds[1].revents != 0) {
        char drain[64];
        while (::read(wake_[0], drain, sizeof(drain)) > 0) {
        }
      }
      for (std::size_t i = 0; i < conns_.size(); ++i) {
        Conn& c = conns_[i];
        const auto& cf = fds[2 + 2 * i];
        const auto& sf = fds[3 + 2 * i];
        bool ok = true;
        if (cf.revents != 0)
          ok = pump(c.client, c.server, c, true);
        if (ok && sf.revents != 0)
          ok = pump(c.server, c.client, c, false);
        if (!ok)
          close_conn(c);
      }
      if (fds[0].revents & POLLIN) {
        const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client >= 0) {
          const int server = connect_upstream();
          if (server < 0) {
            ::close(client);
          } else {
            conns_.push_back(Conn{client, server});
          }
        }
      }
    }
  }

  std::atomic<std::uint16_t> upstream_port_;
  std::uint16_t port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::atomic<bool> block_ws_{false};
  std::atomic<bool> cut_ws_{false};
  std::atomic<int> ws_refusals_{0};
  std::vector<Conn> conns_;
  std::mutex mu_;
  std::vector<std::string> captured_;
  std::function<void(std::string_view)> observer_;
  std::thread thread_;
};

}  // namespace ferry::test
