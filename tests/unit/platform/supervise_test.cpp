#include "ferry/platform/supervise.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/magic.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ferry/core/error_codes.hpp"
#include "ferry/platform/users.hpp"
#include "posix/account_native.hpp"
#include "test_process.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ferry::platform::run_supervised;
using ferry::platform::SuperviseOutcome;
using ferry::platform::SuperviseSpec;
using Kind = SuperviseOutcome::Kind;
using SteadyClock = std::chrono::steady_clock;

namespace {

// Private to this user, as mkdtemp(3) makes it.
struct SupervisorDir : ferry::test::TempDir {
  SupervisorDir() : ferry::test::TempDir("ferry-sup", 0700) {}
};

// A process-unique argument ("600.<digits>") that sleep accepts and /proc shows.
std::string unique_sleep_arg() {
  static int counter = 0;
  return "600." + std::to_string(::getpid()) + std::to_string(++counter);
}

std::vector<int> processes_with_argument(const std::string& argument) {
  std::vector<int> pids;
  DIR* dir = ::opendir("/proc");
  REQUIRE(dir != nullptr);
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) {
      continue;
    }
    std::ifstream in("/proc/" + name + "/cmdline");
    std::string arg;
    while (std::getline(in, arg, '\0')) {
      if (arg == argument) {
        pids.push_back(std::stoi(name));
        break;
      }
    }
  }
  ::closedir(dir);
  return pids;
}

int parent_of(int pid) {
  const std::string stat = ferry::test::read_file("/proc/" + std::to_string(pid) + "/stat");
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  char state = 0;
  int ppid = 0;
  rest >> state >> ppid;
  return ppid;
}

