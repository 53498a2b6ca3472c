#include "ferry/platform/users.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "ferry/core/error_codes.hpp"
#include "posix/account_native.hpp"

using ferry::platform::lookup_user;

TEST_CASE("lookup_user finds root", "[platform][users]") {
  auto root = lookup_user("root");
  REQUIRE(root.has_value());
  CHECK(root->name == "root");
  REQUIRE(root->account.native() != nullptr);
  CHECK(root->account.native()->uid == 0);
  CHECK(root->account.native()->gid == 0);
  CHECK(root->account.is_superuser());
  CHECK(root->account.describe() == "uid 0");
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

TEST_CASE("current_account and can_switch_user follow the effective ids", "[platform][users]") {
  const auto self = ferry::platform::current_account();
  REQUIRE(self.native() != nullptr);
  CHECK(self.native()->uid == ::geteuid());
  CHECK(self.native()->gid == ::getegid());
  CHECK(self.is_superuser() == (::geteuid() == 0));
  CHECK(ferry::platform::can_switch_user() == (::geteuid() == 0));
}

TEST_CASE("accounts: the same user whatever the group; no account is no one", "[platform][users]") {
  using ferry::platform::make_account;
  CHECK(make_account(1000, 1000).same_user(make_account(1000, 27)));
  CHECK_FALSE(make_account(1000, 1000).same_user(make_account(1001, 1000)));
  CHECK_FALSE(make_account(1000, 1000).is_superuser());
  CHECK(make_account(1000, 1000).describe() == "uid 1000");
  const ferry::platform::Account none;
  CHECK(none.native() == nullptr);
  CHECK_FALSE(none.same_user(none));
  CHECK_FALSE(none.same_user(make_account(0, 0)));
  CHECK_FALSE(none.is_superuser());
}
