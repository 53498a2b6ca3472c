// The SQL every listing and every all-or-none change of the SQL store repeats, written once:
// filters (WHERE ... IN (...), tag conditions), a page with its total, the first or every row
// of a query, INSERT and UPDATE over a column list. Table and column names come from the store's
// own code only; every value is a bound parameter. Private to server/store/.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/server/model.hpp"
#include "ferry/server/store/store.hpp"
#include "sql_db.hpp"

namespace ferry::server::sql {

// "?, ?, ?" for n values.
std::string placeholders(std::size_t n);
// "INSERT INTO table (columns) VALUES (?, ...)", one placeholder per column.
std::string insert_sql(std::string_view table, std::string_view columns);
// "UPDATE table SET a = ?, b = ? WHERE id_column = ?" over the comma-separated `columns`.
std::string update_sql(std::string_view table, std::string_view columns,
                       std::string_view id_column);

// The table of an owner's tags (command_tags by command_id, instance_tags by instance_id).
struct TagTable {
  std::string_view table;
  std::string_view owner_column;
};

// One field of a listing's query: its column and the values it may take (empty: any).
struct In {
  std::string_view column;
  const std::vector<std::string>& values;
};

// AND'ed conditions of a listing and the values they bind, in order.
struct Filter {
  Filter() = default;
  // column IN (values) for each field that has values.
  Filter(std::initializer_list<In> fields);

  std::vector<std::string> clauses;
  std::vector<Value> args;

  // column IN (values); nothing when `values` is empty.
  void in(std::string_view column, const std::vector<std::string>& values);
  // The conditions of `filter` on the tags (in `tags`) of the rows of table `owner`.
  void tags(const TagTable& tags, std::string_view owner, const TagFilter& filter);
  // " WHERE a AND b", or "" without clauses.
  [[nodiscard]] std::string where() const;
};

// What a page reads: `columns` of `table`, ordered newest first by `newest_column` (descending),
// ties broken by `id_column`.
struct Listing {
  std::string_view table;
  std::string_view columns;
  std::string_view id_column;
  std::string_view newest_column = "created_ms";
};

template <typename E>
struct ExpectedValue;
template <typename T>
struct ExpectedValue<Expected<T>> {
  using type = T;
};
// The value type T of a row reader, a function Query& -> Expected<T>.
template <typename Read>
using RowOf = typename ExpectedValue<std::invoke_result_t<Read&, Query&>>::type;

// The first row of `q` as `read` reads it, or nullopt when there is none.
template <typename Read>
Expected<std::optional<RowOf<Read>>> first_row(Expected<Query> q, Read read) {
  if (!q) {
    return q.error();
  }
  auto row = q->step();
  if (!row) {
    return row.error();
  }
  if (!*row) {
    return std::optional<RowOf<Read>>();
  }
  auto item = read(*q);
  if (!item) {
    return item.error();
  }
  return std::optional<RowOf<Read>>(std::move(*item));
}

// Every row of `q`, read by `read` and appended to `out`.
template <typename Read>
Status append_rows(Query& q, Read read, std::vector<RowOf<Read>>& out) {
  for (;;) {
    auto row = q.step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return {};
    }
    auto item = read(q);
    if (!item) {
      return item.error();
    }
    out.push_back(std::move(*item));
  }
}

// Whether `q` returns a row.
Expected<bool> has_row(Expected<Query> q);
// The single integer `q` returns (COUNT(*) and the like); 0 without a row.
Expected<int64_t> read_int(Expected<Query> q);

// Counts every match of `f`, then reads one page of them. Runs inside the caller's read
// transaction so that both see one snapshot. With `newest_first` (the same order as the SQL's,
// as a comparison of items), the ORDER BY sorts only the page's ids and the rows are read by id,
// then put in that order here: for wide rows (task output) a sort of whole rows costs more than
// the rest of the read, since SQLite, for one, copies every row into a temporary b-tree to sort it.
// Filtered SQL varies with the number of values, so it goes to the connection's bounded cache.
template <typename Read, typename Less = std::nullptr_t>
Expected<Page<RowOf<Read>>> read_page(Connection& conn, const Listing& from, const Filter& f,
                                      const PageRange& range, Read read,
                                      Less newest_first = nullptr) {
  using T = RowOf<Read>;
  const bool cache = f.args.empty();
  const std::string table(from.table);
  const std::string id(from.id_column);
  Page<T> page;
  {
    auto q = conn.query("SELECT COUNT(*) FROM " + table + f.where(), cache);
    if (q) {
      for (const auto& a : f.args) {
        q->bind_value(a);
      }
    }
    auto total = read_int(std::move(q));
    if (!total) {
      return total.error();
    }
    page.total = *total;
  }
  const std::string order =
      " ORDER BY " + std::string(from.newest_column) + " DESC, " + id + " LIMIT ? OFFSET ?";
  std::string sql = "SELECT " + std::string(from.columns) + " FROM " + table;
  if constexpr (std::is_same_v<Less, std::nullptr_t>) {
    sql += f.where() + order;
  } else {
    sql += " WHERE " + id + " IN (SELECT " + id + " FROM " + table + f.where() + order + ")";
  }
  auto q = conn.query(sql, cache);
  if (!q) {
    return q.error();
  }
  for (const auto& a : f.args) {
    q->bind_value(a);
  }
  q->bind(std::max<int64_t>(range.limit, 0), std::max<int64_t>(range.offset, 0));
  const int64_t rows = std::min(range.limit, page.total - std::max<int64_t>(range.offset, 0));
  page.items.reserve(static_cast<std::size_t>(std::max<int64_t>(rows, 0)));
  if (auto s = append_rows(*q, read, page.items); !s) {
    return s.error();
  }
  if constexpr (!std::is_same_v<Less, std::nullptr_t>) {
    // Sorted by index, then moved once: items are wide, and std::sort would move each many times.
    std::vector<std::size_t> ranks(page.items.size());
    for (std::size_t i = 0; i < ranks.size(); ++i) {
      ranks[i] = i;
    }
    std::sort(ranks.begin(), ranks.end(), [&](std::size_t a, std::size_t b) {
      return newest_first(page.items[a], page.items[b]);
    });
    std::vector<T> sorted;
    sorted.reserve(ranks.size());
    for (const std::size_t i : ranks) {
      sorted.push_back(std::move(page.items[i]));
    }
    page.items = std::move(sorted);
  }
  return page;
}

// Runs an INSERT (or UPDATE); a key conflict fails with duplicate(), an Error built only then.
template <typename Duplicate>
Status run_insert(Query& q, Duplicate duplicate) {
  auto s = q.run();
  if (!s && q.key_conflict()) {
    return duplicate();
  }
  return s;
}
// Fails with `code`, "<noun> <id> not found", for the first id that names no row of `table`
// (checked before an all-or-none change).
Status require_all(Connection& conn, std::string_view table, std::string_view id_column,
                   const std::vector<std::string>& ids, const char* code, std::string_view noun);
// Deletes the rows of `table` whose `id_column` is one of `ids`.
Status delete_all(Connection& conn, std::string_view table, std::string_view id_column,
                  const std::vector<std::string>& ids);
// Fails with `code`, "<noun> <id> not found", when the last statement changed no row.
Status expect_changed(Connection& conn, const char* code, std::string_view noun,
                      const std::string& id);

}  // namespace ferry::server::sql
