// Fakes for the daemon's three seams (ControlPlane, Runner, Clock) and a harness that runs a
// Daemon on them: no sockets, no supervisors, and time that passes only when a test says so.
#pragma once

#include <catch2/catch.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ferry/agent/clock.hpp"
#include "ferry/agent/control_plane.hpp"
#include "ferry/agent/daemon.hpp"
#include "ferry/agent/object_client.hpp"
#include "ferry/agent/runner.hpp"

namespace ferry::test {

using nlohmann::json;
using std::chrono::milliseconds;

// What real services would run later on their event loop; the harness runs it.
class Deferred {
 public:
  void post(std::function<void()> f) { queue_.push_back(std::move(f)); }
  bool run_one() {
    if (queue_.empty()) {
      return false;
    }
    auto f = std::move(queue_.front());
    queue_.pop_front();
    f();
    return true;
  }

 private:
  std::deque<std::function<void()>> queue_;
};

class FakeClock : public agent::Clock {
 public:
  using Steady = std::chrono::steady_clock;

  [[nodiscard]] Steady::time_point now() const override { return now_; }
  [[nodiscard]] std::chrono::system_clock::time_point wall_now() const override {
    return wall_start_ +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(now_ - start_);
  }
  [[nodiscard]] std::unique_ptr<agent::Timer> make_timer() override {
    return std::make_unique<FakeTimer>(*this);
  }

  // The earliest time a pending wait is due.
  [[nodiscard]] std::optional<Steady::time_point> next_due() const {
    const FakeTimer* t = earliest();
    return t != nullptr ? std::optional(t->due) : std::nullopt;
  }
  // Moves to `t`, firing in order each wait due by then.
  void advance_to(Steady::time_point t) {
    while (FakeTimer* timer = earliest()) {
      if (timer->due > t) {
        break;
      }
      now_ = std::max(now_, timer->due);
      auto fire = std::move(timer->fire);
      timer->fire = nullptr;
      fire();  // may destroy the timer
    }
    now_ = std::max(now_, t);
  }

 private:
  struct FakeTimer : agent::Timer {
    explicit FakeTimer(FakeClock& c) : clock(c) { clock.timers_.insert(this); }
    ~FakeTimer() override { clock.timers_.erase(this); }
    void start(milliseconds delay, std::function<void()> f) override {
      due = clock.now_ + delay;
      order = ++clock.started_;
      fire = std::move(f);
    }
    void cancel() override { fire = nullptr; }
    [[nodiscard]] bool armed() const override { return static_cast<bool>(fire); }

    FakeClock& clock;
    Steady::time_point due;
    std::uint64_t order = 0;
    std::function<void()> fire;
  };

  [[nodiscard]] FakeTimer* earliest() const {
    FakeTimer* best = nullptr;
    for (FakeTimer* t : timers_) {
      if (t->armed() && (best == nullptr || t->due < best->due ||
                         (t->due == best->due && t->order < best->order))) {
        best = t;
      }
    }
    return best;
  }

