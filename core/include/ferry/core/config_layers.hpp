// The layers of ferry-agent's and ferry-server's configuration, shared by both loaders: built-in
// defaults < the JSON file < FERRY_* environment variables < command-line flags. A variable's
// or a flag's text becomes the JSON value the key takes in the file, so that one check per key
// serves every layer (docs/configuration.md, "Files, variables and flags").
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/core/error.hpp"

namespace ferry::config {

// How the text of a variable or a flag is read for a key.
enum class ValueKind {
  kString,   // the text as it is
  kInteger,  // kNumber, kBoolean: the text read as a JSON number or true / false; any other
  kNumber,   // text stays a string, which the key's own check then refuses with its reason
  kBoolean,
  kList,  // a JSON array when the text starts with '['; else comma-separated strings, each
          // trimmed of blanks, empty ones dropped ("" is the empty list)
  kJson,  // JSON text (objects, arrays of objects)
};

// An environment variable's value; nullopt when it is not set.
using EnvironmentLookup = std::function<std::optional<std::string>(std::string_view name)>;
// The environment of this process (getenv).
EnvironmentLookup process_environment();

// The variable of a key: "FERRY_" and the key in upper case (log_level: FERRY_LOG_LEVEL).
std::string environment_variable(std::string_view key);
// The command-line flag of a key: "--" and the key with '-' for '_' (state_dir: --state-dir).
std::string flag_name(std::string_view key);

// The JSON value `text` stands for. Errors (InvalidParameterValue): a kList or kJson text that
// is not valid JSON; the message names neither the text nor where it came from.
Expected<nlohmann::json> value_from_text(ValueKind kind, std::string_view text);

// The configuration file to read: `given` (--config) when set, existing or not (a missing one
// is the loader's error); else `default_file` when it exists; else none (defaults only).
std::optional<std::filesystem::path> choose_config_file(
    const std::optional<std::filesystem::path>& given, const std::filesystem::path& default_file);

// A secret kept in a file (--secret-key-file, --register-code-file), so that it is not on a
// command line every local user can read through `ps`: the file's text without one trailing
// newline (LF or CRLF). A missing or unreadable file, an empty secret, one over 4 KiB or one with
// a control character inside is an error naming the file and `what`, never the content.
Expected<std::string> read_secret_file(const std::filesystem::path& file, std::string_view what);

}  // namespace ferry::config
