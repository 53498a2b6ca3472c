#include "ferry/server/store/sqlite_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "ferry/server/store/store_errors.hpp"
#include "sqlite_db.hpp"
#include "sqlite_schema.hpp"

namespace ferry::server {

namespace {

using sqlite::Connection;
using sqlite::migrations;
using sqlite::Query;
using sqlite::Transaction;
using sqlite::Value;
namespace sc = store_codes;

int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------------------------
// Connection pool: one connection per concurrent caller, so that readers run in parallel under
// WAL instead of queueing behind one connection's lock.

class Pool {
 public:
  Pool(std::filesystem::path file, SqliteOptions options)
      : file_(std::move(file)), options_(options) {}

  class Lease {
   public:
    Lease(Pool& pool, std::unique_ptr<Connection> conn) : pool_(&pool), conn_(std::move(conn)) {}
    Lease(Lease&& other) noexcept : pool_(other.pool_), conn_(std::move(other.conn_)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn_) {
        pool_->release(std::move(conn_));
      }
    }
    Connection& operator*() { return *conn_; }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  Expected<Lease> acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !idle_.empty() || open_ < options_.max_connections; });
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(conn));
    }
    ++open_;  // the slot is ours while the (slow) open runs outside the lock
    lock.unlock();
    auto conn = Connection::open(file_, options_.busy_timeout);
    if (!conn) {
      lock.lock();
      --open_;
      cv_.notify_one();
      return conn.error();
    }
    return Lease(*this, std::move(*conn));
  }

 private:
  void release(std::unique_ptr<Connection> conn) {
    // A connection still inside a transaction (its ROLLBACK failed) would hold locks for the
    // next caller: close it instead of reusing it.
    std::unique_ptr<Connection> drop;
    {
      std::lock_guard lock(mu_);
      if (conn->in_transaction()) {
        drop = std::move(conn);
        --open_;
      } else {
        idle_.push_back(std::move(conn));
      }
    }
    cv_.notify_one();
  }

  std::filesystem::path file_;
  SqliteOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Filters. Column names come from this file only; every value is a bound parameter.

std::string placeholders(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s += i == 0 ? "?" : ", ?";
  }
  return s;
}

struct Filter {
  std::vector<std::string> clauses;
  std::vector<Value> args;

  void in(std::string_view column, const std::vector<std::string>& values) {
    if (values.empty()) {
      return;
    }
    clauses.push_back(std::string(column) + " IN (" + placeholders(values.size()) + ")");
    args.insert(args.end(), values.begin(), values.end());
  }

  // tag_keys, tag_values and each tag:KEY pair are separate conditions on the owner's tags.
  void tags(std::string_view tag_table, std::string_view owner_column, std::string_view owner,
            const std::vector<std::string>& keys, const std::vector<std::string>& values,
            const std::vector<std::pair<std::string, std::vector<std::string>>>& pairs) {
    std::string exists = "EXISTS (SELECT 1 FROM " + std::string(tag_table) + " t WHERE t." +
                         std::string(owner_column) + " = " + std::string(owner) + "." +
                         std::string(owner_column);
    if (!keys.empty()) {
      clauses.push_back(exists + " AND t.tag_key IN (" + placeholders(keys.size()) + "))");
      args.insert(args.end(), keys.begin(), keys.end());
    }
    if (!values.empty()) {
      clauses.push_back(exists + " AND t.tag_value IN (" + placeholders(values.size()) + "))");
      args.insert(args.end(), values.begin(), values.end());
    }
    for (const auto& [key, vals] : pairs) {
      std::string c = exists + " AND t.tag_key = ?";
      args.emplace_back(key);
      // A pair without values matches on the key alone.
      if (!vals.empty()) {
        c += " AND t.tag_value IN (" + placeholders(vals.size()) + ")";
        args.insert(args.end(), vals.begin(), vals.end());
      }
      clauses.push_back(c + ")");
    }
  }

  [[nodiscard]] std::string where() const {
    std::string s;
    for (const auto& c : clauses) {
      s += s.empty() ? " WHERE " : " AND ";
      s += c;
    }
    return s;
  }
};

// Counts every match, then reads one page of them, newest first (id breaks ties so that pages
// do not overlap). Runs inside the caller's read transaction so that both see one snapshot.
// With `newest_first` (the same order as a comparison of items), the ORDER BY sorts only the
// page's ids and the rows are read by id, then put in that order here: for wide rows (task
// output) a sort of whole rows costs more than the rest of the read, since SQLite copies every
// row into a temporary b-tree to sort it.
template <typename T, typename Read, typename Less = std::nullptr_t>
Expected<Page<T>> read_page(Connection& conn, std::string_view table, std::string_view columns,
                            std::string_view id_column, const Filter& f, int64_t offset,
                            int64_t limit, Read read, Less newest_first = nullptr) {
  // Filtered SQL varies with the number of values: it goes to the bounded dynamic cache.
  const bool cache = f.args.empty();
  Page<T> page;
  {
    auto q = conn.query("SELECT COUNT(*) FROM " + std::string(table) + f.where(), cache);
    if (!q) {
      return q.error();
    }
    for (const auto& a : f.args) {
      q->bind_value(a);
    }
    auto row = q->step();
    if (!row) {
      return row.error();
    }
    page.total = *row ? q->next_int() : 0;
  }
  const std::string order = " ORDER BY created_ms DESC, " + std::string(id_column);
  std::string sql = "SELECT " + std::string(columns) + " FROM " + std::string(table);
  if constexpr (std::is_same_v<Less, std::nullptr_t>) {
    sql += f.where() + order + " LIMIT ? OFFSET ?";
  } else {
    sql += " WHERE " + std::string(id_column) + " IN (SELECT " + std::string(id_column) + " FROM " +
           std::string(table) + f.where() + order + " LIMIT ? OFFSET ?)";
  }
  auto q = conn.query(sql, cache);
  if (!q) {
    return q.error();
  }
  for (const auto& a : f.args) {
    q->bind_value(a);
  }
  q->bind_int(limit < 0 ? 0 : limit).bind_int(offset < 0 ? 0 : offset);
  const int64_t rows = std::min(limit, page.total - std::max<int64_t>(offset, 0));
  page.items.reserve(static_cast<std::size_t>(std::max<int64_t>(rows, 0)));
  for (;;) {
    auto row = q->step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      break;
    }
    auto item = read(*q);
    if (!item) {
      return item.error();
    }
    page.items.push_back(std::move(*item));
  }
  if constexpr (!std::is_same_v<Less, std::nullptr_t>) {
    // Sorted by index, then moved once: items are wide, and std::sort would move each many times.
    std::vector<std::size_t> ranks(page.items.size());
    for (std::size_t i = 0; i < ranks.size(); ++i) {
      ranks[i] = i;
    }
    std::sort(ranks.begin(), ranks.end(), [&](std::size_t a, std::size_t b) {
      return newest_first(page.items[a], page.items[b]);
    });
    std::vector<T> sorted;
    sorted.reserve(ranks.size());
    for (const std::size_t i : ranks) {
      sorted.push_back(std::move(page.items[i]));
    }
    page.items = std::move(sorted);
  }
  return page;
}

