#include "ferry/server/domain/agent_registration.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string_view>

#include "ferry/core/crypto.hpp"
#include "ferry/core/ed25519.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/server/domain/ip_range.hpp"
#include "ferry/server/domain/text.hpp"
#include "ferry/server/domain/value_rules.hpp"
#include "ferry/server/store/store_errors.hpp"

namespace ferry::server::domain {
namespace {

constexpr std::size_t kMaxHostname = 255;
constexpr std::size_t kMaxMachineId = 128;
constexpr std::size_t kMaxLocalIps = 32;
constexpr std::size_t kMaxShortText = 128;

Error code_invalid() {
  return Error{registration_codes::kRegisterCodeInvalid, "the register code id or value is wrong"};
}

// Agents behind a dual-stack listener show up as IPv4-mapped IPv6 addresses.
std::string plain_ipv4(const std::string& address) {
  constexpr std::string_view kMapped = "::ffff:";
  if (address.size() > kMapped.size() && address.find('.') != std::string::npos &&
      std::equal(kMapped.begin(), kMapped.end(), address.begin(),
                 [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
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

// The instance `id` when it holds `public_key` already (a retry), else nullopt.
Expected<std::optional<RegisteredInstance>> registered_with(Store& store, const std::string& id,
                                                            const std::string& public_key,
                                                            bool& taken) {
  auto existing = store.get_instance(id);
  if (!existing) {
    return existing.error();
  }
  taken = existing->has_value();
  if (taken && (*existing)->public_key == public_key) {
    return std::optional<RegisteredInstance>(RegisteredInstance{id, (*existing)->instance_name});
  }
  return std::optional<RegisteredInstance>();
}

}  // namespace

Status check_registration(const Registration& r) {
  if (!ed25519_public_key_from_base64(r.public_key)) {
    return invalid_value("PublicKey", "must be the base64 of a raw 32-byte Ed25519 public key");
  }
  if (r.system_name != "Linux" && r.system_name != "Windows") {
    return invalid_value("SystemName", "must be Linux or Windows");
  }
  if (!is_short_text(r.hostname, kMaxHostname)) {
    return invalid_value("Hostname", "at most 255 characters, no control characters");
  }
  if (!is_short_text(r.machine_id, kMaxMachineId)) {
    return invalid_value("MachineId", "at most 128 characters, no control characters");
  }
  if (r.local_ips.size() > kMaxLocalIps ||
      !std::all_of(r.local_ips.begin(), r.local_ips.end(),
                   [](const std::string& ip) { return is_short_text(ip, kMaxShortText); })) {
    return invalid_value("LocalIp", "at most 32 addresses of at most 128 characters");
  }
  if (!r.instance_name.empty() &&
      (utf8_length(r.instance_name) > kMaxInstanceName || has_control(r.instance_name))) {
    return invalid_value("InstanceName", "1 to 60 characters without control characters");
  }
  if (r.register_code_id.empty() || r.register_code_id.size() > kMaxShortText ||
      r.register_code_value.empty()) {
    return code_invalid();
  }
  return {};
}

Status check_register_code(ServerContext& ctx, const Registration& r) {
  auto page = ctx.store.list_register_codes({r.register_code_id}, 0, 1);
  if (!page) {
    return page.error();
  }
  if (page->items.empty() ||
      !constant_time_equal(sha256_hex(r.register_code_value), page->items.front().value_hash)) {
    return code_invalid();
  }
  return {};
}

Expected<RegisteredInstance> register_instance(ServerContext& ctx, const Registration& r) {
  auto key_raw = ed25519_public_key_from_base64(r.public_key);
  if (!key_raw) {
    return invalid_value("PublicKey", "must be the base64 of a raw 32-byte Ed25519 public key");
  }
  const int64_t now = ctx.clock.now_ms();
  std::string instance_id = instance_id_for_key(*key_raw);
  bool taken = false;
  {
    auto again = registered_with(ctx.store, instance_id, r.public_key, taken);
    if (!again) {
      return again.error();
    }
    if (*again) {
      spdlog::info("agent: instance {} registered again with its key (a retry)", instance_id);
      return **again;
    }
    if (taken) {
      auto random = random_id("rins-", 8);
      if (!random) {
        return random.error();
      }
      instance_id = *random;
    }
  }
  auto code_page = ctx.store.list_register_codes({r.register_code_id}, 0, 1);
  if (!code_page) {
    return code_page.error();
  }
  if (code_page->items.empty()) {
    return code_invalid();
  }
  const std::string prefix = code_page->items.front().instance_name_prefix;

  RegisterInstance inst;
  inst.register_code_id = r.register_code_id;
  inst.machine_id = r.machine_id;
  inst.system_name = r.system_name;
  inst.host_name = r.hostname;
  inst.local_ip = r.local_ips.empty() ? "" : r.local_ips.front();
  inst.public_key = r.public_key;
  inst.created_ms = now;
  inst.updated_ms = now;

  RegistrationCheck check;
  check.register_code_id = r.register_code_id;
  check.value_hash = sha256_hex(r.register_code_value);
  check.now_ms = now;
  const std::string remote = plain_ipv4(r.remote_address);
  check.extra = [remote](const RegisterCode& code) -> Status {
    if (code.ip_address_range.empty() || ip_in_range(remote, code.ip_address_range)) {
      return {};
    }
    return Error{
        registration_codes::kIpAddressOutOfRange,
        "the agent's address " + remote + " is outside the register code's IpAddressRange"};
  };

  // A generated id may collide with an existing one: then another id, a few times.
  for (int attempt = 0;; ++attempt) {
    inst.instance_id = instance_id;
    const std::string suffix = instance_id.substr(5, 4);
    inst.instance_name = !prefix.empty() ? utf8_prefix(prefix, kMaxInstanceName - 5) + "-" + suffix
                         : !r.hostname.empty() ? utf8_prefix(r.hostname, kMaxInstanceName)
                                               : instance_id;
    if (!r.instance_name.empty()) {
      inst.instance_name = r.instance_name;  // asked for by the agent (its register file)
    }
    auto s = ctx.store.register_instance(check, inst);
    if (s) {
      break;
    }
    const std::string& code = s.error().code;
    if (code == store_codes::kIdDuplicated && attempt < 3) {
      // A concurrent registration of the same key (a retry racing the original) won.
      auto again = registered_with(ctx.store, instance_id, r.public_key, taken);
      if (!again) {
        return again.error();
      }
      if (*again) {
        return **again;
      }
      auto random = random_id("rins-", 8);
      if (!random) {
        return random.error();
      }
      instance_id = *random;
      continue;
    }
    spdlog::info("agent: refused registration with code {} from {}: {}", r.register_code_id,
                 r.remote_address, code);
    if (code == store_codes::kRegisterCodeNotFound ||
        code == store_codes::kRegisterCodeValueMismatch) {
      return code_invalid();
    }
    return s.error();
  }
  spdlog::info("agent: registered instance {} ({}) with code {} from {}", inst.instance_id,
               inst.instance_name, r.register_code_id, r.remote_address);
  return RegisteredInstance{inst.instance_id, inst.instance_name};
}

}  // namespace ferry::server::domain
