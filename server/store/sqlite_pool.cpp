#include "sqlite_pool.hpp"

#include <algorithm>
#include <utility>

namespace ferry::server::sqlite {

Pool::Pool(std::filesystem::path file, std::size_t max_connections,
           std::chrono::milliseconds busy_timeout)
    : file_(std::move(file)),
      max_connections_(std::max<std::size_t>(max_connections, 1)),
      busy_timeout_(busy_timeout) {}

Pool::Lease::~Lease() {
  if (conn_) {
    pool_->release(std::move(conn_));
  }
}

Expected<Pool::Lease> Pool::acquire() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !idle_.empty() || open_ < max_connections_; });
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return Lease(*this, std::move(conn));
  }
  ++open_;  // the slot is ours while the (slow) open runs outside the lock
  lock.unlock();
  auto conn = Connection::open(file_, busy_timeout_);
  if (!conn) {
    lock.lock();
    --open_;
    cv_.notify_one();
    return conn.error();
  }
  return Lease(*this, std::move(*conn));
}

void Pool::release(std::unique_ptr<Connection> conn) {
  // A connection still inside a transaction (its ROLLBACK failed) would hold locks for the next
  // caller: close it instead of reusing it.
  std::unique_ptr<Connection> drop;
  {
    std::lock_guard lock(mu_);
    if (conn->in_transaction()) {
      drop = std::move(conn);
      --open_;
    } else {
      idle_.push_back(std::move(conn));
    }
  }
  cv_.notify_one();
}

}  // namespace ferry::server::sqlite
