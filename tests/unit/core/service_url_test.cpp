#include "ferry/core/service_url.hpp"

#ifdef _WIN32
#include <ws2tcpip.h>  // the Windows build (tests/windows): inet_pton from ws2_32
#else
#include <arpa/inet.h>
#endif

#include <catch2/catch.hpp>
#include <string>

using ferry::is_loopback_host;
using ferry::parse_service_url;

namespace {

// The system's own answers, which the portable parser in core must match.
bool system_ipv6(const std::string& s) {
  in6_addr a{};
  return ::inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

bool system_loopback(const std::string& s) {
  in_addr v4{};
  if (::inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24U) == 127U;
  }
  in6_addr v6{};
  return ::inet_pton(AF_INET6, s.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6) != 0;
}

}  // namespace

TEST_CASE("service URL: addresses are read as inet_pton reads them", "[core][url]") {
  for (const char* s : {"::1",
                        "0:0:0:0:0:0:0:1",
                        "::0:1",
                        "0::1",
                        "::0001",
                        "::",
                        "::2",
                        "1::",
                        "::1:0",
                        "2001:db8::1",
                        "2001:DB8:0:0:8:800:200C:417A",
                        "fe80::1:2:3:4:5:6",
                        "1:2:3:4:5:6:7:8",
                        "1:2:3:4:5:6:7:8:9",
                        "1:2:3:4:5:6:7",
                        "1::2::3",
                        ":1",
                        "1:",
                        ":::1",
                        "1:::2",
                        "::ffff:127.0.0.1",
                        "::127.0.0.1",
                        "1:2:3:4:5:6:1.2.3.4",
                        "1:2:3:4:5:6:7:1.2.3.4",
                        "::1.2.3",
                        "::1.2.3.256",
                        "::01.2.3.4",
                        "12345::",
                        "g::1",
                        "",
                        "[::1]",
                        "::1%eth0"}) {
    INFO(s);
    CHECK(parse_service_url(std::string("http://[") + s + "]", true, "url", "x").has_value() ==
          system_ipv6(s));
    CHECK(is_loopback_host(s) == system_loopback(s));
  }
  for (const char* s : {"127.0.0.1", "127.255.255.254", "126.0.0.1", "128.0.0.1", "127.0.0",
                        "127.0.0.1.1", "127.0.0.256", "127.00.0.1", "0127.0.0.1", "127..0.1",
                        "127.0.0.-1", "1.2.3.4", " 127.0.0.1"}) {
    INFO(s);
    CHECK(is_loopback_host(s) == system_loopback(s));
  }
  CHECK(is_loopback_host("localhost"));
  CHECK(is_loopback_host("LocalHost."));
  CHECK_FALSE(is_loopback_host("localhost.example.com"));
}

TEST_CASE("service URL: the parts, the Host header and the normal form", "[core][url]") {
  auto u = parse_service_url("https://Ferry.example.com:0443/api//", false, "server URL", "x");
  REQUIRE(u);
  CHECK(u->tls);
  CHECK(u->port == "443");
  CHECK(u->host_header == "Ferry.example.com");  // the scheme's default port is left out
  CHECK(u->base_path == "/api");
  CHECK(u->to_string() == "https://Ferry.example.com/api");

  auto h = parse_service_url("http://[::1]:8080", false, "endpoint", "x");
  REQUIRE(h);
  CHECK_FALSE(h->tls);
  CHECK(h->host == "::1");
  CHECK(h->host_header == "[::1]:8080");
  CHECK(h->to_string() == "http://[::1]:8080");
}

TEST_CASE("service URL: refusals name the URL's role, the reason and the way out", "[core][url]") {
  auto e = parse_service_url("http://192.0.2.1", false, "server URL", "pass --allow-plain-http");
  REQUIRE_FALSE(e);
  CHECK(e.error().code == "InvalidParameterValue");
  CHECK(e.error().message ==
        "server URL: plain http is allowed only to a loopback address (192.0.2.1 is not one); "
        "use https, or pass --allow-plain-http");
  for (const char* bad :
       {"ftp://x", "host", "https://", "https://:1", "https://a:", "https://[::1]:", "https://a:0",
        "https://a:65536", "https://a:1x", "https://u@a", "https://a/?q", "https://a#f",
        "https://[::1", "https://[::1]x", "https://[a]", "https://a b", "https://a/%2e",
        "https://a/b\\c"}) {
    INFO(bad);
    auto r = parse_service_url(bad, true, "endpoint", "x");
    REQUIRE_FALSE(r);
    CHECK(r.error().message.starts_with("endpoint: "));
  }
}
