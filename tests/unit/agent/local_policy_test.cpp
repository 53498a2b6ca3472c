// The local policy on its own: parsing (a typo is an error), every rule allowing and refusing,
// drop-ins that only tighten, and the drop-in directory as the configuration loader reads it.
#include "ferry/agent/local_policy.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "ferry/agent/commands.hpp"
#include "ferry/core/base64.hpp"
#include "ferry/core/crypto.hpp"
#include "test_process.hpp"

using ferry::CommandType;
using ferry::Task;
using ferry::agent::check_local_policy;
using ferry::agent::LocalPolicy;
using ferry::agent::parse_local_policy;
using ferry::agent::tighten;
using nlohmann::json;

namespace {

LocalPolicy policy_of(const json& j) {
  auto p = parse_local_policy(j, "policy");
  INFO(j.dump());
  REQUIRE(p);
  return *p;
}

std::string parse_error(const json& j) {
  auto p = parse_local_policy(j, "policy");
  REQUIRE_FALSE(p);
  return p.error().message;
}

Task task_as(const std::string& user = "", const std::string& dir = "") {
  Task t;
  t.invocation_task_id = "invt-1";
  t.content = ferry::base64_encode("echo hi");
  t.username = user;
  t.working_directory = dir;
  return t;
}

// The rule that refuses `t`, "" when it is allowed.
std::string refused_by(const LocalPolicy& p, const Task& t,
                       const std::optional<std::string>& digest = std::nullopt) {
  auto r = check_local_policy(p, t, digest);
  return r ? r->rule : std::string();
}

}  // namespace

TEST_CASE("local policy: no rules allow everything") {
  const LocalPolicy p = policy_of(json::object());
  CHECK_FALSE(p.restricts());
  Task t = task_as("root", "/anywhere");
  t.enable_parameter = true;
  t.launcher = "sudo -u x {{ACS::ScriptFileName}}";
  t.timeout_seconds = 86400;
  CHECK(refused_by(p, t).empty());
}

TEST_CASE("local policy: unknown keys and bad values are errors naming the key") {
  CHECK(parse_error({{"allowed_user", json::array({"a"})}}) == "policy.allowed_user: unknown key");
  CHECK(parse_error(json::array()) == "policy: must be an object");
  CHECK(
      parse_error({{"denied_users", "root"}}).starts_with("policy.denied_users: must be an array"));
  CHECK(parse_error({{"allowed_command_types", {"SH"}}}) ==
        "policy.allowed_command_types: entries must be SHELL, POWERSHELL or BAT");
  CHECK(parse_error({{"max_timeout_seconds", 0}}) ==
        "policy.max_timeout_seconds: must be an integer from 1 to 86400");
  CHECK(parse_error({{"allowed_working_directories", {"srv"}}})
            .starts_with("policy.allowed_working_directories: entries must be absolute paths"));
  CHECK(parse_error({{"allowed_script_sha256", {"ABC"}}})
            .starts_with("policy.allowed_script_sha256: entries must be SHA-256 digests"));
  CHECK(parse_error({{"allow_launcher", "no"}}) == "policy.allow_launcher: must be true or false");
  CHECK(parse_error({{"allowed_users", {""}}}).starts_with("policy.allowed_users: entries must"));
}

TEST_CASE("local policy: users, allowed and denied; no Username counts as root") {
  const LocalPolicy denied = policy_of({{"denied_users", {"root"}}});
  CHECK(refused_by(denied, task_as("")) == "denied_users");
  CHECK(refused_by(denied, task_as("root")) == "denied_users");
  CHECK(refused_by(denied, task_as("app")).empty());
  auto r = check_local_policy(denied, task_as(""), std::nullopt);
  REQUIRE(r);
  CHECK(r->error_info() == "refused by local policy: denied_users (root)");

  const LocalPolicy allowed = policy_of({{"allowed_users", {"app", "deploy"}}});
  CHECK(refused_by(allowed, task_as("app")).empty());
  CHECK(refused_by(allowed, task_as("deploy")).empty());
  CHECK(refused_by(allowed, task_as("")) == "allowed_users");
  CHECK(refused_by(allowed, task_as("other")) == "allowed_users");
  // Denied wins over allowed.
  const LocalPolicy both = policy_of({{"allowed_users", {"app"}}, {"denied_users", {"app"}}});
  CHECK(refused_by(both, task_as("app")) == "denied_users");
}

