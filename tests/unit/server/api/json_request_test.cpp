// What the JSON wires check before a body is parsed: its nesting depth.
#include "ferry/server/api/json_request.hpp"

#include <catch2/catch.hpp>
#include <string>

using ferry::server::json_depth_within;

TEST_CASE("json_depth_within counts objects and arrays, not brackets inside strings",
          "[api][json]") {
  CHECK(json_depth_within(""));
  CHECK(json_depth_within("{}", 1));
  CHECK_FALSE(json_depth_within("{}", 0));
  CHECK(json_depth_within(R"({"a":[{"b":[1]}]})", 4));
  CHECK_FALSE(json_depth_within(R"({"a":[{"b":[1]}]})", 3));
  // Siblings do not add up: depth goes down again after each closes.
  CHECK(json_depth_within("[[],[],[],[]]", 2));
  // Brackets in strings, escaped quotes and escaped backslashes.
  CHECK(json_depth_within(R"({"a":"[[[[{{{{"})", 1));
  CHECK(json_depth_within(R"({"a":"x\"[[[["})", 1));
  CHECK_FALSE(json_depth_within(R"({"a":"x\\",[[[1]]]})", 3));
  CHECK(json_depth_within(R"({"a":"x\\",[[[1]]]})", 4));
  // The default bound, and a body far past it.
  CHECK(json_depth_within(std::string(32, '[') + std::string(32, ']')));
  CHECK_FALSE(json_depth_within(std::string(33, '[') + std::string(33, ']')));
  CHECK_FALSE(json_depth_within(std::string(1 << 20, '[')));
}
