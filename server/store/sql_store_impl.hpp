// The SQL Store, one class for both engines (SQLite, PostgreSQL: they differ only below
// sql::Connection), declared once and defined by entity: sql_store.cpp (migrations),
// sql_commands.cpp, sql_tasks.cpp (invocations, tasks and their logs), sql_register_codes.cpp,
// sql_instances.cpp (instances and nonces), sql_presence.cpp, sql_invokers.cpp (invokers, their
// records and firings), sql_repeats.cpp (Cloud Assistant's repeat runs). sqlite_store.cpp and
// postgres_store.cpp open it.
// Every method is one transaction through write(), read() or read_txn() below. Private to
// server/store/.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ferry/server/clock.hpp"
#include "ferry/server/store/store.hpp"
#include "ferry/server/store/store_errors.hpp"
#include "sql_db.hpp"
#include "sql_pool.hpp"

namespace ferry::server::sql {

// A repeat invocation's targets: replaced (written in order), read (for each invocation that is
// not Once). And one invocation with its targets. Defined in sql_tasks.cpp.
Status write_invocation_targets(Connection& conn, const Invocation& inv);
Status read_invocation_targets(Connection& conn, std::vector<Invocation>& invocations);
Expected<std::optional<Invocation>> load_invocation(Connection& conn, const std::string& id);

class SqlStore final : public Store {
 public:
  // `name` says which database in errors (a file, a URL without its password); connections come
  // from `open`, at most `max_connections` at once. `observer` may be nullptr.
  SqlStore(std::string name, Pool::Open open, std::size_t max_connections, const Clock& clock,
           StoreObserver* observer);

  // Applies the migrations the database lacks (sql_schema.cpp).
  Status migrate();

  Expected<std::vector<std::pair<TaskStatus, int64_t>>> count_tasks_by_status() override;
  [[nodiscard]] std::size_t waiting_calls() const override { return waiting_.load(); }

  Status insert_command(const Command& c) override;
  Expected<std::optional<Command>> get_command(const std::string& id) override;
  Expected<Command> modify_command(const std::string& id,
                                   const std::function<Status(Command&)>& mutate) override;
  Status delete_commands(const std::vector<std::string>& ids) override;
  Expected<Page<Command>> list_commands(const CommandQuery& q) override;
  Expected<int64_t> count_saved_commands() override;

  Status insert_invocation(const std::optional<Command>& command, const Invocation& invocation,
                           const std::vector<InvocationTask>& tasks) override;
  Expected<std::optional<Invocation>> get_invocation(const std::string& id) override;
  Expected<Page<Invocation>> list_invocations(const InvocationQuery& q) override;
  Expected<Invocation> modify_invocation(const std::string& id,
                                         const std::function<Status(Invocation&)>& mutate) override;
  Expected<std::vector<Invocation>> due_repeat_invocations(int64_t until_ms,
                                                           int64_t limit) override;
  Expected<std::optional<int64_t>> next_repeat_slot() override;
  Expected<std::vector<RunsFired>> fire_repeats(const std::vector<RepeatFiring>& firings) override;
  Expected<std::vector<Invocation>> reboot_invocations(const std::string& instance_id) override;
  Expected<RunsFired> record_boot(const BootReport& r) override;
  Expected<std::optional<InvocationTask>> get_task(const std::string& id) override;
  Expected<Page<InvocationTask>> list_tasks(const TaskQuery& q) override;
  Expected<std::optional<InvocationTask>> modify_task(
      const std::string& id, const std::function<bool(InvocationTask&)>& mutate) override;
  Status put_task_log(const std::string& task_id, int64_t index, const std::string& data) override;
  Expected<std::string> task_log(const std::string& task_id) override;

  Status insert_invoker(const Invoker& invoker) override;
  Expected<std::optional<Invoker>> get_invoker(const std::string& id) override;
  Expected<Invoker> modify_invoker(const std::string& id,
                                   const std::function<Status(Invoker&)>& mutate) override;
  Status delete_invoker(const std::string& id) override;
  Expected<Page<Invoker>> list_invokers(const InvokerQuery& q) override;
  Expected<Page<InvokerRecord>> list_invoker_records(const InvokerRecordQuery& q) override;
  Expected<std::vector<Invoker>> due_invokers(int64_t until_ms, int64_t limit) override;
  Expected<std::optional<int64_t>> next_invoker_slot() override;
  Expected<std::vector<bool>> fire_invokers(const std::vector<InvokerFiring>& firings) override;

  Status insert_register_code(const RegisterCode& c) override;
  Expected<Page<RegisterCode>> list_register_codes(const std::vector<std::string>& ids,
                                                   int64_t offset, int64_t limit) override;
  Status set_register_codes_enabled(const std::vector<std::string>& ids, bool enabled,
                                    int64_t now_ms) override;
  Status delete_register_codes(const std::vector<std::string>& ids) override;

  Status register_instance(const RegistrationCheck& check, const RegisterInstance& inst) override;
  Expected<std::optional<RegisterInstance>> get_instance(const std::string& id) override;
  Expected<Page<RegisterInstance>> list_instances(const RegisterInstanceQuery& q) override;
  Status rename_instance(const std::string& id, const std::string& name, int64_t now_ms) override;
  Expected<ClientTokenClaim> claim_client_token(const std::string& owner, const std::string& token,
                                                const std::string& request_hash, int64_t now_ms,
                                                int64_t stale_ms) override;
  Status complete_client_token(const std::string& owner, const std::string& token,
                               const std::string& result) override;
  Status release_client_token(const std::string& owner, const std::string& token) override;
  Expected<std::vector<Tag>> modify_instance_tags(
      const std::string& id, const std::function<Status(std::vector<Tag>&)>& mutate,
      int64_t now_ms) override;
  Status delete_instance(const std::string& id) override;
  Status record_heartbeat(const std::string& id, const std::string& version,
                          const std::string& environment, const std::vector<std::string>& features,
                          int64_t now_ms) override;
  Expected<bool> remember_nonce(const std::string& instance_id, const std::string& nonce,
                                int64_t expires_ms, int64_t now_ms) override;

