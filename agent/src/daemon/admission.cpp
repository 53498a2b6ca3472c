#include "admission.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <optional>

#include "ferry/agent/agent_paths.hpp"
#include "ferry/agent/audit_log.hpp"
#include "ferry/agent/local_policy.hpp"
#include "ferry/agent/task_files.hpp"

namespace ferry::agent {
namespace {

// The task id of a listed task or cancel, when it has one.
std::optional<std::string> listed_id(const nlohmann::json& listed) {
  if (!listed.is_object()) {
    return std::nullopt;
  }
  const auto it = listed.find("InvocationTaskId");
  if (it == listed.end() || !it->is_string()) {
    return std::nullopt;
  }
  return it->get<std::string>();
}

}  // namespace

Admission::Admission(DaemonContext& context, HeldTasks& tasks, Retention& retention)
    : ctx_(context), tasks_(tasks), retention_(retention) {}

void Admission::describe() {
  if (!ctx_.running()) {
    return;
  }
  if (in_flight_) {
    again_ = true;
    return;
  }
  in_flight_ = true;
  again_ = false;
  forgotten_in_flight_.clear();
  ctx_.server.call("DescribeTasks", nlohmann::json::object(),
                   ctx_.guard([this](CallResult r) { described(r); }));
}

void Admission::note_forgotten(const std::string& id) {
  if (in_flight_) {
    forgotten_in_flight_.insert(id);
  }
}

void Admission::described(const CallResult& r) {
  in_flight_ = false;
  if (!ctx_.running() || ctx_.check_fatal(r)) {
    return;
  }
  if (!r.ok()) {
    if (ctx_.fix_clock(r)) {
      describe();
    } else {
      spdlog::debug("DescribeTasks failed: {}", r.describe());
    }
    return;
  }
  const nlohmann::json& reply = r.response();
  if (auto it = reply.find("InvocationNormalTaskSet"); it != reply.end() && it->is_array()) {
    for (const auto& listed : *it) {
      if (const auto id = listed_id(listed); id && forgotten_in_flight_.contains(*id)) {
        continue;  // a stale listing of a task this agent just finished
      }
      take(listed);
    }
  }
  if (auto it = reply.find("InvocationCancelTaskSet"); it != reply.end() && it->is_array()) {
    for (const auto& listed : *it) {
      if (const auto id = listed_id(listed); id && !forgotten_in_flight_.contains(*id)) {
        cancel(*id);
      }
    }
  }
  bool has_more = false;
  if (auto it = reply.find("HasMore"); it != reply.end() && it->is_boolean()) {
    has_more = it->get<bool>();
  }
  if (has_more || again_) {
    describe();
  }
}

void Admission::take(const nlohmann::json& listed) {
  const std::string id = listed_id(listed).value_or("");
  if (id.empty()) {
    spdlog::warn("DescribeTasks listed a task without an id; ignored");
    return;
  }
  if (tasks_.contains(id) || skipped_.contains(id)) {
    return;  // already held: a repeated listing is a no-op
  }
  auto parsed = parse_task(listed);
  if (!parsed) {
    // A task the agent cannot even read still gets a final answer, unless its id itself is
    // unusable (then there is nothing to report it under).
    if (parsed.error().message.starts_with("InvocationTaskId")) {
      spdlog::warn("DescribeTasks listed a task with an unusable id; ignored");
      return;
    }
    spdlog::warn("task {}: refused: {}", id, parsed.error().message);
    tasks_.refuse(id, unrun_result(id, TaskStatus::kStartFailed, error_text(parsed.error()),
                                   ctx_.now_text()));
    return;
  }
  if (is_quarantined(ctx_.options.state_dir, id)) {
    // Its journal record was unreadable once: never run again. The server lists it again
    // only while it has no final status, so it gets one.
    spdlog::warn(
        "task {}: listed again after its journal record was quarantined; reported "
        "FAILED",
        id);
    tasks_.refuse(id, unrun_result(id, TaskStatus::kFailed,
                                   "the agent's journal entry for this task was unreadable "
                                   "(quarantined); its result is unknown and it is not run again",
                                   ctx_.now_text()));
    return;
  }
  if (std::filesystem::exists(task_paths(ctx_.options.state_dir, id).dir)) {
    // Started by an earlier run of the agent on this machine: never run a task twice.
    skipped_.insert(id);
    spdlog::warn("task {}: already in the journal from an earlier run; not started again", id);
    return;
  }
  // The local policy judges the task as it would run: the digest is of the script after its
  // parameters are substituted. Before anything of it runs, and before the journal's cap, so
  // that a refusal names the rule whatever else holds.
  const auto digest = payload_sha256(*parsed);
  AuditRecord facts = audit_facts(*parsed, digest);
  if (auto refusal = check_local_policy(ctx_.options.policy, *parsed, digest)) {
    spdlog::warn("task {}: {}", id, refusal->error_info());
    tasks_.refuse(
        id, unrun_result(id, TaskStatus::kStartFailed, refusal->error_info(), ctx_.now_text()),
        TaskRefusal{.audit = std::move(facts), .rule = refusal->rule, .durable = true});
    return;
  }
  if (auto refusal = retention_.check(); !refusal.empty()) {
    spdlog::info("task {}: refused (journal full)", id);
    tasks_.refuse(id, unrun_result(id, TaskStatus::kStartFailed, refusal, ctx_.now_text()),
                  TaskRefusal{.audit = std::move(facts), .rule = {}, .durable = false});
    return;
  }
  spdlog::info("task {}: received", id);
  tasks_.submit(std::move(*parsed), std::move(facts));
}

void Admission::cancel(const std::string& id) {
  if (HeldTask* t = tasks_.find(id)) {
    if (!t->finished() && !t->cancel_sent) {
      spdlog::info("task {}: cancelling", id);
      tasks_.cancel(*t);
    }
    return;
  }
  if (skipped_.contains(id)) {
    return;
  }
  // Never received here: it never ran.
  spdlog::info("task {}: cancelled before it reached this agent", id);
  tasks_.refuse(id, unrun_result(id, TaskStatus::kCancelled,
                                 "cancelled before the agent started it", ctx_.now_text()));
}

}  // namespace ferry::agent
