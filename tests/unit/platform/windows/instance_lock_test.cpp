// instance_lock.hpp on Windows (platform/windows/instance_lock.cpp).
#include "ferry/platform/instance_lock.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "windows/win32.hpp"
#include "windows_test_support.hpp"

using ferry::platform::InstanceLock;

namespace {}  // namespace

TEST_CASE("windows instance lock: holds the pid, readable, refuses a second holder",
          "[platform][lock]") {
  const ferry::test::WindowsTempDir dir("ferry-lock");
  const auto file = dir / "agent.lock";
  std::optional<InstanceLock> held;
  {
    auto lock = InstanceLock::acquire(file);
    REQUIRE(lock);
    held.emplace(std::move(*lock));
  }
  CHECK(held->file() == file);
  const std::string pid = std::to_string(::GetCurrentProcessId());
  // Windows' byte-range locks are mandatory: the pid must lie outside the locked range.
  CHECK(ferry::test::file_bytes(file) == pid + "\n");

  // A second handle, even in this process, is refused and told who holds it.
  auto second = InstanceLock::acquire(file);
  REQUIRE_FALSE(second);
  CHECK(second.error().code == "OperationDenied");
  CHECK(second.error().message.find("locked by pid " + pid) != std::string::npos);

  held.reset();
  auto again = InstanceLock::acquire(file);
  REQUIRE(again);
  CHECK(ferry::test::file_bytes(file) == pid + "\n");  // rewritten, not appended
}

TEST_CASE("windows instance lock: a directory in its place is refused", "[platform][lock]") {
  const ferry::test::WindowsTempDir dir("ferry-lock");
  std::filesystem::create_directory(dir / "agent.lock");
  const auto lock = InstanceLock::acquire(dir / "agent.lock");
  REQUIRE_FALSE(lock);
  CHECK(lock.error().code == "InternalError");
}

TEST_CASE("windows instance lock: a process started with inheritance does not keep it",
          "[platform][lock]") {
  const ferry::test::WindowsTempDir dir("ferry-lock");
  const auto file = dir / "agent.lock";
  PROCESS_INFORMATION child{};
  {
    auto lock = InstanceLock::acquire(file);
    REQUIRE(lock);
    // A child that inherits every inheritable handle and outlives the lock: ping waits about a
    // second per echo request.
    std::wstring command = L"cmd.exe /c ping -n 30 127.0.0.1 >NUL";
    STARTUPINFOW startup{};
    startup.cb = sizeof startup;
    REQUIRE(::CreateProcessW(nullptr, command.data(), nullptr, nullptr, TRUE, CREATE_NO_WINDOW,
                             nullptr, nullptr, &startup, &child));
  }
  const ferry::platform::win32::UniqueHandle process(child.hProcess);
  const ferry::platform::win32::UniqueHandle thread(child.hThread);
  REQUIRE(::WaitForSingleObject(process.get(), 0) == WAIT_TIMEOUT);  // still running
  const auto again = InstanceLock::acquire(file);
  INFO((again ? std::string() : again.error().message));
  CHECK(again);
  ::TerminateProcess(process.get(), 1);
  CHECK(::WaitForSingleObject(process.get(), 10000) == WAIT_OBJECT_0);
}
