// SIGHUP's reading of the agent's configuration: changed keys named, never their values; an
// invalid file changes nothing.
#include "ferry/agent/config_reload.hpp"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "test_process.hpp"

namespace {

// The default logger writes to a string for the life of this object.
struct CapturedLog {
  std::ostringstream text;
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  CapturedLog() {
    auto logger = std::make_shared<spdlog::logger>(
        "capture", std::make_shared<spdlog::sinks::ostream_sink_st>(text));
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous); }
};

void write(const std::filesystem::path& file, const std::string& text) {
  std::ofstream(file, std::ios::trunc) << text;
}

}  // namespace

TEST_CASE("config reload: names changed keys and whether they applied, never values",
          "[agent][reload]") {
  ferry::test::TempDir dir;
  const auto file = dir.path() / "agent.json";
  write(file,
        R"({"poll_interval_ms": 500, "server_url": "https://old.example", "use_cgroup": true})");
  const auto load = [&] {
    return ferry::agent::load_agent_config(file, ferry::agent::default_agent_config());
  };
  ferry::agent::ConfigReloader reloader(file, load);
  CapturedLog log;

  write(file, R"({"poll_interval_ms": 900, "server_url": "https://new-secret.example",
                  "use_cgroup": true, "kill_grace_ms": 100})");
  int applied_poll = 0;
  CHECK(reloader.reload([&](const ferry::agent::AgentConfig& c) {
    applied_poll = static_cast<int>(c.daemon.poll_interval.count());
  }));
  CHECK(applied_poll == 900);
  const std::string said = log.text.str();
  CHECK(said.find("reload: poll_interval_ms changed: applied") != std::string::npos);
  CHECK(said.find("reload: kill_grace_ms changed: applied") != std::string::npos);
  CHECK(said.find("reload: server_url changed: takes effect at the next start") !=
        std::string::npos);
  CHECK(said.find("use_cgroup") == std::string::npos);
  CHECK(said.find("3 key(s) changed") != std::string::npos);
  CHECK(said.find("new-secret") == std::string::npos);
  CHECK(said.find("900") == std::string::npos);

  // Unchanged since the last reload: nothing named.
  log.text.str("");
  CHECK(reloader.reload([](const ferry::agent::AgentConfig&) {}));
  CHECK(log.text.str().find("changed:") == std::string::npos);
  CHECK(log.text.str().find("0 key(s) changed") != std::string::npos);
}

TEST_CASE("config reload: an invalid file is an error and changes nothing", "[agent][reload]") {
  ferry::test::TempDir dir;
  const auto file = dir.path() / "agent.json";
  write(file, R"({"poll_interval_ms": 500})");
  ferry::agent::ConfigReloader reloader(file, [&] {
    return ferry::agent::load_agent_config(file, ferry::agent::default_agent_config());
  });
  CapturedLog log;
  const std::string bad = GENERATE(std::string(R"({"poll_interval_ms": 5})"),
                                   std::string(R"({"no_such_key": 1})"), std::string("{"));
  write(file, bad);
  bool applied = false;
  CHECK_FALSE(reloader.reload([&](const ferry::agent::AgentConfig&) { applied = true; }));
  CHECK_FALSE(applied);
  CHECK(log.text.str().find("the running configuration is kept") != std::string::npos);
  CHECK(log.text.str().find(file.string()) != std::string::npos);

  // Fixed again: only what differs from the configuration last applied is named.
  write(file, R"({"poll_interval_ms": 600})");
  log.text.str("");
  CHECK(reloader.reload([&](const ferry::agent::AgentConfig&) { applied = true; }));
  CHECK(applied);
  CHECK(log.text.str().find("reload: poll_interval_ms changed: applied") != std::string::npos);
  CHECK(log.text.str().find("1 key(s) changed") != std::string::npos);
}

TEST_CASE("config reload: the reloadable keys", "[agent][reload]") {
  for (const char* key : {"log_level", "max_concurrent_tasks", "kill_grace_ms", "poll_interval_ms",
                          "journal_max_bytes", "reboot_command"}) {
    CHECK(ferry::agent::agent_key_reloadable(key));
  }
  for (const char* key : {"state_dir", "server_url", "ca_file", "use_cgroup", "upload_workers",
                          "docker_path", "bucket_ca_file"}) {
    CHECK_FALSE(ferry::agent::agent_key_reloadable(key));
  }
}
