// What the two JSON wires (the TAT API and the agent protocol) ask of a request's headers.
#pragma once

#include "ferry/server/http_server.hpp"

namespace ferry::server {

// Content-Type starts with application/json, in any case.
bool has_json_content_type(const HttpRequest& request);

}  // namespace ferry::server
