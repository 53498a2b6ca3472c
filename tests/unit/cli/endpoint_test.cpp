#include "ferry/cli/endpoint.hpp"

#include <catch2/catch.hpp>

using ferry::cli::is_loopback_host;
using ferry::cli::parse_endpoint;

TEST_CASE("endpoints: the Host header and the request URL", "[cli][endpoint]") {
  auto e = parse_endpoint("http://127.0.0.1:18080", false);
  REQUIRE(e);
  CHECK_FALSE(e->tls);
  CHECK(e->host_header == "127.0.0.1:18080");
  CHECK(e->api_url() == "http://127.0.0.1:18080/");
  CHECK(e->base_url() == "http://127.0.0.1:18080");

  auto s = parse_endpoint("https://ferry.example.com:443/api/", false);
  REQUIRE(s);
  CHECK(s->host_header == "ferry.example.com");
  CHECK(s->api_url() == "https://ferry.example.com/api/");

  auto v6 = parse_endpoint("http://[::1]:8080", false);
  REQUIRE(v6);
  CHECK(v6->host_header == "[::1]:8080");
  CHECK(v6->loopback());
}

TEST_CASE("endpoints: plain http only to loopback unless allowed", "[cli][endpoint]") {
  CHECK(parse_endpoint("http://localhost:8080", false));
  CHECK(parse_endpoint("http://127.1.2.3", false));
  auto refused = parse_endpoint("http://192.0.2.1:8080", false);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("plain http") != std::string::npos);
  CHECK(parse_endpoint("http://192.0.2.1:8080", true));
  CHECK(parse_endpoint("https://192.0.2.1:8443", false));
  CHECK(is_loopback_host("::1"));
  CHECK_FALSE(is_loopback_host("localhost.example.com"));
}

TEST_CASE("endpoints: malformed ones are refused with a reason", "[cli][endpoint]") {
  for (const char* bad :
       {"ftp://x", "127.0.0.1:8080", "http://", "http://:80", "http://a:0", "http://a:65536",
        "http://a:x", "http://u@a", "http://a/?q", "http://[::1", "http://a b", "http://a:"}) {
    INFO(bad);
    CHECK_FALSE(parse_endpoint(bad, true));
  }
}
