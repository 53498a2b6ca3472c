// ferry run with Cloud Assistant settings, and ferry cancel / stop, over fake APIs; the
// request the Cloud Assistant client would send, checked with core's verifier.
#include "ferry/cli/acs_run.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fake_api.hpp"
#include "ferry/cli/acs_api.hpp"
#include "ferry/core/acs_signature.hpp"
#include "ferry/core/base64.hpp"

namespace ferry::cli::test {

using nlohmann::json;

namespace {

RunOptions acs_options() {
  RunOptions o;
  o.instances = {"rins-acs00001"};
  o.content = "echo hi";
  return o;
}

AcsParamList params_of(const RunOptions& o) {
  auto p = acs_run_command_params(o);
  INFO((p ? std::string() : p.error().message));
  REQUIRE(p.has_value());
  return *p;
}

std::string refusal_of(const RunOptions& o) {
  auto p = acs_run_command_params(o);
  REQUIRE_FALSE(p.has_value());
  CHECK(p.error().code.starts_with("InvalidParameterValue"));
  return p.error().message;
}

std::map<std::string, std::string> as_map(const AcsParamList& params) {
  std::map<std::string, std::string> m;
  for (const auto& [name, value] : params) {
    CHECK(m.emplace(name, value).second);
  }
  return m;
}

// TAT's side of a run: DescribeInvocationTasks answers the next of `polls` (the last one again
// once they run out); CancelInvocation is recorded.
struct TatSide {
  std::deque<json> polls;
  int cancels = 0;
  FakeApi api() {
    return FakeApi([this](const std::string& action, const json&) -> Expected<json> {
      if (action == "CancelInvocation") {
        ++cancels;
        return json{{"RequestId", "r"}};
      }
      REQUIRE(action == "DescribeInvocationTasks");
      REQUIRE_FALSE(polls.empty());
      json next = polls.front();
      if (polls.size() > 1) {
        polls.pop_front();
      }
      return next;
    });
  }
  void add(std::vector<json> tasks) {
    polls.push_back(json{{"TotalCount", tasks.size()}, {"InvocationTaskSet", tasks}});
  }
};

json acs_task(const std::string& task_id, const std::string& status, const std::string& output,
              std::optional<int> exit_code = std::nullopt) {
  return json{{"InvocationTaskId", task_id},
              {"InvocationId", "t-acs0001"},
              {"InstanceId", "rins-acs00001"},
              {"TaskStatus", status},
              {"TaskResult",
               {{"ExitCode", exit_code ? json(*exit_code) : json(nullptr)},
                {"Output", base64_encode(output)},
                {"Dropped", 0}}}};
}

// The Cloud Assistant side: RunCommand answers t-acs0001, the rest is recorded and answered
// by `reply` (an error when it is one).
FakeAcsApi acs_side(Expected<json> describe_reply = json{{"RequestId", "r"}}) {
  return FakeAcsApi(
      [describe_reply](const std::string& action, const AcsParamList&) -> Expected<json> {
        if (action == "RunCommand") {
          return json{{"RequestId", "r"}, {"CommandId", "c-acs0001"}, {"InvokeId", "t-acs0001"}};
        }
        if (action == "DescribeInvocations") {
          return describe_reply;
        }
        return json{{"RequestId", "r"}};
      });
}

struct Hooks {
  int interrupts = 0;
  int sleeps = 0;
  std::function<void(int)> on_sleep;
  std::chrono::steady_clock::time_point clock{};
  RunHooks hooks() {
    return RunHooks{[this](std::chrono::milliseconds d) {
                      clock += d;
                      ++sleeps;
                      REQUIRE(sleeps < 100);
                      if (on_sleep) {
                        on_sleep(sleeps);
                      }
                    },
                    [this] { return interrupts; }, [this] { return clock; }};
  }
};

}  // namespace

TEST_CASE("acs_run_command_params: exactly the settings given", "[cli][acs]") {
  auto o = acs_options();
  o.frequency = "0/10 * * * * ?";
  CHECK(params_of(o) == AcsParamList{{"Type", "RunShellScript"},
                                     {"CommandContent", base64_encode("echo hi")},
                                     {"ContentEncoding", "Base64"},
                                     {"InstanceId.1", "rins-acs00001"},
                                     {"Frequency", "0/10 * * * * ?"}});
  CHECK(effective_repeat_mode(o) == "Period");

  o = acs_options();
  o.instances = {"rins-acs00001", "rins-acs00002"};
  o.command_type = "POWERSHELL";
  o.timeout = 5;
  o.working_directory = "/tmp";
  o.username = "nobody";
  o.params = {"name=v=1"};
  o.repeat_mode = "everyreboot";
  o.launcher = "python3 {{ACS::ScriptFileName}}";
  o.termination_mode = "process";
  o.container = "docker://0123456789abcdef";
  const auto m = as_map(params_of(o));
  CHECK(m == std::map<std::string, std::string>{{"Type", "RunPowerShellScript"},
                                                {"CommandContent", base64_encode("echo hi")},
                                                {"ContentEncoding", "Base64"},
                                                {"InstanceId.1", "rins-acs00001"},
                                                {"InstanceId.2", "rins-acs00002"},
                                                {"Timeout", "5"},
                                                {"WorkingDir", "/tmp"},
                                                {"Username", "nobody"},
                                                {"EnableParameter", "true"},
                                                {"Parameters", R"({"name":"v=1"})"},
                                                {"RepeatMode", "EveryReboot"},
                                                {"Launcher", "python3 {{ACS::ScriptFileName}}"},
                                                {"TerminationMode", "Process"},
                                                {"ContainerId", "docker://0123456789abcdef"}});

  SECTION("a container id or a name") {
    o = acs_options();
    o.command_type = "BAT";
    o.container = "0123456789ab";
    CHECK(as_map(params_of(o)).at("ContainerId") == "0123456789ab");
    CHECK(as_map(params_of(o)).at("Type") == "RunBatScript");
    o.container = "web-1.prod_x";
    const auto named = as_map(params_of(o));
    CHECK(named.at("ContainerName") == "web-1.prod_x");
    CHECK(named.count("ContainerId") == 0);
    CHECK(effective_repeat_mode(o) == "Once");
  }
}

TEST_CASE("acs_run_command_params: refusals before any request", "[cli][acs]") {
  auto o = acs_options();
  o.repeat_mode = "Hourly";
  CHECK(refusal_of(o) == "--repeat Hourly: give Once, Period, NextRebootOnly or EveryReboot");
  o = acs_options();
  o.repeat_mode = "Period";
  CHECK(refusal_of(o).starts_with("--repeat Period needs --frequency"));
  o.repeat_mode = "EveryReboot";
  o.frequency = "rate(5m)";
  CHECK(refusal_of(o).ends_with("it does not go with --repeat EveryReboot"));
  o = acs_options();
  o.frequency = "";
  CHECK(refusal_of(o).starts_with("--frequency is empty"));
  o = acs_options();
  o.termination_mode = "Tree";
  CHECK(refusal_of(o) == "--termination-mode Tree: give Process or ProcessTree");
  o = acs_options();
  o.launcher = "";
  CHECK(refusal_of(o) == "--launcher is empty");
  for (const char* bad : {"docker://web", "-web", "0123456789AB/x", ""}) {
    INFO(bad);
    o = acs_options();
    o.container = bad;
    CHECK(refusal_of(o).find("neither a container id") != std::string::npos);
  }
  o = acs_options();
  o.repeat_mode = "Once";
  o.follow = true;
  o.no_wait = true;
  CHECK(refusal_of(o) == "--follow and --no-wait do not go together");
  o = acs_options();
  o.repeat_mode = "Once";
  o.content.clear();
  CHECK(refusal_of(o) == "the script is empty");

  // Nothing is sent for a refused run; TAT's run_command does not take these settings.
  o = acs_options();
  o.termination_mode = "Tree";
  TatSide tat;
  auto api = tat.api();
  auto acs = acs_side();
  CapturedConsole c;
  Hooks h;
  CHECK_FALSE(acs_run_command(api, acs, o, c.console, h.hooks()).has_value());
  CHECK(acs.calls.empty());
  CHECK(api.calls.empty());
  o.termination_mode = "Process";
  CHECK(uses_cloud_assistant(o));
  CHECK_FALSE(uses_cloud_assistant(acs_options()));
  CHECK_FALSE(run_command(api, o, c.console, h.hooks()).has_value());
  CHECK(api.calls.empty());
}

TEST_CASE("acs_run_command: a schedule prints its InvokeId and returns", "[cli][acs]") {
  auto o = acs_options();
  o.frequency = "0/10 * * * * ?";
  TatSide tat;
  auto api = tat.api();
  auto acs = acs_side();
  CapturedConsole c;
  Hooks h;
  auto r = acs_run_command(api, acs, o, c.console, h.hooks());
  REQUIRE(r.has_value());
  CHECK(*r == 0);
  CHECK(c.out.str() == "t-acs0001\n");
  CHECK(c.err.str() ==
        "ferry: invocation t-acs0001 is scheduled (Period): it runs on the schedule 0/10 * * * * "
        "?; each run is a task of it (ferry tasks --invocation t-acs0001); ferry stop t-acs0001 "
        "ends it\n");
  REQUIRE(acs.calls.size() == 1);
  CHECK(acs.calls[0].first == "RunCommand");
  CHECK(api.calls.empty());
  CHECK(h.sleeps == 0);

  SECTION("--json prints the reply; a reboot mode says when it runs") {
    o = acs_options();
    o.repeat_mode = "NextRebootOnly";
    o.json = true;
    CapturedConsole j;
    REQUIRE(acs_run_command(api, acs, o, j.console, h.hooks()).has_value());
    CHECK(json::parse(j.out.str()).at("InvokeId") == "t-acs0001");
    CHECK(j.err.str().find("(NextRebootOnly): it runs the next time each instance boots") !=
          std::string::npos);
  }
}

TEST_CASE("acs_run_command: a Once run is followed through TAT like any run", "[cli][acs]") {
  auto o = acs_options();
  o.termination_mode = "Process";
  TatSide tat;
  tat.add({acs_task("invt-1", "RUNNING", "partial ")});
  tat.add({acs_task("invt-1", "FAILED", "partial line\n", 4)});
  auto api = tat.api();
  auto acs = acs_side();
  CapturedConsole c;
  Hooks h;
  auto r = acs_run_command(api, acs, o, c.console, h.hooks());
  REQUIRE(r.has_value());
  CHECK(*r == 4);
  CHECK(c.out.str() == "partial line\n");
  CHECK(c.err.str().find("ferry: invocation t-acs0001\n") != std::string::npos);
  CHECK(c.err.str().find("rins-acs00001 FAILED exit 4\n") != std::string::npos);
  REQUIRE(acs.calls.size() == 1);
  CHECK(as_map(acs.calls[0].second).at("TerminationMode") == "Process");
  for (const auto& call : api.calls) {
    CHECK(call.first == "DescribeInvocationTasks");
    CHECK(call.second.at("Filters")[0].at("Values")[0] == "t-acs0001");
  }
}

TEST_CASE("acs_run_command --follow: waits for the schedule's next run and follows it",
          "[cli][acs]") {
  auto o = acs_options();
  o.frequency = "rate(1m)";
  o.follow = true;
  TatSide tat;
  tat.add({});  // scheduled: no task yet
  tat.add({});
  tat.add({acs_task("invt-1", "RUNNING", "one")});
  // The next run appears before the first ends (listed first, newest first): not followed.
  tat.add({acs_task("invt-2", "RUNNING", "second run"), acs_task("invt-1", "RUNNING", "one")});
  tat.add(
      {acs_task("invt-2", "SUCCESS", "second run", 0), acs_task("invt-1", "SUCCESS", "one\n", 0)});
  auto api = tat.api();
  auto acs = acs_side();
  CapturedConsole c;
  Hooks h;
  auto r = acs_run_command(api, acs, o, c.console, h.hooks());
  REQUIRE(r.has_value());
  CHECK(*r == 0);
  CHECK(c.out.str() == "one\n");
  CHECK(c.err.str().find("ferry: waiting for the schedule's next run") != std::string::npos);

  SECTION("Ctrl-C stops waiting and says how to stop it; with --cancel-on-interrupt it stops") {
    TatSide idle;
    idle.add({});
    auto idle_api = idle.api();
    Hooks ctrl_c;
    ctrl_c.on_sleep = [&ctrl_c](int n) { ctrl_c.interrupts = n >= 2 ? 1 : 0; };
    CapturedConsole waited;
    auto stopped = acs_run_command(idle_api, acs, o, waited.console, ctrl_c.hooks());
    REQUIRE(stopped.has_value());
    CHECK(*stopped == 130);
    CHECK(waited.err.str().find("goes on. Stop it with: ferry stop t-acs0001\n") !=
          std::string::npos);

    o.cancel_on_interrupt = true;
    Hooks twice;
    twice.on_sleep = [&twice](int n) { twice.interrupts = n >= 4 ? 2 : (n >= 2 ? 1 : 0); };
    acs.calls.clear();
    CapturedConsole cancelled;
    auto ended = acs_run_command(idle_api, acs, o, cancelled.console, twice.hooks());
    REQUIRE(ended.has_value());
    CHECK(*ended == 130);
    REQUIRE(acs.calls.size() == 2);
    CHECK(acs.calls[1].first == "StopInvocation");
    CHECK(acs.calls[1].second == AcsParamList{{"InvokeId", "t-acs0001"}});
    CHECK(idle.cancels == 0);
    CHECK(cancelled.err.str().find("ferry: stopping t-acs0001") != std::string::npos);
  }
}

TEST_CASE("acs_run_command: the server's refusal comes back as its error", "[cli][acs]") {
  auto o = acs_options();
  o.launcher = "bash";
  TatSide tat;
  auto api = tat.api();
  FakeAcsApi acs([](const std::string&, const AcsParamList&) -> Expected<json> {
    return Error{"Operation.Forbidden",
                 "Launcher is not supported by this server yet. (RequestId r)"};
  });
  CapturedConsole c;
  Hooks h;
  auto r = acs_run_command(api, acs, o, c.console, h.hooks());
  REQUIRE_FALSE(r.has_value());
  CHECK(describe_error(r.error()) ==
        "Operation.Forbidden: Launcher is not supported by this server yet. (RequestId r)");
  CHECK(api.calls.empty());
}

TEST_CASE("stop_or_cancel_command: StopInvocation for a schedule, CancelInvocation else",
          "[cli][acs]") {
  const auto describe = [](const char* mode) {
    return json{
        {"RequestId", "r"},
        {"Invocations",
         {{"Invocation", json::array({{{"InvokeId", "t-acs0001"}, {"RepeatMode", mode}}})}}}};
  };
  TatSide tat;
  auto api = tat.api();
  CancelOptions options;
  options.invocation_id = "t-acs0001";
  options.instances = {"rins-acs00001", "rins-acs00002"};

  SECTION("a Period schedule, on two of its instances") {
    auto acs = acs_side(describe("Period"));
    CapturedConsole c;
    auto r = stop_or_cancel_command(api, acs, options, c.console);
    REQUIRE(r.has_value());
    CHECK(c.out.str() == "stop requested: t-acs0001\n");
    REQUIRE(acs.calls.size() == 2);
    CHECK(acs.calls[0].second == AcsParamList{{"InvokeId", "t-acs0001"}});
    CHECK(acs.calls[1].first == "StopInvocation");
    CHECK(acs.calls[1].second == AcsParamList{{"InvokeId", "t-acs0001"},
                                              {"InstanceId.1", "rins-acs00001"},
                                              {"InstanceId.2", "rins-acs00002"}});
    CHECK(tat.cancels == 0);
  }
  SECTION("its refusal is the error") {
    FakeAcsApi acs([&](const std::string& action, const AcsParamList&) -> Expected<json> {
      if (action == "DescribeInvocations") {
        return describe("EveryReboot");
      }
      return Error{"Operation.Forbidden", "nothing to stop"};
    });
    CapturedConsole c;
    auto r = stop_or_cancel_command(api, acs, options, c.console);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == "Operation.Forbidden");
    CHECK(tat.cancels == 0);
  }
  SECTION("a Once invocation, an unknown one, no Cloud Assistant API: TAT's cancel") {
    for (const Expected<json>& reply :
         {Expected<json>(describe("Once")), Expected<json>(json{{"RequestId", "r"}}),
          Expected<json>(Error{"InvalidAction.NotFound", "no"})}) {
      auto acs = acs_side(reply);
      CapturedConsole c;
      auto r = stop_or_cancel_command(api, acs, options, c.console);
      REQUIRE(r.has_value());
      CHECK(c.out.str() == "cancel requested: t-acs0001\n");
      REQUIRE(acs.calls.size() == 1);
    }
    CHECK(tat.cancels == 3);
  }
}

