// What the Store contract cannot see of the SQLite store: its file (modes, WAL, migrations and
// their upgrade, a schema from a newer version, crash safety), its statement cache, the rows
// it leaves behind and the times it takes from its clock. The contract cases run in this
// binary too, through sqlite_contract_database.cpp.
#include "ferry/server/store/sqlite_store.hpp"

#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ferry/server/store/store_errors.hpp"
#include "store_contract.hpp"
#include "test_process.hpp"

namespace fs = std::filesystem;
using namespace ferry;
using namespace ferry::server;
using namespace ferry::test::contract;
namespace sc = ferry::server::store_codes;

namespace {

std::unique_ptr<Store> open_store(const fs::path& file, const Clock& clock,
                                  SqliteOptions options = {}) {
  auto s = open_sqlite_store(file, clock, options);
  if (!s) {
    FAIL("open_sqlite_store: " << s.error().code << ": " << s.error().message);
  }
  return std::move(*s);
}

// A temporary directory for the database file, and the clock its stores read.
struct SqliteFile {
  ferry::test::TempDir dir{"ferry-store"};
  ManualClock clock;
  [[nodiscard]] fs::path db() const { return dir / "ferry.db"; }
  [[nodiscard]] const fs::path& path() const { return dir.path(); }
  std::unique_ptr<Store> open(SqliteOptions options = {}) {
    return open_store(db(), clock, options);
  }
};

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777U;
}

// Raw access to the file, for what the Store interface does not show.
struct RawDb {
  sqlite3* db = nullptr;
  explicit RawDb(const fs::path& file) { REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK); }
  ~RawDb() { sqlite3_close(db); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  void exec(const char* sql) {
    char* msg = nullptr;
    int rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
    std::string m = msg != nullptr ? msg : "";
    sqlite3_free(msg);
    INFO(m);
    REQUIRE(rc == SQLITE_OK);
  }
  std::vector<std::vector<int64_t>> ints(const char* sql) {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
    std::vector<std::vector<int64_t>> rows;
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::vector<int64_t> row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        row.push_back(sqlite3_column_int64(st, i));
      }
      rows.push_back(row);
    }
    sqlite3_finalize(st);
    return rows;
  }
  // The single number `sql` selects (a COUNT(*)).
  int64_t count(const char* sql) { return ints(sql).at(0).at(0); }
  std::string text(const char* sql) {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return out;
  }
  // The detail column of EXPLAIN QUERY PLAN's rows, one line each.
  std::string plan(const char* sql) {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
    std::string out;
    while (sqlite3_step(st) == SQLITE_ROW) {
      out += reinterpret_cast<const char*>(sqlite3_column_text(st, 3));
      out += "\n";
    }
    sqlite3_finalize(st);
    return out;
  }
};

// Drops what schema version 4 created.
void drop_invokers(RawDb& raw) {
  for (const char* table : {"invoker_records", "invoker_tags", "invoker_instances", "invokers"}) {
    raw.exec(("DROP TABLE " + std::string(table)).c_str());
  }
}

// Back to before version 8 (invocations' tags).
void drop_invocation_tags(RawDb& raw) {
  raw.exec("DROP TABLE invocation_tags");
  raw.exec("DELETE FROM schema_migrations WHERE version = 8");
}

// Back to before version 7 (SendFile) and what came after it.
void drop_send_files(RawDb& raw) {
  drop_invocation_tags(raw);
  for (const char* column : {"file_name", "file_target_dir", "file_mode", "file_owner",
                             "file_group", "file_overwrite"}) {
    raw.exec(("ALTER TABLE invocations DROP COLUMN " + std::string(column)).c_str());
    raw.exec(("ALTER TABLE invocation_tasks DROP COLUMN doc_" + std::string(column)).c_str());
  }
  raw.exec("DELETE FROM schema_migrations WHERE version = 7");
}

