#include "sqlite_db.hpp"

#include <cstdint>
#include <utility>

#include "ferry/server/store/store_errors.hpp"

namespace ferry::server::sqlite {

namespace {

// SQLITE_TRANSIENT is a C-style cast in a macro; this is the same value, spelled in C++. SQLite
// copies the bytes, so a temporary string may be bound.
sqlite3_destructor_type transient() {
  return reinterpret_cast<sqlite3_destructor_type>(static_cast<intptr_t>(-1));
}

Error sqlite_error(sqlite3* db, std::string_view what) {
  return Error{store_codes::kFailed, std::string(what) + ": " + sqlite3_errmsg(db)};
}

}  // namespace

void Statement::bind_int(int64_t v) {
  bound(sqlite3_bind_int64(stmt_, bind_index_++, v));
}

void Statement::bind_text(std::string_view v) {
  bound(sqlite3_bind_text64(stmt_, bind_index_++, v.data(), v.size(), transient(), SQLITE_UTF8));
}

void Statement::bind_blob(std::string_view v) {
  // A zero-length blob with a null pointer would bind NULL, which NOT NULL refuses.
  static const char kEmpty = 0;
  const char* p = v.empty() ? &kEmpty : v.data();
  bound(sqlite3_bind_blob64(stmt_, bind_index_++, p, v.size(), transient()));
}

void Statement::bind_null() {
  bound(sqlite3_bind_null(stmt_, bind_index_++));
}

void Statement::bound(int rc) {
  // The first failure is kept and reported by step().
  if (bind_rc_ == SQLITE_OK) {
    bind_rc_ = rc;
  }
}

Expected<bool> Statement::step() {
  if (bind_rc_ != SQLITE_OK) {
    last_code_ = bind_rc_;
    return Error{store_codes::kFailed,
                 std::string("binding a parameter: ") + sqlite3_errstr(bind_rc_)};
  }
  column_ = 0;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  last_code_ = sqlite3_extended_errcode(db_);
  return sqlite_error(db_, "executing a statement");
}

bool Statement::key_conflict() const {
  return last_code_ == SQLITE_CONSTRAINT_PRIMARYKEY || last_code_ == SQLITE_CONSTRAINT_UNIQUE;
}

int64_t Statement::next_int() {
  return sqlite3_column_int64(stmt_, column_++);
}

std::optional<int64_t> Statement::next_opt_int() {
  if (sqlite3_column_type(stmt_, column_) == SQLITE_NULL) {
    ++column_;
    return std::nullopt;
  }
  return next_int();
}

std::string Statement::next_text() {
  int col = column_++;
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr || n <= 0) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
}

std::string Statement::next_blob() {
  int col = column_++;
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr || n <= 0) {
    return {};
  }
  return std::string(static_cast<const char*>(p), static_cast<size_t>(n));
}

void Statement::finish() noexcept {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_index_ = 1;
  column_ = 0;
  bind_rc_ = SQLITE_OK;
  last_code_ = SQLITE_OK;
}

Expected<std::unique_ptr<sql::Connection>> Connection::open(
    const std::filesystem::path& file, std::chrono::milliseconds busy_timeout) {
  // SQLite's memory statistics (on by default) take a process-wide mutex on every allocation,
  // which the pool's connections, each on its own thread, would contend for. Nothing reads them.
  // Only possible before SQLite initializes; if it already has, this fails and changes nothing.
  static const int kNoMemStatus = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  static_cast<void>(kNoMemStatus);
  sqlite3* db = nullptr;
  // NOMUTEX: the pool hands a connection to one thread at a time, so SQLite's own per-connection
  // mutex would only cost.
  int rc = sqlite3_open_v2(
      file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error e = db != nullptr ? sqlite_error(db, "opening " + file.string())
                            : Error{store_codes::kFailed,
                                    "opening " + file.string() + ": " + sqlite3_errstr(rc)};
    sqlite3_close(db);
    return e;
  }
  std::unique_ptr<Connection> conn(new Connection(db));
  sqlite3_extended_result_codes(db, 1);
  auto ms = busy_timeout.count();
  sqlite3_busy_timeout(db, ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms));

  // journal_mode answers with the mode now in force: a file that cannot do WAL (say, on a
  // network file system) would otherwise silently keep a rollback journal.
  {
    auto q = conn->query("PRAGMA journal_mode = WAL", false);
    if (!q) {
      return q.error().wrap("opening " + file.string());
    }
    auto row = q->step();
    if (!row) {
      return row.error().wrap("setting WAL journal mode on " + file.string());
    }
    std::string mode = *row ? q->next_text() : std::string();
    if (mode != "wal") {
      return Error{store_codes::kFailed,
                   "setting WAL journal mode on " + file.string() + ": got \"" + mode + "\""};
    }
  }
  for (const char* pragma : {"PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON"}) {
    if (auto s = conn->exec(pragma); !s) {
      return s.error().wrap("opening " + file.string());
    }
  }
  return std::unique_ptr<sql::Connection>(std::move(conn));
}

Connection::~Connection() {
  // Statements first: sqlite3_close refuses while any is unfinalized.
  cache_.clear();
  dynamic_cache_.clear();
  sqlite3_close(db_);
}

Status Connection::exec(const std::string& sql) {
  char* msg = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    Error e{store_codes::kFailed, msg != nullptr ? msg : sqlite3_errstr(rc)};
    sqlite3_free(msg);
    return e;
  }
  return {};
}

Expected<sql::Query> Connection::query(const std::string& sql, bool cache) {
  auto& statements = cache ? cache_ : dynamic_cache_;
  if (auto it = statements.find(sql); it != statements.end()) {
    return sql::Query(it->second.get(), false);
  }
  // A full dynamic cache is never evicted from: a statement in it may be in use by a live Query.
  const bool keep = cache || dynamic_cache_.size() < kMaxDynamicStatements;
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                              keep ? SQLITE_PREPARE_PERSISTENT : 0U, &raw, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(raw);
    return sqlite_error(db_, "preparing a statement");
  }
  auto stmt = std::make_unique<Statement>(db_, raw);
  if (!keep) {
    return sql::Query(stmt.release(), true);
  }
  Statement* kept = stmt.get();
  statements.emplace(sql, std::move(stmt));
  return sql::Query(kept, false);
}

int64_t Connection::changes() const {
  return sqlite3_changes64(db_);
}

const sql::Dialect& Connection::dialect() const {
  static const sql::Dialect kDialect{"BLOB", "SELECT value FROM json_each(?)"};
  return kDialect;
}

namespace {
const std::string kBeginRead = "BEGIN";
const std::string kBeginWrite = "BEGIN IMMEDIATE";
const std::string kCommit = "COMMIT";
const std::string kRollback = "ROLLBACK";
}  // namespace

// BEGIN, COMMIT and ROLLBACK go through cached statements, so that they are not parsed again on
// every call as exec() would.
Status Connection::begin(sql::TransactionKind kind) {
  return run(kind == sql::TransactionKind::kWrite ? kBeginWrite : kBeginRead);
}

Status Connection::commit() {
  return run(kCommit);
}

void Connection::rollback() noexcept {
  // A failed ROLLBACK leaves the connection inside the transaction; the pool then drops it.
  // (Preparing it the first time allocates, which must not throw out of a destructor.)
  try {
    (void)run(kRollback);
  } catch (...) {
    (void)sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

bool Connection::unusable() const {
  return sqlite3_get_autocommit(db_) == 0;
}

}  // namespace ferry::server::sqlite
