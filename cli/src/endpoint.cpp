#include "ferry/cli/endpoint.hpp"

namespace ferry::cli {

Expected<Endpoint> parse_endpoint(std::string_view url, bool allow_plain_http) {
  auto parsed = parse_service_url(
      url, allow_plain_http, "endpoint " + std::string(url.substr(0, 200)), "--allow-plain-http");
  if (!parsed) {
    return parsed.error();
  }
  return Endpoint{std::move(*parsed)};
}

}  // namespace ferry::cli
