// End to end (issue 15): the real ferry-server and ferry-agent daemons on loopback. A daemon
// that finds no identity registers from its register file; a copy of a registered state dir on
// another machine id (a clone of an image) registers again as an instance of its own, or stops
// with the reason when its stored register code is used up. Machine ids come from files named
// by FERRY_MACHINE_ID_FILE.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "agent_process.hpp"
#include "blackbox.hpp"
#include "test_process.hpp"

using namespace std::chrono_literals;
using namespace ferry::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct FirstBootE2e {
  ServerProcess& server = shared_server();
  ApiClient api = server.api();
  const TempDir scratch{"ferry-first-boot-e2e", 0755};

  // A register file of mode `mode` for the code.
  fs::path register_file(const std::string& name, const std::string& code_id,
                         const std::string& code, mode_t mode,
                         const std::string& instance_name = "") const {
    json j{
        {"server_url", server.endpoint()}, {"register_code_id", code_id}, {"register_code", code}};
    if (!instance_name.empty()) {
      j["instance_name"] = instance_name;
    }
    const auto path = scratch / name;
    write_file(path, j.dump());
    REQUIRE(::chmod(path.c_str(), mode) == 0);
    return path;
  }

  // An agent in scratch/`name` on the machine `machine_id`, reading `register_file`; not started.
  std::unique_ptr<AgentProcess> agent(const std::string& name, const std::string& machine_id,
                                      const fs::path& register_file) const {
    const auto id_file = scratch / (name + ".machine-id");
    write_file(id_file, machine_id + "\n");
    auto a = std::make_unique<AgentProcess>(FERRY_AGENT_BINARY, scratch / name,
                                            json{{"register_file", register_file.string()}});
    a->set_env({"FERRY_MACHINE_ID_FILE=" + id_file.string()});
    return a;
  }

  static json identity_of(const AgentProcess& a) {
    return json::parse(read_file(a.state_dir() / "identity.json"), nullptr, false);
  }

  // Started, connected, online, and a command runs on it: its instance id.
  std::string start_and_run(AgentProcess& a) {
    a.start();
    const bool up = a.wait_log("push socket up", 30s);
    INFO(a.log());
    REQUIRE(up);
    const auto identity = identity_of(a);
    REQUIRE(identity.is_object());
    const std::string id = identity.value("InstanceId", "");
    REQUIRE(id.starts_with("rins-"));
    CHECK(eventually([&] { return instance_status(api, id) == "Online"; }, 10s, 100ms));
    const auto inv = run_command(api, {id}, "echo ran on $0", {{"Timeout", 30}});
    const auto t = finished_task(api, inv, id, 30s);
    CHECK(t["TaskStatus"] == "SUCCESS");
    CHECK(unb64(t["TaskResult"]["Output"]).starts_with("ran on"));
    return id;
  }

  // The state dir of `from`, copied as it is into `to` (as cloning a stopped machine's disk does).
  static void copy_state(const AgentProcess& from, const AgentProcess& to) {
    fs::copy(from.state_dir(), to.state_dir(), fs::copy_options::recursive);
  }
};

}  // namespace

