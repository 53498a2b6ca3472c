#include "ferry/server/gateway/agent_gateway.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "ferry/core/base64.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/core/ed25519.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/task.hpp"
#include "ferry/core/tc3.hpp"
#include "ferry/core/time.hpp"
#include "ferry/server/api/store_error_map.hpp"
#include "ferry/server/api/validation.hpp"
#include "ferry/server/store/store_errors.hpp"
#include "ferry/server/task_state.hpp"

namespace ferry::server {
namespace {

constexpr std::size_t kMinNonce = 16;
constexpr std::size_t kMaxNonce = 64;
constexpr std::size_t kMaxInstanceId = 64;
constexpr std::size_t kMaxHostname = 255;
constexpr std::size_t kMaxMachineId = 128;
constexpr std::size_t kMaxLocalIps = 32;
constexpr std::size_t kMaxInstanceName = 60;
constexpr std::size_t kMaxShortText = 128;
constexpr std::size_t kMaxFeatures = 64;
constexpr std::size_t kMaxErrorInfo = 1024;
constexpr std::size_t kMaxOutputUrl = 2048;
constexpr int64_t kMaxLogIndex = 1'000'000;
// Candidates read per store query; an instance rarely has more unfinished tasks than this.
constexpr int64_t kTaskPage = 500;

HttpResponse json_response(const nlohmann::json& body, unsigned status = 200) {
  HttpResponse r;
  r.status = status;
  // Replace, not throw, on invalid UTF-8: a message may quote an agent's bytes.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::optional<int64_t> parse_decimal(std::string_view text) {
  int64_t v = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return std::nullopt;
  }
  return v;
}

bool is_token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

bool is_token(std::string_view s, std::size_t min, std::size_t max) {
  return s.size() >= min && s.size() <= max && std::all_of(s.begin(), s.end(), is_token_char);
}

// Printable text without control characters (UTF-8 above 0x7f is let through).
bool is_plain_text(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// At most `max` bytes of `s`, never ending inside a UTF-8 sequence.
std::string utf8_prefix(std::string_view s, std::size_t max) {
  if (s.size() <= max) {
    return std::string(s);
  }
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0u) == 0x80u) {
    --cut;
  }
  return std::string(s.substr(0, cut));
}

Error invalid(std::string_view field, std::string_view what) {
  return Error{codes::kInvalidParameterValue, std::string(field) + ": " + std::string(what)};
}

// RFC 3339 text to Unix milliseconds; "" is 0 (not given).
Expected<int64_t> parse_time_field(std::string_view field, const std::optional<std::string>& text) {
  if (!text || text->empty()) {
    return int64_t{0};
  }
  auto t = parse_rfc3339(*text);
  if (!t) {
    return invalid(field, "must be an RFC 3339 time such as 2024-05-01T12:00:00Z");
  }
  const int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
  return ms;
}

// Agents behind a dual-stack listener show up as IPv4-mapped IPv6 addresses.
std::string plain_ipv4(const std::string& address) {
  constexpr std::string_view kMapped = "::ffff:";
  if (address.size() > kMapped.size() && lowercase(address.substr(0, kMapped.size())) == kMapped &&
      address.find('.') != std::string::npos) {
    return address.substr(kMapped.size());
  }
  return address;
}

// The id an instance registering with `public_key_raw` gets first: derived from the key, so
// that a registration retried after a lost reply finds the instance it already made instead of
// using the code a second time. Not a secret, so the small modulo bias does not matter.
std::string instance_id_for_key(std::string_view public_key_raw) {
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const std::string digest = sha256(public_key_raw);
  std::string id = "rins-";
  for (std::size_t i = 0; i < 8; ++i) {
    id.push_back(kAlphabet[static_cast<unsigned char>(digest[i]) % kAlphabet.size()]);
  }
  return id;
}

std::map<std::string, std::string> parameter_map(const std::string& text) {
  std::map<std::string, std::string> out;
  if (text.empty()) {
    return out;
  }
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) {
    return out;
  }
  for (const auto& [name, value] : j.items()) {
    if (value.is_string()) {
      out.emplace(name, value.get<std::string>());
    }
  }
  return out;
}

}  // namespace

// --- AgentAuthenticator --------------------------------------------------------------------

