#include "ferry/agent/server_url.hpp"

#include <catch2/catch.hpp>

using ferry::agent::is_loopback_host;
using ferry::agent::parse_server_url;

TEST_CASE("server URL: https with and without a port and a prefix") {
  struct Case {
    const char* url;
    const char* host;
    const char* port;
    const char* base_path;
    const char* host_header;
    const char* canonical;  // to_string()
  };
  for (const Case& c : {
           Case{"https://ferry.example.com", "ferry.example.com", "443", "", "ferry.example.com",
                "https://ferry.example.com"},
           Case{"https://10.0.0.5:8443/ferry/", "10.0.0.5", "8443", "/ferry", "10.0.0.5:8443",
                "https://10.0.0.5:8443/ferry"},
           Case{"https://[2001:db8::1]:9000", "2001:db8::1", "9000", "", "[2001:db8::1]:9000",
                "https://[2001:db8::1]:9000"},
       }) {
    INFO(c.url);
    auto u = parse_server_url(c.url, false);
    REQUIRE(u);
    CHECK(u->tls);
    CHECK(u->host == c.host);
    CHECK(u->port == c.port);
    CHECK(u->base_path == c.base_path);
    CHECK(u->host_header == c.host_header);
    CHECK(u->to_string() == c.canonical);
  }
}

TEST_CASE("server URL: plain http only to loopback unless allowed") {
  for (const char* ok :
       {"http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:80", "http://127.9.9.9"}) {
    INFO(ok);
    auto u = parse_server_url(ok, false);
    REQUIRE(u);
    CHECK_FALSE(u->tls);
  }
  auto refused = parse_server_url("http://10.1.2.3:8080", false);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == "InvalidParameterValue");
  CHECK(refused.error().message.find("plain http") != std::string::npos);
  CHECK(parse_server_url("http://10.1.2.3:8080", true));
  CHECK(parse_server_url("http://ferry.example.com", true)->port == "80");
}

TEST_CASE("server URL: malformed ones are refused with the reason") {
  for (const char* bad :
       {"ftp://x", "ferry.example.com", "https://", "https://:80", "https://user@host",
        "https://host:0", "https://host:65536", "https://host:8x", "https://host/a?b=c",
        "https://host#frag", "https://[::1", "https://[nothost]:1", "https://ho st",
        "https://host/a b", "https://host/%2e"}) {
    INFO(bad);
    auto u = parse_server_url(bad, true);
    CHECK_FALSE(u);
    if (!u) {
      CHECK(u.error().message.starts_with("server URL: "));
    }
  }
}

TEST_CASE("loopback hosts") {
  CHECK(is_loopback_host("localhost"));
  CHECK(is_loopback_host("LOCALHOST"));
  CHECK(is_loopback_host("127.0.0.1"));
  CHECK(is_loopback_host("127.255.0.1"));
  CHECK(is_loopback_host("::1"));
  CHECK_FALSE(is_loopback_host("128.0.0.1"));
  CHECK_FALSE(is_loopback_host("::2"));
  CHECK_FALSE(is_loopback_host("localhost.example.com"));
  CHECK_FALSE(is_loopback_host("0.0.0.0"));
}
