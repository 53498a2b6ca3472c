#include "ferry/server/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>

#include "config_buckets.hpp"
#include "ferry/core/config_layers.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/platform/logging.hpp"
#include "ferry/server/store/postgres_store.hpp"

namespace ferry::server {
namespace {

namespace fs = std::filesystem;

Error config_error(std::string_view key, std::string_view what) {
  return Error{codes::kInvalidParameterValue,
               "key \"" + std::string(key) + "\": " + std::string(what)};
}

Status read_value(std::string_view key, const nlohmann::json& v, std::string& out) {
  if (!v.is_string()) {
    return config_error(key, "must be a string");
  }
  out = v.get<std::string>();
  return {};
}

Status read_value(std::string_view key, const nlohmann::json& v, bool& out) {
  if (!v.is_boolean()) {
    return config_error(key, "must be true or false");
  }
  out = v.get<bool>();
  return {};
}

Status read_value(std::string_view key, const nlohmann::json& v, int64_t& out) {
  if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > INT64_MAX)) {
    return config_error(key, "must be an integer");
  }
  out = v.get<int64_t>();
  return {};
}

Status read_value(std::string_view key, const nlohmann::json& v, std::size_t& out) {
  int64_t n = 0;
  if (auto s = read_value(key, v, n); !s) {
    return s;
  }
  if (n < 0) {
    return config_error(key, "must not be negative");
  }
  out = static_cast<std::size_t>(n);
  return {};
}

Status read_value(std::string_view key, const nlohmann::json& v, double& out) {
  if (!v.is_number()) {
    return config_error(key, "must be a number");
  }
  out = v.get<double>();
  return {};
}

Status read_credentials(const nlohmann::json& v, std::vector<ApiCredential>& out) {
  if (!v.is_array()) {
    return config_error("credentials", "must be an array of {\"SecretId\", \"SecretKey\"}");
  }
  out.clear();
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string where = "credentials[" + std::to_string(i) + "]";
    const auto& item = v[i];
    if (!item.is_object()) {
      return config_error(where, "must be an object {\"SecretId\", \"SecretKey\"}");
    }
    ApiCredential c;
    for (const auto& [k, value] : item.items()) {
      std::string* field = k == "SecretId"    ? &c.secret_id
                           : k == "SecretKey" ? &c.secret_key
                                              : nullptr;
      if (field == nullptr) {
        return config_error(where + "." + k, "unknown key (SecretId and SecretKey are known)");
      }
      if (auto s = read_value(where + "." + k, value, *field); !s) {
        return s;
      }
    }
    out.push_back(std::move(c));
  }
  return {};
}

Status read_regions(const nlohmann::json& v, std::vector<Region>& out) {
  if (!v.is_array()) {
    return config_error("regions", "must be an array of region names or {\"Region\", ...}");
  }
  out.clear();
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string where = "regions[" + std::to_string(i) + "]";
    const auto& item = v[i];
    Region r;
    if (item.is_string()) {
      r.region = item.get<std::string>();
      r.region_name = r.region;
    } else if (item.is_object()) {
      for (const auto& [k, value] : item.items()) {
        std::string* field = k == "Region"        ? &r.region
                             : k == "RegionName"  ? &r.region_name
                             : k == "RegionState" ? &r.region_state
                                                  : nullptr;
        if (field == nullptr) {
          return config_error(where + "." + k,
                              "unknown key (Region, RegionName and RegionState are known)");
        }
        if (auto s = read_value(where + "." + k, value, *field); !s) {
          return s;
        }
      }
      if (r.region_name.empty()) {
        r.region_name = r.region;
      }
    } else {
      return config_error(where, "must be a region name or an object {\"Region\", ...}");
    }
    out.push_back(std::move(r));
  }
  return {};
}

bool is_alnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

Status check_credentials(const ServerConfig& c) {
  std::set<std::string, std::less<>> ids;
  for (std::size_t i = 0; i < c.credentials.size(); ++i) {
    const auto& cred = c.credentials[i];
    const std::string where = "credentials[" + std::to_string(i) + "]";
    if (cred.secret_id.empty() || cred.secret_id.size() > 128 ||
        !std::all_of(cred.secret_id.begin(), cred.secret_id.end(), is_alnum)) {
      return config_error(where + ".SecretId", "must be 1 to 128 letters and digits");
    }
    if (cred.secret_key.empty()) {
      return config_error(where + ".SecretKey", "must not be empty");
    }
    if (!ids.insert(cred.secret_id).second) {
      return config_error(where + ".SecretId", "is listed twice");
    }
  }
  return {};
}