AgentAuthenticator::AgentAuthenticator(Store& store, const Clock& clock, AgentAuthOptions options)
    : store_(store), clock_(clock), options_(options) {}

Status AgentAuthenticator::check_protocol(const HttpRequest& request) {
  const std::string& text = request.header(kHeaderProtocol);
  const std::string spoken = std::to_string(kAgentProtocolVersion);
  if (text.empty()) {
    return Error{codes::kMissingParameter,
                 "the header X-Ferry-Protocol is required; this server speaks agent protocol "
                 "version " +
                     spoken};
  }
  auto version = parse_decimal(text);
  if (!version || *version != kAgentProtocolVersion) {
    return Error{
        agent_codes::kUnsupportedProtocolVersion,
        "this server speaks agent protocol version " + spoken + ", not " + utf8_prefix(text, 16)};
  }
  return {};
}

Expected<AgentAuthenticator::SignedHeaders> AgentAuthenticator::read_headers(
    const HttpRequest& request, bool registration) {
  SignedHeaders h;
  h.signature = request.header(kHeaderSignature);
  if (h.signature.empty()) {
    return Error{agent_codes::kInvalidAuthorization,
                 "the request is not signed: the header X-Ferry-Signature is missing"};
  }
  h.instance_id = request.header(kHeaderInstance);
  if (registration) {
    if (!h.instance_id.empty()) {
      return Error{agent_codes::kInvalidAuthorization,
                   "X-Ferry-Instance must be empty for RegisterInstance"};
    }
  } else if (!is_token(h.instance_id, 1, kMaxInstanceId)) {
    return Error{agent_codes::kInvalidAuthorization,
                 "the header X-Ferry-Instance must hold the instance id"};
  }
  auto ts = parse_decimal(request.header(kHeaderTimestamp));
  if (!ts) {
    return Error{agent_codes::kInvalidAuthorization,
                 "the header X-Ferry-Timestamp must be a Unix time in seconds"};
  }
  h.timestamp = *ts;
  h.nonce = request.header(kHeaderNonce);
  if (!is_token(h.nonce, kMinNonce, kMaxNonce)) {
    return Error{agent_codes::kInvalidAuthorization,
                 "the header X-Ferry-Nonce must be 16 to 64 characters of [A-Za-z0-9_-]"};
  }
  return h;
}

Status AgentAuthenticator::verify(const SignedHeaders& h, std::string_view public_key_b64,
                                  std::string_view action, std::string_view body,
                                  const std::string& nonce_owner) {
  auto signing =
      agent_signing_string(action, sha256_hex(body), h.timestamp, h.nonce, h.instance_id);
  if (!signing) {
    return Error{agent_codes::kInvalidAuthorization, signing.error().message};
  }
  if (auto s = ed25519_verify(public_key_b64, *signing, h.signature); !s) {
    // The message stays generic: what was expected is nobody's business.
    return Error{auth_codes::kSignatureFailure, "the signature does not match the request"};
  }
  const int64_t now_ms = clock_.now_ms();
  if (auto s = check_timestamp(h.timestamp, now_ms / 1000, options_.max_clock_skew_s); !s) {
    return Error{auth_codes::kSignatureExpire,
                 "X-Ferry-Timestamp is more than " + std::to_string(options_.max_clock_skew_s) +
                     " s away from the server's time (ServerTime in this reply)"};
  }
  // Remembered as long as the timestamp itself would still be accepted.
  const int64_t expires_ms = (h.timestamp + options_.max_clock_skew_s + 1) * 1000;
  auto fresh = store_.remember_nonce(nonce_owner, h.nonce, expires_ms, now_ms);
  if (!fresh) {
    return fresh.error();
  }
  if (!*fresh) {
    return Error{agent_codes::kNonceReused,
                 "this X-Ferry-Nonce was used before; every request needs a new one"};
  }
  return {};
}

Expected<RegisterInstance> AgentAuthenticator::authenticate(const HttpRequest& request,
                                                            std::string_view action,
                                                            std::string_view body) {
  auto h = read_headers(request, false);
  if (!h) {
    return h.error();
  }
  auto instance = store_.get_instance(h->instance_id);
  if (!instance) {
    return instance.error();
  }
  if (!*instance) {
    return Error{agent_codes::kInstanceNotFound,
                 "instance " + h->instance_id +
                     " is not registered (a deleted instance must register again)"};
  }
  if (auto s = verify(*h, (*instance)->public_key, action, body, h->instance_id); !s) {
    return s.error();
  }
  return std::move(**instance);
}

