// The notify protocol against a real AF_UNIX datagram socket standing in for systemd.
#include "ferry/platform/service.hpp"

#include <time.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "notify_listener.hpp"
#include "test_process.hpp"

using namespace std::chrono_literals;
using ferry::platform::ServiceManagerSettings;
using ferry::platform::ServiceNotifier;
using ferry::test::NotifyListener;

namespace {

std::uint64_t monotonic_usec() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000U +
         static_cast<std::uint64_t>(now.tv_nsec) / 1000U;
}

// Runs `loop` until `listener` has received `count` messages (kept in `seen`), at most 10 s.
void run_until(boost::asio::io_context& loop, NotifyListener& listener,
               std::vector<std::string>& seen, std::size_t count) {
  ferry::test::eventually(
      [&] {
        loop.restart();
        loop.run_for(20ms);
        for (auto& m : listener.take()) {
          seen.push_back(std::move(m));
        }
        return seen.size() >= count;
      },
      10s, 1ms);
}

}  // namespace

TEST_CASE("notify: one datagram to a path or an abstract socket", "[platform][service]") {
  ferry::test::TempDir dir;
  const bool abstract = GENERATE(false, true);
  NotifyListener listener(dir.path(), abstract);
  REQUIRE(ferry::platform::send_service_notification(listener.name(), "READY=1"));
  REQUIRE(ferry::platform::send_service_notification(listener.name(), "STATUS=a\nX=1"));
  CHECK(listener.take() == std::vector<std::string>{"READY=1", "STATUS=a\nX=1"});
}

TEST_CASE("notify: a socket that is not there or not a path is an error", "[platform][service]") {
  ferry::test::TempDir dir;
  CHECK_FALSE(ferry::platform::send_service_notification((dir.path() / "none").string(), "X=1"));
  CHECK_FALSE(ferry::platform::send_service_notification("relative/sock", "X=1"));
  CHECK_FALSE(ferry::platform::send_service_notification("/" + std::string(200, 'x'), "X=1"));
}

TEST_CASE("notify: settings come from the environment, which loses them", "[platform][service]") {
  ::setenv("NOTIFY_SOCKET", "/run/test/notify", 1);
  ::setenv("WATCHDOG_USEC", "3000000", 1);
  SECTION("a watchdog for this process") {
    ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
    const auto s = ferry::platform::take_service_manager_settings();
    CHECK(s.notify_socket == "/run/test/notify");
    CHECK(s.watchdog == 3s);
  }
  SECTION("no WATCHDOG_PID: ours too") {
    ::unsetenv("WATCHDOG_PID");
    CHECK(ferry::platform::take_service_manager_settings().watchdog == 3s);
  }
  SECTION("a watchdog for another process") {
    ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
    const auto s = ferry::platform::take_service_manager_settings();
    CHECK(s.notify_socket == "/run/test/notify");
    CHECK(s.watchdog == 0us);
  }
  SECTION("a malformed WATCHDOG_USEC") {
    ::setenv("WATCHDOG_USEC", "12x", 1);
    CHECK(ferry::platform::take_service_manager_settings().watchdog == 0us);
  }
  // Processes we start do not see them.
  CHECK(std::getenv("NOTIFY_SOCKET") == nullptr);
  CHECK(std::getenv("WATCHDOG_USEC") == nullptr);
  CHECK(std::getenv("WATCHDOG_PID") == nullptr);
  // Without NOTIFY_SOCKET there is no manager.
  CHECK(ferry::platform::take_service_manager_settings().notify_socket.empty());
}

