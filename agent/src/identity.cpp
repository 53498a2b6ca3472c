#include "ferry/agent/identity.hpp"

#include <nlohmann/json.hpp>

#include "ferry/core/error_codes.hpp"
#include "ferry/platform/fs.hpp"

namespace ferry::agent {
namespace {

constexpr std::size_t kMaxIdentityFile = 64 * 1024;

}  // namespace

std::filesystem::path identity_file(const std::filesystem::path& state_dir) {
  return state_dir / "identity.json";
}

std::filesystem::path key_file(const std::filesystem::path& state_dir) {
  return state_dir / "agent.key";
}

Expected<Identity> load_identity(const std::filesystem::path& state_dir) {
  const auto path = identity_file(state_dir);
  auto text = platform::read_file(path, kMaxIdentityFile);
  if (!text) {
    return Error{codes::kInvalidParameterValue,
                 "not registered: " + text.error().message +
                     " (run `ferry-agent register --server URL --register-code-id ID "
                     "--register-code VALUE` first)"};
  }
  auto j = nlohmann::json::parse(*text, nullptr, false);
  auto bad = [&](const std::string& why) {
    return Error{codes::kInvalidParameterValue, path.string() + ": " + why};
  };
  if (!j.is_object()) {
    return bad("not a JSON object");
  }
  Identity id;
  try {
    id.instance_id = j.at("InstanceId").get<std::string>();
    id.instance_name = j.value("InstanceName", "");
    id.server_url = j.at("ServerUrl").get<std::string>();
    id.ca_file = j.value("CaFile", "");
    id.allow_plain_http = j.value("AllowPlainHttp", false);
    id.registered_at = j.value("RegisteredAt", "");
  } catch (const nlohmann::json::exception& e) {
    return bad(std::string("missing or wrong field: ") + e.what());
  }
  if (id.instance_id.empty() || id.server_url.empty()) {
    return bad("InstanceId and ServerUrl must not be empty");
  }
  return id;
}

Status save_identity(const std::filesystem::path& state_dir, const Identity& identity) {
  nlohmann::json j{{"InstanceId", identity.instance_id},
                   {"InstanceName", identity.instance_name},
                   {"ServerUrl", identity.server_url},
                   {"CaFile", identity.ca_file},
                   {"AllowPlainHttp", identity.allow_plain_http},
                   {"RegisteredAt", identity.registered_at}};
  return platform::write_file_atomic(identity_file(state_dir), j.dump(2) + "\n");
}

Expected<Ed25519PrivateKey> load_key(const std::filesystem::path& state_dir) {
  const auto path = key_file(state_dir);
  const auto facts = platform::inspect_file(path, platform::FollowLinks::kNo);
  if (!facts) {
    return Error{codes::kInvalidParameterValue, facts.error().message};
  }
  if (!facts->regular_file) {
    return Error{codes::kInvalidParameterValue, path.string() + ": not a regular file"};
  }
  if (!facts->private_to_owner || !facts->owner.same_user(platform::current_account())) {
    return Error{codes::kInvalidParameterValue,
                 path.string() + ": must be owned by this user with mode 0600 (it holds the " +
                     "agent's private key)"};
  }
  auto pem = platform::read_file(path, kMaxIdentityFile);
  if (!pem) {
    return pem.error();
  }
  auto key = Ed25519PrivateKey::from_pem(*pem);
  if (!key) {
    return key.error().wrap(path.string());
  }
  return std::move(*key);
}

Status save_key(const std::filesystem::path& state_dir, const Ed25519PrivateKey& key) {
  auto pem = key.to_pem();
  if (!pem) {
    return pem.error();
  }
  return platform::write_file_atomic(key_file(state_dir), *pem);
}

}  // namespace ferry::agent
