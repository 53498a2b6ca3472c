#include "ferry/server/acs/acs_actions.hpp"

#include <algorithm>

#include "acs_handlers.hpp"
#include "acs_vocabulary.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/server/acs/acs_codes.hpp"

namespace ferry::server {
namespace {

using Handler = Expected<nlohmann::json> (*)(ServerContext&, acs::AcsFields&);

// A claim still unfinished after this long is taken to have died with its request.
constexpr int64_t kClientTokenStaleMs = 60'000;

// The request as its ClientToken covers it: the action and every parameter but the token.
std::string request_hash(const ApiCall& call, const AcsParams& params) {
  std::string text = call.action;
  for (const auto& [name, value] : params.all()) {
    if (name != "ClientToken") {
      text += '\n' + name + '=' + value;
    }
  }
  return sha256_hex(text);
}

// `handler` run at most once per (AccessKeyId, ClientToken): the same token with the same
// parameters returns the first reply; with others, IdempotentParameterMismatch; while the first
// still runs, IdempotentProcessing. A token is at most 64 ASCII characters
// (InvalidClientToken.Malformed). Without a token the call just runs.
Expected<nlohmann::json> idempotent(ServerContext& ctx, Handler handler, const ApiCall& call,
                                    AcsParams& params) {
  const auto token = params.opt_string("ClientToken");
  acs::AcsFields fields(params);
  if (!token || token->empty()) {
    return handler(ctx, fields);
  }
  const bool ascii = std::all_of(token->begin(), token->end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f;
  });
  if (token->size() > 64 || !ascii) {
    return Error{codes::acs::kInvalidClientToken,
                 "The specified parameter clientToken is not valid: at most 64 ASCII characters."};
  }
  using State = ClientTokenClaim::State;
  auto claim = ctx.store.claim_client_token(call.secret_id, *token, request_hash(call, params),
                                            ctx.clock.now_ms(), kClientTokenStaleMs);
  if (!claim) {
    return acs::to_acs_error(claim.error());
  }
  switch (claim->state) {
    case State::kDone: {
      auto reply = nlohmann::json::parse(claim->result, nullptr, false);
      if (reply.is_discarded()) {
        return Error{codes::kInternalError, "the stored reply of the ClientToken is unreadable"};
      }
      return reply;
    }
    case State::kMismatch:
      return Error{codes::acs::kIdempotentParameterMismatch,
                   "The specified parameter has changed while using an already used clientToken."};
    case State::kProcessing:
      return Error{codes::acs::kIdempotentProcessing,
                   "The previous idempotent request(s) is still processing."};
    case State::kNew:
      break;
  }
  auto reply = handler(ctx, fields);
  const Status ended = reply
                           ? ctx.store.complete_client_token(call.secret_id, *token, reply->dump())
                           : ctx.store.release_client_token(call.secret_id, *token);
  if (!ended && reply) {
    return acs::to_acs_error(ended.error());
  }
  return reply;
}

}  // namespace

void register_acs_actions(AcsActionRegistry& actions, ServerContext& ctx) {
  struct Entry {
    const char* name;
    Handler handler;
    bool takes_client_token = false;
  };
  const Entry table[] = {
      {"CreateCommand", &acs::create_command, true},
      {"DescribeCommands", &acs::describe_commands},
      {"ModifyCommand", &acs::modify_command},
      {"DeleteCommand", &acs::delete_command},
      {"RunCommand", &acs::run_command, true},
      {"InvokeCommand", &acs::invoke_command, true},
      {"DescribeInvocations", &acs::describe_invocations},
      {"DescribeInvocationResults", &acs::describe_invocation_results},
      {"StopInvocation", &acs::stop_invocation},
      {"ModifyInvocationAttribute", &acs::modify_invocation_attribute},
      {"SendFile", &acs::send_file, true},
      {"DescribeSendFileResults", &acs::describe_send_file_results},
      {"DescribeCloudAssistantStatus", &acs::describe_cloud_assistant_status},
      {"CreateActivation", &acs::create_activation},
      {"DescribeActivations", &acs::describe_activations},
      {"DisableActivation", &acs::disable_activation},
      {"DeleteActivation", &acs::delete_activation},
      {"DescribeManagedInstances", &acs::describe_managed_instances},
      {"ModifyManagedInstance", &acs::modify_managed_instance},
      {"DeregisterManagedInstance", &acs::deregister_managed_instance},
      {"TagResources", &acs::tag_resources},
      {"UntagResources", &acs::untag_resources},
      {"ListTagResources", &acs::list_tag_resources},
  };
  for (const Entry& e : table) {
    actions.add(e.name, AcsActionSpec{[&ctx, e](const ApiCall& call, AcsParams& params) {
                  if (e.takes_client_token) {
                    return idempotent(ctx, e.handler, call, params);
                  }
                  acs::AcsFields fields(params);
                  return e.handler(ctx, fields);
                }});
  }
}

}  // namespace ferry::server
