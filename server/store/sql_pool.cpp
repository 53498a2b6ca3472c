#include "sql_pool.hpp"

#include <algorithm>
#include <utility>

namespace ferry::server::sql {

Pool::Pool(Open open, std::size_t max_connections)
    : open_connection_(std::move(open)),
      max_connections_(std::max<std::size_t>(max_connections, 1)) {}

Pool::Lease::~Lease() {
  if (conn_) {
    pool_->release(std::move(conn_));
  }
}

Expected<Pool::Lease> Pool::acquire() {
  std::vector<std::unique_ptr<Connection>> dropped;  // closed after the lock is released
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !idle_.empty() || open_ < max_connections_; });
  while (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    // It may have broken while idle (its server restarted): a new one instead.
    if (conn->unusable()) {
      dropped.push_back(std::move(conn));
      --open_;
      continue;
    }
    return Lease(*this, std::move(conn));
  }
  ++open_;  // the slot is ours while the (slow) open runs outside the lock
  lock.unlock();
  auto conn = open_connection_();
  if (!conn) {
    lock.lock();
    --open_;
    cv_.notify_one();
    return conn.error();
  }
  return Lease(*this, std::move(*conn));
}

void Pool::release(std::unique_ptr<Connection> conn) {
  std::unique_ptr<Connection> drop;
  {
    std::lock_guard lock(mu_);
    if (conn->unusable()) {
      drop = std::move(conn);
      --open_;
    } else {
      idle_.push_back(std::move(conn));
    }
  }
  cv_.notify_one();
}

}  // namespace ferry::server::sql