TEST_CASE_METHOD(FirstBootE2e,
                 "first boot: the daemon registers from register.json, removes it and runs a "
                 "command; a file others may read is refused",
                 "[e2e][first-boot]") {
  auto [code_id, code] = create_register_code(api);
  const auto file = register_file("register.json", code_id, code, 0600, "fb-image-web");
  auto a = agent("a", "11111111111111111111111111111111", file);
  const std::string id = start_and_run(*a);

  CHECK_FALSE(fs::exists(file));
  const auto identity = identity_of(*a);
  CHECK(identity["MachineId"] == "11111111111111111111111111111111");
  auto listed = must(api.call("DescribeRegisterInstances", {{"InstanceIds", {id}}}));
  REQUIRE(listed["RegisterInstanceSet"].size() == 1);
  CHECK(listed["RegisterInstanceSet"][0]["InstanceName"] == "fb-image-web");
  CHECK(listed["RegisterInstanceSet"][0]["MachineId"] == "11111111111111111111111111111111");
  // The code is kept for a clone, 0600, and never logged (the log is at debug level).
  struct stat st {};
  REQUIRE(::stat((a->state_dir() / "register_code.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(a->log().find(code) == std::string::npos);
  CHECK(a->stop() == 0);

  auto [code_id2, code2] = create_register_code(api);
  const auto loose = register_file("loose.json", code_id2, code2, 0644);
  auto b = agent("b", "22222222222222222222222222222222", loose);
  b->start();
  const auto exit_code = b->wait_exit(30s);
  INFO(b->log());
  REQUIRE(exit_code.has_value());
  CHECK(*exit_code == 2);
  CHECK(b->log().find(loose.string()) != std::string::npos);
  CHECK(b->log().find("0600") != std::string::npos);
  CHECK(b->log().find(code2) == std::string::npos);
  CHECK(fs::exists(loose));
  CHECK_FALSE(fs::exists(b->state_dir() / "identity.json"));
}

TEST_CASE_METHOD(FirstBootE2e,
                 "clones: copies of a registered state dir on other machine ids register as "
                 "instances of their own; all of them run commands",
                 "[e2e][first-boot]") {
  auto [code_id, code] = create_register_code(api, {{"RegisterLimit", 3}});
  const auto file = register_file("register.json", code_id, code, 0600);
  auto original = agent("original", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", file);
  const std::string original_id = start_and_run(*original);
  REQUIRE(original->stop() == 0);

  auto clone_b = agent("b", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", file);
  auto clone_c = agent("c", "cccccccccccccccccccccccccccccccc", file);
  copy_state(*original, *clone_b);
  copy_state(*original, *clone_c);

  // The original on its own machine id keeps its identity.
  CHECK(start_and_run(*original) == original_id);
  const std::string b_id = start_and_run(*clone_b);
  const std::string c_id = start_and_run(*clone_c);
  CHECK(b_id != original_id);
  CHECK(c_id != original_id);
  CHECK(b_id != c_id);

  for (auto* clone : {clone_b.get(), clone_c.get()}) {
    INFO(clone->log());
    CHECK(clone->log().find("registered again as") != std::string::npos);
    CHECK(clone->log().find(code) == std::string::npos);
    CHECK(fs::exists(clone->state_dir() / ("identity.json." + original_id)));
    CHECK(fs::exists(clone->state_dir() / ("tasks." + original_id)));
    // Its key is its own: the original's is gone from the clone.
    CHECK(read_file(clone->state_dir() / "agent.key") !=
          read_file(original->state_dir() / "agent.key"));
  }
  // Started again, a clone keeps the identity it registered.
  REQUIRE(clone_b->stop() == 0);
  CHECK(start_and_run(*clone_b) == b_id);
  for (auto* a : {original.get(), clone_b.get(), clone_c.get()}) {
    CHECK(a->stop() == 0);
  }
}

TEST_CASE_METHOD(FirstBootE2e, "a clone whose stored register code is used up stops and says why",
                 "[e2e][first-boot]") {
  auto [code_id, code] = create_register_code(api, {{"RegisterLimit", 1}});
  const auto file = register_file("register.json", code_id, code, 0600);
  auto original = agent("original", "dddddddddddddddddddddddddddddddd", file);
  const std::string original_id = start_and_run(*original);
  REQUIRE(original->stop() == 0);

  auto clone = agent("clone", "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", file);
  copy_state(*original, *clone);
  clone->start();
  const auto exit_code = clone->wait_exit(30s);
  const std::string log = clone->log();
  INFO(log);
  REQUIRE(exit_code.has_value());
  CHECK(*exit_code == 2);
  CHECK(log.find("registered as " + original_id + " on machine id dddd") != std::string::npos);
  CHECK(log.find("this machine's id is eeee") != std::string::npos);
  CHECK(log.find("stored register code " + code_id) != std::string::npos);
  CHECK(log.find("OperationDenied.RegisterLimitExceeded") != std::string::npos);
  CHECK(log.find("To fix:") != std::string::npos);
  CHECK(log.find(code) == std::string::npos);
  // Nothing of the original's was sent under another name, and its identity is untouched.
  CHECK(identity_of(*clone)["InstanceId"] == original_id);
}
