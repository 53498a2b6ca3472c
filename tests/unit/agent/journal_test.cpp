#include "ferry/agent/journal.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "agent_test_support.hpp"
#include "test_process.hpp"

namespace fs = std::filesystem;
using ferry::agent::JournalRecord;
using ferry::agent::LogPiece;

namespace {

// A state directory with its tasks/ folder.
struct JournalDir : ferry::test::TempDir {
  JournalDir() : ferry::test::TempDir("ferry-journal", 0700) {
    fs::create_directories(path() / "tasks");
  }
  [[nodiscard]] fs::path task(const std::string& id) const {
    fs::create_directories(path() / "tasks" / id);
    return path() / "tasks" / id;
  }
};

JournalRecord full_record(const std::string& id) {
  JournalRecord r;
  r.task_id = id;
  r.boot_id = "b593a52c-3964-412c-ae7f-1ffbd871503e";
  r.supervisor = {4242, 123456789};
  r.start_time = "2026-12-04T17:00:00Z";
  r.start_acked = true;
  r.next_log_index = 3;
  r.log_offset = 4096;
  r.pending_piece = LogPiece{3, 4096, 100};
  r.result = ferry::test::result_of(id, ferry::TaskStatus::kFailed, 2, std::string("out\0put", 7));
  r.result->dropped = 5;
  r.result->output_size = 12;
  r.result->error_info = "why";
  r.final_log_index = 3;
  ferry::agent::OutputUpload u;
  u.size = 12 << 20;
  u.deadline = "2026-12-04T17:01:00Z";
  u.part_size = 5 << 20;
  u.upload_id = "2~abc/def";
  u.parts = {{1, "\"e1\""}, {2, "\"e2\""}};
  u.completing = true;
  r.upload = u;
  return r;
}

}  // namespace

TEST_CASE("journal: a record survives JSON and the disk unchanged") {
  const auto r = full_record("invt-abc");
  auto parsed = ferry::agent::parse_journal_record(ferry::agent::to_json(r));
  REQUIRE(parsed);
  CHECK(*parsed == r);
  // A fresh record (no piece, no result) too.
  JournalRecord fresh;
  fresh.task_id = "invt-fresh";
  auto parsed_fresh = ferry::agent::parse_journal_record(ferry::agent::to_json(fresh));
  REQUIRE(parsed_fresh);
  CHECK(*parsed_fresh == fresh);

  JournalDir dir;
  const auto task_dir = dir.task("invt-abc");
  REQUIRE(ferry::agent::write_journal(task_dir, r, ferry::platform::Durability::kSynced));
  struct stat st {};
  REQUIRE(::stat(ferry::agent::journal_file(task_dir).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto back = ferry::agent::read_journal(task_dir);
  REQUIRE(back);
  CHECK(*back == r);
  // Rewritten atomically: the new content, and no temporary file left beside it.
  auto r2 = r;
  r2.pending_piece.reset();
  r2.log_offset = 4196;
  REQUIRE(ferry::agent::write_journal(task_dir, r2, ferry::platform::Durability::kAtomicOnly));
  CHECK(*ferry::agent::read_journal(task_dir) == r2);
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(task_dir)) {
    ++files;
  }
  CHECK(files == 1);
}

TEST_CASE("journal: bad records are refused with the field named") {
  auto j = ferry::agent::to_json(full_record("invt-abc"));
  auto without = [&](const std::string& key) {
    auto copy = j;
    copy.erase(key);
    return ferry::agent::parse_journal_record(copy);
  };
  for (const char* key : {"Version", "InvocationTaskId", "BootId", "SupervisorPid", "StartAcked",
                          "NextLogIndex", "LogOffset"}) {
    INFO(key);
    auto r = without(key);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find(key) != std::string::npos);
  }
  auto bad = j;
  bad["Version"] = 99;
  CHECK_FALSE(ferry::agent::parse_journal_record(bad));
  bad = j;
  bad["InvocationTaskId"] = "../etc";
  CHECK_FALSE(ferry::agent::parse_journal_record(bad));
  bad = j;
  bad["LogOffset"] = -1;
  CHECK_FALSE(ferry::agent::parse_journal_record(bad));
  bad = j;
  bad["PendingPiece"]["Length"] = 0;
  CHECK_FALSE(ferry::agent::parse_journal_record(bad));
  bad = j;
  bad["Result"]["InvocationTaskId"] = "invt-other";
  CHECK_FALSE(ferry::agent::parse_journal_record(bad));
  // The upload record: every field checked, parts numbered in order, only beside a result.
  for (const char* key :
       {"Target", "Size", "Deadline", "PartSize", "UploadId", "Parts", "Completing", "Stored"}) {
    INFO(key);
    bad = j;
    bad["Upload"].erase(key);
    auto r = ferry::agent::parse_journal_record(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("Upload") != std::string::npos);
  }
  bad = j;
  bad["Upload"]["Parts"][1]["PartNumber"] = 3;
  CHECK_FALSE(ferry::agent::parse_journal_record(bad));
  bad = j;
  bad["Upload"]["Deadline"] = "soon";
  CHECK_FALSE(ferry::agent::parse_journal_record(bad));
  bad = j;
  bad["Upload"]["Target"] = "elsewhere";
  CHECK_FALSE(ferry::agent::parse_journal_record(bad));
  bad = j;
  bad.erase("Result");
  CHECK_FALSE(ferry::agent::parse_journal_record(bad));
  CHECK_FALSE(ferry::agent::parse_journal_record(nlohmann::json::array()));
}

