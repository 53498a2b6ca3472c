#include "ferry/platform/fs.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "ferry/core/error_codes.hpp"
#include "posix/account_native.hpp"
#include "test_process.hpp"

namespace fs = std::filesystem;
using namespace ferry::platform;

namespace {

// Private to this user, as mkdtemp(3) makes it.
struct FsDir : ferry::test::TempDir {
  FsDir() : ferry::test::TempDir("ferry-fs", 0700) {}
};

struct stat stat_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st;
}

unsigned mode_of(const fs::path& p) {
  return stat_of(p).st_mode & 07777U;
}

void put(const fs::path& p, const std::string& content, unsigned mode) {
  std::ofstream(p) << content;
  fs::permissions(p, static_cast<fs::perms>(mode));
}

// Sets the umask for one scope, to show that modes do not depend on it.
struct UmaskGuard {
  mode_t old;
  explicit UmaskGuard(mode_t mask) : old(::umask(mask)) {}
  ~UmaskGuard() { ::umask(old); }
  UmaskGuard(const UmaskGuard&) = delete;
  UmaskGuard& operator=(const UmaskGuard&) = delete;
};

}  // namespace

TEST_CASE("ensure_directory creates with the exact mode and fixes an existing one",
          "[platform][fs]") {
  FsDir tmp;
  UmaskGuard umask(077);
  const fs::path dir = tmp.path() / "state";
  REQUIRE(ensure_directory(dir, DirectoryAccess::kTraversable));
  CHECK(S_ISDIR(stat_of(dir).st_mode));
  CHECK(mode_of(dir) == 0711);

  fs::permissions(dir, fs::perms::all);
  REQUIRE(ensure_directory(dir, DirectoryAccess::kPrivate));
  CHECK(mode_of(dir) == 0700);

  // A trailing slash names the same directory.
  REQUIRE(ensure_directory(dir.string() + "/", DirectoryAccess::kTraversable));
  CHECK(mode_of(dir) == 0711);
}

TEST_CASE("ensure_directory sets the owner", "[platform][fs]") {
  if (::geteuid() != 0) {
    WARN("needs root to chown");
    return;
  }
  FsDir tmp;
  const fs::path dir = tmp.path() / "owned";
  REQUIRE(ensure_directory(dir, DirectoryAccess::kPrivate, make_account(65534, 65534)));
  const auto st = stat_of(dir);
  CHECK(st.st_uid == 65534);
  CHECK(st.st_gid == 65534);
  CHECK((st.st_mode & 07777U) == 0700);
}

TEST_CASE("ensure_directory refuses a symlink or a file in its place", "[platform][fs]") {
  FsDir tmp;
  const fs::path target = tmp.path() / "target";
  fs::create_directory(target);
  fs::permissions(target, fs::perms::owner_all | fs::perms::group_read);
  const fs::path link = tmp.path() / "link";
  fs::create_directory_symlink(target, link);

  auto via_link = ensure_directory(link, DirectoryAccess::kTraversable);
  REQUIRE_FALSE(via_link.has_value());
  CHECK(via_link.error().message.find("symlink") != std::string::npos);
  CHECK(mode_of(target) == 0740);  // untouched through the link
  auto via_slash = ensure_directory(link.string() + "/", DirectoryAccess::kTraversable);
  CHECK_FALSE(via_slash.has_value());
  CHECK(mode_of(target) == 0740);

  const fs::path file = tmp.path() / "file";
  put(file, "x", 0600);
  CHECK_FALSE(ensure_directory(file, DirectoryAccess::kPrivate).has_value());
  CHECK(fs::is_regular_file(file));
}

TEST_CASE("ensure_directories creates every missing parent with the mode", "[platform][fs]") {
  FsDir tmp;
  UmaskGuard umask(027);
  fs::permissions(tmp.path(), fs::perms::owner_all);
  const fs::path leaf = tmp.path() / "a" / "b" / "c";
  REQUIRE(ensure_directories(leaf, DirectoryAccess::kTraversable));
  CHECK(mode_of(tmp.path() / "a") == 0711);
  CHECK(mode_of(tmp.path() / "a" / "b") == 0711);
  CHECK(mode_of(leaf) == 0711);
  CHECK(mode_of(tmp.path()) == 0700);  // an existing parent is left alone

  // Idempotent, and the last component is brought to the new mode.
  REQUIRE(ensure_directories(leaf, DirectoryAccess::kPrivate));
  CHECK(mode_of(leaf) == 0700);
  CHECK(mode_of(tmp.path() / "a") == 0711);

  put(tmp.path() / "plain", "", 0600);
  CHECK_FALSE(
      ensure_directories(tmp.path() / "plain" / "sub", DirectoryAccess::kPrivate).has_value());
}