Status AgentAuthenticator::verify_registration(const HttpRequest& request,
                                               std::string_view public_key_b64) {
  auto h = read_headers(request, true);
  if (!h) {
    return h.error();
  }
  // Registration nonces live in their own namespace: no instance exists yet.
  return verify(*h, public_key_b64, "RegisterInstance", request.body,
                "register:" + std::string(public_key_b64));
}

// --- task transitions ----------------------------------------------------------------------

bool advance_task(InvocationTask& task, TaskStatus to) {
  if (can_transition(task.status, to)) {
    task.status = to;
    return true;
  }
  const bool undelivered =
      task.status == TaskStatus::kPending || task.status == TaskStatus::kDeliverDelayed;
  if (undelivered && can_transition(task.status, TaskStatus::kDelivering) &&
      can_transition(TaskStatus::kDelivering, to)) {
    task.status = to;
    return true;
  }
  return false;
}

// --- AgentGateway --------------------------------------------------------------------------

AgentGateway::AgentGateway(ServerContext& ctx, AgentAuthenticator& auth, GatewayOptions options)
    : ctx_(ctx), auth_(auth), options_(std::move(options)) {}

HttpResponse AgentGateway::error_response(const Error& store_or_api_error,
                                          const std::string& request_id, int64_t now_ms,
                                          unsigned status) {
  const Error error = tat_error(store_or_api_error);
  return json_response(
      nlohmann::json{{"Response",
                      {{"Error", {{"Code", error.code}, {"Message", error.message}}},
                       {"RequestId", request_id},
                       {"ProtocolVersion", kAgentProtocolVersion},
                       {"ServerTime", now_ms / 1000}}}},
      status);
}

HttpResponse AgentGateway::handle(const HttpRequest& request) {
  auto uuid = uuid4();
  const std::string request_id = uuid ? *uuid : std::string("00000000-0000-4000-8000-000000000000");
  const auto fail = [&](const Error& e) {
    return error_response(e, request_id, ctx_.clock.now_ms());
  };
  if (request.method != "POST") {
    return fail(Error{"UnsupportedProtocol", "the agent endpoint takes POST with a JSON body"});
  }
  if (lowercase(request.header("content-type")).rfind("application/json", 0) != 0) {
    return fail(Error{"UnsupportedProtocol", "the Content-Type must be application/json"});
  }
  if (auto s = AgentAuthenticator::check_protocol(request); !s) {
    return fail(s.error());
  }
  auto body = nlohmann::json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return fail(Error{codes::kInvalidParameter, "the request body must be a JSON object"});
  }
  const auto action_it = body.find("Action");
  if (action_it == body.end() || !action_it->is_string() || action_it->get<std::string>().empty()) {
    return fail(Error{codes::kMissingParameter, "the field Action is required"});
  }
  const std::string action = action_it->get<std::string>();
  Expected<nlohmann::json> result = Error{codes::kInternalError, "no result"};
  try {
    result = dispatch(action, request, std::move(body), request_id);
  } catch (const std::exception& e) {
    spdlog::error("agent: {} {} failed: {}", action, request_id, e.what());
    result = Error{codes::kInternalError, "internal error; request " + request_id};
  }
  if (!result) {
    spdlog::debug("agent: {} {} from {} -> {}", action, request_id, request.remote_address,
                  result.error().code);
    return fail(result.error());
  }
  nlohmann::json response = std::move(*result);
  if (!response.is_object()) {
    response = nlohmann::json::object();
  }
  response["RequestId"] = request_id;
  response["ProtocolVersion"] = kAgentProtocolVersion;
  response["ServerTime"] = ctx_.clock.now_ms() / 1000;
  return json_response(nlohmann::json{{"Response", std::move(response)}});
}

