#include "ferry/core/script_command.hpp"

#include <algorithm>

#include "ascii_text.hpp"
#include "ferry/core/error_codes.hpp"
#include "message_text.hpp"

namespace ferry {
namespace {

using detail::iequals;
using detail::quote_for_message;
using detail::trim_front_if;
using detail::trim_if;

// The kernel's BINPRM_BUF_SIZE (256) less the newline.
constexpr std::size_t kMaxShebangLine = 255;
constexpr std::size_t kMaxExtensionChars = 16;
// Marks a placeholder inside a word while splitting; NUL cannot occur in a launcher.
constexpr char kPlaceholderMark = '\0';

bool is_space_or_tab(char c) {
  return c == ' ' || c == '\t';
}
bool is_word_separator(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim_blanks(std::string_view s) {
  return trim_if(s, is_space_or_tab);
}

// Consumes `word` (ASCII case-insensitive) from the front of `s`.
bool consume_icase(std::string_view& s, std::string_view word) {
  if (!iequals(s.substr(0, word.size()), word)) {
    return false;
  }
  s.remove_prefix(word.size());
  return true;
}

void skip_blanks(std::string_view& s) {
  s = trim_front_if(s, is_space_or_tab);
}

Error invalid_value(std::string message) {
  return Error{codes::kInvalidParameterValue, std::move(message)};
}

bool is_extension_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// The extension becomes part of a file name: one dot, then a short run of safe characters.
bool is_valid_extension(std::string_view ext) {
  return ext.size() >= 2 && ext.size() <= kMaxExtensionChars + 1 && ext.front() == '.' &&
         std::all_of(ext.begin() + 1, ext.end(), is_extension_char);
}

// Parses what sits between "{{" and "}}" in a launcher:
// ACS::ScriptFileName [ | Ext("ext") ], returning the extension (empty when none).
Expected<std::string> parse_placeholder(std::string_view inner) {
  const Error malformed =
      invalid_value("malformed placeholder " + quote_for_message("{{" + std::string(inner) + "}}") +
                    R"(: expected {{ACS::ScriptFileName}} or {{ACS::ScriptFileName|Ext(".ext")}})");
  std::string_view s = trim_blanks(inner);
  if (!(consume_icase(s, "ACS::") || consume_icase(s, "TAT::")) ||
      !consume_icase(s, "ScriptFileName")) {
    return malformed;
  }
  skip_blanks(s);
  if (s.empty()) {
    return std::string();
  }
  if (!consume_icase(s, "|")) {
    return malformed;
  }
  skip_blanks(s);
  if (!consume_icase(s, "Ext")) {
    return malformed;
  }
  skip_blanks(s);
  if (!consume_icase(s, "(")) {
    return malformed;
  }
  skip_blanks(s);
  if (s.empty() || (s.front() != '"' && s.front() != '\'')) {
    return malformed;
  }
  const char quote = s.front();
  s.remove_prefix(1);
  const std::size_t end = s.find(quote);
  if (end == std::string_view::npos) {
    return malformed;
  }
  const std::string_view ext = s.substr(0, end);
  s.remove_prefix(end + 1);
  skip_blanks(s);
  if (!consume_icase(s, ")") || !s.empty()) {
    return malformed;
  }
  if (!is_valid_extension(ext)) {
    return invalid_value("invalid script extension " + quote_for_message(ext) +
                         ": expected '.' followed by 1 to 16 of [A-Za-z0-9_-]");
  }
  return std::string(ext);
}

// The splitter of split_command_line(). `on_braces(pos, word)` sees every "{{" first and returns
// where to go on: `pos` itself when it leaves the braces to the ordinary rules.
template <typename OnBraces>
Expected<std::vector<std::string>> split_words(std::string_view line, OnBraces on_braces) {
  enum class Quote { kNone, kSingle, kDouble };
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;  // "" is a word, so emptiness alone does not tell
  Quote quote = Quote::kNone;
  std::size_t quote_start = 0;

  std::size_t i = 0;
  while (i < line.size()) {
    if (line.compare(i, 2, "{{") == 0) {
      Expected<std::size_t> next = on_braces(i, word);
      if (!next) {
        return next.error();
      }
      if (*next != i) {
        in_word = true;
        i = *next;
        continue;
      }
    }
    const char c = line[i];
    switch (quote) {
      case Quote::kNone:
        if (is_word_separator(c)) {
          if (in_word) {
            words.push_back(std::move(word));
            word.clear();
            in_word = false;
          }
        } else if (c == '\'' || c == '"') {
          in_word = true;
          quote = c == '\'' ? Quote::kSingle : Quote::kDouble;
          quote_start = i;
        } else if (c == '\\') {
          if (i + 1 == line.size()) {
            return invalid_value("trailing backslash at offset " + std::to_string(i));
          }
          in_word = true;
          word += line[++i];
        } else {
          in_word = true;
          word += c;
        }
        break;
      case Quote::kSingle:
        if (c == '\'') {
          quote = Quote::kNone;
        } else {
          word += c;
        }
        break;
      case Quote::kDouble:
        if (c == '"') {
          quote = Quote::kNone;
        } else if (c == '\\' && i + 1 < line.size() &&
                   (line[i + 1] == '"' || line[i + 1] == '\\')) {
          word += line[++i];
        } else {
          word += c;
        }
        break;
    }
    ++i;
  }
  if (quote != Quote::kNone) {
    return invalid_value(std::string("unterminated ") + (quote == Quote::kSingle ? "'" : "\"") +
                         " quote starting at offset " + std::to_string(quote_start));
  }
  if (in_word) {
    words.push_back(std::move(word));
  }
  return words;
}

}  // namespace

std::optional<Shebang> parse_shebang(std::string_view script) {
  if (script.substr(0, 2) != "#!") {
    return std::nullopt;
  }
  std::string_view line = script.substr(0, script.find('\n'));
  if (line.size() > kMaxShebangLine || line.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  line.remove_prefix(2);
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  line = trim_blanks(line);
  if (line.empty()) {
    return std::nullopt;
  }
  const std::size_t end = std::min(line.find(' '), line.find('\t'));
  Shebang result;
  result.interpreter = std::string(line.substr(0, end));
  if (end != std::string_view::npos) {
    result.argument = std::string(trim_blanks(line.substr(end)));
  }
  return result;
}

Expected<std::vector<std::string>> split_command_line(std::string_view line) {
  return split_words(line,
                     [](std::size_t pos, std::string&) { return Expected<std::size_t>(pos); });
}

std::vector<std::string> Launcher::argv(const std::string& script_path) const {
  std::vector<std::string> out = words;
  if (!has_placeholder) {
    out.push_back(script_path);
    return out;
  }
  for (auto& word : out) {
    std::size_t pos = 0;
    while ((pos = word.find(kScriptFileNamePlaceholder, pos)) != std::string::npos) {
      word.replace(pos, kScriptFileNamePlaceholder.size(), script_path);
      pos += script_path.size();
    }
  }
  return out;
}

Expected<Launcher> parse_launcher(std::string_view text) {
  if (text.size() > kMaxLauncherLength) {
    return Error{codes::kTooLong, "must be at most " + std::to_string(kMaxLauncherLength) +
                                      " bytes, got " + std::to_string(text.size())};
  }
  if (text.find('\0') != std::string_view::npos) {
    return invalid_value("contains a NUL byte");
  }
  Launcher launcher;
  auto on_braces = [&](std::size_t pos, std::string& word) -> Expected<std::size_t> {
    const std::size_t close = text.find("}}", pos + 2);
    if (close == std::string_view::npos) {
      return invalid_value("unterminated placeholder at offset " + std::to_string(pos));
    }
    Expected<std::string> ext = parse_placeholder(text.substr(pos + 2, close - pos - 2));
    if (!ext) {
      return ext.error();
    }
    if (!ext->empty()) {
      if (!launcher.extension.empty() && launcher.extension != *ext) {
        return invalid_value(
            "two different script extensions: " + quote_for_message(launcher.extension) + " and " +
            quote_for_message(*ext));
      }
      launcher.extension = *ext;
    }
    launcher.has_placeholder = true;
    word += kPlaceholderMark;
    return close + 2;
  };
  Expected<std::vector<std::string>> words = split_words(text, on_braces);
  if (!words) {
    return words.error();
  }
  if (words->empty()) {
    return invalid_value("is empty");
  }
  if (words->front().empty()) {
    return invalid_value("the program (first word) is empty");
  }
  for (auto& word : *words) {
    // Braces that escaped placeholder parsing (e.g. "{\{") must not become a placeholder.
    if (word.find("{{") != std::string::npos) {
      return invalid_value("'{{' outside a placeholder in word " + quote_for_message(word));
    }
    std::string expanded;
    for (const char c : word) {
      if (c == kPlaceholderMark) {
        expanded += kScriptFileNamePlaceholder;
      } else {
        expanded += c;
      }
    }
    word = std::move(expanded);
  }
  launcher.words = std::move(*words);
  return launcher;
}

}  // namespace ferry
