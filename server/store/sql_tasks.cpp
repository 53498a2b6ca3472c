// The SQL store's invocations, their tasks and the tasks' live output pieces.
#include "ferry/server/hidden_parameters.hpp"
#include "sql_query.hpp"
#include "sql_rows.hpp"
#include "sql_store_impl.hpp"

namespace ferry::server::sql {

namespace sc = store_codes;

namespace {

const std::string kInvocationNames = column_names(kInvocationColumns);
const std::string kInsertInvocation = insert_sql("invocations", kInvocationNames);
const std::string kInsertTask = insert_sql("invocation_tasks", task_columns(true));
const std::string kUpdateTask =
    update_sql("invocation_tasks", column_names(kTaskFields), "invocation_task_id");

Expected<Invocation> read_invocation(Query& q) {
  return read_row<Invocation>(q, kInvocationColumns);
}

Expected<InvocationTask> read_task(Query& q) {
  return read_row<InvocationTask>(q, kTaskColumns);
}

}  // namespace

Status write_invocation_targets(Connection& conn, const Invocation& inv) {
  static const std::string kInsert =
      insert_sql("invocation_targets", "invocation_id, ordinal, " + column_names(kTargetColumns));
  if (auto s =
          conn.run("DELETE FROM invocation_targets WHERE invocation_id = ?", inv.invocation_id);
      !s) {
    return s;
  }
  for (std::size_t i = 0; i < inv.targets.size(); ++i) {
    auto q = conn.query(kInsert);
    if (!q) {
      return q.error();
    }
    q->bind(inv.invocation_id, static_cast<int64_t>(i));
    bind_row(*q, inv.targets[i], kTargetColumns);
    if (auto s = q->run(); !s) {
      return s;
    }
  }
  return {};
}

Status read_invocation_targets(Connection& conn, std::vector<Invocation>& invocations) {
  static const std::string kSelect = "SELECT " + column_names(kTargetColumns) +
                                     " FROM invocation_targets WHERE invocation_id = ? "
                                     "ORDER BY ordinal";
  for (auto& inv : invocations) {
    if (inv.repeat_mode == "Once") {
      continue;  // a Once invocation has tasks, no targets
    }
    auto q = conn.prepare(kSelect, inv.invocation_id);
    if (!q) {
      return q.error();
    }
    inv.targets.clear();
    if (auto s = append_rows(
            *q, [](Query& row) { return read_row<InvocationTarget>(row, kTargetColumns); },
            inv.targets);
        !s) {
      return s;
    }
  }
  return {};
}

Expected<std::optional<Invocation>> load_invocation(Connection& conn, const std::string& id) {
  static const std::string kSelect =
      "SELECT " + kInvocationNames + " FROM invocations WHERE invocation_id = ?";
  auto found = first_row(conn.prepare(kSelect, id), read_invocation);
  if (!found || !*found) {
    return found;
  }
  std::vector<Invocation> one{std::move(**found)};
  if (auto s = read_invocation_targets(conn, one); !s) {
    return s.error();
  }
  if (auto s = read_tags_of(conn, kInvocationTags, one, &Invocation::invocation_id); !s) {
    return s.error();
  }
  return std::optional<Invocation>(std::move(one.front()));
}

namespace {

Expected<std::optional<InvocationTask>> load_task(Connection& conn, const std::string& id) {
  static const std::string kSelect =
      "SELECT " + task_columns(true) + " FROM invocation_tasks WHERE invocation_task_id = ?";
  return first_row(conn.prepare(kSelect, id), read_task);
}

}  // namespace

Status SqlStore::insert_invocation_rows(Connection& conn, const Invocation& inv,
                                        const std::vector<InvocationTask>& tasks) {
  if (auto s = insert_row(conn, kInsertInvocation, inv, kInvocationColumns, "invocation"); !s) {
    return s;
  }
  for (const auto& t : tasks) {
    if (auto s = insert_row(conn, kInsertTask, t, kTaskColumns, "task"); !s) {
      return s;
    }
  }
  if (!inv.tags.empty()) {
    if (auto s = write_tags(conn, kInvocationTags, inv.invocation_id, inv.tags); !s) {
      return s;
    }
  }
  return inv.targets.empty() ? Status{} : write_invocation_targets(conn, inv);
}

Status SqlStore::insert_invocation(const std::optional<Command>& command, const Invocation& inv,
                                   const std::vector<InvocationTask>& tasks) {
  return write("inserting an invocation", [&](Connection& conn) -> Status {
    if (command) {
      if (auto s = insert_command_row(conn, *command); !s) {
        return s;
      }
    }
    return insert_invocation_rows(conn, inv, tasks);
  });
}

Expected<std::optional<Invocation>> SqlStore::get_invocation(const std::string& id) {
  return read_txn("reading an invocation",
                  [&](Connection& conn) { return load_invocation(conn, id); });
}

Expected<Invocation> SqlStore::modify_invocation(const std::string& id,
                                                 const std::function<Status(Invocation&)>& mutate) {
  static const std::string kUpdate =
      update_sql("invocations", column_names(kInvocationFields), "invocation_id");
  return write("modifying an invocation", [&](Connection& conn) -> Expected<Invocation> {
    auto found = load_invocation(conn, id);
    if (!found) {
      return found.error();
    }
    if (!*found) {
      return Error{sc::kInvocationNotFound, "invocation " + id + " not found"};
    }
    Invocation inv = std::move(**found);
    if (auto s = mutate(inv); !s) {
      return s.error();
    }
    inv.invocation_id = id;
    auto q = conn.query(kUpdate);
    if (!q) {
      return q.error();
    }
    bind_row(*q, inv, kInvocationFields);
    if (auto s = q->bind(id).run(); !s) {
      return s.error();
    }
    if (auto s = write_invocation_targets(conn, inv); !s) {
      return s.error();
    }
    return inv;
  });
}

Expected<Page<Invocation>> SqlStore::list_invocations(const InvocationQuery& iq) {
  return read_txn("listing invocations", [&](Connection& conn) -> Expected<Page<Invocation>> {
    Filter f{{"invocation_id", iq.invocation_ids},
             {"command_id", iq.command_ids},
             {"invocation_source", iq.sources},
             {"repeat_mode", iq.repeat_modes}};
    if (iq.sends_file) {
      f.clauses.emplace_back(*iq.sends_file ? "file_name <> ''" : "file_name = ''");
    }
    f.tags(kInvocationTags, "invocations", iq);
    if (!iq.instance_ids.empty()) {
      // A repeat invocation targets its instances before it has any task there.
      const std::string in = placeholders(iq.instance_ids.size());
      f.clauses.push_back(
          "(EXISTS (SELECT 1 FROM invocation_tasks t WHERE t.invocation_id = "
          "invocations.invocation_id AND t.instance_id IN (" +
          in +
          ")) OR EXISTS (SELECT 1 FROM invocation_targets g WHERE g.invocation_id = "
          "invocations.invocation_id AND g.instance_id IN (" +
          in + ")))");
      f.args.insert(f.args.end(), iq.instance_ids.begin(), iq.instance_ids.end());
      f.args.insert(f.args.end(), iq.instance_ids.begin(), iq.instance_ids.end());
    }
    auto page = read_page(conn, Listing{"invocations", kInvocationNames, "invocation_id"}, f, iq,
                          read_invocation);
    if (!page) {
      return page;
    }
    if (auto s = read_invocation_targets(conn, page->items); !s) {
      return s.error();
    }
    if (auto s = read_tags_of(conn, kInvocationTags, page->items, &Invocation::invocation_id); !s) {
      return s.error();
    }
    return page;
  });
}

Expected<std::optional<InvocationTask>> SqlStore::get_task(const std::string& id) {
  return read("reading a task", [&](Connection& conn) { return load_task(conn, id); });
}

Expected<std::vector<std::pair<TaskStatus, int64_t>>> SqlStore::count_tasks_by_status() {
  // Served by the index on status alone: no row is read.
  return read(
      "counting tasks by status",
      [&](Connection& conn) -> Expected<std::vector<std::pair<TaskStatus, int64_t>>> {
        auto q = conn.query(
            "SELECT status, COUNT(*) FROM invocation_tasks GROUP BY status ORDER BY status");
        if (!q) {
          return q.error();
        }
        std::vector<std::pair<TaskStatus, int64_t>> out;
        for (;;) {
          auto row = q->step();
          if (!row) {
            return row.error();
          }
          if (!*row) {
            return out;
          }
          const std::string text = q->next_text();
          const int64_t n = q->next_int();
          const auto status = parse_task_status(text);
          if (!status) {
            return Error{store_codes::kFailed, "the stored task status is malformed"};
          }
          out.emplace_back(*status, n);
        }
      });
}

Expected<Page<InvocationTask>> SqlStore::list_tasks(const TaskQuery& tq) {
  return read_txn("listing tasks", [&](Connection& conn) {
    std::vector<std::string> statuses;
    for (auto s : tq.statuses) {
      statuses.emplace_back(to_string(s));
    }
    Filter f{{"invocation_task_id", tq.task_ids},
             {"invocation_id", tq.invocation_ids},
             {"instance_id", tq.instance_ids},
             {"command_id", tq.command_ids},
             {"status", statuses}};
    if (tq.latest_run_only) {
      f.clauses.emplace_back("latest_run = 1");
    }
    if (tq.sends_file) {
      f.clauses.emplace_back(*tq.sends_file ? "doc_file_name <> ''" : "doc_file_name = ''");
    }
    // ORDER BY created_ms DESC, invocation_task_id (BINARY collation: bytewise, as here).
    const auto newest_first = [](const InvocationTask& a, const InvocationTask& b) {
      return a.created_ms != b.created_ms ? a.created_ms > b.created_ms
                                          : a.invocation_task_id < b.invocation_task_id;
    };
    return read_page(
        conn, Listing{"invocation_tasks", task_columns(tq.with_output), "invocation_task_id"}, f,
        tq, read_task, newest_first);
  });
}

Expected<std::optional<InvocationTask>> SqlStore::modify_task(
    const std::string& id, const std::function<bool(InvocationTask&)>& mutate) {
  return write("modifying a task",
               [&](Connection& conn) -> Expected<std::optional<InvocationTask>> {
                 auto found = load_task(conn, id);
                 if (!found || !*found) {
                   return found;
                 }
                 InvocationTask t = **found;
                 if (!mutate(t)) {
                   return found;
                 }
                 t.invocation_task_id = id;
                 // Whatever moved the task, a hidden parameter's value goes once it is of no
                 // more use (hidden_parameters.hpp).
                 forget_hidden_values(t);
                 auto q = conn.query(kUpdateTask);
                 if (!q) {
                   return q.error();
                 }
                 bind_row(*q, t, kTaskFields);
                 if (auto s = q->bind(id).run(); !s) {
                   return s.error();
                 }
                 return std::optional<InvocationTask>(std::move(t));
               });
}

Status SqlStore::put_task_log(const std::string& task_id, int64_t index, const std::string& data) {
  return write("storing a task log piece", [&](Connection& conn) -> Status {
    if (auto s = require_all(conn, "invocation_tasks", "invocation_task_id", {task_id},
                             sc::kInvocationTaskNotFound, "task");
        !s) {
      return s;
    }
    if (auto s = conn.run("INSERT INTO task_logs (task_id, piece_index, data) VALUES (?, ?, ?) "
                          "ON CONFLICT (task_id, piece_index) DO NOTHING",
                          task_id, index, Blob{data});
        !s) {
      return s;
    }
    if (conn.changes() == 0) {
      return {};  // a repeated piece
    }
    // Kept here, in the piece's own transaction, so that it never lags the pieces stored.
    return conn.run(
        "UPDATE invocation_tasks SET last_log_index = ? "
        "WHERE invocation_task_id = ? AND last_log_index < ?",
        index, task_id, index);
  });
}

Expected<std::string> SqlStore::task_log(const std::string& task_id) {
  return read("reading a task log", [&](Connection& conn) -> Expected<std::string> {
    auto q =
        conn.prepare("SELECT data FROM task_logs WHERE task_id = ? ORDER BY piece_index", task_id);
    if (!q) {
      return q.error();
    }
    std::vector<std::string> pieces;
    if (auto s = append_rows(
            *q, [](Query& row) -> Expected<std::string> { return row.next_blob(); }, pieces);
        !s) {
      return s.error();
    }
    std::string out;
    for (const auto& piece : pieces) {
      out += piece;
    }
    return out;
  });
}

}  // namespace ferry::server::sql
