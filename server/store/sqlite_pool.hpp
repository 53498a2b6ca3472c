// The SQLite store's connection pool: one connection per concurrent caller, so that readers run
// in parallel under WAL instead of queueing behind one connection's lock. Private to
// server/store/.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "ferry/core/error.hpp"
#include "sqlite_db.hpp"

namespace ferry::server::sqlite {

class Pool {
 public:
  // At most `max_connections` (at least 1) are open at once; callers beyond wait for one.
  Pool(std::filesystem::path file, std::size_t max_connections,
       std::chrono::milliseconds busy_timeout);

  // A connection held by one caller until destroyed, then handed back (or closed when it is
  // still inside a transaction, so that it cannot hold locks for the next caller).
  class Lease {
   public:
    Lease(Pool& pool, std::unique_ptr<Connection> conn) : pool_(&pool), conn_(std::move(conn)) {}
    Lease(Lease&& other) noexcept : pool_(other.pool_), conn_(std::move(other.conn_)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection& operator*() { return *conn_; }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  // An idle connection, or a new one while fewer than max_connections are open; else waits.
  Expected<Lease> acquire();

 private:
  void release(std::unique_ptr<Connection> conn);

  std::filesystem::path file_;
  std::size_t max_connections_;
  std::chrono::milliseconds busy_timeout_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;
};

}  // namespace ferry::server::sqlite
