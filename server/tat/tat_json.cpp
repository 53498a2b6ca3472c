#include "ferry/server/tat/tat_json.hpp"

#include <ctime>
#include <nlohmann/json.hpp>

#include "ferry/core/base64.hpp"
#include "ferry/core/output_excerpt.hpp"
#include "ferry/core/time.hpp"
#include "ferry/server/api/json_writer.hpp"
#include "ferry/server/domain/invocations.hpp"
#include "ferry/server/domain/parameter_rules.hpp"
#include "ferry/server/hidden_parameters.hpp"

namespace ferry::server {
namespace {

nlohmann::json tags_to_json(const std::vector<Tag>& tags) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : tags) {
    out.push_back({{"Key", t.key}, {"Value", t.value}});
  }
  return out;
}

// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil inverse),
// for days >= 0.
void civil_from_days(int64_t days, int64_t& year, unsigned& month, unsigned& day) {
  days += 719468;
  const int64_t era = days / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year = static_cast<int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0);
}

void put2(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

}  // namespace

std::string_view format_time(int64_t ms, TimeText& buf) {
  if (ms == 0) {
    return {};
  }
  // Years 1970 to 9999 by arithmetic: gmtime_r and strftime take glibc's time zone lock, and
  // a page of tasks formats hundreds of times. Other times keep the strftime spelling.
  constexpr int64_t kYear10000Ms = 253402300800000;
  if (ms > 0 && ms < kYear10000Ms) {
    const int64_t secs = ms / 1000;
    const int64_t days = secs / 86400;
    const auto sod = static_cast<unsigned>(secs % 86400);
    int64_t year = 0;
    unsigned month = 0;
    unsigned day = 0;
    civil_from_days(days, year, month, day);
    static constexpr std::string_view kPattern = "0000-00-00T00:00:00+00:00";
    char* out = buf.data();
    kPattern.copy(out, kPattern.size());
    const auto y = static_cast<unsigned>(year);
    put2(out, y / 100);
    put2(out + 2, y % 100);
    put2(out + 5, month);
    put2(out + 8, day);
    put2(out + 11, sod / 3600);
    put2(out + 14, sod / 60 % 60);
    put2(out + 17, sod % 60);
    return {out, kPattern.size()};
  }
  const std::time_t t = ms / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  const std::size_t n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%S+00:00", &tm);
  return {buf.data(), n};
}

std::string format_time(int64_t ms) {
  TimeText buf;
  return std::string(format_time(ms, buf));
}

nlohmann::json nullable_time(int64_t ms) {
  return ms == 0 ? nlohmann::json(nullptr) : nlohmann::json(format_time(ms));
}

nlohmann::json command_to_json(const Command& c) {
  nlohmann::json confs = nlohmann::json::array();
  for (const auto& d : c.default_parameter_confs) {
    confs.push_back({{"ParameterName", d.name},
                     {"ParameterValue", d.value},
                     {"ParameterDescription", d.description}});
  }
  // The model has both forms, and shows both whichever was given: defaults given as
  // DefaultParameters (a JSON object of strings, checked when stored) are also confs without
  // descriptions, in the names' order.
  if (confs.empty() && !c.default_parameters.empty()) {
    if (auto given = domain::parse_parameter_object("DefaultParameters", c.default_parameters)) {
      for (const auto& [name, value] : *given) {
        confs.push_back(
            {{"ParameterName", name}, {"ParameterValue", value}, {"ParameterDescription", ""}});
      }
    }
  }
  return nlohmann::json{{"CommandId", c.command_id},
                        {"CommandName", c.command_name},
                        {"Description", c.description},
                        {"FormattedDescription", ""},
                        {"CreatedBy", c.created_by},
                        {"Content", c.content},
                        {"CommandType", c.command_type},
                        {"WorkingDirectory", c.working_directory},
                        {"Timeout", c.timeout},
                        {"EnableParameter", c.enable_parameter},
                        {"DefaultParameters", c.default_parameters},
                        {"DefaultParameterConfs", std::move(confs)},
                        {"Scenes", nlohmann::json::array()},
                        {"Username", c.username},
                        {"OutputCOSBucketUrl", c.output_cos_bucket_url},
                        {"OutputCOSKeyPrefix", c.output_cos_key_prefix},
                        {"Tags", tags_to_json(c.tags)},
                        {"CreatedTime", format_time(c.created_ms)},
                        {"UpdatedTime", format_time(c.updated_ms)}};
}

