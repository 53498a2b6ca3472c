// fs.hpp on Windows (platform/windows/fs.cpp): what it does where Windows differs from POSIX
// (replacing a file that is open, backslashes, read-only files, UTF-8 names).
#include "ferry/platform/fs.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "ferry/core/error_codes.hpp"
#include "ferry/platform/users.hpp"
#include "windows/win32.hpp"
#include "windows_test_support.hpp"

namespace fs = std::filesystem;
using namespace ferry::platform;
using ferry::platform::win32::UniqueHandle;

namespace {

void put(const fs::path& p, const std::string& content) {
  std::ofstream(p, std::ios::binary) << content;
}

// Opens `p` for reading as another program might: with or without letting it be renamed over.
UniqueHandle open_shared(const fs::path& p, DWORD share) {
  return UniqueHandle(::CreateFileW(p.c_str(), GENERIC_READ, share, nullptr, OPEN_EXISTING,
                                    FILE_ATTRIBUTE_NORMAL, nullptr));
}

int entries_in(const fs::path& dir) {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) {
    ++n;
  }
  return n;
}

// find_program's answer, or its error as text (what a failed CHECK shows).
std::string found(const ferry::Expected<std::string>& program) {
  return program ? *program : "error: " + program.error().message;
}

}  // namespace

TEST_CASE("windows fs: ensure_directory and ensure_directories, backslashes and slashes",
          "[platform][fs]") {
  const ferry::test::WindowsTempDir tmp("ferry-fs");
  const fs::path dir = tmp / "state";
  REQUIRE(ensure_directory(dir, DirectoryAccess::kPrivate));
  CHECK(fs::is_directory(dir));
  REQUIRE(ensure_directory(dir, DirectoryAccess::kTraversable));  // there already
  REQUIRE(ensure_directory(dir.wstring() + L"\\", DirectoryAccess::kPrivate));

  // Both separators, as a configuration file may give them.
  const fs::path leaf = tmp.path().wstring() + L"\\a/b\\c";
  REQUIRE(ensure_directories(leaf, DirectoryAccess::kPrivate));
  CHECK(fs::is_directory(tmp / "a"));
  CHECK(fs::is_directory(tmp.path() / "a" / "b" / "c"));
  REQUIRE(ensure_directories(leaf, DirectoryAccess::kPrivate));

  put(tmp / "plain", "x");
  const auto on_file = ensure_directory(tmp / "plain", DirectoryAccess::kPrivate);
  REQUIRE_FALSE(on_file);
  CHECK(on_file.error().message.find("is a link or not a directory") != std::string::npos);
  CHECK_FALSE(ensure_directories(tmp.path() / "plain" / "sub", DirectoryAccess::kPrivate));
  CHECK(ferry::test::file_bytes(tmp / "plain") == "x");
  const auto missing_parent =
      ensure_directory(tmp.path() / "no" / "dir", DirectoryAccess::kPrivate);
  REQUIRE_FALSE(missing_parent);
  CHECK(missing_parent.error().message.ends_with("(error 3)"));  // ERROR_PATH_NOT_FOUND
}

TEST_CASE("windows fs: write_new_file writes once and refuses what exists", "[platform][fs]") {
  const ferry::test::WindowsTempDir tmp("ferry-fs");
  const fs::path file = tmp / "script.bat";
  REQUIRE(write_new_file(file, "@echo off\r\nexit /b 3\r\n", FileAccess::kReadOnly));
  CHECK(ferry::test::file_bytes(file) ==
        "@echo off\r\nexit /b 3\r\n");  // bytes as given: no newline translation

  const auto again = write_new_file(file, "other", FileAccess::kPrivate);
  REQUIRE_FALSE(again);
  CHECK(again.error().code == ferry::codes::kInternalError);
  CHECK(again.error().message.ends_with("(error 80)"));  // ERROR_FILE_EXISTS
  CHECK(ferry::test::file_bytes(file) == "@echo off\r\nexit /b 3\r\n");
  CHECK_FALSE(write_new_file(tmp.path() / "missing" / "x", "x", FileAccess::kPrivate));
}

