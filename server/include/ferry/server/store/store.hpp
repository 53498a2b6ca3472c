// The control plane's storage, behind an interface that SQLite (the default) and PostgreSQL
// (scale-out) implement. Every method is one explicit transaction: two servers on one database
// stay correct because read-modify-write happens inside the store, never across calls.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/server/model.hpp"

namespace ferry::server {

// The listings' queries. Values within one field are OR'ed; fields are AND'ed; empty fields do
// not filter.

// Conditions on an owner's tags: tag_keys, tag_values and each tag:KEY pair are separate
// conditions, each met by one of the owner's tags.
struct TagFilter {
  std::vector<std::string> tag_keys;
  std::vector<std::string> tag_values;
  std::vector<std::pair<std::string, std::vector<std::string>>> tag_pairs;  // tag:KEY
};

// One page of a listing, newest first: `limit` items from `offset`.
struct PageRange {
  int64_t offset = 0;
  int64_t limit = 20;
};

struct CommandQuery : TagFilter, PageRange {
  std::vector<std::string> command_ids;
  std::vector<std::string> command_names;
  std::vector<std::string> command_types;
  std::vector<std::string> created_by;
  bool saved_only = true;
};

// The tag conditions are on the invocations' own tags (Invocation::tags).
struct InvocationQuery : TagFilter, PageRange {
  std::vector<std::string> invocation_ids;
  std::vector<std::string> command_ids;
  std::vector<std::string> instance_ids;  // invocations with a task on one of these
  std::vector<std::string> sources;       // USER | INVOKER
  std::vector<std::string> repeat_modes;  // Once | Period | NextRebootOnly | EveryReboot
  // Send-file invocations only (true), command invocations only (false), or both.
  std::optional<bool> sends_file;
};

struct TaskQuery : PageRange {
  std::vector<std::string> task_ids;
  std::vector<std::string> invocation_ids;
  std::vector<std::string> instance_ids;
  std::vector<std::string> command_ids;
  std::vector<TaskStatus> statuses;
  bool with_output = true;  // false leaves TaskResult.Output empty (HideOutput)
  // Only each instance's latest run of its invocation (a listing without IncludeHistory).
  bool latest_run_only = false;
  // Tasks of send-file invocations only (true), of command invocations only (false), or both.
  std::optional<bool> sends_file;
};

struct RegisterInstanceQuery : TagFilter, PageRange {
  std::vector<std::string> instance_ids;
  std::vector<std::string> instance_names;
  std::vector<std::string> local_ips;
  std::vector<std::string> register_code_ids;
  std::vector<std::string> system_names;
};

struct InvokerQuery : PageRange {
  std::vector<std::string> invoker_ids;
  std::vector<std::string> command_ids;
  std::vector<std::string> types;
};

// Records newest slot first, of the named invokers (all when empty).
struct InvokerRecordQuery : PageRange {
  std::vector<std::string> invoker_ids;
};

// One slot of an invoker fired (fire_invokers): what is written, all or nothing, when the slot
// is still the invoker's next one.
struct InvokerFiring {
  std::string invoker_id;
  int64_t slot_ms = 0;        // must be the stored next_slot_ms of an enabled invoker
  int64_t next_slot_ms = 0;   // the slot after it (0: none)
  bool enabled_after = true;  // false disables the invoker (a ONCE invoker that fired)
  int64_t now_ms = 0;         // the invoker's updated_ms
  InvokerRecord record;       // record.invoker_id and record.slot_ms are the firing's
  // The invocation the slot made and its tasks; none when it could not make one (the record
  // says why).
  std::optional<Invocation> invocation;
  std::vector<InvocationTask> tasks;
};

// One slot of a Period invocation fired (fire_repeats): written, all or nothing, when the slot is
// still the invocation's next one and its schedule is Scheduled.
struct RepeatFiring {
  std::string invocation_id;
  int64_t slot_ms = 0;       // must be the stored next_slot_ms
  int64_t next_slot_ms = 0;  // the slot after it; 0: none left, the schedule becomes Finished
  int64_t now_ms = 0;        // the invocation's updated_ms
  // One run per target instance; the store numbers each (run_number), makes it the latest run
  // and counts it, skipping targets stopped or gone meanwhile.
  std::vector<InvocationTask> tasks;
};
// What a firing or a boot wrote: the runs stored, as stored.
struct RunsFired {
  bool fired = false;
  std::vector<InvocationTask> tasks;
};

// An agent reported its machine's boot id (record_boot), with a run prepared for each
// reboot-mode invocation on the instance (reboot_invocations), used only if it booted.
struct BootReport {
  std::string instance_id;
  std::string boot_id;
  int64_t now_ms = 0;
  std::vector<InvocationTask> tasks;
};

// What RegisterInstance checks inside its transaction.
struct RegistrationCheck {
  std::string register_code_id;
  std::string value_hash;
  int64_t now_ms = 0;
  // Called with the code inside the transaction (after Enabled, expiry, limit and the value
  // were checked): the IP range check, say. An error aborts the registration with it.
  std::function<Status(const RegisterCode&)> extra;
};

// Where an agent is, as the presence methods below keep it.
struct AgentPresenceRecord {
  std::string instance_id;
  std::string server_id;            // the server holding the agent's socket; "" when none does
  int64_t server_refreshed_ms = 0;  // that server's last refresh_server; 0 when it has none
  // The agent's last connect or noted signed request; -T when it said at T that it was stopping
  // (agent_stopped), until a later contact.
  int64_t last_seen_ms = 0;
};

// An agent and when it made contact (agents_seen).
struct AgentSeen {
  std::string instance_id;
  int64_t seen_ms = 0;
};

// What claim_client_token found for a (caller, ClientToken) pair.
struct ClientTokenClaim {
  enum class State {
    kNew,         // first use: the caller runs the request, then completes or releases the claim
    kDone,        // the same request ran before: `result` is its reply
    kProcessing,  // the same request is running now (another call holds the claim)
    kMismatch,    // the token was used with other parameters
  };
  State state = State::kNew;
  std::string result;
};

// Told how long each store call took, for the metrics. A store that is given one calls it on the
// caller's thread, concurrently, once per call that reached the database.
enum class StoreOperation { kRead, kWrite };
class StoreObserver {
 public:
  virtual ~StoreObserver() = default;
  // From the call to its end, the wait for a connection or the write lock included. Must be cheap
  // and must not throw.
  virtual void on_store_operation(StoreOperation kind,
                                  std::chrono::nanoseconds elapsed) noexcept = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // For the metrics: how many tasks have each status (the statuses with none are left out), and
  // how many calls wait now for a connection or the write lock (the store's queue).
  virtual Expected<std::vector<std::pair<TaskStatus, int64_t>>> count_tasks_by_status() = 0;
  [[nodiscard]] virtual std::size_t waiting_calls() const = 0;

