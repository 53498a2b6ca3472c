// The HTTP front (ferry-server's every request, public API and agents alike): the input's bytes
// are written on a loopback connection to a real HttpServer, the writing side is shut, and the
// answer read until the server closes. Properties: the server answers with an HTTP response or
// closes, always within a few seconds of the end of the input (no connection is left hanging
// on a request that can never complete), and keeps serving.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "ferry/server/http_server.hpp"
#include "fuzz_input.hpp"

namespace {

using ferry::server::HttpRequest;
using ferry::server::HttpResponse;

ferry::server::HttpServer& server() {
  static std::unique_ptr<ferry::server::HttpServer> s = [] {
    ferry::server::HttpServerOptions options;
    options.listen = "127.0.0.1:0";
    options.io_threads = 1;
    options.max_body_bytes = 64 * 1024;
    options.max_header_bytes = 16 * 1024;
    auto started = ferry::server::HttpServer::start(options, [](const HttpRequest& request) {
      HttpResponse response;
      response.status = 200;
      response.content_type = "text/plain";
      response.body = request.method + " " + request.target + " " +
                      std::to_string(request.headers.size()) + " " +
                      std::to_string(request.body.size());
      return response;
    });
    if (!started) {
      ferry::fuzz::property_failed("HttpServer::start");
    }
    return std::move(*started);
  }();
  return *s;
}

// Waits for a connect that a signal interrupted to finish; true when it succeeded.
bool connected_after_interrupt(int fd) {
  pollfd p{fd, POLLOUT, 0};
  int ready = 0;
  do {
    ready = ::poll(&p, 1, 5000);
  } while (ready < 0 && errno == EINTR);
  int error = 0;
  socklen_t length = sizeof error;
  if (ready != 1 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
    errno = error != 0 ? error : ETIMEDOUT;
    return false;
  }
  return true;
}

// The whole exchange of one connection; false when the server neither answered nor closed in
// time.
bool exchange(std::string_view input, std::string& answer) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ferry::fuzz::property_failed("socket");
  }
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server().port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // libFuzzer's timer signal (-timeout) interrupts blocking calls: EINTR is retried, and an
  // interrupted connect goes on in the background until the socket is writable.
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 &&
      !(errno == EINTR && connected_after_interrupt(fd))) {
    std::fprintf(stderr, "connect: %s\n", std::strerror(errno));
    ferry::fuzz::property_failed("connect: the server no longer accepts");
  }
  // The server may answer (an error) and close before the input is all written: EPIPE and
  // ECONNRESET end the writing, not the test.
  std::size_t written = 0;
  while (written < input.size()) {
    const auto n = ::send(fd, input.data() + written, input.size() - written, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  bool closed = false;
  char buffer[4096];
  while (true) {
    const auto n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n > 0) {
      answer.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    closed = n == 0 || errno == ECONNRESET;
    break;
  }
  ::close(fd);
  return closed;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)server();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string answer;
  FERRY_FUZZ_CHECK(exchange(std::string_view(reinterpret_cast<const char*>(data), size), answer));
  FERRY_FUZZ_CHECK(answer.empty() || answer.starts_with("HTTP/1."));
  return 0;
}
