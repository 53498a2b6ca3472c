// An Api for unit tests: answers from a handler, records every call.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "ferry/cli/api.hpp"

namespace ferry::cli::test {

class FakeApi : public Api {
 public:
  using Handler = std::function<Expected<nlohmann::json>(const std::string& action,
                                                         const nlohmann::json& params)>;
  explicit FakeApi(Handler handler) : handler_(std::move(handler)) {}

  Expected<nlohmann::json> call(const std::string& action, const nlohmann::json& params) override {
    calls.emplace_back(action, params);
    return handler_(action, params);
  }

  [[nodiscard]] int count(const std::string& action) const {
    int n = 0;
    for (const auto& c : calls) {
      n += c.first == action ? 1 : 0;
    }
    return n;
  }

  std::vector<std::pair<std::string, nlohmann::json>> calls;

 private:
  Handler handler_;
};

}  // namespace ferry::cli::test
