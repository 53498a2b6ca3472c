#include "ferry/server/store/sqlite_store.hpp"

#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "ferry/core/error_codes.hpp"
#include "ferry/server/store/store_errors.hpp"

namespace fs = std::filesystem;
using namespace ferry;
using namespace ferry::server;
namespace sc = ferry::server::store_codes;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = fs::temp_directory_path() / "ferry-store-XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] fs::path db() const { return path / "ferry.db"; }
};

std::unique_ptr<Store> open_store(const fs::path& file, SqliteOptions options = {}) {
  auto s = open_sqlite_store(file, options);
  if (!s) {
    FAIL("open_sqlite_store: " << s.error().code << ": " << s.error().message);
  }
  return std::move(*s);
}

void require_ok(const Status& s) {
  if (!s) {
    FAIL(s.error().code << ": " << s.error().message);
  }
}

template <typename T>
T require_value(Expected<T> e) {
  if (!e) {
    FAIL(e.error().code << ": " << e.error().message);
  }
  return std::move(e).value();
}

std::string error_code(const Status& s) {
  return s ? std::string("OK") : s.error().code;
}

template <typename T>
std::string error_code(const Expected<T>& e) {
  return e ? std::string("OK") : e.error().code;
}

Command make_command(const std::string& id, const std::string& name, int64_t created_ms = 1000) {
  Command c;
  c.command_id = id;
  c.command_name = name;
  c.description = "d-" + id;
  c.content = "ZWNobyBoaQ==";
  c.working_directory = "/tmp";
  c.timeout = 30;
  c.enable_parameter = true;
  c.default_parameters = R"({"a":"1"})";
  c.default_parameter_confs = {{"a", "1", "first"}, {"b", "", ""}};
  c.username = "root";
  c.output_cos_bucket_url = "https://bucket.example";
  c.output_cos_key_prefix = "logs";
  c.tags = {{"env", "prod"}, {"team", "a"}};
  c.created_ms = created_ms;
  c.updated_ms = created_ms;
  return c;
}

Invocation make_invocation(const std::string& id, const std::string& command_id,
                           int64_t created_ms = 1000) {
  Invocation i;
  i.invocation_id = id;
  i.command_id = command_id;
  i.command_name = "name-" + command_id;
  i.parameters = R"({"a":"2"})";
  i.command_content = "ZWNobyBoaQ==";
  i.created_ms = created_ms;
  i.updated_ms = created_ms;
  return i;
}

InvocationTask make_task(const std::string& id, const std::string& invocation_id,
                         const std::string& instance_id, int64_t created_ms = 1000) {
  InvocationTask t;
  t.invocation_task_id = id;
  t.invocation_id = invocation_id;
  t.command_id = "cmd-x";
  t.command_name = "x";
  t.instance_id = instance_id;
  t.document.content = "ZWNobyBoaQ==";
  t.document.timeout = 10;
  t.document.username = "nobody";
  t.parameters = "{}";
  t.output = "b3V0cHV0";
  t.created_ms = created_ms;
  t.updated_ms = created_ms;
  return t;
}

RegisterCode make_code(const std::string& id, int64_t limit = 5) {
  RegisterCode c;
  c.register_code_id = id;
  c.value_hash = "hash-" + id;
  c.description = "code";
  c.instance_name_prefix = "web";
  c.register_limit = limit;
  c.ip_address_range = "10.0.0.0/8";
  c.created_ms = 1000;
  c.updated_ms = 1000;
  return c;
}

RegisterInstance make_instance(const std::string& id, const std::string& code_id,
                               int64_t created_ms = 1000) {
  RegisterInstance i;
  i.instance_id = id;
  i.register_code_id = code_id;
  i.instance_name = "web-" + id;
  i.machine_id = "m-" + id;
  i.system_name = "Linux";
  i.host_name = "h-" + id;
  i.local_ip = "10.0.0.1";
  i.public_key = "key-" + id;  // one key per instance, as agents make them
  i.tags = {{"env", "prod"}};
  i.created_ms = created_ms;
  i.updated_ms = created_ms;
  return i;
}

RegistrationCheck make_check(const std::string& code_id, int64_t now_ms = 2000) {
  RegistrationCheck c;
  c.register_code_id = code_id;
  c.value_hash = "hash-" + code_id;
  c.now_ms = now_ms;
  return c;
}

std::vector<std::string> command_ids(const Page<Command>& p) {
  std::vector<std::string> ids;
  for (const auto& c : p.items) {
    ids.push_back(c.command_id);
  }
  return ids;
}

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
};

}  // namespace

TEST_CASE("migrations are applied once and a reopen keeps them", "[store][schema]") {
  TempDir dir;
  { open_store(dir.db()); }
  std::vector<std::vector<int64_t>> first;
  {
    RawDb raw(dir.db());
    first = raw.ints("SELECT version, applied_at FROM schema_migrations ORDER BY version");
    REQUIRE(static_cast<int64_t>(first.size()) == sqlite_schema_version());
    REQUIRE(first.back()[0] == sqlite_schema_version());
    REQUIRE(raw.text("PRAGMA journal_mode") == "wal");
  }
  auto store = open_store(dir.db());
  require_ok(store->insert_command(make_command("cmd-1", "one")));
  RawDb raw(dir.db());
  REQUIRE(raw.ints("SELECT version, applied_at FROM schema_migrations ORDER BY version") == first);
}

TEST_CASE("a database newer than the code is refused", "[store][schema]") {
  TempDir dir;
  { open_store(dir.db()); }
  {
    RawDb raw(dir.db());
    raw.exec("INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)");
  }
  auto s = open_sqlite_store(dir.db(), {});
  REQUIRE_FALSE(s);
  REQUIRE(s.error().message.find("newer") != std::string::npos);
}