nlohmann::json invocation_to_json(const domain::InvocationSummary& s) {
  const Invocation& inv = s.invocation;
  nlohmann::json basics = nlohmann::json::array();
  for (const auto& t : s.tasks) {
    basics.push_back({{"InvocationTaskId", t.invocation_task_id},
                      {"TaskStatus", std::string(to_string(t.status))},
                      {"InstanceId", t.instance_id}});
  }
  return nlohmann::json{
      {"InvocationId", inv.invocation_id},
      {"CommandId", inv.command_id},
      {"CommandName", inv.command_name},
      {"InvocationStatus", std::string(s.status)},
      {"InvocationTaskBasicInfoSet", std::move(basics)},
      {"Description", inv.description},
      {"StartTime", format_time(s.start_ms)},
      {"EndTime", nullable_time(s.end_ms)},
      {"CreatedTime", format_time(inv.created_ms)},
      {"UpdatedTime", format_time(s.updated_ms)},
      // Hidden parameters' values are masked (hidden_parameters.hpp).
      {"Parameters", shown_parameters(inv.parameters, inv.command_content)},
      {"DefaultParameters", shown_parameters(inv.default_parameters, inv.command_content)},
      {"InstanceKind", domain::kInstanceKind},  // every invocation's (older ones stored CVM)
      {"Username", inv.username},
      {"InvocationSource", inv.invocation_source},
      {"CommandContent", inv.command_content},
      {"CommandType", inv.command_type},
      {"Timeout", inv.timeout},
      {"WorkingDirectory", inv.working_directory},
      {"OutputCOSBucketUrl", inv.output_cos_bucket_url},
      {"OutputCOSKeyPrefix", inv.output_cos_key_prefix}};
}

void write_invocation_task(JsonWriter& w, const InvocationTask& t,
                           const std::optional<std::string>& live_log) {
  TimeText time;
  const auto time_field = [&](std::string_view name, int64_t ms) {
    w.field(name, format_time(ms, time));
  };
  // The times the model allows to be null ("may return null": not known yet) are null then.
  const auto nullable_time_field = [&](std::string_view name, int64_t ms) {
    w.key(name);
    if (ms == 0) {
      w.null();
    } else {
      w.string(format_time(ms, time));
    }
  };
  std::string live_output;
  uint64_t dropped = t.dropped;
  if (live_log) {
    const auto excerpt = make_output_excerpt(*live_log, *live_log, live_log->size());
    live_output = base64_encode(excerpt.bytes);
    dropped = excerpt.dropped;
  }
  w.begin_object();
  w.key("CommandDocument");
  w.begin_object();
  w.field("CommandType", t.document.command_type);
  w.field("Content", t.document.content);
  w.field("OutputCOSBucketUrl", t.document.output_cos_bucket_url);
  w.field("OutputCOSKeyPrefix", t.document.output_cos_key_prefix);
  w.field("Timeout", t.document.timeout);
  w.field("Username", t.document.username);
  w.field("WorkingDirectory", t.document.working_directory);
  w.end_object();
  w.field("CommandId", t.command_id);
  w.field("CommandName", t.command_name);
  time_field("CreatedTime", t.created_ms);
  nullable_time_field("EndTime", t.end_ms);
  w.field("ErrorInfo", t.error_info);
  w.field("InstanceId", t.instance_id);
  w.field("InvocationId", t.invocation_id);
  w.field("InvocationSource", t.invocation_source);
  w.field("InvocationTaskId", t.invocation_task_id);
  nullable_time_field("StartTime", t.start_ms);
  w.key("TaskResult");
  w.begin_object();
  w.key("Dropped");
  w.unsigned_integer(dropped);
  nullable_time_field("ExecEndTime", t.exec_end_ms);
  nullable_time_field("ExecStartTime", t.exec_start_ms);
  // A number, as the model says (a typed SDK cannot decode null there): 0 until the agent
  // reports an exit status, as the cloud shows it; TaskStatus tells whether there is one.
  w.key("ExitCode");
  w.integer(t.exit_code.value_or(0));
  w.field("Output", live_log ? live_output : t.output);
  w.field("OutputUploadCOSErrorInfo", t.output_upload_error);
  w.field("OutputUrl", t.output_url);
  w.end_object();
  w.field("TaskStatus", to_string(t.status));
  time_field("UpdatedTime", t.updated_ms);
  w.end_object();
}

