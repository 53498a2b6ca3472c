#include "ferry/server/domain/invocation_listings.hpp"

#include <algorithm>
#include <map>

#include "ferry/server/domain/value_rules.hpp"
#include "ferry/server/task_state.hpp"

namespace ferry::server::domain {
namespace {

Status check_listed_ids(const std::vector<std::string>& ids, std::string_view prefix,
                        const char* code, std::string_view field) {
  if (auto s = validate_id_count(ids, field); !s) {
    return s;
  }
  return validate_ids(ids, prefix, code, field);
}

InvocationSummary summarize(Invocation inv, std::vector<InvocationTask> tasks) {
  // Tasks in a stable order (the store lists newest first, and siblings share a time).
  std::sort(tasks.begin(), tasks.end(), [](const InvocationTask& a, const InvocationTask& b) {
    return a.instance_id < b.instance_id;
  });
  InvocationSummary s;
  std::vector<TaskStatus> statuses;
  int64_t end = 0;
  bool all_final = !tasks.empty();
  s.updated_ms = inv.updated_ms;
  for (const auto& t : tasks) {
    statuses.push_back(t.status);
    if (t.start_ms != 0 && (s.start_ms == 0 || t.start_ms < s.start_ms)) {
      s.start_ms = t.start_ms;
    }
    end = std::max(end, t.end_ms);
    s.updated_ms = std::max(s.updated_ms, t.updated_ms);
    all_final = all_final && is_final(t.status);
  }
  s.status = aggregate_invocation_status(statuses);
  s.end_ms = all_final ? end : 0;
  s.invocation = std::move(inv);
  s.tasks = std::move(tasks);
  return s;
}

}  // namespace

Status check_invocation_ids(const std::vector<std::string>& ids) {
  return check_listed_ids(ids, "inv-", "InvalidParameterValue.InvalidInvocationId",
                          "InvocationIds");
}

Status check_task_ids(const std::vector<std::string>& ids) {
  return check_listed_ids(ids, "invt-", "InvalidParameterValue.InvalidInvocationTaskId",
                          "InvocationTaskIds");
}

Expected<std::vector<InvocationTask>> invocation_tasks(Store& store,
                                                       const std::vector<std::string>& ids) {
  if (ids.empty()) {
    return std::vector<InvocationTask>{};
  }
  TaskQuery q;
  q.invocation_ids = ids;
  q.limit = kListAllPage;
  q.with_output = false;
  return list_all_tasks(store, std::move(q));
}

Expected<Page<InvocationSummary>> describe_invocations(ServerContext& ctx,
                                                       const InvocationQuery& query) {
  auto page = ctx.store.list_invocations(query);
  if (!page) {
    return page.error();
  }
  std::vector<std::string> page_ids;
  for (const auto& inv : page->items) {
    page_ids.push_back(inv.invocation_id);
  }
  auto tasks = invocation_tasks(ctx.store, page_ids);
  if (!tasks) {
    return tasks.error();
  }
  std::map<std::string, std::vector<InvocationTask>> by_invocation;
  for (auto& t : *tasks) {
    by_invocation[t.invocation_id].push_back(std::move(t));
  }
  Page<InvocationSummary> out;
  out.total = page->total;
  out.items.reserve(page->items.size());
  for (auto& inv : page->items) {
    auto own = std::move(by_invocation[inv.invocation_id]);
    out.items.push_back(summarize(std::move(inv), std::move(own)));
  }
  return out;
}

Expected<Page<TaskView>> describe_tasks(ServerContext& ctx, const TaskQuery& query) {
  auto page = ctx.store.list_tasks(query);
  if (!page) {
    return page.error();
  }
  Page<TaskView> out;
  out.total = page->total;
  out.items.reserve(page->items.size());
  for (auto& t : page->items) {
    TaskView view{std::move(t), std::nullopt};
    // A running task has no result yet: what its agent streamed stands in.
    if (query.with_output && !is_final(view.task.status) && view.task.output.empty()) {
      auto log = ctx.store.task_log(view.task.invocation_task_id);
      if (!log) {
        return log.error();
      }
      if (!log->empty()) {
        view.live_log = std::move(*log);
      }
    }
    out.items.push_back(std::move(view));
  }
  return out;
}

}  // namespace ferry::server::domain
