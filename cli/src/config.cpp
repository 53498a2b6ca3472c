#include "ferry/cli/config.hpp"

#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ferry/core/error_codes.hpp"

namespace ferry::cli {
namespace {

namespace fs = std::filesystem;

Error config_error(std::string message) {
  return Error{codes::kInvalidParameterValue, std::move(message)};
}

Expected<std::string> read_small_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return errno_error(codes::kInvalidParameterValue, file.string(), errno);
  }
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return config_error(file.string() + ": cannot be read");
  }
  return text.str();
}

// Files holding the API secret must be the owner's alone, as the server demands of its own.
Status check_private(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    return errno_error(codes::kInvalidParameterValue, file.string(), errno);
  }
  if ((st.st_mode & 077U) != 0) {
    return config_error(file.string() +
                        ": readable by others; it holds the API secret: chmod 600 it");
  }
  return {};
}

Expected<bool> parse_bool(std::string_view name, std::string_view text) {
  if (text == "1" || text == "true" || text == "yes") {
    return true;
  }
  if (text == "0" || text == "false" || text == "no") {
    return false;
  }
  return config_error(std::string(name) + ": expected 1/true/yes or 0/false/no, not " +
                      std::string(text.substr(0, 32)));
}

// The names of the credential settings in one place, for messages.
struct CredentialNames {
  const char* secret_id;
  const char* secret_key;
  const char* credentials_file;
  std::string place;
};

// The pair one place gives, or nullopt when it names none of the three settings.
Expected<std::optional<Credentials>> credentials_of(const ConfigValues& v,
                                                    const CredentialNames& names) {
  if (!v.secret_id && !v.secret_key && !v.credentials_file) {
    return std::optional<Credentials>();
  }
  Credentials c;
  if (v.credentials_file) {
    auto from_file = read_credentials_file(*v.credentials_file);
    if (!from_file) {
      return from_file.error().wrap(std::string("credentials file (") + names.credentials_file +
                                    ")");
    }
    c = std::move(*from_file);
  }
  if (v.secret_id) {
    c.secret_id = *v.secret_id;
  }
  if (v.secret_key) {
    c.secret_key = *v.secret_key;
  }
  if (c.secret_id.empty() || c.secret_key.empty()) {
    const char* missing = c.secret_id.empty() ? names.secret_id : names.secret_key;
    return config_error("credentials from " + names.place + " lack " + missing + " (or " +
                        names.credentials_file + ")");
  }
  return std::optional<Credentials>(std::move(c));
}

template <typename T>
std::optional<T> first_of(const std::optional<T>& a, const std::optional<T>& b,
                          const std::optional<T>& c) {
  return a ? a : b ? b : c;
}

}  // namespace

EnvLookup process_env() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') {
      return std::nullopt;
    }
    return std::string(v);
  };
}

Expected<ConfigValues> config_from_env(const EnvLookup& env) {
  ConfigValues v;
  v.endpoint = env("FERRY_ENDPOINT");
  v.secret_id = env("FERRY_SECRET_ID");
  v.secret_key = env("FERRY_SECRET_KEY");
  v.credentials_file = env("FERRY_CREDENTIALS_FILE");
  v.region = env("FERRY_REGION");
  v.ca_file = env("FERRY_CA_FILE");
  if (auto plain = env("FERRY_ALLOW_PLAIN_HTTP")) {
    auto b = parse_bool("FERRY_ALLOW_PLAIN_HTTP", *plain);
    if (!b) {
      return b.error();
    }
    v.allow_plain_http = *b;
  }
  return v;
}

std::optional<ConfigFileChoice> choose_config_file(const std::optional<std::string>& flag,
                                                   const EnvLookup& env) {
  if (flag) {
    return ConfigFileChoice{*flag};
  }
  if (auto named = env("FERRY_CONFIG")) {
    return ConfigFileChoice{*named};
  }
  fs::path dir;
  if (auto xdg = env("XDG_CONFIG_HOME")) {
    dir = *xdg;
  } else if (auto home = env("HOME")) {
    dir = fs::path(*home) / ".config";
  } else {
    return std::nullopt;
  }
  const fs::path file = dir / "ferry" / "config.json";
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    return std::nullopt;
  }
  return ConfigFileChoice{file};
}

