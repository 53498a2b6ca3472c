#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "ferry/agent/agent_paths.hpp"
#include "ferry/agent/commands.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/platform/fs.hpp"

namespace ferry::agent {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr std::size_t kMaxConfigFile = 1 << 20;

// Reads one key's value into the config; else says what is wrong with the value.
using Apply = std::function<std::optional<std::string>(const json& value, AgentConfig& c)>;

Apply integer(std::int64_t lo, std::int64_t hi,
              std::function<void(AgentConfig&, std::int64_t)> set) {
  return [=](const json& v, AgentConfig& c) -> std::optional<std::string> {
    if (!v.is_number_integer() || v.get<std::int64_t>() < lo || v.get<std::int64_t>() > hi) {
      return "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
    }
    set(c, v.get<std::int64_t>());
    return std::nullopt;
  };
}

// `check` says what is wrong with a string, or nothing.
Apply string(std::function<void(AgentConfig&, std::string)> set,
             std::function<std::optional<std::string>(const std::string&)> check = {}) {
  return [=](const json& v, AgentConfig& c) -> std::optional<std::string> {
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
  };
}

Apply boolean(std::function<void(AgentConfig&, bool)> set) {
  return [=](const json& v, AgentConfig& c) -> std::optional<std::string> {
    if (!v.is_boolean()) {
      return "must be true or false";
    }
    set(c, v.get<bool>());
    return std::nullopt;
  };
}

// A program and its arguments: a non-empty array of non-empty strings without NUL bytes.
Apply command(std::vector<std::string> DaemonOptions::*member) {
  return [=](const json& v, AgentConfig& c) -> std::optional<std::string> {
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
  };
}

// A container runtime setting (container.hpp): a string without NUL bytes or newlines.
Apply runtime(const char* key) {
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
Apply duration(std::int64_t lo, std::int64_t hi, milliseconds DaemonOptions::*member) {
  return integer(lo, hi,
                 [member](AgentConfig& c, std::int64_t v) { c.daemon.*member = milliseconds(v); });
}

const std::map<std::string_view, Apply>& keys() {
  static const std::map<std::string_view, Apply> kKeys{
      {"state_dir", string([](AgentConfig& c, std::string v) { c.state_dir = std::move(v); },
                           [](const std::string& v) -> std::optional<std::string> {
                             if (v.empty() || v[0] != '/') {
                               return "must be an absolute path";
                             }
                             return std::nullopt;
                           })},
      {"log_level", string([](AgentConfig& c, std::string v) { c.log_level = std::move(v); },
                           [](const std::string& v) -> std::optional<std::string> {
                             if (v != "trace" && v != "debug" && v != "info" && v != "warn" &&
                                 v != "error") {
                               return "must be one of trace, debug, info, warn, error";
                             }
                             return std::nullopt;
                           })},
      {"register_file",
       string([](AgentConfig& c, std::string v) { c.register_file = std::move(v); },
              [](const std::string& v) -> std::optional<std::string> {
                if (v.empty() || v[0] != '/') {
                  return "must be an absolute path";
                }
                return std::nullopt;
              })},
      {"server_url", string([](AgentConfig& c, std::string v) { c.server_url = std::move(v); })},
      {"ca_file", string([](AgentConfig& c, std::string v) { c.ca_file = std::move(v); })},
      {"allow_plain_http", boolean([](AgentConfig& c, bool v) { c.allow_plain_http = v; })},
      {"max_concurrent_tasks", integer(1, 1024,
                                       [](AgentConfig& c, std::int64_t v) {
                                         c.daemon.runner.max_concurrent =
                                             static_cast<std::size_t>(v);
                                       })},
      {"kill_grace_ms", integer(0, 300'000,
                                [](AgentConfig& c, std::int64_t v) {
                                  c.daemon.runner.kill_grace = milliseconds(v);
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
      {"bucket_ca_file",
       string([](AgentConfig& c, std::string v) { c.daemon.objects.ca_file = std::move(v); })},
  };
  return kKeys;
}

}  // namespace

AgentConfig default_agent_config() {
  AgentConfig c;
  c.state_dir = std::string(kDefaultStateDir);
  c.daemon.state_dir = c.state_dir;
  return c;
}

Expected<AgentConfig> load_agent_config(const std::filesystem::path& file, AgentConfig base) {
  auto text = platform::read_file(file, kMaxConfigFile);
  if (!text) {
    return text.error();
  }
  auto j = json::parse(*text, nullptr, false, /*ignore_comments=*/true);
  if (!j.is_object()) {
    return Error{codes::kInvalidParameterValue, file.string() + ": not a JSON object"};
  }
  AgentConfig c = std::move(base);
  for (auto& [key, value] : j.items()) {
    const auto it = keys().find(key);
    const auto problem =
        it == keys().end() ? std::optional<std::string>("unknown key") : it->second(value, c);
    if (problem) {
      return Error{codes::kInvalidParameterValue, file.string() + ": " + key + ": " + *problem};
    }
  }
  c.daemon.state_dir = c.state_dir;
  return c;
}

}  // namespace ferry::agent
