#include "ferry/cli/commands.hpp"

#include "ferry/cli/output_follow.hpp"
#include "ferry/core/base64.hpp"

namespace ferry::cli {

nlohmann::json filter(const char* name, const std::string& value) {
  return nlohmann::json{{"Name", name}, {"Values", nlohmann::json::array({value})}};
}

void print_json(Console& console, const nlohmann::json& value) {
  console.out << value.dump(2) << "\n" << std::flush;
}

const nlohmann::json& set_of(const nlohmann::json& response, const char* key) {
  static const nlohmann::json empty = nlohmann::json::array();
  if (response.contains(key) && response[key].is_array()) {
    return response[key];
  }
  return empty;
}

void print_table(Console& console, const Table& table) {
  console.out << render_table(table, table_style(console)) << std::flush;
}

Expected<int> exit_status(const Expected<nlohmann::json>& reply) {
  if (!reply) {
    return reply.error();
  }
  return 0;
}

Expected<nlohmann::json> describe_and_print(Api& api, const char* action,
                                            const nlohmann::json& params, bool json,
                                            const char* set_key,
                                            Table (*table_of)(const nlohmann::json&),
                                            Console& console) {
  auto r = api.call(action, params);
  if (!r) {
    return r.error();
  }
  if (json) {
    print_json(console, *r);
  } else {
    print_table(console, table_of(set_of(*r, set_key)));
  }
  return r;
}

TableStyle table_style(const Console& console) {
  return console.out_is_tty ? TableStyle::kAligned : TableStyle::kTabs;
}

std::string json_string(const nlohmann::json& object, const char* key) {
  if (object.is_object() && object.contains(key) && object[key].is_string()) {
    return object[key].get<std::string>();
  }
  return "";
}

std::uint64_t json_count(const nlohmann::json& object, const char* key) {
  if (object.is_object() && object.contains(key) && object[key].is_number_integer() &&
      object[key].get<std::int64_t>() > 0) {
    return object[key].get<std::uint64_t>();
  }
  return 0;
}

std::string cell(const nlohmann::json& object, const char* key) {
  if (!object.is_object() || !object.contains(key)) {
    return "";
  }
  const auto& v = object[key];
  if (v.is_null()) {
    return "-";
  }
  if (v.is_string()) {
    return v.get<std::string>();
  }
  return v.dump();
}

std::string content_summary(const nlohmann::json& content, std::size_t width) {
  if (!content.is_string()) {
    return "";
  }
  auto text = base64_decode(content.get<std::string>());
  if (!text) {
    return "?";
  }
  std::string_view first(*text);
  const auto nl = first.find('\n');
  const bool more = nl != std::string_view::npos && nl + 1 < first.size();
  first = first.substr(0, nl);
  std::string line = clean_cell(first);
  if (more) {
    line += " ...";
  }
  return shorten(line, width);
}

Table tasks_table(const nlohmann::json& task_set) {
  Table t;
  t.headers = {"TASK", "INSTANCE", "STATUS", "EXIT", "INVOCATION", "CREATED"};
  for (const auto& task : task_set) {
    // ExitCode is 0 until there is one: shown for the statuses that come with one.
    std::string exit_code = "-";
    const std::string status = json_string(task, "TaskStatus");
    if ((status == "SUCCESS" || status == "FAILED") && task.contains("TaskResult") &&
        task["TaskResult"].is_object()) {
      exit_code = cell(task["TaskResult"], "ExitCode");
    }
    t.rows.push_back({cell(task, "InvocationTaskId"), cell(task, "InstanceId"),
                      cell(task, "TaskStatus"), exit_code, cell(task, "InvocationId"),
                      cell(task, "CreatedTime")});
  }
  return t;
}

Table invocations_table(const nlohmann::json& invocation_set) {
  Table t;
  t.headers = {"INVOCATION", "STATUS", "TASKS", "COMMAND", "CREATED", "CONTENT"};
  for (const auto& inv : invocation_set) {
    std::size_t tasks = 0;
    if (inv.contains("InvocationTaskBasicInfoSet") &&
        inv["InvocationTaskBasicInfoSet"].is_array()) {
      tasks = inv["InvocationTaskBasicInfoSet"].size();
    }
    t.rows.push_back({cell(inv, "InvocationId"), cell(inv, "InvocationStatus"),
                      std::to_string(tasks), cell(inv, "CommandId"), cell(inv, "CreatedTime"),
                      content_summary(inv.value("CommandContent", nlohmann::json()))});
  }
  return t;
}

Table commands_table(const nlohmann::json& command_set) {
  Table t;
  t.headers = {"COMMAND", "NAME", "TYPE", "TIMEOUT", "CREATED", "CONTENT"};
  for (const auto& c : command_set) {
    t.rows.push_back({cell(c, "CommandId"), cell(c, "CommandName"), cell(c, "CommandType"),
                      cell(c, "Timeout"), cell(c, "CreatedTime"),
                      content_summary(c.value("Content", nlohmann::json()))});
  }
  return t;
}

Table instances_table(const nlohmann::json& instance_set) {
  Table t;
  t.headers = {"INSTANCE", "NAME", "STATUS", "SYSTEM", "HOST", "IP", "REGISTERED"};
  for (const auto& i : instance_set) {
    t.rows.push_back({cell(i, "InstanceId"), cell(i, "InstanceName"), cell(i, "Status"),
                      cell(i, "SystemName"), cell(i, "HostName"), cell(i, "LocalIp"),
                      cell(i, "CreatedTime")});
  }
  return t;
}

Expected<int> tasks_command(Api& api, const TasksOptions& options, Console& console) {
  nlohmann::json params{{"Limit", options.limit}, {"HideOutput", !options.output}};
  nlohmann::json filters = nlohmann::json::array();
  if (options.invocation_id) {
    filters.push_back(filter("invocation-id", *options.invocation_id));
  }
  if (options.instance_id) {
    filters.push_back(filter("instance-id", *options.instance_id));
  }
  if (!filters.empty()) {
    params["Filters"] = std::move(filters);
  }
  auto r = describe_and_print(api, "DescribeInvocationTasks", params, options.json,
                              "InvocationTaskSet", tasks_table, console);
  if (!r) {
    return r.error();
  }
  if (options.json || !options.output) {
    return 0;
  }
  for (const auto& task : set_of(*r, "InvocationTaskSet")) {
    const nlohmann::json result = task.value("TaskResult", nlohmann::json::object());
    console.out << "\n== " << clean_cell(cell(task, "InvocationTaskId")) << " on "
                << clean_cell(cell(task, "InstanceId")) << ": "
                << clean_cell(cell(task, "TaskStatus")) << "\n";
    auto output = base64_decode(json_string(result, "Output"));
    if (!output) {
      console.out << "(the output is not valid base64)\n";
      continue;
    }
    const std::uint64_t dropped = json_count(result, "Dropped");
    if (dropped == 0) {
      console.out << *output;
    } else {
      const auto head = excerpt_head_length(*output, dropped, "");
      const std::size_t h = std::min(head.value_or(output->size() / 2), output->size());
      console.out << output->substr(0, h);
      if (h > 0 && (*output)[h - 1] != '\n') {
        console.out << "\n";
      }
      console.out << gap_marker(dropped) << "\n" << output->substr(h);
    }
    if (!output->empty() && output->back() != '\n') {
      console.out << "\n";
    }
  }
  console.out << std::flush;
  return 0;
}

Expected<int> invocations_command(Api& api, const InvocationsOptions& options, Console& console) {
  return exit_status(describe_and_print(api, "DescribeInvocations", {{"Limit", options.limit}},
                                        options.json, "InvocationSet", invocations_table, console));
}

Expected<int> commands_command(Api& api, const CommandsOptions& options, Console& console) {
  nlohmann::json params{{"Limit", options.limit}};
  if (options.name) {
    params["Filters"] = nlohmann::json::array({filter("command-name", *options.name)});
  }
  return exit_status(describe_and_print(api, "DescribeCommands", params, options.json, "CommandSet",
                                        commands_table, console));
}

Expected<int> instances_command(Api& api, const InstancesOptions& options, Console& console) {
  return exit_status(describe_and_print(api, "DescribeRegisterInstances",
                                        {{"Limit", options.limit}}, options.json,
                                        "RegisterInstanceSet", instances_table, console));
}

Expected<int> cancel_command(Api& api, const CancelOptions& options, Console& console) {
  nlohmann::json params{{"InvocationId", options.invocation_id}};
  if (!options.instances.empty()) {
    params["InstanceIds"] = options.instances;
  }
  auto r = api.call("CancelInvocation", params);
  if (!r) {
    return r.error();
  }
  if (options.json) {
    print_json(console, *r);
  } else {
    // Running tasks end TERMINATED once their agents stop them; `ferry tasks` shows it.
    console.out << "cancel requested: " << clean_cell(options.invocation_id) << "\n" << std::flush;
  }
  return 0;
}

Expected<int> register_code_create_command(Api& api, const RegisterCodeOptions& options,
                                           const std::string& endpoint, Console& console) {
  nlohmann::json params = nlohmann::json::object();
  set_if_given(params, "InstanceNamePrefix", options.name);
  set_if_given(params, "Description", options.description);
  set_if_given(params, "RegisterLimit", options.limit);
  set_if_given(params, "EffectiveTime", options.effective_hours);
  auto r = api.call("CreateRegisterCode", params);
  if (!r) {
    return r.error();
  }
  if (options.json) {
    print_json(console, *r);
    return 0;
  }
  const std::string id = clean_cell(cell(*r, "RegisterCodeId"));
  Table t;
  t.headers = {"REGISTER CODE ID", "VALUE"};
  t.rows.push_back({id, cell(*r, "RegisterCodeValue")});
  print_table(console, t);
  if (console.err_is_tty) {
    console.err << "Register an agent with it (as root, on the machine):\n"
                << "  FERRY_REGISTER_CODE=<VALUE> ferry-agent register --server "
                << clean_cell(endpoint) << " --register-code-id " << id << "\n"
                << std::flush;
  }
  return 0;
}

}  // namespace ferry::cli