  // Errors are store_codes (store_errors.hpp). Commands: insert fails with
  // kCommandNameDuplicated when a saved command already has the name, kIdDuplicated when the id
  // is taken.
  virtual Status insert_command(const Command& c) = 0;
  virtual Expected<std::optional<Command>> get_command(const std::string& id) = 0;
  // Replaces the command (same id) through `mutate`, inside one transaction; a mutate error
  // aborts. kCommandNotFound when missing.
  virtual Expected<Command> modify_command(const std::string& id,
                                           const std::function<Status(Command&)>& mutate) = 0;
  // Deletes all or none: kCommandNotFound naming the first missing id.
  virtual Status delete_commands(const std::vector<std::string>& ids) = 0;
  virtual Expected<Page<Command>> list_commands(const CommandQuery& q) = 0;
  virtual Expected<int64_t> count_saved_commands() = 0;

  // Invocations and their tasks (a repeat invocation: its targets, and no task yet), created
  // together (and the command, when `command` is set): all or none. Reads give the targets.
  virtual Status insert_invocation(const std::optional<Command>& command,
                                   const Invocation& invocation,
                                   const std::vector<InvocationTask>& tasks) = 0;
  virtual Expected<std::optional<Invocation>> get_invocation(const std::string& id) = 0;
  virtual Expected<Page<Invocation>> list_invocations(const InvocationQuery& q) = 0;

