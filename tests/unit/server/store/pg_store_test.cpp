// The PostgreSQL store's own cases, beside the contract it shares with SQLite: the URL check,
// servers starting together on one fresh database, a database from a newer ferry-server, and
// the database restarting under a running store; the servers' LISTEN/NOTIFY peer notifier.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ferry/core/error_codes.hpp"
#include "ferry/server/store/postgres_store.hpp"
#include "ferry/server/store/sqlite_store.hpp"
#include "ferry/server/store/store_errors.hpp"
#include "pg_test_server.hpp"
#include "postgres_db.hpp"
#include "store_contract.hpp"
#include "test_process.hpp"

namespace ferry::test::contract {

namespace {

std::unique_ptr<Store> open_store(const std::string& url, const Clock& clock) {
  PostgresOptions options;
  options.url = url;
  auto store = open_postgres_store(options, clock);
  if (!store) {
    FAIL("open_postgres_store: " << store.error().code << ": " << store.error().message);
  }
  return std::move(*store);
}

}  // namespace

TEST_CASE("postgres URLs: only postgresql:// and postgres://, never with a password",
          "[pg_store]") {
  CHECK(check_postgres_url("postgresql://ferry@db.example:5432/ferry"));
  CHECK(check_postgres_url("postgres://ferry@db.example/ferry?sslmode=verify-full"));
  CHECK(check_postgres_url("postgresql://ferry@[::1]:5432/ferry"));

  for (const std::string url :
       {"postgresql://ferry:s3cret@db.example:5432/ferry", "postgres://ferry:s3cret@db/ferry",
        "postgresql://ferry@db/ferry?sslmode=require&password=s3cret",
        "postgresql://ferry@db/ferry?password=s3cret"}) {
    INFO(url);
    auto s = check_postgres_url(url);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == codes::kInvalidParameterValue);
    CHECK(s.error().message.find("PGPASSWORD") != std::string::npos);
    CHECK(s.error().message.find("s3cret") == std::string::npos);
    // Refused before any connection is tried: no server is needed.
    ManualClock clock;
    PostgresOptions options;
    options.url = url;
    auto store = open_postgres_store(options, clock);
    REQUIRE_FALSE(store);
    CHECK(store.error().code == codes::kInvalidParameterValue);
  }
  for (const std::string url : {"", "ferry.db", "mysql://ferry@db/ferry", "postgresql:/db"}) {
    INFO(url);
    auto s = check_postgres_url(url);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == codes::kInvalidParameterValue);
  }
}

TEST_CASE("postgres: ? placeholders become $n, but not inside string literals", "[pg_store]") {
  using server::postgres::numbered_placeholders;
  CHECK(numbered_placeholders("SELECT a FROM t WHERE b = ? AND c IN (?, ?) LIMIT ?") ==
        "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3) LIMIT $4");
  CHECK(numbered_placeholders("UPDATE t SET s = 'a?b' WHERE id = ?") ==
        "UPDATE t SET s = 'a?b' WHERE id = $1");
  CHECK(numbered_placeholders("SELECT 'it''s?', ? FROM t") == "SELECT 'it''s?', $1 FROM t");
  CHECK(numbered_placeholders("SELECT 1") == "SELECT 1");
}

TEST_CASE("postgres: servers starting together on a fresh database migrate it once", "[pg_store]") {
  auto& server = PgTestServer::get();
  ManualClock clock;
  // A few rounds: the race is at the first statements.
  for (int round = 0; round < 3; ++round) {
    const std::string db = server.create_database(false);
    constexpr int kServers = 4;
    std::vector<std::string> errors(kServers);
    std::vector<std::thread> threads;
    threads.reserve(kServers);
    for (int i = 0; i < kServers; ++i) {
      threads.emplace_back([&, i] {
        PostgresOptions options;
        options.url = server.url(db);
        auto store = open_postgres_store(options, clock);
        errors[static_cast<std::size_t>(i)] = store ? "" : store.error().message;
      });
    }
    for (auto& t : threads) {
      t.join();
    }
    for (const auto& e : errors) {
      CHECK(e.empty());
    }
    CHECK(server.query(db, "SELECT COUNT(*) FROM schema_migrations") ==
          std::to_string(sqlite_schema_version()));
    CHECK(server.query(db, "SELECT MAX(version) FROM schema_migrations") ==
          std::to_string(sqlite_schema_version()));
    server.drop_database(db);
  }
}

