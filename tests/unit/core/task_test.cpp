#include "ferry/core/task.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "ferry/core/base64.hpp"
#include "ferry/core/error_codes.hpp"

using ferry::CommandType;
using ferry::parse_task;
using ferry::Task;
using ferry::TaskStatus;
using ferry::TerminationMode;
using nlohmann::json;
namespace codes = ferry::codes;

namespace {

json minimal() {
  return json{{"InvocationTaskId", "invt-abc123"}, {"Content", "ZWNobyBoaQ=="}};
}

Task parsed(const json& j) {
  auto t = parse_task(j);
  if (!t) {
    FAIL("unexpected error " << t.error().code << ": " << t.error().message);
  }
  return *t;
}

ferry::Error task_error(const json& j) {
  auto t = parse_task(j);
  REQUIRE_FALSE(t.has_value());
  return t.error();
}

json with(json j, const std::string& field, json value) {
  j[field] = std::move(value);
  return j;
}

Task task_with_content(std::string_view script) {
  Task t;
  t.invocation_task_id = "invt-1";
  t.content = ferry::base64_encode(script);
  return t;
}

}  // namespace

TEST_CASE("a minimal task gets the defaults", "[task]") {
  const Task t = parsed(minimal());
  CHECK(t.invocation_task_id == "invt-abc123");
  CHECK(t.content == "ZWNobyBoaQ==");
  CHECK(t.invocation_id.empty());
  CHECK(t.command_id.empty());
  CHECK(t.command_type == CommandType::kShell);
  CHECK(t.working_directory.empty());
  CHECK(t.username.empty());
  CHECK(t.timeout_seconds == 60);
  CHECK_FALSE(t.enable_parameter);
  CHECK(t.parameters.empty());
  CHECK(t.launcher.empty());
  CHECK(t.termination_mode == TerminationMode::kProcessTree);
  CHECK(t.builtins == ferry::InstanceBuiltins{});
}

TEST_CASE("every field of a task is read", "[task]") {
  const json j = json::parse(R"({
    "InvocationTaskId": "invt-x_Y-9",
    "InvocationId": "inv-1",
    "CommandId": "cmd-2",
    "Content": "ZWNobyB7e2F9fQ==",
    "CommandType": "POWERSHELL",
    "WorkingDirectory": "/srv/app",
    "Username": "deploy",
    "Timeout": 86400,
    "EnableParameter": true,
    "Parameters": {"a": "1", "B-c_d": ""},
    "Launcher": "python3 -u {{ACS::ScriptFileName|Ext(\".py\")}}",
    "TerminationMode": "Process",
    "RegionId": "ap-guangzhou",
    "AccountId": "1000",
    "InstanceId": "ins-1",
    "InstanceName": "web-1",
    "OutputCOSBucketUrl": "https://b-1250000000.cos.ap-beijing.myqcloud.com",
    "OutputCOSKeyPrefix": "logs",
    "SomethingNew": {"x": [1, 2]}
  })");
  const Task t = parsed(j);
  CHECK(t.invocation_task_id == "invt-x_Y-9");
  CHECK(t.invocation_id == "inv-1");
  CHECK(t.command_id == "cmd-2");
  CHECK(t.content == "ZWNobyB7e2F9fQ==");
  CHECK(t.command_type == CommandType::kPowerShell);
  CHECK(t.working_directory == "/srv/app");
  CHECK(t.username == "deploy");
  CHECK(t.timeout_seconds == 86400);
  CHECK(t.enable_parameter);
  CHECK(t.parameters == std::map<std::string, std::string>{{"a", "1"}, {"B-c_d", ""}});
  CHECK(t.launcher == R"(python3 -u {{ACS::ScriptFileName|Ext(".py")}})");
  CHECK(t.termination_mode == TerminationMode::kProcess);
  CHECK(t.builtins.region_id == "ap-guangzhou");
  CHECK(t.builtins.account_id == "1000");
  CHECK(t.builtins.instance_id == "ins-1");
  CHECK(t.builtins.instance_name == "web-1");
  CHECK(t.output_cos_bucket_url == "https://b-1250000000.cos.ap-beijing.myqcloud.com");
  CHECK(t.output_cos_key_prefix == "logs");

  SECTION("to_json round-trips") {
    const json out = ferry::to_json(t);
    CHECK(out["CommandType"] == "POWERSHELL");
    CHECK(out["TerminationMode"] == "Process");
    CHECK(out["Timeout"] == 86400);
    CHECK(out["Parameters"] == json{{"a", "1"}, {"B-c_d", ""}});
    CHECK_FALSE(out.contains("SomethingNew"));
    CHECK(parsed(out) == t);
    CHECK(parsed(json::parse(out.dump())) == t);
  }
}

