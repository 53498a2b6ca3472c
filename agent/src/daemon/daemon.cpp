// The daemon wires its parts, each in its own file here:
//   ServerLink             push socket, reconnects, polling while it is down
//   Heartbeat              the Heartbeat action on its interval
//   Admission              DescribeTasks: tasks taken once, cancels, refusals
//   Retention              the journal's caps, checked before a task is taken
//   HeldTasks              the tasks held and the runner: start, end, cancel, forget
//   ReportQueue            per task reports, in order, retried with backoff
//   LiveOutput             UploadTaskLog pieces while tasks run
//   OutputUploads          a finished task's complete output to its bucket or the server
//   Recovery               the journal scan at start-up
//   ReattachedSupervisors  supervisors of an earlier agent, watched until they end
// and owns the one shutdown path.
#include "ferry/agent/daemon.hpp"

#include <spdlog/spdlog.h>

#include "admission.hpp"
#include "daemon_context.hpp"
#include "ferry/platform/detached_process.hpp"
#include "ferry/platform/environment.hpp"
#include "ferry/platform/fs.hpp"
#include "ferry/platform/process_identity.hpp"
#include "heartbeat.hpp"
#include "held_tasks.hpp"
#include "live_output.hpp"
#include "output_uploads.hpp"
#include "reattached_supervisors.hpp"
#include "recovery.hpp"
#include "report_queue.hpp"
#include "retention.hpp"
#include "server_link.hpp"

namespace ferry::agent {

DaemonServices make_daemon_services(platform::EventLoop& loop, const DaemonOptions& options,
                                    std::unique_ptr<ControlPlane> control_plane) {
  RunnerOptions runner = options.runner;
  runner.state_dir = options.state_dir;
  // The task directory is the journal entry: it goes once the server has the finish.
  runner.keep_task_dirs = true;
  const auto log = options.state_dir / "power-command.log";
  return DaemonServices{std::move(control_plane), std::make_unique<TaskRunner>(loop, runner),
                        make_system_clock(loop), make_object_client(loop, options.objects),
                        [&loop, log](const std::vector<std::string>& argv) {
                          start_detached_command(loop, argv, log);
                        }};
}

void start_detached_command(platform::EventLoop& loop, const std::vector<std::string>& argv,
                            const std::filesystem::path& log) {
  if (argv.empty()) {
    spdlog::error("power command: none configured");
    return;
  }
  auto program = argv.front().starts_with('/')
                     ? Expected<std::string>(argv.front())
                     : platform::find_program(argv.front(), platform::kSanePath);
  if (!program) {
    spdlog::error("power command: {} not found on {}", argv.front(), platform::kSanePath);
    return;
  }
  std::error_code ignored;
  std::filesystem::remove(log, ignored);
  auto log_file = platform::create_file(log, platform::FileAccess::kPrivate, "power command log");
  if (!log_file) {
    spdlog::error("power command: {}", log_file.error().message);
    return;
  }
  const std::vector<std::string> args(argv.begin() + 1, argv.end());
  auto process = platform::DetachedProcess::start(loop, *program, args, *log_file);
  if (!process) {
    spdlog::error("power command: {}", process.error().message);
    return;
  }
  spdlog::info("power command {} started (pid {}; its errors go to {})", *program,
               (*process)->identity().pid, log.string());
  // Reaped on the loop; the handle lives until then.
  std::shared_ptr<platform::DetachedProcess> held(std::move(*process));
  held->async_wait([held, program = *program](int exit_code) {
    if (exit_code != 0) {
      spdlog::error("power command {} exited with {}", program, exit_code);
    }
  });
}

struct Daemon::Impl {
  // The services first: every part below uses them.
  std::unique_ptr<ControlPlane> server;
  std::unique_ptr<Clock> clock;
  std::unique_ptr<ObjectClient> objects;
  std::function<void(const std::vector<std::string>&)> run_command;
  DaemonContext ctx;
  ReportQueue reports;
  HeldTasks tasks;
  Retention retention;
  Admission admission;
  LiveOutput live;
  OutputUploads uploads;
  ReattachedSupervisors reattached;
  Recovery recovery;
  ServerLink link;
  Heartbeat heartbeat;
  std::unique_ptr<Timer> flush_timer;
  std::unique_ptr<Timer> stopped_timer;
  std::unique_ptr<Timer> report_check_timer;
  int exit_code = 0;
  bool stop_report_pending = false;  // ReportAgentStop sent and not answered yet
  std::function<void()> on_stopped;
  std::function<void()> on_stopping;

