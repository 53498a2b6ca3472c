#include <catch2/catch.hpp>
#include <string>

#include "ferry/cli/api.hpp"

using ferry::cli::describe_error;
using ferry::cli::parse_api_reply;

TEST_CASE("API replies: the Response object on success", "[cli][api]") {
  auto r = parse_api_reply(200, R"({"Response":{"InvocationId":"inv-1","RequestId":"r-1"}})");
  REQUIRE(r);
  CHECK((*r)["InvocationId"] == "inv-1");
}

TEST_CASE("API replies: an error envelope gives the code, message and RequestId", "[cli][api]") {
  auto r = parse_api_reply(
      200,
      R"({"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"no match"},"RequestId":"abc"}})");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == "AuthFailure.SignatureFailure");
  CHECK(describe_error(r.error()) == "AuthFailure.SignatureFailure: no match (RequestId abc)");
}

TEST_CASE("API replies: what is not an envelope is said plainly", "[cli][api]") {
  auto html = parse_api_reply(502, "<html>\nbad gateway</html>");
  REQUIRE_FALSE(html);
  CHECK(html.error().code.empty());
  CHECK(describe_error(html.error()) == "HTTP 502 without an API reply: <html> bad gateway</html>");

  auto empty = parse_api_reply(404, "");
  REQUIRE_FALSE(empty);
  CHECK(empty.error().message == "HTTP 404 without an API reply: (empty)");

  auto long_body = parse_api_reply(500, std::string(1000, 'x'));
  REQUIRE_FALSE(long_body);
  CHECK(long_body.error().message.size() < 300);

  auto odd = parse_api_reply(200, R"({"Response":{"Error":"text"}})");
  REQUIRE_FALSE(odd);
  CHECK(odd.error().code == "InternalError");
}