Error corrupt(std::string_view what) {
  return Error{store_codes::kFailed, "stored " + std::string(what) + " is malformed"};
}

// ---------------------------------------------------------------------------------------------
// Commands.

constexpr const char* kCommandColumns =
    "command_id, command_name, description, content, command_type, working_directory, timeout, "
    "enable_parameter, default_parameters, default_parameter_confs, username, "
    "output_cos_bucket_url, output_cos_key_prefix, created_by, saved, created_ms, updated_ms";

std::string confs_to_json(const std::vector<DefaultParameterConf>& confs) {
  auto j = nlohmann::json::array();
  for (const auto& c : confs) {
    j.push_back({{"name", c.name}, {"value", c.value}, {"description", c.description}});
  }
  return j.dump();
}

Expected<std::vector<DefaultParameterConf>> confs_from_json(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) {
    return corrupt("default parameter confs");
  }
  std::vector<DefaultParameterConf> out;
  for (const auto& e : j) {
    if (!e.is_object() || !e.value("name", nlohmann::json()).is_string() ||
        !e.value("value", nlohmann::json()).is_string() ||
        !e.value("description", nlohmann::json()).is_string()) {
      return corrupt("default parameter confs");
    }
    out.push_back({e["name"].get<std::string>(), e["value"].get<std::string>(),
                   e["description"].get<std::string>()});
  }
  return out;
}

std::string strings_to_json(const std::vector<std::string>& v) {
  return nlohmann::json(v).dump();
}

Expected<std::vector<std::string>> strings_from_json(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) {
    return corrupt("support features");
  }
  std::vector<std::string> out;
  for (const auto& e : j) {
    if (!e.is_string()) {
      return corrupt("support features");
    }
    out.push_back(e.get<std::string>());
  }
  return out;
}

Expected<Command> read_command(Query& q) {
  Command c;
  c.command_id = q.next_text();
  c.command_name = q.next_text();
  c.description = q.next_text();
  c.content = q.next_text();
  c.command_type = q.next_text();
  c.working_directory = q.next_text();
  c.timeout = q.next_int();
  c.enable_parameter = q.next_bool();
  c.default_parameters = q.next_text();
  auto confs = confs_from_json(q.next_text());
  if (!confs) {
    return confs.error();
  }
  c.default_parameter_confs = std::move(*confs);
  c.username = q.next_text();
  c.output_cos_bucket_url = q.next_text();
  c.output_cos_key_prefix = q.next_text();
  c.created_by = q.next_text();
  c.saved = q.next_bool();
  c.created_ms = q.next_int();
  c.updated_ms = q.next_int();
  return c;
}

Expected<std::vector<Tag>> read_tags(Connection& conn, const std::string& sql,
                                     const std::string& owner_id) {
  auto q = conn.query(sql);
  if (!q) {
    return q.error();
  }
  q->bind_text(owner_id);
  std::vector<Tag> tags;
  for (;;) {
    auto row = q->step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return tags;
    }
    Tag t;
    t.key = q->next_text();
    t.value = q->next_text();
    tags.push_back(std::move(t));
  }
}

Status write_tags(Connection& conn, std::string_view table, std::string_view owner_column,
                  const std::string& owner_id, const std::vector<Tag>& tags) {
  {
    auto q = conn.query("DELETE FROM " + std::string(table) + " WHERE " +
                        std::string(owner_column) + " = ?");
    if (!q) {
      return q.error();
    }
    if (auto s = q->bind_text(owner_id).run(); !s) {
      return s;
    }
  }
  auto sql = "INSERT INTO " + std::string(table) + " (" + std::string(owner_column) +
             ", ordinal, tag_key, tag_value) VALUES (?, ?, ?, ?)";
  for (std::size_t i = 0; i < tags.size(); ++i) {
    auto q = conn.query(sql);
    if (!q) {
      return q.error();
    }
    q->bind_text(owner_id)
        .bind_int(static_cast<int64_t>(i))
        .bind_text(tags[i].key)
        .bind_text(tags[i].value);
    if (auto s = q->run(); !s) {
      return s;
    }
  }
  return {};
}

const std::string kCommandTagsSql =
    "SELECT tag_key, tag_value FROM command_tags WHERE command_id = ? ORDER BY ordinal";
const std::string kInstanceTagsSql =
    "SELECT tag_key, tag_value FROM instance_tags WHERE instance_id = ? ORDER BY ordinal";

Expected<std::optional<Command>> load_command(Connection& conn, const std::string& id) {
  Command c;
  {
    auto q = conn.query(std::string("SELECT ") + kCommandColumns +
                        " FROM commands WHERE command_id = ?");
    if (!q) {
      return q.error();
    }
    q->bind_text(id);
    auto row = q->step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return std::optional<Command>();
    }
    auto read = read_command(*q);
    if (!read) {
      return read.error();
    }
    c = std::move(*read);
  }
  auto tags = read_tags(conn, kCommandTagsSql, c.command_id);
  if (!tags) {
    return tags.error();
  }
  c.tags = std::move(*tags);
  return std::optional<Command>(std::move(c));
}

// A saved command's name must be free among the other saved commands.
Status check_command_name(Connection& conn, const Command& c) {
  if (!c.saved) {
    return {};
  }
  auto q =
      conn.query("SELECT 1 FROM commands WHERE command_name = ? AND saved = 1 AND command_id <> ?");
  if (!q) {
    return q.error();
  }
  q->bind_text(c.command_name).bind_text(c.command_id);
  auto row = q->step();
  if (!row) {
    return row.error();
  }
  if (*row) {
    return Error{sc::kCommandNameDuplicated, "a saved command is already named this"};
  }
  return {};
}

