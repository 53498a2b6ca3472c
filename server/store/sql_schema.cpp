// Each migration runs in its own transaction and is recorded in schema_migrations; a
// released migration is never edited, only followed by a new one. The SQL stays within what
// PostgreSQL accepts too (its store applies the same steps): standard types, booleans as 0/1,
// BIGINT for millisecond times, partial indexes and ON CONFLICT, which both have. The one
// exception is the type of raw log bytes (the Dialect's: BLOB, BYTEA).
#include "sql_schema.hpp"

namespace ferry::server::sql {

namespace {

// The tags of `owner_table`'s rows, in order, removed with their owner. The text is exactly what
// migration 1 always created (SQLite keeps it in sqlite_master).
std::string tag_table(const std::string& table, const std::string& owner_table,
                      const std::string& owner_column) {
  return "CREATE TABLE " + table + " (\n  " + owner_column + " TEXT NOT NULL REFERENCES " +
         owner_table + " (" + owner_column +
         ") ON DELETE CASCADE,\n  ordinal INTEGER NOT NULL,\n  tag_key TEXT NOT NULL,\n  "
         "tag_value TEXT NOT NULL,\n  PRIMARY KEY (" +
         owner_column + ", ordinal)\n)";
}

std::string tag_index(const std::string& table) {
  return "CREATE INDEX " + table + "_key_value ON " + table + " (tag_key, tag_value)";
}

}  // namespace

std::vector<Migration> migrations(const Dialect& dialect) {
  const std::string blob(dialect.blob_type);
  return {
      {1,
       {
           R"sql(CREATE TABLE commands (
  command_id TEXT NOT NULL PRIMARY KEY,
  command_name TEXT NOT NULL,
  description TEXT NOT NULL,
  content TEXT NOT NULL,
  command_type TEXT NOT NULL,
  working_directory TEXT NOT NULL,
  timeout BIGINT NOT NULL,
  enable_parameter INTEGER NOT NULL,
  default_parameters TEXT NOT NULL,
  default_parameter_confs TEXT NOT NULL,
  username TEXT NOT NULL,
  output_cos_bucket_url TEXT NOT NULL,
  output_cos_key_prefix TEXT NOT NULL,
  created_by TEXT NOT NULL,
  saved INTEGER NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL
))sql",
           // Saved names are unique; unsaved commands (RunCommand without SaveCommand) may repeat.
           "CREATE UNIQUE INDEX commands_saved_name ON commands (command_name) WHERE saved = 1",
           "CREATE INDEX commands_name ON commands (command_name)",
           "CREATE INDEX commands_created ON commands (created_ms)",
           tag_table("command_tags", "commands", "command_id"),
           tag_index("command_tags"),
           // No foreign key to commands: deleting a command keeps its history readable.
           R"sql(CREATE TABLE invocations (
  invocation_id TEXT NOT NULL PRIMARY KEY,
  command_id TEXT NOT NULL,
  command_name TEXT NOT NULL,
  description TEXT NOT NULL,
  parameters TEXT NOT NULL,
  default_parameters TEXT NOT NULL,
  instance_kind TEXT NOT NULL,
  username TEXT NOT NULL,
  invocation_source TEXT NOT NULL,
  command_content TEXT NOT NULL,
  command_type TEXT NOT NULL,
  timeout BIGINT NOT NULL,
  working_directory TEXT NOT NULL,
  output_cos_bucket_url TEXT NOT NULL,
  output_cos_key_prefix TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL
))sql",
           "CREATE INDEX invocations_command ON invocations (command_id)",
           "CREATE INDEX invocations_created ON invocations (created_ms)",
           R"sql(CREATE TABLE invocation_tasks (
  invocation_task_id TEXT NOT NULL PRIMARY KEY,
  invocation_id TEXT NOT NULL REFERENCES invocations (invocation_id),
  command_id TEXT NOT NULL,
  command_name TEXT NOT NULL,
  instance_id TEXT NOT NULL,
  status TEXT NOT NULL,
  doc_content TEXT NOT NULL,
  doc_command_type TEXT NOT NULL,
  doc_timeout BIGINT NOT NULL,
  doc_working_directory TEXT NOT NULL,
  doc_username TEXT NOT NULL,
  doc_output_cos_bucket_url TEXT NOT NULL,
  doc_output_cos_key_prefix TEXT NOT NULL,
  enable_parameter INTEGER NOT NULL,
  parameters TEXT NOT NULL,
  invocation_source TEXT NOT NULL,
  exit_code BIGINT,
  output TEXT NOT NULL,
  dropped BIGINT NOT NULL,
  exec_start_ms BIGINT NOT NULL,
  exec_end_ms BIGINT NOT NULL,
  output_url TEXT NOT NULL,
  output_upload_error TEXT NOT NULL,
  error_info TEXT NOT NULL,
  start_ms BIGINT NOT NULL,
  end_ms BIGINT NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  delivered_ms BIGINT NOT NULL,
  last_log_index BIGINT NOT NULL,
  cancel_requested INTEGER NOT NULL
))sql",
           "CREATE INDEX invocation_tasks_invocation ON invocation_tasks (invocation_id)",
           "CREATE INDEX invocation_tasks_instance_status ON invocation_tasks (instance_id, "
           "status)",
           "CREATE INDEX invocation_tasks_status ON invocation_tasks (status)",
           "CREATE INDEX invocation_tasks_created ON invocation_tasks (created_ms)",
           R"sql(CREATE TABLE task_logs (
  task_id TEXT NOT NULL REFERENCES invocation_tasks (invocation_task_id) ON DELETE CASCADE,
  piece_index BIGINT NOT NULL,
  data )sql" + blob +
               R"sql( NOT NULL,
  PRIMARY KEY (task_id, piece_index)
))sql",
           R"sql(CREATE TABLE register_codes (
  register_code_id TEXT NOT NULL PRIMARY KEY,
  value_hash TEXT NOT NULL,
  description TEXT NOT NULL,
  instance_name_prefix TEXT NOT NULL,
  register_limit BIGINT NOT NULL,
  expired_ms BIGINT NOT NULL,
  ip_address_range TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  registered_count BIGINT NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL
))sql",
           // No foreign key to register_codes: deleting a code leaves its instances registered.
           R"sql(CREATE TABLE register_instances (
  instance_id TEXT NOT NULL PRIMARY KEY,
  register_code_id TEXT NOT NULL,
  instance_name TEXT NOT NULL,
  machine_id TEXT NOT NULL,
  system_name TEXT NOT NULL,
  host_name TEXT NOT NULL,
  local_ip TEXT NOT NULL,
  public_key TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  agent_version TEXT NOT NULL,
  last_heartbeat_ms BIGINT NOT NULL,
  environment TEXT NOT NULL,
  support_features TEXT NOT NULL
))sql",
           "CREATE INDEX register_instances_code ON register_instances (register_code_id)",
           "CREATE INDEX register_instances_created ON register_instances (created_ms)",
           tag_table("instance_tags", "register_instances", "instance_id"),
           tag_index("instance_tags"),
           // Not tied to register_instances by a foreign key: a request racing the instance's
           // deletion must not fail on it; delete_instance removes the instance's nonces itself.
           R"sql(CREATE TABLE agent_nonces (
  instance_id TEXT NOT NULL,
  nonce TEXT NOT NULL,
  expires_ms BIGINT NOT NULL,
  PRIMARY KEY (instance_id, nonce)
))sql",
           "CREATE INDEX agent_nonces_expires ON agent_nonces (expires_ms)",
       }},
      // Deleting an instance revokes its key for good: a later registration with the same key
      // is refused instead of getting the deleted instance (and its tasks) back.
      {2,
       {
           R"sql(CREATE TABLE revoked_keys (
  public_key TEXT NOT NULL PRIMARY KEY,
  instance_id TEXT NOT NULL,
  revoked_ms BIGINT NOT NULL
))sql",
       }},
      // Presence in the database, so that every server on it sees which server holds each
      // agent's socket and when each agent was last seen. server_id is '' while no server holds
      // it. No foreign keys: a presence write racing an instance's deletion must not fail on
      // it; delete_instance removes the instance's row itself.
      {3,
       {
           R"sql(CREATE TABLE presence_servers (
  server_id TEXT NOT NULL PRIMARY KEY,
  refreshed_ms BIGINT NOT NULL
))sql",
           R"sql(CREATE TABLE agent_presence (
  instance_id TEXT NOT NULL PRIMARY KEY,
  server_id TEXT NOT NULL,
  last_seen_ms BIGINT NOT NULL
))sql",
       }},
      // Invokers: schedules of saved commands. The schedule is flattened into schedule_*
      // columns; next_slot_ms is the scheduler's bookkeeping (0: no slot left). Every server's
      // scheduler asks invokers_due for the enabled invokers with a slot, earliest first. No
      // foreign key to commands: what deleting a command does to its invokers is the caller's
      // rule. Instance ids, tags and records go with their invoker.
      {4,
       {
           R"sql(CREATE TABLE invokers (
  invoker_id TEXT NOT NULL PRIMARY KEY,
  invoker_name TEXT NOT NULL,
  invoker_type TEXT NOT NULL,
  command_id TEXT NOT NULL,
  username TEXT NOT NULL,
  parameters TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  schedule_policy TEXT NOT NULL,
  schedule_recurrence TEXT NOT NULL,
  schedule_invoke_time_ms BIGINT NOT NULL,
  schedule_start_time_ms BIGINT NOT NULL,
  schedule_end_time_ms BIGINT NOT NULL,
  next_slot_ms BIGINT NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL
))sql",
           "CREATE INDEX invokers_created ON invokers (created_ms)",
           "CREATE INDEX invokers_command ON invokers (command_id)",
           "CREATE INDEX invokers_due ON invokers (next_slot_ms, invoker_id) "
           "WHERE enabled = 1 AND next_slot_ms > 0",
           R"sql(CREATE TABLE invoker_instances (
  invoker_id TEXT NOT NULL REFERENCES invokers (invoker_id) ON DELETE CASCADE,
  ordinal INTEGER NOT NULL,
  instance_id TEXT NOT NULL,
  PRIMARY KEY (invoker_id, ordinal)
))sql",
           tag_table("invoker_tags", "invokers", "invoker_id"),
           tag_index("invoker_tags"),
           // One record per (invoker, slot): fire_invokers checks it and the key guards it again
           // against firing a slot twice. Listed newest slot first.
           R"sql(CREATE TABLE invoker_records (
  invoker_id TEXT NOT NULL REFERENCES invokers (invoker_id) ON DELETE CASCADE,
  slot_ms BIGINT NOT NULL,
  invoke_ms BIGINT NOT NULL,
  reason TEXT NOT NULL,
  invocation_id TEXT NOT NULL,
  result TEXT NOT NULL,
  PRIMARY KEY (invoker_id, slot_ms)
))sql",
           "CREATE INDEX invoker_records_newest ON invoker_records (slot_ms DESC, invoker_id)",
       }},
      // Cloud Assistant's repeat modes: an invocation runs many times, each run a task of its
      // own numbered per instance (run_number), the latest run per instance flagged for
      // listings without history. A repeat invocation's instances are its targets (with their
      // run counts); its Period slots are found through invocations_due as invokers' are, and
      // its reboot runs are keyed by (invocation, instance, boot id) so that one boot makes
      // one run whichever server sees it. Existing rows are Once invocations and their tasks.
      {5,
       {
           "ALTER TABLE invocations ADD COLUMN repeat_mode TEXT NOT NULL DEFAULT 'Once'",
           "ALTER TABLE invocations ADD COLUMN frequency TEXT NOT NULL DEFAULT ''",
           "ALTER TABLE invocations ADD COLUMN enable_parameter INTEGER NOT NULL DEFAULT 0",
           "ALTER TABLE invocations ADD COLUMN schedule_state TEXT NOT NULL DEFAULT ''",
           "ALTER TABLE invocations ADD COLUMN next_slot_ms BIGINT NOT NULL DEFAULT 0",
           "CREATE INDEX invocations_due ON invocations (next_slot_ms, invocation_id) "
           "WHERE schedule_state = 'Scheduled' AND next_slot_ms > 0",
           "ALTER TABLE invocation_tasks ADD COLUMN run_number BIGINT NOT NULL DEFAULT 1",
           "ALTER TABLE invocation_tasks ADD COLUMN slot_ms BIGINT NOT NULL DEFAULT 0",
           "ALTER TABLE invocation_tasks ADD COLUMN latest_run INTEGER NOT NULL DEFAULT 1",
           "CREATE INDEX invocation_tasks_latest ON invocation_tasks (invocation_id, instance_id) "
           "WHERE latest_run = 1",
           "ALTER TABLE register_instances ADD COLUMN boot_id TEXT NOT NULL DEFAULT ''",
           R"sql(CREATE TABLE invocation_targets (
  invocation_id TEXT NOT NULL REFERENCES invocations (invocation_id) ON DELETE CASCADE,
  ordinal INTEGER NOT NULL,
  instance_id TEXT NOT NULL,
  repeats BIGINT NOT NULL,
  stopped INTEGER NOT NULL,
  PRIMARY KEY (invocation_id, ordinal)
))sql",
           "CREATE UNIQUE INDEX invocation_targets_instance ON invocation_targets (instance_id, "
           "invocation_id)",
           R"sql(CREATE TABLE invocation_boot_runs (
  invocation_id TEXT NOT NULL REFERENCES invocations (invocation_id) ON DELETE CASCADE,
  instance_id TEXT NOT NULL,
  boot_id TEXT NOT NULL,
  PRIMARY KEY (invocation_id, instance_id, boot_id)
))sql",
       }},
      // Cloud Assistant's execution settings: a command's Launcher; an invocation's and each
      // task's Launcher, TerminationMode and container ("" for the defaults). Its ClientToken
      // claims.
      {6,
       {
           "ALTER TABLE commands ADD COLUMN launcher TEXT NOT NULL DEFAULT ''",
           "ALTER TABLE invocations ADD COLUMN launcher TEXT NOT NULL DEFAULT ''",
           "ALTER TABLE invocations ADD COLUMN termination_mode TEXT NOT NULL DEFAULT ''",
           "ALTER TABLE invocations ADD COLUMN container_id TEXT NOT NULL DEFAULT ''",
           "ALTER TABLE invocations ADD COLUMN container_name TEXT NOT NULL DEFAULT ''",
           "ALTER TABLE invocation_tasks ADD COLUMN doc_launcher TEXT NOT NULL DEFAULT ''",
           "ALTER TABLE invocation_tasks ADD COLUMN doc_termination_mode TEXT NOT NULL DEFAULT ''",
           "ALTER TABLE invocation_tasks ADD COLUMN doc_container_id TEXT NOT NULL DEFAULT ''",
           "ALTER TABLE invocation_tasks ADD COLUMN doc_container_name TEXT NOT NULL DEFAULT ''",
           // ClientToken claims: done when result is not NULL.
           R"sql(CREATE TABLE client_tokens (
  owner TEXT NOT NULL,
  token TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  result TEXT,
  claimed_ms BIGINT NOT NULL,
  PRIMARY KEY (owner, token)
))sql",
           "CREATE INDEX client_tokens_claimed ON client_tokens (claimed_ms)",
       }},
      // SendFile: a send-file invocation and its tasks carry the file to write (its bytes are
      // the content columns); file_name '' marks a command's invocation, as every existing row.
      {7,
       {
           "ALTER TABLE invocations ADD COLUMN file_name TEXT NOT NULL DEFAULT ''",
           "ALTER TABLE invocations ADD COLUMN file_target_dir TEXT NOT NULL DEFAULT ''",
           "ALTER TABLE invocations ADD COLUMN file_mode TEXT NOT NULL DEFAULT ''",
           "ALTER TABLE invocations ADD COLUMN file_owner TEXT NOT NULL DEFAULT ''",
           "ALTER TABLE invocations ADD COLUMN file_group TEXT NOT NULL DEFAULT ''",
           "ALTER TABLE invocations ADD COLUMN file_overwrite INTEGER NOT NULL DEFAULT 0",
           "ALTER TABLE invocation_tasks ADD COLUMN doc_file_name TEXT NOT NULL DEFAULT ''",
           "ALTER TABLE invocation_tasks ADD COLUMN doc_file_target_dir TEXT NOT NULL DEFAULT ''",
           "ALTER TABLE invocation_tasks ADD COLUMN doc_file_mode TEXT NOT NULL DEFAULT ''",
           "ALTER TABLE invocation_tasks ADD COLUMN doc_file_owner TEXT NOT NULL DEFAULT ''",
           "ALTER TABLE invocation_tasks ADD COLUMN doc_file_group TEXT NOT NULL DEFAULT ''",
           "ALTER TABLE invocation_tasks ADD COLUMN doc_file_overwrite INTEGER NOT NULL DEFAULT 0",
       }},
      // An invocation's own tags (SendFile's Tag.N), removed with it. Existing invocations have
      // none.
      {8,
       {
           tag_table("invocation_tags", "invocations", "invocation_id"),
           tag_index("invocation_tags"),
       }},
  };
}

int64_t schema_version() {
  static const int64_t kVersion = migrations(Dialect{"BLOB", ""}).back().version;
  return kVersion;
}

}  // namespace ferry::server::sql
