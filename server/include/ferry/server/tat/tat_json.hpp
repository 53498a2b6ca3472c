// The TAT API's JSON of the models: times in the seeds' form, commands, invocations, tasks,
// register codes and instances, field for field as the SDK's models name them.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/server/domain/instances.hpp"
#include "ferry/server/domain/invocation_listings.hpp"
#include "ferry/server/model.hpp"

namespace ferry::server {

class JsonWriter;

// "2020-11-02T02:48:11+00:00", the seeds' form; "" for 0.
std::string format_time(int64_t ms);
// The same text in `buf`, without an allocation (for replies that format hundreds of times).
using TimeText = std::array<char, 40>;
std::string_view format_time(int64_t ms, TimeText& buf);
// The same as JSON, null for 0: the model's times that "may return null" (not known yet).
nlohmann::json nullable_time(int64_t ms);

nlohmann::json command_to_json(const Command& c);
nlohmann::json invocation_to_json(const domain::InvocationSummary& s);
// An InvocationTask of DescribeInvocationTasks, written straight into the reply. `live_log` is
// the output the agent streamed so far, for tasks still running (nullopt: the stored result).
void write_invocation_task(JsonWriter& w, const InvocationTask& t,
                           const std::optional<std::string>& live_log);
nlohmann::json register_code_to_json(const RegisterCode& c);
nlohmann::json instance_to_json(const domain::InstanceView& v);
// An Invoker of DescribeInvokers: its ScheduleSettings.InvokeTime is the next time it fires (for
// RECURRENCE too, as the model says), "" when it has none. Times in the model's Z form.
nlohmann::json invoker_to_json(const Invoker& i);
nlohmann::json invoker_record_to_json(const InvokerRecord& r);
// An AutomationAgentInfo of DescribeAutomationAgentStatus.
nlohmann::json agent_status_to_json(const domain::InstanceView& v);

}  // namespace ferry::server
