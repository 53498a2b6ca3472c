// Processes named by pid and start time; cancels that reach only the process named.
#include "ferry/platform/process_identity.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "linux/proc.hpp"
#include "test_process.hpp"

using namespace ferry::platform;

namespace {

// A child that waits for a signal, which ends it; the caller reaps it.
pid_t paused_child() {
  // SIGTERM is held until the child has its default action back (not the test framework's
  // handler, which would report the signal as a failure of this test).
  sigset_t term;
  sigset_t old;
  ::sigemptyset(&term);
  ::sigaddset(&term, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &term, &old);
  const pid_t child = ::fork();
  if (child == 0) {
    ::signal(SIGTERM, SIG_DFL);
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    ::pause();
    ::_exit(0);
  }
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  REQUIRE(child >= 0);
  return child;
}

bool zombie(pid_t pid) {
  return ferry::test::eventually(
      [pid] {
        std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
        std::string stat;
        std::getline(in, stat);
        return stat.find(") Z ") != std::string::npos;
      },
      std::chrono::seconds(2), std::chrono::milliseconds(10));
}

}  // namespace

TEST_CASE("liveness: a process is named by pid and start time, never the pid alone",
          "[platform][process]") {
  using linux_proc::parse_stat_start_time;
  CHECK(parse_stat_start_time("42 (a b) c)) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 "
                              "987654 1000 10") == 987654U);
  CHECK_FALSE(
      parse_stat_start_time("42 (x) Z 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 "
                            "987654 0 0"));
  CHECK_FALSE(parse_stat_start_time("42 (x) S 1 2 3"));
  CHECK_FALSE(parse_stat_start_time("garbage"));
  CHECK_FALSE(parse_stat_start_time(""));

  CHECK(current_process_id() == ::getpid());
  const auto self = identify_process(::getpid());
  REQUIRE(self);
  CHECK(self->pid == ::getpid());
  CHECK(is_running(*self));
  CHECK_FALSE(is_running({::getpid(), self->start_time + 1}));
  CHECK_FALSE(identify_process(0));
  CHECK_FALSE(identify_process(-1));

  // A child: alive, then a zombie (ended: not alive), then reaped (gone).
  const pid_t child = paused_child();
  const auto named = identify_process(child);
  REQUIRE(named);
  CHECK(is_running(*named));
  // The wrong start time: not cancelled.
  CHECK_FALSE(cancel_process({child, named->start_time + 1}, CancelLevel::kForced));
  CHECK(is_running(*named));
  CHECK(cancel_process(*named, CancelLevel::kForced));
  CHECK(zombie(child));
  CHECK_FALSE(is_running(*named));
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK_FALSE(identify_process(child));
}

TEST_CASE("cancel levels: graceful is SIGTERM, forced is SIGKILL", "[platform][process]") {
  const auto level = GENERATE(CancelLevel::kGraceful, CancelLevel::kForced);
  const pid_t child = paused_child();
  const auto named = identify_process(child);
  REQUIRE(named);
  CHECK(cancel_process(*named, level));
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == (level == CancelLevel::kGraceful ? SIGTERM : SIGKILL));
  // Gone: nothing more is sent.
  CHECK_FALSE(cancel_process(*named, level));
}

TEST_CASE("liveness: the boot id comes from the kernel, or the file a test names",
          "[platform][process]") {
  ::unsetenv(kBootIdFileVariable);
  const std::string real = boot_id();
  CHECK(real.size() == 36);
  ferry::test::TempDir dir;
  std::ofstream(dir / "boot") << "test-boot-id\n";
  ::setenv(kBootIdFileVariable, (dir / "boot").c_str(), 1);
  CHECK(boot_id() == "test-boot-id");
  ::unsetenv(kBootIdFileVariable);
  CHECK(boot_id() == real);
}

TEST_CASE("liveness: a supervisor is found by its arguments", "[platform][process]") {
  const std::string unique = "/ferry-unit-" + std::to_string(::getpid());
  CHECK_FALSE(find_process_with_args({"--task-dir", unique}));
  // sh -c takes the words after the command as $0 and $1...: they stay in its argument list.
  ferry::test::Process sh(
      {.argv = {"/bin/sh", "-c", "sleep 30", "supervise", "--task-dir", unique}});
  const pid_t child = sh.pid();
  std::optional<ProcessIdentity> found;
  CHECK(ferry::test::eventually(
      [&] {
        found = find_process_with_args({"supervise", "--task-dir", unique});
        return found && found->pid == child;
      },
      std::chrono::seconds(2), std::chrono::milliseconds(10)));
  REQUIRE(found);
  CHECK(found->pid == child);
  CHECK(*found == identify_process(child));
  CHECK_FALSE(find_process_with_args({"--task-dir", unique + "x"}));
}