Status check_regions(const ServerConfig& c) {
  std::set<std::string, std::less<>> seen;
  for (std::size_t i = 0; i < c.regions.size(); ++i) {
    if (c.regions[i].region.empty()) {
      return config_error("regions[" + std::to_string(i) + "].Region", "must not be empty");
    }
    if (!seen.insert(c.regions[i].region).second) {
      return config_error("regions[" + std::to_string(i) + "].Region", "is listed twice");
    }
  }
  return {};
}

using KeyReader = std::function<Status(const nlohmann::json&, ServerConfig&)>;
using KeyCheck = std::function<Status(const ServerConfig&)>;

Status check_range(std::string_view key, int64_t v, int64_t min, int64_t max) {
  if (v < min || v > max) {
    return config_error(key, "must be in [" + std::to_string(min) + ", " + std::to_string(max) +
                                 "], not " + std::to_string(v));
  }
  return {};
}

Status check_size(std::string_view key, std::size_t v, std::size_t min, std::size_t max) {
  if (v < min || v > max) {
    return config_error(key, "must be in [" + std::to_string(min) + ", " + std::to_string(max) +
                                 "], not " + std::to_string(v));
  }
  return {};
}

// A path of at most 4096 bytes without NUL; absolute when `absolute` (or "" when
// `empty_allowed`).
Status check_path(std::string_view key, const std::string& v, bool absolute, bool empty_allowed) {
  if (v.empty()) {
    return empty_allowed ? Status{} : config_error(key, "must not be empty");
  }
  if (v.size() > 4096 || v.find('\0') != std::string::npos) {
    return config_error(key, "must be a path of at most 4096 bytes");
  }
  if (absolute && v[0] != '/') {
    return config_error(
        key, empty_allowed ? "must be \"\" or an absolute path" : "must be an absolute path");
  }
  return {};
}

// HOST:PORT, the port 0 to 65535 (0: any free port); "" too when `empty_allowed`.
Status check_listen(std::string_view key, const std::string& listen, bool empty_allowed = false) {
  if (listen.empty() && empty_allowed) {
    return {};
  }
  const auto colon = listen.rfind(':');
  const std::string port = colon == std::string::npos ? "" : listen.substr(colon + 1);
  const bool digits =
      !port.empty() && port.size() <= 5 &&
      std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (colon == 0 || colon == std::string::npos || !digits || std::stoi(port) > 65535) {
    return config_error(key, std::string(empty_allowed ? "must be \"\" (off) or " : "must be ") +
                                 "HOST:PORT with a port from 0 to 65535");
  }
  return {};
}

// A key: how its variable's text is read (config_layers.hpp), how its value is read, and the
// check of its value alone, run when it is read and again by validate_server_config.
struct KeySpec {
  config::ValueKind kind;
  KeyReader read;
  KeyCheck check;
};

template <typename T>
constexpr config::ValueKind kind_of() {
  if constexpr (std::is_same_v<T, std::string>) {
    return config::ValueKind::kString;
  } else if constexpr (std::is_same_v<T, bool>) {
    return config::ValueKind::kBoolean;
  } else if constexpr (std::is_same_v<T, double>) {
    return config::ValueKind::kNumber;
  } else {
    return config::ValueKind::kInteger;
  }
}

