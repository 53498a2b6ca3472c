#include <nlohmann/json.hpp>

#include "ferry/agent/agent_paths.hpp"
#include "ferry/agent/commands.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/platform/fs.hpp"

namespace ferry::agent {
namespace {

constexpr std::size_t kMaxConfigFile = 1 << 20;

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
  auto j = nlohmann::json::parse(*text, nullptr, false, /*ignore_comments=*/true);
  auto bad = [&](const std::string& key, const std::string& why) {
    return Error{codes::kInvalidParameterValue, file.string() + ": " + key + ": " + why};
  };
  if (!j.is_object()) {
    return Error{codes::kInvalidParameterValue, file.string() + ": not a JSON object"};
  }
  AgentConfig c = std::move(base);
  for (auto& [key, value] : j.items()) {
    auto integer = [&](std::int64_t lo, std::int64_t hi) -> Expected<std::int64_t> {
      if (!value.is_number_integer() || value.get<std::int64_t>() < lo ||
          value.get<std::int64_t>() > hi) {
        return bad(key,
                   "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
      }
      return value.get<std::int64_t>();
    };
    auto string = [&]() -> Expected<std::string> {
      if (!value.is_string()) {
        return bad(key, "must be a string");
      }
      return value.get<std::string>();
    };
    auto boolean = [&]() -> Expected<bool> {
      if (!value.is_boolean()) {
        return bad(key, "must be true or false");
      }
      return value.get<bool>();
    };
    if (key == "state_dir") {
      auto v = string();
      if (!v)
        return v.error();
      if (v->empty() || (*v)[0] != '/')
        return bad(key, "must be an absolute path");
      c.state_dir = *v;
    } else if (key == "log_level") {
      auto v = string();
      if (!v)
        return v.error();
      if (*v != "trace" && *v != "debug" && *v != "info" && *v != "warn" && *v != "error") {
        return bad(key, "must be one of trace, debug, info, warn, error");
      }
      c.log_level = *v;
    } else if (key == "server_url") {
      auto v = string();
      if (!v)
        return v.error();
      c.server_url = *v;
    } else if (key == "ca_file") {
      auto v = string();
      if (!v)
        return v.error();
      c.ca_file = *v;
    } else if (key == "allow_plain_http") {
      auto v = boolean();
      if (!v)
        return v.error();
      c.allow_plain_http = *v;
    } else if (key == "max_concurrent_tasks") {
      auto v = integer(1, 1024);
      if (!v)
        return v.error();
      c.daemon.max_concurrent = static_cast<std::size_t>(*v);
    } else if (key == "kill_grace_ms") {
      auto v = integer(0, 300'000);
      if (!v)
        return v.error();
      c.daemon.kill_grace = std::chrono::milliseconds(*v);
    } else if (key == "use_cgroup") {
      auto v = boolean();
      if (!v)
        return v.error();
      c.daemon.use_cgroup = *v;
    } else if (key == "poll_interval_ms") {
      auto v = integer(100, 3'600'000);
      if (!v)
        return v.error();
      c.daemon.poll_interval = std::chrono::milliseconds(*v);
    } else if (key == "live_output_interval_ms") {
      auto v = integer(1000, 60'000);
      if (!v)
        return v.error();
      c.daemon.live_output_interval = std::chrono::milliseconds(*v);
    } else if (key == "reconnect_max_ms") {
      auto v = integer(1000, 3'600'000);
      if (!v)
        return v.error();
      c.daemon.reconnect_max = std::chrono::milliseconds(*v);
    } else if (key == "retry_max_ms") {
      auto v = integer(1000, 3'600'000);
      if (!v)
        return v.error();
      c.daemon.retry_max = std::chrono::milliseconds(*v);
    } else if (key == "shutdown_flush_ms") {
      auto v = integer(0, 300'000);
      if (!v)
        return v.error();
      c.daemon.shutdown_flush = std::chrono::milliseconds(*v);
    } else if (key == "journal_max_tasks") {
      auto v = integer(1, 1'000'000);
      if (!v)
        return v.error();
      c.daemon.journal_max_tasks = static_cast<std::size_t>(*v);
    } else if (key == "journal_max_bytes") {
      auto v = integer(1 << 20, std::int64_t{1} << 40);
      if (!v)
        return v.error();
      c.daemon.journal_max_bytes = static_cast<std::uint64_t>(*v);
    } else {
      return bad(key, "unknown key");
    }
  }
  c.daemon.state_dir = c.state_dir;
  return c;
}

}  // namespace ferry::agent
