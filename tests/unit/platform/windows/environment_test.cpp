// users.hpp and environment.hpp on Windows: the current account, a task's environment, the
// interpreters of BAT and POWERSHELL, SHELL refused, the default working directory.
#include "ferry/platform/environment.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ferry/core/error_codes.hpp"
#include "ferry/platform/users.hpp"
#include "windows/account.hpp"
#include "windows/win32.hpp"
#include "windows_test_support.hpp"

using namespace ferry::platform;

namespace {

// The value of `name` in KEY=VALUE entries (names compared as written).
std::optional<std::string> value_of(const std::vector<std::string>& env, const std::string& name) {
  for (const auto& entry : env) {
    if (entry.starts_with(name + "=")) {
      return entry.substr(name.size() + 1);
    }
  }
  return std::nullopt;
}

std::string system_directory() {
  wchar_t system[MAX_PATH + 1] = {};
  const UINT n = ::GetSystemDirectoryW(system, MAX_PATH);
  REQUIRE(n > 0);
  return win32::narrow(std::wstring_view(system, n));
}

}  // namespace

TEST_CASE("windows users: the current account by its name, others refused", "[platform][users]") {
  const std::string name = default_task_username();
  REQUIRE_FALSE(name.empty());
  CHECK(name == win32::current_user_name());
  const auto self = lookup_user(name);
  REQUIRE(self.has_value());
  CHECK(self->account.same_user(current_account()));
  CHECK_FALSE(self->home.empty());
  CHECK(self->account.describe().find("S-1-") != std::string::npos);
  // With a domain, in another case.
  std::string upper = name;
  for (auto& c : upper) {
    c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  }
  CHECK(lookup_user("SOMEDOMAIN\\" + upper).has_value());
  const auto other = lookup_user("someone-else");
  REQUIRE_FALSE(other.has_value());
  CHECK(other.error().code == ferry::codes::kInvalidUsername);
  CHECK_FALSE(can_switch_user());
  CHECK_FALSE(Account().same_user(current_account()));
}

TEST_CASE("windows environment: a task's environment has what Windows programs need",
          "[platform][environment]") {
  const auto user = lookup_user(default_task_username());
  REQUIRE(user.has_value());
  const auto env = task_environment(*user);
  const std::string windir =
      win32::display(std::filesystem::path(system_directory()).parent_path());
  CHECK(value_of(env, "SystemRoot") == windir);
  CHECK(value_of(env, "PATH").has_value());
  CHECK_FALSE(value_of(env, "Path").has_value());  // one spelling
  for (const char* name :
       {"windir", "SystemDrive", "ComSpec", "PATHEXT", "TEMP", "TMP", "USERPROFILE"}) {
    INFO(name);
    bool found = false;
    for (const auto& entry : env) {
      const std::string key = entry.substr(0, entry.find('='));
      found = found || ::CompareStringOrdinal(win32::widen(key).c_str(), -1,
                                              win32::widen(name).c_str(), -1, TRUE) == CSTR_EQUAL;
    }
    CHECK(found);
  }
}

TEST_CASE("windows environment: BAT through cmd.exe /D /S /C, POWERSHELL, SHELL refused",
          "[platform][environment]") {
  const auto batch = batch_invocation("C:\\state dir (x86)\\tasks\\t\\script\\t.bat");
  REQUIRE(batch.has_value());
  const std::string cmd = system_directory() + "\\cmd.exe";
  CHECK(batch->argv.front() == cmd);
  CHECK(batch->command_line ==
        "\"" + cmd + "\" /D /S /C \"\"C:\\state dir (x86)\\tasks\\t\\script\\t.bat\"\"");
  const auto percent = batch_invocation("C:\\100%\\t.bat");
  REQUIRE_FALSE(percent.has_value());
  CHECK(percent.error().code == ferry::codes::kInvalidParameterValue);

  const auto shell = default_shell();
  REQUIRE_FALSE(shell.has_value());
  CHECK(shell.error().code == ferry::codes::kAgentUnsupportedCommandType);

  // Wine has a (stub) Windows PowerShell in its place.
  const auto powershell = find_powershell("");
  REQUIRE(powershell.has_value());
  CHECK(*powershell == system_directory() + "\\WindowsPowerShell\\v1.0\\powershell.exe");
  const std::string prologue = powershell_prologue();
  CHECK(prologue.starts_with("\xEF\xBB\xBF"));
  CHECK(prologue.ends_with("\r\n"));
  CHECK(prologue.find("[Console]::OutputEncoding") != std::string::npos);
}

TEST_CASE("windows environment: the default working directory is made under the state dir",
          "[platform][environment]") {
  const ferry::test::WindowsTempDir dir("ferry-workdir");
  const auto user = lookup_user(default_task_username());
  REQUIRE(user.has_value());
  const auto work = default_working_directory(*user, dir.path());
  REQUIRE(work.has_value());
  CHECK(*work == win32::display(dir / "workdir"));
  CHECK(std::filesystem::is_directory(dir / "workdir"));
}
