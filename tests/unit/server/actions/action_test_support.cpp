#include "action_test_support.hpp"

#include <stdlib.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "ferry/core/base64.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/server/api/store_error_map.hpp"
#include "ferry/server/store/sqlite_store.hpp"
#include "ferry/server/task_state.hpp"

namespace ferry::server::testing {

ActionFixture::ActionFixture() {
  std::string pattern = std::filesystem::temp_directory_path() / "ferry-actions-XXXXXX";
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  dir = pattern;
  auto opened = open_sqlite_store(dir / "ferry.db", clock);
  REQUIRE(opened.has_value());
  store = std::move(*opened);
  settings.account_id = "100000000001";
  ctx = std::make_unique<ServerContext>(ServerContext{*store, clock, settings, notifier, presence});
  api = std::make_unique<ApiFront>(ApiOptions{}, clock);
  register_command_actions(*api, *ctx);
  register_invocation_actions(*api, *ctx);
  register_registration_actions(*api, *ctx);
}

ActionFixture::~ActionFixture() {
  api.reset();
  ctx.reset();
  store.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

Expected<nlohmann::json> ActionFixture::call(const std::string& action,
                                             const nlohmann::json& body) {
  const ActionSpec* spec = api->find_action(action);
  REQUIRE(spec != nullptr);
  Params params(body);
  auto r = spec->handler(ApiCall{action, "AKIDtest", "ap-guangzhou", "req-1"}, params);
  if (!r) {
    return tat_error(r.error());  // as ApiFront's envelope shows it
  }
  return r;
}

nlohmann::json ActionFixture::ok(const std::string& action, const nlohmann::json& body) {
  auto r = call(action, body);
  if (!r) {
    FAIL_CHECK(action << " failed: " << r.error().code << ": " << r.error().message);
    return nlohmann::json::object();
  }
  return *r;
}

std::string ActionFixture::code(const std::string& action, const nlohmann::json& body) {
  auto r = call(action, body);
  if (r) {
    FAIL_CHECK(action << " succeeded: " << r->dump());
    return "";
  }
  return r.error().code;
}

void ActionFixture::add_instance(const InstanceSpec& spec) {
  if (code_id_.empty()) {
    code_id_ = "00000000-0000-4000-8000-000000000001";
    RegisterCode c;
    c.register_code_id = code_id_;
    c.value_hash = sha256_hex("fixture-code");
    c.register_limit = 100000;
    c.created_ms = c.updated_ms = clock.now;
    REQUIRE(store->insert_register_code(c).has_value());
  }
  RegisterInstance inst;
  inst.instance_id = spec.id;
  inst.register_code_id = code_id_;
  inst.instance_name = spec.name.empty() ? spec.id : spec.name;
  inst.machine_id = "machine-" + spec.id;
  inst.system_name = spec.system;
  inst.host_name = "host-" + spec.id;
  inst.local_ip = spec.local_ip;
  inst.public_key = "AAAA";
  inst.tags = spec.tags;
  inst.created_ms = inst.updated_ms = clock.now;
  RegistrationCheck check{code_id_, sha256_hex("fixture-code"), clock.now, {}};
  auto s = store->register_instance(check, inst);
  if (!s) {
    FAIL(s.error().code << ": " << s.error().message);
  }
  if (spec.online) {
    presence.online.insert(spec.id);
  }
}

void ActionFixture::set_task_status(const std::string& task_id, TaskStatus status) {
  const int64_t now = clock.now;
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

std::vector<InvocationTask> ActionFixture::tasks_of(const std::string& invocation_id) {
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

std::string b64(const std::string& text) {
  return base64_encode(text);
}

}  // namespace ferry::server::testing
