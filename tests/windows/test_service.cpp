// A service for the service tests (service_test.cpp), built on platform/'s wrapper
// (run_service_or_console, ServiceNotifier, StopRequests, ReloadRequests) as ferry-agent's main
// is to be:
//   ferry-test-service.exe DIR CODE [exit-on-reload]
// appends to DIR\events.txt one line per event: "service" or "console" (how it runs), "ready"
// (after ServiceNotifier::ready(), which it calls once DIR\go exists, so that the test sees it
// START_PENDING until then), "reload", "stop: <what>", "exit"; it stops at a stop request
// (or, with exit-on-reload, at the first reload: a console program under wine gets no Ctrl+C)
// and exits with CODE. It gives up after 60 s.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>

#include "ferry/platform/reload_requests.hpp"
#include "ferry/platform/service.hpp"
#include "ferry/platform/stop_requests.hpp"

namespace {

using namespace ferry::platform;

void note(const std::filesystem::path& dir, std::string_view line) {
  std::ofstream out(dir / "events.txt", std::ios::binary | std::ios::app);
  out << line << "\n";
}

int serve(const std::filesystem::path& dir, int code, bool exit_on_reload) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  ServiceNotifier service(io, take_service_manager_settings());
  note(dir, in_service_mode() ? "service" : "console");
  StopRequests stop_requests(io, [&](std::string_view what) {
    note(dir, "stop: " + std::string(what));
    service.stopping();
    io.stop();
  });
  ReloadRequests reload_requests(io, [&] {
    note(dir, "reload");
    if (exit_on_reload) {
      io.stop();
    }
  });
  std::error_code ec;
  for (int i = 0; i < 500 && !std::filesystem::exists(dir / "go", ec); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  service.ready();
  note(dir, "ready");
  io.run_for(std::chrono::seconds(60));
  note(dir, "exit");
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    return 2;
  }
  // Arguments as the C runtime gives them (ANSI); the tests' paths are ASCII.
  const std::filesystem::path dir(argv[1]);
  const int code = std::atoi(argv[2]);
  const bool exit_on_reload = argc > 3 && std::strcmp(argv[3], "exit-on-reload") == 0;
  return run_service_or_console("ferry-test-service",
                                [&] { return serve(dir, code, exit_on_reload); });
}
