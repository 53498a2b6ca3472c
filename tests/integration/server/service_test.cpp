// ferry-server under a stand-in for systemd: READY once it listens, STATUS with its address and
// connected agents, WATCHDOG, RELOADING and READY around SIGHUP (which applies the log level and
// the rate limits, and keeps the running configuration when the file is invalid), STOPPING on
// SIGTERM.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "notify_listener.hpp"
#include "server_process.hpp"
#include "test_process.hpp"

using namespace std::chrono_literals;
using namespace ferry::test;

TEST_CASE("server: notify protocol in order, SIGHUP reloads, SIGTERM stops", "[systemd]") {
  TempDir dir("ferry-server-notify", 0700);
  NotifyListener notify(dir.path());
  ServerProcess server(FERRY_SERVER_BIN, {}, {},
                       {"NOTIFY_SOCKET=" + notify.name(), "WATCHDOG_USEC=1000000"});

  const int ready = notify.wait_for("READY=1");
  const int status = notify.wait_for("STATUS=listening on " + server.endpoint() + ", ");
  const int watchdog = notify.wait_for("WATCHDOG=1");
  INFO(server.stderr_text());
  REQUIRE(ready >= 0);
  REQUIRE(status > ready);
  REQUIRE(watchdog > ready);
  CHECK(notify.seen()[static_cast<std::size_t>(status)].ends_with(" agents connected"));

  // The test config logs at warn: info lines appear only once the reload applied "info". The
  // rate limit applies at once (one request per 1000 s, one at once: the second is refused);
  // max_run_instances waits for the next start.
  CHECK(server.api().call("DescribeRegions", nlohmann::json::object()).ok());
  CHECK(server.api().call("DescribeRegions", nlohmann::json::object()).ok());
  auto config = nlohmann::json::parse(read_file(server.config_file()));
  config["log_level"] = "info";
  config["rate_limit"] = 0.001;
  config["rate_burst"] = 1;
  config["max_run_instances"] = 100;
  { std::ofstream(server.config_file(), std::ios::trunc) << config.dump(2); }
  const std::size_t before = notify.seen().size();
  REQUIRE(::kill(server.pid(), SIGHUP) == 0);
  const int reloading = notify.wait_for("RELOADING=1\nMONOTONIC_USEC=", before);
  REQUIRE(reloading >= 0);
  CHECK(notify.wait_for("READY=1", static_cast<std::size_t>(reloading)) > reloading);
  CHECK(eventually(
      [&] {
        return server.stderr_text().find(
                   "reload: max_run_instances changed: takes effect at the "
                   "next start") != std::string::npos;
      },
      10s));
  CHECK(server.stderr_text().find("reload: log_level changed: applied") != std::string::npos);
  CHECK(server.stderr_text().find("reload: rate_limit changed: applied") != std::string::npos);
  CHECK(server.stderr_text().find("reload: rate_burst changed: applied") != std::string::npos);
  CHECK(server.stderr_text().find("4 key(s) changed") != std::string::npos);
  CHECK(server.api().call("DescribeRegions", nlohmann::json::object()).ok());
  CHECK(server.api().call("DescribeRegions", nlohmann::json::object()).error_code() ==
        "RequestLimitExceeded");

  // An invalid file: an error, and the server goes on.
  { std::ofstream(server.config_file(), std::ios::trunc) << R"({"log_level": "loud"})"; }
  const std::size_t before_bad = notify.seen().size();
  REQUIRE(::kill(server.pid(), SIGHUP) == 0);
  const int bad = notify.wait_for("RELOADING=1", before_bad);
  CHECK(notify.wait_for("READY=1", static_cast<std::size_t>(bad)) > bad);
  CHECK(eventually(
      [&] {
        return server.stderr_text().find("the running configuration is kept") != std::string::npos;
      },
      10s));
  CHECK(server.stderr_text().find("log_level") != std::string::npos);
  // Still the limit of the last valid file.
  CHECK(server.api().call("DescribeRegions", nlohmann::json::object()).error_code() ==
        "RequestLimitExceeded");

  const std::size_t before_stop = notify.seen().size();
  CHECK(server.stop() == 0);
  CHECK(notify.wait_for("STOPPING=1", before_stop, 5s) >= 0);
}
