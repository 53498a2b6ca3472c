// What the daemon tells the service manager (its status line) and what a reload changes, on the
// fake clock, server and runner.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "agent_test_support.hpp"
#include "daemon_fakes.hpp"

using ferry::TaskStatus;
using namespace ferry::test;
using std::chrono::seconds;

TEST_CASE("daemon: the status line follows the link and the running tasks") {
  StateDir state;
  Harness h(Harness::options(state.path()));
  int changes = 0;
  h.daemon->on_status_change([&] { ++changes; });
  CHECK(h.daemon->status_line() == "connecting to http://127.0.0.1:1, 0 tasks running");

  h.server->push.on_open();
  h.settle();
  CHECK(changes == 1);
  CHECK(h.daemon->status_line() == "connected to http://127.0.0.1:1, 0 tasks running");

  h.server->describe_reply = json{{"InvocationNormalTaskSet", {listed_task("invt-status")}}};
  h.push(R"({"Type":"kick","Seq":1})");
  h.start_task("invt-status");
  CHECK(changes == 2);
  CHECK(h.daemon->status_line() == "connected to http://127.0.0.1:1, 1 task running");

  h.server->push.on_closed("fake: reset", "");
  h.settle();
  CHECK(changes == 3);
  CHECK(h.daemon->status_line() == "reconnecting: fake: reset, 1 task running");

  h.finish_task("invt-status", result_of("invt-status", TaskStatus::kSuccess, 0, ""));
  CHECK(changes >= 4);
  CHECK(h.daemon->status_line() == "reconnecting: fake: reset, 0 tasks running");
}

TEST_CASE("daemon: a reload takes the live limits: the runner's and the polling interval") {
  StateDir state;
  auto o = Harness::options(state.path());
  o.poll_interval = milliseconds(2000);
  Harness h(o);
  h.server->push.on_closed("fake: down", "");
  h.settle();

  auto next = o;
  next.poll_interval = milliseconds(8000);
  next.runner.max_concurrent = 3;
  next.runner.kill_grace = milliseconds(250);
  next.state_dir = "/elsewhere";  // not reloadable: ignored
  h.daemon->reload(next);
  REQUIRE(h.runner->limits.size() == 1);
  CHECK(h.runner->limits[0].first == 3);
  CHECK(h.runner->limits[0].second == milliseconds(250));

  // The poll armed before the reload fires on its old delay; the ones after wait 6..10 s.
  h.advance(seconds(3));
  const auto before = h.server->of("DescribeTasks").size();
  h.advance(seconds(40));
  const auto polls = h.server->of("DescribeTasks");
  REQUIRE(polls.size() >= before + 3);
  for (std::size_t i = before + 1; i < polls.size(); ++i) {
    const auto gap = std::chrono::duration_cast<milliseconds>(polls[i].at - polls[i - 1].at);
    CHECK(gap >= milliseconds(6000));
    CHECK(gap <= milliseconds(10000));
  }
}