TEST_CASE("notifier: READY, RELOADING with the monotonic time, STOPPING", "[platform][service]") {
  ferry::test::TempDir dir;
  NotifyListener listener(dir.path(), false);
  boost::asio::io_context loop;
  ServiceNotifier notifier(loop, ServiceManagerSettings{listener.name(), 0us});
  CHECK(notifier.enabled());
  notifier.ready();
  const auto before = monotonic_usec();
  notifier.reloading();
  const auto after = monotonic_usec();
  notifier.ready();
  notifier.stopping();
  const auto seen = listener.take();
  REQUIRE(seen.size() == 4);
  CHECK(seen[0] == "READY=1");
  REQUIRE(seen[1].starts_with("RELOADING=1\nMONOTONIC_USEC="));
  const auto usec = std::stoull(seen[1].substr(seen[1].find('=', 12) + 1));
  CHECK(usec >= before);
  CHECK(usec <= after);
  CHECK(seen[2] == "READY=1");
  CHECK(seen[3] == "STOPPING=1");
}

TEST_CASE("notifier: STATUS only when it changes, at most once per interval, the latest wins",
          "[platform][service]") {
  ferry::test::TempDir dir;
  NotifyListener listener(dir.path(), false);
  boost::asio::io_context loop;
  ServiceNotifier notifier(loop, ServiceManagerSettings{listener.name(), 0us}, 200ms);
  notifier.status("connected to a");
  notifier.status("connected to a");
  CHECK(listener.take() == std::vector<std::string>{"STATUS=connected to a"});
  // Within the interval: held back, and only the last of them goes.
  notifier.status("reconnecting: x");
  notifier.status("reconnecting: y\nsecond line");
  CHECK(listener.take().empty());
  std::vector<std::string> seen;
  run_until(loop, listener, seen, 1);
  CHECK(seen == std::vector<std::string>{"STATUS=reconnecting: y second line"});
  // Back to what was sent last before the timer fires: nothing goes.
  notifier.status("back");
  notifier.status("reconnecting: y second line");
  loop.restart();
  loop.run_for(400ms);
  CHECK(listener.take().empty());
}

TEST_CASE("notifier: WATCHDOG=1 every half of the timeout, only while the loop runs",
          "[platform][service]") {
  ferry::test::TempDir dir;
  NotifyListener listener(dir.path(), false);
  boost::asio::io_context loop;
  ServiceNotifier notifier(loop, ServiceManagerSettings{listener.name(), 100ms});
  CHECK(notifier.watchdog_interval() == 50ms);
  notifier.start_watchdog();
  // The first ping goes at once; the next ones need the loop.
  CHECK(listener.take() == std::vector<std::string>{"WATCHDOG=1"});
  ::usleep(200'000);
  CHECK(listener.take().empty());
  std::vector<std::string> seen;
  run_until(loop, listener, seen, 3);
  REQUIRE(seen.size() >= 3);
  for (const auto& m : seen) {
    CHECK(m == "WATCHDOG=1");
  }
}

TEST_CASE("notifier: without NOTIFY_SOCKET nothing is sent and nothing is scheduled",
          "[platform][service]") {
  boost::asio::io_context loop;
  ServiceNotifier notifier(loop, ServiceManagerSettings{"", 100ms});
  CHECK_FALSE(notifier.enabled());
  notifier.ready();
  notifier.status("x");
  notifier.start_watchdog();
  // No timer of ours is pending: the loop has nothing to run.
  CHECK(loop.run_for(1s) == 0);
}

TEST_CASE("service: on Linux the body runs as it is, and installing is the package's job",
          "[platform][service]") {
  int runs = 0;
  CHECK(ferry::platform::run_service_or_console("ferry-agent", [&] {
          ++runs;
          return 7;
        }) == 7);
  CHECK(runs == 1);
  CHECK_FALSE(ferry::platform::in_service_mode());
  const auto installed = ferry::platform::install_service(
      ferry::platform::ServiceDefinition{"ferry-agent", "", "", "/usr/bin/ferry-agent", {}});
  REQUIRE_FALSE(installed);
  CHECK(installed.error().message.find("systemd") != std::string::npos);
  CHECK_FALSE(ferry::platform::uninstall_service("ferry-agent", 1s));
}
