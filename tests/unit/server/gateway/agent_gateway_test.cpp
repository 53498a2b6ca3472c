#include <catch2/catch.hpp>
#include <regex>
#include <string>

#include "ferry/core/base64.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/core/task.hpp"
#include "ferry/server/domain/invocations.hpp"
#include "gateway_test_support.hpp"

using namespace ferry;
using namespace ferry::server;
using ferry::test::error_code;
using ferry::test::Fixture;
using ferry::test::kRegisterCodeValue;
using ferry::test::TestAgent;

namespace {

nlohmann::json registration_body(const std::string& code_id, const std::string& value,
                                 const Ed25519PrivateKey& key) {
  return {{"RegisterCodeId", code_id},
          {"RegisterCodeValue", value},
          {"PublicKey", key.public_key_base64()},
          {"Hostname", "web-1"},
          {"LocalIp", "10.1.2.3"},
          {"MachineId", "m-1"},
          {"SystemName", "Linux"}};
}

Ed25519PrivateKey new_key() {
  auto k = Ed25519PrivateKey::generate();
  REQUIRE(k.has_value());
  return std::move(*k);
}

RegisterCode code_of(Fixture& f, const std::string& id) {
  auto page = f.store->list_register_codes({id}, 0, 1);
  REQUIRE(page.has_value());
  REQUIRE(page->items.size() == 1);
  return page->items.front();
}

}  // namespace

TEST_CASE("RegisterInstance registers a key and is idempotent for that key",
          "[gateway][register]") {
  Fixture f;
  const auto code = f.add_register_code(kRegisterCodeValue);
  auto key = new_key();
  auto resp = f.call(f.signed_request("RegisterInstance",
                                      registration_body(code, kRegisterCodeValue, key), key, ""));
  INFO(resp.dump());
  REQUIRE(error_code(resp).empty());
  const std::string id = resp["InstanceId"];
  CHECK(std::regex_match(id, std::regex("rins-[a-z0-9]{8}")));
  CHECK(resp["InstanceName"] == "web-1");

  auto inst = f.store->get_instance(id);
  REQUIRE(inst.has_value());
  REQUIRE(inst->has_value());
  CHECK((*inst)->public_key == key.public_key_base64());
  CHECK((*inst)->local_ip == "10.1.2.3");
  CHECK((*inst)->host_name == "web-1");
  CHECK((*inst)->machine_id == "m-1");
  CHECK((*inst)->system_name == "Linux");
  CHECK((*inst)->register_code_id == code);
  CHECK(code_of(f, code).registered_count == 1);

  // A retry after a lost reply (new nonce, same key) finds the same instance.
  auto again = f.call(f.signed_request("RegisterInstance",
                                       registration_body(code, kRegisterCodeValue, key), key, ""));
  REQUIRE(error_code(again).empty());
  CHECK(again["InstanceId"] == id);
  CHECK(code_of(f, code).registered_count == 1);

  // A second key is a second instance.
  auto other = f.register_agent(code, kRegisterCodeValue);
  CHECK(other.instance_id != id);
  CHECK(code_of(f, code).registered_count == 2);
}

TEST_CASE("RegisterInstance names the instance after the code's prefix", "[gateway][register]") {
  Fixture f;
  const auto code = f.add_register_code(kRegisterCodeValue, 20, "", 0, "web");
  auto agent = f.register_agent(code, kRegisterCodeValue);
  auto inst = f.store->get_instance(agent.instance_id);
  REQUIRE(inst.has_value());
  REQUIRE(inst->has_value());
  CHECK(std::regex_match((*inst)->instance_name, std::regex("web-[a-z0-9]{4}")));
}

TEST_CASE("RegisterInstance takes the InstanceName the agent asks for over the code's prefix",
          "[gateway][register]") {
  Fixture f;
  const auto code = f.add_register_code(kRegisterCodeValue, 20, "", 0, "web");
  auto key = new_key();
  auto body = registration_body(code, kRegisterCodeValue, key);
  body["InstanceName"] = "db-primary-\xe5\x8c\x97\xe4\xba\xac";
  auto resp = f.call(f.signed_request("RegisterInstance", body, key, ""));
  INFO(resp.dump());
  REQUIRE(error_code(resp).empty());
  CHECK(resp["InstanceName"] == "db-primary-\xe5\x8c\x97\xe4\xba\xac");
  auto inst = f.store->get_instance(resp["InstanceId"].get<std::string>());
  REQUIRE(inst.has_value());
  REQUIRE(inst->has_value());
  CHECK((*inst)->instance_name == "db-primary-\xe5\x8c\x97\xe4\xba\xac");

  // 60 characters at most, no control characters; nothing registered.
  for (const std::string& bad : {std::string(61, 'n'), std::string("tab\there")}) {
    auto other = new_key();
    auto b = registration_body(code, kRegisterCodeValue, other);
    b["InstanceName"] = bad;
    auto refused = f.call(f.signed_request("RegisterInstance", b, other, ""));
    CHECK(error_code(refused) == "InvalidParameterValue");
  }
  CHECK(code_of(f, code).registered_count == 1);
}

