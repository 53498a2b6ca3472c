// Runs `ferry-agent run-task` on a task built in the test and returns its parsed result.
#pragma once

#include <grp.h>
#include <pwd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ferry/core/base64.hpp"
#include "test_process.hpp"

namespace ferry::test {

inline const std::string kAgent = FERRY_AGENT_BINARY;

inline nlohmann::json make_task(const std::string& id, const std::string& script) {
  return nlohmann::json{{"InvocationTaskId", id},      {"InvocationId", "inv-" + id},
                        {"CommandId", "cmd-test0001"}, {"Content", base64_encode(script)},
                        {"CommandType", "SHELL"},      {"Timeout", 60}};
}

struct RunTaskOutcome {
  ProcessResult process;
  nlohmann::json result;  // null when stdout was not one JSON object
  std::string output;     // decoded Output
};

inline RunTaskOutcome run_task(const TempDir& dir, const nlohmann::json& task,
                               const std::vector<std::string>& extra = {},
                               const std::string& agent = kAgent) {
  const std::string task_file = dir.str() + "/" + task.value("InvocationTaskId", "x") + ".json";
  {
    std::ofstream out(task_file);
    out << task.dump();
  }
  std::vector<std::string> argv{agent,     "run-task",    "--task",
                                task_file, "--state-dir", dir.str() + "/state"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  RunTaskOutcome o;
  o.process = run_process(argv, dir.str());
  o.result = nlohmann::json::parse(o.process.out, nullptr, false);
  if (o.result.is_discarded()) {
    o.result = nullptr;
  } else if (o.result.contains("Output")) {
    auto decoded = base64_decode(o.result["Output"].get<std::string>());
    if (decoded) {
      o.output = *decoded;
    }
  }
  return o;
}

// Runs a program to its end (no shell); throws with what it printed when it fails.
inline void run_or_throw(const std::vector<std::string>& argv) {
  const TempDir dir;
  LaunchOptions o;
  o.argv = argv;
  o.out_file = dir / "out";
  o.err_file = o.out_file;
  const auto r = run_process(std::move(o));
  if (r.exit_code != 0) {
    throw std::runtime_error(argv.at(0) + " failed: " + r.out);
  }
}

// A user with a home and a supplementary group, made once per test run.
struct TestUser {
  std::string name = "ferry-it-user";
  std::string group = "ferry-it-group";
  uid_t uid = 0;
  gid_t gid = 0;
  gid_t extra_gid = 0;
  std::string home;
};

inline TestUser ensure_test_user() {
  TestUser u;
  if (::getgrnam(u.group.c_str()) == nullptr) {
    run_or_throw({"/usr/sbin/groupadd", u.group});
  }
  if (::getpwnam(u.name.c_str()) == nullptr) {
    run_or_throw({"/usr/sbin/useradd", "-m", "-s", "/bin/sh", "-G", u.group, u.name});
  }
  const passwd* pw = ::getpwnam(u.name.c_str());
  u.uid = pw->pw_uid;
  u.gid = pw->pw_gid;
  u.home = pw->pw_dir;
  u.extra_gid = ::getgrnam(u.group.c_str())->gr_gid;
  return u;
}

}  // namespace ferry::test
