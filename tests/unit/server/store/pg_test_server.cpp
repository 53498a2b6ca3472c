#include "pg_test_server.hpp"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ferry/server/clock.hpp"
#include "ferry/server/store/postgres_store.hpp"
#include "test_process.hpp"

namespace ferry::test {

namespace {

using namespace std::chrono_literals;

// Debian's postgresql-15; FERRY_PG_BINDIR picks another.
std::string bindir() {
  const char* dir = std::getenv("FERRY_PG_BINDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/usr/lib/postgresql/15/bin";
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

class FixedClock final : public server::Clock {
 public:
  [[nodiscard]] int64_t now_ms() const override { return 0; }
};

struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};

class Server final : public PgTestServer {
 public:
  // Empty when it runs; else why not.
  std::string boot() {
    if (!std::filesystem::exists(bindir() + "/initdb")) {
      return bindir() + "/initdb not found (install postgresql-15)";
    }
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      if (pw == nullptr) {
        return "running as root and there is no postgres user to run the server as";
      }
      // Changing the user clears the parent-death signal Process sets: setpriv sets it again
      // after, so that the server still dies with this binary.
      as_user_ = {"/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres",
                  "--init-groups",    "--pdeathsig=KILL", "--"};
      if (::chown(dir_.str().c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        return "chown " + dir_.str() + " failed";
      }
    }
    auto init = run({bindir() + "/initdb", "-D", data(), "-U", "ferry", "-A", "trust", "-E", "UTF8",
                     "--locale=C", "-N"});
    if (init.exit_code != 0) {
      return "initdb failed: " + init.err + read_file(dir_ / "initdb.log");
    }
    port_ = free_port();
    launch();
    if (!ready()) {
      return "postgres did not start: " + read_file(log());
    }
    // The template of the contract's databases: the schema applied once instead of per case.
    query("postgres", "CREATE DATABASE ferry_template");
    FixedClock clock;
    server::PostgresOptions options;
    options.url = url("ferry_template");
    auto store = server::open_postgres_store(options, clock);
    if (!store) {
      return "migrating the template database: " + store.error().message;
    }
    return {};
  }

  ~Server() override {
    if (server_) {
      // Immediate: nothing in it is worth a checkpoint.
      (void)server_->stop(SIGQUIT, 10s);
    }
  }

  std::string create_database(bool migrated) override {
    const std::string name = "ferry_test_" + std::to_string(++databases_);
    if (!migrated) {
      query("postgres", "CREATE DATABASE " + name);
      return name;
    }
    // A copy needs the template without sessions, and the last store's may still be ending.
    const std::string sql = "CREATE DATABASE " + name + " TEMPLATE ferry_template";
    std::string error;
    const bool created = eventually([&] { return try_exec("postgres", sql, error); }, 10s, 20ms);
    if (!created) {
      FAIL(sql << ": " << error);
    }
    return name;
  }

  // Best effort, without failing: it runs in destructors.
  void drop_database(const std::string& name) noexcept override {
    std::unique_ptr<PGconn, PgConnDeleter> conn(PQconnectdb(url("postgres").c_str()));
    const std::string sql = "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)";
    PQclear(PQexec(conn.get(), sql.c_str()));
  }

  [[nodiscard]] std::string url(const std::string& database) const override {
    return "postgresql://ferry@127.0.0.1:" + std::to_string(port_) + "/" + database;
  }

  bool try_exec(const std::string& database, const std::string& sql, std::string& error) {
    std::unique_ptr<PGconn, PgConnDeleter> conn(PQconnectdb(url(database).c_str()));
    PGresult* r = PQexec(conn.get(), sql.c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    error = PQresultErrorMessage(r);
    PQclear(r);
    return ok;
  }

  std::string query(const std::string& database, const std::string& sql) override {
    std::unique_ptr<PGconn, PgConnDeleter> conn(PQconnectdb(url(database).c_str()));
    if (PQstatus(conn.get()) != CONNECTION_OK) {
      FAIL("connecting to the test server: " << PQerrorMessage(conn.get()));
    }
    PGresult* r = PQexec(conn.get(), sql.c_str());
    const auto status = PQresultStatus(r);
    std::string out;
    if (status == PGRES_TUPLES_OK && PQntuples(r) > 0) {
      out = PQgetvalue(r, 0, 0);
    }
    std::string error = PQresultErrorMessage(r);
    PQclear(r);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      FAIL(sql << ": " << error);
    }
    return out;
  }

  void stop() override {
    if (server_) {
      // SIGINT: a fast shutdown, every session ended.
      REQUIRE(server_->stop(SIGINT, 30s) == 0);
      server_.reset();
    }
  }

  void start() override {
    launch();
    if (!ready()) {
      FAIL("postgres did not start: " << read_file(log()));
    }
  }

 private:
  void launch() {
    LaunchOptions o;
    o.argv = as_user_;
    for (const std::string& arg :
         {bindir() + "/postgres", std::string("-D"), data(), std::string("-p"),
          std::to_string(port_), std::string("-c"), std::string("listen_addresses=127.0.0.1"),
          std::string("-c"), "unix_socket_directories=" + dir_.str(), std::string("-c"),
          std::string("fsync=off"), std::string("-c"), std::string("synchronous_commit=off"),
          std::string("-c"), std::string("full_page_writes=off"), std::string("-c"),
          std::string("max_connections=200")}) {
      o.argv.push_back(arg);
    }
    o.cwd = dir_.path();
    o.out_file = log();
    o.err_file = log();
    // A child of this process (not pg_ctl's daemon), so that it dies with the test binary
    // (Process: PR_SET_PDEATHSIG) however that ends.
    server_ = std::make_unique<Process>(o);
  }

  [[nodiscard]] std::string data() const { return dir_.str() + "/data"; }
  [[nodiscard]] std::string log() const { return dir_.str() + "/postgres.log"; }

  bool ready() {
    const std::string conninfo =
        "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=postgres user=ferry";
    return eventually([&] { return server_->running() && PQping(conninfo.c_str()) == PQPING_OK; },
                      30s, 50ms);
  }

  ProcessResult run(const std::vector<std::string>& argv) {
    LaunchOptions o;
    o.argv = as_user_;
    o.argv.insert(o.argv.end(), argv.begin(), argv.end());
    o.cwd = dir_.path();
    o.out_file = dir_ / "initdb.log";
    o.err_file = dir_ / "initdb.log";
    return run_process(o, 2min);
  }

  TempDir dir_{"ferry-pg", 0700};
  std::vector<std::string> as_user_;
  int port_ = 0;
  std::unique_ptr<Process> server_;
  std::atomic<int> databases_{0};
};

}  // namespace

PgTestServer& PgTestServer::get() {
  static std::unique_ptr<Server> server;
  static std::optional<std::string> failure;
  if (!server && !failure) {
    auto s = std::make_unique<Server>();
    std::string why = s->boot();
    if (why.empty()) {
      server = std::move(s);
    } else {
      failure = why;
    }
  }
  if (failure) {
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true") {
      FAIL("PostgreSQL could not be started (CI=true, so this fails): " << *failure);
    }
    std::fprintf(stderr, "skipped: PostgreSQL could not be started: %s\n", failure->c_str());
    std::exit(77);
  }
  return *server;
}

}  // namespace ferry::test
