// Black-box tests of `ferry-agent run-task`: the real binary, its supervisor and real scripts.
#include <sys/mount.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <set>
#include <sstream>

#include "agent_fixture.hpp"

using namespace ferry::test;
using nlohmann::json;

namespace {

std::set<long> parse_numbers(const std::string& line) {
  std::set<long> out;
  std::istringstream in(line);
  long v = 0;
  while (in >> v) {
    out.insert(v);
  }
  return out;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) {
    out.push_back(l);
  }
  return out;
}

// A task run as the test user.
json task_as(const TestUser& user, const std::string& id, const std::string& script) {
  auto task = make_task(id, script);
  task["Username"] = user.name;
  return task;
}

// A directory in `dir` that only root may enter.
std::filesystem::path root_only_directory(const TempDir& dir, const std::string& name) {
  const auto path = dir.path() / name;
  std::filesystem::create_directory(path);
  ::chmod(path.c_str(), 0700);
  return path;
}

}  // namespace

TEST_CASE("run-task: a successful script gives SUCCESS, its merged output and times") {
  TempDir dir;
  auto o = run_task(dir, make_task("invt-ok000001", "echo one\necho two >&2\necho three\n"));
  REQUIRE(o.process.exit_code == 0);
  REQUIRE(o.result.is_object());
  CHECK(o.result["InvocationTaskId"] == "invt-ok000001");
  CHECK(o.result["Result"] == "SUCCESS");
  CHECK(o.result["ExitCode"] == 0);
  CHECK(o.output == "one\ntwo\nthree\n");
  CHECK(o.result["Dropped"] == 0);
  CHECK(o.result["ErrorInfo"] == "");
  CHECK(o.result["ExecStartTime"].get<std::string>().size() == 20);
  CHECK(o.result["ExecEndTime"].get<std::string>().back() == 'Z');
  // Without --keep the task's directory is gone afterwards.
  CHECK_FALSE(std::filesystem::exists(dir.path() / "state/tasks/invt-ok000001"));
}

TEST_CASE("run-task: the supervisor is the ferry-supervise beside the agent, else the agent") {
  TempDir dir;
  // The script's parent is its supervisor.
  const std::string script = "tr '\\0' ' ' < /proc/$PPID/cmdline\n";
  const auto sibling = std::filesystem::path(kAgent).parent_path() / "ferry-supervise";
  REQUIRE(std::filesystem::exists(sibling));
  auto o = run_task(dir, make_task("invt-sup00001", script));
  REQUIRE(o.result["Result"] == "SUCCESS");
  CHECK_THAT(o.output, Catch::StartsWith(sibling.string() + " supervise --task-dir " + dir.str() +
                                         "/state/tasks/invt-sup00001 "));

  // An agent binary installed alone runs its own `supervise` mode: the same task, same result.
  const auto alone = dir.path() / "alone";
  std::filesystem::create_directories(alone);
  std::filesystem::copy_file(kAgent, alone / "ferry-agent");
  auto a = run_task(dir, make_task("invt-sup00002", script), {}, (alone / "ferry-agent").string());
  REQUIRE(a.result["Result"] == "SUCCESS");
  CHECK_THAT(a.output,
             Catch::StartsWith((alone / "ferry-agent").string() + " supervise --task-dir " +
                               dir.str() + "/state/tasks/invt-sup00002 "));

  // A ferry-supervise that others could have written is refused, and said so.
  namespace fs = std::filesystem;
  fs::copy_file(sibling, alone / "ferry-supervise");
  fs::permissions(alone / "ferry-supervise", fs::perms(0775));
  auto w = run_task(dir, make_task("invt-sup00003", script), {}, (alone / "ferry-agent").string());
  REQUIRE(w.result["Result"] == "SUCCESS");
  CHECK_THAT(w.output, Catch::StartsWith((alone / "ferry-agent").string() + " supervise "));
  CHECK_THAT(w.process.err, Catch::Contains("ferry-supervise: writable by group or others"));
  fs::permissions(alone / "ferry-supervise", fs::perms(0755));
  auto ok = run_task(dir, make_task("invt-sup00004", script), {}, (alone / "ferry-agent").string());
  REQUIRE(ok.result["Result"] == "SUCCESS");
  CHECK_THAT(ok.output, Catch::StartsWith((alone / "ferry-supervise").string() + " supervise "));
}

