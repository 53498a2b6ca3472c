// ferry: the command-line client of ferry-server's public API. This file only turns the command
// line into calls of ferry::cli (cli/include/ferry/cli); see docs/operations.md for the usage.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ferry/cli/acs_api.hpp"
#include "ferry/cli/acs_run.hpp"
#include "ferry/cli/api.hpp"
#include "ferry/cli/commands.hpp"
#include "ferry/cli/config.hpp"
#include "ferry/cli/invokers.hpp"
#include "ferry/cli/output.hpp"
#include "ferry/cli/run.hpp"

namespace {

using ferry::cli::Console;

constexpr int kUsageError = 2;

std::atomic<int> g_interrupts{0};
static_assert(std::atomic<int>::is_always_lock_free, "used from a signal handler");

extern "C" void on_interrupt(int /*sig*/) {
  g_interrupts.fetch_add(1);
}

// Ctrl-C during `ferry run` stops the waiting, not the process: the loop sees it, says how to
// cancel the command and exits. No SA_RESTART, so a sleeping poll wakes up.
void catch_interrupts() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  ::sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
}

void sleep_unless_interrupted(std::chrono::milliseconds d) {
  const int seen = g_interrupts.load();
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end && g_interrupts.load() == seen) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int usage_error(const std::string& message) {
  std::cerr << "ferry: " << message << " (try --help)\n";
  return kUsageError;
}

// A failure before anything was sent: ferry's own message, no API code.
int local_error(const ferry::Error& e) {
  std::cerr << "ferry: " << e.message << "\n";
  return kUsageError;
}

int api_error(const ferry::Error& e) {
  std::cerr << "ferry: " << ferry::cli::describe_error(e) << "\n";
  return 1;
}

