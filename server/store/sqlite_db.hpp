// A thin RAII layer over the sqlite3 C API for the SQLite store: one connection, its cached
// prepared statements, a bound query, a transaction. Private to server/store/.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <variant>

#include "ferry/core/error.hpp"

namespace ferry::server::sqlite {

// A dynamically built filter binds a list of these in order.
using Value = std::variant<int64_t, std::string>;

// Bound as a BLOB (raw bytes) where a string would be bound as TEXT.
struct Blob {
  std::string_view bytes;
};

class Connection;

// One execution of a prepared statement. Binds are positional in call order. The destructor
// resets a cached statement (so that it holds no read snapshot open) or finalizes an uncached one.
class Query {
 public:
  Query(Connection& conn, sqlite3_stmt* stmt, bool owned) noexcept
      : conn_(&conn), stmt_(stmt), owned_(owned) {}
  ~Query();
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  Query(Query&& other) noexcept;
  Query& operator=(Query&&) = delete;

  Query& bind_int(int64_t v);
  Query& bind_bool(bool v) { return bind_int(v ? 1 : 0); }
  Query& bind_text(std::string_view v);
  Query& bind_blob(std::string_view v);
  Query& bind_null();
  Query& bind_opt_int(const std::optional<int64_t>& v) { return v ? bind_int(*v) : bind_null(); }
  Query& bind_value(const Value& v);
  // Binds each argument by its type: integers, bool, optional<int64_t> (NULL when empty), Blob,
  // Value; anything else as TEXT (a std::string, a string_view, a literal).
  template <typename... Args>
  Query& bind(const Args&... args) {
    (bind_arg(args), ...);
    return *this;
  }

  // true: a row is available; false: done. A bind error surfaces here.
  Expected<bool> step();
  // Steps a statement that returns no rows.
  Status run();
  // The SQLite (extended) result code of the last failed step, SQLITE_OK otherwise.
  [[nodiscard]] int last_code() const { return last_code_; }

  // Columns of the current row, read left to right.
  int64_t next_int();
  bool next_bool() { return next_int() != 0; }
  std::optional<int64_t> next_opt_int();
  std::string next_text();
  std::string next_blob();

 private:
  Query& bound(int rc);
  template <typename T>
  void bind_arg(const T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      bind_bool(v);
    } else if constexpr (std::is_same_v<T, int64_t>) {
      bind_int(v);
    } else if constexpr (std::is_integral_v<T>) {
      bind_int(static_cast<int64_t>(v));
    } else if constexpr (std::is_same_v<T, std::optional<int64_t>>) {
      bind_opt_int(v);
    } else if constexpr (std::is_same_v<T, Blob>) {
      bind_blob(v.bytes);
    } else if constexpr (std::is_same_v<T, Value>) {
      bind_value(v);
    } else {
      bind_text(std::string_view(v));
    }
  }

  Connection* conn_;
  sqlite3_stmt* stmt_;
  bool owned_;
  int bind_index_ = 1;
  int column_ = 0;
  int bind_rc_ = SQLITE_OK;
  int last_code_ = SQLITE_OK;
};

class Connection {
 public:
  // Opens (creating if needed) `file` with the settings every store connection needs: WAL,
  // synchronous=FULL, foreign keys, a busy timeout.
  static Expected<std::unique_ptr<Connection>> open(const std::filesystem::path& file,
                                                    std::chrono::milliseconds busy_timeout);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs SQL without parameters or results (schema, pragmas, transaction control).
  Status exec(const char* sql);
  // A query over `sql`. Statements are prepared once per connection and reused. `cache=false`
  // is for SQL built per call (filters with a varying number of placeholders): those go to a
  // second cache of at most kMaxDynamicStatements, beyond which they are prepared per call and
  // finalized after it, so that odd shapes cannot grow memory.
  Expected<Query> query(const std::string& sql, bool cache = true);
  // query(sql) with `args` bound in order (Query::bind).
  template <typename... Args>
  Expected<Query> prepare(const std::string& sql, const Args&... args) {
    auto q = query(sql);
    if (q) {
      q->bind(args...);
    }
    return q;
  }
  // Runs a cached statement that returns no rows, `args` bound in order. BEGIN, COMMIT and
  // ROLLBACK go through here too, so that they are not parsed again on every call as exec()
  // would.
  template <typename... Args>
  Status run(const std::string& sql, const Args&... args) {
    auto q = prepare(sql, args...);
    if (!q) {
      return q.error();
    }
    return q->run();
  }
  static constexpr std::size_t kMaxDynamicStatements = 64;
  [[nodiscard]] int64_t changes() const;
  // The connection's current error as an InternalError: "what: <sqlite message>".
  [[nodiscard]] Error error(std::string_view what) const;
  [[nodiscard]] bool in_transaction() const;

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  friend class Query;

  struct Finalize {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  sqlite3* db_;
  std::unordered_map<std::string, std::unique_ptr<sqlite3_stmt, Finalize>> cache_;
  std::unordered_map<std::string, std::unique_ptr<sqlite3_stmt, Finalize>> dynamic_cache_;
};

// An explicit transaction, rolled back unless committed. Writes use BEGIN IMMEDIATE so that the
// write lock is taken up front: a deferred transaction that later upgrades can fail with
// SQLITE_BUSY without waiting, and a read-modify-write could interleave with another process.
class Transaction {
 public:
  enum class Kind { kRead, kWrite };
  static Expected<Transaction> begin(Connection& conn, Kind kind);
  ~Transaction();
  Transaction(Transaction&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Transaction& operator=(Transaction&&) = delete;
  Status commit();

 private:
  explicit Transaction(Connection& conn) : conn_(&conn) {}
  Connection* conn_;
};

}  // namespace ferry::server::sqlite
