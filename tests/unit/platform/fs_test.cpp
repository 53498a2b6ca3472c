#include "ferry/platform/fs.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "ferry/core/error_codes.hpp"

namespace fs = std::filesystem;
using namespace ferry::platform;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = fs::temp_directory_path() / "ferry-fs-XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

struct stat stat_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st;
}

unsigned mode_of(const fs::path& p) {
  return stat_of(p).st_mode & 07777U;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
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
  TempDir tmp;
  UmaskGuard umask(077);
  const fs::path dir = tmp.path / "state";
  REQUIRE(ensure_directory(dir, 0751));
  CHECK(S_ISDIR(stat_of(dir).st_mode));
  CHECK(mode_of(dir) == 0751);

  fs::permissions(dir, fs::perms::owner_all);
  REQUIRE(ensure_directory(dir, 0755));
  CHECK(mode_of(dir) == 0755);

  // A trailing slash names the same directory.
  REQUIRE(ensure_directory(dir.string() + "/", 0700));
  CHECK(mode_of(dir) == 0700);
}

TEST_CASE("ensure_directory sets the owner", "[platform][fs]") {
  if (::geteuid() != 0) {
    WARN("needs root to chown");
    return;
  }
  TempDir tmp;
  const fs::path dir = tmp.path / "owned";
  REQUIRE(ensure_directory(dir, 0750, Owner{65534, 65534}));
  const auto st = stat_of(dir);
  CHECK(st.st_uid == 65534);
  CHECK(st.st_gid == 65534);
  CHECK((st.st_mode & 07777U) == 0750);
}

TEST_CASE("ensure_directory refuses a symlink or a file in its place", "[platform][fs]") {
  TempDir tmp;
  const fs::path target = tmp.path / "target";
  fs::create_directory(target);
  fs::permissions(target, fs::perms::owner_all);
  const fs::path link = tmp.path / "link";
  fs::create_directory_symlink(target, link);

  auto via_link = ensure_directory(link, 0777);
  REQUIRE_FALSE(via_link.has_value());
  CHECK(via_link.error().message.find("symlink") != std::string::npos);
  CHECK(mode_of(target) == 0700);  // untouched through the link
  auto via_slash = ensure_directory(link.string() + "/", 0777);
  CHECK_FALSE(via_slash.has_value());
  CHECK(mode_of(target) == 0700);

  const fs::path file = tmp.path / "file";
  put(file, "x", 0600);
  CHECK_FALSE(ensure_directory(file, 0755).has_value());
  CHECK(fs::is_regular_file(file));
}

TEST_CASE("ensure_directories creates every missing parent with the mode", "[platform][fs]") {
  TempDir tmp;
  UmaskGuard umask(027);
  fs::permissions(tmp.path, fs::perms::owner_all);
  const fs::path leaf = tmp.path / "a" / "b" / "c";
  REQUIRE(ensure_directories(leaf, 0755));
  CHECK(mode_of(tmp.path / "a") == 0755);
  CHECK(mode_of(tmp.path / "a" / "b") == 0755);
  CHECK(mode_of(leaf) == 0755);
  CHECK(mode_of(tmp.path) == 0700);  // an existing parent is left alone

  // Idempotent, and the last component is brought to the new mode.
  REQUIRE(ensure_directories(leaf, 0711));
  CHECK(mode_of(leaf) == 0711);
  CHECK(mode_of(tmp.path / "a") == 0755);

  put(tmp.path / "plain", "", 0600);
  CHECK_FALSE(ensure_directories(tmp.path / "plain" / "sub", 0755).has_value());
}

TEST_CASE("write_new_file writes content with mode and owner", "[platform][fs]") {
  TempDir tmp;
  UmaskGuard umask(077);
  const fs::path file = tmp.path / "script.sh";
  REQUIRE(write_new_file(file, "echo hi\n", 0755));
  CHECK(slurp(file) == "echo hi\n");
  CHECK(mode_of(file) == 0755);

  if (::geteuid() == 0) {
    const fs::path owned = tmp.path / "owned";
    REQUIRE(write_new_file(owned, "data", 0640, Owner{65534, 65534}));
    const auto st = stat_of(owned);
    CHECK(st.st_uid == 65534);
    CHECK(st.st_gid == 65534);
    CHECK((st.st_mode & 07777U) == 0640);
    CHECK(slurp(owned) == "data");
  }
}

