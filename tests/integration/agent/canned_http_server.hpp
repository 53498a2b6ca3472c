// A loopback HTTP/1.1 server that gives canned answers, one per connection, in order (then
// 200 with no body), and keeps what each request sent: for the answers a real store rarely gives
// and for checking a request's shape on the wire.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace ferry::test {

struct CannedAnswer {
  int status = 200;
  std::vector<std::string> headers = {};  // "Name: value"
  std::string body = {};
};

struct SeenRequest {
  std::string head;  // request line and headers, up to the blank line
  std::string body;

  // The value of header `name` (lowercase), trimmed; "" when absent.
  [[nodiscard]] std::string header(std::string_view name) const {
    std::size_t at = head.find("\r\n");
    while (at != std::string::npos && at + 2 < head.size()) {
      const std::size_t end = head.find("\r\n", at + 2);
      const std::string line = head.substr(at + 2, end - at - 2);
      const std::size_t colon = line.find(':');
      std::string key = line.substr(0, colon);
      std::transform(key.begin(), key.end(), key.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (colon != std::string::npos && key == name) {
        const std::size_t v = line.find_first_not_of(' ', colon + 1);
        return v == std::string::npos ? "" : line.substr(v);
      }
      at = end;
    }
    return "";
  }
};

class CannedHttpServer {
 public:
  explicit CannedHttpServer(std::vector<CannedAnswer> answers) : answers_(std::move(answers)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listen_fd_, 16) != 0) {
      throw std::runtime_error("canned server: bind/listen failed");
    }
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~CannedHttpServer() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  CannedHttpServer(const CannedHttpServer&) = delete;
  CannedHttpServer& operator=(const CannedHttpServer&) = delete;

  [[nodiscard]] std::string url(std::string_view path_and_query) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path_and_query);
  }
  [[nodiscard]] std::vector<SeenRequest> requests() const {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  // Polls in short steps so that the destructor is never kept waiting long.
  void loop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) {
        continue;
      }
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        serve(fd);
        ::close(fd);
      }
    }
  }

  // Reads more into `buffer`; false at the end, on an error or after 5 s of silence.
  static bool read_more(int fd, std::string& buffer) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) {
      return false;
    }
    char chunk[65536];
    const ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got <= 0) {
      return false;
    }
    buffer.append(chunk, static_cast<std::size_t>(got));
    return true;
  }

  void serve(int fd) {
    std::string data;
    std::size_t head_end = std::string::npos;
    while ((head_end = data.find("\r\n\r\n")) == std::string::npos && data.size() < 65536) {
      if (!read_more(fd, data)) {
        return;
      }
    }
    if (head_end == std::string::npos) {
      return;
    }
    SeenRequest seen;
    seen.head = data.substr(0, head_end + 2);
    const std::size_t length = std::strtoul(seen.header("content-length").c_str(), nullptr, 10);
    data.erase(0, head_end + 4);
    while (data.size() < length && read_more(fd, data)) {
    }
    seen.body = data.substr(0, length);
    CannedAnswer answer;
    {
      std::lock_guard lock(mu_);
      if (seen_.size() < answers_.size()) {
        answer = answers_[seen_.size()];
      }
      seen_.push_back(std::move(seen));
    }
    std::string out = "HTTP/1.1 " + std::to_string(answer.status) +
                      " Canned\r\nContent-Length: " + std::to_string(answer.body.size()) +
                      "\r\nConnection: close\r\n";
    for (const auto& h : answer.headers) {
      out += h + "\r\n";
    }
    out += "\r\n" + answer.body;
    for (std::size_t sent = 0; sent < out.size();) {
      const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) {
        return;
      }
      sent += static_cast<std::size_t>(n);
    }
  }

  std::vector<CannedAnswer> answers_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<SeenRequest> seen_;
  std::thread thread_;
};

}  // namespace ferry::test
