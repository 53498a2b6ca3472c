// Fan-out of one ferry-server to many agents (issue 17), with simulated agents that speak the
// real agent protocol from this one process: each registers (its own Ed25519 key, signed
// RegisterInstance), holds a signed WebSocket, and answers a kick by DescribeTasks, then
// ReportTaskStart and ReportTaskFinish (SUCCESS, exit code 0, no output) at once: nothing runs.
// Their HTTP requests share a pool of keep-alive connections, as agents behind one address do.
//
// Figures, each beside its target:
//  idle:   N agents connected, nothing to do, for S seconds: the server's RSS and CPU.
//  fanout: RunCommand to all N (calls of 200 instances, the API's cap) until DescribeInvocations
//          shows every invocation SUCCESS (an invocation is SUCCESS when all its tasks are).
//
// Usage: ferry-bench-fanout [--agents N] [--idle-seconds S] [--server PATH] [--http-pool P]
//        (prints one JSON object; talks to loopback only; every loop bounded in time)
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "api_client.hpp"
#include "bench_options.hpp"
#include "ferry/core/base64.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/core/ed25519.hpp"
#include "proc_stats.hpp"
#include "server_process.hpp"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;
using ferry::test::AgentClient;
using ferry::test::ApiClient;
using ferry::test::ApiResponse;

namespace {

constexpr double kIdleRssTargetMib = 400;
constexpr double kIdleCpuTargetPercent = 2;
constexpr double kFanoutTargetSeconds = 5;
constexpr std::size_t kInstancesPerCall = 200;  // RunCommand's cap on InstanceIds
constexpr auto tok = net::as_tuple(net::use_awaitable);

struct Options {
  int agents = 10'000;
  int idle_seconds = 30;
  int http_pool = 64;
  std::string server = FERRY_SERVER_BIN;
};

json ok_or_throw(const ApiResponse& r, const char* what) {
  if (!r.ok()) {
    throw std::runtime_error(std::string(what) + ": " + r.describe());
  }
  return r.response;
}

struct SimAgent {
  SimAgent(std::string instance, ferry::Ed25519PrivateKey k)
      : id(std::move(instance)), key(std::move(k)) {}
  std::string id;
  ferry::Ed25519PrivateKey key;
  std::atomic<bool> busy{false};
  std::atomic<bool> again{false};
};

// The agent protocol's signature headers of one request.
std::vector<std::pair<std::string, std::string>> signed_headers(const SimAgent& a,
                                                                const std::string& action,
                                                                const std::string& body) {
  const auto ts = ferry::test::unix_now();
  const std::string nonce = ferry::test::new_agent_nonce();
  auto text = ferry::agent_signing_string(action, ferry::sha256_hex(body), ts, nonce, a.id);
  if (!text) {
    throw std::runtime_error("signing string: " + text.error().message);
  }
  auto sig = a.key.sign_base64(*text);
  if (!sig) {
    throw std::runtime_error("signing failed");
  }
  return {{"X-Ferry-Protocol", "1"},
          {"X-Ferry-Instance", a.id},
          {"X-Ferry-Timestamp", std::to_string(ts)},
          {"X-Ferry-Nonce", nonce},
          {"X-Ferry-Signature", *sig}};
}

// The reports of a task that "ran" at once (built outside the coroutines: GCC 12 miscompiles
// string literals in braced initialisers inside them).
json start_body(const std::string& task) {
  return {{"InvocationTaskId", task}, {"TimeStamp", "2026-01-01T00:00:00Z"}};
}

json finish_body(const std::string& task) {
  return {{"InvocationTaskId", task},
          {"Result", "SUCCESS"},
          {"ExitCode", 0},
          {"Output", ""},
          {"Dropped", 0},
          {"OutputSize", 0},
          {"ExecStartTime", "2026-01-01T00:00:00Z"},
          {"ExecEndTime", "2026-01-01T00:00:00Z"},
          {"FinalLogIndex", -1}};
}

// Everything the simulated agents share: the loop, the server's address, a pool of keep-alive
// HTTP connections, and what they did.
class Fleet {
 public:
  Fleet(net::io_context& io, std::uint16_t port, std::size_t pool)
      : io_(io), endpoint_(net::ip::make_address("127.0.0.1"), port), pool_limit_(pool) {}

  std::atomic<long> connected{0};
  std::atomic<long> connect_failures{0};
  std::atomic<long> finished{0};
  std::atomic<long> request_failures{0};

