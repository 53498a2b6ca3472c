// The real ferry-server binary: start-up line, credentials file, routing, graceful SIGTERM.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "test_process.hpp"

namespace {

// One request over a fresh loopback connection; returns the whole raw response.
std::string http_exchange(uint16_t port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size()));
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

nlohmann::json body_of(const std::string& response) {
  const auto at = response.find("\r\n\r\n");
  REQUIRE(at != std::string::npos);
  return nlohmann::json::parse(response.substr(at + 4));
}

}  // namespace

TEST_CASE("ferry-server starts, routes, and stops on SIGTERM", "[process]") {
  ferry::test::TempDir dir;
  const std::string data = dir.str() + "/data";
  ferry::test::Child server({FERRY_SERVER_BIN, "--listen", "127.0.0.1:0", "--data-dir", data},
                            dir.str());
  std::smatch m;
  std::string out;
  const std::regex listening("ferry-server listening on http://127\\.0\\.0\\.1:([0-9]+)");
  const bool up = ferry::test::eventually(
      [&] {
        out = ferry::test::read_file(dir.str() + "/child.out");
        return std::regex_search(out, m, listening);
      },
      std::chrono::seconds(20));
  if (!up) {
    ::kill(server.pid(), SIGKILL);
    auto r = server.wait();
    FAIL("no listening line; stderr: " << r.err);
  }
  const auto port = static_cast<uint16_t>(std::stoi(m[1].str()));

  // Credentials were made, their path printed, the key never.
  struct stat st {};
  REQUIRE(::stat((data + "/credentials.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777u) == 0600u);
  REQUIRE(::stat(data.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777u) == 0700u);
  CHECK(out.find(data + "/credentials.json") != std::string::npos);
  const auto creds = nlohmann::json::parse(ferry::test::read_file(data + "/credentials.json"));
  const std::string secret_key = creds["SecretKey"];

  // The agent endpoint answers in its envelope, with its protocol version.
  const std::string body = R"({"Action":"DescribeTasks"})";
  auto agent = http_exchange(port,
                             "POST /agent HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             "Content-Type: application/json\r\nX-Ferry-Protocol: 1\r\n"
                             "Connection: close\r\nContent-Length: " +
                                 std::to_string(body.size()) + "\r\n\r\n" + body);
  CHECK(agent.rfind("HTTP/1.1 200", 0) == 0);
  auto agent_json = body_of(agent);
  CHECK(agent_json["Response"]["Error"]["Code"] == "AuthFailure.InvalidAuthorization");
  CHECK(agent_json["Response"]["ProtocolVersion"] == 1);

  // The API front is at "/" (unsigned: refused by it, not by the router).
  auto api = http_exchange(port,
                           "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Content-Type: application/json\r\nX-TC-Action: DescribeRegions\r\n"
                           "Connection: close\r\nContent-Length: 2\r\n\r\n{}");
  CHECK(api.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(body_of(api)["Response"].contains("Error"));

  auto missing =
      http_exchange(port, "GET /nothing HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  CHECK(missing.rfind("HTTP/1.1 404", 0) == 0);
  CHECK(body_of(missing)["Response"]["Error"]["Code"] == "ResourceNotFound");

  REQUIRE(::kill(server.pid(), SIGTERM) == 0);
  auto result = server.wait();
  CHECK(result.exit_code == 0);
  CHECK(result.out.find(secret_key) == std::string::npos);
  CHECK(result.err.find(secret_key) == std::string::npos);
  CHECK_THAT(result.err, Catch::Contains("stopping"));

  // A second start reuses the credentials and says nothing about them.
  const std::string second_dir = dir.str() + "/second";
  std::filesystem::create_directory(second_dir);
  ferry::test::Child again({FERRY_SERVER_BIN, "--listen", "127.0.0.1:0", "--data-dir", data},
                           second_dir);
  const bool up_again = ferry::test::eventually(
      [&] {
        out = ferry::test::read_file(second_dir + "/child.out");
        return std::regex_search(out, m, listening);
      },
      std::chrono::seconds(20));
  ::kill(again.pid(), up_again ? SIGTERM : SIGKILL);
  auto second = again.wait();
  CHECK(up_again);
  CHECK(second.exit_code == 0);
  CHECK(second.out.find("credentials") == std::string::npos);
  const auto creds_after =
      nlohmann::json::parse(ferry::test::read_file(data + "/credentials.json"));
  CHECK(creds_after["SecretId"] == creds["SecretId"]);
}

TEST_CASE("ferry-server refuses a bad configuration with exit code 2", "[process]") {
  ferry::test::TempDir dir;
  const std::string config = dir.str() + "/server.json";
  {
    std::ofstream f(config);
    f << R"({"data_dir": ")" << dir.str() << R"(/data", "sweep_interval": 5})";
  }
  auto r = ferry::test::run_process({FERRY_SERVER_BIN, "--config", config}, dir.str());
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("\"sweep_interval\""));

  // A bad --allow-http-bucket-host, after the key's own entries.
  {
    std::ofstream f(config);
    f << R"({"data_dir": ")" << dir.str()
      << R"(/data", "allow_http_bucket_hosts": ["a.internal:1"]})";
  }
  auto host =
      ferry::test::run_process({FERRY_SERVER_BIN, "--config", config, "--allow-http-bucket-host",
                                "127.0.0.1:9000", "--allow-http-bucket-host", "minio.internal"},
                               dir.str());
  CHECK(host.exit_code == 2);
  CHECK_THAT(host.err, Catch::Contains("allow_http_bucket_hosts[2]") &&
                           Catch::Contains("minio.internal") && Catch::Contains("HOST:PORT"));
}
