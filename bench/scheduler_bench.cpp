// The scheduler's cost with many invokers: a real ferry-server (release build from the same
// build dir) with N enabled RECURRENCE invokers spread over the hour (invoker i fires at minute
// i % 60 of every hour, so N/60 slots fall due together each minute), no API traffic.
// With --every-minute all N fire every minute instead (a burst of N slots due at once).
//  floor:   the same server, idle, before any invoker exists: CPU (% of one core) and RSS;
//  loaded:  the same over the next M minutes with the N invokers, firing as they fall due;
//  lag:     for every firing in that window, its invocation's creation time minus the slot's
//           time, from the database after the server stopped (ms; target: p99 under 1 s);
//  firings: the firings expected in the window (each invoker's minute boundaries after it was
//           made) and those recorded, which must be equal, one per (invoker, slot).
// Usage: ferry-bench-scheduler [--invokers N] [--minutes M] [--idle-seconds S] [--threads T]
//                              [--every-minute] [--server PATH]   (prints one JSON object)
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "api_client.hpp"
#include "bench_options.hpp"
#include "ferry/core/base64.hpp"
#include "ferry/core/ed25519.hpp"
#include "proc_stats.hpp"
#include "server_process.hpp"

using ferry::test::AgentClient;
using ferry::test::ApiClient;
using ferry::test::ApiResponse;
using nlohmann::json;

namespace {

constexpr double kLagP99TargetMs = 1000;
constexpr int64_t kMinuteMs = 60'000;

struct Options {
  int invokers = 10'000;
  double minutes = 3;
  double idle_seconds = 20;
  int threads = 8;
  bool every_minute = false;
  std::string server = FERRY_SERVER_BIN;
};

json ok_or_throw(const ApiResponse& r, const char* what) {
  if (!r.ok()) {
    throw std::runtime_error(std::string(what) + ": " + r.describe());
  }
  return r.response;
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// CPU (% of one core) and the largest RSS sampled once a second over `seconds`.
json watch(pid_t pid, double seconds) {
  const long ticks_per_s = sysconf(_SC_CLK_TCK);
  const long long ticks0 = ferry::bench::cpu_ticks(pid);
  const auto t0 = std::chrono::steady_clock::now();
  const auto end = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(seconds));
  long long rss_max = ferry::bench::status_kib(pid, "VmRSS");
  while (std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::seconds(1), end - std::chrono::steady_clock::now()));
    rss_max = std::max(rss_max, ferry::bench::status_kib(pid, "VmRSS"));
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const long long ticks = ferry::bench::cpu_ticks(pid) - ticks0;
  return json{{"seconds", elapsed},
              {"cpu_percent",
               100.0 * static_cast<double>(ticks) / (static_cast<double>(ticks_per_s) * elapsed)},
              {"rss_max_mib", static_cast<double>(rss_max) / 1024.0}};
}

// Rows of one query on the stopped server's database.
std::vector<std::vector<int64_t>> query(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* conn = nullptr;
  if (sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(conn);
    throw std::runtime_error("cannot open " + db.string());
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(conn, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    const std::string error = sqlite3_errmsg(conn);
    sqlite3_close(conn);
    throw std::runtime_error(sql + ": " + error);
  }
  std::vector<std::vector<int64_t>> rows;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    std::vector<int64_t> row;
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      row.push_back(sqlite3_column_int64(stmt, i));
    }
    rows.push_back(std::move(row));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(conn);
  return rows;
}

