// Failed authentications per source address, so that guessing (register codes, keys) is slow:
// each failure takes a token from the source's bucket (`burst` tokens, refilled at `rate` per
// second), and a source with no token left is refused at once, before its request is read
// further, until the bucket refills. Successful requests cost nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace ferry::server {

class AuthFailureLimiter {
 public:
  // A rate of 0 turns the limit off. At most `max_sources` buckets are kept; past that, the
  // buckets that have refilled are dropped, and a new source beyond it is not tracked.
  AuthFailureLimiter(double rate, double burst, std::size_t max_sources = 100'000);

  // Whether `source` has used up its failures for now.
  [[nodiscard]] bool blocked(const std::string& source, int64_t now_ms);
  // A failed authentication from `source`.
  void record_failure(const std::string& source, int64_t now_ms);

 private:
  struct Bucket {
    double tokens = 0;
    int64_t last_ms = 0;
  };
  // The bucket refilled to now (mutex_ held).
  void refill(Bucket& b, int64_t now_ms) const;

  double rate_;
  double burst_;
  std::size_t max_sources_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace ferry::server