  // Replaces the invocation (same id) and its targets through `mutate` inside one transaction;
  // a mutate error aborts. kInvocationNotFound when missing.
  virtual Expected<Invocation> modify_invocation(
      const std::string& id, const std::function<Status(Invocation&)>& mutate) = 0;

  // Cloud Assistant's repeat modes. The scheduler's reads, like due_invokers and
  // next_invoker_slot: Scheduled invocations whose next slot is due by `until_ms`, earliest
  // first, at most `limit`; the earliest next slot of any (nullopt when none). Both indexed.
  virtual Expected<std::vector<Invocation>> due_repeat_invocations(int64_t until_ms,
                                                                   int64_t limit) = 0;
  virtual Expected<std::optional<int64_t>> next_repeat_slot() = 0;
  // Fires Period slots, each exactly once, in one transaction. Each firing is decided on its
  // own: when the invocation is Scheduled and its next_slot_ms is still f.slot_ms, it moves to
  // f.next_slot_ms (0: Finished) and the runs are stored (RepeatFiring::tasks); otherwise
  // nothing is written and fired is false (another server fired it, or it was stopped or
  // changed). An error rolls the whole batch back.
  virtual Expected<std::vector<RunsFired>> fire_repeats(
      const std::vector<RepeatFiring>& firings) = 0;
  // Scheduled NextRebootOnly and EveryReboot invocations with `instance_id` among their
  // targets, not stopped there (for NextRebootOnly: not run there yet).
  virtual Expected<std::vector<Invocation>> reboot_invocations(const std::string& instance_id) = 0;
  // Stores the boot id an agent reported, in one transaction. The first ever report, or the
  // same boot id again, only stores it (fired false). A different one is a boot: each of
  // r.tasks is stored as a run of its invocation unless that invocation already has a run for
  // (instance, boot id) (the key of a table of its own, so that two servers cannot both make
  // it), is no longer Scheduled, its target was stopped, or it is NextRebootOnly and ran there
  // already; a NextRebootOnly invocation whose targets have all run is Finished.
  // kInstanceNotFound for an unknown instance.
  virtual Expected<RunsFired> record_boot(const BootReport& r) = 0;

  // Tasks.
  virtual Expected<std::optional<InvocationTask>> get_task(const std::string& id) = 0;
  virtual Expected<Page<InvocationTask>> list_tasks(const TaskQuery& q) = 0;
  // Read-modify-write of one task in one transaction. `mutate` returns false to leave the task
  // as it was (e.g. a late report). Returns the task as stored afterwards; nullopt if missing.
  virtual Expected<std::optional<InvocationTask>> modify_task(
      const std::string& id, const std::function<bool(InvocationTask&)>& mutate) = 0;
  // Stores live output piece `index` of a task once (a repeated index changes nothing) and
  // raises the task's last_log_index to it. kInvocationTaskNotFound for an unknown task.
  virtual Status put_task_log(const std::string& task_id, int64_t index,
                              const std::string& data) = 0;
  // The pieces of a task's live output, in index order, concatenated.
  virtual Expected<std::string> task_log(const std::string& task_id) = 0;

