#include "ferry/platform/users.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "ferry/core/error_codes.hpp"

using ferry::platform::lookup_user;

TEST_CASE("lookup_user finds root", "[platform][users]") {
  auto root = lookup_user("root");
  REQUIRE(root.has_value());
  CHECK(root->name == "root");
  CHECK(root->uid == 0);
  CHECK(root->gid == 0);
  CHECK(root->home == "/root");
  CHECK_FALSE(root->shell.empty());
}

TEST_CASE("lookup_user reports a missing user by name", "[platform][users]") {
  auto missing = lookup_user("ferry-no-such-user");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == ferry::codes::kInvalidUsername);
  CHECK(missing.error().message == "user 'ferry-no-such-user' does not exist");

  // A trailing '$' is a valid name (Samba machine accounts), so it reaches the lookup.
  auto machine = lookup_user("host$");
  REQUIRE_FALSE(machine.has_value());
  CHECK(machine.error().message == "user 'host$' does not exist");
}

TEST_CASE("lookup_user refuses malformed names before any lookup", "[platform][users]") {
  const std::string bad = GENERATE(as<std::string>{}, "", "bad name", "root:x", "../root", "a$b",
                                   "$", "root\n", "r\xc3\xb6ot", std::string(300, 'a'));
  auto result = lookup_user(bad);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == ferry::codes::kInvalidUsername);
  CHECK(result.error().message.find("does not exist") == std::string::npos);
  CHECK(result.error().message.find("[A-Za-z0-9._-]") != std::string::npos);
}

TEST_CASE("current_uid and can_switch_user follow the effective uid", "[platform][users]") {
  CHECK(ferry::platform::current_uid() == ::geteuid());
  CHECK(ferry::platform::can_switch_user() == (::geteuid() == 0));
}
