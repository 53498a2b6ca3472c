// ferry-server: the public API at "/" (TAT and Cloud Assistant dialects), the agent gateway at
// "/agent" and "/ws", the sweeper, over one SQLite store in the data directory. Everything here is
// wiring; the logic lives in the ferry::server libraries.
#include <malloc.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ferry/core/config_layers.hpp"
#include "ferry/platform/logging.hpp"
#include "ferry/server/acs/acs_actions.hpp"
#include "ferry/server/acs/acs_dialect.hpp"
#include "ferry/server/api/action_registry.hpp"
#include "ferry/server/api/api_front.hpp"
#include "ferry/server/clock.hpp"
#include "ferry/server/config.hpp"
#include "ferry/server/cos/output_buckets.hpp"
#include "ferry/server/gateway/agent_gateway.hpp"
#include "ferry/server/gateway/periodic_thread.hpp"
#include "ferry/server/gateway/push_hub.hpp"
#include "ferry/server/gateway/sweeper.hpp"
#include "ferry/server/http_server.hpp"
#include "ferry/server/metrics/server_metrics.hpp"
#include "ferry/server/outputs/output_store.hpp"
#include "ferry/server/scheduler/scheduler.hpp"
#include "ferry/server/service_loop.hpp"
#include "ferry/server/store/postgres_store.hpp"
#include "ferry/server/store/sqlite_store.hpp"
#include "ferry/server/tat/output_actions.hpp"
#include "ferry/server/tat/tat_actions.hpp"
#include "ferry/server/tat/tat_dialect.hpp"

namespace fs = std::filesystem;
using namespace ferry::server;

