// The Prometheus metrics of ferry-server: the text format (histogram buckets, label escaping),
// the request counters and their bound, the gauges read from their sources (tasks by status from
// a real SQLite store), and the handler of the metrics listener.
#include <catch2/catch.hpp>
#include <chrono>
#include <regex>
#include <string>

#include "ferry/core/base64.hpp"
#include "ferry/server/domain/invocations.hpp"
#include "ferry/server/metrics/server_metrics.hpp"
#include "server_fixture.hpp"

using namespace ferry;
using namespace ferry::server;
using namespace std::chrono_literals;

namespace {

// The value of the sample `series` (its name and labels exactly as written), or -1 when absent.
double sample(const std::string& text, const std::string& series) {
  const std::string prefix = series + " ";
  std::size_t at = 0;
  while ((at = text.find(prefix, at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') {
      const auto end = text.find('\n', at);
      return std::stod(text.substr(at + prefix.size(), end - at - prefix.size()));
    }
    at += prefix.size();
  }
  return -1;
}

HttpRequest get(const std::string& target, const std::string& method = "GET") {
  HttpRequest r;
  r.method = method;
  r.target = target;
  return r;
}

}  // namespace

TEST_CASE("histogram buckets are cumulative, with the sum and the count", "[metrics]") {
  DurationHistogram h;
  h.observe(300us);
  h.observe(3ms);
  h.observe(20s);
  std::string out;
  h.write(out, "t_seconds", R"(api="tat")");
  CHECK(sample(out, R"(t_seconds_bucket{api="tat",le="0.0005"})") == 1);
  CHECK(sample(out, R"(t_seconds_bucket{api="tat",le="0.001"})") == 1);
  CHECK(sample(out, R"(t_seconds_bucket{api="tat",le="0.005"})") == 2);
  CHECK(sample(out, R"(t_seconds_bucket{api="tat",le="10"})") == 2);
  CHECK(sample(out, R"(t_seconds_bucket{api="tat",le="+Inf"})") == 3);
  CHECK(sample(out, R"(t_seconds_count{api="tat"})") == 3);
  CHECK(sample(out, R"(t_seconds_sum{api="tat"})") == Approx(20.0033));
  // The buckets come in increasing order, +Inf last.
  CHECK(out.find("le=\"0.0005\"") < out.find("le=\"10\""));
  CHECK(out.find("le=\"10\"") < out.find("le=\"+Inf\""));
}

TEST_CASE("label values escape backslash, double quote and newline", "[metrics]") {
  CHECK(metrics_label_value("plain.Code") == "plain.Code");
  CHECK(metrics_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
}

TEST_CASE("requests are counted by api, action and result", "[metrics]") {
  ServerMetrics m;
  m.count_request({"tat", "RunCommand", "Success"}, 2ms);
  m.count_request({"tat", "RunCommand", "Success"}, 4ms);
  m.count_request({"tat", "", "InvalidAction"}, 1ms);
  m.count_request({"agent", "Heartbeat", "Success"}, 1ms);
  m.count_request({"acs", "RunCommand", "InvalidInstance.NotFound"}, 1ms);
  m.count_request({"", "", ""}, 1ms);  // no handler claimed it: not counted
  const std::string text = m.render();
  CHECK(sample(text,
               R"(ferry_api_requests_total{api="tat",action="RunCommand",result="Success"})") == 2);
  CHECK(sample(text, R"(ferry_api_requests_total{api="tat",action="",result="InvalidAction"})") ==
        1);
  CHECK(sample(text,
               R"(ferry_api_requests_total{api="agent",action="Heartbeat",result="Success"})") ==
        1);
  CHECK(
      sample(
          text,
          R"(ferry_api_requests_total{api="acs",action="RunCommand",result="InvalidInstance.NotFound"})") ==
      1);
  CHECK(sample(text, R"(ferry_api_request_duration_seconds_count{api="tat"})") == 3);
  CHECK(sample(text, R"(ferry_api_request_duration_seconds_count{api="agent"})") == 1);
  CHECK(sample(text, R"(ferry_api_request_duration_seconds_count{api="acs"})") == 1);
  CHECK(text.find("api=\"\"") == std::string::npos);
  CHECK(text.find("# TYPE ferry_api_requests_total counter\n") != std::string::npos);
  CHECK(text.find("# TYPE ferry_api_request_duration_seconds histogram\n") != std::string::npos);
  CHECK(sample(text, "ferry_build_info{version=\"" FERRY_VERSION "\"}") == 1);
  // No sources set: no gauges.
  CHECK(text.find("ferry_agents_connected") == std::string::npos);
  CHECK(text.find("ferry_tasks") == std::string::npos);
}

TEST_CASE("the request series are bounded", "[metrics]") {
  ServerMetrics m;
  for (std::size_t i = 0; i < ServerMetrics::kMaxRequestSeries + 5; ++i) {
    m.count_request({"tat", "RunCommand", "Code" + std::to_string(i)}, 1ms);
  }
  m.count_request({"tat", "RunCommand", "Code0"}, 1ms);  // a known series still counts
  const std::string text = m.render();
  CHECK(sample(text, R"(ferry_api_requests_total{api="tat",action="RunCommand",result="Code0"})") ==
        2);
  CHECK(sample(text, R"(ferry_api_requests_total{api="tat",action="",result="Other"})") == 5);
  std::size_t series = 0;
  for (std::size_t at = 0; (at = text.find("\nferry_api_requests_total{", at)) != std::string::npos;
       ++at) {
    ++series;
  }
  CHECK(series == ServerMetrics::kMaxRequestSeries + 1);  // the cap, and the one "Other"
}

TEST_CASE("gauges come from their sources; tasks by status from the store", "[metrics]") {
  ferry::test::ServerFixture f;
  f.add_instance({.id = "rins-metrics1"});
  f.add_instance({.id = "rins-metrics2"});
  domain::RunRequest r;
  r.command.content = base64_encode("uptime");
  r.instance_ids = {"rins-metrics1", "rins-metrics2"};
  auto run = domain::run_command(f.ctx, r);
  REQUIRE(run);
  const auto tasks = f.tasks_of(run->invocation_id);
  REQUIRE(tasks.size() == 2);
  f.set_task_status(tasks[0].invocation_task_id, TaskStatus::kSuccess);

  ServerMetrics m;
  std::size_t agents = 3;
  m.set_sources(MetricsSources{[&agents] { return agents; }, [] { return std::size_t{7}; },
                               [] { return std::size_t{2}; }, f.store.get()});
  std::string text = m.render();
  CHECK(sample(text, "ferry_agents_connected") == 3);
  CHECK(sample(text, "ferry_http_connections") == 7);
  CHECK(sample(text, "ferry_presence_unwritten_contacts") == 2);
  CHECK(sample(text, "ferry_store_waiting_calls") == 0);
  CHECK(sample(text, R"(ferry_tasks{status="SUCCESS"})") == 1);
  CHECK(sample(text, R"(ferry_tasks{status="PENDING"})") +
            sample(text, R"(ferry_tasks{status="DELIVERING"})") ==
        1);
  // Every status has its series, zero or not.
  CHECK(sample(text, R"(ferry_tasks{status="TERMINATED"})") == 0);
  CHECK(sample(text, R"(ferry_tasks{status="CANCELLED"})") == 0);
  agents = 4;
  CHECK(sample(m.render(), "ferry_agents_connected") == 4);
}

TEST_CASE("the store's calls are timed by kind", "[metrics]") {
  ServerMetrics m;
  m.on_store_operation(StoreOperation::kRead, 1ms);
  m.on_store_operation(StoreOperation::kRead, 2ms);
  m.on_store_operation(StoreOperation::kWrite, 30ms);
  const std::string text = m.render();
  CHECK(sample(text, R"(ferry_store_operation_duration_seconds_count{kind="read"})") == 2);
  CHECK(sample(text, R"(ferry_store_operation_duration_seconds_count{kind="write"})") == 1);
  CHECK(sample(text, R"(ferry_store_operation_duration_seconds_bucket{kind="write",le="0.025"})") ==
        0);
  CHECK(sample(text, R"(ferry_store_operation_duration_seconds_bucket{kind="write",le="0.05"})") ==
        1);
}

TEST_CASE("the metrics listener serves GET /metrics only", "[metrics]") {
  ServerMetrics m;
  const HttpResponse ok = m.handle(get("/metrics"));
  CHECK(ok.status == 200);
  CHECK(ok.content_type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(ok.body.find("ferry_build_info") != std::string::npos);
  CHECK(m.handle(get("/metrics?x=1")).status == 200);
  CHECK(m.handle(get("/")).status == 404);
  CHECK(m.handle(get("/metrics/x")).status == 404);
  const HttpResponse post = m.handle(get("/metrics", "POST"));
  CHECK(post.status == 405);
  CHECK(post.body.find("ferry_") == std::string::npos);
}
