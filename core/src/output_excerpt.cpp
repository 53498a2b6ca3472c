#include "ferry/core/output_excerpt.hpp"

#include <algorithm>
#include <type_traits>

namespace ferry {
namespace {

// uint64_t to size_t for a value known to fit; a plain cast would be "useless" where the two
// types are the same.
template <typename T>
std::size_t to_size(T v) {
  if constexpr (std::is_same_v<std::size_t, T>) {
    return v;
  } else {
    return static_cast<std::size_t>(v);
  }
}

// Skips the continuation bytes of a sequence that began before `s`; a sequence has at most 3.
std::string_view cut_tail(std::string_view s) {
  std::size_t skip = 0;
  while (skip < 3 && skip < s.size() && utf8_is_continuation(s[skip])) {
    ++skip;
  }
  return s.substr(skip);
}

}  // namespace

// Only the bytes of `s` are looked at, so the streaming and the one-shot forms decide alike.
std::size_t excerpt_head_cut(std::string_view s) {
  std::size_t trailing = 0;
  while (trailing < 3 && trailing < s.size() && utf8_is_continuation(s[s.size() - 1 - trailing])) {
    ++trailing;
  }
  if (trailing == s.size()) {
    return s.size();
  }
  const std::size_t lead = s.size() - 1 - trailing;
  return utf8_sequence_length(s[lead]) > trailing + 1 ? lead : s.size();
}

OutputExcerpt make_output_excerpt(std::string_view head, std::string_view tail, uint64_t total_size,
                                  std::size_t limit) {
  OutputExcerpt out;
  if (total_size <= limit) {
    const std::size_t total = to_size(total_size);  // fits: at most limit
    if (head.size() >= total) {
      out.bytes.assign(head.substr(0, total));
    } else {
      // head and tail overlap or meet: the output is head followed by the rest of tail.
      const std::size_t missing = total - head.size();
      out.bytes.assign(head);
      out.bytes.append(tail.substr(tail.size() - std::min(missing, tail.size())));
    }
  } else {
    const std::size_t half = limit / 2;
    const std::string_view kept = head.substr(0, std::min(half, head.size()));
    const std::string_view h = kept.substr(0, excerpt_head_cut(kept));
    const std::string_view t = cut_tail(tail.substr(tail.size() - std::min(half, tail.size())));
    out.bytes.reserve(h.size() + t.size());
    out.bytes.assign(h);
    out.bytes.append(t);
  }
  out.dropped = total_size - out.bytes.size();
  return out;
}

HeadTailCapture::HeadTailCapture(std::size_t limit) : limit_(limit) {}

void HeadTailCapture::append(std::string_view chunk) {
  total_ += chunk.size();
  // The head takes the rounded-up half so that head + ring hold exactly `limit` bytes and an
  // output of `limit` bytes is kept whole.
  const std::size_t head_cap = limit_ - limit_ / 2;
  if (head_.size() < head_cap) {
    const std::size_t n = std::min(head_cap - head_.size(), chunk.size());
    head_.append(chunk.substr(0, n));
    chunk.remove_prefix(n);
  }
  const std::size_t ring_cap = limit_ / 2;
  if (chunk.empty() || ring_cap == 0) {
    return;
  }
  if (chunk.size() >= ring_cap) {
    ring_.assign(chunk.substr(chunk.size() - ring_cap));
    ring_pos_ = 0;
    return;
  }
  if (ring_.size() < ring_cap) {
    // Not yet full: the oldest byte stays at index 0.
    const std::size_t n = std::min(ring_cap - ring_.size(), chunk.size());
    ring_.append(chunk.substr(0, n));
    chunk.remove_prefix(n);
  }
  while (!chunk.empty()) {
    const std::size_t n = std::min(ring_cap - ring_pos_, chunk.size());
    ring_.replace(ring_pos_, n, chunk.substr(0, n));
    ring_pos_ = (ring_pos_ + n) % ring_cap;
    chunk.remove_prefix(n);
  }
}

OutputExcerpt HeadTailCapture::excerpt() const {
  std::string tail;
  tail.reserve(ring_.size());
  tail.append(std::string_view(ring_).substr(ring_pos_));
  tail.append(std::string_view(ring_).substr(0, ring_pos_));
  return make_output_excerpt(head_, tail, total_, limit_);
}

}  // namespace ferry
