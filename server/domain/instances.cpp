#include "ferry/server/domain/instances.hpp"

#include <algorithm>

#include "ferry/core/error_codes.hpp"
#include "ferry/server/domain/text.hpp"
#include "ferry/server/domain/value_rules.hpp"
#include "ferry/server/task_state.hpp"

namespace ferry::server::domain {
namespace {

bool admits(const std::vector<std::string>& values, std::string_view v) {
  return values.empty() || std::find(values.begin(), values.end(), v) != values.end();
}

}  // namespace

std::string_view presence_name(bool online) {
  return online ? "Online" : "Offline";
}

std::string environment_of(const RegisterInstance& inst) {
  return inst.environment.empty() ? inst.system_name : inst.environment;
}

Expected<Page<InstanceView>> describe_instances(ServerContext& ctx, const InstanceListing& l) {
  const auto online = [&ctx](const RegisterInstance& inst) {
    return ctx.presence.is_online(inst.instance_id);
  };
  Page<InstanceView> out;
  if (l.presence.empty() && l.environments.empty()) {
    auto page = ctx.store.list_instances(l.query);
    if (!page) {
      return page.error();
    }
    out.total = page->total;
    for (auto& inst : page->items) {
      const bool is_online = online(inst);
      out.items.push_back(InstanceView{std::move(inst), is_online});
    }
    return out;
  }
  RegisterInstanceQuery q = l.query;
  q.offset = 0;
  q.limit = kListAllPage;
  for (;;) {
    auto page = ctx.store.list_instances(q);
    if (!page) {
      return page.error();
    }
    for (auto& inst : page->items) {
      // Presence is asked once per instance, and only where it decides something.
      std::optional<bool> is_online;
      if (!l.presence.empty()) {
        is_online = online(inst);
        if (!admits(l.presence, presence_name(*is_online))) {
          continue;
        }
      }
      if (!admits(l.environments, environment_of(inst))) {
        continue;
      }
      if (out.total >= l.query.offset && out.total < l.query.offset + l.query.limit) {
        const bool shown_online = is_online ? *is_online : online(inst);
        out.items.push_back(InstanceView{std::move(inst), shown_online});
      }
      ++out.total;
    }
    const auto n = static_cast<int64_t>(page->items.size());
    q.offset += n;
    if (n < q.limit || q.offset >= page->total) {
      return out;
    }
  }
}

Expected<std::map<std::string, RegisterInstance>> registered_instances(
    Store& store, const std::vector<std::string>& ids) {
  std::map<std::string, RegisterInstance> out;
  if (ids.empty()) {
    return out;
  }
  RegisterInstanceQuery q;
  q.instance_ids = ids;
  q.limit = static_cast<int64_t>(ids.size());
  auto page = store.list_instances(q);
  if (!page) {
    return page.error();
  }
  for (auto& i : page->items) {
    std::string id = i.instance_id;
    out.emplace(std::move(id), std::move(i));
  }
  return out;
}

Status require_registered_instances(Store& store, const std::vector<std::string>& ids) {
  auto found = registered_instances(store, ids);
  if (!found) {
    return found.error();
  }
  for (const auto& id : ids) {
    if (!found->contains(id)) {
      return Error{codes::kInstanceNotFound,
                   "InstanceIds: " + id + " is not a registered instance"};
    }
  }
  return {};
}

Status rename_instance(ServerContext& ctx, const std::string& id, const std::string& name) {
  if (auto s = validate_instance_ids({id}, 1); !s) {
    return s;
  }
  const std::size_t length = utf8_length(name);
  if (length < 1 || length > kMaxInstanceName || has_control(name)) {
    return Error{codes::kInvalidParameterValue,
                 "InstanceName: 1 to 60 characters without control characters"};
  }
  return ctx.store.rename_instance(id, name, ctx.clock.now_ms());
}

Expected<std::vector<Tag>> modify_instance_tags(
    ServerContext& ctx, const std::string& id,
    const std::function<Status(std::vector<Tag>&)>& mutate, std::size_t max_tags) {
  if (auto s = validate_instance_ids({id}, 1); !s) {
    return s.error();
  }
  return ctx.store.modify_instance_tags(
      id,
      [&](std::vector<Tag>& tags) -> Status {
        if (auto s = mutate(tags); !s) {
          return s;
        }
        return validate_tags(tags, max_tags);
      },
      ctx.clock.now_ms());
}

namespace {

Status end_tasks_of_deleted_instance(ServerContext& ctx, const std::string& id) {
  // No agent can report on these any more (its key is revoked): they end now instead of waiting
  // for the sweeper's timeouts. Not yet started: DELIVER_FAILED; started: TERMINATED, since
  // whatever still runs there reports to no one.
  TaskQuery q;
  q.instance_ids = {id};
  q.statuses = {TaskStatus::kPending, TaskStatus::kDeliverDelayed, TaskStatus::kDelivering,
                TaskStatus::kRunning, TaskStatus::kCancelling};
  q.with_output = false;
  q.limit = 100;
  auto tasks = list_all_tasks(ctx.store, q);
  if (!tasks) {
    return tasks.error();
  }
  const int64_t now = ctx.clock.now_ms();
  for (const auto& t : *tasks) {
    auto moved = ctx.store.modify_task(t.invocation_task_id, [&](InvocationTask& cur) {
      const bool started =
          cur.status == TaskStatus::kRunning || cur.status == TaskStatus::kCancelling;
      const TaskStatus to = started ? TaskStatus::kTerminated : TaskStatus::kDeliverFailed;
      if (!can_transition(cur.status, to)) {
        return false;  // ended meanwhile
      }
      cur.status = to;
      cur.updated_ms = now;
      cur.end_ms = now;
      cur.error_info = "the instance was deleted";
      return true;
    });
    if (!moved) {
      return moved.error();
    }
  }
  return {};
}

}  // namespace

Status delete_instance(ServerContext& ctx, const std::string& id) {
  if (auto s = validate_instance_ids({id}, 1); !s) {
    return s;
  }
  if (auto s = ctx.store.delete_instance(id); !s) {
    return s;
  }
  // The key is gone from the store; the live connection it opened must not outlast it.
  ctx.presence.disconnect(id);
  return end_tasks_of_deleted_instance(ctx, id);
}

}  // namespace ferry::server::domain
