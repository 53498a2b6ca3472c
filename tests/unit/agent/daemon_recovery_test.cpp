// The daemon's start-up recovery against a fake ControlPlane: what an earlier agent left in the
// journal goes out in order, and each kind of record ends as issue 6 says.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ferry/agent/agent_paths.hpp"
#include "ferry/agent/daemon.hpp"
#include "ferry/agent/journal.hpp"
#include "ferry/core/base64.hpp"
#include "ferry/platform/process_identity.hpp"

namespace fs = std::filesystem;
namespace net = boost::asio;
using ferry::agent::CallResult;
using ferry::agent::JournalRecord;
using nlohmann::json;

namespace {

struct Call {
  std::string action;
  json fields;
};

// What the fake server saw and will answer.
struct FakeServer {
  std::vector<Call> calls;
  std::map<std::string, int> fail_next;  // action -> transport errors before a success
  json describe_reply = json::object();
  ferry::agent::PushHandlers push;  // what the daemon gave connect_push
  bool hold_describe = false;       // DescribeTasks replies wait in `held` until released
  std::vector<std::function<void()>> held;

  [[nodiscard]] std::vector<Call> for_task(const std::string& id) const {
    std::vector<Call> out;
    for (const auto& c : calls) {
      if (c.fields.value("InvocationTaskId", "") == id) {
        out.push_back(c);
      }
    }
    return out;
  }
};

class FakeControlPlane : public ferry::agent::ControlPlane {
 public:
  FakeControlPlane(net::any_io_executor ex, std::shared_ptr<FakeServer> server)
      : ex_(std::move(ex)), server_(std::move(server)) {}
  void call(const std::string& action, json fields, Done done) override {
    server_->calls.push_back({action, fields});
    CallResult r;
    if (server_->fail_next[action] > 0) {
      --server_->fail_next[action];
      r.transport_error = "fake: connection refused";
    } else {
      r.http_status = 200;
      if (action == "DescribeTasks" && server_->hold_describe) {
        // Answered later with what describe_reply holds then: a reply computed before
        // reports that the agent sends meanwhile.
        server_->held.push_back([server = server_, done = std::move(done), r]() mutable {
          r.response = server->describe_reply;
          done(r);
        });
        return;
      }
      if (action == "DescribeTasks") {
        r.response = server_->describe_reply;
        server_->describe_reply = json::object();
      }
    }
    net::post(ex_, [done = std::move(done), r = std::move(r)] { done(r); });
  }
  void connect_push(ferry::agent::PushHandlers handlers) override {
    server_->push = std::move(handlers);
  }
  void close_push() override {}
  // Calls still held complete no more (their callbacks own the daemon: drop them).
  void shutdown() override { server_->held.clear(); }
  void set_clock_offset(std::int64_t) override {}

