// The TaskRunner in-process with real supervisors: many tasks at once, the queue, cancel.
#include "ferry/agent/task_runner.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <map>

#include "agent_fixture.hpp"
#include "ferry/agent/agent_paths.hpp"
#include "ferry/core/task.hpp"

using namespace ferry;
using namespace ferry::test;

namespace {

Task shell_task(const std::string& id, const std::string& script) {
  auto parsed = parse_task(make_task(id, script));
  REQUIRE(parsed.has_value());
  return *parsed;
}

agent::RunnerOptions options_for(const TempDir& dir, std::size_t max_concurrent) {
  agent::RunnerOptions o;
  o.state_dir = dir.path() / "state";
  o.supervisor_executable = kAgent;
  o.max_concurrent = max_concurrent;
  o.kill_grace = std::chrono::milliseconds(500);
  REQUIRE(agent::prepare_state_dir(o.state_dir).has_value());
  return o;
}

}  // namespace

TEST_CASE("runner: 200 tasks at once all finish with their own output") {
  TempDir dir;
  boost::asio::io_context io;
  agent::TaskRunner runner(io, options_for(dir, 200));
  std::map<std::string, TaskResult> results;
  std::size_t peak_running = 0;
  for (int i = 0; i < 200; ++i) {
    const std::string id = "invt-many" + std::to_string(1000 + i);
    runner.submit(shell_task(id, "sleep 1\necho task " + std::to_string(i) + "\n"),
                  [&, id](TaskResult r) { results.emplace(id, std::move(r)); });
    peak_running = std::max(peak_running, runner.running());
  }
  CHECK(peak_running == 200);  // none waited in the queue
  const auto t0 = std::chrono::steady_clock::now();
  io.run();
  const auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE(results.size() == 200);
  for (int i = 0; i < 200; ++i) {
    const auto& r = results.at("invt-many" + std::to_string(1000 + i));
    CHECK(r.status == TaskStatus::kSuccess);
    CHECK(r.output == "task " + std::to_string(i) + "\n");
  }
  // They ran side by side: far less than 200 one-second sleeps in a row.
  CHECK(took < ferry::test::time_bound(std::chrono::seconds(60), std::chrono::seconds(150)));
}

TEST_CASE("runner: beyond the limit tasks queue and run in order") {
  TempDir dir;
  boost::asio::io_context io;
  agent::TaskRunner runner(io, options_for(dir, 4));
  std::vector<std::string> finished;
  std::size_t peak_running = 0;
  for (int i = 0; i < 12; ++i) {
    const std::string id = "invt-queue" + std::to_string(100 + i);
    runner.submit(shell_task(id, "sleep 0.2\n"), [&, id](TaskResult r) {
      CHECK(r.status == TaskStatus::kSuccess);
      finished.push_back(id);
      peak_running = std::max(peak_running, runner.running());
    });
  }
  CHECK(runner.running() == 4);
  CHECK(runner.queued() == 8);
  io.run();
  CHECK(finished.size() == 12);
  CHECK(peak_running <= 4);
  CHECK(runner.running() == 0);
  CHECK(runner.queued() == 0);
}

TEST_CASE("runner: cancel of a queued task gives CANCELLED, of a running one TERMINATED") {
  TempDir dir;
  boost::asio::io_context io;
  agent::TaskRunner runner(io, options_for(dir, 1));
  std::map<std::string, TaskResult> results;
  auto record = [&](const std::string& id) {
    return [&, id](TaskResult r) { results.emplace(id, std::move(r)); };
  };
  runner.submit(shell_task("invt-cancelrun", "echo started\nsleep 617.1\n"),
                record("invt-cancelrun"));
  runner.submit(shell_task("invt-cancelque", "touch " + dir.str() + "/never-ran\n"),
                record("invt-cancelque"));
  CHECK(runner.cancel("invt-cancelque"));
  CHECK_FALSE(runner.cancel("invt-unknown"));
  // Let the running one start, then cancel it.
  REQUIRE(eventually(
      [&] {
        io.poll();
        return pids_with_cmdline("sleep 617.1").size() == 1;
      },
      std::chrono::seconds(10)));
  CHECK(runner.cancel("invt-cancelrun"));
  io.run();
  REQUIRE(results.size() == 2);
  CHECK(results.at("invt-cancelque").status == TaskStatus::kCancelled);
  CHECK(results.at("invt-cancelrun").status == TaskStatus::kTerminated);
  CHECK(results.at("invt-cancelrun").output == "started\n");
  CHECK_FALSE(std::filesystem::exists(dir.path() / "never-ran"));
  CHECK(pids_with_cmdline("sleep 617.1").empty());
  kill_all("sleep 617.1");
}

TEST_CASE("runner: a duplicate submission is refused without running twice") {
  TempDir dir;
  boost::asio::io_context io;
  agent::TaskRunner runner(io, options_for(dir, 8));
  std::vector<TaskResult> results;
  const std::string marker = dir.str() + "/count";
  auto task = shell_task("invt-dup00001", "echo x >> " + marker + "\n");
  runner.submit(task, [&](TaskResult r) { results.push_back(std::move(r)); });
  runner.submit(task, [&](TaskResult r) { results.push_back(std::move(r)); });
  io.run();
  REQUIRE(results.size() == 2);
  int successes = 0;
  for (const auto& r : results) {
    successes += r.status == TaskStatus::kSuccess ? 1 : 0;
  }
  CHECK(successes == 1);
  CHECK(ferry::test::read_file(marker) == "x\n");
}

TEST_CASE("runner: an output over task_output_max_bytes keeps its head and true tail") {
  TempDir dir;
  boost::asio::io_context io;
  auto o = options_for(dir, 1);
  o.output_max_bytes = 65536;
  o.keep_task_dirs = true;  // to look at the spool
  agent::TaskRunner runner(io, o);
  std::optional<TaskResult> result;
  runner.submit(shell_task("invt-capped01", "seq 1 100000\n"),
                [&](TaskResult r) { result = std::move(r); });
  io.run();
  REQUIRE(result);
  std::string all;
  for (int i = 1; i <= 100000; ++i) {
    all += std::to_string(i) + "\n";
  }
  CHECK(result->status == TaskStatus::kSuccess);
  CHECK(result->output_size == all.size());
  CHECK(result->dropped == all.size() - 24 * 1024);
  CHECK(result->output == all.substr(0, 12 * 1024) + all.substr(all.size() - 12 * 1024));
  CHECK_THAT(result->error_info,
             Catch::Contains("task_output_max_bytes") && Catch::Contains("first 65536 bytes"));
  const auto spool = agent::task_paths(o.state_dir, "invt-capped01").output_file;
  CHECK(std::filesystem::file_size(spool) == 65536);
}