TEST_CASE("local policy: command types, timeout and the switches") {
  const LocalPolicy types = policy_of({{"allowed_command_types", {"SHELL"}}});
  Task t = task_as("app");
  CHECK(refused_by(types, t).empty());
  t.command_type = CommandType::kPowerShell;
  CHECK(refused_by(types, t) == "allowed_command_types");
  CHECK(check_local_policy(types, t, std::nullopt)->detail == "POWERSHELL");

  const LocalPolicy timeout = policy_of({{"max_timeout_seconds", 600}});
  t = task_as("app");
  t.timeout_seconds = 600;
  CHECK(refused_by(timeout, t).empty());
  t.timeout_seconds = 601;
  CHECK(refused_by(timeout, t) == "max_timeout_seconds");

  const LocalPolicy off = policy_of({{"allow_parameters", false},
                                     {"allow_launcher", false},
                                     {"allow_containers", false},
                                     {"allow_file_sends", false}});
  t = task_as("app");
  CHECK(refused_by(off, t).empty());
  Task with = t;
  with.enable_parameter = true;
  CHECK(refused_by(off, with) == "allow_parameters");
  with = t;
  with.launcher = "nice {{ACS::ScriptFileName}}";
  CHECK(refused_by(off, with) == "allow_launcher");
  with = t;
  with.container_name = "web";
  CHECK(refused_by(off, with) == "allow_containers");
  with = t;
  with.file = ferry::TaskFile{};
  CHECK(refused_by(off, with) == "allow_file_sends");
}

TEST_CASE("local policy: working directory prefixes by whole components") {
  const LocalPolicy p = policy_of({{"allowed_working_directories", {"/srv/app/", "/tmp"}}});
  CHECK(refused_by(p, task_as("app", "/srv/app")).empty());
  CHECK(refused_by(p, task_as("app", "/srv/app/sub/dir")).empty());
  CHECK(refused_by(p, task_as("app", "/tmp")).empty());
  CHECK(refused_by(p, task_as("app", "/srv/application")) == "allowed_working_directories");
  CHECK(refused_by(p, task_as("app", "/srv/app/../../etc")) == "allowed_working_directories");
  CHECK(refused_by(p, task_as("app", "relative")) == "allowed_working_directories");
  // No WorkingDirectory: the home directory, allowed only by "~".
  CHECK(refused_by(p, task_as("app", "")) == "allowed_working_directories");
  CHECK(check_local_policy(p, task_as("app", ""), std::nullopt)->detail == "~");
  CHECK(
      refused_by(policy_of({{"allowed_working_directories", {"~"}}}), task_as("app", "")).empty());
  CHECK(refused_by(policy_of({{"allowed_working_directories", {"/"}}}), task_as("app", "/etc"))
            .empty());
  CHECK(refused_by(policy_of({{"allowed_working_directories", {"/"}}}), task_as("app", "etc")) ==
        "allowed_working_directories");
}

TEST_CASE("local policy: allowed script digests, of the script as run") {
  const std::string digest = ferry::sha256_hex("echo hi");
  const LocalPolicy p = policy_of({{"allowed_script_sha256", {digest}}});
  CHECK(refused_by(p, task_as(), digest).empty());
  CHECK(refused_by(p, task_as(), ferry::sha256_hex("echo bye")) == "allowed_script_sha256");
  // A script that cannot be prepared has no digest: refused (it would fail anyway).
  CHECK(refused_by(p, task_as(), std::nullopt) == "allowed_script_sha256");
}

TEST_CASE("local policy: a drop-in only tightens") {
  const LocalPolicy base = policy_of({{"allowed_users", {"app", "deploy"}},
                                      {"denied_users", {"root"}},
                                      {"allowed_command_types", {"SHELL", "POWERSHELL"}},
                                      {"max_timeout_seconds", 600},
                                      {"allowed_working_directories", {"/srv", "/opt/tools"}}});
  SECTION("wider values do not widen") {
    const LocalPolicy wider = policy_of({{"allowed_users", {"app", "deploy", "root", "other"}},
                                         {"denied_users", json::array()},
                                         {"allowed_command_types", {"SHELL", "POWERSHELL", "BAT"}},
                                         {"max_timeout_seconds", 86400},
                                         {"allowed_working_directories", {"/"}},
                                         {"allow_launcher", true}});
    CHECK(tighten(base, wider) == base);
  }
  SECTION("narrower values narrow") {
    const LocalPolicy narrower = policy_of({{"allowed_users", {"deploy", "other"}},
                                            {"denied_users", {"nobody"}},
                                            {"allowed_command_types", {"BAT", "SHELL"}},
                                            {"max_timeout_seconds", 60},
                                            {"allowed_working_directories", {"/srv/app", "/var"}},
                                            {"allow_parameters", false}});
    const LocalPolicy t = tighten(base, narrower);
    CHECK(*t.allowed_users == std::set<std::string>{"deploy"});
    CHECK(t.denied_users == std::set<std::string>{"nobody", "root"});
    CHECK(*t.allowed_command_types == std::set<CommandType>{CommandType::kShell});
    CHECK(*t.max_timeout_seconds == 60);
    CHECK(*t.allowed_working_directories == std::vector<std::string>{"/srv/app"});
    CHECK_FALSE(t.allow_parameters);
    CHECK(t.allow_launcher);
    // The order of drop-ins does not matter.
    CHECK(tighten(narrower, base) == t);
  }
  SECTION("a rule the base leaves unset is taken as it is") {
    const LocalPolicy digests = policy_of({{"allowed_script_sha256", {ferry::sha256_hex("x")}},
                                           {"allow_exit_code_power_actions", false}});
    const LocalPolicy t = tighten(base, digests);
    CHECK(t.allowed_script_sha256 == digests.allowed_script_sha256);
    CHECK_FALSE(t.allow_exit_code_power_actions);
  }
}

