// The task state rules: which status may follow which, the aggregate of an invocation, and the
// moves the agents' reports and the users' cancels make.
#include "ferry/server/task_state.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <vector>

using namespace ferry;
using namespace ferry::server;
using S = TaskStatus;

namespace {

const std::vector<S> kAll = {S::kPending,     S::kDeliverDelayed, S::kDelivering,    S::kRunning,
                             S::kCancelling,  S::kSuccess,        S::kFailed,        S::kTimeout,
                             S::kTaskTimeout, S::kStartFailed,    S::kDeliverFailed, S::kCancelled,
                             S::kTerminated};

}  // namespace

TEST_CASE("final statuses, agent results and the moves between statuses", "[task_state]") {
  const std::vector<S> final_ones = {S::kSuccess,     S::kFailed,      S::kTimeout,
                                     S::kTaskTimeout, S::kStartFailed, S::kDeliverFailed,
                                     S::kCancelled,   S::kTerminated};
  const std::vector<S> agent_results = {S::kSuccess,    S::kFailed,      S::kTimeout,
                                        S::kTerminated, S::kStartFailed, S::kCancelled};
  const auto in = [](const std::vector<S>& set, S s) {
    return std::find(set.begin(), set.end(), s) != set.end();
  };
  for (S from : kAll) {
    INFO(to_string(from));
    CHECK(is_final(from) == in(final_ones, from));
    CHECK(is_agent_result(from) == in(agent_results, from));
    CHECK_FALSE(can_transition(from, from));
    for (S to : kAll) {
      if (is_final(from)) {
        CHECK_FALSE(can_transition(from, to));  // nothing leaves a final status
      }
    }
  }
  CHECK(can_transition(S::kPending, S::kDelivering));
  CHECK(can_transition(S::kDeliverDelayed, S::kPending));
  CHECK(can_transition(S::kDelivering, S::kSuccess));  // finished before its start report
  CHECK(can_transition(S::kRunning, S::kTaskTimeout));
  CHECK_FALSE(can_transition(S::kRunning, S::kCancelled));  // a started task ends TERMINATED
  CHECK_FALSE(can_transition(S::kRunning, S::kPending));
  CHECK(can_transition(S::kCancelling, S::kSuccess));  // it ended on its own first
  CHECK_FALSE(can_transition(S::kPending, S::kRunning));
}

TEST_CASE("an invocation's status is aggregated from its tasks", "[task_state]") {
  CHECK(aggregate_invocation_status({}) == "PENDING");
  CHECK(aggregate_invocation_status({S::kPending, S::kDelivering}) == "PENDING");
  CHECK(aggregate_invocation_status({S::kRunning, S::kSuccess}) == "RUNNING");
  CHECK(aggregate_invocation_status({S::kCancelling, S::kRunning}) == "CANCELLING");
  CHECK(aggregate_invocation_status({S::kSuccess, S::kSuccess}) == "SUCCESS");
  CHECK(aggregate_invocation_status({S::kCancelled, S::kTerminated}) == "CANCELLED");
  CHECK(aggregate_invocation_status({S::kTimeout, S::kTaskTimeout}) == "TIMEOUT");
  CHECK(aggregate_invocation_status({S::kFailed, S::kTimeout}) == "FAILED");
  CHECK(aggregate_invocation_status({S::kSuccess, S::kCancelled}) == "PARTIAL_CANCELLED");
  CHECK(aggregate_invocation_status({S::kFailed, S::kCancelled}) == "PARTIAL_CANCELLED");
  CHECK(aggregate_invocation_status({S::kSuccess, S::kFailed}) == "PARTIAL_FAILED");
}

TEST_CASE("advance_task goes through DELIVERING for undelivered tasks", "[task_state]") {
  InvocationTask t;
  t.status = TaskStatus::kPending;
  CHECK(advance_task(t, TaskStatus::kRunning));
  CHECK(t.status == TaskStatus::kRunning);
  CHECK_FALSE(advance_task(t, TaskStatus::kPending));
  t.status = TaskStatus::kSuccess;
  CHECK_FALSE(advance_task(t, TaskStatus::kFailed));
  CHECK(t.status == TaskStatus::kSuccess);
  t.status = TaskStatus::kDeliverDelayed;
  CHECK(advance_task(t, TaskStatus::kSuccess));
}

TEST_CASE("a cancel moves each task by its status", "[task_state]") {
  struct Case {
    S from;
    S to;
    bool changed;
    bool live;
    bool notify;
  };
  const Case cases[] = {
      {S::kPending, S::kCancelled, true, true, false},
      {S::kDeliverDelayed, S::kCancelled, true, true, false},
      {S::kDelivering, S::kCancelling, true, true, true},
      {S::kRunning, S::kCancelling, true, true, true},
      {S::kCancelling, S::kCancelling, false, true, true},  // told again
      {S::kSuccess, S::kSuccess, false, false, false},
      {S::kTerminated, S::kTerminated, false, false, false},
  };
  for (const Case& c : cases) {
    INFO(to_string(c.from));
    InvocationTask t;
    t.status = c.from;
    const CancelMove move = cancel_task(t, 42);
    CHECK(t.status == c.to);
    CHECK(move.changed == c.changed);
    CHECK(move.live == c.live);
    CHECK(move.notify == c.notify);
    CHECK(t.cancel_requested == c.changed);
    CHECK(t.updated_ms == (c.changed ? 42 : 0));
    CHECK(t.end_ms == (c.to == S::kCancelled ? 42 : 0));
  }
}
