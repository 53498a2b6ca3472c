// The business error codes of the TAT seeds 000 RunCommand, 001 DescribeCommands, 002
// CreateInvoker and 003 ModifyCommand, each reached by one bad request and checked by code.
//
// Codes of those seeds no request to ferry-server can reach, and why:
//   000 RunCommand
//     FailedOperation.CVMError, FailedOperation.LighthouseError, InvalidParameterValue.
//     InconsistentInstance, ResourceUnavailable.InstanceStateNotRunning, ResourceUnavailable.
//     LighthouseUnsupportedRegion, ResourceUnavailable.AgentNotInstalled: no CVM or Lighthouse
//     behind Ferry; every target is a registered instance with an agent.
//     ResourceUnavailable.AgentStatusNotOnline: an offline agent's task waits DELIVER_DELAYED.
//     ResourceNotFound.CosBucketNotFoundCode, ResourceNotFound.RoleNotFound, UnauthorizedOperation.
//     AssumeRoleUnauthorized / CamAuthFailed / InvalidToken / MFAExpired / MFANotFound: no COS
//     look-up, roles, CAM or MFA. InvalidParameterValue.AgentUnsupportedCommandType: the server
//     does not know the agent's command types. InvalidParameter.InvalidUsername (the value code
//     InvalidParameterValue.InvalidUsername is used), InvalidParameterValue.InvalidContent
//     (CommandContentInvalid is used), InvalidParameterValue.ParameterDisabled (only
//     PreviewReplacedCommandContent answers it), ResourceUnavailable (no plain form),
//     OperationDenied and InternalError (no bad request causes them).
//   001 DescribeCommands
//     InvalidParameterValue without a sub-code (every value error has one here), InternalError,
//     UnauthorizedOperation.*.
//   002 CreateInvoker
//     AuthFailure, AuthFailure.UnauthorizedOperation: no CAM; credentials are all or nothing
//     (signature failures are tested with the envelope). InternalError: no bad request causes
//     it. InvalidParameterValue.InconsistentInstance (Linux beside Windows),
//     ResourceUnavailable.AgentNotInstalled and AgentStatusNotOnline need more instances than
//     this fixture's one online agent: tests/unit/server/domain/invokers_test.cpp shows them.
//   003 ModifyCommand
//     ResourceNotFound.CosBucketNotFoundCode, UnauthorizedOperation.*, InternalError.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "blackbox.hpp"

using namespace ferry::test;

namespace {

struct Case {
  const char* seed;
  const char* action;
  nlohmann::json body;
  const char* code;
};

// Replaces "$NAME" strings anywhere in `j` with their values.
nlohmann::json substitute(nlohmann::json j, const std::map<std::string, std::string>& vars) {
  if (j.is_string()) {
    auto it = vars.find(j.get<std::string>());
    return it == vars.end() ? j : nlohmann::json(it->second);
  }
  if (j.is_object() || j.is_array()) {
    for (auto& v : j) {
      v = substitute(v, vars);
    }
  }
  return j;
}

std::string params_object(int count, int key_length) {
  nlohmann::json o = nlohmann::json::object();
  for (int i = 0; i < count; ++i) {
    std::string key = "p" + std::to_string(i);
    key.resize(static_cast<std::size_t>(std::max<int>(key_length, static_cast<int>(key.size()))),
               'k');
    o[key] = "v";
  }
  return o.dump();
}

nlohmann::json many_instances(int n) {
  nlohmann::json ids = nlohmann::json::array();
  for (int i = 0; i < n; ++i) {
    ids.push_back("rins-" + std::to_string(10000000 + i));
  }
  return ids;
}

}  // namespace

