// The output excerpt (TaskResult.Output): an output fed in chunks (the parts of the input, see
// fuzz_input.hpp), with a limit taken from the first byte. Properties: the excerpt holds at most
// `limit` bytes, its size plus Dropped is the whole output, a short output is kept whole, and
// the streaming form agrees with make_output_excerpt over the same output.
#include <string>

#include "ferry/core/output_excerpt.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::size_t limit = 2 + data[0] % 64;
  ferry::fuzz::Parts parts(data + 1, size - 1);
  ferry::HeadTailCapture capture(limit);
  std::string whole;
  while (!parts.rest().empty()) {
    const auto chunk = parts.next();
    capture.append(chunk);
    whole.append(chunk);
  }
  const auto excerpt = capture.excerpt();
  FERRY_FUZZ_CHECK(capture.total() == whole.size());
  FERRY_FUZZ_CHECK(excerpt.bytes.size() <= limit);
  FERRY_FUZZ_CHECK(excerpt.bytes.size() + excerpt.dropped == whole.size());
  if (whole.size() <= limit) {
    FERRY_FUZZ_CHECK(excerpt.bytes == whole);
  }
  const auto direct = ferry::make_output_excerpt(whole, whole, whole.size(), limit);
  FERRY_FUZZ_CHECK(direct.bytes == excerpt.bytes && direct.dropped == excerpt.dropped);
  return 0;
}
