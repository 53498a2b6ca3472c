// host.hpp on Windows (platform/windows/host.cpp).
#include "ferry/platform/host.hpp"

// clang-format off
#include "windows/win32.hpp"
#include <winsock2.h>
// clang-format on

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "windows_test_support.hpp"

using namespace ferry::platform;

namespace {

// The MachineGuid as the registry gives it, through another call than host.cpp's.
std::wstring registry_machine_guid() {
  HKEY key = nullptr;
  if (::RegOpenKeyExW(HKEY_LOCAL_MACHINE, L"SOFTWARE\\Microsoft\\Cryptography", 0,
                      KEY_QUERY_VALUE | KEY_WOW64_64KEY, &key) != ERROR_SUCCESS) {
    return L"";
  }
  wchar_t value[128] = {};
  DWORD type = 0;
  DWORD bytes = sizeof value - sizeof(wchar_t);
  const LSTATUS status = ::RegQueryValueExW(key, L"MachineGuid", nullptr, &type,
                                            reinterpret_cast<BYTE*>(value), &bytes);
  ::RegCloseKey(key);
  return status == ERROR_SUCCESS && type == REG_SZ ? std::wstring(value) : std::wstring();
}

struct MachineIdFileVariable {
  explicit MachineIdFileVariable(const std::wstring& value) {
    REQUIRE(::SetEnvironmentVariableW(L"FERRY_MACHINE_ID_FILE", value.c_str()));
  }
  ~MachineIdFileVariable() { ::SetEnvironmentVariableW(L"FERRY_MACHINE_ID_FILE", nullptr); }
  MachineIdFileVariable(const MachineIdFileVariable&) = delete;
  MachineIdFileVariable& operator=(const MachineIdFileVariable&) = delete;
};

}  // namespace

TEST_CASE("windows host: the OS and the host name", "[platform][host]") {
  CHECK(os_name() == "Windows");

  WSADATA wsa{};
  REQUIRE(::WSAStartup(MAKEWORD(2, 2), &wsa) == 0);
  char name[256] = {};
  const int rc = ::gethostname(name, sizeof name - 1);
  ::WSACleanup();
  REQUIRE(rc == 0);
  CHECK(host_name() == name);
}

TEST_CASE("windows host: the addresses", "[platform][host]") {
  const auto addresses = local_addresses();
  CHECK(addresses.size() <= 32);
  bool v6_seen = false;
  for (const auto& a : addresses) {
    INFO(a);
    CHECK(a != "127.0.0.1");
    CHECK(a != "::1");
    CHECK_FALSE(a.starts_with("fe80:"));
    const bool v6 = a.find(':') != std::string::npos;
    CHECK_FALSE((v6_seen && !v6));  // IPv4 first
    v6_seen = v6_seen || v6;
  }
}

TEST_CASE("windows host: the machine id is the registry's MachineGuid", "[platform][host]") {
  const std::wstring guid = registry_machine_guid();
  REQUIRE(guid.size() == 36);  // wineboot makes one, as Windows setup does
  std::string expected = win32::narrow(guid);
  for (char& c : expected) {
    c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  }
  CHECK(machine_id() == expected);
}

TEST_CASE("windows host: FERRY_MACHINE_ID_FILE names the only file read", "[platform][host]") {
  const ferry::test::WindowsTempDir dir("ferry-host");
  const auto id_file = dir / "machine-id";
  // A file written on Windows ends its line with CRLF.
  std::ofstream(id_file, std::ios::binary) << "4C4C4544-0042-3510-8052-B4C04F564433\r\n";
  {
    const MachineIdFileVariable variable(id_file.wstring());
    CHECK(machine_id() == "4c4c4544-0042-3510-8052-b4c04f564433");
  }
  {
    const MachineIdFileVariable variable((dir / "missing").wstring());
    CHECK(machine_id().empty());
  }
  std::ofstream(dir / "zeros", std::ios::binary) << "00000000-0000-0000-0000-000000000000\r\n";
  CHECK(first_machine_id({dir / "missing", dir / "zeros", id_file}) ==
        "4c4c4544-0042-3510-8052-b4c04f564433");
}
