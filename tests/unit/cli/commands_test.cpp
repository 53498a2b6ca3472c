#include "ferry/cli/commands.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "fake_api.hpp"
#include "ferry/core/base64.hpp"

namespace ferry::cli::test {

using nlohmann::json;

TEST_CASE("commands: the tasks table", "[cli][commands]") {
  const json set = json::array({json{{"InvocationTaskId", "invt-1"},
                                     {"InstanceId", "rins-1"},
                                     {"TaskStatus", "SUCCESS"},
                                     {"InvocationId", "inv-1"},
                                     {"CreatedTime", "2024-05-01T12:00:00Z"},
                                     {"TaskResult", {{"ExitCode", 0}}}},
                                json{{"InvocationTaskId", "invt-2"},
                                     {"InstanceId", "rins-2"},
                                     {"TaskStatus", "PENDING"},
                                     {"InvocationId", "inv-1"},
                                     {"CreatedTime", "2024-05-01T12:00:00Z"},
                                     // 0 until there is an exit status: not shown
                                     {"TaskResult", {{"ExitCode", 0}}}}});
  CHECK(render_table(tasks_table(set), TableStyle::kAligned) ==
        "TASK    INSTANCE  STATUS   EXIT  INVOCATION  CREATED\n"
        "invt-1  rins-1    SUCCESS  0     inv-1       2024-05-01T12:00:00Z\n"
        "invt-2  rins-2    PENDING  -     inv-1       2024-05-01T12:00:00Z\n");
}

TEST_CASE("commands: invocations show the first line of their content", "[cli][commands]") {
  const json set = json::array(
      {json{{"InvocationId", "inv-1"},
            {"InvocationStatus", "RUNNING"},
            {"CommandId", "cmd-1"},
            {"CreatedTime", "t"},
            {"CommandContent", ferry::base64_encode("echo one\necho two\n")},
            {"InvocationTaskBasicInfoSet", json::array({json::object(), json::object()})}}});
  CHECK(render_table(invocations_table(set), TableStyle::kTabs) ==
        "INVOCATION\tSTATUS\tTASKS\tCOMMAND\tCREATED\tCONTENT\n"
        "inv-1\tRUNNING\t2\tcmd-1\tt\techo one ...\n");
  CHECK(content_summary(ferry::base64_encode("x"), 40) == "x");
  CHECK(content_summary("not base64!", 40) == "?");
  CHECK(content_summary(ferry::base64_encode(std::string(100, 'y')), 10) == "yyyyyyy...");
}

TEST_CASE("commands: instances and commands tables", "[cli][commands]") {
  const json instances = json::array({json{{"InstanceId", "rins-1"},
                                           {"InstanceName", "web-1"},
                                           {"Status", "Online"},
                                           {"SystemName", "Linux"},
                                           {"HostName", "web"},
                                           {"LocalIp", "10.0.0.1"},
                                           {"CreatedTime", "t"}}});
  CHECK(render_table(instances_table(instances), TableStyle::kTabs) ==
        "INSTANCE\tNAME\tSTATUS\tSYSTEM\tHOST\tIP\tREGISTERED\n"
        "rins-1\tweb-1\tOnline\tLinux\tweb\t10.0.0.1\tt\n");
  const json commands = json::array({json{{"CommandId", "cmd-1"},
                                          {"CommandName", "uptime"},
                                          {"CommandType", "SHELL"},
                                          {"Timeout", 60},
                                          {"CreatedTime", "t"},
                                          {"Content", ferry::base64_encode("uptime")}}});
  CHECK(render_table(commands_table(commands), TableStyle::kTabs) ==
        "COMMAND\tNAME\tTYPE\tTIMEOUT\tCREATED\tCONTENT\n"
        "cmd-1\tuptime\tSHELL\t60\tt\tuptime\n");
}

TEST_CASE("commands: tasks filters and --output", "[cli][commands]") {
  const std::string head = "head line\n";
  const std::string tail = "tail line\n";
  auto api = answering(json{
      {"TotalCount", 1},
      {"InvocationTaskSet",
       json::array({json{
           {"InvocationTaskId", "invt-1"},
           {"InstanceId", "rins-1"},
           {"TaskStatus", "SUCCESS"},
           {"TaskResult",
            {{"ExitCode", 0}, {"Output", ferry::base64_encode(head + tail)}, {"Dropped", 0}}}}})}});
  CapturedConsole c;
  TasksOptions o;
  o.invocation_id = "inv-1";
  o.instance_id = "rins-1";
  o.limit = 5;
  o.output = true;
  auto code = tasks_command(api, o, c.console);
  REQUIRE(code);
  CHECK(*code == 0);
  const json& p = api.calls.at(0).second;
  CHECK(api.calls.at(0).first == "DescribeInvocationTasks");
  CHECK(p["Limit"] == 5);
  CHECK(p["HideOutput"] == false);
  CHECK(p["Filters"] == json::array({json{{"Name", "invocation-id"}, {"Values", {"inv-1"}}},
                                     json{{"Name", "instance-id"}, {"Values", {"rins-1"}}}}));
  CHECK(c.out.str().find("\n== invt-1 on rins-1: SUCCESS\nhead line\ntail line\n") !=
        std::string::npos);
}

TEST_CASE("commands: --json prints the Response", "[cli][commands]") {
  const json reply{{"TotalCount", 0}, {"InvocationSet", json::array()}, {"RequestId", "r"}};
  auto api = answering(reply);
  CapturedConsole c;
  InvocationsOptions o;
  o.json = true;
  REQUIRE(invocations_command(api, o, c.console));
  CHECK(json::parse(c.out.str()) == reply);
}

TEST_CASE("commands: cancel, register-code create, commands --name", "[cli][commands]") {
  SECTION("cancel") {
    auto api = answering(json{{"RequestId", "r"}});
    CapturedConsole c;
    CancelOptions o;
    o.invocation_id = "inv-1";
    o.instances = {"rins-1"};
    REQUIRE(cancel_command(api, o, c.console));
    CHECK(api.calls.at(0).first == "CancelInvocation");
    CHECK(api.calls.at(0).second ==
          json{{"InvocationId", "inv-1"}, {"InstanceIds", json::array({"rins-1"})}});
    CHECK(c.out.str() == "cancel requested: inv-1\n");
  }
  SECTION("register-code create --json") {
    auto api = answering(json{{"RegisterCodeId", "rc-1"}, {"RegisterCodeValue", "secret"}});
    CapturedConsole c;
    RegisterCodeOptions o;
    o.name = "demo";
    o.description = "for the demo";
    o.limit = 3;
    o.json = true;
    REQUIRE(register_code_create_command(api, o, "http://127.0.0.1:1", c.console));
    CHECK(api.calls.at(0).first == "CreateRegisterCode");
    CHECK(api.calls.at(0).second == json{{"InstanceNamePrefix", "demo"},
                                         {"Description", "for the demo"},
                                         {"RegisterLimit", 3}});
    const auto printed = json::parse(c.out.str());
    CHECK(printed["RegisterCodeId"] == "rc-1");
    CHECK(printed["RegisterCodeValue"] == "secret");
  }
  SECTION("commands --name") {
    auto api = answering(json{{"TotalCount", 0}, {"CommandSet", json::array()}});
    CapturedConsole c;
    CommandsOptions o;
    o.name = "uptime";
    REQUIRE(commands_command(api, o, c.console));
    CHECK(api.calls.at(0).second["Filters"] ==
          json::array({json{{"Name", "command-name"}, {"Values", {"uptime"}}}}));
    CHECK(c.out.str() == "COMMAND\tNAME\tTYPE\tTIMEOUT\tCREATED\tCONTENT\n");
  }
  SECTION("an API error comes back as it is") {
    FakeApi api([](const std::string&, const json&) -> Expected<json> {
      return Error{"ResourceNotFound.InvocationNotFound", "the invocation inv-x does not exist"};
    });
    CapturedConsole c;
    CancelOptions o;
    o.invocation_id = "inv-x";
    auto code = cancel_command(api, o, c.console);
    REQUIRE_FALSE(code);
    CHECK(code.error().code == "ResourceNotFound.InvocationNotFound");
    CHECK(c.out.str().empty());
  }
}

}  // namespace ferry::cli::test
