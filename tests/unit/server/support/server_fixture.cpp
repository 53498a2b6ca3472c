#include "server_fixture.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

#include "ferry/core/crypto.hpp"
#include "ferry/server/store/sqlite_store.hpp"
#include "ferry/server/task_state.hpp"

namespace ferry::test {

using namespace ferry::server;

void RecordingNotifier::task_ready(const std::string& instance_id, const std::string& task_id) {
  std::lock_guard lock(mutex_);
  kicks_.emplace_back(instance_id, task_id);
}

void RecordingNotifier::task_cancelled(const std::string& instance_id, const std::string& task_id) {
  std::lock_guard lock(mutex_);
  cancels_.emplace_back(instance_id, task_id);
}

std::vector<InstanceTask> RecordingNotifier::kicks() const {
  std::lock_guard lock(mutex_);
  return kicks_;
}

std::vector<InstanceTask> RecordingNotifier::cancels() const {
  std::lock_guard lock(mutex_);
  return cancels_;
}

bool FakePresence::is_online(const std::string& instance_id) const {
  std::lock_guard lock(mutex_);
  return online_.contains(instance_id);
}

void FakePresence::disconnect(const std::string& instance_id) {
  std::lock_guard lock(mutex_);
  online_.erase(instance_id);
  disconnected_.push_back(instance_id);
}

void FakePresence::set_online(const std::string& instance_id, bool online) {
  std::lock_guard lock(mutex_);
  if (online) {
    online_.insert(instance_id);
  } else {
    online_.erase(instance_id);
  }
}

std::vector<std::string> FakePresence::disconnected() const {
  std::lock_guard lock(mutex_);
  return disconnected_;
}

namespace {

std::unique_ptr<Store> open_store(const TempDir& dir, const Clock& clock) {
  auto store = open_sqlite_store(dir / "ferry.db", clock);
  REQUIRE(store.has_value());
  return std::move(*store);
}

}  // namespace

ServerFixture::ServerFixture()
    : store(open_store(dir, clock)), ctx{*store, clock, settings, notifier, presence} {}

void ServerFixture::add_instance(const InstanceSpec& spec) {
  if (fixture_code_id_.empty()) {
    fixture_code_id_ = "00000000-0000-4000-8000-000000000001";
    RegisterCode c;
    c.register_code_id = fixture_code_id_;
    c.value_hash = sha256_hex("fixture-code");
    c.register_limit = 100000;
    c.created_ms = c.updated_ms = clock.now_ms();
    REQUIRE(store->insert_register_code(c).has_value());
  }
  RegisterInstance inst;
  inst.instance_id = spec.id;
  inst.register_code_id = fixture_code_id_;
  inst.instance_name = spec.name.empty() ? spec.id : spec.name;
  inst.machine_id = "machine-" + spec.id;
  inst.system_name = spec.system;
  inst.host_name = "host-" + spec.id;
  inst.local_ip = spec.local_ip;
  inst.public_key = "AAAA";
  inst.tags = spec.tags;
  inst.created_ms = inst.updated_ms = clock.now_ms();
  RegistrationCheck check{fixture_code_id_, sha256_hex("fixture-code"), clock.now_ms(), {}};
  auto s = store->register_instance(check, inst);
  if (!s) {
    FAIL(s.error().code << ": " << s.error().message);
  }
  presence.set_online(spec.id, spec.online);
}

std::vector<InvocationTask> ServerFixture::tasks_of(const std::string& invocation_id) {
  TaskQuery q;
  q.invocation_ids = {invocation_id};
  q.limit = 100;
  auto page = store->list_tasks(q);
  REQUIRE(page.has_value());
  auto tasks = page->items;
  std::sort(tasks.begin(), tasks.end(), [](const InvocationTask& a, const InvocationTask& b) {
    return a.instance_id < b.instance_id;
  });
  return tasks;
}

InvocationTask ServerFixture::task(const std::string& id) {
  auto t = store->get_task(id);
  REQUIRE(t.has_value());
  REQUIRE(t->has_value());
  return **t;
}

void ServerFixture::set_task_status(const std::string& task_id, TaskStatus status) {
  const int64_t now = clock.now_ms();
  auto r = store->modify_task(task_id, [&](InvocationTask& t) {
    // Walk through the states a real task passes, as the gateway would.
    if (t.status == TaskStatus::kPending && status != TaskStatus::kDeliverDelayed &&
        status != TaskStatus::kCancelled && status != TaskStatus::kDeliverFailed) {
      t.status = TaskStatus::kDelivering;
    }
    if (t.status == TaskStatus::kDelivering && status != TaskStatus::kDelivering &&
        status != TaskStatus::kRunning && !is_final(status)) {
      t.status = TaskStatus::kRunning;
    }
    if (t.status != status) {
      REQUIRE(can_transition(t.status, status));
      t.status = status;
    }
    if (status == TaskStatus::kRunning) {
      t.start_ms = now;
      t.exec_start_ms = now;
    }
    if (is_final(status)) {
      if (t.start_ms == 0) {
        t.start_ms = now;
      }
      t.end_ms = now;
      t.exec_end_ms = now;
      if (status == TaskStatus::kSuccess || status == TaskStatus::kFailed) {
        t.exit_code = status == TaskStatus::kSuccess ? 0 : 1;
      }
    }
    t.updated_ms = now;
    return true;
  });
  REQUIRE(r.has_value());
  REQUIRE(r->has_value());
}

}  // namespace ferry::test
