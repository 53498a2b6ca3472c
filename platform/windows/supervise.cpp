// supervise.hpp on Windows. The program starts suspended, goes into a Job Object of its own
// (KILL_ON_JOB_CLOSE, notifications through a completion port) and only then runs, so that
// nothing it starts can be outside the job; it cannot break away (no BREAKAWAY_OK). A timeout or
// cancel ends the whole job with TerminateJobObject, which reaches what the program detached
// (`start /b`) as well.
//
// The task writes stdout and stderr into one pipe (a named pipe of one instance, its write end
// the only handle the task inherits besides its stdin: PROC_THREAD_ATTRIBUTE_HANDLE_LIST); the
// supervisor reads it with overlapped reads and writes the spool (windows/output.hpp: lines
// that are not UTF-8 decoded from the OEM code page, the cap and the tail past it).
//
// One completion port carries everything the supervisor waits for: the job's messages, the
// pipe's reads, the main process's end and a cancel (both through thread-pool waits that post to
// the port), so the loop is GetQueuedCompletionStatus with the next timer as its timeout.
//
// Cancel: the auto-reset event Local\ferry-cancel-<supervisor pid> (cancel_process() sets it,
// see windows/process_identity.cpp), and Ctrl+C, Ctrl+Break or the console closing, which set it
// too (what SIGINT and SIGHUP are on POSIX).
//
// The graceful step: Ctrl+Break to the task's process group (it is started as a new one), when
// the supervisor has a console that the task shares; without a console (a service, a detached
// supervisor) there is no graceful signal to give, and the job is terminated at once.

#include "ferry/platform/supervise.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "account.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/core/error.hpp"
#include "ferry/core/error_codes.hpp"
#include "output.hpp"
#include "process.hpp"
#include "win32.hpp"

namespace ferry::platform {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using Kind = SuperviseOutcome::Kind;
using win32::UniqueHandle;

// Completion keys of the supervisor's port.
constexpr ULONG_PTR kJobKey = 1;
constexpr ULONG_PTR kCancelKey = 2;
constexpr ULONG_PTR kMainExitKey = 3;
constexpr ULONG_PTR kOutputKey = 4;
// One overlapped read of the output pipe at a time, of at most this much.
constexpr DWORD kReadBuffer = 64 * 1024;
// After the end, whatever the pipe still holds is read for at most this many rounds, and a read
// that is cancelled is awaited this long.
constexpr int kFinalReads = 256;
constexpr DWORD kCancelWaitMillis = 2000;
// The exit code that TerminateJobObject / TerminateProcess give what they end (taskkill /F's).
constexpr UINT kKilledExitCode = 1;
// TerminateJobObject repeats at this pace until the job is empty.
constexpr milliseconds kKillRepeat{50};
// A process that does not end after this long of termination is reported rather than awaited.
constexpr milliseconds kKillGiveUp{10000};

// The cancel event of this process, made on first use and kept for its lifetime. nullptr when it
// could not be made.
HANDLE cancel_event() {
  static const HANDLE event = ::CreateEventW(
      nullptr, FALSE, FALSE, win32::cancel_event_name(::GetCurrentProcessId()).c_str());
  return event;
}

BOOL WINAPI on_console_control(DWORD type) {
  switch (type) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
    case CTRL_CLOSE_EVENT:
      if (cancel_event() != nullptr) {
        ::SetEvent(cancel_event());
      }
      return TRUE;
    default:
      return FALSE;
  }
}

// The cancel event and the console handler, once per process.
HANDLE take_cancels() {
  static const bool handler = ::SetConsoleCtrlHandler(on_console_control, TRUE) != 0;
  (void)handler;
  return cancel_event();
}

milliseconds bounded(milliseconds d) {
  constexpr milliseconds kLongest = std::chrono::hours(24 * 365 * 10);
  return std::clamp(d, milliseconds::zero(), kLongest);
}