  net::awaitable<void> run_agent(SimAgent& a) {
    auto ws = std::make_unique<websocket::stream<beast::tcp_stream>>(io_);
    beast::get_lowest_layer(*ws).expires_after(std::chrono::seconds(30));
    auto [cec] = co_await beast::get_lowest_layer(*ws).async_connect(endpoint_, tok);
    if (cec) {
      ++connect_failures;
      co_return;
    }
    beast::get_lowest_layer(*ws).expires_never();
    const auto headers = signed_headers(a, "Connect", "");
    ws->set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
      for (const auto& [k, v] : headers) {
        req.set(k, v);
      }
    }));
    ws->set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    auto [hec] = co_await ws->async_handshake("127.0.0.1", "/ws", tok);
    if (hec) {
      ++connect_failures;
      co_return;
    }
    ++connected;
    beast::flat_buffer buffer;
    for (;;) {
      auto [rec, n] = co_await ws->async_read(buffer, tok);
      if (rec) {
        --connected;
        co_return;
      }
      const auto msg = json::parse(beast::buffers_to_string(buffer.data()), nullptr, false);
      buffer.consume(buffer.size());
      if (msg.is_object() && msg.value("Type", "") == "kick") {
        if (a.busy.exchange(true)) {
          a.again = true;  // the running round fetches again
        } else {
          net::co_spawn(io_, take_tasks(a), net::detached);
        }
      }
    }
  }

 private:
  // DescribeTasks until it hands over nothing; each task started and finished at once.
  net::awaitable<void> take_tasks(SimAgent& a) {
    for (;;) {
      a.again = false;
      const json reply = co_await call(a, "DescribeTasks", json::object());
      const auto set = reply.value("InvocationNormalTaskSet", json::array());
      for (const auto& t : set) {
        const std::string task = t.value("InvocationTaskId", "");
        co_await call(a, "ReportTaskStart", start_body(task));
        const json done = co_await call(a, "ReportTaskFinish", finish_body(task));
        if (done.is_object()) {
          ++finished;
        }
      }
      if (set.empty() && !a.again) {
        a.busy = false;
        if (!a.again.exchange(false)) {
          co_return;
        }
        a.busy = true;  // a kick came between the check and the release
      }
    }
  }

  // One signed POST /agent on a pooled connection; the Response object, or null on failure.
  net::awaitable<json> call(const SimAgent& a, const std::string& action, json body) {
    body["Action"] = action;
    const std::string text = body.dump();
    auto stream = co_await acquire();
    if (!stream) {
      ++request_failures;
      co_return json();
    }
    http::request<http::string_body> req{http::verb::post, "/agent", 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/json");
    for (const auto& [k, v] : signed_headers(a, action, text)) {
      req.set(k, v);
    }
    req.body() = text;
    req.prepare_payload();
    req.keep_alive(true);
    stream->expires_after(std::chrono::seconds(30));
    auto [wec, wn] = co_await http::async_write(*stream, req, tok);
    http::response<http::string_body> res;
    beast::flat_buffer buffer;
    beast::error_code rec = wec;
    if (!wec) {
      std::tie(rec, std::ignore) = co_await http::async_read(*stream, buffer, res, tok);
    }
    if (rec) {
      ++request_failures;
      co_return json();  // the connection is dropped
    }
    release(std::move(stream), res.keep_alive());
    auto j = json::parse(res.body(), nullptr, false);
    if (!j.is_object() || !j.contains("Response") || j["Response"].contains("Error")) {
      ++request_failures;
      co_return json();
    }
    co_return j["Response"];
  }

  // A connection of the pool: an idle one, a new one while fewer than the limit exist, else
  // the first to come back (polled every millisecond, for at most 30 s).
  net::awaitable<std::unique_ptr<beast::tcp_stream>> acquire() {
    const auto deadline = SteadyClock::now() + std::chrono::seconds(30);
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (!idle_.empty()) {
          auto s = std::move(idle_.back());
          idle_.pop_back();
          co_return s;
        }
        if (open_ < pool_limit_) {
          ++open_;
          break;
        }
      }
      if (SteadyClock::now() > deadline) {
        co_return nullptr;
      }
      net::steady_timer t(io_, std::chrono::milliseconds(1));
      co_await t.async_wait(tok);
    }
    auto s = std::make_unique<beast::tcp_stream>(io_);
    s->expires_after(std::chrono::seconds(10));
    auto [ec] = co_await s->async_connect(endpoint_, tok);
    if (ec) {
      std::lock_guard lock(mutex_);
      --open_;
      co_return nullptr;
    }
    co_return s;
  }

  void release(std::unique_ptr<beast::tcp_stream> s, bool reusable) {
    std::lock_guard lock(mutex_);
    if (reusable) {
      idle_.push_back(std::move(s));
    } else {
      --open_;
    }
  }

  net::io_context& io_;
  net::ip::tcp::endpoint endpoint_;
  std::size_t pool_limit_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<beast::tcp_stream>> idle_;
  std::size_t open_ = 0;
};

