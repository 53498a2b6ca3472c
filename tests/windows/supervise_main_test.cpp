// ferry-supervise.exe end to end under wine: a task directory written as the agent writes it
// (agent/task_files.hpp), `ferry-supervise.exe supervise --task-dir DIR` run as its own process,
// and the result it leaves in state.json. BAT through cmd.exe, parameters, a timeout and a
// cancel that end a tree with a detached part, POWERSHELL through a stand-in powershell.exe
// (wine's is a stub), SHELL refused.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "ferry/agent/agent_paths.hpp"
#include "ferry/agent/task_files.hpp"
#include "ferry/core/base64.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/task.hpp"
#include "ferry/platform/fs.hpp"
#include "ferry/platform/process_identity.hpp"
#include "windows/process.hpp"
#include "windows/win32.hpp"
#include "windows_processes.hpp"
#include "windows_test_support.hpp"

namespace {

using namespace ferry;
using platform::win32::UniqueHandle;
using std::chrono::milliseconds;
using std::chrono::seconds;
namespace win32 = platform::win32;

std::filesystem::path bin_dir() {
  auto exe = platform::current_executable();
  REQUIRE(exe.has_value());
  return exe->parent_path();
}

std::filesystem::path system_directory() {
  wchar_t system[MAX_PATH + 1] = {};
  const UINT n = ::GetSystemDirectoryW(system, MAX_PATH);
  REQUIRE(n > 0);
  return std::filesystem::path(std::wstring(system, n));
}

// A state directory of its own and one task in it, as the agent's runner lays it out.
class TaskDir {
 public:
  TaskDir() : state_(dir_ / "state"), work_(dir_ / "work") {
    REQUIRE(agent::prepare_state_dir(state_));
    REQUIRE(platform::ensure_directory(work_, platform::DirectoryAccess::kTraversable));
  }

  // A task of `type` running `script` in the work directory.
  Task task(CommandType type, const std::string& script, std::int64_t timeout = 30) const {
    Task t;
    t.invocation_task_id = "invt-" + std::to_string(++count_);
    t.invocation_id = "inv-test0001";
    t.command_id = "cmd-test0001";
    t.content = base64_encode(script);
    t.command_type = type;
    t.timeout_seconds = timeout;
    t.working_directory = win32::display(work_);
    return t;
  }

  agent::TaskPaths write(const Task& task) const {
    const auto paths = agent::task_paths(state_, task.invocation_task_id);
    REQUIRE(platform::ensure_directory(paths.dir, platform::DirectoryAccess::kTraversable));
    REQUIRE(agent::write_task_file(paths, task));
    return paths;
  }

  [[nodiscard]] const std::filesystem::path& state() const { return state_; }
  [[nodiscard]] const std::filesystem::path& work() const { return work_; }

