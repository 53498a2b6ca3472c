// A program for the detached-process tests to start (platform/windows/detached_process.cpp):
//   exit N       exits with N
//   sleep MS     sleeps, then exits 0
//   report       writes to stderr what it was given: "stdin=<file type> stdout=<file type>
//                console=<0|1> job=<0|1> stdin-read=<bytes>", and exits 0
//   cancel-wait  makes its cancel event (Local\ferry-cancel-<pid>, as a supervisor does), says
//                "waiting" on stderr, and exits 42 once the event is set (43 after 30 s)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "windows/process.hpp"
#include "windows/win32.hpp"

namespace {

const char* file_type(HANDLE h) {
  switch (::GetFileType(h)) {
    case FILE_TYPE_CHAR:
      return "char";
    case FILE_TYPE_DISK:
      return "disk";
    case FILE_TYPE_PIPE:
      return "pipe";
    default:
      return "unknown";
  }
}

int report() {
  const HANDLE input = ::GetStdHandle(STD_INPUT_HANDLE);
  const HANDLE output = ::GetStdHandle(STD_OUTPUT_HANDLE);
  DWORD processes[4] = {};
  const bool console = ::GetConsoleProcessList(processes, 4) > 0;
  BOOL in_job = FALSE;
  ::IsProcessInJob(::GetCurrentProcess(), nullptr, &in_job);
  char buffer[16];
  DWORD read = 0;
  ::ReadFile(input, buffer, sizeof buffer, &read, nullptr);
  std::fprintf(stderr, "stdin=%s stdout=%s console=%d job=%d stdin-read=%lu", file_type(input),
               file_type(output), console ? 1 : 0, in_job ? 1 : 0, read);
  return 0;
}

int cancel_wait() {
  const ferry::platform::win32::UniqueHandle event(
      ::CreateEventW(nullptr, FALSE, FALSE,
                     ferry::platform::win32::cancel_event_name(::GetCurrentProcessId()).c_str()));
  if (!event.valid()) {
    return 2;
  }
  std::fputs("waiting", stderr);
  std::fflush(stderr);
  return ::WaitForSingleObject(event.get(), 30000) == WAIT_OBJECT_0 ? 42 : 43;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "exit") == 0) {
    return std::atoi(argv[2]);
  }
  if (argc == 3 && std::strcmp(argv[1], "sleep") == 0) {
    ::Sleep(static_cast<DWORD>(std::atoi(argv[2])));
    return 0;
  }
  if (argc == 2 && std::strcmp(argv[1], "report") == 0) {
    return report();
  }
  if (argc == 2 && std::strcmp(argv[1], "cancel-wait") == 0) {
    return cancel_wait();
  }
  std::fputs("usage: ferry-test-child exit N | sleep MS | report | cancel-wait\n", stderr);
  return 2;
}
