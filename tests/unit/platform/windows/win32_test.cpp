// The helpers the Windows implementations share (platform/windows/win32.hpp).
#include "windows/win32.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace ferry::platform::win32;

TEST_CASE("win32: UTF-8 and UTF-16 convert both ways", "[platform][win32]") {
  // e-acute (2 bytes in UTF-8), the euro sign (3) and a G clef (4: a surrogate pair in UTF-16).
  const std::string utf8 = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e";
  const std::wstring utf16 = L"caf\u00e9 \u20ac \U0001D11E";
  CHECK(widen(utf8) == utf16);
  CHECK(narrow(utf16) == utf8);
  CHECK(widen("").empty());
  CHECK(narrow(L"").empty());
  // Strings with NULs inside are converted whole.
  CHECK(widen(std::string("a\0b", 3)) == std::wstring(L"a\0b", 3));

  // What is not valid becomes U+FFFD rather than being dropped or cutting the string.
  CHECK(widen("a\xff"
              "b") == L"a\uFFFDb");
  CHECK(narrow(std::wstring(L"a") + wchar_t{0xD800} + L"b") ==
        "a\xef\xbf\xbd"
        "b");
}

TEST_CASE("win32: error texts name the code and end cleanly", "[platform][win32]") {
  const std::string text = error_text(ERROR_FILE_NOT_FOUND);
  CHECK(text.ends_with(" (error 2)"));
  CHECK(text.size() > std::string(" (error 2)").size());
  CHECK(text.find('\n') == std::string::npos);
  CHECK(text.find('\r') == std::string::npos);
  CHECK(text.find(". (error") == std::string::npos);

  CHECK(error_text(0x2000FFFF) == "unknown error (error 536936447)");

  const auto e = windows_error("InternalError", "opening x", ERROR_ACCESS_DENIED);
  CHECK(e.code == "InternalError");
  CHECK(e.message.starts_with("opening x: "));
  CHECK(e.message.ends_with("(error 5)"));
}

TEST_CASE("win32: UniqueHandle closes what it owns, once", "[platform][win32]") {
  HANDLE event = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  REQUIRE(event != nullptr);
  DWORD flags = 0;
  {
    UniqueHandle owner(event);
    CHECK(owner.valid());
    UniqueHandle moved(std::move(owner));
    CHECK_FALSE(owner.valid());  // NOLINT(bugprone-use-after-move): what a move leaves
    CHECK(moved.get() == event);
    CHECK(::GetHandleInformation(event, &flags));
  }
  CHECK_FALSE(::GetHandleInformation(event, &flags));
  CHECK(::GetLastError() == ERROR_INVALID_HANDLE);

  // CreateFileW's failure value and the nullptr of other functions are both empty.
  CHECK_FALSE(UniqueHandle().valid());
  CHECK_FALSE(UniqueHandle(nullptr).valid());
  UniqueHandle released(::CreateEventW(nullptr, TRUE, FALSE, nullptr));
  HANDLE raw = released.release();
  CHECK_FALSE(released.valid());
  CHECK(::GetHandleInformation(raw, &flags));
  ::CloseHandle(raw);
}