// Back to before version 6 (execution settings, client tokens) and what came after it.
void drop_execution_settings(RawDb& raw) {
  drop_send_files(raw);
  for (const char* sql : {"DROP TABLE client_tokens", "ALTER TABLE commands DROP COLUMN launcher",
                          "ALTER TABLE invocations DROP COLUMN launcher",
                          "ALTER TABLE invocations DROP COLUMN termination_mode",
                          "ALTER TABLE invocations DROP COLUMN container_id",
                          "ALTER TABLE invocations DROP COLUMN container_name",
                          "ALTER TABLE invocation_tasks DROP COLUMN doc_launcher",
                          "ALTER TABLE invocation_tasks DROP COLUMN doc_termination_mode",
                          "ALTER TABLE invocation_tasks DROP COLUMN doc_container_id",
                          "ALTER TABLE invocation_tasks DROP COLUMN doc_container_name",
                          "DELETE FROM schema_migrations WHERE version = 6"}) {
    raw.exec(sql);
  }
}

// Back to before version 5 (and what came after it).
void drop_repeats(RawDb& raw) {
  drop_execution_settings(raw);
  for (const char* sql : {"DROP TABLE invocation_boot_runs", "DROP TABLE invocation_targets",
                          "DROP INDEX invocations_due", "DROP INDEX invocation_tasks_latest",
                          "ALTER TABLE invocations DROP COLUMN repeat_mode",
                          "ALTER TABLE invocations DROP COLUMN frequency",
                          "ALTER TABLE invocations DROP COLUMN enable_parameter",
                          "ALTER TABLE invocations DROP COLUMN schedule_state",
                          "ALTER TABLE invocations DROP COLUMN next_slot_ms",
                          "ALTER TABLE invocation_tasks DROP COLUMN run_number",
                          "ALTER TABLE invocation_tasks DROP COLUMN slot_ms",
                          "ALTER TABLE invocation_tasks DROP COLUMN latest_run",
                          "ALTER TABLE register_instances DROP COLUMN boot_id",
                          "DELETE FROM schema_migrations WHERE version = 5"}) {
    raw.exec(sql);
  }
}

// The firing of an invoker's slot `slot`, without an invocation, leaving it no next slot.
InvokerFiring firing_of(const std::string& invoker_id, int64_t slot) {
  InvokerFiring fire;
  fire.invoker_id = invoker_id;
  fire.slot_ms = slot;
  fire.record = {invoker_id, slot, slot, "on time", "", "FAILED"};
  return fire;
}

}  // namespace

TEST_CASE("migrations are applied once and a reopen keeps them", "[store][schema]") {
  SqliteFile f;
  f.clock.set_ms(1'234'567);
  { f.open(); }
  std::vector<std::vector<int64_t>> first;
  {
    RawDb raw(f.db());
    first = raw.ints("SELECT version, applied_at FROM schema_migrations ORDER BY version");
    // One row per migration, numbered 1 to the current version.
    REQUIRE(static_cast<int64_t>(first.size()) == sqlite_schema_version());
    for (std::size_t i = 0; i < first.size(); ++i) {
      CHECK(first[i][0] == static_cast<int64_t>(i + 1));
    }
    REQUIRE(raw.text("PRAGMA journal_mode") == "wal");
    for (const auto& row : first) {
      CHECK(row[1] == 1'234'567);  // the store's clock, not the wall clock
    }
  }
  f.clock.set_ms(7'654'321);
  auto store = f.open();
  require_ok(store->insert_command(make_command("cmd-1", "one")));
  RawDb raw(f.db());
  REQUIRE(raw.ints("SELECT version, applied_at FROM schema_migrations ORDER BY version") == first);
}

TEST_CASE("a database newer than the code is refused", "[store][schema]") {
  SqliteFile f;
  { f.open(); }
  {
    RawDb raw(f.db());
    raw.exec("INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)");
  }
  auto s = open_sqlite_store(f.db(), f.clock);
  REQUIRE_FALSE(s);
  REQUIRE(s.error().message.find("newer") != std::string::npos);
}

TEST_CASE("a path that cannot be opened is an error", "[store][schema]") {
  SqliteFile f;
  auto s = open_sqlite_store(f.path() / "missing" / "ferry.db", f.clock);
  REQUIRE_FALSE(s);
  REQUIRE(s.error().code == sc::kFailed);
}

