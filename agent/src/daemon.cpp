#include "ferry/agent/daemon.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <utility>

#include "ferry/agent/agent_paths.hpp"
#include "ferry/agent/journal.hpp"
#include "ferry/agent/task_runner.hpp"
#include "ferry/core/base64.hpp"
#include "ferry/core/output_excerpt.hpp"
#include "ferry/core/task.hpp"
#include "ferry/core/time.hpp"
#include "ferry/platform/fs.hpp"
#include "ferry/platform/process_identity.hpp"

namespace ferry::agent {
namespace {

namespace net = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The server keeps 24 KiB of live output per task (docs/protocol.md, UploadTaskLog); what
// goes past it would be dropped there, so it is not sent. The final report has head and tail.
constexpr std::uint64_t kLiveOutputCap = 24 * 1024;
constexpr std::size_t kMaxPiece = 24 * 1024;

// Codes after which resending the same report cannot succeed.
bool is_permanent(const std::string& code) {
  return code.starts_with("InvalidParameter") || code == "MissingParameter" ||
         code == "UnknownParameter" || code == "InvalidAction" ||
         code == "ResourceNotFound.InvocationTaskNotFound" ||
         code == "AuthFailure.UnauthorizedOperation" || code == "UnsupportedProtocol" ||
         code == "UnsupportedProtocolVersion";
}

bool is_final_status(const std::string& status) {
  auto s = parse_task_status(status);
  if (!s) {
    return false;
  }
  switch (*s) {
    case TaskStatus::kSuccess:
    case TaskStatus::kFailed:
    case TaskStatus::kTimeout:
    case TaskStatus::kTaskTimeout:
    case TaskStatus::kStartFailed:
    case TaskStatus::kDeliverFailed:
    case TaskStatus::kCancelled:
    case TaskStatus::kTerminated:
      return true;
    default:
      return false;
  }
}

constexpr std::size_t kMaxStateFile = 256 * 1024;
// How often a re-attached task's state.json and supervisor are looked at.
constexpr milliseconds kReattachPoll{250};

// The result the supervisor left in state.json, if it has written its final one.
std::optional<TaskResult> final_state(const TaskPaths& paths) {
  auto text = platform::read_file(paths.state_file, kMaxStateFile);
  if (!text) {
    return std::nullopt;
  }
  auto state = nlohmann::json::parse(*text, nullptr, false);
  if (state.is_discarded() || !state.is_object() || state.value("Phase", "") != "finished" ||
      !state.contains("Result")) {
    return std::nullopt;
  }
  auto result = parse_task_result(state["Result"]);
  if (!result) {
    return std::nullopt;
  }
  return std::move(*result);
}

// The boot id in state.json ("" when there is none).
std::string state_boot_id(const TaskPaths& paths) {
  auto text = platform::read_file(paths.state_file, kMaxStateFile);
  if (!text) {
    return {};
  }
  auto state = nlohmann::json::parse(*text, nullptr, false);
  return state.is_object() ? state.value("BootId", "") : std::string();
}

// A result made by the agent for a task that ended without its supervisor's: the output is
// what the spool holds.
TaskResult interrupted_result(const std::string& id, const TaskPaths& paths,
                              const std::string& start_time, std::string why) {
  TaskResult r;
  r.invocation_task_id = id;
  r.status = TaskStatus::kFailed;
  r.exit_code = -1;
  r.error_info = std::move(why);
  r.exec_start_time = start_time;
  r.exec_end_time = to_rfc3339(std::chrono::system_clock::now());
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(paths.output_file, ec);
  if (ec) {
    return r;
  }
  const std::size_t half = kMaxOutputExcerpt / 2;
  if (size <= kMaxOutputExcerpt) {
    auto all = platform::read_file_range(paths.output_file, 0, kMaxOutputExcerpt);
    if (all) {
      auto excerpt = make_output_excerpt(*all, *all, all->size());
      r.output = std::move(excerpt.bytes);
      r.dropped = excerpt.dropped;
      r.output_size = all->size();
    }
    return r;
  }
  auto head = platform::read_file_range(paths.output_file, 0, half);
  auto tail = platform::read_file_range(paths.output_file, size - half, half);
  if (head && tail) {
    auto excerpt = make_output_excerpt(*head, *tail, size);
    r.output = std::move(excerpt.bytes);
    r.dropped = excerpt.dropped;
    r.output_size = size;
  }
  return r;
}

constexpr const char* kRebootReason =
    "the instance restarted while the task ran (boot id changed): the task was interrupted "
    "and is not run again; the output is what it wrote before the restart";

nlohmann::json finish_fields(const TaskResult& r, std::int64_t final_log_index) {
  return nlohmann::json{{"InvocationTaskId", r.invocation_task_id},
                        {"Result", std::string(to_string(r.status))},
                        {"ExitCode", r.exit_code},
                        {"Output", base64_encode(r.output)},
                        {"Dropped", r.dropped},
                        {"OutputSize", r.output_size},
                        {"ExecStartTime", r.exec_start_time},
                        {"ExecEndTime", r.exec_end_time},
                        {"ErrorInfo", r.error_info},
                        {"FinalLogIndex", final_log_index},
                        {"TimeStamp", to_rfc3339(std::chrono::system_clock::now())}};
}

}  // namespace

struct Daemon::Impl : std::enable_shared_from_this<Impl> {
  struct Report {
    std::string action;
    nlohmann::json fields;
    std::optional<LogPiece> piece;  // for UploadTaskLog: what it covers of the spool
  };

