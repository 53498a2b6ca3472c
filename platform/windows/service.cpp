// service.hpp on Windows: a service of its own process under the service control manager (SCM).
//
// run_service_or_console() hands the SCM a one-entry dispatch table unless the process's parent is
// known not to be the SCM (services.exe); then `main` runs as a console program at once.
// StartServiceCtrlDispatcherW would say so too, failing with
// ERROR_FAILED_SERVICE_CONTROLLER_CONNECT, at once on Windows but only after about 10 s under
// wine; when it fails so anyway, `main` runs as a console program as well. As a service,
// the dispatcher (on the calling thread) starts service_main on a thread of its own, which
// registers the control handler, reports START_PENDING and runs `main`; the control handler runs
// on the dispatcher's thread. The state reported to the SCM is process-wide, as the SCM's
// callbacks take no context of ours.
//
// The one shutdown path: STOP and SHUTDOWN go to StopRequests (win32::request_stop), as Ctrl+C
// does in console mode; PARAMCHANGE goes to ReloadRequests' event (win32::request_reload).

#include "ferry/platform/service.hpp"

#include <array>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

#include "control_requests.hpp"
#include "ferry/core/error_codes.hpp"
#include "process.hpp"
#include "win32.hpp"
// After windows.h (win32.hpp), which it needs.
#include <tlhelp32.h>

