// ferry-agent.exe end to end under wine: its command line (--version, --help, the service
// commands), then `register` and the daemon in console mode against a scripted agent gateway in
// the test process (plain HTTP and WebSocket on 127.0.0.1 with Boost.Beast, as
// winhttp_control_plane_test.cpp), which hands out one BAT task and records the reports: the
// task's output and exit code come back in ReportTaskFinish.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ferry/core/base64.hpp"
#include "ferry/core/task.hpp"
#include "ferry/platform/fs.hpp"
#include "windows/process.hpp"
#include "windows/win32.hpp"
#include "windows_test_support.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace win32 = ferry::platform::win32;
using tcp = net::ip::tcp;
using ferry::platform::win32::UniqueHandle;
using namespace std::chrono_literals;

constexpr auto tok = net::as_tuple(net::use_awaitable);
constexpr const char* kInstanceId = "rins-test0001";
constexpr const char* kTaskId = "invt-bat00001";

std::filesystem::path agent_exe() {
  auto exe = ferry::platform::current_executable();
  REQUIRE(exe.has_value());
  return exe->parent_path() / "ferry-agent.exe";
}

// A finished run of ferry-agent.exe: its exit code and what it wrote on stdout and stderr.
struct Run {
  DWORD exit_code = 0;
  std::string output;
};

// ferry-agent.exe with `args`, its stdout and stderr into `log`. Started, not waited for.
UniqueHandle start_agent(const std::vector<std::string>& args, const std::filesystem::path& log) {
  std::vector<std::string> argv{win32::display(agent_exe())};
  argv.insert(argv.end(), args.begin(), args.end());
  std::wstring command = win32::command_line(argv);
  SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  const UniqueHandle out(::CreateFileW(log.wstring().c_str(), GENERIC_WRITE,
                                       FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                                       &inherit, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr));
  REQUIRE(out.get() != INVALID_HANDLE_VALUE);
  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  startup.dwFlags = STARTF_USESTDHANDLES;
  startup.hStdInput = nullptr;
  startup.hStdOutput = out.get();
  startup.hStdError = out.get();
  PROCESS_INFORMATION info{};
  REQUIRE(::CreateProcessW(agent_exe().wstring().c_str(), command.data(), nullptr, nullptr, TRUE,
                           CREATE_NO_WINDOW, nullptr, nullptr, &startup, &info) != 0);
  const UniqueHandle thread(info.hThread);
  return UniqueHandle(info.hProcess);
}

