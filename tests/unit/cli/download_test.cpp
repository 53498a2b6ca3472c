// The libcurl Downloader of `ferry output` against a one-shot HTTP server on loopback: streamed
// into the sink, errors that name the status and the store's code but never the signed URL.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>

#include "ferry/cli/output.hpp"

using namespace ferry;
using namespace ferry::cli;

namespace {

// Accepts one connection on 127.0.0.1, reads the request head, sends `reply` and closes.
class OneShotServer {
 public:
  explicit OneShotServer(std::string reply) : reply_(std::move(reply)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener_, 1) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  OneShotServer(const OneShotServer&) = delete;
  OneShotServer& operator=(const OneShotServer&) = delete;
  ~OneShotServer() {
    ::shutdown(listener_, SHUT_RDWR);
    if (thread_.joinable()) {
      thread_.join();
    }
    ::close(listener_);
  }
  [[nodiscard]] std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The request head, once the reply went (waits for the one exchange to end).
  [[nodiscard]] std::string request() {
    if (thread_.joinable()) {
      thread_.join();
    }
    return request_;
  }

 private:
  void serve() {
    const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      return;
    }
    char buf[4096];
    while (request_.find("\r\n\r\n") == std::string::npos && request_.size() < 65536) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) {
        break;
      }
      request_.append(buf, static_cast<std::size_t>(n));
    }
    std::size_t done = 0;
    while (done < reply_.size()) {
      const ssize_t n = ::write(fd, reply_.data() + done, reply_.size() - done);
      if (n <= 0) {
        break;
      }
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }

  std::string reply_;
  std::string request_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

std::string http_reply(const std::string& status, const std::string& body) {
  return "HTTP/1.1 " + status + "\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

const char* const kSignedQuery = "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=0123abcd";

}  // namespace

TEST_CASE("download_url streams a presigned GET into the sink", "[cli][download]") {
  std::string body;
  for (int i = 0; body.size() < 3 * 1024 * 1024; ++i) {
    body += "line " + std::to_string(i) + "\n";
  }
  OneShotServer server(http_reply("200 OK", body));
  std::string got;
  int pieces = 0;
  const ByteSink sink = [&](std::string_view bytes) {
    got.append(bytes);
    ++pieces;
    return Status();
  };
  auto s = download_url(server.base() + "/bucket/out/invt-1.log" + kSignedQuery, sink, {});
  INFO((s ? "" : s.error().message));
  REQUIRE(s);
  CHECK(got == body);
  // As it arrives, not whole at the end.
  CHECK(pieces > 1);
  CHECK(server.request().starts_with(std::string("GET /bucket/out/invt-1.log") + kSignedQuery +
                                     " HTTP/1.1\r\n"));
}

TEST_CASE("download_url errors never show the signed URL", "[cli][download]") {
  std::string got;
  const ByteSink sink = [&](std::string_view bytes) {
    got.append(bytes);
    return Status();
  };
  SECTION("an error reply: its status and the store's Code, nothing in the sink") {
    OneShotServer server(http_reply(
        "403 Forbidden",
        "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>no</Message></Error>"));
    auto s = download_url(server.base() + "/b/o.log" + kSignedQuery, sink, {});
    REQUIRE_FALSE(s);
    CHECK(s.error().message == server.base().substr(7) + ": HTTP 403 AccessDenied");
    CHECK(got.empty());
  }
  SECTION("an error reply without XML") {
    OneShotServer server(http_reply("404 Not Found", "nothing here"));
    auto s = download_url(server.base() + "/b/o.log" + kSignedQuery, sink, {});
    REQUIRE_FALSE(s);
    CHECK(s.error().message == server.base().substr(7) + ": HTTP 404");
  }
  SECTION("no server") {
    std::string url;
    {
      OneShotServer gone(http_reply("200 OK", ""));
      url = gone.base() + "/b/o.log" + kSignedQuery;
      // Served once; the port is closed when the server goes.
      (void)download_url(url, sink, {});
    }
    auto s = download_url(url, sink, {});
    REQUIRE_FALSE(s);
    CHECK(s.error().message.find("X-Amz-Signature") == std::string::npos);
    CHECK(s.error().message.find("/b/o.log") == std::string::npos);
    CHECK(s.error().message.starts_with("127.0.0.1:"));
  }
  SECTION("the sink's own error") {
    OneShotServer server(http_reply("200 OK", std::string(100000, 'x')));
    const ByteSink failing = [](std::string_view) {
      return Status(Error{"", "writing out.log: No space left on device"});
    };
    auto s = download_url(server.base() + "/b/o.log" + kSignedQuery, failing, {});
    REQUIRE_FALSE(s);
    CHECK(s.error().message == "writing out.log: No space left on device");
  }
}