Expected<nlohmann::json> AgentGateway::dispatch(const std::string& action,
                                                const HttpRequest& request, nlohmann::json body,
                                                const std::string& request_id) {
  Params p(std::move(body));
  (void)p.opt_string("Action");
  if (action == "RegisterInstance") {
    return register_instance(request, p, request_id);
  }
  using Handler = Expected<nlohmann::json> (AgentGateway::*)(const RegisterInstance&, Params&);
  static const std::map<std::string, Handler, std::less<>> kActions = {
      {"DescribeTasks", &AgentGateway::describe_tasks},
      {"ReportTaskStart", &AgentGateway::report_task_start},
      {"UploadTaskLog", &AgentGateway::upload_task_log},
      {"ReportTaskFinish", &AgentGateway::report_task_finish},
      {"Heartbeat", &AgentGateway::heartbeat},
  };
  const auto it = kActions.find(action);
  if (it == kActions.end()) {
    return Error{"InvalidAction", "the agent action " + utf8_prefix(action, 64) +
                                      " does not exist in protocol version " +
                                      std::to_string(kAgentProtocolVersion)};
  }
  auto agent = auth_.authenticate(request, action, request.body);
  if (!agent) {
    spdlog::info("agent: refused {} {} from {}: {}", action, request_id, request.remote_address,
                 agent.error().code);
    return agent.error();
  }
  if (options_.on_agent_seen) {
    options_.on_agent_seen(agent->instance_id, ctx_.clock.now_ms());
  }
  return (this->*(it->second))(*agent, p);
}

