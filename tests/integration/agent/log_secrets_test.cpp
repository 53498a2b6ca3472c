// Issue 15: nothing secret at info level or above. A real ferry-server (logging to a file) and a
// real ferry-agent (logging under a simulated journal) run one register-run-finish cycle at log
// level debug, every byte the clients sent passing through a proxy; then every log line at info
// or above is searched for the command's content, its parameter, its output, the register code,
// the agent's private key, the API secret key and every signature the requests carried.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "agent_process.hpp"
#include "blackbox.hpp"
#include "ferry/core/base64.hpp"
#include "started_agent.hpp"
#include "tcp_proxy.hpp"
#include "test_process.hpp"

using namespace std::chrono_literals;
using namespace ferry::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string::npos) {
      nl = text.size();
    }
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

// The lines of a journal-style log ("<N>message") at info or above: every line but "<7>" ones
// (a line without a prefix would reach the journal at info).
std::vector<std::string> journal_lines_at_info(const std::string& text) {
  std::vector<std::string> out;
  for (auto& line : split_lines(text)) {
    if (!line.starts_with("<7>")) {
      out.push_back(std::move(line));
    }
  }
  return out;
}

// The lines of a timed log ("[time] [name] [level] message") at info or above: every line but
// trace and debug ones.
std::vector<std::string> timed_lines_at_info(const std::string& text) {
  static const std::regex kVerbose(R"(^\[[^\]]+\] \[[^\]]+\] \[(trace|debug)\] )");
  std::vector<std::string> out;
  for (auto& line : split_lines(text)) {
    if (!std::regex_search(line, kVerbose)) {
      out.push_back(std::move(line));
    }
  }
  return out;
}

// The values of header `name` (case-insensitive) in raw HTTP requests.
std::set<std::string> header_values(const std::string& raw, const std::string& name) {
  std::set<std::string> values;
  const std::regex header("(?:^|\r\n)" + name + R"(:[ \t]*([^\r\n]+))", std::regex::icase);
  for (std::sregex_iterator it(raw.begin(), raw.end(), header), end; it != end; ++it) {
    values.insert((*it)[1].str());
  }
  return values;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (const char c : bytes) {
    hex.push_back(kDigits[static_cast<unsigned char>(c) >> 4]);
    hex.push_back(kDigits[static_cast<unsigned char>(c) & 0xf]);
  }
  return hex;
}

// The forms of the agent's private key that could leak: the PEM's base64 body, the 32-byte seed
// (the last bytes of the PKCS#8 DER) in hex and in base64.
std::vector<std::string> private_key_forms(const fs::path& key_file) {
  const std::string pem = read_file(key_file);
  std::string body;
  for (const auto& line : split_lines(pem)) {
    if (!line.starts_with("-----")) {
      body += line;
    }
  }
  auto der = ferry::base64_decode(body);
  REQUIRE(der);
  REQUIRE(der->size() == 48);  // Ed25519 PKCS#8: a fixed prefix and the seed
  const std::string seed = der->substr(16);
  return {body, to_hex(seed), ferry::base64_encode(seed)};
}

struct Secret {
  std::string what;
  std::string value;
};

}  // namespace

