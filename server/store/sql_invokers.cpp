// The SQL store's invokers (with their instance ids and tags), their records, the
// scheduler's reads and fire_invokers, which fires each slot of an invoker once however many
// servers try, many slots in one transaction.
#include <algorithm>

#include "sql_query.hpp"
#include "sql_rows.hpp"
#include "sql_store_impl.hpp"

namespace ferry::server::sql {

namespace sc = store_codes;

namespace {

const std::string kInvokerNames = column_names(kInvokerColumns);
const std::string kSelectInvoker =
    "SELECT " + kInvokerNames + " FROM invokers WHERE invoker_id = ?";
const std::string kInsertInvoker = insert_sql("invokers", kInvokerNames);
const std::string kUpdateInvoker =
    update_sql("invokers", column_names(kInvokerFields), "invoker_id");
const std::string kInvokerRecordNames = column_names(kInvokerRecordColumns);

// The WHERE of the scheduler's reads, spelled as the partial index invokers_due is, so that
// both read it: enabled invokers with a slot.
constexpr const char* kHasSlot = "enabled = 1 AND next_slot_ms > 0";

Expected<Invoker> read_invoker(Query& q) {
  return read_row<Invoker>(q, kInvokerColumns);
}

Expected<InvokerRecord> read_invoker_record(Query& q) {
  return read_row<InvokerRecord>(q, kInvokerRecordColumns);
}

// The invoker's instance ids, in order.
Status read_invoker_instances(Connection& conn, Invoker& invoker) {
  static const std::string kSelect =
      "SELECT instance_id FROM invoker_instances WHERE invoker_id = ? ORDER BY ordinal";
  auto q = conn.prepare(kSelect, invoker.invoker_id);
  if (!q) {
    return q.error();
  }
  invoker.instance_ids.clear();
  return append_rows(
      *q, [](Query& row) -> Expected<std::string> { return row.next_text(); },
      invoker.instance_ids);
}

// The rows of its own an invoker has besides its row: instance ids and tags, replaced.
Status write_invoker_children(Connection& conn, const Invoker& invoker) {
  static const std::string kInsert =
      insert_sql("invoker_instances", "invoker_id, ordinal, instance_id");
  const std::string& id = invoker.invoker_id;
  if (auto s = conn.run("DELETE FROM invoker_instances WHERE invoker_id = ?", id); !s) {
    return s;
  }
  for (std::size_t i = 0; i < invoker.instance_ids.size(); ++i) {
    if (auto s = conn.run(kInsert, id, static_cast<int64_t>(i), invoker.instance_ids[i]); !s) {
      return s;
    }
  }
  return write_tags(conn, kInvokerTags, id, invoker.tags);
}

// The tags and instance ids of invokers read without them.
Status read_invoker_children(Connection& conn, std::vector<Invoker>& invokers) {
  if (auto s = read_tags_of(conn, kInvokerTags, invokers, &Invoker::invoker_id); !s) {
    return s;
  }
  for (auto& invoker : invokers) {
    if (auto s = read_invoker_instances(conn, invoker); !s) {
      return s;
    }
  }
  return {};
}

Expected<std::optional<Invoker>> load_invoker(Connection& conn, const std::string& id) {
  auto found = read_tagged<Invoker>(conn, kSelectInvoker, id, kInvokerColumns, kInvokerTags);
  if (!found || !*found) {
    return found;
  }
  if (auto s = read_invoker_instances(conn, **found); !s) {
    return s.error();
  }
  return found;
}

}  // namespace

Status SqlStore::insert_invoker(const Invoker& invoker) {
  return write("inserting an invoker", [&](Connection& conn) -> Status {
    if (auto s = insert_row(conn, kInsertInvoker, invoker, kInvokerColumns, "invoker"); !s) {
      return s;
    }
    return write_invoker_children(conn, invoker);
  });
}

Expected<std::optional<Invoker>> SqlStore::get_invoker(const std::string& id) {
  return read_txn("reading an invoker", [&](Connection& conn) { return load_invoker(conn, id); });
}

Expected<Invoker> SqlStore::modify_invoker(const std::string& id,
                                           const std::function<Status(Invoker&)>& mutate) {
  return write("modifying an invoker", [&](Connection& conn) -> Expected<Invoker> {
    auto found = load_invoker(conn, id);
    if (!found) {
      return found.error();
    }
    if (!*found) {
      return Error{sc::kInvokerNotFound, "invoker " + id + " not found"};
    }
    Invoker invoker = std::move(**found);
    if (auto s = mutate(invoker); !s) {
      return s.error();
    }
    invoker.invoker_id = id;  // the id is the row's identity, not something mutate may change
    auto q = conn.query(kUpdateInvoker);
    if (!q) {
      return q.error();
    }
    bind_row(*q, invoker, kInvokerFields);
    if (auto s = q->bind(id).run(); !s) {
      return s.error();
    }
    if (auto s = write_invoker_children(conn, invoker); !s) {
      return s.error();
    }
    return invoker;
  });
}

Status SqlStore::delete_invoker(const std::string& id) {
  // Its instance ids, tags and records go with it (ON DELETE CASCADE).
  return write("deleting an invoker", [&](Connection& conn) -> Status {
    if (auto s = delete_all(conn, "invokers", "invoker_id", {id}); !s) {
      return s;
    }
    return expect_changed(conn, sc::kInvokerNotFound, "invoker", id);
  });
}

Expected<Page<Invoker>> SqlStore::list_invokers(const InvokerQuery& iq) {
  return read_txn("listing invokers", [&](Connection& conn) -> Expected<Page<Invoker>> {
    const Filter f{
        {"invoker_id", iq.invoker_ids}, {"command_id", iq.command_ids}, {"invoker_type", iq.types}};
    auto page =
        read_page(conn, Listing{"invokers", kInvokerNames, "invoker_id"}, f, iq, read_invoker);
    if (!page) {
      return page;
    }
    if (auto s = read_invoker_children(conn, page->items); !s) {
      return s.error();
    }
    return page;
  });
}

Expected<Page<InvokerRecord>> SqlStore::list_invoker_records(const InvokerRecordQuery& rq) {
  return read_txn("listing invoker records", [&](Connection& conn) {
    // Newest slot first, the invoker id breaking ties.
    return read_page(conn, Listing{"invoker_records", kInvokerRecordNames, "invoker_id", "slot_ms"},
                     Filter{{"invoker_id", rq.invoker_ids}}, rq, read_invoker_record);
  });
}

Expected<std::vector<Invoker>> SqlStore::due_invokers(int64_t until_ms, int64_t limit) {
  static const std::string kSelect = "SELECT " + kInvokerNames + " FROM invokers WHERE " +
                                     kHasSlot +
                                     " AND next_slot_ms <= ? ORDER BY next_slot_ms, invoker_id "
                                     "LIMIT ?";
  return read_txn("reading due invokers", [&](Connection& conn) -> Expected<std::vector<Invoker>> {
    auto q = conn.prepare(kSelect, until_ms, std::max<int64_t>(limit, 0));
    if (!q) {
      return q.error();
    }
    std::vector<Invoker> due;
    if (auto s = append_rows(*q, read_invoker, due); !s) {
      return s.error();
    }
    if (auto s = read_invoker_children(conn, due); !s) {
      return s.error();
    }
    return due;
  });
}

Expected<std::optional<int64_t>> SqlStore::next_invoker_slot() {
  // The first entry of invokers_due (ORDER BY ... LIMIT 1 rather than MIN(), which not every
  // planner takes from a partial index).
  static const std::string kSelect = std::string("SELECT next_slot_ms FROM invokers WHERE ") +
                                     kHasSlot + " ORDER BY next_slot_ms LIMIT 1";
  return read("reading the next invoker slot", [&](Connection& conn) {
    return first_row(conn.query(kSelect),
                     [](Query& q) -> Expected<int64_t> { return q.next_int(); });
  });
}

Expected<std::vector<bool>> SqlStore::fire_invokers(const std::vector<InvokerFiring>& firings) {
  // The claim: only the transaction that still finds the slot as the invoker's next one, and
  // unrecorded, moves it on. A slot of 0 (none) is never fired. The record check comes before
  // any write, so that a firing turned down has nothing to undo and the batch goes on without
  // a savepoint per firing (which costs SQLite a copy of the pages each firing touches).
  static const std::string kClaim =
      "UPDATE invokers SET next_slot_ms = ?, enabled = ?, updated_ms = ? "
      "WHERE invoker_id = ? AND enabled = 1 AND next_slot_ms = ? AND next_slot_ms > 0 "
      "AND NOT EXISTS (SELECT 1 FROM invoker_records WHERE invoker_id = ? AND slot_ms = ?)";
  static const std::string kInsertRecord = insert_sql("invoker_records", kInvokerRecordNames);
  for (const auto& f : firings) {
    if (!f.invocation && !f.tasks.empty()) {
      return Error{sc::kFailed, "firing invoker " + f.invoker_id + ": tasks without an invocation"};
    }
  }
  if (firings.empty()) {
    return std::vector<bool>{};
  }
  // One firing, inside the batch's transaction: true when it fired, false when it wrote
  // nothing; an error rolls the batch back.
  const auto fire_one = [&](Connection& conn, const InvokerFiring& f) -> Expected<bool> {
    if (auto s = conn.run(kClaim, f.next_slot_ms, f.enabled_after, f.now_ms, f.invoker_id,
                          f.slot_ms, f.invoker_id, f.slot_ms);
        !s) {
      return s.error();
    }
    if (conn.changes() == 0) {
      // Fired elsewhere, changed, disabled, deleted, or the slot recorded already (the
      // invoker's next slot was set back to it): nothing written.
      return false;
    }
    // The record's key is the firing's, whatever f.record says. The key is the second guard:
    // should a record of the slot appear all the same (a store whose claim cannot see one
    // inserted concurrently), the batch fails rather than fire the slot twice.
    InvokerRecord record = f.record;
    record.invoker_id = f.invoker_id;
    record.slot_ms = f.slot_ms;
    auto q = conn.query(kInsertRecord);
    if (!q) {
      return q.error();
    }
    bind_row(*q, record, kInvokerRecordColumns);
    if (auto s = run_insert(*q,
                            [&] {
                              return Error{sc::kFailed, "invoker " + f.invoker_id + " slot " +
                                                            std::to_string(f.slot_ms) +
                                                            " has a record"};
                            });
        !s) {
      return s.error();
    }
    if (f.invocation) {
      if (auto s = insert_invocation_rows(conn, *f.invocation, f.tasks); !s) {
        return s.error();
      }
    }
    return true;
  };
  return write("firing invokers", [&](Connection& conn) -> Expected<std::vector<bool>> {
    std::vector<bool> fired;
    fired.reserve(firings.size());
    for (const auto& f : firings) {
      auto one = fire_one(conn, f);
      if (!one) {
        return one.error();
      }
      fired.push_back(*one);
    }
    return fired;
  });
}

}  // namespace ferry::server::sql
