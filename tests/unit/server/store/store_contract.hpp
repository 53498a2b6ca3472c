// The Store contract: the Catch2 cases of contract_*_test.cpp, which every Store implementation
// must pass. They reach the store only through the Store interface and get it from
// make_contract_database(), which each store's test binary defines (sqlite_contract_database.cpp
// for SQLite, pg_contract_database.cpp for PostgreSQL), so that each implementation compiles the
// same cases with its own factory and runs them unchanged. The records and checks the cases share
// are declared here too.
#pragma once

#include <atomic>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/server/clock.hpp"
#include "ferry/server/store/store.hpp"
#include "ferry/server/store/store_errors.hpp"

namespace ferry::test::contract {

// The contract's cases live in this namespace and speak the store's terms.
using namespace ferry::server;
namespace sc = ferry::server::store_codes;

// A clock the test sets.
class ManualClock final : public server::Clock {
 public:
  [[nodiscard]] int64_t now_ms() const override { return now_.load(); }
  void set_ms(int64_t ms) { now_ = ms; }

 private:
  std::atomic<int64_t> now_{1'000'000};
};

// An empty database for one test case, dropped with this object.
class ContractDatabase {
 public:
  virtual ~ContractDatabase() = default;
  // A Store on this database reading `clock`. Each call opens another, as another server (or
  // process) would. `max_connections` bounds its connections; 0 leaves the store's default.
  virtual std::unique_ptr<server::Store> open(const server::Clock& clock,
                                              std::size_t max_connections) = 0;
};

// Defined by the test binary of each Store implementation.
std::unique_ptr<ContractDatabase> make_contract_database();

// A fresh database, a clock and a store on them.
struct ContractFixture {
  ManualClock clock;
  std::unique_ptr<ContractDatabase> db = make_contract_database();
  std::unique_ptr<server::Store> store = db->open(clock, 0);
  // Another Store object on the same database (another server).
  std::unique_ptr<server::Store> another(std::size_t max_connections = 0) {
    return db->open(clock, max_connections);
  }
};

void require_ok(const Status& s);

template <typename T>
T require_value(Expected<T> e) {
  if (!e) {
    FAIL(e.error().code << ": " << e.error().message);
  }
  return std::move(e).value();
}

// "OK" or the error's code.
std::string error_code(const Status& s);
template <typename T>
std::string error_code(const Expected<T>& e) {
  return e ? std::string("OK") : e.error().code;
}

server::Command make_command(const std::string& id, const std::string& name,
                             int64_t created_ms = 1000);
server::Invocation make_invocation(const std::string& id, const std::string& command_id,
                                   int64_t created_ms = 1000);
server::InvocationTask make_task(const std::string& id, const std::string& invocation_id,
                                 const std::string& instance_id, int64_t created_ms = 1000);
server::RegisterCode make_code(const std::string& id, int64_t limit = 5);
// An instance with its own key ("key-<id>") and the tag env=prod.
server::RegisterInstance make_instance(const std::string& id, const std::string& code_id,
                                       int64_t created_ms = 1000);
// The check that passes for make_code(code_id).
server::RegistrationCheck make_check(const std::string& code_id, int64_t now_ms = 2000);
// An enabled RECURRENCE invoker of `command_id` on two instances, with two tags, whose next
// slot is `next_slot_ms`.
server::Invoker make_invoker(const std::string& id, const std::string& command_id = "cmd-1",
                             int64_t next_slot_ms = 60'000, int64_t created_ms = 1000);
// Invocation inv-1 of cmd-1 with its one task invt-1, on `instance_id`.
void add_task(server::Store& store, const std::string& instance_id = "rins-a");
// Registers make_instance(id, a code made for it).
void add_instance(server::Store& store, const std::string& id);

// Every field of a record, for comparing records whole.
inline auto fields_of(const Command& c) {
  return std::tie(c.command_id, c.command_name, c.description, c.content, c.command_type,
                  c.working_directory, c.timeout, c.enable_parameter, c.default_parameters,
                  c.default_parameter_confs, c.username, c.output_cos_bucket_url,
                  c.output_cos_key_prefix, c.created_by, c.tags, c.saved, c.created_ms,
                  c.updated_ms);
}
inline auto fields_of(const Invocation& i) {
  return std::tie(i.invocation_id, i.command_id, i.command_name, i.description, i.parameters,
                  i.default_parameters, i.instance_kind, i.username, i.invocation_source,
                  i.command_content, i.command_type, i.timeout, i.working_directory,
                  i.output_cos_bucket_url, i.output_cos_key_prefix, i.created_ms, i.updated_ms,
                  i.repeat_mode, i.frequency, i.enable_parameter, i.schedule_state, i.next_slot_ms,
                  i.targets);
}
inline auto fields_of(const InvocationTask& t) {
  const CommandDocument& d = t.document;
  return std::tie(t.invocation_task_id, t.invocation_id, t.command_id, t.command_name,
                  t.instance_id, t.status, d.content, d.command_type, d.timeout,
                  d.working_directory, d.username, d.output_cos_bucket_url, d.output_cos_key_prefix,
                  t.enable_parameter, t.parameters, t.invocation_source, t.exit_code, t.output,
                  t.dropped, t.exec_start_ms, t.exec_end_ms, t.output_url, t.output_upload_error,
                  t.error_info, t.start_ms, t.end_ms, t.created_ms, t.updated_ms, t.delivered_ms,
                  t.last_log_index, t.cancel_requested, t.run_number, t.slot_ms, t.latest_run);
}
inline auto fields_of(const RegisterCode& c) {
  return std::tie(c.register_code_id, c.value_hash, c.description, c.instance_name_prefix,
                  c.register_limit, c.expired_ms, c.ip_address_range, c.enabled, c.registered_count,
                  c.created_ms, c.updated_ms);
}
inline auto fields_of(const RegisterInstance& i) {
  return std::tie(i.instance_id, i.register_code_id, i.instance_name, i.machine_id, i.system_name,
                  i.host_name, i.local_ip, i.public_key, i.tags, i.created_ms, i.updated_ms,
                  i.agent_version, i.last_heartbeat_ms, i.environment, i.support_features,
                  i.boot_id);
}
inline auto fields_of(const Invoker& i) {
  const InvokerSchedule& s = i.schedule;
  return std::tie(i.invoker_id, i.name, i.type, i.command_id, i.username, i.parameters,
                  i.instance_ids, i.enabled, s.policy, s.recurrence, s.invoke_time_ms,
                  s.start_time_ms, s.end_time_ms, i.tags, i.next_slot_ms, i.created_ms,
                  i.updated_ms);
}
inline auto fields_of(const InvokerRecord& r) {
  return std::tie(r.invoker_id, r.slot_ms, r.invoke_ms, r.reason, r.invocation_id, r.result);
}

// The position in fields_of of the first field in which two records differ; -1 when they are
// equal. CHECK(differing_field(got, want) == -1) names the field when it fails.
template <typename T>
int differing_field(const T& a, const T& b) {
  const auto fa = fields_of(a);
  const auto fb = fields_of(b);
  int at = -1;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (void)((std::get<I>(fa) == std::get<I>(fb) || (at = static_cast<int>(I), false)) && ...);
  }
  (std::make_index_sequence<std::tuple_size_v<decltype(fa)>>{});
  return at;
}

// The ids of a page, in order.
std::vector<std::string> ids_of(const server::Page<server::Command>& page);
std::vector<std::string> ids_of(const server::Page<server::InvocationTask>& page);
std::vector<std::string> ids_of(const server::Page<server::Invocation>& page);
std::vector<std::string> ids_of(const server::Page<server::RegisterInstance>& page);
std::vector<std::string> ids_of(const server::Page<server::Invoker>& page);
std::vector<std::string> ids_of(const std::vector<server::Invoker>& invokers);

}  // namespace ferry::test::contract
