#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ferry/agent/commands.hpp"
#include "ferry/agent/control_plane.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/core/ed25519.hpp"

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
    "kill_grace_ms": 100, "use_cgroup": false, "poll_interval_ms": 500,
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
