#include "ferry/cli/output_follow.hpp"

#include <algorithm>

namespace ferry::cli {
namespace {

// Whether `s` is made of whole UTF-8 sequences (by their shape: lead and continuation bytes),
// but for an incomplete one at its end when `open_end`.
bool utf8_shaped(std::string_view s, bool open_end) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const std::size_t len = b < 0x80U ? 1 : utf8_sequence_length(s[i]);
    if (len == 0) {
      return false;
    }
    for (std::size_t k = 1; k < len; ++k) {
      if (i + k >= s.size()) {
        return open_end;
      }
      if (!utf8_is_continuation(s[i + k])) {
        return false;
      }
    }
    i += len;
  }
  return true;
}

// Whether a head of length `h` (h = half - j) with a tail that skipped `k` continuation bytes
// agrees with the excerpt and with the printed prefix. `strict` adds what holds when the output
// is valid UTF-8: the head ends on a sequence boundary and the tail starts on one.
bool head_fits(std::string_view excerpt, std::string_view printed, std::size_t half, std::size_t h,
               std::size_t j, std::size_t k, bool strict) {
  const std::size_t known = std::min(h, printed.size());
  if (excerpt.substr(0, known) != printed.substr(0, known)) {
    return false;
  }
  // cut_tail stops at the first byte that is not a continuation byte, or after three.
  if ((k < 3 || strict) && h < excerpt.size() && utf8_is_continuation(excerpt[h])) {
    return false;
  }
  if (j == 0) {
    // Nothing was cut: the head is the first `half` bytes and ends on a boundary.
    return excerpt_head_cut(excerpt.substr(0, half)) == half;
  }
  if (strict && excerpt_head_cut(excerpt.substr(0, h)) != h) {
    return false;
  }
  if (h < printed.size()) {
    // The cut bytes were printed: a lead byte announcing more than the j bytes that fit, then
    // continuation bytes up to `half`.
    if (utf8_sequence_length(printed[h]) <= j) {
      return false;
    }
    const std::size_t end = std::min(half, printed.size());
    for (std::size_t i = h + 1; i < end; ++i) {
      if (!utf8_is_continuation(printed[i])) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

std::string gap_marker(std::uint64_t bytes) {
  return "... [" + std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes") + " dropped] ...";
}

std::optional<std::size_t> excerpt_head_length(std::string_view excerpt, std::uint64_t dropped,
                                               std::string_view printed, std::size_t limit) {
  const std::size_t half = limit / 2;
  if (dropped == 0 || half == 0 || excerpt.size() > 2 * half || 2 * half - excerpt.size() > 6) {
    return std::nullopt;
  }
  // Bytes both cuts removed together: j from the head, k from the tail, each at most 3.
  const std::size_t cut = 2 * half - excerpt.size();
  if (printed.size() >= half) {
    const std::size_t h = excerpt_head_cut(printed.substr(0, half));
    const std::size_t j = half - h;
    if (j > cut || cut - j > 3 || excerpt.substr(0, h) != printed.substr(0, h)) {
      return std::nullopt;
    }
    return h;
  }
  // When the bytes seen are UTF-8, the cuts fall on sequence boundaries, which singles out the
  // head's length; binary output gets only the checks that hold for any bytes. Lengths that
  // still fit all give the same stdout when each is at least the printed prefix (the cut bytes
  // were not printed; only the gap marker may sit up to 3 bytes off), and the longest is
  // taken. When they would print different bytes, nothing tells which is right: nullopt.
  const bool utf8 = utf8_shaped(excerpt, false) && utf8_shaped(printed, true);
  for (const bool strict : {utf8, false}) {
    std::optional<std::size_t> chosen;
    bool below_printed = false;  // some length that fits is shorter than the printed prefix
    int fitting = 0;
    for (std::size_t j = 0; j <= std::min<std::size_t>(3, cut); ++j) {
      const std::size_t k = cut - j;
      const std::size_t h = half - j;
      if (k <= 3 && head_fits(excerpt, printed, half, h, j, k, strict)) {
        ++fitting;
        below_printed = below_printed || h < printed.size();
        if (!chosen) {
          chosen = h;
        }
      }
    }
    if (fitting > 1 && below_printed) {
      return std::nullopt;
    }
    if (chosen) {
      return chosen;
    }
  }
  return std::nullopt;
}

std::string OutputFollower::on_live(std::string_view live) {
  if (finished_ || live.size() <= printed_.size() || !live.starts_with(printed_)) {
    return {};
  }
  std::string fresh(live.substr(printed_.size()));
  printed_.assign(live);
  return fresh;
}

std::vector<OutputPiece> OutputFollower::on_final(std::string_view excerpt, std::uint64_t dropped) {
  std::vector<OutputPiece> out;
  if (finished_) {
    return out;
  }
  finished_ = true;
  const std::string_view printed = printed_;
  const auto text = [&out](std::string_view s) {
    if (!s.empty()) {
      out.push_back({OutputPiece::Kind::kText, std::string(s), 0});
    }
  };
  const auto gap = [&out](std::uint64_t n) {
    if (n > 0) {
      out.push_back({OutputPiece::Kind::kGap, "", n});
    }
  };
  const auto whole = [&](std::optional<std::size_t> head) {
    out.push_back({OutputPiece::Kind::kNotice,
                   "the final output does not continue the output shown so far; here it is whole",
                   0});
    const std::size_t h = std::min(head.value_or(limit_ / 2), excerpt.size());
    text(excerpt.substr(0, h));
    gap(dropped);
    text(excerpt.substr(h));
  };

  if (dropped == 0) {
    if (excerpt.starts_with(printed)) {
      text(excerpt.substr(printed.size()));
    } else {
      whole(excerpt.size());
    }
    return out;
  }
  const auto head = excerpt_head_length(excerpt, dropped, printed, limit_);
  if (!head) {
    whole(excerpt_head_length(excerpt, dropped, "", limit_));
    return out;
  }
  const std::size_t h = *head;
  const std::size_t p = printed.size();
  const std::uint64_t total = excerpt.size() + dropped;
  const std::size_t t = excerpt.size() - h;
  const std::uint64_t tail_start = total - t;  // where the tail begins in the whole output
  if (p <= h) {
    text(excerpt.substr(p, h - p));
    gap(dropped);
    text(excerpt.substr(h));
  } else if (p <= tail_start) {
    gap(tail_start - p);
    text(excerpt.substr(h));
  } else {
    // p is at most the live cap, so the overlap is at most t here.
    const std::size_t overlap = p - tail_start;
    if (overlap > t || printed.substr(p - overlap) != excerpt.substr(h, overlap)) {
      whole(head);
      return out;
    }
    text(excerpt.substr(h + overlap));
  }
  return out;
}

std::string LinePrefixer::feed(std::string_view text) {
  std::string out;
  for (;;) {
    const auto nl = text.find('\n');
    if (nl == std::string_view::npos) {
      partial_.append(text);
      return out;
    }
    out += prefix_;
    out += partial_;
    out.append(text.substr(0, nl + 1));
    partial_.clear();
    text.remove_prefix(nl + 1);
  }
}

std::string LinePrefixer::flush() {
  if (partial_.empty()) {
    return {};
  }
  std::string out = prefix_ + partial_ + "\n";
  partial_.clear();
  return out;
}

}  // namespace ferry::cli
