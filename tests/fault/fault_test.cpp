// Fault tests of issue 6: the real ferry-server and ferry-agent on loopback, with the agent
// killed, replaced by a new binary, or "rebooted" (another boot id, supervisors gone) while
// tasks run, and the server stopped or killed under load. Each test prints a count line and asserts
// on it:
//   fault N: accepted A finished F lost L duplicated D
// accepted: RunCommand returned an id; finished: final with the expected status, exit code and
// output; lost: not final by the deadline or final with another outcome; duplicated: started
// more than once (each script appends one line to a marker file of its own).
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent_process.hpp"
#include "blackbox.hpp"
#include "started_agent.hpp"
#include "tcp_proxy.hpp"
#include "test_process.hpp"

using namespace std::chrono_literals;
using namespace ferry::test;
using nlohmann::json;

namespace {

namespace fs = std::filesystem;

// A scratch directory's prefix and mode: others may read it (tasks run as other users write and
// read files there).
const char* const kScratch = "ferry-fault";
constexpr mode_t kScratchMode = 0755;

// Polled every 50 ms: some conditions read a whole journal.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  return eventually(pred, limit, 50ms);
}

// Live (not zombie) processes whose command line contains `text`, this process excepted.
int live_processes_with(const std::string& text) {
  int n = 0;
  for (const auto& p : process_table()) {
    if (p.pid != ::getpid() && p.state != 'Z' && p.cmdline.find(text) != std::string::npos) {
      ++n;
    }
  }
  return n;
}

// Supervisors orphaned by a killed agent are re-parented to this process (a child subreaper,
// see below); reaps those that ended. Returns how many zombies of ferry-agent remain.
int reap_orphans(pid_t keep) {
  int left = 0;
  for (const auto& p : process_table()) {
    if (p.ppid == ::getpid() && p.state == 'Z' && p.pid != keep && p.comm == "ferry-agent") {
      int status = 0;
      if (::waitpid(p.pid, &status, WNOHANG) != p.pid) {
        ++left;
      }
    }
  }
  return left;
}

// Orphaned supervisors come to this process rather than to pid 1, which in a container may
// never reap them; so the test can check that nothing of the tasks is left.
void become_subreaper() {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
}

std::unique_ptr<AgentProcess> registered_agent(ApiClient& api, const std::string& binary,
                                               const fs::path& dir,
                                               const std::vector<std::string>& env = {},
                                               const std::string& server_url = {}) {
  auto [code_id, code] = create_register_code(api);
  auto agent = std::make_unique<AgentProcess>(binary, dir, json{{"max_concurrent_tasks", 64}});
  agent->set_env(env);
  register_and_start(*agent, server_url.empty() ? shared_server().endpoint() : server_url, code_id,
                     code);
  return agent;
}

// One task of a scenario: what it runs and what must come back.
struct Spec {
  int index = 0;
  fs::path marker;
  std::string script;
  std::string expected_output;
  int exit_code = 0;
  std::string invocation;
};

// Spec `i`, its marker in `dir`: the script is `before`, then one line appended to the marker.
Spec marked_spec(const fs::path& dir, int i, const std::string& before = "") {
  Spec s;
  s.index = i;
  s.marker = dir / ("marker-" + std::to_string(i));
  s.script = before + "echo x >> " + s.marker.string() + "\n";
  return s;
}

// A task that prints begin and end lines (and 200 KB between them when `big`), sleeps `sleep_s`
// and exits i % 3. With a gate, the script waits (after its marker) until the test creates that
// file.
Spec make_spec(const fs::path& dir, int i, int sleep_s, bool big, const fs::path& gate = {}) {
  const std::string n = std::to_string(i);
  Spec s = marked_spec(dir, i, "echo begin-" + n + "\n");
  s.exit_code = i % 3;
  if (!gate.empty()) {
    s.script += "while [ ! -e " + gate.string() + " ]; do sleep 0.05; done\n";
  }
  s.expected_output = "begin-" + n + "\n";
  if (big) {
    s.script += "yes line-" + n + " | head -c 200000\n";
    std::string pattern = "line-" + n + "\n";
    std::string big_out;
    while (big_out.size() < 200000) {
      big_out += pattern;
    }
    big_out.resize(200000);
    s.expected_output += big_out;
  }
  s.script += "sleep " + std::to_string(sleep_s) + "\necho end-" + n + "\nexit " +
              std::to_string(s.exit_code) + "\n";
  s.expected_output += "end-" + n + "\n";
  return s;
}