  // Far from the steady clock's epoch, as a real one is.
  const Steady::time_point start_ = Steady::time_point(std::chrono::hours(1000));
  Steady::time_point now_ = start_;
  const std::chrono::system_clock::time_point wall_start_ =
      std::chrono::system_clock::time_point(std::chrono::seconds(1'796'400'000));
  std::set<FakeTimer*> timers_;
  std::uint64_t started_ = 0;
};

struct Call {
  std::string action;
  json fields;
  std::chrono::steady_clock::time_point at;
};

// What the fake server saw, and how it answers.
struct FakeServer {
  FakeClock* clock = nullptr;
  std::vector<Call> calls;
  std::map<std::string, int> fail_next;  // action -> transport errors before an answer
  std::map<std::string, int> drop_next;  // action -> calls never answered (a lost answer)
  std::map<std::string, std::deque<std::string>> errors_next;  // action -> API error codes
  std::map<std::string, json> answers;  // action -> the Response object it gets
  // When set, answers every action not in `answers` (after fail_next and errors_next).
  std::function<json(const std::string& action, const json& fields)> responder;
  json describe_reply = json::object();  // the next DescribeTasks reply (then empty)
  bool hold_describe = false;            // DescribeTasks replies wait in `held`
  std::vector<std::function<void()>> held;
  agent::PushHandlers push;  // what the daemon gave connect_push
  std::vector<std::chrono::steady_clock::time_point> push_connects;
  int push_closes = 0;
  int shutdowns = 0;
  std::optional<std::int64_t> clock_offset;

  [[nodiscard]] std::vector<Call> for_task(const std::string& id) const {
    std::vector<Call> out;
    for (const auto& c : calls) {
      if (c.fields.value("InvocationTaskId", "") == id) {
        out.push_back(c);
      }
    }
    return out;
  }
  [[nodiscard]] std::vector<Call> of(const std::string& action) const {
    std::vector<Call> out;
    for (const auto& c : calls) {
      if (c.action == action) {
        out.push_back(c);
      }
    }
    return out;
  }
};

class FakeControlPlane : public agent::ControlPlane {
 public:
  FakeControlPlane(Deferred& deferred, std::shared_ptr<FakeServer> server)
      : deferred_(deferred), server_(std::move(server)) {}

  void call(const std::string& action, json fields, Done done) override {
    server_->calls.push_back({action, fields, server_->clock->now()});
    if (server_->drop_next[action] > 0) {
      --server_->drop_next[action];
      return;  // `done` never runs
    }
    agent::CallResult r;
    if (server_->fail_next[action] > 0) {
      --server_->fail_next[action];
      r.transport_error = "fake: connection refused";
    } else if (auto& codes = server_->errors_next[action]; !codes.empty()) {
      r.http_status = 200;
      r.set_response({{"Error", {{"Code", codes.front()}, {"Message", "fake"}}},
                      {"ServerTime", 1'796'400'100}});
      codes.pop_front();
    } else {
      r.http_status = 200;
      if (action == "DescribeTasks" && server_->hold_describe) {
        // Answered later with what describe_reply holds then: a reply computed before
        // reports that the agent sends meanwhile.
        server_->held.push_back([server = server_, done = std::move(done), r]() mutable {
          r.set_response(server->describe_reply);
          done(r);
        });
        return;
      }
      if (action == "DescribeTasks") {
        r.set_response(server_->describe_reply);
        server_->describe_reply = json::object();
      } else if (auto it = server_->answers.find(action); it != server_->answers.end()) {
        r.set_response(it->second);
      } else if (server_->responder) {
        r.set_response(server_->responder(action, fields));
      }
    }
    deferred_.post([done = std::move(done), r = std::move(r)] { done(r); });
  }
  void connect_push(agent::PushHandlers handlers) override {
    server_->push_connects.push_back(server_->clock->now());
    server_->push = std::move(handlers);
  }
  void close_push() override { ++server_->push_closes; }
  // Calls still held complete no more (their callbacks own the daemon: drop them).
  void shutdown() override {
    ++server_->shutdowns;
    server_->held.clear();
  }
  void set_clock_offset(std::int64_t seconds) override { server_->clock_offset = seconds; }

 private:
  Deferred& deferred_;
  std::shared_ptr<FakeServer> server_;
};

// What the daemon asked of its runner; outlives the runner (the daemon drops it at its stop).
struct RunnerLog {
  struct Submitted {
    Task task;
    agent::Runner::Completion done;
    agent::Runner::Started started;
  };
  std::map<std::string, Submitted> tasks;
  std::vector<std::string> submitted;
  std::vector<std::string> cancels;
  // Runner::set_limits calls: max_concurrent and kill_grace.
  std::vector<std::pair<std::size_t, milliseconds>> limits;
  bool detached = false;
};

// Hands tasks to the test, which starts and ends them (Harness::start_task, finish_task).
class FakeRunner : public agent::Runner {
 public:
  explicit FakeRunner(std::shared_ptr<RunnerLog> log) : log_(std::move(log)) {}
  ~FakeRunner() override { log_->detached = true; }

  void submit(Task task, Completion done, Started started) override {
    const std::string id = task.invocation_task_id;
    log_->submitted.push_back(id);
    log_->tasks[id] = {std::move(task), std::move(done), std::move(started)};
  }
  bool cancel(const std::string& id) override {
    log_->cancels.push_back(id);
    return log_->tasks.contains(id);
  }
  void set_limits(std::size_t max_concurrent, milliseconds kill_grace) override {
    log_->limits.emplace_back(max_concurrent, kill_grace);
  }

 private:
  std::shared_ptr<RunnerLog> log_;
};

// What the daemon asked of the object store, and how the store answers.
struct ObjectLog {
  struct Sent {
    agent::ObjectRequest request;
    std::chrono::steady_clock::time_point deadline;
  };
  std::vector<Sent> sent;
  // The answer to each request; by default a success with an ETag or an UploadId.
  std::function<agent::ObjectReply(const agent::ObjectRequest&)> answer;
  int stops = 0;
};

class FakeObjectClient : public agent::ObjectClient {
 public:
  FakeObjectClient(Deferred& deferred, std::shared_ptr<ObjectLog> log)
      : deferred_(deferred), log_(std::move(log)) {}
  void send(agent::ObjectRequest request, std::chrono::steady_clock::time_point deadline,
            Done done) override {
    log_->sent.push_back({request, deadline});
    agent::ObjectReply r;
    if (log_->answer) {
      r = log_->answer(request);
    } else {
      r.ok = true;
      r.etag = "\"etag-" + std::to_string(log_->sent.size()) + "\"";
      r.upload_id = "upload-1";
    }
    deferred_.post([done = std::move(done), r] { done(r); });
  }
  void stop() override { ++log_->stops; }

 private:
  Deferred& deferred_;
  std::shared_ptr<ObjectLog> log_;
};

// A power command the daemon ran, and how many ReportTaskFinish calls the server had by then.
struct PowerCommand {
  std::vector<std::string> argv;
  std::size_t finishes_seen = 0;
};

struct Harness {
  Deferred deferred;
  std::shared_ptr<std::vector<PowerCommand>> power_commands =
      std::make_shared<std::vector<PowerCommand>>();
  std::shared_ptr<FakeServer> server = std::make_shared<FakeServer>();
  std::shared_ptr<RunnerLog> runner = std::make_shared<RunnerLog>();
  std::shared_ptr<ObjectLog> objects = std::make_shared<ObjectLog>();
  FakeClock* clock = nullptr;  // owned by the daemon
  std::unique_ptr<agent::Daemon> daemon;
  bool stopped = false;

  // Options for tests: short retries, the state dir given.
  static agent::DaemonOptions options(const std::filesystem::path& state_dir) {
    agent::DaemonOptions o;
    o.state_dir = state_dir;
    o.retry_min = milliseconds(10);
    o.retry_max = milliseconds(40);
    o.version = "9.9.9";
    return o;
  }

  // `prepare` sets up the fake server before the daemon starts (and recovers its journal).
  explicit Harness(agent::DaemonOptions o, bool hold_describe = false,
                   const std::function<void(FakeServer&)>& prepare = {}) {
    server->hold_describe = hold_describe;
    if (prepare) {
      prepare(*server);
    }
    auto fake_clock = std::make_unique<FakeClock>();
    clock = fake_clock.get();
    server->clock = clock;
    agent::Identity id;
    id.instance_id = "rins-test0001";
    id.server_url = "http://127.0.0.1:1";
    agent::DaemonServices services{
        std::make_unique<FakeControlPlane>(deferred, server), std::make_unique<FakeRunner>(runner),
        std::move(fake_clock), std::make_unique<FakeObjectClient>(deferred, objects),
        [commands = power_commands, server = server](const std::vector<std::string>& argv) {
          commands->push_back({argv, server->of("ReportTaskFinish").size()});
        }};
    daemon = std::make_unique<agent::Daemon>(std::move(o), id, std::move(services));
    // Started, its first calls made; their answers wait for the test's first settle().
    daemon->start([this] { stopped = true; });
  }
  ~Harness() {
    daemon->stop();
    advance(milliseconds(10'000));
  }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  // Runs what is due now, until nothing is.
  void settle() {
    for (;;) {
      if (deferred.run_one()) {
        continue;
      }
      const auto due = clock->next_due();
      if (!due || *due > clock->now()) {
        return;
      }
      clock->advance_to(clock->now());
    }
  }
  // Lets `d` of fake time pass, answering calls as they come.
  void advance(milliseconds d) {
    const auto target = clock->now() + d;
    for (;;) {
      settle();
      const auto due = clock->next_due();
      if (!due || *due > target) {
        break;
      }
      clock->advance_to(*due);
    }
    clock->advance_to(target);
    settle();
  }
  // Fake time in `step`s (and as much real time, for real processes) until `pred` holds.
  bool run_until(const std::function<bool()>& pred, milliseconds limit = milliseconds(60'000),
                 milliseconds step = milliseconds(50), bool real_time = false) {
    for (milliseconds spent{0}; spent <= limit; spent += step) {
      settle();
      if (pred()) {
        return true;
      }
      if (real_time) {
        std::this_thread::sleep_for(step);
      }
      advance(step);
    }
    return pred();
  }

  // The runner's side of a task: its supervisor runs, then it ends with `result`.
  void start_task(const std::string& id, platform::ProcessIdentity supervisor = {4242, 77}) {
    REQUIRE(runner->tasks.contains(id));
    runner->tasks[id].started(supervisor);
    settle();
  }
  void finish_task(const std::string& id, TaskResult result) {
    REQUIRE(runner->tasks.contains(id));
    runner->tasks[id].done(std::move(result));
    settle();
  }
  // A push frame, as the server sends it.
  void push(const std::string& frame) {
    REQUIRE(server->push.on_message);
    server->push.on_message(frame);
    settle();
  }
};

inline std::vector<std::string> actions(const std::vector<Call>& calls) {
  std::vector<std::string> out;
  for (const auto& c : calls) {
    out.push_back(c.action);
  }
  return out;
}

}  // namespace ferry::test