TEST_CASE("postgres: a database written by a newer ferry-server is refused", "[pg_store]") {
  auto& server = PgTestServer::get();
  ManualClock clock;
  const std::string db = server.create_database();
  server.query(db, "INSERT INTO schema_migrations (version, applied_at) VALUES (" +
                       std::to_string(sqlite_schema_version() + 1) + ", 0)");
  PostgresOptions options;
  options.url = server.url(db);
  auto store = open_postgres_store(options, clock);
  REQUIRE_FALSE(store);
  CHECK(store.error().code == store_codes::kFailed);
  CHECK(store.error().message.find("upgrade ferry-server") != std::string::npos);
  server.drop_database(db);
}

TEST_CASE("postgres: a database restart fails calls clearly, then the store recovers by itself",
          "[pg_store]") {
  auto& server = PgTestServer::get();
  ManualClock clock;
  const std::string db = server.create_database();
  auto store = open_store(server.url(db), clock);
  require_ok(store->insert_command(make_command("cmd-1", "before")));
  // Idle connections in the pool, which the restart will close.
  REQUIRE(require_value(store->get_command("cmd-1")));

  server.stop();
  auto read = store->get_command("cmd-1");
  REQUIRE_FALSE(read);
  CHECK(read.error().code == store_codes::kFailed);
  CHECK(read.error().message.find("the database is unavailable") != std::string::npos);
  auto write = store->insert_command(make_command("cmd-2", "during"));
  REQUIRE_FALSE(write);
  CHECK(write.error().code == store_codes::kFailed);

  server.start();
  // The first call after the restart already succeeds: no stale connection is handed out.
  auto again = require_value(store->get_command("cmd-1"));
  REQUIRE(again);
  CHECK(again->command_name == "before");
  CHECK_FALSE(require_value(store->get_command("cmd-2")));
  require_ok(store->insert_command(make_command("cmd-3", "after")));
  CHECK(require_value(store->get_command("cmd-3")));

  // A restart while nothing calls: the pool's idle connection was closed by the server, and the
  // pool notices instead of handing it out to fail the next call.
  server.stop();
  server.start();
  CHECK(require_value(store->get_command("cmd-3")));
  require_ok(store->insert_command(make_command("cmd-4", "after a quiet restart")));
  CHECK(require_value(store->list_commands(CommandQuery{})).total == 3);
  store.reset();
  server.drop_database(db);
}

TEST_CASE("postgres peers: a message reaches the server it names, also after a restart",
          "[pg_store][peers]") {
  using namespace std::chrono_literals;
  auto& server = PgTestServer::get();
  const std::string db = server.create_database();
  PostgresOptions options;
  options.url = server.url(db);
  auto a = open_postgres_peer_notifier(options);
  auto b = open_postgres_peer_notifier(options);
  REQUIRE(a);
  REQUIRE(b);
  CHECK((*a)->enabled());
  std::mutex mutex;
  std::vector<PeerMessage> received;
  std::atomic<int> resumed{0};
  (*b)->start("srv-bbbbbbbb", PeerHandlers{[&](const PeerMessage& m) {
                                             std::lock_guard lock(mutex);
                                             received.push_back(m);
                                           },
                                           [&] { ++resumed; }});
  (*a)->start("srv-aaaaaaaa", PeerHandlers{});
  const auto received_count = [&] {
    std::lock_guard lock(mutex);
    return received.size();
  };
  const PeerMessage kick{PeerMessage::Kind::kKick, "srv-aaaaaaaa", "rins-0000000b", "invt-0000001"};
  // B listens from some moment after start(): sent until one arrives, each after one to a
  // server nobody is, which B must not see.
  const auto arrives = [&] {
    return eventually(
        [&] {
          (*a)->notify("srv-cccccccc", PeerMessage{PeerMessage::Kind::kCancel, "srv-aaaaaaaa",
                                                   "rins-0000000c", "invt-0000002"});
          (*a)->notify("srv-bbbbbbbb", kick);
          return eventually([&] { return received_count() > 0; }, 200ms, 10ms);
        },
        15s, 0ms);
  };
  REQUIRE(arrives());
  {
    std::lock_guard lock(mutex);
    for (const auto& m : received) {
      CHECK(m.kind == PeerMessage::Kind::kKick);
      CHECK(m.from_server == "srv-aaaaaaaa");
      CHECK(m.instance_id == "rins-0000000b");
      CHECK(m.task_id == "invt-0000001");
    }
    received.clear();
  }
  CHECK(resumed == 0);

  // Both sessions broken by the restart: the listener comes back by itself and says so (its
  // receiver's catch-up), and the sender opens a new session.
  server.stop();
  server.start();
  CHECK(eventually([&] { return resumed == 1; }, 15s, 20ms));
  CHECK(arrives());
  (*a)->stop();
  (*b)->stop();
  (*b)->stop();  // idempotent
  server.drop_database(db);
}

}  // namespace ferry::test::contract
