#include "sql_query.hpp"

namespace ferry::server::sql {

std::string placeholders(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s += i == 0 ? "?" : ", ?";
  }
  return s;
}

std::string insert_sql(std::string_view table, std::string_view columns) {
  const auto n = static_cast<std::size_t>(std::count(columns.begin(), columns.end(), ',')) + 1;
  return "INSERT INTO " + std::string(table) + " (" + std::string(columns) + ") VALUES (" +
         placeholders(n) + ")";
}

std::string update_sql(std::string_view table, std::string_view columns,
                       std::string_view id_column) {
  std::string sets;
  while (!columns.empty()) {
    const auto comma = columns.find(',');
    std::string_view column = columns.substr(0, comma);
    columns = comma == std::string_view::npos ? std::string_view() : columns.substr(comma + 1);
    while (!column.empty() && column.front() == ' ') {
      column.remove_prefix(1);
    }
    sets += (sets.empty() ? "" : ", ") + std::string(column) + " = ?";
  }
  return "UPDATE " + std::string(table) + " SET " + sets + " WHERE " + std::string(id_column) +
         " = ?";
}

Filter::Filter(std::initializer_list<In> fields) {
  for (const auto& field : fields) {
    in(field.column, field.values);
  }
}

void Filter::in(std::string_view column, const std::vector<std::string>& values) {
  if (values.empty()) {
    return;
  }
  clauses.push_back(std::string(column) + " IN (" + placeholders(values.size()) + ")");
  args.insert(args.end(), values.begin(), values.end());
}

void Filter::tags(const TagTable& tags, std::string_view owner, const TagFilter& filter) {
  const std::string column(tags.owner_column);
  const std::string exists = "EXISTS (SELECT 1 FROM " + std::string(tags.table) + " t WHERE t." +
                             column + " = " + std::string(owner) + "." + column;
  const auto any_of = [&](std::string_view what, const std::vector<std::string>& values) {
    clauses.push_back(exists + " AND t." + std::string(what) + " IN (" +
                      placeholders(values.size()) + "))");
    args.insert(args.end(), values.begin(), values.end());
  };
  if (!filter.tag_keys.empty()) {
    any_of("tag_key", filter.tag_keys);
  }
  if (!filter.tag_values.empty()) {
    any_of("tag_value", filter.tag_values);
  }
  for (const auto& [key, values] : filter.tag_pairs) {
    std::string c = exists + " AND t.tag_key = ?";
    args.emplace_back(key);
    // A pair without values matches on the key alone.
    if (!values.empty()) {
      c += " AND t.tag_value IN (" + placeholders(values.size()) + ")";
      args.insert(args.end(), values.begin(), values.end());
    }
    clauses.push_back(c + ")");
  }
}

std::string Filter::where() const {
  std::string s;
  for (const auto& c : clauses) {
    s += s.empty() ? " WHERE " : " AND ";
    s += c;
  }
  return s;
}

Expected<bool> has_row(Expected<Query> q) {
  if (!q) {
    return q.error();
  }
  return q->step();
}

Expected<int64_t> read_int(Expected<Query> q) {
  auto value =
      first_row(std::move(q), [](Query& row) -> Expected<int64_t> { return row.next_int(); });
  if (!value) {
    return value.error();
  }
  return value->value_or(0);
}

Status require_all(Connection& conn, std::string_view table, std::string_view id_column,
                   const std::vector<std::string>& ids, const char* code, std::string_view noun) {
  const auto sql =
      "SELECT 1 FROM " + std::string(table) + " WHERE " + std::string(id_column) + " = ?";
  for (const auto& id : ids) {
    auto found = has_row(conn.prepare(sql, id));
    if (!found) {
      return found.error();
    }
    if (!*found) {
      return Error{code, std::string(noun) + " " + id + " not found"};
    }
  }
  return {};
}

Status delete_all(Connection& conn, std::string_view table, std::string_view id_column,
                  const std::vector<std::string>& ids) {
  const auto sql =
      "DELETE FROM " + std::string(table) + " WHERE " + std::string(id_column) + " = ?";
  for (const auto& id : ids) {
    if (auto s = conn.run(sql, id); !s) {
      return s;
    }
  }
  return {};
}

Status expect_changed(Connection& conn, const char* code, std::string_view noun,
                      const std::string& id) {
  if (conn.changes() == 0) {
    return Error{code, std::string(noun) + " " + id + " not found"};
  }
  return {};
}

}  // namespace ferry::server::sql