nlohmann::json register_code_to_json(const RegisterCode& c) {
  return nlohmann::json{{"RegisterCodeId", c.register_code_id},
                        {"Description", c.description},
                        {"InstanceNamePrefix", c.instance_name_prefix},
                        {"RegisterLimit", c.register_limit},
                        {"ExpiredTime", nullable_time(c.expired_ms)},
                        {"IpAddressRange", c.ip_address_range},
                        {"Enabled", c.enabled},
                        {"RegisteredCount", c.registered_count},
                        {"CreatedTime", nullable_time(c.created_ms)},
                        {"UpdatedTime", nullable_time(c.updated_ms)}};
}

namespace {

// The invoker models' time form, "2026-12-07T03:00:00Z"; "" for 0.
std::string z_time(int64_t ms) {
  return ms == 0 ? std::string() : ms_to_rfc3339(ms);
}

}  // namespace

nlohmann::json invoker_to_json(const Invoker& i) {
  const InvokerSchedule& s = i.schedule;
  nlohmann::json schedule{{"Policy", s.policy},
                          {"Recurrence", s.recurrence},
                          {"InvokeTime", z_time(i.enabled ? i.next_slot_ms : s.invoke_time_ms)}};
  if (s.start_time_ms != 0) {
    schedule["StartTime"] = z_time(s.start_time_ms);
  }
  if (s.end_time_ms != 0) {
    schedule["EndTime"] = z_time(s.end_time_ms);
  }
  return nlohmann::json{{"InvokerId", i.invoker_id},
                        {"Name", i.name},
                        {"Type", i.type},
                        {"CommandId", i.command_id},
                        {"Username", i.username},
                        {"Parameters", i.parameters},
                        {"InstanceIds", i.instance_ids},
                        {"Enable", i.enabled},
                        {"ScheduleSettings", std::move(schedule)},
                        {"CreatedTime", z_time(i.created_ms)},
                        {"UpdatedTime", z_time(i.updated_ms)},
                        {"Tags", tags_to_json(i.tags)}};
}

nlohmann::json invoker_record_to_json(const InvokerRecord& r) {
  return nlohmann::json{{"InvokerId", r.invoker_id},
                        {"InvokeTime", z_time(r.invoke_ms)},
                        {"Reason", r.reason},
                        {"InvocationId", r.invocation_id},
                        {"Result", r.result}};
}

nlohmann::json instance_to_json(const domain::InstanceView& v) {
  const RegisterInstance& inst = v.instance;
  return nlohmann::json{{"RegisterCodeId", inst.register_code_id},
                        {"InstanceId", inst.instance_id},
                        {"InstanceName", inst.instance_name},
                        {"MachineId", inst.machine_id},
                        {"SystemName", inst.system_name},
                        {"HostName", inst.host_name},
                        {"LocalIp", inst.local_ip},
                        {"PublicKey", inst.public_key},
                        {"Status", std::string(domain::presence_name(v.online))},
                        {"CreatedTime", format_time(inst.created_ms)},
                        {"UpdatedTime", format_time(inst.updated_ms)},
                        {"Tags", tags_to_json(inst.tags)}};
}

nlohmann::json agent_status_to_json(const domain::InstanceView& v) {
  const RegisterInstance& inst = v.instance;
  return nlohmann::json{{"InstanceId", inst.instance_id},
                        {"Version", inst.agent_version},
                        {"LastHeartbeatTime", nullable_time(inst.last_heartbeat_ms)},
                        {"AgentStatus", std::string(domain::presence_name(v.online))},
                        {"Environment", domain::environment_of(inst)},
                        {"SupportFeatures", inst.support_features}};
}

}  // namespace ferry::server
