// supervise.hpp on Windows (platform/windows/supervise.cpp): BAT scripts through cmd.exe /C,
// the spool, start failures, timeouts and cancels that end a tree with a detached part.
#include "ferry/platform/supervise.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "ferry/platform/process_identity.hpp"
#include "windows/win32.hpp"
#include "windows_processes.hpp"
#include "windows_test_support.hpp"

using namespace ferry::platform;
using ferry::test::filetime_now;
using ferry::test::pings_since;
using ferry::test::terminate_all;
using Kind = SuperviseOutcome::Kind;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

std::string cmd_exe() {
  wchar_t system[MAX_PATH + 1] = {};
  const UINT n = ::GetSystemDirectoryW(system, MAX_PATH);
  REQUIRE(n > 0);
  return win32::narrow(std::wstring_view(system, n)) + "\\cmd.exe";
}

// This process's environment as KEY=VALUE entries (cmd.exe and ping need SystemRoot and Path).
std::vector<std::string> current_environment() {
  std::vector<std::string> env;
  wchar_t* block = ::GetEnvironmentStringsW();
  REQUIRE(block != nullptr);
  for (const wchar_t* p = block; *p != L'\0';) {
    const std::wstring_view entry(p);
    if (entry.front() != L'=') {
      env.push_back(win32::narrow(entry));
    }
    p += entry.size() + 1;
  }
  ::FreeEnvironmentStringsW(block);
  return env;
}

// A spec that runs `lines` as a BAT script in `dir`, with short timers.
SuperviseSpec bat_spec(const ferry::test::WindowsTempDir& dir,
                       const std::vector<std::string>& lines) {
  const auto script = dir / "task.bat";
  {
    std::ofstream out(script, std::ios::binary);
    out << "@echo off\r\n";
    for (const auto& line : lines) {
      out << line << "\r\n";
    }
  }
  SuperviseSpec spec;
  spec.argv = {cmd_exe(), "/D", "/C", win32::display(script)};
  spec.env = current_environment();
  spec.output_path = win32::display(dir / "output");
  spec.timeout = seconds(20);
  spec.kill_grace = milliseconds(500);
  spec.drain_after_exit = milliseconds(200);
  return spec;
}

UserInfo user_named(std::string name) {
  UserInfo user;
  user.name = std::move(name);
  return user;
}

// A background ping (start /b: detached from the script's own wait) and a foreground one.
const std::vector<std::string> kTreeScript = {"start /b ping -n 30 127.0.0.1 >NUL",
                                              "ping -n 30 127.0.0.1 >NUL"};

}  // namespace

TEST_CASE("windows supervise: a BAT script's output and exit code", "[platform][supervise]") {
  const ferry::test::WindowsTempDir dir("ferry-supervise");
  auto spec = bat_spec(dir, {"echo hello", "echo oops 1>&2", "exit /b 3"});
  { std::ofstream(dir / "output") << "old content that must go"; }
  int started_pid = 0;
  spec.on_started = [&](int pid) { started_pid = pid; };
  const auto outcome = run_supervised(spec);
  INFO(outcome.error);
  CHECK(outcome.kind == Kind::kExited);
  CHECK(outcome.exit_code == 3);
  CHECK(outcome.contained);
  CHECK(started_pid > 0);
  CHECK(started_pid != current_process_id());
  CHECK(outcome.start_time <= outcome.end_time);
  const std::string output = ferry::test::file_bytes(dir / "output");
  CHECK(output == "hello\r\noops \r\n");
  CHECK(outcome.output_bytes == output.size());
}

TEST_CASE("windows supervise: output_max_bytes caps the spool; the tail past it comes back",
          "[platform][supervise]") {
  const ferry::test::WindowsTempDir dir("ferry-supervise");
  // 200 lines of "line N" (10 bytes each with CRLF), then "the end".
  auto spec = bat_spec(dir, {"for /L %%i in (100,1,299) do echo line %%i", "echo the end"});
  spec.output_max_bytes = 100;
  spec.output_tail_bytes = 19;
  const auto outcome = run_supervised(spec);
  INFO(outcome.error);
  CHECK(outcome.kind == Kind::kExited);
  const std::string spooled = ferry::test::file_bytes(dir / "output");
  CHECK(spooled.size() == 100);
  CHECK(spooled.starts_with("line 100\r\nline 101\r\n"));
  CHECK(outcome.spooled_bytes == 100);
  CHECK(outcome.output_bytes == 200 * 10 + 9);
  CHECK(outcome.output_tail == "line 299\r\nthe end\r\n");
}

