// The SQL store's register codes.
#include "sql_query.hpp"
#include "sql_rows.hpp"
#include "sql_store_impl.hpp"

namespace ferry::server::sql {

namespace sc = store_codes;

namespace {

Status require_codes(Connection& conn, const std::vector<std::string>& ids) {
  return require_all(conn, "register_codes", "register_code_id", ids, sc::kRegisterCodeNotFound,
                     "register code");
}

}  // namespace

Status SqlStore::insert_register_code(const RegisterCode& c) {
  static const std::string kInsert =
      insert_sql("register_codes", column_names(kRegisterCodeColumns));
  return write("inserting a register code", [&](Connection& conn) {
    return insert_row(conn, kInsert, c, kRegisterCodeColumns, "register code");
  });
}

Expected<Page<RegisterCode>> SqlStore::list_register_codes(const std::vector<std::string>& ids,
                                                           int64_t offset, int64_t limit) {
  static const std::string kColumns = column_names(kRegisterCodeColumns);
  return read_txn("listing register codes", [&](Connection& conn) {
    return read_page(conn, Listing{"register_codes", kColumns, "register_code_id"},
                     Filter{{"register_code_id", ids}}, PageRange{offset, limit},
                     [](Query& q) { return read_row<RegisterCode>(q, kRegisterCodeColumns); });
  });
}

Status SqlStore::set_register_codes_enabled(const std::vector<std::string>& ids, bool enabled,
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

Status SqlStore::delete_register_codes(const std::vector<std::string>& ids) {
  return write("deleting register codes", [&](Connection& conn) -> Status {
    if (auto s = require_codes(conn, ids); !s) {
      return s;
    }
    return delete_all(conn, "register_codes", "register_code_id", ids);
  });
}

}  // namespace ferry::server::sql
