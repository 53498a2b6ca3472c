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

Query::Query(Query&& other) noexcept
    : conn_(other.conn_),
      stmt_(other.stmt_),
      owned_(other.owned_),
      bind_index_(other.bind_index_),
      column_(other.column_),
      bind_rc_(other.bind_rc_),
      last_code_(other.last_code_) {
  other.stmt_ = nullptr;
}

Query::~Query() {
  if (stmt_ == nullptr) {
    return;
  }
  if (owned_) {
    sqlite3_finalize(stmt_);
  } else {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Query& Query::bind_int(int64_t v) {
  return bound(sqlite3_bind_int64(stmt_, bind_index_++, v));
}

Query& Query::bind_text(std::string_view v) {
  return bound(
      sqlite3_bind_text64(stmt_, bind_index_++, v.data(), v.size(), transient(), SQLITE_UTF8));
}

Query& Query::bind_blob(std::string_view v) {
  // A zero-length blob with a null pointer would bind NULL, which NOT NULL refuses.
  static const char kEmpty = 0;
  const char* p = v.empty() ? &kEmpty : v.data();
  return bound(sqlite3_bind_blob64(stmt_, bind_index_++, p, v.size(), transient()));
}

Query& Query::bind_null() {
  return bound(sqlite3_bind_null(stmt_, bind_index_++));
}

Query& Query::bound(int rc) {
  // The first failure is kept and reported by step().
  if (bind_rc_ == SQLITE_OK) {
    bind_rc_ = rc;
  }
  return *this;
}

Query& Query::bind_value(const Value& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) {
    return bind_int(*i);
  }
  return bind_text(std::get<std::string>(v));
}

Expected<bool> Query::step() {
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
  last_code_ = sqlite3_extended_errcode(conn_->db_);
  return sqlite_error(conn_->db_, "executing a statement");
}

Status Query::run() {
  auto r = step();
  if (!r) {
    return r.error();
  }
  return {};
}

int64_t Query::next_int() {
  return sqlite3_column_int64(stmt_, column_++);
}

std::optional<int64_t> Query::next_opt_int() {
  if (sqlite3_column_type(stmt_, column_) == SQLITE_NULL) {
    ++column_;
    return std::nullopt;
  }
  return next_int();
}

std::string Query::next_text() {
  int col = column_++;
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr || n <= 0) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
}

std::string Query::next_blob() {
  int col = column_++;
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr || n <= 0) {
    return {};
  }
  return std::string(static_cast<const char*>(p), static_cast<size_t>(n));
}

Expected<std::unique_ptr<Connection>> Connection::open(const std::filesystem::path& file,
                                                       std::chrono::milliseconds busy_timeout) {
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
  return conn;
}

Connection::~Connection() {
  // Statements first: sqlite3_close refuses while any is unfinalized.
  cache_.clear();
  dynamic_cache_.clear();
  sqlite3_close(db_);
}

Status Connection::exec(const char* sql) {
  char* msg = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    Error e{store_codes::kFailed, msg != nullptr ? msg : sqlite3_errstr(rc)};
    sqlite3_free(msg);
    return e;
  }
  return {};
}

Expected<Query> Connection::query(const std::string& sql, bool cache) {
  auto& statements = cache ? cache_ : dynamic_cache_;
  if (auto it = statements.find(sql); it != statements.end()) {
    return Query(*this, it->second.get(), false);
  }
  // A full dynamic cache is never evicted from: a statement in it may be in use by a live Query.
  const bool keep = cache || dynamic_cache_.size() < kMaxDynamicStatements;
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                              keep ? SQLITE_PREPARE_PERSISTENT : 0U, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return sqlite_error(db_, "preparing a statement");
  }
  if (keep) {
    statements.emplace(sql, stmt);
  }
  return Query(*this, stmt, !keep);
}

int64_t Connection::changes() const {
  return sqlite3_changes64(db_);
}

Error Connection::error(std::string_view what) const {
  return sqlite_error(db_, what);
}

bool Connection::in_transaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

namespace {
const std::string kBeginRead = "BEGIN";
const std::string kBeginWrite = "BEGIN IMMEDIATE";
const std::string kCommit = "COMMIT";
const std::string kRollback = "ROLLBACK";
}  // namespace

Expected<Transaction> Transaction::begin(Connection& conn, Kind kind) {
  if (auto s = conn.run(kind == Kind::kWrite ? kBeginWrite : kBeginRead); !s) {
    return s.error().wrap("beginning a transaction");
  }
  return Transaction(conn);
}

Transaction::~Transaction() {
  if (conn_ != nullptr) {
    // A failed ROLLBACK leaves the connection inside the transaction; the pool then drops it.
    // (Preparing it the first time allocates, which must not throw out of a destructor.)
    try {
      (void)conn_->run(kRollback);
    } catch (...) {
      (void)conn_->exec("ROLLBACK");
    }
  }
}

Status Transaction::commit() {
  Connection* conn = conn_;
  if (auto s = conn->run(kCommit); !s) {
    return s.error().wrap("committing");
  }
  conn_ = nullptr;
  return {};
}

}  // namespace ferry::server::sqlite