TEST_CASE("no contents, outputs, keys, signatures or register codes at info level or above",
          "[e2e][logs]") {
  const TempDir scratch{"ferry-logs", 0755};
  const fs::path server_log = scratch / "server.log";
  ServerProcess server(FERRY_SERVER_BIN,
                       {{"log_level", "debug"}, {"log_file", server_log.string()}});

  // Every byte the API client and the agent send, through the proxy.
  TcpProxy proxy(server.port());
  std::mutex sent_mutex;
  std::string sent;
  proxy.on_client_data([&](std::string_view chunk) {
    std::lock_guard lock(sent_mutex);
    sent.append(chunk);
  });
  ApiClient api(proxy.endpoint(), kTestSecretId, kTestSecretKey, kTestRegion);

  // The agent at debug (AgentProcess's default), its stderr taken for the journal's stream.
  AgentProcess agent(FERRY_AGENT_BINARY, scratch / "a");
  const fs::path agent_log = scratch / "a" / "agent.1.log";
  std::ofstream(agent_log).close();
  struct stat st {};
  REQUIRE(::stat(agent_log.c_str(), &st) == 0);
  agent.set_env({"JOURNAL_STREAM=" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino)});

  auto [code_id, code] = create_register_code(api);
  register_and_start(agent, proxy.endpoint(), code_id, code);
  const std::string& instance = agent.instance_id();

  const std::string n = std::to_string(::getpid()) + std::to_string(unix_now() % 100000);
  const std::string content_marker = "ferry-content-" + n;
  const std::string param_marker = "ferry-param-" + n;
  const std::string output_marker = "ferry-out-" + std::to_string(std::stoll(n) * 3);
  const std::string script = "# " + content_marker +
                             "\np='{{secretparam}}'\n[ -n \"$p\" ] && printf 'ferry-out-%s\\n' "
                             "\"$((" +
                             n + " * 3))\"\n";
  REQUIRE(script.find(output_marker) == std::string::npos);
  const auto invocation = run_command(
      api, {instance}, script,
      {{"EnableParameter", true}, {"Parameters", json{{"secretparam", param_marker}}.dump()}});
  const auto task = finished_task(api, invocation, instance, 30s);
  REQUIRE(task["TaskStatus"] == "SUCCESS");
  const std::string output = unb64(task["TaskResult"]["Output"]);
  REQUIRE(output == output_marker + "\n");  // the output is visible through the API
  const std::string task_id = task["InvocationTaskId"].get<std::string>();

  CHECK(agent.stop() == 0);
  CHECK(server.stop() == 0);

  std::vector<Secret> secrets{
      {"the command's content", content_marker},
      {"the content in base64", ferry::base64_encode(script)},
      {"the parameter's value", param_marker},
      {"the output", output_marker},
      {"the output in base64", ferry::base64_encode(output)},
      {"the register code", code},
      {"the API secret key", kTestSecretKey},
  };
  for (const auto& form : private_key_forms(agent.state_dir() / "agent.key")) {
    secrets.push_back({"the agent's private key", form});
  }
  std::string raw;
  {
    std::lock_guard lock(sent_mutex);
    raw = sent;
  }
  // The capture saw the cycle: the content went through it.
  REQUIRE(raw.find(ferry::base64_encode(script)) != std::string::npos);
  std::size_t signatures = 0;
  for (const auto& value : header_values(raw, "X-Ferry-Signature")) {
    secrets.push_back({"an agent request's X-Ferry-Signature", value});
    ++signatures;
  }
  for (const auto& value : header_values(raw, "Authorization")) {
    secrets.push_back({"an API request's Authorization", value});
    const auto at = value.find("Signature=");
    REQUIRE(at != std::string::npos);
    secrets.push_back({"an API request's signature", value.substr(at + 10)});
    ++signatures;
  }
  // Registration, the socket's upgrade, DescribeTasks and the reports; the API calls.
  CHECK(signatures >= 8);

  struct Log {
    std::string name;
    std::vector<std::string> lines;
  };
  const std::vector<Log> logs{
      {"ferry-server's log file", timed_lines_at_info(read_file(server_log))},
      {"ferry-server's stderr", split_lines(server.stderr_text())},
      {"ferry-agent's journal", journal_lines_at_info(agent.all_logs())},
      {"ferry-agent register's output",
       split_lines(read_file(scratch / "a" / "cmd.out") + read_file(scratch / "a" / "cmd.err"))},
  };
  // The search reads real logs: each names the task at info.
  for (const auto& log : {logs[0], logs[2]}) {
    INFO(log.name);
    CHECK(std::any_of(log.lines.begin(), log.lines.end(), [&](const std::string& line) {
      return line.find(task_id) != std::string::npos;
    }));
  }
  for (const auto& log : logs) {
    for (const auto& line : log.lines) {
      for (const auto& secret : secrets) {
        if (line.find(secret.value) != std::string::npos) {
          FAIL_CHECK(log.name << " shows " << secret.what << " at info or above: " << line);
        }
      }
    }
  }
}
