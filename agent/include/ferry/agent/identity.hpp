// What registration leaves in the state dir, and the agent's key:
//   <state>/identity.json  0600 root  instance id and name, server URL, CA file, plain-http flag
//   <state>/agent.key      0600 root  the Ed25519 private key, PKCS#8 PEM
// The register code is never saved.
#pragma once

#include <filesystem>
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
};

std::filesystem::path identity_file(const std::filesystem::path& state_dir);
std::filesystem::path key_file(const std::filesystem::path& state_dir);

// Errors name the file; a missing identity says how to register.
Expected<Identity> load_identity(const std::filesystem::path& state_dir);
// Written atomically and fsynced, mode 0600.
Status save_identity(const std::filesystem::path& state_dir, const Identity& identity);

// The key must be a regular file owned by the agent's user and not readable by group or other.
Expected<Ed25519PrivateKey> load_key(const std::filesystem::path& state_dir);
Status save_key(const std::filesystem::path& state_dir, const Ed25519PrivateKey& key);

}  // namespace ferry::agent
