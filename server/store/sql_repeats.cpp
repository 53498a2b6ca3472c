// The SQL store's side of Cloud Assistant's repeat modes: the scheduler's reads of due
// Period invocations, fire_repeats (each slot fired once however many servers try), and the
// boots agents report (each boot's runs made once).
#include <algorithm>

#include "sql_query.hpp"
#include "sql_rows.hpp"
#include "sql_store_impl.hpp"

namespace ferry::server::sql {

namespace sc = store_codes;

namespace {

const std::string kRepeatInvocationNames = column_names(kInvocationColumns);
// The WHERE of the scheduler's reads, spelled as the partial index invocations_due is.
constexpr const char* kScheduledSlot = "schedule_state = 'Scheduled' AND next_slot_ms > 0";

Expected<Invocation> read_repeat_invocation(Query& q) {
  return read_row<Invocation>(q, kInvocationColumns);
}

// One run of a repeat invocation on its target instance (task.invocation_id, task.instance_id),
// inside the caller's transaction: numbered after the target's runs, made the latest, counted.
// nullopt when the target is gone or stopped, or when `first_only` and it has run already.
Expected<std::optional<InvocationTask>> insert_run(Connection& conn, InvocationTask task,
                                                   bool first_only) {
  static const std::string kInsertRun = insert_sql("invocation_tasks", task_columns(true));
  auto target = first_row(
      conn.prepare("SELECT repeats, stopped FROM invocation_targets WHERE invocation_id = ? AND "
                   "instance_id = ?",
                   task.invocation_id, task.instance_id),
      [](Query& q) -> Expected<std::pair<int64_t, bool>> {
        const int64_t repeats = q.next_int();
        return std::make_pair(repeats, q.next_bool());
      });
  if (!target) {
    return target.error();
  }
  if (!*target || (*target)->second || (first_only && (*target)->first > 0)) {
    return std::optional<InvocationTask>();
  }
  if (auto s = conn.run(
          "UPDATE invocation_tasks SET latest_run = 0 WHERE invocation_id = ? AND instance_id = ? "
          "AND latest_run = 1",
          task.invocation_id, task.instance_id);
      !s) {
    return s.error();
  }
  task.run_number = (*target)->first + 1;
  task.latest_run = true;
  if (auto s = insert_row(conn, kInsertRun, task, kTaskColumns, "task"); !s) {
    return s.error();
  }
  if (auto s = conn.run(
          "UPDATE invocation_targets SET repeats = repeats + 1 WHERE invocation_id = ? AND "
          "instance_id = ?",
          task.invocation_id, task.instance_id);
      !s) {
    return s.error();
  }
  return std::optional<InvocationTask>(std::move(task));
}

}  // namespace

Expected<std::vector<Invocation>> SqlStore::due_repeat_invocations(int64_t until_ms,
                                                                   int64_t limit) {
  static const std::string kSelect =
      "SELECT " + kRepeatInvocationNames + " FROM invocations WHERE " + kScheduledSlot +
      " AND next_slot_ms <= ? ORDER BY next_slot_ms, invocation_id LIMIT ?";
  return read_txn("reading due repeat invocations",
                  [&](Connection& conn) -> Expected<std::vector<Invocation>> {
                    auto q = conn.prepare(kSelect, until_ms, std::max<int64_t>(limit, 0));
                    if (!q) {
                      return q.error();
                    }
                    std::vector<Invocation> due;
                    if (auto s = append_rows(*q, read_repeat_invocation, due); !s) {
                      return s.error();
                    }
                    if (auto s = read_invocation_targets(conn, due); !s) {
                      return s.error();
                    }
                    return due;
                  });
}

Expected<std::optional<int64_t>> SqlStore::next_repeat_slot() {
  static const std::string kSelect = std::string("SELECT next_slot_ms FROM invocations WHERE ") +
                                     kScheduledSlot + " ORDER BY next_slot_ms LIMIT 1";
  return read("reading the next repeat slot", [&](Connection& conn) {
    return first_row(conn.query(kSelect),
                     [](Query& q) -> Expected<int64_t> { return q.next_int(); });
  });
}

Expected<std::vector<RunsFired>> SqlStore::fire_repeats(const std::vector<RepeatFiring>& firings) {
  // The claim: only the transaction that still finds the slot as the invocation's next one
  // moves it on, as fire_invokers does.
  static const std::string kClaim =
      "UPDATE invocations SET next_slot_ms = ?, schedule_state = ?, updated_ms = ? "
      "WHERE invocation_id = ? AND schedule_state = 'Scheduled' AND next_slot_ms = ? AND "
      "next_slot_ms > 0";
  if (firings.empty()) {
    return std::vector<RunsFired>{};
  }
  return write(
      "firing repeat invocations", [&](Connection& conn) -> Expected<std::vector<RunsFired>> {
        std::vector<RunsFired> out(firings.size());
        for (std::size_t i = 0; i < firings.size(); ++i) {
          const RepeatFiring& f = firings[i];
          const char* state =
              f.next_slot_ms > 0 ? schedule_states::kScheduled : schedule_states::kFinished;
          if (auto s =
                  conn.run(kClaim, f.next_slot_ms, state, f.now_ms, f.invocation_id, f.slot_ms);
              !s) {
            return s.error();
          }
          if (conn.changes() == 0) {
            continue;  // fired elsewhere, stopped, changed or deleted: nothing written
          }
          out[i].fired = true;
          for (const auto& t : f.tasks) {
            if (t.invocation_id != f.invocation_id) {
              return Error{sc::kFailed, "firing invocation " + f.invocation_id +
                                            ": a task of another invocation"};
            }
            auto stored = insert_run(conn, t, false);
            if (!stored) {
              return stored.error();
            }
            if (*stored) {
              out[i].tasks.push_back(std::move(**stored));
            }
          }
        }
        return out;
      });
}

Expected<std::vector<Invocation>> SqlStore::reboot_invocations(const std::string& instance_id) {
  static const std::string kSelect = [] {
    std::string names;
    for (std::size_t pos = 0, end = 0; end != std::string::npos; pos = end + 2) {
      end = kRepeatInvocationNames.find(", ", pos);
      names += (names.empty() ? "i." : ", i.") + kRepeatInvocationNames.substr(pos, end - pos);
    }
    return "SELECT " + names +
           " FROM invocation_targets g JOIN invocations i ON i.invocation_id = g.invocation_id "
           "WHERE g.instance_id = ? AND g.stopped = 0 AND i.schedule_state = 'Scheduled' AND "
           "(i.repeat_mode = 'EveryReboot' OR (i.repeat_mode = 'NextRebootOnly' AND g.repeats = "
           "0)) ORDER BY i.created_ms, i.invocation_id";
  }();
  return read_txn("reading reboot invocations",
                  [&](Connection& conn) -> Expected<std::vector<Invocation>> {
                    auto q = conn.prepare(kSelect, instance_id);
                    if (!q) {
                      return q.error();
                    }
                    std::vector<Invocation> found;
                    if (auto s = append_rows(*q, read_repeat_invocation, found); !s) {
                      return s.error();
                    }
                    if (auto s = read_invocation_targets(conn, found); !s) {
                      return s.error();
                    }
                    return found;
                  });
}

Expected<RunsFired> SqlStore::record_boot(const BootReport& r) {
  return write("recording a boot", [&](Connection& conn) -> Expected<RunsFired> {
    auto stored = first_row(
        conn.prepare("SELECT boot_id FROM register_instances WHERE instance_id = ?", r.instance_id),
        [](Query& q) -> Expected<std::string> { return q.next_text(); });
    if (!stored) {
      return stored.error();
    }
    if (!*stored) {
      return Error{sc::kInstanceNotFound, "instance " + r.instance_id + " not found"};
    }
    RunsFired out;
    if (**stored == r.boot_id) {
      return out;
    }
    if (auto s = conn.run("UPDATE register_instances SET boot_id = ? WHERE instance_id = ?",
                          r.boot_id, r.instance_id);
        !s) {
      return s.error();
    }
    if ((*stored)->empty()) {
      return out;  // the first report: no boot to compare with
    }
    out.fired = true;
    for (const auto& t : r.tasks) {
      if (t.instance_id != r.instance_id) {
        return Error{sc::kFailed, "boot of " + r.instance_id + ": a task of another instance"};
      }
      if (auto s = conn.run(
              "INSERT INTO invocation_boot_runs (invocation_id, instance_id, boot_id) "
              "SELECT invocation_id, ?, ? FROM invocations WHERE invocation_id = ? AND "
              "schedule_state = 'Scheduled' AND repeat_mode IN ('NextRebootOnly', "
              "'EveryReboot') ON CONFLICT (invocation_id, instance_id, boot_id) DO NOTHING",
              r.instance_id, r.boot_id, t.invocation_id);
          !s) {
        return s.error();
      }
      if (conn.changes() == 0) {
        continue;  // this boot's run exists, or the invocation is no longer a scheduled one
      }
      auto mode =
          first_row(conn.prepare("SELECT repeat_mode FROM invocations WHERE invocation_id = ?",
                                 t.invocation_id),
                    [](Query& q) -> Expected<std::string> { return q.next_text(); });
      if (!mode) {
        return mode.error();
      }
      const bool next_only = *mode && **mode == "NextRebootOnly";
      auto run = insert_run(conn, t, next_only);
      if (!run) {
        return run.error();
      }
      if (!*run) {
        continue;
      }
      out.tasks.push_back(std::move(**run));
      if (next_only) {
        if (auto s = conn.run(
                "UPDATE invocations SET schedule_state = 'Finished', updated_ms = ? WHERE "
                "invocation_id = ? AND schedule_state = 'Scheduled' AND NOT EXISTS (SELECT 1 "
                "FROM invocation_targets WHERE invocation_id = ? AND stopped = 0 AND repeats = 0)",
                r.now_ms, t.invocation_id, t.invocation_id);
            !s) {
          return s.error();
        }
      }
    }
    return out;
  });
}

}  // namespace ferry::server::sql
