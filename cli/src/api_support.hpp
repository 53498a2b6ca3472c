// What the two API clients (api.cpp: TAT, acs_api.cpp: Cloud Assistant) share.
#pragma once

#include <cstdint>
#include <string>

#include "ferry/cli/config.hpp"
#include "ferry/cli/http_client.hpp"

namespace ferry::cli::detail {

// A reply body in an error message: at most 200 bytes, one line, control characters blanked.
std::string reply_excerpt(const std::string& body);

std::int64_t unix_now();

// The HTTP settings of `config`: its CA file; no proxy for a loopback endpoint.
HttpOptions http_options(const ClientConfig& config);

}  // namespace ferry::cli::detail