Options parse_options(int argc, char** argv) {
  Options o;
  ferry::bench::parse_bench_options(
      argc, argv,
      "ferry-bench-scheduler [--invokers N] [--minutes M] [--idle-seconds S] [--threads T] "
      "[--every-minute] [--server PATH]",
      {{"--invokers", true, [&](const std::string& v) { o.invokers = std::stoi(v); }},
       {"--minutes", true, [&](const std::string& v) { o.minutes = std::stod(v); }},
       {"--idle-seconds", true, [&](const std::string& v) { o.idle_seconds = std::stod(v); }},
       {"--threads", true, [&](const std::string& v) { o.threads = std::stoi(v); }},
       {"--every-minute", false, [&](const std::string&) { o.every_minute = true; }},
       {"--server", true, [&](const std::string& v) { o.server = v; }}});
  if (o.invokers < 1 || o.minutes <= 0 || o.idle_seconds <= 0 || o.threads < 1) {
    throw std::runtime_error("every option must be positive");
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse_options(argc, argv);
    // The agent counts as online for the whole run (CreateInvoker requires it) without holding
    // a socket; the tasks the firings make stay PENDING and the sweeper leaves them alone.
    ferry::test::ServerProcess server(o.server, {{"rate_limit", 0},
                                                 {"log_level", "warn"},
                                                 {"heartbeat_interval_s", 60},
                                                 {"online_window_s", 86400},
                                                 {"deliver_timeout_s", 86400},
                                                 {"task_timeout_grace_s", 600},
                                                 {"sweep_interval_ms", 1000}});
    auto api = server.api();
    auto code = ok_or_throw(api.call("CreateRegisterCode", {{"Description", "bench"}}),
                            "CreateRegisterCode");
    auto key = ferry::Ed25519PrivateKey::generate();
    if (!key) {
      throw std::runtime_error("key generation failed");
    }
    AgentClient agent(server.endpoint(), "", std::move(key).value());
    ok_or_throw(agent.register_instance(code["RegisterCodeId"], code["RegisterCodeValue"]),
                "RegisterInstance");
    ok_or_throw(agent.call("Heartbeat", {{"Version", "bench"}}), "Heartbeat");
    const std::string command_id =
        ok_or_throw(api.call("CreateCommand",
                             {{"CommandName", "bench"}, {"Content", ferry::base64_encode("true")}}),
                    "CreateCommand")["CommandId"];

    json out;
    out["invokers"] = o.invokers;
    out["schedule"] = o.every_minute ? "every minute, all at once" : "minute i % 60 of the hour";
    out["floor"] = watch(server.pid(), o.idle_seconds);
    out["floor"]["what"] = "the server idle with no invoker";

    // N invokers from T client threads.
    std::atomic<int> next{0};
    std::vector<std::thread> threads;
    const auto create_start = std::chrono::steady_clock::now();
    std::atomic<int> failures{0};
    std::string first_failure;
    std::mutex failure_mutex;
    for (int t = 0; t < o.threads; ++t) {
      threads.emplace_back([&] {
        ApiClient client(server.endpoint(), ferry::test::kTestSecretId, ferry::test::kTestSecretKey,
                         ferry::test::kTestRegion);
        for (int i = next++; i < o.invokers; i = next++) {
          const auto r = client.call(
              "CreateInvoker",
              {{"Name", "bench-" + std::to_string(i)},
               {"Type", "SCHEDULE"},
               {"CommandId", command_id},
               {"InstanceIds", {agent.instance_id()}},
               {"ScheduleSettings",
                {{"Policy", "RECURRENCE"},
                 {"Recurrence",
                  o.every_minute ? "* * * * *" : std::to_string(i % 60) + " * * * *"}}}});
          if (!r.ok()) {
            std::lock_guard lock(failure_mutex);
            if (failures++ == 0) {
              first_failure = r.describe();
            }
          }
        }
      });
    }
    for (auto& th : threads) {
      th.join();
    }
    if (failures > 0) {
      throw std::runtime_error(std::to_string(failures.load()) +
                               " CreateInvoker calls failed, the first: " + first_failure);
    }
    const double create_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - create_start).count();
    out["create"] = {{"seconds", create_s}, {"per_second", o.invokers / create_s}};

    out["loaded"] = watch(server.pid(), o.minutes * 60);
    out["loaded"]["what"] = "the same server with the invokers enabled, firing as they fall due";
    // Slots of the last 5 s may still be firing when the server stops: the counts end before.
    const int64_t cutoff = wall_ms() - 5000;
    server.stop();

    // Lags and counts from the database.
    const auto db = server.data_dir() / "ferry.db";
    const auto lags_rows = query(db,
                                 "SELECT i.created_ms - r.slot_ms FROM invoker_records r "
                                 "JOIN invocations i ON i.invocation_id = r.invocation_id");
    std::vector<int64_t> lags;
    for (const auto& row : lags_rows) {
      lags.push_back(row[0]);
    }
    std::sort(lags.begin(), lags.end());
    const auto at = [&](double q) -> int64_t {
      return lags.empty()
                 ? 0
                 : lags[std::min(lags.size() - 1,
                                 static_cast<std::size_t>(q * static_cast<double>(lags.size())))];
    };
    const std::string in_window = " slot_ms <= " + std::to_string(cutoff);
    const auto records = query(db, "SELECT COUNT(*) FROM invoker_records WHERE" + in_window)[0][0];
    const auto failed = query(db,
                              "SELECT COUNT(*) FROM invoker_records WHERE invocation_id = '' "
                              "AND" +
                                  in_window)[0][0];
    // Each invoker's minute boundaries after it was made, up to the cutoff.
    int64_t expected = 0;
    for (const auto& row : query(db,
                                 "SELECT CAST(substr(schedule_recurrence, 1, "
                                 "instr(schedule_recurrence, ' ') - 1) AS INTEGER), created_ms "
                                 "FROM invokers")) {
      const int64_t minute = row[0];
      for (int64_t b = (row[1] / kMinuteMs + 1) * kMinuteMs; b <= cutoff; b += kMinuteMs) {
        expected += o.every_minute || (b / kMinuteMs) % 60 == minute ? 1 : 0;
      }
    }
    out["firings"] = {{"expected", expected}, {"recorded", records}, {"failed", failed}};
    out["lag_ms"] = {{"count", lags.size()},
                     {"median", at(0.5)},
                     {"p99", at(0.99)},
                     {"max", lags.empty() ? 0 : lags.back()}};
    out["targets"] = {{"lag_p99_ms_max", kLagP99TargetMs},
                      {"lag_p99_met", static_cast<double>(at(0.99)) < kLagP99TargetMs},
                      {"every_slot_fired_once", records == expected && failed == 0}};
    std::cout << out.dump(2) << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "ferry-bench-scheduler: " << e.what() << "\n";
    return 1;
  }
}
