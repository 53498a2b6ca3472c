// A File task as the supervisor carries it out: the result it reports for each outcome.
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "ferry/agent/supervisor.hpp"
#include "ferry/core/base64.hpp"
#include "test_process.hpp"

namespace fs = std::filesystem;
using ferry::TaskStatus;

namespace {

ferry::Task file_task(const fs::path& dir, const std::string& name, const std::string& bytes) {
  ferry::Task t;
  t.invocation_task_id = "invt-file";
  t.content = ferry::base64_encode(bytes);
  ferry::TaskFile f;
  f.name = name;
  f.target_dir = dir.string();
  f.mode = "0600";
  f.owner = ::getpwuid(::geteuid())->pw_name;
  f.group = ::getgrgid(::getegid())->gr_name;
  t.file = f;
  return t;
}

std::string read_back(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("a File task reports SUCCESS, exit code 0 and no output once the file is written") {
  ferry::test::TempDir tmp("ferry-file-task", 0700);
  const auto r = ferry::agent::run_file_task(file_task(tmp.path() / "new", "conf", "a=1\n"));
  CHECK(r.status == TaskStatus::kSuccess);
  CHECK(r.exit_code == 0);
  CHECK(r.output.empty());
  CHECK(r.error_info.empty());
  CHECK_FALSE(r.exec_start_time.empty());
  CHECK_FALSE(r.exec_end_time.empty());
  CHECK(read_back(tmp.path() / "new" / "conf") == "a=1\n");
  struct stat st {};
  REQUIRE(::stat((tmp.path() / "new" / "conf").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
}

TEST_CASE("a File task that may not replace a file reports FAILED with the reason") {
  ferry::test::TempDir tmp("ferry-file-task", 0700);
  std::ofstream(tmp.path() / "conf") << "old";
  auto task = file_task(tmp.path(), "conf", "new");
  auto r = ferry::agent::run_file_task(task);
  CHECK(r.status == TaskStatus::kFailed);
  CHECK(r.exit_code == -1);
  CHECK(r.error_info.rfind("FileAlreadyExists", 0) == 0);
  CHECK(read_back(tmp.path() / "conf") == "old");

  task.file->overwrite = true;
  r = ferry::agent::run_file_task(task);
  CHECK(r.status == TaskStatus::kSuccess);
  CHECK(read_back(tmp.path() / "conf") == "new");

  task.file->owner = "ferry-no-such-user";
  r = ferry::agent::run_file_task(task);
  CHECK(r.status == TaskStatus::kFailed);
  CHECK(r.error_info.find("ferry-no-such-user") != std::string::npos);

  task = file_task(tmp.path(), "other", "x");
  task.content = "!!";
  r = ferry::agent::run_file_task(task);
  CHECK(r.status == TaskStatus::kFailed);
  CHECK_FALSE(fs::exists(tmp.path() / "other"));
}