TEST_CASE("write_new_file writes content with mode and owner", "[platform][fs]") {
  FsDir tmp;
  UmaskGuard umask(077);
  const fs::path file = tmp.path() / "script.sh";
  REQUIRE(write_new_file(file, "echo hi\n", FileAccess::kReadOnly));
  CHECK(ferry::test::read_file(file) == "echo hi\n");
  CHECK(mode_of(file) == 0400);
  const fs::path other = tmp.path() / "other";
  REQUIRE(write_new_file(other, "x", FileAccess::kPrivate));
  CHECK(mode_of(other) == 0600);

  if (::geteuid() == 0) {
    const fs::path owned = tmp.path() / "owned";
    REQUIRE(write_new_file(owned, "data", FileAccess::kReadOnly, make_account(65534, 65534)));
    const auto st = stat_of(owned);
    CHECK(st.st_uid == 65534);
    CHECK(st.st_gid == 65534);
    CHECK((st.st_mode & 07777U) == 0400);
    CHECK(ferry::test::read_file(owned) == "data");
  }
}

TEST_CASE("write_new_file refuses existing files and symlinks", "[platform][fs]") {
  FsDir tmp;
  const fs::path existing = tmp.path() / "existing";
  put(existing, "old", 0644);
  auto again = write_new_file(existing, "new", FileAccess::kPrivate);
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().message.find("File exists") != std::string::npos);
  CHECK(ferry::test::read_file(existing) == "old");
  CHECK(mode_of(existing) == 0644);

  const fs::path to_existing = tmp.path() / "to-existing";
  fs::create_symlink(existing, to_existing);
  CHECK_FALSE(write_new_file(to_existing, "new", FileAccess::kPrivate).has_value());
  CHECK(ferry::test::read_file(existing) == "old");

  const fs::path dangling = tmp.path() / "dangling";
  const fs::path nowhere = tmp.path() / "nowhere";
  fs::create_symlink(nowhere, dangling);
  CHECK_FALSE(write_new_file(dangling, "new", FileAccess::kPrivate).has_value());
  CHECK_FALSE(fs::exists(nowhere));
}

TEST_CASE("write_file_atomic replaces content and leaves no temporary file", "[platform][fs]") {
  FsDir tmp;
  const fs::path file = tmp.path() / "state.json";
  REQUIRE(write_file_atomic(file, "{\"v\":1}"));
  CHECK(ferry::test::read_file(file) == "{\"v\":1}");
  CHECK(mode_of(file) == 0600);
  const auto first_inode = stat_of(file).st_ino;

  fs::permissions(file, fs::perms(0644));
  REQUIRE(write_file_atomic(file, "{\"v\":2}", FileAccess::kReadOnly));
  CHECK(ferry::test::read_file(file) == "{\"v\":2}");
  CHECK(mode_of(file) == 0400);
  CHECK(stat_of(file).st_ino != first_inode);  // a new file renamed over, not rewritten

  int entries = 0;
  for (const auto& entry : fs::directory_iterator(tmp.path())) {
    CHECK(entry.path().filename() == "state.json");
    ++entries;
  }
  CHECK(entries == 1);

  CHECK_FALSE(write_file_atomic(tmp.path() / "missing" / "x", "data").has_value());
}

TEST_CASE("read_file reads whole files within the limit", "[platform][fs]") {
  FsDir tmp;
  const fs::path file = tmp.path() / "data";
  put(file, "0123456789", 0600);
  auto all = read_file(file, 10);
  REQUIRE(all.has_value());
  CHECK(*all == "0123456789");

  auto too_big = read_file(file, 9);
  REQUIRE_FALSE(too_big.has_value());
  CHECK(too_big.error().code == ferry::codes::kLimitExceeded);

  // /proc files report size 0; the content must still come through.
  auto status = read_file("/proc/self/status", 1 << 20);
  REQUIRE(status.has_value());
  CHECK(status->starts_with("Name:"));

  auto missing = read_file(tmp.path() / "missing", 10);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message.find("No such file or directory") != std::string::npos);
}

