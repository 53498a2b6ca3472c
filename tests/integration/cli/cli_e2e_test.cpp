// End to end: the real `ferry` binary against a real ferry-server (which made its own API
// credentials in a fresh data dir, as in scripts/demo) and real ferry-agent daemons on loopback.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent_process.hpp"
#include "api_client.hpp"
#include "blackbox.hpp"
#include "ferry/cli/acs_api.hpp"
#include "ferry/core/base64.hpp"
#include "ferry/core/time.hpp"
#include "process.hpp"
#include "server_process.hpp"
#include "started_agent.hpp"
#include "test_process.hpp"

using namespace std::chrono_literals;
using namespace ferry::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Scratch directories of the statics below are removed at exit, after the agents that live in
// them are gone; others may read them.
const char* const kScratch = "ferry-cli-e2e";
constexpr mode_t kScratchMode = 0755;

// One server for the whole file, started without configured credentials so that it writes
// DATA_DIR/credentials.json itself; ferry reads it through FERRY_CREDENTIALS_FILE.
ServerProcess& server() {
  static auto s =
      std::make_unique<ServerProcess>(FERRY_SERVER_BIN, json{{"credentials", json::array()}});
  return *s;
}

fs::path credentials_file() {
  return server().data_dir() / "credentials.json";
}