const std::map<std::string, KeySpec, std::less<>>& key_specs() {
  // Each entry binds a key to its field; one table, so the known keys are listed once.
  static const std::map<std::string, KeySpec, std::less<>> kSpecs = [] {
    std::map<std::string, KeySpec, std::less<>> m;
    // read_value's overload for the field's type reads it.
    const auto field = [&m](const char* key, auto member, KeyCheck check) {
      using T = std::remove_cvref_t<decltype(std::declval<ServerConfig&>().*member)>;
      m[key] = KeySpec{kind_of<T>(),
                       [key, member](const nlohmann::json& v, ServerConfig& c) {
                         return read_value(key, v, c.*member);
                       },
                       std::move(check)};
    };
    const auto range = [](const char* key, int64_t ServerConfig::*member, int64_t min,
                          int64_t max) -> KeyCheck {
      return [=](const ServerConfig& c) { return check_range(key, c.*member, min, max); };
    };
    const auto size = [](const char* key, std::size_t ServerConfig::*member, std::size_t min,
                         std::size_t max) -> KeyCheck {
      return [=](const ServerConfig& c) { return check_size(key, c.*member, min, max); };
    };
    // Paths may be relative (to the working directory), except where said.
    const auto path = [](const char* key, std::string ServerConfig::*member,
                         bool absolute = false) -> KeyCheck {
      return [=](const ServerConfig& c) { return check_path(key, c.*member, absolute, true); };
    };
    const auto any = [](const ServerConfig&) -> Status { return {}; };
    constexpr int64_t kDay = 86400;
    field("listen", &ServerConfig::listen,
          [](const ServerConfig& c) { return check_listen("listen", c.listen); });
    field("metrics_listen", &ServerConfig::metrics_listen, [](const ServerConfig& c) {
      return check_listen("metrics_listen", c.metrics_listen, true);
    });
    // Required: validate_server_config (it may come from --data-dir).
    field("data_dir", &ServerConfig::data_dir, path("data_dir", &ServerConfig::data_dir));
    field("allow_plain_http", &ServerConfig::allow_plain_http, any);
    field("tls_cert_file", &ServerConfig::tls_cert_file,
          path("tls_cert_file", &ServerConfig::tls_cert_file));
    field("tls_key_file", &ServerConfig::tls_key_file,
          path("tls_key_file", &ServerConfig::tls_key_file));
    field("log_level", &ServerConfig::log_level, [](const ServerConfig& c) -> Status {
      if (!platform::is_log_level(c.log_level)) {
        return config_error("log_level", "must be one of " + std::string(platform::kLogLevels));
      }
      return {};
    });
    field("log_file", &ServerConfig::log_file, path("log_file", &ServerConfig::log_file, true));
    field("log_max_size_mib", &ServerConfig::log_max_size_mib,
          range("log_max_size_mib", &ServerConfig::log_max_size_mib, 1, 1024));
    field("log_max_files", &ServerConfig::log_max_files,
          range("log_max_files", &ServerConfig::log_max_files, 1, 100));
    m["credentials"] = KeySpec{
        config::ValueKind::kJson,
        [](const nlohmann::json& v, ServerConfig& c) { return read_credentials(v, c.credentials); },
        check_credentials};
    field("rate_limit", &ServerConfig::rate_limit, [](const ServerConfig& c) -> Status {
      if (!(c.rate_limit >= 0) || c.rate_limit > 1e6) {
        return config_error("rate_limit", "must be a number in [0, 1000000] (0: no limit)");
      }
      return {};
    });
    field("rate_burst", &ServerConfig::rate_burst, [](const ServerConfig& c) -> Status {
      if (!(c.rate_burst >= 1) || c.rate_burst > 1e6) {
        return config_error("rate_burst", "must be a number in [1, 1000000]");
      }
      return {};
    });
    field("agent_auth_failure_rate", &ServerConfig::agent_auth_failure_rate,
          [](const ServerConfig& c) -> Status {
            if (!(c.agent_auth_failure_rate >= 0) || c.agent_auth_failure_rate > 1e6) {
              return config_error("agent_auth_failure_rate",
                                  "must be a number in [0, 1000000] (0: no limit)");
            }
            return {};
          });
    field("agent_auth_failure_burst", &ServerConfig::agent_auth_failure_burst,
          [](const ServerConfig& c) -> Status {
            if (!(c.agent_auth_failure_burst >= 1) || c.agent_auth_failure_burst > 1e6) {
              return config_error("agent_auth_failure_burst", "must be a number in [1, 1000000]");
            }
            return {};
          });
    m["regions"] =
        KeySpec{config::ValueKind::kList,
                [](const nlohmann::json& v, ServerConfig& c) { return read_regions(v, c.regions); },
                check_regions};
    m["acs_regions"] = KeySpec{
        config::ValueKind::kList,
        [](const nlohmann::json& v, ServerConfig& c) -> Status {
          const bool valid = v.is_array() && std::all_of(v.begin(), v.end(), [](const auto& e) {
                               return e.is_string() && !e.template get<std::string>().empty();
                             });
          if (!valid) {
            return config_error("acs_regions",
                                "must be an array of region ids (non-empty strings)");
          }
          c.acs_regions = v.get<std::vector<std::string>>();
          return {};
        },
        any};
    field("account_id", &ServerConfig::account_id, [](const ServerConfig& c) -> Status {
      if (c.account_id.size() > 64) {
        return config_error("account_id", "at most 64 characters");
      }
      return {};
    });
    field("command_quota", &ServerConfig::command_quota,
          range("command_quota", &ServerConfig::command_quota, 0, 1'000'000));
    field("register_code_quota", &ServerConfig::register_code_quota,
          range("register_code_quota", &ServerConfig::register_code_quota, 0, 1'000'000));
    field("max_run_instances", &ServerConfig::max_run_instances,
          range("max_run_instances", &ServerConfig::max_run_instances, 1, 10'000));
    field("schedule_time_zone", &ServerConfig::schedule_time_zone,
          [](const ServerConfig& c) -> Status {
            if (auto zone = cron::Zone::find(c.schedule_time_zone); !zone) {
              return config_error("schedule_time_zone",
                                  "must be an IANA time zone name, UTC or GMT+H[:MM], not '" +
                                      c.schedule_time_zone + "'");
            }
            return {};
          });
    field("heartbeat_interval_s", &ServerConfig::heartbeat_interval_s,
          range("heartbeat_interval_s", &ServerConfig::heartbeat_interval_s, 5, 3600));
    // At least heartbeat_interval_s as well: validate_server_config, once both are known.
    field("online_window_s", &ServerConfig::online_window_s,
          range("online_window_s", &ServerConfig::online_window_s, 5, 7 * kDay));
    field("max_clock_skew_s", &ServerConfig::max_clock_skew_s,
          range("max_clock_skew_s", &ServerConfig::max_clock_skew_s, 30, 3600));
    field("deliver_timeout_s", &ServerConfig::deliver_timeout_s,
          range("deliver_timeout_s", &ServerConfig::deliver_timeout_s, 1, 30 * kDay));
    field("task_timeout_grace_s", &ServerConfig::task_timeout_grace_s,
          range("task_timeout_grace_s", &ServerConfig::task_timeout_grace_s, 0, kDay));
    field("sweep_interval_ms", &ServerConfig::sweep_interval_ms,
          range("sweep_interval_ms", &ServerConfig::sweep_interval_ms, 10, 600'000));
    field("io_threads", &ServerConfig::io_threads,
          size("io_threads", &ServerConfig::io_threads, 0, 256));
    field("max_connections", &ServerConfig::max_connections,
          size("max_connections", &ServerConfig::max_connections, 1, 1'000'000));
    field("max_connections_per_source", &ServerConfig::max_connections_per_source,
          size("max_connections_per_source", &ServerConfig::max_connections_per_source, 1,
               1'000'000));
    // At least 768 KiB while the output store is on: validate_server_config.
    field("max_body_bytes", &ServerConfig::max_body_bytes,
          size("max_body_bytes", &ServerConfig::max_body_bytes, 64 * 1024, 64 * 1024 * 1024));
    field("ws_idle_timeout_s", &ServerConfig::ws_idle_timeout_s,
          range("ws_idle_timeout_s", &ServerConfig::ws_idle_timeout_s, 10, kDay));
    field("sqlite_max_connections", &ServerConfig::sqlite_max_connections,
          size("sqlite_max_connections", &ServerConfig::sqlite_max_connections, 1, 256));
    field("database", &ServerConfig::database, [](const ServerConfig& c) -> Status {
      if (c.database.empty()) {
        return {};
      }
      if (auto s = check_postgres_url(c.database); !s) {
        return config_error("database", s.error().message);
      }
      return {};
    });
    field("database_password_file", &ServerConfig::database_password_file,
          path("database_password_file", &ServerConfig::database_password_file));
    field("pg_max_connections", &ServerConfig::pg_max_connections,
          size("pg_max_connections", &ServerConfig::pg_max_connections, 1, 256));
    // Output buckets (config_buckets.cpp; their checks in validate_output_bucket_config).
    m["buckets"] = KeySpec{
        config::ValueKind::kJson,
        [](const nlohmann::json& v, ServerConfig& c) { return read_buckets_key(v, c.buckets); },
        any};
    m["allow_http_bucket_hosts"] =
        KeySpec{config::ValueKind::kList,
                [](const nlohmann::json& v, ServerConfig& c) {
                  return read_allow_http_bucket_hosts_key(v, c.allow_http_bucket_hosts);
                },
                validate_output_bucket_config};
    field("output_url_ttl_s", &ServerConfig::output_url_ttl_s, validate_output_bucket_config);
    // The output store.
    field("output_dir", &ServerConfig::output_dir, path("output_dir", &ServerConfig::output_dir));
    field("output_store_max_bytes", &ServerConfig::output_store_max_bytes, any);
    field("output_retention_days", &ServerConfig::output_retention_days,
          range("output_retention_days", &ServerConfig::output_retention_days, 1, 3650));
    return m;
  }();
  return kSpecs;
}

// An enabled output store takes pieces of up to 512 KiB (UploadTaskOutput), base64 in a JSON
// body: 4/3 of it and room for the other fields.
constexpr std::size_t kOutputPieceBody = 768 * 1024;

Status check_output_store(const ServerConfig& c) {
  if (c.output_store_max_bytes > 0 && c.max_body_bytes < kOutputPieceBody) {
    return config_error("max_body_bytes",
                        "must be at least " + std::to_string(kOutputPieceBody) +
                            " (768 KiB) while the output store is enabled: agents upload "
                            "outputs in pieces of 512 KiB, base64 in JSON (or set "
                            "output_store_max_bytes to 0)");
  }
  return {};
}

// `n` characters of [A-Za-z0-9], uniformly (bytes >= 248 are drawn again: 248 = 4 * 62).
Expected<std::string> random_alnum(std::size_t n) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  while (out.size() < n) {
    auto bytes = random_bytes(n * 2);
    if (!bytes) {
      return bytes.error();
    }
    for (char b : *bytes) {
      const auto u = static_cast<unsigned char>(b);
      if (u < 248 && out.size() < n) {
        out.push_back(kAlphabet[u % kAlphabet.size()]);
      }
    }
  }
  return out;
}

Error file_error(const fs::path& file, std::string_view what) {
  return Error{codes::kInternalError, file.string() + ": " + std::string(what)};
}

Expected<ApiCredential> read_credentials_file(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    return errno_error(codes::kInternalError, file.string(), errno);
  }
  if ((st.st_mode & 077) != 0) {
    return file_error(file, "readable by others; it holds the API secret: chmod 600 it");
  }
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    return file_error(file, "cannot be read");
  }
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (!j.is_object() || !j.contains("SecretId") || !j.contains("SecretKey") ||
      !j["SecretId"].is_string() || !j["SecretKey"].is_string()) {
    return file_error(file, "must be a JSON object {\"SecretId\": ..., \"SecretKey\": ...}");
  }
  ApiCredential c{j["SecretId"].get<std::string>(), j["SecretKey"].get<std::string>()};
  if (c.secret_id.empty() || c.secret_key.empty()) {
    return file_error(file, "SecretId and SecretKey must not be empty");
  }
  return c;
}

Status write_private_file(const fs::path& file, std::string_view content) {
  // Written under a temporary name with mode 0600 from the first byte, then renamed, so that
  // the secret is never readable by others and a crash leaves no half-written file behind.
  const fs::path tmp = file.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return errno_error(codes::kInternalError, "creating " + tmp.string(), errno);
  }
  Status status;
  if (::fchmod(fd, 0600) != 0) {
    status = errno_error(codes::kInternalError, "chmod " + tmp.string(), errno);
  }
  std::size_t done = 0;
  while (status && done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      status = errno_error(codes::kInternalError, "writing " + tmp.string(), errno);
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (status && ::fsync(fd) != 0) {
    status = errno_error(codes::kInternalError, "fsync " + tmp.string(), errno);
  }
  ::close(fd);
  if (status && ::rename(tmp.c_str(), file.c_str()) != 0) {
    status = errno_error(codes::kInternalError, "renaming " + tmp.string(), errno);
  }
  if (!status) {
    ::unlink(tmp.c_str());
  }
  return status;
}

// Reads one key's value and checks it alone.
Status apply_key(std::string_view key, const nlohmann::json& value, ServerConfig& config) {
  const auto& specs = key_specs();
  auto it = specs.find(key);
  if (it == specs.end()) {
    return config_error(key, "unknown key");
  }
  if (auto s = it->second.read(value, config); !s) {
    return s;
  }
  return it->second.check(config);
}

}  // namespace