namespace ferry::platform {
namespace {

using win32::widen;

// How long the SCM is told to wait for the next report while starting or stopping; the agent
// stops in seconds (it leaves its tasks running), its start reads the journal.
constexpr DWORD kPendingWaitHintMillis = 30000;
// The recovery actions of install_service.
constexpr DWORD kRestartDelayMillis = 5000;
constexpr DWORD kFailureResetSeconds = 24 * 60 * 60;
constexpr std::size_t kRestarts = 3;
// How often uninstall_service looks whether the service has stopped.
constexpr auto kStopPoll = std::chrono::milliseconds(100);

struct ServiceRun {
  std::mutex mutex;  // status and handle: the control handler and `main` both report
  std::wstring name;
  const std::function<int()>* main = nullptr;
  SERVICE_STATUS_HANDLE handle = nullptr;
  SERVICE_STATUS status{};
  bool stopping = false;
  int exit_code = 0;
  std::atomic<bool> service_mode{false};
};

ServiceRun& service_run() {
  static ServiceRun run;
  return run;
}

// With the run's mutex held.
void report_locked(ServiceRun& run, DWORD state, DWORD win32_exit = NO_ERROR,
                   DWORD specific_exit = 0) {
  if (run.handle == nullptr) {
    return;
  }
  SERVICE_STATUS& s = run.status;
  s.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  s.dwCurrentState = state;
  // The SCM sends no controls while a service is pending anyway.
  s.dwControlsAccepted = state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN |
                                                        SERVICE_ACCEPT_PARAMCHANGE
                                                  : 0;
  s.dwWin32ExitCode = win32_exit;
  s.dwServiceSpecificExitCode = specific_exit;
  const bool pending = state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING;
  s.dwCheckPoint = pending ? s.dwCheckPoint + 1 : 0;
  s.dwWaitHint = pending ? kPendingWaitHintMillis : 0;
  ::SetServiceStatus(run.handle, &s);
}

void report(DWORD state) {
  auto& run = service_run();
  const std::lock_guard lock(run.mutex);
  if (run.stopping && state != SERVICE_STOP_PENDING) {
    return;  // no way back to RUNNING once stopping
  }
  run.stopping = run.stopping || state == SERVICE_STOP_PENDING;
  report_locked(run, state);
}

DWORD WINAPI on_service_control(DWORD control, DWORD /*event_type*/, void* /*event_data*/,
                                void* /*context*/) {
  switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
      report(SERVICE_STOP_PENDING);
      win32::request_stop(control == SERVICE_CONTROL_STOP ? "service STOP" : "service SHUTDOWN");
      return NO_ERROR;
    case SERVICE_CONTROL_PARAMCHANGE:
      win32::request_reload();
      return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
      return NO_ERROR;
    default:
      return ERROR_CALL_NOT_IMPLEMENTED;
  }
}

void WINAPI service_main(DWORD /*argc*/, LPWSTR* /*argv*/) {
  auto& run = service_run();
  {
    const std::lock_guard lock(run.mutex);
    run.handle = ::RegisterServiceCtrlHandlerExW(run.name.c_str(), on_service_control, nullptr);
    if (run.handle == nullptr) {
      run.exit_code = 1;
      return;  // the SCM sees the service end without a word
    }
    run.service_mode = true;
    report_locked(run, SERVICE_START_PENDING);
  }
  const int code = (*run.main)();
  const std::lock_guard lock(run.mutex);
  run.exit_code = code;
  run.stopping = true;
  report_locked(run, SERVICE_STOPPED, code == 0 ? NO_ERROR : ERROR_SERVICE_SPECIFIC_ERROR,
                static_cast<DWORD>(code));
}

// An SCM handle closed at the end.
struct ScHandle {
  SC_HANDLE handle = nullptr;
  explicit ScHandle(SC_HANDLE h) : handle(h) {}
  ScHandle(const ScHandle&) = delete;
  ScHandle& operator=(const ScHandle&) = delete;
  ~ScHandle() {
    if (handle != nullptr) {
      ::CloseServiceHandle(handle);
    }
  }
};

Error service_error(const std::string& what, DWORD err) {
  return win32::windows_error(codes::kInternalError, what, err);
}

Status check_definition(const ServiceDefinition& service) {
  const auto invalid = [&](const std::string& why) {
    return Error{codes::kInvalidParameterValue, "service '" + service.name + "': " + why};
  };
  if (service.name.empty() || service.name.size() > 256 ||
      service.name.find_first_of("/\\") != std::string::npos) {
    return invalid("a service name has 1 to 256 characters and no '/' or '\\'");
  }
  for (const auto& text : {service.name, service.display_name, service.description}) {
    if (text.find('\0') != std::string::npos) {
      return invalid("NUL character in the definition");
    }
  }
  if (!service.program.is_absolute()) {
    return invalid("the program '" + win32::display(service.program) + "' is not absolute");
  }
  for (const auto& arg : service.args) {
    if (arg.find('\0') != std::string::npos) {
      return invalid("NUL character in an argument");
    }
  }
  return {};
}

Status configure_service(SC_HANDLE service, const ServiceDefinition& definition) {
  std::wstring description = widen(definition.description);
  SERVICE_DESCRIPTIONW text{description.data()};
  if (::ChangeServiceConfig2W(service, SERVICE_CONFIG_DESCRIPTION, &text) == 0) {
    return service_error("service '" + definition.name + "': setting its description",
                         ::GetLastError());
  }
  std::array<SC_ACTION, kRestarts> restarts{};
  for (auto& action : restarts) {
    action = SC_ACTION{SC_ACTION_RESTART, kRestartDelayMillis};
  }
  SERVICE_FAILURE_ACTIONSW actions{};
  actions.dwResetPeriod = kFailureResetSeconds;
  actions.cActions = restarts.size();
  actions.lpsaActions = restarts.data();
  if (::ChangeServiceConfig2W(service, SERVICE_CONFIG_FAILURE_ACTIONS, &actions) == 0) {
    return service_error("service '" + definition.name + "': setting its recovery actions",
                         ::GetLastError());
  }
  // A service manager that does not know this setting (wine's; Windows has it since Vista)
  // restarts the service after crashes only.
  SERVICE_FAILURE_ACTIONS_FLAG on_exit_code{TRUE};
  if (::ChangeServiceConfig2W(service, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &on_exit_code) == 0 &&
      ::GetLastError() != ERROR_INVALID_LEVEL) {
    return service_error("service '" + definition.name + "': setting its recovery on exit codes",
                         ::GetLastError());
  }
  return {};
}

// Whether this process may have been started by the service control manager: false only when
// its parent is known and is not services.exe in the system directory (every service's parent
// is; the SCM runs from boot to shutdown). When it cannot tell (the parent has ended or cannot
// be opened), the dispatcher decides.
bool started_by_service_manager() {
  const win32::UniqueHandle snapshot(::CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0));
  if (snapshot.get() == INVALID_HANDLE_VALUE) {
    return true;
  }
  const DWORD self = ::GetCurrentProcessId();
  DWORD parent = 0;
  PROCESSENTRY32W entry{};
  entry.dwSize = sizeof entry;
  for (BOOL more = ::Process32FirstW(snapshot.get(), &entry); more != 0;
       more = ::Process32NextW(snapshot.get(), &entry)) {
    if (entry.th32ProcessID == self) {
      parent = entry.th32ParentProcessID;
      break;
    }
  }
  const win32::UniqueHandle process(
      parent == 0 ? nullptr : ::OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, parent));
  if (process.get() == nullptr) {
    return true;
  }
  std::wstring image(MAX_PATH * 4, L'\0');
  auto size = static_cast<DWORD>(image.size());
  if (::QueryFullProcessImageNameW(process.get(), 0, image.data(), &size) == 0) {
    return true;
  }
  image.resize(size);
  std::array<wchar_t, MAX_PATH + 1> system{};
  const UINT n = ::GetSystemDirectoryW(system.data(), static_cast<UINT>(system.size()));
  const std::wstring expected = std::wstring(system.data(), n) + L"\\services.exe";
  return n == 0 ||
         ::CompareStringOrdinal(image.data(), static_cast<int>(image.size()), expected.data(),
                                static_cast<int>(expected.size()), TRUE) == CSTR_EQUAL;
}

}  // namespace