  Impl(DaemonOptions options, Identity identity, DaemonServices services)
      : server(std::move(services.control_plane)),
        clock(std::move(services.clock)),
        objects(std::move(services.objects)),
        run_command(std::move(services.run_command)),
        ctx(std::move(options), std::move(identity), *server, *clock),
        reports(
            ctx,
            [this](const std::string& id, const Report& report, const CallResult& r) {
              tasks.report_answered(id, report, r);
            },
            [this] { maybe_finish_stop(); }),
        tasks(ctx, reports, std::move(services.runner),
              HeldTasks::Hooks{
                  [this] { live.arm(); },
                  [this](const std::string& id) { admission.note_forgotten(id); },
                  [this](const HeldTask& t, const TaskResult& r) { return uploads.plan(t, r); },
                  [this](const std::string& id) { uploads.start(id); },
                  [this](const std::string& id, PowerAction action) {
                    run_power_command(id, action);
                  }}),
        retention(ctx, tasks),
        admission(ctx, tasks, retention),
        live(ctx, tasks, reports),
        uploads(ctx, tasks, objects.get()),
        reattached(ctx, tasks),
        recovery(ctx, tasks, reports, reattached, live, uploads),
        link(ctx, [this] { admission.describe(); }),
        heartbeat(ctx),
        flush_timer(clock->make_timer()),
        stopped_timer(clock->make_timer()),
        report_check_timer(clock->make_timer()) {
    ctx.fatal = [this](const std::string& why) {
      spdlog::error("{}", why);
      exit_code = 2;
      stop();
    };
  }

  void run_power_command(const std::string& id, PowerAction action) {
    const auto& argv =
        action == PowerAction::kReboot ? ctx.options.reboot_command : ctx.options.poweroff_command;
    if (!run_command) {
      spdlog::error("task {}: {} asked for, and this agent has no way to run it", id,
                    to_string(action));
      return;
    }
    run_command(argv);
  }

  void start(std::function<void()> done) {
    on_stopped = std::move(done);
    spdlog::info("agent {} starting (server {})", ctx.identity.instance_id,
                 ctx.identity.server_url);
    ctx.boot_id = platform::boot_id();
    if (ctx.options.policy.restricts()) {
      spdlog::info("local policy: in force (docs/configuration.md, \"Local policy\")");
    }
    recovery.run();
    tasks.remove_empty_containers();
    heartbeat.start();
    link.start();
    admission.describe();
    check_reports_later();
  }

  void check_reports_later() {
    report_check_timer->start(ctx.options.report_check_interval, [this] {
      if (ctx.phase == DaemonPhase::kRunning) {
        tasks.requeue_stranded_finishes();
        check_reports_later();
      }
    });
  }

  void stop() {
    if (ctx.phase != DaemonPhase::kRunning) {
      return;
    }
    ctx.phase = DaemonPhase::kStopping;
    if (on_stopping) {
      on_stopping();
    }
    spdlog::info("stopping: no new tasks; {} task(s) in progress stay with their supervisors",
                 tasks.in_progress());
    heartbeat.stop();
    link.stop();
    // The server shows the instance Offline at once instead of after its online window. A
    // fatal stop (refused credentials) has nothing to tell. Bounded by shutdown_flush.
    if (exit_code == 0) {
      stop_report_pending = true;
      server->call("ReportAgentStop", nlohmann::json::object(),
                   ctx.guard([this](const CallResult& r) {
                     if (!r.ok()) {
                       spdlog::info("ReportAgentStop: {}", r.describe());
                     }
                     stop_report_pending = false;
                     maybe_finish_stop();
                   }));
    }
    // A last read of the live output, so that what the tasks printed so far is not held back.
    live.collect();
    flush_timer->start(ctx.options.shutdown_flush, [this] { finish_stop(); });
    maybe_finish_stop();
  }

