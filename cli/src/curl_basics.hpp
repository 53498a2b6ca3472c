// What every request `ferry` sends with libcurl shares: libcurl initialised once, and the same
// safe basics on each handle (http and https only, no redirect, no signals, TLS verified).
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <string>

namespace ferry::cli {

// curl_global_init, once per process, before the first handle.
void init_curl_once();

// The URL, the error buffer (CURL_ERROR_SIZE bytes, kept by the caller until the transfer
// ends), the connect timeout and the basics above.
void set_request_basics(CURL* curl, const std::string& url, char* error_buffer,
                        std::chrono::milliseconds connect_timeout);

}  // namespace ferry::cli
