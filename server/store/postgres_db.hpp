// The PostgreSQL engine of the SQL store: sql::Connection over libpq. Statements are sent with
// the extended protocol (PQexecParams: values never spliced into SQL), the store's `?`
// placeholders renumbered to `$n`, each value typed by how it was bound (BIGINT, TEXT, BYTEA;
// NULL untyped, so that its column decides). Results come back as text. Private to
// server/store/.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ferry/core/error.hpp"
#include "sql_db.hpp"

namespace ferry::server::postgres {

// The advisory lock keys of the store ("ferry" in ASCII, then a number): the schema lock is
// held while migrations run; every write transaction takes the write lock.
inline constexpr int64_t kSchemaLockKey = 0x6665727279'0001;
inline constexpr int64_t kWriteLockKey = 0x6665727279'0002;

class Connection;

class Statement final : public sql::Statement {
 public:
  Statement(Connection& conn, std::string sql) : conn_(conn), sql_(std::move(sql)) {}
  ~Statement() override;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void bind_int(int64_t v) override;
  void bind_text(std::string_view v) override;
  void bind_blob(std::string_view v) override;
  void bind_null() override;
  // The first step sends the statement and reads its whole result; later steps walk its rows.
  Expected<bool> step() override;
  [[nodiscard]] bool key_conflict() const override { return key_conflict_; }
  int64_t next_int() override;
  std::optional<int64_t> next_opt_int() override;
  std::string next_text() override;
  std::string next_blob() override;
  void finish() noexcept override {}

 private:
  void add(std::optional<std::string> value, unsigned type, int format);

  Connection& conn_;
  std::string sql_;
  std::vector<std::optional<std::string>> values_;
  std::vector<unsigned> types_;
  std::vector<int> formats_;
  std::string bind_error_;
  PGresult* result_ = nullptr;
  int row_ = -1;
  int column_ = 0;
  bool key_conflict_ = false;
};

struct ConnectOptions {
  std::string url;
  // Empty: none given here (libpq may still find one in PGPASSWORD or ~/.pgpass).
  std::string password;
  std::chrono::seconds connect_timeout{5};
};

// A new libpq session (keepalives, a TCP user timeout, UTF-8), or Store.Failed "the database is
// unavailable: ..."; the caller owns it (PQfinish). Connection::open wraps one; the peer
// notifier's sessions are bare ones.
Expected<PGconn*> open_session(const ConnectOptions& options);
// A libpq message (PQerrorMessage's, which runs over lines) on one line, for a log.
std::string one_line(const char* message);

class Connection final : public sql::Connection {
 public:
  static Expected<std::unique_ptr<sql::Connection>> open(const ConnectOptions& options);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Status exec(const std::string& sql) override;
  // Every query is sent on its own (PQexecParams), so `cache` changes nothing.
  Expected<sql::Query> query(const std::string& sql, bool cache = true) override;
  [[nodiscard]] int64_t changes() const override { return changes_; }
  [[nodiscard]] const sql::Dialect& dialect() const override;
  // kRead: REPEATABLE READ READ ONLY, one snapshot for every statement. kWrite: READ COMMITTED
  // after taking the transaction-scoped advisory write lock, so that writes run one at a time
  // across every server on the database as SQLite's BEGIN IMMEDIATE makes them run.
  Status begin(sql::TransactionKind kind) override;
  // Refuses to report success for a transaction PostgreSQL has already aborted.
  Status commit() override;
  void rollback() noexcept override;
  // Inside a transaction, or broken: failed, or closed by the server while idle (a restart
  // closes every session; this notices it without a round trip).
  [[nodiscard]] bool unusable() const override;
  Status lock_schema() override;
  void unlock_schema() noexcept override;

 private:
  friend class Statement;
  explicit Connection(PGconn* conn) : conn_(conn) {}
  // The error of a failed result (or of the connection when `result` is nullptr).
  [[nodiscard]] Error error(std::string_view what, const PGresult* result) const;

  PGconn* conn_;
  int64_t changes_ = 0;
};

// `sql` with each `?` outside a string literal replaced by $1, $2, ... in order.
std::string numbered_placeholders(std::string_view sql);

}  // namespace ferry::server::postgres