Options parse_options(int argc, char** argv) {
  Options o;
  ferry::bench::parse_bench_options(
      argc, argv,
      "ferry-bench-fanout [--agents N] [--idle-seconds S] [--http-pool P] [--server PATH]",
      {{"--agents", true, [&](const std::string& v) { o.agents = std::stoi(v); }},
       {"--idle-seconds", true, [&](const std::string& v) { o.idle_seconds = std::stoi(v); }},
       {"--http-pool", true, [&](const std::string& v) { o.http_pool = std::stoi(v); }},
       {"--server", true, [&](const std::string& v) { o.server = v; }}});
  if (o.agents < 1 || o.idle_seconds < 1 || o.http_pool < 1) {
    throw std::runtime_error("--agents, --idle-seconds and --http-pool must be positive");
  }
  return o;
}

// As many descriptors as allowed: N WebSockets here and N in the server (which inherits it).
void raise_descriptor_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
}

// Registers `n` agents (a register code per 1,000, the code's cap being 10,000) from `threads`
// blocking clients.
std::vector<std::unique_ptr<SimAgent>> register_agents(ApiClient& api, const std::string& endpoint,
                                                       int n, int threads) {
  std::vector<std::pair<std::string, std::string>> codes;
  for (int i = 0; i < n; i += 1000) {
    auto c = ok_or_throw(
        api.call("CreateRegisterCode", {{"Description", "fanout"}, {"RegisterLimit", 1000}}),
        "CreateRegisterCode");
    codes.emplace_back(c["RegisterCodeId"], c["RegisterCodeValue"]);
  }
  std::vector<std::unique_ptr<SimAgent>> agents(static_cast<std::size_t>(n));
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::string failure;
  std::mutex failure_mutex;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = next++; i < n && !failed; i = next++) {
        auto key = ferry::Ed25519PrivateKey::generate();
        auto pem = key ? key->to_pem() : ferry::Expected<std::string>(ferry::Error{});
        auto copy = pem ? ferry::Ed25519PrivateKey::from_pem(*pem)
                        : ferry::Expected<ferry::Ed25519PrivateKey>(ferry::Error{});
        if (!copy) {
          failed = true;
          return;
        }
        // The client takes one copy of the key; the simulated agent keeps the other.
        AgentClient client(endpoint, "", std::move(*key));
        const auto& [code_id, code] = codes[static_cast<std::size_t>(i / 1000)];
        auto r = client.register_instance(code_id, code, "Linux", "fanout-" + std::to_string(i));
        if (!r.ok()) {
          std::lock_guard lock(failure_mutex);
          failure = r.describe();
          failed = true;
          return;
        }
        agents[static_cast<std::size_t>(i)] =
            std::make_unique<SimAgent>(client.instance_id(), std::move(*copy));
      }
    });
  }
  for (auto& w : workers) {
    w.join();
  }
  if (failed) {
    throw std::runtime_error("registration failed: " + failure);
  }
  return agents;
}