TEST_CASE_METHOD(ScriptedAgentTest, "every reachable business error code of the seeds 000-003",
                 "[server][seeds]") {
  const std::string suffix = agent.id().substr(5);
  const std::string plain_name = "plain-" + suffix;
  const std::string param_name = "param-" + suffix;
  const auto plain = must(api.call(
      "CreateCommand", {{"CommandName", plain_name}, {"Content", b64("echo plain")}}))["CommandId"]
                         .get<std::string>();
  const auto param =
      must(api.call("CreateCommand", {{"CommandName", param_name},
                                      {"Content", b64("echo {{who}}")},
                                      {"EnableParameter", true},
                                      {"DefaultParameters", R"({"who":"me"})"}}))["CommandId"]
          .get<std::string>();
  const std::map<std::string, std::string> vars{{"$INSTANCE", agent.id()},
                                                {"$PLAIN", plain},
                                                {"$PARAM", param},
                                                {"$PLAIN_NAME", plain_name},
                                                {"$CONTENT", b64("echo hi")},
                                                {"$PCONTENT", b64("echo {{name}}")}};
  const std::string long_text(121, 'd');

  // clang-format off
  const std::vector<Case> cases = {
    // 000 RunCommand
    {"000", "RunCommand", {{"InstanceIds", {"$INSTANCE"}}}, "MissingParameter"},
    {"000", "RunCommand", {{"Content", "$CONTENT"}}, "MissingParameter"},
    {"000", "RunCommand", {{"Content", "$CONTENT"}, {"InstanceIds", nlohmann::json::array()}}, "MissingParameter"},
    {"000", "RunCommand", {{"Content", "$CONTENT"}, {"InstanceIds", {"$INSTANCE"}}, {"Timeout", "60"}}, "InvalidParameter"},
    {"000", "RunCommand", {{"Content", "$CONTENT"}, {"InstanceIds", {"$INSTANCE"}}, {"EnableParameter", true},
                           {"DefaultParameterConfs", {{{"ParameterName", "a"}, {"ParameterValue", "1"}},
                                                      {{"ParameterName", "a"}, {"ParameterValue", "2"}}}}},
     "InvalidParameter.ParameterNameDuplicated"},
    {"000", "RunCommand", {{"Content", "$CONTENT"}, {"InstanceIds", {"$INSTANCE"}}, {"CommandType", "ZSH"}}, "InvalidParameterValue"},
    {"000", "RunCommand", {{"Content", "%%%not base64"}, {"InstanceIds", {"$INSTANCE"}}}, "InvalidParameterValue.CommandContentInvalid"},
    {"000", "RunCommand", {{"Content", ""}, {"InstanceIds", {"$INSTANCE"}}}, "InvalidParameterValue.CommandContentInvalid"},
    {"000", "RunCommand", {{"Content", "$CONTENT"}, {"InstanceIds", {"$INSTANCE"}}, {"SaveCommand", true},
                           {"CommandName", "$PLAIN_NAME"}}, "InvalidParameterValue.CommandNameDuplicated"},
    {"000", "RunCommand", {{"Content", "$CONTENT"}, {"InstanceIds", {"$INSTANCE"}}, {"CommandName", "bad name!"}}, "InvalidParameterValue.InvalidCommandName"},
    {"000", "RunCommand", {{"Content", "$CONTENT"}, {"InstanceIds", {"not an id!"}}}, "InvalidParameterValue.InvalidInstanceId"},
    {"000", "RunCommand", {{"Content", "$CONTENT"}, {"InstanceIds", {"$INSTANCE", "$INSTANCE"}}}, "InvalidParameterValue.InvalidInstanceId"},
    {"000", "RunCommand", {{"Content", "$CONTENT"}, {"InstanceIds", {"$INSTANCE"}}, {"OutputCOSBucketUrl", "http://bucket.example"}}, "InvalidParameterValue.InvalidOutputCOSBucketUrl"},
    {"000", "RunCommand", {{"Content", "$CONTENT"}, {"InstanceIds", {"$INSTANCE"}}, {"OutputCOSKeyPrefix", "/abs"}}, "InvalidParameterValue.InvalidOutputCOSKeyPrefix"},
    {"000", "RunCommand", {{"Content", "$CONTENT"}, {"InstanceIds", {"$INSTANCE"}}, {"Username", "-root"}}, "InvalidParameterValue.InvalidUsername"},
    {"000", "RunCommand", {{"Content", "$CONTENT"}, {"InstanceIds", {"$INSTANCE"}}, {"WorkingDirectory", "relative/dir"}}, "InvalidParameterValue.InvalidWorkingDirectory"},
    {"000", "RunCommand", {{"Content", "$PCONTENT"}, {"InstanceIds", {"$INSTANCE"}}, {"EnableParameter", true}}, "InvalidParameterValue.LackOfParameterInfo"},
    {"000", "RunCommand", {{"Content", "$CONTENT"}, {"InstanceIds", many_instances(201)}}, "InvalidParameterValue.LimitExceeded"},
    {"000", "RunCommand", {{"Content", "$PCONTENT"}, {"InstanceIds", {"$INSTANCE"}}, {"EnableParameter", true}, {"Parameters", "{name"}}, "InvalidParameterValue.ParameterInvalidJsonFormat"},
    {"000", "RunCommand", {{"Content", "$PCONTENT"}, {"InstanceIds", {"$INSTANCE"}}, {"EnableParameter", true}, {"Parameters", R"({"bad key":"v"})"}}, "InvalidParameterValue.ParameterKeyContainsInvalidChar"},
    {"000", "RunCommand", {{"Content", "$PCONTENT"}, {"InstanceIds", {"$INSTANCE"}}, {"EnableParameter", true}, {"Parameters", R"({"name":"1","name":"2"})"}}, "InvalidParameterValue.ParameterKeyDuplicated"},
    {"000", "RunCommand", {{"Content", "$PCONTENT"}, {"InstanceIds", {"$INSTANCE"}}, {"EnableParameter", true}, {"Parameters", params_object(1, 65)}}, "InvalidParameterValue.ParameterKeyLenExceeded"},
    {"000", "RunCommand", {{"Content", "$PCONTENT"}, {"InstanceIds", {"$INSTANCE"}}, {"EnableParameter", true}, {"Parameters", params_object(21, 1)}}, "InvalidParameterValue.ParameterNumberExceeded"},
    {"000", "RunCommand", {{"Content", "$PCONTENT"}, {"InstanceIds", {"$INSTANCE"}}, {"EnableParameter", true}, {"Parameters", R"({"name":1})"}}, "InvalidParameterValue.ParameterValueNotString"},
    {"000", "RunCommand", {{"Content", "$CONTENT"}, {"InstanceIds", {"$INSTANCE"}}, {"Timeout", 0}}, "InvalidParameterValue.Range"},
    {"000", "RunCommand", {{"Content", "$CONTENT"}, {"InstanceIds", {"$INSTANCE"}}, {"Timeout", 86401}}, "InvalidParameterValue.Range"},
    {"000", "RunCommand", {{"Content", "$CONTENT"}, {"InstanceIds", {"$INSTANCE"}}, {"Parameters", R"({"a":"b"})"}}, "InvalidParameterValue.SupportParametersOnlyIfEnableParameter"},
    {"000", "RunCommand", {{"Content", "$CONTENT"}, {"InstanceIds", {"$INSTANCE"}}, {"DefaultParameters", R"({"a":"b"})"}}, "InvalidParameterValue.SupportParametersOnlyIfEnableParameter"},
    {"000", "RunCommand", {{"Content", "$CONTENT"}, {"InstanceIds", {"$INSTANCE"}}, {"Description", long_text}}, "InvalidParameterValue.TooLong"},
    {"000", "RunCommand", {{"Content", std::string(64 * 1024 + 4, 'A')}, {"InstanceIds", {"$INSTANCE"}}}, "InvalidParameterValue.TooLong"},
    {"000", "RunCommand", {{"Content", "$CONTENT"}, {"InstanceIds", {"rins-zzzzzzzz"}}}, "ResourceNotFound.InstanceNotFound"},

    // 001 DescribeCommands
    {"001", "DescribeCommands", {{"Limit", "10"}}, "InvalidParameter"},
    {"001", "DescribeCommands", {{"CommandIds", {"$PLAIN"}}, {"Filters", {{{"Name", "command-name"}, {"Values", {"x"}}}}}}, "InvalidParameter.ConflictParameter"},
    {"001", "DescribeCommands", {{"CommandIds", {"cmd-NOTVALID"}}}, "InvalidParameterValue.InvalidCommandId"},
    {"001", "DescribeCommands", {{"CommandIds", {"ins-12345678"}}}, "InvalidParameterValue.InvalidCommandId"},
    {"001", "DescribeCommands", {{"Filters", {{{"Name", "no-such-filter"}, {"Values", {"x"}}}}}}, "InvalidParameterValue.InvalidFilter"},
    {"001", "DescribeCommands", {{"Filters", {{{"Name", "created-by"}, {"Values", {"SOMEONE"}}}}}}, "InvalidParameterValue.InvalidFilter"},
    {"001", "DescribeCommands", {{"Filters", {{{"Name", "command-name"}, {"Values", nlohmann::json::array()}}}}}, "InvalidParameterValue.InvalidFilter"},
    {"001", "DescribeCommands", {{"Limit", 0}}, "InvalidParameterValue.Range"},
    {"001", "DescribeCommands", {{"Offset", -1}}, "InvalidParameterValue.Range"},
    {"001", "DescribeCommands", {{"Nope", 1}}, "UnknownParameter"},

    // 002 CreateInvoker (and the invoker actions around it)
    {"002", "CreateInvoker", {{"Name", "i"}, {"CommandId", "$PLAIN"}, {"InstanceIds", {"$INSTANCE"}}, {"Type", "SCHEDULE"},
                              {"ScheduleSettings", "ONCE"}}, "InvalidParameter"},
    {"002", "CreateInvoker", {{"Name", "i"}, {"CommandId", "$PLAIN"}, {"InstanceIds", {"$INSTANCE"}}, {"Type", "SCHEDULE"},
                              {"ScheduleSettings", {{"Policy", "ONCE"}, {"InvokeTime", "2031-09-01T00:00:00+08:00"}, {"Recurrence", "* * * * *"}}}}, "InvalidParameter"},
    {"002", "CreateInvoker", {{"Name", "i"}, {"CommandId", "$PLAIN"}, {"InstanceIds", {"$INSTANCE"}}, {"Type", "SCHEDULE"}}, "MissingParameter"},
    {"002", "ModifyInvoker", {{"InvokerId", "ivk-BAD"}, {"Name", "x"}}, "InvalidParameterValue.ID"},
    {"002", "DescribeInvokers", {{"InvokerIds", {"invoker-1"}}}, "InvalidParameterValue.ID"},
    {"002", "CreateInvoker", {{"Name", "i"}, {"CommandId", "$PLAIN"}, {"InstanceIds", {"$INSTANCE", "ins-12345678"}}, {"Type", "SCHEDULE"},
                              {"ScheduleSettings", {{"Policy", "ONCE"}, {"InvokeTime", "2031-09-01T00:00:00+08:00"}}}}, "InvalidParameterValue.InconsistentID"},
    {"002", "CreateInvoker", {{"Name", "i"}, {"CommandId", "cmd-X"}, {"InstanceIds", {"$INSTANCE"}}, {"Type", "SCHEDULE"},
                              {"ScheduleSettings", {{"Policy", "ONCE"}, {"InvokeTime", "2031-09-01T00:00:00+08:00"}}}}, "InvalidParameterValue.InvalidCommandId"},
    {"002", "CreateInvoker", {{"Name", "i"}, {"CommandId", "$PLAIN"}, {"InstanceIds", {"$INSTANCE"}}, {"Type", "SCHEDULE"},
                              {"ScheduleSettings", {{"Policy", "RECURRENCE"}, {"Recurrence", "0 0 32 * *"}}}}, "InvalidParameterValue.InvalidCronExpression"},
    {"002", "CreateInvoker", {{"Name", "i"}, {"CommandId", "$PLAIN"}, {"InstanceIds", {"not an id!"}}, {"Type", "SCHEDULE"},
                              {"ScheduleSettings", {{"Policy", "ONCE"}, {"InvokeTime", "2031-09-01T00:00:00+08:00"}}}}, "InvalidParameterValue.InvalidInstanceId"},
    {"002", "CreateInvoker", {{"Name", "i"}, {"CommandId", "$PLAIN"}, {"InstanceIds", {"$INSTANCE"}}, {"Type", "SCHEDULE"},
                              {"ScheduleSettings", {{"Policy", "ONCE"}, {"InvokeTime", "2031-09-01 00:00:00"}}}}, "InvalidParameterValue.InvalidTimeFormat"},
    {"002", "CreateInvoker", {{"Name", "i"}, {"CommandId", "$PLAIN"}, {"InstanceIds", {"$INSTANCE"}}, {"Type", "SCHEDULE"},
                              {"ScheduleSettings", {{"Policy", "ONCE"}, {"InvokeTime", "2021-09-01T00:00:00+08:00"}}}}, "InvalidParameterValue.InvokeTimeExpired"},
    {"002", "CreateInvoker", {{"Name", "i"}, {"CommandId", "$PARAM"}, {"InstanceIds", {"$INSTANCE"}}, {"Type", "SCHEDULE"}, {"Parameters", "{who"},
                              {"ScheduleSettings", {{"Policy", "ONCE"}, {"InvokeTime", "2031-09-01T00:00:00+08:00"}}}}, "InvalidParameterValue.ParameterInvalidJsonFormat"},
    {"002", "CreateInvoker", {{"Name", "i"}, {"CommandId", "$PLAIN"}, {"InstanceIds", {"$INSTANCE"}}, {"Type", "EVENT"},
                              {"ScheduleSettings", {{"Policy", "ONCE"}, {"InvokeTime", "2031-09-01T00:00:00+08:00"}}}}, "InvalidParameterValue.Range"},
    {"002", "CreateInvoker", {{"Name", std::string(121, 'n')}, {"CommandId", "$PLAIN"}, {"InstanceIds", {"$INSTANCE"}}, {"Type", "SCHEDULE"},
                              {"ScheduleSettings", {{"Policy", "ONCE"}, {"InvokeTime", "2031-09-01T00:00:00+08:00"}}}}, "InvalidParameterValue.TooLong"},
    {"002", "CreateInvoker", {{"Name", "i"}, {"CommandId", "cmd-zzzzzzzz"}, {"InstanceIds", {"$INSTANCE"}}, {"Type", "SCHEDULE"},
                              {"ScheduleSettings", {{"Policy", "ONCE"}, {"InvokeTime", "2031-09-01T00:00:00+08:00"}}}}, "ResourceNotFound.CommandNotFound"},
    {"002", "CreateInvoker", {{"Name", "i"}, {"CommandId", "$PLAIN"}, {"InstanceIds", {"rins-zzzzzzzz"}}, {"Type", "SCHEDULE"},
                              {"ScheduleSettings", {{"Policy", "ONCE"}, {"InvokeTime", "2031-09-01T00:00:00+08:00"}}}}, "ResourceNotFound.InstanceNotFound"},
    {"002", "EnableInvoker", {{"InvokerId", "ivk-zzzzzzzz"}}, "ResourceNotFound.InvokerNotFound"},
    {"002", "DeleteInvoker", {{"InvokerId", "ivk-zzzzzzzz"}}, "ResourceNotFound.InvokerNotFound"},
    {"002", "CreateInvoker", {{"Name", "i"}, {"CommandId", "$PLAIN"}, {"InstanceIds", {"$INSTANCE"}}, {"Type", "SCHEDULE"},
                              {"ScheduleSettings", {{"Policy", "ONCE"}, {"InvokeTime", "2031-09-01T00:00:00+08:00"}, {"When", "now"}}}}, "UnknownParameter"},

    // 003 ModifyCommand
    {"003", "ModifyCommand", {{"Description", "x"}}, "MissingParameter"},
    {"003", "ModifyCommand", {{"CommandId", "$PLAIN"}, {"Timeout", "60"}}, "InvalidParameter"},
    {"003", "ModifyCommand", {{"CommandId", "$PLAIN"}, {"CommandType", "ZSH"}}, "InvalidParameterValue"},
    {"003", "ModifyCommand", {{"CommandId", "$PLAIN"}, {"Content", "%%%"}}, "InvalidParameterValue.CommandContentInvalid"},
    {"003", "ModifyCommand", {{"CommandId", "$PARAM"}, {"CommandName", "$PLAIN_NAME"}}, "InvalidParameterValue.CommandNameDuplicated"},
    {"003", "ModifyCommand", {{"CommandId", "cmd-BAD"}}, "InvalidParameterValue.InvalidCommandId"},
    {"003", "ModifyCommand", {{"CommandId", "$PLAIN"}, {"CommandName", "bad name"}}, "InvalidParameterValue.InvalidCommandName"},
    {"003", "ModifyCommand", {{"CommandId", "$PLAIN"}, {"OutputCOSBucketUrl", "ftp://x"}}, "InvalidParameterValue.InvalidOutputCOSBucketUrl"},
    {"003", "ModifyCommand", {{"CommandId", "$PLAIN"}, {"OutputCOSKeyPrefix", "a//b"}}, "InvalidParameterValue.InvalidOutputCOSKeyPrefix"},
    {"003", "ModifyCommand", {{"CommandId", "$PLAIN"}, {"WorkingDirectory", "relative"}}, "InvalidParameterValue.InvalidWorkingDirectory"},
    {"003", "ModifyCommand", {{"CommandId", "$PARAM"}, {"DefaultParameters", "{x"}}, "InvalidParameterValue.ParameterInvalidJsonFormat"},
    {"003", "ModifyCommand", {{"CommandId", "$PARAM"}, {"DefaultParameters", R"({"a b":"1"})"}}, "InvalidParameterValue.ParameterKeyContainsInvalidChar"},
    {"003", "ModifyCommand", {{"CommandId", "$PARAM"}, {"DefaultParameters", R"({"a":"1","a":"2"})"}}, "InvalidParameterValue.ParameterKeyDuplicated"},
    {"003", "ModifyCommand", {{"CommandId", "$PARAM"}, {"DefaultParameters", params_object(1, 65)}}, "InvalidParameterValue.ParameterKeyLenExceeded"},
    {"003", "ModifyCommand", {{"CommandId", "$PARAM"}, {"DefaultParameters", params_object(21, 1)}}, "InvalidParameterValue.ParameterNumberExceeded"},
    {"003", "ModifyCommand", {{"CommandId", "$PARAM"}, {"DefaultParameters", R"({"a":1})"}}, "InvalidParameterValue.ParameterValueNotString"},
    {"003", "ModifyCommand", {{"CommandId", "$PARAM"}, {"DefaultParameterConfs", {{{"ParameterName", "a"}, {"ParameterValue", 1}}}}}, "InvalidParameterValue.ParameterValueNotString"},
    {"003", "ModifyCommand", {{"CommandId", "$PLAIN"}, {"Timeout", 0}}, "InvalidParameterValue.Range"},
    {"003", "ModifyCommand", {{"CommandId", "$PLAIN"}, {"DefaultParameters", R"({"a":"1"})"}}, "InvalidParameterValue.SupportParametersOnlyIfEnableParameter"},
    {"003", "ModifyCommand", {{"CommandId", "$PLAIN"}, {"Description", long_text}}, "InvalidParameterValue.TooLong"},
    {"003", "ModifyCommand", {{"CommandId", "cmd-zzzzzzzz"}, {"Description", "x"}}, "ResourceNotFound.CommandNotFound"},
  };
  // clang-format on

  for (const auto& c : cases) {
    const auto body = substitute(c.body, vars);
    INFO("seed " << c.seed << " " << c.action << " " << body.dump().substr(0, 300));
    auto r = api.call(c.action, body);
    INFO(r.describe().substr(0, 400));
    CHECK(r.http_status == 200);
    CHECK(r.error_code() == c.code);
    CHECK(is_uuid(r.request_id()));
  }

  // Nothing above changed the commands.
  auto listed = must(api.call("DescribeCommands", {{"CommandIds", {plain, param}}}));
  REQUIRE(listed["TotalCount"] == 2);
  for (const auto& cmd : listed["CommandSet"]) {
    CHECK(cmd["Description"] == "");
    CHECK(cmd["Timeout"] == 60);
  }
}

TEST_CASE("quota codes: UserHasNoQuotaCode once the command quota is used up", "[server][seeds]") {
  ServerProcess server(FERRY_SERVER_BIN, {{"command_quota", 1}});
  auto api = server.api();
  ScriptedAgent agent(api, server.endpoint());
  must(api.call("CreateCommand", {{"CommandName", "only-one"}, {"Content", b64("id")}}));
  expect_error(api.call("RunCommand", {{"Content", b64("id")},
                                       {"InstanceIds", {agent.id()}},
                                       {"SaveCommand", true},
                                       {"CommandName", "two"}}),
               "ResourceUnavailable.UserHasNoQuotaCode");
  expect_error(api.call("CreateCommand", {{"CommandName", "three"}, {"Content", b64("id")}}),
               "ResourceUnavailable.UserHasNoQuotaCode");
  // An unsaved run does not use the quota.
  run_command(api, {agent.id()});
}