// ferry-agent.exe with `args`, run to its end (at most 30 s).
Run run_agent(const std::vector<std::string>& args, const std::filesystem::path& log) {
  const UniqueHandle process = start_agent(args, log);
  REQUIRE(::WaitForSingleObject(process.get(), 30'000) == WAIT_OBJECT_0);
  Run run;
  REQUIRE(::GetExitCodeProcess(process.get(), &run.exit_code) != 0);
  run.output = ferry::test::file_bytes(log);
  return run;
}

// The agent gateway as far as one agent and one task need it: RegisterInstance, Heartbeat,
// DescribeTasks (the task until its start is reported), the reports; the push socket accepted
// and held. Every /agent request is recorded.
class Gateway {
 public:
  explicit Gateway(ferry::Task task)
      : task_(std::move(task)),
        acceptor_(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    net::co_spawn(io_, accept_loop(), net::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Gateway() {
    io_.stop();
    thread_.join();
  }
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // The bodies of the requests of `action`, in order.
  std::vector<nlohmann::json> requests(const std::string& action) {
    std::lock_guard lock(mutex_);
    std::vector<nlohmann::json> out;
    for (const auto& r : requests_) {
      if (r.value("Action", "") == action) {
        out.push_back(r);
      }
    }
    return out;
  }
  // The X-Ferry-Instance headers of every request after the registration.
  std::vector<std::string> instances() {
    std::lock_guard lock(mutex_);
    return instances_;
  }

 private:
  net::awaitable<void> accept_loop() {
    while (true) {
      auto [ec, socket] = co_await acceptor_.async_accept(tok);
      if (ec) {
        co_return;
      }
      net::co_spawn(io_, session(beast::tcp_stream(std::move(socket))), net::detached);
    }
  }

  nlohmann::json answer(const nlohmann::json& request) {
    const std::string action = request.value("Action", "");
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
    if (action == "RegisterInstance") {
      return {{"InstanceId", kInstanceId}, {"InstanceName", "windows-test"}};
    }
    if (action == "Heartbeat") {
      return {{"HeartbeatInterval", 60}};
    }
    if (action == "DescribeTasks") {
      nlohmann::json tasks = nlohmann::json::array();
      if (!started_) {
        tasks.push_back(ferry::to_json(task_));
      }
      return {{"InvocationNormalTaskSet", tasks},
              {"InvocationCancelTaskSet", nlohmann::json::array()},
              {"HasMore", false}};
    }
    if (action == "ReportTaskStart") {
      started_ = true;
      return {{"TaskStatus", "RUNNING"}};
    }
    if (action == "ReportTaskFinish") {
      started_ = true;
      return {{"TaskStatus", request.value("Result", "")}};
    }
    if (action == "PresignOutputUpload") {  // nothing listens there: the agent must not try
      return {{"Method", "PUT"},
              {"Url", "http://127.0.0.1:9/bucket/presigned"},
              {"ObjectUrl", "http://127.0.0.1:9/bucket/object"},
              {"ExpiresIn", 3600}};
    }
    return nlohmann::json::object();  // UploadTaskLog, ReportAgentStop
  }

  net::awaitable<void> session(beast::tcp_stream stream) {
    beast::flat_buffer buffer;
    while (true) {
      http::request<http::string_body> req;
      auto [ec, n] = co_await http::async_read(stream, buffer, req, tok);
      if (ec) {
        co_return;
      }
      if (const auto instance = req["X-Ferry-Instance"]; !instance.empty()) {
        std::lock_guard lock(mutex_);
        instances_.emplace_back(instance);
      }
      if (websocket::is_upgrade(req)) {
        co_await push(std::move(stream), std::move(req));
        co_return;
      }
      const auto body = nlohmann::json::parse(req.body(), nullptr, false);
      nlohmann::json response = answer(body.is_object() ? body : nlohmann::json::object());
      response["RequestId"] = "req-1";
      response["ProtocolVersion"] = 1;
      response["ServerTime"] = std::time(nullptr);
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "application/json");
      res.body() = nlohmann::json{{"Response", response}}.dump();
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(stream, res, tok);
      if (wec || !res.keep_alive()) {
        co_return;
      }
    }
  }

  // Accepted and held until the agent goes: the agent then calls DescribeTasks at once.
  net::awaitable<void> push(beast::tcp_stream stream, http::request<http::string_body> req) {
    websocket::stream<beast::tcp_stream> ws(std::move(stream));
    auto [aec] = co_await ws.async_accept(req, tok);
    if (aec) {
      co_return;
    }
    beast::flat_buffer buffer;
    while (true) {
      auto [rec, rn] = co_await ws.async_read(buffer, tok);
      if (rec) {
        co_return;
      }
      buffer.consume(buffer.size());
    }
  }

  const ferry::Task task_;
  net::io_context io_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<nlohmann::json> requests_;
  std::vector<std::string> instances_;
  bool started_ = false;
};

// One BAT task: output with a parameter substituted, exit code 3, and a bucket for the whole
// output, which the Windows agent cannot upload to yet.
ferry::Task bat_task(const std::filesystem::path& work) {
  ferry::Task task;
  task.invocation_task_id = kTaskId;
  task.invocation_id = "inv-test0001";
  task.command_id = "cmd-test0001";
  task.command_type = ferry::CommandType::kBat;
  task.content = ferry::base64_encode("@echo off\r\necho output of {{name}}\r\nexit /b 3\r\n");
  task.enable_parameter = true;
  task.parameters = {{"name", "the task"}};
  task.timeout_seconds = 30;
  task.working_directory = win32::display(work);
  task.builtins.instance_id = kInstanceId;
  task.output_cos_bucket_url = "http://127.0.0.1:9/bucket";
  return task;
}

// `ferry-agent.exe register` against `gateway` with the code in a file, the state in `state`;
// the gateway got one RegisterInstance with the code.
Run register_agent(Gateway& gateway, const ferry::test::WindowsTempDir& dir,
                   const std::filesystem::path& state) {
  std::ofstream(dir / "code") << "code-value\n";
  Run reg = run_agent(
      {"register", "--server", gateway.url(), "--register-code-id", "rc-test",
       "--register-code-file", win32::display(dir / "code"), "--state-dir", win32::display(state)},
      dir / "register.log");
  const auto registrations = gateway.requests("RegisterInstance");
  REQUIRE(registrations.size() == 1);
  CHECK(registrations[0].value("SystemName", "") == "Windows");
  CHECK(registrations[0].value("RegisterCodeId", "") == "rc-test");
  CHECK(registrations[0].value("RegisterCodeValue", "") == "code-value");
  return reg;
}

}  // namespace

TEST_CASE("ferry-agent.exe: --version, --help and the service commands", "[agent_main]") {
  ferry::test::WindowsTempDir dir("ferry-agent-main");

  const Run version = run_agent({"--version"}, dir / "version.log");
  CHECK(version.exit_code == 0);
  CHECK(version.output.find("ferry-agent " FERRY_VERSION) != std::string::npos);

  const Run help = run_agent({"--help"}, dir / "help.log");
  CHECK(help.exit_code == 0);
  INFO(help.output);
  for (const char* word : {"register", "run-task", "audit", "service"}) {
    CHECK(help.output.find(word) != std::string::npos);
  }
  // The default state dir is under ProgramData.
  CHECK(help.output.find("ProgramData\\Ferry\\agent") != std::string::npos);

  const Run service = run_agent({"service", "--help"}, dir / "service.log");
  CHECK(service.exit_code == 0);
  CHECK(service.output.find("install") != std::string::npos);
  CHECK(service.output.find("uninstall") != std::string::npos);

  // A state dir that is not absolute is refused by the daemon before it starts.
  const Run relative = run_agent({"--state-dir", "relative\\state"}, dir / "relative.log");
  CHECK(relative.exit_code == 1);
  CHECK(relative.output.find("must be an absolute path") != std::string::npos);
}

// `service install` registers this binary as the daemon with its options, `service uninstall`
// removes it, with wine's service manager (scripts/windows-test has started it).
TEST_CASE("ferry-agent.exe: service install and uninstall", "[agent_main]") {
  ferry::test::WindowsTempDir dir("ferry-agent-service");
  const Run install = run_agent(
      {"service", "install", "--state-dir", win32::display(dir / "state"), "--log-level", "debug"},
      dir / "install.log");
  INFO(install.output);
  REQUIRE(install.exit_code == 0);
  const auto query = [] {
    const SC_HANDLE manager = ::OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT);
    REQUIRE(manager != nullptr);
    const SC_HANDLE service = ::OpenServiceW(manager, L"ferry-agent", SERVICE_QUERY_CONFIG);
    std::optional<std::wstring> command;
    if (service != nullptr) {
      DWORD needed = 0;
      ::QueryServiceConfigW(service, nullptr, 0, &needed);
      std::vector<BYTE> buffer(needed);
      auto* config = reinterpret_cast<QUERY_SERVICE_CONFIGW*>(buffer.data());
      if (::QueryServiceConfigW(service, config, needed, &needed) != 0) {
        command = config->lpBinaryPathName;
      }
      ::CloseServiceHandle(service);
    }
    ::CloseServiceHandle(manager);
    return command;
  };
  const auto command = query();
  const Run uninstall = run_agent({"service", "uninstall"}, dir / "uninstall.log");
  REQUIRE(command.has_value());
  CHECK(*command == win32::command_line({win32::display(agent_exe()), "--state-dir",
                                         win32::display(dir / "state"), "--log-level", "debug"}));
  INFO(uninstall.output);
  CHECK(uninstall.exit_code == 0);
  CHECK_FALSE(query().has_value());
  const Run again = run_agent({"service", "uninstall"}, dir / "again.log");
  CHECK(again.exit_code == 1);
}

// The whole path: the daemon in console mode takes the task from DescribeTasks, runs it under
// ferry-supervise.exe and reports its start and its result (the upload to its bucket refused
// for good, as not supported on Windows yet).
TEST_CASE("ferry-agent.exe: register, then the daemon runs a BAT task and reports its result",
          "[agent_main]") {
  ferry::test::WindowsTempDir dir("ferry-agent-daemon");
  const auto state = dir / "state";
  const auto work = dir / "work";
  REQUIRE(std::filesystem::create_directory(work));
  Gateway gateway(bat_task(work));
  const Run reg = register_agent(gateway, dir, state);
  INFO(reg.output);
  REQUIRE(reg.exit_code == 0);
  CHECK(reg.output.find(kInstanceId) != std::string::npos);

  const auto config = dir / "ferry-agent.json";
  std::ofstream(config) << nlohmann::json{
      {"state_dir", win32::display(state)},
      {"allow_plain_http", true},
      {"log_level", "info"}}.dump();
  const auto log = dir / "daemon.log";
  const UniqueHandle daemon = start_agent({"--config", win32::display(config)}, log);

  std::vector<nlohmann::json> finishes;
  for (int i = 0; i < 300 && finishes.empty(); ++i) {                   // at most 30 s
    REQUIRE(::WaitForSingleObject(daemon.get(), 100) == WAIT_TIMEOUT);  // still running
    finishes = gateway.requests("ReportTaskFinish");
  }
  // Stopped the hard way: wine cannot send a console Ctrl+C (docs/architecture.md).
  ::TerminateProcess(daemon.get(), 1);
  ::WaitForSingleObject(daemon.get(), 10'000);
  INFO(ferry::test::file_bytes(log));
  REQUIRE(finishes.size() == 1);
  const auto& finish = finishes[0];
  CHECK(finish.value("InvocationTaskId", "") == kTaskId);
  CHECK(finish.value("Result", "") == "FAILED");
  CHECK(finish.value("ExitCode", 0) == 3);
  const auto output = ferry::base64_decode(finish.value("Output", ""));
  REQUIRE(output.has_value());
  CHECK(*output == "output of the task\r\n");
  CHECK(finish.value("OutputUrl", "") == "");
  CHECK(finish.value("OutputUploadCOSErrorInfo", "") ==
        "uploads to object stores are not supported on Windows yet");
  const auto presigned = gateway.requests("PresignOutputUpload");
  REQUIRE(presigned.size() == 1);
  CHECK(presigned[0].value("Operation", "") == "PutObject");
  CHECK(gateway.requests("ReportTaskStart").size() == 1);
  CHECK_FALSE(gateway.requests("Heartbeat").empty());
  for (const auto& instance : gateway.instances()) {
    CHECK(instance == kInstanceId);
  }
}