TEST_CASE("the database and its -wal and -shm files are 0600", "[store][files]") {
  SqliteFile f;
  // A permissive umask would give SQLite's default 0644 (and 0666 before it).
  mode_t old = ::umask(0);
  auto store = open_sqlite_store(f.db(), f.clock);
  ::umask(old);
  REQUIRE(store);
  require_ok((*store)->insert_command(make_command("cmd-1", "one")));
  REQUIRE(mode_of(f.db()) == 0600U);
  REQUIRE(fs::exists(f.path() / "ferry.db-wal"));
  REQUIRE(mode_of(f.path() / "ferry.db-wal") == 0600U);
  REQUIRE(fs::exists(f.path() / "ferry.db-shm"));
  REQUIRE(mode_of(f.path() / "ferry.db-shm") == 0600U);
}

TEST_CASE("filters of many shapes: more statement shapes than the cache keeps", "[store][tasks]") {
  // Each count of filter values is a statement of its own; past the dynamic cache's bound they
  // are prepared per call and finalized, with the same answers.
  SqliteFile f;
  auto store = f.open(SqliteOptions{.max_connections = 1});
  std::vector<InvocationTask> tasks;
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    ids.push_back("invt-" + std::to_string(1000 + i));
    tasks.push_back(make_task(ids.back(), "inv-1", "rins-a", 1000 + i));
  }
  require_ok(store->insert_invocation(std::nullopt, make_invocation("inv-1", "cmd-1"), tasks));
  for (int round = 0; round < 2; ++round) {
    for (std::size_t n = 1; n <= ids.size(); ++n) {
      TaskQuery q;
      q.task_ids.assign(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n));
      q.limit = 100;
      auto page = require_value(store->list_tasks(q));
      REQUIRE(page.total == static_cast<int64_t>(n));
      REQUIRE(page.items.size() == n);
      CHECK(page.items.front().invocation_task_id == ids[n - 1]);
      CHECK(page.items.back().invocation_task_id == ids[0]);
    }
  }
}

TEST_CASE("acknowledged writes survive a SIGKILL", "[store][durability]") {
  SqliteFile f;
  constexpr int kCount = 50;
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The child uses only the store and exits by SIGKILL: no destructors, no Catch2.
    auto s = open_sqlite_store(f.db(), f.clock);
    if (!s) {
      ::_exit(2);
    }
    for (int i = 0; i < kCount; ++i) {
      std::string id = "cmd-" + std::to_string(i);
      if (!(*s)->insert_command(make_command(id, id))) {
        ::_exit(3);
      }
    }
    ::kill(::getpid(), SIGKILL);
    ::_exit(4);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(WTERMSIG(status) == SIGKILL);
  auto store = f.open();
  CHECK(require_value(store->count_saved_commands()) == kCount);
  for (int i = 0; i < kCount; ++i) {
    CHECK(require_value(store->get_command("cmd-" + std::to_string(i))));
  }
}

TEST_CASE("a database of schema version 2 upgrades to presence in the store", "[store][schema]") {
  SqliteFile f;
  f.clock.set_ms(5000);
  {
    auto store = f.open();
    add_instance(*store, "rins-1");
    require_ok(store->insert_command(make_command("cmd-1", "one")));
  }
  {
    // Back to what ferry-server wrote before version 3.
    RawDb raw(f.db());
    drop_repeats(raw);
    drop_invokers(raw);
    raw.exec("DROP TABLE agent_presence");
    raw.exec("DROP TABLE presence_servers");
    raw.exec("DELETE FROM schema_migrations WHERE version >= 3");
    REQUIRE(raw.count("SELECT MAX(version) FROM schema_migrations") == 2);
  }
  f.clock.set_ms(9000);
  auto store = f.open();
  RawDb raw(f.db());
  CHECK(raw.ints("SELECT version, applied_at FROM schema_migrations WHERE version >= 2") ==
        std::vector<std::vector<int64_t>>{
            {2, 5000}, {3, 9000}, {4, 9000}, {5, 9000}, {6, 9000}, {7, 9000}, {8, 9000}});
  // The data written before the upgrade is all there, and presence works.
  CHECK(require_value(store->get_instance("rins-1")));
  CHECK(require_value(store->get_command("cmd-1")));
  require_ok(store->agent_connected("rins-1", "srv-a", 9000));
  require_ok(store->refresh_server("srv-a", 9000));
  auto presence = require_value(store->presence_of({"rins-1"}));
  REQUIRE(presence.size() == 1);
  CHECK(presence[0].server_id == "srv-a");
  CHECK(presence[0].server_refreshed_ms == 9000);
}

