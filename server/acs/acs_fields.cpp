#include "acs_fields.hpp"

namespace ferry::server::acs {

template <typename T>
T AcsFields::take(Expected<T> read, T fallback) {
  if (!ok()) {
    return fallback;
  }
  if (!read) {
    fail(read.error());
    return fallback;
  }
  return std::move(*read);
}

std::optional<std::string> AcsFields::opt_string(std::string_view name) {
  return ok() ? params_.opt_string(name) : std::nullopt;
}

std::string AcsFields::req_string(std::string_view name) {
  return take(params_.req_string(name));
}

std::optional<int64_t> AcsFields::opt_int(std::string_view name) {
  return take(params_.opt_int(name));
}

std::optional<bool> AcsFields::opt_bool(std::string_view name) {
  return take(params_.opt_bool(name));
}

std::optional<std::vector<std::string>> AcsFields::opt_list(std::string_view name,
                                                            std::size_t max) {
  auto list = take(params_.opt_list(name, max));
  if (list.empty()) {
    return std::nullopt;
  }
  return list;
}

std::optional<std::vector<AcsParams::Object>> AcsFields::opt_objects(
    std::string_view name, std::initializer_list<std::string> keys, std::size_t max) {
  auto objects = take(params_.opt_objects(name, std::vector<std::string>(keys), max));
  if (objects.empty()) {
    return std::nullopt;
  }
  for (auto& o : objects) {
    for (const auto& key : keys) {
      o.try_emplace(key);
    }
  }
  return objects;
}

void AcsFields::fail(Error error) {
  if (!error_) {
    error_ = std::move(error);
  }
}

Status AcsFields::finish() const {
  if (error_) {
    return *error_;
  }
  return {};
}

}  // namespace ferry::server::acs
