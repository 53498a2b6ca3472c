#include "ferry/platform/logging.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "process.hpp"
#include "test_process.hpp"

using ferry::platform::LogOptions;
using ferry::platform::setup_logging;
using ferry::test::read_file;
using ferry::test::TempDir;
namespace fs = std::filesystem;

namespace {

unsigned log_file_mode(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777u;
}

std::string journal_id_of(int fd) {
  struct stat st {};
  REQUIRE(::fstat(fd, &st) == 0);
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

std::vector<std::string> log_lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  CHECK(start == text.size());  // every line ends with '\n'
  return lines;
}

// Drops the test's logger (and the files it holds) for a silent one on stderr.
void release_logger() {
  LogOptions quiet;
  quiet.program = "ferry-test";
  quiet.level = "off";
  CHECK(setup_logging(quiet).has_value());  // CHECK: called from a destructor too
}

// A file opened for appending, closed at the end of the test.
struct LogStreamFile {
  explicit LogStreamFile(const fs::path& p)
      : fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) {
    REQUIRE(fd >= 0);
  }
  ~LogStreamFile() {
    release_logger();  // the sink writes to `fd`: drop it first
    ::close(fd);
  }
  LogStreamFile(const LogStreamFile&) = delete;
  LogStreamFile& operator=(const LogStreamFile&) = delete;
  int fd;
};

void log_every_level() {
  spdlog::trace("a trace line");
  spdlog::debug("a debug line");
  spdlog::info("an info line");
  spdlog::warn("a warn line");
  spdlog::error("an error line");
  spdlog::critical("a critical line");
}

}  // namespace

TEST_CASE("log: under the journal, syslog priorities and no timestamps", "[logging]") {
  TempDir dir;
  const auto path = dir / "stderr";
  LogStreamFile out(path);
  LogOptions o;
  o.program = "ferry-test";
  o.level = "debug";
  o.stream_fd = out.fd;
  o.journal_stream = journal_id_of(out.fd);
  REQUIRE(setup_logging(o).has_value());
  log_every_level();
  // A message is one line, one journal entry: a newline cannot start a forged one.
  spdlog::info("two\nlines <3>forged\r\x01");
  CHECK(log_lines_of(read_file(path)) ==
        std::vector<std::string>{"<7>a debug line", "<6>an info line", "<4>a warn line",
                                 "<3>an error line", "<2>a critical line",
                                 "<6>two\\nlines <3>forged\\r\\x01"});
}

TEST_CASE("log: JOURNAL_STREAM naming another file leaves plain timed lines", "[logging]") {
  TempDir dir;
  const auto path = dir / "stderr";
  const auto other = dir / "other";
  LogStreamFile elsewhere(other);
  LogStreamFile out(path);
  LogOptions o;
  o.program = "ferry-test";
  o.level = "info";
  o.stream_fd = out.fd;
  for (const std::string& journal : {journal_id_of(elsewhere.fd), std::string("garbage"),
                                     std::string(":"), journal_id_of(out.fd) + "x"}) {
    INFO(journal);
    o.journal_stream = journal;
    CHECK_FALSE(ferry::platform::is_journal_stream(out.fd, journal));
  }
  CHECK(ferry::platform::is_journal_stream(out.fd, journal_id_of(out.fd)));
  o.journal_stream = journal_id_of(elsewhere.fd);
  REQUIRE(setup_logging(o).has_value());
  log_every_level();
  const auto lines = log_lines_of(read_file(path));
  REQUIRE(lines.size() == 4);  // info and above
  for (const auto& line : lines) {
    INFO(line);
    CHECK_FALSE(line.starts_with("<"));
    // "[2024-05-01 12:00:00.123] [ferry-test] [info] an info line"
    CHECK(line.size() > 26);
    CHECK(line[0] == '[');
    CHECK(line.substr(24, 14) == "] [ferry-test]");
  }
  CHECK(lines[0].ends_with("[info] an info line"));
  CHECK(lines[3].ends_with("[critical] a critical line"));
}

