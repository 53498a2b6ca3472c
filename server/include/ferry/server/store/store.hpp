// The control plane's storage, behind an interface that SQLite (the default) and PostgreSQL
// (scale-out) implement. Every method is one explicit transaction: two servers on one database
// stay correct because read-modify-write happens inside the store, never across calls.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/server/model.hpp"

namespace ferry::server {

// Values within one field are OR'ed; fields are AND'ed; empty fields do not filter.
struct CommandQuery {
  std::vector<std::string> command_ids;
  std::vector<std::string> command_names;
  std::vector<std::string> command_types;
  std::vector<std::string> created_by;
  std::vector<std::string> tag_keys;
  std::vector<std::string> tag_values;
  std::vector<std::pair<std::string, std::vector<std::string>>> tag_pairs;  // tag:KEY
  bool saved_only = true;
  int64_t offset = 0;
  int64_t limit = 20;
};

struct InvocationQuery {
  std::vector<std::string> invocation_ids;
  std::vector<std::string> command_ids;
  std::vector<std::string> instance_ids;  // invocations with a task on one of these
  std::vector<std::string> sources;       // USER | INVOKER
  int64_t offset = 0;
  int64_t limit = 20;
};

struct TaskQuery {
  std::vector<std::string> task_ids;
  std::vector<std::string> invocation_ids;
  std::vector<std::string> instance_ids;
  std::vector<std::string> command_ids;
  std::vector<TaskStatus> statuses;
  int64_t offset = 0;
  int64_t limit = 20;
  bool with_output = true;  // false leaves TaskResult.Output empty (HideOutput)
};

struct RegisterInstanceQuery {
  std::vector<std::string> instance_ids;
  std::vector<std::string> instance_names;
  std::vector<std::string> local_ips;
  std::vector<std::string> register_code_ids;
  std::vector<std::string> system_names;
  std::vector<std::string> tag_keys;
  std::vector<std::string> tag_values;
  std::vector<std::pair<std::string, std::vector<std::string>>> tag_pairs;
  int64_t offset = 0;
  int64_t limit = 20;
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

class Store {
 public:
  virtual ~Store() = default;

  // Commands. insert fails with InvalidParameterValue.CommandNameDuplicated when a saved
  // command already has the name.
  virtual Status insert_command(const Command& c) = 0;
  virtual Expected<std::optional<Command>> get_command(const std::string& id) = 0;
  // Replaces the command (same id) through `mutate`, inside one transaction; a mutate error
  // aborts. ResourceNotFound.CommandNotFound when missing.
  virtual Expected<Command> modify_command(const std::string& id,
                                           const std::function<Status(Command&)>& mutate) = 0;
  // Deletes all or none: ResourceNotFound.CommandNotFound naming the first missing id.
  virtual Status delete_commands(const std::vector<std::string>& ids) = 0;
  virtual Expected<Page<Command>> list_commands(const CommandQuery& q) = 0;
  virtual Expected<int64_t> count_saved_commands() = 0;

  // Invocations and their tasks, created together (and the command, when `command` is set).
  virtual Status insert_invocation(const std::optional<Command>& command,
                                   const Invocation& invocation,
                                   const std::vector<InvocationTask>& tasks) = 0;
  virtual Expected<std::optional<Invocation>> get_invocation(const std::string& id) = 0;
  virtual Expected<Page<Invocation>> list_invocations(const InvocationQuery& q) = 0;

  // Tasks.
  virtual Expected<std::optional<InvocationTask>> get_task(const std::string& id) = 0;
  virtual Expected<Page<InvocationTask>> list_tasks(const TaskQuery& q) = 0;
  // Read-modify-write of one task in one transaction. `mutate` returns false to leave the task
  // as it was (e.g. a late report). Returns the task as stored afterwards; nullopt if missing.
  virtual Expected<std::optional<InvocationTask>> modify_task(
      const std::string& id, const std::function<bool(InvocationTask&)>& mutate) = 0;
  // Stores live output piece `index` of a task once (a repeated index changes nothing).
  virtual Status put_task_log(const std::string& task_id, int64_t index,
                              const std::string& data) = 0;
  // The pieces of a task's live output, in index order, concatenated.
  virtual Expected<std::string> task_log(const std::string& task_id) = 0;

  // Register codes.
  virtual Status insert_register_code(const RegisterCode& c) = 0;
  virtual Expected<Page<RegisterCode>> list_register_codes(const std::vector<std::string>& ids,
                                                           int64_t offset, int64_t limit) = 0;
  virtual Status set_register_codes_enabled(const std::vector<std::string>& ids, bool enabled,
                                            int64_t now_ms) = 0;
  virtual Status delete_register_codes(const std::vector<std::string>& ids) = 0;

  // Registered instances. register_instance checks the code (exists, Enabled, not expired,
  // value, RegisterLimit, then check.extra), counts the registration and inserts the instance,
  // all in one transaction.
  virtual Status register_instance(const RegistrationCheck& check,
                                   const RegisterInstance& instance) = 0;
  virtual Expected<std::optional<RegisterInstance>> get_instance(const std::string& id) = 0;
  virtual Expected<Page<RegisterInstance>> list_instances(const RegisterInstanceQuery& q) = 0;
  virtual Status rename_instance(const std::string& id, const std::string& name,
                                 int64_t now_ms) = 0;
  // Deleting an instance revokes its key: later signed requests find no instance.
  virtual Status delete_instance(const std::string& id) = 0;
  virtual Status record_heartbeat(const std::string& id, const std::string& version,
                                  const std::string& environment,
                                  const std::vector<std::string>& features, int64_t now_ms) = 0;

  // Replay protection: true the first time (instance, nonce) is seen; entries older than
  // `expires_ms` may be forgotten.
  virtual Expected<bool> remember_nonce(const std::string& instance_id, const std::string& nonce,
                                        int64_t expires_ms, int64_t now_ms) = 0;
};

}  // namespace ferry::server