// GetQueuedCompletionStatus's timeout until `next`; INFINITE when there is none.
DWORD wait_millis(SteadyClock::time_point now, std::optional<SteadyClock::time_point> next) {
  if (!next) {
    return INFINITE;
  }
  const auto wait = std::chrono::ceil<milliseconds>(*next - now);
  return static_cast<DWORD>(std::clamp<milliseconds::rep>(wait.count(), 0, 60000));
}

// Whether this process has a console that a task it starts would share.
bool has_console() {
  std::array<DWORD, 4> processes{};
  return ::GetConsoleProcessList(processes.data(), processes.size()) > 0;
}

// What a thread-pool wait posts to the port when its object is signalled.
struct PortPost {
  HANDLE port = nullptr;
  ULONG_PTR key = 0;
};

void CALLBACK post_to_port(void* context, BOOLEAN /*timed_out*/) {
  const auto* post = static_cast<const PortPost*>(context);
  ::PostQueuedCompletionStatus(post->port, 0, post->key, nullptr);
}

// A RegisterWaitForSingleObject registration, unregistered (and its callback finished) at the end.
class RegisteredWait {
 public:
  RegisteredWait() = default;
  RegisteredWait(const RegisteredWait&) = delete;
  RegisteredWait& operator=(const RegisteredWait&) = delete;
  ~RegisteredWait() { reset(); }

  bool start(HANDLE object, const PortPost* post) {
    reset();
    return ::RegisterWaitForSingleObject(&wait_, object, post_to_port, const_cast<PortPost*>(post),
                                         INFINITE, WT_EXECUTEONLYONCE) != 0;
  }
  void reset() {
    if (wait_ != nullptr) {
      ::UnregisterWaitEx(wait_, INVALID_HANDLE_VALUE);
      wait_ = nullptr;
    }
  }

 private:
  HANDLE wait_ = nullptr;
};

class Supervision {
 public:
  explicit Supervision(const SuperviseSpec& spec) : spec_(spec) {}
  SuperviseOutcome run();

 private:
  SuperviseOutcome fail_start(Error error);
  SuperviseOutcome cancelled_before_start();
  std::optional<Error> check_before_start();
  std::optional<Error> open_files();
  std::optional<Error> make_job();
  std::optional<Error> open_output_pipe();
  std::optional<Error> start_process();
  void start_read();
  void on_read(DWORD bytes);
  void consume(DWORD bytes);
  void finish_output();
  void loop();
  void begin_kill(Kind reason);
  void force_kill();
  // One round of the forced kill: the job (or the main process), and when to repeat it.
  void terminate(SteadyClock::time_point now);
  void on_timers(SteadyClock::time_point now);
  [[nodiscard]] bool finished(SteadyClock::time_point now);
  [[nodiscard]] std::optional<SteadyClock::time_point> next_timer() const;
  [[nodiscard]] bool kill_pending() const;
  [[nodiscard]] DWORD active_processes() const;
  void leave_survivors();

  const SuperviseSpec& spec_;
  SuperviseOutcome outcome_;
  HANDLE cancel_ = nullptr;
  UniqueHandle spool_;
  UniqueHandle stdin_;
  UniqueHandle pipe_read_;   // overlapped, on the port
  UniqueHandle pipe_write_;  // the task's stdout and stderr; closed here once it has started
  OVERLAPPED read_overlapped_{};
  std::vector<char> read_buffer_;
  bool read_pending_ = false;
  bool output_open_ = false;
  std::optional<win32::OutputDecoder> decoder_;
  std::optional<win32::SpoolWriter> spool_writer_;
  UniqueHandle job_;
  UniqueHandle port_;
  UniqueHandle main_;
  DWORD main_pid_ = 0;
  bool main_alive_ = false;
  DWORD main_status_ = 0;
  bool shares_console_ = false;
  PortPost cancel_post_;
  PortPost exit_post_;
  // After port_: unregistered (their callbacks done) before it closes.
  RegisteredWait exit_wait_;
  RegisteredWait cancel_wait_;
  std::optional<Kind> kill_reason_;
  enum class KillPhase { kNone, kGrace, kKill } phase_ = KillPhase::kNone;
  SteadyClock::time_point deadline_;
  SteadyClock::time_point phase_since_;
  SteadyClock::time_point next_kill_round_;
  bool gave_up_ = false;
  std::optional<SteadyClock::time_point> drain_until_;
};

