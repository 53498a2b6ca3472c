// ferry-server's Prometheus metrics (docs/operations.md, "Metrics"): counters and histograms fed
// as requests and store calls run, gauges read from their sources at each scrape, all written in
// Prometheus's text format (version 0.0.4) for `GET /metrics` on the metrics listener, which is
// off unless `metrics_listen` is set.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

#include "ferry/server/api/request_outcome.hpp"
#include "ferry/server/http_server.hpp"
#include "ferry/server/store/store.hpp"

namespace ferry::server {

// Durations in seconds in fixed buckets (0.5 ms to 10 s), lock-free for the hot paths.
class DurationHistogram {
 public:
  static constexpr std::array<double, 14> kBounds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  void observe(std::chrono::nanoseconds elapsed) noexcept;
  // Appends the _bucket (cumulative, le="+Inf" last), _sum and _count lines of `name`;
  // `labels` are `key="value"` pairs joined by commas, or empty.
  void write(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> counts_{};  // per bucket; the last: +Inf
  std::atomic<uint64_t> sum_ns_{0};
};

// What the gauges read at each scrape; an unset source leaves its metric out.
struct MetricsSources {
  std::function<std::size_t()> agents_connected;    // WebSockets of agents on this server
  std::function<std::size_t()> http_connections;    // open connections of the API listener
  std::function<std::size_t()> unwritten_contacts;  // agent contacts not yet in the store
  Store* store = nullptr;                           // tasks by status, calls waiting
};

class ServerMetrics final : public StoreObserver {
 public:
  // Distinct (api, action, result) series kept; beyond, requests count under result "Other" with
  // no action (one more series per API), so that no caller can grow the scrape without bound.
  static constexpr std::size_t kMaxRequestSeries = 2000;

  // A request answered: counted by api, action and result, its time in the api's histogram.
  // Outcomes without an api (no handler claimed the request) are not counted.
  void count_request(const RequestOutcome& outcome, std::chrono::nanoseconds elapsed);
  // StoreObserver: the store call's time, by kind.
  void on_store_operation(StoreOperation kind, std::chrono::nanoseconds elapsed) noexcept override;

  // Before the metrics listener starts; the sources must outlive it.
  void set_sources(MetricsSources sources) { sources_ = std::move(sources); }

  // Every metric in the text format. A failed store read leaves the tasks out and is logged.
  [[nodiscard]] std::string render() const;
  // The metrics listener's handler: GET /metrics answers render(); other paths 404, other
  // methods 405.
  [[nodiscard]] HttpResponse handle(const HttpRequest& request) const;

 private:
  // The api's histogram; nullptr for an api this server does not have.
  [[nodiscard]] DurationHistogram* request_histogram(std::string_view api);

  mutable std::mutex requests_mutex_;
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> requests_;
  std::array<DurationHistogram, 3> request_seconds_;  // tat, acs, agent
  std::array<DurationHistogram, 2> store_seconds_;    // read, write
  MetricsSources sources_;
};

// A label value as the text format writes it (backslash, double quote and newline escaped).
std::string metrics_label_value(std::string_view value);

}  // namespace ferry::server