TEST_CASE("acs_http_request: an ACS3 request the server's verifier accepts", "[cli][acs]") {
  ClientConfig config;
  auto endpoint = parse_endpoint("http://127.0.0.1:8080", false);
  REQUIRE(endpoint.has_value());
  config.endpoint = *endpoint;
  config.secret_id = "AKID";
  config.secret_key = "secret";
  config.region = "cn-test";
  const AcsParamList params = {{"Frequency", "0/10 * * * * ?"},
                               {"CommandContent", base64_encode("echo 'a b' +&=")},
                               {"InstanceId.1", "rins-1"}};
  const auto req = acs_http_request(config, "RunCommand", params, 1732579199, "nonce-1");
  const std::string prefix = "http://127.0.0.1:8080/?";
  REQUIRE(req.url.starts_with(prefix));
  auto query = parse_acs_form(req.url.substr(prefix.size()));
  REQUIRE(query.has_value());
  AcsParamList expected = params;
  expected.emplace_back("RegionId", "cn-test");
  CHECK(*query == expected);

  const AcsHeaderMap headers(req.headers.begin(), req.headers.end());
  CHECK(headers.at("host") == "127.0.0.1:8080");
  CHECK(headers.at("x-acs-action") == "RunCommand");
  CHECK(headers.at("x-acs-version") == "2014-05-26");
  CHECK(headers.at("x-acs-date") == "2024-11-25T23:59:59Z");
  CHECK(headers.at("x-acs-signature-nonce") == "nonce-1");
  auto auth = parse_acs3_authorization(headers.at("authorization"));
  REQUIRE(auth.has_value());
  CHECK(auth->access_key_id == "AKID");
  CHECK(auth->signed_headers ==
        "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version");
  CHECK(acs3_verify(*auth, "secret", headers, "POST", "/", *query, ""));
  CHECK_FALSE(acs3_verify(*auth, "other", headers, "POST", "/", *query, ""));
  // The secret is nowhere on the wire.
  CHECK(req.url.find("secret") == std::string::npos);
  for (const auto& [name, value] : req.headers) {
    CHECK(value.find("secret") == std::string::npos);
  }

  SECTION("a given RegionId is kept; a base path is signed") {
    auto based = parse_endpoint("https://api.example.com/ferry", false);
    REQUIRE(based.has_value());
    config.endpoint = *based;
    const auto r2 = acs_http_request(config, "StopInvocation",
                                     {{"RegionId", "r1"}, {"InvokeId", "t-1"}}, 0, "n");
    CHECK(r2.url == "https://api.example.com/ferry/?RegionId=r1&InvokeId=t-1");
    const AcsHeaderMap h2(r2.headers.begin(), r2.headers.end());
    auto a2 = parse_acs3_authorization(h2.at("authorization"));
    REQUIRE(a2.has_value());
    CHECK(acs3_verify(*a2, "secret", h2, "POST", "/ferry/",
                      {{"RegionId", "r1"}, {"InvokeId", "t-1"}}, ""));
  }
}