SuperviseOutcome Supervision::fail_start(Error error) {
  outcome_.kind = Kind::kStartFailed;
  outcome_.error_code = std::move(error.code);
  outcome_.error = std::move(error.message);
  outcome_.end_time = std::chrono::system_clock::now();
  if (outcome_.start_time == std::chrono::system_clock::time_point{}) {
    outcome_.start_time = outcome_.end_time;
  }
  return outcome_;
}

SuperviseOutcome Supervision::cancelled_before_start() {
  outcome_.kind = Kind::kCancelled;
  outcome_.end_time = std::chrono::system_clock::now();
  outcome_.start_time = outcome_.end_time;
  return outcome_;
}

// What can be told before CreateProcessW, with a clearer message than its error would give.
std::optional<Error> Supervision::check_before_start() {
  if (spec_.argv.empty()) {
    return Error{codes::kInternalError, "no program to run"};
  }
  for (const auto& arg : spec_.argv) {
    if (arg.find('\0') != std::string::npos) {
      return Error{codes::kInternalError, "an argument of the program holds a NUL character"};
    }
  }
  if (spec_.command_line.find('\0') != std::string::npos) {
    return Error{codes::kInternalError, "the program's command line holds a NUL character"};
  }
  const std::string user = win32::current_user_name();
  if (spec_.run_as && !win32::same_user_name(spec_.run_as->name, user)) {
    return Error{codes::kInvalidUsername,
                 "cannot run as user '" + spec_.run_as->name + "': running a task as another " +
                     "user than the agent's own ('" + user + "') is not supported on Windows yet"};
  }
  if (!spec_.working_directory.empty()) {
    const DWORD attributes = ::GetFileAttributesW(win32::widen(spec_.working_directory).c_str());
    const std::string what = "working directory '" + spec_.working_directory +
                             "' cannot be entered as user '" + user + "'";
    if (attributes == INVALID_FILE_ATTRIBUTES) {
      return win32::windows_error(codes::kInvalidWorkingDirectory, what, ::GetLastError());
    }
    if ((attributes & FILE_ATTRIBUTE_DIRECTORY) == 0) {
      return Error{codes::kInvalidWorkingDirectory, what + ": not a directory"};
    }
  }
  if (!spec_.script_path.empty()) {
    const UniqueHandle script(::CreateFileW(win32::widen(spec_.script_path).c_str(), GENERIC_READ,
                                            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                                            nullptr, OPEN_EXISTING, 0, nullptr));
    if (!script.valid()) {
      return win32::windows_error(codes::kInternalError,
                                  "ScriptStoreFailed: the script '" + spec_.script_path +
                                      "' is not readable by user '" + user + "'",
                                  ::GetLastError());
    }
  }
  return std::nullopt;
}

// The spool (created or emptied; never through a link; the supervisor's alone) and stdin
// (inheritable: the task gets it).
std::optional<Error> Supervision::open_files() {
  SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  spool_.reset(::CreateFileW(win32::widen(spec_.output_path).c_str(), GENERIC_WRITE,
                             FILE_SHARE_READ | FILE_SHARE_DELETE, nullptr, CREATE_ALWAYS,
                             FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, nullptr));
  if (!spool_.valid()) {
    return win32::windows_error(codes::kInternalError, "opening output file " + spec_.output_path,
                                ::GetLastError());
  }
  BY_HANDLE_FILE_INFORMATION info{};
  if (::GetFileInformationByHandle(spool_.get(), &info) == 0 ||
      (info.dwFileAttributes & (FILE_ATTRIBUTE_REPARSE_POINT | FILE_ATTRIBUTE_DIRECTORY)) != 0) {
    return Error{codes::kInternalError,
                 "opening output file " + spec_.output_path + ": not a regular file"};
  }
  const std::wstring input =
      spec_.stdin_path.empty() ? std::wstring(L"NUL") : win32::widen(spec_.stdin_path);
  stdin_.reset(::CreateFileW(input.c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                             &inherit, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr));
  if (!stdin_.valid()) {
    return win32::windows_error(codes::kInternalError,
                                "opening the task's input " + win32::narrow(input),
                                ::GetLastError());
  }
  return std::nullopt;
}