TEST_CASE("to_json of a default task round-trips", "[task]") {
  const Task t = parsed(minimal());
  CHECK(parsed(ferry::to_json(t)) == t);
}

TEST_CASE("null counts as absent", "[task]") {
  json j = minimal();
  for (const char* field : {"InvocationId", "CommandType", "Timeout", "EnableParameter",
                            "Parameters", "Launcher", "TerminationMode", "InstanceName"}) {
    j[field] = nullptr;
  }
  const Task t = parsed(j);
  CHECK(t.timeout_seconds == 60);
  CHECK(t.command_type == CommandType::kShell);

  const auto e = task_error(with(minimal(), "InvocationTaskId", nullptr));
  CHECK(e.code == codes::kMissingParameter);
}

TEST_CASE("required fields", "[task]") {
  json no_id = minimal();
  no_id.erase("InvocationTaskId");
  const auto e1 = task_error(no_id);
  CHECK(e1.code == codes::kMissingParameter);
  CHECK(e1.message == "InvocationTaskId: is required");

  json no_content = minimal();
  no_content.erase("Content");
  const auto e2 = task_error(no_content);
  CHECK(e2.code == codes::kMissingParameter);
  CHECK(e2.message == "Content: is required");
}

TEST_CASE("InvocationTaskId must be a safe directory name", "[task]") {
  CHECK(
      parsed(with(minimal(), "InvocationTaskId", std::string(64, 'a'))).invocation_task_id.size() ==
      64);
  CHECK(ferry::is_valid_task_id(std::string(64, 'a')));
  CHECK(ferry::is_valid_task_id("invt-Ab_9"));
  const std::string bad =
      GENERATE(as<std::string>{}, "", std::string(65, 'a'), ".", "..", "../etc", "a/b", "a.b",
               "a b", "a\\b", "invt-\xC3\xA9", std::string("a\0b", 3));
  CAPTURE(bad);
  CHECK_FALSE(ferry::is_valid_task_id(bad));
  const auto e = task_error(with(minimal(), "InvocationTaskId", bad));
  CHECK(e.code == codes::kInvalidParameterValue);
  CHECK(e.message == "InvocationTaskId: must be 1 to 64 characters of [A-Za-z0-9_-]");
}

TEST_CASE("a field of the wrong JSON type is InvalidParameter naming the field", "[task]") {
  const auto [field, value] = GENERATE(table<std::string, json>({
      {"InvocationTaskId", json(12)},
      {"InvocationId", json(true)},
      {"CommandId", json::array()},
      {"Content", json::object()},
      {"CommandType", json(1)},
      {"WorkingDirectory", json(1.5)},
      {"Username", json(0)},
      {"Timeout", json("60")},
      {"Timeout", json(60.5)},
      {"Timeout", json(60.0)},
      {"Timeout", json(true)},
      {"EnableParameter", json("true")},
      {"EnableParameter", json(1)},
      {"Parameters", json("{\"a\": \"1\"}")},
      {"Parameters", json::array({"a"})},
      {"Launcher", json(1)},
      {"TerminationMode", json(0)},
      {"RegionId", json(1)},
      {"AccountId", json(1)},
      {"InstanceId", json(1)},
      {"InstanceName", json(1)},
  }));
  CAPTURE(field, value.dump());
  const auto e = task_error(with(minimal(), field, value));
  CHECK(e.code == codes::kInvalidParameter);
  CHECK_THAT(e.message, Catch::StartsWith(field + ": must be"));
}

