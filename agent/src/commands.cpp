#include "ferry/agent/commands.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "ferry/agent/agent_paths.hpp"
#include "ferry/agent/config_reload.hpp"
#include "ferry/agent/identity.hpp"
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

// One call on a private io_context, waited for.
CallResult call_once(ControlPlane& cp, net::io_context& io, const std::string& action,
                     const nlohmann::json& fields) {
  CallResult out;
  bool done = false;
  cp.call(action, fields, [&](CallResult r) {
    out = std::move(r);
    done = true;
  });
  io.restart();
  while (!done && io.run_one() > 0) {
  }
  return out;
}

bool transient(const CallResult& r) {
  const std::string code = r.error_code();
  return !r.transport_error.empty() || code == "InternalError" || code == "RequestLimitExceeded" ||
         code == "AuthFailure.SignatureExpire";
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
  if (!options.force) {
    if (auto existing = load_identity(options.state_dir)) {
      std::cerr << "ferry-agent register: already registered as " << existing->instance_id
                << " with " << existing->server_url
                << " (use --force to register again with a new key)\n";
      return 1;
    }
  }
  // A key left by an attempt whose reply was lost is used again: the server answers a repeated
  // registration of the same key with the same instance.
  std::shared_ptr<Ed25519PrivateKey> key;
  if (!options.force && std::filesystem::exists(key_file(options.state_dir))) {
    auto k = load_key(options.state_dir);
    if (!k) {
      std::cerr << "ferry-agent register: " << k.error().message << "\n";
      return 1;
    }
    key = std::make_shared<Ed25519PrivateKey>(std::move(*k));
  } else {
    auto k = Ed25519PrivateKey::generate();
    if (!k) {
      std::cerr << "ferry-agent register: making a key: " << k.error().message << "\n";
      return 1;
    }
    if (auto s = save_key(options.state_dir, *k); !s) {
      std::cerr << "ferry-agent register: saving the key: " << s.error().message << "\n";
      return 1;
    }
    key = std::make_shared<Ed25519PrivateKey>(std::move(*k));
  }

  net::io_context io;
  ControlPlaneOptions cpo;
  cpo.url = *url;
  cpo.ca_file = options.ca_file;
  cpo.user_agent = user_agent();
  auto cp = make_http_control_plane(io, cpo, AgentCredentials{"", key});

  nlohmann::json fields{{"RegisterCodeId", options.register_code_id},
                        {"RegisterCodeValue", options.register_code},
                        {"PublicKey", key->public_key_base64()},
                        {"SystemName", platform::os_name()}};
  if (auto h = platform::host_name(); !h.empty()) {
    fields["Hostname"] = h;
  }
  if (auto ips = platform::local_addresses(); !ips.empty()) {
    fields["LocalIp"] = ips;
  }
  if (auto m = platform::machine_id(); !m.empty()) {
    fields["MachineId"] = m;
  }
  CallResult r;
  for (int attempt = 0; attempt < 4; ++attempt) {
    r = call_once(*cp, io, "RegisterInstance", fields);
    if (r.ok() || !transient(r)) {
      break;
    }
    if (r.error_code() == "AuthFailure.SignatureExpire" && r.response().contains("ServerTime") &&
        r.response()["ServerTime"].is_number_integer()) {
      const auto local = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
      cp->set_clock_offset(r.response()["ServerTime"].get<std::int64_t>() - local);
      continue;
    }
    net::steady_timer t(io, std::chrono::seconds(1 << attempt));
    t.wait();
  }
  cp->shutdown();
  io.restart();
  io.run();
  if (!r.ok()) {
    std::cerr << "ferry-agent register: " << r.describe() << "\n";
    return 1;
  }
  Identity id;
  id.instance_id = r.response().value("InstanceId", "");
  id.instance_name = r.response().value("InstanceName", "");
  id.server_url = url->to_string();
  id.ca_file = options.ca_file;
  id.allow_plain_http = options.allow_plain_http;
  id.registered_at = to_rfc3339(std::chrono::system_clock::now());
  if (id.instance_id.empty()) {
    std::cerr << "ferry-agent register: the server's reply has no InstanceId\n";
    return 1;
  }
  if (auto s = save_identity(options.state_dir, id); !s) {
    std::cerr << "ferry-agent register: registered as " << id.instance_id
              << " but saving the identity failed: " << s.error().message << "\n";
    return 1;
  }
  std::cout << id.instance_id << std::endl;
  return 0;
}

std::filesystem::path agent_lock_file(const std::filesystem::path& state_dir) {
  return state_dir / "agent.lock";
}

int daemon_command(const AgentConfig& config, const DaemonCommandOptions& run) {
  // Taken first, so that no process we start inherits the manager's socket.
  const auto service_manager = platform::take_service_manager_settings();
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
  if (auto s = prepare_state_dir(config.state_dir); !s) {
    spdlog::error("state dir: {}", s.error().message);
    return 1;
  }
  // Held until the process ends; supervisors do not inherit it.
  auto lock = platform::InstanceLock::acquire(agent_lock_file(config.state_dir));
  if (!lock) {
    spdlog::error("{}", lock.error().message);
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
  platform::StopRequests stop_requests(io, [&](std::string_view what) {
    spdlog::info("{} received", what);
    service.stopping();
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