Status apply_server_config_json(const nlohmann::json& json, ServerConfig& config) {
  if (!json.is_object()) {
    return Error{codes::kInvalidParameterValue, "the configuration must be a JSON object"};
  }
  for (const auto& [key, value] : json.items()) {
    if (auto s = apply_key(key, value, config); !s) {
      return s;
    }
  }
  return {};
}

Status load_server_config_file(const fs::path& file, ServerConfig& config) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return Error{codes::kInvalidParameterValue, file.string() + ": cannot be opened"};
  }
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    return Error{codes::kInvalidParameterValue,
                 file.string() + ": not valid JSON (at byte " + std::to_string(e.byte) + ")"};
  } catch (const nlohmann::json::exception&) {
    // A number too large for a double (1E400) is out_of_range, not a parse_error.
    return Error{codes::kInvalidParameterValue, file.string() + ": a number out of range"};
  }
  if (auto s = apply_server_config_json(j, config); !s) {
    return s.error().wrap(file.string());
  }
  return {};
}

Status validate_server_config(const ServerConfig& c) {
  if (c.data_dir.empty()) {
    return config_error("data_dir", "is required (or --data-dir)");
  }
  for (const auto& [key, spec] : key_specs()) {
    if (auto s = spec.check(c); !s) {
      return s;
    }
  }
  // What one key cannot say alone.
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    return config_error(c.tls_cert_file.empty() ? "tls_cert_file" : "tls_key_file",
                        "tls_cert_file and tls_key_file go together");
  }
  if (auto s = check_range("online_window_s", c.online_window_s, c.heartbeat_interval_s, 7 * 86400);
      !s) {
    return s;
  }
  return check_output_store(c);
}