namespace {

constexpr int kExitConfig = 2;
constexpr int kExitFailure = 1;

std::string path_of(const std::string& target) {
  const auto q = target.find('?');
  return q == std::string::npos ? target : target.substr(0, q);
}

// "127.0.0.1:0" -> "127.0.0.1", "[::1]:8080" -> "[::1]".
std::string listen_host(const std::string& listen) {
  const auto colon = listen.rfind(':');
  return colon == std::string::npos ? listen : listen.substr(0, colon);
}

// The PostgreSQL database of `database` (the URL holds no password; the password file's content
// is never logged).
ferry::Expected<PostgresOptions> postgres_options(const ServerConfig& config,
                                                  StoreObserver& observer) {
  PostgresOptions pg;
  pg.url = config.database;
  pg.max_connections = config.pg_max_connections;
  pg.observer = &observer;
  if (!config.database_password_file.empty()) {
    auto password =
        ferry::config::read_secret_file(config.database_password_file, "the database password");
    if (!password) {
      return password.error();
    }
    pg.password = std::move(*password);
  }
  return pg;
}

// SQLite in the data directory, or the PostgreSQL database of `pg`.
ferry::Expected<std::unique_ptr<Store>> open_store(const ServerConfig& config,
                                                   const std::optional<PostgresOptions>& pg,
                                                   const Clock& clock, StoreObserver& observer) {
  if (!pg) {
    const fs::path file = fs::path(config.data_dir) / "ferry.db";
    SqliteOptions sqlite;
    sqlite.max_connections = config.sqlite_max_connections;
    sqlite.observer = &observer;
    auto store = open_sqlite_store(file, clock, sqlite);
    if (!store) {
      return store.error();
    }
    spdlog::info("store: SQLite {}", file.string());
    return store;
  }
  auto store = open_postgres_store(*pg, clock);
  if (!store) {
    return store.error();
  }
  spdlog::info("store: PostgreSQL {}", config.database);
  return store;
}

// How this server reaches the others on its database: LISTEN/NOTIFY on PostgreSQL; nobody on
// SQLite, where it is alone.
ferry::Expected<std::unique_ptr<PeerNotifier>> open_peers(
    const std::optional<PostgresOptions>& pg) {
  if (!pg) {
    return std::unique_ptr<PeerNotifier>(std::make_unique<NoPeerNotifier>());
  }
  return open_postgres_peer_notifier(*pg);
}

int run(const ServerConfig& config, const ferry::platform::ServiceManagerSettings& manager,
        ServerConfigReloader& reloader) {
  const fs::path data_dir = config.data_dir;
  if (auto s = ensure_data_dir(data_dir); !s) {
    spdlog::critical("data directory: {}", s.error().message);
    return kExitFailure;
  }
  ServerConfig effective = config;
  if (effective.credentials.empty()) {
    auto stored = load_or_create_credentials(data_dir);
    if (!stored) {
      spdlog::critical("API credentials: {}", stored.error().message);
      return kExitFailure;
    }
    if (stored->created) {
      std::cout << "ferry-server: new API credentials (SecretId, SecretKey) written to "
                << stored->file.string() << std::endl;
    }
    spdlog::info("API credentials from {}", stored->file.string());
    effective.credentials.push_back(std::move(stored->credential));
  }

  SystemClock clock;
  // Fed from the start (the store's calls); served only when metrics_listen is set.
  ServerMetrics metrics;
  std::optional<PostgresOptions> pg;
  if (!effective.database.empty()) {
    auto options = postgres_options(effective, metrics);
    if (!options) {
      spdlog::critical("store: {}", options.error().message);
      return kExitFailure;
    }
    pg = std::move(*options);
  }
  auto store = open_store(effective, pg, clock, metrics);
  if (!store) {
    spdlog::critical("store: {}", store.error().message);
    return kExitFailure;
  }

  // Complete outputs of the tasks that name no bucket; past the retention they go, at start and
  // hourly.
  auto outputs = OutputStore::open(output_store_options(effective), clock);
  if (!outputs) {
    spdlog::critical("output store: {}", outputs.error().message);
    return kExitFailure;
  }
  if ((*outputs)->enabled()) {
    spdlog::info("output store in {}: {} bytes held, cap {} bytes, retention {} days",
                 (*outputs)->options().dir.string(), (*outputs)->total_bytes(),
                 (*outputs)->options().max_bytes, (*outputs)->options().retention_days);
  } else {
    spdlog::info("output store disabled (output_store_max_bytes 0)");
  }
  PeriodicThread output_retention("output store retention", std::chrono::hours(1),
                                  [&outputs]() -> ferry::Status {
                                    if (auto removed = (*outputs)->remove_expired(); !removed) {
                                      return removed.error();
                                    }
                                    return {};
                                  });

  // The bucket credentials fall back to the AWS_* variables the server was started with.
  const ServerSettings settings = server_settings(effective, cos::process_environment());
  for (const auto& [bucket, credentials] : settings.output_buckets.credentials) {
    spdlog::info("output bucket credentials for {}", bucket);  // the name only, never the keys
  }
  auto peers = open_peers(pg);
  if (!peers) {
    spdlog::critical("store: {}", peers.error().message);
    return kExitFailure;
  }
  AgentAuthenticator auth(**store, clock, agent_auth_options(effective));
  // The push hub keeps this server's sockets and its share of the presence in the store, and
  // reaches the agents on other servers' sockets through the peers; the sweeper asks it where
  // agents are.
  auto hub =
      std::make_shared<PushHub>(auth, **store, clock, push_hub_options(effective), peers->get());
  // The scheduler fires invokers' slots; the domain wakes it when a schedule changes.
  Scheduler scheduler;
  ServerContext ctx{**store, clock, settings, *hub, *hub, scheduler};

  // The public API: the TAT dialect (the first added answers what no dialect claims).
  ActionRegistry tat_actions;
  register_tat_actions(tat_actions, ctx);
  // A bucket's output is read back through a presigned GET, like its upload.
  const DownloadLinkMaker download_link =
      [&ctx](const InvocationTask& t) -> ferry::Expected<DownloadLink> {
    auto get =
        cos::presign_output_download(ctx.settings.output_buckets, t.document.output_cos_bucket_url,
                                     t.document.output_cos_key_prefix, t.invocation_id,
                                     t.invocation_task_id, ctx.clock.now_ms() / 1000);
    if (!get) {
      return get.error();
    }
    return DownloadLink{get->url, ctx.settings.output_buckets.url_ttl_s};
  };
  register_output_actions(tat_actions, ctx, OutputActionDeps{outputs->get(), download_link});
  // The Cloud Assistant dialect after it, with the same credentials; its nonces are kept in the
  // store, so that every server on one database refuses a replay.
  AcsActionRegistry acs_actions;
  register_acs_actions(acs_actions, ctx);
  StoreAcsNonces acs_nonces(**store);
  auto api = std::make_shared<ApiFront>();
  auto tat_dialect = std::make_unique<TatDialect>(tat_options(effective), clock, tat_actions);
  auto acs_dialect =
      std::make_unique<AcsDialect>(acs_options(effective), clock, acs_actions, acs_nonces);
  // SIGHUP applies new rate limits to both dialects (the API front owns them from here on).
  reloader.set_apply([tat = tat_dialect.get(), acs = acs_dialect.get()](const ServerConfig& c) {
    tat->set_rate_limit(c.rate_limit, c.rate_burst);
    acs->set_rate_limit(c.rate_limit, c.rate_burst);
  });
  api->add_dialect(std::move(tat_dialect));
  api->add_dialect(std::move(acs_dialect));

  GatewayOptions gateway_opts = gateway_options(effective);
  gateway_opts.on_agent_seen = [hub](const std::string& id, int64_t now_ms) {
    hub->note_seen(id, now_ms);
  };
  gateway_opts.on_agent_stopped = [hub](const std::string& id) { hub->agent_stopped(id); };
  gateway_opts.output_store = outputs->get();
  AgentGateway gateway(ctx, auth, std::move(gateway_opts));
  Sweeper sweeper(**store, clock, *hub, *hub, sweeper_options(effective));

  const auto route = [&api, &gateway](const HttpRequest& request, RequestOutcome& outcome) {
    const std::string path = path_of(request.target);
    if (path == "/") {
      return api->handle(request, outcome);
    }
    if (path == "/agent") {
      HttpResponse response = gateway.handle(request, outcome);
      // An agent's connection is kept out of the per-source cap once it has signed a request.
      response.trusted_peer = outcome.agent_authenticated;
      return response;
    }
    return api->error_response(
        HttpError{HttpErrorKind::kNotFound,
                  "no endpoint " + path + ": the API is at /, agents use /agent and /ws"},
        &request);
  };
  HttpHandler router = [&route, &metrics](const HttpRequest& request) {
    const auto started = std::chrono::steady_clock::now();
    RequestOutcome outcome;
    HttpResponse response = route(request, outcome);
    metrics.count_request(outcome, std::chrono::steady_clock::now() - started);
    return response;
  };
  auto server = HttpServer::start(http_server_options(effective), router, hub, api);
  if (!server) {
    spdlog::critical("cannot listen on {}: {}", effective.listen, server.error().message);
    return kExitFailure;
  }
  metrics.set_sources(MetricsSources{
      [&hub] { return hub->connection_count(); },
      [&server] { return (*server)->connection_count(); },
      [&hub] { return hub->unwritten_contacts(); },
      store->get(),
  });
  // Its own listener, so that the API's port never shows them and a firewall can tell them apart.
  std::unique_ptr<HttpServer> metrics_server;
  if (!effective.metrics_listen.empty()) {
    auto started = HttpServer::start(
        metrics_server_options(effective),
        [&metrics](const HttpRequest& request) { return metrics.handle(request); });
    if (!started) {
      spdlog::critical("cannot listen for metrics on {}: {}", effective.metrics_listen,
                       started.error().message);
      return kExitFailure;
    }
    metrics_server = std::move(*started);
    const std::string metrics_url = std::string(metrics_server->tls() ? "https" : "http") + "://" +
                                    listen_host(effective.metrics_listen) + ":" +
                                    std::to_string(metrics_server->port()) + "/metrics";
    std::cout << "ferry-server metrics on " << metrics_url << std::endl;
    spdlog::info("metrics on {}", metrics_url);
  }
  hub->start();
  sweeper.start();
  output_retention.start();
  scheduler.start(ctx);
  const std::string url = std::string((*server)->tls() ? "https" : "http") + "://" +
                          listen_host(effective.listen) + ":" + std::to_string((*server)->port());
  std::cout << "ferry-server listening on " << url << std::endl;
  spdlog::info("ferry-server {} listening on {} (data in {})", FERRY_VERSION, url,
               data_dir.string());

  ServiceLoopHooks hooks;
  hooks.status = [&] {
    const std::size_t agents = hub->connection_count();
    return "listening on " + url + ", " + std::to_string(agents) +
           (agents == 1 ? " agent connected" : " agents connected");
  };
  hooks.reload = [&] {
    spdlog::info("SIGHUP received: reading the configuration again");
    reloader.reload();
  };
  const std::string stopped_by = run_service_loop(manager, hooks);
  reloader.set_apply(nullptr);  // the dialects go with this function
  spdlog::info("received {}, stopping", stopped_by);
  if (metrics_server) {
    metrics_server->stop();
  }
  (*server)->stop();
  scheduler.stop();
  output_retention.stop();
  sweeper.stop();
  hub->stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A large reply (DescribeInvocationTasks with output: ~140 KB for 100 tasks) is allocated and
  // freed per request. With glibc's defaults each one is either mmapped or, once the dynamic
  // threshold has risen, trimmed back to the kernel when freed, so every request faults its
  // pages in anew (about a tenth of that request's time). Replies up to 4 MiB come from the heap
  // and up to 32 MiB of free heap stays mapped per arena.
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 32 << 20);
  CLI::App app{"ferry-server: the TAT-compatible control plane that ferry-agents connect to"};
  app.set_version_flag("--version", std::string("ferry-server ") + FERRY_VERSION);
  std::optional<std::string> listen;
  std::optional<std::string> data_dir;
  std::optional<std::string> config_file;
  std::optional<std::string> secret_id;
  std::optional<std::string> secret_key;
  std::optional<std::string> tls_cert;
  std::optional<std::string> tls_key;
  std::optional<std::string> log_level;
  std::vector<std::string> allow_http_bucket_hosts;
  bool allow_plain_http = false;
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0: any free port)");
  app.add_option("--data-dir", data_dir, "Directory of the database and credentials");
  std::optional<std::string> database;
  app.add_option("--database", database,
                 "postgresql://USER@HOST:PORT/DB to keep the store in PostgreSQL (no password: "
                 "database_password_file or PGPASSWORD); default SQLite in the data directory");
  app.add_option("--config", config_file, "Configuration file (JSON; docs/configuration.md)");
  std::optional<std::string> secret_key_file;
  auto* id_opt = app.add_option("--secret-id", secret_id,
                                "API SecretId (with --secret-key-file or --secret-key)");
  auto* key_file_opt =
      app.add_option("--secret-key-file", secret_key_file,
                     "File holding the API SecretKey of --secret-id (one line; keep it 0600)");
  auto* key_opt = app.add_option("--secret-key", secret_key,
                                 "API SecretKey; visible to every local user in the process list: "
                                 "prefer --secret-key-file or the config file");
  key_opt->excludes(key_file_opt);
  key_opt->needs(id_opt);
  key_file_opt->needs(id_opt);
  app.add_flag("--allow-plain-http", allow_plain_http,
               "Serve plain HTTP on non-loopback addresses too");
  auto* cert_opt = app.add_option("--tls-cert", tls_cert, "TLS certificate chain (PEM)");
  auto* tls_key_opt = app.add_option("--tls-key", tls_key, "TLS private key (PEM)");
  cert_opt->needs(tls_key_opt);
  tls_key_opt->needs(cert_opt);
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical, off");
  app.add_option("--allow-http-bucket-host", allow_http_bucket_hosts,
                 "HOST:PORT of an output bucket store that may be reached over http (repeatable; "
                 "added to allow_http_bucket_hosts)");
  CLI11_PARSE(app, argc, argv);
  if (secret_id && !secret_key && !secret_key_file) {
    std::cerr << "ferry-server: --secret-id needs --secret-key-file (or --secret-key)\n";
    return kExitConfig;
  }
  if (secret_key_file) {
    auto key = ferry::config::read_secret_file(*secret_key_file, "the API SecretKey");
    if (!key) {
      std::cerr << "ferry-server: " << key.error().message << "\n";
      return kExitConfig;
    }
    secret_key = std::move(*key);
  } else if (secret_key) {
    std::cerr << "ferry-server: warning: --secret-key is visible to every local user in the "
                 "process list; use --secret-key-file or the config file\n";
  }

  // Defaults < the file < FERRY_* variables < the flags below, then the checks: the same steps at
  // start and on SIGHUP.
  const ServerConfigSources sources{config_file, kDefaultServerConfigFile,
                                    ferry::config::process_environment()};
  const auto load_config = [&]() -> ferry::Expected<ServerConfig> {
    ServerConfig config;
    if (auto s = load_server_config(sources, config); !s) {
      return s.error();
    }
    if (listen) {
      config.listen = *listen;
    }
    if (data_dir) {
      config.data_dir = *data_dir;
    }
    if (database) {
      config.database = *database;
    }
    if (secret_id) {
      config.credentials = {ApiCredential{*secret_id, secret_key.value_or("")}};
    }
    if (allow_plain_http) {
      config.allow_plain_http = true;
    }
    if (tls_cert) {
      config.tls_cert_file = *tls_cert;
      config.tls_key_file = tls_key.value_or("");
    }
    if (log_level) {
      config.log_level = *log_level;
    }
    config.allow_http_bucket_hosts.insert(config.allow_http_bucket_hosts.end(),
                                          allow_http_bucket_hosts.begin(),
                                          allow_http_bucket_hosts.end());
    if (auto s = validate_server_config(config); !s) {
      return s.error();
    }
    return config;
  };
  auto loaded = load_config();
  if (!loaded) {
    std::cerr << "ferry-server: " << loaded.error().message << "\n";
    return kExitConfig;
  }
  const ServerConfig& config = *loaded;
  ferry::platform::LogOptions log;
  log.program = "ferry-server";
  log.level = config.log_level;
  log.file = config.log_file;
  log.max_file_bytes = static_cast<uint64_t>(config.log_max_size_mib) << 20;
  log.max_files = static_cast<std::size_t>(config.log_max_files);
  log.journal_stream = sources.environment("JOURNAL_STREAM");
  if (auto s = ferry::platform::setup_logging(log); !s) {
    std::cerr << "ferry-server: " << s.error().message << "\n";
    return kExitConfig;
  }
  const auto chosen_file = ferry::config::choose_config_file(sources.file, sources.default_file);
  if (chosen_file) {
    if (auto warning = config_file_exposure_warning(*chosen_file, config)) {
      spdlog::warn("{}", *warning);
    }
  }

  // Blocked before any thread starts, so that every thread inherits the mask and the signals
  // reach only the main thread's loop (run_service_loop unblocks them there): one shutdown path.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  const auto service_manager = ferry::platform::take_service_manager_settings();
  ServerConfigReloader reloader(chosen_file.value_or(""), load_config);

  try {
    return run(config, service_manager, reloader);
  } catch (const std::exception& e) {
    spdlog::critical("ferry-server failed: {}", e.what());
    return kExitFailure;
  }
}
