// The Output of a TaskResult: the head and the tail of the task's output, at most 24 KiB in all,
// never splitting a UTF-8 sequence; Dropped counts the bytes left out in the middle.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ferry {

inline constexpr std::size_t kMaxOutputExcerpt = 24 * 1024;

struct OutputExcerpt {
  std::string bytes;     // head followed directly by tail
  uint64_t dropped = 0;  // total_size - bytes.size()
};

// Builds the excerpt of an output of `total_size` bytes from its first bytes (`head`, at least
// min(total_size, limit/2) of them, or all of it when total_size <= limit) and its last bytes
// (`tail`, at least min(total_size, limit/2)). When total_size <= limit the whole output is
// kept. Otherwise at most limit/2 bytes of each end are kept, the head cut before an incomplete
// UTF-8 sequence and the tail starting at a sequence boundary. Invalid UTF-8 bytes are kept as
// they are (they are not sequences to split). The cuts look only at the kept bytes, so the
// result does not depend on how much more of the output `head` and `tail` hold.
OutputExcerpt make_output_excerpt(std::string_view head, std::string_view tail, uint64_t total_size,
                                  std::size_t limit = kMaxOutputExcerpt);

// The UTF-8 shape rules the excerpt's cuts follow, exported for readers that must redo a cut
// (the `ferry` client matches live output against the final excerpt).
// Whether `c` is a continuation byte (10xxxxxx).
inline bool utf8_is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0U) == 0x80U;
}
// The length of the sequence a lead byte announces: 2, 3 or 4; 0 for a byte that cannot lead a
// multi-byte sequence (ASCII included).
inline std::size_t utf8_sequence_length(char c) {
  const auto b = static_cast<unsigned char>(c);
  if ((b & 0xE0U) == 0xC0U) {
    return 2;
  }
  if ((b & 0xF0U) == 0xE0U) {
    return 3;
  }
  if ((b & 0xF8U) == 0xF0U) {
    return 4;
  }
  return 0;
}
// The head cut of make_output_excerpt: the length of `s` without a multi-byte sequence it ends
// in the middle of, judged from its last 4 bytes only.
std::size_t excerpt_head_cut(std::string_view s);

// Streaming form with bounded memory (limit bytes at most): feed the output in chunks of any
// size, then take the excerpt.
class HeadTailCapture {
 public:
  explicit HeadTailCapture(std::size_t limit = kMaxOutputExcerpt);
  void append(std::string_view chunk);
  [[nodiscard]] uint64_t total() const { return total_; }
  [[nodiscard]] OutputExcerpt excerpt() const;

 private:
  std::size_t limit_;
  std::string head_;  // the first limit - limit/2 bytes, so head_ + ring_ hold `limit` bytes
  std::string ring_;  // the last limit/2 bytes after head_, circular; ring_pos_ is the oldest
  std::size_t ring_pos_ = 0;
  uint64_t total_ = 0;
};

}  // namespace ferry