  Status agent_connected(const std::string& instance_id, const std::string& server_id,
                         int64_t now_ms) override;
  Expected<bool> agent_disconnected(const std::string& instance_id,
                                    const std::string& server_id) override;
  Status agent_stopped(const std::string& instance_id, int64_t now_ms) override;
  Status agents_seen(const std::vector<AgentSeen>& seen) override;
  Status refresh_server(const std::string& server_id, int64_t now_ms) override;
  Expected<std::vector<AgentPresenceRecord>> presence_of(
      const std::vector<std::string>& instance_ids) override;

 private:
  // A command's row and tags (insert_command and insert_invocation), after the name check.
  static Status insert_command_row(Connection& conn, const Command& c);
  // An invocation's row and its tasks' (insert_invocation and fire_invokers).
  static Status insert_invocation_rows(Connection& conn, const Invocation& inv,
                                       const std::vector<InvocationTask>& tasks);

  // Store.Failed errors get `what` in front, so that a log says which call failed; the store's
  // other codes go to the caller as they are.
  template <typename F>
  static auto with_context(std::string_view what, F&& f) {
    auto r = f();
    if (!r && r.error().code == store_codes::kFailed) {
      return decltype(r)(r.error().wrap(what));
    }
    return r;
  }

  // f(conn) inside one transaction of `kind`, committed when f succeeds, rolled back otherwise.
  template <typename F>
  static auto in_transaction(Connection& conn, Transaction::Kind kind, std::string_view what, F&& f)
      -> decltype(f(std::declval<Connection&>())) {
    using R = decltype(f(conn));
    return with_context(what, [&]() -> R {
      auto txn = Transaction::begin(conn, kind);
      if (!txn) {
        return txn.error();
      }
      auto r = f(conn);
      if (!r) {
        return r;
      }
      if (auto s = txn->commit(); !s) {
        return s.error();
      }
      return r;
    });
  }

  // One call's time for the observer, from its start to its end; counted in waiting_ until it
  // holds what it waited for (admitted()).
  class CallTimer {
   public:
    CallTimer(SqlStore& store, StoreOperation kind)
        : store_(store), kind_(kind), start_(std::chrono::steady_clock::now()) {
      ++store_.waiting_;
    }
    CallTimer(const CallTimer&) = delete;
    CallTimer& operator=(const CallTimer&) = delete;
    ~CallTimer() {
      admitted();
      if (store_.observer_ != nullptr) {
        store_.observer_->on_store_operation(kind_, std::chrono::steady_clock::now() - start_);
      }
    }
    void admitted() {
      if (waiting_) {
        --store_.waiting_;
        waiting_ = false;
      }
    }

   private:
    SqlStore& store_;
    StoreOperation kind_;
    std::chrono::steady_clock::time_point start_;
    bool waiting_ = true;
  };

  // One write: a write transaction (serialised with every other write on the database), f,
  // COMMIT.
  template <typename F>
  auto write(std::string_view what, F&& f) -> decltype(f(std::declval<Connection&>())) {
    CallTimer timer(*this, StoreOperation::kWrite);
    // The database runs one writer at a time anyway. Writers of this process queue here, in
    // order; left to SQLite's busy handler they would poll with sleeps of up to 100 ms, and on
    // PostgreSQL each would hold a connection while it waits for the write lock. The lock comes
    // before the lease, so a writer never holds a connection another writer needs to proceed.
    std::lock_guard write_lock(write_mu_);
    auto lease = pool_.acquire();
    timer.admitted();
    if (!lease) {
      return lease.error().wrap(what);
    }
    return in_transaction(**lease, Transaction::Kind::kWrite, what, std::forward<F>(f));
  }

  // A read of one statement: its own implicit transaction is a consistent snapshot.
  template <typename F>
  auto read(std::string_view what, F&& f) -> decltype(f(std::declval<Connection&>())) {
    CallTimer timer(*this, StoreOperation::kRead);
    auto lease = pool_.acquire();
    timer.admitted();
    if (!lease) {
      return lease.error().wrap(what);
    }
    return with_context(what, [&] { return f(**lease); });
  }

  // A read of several statements, in one read transaction (a snapshot, no write lock) so that
  // they see one state.
  template <typename F>
  auto read_txn(std::string_view what, F&& f) -> decltype(f(std::declval<Connection&>())) {
    CallTimer timer(*this, StoreOperation::kRead);
    auto lease = pool_.acquire();
    timer.admitted();
    if (!lease) {
      return lease.error().wrap(what);
    }
    return in_transaction(**lease, Transaction::Kind::kRead, what, std::forward<F>(f));
  }

  std::string name_;
  const Clock& clock_;
  Pool pool_;
  StoreObserver* observer_;
  std::atomic<std::size_t> waiting_{0};
  std::mutex write_mu_;
  std::atomic<uint64_t> nonce_calls_{0};
};

}  // namespace ferry::server::sql
