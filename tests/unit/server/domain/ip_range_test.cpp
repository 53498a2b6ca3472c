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
  struct Case {
    const char* address;
    const char* range;
    bool in;
  };
  const Case cases[] = {
      {"203.0.113.7", "", true},
      {"203.0.113.7", "203.0.113.7", true},
      {"203.0.113.8", "203.0.113.7", false},
      {"192.168.0.0", "192.168.0.0/16", true},
      {"192.168.255.255", "192.168.0.0/16", true},
      {"192.169.0.0", "192.168.0.0/16", false},
      {"192.167.255.255", "192.168.0.0/16", false},
      {"8.8.8.8", "0.0.0.0/0", true},
      {"10.1.2.3", "10.1.2.3/32", true},
      {"10.1.2.4", "10.1.2.3/32", false},
      {"10.1.2.3", "10.1.2.2/31", true},
      {"10.1.2.4", "10.1.2.2/31", false},
      // Malformed input admits nothing.
      {"not-an-ip", "", false},
      {"10.0.0.1", "10.0.0.1/8", false},
      {"10.0.0.1", "garbage", false},
      {"::ffff:10.0.0.1", "10.0.0.0/8", false},
  };
  for (const Case& c : cases) {
    INFO(c.address << " in " << c.range);
    CHECK(ip_in_range(c.address, c.range) == c.in);
  }
}
