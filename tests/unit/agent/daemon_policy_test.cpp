// The local policy and the audit log in the daemon, on fake seams: a refused task never reaches
// the runner, is reported START_FAILED naming the rule exactly once (also across a restart) and
// leaves an audit line; a reload changes what is accepted; a forbidden power action is skipped.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "agent_test_support.hpp"
#include "daemon_fakes.hpp"
#include "ferry/agent/audit_log.hpp"
#include "ferry/agent/journal.hpp"
#include "ferry/core/crypto.hpp"

namespace fs = std::filesystem;
using ferry::TaskStatus;
using ferry::agent::AuditRecord;
namespace agent = ferry::agent;
using namespace ferry::test;  // with json and milliseconds

namespace {

agent::DaemonOptions with_policy(const StateDir& state, const json& policy) {
  auto o = Harness::options(state.path());
  auto p = agent::parse_local_policy(policy, "policy");
  REQUIRE(p);
  o.policy = *p;
  return o;
}

void dispatch_listed(Harness& h, const json& listed) {
  h.server->describe_reply = json{{"InvocationNormalTaskSet", json::array({listed})}};
  h.push(R"({"Type":"kick","Seq":1})");
}

std::vector<AuditRecord> audit_lines(const StateDir& state) {
  auto r = agent::read_audit_log(agent::audit_log_file(state.path()), {});
  REQUIRE(r);
  CHECK(r->unreadable_lines == 0);
  return r->records;
}

}  // namespace

TEST_CASE("policy: a refused task never runs, is reported START_FAILED naming the rule, audited") {
  StateDir state;
  Harness h(with_policy(state, {{"denied_users", {"root"}}}));
  const std::string id = "invt-denied";
  dispatch_listed(h, listed_task(id, "touch /tmp/never"));
  CHECK(h.runner->submitted.empty());
  REQUIRE(h.run_until([&] { return !fs::exists(agent::task_paths(state.path(), id).dir); }));
  const auto calls = h.server->for_task(id);
  REQUIRE(actions(calls) == std::vector<std::string>{"ReportTaskFinish"});
  CHECK(calls[0].fields["Result"] == "START_FAILED");
  CHECK(calls[0].fields["ErrorInfo"] == "refused by local policy: denied_users (root)");

  const auto lines = audit_lines(state);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].event == "refused");
  CHECK(lines[0].task_id == id);
  CHECK(lines[0].result == "START_FAILED");
  CHECK(lines[0].rule == "denied_users");
  CHECK(lines[0].command_type == "SHELL");
  CHECK(lines[0].sha256 == ferry::sha256_hex("touch /tmp/never"));
  CHECK_FALSE(lines[0].exit_code);
}

TEST_CASE("policy: a refusal survives a restart before its report, and is reported once") {
  StateDir state;
  const std::string id = "invt-restart";
  const auto dir = agent::task_paths(state.path(), id).dir;
  {
    Harness h(with_policy(state, {{"allowed_command_types", {"BAT"}}}));
    h.server->fail_next["ReportTaskFinish"] = 1000;  // the server never hears it
    dispatch_listed(h, listed_task(id));
    CHECK(h.runner->submitted.empty());
    auto journal = agent::read_journal(dir);
    REQUIRE(journal);
    REQUIRE(journal->result);
    CHECK(journal->result->error_info == "refused by local policy: allowed_command_types (SHELL)");
    CHECK(journal->start_acked);  // nothing started: no start to report
  }
  // The next agent has no policy: it reports the refusal it finds, and does not run the task
  // that the server still lists meanwhile.
  Harness h(Harness::options(state.path()), false, [&](FakeServer& s) {
    s.describe_reply = {{"InvocationNormalTaskSet", {listed_task(id)}}};
  });
  REQUIRE(h.run_until([&] { return !fs::exists(dir); }));
  CHECK(h.runner->submitted.empty());
  const auto calls = h.server->for_task(id);
  REQUIRE(actions(calls) == std::vector<std::string>{"ReportTaskFinish"});
  CHECK(calls[0].fields["Result"] == "START_FAILED");
  CHECK(calls[0].fields["ErrorInfo"] == "refused by local policy: allowed_command_types (SHELL)");
  // One line: the refusal, written once.
  CHECK(audit_lines(state).size() == 1);
}

TEST_CASE("policy: after a reload the same task runs; accepted and finished are audited") {
  StateDir state;
  Harness h(with_policy(state, {{"max_timeout_seconds", 30}}));
  json listed = listed_task("invt-1");
  listed["Timeout"] = 60;
  listed["Username"] = "app";
  dispatch_listed(h, listed);
  CHECK(h.runner->submitted.empty());
  REQUIRE(h.run_until([&] { return h.server->for_task("invt-1").size() == 1; }));
  CHECK(h.server->for_task("invt-1")[0].fields["ErrorInfo"] ==
        "refused by local policy: max_timeout_seconds (60)");

  auto next = with_policy(state, {{"max_timeout_seconds", 60}});
  h.daemon->reload(next);
  listed["InvocationTaskId"] = "invt-2";
  dispatch_listed(h, listed);
  REQUIRE(h.runner->submitted == std::vector<std::string>{"invt-2"});
  (void)state.task("invt-2");  // the runner would have made it
  h.start_task("invt-2");
  h.finish_task("invt-2", result_of("invt-2", TaskStatus::kFailed, 3, "out\n"));
  REQUIRE(h.run_until([&] { return !fs::exists(agent::task_paths(state.path(), "invt-2").dir); }));

  const auto lines = audit_lines(state);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].event == "refused");
  CHECK(lines[0].rule == "max_timeout_seconds");
  CHECK(lines[1].event == "accepted");
  CHECK(lines[1].task_id == "invt-2");
  CHECK(lines[1].user == "app");
  CHECK(lines[1].sha256 == ferry::sha256_hex("echo hi"));
  CHECK(lines[1].result.empty());
  CHECK(lines[2].event == "finished");
  CHECK(lines[2].result == "FAILED");
  CHECK(lines[2].exit_code == 3);
  CHECK(lines[2].user == "app");
  CHECK(lines[2].sha256 == lines[1].sha256);
}

TEST_CASE("policy: an exit-code reboot is skipped when the policy forbids it") {
  StateDir state;
  Harness h(with_policy(state, {{"allow_exit_code_power_actions", false}}));
  const std::string id = "invt-reboot";
  dispatch_listed(h, listed_task(id));
  (void)state.task(id);
  h.start_task(id);
  h.finish_task(id, result_of(id, TaskStatus::kFailed, 194, ""));
  REQUIRE(h.run_until([&] { return !fs::exists(agent::task_paths(state.path(), id).dir); }));
  CHECK(h.power_commands->empty());
  const auto lines = audit_lines(state);
  REQUIRE(lines.size() == 2);
  CHECK(lines[1].note == "power action Reboot skipped: allow_exit_code_power_actions");
}

TEST_CASE("policy: a task the agent cannot read is refused and audited with what is known") {
  StateDir state;
  Harness h(Harness::options(state.path()));
  json listed = listed_task("invt-bad");
  listed["Timeout"] = "sixty";
  dispatch_listed(h, listed);
  REQUIRE(h.run_until([&] { return h.server->for_task("invt-bad").size() == 1; }));
  const auto lines = audit_lines(state);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].event == "refused");
  CHECK(lines[0].result == "START_FAILED");
  CHECK(lines[0].rule.empty());
}