// Maps a failed INSERT's key conflict onto `duplicate`; other failures stay internal.
Status run_insert(Query& q, const Error& duplicate) {
  auto s = q.run();
  if (!s && (q.last_code() == SQLITE_CONSTRAINT_PRIMARYKEY ||
             q.last_code() == SQLITE_CONSTRAINT_UNIQUE)) {
    return duplicate;
  }
  return s;
}

Status insert_command_row(Connection& conn, const Command& c) {
  if (auto s = check_command_name(conn, c); !s) {
    return s;
  }
  auto q = conn.query(std::string("INSERT INTO commands (") + kCommandColumns +
                      ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!q) {
    return q.error();
  }
  q->bind_text(c.command_id)
      .bind_text(c.command_name)
      .bind_text(c.description)
      .bind_text(c.content)
      .bind_text(c.command_type)
      .bind_text(c.working_directory)
      .bind_int(c.timeout)
      .bind_bool(c.enable_parameter)
      .bind_text(c.default_parameters)
      .bind_text(confs_to_json(c.default_parameter_confs))
      .bind_text(c.username)
      .bind_text(c.output_cos_bucket_url)
      .bind_text(c.output_cos_key_prefix)
      .bind_text(c.created_by)
      .bind_bool(c.saved)
      .bind_int(c.created_ms)
      .bind_int(c.updated_ms);
  if (auto s = run_insert(*q, Error{sc::kIdDuplicated, "command " + c.command_id + " exists"});
      !s) {
    return s;
  }
  return write_tags(conn, "command_tags", "command_id", c.command_id, c.tags);
}

// ---------------------------------------------------------------------------------------------
// Invocations and tasks.

constexpr const char* kInvocationColumns =
    "invocation_id, command_id, command_name, description, parameters, default_parameters, "
    "instance_kind, username, invocation_source, command_content, command_type, timeout, "
    "working_directory, output_cos_bucket_url, output_cos_key_prefix, created_ms, updated_ms";

Expected<Invocation> read_invocation(Query& q) {
  Invocation i;
  i.invocation_id = q.next_text();
  i.command_id = q.next_text();
  i.command_name = q.next_text();
  i.description = q.next_text();
  i.parameters = q.next_text();
  i.default_parameters = q.next_text();
  i.instance_kind = q.next_text();
  i.username = q.next_text();
  i.invocation_source = q.next_text();
  i.command_content = q.next_text();
  i.command_type = q.next_text();
  i.timeout = q.next_int();
  i.working_directory = q.next_text();
  i.output_cos_bucket_url = q.next_text();
  i.output_cos_key_prefix = q.next_text();
  i.created_ms = q.next_int();
  i.updated_ms = q.next_int();
  return i;
}

// HideOutput reads '' in place of the output, so that large outputs are not even loaded.
std::string task_columns(bool with_output) {
  return std::string(
             "invocation_task_id, invocation_id, command_id, command_name, instance_id, status, "
             "doc_content, doc_command_type, doc_timeout, doc_working_directory, doc_username, "
             "doc_output_cos_bucket_url, doc_output_cos_key_prefix, enable_parameter, "
             "parameters, invocation_source, exit_code, ") +
         (with_output ? "output" : "''") +
         ", dropped, exec_start_ms, exec_end_ms, output_url, output_upload_error, error_info, "
         "start_ms, end_ms, created_ms, updated_ms, delivered_ms, last_log_index, "
         "cancel_requested";
}

Expected<InvocationTask> read_task(Query& q) {
  InvocationTask t;
  t.invocation_task_id = q.next_text();
  t.invocation_id = q.next_text();
  t.command_id = q.next_text();
  t.command_name = q.next_text();
  t.instance_id = q.next_text();
  auto status = parse_task_status(q.next_text());
  if (!status) {
    return corrupt("task status");
  }
  t.status = *status;
  t.document.content = q.next_text();
  t.document.command_type = q.next_text();
  t.document.timeout = q.next_int();
  t.document.working_directory = q.next_text();
  t.document.username = q.next_text();
  t.document.output_cos_bucket_url = q.next_text();
  t.document.output_cos_key_prefix = q.next_text();
  t.enable_parameter = q.next_bool();
  t.parameters = q.next_text();
  t.invocation_source = q.next_text();
  t.exit_code = q.next_opt_int();
  t.output = q.next_text();
  t.dropped = static_cast<uint64_t>(q.next_int());
  t.exec_start_ms = q.next_int();
  t.exec_end_ms = q.next_int();
  t.output_url = q.next_text();
  t.output_upload_error = q.next_text();
  t.error_info = q.next_text();
  t.start_ms = q.next_int();
  t.end_ms = q.next_int();
  t.created_ms = q.next_int();
  t.updated_ms = q.next_int();
  t.delivered_ms = q.next_int();
  t.last_log_index = q.next_int();
  t.cancel_requested = q.next_bool();
  return t;
}

// Binds every column of task_columns(true) but the id, in order; the id is bound by the caller
// (first for INSERT, last for UPDATE).
void bind_task_fields(Query& q, const InvocationTask& t) {
  q.bind_text(t.invocation_id)
      .bind_text(t.command_id)
      .bind_text(t.command_name)
      .bind_text(t.instance_id)
      .bind_text(to_string(t.status))
      .bind_text(t.document.content)
      .bind_text(t.document.command_type)
      .bind_int(t.document.timeout)
      .bind_text(t.document.working_directory)
      .bind_text(t.document.username)
      .bind_text(t.document.output_cos_bucket_url)
      .bind_text(t.document.output_cos_key_prefix)
      .bind_bool(t.enable_parameter)
      .bind_text(t.parameters)
      .bind_text(t.invocation_source)
      .bind_opt_int(t.exit_code)
      .bind_text(t.output)
      .bind_int(static_cast<int64_t>(t.dropped))
      .bind_int(t.exec_start_ms)
      .bind_int(t.exec_end_ms)
      .bind_text(t.output_url)
      .bind_text(t.output_upload_error)
      .bind_text(t.error_info)
      .bind_int(t.start_ms)
      .bind_int(t.end_ms)
      .bind_int(t.created_ms)
      .bind_int(t.updated_ms)
      .bind_int(t.delivered_ms)
      .bind_int(t.last_log_index)
      .bind_bool(t.cancel_requested);
}

