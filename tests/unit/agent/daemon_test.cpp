// The daemon's logic on a fake clock, a fake server and a fake runner: what it sends when, how
// it retries, reconnects, polls and stops.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "agent_test_support.hpp"
#include "daemon_fakes.hpp"
#include "ferry/agent/journal.hpp"

namespace fs = std::filesystem;
using ferry::TaskStatus;
using namespace ferry::test;  // with json and milliseconds
using std::chrono::seconds;

namespace {

// Lists the tasks in the next DescribeTasks reply and kicks the agent.
void dispatch(Harness& h, const std::vector<std::string>& ids) {
  json set = json::array();
  for (const auto& id : ids) {
    set.push_back(listed_task(id));
  }
  h.server->describe_reply = json{{"InvocationNormalTaskSet", set}};
  h.push(R"({"Type":"kick","Seq":1})");
}

}  // namespace

TEST_CASE("daemon: a task from kick to acknowledged finish, with its journal and live output") {
  StateDir state;
  Harness h(Harness::options(state.path()));
  dispatch(h, {"invt-life"});
  REQUIRE(h.runner->submitted == std::vector<std::string>{"invt-life"});

  // The runner made the task directory; its supervisor runs.
  const auto p = state.task("invt-life");
  h.start_task("invt-life", {4242, 77});
  auto journal = ferry::agent::read_journal(p.dir);
  REQUIRE(journal);  // journaled before the start was reported
  CHECK(journal->supervisor == ferry::platform::ProcessIdentity{4242, 77});
  CHECK(journal->boot_id == "boot-now");
  CHECK(journal->start_acked);  // the fake server answered at once

  // Output written now goes out as a piece after the live-output interval, not before.
  std::ofstream(p.output_file) << "first\n";
  h.advance(milliseconds(900));
  CHECK(h.server->of("UploadTaskLog").empty());
  h.advance(milliseconds(100));
  auto pieces = h.server->of("UploadTaskLog");
  REQUIRE(pieces.size() == 1);
  CHECK(pieces[0].fields["Index"] == 0);
  CHECK(decoded(pieces[0].fields["Output"]) == "first\n");
  journal = ferry::agent::read_journal(p.dir);
  REQUIRE(journal);
  CHECK(journal->log_offset == 6);
  CHECK(journal->next_log_index == 1);
  CHECK_FALSE(journal->pending_piece);

  // Nothing new: no empty piece.
  h.advance(seconds(3));
  CHECK(h.server->of("UploadTaskLog").size() == 1);

  h.finish_task("invt-life", result_of("invt-life", TaskStatus::kSuccess, 0, "first\n"));
  const auto calls = h.server->for_task("invt-life");
  CHECK(actions(calls) ==
        std::vector<std::string>{"ReportTaskStart", "UploadTaskLog", "ReportTaskFinish"});
  CHECK(calls.back().fields["Result"] == "SUCCESS");
  CHECK(calls.back().fields["FinalLogIndex"] == 0);
  // Acknowledged: the directory (the journal entry) is gone.
  CHECK_FALSE(fs::exists(p.dir));
  CHECK(h.daemon->tasks_in_progress() == 0);
}

