// What the machine says about itself.
#include "ferry/platform/host.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

TEST_CASE("host: the OS, the host name, the addresses and the machine id", "[platform][host]") {
  CHECK(ferry::platform::os_name() == "Linux");

  char name[256] = {};
  REQUIRE(::gethostname(name, sizeof(name) - 1) == 0);
  CHECK(ferry::platform::host_name() == name);

  const auto addresses = ferry::platform::local_addresses();
  CHECK(addresses.size() <= 32);
  bool v6_seen = false;
  for (const auto& a : addresses) {
    INFO(a);
    CHECK(a != "127.0.0.1");
    CHECK(a != "::1");
    CHECK_FALSE(a.starts_with("fe80:"));
    const bool v6 = a.find(':') != std::string::npos;
    CHECK_FALSE((v6_seen && !v6));  // IPv4 first
    v6_seen = v6_seen || v6;
  }

  std::string expected;
  std::getline(std::ifstream("/etc/machine-id"), expected);
  CHECK(ferry::platform::machine_id() == (expected.size() <= 128 ? expected : ""));
}