TEST_CASE("Timeout range", "[task]") {
  CHECK(parsed(with(minimal(), "Timeout", 1)).timeout_seconds == 1);
  CHECK(parsed(with(minimal(), "Timeout", 86400)).timeout_seconds == 86400);
  CHECK(parsed(with(minimal(), "Timeout", 3600U)).timeout_seconds == 3600);

  const json bad = GENERATE(json(0), json(-1), json(86401), json(INT64_MIN), json(UINT64_MAX));
  CAPTURE(bad.dump());
  const auto e = task_error(with(minimal(), "Timeout", bad));
  CHECK(e.code == codes::kRange);
  CHECK(e.message == "Timeout: must be an integer in [1, 86400]");

  CHECK(task_error(with(minimal(), "Timeout", "60")).message ==
        "Timeout: must be an integer in [1, 86400]");
}

TEST_CASE("CommandType and TerminationMode values", "[task]") {
  CHECK(parsed(with(minimal(), "CommandType", "SHELL")).command_type == CommandType::kShell);
  CHECK(parsed(with(minimal(), "CommandType", "BAT")).command_type == CommandType::kBat);
  CHECK(parsed(with(minimal(), "TerminationMode", "ProcessTree")).termination_mode ==
        TerminationMode::kProcessTree);

  const auto type = task_error(with(minimal(), "CommandType", "shell"));
  CHECK(type.code == codes::kInvalidParameterValue);
  CHECK(type.message == "CommandType: must be one of SHELL, POWERSHELL, BAT");
  CHECK(task_error(with(minimal(), "CommandType", "")).code == codes::kInvalidParameterValue);

  const auto mode = task_error(with(minimal(), "TerminationMode", "processtree"));
  CHECK(mode.code == codes::kInvalidParameterValue);
  CHECK(mode.message == "TerminationMode: must be ProcessTree or Process");
}

TEST_CASE("Parameters", "[task]") {
  const auto not_string = task_error(with(minimal(), "Parameters", json{{"a", "1"}, {"b", 2}}));
  CHECK(not_string.code == codes::kParameterValueNotString);
  CHECK(not_string.message == "Parameters: the value of \"b\" is not a string");
  CHECK(task_error(with(minimal(), "Parameters", json{{"a", nullptr}})).code ==
        codes::kParameterValueNotString);
  CHECK(task_error(with(minimal(), "Parameters", json{{"a", json::object()}})).code ==
        codes::kParameterValueNotString);

  const auto bad_name = task_error(with(minimal(), "Parameters", json{{"a b", "1"}}));
  CHECK(bad_name.code == codes::kParameterKeyContainsInvalidChar);
  CHECK_THAT(bad_name.message, Catch::StartsWith("Parameters: "));
  CHECK(task_error(with(minimal(), "Parameters", json{{"ACS::InstanceId", "1"}})).code ==
        codes::kParameterKeyContainsInvalidChar);
  CHECK(task_error(with(minimal(), "Parameters", json{{std::string(65, 'k'), "1"}})).code ==
        codes::kParameterKeyLenExceeded);

  json many = json::object();
  for (int i = 0; i < 20; ++i) {
    many["p" + std::to_string(i)] = "v";
  }
  CHECK(parsed(with(minimal(), "Parameters", many)).parameters.size() == 20);
  many["p20"] = "v";
  CHECK(task_error(with(minimal(), "Parameters", many)).code == codes::kParameterNumberExceeded);
  CHECK(parsed(with(minimal(), "Parameters", json::object())).parameters.empty());
}

