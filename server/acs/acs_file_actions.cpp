// SendFile and DescribeSendFileResults: a file written by the agents of the target instances, and
// the listing of those deliveries with the field names of the official SDK's models.
//
// Codes: a bad Name, TargetDir, FileMode, FileOwner, FileGroup, ContentType or Timeout, and
// Content that is not base64 or over 32 KB of base64, answer InvalidParameter naming the field
// (no file-specific request code of Cloud Assistant was found in its public material); Tag.N
// and ClientToken have RunCommand's codes (read_tags, the registry's idempotent()). Per
// instance, a delivery that failed shows the agent's reason as ErrorCode: FileAlreadyExists,
// AccountNotExists (owner or group), ExecutionTimeout, else ExecutionException.
#include <algorithm>

#include "acs_handlers.hpp"
#include "acs_vocabulary.hpp"
#include "ferry/core/base64.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/server/acs/acs_codes.hpp"
#include "ferry/server/domain/repeats.hpp"
#include "ferry/server/domain/send_files.hpp"
#include "ferry/server/domain/value_rules.hpp"

namespace ferry::server::acs {
namespace {

// SendFile's InstanceId.N takes up to 50 instances.
constexpr int64_t kMaxFileTargets = 50;
constexpr std::size_t kMaxFileDescription = 512;

void refuse(AcsFields& p, const std::string& field, const std::string& rule) {
  p.fail(Error{codes::kInvalidParameter, "The parameter " + field + " " + rule + "."});
}

// Content as base64: PlainText (the default) is encoded, Base64 must decode.
std::string read_file_content(AcsFields& p) {
  const std::string text = p.req_string("Content");
  const std::string type = p.opt_string("ContentType").value_or("");
  if (!p.ok()) {
    return {};
  }
  std::string encoded;
  if (type.empty() || type == "PlainText") {
    encoded = base64_encode(text);
  } else if (type == "Base64") {
    if (!base64_decode(text)) {
      refuse(p, "Content", "is not valid base64");
      return {};
    }
    encoded = text;
  } else {
    refuse(p, "ContentType", "must be PlainText or Base64");
    return {};
  }
  if (encoded.size() > kMaxFileContentBase64) {
    refuse(p, "Content", "exceeds 32 KB after base64 encoding");
    return {};
  }
  return encoded;
}

TaskFile read_file(AcsFields& p) {
  TaskFile f;
  f.name = p.req_string("Name");
  f.target_dir = p.req_string("TargetDir");
  f.mode = p.opt_string("FileMode").value_or("");
  f.owner = p.opt_string("FileOwner").value_or("");
  f.group = p.opt_string("FileGroup").value_or("");
  f.overwrite = p.opt_bool("Overwrite").value_or(false);
  if (f.mode.empty()) {
    f.mode = "0644";
  }
  if (f.owner.empty()) {
    f.owner = "root";
  }
  if (f.group.empty()) {
    f.group = "root";
  }
  if (!p.ok()) {
    return f;
  }
  if (!is_valid_file_name(f.name)) {
    refuse(p, "Name", "must be a file name of at most 255 bytes, without '/'");
  } else if (!is_valid_target_dir(f.target_dir)) {
    refuse(p, "TargetDir", "must be an absolute path of at most 255 bytes");
  } else if (!parse_file_mode(f.mode)) {
    refuse(p, "FileMode", "must be an octal mode such as 0644");
  } else if (!is_valid_file_account(f.owner)) {
    refuse(p, "FileOwner", "must be a user name of at most 64 characters");
  } else if (!is_valid_file_account(f.group)) {
    refuse(p, "FileGroup", "must be a group name of at most 64 characters");
  }
  return f;
}

// The ErrorCode of one delivery.
std::string file_error_code(const InvocationTask& t) {
  if (t.status != TaskStatus::kFailed) {
    return task_status_words(t).error_code;
  }
  for (const char* code : {"FileAlreadyExists", "AccountNotExists"}) {
    if (t.error_info.rfind(code, 0) == 0) {
      return code;
    }
  }
  return "ExecutionException";
}

nlohmann::json send_file_json(const domain::InvocationSummary& s) {
  const Invocation& inv = s.invocation;
  const domain::AcsInvocationStatus status = domain::acs_invocation_status(inv, s.tasks);
  nlohmann::json instances = nlohmann::json::array();
  for (const auto& i : status.instances) {
    nlohmann::json item{
        {"InstanceId", i.instance_id},
        {"InvocationStatus", i.status},
        {"ErrorCode", ""},
        {"ErrorInfo", ""},
        {"StartTime", ""},
        {"FinishTime", ""},
        {"CreationTime", acs_time(inv.created_ms)},
        {"UpdateTime", acs_time(inv.updated_ms)},
    };
    if (const InvocationTask* t = i.latest) {
      item["ErrorCode"] = file_error_code(*t);
      item["ErrorInfo"] = t->error_info;
      item["StartTime"] = acs_time(t->exec_start_ms != 0 ? t->exec_start_ms : t->start_ms);
      item["FinishTime"] = acs_time(t->exec_end_ms != 0 ? t->exec_end_ms : t->end_ms);
      item["CreationTime"] = acs_time(t->created_ms);
      item["UpdateTime"] =
          acs_time(std::max({t->updated_ms, t->end_ms, t->start_ms, t->created_ms}));
    }
    instances.push_back(std::move(item));
  }
  return {
      {"InvokeId", inv.invocation_id},
      {"Name", inv.file.name},
      {"Description", inv.description},
      {"Content", inv.command_content},
      {"ContentType", "Base64"},
      {"TargetDir", inv.file.target_dir},
      {"FileMode", inv.file.mode},
      {"FileOwner", inv.file.owner},
      {"FileGroup", inv.file.group},
      // The SDK's model has Overwrite as a string.
      {"Overwrite", inv.file.overwrite ? "true" : "false"},
      {"InvocationStatus", status.status},
      {"CreationTime", acs_time(inv.created_ms)},
      {"VmCount", static_cast<int64_t>(status.instances.size())},
      {"InvokeInstances", {{"InvokeInstance", std::move(instances)}}},
      {"Tags", tags_json(inv.tags)},
  };
}

}  // namespace

Reply send_file(ServerContext& ctx, AcsFields& p) {
  domain::SendFileRequest r;
  r.file = read_file(p);
  r.content = read_file_content(p);
  r.description = p.opt_string("Description").value_or("");
  if (r.description.size() > kMaxFileDescription) {
    refuse(p, "Description", "exceeds 512 characters");
  }
  r.timeout = p.opt_int("Timeout").value_or(kDefaultTimeoutSeconds);
  if (r.timeout < 1 || r.timeout > kMaxTimeoutSeconds) {
    refuse(p, "Timeout", "must be between 1 and 86400 seconds");
  }
  // ClientToken is the registry's (acs_actions.cpp: idempotent()).
  r.tags = read_tags(p).value_or(std::vector<Tag>{});
  r.instance_ids =
      read_targets(ctx, p, std::min<int64_t>(kMaxFileTargets, ctx.settings.max_run_instances));
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  auto id = domain::send_file(ctx, r);
  if (!id) {
    return to_acs_error(id.error());
  }
  return nlohmann::json{{"InvokeId", *id}};
}

Reply describe_send_file_results(ServerContext& ctx, AcsFields& p) {
  InvocationQuery q;
  q.sends_file = true;
  if (auto id = p.opt_string("InvokeId"); id && !id->empty()) {
    q.invocation_ids = {*id};
  }
  if (auto id = p.opt_string("InstanceId"); id && !id->empty()) {
    q.instance_ids = {*id};
  }
  const std::string name = p.opt_string("Name").value_or("");
  // The SDK's filter is InvocationStatus; InvokeStatus (the legacy word) is taken too.
  std::string wanted = p.opt_string("InvocationStatus").value_or("");
  if (wanted.empty()) {
    wanted = p.opt_string("InvokeStatus").value_or("");
  }
  // Every tag is its own condition, met by the delivery's tag of that key and value.
  for (const auto& t : read_tags(p).value_or(std::vector<Tag>{})) {
    q.tag_pairs.emplace_back(t.key, std::vector<std::string>{t.value});
  }
  const Paging paging = read_paging(p);
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  // What the store cannot filter: the file's name, the status made of the tasks.
  const auto keep = [&](const domain::InvocationSummary& s) {
    return (name.empty() || s.invocation.file.name == name) &&
           (wanted.empty() || has_invocation_status(s, wanted));
  };
  nlohmann::json items = nlohmann::json::array();
  auto total = invocation_page(ctx, q, paging,
                               name.empty() && wanted.empty() ? nullptr : InvocationFilter(keep),
                               [&](const domain::InvocationSummary& s) -> Status {
                                 items.push_back(send_file_json(s));
                                 return {};
                               });
  if (!total) {
    return total.error();
  }
  nlohmann::json out{{"Invocations", {{"Invocation", std::move(items)}}}};
  write_paging(out, paging, *total);
  return out;
}

}  // namespace ferry::server::acs