TEST_CASE("windows supervise: output in the OEM code page arrives as UTF-8",
          "[platform][supervise]") {
  const ferry::test::WindowsTempDir dir("ferry-supervise");
  // cmd.exe reads the script and writes its echo in the OEM code page.
  auto spec = bat_spec(dir, {"echo caf\x82", "echo plain"});
  const auto outcome = run_supervised(spec);
  INFO(outcome.error);
  CHECK(outcome.kind == Kind::kExited);
  const char oem[] = "caf\x82";
  wchar_t wide[8] = {};
  const int n = ::MultiByteToWideChar(::GetOEMCP(), 0, oem, 4, wide, 8);
  REQUIRE(n == 4);
  const std::string expected = win32::narrow(std::wstring_view(wide, 4)) + "\r\nplain\r\n";
  CHECK(ferry::test::file_bytes(dir / "output") == expected);
  CHECK(outcome.output_bytes == expected.size());
}

TEST_CASE("windows supervise: working directory and environment reach the script",
          "[platform][supervise]") {
  const ferry::test::WindowsTempDir dir("ferry-supervise");
  std::filesystem::create_directory(dir / "work");
  auto spec = bat_spec(dir, {"cd", "echo [%FERRY_TEST_VALUE%]"});
  spec.working_directory = win32::display(dir / "work");
  spec.env.push_back("FERRY_TEST_VALUE=two words");
  const auto outcome = run_supervised(spec);
  INFO(outcome.error);
  CHECK(outcome.kind == Kind::kExited);
  CHECK(outcome.exit_code == 0);
  CHECK(ferry::test::file_bytes(dir / "output") == spec.working_directory + "\r\n[two words]\r\n");
}

TEST_CASE("windows supervise: exit codes are 32 bits; Windows' fault statuses are abnormal",
          "[platform][supervise]") {
  const ferry::test::WindowsTempDir dir("ferry-supervise");
  auto outcome = run_supervised(bat_spec(dir, {"exit /b -1"}));
  CHECK(outcome.kind == Kind::kExited);
  CHECK(outcome.exit_code == -1);
  outcome = run_supervised(bat_spec(dir, {"exit /b 70000"}));
  CHECK(outcome.kind == Kind::kExited);
  CHECK(outcome.exit_code == 70000);
  // 0xC0000005, the status of an access violation.
  outcome = run_supervised(bat_spec(dir, {"exit /b -1073741819"}));
  CHECK(outcome.kind == Kind::kSignaled);
  CHECK(outcome.exit_code == -1073741819);
  CHECK(describe_abnormal_exit(outcome.exit_code).ends_with("(STATUS_ACCESS_VIOLATION)"));
}

TEST_CASE("windows supervise: what cannot start is a start failure that says why",
          "[platform][supervise]") {
  const ferry::test::WindowsTempDir dir("ferry-supervise");
  bool started = false;
  auto spec = bat_spec(dir, {"echo never"});
  spec.on_started = [&](int) { started = true; };

  SECTION("a missing program") {
    spec.argv = {win32::display(dir / "missing.exe")};
    const auto outcome = run_supervised(spec);
    CHECK(outcome.kind == Kind::kStartFailed);
    CHECK(outcome.error_code == "InternalError");
    CHECK(outcome.error.starts_with("cannot execute '" + spec.argv.front() + "': "));
  }
  SECTION("a working directory that does not exist") {
    spec.working_directory = win32::display(dir / "nowhere");
    const auto outcome = run_supervised(spec);
    CHECK(outcome.kind == Kind::kStartFailed);
    CHECK(outcome.error_code == "InvalidParameterValue.InvalidWorkingDirectory");
    CHECK(outcome.error.starts_with("working directory '" + spec.working_directory + "'"));
  }
  SECTION("a working directory that is a file") {
    std::ofstream(dir / "file") << "x";
    spec.working_directory = win32::display(dir / "file");
    const auto outcome = run_supervised(spec);
    CHECK(outcome.kind == Kind::kStartFailed);
    CHECK(outcome.error_code == "InvalidParameterValue.InvalidWorkingDirectory");
    CHECK(outcome.error.ends_with(": not a directory"));
  }
  SECTION("another user") {
    spec.run_as = user_named("ferry-nobody-else");
    const auto outcome = run_supervised(spec);
    CHECK(outcome.kind == Kind::kStartFailed);
    CHECK(outcome.error_code == "InvalidParameterValue.InvalidUsername");
    CHECK(outcome.error.find("'ferry-nobody-else'") != std::string::npos);
  }
  SECTION("an unreadable script") {
    spec.script_path = win32::display(dir / "missing.bat");
    const auto outcome = run_supervised(spec);
    CHECK(outcome.kind == Kind::kStartFailed);
    CHECK(outcome.error.starts_with("ScriptStoreFailed: "));
  }
  SECTION("an argument with a NUL") {
    spec.argv.push_back(std::string("a\0b", 3));
    const auto outcome = run_supervised(spec);
    CHECK(outcome.kind == Kind::kStartFailed);
  }
  CHECK_FALSE(started);
}

