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