  // Invokers. insert fails with kIdDuplicated when the id is taken; modify, delete fail with
  // kInvokerNotFound. Deleting an invoker deletes its records (its invocations stay).
  virtual Status insert_invoker(const Invoker& invoker) = 0;
  virtual Expected<std::optional<Invoker>> get_invoker(const std::string& id) = 0;
  // Replaces the invoker (same id) through `mutate` inside one transaction; a mutate error
  // aborts.
  virtual Expected<Invoker> modify_invoker(const std::string& id,
                                           const std::function<Status(Invoker&)>& mutate) = 0;
  virtual Status delete_invoker(const std::string& id) = 0;
  // Newest first (created_ms), like every listing.
  virtual Expected<Page<Invoker>> list_invokers(const InvokerQuery& q) = 0;
  virtual Expected<Page<InvokerRecord>> list_invoker_records(const InvokerRecordQuery& q) = 0;
  // The scheduler's reads: enabled invokers whose next slot is due by `until_ms` (next_slot_ms
  // in 1..until_ms), earliest slot first, at most `limit`; and the earliest next slot of any
  // enabled invoker (nullopt when none has one). Both served by an index: they run at every
  // wake-up of every server.
  virtual Expected<std::vector<Invoker>> due_invokers(int64_t until_ms, int64_t limit) = 0;
  virtual Expected<std::optional<int64_t>> next_invoker_slot() = 0;
  // Fires slots, each exactly once, all in one transaction (one commit for however many fall
  // due together). Each firing, in order, is decided on its own: when its invoker exists, is
  // enabled and its next_slot_ms is still f.slot_ms, it moves it to f.next_slot_ms (and
  // enabled_after), inserts f.record and f.invocation with its tasks, and result[i] is true.
  // A firing whose slot another server fired first, whose invoker was changed, disabled or
  // deleted meanwhile, or whose (invoker_id, slot_ms) has a record already (the key is unique
  // among the records) writes nothing and gets false, the others going on. An error (the
  // store failing, an invocation or task id taken, tasks without an invocation) rolls the
  // whole batch back: nothing fired.
  virtual Expected<std::vector<bool>> fire_invokers(const std::vector<InvokerFiring>& firings) = 0;
  // fire_invokers of the one firing.
  Expected<bool> fire_invoker(const InvokerFiring& f) {
    auto fired = fire_invokers({f});
    if (!fired) {
      return fired.error();
    }
    return fired->size() == 1 && fired->front();
  }

  // Register codes. Enabling, disabling and deleting are all or none: kRegisterCodeNotFound
  // naming the first missing id.
  virtual Status insert_register_code(const RegisterCode& c) = 0;
  virtual Expected<Page<RegisterCode>> list_register_codes(const std::vector<std::string>& ids,
                                                           int64_t offset, int64_t limit) = 0;
  virtual Status set_register_codes_enabled(const std::vector<std::string>& ids, bool enabled,
                                            int64_t now_ms) = 0;
  virtual Status delete_register_codes(const std::vector<std::string>& ids) = 0;

  // Registered instances. register_instance checks, in this order, the code (exists, value,
  // Enabled, not expired), the key (not revoked), RegisterLimit and check.extra, then counts the
  // registration and inserts the instance, all in one transaction. rename, delete and
  // record_heartbeat fail with kInstanceNotFound for an unknown id.
  virtual Status register_instance(const RegistrationCheck& check,
                                   const RegisterInstance& instance) = 0;
  virtual Expected<std::optional<RegisterInstance>> get_instance(const std::string& id) = 0;
  virtual Expected<Page<RegisterInstance>> list_instances(const RegisterInstanceQuery& q) = 0;
  virtual Status rename_instance(const std::string& id, const std::string& name,
                                 int64_t now_ms) = 0;
  // Replaces an instance's tags through `mutate` (given the stored ones) in one transaction; a
  // mutate error aborts. kInstanceNotFound for an unknown id. Returns the tags as stored.
  virtual Expected<std::vector<Tag>> modify_instance_tags(
      const std::string& id, const std::function<Status(std::vector<Tag>&)>& mutate,
      int64_t now_ms) = 0;
  // Deleting an instance revokes its key (later signed requests find no instance) and drops
  // its nonces and presence.
  virtual Status delete_instance(const std::string& id) = 0;
  virtual Status record_heartbeat(const std::string& id, const std::string& version,
                                  const std::string& environment,
                                  const std::vector<std::string>& features, int64_t now_ms) = 0;

