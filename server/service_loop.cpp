#include "ferry/server/service_loop.hpp"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "ferry/core/config_changes.hpp"
#include "ferry/platform/reload_requests.hpp"
#include "ferry/platform/stop_requests.hpp"

namespace ferry::server {

std::string run_service_loop(const platform::ServiceManagerSettings& manager,
                             const ServiceLoopHooks& hooks) {
  boost::asio::io_context loop(1);
  platform::ServiceNotifier service(loop, manager);
  std::string stopped_by;
  boost::asio::steady_timer status_timer(loop);
  platform::StopRequests stop_requests(loop, [&](std::string_view what) {
    stopped_by = what;
    service.stopping();
    service.stop();
    status_timer.cancel();
    loop.stop();
  });
  platform::ReloadRequests reload_requests(loop, [&] {
    service.reloading();
    if (hooks.reload) {
      hooks.reload();
    }
    service.ready();
  });
  // The handlers are in place: a signal that came meanwhile is taken now, by this loop.
  sigset_t signals;
  sigemptyset(&signals);
  for (const int sig : {SIGTERM, SIGINT, SIGHUP}) {
    sigaddset(&signals, sig);
  }
  pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);

  service.ready();
  std::function<void()> poll_status = [&] {
    if (hooks.status) {
      service.status(hooks.status());
    }
    status_timer.expires_after(hooks.status_poll);
    status_timer.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) {
        poll_status();
      }
    });
  };
  if (service.enabled()) {
    poll_status();
  }
  service.start_watchdog();
  loop.run();
  return stopped_by;
}

bool server_key_reloadable(std::string_view key) {
  return key == "log_level" || key == "rate_limit" || key == "rate_burst";
}

ServerConfigReloader::ServerConfigReloader(std::filesystem::path file, Loader load)
    : file_(std::move(file)), load_(std::move(load)), last_(read_config_snapshot(file_)) {}

bool ServerConfigReloader::reload() {
  auto next = load_();
  if (!next) {
    spdlog::error("reload: {}; the running configuration is kept", next.error().message);
    return false;
  }
  // The new level first: it decides whether the lines below show.
  spdlog::set_level(spdlog::level::from_str(next->log_level));
  if (apply_) {
    apply_(*next);
  }
  for (const auto& line : reload_report(file_, last_, server_key_reloadable)) {
    spdlog::info("{}", line);
  }
  return true;
}

}  // namespace ferry::server