// `ferry output`: to stdout, or to the -o file, which is put in place only when all went well.
ferry::Expected<int> run_output(ferry::cli::Api& api, const ferry::cli::OutputOptions& options,
                                const std::optional<std::string>& file, Console& console) {
  ferry::cli::OutputHooks hooks;
  hooks.download = [](const std::string& url, const ferry::cli::ByteSink& sink) {
    return ferry::cli::download_url(url, sink, ferry::cli::DownloadOptions{});
  };
  hooks.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  // --json prints the first reply, not the output: no file then.
  if (!file || options.json) {
    const ferry::cli::ByteSink to_stdout = [&console](std::string_view bytes) -> ferry::Status {
      console.out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      if (!console.out) {
        return ferry::Error{"", "writing to stdout failed"};
      }
      return {};
    };
    auto r = ferry::cli::output_command(api, options, to_stdout, console, hooks);
    console.out.flush();
    return r;
  }
  auto out = ferry::cli::OutputFile::create(*file);
  if (!out) {
    return out.error();
  }
  const ferry::cli::ByteSink to_file = [&out](std::string_view bytes) { return out->write(bytes); };
  auto r = ferry::cli::output_command(api, options, to_file, console, hooks);
  if (!r) {
    return r;
  }
  if (auto s = out->close(); !s) {
    return s.error();
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "ferry: runs commands on machines through ferry-server's public API (TAT 2020-10-28).\n"
      "Endpoint and credentials: flags, FERRY_* environment variables, or a JSON config file\n"
      "(--config, $FERRY_CONFIG, ~/.config/ferry/config.json), in that order."};
  app.set_version_flag("--version", std::string("ferry ") + FERRY_VERSION);
  app.require_subcommand(1);
  // Global options may also follow the subcommand (`ferry tasks --json`).
  app.fallthrough();

  // Options bound to a std::optional stay empty unless given.
  ferry::cli::ConfigValues flags;
  std::optional<std::string> config_file;
  bool allow_plain_http = false;
  bool json = false;
  app.add_option("--endpoint", flags.endpoint,
                 "API endpoint, https://HOST[:PORT] ($FERRY_ENDPOINT)");
  app.add_option("--secret-id", flags.secret_id, "SecretId ($FERRY_SECRET_ID)");
  app.add_option("--secret-key", flags.secret_key,
                 "SecretKey ($FERRY_SECRET_KEY; a file or the environment keeps it out of `ps`)");
  app.add_option("--credentials-file", flags.credentials_file,
                 "JSON file {\"SecretId\", \"SecretKey\"}, as ferry-server writes to DATA_DIR/"
                 "credentials.json ($FERRY_CREDENTIALS_FILE)");
  app.add_option("--region", flags.region, "X-TC-Region ($FERRY_REGION; default ap-guangzhou)");
  app.add_option("--ca-file", flags.ca_file,
                 "PEM CA certificates to verify the server with ($FERRY_CA_FILE)");
  auto* o_plain = app.add_flag("--allow-plain-http", allow_plain_http,
                               "Allow http:// to an address that is not loopback");
  app.add_option("--config", config_file, "Config file (JSON; $FERRY_CONFIG)");
  app.add_flag("--json", json, "Print the API's Response as JSON instead of a table");

  // ferry run
  ferry::cli::RunOptions run_options;
  std::vector<std::string> script_words;
  std::string script_file;
  auto* run = app.add_subcommand(
      "run", "Run a command on instances, show its output live, exit with its exit code");
  run->add_option("-i,--instance", run_options.instances, "Instance id (repeat, or a,b,c)")
      ->required()
      ->allow_extra_args(false)
      ->delimiter(',');
  run->add_option("--user", run_options.username, "Run as this user (default root)");
  run->add_option("--cwd", run_options.working_directory,
                  "Working directory (default the user's home)");
  run->add_option("--timeout", run_options.timeout, "Timeout in seconds (default 60)");
  run->add_option("--param", run_options.params,
                  "NAME=VALUE for {{NAME}} in the script (repeat); turns on parameters and the "
                  "{{ACS::...}} built-ins")
      ->allow_extra_args(false);
  run->add_option("--type", run_options.command_type, "SHELL (default), POWERSHELL or BAT")
      ->check(CLI::IsMember({"SHELL", "POWERSHELL", "BAT"}, CLI::ignore_case));
  auto* o_file = run->add_option("--file", script_file, "Read the script from this file")
                     ->check(CLI::ExistingFile);
  run->add_option("script", script_words,
                  "The script, after --: one quoted argument (several are joined by spaces)");
  run->add_flag("--no-wait", run_options.no_wait, "Print the invocation id and return at once");
  run->add_flag("--cancel-on-interrupt", run_options.cancel_on_interrupt,
                "Ctrl-C cancels the command (and a second one stops waiting)");
  // Cloud Assistant settings: any of them sends the run through the Cloud Assistant API.
  run->add_option("--repeat", run_options.repeat_mode,
                  "Once (default), Period (with --frequency), NextRebootOnly or EveryReboot "
                  "(Cloud Assistant)");
  run->add_option("--frequency", run_options.frequency,
                  "Schedule of a Period run: 'rate(5m)', 'at(2026-12-07 10:00:00 UTC)' or a Quartz "
                  "cron '0/10 * * * * ?' (Cloud Assistant)");
  run->add_option("--launcher", run_options.launcher,
                  "Start the script with this command line, e.g. "
                  "'python3 {{ACS::ScriptFileName|Ext(\".py\")}}' (Cloud Assistant)");
  run->add_option("--termination-mode", run_options.termination_mode,
                  "What a timeout or a stop kills: ProcessTree (default) or Process (Cloud "
                  "Assistant)");
  run->add_option("--container", run_options.container,
                  "Run in this container: an id (docker://..., or 12-64 hex digits) or a name "
                  "(Cloud Assistant)");
  run->add_flag("--follow", run_options.follow,
                "A schedule (--frequency, --repeat): wait for its next run and follow it (by "
                "default ferry prints the invocation id and returns)");

  // Listings and the rest.
  ferry::cli::TasksOptions tasks_options;
  auto* tasks = app.add_subcommand("tasks", "List invocation tasks, newest first");
  tasks->add_option("--invocation", tasks_options.invocation_id, "Only this invocation's tasks");
  tasks->add_option("-i,--instance", tasks_options.instance_id, "Only this instance's tasks");
  tasks->add_option("--limit", tasks_options.limit, "At most this many (1..100)")
      ->capture_default_str();
  tasks->add_flag("--output", tasks_options.output, "Print each task's output too");

  ferry::cli::InvocationsOptions invocations_options;
  auto* invocations = app.add_subcommand("invocations", "List invocations, newest first");
  invocations->add_option("--limit", invocations_options.limit, "At most this many (1..100)")
      ->capture_default_str();

  ferry::cli::CommandsOptions commands_options;
  auto* commands = app.add_subcommand("commands", "List saved commands");
  commands->add_option("--name", commands_options.name, "Only commands of this name");
  commands->add_option("--limit", commands_options.limit, "At most this many (1..100)")
      ->capture_default_str();

  ferry::cli::InstancesOptions instances_options;
  auto* instances = app.add_subcommand("instances", "List registered instances");
  instances->add_option("--limit", instances_options.limit, "At most this many (1..100)")
      ->capture_default_str();

  ferry::cli::CancelOptions cancel_options;
  auto* cancel = app.add_subcommand(
      "cancel",
      "Cancel an invocation (running tasks end TERMINATED); a Cloud Assistant schedule ends "
      "(StopInvocation). Also: ferry stop");
  cancel->alias("stop");
  cancel->add_option("invocation", cancel_options.invocation_id, "The InvocationId (inv-...)")
      ->required();
  cancel->add_option("-i,--instance", cancel_options.instances, "Only on this instance (repeat)")
      ->allow_extra_args(false)
      ->delimiter(',');

  ferry::cli::RegisterCodeOptions code_options;
  auto* register_code = app.add_subcommand("register-code", "Register codes for agents");
  register_code->require_subcommand(1);
  auto* code_create = register_code->add_subcommand(
      "create", "Make a register code (prints its id and its value, the secret)");
  code_create->add_option("--name", code_options.name,
                          "Name prefix of the instances it registers (InstanceNamePrefix)");
  code_create->add_option("--description", code_options.description, "Description");
  code_create->add_option("--limit", code_options.limit, "How many instances it may register (10)");
  code_create->add_option("--effective-hours", code_options.effective_hours,
                          "Hours it stays valid (EffectiveTime, default 4)");

  // ferry output: one task's complete output.
  ferry::cli::OutputOptions output_options;
  std::optional<std::string> output_file;
  auto* output = app.add_subcommand(
      "output",
      "Print a task's complete output, byte for byte (exit 3 when only an excerpt is known)");
  output->add_option("task", output_options.task_id, "The InvocationTaskId (invt-...)")->required();
  output->add_option("-o,--output-file", output_file,
                     "Write it to this file (mode 0600) instead of stdout");

  // ferry invokers: scheduled runs of saved commands.
  ferry::cli::InvokerCreateOptions invoker_create_options;
  ferry::cli::InvokersListOptions invokers_list_options;
  ferry::cli::InvokerIdOptions invoker_enable_options;
  ferry::cli::InvokerIdOptions invoker_disable_options;
  ferry::cli::InvokerIdOptions invoker_delete_options;
  ferry::cli::InvokerRecordsOptions invoker_records_options;
  auto* invokers = app.add_subcommand(
      "invokers", "Run saved commands on a schedule: once at a time, or on a crontab");
  invokers->require_subcommand(1);
  auto* invoker_create = invokers->add_subcommand(
      "create", "Make an invoker (prints its id); give --at or --cron. It starts enabled");
  invoker_create
      ->add_option("--command-id", invoker_create_options.command_id,
                   "The saved command to run (cmd-...)")
      ->required();
  invoker_create
      ->add_option("-i,--instance", invoker_create_options.instances,
                   "Instance id (repeat, or a,b,c)")
      ->required()
      ->allow_extra_args(false)
      ->delimiter(',');
  invoker_create->add_option("--at", invoker_create_options.at,
                             "Run once at this time, RFC 3339 (2026-12-07T10:00:00+08:00)");
  invoker_create->add_option(
      "--cron", invoker_create_options.cron,
      "Run on this 5-field crontab, quoted: 'MIN HOUR DOM MON DOW' (the server's time zone)");
  invoker_create->add_option("--start", invoker_create_options.start,
                             "With --cron: not before this time (RFC 3339)");
  invoker_create->add_option("--end", invoker_create_options.end,
                             "With --cron: not after this time (RFC 3339)");
  invoker_create->add_option("--name", invoker_create_options.name,
                             "Name (default: the command id)");
  invoker_create->add_option("--user", invoker_create_options.username,
                             "Run as this user (default the command's)");
  invoker_create
      ->add_option("--param", invoker_create_options.params,
                   "NAME=VALUE for the command's {{NAME}} (repeat)")
      ->allow_extra_args(false);
  invoker_create->add_option("--tag", invoker_create_options.tags, "KEY=VALUE tag (repeat)")
      ->allow_extra_args(false);
  auto* invokers_list = invokers->add_subcommand("list", "List invokers");
  invokers_list->add_option("--command-id", invokers_list_options.command_id,
                            "Only the invokers of this command");
  invokers_list->add_option("--limit", invokers_list_options.limit, "At most this many (1..100)")
      ->capture_default_str();
  auto* invoker_enable = invokers->add_subcommand("enable", "Enable an invoker");
  invoker_enable
      ->add_option("invoker", invoker_enable_options.invoker_id, "The InvokerId (ivk-...)")
      ->required();
  auto* invoker_disable =
      invokers->add_subcommand("disable", "Disable an invoker (it runs nothing until enabled)");
  invoker_disable
      ->add_option("invoker", invoker_disable_options.invoker_id, "The InvokerId (ivk-...)")
      ->required();
  auto* invoker_delete = invokers->add_subcommand("delete", "Delete an invoker");
  invoker_delete
      ->add_option("invoker", invoker_delete_options.invoker_id, "The InvokerId (ivk-...)")
      ->required();
  auto* invoker_records = invokers->add_subcommand(
      "records", "What invokers ran when: the invocation each started, or why none");
  invoker_records->add_option("invoker", invoker_records_options.invoker_ids,
                              "Only these InvokerIds (ivk-...; default every invoker's)");
  invoker_records
      ->add_option("--limit", invoker_records_options.limit, "At most this many (1..100)")
      ->capture_default_str();

  if (argc <= 1) {
    std::cerr << app.help();
    return kUsageError;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      return app.exit(e);  // --help, --version
    }
    // CLI11 says "A subcommand is required" for a misspelt one; name it instead.
    const std::string first = argv[1];
    const auto& subs = app.get_subcommands({});
    if (!first.starts_with("-") && std::none_of(subs.begin(), subs.end(), [&](const CLI::App* sub) {
          return sub->check_name(first);
        })) {
      return usage_error(std::string("unknown command ") + argv[1]);
    }
    return usage_error(e.what());
  }

  // Where to send requests, with what keys.
  const auto env = ferry::cli::process_env();
  if (o_plain->count() > 0) {
    flags.allow_plain_http = allow_plain_http;
  }
  auto from_env = ferry::cli::config_from_env(env);
  if (!from_env) {
    return local_error(from_env.error());
  }
  ferry::cli::ConfigValues from_file;
  std::string file_label = "the config file (~/.config/ferry/config.json)";
  if (auto choice = ferry::cli::choose_config_file(config_file, env)) {
    file_label = "the config file " + choice->path.string();
    auto loaded = ferry::cli::load_config_file(choice->path);
    if (!loaded) {
      return local_error(loaded.error());
    }
    from_file = std::move(*loaded);
  }
  auto config = ferry::cli::resolve_config(flags, *from_env, from_file, file_label);
  if (!config) {
    return local_error(config.error());
  }
  const std::string endpoint_text = config->endpoint.base_url();

  // --json is global; every command's options carry it.
  for (bool* json_of :
       {&run_options.json, &tasks_options.json, &invocations_options.json, &commands_options.json,
        &instances_options.json, &cancel_options.json, &code_options.json,
        &invoker_create_options.json, &invokers_list_options.json, &invoker_enable_options.json,
        &invoker_disable_options.json, &invoker_delete_options.json, &invoker_records_options.json,
        &output_options.json}) {
    *json_of = json;
  }

  Console console{std::cout, std::cerr, ::isatty(STDOUT_FILENO) == 1, ::isatty(STDERR_FILENO) == 1};
  try {
    ferry::cli::HttpAcsApi acs(*config);
    ferry::cli::HttpApi api(std::move(*config));
    ferry::Expected<int> result = 0;
    if (*run) {
      if (o_file->count() > 0 && !script_words.empty()) {
        return usage_error("run: give the script after -- or --file, not both");
      }
      if (o_file->count() > 0) {
        std::ifstream in(script_file, std::ios::binary);
        std::stringstream text;
        text << in.rdbuf();
        if (!in) {
          return usage_error("run: cannot read " + script_file);
        }
        run_options.content = text.str();
      } else {
        if (script_words.empty()) {
          return usage_error("run: no script: give it after -- (quoted) or with --file");
        }
        std::string joined;
        for (const auto& w : script_words) {
          joined += (joined.empty() ? "" : " ") + w;
        }
        run_options.content = joined;
      }
      // --type is checked case-insensitively; the API wants it in capitals.
      std::transform(run_options.command_type.begin(), run_options.command_type.end(),
                     run_options.command_type.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      // Everything that can be checked without the server is a usage error.
      const bool cloud_assistant = ferry::cli::uses_cloud_assistant(run_options);
      if (cloud_assistant) {
        if (auto p = ferry::cli::acs_run_command_params(run_options); !p) {
          return local_error(p.error());
        }
      } else if (auto p = ferry::cli::run_command_params(run_options); !p) {
        return local_error(p.error());
      }
      catch_interrupts();
      const ferry::cli::RunHooks hooks{sleep_unless_interrupted, [] { return g_interrupts.load(); },
                                       [] { return std::chrono::steady_clock::now(); }};
      result = cloud_assistant ? ferry::cli::acs_run_command(api, acs, run_options, console, hooks)
                               : ferry::cli::run_command(api, run_options, console, hooks);
    } else if (*tasks) {
      result = ferry::cli::tasks_with_schedule_command(api, acs, tasks_options, console);
    } else if (*invocations) {
      result = ferry::cli::invocations_command(api, invocations_options, console);
    } else if (*commands) {
      result = ferry::cli::commands_command(api, commands_options, console);
    } else if (*instances) {
      result = ferry::cli::instances_command(api, instances_options, console);
    } else if (*cancel) {
      result = ferry::cli::stop_or_cancel_command(api, acs, cancel_options, console);
    } else if (*code_create) {
      result = ferry::cli::register_code_create_command(api, code_options, endpoint_text, console);
    } else if (*output) {
      result = run_output(api, output_options, output_file, console);
    } else if (*invoker_create) {
      // Everything that can be checked without the server is a usage error.
      if (auto p = ferry::cli::create_invoker_params(invoker_create_options); !p) {
        return local_error(p.error());
      }
      result = ferry::cli::invokers_create_command(api, invoker_create_options, console);
    } else if (*invokers_list) {
      result = ferry::cli::invokers_list_command(api, invokers_list_options, console);
    } else if (*invoker_enable) {
      result = ferry::cli::invokers_enable_command(api, invoker_enable_options, console);
    } else if (*invoker_disable) {
      result = ferry::cli::invokers_disable_command(api, invoker_disable_options, console);
    } else if (*invoker_delete) {
      result = ferry::cli::invokers_delete_command(api, invoker_delete_options, console);
    } else if (*invoker_records) {
      result = ferry::cli::invokers_records_command(api, invoker_records_options, console);
    }
    if (!result) {
      return api_error(result.error());
    }
    return *result;
  } catch (const std::exception& e) {
    // A reply of an unexpected shape (nlohmann::json type errors): say so rather than abort.
    std::cerr << "ferry: unexpected reply: " << e.what() << "\n";
    return 1;
  }
}