TEST_CASE("RegisterInstance refusals", "[gateway][register]") {
  Fixture f;
  auto key = new_key();
  const auto try_register = [&](const std::string& code, const std::string& value,
                                const std::string& remote = "127.0.0.1") {
    auto req = f.signed_request("RegisterInstance", registration_body(code, value, key), key, "");
    req.remote_address = remote;
    return f.call(req);
  };

  SECTION("wrong value or unknown code: one answer, the value never echoed") {
    const auto code = f.add_register_code(kRegisterCodeValue);
    auto resp = try_register(code, "wrong-value-guess-0001");
    CHECK(error_code(resp) == "AuthFailure.RegisterCodeInvalid");
    CHECK(resp.dump().find("wrong-value-guess-0001") == std::string::npos);
    auto unknown = try_register("rgc-nothere1", kRegisterCodeValue);
    CHECK(error_code(unknown) == "AuthFailure.RegisterCodeInvalid");
    CHECK(unknown.dump().find(kRegisterCodeValue) == std::string::npos);
    CHECK(code_of(f, code).registered_count == 0);
  }
  SECTION("a wrong code is refused before its nonce is recorded") {
    // The same signed request twice: refused for the code both times, never as a reused nonce,
    // since nothing of it was written.
    const auto code = f.add_register_code(kRegisterCodeValue);
    auto req = f.signed_request("RegisterInstance",
                                registration_body(code, "wrong-value-guess-0002", key), key, "");
    CHECK(error_code(f.call(req)) == "AuthFailure.RegisterCodeInvalid");
    CHECK(error_code(f.call(req)) == "AuthFailure.RegisterCodeInvalid");
    // A right code: the nonce is recorded, and the same request again is a replay.
    auto good = f.signed_request("RegisterInstance",
                                 registration_body(code, kRegisterCodeValue, key), key, "");
    CHECK(error_code(f.call(good)).empty());
    CHECK(error_code(f.call(good)) == "AuthFailure.NonceReused");
  }
  SECTION("disabled code") {
    const auto code = f.add_register_code(kRegisterCodeValue);
    REQUIRE(f.store->set_register_codes_enabled({code}, false, f.clock.now_ms()).has_value());
    CHECK(error_code(try_register(code, kRegisterCodeValue)) ==
          "OperationDenied.RegisterCodeDisabled");
  }
  SECTION("expired code") {
    const auto code = f.add_register_code(kRegisterCodeValue, 20, "", f.clock.now_ms() + 1000);
    f.clock.advance_ms(1000);
    CHECK(error_code(try_register(code, kRegisterCodeValue)) ==
          "OperationDenied.RegisterCodeExpired");
  }
  SECTION("register limit reached") {
    const auto code = f.add_register_code(kRegisterCodeValue, 1);
    f.register_agent(code, kRegisterCodeValue);
    CHECK(error_code(try_register(code, kRegisterCodeValue)) ==
          "OperationDenied.RegisterLimitExceeded");
    CHECK(code_of(f, code).registered_count == 1);
  }
  SECTION("address outside IpAddressRange") {
    const auto code = f.add_register_code(kRegisterCodeValue, 20, "10.0.0.0/8");
    CHECK(error_code(try_register(code, kRegisterCodeValue, "192.168.1.1")) ==
          "OperationDenied.IpAddressOutOfRange");
    CHECK(code_of(f, code).registered_count == 0);
    auto ok = try_register(code, kRegisterCodeValue, "::ffff:10.20.30.40");
    CHECK(error_code(ok).empty());
  }
  SECTION("signed with another key than the one registered") {
    const auto code = f.add_register_code(kRegisterCodeValue);
    auto other = new_key();
    auto req = f.signed_request("RegisterInstance",
                                registration_body(code, kRegisterCodeValue, key), other, "");
    CHECK(error_code(f.call(req)) == "AuthFailure.SignatureFailure");
  }
  SECTION("X-Ferry-Instance must be empty") {
    const auto code = f.add_register_code(kRegisterCodeValue);
    auto req = f.signed_request(
        "RegisterInstance", registration_body(code, kRegisterCodeValue, key), key, "rins-aaaaaaaa");
    CHECK(error_code(f.call(req)) == "AuthFailure.InvalidAuthorization");
  }
  SECTION("malformed fields") {
    const auto code = f.add_register_code(kRegisterCodeValue);
    auto body = registration_body(code, kRegisterCodeValue, key);
    body["PublicKey"] = "bm90IGEga2V5";
    CHECK(error_code(f.call(f.signed_request("RegisterInstance", body, key, ""))) ==
          "InvalidParameterValue");
    body = registration_body(code, kRegisterCodeValue, key);
    body["SystemName"] = "Plan9";
    CHECK(error_code(f.call(f.signed_request("RegisterInstance", body, key, ""))) ==
          "InvalidParameterValue");
    body = registration_body(code, kRegisterCodeValue, key);
    body["Colour"] = "blue";
    CHECK(error_code(f.call(f.signed_request("RegisterInstance", body, key, ""))) ==
          "UnknownParameter");
    body = registration_body(code, kRegisterCodeValue, key);
    body.erase("RegisterCodeValue");
    CHECK(error_code(f.call(f.signed_request("RegisterInstance", body, key, ""))) ==
          "MissingParameter");
  }
}

