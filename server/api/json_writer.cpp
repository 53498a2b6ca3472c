#include "ferry/server/api/json_writer.hpp"

#include <array>
#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ferry::server {
namespace {

// Bytes that nlohmann's dump copies unchanged in every context: printable ASCII except the
// quote and the backslash. Anything else (control characters, DEL, any byte of a multi-byte or
// invalid UTF-8 sequence) sends the whole string through nlohmann itself.
constexpr std::array<bool, 256> kPlain = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x7F; ++c) {
    t[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  }
  return t;
}();

// Sixteen bytes at a time with SSE2, eight at a time in a word (base64 output is most of a large
// reply), then the rest by table. Each test is exact as a yes/no for the whole block; a false
// "no" would only cost the slow path, a false "yes" would be a bug (json_writer_test.cpp).
bool all_plain(std::string_view s) {
  constexpr uint64_t kOnes = 0x0101010101010101;
  constexpr uint64_t kHigh = 0x8080808080808080;
  const auto has_zero_byte = [](uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  const char* p = s.data();
  std::size_t n = s.size();
#if defined(__SSE2__)
  // Sixteen at a time: a signed compare with 0x20 catches both the control characters and
  // every byte from 0x80 up (negative as signed).
  const __m128i space = _mm_set1_epi8(0x20);
  const __m128i del = _mm_set1_epi8(0x7F);
  const __m128i quote = _mm_set1_epi8(0x22);
  const __m128i backslash = _mm_set1_epi8(0x5C);
  for (; n >= 16; p += 16, n -= 16) {
    __m128i x;
    std::memcpy(&x, p, sizeof x);
    const __m128i special =
        _mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(x, space), _mm_cmpeq_epi8(x, del)),
                     _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)));
    if (_mm_movemask_epi8(special) != 0) {
      return false;
    }
  }
#endif
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t x = 0;
    std::memcpy(&x, p, 8);
    const uint64_t special = (x & kHigh) |                        // >= 0x80
                             ((x - kOnes * 0x20) & ~x & kHigh) |  // < 0x20
                             has_zero_byte(x ^ (kOnes * 0x7F)) |  // DEL
                             has_zero_byte(x ^ (kOnes * 0x22)) |  // "
                             has_zero_byte(x ^ (kOnes * 0x5C));   // backslash
    if (special != 0) {
      return false;
    }
  }
  for (; n > 0; ++p, --n) {
    if (!kPlain[static_cast<unsigned char>(*p)]) {
      return false;
    }
  }
  return true;
}

template <typename T>
void append_number(std::string& out, T value) {
  std::array<char, 24> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  out.append(buf.data(), r.ptr);
}

}  // namespace

void JsonWriter::append_string(std::string& out, std::string_view value) {
  if (all_plain(value)) {
    out.push_back('"');
    out.append(value);
    out.push_back('"');
    return;
  }
  // Rare (a command name in another script, a control character, broken UTF-8): the reference
  // escaper itself, so that the rules (\u00xx, U+FFFD for invalid bytes) cannot drift.
  out += nlohmann::json(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void JsonWriter::value_separator() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (depth_ > 0) {
    const uint64_t bit = uint64_t{1} << (depth_ - 1);
    if ((has_member_ & bit) != 0) {
      out_.push_back(',');
    }
    has_member_ |= bit;
  }
}

void JsonWriter::open(char c) {
  value_separator();
  out_.push_back(c);
  ++depth_;
  has_member_ &= ~(uint64_t{1} << (depth_ - 1));
}

void JsonWriter::close(char c) {
  out_.push_back(c);
  --depth_;
}

void JsonWriter::key(std::string_view name) {
  value_separator();
  append_string(out_, name);
  out_.push_back(':');
  after_key_ = true;
}

void JsonWriter::string(std::string_view value) {
  value_separator();
  append_string(out_, value);
}

void JsonWriter::integer(int64_t value) {
  value_separator();
  append_number(out_, value);
}

void JsonWriter::unsigned_integer(uint64_t value) {
  value_separator();
  append_number(out_, value);
}

void JsonWriter::boolean(bool value) {
  value_separator();
  out_.append(value ? "true" : "false");
}

void JsonWriter::null() {
  value_separator();
  out_.append("null");
}

void JsonWriter::raw(std::string_view json) {
  value_separator();
  out_.append(json);
}

}  // namespace ferry::server
