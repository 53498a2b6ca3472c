// detached_process.hpp on Windows (platform/windows/detached_process.cpp) under wine, with
// ferry-test-child.exe (test_child.cpp) as the program: its exit code through the loop, NUL as
// stdin and stdout and the log as stderr, no console, cancels, and a handle that detaches.
#include "ferry/platform/detached_process.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "ferry/platform/fs.hpp"
#include "windows/win32.hpp"
#include "windows_test_support.hpp"

namespace {

using namespace ferry::platform;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

fs::path test_child() {
  auto exe = current_executable();
  REQUIRE(exe.has_value());
  return exe->parent_path() / "ferry-test-child.exe";
}

std::unique_ptr<DetachedProcess> start_child(boost::asio::io_context& io, const fs::path& log,
                                             const std::vector<std::string>& args) {
  auto error_log = open_append_file(log, FileAccess::kPrivate, "log");
  REQUIRE(error_log);
  auto process = DetachedProcess::start(io, test_child(), args, *error_log);
  REQUIRE(process);
  return std::move(*process);
}

// Runs the loop until `done` or 10 s.
template <typename Done>
void run_until(boost::asio::io_context& io, Done done) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  io.restart();
  while (!done() && std::chrono::steady_clock::now() < until) {
    io.run_for(milliseconds(50));
    io.restart();
  }
}

// Waits (at most 10 s) until `path` holds `text`.
bool file_shows(const fs::path& path, const std::string& text) {
  for (int i = 0; i < 200; ++i) {
    if (ferry::test::file_bytes(path).find(text) != std::string::npos) {
      return true;
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  return false;
}

}  // namespace

TEST_CASE("windows detached process: its exit code on the loop, NUL stdio, stderr to the log",
          "[platform][detached]") {
  ferry::test::WindowsTempDir dir("ferry-detached");
  boost::asio::io_context io;
  auto p = start_child(io, dir / "err.log", {"exit", "7"});
  const auto id = p->identity();
  CHECK(id.pid > 0);
  CHECK(id.start_time > 0);
  int code = -2;
  p->async_wait([&](int c) { code = c; });
  run_until(io, [&] { return code != -2; });
  CHECK(code == 7);

  // A 32-bit exit code comes back whole (as a signed int).
  auto big = start_child(io, dir / "err.log", {"exit", "-1073741819"});
  code = -2;
  big->async_wait([&](int c) { code = c; });
  run_until(io, [&] { return code != -2; });
  CHECK(code == -1073741819);

  auto report = start_child(io, dir / "report.log", {"report"});
  code = -2;
  report->async_wait([&](int c) { code = c; });
  run_until(io, [&] { return code != -2; });
  CHECK(code == 0);
  // No console of the starter's (DETACHED_PROCESS); NUL is a character device at its end.
  CHECK(ferry::test::file_bytes(dir / "report.log") ==
        "stdin=char stdout=char console=0 job=0 stdin-read=0");
}

TEST_CASE("windows detached process: cancels, and a handle that detaches", "[platform][detached]") {
  ferry::test::WindowsTempDir dir("ferry-detached");
  boost::asio::io_context io;

  // Graceful: the program's cancel event, as a supervisor has.
  auto waiting = start_child(io, dir / "cancel.log", {"cancel-wait"});
  REQUIRE(file_shows(dir / "cancel.log", "waiting"));
  int code = -2;
  waiting->async_wait([&](int c) { code = c; });
  CHECK(waiting->cancel(CancelLevel::kGraceful));
  run_until(io, [&] { return code != -2; });
  CHECK(code == 42);
  CHECK_FALSE(waiting->cancel(CancelLevel::kGraceful));  // gone

  // Graceful without an event ends the program, as SIGTERM's default action does.
  auto sleeper = start_child(io, dir / "sleep.log", {"sleep", "30000"});
  code = -2;
  sleeper->async_wait([&](int c) { code = c; });
  CHECK(sleeper->cancel(CancelLevel::kGraceful));
  run_until(io, [&] { return code != -2; });
  CHECK(code == 1);

  // Forced ignores the event.
  auto forced = start_child(io, dir / "forced.log", {"cancel-wait"});
  REQUIRE(file_shows(dir / "forced.log", "waiting"));
  code = -2;
  forced->async_wait([&](int c) { code = c; });
  CHECK(forced->cancel(CancelLevel::kForced));
  run_until(io, [&] { return code != -2; });
  CHECK(code == 1);

  // Destroying the handle detaches: the program goes on, the wait never completes.
  auto left = start_child(io, dir / "left.log", {"sleep", "30000"});
  const auto id = left->identity();
  bool waited = false;
  left->async_wait([&](int) { waited = true; });
  left.reset();
  io.restart();
  io.run_for(milliseconds(200));
  CHECK(is_running(id));
  CHECK_FALSE(waited);
  CHECK(cancel_process(id, CancelLevel::kForced));
}

TEST_CASE("windows detached process: a program that cannot start is an error",
          "[platform][detached]") {
  ferry::test::WindowsTempDir dir("ferry-detached");
  boost::asio::io_context io;
  auto log = open_append_file(dir / "err.log", FileAccess::kPrivate, "log");
  REQUIRE(log);
  auto p = DetachedProcess::start(io, dir / "missing.exe", {}, *log);
  REQUIRE_FALSE(p);
  CHECK(p.error().code == "InternalError");
  CHECK(p.error().message.find("missing.exe") != std::string::npos);
}

// Its own ctest entry (tests/windows/CMakeLists.txt): the test process puts itself in a job,
// which it cannot leave.
TEST_CASE("windows detached process: out of the starter's job when the job allows it",
          "[platform][detached][job]") {
  ferry::test::WindowsTempDir dir("ferry-detached");
  boost::asio::io_context io;
  const win32::UniqueHandle job(::CreateJobObjectW(nullptr, nullptr));
  REQUIRE(job.valid());
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
  limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_BREAKAWAY_OK;
  REQUIRE(::SetInformationJobObject(job.get(), JobObjectExtendedLimitInformation, &limits,
                                    sizeof limits));
  REQUIRE(::AssignProcessToJobObject(job.get(), ::GetCurrentProcess()));

  auto report = start_child(io, dir / "report.log", {"report"});
  int code = -2;
  report->async_wait([&](int c) { code = c; });
  run_until(io, [&] { return code != -2; });
  CHECK(code == 0);
  CHECK(ferry::test::file_bytes(dir / "report.log").find("job=0") != std::string::npos);

  // A job without breakaway keeps it.
  limits.BasicLimitInformation.LimitFlags = 0;
  REQUIRE(::SetInformationJobObject(job.get(), JobObjectExtendedLimitInformation, &limits,
                                    sizeof limits));
  auto kept = start_child(io, dir / "kept.log", {"report"});
  code = -2;
  kept->async_wait([&](int c) { code = c; });
  run_until(io, [&] { return code != -2; });
  CHECK(code == 0);
  CHECK(ferry::test::file_bytes(dir / "kept.log").find("job=1") != std::string::npos);
}