TEST_CASE("a database of schema version 3 upgrades to invokers", "[store][schema]") {
  SqliteFile f;
  f.clock.set_ms(5000);
  {
    auto store = f.open();
    require_ok(store->insert_command(make_command("cmd-1", "one")));
    require_ok(store->agent_connected("rins-1", "srv-a", 5000));
  }
  {
    // Back to what ferry-server wrote before version 4.
    RawDb raw(f.db());
    drop_repeats(raw);
    drop_invokers(raw);
    raw.exec("DELETE FROM schema_migrations WHERE version = 4");
    REQUIRE(raw.count("SELECT MAX(version) FROM schema_migrations") == 3);
  }
  f.clock.set_ms(9000);
  auto store = f.open();
  RawDb raw(f.db());
  CHECK(raw.ints("SELECT version, applied_at FROM schema_migrations WHERE version >= 3") ==
        std::vector<std::vector<int64_t>>{
            {3, 5000}, {4, 9000}, {5, 9000}, {6, 9000}, {7, 9000}, {8, 9000}});
  CHECK(require_value(store->get_command("cmd-1")));
  CHECK(require_value(store->presence_of({"rins-1"})).size() == 1);
  require_ok(store->insert_invoker(make_invoker("ivk-1", "cmd-1", 100)));
  CHECK(require_value(store->next_invoker_slot()) == std::optional<int64_t>(100));
  CHECK(require_value(store->fire_invoker(firing_of("ivk-1", 100))));
}

TEST_CASE("released migrations create what they always created", "[store][schema]") {
  // SQLite keeps each CREATE statement's text: a migration that a newer build spells another
  // way would give new databases a schema that old ones do not have.
  SqliteFile f;
  { f.open(); }
  RawDb raw(f.db());
  const std::string command_tags = R"sql(CREATE TABLE command_tags (
  command_id TEXT NOT NULL REFERENCES commands (command_id) ON DELETE CASCADE,
  ordinal INTEGER NOT NULL,
  tag_key TEXT NOT NULL,
  tag_value TEXT NOT NULL,
  PRIMARY KEY (command_id, ordinal)
))sql";
  CHECK(raw.text("SELECT sql FROM sqlite_master WHERE name = 'command_tags'") == command_tags);
  // instance_tags, invoker_tags (version 4) and invocation_tags (version 8) are the same table
  // for other owners.
  const auto tags_of = [&](const std::string& table, const std::string& owner_table,
                           const std::string& owner_column) {
    std::string text = command_tags;
    for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
             {"command_tags", table},
             {"commands (command_id)", owner_table + " (" + owner_column + ")"},
             {"command_id", owner_column}}) {
      for (auto at = text.find(from); at != std::string::npos;
           at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
      }
    }
    return text;
  };
  CHECK(raw.text("SELECT sql FROM sqlite_master WHERE name = 'instance_tags'") ==
        tags_of("instance_tags", "register_instances", "instance_id"));
  CHECK(raw.text("SELECT sql FROM sqlite_master WHERE name = 'invoker_tags'") ==
        tags_of("invoker_tags", "invokers", "invoker_id"));
  CHECK(raw.text("SELECT sql FROM sqlite_master WHERE name = 'invocation_tags'") ==
        tags_of("invocation_tags", "invocations", "invocation_id"));
  for (const std::string table :
       {"command_tags", "instance_tags", "invoker_tags", "invocation_tags"}) {
    CHECK(raw.text(
              ("SELECT sql FROM sqlite_master WHERE name = '" + table + "_key_value'").c_str()) ==
          "CREATE INDEX " + table + "_key_value ON " + table + " (tag_key, tag_value)");
  }
}