// What the HTTP front uses to keep an agent's connection out of its source's connection cap
// (HttpResponse::trusted_peer, set from this in main.cpp's router).
TEST_CASE("only a checked agent signature marks a request's outcome authenticated",
          "[gateway][auth]") {
  Fixture f;
  const auto code = f.add_register_code(kRegisterCodeValue);
  auto agent = f.register_agent(code, kRegisterCodeValue);
  const auto outcome_of = [&](const HttpRequest& req) {
    RequestOutcome outcome;
    (void)f.gateway.handle(req, outcome);
    return outcome;
  };
  auto signed_ok = outcome_of(f.signed_request("Heartbeat", {}, agent.key, agent.instance_id));
  CHECK(signed_ok.result == "Success");
  CHECK(signed_ok.agent_authenticated);
  auto other = new_key();
  CHECK_FALSE(
      outcome_of(f.signed_request("Heartbeat", {}, other, agent.instance_id)).agent_authenticated);
  auto key = new_key();
  auto registration = outcome_of(f.signed_request(
      "RegisterInstance", registration_body(code, kRegisterCodeValue, key), key, ""));
  CHECK(registration.result == "Success");
  CHECK_FALSE(registration.agent_authenticated);  // a register code is not an agent yet
}

TEST_CASE("failed authentications are limited per source address", "[gateway][auth]") {
  Fixture f;
  GatewayOptions o;
  o.auth_failure_rate = 1;  // one more failure per second
  o.auth_failure_burst = 3;
  AgentGateway limited(f.ctx, f.auth, o);
  const auto code = f.add_register_code(kRegisterCodeValue);
  const auto call = [&](const std::string& value, const std::string& remote) {
    auto key = new_key();
    auto req = f.signed_request("RegisterInstance", registration_body(code, value, key), key, "");
    req.remote_address = remote;
    const auto reply = nlohmann::json::parse(limited.handle(req).body)["Response"];
    return error_code(reply);
  };
  for (int i = 0; i < 3; ++i) {
    CHECK(call("guess-" + std::to_string(i), "198.51.100.7") == "AuthFailure.RegisterCodeInvalid");
  }
  // Out of failures: refused before anything is checked, the right code too.
  CHECK(call(kRegisterCodeValue, "198.51.100.7") == "RequestLimitExceeded");
  // Another address is not affected.
  CHECK(call(kRegisterCodeValue, "198.51.100.8").empty());
  // A second later one more try; it fails, and the address is out again.
  f.clock.advance_ms(1000);
  CHECK(call("guess-3", "198.51.100.7") == "AuthFailure.RegisterCodeInvalid");
  CHECK(call(kRegisterCodeValue, "198.51.100.7") == "RequestLimitExceeded");
  // Success costs nothing: once refilled, the address registers as often as it likes.
  f.clock.advance_ms(3000);
  for (int i = 0; i < 5; ++i) {
    CHECK(call(kRegisterCodeValue, "198.51.100.7").empty());
  }
}