// RunCommand of every spec's script on `instance`, each invocation id kept in its spec.
void run_all(ApiClient& api, const std::string& instance, std::vector<Spec>& specs, int timeout_s) {
  for (auto& s : specs) {
    s.invocation = run_command(api, {instance}, s.script, {{"Timeout", timeout_s}});
  }
}

// Whether every script has begun: each has written its marker.
bool all_begun(const std::vector<Spec>& specs) {
  return std::all_of(specs.begin(), specs.end(),
                     [](const Spec& s) { return fs::exists(s.marker); });
}

int marker_lines(const fs::path& marker) {
  const std::string text = read_file(marker);
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

// Whether the task's reported Output (head+tail excerpt) and Dropped match the whole output.
bool output_matches(const json& result, const std::string& expected) {
  const std::string out = unb64(result["Output"]);
  const auto dropped = result["Dropped"].get<std::uint64_t>();
  if (out.size() + dropped != expected.size()) {
    return false;
  }
  if (dropped == 0) {
    return out == expected;
  }
  const std::size_t half = out.size() / 2;
  return out.substr(0, half) == expected.substr(0, half) &&
         out.substr(half) == expected.substr(expected.size() - (out.size() - half));
}

struct Counts {
  int accepted = 0;
  int finished = 0;
  int lost = 0;
  int duplicated = 0;
};

// Polls every task until final (or the deadline), then counts.
Counts collect(ApiClient& api, const std::string& instance, std::vector<Spec>& specs,
               std::chrono::milliseconds limit,
               const std::function<bool(const Spec&, const json&)>& as_expected) {
  Counts c;
  c.accepted = static_cast<int>(specs.size());
  std::vector<json> tasks(specs.size());
  std::vector<bool> done(specs.size(), false);
  eventually(
      [&] {
        for (std::size_t i = 0; i < specs.size(); ++i) {
          if (!done[i]) {
            tasks[i] = task_of(api, specs[i].invocation, instance, false);
            done[i] = is_final_status(tasks[i]["TaskStatus"].get<std::string>());
          }
        }
        return std::find(done.begin(), done.end(), false) == done.end();
      },
      limit, 100ms);
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const bool ok = done[i] && as_expected(specs[i], tasks[i]);
    if (!ok) {
      UNSCOPED_INFO("task " << specs[i].index << ": " << tasks[i].dump().substr(0, 600));
    }
    (ok ? c.finished : c.lost) += 1;
    if (marker_lines(specs[i].marker) > 1) {
      ++c.duplicated;
    }
  }
  return c;
}

void print_counts(int n, const Counts& c) {
  std::printf("fault %d: accepted %d finished %d lost %d duplicated %d\n", n, c.accepted,
              c.finished, c.lost, c.duplicated);
  std::fflush(stdout);
}

// The count line, then: all `expected` tasks accepted and finished right, each run once.
void expect_all_right(int fault, const Counts& c, int expected) {
  print_counts(fault, c);
  CHECK(c.accepted == expected);
  CHECK(c.finished == expected);
  CHECK(c.lost == 0);
  CHECK(c.duplicated == 0);
}

