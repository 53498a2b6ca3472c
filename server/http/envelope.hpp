// Error bodies in the TAT API envelope, for the errors the transport itself answers (413, 431,
// 400, 500) before or instead of the API layer.
#pragma once

#include <string>
#include <string_view>

#include "ferry/server/http_server.hpp"

namespace ferry::server::detail {

// A random RFC 4122 version-4 UUID, e.g. "6ee3e1d1-5e4c-4b83-9c1d-0a3e4b7c9f10".
std::string new_request_id();

// {"Response":{"Error":{"Code":code,"Message":message},"RequestId":"<uuid>"}}
std::string error_envelope(std::string_view code, std::string_view message);

HttpResponse error_response(unsigned status, std::string_view code, std::string_view message);

}  // namespace ferry::server::detail
