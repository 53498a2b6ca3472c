// ferry-agent: the daemon (no subcommand), `register` once per machine, `run-task` for one
// task, and the per-task `supervise` mode that the agent starts itself. The daemon runs as a
// service when the service manager started it (a Windows service: platform/service.hpp), and
// `service install|uninstall` registers it with Windows' service manager.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "ferry/agent/agent_paths.hpp"
#include "ferry/agent/commands.hpp"
#include "ferry/agent/run_task.hpp"
#include "ferry/agent/supervisor.hpp"
#include "ferry/core/config_layers.hpp"
#include "ferry/core/task.hpp"
#include "ferry/core/time.hpp"
#include "ferry/platform/fs.hpp"
#include "ferry/platform/logging.hpp"
#include "ferry/platform/service.hpp"
#include "ferry/platform/supervise.hpp"

namespace {

// The service's key name (sc query ferry-agent); the dispatcher is told the same.
constexpr std::string_view kServiceName = "ferry-agent";

// What the daemon is started with on its command line (flags over the configuration).
struct DaemonFlags {
  std::string config_file;
  std::string state_dir;
  std::string log_level;
};

// The daemon, as a console program or as a service's body (run_service_or_console).
int daemon_main(const DaemonFlags& flags, ferry::platform::LogOptions log) {
  // Defaults < the file < FERRY_* variables < flags; read the same way again on SIGHUP.
  ferry::agent::AgentConfigSources sources;
  if (!flags.config_file.empty()) {
    sources.file = flags.config_file;
  }
  sources.environment = ferry::config::process_environment();
  if (!flags.state_dir.empty()) {
    sources.flags.emplace_back("state_dir", flags.state_dir);
  }
  if (!flags.log_level.empty()) {
    sources.flags.emplace_back("log_level", flags.log_level);
  }
  auto config = ferry::agent::resolve_agent_config(sources);
  if (!config) {
    spdlog::error("{}", config.error().message);
    return 1;
  }
  log.level = config->log_level;
  log.file = config->log_file;
  log.max_file_bytes = config->log_max_size_mib << 20;
  log.max_files = config->log_max_files;
  if (log.file.empty() && ferry::platform::in_service_mode()) {
    // A Windows service has no stderr: its log is a file in the state dir unless log_file
    // names one.
    if (auto s = ferry::agent::prepare_state_dir(config->state_dir); !s) {
      spdlog::error("{}", s.error().message);
      return 1;
    }
    log.file = config->state_dir / "ferry-agent.log";
  }
  if (auto s = ferry::platform::setup_logging(log); !s) {
    spdlog::error("{}", s.error().message);
    return 1;
  }
  ferry::agent::DaemonCommandOptions daemon;
  daemon.config_file =
      ferry::config::choose_config_file(sources.file, sources.default_file).value_or("");
  daemon.load_config = [sources] { return ferry::agent::resolve_agent_config(sources); };
  return ferry::agent::daemon_command(*config, daemon);
}

// `ferry-agent service install`: this binary, started as the daemon with the given --config and
// --state-dir (made absolute: a service starts in the system directory).
int install_service_command(const DaemonFlags& flags) {
  auto self = ferry::platform::current_executable();
  if (!self) {
    std::fprintf(stderr, "ferry-agent service install: %s\n", self.error().message.c_str());
    return 1;
  }
  ferry::platform::ServiceDefinition service;
  service.name = std::string(kServiceName);
  service.display_name = "Ferry agent";
  service.description = "Runs the commands that ferry-server dispatches to this machine";
  service.program = *self;
  for (const auto& [flag, value] :
       {std::pair("--config", &flags.config_file), std::pair("--state-dir", &flags.state_dir)}) {
    if (!value->empty()) {
      service.args.emplace_back(flag);
      service.args.push_back(std::filesystem::absolute(*value).string());
    }
  }
  if (!flags.log_level.empty()) {
    service.args.emplace_back("--log-level");
    service.args.push_back(flags.log_level);
  }
  if (auto s = ferry::platform::install_service(service); !s) {
    std::fprintf(stderr, "ferry-agent service install: %s\n", s.error().message.c_str());
    return 1;
  }
  std::printf("installed the service %s\n", service.name.c_str());
  return 0;
}

int uninstall_service_command() {
  if (auto s = ferry::platform::uninstall_service(kServiceName, std::chrono::seconds(60)); !s) {
    std::fprintf(stderr, "ferry-agent service uninstall: %s\n", s.error().message.c_str());
    return 1;
  }
  std::printf("removed the service %s\n", std::string(kServiceName).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // The supervisor takes its signals through a signalfd. Blocking them before anything else
  // runs means a cancel that arrives during start-up waits for it instead of killing it.
  if (argc > 1 && std::strcmp(argv[1], "supervise") == 0) {
    ferry::platform::block_supervisor_signals();
    // Every task waits for this start: its own few arguments are read without building the
    // whole command line (anything unexpected falls through to CLI11 for its error message).
    if (auto options = ferry::agent::parse_supervisor_arguments(argc, argv, 2)) {
      return ferry::agent::supervisor_main(*options);
    }
  }
  CLI::App app{"ferry-agent: runs the commands that ferry-server dispatches to this machine"};
  app.set_version_flag("--version", std::string("ferry-agent ") + FERRY_VERSION);
  app.require_subcommand(0, 1);

  // The daemon: no subcommand.
  const std::string default_state_dir = ferry::agent::default_state_dir().string();
  DaemonFlags daemon_flags;
  app.add_option("--config", daemon_flags.config_file, "Agent configuration file (JSON)");
  app.add_option("--state-dir", daemon_flags.state_dir,
                 "State directory (default " + default_state_dir + ")");
  app.add_option("--log-level", daemon_flags.log_level,
                 "trace, debug, info, warn, error, critical or off");

  ferry::agent::RegisterOptions reg_options;
  reg_options.state_dir = default_state_dir;
  auto* reg = app.add_subcommand("register",
                                 "Register this machine with ferry-server; prints the instance id");
  reg->add_option("--server", reg_options.server_url, "Server URL (https://HOST[:PORT])")
      ->required();
  reg->add_option("--register-code-id", reg_options.register_code_id, "Register code id")
      ->required();
  auto* code_opt = reg->add_option(
      "--register-code", reg_options.register_code,
      "Register code value; visible to every local user in the process list: prefer "
      "--register-code-file or the FERRY_REGISTER_CODE environment variable");
  std::string register_code_file;
  reg->add_option("--register-code-file", register_code_file,
                  "File holding the register code value (one line; keep it 0600)")
      ->excludes(code_opt);
  reg->add_option("--state-dir", reg_options.state_dir, "State directory")->capture_default_str();
  reg->add_option("--ca-file", reg_options.ca_file,
                  "CA certificates (PEM) to verify the server with, instead of the system's");
  reg->add_flag("--allow-plain-http", reg_options.allow_plain_http,
                "Allow http:// to a server that is not on a loopback address");
  reg->add_flag("--force", reg_options.force, "Register again with a new key");

  ferry::agent::RunTaskOptions run_options;
  run_options.state_dir = default_state_dir;
  double grace_seconds = 3.0;
  bool no_cgroup = false;
  auto* run = app.add_subcommand(
      "run-task", "Run one task from a JSON file through the supervisor; print its result as JSON");
  run->add_option("--task", run_options.task_file, "Task file (JSON, the agent protocol's fields)")
      ->required();
  run->add_option("--state-dir", run_options.state_dir, "State directory")->capture_default_str();
  run->add_option("--kill-grace", grace_seconds,
                  "Seconds between SIGTERM and SIGKILL on timeout or cancel")
      ->check(CLI::Range(0.0, 300.0))
      ->capture_default_str();
  run->add_flag("--no-cgroup", no_cgroup, "Do not use a per-task cgroup (subreaper only)");
  run->add_flag("--keep", run_options.keep, "Keep the task's directory (spool, state) afterwards");
  std::vector<std::string> runtime_settings;
  run->add_option("--runtime", runtime_settings,
                  "KEY=VALUE: a container runtime setting (docker_path, docker_host, podman_path, "
                  "podman_url, crictl_path, containerd_endpoint, crio_endpoint)");

  std::string audit_state_dir;
  std::string audit_config;
  std::string audit_since;
  std::string audit_until;
  std::string audit_result;
  std::string audit_event;
  bool audit_json = false;
  auto* audit = app.add_subcommand(
      "audit", "Print the audit log: every task this agent accepted, refused or finished");
  audit->add_option("--state-dir", audit_state_dir,
                    "State directory (default: the configuration's state_dir)");
  audit->add_option("--config", audit_config,
                    "Agent configuration file to read state_dir from (default " +
                        ferry::agent::default_agent_config_file().string() + " if it exists)");
  audit->add_option("--since", audit_since, "Only lines at or after this time (RFC 3339)");
  audit->add_option("--until", audit_until, "Only lines before this time (RFC 3339)");
  audit->add_option("--result", audit_result,
                    "Only lines with this result (SUCCESS, FAILED, TIMEOUT, START_FAILED, ...)");
  audit->add_option("--event", audit_event, "Only lines of this event")
      ->check(CLI::IsMember({"accepted", "finished", "refused"}));
  audit->add_flag("--json", audit_json, "Print the JSON lines as they are in the log");

  // The daemon as a Windows service; the options are the daemon's, given to it at each start.
  auto* service = app.add_subcommand(
      "service", "Install or remove the daemon as the Windows service ferry-agent (Windows only)");
  service->require_subcommand(1);
  auto* service_install = service->add_subcommand(
      "install",
      "Install the service: started at boot as LocalSystem, restarted when it fails, running "
      "this binary as the daemon with the options given here");
  service_install->add_option("--config", daemon_flags.config_file,
                              "Agent configuration file (JSON)");
  service_install->add_option("--state-dir", daemon_flags.state_dir, "State directory");
  service_install->add_option("--log-level", daemon_flags.log_level,
                              "trace, debug, info, warn, error, critical or off");
  auto* service_uninstall =
      service->add_subcommand("uninstall", "Stop the service (if it runs) and remove it");

  ferry::agent::SupervisorOptions sup_options;
  long long grace_ms = 3000;
  auto* sup = app.add_subcommand("supervise", "(internal) Supervise one task");
  sup->group("");  // hidden: the agent starts it itself
  sup->add_option("--task-dir", sup_options.task_dir)->required();
  sup->add_option("--kill-grace-ms", grace_ms)->check(CLI::Range(0LL, 300000LL));
  sup->add_option("--output-max-bytes", sup_options.output_max_bytes);
  sup->add_flag("--no-cgroup", no_cgroup);
  sup->add_option("--runtime", runtime_settings);

  CLI11_PARSE(app, argc, argv);

  ferry::agent::ContainerRuntimes runtimes;
  for (const auto& kv : runtime_settings) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos ||
        !ferry::agent::set_runtime_value(runtimes, kv.substr(0, eq), kv.substr(eq + 1))) {
      std::fprintf(stderr, "ferry-agent: --runtime %s: not KEY=VALUE with a known KEY\n",
                   kv.c_str());
      return 2;
    }
  }

