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

}  // namespace ferry::server