TEST_CASE("log: a file, mode 0600 from the start, rotated by size", "[logging]") {
  TempDir dir;
  const auto file = dir / "ferry.log";
  LogOptions o;
  o.program = "ferry-test";
  o.level = "info";
  o.file = file;
  o.max_file_bytes = 1000;
  o.max_files = 2;
  const mode_t old_umask = ::umask(0);  // the mode must not depend on it
  const auto setup = setup_logging(o);
  ::umask(old_umask);
  REQUIRE(setup.has_value());
  // There before the first line.
  REQUIRE(fs::exists(file));
  CHECK(fs::file_size(file) == 0);
  CHECK(log_file_mode(file) == 0600);

  // About 90 bytes a line: 11 per file; 40 lines fill the file and both rotations, and drop
  // the oldest.
  for (int i = 0; i < 40; ++i) {
    spdlog::info("line {:03} {}", i, std::string(40, 'x'));
  }
  release_logger();
  const std::vector<fs::path> files{file, dir / "ferry.log.1", dir / "ferry.log.2"};
  for (const auto& f : files) {
    INFO(f);
    REQUIRE(fs::exists(f));
    CHECK(log_file_mode(f) == 0600);
    CHECK(fs::file_size(f) <= 1000);
    CHECK(fs::file_size(f) > 0);
  }
  CHECK_FALSE(fs::exists(dir / "ferry.log.3"));
  // The newest lines in the file, the ones before in .1, then .2; the oldest are gone.
  const std::string live = read_file(file);
  const std::string one = read_file(dir / "ferry.log.1");
  const std::string two = read_file(dir / "ferry.log.2");
  CHECK(live.find("line 039") != std::string::npos);
  CHECK(one.find("line 039") == std::string::npos);
  CHECK(two.find("line 000") == std::string::npos);
  const auto first_of = [](const std::string& text) {
    const auto at = text.find("line ");
    return std::stoi(text.substr(at + 5, 3));
  };
  CHECK(first_of(two) < first_of(one));
  CHECK(first_of(one) < first_of(live));
  const auto total =
      log_lines_of(live).size() + log_lines_of(one).size() + log_lines_of(two).size();
  CHECK(total < 40);

  // An existing file is appended to, and set to 0600.
  REQUIRE(::chmod(file.c_str(), 0644) == 0);
  o.max_file_bytes = 1 << 20;
  REQUIRE(setup_logging(o).has_value());
  CHECK(log_file_mode(file) == 0600);
  spdlog::warn("appended");
  release_logger();
  const std::string after = read_file(file);
  CHECK(after.starts_with(live));
  CHECK(after.ends_with("[warning] appended\n"));  // spdlog's name of the level
}

TEST_CASE("log: refused settings leave the logger as it was", "[logging]") {
  TempDir dir;
  LogOptions o;
  o.program = "ferry-test";
  o.level = "loud";
  auto bad_level = setup_logging(o);
  REQUIRE_FALSE(bad_level.has_value());
  CHECK_THAT(bad_level.error().message, Catch::Contains("loud") && Catch::Contains("trace"));

  o.level = "info";
  o.file = dir / "missing" / "ferry.log";
  auto no_dir = setup_logging(o);
  REQUIRE_FALSE(no_dir.has_value());
  CHECK_THAT(no_dir.error().message,
             Catch::Contains((dir / "missing").string()) && Catch::Contains("does not exist"));
  CHECK_FALSE(fs::exists(dir / "missing"));  // not created silently

  // A symlink is not followed.
  fs::create_symlink(dir / "target.log", dir / "link.log");
  o.file = dir / "link.log";
  CHECK_FALSE(setup_logging(o).has_value());
  CHECK_FALSE(fs::exists(dir / "target.log"));
}
