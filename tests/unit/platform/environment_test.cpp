#include "ferry/platform/environment.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

using ferry::platform::parse_environment_file;
using ferry::platform::task_environment;
using ferry::platform::UserInfo;

namespace {

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& content) {
    std::string pattern = std::filesystem::temp_directory_path() / "ferry-env-XXXXXX";
    const int fd = ::mkstemp(pattern.data());
    REQUIRE(fd >= 0);
    ::close(fd);
    path = pattern;
    std::ofstream(path) << content;
  }
  ~TempFile() { std::filesystem::remove(path); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
};

const UserInfo kBob{.name = "bob", .account = {}, .home = "/home/bob", .shell = "/bin/bash"};

}  // namespace

TEST_CASE("parse_environment_file reads the pam_env forms", "[platform][environment]") {
  const auto env = parse_environment_file(
      "# comment\n"
      "\n"
      "PATH=\"/opt/bin:/usr/bin\"\n"
      "  LANG=C.UTF-8  \n"
      "export EDITOR=vim\n"
      "exportED=yes\n"
      "SINGLE='a b'\n"
      "MISMATCHED=\"x'\n"
      "EQUALS=a=b\n"
      "EMPTY=\n"
      "CRLF=value\r\n"
      "bad-key=1\n"
      "9LIVES=no\n"
      "no equals sign\n"
      "DUP=first\n"
      "DUP=second");
  const std::map<std::string, std::string> expected{
      {"PATH", "/opt/bin:/usr/bin"},
      {"LANG", "C.UTF-8"},
      {"EDITOR", "vim"},
      {"exportED", "yes"},
      {"SINGLE", "a b"},
      {"MISMATCHED", "\"x'"},
      {"EQUALS", "a=b"},
      {"EMPTY", ""},
      {"CRLF", "value"},
      {"DUP", "second"},
  };
  CHECK(env == expected);
}

TEST_CASE("parse_environment_file of nothing is empty", "[platform][environment]") {
  CHECK(parse_environment_file("").empty());
  CHECK(parse_environment_file("# only a comment\n\n   \n").empty());
}

TEST_CASE("task_environment layers defaults, the file and the user", "[platform][environment]") {
  TempFile file(
      "PATH=/custom/bin\n"
      "HOME=/wrong\n"
      "USER=mallory\n"
      "LOGNAME=mallory\n"
      "SHELL=/bin/false\n"
      "FOO=\"bar baz\"\n");
  const auto env = task_environment(kBob, file.path);
  const std::vector<std::string> expected{
      "FOO=bar baz",      "HOME=/home/bob",  "LOGNAME=bob",
      "PATH=/custom/bin", "SHELL=/bin/bash", "USER=bob",
  };
  CHECK(env == expected);
}

TEST_CASE("task_environment without a file gets the sane PATH", "[platform][environment]") {
  UserInfo nobody = kBob;
  nobody.shell.clear();
  const auto env = task_environment(nobody, "/nonexistent/ferry/environment");
  const std::vector<std::string> expected{
      "HOME=/home/bob", "LOGNAME=bob", "PATH=" + std::string(ferry::platform::kSanePath),
      "SHELL=/bin/sh",  "USER=bob",
  };
  CHECK(env == expected);
}

TEST_CASE("default_shell is bash where there is one", "[platform][environment]") {
  auto shell = ferry::platform::default_shell();
  REQUIRE(shell.has_value());
  CHECK(*shell == (std::filesystem::exists("/bin/bash") ? "/bin/bash" : "/bin/sh"));
}
