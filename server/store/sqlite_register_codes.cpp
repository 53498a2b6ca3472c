// The SQLite store's register codes.
#include "sqlite_query.hpp"
#include "sqlite_rows.hpp"
#include "sqlite_store_impl.hpp"

namespace ferry::server::sqlite {

namespace sc = store_codes;

namespace {

Status require_codes(Connection& conn, const std::vector<std::string>& ids) {
  return require_all(conn, "register_codes", "register_code_id", ids, sc::kRegisterCodeNotFound,
                     "register code");
}

}  // namespace

Status SqliteStore::insert_register_code(const RegisterCode& c) {
  static const std::string kInsert =
      insert_sql("register_codes", column_names(kRegisterCodeColumns));
  return write("inserting a register code", [&](Connection& conn) {
    return insert_row(conn, kInsert, c, kRegisterCodeColumns, "register code");
  });
}

Expected<Page<RegisterCode>> SqliteStore::list_register_codes(const std::vector<std::string>& ids,
                                                              int64_t offset, int64_t limit) {
  static const std::string kColumns = column_names(kRegisterCodeColumns);
  return read_txn("listing register codes", [&](Connection& conn) {
    return read_page(conn, Listing{"register_codes", kColumns, "register_code_id"},
                     Filter{{"register_code_id", ids}}, PageRange{offset, limit},
                     [](Query& q) { return read_row<RegisterCode>(q, kRegisterCodeColumns); });
  });
}

Status SqliteStore::set_register_codes_enabled(const std::vector<std::string>& ids, bool enabled,
                                               int64_t now_ms) {
  return write("updating register codes", [&](Connection& conn) -> Status {
    if (auto s = require_codes(conn, ids); !s) {
      return s;
    }
    for (const auto& id : ids) {
      if (auto s = conn.run(
              "UPDATE register_codes SET enabled = ?, updated_ms = ? WHERE register_code_id = ?",
              enabled, now_ms, id);
          !s) {
        return s;
      }
    }
    return {};
  });
}

Status SqliteStore::delete_register_codes(const std::vector<std::string>& ids) {
  return write("deleting register codes", [&](Connection& conn) -> Status {
    if (auto s = require_codes(conn, ids); !s) {
      return s;
    }
    return delete_all(conn, "register_codes", "register_code_id", ids);
  });
}

}  // namespace ferry::server::sqlite