TEST_CASE("deleting an instance leaves none of its rows and stamps the revocation",
          "[store][instances]") {
  SqliteFile f;
  auto store = f.open();
  add_instance(*store, "rins-1");
  REQUIRE(require_value(store->remember_nonce("rins-1", "n1", 5000, 1000)));
  require_ok(store->agent_connected("rins-1", "srv-a", 1000));
  f.clock.set_ms(4321);
  require_ok(store->delete_instance("rins-1"));
  RawDb raw(f.db());
  CHECK(raw.count("SELECT COUNT(*) FROM instance_tags WHERE instance_id = 'rins-1'") == 0);
  CHECK(raw.count("SELECT COUNT(*) FROM agent_nonces WHERE instance_id = 'rins-1'") == 0);
  CHECK(raw.count("SELECT COUNT(*) FROM agent_presence WHERE instance_id = 'rins-1'") == 0);
  CHECK(raw.ints("SELECT revoked_ms FROM revoked_keys WHERE instance_id = 'rins-1'") ==
        std::vector<std::vector<int64_t>>{{4321}});
}

TEST_CASE("deleting an invoker leaves none of its rows", "[store][invokers]") {
  SqliteFile f;
  auto store = f.open();
  require_ok(store->insert_invoker(make_invoker("ivk-1", "cmd-1", 100)));
  require_ok(store->insert_invoker(make_invoker("ivk-2", "cmd-1", 100)));
  REQUIRE(require_value(store->fire_invoker(firing_of("ivk-1", 100))));
  REQUIRE(require_value(store->fire_invoker(firing_of("ivk-2", 100))));
  RawDb raw(f.db());
  for (const char* table : {"invoker_instances", "invoker_tags", "invoker_records"}) {
    INFO(table);
    REQUIRE(raw.count(("SELECT COUNT(*) FROM " + std::string(table) + " WHERE invoker_id = 'ivk-1'")
                          .c_str()) > 0);
  }
  require_ok(store->delete_invoker("ivk-1"));
  for (const char* table : {"invoker_instances", "invoker_tags", "invoker_records"}) {
    INFO(table);
    CHECK(raw.count(("SELECT COUNT(*) FROM " + std::string(table) + " WHERE invoker_id = 'ivk-1'")
                        .c_str()) == 0);
    // The other invoker's rows stay.
    CHECK(raw.count(("SELECT COUNT(*) FROM " + std::string(table) + " WHERE invoker_id = 'ivk-2'")
                        .c_str()) > 0);
  }
}

TEST_CASE("the scheduler's reads use the index invokers_due", "[store][invokers]") {
  // What due_invokers and next_invoker_slot run, as the planner sees it.
  SqliteFile f;
  { f.open(); }
  RawDb raw(f.db());
  for (const char* sql :
       {"EXPLAIN QUERY PLAN SELECT invoker_id FROM invokers WHERE enabled = 1 AND next_slot_ms > 0 "
        "AND next_slot_ms <= 5 ORDER BY next_slot_ms, invoker_id LIMIT 10",
        "EXPLAIN QUERY PLAN SELECT next_slot_ms FROM invokers WHERE enabled = 1 AND next_slot_ms "
        "> 0 ORDER BY next_slot_ms LIMIT 1"}) {
    INFO(sql);
    const std::string plan = raw.plan(sql);
    INFO(plan);
    CHECK(plan.find("USING INDEX invokers_due") != std::string::npos);
    CHECK(plan.find("TEMP B-TREE") == std::string::npos);
  }
}

TEST_CASE("expired nonces are swept in bulk now and then", "[store][nonces]") {
  SqliteFile f;
  auto store = f.open();
  for (int i = 0; i < 300; ++i) {
    require_value(store->remember_nonce("rins-3", "x" + std::to_string(i), 10, 1));
  }
  require_value(store->remember_nonce("rins-4", "late", 1000000, 100000));
  for (int i = 0; i < 300; ++i) {
    require_value(store->remember_nonce("rins-4", "y" + std::to_string(i), 1000000, 100000));
  }
  RawDb raw(f.db());
  CHECK(raw.count("SELECT COUNT(*) FROM agent_nonces WHERE instance_id = 'rins-3'") == 0);
  CHECK(raw.count("SELECT COUNT(*) FROM agent_nonces WHERE instance_id = 'rins-4'") == 301);
}