TEST_CASE("windows fs: write_file_atomic renames over the old file", "[platform][fs]") {
  const ferry::test::WindowsTempDir tmp("ferry-fs");
  const fs::path file = tmp / "state.json";
  REQUIRE(write_file_atomic(file, "{\"v\":1}"));
  CHECK(ferry::test::file_bytes(file) == "{\"v\":1}");
  REQUIRE(write_file_atomic(file, "{\"v\":2}", FileAccess::kPrivate, Durability::kAtomicOnly));
  CHECK(ferry::test::file_bytes(file) == "{\"v\":2}");
  CHECK(entries_in(tmp.path()) == 1);  // no temporary file left

  SECTION("a file held open cannot be replaced: an error after the retries, nothing changed") {
    // Whatever the reader's sharing (legacy rename semantics): read_file holds it only while it
    // reads, and the retries wait that out.
    const auto share = GENERATE(DWORD{FILE_SHARE_READ},
                                DWORD{FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE});
    {
      const UniqueHandle reader = open_shared(file, share);
      REQUIRE(reader.valid());
      const auto replaced = write_file_atomic(file, "{\"v\":3}");
      REQUIRE_FALSE(replaced);
      CHECK(replaced.error().message.find("renaming temporary file to") != std::string::npos);
      CHECK(replaced.error().message.ends_with("(error 5)"));  // ERROR_ACCESS_DENIED
      CHECK(ferry::test::file_bytes(file) == "{\"v\":2}");
      CHECK(entries_in(tmp.path()) == 1);
    }
    REQUIRE(write_file_atomic(file, "{\"v\":3}"));
    CHECK(ferry::test::file_bytes(file) == "{\"v\":3}");
  }
  SECTION("a missing directory is an error") {
    CHECK_FALSE(write_file_atomic(tmp.path() / "missing" / "x", "data"));
  }
}

TEST_CASE("windows fs: read_file and read_file_range", "[platform][fs]") {
  const ferry::test::WindowsTempDir tmp("ferry-fs");
  const fs::path file = tmp / "data";
  put(file, "0123456789");
  CHECK(read_file(file, 10).value() == "0123456789");
  const auto too_big = read_file(file, 9);
  REQUIRE_FALSE(too_big);
  CHECK(too_big.error().code == ferry::codes::kLimitExceeded);
  const auto missing = read_file(tmp / "missing", 10);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.ends_with("(error 2)"));  // ERROR_FILE_NOT_FOUND

  CHECK(read_file_range(file, 2, 3).value() == "234");
  CHECK(read_file_range(file, 8, 100).value() == "89");
  CHECK(read_file_range(file, 10, 5).value().empty());
  CHECK(read_file_range(file, 1000, 5).value().empty());
  CHECK(read_file_range(file, 5, std::size_t{1} << 40).value() == "56789");
  CHECK_FALSE(read_file_range(tmp / "missing", 0, 1));

  // A file another program is writing can be read.
  const UniqueHandle writer(::CreateFileW(file.c_str(), GENERIC_WRITE, FILE_SHARE_READ, nullptr,
                                          OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr));
  REQUIRE(writer.valid());
  CHECK(read_file(file, 10).value() == "0123456789");
}

TEST_CASE("windows fs: remove_tree removes read-only files and nested directories",
          "[platform][fs]") {
  const ferry::test::WindowsTempDir tmp("ferry-fs");
  const fs::path tree = tmp / "tree";
  fs::create_directories(tree / "a" / "b");
  put(tree / "a" / "b" / "file", "x");
  put(tree / "locked", "y");
  REQUIRE(::SetFileAttributesW((tree / "locked").c_str(), FILE_ATTRIBUTE_READONLY));
  REQUIRE(::SetFileAttributesW((tree / "a").c_str(), FILE_ATTRIBUTE_READONLY));

  REQUIRE(remove_tree(tree));
  CHECK_FALSE(fs::exists(tree));
  CHECK(remove_tree(tree));  // missing is fine

  put(tmp / "single", "z");
  REQUIRE(remove_tree(tmp / "single"));
  CHECK_FALSE(fs::exists(tmp / "single"));
}