// The task's Job Object. Every task gets one, whatever contain_tree says: it is how Windows
// finds and ends a tree at all (there is no parentage walk to fall back to, as on Linux).
std::optional<Error> Supervision::make_job() {
  port_.reset(::CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 1));
  job_.reset(::CreateJobObjectW(nullptr, nullptr));
  if (!port_.valid() || !job_.valid()) {
    return win32::windows_error(codes::kInternalError, "creating the task's job object",
                                ::GetLastError());
  }
  JOBOBJECT_ASSOCIATE_COMPLETION_PORT association{};
  association.CompletionKey = reinterpret_cast<void*>(kJobKey);
  association.CompletionPort = port_.get();
  // The supervisor's end (even a crash) ends the task, as the parent-death signal does on
  // Linux; a crash dialog would hang a task that nobody watches.
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
  limits.BasicLimitInformation.LimitFlags =
      JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION;
  if (::SetInformationJobObject(job_.get(), JobObjectAssociateCompletionPortInformation,
                                &association, sizeof association) == 0 ||
      ::SetInformationJobObject(job_.get(), JobObjectExtendedLimitInformation, &limits,
                                sizeof limits) == 0) {
    return win32::windows_error(codes::kInternalError, "setting up the task's job object",
                                ::GetLastError());
  }
  cancel_post_ = PortPost{port_.get(), kCancelKey};
  exit_post_ = PortPost{port_.get(), kMainExitKey};
  return std::nullopt;
}

// The output pipe: a named pipe because only those take overlapped reads, of one instance,
// local clients only, its name unguessable; the supervisor opens the one client end itself
// right away, so no other process can take it.
std::optional<Error> Supervision::open_output_pipe() {
  const auto random = random_bytes(16);
  if (!random) {
    return Error{codes::kInternalError, "naming the task's output pipe: " + random.error().message};
  }
  const std::wstring name = L"\\\\.\\pipe\\ferry-output-" +
                            std::to_wstring(::GetCurrentProcessId()) + L"-" +
                            win32::widen(hex_encode(*random));
  pipe_read_.reset(::CreateNamedPipeW(
      name.c_str(), PIPE_ACCESS_INBOUND | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
      PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1, 0,
      kReadBuffer, 0, nullptr));
  if (!pipe_read_.valid()) {
    return win32::windows_error(codes::kInternalError, "creating the task's output pipe",
                                ::GetLastError());
  }
  SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  pipe_write_.reset(::CreateFileW(name.c_str(), GENERIC_WRITE, 0, &inherit, OPEN_EXISTING,
                                  FILE_ATTRIBUTE_NORMAL, nullptr));
  if (!pipe_write_.valid()) {
    return win32::windows_error(codes::kInternalError, "opening the task's output pipe",
                                ::GetLastError());
  }
  if (::CreateIoCompletionPort(pipe_read_.get(), port_.get(), kOutputKey, 0) == nullptr) {
    return win32::windows_error(codes::kInternalError, "waiting for the task's output",
                                ::GetLastError());
  }
  read_buffer_.resize(kReadBuffer);
  decoder_.emplace(::GetOEMCP());
  spool_writer_.emplace(spool_.get(), spec_.output_max_bytes, spec_.output_tail_bytes);
  output_open_ = true;
  return std::nullopt;
}

