#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "config_docs.hpp"
#include "ferry/agent/commands.hpp"
#include "ferry/agent/control_plane.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/core/ed25519.hpp"
#include "process.hpp"
#include "test_process.hpp"

namespace {

std::filesystem::path write_config(const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("ferry-agent-config-" + std::to_string(::getpid()) + ".json");
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("agent config: defaults, every key, and the file over the defaults") {
  auto base = ferry::agent::default_agent_config();
  CHECK(base.state_dir == "/var/lib/ferry");
  CHECK(base.daemon.runner.max_concurrent == 64);
  CHECK(base.daemon.poll_interval == std::chrono::milliseconds(15000));
  CHECK(base.daemon.journal_max_tasks == 10000);
  CHECK(base.daemon.journal_max_bytes == 1ULL << 30);
  CHECK(base.daemon.poweroff_command == std::vector<std::string>{"systemctl", "poweroff"});
  CHECK(base.daemon.reboot_command == std::vector<std::string>{"systemctl", "reboot"});
  CHECK(base.register_file == "/etc/ferry/register.json");
  const auto path = write_config(R"({
    "state_dir": "/srv/ferry", "log_level": "debug", "server_url": "https://x",
    "ca_file": "/etc/ca.pem", "allow_plain_http": true, "max_concurrent_tasks": 8,
    "kill_grace_ms": 100, "task_output_max_bytes": 1048576, "use_cgroup": false, "poll_interval_ms": 500,
    "live_output_interval_ms": 2000, "reconnect_max_ms": 5000, "retry_max_ms": 4000,
    "shutdown_flush_ms": 0, "journal_max_tasks": 500, "journal_max_bytes": 2097152,
    "multipart_threshold_bytes": 10485760, "multipart_part_bytes": 6291456,
    "upload_min_window_ms": 5000, "upload_workers": 4, "bucket_ca_file": "/etc/store-ca.pem",
    "poweroff_command": ["/sbin/shutdown", "-h", "now"], "reboot_command": ["reboot"],
    "register_file": "/run/ferry/register.json"
  })");
  auto c = ferry::agent::load_agent_config(path, base);
  std::filesystem::remove(path);
  REQUIRE(c);
  CHECK(c->state_dir == "/srv/ferry");
  CHECK(c->daemon.state_dir == "/srv/ferry");
  CHECK(c->log_level == "debug");
  CHECK(c->server_url == "https://x");
  CHECK(c->ca_file == "/etc/ca.pem");
  CHECK(c->allow_plain_http == true);
  CHECK(c->daemon.runner.max_concurrent == 8);
  CHECK(c->daemon.runner.kill_grace == std::chrono::milliseconds(100));
  CHECK(c->daemon.runner.output_max_bytes == 1048576);
  CHECK_FALSE(c->daemon.runner.use_cgroup);
  CHECK(c->daemon.poll_interval == std::chrono::milliseconds(500));
  CHECK(c->daemon.live_output_interval == std::chrono::milliseconds(2000));
  CHECK(c->daemon.reconnect_max == std::chrono::milliseconds(5000));
  CHECK(c->daemon.retry_max == std::chrono::milliseconds(4000));
  CHECK(c->daemon.shutdown_flush == std::chrono::milliseconds(0));
  CHECK(c->daemon.journal_max_tasks == 500);
  CHECK(c->daemon.journal_max_bytes == 2097152);
  CHECK(c->daemon.multipart_threshold == 10485760);
  CHECK(c->daemon.part_size == 6291456);
  CHECK(c->daemon.upload_min_window == std::chrono::milliseconds(5000));
  CHECK(c->daemon.objects.workers == 4);
  CHECK(c->daemon.objects.ca_file == "/etc/store-ca.pem");
  CHECK(c->daemon.poweroff_command == std::vector<std::string>{"/sbin/shutdown", "-h", "now"});
  CHECK(c->daemon.reboot_command == std::vector<std::string>{"reboot"});
  CHECK(c->register_file == "/run/ferry/register.json");
}

TEST_CASE("agent config: unknown keys, wrong types and ranges name the key") {
  struct Case {
    const char* text;
    const char* key;
  };
  for (const Case& k :
       {Case{R"({"bogus": 1})", "bogus"},
        Case{R"({"max_concurrent_tasks": 0})", "max_concurrent_tasks"},
        Case{R"({"max_concurrent_tasks": "8"})", "max_concurrent_tasks"},
        Case{R"({"live_output_interval_ms": 200})", "live_output_interval_ms"},
        Case{R"({"state_dir": "relative"})", "state_dir"},
        Case{R"({"register_file": "register.json"})", "register_file"},
        Case{R"({"register_file": 1})", "register_file"},
        Case{R"({"log_level": "loud"})", "log_level"}, Case{R"({"use_cgroup": 1})", "use_cgroup"},
        Case{R"({"journal_max_tasks": 0})", "journal_max_tasks"},
        Case{R"({"journal_max_bytes": 1024})", "journal_max_bytes"},
        Case{R"({"multipart_part_bytes": 1048576})", "multipart_part_bytes"},
        Case{R"({"multipart_threshold_bytes": true})", "multipart_threshold_bytes"},
        Case{R"({"upload_workers": 17})", "upload_workers"},
        Case{R"({"poweroff_command": "systemctl poweroff"})", "poweroff_command"},
        Case{R"({"poweroff_command": []})", "poweroff_command"},
        Case{R"({"reboot_command": ["systemctl", ""]})", "reboot_command"},
        Case{R"({"reboot_command": ["systemctl", 1]})", "reboot_command"}}) {
    INFO(k.text);
    const auto path = write_config(k.text);
    auto c = ferry::agent::load_agent_config(path, ferry::agent::default_agent_config());
    std::filesystem::remove(path);
    REQUIRE_FALSE(c);
    CHECK(c.error().message.find(k.key) != std::string::npos);
  }
  const auto path = write_config("[1, 2]");
  CHECK_FALSE(ferry::agent::load_agent_config(path, ferry::agent::default_agent_config()));
  std::filesystem::remove(path);
}

namespace {

using ferry::agent::AgentConfig;
using ferry::agent::AgentConfigSources;
using Variables = std::map<std::string, std::string>;

ferry::config::EnvironmentLookup environment_of(Variables vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(std::string(name));
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

// The error of the variables over the defaults ("" when they were taken).
std::string environment_error(Variables vars) {
  auto c = ferry::agent::apply_agent_environment(ferry::agent::default_agent_config(),
                                                 environment_of(std::move(vars)));
  return c ? std::string() : c.error().message;
}

// The error of the file's text over the defaults; `file` is where it was written.
std::string file_error(const std::string& text, std::string& file) {
  const auto path = write_config(text);
  file = path.string();
  auto c = ferry::agent::load_agent_config(path, ferry::agent::default_agent_config());
  std::filesystem::remove(path);
  return c ? std::string() : c.error().message;
}

}  // namespace

TEST_CASE("agent config: every kind of bad value names the file, the key and the reason") {
  struct Case {
    const char* text;
    const char* key;
    const char* reason;
  };
  for (const Case& k : {
           Case{R"({"log_levels": "info"})", "log_levels", "unknown key"},
           Case{R"({"kill_grace_ms": "100"})", "kill_grace_ms", "must be an integer from 0"},
           Case{R"({"allow_plain_http": "yes"})", "allow_plain_http", "must be true or false"},
           Case{R"({"kill_grace_ms": 300001})", "kill_grace_ms", "from 0 to 300000"},
           Case{R"({"task_output_max_bytes": 1000})", "task_output_max_bytes", "from 65536"},
           Case{R"({"log_level": "loud"})", "log_level", "must be one of trace, debug"},
           Case{R"({"log_file": "ferry.log"})", "log_file", "absolute path"},
           Case{R"({"log_max_size_mib": 0})", "log_max_size_mib", "from 1 to 1024"},
           Case{R"({"log_max_files": 101})", "log_max_files", "from 1 to 100"},
           Case{R"({"server_url": "ftp://x"})", "server_url", "URL"},
           Case{R"({"ca_file": "ca.pem"})", "ca_file", "absolute path"},
           Case{R"({"bucket_ca_file": "ca.pem"})", "bucket_ca_file", "absolute path"},
       }) {
    INFO(k.text);
    std::string file;
    const std::string message = file_error(k.text, file);
    CHECK_THAT(message, Catch::StartsWith(file + ": " + k.key + ": ") && Catch::Contains(k.reason));
  }
  // The three settings saved at registration take null: the saved one.
  std::string file;
  CHECK(file_error(R"({"server_url": null, "ca_file": null, "allow_plain_http": null})", file)
            .empty());
}

TEST_CASE("agent config: FERRY_ variables, read by each key's kind") {
  auto c = ferry::agent::apply_agent_environment(
      ferry::agent::default_agent_config(),
      environment_of({{"FERRY_STATE_DIR", "/srv/env"},
                      {"FERRY_LOG_LEVEL", "debug"},
                      {"FERRY_SERVER_URL", "https://ferry.example:8443"},
                      {"FERRY_MAX_CONCURRENT_TASKS", "7"},
                      {"FERRY_USE_CGROUP", "false"},
                      {"FERRY_LOG_FILE", "/var/log/ferry/agent.log"},
                      {"FERRY_POWEROFF_COMMAND", "/sbin/shutdown, -h,now"},
                      {"FERRY_REBOOT_COMMAND", R"(["/sbin/reboot", "a,b"])"},
                      {"FERRY_DOCKER_HOST", " tcp://10.0.0.1:2375 "},
                      // Not a key: ignored (other programs' variables share the prefix).
                      {"FERRY_REGISTER_CODE", "secret"}}));
  REQUIRE(c);
  CHECK(c->state_dir == "/srv/env");
  CHECK(c->daemon.state_dir == "/srv/env");
  CHECK(c->log_level == "debug");
  CHECK(c->server_url == "https://ferry.example:8443");
  CHECK(c->daemon.runner.max_concurrent == 7);
  CHECK_FALSE(c->daemon.runner.use_cgroup);
  CHECK(c->log_file == "/var/log/ferry/agent.log");
  CHECK(c->daemon.poweroff_command == std::vector<std::string>{"/sbin/shutdown", "-h", "now"});
  CHECK(c->daemon.reboot_command == std::vector<std::string>{"/sbin/reboot", "a,b"});
  CHECK(c->daemon.runner.runtimes.docker_host == " tcp://10.0.0.1:2375 ");  // strings: verbatim

  // Each kind of bad value names the variable, the key and the reason.
  CHECK_THAT(environment_error({{"FERRY_LOG_LEVEL", "loud"}}),
             Catch::StartsWith("FERRY_LOG_LEVEL (log_level): must be one of"));
  CHECK_THAT(environment_error({{"FERRY_USE_CGROUP", "yes"}}),
             Catch::StartsWith("FERRY_USE_CGROUP (use_cgroup): must be true or false"));
  CHECK_THAT(environment_error({{"FERRY_MAX_CONCURRENT_TASKS", "many"}}),
             Catch::StartsWith("FERRY_MAX_CONCURRENT_TASKS (max_concurrent_tasks): must be an "
                               "integer from 1 to 1024"));
  CHECK_THAT(environment_error({{"FERRY_MAX_CONCURRENT_TASKS", "1025"}}),
             Catch::Contains("max_concurrent_tasks") && Catch::Contains("from 1 to 1024"));
  CHECK_THAT(environment_error({{"FERRY_KILL_GRACE_MS", "1.5"}}),
             Catch::Contains("FERRY_KILL_GRACE_MS (kill_grace_ms): must be an integer"));
  CHECK_THAT(environment_error({{"FERRY_STATE_DIR", "relative"}}),
             Catch::Contains("FERRY_STATE_DIR (state_dir): must be an absolute path"));
  CHECK_THAT(environment_error({{"FERRY_REBOOT_COMMAND", "[\"reboot\""}}),
             Catch::StartsWith("FERRY_REBOOT_COMMAND (reboot_command): must be a JSON array"));
  CHECK_THAT(environment_error({{"FERRY_REBOOT_COMMAND", ""}}),
             Catch::Contains("FERRY_REBOOT_COMMAND (reboot_command): must be an array of 1"));
}

TEST_CASE("agent config: defaults < file < variables < flags; the default file is optional") {
  ferry::test::TempDir dir;
  const auto default_file = dir / "ferry-agent.json";
  const auto given = dir / "given.json";
  std::ofstream(given) << R"({"log_level": "error", "kill_grace_ms": 100, "upload_workers": 3})";

  AgentConfigSources sources;
  sources.default_file = default_file;
  // No file at all: the defaults.
  auto none = ferry::agent::resolve_agent_config(sources);
  REQUIRE(none);
  CHECK(none->log_level == "info");

  // The default file, when it exists and --config is not given.
  std::ofstream(default_file) << R"({"log_level": "warn", "kill_grace_ms": 200})";
  auto from_default = ferry::agent::resolve_agent_config(sources);
  REQUIRE(from_default);
  CHECK(from_default->log_level == "warn");
  CHECK(from_default->daemon.runner.kill_grace == std::chrono::milliseconds(200));

  // --config wins over the default file (which is not read at all).
  sources.file = given;
  sources.environment =
      environment_of({{"FERRY_LOG_LEVEL", "debug"}, {"FERRY_KILL_GRACE_MS", "300"}});
  sources.flags = {{"log_level", "trace"}, {"state_dir", "/srv/flag"}};
  auto c = ferry::agent::resolve_agent_config(sources);
  REQUIRE(c);
  CHECK(c->daemon.objects.workers == 3);                                 // the file
  CHECK(c->daemon.runner.kill_grace == std::chrono::milliseconds(300));  // a variable over it
  CHECK(c->log_level == "trace");                                        // a flag over both
  CHECK(c->state_dir == "/srv/flag");
  CHECK(c->daemon.state_dir == "/srv/flag");

  // A flag is checked like the key, and named.
  sources.flags = {{"log_level", "loud"}};
  auto bad_flag = ferry::agent::resolve_agent_config(sources);
  REQUIRE_FALSE(bad_flag);
  CHECK_THAT(bad_flag.error().message, Catch::StartsWith("--log-level: must be one of"));

  // A missing --config is an error naming it; a broken default file is an error too.
  sources.flags.clear();
  sources.file = dir / "missing.json";
  auto missing = ferry::agent::resolve_agent_config(sources);
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error().message, Catch::Contains("missing.json"));
  sources.file.reset();
  std::ofstream(default_file) << R"({"log_level": 3})";
  auto broken = ferry::agent::resolve_agent_config(sources);
  REQUIRE_FALSE(broken);
  CHECK_THAT(broken.error().message,
             Catch::StartsWith(default_file.string() + ": log_level: must be a string"));
}

TEST_CASE("agent config: docs/configuration.md and config/ferry-agent.json list every key") {
  const auto keys = ferry::agent::agent_config_keys();
  const std::set<std::string> known(keys.begin(), keys.end());
  const auto documented = ferry::test::documented_keys(
      ferry::test::read_file(std::string(FERRY_SOURCE_DIR) + "/docs/configuration.md"),
      "## ferry-agent (the daemon)");
  CHECK(documented == known);

  const auto example_path = std::string(FERRY_SOURCE_DIR) + "/config/ferry-agent.json";
  const auto example = nlohmann::json::parse(ferry::test::read_file(example_path));
  std::set<std::string> listed;
  for (const auto& [key, value] : example.items()) {
    listed.insert(key);
  }
  CHECK(listed == known);
  // It loads, and holds the defaults.
  auto loaded = ferry::agent::load_agent_config(example_path, ferry::agent::default_agent_config());
  REQUIRE(loaded);
  const auto defaults = ferry::agent::default_agent_config();
  CHECK(loaded->state_dir == defaults.state_dir);
  CHECK(loaded->log_level == defaults.log_level);
  CHECK(loaded->log_file == defaults.log_file);
  CHECK(loaded->log_max_size_mib == defaults.log_max_size_mib);
  CHECK(loaded->log_max_files == defaults.log_max_files);
  CHECK_FALSE(loaded->server_url);
  CHECK_FALSE(loaded->ca_file);
  CHECK_FALSE(loaded->allow_plain_http);
  CHECK(loaded->daemon.runner.max_concurrent == defaults.daemon.runner.max_concurrent);
  CHECK(loaded->daemon.poll_interval == defaults.daemon.poll_interval);
  CHECK(loaded->daemon.journal_max_bytes == defaults.daemon.journal_max_bytes);
  CHECK(loaded->daemon.part_size == defaults.daemon.part_size);
  CHECK(loaded->daemon.multipart_threshold == defaults.daemon.multipart_threshold);
  CHECK(loaded->daemon.poweroff_command == defaults.daemon.poweroff_command);
  CHECK(loaded->daemon.runner.runtimes.containerd_endpoint ==
        defaults.daemon.runner.runtimes.containerd_endpoint);
}

TEST_CASE("agent request headers verify against the protocol's signing string") {
  auto key = ferry::Ed25519PrivateKey::generate();
  REQUIRE(key);
  auto shared = std::make_shared<const ferry::Ed25519PrivateKey>(std::move(*key));
  ferry::agent::AgentCredentials creds{"rins-abcd1234", shared};
  const std::string body = R"({"Action":"DescribeTasks"})";
  auto headers = ferry::agent::agent_auth_headers(creds, "DescribeTasks", body, 1714564800);
  REQUIRE(headers);
  std::map<std::string, std::string> h(headers->begin(), headers->end());
  CHECK(h["X-Ferry-Protocol"] == "1");
  CHECK(h["X-Ferry-Instance"] == "rins-abcd1234");
  CHECK(h["X-Ferry-Timestamp"] == "1714564800");
  CHECK(h["X-Ferry-Nonce"].size() == 24);
  auto message = ferry::agent_signing_string("DescribeTasks", ferry::sha256_hex(body), 1714564800,
                                             h["X-Ferry-Nonce"], "rins-abcd1234");
  REQUIRE(message);
  CHECK(ferry::ed25519_verify(shared->public_key_base64(), *message, h["X-Ferry-Signature"]));
  // Another body, another signature: the digest is signed.
  auto other = ferry::agent_signing_string("DescribeTasks", ferry::sha256_hex(body + " "),
                                           1714564800, h["X-Ferry-Nonce"], "rins-abcd1234");
  REQUIRE(other);
  CHECK_FALSE(ferry::ed25519_verify(shared->public_key_base64(), *other, h["X-Ferry-Signature"]));
  // Registration: no instance header, an empty last line.
  ferry::agent::AgentCredentials reg{"", shared};
  auto rh = ferry::agent::agent_auth_headers(reg, "RegisterInstance", "{}", 1);
  REQUIRE(rh);
  for (const auto& [name, value] : *rh) {
    CHECK(name != "X-Ferry-Instance");
  }
  // Nonces differ from request to request.
  auto again = ferry::agent::agent_auth_headers(creds, "DescribeTasks", body, 1714564800);
  REQUIRE(again);
  std::map<std::string, std::string> h2(again->begin(), again->end());
  CHECK(h2["X-Ferry-Nonce"] != h["X-Ferry-Nonce"]);
}
