// libcurl, loaded when the agent first uploads an output, never at start.
//
// ferry-agent links libc and libm only (agent/CMakeLists.txt): it starts fast and stays small.
// libcurl.so.4 brings about thirty shared libraries with it, which every task's supervisor exec
// and the idle daemon would otherwise map. So the agent is compiled against curl's headers only
// and resolves the few functions it calls here, with dlopen, once per process (thread-safe), and
// never unloads them. A machine without libcurl runs every task; only its uploads fail, saying
// what to install.
//
// libcurl brings its own shared libssl/libcrypto beside the agent's static OpenSSL. The two never
// meet: the agent exports none of its OpenSSL symbols (no --export-dynamic), and libcurl is opened
// RTLD_LOCAL.
#pragma once

#include <curl/curl.h>

#include <string>
#include <vector>

#include "ferry/core/error.hpp"

namespace ferry::agent::upload {

// The libcurl functions the transfers call, as libcurl exports them.
struct CurlLibrary {
  CURLcode (*global_init)(long flags) = nullptr;
  curl_version_info_data* (*version_info)(CURLversion) = nullptr;
  CURL* (*easy_init)() = nullptr;
  void (*easy_cleanup)(CURL*) = nullptr;
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...) = nullptr;
  CURLcode (*easy_perform)(CURL*) = nullptr;
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...) = nullptr;
  const char* (*easy_strerror)(CURLcode) = nullptr;
  curl_slist* (*slist_append)(curl_slist*, const char*) = nullptr;
  void (*slist_free_all)(curl_slist*) = nullptr;
  std::string loaded_from;  // "libcurl.so.4"
  std::string version;      // "7.88.1"
};

// The sonames tried, in order: the OpenSSL build, then the GnuTLS one (same API and ABI).
inline const std::vector<std::string> kCurlSonames = {"libcurl.so.4", "libcurl-gnutls.so.4"};

// The oldest libcurl the transfers work with (CURLOPT_UPLOAD_BUFFERSIZE and the rest).
inline constexpr unsigned kMinCurlVersion = 0x073E00;  // 7.62.0

// The process's libcurl: loaded, checked and globally initialised on the first call, from any
// thread; later calls return the same table, or the same error (a libcurl installed after the
// agent started is seen when the agent restarts). The error (InternalError) says what to
// install: "libcurl is not installed: apt-get install libcurl4 (...)".
Expected<const CurlLibrary*> curl_library();

// One attempt, without the process-wide cache: the first of `sonames` that loads, with every
// function resolved and its version checked. Not initialised (global_init is not called); the
// library is never closed. For tests of the refusals.
Expected<CurlLibrary> open_curl_library(const std::vector<std::string>& sonames);

}  // namespace ferry::agent::upload