TEST_CASE("journal: a scan replays good records and quarantines corrupt ones") {
  JournalDir dir;
  REQUIRE(ferry::agent::write_journal(dir.task("invt-good"), full_record("invt-good"),
                                      ferry::platform::Durability::kSynced));
  const auto no_journal = dir.task("invt-nojournal");
  ferry::test::write_file(no_journal / "task.json", "{}");
  ferry::test::write_file(dir.task("invt-truncated") / "journal.json", R"({"Version":1,"Invoca)");
  ferry::test::write_file(dir.task("invt-garbage") / "journal.json", std::string("\0\xff\x01", 3));
  // A record copied into another task's directory is not that task's.
  REQUIRE(ferry::agent::write_journal(dir.task("invt-moved"), full_record("invt-other"),
                                      ferry::platform::Durability::kSynced));
  // Not task directories: ignored, left alone.
  ferry::test::write_file(dir.path() / "tasks" / ".journal.json.tmp-abc", "x");
  fs::create_directories(dir.path() / "tasks" / "bad name");

  auto scan = ferry::agent::scan_journal(dir.path());
  REQUIRE(scan.records.size() == 1);
  CHECK(scan.records[0] == full_record("invt-good"));
  // Unreadable records are moved aside; their tasks are recovered like one without a record.
  CHECK(scan.unjournaled ==
        std::vector<std::string>{"invt-garbage", "invt-moved", "invt-nojournal", "invt-truncated"});
  REQUIRE(scan.quarantined.size() == 3);
  for (const auto& [id, why] : scan.quarantined) {
    INFO(id << ": " << why);
    CHECK_FALSE(why.empty());
    CHECK(fs::exists(dir.path() / "tasks" / id));
    CHECK_FALSE(fs::exists(dir.path() / "tasks" / id / "journal.json"));
    CHECK(fs::exists(dir.path() / "quarantine" / (id + ".journal.json")));
    CHECK(ferry::agent::is_quarantined(dir.path(), id));
  }
  CHECK_FALSE(ferry::agent::is_quarantined(dir.path(), "invt-good"));
  CHECK_FALSE(ferry::agent::is_quarantined(dir.path(), "invt-nojournal"));
  CHECK(fs::exists(dir.path() / "tasks" / "bad name"));
  // A second scan finds the same good state and nothing more to quarantine.
  auto again = ferry::agent::scan_journal(dir.path());
  CHECK(again.records.size() == 1);
  CHECK(again.quarantined.empty());
  CHECK(again.unjournaled.size() == 4);
}

TEST_CASE("journal: the quarantine keeps a bounded number of entries") {
  JournalDir dir;
  for (int i = 0; i < 5; ++i) {
    ferry::test::write_file(dir.task("invt-bad" + std::to_string(i)) / "journal.json", "not json");
  }
  auto scan = ferry::agent::scan_journal(dir.path(), 2);
  CHECK(scan.quarantined.size() == 5);
  int kept = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path() / "quarantine")) {
    ++kept;
  }
  CHECK(kept == 2);
}

TEST_CASE("retention: spools of finished tasks go first, oldest first; then new tasks wait") {
  using ferry::agent::apply_retention;
  using ferry::agent::RetentionEntry;
  const std::vector<RetentionEntry> entries{
      {"invt-running", false, 500, 0},
      {"invt-late", true, 300, 3},
      {"invt-early", true, 200, 1},
      {"invt-middle", true, 100, 2},
  };
  // Under both caps: nothing dropped, tasks start.
  auto d = apply_retention(entries, 1500, 10, 2000);
  CHECK(d.drop_spools.empty());
  CHECK_FALSE(d.refuse_new);
  CHECK(d.bytes_after == 1500);
  // 250 bytes over: the two oldest finished spools (200 + 100) bring it under.
  d = apply_retention(entries, 1250, 10, 1000);
  CHECK(d.drop_spools == std::vector<std::string>{"invt-early", "invt-middle"});
  CHECK(d.bytes_after == 950);
  CHECK_FALSE(d.refuse_new);
  // Far over: every finished spool goes, never a running task's; still over, so new tasks wait.
  d = apply_retention(entries, 5000, 10, 1000);
  CHECK(d.drop_spools == std::vector<std::string>{"invt-early", "invt-middle", "invt-late"});
  CHECK(d.bytes_after == 4400);
  CHECK(d.refuse_new);
  // The task cap alone refuses new tasks and drops nothing.
  d = apply_retention(entries, 100, 4, 1000);
  CHECK(d.drop_spools.empty());
  CHECK(d.refuse_new);
}

TEST_CASE("retention: journal_bytes counts the files under tasks/") {
  JournalDir dir;
  ferry::test::write_file(dir.task("invt-a") / "output.log", std::string(1000, 'x'));
  ferry::test::write_file(dir.task("invt-b") / "journal.json", std::string(24, 'y'));
  fs::create_directories(dir.path() / "tasks" / "invt-b" / "script");
  ferry::test::write_file(dir.path() / "tasks" / "invt-b" / "script" / "s.sh", "echo\n");
  ferry::test::write_file(dir.path() / "identity.json",
                          std::string(5000, 'z'));  // not the journal's
  CHECK(ferry::agent::journal_bytes(dir.path()) == 1029);
}