 private:
  ferry::test::WindowsTempDir dir_{"ferry-supervise-main"};
  std::filesystem::path state_;
  std::filesystem::path work_;
  mutable int count_ = 0;
};

// ferry-supervise.exe on one task directory, as its own process.
struct Supervisor {
  UniqueHandle process;
  DWORD pid = 0;
};

Supervisor start_supervisor(const agent::TaskPaths& paths) {
  const std::string exe = win32::display(bin_dir() / "ferry-supervise.exe");
  const std::vector<std::string> argv{
      exe, "supervise", "--task-dir", win32::display(paths.dir), "--kill-grace-ms", "500"};
  std::wstring command = win32::command_line(argv);
  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  PROCESS_INFORMATION info{};
  REQUIRE(::CreateProcessW(win32::widen(exe).c_str(), command.data(), nullptr, nullptr, FALSE,
                           CREATE_NO_WINDOW, nullptr, nullptr, &startup, &info) != 0);
  const UniqueHandle thread(info.hThread);
  return Supervisor{UniqueHandle(info.hProcess), info.dwProcessId};
}

DWORD wait_for_exit(const Supervisor& supervisor, milliseconds limit) {
  REQUIRE(::WaitForSingleObject(supervisor.process.get(), static_cast<DWORD>(limit.count())) ==
          WAIT_OBJECT_0);
  DWORD code = 0;
  REQUIRE(::GetExitCodeProcess(supervisor.process.get(), &code) != 0);
  return code;
}

// Runs the task to its end; the supervisor exits 0 once state.json holds the result.
TaskResult run(const TaskDir& dir, const Task& task) {
  const auto paths = dir.write(task);
  const auto supervisor = start_supervisor(paths);
  CHECK(wait_for_exit(supervisor, seconds(60)) == 0);
  auto result = agent::read_final_result(paths);
  REQUIRE(result.has_value());
  return *result;
}

// Waits (at most 20 s) until the supervisor has recorded that the task runs.
void wait_until_running(const agent::TaskPaths& paths) {
  for (int i = 0; i < 400; ++i) {
    const auto state = agent::read_supervisor_state(paths);
    if (state && !state->finished && std::filesystem::exists(paths.state_file)) {
      return;
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  FAIL("the supervisor did not record a running task within 20 s");
}

// The stand-in in Windows PowerShell's place for the life of the object, the original back after.
class StandInPowerShell {
 public:
  StandInPowerShell()
      : target_(system_directory() / "WindowsPowerShell" / "v1.0" / "powershell.exe"),
        saved_(target_.parent_path() / "powershell.exe.ferry-test") {
    std::filesystem::create_directories(target_.parent_path());
    had_original_ = std::filesystem::exists(target_);
    if (had_original_) {
      std::filesystem::rename(target_, saved_);
    }
    std::filesystem::copy_file(bin_dir() / "ferry-test-powershell.exe", target_);
  }
  ~StandInPowerShell() {
    std::error_code ec;
    std::filesystem::remove(target_, ec);
    if (had_original_) {
      std::filesystem::rename(saved_, target_, ec);
    }
  }
  StandInPowerShell(const StandInPowerShell&) = delete;
  StandInPowerShell& operator=(const StandInPowerShell&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return target_; }

 private:
  std::filesystem::path target_;
  std::filesystem::path saved_;
  bool had_original_ = false;
};

}  // namespace

TEST_CASE("ferry-supervise.exe: a BAT task's output and exit code", "[supervise_main]") {
  const TaskDir dir;
  const auto result =
      run(dir, dir.task(CommandType::kBat, "@echo off\r\necho hello from bat\r\nexit /b 3\r\n"));
  INFO(result.error_info);
  CHECK(result.status == TaskStatus::kFailed);
  CHECK(result.exit_code == 3);
  CHECK(result.output == "hello from bat\r\n");
  CHECK(result.output_size == result.output.size());
  CHECK_FALSE(result.exec_start_time.empty());
}

TEST_CASE("ferry-supervise.exe: BAT parameters, working directory and environment",
          "[supervise_main]") {
  const TaskDir dir;
  auto task = dir.task(CommandType::kBat,
                       "@echo off\r\necho name={{name}}\r\ncd\r\necho root=%SystemRoot%\r\n");
  task.enable_parameter = true;
  task.parameters = {{"name", "big world"}};
  const auto result = run(dir, task);
  INFO(result.error_info);
  CHECK(result.status == TaskStatus::kSuccess);
  CHECK(result.exit_code == 0);
  const std::string root = win32::display(system_directory().parent_path());
  CHECK(result.output ==
        "name=big world\r\n" + win32::display(dir.work()) + "\r\nroot=" + root + "\r\n");
}

TEST_CASE("ferry-supervise.exe: without a WorkingDirectory a task runs in <state>\\workdir",
          "[supervise_main]") {
  const TaskDir dir;
  auto task = dir.task(CommandType::kBat, "@cd\r\n");
  task.working_directory.clear();
  const auto result = run(dir, task);
  INFO(result.error_info);
  CHECK(result.status == TaskStatus::kSuccess);
  CHECK(result.output == win32::display(dir.state() / "workdir") + "\r\n");
}

TEST_CASE("ferry-supervise.exe: a timeout ends the task's tree, a start /b child too",
          "[supervise_main]") {
  const TaskDir dir;
  const auto since = ferry::test::filetime_now();
  const auto begin = std::chrono::steady_clock::now();
  const auto result = run(dir, dir.task(CommandType::kBat,
                                        "@echo off\r\nstart /b ping -n 30 127.0.0.1 >NUL\r\n"
                                        "echo started\r\nping -n 30 127.0.0.1 >NUL\r\n",
                                        2));
  INFO(result.error_info);
  CHECK(result.status == TaskStatus::kTimeout);
  CHECK(result.exit_code == -1);
  CHECK(result.output == "started\r\n");
  CHECK(std::chrono::steady_clock::now() - begin < seconds(15));
  const auto left = ferry::test::pings_since(since);
  CHECK(left.empty());
  ferry::test::terminate_all(left);
}

TEST_CASE("ferry-supervise.exe: cancel_process ends the task TERMINATED", "[supervise_main]") {
  const TaskDir dir;
  const auto since = ferry::test::filetime_now();
  const auto paths = dir.write(dir.task(CommandType::kBat,
                                        "@echo off\r\nstart /b ping -n 30 127.0.0.1 >NUL\r\n"
                                        "ping -n 30 127.0.0.1 >NUL\r\n"));
  const auto supervisor = start_supervisor(paths);
  wait_until_running(paths);
  const auto identity = platform::identify_process(static_cast<int>(supervisor.pid));
  REQUIRE(identity.has_value());
  REQUIRE(platform::cancel_process(*identity, platform::CancelLevel::kGraceful));
  CHECK(wait_for_exit(supervisor, seconds(20)) == 0);
  const auto result = agent::read_final_result(paths);
  REQUIRE(result.has_value());
  INFO(result->error_info);
  CHECK(result->status == TaskStatus::kTerminated);
  CHECK(result->error_info == "the task was cancelled");
  const auto left = ferry::test::pings_since(since);
  CHECK(left.empty());
  ferry::test::terminate_all(left);
}

TEST_CASE("ferry-supervise.exe: POWERSHELL runs Windows PowerShell with -File and UTF-8",
          "[supervise_main]") {
  const TaskDir dir;
  const StandInPowerShell powershell;
  auto task =
      dir.task(CommandType::kPowerShell, "Write-Output \"hello {{who}}\"\r\n# exit-code: 4\r\n");
  task.enable_parameter = true;
  task.parameters = {{"who", "there"}};
  const auto result = run(dir, task);
  INFO(result.error_info);
  CHECK(result.status == TaskStatus::kFailed);
  CHECK(result.exit_code == 4);
  CHECK(result.output == "stand-in powershell ran\r\n");  // a text-mode stdout
  // What it was given: the switches, the script's path (.ps1, under the task's directory), and
  // the script with its UTF-8 prologue and parameters substituted.
  const std::string record = ferry::test::file_bytes(dir.work() / "powershell-record.txt");
  const auto paths = agent::task_paths(dir.state(), task.invocation_task_id);
  const std::string script_path =
      win32::display(paths.script_dir / (task.invocation_task_id + ".ps1"));
  CHECK(
      record.starts_with("-NoLogo\n-NoProfile\n-NonInteractive\n-ExecutionPolicy\nBypass\n"
                         "-File\n" +
                         script_path + "\n--- script\n\xEF\xBB\xBF"));
  CHECK(record.find("[Console]::OutputEncoding") != std::string::npos);
  CHECK(record.ends_with("\r\nWrite-Output \"hello there\"\r\n# exit-code: 4\r\n"));
}

TEST_CASE("ferry-supervise.exe: SHELL is refused on Windows with a clear start failure",
          "[supervise_main]") {
  const TaskDir dir;
  const auto result = run(dir, dir.task(CommandType::kShell, "#!/bin/sh\necho no\n"));
  CHECK(result.status == TaskStatus::kStartFailed);
  CHECK(result.error_info.starts_with(std::string(codes::kAgentUnsupportedCommandType) +
                                      ": SHELL commands run on Linux only"));
  CHECK(result.output.empty());
}

TEST_CASE("ferry-supervise.exe: another user than the agent's is refused", "[supervise_main]") {
  const TaskDir dir;
  auto task = dir.task(CommandType::kBat, "@echo no\r\n");
  task.username = "someone-else";
  const auto result = run(dir, task);
  CHECK(result.status == TaskStatus::kStartFailed);
  CHECK(result.error_info.starts_with(std::string(codes::kInvalidUsername) +
                                      ": cannot run as user 'someone-else'"));
}
