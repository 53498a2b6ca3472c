// The log setup on Windows (platform/common/logging.cpp, ferry::logging_header_only): a file
// rotated by size while it is open (the service's log: a service has no stderr), lines that
// stay one line each, a descriptor as the stream, and the errors.
#include "ferry/platform/logging.hpp"

#include <fcntl.h>
#include <io.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "windows_test_support.hpp"

namespace {

using ferry::platform::LogOptions;
using ferry::platform::setup_logging;
namespace fs = std::filesystem;

// Drops the test's logger (and the files it holds) for a silent one.
void quiet_logger() {
  LogOptions quiet;
  quiet.program = "ferry-test";
  quiet.level = "off";
  CHECK(setup_logging(quiet).has_value());
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("windows log: a file rotated by size while open, one line per message", "[logging]") {
  ferry::test::WindowsTempDir dir("ferry-log");
  LogOptions o;
  o.program = "ferry-test";
  o.level = "info";
  o.file = dir / "agent.log";
  o.max_file_bytes = 300;
  o.max_files = 2;
  REQUIRE(setup_logging(o).has_value());
  spdlog::debug("not at info");
  spdlog::info("two\nlines\r\x01");
  for (int i = 0; i < 20; ++i) {
    spdlog::info("message {:02}", i);
  }
  quiet_logger();

  const std::string current = ferry::test::file_bytes(dir / "agent.log");
  const std::string first = ferry::test::file_bytes(dir / "agent.log.1");
  const std::string second = ferry::test::file_bytes(dir / "agent.log.2");
  CHECK_FALSE(fs::exists(dir / "agent.log.3"));
  for (const auto* file : {&current, &first, &second}) {
    CHECK_FALSE(file->empty());
    CHECK(file->size() <= 300);
    CHECK(count_of(*file, "\r\n") == 0);  // binary: LF alone, as on Linux
    CHECK(file->back() == '\n');
  }
  CHECK(current.find("[ferry-test] [info] message 19\n") != std::string::npos);
  const std::string all = second + first + current;
  CHECK(all.find("not at info") == std::string::npos);
  // The oldest lines went with the oldest file; what is kept is in order, none lost in between.
  const auto kept_from = all.find("message ");
  REQUIRE(kept_from != std::string::npos);
  const int oldest = std::stoi(all.substr(kept_from + 8, 2));
  CHECK(count_of(all, "message ") == static_cast<std::size_t>(20 - oldest));

  // Set up again on the same file: it is appended to.
  o.max_file_bytes = 1 << 20;
  REQUIRE(setup_logging(o).has_value());
  spdlog::warn("escaped {}", "a\nb");
  quiet_logger();
  const std::string appended = ferry::test::file_bytes(dir / "agent.log");
  CHECK(appended.starts_with(current));
  CHECK(appended.ends_with("[ferry-test] [warning] escaped a\\nb\n"));
}

TEST_CASE("windows log: a descriptor as the stream, never the journal", "[logging]") {
  ferry::test::WindowsTempDir dir("ferry-log");
  const auto path = dir / "stderr";
  const int fd =
      ::_wopen(path.c_str(), _O_WRONLY | _O_CREAT | _O_APPEND | _O_BINARY, _S_IREAD | _S_IWRITE);
  REQUIRE(fd >= 0);
  LogOptions o;
  o.program = "ferry-test";
  o.stream_fd = fd;
  o.journal_stream = "0:0";
  CHECK_FALSE(ferry::platform::is_journal_stream(fd, "0:0"));
  REQUIRE(setup_logging(o).has_value());
  spdlog::error("to the stream");
  quiet_logger();
  ::_close(fd);
  const std::string text = ferry::test::file_bytes(path);
  CHECK(text.starts_with("["));  // a timestamp, no "<3>"
  CHECK(text.ends_with("[ferry-test] [error] to the stream\n"));
}

TEST_CASE("windows log: errors", "[logging]") {
  ferry::test::WindowsTempDir dir("ferry-log");
  LogOptions o;
  o.program = "ferry-test";
  o.level = "loud";
  auto s = setup_logging(o);
  REQUIRE_FALSE(s);
  CHECK(s.error().code == "InvalidParameterValue");
  o.level = "info";
  o.file = dir / "missing" / "agent.log";
  s = setup_logging(o);
  REQUIRE_FALSE(s);
  CHECK(s.error().message.find("does not exist") != std::string::npos);
  // A directory where the file should be.
  fs::create_directory(dir / "taken");
  o.file = dir / "taken";
  s = setup_logging(o);
  REQUIRE_FALSE(s);
  CHECK(s.error().message.find("log file") != std::string::npos);
}
