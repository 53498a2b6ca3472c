// A JSON writer that appends straight to a string, for the few large replies (a page of tasks
// with their output) where building an nlohmann::json tree and dumping it cost more than the
// store read. Its output is byte-for-byte what nlohmann's dump(-1, ' ', false,
// error_handler_t::replace) gives for the same values written in the same order: compact, UTF-8
// kept as is, control characters as \b \t \n \f \r or \u00xx, invalid UTF-8 replaced with U+FFFD.
// nlohmann::json objects list their keys sorted (std::map): callers write keys in that order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::server {

class JsonWriter {
 public:
  // Appends to `out`, which may already hold a prefix.
  explicit JsonWriter(std::string& out) : out_(out) {}

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }
  // An object member's name; its value follows.
  void key(std::string_view name);

  void string(std::string_view value);
  void integer(int64_t value);
  void unsigned_integer(uint64_t value);
  void boolean(bool value);
  void null();
  // A value that is already JSON text (written as is).
  void raw(std::string_view json);

  // key() then the value.
  void field(std::string_view name, std::string_view value) {
    key(name);
    string(value);
  }
  void field(std::string_view name, const char* value) { field(name, std::string_view(value)); }
  void field(std::string_view name, const std::string& value) {
    field(name, std::string_view(value));
  }
  void field(std::string_view name, int64_t value) {
    key(name);
    integer(value);
  }

  // `value` as a JSON string (quotes included), escaped the way nlohmann's dump does it.
  static void append_string(std::string& out, std::string_view value);

 private:
  void value_separator();
  void open(char c);
  void close(char c);

  std::string& out_;
  // Bit d: the container at depth d already has a member. Deeper nesting than 64 is not needed.
  uint64_t has_member_ = 0;
  int depth_ = 0;
  bool after_key_ = false;
};

}  // namespace ferry::server
