// The SQL store's construction and its migrations; the entity files define the rest.
#include <string>
#include <utility>

#include "sql_query.hpp"
#include "sql_schema.hpp"
#include "sql_store_impl.hpp"

namespace ferry::server::sql {

SqlStore::SqlStore(std::string name, Pool::Open open, std::size_t max_connections,
                   const Clock& clock, StoreObserver* observer)
    : name_(std::move(name)),
      clock_(clock),
      pool_(std::move(open), max_connections),
      observer_(observer) {}

Status SqlStore::migrate() {
  auto lease = pool_.acquire();
  if (!lease) {
    return lease.error().wrap("opening " + name_);
  }
  Connection& conn = **lease;
  if (auto s = conn.lock_schema(); !s) {
    return s.error().wrap("locking the schema of " + name_);
  }
  struct Unlock {
    Connection& conn;
    ~Unlock() { conn.unlock_schema(); }
  } unlock{conn};
  auto s = in_transaction(
      conn, Transaction::Kind::kWrite, "creating schema_migrations", [&](Connection& c) -> Status {
        return c.exec(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)");
      });
  if (!s) {
    return s.error().wrap(name_);
  }
  const int64_t latest = schema_version();
  for (const auto& m : migrations(conn.dialect())) {
    // Each step re-reads the version inside its write transaction: another process opening
    // the same database at the same moment applies each step once between the two of them.
    s = in_transaction(conn, Transaction::Kind::kWrite, "migrating", [&](Connection& c) -> Status {
      auto current = read_int(c.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
      if (!current) {
        return current.error();
      }
      if (*current > latest) {
        return Error{store_codes::kFailed, "the database has schema version " +
                                               std::to_string(*current) +
                                               ", newer than this ferry-server knows (" +
                                               std::to_string(latest) + "): upgrade ferry-server"};
      }
      if (*current >= m.version) {
        return {};
      }
      for (const auto& sql : m.statements) {
        if (auto e = c.exec(sql); !e) {
          return e.error().wrap("schema version " + std::to_string(m.version));
        }
      }
      return c.run("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", m.version,
                   clock_.now_ms());
    });
    if (!s) {
      return s.error().wrap(name_);
    }
  }
  return {};
}

}  // namespace ferry::server::sql