  if (*sup) {
    sup_options.kill_grace = std::chrono::milliseconds(grace_ms);
    sup_options.use_cgroup = !no_cgroup;
    sup_options.runtimes = runtimes;
    return ferry::agent::supervisor_main(sup_options);
  }

  ferry::platform::LogOptions log;
  log.program = "ferry-agent";
  log.level = "warn";
  if (const char* journal = std::getenv("JOURNAL_STREAM")) {
    log.journal_stream = journal;
  }
  if (auto s = ferry::platform::setup_logging(log); !s) {
    std::fprintf(stderr, "ferry-agent: %s\n", s.error().message.c_str());
    return 2;
  }
  if (*service_install) {
    return install_service_command(daemon_flags);
  }
  if (*service_uninstall) {
    return uninstall_service_command();
  }
  if (*reg) {
    if (!reg_options.register_code.empty()) {
      spdlog::warn(
          "--register-code is visible to every local user in the process list; use "
          "--register-code-file or FERRY_REGISTER_CODE");
    } else if (!register_code_file.empty()) {
      auto code = ferry::config::read_secret_file(register_code_file, "the register code");
      if (!code) {
        std::fprintf(stderr, "ferry-agent register: %s\n", code.error().message.c_str());
        return 2;
      }
      reg_options.register_code = std::move(*code);
    } else if (const char* env = std::getenv("FERRY_REGISTER_CODE")) {
      reg_options.register_code = env;
    }
    return ferry::agent::register_command(reg_options);
  }
  if (*audit) {
    ferry::agent::AuditOptions options;
    options.json = audit_json;
    for (const auto& [text, out, flag] :
         {std::tuple(&audit_since, &options.filter.since, "--since"),
          std::tuple(&audit_until, &options.filter.until, "--until")}) {
      if (text->empty()) {
        continue;
      }
      *out = ferry::parse_rfc3339(*text);
      if (!*out) {
        std::fprintf(stderr, "ferry-agent audit: %s: not an RFC 3339 time (2026-12-07T18:00:00Z)\n",
                     flag);
        return 2;
      }
    }
    if (!audit_result.empty()) {
      if (!ferry::parse_task_status(audit_result)) {
        std::fprintf(stderr, "ferry-agent audit: --result: not a task status\n");
        return 2;
      }
      options.filter.result = audit_result;
    }
    if (!audit_event.empty()) {
      options.filter.event = audit_event;
    }
    if (!audit_state_dir.empty()) {
      options.state_dir = audit_state_dir;
    } else {
      ferry::agent::AgentConfigSources sources;
      if (!audit_config.empty()) {
        sources.file = audit_config;
      }
      sources.environment = ferry::config::process_environment();
      auto config = ferry::agent::resolve_agent_config(sources);
      if (!config) {
        std::fprintf(stderr, "ferry-agent audit: %s\n", config.error().message.c_str());
        return 1;
      }
      options.state_dir = config->state_dir;
    }
    return ferry::agent::audit_command(options);
  }
  if (*run) {
    run_options.kill_grace =
        std::chrono::milliseconds(static_cast<long long>(grace_seconds * 1000.0));
    run_options.use_cgroup = !no_cgroup;
    run_options.runtimes = runtimes;
    return ferry::agent::run_task_command(run_options);
  }

  return ferry::platform::run_service_or_console(kServiceName,
                                                 [&] { return daemon_main(daemon_flags, log); });
}
