// The client's HTTP: one keep-alive libcurl handle, POST only, with a total and a connect
// timeout, certificate verification (the system's CAs or a given CA file), no redirects, and a
// cap on the reply body. Not thread-safe: one client per thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "ferry/core/error.hpp"

namespace ferry::cli {

struct HttpOptions {
  std::chrono::milliseconds timeout{30'000};
  std::chrono::milliseconds connect_timeout{10'000};
  std::string ca_file;  // empty: the system's CAs
  std::size_t max_body_bytes = 32U * 1024U * 1024U;
  bool no_proxy = false;  // ignore http(s)_proxy (the endpoint is loopback)
};

struct HttpReply {
  long status = 0;
  std::string body;
};

class HttpClient {
 public:
  explicit HttpClient(HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Errors: no HTTP answer at all (refused, timed out, TLS failure, body over the cap); the
  // message says which, with libcurl's words.
  Expected<HttpReply> post(const std::string& url,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string& body);

 private:
  HttpOptions options_;
  void* handle_ = nullptr;  // CURL*
};

}  // namespace ferry::cli
