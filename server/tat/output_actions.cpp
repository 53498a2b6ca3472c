// DescribeInvocationTaskOutput. The first source that applies answers: COS (the output went to
// the task's bucket), SERVER (the output store holds it complete), RESULT (the finish report's
// excerpt left nothing out), else EXCERPT with the reason nothing more is known.
#include "ferry/server/tat/output_actions.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "action_handlers.hpp"
#include "ferry/core/base64.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/output_excerpt.hpp"
#include "ferry/server/domain/value_rules.hpp"
#include "ferry/server/task_state.hpp"

namespace ferry::server {
namespace {

constexpr std::int64_t kMaxOutputLimit = 1024 * 1024;

struct OutputQuery {
  std::string task_id;
  std::uint64_t offset = 0;
  std::uint64_t limit = kMaxOutputLimit;
};

struct OutputAnswer {
  std::string source;
  std::int64_t size = -1;  // -1: not known yet
  std::string bytes;       // from the query's offset
  bool has_more = false;
  DownloadLink download;
  std::string reason;
};

// At most `limit` bytes of `content` from `offset`.
void take_range(OutputAnswer& a, std::string_view content, const OutputQuery& q) {
  const std::size_t from =
      static_cast<std::size_t>(std::min<std::uint64_t>(q.offset, content.size()));
  a.bytes = std::string(content.substr(from, static_cast<std::size_t>(q.limit)));
  a.has_more = from + a.bytes.size() < content.size();
}

// The finish report's excerpt (checked as base64 when it came).
std::string result_excerpt(const InvocationTask& t) {
  auto bytes = base64_decode(t.output);
  return bytes ? std::move(*bytes) : std::string();
}

// Whether the agent's own report of the output is known: not before the end, and not when the
// server ended the task itself while it ran.
bool agent_reported_output(const InvocationTask& t) {
  return is_final(t.status) && t.status != TaskStatus::kTaskTimeout;
}

OutputAnswer from_bucket(const InvocationTask& t, const OutputActionDeps& deps) {
  OutputAnswer a;
  a.source = "COS";
  a.size = static_cast<std::int64_t>(result_excerpt(t).size() + t.dropped);
  if (!deps.download_link) {
    return a;
  }
  auto link = deps.download_link(t);
  if (link) {
    a.download = std::move(*link);
  } else {
    a.reason = link.error().message;
  }
  return a;
}

std::string excerpt_reason(const InvocationTask& t) {
  if (!is_final(t.status)) {
    return "the task has not finished";
  }
  if (t.status == TaskStatus::kTaskTimeout) {
    return "the server timed the task out before its agent reported its output";
  }
  if (!t.output_upload_error.empty()) {
    return "the upload to the bucket failed: " + t.output_upload_error;
  }
  if (!t.document.output_cos_bucket_url.empty()) {
    return "the agent did not upload the output to the bucket";
  }
  return "the server's output store does not hold it (disabled, over its cap, or past retention)";
}

// RESULT or EXCERPT: what the finish report carried, or the live output before it.
Expected<OutputAnswer> from_task(ServerContext& ctx, const InvocationTask& t,
                                 const OutputQuery& q) {
  OutputAnswer a;
  std::string content;
  if (agent_reported_output(t) || !t.output.empty()) {
    content = result_excerpt(t);
  } else {
    auto live = ctx.store.task_log(t.invocation_task_id);
    if (!live) {
      return live.error();
    }
    content = make_output_excerpt(*live, *live, live->size()).bytes;
  }
  if (agent_reported_output(t) && t.dropped == 0) {
    a.source = "RESULT";
    a.size = static_cast<std::int64_t>(content.size());
  } else {
    a.source = "EXCERPT";
    a.size = agent_reported_output(t) ? static_cast<std::int64_t>(content.size() + t.dropped) : -1;
    a.reason = excerpt_reason(t);
  }
  take_range(a, content, q);
  return a;
}

Expected<OutputAnswer> task_output(ServerContext& ctx, const OutputActionDeps& deps,
                                   const InvocationTask& t, const OutputQuery& q) {
  if (is_final(t.status) && !t.output_url.empty()) {
    return from_bucket(t, deps);
  }
  if (deps.outputs != nullptr) {
    auto held = deps.outputs->read(t.invocation_task_id, q.offset, q.limit);
    if (!held) {
      return held.error();
    }
    if (*held) {
      OutputAnswer a;
      a.source = "SERVER";
      a.size = static_cast<std::int64_t>((*held)->size);
      a.bytes = std::move((*held)->bytes);
      a.has_more = std::min(q.offset, (*held)->size) + a.bytes.size() < (*held)->size;
      return a;
    }
  }
  return from_task(ctx, t, q);
}

Expected<OutputQuery> read_output_query(Params& p) {
  OutputQuery q;
  q.task_id = p.req_string("InvocationTaskId");
  const auto offset = p.opt_int("Offset");
  const auto limit = p.opt_int("Limit");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (auto s =
          domain::validate_ids({q.task_id}, "invt-",
                               "InvalidParameterValue.InvalidInvocationTaskId", "InvocationTaskId");
      !s) {
    return s.error();
  }
  if (offset && *offset < 0) {
    return Error{codes::kRange, "Offset: must not be negative"};
  }
  if (limit && (*limit < 1 || *limit > kMaxOutputLimit)) {
    return Error{codes::kRange, "Limit: must be in [1, 1048576]"};
  }
  q.offset = static_cast<std::uint64_t>(offset.value_or(0));
  q.limit = static_cast<std::uint64_t>(limit.value_or(kMaxOutputLimit));
  return q;
}

tat_actions::Reply describe_invocation_task_output(ServerContext& ctx, const OutputActionDeps& deps,
                                                   Params& p) {
  auto q = read_output_query(p);
  if (!q) {
    return q.error();
  }
  auto task = ctx.store.get_task(q->task_id);
  if (!task) {
    return task.error();
  }
  if (!*task) {
    return Error{codes::kInvocationTaskNotFound, "the task " + q->task_id + " does not exist"};
  }
  const InvocationTask& t = **task;
  auto a = task_output(ctx, deps, t, *q);
  if (!a) {
    return a.error();
  }
  return nlohmann::json{{"InvocationTaskId", t.invocation_task_id},
                        {"TaskStatus", to_string(t.status)},
                        {"Source", a->source},
                        {"Size", a->size},
                        {"Offset", q->offset},
                        {"Output", base64_encode(a->bytes)},
                        {"HasMore", a->has_more},
                        {"OutputUrl", t.output_url},
                        {"DownloadUrl", a->download.url},
                        {"ExpiresIn", a->download.expires_in_s},
                        {"Reason", a->reason}};
}

}  // namespace

void register_output_actions(ActionRegistry& actions, ServerContext& ctx, OutputActionDeps deps) {
  actions.add("DescribeInvocationTaskOutput",
              {[&ctx, deps = std::move(deps)](const ApiCall&, Params& p) {
                return describe_invocation_task_output(ctx, deps, p);
              }});
}

}  // namespace ferry::server
