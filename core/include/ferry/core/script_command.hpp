// How a script is started: its "#!" line and the Launcher of seed 004.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/error.hpp"

namespace ferry {

// The "#!" line, parsed the way the Linux kernel does: the interpreter is the first word after
// "#!" (leading blanks skipped), and everything after it, trimmed of blanks at both ends, is one
// optional argument (never split further). A trailing '\r' is dropped (scripts saved with CRLF).
// Lines longer than the kernel's 255 characters are refused as the kernel would refuse them.
// nullopt: no "#!" at the very start (a BOM before it counts as none, as for the kernel), nothing
// after "#!", a first line over 255 bytes (counting "#!" and any '\r'), or a NUL byte in it.
struct Shebang {
  std::string interpreter;
  std::optional<std::string> argument;
};
std::optional<Shebang> parse_shebang(std::string_view script);

// Splits a command line into words: blanks separate words, '...' keeps everything literal,
// "..." keeps everything but lets \" and \\ escape, a backslash outside quotes escapes the next
// character. Unterminated quotes are an error.
Expected<std::vector<std::string>> split_command_line(std::string_view line);

inline constexpr std::size_t kMaxLauncherLength = 1024;
// How a placeholder, whatever its spelling in the launcher, appears in Launcher::words.
inline constexpr std::string_view kScriptFileNamePlaceholder = "{{ACS::ScriptFileName}}";

// A parsed Launcher, e.g. `python3 -u {{ACS::ScriptFileName|Ext(".py")}}`.
struct Launcher {
  std::vector<std::string> words;  // words[0] is the program; placeholders still in place
  std::string extension;           // from Ext("..."), empty when none was given
  bool has_placeholder = false;

  // The argv for a script at `script_path`: each placeholder replaced by the path, or the
  // path appended as the last word when there is no placeholder.
  std::vector<std::string> argv(const std::string& script_path) const;
};

// Parses a launcher. The placeholder is {{ACS::ScriptFileName}} or
// {{ACS::ScriptFileName|Ext(".ext")}} (ACS or TAT, case-insensitive, blanks inside the braces
// ignored) and may sit inside a word, inside quotes too. Every "{{" must open such a
// placeholder: other built-ins are not expanded in launchers. The extension is '.' and 1..16 of
// [A-Za-z0-9_-]. Errors (InvalidParameterValue, TooLong over 1 KB): empty, unbalanced quotes,
// a malformed placeholder or extension, two different extensions, a NUL byte.
Expected<Launcher> parse_launcher(std::string_view text);

}  // namespace ferry
