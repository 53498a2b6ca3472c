#include <algorithm>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "ferry/agent/agent_paths.hpp"
#include "ferry/agent/commands.hpp"
#include "ferry/agent/server_url.hpp"
#include "ferry/core/config_layers.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/platform/environment.hpp"
#include "ferry/platform/fs.hpp"
#include "ferry/platform/logging.hpp"

namespace ferry::agent {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr std::size_t kMaxConfigFile = 1 << 20;
constexpr std::string_view kPolicyKey = "policy";
// More drop-in files than this is a mistake worth stopping for, not a policy.
constexpr std::size_t kMaxDropIns = 256;

// Reads one key's value into the config; else says what is wrong with the value.
using Apply = std::function<std::optional<std::string>(const json& value, AgentConfig& c)>;

// A key: how its variable's text is read, and how its value is checked and applied.
struct AgentKey {
  config::ValueKind kind;
  Apply apply;
};

AgentKey integer(std::int64_t lo, std::int64_t hi,
                 std::function<void(AgentConfig&, std::int64_t)> set) {
  return {
      config::ValueKind::kInteger,
      [=](const json& v, AgentConfig& c) -> std::optional<std::string> {
        if (!v.is_number_integer() || v.get<std::int64_t>() < lo || v.get<std::int64_t>() > hi) {
          return "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
        }
        set(c, v.get<std::int64_t>());
        return std::nullopt;
      }};
}

// `check` says what is wrong with a string, or nothing.
AgentKey string(std::function<void(AgentConfig&, std::string)> set,
                std::function<std::optional<std::string>(const std::string&)> check = {}) {
  return {config::ValueKind::kString,
          [=](const json& v, AgentConfig& c) -> std::optional<std::string> {
            if (!v.is_string()) {
              return "must be a string";
            }
            const auto s = v.get<std::string>();
            if (check) {
              if (auto problem = check(s)) {
                return problem;
              }
            }
            set(c, s);
            return std::nullopt;
          }};
}

AgentKey boolean(std::function<void(AgentConfig&, bool)> set) {
  return {config::ValueKind::kBoolean,
          [=](const json& v, AgentConfig& c) -> std::optional<std::string> {
            if (!v.is_boolean()) {
              return "must be true or false";
            }
            set(c, v.get<bool>());
            return std::nullopt;
          }};
}

// A setting that overrides one saved at registration; null (the default) keeps the saved one.
AgentKey registration_override(AgentKey key, std::function<void(AgentConfig&)> reset) {
  return {key.kind, [key, reset](const json& v, AgentConfig& c) -> std::optional<std::string> {
            if (v.is_null()) {
              reset(c);
              return std::nullopt;
            }
            auto problem = key.apply(v, c);
            if (problem) {
              return *problem + " (or null: the value saved at registration)";
            }
            return std::nullopt;
          }};
}

// Whether `v` (UTF-8) is an absolute path on this OS: "/..." on POSIX; "C:\..." or
// "\\server\share\..." on Windows, where "\..." (relative to the current drive) is not.
bool is_absolute_path(const std::string& v) {
  try {
    return std::filesystem::path(std::u8string(v.begin(), v.end())).is_absolute();
  } catch (const std::exception&) {
    return false;  // not UTF-8, on Windows
  }
}

// An absolute path of at most 4096 bytes without NUL; "" too when `empty_allowed`.
std::function<std::optional<std::string>(const std::string&)> absolute_path(bool empty_allowed) {
  return [empty_allowed](const std::string& v) -> std::optional<std::string> {
    if (v.empty() && empty_allowed) {
      return std::nullopt;
    }
    if (v.empty() || v.size() > 4096 || v.find('\0') != std::string::npos || !is_absolute_path(v)) {
      return empty_allowed ? "must be \"\" or an absolute path" : "must be an absolute path";
    }
    return std::nullopt;
  };
}

// A program and its arguments: a non-empty array of non-empty strings without NUL bytes.
AgentKey command(std::vector<std::string> DaemonOptions::*member) {
  return {config::ValueKind::kList,
          [=](const json& v, AgentConfig& c) -> std::optional<std::string> {
            constexpr std::size_t kMaxArguments = 64;
            const auto problem = std::optional<std::string>(
                "must be an array of 1 to " + std::to_string(kMaxArguments) + " non-empty strings");
            if (!v.is_array() || v.empty() || v.size() > kMaxArguments) {
              return problem;
            }
            std::vector<std::string> argv;
            for (const auto& a : v) {
              if (!a.is_string() || a.get<std::string>().empty() ||
                  a.get<std::string>().find('\0') != std::string::npos) {
                return problem;
              }
              argv.push_back(a.get<std::string>());
            }
            c.daemon.*member = std::move(argv);
            return std::nullopt;
          }};
}

// A container runtime setting (container.hpp): a string without NUL bytes or newlines.
AgentKey runtime(const char* key) {
  return string(
      [key](AgentConfig& c, std::string v) {
        (void)set_runtime_value(c.daemon.runner.runtimes, key, std::move(v));
      },
      [](const std::string& v) -> std::optional<std::string> {
        if (v.size() > 4096 || v.find_first_of(std::string("\0\n", 2)) != std::string::npos) {
          return "must be at most 4096 bytes, without NUL or newline";
        }
        return std::nullopt;
      });
}

// A duration of the daemon's, in milliseconds.
AgentKey duration(std::int64_t lo, std::int64_t hi, milliseconds DaemonOptions::*member) {
  return integer(lo, hi,
                 [member](AgentConfig& c, std::int64_t v) { c.daemon.*member = milliseconds(v); });
}

const std::map<std::string_view, AgentKey>& keys() {
  static const std::map<std::string_view, AgentKey> kKeys{
      {"state_dir", string([](AgentConfig& c, std::string v) { c.state_dir = std::move(v); },
                           absolute_path(false))},
      {"log_level", string([](AgentConfig& c, std::string v) { c.log_level = std::move(v); },
                           [](const std::string& v) -> std::optional<std::string> {
                             if (!platform::is_log_level(v)) {
                               return std::string("must be one of ") +
                                      std::string(platform::kLogLevels);
                             }
                             return std::nullopt;
                           })},
      {"register_file",
       string([](AgentConfig& c, std::string v) { c.register_file = std::move(v); },
              absolute_path(false))},
      {"log_file", string([](AgentConfig& c, std::string v) { c.log_file = std::move(v); },
                          absolute_path(true))},
      {"log_max_size_mib", integer(1, 1024,
                                   [](AgentConfig& c, std::int64_t v) {
                                     c.log_max_size_mib = static_cast<std::uint64_t>(v);
                                   })},
      {"log_max_files", integer(1, 100,
                                [](AgentConfig& c, std::int64_t v) {
                                  c.log_max_files = static_cast<std::size_t>(v);
                                })},
      {"server_url", registration_override(
                         string([](AgentConfig& c, std::string v) { c.server_url = std::move(v); },
                                [](const std::string& v) -> std::optional<std::string> {
                                  if (auto url = parse_server_url(v, true); !url) {
                                    return "must be an http(s) URL: " + url.error().message;
                                  }
                                  return std::nullopt;
                                }),
                         [](AgentConfig& c) { c.server_url.reset(); })},
      {"ca_file",
       registration_override(string([](AgentConfig& c, std::string v) { c.ca_file = std::move(v); },
                                    absolute_path(false)),
                             [](AgentConfig& c) { c.ca_file.reset(); })},
      {"allow_plain_http",
       registration_override(boolean([](AgentConfig& c, bool v) { c.allow_plain_http = v; }),
                             [](AgentConfig& c) { c.allow_plain_http.reset(); })},
      {"max_concurrent_tasks", integer(1, 1024,
                                       [](AgentConfig& c, std::int64_t v) {
                                         c.daemon.runner.max_concurrent =
                                             static_cast<std::size_t>(v);
                                       })},
      {"kill_grace_ms", integer(0, 300'000,
                                [](AgentConfig& c, std::int64_t v) {
                                  c.daemon.runner.kill_grace = milliseconds(v);
                                })},
      {"task_output_max_bytes", integer(64 * 1024, std::int64_t{1} << 40,
                                        [](AgentConfig& c, std::int64_t v) {
                                          c.daemon.runner.output_max_bytes =
                                              static_cast<std::uint64_t>(v);
                                        })},
      {"use_cgroup", boolean([](AgentConfig& c, bool v) { c.daemon.runner.use_cgroup = v; })},
      {"poll_interval_ms", duration(100, 3'600'000, &DaemonOptions::poll_interval)},
      {"live_output_interval_ms", duration(1000, 60'000, &DaemonOptions::live_output_interval)},
      {"reconnect_max_ms", duration(1000, 3'600'000, &DaemonOptions::reconnect_max)},
      {"retry_max_ms", duration(1000, 3'600'000, &DaemonOptions::retry_max)},
      {"shutdown_flush_ms", duration(0, 300'000, &DaemonOptions::shutdown_flush)},
      {"journal_max_tasks", integer(1, 1'000'000,
                                    [](AgentConfig& c, std::int64_t v) {
                                      c.daemon.journal_max_tasks = static_cast<std::size_t>(v);
                                    })},
      {"journal_max_bytes", integer(1 << 20, std::int64_t{1} << 40,
                                    [](AgentConfig& c, std::int64_t v) {
                                      c.daemon.journal_max_bytes = static_cast<std::uint64_t>(v);
                                    })},
      // Output uploads (daemon.hpp). S3 and COS take parts of 5 MiB to 5 GiB.
      {"multipart_threshold_bytes", integer(5 << 20, std::int64_t{5} << 30,
                                            [](AgentConfig& c, std::int64_t v) {
                                              c.daemon.multipart_threshold =
                                                  static_cast<std::uint64_t>(v);
                                            })},
      {"multipart_part_bytes", integer(5 << 20, std::int64_t{5} << 30,
                                       [](AgentConfig& c, std::int64_t v) {
                                         c.daemon.part_size = static_cast<std::uint64_t>(v);
                                       })},
      {"upload_min_window_ms", duration(0, 3'600'000, &DaemonOptions::upload_min_window)},
      {"upload_workers", integer(1, 16,
                                 [](AgentConfig& c, std::int64_t v) {
                                   c.daemon.objects.workers = static_cast<std::size_t>(v);
                                 })},
      {"poweroff_command", command(&DaemonOptions::poweroff_command)},
      {"docker_path", runtime("docker_path")},
      {"docker_host", runtime("docker_host")},
      {"podman_path", runtime("podman_path")},
      {"podman_url", runtime("podman_url")},
      {"crictl_path", runtime("crictl_path")},
      {"containerd_endpoint", runtime("containerd_endpoint")},
      {"crio_endpoint", runtime("crio_endpoint")},
      {"reboot_command", command(&DaemonOptions::reboot_command)},
      // Read by load_agent_config and read_policy_drop_ins, from files only: never from a
      // variable or a flag, which could widen what the machine's files allow.
      {"policy",
       {config::ValueKind::kJson,
        [](const json&, AgentConfig&)
            -> std::optional<
                std::string> { return "the local policy is read from configuration files only"; }}},
      {"audit_max_size_mib", integer(1, 1024,
                                     [](AgentConfig& c, std::int64_t v) {
                                       c.daemon.audit_max_bytes = static_cast<std::uint64_t>(v)
                                                                  << 20;
                                     })},
      {"audit_max_files", integer(1, 100,
                                  [](AgentConfig& c, std::int64_t v) {
                                    c.daemon.audit_keep_files = static_cast<std::size_t>(v);
                                  })},
      {"bucket_ca_file",
       string([](AgentConfig& c, std::string v) { c.daemon.objects.ca_file = std::move(v); },
              absolute_path(true))},
  };
  return kKeys;
}

// Checks and applies one key's value; the error names `where` and the reason.
Status apply_key(AgentConfig& c, std::string_view key, const json& value,
                 const std::string& where) {
  const auto it = keys().find(key);
  const auto problem =
      it == keys().end() ? std::optional<std::string>("unknown key") : it->second.apply(value, c);
  if (problem) {
    return Error{codes::kInvalidParameterValue, where + ": " + *problem};
  }
  return {};
}

// A variable's or a flag's text for `key`, read by the key's kind.
Status apply_text(AgentConfig& c, std::string_view key, std::string_view text,
                  const std::string& where) {
  const auto it = keys().find(key);
  if (it == keys().end()) {
    return Error{codes::kInvalidParameterValue, where + ": unknown key"};
  }
  auto value = config::value_from_text(it->second.kind, text);
  if (!value) {
    return value.error().wrap(where);
  }
  return apply_key(c, key, *value, where);
}

// A configuration file (the main one or a drop-in): a JSON object, comments allowed.
Expected<json> read_config_object(const std::filesystem::path& file) {
  auto text = platform::read_file(file, kMaxConfigFile);
  if (!text) {
    return text.error();
  }
  auto j = json::parse(*text, nullptr, false, /*ignore_comments=*/true);
  if (!j.is_object()) {
    return Error{codes::kInvalidParameterValue, file.string() + ": not a JSON object"};
  }
  return j;
}

}  // namespace

std::filesystem::path default_agent_config_file() {
  return platform::default_agent_config_dir() / "ferry-agent.json";
}

std::filesystem::path default_register_file() {
  return platform::default_agent_config_dir() / "register.json";
}

AgentConfig default_agent_config() {
  AgentConfig c;
  c.state_dir = default_state_dir();
  c.daemon.state_dir = c.state_dir;
  return c;
}

Expected<AgentConfig> load_agent_config(const std::filesystem::path& file, AgentConfig base) {
  auto j = read_config_object(file);
  if (!j) {
    return j.error();
  }
  AgentConfig c = std::move(base);
  for (auto& [key, value] : j->items()) {
    if (key == kPolicyKey) {
      // Its own errors name the key inside it: "FILE: policy.allowed_users: ...".
      auto policy = parse_local_policy(value, file.string() + ": policy");
      if (!policy) {
        return policy.error();
      }
      c.daemon.policy = std::move(*policy);
      continue;
    }
    if (auto s = apply_key(c, key, value, file.string() + ": " + key); !s) {
      return s.error();
    }
  }
  c.daemon.state_dir = c.state_dir;
  return c;
}

std::filesystem::path agent_drop_in_dir(const std::filesystem::path& config_file) {
  auto dir = config_file;
  dir.replace_extension(".d");
  return dir;
}

Expected<LocalPolicy> read_policy_drop_ins(const std::filesystem::path& dir, LocalPolicy base) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec) && !ec) {
    return base;
  }
  std::vector<std::filesystem::path> files;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (it->path().extension() == ".json" && !name.starts_with('.')) {
      files.push_back(it->path());
    }
  }
  if (ec) {
    // A policy that cannot be read must stop the agent, not leave it unrestricted.
    return Error{codes::kInvalidParameterValue, dir.string() + ": " + ec.message()};
  }
  if (files.size() > kMaxDropIns) {
    return Error{codes::kInvalidParameterValue,
                 dir.string() + ": more than " + std::to_string(kMaxDropIns) + " drop-in files"};
  }
  // Tightening is commutative; the order only decides which error is named first.
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    auto j = read_config_object(file);
    if (!j) {
      return j.error();
    }
    for (auto& [key, value] : j->items()) {
      if (key != kPolicyKey) {
        return Error{codes::kInvalidParameterValue,
                     file.string() + ": " + key + ": a drop-in file holds only \"policy\""};
      }
      auto policy = parse_local_policy(value, file.string() + ": policy");
      if (!policy) {
        return policy.error();
      }
      base = tighten(base, *policy);
    }
  }
  return base;
}

