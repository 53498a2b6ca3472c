// deliver_file: the SendFile write on a real file system, as the current user (owner and group
// are the test's own, since only root may give files away).
#include "ferry/platform/file_delivery.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "test_process.hpp"

namespace fs = std::filesystem;
using namespace ferry::platform;
namespace fdc = ferry::platform::file_delivery_codes;

namespace {

struct DeliveryDir : ferry::test::TempDir {
  DeliveryDir() : ferry::test::TempDir("ferry-send", 0700) {}
};

std::string read_back(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct stat lstat_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st;
}

FileDelivery mine(const fs::path& dir, const std::string& name) {
  FileDelivery d;
  d.target_dir = dir;
  d.name = name;
  d.owner = ::getpwuid(::geteuid())->pw_name;
  d.group = ::getgrgid(::getegid())->gr_name;
  d.timeout = std::chrono::seconds(10);
  return d;
}

std::size_t entries(const fs::path& dir) {
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

}  // namespace

TEST_CASE("deliver_file writes the bytes with the mode, owner and group asked") {
  DeliveryDir tmp;
  FileDelivery d = mine(tmp.path(), "app.conf");
  d.mode = 0640;
  const std::string bytes("line 1\n\0binary\xff", 15);
  REQUIRE(deliver_file(d, bytes));
  const fs::path file = tmp.path() / "app.conf";
  CHECK(read_back(file) == bytes);
  const struct stat st = lstat_of(file);
  CHECK(S_ISREG(st.st_mode));
  CHECK((st.st_mode & 07777) == 0640);
  CHECK(st.st_uid == ::geteuid());
  CHECK(st.st_gid == ::getegid());
  CHECK(entries(tmp.path()) == 1);  // no temp file left behind

  d.name = "runnable";
  d.mode = 0755;
  REQUIRE(deliver_file(d, ""));
  CHECK((lstat_of(tmp.path() / "runnable").st_mode & 07777) == 0755);
  CHECK(read_back(tmp.path() / "runnable").empty());
}

TEST_CASE("deliver_file refuses an existing file unless Overwrite, then replaces it") {
  DeliveryDir tmp;
  const fs::path file = tmp.path() / "f";
  std::ofstream(file) << "old";
  FileDelivery d = mine(tmp.path(), "f");
  auto refused = deliver_file(d, "new");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == fdc::kFileAlreadyExists);
  CHECK(refused.error().message.find(file.string()) != std::string::npos);
  CHECK(read_back(file) == "old");
  CHECK(entries(tmp.path()) == 1);

  d.overwrite = true;
  REQUIRE(deliver_file(d, "new"));
  CHECK(read_back(file) == "new");
  CHECK(entries(tmp.path()) == 1);
}

TEST_CASE("deliver_file never follows nor replaces a symlink at the final name") {
  DeliveryDir tmp;
  const fs::path victim = tmp.path() / "victim";
  std::ofstream(victim) << "keep";
  fs::create_symlink(victim, tmp.path() / "link");
  FileDelivery d = mine(tmp.path(), "link");
  auto without = deliver_file(d, "evil");
  REQUIRE_FALSE(without);
  CHECK(without.error().code == fdc::kFileAlreadyExists);
  d.overwrite = true;
  auto with = deliver_file(d, "evil");
  REQUIRE_FALSE(with);
  CHECK(with.error().message.find("symlink") != std::string::npos);
  CHECK(read_back(victim) == "keep");
  CHECK(S_ISLNK(lstat_of(tmp.path() / "link").st_mode));

  fs::create_directory(tmp.path() / "sub");
  d.name = "sub";
  CHECK_FALSE(deliver_file(d, "x"));
  CHECK(fs::is_directory(tmp.path() / "sub"));
}

TEST_CASE("deliver_file creates a missing target directory with its parents") {
  DeliveryDir tmp;
  const fs::path dir = tmp.path() / "a" / "b";
  FileDelivery d = mine(dir, "f.txt");
  REQUIRE(deliver_file(d, "hi"));
  CHECK(read_back(dir / "f.txt") == "hi");

  // A file where a directory of the path should be is a failure naming the path.
  std::ofstream(tmp.path() / "plain") << "x";
  FileDelivery blocked = mine(tmp.path() / "plain" / "sub", "f");
  auto s = deliver_file(blocked, "hi");
  REQUIRE_FALSE(s);
  CHECK(s.error().code == fdc::kFailed);
  CHECK(s.error().message.find("plain") != std::string::npos);
}

TEST_CASE("deliver_file names an unknown owner or group and writes nothing") {
  DeliveryDir tmp;
  FileDelivery d = mine(tmp.path(), "f");
  d.owner = "ferry-no-such-user";
  auto s = deliver_file(d, "x");
  REQUIRE_FALSE(s);
  CHECK(s.error().code == fdc::kAccountNotExists);
  CHECK(s.error().message.find("ferry-no-such-user") != std::string::npos);
  d = mine(tmp.path(), "f");
  d.group = "ferry-no-such-group";
  s = deliver_file(d, "x");
  REQUIRE_FALSE(s);
  CHECK(s.error().code == fdc::kAccountNotExists);
  CHECK(s.error().message.find("ferry-no-such-group") != std::string::npos);
  CHECK(entries(tmp.path()) == 0);
}

TEST_CASE("deliver_file cannot give a file away without the privilege") {
  if (::geteuid() == 0) {
    SUCCEED("root may give files to anyone");
    return;
  }
  DeliveryDir tmp;
  FileDelivery d = mine(tmp.path(), "f");
  d.owner = "root";
  auto s = deliver_file(d, "x");
  REQUIRE_FALSE(s);
  CHECK(s.error().code == fdc::kFailed);
  CHECK(s.error().message.find("owner") != std::string::npos);
  CHECK(entries(tmp.path()) == 0);
}
