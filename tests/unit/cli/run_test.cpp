#include "ferry/cli/run.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <deque>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "fake_api.hpp"
#include "ferry/core/base64.hpp"

namespace ferry::cli::test {

using nlohmann::json;

namespace {

json task(const std::string& instance, const std::string& status, const std::string& output = "",
          std::optional<int> exit_code = std::nullopt, std::uint64_t dropped = 0,
          const std::string& error_info = "") {
  return json{{"InvocationTaskId", "invt-" + instance},
              {"InvocationId", "inv-test0001"},
              {"InstanceId", instance},
              {"TaskStatus", status},
              {"ErrorInfo", error_info},
              {"TaskResult",
               {{"ExitCode", exit_code ? json(*exit_code) : json(nullptr)},
                {"Output", ferry::base64_encode(output)},
                {"Dropped", dropped}}}};
}

// A server that answers RunCommand with inv-test0001 and each DescribeInvocationTasks with the
// next of `polls` (the last one again once they run out).
struct Scripted {
  std::deque<Expected<json>> polls;
  std::vector<json> cancels;

  FakeApi api() {
    return FakeApi([this](const std::string& action, const json& params) -> Expected<json> {
      if (action == "RunCommand") {
        return json{
            {"InvocationId", "inv-test0001"}, {"CommandId", "cmd-test0001"}, {"RequestId", "r"}};
      }
      if (action == "CancelInvocation") {
        cancels.push_back(params);
        return json{{"RequestId", "r"}};
      }
      REQUIRE(action == "DescribeInvocationTasks");
      REQUIRE(polls.size() > 0);
      Expected<json> next = polls.front();
      if (polls.size() > 1) {
        polls.pop_front();
      }
      return next;
    });
  }
  void add(std::vector<json> tasks) {
    polls.emplace_back(json{{"TotalCount", tasks.size()}, {"InvocationTaskSet", tasks}});
  }
};

struct Harness : CapturedConsole {
  int interrupts = 0;
  int sleeps = 0;
  std::chrono::steady_clock::time_point clock{};
  std::function<void(int)> on_sleep;  // what happens during the n-th sleep
  RunHooks hooks() {
    return RunHooks{[this](std::chrono::milliseconds d) {
                      clock += d;
                      ++sleeps;
                      if (on_sleep) {
                        on_sleep(sleeps);
                      }
                    },
                    [this] { return interrupts; }, [this] { return clock; }};
  }
};

// One `ferry run` against scripted replies, watched through the harness.
struct RunTest {
  Scripted s;
  FakeApi api = s.api();
  Harness h;