TEST_CASE("Launcher length", "[task]") {
  CHECK(parsed(with(minimal(), "Launcher", std::string(1024, 'x'))).launcher.size() == 1024);
  const auto e = task_error(with(minimal(), "Launcher", std::string(1025, 'x')));
  CHECK(e.code == codes::kTooLong);
  CHECK(e.message == "Launcher: must be at most 1024 bytes");
}

TEST_CASE("NUL bytes in paths and user names", "[task]") {
  CHECK(task_error(with(minimal(), "WorkingDirectory", std::string("/tmp\0x", 6))).code ==
        codes::kInvalidWorkingDirectory);
  CHECK(task_error(with(minimal(), "Username", std::string("root\0", 5))).code ==
        codes::kInvalidUsername);
}

// Found by tests/fuzz (task_json): a number too large for a double is nlohmann's out_of_range,
// which escaped the parse_error handler and would have ended the agent.
TEST_CASE("parse_task_json refuses a number out of range", "[task]") {
  const auto r =
      ferry::parse_task_json(R"({"InvocationTaskId":"t-1","Content":"ZWNobw==","Timeout":86E400})");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == "InvalidParameter");
}

TEST_CASE("parse_task_json", "[task]") {
  const auto ok = ferry::parse_task_json(minimal().dump());
  REQUIRE(ok.has_value());
  CHECK(ok->invocation_task_id == "invt-abc123");

  const auto array = ferry::parse_task_json("[1]");
  REQUIRE_FALSE(array.has_value());
  CHECK(array.error().code == codes::kInvalidParameter);
  CHECK(array.error().message == "task: must be a JSON object");

  const std::string bad = GENERATE(as<std::string>{}, "", "{", "{\"Content\": \"s3cret\"",
                                   "{\"a\": 1,}", "nul", "{\"a\": \"\xFF\"}");
  CAPTURE(bad);
  const auto e = ferry::parse_task_json(bad);
  REQUIRE_FALSE(e.has_value());
  CHECK(e.error().code == codes::kInvalidParameter);
  CHECK_THAT(e.error().message, Catch::StartsWith("task: malformed JSON at byte "));
  CHECK_THAT(e.error().message, !Catch::Contains("s3cret"));
}

TEST_CASE("prepare_script decodes the content", "[task]") {
  const std::string binary("#!/bin/sh\n\0\xFF{{x}}\r\n", 17);
  const auto script = ferry::prepare_script(task_with_content(binary));
  REQUIRE(script.has_value());
  CHECK(*script == binary);
}

TEST_CASE("prepare_script leaves {{x}} alone without EnableParameter", "[task]") {
  Task t = task_with_content("echo {{x}} {{ACS::Foo}} {{ACS::InstanceId}}");
  t.parameters = {{"x", "X"}};
  const auto script = ferry::prepare_script(t);
  REQUIRE(script.has_value());
  CHECK(*script == "echo {{x}} {{ACS::Foo}} {{ACS::InstanceId}}");
}

TEST_CASE("prepare_script substitutes with EnableParameter", "[task]") {
  Task t = task_with_content(
      "{{x}} {{ACS::RegionId}} {{ACS::AccountId}} {{ACS::InstanceId}} {{ACS::InstanceName}} "
      "{{ACS::InvokeId}} {{TAT::CommandId}}");
  t.enable_parameter = true;
  t.parameters = {{"x", "X"}};
  t.invocation_id = "inv-1";
  t.command_id = "cmd-2";
  t.builtins = {.region_id = "r", .account_id = "a", .instance_id = "i", .instance_name = "n"};
  const auto script = ferry::prepare_script(t);
  REQUIRE(script.has_value());
  CHECK(*script == "X r a i n inv-1 cmd-2");

  t.parameters.clear();
  const auto missing = ferry::prepare_script(t);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == codes::kLackOfParameterInfo);
  CHECK(missing.error().message == "Content: no value for parameter \"x\"");
}

