// base64 as the agent decodes Content and the server decodes outputs and keys. Properties: what
// decodes re-encodes to a text that decodes to the same bytes, and any bytes survive encode then
// decode.
#include "ferry/core/base64.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto bytes = ferry::base64_decode(text)) {
    auto again = ferry::base64_decode(ferry::base64_encode(*bytes));
    FERRY_FUZZ_CHECK(again.has_value() && *again == *bytes);
  }
  auto round = ferry::base64_decode(ferry::base64_encode(text));
  FERRY_FUZZ_CHECK(round.has_value() && *round == text);
  return 0;
}
