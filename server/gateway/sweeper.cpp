#include "ferry/server/gateway/sweeper.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "ferry/server/task_state.hpp"

namespace ferry::server {
namespace {

using Socket = AgentWhereabouts::Socket;

// When an unfinished, handed-over task is overdue: its own Timeout plus the grace, counted from
// the latest of the hand-over and the start report (a task may wait in the agent's queue).
int64_t run_deadline_ms(const InvocationTask& t, int64_t grace_ms) {
  int64_t base = std::max(t.delivered_ms, t.start_ms);
  if (base == 0) {
    base = t.created_ms;
  }
  return base + std::max<int64_t>(t.document.timeout, 0) * 1000 + grace_ms;
}

bool needs_presence(TaskStatus s) {
  return s == TaskStatus::kPending || s == TaskStatus::kDeliverDelayed ||
         s == TaskStatus::kDelivering;
}

struct Move {
  TaskStatus to;
  const char* why;
  std::size_t SweepCounts::*count;  // the counter of this move
};

// The rule of docs/protocol.md's table that applies to `t` now, if any.
std::optional<Move> rule_for(const InvocationTask& t, const AgentWhereabouts& where, int64_t now,
                             const SweeperOptions& o) {
  const bool delivery_expired = now >= t.created_ms + o.deliver_timeout_ms;
  const bool run_expired = now >= run_deadline_ms(t, o.task_timeout_grace_ms);
  switch (t.status) {
    case TaskStatus::kPending:
    case TaskStatus::kDeliverDelayed:
      if (delivery_expired) {
        return Move{TaskStatus::kDeliverFailed, "not picked up within the delivery timeout",
                    &SweepCounts::deliver_failed};
      }
      if (t.status == TaskStatus::kPending && !where.online) {
        return Move{TaskStatus::kDeliverDelayed, "agent offline", &SweepCounts::delayed};
      }
      // Back online: resumed where a kick can reach it (see the header).
      if (t.status == TaskStatus::kDeliverDelayed && where.online &&
          where.socket != Socket::kElsewhere) {
        return Move{TaskStatus::kPending, "agent back online", &SweepCounts::resumed};
      }
      return std::nullopt;
    case TaskStatus::kDelivering:
      // task_state does not let an unconfirmed hand-over time out as TASK_TIMEOUT: a task
      // whose start was never reported was, as far as anyone knows, never delivered.
      if (run_expired) {
        return Move{TaskStatus::kDeliverFailed, "no start report within Timeout + grace",
                    &SweepCounts::deliver_failed};
      }
      if (!where.online) {
        return Move{TaskStatus::kDeliverDelayed, "agent offline", &SweepCounts::delayed};
      }
      return std::nullopt;
    case TaskStatus::kRunning:
    case TaskStatus::kCancelling:
      if (run_expired) {
        return Move{TaskStatus::kTaskTimeout, "no final report within Timeout + grace",
                    &SweepCounts::timed_out};
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

}  // namespace

Sweeper::Sweeper(Store& store, const Clock& clock, AgentLocator& locator, AgentNotifier& notifier,
                 SweeperOptions options)
    : store_(store),
      clock_(clock),
      locator_(locator),
      notifier_(notifier),
      options_(options),
      thread_("sweeper", std::chrono::milliseconds(options.interval_ms), [this]() -> Status {
        auto counts = sweep_once();
        return counts ? Status{} : counts.error();
      }) {}

Sweeper::~Sweeper() {
  stop();
}

void Sweeper::start() {
  thread_.start();
}

void Sweeper::stop() {
  thread_.stop();
}

Expected<SweepCounts> Sweeper::sweep_once() {
  std::lock_guard pass_lock(pass_mutex_);
  const int64_t now = clock_.now_ms();
  // Collected first, then changed: changing statuses while paging with an offset would shift
  // the pages under the reader.
  TaskQuery q;
  q.statuses = {TaskStatus::kPending, TaskStatus::kDeliverDelayed, TaskStatus::kDelivering,
                TaskStatus::kRunning, TaskStatus::kCancelling};
  q.with_output = false;
  q.limit = options_.page_size;
  auto tasks = list_all_tasks(store_, q);
  if (!tasks) {
    return tasks.error();
  }

  // One read of presence per pass, for the agents a rule asks about.
  std::vector<std::string> instances;
  for (const auto& t : *tasks) {
    if (needs_presence(t.status)) {
      instances.push_back(t.instance_id);
    }
  }
  std::sort(instances.begin(), instances.end());
  instances.erase(std::unique(instances.begin(), instances.end()), instances.end());
  std::unordered_map<std::string, AgentWhereabouts> located;
  if (!instances.empty()) {
    auto found = locator_.locate(instances);
    if (!found) {
      return found.error();
    }
    located = std::move(*found);
  }
  const auto where = [&](const std::string& id) {
    auto it = located.find(id);
    return it == located.end() ? AgentWhereabouts{} : it->second;
  };

  SweepCounts counts;
  std::set<std::string> waiting;
  std::set<std::string> kicked;
  const auto kick = [&](const InvocationTask& t) {
    notifier_.task_ready(t.instance_id, t.invocation_task_id);
    kicked.insert(t.invocation_task_id);
    ++counts.kicked;
  };
  for (const auto& t : *tasks) {
    const AgentWhereabouts w = where(t.instance_id);
    const auto move = rule_for(t, w, now, options_);
    if (!move) {
      if (t.status == TaskStatus::kPending && w.socket == Socket::kHere) {
        const std::string& id = t.invocation_task_id;
        if (kicked_.contains(id)) {
          kicked.insert(id);
        } else if (waiting_.contains(id)) {
          spdlog::debug("sweeper: task {} still PENDING; kicking {}", id, t.instance_id);
          kick(t);
        } else {
          waiting.insert(id);
        }
      }
      continue;
    }
    const TaskStatus from = t.status;
    bool changed = false;
    auto updated = store_.modify_task(t.invocation_task_id, [&](InvocationTask& cur) {
      // Moved by someone else since it was listed: the next pass looks again.
      if (cur.status != from || !can_transition(from, move->to)) {
        return false;
      }
      cur.status = move->to;
      cur.updated_ms = now;
      if (is_final(move->to)) {
        cur.end_ms = now;
        if (cur.error_info.empty()) {
          cur.error_info = move->why;
        }
      }
      changed = true;
      return true;
    });
    if (!updated) {
      return updated.error();
    }
    if (!changed) {
      continue;
    }
    spdlog::info("sweeper: task {} {} -> {} ({}, instance {})", t.invocation_task_id,
                 to_string(from), to_string(move->to), move->why, t.instance_id);
    ++(counts.*(move->count));
    if (move->to == TaskStatus::kPending && w.socket == Socket::kHere) {
      kick(t);
    }
  }
  waiting_ = std::move(waiting);
  kicked_ = std::move(kicked);
  return counts;
}

}  // namespace ferry::server
