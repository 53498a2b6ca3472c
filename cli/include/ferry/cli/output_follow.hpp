// Following one task's output for `ferry run` without printing a byte twice or losing one.
//
// What the API shows (docs/protocol.md, UploadTaskLog and ReportTaskFinish):
// - while the task runs, TaskResult.Output is a prefix of the output: the live pieces the agent
//   uploaded so far, which the server keeps up to 24 KiB (cut on a UTF-8 boundary);
// - once it is final, Output is the head and the tail of the whole output: all of it when it
//   fits in 24 KiB (Dropped 0), else excerpt_head_cut(first 12 KiB) + cut_tail(last 12 KiB), with
//   Dropped the bytes in between (core/include/ferry/core/output_excerpt.hpp).
//
// So what was printed live (P, a prefix) and the final excerpt overlap. With Dropped 0 the rest
// is the excerpt past P. Otherwise the head's length h is needed to know where the gap lies.
// When P holds 12 KiB or more, h is excerpt_head_cut of P's first 12 KiB, exactly. When P is
// shorter, h is one of the four lengths the cut allows (each cut drops at most 3 bytes), singled
// out by the cut rules, by P, and, when the bytes are UTF-8, by sequence boundaries. Then:
//   P within the head             -> the rest of the head, the gap marker, the tail;
//   P past the head, before tail  -> a marker for the dropped bytes not printed yet, the tail;
//   P reaching into the tail      -> the tail past what was printed, no marker.
// With P shorter than 12 KiB and h still not certain, the lengths left all print the same
// bytes (the gap marker alone may sit up to 3 bytes off), except for binary output in rare
// cases, and for a final excerpt that does not continue P (it never should): then a notice
// says so and the excerpt follows whole. tests/unit/cli/output_follow_test.cpp tries every
// prefix of random outputs with small limits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/output_excerpt.hpp"

namespace ferry::cli {

struct OutputPiece {
  enum class Kind {
    kText,    // output bytes, for stdout
    kGap,     // `bytes` bytes of output left out here: a marker line for stderr
    kNotice,  // `text` is a note for stderr
  };
  Kind kind = Kind::kText;
  std::string text;
  std::uint64_t bytes = 0;
};

// "... [N bytes dropped] ..." (no newline).
std::string gap_marker(std::uint64_t bytes);

class OutputFollower {
 public:
  explicit OutputFollower(std::size_t limit = kMaxOutputExcerpt) : limit_(limit) {}

  // The Output of the task while it is not final. Returns the bytes not printed yet; nothing
  // when `live` does not extend what was printed (a shorter or different view is skipped).
  std::string on_live(std::string_view live);

  // The final Output (decoded) and Dropped. Returns what is left to print, in order. Once
  // called, further calls return nothing.
  std::vector<OutputPiece> on_final(std::string_view excerpt, std::uint64_t dropped);

  [[nodiscard]] std::size_t printed_bytes() const { return printed_.size(); }
  [[nodiscard]] bool finished() const { return finished_; }

 private:
  std::size_t limit_;
  std::string printed_;  // every byte printed so far: a prefix of the task's output
  bool finished_ = false;
};

// The length of the head part of a final excerpt with `dropped` > 0, given the prefix `printed`
// already printed (see the top of this file). nullopt when the excerpt cannot have come from an
// output that starts with `printed`, or when the lengths that fit would print different bytes.
std::optional<std::size_t> excerpt_head_length(std::string_view excerpt, std::uint64_t dropped,
                                               std::string_view printed,
                                               std::size_t limit = kMaxOutputExcerpt);

// Prefixes every line with "PREFIX | ", for the output of several instances at once. Text is
// held until its line is complete.
class LinePrefixer {
 public:
  explicit LinePrefixer(std::string instance) : prefix_(std::move(instance) + " | ") {}
  // The complete lines of `text` (with what came before), each prefixed and ending in '\n'.
  std::string feed(std::string_view text);
  // The incomplete last line, prefixed and ended with '\n'; empty when there is none.
  std::string flush();

 private:
  std::string prefix_;
  std::string partial_;
};

}  // namespace ferry::cli
