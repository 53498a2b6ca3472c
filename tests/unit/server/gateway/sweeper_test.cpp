#include "ferry/server/gateway/sweeper.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "gateway_test_support.hpp"
#include "test_process.hpp"

using namespace ferry;
using namespace ferry::server;
using ferry::test::Fixture;
using Socket = AgentWhereabouts::Socket;

namespace {

constexpr int64_t kMinute = 60'000;

SweeperOptions options() {
  SweeperOptions o;
  o.interval_ms = 1000;
  o.deliver_timeout_ms = 60 * kMinute;
  o.task_timeout_grace_ms = kMinute;
  return o;
}

// Where the test says agents are; unknown ones are offline.
class FakeLocator final : public AgentLocator {
 public:
  Expected<std::unordered_map<std::string, AgentWhereabouts>> locate(
      const std::vector<std::string>& instance_ids) override {
    std::lock_guard lock(mutex_);
    ++calls;
    std::unordered_map<std::string, AgentWhereabouts> out;
    for (const auto& id : instance_ids) {
      if (auto it = where_.find(id); it != where_.end()) {
        out[id] = it->second;
      }
    }
    return out;
  }
  void set(const std::string& id, Socket socket, bool online = true) {
    std::lock_guard lock(mutex_);
    where_[id] = AgentWhereabouts{online, socket};
  }
  int calls = 0;

 private:
  std::mutex mutex_;
  std::map<std::string, AgentWhereabouts> where_;
};

// The gateway fixture with a fake locator and a sweeper over them.
struct SweepFixture : Fixture {
  explicit SweepFixture(SweeperOptions o = options())
      : sweeper(*store, clock, locator, notifier, o) {}
  // One pass, REQUIRE-d to succeed; what it did, every counter.
  std::string sweep() {
    auto c = sweeper.sweep_once();
    REQUIRE(c.has_value());
    return "delayed " + std::to_string(c->delayed) + ", resumed " + std::to_string(c->resumed) +
           ", failed " + std::to_string(c->deliver_failed) + ", timed out " +
           std::to_string(c->timed_out) + ", kicked " + std::to_string(c->kicked);
  }
  FakeLocator locator;
  Sweeper sweeper;
};

}  // namespace

TEST_CASE("Sweeper: offline agents' tasks wait as DELIVER_DELAYED", "[sweeper]") {
  SweepFixture f;
  f.locator.set("rins-online01", Socket::kNone);  // online by its requests
  auto pending = f.add_tasks({"rins-online01", "rins-offline1"});
  auto delivering = f.add_tasks({"rins-online01", "rins-offline1"}, TaskStatus::kDelivering);
  auto running = f.add_tasks({"rins-offline1"}, TaskStatus::kRunning);

  CHECK(f.sweep() == "delayed 2, resumed 0, failed 0, timed out 0, kicked 0");
  CHECK(f.task(pending[0]).status == TaskStatus::kPending);
  CHECK(f.task(pending[1]).status == TaskStatus::kDeliverDelayed);
  CHECK(f.task(delivering[0]).status == TaskStatus::kDelivering);
  CHECK(f.task(delivering[1]).status == TaskStatus::kDeliverDelayed);
  CHECK(f.task(running[0]).status == TaskStatus::kRunning);  // it may still report
  CHECK(f.notifier.kicks().empty());

  // Back online, on this server's socket: PENDING again, and kicked.
  f.locator.set("rins-offline1", Socket::kHere);
  CHECK(f.sweep() == "delayed 0, resumed 2, failed 0, timed out 0, kicked 2");
  CHECK(f.task(pending[1]).status == TaskStatus::kPending);
  CHECK(f.task(delivering[1]).status == TaskStatus::kPending);
  auto kicks = f.notifier.kicks();
  REQUIRE(kicks.size() == 2);
  CHECK(kicks[0].first == "rins-offline1");

  // A pass with nothing to do changes nothing, and kicks nothing again.
  CHECK(f.sweep() == "delayed 0, resumed 0, failed 0, timed out 0, kicked 0");
  CHECK(f.locator.calls == 3);  // one presence read per pass
}

TEST_CASE("Sweeper: tasks back online are resumed where a kick can reach the agent", "[sweeper]") {
  SweepFixture f;
  auto polling = f.add_tasks({"rins-polling1"}, TaskStatus::kDeliverDelayed);
  auto elsewhere = f.add_tasks({"rins-elsewhr1"}, TaskStatus::kDeliverDelayed);
  f.locator.set("rins-polling1", Socket::kNone);
  f.locator.set("rins-elsewhr1", Socket::kElsewhere);
  CHECK(f.sweep() == "delayed 0, resumed 1, failed 0, timed out 0, kicked 0");
  // Polling: PENDING, for its next DescribeTasks, without a kick (there is no socket).
  CHECK(f.task(polling[0]).status == TaskStatus::kPending);
  // On another server's socket: that server's sweeper resumes and kicks it.
  CHECK(f.task(elsewhere[0]).status == TaskStatus::kDeliverDelayed);
  CHECK(f.notifier.kicks().empty());
}

TEST_CASE("Sweeper: PENDING tasks of agents held here are kicked once after a pass", "[sweeper]") {
  SweepFixture f;
  f.locator.set("rins-here0001", Socket::kHere);
  f.locator.set("rins-other001", Socket::kElsewhere);
  auto here = f.add_tasks({"rins-here0001", "rins-other001"});
  CHECK(f.sweep() == "delayed 0, resumed 0, failed 0, timed out 0, kicked 0");
  CHECK(f.notifier.kicks().empty());  // it may have been kicked when it was made
  CHECK(f.sweep() == "delayed 0, resumed 0, failed 0, timed out 0, kicked 1");
  auto kicks = f.notifier.kicks();
  REQUIRE(kicks.size() == 1);
  CHECK(kicks[0] == std::make_pair(std::string("rins-here0001"), here[0]));
  CHECK(f.sweep() == "delayed 0, resumed 0, failed 0, timed out 0, kicked 0");
  CHECK(f.notifier.kicks().size() == 1);
  CHECK(f.task(here[0]).status == TaskStatus::kPending);
  CHECK(f.task(here[1]).status == TaskStatus::kPending);
}

