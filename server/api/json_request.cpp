#include "ferry/server/api/json_request.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace ferry::server {

bool has_json_content_type(const HttpRequest& request) {
  constexpr std::string_view kJson = "application/json";
  const std::string& type = request.header("content-type");
  return type.size() >= kJson.size() &&
         std::equal(kJson.begin(), kJson.end(), type.begin(), [](char want, char got) {
           return want == std::tolower(static_cast<unsigned char>(got));
         });
}

bool json_depth_within(std::string_view text, std::size_t max_depth) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        return false;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

}  // namespace ferry::server