TEST_CASE("prepare_script content errors", "[task]") {
  SECTION("over 64 KiB of base64") {
    Task t = task_with_content(std::string(49152, 'a'));  // exactly 65536 base64 bytes
    REQUIRE(t.content.size() == 65536);
    CHECK(ferry::prepare_script(t).has_value());
    t = task_with_content(std::string(49153, 'a'));
    const auto e = ferry::prepare_script(t);
    REQUIRE_FALSE(e.has_value());
    CHECK(e.error().code == codes::kTooLong);
    CHECK(e.error().message == "Content: must be at most 65536 bytes of base64, got 65540");
  }
  SECTION("bad base64") {
    Task t;
    t.content = "ZWNobyBoaQ";
    const auto e = ferry::prepare_script(t);
    REQUIRE_FALSE(e.has_value());
    CHECK(e.error().code == codes::kCommandContentInvalid);
    CHECK_THAT(e.error().message, Catch::StartsWith("Content: invalid base64: "));
  }
  SECTION("empty script") {
    const auto e = ferry::prepare_script(task_with_content(""));
    REQUIRE_FALSE(e.has_value());
    CHECK(e.error().code == codes::kCommandContentInvalid);
    CHECK(e.error().message == "Content: the script is empty");
  }
}

TEST_CASE("status, command type and termination mode strings", "[task]") {
  // With whether the status is final (nothing follows it).
  const auto [status, name, final] = GENERATE(table<TaskStatus, std::string, bool>({
      {TaskStatus::kSuccess, "SUCCESS", true},
      {TaskStatus::kFailed, "FAILED", true},
      {TaskStatus::kTimeout, "TIMEOUT", true},
      {TaskStatus::kTerminated, "TERMINATED", true},
      {TaskStatus::kStartFailed, "START_FAILED", true},
      {TaskStatus::kPending, "PENDING", false},
      {TaskStatus::kDelivering, "DELIVERING", false},
      {TaskStatus::kDeliverDelayed, "DELIVER_DELAYED", false},
      {TaskStatus::kDeliverFailed, "DELIVER_FAILED", true},
      {TaskStatus::kRunning, "RUNNING", false},
      {TaskStatus::kTaskTimeout, "TASK_TIMEOUT", true},
      {TaskStatus::kCancelling, "CANCELLING", false},
      {TaskStatus::kCancelled, "CANCELLED", true},
  }));
  CHECK(ferry::to_string(status) == name);
  CHECK(ferry::parse_task_status(name) == status);
  CHECK(ferry::is_final(status) == final);

  CHECK_FALSE(ferry::parse_task_status("success").has_value());
  CHECK_FALSE(ferry::parse_task_status("").has_value());
  CHECK(ferry::to_string(CommandType::kShell) == "SHELL");
  CHECK(ferry::to_string(CommandType::kPowerShell) == "POWERSHELL");
  CHECK(ferry::to_string(CommandType::kBat) == "BAT");
  CHECK(ferry::parse_command_type("BAT") == CommandType::kBat);
  CHECK_FALSE(ferry::parse_command_type("CMD").has_value());
  CHECK(ferry::to_string(TerminationMode::kProcessTree) == "ProcessTree");
  CHECK(ferry::to_string(TerminationMode::kProcess) == "Process");
  CHECK(ferry::parse_termination_mode("Process") == TerminationMode::kProcess);
  CHECK_FALSE(ferry::parse_termination_mode("Tree").has_value());
  CHECK(ferry::script_extension(CommandType::kShell) == ".sh");
  CHECK(ferry::script_extension(CommandType::kPowerShell) == ".ps1");
  CHECK(ferry::script_extension(CommandType::kBat) == ".bat");
}