TEST_CASE("write_new_file refuses existing files and symlinks", "[platform][fs]") {
  TempDir tmp;
  const fs::path existing = tmp.path / "existing";
  put(existing, "old", 0644);
  auto again = write_new_file(existing, "new", 0600);
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().message.find("File exists") != std::string::npos);
  CHECK(slurp(existing) == "old");
  CHECK(mode_of(existing) == 0644);

  const fs::path to_existing = tmp.path / "to-existing";
  fs::create_symlink(existing, to_existing);
  CHECK_FALSE(write_new_file(to_existing, "new", 0600).has_value());
  CHECK(slurp(existing) == "old");

  const fs::path dangling = tmp.path / "dangling";
  const fs::path nowhere = tmp.path / "nowhere";
  fs::create_symlink(nowhere, dangling);
  CHECK_FALSE(write_new_file(dangling, "new", 0600).has_value());
  CHECK_FALSE(fs::exists(nowhere));
}

TEST_CASE("write_file_atomic replaces content and leaves no temporary file", "[platform][fs]") {
  TempDir tmp;
  const fs::path file = tmp.path / "state.json";
  REQUIRE(write_file_atomic(file, "{\"v\":1}"));
  CHECK(slurp(file) == "{\"v\":1}");
  CHECK(mode_of(file) == 0600);
  const auto first_inode = stat_of(file).st_ino;

  REQUIRE(write_file_atomic(file, "{\"v\":2}", 0644));
  CHECK(slurp(file) == "{\"v\":2}");
  CHECK(mode_of(file) == 0644);
  CHECK(stat_of(file).st_ino != first_inode);  // a new file renamed over, not rewritten

  int entries = 0;
  for (const auto& entry : fs::directory_iterator(tmp.path)) {
    CHECK(entry.path().filename() == "state.json");
    ++entries;
  }
  CHECK(entries == 1);

  CHECK_FALSE(write_file_atomic(tmp.path / "missing" / "x", "data").has_value());
}

TEST_CASE("read_file reads whole files within the limit", "[platform][fs]") {
  TempDir tmp;
  const fs::path file = tmp.path / "data";
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

  auto missing = read_file(tmp.path / "missing", 10);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message.find("No such file or directory") != std::string::npos);
}

TEST_CASE("read_file_range reads a slice", "[platform][fs]") {
  TempDir tmp;
  const fs::path file = tmp.path / "data";
  put(file, "0123456789", 0600);
  CHECK(*read_file_range(file, 2, 3) == "234");
  CHECK(*read_file_range(file, 0, 10) == "0123456789");
  CHECK(*read_file_range(file, 8, 100) == "89");
  CHECK(*read_file_range(file, 10, 5) == "");
  CHECK(*read_file_range(file, 1000, 5) == "");
  CHECK(*read_file_range(file, 3, 0) == "");
  // A huge length is fine: nothing is allocated beyond what the file holds.
  CHECK(*read_file_range(file, 5, std::size_t{1} << 40) == "56789");
  CHECK_FALSE(read_file_range(tmp.path / "missing", 0, 1).has_value());
}

TEST_CASE("remove_tree removes a tree but not what its symlinks point at", "[platform][fs]") {
  TempDir tmp;
  const fs::path outside = tmp.path / "outside";
  fs::create_directory(outside);
  put(outside / "keep", "keep", 0600);
  const fs::path tree = tmp.path / "tree";
  fs::create_directories(tree / "a" / "b");
  put(tree / "a" / "b" / "file", "x", 0600);
  fs::create_directory_symlink(outside, tree / "a" / "link");

  REQUIRE(remove_tree(tree));
  CHECK_FALSE(fs::exists(tree));
  CHECK(slurp(outside / "keep") == "keep");
  CHECK(remove_tree(tree).has_value());  // missing is fine
}

TEST_CASE("find_program searches the given PATH for executable files", "[platform][fs]") {
  TempDir tmp;
  const fs::path first = tmp.path / "first";
  const fs::path second = tmp.path / "second";
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
