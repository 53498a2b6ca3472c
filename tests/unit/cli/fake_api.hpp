// An Api, an AcsApi and a Console for unit tests: the APIs answer from a handler and record
// every call, the Console writes to strings.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "ferry/cli/acs_api.hpp"
#include "ferry/cli/api.hpp"
#include "ferry/cli/console.hpp"

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

class FakeAcsApi : public AcsApi {
 public:
  using Handler = std::function<Expected<nlohmann::json>(const std::string& action,
                                                         const AcsParamList& params)>;
  explicit FakeAcsApi(Handler handler) : handler_(std::move(handler)) {}

  Expected<nlohmann::json> call(const std::string& action, const AcsParamList& params) override {
    calls.emplace_back(action, params);
    return handler_(action, params);
  }

  std::vector<std::pair<std::string, AcsParamList>> calls;

 private:
  Handler handler_;
};

// A FakeApi that gives every call this reply / this error.
inline FakeApi answering(nlohmann::json reply) {
  return FakeApi(
      [reply = std::move(reply)](
          const std::string&, const nlohmann::json&) -> Expected<nlohmann::json> { return reply; });
}

inline FakeApi failing(std::string code, std::string message) {
  return FakeApi([code = std::move(code), message = std::move(message)](
                     const std::string&, const nlohmann::json&) -> Expected<nlohmann::json> {
    return Error{code, message};
  });
}

// A Console over two string streams, neither of them a terminal.
struct CapturedConsole {
  std::ostringstream out;
  std::ostringstream err;
  Console console{out, err, false, false};
};

}  // namespace ferry::cli::test