TEST_CASE("read_file_range reads a slice", "[platform][fs]") {
  FsDir tmp;
  const fs::path file = tmp.path() / "data";
  put(file, "0123456789", 0600);
  CHECK(*read_file_range(file, 2, 3) == "234");
  CHECK(*read_file_range(file, 0, 10) == "0123456789");
  CHECK(*read_file_range(file, 8, 100) == "89");
  CHECK(*read_file_range(file, 10, 5) == "");
  CHECK(*read_file_range(file, 1000, 5) == "");
  CHECK(*read_file_range(file, 3, 0) == "");
  // A huge length is fine: nothing is allocated beyond what the file holds.
  CHECK(*read_file_range(file, 5, std::size_t{1} << 40) == "56789");
  CHECK_FALSE(read_file_range(tmp.path() / "missing", 0, 1).has_value());
}

TEST_CASE("remove_tree removes a tree but not what its symlinks point at", "[platform][fs]") {
  FsDir tmp;
  const fs::path outside = tmp.path() / "outside";
  fs::create_directory(outside);
  put(outside / "keep", "keep", 0600);
  const fs::path tree = tmp.path() / "tree";
  fs::create_directories(tree / "a" / "b");
  put(tree / "a" / "b" / "file", "x", 0600);
  fs::create_directory_symlink(outside, tree / "a" / "link");

  REQUIRE(remove_tree(tree));
  CHECK_FALSE(fs::exists(tree));
  CHECK(ferry::test::read_file(outside / "keep") == "keep");
  CHECK(remove_tree(tree).has_value());  // missing is fine
}

TEST_CASE("find_program searches the given PATH for executable files", "[platform][fs]") {
  FsDir tmp;
  const fs::path first = tmp.path() / "first";
  const fs::path second = tmp.path() / "second";
  fs::create_directories(first / "tool");  // a directory is not a program
  fs::create_directory(second);
  put(first / "other", "#!/bin/sh\n", 0644);  // not executable
  put(second / "tool", "#!/bin/sh\n", 0755);
  put(second / "other", "#!/bin/sh\n", 0755);

  const std::string path = "relative/dir::" + first.string() + ":" + second.string() + "/";
  auto tool = find_program("tool", path);
  REQUIRE(tool.has_value());
  CHECK(*tool == (second / "tool").string());
  auto other = find_program("other", path);
  REQUIRE(other.has_value());
  CHECK(*other == (second / "other").string());

  auto missing = find_program("ferry-no-such-program", path);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message.find("'ferry-no-such-program'") != std::string::npos);
  CHECK_FALSE(find_program("", path).has_value());

  auto sh = find_program("sh", "/usr/bin:/bin");
  REQUIRE(sh.has_value());
  CHECK((*sh == "/usr/bin/sh" || *sh == "/bin/sh"));

  // With a '/', the name is checked as it is and PATH is not consulted.
  auto direct = find_program((second / "tool").string(), "/nonexistent");
  REQUIRE(direct.has_value());
  CHECK(*direct == (second / "tool").string());
  CHECK_FALSE(find_program((first / "other").string(), second.string()).has_value());
}

TEST_CASE("current_executable names this test binary", "[platform][fs]") {
  auto exe = current_executable();
  REQUIRE(exe.has_value());
  CHECK(exe->is_absolute());
  CHECK(exe->filename() == "ferry_platform_tests");
  CHECK(fs::is_regular_file(*exe));
}