TEST_CASE("a path that cannot be opened is an error", "[store][schema]") {
  TempDir dir;
  auto s = open_sqlite_store(dir.path / "missing" / "ferry.db", {});
  REQUIRE_FALSE(s);
  REQUIRE(s.error().code == sc::kFailed);
}

TEST_CASE("the database and its -wal and -shm files are 0600", "[store][files]") {
  TempDir dir;
  // A permissive umask would give SQLite's default 0644 (and 0666 before it).
  mode_t old = ::umask(0);
  auto store = open_sqlite_store(dir.db(), {});
  ::umask(old);
  REQUIRE(store);
  require_ok((*store)->insert_command(make_command("cmd-1", "one")));
  REQUIRE(mode_of(dir.db()) == 0600U);
  REQUIRE(fs::exists(dir.path / "ferry.db-wal"));
  REQUIRE(mode_of(dir.path / "ferry.db-wal") == 0600U);
  REQUIRE(fs::exists(dir.path / "ferry.db-shm"));
  REQUIRE(mode_of(dir.path / "ferry.db-shm") == 0600U);
}

TEST_CASE("commands: insert, get, duplicates", "[store][commands]") {
  TempDir dir;
  auto store = open_store(dir.db());
  Command c = make_command("cmd-1", "one");
  require_ok(store->insert_command(c));

  auto got = require_value(store->get_command("cmd-1"));
  REQUIRE(got);
  CHECK(got->command_name == "one");
  CHECK(got->description == c.description);
  CHECK(got->content == c.content);
  CHECK(got->timeout == 30);
  CHECK(got->enable_parameter);
  CHECK(got->default_parameters == c.default_parameters);
  CHECK(got->default_parameter_confs == c.default_parameter_confs);
  CHECK(got->username == "root");
  CHECK(got->output_cos_bucket_url == c.output_cos_bucket_url);
  CHECK(got->output_cos_key_prefix == "logs");
  CHECK(got->tags == c.tags);
  CHECK(got->saved);
  CHECK(got->created_ms == 1000);

  REQUIRE_FALSE(require_value(store->get_command("cmd-missing")));

  SECTION("a saved name is taken") {
    CHECK(error_code(store->insert_command(make_command("cmd-2", "one"))) ==
          sc::kCommandNameDuplicated);
  }
  SECTION("unsaved commands never conflict") {
    Command u = make_command("cmd-2", "one");
    u.saved = false;
    require_ok(store->insert_command(u));
    u.command_id = "cmd-3";
    require_ok(store->insert_command(u));
    CHECK(require_value(store->count_saved_commands()) == 1);
  }
  SECTION("an id is taken") {
    CHECK(error_code(store->insert_command(make_command("cmd-1", "other"))) == sc::kIdDuplicated);
  }
  SECTION("a failed insert leaves nothing behind") {
    REQUIRE_FALSE(store->insert_command(make_command("cmd-1", "other")));
    CHECK(require_value(store->count_saved_commands()) == 1);
    CHECK(require_value(store->get_command("cmd-1"))->command_name == "one");
  }
}

TEST_CASE("commands: modify", "[store][commands]") {
  TempDir dir;
  auto store = open_store(dir.db());
  require_ok(store->insert_command(make_command("cmd-1", "one")));
  require_ok(store->insert_command(make_command("cmd-2", "two")));

  SECTION("changes are stored, tags replaced, the id kept") {
    auto m = require_value(store->modify_command("cmd-1", [](Command& c) -> Status {
      c.command_id = "cmd-other";
      c.command_name = "uno";
      c.timeout = 99;
      c.tags = {{"k", "v"}};
      c.default_parameter_confs.clear();
      c.updated_ms = 5000;
      return {};
    }));
    CHECK(m.command_id == "cmd-1");
    auto got = require_value(store->get_command("cmd-1"));
    REQUIRE(got);
    CHECK(got->command_name == "uno");
    CHECK(got->timeout == 99);
    CHECK(got->tags == std::vector<Tag>{{"k", "v"}});
    CHECK(got->default_parameter_confs.empty());
    CHECK(got->updated_ms == 5000);
    CHECK_FALSE(require_value(store->get_command("cmd-other")));
  }
  SECTION("a missing command") {
    CHECK(error_code(store->modify_command("cmd-x", [](Command&) -> Status { return {}; })) ==
          sc::kCommandNotFound);
  }
  SECTION("a mutate error aborts") {
    auto r = store->modify_command("cmd-1", [](Command& c) -> Status {
      c.command_name = "changed";
      return Error{codes::kInvalidParameterValue, "no"};
    });
    CHECK(error_code(r) == codes::kInvalidParameterValue);
    CHECK(require_value(store->get_command("cmd-1"))->command_name == "one");
  }
  SECTION("renaming onto another saved command's name") {
    auto r = store->modify_command("cmd-1", [](Command& c) -> Status {
      c.command_name = "two";
      return {};
    });
    CHECK(error_code(r) == sc::kCommandNameDuplicated);
    CHECK(require_value(store->get_command("cmd-1"))->command_name == "one");
  }
  SECTION("keeping its own name is no conflict") {
    require_value(store->modify_command("cmd-1", [](Command& c) -> Status {
      c.description = "new";
      return {};
    }));
    CHECK(require_value(store->get_command("cmd-1"))->description == "new");
  }
}

