#include "postgres_db.hpp"

#include <poll.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

#include "ferry/server/store/store_errors.hpp"

namespace ferry::server::postgres {

namespace {

// Type OIDs of pg_type.h (a server header), fixed since PostgreSQL 7.
constexpr unsigned kInt8Oid = 20;
constexpr unsigned kTextOid = 25;
constexpr unsigned kByteaOid = 17;

// SQLSTATE unique_violation: a PRIMARY KEY or UNIQUE constraint.
constexpr std::string_view kUniqueViolation = "23505";

// libpq's messages run over lines (the last one ending too): one line, for a log.
std::string trimmed(const char* message) {
  std::string s;
  for (const char* p = message != nullptr ? message : ""; *p != '\0'; ++p) {
    if (*p == '\n' || *p == '\t') {
      if (!s.empty() && s.back() != ' ') {
        s += ' ';
      }
    } else {
      s += *p;
    }
  }
  while (!s.empty() && s.back() == ' ') {
    s.pop_back();
  }
  return s;
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

bool succeeded(const PGresult* r) {
  const auto status = PQresultStatus(r);
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace

std::string numbered_placeholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  bool in_literal = false;
  for (const char c : sql) {
    // A '' inside a literal closes and reopens it, which this toggling handles too.
    if (c == '\'') {
      in_literal = !in_literal;
    }
    if (c == '?' && !in_literal) {
      out += '$';
      out += std::to_string(++n);
    } else {
      out += c;
    }
  }
  return out;
}

Statement::~Statement() {
  PQclear(result_);
}

void Statement::add(std::optional<std::string> value, unsigned type, int format) {
  values_.push_back(std::move(value));
  types_.push_back(type);
  formats_.push_back(format);
}

void Statement::bind_int(int64_t v) {
  add(std::to_string(v), kInt8Oid, 0);
}

void Statement::bind_text(std::string_view v) {
  // Text values travel as C strings, and PostgreSQL's text cannot hold a NUL anyway.
  if (v.find('\0') != std::string_view::npos && bind_error_.empty()) {
    bind_error_ = "a text value holds a NUL byte, which PostgreSQL cannot store";
  }
  add(std::string(v), kTextOid, 0);
}

void Statement::bind_blob(std::string_view v) {
  add(std::string(v), kByteaOid, 1);
}

void Statement::bind_null() {
  add(std::nullopt, 0, 0);
}

Expected<bool> Statement::step() {
  if (result_ == nullptr) {
    if (!bind_error_.empty()) {
      return Error{store_codes::kFailed, "binding a parameter: " + bind_error_};
    }
    std::vector<const char*> values(values_.size());
    std::vector<int> lengths(values_.size());
    for (std::size_t i = 0; i < values_.size(); ++i) {
      values[i] = values_[i] ? values_[i]->c_str() : nullptr;
      lengths[i] = values_[i] ? static_cast<int>(values_[i]->size()) : 0;
    }
    result_ = PQexecParams(conn_.conn_, sql_.c_str(), static_cast<int>(values_.size()),
                           types_.data(), values.data(), lengths.data(), formats_.data(), 0);
    if (result_ == nullptr || !succeeded(result_)) {
      const char* state =
          result_ != nullptr ? PQresultErrorField(result_, PG_DIAG_SQLSTATE) : nullptr;
      key_conflict_ = state != nullptr && state == kUniqueViolation;
      Error e = conn_.error("executing a statement", result_);
      PQclear(result_);
      result_ = nullptr;
      return e;
    }
    const char* tuples = PQcmdTuples(result_);
    int64_t changed = 0;
    std::from_chars(tuples, tuples + std::strlen(tuples), changed);
    conn_.changes_ = changed;
  }
  column_ = 0;
  return ++row_ < PQntuples(result_);
}

int64_t Statement::next_int() {
  const int col = column_++;
  if (PQgetisnull(result_, row_, col) != 0) {
    return 0;
  }
  const char* v = PQgetvalue(result_, row_, col);
  // Comparisons and IS NULL come back as booleans.
  if (v[0] == 't') {
    return 1;
  }
  if (v[0] == 'f') {
    return 0;
  }
  int64_t out = 0;
  std::from_chars(v, v + PQgetlength(result_, row_, col), out);
  return out;
}

std::optional<int64_t> Statement::next_opt_int() {
  if (PQgetisnull(result_, row_, column_) != 0) {
    ++column_;
    return std::nullopt;
  }
  return next_int();
}

std::string Statement::next_text() {
  const int col = column_++;
  return std::string(PQgetvalue(result_, row_, col),
                     static_cast<std::size_t>(PQgetlength(result_, row_, col)));
}

std::string Statement::next_blob() {
  // BYTEA in text form is hex: \x followed by two digits a byte.
  const int col = column_++;
  const std::string_view v(PQgetvalue(result_, row_, col),
                           static_cast<std::size_t>(PQgetlength(result_, row_, col)));
  std::string out;
  if (v.size() < 2 || v[0] != '\\' || v[1] != 'x') {
    return out;
  }
  out.reserve((v.size() - 2) / 2);
  for (std::size_t i = 2; i + 1 < v.size(); i += 2) {
    const int hi = hex_digit(v[i]);
    const int lo = hex_digit(v[i + 1]);
    if (hi < 0 || lo < 0) {
      break;
    }
    out += static_cast<char>((hi << 4) | lo);
  }
  return out;
}

Expected<PGconn*> open_session(const ConnectOptions& options) {
  const std::string timeout = std::to_string(options.connect_timeout.count());
  // Keepalives and a TCP user timeout so that a database that vanished without closing its
  // sockets (a network partition, a dead host) fails calls in about half a minute instead of
  // the kernel's default of many minutes. They are defaults: the URL comes after them, and
  // libpq lets a later parameter override an earlier one, so `?keepalives_idle=...` in it wins.
  // The encoding comes after the URL: the store reads and writes UTF-8 only.
  std::vector<const char*> keys = {
      "connect_timeout",     "application_name", "keepalives",       "keepalives_idle",
      "keepalives_interval", "keepalives_count", "tcp_user_timeout", "dbname",
      "client_encoding"};
  std::vector<const char*> values = {timeout.c_str(), "ferry-server",      "1",   "10", "5", "3",
                                     "30000",         options.url.c_str(), "UTF8"};
  if (!options.password.empty()) {
    keys.push_back("password");
    values.push_back(options.password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), 1);
  if (conn == nullptr) {
    return Error{store_codes::kFailed, "connecting to the database: out of memory"};
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    Error e{store_codes::kFailed,
            "the database is unavailable: connecting: " + trimmed(PQerrorMessage(conn))};
    PQfinish(conn);
    return e;
  }
  // Notices (say, "relation already exists, skipping") would go to stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return conn;
}

std::string one_line(const char* message) {
  return trimmed(message);
}

Expected<std::unique_ptr<sql::Connection>> Connection::open(const ConnectOptions& options) {
  auto conn = open_session(options);
  if (!conn) {
    return conn.error();
  }
  return std::unique_ptr<sql::Connection>(new Connection(*conn));
}

Connection::~Connection() {
  PQfinish(conn_);
}

Error Connection::error(std::string_view what, const PGresult* result) const {
  // A lost connection says so first: the caller may try again once the database is back.
  if (PQstatus(conn_) != CONNECTION_OK) {
    return Error{store_codes::kFailed, "the database is unavailable: " + std::string(what) + ": " +
                                           trimmed(PQerrorMessage(conn_))};
  }
  // The primary message only: the detail of a constraint error quotes the row's values.
  const char* primary =
      result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = primary != nullptr ? trimmed(primary) : trimmed(PQerrorMessage(conn_));
  if (state != nullptr) {
    message += std::string(" (SQLSTATE ") + state + ")";
  }
  return Error{store_codes::kFailed, std::string(what) + ": " + message};
}

Status Connection::exec(const std::string& sql) {
  Result r(PQexec(conn_, sql.c_str()));
  if (!r || !succeeded(r.get())) {
    return error("executing a statement", r.get());
  }
  return {};
}

Expected<sql::Query> Connection::query(const std::string& sql, bool /*cache*/) {
  return sql::Query(new Statement(*this, numbered_placeholders(sql)), true);
}

const sql::Dialect& Connection::dialect() const {
  static const sql::Dialect kDialect{"BYTEA",
                                     "SELECT value FROM json_array_elements_text(CAST(? AS json))"};
  return kDialect;
}

Status Connection::begin(sql::TransactionKind kind) {
  if (kind == sql::TransactionKind::kRead) {
    return exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  }
  static const std::string kBeginWrite =
      "BEGIN; SELECT pg_advisory_xact_lock(" + std::to_string(kWriteLockKey) + ")";
  auto s = exec(kBeginWrite);
  if (!s) {
    rollback();
  }
  return s;
}

Status Connection::commit() {
  if (PQtransactionStatus(conn_) == PQTRANS_INERROR) {
    rollback();
    return Error{store_codes::kFailed, "a statement of the transaction failed; rolled back"};
  }
  Result r(PQexec(conn_, "COMMIT"));
  if (!r || !succeeded(r.get())) {
    return error("committing", r.get());
  }
  // COMMIT of a transaction the server aborted answers ROLLBACK.
  if (std::strcmp(PQcmdStatus(r.get()), "COMMIT") != 0) {
    return Error{store_codes::kFailed, "the database rolled the transaction back"};
  }
  return {};
}

void Connection::rollback() noexcept {
  if (PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) != PQTRANS_IDLE) {
    PQclear(PQexec(conn_, "ROLLBACK"));
  }
}

bool Connection::unusable() const {
  if (PQstatus(conn_) != CONNECTION_OK || PQtransactionStatus(conn_) != PQTRANS_IDLE) {
    return true;
  }
  // An idle session has nothing to read unless the server is closing it (a restart sends a
  // FATAL message, then closes) or, rarely, sent a notice or a parameter change. Dropping it in
  // every case costs one reconnection at worst, and never hands out a session that is gone.
  pollfd p{PQsocket(conn_), POLLIN, 0};
  return ::poll(&p, 1, 0) != 0;
}

Status Connection::lock_schema() {
  return exec("SELECT pg_advisory_lock(" + std::to_string(kSchemaLockKey) + ")");
}

void Connection::unlock_schema() noexcept {
  try {
    (void)exec("SELECT pg_advisory_unlock(" + std::to_string(kSchemaLockKey) + ")");
  } catch (...) {
    // Closing the session releases it too; the pool closes a connection that misbehaves.
  }
}

}  // namespace ferry::server::postgres
