// The launcher every black-box test starts its programs with (process.hpp).
#include "process.hpp"

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>

#include "process_table.hpp"
#include "test_process.hpp"

using namespace ferry::test;
using namespace std::chrono_literals;

namespace {

LaunchOptions sh(const std::string& script, const TempDir& dir) {
  LaunchOptions o;
  o.argv = {"/bin/sh", "-c", script};
  o.out_file = dir / "out";
  o.err_file = dir / "err";
  return o;
}

bool alive(pid_t pid) {
  for (const auto& p : process_table()) {
    if (p.pid == pid) {
      return p.state != 'Z';
    }
  }
  return false;
}

}  // namespace

TEST_CASE("launcher: argv, stdout and stderr to files, the exit code", "[process]") {
  const TempDir dir;
  auto o = sh("printf 'to out'; printf 'to err' >&2; exit 3", dir);
  const auto r = run_process(o);
  CHECK(r.exit_code == 3);
  CHECK(r.out == "to out");
  CHECK(r.err == "to err");
  CHECK(r.max_rss_kib > 0);
}

TEST_CASE("launcher: one file for both streams keeps the order written", "[process]") {
  const TempDir dir;
  auto o = sh("echo one; echo two >&2; echo three", dir);
  o.err_file = o.out_file;
  CHECK(run_process(o).out == "one\ntwo\nthree\n");
}

TEST_CASE("launcher: environment added, replaced, or given alone; working directory", "[process]") {
  const TempDir dir;
  ::setenv("FERRY_PROCESS_TEST_INHERITED", "inherited", 1);
  auto o = sh("echo \"$FERRY_PROCESS_TEST_INHERITED $FERRY_PROCESS_TEST_ADDED\"; pwd", dir);
  o.env = {"FERRY_PROCESS_TEST_ADDED=added"};
  o.cwd = "/tmp";
  CHECK(run_process(o).out == "inherited added\n/tmp\n");
  o.env = {"FERRY_PROCESS_TEST_INHERITED=replaced"};
  CHECK(run_process(o).out == "replaced \n/tmp\n");
  o.clean_env = true;
  o.env = {"FERRY_PROCESS_TEST_ADDED=alone"};
  CHECK(run_process(o).out == " alone\n/tmp\n");
  ::unsetenv("FERRY_PROCESS_TEST_INHERITED");
}

TEST_CASE("launcher: a program that cannot run ends 127; a signal ends 128 + signal", "[process]") {
  const TempDir dir;
  LaunchOptions missing;
  missing.argv = {(dir / "no-such-program").string()};
  CHECK(run_process(missing).exit_code == 127);
  Process p(sh("exec sleep 30", dir));
  CHECK(p.running());
  CHECK_FALSE(p.wait_for(50ms));
  p.signal(SIGTERM);
  CHECK(p.wait_for(10s) == 128 + SIGTERM);
  CHECK_FALSE(p.running());
}

TEST_CASE("launcher: stop waits out the grace, then kills", "[process]") {
  const TempDir dir;
  Process p(sh("trap '' TERM; echo ready; while :; do sleep 1; done", dir));
  REQUIRE(eventually([&] { return read_file(dir / "out") == "ready\n"; }, 10s));
  CHECK(p.stop(SIGTERM, 200ms) == 128 + SIGKILL);
}

TEST_CASE("launcher: stdout on a pipe, read as it comes", "[process]") {
  const TempDir dir;
  auto o = sh("echo first; read line; echo never", dir);
  o.out_pipe = true;
  Process p(std::move(o));
  REQUIRE(p.read_until("first\n", 10s));
  // stdin is /dev/null: `read` ends at once, so the script goes on.
  const auto r = p.wait(10s);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "first\nnever\n");
  CHECK(p.piped_out() == r.out);
  CHECK_FALSE(p.read_until("more", 100ms));
}

TEST_CASE("launcher: wait kills what outlives its limit", "[process]") {
  const TempDir dir;
  auto o = sh("echo started; exec sleep 30", dir);
  o.out_pipe = true;
  Process p(std::move(o));
  const auto r = p.wait(300ms);
  CHECK(r.exit_code == 128 + SIGKILL);
  CHECK(r.out == "started\n");
}

TEST_CASE("launcher: a Process that goes kills its child", "[process]") {
  const TempDir dir;
  pid_t pid = -1;
  {
    Process p(sh("exec sleep 30", dir));
    pid = p.pid();
    REQUIRE(alive(pid));
  }
  CHECK_FALSE(alive(pid));
}

TEST_CASE("launcher: stop_and_release stops what a test restarts", "[process]") {
  const TempDir dir;
  auto p = std::make_unique<Process>(sh("exec sleep 30", dir));
  CHECK(stop_and_release(p, SIGTERM, 10s) == 128 + SIGTERM);
  CHECK(p == nullptr);
  CHECK(stop_and_release(p, SIGTERM, 10s) == -1);
}