int run_service_or_console(std::string_view name, const std::function<int()>& main) {
  if (!started_by_service_manager()) {
    return main();
  }
  auto& run = service_run();
  run.name = widen(name);
  run.main = &main;
  std::array<SERVICE_TABLE_ENTRYW, 2> table{{{run.name.data(), service_main}, {nullptr, nullptr}}};
  if (::StartServiceCtrlDispatcherW(table.data()) != 0) {
    return run.exit_code;  // the service has stopped
  }
  const DWORD err = ::GetLastError();
  if (err == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
    return main();  // not started by the SCM: a console program
  }
  const std::string why = "service " + std::string(name) +
                          ": the service dispatcher failed: " + win32::error_text(err) + "\n";
  std::fputs(why.c_str(), stderr);
  return 1;
}

bool in_service_mode() {
  return service_run().service_mode;
}

Status install_service(const ServiceDefinition& service) {
  if (auto s = check_definition(service); !s) {
    return s;
  }
  std::vector<std::string> argv{win32::display(service.program)};
  argv.insert(argv.end(), service.args.begin(), service.args.end());
  const std::wstring command = win32::command_line(argv);
  const std::wstring name = widen(service.name);
  const std::wstring display =
      widen(service.display_name.empty() ? service.name : service.display_name);

  const ScHandle manager(::OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CREATE_SERVICE));
  if (manager.handle == nullptr) {
    return service_error("installing service '" + service.name + "': the service manager",
                         ::GetLastError());
  }
  // lpServiceStartName nullptr: LocalSystem.
  const ScHandle created(::CreateServiceW(manager.handle, name.c_str(), display.c_str(),
                                          SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS,
                                          SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, command.c_str(),
                                          nullptr, nullptr, nullptr, nullptr, nullptr));
  if (created.handle == nullptr) {
    const DWORD err = ::GetLastError();
    if (err == ERROR_SERVICE_EXISTS) {
      return Error{codes::kInternalError, "installing service '" + service.name +
                                              "': a service of that name is installed already "
                                              "(uninstall it first)"};
    }
    if (err == ERROR_DUPLICATE_SERVICE_NAME) {
      return Error{codes::kInternalError,
                   "installing service '" + service.name + "': another service has the name '" +
                       win32::narrow(display) + "' (as its name or display name)"};
    }
    return service_error("installing service '" + service.name + "'", err);
  }
  if (auto s = configure_service(created.handle, service); !s) {
    ::DeleteService(created.handle);  // not half a service
    return s;
  }
  return {};
}

