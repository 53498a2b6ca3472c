// Listings for people and for scripts: on a terminal, columns padded to line up; otherwise one
// line per row with tab-separated cells (cut -f, awk -F'\t'). Either way a header line first,
// and cells never hold tabs, newlines or other control characters (names and descriptions come
// from the server and must not move the cursor or fake rows).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::cli {

enum class TableStyle { kAligned, kTabs };

struct Table {
  std::vector<std::string> headers;
  std::vector<std::vector<std::string>> rows;  // each as long as headers
};

// The table as text, every line ending in '\n'. With no rows: the header line only.
std::string render_table(const Table& table, TableStyle style);

// A cell's text made safe for one line: control characters become '?' ('\t', '\n' and '\r'
// become spaces); invalid UTF-8 bytes become '?'.
std::string clean_cell(std::string_view text);

// The width of text on a terminal, counting code points (every code point as one column).
std::size_t display_width(std::string_view text);

// At most `width` columns: longer text is cut on a code point boundary and ends in "...".
std::string shorten(std::string_view text, std::size_t width);

}  // namespace ferry::cli