void copy_binary(const fs::path& from, const fs::path& to) {
  // A new file renamed into place, as a package manager replaces a binary under a running
  // process: the old inode stays with the supervisors that run it.
  const fs::path temp = to.parent_path() / (".new-" + to.filename().string());
  fs::copy_file(from, temp, fs::copy_options::overwrite_existing);
  fs::permissions(temp, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  fs::rename(temp, to);
}

// Tests 1 and 2: 50 tasks of 1-8 s, some printing 200 KB; the agent goes away mid-way
// (SIGKILL, or SIGTERM and a new binary), comes back, and every task ends once, right.
void restart_scenario(int number, bool replace_binary) {
  become_subreaper();
  auto& server = shared_server();
  auto api = server.api();
  const TempDir scratch(kScratch, kScratchMode);
  std::string binary = FERRY_AGENT_BINARY;
  if (replace_binary) {
    fs::create_directories(scratch / "bin");
    binary = (scratch / "bin" / "ferry-agent").string();
    copy_binary(FERRY_AGENT_BINARY, binary);
  }
  auto agent = registered_agent(api, binary, scratch / "a");
  const std::string id = agent->instance_id();

  constexpr int kTasks = 50;
  std::vector<Spec> specs;
  for (int i = 0; i < kTasks; ++i) {
    specs.push_back(make_spec(scratch.path(), i, 1 + i % 8, i % 5 == 0));
  }
  run_all(api, id, specs, 60);
  // Every script has begun: the agent goes away while most are still running.
  REQUIRE(wait_until([&] { return all_begun(specs); }, 30s));
  std::this_thread::sleep_for(1500ms);  // the fault's timing, not a synchronisation
  if (replace_binary) {
    CHECK(agent->stop() == 0);
    copy_binary(FERRY_AGENT_BINARY, binary);
  } else {
    agent->kill();
  }
  std::this_thread::sleep_for(1500ms);  // down for a while: some tasks end with no agent
  agent->start();

  auto counts = collect(api, id, specs, 60s, [](const Spec& s, const json& t) {
    const std::string want = s.exit_code == 0 ? "SUCCESS" : "FAILED";
    return t["TaskStatus"] == want && t["TaskResult"]["ExitCode"] == s.exit_code &&
           output_matches(t["TaskResult"], s.expected_output);
  });
  expect_all_right(number, counts, kTasks);
  for (const auto& s : specs) {
    CHECK(marker_lines(s.marker) == 1);
  }
  const std::string all_logs = agent->all_logs();
  CHECK(all_logs.find("re-attached to its supervisor") != std::string::npos);
  // Nothing of the tasks left running, and the journal is empty once the server has it all.
  const std::string state = agent->state_dir().string();
  CHECK(wait_until([&] { return live_processes_with(state) == 0; }, 10s));
  CHECK(wait_until([&] { return reap_orphans(agent->pid()) == 0; }, 10s));
  CHECK(wait_until([&] { return agent->journal_empty(); }, 10s));
  CHECK(agent->stop() == 0);
}

}  // namespace

TEST_CASE("fault 1: agent SIGKILLed while 50 tasks run; all 50 reported once, right", "[fault]") {
  restart_scenario(1, false);
}

TEST_CASE("fault 2: agent stopped and its binary replaced while 50 tasks run", "[fault]") {
  restart_scenario(2, true);
}

