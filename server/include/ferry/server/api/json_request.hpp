// What the two JSON wires (the TAT API and the agent protocol) ask of a request before its body
// is parsed.
#pragma once

#include <cstddef>
#include <string_view>

#include "ferry/server/http_server.hpp"

namespace ferry::server {

// Content-Type starts with application/json, in any case.
bool has_json_content_type(const HttpRequest& request);

// Requests of either wire nest a few levels (Filters: an object, an array of objects, each with
// an array); a body may nest up to this, so that a deeper one is refused before a parser builds
// its tree (a 1 MiB body of '[' would otherwise cost about a hundred times its size in memory).
inline constexpr std::size_t kMaxJsonDepth = 32;

// Whether `text` nests objects and arrays at most `max_depth` deep, by one scan that skips
// strings (escapes included). Says nothing else about the text's validity.
bool json_depth_within(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

}  // namespace ferry::server
