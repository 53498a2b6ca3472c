#include "ferry/server/gateway/sweeper.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "gateway_test_support.hpp"

using namespace ferry;
using namespace ferry::server;
using ferry::test::Fixture;

namespace {

constexpr int64_t kMinute = 60'000;

SweeperOptions options() {
  SweeperOptions o;
  o.interval_ms = 1000;
  o.deliver_timeout_ms = 60 * kMinute;
  o.task_timeout_grace_ms = kMinute;
  return o;
}

}  // namespace

TEST_CASE("Sweeper: offline agents' tasks wait as DELIVER_DELAYED", "[sweeper]") {
  Fixture f;
  Sweeper sweeper(*f.store, f.clock, f.presence, f.notifier, options());
  f.presence.set_online("rins-online01", true);
  auto pending = f.add_tasks({"rins-online01", "rins-offline1"});
  auto delivering = f.add_tasks({"rins-online01", "rins-offline1"}, TaskStatus::kDelivering);
  auto running = f.add_tasks({"rins-offline1"}, TaskStatus::kRunning);

  auto counts = sweeper.sweep_once();
  REQUIRE(counts.has_value());
  CHECK(counts->delayed == 2);
  CHECK(f.task(pending[0]).status == TaskStatus::kPending);
  CHECK(f.task(pending[1]).status == TaskStatus::kDeliverDelayed);
  CHECK(f.task(delivering[0]).status == TaskStatus::kDelivering);
  CHECK(f.task(delivering[1]).status == TaskStatus::kDeliverDelayed);
  CHECK(f.task(running[0]).status == TaskStatus::kRunning);  // it may still report
  CHECK(f.notifier.kicks().empty());

  // Back online: PENDING again, and kicked.
  f.presence.set_online("rins-offline1", true);
  counts = sweeper.sweep_once();
  REQUIRE(counts.has_value());
  CHECK(counts->resumed == 2);
  CHECK(f.task(pending[1]).status == TaskStatus::kPending);
  CHECK(f.task(delivering[1]).status == TaskStatus::kPending);
  auto kicks = f.notifier.kicks();
  REQUIRE(kicks.size() == 2);
  CHECK(kicks[0].first == "rins-offline1");

  // A pass with nothing to do changes nothing.
  counts = sweeper.sweep_once();
  REQUIRE(counts.has_value());
  CHECK(counts->delayed + counts->resumed + counts->deliver_failed + counts->timed_out == 0);
}

TEST_CASE("Sweeper: tasks never picked up fail delivery", "[sweeper]") {
  Fixture f;
  Sweeper sweeper(*f.store, f.clock, f.presence, f.notifier, options());
  f.presence.set_online("rins-online01", true);
  auto pending = f.add_tasks({"rins-online01"});
  auto delayed = f.add_tasks({"rins-offline1"}, TaskStatus::kDeliverDelayed);

  f.clock.advance_ms(60 * kMinute - 1);
  REQUIRE(sweeper.sweep_once().has_value());
  CHECK(f.task(pending[0]).status == TaskStatus::kPending);
  CHECK(f.task(delayed[0]).status == TaskStatus::kDeliverDelayed);

  f.clock.advance_ms(1);
  auto counts = sweeper.sweep_once();
  REQUIRE(counts.has_value());
  CHECK(counts->deliver_failed == 2);
  const auto t = f.task(pending[0]);
  CHECK(t.status == TaskStatus::kDeliverFailed);
  CHECK(t.end_ms == f.clock.now_ms());
  CHECK_FALSE(t.error_info.empty());
  CHECK(f.task(delayed[0]).status == TaskStatus::kDeliverFailed);
}

TEST_CASE("Sweeper: silent agents' tasks time out", "[sweeper]") {
  Fixture f;
  Sweeper sweeper(*f.store, f.clock, f.presence, f.notifier, options());
  f.presence.set_online("rins-online01", true);
  auto running = f.add_tasks({"rins-online01"}, TaskStatus::kRunning, 120);
  auto cancelling = f.add_tasks({"rins-online01"}, TaskStatus::kCancelling, 120);
  auto delivering = f.add_tasks({"rins-online01"}, TaskStatus::kDelivering, 120);
  auto done = f.add_tasks({"rins-online01"}, TaskStatus::kSuccess, 120);

  // Timeout 120 s + grace 60 s.
  f.clock.advance_ms(180'000 - 1);
  auto counts = sweeper.sweep_once();
  REQUIRE(counts.has_value());
  CHECK(counts->timed_out == 0);
  CHECK(f.task(running[0]).status == TaskStatus::kRunning);

  f.clock.advance_ms(1);
  counts = sweeper.sweep_once();
  REQUIRE(counts.has_value());
  CHECK(counts->timed_out == 2);
  CHECK(counts->deliver_failed == 1);
  CHECK(f.task(running[0]).status == TaskStatus::kTaskTimeout);
  CHECK(f.task(cancelling[0]).status == TaskStatus::kTaskTimeout);
  // task_state has no DELIVERING -> TASK_TIMEOUT: a start never reported is a failed delivery.
  CHECK(f.task(delivering[0]).status == TaskStatus::kDeliverFailed);
  CHECK(f.task(done[0]).status == TaskStatus::kSuccess);
}

TEST_CASE("Sweeper: a late start report moves the deadline", "[sweeper]") {
  Fixture f;
  Sweeper sweeper(*f.store, f.clock, f.presence, f.notifier, options());
  f.presence.set_online("rins-online01", true);
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
  REQUIRE(sweeper.sweep_once().has_value());
  CHECK(f.task(running[0]).status == TaskStatus::kRunning);
  f.clock.advance_ms(20'000);
  REQUIRE(sweeper.sweep_once().has_value());
  CHECK(f.task(running[0]).status == TaskStatus::kTaskTimeout);
}

TEST_CASE("Sweeper: pages through many tasks", "[sweeper]") {
  Fixture f;
  auto o = options();
  o.page_size = 7;
  Sweeper sweeper(*f.store, f.clock, f.presence, f.notifier, o);
  std::vector<std::string> instances;
  for (int i = 0; i < 40; ++i) {
    instances.push_back("rins-off" + std::to_string(1000 + i));
  }
  auto ids = f.add_tasks(instances);
  auto counts = sweeper.sweep_once();
  REQUIRE(counts.has_value());
  CHECK(counts->delayed == 40);
  for (const auto& id : ids) {
    CHECK(f.task(id).status == TaskStatus::kDeliverDelayed);
  }
}

TEST_CASE("Sweeper thread sweeps on its own and stops promptly", "[sweeper]") {
  Fixture f;
  auto o = options();
  o.interval_ms = 10;
  auto ids = f.add_tasks({"rins-offline1"});
  {
    Sweeper sweeper(*f.store, f.clock, f.presence, f.notifier, o);
    sweeper.start();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (f.task(ids[0]).status != TaskStatus::kDeliverDelayed &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK(f.task(ids[0]).status == TaskStatus::kDeliverDelayed);
    sweeper.stop();
    sweeper.stop();  // idempotent
  }
  o.interval_ms = 600'000;
  Sweeper slow(*f.store, f.clock, f.presence, f.notifier, o);
  slow.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto before = std::chrono::steady_clock::now();
  slow.stop();
  CHECK(std::chrono::steady_clock::now() - before < std::chrono::seconds(2));
}
