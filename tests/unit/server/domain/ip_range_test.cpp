#include "ferry/server/domain/ip_range.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace ferry::server::domain;

TEST_CASE("validate_ip_range accepts IPv4 addresses and CIDRv4 blocks", "[validation][ip]") {
  for (const char* ok : {"", "192.168.1.1", "0.0.0.0", "255.255.255.255", "192.168.0.0/16",
                         "10.0.0.0/8", "0.0.0.0/0", "1.2.3.4/32", "172.16.0.0/12"}) {
    INFO(ok);
    CHECK(validate_ip_range(ok).has_value());
  }
  for (const char* bad :
       {"256.1.1.1",  "1.2.3",       "1.2.3.4.5",   "1.2.3.4/33", "1.2.3.4/",       "/8",
        "01.2.3.4",   "1.2.3.04",    "10.0.0.0/08", "10.0.0.1/8", "192.168.1.1/16", " 1.2.3.4",
        "1.2.3.4 ",   "1.2.3.4/8/8", "a.b.c.d",     "::1",        "fe80::/10",      "1..2.3",
        "1.2.3.4/-1", "1.2.3.4/+8",  "1234.1.1.1",  "1.2.3.-4",   "1.2.3.4\n"}) {
    INFO(bad);
    auto s = validate_ip_range(bad);
    REQUIRE_FALSE(s.has_value());
    CHECK(s.error().code == "InvalidParameterValue");
  }
}

TEST_CASE("ip_in_range matches addresses against a range", "[validation][ip]") {
  CHECK(ip_in_range("203.0.113.7", ""));
  CHECK(ip_in_range("203.0.113.7", "203.0.113.7"));
  CHECK_FALSE(ip_in_range("203.0.113.8", "203.0.113.7"));
  CHECK(ip_in_range("192.168.0.0", "192.168.0.0/16"));
  CHECK(ip_in_range("192.168.255.255", "192.168.0.0/16"));
  CHECK_FALSE(ip_in_range("192.169.0.0", "192.168.0.0/16"));
  CHECK_FALSE(ip_in_range("192.167.255.255", "192.168.0.0/16"));
  CHECK(ip_in_range("8.8.8.8", "0.0.0.0/0"));
  CHECK(ip_in_range("10.1.2.3", "10.1.2.3/32"));
  CHECK_FALSE(ip_in_range("10.1.2.4", "10.1.2.3/32"));
  CHECK(ip_in_range("10.1.2.3", "10.1.2.2/31"));
  CHECK_FALSE(ip_in_range("10.1.2.4", "10.1.2.2/31"));
  // Malformed input admits nothing.
  CHECK_FALSE(ip_in_range("not-an-ip", ""));
  CHECK_FALSE(ip_in_range("10.0.0.1", "10.0.0.1/8"));
  CHECK_FALSE(ip_in_range("10.0.0.1", "garbage"));
  CHECK_FALSE(ip_in_range("::ffff:10.0.0.1", "10.0.0.0/8"));
}