TEST_CASE("commands: delete is all or none and keeps history", "[store][commands]") {
  TempDir dir;
  auto store = open_store(dir.db());
  require_ok(store->insert_command(make_command("cmd-1", "one")));
  require_ok(store->insert_command(make_command("cmd-2", "two")));
  require_ok(store->insert_invocation(std::nullopt, make_invocation("inv-1", "cmd-1"),
                                      {make_task("invt-1", "inv-1", "rins-1")}));

  auto s = store->delete_commands({"cmd-1", "cmd-x", "cmd-y"});
  REQUIRE(error_code(s) == sc::kCommandNotFound);
  CHECK(s.error().message.find("cmd-x") != std::string::npos);
  CHECK(require_value(store->get_command("cmd-1")));

  require_ok(store->delete_commands({"cmd-1", "cmd-2"}));
  CHECK_FALSE(require_value(store->get_command("cmd-1")));
  CHECK_FALSE(require_value(store->get_command("cmd-2")));
  CHECK(require_value(store->count_saved_commands()) == 0);
  CHECK(require_value(store->get_invocation("inv-1")));
  CHECK(require_value(store->get_task("invt-1")));
  // The name is free again.
  require_ok(store->insert_command(make_command("cmd-3", "one")));
}

TEST_CASE("commands: filters and paging", "[store][commands]") {
  TempDir dir;
  auto store = open_store(dir.db());
  // cmd-00 .. cmd-24; created_ms repeats in pairs so that the id must break ties.
  for (int i = 0; i < 25; ++i) {
    std::string n = (i < 10 ? "0" : "") + std::to_string(i);
    Command c = make_command("cmd-" + n, "name-" + n, 1000 + i / 2);
    c.command_type = i % 2 == 0 ? "SHELL" : "POWERSHELL";
    c.created_by = i < 20 ? "USER" : "TAT";
    c.tags = {{"env", i % 3 == 0 ? "prod" : "dev"}, {"idx", n}};
    require_ok(store->insert_command(c));
  }
  Command unsaved = make_command("cmd-unsaved", "name-00", 9999);
  unsaved.saved = false;
  require_ok(store->insert_command(unsaved));

  SECTION("no filter: newest first, the id breaking ties, total over all") {
    CommandQuery q;
    q.limit = 5;
    auto p = require_value(store->list_commands(q));
    CHECK(p.total == 25);
    CHECK(command_ids(p) ==
          std::vector<std::string>{"cmd-24", "cmd-22", "cmd-23", "cmd-20", "cmd-21"});
    q.offset = 20;
    p = require_value(store->list_commands(q));
    CHECK(p.total == 25);
    CHECK(command_ids(p) ==
          std::vector<std::string>{"cmd-05", "cmd-02", "cmd-03", "cmd-00", "cmd-01"});
  }
  SECTION("pages tile the listing") {
    CommandQuery q;
    q.limit = 7;
    std::vector<std::string> all;
    for (q.offset = 0; q.offset < 30; q.offset += 7) {
      auto p = require_value(store->list_commands(q));
      CHECK(p.total == 25);
      auto ids = command_ids(p);
      all.insert(all.end(), ids.begin(), ids.end());
    }
    REQUIRE(all.size() == 25);
    CHECK(all.front() == "cmd-24");
    CHECK(all.back() == "cmd-01");
    std::vector<std::string> sorted = all;
    std::sort(sorted.begin(), sorted.end());
    CHECK(std::unique(sorted.begin(), sorted.end()) == sorted.end());
  }
  SECTION("saved_only=false includes unsaved commands") {
    CommandQuery q;
    q.saved_only = false;
    q.command_names = {"name-00"};
    auto p = require_value(store->list_commands(q));
    CHECK(p.total == 2);
    CHECK(command_ids(p) == std::vector<std::string>{"cmd-unsaved", "cmd-00"});
  }
  SECTION("OR within a field, AND across fields") {
    CommandQuery q;
    q.command_ids = {"cmd-01", "cmd-02", "cmd-03", "cmd-missing"};
    q.command_types = {"SHELL"};
    auto p = require_value(store->list_commands(q));
    CHECK(p.total == 1);
    CHECK(command_ids(p) == std::vector<std::string>{"cmd-02"});
    q.command_types = {"SHELL", "POWERSHELL"};
    CHECK(require_value(store->list_commands(q)).total == 3);
  }
  SECTION("names and created_by") {
    CommandQuery q;
    q.command_names = {"name-21", "name-05"};
    CHECK(command_ids(require_value(store->list_commands(q))) ==
          std::vector<std::string>{"cmd-21", "cmd-05"});
    CommandQuery by;
    by.created_by = {"TAT"};
    CHECK(require_value(store->list_commands(by)).total == 5);
  }
  SECTION("tags") {
    CommandQuery q;
    q.tag_pairs = {{"env", {"prod"}}};
    CHECK(require_value(store->list_commands(q)).total == 9);  // 0, 3, ..., 24
    q.tag_pairs = {{"env", {"prod", "dev"}}};
    CHECK(require_value(store->list_commands(q)).total == 25);
    q.tag_pairs = {{"env", {"prod"}}, {"idx", {"03", "04", "06"}}};
    CHECK(command_ids(require_value(store->list_commands(q))) ==
          std::vector<std::string>{"cmd-06", "cmd-03"});
    q.tag_pairs = {{"env", {"staging"}}};
    CHECK(require_value(store->list_commands(q)).total == 0);

    CommandQuery keys;
    keys.tag_keys = {"idx"};
    CHECK(require_value(store->list_commands(keys)).total == 25);
    keys.tag_keys = {"nope"};
    CHECK(require_value(store->list_commands(keys)).total == 0);

    CommandQuery values;
    values.tag_values = {"07", "08"};
    CHECK(require_value(store->list_commands(values)).total == 2);

    // A listed command comes with all its tags, not only the matching ones.
    auto p = require_value(store->list_commands(values));
    CHECK(p.items.at(0).tags.size() == 2);
  }
  SECTION("a page past the end is empty but counts") {
    CommandQuery q;
    q.offset = 100;
    auto p = require_value(store->list_commands(q));
    CHECK(p.total == 25);
    CHECK(p.items.empty());
  }
}