// One overlapped read; its end (data, or the pipe closed by the last writer) comes through the
// port, even when it completes at once.
void Supervision::start_read() {
  if (!output_open_ || read_pending_) {
    return;
  }
  read_overlapped_ = OVERLAPPED{};
  if (::ReadFile(pipe_read_.get(), read_buffer_.data(), kReadBuffer, nullptr, &read_overlapped_) ==
          0 &&
      ::GetLastError() != ERROR_IO_PENDING) {
    output_open_ = false;  // ERROR_BROKEN_PIPE: every writer is gone
    return;
  }
  read_pending_ = true;
}

void Supervision::on_read(DWORD bytes) {
  read_pending_ = false;
  consume(bytes);
  start_read();
}

// What a read brought, decoded, into the spool.
void Supervision::consume(DWORD bytes) {
  std::string text;
  decoder_->feed(std::string_view(read_buffer_.data(), bytes), text);
  spool_writer_->write(text);
}

// Whatever the pipe holds now is part of the output, even when the drain timed out; then a read
// still pending (processes the task left keep the pipe open) is cancelled and awaited before
// its buffer goes.
void Supervision::finish_output() {
  for (int i = 0; i < kFinalReads && read_pending_; ++i) {
    DWORD bytes = 0;
    ULONG_PTR key = 0;
    OVERLAPPED* overlapped = nullptr;
    const BOOL ok = ::GetQueuedCompletionStatus(port_.get(), &bytes, &key, &overlapped, 0);
    if (overlapped == &read_overlapped_) {
      if (ok != 0) {
        on_read(bytes);
      } else {
        read_pending_ = false;
        output_open_ = false;
      }
    } else if (overlapped == nullptr && ok == 0) {
      break;  // nothing ready
    }
  }
  if (read_pending_) {
    ::CancelIoEx(pipe_read_.get(), &read_overlapped_);
    const auto until = SteadyClock::now() + milliseconds(kCancelWaitMillis);
    while (read_pending_ && SteadyClock::now() < until) {
      DWORD bytes = 0;
      ULONG_PTR key = 0;
      OVERLAPPED* overlapped = nullptr;
      const BOOL ok =
          ::GetQueuedCompletionStatus(port_.get(), &bytes, &key, &overlapped, kCancelWaitMillis);
      if (overlapped == &read_overlapped_) {
        read_pending_ = false;
        if (ok != 0) {
          consume(bytes);  // it completed before the cancel reached it
        }
      } else if (overlapped == nullptr && ok == 0) {
        break;
      }
    }
  }
  std::string rest;
  decoder_->finish(rest);
  spool_writer_->write(rest);
  outcome_.output_bytes = spool_writer_->bytes();
  outcome_.spooled_bytes = spool_writer_->spooled();
  outcome_.output_tail = spool_writer_->tail();
  if (spool_writer_->write_error() != 0 && outcome_.error.empty()) {
    outcome_.error =
        win32::windows_error(codes::kInternalError, "writing output file " + spec_.output_path,
                             spool_writer_->write_error())
            .message;
  }
}