bool cgroup2_writable() {
  for (const char* path : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    struct statfs st {};
    if (::statfs(path, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC && ::access(path, W_OK) == 0) {
      return true;
    }
  }
  return false;
}

std::string cgroup_leaf(const std::string& name) {
  for (const char* path : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    struct statfs st {};
    if (::statfs(path, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC) {
      return std::string(path) + "/ferry/" + name;
    }
  }
  return {};
}

// run_supervised leaves its signals blocked (for the real supervisor, which records the
// outcome after it returns); the test process gets its mask back after each call.
SuperviseOutcome supervise(const SuperviseSpec& spec) {
  sigset_t old;
  ::sigprocmask(SIG_SETMASK, nullptr, &old);
  SuperviseOutcome outcome = run_supervised(spec);
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  return outcome;
}

SuperviseSpec shell_spec(const SupervisorDir& dir, const std::string& script) {
  static int counter = 0;
  SuperviseSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  spec.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"};
  spec.working_directory = dir.path().string();
  spec.output_path = (dir.path() / "output.log").string();
  spec.timeout = 10s;
  spec.kill_grace = 500ms;
  spec.drain_after_exit = 300ms;
  spec.container_name = "test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
  return spec;
}

double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

struct Timed {
  SuperviseOutcome outcome;
  double elapsed = 0;  // seconds
};

// An upper bound on a supervised run, in seconds: `tight` without sanitizers; under them, which
// slow every process several times over, 20 s, still far below the 30 s sleeps and the unique
// sleeps the tests leave behind, so a kill or a drain that waited for them still fails.
double bound(double tight) {
  return ferry::test::time_bound(tight, 20.0);
}

Timed supervise_timed(const SuperviseSpec& spec) {
  const auto start = SteadyClock::now();
  auto outcome = supervise(spec);
  return {std::move(outcome), seconds_since(start)};
}

// Kills and reaps what a test deliberately left running (re-parented to this process).
void kill_and_reap(int pid) {
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

// run_supervised leaves a leaf that processes outlived (they are still in it); the test
// removes it once it has killed them.
void remove_cgroup_leaf(const std::string& name) {
  const std::string leaf = cgroup_leaf(name);
  if (leaf.empty() || !fs::exists(leaf)) {
    return;
  }
  // Busy until the kernel has seen the last process leave.
  ferry::test::eventually([&] { return ::rmdir(leaf.c_str()) == 0 || errno != EBUSY; }, 1s, 10ms);
  CHECK_FALSE(fs::exists(leaf));
}

// A script that starts a daemon the classic way (a subshell that forks and exits, setsid),
// waits until it runs, reports its parent, then becomes a long sleep itself.
std::string daemonizing_script(const std::string& marker) {
  return "(setsid sh -c 'echo $$ > daemon.pid; exec sleep " + marker +
         "' &)\n"
         "while [ ! -s daemon.pid ]; do sleep 0.01; done\n"
         "sleep 0.2\n"
         "echo \"daemon ppid $(cut -d' ' -f4 /proc/$(cat daemon.pid)/stat)\"\n"
         "exec sleep 30\n";
}

// A task that daemonizes (see daemonizing_script), marked for processes_with_argument().
struct Daemonizing {
  std::string marker;
  SuperviseSpec spec;
};

Daemonizing daemonizing_task(const SupervisorDir& dir, std::chrono::milliseconds timeout) {
  const std::string marker = unique_sleep_arg();
  auto spec = shell_spec(dir, daemonizing_script(marker));
  spec.timeout = timeout;
  return {marker, std::move(spec)};
}

int read_pid_file(const fs::path& p) {
  const std::string text = ferry::test::read_file(p);
  REQUIRE_FALSE(text.empty());
  return std::stoi(text);
}

}  // namespace

TEST_CASE("run_supervised reports exit codes", "[platform][supervise]") {
  SupervisorDir dir;
  const int code = GENERATE(0, 7);
  auto spec = shell_spec(dir, "echo pid $$; exit " + std::to_string(code));
  int started_pid = 0;
  spec.on_started = [&](int pid) { started_pid = pid; };
  const auto before = std::chrono::system_clock::now();
  const auto outcome = supervise(spec);
  CHECK(outcome.kind == Kind::kExited);
  CHECK(outcome.exit_code == code);
  CHECK(outcome.error_code.empty());
  REQUIRE(started_pid > 0);
  CHECK(ferry::test::read_file(spec.output_path) == "pid " + std::to_string(started_pid) + "\n");
  CHECK(outcome.output_bytes == ferry::test::read_file(spec.output_path).size());
  CHECK(outcome.start_time >= before);
  CHECK(outcome.end_time >= outcome.start_time);
  CHECK(outcome.contained == cgroup2_writable());
  CHECK_FALSE(fs::exists(cgroup_leaf(spec.container_name)));  // removed once empty
}

TEST_CASE("run_supervised reports death by an unexpected signal", "[platform][supervise]") {
  SupervisorDir dir;
  const auto outcome = supervise(shell_spec(dir, "ulimit -c 0; kill -SEGV $$"));
  CHECK(outcome.kind == Kind::kSignaled);
  CHECK(outcome.exit_code == 128 + SIGSEGV);
  CHECK(ferry::platform::describe_abnormal_exit(outcome.exit_code) ==
        "the process was killed by signal 11 (SIGSEGV)");
  CHECK(ferry::platform::describe_abnormal_exit(128 + 9) ==
        "the process was killed by signal 9 (SIGKILL)");
}

TEST_CASE("block_supervisor_signals holds back cancels and child exits", "[platform][supervise]") {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ferry::platform::block_supervisor_signals();
    sigset_t mask;
    ::sigprocmask(SIG_SETMASK, nullptr, &mask);
    bool all = true;
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) {
      all = all && ::sigismember(&mask, sig) == 1;
    }
    ::raise(SIGTERM);  // held back: the process lives on to report
    ::_exit(all ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("run_supervised gives the task the default OOM score adjustment",
          "[platform][supervise]") {
  SupervisorDir dir;
  auto spec = shell_spec(dir, "cat /proc/self/oom_score_adj");
  // In a child, which stands for a supervisor protected as the agent's unit protects it
  // (OOMScoreAdjust=-250, which needs CAP_SYS_RESOURCE; else +300, which anyone may set): its own
  // value must not change, the task's must be 0.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const auto set_adj = [](const char* value) {
      std::ofstream("/proc/self/oom_score_adj") << value;
      return ferry::test::read_file("/proc/self/oom_score_adj") == std::string(value) + "\n";
    };
    const char* own = set_adj("-250") ? "-250" : set_adj("300") ? "300" : nullptr;
    if (own == nullptr) {
      ::_exit(2);
    }
    const auto outcome = run_supervised(spec);
    const bool kept = ferry::test::read_file("/proc/self/oom_score_adj") == std::string(own) + "\n";
    ::_exit(outcome.kind == Kind::kExited && outcome.exit_code == 0 && kept ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 2) {
    WARN("/proc/self/oom_score_adj cannot be changed here: nothing checked");
    return;
  }
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(ferry::test::read_file(spec.output_path) == "0\n");
}

TEST_CASE("run_supervised merges stdout and stderr in order into a private spool",
          "[platform][supervise]") {
  SupervisorDir dir;
  // An old spool with loose permissions is truncated and tightened.
  std::ofstream(dir.path() / "output.log") << "stale content that must disappear";
  fs::permissions(dir.path() / "output.log", fs::perms::all);
  const auto spec = shell_spec(dir,
                               "echo one; echo two >&2; echo three; echo four >&2\n"
                               "read line || echo stdin-eof\n"
                               "echo \"[$LC_ALL][${HOME-unset}]\"");
  const auto outcome = supervise(spec);
  CHECK(outcome.kind == Kind::kExited);
  const std::string expected = "one\ntwo\nthree\nfour\nstdin-eof\n[C][unset]\n";
  CHECK(ferry::test::read_file(spec.output_path) == expected);
  CHECK(outcome.output_bytes == expected.size());
  struct stat st {};
  REQUIRE(::stat(spec.output_path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777U) == 0600);
}

TEST_CASE("run_supervised spools large output exactly", "[platform][supervise]") {
  SupervisorDir dir;
  constexpr uint64_t kBytes = 64ull << 20;
  const auto spec = shell_spec(dir, "head -c " + std::to_string(kBytes) + " /dev/zero");
  const auto outcome = supervise(spec);
  CHECK(outcome.kind == Kind::kExited);
  CHECK(outcome.exit_code == 0);
  CHECK(outcome.output_bytes == kBytes);
  CHECK(fs::file_size(spec.output_path) == kBytes);
}

TEST_CASE("run_supervised keeps output_max_bytes in the spool and the tail past it",
          "[platform][supervise]") {
  SupervisorDir dir;
  // 3 MiB of numbered lines: the tail tells where in the output it comes from.
  auto spec = shell_spec(dir, "seq 1 400000");
  spec.output_max_bytes = 100'000;
  spec.output_tail_bytes = 1000;
  const auto outcome = supervise(spec);
  CHECK(outcome.kind == Kind::kExited);
  CHECK(outcome.exit_code == 0);  // the task never blocked on its output
  std::string all;
  for (int i = 1; i <= 400000; ++i) {
    all += std::to_string(i) + "\n";
  }
  CHECK(outcome.output_bytes == all.size());
  CHECK(outcome.spooled_bytes == 100'000);
  CHECK(ferry::test::read_file(spec.output_path) == all.substr(0, 100'000));
  CHECK(outcome.output_tail == all.substr(all.size() - 1000));

  SECTION("below the cap the spool holds all and there is no tail") {
    spec.output_max_bytes = all.size();
    const auto whole = supervise(spec);
    CHECK(whole.output_bytes == all.size());
    CHECK(whole.spooled_bytes == all.size());
    CHECK(whole.output_tail.empty());
  }
}

TEST_CASE("remove_empty_task_containers removes empty ones but those it is told to keep",
          "[platform][supervise]") {
  const std::string hierarchy = cgroup_leaf("");
  if (hierarchy.empty() || ::access(fs::path(hierarchy).parent_path().c_str(), W_OK) != 0) {
    WARN("no writable cgroup v2 hierarchy: skipped");
    return;
  }
  fs::create_directories(hierarchy);
  const std::string tag = std::to_string(::getpid());
  const std::string empty = "test-empty-" + tag;
  const std::string kept = "test-kept-" + tag;
  const std::string busy = "test-busy-" + tag;
  for (const auto& name : {empty, kept, busy}) {
    REQUIRE(::mkdir(cgroup_leaf(name).c_str(), 0755) == 0);
  }
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  {
    const std::string pid_text = std::to_string(child);
    const int fd = ::open((cgroup_leaf(busy) + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    CHECK(::write(fd, pid_text.data(), pid_text.size()) == static_cast<ssize_t>(pid_text.size()));
    ::close(fd);
  }
  // Only this test's leaves are candidates: a running test's or agent's stay untouched.
  const auto ours = [&](std::string_view name) { return name == empty || name == busy; };
  const int removed = ferry::platform::remove_empty_task_containers(
      [&](std::string_view name) { return !ours(name) || name == kept; });
  CHECK(removed == 1);
  CHECK_FALSE(fs::exists(cgroup_leaf(empty)));
  CHECK(fs::exists(cgroup_leaf(kept)));
  CHECK(fs::exists(cgroup_leaf(busy)));  // it has a process
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  remove_cgroup_leaf(busy);
  CHECK(::rmdir(cgroup_leaf(kept).c_str()) == 0);
}

TEST_CASE("run_supervised times out", "[platform][supervise]") {
  SupervisorDir dir;
  SECTION("a program that dies of SIGTERM") {
    auto spec = shell_spec(dir, "exec sleep 30");
    spec.timeout = 1s;
    const auto [outcome, elapsed] = supervise_timed(spec);
    CHECK(outcome.kind == Kind::kTimedOut);
    CHECK(outcome.exit_code == 128 + SIGTERM);
    CHECK(elapsed >= 0.95);
    CHECK(elapsed < bound(1.0 + 0.5 + 0.5));
  }
  SECTION("a program that ignores SIGTERM gets SIGKILL after the grace") {
    auto spec = shell_spec(dir, "trap '' TERM; echo ready; sleep 30; echo survived");
    spec.timeout = 500ms;
    spec.kill_grace = 300ms;
    const auto [outcome, elapsed] = supervise_timed(spec);
    CHECK(outcome.kind == Kind::kTimedOut);
    CHECK(outcome.exit_code == 128 + SIGKILL);
    CHECK(elapsed >= 0.75);
    CHECK(elapsed < bound(0.8 + 0.7));
    CHECK(ferry::test::read_file(spec.output_path) == "ready\n");
  }
}

TEST_CASE("run_supervised kills a daemonized grandchild with the tree", "[platform][supervise]") {
  const bool contain_tree = GENERATE(true, false);
  INFO("contain_tree " << contain_tree);
  SupervisorDir dir;
  auto [marker, spec] = daemonizing_task(dir, 1500ms);
  spec.contain_tree = contain_tree;
  const auto [outcome, elapsed] = supervise_timed(spec);

  CHECK(outcome.kind == Kind::kTimedOut);
  CHECK(outcome.contained == (contain_tree && cgroup2_writable()));
  CHECK(elapsed < bound(1.5 + 0.5 + 0.5));
  // The daemon was re-parented to us (the subreaper), not to init...
  CHECK(ferry::test::read_file(spec.output_path) ==
        "daemon ppid " + std::to_string(::getpid()) + "\n");
  // ...and nothing of the task is left, not even a zombie.
  const int daemon = read_pid_file(dir.path() / "daemon.pid");
  CHECK(::kill(daemon, 0) == -1);
  CHECK(errno == ESRCH);
  CHECK(processes_with_argument(marker).empty());
  CHECK_FALSE(fs::exists(cgroup_leaf(spec.container_name)));
}

TEST_CASE("run_supervised in Process mode kills the main process only", "[platform][supervise]") {
  SupervisorDir dir;
  auto [marker, spec] = daemonizing_task(dir, 1s);
  spec.kill_process_tree = false;
  const auto [outcome, elapsed] = supervise_timed(spec);

  CHECK(outcome.kind == Kind::kTimedOut);
  CHECK(outcome.exit_code == 128 + SIGTERM);
  // The daemon keeps the output pipe open: only drain_after_exit is waited for it.
  CHECK(elapsed < bound(1.0 + 0.3 + 0.5));
  const int daemon = read_pid_file(dir.path() / "daemon.pid");
  const auto survivors = processes_with_argument(marker);
  CHECK(survivors == std::vector<int>{daemon});
  CHECK(parent_of(daemon) == ::getpid());
  CHECK(fs::exists(cgroup_leaf(spec.container_name)) == outcome.contained);
  kill_and_reap(daemon);
  CHECK(processes_with_argument(marker).empty());
  remove_cgroup_leaf(spec.container_name);
}

TEST_CASE("run_supervised does not wait for background processes after a normal exit",
          "[platform][supervise]") {
  SupervisorDir dir;
  const std::string marker = unique_sleep_arg();
  auto spec = shell_spec(dir, "sleep " + marker + " & echo $! > bg.pid; echo done");
  spec.drain_after_exit = 300ms;
  const auto [outcome, elapsed] = supervise_timed(spec);

  CHECK(outcome.kind == Kind::kExited);
  CHECK(outcome.exit_code == 0);
  CHECK(elapsed < bound(0.3 + 0.5));
  CHECK(ferry::test::read_file(spec.output_path) == "done\n");
  const int background = read_pid_file(dir.path() / "bg.pid");
  CHECK(processes_with_argument(marker) == std::vector<int>{background});  // not killed
  CHECK(fs::exists(cgroup_leaf(spec.container_name)) == outcome.contained);
  kill_and_reap(background);
  remove_cgroup_leaf(spec.container_name);
}

TEST_CASE("run_supervised reports a working directory that cannot be entered",
          "[platform][supervise]") {
  SupervisorDir dir;
  auto spec = shell_spec(dir, "echo should-not-run");
  spec.working_directory = (dir.path() / "missing").string();
  bool started = false;
  spec.on_started = [&](int) { started = true; };
  const auto outcome = supervise(spec);
  CHECK(outcome.kind == Kind::kStartFailed);
  CHECK(outcome.error_code == ferry::codes::kInvalidWorkingDirectory);
  CHECK(outcome.error ==
        "working directory '" + spec.working_directory + "' cannot be entered as user '" +
            std::string(::getpwuid(::geteuid())->pw_name) + "': No such file or directory");
  CHECK_FALSE(started);
  CHECK(outcome.output_bytes == 0);
  CHECK_FALSE(fs::exists(cgroup_leaf(spec.container_name)));
}

TEST_CASE("run_supervised reports a program that cannot be executed", "[platform][supervise]") {
  SupervisorDir dir;
  auto spec = shell_spec(dir, "");
  spec.argv = {"/nonexistent/ferry-program", "arg"};
  const auto outcome = supervise(spec);
  CHECK(outcome.kind == Kind::kStartFailed);
  CHECK(outcome.error_code == ferry::codes::kInternalError);
  CHECK(outcome.error == "cannot execute '/nonexistent/ferry-program': No such file or directory");
}

TEST_CASE("run_supervised runs as another user with all its groups", "[platform][supervise]") {
  if (::geteuid() != 0) {
    WARN("needs root");
    return;
  }
  const std::string user_name = "ferry-test-user";
  const std::string group_name = "ferry-test-grp";
  if (::getgrnam(group_name.c_str()) == nullptr) {
    REQUIRE(ferry::test::run_process({.argv = {"/usr/sbin/groupadd", group_name}}).exit_code == 0);
  }
  if (!ferry::platform::lookup_user(user_name)) {
    REQUIRE(ferry::test::run_process(
                {.argv = {"/usr/sbin/useradd", "-M", "-s", "/bin/sh", "-G", group_name, user_name}})
                .exit_code == 0);
  }
  const auto user = ferry::platform::lookup_user(user_name);
  REQUIRE(user.has_value());
  const group* extra = ::getgrnam(group_name.c_str());
  REQUIRE(extra != nullptr);
  const gid_t extra_gid = extra->gr_gid;

  SupervisorDir dir;
  fs::permissions(dir.path(), static_cast<fs::perms>(0755));
  const fs::path open_dir = dir.path() / "open";
  const fs::path closed_dir = dir.path() / "closed";
  fs::create_directory(open_dir);
  fs::permissions(open_dir, static_cast<fs::perms>(0755));
  fs::create_directory(closed_dir);
  fs::permissions(closed_dir, static_cast<fs::perms>(0700));

  auto spec = shell_spec(dir, "id -u; id -g; id -G; pwd");
  spec.run_as = *user;
  spec.working_directory = open_dir.string();
  const auto outcome = supervise(spec);
  REQUIRE(outcome.kind == Kind::kExited);
  CHECK(outcome.exit_code == 0);
  std::istringstream out(ferry::test::read_file(spec.output_path));
  uid_t uid = 0;
  gid_t gid = 0;
  out >> uid >> gid;
  CHECK(uid == user->account.native()->uid);
  CHECK(gid == user->account.native()->gid);
  std::string groups_line;
  std::getline(out >> std::ws, groups_line);
  std::istringstream groups_in(groups_line);
  std::set<gid_t> groups;
  for (gid_t g = 0; groups_in >> g;) {
    groups.insert(g);
  }
  CHECK(groups == std::set<gid_t>{user->account.native()->gid, extra_gid});  // root's 0 is gone
  std::string cwd;
  std::getline(out, cwd);
  CHECK(cwd == open_dir.string());

  // A directory root can enter but the user cannot: entered after the switch, so refused.
  spec.working_directory = closed_dir.string();
  const auto refused = supervise(spec);
  CHECK(refused.kind == Kind::kStartFailed);
  CHECK(refused.error_code == ferry::codes::kInvalidWorkingDirectory);
  CHECK(refused.error == "working directory '" + closed_dir.string() +
                             "' cannot be entered as user '" + user_name + "': Permission denied");
}

namespace {

struct ForkedResult {
  int kind = -1;
  int exit_code = 0;
  bool started = false;
  char error_code[64] = {};
  char error[256] = {};
};

// run_supervised takes over the process's signals, so cancellation is tested in a child
// process that reports the outcome through a pipe.
template <typename Before>
pid_t supervise_in_child(const SuperviseSpec& spec, int result_fd, Before before) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    before();
    ForkedResult result;
    SuperviseSpec copy = spec;
    copy.on_started = [&](int) { result.started = true; };
    const auto outcome = run_supervised(copy);
    result.kind = static_cast<int>(outcome.kind);
    result.exit_code = outcome.exit_code;
    outcome.error_code.copy(result.error_code, sizeof result.error_code - 1);
    outcome.error.copy(result.error, sizeof result.error - 1);
    const bool ok = ::write(result_fd, &result, sizeof result) == sizeof result;
    ::_exit(ok ? 0 : 1);
  }
  return pid;
}

ForkedResult collect(pid_t child, int read_fd) {
  ForkedResult result;
  REQUIRE(::read(read_fd, &result, sizeof result) == sizeof result);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  return result;
}

}  // namespace

TEST_CASE("run_supervised cancels on SIGTERM and kills the tree", "[platform][supervise]") {
  SupervisorDir dir;
  const auto [marker, spec] = daemonizing_task(dir, 10s);
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t child = supervise_in_child(spec, fds[1], [] {});
  ::close(fds[1]);

  ferry::test::eventually([&] { return !ferry::test::read_file(spec.output_path).empty(); }, 5s,
                          10ms);
  REQUIRE(ferry::test::read_file(spec.output_path) ==
          "daemon ppid " + std::to_string(child) + "\n");
  const int daemon = read_pid_file(dir.path() / "daemon.pid");
  const auto start = SteadyClock::now();
  REQUIRE(::kill(child, SIGTERM) == 0);
  const ForkedResult result = collect(child, fds[0]);
  ::close(fds[0]);
  CHECK(seconds_since(start) < bound(1.0));
  CHECK(result.kind == static_cast<int>(Kind::kCancelled));
  CHECK(result.exit_code == 128 + SIGTERM);
  CHECK(result.started);
  CHECK(::kill(daemon, 0) == -1);
  CHECK(processes_with_argument(marker).empty());
}

TEST_CASE("run_supervised does not start after an early cancel", "[platform][supervise]") {
  SupervisorDir dir;
  const auto spec = shell_spec(dir, "touch ran");
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t child = supervise_in_child(spec, fds[1], [] {
    // A cancel that reached the supervisor before run_supervised: pending while blocked.
    sigset_t set;
    ::sigemptyset(&set);
    ::sigaddset(&set, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    ::raise(SIGTERM);
  });
  ::close(fds[1]);
  const ForkedResult result = collect(child, fds[0]);
  ::close(fds[0]);
  CHECK(result.kind == static_cast<int>(Kind::kCancelled));
  CHECK_FALSE(result.started);
  CHECK_FALSE(fs::exists(dir.path() / "ran"));
}

TEST_CASE("run_supervised reports a user switch it is not allowed to make",
          "[platform][supervise]") {
  if (::geteuid() != 0) {
    WARN("needs root to drop to nobody");
    return;
  }
  SupervisorDir dir;
  fs::permissions(dir.path(), fs::perms::all);  // the unprivileged supervisor writes its spool
  auto spec = shell_spec(dir, "touch ran");
  const auto root = ferry::platform::lookup_user("root");
  REQUIRE(root);
  spec.run_as = *root;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t child = supervise_in_child(spec, fds[1], [] {
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) {
      ::_exit(3);
    }
  });
  ::close(fds[1]);
  const ForkedResult result = collect(child, fds[0]);
  ::close(fds[0]);
  CHECK(result.kind == static_cast<int>(Kind::kStartFailed));
  CHECK(std::string(result.error_code) == ferry::codes::kInvalidUsername);
  CHECK(std::string(result.error) ==
        "cannot run as user 'root': setgroups: Operation not permitted");
  CHECK_FALSE(result.started);
  CHECK_FALSE(fs::exists(dir.path() / "ran"));
}
