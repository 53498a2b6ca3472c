// The API endpoint ferry talks to: core's ServiceUrl (ferry/core/service_url.hpp, shared with
// ferry-agent) and its plain-HTTP rule, with the URLs the client builds from it.
#pragma once

#include <string>
#include <string_view>

#include "ferry/core/error.hpp"
#include "ferry/core/service_url.hpp"

namespace ferry::cli {

struct Endpoint : ServiceUrl {
  // scheme://host_header + base_path, as a person would write it.
  [[nodiscard]] std::string base_url() const { return to_string(); }
  // base_url() + "/": where the API requests go.
  [[nodiscard]] std::string api_url() const { return to_string() + "/"; }
  [[nodiscard]] bool loopback() const { return is_loopback_host(host); }
};

using ferry::is_loopback_host;

// Errors: InvalidParameterValue, "endpoint <url>: <reason>".
Expected<Endpoint> parse_endpoint(std::string_view url, bool allow_plain_http);

}  // namespace ferry::cli