TEST_CASE("TaskResult JSON", "[task]") {
  ferry::TaskResult r;
  r.invocation_task_id = "invt-1";
  r.status = TaskStatus::kFailed;
  r.exit_code = 3;
  r.output = std::string("out\0\xFF", 5);
  r.dropped = 10;
  r.output_size = 15;
  r.exec_start_time = "2026-11-25T15:18:21Z";
  r.exec_end_time = "2026-11-25T15:18:22Z";
  r.error_info = "";
  const json j = ferry::to_json(r);
  CHECK(j == json{{"InvocationTaskId", "invt-1"},
                  {"Result", "FAILED"},
                  {"ExitCode", 3},
                  {"Output", "b3V0AP8="},
                  {"Dropped", 10},
                  {"OutputSize", 15},
                  {"ExecStartTime", "2026-11-25T15:18:21Z"},
                  {"ExecEndTime", "2026-11-25T15:18:22Z"},
                  {"ErrorInfo", ""}});
  const auto back = ferry::parse_task_result(j);
  REQUIRE(back.has_value());
  CHECK(*back == r);

  ferry::TaskResult failed_start;
  failed_start.invocation_task_id = "invt-2";
  failed_start.error_info = "InvalidUser: user 'bob' does not exist";
  const auto back2 = ferry::parse_task_result(ferry::to_json(failed_start));
  REQUIRE(back2.has_value());
  CHECK(*back2 == failed_start);
  CHECK(back2->exit_code == -1);
  CHECK(back2->status == TaskStatus::kStartFailed);

  // The upload's outcome goes only where there is one.
  ferry::TaskResult uploaded = r;
  uploaded.output_url = "https://b-1.cos.ap-beijing.myqcloud.com/logs/inv-1/invt-1.log";
  CHECK(ferry::to_json(uploaded)["OutputUrl"] == uploaded.output_url);
  CHECK_FALSE(ferry::to_json(uploaded).contains("OutputUploadCOSErrorInfo"));
  CHECK(*ferry::parse_task_result(ferry::to_json(uploaded)) == uploaded);
  ferry::TaskResult upload_failed = r;
  upload_failed.output_upload_error = "HTTP 403 AccessDenied: Access Denied";
  CHECK(ferry::to_json(upload_failed)["OutputUploadCOSErrorInfo"] ==
        upload_failed.output_upload_error);
  CHECK_FALSE(ferry::to_json(upload_failed).contains("OutputUrl"));
  CHECK(*ferry::parse_task_result(ferry::to_json(upload_failed)) == upload_failed);

  json bad_status = j;
  bad_status["Result"] = "DONE";
  CHECK(ferry::parse_task_result(bad_status).error().code == codes::kInvalidParameterValue);
  json bad_output = j;
  bad_output["Output"] = "b3V0AP8";
  CHECK(ferry::parse_task_result(bad_output).error().code == codes::kInvalidParameterValue);
  json bad_time = j;
  bad_time["ExecEndTime"] = "yesterday";
  CHECK(ferry::parse_task_result(bad_time).error().message ==
        "ExecEndTime: must be an RFC 3339 time");
  json negative = j;
  negative["Dropped"] = -1;
  CHECK(ferry::parse_task_result(negative).error().code == codes::kInvalidParameterValue);
  json no_id = j;
  no_id.erase("InvocationTaskId");
  CHECK(ferry::parse_task_result(no_id).error().code == codes::kMissingParameter);
}

TEST_CASE("is_valid_container_id", "[task][container]") {
  const std::string full(64, 'a');
  CHECK(ferry::is_valid_container_id(full));
  CHECK(ferry::is_valid_container_id("docker://" + full));
  CHECK(ferry::is_valid_container_id("containerd://" + full));
  CHECK(ferry::is_valid_container_id("cri-o://" + full));
  CHECK(ferry::is_valid_container_id("0123456789ab"));  // the short form of `docker ps`
  CHECK(ferry::is_valid_container_id("docker://0123456789abcdef"));
  CHECK_FALSE(ferry::is_valid_container_id(""));
  CHECK_FALSE(ferry::is_valid_container_id("docker://"));
  CHECK_FALSE(ferry::is_valid_container_id("0123456789a"));  // 11 digits
  CHECK_FALSE(ferry::is_valid_container_id(full + "a"));     // 65 digits
  CHECK_FALSE(ferry::is_valid_container_id(std::string(64, 'A')));
  CHECK_FALSE(ferry::is_valid_container_id(std::string(63, 'a') + "g"));
  CHECK_FALSE(ferry::is_valid_container_id("podman://" + full));
  CHECK_FALSE(ferry::is_valid_container_id("docker://docker://" + full));
  CHECK_FALSE(ferry::is_valid_container_id(full + "\n"));
}