TEST_CASE("daemon: live output goes one piece at a time and stops at the server's 24 KiB") {
  StateDir state;
  Harness h(Harness::options(state.path()));
  dispatch(h, {"invt-chatty"});
  const auto p = state.task("invt-chatty");
  h.start_task("invt-chatty");
  std::ofstream(p.output_file) << std::string(10'000, 'a');
  h.server->fail_next["UploadTaskLog"] = 1;  // the first piece waits for its retry
  h.advance(milliseconds(1000));
  std::ofstream(p.output_file, std::ios::app) << std::string(20'000, 'b');
  h.advance(milliseconds(5000));
  const auto pieces = h.server->of("UploadTaskLog");
  REQUIRE(pieces.size() == 3);  // the first twice (a retry), then the rest up to the cap
  CHECK(pieces[0].fields == pieces[1].fields);
  CHECK(decoded(pieces[1].fields["Output"]) == std::string(10'000, 'a'));
  CHECK(pieces[2].fields["Index"] == 1);
  CHECK(decoded(pieces[2].fields["Output"]) == std::string(24 * 1024 - 10'000, 'b'));
  // Past the cap nothing more is sent live, however much the task writes.
  std::ofstream(p.output_file, std::ios::app) << "more\n";
  h.advance(milliseconds(5000));
  CHECK(h.server->of("UploadTaskLog").size() == 3);
}

TEST_CASE("daemon: a failed report is retried with capped exponential backoff, in order") {
  StateDir state;
  auto o = Harness::options(state.path());
  o.retry_min = milliseconds(400);
  o.retry_max = milliseconds(1000);
  Harness h(o);
  dispatch(h, {"invt-retry"});
  (void)state.task("invt-retry");
  h.server->fail_next["ReportTaskStart"] = 4;
  h.start_task("invt-retry");
  h.finish_task("invt-retry", result_of("invt-retry", TaskStatus::kFailed, 1, ""));
  REQUIRE(h.run_until([&] { return h.server->of("ReportTaskFinish").size() == 1; }));
  const auto calls = h.server->for_task("invt-retry");
  // The finish waits for the start: four failures, the fifth start, then the finish.
  REQUIRE(actions(calls) == std::vector<std::string>{"ReportTaskStart", "ReportTaskStart",
                                                     "ReportTaskStart", "ReportTaskStart",
                                                     "ReportTaskStart", "ReportTaskFinish"});
  // Delays within [d/2, d] for d = 400, 800, 1000 (capped), 1000 ms.
  const std::vector<std::pair<int, int>> bounds{{200, 400}, {400, 800}, {500, 1000}, {500, 1000}};
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    const auto gap =
        std::chrono::duration_cast<milliseconds>(calls[i + 1].at - calls[i].at).count();
    INFO("retry " << i + 1 << " after " << gap << " ms");
    CHECK(gap >= bounds[i].first);
    CHECK(gap <= bounds[i].second);
  }
  CHECK(calls[5].at == calls[4].at);  // the next report goes at once
}

TEST_CASE("daemon: a report whose answer never comes is sent again after the deadline") {
  StateDir state;
  auto o = Harness::options(state.path());
  o.report_answer_deadline = milliseconds(5000);
  Harness h(o);
  dispatch(h, {"invt-lost"});
  const auto p = state.task("invt-lost");
  h.start_task("invt-lost");
  // The soak's lost results: a finish sent, its answer never seen, the task held for good.
  h.server->drop_next["ReportTaskFinish"] = 1;
  h.finish_task("invt-lost", result_of("invt-lost", TaskStatus::kTimeout, -1, ""));
  REQUIRE(h.run_until([&] { return h.server->of("ReportTaskFinish").size() == 1; }));
  const auto first = h.server->of("ReportTaskFinish")[0].at;
  h.advance(o.report_answer_deadline - milliseconds(1));
  CHECK(h.server->of("ReportTaskFinish").size() == 1);
  REQUIRE(h.run_until([&] { return h.server->of("ReportTaskFinish").size() == 2; }));
  CHECK(h.server->of("ReportTaskFinish")[1].at - first >= o.report_answer_deadline);
  // Answered this time: the journal lets go of the task.
  REQUIRE(h.run_until([&] { return !fs::exists(p.dir); }));
}

TEST_CASE("daemon: the check for stranded results leaves a finish in flight alone") {
  StateDir state;
  auto o = Harness::options(state.path());
  o.report_answer_deadline = milliseconds(3'600'000);
  o.report_check_interval = milliseconds(1000);
  Harness h(o);
  dispatch(h, {"invt-slow"});
  (void)state.task("invt-slow");
  h.start_task("invt-slow");
  h.server->drop_next["ReportTaskFinish"] = 1;  // in flight for the whole test
  h.finish_task("invt-slow", result_of("invt-slow", TaskStatus::kSuccess, 0, ""));
  REQUIRE(h.run_until([&] { return h.server->of("ReportTaskFinish").size() == 1; }));
  h.advance(seconds(120));  // 120 checks
  CHECK(h.server->of("ReportTaskFinish").size() == 1);
}

TEST_CASE("daemon: a report refused for good is not sent again; the next one goes") {
  StateDir state;
  Harness h(Harness::options(state.path()));
  dispatch(h, {"invt-refused"});
  (void)state.task("invt-refused");
  h.server->errors_next["ReportTaskStart"] = {"InvalidParameterValue"};
  h.start_task("invt-refused");
  h.finish_task("invt-refused", result_of("invt-refused", TaskStatus::kSuccess, 0, ""));
  h.advance(seconds(5));
  CHECK(actions(h.server->for_task("invt-refused")) ==
        std::vector<std::string>{"ReportTaskStart", "ReportTaskFinish"});
}

TEST_CASE("daemon: the push socket reconnects with backoff and DescribeTasks polls meanwhile") {
  StateDir state;
  auto o = Harness::options(state.path());
  o.reconnect_min = milliseconds(1000);
  o.reconnect_max = milliseconds(4000);
  o.poll_interval = milliseconds(2000);
  Harness h(o);
  REQUIRE(h.server->push_connects.size() == 1);
  h.server->push.on_open();
  h.settle();
  const auto polls_before = h.server->of("DescribeTasks").size();

  // Up: no polling at all.
  h.advance(seconds(60));
  CHECK(h.server->of("DescribeTasks").size() == polls_before);

  // Down: reconnects after 0.5..1 s, then 1..2 s, 2..4 s, 2..4 s (capped).
  auto last = h.clock->now();
  h.server->push.on_closed("fake: reset", "");
  h.settle();
  const std::vector<std::pair<int, int>> delays{
      {500, 1000}, {1000, 2000}, {2000, 4000}, {2000, 4000}};
  for (std::size_t i = 0; i < delays.size(); ++i) {
    const std::size_t before = h.server->push_connects.size();
    REQUIRE(h.run_until([&] { return h.server->push_connects.size() > before; }, seconds(10)));
    const auto at = h.server->push_connects.back();
    const auto delay = std::chrono::duration_cast<milliseconds>(at - last).count();
    INFO("reconnect " << i + 1 << " after " << delay << " ms");
    CHECK(delay >= delays[i].first);
    CHECK(delay <= delays[i].second);
    last = h.clock->now();
    h.server->push.on_closed("fake: reset", "");
    h.settle();
  }
  // Polling while down: every 1.5..2.5 s.
  h.advance(seconds(10));
  const auto polls = h.server->of("DescribeTasks");
  REQUIRE(polls.size() >= polls_before + 4);
  for (std::size_t i = polls_before + 1; i < polls.size(); ++i) {
    const auto gap = std::chrono::duration_cast<milliseconds>(polls[i].at - polls[i - 1].at);
    CHECK(gap >= milliseconds(1500));
    CHECK(gap <= milliseconds(2500));
  }
  // Up again: a DescribeTasks at once (kicks sent meanwhile are not replayed), then no polling.
  h.server->push.on_open();
  h.settle();
  const auto up_polls = h.server->of("DescribeTasks").size();
  CHECK(up_polls == polls.size() + 1);
  h.advance(seconds(30));
  CHECK(h.server->of("DescribeTasks").size() == up_polls);
}

TEST_CASE("daemon: heartbeats follow the server's interval, sooner after a failure") {
  StateDir state;
  Harness h(Harness::options(state.path()));
  auto beats = h.server->of("Heartbeat");
  REQUIRE(beats.size() == 1);
  CHECK(beats[0].fields["Version"] == "9.9.9");
  CHECK(beats[0].fields["Environment"] == "Linux");
  CHECK(beats[0].fields["SupportFeatures"].size() == 6);
  // No interval in the reply: the default, 60 s.
  h.advance(seconds(59));
  CHECK(h.server->of("Heartbeat").size() == 1);
  h.server->answers["Heartbeat"] = json{{"HeartbeatInterval", 10}};
  h.advance(seconds(1));
  CHECK(h.server->of("Heartbeat").size() == 2);
  h.advance(seconds(10));
  CHECK(h.server->of("Heartbeat").size() == 3);
  // A failure: again within 30 s at the latest, although the default is 60.
  h.server->fail_next["Heartbeat"] = 1;
  h.advance(seconds(10));
  REQUIRE(h.server->of("Heartbeat").size() == 4);
  h.advance(seconds(30));
  CHECK(h.server->of("Heartbeat").size() == 5);
}

TEST_CASE("daemon: every heartbeat carries the machine's boot id, when it has one") {
  StateDir state;
  auto options = Harness::options(state.path());
  options.boot_id = "0f3c2a9e-5b1d-4c61-9f0e-2d7a8b6c4e11";
  Harness h(options);
  h.server->answers["Heartbeat"] = json{{"HeartbeatInterval", 10}};
  h.advance(seconds(60));  // the default interval, then the server's
  h.advance(seconds(10));
  const auto beats = h.server->of("Heartbeat");
  REQUIRE(beats.size() >= 2);
  for (const auto& beat : beats) {
    CHECK(beat.fields["BootId"] == "0f3c2a9e-5b1d-4c61-9f0e-2d7a8b6c4e11");
  }
  StateDir other;
  Harness without(Harness::options(other.path()));
  REQUIRE(without.server->of("Heartbeat").size() == 1);
  CHECK_FALSE(without.server->of("Heartbeat")[0].fields.contains("BootId"));
}

TEST_CASE("daemon: a signature too old is signed again with the server's clock, at once") {
  StateDir state;
  Harness h(Harness::options(state.path()));
  const auto before = h.server->of("DescribeTasks").size();
  h.server->errors_next["DescribeTasks"] = {"AuthFailure.SignatureExpire"};
  h.push(R"({"Type":"kick","Seq":2})");
  CHECK(h.server->of("DescribeTasks").size() == before + 2);
  REQUIRE(h.server->clock_offset);
  // The fake server's time is 100 s ahead of the fake wall clock at its start.
  CHECK(*h.server->clock_offset == 100);
}

TEST_CASE("daemon: cancels reach running tasks; one never received is CANCELLED") {
  StateDir state;
  Harness h(Harness::options(state.path()));
  dispatch(h, {"invt-run"});
  (void)state.task("invt-run");
  h.start_task("invt-run");
  h.server->describe_reply =
      json{{"InvocationCancelTaskSet",
            {{{"InvocationTaskId", "invt-run"}}, {{"InvocationTaskId", "invt-never"}}}}};
  h.push(R"({"Type":"cancel","Seq":3})");
  CHECK(h.runner->cancels == std::vector<std::string>{"invt-run"});
  const auto never = h.server->for_task("invt-never");
  REQUIRE(actions(never) == std::vector<std::string>{"ReportTaskFinish"});
  CHECK(never[0].fields["Result"] == "CANCELLED");
  CHECK(never[0].fields["FinalLogIndex"] == -1);
  // A second cancel of the same task is not sent again.
  h.server->describe_reply =
      json{{"InvocationCancelTaskSet", {{{"InvocationTaskId", "invt-run"}}}}};
  h.push(R"({"Type":"cancel","Seq":4})");
  CHECK(h.runner->cancels.size() == 1);
}

TEST_CASE("daemon: a start the server answers with CANCELLING stops the task") {
  StateDir state;
  Harness h(Harness::options(state.path()));
  dispatch(h, {"invt-late"});
  (void)state.task("invt-late");
  h.server->answers["ReportTaskStart"] = json{{"TaskStatus", "CANCELLING"}};
  h.start_task("invt-late");
  CHECK(h.runner->cancels == std::vector<std::string>{"invt-late"});
}

TEST_CASE("daemon: a task is run once, whatever the listings and the directories on disk") {
  StateDir state;
  Harness h(Harness::options(state.path()));
  (void)state.task("invt-earlier");  // a directory of a task this agent does not hold
  dispatch(h, {"invt-once", "invt-once", "invt-earlier"});
  dispatch(h, {"invt-once"});
  CHECK(h.runner->submitted == std::vector<std::string>{"invt-once"});
  // Not held, so not cancelled either: nothing is reported for it.
  h.server->describe_reply =
      json{{"InvocationCancelTaskSet", {{{"InvocationTaskId", "invt-earlier"}}}}};
  h.push(R"({"Type":"cancel","Seq":8})");
  CHECK(h.server->for_task("invt-earlier").empty());
  CHECK(h.runner->cancels.empty());
}

TEST_CASE("daemon: a task it cannot read, or over the journal's cap, is refused START_FAILED") {
  StateDir state;
  auto o = Harness::options(state.path());
  o.journal_max_tasks = 1;
  Harness h(o);
  json bad = listed_task("invt-bad");
  bad["Timeout"] = "soon";
  h.server->describe_reply = json{{"InvocationNormalTaskSet", {listed_task("invt-first"), bad}}};
  h.push(R"({"Type":"kick","Seq":5})");
  const auto refused = h.server->for_task("invt-bad");
  REQUIRE(actions(refused) == std::vector<std::string>{"ReportTaskFinish"});
  CHECK(refused[0].fields["Result"] == "START_FAILED");
  CHECK(refused[0].fields["ErrorInfo"].get<std::string>().starts_with("InvalidParameter"));
  // invt-first is held, so the cap of one task refuses the next.
  dispatch(h, {"invt-second"});
  const auto second = h.server->for_task("invt-second");
  REQUIRE(actions(second) == std::vector<std::string>{"ReportTaskFinish"});
  CHECK(second[0].fields["ErrorInfo"].get<std::string>().find("journal is at its cap") !=
        std::string::npos);
  CHECK(h.runner->submitted == std::vector<std::string>{"invt-first"});
}

TEST_CASE("daemon: DescribeTasks again after HasMore, and after a kick while one was in flight") {
  StateDir state;
  Harness h(Harness::options(state.path()), /*hold_describe=*/true);
  REQUIRE(h.server->held.size() == 1);
  h.push(R"({"Type":"kick","Seq":6})");  // while the first is unanswered
  CHECK(h.server->of("DescribeTasks").size() == 1);
  auto reply = std::move(h.server->held.front());
  h.server->held.clear();
  reply();
  h.settle();
  CHECK(h.server->of("DescribeTasks").size() == 2);
  h.server->describe_reply = json{{"HasMore", true}};
  reply = std::move(h.server->held.front());
  h.server->held.clear();
  reply();
  h.settle();
  CHECK(h.server->of("DescribeTasks").size() == 3);
}

TEST_CASE("daemon: stop sends what is pending within shutdown_flush and leaves tasks running") {
  StateDir state;
  auto o = Harness::options(state.path());
  o.shutdown_flush = milliseconds(3000);
  Harness h(o);
  dispatch(h, {"invt-stay", "invt-done"});
  (void)state.task("invt-stay");
  (void)state.task("invt-done");
  h.start_task("invt-stay");
  h.start_task("invt-done");
  h.server->fail_next["ReportTaskFinish"] = 1000;  // the server stays away
  h.finish_task("invt-done", result_of("invt-done", TaskStatus::kSuccess, 0, ""));
  h.daemon->stop();
  h.settle();
  CHECK_FALSE(h.stopped);
  CHECK(h.server->push_closes == 1);
  h.advance(milliseconds(2900));
  CHECK_FALSE(h.stopped);
  h.advance(milliseconds(100));
  CHECK(h.stopped);
  CHECK(h.server->shutdowns == 1);
  CHECK(h.runner->detached);
  CHECK(h.runner->cancels.empty());  // running tasks stay with their supervisors
  // Nothing more goes out after the stop.
  const auto sent = h.server->calls.size();
  h.advance(seconds(120));
  CHECK(h.server->calls.size() == sent);
}

TEST_CASE("daemon: with nothing pending, stop is immediate") {
  StateDir state;
  Harness h(Harness::options(state.path()));
  h.daemon->stop();
  h.settle();
  CHECK(h.stopped);
  CHECK(h.daemon->exit_code() == 0);
  // It told the server, which shows the instance Offline at once.
  CHECK(h.server->of("ReportAgentStop").size() == 1);
}

TEST_CASE("daemon: a stop report that fails is not sent again") {
  StateDir state;
  Harness h(Harness::options(state.path()));
  h.server->fail_next["ReportAgentStop"] = 1000;  // the server is unreachable
  h.daemon->stop();
  h.settle();
  CHECK(h.stopped);
  h.advance(seconds(60));
  CHECK(h.server->of("ReportAgentStop").size() == 1);
}

TEST_CASE("daemon: a daemon stopped by a fatal answer sends no stop report") {
  StateDir state;
  Harness h(Harness::options(state.path()));
  h.server->errors_next["DescribeTasks"] = {"AuthFailure.InstanceNotFound"};
  h.push(R"({"Type":"kick","Seq":7})");
  CHECK(h.stopped);
  CHECK(h.server->of("ReportAgentStop").empty());
}

TEST_CASE("daemon: a deleted instance stops the daemon with an error") {
  StateDir state;
  Harness h(Harness::options(state.path()));
  h.server->errors_next["DescribeTasks"] = {"AuthFailure.InstanceNotFound"};
  h.push(R"({"Type":"kick","Seq":7})");
  CHECK(h.stopped);
  CHECK(h.daemon->exit_code() == 2);
}