// A running `ferry` with its stdout on a pipe read as it comes, and a controlled environment
// (nothing inherited: no FERRY_* or config file of whoever runs the tests). `extra_env`
// replaces a default of the same name.
Process ferry_process(const std::vector<std::string>& args,
                      const std::vector<std::string>& extra_env = {}) {
  static const TempDir scratch(kScratch, kScratchMode);
  static int counter = 0;
  std::vector<std::string> argv{FERRY_CLI_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> env{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + scratch.str(),
                               "FERRY_ENDPOINT=" + server().endpoint(),
                               "FERRY_CREDENTIALS_FILE=" + credentials_file().string()};
  for (const auto& kv : extra_env) {
    const std::string name = kv.substr(0, kv.find('=') + 1);
    std::erase_if(env, [&](const std::string& e) { return e.starts_with(name); });
    env.push_back(kv);
  }
  LaunchOptions o;
  o.argv = std::move(argv);
  o.env = std::move(env);
  o.clean_env = true;
  o.err_file = scratch / ("ferry." + std::to_string(++counter) + ".err");
  o.out_pipe = true;
  return Process(std::move(o));
}

ProcessResult ferry_cli(const std::vector<std::string>& args,
                        const std::vector<std::string>& env = {}) {
  return ferry_process(args, env).wait(60s);
}

int lines_in(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

// A register code through `ferry register-code create --json`, an agent registered with it
// and running.
std::unique_ptr<AgentProcess> start_agent(const fs::path& dir) {
  auto code = ferry_cli({"register-code", "create", "--name", "cli", "--json"});
  INFO(code.err);
  REQUIRE(code.exit_code == 0);
  const auto j = json::parse(code.out);
  auto agent = std::make_unique<AgentProcess>(FERRY_AGENT_BINARY, dir);
  register_and_start(*agent, server().endpoint(), j.at("RegisterCodeId").get<std::string>(),
                     j.at("RegisterCodeValue").get<std::string>());
  return agent;
}

// The agent every test shares.
AgentProcess& agent() {
  static const TempDir dir(kScratch, kScratchMode);
  static auto a = start_agent(dir.path() / "agent");
  return *a;
}

json tasks_json(const std::vector<std::string>& filter) {
  std::vector<std::string> args{"tasks", "--json", "--limit", "100"};
  args.insert(args.end(), filter.begin(), filter.end());
  auto r = ferry_cli(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

std::string status_of(const std::string& invocation) {
  const auto j = tasks_json({"--invocation", invocation});
  if (j["InvocationTaskSet"].empty()) {
    return "";
  }
  return j["InvocationTaskSet"][0]["TaskStatus"].get<std::string>();
}

// Polled every 200 ms: each look is a run of `ferry tasks`.
bool wait_status(const std::string& invocation, const std::string& status,
                 std::chrono::milliseconds limit) {
  return eventually([&] { return status_of(invocation) == status; }, limit, 200ms);
}

}  // namespace

TEST_CASE("ferry run: live output, all of it, and the remote exit code", "[cli-e2e]") {
  const std::string& id = agent().instance_id();
  auto run = ferry_process(
      {"run", "-i", id, "--timeout", "30", "--",
       "echo first; echo 'second line'; sleep 3; echo last; echo to-stderr >&2; exit 3"});
  // The first lines arrive while the command still sleeps.
  REQUIRE(run.read_until("second line\n", 10s));
  CHECK(run.running());
  CHECK(run.piped_out().find("last") == std::string::npos);
  const auto r = run.wait(60s);
  INFO(r.err);
  CHECK(r.exit_code == 3);
  CHECK(r.out == "first\nsecond line\nlast\nto-stderr\n");
  CHECK(r.err.find("ferry: invocation inv-") != std::string::npos);
  CHECK(r.err.find(id + " RUNNING\n") != std::string::npos);
  CHECK(r.err.find(id + " FAILED exit 3\n") != std::string::npos);
}

TEST_CASE("ferry run: parameters, user, directory and --file", "[cli-e2e]") {
  const std::string& id = agent().instance_id();
  SECTION("--param with built-ins; '=' in a value") {
    auto r = ferry_cli({"run", "-i", id, "--param", "greeting=hello", "--param", "eq=a=b", "--",
                        "echo {{greeting}} {{eq}} {{ACS::InstanceId}}"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "hello a=b " + id + "\n");
    CHECK(r.err.find(id + " SUCCESS exit 0") != std::string::npos);
  }
  SECTION("--user and --cwd") {
    auto r = ferry_cli({"run", "-i", id, "--user", "root", "--cwd", "/tmp", "--", "id -un; pwd"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "root\n/tmp\n");
  }
  SECTION("--file") {
    const fs::path script = fs::temp_directory_path() / "ferry-cli-e2e-script.sh";
    {
      std::ofstream out(script);
      out << "echo from a file\nexit 0\n";
    }
    auto r = ferry_cli({"run", "-i", id, "--file", script.string()});
    fs::remove(script);
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "from a file\n");
  }
  SECTION("a command that cannot start exits 1 and says why") {
    auto r = ferry_cli({"run", "-i", id, "--cwd", "/nonexistent/dir", "--", "true"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find(id + " START_FAILED") != std::string::npos);
  }
}

TEST_CASE("ferry run: a large output comes back as head, marker, tail", "[cli-e2e]") {
  const std::string& id = agent().instance_id();
  std::string expected;
  for (int i = 1; i <= 30000; ++i) {
    expected += std::to_string(i) + "\n";
  }
  auto r = ferry_cli({"run", "-i", id, "--", "seq 1 30000"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  const std::string marker = "bytes dropped] ...";
  const auto at = r.err.find("... [");
  REQUIRE(at != std::string::npos);
  REQUIRE(r.err.find(marker) != std::string::npos);
  const auto dropped = std::stoull(r.err.substr(at + 5));
  // Nothing twice, nothing lost: a prefix of the output, then a suffix, `dropped` apart.
  REQUIRE(r.out.size() + dropped == expected.size());
  std::size_t prefix = 0;
  while (prefix < r.out.size() && r.out[prefix] == expected[prefix]) {
    ++prefix;
  }
  const std::string rest = r.out.substr(prefix);
  CHECK(expected.compare(expected.size() - rest.size(), rest.size(), rest) == 0);
  CHECK(r.out.size() >= 24 * 1024);
}

TEST_CASE("ferry run: several instances, prefixed lines, failure if any fails", "[cli-e2e]") {
  const std::string& first = agent().instance_id();
  const TempDir dir(kScratch, kScratchMode);
  auto second = start_agent(dir.path() / "second");
  const std::string& other = second->instance_id();
  auto r = ferry_cli({"run", "-i", first, "-i", other, "--param", "first=" + first, "--",
                      "echo hi from {{ACS::InstanceId}}; [ {{ACS::InstanceId}} = {{first}} ]"});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find(first + " | hi from " + first + "\n") != std::string::npos);
  CHECK(r.out.find(other + " | hi from " + other + "\n") != std::string::npos);
  CHECK(lines_in(r.out) == 2);
  CHECK(r.err.find(first + " SUCCESS exit 0") != std::string::npos);
  CHECK(r.err.find(other + " FAILED exit 1") != std::string::npos);
  second->stop();
}

TEST_CASE("ferry cancel: a running command ends TERMINATED", "[cli-e2e]") {
  const std::string& id = agent().instance_id();
  auto started = ferry_cli({"run", "--no-wait", "-i", id, "--", "sleep 60"});
  INFO(started.err);
  REQUIRE(started.exit_code == 0);
  const std::string invocation = started.out.substr(0, started.out.find('\n'));
  REQUIRE(invocation.starts_with("inv-"));
  REQUIRE(wait_status(invocation, "RUNNING", 10s));
  auto c = ferry_cli({"cancel", invocation});
  INFO(c.err);
  CHECK(c.exit_code == 0);
  CHECK(c.out == "cancel requested: " + invocation + "\n");
  CHECK(wait_status(invocation, "TERMINATED", 10s));
}

TEST_CASE("ferry run: Ctrl-C stops waiting and tells how to cancel", "[cli-e2e]") {
  const std::string& id = agent().instance_id();
  auto run = ferry_process({"run", "-i", id, "--", "echo started; sleep 60"});
  REQUIRE(run.read_until("started\n", 10s));
  run.signal(SIGINT);
  const auto r = run.wait(10s);
  CHECK(r.exit_code == 130);
  const std::string hint = "Cancel it with: ferry cancel ";
  const auto at = r.err.find(hint + "inv-");
  REQUIRE(at != std::string::npos);
  const auto from = at + hint.size();
  const std::string invocation = r.err.substr(from, r.err.find('\n', from) - from);
  // The command goes on until cancelled.
  CHECK(status_of(invocation) == "RUNNING");
  CHECK(ferry_cli({"cancel", invocation}).exit_code == 0);
  CHECK(wait_status(invocation, "TERMINATED", 10s));
}

TEST_CASE("ferry tasks, invocations, instances, commands", "[cli-e2e]") {
  const std::string& id = agent().instance_id();
  auto run = ferry_cli({"run", "-i", id, "--", "echo listed"});
  REQUIRE(run.exit_code == 0);

  const auto j = tasks_json({"--instance", id});
  REQUIRE(j["InvocationTaskSet"].is_array());
  REQUIRE_FALSE(j["InvocationTaskSet"].empty());
  for (const auto& t : j["InvocationTaskSet"]) {
    CHECK(t["InstanceId"] == id);
  }
  CHECK(j.contains("TotalCount"));

  auto tasks = ferry_cli({"tasks", "-i", id, "--limit", "1", "--output"});
  INFO(tasks.err);
  CHECK(tasks.exit_code == 0);
  // Not a terminal: a tab-separated header and rows.
  CHECK(tasks.out.starts_with("TASK\tINSTANCE\tSTATUS\tEXIT\tINVOCATION\tCREATED\n"));
  CHECK(tasks.out.find("\tSUCCESS\t0\t") != std::string::npos);
  CHECK(tasks.out.find("listed\n") != std::string::npos);

  auto invocations = ferry_cli({"invocations", "--limit", "5"});
  CHECK(invocations.exit_code == 0);
  CHECK(invocations.out.find("echo listed") != std::string::npos);

  auto instances = ferry_cli({"instances", "--limit", "100"});
  CHECK(instances.exit_code == 0);
  CHECK(instances.out.find(id + "\t") != std::string::npos);
  CHECK(instances.out.find("Online") != std::string::npos);

  auto commands = ferry_cli({"commands", "--name", "none-such"});
  CHECK(commands.exit_code == 0);
  CHECK(commands.out == "COMMAND\tNAME\tTYPE\tTIMEOUT\tCREATED\tCONTENT\n");
}

TEST_CASE("ferry: errors are one line with the API's code", "[cli-e2e]") {
  const std::string& id = agent().instance_id();
  const auto creds = json::parse(read_file(credentials_file()));
  const std::string secret_id = creds.at("SecretId").get<std::string>();
  const std::string secret_key = creds.at("SecretKey").get<std::string>();

  SECTION("a wrong secret key") {
    auto r = ferry_cli({"--secret-id", secret_id, "--secret-key", "not-the-key", "tasks"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.starts_with("ferry: AuthFailure.SignatureFailure: "));
    CHECK(r.err.find("(RequestId ") != std::string::npos);
    CHECK(lines_in(r.err) == 1);
    CHECK(r.err.find("not-the-key") == std::string::npos);
    CHECK(r.err.find(secret_key) == std::string::npos);
    CHECK(r.out.empty());
  }
  SECTION("the right one from the environment works, and is never printed") {
    auto r = ferry_cli({"tasks"}, {"FERRY_SECRET_ID=" + secret_id, "FERRY_SECRET_KEY=" + secret_key,
                                   "FERRY_CREDENTIALS_FILE="});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find(secret_key) == std::string::npos);
    CHECK(r.err.find(secret_key) == std::string::npos);
  }
  SECTION("an instance that is not an id") {
    auto r = ferry_cli({"run", "-i", "bad id!", "--", "true"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.starts_with("ferry: InvalidParameterValue.InvalidInstanceId: "));
    CHECK(lines_in(r.err) == 1);
  }
  SECTION("an instance that does not exist") {
    auto r = ferry_cli({"run", "-i", "rins-00000000", "--", "true"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.starts_with("ferry: ResourceNotFound.InstanceNotFound: "));
    CHECK(lines_in(r.err) == 1);
  }
  SECTION("cancelling an invocation that does not exist") {
    auto r = ferry_cli({"cancel", "inv-00000000"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.starts_with("ferry: ResourceNotFound.InvocationNotFound: "));
  }
  SECTION("usage errors exit 2 before anything is sent") {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"run", "-i", id},
             {"run", "-i", id, "--param", "novalue", "--", "true"},
             {"run", "-i", id, "--file", "/etc/hostname", "--", "true"},
             {"no-such-command"},
             {"tasks", "--limit"}}) {
      auto r = ferry_cli(args);
      INFO(args[0] << " " << r.err);
      CHECK(r.exit_code == 2);
      CHECK(lines_in(r.err) == 1);
      CHECK(r.err.starts_with("ferry: "));
    }
  }
  SECTION("no endpoint, or plain http to a remote address") {
    auto none = ferry_cli({"tasks"}, {"FERRY_ENDPOINT="});
    CHECK(none.exit_code == 2);
    CHECK(none.err.find("no endpoint") != std::string::npos);
    auto plain = ferry_cli({"--endpoint", "http://192.0.2.1:9", "tasks"});
    CHECK(plain.exit_code == 2);
    CHECK(plain.err.find("plain http") != std::string::npos);
  }
  SECTION("the server is not there") {
    auto r = ferry_cli({"--endpoint", "http://127.0.0.1:1", "tasks"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.starts_with("ferry: DescribeInvocationTasks at http://127.0.0.1:1/: "));
    CHECK(lines_in(r.err) == 1);
  }
}

TEST_CASE("ferry invokers: a ONCE invoker runs on the agent, is listed, recorded and deleted",
          "[cli-e2e]") {
  const std::string& id = agent().instance_id();
  // The command to schedule, saved through the API (ferry runs commands; it does not save them).
  const auto creds = json::parse(read_file(credentials_file()));
  ApiClient api(server().endpoint(), creds.at("SecretId").get<std::string>(),
                creds.at("SecretKey").get<std::string>(), kTestRegion);
  auto command = api.call(
      "CreateCommand",
      {{"CommandName", "cli-invoker"}, {"Content", ferry::base64_encode("echo from-invoker")}});
  INFO(command.describe());
  REQUIRE(command.ok());
  const std::string command_id = command.response.at("CommandId").get<std::string>();

  const std::string at = ferry::to_rfc3339(std::chrono::system_clock::now() + 2s);
  auto created = ferry_cli({"invokers", "create", "--command-id", command_id, "-i", id, "--at", at,
                            "--name", "cli-once"});
  INFO(created.err);
  REQUIRE(created.exit_code == 0);
  const std::string invoker = created.out.substr(0, created.out.find('\n'));
  CHECK(invoker.starts_with("ivk-"));

  auto list = ferry_cli({"invokers", "list", "--command-id", command_id});
  CHECK(list.exit_code == 0);
  CHECK(list.out.find(invoker + "\tcli-once\t") != std::string::npos);

  // It fires, the command runs on the agent, and the record follows the invocation to SUCCESS.
  json record;
  const bool recorded = eventually(
      [&] {
        auto r = ferry_cli({"invokers", "records", invoker, "--json"});
        if (r.exit_code != 0) {
          return false;
        }
        const auto set = json::parse(r.out).at("InvokerRecordSet");
        if (set.size() != 1 || set[0].at("Result") != "SUCCESS") {
          return false;
        }
        record = set[0];
        return true;
      },
      time_bound(20s, 60s), 250ms);
  REQUIRE(recorded);
  CHECK(record.at("Reason").get<std::string>().starts_with("scheduled for "));
  const std::string invocation = record.at("InvocationId").get<std::string>();
  auto output = ferry_cli({"tasks", "--invocation", invocation, "--output"});
  CHECK(output.out.find("from-invoker\n") != std::string::npos);
  auto records = ferry_cli({"invokers", "records", invoker});
  CHECK(records.out.find("\tSUCCESS\t" + invocation + "\t") != std::string::npos);

  // A ONCE invoker disables itself once fired, and cannot be enabled with its time past.
  auto listed = json::parse(ferry_cli({"invokers", "list", "--json"}).out);
  bool found = false;
  for (const auto& i : listed.at("InvokerSet")) {
    if (i.at("InvokerId") == invoker) {
      found = true;
      CHECK(i.at("Enable") == false);
    }
  }
  CHECK(found);
  auto enable = ferry_cli({"invokers", "enable", invoker});
  CHECK(enable.exit_code == 1);
  CHECK(enable.err.starts_with("ferry: InvalidParameterValue.InvokeTimeExpired: "));

  auto deleted = ferry_cli({"invokers", "delete", invoker});
  CHECK(deleted.exit_code == 0);
  CHECK(deleted.out == "deleted: " + invoker + "\n");
  auto again = ferry_cli({"invokers", "delete", invoker});
  CHECK(again.exit_code == 1);
  CHECK(again.err.starts_with("ferry: ResourceNotFound.InvokerNotFound: "));
}

namespace {

// The API with the server's own credentials, as ferry uses them.
ApiClient server_api() {
  const auto creds = json::parse(read_file(credentials_file()));
  return ApiClient(server().endpoint(), creds.at("SecretId").get<std::string>(),
                   creds.at("SecretKey").get<std::string>(), kTestRegion);
}

// A task of a scripted agent (no agent process: the test speaks the protocol), started.
std::string scripted_task(ApiClient& api, ScriptedAgent& scripted) {
  run_command(api, {scripted.id()}, "cat big-file");
  const std::string task = scripted.fetch_task();
  must(scripted.start(task));
  return task;
}

// ReportTaskFinish SUCCESS with the head+tail excerpt of `whole` and its Dropped.
void finish_with_excerpt(ScriptedAgent& scripted, const std::string& task,
                         const std::string& excerpt, std::size_t whole_size) {
  must(scripted.client().call("ReportTaskFinish", {{"InvocationTaskId", task},
                                                   {"Result", "SUCCESS"},
                                                   {"ExitCode", 0},
                                                   {"Output", b64(excerpt)},
                                                   {"Dropped", whole_size - excerpt.size()},
                                                   {"OutputSize", whole_size}}));
}

std::string task_of_invocation(const std::string& invocation) {
  const auto j = tasks_json({"--invocation", invocation});
  REQUIRE(j.at("InvocationTaskSet").size() == 1);
  return j["InvocationTaskSet"][0].at("InvocationTaskId").get<std::string>();
}

}  // namespace

TEST_CASE("ferry output: a short output is the task's result, byte for byte", "[cli-e2e]") {
  const std::string& id = agent().instance_id();
  auto run = ferry_cli({"run", "--no-wait", "-i", id, "--", "printf 'one\\ntwo\\n\\001\\377'"});
  REQUIRE(run.exit_code == 0);
  const std::string invocation = run.out.substr(0, run.out.find('\n'));
  REQUIRE(wait_status(invocation, "SUCCESS", 20s));
  const std::string task = task_of_invocation(invocation);

  auto out = ferry_cli({"output", task});
  INFO(out.err);
  CHECK(out.exit_code == 0);
  CHECK(out.out == "one\ntwo\n\001\377");
  CHECK(out.err.empty());

  const TempDir dir(kScratch, kScratchMode);
  const fs::path file = dir.path() / "out.log";
  auto to_file = ferry_cli({"output", task, "-o", file.string()});
  CHECK(to_file.exit_code == 0);
  CHECK(to_file.out.empty());
  CHECK(read_file(file) == "one\ntwo\n\001\377");
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);

  auto json_reply = ferry_cli({"output", task, "--json"});
  CHECK(json_reply.exit_code == 0);
  CHECK(json::parse(json_reply.out).at("Source") == "RESULT");

  auto missing = ferry_cli({"output", "invt-00000000"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.starts_with("ferry: ResourceNotFound.InvocationTaskNotFound: "));
}

TEST_CASE("ferry output: an output uploaded to the server comes back whole", "[cli-e2e]") {
  ApiClient api = server_api();
  ScriptedAgent scripted(api, server().endpoint());
  const std::string task = scripted_task(api, scripted);
  // 1.5 MiB and a bit of every byte value: two pages of ferry's, four pieces of the agent's.
  std::string whole;
  for (std::size_t i = 0; whole.size() < 1536 * 1024 + 1000; ++i) {
    whole.push_back(static_cast<char>((i * 7 + i / 251) & 0xff));
  }
  constexpr std::size_t kPiece = 512 * 1024;
  const auto upload = [&](std::size_t offset, std::size_t length, bool final) {
    return must(scripted.client().call(
        "UploadTaskOutput", {{"InvocationTaskId", task},
                             {"Offset", offset},
                             {"Output", b64(std::string_view(whole).substr(offset, length))},
                             {"Final", final}}));
  };
  CHECK(upload(0, kPiece, false)["Stored"] == kPiece);
  CHECK(upload(0, kPiece, false)["Stored"] == kPiece);  // a resend
  // A gap: nothing stored, resume from Stored.
  CHECK(upload(2 * kPiece, kPiece, false)["Stored"] == kPiece);
  CHECK(upload(kPiece, kPiece, false)["Stored"] == 2 * kPiece);
  CHECK(upload(2 * kPiece, kPiece, false)["Stored"] == 3 * kPiece);
  auto last = upload(3 * kPiece, whole.size() - 3 * kPiece, true);
  CHECK(last["Stored"] == whole.size());
  CHECK(last["Complete"] == true);
  const std::string excerpt = whole.substr(0, 100) + whole.substr(whole.size() - 100);
  finish_with_excerpt(scripted, task, excerpt, whole.size());

  const fs::path stored = server().data_dir() / "outputs" / (task + ".log");
  struct stat st {};
  REQUIRE(::stat(stored.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(static_cast<std::size_t>(st.st_size) == whole.size());

  auto out = ferry_cli({"output", task});
  INFO(out.err);
  CHECK(out.exit_code == 0);
  CHECK(out.out.size() == whole.size());
  CHECK(out.out == whole);
  CHECK(json::parse(ferry_cli({"output", task, "--json"}).out).at("Source") == "SERVER");
}

TEST_CASE("ferry output: only the excerpt is known: printed, the reason on stderr, exit 3",
          "[cli-e2e]") {
  ApiClient api = server_api();
  ScriptedAgent scripted(api, server().endpoint());
  const std::string task = scripted_task(api, scripted);
  finish_with_excerpt(scripted, task, "head\ntail\n", 5000);
  auto out = ferry_cli({"output", task});
  CHECK(out.exit_code == 3);
  CHECK(out.out == "head\ntail\n");
  CHECK(out.err ==
        "ferry: only an excerpt of the output of " + task +
            " is known: the server's output store does not hold it (disabled, over its cap, or "
            "past retention) (4990 bytes in the middle are missing)\n");
}

namespace {

// The Cloud Assistant API with the server's own credentials, through ferry's client.
ferry::cli::HttpAcsApi acs_api() {
  const auto creds = json::parse(read_file(credentials_file()));
  ferry::cli::ClientConfig config;
  auto endpoint = ferry::cli::parse_endpoint(server().endpoint(), false);
  REQUIRE(endpoint.has_value());
  config.endpoint = *endpoint;
  config.secret_id = creds.at("SecretId").get<std::string>();
  config.secret_key = creds.at("SecretKey").get<std::string>();
  return ferry::cli::HttpAcsApi(config);
}

json acs_invocation(ferry::cli::AcsApi& acs, const std::string& invoke_id) {
  auto r = acs.call("DescribeInvocations", {{"InvokeId", invoke_id}});
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.has_value());
  const auto& set = r->at("Invocations").at("Invocation");
  REQUIRE(set.size() == 1);
  return set[0];
}

}  // namespace

TEST_CASE("ferry run --frequency: a Cloud Assistant schedule runs until ferry stop ends it",
          "[cli-e2e][acs]") {
  const std::string& id = agent().instance_id();
  auto started = ferry_cli(
      {"run", "-i", id, "--frequency", "0/10 * * * * ?", "--timeout", "5", "--", "echo tick"});
  INFO(started.err);
  REQUIRE(started.exit_code == 0);
  const std::string invocation = started.out.substr(0, started.out.find('\n'));
  CHECK(started.out == invocation + "\n");
  CHECK(invocation.starts_with("inv-"));
  CHECK(started.err.find("ferry: invocation " + invocation +
                         " is scheduled (Period): it runs on the schedule 0/10 * * * * ?") !=
        std::string::npos);

  // Listed as a schedule, whether its first run has come yet or not (Scheduled until then).
  auto listed = ferry_cli({"tasks", "--invocation", invocation});
  CHECK(listed.exit_code == 0);
  CHECK(
      listed.err.starts_with("ferry: " + invocation + " is a schedule (Period 0/10 * * * * ?), "));
  CHECK(listed.err.ends_with(": each run is a task of it\n"));
  auto acs = acs_api();
  const json created = acs_invocation(acs, invocation);
  CHECK(created.at("RepeatMode") == "Period");
  CHECK(created.at("Frequency") == "0/10 * * * * ?");
  CHECK(created.at("Timeout") == 5);

  // Two runs, each a task of the invocation, both succeeded, seen through the TAT API (ferry
  // tasks) and the Cloud Assistant one (DescribeInvocationResults with IncludeHistory).
  const bool two_runs = eventually(
      [&] {
        int succeeded = 0;
        const json tasks = tasks_json({"--invocation", invocation});
        for (const auto& t : tasks.at("InvocationTaskSet")) {
          succeeded += t.at("TaskStatus") == "SUCCESS" ? 1 : 0;
        }
        return succeeded >= 2;
      },
      time_bound(45s, 90s), 500ms);
  REQUIRE(two_runs);
  auto output = ferry_cli({"tasks", "--invocation", invocation, "--output"});
  CHECK(output.out.find("tick\n") != std::string::npos);
  auto history =
      acs.call("DescribeInvocationResults", {{"InvokeId", invocation}, {"IncludeHistory", "true"}});
  REQUIRE(history.has_value());
  CHECK(history->at("Invocation").at("InvocationResults").at("InvocationResult").size() >= 2);

  auto stop = ferry_cli({"stop", invocation});
  INFO(stop.err);
  CHECK(stop.exit_code == 0);
  CHECK(stop.out == "stop requested: " + invocation + "\n");
  const json stopped = acs_invocation(acs, invocation);
  CHECK(stopped.at("InvocationStatus") == "Stopped");
  // Nothing left to stop: the server's refusal, as one line.
  auto again = ferry_cli({"cancel", invocation});
  CHECK(again.exit_code == 1);
  CHECK(again.err.starts_with("ferry: Operation.Forbidden: "));
  CHECK(lines_in(again.err) == 1);
}

TEST_CASE("ferry run --follow: the schedule's next run, followed to its end", "[cli-e2e][acs]") {
  const std::string& id = agent().instance_id();
  auto r = ferry_cli({"run", "-i", id, "--frequency", "0/10 * * * * ?", "--timeout", "5",
                      "--follow", "--", "echo followed; exit 7"});
  INFO(r.err);
  CHECK(r.exit_code == 7);
  CHECK(r.out == "followed\n");
  CHECK(r.err.find("ferry: waiting for the schedule's next run") != std::string::npos);
  const std::string hint = "ferry: invocation ";
  const auto at = r.err.find(hint);
  REQUIRE(at != std::string::npos);
  const std::string invocation =
      r.err.substr(at + hint.size(), r.err.find('\n', at) - at - hint.size());
  CHECK(ferry_cli({"stop", invocation}).exit_code == 0);
}

TEST_CASE(
    "ferry run through the Cloud Assistant API: a Once run, and each setting reaches the "
    "agent",
    "[cli-e2e][acs]") {
  const std::string& id = agent().instance_id();
  SECTION("--repeat Once runs and is followed like any run") {
    auto r = ferry_cli({"run", "-i", id, "--repeat", "once", "--", "echo via-acs; exit 4"});
    INFO(r.err);
    CHECK(r.exit_code == 4);
    CHECK(r.out == "via-acs\n");
    CHECK(r.err.find(id + " FAILED exit 4\n") != std::string::npos);
  }
  SECTION("--termination-mode and --launcher reach the task") {
    auto r =
        ferry_cli({"run", "-i", id, "--termination-mode", "Process", "--launcher",
                   "/bin/sh {{ACS::ScriptFileName|Ext(\".sh\")}}", "--", "echo \"launched $0\""});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.starts_with("launched /"));
    CHECK(r.out.ends_with(".sh\n"));
  }
  // No container runs on the test machine's agent under these names: the agent says so.
  for (const auto& value : {std::string("web-1"), std::string("docker://0123456789abcdef")}) {
    DYNAMIC_SECTION("--container " << value) {
      auto r = ferry_cli({"run", "-i", id, "--container", value, "--", "true"});
      INFO(r.err);
      CHECK(r.exit_code != 0);
      CHECK(r.err.find("START_FAILED") != std::string::npos);
      CHECK(r.err.find("Container") != std::string::npos);
    }
  }
  SECTION("values checked before any request: exit 2, one line") {
    for (const auto& args :
         std::vector<std::vector<std::string>>{{"--repeat", "Hourly"},
                                               {"--repeat", "Period"},
                                               {"--termination-mode", "Tree"},
                                               {"--container", "docker://not-hex"}}) {
      std::vector<std::string> argv{"--endpoint", "http://127.0.0.1:1", "run", "-i", id};
      argv.insert(argv.end(), args.begin(), args.end());
      argv.insert(argv.end(), {"--", "true"});
      auto r = ferry_cli(argv);
      INFO(args[0] << " " << r.err);
      CHECK(r.exit_code == 2);
      CHECK(lines_in(r.err) == 1);
      CHECK(r.err.starts_with("ferry: --"));
    }
  }
  SECTION("a bad Frequency: the server's code") {
    auto r = ferry_cli({"run", "-i", id, "--frequency", "rate(5s)", "--", "true"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.starts_with("ferry: InvalidParam.Frequency: "));
  }
}