Status apply_server_environment(const config::EnvironmentLookup& environment,
                                ServerConfig& config) {
  if (!environment) {
    return {};
  }
  for (const auto& [key, spec] : key_specs()) {
    const std::string variable = config::environment_variable(key);
    const auto text = environment(variable);
    if (!text) {
      continue;
    }
    const std::string where = variable + " (" + key + ")";
    auto value = config::value_from_text(spec.kind, *text);
    if (!value) {
      return value.error().wrap(where);
    }
    if (auto s = apply_key(key, *value, config); !s) {
      return s.error().wrap(variable);
    }
  }
  return {};
}

Status load_server_config(const ServerConfigSources& sources, ServerConfig& config) {
  if (auto file = config::choose_config_file(sources.file, sources.default_file)) {
    if (auto s = load_server_config_file(*file, config); !s) {
      return s;
    }
  }
  return apply_server_environment(sources.environment, config);
}

std::vector<std::string> server_config_keys() {
  std::vector<std::string> keys;
  for (const auto& [key, spec] : key_specs()) {
    keys.push_back(key);
  }
  return keys;
}

Status ensure_data_dir(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) {
      return Error{codes::kInternalError, "creating " + dir.string() + ": " + ec.message()};
    }
    if (::chmod(dir.c_str(), 0700) != 0) {
      return errno_error(codes::kInternalError, "chmod " + dir.string(), errno);
    }
    return {};
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    return errno_error(codes::kInternalError, dir.string(), errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Error{codes::kInternalError, dir.string() + ": not a directory"};
  }
  if ((st.st_mode & S_IWOTH) != 0) {
    return Error{codes::kInternalError,
                 dir.string() + ": writable by everyone; the data directory must not be"};
  }
  return {};
}