TEST_CASE("local policy: drop-in files beside the configuration file") {
  ferry::test::TempDir dir("ferry-policy");
  const auto config = dir / "ferry-agent.json";
  const auto drop_ins = ferry::agent::agent_drop_in_dir(config);
  CHECK(drop_ins == dir / "ferry-agent.d");
  std::ofstream(config) << R"({"policy": {"denied_users": ["root"], "max_timeout_seconds": 600}})";
  ferry::agent::AgentConfigSources sources;
  sources.file = config;

  SECTION("none: the file's policy") {
    auto c = ferry::agent::resolve_agent_config(sources);
    REQUIRE(c);
    CHECK(c->daemon.policy.denied_users == std::set<std::string>{"root"});
  }
  SECTION("each drop-in tightens; other files are ignored") {
    std::filesystem::create_directory(drop_ins);
    std::ofstream(drop_ins / "10-users.json") << R"({"policy": {"denied_users": ["admin"]}})";
    std::ofstream(drop_ins / "20-time.json") << R"({"policy": {"max_timeout_seconds": 86400}})";
    std::ofstream(drop_ins / "README") << "not read";
    auto c = ferry::agent::resolve_agent_config(sources);
    REQUIRE(c);
    CHECK(c->daemon.policy.denied_users == std::set<std::string>{"admin", "root"});
    CHECK(*c->daemon.policy.max_timeout_seconds == 600);
  }
  SECTION("a drop-in holds the policy only, and its errors name it") {
    std::filesystem::create_directory(drop_ins);
    std::ofstream(drop_ins / "10.json") << R"({"log_level": "debug"})";
    auto c = ferry::agent::resolve_agent_config(sources);
    REQUIRE_FALSE(c);
    CHECK(c.error().message ==
          (drop_ins / "10.json").string() + ": log_level: a drop-in file holds only \"policy\"");
    std::ofstream(drop_ins / "10.json") << R"({"policy": {"allow_lancher": false}})";
    c = ferry::agent::resolve_agent_config(sources);
    REQUIRE_FALSE(c);
    CHECK(c.error().message ==
          (drop_ins / "10.json").string() + ": policy.allow_lancher: unknown key");
  }
  SECTION("the drop-ins hold without the file") {
    std::filesystem::remove(config);
    std::filesystem::create_directory(drop_ins);
    std::ofstream(drop_ins / "10.json") << R"({"policy": {"allow_containers": false}})";
    ferry::agent::AgentConfigSources defaults;
    defaults.default_file = config;  // read when it exists: it does not
    auto c = ferry::agent::resolve_agent_config(defaults);
    REQUIRE(c);
    CHECK_FALSE(c->daemon.policy.allow_containers);
  }
  SECTION("the file's own policy errors name the key; variables cannot set it") {
    std::ofstream(config) << R"({"policy": {"denied_user": ["root"]}})";
    auto c = ferry::agent::resolve_agent_config(sources);
    REQUIRE_FALSE(c);
    CHECK(c.error().message == config.string() + ": policy.denied_user: unknown key");
    std::ofstream(config) << "{}";
    sources.environment = [](std::string_view name) -> std::optional<std::string> {
      if (name == "FERRY_POLICY") {
        return "{}";
      }
      return std::nullopt;
    };
    c = ferry::agent::resolve_agent_config(sources);
    REQUIRE_FALSE(c);
    CHECK(c.error().message.find("read from configuration files only") != std::string::npos);
  }
}