TEST_CASE("fault 5: a reboot (boot id changed) fails the interrupted tasks; nothing re-runs",
          "[fault]") {
  become_subreaper();
  auto& server = shared_server();
  auto api = server.api();
  const TempDir scratch(kScratch, kScratchMode);
  const fs::path boot_file = scratch / "boot_id";
  std::ofstream(boot_file) << "11111111-1111-1111-1111-111111111111\n";
  auto agent = registered_agent(api, FERRY_AGENT_BINARY, scratch / "a",
                                {"FERRY_BOOT_ID_FILE=" + boot_file.string()});
  const std::string id = agent->instance_id();

  constexpr int kTasks = 10;
  std::vector<Spec> specs;
  for (int i = 0; i < kTasks; ++i) {
    const std::string begin = "begin-" + std::to_string(i) + "\n";
    Spec s = marked_spec(scratch.path(), i, "echo " + begin);
    s.script += "sleep 60\necho end\n";
    s.expected_output = begin;
    specs.push_back(std::move(s));
  }
  run_all(api, id, specs, 120);
  REQUIRE(wait_until([&] { return all_begun(specs); }, 30s));
  // The "reboot": the agent and every supervisor with its task die at once, the boot id changes.
  agent->kill();
  const std::string tasks_dir = (agent->state_dir() / "tasks").string();
  std::set<int> sessions;
  for (const auto& p : process_table()) {
    if (p.state != 'Z' &&
        p.cmdline.find(" supervise --task-dir " + tasks_dir) != std::string::npos) {
      sessions.insert(p.pid);
    }
  }
  CHECK(sessions.size() == kTasks);
  for (const auto& p : process_table()) {
    if (sessions.contains(p.sid)) {
      ::kill(p.pid, SIGKILL);
    }
  }
  REQUIRE(wait_until([&] { return live_processes_with(tasks_dir) == 0; }, 10s));
  std::ofstream(boot_file) << "22222222-2222-2222-2222-222222222222\n";
  agent->start();

  auto counts = collect(api, id, specs, 30s, [](const Spec& s, const json& t) {
    return t["TaskStatus"] == "FAILED" &&
           t.value("ErrorInfo", "").find("instance restarted") != std::string::npos &&
           unb64(t["TaskResult"]["Output"]) == s.expected_output;
  });
  expect_all_right(5, counts, kTasks);
  // Nothing re-runs. The explicit signal: an empty journal, every task reported and forgotten
  // (a task started again would hold its entry until it ended). Then the scripts' markers keep
  // one line each, and no task process is back.
  CHECK(wait_until([&] { return agent->journal_empty(); }, 10s));
  for (const auto& s : specs) {
    CHECK(marker_lines(s.marker) == 1);
  }
  CHECK(live_processes_with(tasks_dir) == 0);
  CHECK(wait_until([&] { return reap_orphans(agent->pid()) == 0; }, 10s));
  CHECK(agent->stop() == 0);
}

namespace {

// Journal entries that hold a final result waiting for the server.
int journaled_results(const fs::path& state_dir) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(state_dir / "tasks", ec)) {
    auto j = json::parse(read_file(e.path() / "journal.json"), nullptr, false);
    if (j.is_object() && j.contains("Result")) {
      ++n;
    }
  }
  return n;
}

// Faults 3 and 4 stop or kill the server: a server of their own, behind a proxy whose port stays
// when the server comes back on another, and an agent registered through the proxy.
struct ServerOfItsOwn {
  struct Subreaper {
    Subreaper() { become_subreaper(); }
  } subreaper;  // first: before the agent starts
  ServerProcess server{FERRY_SERVER_BIN};
  TcpProxy proxy{server.port()};
  ApiClient api = server.api();
  const TempDir scratch{kScratch, kScratchMode};
  std::unique_ptr<AgentProcess> agent =
      registered_agent(api, FERRY_AGENT_BINARY, scratch / "a", {}, proxy.endpoint());
  const std::string id = agent->instance_id();
};

}  // namespace

TEST_CASE_METHOD(ServerOfItsOwn,
                 "fault 3: server down 30 s while 50 tasks finish, agent restarted meanwhile",
                 "[fault]") {
  constexpr int kTasks = 50;
  // Held until the server is down: under load the first tasks could otherwise finish, and be
  // acknowledged, before the outage begins.
  const fs::path gate = scratch / "gate";
  std::vector<Spec> specs;
  for (int i = 0; i < kTasks; ++i) {
    specs.push_back(make_spec(scratch.path(), i, 1 + i % 4, i % 5 == 0, gate));
  }
  run_all(api, id, specs, 120);
  REQUIRE(wait_until([&] { return all_begun(specs); }, 30s));
  const auto outage_start = std::chrono::steady_clock::now();
  REQUIRE(server.stop() == 0);
  std::ofstream(gate) << "go";
  // Every task finishes while the server is away; the results wait in the journal.
  const bool all_journaled =
      wait_until([&] { return journaled_results(agent->state_dir()) == kTasks; }, 20s);
  INFO("results in the journal: " << journaled_results(agent->state_dir()));
  CHECK(all_journaled);
  // The agent restarts during the outage and finds them all there.
  agent->kill();
  agent->start();
  REQUIRE(agent->wait_log("journal: 50 task(s) from an earlier run"));
  CHECK(journaled_results(agent->state_dir()) == kTasks);
  std::this_thread::sleep_until(outage_start + 30s);  // the outage's length, as issue 6 says
  CHECK(journaled_results(agent->state_dir()) == kTasks);
  server.start();
  proxy.set_upstream_port(server.port());
  auto api_after = server.api();  // the server listens on a new port

  auto counts = collect(api_after, id, specs, 60s, [](const Spec& s, const json& t) {
    const std::string want = s.exit_code == 0 ? "SUCCESS" : "FAILED";
    return t["TaskStatus"] == want && t["TaskResult"]["ExitCode"] == s.exit_code &&
           output_matches(t["TaskResult"], s.expected_output);
  });
  expect_all_right(3, counts, kTasks);
  CHECK(wait_until([&] { return agent->journal_empty(); }, 10s));
  CHECK(live_processes_with(agent->state_dir().string()) == 0);
  CHECK(wait_until([&] { return reap_orphans(agent->pid()) == 0; }, 10s));
  CHECK(agent->stop() == 0);
}