  Expected<int> run(const RunOptions& o) { return run_command(api, o, h.console, h.hooks()); }
};

RunOptions one(const std::string& instance = "rins-1") {
  RunOptions o;
  o.instances = {instance};
  o.content = "echo hi";
  return o;
}

}  // namespace

TEST_CASE_METHOD(RunTest, "run: RunCommand gets the script and the options", "[cli][run]") {
  s.add({task("rins-1", "SUCCESS", "", 0)});
  RunOptions o = one();
  o.content = "echo {{greeting}}";
  o.username = "nobody";
  o.working_directory = "/tmp";
  o.timeout = 30;
  o.command_type = "SHELL";
  o.params = {"greeting=hello=world"};
  auto code = run(o);
  REQUIRE(code);
  CHECK(*code == 0);
  const json& p = api.calls.at(0).second;
  CHECK(api.calls.at(0).first == "RunCommand");
  CHECK(p["Content"] == ferry::base64_encode("echo {{greeting}}"));
  CHECK(p["InstanceIds"] == json::array({"rins-1"}));
  CHECK(p["Username"] == "nobody");
  CHECK(p["WorkingDirectory"] == "/tmp");
  CHECK(p["Timeout"] == 30);
  CHECK(p["CommandType"] == "SHELL");
  CHECK(p["EnableParameter"] == true);
  CHECK(json::parse(p["Parameters"].get<std::string>()) == json{{"greeting", "hello=world"}});
  const json& poll = api.calls.at(1).second;
  CHECK(poll["HideOutput"] == false);
  CHECK(poll["Filters"][0]["Name"] == "invocation-id");
  CHECK(poll["Filters"][0]["Values"][0] == "inv-test0001");
}

TEST_CASE_METHOD(RunTest, "run: without --param, parameters stay off", "[cli][run]") {
  s.add({task("rins-1", "SUCCESS", "", 0)});
  REQUIRE(run(one()));
  CHECK_FALSE(api.calls.at(0).second.contains("EnableParameter"));
  CHECK_FALSE(api.calls.at(0).second.contains("Parameters"));
}

TEST_CASE_METHOD(RunTest, "run: live output once, status lines, the remote exit code",
                 "[cli][run]") {
  s.add({task("rins-1", "PENDING")});
  s.add({task("rins-1", "RUNNING", "hel")});
  s.add({task("rins-1", "RUNNING", "hel")});
  s.add({task("rins-1", "RUNNING", "hello\nwor")});
  s.add({task("rins-1", "FAILED", "hello\nworld\n", 3)});
  std::vector<std::string> out_at_sleep;
  h.on_sleep = [&](int) { out_at_sleep.push_back(h.out.str()); };
  auto code = run(one());
  REQUIRE(code);
  CHECK(*code == 3);
  CHECK(h.out.str() == "hello\nworld\n");
  // Printed as it came, before the task ended.
  REQUIRE(out_at_sleep.size() == 4);
  CHECK(out_at_sleep[0].empty());
  CHECK(out_at_sleep[1] == "hel");
  CHECK(out_at_sleep[3] == "hello\nwor");
  CHECK(h.err.str() ==
        "ferry: invocation inv-test0001\n"
        "rins-1 PENDING\n"
        "rins-1 RUNNING\n"
        "rins-1 FAILED exit 3\n");
  CHECK(h.sleeps == 4);
}

TEST_CASE_METHOD(RunTest, "run: the gap marker goes to stderr between head and tail",
                 "[cli][run]") {
  const std::string head(12 * 1024, 'h');
  const std::string tail(12 * 1024, 't');
  s.add({task("rins-1", "SUCCESS", head + tail, 0, 5000)});
  auto code = run(one());
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(h.out.str() == head + tail);
  CHECK(h.err.str().find("... [5000 bytes dropped] ...\n") != std::string::npos);
}

TEST_CASE("run: exit codes of final statuses", "[cli][run]") {
  CHECK(task_exit_code("SUCCESS", 0) == 0);
  CHECK(task_exit_code("FAILED", 3) == 3);
  CHECK(task_exit_code("FAILED", 255) == 255);
  CHECK(task_exit_code("FAILED", 256) == 1);
  CHECK(task_exit_code("FAILED", -1) == 1);
  CHECK(task_exit_code("FAILED", std::nullopt) == 1);
  for (const char* s :
       {"TIMEOUT", "TASK_TIMEOUT", "START_FAILED", "TERMINATED", "CANCELLED", "DELIVER_FAILED"}) {
    INFO(s);
    CHECK(task_exit_code(s, -1) == 1);
    CHECK(task_exit_code(s, std::nullopt) == 1);
  }
  CHECK(status_line("rins-1", "SUCCESS", 0, "") == "rins-1 SUCCESS exit 0");
  CHECK(status_line("rins-1", "TIMEOUT", -1, "") == "rins-1 TIMEOUT");
  CHECK(status_line("rins-1", "START_FAILED", std::nullopt, "no such user: bob") ==
        "rins-1 START_FAILED: no such user: bob");
}

TEST_CASE_METHOD(RunTest, "run: a task that never started exits 1 and says why", "[cli][run]") {
  s.add({task("rins-1", "START_FAILED", "", -1, 0, "working directory /nope does not exist")});
  auto code = run(one());
  REQUIRE(code);
  CHECK(*code == 1);
  CHECK(h.err.str().find("rins-1 START_FAILED: working directory /nope does not exist") !=
        std::string::npos);
}

TEST_CASE_METHOD(RunTest, "run: several instances, lines prefixed, 0 only when all succeed",
                 "[cli][run]") {
  RunOptions o = one();
  o.instances = {"rins-a", "rins-b"};
  SECTION("one fails") {
    s.add({task("rins-a", "RUNNING", "a1\na"), task("rins-b", "RUNNING", "b1\n")});
    s.add({task("rins-a", "SUCCESS", "a1\na2", 0), task("rins-b", "FAILED", "b1\nb2\n", 7)});
    auto code = run(o);
    REQUIRE(code);
    CHECK(*code == 1);
    CHECK(h.out.str() ==
          "rins-a | a1\n"
          "rins-b | b1\n"
          "rins-a | a2\n"
          "rins-b | b2\n");
    CHECK(h.err.str().find("rins-a SUCCESS exit 0\n") != std::string::npos);
    CHECK(h.err.str().find("rins-b FAILED exit 7\n") != std::string::npos);
  }
  SECTION("all succeed") {
    s.add({task("rins-b", "SUCCESS", "", 0), task("rins-a", "SUCCESS", "", 0)});
    auto code = run(o);
    REQUIRE(code);
    CHECK(*code == 0);
  }
}

TEST_CASE_METHOD(RunTest, "run: --no-wait prints the invocation id and returns", "[cli][run]") {
  RunOptions o = one();
  o.no_wait = true;
  auto code = run(o);
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(h.out.str() == "inv-test0001\n");
  CHECK(api.count("DescribeInvocationTasks") == 0);
}

TEST_CASE_METHOD(RunTest, "run: --json prints the final tasks and nothing else", "[cli][run]") {
  s.add({task("rins-1", "RUNNING", "partial")});
  s.add({task("rins-1", "SUCCESS", "done\n", 0)});
  RunOptions o = one();
  o.json = true;
  auto code = run(o);
  REQUIRE(code);
  CHECK(*code == 0);
  const auto j = json::parse(h.out.str());
  CHECK(j["InvocationId"] == "inv-test0001");
  CHECK(j["CommandId"] == "cmd-test0001");
  REQUIRE(j["InvocationTaskSet"].size() == 1);
  CHECK(j["InvocationTaskSet"][0]["TaskStatus"] == "SUCCESS");
  CHECK(h.err.str().empty());
}

TEST_CASE_METHOD(RunTest, "run: Ctrl-C stops waiting and says how to cancel", "[cli][run]") {
  s.add({task("rins-1", "RUNNING", "partial line")});
  h.on_sleep = [&](int n) {
    if (n == 2) {
      h.interrupts = 1;
    }
  };
  auto code = run(one());
  REQUIRE(code);
  CHECK(*code == 130);
  CHECK(h.out.str() == "partial line");
  CHECK(h.err.str().find("Cancel it with: ferry cancel inv-test0001") != std::string::npos);
  CHECK(api.count("CancelInvocation") == 0);
}

TEST_CASE_METHOD(RunTest, "run: --cancel-on-interrupt cancels and follows to the end",
                 "[cli][run]") {
  s.add({task("rins-1", "RUNNING", "x")});
  s.add({task("rins-1", "RUNNING", "x")});
  s.add({task("rins-1", "CANCELLING", "x")});
  s.add({task("rins-1", "TERMINATED", "x", -1)});
  h.on_sleep = [&](int n) {
    if (n == 1) {
      h.interrupts = 1;
    }
  };
  RunOptions o = one();
  o.cancel_on_interrupt = true;
  auto code = run(o);
  REQUIRE(code);
  CHECK(*code == 1);
  REQUIRE(s.cancels.size() == 1);
  CHECK(s.cancels[0]["InvocationId"] == "inv-test0001");
  CHECK(h.err.str().find("rins-1 TERMINATED") != std::string::npos);
}

TEST_CASE_METHOD(RunTest, "run: polling rides out a short outage", "[cli][run]") {
  s.polls.emplace_back(Error{"", "Couldn't connect to server"});
  s.polls.emplace_back(Error{"InternalError", "database is locked"});
  s.add({task("rins-1", "SUCCESS", "ok\n", 0)});
  auto code = run(one());
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(h.out.str() == "ok\n");
  CHECK(h.err.str().find("Couldn't connect to server; retrying") != std::string::npos);
}

TEST_CASE_METHOD(RunTest, "run: polling gives up after the retry limit, naming the invocation",
                 "[cli][run]") {
  s.polls.emplace_back(Error{"", "Couldn't connect to server"});
  RunOptions o = one();
  o.retry_limit = std::chrono::seconds(5);
  auto code = run(o);
  REQUIRE_FALSE(code);
  CHECK(code.error().message.find("inv-test0001") != std::string::npos);
  CHECK(h.sleeps >= 10);
  CHECK(h.sleeps <= 12);
}

TEST_CASE_METHOD(RunTest, "run: an API error while following ends it at once", "[cli][run]") {
  s.polls.emplace_back(Error{"AuthFailure.SignatureExpire", "the clock is off"});
  auto code = run(one());
  REQUIRE_FALSE(code);
  CHECK(code.error().code == "AuthFailure.SignatureExpire");
  CHECK(h.sleeps == 0);
}

TEST_CASE("run: a refused RunCommand is the API's error", "[cli][run]") {
  FakeApi api([](const std::string&, const json&) -> Expected<json> {
    return Error{"InvalidParameterValue.InvalidInstanceId",
                 "InstanceIds: 'x' is not an instance id (RequestId r)"};
  });
  Harness h;
  auto code = run_command(api, one("x"), h.console, h.hooks());
  REQUIRE_FALSE(code);
  CHECK(code.error().code == "InvalidParameterValue.InvalidInstanceId");
}

TEST_CASE("run: bad options fail before anything is sent", "[cli][run]") {
  FakeApi api([](const std::string&, const json&) -> Expected<json> { return json::object(); });
  Harness h;
  RunOptions o = one();
  o.params = {"nonsense"};
  CHECK_FALSE(run_command(api, o, h.console, h.hooks()));
  o = one();
  o.content.clear();
  CHECK_FALSE(run_command(api, o, h.console, h.hooks()));
  o = one();
  o.instances.clear();
  CHECK_FALSE(run_command(api, o, h.console, h.hooks()));
  CHECK(api.calls.empty());
}

TEST_CASE("run: tasks over several pages", "[cli][run]") {
  RunOptions o = one();
  o.instances.clear();
  std::vector<json> all;
  for (int i = 0; i < 150; ++i) {
    o.instances.push_back("rins-" + std::to_string(i));
    all.push_back(task(o.instances.back(), "SUCCESS", "", 0));
  }
  FakeApi api([&](const std::string& action, const json& params) -> Expected<json> {
    if (action == "RunCommand") {
      return json{{"InvocationId", "inv-test0001"}};
    }
    const auto offset = params["Offset"].get<std::size_t>();
    const auto limit = params["Limit"].get<std::size_t>();
    const auto end = std::min(all.size(), offset + limit);
    return json{{"TotalCount", all.size()},
                {"InvocationTaskSet", std::vector<json>(all.begin() + static_cast<long>(offset),
                                                        all.begin() + static_cast<long>(end))}};
  });
  Harness h;
  auto code = run_command(api, o, h.console, h.hooks());
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(api.count("DescribeInvocationTasks") == 2);
}

}  // namespace ferry::cli::test
