#include "store_contract.hpp"

namespace ferry::test::contract {

void require_ok(const Status& s) {
  if (!s) {
    FAIL(s.error().code << ": " << s.error().message);
  }
}

std::string error_code(const Status& s) {
  return s ? std::string("OK") : s.error().code;
}

namespace {

// Created and last updated at `ms`.
template <typename T>
T stamped(T item, int64_t ms) {
  item.created_ms = ms;
  item.updated_ms = ms;
  return item;
}

}  // namespace

Command make_command(const std::string& id, const std::string& name, int64_t created_ms) {
  Command c;
  c.command_id = id;
  c.command_name = name;
  c.description = "d-" + id;
  c.content = "ZWNobyBoaQ==";
  c.working_directory = "/tmp";
  c.timeout = 30;
  c.enable_parameter = true;
  c.default_parameters = R"({"a":"1"})";
  c.default_parameter_confs = {{"a", "1", "first"}, {"b", "", ""}};
  c.username = "root";
  c.output_cos_bucket_url = "https://bucket.example";
  c.output_cos_key_prefix = "logs";
  c.tags = {{"env", "prod"}, {"team", "a"}};
  return stamped(std::move(c), created_ms);
}

Invocation make_invocation(const std::string& id, const std::string& command_id,
                           int64_t created_ms) {
  Invocation i;
  i.invocation_id = id;
  i.command_id = command_id;
  i.command_name = "name-" + command_id;
  i.parameters = R"({"a":"2"})";
  i.command_content = "ZWNobyBoaQ==";
  return stamped(std::move(i), created_ms);
}

InvocationTask make_task(const std::string& id, const std::string& invocation_id,
                         const std::string& instance_id, int64_t created_ms) {
  InvocationTask t;
  t.invocation_task_id = id;
  t.invocation_id = invocation_id;
  t.command_id = "cmd-x";
  t.command_name = "x";
  t.instance_id = instance_id;
  t.document.content = "ZWNobyBoaQ==";
  t.document.timeout = 10;
  t.document.username = "nobody";
  t.parameters = "{}";
  t.output = "b3V0cHV0";
  return stamped(std::move(t), created_ms);
}

RegisterCode make_code(const std::string& id, int64_t limit) {
  RegisterCode c;
  c.register_code_id = id;
  c.value_hash = "hash-" + id;
  c.description = "code";
  c.instance_name_prefix = "web";
  c.register_limit = limit;
  c.ip_address_range = "10.0.0.0/8";
  return stamped(std::move(c), 1000);
}

RegisterInstance make_instance(const std::string& id, const std::string& code_id,
                               int64_t created_ms) {
  RegisterInstance i;
  i.instance_id = id;
  i.register_code_id = code_id;
  i.instance_name = "web-" + id;
  i.machine_id = "m-" + id;
  i.system_name = "Linux";
  i.host_name = "h-" + id;
  i.local_ip = "10.0.0.1";
  i.public_key = "key-" + id;  // one key per instance, as agents make them
  i.tags = {{"env", "prod"}};
  return stamped(std::move(i), created_ms);
}

RegistrationCheck make_check(const std::string& code_id, int64_t now_ms) {
  RegistrationCheck c;
  c.register_code_id = code_id;
  c.value_hash = "hash-" + code_id;
  c.now_ms = now_ms;
  return c;
}

Invoker make_invoker(const std::string& id, const std::string& command_id, int64_t next_slot_ms,
                     int64_t created_ms) {
  Invoker i;
  i.invoker_id = id;
  i.name = "n-" + id;
  i.command_id = command_id;
  i.username = "root";
  i.parameters = R"({"a":"3"})";
  i.instance_ids = {"rins-b", "rins-a"};
  i.schedule.policy = "RECURRENCE";
  i.schedule.recurrence = "*/5 * * * *";
  i.schedule.start_time_ms = 500;
  i.schedule.end_time_ms = 9'000'000;
  i.tags = {{"env", "prod"}, {"team", "b"}};
  i.next_slot_ms = next_slot_ms;
  return stamped(std::move(i), created_ms);
}

void add_task(Store& store, const std::string& instance_id) {
  require_ok(store.insert_invocation(std::nullopt, make_invocation("inv-1", "cmd-1"),
                                     {make_task("invt-1", "inv-1", instance_id)}));
}

void add_instance(Store& store, const std::string& id) {
  const std::string code = "rc-for-" + id;
  require_ok(store.insert_register_code(make_code(code, 1)));
  require_ok(store.register_instance(make_check(code), make_instance(id, code)));
}

namespace {

template <typename T, typename Id>
std::vector<std::string> ids(const Page<T>& page, Id id) {
  std::vector<std::string> out;
  for (const auto& item : page.items) {
    out.push_back(item.*id);
  }
  return out;
}

}  // namespace

std::vector<std::string> ids_of(const Page<Command>& page) {
  return ids(page, &Command::command_id);
}

std::vector<std::string> ids_of(const Page<InvocationTask>& page) {
  return ids(page, &InvocationTask::invocation_task_id);
}

std::vector<std::string> ids_of(const Page<Invocation>& page) {
  return ids(page, &Invocation::invocation_id);
}

std::vector<std::string> ids_of(const Page<RegisterInstance>& page) {
  return ids(page, &RegisterInstance::instance_id);
}

std::vector<std::string> ids_of(const Page<Invoker>& page) {
  return ids(page, &Invoker::invoker_id);
}

std::vector<std::string> ids_of(const std::vector<Invoker>& invokers) {
  std::vector<std::string> out;
  for (const auto& i : invokers) {
    out.push_back(i.invoker_id);
  }
  return out;
}

}  // namespace ferry::test::contract