TEST_CASE("servers silent for a day are forgotten", "[store][presence]") {
  SqliteFile f;
  auto store = f.open();
  constexpr int64_t kDay = 24 * 3600 * 1000;
  require_ok(store->refresh_server("srv-old", 1000));
  require_ok(store->refresh_server("srv-new", 1000 + kDay));
  RawDb raw(f.db());
  CHECK(raw.count("SELECT COUNT(*) FROM presence_servers WHERE server_id = 'srv-old'") == 1);
  require_ok(store->refresh_server("srv-new", 1001 + kDay));
  CHECK(raw.count("SELECT COUNT(*) FROM presence_servers WHERE server_id = 'srv-old'") == 0);
  CHECK(raw.count("SELECT COUNT(*) FROM presence_servers") == 1);
}

TEST_CASE("a malformed stored value fails the read with what is malformed", "[store][files]") {
  SqliteFile f;
  auto store = f.open();
  require_ok(store->insert_command(make_command("cmd-1", "one")));
  add_task(*store);
  add_instance(*store, "rins-1");
  RawDb raw(f.db());
  raw.exec("UPDATE invocation_tasks SET status = 'BOGUS'");
  raw.exec("UPDATE commands SET default_parameter_confs = '{\"not\":\"a list\"}'");
  raw.exec("UPDATE register_instances SET support_features = '[1]'");
  const auto check_malformed = [](const auto& result, const std::string& what) {
    REQUIRE_FALSE(result);
    CHECK(result.error().code == sc::kFailed);
    CHECK(result.error().message.find("stored " + what + " is malformed") != std::string::npos);
  };
  check_malformed(store->get_task("invt-1"), "task status");
  check_malformed(store->count_tasks_by_status(), "task status");
  check_malformed(store->get_command("cmd-1"), "default parameter confs");
  check_malformed(store->list_instances({}), "support features");
}

TEST_CASE("a database of schema version 4 upgrades to repeat modes", "[store][schema]") {
  SqliteFile f;
  f.clock.set_ms(5000);
  {
    auto store = f.open();
    add_instance(*store, "rins-a");
    add_task(*store, "rins-a");
  }
  {
    // Back to what ferry-server wrote before version 5.
    RawDb raw(f.db());
    drop_repeats(raw);
    REQUIRE(raw.count("SELECT MAX(version) FROM schema_migrations") == 4);
  }
  f.clock.set_ms(9000);
  auto store = f.open();
  RawDb raw(f.db());
  CHECK(raw.ints("SELECT version, applied_at FROM schema_migrations WHERE version >= 4") ==
        std::vector<std::vector<int64_t>>{{4, 5000}, {5, 9000}, {6, 9000}, {7, 9000}, {8, 9000}});
  // What was there reads as a Once invocation whose one task is its first and latest run, with
  // the default execution settings.
  auto inv = require_value(store->get_invocation("inv-1"));
  REQUIRE(inv);
  CHECK(inv->repeat_mode == "Once");
  CHECK(inv->schedule_state.empty());
  auto task = require_value(store->get_task("invt-1"));
  REQUIRE(task);
  CHECK(task->run_number == 1);
  CHECK(task->latest_run);
  CHECK(task->document.execution == ExecutionSettings{});
  CHECK(inv->execution == ExecutionSettings{});
  auto instance = require_value(store->get_instance("rins-a"));
  REQUIRE(instance);
  CHECK(instance->boot_id.empty());
  CHECK_FALSE(require_value(store->record_boot({"rins-a", "boot-1", 9000, {}})).fired);
}

TEST_CASE("a database of schema version 5 upgrades to execution settings and send-file invocations",
          "[store][schema]") {
  SqliteFile f;
  f.clock.set_ms(5000);
  {
    auto store = f.open();
    add_instance(*store, "rins-a");
    add_task(*store, "rins-a");
  }
  {
    RawDb raw(f.db());
    drop_execution_settings(raw);
    REQUIRE(raw.count("SELECT MAX(version) FROM schema_migrations") == 5);
  }
  f.clock.set_ms(9000);
  auto store = f.open();
  RawDb raw(f.db());
  CHECK(raw.ints("SELECT version, applied_at FROM schema_migrations WHERE version >= 5") ==
        std::vector<std::vector<int64_t>>{{5, 5000}, {6, 9000}, {7, 9000}, {8, 9000}});
  // What was there is a command's invocation: no file, listed with the commands'.
  auto inv = require_value(store->get_invocation("inv-1"));
  REQUIRE(inv);
  CHECK_FALSE(inv->sends_file());
  InvocationQuery commands;
  commands.sends_file = false;
  CHECK(require_value(store->list_invocations(commands)).total == 1);
  InvocationQuery files;
  files.sends_file = true;
  CHECK(require_value(store->list_invocations(files)).total == 0);
  TaskQuery file_tasks;
  file_tasks.sends_file = true;
  CHECK(require_value(store->list_tasks(file_tasks)).total == 0);
  file_tasks.sends_file = false;
  CHECK(require_value(store->list_tasks(file_tasks)).total == 1);
}

