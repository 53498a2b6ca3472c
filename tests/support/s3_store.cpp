#include "s3_store.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <system_error>

namespace ferry::test {
namespace {

using std::chrono::milliseconds;
namespace fs = std::filesystem;

// Set by tests/CMakeLists.txt: node as found at configure time and tests/s3.
constexpr const char* kNode = FERRY_NODE_EXECUTABLE;
constexpr const char* kStoreDir = FERRY_S3_STORE_DIR;
constexpr const char* kSetup =
    "run scripts/test's setup: scripts/deps, then `npm ci --prefix tests/s3`";

// Both missing pieces are errors of the machine, not of the code under test: the test fails
// and says what to install.
void check_installed() {
  if (std::string(kNode).empty() || ::access(kNode, X_OK) != 0) {
    throw std::runtime_error(std::string("the S3 test store needs node, which was not found (") +
                             kNode + "): " + kSetup);
  }
  if (!fs::exists(fs::path(kStoreDir) / "node_modules/s3rver/package.json")) {
    throw std::runtime_error(std::string("the S3 test store needs s3rver, not installed in ") +
                             kStoreDir + "/node_modules: " + kSetup);
  }
}

// The port of the launcher's {"port":N} line.
std::uint16_t parse_port(const std::string& line) {
  const auto at = line.find("\"port\":");
  if (at == std::string::npos) {
    return 0;
  }
  const long port = std::strtol(line.c_str() + at + 7, nullptr, 10);
  return port > 0 && port < 65536 ? static_cast<std::uint16_t>(port) : 0;
}

// A self-signed certificate for 127.0.0.1 and localhost, valid a day: cert.pem and key.pem.
void make_certificate(const fs::path& dir) {
  const auto made = run_process(
      {.argv = {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout",
                (dir / "key.pem").string(), "-out", (dir / "cert.pem").string()},
       .err_file = dir / "openssl.err"},
      milliseconds(30000));
  if (made.exit_code != 0) {
    throw std::runtime_error("the S3 test store's certificate: openssl req failed: " +
                             read_file(dir / "openssl.err"));
  }
}

fs::path make_temp_dir() {
  std::string tmpl = (fs::temp_directory_path() / "ferry-s3.XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed for the S3 test store");
  }
  return tmpl;
}

}  // namespace

S3Store::S3Store(S3StoreOptions options) : options_(std::move(options)) {
  check_installed();
  log_dir_ = make_temp_dir();
  directory_ = options_.directory.empty() ? log_dir_ / "store" : options_.directory;
  port_ = options_.port;
  try {
    if (options_.tls) {
      make_certificate(log_dir_);
    }
    launch();
  } catch (...) {
    std::error_code ec;
    fs::remove_all(log_dir_, ec);
    throw;
  }
}

S3Store::~S3Store() {
  if (process_) {
    stop_and_release(process_, SIGTERM, milliseconds(5000));
  }
  std::error_code ec;
  fs::remove_all(log_dir_, ec);
}

std::string S3Store::endpoint() const {
  return (options_.tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_);
}

std::string S3Store::ca_file() const {
  return options_.tls ? (log_dir_ / "cert.pem").string() : "";
}

std::string S3Store::bucket_url(std::string_view bucket) const {
  return endpoint() + "/" + std::string(bucket);
}

fs::path S3Store::object_file(std::string_view bucket, std::string_view key) const {
  return directory_ / bucket / (std::string(key) + "._S3rver_object");
}

void S3Store::launch() {
  LaunchOptions o;
  o.argv = {kNode,
            std::string(kStoreDir) + "/s3_store.js",
            "--directory",
            directory_.string(),
            "--port",
            std::to_string(port_),
            "--min-part-size",
            std::to_string(options_.min_part_size)};
  for (const auto& bucket : options_.buckets) {
    o.argv.insert(o.argv.end(), {"--bucket", bucket});
  }
  if (options_.tls) {
    o.argv.insert(o.argv.end(),
                  {"--tls-cert", ca_file(), "--tls-key", (log_dir_ / "key.pem").string()});
  }
  o.out_pipe = true;
  const fs::path err = log_dir_ / ("s3_store." + std::to_string(++launches_) + ".err");
  o.err_file = err;
  process_ = std::make_unique<Process>(o);
  // node and s3rver's modules load in about half a second; ten leave room for a busy machine.
  if (process_->read_until("}\n", milliseconds(10000))) {
    if (const auto port = parse_port(process_->piped_out()); port != 0) {
      port_ = port;
      return;
    }
  }
  stop_and_release(process_, SIGKILL, milliseconds(2000));
  throw std::runtime_error("the S3 test store did not start on port " + std::to_string(port_) +
                           ": " + read_file(err));
}

void S3Store::stop() {
  if (process_) {
    stop_and_release(process_, SIGTERM, milliseconds(5000));
  }
}

void S3Store::start() {
  if (process_ && process_->running()) {
    return;
  }
  process_.reset();
  launch();
}

bool S3Store::running() const {
  return process_ && process_->running();
}

void S3Store::pause() const {
  if (process_) {
    process_->signal(SIGSTOP);
  }
}

void S3Store::resume() const {
  if (process_) {
    process_->signal(SIGCONT);
  }
}

pid_t S3Store::pid() const {
  return process_ ? process_->pid() : -1;
}

}  // namespace ferry::test
