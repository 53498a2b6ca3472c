#include "ferry/agent/first_boot.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "ferry/agent/agent_paths.hpp"
#include "ferry/agent/server_url.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/platform/fs.hpp"
#include "ferry/platform/host.hpp"
#include "ferry/platform/users.hpp"

namespace ferry::agent {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxRegisterFile = 64 * 1024;
constexpr std::size_t kMaxInstanceNameChars = 60;

bool path_exists(const fs::path& path) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(path, ec));
}

Error register_file_error(const fs::path& file, const std::string& why) {
  return Error{codes::kInvalidParameterValue, file.string() + ": " + why};
}

// 1 to 60 characters (UTF-8), none of them a control character.
bool plausible_instance_name(const std::string& name) {
  const auto chars = std::count_if(name.begin(), name.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  });
  return chars >= 1 && static_cast<std::size_t>(chars) <= kMaxInstanceNameChars &&
         std::none_of(name.begin(), name.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// The hint every failed registration ends with.
std::string how_to_register(const fs::path& register_file) {
  return "Write a register code with room left (`ferry register-code create --limit N`) to " +
         register_file.string() +
         " and start the agent again, or register by hand with `ferry-agent register --force` "
         "(operations.md, \"Images and first boot\")";
}

void remove_register_file(const fs::path& file) {
  std::error_code ec;
  if (!fs::remove(file, ec) || ec) {
    spdlog::error("{} could not be removed ({}): remove it by hand, it holds a register code",
                  file.string(), ec ? ec.message() : "gone already");
  }
}

// "<what> failed: <why>", then what to do, with the error's code (which decides the exit code).
Error registration_failed(const Error& error, const std::string& what,
                          const fs::path& register_file) {
  const std::string next = prepare_identity_exit_code(error) == 1
                               ? " (tried again when the agent starts again)"
                               : ". To fix: " + how_to_register(register_file);
  return Error{error.code, what + " failed: " + error.message + next};
}

// The registration itself, saved. The key of an earlier attempt on this machine whose reply was
// lost is used again (registration.hpp).
Status register_and_commit(const IdentitySetup& setup, const Registrar& registrar,
                           const RegistrationRequest& request) {
  auto key = registration_key(pending_key_file(setup.state_dir, request.machine_id));
  if (!key) {
    return key.error();
  }
  auto identity = registrar(request, *key);
  if (!identity) {
    return identity.error();
  }
  return commit_registration(setup.state_dir, *identity, request.code);
}

RegistrationRequest request_from(const RegisterFile& file, const std::string& machine_id) {
  RegistrationRequest r;
  r.server_url = file.server_url;
  r.ca_file = file.ca_file;
  r.allow_plain_http = file.allow_plain_http;
  r.code = file.code;
  r.instance_name = file.instance_name;
  r.machine_id = machine_id;
  return r;
}

Status first_registration(const IdentitySetup& setup, const Registrar& registrar) {
  auto file = read_register_file(setup.register_file);
  if (!file) {
    return file.error();
  }
  if (auto s = prepare_state_dir(setup.state_dir); !s) {
    return s.error().wrap("state dir");
  }
  spdlog::info("not registered: registering with {} from {}", file->server_url,
               setup.register_file.string());
  if (auto s = register_and_commit(setup, registrar, request_from(*file, setup.machine_id)); !s) {
    return registration_failed(s.error(), "registering from " + setup.register_file.string(),
                               setup.register_file);
  }
  remove_register_file(setup.register_file);
  auto identity = load_identity(setup.state_dir);
  if (!identity) {
    return identity.error();
  }
  spdlog::info("registered as {} ({}); {} removed", identity->instance_id, identity->instance_name,
               setup.register_file.string());
  return {};
}

Status register_clone(const IdentitySetup& setup, const Registrar& registrar, const Identity& old) {
  const std::string why = "this state dir was registered as " + old.instance_id +
                          " on machine id " + old.machine_id + ", but this machine's id is " +
                          setup.machine_id + ": a clone of a registered image, or a re-imaged " +
                          "machine";
  RegistrationRequest request;
  std::string with;
  const bool from_file = path_exists(setup.register_file);
  if (from_file) {
    auto file = read_register_file(setup.register_file);
    if (!file) {
      return file.error().wrap(why);
    }
    request = request_from(*file, setup.machine_id);
    with = setup.register_file.string();
  } else {
    auto stored = load_register_code(setup.state_dir);
    if (!stored) {
      return stored.error().wrap(why);
    }
    if (!*stored) {
      return Error{kNoRegisterCode, why + "; no register code is stored to register it again. " +
                                        "To fix: " + how_to_register(setup.register_file)};
    }
    request.server_url = setup.server_url.value_or(old.server_url);
    request.ca_file = setup.ca_file.value_or(old.ca_file);
    request.allow_plain_http = setup.allow_plain_http.value_or(old.allow_plain_http);
    request.code = **stored;
    request.machine_id = setup.machine_id;
    with = "the stored register code " + request.code.id;
  }
  spdlog::warn("{}; registering it again with {}", why, with);
  if (auto s = register_and_commit(setup, registrar, request); !s) {
    return registration_failed(s.error(), why + "; registering it again with " + with,
                               setup.register_file);
  }
  if (from_file) {
    remove_register_file(setup.register_file);
  }
  auto identity = load_identity(setup.state_dir);
  if (!identity) {
    return identity.error();
  }
  spdlog::warn(
      "registered again as {} ({}) because the machine id changed; {}'s identity is kept in "
      "identity.json.{} and its journal in tasks.{}, never reported under {}",
      identity->instance_id, identity->instance_name, old.instance_id, old.instance_id,
      old.instance_id, identity->instance_id);
  return {};
}

// A register file beside an identity of this machine: left by a registration that ended before
// it removed the file (then its code is the stored one and it goes), or put there by someone.
void leftover_register_file(const IdentitySetup& setup, const Identity& identity) {
  if (!path_exists(setup.register_file)) {
    return;
  }
  auto file = read_register_file(setup.register_file);
  auto stored = load_register_code(setup.state_dir);
  if (file && stored && *stored && (*stored)->id == file->code.id &&
      (*stored)->value == file->code.value) {
    spdlog::info("{}: its register code registered this agent already; removed",
                 setup.register_file.string());
    remove_register_file(setup.register_file);
    return;
  }
  spdlog::warn(
      "{} is ignored: this agent is registered already as {} on this machine (remove the file; "
      "to register again, use `ferry-agent register --force`)",
      setup.register_file.string(), identity.instance_id);
}

}  // namespace

