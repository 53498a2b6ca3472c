#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace ferry::server {

// A token bucket per key (SecretId + action): `rate` requests per second on average, up to
// `burst` at once. A rate of 0 turns the limit off.
class RateLimiter {
 public:
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst) {}
  [[nodiscard]] bool allow(const std::string& key, int64_t now_ms);
  // New limits from now on (SIGHUP); the buckets start full again under them.
  void set_limits(double rate, double burst);

 private:
  struct Bucket {
    double tokens = 0;
    int64_t last_ms = 0;
  };
  double rate_;
  double burst_;
  std::mutex mutex_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace ferry::server
