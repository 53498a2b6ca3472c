#include "ferry/cli/table.hpp"

#include <algorithm>

namespace ferry::cli {
namespace {

bool is_continuation(unsigned char b) {
  return (b & 0xC0U) == 0x80U;
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 when there is none.
std::size_t valid_sequence(std::string_view s, std::size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  if (b < 0x80U) {
    return 1;
  }
  if (b >= 0xC2U && b <= 0xDFU) {
    len = 2;
  } else if (b >= 0xE0U && b <= 0xEFU) {
    len = 3;
  } else if (b >= 0xF0U && b <= 0xF4U) {
    len = 4;
  } else {
    return 0;
  }
  if (i + len > s.size()) {
    return 0;
  }
  for (std::size_t k = 1; k < len; ++k) {
    if (!is_continuation(static_cast<unsigned char>(s[i + k]))) {
      return 0;
    }
  }
  return len;
}

}  // namespace

std::string clean_cell(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b == '\t' || b == '\n' || b == '\r') {
      out += ' ';
      ++i;
      continue;
    }
    if (b < 0x20U || b == 0x7fU) {
      out += '?';
      ++i;
      continue;
    }
    const std::size_t len = valid_sequence(text, i);
    if (len == 0) {
      out += '?';
      ++i;
      continue;
    }
    // C1 controls (U+0080..U+009F) act on terminals too.
    if (len == 2 && b == 0xC2U && static_cast<unsigned char>(text[i + 1]) < 0xA0U) {
      out += '?';
    } else {
      out.append(text.substr(i, len));
    }
    i += len;
  }
  return out;
}

std::size_t display_width(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return !is_continuation(static_cast<unsigned char>(c));
  }));
}

std::string shorten(std::string_view text, std::size_t width) {
  if (display_width(text) <= width) {
    return std::string(text);
  }
  if (width <= 3) {
    return std::string(width, '.');
  }
  std::size_t columns = 0;
  std::size_t end = 0;
  while (end < text.size()) {
    std::size_t next = end + 1;
    while (next < text.size() && is_continuation(static_cast<unsigned char>(text[next]))) {
      ++next;
    }
    if (columns + 1 > width - 3) {
      break;
    }
    ++columns;
    end = next;
  }
  return std::string(text.substr(0, end)) + "...";
}

std::string render_table(const Table& table, TableStyle style) {
  const std::size_t n = table.headers.size();
  std::vector<std::vector<std::string>> lines;
  lines.reserve(table.rows.size() + 1);
  lines.push_back({});
  for (const auto& h : table.headers) {
    lines.back().push_back(clean_cell(h));
  }
  for (const auto& row : table.rows) {
    lines.emplace_back();
    for (std::size_t i = 0; i < n; ++i) {
      lines.back().push_back(i < row.size() ? clean_cell(row[i]) : std::string());
    }
  }
  std::vector<std::size_t> widths(n, 0);
  for (const auto& line : lines) {
    for (std::size_t i = 0; i < n; ++i) {
      widths[i] = std::max(widths[i], display_width(line[i]));
    }
  }
  std::string out;
  for (const auto& line : lines) {
    std::string text;
    for (std::size_t i = 0; i < n; ++i) {
      if (style == TableStyle::kTabs) {
        text += line[i];
        if (i + 1 < n) {
          text += '\t';
        }
        continue;
      }
      text += line[i];
      if (i + 1 < n) {
        text.append(widths[i] - display_width(line[i]) + 2, ' ');
      }
    }
    out += text + "\n";
  }
  return out;
}

}  // namespace ferry::cli