Expected<RegisterFile> read_register_file(const fs::path& file) {
  const auto facts = platform::inspect_file(file, platform::FollowLinks::kNo);
  if (!facts) {
    return Error{codes::kInvalidParameterValue, facts.error().message};
  }
  if (!facts->regular_file) {
    return register_file_error(file, "not a regular file (a symbolic link is not followed)");
  }
  const auto self = platform::current_account();
  if (!facts->owner.is_superuser() && !facts->owner.same_user(self)) {
    return register_file_error(file, "owned by " + facts->owner.describe() +
                                         "; it must be owned by root or by the agent's user (" +
                                         self.describe() + ")");
  }
  if (!facts->private_to_owner) {
    return register_file_error(
        file,
        "other accounts may read or write it, and it holds a register code: its mode must "
        "be 0600 or stricter (chmod 600)");
  }
  auto text = platform::read_file(file, kMaxRegisterFile);
  if (!text) {
    return Error{codes::kInvalidParameterValue, text.error().message};
  }
  const auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object()) {
    return register_file_error(file, "not a JSON object");
  }
  RegisterFile out;
  for (const auto& [key, value] : j.items()) {
    std::string* text_field = key == "server_url"         ? &out.server_url
                              : key == "register_code_id" ? &out.code.id
                              : key == "register_code"    ? &out.code.value
                              : key == "ca_file"          ? &out.ca_file
                              : key == "instance_name"    ? &out.instance_name
                                                          : nullptr;
    if (text_field != nullptr) {
      if (!value.is_string()) {
        return register_file_error(file, key + ": must be a string");
      }
      *text_field = value.get<std::string>();
    } else if (key == "allow_plain_http") {
      if (!value.is_boolean()) {
        return register_file_error(file, key + ": must be true or false");
      }
      out.allow_plain_http = value.get<bool>();
    } else {
      return register_file_error(file, key + ": unknown key");
    }
  }
  for (const auto& [key, value] :
       {std::pair<const char*, const std::string*>{"server_url", &out.server_url},
        {"register_code_id", &out.code.id},
        {"register_code", &out.code.value}}) {
    if (value->empty()) {
      return register_file_error(file, std::string(key) + ": required, and must not be empty");
    }
  }
  if (auto url = parse_server_url(out.server_url, out.allow_plain_http); !url) {
    return url.error().wrap(file.string() + ": server_url");
  }
  if (out.code.id.size() > 128 || !std::all_of(out.code.id.begin(), out.code.id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
      })) {
    return register_file_error(file, "register_code_id: not a register code id");
  }
  if (!out.ca_file.empty() && out.ca_file.front() != '/') {
    return register_file_error(file, "ca_file: must be an absolute path");
  }
  if (j.contains("instance_name") && !plausible_instance_name(out.instance_name)) {
    return register_file_error(file,
                               "instance_name: 1 to 60 characters without control characters");
  }
  return out;
}

