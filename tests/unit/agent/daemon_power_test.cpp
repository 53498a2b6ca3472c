// Exit codes 193 / 194 of a host task: the finish is reported (journaled first), then the power
// command runs, once, whatever restarts; never for a task in a container or one that did not
// exit by itself.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "agent_test_support.hpp"
#include "daemon_fakes.hpp"
#include "ferry/agent/journal.hpp"

namespace fs = std::filesystem;
using ferry::TaskStatus;
using ferry::agent::PowerAction;
using namespace ferry::test;

namespace {

const std::vector<std::string> kPowerOff{"/fake/poweroff", "--now"};
const std::vector<std::string> kReboot{"/fake/reboot"};

ferry::agent::DaemonOptions power_options(const StateDir& state) {
  auto o = Harness::options(state.path());
  o.poweroff_command = kPowerOff;
  o.reboot_command = kReboot;
  return o;
}

void dispatch_one(Harness& h, json task) {
  h.server->describe_reply = json{{"InvocationNormalTaskSet", json::array({std::move(task)})}};
  h.push(R"({"Type":"kick","Seq":1})");
}

// Runs one task to the end with `result` and returns the finish the server got.
Call run_to_finish(Harness& h, const StateDir& state, json task, const ferry::TaskResult& result) {
  const std::string id = result.invocation_task_id;
  dispatch_one(h, std::move(task));
  const auto p = state.task(id);
  h.start_task(id);
  h.finish_task(id, result);
  REQUIRE(h.run_until([&] { return !fs::exists(p.dir); }));
  const auto finishes = h.server->of("ReportTaskFinish");
  REQUIRE(finishes.size() == 1);
  return finishes[0];
}

}  // namespace

TEST_CASE("power action: which results ask for one") {
  using ferry::agent::power_action_after;
  auto r = result_of("invt-p", TaskStatus::kFailed, 193, "");
  CHECK(power_action_after(r, false) == PowerAction::kPowerOff);
  CHECK(power_action_after(r, true) == PowerAction::kNone);  // in a container
  r.exit_code = 194;
  CHECK(power_action_after(r, false) == PowerAction::kReboot);
  r.exit_code = 195;
  CHECK(power_action_after(r, false) == PowerAction::kNone);
  r.exit_code = 0;
  r.status = TaskStatus::kSuccess;
  CHECK(power_action_after(r, false) == PowerAction::kNone);
  for (const auto status : {TaskStatus::kTimeout, TaskStatus::kTerminated, TaskStatus::kStartFailed,
                            TaskStatus::kCancelled}) {
    r.status = status;
    r.exit_code = 193;
    CHECK(power_action_after(r, false) == PowerAction::kNone);
  }
}

TEST_CASE("power action: 193 powers off after the finish is reported, once") {
  StateDir state;
  Harness h(power_options(state));
  const auto finish = run_to_finish(h, state, listed_task("invt-off"),
                                    result_of("invt-off", TaskStatus::kFailed, 193, "bye\n"));
  // Reported as the task ended: its own exit code, FAILED as any non-zero exit.
  CHECK(finish.fields["Result"] == "FAILED");
  CHECK(finish.fields["ExitCode"] == 193);
  REQUIRE(h.power_commands->size() == 1);
  CHECK((*h.power_commands)[0].argv == kPowerOff);
  CHECK((*h.power_commands)[0].finishes_seen == 1);
  h.advance(std::chrono::seconds(10));
  CHECK(h.power_commands->size() == 1);
}

TEST_CASE("power action: 194 reboots, and only once the finish is acknowledged") {
  StateDir state;
  Harness h(power_options(state));
  h.server->fail_next["ReportTaskFinish"] = 2;
  const std::string id = "invt-reboot";
  dispatch_one(h, listed_task(id));
  const auto p = state.task(id);
  h.start_task(id);
  h.finish_task(id, result_of(id, TaskStatus::kFailed, 194, ""));
  // The result is journaled with the action to take before anything is sent.
  auto journal = ferry::agent::read_journal(p.dir);
  REQUIRE(journal);
  CHECK(journal->power_action == PowerAction::kReboot);
  CHECK_FALSE(journal->power_action_done);
  CHECK(h.power_commands->empty());  // the first finish failed
  REQUIRE(h.run_until([&] { return !fs::exists(p.dir); }));
  CHECK(h.server->of("ReportTaskFinish").size() == 3);
  REQUIRE(h.power_commands->size() == 1);
  CHECK((*h.power_commands)[0].argv == kReboot);
  CHECK((*h.power_commands)[0].finishes_seen == 3);
}

TEST_CASE("power action: none for a task in a container or one that did not exit by itself") {
  StateDir state;
  Harness h(power_options(state));
  auto in_container = listed_task("invt-ctr");
  in_container["ContainerName"] = "web-1";
  (void)run_to_finish(h, state, in_container, result_of("invt-ctr", TaskStatus::kFailed, 193, ""));
  CHECK(h.power_commands->empty());
}

TEST_CASE("power action: a restarted agent runs a pending one once, a done one never") {
  for (const bool done : {false, true}) {
    INFO("done before the restart: " << done);
    StateDir state;
    const std::string id = "invt-restart";
    ferry::agent::JournalRecord r;
    r.task_id = id;
    r.boot_id = "boot-now";
    r.start_time = "2026-12-04T17:00:00Z";
    r.start_acked = true;
    r.result = result_of(id, TaskStatus::kFailed, 193, "");
    r.power_action = PowerAction::kPowerOff;
    r.power_action_done = done;
    const auto p = state.task(id);
    REQUIRE(ferry::agent::write_journal(p.dir, r, ferry::platform::Durability::kSynced));
    // The record round-trips through its file.
    auto read = ferry::agent::read_journal(p.dir);
    REQUIRE(read);
    CHECK(*read == r);

    Harness h(power_options(state));
    REQUIRE(h.run_until([&] { return !fs::exists(p.dir); }));
    CHECK(actions(h.server->for_task(id)) == std::vector<std::string>{"ReportTaskFinish"});
    CHECK(h.power_commands->size() == (done ? 0U : 1U));
  }
}
