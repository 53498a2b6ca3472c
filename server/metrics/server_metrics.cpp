#include "ferry/server/metrics/server_metrics.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include "ferry/core/task.hpp"

namespace ferry::server {
namespace {

constexpr std::array<std::string_view, 3> kApis = {"tat", "acs", "agent"};

void append_number(std::string& out, double v) {
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%.9g", v);
  out.append(buf, static_cast<std::size_t>(std::max(n, 0)));
}

void append_header(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void append_sample(std::string& out, std::string_view name, std::string_view labels, double v) {
  out.append(name);
  if (!labels.empty()) {
    out.append("{").append(labels).append("}");
  }
  out.push_back(' ');
  append_number(out, v);
  out.push_back('\n');
}

void append_gauge(std::string& out, std::string_view name, std::string_view help,
                  const std::function<std::size_t()>& source) {
  if (!source) {
    return;
  }
  append_header(out, name, "gauge", help);
  append_sample(out, name, "", static_cast<double>(source()));
}

std::string label(std::string_view key, std::string_view value) {
  return std::string(key) + "=\"" + metrics_label_value(value) + "\"";
}

}  // namespace

std::string metrics_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void DurationHistogram::observe(std::chrono::nanoseconds elapsed) noexcept {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(kBounds.begin(), kBounds.end(), seconds) - kBounds.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(std::max<int64_t>(elapsed.count(), 0)),
                    std::memory_order_relaxed);
}

void DurationHistogram::write(std::string& out, std::string_view name,
                              std::string_view labels) const {
  const std::string prefix = labels.empty() ? std::string() : std::string(labels) + ",";
  const std::string bucket_name = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= kBounds.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    std::string le = prefix + "le=\"";
    if (i < kBounds.size()) {
      append_number(le, kBounds[i]);
    } else {
      le += "+Inf";
    }
    le += "\"";
    append_sample(out, bucket_name, le, static_cast<double>(cumulative));
  }
  append_sample(out, std::string(name) + "_sum", labels,
                static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9);
  append_sample(out, std::string(name) + "_count", labels, static_cast<double>(cumulative));
}

DurationHistogram* ServerMetrics::request_histogram(std::string_view api) {
  for (std::size_t i = 0; i < kApis.size(); ++i) {
    if (kApis[i] == api) {
      return &request_seconds_[i];
    }
  }
  return nullptr;
}

void ServerMetrics::count_request(const RequestOutcome& outcome, std::chrono::nanoseconds elapsed) {
  DurationHistogram* histogram = request_histogram(outcome.api);
  if (histogram == nullptr) {
    return;
  }
  histogram->observe(elapsed);
  auto key = std::make_tuple(outcome.api, outcome.action, outcome.result);
  std::lock_guard lock(requests_mutex_);
  auto it = requests_.find(key);
  if (it == requests_.end()) {
    if (requests_.size() >= kMaxRequestSeries) {
      key = std::make_tuple(outcome.api, std::string(), std::string("Other"));
    }
    it = requests_.try_emplace(std::move(key), 0).first;
  }
  ++it->second;
}

void ServerMetrics::on_store_operation(StoreOperation kind,
                                       std::chrono::nanoseconds elapsed) noexcept {
  store_seconds_[kind == StoreOperation::kRead ? 0 : 1].observe(elapsed);
}

std::string ServerMetrics::render() const {
  std::string out;
  append_header(out, "ferry_build_info", "gauge", "The ferry-server version, as a label.");
  append_sample(out, "ferry_build_info", label("version", FERRY_VERSION), 1);

  append_header(out, "ferry_api_requests_total", "counter",
                "Requests answered, by API (tat, acs, agent), action and result (Success or "
                "the error code).");
  {
    std::lock_guard lock(requests_mutex_);
    for (const auto& [key, n] : requests_) {
      const auto& [api, action, result] = key;
      append_sample(
          out, "ferry_api_requests_total",
          label("api", api) + "," + label("action", action) + "," + label("result", result),
          static_cast<double>(n));
    }
  }
  append_header(out, "ferry_api_request_duration_seconds", "histogram",
                "Time from a request's arrival at its handler to its reply, by API.");
  for (std::size_t i = 0; i < kApis.size(); ++i) {
    request_seconds_[i].write(out, "ferry_api_request_duration_seconds", label("api", kApis[i]));
  }
  append_header(out, "ferry_store_operation_duration_seconds", "histogram",
                "Time of each store call, its wait for a connection or the write lock "
                "included, by kind.");
  store_seconds_[0].write(out, "ferry_store_operation_duration_seconds", label("kind", "read"));
  store_seconds_[1].write(out, "ferry_store_operation_duration_seconds", label("kind", "write"));

  append_gauge(out, "ferry_agents_connected", "Agents holding a WebSocket to this server.",
               sources_.agents_connected);
  append_gauge(out, "ferry_http_connections", "Connections open on the API listener.",
               sources_.http_connections);
  append_gauge(out, "ferry_presence_unwritten_contacts",
               "Agents whose latest contact waits for the next presence refresh to reach the "
               "store.",
               sources_.unwritten_contacts);
  if (sources_.store != nullptr) {
    append_header(out, "ferry_store_waiting_calls", "gauge",
                  "Store calls waiting now for a connection or the write lock.");
    append_sample(out, "ferry_store_waiting_calls", "",
                  static_cast<double>(sources_.store->waiting_calls()));
    auto counts = sources_.store->count_tasks_by_status();
    if (!counts) {
      spdlog::warn("metrics: counting tasks by status failed: {}", counts.error().message);
    } else {
      append_header(out, "ferry_tasks", "gauge",
                    "Tasks in the store, by status (every server on one database sees the same).");
      // Every status, so that each scrape has the same series (kTerminated is the enum's last).
      for (int i = 0; i <= static_cast<int>(TaskStatus::kTerminated); ++i) {
        const auto status = static_cast<TaskStatus>(i);
        const auto it = std::find_if(counts->begin(), counts->end(),
                                     [status](const auto& c) { return c.first == status; });
        append_sample(out, "ferry_tasks", label("status", to_string(status)),
                      it == counts->end() ? 0.0 : static_cast<double>(it->second));
      }
    }
  }
  return out;
}

HttpResponse ServerMetrics::handle(const HttpRequest& request) const {
  HttpResponse r;
  r.content_type = "text/plain; charset=utf-8";
  const auto q = request.target.find('?');
  const std::string_view path = std::string_view(request.target).substr(0, q);
  if (path != "/metrics") {
    r.status = 404;
    r.body = "no endpoint here: the metrics are at /metrics\n";
    return r;
  }
  if (request.method != "GET" && request.method != "HEAD") {
    r.status = 405;
    r.headers.emplace_back("Allow", "GET, HEAD");
    r.body = "the metrics are read with GET\n";
    return r;
  }
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = render();
  return r;
}

}  // namespace ferry::server
