// ferry-server's configuration: one struct, read once from a JSON file and the command line,
// then handed by reference to what needs it. Keys are the field names below; an unknown key or
// a value of the wrong type is refused with a message naming the key, so a typo never passes
// silently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ferry/core/config_layers.hpp"
#include "ferry/core/error.hpp"
#include "ferry/server/acs/acs_dialect.hpp"
#include "ferry/server/api/api_credential.hpp"
#include "ferry/server/cos/output_buckets.hpp"
#include "ferry/server/domain/context.hpp"
#include "ferry/server/gateway/agent_gateway.hpp"
#include "ferry/server/gateway/push_hub.hpp"
#include "ferry/server/gateway/sweeper.hpp"
#include "ferry/server/http_server.hpp"
#include "ferry/server/outputs/output_store.hpp"
#include "ferry/server/tat/tat_dialect.hpp"

namespace ferry::server {

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";
  // HOST:PORT of the Prometheus metrics (GET /metrics), a listener of its own; "": off.
  std::string metrics_listen;
  std::string data_dir;  // required (here or --data-dir)
  bool allow_plain_http = false;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string log_level = "info";  // trace, debug, info, warn, error, critical, off
  std::string log_file;            // empty: stderr (the journal under systemd)
  int64_t log_max_size_mib = 10;   // the file is rotated past this
  int64_t log_max_files = 5;       // rotated files kept

  // API credentials ({"SecretId", "SecretKey"} in the file). None: a pair is made and kept in
  // DATA_DIR/credentials.json.
  std::vector<ApiCredential> credentials;
  double rate_limit = 20;  // per SecretId and action, requests per second; 0: off
  double rate_burst = 30;
  // Failed agent authentications per source address (GatewayOptions); 0: off.
  double agent_auth_failure_rate = 1;
  double agent_auth_failure_burst = 20;
  // The regions the TAT API serves, {"Region", "RegionName"} objects or plain region strings;
  // empty: any (a self-hosted server has no regions of its own).
  std::vector<Region> regions;
  // The RegionIds the Cloud Assistant API serves; empty: any.
  std::vector<std::string> acs_regions;
  std::string account_id;
  int64_t command_quota = 500;
  int64_t register_code_quota = 100;
  int64_t max_run_instances = 200;
  // The zone in which invokers' crontabs are read: an IANA name ("Europe/Berlin"), "UTC" or
  // "GMT+8:00".
  std::string schedule_time_zone = "UTC";

  // Agents and tasks.
  int64_t heartbeat_interval_s = 60;
  int64_t online_window_s = 90;  // seen this recently without a socket: still online
  int64_t max_clock_skew_s = 300;
  int64_t deliver_timeout_s = 3600;
  int64_t task_timeout_grace_s = 60;
  int64_t sweep_interval_ms = 1000;

  // Transport and storage.
  std::size_t io_threads = 0;  // 0: one per core
  std::size_t max_connections = 10000;
  std::size_t max_connections_per_source = 256;
  std::size_t max_body_bytes = 1024 * 1024;
  int64_t ws_idle_timeout_s = 60;
  std::size_t sqlite_max_connections = 8;
  // The store: "" for SQLite in DATA_DIR/ferry.db, or a postgresql://USER@HOST:PORT/DB URL
  // (without a password: check_postgres_url). The password comes from
  // database_password_file (one line), else libpq's PGPASSWORD or ~/.pgpass.
  std::string database;
  std::string database_password_file;
  std::size_t pg_max_connections = 8;

  // Output buckets (config_buckets.cpp). The credentials the server presigns uploads with, by
  // bucket URL (its normal form) or "default"; secrets: never logged.
  cos::BucketCredentialsConfig buckets;
  // HOST:PORT of stores that may be reached over http (also --allow-http-bucket-host).
  std::vector<std::string> allow_http_bucket_hosts;
  int64_t output_url_ttl_s = cos::kDefaultUrlTtlSeconds;  // presigned URLs' lifetime
  // The server's own store of complete outputs, for tasks that name no bucket.
  std::string output_dir;                                     // "": DATA_DIR/outputs
  std::size_t output_store_max_bytes = std::size_t{1} << 30;  // over every output; 0: no store
  int64_t output_retention_days = 7;
};

// Read when --config is not given and it exists.
inline constexpr const char* kDefaultServerConfigFile = "/etc/ferry/ferry-server.json";

// Reads `json` over the defaults in `config`, each value checked alone (type and range).
// InvalidParameterValue naming the key.
Status apply_server_config_json(const nlohmann::json& json, ServerConfig& config);
// The same from a file; the messages start with the file's path.
Status load_server_config_file(const std::filesystem::path& file, ServerConfig& config);
// Every key's FERRY_<KEY> variable that `environment` holds, read by the rules of
// config::ValueKind; the messages start with the variable's name.
Status apply_server_environment(const config::EnvironmentLookup& environment, ServerConfig& config);
// Every check again and those across keys, after the file, the variables and the command line
// were applied.
Status validate_server_config(const ServerConfig& config);

// Where the configuration comes from before the command line: defaults < file < variables.
struct ServerConfigSources {
  std::optional<std::filesystem::path> file;                      // --config: must exist
  std::filesystem::path default_file = kDefaultServerConfigFile;  // read if it exists
  config::EnvironmentLookup environment;                          // none: no variables
};
// The file (config::choose_config_file), then the variables, over `config`. Callable again
// (SIGHUP) with the same sources; the flags and validate_server_config come after it.
Status load_server_config(const ServerConfigSources& sources, ServerConfig& config);

// Every key the file takes, sorted.
std::vector<std::string> server_config_keys();

// Creates `dir` (and parents) with mode 0700 when missing. An existing directory is kept as it
// is, but one that others can write is refused.
Status ensure_data_dir(const std::filesystem::path& dir);

struct StoredCredential {
  ApiCredential credential;
  std::filesystem::path file;
  bool created = false;  // made now (the caller prints the path once)
};
// DATA_DIR/credentials.json ({"SecretId","SecretKey"}, mode 0600): read when it exists, else
// a new pair (SecretId "AKID" + 32 alphanumerics, SecretKey 40 alphanumerics) is written there.
Expected<StoredCredential> load_or_create_credentials(const std::filesystem::path& data_dir);

// The pieces of the configuration each component takes. `environment` is the AWS_* fallback
// of the bucket credentials (cos::process_environment() in ferry-server; none by default).
HttpServerOptions http_server_options(const ServerConfig& config);
// The metrics listener's: the API's TLS and plain-HTTP rules on metrics_listen, no WebSocket.
HttpServerOptions metrics_server_options(const ServerConfig& config);
TatOptions tat_options(const ServerConfig& config);
AcsOptions acs_options(const ServerConfig& config);
ServerSettings server_settings(const ServerConfig& config, cos::EnvironmentLookup environment = {});
AgentAuthOptions agent_auth_options(const ServerConfig& config);
GatewayOptions gateway_options(const ServerConfig& config);
PushHubOptions push_hub_options(const ServerConfig& config);
SweeperOptions sweeper_options(const ServerConfig& config);
OutputStoreOptions output_store_options(const ServerConfig& config);

// Output buckets (config_buckets.cpp): the settings the domain and the gateway take.
cos::OutputBuckets output_buckets(const ServerConfig& config, cos::EnvironmentLookup environment);
// A warning to log at start when `file` holds bucket secrets (`buckets`) and its group or others
// may read it (the server still starts); nullopt otherwise.
std::optional<std::string> config_file_exposure_warning(const std::filesystem::path& file,
                                                        const ServerConfig& config);

}  // namespace ferry::server