Expected<nlohmann::json> AgentGateway::register_instance(const HttpRequest& request, Params& p,
                                                         const std::string& request_id) {
  const std::string code_id = p.req_string("RegisterCodeId");
  const std::string code_value = p.req_string("RegisterCodeValue");
  const std::string public_key = p.req_string("PublicKey");
  const std::string hostname = p.opt_string("Hostname").value_or("");
  std::vector<std::string> local_ips;
  if (auto ip = p.opt_json("LocalIp")) {
    if (ip->is_string()) {
      local_ips.push_back(ip->get<std::string>());
    } else if (ip->is_array() &&
               std::all_of(ip->begin(), ip->end(), [](const auto& v) { return v.is_string(); })) {
      local_ips = ip->get<std::vector<std::string>>();
    } else {
      p.fail(Error{codes::kInvalidParameter, "LocalIp: must be a string or an array of strings"});
    }
  }
  const std::string machine_id = p.opt_string("MachineId").value_or("");
  const std::string system_name = p.req_string("SystemName");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  auto key_raw = ed25519_public_key_from_base64(public_key);
  if (!key_raw) {
    return invalid("PublicKey", "must be the base64 of a raw 32-byte Ed25519 public key");
  }
  if (system_name != "Linux" && system_name != "Windows") {
    return invalid("SystemName", "must be Linux or Windows");
  }
  if (hostname.size() > kMaxHostname || !is_plain_text(hostname)) {
    return invalid("Hostname", "at most 255 characters, no control characters");
  }
  if (machine_id.size() > kMaxMachineId || !is_plain_text(machine_id)) {
    return invalid("MachineId", "at most 128 characters, no control characters");
  }
  if (local_ips.size() > kMaxLocalIps ||
      std::any_of(local_ips.begin(), local_ips.end(), [](const std::string& ip) {
        return ip.size() > kMaxShortText || !is_plain_text(ip);
      })) {
    return invalid("LocalIp", "at most 32 addresses of at most 128 characters");
  }
  if (code_id.empty() || code_id.size() > kMaxShortText || code_value.empty()) {
    return Error{agent_codes::kRegisterCodeInvalid, "the register code id or value is wrong"};
  }
  // Proof of possession: only the holder of the private key may register its public half.
  if (auto s = auth_.verify_registration(request, public_key); !s) {
    spdlog::info("agent: refused registration {} from {}: {}", request_id, request.remote_address,
                 s.error().code);
    return s.error();
  }
  const int64_t now = ctx_.clock.now_ms();

  std::string instance_id = instance_id_for_key(*key_raw);
  {
    auto existing = ctx_.store.get_instance(instance_id);
    if (!existing) {
      return existing.error();
    }
    if (*existing && (*existing)->public_key == public_key) {
      spdlog::info("agent: instance {} registered again with its key (a retry)", instance_id);
      return nlohmann::json{{"InstanceId", instance_id},
                            {"InstanceName", (*existing)->instance_name}};
    }
    if (*existing) {
      auto random = random_id("rins-", 8);
      if (!random) {
        return random.error();
      }
      instance_id = *random;
    }
  }
  auto code_page = ctx_.store.list_register_codes({code_id}, 0, 1);
  if (!code_page) {
    return code_page.error();
  }
  if (code_page->items.empty()) {
    return Error{agent_codes::kRegisterCodeInvalid, "the register code id or value is wrong"};
  }
  const std::string prefix = code_page->items.front().instance_name_prefix;

  RegisterInstance inst;
  inst.register_code_id = code_id;
  inst.machine_id = machine_id;
  inst.system_name = system_name;
  inst.host_name = hostname;
  // The first address is the one shown and filtered on (DescribeRegisterInstances' local-ip).
  inst.local_ip = local_ips.empty() ? "" : local_ips.front();
  inst.public_key = public_key;
  inst.created_ms = now;
  inst.updated_ms = now;

  RegistrationCheck check;
  check.register_code_id = code_id;
  check.value_hash = sha256_hex(code_value);
  check.now_ms = now;
  const std::string remote = plain_ipv4(request.remote_address);
  check.extra = [remote](const RegisterCode& code) -> Status {
    if (code.ip_address_range.empty() || ip_in_range(remote, code.ip_address_range)) {
      return {};
    }
    return Error{
        agent_codes::kIpAddressOutOfRange,
        "the agent's address " + remote + " is outside the register code's IpAddressRange"};
  };

  // A generated id may collide with an existing one: then another id, a few times.
  for (int attempt = 0;; ++attempt) {
    inst.instance_id = instance_id;
    const std::string suffix = instance_id.substr(5, 4);
    inst.instance_name = !prefix.empty() ? utf8_prefix(prefix, kMaxInstanceName - 5) + "-" + suffix
                         : !hostname.empty() ? utf8_prefix(hostname, kMaxInstanceName)
                                             : instance_id;
    auto s = ctx_.store.register_instance(check, inst);
    if (s) {
      break;
    }
    const std::string& code = s.error().code;
    if (code == store_codes::kIdDuplicated && attempt < 3) {
      // A concurrent registration of the same key (a retry racing the original) won.
      auto existing = ctx_.store.get_instance(instance_id);
      if (!existing) {
        return existing.error();
      }
      if (*existing && (*existing)->public_key == public_key) {
        return nlohmann::json{{"InstanceId", instance_id},
                              {"InstanceName", (*existing)->instance_name}};
      }
      auto random = random_id("rins-", 8);
      if (!random) {
        return random.error();
      }
      instance_id = *random;
      continue;
    }
    spdlog::info("agent: refused registration {} with code {} from {}: {}", request_id, code_id,
                 request.remote_address, code);
    if (code == store_codes::kRegisterCodeNotFound ||
        code == store_codes::kRegisterCodeValueMismatch) {
      // One answer for both, so that probing ids teaches nothing.
      return Error{agent_codes::kRegisterCodeInvalid, "the register code id or value is wrong"};
    }
    return s.error();
  }
  spdlog::info("agent: registered instance {} ({}) with code {} from {}", inst.instance_id,
               inst.instance_name, code_id, request.remote_address);
  return nlohmann::json{{"InstanceId", inst.instance_id}, {"InstanceName", inst.instance_name}};
}

nlohmann::json AgentGateway::task_to_wire(const InvocationTask& t,
                                          const RegisterInstance& agent) const {
  Task task;
  task.invocation_task_id = t.invocation_task_id;
  task.invocation_id = t.invocation_id;
  task.command_id = t.command_id;
  task.content = t.document.content;
  task.command_type = parse_command_type(t.document.command_type).value_or(CommandType::kShell);
  task.working_directory = t.document.working_directory;
  task.username = t.document.username;
  task.timeout_seconds = std::clamp(t.document.timeout, kMinTimeoutSeconds, kMaxTimeoutSeconds);
  task.enable_parameter = t.enable_parameter;
  task.parameters = parameter_map(t.parameters);
  task.builtins.region_id = ctx_.settings.regions.empty() ? "" : ctx_.settings.regions[0].region;
  task.builtins.account_id = ctx_.settings.account_id;
  task.builtins.instance_id = agent.instance_id;
  task.builtins.instance_name = agent.instance_name;
  nlohmann::json j = to_json(task);
  j["OutputCOSBucketUrl"] = t.document.output_cos_bucket_url;
  j["OutputCOSKeyPrefix"] = t.document.output_cos_key_prefix;
  return j;
}