TEST_CASE("run-task: exit codes and deaths by signal are FAILED with the code") {
  TempDir dir;
  auto o = run_task(dir, make_task("invt-exit0003", "echo before\nexit 3\n"));
  CHECK(o.result["Result"] == "FAILED");
  CHECK(o.result["ExitCode"] == 3);
  CHECK(o.output == "before\n");

  auto k = run_task(dir, make_task("invt-sigkill1", "kill -KILL $$\n"));
  CHECK(k.result["Result"] == "FAILED");
  CHECK(k.result["ExitCode"] == 128 + 9);
  CHECK_THAT(k.result["ErrorInfo"].get<std::string>(), Catch::Contains("signal 9"));
}

TEST_CASE("run-task: runs as the requested user with all groups, HOME and cwd") {
  const TestUser user = ensure_test_user();
  TempDir dir;
  const auto task = task_as(user, "invt-user0001",
                            "id -u\nid -G\necho \"$HOME\"\npwd\necho \"$USER $LOGNAME $SHELL\"\n"
                            "echo \"$PATH\"\n");
  auto o = run_task(dir, task, {"--keep"});
  REQUIRE(o.result["Result"] == "SUCCESS");
  auto out = lines(o.output);
  REQUIRE(out.size() == 6);
  CHECK(out[0] == std::to_string(user.uid));
  auto groups = parse_numbers(out[1]);
  CHECK(groups.count(static_cast<long>(user.gid)) == 1);
  CHECK(groups.count(static_cast<long>(user.extra_gid)) == 1);
  CHECK(groups.count(0) == 0);  // root's group is not kept
  CHECK(out[2] == user.home);
  CHECK(out[3] == user.home);  // the default working directory is the user's home
  CHECK(out[4] == user.name + " " + user.name + " /bin/sh");
  CHECK_THAT(out[5], Catch::Contains("/usr/bin"));

  // Modes: the task's directory is root's; only the script directory is the user's.
  const auto task_dir = dir.path() / "state/tasks/invt-user0001";
  struct stat st {};
  REQUIRE(::stat(task_dir.c_str(), &st) == 0);
  CHECK(st.st_uid == 0);
  CHECK((st.st_mode & 07777) == 0711);
  REQUIRE(::stat((task_dir / "task.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  REQUIRE(::stat((task_dir / "output.log").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(st.st_uid == 0);
  REQUIRE(::stat((task_dir / "state.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  REQUIRE(::stat((task_dir / "script").c_str(), &st) == 0);
  CHECK(st.st_uid == user.uid);
  CHECK((st.st_mode & 07777) == 0700);
  REQUIRE(::stat((task_dir / "script/invt-user0001.sh").c_str(), &st) == 0);
  CHECK(st.st_uid == user.uid);
  CHECK((st.st_mode & 07777) == 0400);
}

TEST_CASE("run-task: the working directory is entered as the run-as user") {
  const TestUser user = ensure_test_user();
  TempDir dir;
  const auto private_dir = root_only_directory(dir, "root-only");
  auto task = task_as(user, "invt-cwdperm1", "pwd\n");
  task["WorkingDirectory"] = private_dir.string();
  auto o = run_task(dir, task);
  REQUIRE(o.process.exit_code == 0);
  CHECK(o.result["Result"] == "START_FAILED");
  CHECK(o.result["ExitCode"] == -1);
  const std::string info = o.result["ErrorInfo"];
  CHECK_THAT(info, Catch::Contains("InvalidWorkingDirectory"));
  CHECK_THAT(info, Catch::Contains(private_dir.string()));
  CHECK_THAT(info, Catch::Contains(user.name));

  // Root may enter it.
  auto as_root = make_task("invt-cwdroot1", "pwd\n");
  as_root["WorkingDirectory"] = private_dir.string();
  auto r = run_task(dir, as_root);
  CHECK(r.result["Result"] == "SUCCESS");
  CHECK(r.output == private_dir.string() + "\n");
}

TEST_CASE("run-task: a missing user or directory is START_FAILED naming it") {
  TempDir dir;
  auto task = make_task("invt-nouser01", "echo never\n");
  task["Username"] = "no-such-user-ferry";
  auto o = run_task(dir, task);
  REQUIRE(o.process.exit_code == 0);
  CHECK(o.result["Result"] == "START_FAILED");
  CHECK(o.result["ExitCode"] == -1);
  CHECK_THAT(o.result["ErrorInfo"].get<std::string>(), Catch::Contains("no-such-user-ferry"));
  CHECK(o.output.empty());

  auto t2 = make_task("invt-nodir001", "echo never\n");
  t2["WorkingDirectory"] = "/nonexistent/ferry/dir";
  auto d = run_task(dir, t2);
  CHECK(d.result["Result"] == "START_FAILED");
  CHECK_THAT(d.result["ErrorInfo"].get<std::string>(), Catch::Contains("/nonexistent/ferry/dir"));
  CHECK_THAT(d.result["ErrorInfo"].get<std::string>(),
             Catch::Contains("InvalidParameterValue.InvalidWorkingDirectory"));
}

TEST_CASE("run-task: at the timeout the whole tree dies, daemons included") {
  for (const bool cgroup : {true, false}) {
    DYNAMIC_SECTION("cgroup " << (cgroup ? "on" : "off")) {
      TempDir dir;
      const std::string m = cgroup ? "613.1" : "613.2";
      // A daemon made with setsid, a classic double fork, a child ignoring SIGTERM, then sleep.
      const std::string script = "setsid sh -c 'sleep " + m + "1 & exit 0' &\n" + "( ( sleep " + m +
                                 "2 & ) & )\n" + "sh -c \"trap '' TERM; sleep " + m + "3\" &\n" +
                                 "echo started\nsleep " + m + "4\n";
      auto task = make_task(cgroup ? "invt-tmocg001" : "invt-tmonocg1", script);
      task["Timeout"] = 1;
      std::vector<std::string> extra{"--kill-grace", "0.5"};
      if (!cgroup) {
        extra.emplace_back("--no-cgroup");
      }
      const auto t0 = std::chrono::steady_clock::now();
      auto o = run_task(dir, task, extra);
      const auto took = std::chrono::steady_clock::now() - t0;
      REQUIRE(o.process.exit_code == 0);
      CHECK(o.result["Result"] == "TIMEOUT");
      CHECK(o.result["ExitCode"] == -1);
      CHECK(o.output == "started\n");
      // Far below the sleeps (613 s) a wrong kill would wait for.
      CHECK(took < time_bound(std::chrono::seconds(10), std::chrono::seconds(60)));
      // Nothing of the task is left, the daemon and the SIGTERM-ignoring child included.
      CHECK(pids_with_cmdline("sleep " + m).empty());
      kill_all("sleep " + m);
    }
  }
}

TEST_CASE("run-task: Process mode kills the main process only") {
  TempDir dir;
  auto task = make_task("invt-procmod1", "setsid sleep 614.1 &\necho up\nsleep 614.2\n");
  task["Timeout"] = 1;
  task["TerminationMode"] = "Process";
  auto o = run_task(dir, task, {"--kill-grace", "0.5"});
  CHECK(o.result["Result"] == "TIMEOUT");
  CHECK(o.output == "up\n");
  CHECK(pids_with_cmdline("sleep 614.1").size() == 1);  // the grandchild lives on
  kill_all("sleep 614.");
}

TEST_CASE("run-task: background children neither hang the task nor get killed") {
  TempDir dir;
  const auto t0 = std::chrono::steady_clock::now();
  auto o = run_task(dir, make_task("invt-bground1", "sleep 615.1 &\necho done\n"));
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(o.result["Result"] == "SUCCESS");
  CHECK(o.output == "done\n");
  CHECK(took < time_bound(std::chrono::seconds(5), std::chrono::seconds(60)));
  CHECK(pids_with_cmdline("sleep 615.1").size() == 1);
  kill_all("sleep 615.1");
}

TEST_CASE("run-task: 100 MB of output keeps memory bounded and the head and tail") {
  TempDir dir;
  const long total = 100L * 1024 * 1024;
  auto o = run_task(dir,
                    make_task("invt-bigout01",
                              "yes 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH"
                              " | head -c " +
                                  std::to_string(total) + "\necho END\n"),
                    {"--keep"});
  REQUIRE(o.result["Result"] == "SUCCESS");
  CHECK(o.output.size() == 24 * 1024);
  CHECK(o.result["Dropped"] == total + 4 - 24 * 1024);
  CHECK(o.output.rfind("0123456789", 0) == 0);
  CHECK(o.output.substr(o.output.size() - 4) == "END\n");
  CHECK(std::filesystem::file_size(dir.path() / "state/tasks/invt-bigout01/output.log") ==
        static_cast<uintmax_t>(total + 4));
#ifndef FERRY_SANITIZED
  // The largest of run-task, its supervisor and the script's processes.
  CHECK(o.process.max_rss_kib < 16 * 1024);
#endif
}

TEST_CASE("run-task: SIGINT cancels the task: TERMINATED, tree killed") {
  TempDir dir;
  const std::string task_file = dir.str() + "/cancel.json";
  {
    std::ofstream out(task_file);
    out << make_task("invt-cancel01", "echo running\nsleep 616.1\n").dump();
  }
  Child c({kAgent, "run-task", "--task", task_file, "--state-dir", dir.str() + "/state",
           "--kill-grace", "1"},
          dir.str());
  REQUIRE(eventually([] { return pids_with_cmdline("sleep 616.1").size() == 1; },
                     std::chrono::seconds(10)));
  ::kill(c.pid(), SIGINT);
  auto p = c.wait();
  REQUIRE(p.exit_code == 0);
  auto result = json::parse(p.out);
  CHECK(result["Result"] == "TERMINATED");
  CHECK(result["ExitCode"] == -1);
  CHECK(pids_with_cmdline("sleep 616.1").empty());
  kill_all("sleep 616.1");
}

TEST_CASE("run-task: POWERSHELL without pwsh and BAT are unsupported here") {
  TempDir dir;
  auto ps = make_task("invt-pwsh0001", "Write-Output hi");
  ps["CommandType"] = "POWERSHELL";
  auto o = run_task(dir, ps);
  if (std::system("command -v pwsh >/dev/null 2>&1") == 0) {
    CHECK(o.result["Result"] == "SUCCESS");
  } else {
    CHECK(o.result["Result"] == "START_FAILED");
    CHECK_THAT(o.result["ErrorInfo"].get<std::string>(),
               Catch::Contains("InvalidParameterValue.AgentUnsupportedCommandType"));
  }
  auto bat = make_task("invt-bat00001", "echo hi");
  bat["CommandType"] = "BAT";
  auto b = run_task(dir, bat);
  CHECK(b.result["Result"] == "START_FAILED");
  CHECK_THAT(b.result["ErrorInfo"].get<std::string>(),
             Catch::Contains("InvalidParameterValue.AgentUnsupportedCommandType"));
}

TEST_CASE("run-task: the Launcher names the interpreter and the script's extension") {
  TempDir dir;
  auto py = make_task("invt-launch01", "import sys\nprint(sys.argv[0].endswith('.py'), 6 * 7)\n");
  py["Launcher"] = "python3 -u {{ACS::ScriptFileName|Ext(\".py\")}}";
  auto o = run_task(dir, py);
  CHECK(o.result["Result"] == "SUCCESS");
  CHECK(o.output == "True 42\n");

  auto appended = make_task("invt-launch02", "echo traced\n");
  appended["Launcher"] = "bash -x";
  auto a = run_task(dir, appended);
  CHECK(a.result["Result"] == "SUCCESS");
  CHECK_THAT(a.output, Catch::Contains("+ echo traced"));

  auto quoted = make_task("invt-launch03", "echo \"args: $*\"\n");
  quoted["Launcher"] = "bash {{ACS::ScriptFileName}} 'two words' three";
  auto q = run_task(dir, quoted);
  CHECK(q.output == "args: two words three\n");

  auto missing = make_task("invt-launch04", "echo never\n");
  missing["Launcher"] = "no-such-launcher-ferry {{ACS::ScriptFileName}}";
  auto m = run_task(dir, missing);
  CHECK(m.result["Result"] == "START_FAILED");
  CHECK_THAT(m.result["ErrorInfo"].get<std::string>(), Catch::Contains("no-such-launcher-ferry"));
}

TEST_CASE("run-task: a #! line is honoured; otherwise bash runs the script") {
  TempDir dir;
  auto env_py =
      run_task(dir, make_task("invt-shebang1", "#!/usr/bin/env python3\nprint('py', 6 * 7)\n"));
  CHECK(env_py.result["Result"] == "SUCCESS");
  CHECK(env_py.output == "py 42\n");

  auto sh_e = run_task(dir, make_task("invt-shebang2", "#!/bin/sh -e\nfalse\necho unreachable\n"));
  CHECK(sh_e.result["Result"] == "FAILED");
  CHECK(sh_e.result["ExitCode"] == 1);
  CHECK(sh_e.output.empty());

  auto plain = run_task(dir, make_task("invt-shebang3", "echo \"$BASH_VERSION\" | cut -c1\n"));
  CHECK(plain.output == "5\n");

  auto missing = run_task(dir, make_task("invt-shebang4", "#!/no/such/interp\necho x\n"));
  CHECK(missing.result["Result"] == "START_FAILED");
  CHECK_THAT(missing.result["ErrorInfo"].get<std::string>(), Catch::Contains("/no/such/interp"));
}

TEST_CASE("run-task: scripts run from a noexec state directory") {
  TempDir dir;
  const auto mnt = dir.path() / "state";
  std::filesystem::create_directory(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", MS_NOEXEC | MS_NOSUID | MS_NODEV, "size=16m") != 0) {
    WARN("cannot mount a noexec tmpfs here; skipped");
    return;
  }
  auto o = run_task(dir, make_task("invt-noexec01", "#!/bin/bash\necho ran on noexec\n"));
  ::umount(mnt.c_str());
  CHECK(o.result["Result"] == "SUCCESS");
  CHECK(o.output == "ran on noexec\n");
}

TEST_CASE("run-task: parameters and built-ins are substituted once") {
  TempDir dir;
  auto task = make_task("invt-params01",
                        "echo '{{ greeting }}' {{ACS::InstanceId}} {{tat::commandid}} "
                        "{{ACS::InvokeId}} '{{\n nested \n}}'\n");
  task["EnableParameter"] = true;
  task["Parameters"] = {{"greeting", "hello {{nested}}"}, {"nested", "N"}};
  task["InstanceId"] = "rins-abcdef12";
  auto o = run_task(dir, task);
  CHECK(o.result["Result"] == "SUCCESS");
  CHECK(o.output == "hello {{nested}} rins-abcdef12 cmd-test0001 inv-invt-params01 N\n");

  auto literal = make_task("invt-params02", "echo '{{greeting}}'\n");
  auto l = run_task(dir, literal);
  CHECK(l.output == "{{greeting}}\n");
}

TEST_CASE("run-task: an invalid task file exits non-zero with a clear message") {
  TempDir dir;
  auto missing_param = make_task("invt-badfile1", "echo {{who}}\n");
  missing_param["EnableParameter"] = true;
  auto o = run_task(dir, missing_param);
  CHECK(o.process.exit_code == 2);
  CHECK_THAT(o.process.err, Catch::Contains("InvalidParameterValue.LackOfParameterInfo"));
  CHECK_THAT(o.process.err, Catch::Contains("who"));

  auto bad64 = make_task("invt-badfile2", "x");
  bad64["Content"] = "not base64!";
  auto b = run_task(dir, bad64);
  CHECK(b.process.exit_code == 2);
  CHECK_THAT(b.process.err, Catch::Contains("InvalidParameterValue.CommandContentInvalid"));

  auto timeout = make_task("invt-badfile3", "true\n");
  timeout["Timeout"] = 0;
  auto t = run_task(dir, timeout);
  CHECK(t.process.exit_code == 2);
  CHECK_THAT(t.process.err, Catch::Contains("Timeout"));

  auto nofile = run_process({kAgent, "run-task", "--task", dir.str() + "/none.json"}, dir.str());
  CHECK(nofile.exit_code != 0);
  CHECK(nofile.out.empty());
}

TEST_CASE("run-task: a task id is never run twice on one machine") {
  TempDir dir;
  auto task = make_task("invt-twice001", "echo once\n");
  auto first = run_task(dir, task, {"--keep"});
  CHECK(first.result["Result"] == "SUCCESS");
  auto second = run_task(dir, task, {"--keep"});
  CHECK(second.result["Result"] == "START_FAILED");
  CHECK_THAT(second.result["ErrorInfo"].get<std::string>(), Catch::Contains("already"));
}

TEST_CASE("run-task: a state directory the user cannot reach is a clear START_FAILED") {
  const TestUser user = ensure_test_user();
  TempDir dir;
  const auto closed = root_only_directory(dir, "closed");
  const auto task = task_as(user, "invt-closed01", "echo never\n");
  const std::string task_file = dir.str() + "/closed.json";
  std::ofstream(task_file) << task.dump();
  auto p = run_process(
      {kAgent, "run-task", "--task", task_file, "--state-dir", (closed / "state").string()},
      dir.str());
  REQUIRE(p.exit_code == 0);
  auto result = json::parse(p.out);
  CHECK(result["Result"] == "START_FAILED");
  CHECK_THAT(result["ErrorInfo"].get<std::string>(), Catch::Contains("not readable by user"));
}
