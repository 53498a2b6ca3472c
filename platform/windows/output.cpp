#include "output.hpp"

#include <algorithm>
#include <climits>

namespace ferry::platform::win32 {
namespace {

// The length of the UTF-8 sequence that starts with `lead`; 0 for a byte that cannot start one.
std::size_t sequence_length(unsigned char lead) {
  if (lead < 0x80) {
    return 1;
  }
  if (lead >= 0xC2 && lead <= 0xDF) {
    return 2;
  }
  if (lead >= 0xE0 && lead <= 0xEF) {
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    return 4;
  }
  return 0;
}

// How many bytes at the end of `text` are the start of a UTF-8 sequence that is not complete yet
// (0 to 3).
std::size_t incomplete_suffix(std::string_view text) {
  for (std::size_t back = 1; back <= std::min<std::size_t>(3, text.size()); ++back) {
    const auto byte = static_cast<unsigned char>(text[text.size() - back]);
    if ((byte & 0xC0) != 0x80) {  // a lead byte (or ASCII)
      const std::size_t need = sequence_length(byte);
      return need > back ? back : 0;
    }
  }
  return 0;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const std::size_t n = sequence_length(lead);
    if (n == 0 || i + n > text.size()) {
      return false;
    }
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) {
        return false;
      }
    }
    if (n >= 3) {
      const auto second = static_cast<unsigned char>(text[i + 1]);
      if ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second > 0x9F) ||
          (lead == 0xF0 && second < 0x90) || (lead == 0xF4 && second > 0x8F)) {
        return false;  // overlong, a surrogate, or past U+10FFFF
      }
    }
    i += n;
  }
  return true;
}

void OutputDecoder::feed(std::string_view data, std::string& out) {
  held_.append(data);
  const auto last_newline = held_.rfind('\n');
  std::size_t cut = last_newline == std::string::npos ? 0 : last_newline + 1;
  if (cut == 0 && held_.size() >= kMaxHeldLine) {
    cut = held_.size() - incomplete_suffix(held_);
  }
  if (cut == 0) {
    return;
  }
  // Line by line: each decides its own encoding.
  std::string_view complete(held_.data(), cut);
  while (!complete.empty()) {
    const auto end = complete.find('\n');
    const std::size_t length = end == std::string_view::npos ? complete.size() : end + 1;
    emit(complete.substr(0, length), out);
    complete.remove_prefix(length);
  }
  held_.erase(0, cut);
}

void OutputDecoder::finish(std::string& out) {
  if (!held_.empty()) {
    emit(held_, out);
    held_.clear();
  }
}

void OutputDecoder::emit(std::string_view piece, std::string& out) const {
  if (is_valid_utf8(piece) || piece.size() > INT_MAX) {
    out.append(piece);
    return;
  }
  const int in = static_cast<int>(piece.size());
  const int n = ::MultiByteToWideChar(code_page_, 0, piece.data(), in, nullptr, 0);
  if (n <= 0) {
    out.append(piece);  // a code page Windows cannot read: the bytes as they came
    return;
  }
  std::wstring wide(static_cast<std::size_t>(n), L'\0');
  ::MultiByteToWideChar(code_page_, 0, piece.data(), in, wide.data(), n);
  out.append(narrow(wide));
}

void SpoolWriter::write(std::string_view data) {
  if (write_error_ != 0) {
    return;  // as on Linux, the size counts what the spool could take
  }
  if (max_spool_ != 0 && spooled_ + data.size() > max_spool_) {
    const auto room = max_spool_ - spooled_;  // below data.size()
    keep_tail(data.substr(room));
    data = data.substr(0, room);
  }
  while (!data.empty()) {
    const auto chunk = static_cast<DWORD>(std::min<std::size_t>(data.size(), 1 << 20));
    DWORD written = 0;
    if (::WriteFile(spool_, data.data(), chunk, &written, nullptr) == 0) {
      write_error_ = ::GetLastError();
      return;
    }
    bytes_ += written;
    spooled_ += written;
    data.remove_prefix(written);
  }
}

void SpoolWriter::keep_tail(std::string_view data) {
  bytes_ += data.size();
  if (data.size() >= tail_keep_) {
    tail_.assign(data.substr(data.size() - tail_keep_));
    return;
  }
  // Trimmed only once it holds twice what is kept: one move per tail_keep bytes of output.
  if (tail_.size() + data.size() > 2 * tail_keep_) {
    tail_.erase(0, tail_.size() - tail_keep_);
  }
  tail_.append(data);
}

std::string SpoolWriter::tail() const {
  return tail_.size() > tail_keep_ ? tail_.substr(tail_.size() - tail_keep_) : tail_;
}

}  // namespace ferry::platform::win32
