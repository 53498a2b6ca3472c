// The process helpers of the Windows platform (platform/windows/process.hpp) and
// process_identity.hpp on Windows (platform/windows/process_identity.cpp).
#include "windows/process.hpp"

#include <shellapi.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "ferry/platform/process_identity.hpp"
#include "ferry/platform/supervise.hpp"
#include "windows/win32.hpp"

using namespace ferry::platform;

namespace {

// What a program's C runtime makes of a command line (CommandLineToArgvW, shell32).
std::vector<std::wstring> parsed_by_the_runtime(const std::wstring& line) {
  int count = 0;
  wchar_t** args = ::CommandLineToArgvW(line.c_str(), &count);
  REQUIRE(args != nullptr);
  std::vector<std::wstring> result(args, args + count);
  ::LocalFree(args);
  return result;
}

// A console program that waits about 30 s, started outside any test's job.
PROCESS_INFORMATION start_waiting_process() {
  std::wstring command = L"ping.exe -n 30 127.0.0.1";
  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  PROCESS_INFORMATION child{};
  REQUIRE(::CreateProcessW(nullptr, command.data(), nullptr, nullptr, FALSE, CREATE_NO_WINDOW,
                           nullptr, nullptr, &startup, &child));
  ::CloseHandle(child.hThread);
  return child;
}

}  // namespace

TEST_CASE("windows command line: quoted as the C runtime reads it back", "[platform][process]") {
  CHECK(win32::command_line({"C:\\bin\\x.exe", "a", "b"}) == L"C:\\bin\\x.exe a b");
  CHECK(win32::command_line({"x", "two words"}) == L"x \"two words\"");
  CHECK(win32::command_line({"x", ""}) == L"x \"\"");
  CHECK(win32::command_line({"x", "say \"hi\""}) == L"x \"say \\\"hi\\\"\"");
  // Backslashes stay as they are unless a quote follows, where they are doubled.
  CHECK(win32::command_line({"x", "C:\\a b\\"}) == L"x \"C:\\a b\\\\\"");
  CHECK(win32::command_line({"x", "a\\\\b"}) == L"x a\\\\b");
  CHECK(win32::command_line({"x", "a\\\"b"}) == L"x \"a\\\\\\\"b\"");
  CHECK(win32::command_line({"C:\\Program Files\\x.exe"}) == L"\"C:\\Program Files\\x.exe\"");

  const std::vector<std::string> hard = {"C:\\Program Files\\x.exe",
                                         "",
                                         " ",
                                         "\"",
                                         "\\",
                                         "\\\"",
                                         "a\\\\\"b c",
                                         "tab\there",
                                         "trailing\\\\",
                                         "two words\\\\",
                                         "caf\xc3\xa9",
                                         "%PATH%",
                                         "a&b|c"};
  const auto parsed = parsed_by_the_runtime(win32::command_line(hard));
  REQUIRE(parsed.size() == hard.size());
  for (std::size_t i = 0; i < hard.size(); ++i) {
    INFO(i << ": " << hard[i]);
    CHECK(parsed[i] == win32::widen(hard[i]));
  }
}

TEST_CASE("windows environment block: sorted without case, last entry wins, NUL-ended",
          "[platform][process]") {
  const auto block = win32::environment_block({"b=2", "A=1", "Path=C:\\x", "=C:=C:\\w", "a=3"});
  REQUIRE(block);
  const std::wstring expected(L"=C:=C:\\w\0a=3\0b=2\0Path=C:\\x\0\0", 28);
  CHECK(*block == expected);

  const auto empty = win32::environment_block({});
  REQUIRE(empty);
  CHECK(*empty == std::wstring(L"\0\0", 2));

  CHECK_FALSE(win32::environment_block({"NOVALUE"}));
  CHECK_FALSE(win32::environment_block({"=nothing"}));
  CHECK_FALSE(win32::environment_block({std::string("A=b\0c", 5)}));
}

TEST_CASE("windows exit statuses: faults told from chosen codes, described by name",
          "[platform][process]") {
  CHECK(win32::is_fault_status(0xC0000005U));
  CHECK(win32::is_fault_status(0xC000013AU));
  CHECK_FALSE(win32::is_fault_status(3));
  CHECK_FALSE(win32::is_fault_status(0xFFFFFFFFU));  // exit -1
  CHECK_FALSE(win32::is_fault_status(0x80000003U));  // a warning status
  CHECK(describe_abnormal_exit(static_cast<int>(0xC0000005U)) ==
        "the process ended with status 0xC0000005 (STATUS_ACCESS_VIOLATION)");
  CHECK(describe_abnormal_exit(static_cast<int>(0xC0001234U)) ==
        "the process ended with status 0xC0001234");
}

TEST_CASE("windows process identity: pid and creation time, gone when the process ends",
          "[platform][process]") {
  const auto self = identify_process(current_process_id());
  REQUIRE(self);
  CHECK(self->pid == static_cast<int>(::GetCurrentProcessId()));
  CHECK(self->start_time > 0);
  CHECK(is_running(*self));
  CHECK_FALSE(is_running(ProcessIdentity{self->pid, self->start_time + 1}));
  CHECK_FALSE(identify_process(0));
  CHECK_FALSE(boot_id().empty());

  PROCESS_INFORMATION child = start_waiting_process();
  const win32::UniqueHandle process(child.hProcess);
  const auto identity = identify_process(static_cast<int>(child.dwProcessId));
  REQUIRE(identity);
  // Another start time names another process: nothing is done to this one.
  CHECK_FALSE(cancel_process(ProcessIdentity{identity->pid, identity->start_time - 1},
                             CancelLevel::kForced));
  CHECK(::WaitForSingleObject(process.get(), 0) == WAIT_TIMEOUT);
  // A process without a cancel event is ended by a graceful cancel too.
  CHECK(cancel_process(*identity, CancelLevel::kGraceful));
  REQUIRE(::WaitForSingleObject(process.get(), 10000) == WAIT_OBJECT_0);
  DWORD code = 0;
  CHECK(::GetExitCodeProcess(process.get(), &code));
  CHECK(code == 1);
  CHECK_FALSE(identify_process(identity->pid));
  CHECK_FALSE(is_running(*identity));
  CHECK_FALSE(cancel_process(*identity, CancelLevel::kForced));
}

TEST_CASE("windows process identity: the boot id can come from a file", "[platform][process]") {
  wchar_t temp[MAX_PATH + 1] = {};
  REQUIRE(::GetTempPathW(MAX_PATH, temp) > 0);
  const std::wstring file = std::wstring(temp) + L"ferry-boot-id-test.txt";
  {
    const win32::UniqueHandle out(::CreateFileW(file.c_str(), GENERIC_WRITE, 0, nullptr,
                                                CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr));
    REQUIRE(out.valid());
    DWORD written = 0;
    REQUIRE(::WriteFile(out.get(), "simulated-boot\r\n", 16, &written, nullptr));
  }
  REQUIRE(::SetEnvironmentVariableW(L"FERRY_BOOT_ID_FILE", file.c_str()));
  const std::string id = boot_id();
  ::SetEnvironmentVariableW(L"FERRY_BOOT_ID_FILE", nullptr);
  ::DeleteFileW(file.c_str());
  CHECK(id == "simulated-boot");
}
