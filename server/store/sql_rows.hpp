// Row codecs of the SQL store. Each entity's table is a list of columns, each a name and the
// member it holds, in table order; one reader, one binder and one list of names serve every
// entity through them, so a column is named once. Tags live in tables of their own (read and
// written per owner). Private to server/store/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/server/model.hpp"
#include "ferry/server/store/store_errors.hpp"
#include "sql_db.hpp"
#include "sql_query.hpp"

namespace ferry::server::sql {

// A column and the member it holds, reached through `path`: one member pointer, or two for a
// member of a member (a task's document fields).
template <typename... Path>
struct Column {
  const char* name;
  std::tuple<Path...> path;
};

template <typename... Path>
constexpr Column<Path...> column(const char* name, Path... path) {
  return {name, {path...}};
}

// The member of `item` that column `c` holds: item.*p1, or (item.*p1).*p2.
template <typename T, typename... Path>
auto& field(T& item, const Column<Path...>& c) {
  return std::apply(
      [&](auto... p) -> auto& { return (item.*....*p); }, c.path);
}

// Column values into members. The simple ones cannot fail; the others return what is malformed
// ("task status"), nullptr when the value is good.
inline const char* read_value(Query& q, std::string& v) {
  v = q.next_text();
  return nullptr;
}
inline const char* read_value(Query& q, int64_t& v) {
  v = q.next_int();
  return nullptr;
}
inline const char* read_value(Query& q, uint64_t& v) {
  v = static_cast<uint64_t>(q.next_int());
  return nullptr;
}
inline const char* read_value(Query& q, bool& v) {
  v = q.next_bool();
  return nullptr;
}
inline const char* read_value(Query& q, std::optional<int64_t>& v) {
  v = q.next_opt_int();
  return nullptr;
}
const char* read_value(Query& q, TaskStatus& v);
const char* read_value(Query& q, std::vector<DefaultParameterConf>& v);  // a JSON array
const char* read_value(Query& q, std::vector<std::string>& v);           // a JSON array

// Members into bound values: as Query::bind does, but a status as its name and lists as JSON.
template <typename V>
void bind_value(Query& q, const V& v) {
  q.bind(v);
}
void bind_value(Query& q, TaskStatus v);
void bind_value(Query& q, const std::vector<DefaultParameterConf>& v);
void bind_value(Query& q, const std::vector<std::string>& v);

// A stored value that does not parse: Store.Failed, "stored <what> is malformed".
Error corrupt(std::string_view what);

// One row of `columns` into a new T.
template <typename T, typename Columns>
Expected<T> read_row(Query& q, const Columns& columns) {
  T item;
  const char* bad = nullptr;
  // Reads left to right and stops at the first bad column.
  std::apply(
      [&](const auto&... c) { (void)(((bad = read_value(q, field(item, c))) == nullptr) && ...); },
      columns);
  if (bad != nullptr) {
    return corrupt(bad);
  }
  return item;
}

// Binds `columns` of `item`, in order.
template <typename T, typename Columns>
void bind_row(Query& q, const T& item, const Columns& columns) {
  std::apply([&](const auto&... c) { (bind_value(q, field(item, c)), ...); }, columns);
}

// "a, b, c": the names of `columns`.
template <typename Columns>
std::string column_names(const Columns& columns) {
  std::string names;
  std::apply(
      [&](const auto&... c) {
        ((names += (names.empty() ? "" : ", ") + std::string(c.name)), ...);
      },
      columns);
  return names;
}

// The tables. Where an entity is updated, its id column is kept apart from the rest, which an
// UPDATE sets.

inline constexpr auto kCommandId = std::make_tuple(column("command_id", &Command::command_id));
inline constexpr auto kCommandFields = std::make_tuple(
    column("command_name", &Command::command_name), column("description", &Command::description),
    column("content", &Command::content), column("command_type", &Command::command_type),
    column("working_directory", &Command::working_directory), column("timeout", &Command::timeout),
    column("enable_parameter", &Command::enable_parameter),
    column("default_parameters", &Command::default_parameters),
    column("default_parameter_confs", &Command::default_parameter_confs),
    column("username", &Command::username),
    column("output_cos_bucket_url", &Command::output_cos_bucket_url),
    column("output_cos_key_prefix", &Command::output_cos_key_prefix),
    column("created_by", &Command::created_by), column("saved", &Command::saved),
    column("created_ms", &Command::created_ms), column("updated_ms", &Command::updated_ms),
    column("launcher", &Command::launcher));
inline constexpr auto kCommandColumns = std::tuple_cat(kCommandId, kCommandFields);

inline constexpr auto kInvocationId =
    std::make_tuple(column("invocation_id", &Invocation::invocation_id));
inline constexpr auto kInvocationFields = std::make_tuple(
    column("command_id", &Invocation::command_id),
    column("command_name", &Invocation::command_name),
    column("description", &Invocation::description), column("parameters", &Invocation::parameters),
    column("default_parameters", &Invocation::default_parameters),
    column("instance_kind", &Invocation::instance_kind), column("username", &Invocation::username),
    column("invocation_source", &Invocation::invocation_source),
    column("command_content", &Invocation::command_content),
    column("command_type", &Invocation::command_type), column("timeout", &Invocation::timeout),
    column("working_directory", &Invocation::working_directory),
    column("output_cos_bucket_url", &Invocation::output_cos_bucket_url),
    column("output_cos_key_prefix", &Invocation::output_cos_key_prefix),
    column("created_ms", &Invocation::created_ms), column("updated_ms", &Invocation::updated_ms),
    column("repeat_mode", &Invocation::repeat_mode), column("frequency", &Invocation::frequency),
    column("enable_parameter", &Invocation::enable_parameter),
    column("schedule_state", &Invocation::schedule_state),
    column("next_slot_ms", &Invocation::next_slot_ms),
    column("launcher", &Invocation::execution, &ExecutionSettings::launcher),
    column("termination_mode", &Invocation::execution, &ExecutionSettings::termination_mode),
    column("container_id", &Invocation::execution, &ExecutionSettings::container_id),
    column("container_name", &Invocation::execution, &ExecutionSettings::container_name),
    // SendFile (migration 7)
    column("file_name", &Invocation::file, &TaskFile::name),
    column("file_target_dir", &Invocation::file, &TaskFile::target_dir),
    column("file_mode", &Invocation::file, &TaskFile::mode),
    column("file_owner", &Invocation::file, &TaskFile::owner),
    column("file_group", &Invocation::file, &TaskFile::group),
    column("file_overwrite", &Invocation::file, &TaskFile::overwrite));
inline constexpr auto kInvocationColumns = std::tuple_cat(kInvocationId, kInvocationFields);
// A repeat invocation's targets are rows of their own (invocation_targets).
inline constexpr auto kTargetColumns = std::make_tuple(
    column("instance_id", &InvocationTarget::instance_id),
    column("repeats", &InvocationTarget::repeats), column("stopped", &InvocationTarget::stopped));

inline constexpr auto kTaskId =
    std::make_tuple(column("invocation_task_id", &InvocationTask::invocation_task_id));
inline constexpr auto kTaskFields = std::make_tuple(
    column("invocation_id", &InvocationTask::invocation_id),
    column("command_id", &InvocationTask::command_id),
    column("command_name", &InvocationTask::command_name),
    column("instance_id", &InvocationTask::instance_id), column("status", &InvocationTask::status),
    column("doc_content", &InvocationTask::document, &CommandDocument::content),
    column("doc_command_type", &InvocationTask::document, &CommandDocument::command_type),
    column("doc_timeout", &InvocationTask::document, &CommandDocument::timeout),
    column("doc_working_directory", &InvocationTask::document, &CommandDocument::working_directory),
    column("doc_username", &InvocationTask::document, &CommandDocument::username),
    column("doc_output_cos_bucket_url", &InvocationTask::document,
           &CommandDocument::output_cos_bucket_url),
    column("doc_output_cos_key_prefix", &InvocationTask::document,
           &CommandDocument::output_cos_key_prefix),
    column("enable_parameter", &InvocationTask::enable_parameter),
    column("parameters", &InvocationTask::parameters),
    column("invocation_source", &InvocationTask::invocation_source),
    column("exit_code", &InvocationTask::exit_code), column("output", &InvocationTask::output),
    column("dropped", &InvocationTask::dropped),
    column("exec_start_ms", &InvocationTask::exec_start_ms),
    column("exec_end_ms", &InvocationTask::exec_end_ms),
    column("output_url", &InvocationTask::output_url),
    column("output_upload_error", &InvocationTask::output_upload_error),
    column("error_info", &InvocationTask::error_info),
    column("start_ms", &InvocationTask::start_ms), column("end_ms", &InvocationTask::end_ms),
    column("created_ms", &InvocationTask::created_ms),
    column("updated_ms", &InvocationTask::updated_ms),
    column("delivered_ms", &InvocationTask::delivered_ms),
    column("last_log_index", &InvocationTask::last_log_index),
    column("cancel_requested", &InvocationTask::cancel_requested),
    column("run_number", &InvocationTask::run_number), column("slot_ms", &InvocationTask::slot_ms),
    column("latest_run", &InvocationTask::latest_run),
    column("doc_launcher", &InvocationTask::document, &CommandDocument::execution,
           &ExecutionSettings::launcher),
    column("doc_termination_mode", &InvocationTask::document, &CommandDocument::execution,
           &ExecutionSettings::termination_mode),
    column("doc_container_id", &InvocationTask::document, &CommandDocument::execution,
           &ExecutionSettings::container_id),
    column("doc_container_name", &InvocationTask::document, &CommandDocument::execution,
           &ExecutionSettings::container_name),
    // SendFile (migration 7)
    column("doc_file_name", &InvocationTask::document, &CommandDocument::file, &TaskFile::name),
    column("doc_file_target_dir", &InvocationTask::document, &CommandDocument::file,
           &TaskFile::target_dir),
    column("doc_file_mode", &InvocationTask::document, &CommandDocument::file, &TaskFile::mode),
    column("doc_file_owner", &InvocationTask::document, &CommandDocument::file, &TaskFile::owner),
    column("doc_file_group", &InvocationTask::document, &CommandDocument::file, &TaskFile::group),
    column("doc_file_overwrite", &InvocationTask::document, &CommandDocument::file,
           &TaskFile::overwrite));
inline constexpr auto kTaskColumns = std::tuple_cat(kTaskId, kTaskFields);
// The task columns to SELECT; HideOutput reads '' in place of the output, so that large outputs
// are not even loaded.
const std::string& task_columns(bool with_output);

inline constexpr auto kRegisterCodeColumns =
    std::make_tuple(column("register_code_id", &RegisterCode::register_code_id),
                    column("value_hash", &RegisterCode::value_hash),
                    column("description", &RegisterCode::description),
                    column("instance_name_prefix", &RegisterCode::instance_name_prefix),
                    column("register_limit", &RegisterCode::register_limit),
                    column("expired_ms", &RegisterCode::expired_ms),
                    column("ip_address_range", &RegisterCode::ip_address_range),
                    column("enabled", &RegisterCode::enabled),
                    column("registered_count", &RegisterCode::registered_count),
                    column("created_ms", &RegisterCode::created_ms),
                    column("updated_ms", &RegisterCode::updated_ms));

inline constexpr auto kInstanceColumns =
    std::make_tuple(column("instance_id", &RegisterInstance::instance_id),
                    column("register_code_id", &RegisterInstance::register_code_id),
                    column("instance_name", &RegisterInstance::instance_name),
                    column("machine_id", &RegisterInstance::machine_id),
                    column("system_name", &RegisterInstance::system_name),
                    column("host_name", &RegisterInstance::host_name),
                    column("local_ip", &RegisterInstance::local_ip),
                    column("public_key", &RegisterInstance::public_key),
                    column("created_ms", &RegisterInstance::created_ms),
                    column("updated_ms", &RegisterInstance::updated_ms),
                    column("agent_version", &RegisterInstance::agent_version),
                    column("last_heartbeat_ms", &RegisterInstance::last_heartbeat_ms),
                    column("environment", &RegisterInstance::environment),
                    column("support_features", &RegisterInstance::support_features),
                    column("boot_id", &RegisterInstance::boot_id));

inline constexpr auto kInvokerId = std::make_tuple(column("invoker_id", &Invoker::invoker_id));
// Instance ids and tags are rows of their own (invoker_instances, invoker_tags).
inline constexpr auto kInvokerFields = std::make_tuple(
    column("invoker_name", &Invoker::name), column("invoker_type", &Invoker::type),
    column("command_id", &Invoker::command_id), column("username", &Invoker::username),
    column("parameters", &Invoker::parameters), column("enabled", &Invoker::enabled),
    column("schedule_policy", &Invoker::schedule, &InvokerSchedule::policy),
    column("schedule_recurrence", &Invoker::schedule, &InvokerSchedule::recurrence),
    column("schedule_invoke_time_ms", &Invoker::schedule, &InvokerSchedule::invoke_time_ms),
    column("schedule_start_time_ms", &Invoker::schedule, &InvokerSchedule::start_time_ms),
    column("schedule_end_time_ms", &Invoker::schedule, &InvokerSchedule::end_time_ms),
    column("next_slot_ms", &Invoker::next_slot_ms), column("created_ms", &Invoker::created_ms),
    column("updated_ms", &Invoker::updated_ms));
inline constexpr auto kInvokerColumns = std::tuple_cat(kInvokerId, kInvokerFields);

inline constexpr auto kInvokerRecordColumns = std::make_tuple(
    column("invoker_id", &InvokerRecord::invoker_id), column("slot_ms", &InvokerRecord::slot_ms),
    column("invoke_ms", &InvokerRecord::invoke_ms), column("reason", &InvokerRecord::reason),
    column("invocation_id", &InvokerRecord::invocation_id),
    column("result", &InvokerRecord::result));

inline constexpr TagTable kCommandTags{"command_tags", "command_id"};
inline constexpr TagTable kInstanceTags{"instance_tags", "instance_id"};
inline constexpr TagTable kInvokerTags{"invoker_tags", "invoker_id"};
inline constexpr TagTable kInvocationTags{"invocation_tags", "invocation_id"};

inline constexpr auto kTagColumns =
    std::make_tuple(column("tag_key", &Tag::key), column("tag_value", &Tag::value));

// SELECT of one owner's tags in their order (the owner id bound).
std::string select_tags_sql(const TagTable& tags);
Expected<std::vector<Tag>> read_tags(Connection& conn, const std::string& select_sql,
                                     const std::string& owner_id);
// Replaces the owner's tags.
Status write_tags(Connection& conn, const TagTable& tags, const std::string& owner_id,
                  const std::vector<Tag>& values);
// INSERTs `item` with `sql` (insert_sql over `columns`, its id first). A taken id is
// kIdDuplicated, "<noun> <id> exists".
template <typename T, typename Columns>
Status insert_row(Connection& conn, const std::string& sql, const T& item, const Columns& columns,
                  std::string_view noun) {
  auto q = conn.query(sql);
  if (!q) {
    return q.error();
  }
  bind_row(*q, item, columns);
  return run_insert(*q, [&] {
    return Error{store_codes::kIdDuplicated,
                 std::string(noun) + " " + field(item, std::get<0>(columns)) + " exists"};
  });
}

// The row that `select_sql` finds for `id`, read by `columns`, with its tags; nullopt without.
template <typename T, typename Columns>
Expected<std::optional<T>> read_tagged(Connection& conn, const std::string& select_sql,
                                       const std::string& id, const Columns& columns,
                                       const TagTable& tags) {
  auto found =
      first_row(conn.prepare(select_sql, id), [&](Query& q) { return read_row<T>(q, columns); });
  if (!found || !*found) {
    return found;
  }
  auto read = read_tags(conn, select_tags_sql(tags), id);
  if (!read) {
    return read.error();
  }
  (*found)->tags = std::move(*read);
  return found;
}

// Reads the tags of each of `items` (T has `tags`; `id` is the member naming its owner).
template <typename T>
Status read_tags_of(Connection& conn, const TagTable& tags, std::vector<T>& items,
                    std::string T::*id) {
  const std::string sql = select_tags_sql(tags);
  for (auto& item : items) {
    auto read = read_tags(conn, sql, item.*id);
    if (!read) {
      return read.error();
    }
    item.tags = std::move(*read);
  }
  return {};
}

}  // namespace ferry::server::sql