// Under wine the listing of a directory symbolic link comes back empty, so there this shows the
// link removed and its target kept, not that remove_tree never enters it (Windows would list
// the target's files).
TEST_CASE("windows fs: remove_tree removes a directory link, not what it points at",
          "[platform][fs]") {
  const ferry::test::WindowsTempDir tmp("ferry-fs");
  const fs::path outside = tmp / "outside";
  fs::create_directory(outside);
  put(outside / "keep", "keep");
  const fs::path tree = tmp / "tree";
  fs::create_directory(tree);
  const fs::path link = tree / "link";
  if (!::CreateSymbolicLinkW(
          link.c_str(), outside.c_str(),
          SYMBOLIC_LINK_FLAG_DIRECTORY | SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE)) {
    WARN("no directory symbolic links here (wine): " +
         ferry::platform::win32::error_text(::GetLastError()));
    return;
  }
  const DWORD attributes = ::GetFileAttributesW(link.c_str());
  CHECK((attributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0);
  CHECK((attributes & FILE_ATTRIBUTE_DIRECTORY) != 0);
  REQUIRE(remove_tree(tree));
  CHECK_FALSE(fs::exists(tree));
  CHECK(ferry::test::file_bytes(outside / "keep") == "keep");
}

// Ferry's strings are UTF-8, but libstdc++ on Windows reads a std::string given to
// std::filesystem::path in the ANSI code page: a path made from UTF-8 must come from a
// std::u8string (or win32::widen). What this checks is what callers must know.
TEST_CASE("windows fs: paths from UTF-8 need char8_t on Windows", "[platform][fs]") {
  const ferry::test::WindowsTempDir tmp("ferry-fs");
  const std::wstring windows_name = tmp.path().wstring() + L"\\caf\u00e9-\u20ac.txt";
  const fs::path from_u8 = tmp.path() / std::u8string(u8"caf\u00e9-\u20ac.txt");
  CHECK(from_u8.wstring() == windows_name);
  REQUIRE(write_new_file(from_u8, "x", FileAccess::kPrivate));
  CHECK(::GetFileAttributesW(windows_name.c_str()) != INVALID_FILE_ATTRIBUTES);
  CHECK(read_file(from_u8, 10).value() == "x");

  const fs::path from_string = tmp.path() / std::string("caf\xc3\xa9-\xe2\x82\xac.txt");
  CHECK(from_string.wstring() != windows_name);
}

TEST_CASE("windows fs: find_program tries PATHEXT's extensions along a ';' path",
          "[platform][fs]") {
  const ferry::test::WindowsTempDir dir("ferry-fs");
  fs::create_directories(dir / "bin");
  fs::create_directories(dir / "later");
  fs::create_directories(dir / "bin" / "folder.exe");
  put(dir / "bin" / "tool.bat", "@echo off");
  put(dir / "bin" / "tool.exe", "");
  put(dir / "bin" / "script.cmd", "");
  put(dir / "later" / "other.com", "");
  put(dir / "bin" / "plain", "");
  const std::string bin = win32::display(dir / "bin");
  const std::string later = win32::display(dir / "later");
  const std::string path = "relative;;" + bin + ";" + later;
  REQUIRE(::SetEnvironmentVariableW(L"PATHEXT", nullptr));

  // PATHEXT's order (.COM;.EXE;.BAT;.CMD by default): tool.exe before tool.bat.
  CHECK(found(find_program("tool", path)) == bin + "\\tool.exe");
  CHECK(found(find_program("script", path)) == bin + "\\script.cmd");
  CHECK(found(find_program("other", path)) == later + "\\other.com");
  // A name with an extension is taken as it is.
  CHECK(found(find_program("tool.bat", path)) == bin + "\\tool.bat");
  // A directory is not a program; a file without an extension is not found by its bare name.
  CHECK_FALSE(find_program("folder", path));
  CHECK_FALSE(find_program("folder.exe", path));
  CHECK_FALSE(find_program("plain", path));
  const auto missing = find_program("missing", path);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message == "program 'missing' not found");
  // Relative entries (the working directory's programs) are never searched.
  CHECK_FALSE(find_program("tool", "bin"));

  // A path is checked as it is, extensions added.
  CHECK(found(find_program(bin + "\\tool", "")) == bin + "\\tool.exe");
  CHECK(found(find_program(bin + "/script.cmd", "")) == bin + "\\script.cmd");
  const auto not_there = find_program(bin + "\\nothing", path);
  REQUIRE_FALSE(not_there);
  CHECK(not_there.error().message.ends_with("is not an executable file"));

  // This process's PATHEXT decides.
  REQUIRE(::SetEnvironmentVariableW(L"PATHEXT", L".BAT;.EXE"));
  CHECK(found(find_program("tool", path)) == bin + "\\tool.bat");
  ::SetEnvironmentVariableW(L"PATHEXT", nullptr);
}

