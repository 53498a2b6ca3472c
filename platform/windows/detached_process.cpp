// detached_process.hpp on Windows. The program gets no console (DETACHED_PROCESS: the starter's
// Ctrl+C and the closing of its console do not reach it), a process group of its own, and is
// taken out of the starter's Job Object when the job allows it (CREATE_BREAKAWAY_FROM_JOB), so
// that the end of the agent's job does not end its supervisors; a job that allows no breakaway
// keeps it. stdin and stdout are the NUL device, stderr the given file, and those three handles
// are all it inherits (PROC_THREAD_ATTRIBUTE_HANDLE_LIST).
//
// The wait is Asio's object_handle on the process handle (a thread-pool wait that completes on
// the loop). cancel() goes through cancel_process(): kGraceful sets a supervisor's
// Local\ferry-cancel-<pid> event, or terminates a program that has none (windows/
// process_identity.cpp); kForced is TerminateProcess.

#include "ferry/platform/detached_process.hpp"

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/windows/object_handle.hpp>
#include <vector>

#include "ferry/core/error_codes.hpp"
#include "process.hpp"
#include "win32.hpp"

namespace ferry::platform {
namespace {

using win32::UniqueHandle;

// Whether this process is in a Job Object (which may or may not let its processes start others
// outside it: only CreateProcessW tells).
bool in_job() {
  BOOL in_job = FALSE;
  return ::IsProcessInJob(::GetCurrentProcess(), nullptr, &in_job) != 0 && in_job != FALSE;
}

// The NUL device, inheritable.
UniqueHandle open_null_device(DWORD access) {
  SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  return UniqueHandle(::CreateFileW(L"NUL", access, FILE_SHARE_READ | FILE_SHARE_WRITE, &inherit,
                                    OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr));
}

class WindowsDetachedProcess : public DetachedProcess {
 public:
  WindowsDetachedProcess(EventLoop& loop, HANDLE process, ProcessIdentity identity)
      : process_(loop, process), identity_(identity) {}

  // Closes the handle; the wait (if any) is aborted and its handler not called.
  ~WindowsDetachedProcess() override { *alive_ = false; }

  [[nodiscard]] ProcessIdentity identity() const override { return identity_; }

  void async_wait(ExitHandler done) override {
    process_.async_wait(
        [this, alive = alive_, done = std::move(done)](const boost::system::error_code& ec) {
          if (!*alive) {
            return;
          }
          DWORD code = 0;
          if (ec || ::GetExitCodeProcess(process_.native_handle(), &code) == 0) {
            done(-1);
            return;
          }
          done(static_cast<int>(code));
        });
  }

  bool cancel(CancelLevel level) override { return cancel_process(identity_, level); }

 private:
  boost::asio::windows::object_handle process_;
  ProcessIdentity identity_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

Error start_error(std::string_view what, DWORD err) {
  return win32::windows_error(codes::kInternalError, what, err);
}

}  // namespace

Expected<std::unique_ptr<DetachedProcess>> DetachedProcess::start(
    EventLoop& loop, const std::filesystem::path& program, const std::vector<std::string>& args,
    const OpenFile& error_log) {
  const std::string name = win32::display(program);
  std::vector<std::string> argv{name};
  argv.insert(argv.end(), args.begin(), args.end());
  for (const auto& arg : argv) {
    if (arg.find('\0') != std::string::npos) {
      return Error{codes::kInternalError,
                   "cannot start '" + name + "': an argument holds a NUL character"};
    }
  }
  std::wstring command = win32::command_line(argv);

  const UniqueHandle input = open_null_device(GENERIC_READ);
  const UniqueHandle output = open_null_device(GENERIC_WRITE);
  if (!input.valid() || !output.valid()) {
    return start_error("cannot start '" + name + "': opening NUL", ::GetLastError());
  }
  // An inheritable copy of the log's handle, so that the caller's stays as it is.
  HANDLE copy = nullptr;
  if (::DuplicateHandle(::GetCurrentProcess(), reinterpret_cast<HANDLE>(error_log.native()),
                        ::GetCurrentProcess(), &copy, 0, TRUE, DUPLICATE_SAME_ACCESS) == 0) {
    return start_error("cannot start '" + name + "': the error log", ::GetLastError());
  }
  const UniqueHandle error_output(copy);

  std::array<HANDLE, 3> inherited{input.get(), output.get(), error_output.get()};
  SIZE_T size = 0;
  ::InitializeProcThreadAttributeList(nullptr, 1, 0, &size);
  std::vector<unsigned char> storage(size);
  auto* attributes = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(storage.data());
  if (::InitializeProcThreadAttributeList(attributes, 1, 0, &size) == 0) {
    return start_error("cannot start '" + name + "'", ::GetLastError());
  }
  struct DetachedAttributesEnd {
    LPPROC_THREAD_ATTRIBUTE_LIST list;
    ~DetachedAttributesEnd() { ::DeleteProcThreadAttributeList(list); }
  } attributes_end{attributes};
  if (::UpdateProcThreadAttribute(attributes, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
                                  inherited.data(), sizeof(HANDLE) * inherited.size(), nullptr,
                                  nullptr) == 0) {
    return start_error("cannot start '" + name + "'", ::GetLastError());
  }

  STARTUPINFOEXW startup{};
  startup.StartupInfo.cb = sizeof startup;
  startup.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  startup.StartupInfo.hStdInput = input.get();
  startup.StartupInfo.hStdOutput = output.get();
  startup.StartupInfo.hStdError = error_output.get();
  startup.lpAttributeList = attributes;
  const DWORD flags = DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP | EXTENDED_STARTUPINFO_PRESENT;

  PROCESS_INFORMATION started{};
  const auto create = [&](DWORD more_flags) {
    return ::CreateProcessW(program.c_str(), command.data(), nullptr, nullptr, TRUE,
                            flags | more_flags, nullptr, nullptr, &startup.StartupInfo,
                            &started) != 0;
  };
  // A job that does not allow breaking away refuses it with ERROR_ACCESS_DENIED: then the
  // program stays in the job (and ends with it).
  const bool breakaway = in_job();
  bool created = breakaway && create(CREATE_BREAKAWAY_FROM_JOB);
  if (!created && (!breakaway || ::GetLastError() == ERROR_ACCESS_DENIED)) {
    created = create(0);
  }
  if (!created) {
    return start_error("cannot start '" + name + "'", ::GetLastError());
  }
  UniqueHandle process(started.hProcess);
  const UniqueHandle thread(started.hThread);
  // Read from the handle, which keeps the pid from being reused: certainly this process.
  const auto creation = win32::process_creation_time(process.get());
  const ProcessIdentity identity{static_cast<int>(started.dwProcessId), creation.value_or(0)};
  try {
    return std::unique_ptr<DetachedProcess>(
        std::make_unique<WindowsDetachedProcess>(loop, process.release(), identity));
  } catch (const std::exception& e) {
    return Error{codes::kInternalError, "watching '" + name + "': " + e.what()};
  }
}

}  // namespace ferry::platform