Expected<StoredCredential> load_or_create_credentials(const fs::path& data_dir) {
  StoredCredential out;
  out.file = data_dir / "credentials.json";
  std::error_code ec;
  if (fs::exists(out.file, ec)) {
    auto c = read_credentials_file(out.file);
    if (!c) {
      return c.error();
    }
    out.credential = std::move(*c);
    return out;
  }
  auto id = random_alnum(32);
  if (!id) {
    return id.error();
  }
  auto key = random_alnum(40);
  if (!key) {
    return key.error();
  }
  out.credential = ApiCredential{"AKID" + *id, *key};
  const nlohmann::json j = {{"SecretId", out.credential.secret_id},
                            {"SecretKey", out.credential.secret_key}};
  if (auto s = write_private_file(out.file, j.dump(2) + "\n"); !s) {
    return s.error();
  }
  out.created = true;
  return out;
}

HttpServerOptions metrics_server_options(const ServerConfig& c) {
  HttpServerOptions o = http_server_options(c);
  o.listen = c.metrics_listen;
  o.max_connections = 64;  // scrapers, not clients
  o.io_threads = 1;
  return o;
}

HttpServerOptions http_server_options(const ServerConfig& c) {
  HttpServerOptions o;
  o.listen = c.listen;
  o.allow_plain_http = c.allow_plain_http;
  o.tls_cert_file = c.tls_cert_file;
  o.tls_key_file = c.tls_key_file;
  o.max_body_bytes = c.max_body_bytes;
  o.max_connections = c.max_connections;
  o.max_connections_per_source = c.max_connections_per_source;
  o.io_threads = c.io_threads;
  o.websocket_path = "/ws";
  o.ws_idle_timeout = std::chrono::seconds(c.ws_idle_timeout_s);
  return o;
}