bool all_invocations_success(ApiClient& api, const std::vector<std::string>& invocations) {
  for (std::size_t i = 0; i < invocations.size(); i += 100) {
    const std::vector<std::string> page(
        invocations.begin() + static_cast<std::ptrdiff_t>(i),
        invocations.begin() + static_cast<std::ptrdiff_t>(std::min(i + 100, invocations.size())));
    auto r = api.call("DescribeInvocations", {{"InvocationIds", page}, {"Limit", 100}});
    if (!r.ok()) {
      return false;
    }
    for (const auto& inv : r.response["InvocationSet"]) {
      if (inv["InvocationStatus"] != "SUCCESS") {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse_options(argc, argv);
    raise_descriptor_limit();
    // All agents come from one address here: the per-source cap of untrusted connections would
    // throttle the first connections of ten thousand at once.
    ferry::test::ServerProcess server(o.server, {{"rate_limit", 0},
                                                 {"io_threads", 0},
                                                 {"log_level", "warn"},
                                                 {"heartbeat_interval_s", 3600},
                                                 {"online_window_s", 3600},
                                                 {"sweep_interval_ms", 1000},
                                                 {"agent_auth_failure_rate", 0},
                                                 {"max_connections", 2 * o.agents + 1000},
                                                 {"max_connections_per_source", 1'000'000},
                                                 {"max_run_instances", kInstancesPerCall}});
    ApiClient api = server.api();
    const auto t_register = SteadyClock::now();
    auto agents = register_agents(api, server.endpoint(), o.agents, 8);
    const double register_s =
        std::chrono::duration<double>(SteadyClock::now() - t_register).count();

    net::io_context io;
    Fleet fleet(io, server.port(), static_cast<std::size_t>(o.http_pool));
    auto guard = net::make_work_guard(io);
    std::vector<std::thread> loop_threads;
    for (int i = 0; i < 2; ++i) {
      loop_threads.emplace_back([&] { io.run(); });
    }
    const auto t_connect = SteadyClock::now();
    // A few hundred handshakes at a time, as agents coming up would.
    for (std::size_t i = 0; i < agents.size(); ++i) {
      net::co_spawn(io, fleet.run_agent(*agents[i]), net::detached);
      if (i % 200 == 199) {
        const auto until = SteadyClock::now() + std::chrono::seconds(30);
        while (fleet.connected + fleet.connect_failures < static_cast<long>(i) - 200 &&
               SteadyClock::now() < until) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      }
    }
    const auto connect_until = SteadyClock::now() + std::chrono::seconds(120);
    while (fleet.connected + fleet.connect_failures < o.agents &&
           SteadyClock::now() < connect_until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const double connect_s = std::chrono::duration<double>(SteadyClock::now() - t_connect).count();

    // Idle: the server with every agent connected and nothing to do.
    const long ticks_per_s = ::sysconf(_SC_CLK_TCK);
    const long long cpu0 = ferry::bench::cpu_ticks(server.pid());
    std::this_thread::sleep_for(std::chrono::seconds(o.idle_seconds));
    const long long cpu1 = ferry::bench::cpu_ticks(server.pid());
    const double idle_cpu = 100.0 * static_cast<double>(cpu1 - cpu0) /
                            static_cast<double>(ticks_per_s * o.idle_seconds);
    const double idle_rss =
        static_cast<double>(ferry::bench::status_kib(server.pid(), "VmRSS")) / 1024.0;

    // Fan-out: every agent in calls of 200, until every invocation is SUCCESS.
    std::vector<std::string> invocations;
    const auto t_fanout = SteadyClock::now();
    for (std::size_t i = 0; i < agents.size(); i += kInstancesPerCall) {
      std::vector<std::string> ids;
      for (std::size_t j = i; j < std::min(agents.size(), i + kInstancesPerCall); ++j) {
        ids.push_back(agents[j]->id);
      }
      auto r = ok_or_throw(
          api.call("RunCommand", {{"Content", ferry::base64_encode("true")}, {"InstanceIds", ids}}),
          "RunCommand");
      invocations.push_back(r["InvocationId"]);
    }
    const double calls_s = std::chrono::duration<double>(SteadyClock::now() - t_fanout).count();
    const auto fanout_until = SteadyClock::now() + std::chrono::seconds(120);
    bool all_success = false;
    double agents_done_s = -1;  // when the agents had all reported their finish
    while (!(all_success = all_invocations_success(api, invocations)) &&
           SteadyClock::now() < fanout_until) {
      if (agents_done_s < 0 && fleet.finished >= o.agents) {
        agents_done_s = std::chrono::duration<double>(SteadyClock::now() - t_fanout).count();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    const double fanout_s = std::chrono::duration<double>(SteadyClock::now() - t_fanout).count();
    if (agents_done_s < 0 && fleet.finished >= o.agents) {
      agents_done_s = fanout_s;  // within the last poll
    }
    const double fanout_rss =
        static_cast<double>(ferry::bench::status_kib(server.pid(), "VmHWM")) / 1024.0;

    guard.reset();
    io.stop();
    for (auto& t : loop_threads) {
      t.join();
    }
    server.stop();
    const json out{{"agents", o.agents},
                   {"register_seconds", register_s},
                   {"connect_seconds", connect_s},
                   {"connected", fleet.connected.load()},
                   {"connect_failures", fleet.connect_failures.load()},
                   {"idle",
                    {{"seconds", o.idle_seconds},
                     {"server_rss_mib", idle_rss},
                     {"target_rss_mib", kIdleRssTargetMib},
                     {"server_cpu_percent", idle_cpu},
                     {"target_cpu_percent", kIdleCpuTargetPercent}}},
                   {"fanout",
                    {{"run_command_calls", invocations.size()},
                     {"calls_seconds", calls_s},
                     {"all_success", all_success},
                     {"seconds_to_all_success", fanout_s},
                     {"target_seconds", kFanoutTargetSeconds},
                     {"tasks_finished_by_agents", fleet.finished.load()},
                     {"agents_reported_all_seconds", agents_done_s},
                     {"agent_request_failures", fleet.request_failures.load()},
                     {"server_peak_rss_mib", fanout_rss}}}};
    std::cout << out.dump(2) << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ferry-bench-fanout: %s\n", e.what());
    return 1;
  }
}