std::optional<Error> Supervision::start_process() {
  std::wstring application = win32::widen(spec_.argv.front());
  std::wstring command = spec_.command_line.empty() ? win32::command_line(spec_.argv)
                                                    : win32::widen(spec_.command_line);
  auto environment = win32::environment_block(spec_.env);
  if (!environment) {
    return environment.error();
  }
  const std::wstring directory = win32::widen(spec_.working_directory);

  std::array<HANDLE, 2> inherited{stdin_.get(), pipe_write_.get()};
  SIZE_T size = 0;
  ::InitializeProcThreadAttributeList(nullptr, 1, 0, &size);
  std::vector<unsigned char> storage(size);
  auto* attributes = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(storage.data());
  if (::InitializeProcThreadAttributeList(attributes, 1, 0, &size) == 0) {
    return win32::windows_error(codes::kInternalError, "preparing the task's start",
                                ::GetLastError());
  }
  struct AttributeListEnd {
    LPPROC_THREAD_ATTRIBUTE_LIST list;
    ~AttributeListEnd() { ::DeleteProcThreadAttributeList(list); }
  } attribute_list_end{attributes};
  if (::UpdateProcThreadAttribute(attributes, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
                                  inherited.data(), sizeof(HANDLE) * inherited.size(), nullptr,
                                  nullptr) == 0) {
    return win32::windows_error(codes::kInternalError, "preparing the task's start",
                                ::GetLastError());
  }

  STARTUPINFOEXW startup{};
  startup.StartupInfo.cb = sizeof startup;
  startup.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  startup.StartupInfo.hStdInput = stdin_.get();
  startup.StartupInfo.hStdOutput = pipe_write_.get();
  startup.StartupInfo.hStdError = pipe_write_.get();
  startup.lpAttributeList = attributes;
  shares_console_ = has_console();
  const DWORD flags = CREATE_SUSPENDED | CREATE_UNICODE_ENVIRONMENT | EXTENDED_STARTUPINFO_PRESENT |
                      CREATE_NEW_PROCESS_GROUP | (shares_console_ ? 0 : CREATE_NO_WINDOW);

  PROCESS_INFORMATION process{};
  if (::CreateProcessW(application.c_str(), command.data(), nullptr, nullptr, TRUE, flags,
                       environment->data(), directory.empty() ? nullptr : directory.c_str(),
                       &startup.StartupInfo, &process) == 0) {
    const DWORD err = ::GetLastError();
    if (err == ERROR_DIRECTORY) {
      return win32::windows_error(
          codes::kInvalidWorkingDirectory,
          "working directory '" + spec_.working_directory + "' cannot be entered", err);
    }
    return win32::windows_error(codes::kInternalError,
                                "cannot execute '" + spec_.argv.front() + "'", err);
  }
  main_.reset(process.hProcess);
  const UniqueHandle thread(process.hThread);
  // The task's copy is the only writer left: the pipe ends when its processes have closed it.
  pipe_write_.reset();
  main_pid_ = process.dwProcessId;
  main_alive_ = true;

  // Into the job while still suspended: nothing it starts can be outside it.
  if (::AssignProcessToJobObject(job_.get(), main_.get()) == 0) {
    const DWORD err = ::GetLastError();
    ::TerminateProcess(main_.get(), kKilledExitCode);
    return win32::windows_error(codes::kInternalError, "putting the task in its job object", err);
  }
  outcome_.contained = true;
  if (!exit_wait_.start(main_.get(), &exit_post_) || !cancel_wait_.start(cancel_, &cancel_post_)) {
    const DWORD err = ::GetLastError();
    ::TerminateJobObject(job_.get(), kKilledExitCode);
    return win32::windows_error(codes::kInternalError, "waiting for the task", err);
  }
  if (::ResumeThread(thread.get()) == static_cast<DWORD>(-1)) {
    const DWORD err = ::GetLastError();
    ::TerminateJobObject(job_.get(), kKilledExitCode);
    return win32::windows_error(codes::kInternalError, "starting the task", err);
  }
  return std::nullopt;
}

SuperviseOutcome Supervision::run() {
  cancel_ = take_cancels();
  if (cancel_ == nullptr) {
    return fail_start(
        win32::windows_error(codes::kInternalError, "creating the cancel event", ::GetLastError()));
  }
  // A cancel that came before: the event is auto-reset, so this takes it.
  if (::WaitForSingleObject(cancel_, 0) == WAIT_OBJECT_0) {
    return cancelled_before_start();
  }
  if (auto error = check_before_start()) {
    return fail_start(std::move(*error));
  }
  if (auto error = open_files()) {
    return fail_start(std::move(*error));
  }
  if (auto error = make_job()) {
    return fail_start(std::move(*error));
  }
  if (auto error = open_output_pipe()) {
    return fail_start(std::move(*error));
  }
  if (::WaitForSingleObject(cancel_, 0) == WAIT_OBJECT_0) {
    return cancelled_before_start();
  }
  if (auto error = start_process()) {
    return fail_start(std::move(*error));  // a process it made, it has ended
  }
  const auto started = SteadyClock::now();
  deadline_ = started + bounded(spec_.timeout);
  outcome_.start_time = std::chrono::system_clock::now();
  if (spec_.on_started) {
    try {
      spec_.on_started(static_cast<int>(main_pid_));
    } catch (const std::exception& e) {
      outcome_.error = std::string("on_started failed: ") + e.what();
    }
  }

  start_read();
  loop();

  exit_wait_.reset();
  cancel_wait_.reset();
  finish_output();
  leave_survivors();
  outcome_.end_time = std::chrono::system_clock::now();
  return outcome_;
}