 private:
  net::any_io_executor ex_;
  std::shared_ptr<FakeServer> server_;
};

class StateDir {
 public:
  StateDir() {
    std::string tmpl = (fs::temp_directory_path() / "ferry-recovery.XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir_ = tmpl;
    REQUIRE(ferry::agent::prepare_state_dir(dir_));
    std::ofstream(dir_ / "boot_id") << "boot-now\n";
    ::setenv(ferry::platform::kBootIdFileVariable, (dir_ / "boot_id").c_str(), 1);
  }
  ~StateDir() {
    ::unsetenv(ferry::platform::kBootIdFileVariable);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  StateDir(const StateDir&) = delete;
  StateDir& operator=(const StateDir&) = delete;
  [[nodiscard]] const fs::path& path() const { return dir_; }
  [[nodiscard]] ferry::agent::TaskPaths task(const std::string& id) const {
    auto p = ferry::agent::task_paths(dir_, id);
    fs::create_directories(p.dir);
    return p;
  }

 private:
  fs::path dir_;
};

struct Harness {
  net::io_context io;
  std::shared_ptr<FakeServer> server = std::make_shared<FakeServer>();
  std::unique_ptr<ferry::agent::Daemon> daemon;

  explicit Harness(const fs::path& state_dir, bool hold_describe = false) {
    server->hold_describe = hold_describe;
    ferry::agent::DaemonOptions o;
    o.state_dir = state_dir;
    o.supervisor_executable = "/nonexistent/ferry-agent";
    o.retry_min = std::chrono::milliseconds(10);
    o.retry_max = std::chrono::milliseconds(40);
    o.live_output_interval = std::chrono::milliseconds(1000);
    ferry::agent::Identity id;
    id.instance_id = "rins-test0001";
    daemon = std::make_unique<ferry::agent::Daemon>(
        io.get_executor(), o, id, std::make_unique<FakeControlPlane>(io.get_executor(), server));
    daemon->start([] {});
  }
  ~Harness() {
    daemon->stop();
    io.run_for(std::chrono::milliseconds(200));
  }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  bool run_until(const std::function<bool()>& pred,
                 std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      io.run_for(std::chrono::milliseconds(10));
    }
    return pred();
  }
};

JournalRecord record(const std::string& id) {
  JournalRecord r;
  r.task_id = id;
  r.boot_id = "boot-now";
  r.supervisor_pid = 0;
  r.start_time = "2026-12-04T17:00:00Z";
  return r;
}

ferry::TaskResult result_of(const std::string& id, ferry::TaskStatus status, int exit_code,
                            const std::string& output) {
  ferry::TaskResult r;
  r.invocation_task_id = id;
  r.status = status;
  r.exit_code = exit_code;
  r.output = output;
  r.output_size = output.size();
  r.exec_start_time = "2026-12-04T17:00:00Z";
  r.exec_end_time = "2026-12-04T17:00:05Z";
  return r;
}

void write_final_state(const ferry::agent::TaskPaths& p, const ferry::TaskResult& r) {
  std::ofstream(p.state_file) << json{{"Phase", "finished"}, {"Result", ferry::to_json(r)}}.dump();
}

std::string decoded(const json& b64) {
  auto d = ferry::base64_decode(b64.get<std::string>());
  return d ? *d : std::string("<not base64>");
}

std::vector<std::string> actions(const std::vector<Call>& calls) {
  std::vector<std::string> out;
  for (const auto& c : calls) {
    out.push_back(c.action);
  }
  return out;
}

// Starts an agent on the state dir and runs it until the task's directory is gone; the
// server must have got exactly one report for the task, its ReportTaskFinish, returned here.
Call only_finish_report(const StateDir& state, const ferry::agent::TaskPaths& p,
                        const std::string& id) {
  Harness h(state.path());
  REQUIRE(h.run_until([&] { return !fs::exists(p.dir); }));
  const auto calls = h.server->for_task(id);
  REQUIRE(actions(calls) == std::vector<std::string>{"ReportTaskFinish"});
  return calls[0];
}

}  // namespace

TEST_CASE("recovery: pending reports go out in order, retried, then the entry is removed") {
  StateDir state;
  const std::string id = "invt-pending";
  auto p = state.task(id);
  std::ofstream(p.output_file) << "hello world!";
  auto r = record(id);
  r.next_log_index = 2;
  r.log_offset = 5;
  r.pending_piece = ferry::agent::LogPiece{2, 5, 4};
  r.result = result_of(id, ferry::TaskStatus::kFailed, 3, "hello world!");
  r.final_log_index = 2;
  REQUIRE(ferry::agent::write_journal(p.dir, r, ferry::platform::Durability::kSynced));

  Harness h(state.path());
  h.server->fail_next["UploadTaskLog"] = 2;  // the server is away for the piece, twice
  REQUIRE(h.run_until([&] { return !fs::exists(p.dir); }));
  const auto calls = h.server->for_task(id);
  CHECK(actions(calls) == std::vector<std::string>{"ReportTaskStart", "UploadTaskLog",
                                                   "UploadTaskLog", "UploadTaskLog",
                                                   "ReportTaskFinish"});
  CHECK(calls[0].fields["TimeStamp"] == "2026-12-04T17:00:00Z");
  for (std::size_t i = 1; i <= 3; ++i) {
    CHECK(calls[i].fields["Index"] == 2);
    CHECK(decoded(calls[i].fields["Output"]) == " wor");
  }
  CHECK(calls[4].fields["Result"] == "FAILED");
  CHECK(calls[4].fields["ExitCode"] == 3);
  CHECK(calls[4].fields["FinalLogIndex"] == 2);
}

TEST_CASE("recovery: a record from another boot is FAILED with the output it had") {
  StateDir state;
  const std::string id = "invt-rebooted";
  auto p = state.task(id);
  std::ofstream(p.output_file) << "partial\n";
  auto r = record(id);
  r.boot_id = "boot-before";
  r.supervisor_pid = ::getpid();  // even a live pid: another boot's pid means nothing
  r.supervisor_start_time = ferry::platform::process_start_time(::getpid()).value_or(0);
  r.start_acked = true;
  REQUIRE(ferry::agent::write_journal(p.dir, r, ferry::platform::Durability::kSynced));

  const Call finish = only_finish_report(state, p, id);
  CHECK(finish.fields["Result"] == "FAILED");
  CHECK(finish.fields["ErrorInfo"].get<std::string>().find("instance restarted") !=
        std::string::npos);
  CHECK(decoded(finish.fields["Output"]) == "partial\n");
}

TEST_CASE("recovery: a task that ended while no agent ran is reported with its own result") {
  StateDir state;
  const std::string id = "invt-ended";
  auto p = state.task(id);
  auto r = record(id);
  r.start_acked = true;
  r.supervisor_pid = 999999;  // gone
  r.supervisor_start_time = 1;
  REQUIRE(ferry::agent::write_journal(p.dir, r, ferry::platform::Durability::kSynced));
  write_final_state(p, result_of(id, ferry::TaskStatus::kTimeout, -1, "slow\n"));

  const Call finish = only_finish_report(state, p, id);
  CHECK(finish.fields["Result"] == "TIMEOUT");
  CHECK(decoded(finish.fields["Output"]) == "slow\n");
}

TEST_CASE("recovery: a pid reused by another process is not taken for the supervisor") {
  StateDir state;
  const std::string id = "invt-reused";
  auto p = state.task(id);
  auto r = record(id);
  r.start_acked = true;
  r.supervisor_pid = ::getpid();  // alive, but started at another time
  r.supervisor_start_time = ferry::platform::process_start_time(::getpid()).value_or(0) + 1;
  REQUIRE(ferry::agent::write_journal(p.dir, r, ferry::platform::Durability::kSynced));

  const Call finish = only_finish_report(state, p, id);
  CHECK(finish.fields["Result"] == "FAILED");
  CHECK(finish.fields["ErrorInfo"].get<std::string>().find("supervisor ended") !=
        std::string::npos);
}

TEST_CASE("recovery: a live supervisor is re-attached, a cancel reaches it, its result is sent") {
  StateDir state;
  const std::string id = "invt-alive";
  auto p = state.task(id);
  // The "supervisor": a child that records the SIGTERM it gets as its result, as the real one.
  const std::string state_file = p.state_file.string();
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::signal(SIGTERM, [](int) {});
    ::pause();
    std::ofstream(state_file) << json{
        {"Phase", "finished"},
        {"Result",
         ferry::to_json(result_of(
             "invt-alive", ferry::TaskStatus::kTerminated, -1,
             "stopped\n"))}}.dump();
    ::_exit(0);
  }
  auto r = record(id);
  r.supervisor_pid = child;
  r.supervisor_start_time = ferry::platform::process_start_time(child).value_or(0);
  REQUIRE(r.supervisor_start_time != 0);
  REQUIRE(ferry::agent::write_journal(p.dir, r, ferry::platform::Durability::kSynced));

