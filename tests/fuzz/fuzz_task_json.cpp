// The agent's task decoder: a task as the server sends it (DescribeTasks, the journal's copy),
// then the script prepared from it (base64, parameters), the launcher and the file content.
// Properties: a task that parses survives its own JSON form unchanged.
#include <nlohmann/json.hpp>

#include "ferry/core/script_command.hpp"
#include "ferry/core/task.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto task = ferry::parse_task_json(text);
  if (!task) {
    return 0;
  }
  auto again = ferry::parse_task(ferry::to_json(*task));
  FERRY_FUZZ_CHECK(again.has_value());
  FERRY_FUZZ_CHECK(*again == *task);
  (void)ferry::prepare_script(*task);
  (void)ferry::file_content(*task);
  if (!task->launcher.empty()) {
    (void)ferry::parse_launcher(task->launcher);
  }
  return 0;
}