TatOptions tat_options(const ServerConfig& c) {
  TatOptions o;
  o.credentials = c.credentials;
  o.regions = c.regions;
  o.rate_limit = c.rate_limit;
  o.rate_burst = c.rate_burst;
  return o;
}

AcsOptions acs_options(const ServerConfig& c) {
  AcsOptions o;
  o.credentials = c.credentials;
  o.regions = c.acs_regions;
  o.rate_limit = c.rate_limit;
  o.rate_burst = c.rate_burst;
  return o;
}

ServerSettings server_settings(const ServerConfig& c, cos::EnvironmentLookup environment) {
  ServerSettings s;
  s.output_buckets = output_buckets(c, std::move(environment));
  s.account_id = c.account_id;
  s.regions = c.regions;
  s.command_quota = c.command_quota;
  s.register_code_quota = c.register_code_quota;
  s.max_run_instances = c.max_run_instances;
  // Checked by validate_server_config; UTC otherwise.
  if (auto zone = cron::Zone::find(c.schedule_time_zone)) {
    s.schedule_zone = *zone;
  }
  return s;
}

AgentAuthOptions agent_auth_options(const ServerConfig& c) {
  AgentAuthOptions o;
  o.max_clock_skew_s = c.max_clock_skew_s;
  return o;
}

GatewayOptions gateway_options(const ServerConfig& c) {
  GatewayOptions o;
  o.heartbeat_interval_s = c.heartbeat_interval_s;
  o.auth_failure_rate = c.agent_auth_failure_rate;
  o.auth_failure_burst = c.agent_auth_failure_burst;
  return o;
}

PushHubOptions push_hub_options(const ServerConfig& c) {
  PushHubOptions o;
  o.online_window_ms = c.online_window_s * 1000;
  return o;
}

SweeperOptions sweeper_options(const ServerConfig& c) {
  SweeperOptions o;
  o.interval_ms = c.sweep_interval_ms;
  o.deliver_timeout_ms = c.deliver_timeout_s * 1000;
  o.task_timeout_grace_ms = c.task_timeout_grace_s * 1000;
  return o;
}

OutputStoreOptions output_store_options(const ServerConfig& c) {
  OutputStoreOptions o;
  o.dir = c.output_dir.empty() ? fs::path(c.data_dir) / "outputs" : fs::path(c.output_dir);
  o.max_bytes = c.output_store_max_bytes;
  o.retention_days = c.output_retention_days;
  return o;
}

}  // namespace ferry::server
