#include "ferry/cli/invokers.hpp"

#include <set>

#include "ferry/cli/commands.hpp"
#include "ferry/cli/params.hpp"
#include "ferry/core/error_codes.hpp"

namespace ferry::cli {
namespace {

// object[key], or null when object is not an object or has no such member.
nlohmann::json member(const nlohmann::json& object, const char* key) {
  if (object.is_object() && object.contains(key)) {
    return object[key];
  }
  return nullptr;
}

// EnableInvoker, DisableInvoker, DeleteInvoker: {InvokerId} in, {} out.
Expected<int> invoker_action(Api& api, const char* action, const char* done,
                             const InvokerIdOptions& options, Console& console) {
  auto r = api.call(action, {{"InvokerId", options.invoker_id}});
  if (!r) {
    return r.error();
  }
  if (options.json) {
    print_json(console, *r);
  } else {
    console.out << done << ": " << clean_cell(options.invoker_id) << "\n" << std::flush;
  }
  return 0;
}

}  // namespace

Expected<nlohmann::json> tags_json(const std::vector<std::string>& tags) {
  nlohmann::json out = nlohmann::json::array();
  std::set<std::string> keys;
  for (const auto& text : tags) {
    const auto eq = text.find('=');
    const std::string shown = text.substr(0, 80);
    if (eq == std::string::npos) {
      return Error{codes::kInvalidParameterValue,
                   "--tag " + shown + ": expected KEY=VALUE (no '=' found)"};
    }
    if (eq == 0) {
      return Error{codes::kInvalidParameterValue,
                   "--tag " + shown + ": expected KEY=VALUE (the key is empty)"};
    }
    std::string key = text.substr(0, eq);
    if (!keys.insert(key).second) {
      return Error{codes::kInvalidParameterValue, "--tag " + key + ": given twice"};
    }
    out.push_back({{"Key", std::move(key)}, {"Value", text.substr(eq + 1)}});
  }
  // A key or value that is not valid UTF-8 is an error here rather than an exception later.
  try {
    (void)out.dump();
  } catch (const nlohmann::json::exception&) {
    return Error{codes::kInvalidParameterValue, "--tag: a key or value is not valid UTF-8"};
  }
  return out;
}

Expected<nlohmann::json> create_invoker_params(const InvokerCreateOptions& options) {
  if (options.at && options.cron) {
    return Error{codes::kInvalidParameter, "give --at (run once) or --cron (recurring), not both"};
  }
  if (!options.at && !options.cron) {
    return Error{codes::kMissingParameter,
                 "no schedule: give --at TIME (run once, RFC 3339) or --cron 'MIN HOUR DOM MON "
                 "DOW' (recurring)"};
  }
  if (options.at && (options.start || options.end)) {
    return Error{codes::kInvalidParameter,
                 "--start and --end bound a --cron schedule; --at runs once"};
  }
  nlohmann::json schedule;
  if (options.at) {
    schedule = {{"Policy", "ONCE"}, {"InvokeTime", *options.at}};
  } else {
    schedule = {{"Policy", "RECURRENCE"}, {"Recurrence", *options.cron}};
    set_if_given(schedule, "StartTime", options.start);
    set_if_given(schedule, "EndTime", options.end);
  }
  nlohmann::json params{{"Name", options.name.value_or(options.command_id)},
                        {"Type", "SCHEDULE"},
                        {"CommandId", options.command_id},
                        {"InstanceIds", options.instances},
                        {"ScheduleSettings", std::move(schedule)}};
  set_if_given(params, "Username", options.username);
  if (!options.params.empty()) {
    auto p = parameters_json(options.params);
    if (!p) {
      return p.error();
    }
    params["Parameters"] = std::move(*p);
  }
  if (!options.tags.empty()) {
    auto t = tags_json(options.tags);
    if (!t) {
      return t.error();
    }
    params["Tags"] = std::move(*t);
  }
  return params;
}

std::string schedule_summary(const nlohmann::json& schedule_settings) {
  const std::string policy = json_string(schedule_settings, "Policy");
  if (policy == "RECURRENCE") {
    std::string text = "cron " + json_string(schedule_settings, "Recurrence");
    if (const auto start = json_string(schedule_settings, "StartTime"); !start.empty()) {
      text += " from " + start;
    }
    if (const auto end = json_string(schedule_settings, "EndTime"); !end.empty()) {
      text += " until " + end;
    }
    return text;
  }
  if (policy == "ONCE") {
    return "at " + json_string(schedule_settings, "InvokeTime");
  }
  return policy.empty() ? "-" : policy;
}

std::string instances_summary(const nlohmann::json& instance_ids) {
  if (!instance_ids.is_array() || instance_ids.empty()) {
    return "-";
  }
  const auto& first = instance_ids.front();
  std::string text = first.is_string() ? first.get<std::string>() : first.dump();
  if (instance_ids.size() > 1) {
    text += " +" + std::to_string(instance_ids.size() - 1);
  }
  return text;
}

Table invokers_table(const nlohmann::json& invoker_set) {
  Table t;
  t.headers = {"INVOKER", "NAME", "ENABLED", "SCHEDULE", "COMMAND", "INSTANCES", "CREATED"};
  for (const auto& i : invoker_set) {
    t.rows.push_back({cell(i, "InvokerId"), cell(i, "Name"), cell(i, "Enable"),
                      schedule_summary(member(i, "ScheduleSettings")), cell(i, "CommandId"),
                      instances_summary(member(i, "InstanceIds")), cell(i, "CreatedTime")});
  }
  return t;
}

Table invoker_records_table(const nlohmann::json& record_set) {
  Table t;
  t.headers = {"INVOKER", "INVOKED", "RESULT", "INVOCATION", "REASON"};
  for (const auto& r : record_set) {
    t.rows.push_back({cell(r, "InvokerId"), cell(r, "InvokeTime"), cell(r, "Result"),
                      cell(r, "InvocationId"), cell(r, "Reason")});
  }
  return t;
}

Expected<int> invokers_create_command(Api& api, const InvokerCreateOptions& options,
                                      Console& console) {
  auto params = create_invoker_params(options);
  if (!params) {
    return params.error();
  }
  auto r = api.call("CreateInvoker", *params);
  if (!r) {
    return r.error();
  }
  if (options.json) {
    print_json(console, *r);
    return 0;
  }
  const std::string id = json_string(*r, "InvokerId");
  if (id.empty()) {
    return Error{"", "CreateInvoker: the reply has no InvokerId"};
  }
  console.out << clean_cell(id) << "\n" << std::flush;
  return 0;
}

Expected<int> invokers_list_command(Api& api, const InvokersListOptions& options,
                                    Console& console) {
  nlohmann::json params{{"Limit", options.limit}};
  if (options.command_id) {
    params["Filters"] = nlohmann::json::array({filter("command-id", *options.command_id)});
  }
  return exit_status(describe_and_print(api, "DescribeInvokers", params, options.json, "InvokerSet",
                                        invokers_table, console));
}

Expected<int> invokers_enable_command(Api& api, const InvokerIdOptions& options, Console& console) {
  return invoker_action(api, "EnableInvoker", "enabled", options, console);
}

Expected<int> invokers_disable_command(Api& api, const InvokerIdOptions& options,
                                       Console& console) {
  return invoker_action(api, "DisableInvoker", "disabled", options, console);
}

Expected<int> invokers_delete_command(Api& api, const InvokerIdOptions& options, Console& console) {
  return invoker_action(api, "DeleteInvoker", "deleted", options, console);
}

Expected<int> invokers_records_command(Api& api, const InvokerRecordsOptions& options,
                                       Console& console) {
  nlohmann::json params{{"Limit", options.limit}};
  if (!options.invoker_ids.empty()) {
    params["InvokerIds"] = options.invoker_ids;
  }
  return exit_status(describe_and_print(api, "DescribeInvokerRecords", params, options.json,
                                        "InvokerRecordSet", invoker_records_table, console));
}

}  // namespace ferry::cli
