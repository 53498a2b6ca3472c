#include "sql_db.hpp"

#include <utility>

namespace ferry::server::sql {

Query::~Query() {
  if (stmt_ == nullptr) {
    return;
  }
  if (owned_) {
    delete stmt_;
  } else {
    stmt_->finish();
  }
}

Query& Query::bind_value(const Value& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) {
    return bind_int(*i);
  }
  return bind_text(std::get<std::string>(v));
}

Status Query::run() {
  auto r = step();
  if (!r) {
    return r.error();
  }
  return {};
}

Expected<Transaction> Transaction::begin(Connection& conn, Kind kind) {
  if (auto s = conn.begin(kind); !s) {
    return s.error().wrap("beginning a transaction");
  }
  return Transaction(conn);
}

Transaction::~Transaction() {
  if (conn_ != nullptr) {
    conn_->rollback();
  }
}

Status Transaction::commit() {
  Connection* conn = conn_;
  if (auto s = conn->commit(); !s) {
    return s.error().wrap("committing");
  }
  conn_ = nullptr;
  return {};
}

}  // namespace ferry::server::sql
