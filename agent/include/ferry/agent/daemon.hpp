// The agent daemon's logic: the push socket and polling, DescribeTasks, the task runner, the
// reports of every task (start, live output pieces, finish) in order and retried, heartbeats,
// and the one shutdown path. Its parts are in src/daemon/ (daemon.cpp says which does what). It
// reaches the server, its tasks and time only through ControlPlane, Runner and Clock, and runs
// on one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ferry/agent/audit_log.hpp"
#include "ferry/agent/clock.hpp"
#include "ferry/agent/control_plane.hpp"
#include "ferry/agent/identity.hpp"
#include "ferry/agent/local_policy.hpp"
#include "ferry/agent/object_client.hpp"
#include "ferry/agent/runner.hpp"
#include "ferry/agent/task_runner.hpp"
#include "ferry/platform/event_loop.hpp"

namespace ferry::agent {

// Daemon::reload changes, of these, the ones marked "reloadable" (the rest take effect at the next
// start); a timer already armed keeps its old delay until it fires.
struct DaemonOptions {
  std::filesystem::path state_dir;
  // How its tasks run; the runner's state_dir and keep_task_dirs are the daemon's own (above,
  // and kept: a task directory is the journal's until the server has the finish).
  RunnerOptions runner;
  // DescribeTasks while the push socket is down, every poll_interval with +-25% jitter.
  // Reloadable, as are the durations, the journal's caps, the upload sizes and window and the
  // power commands below, and the runner's max_concurrent and kill_grace.
  std::chrono::milliseconds poll_interval{15'000};
  // Live output: at most one UploadTaskLog per task per interval (the protocol says a second).
  std::chrono::milliseconds live_output_interval{1000};
  // Push reconnects and report retries: capped exponential backoff with jitter.
  std::chrono::milliseconds reconnect_min{1000};
  std::chrono::milliseconds reconnect_max{60'000};
  std::chrono::milliseconds retry_min{500};
  std::chrono::milliseconds retry_max{30'000};
  // A report with no answer this long counts as failed and is sent again (report_queue.hpp):
  // the control plane's request and connect timeouts (30 s, 10 s) and a margin.
  std::chrono::milliseconds report_answer_deadline{45'000};
  // How often the daemon checks that every finished task's result is on its way
  // (HeldTasks::requeue_stranded_finishes).
  std::chrono::milliseconds report_check_interval{30'000};
  // How long SIGTERM waits for pending reports before the agent exits anyway.
  std::chrono::milliseconds shutdown_flush{5000};
  std::chrono::seconds default_heartbeat{60};
  // The journal's retention cap (journal.hpp, apply_retention): tasks held and bytes on disk.
  std::size_t journal_max_tasks = 10'000;
  std::uint64_t journal_max_bytes = 1ULL << 30;
  std::string version;  // sent in Heartbeat
  // The machine's boot id (platform::boot_id, process_identity.hpp), sent in every Heartbeat so
  // that the server sees reboots; "" sends none.
  std::string boot_id;
  // The complete output of a task with an OutputCOSBucketUrl goes to that bucket, and one larger
  // than the report's excerpt goes to the server's output store, before the finish is reported:
  // one PutObject up to multipart_threshold, else parts of part_size (grown so that one upload
  // has at most kMaxUploadParts parts); pieces of server_output_piece to the server.
  std::uint64_t multipart_threshold = 64ULL << 20;
  std::uint64_t part_size = 32ULL << 20;
  std::size_t server_output_piece = 256U << 10;
  // The upload must end within the task's Timeout (counted from its start, as seed 003 says),
  // but gets at least this long after the task ended (a TIMEOUT task's output is the one most
  // worth having).
  std::chrono::milliseconds upload_min_window{30'000};
  ObjectClientOptions objects;
  // What runs after a host task's exit code 193 (power off) or 194 (reboot), once its finish is
  // reported (journal.hpp, PowerAction): a program (looked up on the sane PATH unless absolute)
  // and its arguments, started detached.
  std::vector<std::string> poweroff_command{"systemctl", "poweroff"};
  std::vector<std::string> reboot_command{"systemctl", "reboot"};
  // What this machine accepts (local_policy.hpp), checked before a task is taken. Reloadable.
  LocalPolicy policy;
  // The audit log (audit_log.hpp): its size before rotation and the rotated files kept.
  // Reloadable.
  std::uint64_t audit_max_bytes = kDefaultAuditMaxBytes;
  std::size_t audit_keep_files = kDefaultAuditKeepFiles;
};

inline constexpr std::uint64_t kMaxUploadParts = 1000;

// What the daemon runs on: the real ones from make_daemon_services(), fakes in tests.
struct DaemonServices {
  std::unique_ptr<ControlPlane> control_plane;
  std::unique_ptr<Runner> runner;
  std::unique_ptr<Clock> clock;
  std::unique_ptr<ObjectClient> objects;  // null: no upload to a bucket works
  // Starts a power command (DaemonOptions::poweroff_command / reboot_command) and returns at
  // once; null: it is logged and not run.
  std::function<void(const std::vector<std::string>& argv)> run_command;
};

// Starts `argv` detached on `loop` (its stderr in `log`, replaced), logging failures; the
// real DaemonServices::run_command.
void start_detached_command(platform::EventLoop& loop, const std::vector<std::string>& argv,
                            const std::filesystem::path& log);

// The system clock, a TaskRunner as options.runner says and the libcurl object client, on
// `loop`.
DaemonServices make_daemon_services(platform::EventLoop& loop, const DaemonOptions& options,
                                    std::unique_ptr<ControlPlane> control_plane);

class Daemon {
 public:
  Daemon(DaemonOptions options, Identity identity, DaemonServices services);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Starts work: heartbeat, push socket, the first DescribeTasks. `on_stopped` runs once when
  // the daemon has stopped, after stop() or a fatal error (the instance was deleted).
  void start(std::function<void()> on_stopped);
  // The one shutdown path: stop taking tasks, close the socket, send what is pending within
  // shutdown_flush, leave running tasks to their supervisors, then stop.
  void stop();

  // A configuration read again (SIGHUP): takes the reloadable options (DaemonOptions) from
  // `options`, the rest is ignored.
  void reload(const DaemonOptions& options);

  // What the agent is doing, in one line for the service manager: "connected to URL, 2 tasks
  // running", "reconnecting: why, 0 tasks running".
  [[nodiscard]] std::string status_line() const;
  // `changed` runs (on the loop) whenever status_line() may have changed.
  void on_status_change(std::function<void()> changed);
  // `stopping` runs (on the loop) once, when the daemon begins to stop, for whatever reason: a
  // stop() or a fatal error.
  void on_stopping(std::function<void()> stopping);

  // 0 after a normal stop; non-zero after a fatal error.
  [[nodiscard]] int exit_code() const;
  [[nodiscard]] std::size_t tasks_in_progress() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ferry::agent