TEST_CASE("parse_acs_reply: success bodies, error bodies, and what is neither", "[cli][acs]") {
  auto ok = parse_acs_reply(200, R"({"RequestId":"r","InvokeId":"t-1"})");
  REQUIRE(ok.has_value());
  CHECK(ok->at("InvokeId") == "t-1");
  auto refused = parse_acs_reply(
      403, R"({"RequestId":"r9","HostId":"h","Code":"Operation.Forbidden","Message":"no."})");
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == "Operation.Forbidden");
  CHECK(refused.error().message == "no. (RequestId r9)");
  // The SDKs' rule: a Code makes an error whatever the status.
  auto coded = parse_acs_reply(200, R"({"Code":"Throttling.User","Message":"slow down"})");
  REQUIRE_FALSE(coded.has_value());
  CHECK(coded.error().code == "Throttling.User");
  auto plain = parse_acs_reply(502, "<html>bad gateway</html>");
  REQUIRE_FALSE(plain.has_value());
  CHECK(plain.error().code.empty());
  CHECK(plain.error().message == "HTTP 502 without an API reply: <html>bad gateway</html>");
  auto bare = parse_acs_reply(500, R"({"RequestId":"r"})");
  REQUIRE_FALSE(bare.has_value());
  CHECK(bare.error().message == R"(HTTP 500: {"RequestId":"r"})");
}

