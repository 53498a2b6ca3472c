#include "ferry/agent/identity.hpp"

#include <nlohmann/json.hpp>

#include "ferry/core/error_codes.hpp"
#include "ferry/platform/fs.hpp"

namespace ferry::agent {
namespace {

constexpr std::size_t kMaxIdentityFile = 64 * 1024;

// A file that holds a secret must be this user's and private to it.
Status check_private_file(const std::filesystem::path& path, const char* holds) {
  const auto facts = platform::inspect_file(path, platform::FollowLinks::kNo);
  if (!facts) {
    return Error{codes::kInvalidParameterValue, facts.error().message};
  }
  if (!facts->regular_file) {
    return Error{codes::kInvalidParameterValue, path.string() + ": not a regular file"};
  }
  if (!facts->private_to_owner || !facts->owner.same_user(platform::current_account())) {
    return Error{
        codes::kInvalidParameterValue,
        path.string() + ": must be owned by this user with mode 0600 (it holds " + holds + ")"};
  }
  return {};
}

}  // namespace

std::filesystem::path identity_file(const std::filesystem::path& state_dir) {
  return state_dir / "identity.json";
}

std::filesystem::path key_file(const std::filesystem::path& state_dir) {
  return state_dir / "agent.key";
}

std::filesystem::path register_code_file(const std::filesystem::path& state_dir) {
  return state_dir / "register_code.json";
}

Expected<Identity> load_identity(const std::filesystem::path& state_dir) {
  const auto path = identity_file(state_dir);
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::symlink_status(path, ec))) {
    return Error{codes::kInvalidParameterValue,
                 "not registered: " + path.string() +
                     " does not exist (run `ferry-agent register --server URL --register-code-id "
                     "ID --register-code VALUE` first, or provide a register file, the "
                     "configuration's register_file: operations.md, \"Images and first boot\")"};
  }
  return read_identity_file(path);
}

Expected<Identity> read_identity_file(const std::filesystem::path& path) {
  auto text = platform::read_file(path, kMaxIdentityFile);
  if (!text) {
    return Error{codes::kInvalidParameterValue, text.error().message};
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
    id.machine_id = j.value("MachineId", "");
  } catch (const nlohmann::json::exception& e) {
    return bad(std::string("missing or wrong field: ") + e.what());
  }
  if (id.instance_id.empty() || id.server_url.empty()) {
    return bad("InstanceId and ServerUrl must not be empty");
  }
  return id;
}

Status save_identity(const std::filesystem::path& state_dir, const Identity& identity) {
  return write_identity_file(identity_file(state_dir), identity);
}

Status write_identity_file(const std::filesystem::path& file, const Identity& identity) {
  nlohmann::json j{{"InstanceId", identity.instance_id},
                   {"InstanceName", identity.instance_name},
                   {"ServerUrl", identity.server_url},
                   {"CaFile", identity.ca_file},
                   {"AllowPlainHttp", identity.allow_plain_http},
                   {"RegisteredAt", identity.registered_at},
                   {"MachineId", identity.machine_id}};
  return platform::write_file_atomic(file, j.dump(2) + "\n");
}

Expected<std::optional<RegisterCode>> load_register_code(const std::filesystem::path& state_dir) {
  const auto path = register_code_file(state_dir);
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::symlink_status(path, ec))) {
    return std::optional<RegisterCode>();
  }
  if (auto s = check_private_file(path, "a register code"); !s) {
    return s.error();
  }
  auto text = platform::read_file(path, kMaxIdentityFile);
  if (!text) {
    return Error{codes::kInvalidParameterValue, text.error().message};
  }
  const auto j = nlohmann::json::parse(*text, nullptr, false);
  RegisterCode code;
  if (j.is_object() && j.contains("RegisterCodeId") && j["RegisterCodeId"].is_string() &&
      j.contains("RegisterCodeValue") && j["RegisterCodeValue"].is_string()) {
    code.id = j["RegisterCodeId"].get<std::string>();
    code.value = j["RegisterCodeValue"].get<std::string>();
  }
  if (code.id.empty() || code.value.empty()) {
    return Error{codes::kInvalidParameterValue,
                 path.string() + ": not an object with RegisterCodeId and RegisterCodeValue"};
  }
  return std::optional<RegisterCode>(std::move(code));
}

Status save_register_code(const std::filesystem::path& state_dir, const RegisterCode& code) {
  const nlohmann::json j{{"RegisterCodeId", code.id}, {"RegisterCodeValue", code.value}};
  return platform::write_file_atomic(register_code_file(state_dir), j.dump(2) + "\n");
}

Expected<Ed25519PrivateKey> load_key(const std::filesystem::path& state_dir) {
  return read_key_file(key_file(state_dir));
}

Expected<Ed25519PrivateKey> read_key_file(const std::filesystem::path& path) {
  if (auto s = check_private_file(path, "the agent's private key"); !s) {
    return s.error();
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
  return write_key_file(key_file(state_dir), key);
}

Status write_key_file(const std::filesystem::path& path, const Ed25519PrivateKey& key) {
  auto pem = key.to_pem();
  if (!pem) {
    return pem.error();
  }
  return platform::write_file_atomic(path, *pem);
}

}  // namespace ferry::agent
