// sd_notify without libsystemd: one datagram per message to the socket named in NOTIFY_SOCKET (a
// path, or an abstract name when it starts with '@'), as systemd's notify protocol defines it.
#include "ferry/platform/service.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "../posix/unique_fd.hpp"
#include "ferry/core/error_codes.hpp"

namespace ferry::platform {
namespace {

using SteadyClock = std::chrono::steady_clock;

// A positive decimal number, or nothing.
std::optional<std::uint64_t> positive_number(const char* text) {
  if (text == nullptr) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  const char* end = text + std::strlen(text);
  const auto [ptr, ec] = std::from_chars(text, end, value);
  if (ec != std::errc() || ptr != end || value == 0) {
    return std::nullopt;
  }
  return value;
}

std::string printable_status(std::string_view text) {
  std::string out(text.substr(0, 1024));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      c = ' ';
    }
  }
  return out;
}

}  // namespace

ServiceManagerSettings take_service_manager_settings() {
  ServiceManagerSettings settings;
  if (const char* socket = std::getenv("NOTIFY_SOCKET")) {
    settings.notify_socket = socket;
  }
  const auto usec = positive_number(std::getenv("WATCHDOG_USEC"));
  const char* pid_text = std::getenv("WATCHDOG_PID");
  const auto pid = positive_number(pid_text);
  const bool ours = pid_text == nullptr || (pid && *pid == static_cast<std::uint64_t>(::getpid()));
  if (usec && ours && !settings.notify_socket.empty()) {
    settings.watchdog = std::chrono::microseconds(*usec);
  }
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
  return settings;
}

Status send_service_notification(const std::string& socket, std::string_view message) {
  sockaddr_un addr{};
  if ((socket.empty() || (socket[0] != '/' && socket[0] != '@')) ||
      socket.size() >= sizeof(addr.sun_path)) {
    return Error{codes::kInvalidParameterValue,
                 "NOTIFY_SOCKET: not an absolute path or an abstract name that fits a socket"};
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket.data(), socket.size());
  if (socket[0] == '@') {
    addr.sun_path[0] = '\0';
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    return errno_error(codes::kInternalError, "notify socket", errno);
  }
  const auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket.size());
  ssize_t n = -1;
  do {
    n = ::sendto(fd.get(), message.data(), message.size(), MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&addr), addr_len);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return errno_error(codes::kInternalError, "notify " + socket, errno);
  }
  if (static_cast<std::size_t>(n) != message.size()) {
    return Error{codes::kInternalError, "notify " + socket + ": message cut short"};
  }
  return {};
}

struct ServiceNotifier::Impl : std::enable_shared_from_this<Impl> {
  ServiceManagerSettings settings;
  std::chrono::milliseconds status_interval;
  boost::asio::steady_timer watchdog_timer;
  boost::asio::steady_timer status_timer;
  std::string last_status;     // sent
  std::string pending_status;  // to send once the interval has passed
  SteadyClock::time_point last_status_time{};
  bool status_sent = false;
  bool send_failed = false;  // said once on stderr, not per message
  bool stopped = false;      // stop(): no timer of ours is armed again

  Impl(EventLoop& loop, ServiceManagerSettings s, std::chrono::milliseconds interval)
      : settings(std::move(s)),
        status_interval(interval),
        watchdog_timer(loop),
        status_timer(loop) {}

  [[nodiscard]] bool enabled() const { return !settings.notify_socket.empty(); }

  void send(std::string_view message) {
    if (!enabled()) {
      return;
    }
    // No logger here: the platform library does not log. A manager that stopped listening is
    // said once, as the service goes on without it.
    if (auto s = send_service_notification(settings.notify_socket, message); !s && !send_failed) {
      send_failed = true;
      const std::string line = "service manager: " + s.error().message + "\n";
      [[maybe_unused]] const auto n = ::write(STDERR_FILENO, line.data(), line.size());
    }
  }

  void send_status(std::string text) {
    send("STATUS=" + text);
    last_status = std::move(text);
    last_status_time = SteadyClock::now();
    status_sent = true;
  }

  void status(std::string text) {
    if (!enabled()) {
      return;
    }
    pending_status = std::move(text);
    if (status_sent && pending_status == last_status) {
      status_timer.cancel();
      return;
    }
    const auto next = last_status_time + status_interval;
    if (!status_sent || stopped || SteadyClock::now() >= next) {
      status_timer.cancel();
      send_status(pending_status);
      return;
    }
    status_timer.expires_at(next);
    status_timer.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (!ec && self && !self->stopped && self->pending_status != self->last_status) {
        self->send_status(self->pending_status);
      }
    });
  }

  [[nodiscard]] std::chrono::microseconds watchdog_interval() const {
    return settings.watchdog / 2;
  }

  void ping() {
    send("WATCHDOG=1");
    watchdog_timer.expires_after(watchdog_interval());
    watchdog_timer.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (auto self = weak.lock(); self && !ec && !self->stopped) {
        self->ping();
      }
    });
  }
};

ServiceNotifier::ServiceNotifier(EventLoop& loop, ServiceManagerSettings settings,
                                 std::chrono::milliseconds status_interval)
    : impl_(std::make_shared<Impl>(loop, std::move(settings), status_interval)) {}

ServiceNotifier::~ServiceNotifier() {
  stop();
}

void ServiceNotifier::stop() {
  impl_->stopped = true;
  impl_->watchdog_timer.cancel();
  impl_->status_timer.cancel();
}

bool ServiceNotifier::enabled() const {
  return impl_->enabled();
}

std::chrono::microseconds ServiceNotifier::watchdog_interval() const {
  return impl_->watchdog_interval();
}

void ServiceNotifier::ready() {
  impl_->send("READY=1");
}

void ServiceNotifier::reloading() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const auto usec = static_cast<std::uint64_t>(now.tv_sec) * 1'000'000U +
                    static_cast<std::uint64_t>(now.tv_nsec) / 1000U;
  impl_->send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void ServiceNotifier::stopping() {
  impl_->send("STOPPING=1");
}

void ServiceNotifier::status(std::string_view text) {
  impl_->status(printable_status(text));
}

void ServiceNotifier::start_watchdog() {
  if (impl_->enabled() && !impl_->stopped && impl_->watchdog_interval().count() > 0) {
    impl_->ping();
  }
}

void prepare_service_process() {
  ::signal(SIGPIPE, SIG_IGN);
}

int run_service_or_console(std::string_view /*name*/, const std::function<int()>& main) {
  return main();
}

bool in_service_mode() {
  return false;
}

Status install_service(const ServiceDefinition& service) {
  return Error{codes::kInternalError, "installing service '" + service.name +
                                          "': on Linux the package installs its systemd unit "
                                          "(systemd/ferry-agent.service)"};
}

Status uninstall_service(std::string_view name, std::chrono::milliseconds /*stop_timeout*/) {
  return Error{codes::kInternalError, "removing service '" + std::string(name) +
                                          "': on Linux the package removes its systemd unit"};
}

}  // namespace ferry::platform
