// Errors and Expected-style returns. An Error carries an API error code (the TAT codes of
// error_codes.hpp, so a failure maps onto the API without translation) and a message that
// chains its causes ("writing script: open /x: Permission denied").
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace ferry {

struct Error {
  std::string code;     // e.g. "InvalidParameterValue.CommandContentInvalid"
  std::string message;  // human-readable, safe to log (never contains secrets or contents)

  // Returns this error with `context` put in front of the message: "context: message".
  [[nodiscard]] Error wrap(std::string_view context) const {
    return Error{code, std::string(context) + ": " + message};
  }
};

// Builds an Error from an errno value: message is "what: strerror(err)".
Error errno_error(std::string code, std::string_view what, int err);

template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Expected(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  [[nodiscard]] const Error& error() const {
    assert(!has_value());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

// Expected<void>: success or an Error.
template <>
class [[nodiscard]] Expected<void> {
 public:
  Expected() = default;
  Expected(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  [[nodiscard]] bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  [[nodiscard]] const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Expected<void>;

}  // namespace ferry
