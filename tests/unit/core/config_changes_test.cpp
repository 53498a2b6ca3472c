#include "ferry/core/config_changes.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "ferry/core/config_layers.hpp"

using nlohmann::json;

TEST_CASE("changed_keys names changed, added and removed keys, sorted", "[core][config]") {
  const json before = {{"log_level", "info"},
                       {"poll_interval_ms", 500},
                       {"same", {1, 2}},
                       {"secret", "old"},
                       {"gone", true}};
  const json after = {{"log_level", "debug"},
                      {"poll_interval_ms", 500},
                      {"same", {1, 2}},
                      {"secret", "new"},
                      {"added", 1}};
  CHECK(ferry::changed_keys(before, after) ==
        std::vector<std::string>{"added", "gone", "log_level", "secret"});
  CHECK(ferry::changed_keys(after, after).empty());
  // A value's type counts: 500 and "500" differ.
  CHECK(ferry::changed_keys(json{{"a", 500}}, json{{"a", "500"}}) == std::vector<std::string>{"a"});
  // Not an object: as if empty.
  CHECK(ferry::changed_keys(json(), json{{"a", 1}}) == std::vector<std::string>{"a"});
}

TEST_CASE("read_config_snapshot reads JSON with comments, null when there is none",
          "[core][config]") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("ferry-config-snapshot-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "a.json") << "{\"a\": 1 /* why */, \"b\": [2]}";
    std::ofstream(dir / "bad.json") << "{\"a\": ";
  }
  CHECK(ferry::read_config_snapshot(dir / "a.json") == json{{"a", 1}, {"b", {2}}});
  CHECK(ferry::read_config_snapshot(dir / "bad.json").is_discarded());
  CHECK(ferry::read_config_snapshot(dir / "missing.json").is_null());
  CHECK(ferry::read_config_snapshot("").is_null());
  std::filesystem::remove_all(dir);
}

TEST_CASE("reload_report names each changed key, applied or not, and moves on", "[core][config]") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("ferry-reload-report-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "c.json";
  std::ofstream(file) << R"({"log_level": "info", "secret": "s1", "port": 1})";
  auto last = ferry::read_config_snapshot(file);
  std::ofstream(file) << R"({"log_level": "debug", "secret": "s2", "port": 1})";
  const auto live = [](std::string_view key) { return key == "log_level"; };
  auto lines = ferry::reload_report(file, last, live);
  CHECK(lines ==
        std::vector<std::string>{"reload: log_level changed: applied",
                                 "reload: secret changed: takes effect at the next start",
                                 "reload: " + file.string() + " read again, 2 key(s) changed"});
  for (const auto& line : lines) {
    CHECK(line.find("s2") == std::string::npos);  // never a value
  }
  // The reading is the new baseline: nothing changed since.
  CHECK(ferry::reload_report(file, last, live) ==
        std::vector<std::string>{"reload: " + file.string() + " read again, 0 key(s) changed"});
  CHECK(ferry::reload_report("", last, live).back() ==
        "reload: configuration read again, 3 key(s) changed");  // no file: every key gone
  std::filesystem::remove_all(dir);
}

TEST_CASE("read_secret_file: one line of text, errors that name the file, never the secret",
          "[core][config]") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("ferry-secret-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name, std::ios::binary) << text;
    return dir / name;
  };
  using ferry::config::read_secret_file;
  CHECK(read_secret_file(write("lf", "s3cret\n"), "the key").value() == "s3cret");
  CHECK(read_secret_file(write("crlf", "s3cret\r\n"), "the key").value() == "s3cret");
  CHECK(read_secret_file(write("bare", "s3cret"), "the key").value() == "s3cret");
  CHECK(read_secret_file(write("max", std::string(4096, 'k')), "the key").value().size() == 4096);
  const auto refusal = [](const ferry::Expected<std::string>& r) {
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("hunter2") == std::string::npos);
    return r.error().message;
  };
  CHECK(refusal(read_secret_file(dir / "missing", "the key")).find("missing: cannot be read") !=
        std::string::npos);
  CHECK(refusal(read_secret_file(write("empty", "\n"), "the key")).ends_with("is empty (the key)"));
  CHECK(refusal(read_secret_file(write("two", "hunter2\nhunter2\n"), "the key"))
            .find("more than one line") != std::string::npos);
  CHECK(refusal(read_secret_file(write("big", std::string(4097, 'k')), "the key"))
            .find("more than 4096 bytes") != std::string::npos);
  std::filesystem::remove_all(dir);
}
