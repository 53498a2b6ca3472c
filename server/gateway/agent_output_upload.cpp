// UploadTaskOutput: the complete output of a task that names no bucket, in pieces at byte
// offsets, into the server's own output store (outputs/output_store.hpp), so that
// DescribeInvocationTaskOutput can give all of it where the finish report's excerpt left bytes
// out. The bytes are never logged.
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "ferry/core/base64.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/server/domain/value_rules.hpp"
#include "ferry/server/gateway/agent_gateway.hpp"

namespace ferry::server {
namespace {

// Decoded bytes of one piece; its base64 in a JSON body fits the 768 KiB that
// validate_server_config asks of max_body_bytes while the store is enabled.
constexpr std::size_t kMaxOutputPiece = 512 * 1024;

Error output_piece_too_long() {
  return Error{codes::kTooLong,
               "Output: at most " + std::to_string(kMaxOutputPiece) + " bytes once decoded"};
}

}  // namespace

AgentGateway::Reply AgentGateway::upload_task_output(const RegisterInstance& agent, Params& p) {
  const std::string task_id = p.req_string("InvocationTaskId");
  const auto offset = p.opt_int("Offset");
  const std::string output_b64 = p.req_string("Output");
  const bool final = p.opt_bool("Final").value_or(false);
  if (p.ok() && !offset) {
    p.fail(Error{codes::kMissingParameter, "the parameter Offset is required"});
  }
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (*offset < 0) {
    return domain::invalid_value("Offset", "must not be negative");
  }
  // Refused before decoding: no buffer for what cannot be taken anyway.
  if (output_b64.size() > (kMaxOutputPiece + 2) / 3 * 4) {
    return output_piece_too_long();
  }
  auto output = base64_decode(output_b64);
  if (!output) {
    return domain::invalid_value("Output", output.error().message);
  }
  if (output->size() > kMaxOutputPiece) {
    return output_piece_too_long();
  }
  // Any status will do: a task the server timed out still has an output worth keeping.
  auto task = owned_task(agent, task_id);
  if (!task) {
    return task.error();
  }
  if (!task->document.output_cos_bucket_url.empty()) {
    return Error{agent_codes::kOutputBucketNamed,
                 "task " + task_id + " names an output bucket (OutputCOSBucketUrl): its " +
                     "output goes there, not to the server"};
  }
  if (options_.output_store == nullptr) {
    return Error{kOutputStoreLimitExceeded, "this server keeps no outputs (no output store)"};
  }
  auto stored =
      options_.output_store->write(task_id, static_cast<std::uint64_t>(*offset), *output, final);
  if (!stored) {
    spdlog::info("agent: output of task {} from {} not stored: {}", task_id, agent.instance_id,
                 stored.error().message);
    return stored.error();
  }
  spdlog::debug("agent: output of task {}: {} bytes held{}", task_id, stored->size,
                stored->complete ? ", complete" : "");
  return nlohmann::json{{"Stored", stored->size}, {"Complete", stored->complete}};
}

}  // namespace ferry::server
