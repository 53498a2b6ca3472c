// What the agent reads out of a script and a task before it executes anything: the `#!` line,
// the command line split into arguments, the Launcher.
#include "ferry/core/script_command.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)ferry::parse_shebang(text);
  if (auto args = ferry::split_command_line(text)) {
    for (const auto& arg : *args) {
      FERRY_FUZZ_CHECK(arg.size() <= text.size());
    }
  }
  (void)ferry::parse_launcher(text);
  return 0;
}
