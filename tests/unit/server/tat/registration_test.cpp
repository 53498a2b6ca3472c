#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include "action_test_support.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/server/store/store_errors.hpp"
#include "ferry/server/tat/tat_json.hpp"

using namespace ferry;
using namespace ferry::server;
using namespace ferry::test;
using nlohmann::json;

namespace {

// Registers an instance with `value` of `code_id`, as the agent gateway would.
Status register_with(ActionFixture& f, const std::string& code_id, const std::string& value,
                     const std::string& instance_id) {
  RegisterInstance inst;
  inst.instance_id = instance_id;
  inst.register_code_id = code_id;
  inst.instance_name = instance_id;
  inst.system_name = "Linux";
  inst.created_ms = inst.updated_ms = f.clock.now_ms();
  return f.store->register_instance(
      RegistrationCheck{code_id, sha256_hex(value), f.clock.now_ms(), {}}, inst);
}

std::vector<std::string> ids_of(const json& set, const char* field = "InstanceId") {
  std::vector<std::string> out;
  for (const auto& item : set) {
    out.push_back(item[field]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE_METHOD(ActionFixture, "CreateRegisterCode applies the model's defaults",
                 "[actions][register-code]") {
  auto r = ok("CreateRegisterCode", json::object());
  const std::string id = r["RegisterCodeId"];
  const std::string value = r["RegisterCodeValue"];
  CHECK(id.size() == 36);
  CHECK(value.size() >= 32);
  auto listed = ok("DescribeRegisterCodes", {{"RegisterCodeIds", {id}}});
  REQUIRE(listed["TotalCount"] == 1);
  const auto& info = listed["RegisterCodeSet"][0];
  for (const char* field :
       {"RegisterCodeId", "Description", "InstanceNamePrefix", "RegisterLimit", "ExpiredTime",
        "IpAddressRange", "Enabled", "RegisteredCount", "CreatedTime", "UpdatedTime"}) {
    CHECK(info.contains(field));
  }
  CHECK(info["RegisterLimit"] == 10);
  CHECK(info["ExpiredTime"] == format_time(clock.now_ms() + 4 * 3600 * 1000));
  CHECK(info["Enabled"] == true);
  CHECK(info["RegisteredCount"] == 0);
  CHECK(info["IpAddressRange"] == "");
  CHECK(info["CreatedTime"] == format_time(clock.now_ms()));
  // Neither the value nor anything derived from it is listed.
  CHECK(listed.dump().find(value) == std::string::npos);
  CHECK(listed.dump().find(sha256_hex(value)) == std::string::npos);

  // The store keeps the value's hash: the value registers, another does not.
  CHECK(register_with(*this, id, "wrong", "rins-reg00001").error().code ==
        store_codes::kRegisterCodeValueMismatch);
  REQUIRE(register_with(*this, id, value, "rins-reg00001"));
  CHECK(ok("DescribeRegisterCodes",
           {{"RegisterCodeIds", {id}}})["RegisterCodeSet"][0]["RegisteredCount"] == 1);
  // Two codes never share an id or a value.
  auto other = ok("CreateRegisterCode", json::object());
  CHECK(other["RegisterCodeId"] != id);
  CHECK(other["RegisterCodeValue"] != value);
}

TEST_CASE_METHOD(ActionFixture, "CreateRegisterCode takes and checks its parameters",
                 "[actions][register-code]") {
  auto r = ok("CreateRegisterCode", {{"Description", "web fleet"},
                                     {"InstanceNamePrefix", "web"},
                                     {"RegisterLimit", 10000},
                                     {"EffectiveTime", 100000},
                                     {"IpAddressRange", "192.168.0.0/16"}});
  auto info = ok("DescribeRegisterCodes",
                 {{"RegisterCodeIds", {r["RegisterCodeId"]}}})["RegisterCodeSet"][0];
  CHECK(info["Description"] == "web fleet");
  CHECK(info["InstanceNamePrefix"] == "web");
  CHECK(info["RegisterLimit"] == 10000);
  CHECK(info["ExpiredTime"].is_null());  // the model: "may return null"
  CHECK(info["IpAddressRange"] == "192.168.0.0/16");
  auto hours = ok("CreateRegisterCode", {{"EffectiveTime", 99999}});
  CHECK(ok("DescribeRegisterCodes",
           {{"RegisterCodeIds", {hours["RegisterCodeId"]}}})["RegisterCodeSet"][0]["ExpiredTime"] ==
        format_time(clock.now_ms() + int64_t{99999} * 3600 * 1000));

  CHECK(code("CreateRegisterCode", {{"RegisterLimit", 0}}) == "InvalidParameterValue.Range");
  CHECK(code("CreateRegisterCode", {{"RegisterLimit", 10001}}) == "InvalidParameterValue.Range");
  CHECK(code("CreateRegisterCode", {{"EffectiveTime", 0}}) == "InvalidParameterValue.Range");
  CHECK(code("CreateRegisterCode", {{"Description", std::string(129, 'd')}}) ==
        "InvalidParameterValue.TooLong");
  CHECK(code("CreateRegisterCode", {{"InstanceNamePrefix", std::string(33, 'p')}}) ==
        "InvalidParameterValue.TooLong");
  CHECK(code("CreateRegisterCode", {{"IpAddressRange", "10.0.0.1/8"}}) == "InvalidParameterValue");
  CHECK(code("CreateRegisterCode", {{"IpAddressRange", "300.1.1.1"}}) == "InvalidParameterValue");
  CHECK(code("CreateRegisterCode", {{"RegisterLimit", "ten"}}) == "InvalidParameter");
  CHECK(code("CreateRegisterCode", {{"Name", "x"}}) == "UnknownParameter");
}

TEST_CASE_METHOD(ActionFixture, "Register codes: quota, disable, delete",
                 "[actions][register-code]") {
  settings.register_code_quota = 2;
  const std::string a = ok("CreateRegisterCode", json::object())["RegisterCodeId"];
  clock.advance_ms(1000);
  const std::string b = ok("CreateRegisterCode", json::object())["RegisterCodeId"];
  CHECK(code("CreateRegisterCode", json::object()) == "ResourceUnavailable.UserHasNoQuotaCode");

  auto all = ok("DescribeRegisterCodes", json::object());
  CHECK(all["TotalCount"] == 2);
  CHECK(all["RegisterCodeSet"][0]["RegisterCodeId"] == b);  // newest first
  auto page = ok("DescribeRegisterCodes", {{"Offset", 1}, {"Limit", 1}});
  REQUIRE(page["RegisterCodeSet"].size() == 1);
  CHECK(page["RegisterCodeSet"][0]["RegisterCodeId"] == a);

  clock.advance_ms(1000);
  ok("DisableRegisterCodes", {{"RegisterCodeIds", {a}}});
  auto disabled = ok("DescribeRegisterCodes", {{"RegisterCodeIds", {a}}})["RegisterCodeSet"][0];
  CHECK(disabled["Enabled"] == false);
  CHECK(disabled["UpdatedTime"] == format_time(clock.now_ms()));
  CHECK(code("DisableRegisterCodes",
             {{"RegisterCodeIds", {a, "00000000-0000-4000-8000-00000000dead"}}}) ==
        "ResourceNotFound.RegisterCodeNotFound");
  CHECK(code("DisableRegisterCodes", json::object()) == "MissingParameter");
  CHECK(code("DisableRegisterCodes", {{"RegisterCodeIds", {"bad id"}}}) == "InvalidParameterValue");

  CHECK(code("DeleteRegisterCodes",
             {{"RegisterCodeIds", {b, "00000000-0000-4000-8000-00000000dead"}}}) ==
        "ResourceNotFound.RegisterCodeNotFound");
  CHECK(ok("DescribeRegisterCodes", json::object())["TotalCount"] == 2);  // all or none
  ok("DeleteRegisterCodes", {{"RegisterCodeIds", {b}}});
  CHECK(ok("DescribeRegisterCodes", json::object())["TotalCount"] == 1);
  // The quota has room again.
  ok("CreateRegisterCode", json::object());
}

namespace {

struct InstancesFixture : ActionFixture {
  InstancesFixture() {
    add_instance({.id = "rins-lnx00001",
                  .name = "web-1",
                  .local_ip = "10.0.0.1",
                  .tags = {{"env", "prod"}}});
    clock.advance_ms(1000);
    add_instance({.id = "rins-lnx00002",
                  .online = false,
                  .name = "web-2",
                  .local_ip = "10.0.0.2",
                  .tags = {{"env", "test"}}});
    clock.advance_ms(1000);
    add_instance(
        {.id = "rins-win00001", .name = "db-1", .system = "Windows", .local_ip = "10.0.0.3"});
  }

  std::vector<std::string> listed(const json& body) {
    return ids_of(ok("DescribeRegisterInstances", body)["RegisterInstanceSet"]);
  }
  static json filter(const std::string& name, const std::vector<std::string>& values) {
    return {{"Filters", {{{"Name", name}, {"Values", values}}}}};
  }
};

}  // namespace

TEST_CASE_METHOD(InstancesFixture, "DescribeRegisterInstances lists and filters",
                 "[actions][instances]") {
  auto all = ok("DescribeRegisterInstances", json::object());
  CHECK(all["TotalCount"] == 3);
  const auto& first = all["RegisterInstanceSet"][0];
  for (const char* field :
       {"RegisterCodeId", "InstanceId", "InstanceName", "MachineId", "SystemName", "HostName",
        "LocalIp", "PublicKey", "Status", "CreatedTime", "UpdatedTime", "Tags"}) {
    CHECK(first.contains(field));
  }
  CHECK(first["InstanceId"] == "rins-win00001");  // newest first
  CHECK(first["Status"] == "Online");
  CHECK(first["SystemName"] == "Windows");

  using V = std::vector<std::string>;
  CHECK(listed({{"InstanceIds", {"rins-lnx00002", "rins-nothere1"}}}) == V{"rins-lnx00002"});
  CHECK(listed(filter("instance-name", {"web-1", "db-1"})) == V{"rins-lnx00001", "rins-win00001"});
  CHECK(listed(filter("instance-id", {"rins-lnx00001"})) == V{"rins-lnx00001"});
  CHECK(listed(filter("register-status", {"Offline"})) == V{"rins-lnx00002"});
  CHECK(listed(filter("register-status", {"Online"})) == V{"rins-lnx00001", "rins-win00001"});
  CHECK(listed(filter("local-ip", {"10.0.0.3"})) == V{"rins-win00001"});
  CHECK(listed(filter("sys-name", {"Linux"})) == V{"rins-lnx00001", "rins-lnx00002"});
  CHECK(listed(filter("tag-key", {"env"})) == V{"rins-lnx00001", "rins-lnx00002"});
  CHECK(listed(filter("tag-value", {"prod"})) == V{"rins-lnx00001"});
  CHECK(listed(filter("tag:env", {"test"})) == V{"rins-lnx00002"});
  CHECK(listed(filter("register-code-id", {"00000000-0000-4000-8000-000000000001"})).size() == 3);
  CHECK(listed(filter("register-code-id", {"00000000-0000-4000-8000-000000000002"})).empty());

  // A presence filter still pages exactly.
  json online_page = filter("register-status", {"Online"});
  online_page["Limit"] = 1;
  online_page["Offset"] = 1;
  auto page = ok("DescribeRegisterInstances", online_page);
  CHECK(page["TotalCount"] == 2);
  REQUIRE(page["RegisterInstanceSet"].size() == 1);
  CHECK(page["RegisterInstanceSet"][0]["InstanceId"] == "rins-lnx00001");

  CHECK(code("DescribeRegisterInstances", filter("register-status", {"Gone"})) ==
        "InvalidParameterValue.InvalidFilter");
  CHECK(code("DescribeRegisterInstances", filter("sys-name", {"Darwin"})) ==
        "InvalidParameterValue.InvalidFilter");
  CHECK(code("DescribeRegisterInstances", filter("agent-status", {"Online"})) ==
        "InvalidParameterValue.InvalidFilter");
  json both = filter("instance-id", {"rins-lnx00001"});
  both["InstanceIds"] = {"rins-lnx00001"};
  CHECK(code("DescribeRegisterInstances", both) == "InvalidParameter.ConflictParameter");
}

TEST_CASE_METHOD(InstancesFixture, "ModifyRegisterInstance and DeleteRegisterInstance",
                 "[actions][instances]") {
  clock.advance_ms(5000);
  ok("ModifyRegisterInstance", {{"InstanceId", "rins-lnx00001"}, {"InstanceName", "front-1"}});
  auto got = ok("DescribeRegisterInstances", {{"InstanceIds", {"rins-lnx00001"}}});
  CHECK(got["RegisterInstanceSet"][0]["InstanceName"] == "front-1");
  CHECK(got["RegisterInstanceSet"][0]["UpdatedTime"] == format_time(clock.now_ms()));
  CHECK(code("ModifyRegisterInstance", {{"InstanceId", "rins-lnx00001"}, {"InstanceName", ""}}) ==
        "InvalidParameterValue");
  CHECK(code("ModifyRegisterInstance",
             {{"InstanceId", "rins-lnx00001"}, {"InstanceName", std::string(61, 'n')}}) ==
        "InvalidParameterValue");
  CHECK(code("ModifyRegisterInstance", {{"InstanceId", "rins-lnx00001"}}) == "MissingParameter");
  CHECK(code("ModifyRegisterInstance", {{"InstanceId", "rins-nothere1"}, {"InstanceName", "x"}}) ==
        "ResourceNotFound.InstanceNotFound");

  ok("DeleteRegisterInstance", {{"InstanceId", "rins-lnx00001"}});
  CHECK(presence.disconnected() == std::vector<std::string>{"rins-lnx00001"});
  auto gone = store->get_instance("rins-lnx00001");
  REQUIRE(gone.has_value());
  CHECK_FALSE(gone->has_value());
  CHECK(code("DeleteRegisterInstance", {{"InstanceId", "rins-lnx00001"}}) ==
        "ResourceNotFound.InstanceNotFound");
  CHECK(presence.disconnected().size() == 1);
  CHECK(code("DeleteRegisterInstance", {{"InstanceId", "x"}}) ==
        "InvalidParameterValue.InvalidInstanceId");
}

TEST_CASE_METHOD(InstancesFixture, "DescribeAutomationAgentStatus", "[actions][instances]") {
  REQUIRE(store->record_heartbeat("rins-lnx00001", "1.2.3", "Linux", {"cancel", "cos-upload"},
                                  clock.now_ms()));
  auto r =
      ok("DescribeAutomationAgentStatus", {{"InstanceIds", {"rins-lnx00001", "rins-nothere1"}}});
  CHECK(r["TotalCount"] == 1);
  REQUIRE(r["AutomationAgentSet"].size() == 1);
  const auto& agent = r["AutomationAgentSet"][0];
  CHECK(agent["InstanceId"] == "rins-lnx00001");
  CHECK(agent["Version"] == "1.2.3");
  CHECK(agent["LastHeartbeatTime"] == format_time(clock.now_ms()));
  CHECK(agent["AgentStatus"] == "Online");
  CHECK(agent["Environment"] == "Linux");
  CHECK(agent["SupportFeatures"] == json{"cancel", "cos-upload"});

  const auto agents = [&](const std::string& name, const std::vector<std::string>& values) {
    return ids_of(ok("DescribeAutomationAgentStatus",
                     InstancesFixture::filter(name, values))["AutomationAgentSet"]);
  };
  using V = std::vector<std::string>;
  CHECK(agents("agent-status", {"Offline"}) == V{"rins-lnx00002"});
  CHECK(agents("environment", {"Windows"}) == V{"rins-win00001"});
  CHECK(agents("instance-id", {"rins-lnx00002", "rins-win00001"}) ==
        V{"rins-lnx00002", "rins-win00001"});
  json combined = {{"Filters",
                    {{{"Name", "agent-status"}, {"Values", {"Online"}}},
                     {{"Name", "environment"}, {"Values", {"Linux"}}}}}};
  CHECK(ids_of(ok("DescribeAutomationAgentStatus", combined)["AutomationAgentSet"]) ==
        V{"rins-lnx00001"});
  auto never = ok("DescribeAutomationAgentStatus", {{"InstanceIds", {"rins-lnx00002"}}});
  CHECK(never["AutomationAgentSet"][0]["LastHeartbeatTime"].is_null());
  CHECK(never["AutomationAgentSet"][0]["Version"] == "");

  CHECK(code("DescribeAutomationAgentStatus", InstancesFixture::filter("agent-status", {"Up"})) ==
        "InvalidParameterValue.InvalidFilter");
  json both = InstancesFixture::filter("instance-id", {"rins-lnx00001"});
  both["InstanceIds"] = {"rins-lnx00001"};
  CHECK(code("DescribeAutomationAgentStatus", both) == "InvalidParameter.ConflictParameter");
  CHECK(code("DescribeAutomationAgentStatus", {{"Limit", 0}}) == "InvalidParameterValue.Range");
}