TEST_CASE("invocations and tasks", "[store][tasks]") {
  TempDir dir;
  auto store = open_store(dir.db());
  Command cmd = make_command("cmd-1", "one");
  Invocation inv1 = make_invocation("inv-1", "cmd-1", 1000);
  InvocationTask t1 = make_task("invt-1", "inv-1", "rins-a", 1000);
  t1.exit_code = 3;
  t1.dropped = 12345;
  t1.status = TaskStatus::kRunning;
  t1.cancel_requested = true;
  t1.document.working_directory = "/w";
  t1.document.output_cos_bucket_url = "https://b";
  t1.document.output_cos_key_prefix = "p";
  t1.error_info = "e";
  t1.output_url = "https://b/x";
  t1.output_upload_error = "u";
  t1.exec_start_ms = 1;
  t1.exec_end_ms = 2;
  t1.start_ms = 3;
  t1.end_ms = 4;
  t1.delivered_ms = 5;
  t1.enable_parameter = true;
  t1.invocation_source = "INVOKER";
  InvocationTask t2 = make_task("invt-2", "inv-1", "rins-b", 1000);
  require_ok(store->insert_invocation(cmd, inv1, {t1, t2}));
  require_ok(store->insert_invocation(std::nullopt, make_invocation("inv-2", "cmd-1", 2000),
                                      {make_task("invt-3", "inv-2", "rins-b", 2000)}));
  Invocation inv3 = make_invocation("inv-3", "cmd-2", 3000);
  inv3.invocation_source = "INVOKER";
  require_ok(
      store->insert_invocation(std::nullopt, inv3, {make_task("invt-4", "inv-3", "rins-c", 3000)}));

  SECTION("the command came along") {
    CHECK(require_value(store->get_command("cmd-1")));
  }
  SECTION("an invocation reads back") {
    auto got = require_value(store->get_invocation("inv-1"));
    REQUIRE(got);
    CHECK(got->command_id == "cmd-1");
    CHECK(got->parameters == inv1.parameters);
    CHECK(got->command_content == inv1.command_content);
    CHECK_FALSE(require_value(store->get_invocation("inv-x")));
  }
  SECTION("every task field reads back") {
    auto got = require_value(store->get_task("invt-1"));
    REQUIRE(got);
    CHECK(got->invocation_id == "inv-1");
    CHECK(got->instance_id == "rins-a");
    CHECK(got->status == TaskStatus::kRunning);
    CHECK(got->exit_code == std::optional<int64_t>(3));
    CHECK(got->dropped == 12345U);
    CHECK(got->output == t1.output);
    CHECK(got->cancel_requested);
    CHECK(got->enable_parameter);
    CHECK(got->document.content == t1.document.content);
    CHECK(got->document.timeout == 10);
    CHECK(got->document.working_directory == "/w");
    CHECK(got->document.username == "nobody");
    CHECK(got->document.output_cos_bucket_url == "https://b");
    CHECK(got->document.output_cos_key_prefix == "p");
    CHECK(got->error_info == "e");
    CHECK(got->output_url == "https://b/x");
    CHECK(got->output_upload_error == "u");
    CHECK(got->exec_start_ms == 1);
    CHECK(got->exec_end_ms == 2);
    CHECK(got->start_ms == 3);
    CHECK(got->end_ms == 4);
    CHECK(got->delivered_ms == 5);
    CHECK(got->last_log_index == -1);
    CHECK(got->invocation_source == "INVOKER");
    CHECK_FALSE(require_value(store->get_task("invt-2"))->exit_code);
    CHECK_FALSE(require_value(store->get_task("invt-x")));
  }
  SECTION("a duplicate saved command name fails the whole insert") {
    auto s =
        store->insert_invocation(make_command("cmd-9", "one"), make_invocation("inv-9", "cmd-9"),
                                 {make_task("invt-9", "inv-9", "rins-a")});
    CHECK(error_code(s) == sc::kCommandNameDuplicated);
    CHECK_FALSE(require_value(store->get_invocation("inv-9")));
    CHECK_FALSE(require_value(store->get_task("invt-9")));
  }
  SECTION("a duplicate task id fails the whole insert") {
    auto s = store->insert_invocation(std::nullopt, make_invocation("inv-9", "cmd-1"),
                                      {make_task("invt-1", "inv-9", "rins-a")});
    CHECK(error_code(s) == sc::kIdDuplicated);
    CHECK_FALSE(require_value(store->get_invocation("inv-9")));
  }
  SECTION("list_invocations") {
    InvocationQuery q;
    auto p = require_value(store->list_invocations(q));
    CHECK(p.total == 3);
    REQUIRE(p.items.size() == 3);
    CHECK(p.items[0].invocation_id == "inv-3");
    q.instance_ids = {"rins-b"};
    p = require_value(store->list_invocations(q));
    CHECK(p.total == 2);
    CHECK(p.items.at(0).invocation_id == "inv-2");
    CHECK(p.items.at(1).invocation_id == "inv-1");
    q.instance_ids = {"rins-a", "rins-c"};
    CHECK(require_value(store->list_invocations(q)).total == 2);
    q.sources = {"INVOKER"};
    CHECK(require_value(store->list_invocations(q)).total == 1);
    InvocationQuery byc;
    byc.command_ids = {"cmd-1"};
    CHECK(require_value(store->list_invocations(byc)).total == 2);
    byc.invocation_ids = {"inv-2", "inv-3"};
    CHECK(require_value(store->list_invocations(byc)).total == 1);
    byc.limit = 0;
    auto empty = require_value(store->list_invocations(byc));
    CHECK(empty.total == 1);
    CHECK(empty.items.empty());
  }
  SECTION("list_tasks") {
    TaskQuery q;
    auto p = require_value(store->list_tasks(q));
    CHECK(p.total == 4);
    q.invocation_ids = {"inv-1"};
    p = require_value(store->list_tasks(q));
    CHECK(p.total == 2);
    REQUIRE(p.items.size() == 2);
    CHECK(p.items[0].invocation_task_id == "invt-1");
    CHECK(p.items[0].output == t1.output);
    q.statuses = {TaskStatus::kPending};
    p = require_value(store->list_tasks(q));
    CHECK(p.total == 1);
    CHECK(p.items.at(0).invocation_task_id == "invt-2");
    TaskQuery st;
    st.statuses = {TaskStatus::kPending, TaskStatus::kRunning};
    st.instance_ids = {"rins-b"};
    CHECK(require_value(store->list_tasks(st)).total == 2);
    TaskQuery ids;
    ids.task_ids = {"invt-1", "invt-4"};
    ids.command_ids = {"cmd-x"};
    ids.with_output = false;
    p = require_value(store->list_tasks(ids));
    CHECK(p.total == 2);
    REQUIRE(p.items.size() == 2);
    CHECK(p.items[0].invocation_task_id == "invt-4");
    CHECK(p.items[0].output.empty());
    CHECK(p.items[1].output.empty());
    CHECK(p.items[1].exit_code == std::optional<int64_t>(3));
  }
}