DWORD Supervision::active_processes() const {
  JOBOBJECT_BASIC_ACCOUNTING_INFORMATION info{};
  if (::QueryInformationJobObject(job_.get(), JobObjectBasicAccountingInformation, &info,
                                  sizeof info, nullptr) == 0) {
    return 0;
  }
  return info.ActiveProcesses;
}

// Processes the task left running that were not to be killed (a normal end, or a kill of the
// main process only) outlive the supervisor, as on Linux: the job stops killing on close.
void Supervision::leave_survivors() {
  if (active_processes() == 0) {
    return;
  }
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
  limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION;
  ::SetInformationJobObject(job_.get(), JobObjectExtendedLimitInformation, &limits, sizeof limits);
}

void Supervision::begin_kill(Kind reason) {
  kill_reason_ = reason;
  if (spec_.stop_inside) {
    spec_.stop_inside(spec_.kill_process_tree);
  }
  phase_ = KillPhase::kGrace;
  phase_since_ = SteadyClock::now();
  // Ctrl+Break reaches a whole process group, so only a tree kill has a graceful step; and only
  // through a console the task shares.
  if (!spec_.kill_process_tree || !shares_console_ ||
      ::GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, main_pid_) == 0) {
    force_kill();
  }
}

void Supervision::force_kill() {
  phase_ = KillPhase::kKill;
  phase_since_ = SteadyClock::now();
  terminate(phase_since_);
}

void Supervision::terminate(SteadyClock::time_point now) {
  if (spec_.kill_process_tree) {
    ::TerminateJobObject(job_.get(), kKilledExitCode);
  } else if (main_alive_) {
    ::TerminateProcess(main_.get(), kKilledExitCode);
  }
  next_kill_round_ = now + kKillRepeat;
}

bool Supervision::kill_pending() const {
  return spec_.kill_process_tree ? active_processes() > 0 : main_alive_;
}

void Supervision::on_timers(SteadyClock::time_point now) {
  if (!kill_reason_ && main_alive_ && now >= deadline_) {
    begin_kill(Kind::kTimedOut);
  }
  if (phase_ == KillPhase::kGrace && kill_pending() &&
      now >= phase_since_ + bounded(spec_.kill_grace)) {
    force_kill();
  }
  if (phase_ == KillPhase::kKill && kill_pending() && !gave_up_ && now >= next_kill_round_) {
    if (now - phase_since_ >= kKillGiveUp) {
      gave_up_ = true;
      outcome_.error = "processes of the task survived termination for " +
                       std::to_string(kKillGiveUp.count()) + " ms";
      return;
    }
    terminate(now);
  }
}

std::optional<SteadyClock::time_point> Supervision::next_timer() const {
  std::optional<SteadyClock::time_point> next;
  auto consider = [&](SteadyClock::time_point t) {
    if (!next || t < *next) {
      next = t;
    }
  };
  if (!kill_reason_ && main_alive_) {
    consider(deadline_);
  }
  if (phase_ != KillPhase::kNone && kill_pending() && !gave_up_) {
    consider(phase_ == KillPhase::kGrace ? phase_since_ + bounded(spec_.kill_grace)
                                         : next_kill_round_);
  }
  if (drain_until_) {
    consider(*drain_until_);
  }
  return next;
}

