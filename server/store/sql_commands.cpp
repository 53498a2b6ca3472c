// The SQL store's commands and their tags.
#include "sql_query.hpp"
#include "sql_rows.hpp"
#include "sql_store_impl.hpp"

namespace ferry::server::sql {

namespace sc = store_codes;

namespace {

const std::string kSelectCommand =
    "SELECT " + column_names(kCommandColumns) + " FROM commands WHERE command_id = ?";
const std::string kInsertCommand = insert_sql("commands", column_names(kCommandColumns));
const std::string kUpdateCommand =
    update_sql("commands", column_names(kCommandFields), "command_id");

Error name_taken() {
  return Error{sc::kCommandNameDuplicated, "a saved command is already named this"};
}

Expected<std::optional<Command>> load_command(Connection& conn, const std::string& id) {
  return read_tagged<Command>(conn, kSelectCommand, id, kCommandColumns, kCommandTags);
}

// A saved command's name must be free among the other saved commands.
Status check_command_name(Connection& conn, const Command& c) {
  if (!c.saved) {
    return {};
  }
  auto taken = has_row(conn.prepare(
      "SELECT 1 FROM commands WHERE command_name = ? AND saved = 1 AND command_id <> ?",
      c.command_name, c.command_id));
  if (!taken) {
    return taken.error();
  }
  if (*taken) {
    return name_taken();
  }
  return {};
}

}  // namespace

Status SqlStore::insert_command_row(Connection& conn, const Command& c) {
  if (auto s = check_command_name(conn, c); !s) {
    return s;
  }
  if (auto s = insert_row(conn, kInsertCommand, c, kCommandColumns, "command"); !s) {
    return s;
  }
  return write_tags(conn, kCommandTags, c.command_id, c.tags);
}

Status SqlStore::insert_command(const Command& c) {
  return write("inserting a command",
               [&](Connection& conn) { return insert_command_row(conn, c); });
}

Expected<std::optional<Command>> SqlStore::get_command(const std::string& id) {
  return read_txn("reading a command", [&](Connection& conn) { return load_command(conn, id); });
}

Expected<Command> SqlStore::modify_command(const std::string& id,
                                           const std::function<Status(Command&)>& mutate) {
  return write("modifying a command", [&](Connection& conn) -> Expected<Command> {
    auto found = load_command(conn, id);
    if (!found) {
      return found.error();
    }
    if (!*found) {
      return Error{sc::kCommandNotFound, "command " + id + " not found"};
    }
    Command c = std::move(**found);
    if (auto s = mutate(c); !s) {
      return s.error();
    }
    c.command_id = id;  // the id is the row's identity, not something mutate may change
    if (auto s = check_command_name(conn, c); !s) {
      return s.error();
    }
    auto q = conn.query(kUpdateCommand);
    if (!q) {
      return q.error();
    }
    bind_row(*q, c, kCommandFields);
    q->bind(id);
    if (auto s = run_insert(*q, name_taken); !s) {
      return s.error();
    }
    if (auto s = write_tags(conn, kCommandTags, id, c.tags); !s) {
      return s.error();
    }
    return c;
  });
}

Status SqlStore::delete_commands(const std::vector<std::string>& ids) {
  return write("deleting commands", [&](Connection& conn) -> Status {
    if (auto s = require_all(conn, "commands", "command_id", ids, sc::kCommandNotFound, "command");
        !s) {
      return s;
    }
    return delete_all(conn, "commands", "command_id", ids);
  });
}

Expected<Page<Command>> SqlStore::list_commands(const CommandQuery& cq) {
  return read_txn("listing commands", [&](Connection& conn) -> Expected<Page<Command>> {
    Filter f{{"command_id", cq.command_ids},
             {"command_name", cq.command_names},
             {"command_type", cq.command_types},
             {"created_by", cq.created_by}};
    f.tags(kCommandTags, "commands", cq);
    if (cq.saved_only) {
      f.clauses.emplace_back("saved = 1");
    }
    static const std::string kColumns = column_names(kCommandColumns);
    auto page = read_page(conn, Listing{"commands", kColumns, "command_id"}, f, cq,
                          [](Query& q) { return read_row<Command>(q, kCommandColumns); });
    if (!page) {
      return page;
    }
    if (auto s = read_tags_of(conn, kCommandTags, page->items, &Command::command_id); !s) {
      return s.error();
    }
    return page;
  });
}

Expected<int64_t> SqlStore::count_saved_commands() {
  return read("counting commands", [&](Connection& conn) {
    return read_int(conn.query("SELECT COUNT(*) FROM commands WHERE saved = 1"));
  });
}

}  // namespace ferry::server::sql