Status uninstall_service(std::string_view name, std::chrono::milliseconds stop_timeout) {
  const std::string display(name);
  const ScHandle manager(::OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT));
  if (manager.handle == nullptr) {
    return service_error("removing service '" + display + "': the service manager",
                         ::GetLastError());
  }
  const ScHandle service(::OpenServiceW(manager.handle, widen(name).c_str(),
                                        SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE));
  if (service.handle == nullptr) {
    const DWORD err = ::GetLastError();
    if (err == ERROR_SERVICE_DOES_NOT_EXIST) {
      return Error{codes::kInternalError, "removing service '" + display + "': not installed"};
    }
    return service_error("removing service '" + display + "'", err);
  }
  SERVICE_STATUS status{};
  if (::ControlService(service.handle, SERVICE_CONTROL_STOP, &status) == 0) {
    const DWORD err = ::GetLastError();
    if (err != ERROR_SERVICE_NOT_ACTIVE) {
      return service_error("removing service '" + display + "': stopping it", err);
    }
  }
  const auto until = std::chrono::steady_clock::now() + stop_timeout;
  for (;;) {
    SERVICE_STATUS_PROCESS state{};
    DWORD needed = 0;
    if (::QueryServiceStatusEx(service.handle, SC_STATUS_PROCESS_INFO,
                               reinterpret_cast<BYTE*>(&state), sizeof state, &needed) == 0) {
      return service_error("removing service '" + display + "': its state", ::GetLastError());
    }
    if (state.dwCurrentState == SERVICE_STOPPED) {
      break;
    }
    if (std::chrono::steady_clock::now() >= until) {
      return Error{codes::kInternalError,
                   "removing service '" + display + "': it did not stop within " +
                       std::to_string(stop_timeout.count()) + " ms; it is still installed"};
    }
    std::this_thread::sleep_for(kStopPoll);
  }
  if (::DeleteService(service.handle) == 0) {
    return service_error("removing service '" + display + "'", ::GetLastError());
  }
  return {};
}

// The SCM has no configuration for the environment to hand over: nothing to take.
ServiceManagerSettings take_service_manager_settings() {
  return {};
}

Status send_service_notification(const std::string& /*socket*/, std::string_view /*message*/) {
  return Error{codes::kInternalError, "systemd's notify protocol does not exist on Windows"};
}

// A write to a closed socket fails with an error on Windows already (there is no SIGPIPE).
void prepare_service_process() {}

struct ServiceNotifier::Impl {};

ServiceNotifier::ServiceNotifier(EventLoop& /*loop*/, ServiceManagerSettings /*settings*/,
                                 std::chrono::milliseconds /*status_interval*/)
    : impl_(std::make_shared<Impl>()) {}

ServiceNotifier::~ServiceNotifier() {
  stop();
}

bool ServiceNotifier::enabled() const {
  return in_service_mode();
}

std::chrono::microseconds ServiceNotifier::watchdog_interval() const {
  return std::chrono::microseconds::zero();
}

void ServiceNotifier::ready() {
  if (in_service_mode()) {
    report(SERVICE_RUNNING);
  }
}

void ServiceNotifier::reloading() {}

void ServiceNotifier::stopping() {
  if (in_service_mode()) {
    report(SERVICE_STOP_PENDING);
  }
}

void ServiceNotifier::status(std::string_view /*text*/) {}

void ServiceNotifier::start_watchdog() {}

void ServiceNotifier::stop() {}

}  // namespace ferry::platform