Expected<std::optional<InvocationTask>> load_task(Connection& conn, const std::string& id) {
  auto q = conn.query("SELECT " + task_columns(true) +
                      " FROM invocation_tasks WHERE invocation_task_id = ?");
  if (!q) {
    return q.error();
  }
  q->bind_text(id);
  auto row = q->step();
  if (!row) {
    return row.error();
  }
  if (!*row) {
    return std::optional<InvocationTask>();
  }
  auto t = read_task(*q);
  if (!t) {
    return t.error();
  }
  return std::optional<InvocationTask>(std::move(*t));
}

// ---------------------------------------------------------------------------------------------
// Register codes and instances.

constexpr const char* kRegisterCodeColumns =
    "register_code_id, value_hash, description, instance_name_prefix, register_limit, "
    "expired_ms, ip_address_range, enabled, registered_count, created_ms, updated_ms";

Expected<RegisterCode> read_register_code(Query& q) {
  RegisterCode c;
  c.register_code_id = q.next_text();
  c.value_hash = q.next_text();
  c.description = q.next_text();
  c.instance_name_prefix = q.next_text();
  c.register_limit = q.next_int();
  c.expired_ms = q.next_int();
  c.ip_address_range = q.next_text();
  c.enabled = q.next_bool();
  c.registered_count = q.next_int();
  c.created_ms = q.next_int();
  c.updated_ms = q.next_int();
  return c;
}

constexpr const char* kInstanceColumns =
    "instance_id, register_code_id, instance_name, machine_id, system_name, host_name, "
    "local_ip, public_key, created_ms, updated_ms, agent_version, last_heartbeat_ms, "
    "environment, support_features";

Expected<RegisterInstance> read_instance(Query& q) {
  RegisterInstance i;
  i.instance_id = q.next_text();
  i.register_code_id = q.next_text();
  i.instance_name = q.next_text();
  i.machine_id = q.next_text();
  i.system_name = q.next_text();
  i.host_name = q.next_text();
  i.local_ip = q.next_text();
  i.public_key = q.next_text();
  i.created_ms = q.next_int();
  i.updated_ms = q.next_int();
  i.agent_version = q.next_text();
  i.last_heartbeat_ms = q.next_int();
  i.environment = q.next_text();
  auto features = strings_from_json(q.next_text());
  if (!features) {
    return features.error();
  }
  i.support_features = std::move(*features);
  return i;
}

// Checks that every id names a row of `table` (before an all-or-none change).
Status require_all(Connection& conn, std::string_view table, std::string_view id_column,
                   const std::vector<std::string>& ids, const char* code, std::string_view noun) {
  auto sql = "SELECT 1 FROM " + std::string(table) + " WHERE " + std::string(id_column) + " = ?";
  for (const auto& id : ids) {
    auto q = conn.query(sql);
    if (!q) {
      return q.error();
    }
    q->bind_text(id);
    auto row = q->step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return Error{code, std::string(noun) + " " + id + " not found"};
    }
  }
  return {};
}

Status delete_all(Connection& conn, std::string_view table, std::string_view id_column,
                  const std::vector<std::string>& ids) {
  auto sql = "DELETE FROM " + std::string(table) + " WHERE " + std::string(id_column) + " = ?";
  for (const auto& id : ids) {
    auto q = conn.query(sql);
    if (!q) {
      return q.error();
    }
    if (auto s = q->bind_text(id).run(); !s) {
      return s;
    }
  }
  return {};
}

Status expect_changed(Connection& conn, const char* code, std::string_view noun,
                      const std::string& id) {
  if (conn.changes() == 0) {
    return Error{code, std::string(noun) + " " + id + " not found"};
  }
  return {};
}

// Creates the database file 0600 before SQLite does, so that its default (0644 less the umask)
// never applies; SQLite gives the -wal and -shm files the database file's mode. An existing file
// is left as its owner set it.
Status create_private_file(const std::filesystem::path& file) {
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return {};
    }
    return errno_error(store_codes::kFailed, "creating " + file.string(), errno);
  }
  // The umask only clears bits, but a umask like 0277 would clear ours too.
  int rc = ::fchmod(fd, 0600);
  int err = errno;
  ::close(fd);
  if (rc != 0) {
    return errno_error(store_codes::kFailed, "chmod " + file.string(), err);
  }
  // The new directory entry must survive a crash like the data written into the file.
  auto dir = file.parent_path().empty() ? std::filesystem::path(".") : file.parent_path();
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

// ---------------------------------------------------------------------------------------------

class SqliteStore final : public Store {
 public:
  SqliteStore(const std::filesystem::path& file, SqliteOptions options)
      : file_(file), pool_(file, options) {}