TEST_CASE("modify_task", "[store][tasks]") {
  TempDir dir;
  auto store = open_store(dir.db());
  require_ok(store->insert_invocation(std::nullopt, make_invocation("inv-1", "cmd-1"),
                                      {make_task("invt-1", "inv-1", "rins-a")}));

  SECTION("true stores the change") {
    auto r = require_value(store->modify_task("invt-1", [](InvocationTask& t) {
      t.status = TaskStatus::kSuccess;
      t.exit_code = 0;
      t.output = "ZG9uZQ==";
      t.end_ms = 7;
      return true;
    }));
    REQUIRE(r);
    CHECK(r->status == TaskStatus::kSuccess);
    auto got = require_value(store->get_task("invt-1"));
    CHECK(got->status == TaskStatus::kSuccess);
    CHECK(got->exit_code == std::optional<int64_t>(0));
    CHECK(got->output == "ZG9uZQ==");
    CHECK(got->end_ms == 7);
  }
  SECTION("false leaves the row and returns it as stored") {
    auto r = require_value(store->modify_task("invt-1", [](InvocationTask& t) {
      t.status = TaskStatus::kFailed;
      t.output = "bGF0ZQ==";
      return false;
    }));
    REQUIRE(r);
    CHECK(r->status == TaskStatus::kPending);
    CHECK(r->output == "b3V0cHV0");
    CHECK(require_value(store->get_task("invt-1"))->status == TaskStatus::kPending);
  }
  SECTION("missing") {
    bool called = false;
    auto r = require_value(store->modify_task("invt-x", [&](InvocationTask&) {
      called = true;
      return true;
    }));
    CHECK_FALSE(r);
    CHECK_FALSE(called);
  }
  SECTION("concurrent read-modify-writes from two opens of the file lose nothing") {
    auto other = open_store(dir.db());
    std::atomic<int> failures{0};  // Catch2 v2 assertions are not thread-safe
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
      Store* s = i % 2 == 0 ? store.get() : other.get();
      threads.emplace_back([s, &failures] {
        for (int k = 0; k < 25; ++k) {
          auto r = s->modify_task("invt-1", [](InvocationTask& t) {
            ++t.delivered_ms;
            return true;
          });
          if (!r || !*r) {
            ++failures;
          }
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }
    CHECK(failures == 0);
    CHECK(require_value(store->get_task("invt-1"))->delivered_ms == 200);
  }
}

TEST_CASE("task logs", "[store][tasks]") {
  TempDir dir;
  auto store = open_store(dir.db());
  require_ok(store->insert_invocation(std::nullopt, make_invocation("inv-1", "cmd-1"),
                                      {make_task("invt-1", "inv-1", "rins-a")}));
  CHECK(require_value(store->task_log("invt-1")).empty());
  require_ok(store->put_task_log("invt-1", 2, "c"));
  require_ok(store->put_task_log("invt-1", 0, "a"));
  require_ok(store->put_task_log("invt-1", 1, std::string("b\0b", 3)));
  require_ok(store->put_task_log("invt-1", 0, "changed"));  // a repeat changes nothing
  require_ok(store->put_task_log("invt-1", 3, ""));
  CHECK(require_value(store->task_log("invt-1")) == std::string("ab\0bc", 5));
  CHECK(require_value(store->get_task("invt-1"))->last_log_index == 3);
  CHECK(error_code(store->put_task_log("invt-x", 0, "a")) == sc::kInvocationTaskNotFound);
  CHECK(require_value(store->task_log("invt-x")).empty());
}

TEST_CASE("a page of tasks is newest first, ties by id, with or without filters",
          "[store][tasks]") {
  // list_tasks sorts only the ids in SQL and the rows in C++: both orders must agree, also
  // for tasks made together (one created_ms) and across pages.
  TempDir dir;
  auto store = open_store(dir.db());
  std::vector<std::string> expected;  // created_ms descending, then id ascending
  for (int inv = 0; inv < 6; ++inv) {
    const std::string inv_id = "inv-" + std::to_string(inv);
    const int64_t created = inv % 2 == 0 ? 5000 - inv * 100 : 5000 - (inv - 1) * 100;
    std::vector<InvocationTask> tasks;
    for (const char* suffix : {"c", "a", "B", "b"}) {
      tasks.push_back(make_task("invt-" + std::to_string(inv) + suffix, inv_id, "rins-a", created));
      tasks.back().output = std::string(2000, 'o');  // wide rows, as with real output
    }
    require_ok(
        store->insert_invocation(std::nullopt, make_invocation(inv_id, "cmd-1", created), tasks));
  }
  for (const int64_t created : {5000, 4800, 4600}) {
    std::vector<std::string> ids;
    for (int inv = 0; inv < 6; ++inv) {
      if ((inv % 2 == 0 ? 5000 - inv * 100 : 5000 - (inv - 1) * 100) == created) {
        for (const char* suffix : {"c", "a", "B", "b"}) {
          ids.push_back("invt-" + std::to_string(inv) + suffix);
        }
      }
    }
    std::sort(ids.begin(), ids.end());
    expected.insert(expected.end(), ids.begin(), ids.end());
  }
  const auto ids_of = [](const Page<InvocationTask>& page) {
    std::vector<std::string> ids;
    for (const auto& t : page.items) {
      ids.push_back(t.invocation_task_id);
    }
    return ids;
  };
  for (const bool filtered : {false, true}) {
    TaskQuery q;
    if (filtered) {
      q.instance_ids = {"rins-a"};
    }
    q.limit = 100;
    auto all = require_value(store->list_tasks(q));
    CHECK(all.total == 24);
    CHECK(ids_of(all) == expected);
    std::vector<std::string> paged;
    for (int64_t offset = 0; offset < 24; offset += 5) {
      q.offset = offset;
      q.limit = 5;
      auto page = require_value(store->list_tasks(q));
      CHECK(page.total == 24);
      auto ids = ids_of(page);
      paged.insert(paged.end(), ids.begin(), ids.end());
    }
    CHECK(paged == expected);
  }
}

TEST_CASE("filters of many shapes: more statement shapes than the cache keeps", "[store][tasks]") {
  // Each count of filter values is a statement of its own; past the dynamic cache's bound they
  // are prepared per call and finalized, with the same answers.
  TempDir dir;
  auto store = open_store(dir.db(), SqliteOptions{.max_connections = 1});
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

TEST_CASE("register codes", "[store][register]") {
  TempDir dir;
  auto store = open_store(dir.db());
  RegisterCode a = make_code("rc-a");
  a.created_ms = 1;
  a.expired_ms = 77;
  RegisterCode b = make_code("rc-b");
  b.created_ms = 2;
  require_ok(store->insert_register_code(a));
  require_ok(store->insert_register_code(b));
  CHECK(error_code(store->insert_register_code(a)) == sc::kIdDuplicated);

  auto p = require_value(store->list_register_codes({}, 0, 20));
  CHECK(p.total == 2);
  REQUIRE(p.items.size() == 2);
  CHECK(p.items[0].register_code_id == "rc-b");
  CHECK(p.items[1].value_hash == "hash-rc-a");
  CHECK(p.items[1].expired_ms == 77);
  CHECK(p.items[1].ip_address_range == "10.0.0.0/8");
  CHECK(p.items[1].instance_name_prefix == "web");
  p = require_value(store->list_register_codes({"rc-a", "rc-x"}, 0, 20));
  CHECK(p.total == 1);
  p = require_value(store->list_register_codes({}, 1, 1));
  CHECK(p.total == 2);
  REQUIRE(p.items.size() == 1);
  CHECK(p.items[0].register_code_id == "rc-a");

  auto s = store->set_register_codes_enabled({"rc-a", "rc-x"}, false, 50);
  CHECK(error_code(s) == sc::kRegisterCodeNotFound);
  CHECK(s.error().message.find("rc-x") != std::string::npos);
  CHECK(require_value(store->list_register_codes({"rc-a"}, 0, 20)).items.at(0).enabled);
  require_ok(store->set_register_codes_enabled({"rc-a", "rc-b"}, false, 50));
  p = require_value(store->list_register_codes({}, 0, 20));
  CHECK_FALSE(p.items.at(0).enabled);
  CHECK_FALSE(p.items.at(1).enabled);
  CHECK(p.items.at(1).updated_ms == 50);

  CHECK(error_code(store->delete_register_codes({"rc-b", "rc-x"})) == sc::kRegisterCodeNotFound);
  CHECK(require_value(store->list_register_codes({}, 0, 20)).total == 2);
  require_ok(store->delete_register_codes({"rc-b"}));
  CHECK(require_value(store->list_register_codes({}, 0, 20)).total == 1);
}

TEST_CASE("register_instance checks the code", "[store][register]") {
  TempDir dir;
  auto store = open_store(dir.db());
  RegisterCode code = make_code("rc-a", 2);
  code.expired_ms = 10000;
  require_ok(store->insert_register_code(code));
  auto count = [&] {
    return require_value(store->list_register_codes({"rc-a"}, 0, 1)).items.at(0).registered_count;
  };

  SECTION("unknown code") {
    CHECK(error_code(store->register_instance(
              make_check("rc-x"), make_instance("rins-1", "rc-x"))) == sc::kRegisterCodeNotFound);
  }
  SECTION("wrong value") {
    auto check = make_check("rc-a");
    check.value_hash = "other";
    auto s = store->register_instance(check, make_instance("rins-1", "rc-a"));
    CHECK(error_code(s) == sc::kRegisterCodeValueMismatch);
    CHECK(s.error().message.find("hash-rc-a") == std::string::npos);
  }
  SECTION("disabled") {
    require_ok(store->set_register_codes_enabled({"rc-a"}, false, 1));
    CHECK(error_code(store->register_instance(
              make_check("rc-a"), make_instance("rins-1", "rc-a"))) == sc::kRegisterCodeDisabled);
  }
  SECTION("expired at expired_ms") {
    CHECK(error_code(store->register_instance(make_check("rc-a", 10000),
                                              make_instance("rins-1", "rc-a"))) ==
          sc::kRegisterCodeExpired);
    require_ok(store->register_instance(make_check("rc-a", 9999), make_instance("rins-1", "rc-a")));
  }
  SECTION("the extra check runs last and its error aborts without counting") {
    auto check = make_check("rc-a");
    std::string seen;
    check.extra = [&](const RegisterCode& c) -> Status {
      seen = c.ip_address_range;
      return Error{codes::kOperationDenied, "ip out of range"};
    };
    CHECK(error_code(store->register_instance(check, make_instance("rins-1", "rc-a"))) ==
          codes::kOperationDenied);
    CHECK(seen == "10.0.0.0/8");
    CHECK(count() == 0);
    CHECK_FALSE(require_value(store->get_instance("rins-1")));
  }
  SECTION("the limit, and a duplicate instance id counts nothing") {
    require_ok(store->register_instance(make_check("rc-a"), make_instance("rins-1", "rc-a")));
    CHECK(count() == 1);
    CHECK(error_code(store->register_instance(
              make_check("rc-a"), make_instance("rins-1", "rc-a"))) == sc::kIdDuplicated);
    CHECK(count() == 1);
    require_ok(store->register_instance(make_check("rc-a"), make_instance("rins-2", "rc-a")));
    CHECK(error_code(store->register_instance(
              make_check("rc-a"), make_instance("rins-3", "rc-a"))) == sc::kRegisterLimitExceeded);
    CHECK(count() == 2);
    // Deleting an instance does not give its registration back.
    require_ok(store->delete_instance("rins-1"));
    CHECK(error_code(store->register_instance(
              make_check("rc-a"), make_instance("rins-3", "rc-a"))) == sc::kRegisterLimitExceeded);
  }
}

TEST_CASE("deleting an instance revokes its key for good", "[store][register]") {
  TempDir dir;
  auto store = open_store(dir.db());
  require_ok(store->insert_register_code(make_code("rc-a", 10)));
  RegisterInstance first = make_instance("rins-1", "rc-a");
  require_ok(store->register_instance(make_check("rc-a"), first));
  require_ok(store->delete_instance("rins-1"));
  // The same key under any id is refused; a new key is welcome.
  RegisterInstance again = make_instance("rins-9", "rc-a");
  again.public_key = first.public_key;
  CHECK(error_code(store->register_instance(make_check("rc-a"), again)) == sc::kKeyRevoked);
  CHECK_FALSE(require_value(store->get_instance("rins-9")));
  RegisterInstance fresh = make_instance("rins-9", "rc-a");
  fresh.public_key = "a-new-key";
  require_ok(store->register_instance(make_check("rc-a"), fresh));
  // The revocation survives a reopen.
  store.reset();
  store = open_store(dir.db());
  again.instance_id = "rins-8";
  CHECK(error_code(store->register_instance(make_check("rc-a"), again)) == sc::kKeyRevoked);
}

TEST_CASE("concurrent registrations never pass the limit", "[store][register][concurrency]") {
  TempDir dir;
  auto store = open_store(dir.db(), SqliteOptions{.max_connections = 4});
  auto other = open_store(dir.db(), SqliteOptions{.max_connections = 4});
  require_ok(store->insert_register_code(make_code("rc-a", 5)));

  std::atomic<int> ok{0};
  std::atomic<int> limited{0};
  std::atomic<int> other_errors{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    Store* s = i % 2 == 0 ? store.get() : other.get();
    threads.emplace_back([&, s, i] {
      while (!go.load()) {
        std::this_thread::yield();
      }
      auto r = s->register_instance(make_check("rc-a"),
                                    make_instance("rins-" + std::to_string(i), "rc-a"));
      if (r) {
        ++ok;
      } else if (r.error().code == sc::kRegisterLimitExceeded) {
        ++limited;
      } else {
        ++other_errors;
      }
    });
  }
  go = true;
  for (auto& t : threads) {
    t.join();
  }
  CHECK(ok == 5);
  CHECK(limited == 3);
  CHECK(other_errors == 0);
  CHECK(require_value(store->list_register_codes({"rc-a"}, 0, 1)).items.at(0).registered_count ==
        5);
  CHECK(require_value(store->list_instances({})).total == 5);
}

TEST_CASE("registered instances", "[store][instances]") {
  TempDir dir;
  auto store = open_store(dir.db());
  require_ok(store->insert_register_code(make_code("rc-a", 10)));
  require_ok(store->insert_register_code(make_code("rc-b", 10)));
  RegisterInstance i1 = make_instance("rins-1", "rc-a", 1);
  i1.tags = {{"env", "prod"}, {"role", "web"}};
  RegisterInstance i2 = make_instance("rins-2", "rc-a", 2);
  i2.system_name = "Windows";
  i2.local_ip = "10.0.0.2";
  i2.tags = {{"env", "dev"}};
  RegisterInstance i3 = make_instance("rins-3", "rc-b", 3);
  i3.tags = {};
  for (const auto& i : {i1, i2, i3}) {
    require_ok(store->register_instance(make_check(i.register_code_id), i));
  }

  SECTION("get") {
    auto got = require_value(store->get_instance("rins-1"));
    REQUIRE(got);
    CHECK(got->register_code_id == "rc-a");
    CHECK(got->instance_name == "web-rins-1");
    CHECK(got->machine_id == "m-rins-1");
    CHECK(got->host_name == "h-rins-1");
    CHECK(got->public_key == i1.public_key);
    CHECK(got->tags == i1.tags);
    CHECK(got->support_features.empty());
    CHECK_FALSE(require_value(store->get_instance("rins-x")));
  }
  SECTION("list with filters") {
    RegisterInstanceQuery q;
    auto p = require_value(store->list_instances(q));
    CHECK(p.total == 3);
    CHECK(p.items.at(0).instance_id == "rins-3");
    CHECK(p.items.at(2).tags == i1.tags);
    q.register_code_ids = {"rc-a"};
    CHECK(require_value(store->list_instances(q)).total == 2);
    q.system_names = {"Windows"};
    CHECK(require_value(store->list_instances(q)).total == 1);
    RegisterInstanceQuery ips;
    ips.local_ips = {"10.0.0.1"};
    ips.instance_names = {"web-rins-1", "web-rins-2", "web-rins-3"};
    CHECK(require_value(store->list_instances(ips)).total == 2);
    RegisterInstanceQuery tags;
    tags.tag_pairs = {{"env", {"prod", "dev"}}};
    CHECK(require_value(store->list_instances(tags)).total == 2);
    tags.tag_keys = {"role"};
    CHECK(require_value(store->list_instances(tags)).total == 1);
    RegisterInstanceQuery values;
    values.tag_values = {"dev"};
    values.instance_ids = {"rins-2", "rins-3"};
    CHECK(require_value(store->list_instances(values)).total == 1);
  }
  SECTION("rename") {
    require_ok(store->rename_instance("rins-1", "renamed", 99));
    auto got = require_value(store->get_instance("rins-1"));
    CHECK(got->instance_name == "renamed");
    CHECK(got->updated_ms == 99);
    CHECK(error_code(store->rename_instance("rins-x", "n", 1)) == sc::kInstanceNotFound);
  }
  SECTION("heartbeat") {
    require_ok(store->record_heartbeat("rins-2", "1.2.3", "{\"os\":\"linux\"}",
                                       {"shell", "powershell"}, 1234));
    auto got = require_value(store->get_instance("rins-2"));
    CHECK(got->agent_version == "1.2.3");
    CHECK(got->environment == "{\"os\":\"linux\"}");
    CHECK(got->support_features == std::vector<std::string>{"shell", "powershell"});
    CHECK(got->last_heartbeat_ms == 1234);
    CHECK(error_code(store->record_heartbeat("rins-x", "v", "", {}, 1)) == sc::kInstanceNotFound);
  }
  SECTION("delete") {
    REQUIRE(require_value(store->remember_nonce("rins-1", "n1", 5000, 1000)));
    require_ok(store->delete_instance("rins-1"));
    CHECK_FALSE(require_value(store->get_instance("rins-1")));
    CHECK(require_value(store->list_instances({})).total == 2);
    CHECK(error_code(store->delete_instance("rins-1")) == sc::kInstanceNotFound);
    RawDb raw(dir.db());
    CHECK(raw.ints("SELECT COUNT(*) FROM instance_tags WHERE instance_id = 'rins-1'")[0][0] == 0);
    CHECK(raw.ints("SELECT COUNT(*) FROM agent_nonces WHERE instance_id = 'rins-1'")[0][0] == 0);
  }
}

TEST_CASE("nonces are refused a second time and forgotten after expiry", "[store][nonces]") {
  TempDir dir;
  auto store = open_store(dir.db());
  CHECK(require_value(store->remember_nonce("rins-1", "n1", 5000, 1000)));
  CHECK_FALSE(require_value(store->remember_nonce("rins-1", "n1", 6000, 1500)));
  CHECK(require_value(store->remember_nonce("rins-2", "n1", 5000, 1500)));
  CHECK(require_value(store->remember_nonce("rins-1", "n2", 5000, 1500)));
  CHECK_FALSE(require_value(store->remember_nonce("rins-1", "n1", 6000, 4999)));
  // Expired: accepted again, and then remembered with its new expiry.
  CHECK(require_value(store->remember_nonce("rins-1", "n1", 9000, 5000)));
  CHECK_FALSE(require_value(store->remember_nonce("rins-1", "n1", 9000, 8000)));

  // The periodic sweep removes expired entries.
  for (int i = 0; i < 300; ++i) {
    require_value(store->remember_nonce("rins-3", "x" + std::to_string(i), 10, 1));
  }
  require_value(store->remember_nonce("rins-4", "late", 1000000, 100000));
  for (int i = 0; i < 300; ++i) {
    require_value(store->remember_nonce("rins-4", "y" + std::to_string(i), 1000000, 100000));
  }
  RawDb raw(dir.db());
  CHECK(raw.ints("SELECT COUNT(*) FROM agent_nonces WHERE instance_id = 'rins-3'")[0][0] == 0);
  CHECK(raw.ints("SELECT COUNT(*) FROM agent_nonces WHERE instance_id = 'rins-4'")[0][0] == 301);
}

TEST_CASE("a second open of the file sees committed writes", "[store][concurrency]") {
  TempDir dir;
  auto a = open_store(dir.db());
  auto b = open_store(dir.db());
  require_ok(a->insert_command(make_command("cmd-1", "one")));
  CHECK(require_value(b->get_command("cmd-1")));
  CHECK(error_code(b->insert_command(make_command("cmd-2", "one"))) == sc::kCommandNameDuplicated);
  require_ok(b->delete_commands({"cmd-1"}));
  CHECK_FALSE(require_value(a->get_command("cmd-1")));
}

TEST_CASE("parallel readers and writers on a small pool", "[store][concurrency]") {
  TempDir dir;
  auto store = open_store(dir.db(), SqliteOptions{.max_connections = 3});
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i) {
        std::string id = "cmd-" + std::to_string(t) + "-" + std::to_string(i);
        if (!store->insert_command(make_command(id, id))) {
          ++failures;
        }
        auto got = store->get_command(id);
        if (!got || !*got) {
          ++failures;
        }
        if (!store->list_commands({})) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(failures == 0);
  CHECK(require_value(store->count_saved_commands()) == 180);
}

TEST_CASE("acknowledged writes survive a SIGKILL", "[store][durability]") {
  TempDir dir;
  constexpr int kCount = 50;
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The child uses only the store and exits by SIGKILL: no destructors, no Catch2.
    auto s = open_sqlite_store(dir.db(), {});
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
  auto store = open_store(dir.db());
  CHECK(require_value(store->count_saved_commands()) == kCount);
  for (int i = 0; i < kCount; ++i) {
    CHECK(require_value(store->get_command("cmd-" + std::to_string(i))));
  }
}
