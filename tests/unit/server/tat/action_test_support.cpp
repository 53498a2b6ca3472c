#include "action_test_support.hpp"

#include <catch2/catch.hpp>

#include "ferry/core/base64.hpp"
#include "ferry/server/task_state.hpp"
#include "ferry/server/tat/tat_actions.hpp"
#include "ferry/server/tat/tat_envelope.hpp"

namespace ferry::test {

using namespace ferry::server;

ActionFixture::ActionFixture() {
  settings.account_id = "100000000001";
  register_tat_actions(actions, ctx);
}

Expected<nlohmann::json> ActionFixture::call(const std::string& action,
                                             const nlohmann::json& body) {
  const ActionSpec* spec = actions.find(action);
  REQUIRE(spec != nullptr);
  Params params(body);
  auto r = spec->handler(ApiCall{action, "AKIDtest", "ap-guangzhou", "req-1"}, params);
  if (!r) {
    return tat_error(r.error());
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

void ActionFixture::set_task_status(const std::string& task_id, TaskStatus status) {
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

std::string b64(const std::string& text) {
  return base64_encode(text);
}

}  // namespace ferry::test
