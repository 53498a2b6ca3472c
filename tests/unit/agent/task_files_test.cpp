// The formats of a task directory and the results built from them.
#include "ferry/agent/task_files.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "agent_test_support.hpp"
#include "ferry/core/error_codes.hpp"

namespace fs = std::filesystem;
using ferry::TaskStatus;
using ferry::agent::TaskPaths;
using ferry::test::result_of;
using ferry::test::StateDir;
using nlohmann::json;

namespace {

json read_json(const fs::path& path) {
  std::ifstream in(path);
  return json::parse(in);
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777U;
}

}  // namespace

TEST_CASE("task files: task.json is written once, private, and read back") {
  StateDir state;
  const TaskPaths p = state.task("invt-tf1");
  ferry::Task task;
  task.invocation_task_id = "invt-tf1";
  task.content = ferry::base64_encode("echo 1");
  task.timeout_seconds = 7;
  REQUIRE(ferry::agent::write_task_file(p, task));
  CHECK(mode_of(p.task_file) == 0600);
  auto back = ferry::agent::read_task_file(p);
  REQUIRE(back);
  CHECK(*back == task);
  CHECK_FALSE(ferry::agent::write_task_file(p, task));  // never replaced

  ferry::test::write_file(p.task_file, "{not json");
  auto bad = ferry::agent::read_task_file(state.task("invt-tf1"));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == ferry::codes::kInvalidParameter);
  CHECK_FALSE(ferry::agent::read_task_file(state.task("invt-none")));
}

TEST_CASE("task files: state.json as the supervisor writes it, running then finished") {
  StateDir state;
  const TaskPaths p = state.task("invt-tf2");
  CHECK_FALSE(ferry::agent::read_supervisor_state(p));

  REQUIRE(ferry::agent::write_running_state(p, {4321, "boot-x", "2026-12-04T17:00:00Z"}));
  CHECK(mode_of(p.state_file) == 0600);
  const json running = read_json(p.state_file);
  CHECK(running == json{{"Phase", "running"},
                        {"SupervisorPid", ::getpid()},
                        {"MainPid", 4321},
                        {"BootId", "boot-x"},
                        {"ExecStartTime", "2026-12-04T17:00:00Z"}});
  // Room for the final state is reserved in the file's blocks, its size unchanged.
  struct stat st {};
  REQUIRE(::stat(p.state_file.c_str(), &st) == 0);
  CHECK(static_cast<std::uint64_t>(st.st_blocks) * 512 >= 64 * 1024);
  CHECK(static_cast<std::uint64_t>(st.st_size) == running.dump().size());
  auto s = ferry::agent::read_supervisor_state(p);
  REQUIRE(s);
  CHECK_FALSE(s->finished);
  CHECK(s->boot_id == "boot-x");
  CHECK_FALSE(s->result);
  CHECK_FALSE(ferry::agent::read_final_result(p));

  const auto result = result_of("invt-tf2", TaskStatus::kSuccess, 0, "out\n");
  bool in_place = false;
  REQUIRE(
      ferry::agent::write_final_state(p, result, [&](const ferry::Error&) { in_place = true; }));
  CHECK_FALSE(in_place);
  const json finished = read_json(p.state_file);
  CHECK(finished["Phase"] == "finished");
  CHECK(finished["SupervisorPid"] == ::getpid());
  CHECK(finished["BootId"] == "boot-now");  // this process's boot (StateDir's boot id file)
  CHECK(finished["Result"] == ferry::to_json(result));
  CHECK(ferry::agent::read_final_result(p) == result);
}

TEST_CASE("task files: a state.json that is not a final state yields no result") {
  StateDir state;
  const TaskPaths p = state.task("invt-tf3");
  const json good_result = ferry::to_json(result_of("invt-tf3", TaskStatus::kFailed, 1, ""));
  for (const std::string& text :
       {std::string("[1, 2]"), std::string("{\"Phase\": 3}"), std::string("garbage"),
        json{{"Phase", "running"}, {"Result", good_result}}.dump(),
        json{{"Phase", "finished"}}.dump(),
        json{{"Phase", "finished"}, {"Result", {{"InvocationTaskId", "invt-tf3"}}}}.dump(),
        json{{"Phase", "finished"}, {"BootId", 7}, {"Result", "x"}}.dump()}) {
    INFO(text);
    ferry::test::write_file(p.state_file, text);
    CHECK_FALSE(ferry::agent::read_final_result(p));
  }
  ferry::test::write_file(p.state_file, json{{"BootId", "boot-old"}}.dump());
  auto s = ferry::agent::read_supervisor_state(p);
  REQUIRE(s);
  CHECK(s->boot_id == "boot-old");
}

