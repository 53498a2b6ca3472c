#include "ferry/agent/commands.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "ferry/agent/agent_paths.hpp"
#include "ferry/agent/config_reload.hpp"
#include "ferry/agent/first_boot.hpp"
#include "ferry/agent/identity.hpp"
#include "ferry/agent/registration.hpp"
#include "ferry/agent/supervisor.hpp"
#include "ferry/core/time.hpp"
#include "ferry/platform/fs.hpp"
#include "ferry/platform/host.hpp"
#include "ferry/platform/instance_lock.hpp"
#include "ferry/platform/process_identity.hpp"
#include "ferry/platform/reload_requests.hpp"
#include "ferry/platform/service.hpp"
#include "ferry/platform/stop_requests.hpp"

namespace ferry::agent {
namespace {

namespace net = boost::asio;

std::string user_agent() {
  return std::string("ferry-agent/") + FERRY_VERSION;
}

}  // namespace

int register_command(const RegisterOptions& options) {
  auto url = parse_server_url(options.server_url, options.allow_plain_http);
  if (!url) {
    std::cerr << "ferry-agent register: " << url.error().message << "\n";
    return 1;
  }
  if (options.register_code_id.empty() || options.register_code.empty()) {
    std::cerr << "ferry-agent register: --register-code-id and --register-code (or "
                 "FERRY_REGISTER_CODE) are required\n";
    return 1;
  }
  if (auto s = prepare_state_dir(options.state_dir); !s) {
    std::cerr << "ferry-agent register: state dir: " << s.error().message << "\n";
    return 1;
  }
  // A running daemon holds the state dir: its identity and key are not to be replaced under it.
  auto lock = platform::InstanceLock::acquire(agent_lock_file(options.state_dir));
  if (!lock) {
    std::cerr << "ferry-agent register: " << lock.error().message << "\n";
    return 1;
  }
  if (auto s = finish_registration(options.state_dir); !s) {
    std::cerr << "ferry-agent register: finishing an interrupted registration: "
              << s.error().message << "\n";
    return 1;
  }
  if (!options.force) {
    if (auto existing = load_identity(options.state_dir)) {
      std::cerr << "ferry-agent register: already registered as " << existing->instance_id
                << " with " << existing->server_url
                << " (use --force to register again with a new key)\n";
      return 1;
    }
  }
  RegistrationRequest request;
  request.server_url = url->to_string();
  request.ca_file = options.ca_file;
  request.allow_plain_http = options.allow_plain_http;
  request.code = RegisterCode{options.register_code_id, options.register_code};
  request.machine_id = platform::machine_id();
  // Without --force, a key left on this machine by an attempt whose reply was lost is used
  // again (registration.hpp).
  const auto key_path = pending_key_file(options.state_dir, request.machine_id);
  if (options.force) {
    std::error_code ec;
    std::filesystem::remove(key_path, ec);
  }
  auto key = registration_key(key_path);
  if (!key) {
    std::cerr << "ferry-agent register: " << key.error().message << "\n";
    return 1;
  }
  auto identity = http_registrar(RegisterRetry{})(request, *key);
  if (!identity) {
    std::cerr << "ferry-agent register: " << identity.error().message << "\n";
    return 1;
  }
  if (auto s = commit_registration(options.state_dir, *identity, request.code); !s) {
    std::cerr << "ferry-agent register: registered as " << identity->instance_id
              << " but saving the identity failed: " << s.error().message << "\n";
    return 1;
  }
  std::cout << identity->instance_id << std::endl;
  return 0;
}

namespace {

// The report and how many lines of the log could not be read.
Expected<std::pair<std::string, std::size_t>> audit_text(const AuditOptions& options) {
  auto readout = read_audit_log(audit_log_file(options.state_dir), options.filter);
  if (!readout) {
    return readout.error();
  }
  std::string out;
  for (const auto& r : readout->records) {
    out += options.json ? to_json(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                        : audit_text_line(r);
    out += "\n";
  }
  return std::pair(std::move(out), readout->unreadable_lines);
}

}  // namespace

Expected<std::string> audit_report(const AuditOptions& options) {
  auto text = audit_text(options);
  if (!text) {
    return text.error();
  }
  return std::move(text->first);
}

int audit_command(const AuditOptions& options) {
  auto text = audit_text(options);
  if (!text) {
    std::cerr << "ferry-agent audit: " << text.error().message << "\n";
    return 1;
  }
  std::cout << text->first << std::flush;
  if (text->second > 0) {
    std::cerr << "ferry-agent audit: " << text->second
              << " unreadable line(s) skipped (torn by a crash while written)\n";
  }
  return 0;
}

std::filesystem::path agent_lock_file(const std::filesystem::path& state_dir) {
  return state_dir / "agent.lock";
}

int daemon_command(const AgentConfig& config, const DaemonCommandOptions& run) {
  // Taken first, so that no process we start inherits the manager's socket.
  const auto service_manager = platform::take_service_manager_settings();
  if (auto s = prepare_state_dir(config.state_dir); !s) {
    spdlog::error("state dir: {}", s.error().message);
    return 1;
  }
  // Held until the process ends (supervisors do not inherit it), from before a first boot or a
  // clone's registration changes the identity: one agent at a time uses a state dir.
  auto lock = platform::InstanceLock::acquire(agent_lock_file(config.state_dir));
  if (!lock) {
    spdlog::error("{}", lock.error().message);
    return 1;
  }
  if (int code = prepare_daemon_identity(config); code != 0) {
    return code;
  }
  // Again: a clone's registration moved the old journal aside.
  if (auto s = prepare_state_dir(config.state_dir); !s) {
    spdlog::error("state dir: {}", s.error().message);
    return 1;
  }
  auto identity = load_identity(config.state_dir);
  if (!identity) {
    spdlog::error("{}", identity.error().message);
    return 1;
  }
  if (config.server_url) {
    identity->server_url = *config.server_url;
  }
  if (config.ca_file) {
    identity->ca_file = *config.ca_file;
  }
  if (config.allow_plain_http) {
    identity->allow_plain_http = *config.allow_plain_http;
  }
  auto url = parse_server_url(identity->server_url, identity->allow_plain_http);
  if (!url) {
    spdlog::error("{}", url.error().message);
    return 1;
  }
  auto key = load_key(config.state_dir);
  if (!key) {
    spdlog::error("{}", key.error().message);
    return 1;
  }
  DaemonOptions options = config.daemon;
  options.state_dir = config.state_dir;
  if (options.runner.supervisor_executable.empty()) {
    auto self = platform::current_executable();
    if (!self) {
      spdlog::error("finding the agent's own binary: {}", self.error().message);
      return 1;
    }
    std::string why_not;
    options.runner.supervisor_executable = default_supervisor_executable(*self, &why_not);
    if (!why_not.empty()) {
      spdlog::warn("not using {}; tasks run under the agent's own supervise mode", why_not);
    }
  }
  spdlog::info("task supervisor: {}", options.runner.supervisor_executable.string());
  options.version = FERRY_VERSION;
  options.boot_id = platform::boot_id();
  platform::prepare_service_process();

  net::io_context io(1);
  ControlPlaneOptions cpo;
  cpo.url = *url;
  cpo.ca_file = identity->ca_file;
  cpo.user_agent = user_agent();
  auto cp = make_http_control_plane(
      io, cpo,
      AgentCredentials{identity->instance_id,
                       std::make_shared<const Ed25519PrivateKey>(std::move(*key))});
  // Before the daemon, so that it outlives the daemon's last status change.
  platform::ServiceNotifier service(io, service_manager);
  Daemon daemon(options, *identity, make_daemon_services(io, options, std::move(cp)));
  daemon.on_status_change([&] { service.status(daemon.status_line()); });
  // STOPPING=1 for every way of stopping: a signal, or a fatal error (the instance was deleted).
  daemon.on_stopping([&] { service.stopping(); });
  platform::StopRequests stop_requests(io, [&](std::string_view what) {
    spdlog::info("{} received", what);
    daemon.stop();
  });
  ConfigReloader reloader(run.config_file, run.load_config);
  platform::ReloadRequests reload_requests(io, [&] {
    spdlog::info("SIGHUP received: reading the configuration again");
    service.reloading();
    reloader.reload([&](const AgentConfig& next) {
      spdlog::set_level(spdlog::level::from_str(next.log_level));
      daemon.reload(next.daemon);
      for (const auto& hook : run.reload_hooks) {
        hook(next);
      }
    });
    service.ready();
  });
  daemon.start([&] {
    stop_requests.close();
    reload_requests.close();
    service.stop();
  });
  // start() ran the journal's recovery: supervisors of an earlier agent are watched again.
  service.ready();
  service.status(daemon.status_line());
  service.start_watchdog();
  io.run();
  return daemon.exit_code();
}

}  // namespace ferry::agent