  // Replay protection: true the first time (instance, nonce) is seen; entries older than
  // `expires_ms` may be forgotten.
  virtual Expected<bool> remember_nonce(const std::string& instance_id, const std::string& nonce,
                                        int64_t expires_ms, int64_t now_ms) = 0;

  // Idempotent requests (Cloud Assistant's ClientToken), per caller (`owner`, the AccessKeyId)
  // and token, all in one transaction each. A claim records the request's `request_hash` and
  // returns kNew the first time; later, kDone with the completed result, kMismatch for another
  // hash, kProcessing while the first is still running (a claim older than `stale_ms` before
  // now_ms is taken over as kNew: its request died). Claims older than a day are forgotten.
  virtual Expected<ClientTokenClaim> claim_client_token(const std::string& owner,
                                                        const std::string& token,
                                                        const std::string& request_hash,
                                                        int64_t now_ms, int64_t stale_ms) = 0;
  // The claimed request succeeded with `result`; kDone for its token from now on.
  virtual Status complete_client_token(const std::string& owner, const std::string& token,
                                       const std::string& result) = 0;
  // The claimed request failed: the token is free again.
  virtual Status release_client_token(const std::string& owner, const std::string& token) = 0;
  // Presence, shared by every server on the database: which server holds each agent's socket
  // (servers name themselves, a random id per process), when each agent was last seen, and
  // when each server last said it was alive. The store keeps the times; what counts as online
  // (the online window, when a server is stale) is the caller's rule. Every call writes, so
  // callers throttle: PushHub batches the seen times of all its agents into one call every few
  // seconds. No call checks that the instance exists.

  // `server_id` now holds the agent's socket, in place of any other server. A connect is
  // contact too: last_seen_ms becomes now_ms unless it is later already.
  virtual Status agent_connected(const std::string& instance_id, const std::string& server_id,
                                 int64_t now_ms) = 0;
  // The socket that `server_id` held was closed. Changes nothing and returns false when another
  // server holds the agent now: a late close of an old socket must not undo a newer connection.
  virtual Expected<bool> agent_disconnected(const std::string& instance_id,
                                            const std::string& server_id) = 0;
  // The agent said at now_ms that it is stopping: no server holds its socket, and its contact
  // up to now_ms no longer counts (last_seen_ms becomes -now_ms). A later contact does.
  virtual Status agent_stopped(const std::string& instance_id, int64_t now_ms) = 0;
  // The agents were seen at these times, all in one transaction. A time earlier than the one
  // stored (or than a stop, agent_stopped) changes nothing.
  virtual Status agents_seen(const std::vector<AgentSeen>& seen) = 0;
  // `server_id` is alive at now_ms. Rows of servers silent for a day are dropped meanwhile.
  virtual Status refresh_server(const std::string& server_id, int64_t now_ms) = 0;
  // The records of `instance_ids` in one read, ordered by instance id. An instance that never
  // connected and was never noted as seen has none.
  virtual Expected<std::vector<AgentPresenceRecord>> presence_of(
      const std::vector<std::string>& instance_ids) = 0;
};

// Every task that `q` matches from q.offset on, read page by page (q.limit a page, at least 1).
// Each page is its own read: a task that changes meanwhile may be missed or read twice, so
// callers that change tasks collect them first and change them after.
inline Expected<std::vector<InvocationTask>> list_all_tasks(Store& store, TaskQuery q) {
  q.limit = std::max<int64_t>(q.limit, 1);
  std::vector<InvocationTask> out;
  for (;;) {
    auto page = store.list_tasks(q);
    if (!page) {
      return page.error();
    }
    const auto n = static_cast<int64_t>(page->items.size());
    std::move(page->items.begin(), page->items.end(), std::back_inserter(out));
    q.offset += n;
    if (n < q.limit || q.offset >= page->total) {
      return out;
    }
  }
}

}  // namespace ferry::server