Expected<ConfigValues> load_config_file(const fs::path& file) {
  auto text = read_small_file(file);
  if (!text) {
    return text.error().wrap("config file");
  }
  const auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return config_error("config file " + file.string() + ": not a JSON object");
  }
  ConfigValues v;
  const std::array<std::pair<const char*, std::optional<std::string>*>, 6> strings{{
      {"endpoint", &v.endpoint},
      {"secret_id", &v.secret_id},
      {"secret_key", &v.secret_key},
      {"credentials_file", &v.credentials_file},
      {"region", &v.region},
      {"ca_file", &v.ca_file},
  }};
  for (const auto& [key, value] : j.items()) {
    const std::string where = "config file " + file.string() + ": " + key;
    if (key == "allow_plain_http") {
      if (!value.is_boolean()) {
        return config_error(where + ": must be true or false");
      }
      v.allow_plain_http = value.get<bool>();
      continue;
    }
    std::optional<std::string>* field = nullptr;
    for (const auto& [name, target] : strings) {
      if (key == name) {
        field = target;
      }
    }
    if (field == nullptr) {
      return config_error(where +
                          ": unknown key (known: endpoint, secret_id, secret_key, "
                          "credentials_file, region, ca_file, allow_plain_http)");
    }
    if (!value.is_string()) {
      return config_error(where + ": must be a string");
    }
    *field = value.get<std::string>();
  }
  if (v.secret_key) {
    if (auto s = check_private(file); !s) {
      return s.error();
    }
  }
  // Relative paths in the file mean relative to the file, not to wherever ferry runs.
  for (auto* path : {&v.credentials_file, &v.ca_file}) {
    if (*path && !path->value().empty() && fs::path(**path).is_relative()) {
      *path = (file.parent_path() / **path).string();
    }
  }
  return v;
}

Expected<Credentials> read_credentials_file(const fs::path& file) {
  if (auto s = check_private(file); !s) {
    return s.error();
  }
  auto text = read_small_file(file);
  if (!text) {
    return text.error();
  }
  const auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains("SecretId") || !j.contains("SecretKey") ||
      !j["SecretId"].is_string() || !j["SecretKey"].is_string()) {
    return config_error(file.string() +
                        ": must be a JSON object {\"SecretId\": ..., \"SecretKey\": ...}");
  }
  Credentials c{j["SecretId"].get<std::string>(), j["SecretKey"].get<std::string>()};
  if (c.secret_id.empty() || c.secret_key.empty()) {
    return config_error(file.string() + ": SecretId and SecretKey must not be empty");
  }
  return c;
}

Expected<ClientConfig> resolve_config(const ConfigValues& flags, const ConfigValues& env,
                                      const ConfigValues& file, const std::string& file_label) {
  ClientConfig out;
  const auto endpoint = first_of(flags.endpoint, env.endpoint, file.endpoint);
  if (!endpoint) {
    return config_error(
        "no endpoint: give --endpoint, set FERRY_ENDPOINT, or put \"endpoint\" in " + file_label);
  }
  out.allow_plain_http =
      first_of(flags.allow_plain_http, env.allow_plain_http, file.allow_plain_http).value_or(false);
  auto parsed = parse_endpoint(*endpoint, out.allow_plain_http);
  if (!parsed) {
    return parsed.error();
  }
  out.endpoint = std::move(*parsed);
  out.region = first_of(flags.region, env.region, file.region).value_or(kDefaultRegion);
  out.ca_file = first_of(flags.ca_file, env.ca_file, file.ca_file).value_or("");

  const std::array<std::pair<const ConfigValues*, CredentialNames>, 3> places{{
      {&flags, {"--secret-id", "--secret-key", "--credentials-file", "the command line"}},
      {&env, {"FERRY_SECRET_ID", "FERRY_SECRET_KEY", "FERRY_CREDENTIALS_FILE", "the environment"}},
      {&file, {"secret_id", "secret_key", "credentials_file", file_label}},
  }};
  for (const auto& [values, names] : places) {
    auto c = credentials_of(*values, names);
    if (!c) {
      return c.error();
    }
    if (*c) {
      out.secret_id = std::move((*c)->secret_id);
      out.secret_key = std::move((*c)->secret_key);
      return out;
    }
  }
  return config_error(
      "no credentials: give --credentials-file (ferry-server writes DATA_DIR/credentials.json) "
      "or --secret-id and --secret-key, or set FERRY_CREDENTIALS_FILE or FERRY_SECRET_ID and "
      "FERRY_SECRET_KEY, or put them in " +
      file_label);
}

}  // namespace ferry::cli
