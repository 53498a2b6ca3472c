// Programs started to outlive their starter, and the OS's stop requests, on an event loop.
#include "ferry/platform/detached_process.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "ferry/platform/stop_requests.hpp"
#include "test_process.hpp"

namespace fs = std::filesystem;
using namespace ferry::platform;

namespace {

std::unique_ptr<DetachedProcess> start(boost::asio::io_context& io, const fs::path& log,
                                       const std::string& script) {
  auto error_log = create_file(log, FileAccess::kPrivate, "log");
  REQUIRE(error_log);
  auto process = DetachedProcess::start(io, "/bin/sh", {"-c", script}, *error_log);
  REQUIRE(process);
  return std::move(*process);
}

}  // namespace

TEST_CASE("detached process: its own session, null stdio, stderr to the log, its exit code",
          "[platform][process]") {
  ferry::test::TempDir dir;
  boost::asio::io_context io;
  // Session id, then whether stdin is at EOF at once; stdout goes nowhere.
  auto p = start(io, dir / "err.log",
                 "cut -d' ' -f6 /proc/$$/stat >&2; read x || echo eof >&2; echo out; exit 3");
  const auto id = p->identity();
  CHECK(id.pid > 0);
  CHECK(id == identify_process(id.pid));
  int code = -2;
  p->async_wait([&](int c) { code = c; });
  io.run();
  CHECK(code == 3);
  CHECK(ferry::test::read_file(dir / "err.log") ==
        std::to_string(id.pid) + "\neof\n");  // it leads its session
}

TEST_CASE("detached process: a graceful cancel is SIGTERM; destroying the handle detaches",
          "[platform][process]") {
  ferry::test::TempDir dir;
  boost::asio::io_context io;
  auto p =
      start(io, dir / "err.log", "trap 'echo term >&2; exit 9' TERM; while :; do sleep 0.05; done");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the trap is set
  int code = -2;
  p->async_wait([&](int c) { code = c; });
  CHECK(p->cancel(CancelLevel::kGraceful));
  io.run();
  CHECK(code == 9);
  CHECK(ferry::test::read_file(dir / "err.log") == "term\n");

  auto left = start(io, dir / "left.log", "sleep 30");
  const auto id = left->identity();
  bool waited = false;
  left->async_wait([&](int) { waited = true; });
  left.reset();  // detached: it goes on, and the wait never completes
  io.restart();
  io.poll();
  CHECK(is_running(id));
  CHECK_FALSE(waited);
  CHECK(cancel_process(id, CancelLevel::kForced));
  CHECK(::waitpid(id.pid, nullptr, 0) == id.pid);  // no one else reaps it now
  io.restart();
  io.run_for(std::chrono::milliseconds(100));
  CHECK_FALSE(waited);
}

TEST_CASE("detached process: a program that cannot start is an error", "[platform][process]") {
  ferry::test::TempDir dir;
  boost::asio::io_context io;
  auto log = create_file(dir / "err.log", FileAccess::kPrivate, "log");
  REQUIRE(log);
  auto p = DetachedProcess::start(io, dir / "missing-program", {}, *log);
  REQUIRE_FALSE(p);
  CHECK(p.error().code == "InternalError");
  CHECK_FALSE(p.error().message.empty());
}

TEST_CASE("stop requests: SIGTERM and SIGINT run the handler once, not the default action",
          "[platform][process]") {
  const int sig = GENERATE(SIGTERM, SIGINT);
  boost::asio::io_context io;
  std::string heard;
  StopRequests requests(io, [&](std::string_view what) { heard = what; });
  REQUIRE(::kill(::getpid(), sig) == 0);
  io.run_for(std::chrono::seconds(5));
  CHECK(heard == (sig == SIGTERM ? "SIGTERM" : "SIGINT"));

  // Closed: the loop has no work of ours left, so it returns at once.
  boost::asio::io_context idle;
  StopRequests closed(idle, [](std::string_view) {});
  closed.close();
  const auto start = std::chrono::steady_clock::now();
  idle.run_for(std::chrono::seconds(5));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
}