  // One task this agent holds, from DescribeTasks until the server acknowledged its finish.
  struct Entry {
    std::string id;
    bool has_dir = false;  // tasks/<id>/ belongs to this entry (removed once it is done)
    bool started = false;
    bool finished = false;
    bool cancel_sent = false;
    std::deque<Report> reports;
    bool in_flight = false;
    int attempts = 0;
    std::unique_ptr<net::steady_timer> retry_timer;
    // live output
    std::uint64_t spool_offset = 0;
    std::int64_t next_index = 0;
    bool log_pending = false;  // an UploadTaskLog is queued or in flight
    // journal
    JournalRecord journal;
    bool journaled = false;   // tasks/<id>/journal.json is this entry's record
    bool reattached = false;  // run by a supervisor an earlier agent started: watched by poll
    std::int64_t finished_order = 0;  // retention: spools of tasks finished first go first
  };

  net::any_io_executor ex;
  DaemonOptions options;
  Identity identity;
  std::unique_ptr<ControlPlane> cp;
  std::unique_ptr<TaskRunner> runner;
  std::map<std::string, Entry> tasks;
  std::set<std::string> skipped;  // ids left on disk by an earlier agent, warned about once

  net::steady_timer heartbeat_timer;
  net::steady_timer poll_timer;
  net::steady_timer reconnect_timer;
  net::steady_timer live_timer;
  net::steady_timer flush_timer;
  net::steady_timer reattach_timer;
  bool reattach_armed = false;
  std::string boot_id;
  bool journal_failing = false;     // logged once until a write works again
  bool store_failing = false;       // new tasks cannot be stored: logged once
  bool retention_refusing = false;  // at the journal's cap: logged once
  std::int64_t finish_counter = 0;
  std::uint64_t journal_size = 0;  // bytes under tasks/, measured at most once a second
  Clock::time_point journal_size_at{};
  bool live_armed = false;
  bool poll_armed = false;

  bool push_up = false;
  bool push_connecting = false;
  int reconnect_attempts = 0;
  std::string last_push_error;

  bool describe_in_flight = false;
  bool describe_again = false;
  // Tasks forgotten (finish acknowledged) while a DescribeTasks was in flight: its reply may
  // predate the finish and list them again, which must not start them a second time. A request
  // sent after the acknowledgement cannot list them, so the set is cleared at every send.
  std::set<std::string> forgotten_during_describe;

  bool stopping = false;
  bool stopped = false;
  int exit_code = 0;
  std::function<void()> on_stopped;
  std::mt19937_64 rng{std::random_device{}()};

  Impl(net::any_io_executor e, DaemonOptions o, Identity i, std::unique_ptr<ControlPlane> c)
      : ex(std::move(e)),
        options(std::move(o)),
        identity(std::move(i)),
        cp(std::move(c)),
        heartbeat_timer(ex),
        poll_timer(ex),
        reconnect_timer(ex),
        live_timer(ex),
        flush_timer(ex),
        reattach_timer(ex) {
    RunnerOptions ro;
    ro.state_dir = options.state_dir;
    ro.supervisor_executable = options.supervisor_executable;
    ro.max_concurrent = options.max_concurrent;
    ro.kill_grace = options.kill_grace;
    ro.use_cgroup = options.use_cgroup;
    // The task directory is the journal entry: it goes once the server has the finish.
    ro.keep_task_dirs = true;
    runner = std::make_unique<TaskRunner>(ex, ro);
  }

  // A delay in [d/2, d]: spreads a fleet's retries after a server restart.
  milliseconds jittered_half(milliseconds d) {
    if (d.count() <= 1) {
      return d;
    }
    std::uniform_int_distribution<std::int64_t> dist(d.count() / 2, d.count());
    return milliseconds(dist(rng));
  }

  milliseconds backoff(int attempt, milliseconds min, milliseconds max) {
    milliseconds d = min;
    for (int i = 0; i < attempt && d < max; ++i) {
      d *= 2;
    }
    return jittered_half(std::min(d, max));
  }

  // ---- start and stop ----------------------------------------------------------------------

  void start(std::function<void()> done) {
    on_stopped = std::move(done);
    spdlog::info("agent {} starting (server {})", identity.instance_id, identity.server_url);
    boot_id = platform::boot_id();
    recover();
    heartbeat();
    connect_push();
    describe();
  }

