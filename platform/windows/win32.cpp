#include "win32.hpp"

#include <climits>

namespace ferry::platform::win32 {

std::wstring widen(std::string_view utf8) {
  if (utf8.empty()) {
    return {};
  }
  if (utf8.size() > INT_MAX) {
    throw std::length_error("widen: string too long");
  }
  const int in = static_cast<int>(utf8.size());
  const int n = ::MultiByteToWideChar(CP_UTF8, 0, utf8.data(), in, nullptr, 0);
  std::wstring out(static_cast<std::size_t>(n), L'\0');
  ::MultiByteToWideChar(CP_UTF8, 0, utf8.data(), in, out.data(), n);
  return out;
}

std::string narrow(std::wstring_view utf16) {
  if (utf16.empty()) {
    return {};
  }
  if (utf16.size() > INT_MAX) {
    throw std::length_error("narrow: string too long");
  }
  const int in = static_cast<int>(utf16.size());
  const int n = ::WideCharToMultiByte(CP_UTF8, 0, utf16.data(), in, nullptr, 0, nullptr, nullptr);
  std::string out(static_cast<std::size_t>(n), '\0');
  ::WideCharToMultiByte(CP_UTF8, 0, utf16.data(), in, out.data(), n, nullptr, nullptr);
  return out;
}

std::string display(const std::filesystem::path& path) {
  return narrow(path.native());
}

std::string error_text(DWORD code) {
  wchar_t* buffer = nullptr;
  const DWORD n = ::FormatMessageW(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
      nullptr, code, 0, reinterpret_cast<wchar_t*>(&buffer), 0, nullptr);
  std::string text = n > 0 ? narrow(std::wstring_view(buffer, n)) : std::string();
  ::LocalFree(buffer);
  while (!text.empty() &&
         (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' || text.back() == '.')) {
    text.pop_back();
  }
  if (text.empty()) {
    text = "unknown error";
  }
  return text + " (error " + std::to_string(code) + ")";
}

Error windows_error(std::string code, std::string_view what, DWORD err) {
  return Error{std::move(code), std::string(what) + ": " + error_text(err)};
}

}  // namespace ferry::platform::win32