  void maybe_finish_stop() {
    if (ctx.phase == DaemonPhase::kStopping && reports.idle() && !stop_report_pending) {
      finish_stop();
    }
  }

  void finish_stop() {
    if (ctx.stopped()) {
      return;
    }
    ctx.phase = DaemonPhase::kStopped;
    if (const std::size_t unsent = reports.unsent(); unsent > 0) {
      spdlog::warn("stopping with {} report(s) not delivered", unsent);
    }
    reports.stop();
    flush_timer->cancel();
    report_check_timer->cancel();
    live.stop();
    // Uploads stop where they stand; the journal has them for the next agent.
    uploads.stop();
    if (objects) {
      objects->stop();
    }
    reattached.stop();
    heartbeat.stop();
    link.stop();
    // Detaches from the supervisors: running tasks go on.
    tasks.detach_runner();
    server->shutdown();
    spdlog::info("stopped");
    if (on_stopped) {
      stopped_timer->start(std::chrono::milliseconds(0), std::move(on_stopped));
    }
  }
};

Daemon::Daemon(DaemonOptions options, Identity identity, DaemonServices services)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(identity), std::move(services))) {
  impl_->ctx.owner = impl_;
}

Daemon::~Daemon() {
  impl_->finish_stop();
}

void Daemon::start(std::function<void()> on_stopped) {
  impl_->start(std::move(on_stopped));
}

void Daemon::stop() {
  impl_->stop();
}

void Daemon::reload(const DaemonOptions& next) {
  DaemonOptions& o = impl_->ctx.options;
  o.poll_interval = next.poll_interval;
  o.live_output_interval = next.live_output_interval;
  o.reconnect_max = next.reconnect_max;
  o.retry_max = next.retry_max;
  o.shutdown_flush = next.shutdown_flush;
  o.journal_max_tasks = next.journal_max_tasks;
  o.journal_max_bytes = next.journal_max_bytes;
  o.multipart_threshold = next.multipart_threshold;
  o.part_size = next.part_size;
  o.upload_min_window = next.upload_min_window;
  o.poweroff_command = next.poweroff_command;
  o.reboot_command = next.reboot_command;
  o.runner.max_concurrent = next.runner.max_concurrent;
  o.runner.kill_grace = next.runner.kill_grace;
  impl_->tasks.set_runner_limits(o.runner.max_concurrent, o.runner.kill_grace);
  if (o.policy != next.policy) {
    // The drop-ins are not in the reload's report of changed keys: said here.
    spdlog::info("local policy: changed; tasks taken from now on are judged by the new one{}",
                 next.policy.restricts() ? "" : " (no rules)");
  }
  o.policy = next.policy;
  o.audit_max_bytes = next.audit_max_bytes;
  o.audit_keep_files = next.audit_keep_files;
  impl_->ctx.set_audit_limits(o.audit_max_bytes, o.audit_keep_files);
}

std::string Daemon::status_line() const {
  const std::size_t running = impl_->tasks.in_progress();
  return impl_->link.describe() + ", " + std::to_string(running) +
         (running == 1 ? " task running" : " tasks running");
}

void Daemon::on_status_change(std::function<void()> changed) {
  impl_->ctx.status_changed = changed ? std::move(changed) : [] {};
}

void Daemon::on_stopping(std::function<void()> stopping) {
  impl_->on_stopping = std::move(stopping);
}

int Daemon::exit_code() const {
  return impl_->exit_code;
}

std::size_t Daemon::tasks_in_progress() const {
  return impl_->tasks.size();
}

}  // namespace ferry::agent
