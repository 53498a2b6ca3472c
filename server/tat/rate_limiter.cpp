#include "ferry/server/tat/rate_limiter.hpp"

#include <algorithm>

namespace ferry::server {

bool RateLimiter::allow(const std::string& key, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  if (rate_ <= 0) {
    return true;
  }
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, now_ms});
  Bucket& b = it->second;
  if (!fresh) {
    const double elapsed = static_cast<double>(std::max<int64_t>(0, now_ms - b.last_ms)) / 1000.0;
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    b.last_ms = now_ms;
  }
  if (b.tokens < 1.0) {
    return false;
  }
  b.tokens -= 1.0;
  return true;
}

void RateLimiter::set_limits(double rate, double burst) {
  std::lock_guard lock(mutex_);
  rate_ = rate;
  burst_ = burst;
  buckets_.clear();
}

}  // namespace ferry::server