TEST_CASE("a database of schema version 7 upgrades to invocations' tags", "[store][schema]") {
  SqliteFile f;
  f.clock.set_ms(5000);
  {
    auto store = f.open();
    add_instance(*store, "rins-a");
    add_task(*store, "rins-a");
  }
  {
    RawDb raw(f.db());
    drop_invocation_tags(raw);
    REQUIRE(raw.count("SELECT MAX(version) FROM schema_migrations") == 7);
  }
  f.clock.set_ms(9000);
  auto store = f.open();
  RawDb raw(f.db());
  CHECK(raw.ints("SELECT version, applied_at FROM schema_migrations WHERE version >= 7") ==
        std::vector<std::vector<int64_t>>{{7, 5000}, {8, 9000}});
  // What was there has no tags; a tagged invocation is stored beside it.
  auto inv = require_value(store->get_invocation("inv-1"));
  REQUIRE(inv);
  CHECK(inv->tags.empty());
  Invocation tagged = make_invocation("inv-2", "cmd-1", 6000);
  tagged.tags = {{"team", "ops"}};
  require_ok(store->insert_invocation(std::nullopt, tagged, {}));
  InvocationQuery q;
  q.tag_pairs = {{"team", {"ops"}}};
  auto page = require_value(store->list_invocations(q));
  REQUIRE(page.total == 1);
  CHECK(page.items.at(0).tags == std::vector<Tag>{{"team", "ops"}});
}

namespace {

// What the store told its observer.
struct RecordingObserver final : StoreObserver {
  std::mutex mu;
  std::vector<StoreOperation> kinds;
  void on_store_operation(StoreOperation kind, std::chrono::nanoseconds elapsed) noexcept override {
    std::lock_guard lock(mu);
    if (elapsed.count() >= 0) {
      kinds.push_back(kind);
    }
  }
  std::size_t count(StoreOperation kind) {
    std::lock_guard lock(mu);
    return static_cast<std::size_t>(std::count(kinds.begin(), kinds.end(), kind));
  }
};

}  // namespace

TEST_CASE("the observer hears of every call; waiting calls are counted", "[store][metrics]") {
  SqliteFile f;
  RecordingObserver observer;
  SqliteOptions options;
  options.observer = &observer;
  auto store = f.open(options);
  const std::size_t reads = observer.count(StoreOperation::kRead);
  const std::size_t writes = observer.count(StoreOperation::kWrite);
  require_ok(store->insert_command(make_command("cmd-1", "one")));
  CHECK(observer.count(StoreOperation::kWrite) == writes + 1);
  CHECK(require_value(store->get_command("cmd-1")));
  CHECK(observer.count(StoreOperation::kRead) == reads + 1);

  // A write held open inside its transaction: a second write waits for the write lock, and is
  // counted as waiting until it gets it.
  add_task(*store);
  std::mutex mu;
  std::condition_variable cv;
  bool inside = false;
  bool release = false;
  std::thread holder([&] {
    (void)store->modify_task("invt-1", [&](InvocationTask&) {
      std::unique_lock lock(mu);
      inside = true;
      cv.notify_all();
      cv.wait_for(lock, std::chrono::seconds(10), [&] { return release; });
      return false;
    });
  });
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return inside; }));
  }
  CHECK(store->waiting_calls() == 0);
  std::thread waiter([&] { (void)store->insert_command(make_command("cmd-2", "two")); });
  bool seen_waiting = false;
  for (int i = 0; i < 1000 && !seen_waiting; ++i) {
    seen_waiting = store->waiting_calls() == 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  holder.join();
  waiter.join();
  CHECK(seen_waiting);
  CHECK(store->waiting_calls() == 0);
  CHECK(require_value(store->get_command("cmd-2")));
}
