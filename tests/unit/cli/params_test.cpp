#include "ferry/cli/params.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using ferry::cli::parameters_json;
using ferry::cli::parse_param;

TEST_CASE("--param splits at the first '='", "[cli][params]") {
  auto p = parse_param("greeting=hello");
  REQUIRE(p);
  CHECK(p->first == "greeting");
  CHECK(p->second == "hello");

  auto eq = parse_param("url=a=b==c");
  REQUIRE(eq);
  CHECK(eq->first == "url");
  CHECK(eq->second == "a=b==c");

  auto empty = parse_param("k=");
  REQUIRE(empty);
  CHECK(empty->first == "k");
  CHECK(empty->second.empty());

  auto spaces = parse_param("msg=two words ");
  REQUIRE(spaces);
  CHECK(spaces->second == "two words ");
}

TEST_CASE("bad --param forms are clear errors", "[cli][params]") {
  auto none = parse_param("greeting");
  REQUIRE_FALSE(none);
  CHECK(none.error().message == "--param greeting: expected NAME=VALUE (no '=' found)");

  auto nameless = parse_param("=value");
  REQUIRE_FALSE(nameless);
  CHECK(nameless.error().message == "--param =value: expected NAME=VALUE (the name is empty)");

  CHECK_FALSE(parse_param(""));
  CHECK_FALSE(parse_param("="));
}

TEST_CASE("parameters become RunCommand's Parameters JSON text", "[cli][params]") {
  auto j = parameters_json({"a=1", "b=x=y", "c=", "d=\xc3\xa9t\xc3\xa9"});
  REQUIRE(j);
  const auto parsed = nlohmann::json::parse(*j);
  CHECK(parsed == nlohmann::json{{"a", "1"}, {"b", "x=y"}, {"c", ""}, {"d", "\xc3\xa9t\xc3\xa9"}});

  auto twice = parameters_json({"a=1", "a=2"});
  REQUIRE_FALSE(twice);
  CHECK(twice.error().message == "--param a: given twice");

  auto bad = parameters_json({"a=1", "oops"});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("oops") != std::string::npos);

  auto not_utf8 = parameters_json({"a=\xff"});
  REQUIRE_FALSE(not_utf8);
  CHECK(not_utf8.error().message.find("UTF-8") != std::string::npos);

  auto none = parameters_json({});
  REQUIRE(none);
  CHECK(*none == "{}");
}
