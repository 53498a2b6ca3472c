// The SQL store's presence: agent_presence (one row per agent: the server holding its
// socket, its last contact) and presence_servers (each server's last refresh).
#include <nlohmann/json.hpp>

#include "sql_query.hpp"
#include "sql_rows.hpp"
#include "sql_store_impl.hpp"

namespace ferry::server::sql {

namespace {

// A server row this old belongs to a process long gone: its holds count for nothing anyway.
constexpr int64_t kForgetServerAfterMs = 24 * 3600 * 1000;

constexpr auto kPresenceColumns = std::make_tuple(
    column("p.instance_id", &AgentPresenceRecord::instance_id),
    column("p.server_id", &AgentPresenceRecord::server_id),
    column("COALESCE(s.refreshed_ms, 0)", &AgentPresenceRecord::server_refreshed_ms),
    column("p.last_seen_ms", &AgentPresenceRecord::last_seen_ms));

}  // namespace

Status SqlStore::agent_connected(const std::string& instance_id, const std::string& server_id,
                                 int64_t now_ms) {
  return write("noting an agent's connection", [&](Connection& conn) {
    return conn.run(
        "INSERT INTO agent_presence (instance_id, server_id, last_seen_ms) VALUES (?, ?, ?) "
        "ON CONFLICT (instance_id) DO UPDATE SET server_id = excluded.server_id, "
        "last_seen_ms = CASE WHEN agent_presence.last_seen_ms > excluded.last_seen_ms "
        "THEN agent_presence.last_seen_ms ELSE excluded.last_seen_ms END",
        instance_id, server_id, now_ms);
  });
}

Expected<bool> SqlStore::agent_disconnected(const std::string& instance_id,
                                            const std::string& server_id) {
  return write("noting an agent's disconnection", [&](Connection& conn) -> Expected<bool> {
    if (auto s = conn.run(
            "UPDATE agent_presence SET server_id = '' WHERE instance_id = ? AND server_id = ?",
            instance_id, server_id);
        !s) {
      return s.error();
    }
    return conn.changes() > 0;
  });
}

Status SqlStore::agent_stopped(const std::string& instance_id, int64_t now_ms) {
  return write("noting an agent's stop", [&](Connection& conn) {
    return conn.run(
        "INSERT INTO agent_presence (instance_id, server_id, last_seen_ms) VALUES (?, '', ?) "
        "ON CONFLICT (instance_id) DO UPDATE SET server_id = '', "
        "last_seen_ms = excluded.last_seen_ms",
        instance_id, -now_ms);
  });
}

Status SqlStore::agents_seen(const std::vector<AgentSeen>& seen) {
  if (seen.empty()) {
    return {};
  }
  return write("noting agents seen", [&](Connection& conn) -> Status {
    for (const auto& s : seen) {
      if (auto r = conn.run(
              "INSERT INTO agent_presence (instance_id, server_id, last_seen_ms) VALUES (?, '', ?) "
              "ON CONFLICT (instance_id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms "
              "WHERE ABS(agent_presence.last_seen_ms) < excluded.last_seen_ms",
              s.instance_id, s.seen_ms);
          !r) {
        return r;
      }
    }
    return {};
  });
}

Status SqlStore::refresh_server(const std::string& server_id, int64_t now_ms) {
  return write("refreshing the server's presence", [&](Connection& conn) -> Status {
    if (auto s =
            conn.run("INSERT INTO presence_servers (server_id, refreshed_ms) VALUES (?, ?) "
                     "ON CONFLICT (server_id) DO UPDATE SET refreshed_ms = excluded.refreshed_ms",
                     server_id, now_ms);
        !s) {
      return s;
    }
    return conn.run("DELETE FROM presence_servers WHERE refreshed_ms < ?",
                    now_ms - kForgetServerAfterMs);
  });
}

Expected<std::vector<AgentPresenceRecord>> SqlStore::presence_of(
    const std::vector<std::string>& instance_ids) {
  // The ids go in as one JSON array, so that the statement has one shape for any number of
  // them: it stays in the connection's statement cache instead of crowding out the listings'.
  static const std::string kSelect =
      "SELECT " + column_names(kPresenceColumns) +
      " FROM agent_presence p LEFT JOIN presence_servers s ON s.server_id = p.server_id "
      "WHERE p.instance_id IN (";
  std::vector<AgentPresenceRecord> out;
  if (instance_ids.empty()) {
    return out;
  }
  // An id that is not UTF-8 matches nothing stored; replaced, it cannot make dump() throw.
  const std::string ids =
      nlohmann::json(instance_ids).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return read(
      "reading presence", [&](Connection& conn) -> Expected<std::vector<AgentPresenceRecord>> {
        auto q = conn.prepare(
            kSelect + std::string(conn.dialect().json_text_values) + ") ORDER BY p.instance_id",
            ids);
        if (!q) {
          return q.error();
        }
        if (auto s = append_rows(
                *q, [](Query& row) { return read_row<AgentPresenceRecord>(row, kPresenceColumns); },
                out);
            !s) {
          return s.error();
        }
        return out;
      });
}

}  // namespace ferry::server::sql
