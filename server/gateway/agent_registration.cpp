// RegisterInstance: the fields, then the proof of possession (the request is signed with the
// key being registered), then the domain's registration.
#include "ferry/server/domain/agent_registration.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "ferry/core/error_codes.hpp"
#include "ferry/server/gateway/agent_gateway.hpp"

namespace ferry::server {

AgentGateway::Reply AgentGateway::register_instance(const HttpRequest& request, Params& p,
                                                    const std::string& request_id) {
  domain::Registration r;
  r.register_code_id = p.req_string("RegisterCodeId");
  r.register_code_value = p.req_string("RegisterCodeValue");
  r.public_key = p.req_string("PublicKey");
  r.hostname = p.opt_string("Hostname").value_or("");
  if (auto ip = p.opt_json("LocalIp")) {
    if (ip->is_string()) {
      r.local_ips.push_back(ip->get<std::string>());
    } else if (ip->is_array() &&
               std::all_of(ip->begin(), ip->end(), [](const auto& v) { return v.is_string(); })) {
      r.local_ips = ip->get<std::vector<std::string>>();
    } else {
      p.fail(Error{codes::kInvalidParameter, "LocalIp: must be a string or an array of strings"});
    }
  }
  r.machine_id = p.opt_string("MachineId").value_or("");
  r.system_name = p.req_string("SystemName");
  r.instance_name = p.opt_string("InstanceName").value_or("");
  r.remote_address = request.remote_address;
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (auto s = domain::check_registration(r); !s) {
    return s.error();
  }
  // A wrong code is refused before the proof of possession records the request's nonce.
  if (auto s = domain::check_register_code(ctx_, r); !s) {
    spdlog::debug("agent: refused registration {} from {}: {}", request_id, request.remote_address,
                  s.error().code);
    return s.error();
  }
  // Proof of possession: only the holder of the private key may register its public half.
  if (auto s = auth_.verify_registration(request, r.public_key); !s) {
    spdlog::info("agent: refused registration {} from {}: {}", request_id, request.remote_address,
                 s.error().code);
    return s.error();
  }
  auto registered = domain::register_instance(ctx_, r);
  if (!registered) {
    return registered.error();
  }
  return nlohmann::json{{"InstanceId", registered->instance_id},
                        {"InstanceName", registered->instance_name}};
}

}  // namespace ferry::server