TEST_CASE_METHOD(
    ServerOfItsOwn,
    "fault 4: server SIGKILLed during a burst of 200 RunCommand; every accepted one runs",
    "[fault]") {
  // Four clients send 200 RunCommand calls between them, about 200 a second; the server is
  // killed once 50 have been answered, so the kill lands in the middle of the burst with calls
  // in flight.
  constexpr std::size_t kCalls = 200;
  constexpr std::size_t kClients = 4;
  constexpr int kKillAfter = 50;
  std::vector<Spec> specs;
  for (std::size_t i = 0; i < kCalls; ++i) {
    specs.push_back(make_spec(scratch.path(), static_cast<int>(i), 0, false));
  }
  std::vector<char> accepted(kCalls, 0);
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (std::size_t t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t, client = server.api()]() mutable {
      for (std::size_t i = t; i < kCalls; i += kClients) {
        auto r = client.call(
            "RunCommand",
            {{"Content", b64(specs[i].script)}, {"InstanceIds", {id}}, {"Timeout", 120}});
        if (r.ok()) {
          specs[i].invocation = r.response["InvocationId"].get<std::string>();
          accepted[i] = 1;
          ++answered;
        }
        std::this_thread::sleep_for(20ms);
      }
    });
  }
  REQUIRE(wait_until([&] { return answered.load() >= kKillAfter; }, 30s));
  CHECK(server.kill() == 128 + SIGKILL);
  for (auto& c : clients) {
    c.join();
  }
  std::vector<Spec> taken;
  for (std::size_t i = 0; i < kCalls; ++i) {
    if (accepted[i] != 0) {
      taken.push_back(specs[i]);
    }
  }
  INFO("RunCommand answered " << taken.size() << " of " << kCalls);
  CHECK(taken.size() >= static_cast<std::size_t>(kKillAfter));
  CHECK(taken.size() < kCalls);  // the kill did land mid-burst

  server.start();
  proxy.set_upstream_port(server.port());
  auto api_after = server.api();
  auto counts = collect(api_after, id, taken, 90s, [](const Spec& s, const json& t) {
    const std::string want = s.exit_code == 0 ? "SUCCESS" : "FAILED";
    return t["TaskStatus"] == want && t["TaskResult"]["ExitCode"] == s.exit_code &&
           output_matches(t["TaskResult"], s.expected_output);
  });
  print_counts(4, counts);
  std::printf("fault 4: RunCommand calls %zu, answered %zu, refused or cut by the kill %zu\n",
              kCalls, taken.size(), kCalls - taken.size());
  std::fflush(stdout);
  CHECK(counts.finished == counts.accepted);
  CHECK(counts.lost == 0);
  CHECK(counts.duplicated == 0);
  CHECK(live_processes_with(agent->state_dir().string()) == 0);
  CHECK(wait_until([&] { return reap_orphans(agent->pid()) == 0; }, 10s));
  CHECK(agent->stop() == 0);
}