// Over once the main process is gone and, after a tree kill, the whole job; then processes the
// task left behind get drain_after_exit to end and the pipe to be read to its end (their output
// goes on into the spool meanwhile).
bool Supervision::finished(SteadyClock::time_point now) {
  if ((main_alive_ && !gave_up_) ||
      (kill_reason_ && spec_.kill_process_tree && !gave_up_ && active_processes() > 0)) {
    return false;
  }
  if (!drain_until_) {
    drain_until_ = now + bounded(spec_.drain_after_exit);
  }
  return now >= *drain_until_ || (active_processes() == 0 && !output_open_);
}

void Supervision::loop() {
  for (;;) {
    const auto now = SteadyClock::now();
    on_timers(now);
    if (finished(now)) {
      break;
    }
    DWORD bytes = 0;
    ULONG_PTR key = 0;
    OVERLAPPED* overlapped = nullptr;
    const BOOL ok = ::GetQueuedCompletionStatus(port_.get(), &bytes, &key, &overlapped,
                                                wait_millis(now, next_timer()));
    if (overlapped == &read_overlapped_) {
      if (ok != 0) {
        on_read(bytes);
      } else {
        read_pending_ = false;  // ERROR_BROKEN_PIPE: every writer is gone
        output_open_ = false;
      }
      continue;
    }
    if (ok == 0) {
      continue;  // a timer is due
    }
    if (key == kMainExitKey) {
      main_alive_ = false;
      ::GetExitCodeProcess(main_.get(), &main_status_);
    } else if (key == kCancelKey) {
      if (main_alive_ && !kill_reason_) {
        begin_kill(Kind::kCancelled);
      } else if (!main_alive_ && !kill_reason_) {
        // The task already ended on its own; a cancel now only cuts the wait for the rest short.
        drain_until_ = SteadyClock::now();
      }
    }
    // kJobKey: the job's messages (a process started or ended, none left) only wake the loop,
    // which asks the job for its count.
  }
  outcome_.exit_code = main_alive_ ? -1 : static_cast<int>(main_status_);
  if (kill_reason_) {
    outcome_.kind = *kill_reason_;
  } else if (win32::is_fault_status(main_status_)) {
    outcome_.kind = Kind::kSignaled;
  } else {
    outcome_.kind = Kind::kExited;
  }
}

struct FaultName {
  std::uint32_t status;
  const char* name;
};
constexpr std::array<FaultName, 10> kFaultNames{{
    {0xC0000005U, "STATUS_ACCESS_VIOLATION"},
    {0xC000001DU, "STATUS_ILLEGAL_INSTRUCTION"},
    {0xC0000017U, "STATUS_NO_MEMORY"},
    {0xC0000094U, "STATUS_INTEGER_DIVIDE_BY_ZERO"},
    {0xC00000FDU, "STATUS_STACK_OVERFLOW"},
    {0xC000013AU, "STATUS_CONTROL_C_EXIT"},
    {0xC0000135U, "STATUS_DLL_NOT_FOUND"},
    {0xC0000142U, "STATUS_DLL_INIT_FAILED"},
    {0xC0000374U, "STATUS_HEAP_CORRUPTION"},
    {0xC0000409U, "STATUS_STACK_BUFFER_OVERRUN"},
}};

}  // namespace

void block_supervisor_signals() {
  take_cancels();
}

std::string describe_abnormal_exit(int exit_code) {
  const auto status = static_cast<std::uint32_t>(exit_code);
  std::array<char, 16> hex{};
  std::snprintf(hex.data(), hex.size(), "0x%08X", static_cast<unsigned>(status));
  const auto known = std::find_if(kFaultNames.begin(), kFaultNames.end(),
                                  [&](const FaultName& f) { return f.status == status; });
  return std::string("the process ended with status ") + hex.data() +
         (known != kFaultNames.end() ? std::string(" (") + known->name + ")" : std::string());
}

SuperviseOutcome run_supervised(const SuperviseSpec& spec) {
  return Supervision(spec).run();
}

int remove_empty_task_containers(const std::function<bool(std::string_view)>& /*keep*/) {
  // Job Objects are unnamed and go with their last process and handle: nothing is left over.
  return 0;
}

}  // namespace ferry::platform
