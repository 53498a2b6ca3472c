// What the Windows tests of tasks share to find the processes a task left: ping.exe, the
// long-running program of their BAT scripts, by image name and creation time.
#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "ferry/platform/process_identity.hpp"
#include "windows/win32.hpp"
// After windows.h (win32.hpp), which it needs.
#include <tlhelp32.h>

namespace ferry::test {

// The current time as FILETIME counts it (process creation times are compared with it).
inline std::uint64_t filetime_now() {
  FILETIME now{};
  ::GetSystemTimeAsFileTime(&now);
  return (static_cast<std::uint64_t>(now.dwHighDateTime) << 32) | now.dwLowDateTime;
}

// The live ping.exe processes created since `since` (FILETIME). Not found by parentage: wine's
// `start /b` goes through start.exe, which ends, so the detached ping's parent is gone. The
// tests of one binary run one after the other in a wine prefix of their own, so the pings
// started since are the task's.
inline std::vector<DWORD> pings_since(std::uint64_t since) {
  std::vector<DWORD> found;
  const ferry::platform::win32::UniqueHandle snapshot(
      ::CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0));
  REQUIRE(snapshot.valid());
  PROCESSENTRY32W entry{};
  entry.dwSize = sizeof entry;
  for (BOOL more = ::Process32FirstW(snapshot.get(), &entry); more != 0;
       more = ::Process32NextW(snapshot.get(), &entry)) {
    if (::CompareStringOrdinal(entry.szExeFile, -1, L"ping.exe", -1, TRUE) != CSTR_EQUAL) {
      continue;
    }
    const auto identity = ferry::platform::identify_process(static_cast<int>(entry.th32ProcessID));
    if (identity && identity->start_time >= since) {
      found.push_back(entry.th32ProcessID);
    }
  }
  return found;
}

inline void terminate_all(const std::vector<DWORD>& pids) {
  for (const DWORD pid : pids) {
    const ferry::platform::win32::UniqueHandle process(
        ::OpenProcess(PROCESS_TERMINATE, FALSE, pid));
    if (process.valid()) {
      ::TerminateProcess(process.get(), 1);
    }
  }
}

}  // namespace ferry::test
