// Where ferry finds its endpoint and credentials: flags, then FERRY_* environment variables,
// then a JSON config file (--config, $FERRY_CONFIG, or ~/.config/ferry/config.json when it
// exists). Each setting comes from the first of these that has it; the credentials come as a
// pair from the first place that names any of them (a SecretId from one place and a SecretKey
// from another would only ever make a failed signature).
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/cli/endpoint.hpp"
#include "ferry/core/error.hpp"

namespace ferry::cli {

inline constexpr const char* kDefaultRegion = "ap-guangzhou";

// The settings one place gives; unset fields leave the choice to the next place.
struct ConfigValues {
  std::optional<std::string> endpoint;
  std::optional<std::string> secret_id;
  std::optional<std::string> secret_key;        // secret: never print it
  std::optional<std::string> credentials_file;  // {"SecretId": ..., "SecretKey": ...}
  std::optional<std::string> region;
  std::optional<std::string> ca_file;
  std::optional<bool> allow_plain_http;
};

struct ClientConfig {
  Endpoint endpoint;
  std::string secret_id;
  std::string secret_key;  // secret: never print it
  std::string region = kDefaultRegion;
  std::string ca_file;  // empty: the system's CAs
  bool allow_plain_http = false;
};

// getenv, or a fake in tests. Empty values count as unset.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;
EnvLookup process_env();

// FERRY_ENDPOINT, FERRY_SECRET_ID, FERRY_SECRET_KEY, FERRY_CREDENTIALS_FILE, FERRY_REGION,
// FERRY_CA_FILE, FERRY_ALLOW_PLAIN_HTTP (1/true/yes or 0/false/no).
Expected<ConfigValues> config_from_env(const EnvLookup& env);

// The config file to read: `flag` when given, else $FERRY_CONFIG, else
// $XDG_CONFIG_HOME/ferry/config.json or ~/.config/ferry/config.json when it exists. nullopt:
// none. A file named explicitly must exist (loading it says so); the default one may not.
struct ConfigFileChoice {
  std::filesystem::path path;
};
std::optional<ConfigFileChoice> choose_config_file(const std::optional<std::string>& flag,
                                                   const EnvLookup& env);

// Reads a config file: a JSON object with the keys endpoint, secret_id, secret_key,
// credentials_file (relative to the file's directory), region, ca_file, allow_plain_http. An
// unknown key or a wrong type is an error naming it. A file holding secret_key must not be
// readable by others.
Expected<ConfigValues> load_config_file(const std::filesystem::path& file);

struct Credentials {
  std::string secret_id;
  std::string secret_key;  // secret: never print it
};

// The file ferry-server writes (DATA_DIR/credentials.json): {"SecretId", "SecretKey"}. Like the
// server, refuses a file that others may read.
Expected<Credentials> read_credentials_file(const std::filesystem::path& file);

// Puts the three places together (see the top of this file) and checks the endpoint.
Expected<ClientConfig> resolve_config(const ConfigValues& flags, const ConfigValues& env,
                                      const ConfigValues& file,
                                      const std::string& file_label = "the config file");

}  // namespace ferry::cli
