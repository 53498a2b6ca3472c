// The SQLite Store: the default for one ferry-server, and correct with several processes on one
// file (WAL, BEGIN IMMEDIATE for every write, a busy timeout).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

#include "ferry/core/error.hpp"
#include "ferry/server/clock.hpp"
#include "ferry/server/store/store.hpp"

namespace ferry::server {

struct SqliteOptions {
  // Connections opened at most; callers beyond this wait for one to be released. Readers run in
  // parallel under WAL, writers queue on the database's write lock.
  std::size_t max_connections = 8;
  // How long a statement waits for another connection's (or process's) lock before failing.
  std::chrono::milliseconds busy_timeout{5000};
  // Told the time of every call (the metrics); nullptr: none. Must outlive the store.
  StoreObserver* observer = nullptr;
};

// Opens `file`, creating it (mode 0600; its -wal and -shm files take the same mode) and applying
// the schema migrations it lacks. A database written by a newer ferry-server is refused. The
// times the store records on its own (a migration's, a key's revocation) are `clock`'s, which
// must outlive the store; every other time is the caller's argument.
Expected<std::unique_ptr<Store>> open_sqlite_store(const std::filesystem::path& file,
                                                   const Clock& clock, SqliteOptions options = {});

// The schema version this build writes (the number of migrations it knows).
int64_t sqlite_schema_version();

}  // namespace ferry::server