TEST_CASE("tasks_with_schedule_command: a schedule is named as one, even with no task yet",
          "[cli][acs]") {
  auto tat = answering(json{{"TotalCount", 0}, {"InvocationTaskSet", json::array()}});
  TasksOptions options;
  options.invocation_id = "t-acs0001";
  SECTION("a schedule") {
    auto acs =
        acs_side(json{{"Invocations",
                       {{"Invocation", json::array({{{"RepeatMode", "Period"},
                                                     {"Frequency", "rate(5m)"},
                                                     {"InvocationStatus", "Scheduled"}}})}}}});
    CapturedConsole c;
    REQUIRE(tasks_with_schedule_command(tat, acs, options, c.console).has_value());
    CHECK(
        c.err.str() ==
        "ferry: t-acs0001 is a schedule (Period rate(5m)), Scheduled: each run is a task of it\n");
    CHECK(c.out.str() == "TASK\tINSTANCE\tSTATUS\tEXIT\tINVOCATION\tCREATED\n");
  }
  SECTION("not a schedule, no --invocation, or --json: nothing more, and no question for --json") {
    auto acs =
        acs_side(json{{"Invocations", {{"Invocation", json::array({{{"RepeatMode", "Once"}}})}}}});
    CapturedConsole c;
    REQUIRE(tasks_with_schedule_command(tat, acs, options, c.console).has_value());
    CHECK(c.err.str().empty());
    options.json = true;
    REQUIRE(tasks_with_schedule_command(tat, acs, options, c.console).has_value());
    options.json = false;
    options.invocation_id.reset();
    REQUIRE(tasks_with_schedule_command(tat, acs, options, c.console).has_value());
    CHECK(c.err.str().empty());
    CHECK(acs.calls.size() == 1);
  }
}

}  // namespace ferry::cli::test
