#include "sql_rows.hpp"

#include <nlohmann/json.hpp>

#include "ferry/server/store/store_errors.hpp"
#include "sql_query.hpp"

namespace ferry::server::sql {

Error corrupt(std::string_view what) {
  return Error{store_codes::kFailed, "stored " + std::string(what) + " is malformed"};
}

const char* read_value(Query& q, TaskStatus& v) {
  auto status = parse_task_status(q.next_text());
  if (!status) {
    return "task status";
  }
  v = *status;
  return nullptr;
}

const char* read_value(Query& q, std::vector<DefaultParameterConf>& v) {
  auto j = nlohmann::json::parse(q.next_text(), nullptr, false);
  if (!j.is_array()) {
    return "default parameter confs";
  }
  v.clear();
  for (const auto& e : j) {
    if (!e.is_object() || !e.value("name", nlohmann::json()).is_string() ||
        !e.value("value", nlohmann::json()).is_string() ||
        !e.value("description", nlohmann::json()).is_string()) {
      return "default parameter confs";
    }
    v.push_back({e["name"].get<std::string>(), e["value"].get<std::string>(),
                 e["description"].get<std::string>()});
  }
  return nullptr;
}

const char* read_value(Query& q, std::vector<std::string>& v) {
  auto j = nlohmann::json::parse(q.next_text(), nullptr, false);
  if (!j.is_array()) {
    return "support features";
  }
  v.clear();
  for (const auto& e : j) {
    if (!e.is_string()) {
      return "support features";
    }
    v.push_back(e.get<std::string>());
  }
  return nullptr;
}

void bind_value(Query& q, TaskStatus v) {
  q.bind(to_string(v));
}

void bind_value(Query& q, const std::vector<DefaultParameterConf>& v) {
  auto j = nlohmann::json::array();
  for (const auto& c : v) {
    j.push_back({{"name", c.name}, {"value", c.value}, {"description", c.description}});
  }
  q.bind(j.dump());
}

void bind_value(Query& q, const std::vector<std::string>& v) {
  q.bind(nlohmann::json(v).dump());
}

const std::string& task_columns(bool with_output) {
  static const std::string kWith = column_names(kTaskColumns);
  static const std::string kWithout = [] {
    std::string names = kWith;
    const std::string output = ", output, ";
    names.replace(names.find(output), output.size(), ", '', ");
    return names;
  }();
  return with_output ? kWith : kWithout;
}

std::string select_tags_sql(const TagTable& tags) {
  return "SELECT " + column_names(kTagColumns) + " FROM " + std::string(tags.table) + " WHERE " +
         std::string(tags.owner_column) + " = ? ORDER BY ordinal";
}

Expected<std::vector<Tag>> read_tags(Connection& conn, const std::string& select_sql,
                                     const std::string& owner_id) {
  auto q = conn.prepare(select_sql, owner_id);
  if (!q) {
    return q.error();
  }
  std::vector<Tag> out;
  if (auto s = append_rows(
          *q, [](Query& row) { return read_row<Tag>(row, kTagColumns); }, out);
      !s) {
    return s.error();
  }
  return out;
}

Status write_tags(Connection& conn, const TagTable& tags, const std::string& owner_id,
                  const std::vector<Tag>& values) {
  const std::string table(tags.table);
  const std::string owner(tags.owner_column);
  if (auto s = conn.run("DELETE FROM " + table + " WHERE " + owner + " = ?", owner_id); !s) {
    return s;
  }
  const auto sql = insert_sql(table, owner + ", ordinal, tag_key, tag_value");
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (auto s = conn.run(sql, owner_id, static_cast<int64_t>(i), values[i].key, values[i].value);
        !s) {
      return s;
    }
  }
  return {};
}

}  // namespace ferry::server::sql
