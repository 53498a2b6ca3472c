// The Windows service wrapper (platform/windows/service.cpp) under wine's service control
// manager: ferry-test-service.exe (test_service.cpp) installed with install_service, started,
// RUNNING once it says it is ready, a PARAMCHANGE reaching its ReloadRequests, a STOP reaching its
// StopRequests and STOPPED with its exit code, uninstalled while it runs; and started from a
// console, the same program runs as a console program.
#include "ferry/platform/service.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "ferry/core/crypto.hpp"
#include "ferry/platform/fs.hpp"
#include "windows/control_requests.hpp"
#include "windows/process.hpp"
#include "windows/win32.hpp"
#include "windows_test_support.hpp"
// After windows.h (win32.hpp), which it needs.
#include <tlhelp32.h>

namespace {

using namespace ferry::platform;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

fs::path test_service() {
  auto exe = current_executable();
  REQUIRE(exe.has_value());
  return exe->parent_path() / "ferry-test-service.exe";
}

struct ScmHandle {
  SC_HANDLE handle;
  explicit ScmHandle(SC_HANDLE h) : handle(h) {}
  ScmHandle(const ScmHandle&) = delete;
  ScmHandle& operator=(const ScmHandle&) = delete;
  ~ScmHandle() { reset(); }
  void reset() {
    if (handle != nullptr) {
      ::CloseServiceHandle(handle);
      handle = nullptr;
    }
  }
};

// The service managers (services.exe) running: wine's first boot of a prefix leaves two, and a
// client reaches either (scripts/windows-test boots the prefix again to have one).
int service_managers() {
  int count = 0;
  const win32::UniqueHandle snapshot(::CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0));
  REQUIRE(snapshot.valid());
  PROCESSENTRY32W entry{};
  entry.dwSize = sizeof entry;
  for (BOOL more = ::Process32FirstW(snapshot.get(), &entry); more != 0;
       more = ::Process32NextW(snapshot.get(), &entry)) {
    if (::CompareStringOrdinal(entry.szExeFile, -1, L"services.exe", -1, TRUE) == CSTR_EQUAL) {
      ++count;
    }
  }
  return count;
}

// A service name of its own for each run, removed at the end whatever happened.
class InstalledService {
 public:
  InstalledService() {
    const auto suffix = ferry::random_bytes(4);
    REQUIRE(suffix);
    name_ = "ferry-test-service-" + ferry::hex_encode(*suffix);
  }
  ~InstalledService() { (void)uninstall_service(name_, milliseconds(10000)); }
  InstalledService(const InstalledService&) = delete;
  InstalledService& operator=(const InstalledService&) = delete;
  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  std::string name_;
};

SC_HANDLE open_service(SC_HANDLE manager, const std::string& name) {
  return ::OpenServiceW(manager, win32::widen(name).c_str(),
                        SERVICE_START | SERVICE_STOP | SERVICE_QUERY_STATUS | SERVICE_QUERY_CONFIG |
                            SERVICE_PAUSE_CONTINUE);
}

SERVICE_STATUS_PROCESS query(SC_HANDLE service) {
  SERVICE_STATUS_PROCESS status{};
  DWORD needed = 0;
  REQUIRE(::QueryServiceStatusEx(service, SC_STATUS_PROCESS_INFO, reinterpret_cast<BYTE*>(&status),
                                 sizeof status, &needed));
  return status;
}

// Polls (at most 10 s) until the service is in `state`; its last status.
SERVICE_STATUS_PROCESS wait_for_state(SC_HANDLE service, DWORD state) {
  SERVICE_STATUS_PROCESS status = query(service);
  for (int i = 0; i < 200 && status.dwCurrentState != state; ++i) {
    std::this_thread::sleep_for(milliseconds(50));
    status = query(service);
  }
  return status;
}

