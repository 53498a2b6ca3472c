// What the machine says about itself.
#include "ferry/platform/host.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "test_process.hpp"

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
  if (expected.size() == 32 && expected != "uninitialized") {
    CHECK(ferry::platform::machine_id() == expected);
  }
}

TEST_CASE("host: the machine id comes from the first file that holds a plausible one",
          "[platform][host]") {
  using ferry::platform::first_machine_id;
  const ferry::test::TempDir dir("ferry-host");
  const auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(dir / name) << content;
    return dir / name;
  };
  const auto id = write("machine-id", "3d1219c7c4c5404aaa1f6d2a48adfda4\n");
  const auto uuid = write("product_uuid", "  4C4C4544-0042-3510-8052-B4C04F564433\n");
  const auto empty = write("empty", "\n");
  const auto uninitialized = write("uninitialized", "uninitialized\n");
  const auto zeros = write("zeros", "00000000-0000-0000-0000-000000000000\n");
  const auto ones = write("ones", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF\n");
  const auto spaced = write("spaced", "two words\n");
  const auto long_id = write("long", std::string(129, 'a'));
  const auto missing = dir / "missing";

  CHECK(first_machine_id({id, uuid}) == "3d1219c7c4c5404aaa1f6d2a48adfda4");
  // The SMBIOS UUID where /etc/machine-id is missing, empty or not set yet; in lowercase.
  for (const auto& first : {missing, empty, uninitialized}) {
    INFO(first);
    CHECK(first_machine_id({first, uuid}) == "4c4c4544-0042-3510-8052-b4c04f564433");
  }
  for (const auto& bad : {zeros, ones, spaced, long_id, missing, empty}) {
    INFO(bad);
    CHECK(first_machine_id({bad}).empty());
  }
  CHECK(first_machine_id({write("max", std::string(128, 'b'))}) == std::string(128, 'b'));

  // The variable for tests and images names the only file read.
  REQUIRE(::setenv(ferry::platform::kMachineIdFileVariable, uuid.c_str(), 1) == 0);
  CHECK(ferry::platform::machine_id() == "4c4c4544-0042-3510-8052-b4c04f564433");
  REQUIRE(::setenv(ferry::platform::kMachineIdFileVariable, missing.c_str(), 1) == 0);
  CHECK(ferry::platform::machine_id().empty());
  ::unsetenv(ferry::platform::kMachineIdFileVariable);
}
