// host.hpp on Windows: the DNS host name, the adapters' addresses (IP Helper) and the machine
// id from the registry.
#include "ferry/platform/host.hpp"

// After win32.hpp: its WIN32_LEAN_AND_MEAN keeps windows.h from including the old winsock.h.
#include "win32.hpp"
// clang-format off
#include <winsock2.h>
#include <ws2tcpip.h>
#include <iphlpapi.h>
// clang-format on

#include <array>
#include <vector>

#include "common/machine_id.hpp"

namespace ferry::platform {
namespace {

constexpr std::size_t kMaxAddresses = 32;

// The address as text, or empty.
std::string address_text(const SOCKADDR* address) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  const void* raw = nullptr;
  if (address->sa_family == AF_INET) {
    raw = &reinterpret_cast<const sockaddr_in*>(address)->sin_addr;
  } else if (address->sa_family == AF_INET6) {
    raw = &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr;
  } else {
    return "";
  }
  return ::inet_ntop(address->sa_family, raw, text.data(), text.size()) != nullptr ? text.data()
                                                                                   : "";
}

bool link_local_v6(const SOCKADDR* address) {
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
  return v6->sin6_addr.s6_addr[0] == 0xfe && (v6->sin6_addr.s6_addr[1] & 0xc0U) == 0x80;
}

}  // namespace

std::string os_name() {
  return "Windows";
}

std::string host_name() {
  std::array<wchar_t, 256> name{};
  auto size = static_cast<DWORD>(name.size());
  if (!::GetComputerNameExW(ComputerNameDnsHostname, name.data(), &size)) {
    return "";
  }
  return win32::narrow(std::wstring_view(name.data(), size));
}

std::vector<std::string> local_addresses() {
  constexpr ULONG kFlags = GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST |
                           GAA_FLAG_SKIP_DNS_SERVER | GAA_FLAG_SKIP_FRIENDLY_NAME;
  // The list can grow between the call that sizes it and the one that fills it: a few tries.
  std::vector<unsigned char> buffer(16 * 1024);
  ULONG result = ERROR_BUFFER_OVERFLOW;
  for (int attempt = 0; attempt < 4 && result == ERROR_BUFFER_OVERFLOW; ++attempt) {
    auto size = static_cast<ULONG>(buffer.size());
    result = ::GetAdaptersAddresses(AF_UNSPEC, kFlags, nullptr,
                                    reinterpret_cast<IP_ADAPTER_ADDRESSES*>(buffer.data()), &size);
    if (result == ERROR_BUFFER_OVERFLOW) {
      buffer.resize(size);
    }
  }
  if (result != NO_ERROR) {
    return {};
  }
  std::vector<std::string> v4;
  std::vector<std::string> v6;
  for (auto* adapter = reinterpret_cast<const IP_ADAPTER_ADDRESSES*>(buffer.data());
       adapter != nullptr; adapter = adapter->Next) {
    if (adapter->OperStatus != IfOperStatusUp || adapter->IfType == IF_TYPE_SOFTWARE_LOOPBACK) {
      continue;
    }
    for (auto* unicast = adapter->FirstUnicastAddress; unicast != nullptr;
         unicast = unicast->Next) {
      const SOCKADDR* address = unicast->Address.lpSockaddr;
      const bool ipv6 = address->sa_family == AF_INET6;
      if (ipv6 && link_local_v6(address)) {
        continue;
      }
      std::string text = address_text(address);
      if (text.empty() || text == "127.0.0.1" || text == "::1") {
        continue;
      }
      (ipv6 ? v6 : v4).push_back(std::move(text));
    }
  }
  v4.insert(v4.end(), v6.begin(), v6.end());
  if (v4.size() > kMaxAddresses) {
    v4.resize(kMaxAddresses);
  }
  return v4;
}

// Windows makes MachineGuid at installation and again when sysprep generalizes an image, so
// clones of a generalized image each have their own.
std::string machine_id() {
  std::array<wchar_t, 1024> value{};
  const std::wstring variable = win32::widen(kMachineIdFileVariable);
  const DWORD length =
      ::GetEnvironmentVariableW(variable.c_str(), value.data(), static_cast<DWORD>(value.size()));
  if (length > 0 && length < value.size()) {
    return first_machine_id({std::filesystem::path(std::wstring(value.data(), length))});
  }
  if (length >= value.size()) {
    return "";  // set, but too long to be a file name
  }
  auto bytes = static_cast<DWORD>(value.size() * sizeof(wchar_t));
  // The 64-bit view of the registry, whichever this program is.
  if (::RegGetValueW(HKEY_LOCAL_MACHINE, L"SOFTWARE\\Microsoft\\Cryptography", L"MachineGuid",
                     RRF_RT_REG_SZ | RRF_SUBKEY_WOW6464KEY, nullptr, value.data(),
                     &bytes) != ERROR_SUCCESS) {
    return "";
  }
  // `bytes` counts the terminating null.
  const std::size_t chars = bytes / sizeof(wchar_t);
  return detail::normalize_machine_id(
      win32::narrow(std::wstring_view(value.data(), chars > 0 ? chars - 1 : 0)));
}

}  // namespace ferry::platform