TEST_CASE("windows fs: current_executable names this test program", "[platform][fs]") {
  const auto exe = current_executable();
  REQUIRE(exe);
  CHECK(exe->is_absolute());
  CHECK(exe->filename() == "ferry_platform_tests.exe");
  CHECK(fs::is_regular_file(*exe));
}

TEST_CASE("windows fs: create_file makes a new file and an OpenFile owns its handle",
          "[platform][fs]") {
  const ferry::test::WindowsTempDir tmp("ferry-fs");
  const fs::path log = tmp / "supervisor.log";
  {
    auto file = create_file(log, FileAccess::kPrivate, "supervisor log");
    REQUIRE(file);
    const auto handle = reinterpret_cast<HANDLE>(file->native());
    DWORD written = 0;
    CHECK(::WriteFile(handle, "x", 1, &written, nullptr));
    // Others may read it while it is written.
    CHECK(ferry::test::file_bytes(log) == "x");
    ferry::platform::OpenFile moved = std::move(*file);
    CHECK(file->native() == -1);
    CHECK(reinterpret_cast<HANDLE>(moved.native()) == handle);
  }
  // Closed with the OpenFile: it can be opened with no sharing at all.
  CHECK(open_shared(log, 0).valid());

  const auto again = create_file(log, FileAccess::kPrivate, "supervisor log");
  REQUIRE_FALSE(again);
  CHECK(again.error().message.starts_with("supervisor log: "));
  CHECK(again.error().message.ends_with("(error 80)"));
}

TEST_CASE("windows fs: open_append_file appends from every handle at the end", "[platform][fs]") {
  const ferry::test::WindowsTempDir tmp("ferry-fs");
  const fs::path log = tmp / "audit.log";
  {
    auto file = open_append_file(log, FileAccess::kPrivate, "audit log");
    REQUIRE(file);
    REQUIRE(write_to(*file, "one\n", "audit log"));
  }
  auto a = open_append_file(log, FileAccess::kPrivate, "audit log");
  auto b = open_append_file(log, FileAccess::kPrivate, "audit log");
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(write_to(*a, "two\n", "audit log"));
  REQUIRE(write_to(*b, "three\n", "audit log"));
  CHECK(ferry::test::file_bytes(log) == "one\ntwo\nthree\n");
  auto size = file_size(*a, "audit log");
  REQUIRE(size);
  CHECK(*size == 14);
}

TEST_CASE("windows fs: files made here are private to this account, and inspect_file says so",
          "[platform][fs]") {
  ferry::test::WindowsTempDir dir;
  const auto made = dir / "made.json";
  REQUIRE(write_file_atomic(made, "{}", FileAccess::kPrivate, Durability::kSynced));
  const auto facts = inspect_file(made, FollowLinks::kNo);
  INFO((facts ? std::string() : facts.error().message));
  REQUIRE(facts);
  CHECK(facts->regular_file);
  CHECK_FALSE(facts->executable);
  CHECK(facts->private_to_owner);
  CHECK_FALSE(facts->writable_by_others);
  CHECK(facts->owner.same_user(current_account()));

  // A file made without a DACL of its own takes its directory's: under wine (from the Unix
  // mode) and under ProgramData, every user may read it.
  const auto inherited = dir / "inherited.txt";
  put(inherited, "x");
  const auto other = inspect_file(inherited, FollowLinks::kNo);
  REQUIRE(other);
  CHECK(other->regular_file);
  CHECK_FALSE(other->private_to_owner);

  const auto directory = inspect_file(dir.path(), FollowLinks::kNo);
  REQUIRE(directory);
  CHECK_FALSE(directory->regular_file);

  auto exe = current_executable();
  REQUIRE(exe);
  const auto program = inspect_file(*exe, FollowLinks::kYes);
  REQUIRE(program);
  CHECK(program->executable);

  const auto missing = inspect_file(dir / "missing", FollowLinks::kNo);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("missing") != std::string::npos);
}
