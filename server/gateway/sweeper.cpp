#include "ferry/server/gateway/sweeper.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ferry/server/task_state.hpp"

namespace ferry::server {
namespace {

// When an unfinished, handed-over task is overdue: its own Timeout plus the grace, counted from
// the latest of the hand-over and the start report (a task may wait in the agent's queue).
int64_t run_deadline_ms(const InvocationTask& t, int64_t grace_ms) {
  int64_t base = std::max(t.delivered_ms, t.start_ms);
  if (base == 0) {
    base = t.created_ms;
  }
  return base + std::max<int64_t>(t.document.timeout, 0) * 1000 + grace_ms;
}

}  // namespace

Sweeper::Sweeper(Store& store, const Clock& clock, AgentPresence& presence, AgentNotifier& notifier,
                 SweeperOptions options)
    : store_(store), clock_(clock), presence_(presence), notifier_(notifier), options_(options) {}

Sweeper::~Sweeper() {
  stop();
}

void Sweeper::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable() || stopping_) {
    return;
  }
  thread_ = std::thread([this] { run(); });
}

void Sweeper::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
    thread_.join();
  }
}

void Sweeper::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    try {
      if (auto counts = sweep_once(); !counts) {
        spdlog::warn("sweeper: pass failed: {}", counts.error().message);
      }
    } catch (const std::exception& e) {
      // One bad pass (out of memory, say) must not end the sweeping for good.
      spdlog::error("sweeper: pass failed: {}", e.what());
    }
    lock.lock();
    wake_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(options_.interval_ms, 1)),
                   [this] { return stopping_; });
  }
}

Expected<SweepCounts> Sweeper::sweep_once() {
  const int64_t now = clock_.now_ms();
  // Collected first, then changed: changing statuses while paging with an offset would shift
  // the pages under the reader.
  TaskQuery q;
  q.statuses = {TaskStatus::kPending, TaskStatus::kDeliverDelayed, TaskStatus::kDelivering,
                TaskStatus::kRunning, TaskStatus::kCancelling};
  q.with_output = false;
  q.limit = std::max<int64_t>(options_.page_size, 1);
  std::vector<InvocationTask> tasks;
  for (;;) {
    auto page = store_.list_tasks(q);
    if (!page) {
      return page.error();
    }
    const auto n = static_cast<int64_t>(page->items.size());
    std::move(page->items.begin(), page->items.end(), std::back_inserter(tasks));
    q.offset += n;
    if (n < q.limit || q.offset >= page->total) {
      break;
    }
  }

  std::map<std::string, bool> online;  // one presence look-up per instance per pass
  const auto is_online = [&](const std::string& id) {
    auto it = online.find(id);
    if (it == online.end()) {
      it = online.emplace(id, presence_.is_online(id)).first;
    }
    return it->second;
  };

  SweepCounts counts;
  for (const auto& t : tasks) {
    const bool delivery_expired = now >= t.created_ms + options_.deliver_timeout_ms;
    const bool run_expired = now >= run_deadline_ms(t, options_.task_timeout_grace_ms);
    std::optional<TaskStatus> target;
    const char* why = "";
    switch (t.status) {
      case TaskStatus::kPending:
        if (delivery_expired) {
          target = TaskStatus::kDeliverFailed;
          why = "not picked up within the delivery timeout";
        } else if (!is_online(t.instance_id)) {
          target = TaskStatus::kDeliverDelayed;
          why = "agent offline";
        }
        break;
      case TaskStatus::kDeliverDelayed:
        if (delivery_expired) {
          target = TaskStatus::kDeliverFailed;
          why = "not picked up within the delivery timeout";
        } else if (is_online(t.instance_id)) {
          target = TaskStatus::kPending;
          why = "agent back online";
        }
        break;
      case TaskStatus::kDelivering:
        // task_state does not let an unconfirmed hand-over time out as TASK_TIMEOUT: a task
        // whose start was never reported was, as far as anyone knows, never delivered.
        if (run_expired) {
          target = TaskStatus::kDeliverFailed;
          why = "no start report within Timeout + grace";
        } else if (!is_online(t.instance_id)) {
          target = TaskStatus::kDeliverDelayed;
          why = "agent offline";
        }
        break;
      case TaskStatus::kRunning:
      case TaskStatus::kCancelling:
        if (run_expired) {
          target = TaskStatus::kTaskTimeout;
          why = "no final report within Timeout + grace";
        }
        break;
      default:
        break;
    }
    if (!target) {
      continue;
    }
    const TaskStatus from = t.status;
    const TaskStatus to = *target;
    bool changed = false;
    auto updated = store_.modify_task(t.invocation_task_id, [&](InvocationTask& cur) {
      // Moved by someone else since it was listed: the next pass looks again.
      if (cur.status != from || !can_transition(from, to)) {
        return false;
      }
      cur.status = to;
      cur.updated_ms = now;
      if (is_final(to)) {
        cur.end_ms = now;
        if (cur.error_info.empty()) {
          cur.error_info = why;
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
                 to_string(from), to_string(to), why, t.instance_id);
    switch (to) {
      case TaskStatus::kDeliverDelayed:
        ++counts.delayed;
        break;
      case TaskStatus::kPending:
        ++counts.resumed;
        notifier_.task_ready(t.instance_id, t.invocation_task_id);
        break;
      case TaskStatus::kDeliverFailed:
        ++counts.deliver_failed;
        break;
      case TaskStatus::kTaskTimeout:
        ++counts.timed_out;
        break;
      default:
        break;
    }
  }
  return counts;
}

}  // namespace ferry::server
