// The agent's journal record (tasks/<id>/journal.json), read back at every start: a record that
// a crash, a full disk or another hand left in any shape must be refused cleanly, never crash
// the daemon that would then never start. Property: a record that parses survives its own JSON
// form unchanged.
#include <nlohmann/json.hpp>

#include "ferry/agent/journal.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded()) {
    return 0;
  }
  auto record = ferry::agent::parse_journal_record(json);
  if (!record) {
    return 0;
  }
  auto again = ferry::agent::parse_journal_record(ferry::agent::to_json(*record));
  FERRY_FUZZ_CHECK(again.has_value());
  FERRY_FUZZ_CHECK(*again == *record);
  return 0;
}