TEST_CASE("task files: the spool's excerpt is its head and tail") {
  StateDir state;
  const TaskPaths p = state.task("invt-tf4");
  CHECK_FALSE(ferry::agent::read_spool_excerpt(p.output_file, 10));  // no spool

  ferry::test::write_file(p.output_file, "small output\n");
  auto small = ferry::agent::read_spool_excerpt(p.output_file, 13);
  REQUIRE(small);
  CHECK(small->bytes == "small output\n");
  CHECK(small->dropped == 0);

  const std::string big =
      std::string(20'000, 'h') + std::string(10'000, 'm') + std::string(20'000, 't');
  ferry::test::write_file(p.output_file, big);
  auto excerpt = ferry::agent::read_spool_excerpt(p.output_file, big.size());
  REQUIRE(excerpt);
  CHECK(excerpt->bytes == std::string(12 * 1024, 'h') + std::string(12 * 1024, 't'));
  CHECK(excerpt->dropped == big.size() - 24 * 1024);

  auto piece = ferry::agent::read_spool(p, 19'998, 4);
  REQUIRE(piece);
  CHECK(*piece == "hhmm");

  // An output larger than its spool: the head from the spool, the tail from past it, and when
  // that is short, from the spool's end before it.
  const std::string spooled = std::string(20'000, 'h') + std::string(20'000, 's');
  ferry::test::write_file(p.output_file, spooled);
  auto capped = ferry::agent::read_spool_excerpt(p.output_file, spooled.size(), 1'000'000,
                                                 std::string(12 * 1024, 't'));
  REQUIRE(capped);
  CHECK(capped->bytes == std::string(12 * 1024, 'h') + std::string(12 * 1024, 't'));
  CHECK(capped->dropped == 1'000'000 - 24 * 1024);
  auto short_past = ferry::agent::read_spool_excerpt(p.output_file, spooled.size(),
                                                     spooled.size() + 100, std::string(100, 't'));
  REQUIRE(short_past);
  CHECK(short_past->bytes ==
        std::string(12 * 1024, 'h') + std::string(12 * 1024 - 100, 's') + std::string(100, 't'));
  CHECK(short_past->dropped == spooled.size() + 100 - 24 * 1024);
}

TEST_CASE("task files: results for tasks that never ran, were interrupted, or lost their result") {
  StateDir state;
  const TaskPaths p = state.task("invt-tf5");
  CHECK(ferry::agent::error_text({"Code.X", "why"}) == "Code.X: why");
  CHECK(ferry::agent::error_text({"", "why"}) == "why");

  const auto unrun =
      ferry::agent::unrun_result("invt-tf5", TaskStatus::kCancelled, "no", "2026-12-04T17:00:09Z");
  CHECK(unrun.invocation_task_id == "invt-tf5");
  CHECK(unrun.status == TaskStatus::kCancelled);
  CHECK(unrun.exit_code == -1);
  CHECK(unrun.error_info == "no");
  CHECK(unrun.exec_start_time.empty());
  CHECK(unrun.exec_end_time == "2026-12-04T17:00:09Z");

  ferry::test::write_file(p.output_file, "partial\n");
  const auto cut = ferry::agent::interrupted_result("invt-tf5", p, "2026-12-04T17:00:00Z",
                                                    "cut short", "2026-12-04T17:00:03Z");
  CHECK(cut.status == TaskStatus::kFailed);
  CHECK(cut.exit_code == -1);
  CHECK(cut.error_info == "cut short");
  CHECK(cut.output == "partial\n");
  CHECK(cut.output_size == 8);
  CHECK(cut.dropped == 0);
  CHECK(cut.exec_start_time == "2026-12-04T17:00:00Z");
  CHECK(cut.exec_end_time == "2026-12-04T17:00:03Z");
  fs::remove(p.output_file);
  const auto no_spool = ferry::agent::interrupted_result("invt-tf5", p, "", "gone", "");
  CHECK(no_spool.output.empty());
  CHECK(no_spool.output_size == 0);

  const auto lost = ferry::agent::result_after_exit("invt-tf5", p, 9);
  CHECK(lost.status == TaskStatus::kFailed);
  CHECK(lost.error_info == "the task's supervisor exited with status 9 without a result (see " +
                               p.supervisor_log.string() + ")");
  const auto recorded = result_of("invt-tf5", TaskStatus::kTimeout, -1, "slow\n");
  ferry::test::write_final_state(p, recorded);
  CHECK(ferry::agent::result_after_exit("invt-tf5", p, 0) == recorded);
}