// The events the test service wrote, once `last` is among them (at most 10 s).
std::string events_until(const fs::path& dir, const std::string& last) {
  std::string events;
  for (int i = 0; i < 200; ++i) {
    events = ferry::test::file_bytes(dir / "events.txt");
    if (events.find(last) != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  return events;
}

// Wine's ntdll has wine_get_version; Windows' does not.
bool under_wine() {
  const HMODULE ntdll = ::GetModuleHandleW(L"ntdll.dll");
  return ntdll != nullptr && ::GetProcAddress(ntdll, "wine_get_version") != nullptr;
}

std::vector<BYTE> config2(SC_HANDLE service, DWORD level) {
  DWORD needed = 0;
  ::QueryServiceConfig2W(service, level, nullptr, 0, &needed);
  std::vector<BYTE> buffer(std::max<DWORD>(needed, 1));
  const BOOL ok = ::QueryServiceConfig2W(service, level, buffer.data(), needed, &needed);
  INFO("level " << level << ": " << win32::error_text(::GetLastError()));
  REQUIRE(ok);
  return buffer;
}

}  // namespace

TEST_CASE("windows service: installed, RUNNING when ready, reloaded, stopped with its exit code",
          "[service]") {
  ferry::test::WindowsTempDir dir("ferry-service");
  // Until a client asks for it, wine may have no service manager running.
  const ScmHandle manager(::OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT));
  REQUIRE(manager.handle != nullptr);
  REQUIRE(service_managers() == 1);
  InstalledService installed;
  const std::string display_name = "Ferry test service " + installed.name();
  ServiceDefinition definition{installed.name(),
                               display_name,
                               "A service of the tests",
                               test_service(),
                               {win32::display(dir.path()), "7"}};
  const auto installed_now = install_service(definition);
  INFO((installed_now ? std::string() : installed_now.error().message));
  REQUIRE(installed_now);
  const auto again = install_service(definition);
  REQUIRE_FALSE(again);
  CHECK(again.error().message.find("installed already") != std::string::npos);

  ScmHandle service(open_service(manager.handle, installed.name()));
  REQUIRE(service.handle != nullptr);

  // What install_service registered.
  DWORD needed = 0;
  ::QueryServiceConfigW(service.handle, nullptr, 0, &needed);
  std::vector<BYTE> buffer(needed);
  auto* config = reinterpret_cast<QUERY_SERVICE_CONFIGW*>(buffer.data());
  REQUIRE(::QueryServiceConfigW(service.handle, config, needed, &needed));
  CHECK(config->dwServiceType == SERVICE_WIN32_OWN_PROCESS);
  CHECK(config->dwStartType == SERVICE_AUTO_START);
  CHECK(win32::narrow(config->lpServiceStartName) == "LocalSystem");
  CHECK(win32::narrow(config->lpDisplayName) == display_name);
  CHECK(std::wstring(config->lpBinaryPathName) ==
        win32::command_line({win32::display(test_service()), win32::display(dir.path()), "7"}));
  const auto description = config2(service.handle, SERVICE_CONFIG_DESCRIPTION);
  CHECK(win32::narrow(
            reinterpret_cast<const SERVICE_DESCRIPTIONW*>(description.data())->lpDescription) ==
        "A service of the tests");
  // Wine's service manager takes the recovery actions without keeping them (querying them is
  // ERROR_INVALID_LEVEL) and has no failure-actions flag: only Windows can show them.
  if (!under_wine()) {
    const auto failure = config2(service.handle, SERVICE_CONFIG_FAILURE_ACTIONS);
    const auto* actions = reinterpret_cast<const SERVICE_FAILURE_ACTIONSW*>(failure.data());
    CHECK(actions->dwResetPeriod == 24 * 60 * 60);
    REQUIRE(actions->cActions == 3);
    for (DWORD i = 0; i < actions->cActions; ++i) {
      CHECK(actions->lpsaActions[i].Type == SC_ACTION_RESTART);
      CHECK(actions->lpsaActions[i].Delay == 5000);
    }
    const auto flag = config2(service.handle, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG);
    CHECK(reinterpret_cast<const SERVICE_FAILURE_ACTIONS_FLAG*>(flag.data())
              ->fFailureActionsOnNonCrashFailures == TRUE);
  }

  REQUIRE(::StartServiceW(service.handle, 0, nullptr));
  // START_PENDING until it says it is ready (the test service waits for DIR\go to say so).
  const auto starting = wait_for_state(service.handle, SERVICE_START_PENDING);
  CHECK(starting.dwCurrentState == SERVICE_START_PENDING);
  CHECK(starting.dwWaitHint == 30000);
  CHECK(starting.dwCheckPoint >= 1);
  CHECK(events_until(dir.path(), "service\n") == "service\n");
  { std::ofstream go(dir / "go"); }
  const auto running = wait_for_state(service.handle, SERVICE_RUNNING);
  REQUIRE(running.dwCurrentState == SERVICE_RUNNING);
  CHECK(running.dwControlsAccepted ==
        (SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_PARAMCHANGE));
  CHECK(events_until(dir.path(), "ready\n") == "service\nready\n");

  SERVICE_STATUS status{};
  REQUIRE(::ControlService(service.handle, SERVICE_CONTROL_PARAMCHANGE, &status));
  CHECK(events_until(dir.path(), "reload\n") == "service\nready\nreload\n");

  REQUIRE(::ControlService(service.handle, SERVICE_CONTROL_STOP, &status));
  // What the control handler reported before it returned.
  CHECK(status.dwCurrentState == SERVICE_STOP_PENDING);
  CHECK(status.dwWaitHint == 30000);
  CHECK(status.dwControlsAccepted == 0);
  const auto stopped = wait_for_state(service.handle, SERVICE_STOPPED);
  REQUIRE(stopped.dwCurrentState == SERVICE_STOPPED);
  CHECK(stopped.dwWin32ExitCode == ERROR_SERVICE_SPECIFIC_ERROR);
  CHECK(stopped.dwServiceSpecificExitCode == 7);
  CHECK(events_until(dir.path(), "exit\n") == "service\nready\nreload\nstop: service STOP\nexit\n");

  // Uninstalling a running service stops it first.
  REQUIRE(::StartServiceW(service.handle, 0, nullptr));
  REQUIRE(wait_for_state(service.handle, SERVICE_RUNNING).dwCurrentState == SERVICE_RUNNING);
  service.reset();  // a service goes once the last handle to it closes
  REQUIRE(uninstall_service(installed.name(), milliseconds(10000)));
  CHECK(events_until(dir.path(), "stop: service STOP\nexit\nservice\nready\nstop: service STOP\n")
            .ends_with("stop: service STOP\nexit\n"));
  const ScmHandle gone(open_service(manager.handle, installed.name()));
  CHECK(gone.handle == nullptr);
  const auto missing = uninstall_service(installed.name(), milliseconds(1000));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("not installed") != std::string::npos);
}

