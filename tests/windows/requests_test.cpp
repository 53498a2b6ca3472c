// stop_requests.hpp and reload_requests.hpp on Windows (platform/windows/stop_requests.cpp,
// reload_requests.cpp). Stop requests come from the console's control handler and the service's
// controls; the console's cannot be made under wine (GenerateConsoleCtrlEvent fails there), so
// these tests make them the way the service's control handler does (win32::request_stop), and
// service_test.cpp sends real STOP controls through the SCM.
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "ferry/platform/reload_requests.hpp"
#include "ferry/platform/stop_requests.hpp"
#include "windows/control_requests.hpp"
#include "windows/win32.hpp"

namespace {

using namespace ferry::platform;

bool set_reload_event(DWORD pid) {
  const win32::UniqueHandle event(
      ::OpenEventW(EVENT_MODIFY_STATE, FALSE, win32::reload_event_name(pid).c_str()));
  return event.valid() && ::SetEvent(event.get()) != 0;
}

// Runs the loop until `count` reaches `n` or 5 s have passed.
void run_until_count(boost::asio::io_context& io, const int& count, int n) {
  io.restart();
  for (int i = 0; i < 100 && count < n; ++i) {
    io.run_for(std::chrono::milliseconds(50));
    io.restart();
  }
}

}  // namespace

TEST_CASE("windows stop requests: the first one runs the handler on the loop; close holds back",
          "[platform][requests]") {
  boost::asio::io_context io;
  std::vector<std::string> seen;
  {
    StopRequests stop(io, [&](std::string_view what) { seen.emplace_back(what); });
    CHECK(win32::request_stop("service STOP"));
    CHECK(win32::request_stop("service SHUTDOWN"));
    CHECK(seen.empty());  // on the loop, not on the caller's thread
    io.poll();
    CHECK(seen == std::vector<std::string>{"service STOP"});

    StopRequests second(
        io, [&](std::string_view what) { seen.emplace_back("2 " + std::string(what)); });
    CHECK(win32::request_stop("service STOP"));
    io.restart();
    io.poll();
    CHECK(seen == std::vector<std::string>{"service STOP", "2 service STOP"});
    second.close();
    CHECK(win32::request_stop("service STOP"));  // held back, not acted on
    io.restart();
    io.poll();
    CHECK(seen.size() == 2);
  }
  // A request that was posted before close() does not run after it.
  StopRequests third(io,
                     [&](std::string_view what) { seen.emplace_back("3 " + std::string(what)); });
  CHECK(win32::request_stop("service STOP"));
  third.close();
  io.restart();
  io.poll();
  CHECK(seen.size() == 2);
}

TEST_CASE("windows stop requests: a service STOP before any StopRequests waits for the first",
          "[platform][requests]") {
  boost::asio::io_context io;
  CHECK_FALSE(win32::request_stop("service STOP"));
  CHECK_FALSE(win32::request_stop("service SHUTDOWN"));  // the first is kept
  std::vector<std::string> seen;
  StopRequests stop(io, [&](std::string_view what) { seen.emplace_back(what); });
  io.poll();
  CHECK(seen == std::vector<std::string>{"service STOP"});
}

TEST_CASE("windows reload requests: the process's named event, and the service's way to it",
          "[platform][requests]") {
  boost::asio::io_context io;
  const DWORD pid = ::GetCurrentProcessId();
  CHECK(win32::reload_event_name(pid) == L"Local\\ferry-reload-" + std::to_wstring(pid));
  CHECK_FALSE(set_reload_event(pid));  // no ReloadRequests, no event
  int count = 0;
  ReloadRequests reload(io, [&] { ++count; });
  REQUIRE(set_reload_event(pid));
  run_until_count(io, count, 1);
  CHECK(count == 1);
  REQUIRE(set_reload_event(pid));
  run_until_count(io, count, 2);
  CHECK(count == 2);
  CHECK(win32::request_reload());  // SERVICE_CONTROL_PARAMCHANGE
  run_until_count(io, count, 3);
  CHECK(count == 3);
  reload.close();
  CHECK_FALSE(win32::request_reload());  // the event went with close()
  io.restart();
  io.poll();
  CHECK(count == 3);
}
