// The audit log on its own: lines as JSON, the file's mode, rotation by size, and the reader's
// order and filters (what `ferry-agent audit` prints).
#include "ferry/agent/audit_log.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "ferry/agent/commands.hpp"
#include "ferry/core/base64.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/core/time.hpp"
#include "test_process.hpp"

namespace fs = std::filesystem;
using ferry::agent::AuditFilter;
using ferry::agent::AuditLog;
using ferry::agent::AuditRecord;
using ferry::agent::read_audit_log;

namespace {

AuditRecord audit_line(const std::string& time, const std::string& id, const std::string& event,
                       const std::string& result = "") {
  AuditRecord r;
  r.time = time;
  r.event = event;
  r.task_id = id;
  r.invocation_id = "inv-1";
  r.command_type = "SHELL";
  r.sha256 = ferry::sha256_hex("echo hi");
  r.result = result;
  if (event == "finished") {
    r.exit_code = 0;
  }
  return r;
}

std::vector<std::string> ids(const std::vector<AuditRecord>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) {
    out.push_back(r.task_id + ":" + r.event);
  }
  return out;
}

}  // namespace

TEST_CASE("audit log: a line round-trips; empty fields are left out") {
  AuditRecord r = audit_line("2026-12-07T18:00:00Z", "invt-1", "refused", "START_FAILED");
  r.rule = "denied_users";
  const auto j = ferry::agent::to_json(r);
  CHECK_FALSE(j.contains("user"));
  CHECK_FALSE(j.contains("exit_code"));
  CHECK(j["rule"] == "denied_users");
  auto back = ferry::agent::parse_audit_record(j);
  REQUIRE(back);
  CHECK(*back == r);
  CHECK_FALSE(ferry::agent::parse_audit_record(nlohmann::json{{"exit_code", "0"}}));
}

TEST_CASE("audit log: the facts of a task, with the digest of the script as run") {
  ferry::Task t;
  t.invocation_task_id = "invt-1";
  t.invocation_id = "inv-1";
  t.username = "app";
  t.content = ferry::base64_encode("echo {{name}}");
  t.enable_parameter = true;
  t.parameters = {{"name", "world"}};
  const auto digest = ferry::agent::payload_sha256(t);
  REQUIRE(digest);
  CHECK(*digest == ferry::sha256_hex("echo world"));
  const auto facts = ferry::agent::audit_facts(t, digest);
  CHECK(facts.user == "app");
  CHECK(facts.command_type == "SHELL");
  CHECK(facts.sha256 == *digest);
  t.content = "not base64!";
  CHECK_FALSE(ferry::agent::payload_sha256(t));
}

TEST_CASE("audit log: written 0600 with whole lines, appended across writers") {
  ferry::test::TempDir dir("ferry-audit");
  const auto file = ferry::agent::audit_log_file(dir.path());
  {
    AuditLog log(file, 1 << 20, 3);
    REQUIRE(log.append(audit_line("2026-12-07T18:00:00Z", "a", "accepted")));
  }
  // A file left wider by someone gets 0600 back when opened.
  ::chmod(file.c_str(), 0644);
  AuditLog log(file, 1 << 20, 3);
  REQUIRE(log.append(audit_line("2026-12-07T18:00:01Z", "a", "finished", "SUCCESS")));
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto all = read_audit_log(file, {});
  REQUIRE(all);
  CHECK(ids(all->records) == std::vector<std::string>{"a:accepted", "a:finished"});
  CHECK(all->records[1].exit_code == 0);
}

TEST_CASE("audit log: rotated by size, the oldest files removed, read back in order") {
  ferry::test::TempDir dir("ferry-audit");
  const auto file = ferry::agent::audit_log_file(dir.path());
  const std::size_t one =
      ferry::agent::to_json(audit_line("2026-12-07T18:00:00Z", "t0", "accepted")).dump().size() + 1;
  // Two lines a file, two rotated files kept: 8 lines leave the last 6.
  AuditLog log(file, 2 * one, 2);
  for (int i = 0; i < 8; ++i) {
    REQUIRE(log.append(audit_line("2026-12-07T18:00:0" + std::to_string(i) + "Z",
                                  "t" + std::to_string(i), "accepted")));
  }
  CHECK(fs::exists(fs::path(file.string() + ".1")));
  CHECK(fs::exists(fs::path(file.string() + ".2")));
  CHECK_FALSE(fs::exists(fs::path(file.string() + ".3")));
  CHECK(fs::file_size(file) <= 2 * one);
  auto all = read_audit_log(file, {});
  REQUIRE(all);
  CHECK(ids(all->records) == std::vector<std::string>{"t2:accepted", "t3:accepted", "t4:accepted",
                                                      "t5:accepted", "t6:accepted", "t7:accepted"});
}

TEST_CASE("audit log: filters by time, result and event; torn lines skipped") {
  ferry::test::TempDir dir("ferry-audit");
  const auto file = ferry::agent::audit_log_file(dir.path());
  AuditLog log(file, 1 << 20, 2);
  REQUIRE(log.append(audit_line("2026-12-07T17:00:00Z", "a", "accepted")));
  REQUIRE(log.append(audit_line("2026-12-07T17:30:00Z", "a", "finished", "FAILED")));
  REQUIRE(log.append(audit_line("2026-12-07T18:00:00Z", "b", "refused", "START_FAILED")));
  REQUIRE(log.append(audit_line("2026-12-07T19:00:00Z", "c", "finished", "SUCCESS")));
  std::ofstream(file, std::ios::app) << "{\"time\": \"2026-12-07T19:";  // a crash mid-write

  AuditFilter f;
  f.since = ferry::parse_rfc3339("2026-12-07T17:30:00Z");
  f.until = ferry::parse_rfc3339("2026-12-07T19:00:00Z");
  auto r = read_audit_log(file, f);
  REQUIRE(r);
  CHECK(ids(r->records) == std::vector<std::string>{"a:finished", "b:refused"});
  CHECK(r->unreadable_lines == 1);

  AuditFilter by_result;
  by_result.result = "START_FAILED";
  r = read_audit_log(file, by_result);
  REQUIRE(r);
  CHECK(ids(r->records) == std::vector<std::string>{"b:refused"});

  AuditFilter by_event;
  by_event.event = "finished";
  r = read_audit_log(file, by_event);
  REQUIRE(r);
  CHECK(ids(r->records) == std::vector<std::string>{"a:finished", "c:finished"});

  // What `ferry-agent audit` prints: a text line each, or the JSON lines.
  ferry::agent::AuditOptions options;
  options.state_dir = dir.path();
  options.filter = by_result;
  auto text = ferry::agent::audit_report(options);
  REQUIRE(text);
  CHECK(*text == "2026-12-07T18:00:00Z refused START_FAILED b inv-1 root SHELL - - " +
                     ferry::sha256_hex("echo hi") + "\n");
  options.json = true;
  text = ferry::agent::audit_report(options);
  REQUIRE(text);
  auto j = nlohmann::json::parse(*text);
  CHECK(j["task_id"] == "b");
}

TEST_CASE("audit log: a missing log reads as empty; a write that fails is an error") {
  ferry::test::TempDir dir("ferry-audit");
  auto r = read_audit_log(dir / "audit.log", {});
  REQUIRE(r);
  CHECK(r->records.empty());
  AuditLog log(dir / "missing-dir" / "audit.log", 1 << 20, 2);
  CHECK_FALSE(log.append(audit_line("2026-12-07T17:00:00Z", "a", "accepted")));
}
