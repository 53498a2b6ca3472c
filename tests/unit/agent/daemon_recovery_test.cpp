// The daemon's start-up recovery on fake seams: what an earlier agent left in the journal goes
// out in order, and each kind of record ends as issue 6 says. The supervisors here are real
// processes where the test is about telling them apart.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "agent_test_support.hpp"
#include "daemon_fakes.hpp"
#include "ferry/agent/journal.hpp"
#include "ferry/platform/process_identity.hpp"

namespace fs = std::filesystem;
using ferry::agent::JournalRecord;
using ferry::agent::TaskPaths;
using namespace ferry::test;

namespace {

// A record an earlier agent of this boot left for a task it started.
JournalRecord record(const std::string& id, bool start_acked = false) {
  JournalRecord r;
  r.task_id = id;
  r.boot_id = "boot-now";
  r.start_time = "2026-12-04T17:00:00Z";
  r.start_acked = start_acked;
  return r;
}

// The task's directory with the record in it.
TaskPaths left_behind(const StateDir& state, const JournalRecord& r) {
  auto p = state.task(r.task_id);
  REQUIRE(ferry::agent::write_journal(p.dir, r, ferry::platform::Durability::kSynced));
  return p;
}

ferry::platform::ProcessIdentity self_identity() {
  const auto self = ferry::platform::identify_process(::getpid());
  REQUIRE(self);
  return *self;
}

// Starts an agent on the state dir and runs it until the task's directory is gone; the
// server must have got exactly one report for the task, its ReportTaskFinish, returned here.
Call only_finish_report(const StateDir& state, const TaskPaths& p, const std::string& id) {
  Harness h(Harness::options(state.path()));
  REQUIRE(h.run_until([&] { return !fs::exists(p.dir); }));
  const auto calls = h.server->for_task(id);
  REQUIRE(actions(calls) == std::vector<std::string>{"ReportTaskFinish"});
  return calls[0];
}

}  // namespace

TEST_CASE("recovery: pending reports go out in order, retried, then the entry is removed") {
  StateDir state;
  const std::string id = "invt-pending";
  auto r = record(id);
  r.next_log_index = 2;
  r.log_offset = 5;
  r.pending_piece = ferry::agent::LogPiece{2, 5, 4};
  r.result = result_of(id, ferry::TaskStatus::kFailed, 3, "hello world!");
  r.final_log_index = 2;
  const auto p = left_behind(state, r);
  std::ofstream(p.output_file) << "hello world!";

  Harness h(Harness::options(state.path()), /*hold_describe=*/false);
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
  auto r = record(id, /*start_acked=*/true);
  r.boot_id = "boot-before";
  r.supervisor = self_identity();  // even a live process: another boot's pid means nothing
  const auto p = left_behind(state, r);
  std::ofstream(p.output_file) << "partial\n";

  const Call finish = only_finish_report(state, p, id);
  CHECK(finish.fields["Result"] == "FAILED");
  CHECK(finish.fields["ErrorInfo"].get<std::string>().find("instance restarted") !=
        std::string::npos);
  CHECK(decoded(finish.fields["Output"]) == "partial\n");
}

TEST_CASE("recovery: a task that ended while no agent ran is reported with its own result") {
  StateDir state;
  const std::string id = "invt-ended";
  auto r = record(id, /*start_acked=*/true);
  r.supervisor = {999999, 1};  // gone
  const auto p = left_behind(state, r);
  write_final_state(p, result_of(id, ferry::TaskStatus::kTimeout, -1, "slow\n"));

  const Call finish = only_finish_report(state, p, id);
  CHECK(finish.fields["Result"] == "TIMEOUT");
  CHECK(decoded(finish.fields["Output"]) == "slow\n");
}

TEST_CASE("recovery: a pid reused by another process is not taken for the supervisor") {
  StateDir state;
  const std::string id = "invt-reused";
  auto r = record(id, /*start_acked=*/true);
  r.supervisor = self_identity();  // alive, but started at another time
  r.supervisor.start_time += 1;
  const auto p = left_behind(state, r);

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
  const auto supervisor = ferry::platform::identify_process(child);
  REQUIRE(supervisor);
  r.supervisor = *supervisor;
  (void)left_behind(state, r);

  Harness h(Harness::options(state.path()));
  // Re-attached: the start goes out again (it was never acknowledged), nothing final yet,
  // however long the supervisor runs.
  REQUIRE(h.run_until([&] { return h.server->for_task(id).size() == 1; }));
  h.advance(std::chrono::minutes(10));
  CHECK(actions(h.server->for_task(id)) == std::vector<std::string>{"ReportTaskStart"});
  // The server cancels it (a cancel frame, then DescribeTasks): SIGTERM to the checked pid, and
  // the result the supervisor records is reported once.
  h.server->describe_reply = json{{"InvocationCancelTaskSet", {{{"InvocationTaskId", id}}}}};
  h.push(R"({"Type":"cancel","Seq":1})");
  REQUIRE(h.run_until([&] { return !fs::exists(p.dir); }, std::chrono::seconds(10),
                      std::chrono::milliseconds(50), /*real_time=*/true));
  int status = 0;
  CHECK(::waitpid(child, &status, 0) == child);
  const auto calls = h.server->for_task(id);
  CHECK(actions(calls) == std::vector<std::string>{"ReportTaskStart", "ReportTaskFinish"});
  CHECK(calls.back().fields["Result"] == "TERMINATED");
}

TEST_CASE("recovery: a stale DescribeTasks listing of a task just finished does not rerun it") {
  StateDir state;
  const std::string id = "invt-stale";
  auto r = record(id);
  r.result = result_of(id, ferry::TaskStatus::kSuccess, 0, "once\n");
  const auto p = left_behind(state, r);

  Harness h(Harness::options(state.path()), /*hold_describe=*/true);
  // The start and finish are acknowledged and the entry removed while the DescribeTasks sent
  // at start-up is still unanswered; its reply, computed earlier, still lists the task.
  REQUIRE(h.run_until([&] { return !fs::exists(p.dir); }));
  h.server->describe_reply = json{{"InvocationNormalTaskSet", {listed_task(id)}}};
  REQUIRE(h.server->held.size() == 1);
  auto reply = std::move(h.server->held.front());
  h.server->held.clear();
  reply();
  h.advance(std::chrono::milliseconds(300));
  CHECK_FALSE(fs::exists(p.dir));
  CHECK(h.runner->submitted.empty());
  CHECK(actions(h.server->for_task(id)) ==
        std::vector<std::string>{"ReportTaskStart", "ReportTaskFinish"});
}
