// process_identity.hpp on Windows. A process is named by its pid and its creation time (FILETIME,
// 100 ns units since 1601). A handle to a process keeps its pid from being given to another
// process until the handle is closed, so a check made through the handle holds for what is
// done through it next.
//
// Cancelling: Windows has no SIGTERM. A supervisor creates the auto-reset event
// Local\ferry-cancel-<its pid> (block_supervisor_signals(), run_supervised()) and waits on it;
// kGraceful sets that event. A process without the event (one that is not a supervisor, or one
// too early in its start to have made it) is terminated instead, as SIGTERM's default action ends
// a POSIX process that does not take the signal. kForced is TerminateProcess.

#include "ferry/platform/process_identity.hpp"

#include <winternl.h>

#include <array>
#include <fstream>
#include <string>

#include "process.hpp"
#include "win32.hpp"

namespace ferry::platform {
namespace {

// The exit code a process terminated by cancel_process() gets (taskkill /F gives the same).
constexpr UINT kTerminatedExitCode = 1;

// SystemTimeOfDayInformation's layout (winternl.h leaves it opaque).
struct TimeOfDay {
  LARGE_INTEGER boot_time;
  LARGE_INTEGER current_time;
  LARGE_INTEGER time_zone_bias;
  ULONG time_zone_id;
  ULONG reserved;
  ULONGLONG boot_time_bias;
  ULONGLONG sleep_time_bias;
};

std::string environment_variable(const wchar_t* name) {
  std::array<wchar_t, 1024> buffer{};
  const DWORD n = ::GetEnvironmentVariableW(name, buffer.data(), buffer.size());
  if (n == 0 || n >= buffer.size()) {
    return {};
  }
  return win32::narrow(std::wstring_view(buffer.data(), n));
}

// The boot counter Windows keeps in the registry (absent under wine).
std::string registry_boot_id() {
  DWORD value = 0;
  DWORD size = sizeof value;
  if (::RegGetValueW(HKEY_LOCAL_MACHINE,
                     L"SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Memory "
                     L"Management\\PrefetchParameters",
                     L"BootId", RRF_RT_REG_DWORD, nullptr, &value, &size) != ERROR_SUCCESS) {
    return {};
  }
  return "boot-" + std::to_string(value);
}

// The time the system started, less what clock changes have moved it by.
std::string boot_time_id() {
  TimeOfDay info{};
  ULONG size = 0;
  if (!NT_SUCCESS(
          ::NtQuerySystemInformation(SystemTimeOfDayInformation, &info, sizeof info, &size)) ||
      size < sizeof(LARGE_INTEGER)) {
    return {};
  }
  const auto boot = static_cast<unsigned long long>(info.boot_time.QuadPart) - info.boot_time_bias;
  return "boot-time-" + std::to_string(boot);
}

// A handle to the live process `pid`, or an empty one when there is none or it has exited.
win32::UniqueHandle open_live_process(int pid, DWORD access) {
  if (pid <= 0) {
    return {};
  }
  win32::UniqueHandle process(::OpenProcess(
      access | SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, static_cast<DWORD>(pid)));
  if (!process.valid() || ::WaitForSingleObject(process.get(), 0) != WAIT_TIMEOUT) {
    return {};
  }
  return process;
}

}  // namespace

std::string boot_id() {
  const std::string file = environment_variable(win32::widen(kBootIdFileVariable).c_str());
  if (!file.empty()) {
    std::ifstream in(std::filesystem::path(win32::widen(file)), std::ios::binary);
    std::string id;
    std::getline(in, id);
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ' || id.back() == '\r')) {
      id.pop_back();
    }
    return id;
  }
  std::string id = registry_boot_id();
  return id.empty() ? boot_time_id() : id;
}

std::optional<ProcessIdentity> identify_process(int pid) {
  const win32::UniqueHandle process = open_live_process(pid, 0);
  if (!process.valid()) {
    return std::nullopt;
  }
  const auto created = win32::process_creation_time(process.get());
  if (!created) {
    return std::nullopt;
  }
  return ProcessIdentity{pid, *created};
}

int current_process_id() {
  return static_cast<int>(::GetCurrentProcessId());
}

bool is_running(const ProcessIdentity& process) {
  return identify_process(process.pid) == process;
}

bool cancel_process(const ProcessIdentity& process, CancelLevel level) {
  win32::UniqueHandle handle = open_live_process(process.pid, PROCESS_TERMINATE);
  if (!handle.valid() && level == CancelLevel::kGraceful) {
    // A supervisor of another account (the service's, for an administrator) may still be
    // cancelled through its event.
    handle = open_live_process(process.pid, 0);
  }
  if (!handle.valid() || win32::process_creation_time(handle.get()) != process.start_time) {
    return false;
  }
  if (level == CancelLevel::kGraceful) {
    const win32::UniqueHandle event(
        ::OpenEventW(EVENT_MODIFY_STATE, FALSE,
                     win32::cancel_event_name(static_cast<DWORD>(process.pid)).c_str()));
    if (event.valid()) {
      return ::SetEvent(event.get()) != 0;
    }
  }
  return ::TerminateProcess(handle.get(), kTerminatedExitCode) != 0;
}

}  // namespace ferry::platform
