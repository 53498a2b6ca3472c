#include "action_test_support.hpp"

#include <catch2/catch.hpp>

#include "ferry/core/base64.hpp"
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

std::string b64(const std::string& text) {
  return base64_encode(text);
}

}  // namespace ferry::test