TEST_CASE("windows service: started from a console, the same program runs as a console program",
          "[service]") {
  ferry::test::WindowsTempDir dir("ferry-service");
  { std::ofstream go(dir / "go"); }
  std::wstring command = win32::command_line(
      {win32::display(test_service()), win32::display(dir.path()), "5", "exit-on-reload"});
  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  PROCESS_INFORMATION child{};
  REQUIRE(::CreateProcessW(test_service().c_str(), command.data(), nullptr, nullptr, FALSE,
                           CREATE_NO_WINDOW, nullptr, nullptr, &startup, &child));
  const win32::UniqueHandle process(child.hProcess);
  const win32::UniqueHandle thread(child.hThread);
  CHECK(events_until(dir.path(), "ready\n") == "console\nready\n");
  // Its reload event, as a console user would set it.
  const win32::UniqueHandle event(
      ::OpenEventW(EVENT_MODIFY_STATE, FALSE, win32::reload_event_name(child.dwProcessId).c_str()));
  REQUIRE(event.valid());
  REQUIRE(::SetEvent(event.get()));
  REQUIRE(::WaitForSingleObject(process.get(), 10000) == WAIT_OBJECT_0);
  DWORD code = 0;
  REQUIRE(::GetExitCodeProcess(process.get(), &code));
  CHECK(code == 5);
  CHECK(ferry::test::file_bytes(dir / "events.txt") == "console\nready\nreload\nexit\n");
}

TEST_CASE("windows service: a definition the service manager cannot take is refused first",
          "[service]") {
  ServiceDefinition definition{"ferry-x", "", "", test_service(), {}};
  definition.program = "relative\\ferry-agent.exe";
  auto refused = install_service(definition);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == "InvalidParameterValue");
  CHECK(refused.error().message.find("not absolute") != std::string::npos);
  definition.program = test_service();
  for (const std::string& name :
       {std::string(), std::string("a\\b"), std::string("a/b"), std::string(257, 'x')}) {
    definition.name = name;
    refused = install_service(definition);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == "InvalidParameterValue");
  }
}
