// The engine-neutral database layer under the SQL store: a connection, a bound query and a
// transaction, which SQLite (sqlite_db.hpp) and PostgreSQL (postgres_db.hpp) implement. Every
// entity file (sql_*.cpp) speaks only to these, with `?` placeholders bound in call order, so
// that both engines run the same SQL; the few pieces of SQL that differ come from the Dialect.
// Private to server/store/.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "ferry/core/error.hpp"

namespace ferry::server::sql {

// A dynamically built filter binds a list of these in order.
using Value = std::variant<int64_t, std::string>;

// Bound as raw bytes (BLOB, BYTEA) where a string would be bound as TEXT.
struct Blob {
  std::string_view bytes;
};

// The SQL that is not the same on every engine.
struct Dialect {
  // The column type of raw bytes.
  std::string_view blob_type;
  // A subquery of one column, `value`, giving the strings of a JSON array bound as one TEXT
  // parameter (a list of any length in one cached statement).
  std::string_view json_text_values;
};

// An engine's prepared statement, used through a Query. Binds are positional in call order; a
// bind error is kept and surfaces at step().
class Statement {
 public:
  virtual ~Statement() = default;
  virtual void bind_int(int64_t v) = 0;
  virtual void bind_text(std::string_view v) = 0;
  virtual void bind_blob(std::string_view v) = 0;
  virtual void bind_null() = 0;
  // true: a row is available; false: done.
  virtual Expected<bool> step() = 0;
  // Whether the last failed step broke a PRIMARY KEY or UNIQUE constraint.
  [[nodiscard]] virtual bool key_conflict() const = 0;
  // Columns of the current row, read left to right.
  virtual int64_t next_int() = 0;
  virtual std::optional<int64_t> next_opt_int() = 0;
  virtual std::string next_text() = 0;
  virtual std::string next_blob() = 0;
  // The Query over a statement the connection keeps is done: ready it for the next one (no read
  // snapshot held, no values bound).
  virtual void finish() noexcept = 0;
};

// One execution of a statement. The destructor hands a cached statement back to its connection
// (Statement::finish) or deletes one made for this query alone.
class Query {
 public:
  Query(Statement* stmt, bool owned) noexcept : stmt_(stmt), owned_(owned) {}
  ~Query();
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  Query(Query&& other) noexcept : stmt_(other.stmt_), owned_(other.owned_) {
    other.stmt_ = nullptr;
  }
  Query& operator=(Query&&) = delete;

  Query& bind_int(int64_t v) {
    stmt_->bind_int(v);
    return *this;
  }
  Query& bind_bool(bool v) { return bind_int(v ? 1 : 0); }
  Query& bind_text(std::string_view v) {
    stmt_->bind_text(v);
    return *this;
  }
  Query& bind_blob(std::string_view v) {
    stmt_->bind_blob(v);
    return *this;
  }
  Query& bind_null() {
    stmt_->bind_null();
    return *this;
  }
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
  Expected<bool> step() { return stmt_->step(); }
  // Steps a statement that returns no rows.
  Status run();
  // Whether the last failed step broke a PRIMARY KEY or UNIQUE constraint.
  [[nodiscard]] bool key_conflict() const { return stmt_->key_conflict(); }

  // Columns of the current row, read left to right.
  int64_t next_int() { return stmt_->next_int(); }
  bool next_bool() { return next_int() != 0; }
  std::optional<int64_t> next_opt_int() { return stmt_->next_opt_int(); }
  std::string next_text() { return stmt_->next_text(); }
  std::string next_blob() { return stmt_->next_blob(); }

 private:
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

  Statement* stmt_;
  bool owned_;
};

enum class TransactionKind {
  // A consistent snapshot, no write lock.
  kRead,
  // Serialised with every other write transaction on the database, from its first statement.
  kWrite,
};

class Connection {
 public:
  virtual ~Connection() = default;

  // Runs SQL without parameters or results (schema, transaction control).
  virtual Status exec(const std::string& sql) = 0;
  // A query over `sql`. `cache=false` is for SQL built per call (filters with a varying number
  // of placeholders): an engine that keeps prepared statements bounds how many of those it keeps.
  virtual Expected<Query> query(const std::string& sql, bool cache = true) = 0;
  // query(sql) with `args` bound in order (Query::bind).
  template <typename... Args>
  Expected<Query> prepare(const std::string& sql, const Args&... args) {
    auto q = query(sql);
    if (q) {
      q->bind(args...);
    }
    return q;
  }
  // Runs a statement that returns no rows, `args` bound in order.
  template <typename... Args>
  Status run(const std::string& sql, const Args&... args) {
    auto q = prepare(sql, args...);
    if (!q) {
      return q.error();
    }
    return q->run();
  }
  // Rows changed by the last INSERT, UPDATE or DELETE.
  [[nodiscard]] virtual int64_t changes() const = 0;
  [[nodiscard]] virtual const Dialect& dialect() const = 0;

  virtual Status begin(TransactionKind kind) = 0;
  virtual Status commit() = 0;
  // Must not throw: it runs in a destructor. A failure leaves the connection unusable().
  virtual void rollback() noexcept = 0;
  // Whether the pool must close the connection instead of handing it to the next caller (asked
  // when it comes back and again before it goes out): it is still inside a transaction (its
  // ROLLBACK failed, so it could hold locks) or it is broken. Must not block.
  [[nodiscard]] virtual bool unusable() const = 0;

  // Held while migrations run, so that servers starting together on one database apply each
  // once. An engine whose write transactions already do that (SQLite) does nothing.
  virtual Status lock_schema() { return {}; }
  virtual void unlock_schema() noexcept {}
};

// An explicit transaction, rolled back unless committed.
class Transaction {
 public:
  using Kind = TransactionKind;
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

}  // namespace ferry::server::sql