  void stop() {
    if (stopping) {
      return;
    }
    stopping = true;
    const auto in_progress = std::count_if(tasks.begin(), tasks.end(), [](const auto& kv) {
      return kv.second.started && !kv.second.finished;
    });
    spdlog::info("stopping: no new tasks; {} task(s) in progress stay with their supervisors",
                 in_progress);
    heartbeat_timer.cancel();
    poll_timer.cancel();
    reconnect_timer.cancel();
    cp->close_push();
    // A last read of the live output, so that what the tasks printed so far is not held back.
    collect_live_output();
    flush_timer.expires_after(options.shutdown_flush);
    flush_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) {
        self->finish_stop();
      }
    });
    maybe_finish_stop();
  }

  bool nothing_to_send() const {
    return std::all_of(tasks.begin(), tasks.end(), [](const auto& kv) {
      return kv.second.reports.empty() && !kv.second.in_flight;
    });
  }

  void maybe_finish_stop() {
    if (stopping && !stopped && nothing_to_send()) {
      finish_stop();
    }
  }

  void finish_stop() {
    if (stopped) {
      return;
    }
    stopped = true;
    std::size_t unsent = 0;
    for (auto& [id, e] : tasks) {
      unsent += e.reports.size() + (e.in_flight ? 1 : 0);
      if (e.retry_timer) {
        e.retry_timer->cancel();
      }
    }
    if (unsent > 0) {
      spdlog::warn("stopping with {} report(s) not delivered", unsent);
    }
    flush_timer.cancel();
    live_timer.cancel();
    reattach_timer.cancel();
    heartbeat_timer.cancel();
    poll_timer.cancel();
    reconnect_timer.cancel();
    // Detaches from the supervisors: running tasks go on.
    runner.reset();
    cp->shutdown();
    spdlog::info("stopped");
    if (on_stopped) {
      net::post(ex, std::move(on_stopped));
    }
  }

  void fatal(const std::string& why) {
    spdlog::error("{}", why);
    exit_code = 2;
    stop();
  }

  // A reply that says the instance is gone stops the agent: nothing it sends can work again.
  bool check_fatal(const CallResult& r) {
    if (r.error_code() == "AuthFailure.InstanceNotFound") {
      fatal("the server no longer knows instance " + identity.instance_id +
            " (deleted?); register again with a new register code");
      return true;
    }
    return false;
  }

  // After AuthFailure.SignatureExpire: sign with the server's clock from now on.
  bool fix_clock(const CallResult& r) {
    if (r.error_code() != "AuthFailure.SignatureExpire") {
      return false;
    }
    auto it = r.response.find("ServerTime");
    if (it == r.response.end() || !it->is_number_integer()) {
      return false;
    }
    const auto local = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    const std::int64_t offset = it->get<std::int64_t>() - local;
    spdlog::warn("the local clock is {} s away from the server's; signing with the server's time",
                 -offset);
    cp->set_clock_offset(offset);
    return true;
  }

  // ---- heartbeat ---------------------------------------------------------------------------

  void heartbeat() {
    if (stopping) {
      return;
    }
    nlohmann::json fields{
        {"Version", options.version},
        {"Environment", "Linux"},
        {"SupportFeatures", nlohmann::json::array({"ProcessTree", "Process", "Parameters",
                                                   "Launcher", "LiveOutput", "Cancel"})}};
    cp->call("Heartbeat", fields, [self = shared_from_this()](CallResult r) {
      if (self->stopping || self->check_fatal(r)) {
        return;
      }
      std::chrono::seconds next = self->options.default_heartbeat;
      if (r.ok()) {
        auto it = r.response.find("HeartbeatInterval");
        if (it != r.response.end() && it->is_number_integer() && it->get<int>() > 0) {
          next = std::chrono::seconds(it->get<int>());
        }
      } else {
        const bool clock_fixed = self->fix_clock(r);
        spdlog::debug("heartbeat failed: {}", r.describe());
        next = clock_fixed ? std::chrono::seconds(1) : std::min(next, std::chrono::seconds(30));
      }
      self->heartbeat_timer.expires_after(next);
      self->heartbeat_timer.async_wait([self](const boost::system::error_code& ec) {
        if (!ec) {
          self->heartbeat();
        }
      });
    });
  }

  // ---- push socket and polling -------------------------------------------------------------

  void connect_push() {
    if (stopping || push_up || push_connecting) {
      return;
    }
    push_connecting = true;
    std::weak_ptr<Impl> weak = shared_from_this();
    PushHandlers h;
    h.on_open = [weak] {
      if (auto self = weak.lock()) {
        self->push_opened();
      }
    };
    h.on_message = [weak](const std::string& text) {
      if (auto self = weak.lock()) {
        self->push_message(text);
      }
    };
    h.on_closed = [weak](const std::string& reason, const std::string& code) {
      if (auto self = weak.lock()) {
        self->push_closed(reason, code);
      }
    };
    cp->connect_push(std::move(h));
  }

  void push_opened() {
    push_connecting = false;
    push_up = true;
    reconnect_attempts = 0;
    last_push_error.clear();
    poll_timer.cancel();
    poll_armed = false;
    spdlog::info("connected to {} (push socket up)", identity.server_url);
    // Kicks sent while the socket was down are not replayed.
    describe();
  }

  void push_message(const std::string& text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object()) {
      spdlog::debug("push: a frame that is not a JSON object, ignored");
      return;
    }
    const std::string type = j.value("Type", "");
    if (type == "kick" || type == "cancel") {
      spdlog::debug("push: {} (seq {})", type, j.value("Seq", 0));
      describe();
    } else {
      spdlog::debug("push: frame of unknown type ignored");
    }
  }

  void push_closed(const std::string& reason, const std::string& code) {
    const bool was_up = push_up;
    push_up = false;
    push_connecting = false;
    if (stopping) {
      return;
    }
    if (code == "AuthFailure.InstanceNotFound") {
      fatal("the server no longer knows instance " + identity.instance_id +
            " (deleted?); register again with a new register code");
      return;
    }
    const milliseconds delay =
        backoff(reconnect_attempts++, options.reconnect_min, options.reconnect_max);
    if (was_up || reason != last_push_error) {
      spdlog::info("push socket down ({}); reconnecting in {} ms, polling meanwhile", reason,
                   delay.count());
    } else {
      spdlog::debug("push socket still down ({}); next try in {} ms", reason, delay.count());
    }
    last_push_error = reason;
    reconnect_timer.expires_after(delay);
    reconnect_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) {
        self->connect_push();
      }
    });
    arm_poll();
  }

  void arm_poll() {
    if (poll_armed || push_up || stopping) {
      return;
    }
    poll_armed = true;
    const auto base = options.poll_interval.count();
    std::uniform_int_distribution<std::int64_t> dist(base * 3 / 4, base * 5 / 4);
    poll_timer.expires_after(milliseconds(std::max<std::int64_t>(1, dist(rng))));
    poll_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      self->poll_armed = false;
      if (ec || self->push_up || self->stopping) {
        return;
      }
      self->describe();
      self->arm_poll();
    });
  }

  // ---- DescribeTasks -----------------------------------------------------------------------

  void describe() {
    if (stopping) {
      return;
    }
    if (describe_in_flight) {
      describe_again = true;
      return;
    }
    describe_in_flight = true;
    describe_again = false;
    forgotten_during_describe.clear();
    cp->call("DescribeTasks", nlohmann::json::object(),
             [self = shared_from_this()](CallResult r) { self->described(std::move(r)); });
  }

  void described(CallResult r) {
    describe_in_flight = false;
    if (stopping || check_fatal(r)) {
      return;
    }
    if (!r.ok()) {
      if (fix_clock(r)) {
        describe();
      } else {
        spdlog::debug("DescribeTasks failed: {}", r.describe());
      }
      return;
    }
    bool has_more = false;
    if (auto it = r.response.find("InvocationNormalTaskSet");
        it != r.response.end() && it->is_array()) {
      for (auto& t : *it) {
        if (t.is_object() && t.contains("InvocationTaskId") && t["InvocationTaskId"].is_string() &&
            forgotten_during_describe.contains(t["InvocationTaskId"].get<std::string>())) {
          continue;  // a stale listing of a task this agent just finished
        }
        take_task(t);
      }
    }
    if (auto it = r.response.find("InvocationCancelTaskSet");
        it != r.response.end() && it->is_array()) {
      for (const auto& c : *it) {
        if (c.is_object() && c.contains("InvocationTaskId") && c["InvocationTaskId"].is_string() &&
            !forgotten_during_describe.contains(c["InvocationTaskId"].get<std::string>())) {
          cancel_task(c["InvocationTaskId"].get<std::string>());
        }
      }
    }
    if (auto it = r.response.find("HasMore"); it != r.response.end() && it->is_boolean()) {
      has_more = it->get<bool>();
    }
    if (has_more || describe_again) {
      describe();
    }
  }

  void take_task(const nlohmann::json& t) {
    const std::string id =
        t.is_object() && t.contains("InvocationTaskId") && t["InvocationTaskId"].is_string()
            ? t["InvocationTaskId"].get<std::string>()
            : std::string();
    if (id.empty()) {
      spdlog::warn("DescribeTasks listed a task without an id; ignored");
      return;
    }
    if (tasks.contains(id) || skipped.contains(id)) {
      return;  // already held: a repeated listing is a no-op
    }
    auto parsed = parse_task(t);
    if (!parsed) {
      // A task the agent cannot even read still gets a final answer, unless its id itself is
      // unusable (then there is nothing to report it under).
      if (parsed.error().message.starts_with("InvocationTaskId")) {
        spdlog::warn("DescribeTasks listed a task with an unusable id; ignored");
        return;
      }
      spdlog::warn("task {}: refused: {}", id, parsed.error().message);
      TaskResult res;
      res.invocation_task_id = id;
      res.status = TaskStatus::kStartFailed;
      res.error_info = parsed.error().code + ": " + parsed.error().message;
      res.exec_end_time = to_rfc3339(std::chrono::system_clock::now());
      Entry& e = tasks[id];
      e.id = id;
      e.finished = true;
      enqueue(e, Report{"ReportTaskFinish", finish_fields(res, -1), std::nullopt});
      return;
    }
    if (is_quarantined(options.state_dir, id)) {
      // Its journal record was unreadable once: never run again. The server lists it again
      // only while it has no final status, so it gets one.
      spdlog::warn(
          "task {}: listed again after its journal record was quarantined; reported "
          "FAILED",
          id);
      enqueue_unreadable(id);
      return;
    }
    if (std::filesystem::exists(task_paths(options.state_dir, id).dir)) {
      // Started by an earlier run of the agent on this machine: never run a task twice.
      skipped.insert(id);
      spdlog::warn("task {}: already in the journal from an earlier run; not started again", id);
      return;
    }
    if (auto refusal = check_retention(); !refusal.empty()) {
      TaskResult res;
      res.invocation_task_id = id;
      res.status = TaskStatus::kStartFailed;
      res.error_info = refusal;
      res.exec_end_time = to_rfc3339(std::chrono::system_clock::now());
      Entry& e = tasks[id];
      e.id = id;
      e.finished = true;
      spdlog::info("task {}: refused (journal full)", id);
      enqueue(e, Report{"ReportTaskFinish", finish_fields(res, -1), std::nullopt});
      return;
    }
    spdlog::info("task {}: received", id);
    Entry& e = tasks[id];
    e.id = id;
    std::weak_ptr<Impl> weak = shared_from_this();
    runner->submit(
        std::move(*parsed),
        [weak, id](TaskResult result) {
          if (auto self = weak.lock()) {
            self->task_done(id, std::move(result));
          }
        },
        [weak, id](int pid, std::uint64_t start_time) {
          if (auto self = weak.lock()) {
            self->task_started(id, pid, start_time);
          }
        });
  }

  void cancel_task(const std::string& id) {
    auto it = tasks.find(id);
    if (it != tasks.end()) {
      Entry& e = it->second;
      if (!e.finished && !e.cancel_sent) {
        spdlog::info("task {}: cancelling", id);
        stop_task(e);
      }
      return;
    }
    if (skipped.contains(id)) {
      return;
    }
    // Never received here: it never ran.
    spdlog::info("task {}: cancelled before it reached this agent", id);
    TaskResult res;
    res.invocation_task_id = id;
    res.status = TaskStatus::kCancelled;
    res.error_info = "cancelled before the agent started it";
    res.exec_end_time = to_rfc3339(std::chrono::system_clock::now());
    Entry& e = tasks[id];
    e.id = id;
    e.finished = true;
    enqueue(e, Report{"ReportTaskFinish", finish_fields(res, -1), std::nullopt});
  }

  // ---- task events -------------------------------------------------------------------------

  void task_started(const std::string& id, int pid, std::uint64_t start_time) {
    auto it = tasks.find(id);
    if (it == tasks.end()) {
      return;
    }
    Entry& e = it->second;
    e.started = true;
    e.has_dir = true;
    if (store_failing) {
      store_failing = false;
      spdlog::info("the state directory works again: tasks start");
    }
    e.journal.task_id = id;
    e.journal.boot_id = boot_id;
    e.journal.supervisor_pid = pid;
    e.journal.supervisor_start_time = start_time;
    e.journal.start_time = to_rfc3339(std::chrono::system_clock::now());
    e.journaled = true;
    // Journaled (synced) before the start is reported: from here a restarted agent finds it.
    journal_write(e, platform::Durability::kSynced);
    spdlog::info("task {}: started", id);
    enqueue(e, Report{"ReportTaskStart",
                      {{"InvocationTaskId", id}, {"TimeStamp", e.journal.start_time}},
                      std::nullopt});
    arm_live();
  }

  // Stops a running task: through the runner, or by signalling a re-attached supervisor once
  // its pid and start time are checked (SIGTERM: it terminates the tree, reports TERMINATED).
  void stop_task(Entry& e) {
    e.cancel_sent = true;
    if (e.reattached) {
      if (!platform::signal_same_process(e.journal.supervisor_pid, e.journal.supervisor_start_time,
                                         SIGTERM)) {
        spdlog::debug("task {}: supervisor {} already gone", e.id, e.journal.supervisor_pid);
      }
      return;
    }
    if (runner) {
      runner->cancel(e.id);
    }
  }

  void journal_write(Entry& e, platform::Durability durability) {
    if (!e.journaled) {
      return;
    }
    auto s = write_journal(task_paths(options.state_dir, e.id).dir, e.journal, durability);
    if (!s && !journal_failing) {
      journal_failing = true;
      spdlog::warn("journal: {} (reports stay in memory until writes work again)",
                   s.error().message);
    } else if (s && journal_failing) {
      journal_failing = false;
      spdlog::info("journal: writes work again");
    }
  }

  // The retention cap (journal.hpp): drops spools of finished tasks over the byte cap; returns
  // why a new task is refused, or "" when it may run.
  std::string check_retention() {
    const auto now = Clock::now();
    if (now - journal_size_at > std::chrono::seconds(1)) {
      journal_size = journal_bytes(options.state_dir);
      journal_size_at = now;
    }
    if (tasks.size() < options.journal_max_tasks && journal_size <= options.journal_max_bytes) {
      if (retention_refusing) {
        retention_refusing = false;
        spdlog::info("journal: under its cap again; tasks start");
      }
      return {};
    }
    std::vector<RetentionEntry> entries;
    for (const auto& [id, e] : tasks) {
      std::error_code ec;
      const auto size =
          e.has_dir ? std::filesystem::file_size(task_paths(options.state_dir, id).output_file, ec)
                    : 0;
      entries.push_back(
          {id, e.finished && e.journal.result.has_value(), ec ? 0 : size, e.finished_order});
    }
    const auto decision = apply_retention(std::move(entries), journal_size,
                                          options.journal_max_tasks, options.journal_max_bytes);
    for (const auto& id : decision.drop_spools) {
      std::error_code ec;
      std::filesystem::remove(task_paths(options.state_dir, id).output_file, ec);
      auto& e = tasks[id];
      if (e.journal.pending_piece) {
        e.journal.pending_piece.reset();
        journal_write(e, platform::Durability::kAtomicOnly);
      }
    }
    if (!decision.drop_spools.empty()) {
      spdlog::warn(
          "journal over its byte cap ({} bytes): removed the output spool of {} finished task(s) "
          "whose reports wait for the server (their results and output excerpts stay)",
          options.journal_max_bytes, decision.drop_spools.size());
    }
    journal_size = decision.bytes_after;
    if (!decision.refuse_new) {
      return {};
    }
    const std::string why = "the agent's journal is at its cap (" + std::to_string(tasks.size()) +
                            " task(s), " + std::to_string(journal_size) +
                            " bytes; journal_max_tasks " +
                            std::to_string(options.journal_max_tasks) + ", journal_max_bytes " +
                            std::to_string(options.journal_max_bytes) +
                            ") while results wait for the server; the task was not run";
    if (!retention_refusing) {
      retention_refusing = true;
      spdlog::warn("{}; new tasks get START_FAILED until reports drain", why);
    }
    return why;
  }

  // ---- recovery: what an earlier agent left in the journal ---------------------------------

  void recover() {
    auto scan = scan_journal(options.state_dir);
    for (const auto& [id, why] : scan.quarantined) {
      spdlog::warn(
          "task {}: journal record unreadable ({}); moved to quarantine/, the task is recovered "
          "from its state.json and supervisor",
          id, why);
    }
    for (auto& record : scan.records) {
      recover_record(std::move(record));
    }
    for (const auto& id : scan.unjournaled) {
      recover_unjournaled(id);
    }
    if (!tasks.empty()) {
      std::size_t attached = 0;
      for (const auto& [id, e] : tasks) {
        attached += e.reattached ? 1 : 0;
      }
      spdlog::info("journal: {} task(s) from an earlier run, {} still running (re-attached)",
                   tasks.size(), attached);
    }
  }

  // FAILED for a task whose journal entry could not be read (held in memory only).
  void enqueue_unreadable(const std::string& id) {
    TaskResult res;
    res.invocation_task_id = id;
    res.status = TaskStatus::kFailed;
    res.error_info =
        "the agent's journal entry for this task was unreadable (quarantined); its result is "
        "unknown and it is not run again";
    res.exec_end_time = to_rfc3339(std::chrono::system_clock::now());
    Entry& e = tasks[id];
    e.id = id;
    e.finished = true;
    enqueue(e, Report{"ReportTaskFinish", finish_fields(res, -1), std::nullopt});
  }

  void recover_record(JournalRecord record) {
    const std::string id = record.task_id;
    const TaskPaths paths = task_paths(options.state_dir, id);
    Entry& e = tasks[id];
    e.id = id;
    e.has_dir = true;
    e.journaled = true;
    e.started = true;
    e.journal = std::move(record);
    e.next_index = e.journal.next_log_index;
    e.spool_offset = e.journal.log_offset;
    if (!e.journal.start_acked) {
      enqueue(e, Report{"ReportTaskStart",
                        {{"InvocationTaskId", id}, {"TimeStamp", e.journal.start_time}},
                        std::nullopt});
    }
    if (e.journal.pending_piece) {
      const LogPiece p = *e.journal.pending_piece;
      auto data = platform::read_file_range(paths.output_file, p.offset, p.length);
      if (data && data->size() == p.length) {
        e.spool_offset = p.offset + p.length;
        e.next_index = p.index + 1;
        e.log_pending = true;
        enqueue(e, Report{"UploadTaskLog",
                          {{"InvocationTaskId", id},
                           {"Index", p.index},
                           {"Output", base64_encode(*data)},
                           {"Dropped", 0}},
                          p});
      } else {
        // The spool lost it: the final report's excerpt still has the output.
        e.journal.pending_piece.reset();
      }
    }
    if (e.journal.result) {
      e.finished = true;
      enqueue(e, Report{"ReportTaskFinish",
                        finish_fields(*e.journal.result, e.journal.final_log_index), std::nullopt});
      return;
    }
    // It was running when the last agent stopped.
    if (auto result = final_state(paths)) {
      spdlog::info("task {}: finished while no agent ran", id);
      task_done(id, std::move(*result));
      return;
    }
    if (e.journal.boot_id != boot_id) {
      spdlog::warn("task {}: interrupted by a restart of the instance; reported FAILED", id);
      task_done(id, interrupted_result(id, paths, e.journal.start_time, kRebootReason));
      return;
    }
    if (platform::is_same_process(e.journal.supervisor_pid, e.journal.supervisor_start_time)) {
      e.reattached = true;
      spdlog::info("task {}: re-attached to its supervisor (pid {})", id, e.journal.supervisor_pid);
      arm_reattach();
      arm_live();
      return;
    }
    supervisor_gone(e, paths);
  }

  // The supervisor is not running any more: its final state, or a failure that says so.
  void supervisor_gone(Entry& e, const TaskPaths& paths) {
    if (auto result = final_state(paths)) {
      task_done(e.id, std::move(*result));
      return;
    }
    spdlog::warn("task {}: its supervisor ended without a result; reported FAILED", e.id);
    task_done(e.id, interrupted_result(e.id, paths, e.journal.start_time,
                                       "the task's supervisor ended without recording a result "
                                       "(killed?); the task is not run again"));
  }

  // A task directory without journal.json: the last agent stopped between starting the
  // supervisor and journaling it, or while refusing the task.
  void recover_unjournaled(const std::string& id) {
    const TaskPaths paths = task_paths(options.state_dir, id);
    Entry& e = tasks[id];
    e.id = id;
    e.has_dir = true;
    e.journaled = true;
    e.journal.task_id = id;
    e.journal.boot_id = boot_id;
    e.journal.start_time = to_rfc3339(std::chrono::system_clock::now());
    if (auto result = final_state(paths)) {
      e.started = true;
      task_done(id, std::move(*result));
      return;
    }
    const std::string state_boot = state_boot_id(paths);
    if (!state_boot.empty() && state_boot != boot_id) {
      e.started = true;
      task_done(id, interrupted_result(id, paths, "", kRebootReason));
      return;
    }
    const std::string dir = paths.dir.string();
    if (auto pid = platform::find_process_with_args({"supervise", "--task-dir", dir})) {
      e.started = true;
      e.reattached = true;
      e.journal.supervisor_pid = *pid;
      e.journal.supervisor_start_time = platform::process_start_time(*pid).value_or(0);
      journal_write(e, platform::Durability::kSynced);
      spdlog::info("task {}: re-attached to its supervisor (pid {}, found by its arguments)", id,
                   *pid);
      enqueue(e, Report{"ReportTaskStart",
                        {{"InvocationTaskId", id}, {"TimeStamp", e.journal.start_time}},
                        std::nullopt});
      arm_reattach();
      arm_live();
      return;
    }
    if (!std::filesystem::exists(paths.task_file)) {
      TaskResult res;
      res.invocation_task_id = id;
      res.status = TaskStatus::kStartFailed;
      res.error_info = "the agent stopped while preparing the task; it did not run";
      res.exec_end_time = e.journal.start_time;
      task_done(id, std::move(res));
      return;
    }
    e.started = true;
    supervisor_gone(e, paths);
  }

  void arm_reattach() {
    if (reattach_armed || stopped) {
      return;
    }
    reattach_armed = true;
    reattach_timer.expires_after(kReattachPoll);
    reattach_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      self->reattach_armed = false;
      if (!ec && !self->stopped) {
        self->check_reattached();
      }
    });
  }

  // The supervisor is not this agent's child, so there is no waitpid: its final state.json,
  // or its end without one, is polled for.
  void check_reattached() {
    std::vector<std::string> ended;
    bool watching = false;
    for (auto& [id, e] : tasks) {
      if (!e.reattached || e.finished) {
        continue;
      }
      const TaskPaths paths = task_paths(options.state_dir, id);
      if (final_state(paths) ||
          !platform::is_same_process(e.journal.supervisor_pid, e.journal.supervisor_start_time)) {
        ended.push_back(id);
      } else {
        watching = true;
      }
    }
    for (const auto& id : ended) {
      auto it = tasks.find(id);
      if (it != tasks.end()) {
        it->second.reattached = false;
        supervisor_gone(it->second, task_paths(options.state_dir, id));
      }
    }
    if (watching) {
      arm_reattach();
    }
  }

  void task_done(const std::string& id, TaskResult result) {
    auto it = tasks.find(id);
    if (it == tasks.end()) {
      return;
    }
    Entry& e = it->second;
    if (e.finished) {
      return;
    }
    e.finished = true;
    e.reattached = false;
    e.finished_order = ++finish_counter;
    if (std::filesystem::exists(task_paths(options.state_dir, id).dir)) {
      e.has_dir = true;
    }
    spdlog::info("task {}: {}{}", id, to_string(result.status),
                 result.exit_code >= 0 ? " (exit code " + std::to_string(result.exit_code) + ")"
                                       : std::string());
    if (!e.started && result.status == TaskStatus::kStartFailed &&
        result.error_info.find(kStoreFailed) != std::string::npos && !store_failing) {
      // Said once, not once per task: every new task gets the same START_FAILED meanwhile.
      store_failing = true;
      spdlog::warn(
          "the state directory is full or read-only ({}); new tasks get START_FAILED until it "
          "works again",
          result.error_info);
    }
    e.journal.final_log_index = e.next_index - 1;
    e.journal.result = result;
    journal_write(e, platform::Durability::kSynced);
    enqueue(e, Report{"ReportTaskFinish", finish_fields(result, e.next_index - 1), std::nullopt});
  }

  // ---- live output -------------------------------------------------------------------------

  void arm_live() {
    if (live_armed || stopped) {
      return;
    }
    live_armed = true;
    live_timer.expires_after(options.live_output_interval);
    live_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      self->live_armed = false;
      if (ec || self->stopped) {
        return;
      }
      if (self->collect_live_output()) {
        self->arm_live();
      }
    });
  }

  // Reads what running tasks wrote since the last piece and queues it. Returns whether a task
  // may still produce more (so the timer is worth arming again).
  bool collect_live_output() {
    bool more = false;
    for (auto& [id, e] : tasks) {
      if (!e.started || e.finished || e.spool_offset >= kLiveOutputCap) {
        continue;
      }
      more = true;
      if (e.log_pending) {
        continue;  // one piece at a time per task
      }
      const auto paths = task_paths(options.state_dir, id);
      const std::size_t want = static_cast<std::size_t>(
          std::min<std::uint64_t>(kMaxPiece, kLiveOutputCap - e.spool_offset));
      auto piece = platform::read_file_range(paths.output_file, e.spool_offset, want);
      if (!piece || piece->empty()) {
        continue;
      }
      const LogPiece p{e.next_index, e.spool_offset, piece->size()};
      e.spool_offset += piece->size();
      e.log_pending = true;
      ++e.next_index;
      // Not synced: a process crash keeps it (page cache); after a machine crash the piece is
      // read again from the acknowledged offset under the same index.
      e.journal.pending_piece = p;
      journal_write(e, platform::Durability::kAtomicOnly);
      enqueue(e, Report{"UploadTaskLog",
                        {{"InvocationTaskId", id},
                         {"Index", p.index},
                         {"Output", base64_encode(*piece)},
                         {"Dropped", 0}},
                        p});
    }
    return more;
  }

  // ---- reports: in order per task, retried until the server answers -------------------------

  void enqueue(Entry& e, Report report) {
    e.reports.push_back(std::move(report));
    send_next(e.id);
  }

  void send_next(const std::string& id) {
    auto it = tasks.find(id);
    if (it == tasks.end() || stopped) {
      return;
    }
    Entry& e = it->second;
    if (e.in_flight || e.reports.empty() || (e.retry_timer && e.attempts > 0)) {
      return;
    }
    e.in_flight = true;
    const Report& r = e.reports.front();
    cp->call(r.action, r.fields, [self = shared_from_this(), id](CallResult result) {
      self->report_answered(id, std::move(result));
    });
  }

  void report_answered(const std::string& id, CallResult r) {
    auto it = tasks.find(id);
    if (it == tasks.end()) {
      return;
    }
    Entry& e = it->second;
    e.in_flight = false;
    if (stopped) {
      return;
    }
    const std::string action = e.reports.front().action;
    if (check_fatal(r)) {
      return;
    }
    const std::string code = r.error_code();
    if (!r.ok() && !is_permanent(code)) {
      const bool clock_fixed = fix_clock(r);
      const milliseconds delay =
          clock_fixed ? milliseconds(0) : backoff(e.attempts, options.retry_min, options.retry_max);
      ++e.attempts;
      spdlog::debug("task {}: {} failed ({}); retry in {} ms", id, action, r.describe(),
                    delay.count());
      if (!e.retry_timer) {
        e.retry_timer = std::make_unique<net::steady_timer>(ex);
      }
      e.retry_timer->expires_after(delay);
      e.retry_timer->async_wait(
          [self = shared_from_this(), id](const boost::system::error_code& ec) {
            if (ec) {
              return;
            }
            auto it2 = self->tasks.find(id);
            if (it2 == self->tasks.end()) {
              return;
            }
            it2->second.retry_timer.reset();
            self->send_next(id);
          });
      return;
    }
    if (!r.ok()) {
      spdlog::warn("task {}: {} refused ({}); not sent again", id, action, r.describe());
    }
    e.attempts = 0;
    const std::optional<LogPiece> piece = e.reports.front().piece;
    e.reports.pop_front();
    if (action == "UploadTaskLog") {
      e.log_pending = false;
      if (piece) {
        e.journal.log_offset = piece->offset + piece->length;
        e.journal.next_log_index = piece->index + 1;
        e.journal.pending_piece.reset();
        // Acknowledgements are not synced: losing one only sends an idempotent report again.
        journal_write(e, platform::Durability::kAtomicOnly);
      }
    }
    if (action == "ReportTaskStart") {
      e.journal.start_acked = true;
      journal_write(e, platform::Durability::kAtomicOnly);
    }
    if (action == "ReportTaskStart" && r.ok()) {
      const std::string status = r.response.value("TaskStatus", "");
      if ((status == "CANCELLING" || is_final_status(status)) && !e.finished && !e.cancel_sent) {
        // The server ended the task (or a cancel is under way) before the start arrived.
        spdlog::info("task {}: the server says {}; stopping it", id, status);
        stop_task(e);
      }
    }
    if (action == "ReportTaskFinish") {
      if (r.ok()) {
        spdlog::debug("task {}: finish acknowledged ({})", id, r.response.value("TaskStatus", ""));
      }
      forget(id);
      maybe_finish_stop();
      return;
    }
    send_next(id);
    maybe_finish_stop();
  }

  // The journal entry goes once the server has the result.
  void forget(const std::string& id) {
    auto it = tasks.find(id);
    if (it == tasks.end()) {
      return;
    }
    if (it->second.has_dir) {
      if (auto s = platform::remove_tree(task_paths(options.state_dir, id).dir); !s) {
        spdlog::warn("task {}: removing its directory: {}", id, s.error().message);
      }
    }
    if (describe_in_flight) {
      forgotten_during_describe.insert(id);
    }
    tasks.erase(it);
  }
};

Daemon::Daemon(boost::asio::any_io_executor executor, DaemonOptions options, Identity identity,
               std::unique_ptr<ControlPlane> control_plane)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options), std::move(identity),
                                   std::move(control_plane))) {}

Daemon::~Daemon() {
  if (!impl_->stopped) {
    impl_->finish_stop();
  }
}

void Daemon::start(std::function<void()> on_stopped) {
  impl_->start(std::move(on_stopped));
}

void Daemon::stop() {
  impl_->stop();
}

int Daemon::exit_code() const {
  return impl_->exit_code;
}

std::size_t Daemon::tasks_in_progress() const {
  return impl_->tasks.size();
}

}  // namespace ferry::agent
