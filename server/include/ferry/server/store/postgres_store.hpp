// The PostgreSQL Store: the same SQL store as SQLite's (one schema, one set of statements) on a
// PostgreSQL database that several ferry-server processes share. Built into
// ferry::server_store_postgres, the only target that links libpq.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "ferry/core/error.hpp"
#include "ferry/server/clock.hpp"
#include "ferry/server/store/peer_notifier.hpp"
#include "ferry/server/store/store.hpp"

namespace ferry::server {

struct PostgresOptions {
  // postgresql://USER@HOST:PORT/DB (or postgres://), with any libpq parameters after `?`. No
  // password in it: check_postgres_url refuses one.
  std::string url;
  // The role's password, read from a file by the caller; empty: none given here, and libpq
  // looks in PGPASSWORD and ~/.pgpass (PGPASSFILE) as usual.
  std::string password;
  // Connections opened at most; callers beyond this wait for one to be released.
  std::size_t max_connections = 8;
  // How long opening one connection may take (libpq's connect_timeout; at least 2 s).
  std::chrono::seconds connect_timeout{5};
  // Told the time of every call (the metrics); nullptr: none. Must outlive the store.
  StoreObserver* observer = nullptr;
};

// Ok for a postgresql:// or postgres:// URL without a password; otherwise an error
// (InvalidParameterValue) that says why, never repeating the URL (it may hold a password).
// Defined in ferry::server_store, so that checking a configuration needs no libpq.
Status check_postgres_url(std::string_view url);

// Connects (checking the URL first) and applies the schema migrations the database lacks, under
// an advisory lock so that servers starting together apply each once. A database written by a
// newer ferry-server is refused. The database being unreachable is an error here; later, while
// it is down, each call fails (Store.Failed, "the database is unavailable: ...") and the store
// reconnects by itself once it is back. `clock` as for open_sqlite_store.
Expected<std::unique_ptr<Store>> open_postgres_store(const PostgresOptions& options,
                                                     const Clock& clock);

// The PeerNotifier of servers sharing the database of `options` (LISTEN/NOTIFY, on two libpq
// sessions of its own, opened when it starts: a database down then is retried, not an error).
// Only the URL is checked here.
Expected<std::unique_ptr<PeerNotifier>> open_postgres_peer_notifier(const PostgresOptions& options);

}  // namespace ferry::server