TEST_CASE("is_valid_container_name", "[task][container]") {
  CHECK(ferry::is_valid_container_name("a"));
  CHECK(ferry::is_valid_container_name("web-1"));
  CHECK(ferry::is_valid_container_name("My_app.v2"));
  CHECK(ferry::is_valid_container_name(std::string(255, 'x')));
  CHECK_FALSE(ferry::is_valid_container_name(""));
  CHECK_FALSE(ferry::is_valid_container_name(std::string(256, 'x')));
  CHECK_FALSE(ferry::is_valid_container_name("-web"));
  CHECK_FALSE(ferry::is_valid_container_name(".web"));
  CHECK_FALSE(ferry::is_valid_container_name("_web"));
  CHECK_FALSE(ferry::is_valid_container_name("/web"));
  CHECK_FALSE(ferry::is_valid_container_name("web 1"));
  CHECK_FALSE(ferry::is_valid_container_name("web;rm"));
  CHECK_FALSE(ferry::is_valid_container_name("we$b"));
  CHECK_FALSE(ferry::is_valid_container_name(std::string("we\0b", 4)));
}

TEST_CASE("ContainerId and ContainerName in a task", "[task][container]") {
  const std::string id = "docker://" + std::string(64, 'f');
  const Task by_id = parsed(with(minimal(), "ContainerId", id));
  CHECK(by_id.container_id == id);
  CHECK(by_id.container_name.empty());
  CHECK(by_id.in_container());
  CHECK(parsed(ferry::to_json(by_id)) == by_id);

  const Task by_name = parsed(with(minimal(), "ContainerName", "web-1"));
  CHECK(by_name.container_name == "web-1");
  CHECK(by_name.in_container());
  CHECK_FALSE(parsed(minimal()).in_container());
  CHECK(parsed(with(minimal(), "ContainerName", nullptr)).container_name.empty());

  auto e = task_error(with(minimal(), "ContainerId", "abc"));
  CHECK(e.code == codes::kInvalidContainerId);
  CHECK(e.message.starts_with("ContainerId: "));
  e = task_error(with(minimal(), "ContainerName", "bad name"));
  CHECK(e.code == codes::kInvalidContainerName);
  CHECK(e.message.starts_with("ContainerName: "));
  CHECK(task_error(with(minimal(), "ContainerId", 12)).code == codes::kInvalidParameter);

  e = task_error(with(with(minimal(), "ContainerId", id), "ContainerName", "web-1"));
  CHECK(e.code == codes::kInvalidParameter);
  CHECK(e.message.starts_with("ContainerId: "));
  e = task_error(with(with(minimal(), "ContainerName", "web-1"), "Launcher", "python3"));
  CHECK(e.code == codes::kInvalidParameter);
  CHECK(e.message.starts_with("Launcher: "));
  e = task_error(with(with(minimal(), "ContainerName", "web-1"), "CommandType", "POWERSHELL"));
  CHECK(e.code == codes::kInvalidParameter);
  CHECK(e.message.starts_with("CommandType: "));
  // Username and WorkingDirectory are accepted and ignored in a container (the server refuses
  // them together; an agent does not fail a task over them).
  const Task with_user = parsed(with(with(minimal(), "ContainerName", "web-1"), "Username", "bob"));
  CHECK(with_user.username == "bob");
}