Status prepare_identity(const IdentitySetup& setup, const Registrar& registrar) {
  if (auto s = finish_registration(setup.state_dir); !s) {
    return s.error().wrap("finishing an interrupted registration");
  }
  if (!path_exists(identity_file(setup.state_dir))) {
    if (!path_exists(setup.register_file)) {
      return {};
    }
    return first_registration(setup, registrar);
  }
  auto identity = load_identity(setup.state_dir);
  if (!identity) {
    return identity.error();
  }
  if (setup.machine_id.empty()) {
    spdlog::warn(
        "this machine's id is unknown (/etc/machine-id and the SMBIOS product UUID are "
        "unreadable): a clone of it would not be noticed");
  } else if (identity->machine_id.empty()) {
    // Registered by an agent that did not record it: this machine is taken as the original.
    identity->machine_id = setup.machine_id;
    if (auto s = save_identity(setup.state_dir, *identity); !s) {
      return s.error().wrap("recording the machine id");
    }
    spdlog::info("recorded machine id {} for instance {}", setup.machine_id, identity->instance_id);
  } else if (identity->machine_id != setup.machine_id) {
    return register_clone(setup, registrar, *identity);
  }
  leftover_register_file(setup, *identity);
  return {};
}

int prepare_identity_exit_code(const Error& error) {
  return error.code == kServerUnreachable || error.code == codes::kInternalError ? 1 : 2;
}

int prepare_daemon_identity(const AgentConfig& config) {
  IdentitySetup setup;
  setup.state_dir = config.state_dir;
  setup.register_file = config.register_file;
  setup.machine_id = platform::machine_id();
  setup.server_url = config.server_url;
  setup.ca_file = config.ca_file;
  setup.allow_plain_http = config.allow_plain_http;
  RegisterRetry retry;
  retry.max_attempts = 10;
  retry.max_delay = std::max(retry.first_delay, config.daemon.reconnect_max);
  auto s = prepare_identity(setup, http_registrar(retry));
  if (!s) {
    spdlog::error("{}", s.error().message);
    return prepare_identity_exit_code(s.error());
  }
  return 0;
}

}  // namespace ferry::agent
