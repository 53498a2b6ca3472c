#include "ferry/server/api/auth_failure_limiter.hpp"

#include <algorithm>
#include <iterator>

namespace ferry::server {

AuthFailureLimiter::AuthFailureLimiter(double rate, double burst, std::size_t max_sources)
    : rate_(rate), burst_(std::max(burst, 1.0)), max_sources_(max_sources) {}

void AuthFailureLimiter::refill(Bucket& b, int64_t now_ms) const {
  const double elapsed = static_cast<double>(std::max<int64_t>(0, now_ms - b.last_ms)) / 1000.0;
  b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
  b.last_ms = std::max(b.last_ms, now_ms);
}

bool AuthFailureLimiter::blocked(const std::string& source, int64_t now_ms) {
  if (rate_ <= 0) {
    return false;
  }
  std::lock_guard lock(mutex_);
  const auto it = buckets_.find(source);
  if (it == buckets_.end()) {
    return false;
  }
  refill(it->second, now_ms);
  return it->second.tokens < 1.0;
}

void AuthFailureLimiter::record_failure(const std::string& source, int64_t now_ms) {
  if (rate_ <= 0) {
    return;
  }
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(source);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_sources_) {
      // Sources whose bucket is full again have nothing to remember.
      for (auto i = buckets_.begin(); i != buckets_.end();) {
        refill(i->second, now_ms);
        i = i->second.tokens >= burst_ ? buckets_.erase(i) : std::next(i);
      }
      if (buckets_.size() >= max_sources_) {
        return;
      }
    }
    it = buckets_.emplace(source, Bucket{burst_, now_ms}).first;
  }
  refill(it->second, now_ms);
  it->second.tokens = std::max(0.0, it->second.tokens - 1.0);
}

}  // namespace ferry::server
