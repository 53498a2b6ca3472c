// The SQL store's connection pool: one connection per concurrent caller, so that readers run in
// parallel (under WAL on SQLite, as sessions on PostgreSQL) instead of queueing behind one
// connection. The engine opens connections through the pool's factory. Private to server/store/.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "ferry/core/error.hpp"
#include "sql_db.hpp"

namespace ferry::server::sql {

class Pool {
 public:
  using Open = std::function<Expected<std::unique_ptr<Connection>>()>;
  // At most `max_connections` (at least 1) are open at once; callers beyond wait for one.
  Pool(Open open, std::size_t max_connections);

  // A connection held by one caller until destroyed, then handed back (or closed when it is
  // unusable(): still inside a transaction, so that it cannot hold locks for the next caller,
  // or broken, so that the next caller opens a fresh one).
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

  // An idle connection that is not unusable(), or a new one while fewer than max_connections
  // are open; else waits.
  Expected<Lease> acquire();

 private:
  void release(std::unique_ptr<Connection> conn);

  Open open_connection_;
  std::size_t max_connections_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;
};

}  // namespace ferry::server::sql