TEST_CASE("Sweeper: tasks never picked up fail delivery", "[sweeper]") {
  SweepFixture f;
  f.locator.set("rins-online01", Socket::kHere);
  auto pending = f.add_tasks({"rins-online01"});
  auto delayed = f.add_tasks({"rins-offline1"}, TaskStatus::kDeliverDelayed);

  f.clock.advance_ms(60 * kMinute - 1);
  CHECK(f.sweep() == "delayed 0, resumed 0, failed 0, timed out 0, kicked 0");
  CHECK(f.task(pending[0]).status == TaskStatus::kPending);
  CHECK(f.task(delayed[0]).status == TaskStatus::kDeliverDelayed);

  f.clock.advance_ms(1);
  CHECK(f.sweep() == "delayed 0, resumed 0, failed 2, timed out 0, kicked 0");
  const auto t = f.task(pending[0]);
  CHECK(t.status == TaskStatus::kDeliverFailed);
  CHECK(t.end_ms == f.clock.now_ms());
  CHECK_FALSE(t.error_info.empty());
  CHECK(f.task(delayed[0]).status == TaskStatus::kDeliverFailed);
}

TEST_CASE("Sweeper: silent agents' tasks time out", "[sweeper]") {
  SweepFixture f;
  f.locator.set("rins-online01", Socket::kHere);
  auto running = f.add_tasks({"rins-online01"}, TaskStatus::kRunning, 120);
  auto cancelling = f.add_tasks({"rins-online01"}, TaskStatus::kCancelling, 120);
  auto delivering = f.add_tasks({"rins-online01"}, TaskStatus::kDelivering, 120);
  auto done = f.add_tasks({"rins-online01"}, TaskStatus::kSuccess, 120);

  // Timeout 120 s + grace 60 s.
  f.clock.advance_ms(180'000 - 1);
  CHECK(f.sweep() == "delayed 0, resumed 0, failed 0, timed out 0, kicked 0");
  CHECK(f.task(running[0]).status == TaskStatus::kRunning);

  f.clock.advance_ms(1);
  CHECK(f.sweep() == "delayed 0, resumed 0, failed 1, timed out 2, kicked 0");
  CHECK(f.task(running[0]).status == TaskStatus::kTaskTimeout);
  CHECK(f.task(cancelling[0]).status == TaskStatus::kTaskTimeout);
  // task_state has no DELIVERING -> TASK_TIMEOUT: a start never reported is a failed delivery.
  CHECK(f.task(delivering[0]).status == TaskStatus::kDeliverFailed);
  CHECK(f.task(done[0]).status == TaskStatus::kSuccess);
}

TEST_CASE("Sweeper: a late start report moves the deadline", "[sweeper]") {
  SweepFixture f;
  f.locator.set("rins-online01", Socket::kHere);
  auto running = f.add_tasks({"rins-online01"}, TaskStatus::kRunning, 60);
  f.clock.advance_ms(100'000);
  REQUIRE(f.store
              ->modify_task(running[0],
                            [&](InvocationTask& t) {
                              t.start_ms = f.clock.now_ms();
                              return true;
                            })
              .has_value());
  f.clock.advance_ms(100'000);  // 200 s after delivery, 100 s after the start
  CHECK(f.sweep() == "delayed 0, resumed 0, failed 0, timed out 0, kicked 0");
  CHECK(f.task(running[0]).status == TaskStatus::kRunning);
  f.clock.advance_ms(20'000);
  CHECK(f.sweep() == "delayed 0, resumed 0, failed 0, timed out 1, kicked 0");
  CHECK(f.task(running[0]).status == TaskStatus::kTaskTimeout);
}

TEST_CASE("Sweeper: pages through many tasks", "[sweeper]") {
  auto o = options();
  o.page_size = 7;
  SweepFixture f(o);
  std::vector<std::string> instances;
  for (int i = 0; i < 40; ++i) {
    instances.push_back("rins-off" + std::to_string(1000 + i));
  }
  auto ids = f.add_tasks(instances);
  CHECK(f.sweep() == "delayed 40, resumed 0, failed 0, timed out 0, kicked 0");
  for (const auto& id : ids) {
    CHECK(f.task(id).status == TaskStatus::kDeliverDelayed);
  }
}

TEST_CASE("Sweeper thread sweeps on its own and stops promptly", "[sweeper]") {
  SweepFixture f;
  auto o = options();
  o.interval_ms = 10;
  auto ids = f.add_tasks({"rins-offline1"});
  {
    Sweeper sweeper(*f.store, f.clock, f.locator, f.notifier, o);
    sweeper.start();
    CHECK(ferry::test::eventually(
        [&] { return f.task(ids[0]).status == TaskStatus::kDeliverDelayed; },
        std::chrono::seconds(10), std::chrono::milliseconds(5)));
    sweeper.stop();
    sweeper.stop();  // idempotent
  }
  o.interval_ms = 600'000;
  Sweeper slow(*f.store, f.clock, f.locator, f.notifier, o);
  slow.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto before = std::chrono::steady_clock::now();
  slow.stop();
  // Far below the 600 s interval a stop that waited for it would take.
  CHECK(std::chrono::steady_clock::now() - before <
        ferry::test::time_bound(std::chrono::seconds(2), std::chrono::seconds(60)));
}
