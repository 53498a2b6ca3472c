// The configuration readers of both daemons: a file's JSON text, then one key and a value as a
// command-line flag or an environment variable gives them (parts, fuzz_input.hpp). The agent
// reads its file from disk, so the text is written to a file in a private temporary directory.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "ferry/agent/commands.hpp"
#include "ferry/core/config_layers.hpp"
#include "ferry/server/config.hpp"
#include "fuzz_input.hpp"

namespace {

const std::filesystem::path& config_file() {
  static const std::filesystem::path file = [] {
    std::string dir = (std::filesystem::temp_directory_path() / "ferry-fuzz-config-XXXXXX");
    if (::mkdtemp(dir.data()) == nullptr) {
      ferry::fuzz::property_failed("mkdtemp");
    }
    // The directory goes when the process ends (a fuzzer ends by exit or by a crash).
    static const std::string to_remove = dir;
    std::atexit([] { std::filesystem::remove_all(to_remove); });
    return std::filesystem::path(dir) / "ferry-agent.json";
  }();
  return file;
}

// An environment holding one variable.
ferry::config::EnvironmentLookup only(std::string variable, std::string_view value) {
  return [variable = std::move(variable),
          value = std::string(value)](std::string_view name) -> std::optional<std::string> {
    if (name == variable) {
      return value;
    }
    return std::nullopt;
  };
}

void agent(std::string_view text, std::string_view key, std::string_view value) {
  {
    std::ofstream out(config_file(), std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  (void)ferry::agent::load_agent_config(config_file(), ferry::agent::default_agent_config());
  (void)ferry::agent::apply_agent_flag(ferry::agent::default_agent_config(), key, value);
  (void)ferry::agent::apply_agent_environment(
      ferry::agent::default_agent_config(), only(ferry::config::environment_variable(key), value));
}

void server(std::string_view text, std::string_view key, std::string_view value) {
  ferry::server::ServerConfig config;
  const auto json = nlohmann::json::parse(text, nullptr, false);
  if (!json.is_discarded() && ferry::server::apply_server_config_json(json, config)) {
    (void)ferry::server::validate_server_config(config);
  }
  ferry::server::ServerConfig from_environment;
  if (ferry::server::apply_server_environment(only(ferry::config::environment_variable(key), value),
                                              from_environment)) {
    (void)ferry::server::validate_server_config(from_environment);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ferry::fuzz::Parts parts(data, size);
  const auto text = parts.next();
  const auto key = parts.next();
  const auto value = parts.next();
  agent(text, key, value);
  server(text, key, value);
  return 0;
}
