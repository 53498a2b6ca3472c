// What windows/supervise.cpp does with the bytes a task writes, before and into its spool:
// output that is not UTF-8 decoded from the OEM code page line by line, and the spool's cap with
// the tail kept past it (as linux/supervise.cpp's pump keeps them). Private to platform/ (and its
// tests).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "win32.hpp"

namespace ferry::platform::win32 {

// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
bool is_valid_utf8(std::string_view text);

// Turns a task's output into UTF-8 one line at a time: a line (with its "\n") that is valid
// UTF-8 is kept as it is, any other is read in `code_page` (GetOEMCP(): what console programs
// and cmd.exe's echo write in) and converted. Lines, because a program writes in one encoding at
// least per line, while a read from the pipe may end anywhere; an incomplete line is held back
// until its end comes, or until it is kMaxHeldLine long (then its first part goes, cut before an
// incomplete UTF-8 sequence; a double-byte OEM character can be split there), or the output ends.
class OutputDecoder {
 public:
  static constexpr std::size_t kMaxHeldLine = 64 * 1024;

  explicit OutputDecoder(UINT code_page) : code_page_(code_page) {}

  // Appends to `out` what of the output so far is complete, converted.
  void feed(std::string_view data, std::string& out);
  // Appends what is held back, converted: the output's end.
  void finish(std::string& out);

 private:
  void emit(std::string_view piece, std::string& out) const;

  UINT code_page_;
  std::string held_;
};

// Writes the output into the spool (a file opened for writing): its first `max_spool` bytes
// (0: all of them); past that the output is counted and only its last `tail_keep` bytes kept, in
// memory. After a write error nothing more is written or counted (bytes() is then what the spool
// could take, as on Linux).
class SpoolWriter {
 public:
  SpoolWriter(HANDLE spool, std::uint64_t max_spool, std::size_t tail_keep)
      : spool_(spool), max_spool_(max_spool), tail_keep_(tail_keep) {}

  void write(std::string_view data);

  [[nodiscard]] std::uint64_t bytes() const { return bytes_; }
  [[nodiscard]] std::uint64_t spooled() const { return spooled_; }
  [[nodiscard]] DWORD write_error() const { return write_error_; }
  // The last bytes past the cap (at most tail_keep of them); empty below the cap.
  [[nodiscard]] std::string tail() const;

 private:
  void keep_tail(std::string_view data);

  HANDLE spool_;
  std::uint64_t max_spool_;
  std::size_t tail_keep_;
  DWORD write_error_ = 0;
  std::uint64_t bytes_ = 0;
  std::uint64_t spooled_ = 0;
  std::string tail_;
};

}  // namespace ferry::platform::win32