Expected<AgentConfig> apply_agent_environment(AgentConfig base,
                                              const config::EnvironmentLookup& environment) {
  if (!environment) {
    return base;
  }
  for (const auto& [key, spec] : keys()) {
    const std::string variable = config::environment_variable(key);
    if (auto text = environment(variable)) {
      const std::string where = variable + " (" + std::string(key) + ")";
      if (auto s = apply_text(base, key, *text, where); !s) {
        return s.error();
      }
    }
  }
  base.daemon.state_dir = base.state_dir;
  return base;
}

Expected<AgentConfig> apply_agent_flag(AgentConfig base, std::string_view key,
                                       std::string_view value) {
  if (auto s = apply_text(base, key, value, config::flag_name(key)); !s) {
    return s.error();
  }
  base.daemon.state_dir = base.state_dir;
  return base;
}

Expected<AgentConfig> resolve_agent_config(const AgentConfigSources& sources) {
  AgentConfig c = default_agent_config();
  if (auto file = config::choose_config_file(sources.file, sources.default_file)) {
    auto loaded = load_agent_config(*file, std::move(c));
    if (!loaded) {
      return loaded.error();
    }
    c = std::move(*loaded);
  }
  // Read whether the file exists or not: a drop-in's policy holds on its own.
  auto policy = read_policy_drop_ins(agent_drop_in_dir(sources.file.value_or(sources.default_file)),
                                     std::move(c.daemon.policy));
  if (!policy) {
    return policy.error();
  }
  c.daemon.policy = std::move(*policy);
  auto with_env = apply_agent_environment(std::move(c), sources.environment);
  if (!with_env) {
    return with_env.error();
  }
  c = std::move(*with_env);
  for (const auto& [key, value] : sources.flags) {
    auto flagged = apply_agent_flag(std::move(c), key, value);
    if (!flagged) {
      return flagged.error();
    }
    c = std::move(*flagged);
  }
  return c;
}

std::vector<std::string> agent_config_keys() {
  std::vector<std::string> names;
  for (const auto& [key, spec] : keys()) {
    names.emplace_back(key);
  }
  return names;
}

}  // namespace ferry::agent
