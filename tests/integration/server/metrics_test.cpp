// ferry-server's Prometheus metrics seen from outside: the listener of `metrics_listen` (and only
// it) serves /metrics, whose counters and gauges follow what the API and an agent did.
#include <catch2/catch.hpp>
#include <string>

#include "blackbox.hpp"

using namespace ferry::test;

namespace {

// The value of the sample `series` (name and labels as written), or -1 when absent.
double sample(const std::string& text, const std::string& series) {
  const std::string prefix = "\n" + series + " ";
  const auto at = text.find(prefix);
  if (at == std::string::npos) {
    return -1;
  }
  const auto start = at + prefix.size();
  return std::stod(text.substr(start, text.find('\n', start) - start));
}

HttpReply scrape(const std::string& url, const std::string& method = "GET") {
  HttpConnection http;
  return http.request(method, url, {}, "");
}

}  // namespace

TEST_CASE("metrics: off by default; on their own listener they count requests and tasks",
          "[server][metrics]") {
  // The shared server has no metrics_listen: no listener, and the API's port has no /metrics.
  ServerProcess& plain = shared_server();
  CHECK(plain.metrics_url().empty());
  CHECK(scrape(plain.endpoint() + "/metrics").status == 404);

  ServerProcess server(FERRY_SERVER_BIN, {{"metrics_listen", "127.0.0.1:0"}});
  const std::string url = server.metrics_url();
  REQUIRE_FALSE(url.empty());
  CHECK(url.find(":" + std::to_string(server.port()) + "/") == std::string::npos);
  CHECK(scrape(server.endpoint() + "/metrics").status == 404);

  ApiClient api = server.api();
  ScriptedAgent agent(api, server.endpoint());
  const std::string inv = run_command(api, {agent.id()}, "echo hi", {{"Timeout", 30}});
  const std::string task = agent.fetch_task();
  must(agent.start(task));
  must(agent.finish(task, "SUCCESS", 0, "hi\n"));
  CHECK(api.call("NoSuchAction", nlohmann::json::object()).error_code() == "InvalidAction");
  CHECK(api.call("RunCommand", {{"Content", "not base64!"}, {"InstanceIds", {agent.id()}}})
            .error_code()
            .rfind("InvalidParameterValue", 0) == 0);
  run_command(api, {agent.id()}, "echo again", {{"Timeout", 30}});  // stays PENDING

  const HttpReply reply = scrape(url);
  INFO(reply.body);
  REQUIRE(reply.status == 200);
  const std::string& text = reply.body;
  CHECK(sample(text,
               R"(ferry_api_requests_total{api="tat",action="RunCommand",result="Success"})") == 2);
  CHECK(sample(text, R"(ferry_api_requests_total{api="tat",action="",result="InvalidAction"})") ==
        1);
  CHECK(
      sample(
          text,
          R"(ferry_api_requests_total{api="agent",action="RegisterInstance",result="Success"})") ==
      1);
  CHECK(
      sample(
          text,
          R"(ferry_api_requests_total{api="agent",action="ReportTaskFinish",result="Success"})") ==
      1);
  CHECK(sample(text, R"(ferry_tasks{status="SUCCESS"})") == 1);
  CHECK(sample(text, R"(ferry_tasks{status="PENDING"})") == 1);
  CHECK(sample(text, R"(ferry_tasks{status="FAILED"})") == 0);
  CHECK(sample(text, "ferry_agents_connected") == 0);  // the scripted agent holds no WebSocket
  CHECK(sample(text, "ferry_http_connections") >= 0);
  CHECK(sample(text, "ferry_store_waiting_calls") >= 0);
  CHECK(sample(text, R"(ferry_store_operation_duration_seconds_count{kind="write"})") > 0);
  CHECK(sample(text, R"(ferry_store_operation_duration_seconds_count{kind="read"})") > 0);
  CHECK(sample(text, R"(ferry_api_request_duration_seconds_count{api="tat"})") >= 4);
  CHECK(inv.rfind("inv-", 0) == 0);

  CHECK(scrape(url.substr(0, url.size() - 8) + "/other").status == 404);
  CHECK(scrape(url, "POST").status == 405);
}
