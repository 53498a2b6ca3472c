// The one way tests and benchmarks start a program: fork and exec with a prepared argv and
// environment, stdout and stderr to files or stdout on a pipe, then signal, wait with a limit
// and collect what it left. Compiled once into ferry_test_support (tests/CMakeLists.txt).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ferry::test {

// What an ended process left.
struct ProcessResult {
  int exit_code = -1;  // exit status, or 128 + signal
  std::string out;
  std::string err;
  long max_rss_kib = 0;  // ru_maxrss of the process and its waited-for descendants
};

// Every member has a default, so that `{.argv = {...}}` names only what a caller sets.
struct LaunchOptions {
  // argv[0] is the program's path; it is not looked up on PATH.
  std::vector<std::string> argv = {};
  // "K=V" entries added to the environment; each replaces an inherited K.
  std::vector<std::string> env = {};
  // Start from an empty environment: the child gets `env` and nothing of this process's.
  bool clean_env = false;
  // The child's working directory; empty: this process's.
  std::filesystem::path cwd = {};
  // stdout and stderr go to these files (created or truncated, mode 0600); the same path for
  // both gives one file in the order written; an empty path is /dev/null. stdin is /dev/null.
  std::filesystem::path out_file = {};
  std::filesystem::path err_file = {};
  // stdout on a pipe instead of `out_file`, read as it comes (read_until, wait).
  bool out_pipe = false;
};

// A started child process. The destructor SIGKILLs it if it still runs and reaps it, so a test
// that fails half-way leaves nothing behind; the child also gets SIGKILL when the thread that
// started it ends (PR_SET_PDEATHSIG), so a test binary that crashes leaves nothing either.
// Not thread-safe: one thread owns a Process.
class Process {
 public:
  // Starts the program; throws std::runtime_error when it cannot fork. A program that cannot
  // be executed ends with exit code 127 (126: its output files or directory failed).
  explicit Process(LaunchOptions options);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  // False once it has ended (it is then reaped; its exit code is kept).
  [[nodiscard]] bool running();
  void signal(int sig) const;
  // Waits up to `limit` for the end: the exit code, or nullopt while it still runs.
  std::optional<int> wait_for(std::chrono::milliseconds limit);
  // Waits for the end (the pipe is read meanwhile), SIGKILLs it once `limit` has passed, and
  // returns what it left.
  ProcessResult wait(std::chrono::milliseconds limit = std::chrono::minutes(10));
  // `sig`, then SIGKILL if it has not ended within `grace`: the exit code.
  int stop(int sig, std::chrono::milliseconds grace);

  // With out_pipe: reads stdout until `text` is in it or `limit` passes; true when it is.
  bool read_until(const std::string& text, std::chrono::milliseconds limit);
  // With out_pipe: stdout as read so far.
  [[nodiscard]] const std::string& piped_out() const { return piped_; }

 private:
  // One poll of the pipe and of the end of the process: >0 bytes read; 0 nothing within
  // `limit`, or the process ended with nothing waiting; -1 the pipe is at its end.
  int read_some(std::chrono::milliseconds limit);
  void reap(int options);

  LaunchOptions options_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int out_fd_ = -1;
  std::string piped_;
  std::optional<int> exit_code_;
  long max_rss_kib_ = 0;
};

// Stops the process `p` holds (Process::stop) and lets it go: the exit code, -1 when it holds
// none. For the servers and daemons that a test stops and starts again.
int stop_and_release(std::unique_ptr<Process>& p, int sig, std::chrono::milliseconds grace);

// Runs the program to its end (SIGKILLed after `limit`).
ProcessResult run_process(LaunchOptions options,
                          std::chrono::milliseconds limit = std::chrono::minutes(10));

// The whole file; "" when it cannot be read.
std::string read_file(const std::filesystem::path& path);

// Writes `text` as the whole file, byte for byte.
void write_file(const std::filesystem::path& path, const std::string& text);

}  // namespace ferry::test
