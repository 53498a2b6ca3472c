// The SQLite engine of the SQL store: sql::Connection over the sqlite3 C API, with its cached
// prepared statements. Private to server/store/.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ferry/core/error.hpp"
#include "sql_db.hpp"

namespace ferry::server::sqlite {

class Statement final : public sql::Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) noexcept : db_(db), stmt_(stmt) {}
  ~Statement() override { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void bind_int(int64_t v) override;
  void bind_text(std::string_view v) override;
  void bind_blob(std::string_view v) override;
  void bind_null() override;
  Expected<bool> step() override;
  [[nodiscard]] bool key_conflict() const override;
  int64_t next_int() override;
  std::optional<int64_t> next_opt_int() override;
  std::string next_text() override;
  std::string next_blob() override;
  // Resets the statement, so that it holds no read snapshot open, and clears its bindings.
  void finish() noexcept override;

 private:
  void bound(int rc);

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int bind_index_ = 1;
  int column_ = 0;
  int bind_rc_ = SQLITE_OK;
  // The SQLite (extended) result code of the last failed step, SQLITE_OK otherwise.
  int last_code_ = SQLITE_OK;
};

class Connection final : public sql::Connection {
 public:
  // Opens (creating if needed) `file` with the settings every store connection needs: WAL,
  // synchronous=FULL, foreign keys, a busy timeout.
  static Expected<std::unique_ptr<sql::Connection>> open(const std::filesystem::path& file,
                                                         std::chrono::milliseconds busy_timeout);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Status exec(const std::string& sql) override;
  // Statements are prepared once per connection and reused. Uncached SQL goes to a second cache
  // of at most kMaxDynamicStatements, beyond which it is prepared per call and finalized after
  // it, so that odd shapes cannot grow memory.
  Expected<sql::Query> query(const std::string& sql, bool cache = true) override;
  static constexpr std::size_t kMaxDynamicStatements = 64;
  [[nodiscard]] int64_t changes() const override;
  [[nodiscard]] const sql::Dialect& dialect() const override;
  // Writes use BEGIN IMMEDIATE so that the write lock is taken up front: a deferred transaction
  // that later upgrades can fail with SQLITE_BUSY without waiting, and a read-modify-write could
  // interleave with another process. Reads use a deferred BEGIN: a WAL snapshot.
  Status begin(sql::TransactionKind kind) override;
  Status commit() override;
  void rollback() noexcept override;
  [[nodiscard]] bool unusable() const override;

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> dynamic_cache_;
};

}  // namespace ferry::server::sqlite
