#include "gateway_test_support.hpp"

#include <catch2/catch.hpp>

#include "ferry/core/crypto.hpp"

namespace ferry::test {

using namespace ferry::server;

Fixture::Fixture()
    : auth(*store, clock), gateway(ctx, auth, [this] {
        GatewayOptions o;
        o.on_agent_seen = [this](const std::string& id, int64_t) { seen.push_back(id); };
        return o;
      }()) {
  settings.account_id = "1234567890";
  settings.regions = {{"ap-test", "Test", "AVAILABLE"}};
}

std::string Fixture::add_register_code(const std::string& value, int64_t limit,
                                       const std::string& ip_range, int64_t expired_ms,
                                       const std::string& prefix) {
  auto id = random_id("rgc-", 8);
  REQUIRE(id.has_value());
  RegisterCode c;
  c.register_code_id = *id;
  c.value_hash = sha256_hex(value);
  c.description = "test";
  c.instance_name_prefix = prefix;
  c.register_limit = limit;
  c.expired_ms = expired_ms;
  c.ip_address_range = ip_range;
  c.created_ms = c.updated_ms = clock.now_ms();
  REQUIRE(store->insert_register_code(c).has_value());
  return *id;
}

HttpRequest Fixture::signed_request(const std::string& action, nlohmann::json body,
                                    const Ed25519PrivateKey& key, const std::string& instance_id) {
  body["Action"] = action;
  HttpRequest r;
  r.method = "POST";
  r.target = "/agent";
  r.body = body.dump();
  r.remote_address = "127.0.0.1";
  const int64_t ts = clock.now_ms() / 1000;
  const std::string nonce = "nonce-" + std::to_string(++nonce_counter) + "-abcdefghijkl";
  auto signing = agent_signing_string(action, sha256_hex(r.body), ts, nonce, instance_id);
  REQUIRE(signing.has_value());
  auto sig = key.sign_base64(*signing);
  REQUIRE(sig.has_value());
  r.headers = {{"content-type", "application/json"},
               {"x-ferry-protocol", "1"},
               {"x-ferry-instance", instance_id},
               {"x-ferry-timestamp", std::to_string(ts)},
               {"x-ferry-nonce", nonce},
               {"x-ferry-signature", *sig}};
  return r;
}

nlohmann::json Fixture::call(const HttpRequest& request) {
  HttpResponse r = gateway.handle(request);
  REQUIRE(r.status == 200);
  auto j = nlohmann::json::parse(r.body);
  REQUIRE(j.contains("Response"));
  const auto& resp = j["Response"];
  CHECK(resp["ProtocolVersion"] == kAgentProtocolVersion);
  CHECK(resp.contains("RequestId"));
  CHECK(resp["ServerTime"] == clock.now_ms() / 1000);
  return resp;
}

TestAgent Fixture::register_agent(const std::string& code_id, const std::string& code_value,
                                  const std::string& remote) {
  auto key = Ed25519PrivateKey::generate();
  REQUIRE(key.has_value());
  nlohmann::json body = {{"RegisterCodeId", code_id},
                         {"RegisterCodeValue", code_value},
                         {"PublicKey", key->public_key_base64()},
                         {"Hostname", "host-1"},
                         {"LocalIp", {"10.0.0.5", "192.168.1.5"}},
                         {"MachineId", "machine-1"},
                         {"SystemName", "Linux"}};
  auto req = signed_request("RegisterInstance", body, *key, "");
  req.remote_address = remote;
  auto resp = call(req);
  INFO(resp.dump());
  REQUIRE(error_code(resp).empty());
  return TestAgent{std::move(*key), resp["InstanceId"].get<std::string>()};
}

nlohmann::json Fixture::agent_call(const TestAgent& agent, const std::string& action,
                                   nlohmann::json body) {
  return call(signed_request(action, std::move(body), agent.key, agent.instance_id));
}

std::vector<std::string> Fixture::add_tasks(const std::vector<std::string>& instance_ids,
                                            TaskStatus status, int64_t timeout_s) {
  auto inv_id = random_id("inv-", 8);
  REQUIRE(inv_id.has_value());
  Invocation inv;
  inv.invocation_id = *inv_id;
  inv.command_id = "cmd-test0001";
  inv.command_name = "test";
  inv.command_content = "ZWNobyBoaQ==";
  inv.timeout = timeout_s;
  inv.created_ms = inv.updated_ms = clock.now_ms();
  std::vector<InvocationTask> tasks;
  std::vector<std::string> ids;
  for (const auto& instance : instance_ids) {
    auto id = random_id("invt-", 8);
    REQUIRE(id.has_value());
    InvocationTask t;
    t.invocation_task_id = *id;
    t.invocation_id = inv.invocation_id;
    t.command_id = inv.command_id;
    t.command_name = inv.command_name;
    t.instance_id = instance;
    t.status = status;
    t.document.content = inv.command_content;
    t.document.timeout = timeout_s;
    t.document.working_directory = "/tmp";
    t.document.username = "root";
    t.document.output_cos_bucket_url = "https://bucket.example.com";
    t.document.output_cos_key_prefix = "out";
    t.enable_parameter = true;
    t.parameters = R"({"name":"world"})";
    t.created_ms = t.updated_ms = clock.now_ms();
    if (status != TaskStatus::kPending && status != TaskStatus::kDeliverDelayed) {
      t.delivered_ms = clock.now_ms();
    }
    if (status == TaskStatus::kRunning || status == TaskStatus::kCancelling) {
      t.start_ms = clock.now_ms();
    }
    tasks.push_back(t);
    ids.push_back(*id);
  }
  REQUIRE(store->insert_invocation(std::nullopt, inv, tasks).has_value());
  return ids;
}

std::string error_code(const nlohmann::json& response) {
  if (!response.contains("Error")) {
    return "";
  }
  return response["Error"]["Code"].get<std::string>();
}

}  // namespace ferry::test
