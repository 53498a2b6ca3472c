#include "envelope.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>

namespace ferry::server::detail {

TEST_CASE("request ids are version 4 UUIDs and differ", "[server][http]") {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string id = new_request_id();
    REQUIRE(id.size() == 36);
    CHECK(id[8] == '-');
    CHECK(id[13] == '-');
    CHECK(id[14] == '4');
    CHECK(std::string("89ab").find(id[19]) != std::string::npos);
    seen.insert(id);
  }
  CHECK(seen.size() == 100);
}

TEST_CASE("error envelope has the TAT shape and escapes the message", "[server][http]") {
  auto j = nlohmann::json::parse(error_envelope("InvalidParameter", "bad \"x\"\n\xff"));
  CHECK(j["Response"]["Error"]["Code"] == "InvalidParameter");
  CHECK(j["Response"]["Error"]["Message"].get<std::string>().starts_with("bad \"x\"\n"));
  CHECK(j["Response"]["RequestId"].get<std::string>().size() == 36);

  auto r = error_response(413, "InvalidParameter", "too big");
  CHECK(r.status == 413);
  CHECK(r.content_type == "application/json");
  CHECK(nlohmann::json::parse(r.body)["Response"]["Error"]["Message"] == "too big");
}

}  // namespace ferry::server::detail
