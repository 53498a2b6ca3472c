// The Downloader of `ferry output` for outputs in a bucket: one libcurl GET of the presigned URL,
// each piece handed to the sink as it arrives, so that no output is ever whole in memory.
#include <curl/curl.h>

#include <algorithm>
#include <optional>
#include <string>

#include "curl_basics.hpp"
#include "ferry/cli/output.hpp"

namespace ferry::cli {
namespace {

// The start of an error reply kept to find its Code in (S3 and COS answer XML).
constexpr std::size_t kMaxErrorBody = 4096;

struct DownloadState {
  CURL* curl = nullptr;
  const ByteSink* sink = nullptr;
  long status = 0;
  std::string error_body;
  std::optional<Error> sink_error;
};

std::size_t on_download_data(char* data, std::size_t size, std::size_t n, void* user) {
  auto* state = static_cast<DownloadState*>(user);
  const std::size_t bytes = size * n;
  if (state->status == 0) {
    curl_easy_getinfo(state->curl, CURLINFO_RESPONSE_CODE, &state->status);
  }
  if (state->status != 200) {
    const std::size_t room = kMaxErrorBody - std::min(kMaxErrorBody, state->error_body.size());
    state->error_body.append(data, std::min(room, bytes));
    return bytes;
  }
  if (auto s = (*state->sink)(std::string_view(data, bytes)); !s) {
    state->sink_error = s.error();
    return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
  }
  return bytes;
}

// "host:port" of a URL, for messages: never its path or query (the signature).
std::string host_of(const std::string& url) {
  const auto scheme = url.find("://");
  const auto from = scheme == std::string::npos ? 0 : scheme + 3;
  const auto end = url.find_first_of("/?#", from);
  return url.substr(from, end == std::string::npos ? std::string::npos : end - from);
}

// <Code>AccessDenied</Code> of an S3 / COS error body, or "".
std::string error_code_in(const std::string& body) {
  const auto open = body.find("<Code>");
  const auto close = body.find("</Code>");
  if (open == std::string::npos || close == std::string::npos || close < open + 6 ||
      close - open - 6 > 64) {
    return "";
  }
  std::string code = body.substr(open + 6, close - open - 6);
  for (char c : code) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return "";
    }
  }
  return code;
}

// libcurl's message without the URL, should it quote it.
std::string without_url(std::string message, const std::string& url) {
  for (const std::string& secret : {url, url.substr(std::min(url.size(), url.find('?')))}) {
    if (secret.empty()) {
      continue;
    }
    for (auto at = message.find(secret); at != std::string::npos; at = message.find(secret)) {
      message.replace(at, secret.size(), "<url>");
    }
  }
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  return message;
}

}  // namespace

Status download_url(const std::string& url, const ByteSink& sink, const DownloadOptions& options) {
  init_curl_once();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    return Error{"", "libcurl could not be initialised"};
  }
  DownloadState state;
  state.curl = curl;
  state.sink = &sink;
  char error_buffer[CURL_ERROR_SIZE] = {};
  set_request_basics(curl, url, error_buffer, options.connect_timeout);
  // A large output takes as long as it takes; a transfer that stalls does not.
  const long stall_s = options.stall_timeout.count();
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, stall_s);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_download_data);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
  const CURLcode rc = curl_easy_perform(curl);
  if (state.status == 0) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &state.status);
  }
  const std::string why = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
  curl_easy_cleanup(curl);
  const std::string where = host_of(url);
  if (state.sink_error) {
    return *state.sink_error;
  }
  if (rc != CURLE_OK) {
    return Error{"", where + ": " + without_url(why, url)};
  }
  if (state.status != 200) {
    const std::string code = error_code_in(state.error_body);
    return Error{
        "", where + ": HTTP " + std::to_string(state.status) + (code.empty() ? "" : " " + code)};
  }
  return {};
}

}  // namespace ferry::cli
