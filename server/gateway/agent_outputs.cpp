// PresignOutputUpload: short-lived presigned URLs (SigV4, query-presigned) for the one object a
// task's output goes to, so that the agent uploads to the bucket without ever holding its
// secret. The server decides the object (the task's bucket, the key from its prefix and ids);
// the agent decides only the operation, and for multipart uploads the upload id the store gave
// it and the part numbers. Neither a URL nor a key is ever logged.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "ferry/core/error_codes.hpp"
#include "ferry/server/cos/output_buckets.hpp"
#include "ferry/server/cos/presigner.hpp"
#include "ferry/server/domain/text.hpp"
#include "ferry/server/domain/value_rules.hpp"
#include "ferry/server/gateway/agent_gateway.hpp"
#include "ferry/server/task_state.hpp"

namespace ferry::server {
namespace {

constexpr std::size_t kMaxUploadId = 1024;
// Part URLs per request: a window of parts the agent is about to send, not the whole upload.
constexpr std::size_t kMaxPartsPerRequest = 100;

enum class UploadOperation {
  kPutObject,
  kCreateMultipartUpload,
  kUploadPart,
  kCompleteMultipartUpload,
  kAbortMultipartUpload,
};

constexpr std::array<std::pair<std::string_view, UploadOperation>, 5> kUploadOperations = {{
    {"PutObject", UploadOperation::kPutObject},
    {"CreateMultipartUpload", UploadOperation::kCreateMultipartUpload},
    {"UploadPart", UploadOperation::kUploadPart},
    {"CompleteMultipartUpload", UploadOperation::kCompleteMultipartUpload},
    {"AbortMultipartUpload", UploadOperation::kAbortMultipartUpload},
}};

Expected<UploadOperation> parse_upload_operation(std::string_view name) {
  for (const auto& [text, op] : kUploadOperations) {
    if (text == name) {
      return op;
    }
  }
  return domain::invalid_value("Operation",
                               "must be PutObject, CreateMultipartUpload, UploadPart, "
                               "CompleteMultipartUpload or AbortMultipartUpload");
}

bool takes_upload_id(UploadOperation op) {
  return op == UploadOperation::kUploadPart || op == UploadOperation::kCompleteMultipartUpload ||
         op == UploadOperation::kAbortMultipartUpload;
}

Status check_upload_id_field(UploadOperation op, const std::optional<std::string>& upload_id) {
  if (!takes_upload_id(op)) {
    if (upload_id) {
      return domain::invalid_value(
          "UploadId",
          "only UploadPart, CompleteMultipartUpload and AbortMultipartUpload take an upload id");
    }
    return {};
  }
  if (!upload_id) {
    return Error{codes::kMissingParameter, "the parameter UploadId is required for this Operation"};
  }
  if (upload_id->empty() || !domain::is_short_text(*upload_id, kMaxUploadId)) {
    return domain::invalid_value("UploadId", "1 to 1024 bytes, no control characters");
  }
  return {};
}

// PartNumbers: UploadPart's alone; 1 to 100 distinct integers of 1..10000, in the order given.
Expected<std::vector<int>> read_part_numbers(UploadOperation op,
                                             const std::optional<nlohmann::json>& given) {
  if (op != UploadOperation::kUploadPart) {
    if (given) {
      return domain::invalid_value("PartNumbers", "only UploadPart takes part numbers");
    }
    return std::vector<int>{};
  }
  if (!given) {
    return Error{codes::kMissingParameter, "the parameter PartNumbers is required for UploadPart"};
  }
  if (!given->is_array() || !std::all_of(given->begin(), given->end(),
                                         [](const auto& n) { return n.is_number_integer(); })) {
    return Error{codes::kInvalidParameter, "PartNumbers: must be an array of integers"};
  }
  if (given->empty() || given->size() > kMaxPartsPerRequest) {
    return domain::invalid_value("PartNumbers", "1 to 100 part numbers per request");
  }
  std::vector<int> out;
  std::set<int> seen;
  for (const auto& n : *given) {
    // JSON's non-negative integers arrive unsigned (up to 2^64 - 1): clamped before the range
    // check, so that none wraps into the range.
    const std::int64_t v =
        n.is_number_unsigned()
            ? static_cast<std::int64_t>(
                  std::min(n.get<std::uint64_t>(), std::uint64_t{cos::kMaxPartNumber + 1}))
            : n.get<std::int64_t>();
    if (v < 1 || v > cos::kMaxPartNumber) {
      return domain::invalid_value("PartNumbers", "each part number must be 1 to 10000");
    }
    const int part = static_cast<int>(v);
    if (!seen.insert(part).second) {
      return domain::invalid_value("PartNumbers",
                                   "the part number " + std::to_string(part) + " appears twice");
    }
    out.push_back(part);
  }
  return out;
}

}  // namespace

AgentGateway::Reply AgentGateway::presign_output_upload(const RegisterInstance& agent, Params& p) {
  const std::string task_id = p.req_string("InvocationTaskId");
  const std::string operation = p.req_string("Operation");
  const auto upload_id = p.opt_string("UploadId");
  const auto part_numbers_json = p.opt_json("PartNumbers");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  auto op = parse_upload_operation(operation);
  if (!op) {
    return op.error();
  }
  if (auto s = check_upload_id_field(*op, upload_id); !s) {
    return s.error();
  }
  auto parts = read_part_numbers(*op, part_numbers_json);
  if (!parts) {
    return parts.error();
  }
  auto task = owned_task(agent, task_id);
  if (!task) {
    return task.error();
  }
  const std::string& bucket_url = task->document.output_cos_bucket_url;
  if (bucket_url.empty()) {
    return Error{agent_codes::kNoOutputBucket, "task " + task_id + " names no OutputCOSBucketUrl"};
  }
  if (is_final(task->status)) {
    return Error{agent_codes::kTaskFinished, "task " + task_id + " is already " +
                                                 std::string(to_string(task->status)) +
                                                 ": the server ignores its finish report"};
  }
  // Checked again now: the configuration may have changed since RunCommand accepted the bucket.
  const cos::OutputBuckets& buckets = ctx_.settings.output_buckets;
  auto bucket = cos::usable_bucket(bucket_url, buckets);
  if (!bucket) {
    return Error{agent_codes::kBucketCredentials, "the server cannot sign for the bucket of task " +
                                                      task_id + ": " + bucket.error().message};
  }
  const cos::Presigner presigner(bucket->url, bucket->credentials);
  const std::string key = cos::object_key(task->document.output_cos_key_prefix, task->invocation_id,
                                          task->invocation_task_id);
  const std::int64_t now = ctx_.clock.now_ms() / 1000;
  const std::int64_t ttl = buckets.url_ttl_s;
  const std::string id = upload_id.value_or("");

  nlohmann::json reply;
  Expected<cos::PresignedRequest> one = Error{codes::kInternalError, "no request"};
  switch (*op) {
    case UploadOperation::kPutObject:
      one = presigner.put_object(key, now, ttl);
      break;
    case UploadOperation::kCreateMultipartUpload:
      one = presigner.create_multipart_upload(key, now, ttl);
      break;
    case UploadOperation::kCompleteMultipartUpload:
      one = presigner.complete_multipart_upload(key, id, now, ttl);
      break;
    case UploadOperation::kAbortMultipartUpload:
      one = presigner.abort_multipart_upload(key, id, now, ttl);
      break;
    case UploadOperation::kUploadPart: {
      nlohmann::json part_urls = nlohmann::json::array();
      for (const int part : *parts) {
        one = presigner.upload_part(key, id, part, now, ttl);
        if (!one) {
          break;
        }
        reply["Method"] = one->method;
        part_urls.push_back({{"PartNumber", part}, {"Url", std::move(one->url)}});
      }
      reply["PartUrls"] = std::move(part_urls);
      break;
    }
  }
  if (!one) {
    // The fields and the configuration were checked: a refusal here is the server's fault. The
    // signer's messages hold no secret.
    spdlog::error("agent: task {}: presigning {} failed: {}", task_id, operation,
                  one.error().message);
    return Error{codes::kInternalError, "presigning " + operation + " failed"};
  }
  if (*op != UploadOperation::kUploadPart) {
    reply["Method"] = one->method;
    reply["Url"] = std::move(one->url);
  }
  reply["ObjectUrl"] = cos::object_url(bucket->url, key);
  reply["ExpiresIn"] = ttl;
  spdlog::debug("agent: task {}: presigned {} for {}", task_id, operation, agent.instance_id);
  return reply;
}

}  // namespace ferry::server