TEST_CASE("windows supervise: the current user by name runs as itself", "[platform][supervise]") {
  const ferry::test::WindowsTempDir dir("ferry-supervise");
  auto spec = bat_spec(dir, {"echo me"});
  wchar_t name[257] = {};
  DWORD size = 257;
  REQUIRE(::GetUserNameW(name, &size));
  spec.run_as = user_named(win32::narrow(name));
  const auto outcome = run_supervised(spec);
  INFO(outcome.error);
  CHECK(outcome.kind == Kind::kExited);
}

TEST_CASE("windows supervise: a timeout ends the whole tree, detached processes too",
          "[platform][supervise]") {
  const ferry::test::WindowsTempDir dir("ferry-supervise");
  auto spec = bat_spec(dir, kTreeScript);
  spec.timeout = milliseconds(1500);
  const auto since = filetime_now();
  std::vector<DWORD> before_kill;
  bool whole_tree = false;
  spec.stop_inside = [&](bool tree) {
    whole_tree = tree;
    before_kill = pings_since(since);
  };
  const auto begin = std::chrono::steady_clock::now();
  const auto outcome = run_supervised(spec);
  const auto took = std::chrono::steady_clock::now() - begin;
  INFO(outcome.error);
  CHECK(outcome.kind == Kind::kTimedOut);
  CHECK(whole_tree);
  CHECK(took < seconds(10));
  // Both pings ran (the test would show nothing if they had not), and none is left.
  CHECK(before_kill.size() == 2);
  const auto after = pings_since(since);
  CHECK(after.empty());
  terminate_all(after);
}

TEST_CASE("windows supervise: kill_process_tree=false ends the main process only",
          "[platform][supervise]") {
  const ferry::test::WindowsTempDir dir("ferry-supervise");
  auto spec = bat_spec(dir, kTreeScript);
  spec.timeout = milliseconds(1500);
  spec.kill_process_tree = false;
  const auto since = filetime_now();
  const auto outcome = run_supervised(spec);
  INFO(outcome.error);
  CHECK(outcome.kind == Kind::kTimedOut);
  CHECK(outcome.exit_code == 1);
  const auto left = pings_since(since);
  CHECK(left.size() == 2);  // the supervisor's end did not take them with it either
  terminate_all(left);
}

TEST_CASE("windows supervise: cancel_process from another thread cancels the task",
          "[platform][supervise]") {
  const ferry::test::WindowsTempDir dir("ferry-supervise");
  auto spec = bat_spec(dir, kTreeScript);
  const auto since = filetime_now();
  std::promise<int> started;
  spec.on_started = [&](int pid) { started.set_value(pid); };
  const auto self = identify_process(current_process_id());
  REQUIRE(self);
  std::thread canceller([&] {
    if (started.get_future().wait_for(seconds(15)) == std::future_status::ready) {
      std::this_thread::sleep_for(milliseconds(300));
      cancel_process(*self, CancelLevel::kGraceful);
    }
  });
  const auto begin = std::chrono::steady_clock::now();
  const auto outcome = run_supervised(spec);
  const auto took = std::chrono::steady_clock::now() - begin;
  canceller.join();
  INFO(outcome.error);
  CHECK(outcome.kind == Kind::kCancelled);
  CHECK(took < seconds(10));
  CHECK(pings_since(since).empty());

  // The cancel was taken: the next task runs.
  const auto next = run_supervised(bat_spec(dir, {"exit /b 4"}));
  CHECK(next.kind == Kind::kExited);
  CHECK(next.exit_code == 4);
}

TEST_CASE("windows supervise: a cancel before the start ends it without starting",
          "[platform][supervise]") {
  const ferry::test::WindowsTempDir dir("ferry-supervise");
  block_supervisor_signals();
  const auto self = identify_process(current_process_id());
  REQUIRE(self);
  REQUIRE(cancel_process(*self, CancelLevel::kGraceful));  // the event exists: not terminated
  bool started = false;
  auto spec = bat_spec(dir, {"echo never"});
  spec.on_started = [&](int) { started = true; };
  const auto outcome = run_supervised(spec);
  CHECK(outcome.kind == Kind::kCancelled);
  CHECK_FALSE(started);
  CHECK_FALSE(std::filesystem::exists(dir / "output"));
}