TEST_CASE("inspect_file tells a private file, an executable, a shared one", "[platform][fs]") {
  FsDir tmp;
  const fs::path key = tmp.path() / "key";
  put(key, "secret", 0600);
  auto facts = inspect_file(key, FollowLinks::kNo);
  REQUIRE(facts);
  CHECK(facts->regular_file);
  CHECK_FALSE(facts->executable);
  CHECK(facts->private_to_owner);
  CHECK_FALSE(facts->writable_by_others);
  CHECK(facts->owner.same_user(current_account()));

  const fs::path tool = tmp.path() / "tool";
  put(tool, "#!/bin/sh\n", 0775);
  facts = inspect_file(tool, FollowLinks::kNo);
  REQUIRE(facts);
  CHECK(facts->executable);
  CHECK_FALSE(facts->private_to_owner);
  CHECK(facts->writable_by_others);
  put(tool, "#!/bin/sh\n", 0704);
  facts = inspect_file(tool, FollowLinks::kNo);
  REQUIRE(facts);
  CHECK_FALSE(facts->private_to_owner);  // others may read it
  CHECK_FALSE(facts->writable_by_others);

  // A link is the link, or what it points at.
  const fs::path link = tmp.path() / "link";
  fs::create_symlink(key, link);
  facts = inspect_file(link, FollowLinks::kNo);
  REQUIRE(facts);
  CHECK_FALSE(facts->regular_file);
  facts = inspect_file(link, FollowLinks::kYes);
  REQUIRE(facts);
  CHECK(facts->regular_file);
  if (::geteuid() == 0) {
    REQUIRE(::chown(key.c_str(), 65534, 65534) == 0);
    facts = inspect_file(key, FollowLinks::kNo);
    REQUIRE(facts);
    CHECK_FALSE(facts->owner.same_user(current_account()));
    CHECK(facts->owner.native()->uid == 65534);
  }

  auto missing = inspect_file(tmp.path() / "missing", FollowLinks::kYes);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message ==
        (tmp.path() / "missing").string() + ": No such file or directory");
}

TEST_CASE("create_file makes a new private file and refuses what exists", "[platform][fs]") {
  FsDir tmp;
  UmaskGuard umask(022);
  const fs::path log = tmp.path() / "supervisor.log";
  {
    auto file = create_file(log, FileAccess::kPrivate, "supervisor log");
    REQUIRE(file);
    CHECK(file->native() >= 0);
    CHECK(::write(static_cast<int>(file->native()), "x", 1) == 1);
    OpenFile moved = std::move(*file);
    CHECK(file->native() == -1);
    CHECK(moved.native() >= 0);
  }
  CHECK(ferry::test::read_file(log) == "x");
  CHECK(mode_of(log) == 0600);

  auto again = create_file(log, FileAccess::kPrivate, "supervisor log");
  REQUIRE_FALSE(again);
  CHECK(again.error().code == ferry::codes::kInternalError);
  CHECK(again.error().message == "supervisor log: File exists");
  const fs::path link = tmp.path() / "link";
  fs::create_symlink(tmp.path() / "nowhere", link);
  CHECK_FALSE(create_file(link, FileAccess::kPrivate, "x"));
  CHECK_FALSE(fs::exists(tmp.path() / "nowhere"));
}

TEST_CASE("open_append_file appends whole writes, sets the access, refuses a symlink",
          "[platform][fs]") {
  FsDir tmp;
  UmaskGuard umask(022);
  const fs::path log = tmp.path() / "audit.log";
  {
    auto file = open_append_file(log, FileAccess::kPrivate, "audit log");
    REQUIRE(file);
    REQUIRE(write_to(*file, "one\n", "audit log"));
    auto size = file_size(*file, "audit log");
    REQUIRE(size);
    CHECK(*size == 4);
  }
  CHECK(mode_of(log) == 0600);
  // Opened again (and widened meanwhile): at the end, with the access given back.
  fs::permissions(log, static_cast<fs::perms>(0644));
  auto a = open_append_file(log, FileAccess::kPrivate, "audit log");
  auto b = open_append_file(log, FileAccess::kPrivate, "audit log");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(mode_of(log) == 0600);
  REQUIRE(write_to(*a, "two\n", "audit log"));
  REQUIRE(write_to(*b, "three\n", "audit log"));  // after a's line, not over it
  CHECK(ferry::test::read_file(log) == "one\ntwo\nthree\n");
  auto size = file_size(*a, "audit log");
  REQUIRE(size);
  CHECK(*size == 14);

  const fs::path link = tmp.path() / "link";
  fs::create_symlink(tmp.path() / "nowhere", link);
  CHECK_FALSE(open_append_file(link, FileAccess::kPrivate, "x"));
  CHECK_FALSE(fs::exists(tmp.path() / "nowhere"));
}