Expected<nlohmann::json> AgentGateway::describe_tasks(const RegisterInstance& agent, Params& p) {
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  TaskQuery q;
  q.instance_ids = {agent.instance_id};
  q.statuses = {TaskStatus::kPending, TaskStatus::kDeliverDelayed, TaskStatus::kDelivering,
                TaskStatus::kCancelling};
  q.with_output = false;
  q.limit = kTaskPage;
  std::vector<InvocationTask> tasks;
  for (;;) {
    auto page = ctx_.store.list_tasks(q);
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
  // Oldest first, so that a backlog drains in the order it was made.
  std::sort(tasks.begin(), tasks.end(), [](const InvocationTask& a, const InvocationTask& b) {
    return std::tie(a.created_ms, a.invocation_task_id) <
           std::tie(b.created_ms, b.invocation_task_id);
  });

  const int64_t now = ctx_.clock.now_ms();
  nlohmann::json normal = nlohmann::json::array();
  nlohmann::json cancels = nlohmann::json::array();
  bool has_more = false;
  for (const auto& t : tasks) {
    if (t.status == TaskStatus::kCancelling) {
      cancels.push_back({{"InvocationTaskId", t.invocation_task_id}});
      continue;
    }
    if (normal.size() >= options_.max_tasks_per_reply) {
      has_more = true;
      continue;
    }
    if (t.status == TaskStatus::kDelivering) {
      // Sent again until the agent reports a start: a lost reply must not lose the task.
      normal.push_back(task_to_wire(t, agent));
      continue;
    }
    auto updated = ctx_.store.modify_task(t.invocation_task_id, [&](InvocationTask& cur) {
      if (cur.instance_id != agent.instance_id ||
          !can_transition(cur.status, TaskStatus::kDelivering)) {
        return false;
      }
      cur.status = TaskStatus::kDelivering;
      cur.delivered_ms = now;
      cur.updated_ms = now;
      return true;
    });
    if (!updated) {
      return updated.error();
    }
    if (*updated && (*updated)->status == TaskStatus::kDelivering) {
      spdlog::info("agent: task {} delivered to {}", t.invocation_task_id, agent.instance_id);
      normal.push_back(task_to_wire(**updated, agent));
    } else if (*updated && (*updated)->status == TaskStatus::kCancelling) {
      cancels.push_back({{"InvocationTaskId", t.invocation_task_id}});
    }
  }
  return nlohmann::json{{"InvocationNormalTaskSet", std::move(normal)},
                        {"InvocationCancelTaskSet", std::move(cancels)},
                        {"HasMore", has_more}};
}

Expected<InvocationTask> AgentGateway::owned_task(const RegisterInstance& agent,
                                                  const std::string& task_id) {
  if (!is_token(task_id, 1, kMaxInstanceId)) {
    return invalid("InvocationTaskId", "must be 1 to 64 characters of [A-Za-z0-9_-]");
  }
  auto task = ctx_.store.get_task(task_id);
  if (!task) {
    return task.error();
  }
  if (!*task) {
    return Error{codes::kInvocationTaskNotFound, "task " + task_id + " does not exist"};
  }
  if ((*task)->instance_id != agent.instance_id) {
    return Error{agent_codes::kUnauthorizedOperation,
                 "task " + task_id + " belongs to another instance"};
  }
  return std::move(**task);
}

Expected<nlohmann::json> AgentGateway::report_task_start(const RegisterInstance& agent, Params& p) {
  const std::string task_id = p.req_string("InvocationTaskId");
  const auto timestamp = p.opt_string("TimeStamp");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  auto started_ms = parse_time_field("TimeStamp", timestamp);
  if (!started_ms) {
    return started_ms.error();
  }
  if (auto owned = owned_task(agent, task_id); !owned) {
    return owned.error();
  }
  const int64_t now = ctx_.clock.now_ms();
  bool changed = false;
  auto updated = ctx_.store.modify_task(task_id, [&](InvocationTask& t) {
    if (!advance_task(t, TaskStatus::kRunning)) {
      return false;  // already running, being cancelled, or final: a repeat or a late report
    }
    if (t.delivered_ms == 0) {
      t.delivered_ms = now;
    }
    t.start_ms = now;
    if (*started_ms != 0) {
      t.exec_start_ms = *started_ms;
    }
    t.updated_ms = now;
    changed = true;
    return true;
  });
  if (!updated) {
    return updated.error();
  }
  if (!*updated) {
    return Error{codes::kInvocationTaskNotFound, "task " + task_id + " does not exist"};
  }
  if (changed) {
    spdlog::info("agent: task {} running on {}", task_id, agent.instance_id);
  }
  return nlohmann::json{{"TaskStatus", to_string((*updated)->status)}};
}

Expected<nlohmann::json> AgentGateway::upload_task_log(const RegisterInstance& agent, Params& p) {
  const std::string task_id = p.req_string("InvocationTaskId");
  const auto index = p.opt_int("Index");
  const std::string output_b64 = p.req_string("Output");
  const auto dropped = p.opt_int("Dropped");
  if (p.ok() && !index) {
    p.fail(Error{codes::kMissingParameter, "the parameter Index is required"});
  }
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (*index < 0 || *index > kMaxLogIndex) {
    return invalid("Index", "must be an integer in [0, 1000000]");
  }
  if (dropped && *dropped < 0) {
    return invalid("Dropped", "must not be negative");
  }
  auto output = base64_decode(output_b64);
  if (!output) {
    return invalid("Output", output.error().message);
  }
  auto task = owned_task(agent, task_id);
  if (!task) {
    return task.error();
  }
  if (is_final(task->status)) {
    return nlohmann::json::object();  // the final report already carries the output
  }
  auto stored = ctx_.store.task_log(task_id);
  if (!stored) {
    return stored.error();
  }
  const std::size_t budget = options_.max_live_output_bytes > stored->size()
                                 ? options_.max_live_output_bytes - stored->size()
                                 : 0;
  if (budget == 0) {
    return nlohmann::json::object();
  }
  if (auto s = ctx_.store.put_task_log(task_id, *index, utf8_prefix(*output, budget)); !s) {
    return s.error();
  }
  return nlohmann::json::object();
}

Expected<nlohmann::json> AgentGateway::report_task_finish(const RegisterInstance& agent,
                                                          Params& p) {
  const std::string task_id = p.req_string("InvocationTaskId");
  const std::string result_text = p.req_string("Result");
  const auto exit_code = p.opt_int("ExitCode");
  const std::string output_b64 = p.opt_string("Output").value_or("");
  const auto dropped = p.opt_int("Dropped");
  const auto output_size = p.opt_int("OutputSize");
  const auto exec_start = p.opt_string("ExecStartTime");
  const auto exec_end = p.opt_string("ExecEndTime");
  const std::string error_info = p.opt_string("ErrorInfo").value_or("");
  const auto final_log_index = p.opt_int("FinalLogIndex");
  const std::string output_url = p.opt_string("OutputUrl").value_or("");
  const std::string upload_error = p.opt_string("OutputUploadCOSErrorInfo").value_or("");
  const auto timestamp = p.opt_string("TimeStamp");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  const auto result = parse_task_status(result_text);
  if (!result || !is_agent_result(*result)) {
    return invalid("Result",
                   "must be one of SUCCESS, FAILED, TIMEOUT, TERMINATED, START_FAILED, CANCELLED");
  }
  auto output = base64_decode(output_b64);
  if (!output) {
    return invalid("Output", output.error().message);
  }
  if (output->size() > options_.max_final_output_bytes) {
    return Error{codes::kTooLong, "Output: at most " +
                                      std::to_string(options_.max_final_output_bytes) +
                                      " bytes once decoded"};
  }
  if ((dropped && *dropped < 0) || (output_size && *output_size < 0)) {
    return invalid(dropped && *dropped < 0 ? "Dropped" : "OutputSize", "must not be negative");
  }
  if (final_log_index && (*final_log_index < -1 || *final_log_index > kMaxLogIndex)) {
    return invalid("FinalLogIndex", "must be an integer in [-1, 1000000]");
  }
  if (output_url.size() > kMaxOutputUrl || !is_plain_text(output_url)) {
    return invalid("OutputUrl", "at most 2048 characters, no control characters");
  }
  auto start_ms = parse_time_field("ExecStartTime", exec_start);
  if (!start_ms) {
    return start_ms.error();
  }
  auto end_ms = parse_time_field("ExecEndTime", exec_end);
  if (!end_ms) {
    return end_ms.error();
  }
  if (auto ts = parse_time_field("TimeStamp", timestamp); !ts) {
    return ts.error();
  }
  if (auto owned = owned_task(agent, task_id); !owned) {
    return owned.error();
  }
  const int64_t now = ctx_.clock.now_ms();
  TaskStatus final_status = *result;
  bool changed = false;
  auto updated = ctx_.store.modify_task(task_id, [&](InvocationTask& t) {
    if (is_final(t.status)) {
      return false;  // a repeated or late report: the first final state stands
    }
    final_status = *result;
    // CANCELLED means "never started"; a task that did start and was then cancelled ended
    // TERMINATED, which is what the API must show.
    if (final_status == TaskStatus::kCancelled &&
        (t.status == TaskStatus::kRunning || t.start_ms != 0)) {
      final_status = TaskStatus::kTerminated;
    }
    if (!advance_task(t, final_status)) {
      return false;
    }
    if (t.delivered_ms == 0) {
      t.delivered_ms = now;
    }
    const bool ran = final_status != TaskStatus::kStartFailed &&
                     !(final_status == TaskStatus::kCancelled && t.start_ms == 0);
    if (t.start_ms == 0 && ran) {
      t.start_ms = now;
    }
    t.exit_code = exit_code.value_or(-1);
    t.output = output_b64;
    t.dropped = static_cast<uint64_t>(dropped.value_or(0));
    if (*start_ms != 0) {
      t.exec_start_ms = *start_ms;
    }
    t.exec_end_ms = *end_ms;
    t.error_info = utf8_prefix(error_info, kMaxErrorInfo);
    t.output_url = output_url;
    t.output_upload_error = utf8_prefix(upload_error, kMaxErrorInfo);
    t.end_ms = now;
    t.updated_ms = now;
    changed = true;
    return true;
  });
  if (!updated) {
    return updated.error();
  }
  if (!*updated) {
    return Error{codes::kInvocationTaskNotFound, "task " + task_id + " does not exist"};
  }
  if (changed) {
    spdlog::info("agent: task {} finished on {}: {}", task_id, agent.instance_id,
                 to_string(final_status));
  } else {
    spdlog::debug("agent: task {}: {} report ignored, the task is {}", task_id, result_text,
                  to_string((*updated)->status));
  }
  return nlohmann::json{{"TaskStatus", to_string((*updated)->status)}};
}

Expected<nlohmann::json> AgentGateway::heartbeat(const RegisterInstance& agent, Params& p) {
  const std::string version = p.opt_string("Version").value_or("");
  const std::string environment = p.opt_string("Environment").value_or("");
  const auto features = p.opt_string_list("SupportFeatures");
  (void)p.opt_int("ProtocolVersion");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (version.size() > kMaxShortText || !is_plain_text(version)) {
    return invalid("Version", "at most 128 characters, no control characters");
  }
  if (!environment.empty() && environment != "Linux" && environment != "Windows") {
    return invalid("Environment", "must be Linux or Windows");
  }
  if (features && (features->size() > kMaxFeatures ||
                   std::any_of(features->begin(), features->end(), [](const std::string& f) {
                     return f.size() > kMaxShortText || !is_plain_text(f);
                   }))) {
    return invalid("SupportFeatures", "at most 64 names of at most 128 characters");
  }
  const int64_t now = ctx_.clock.now_ms();
  if (auto s = ctx_.store.record_heartbeat(agent.instance_id, version, environment,
                                           features.value_or(std::vector<std::string>{}), now);
      !s) {
    return s.error();
  }
  return nlohmann::json{{"HeartbeatInterval", options_.heartbeat_interval_s}};
}

}  // namespace ferry::server
