#include "ferry/cli/invokers.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "fake_api.hpp"

namespace ferry::cli::test {

using nlohmann::json;

namespace {

InvokerCreateOptions create_options() {
  InvokerCreateOptions o;
  o.command_id = "cmd-1";
  o.instances = {"rins-1", "rins-2"};
  return o;
}

}  // namespace

TEST_CASE("invokers: the list table", "[cli][invokers]") {
  const json set = json::array(
      {json{{"InvokerId", "ivk-1"},
            {"Name", "nightly"},
            {"Type", "SCHEDULE"},
            {"CommandId", "cmd-1"},
            {"InstanceIds", json::array({"rins-1", "rins-2", "rins-3"})},
            {"Enable", true},
            {"ScheduleSettings", {{"Policy", "RECURRENCE"}, {"Recurrence", "0 3 * * *"}}},
            {"CreatedTime", "2026-01-01T00:00:00Z"}},
       json{{"InvokerId", "ivk-2"},
            {"Name", "once"},
            {"CommandId", "cmd-2"},
            {"InstanceIds", json::array({"rins-9"})},
            {"Enable", false},
            {"ScheduleSettings", {{"Policy", "ONCE"}, {"InvokeTime", "2026-12-07T10:00:00+08:00"}}},
            {"CreatedTime", "2026-01-02T00:00:00Z"}}});
  CHECK(render_table(invokers_table(set), TableStyle::kTabs) ==
        "INVOKER\tNAME\tENABLED\tSCHEDULE\tCOMMAND\tINSTANCES\tCREATED\n"
        "ivk-1\tnightly\ttrue\tcron 0 3 * * *\tcmd-1\trins-1 +2\t2026-01-01T00:00:00Z\n"
        "ivk-2\tonce\tfalse\tat 2026-12-07T10:00:00+08:00\tcmd-2\trins-9\t2026-01-02T00:00:00Z\n");
  // What a reply leaves out shows as an empty cell, or "-" where a summary stands.
  CHECK(render_table(invokers_table(json::array({json{{"InvokerId", "ivk-3"}}})),
                     TableStyle::kTabs) ==
        "INVOKER\tNAME\tENABLED\tSCHEDULE\tCOMMAND\tINSTANCES\tCREATED\n"
        "ivk-3\t\t\t-\t\t-\t\n");
  CHECK(render_table(invokers_table(json::array()), TableStyle::kTabs) ==
        "INVOKER\tNAME\tENABLED\tSCHEDULE\tCOMMAND\tINSTANCES\tCREATED\n");
}

TEST_CASE("invokers: the SCHEDULE and INSTANCES cells", "[cli][invokers]") {
  CHECK(schedule_summary({{"Policy", "RECURRENCE"},
                          {"Recurrence", "*/5 * * * *"},
                          {"StartTime", "2026-01-01T00:00:00Z"},
                          {"EndTime", "2026-02-01T00:00:00Z"}}) ==
        "cron */5 * * * * from 2026-01-01T00:00:00Z until 2026-02-01T00:00:00Z");
  CHECK(schedule_summary({{"Policy", "RECURRENCE"},
                          {"Recurrence", "0 9 * * MON"},
                          {"InvokeTime", "ignored"},
                          {"EndTime", "2026-02-01T00:00:00Z"}}) ==
        "cron 0 9 * * MON until 2026-02-01T00:00:00Z");
  CHECK(schedule_summary({{"Policy", "ONCE"}, {"InvokeTime", "2026-12-07T10:00:00+08:00"}}) ==
        "at 2026-12-07T10:00:00+08:00");
  CHECK(schedule_summary({{"Policy", "WEEKLY"}}) == "WEEKLY");
  CHECK(schedule_summary(json::object()) == "-");
  CHECK(schedule_summary(nullptr) == "-");

  CHECK(instances_summary(json::array({"rins-1"})) == "rins-1");
  CHECK(instances_summary(json::array({"rins-1", "rins-2"})) == "rins-1 +1");
  CHECK(instances_summary(json::array()) == "-");
  CHECK(instances_summary(nullptr) == "-");
  CHECK(instances_summary("rins-1") == "-");
}

TEST_CASE("invokers: the records table", "[cli][invokers]") {
  const json set = json::array({json{{"InvokerId", "ivk-1"},
                                     {"InvokeTime", "2026-01-01T03:00:00Z"},
                                     {"Result", "SUCCESS"},
                                     {"InvocationId", "inv-1"},
                                     {"Reason", ""}},
                                json{{"InvokerId", "ivk-1"},
                                     {"InvokeTime", "2026-01-02T03:00:00Z"},
                                     {"Result", "FAILED"},
                                     {"Reason", "the command cmd-1\tno longer exists"}}});
  CHECK(render_table(invoker_records_table(set), TableStyle::kTabs) ==
        "INVOKER\tINVOKED\tRESULT\tINVOCATION\tREASON\n"
        "ivk-1\t2026-01-01T03:00:00Z\tSUCCESS\tinv-1\t\n"
        "ivk-1\t2026-01-02T03:00:00Z\tFAILED\t\tthe command cmd-1 no longer exists\n");
}

TEST_CASE("invokers create: the CreateInvoker request", "[cli][invokers]") {
  auto api = answering(json{{"InvokerId", "ivk-new"}, {"RequestId", "r"}});
  CapturedConsole c;

  SECTION("--cron with --start, --end, --param and --tag; the name defaults to the command id") {
    auto o = create_options();
    o.cron = "0 3 * * *";
    o.start = "2026-01-01T00:00:00+08:00";
    o.end = "2026-06-30T00:00:00+08:00";
    o.params = {"greeting=hello", "url=a=b"};
    o.tags = {"team=ops", "env="};
    auto code = invokers_create_command(api, o, c.console);
    REQUIRE(code);
    CHECK(*code == 0);
    REQUIRE(api.calls.size() == 1);
    CHECK(api.calls[0].first == "CreateInvoker");
    const json& p = api.calls[0].second;
    CHECK(p == json{{"Name", "cmd-1"},
                    {"Type", "SCHEDULE"},
                    {"CommandId", "cmd-1"},
                    {"InstanceIds", json::array({"rins-1", "rins-2"})},
                    {"ScheduleSettings",
                     {{"Policy", "RECURRENCE"},
                      {"Recurrence", "0 3 * * *"},
                      {"StartTime", "2026-01-01T00:00:00+08:00"},
                      {"EndTime", "2026-06-30T00:00:00+08:00"}}},
                    {"Parameters", R"({"greeting":"hello","url":"a=b"})"},
                    {"Tags", json::array({json{{"Key", "team"}, {"Value", "ops"}},
                                          json{{"Key", "env"}, {"Value", ""}}})}});
    // Parameters goes as JSON object text, as TAT takes it.
    CHECK(p["Parameters"].is_string());
    CHECK(c.out.str() == "ivk-new\n");
    CHECK(c.err.str().empty());
  }
  SECTION("--at with --name and --user; nothing optional sent that was not given") {
    auto o = create_options();
    o.at = "2026-12-07T10:00:00+08:00";
    o.name = "release night";
    o.username = "deploy";
    REQUIRE(invokers_create_command(api, o, c.console));
    CHECK(api.calls.at(0).second ==
          json{{"Name", "release night"},
               {"Type", "SCHEDULE"},
               {"CommandId", "cmd-1"},
               {"InstanceIds", json::array({"rins-1", "rins-2"})},
               {"Username", "deploy"},
               {"ScheduleSettings",
                {{"Policy", "ONCE"}, {"InvokeTime", "2026-12-07T10:00:00+08:00"}}}});
    CHECK(c.out.str() == "ivk-new\n");
  }
  SECTION("--json prints the Response") {
    auto o = create_options();
    o.cron = "0 3 * * *";
    o.json = true;
    REQUIRE(invokers_create_command(api, o, c.console));
    CHECK(json::parse(c.out.str()) == json{{"InvokerId", "ivk-new"}, {"RequestId", "r"}});
  }
}

TEST_CASE("invokers create: what is wrong before anything is sent", "[cli][invokers]") {
  auto api = answering(json{{"InvokerId", "ivk-new"}});
  CapturedConsole c;
  auto o = create_options();
  std::string expected;

  SECTION("no schedule") {
    expected = "no schedule: give --at TIME";
  }
  SECTION("both --at and --cron") {
    o.at = "2026-12-07T10:00:00+08:00";
    o.cron = "0 3 * * *";
    expected = "give --at (run once) or --cron (recurring), not both";
  }
  SECTION("--start with --at") {
    o.at = "2026-12-07T10:00:00+08:00";
    o.start = "2026-12-01T00:00:00+08:00";
    expected = "--start and --end bound a --cron schedule";
  }
  SECTION("--end with --at") {
    o.at = "2026-12-07T10:00:00+08:00";
    o.end = "2026-12-31T00:00:00+08:00";
    expected = "--start and --end bound a --cron schedule";
  }
  SECTION("a --param without '='") {
    o.cron = "0 3 * * *";
    o.params = {"greeting"};
    expected = "--param greeting: expected NAME=VALUE";
  }
  SECTION("a --tag without '='") {
    o.cron = "0 3 * * *";
    o.tags = {"team"};
    expected = "--tag team: expected KEY=VALUE (no '=' found)";
  }
  SECTION("a --tag with an empty key") {
    o.cron = "0 3 * * *";
    o.tags = {"=ops"};
    expected = "--tag =ops: expected KEY=VALUE (the key is empty)";
  }
  SECTION("a --tag key twice") {
    o.cron = "0 3 * * *";
    o.tags = {"team=ops", "team=dev"};
    expected = "--tag team: given twice";
  }
  SECTION("a --tag value that is not UTF-8") {
    o.cron = "0 3 * * *";
    o.tags = {"team=\xff"};
    expected = "--tag: a key or value is not valid UTF-8";
  }
  REQUIRE_FALSE(create_invoker_params(o));
  CHECK_THAT(create_invoker_params(o).error().message, Catch::Matchers::StartsWith(expected));
  auto code = invokers_create_command(api, o, c.console);
  REQUIRE_FALSE(code);
  CHECK_THAT(code.error().message, Catch::Matchers::StartsWith(expected));
  CHECK(api.calls.empty());
  CHECK(c.out.str().empty());
}

TEST_CASE("invokers create: the reply and the API's errors", "[cli][invokers]") {
  CapturedConsole c;
  auto o = create_options();
  o.cron = "0 3 * * *";
  SECTION("a reply without an InvokerId is an error, not an empty line") {
    auto api = answering(json{{"RequestId", "r"}});
    auto code = invokers_create_command(api, o, c.console);
    REQUIRE_FALSE(code);
    CHECK(code.error().message == "CreateInvoker: the reply has no InvokerId");
    CHECK(c.out.str().empty());
  }
  SECTION("an API error comes back as it is") {
    auto api = failing("InvalidParameterValue.InvalidCronExpression", "bad crontab");
    auto code = invokers_create_command(api, o, c.console);
    REQUIRE_FALSE(code);
    CHECK(code.error().code == "InvalidParameterValue.InvalidCronExpression");
    CHECK(code.error().message == "bad crontab");
    CHECK(c.out.str().empty());
  }
}

TEST_CASE("invokers list: DescribeInvokers", "[cli][invokers]") {
  const json reply{
      {"TotalCount", 1},
      {"InvokerSet", json::array({json{{"InvokerId", "ivk-1"},
                                       {"Name", "nightly"},
                                       {"CommandId", "cmd-1"},
                                       {"InstanceIds", json::array({"rins-1"})},
                                       {"Enable", true},
                                       {"ScheduleSettings",
                                        {{"Policy", "RECURRENCE"}, {"Recurrence", "0 3 * * *"}}},
                                       {"CreatedTime", "t"}}})},
      {"RequestId", "r"}};
  auto api = answering(reply);
  CapturedConsole c;
  InvokersListOptions o;

  SECTION("the table; no Filters without --command-id") {
    auto code = invokers_list_command(api, o, c.console);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK(api.calls.at(0).first == "DescribeInvokers");
    CHECK(api.calls.at(0).second == json{{"Limit", 20}});
    CHECK(c.out.str() ==
          "INVOKER\tNAME\tENABLED\tSCHEDULE\tCOMMAND\tINSTANCES\tCREATED\n"
          "ivk-1\tnightly\ttrue\tcron 0 3 * * *\tcmd-1\trins-1\tt\n");
  }
  SECTION("--command-id and --limit") {
    o.command_id = "cmd-1";
    o.limit = 5;
    REQUIRE(invokers_list_command(api, o, c.console));
    CHECK(api.calls.at(0).second ==
          json{{"Limit", 5},
               {"Filters", json::array({json{{"Name", "command-id"}, {"Values", {"cmd-1"}}}})}});
  }
  SECTION("--json prints the Response") {
    o.json = true;
    REQUIRE(invokers_list_command(api, o, c.console));
    CHECK(json::parse(c.out.str()) == reply);
  }
  SECTION("an API error comes back as it is") {
    auto bad = failing("InvalidParameterValue.InvalidFilter", "no such filter");
    auto code = invokers_list_command(bad, o, c.console);
    REQUIRE_FALSE(code);
    CHECK(code.error().code == "InvalidParameterValue.InvalidFilter");
    CHECK(c.out.str().empty());
  }
}

TEST_CASE("invokers enable, disable, delete", "[cli][invokers]") {
  auto api = answering(json{{"RequestId", "r"}});
  CapturedConsole c;
  InvokerIdOptions o;
  o.invoker_id = "ivk-1";

  SECTION("enable") {
    auto code = invokers_enable_command(api, o, c.console);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK(api.calls.at(0).first == "EnableInvoker");
    CHECK(api.calls.at(0).second == json{{"InvokerId", "ivk-1"}});
    CHECK(c.out.str() == "enabled: ivk-1\n");
  }
  SECTION("disable") {
    auto code = invokers_disable_command(api, o, c.console);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK(api.calls.at(0).first == "DisableInvoker");
    CHECK(api.calls.at(0).second == json{{"InvokerId", "ivk-1"}});
    CHECK(c.out.str() == "disabled: ivk-1\n");
  }
  SECTION("delete") {
    auto code = invokers_delete_command(api, o, c.console);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK(api.calls.at(0).first == "DeleteInvoker");
    CHECK(api.calls.at(0).second == json{{"InvokerId", "ivk-1"}});
    CHECK(c.out.str() == "deleted: ivk-1\n");
  }
  SECTION("--json prints the Response") {
    o.json = true;
    REQUIRE(invokers_delete_command(api, o, c.console));
    CHECK(json::parse(c.out.str()) == json{{"RequestId", "r"}});
  }
  SECTION("an id the terminal would act on is printed cleaned") {
    o.invoker_id = "ivk-\x1b[2J";
    REQUIRE(invokers_disable_command(api, o, c.console));
    CHECK(c.out.str() == "disabled: ivk-?[2J\n");
  }
  SECTION("an API error comes back as it is") {
    auto bad = failing("ResourceNotFound.InvokerNotFound", "the invoker ivk-1 does not exist");
    auto code = invokers_enable_command(bad, o, c.console);
    REQUIRE_FALSE(code);
    CHECK(code.error().code == "ResourceNotFound.InvokerNotFound");
    CHECK(c.out.str().empty());
  }
}

TEST_CASE("invokers records: DescribeInvokerRecords", "[cli][invokers]") {
  const json reply{{"TotalCount", 1},
                   {"InvokerRecordSet", json::array({json{{"InvokerId", "ivk-1"},
                                                          {"InvokeTime", "t"},
                                                          {"Result", "SUCCESS"},
                                                          {"InvocationId", "inv-1"},
                                                          {"Reason", ""}}})},
                   {"RequestId", "r"}};
  auto api = answering(reply);
  CapturedConsole c;
  InvokerRecordsOptions o;

  SECTION("every invoker's: no InvokerIds sent") {
    auto code = invokers_records_command(api, o, c.console);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK(api.calls.at(0).first == "DescribeInvokerRecords");
    CHECK(api.calls.at(0).second == json{{"Limit", 20}});
    CHECK(c.out.str() ==
          "INVOKER\tINVOKED\tRESULT\tINVOCATION\tREASON\n"
          "ivk-1\tt\tSUCCESS\tinv-1\t\n");
  }
  SECTION("some invokers' and --limit") {
    o.invoker_ids = {"ivk-1", "ivk-2"};
    o.limit = 50;
    REQUIRE(invokers_records_command(api, o, c.console));
    CHECK(api.calls.at(0).second ==
          json{{"Limit", 50}, {"InvokerIds", json::array({"ivk-1", "ivk-2"})}});
  }
  SECTION("--json prints the Response") {
    o.json = true;
    REQUIRE(invokers_records_command(api, o, c.console));
    CHECK(json::parse(c.out.str()) == reply);
  }
  SECTION("an API error comes back as it is") {
    auto bad = failing("InvalidParameterValue.InvokerIdsTooMany", "at most 100");
    auto code = invokers_records_command(bad, o, c.console);
    REQUIRE_FALSE(code);
    CHECK(code.error().code == "InvalidParameterValue.InvokerIdsTooMany");
    CHECK(c.out.str().empty());
  }
}

}  // namespace ferry::cli::test