  Harness h(state.path());
  // Re-attached: the start goes out again (it was never acknowledged), nothing final yet.
  REQUIRE(h.run_until([&] { return h.server->for_task(id).size() == 1; }));
  h.io.run_for(std::chrono::milliseconds(600));
  CHECK(actions(h.server->for_task(id)) == std::vector<std::string>{"ReportTaskStart"});
  // The server cancels it (a cancel frame, then DescribeTasks): SIGTERM to the checked pid, and
  // the result the supervisor records is reported once.
  h.server->describe_reply = json{{"InvocationCancelTaskSet", {{{"InvocationTaskId", id}}}}};
  REQUIRE(h.server->push.on_message);
  h.server->push.on_message(R"({"Type":"cancel","Seq":1})");
  REQUIRE(h.run_until([&] { return !fs::exists(p.dir); }, std::chrono::seconds(10)));
  int status = 0;
  CHECK(::waitpid(child, &status, 0) == child);
  const auto calls = h.server->for_task(id);
  CHECK(actions(calls) == std::vector<std::string>{"ReportTaskStart", "ReportTaskFinish"});
  CHECK(calls.back().fields["Result"] == "TERMINATED");
}

TEST_CASE("recovery: a stale DescribeTasks listing of a task just finished does not rerun it") {
  StateDir state;
  const std::string id = "invt-stale";
  auto p = state.task(id);
  auto r = record(id);
  r.result = result_of(id, ferry::TaskStatus::kSuccess, 0, "once\n");
  REQUIRE(ferry::agent::write_journal(p.dir, r, ferry::platform::Durability::kSynced));

  Harness h(state.path(), /*hold_describe=*/true);
  // The start and finish are acknowledged and the entry removed while the DescribeTasks sent
  // at start-up is still unanswered; its reply, computed earlier, still lists the task.
  REQUIRE(h.run_until([&] { return !fs::exists(p.dir); }));
  ferry::Task task;
  task.invocation_task_id = id;
  task.content = ferry::base64_encode("echo again");
  h.server->describe_reply = json{{"InvocationNormalTaskSet", {ferry::to_json(task)}}};
  REQUIRE(h.server->held.size() == 1);
  auto reply = std::move(h.server->held.front());
  h.server->held.clear();
  reply();
  h.io.run_for(std::chrono::milliseconds(300));
  CHECK_FALSE(fs::exists(p.dir));
  CHECK(actions(h.server->for_task(id)) ==
        std::vector<std::string>{"ReportTaskStart", "ReportTaskFinish"});
}