TEST_CASE("the failure limiter keeps a bounded number of sources", "[gateway][auth]") {
  AuthFailureLimiter limiter(1, 1, 4);
  for (int i = 0; i < 4; ++i) {
    limiter.record_failure("10.0.0." + std::to_string(i), 0);
    CHECK(limiter.blocked("10.0.0." + std::to_string(i), 0));
  }
  // Full: a fifth source is not tracked while the others are still out of tokens...
  limiter.record_failure("10.0.0.9", 0);
  CHECK_FALSE(limiter.blocked("10.0.0.9", 0));
  // ...and is once theirs have refilled (they are dropped to make room).
  limiter.record_failure("10.0.0.9", 2000);
  CHECK(limiter.blocked("10.0.0.9", 2000));
  CHECK_FALSE(limiter.blocked("10.0.0.0", 2000));
  // Off: never blocked.
  AuthFailureLimiter off(0, 1);
  off.record_failure("10.0.0.1", 0);
  CHECK_FALSE(off.blocked("10.0.0.1", 0));
}

TEST_CASE("Signed requests are checked", "[gateway][auth]") {
  Fixture f;
  const auto code = f.add_register_code(kRegisterCodeValue);
  auto agent = f.register_agent(code, kRegisterCodeValue);

  SECTION("a good request passes and marks the agent seen") {
    auto resp = f.agent_call(agent, "DescribeTasks");
    CHECK(error_code(resp).empty());
    REQUIRE(f.seen.size() == 1);
    CHECK(f.seen[0] == agent.instance_id);
  }
  SECTION("missing signature") {
    auto req = f.signed_request("DescribeTasks", {}, agent.key, agent.instance_id);
    req.headers.erase("x-ferry-signature");
    CHECK(error_code(f.call(req)) == "AuthFailure.InvalidAuthorization");
  }
  SECTION("malformed nonce or timestamp") {
    auto req = f.signed_request("DescribeTasks", {}, agent.key, agent.instance_id);
    req.headers["x-ferry-nonce"] = "short";
    CHECK(error_code(f.call(req)) == "AuthFailure.InvalidAuthorization");
    req = f.signed_request("DescribeTasks", {}, agent.key, agent.instance_id);
    req.headers["x-ferry-timestamp"] = "yesterday";
    CHECK(error_code(f.call(req)) == "AuthFailure.InvalidAuthorization");
  }
  SECTION("wrong key") {
    auto other = new_key();
    auto req = f.signed_request("DescribeTasks", {}, other, agent.instance_id);
    CHECK(error_code(f.call(req)) == "AuthFailure.SignatureFailure");
    CHECK(f.seen.empty());
  }
  SECTION("tampered body") {
    auto req = f.signed_request("Heartbeat", {{"Version", "1.0"}}, agent.key, agent.instance_id);
    req.body = nlohmann::json{{"Action", "Heartbeat"}, {"Version", "6.6"}}.dump();
    CHECK(error_code(f.call(req)) == "AuthFailure.SignatureFailure");
  }
  SECTION("signature of another action") {
    auto req = f.signed_request("Heartbeat", {}, agent.key, agent.instance_id);
    req.body = nlohmann::json{{"Action", "DescribeTasks"}}.dump();
    CHECK(error_code(f.call(req)) == "AuthFailure.SignatureFailure");
  }
  SECTION("stale and future timestamps") {
    auto req = f.signed_request("DescribeTasks", {}, agent.key, agent.instance_id);
    f.clock.advance_ms(301'000);
    auto resp = f.call(req);
    CHECK(error_code(resp) == "AuthFailure.SignatureExpire");
    f.clock.advance_ms(-301'000);
    auto ahead = f.signed_request("DescribeTasks", {}, agent.key, agent.instance_id);
    f.clock.advance_ms(-301'000);
    CHECK(error_code(f.call(ahead)) == "AuthFailure.SignatureExpire");
    f.clock.advance_ms(301'000);
    auto skewed = f.signed_request("DescribeTasks", {}, agent.key, agent.instance_id);
    f.clock.advance_ms(299'000);
    CHECK(error_code(f.call(skewed)).empty());
  }
  SECTION("replayed nonce") {
    auto req = f.signed_request("DescribeTasks", {}, agent.key, agent.instance_id);
    CHECK(error_code(f.call(req)).empty());
    CHECK(error_code(f.call(req)) == "AuthFailure.NonceReused");
  }
  SECTION("deleted instance: the key is revoked") {
    REQUIRE(f.store->delete_instance(agent.instance_id).has_value());
    CHECK(error_code(f.agent_call(agent, "DescribeTasks")) == "AuthFailure.InstanceNotFound");
  }
  SECTION("unknown instance") {
    TestAgent ghost{new_key(), "rins-zzzzzzzz"};
    CHECK(error_code(f.agent_call(ghost, "DescribeTasks")) == "AuthFailure.InstanceNotFound");
  }
  SECTION("protocol version") {
    auto req = f.signed_request("DescribeTasks", {}, agent.key, agent.instance_id);
    req.headers.erase("x-ferry-protocol");
    CHECK(error_code(f.call(req)) == "MissingParameter");
    req.headers["x-ferry-protocol"] = "2";
    auto resp = f.call(req);
    CHECK(error_code(resp) == "UnsupportedProtocolVersion");
    CHECK(resp["ProtocolVersion"] == 1);
  }
  SECTION("unknown action, bad method, bad content type, bad body") {
    CHECK(error_code(f.agent_call(agent, "FormatDisk")) == "InvalidAction");
    auto req = f.signed_request("DescribeTasks", {}, agent.key, agent.instance_id);
    req.method = "GET";
    CHECK(error_code(f.call(req)) == "UnsupportedProtocol");
    req = f.signed_request("DescribeTasks", {}, agent.key, agent.instance_id);
    req.headers["content-type"] = "text/plain";
    CHECK(error_code(f.call(req)) == "UnsupportedProtocol");
    req.headers["content-type"] = "application/json";
    req.body = "[1,2]";
    CHECK(error_code(f.call(req)) == "InvalidParameter");
    req.body = "{}";
    CHECK(error_code(f.call(req)) == "MissingParameter");
    // Nested past kMaxJsonDepth: refused before it is parsed, and said so.
    req.body = R"({"Action":"DescribeTasks","X":)" + std::string(100'000, '[') +
               std::string(100'000, ']') + "}";
    auto deep = f.call(req);
    CHECK(error_code(deep) == "InvalidParameter");
    CHECK(deep["Error"]["Message"].get<std::string>().find("nests deeper than 32") !=
          std::string::npos);
  }
  SECTION("unknown fields are refused") {
    CHECK(error_code(f.agent_call(agent, "DescribeTasks", {{"Limit", 5}})) == "UnknownParameter");
  }
}

TEST_CASE("DescribeTasks hands over pending tasks and lists cancels", "[gateway][tasks]") {
  Fixture f;
  const auto code = f.add_register_code(kRegisterCodeValue);
  auto agent = f.register_agent(code, kRegisterCodeValue);
  auto other = f.register_agent(code, kRegisterCodeValue);
  auto mine = f.add_tasks({agent.instance_id, other.instance_id});
  f.clock.advance_ms(1);  // oldest first: make the order of creation observable
  auto delayed = f.add_tasks({agent.instance_id}, TaskStatus::kDeliverDelayed);
  auto cancelling = f.add_tasks({agent.instance_id}, TaskStatus::kCancelling);
  auto finished = f.add_tasks({agent.instance_id}, TaskStatus::kSuccess);

  f.clock.advance_ms(5000);
  auto resp = f.agent_call(agent, "DescribeTasks");
  REQUIRE(error_code(resp).empty());
  const auto& normal = resp["InvocationNormalTaskSet"];
  REQUIRE(normal.size() == 2);
  CHECK(normal[0]["InvocationTaskId"] == mine[0]);
  CHECK(normal[1]["InvocationTaskId"] == delayed[0]);
  REQUIRE(resp["InvocationCancelTaskSet"].size() == 1);
  CHECK(resp["InvocationCancelTaskSet"][0]["InvocationTaskId"] == cancelling[0]);
  CHECK(resp["HasMore"] == false);

  // The task as sent parses as the agent will parse it, built-ins filled in.
  auto task = parse_task(normal[0]);
  REQUIRE(task.has_value());
  CHECK(task->content == "ZWNobyBoaQ==");
  CHECK(task->working_directory == "/tmp");
  CHECK(task->timeout_seconds == 60);
  CHECK(task->enable_parameter);
  CHECK(task->parameters.at("name") == "world");
  CHECK(task->builtins.region_id == "ap-test");
  CHECK(task->builtins.account_id == "1234567890");
  CHECK(task->builtins.instance_id == agent.instance_id);
  CHECK(task->builtins.instance_name == "host-1");
  CHECK(normal[0]["OutputCOSBucketUrl"] == "https://bucket.example.com");
  CHECK(normal[0]["OutputCOSKeyPrefix"] == "out");

  const auto delivered_at = f.clock.now_ms();
  CHECK(f.task(mine[0]).status == TaskStatus::kDelivering);
  CHECK(f.task(mine[0]).delivered_ms == delivered_at);
  CHECK(f.task(delayed[0]).status == TaskStatus::kDelivering);
  CHECK(f.task(mine[1]).status == TaskStatus::kPending);  // the other agent's
  CHECK(f.task(finished[0]).status == TaskStatus::kSuccess);

  // Sent again while still DELIVERING (a lost reply loses no task); delivered_ms stays.
  f.clock.advance_ms(1000);
  auto again = f.agent_call(agent, "DescribeTasks");
  CHECK(again["InvocationNormalTaskSet"].size() == 2);
  CHECK(f.task(mine[0]).delivered_ms == delivered_at);

  // Once started it is no longer offered.
  REQUIRE(
      error_code(f.agent_call(agent, "ReportTaskStart", {{"InvocationTaskId", mine[0]}})).empty());
  auto third = f.agent_call(agent, "DescribeTasks");
  REQUIRE(third["InvocationNormalTaskSet"].size() == 1);
  CHECK(third["InvocationNormalTaskSet"][0]["InvocationTaskId"] == delayed[0]);
}

TEST_CASE("Start, log and finish reports", "[gateway][tasks]") {
  Fixture f;
  const auto code = f.add_register_code(kRegisterCodeValue);
  auto agent = f.register_agent(code, kRegisterCodeValue);
  auto other = f.register_agent(code, kRegisterCodeValue);
  auto ids = f.add_tasks({agent.instance_id});
  const std::string id = ids[0];
  REQUIRE(error_code(f.agent_call(agent, "DescribeTasks")).empty());

  SECTION("the normal course, with repeats and late reports changing nothing") {
    f.clock.advance_ms(1000);
    auto start = f.agent_call(agent, "ReportTaskStart",
                              {{"InvocationTaskId", id}, {"TimeStamp", "2024-05-01T00:00:01Z"}});
    REQUIRE(error_code(start).empty());
    CHECK(start["TaskStatus"] == "RUNNING");
    const auto started = f.task(id);
    CHECK(started.status == TaskStatus::kRunning);
    CHECK(started.start_ms == f.clock.now_ms());
    CHECK(started.exec_start_ms == ferry::test::kStartMs + 1000);

    f.clock.advance_ms(1000);
    auto repeat = f.agent_call(agent, "ReportTaskStart", {{"InvocationTaskId", id}});
    CHECK(error_code(repeat).empty());
    CHECK(f.task(id).start_ms == started.start_ms);

    for (int i = 0; i < 2; ++i) {
      auto log = f.agent_call(agent, "UploadTaskLog",
                              {{"InvocationTaskId", id},
                               {"Index", 0},
                               {"Output", base64_encode("hello ")},
                               {"Dropped", 0}});
      CHECK(error_code(log).empty());
    }
    CHECK(error_code(
              f.agent_call(
                  agent, "UploadTaskLog",
                  {{"InvocationTaskId", id}, {"Index", 1}, {"Output", base64_encode("world\n")}}))
              .empty());
    auto stored = f.store->task_log(id);
    REQUIRE(stored.has_value());
    CHECK(*stored == "hello world\n");

    const nlohmann::json finish = {{"InvocationTaskId", id},
                                   {"Result", "SUCCESS"},
                                   {"ExitCode", 0},
                                   {"Output", base64_encode("hello world\n")},
                                   {"Dropped", 0},
                                   {"ExecStartTime", "2024-05-01T00:00:01Z"},
                                   {"ExecEndTime", "2024-05-01T00:00:02Z"},
                                   {"ErrorInfo", ""},
                                   {"FinalLogIndex", 1},
                                   {"OutputUrl", "https://bucket.example.com/out/x.log"},
                                   {"OutputUploadCOSErrorInfo", ""}};
    auto done = f.agent_call(agent, "ReportTaskFinish", finish);
    REQUIRE(error_code(done).empty());
    CHECK(done["TaskStatus"] == "SUCCESS");
    const auto t = f.task(id);
    CHECK(t.status == TaskStatus::kSuccess);
    CHECK(t.exit_code == 0);
    CHECK(t.output == base64_encode("hello world\n"));
    CHECK(t.exec_end_ms == ferry::test::kStartMs + 2000);
    CHECK(t.output_url == "https://bucket.example.com/out/x.log");
    CHECK(t.end_ms == f.clock.now_ms());

    // The same report again, a different late one, a late start: success, nothing changes.
    f.clock.advance_ms(1000);
    CHECK(error_code(f.agent_call(agent, "ReportTaskFinish", finish)).empty());
    auto late = finish;
    late["Result"] = "FAILED";
    late["ExitCode"] = 3;
    auto late_resp = f.agent_call(agent, "ReportTaskFinish", late);
    CHECK(error_code(late_resp).empty());
    CHECK(late_resp["TaskStatus"] == "SUCCESS");
    auto late_start = f.agent_call(agent, "ReportTaskStart", {{"InvocationTaskId", id}});
    CHECK(error_code(late_start).empty());
    CHECK(late_start["TaskStatus"] == "SUCCESS");
    CHECK(
        error_code(f.agent_call(
                       agent, "UploadTaskLog",
                       {{"InvocationTaskId", id}, {"Index", 2}, {"Output", base64_encode("late")}}))
            .empty());
    const auto after = f.task(id);
    CHECK(after.status == TaskStatus::kSuccess);
    CHECK(after.exit_code == 0);
    CHECK(after.end_ms == t.end_ms);
    CHECK(after.updated_ms == t.updated_ms);
    CHECK(*f.store->task_log(id) == "hello world\n");
  }
  SECTION("a finish without a start report, on a task put back to PENDING meanwhile") {
    REQUIRE(f.store
                ->modify_task(id,
                              [](InvocationTask& t) {
                                t.status = TaskStatus::kDeliverDelayed;
                                return true;
                              })
                .has_value());
    auto done = f.agent_call(agent, "ReportTaskFinish",
                             {{"InvocationTaskId", id}, {"Result", "FAILED"}, {"ExitCode", 2}});
    REQUIRE(error_code(done).empty());
    CHECK(f.task(id).status == TaskStatus::kFailed);
    CHECK(f.task(id).exit_code == 2);
  }
  SECTION("CANCELLED for a task that was running is TERMINATED") {
    REQUIRE(error_code(f.agent_call(agent, "ReportTaskStart", {{"InvocationTaskId", id}})).empty());
    auto done = f.agent_call(agent, "ReportTaskFinish",
                             {{"InvocationTaskId", id}, {"Result", "CANCELLED"}, {"ExitCode", -1}});
    REQUIRE(error_code(done).empty());
    CHECK(f.task(id).status == TaskStatus::kTerminated);
  }
  SECTION("START_FAILED keeps its error info") {
    auto done = f.agent_call(agent, "ReportTaskFinish",
                             {{"InvocationTaskId", id},
                              {"Result", "START_FAILED"},
                              {"ExitCode", -1},
                              {"ErrorInfo", "InvalidUser: user 'bob' not exists"}});
    REQUIRE(error_code(done).empty());
    CHECK(f.task(id).status == TaskStatus::kStartFailed);
    CHECK(f.task(id).error_info == "InvalidUser: user 'bob' not exists");
  }
  SECTION("only the task's own instance may report on it") {
    CHECK(error_code(f.agent_call(other, "ReportTaskStart", {{"InvocationTaskId", id}})) ==
          "AuthFailure.UnauthorizedOperation");
    CHECK(error_code(f.agent_call(other, "ReportTaskFinish",
                                  {{"InvocationTaskId", id}, {"Result", "SUCCESS"}})) ==
          "AuthFailure.UnauthorizedOperation");
    CHECK(error_code(f.agent_call(other, "UploadTaskLog",
                                  {{"InvocationTaskId", id}, {"Index", 0}, {"Output", ""}})) ==
          "AuthFailure.UnauthorizedOperation");
    CHECK(f.task(id).status == TaskStatus::kDelivering);
    CHECK(error_code(
              f.agent_call(agent, "ReportTaskStart", {{"InvocationTaskId", "invt-nothere1"}})) ==
          "ResourceNotFound.InvocationTaskNotFound");
  }
  SECTION("bad report values") {
    CHECK(error_code(f.agent_call(agent, "ReportTaskFinish",
                                  {{"InvocationTaskId", id}, {"Result", "RUNNING"}})) ==
          "InvalidParameterValue");
    CHECK(error_code(f.agent_call(agent, "ReportTaskFinish",
                                  {{"InvocationTaskId", id},
                                   {"Result", "SUCCESS"},
                                   {"Output", base64_encode(std::string(24 * 1024 + 1, 'x'))}})) ==
          "InvalidParameterValue.TooLong");
    CHECK(error_code(f.agent_call(
              agent, "ReportTaskFinish",
              {{"InvocationTaskId", id}, {"Result", "SUCCESS"}, {"ExecEndTime", "yesterday"}})) ==
          "InvalidParameterValue");
    CHECK(error_code(f.agent_call(agent, "UploadTaskLog",
                                  {{"InvocationTaskId", id}, {"Index", -1}, {"Output", ""}})) ==
          "InvalidParameterValue");
    CHECK(error_code(f.agent_call(agent, "UploadTaskLog",
                                  {{"InvocationTaskId", id}, {"Index", 0}, {"Output", "!!"}})) ==
          "InvalidParameterValue");
    CHECK(error_code(
              f.agent_call(agent, "UploadTaskLog", {{"InvocationTaskId", id}, {"Output", ""}})) ==
          "MissingParameter");
    CHECK(f.task(id).status == TaskStatus::kDelivering);
  }
  SECTION("live output is capped at 24 KiB per task") {
    const std::string piece(4096, 'a');
    for (int i = 0; i < 8; ++i) {
      CHECK(error_code(f.agent_call(agent, "UploadTaskLog",
                                    {{"InvocationTaskId", id},
                                     {"Index", i},
                                     {"Output", base64_encode(piece)},
                                     {"Dropped", 0}}))
                .empty());
    }
    auto stored = f.store->task_log(id);
    REQUIRE(stored.has_value());
    CHECK(stored->size() == 24 * 1024);
  }
}

TEST_CASE("Heartbeat records the agent and tells the interval", "[gateway][heartbeat]") {
  Fixture f;
  const auto code = f.add_register_code(kRegisterCodeValue);
  auto agent = f.register_agent(code, kRegisterCodeValue);
  auto resp = f.agent_call(agent, "Heartbeat",
                           {{"Version", "0.1.0"},
                            {"Environment", "Linux"},
                            {"SupportFeatures", {"LAUNCHER", "TERMINATION_MODE"}},
                            {"ProtocolVersion", 1}});
  REQUIRE(error_code(resp).empty());
  CHECK(resp["HeartbeatInterval"] == 60);
  auto inst = f.store->get_instance(agent.instance_id);
  REQUIRE(inst.has_value());
  REQUIRE(inst->has_value());
  CHECK((*inst)->agent_version == "0.1.0");
  CHECK((*inst)->environment == "Linux");
  CHECK((*inst)->last_heartbeat_ms == f.clock.now_ms());
  CHECK((*inst)->support_features == std::vector<std::string>{"LAUNCHER", "TERMINATION_MODE"});
  // Each heartbeat moves LastHeartbeatTime, also when nothing else changed.
  const int64_t first = f.clock.now_ms();
  f.clock.advance_ms(60'000);
  REQUIRE(error_code(f.agent_call(agent, "Heartbeat",
                                  {{"Version", "0.1.0"},
                                   {"Environment", "Linux"},
                                   {"SupportFeatures", {"LAUNCHER", "TERMINATION_MODE"}}}))
              .empty());
  inst = f.store->get_instance(agent.instance_id);
  REQUIRE(inst.has_value());
  REQUIRE(inst->has_value());
  CHECK((*inst)->last_heartbeat_ms == first + 60'000);
  CHECK(error_code(f.agent_call(agent, "Heartbeat", {{"Environment", "BeOS"}})) ==
        "InvalidParameterValue");
}

TEST_CASE("Heartbeat stores the BootId; a new one starts the instance's reboot runs once",
          "[gateway][heartbeat]") {
  Fixture f;
  const auto code = f.add_register_code(kRegisterCodeValue);
  auto agent = f.register_agent(code, kRegisterCodeValue);
  const auto beat = [&](const std::string& boot_id) {
    auto resp = f.agent_call(agent, "Heartbeat", {{"Version", "0.1.0"}, {"BootId", boot_id}});
    REQUIRE(error_code(resp).empty());
  };
  domain::RunRequest r;
  r.command.content = base64_encode("echo booted");
  r.instance_ids = {agent.instance_id};
  r.repeat.mode = domain::RepeatMode::kEveryReboot;
  auto made = domain::run_command(f.ctx, r);
  REQUIRE(made);
  const auto runs = [&] { return f.tasks_of(made->invocation_id).size(); };

  beat("boot-one");  // the first report: stored, no run
  auto inst = f.store->get_instance(agent.instance_id);
  REQUIRE(inst);
  REQUIRE(*inst);
  CHECK((*inst)->boot_id == "boot-one");
  CHECK(runs() == 0);
  beat("boot-one");
  CHECK(runs() == 0);
  beat("boot-two");
  CHECK(runs() == 1);
  beat("boot-two");
  CHECK(runs() == 1);
  CHECK(error_code(f.agent_call(agent, "Heartbeat", {{"BootId", std::string(65, 'a')}})) ==
        "InvalidParameterValue");
}
