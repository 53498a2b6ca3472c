// Running one task's program to its end as its supervisor: the process-tree owner that the
// per-task supervisor process (agent/supervisor.cpp) calls. The implementation is per OS
// (linux/supervise.cpp: child subreaper, own session, per-task cgroup, signalfd, output pipe;
// windows/supervise.cpp: a Job Object per task, an output pipe read with overlapped reads).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/platform/users.hpp"

namespace ferry::platform {

struct SuperviseSpec {
  std::vector<std::string> argv;  // argv[0]: absolute path of the program
  std::vector<std::string> env;   // the complete environment, KEY=VALUE
  // Windows: the command line as CreateProcessW gets it, for a program that reads its own by
  // rules other than the C runtime's (cmd.exe: batch_invocation()); argv[0] is still the program.
  // Empty: argv quoted by the C runtime's rules. Not used on POSIX.
  std::string command_line;
  std::string working_directory;  // entered after the switch to `run_as`
  // When set, checked readable as the task's user right before exec, so that a state
  // directory the user cannot traverse is a clear start failure, not an interpreter error.
  std::string script_path;
  // The user the program runs as, with all of its groups; nullopt: this process's identity.
  // Windows, for now: only this process's own user (by name), else kStartFailed.
  std::optional<UserInfo> run_as;
  std::string output_path;  // spool file (created 0600): stdout+stderr merged
  // The spool keeps the first output_max_bytes of the output (0: all of it). The rest is still
  // read (the program never blocks on it) and counted in output_bytes, and its last
  // output_tail_bytes come back in SuperviseOutcome::output_tail. Windows: the same, counted
  // after the output's lines that are not UTF-8 were converted from the OEM code page.
  std::uint64_t output_max_bytes = 0;
  std::size_t output_tail_bytes = 0;
  std::chrono::milliseconds timeout{60000};
  std::chrono::milliseconds kill_grace{3000};  // graceful, then forced after this
  bool kill_process_tree = true;               // false: timeout/cancel kill the main process only
  std::chrono::milliseconds drain_after_exit{1000};  // output read after the main process ends
  // Holds the whole tree in a per-task container that the OS can kill at once, where there is
  // one (Linux: a cgroup v2 leaf under ferry's, where a writable hierarchy exists). Without it the
  // tree is still found and killed, by parentage. Windows always uses a Job Object: it is how
  // the tree is found at all.
  bool contain_tree = true;
  std::string container_name;  // unique per task, e.g. the task id
  // The program's stdin, opened read-only before the switch to `run_as`; empty: the null device.
  std::string stdin_path;
  // Called once, first thing, when a timeout or cancel begins to kill the program: for a program
  // that is only a client of what really runs (a container runtime's exec), it stops that too.
  // `whole_tree` is kill_process_tree. It blocks the supervision while it runs: keep it bounded.
  std::function<void(bool whole_tree)> stop_inside;
  // Called once the program runs (its exec succeeded), with its pid.
  std::function<void(int pid)> on_started;
};

struct SuperviseOutcome {
  enum class Kind {
    kExited,       // the main process exited; exit_code is its status
    kSignaled,     // killed by a signal it did not ask for; exit_code is 128 + signal.
                   // Windows: ended with a fault status (0xC0000005), exit_code that status
    kTimedOut,     // the deadline passed; the tree (or main process) was killed
    kCancelled,    // a cancel reached the supervisor (POSIX: SIGTERM, SIGINT, SIGHUP; Windows:
                   // its cancel event, Ctrl+C, Ctrl+Break); same kill
    kStartFailed,  // the program never ran; error_code/error say why
  };
  Kind kind = Kind::kStartFailed;
  int exit_code = -1;
  std::string error_code;      // API error code for kStartFailed
  std::string error;           // e.g. "working directory '/x' cannot be entered as user 'bob': ..."
  uint64_t output_bytes = 0;   // the output's size
  uint64_t spooled_bytes = 0;  // how much of it the spool holds (its first bytes)
  // With output_max_bytes exceeded: the output's last bytes (at most output_tail_bytes) that are
  // not in the spool. Empty otherwise.
  std::string output_tail;
  std::chrono::system_clock::time_point start_time;
  std::chrono::system_clock::time_point end_time;
  bool contained = false;  // the tree was in a container
};

// Runs spec.argv to its end. Must be called from a process that does nothing else (the
// supervisor). On Linux it makes itself a child subreaper and takes SIGTERM/SIGINT/SIGHUP/SIGCHLD.
// A cancel signal that arrives before the program starts ends it kCancelled without starting.
// Those four signals stay blocked when it returns, so that a late cancel cannot kill the
// supervisor before it records the outcome. It blocks them only in the calling thread: a
// supervisor with other threads must block them before creating any. It reaps every child of
// the process (waitpid(-1)) and, on ProcessTree kills, signals all of the process's
// descendants. For kTimedOut and kCancelled, exit_code is the main process's status as for
// kExited/kSignaled (e.g. 143) when it ended, else -1; the API reports -1 for both.
// On Windows exit codes are the process's 32 bits read as a signed int (0xC0000005 is
// -1073741819, as .NET and PowerShell show it), a cancel is the event of
// process_identity.hpp's cancel_process(), and the graceful step of a kill is Ctrl+Break to the
// task's process group where the supervisor has a console the task shares (else none: the job is
// terminated at once; a kill of the main process only has none either).
SuperviseOutcome run_supervised(const SuperviseSpec& spec);

// Holds back what run_supervised() takes (cancels and the end of children; POSIX: SIGTERM,
// SIGINT, SIGHUP, SIGCHLD blocked; Windows: the cancel event made and the console handler
// installed). Called first thing in a supervisor's main: a cancel that arrives during start-up
// then waits for it instead of ending the process.
void block_supervisor_signals();

// The ErrorInfo of a kSignaled outcome: "the process was killed by signal 9 (SIGKILL)"; Windows:
// "the process ended with status 0xC0000005 (STATUS_ACCESS_VIOLATION)".
std::string describe_abnormal_exit(int exit_code);

// Removes the per-task containers that are empty now (a task that exited normally may have
// left background processes in its container, which ended since), but those whose name (the
// task id) `keep` accepts: a task that is starting has an empty container until its program is
// put in it. Called by the daemon at start-up and as tasks finish. Returns how many went
// (Windows: always 0; a Job Object goes with its last process).
int remove_empty_task_containers(const std::function<bool(std::string_view name)>& keep = {});

}  // namespace ferry::platform
