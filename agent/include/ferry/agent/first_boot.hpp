// What the daemon does before it loads its identity (docs/operations.md, "Images and first
// boot"):
// - not registered, and a register file (/etc/ferry/register.json) exists: it registers from
//   the file, unattended, and deletes it;
// - registered on another machine id (a clone of a registered image, or a re-imaged machine):
//   it registers again, as a new instance with a new key, with the code of the register file
//   when there is one, else with the code stored at registration; the old identity and its
//   journal are moved aside (registration.hpp), so that the clone never reports the original's
//   tasks and two clones never share an instance id.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "ferry/agent/commands.hpp"
#include "ferry/agent/registration.hpp"
#include "ferry/core/error.hpp"

namespace ferry::agent {

// The register file: a JSON object with these keys (snake_case, as the agent's config).
struct RegisterFile {
  std::string server_url;         // server_url, required
  RegisterCode code;              // register_code_id and register_code, required
  std::string ca_file;            // ca_file, optional: an absolute path
  bool allow_plain_http = false;  // allow_plain_http, optional
  std::string instance_name;      // instance_name, optional: 1 to 60 characters
};

// Reads and checks the register file: a regular file (a symlink is refused), owned by root or
// by the agent's user, that no other account may read or write (mode 0600 or stricter), with
// known keys of the right types. Errors (InvalidParameterValue) name the file and the key,
// never the code's value.
Expected<RegisterFile> read_register_file(const std::filesystem::path& file);

struct IdentitySetup {
  std::filesystem::path state_dir;
  std::filesystem::path register_file;
  std::string machine_id;  // this machine's, now (platform::machine_id()); empty: unknown
  // The daemon's configuration overrides of the saved server, used to register a clone again.
  std::optional<std::string> server_url;
  std::optional<std::string> ca_file;
  std::optional<bool> allow_plain_http;
};

// The error code of a clone that has no register code to register again with.
inline constexpr const char* kNoRegisterCode = "FailedOperation.NoRegisterCode";

// Makes sure the state dir holds this machine's identity, as the header says, before the daemon
// loads it; finishes a registration a crash interrupted. Not registered and no register file:
// nothing to do (the daemon then says how to register). Errors say what happened and what to do.
Status prepare_identity(const IdentitySetup& setup, const Registrar& registrar);

// The daemon's exit code for an error of prepare_identity(): 1 where trying again later may help
// (kServerUnreachable, a local I/O error), 2 where an operator must act (a refused
// registration, a register file to fix, kNoRegisterCode).
int prepare_identity_exit_code(const Error& error);

// prepare_identity() for the daemon: over HTTP(S), retried up to 10 times with delays up to the
// config's reconnect_max_ms, errors logged. Returns 0, or the exit code to stop with.
int prepare_daemon_identity(const AgentConfig& config);

}  // namespace ferry::agent