  Status migrate() {
    auto lease = pool_.acquire();
    if (!lease) {
      return lease.error().wrap("opening " + file_.string());
    }
    Connection& conn = **lease;
    auto s = write_in(conn, "creating schema_migrations", [&](Connection& c) -> Status {
      return c.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          "version INTEGER NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)");
    });
    if (!s) {
      return s.error().wrap(file_.string());
    }
    const int64_t latest = sqlite_schema_version();
    for (const auto& m : migrations()) {
      // Each step re-reads the version inside its write transaction: another process opening
      // the same file at the same moment applies each step once between the two of them.
      s = write_in(conn, "migrating", [&](Connection& c) -> Status {
        auto q = c.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
        if (!q) {
          return q.error();
        }
        auto row = q->step();
        if (!row) {
          return row.error();
        }
        const int64_t current = *row ? q->next_int() : 0;
        if (current > latest) {
          return Error{store_codes::kFailed,
                       "the database has schema version " + std::to_string(current) +
                           ", newer than this ferry-server knows (" + std::to_string(latest) +
                           "): upgrade ferry-server"};
        }
        if (current >= m.version) {
          return {};
        }
        for (const char* sql : m.statements) {
          if (auto e = c.exec(sql); !e) {
            return e.error().wrap("schema version " + std::to_string(m.version));
          }
        }
        auto ins = c.query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)");
        if (!ins) {
          return ins.error();
        }
        return ins->bind_int(m.version).bind_int(now_unix_ms()).run();
      });
      if (!s) {
        return s.error().wrap(file_.string());
      }
    }
    return {};
  }

  // --- Commands ---

  Status insert_command(const Command& c) override {
    return write("inserting a command",
                 [&](Connection& conn) { return insert_command_row(conn, c); });
  }

  Expected<std::optional<Command>> get_command(const std::string& id) override {
    return read_txn("reading a command", [&](Connection& conn) { return load_command(conn, id); });
  }

  Expected<Command> modify_command(const std::string& id,
                                   const std::function<Status(Command&)>& mutate) override {
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
      auto q = conn.query(
          "UPDATE commands SET command_name = ?, description = ?, content = ?, "
          "command_type = ?, working_directory = ?, timeout = ?, enable_parameter = ?, "
          "default_parameters = ?, default_parameter_confs = ?, username = ?, "
          "output_cos_bucket_url = ?, output_cos_key_prefix = ?, created_by = ?, saved = ?, "
          "created_ms = ?, updated_ms = ? WHERE command_id = ?");
      if (!q) {
        return q.error();
      }
      q->bind_text(c.command_name)
          .bind_text(c.description)
          .bind_text(c.content)
          .bind_text(c.command_type)
          .bind_text(c.working_directory)
          .bind_int(c.timeout)
          .bind_bool(c.enable_parameter)
          .bind_text(c.default_parameters)
          .bind_text(confs_to_json(c.default_parameter_confs))
          .bind_text(c.username)
          .bind_text(c.output_cos_bucket_url)
          .bind_text(c.output_cos_key_prefix)
          .bind_text(c.created_by)
          .bind_bool(c.saved)
          .bind_int(c.created_ms)
          .bind_int(c.updated_ms)
          .bind_text(id);
      if (auto s = run_insert(
              *q, Error{sc::kCommandNameDuplicated, "a saved command is already named this"});
          !s) {
        return s.error();
      }
      if (auto s = write_tags(conn, "command_tags", "command_id", id, c.tags); !s) {
        return s.error();
      }
      return c;
    });
  }

  Status delete_commands(const std::vector<std::string>& ids) override {
    return write("deleting commands", [&](Connection& conn) -> Status {
      if (auto s =
              require_all(conn, "commands", "command_id", ids, sc::kCommandNotFound, "command");
          !s) {
        return s;
      }
      return delete_all(conn, "commands", "command_id", ids);
    });
  }

  Expected<Page<Command>> list_commands(const CommandQuery& cq) override {
    return read_txn("listing commands", [&](Connection& conn) -> Expected<Page<Command>> {
      Filter f;
      f.in("command_id", cq.command_ids);
      f.in("command_name", cq.command_names);
      f.in("command_type", cq.command_types);
      f.in("created_by", cq.created_by);
      f.tags("command_tags", "command_id", "commands", cq.tag_keys, cq.tag_values, cq.tag_pairs);
      if (cq.saved_only) {
        f.clauses.emplace_back("saved = 1");
      }
      auto page = read_page<Command>(conn, "commands", kCommandColumns, "command_id", f, cq.offset,
                                     cq.limit, read_command);
      if (!page) {
        return page;
      }
      for (auto& c : page->items) {
        auto tags = read_tags(conn, kCommandTagsSql, c.command_id);
        if (!tags) {
          return tags.error();
        }
        c.tags = std::move(*tags);
      }
      return page;
    });
  }

  Expected<int64_t> count_saved_commands() override {
    return read("counting commands", [&](Connection& conn) -> Expected<int64_t> {
      auto q = conn.query("SELECT COUNT(*) FROM commands WHERE saved = 1");
      if (!q) {
        return q.error();
      }
      auto row = q->step();
      if (!row) {
        return row.error();
      }
      return *row ? q->next_int() : 0;
    });
  }

  // --- Invocations and tasks ---

  Status insert_invocation(const std::optional<Command>& command, const Invocation& inv,
                           const std::vector<InvocationTask>& tasks) override {
    return write("inserting an invocation", [&](Connection& conn) -> Status {
      if (command) {
        if (auto s = insert_command_row(conn, *command); !s) {
          return s;
        }
      }
      {
        auto q = conn.query(std::string("INSERT INTO invocations (") + kInvocationColumns +
                            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        if (!q) {
          return q.error();
        }
        q->bind_text(inv.invocation_id)
            .bind_text(inv.command_id)
            .bind_text(inv.command_name)
            .bind_text(inv.description)
            .bind_text(inv.parameters)
            .bind_text(inv.default_parameters)
            .bind_text(inv.instance_kind)
            .bind_text(inv.username)
            .bind_text(inv.invocation_source)
            .bind_text(inv.command_content)
            .bind_text(inv.command_type)
            .bind_int(inv.timeout)
            .bind_text(inv.working_directory)
            .bind_text(inv.output_cos_bucket_url)
            .bind_text(inv.output_cos_key_prefix)
            .bind_int(inv.created_ms)
            .bind_int(inv.updated_ms);
        if (auto s = run_insert(
                *q, Error{sc::kIdDuplicated, "invocation " + inv.invocation_id + " exists"});
            !s) {
          return s;
        }
      }
      for (const auto& t : tasks) {
        auto q = conn.query(kInsertTaskSql);
        if (!q) {
          return q.error();
        }
        q->bind_text(t.invocation_task_id);
        bind_task_fields(*q, t);
        if (auto s = run_insert(
                *q, Error{sc::kIdDuplicated, "task " + t.invocation_task_id + " exists"});
            !s) {
          return s;
        }
      }
      return {};
    });
  }

  Expected<std::optional<Invocation>> get_invocation(const std::string& id) override {
    return read("reading an invocation",
                [&](Connection& conn) -> Expected<std::optional<Invocation>> {
                  auto q = conn.query(std::string("SELECT ") + kInvocationColumns +
                                      " FROM invocations WHERE invocation_id = ?");
                  if (!q) {
                    return q.error();
                  }
                  q->bind_text(id);
                  auto row = q->step();
                  if (!row) {
                    return row.error();
                  }
                  if (!*row) {
                    return std::optional<Invocation>();
                  }
                  auto inv = read_invocation(*q);
                  if (!inv) {
                    return inv.error();
                  }
                  return std::optional<Invocation>(std::move(*inv));
                });
  }

  Expected<Page<Invocation>> list_invocations(const InvocationQuery& iq) override {
    return read_txn("listing invocations", [&](Connection& conn) {
      Filter f;
      f.in("invocation_id", iq.invocation_ids);
      f.in("command_id", iq.command_ids);
      f.in("invocation_source", iq.sources);
      if (!iq.instance_ids.empty()) {
        f.clauses.push_back(
            "EXISTS (SELECT 1 FROM invocation_tasks t WHERE t.invocation_id = "
            "invocations.invocation_id AND t.instance_id IN (" +
            placeholders(iq.instance_ids.size()) + "))");
        f.args.insert(f.args.end(), iq.instance_ids.begin(), iq.instance_ids.end());
      }
      return read_page<Invocation>(conn, "invocations", kInvocationColumns, "invocation_id", f,
                                   iq.offset, iq.limit, read_invocation);
    });
  }

  Expected<std::optional<InvocationTask>> get_task(const std::string& id) override {
    return read("reading a task", [&](Connection& conn) { return load_task(conn, id); });
  }

  Expected<Page<InvocationTask>> list_tasks(const TaskQuery& tq) override {
    return read_txn("listing tasks", [&](Connection& conn) {
      Filter f;
      f.in("invocation_task_id", tq.task_ids);
      f.in("invocation_id", tq.invocation_ids);
      f.in("instance_id", tq.instance_ids);
      f.in("command_id", tq.command_ids);
      std::vector<std::string> statuses;
      for (auto s : tq.statuses) {
        statuses.emplace_back(to_string(s));
      }
      f.in("status", statuses);
      // ORDER BY created_ms DESC, invocation_task_id (BINARY collation: bytewise, as here).
      const auto newest_first = [](const InvocationTask& a, const InvocationTask& b) {
        return a.created_ms != b.created_ms ? a.created_ms > b.created_ms
                                            : a.invocation_task_id < b.invocation_task_id;
      };
      return read_page<InvocationTask>(conn, "invocation_tasks", task_columns(tq.with_output),
                                       "invocation_task_id", f, tq.offset, tq.limit, read_task,
                                       newest_first);
    });
  }

  Expected<std::optional<InvocationTask>> modify_task(
      const std::string& id, const std::function<bool(InvocationTask&)>& mutate) override {
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
                   auto q = conn.query(kUpdateTaskSql);
                   if (!q) {
                     return q.error();
                   }
                   bind_task_fields(*q, t);
                   q->bind_text(id);
                   if (auto s = q->run(); !s) {
                     return s.error();
                   }
                   return std::optional<InvocationTask>(std::move(t));
                 });
  }

  Status put_task_log(const std::string& task_id, int64_t index, const std::string& data) override {
    return write("storing a task log piece", [&](Connection& conn) -> Status {
      if (auto s = require_all(conn, "invocation_tasks", "invocation_task_id", {task_id},
                               sc::kInvocationTaskNotFound, "task");
          !s) {
        return s;
      }
      {
        auto q = conn.query(
            "INSERT INTO task_logs (task_id, piece_index, data) VALUES (?, ?, ?) "
            "ON CONFLICT (task_id, piece_index) DO NOTHING");
        if (!q) {
          return q.error();
        }
        if (auto s = q->bind_text(task_id).bind_int(index).bind_blob(data).run(); !s) {
          return s;
        }
      }
      if (conn.changes() == 0) {
        return {};  // a repeated piece
      }
      // Kept here, in the piece's own transaction, so that it never lags the pieces stored.
      auto q = conn.query(
          "UPDATE invocation_tasks SET last_log_index = ? "
          "WHERE invocation_task_id = ? AND last_log_index < ?");
      if (!q) {
        return q.error();
      }
      return q->bind_int(index).bind_text(task_id).bind_int(index).run();
    });
  }

  Expected<std::string> task_log(const std::string& task_id) override {
    return read("reading a task log", [&](Connection& conn) -> Expected<std::string> {
      auto q = conn.query("SELECT data FROM task_logs WHERE task_id = ? ORDER BY piece_index");
      if (!q) {
        return q.error();
      }
      q->bind_text(task_id);
      std::string out;
      for (;;) {
        auto row = q->step();
        if (!row) {
          return row.error();
        }
        if (!*row) {
          return out;
        }
        out += q->next_blob();
      }
    });
  }

  // --- Register codes ---

  Status insert_register_code(const RegisterCode& c) override {
    return write("inserting a register code", [&](Connection& conn) -> Status {
      auto q = conn.query(std::string("INSERT INTO register_codes (") + kRegisterCodeColumns +
                          ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      if (!q) {
        return q.error();
      }
      q->bind_text(c.register_code_id)
          .bind_text(c.value_hash)
          .bind_text(c.description)
          .bind_text(c.instance_name_prefix)
          .bind_int(c.register_limit)
          .bind_int(c.expired_ms)
          .bind_text(c.ip_address_range)
          .bind_bool(c.enabled)
          .bind_int(c.registered_count)
          .bind_int(c.created_ms)
          .bind_int(c.updated_ms);
      return run_insert(
          *q, Error{sc::kIdDuplicated, "register code " + c.register_code_id + " exists"});
    });
  }

  Expected<Page<RegisterCode>> list_register_codes(const std::vector<std::string>& ids,
                                                   int64_t offset, int64_t limit) override {
    return read_txn("listing register codes", [&](Connection& conn) {
      Filter f;
      f.in("register_code_id", ids);
      return read_page<RegisterCode>(conn, "register_codes", kRegisterCodeColumns,
                                     "register_code_id", f, offset, limit, read_register_code);
    });
  }

  Status set_register_codes_enabled(const std::vector<std::string>& ids, bool enabled,
                                    int64_t now_ms) override {
    return write("updating register codes", [&](Connection& conn) -> Status {
      if (auto s = require_all(conn, "register_codes", "register_code_id", ids,
                               sc::kRegisterCodeNotFound, "register code");
          !s) {
        return s;
      }
      for (const auto& id : ids) {
        auto q = conn.query(
            "UPDATE register_codes SET enabled = ?, updated_ms = ? WHERE register_code_id = ?");
        if (!q) {
          return q.error();
        }
        if (auto s = q->bind_bool(enabled).bind_int(now_ms).bind_text(id).run(); !s) {
          return s;
        }
      }
      return {};
    });
  }

  Status delete_register_codes(const std::vector<std::string>& ids) override {
    return write("deleting register codes", [&](Connection& conn) -> Status {
      if (auto s = require_all(conn, "register_codes", "register_code_id", ids,
                               sc::kRegisterCodeNotFound, "register code");
          !s) {
        return s;
      }
      return delete_all(conn, "register_codes", "register_code_id", ids);
    });
  }

  // --- Instances ---

  Status register_instance(const RegistrationCheck& check, const RegisterInstance& inst) override {
    return write("registering an instance", [&](Connection& conn) -> Status {
      RegisterCode code;
      {
        auto q = conn.query(std::string("SELECT ") + kRegisterCodeColumns +
                            " FROM register_codes WHERE register_code_id = ?");
        if (!q) {
          return q.error();
        }
        q->bind_text(check.register_code_id);
        auto row = q->step();
        if (!row) {
          return row.error();
        }
        if (!*row) {
          return Error{sc::kRegisterCodeNotFound,
                       "register code " + check.register_code_id + " not found"};
        }
        auto c = read_register_code(*q);
        if (!c) {
          return c.error();
        }
        code = std::move(*c);
      }
      // The value first: without it a caller learns nothing of the code's state.
      if (code.value_hash != check.value_hash) {
        return Error{sc::kRegisterCodeValueMismatch, "register code value does not match"};
      }
      if (!code.enabled) {
        return Error{sc::kRegisterCodeDisabled, "register code is disabled"};
      }
      if (code.expired_ms != 0 && check.now_ms >= code.expired_ms) {
        return Error{sc::kRegisterCodeExpired, "register code has expired"};
      }
      {
        auto q = conn.query("SELECT 1 FROM revoked_keys WHERE public_key = ?");
        if (!q) {
          return q.error();
        }
        q->bind_text(inst.public_key);
        auto row = q->step();
        if (!row) {
          return row.error();
        }
        if (*row) {
          return Error{sc::kKeyRevoked,
                       "the key belonged to a deleted instance; register with a new key"};
        }
      }
      if (code.registered_count >= code.register_limit) {
        return Error{sc::kRegisterLimitExceeded, "register code has reached its register limit"};
      }
      if (check.extra) {
        if (auto s = check.extra(code); !s) {
          return s;
        }
      }
      {
        auto q = conn.query(
            "UPDATE register_codes SET registered_count = registered_count + 1 "
            "WHERE register_code_id = ?");
        if (!q) {
          return q.error();
        }
        if (auto s = q->bind_text(code.register_code_id).run(); !s) {
          return s;
        }
      }
      auto q = conn.query(std::string("INSERT INTO register_instances (") + kInstanceColumns +
                          ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      if (!q) {
        return q.error();
      }
      q->bind_text(inst.instance_id)
          .bind_text(inst.register_code_id)
          .bind_text(inst.instance_name)
          .bind_text(inst.machine_id)
          .bind_text(inst.system_name)
          .bind_text(inst.host_name)
          .bind_text(inst.local_ip)
          .bind_text(inst.public_key)
          .bind_int(inst.created_ms)
          .bind_int(inst.updated_ms)
          .bind_text(inst.agent_version)
          .bind_int(inst.last_heartbeat_ms)
          .bind_text(inst.environment)
          .bind_text(strings_to_json(inst.support_features));
      if (auto s =
              run_insert(*q, Error{sc::kIdDuplicated, "instance " + inst.instance_id + " exists"});
          !s) {
        return s;
      }
      return write_tags(conn, "instance_tags", "instance_id", inst.instance_id, inst.tags);
    });
  }

  Expected<std::optional<RegisterInstance>> get_instance(const std::string& id) override {
    return read_txn("reading an instance",
                    [&](Connection& conn) -> Expected<std::optional<RegisterInstance>> {
                      RegisterInstance inst;
                      {
                        auto q = conn.query(std::string("SELECT ") + kInstanceColumns +
                                            " FROM register_instances WHERE instance_id = ?");
                        if (!q) {
                          return q.error();
                        }
                        q->bind_text(id);
                        auto row = q->step();
                        if (!row) {
                          return row.error();
                        }
                        if (!*row) {
                          return std::optional<RegisterInstance>();
                        }
                        auto r = read_instance(*q);
                        if (!r) {
                          return r.error();
                        }
                        inst = std::move(*r);
                      }
                      auto tags = read_tags(conn, kInstanceTagsSql, id);
                      if (!tags) {
                        return tags.error();
                      }
                      inst.tags = std::move(*tags);
                      return std::optional<RegisterInstance>(std::move(inst));
                    });
  }

  Expected<Page<RegisterInstance>> list_instances(const RegisterInstanceQuery& iq) override {
    return read_txn("listing instances", [&](Connection& conn) -> Expected<Page<RegisterInstance>> {
      Filter f;
      f.in("instance_id", iq.instance_ids);
      f.in("instance_name", iq.instance_names);
      f.in("local_ip", iq.local_ips);
      f.in("register_code_id", iq.register_code_ids);
      f.in("system_name", iq.system_names);
      f.tags("instance_tags", "instance_id", "register_instances", iq.tag_keys, iq.tag_values,
             iq.tag_pairs);
      auto page = read_page<RegisterInstance>(conn, "register_instances", kInstanceColumns,
                                              "instance_id", f, iq.offset, iq.limit, read_instance);
      if (!page) {
        return page;
      }
      for (auto& inst : page->items) {
        auto tags = read_tags(conn, kInstanceTagsSql, inst.instance_id);
        if (!tags) {
          return tags.error();
        }
        inst.tags = std::move(*tags);
      }
      return page;
    });
  }

  Status rename_instance(const std::string& id, const std::string& name, int64_t now_ms) override {
    return write("renaming an instance", [&](Connection& conn) -> Status {
      auto q = conn.query(
          "UPDATE register_instances SET instance_name = ?, updated_ms = ? WHERE instance_id = ?");
      if (!q) {
        return q.error();
      }
      if (auto s = q->bind_text(name).bind_int(now_ms).bind_text(id).run(); !s) {
        return s;
      }
      return expect_changed(conn, sc::kInstanceNotFound, "instance", id);
    });
  }

  Status delete_instance(const std::string& id) override {
    return write("deleting an instance", [&](Connection& conn) -> Status {
      {
        auto q = conn.query(
            "INSERT INTO revoked_keys (public_key, instance_id, revoked_ms) "
            "SELECT public_key, instance_id, ? FROM register_instances WHERE instance_id = ? "
            "ON CONFLICT DO NOTHING");
        if (!q) {
          return q.error();
        }
        if (auto s = q->bind_int(now_unix_ms()).bind_text(id).run(); !s) {
          return s;
        }
      }
      if (auto s = delete_all(conn, "register_instances", "instance_id", {id}); !s) {
        return s;
      }
      if (auto s = expect_changed(conn, sc::kInstanceNotFound, "instance", id); !s) {
        return s;
      }
      return delete_all(conn, "agent_nonces", "instance_id", {id});
    });
  }

  Status record_heartbeat(const std::string& id, const std::string& version,
                          const std::string& environment, const std::vector<std::string>& features,
                          int64_t now_ms) override {
    return write("recording a heartbeat", [&](Connection& conn) -> Status {
      auto q = conn.query(
          "UPDATE register_instances SET agent_version = ?, environment = ?, "
          "support_features = ?, last_heartbeat_ms = ? WHERE instance_id = ?");
      if (!q) {
        return q.error();
      }
      q->bind_text(version)
          .bind_text(environment)
          .bind_text(strings_to_json(features))
          .bind_int(now_ms)
          .bind_text(id);
      if (auto s = q->run(); !s) {
        return s;
      }
      return expect_changed(conn, sc::kInstanceNotFound, "instance", id);
    });
  }

  Expected<bool> remember_nonce(const std::string& instance_id, const std::string& nonce,
                                int64_t expires_ms, int64_t now_ms) override {
    // Expired nonces are swept in bulk only now and then; the upsert below already lets an
    // expired entry be reused, so the sweep only bounds the table's size.
    const bool sweep = nonce_calls_.fetch_add(1, std::memory_order_relaxed) % kSweepEvery == 0;
    return write("remembering a nonce", [&](Connection& conn) -> Expected<bool> {
      if (sweep) {
        auto q = conn.query("DELETE FROM agent_nonces WHERE expires_ms <= ?");
        if (!q) {
          return q.error();
        }
        if (auto s = q->bind_int(now_ms).run(); !s) {
          return s.error();
        }
      }
      auto q = conn.query(
          "INSERT INTO agent_nonces (instance_id, nonce, expires_ms) VALUES (?, ?, ?) "
          "ON CONFLICT (instance_id, nonce) DO UPDATE SET expires_ms = excluded.expires_ms "
          "WHERE agent_nonces.expires_ms <= ?");
      if (!q) {
        return q.error();
      }
      q->bind_text(instance_id).bind_text(nonce).bind_int(expires_ms).bind_int(now_ms);
      if (auto s = q->run(); !s) {
        return s.error();
      }
      return conn.changes() > 0;
    });
  }

 private:
  static constexpr uint64_t kSweepEvery = 256;

  static const std::string kInsertTaskSql;
  static const std::string kUpdateTaskSql;

  template <typename F>
  static auto with_context(std::string_view what, F&& f) {
    auto r = f();
    if (!r && r.error().code == store_codes::kFailed) {
      return decltype(r)(r.error().wrap(what));
    }
    return r;
  }

  // One write: BEGIN IMMEDIATE, f, COMMIT (rolled back when f fails).
  template <typename F>
  static auto write_in(Connection& conn, std::string_view what, F&& f)
      -> decltype(f(std::declval<Connection&>())) {
    using R = decltype(f(conn));
    return with_context(what, [&]() -> R {
      auto txn = Transaction::begin(conn, Transaction::Kind::kWrite);
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

  template <typename F>
  auto write(std::string_view what, F&& f) -> decltype(f(std::declval<Connection&>())) {
    // SQLite runs one writer at a time anyway. Writers of this process queue here, in order;
    // left to SQLite's busy handler they would poll with sleeps of up to 100 ms. The lock comes
    // before the lease, so a writer never holds a connection another writer needs to proceed.
    std::lock_guard write_lock(write_mu_);
    auto lease = pool_.acquire();
    if (!lease) {
      return lease.error().wrap(what);
    }
    return write_in(**lease, what, std::forward<F>(f));
  }

  // A read of one statement: its own implicit transaction is a consistent snapshot.
  template <typename F>
  auto read(std::string_view what, F&& f) -> decltype(f(std::declval<Connection&>())) {
    auto lease = pool_.acquire();
    if (!lease) {
      return lease.error().wrap(what);
    }
    return with_context(what, [&] { return f(**lease); });
  }

  // A read of several statements, in one (deferred) transaction so that they see one snapshot.
  template <typename F>
  auto read_txn(std::string_view what, F&& f) -> decltype(f(std::declval<Connection&>())) {
    using R = decltype(f(std::declval<Connection&>()));
    auto lease = pool_.acquire();
    if (!lease) {
      return lease.error().wrap(what);
    }
    Connection& conn = **lease;
    return with_context(what, [&]() -> R {
      auto txn = Transaction::begin(conn, Transaction::Kind::kRead);
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

  std::filesystem::path file_;
  Pool pool_;
  std::mutex write_mu_;
  std::atomic<uint64_t> nonce_calls_{0};
};

const std::string SqliteStore::kInsertTaskSql =
    "INSERT INTO invocation_tasks (" + task_columns(true) + ") VALUES (" + placeholders(31) + ")";

const std::string SqliteStore::kUpdateTaskSql =
    "UPDATE invocation_tasks SET invocation_id = ?, command_id = ?, command_name = ?, "
    "instance_id = ?, status = ?, doc_content = ?, doc_command_type = ?, doc_timeout = ?, "
    "doc_working_directory = ?, doc_username = ?, doc_output_cos_bucket_url = ?, "
    "doc_output_cos_key_prefix = ?, enable_parameter = ?, parameters = ?, "
    "invocation_source = ?, exit_code = ?, output = ?, dropped = ?, exec_start_ms = ?, "
    "exec_end_ms = ?, output_url = ?, output_upload_error = ?, error_info = ?, start_ms = ?, "
    "end_ms = ?, created_ms = ?, updated_ms = ?, delivered_ms = ?, last_log_index = ?, "
    "cancel_requested = ? WHERE invocation_task_id = ?";

}  // namespace

Expected<std::unique_ptr<Store>> open_sqlite_store(const std::filesystem::path& file,
                                                   SqliteOptions options) {
  if (options.max_connections == 0) {
    options.max_connections = 1;
  }
  if (auto s = create_private_file(file); !s) {
    return s.error();
  }
  auto store = std::make_unique<SqliteStore>(file, options);
  if (auto s = store->migrate(); !s) {
    return s.error();
  }
  return std::unique_ptr<Store>(std::move(store));
}

int64_t sqlite_schema_version() {
  return migrations().back().version;
}

}  // namespace ferry::server
