// What registration leaves in the state dir, and the agent's key:
//   <state>/identity.json       0600 root  instance id and name, server URL, CA file, plain-http
//                                          flag, the machine id it was registered on
//   <state>/agent.key           0600 root  the Ed25519 private key, PKCS#8 PEM
//   <state>/register_code.json  0600 root  the register code it was registered with, so that a
//                                          clone of the machine can register itself again
// first_boot.hpp adds the files of a registration under way and of identities moved aside.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "ferry/core/ed25519.hpp"
#include "ferry/core/error.hpp"

namespace ferry::agent {

struct Identity {
  std::string instance_id;
  std::string instance_name;
  std::string server_url;
  std::string ca_file;  // empty: the system's CAs
  bool allow_plain_http = false;
  std::string registered_at;  // RFC 3339
  // The machine id (platform::machine_id()) at registration; empty when it was unknown or the
  // identity was saved by an agent older than this field.
  std::string machine_id;
};

std::filesystem::path identity_file(const std::filesystem::path& state_dir);
std::filesystem::path key_file(const std::filesystem::path& state_dir);

// Errors name the file; a missing identity says how to register.
Expected<Identity> load_identity(const std::filesystem::path& state_dir);
// Written atomically and fsynced, mode 0600.
Status save_identity(const std::filesystem::path& state_dir, const Identity& identity);
// The same for an identity file of another name.
Expected<Identity> read_identity_file(const std::filesystem::path& file);
Status write_identity_file(const std::filesystem::path& file, const Identity& identity);

// A register code as CreateRegisterCode made it. `value` is a secret: never logged.
struct RegisterCode {
  std::string id;
  std::string value;
};
std::filesystem::path register_code_file(const std::filesystem::path& state_dir);
// nullopt when none is stored; an error when the file is unreadable or not this user's 0600.
Expected<std::optional<RegisterCode>> load_register_code(const std::filesystem::path& state_dir);
// Written atomically and fsynced, mode 0600.
Status save_register_code(const std::filesystem::path& state_dir, const RegisterCode& code);

// The key must be a regular file owned by the agent's user and not readable by group or other.
Expected<Ed25519PrivateKey> load_key(const std::filesystem::path& state_dir);
Status save_key(const std::filesystem::path& state_dir, const Ed25519PrivateKey& key);
// The same for a key file of another name.
Expected<Ed25519PrivateKey> read_key_file(const std::filesystem::path& file);
Status write_key_file(const std::filesystem::path& file, const Ed25519PrivateKey& key);

}  // namespace ferry::agent