namespace {

// A small tmpfs mounted for one test, unmounted (lazily) at the end whatever happens.
class SmallTmpfs {
 public:
  SmallTmpfs(const fs::path& at, const std::string& size) : at_(at) {
    fs::create_directories(at_);
    const std::string options = "size=" + size + ",mode=0711";
    mounted_ = ::mount("tmpfs", at_.c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~SmallTmpfs() {
    if (mounted_) {
      ::umount2(at_.c_str(), MNT_DETACH);
    }
  }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;
  [[nodiscard]] bool mounted() const { return mounted_; }

 private:
  fs::path at_;
  bool mounted_ = false;
};

// Writes `path` until the file system is full.
void fill_up(const fs::path& path) {
  FILE* f = std::fopen(path.c_str(), "w");
  REQUIRE(f != nullptr);
  const std::string chunk(4096, 'f');
  while (std::fwrite(chunk.data(), 1, chunk.size(), f) == chunk.size() && std::fflush(f) == 0) {
  }
  std::fclose(f);
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("fault 6: a full state dir: START_FAILED with a clear reason, then recovery", "[fault]") {
  become_subreaper();
  auto& server = shared_server();
  auto api = server.api();
  const TempDir scratch(kScratch, kScratchMode);
  SmallTmpfs tmpfs(scratch / "a" / "state", "2m");
  if (!tmpfs.mounted()) {
    WARN("cannot mount a tmpfs here (not root?): fault 6 skipped");
    return;
  }
  auto agent = registered_agent(api, FERRY_AGENT_BINARY, scratch / "a");
  const std::string id = agent->instance_id();
  // A task that runs across the full disk: its result must still be the right one.
  const auto gate = scratch / "gate";
  std::vector<Spec> running(1);
  running[0].marker = scratch / "marker-running";
  running[0].script = "echo begin; echo x >> " + running[0].marker.string() + "; while [ ! -e " +
                      gate.string() + " ]; do sleep 0.05; done; exit 3";
  running[0].invocation = run_command(api, {id}, running[0].script, {{"Timeout", 60}});
  REQUIRE(wait_until([&] { return fs::exists(running[0].marker); }, 10s));
  REQUIRE(wait_task_status(api, running[0].invocation, id, "RUNNING", 5s) == "RUNNING");
  fill_up(agent->state_dir() / "filler");

  constexpr int kRefused = 3;
  std::vector<Spec> refused;
  for (int i = 0; i < kRefused; ++i) {
    Spec s = marked_spec(scratch.path(), i);
    s.invocation = run_command(api, {id}, s.script);
    refused.push_back(std::move(s));
  }
  auto counts = collect(api, id, refused, 20s, [](const Spec&, const json& t) {
    return t["TaskStatus"] == "START_FAILED" &&
           t.value("ErrorInfo", "").find("No space left on device") != std::string::npos;
  });
  print_counts(6, counts);
  CHECK(counts.finished == kRefused);
  CHECK(counts.lost == 0);
  for (const auto& s : refused) {
    CHECK_FALSE(fs::exists(s.marker));
  }
  std::ofstream(gate) << "go";
  auto survived = collect(api, id, running, 20s, [](const Spec&, const json& t) {
    return t["TaskStatus"] == "FAILED" && t["TaskResult"]["ExitCode"] == 3 &&
           unb64(t["TaskResult"]["Output"]).starts_with("begin\n");
  });
  CHECK(survived.finished == 1);
  // The agent is still there, and said why once, not once per task.
  CHECK(::kill(agent->pid(), 0) == 0);
  const std::string log = agent->log();
  CHECK(occurrences(log, "state directory is full or read-only") == 1);

  // Space comes back: tasks run again.
  fs::remove(agent->state_dir() / "filler");
  std::vector<Spec> after{make_spec(scratch.path(), 100, 0, false)};
  after[0].invocation = run_command(api, {id}, after[0].script);
  auto recovered = collect(api, id, after, 20s, [](const Spec& s, const json& t) {
    return t["TaskStatus"] == "FAILED" && t["TaskResult"]["ExitCode"] == s.exit_code &&
           output_matches(t["TaskResult"], s.expected_output);
  });
  CHECK(recovered.finished == 1);
  CHECK(marker_lines(after[0].marker) == 1);
  CHECK(agent->wait_log("the state directory works again"));
  CHECK(agent->stop() == 0);
}
