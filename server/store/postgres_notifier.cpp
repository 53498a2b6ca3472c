// The PeerNotifier of servers sharing a PostgreSQL database: each server LISTENs on a channel of
// its own ("ferry_" and its server id) on one dedicated libpq session, never a pool connection
// (the pool drops an idle session with input pending, which a notification is). Messages to
// other servers are queued by the caller and sent by a sender thread on a second session of
// its own, up to kBatch of them per round trip (`SELECT pg_notify(...), pg_notify(...)`), so that
// an API call never waits for them. Both sessions come back by themselves after a database
// restart: the listener with a capped backoff, then one on_resumed (the catch-up of what was
// missed); the sender by opening a new session for its next batch.
#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ferry/server/store/peer_notifier.hpp"
#include "ferry/server/store/postgres_store.hpp"
#include "postgres_db.hpp"

namespace ferry::server {

namespace {

using namespace std::chrono_literals;

// Messages sent per statement: one round trip for a RunCommand's tasks on one server.
constexpr std::size_t kBatch = 100;
// Messages waiting to be sent at most; past it new ones are dropped (the sweepers catch up).
constexpr std::size_t kMaxQueued = 20'000;
// PostgreSQL's identifiers (and so channel names) hold at most 63 bytes.
constexpr std::size_t kMaxChannel = 63;
constexpr auto kReconnectMin = 100ms;
constexpr auto kReconnectMax = 5s;

struct SessionCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Session = std::unique_ptr<PGconn, SessionCloser>;

struct NotifyResultClearer {
  void operator()(PGresult* r) const { PQclear(r); }
};
using NotifyResult = std::unique_ptr<PGresult, NotifyResultClearer>;

std::string channel_of(const std::string& server_id) {
  return "ferry_" + server_id;
}

struct Outgoing {
  std::string channel;
  std::string payload;
};

class PostgresPeerNotifier final : public PeerNotifier {
 public:
  explicit PostgresPeerNotifier(postgres::ConnectOptions connect)
      : connect_(std::move(connect)), wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~PostgresPeerNotifier() override {
    stop();
    if (wake_fd_ >= 0) {
      ::close(wake_fd_);
    }
  }

  [[nodiscard]] bool enabled() const override { return true; }

  void notify(const std::string& to, const PeerMessage& message) override {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || !started_) {
        return;
      }
      if (queue_.size() >= kMaxQueued) {
        if (!overflowing_) {
          spdlog::warn("peers: {} messages wait to be sent; dropping new ones until they drain",
                       queue_.size());
          overflowing_ = true;
        }
        return;
      }
      overflowing_ = false;
      queue_.push_back({channel_of(to), format_peer_message(message)});
    }
    queued_.notify_one();
  }

  void start(const std::string& server_id, PeerHandlers handlers) override {
    std::lock_guard lock(mutex_);
    if (started_ || stopping_) {
      return;
    }
    channel_ = channel_of(server_id);
    if (channel_.size() > kMaxChannel || wake_fd_ < 0) {
      spdlog::error(
          "peers: cannot listen for {} (server id too long, or no eventfd): other "
          "servers' tasks for its agents wait for its sweeper",
          server_id);
      return;
    }
    handlers_ = std::move(handlers);
    started_ = true;
    listener_ = std::thread([this] { listen_loop(); });
    sender_ = std::thread([this] { send_loop(); });
  }

  void stop() override {
    {
      std::lock_guard lock(mutex_);
      if (!started_ || stopping_) {
        return;
      }
      stopping_ = true;
    }
    queued_.notify_all();
    const uint64_t one = 1;
    if (::write(wake_fd_, &one, sizeof(one)) < 0) {
      spdlog::debug("peers: waking the listener failed");
    }
    listener_.join();
    sender_.join();
  }

 private:
  [[nodiscard]] bool stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  // Waits `delay` or until stop(); false when stopping.
  bool pause(std::chrono::milliseconds delay) {
    pollfd p{wake_fd_, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(delay.count()));
    return !stopping();
  }

  // The listener: connect, LISTEN, read notifications until the session breaks or stop().
  void listen_loop() {
    bool listened_before = false;
    int failures = 0;
    while (!stopping()) {
      std::string why;
      Session session = listen_session(why);
      if (!session) {
        // The first failure of a run is a warning; the retries that follow are debug lines.
        if (failures == 0) {
          spdlog::warn("peers: not listening for other servers' messages: {}; retrying", why);
        } else {
          spdlog::debug("peers: listening still fails: {}", why);
        }
        const auto delay = std::min<std::chrono::milliseconds>(
            kReconnectMin * (int64_t{1} << std::min(failures, 10)), kReconnectMax);
        ++failures;
        if (!pause(delay)) {
          return;
        }
        continue;
      }
      if (listened_before) {
        spdlog::info("peers: listening again on {}", channel_);
        // After the LISTEN, so that what arrives from now on is not missed either.
        if (handlers_.on_resumed) {
          handlers_.on_resumed();
        }
      } else {
        spdlog::info("peers: listening on {}", channel_);
      }
      listened_before = true;
      failures = 0;
      why = read_notifications(session.get());
      if (!why.empty()) {
        spdlog::warn("peers: the listening session broke: {}; reconnecting", why);
      }
    }
  }

  // A session that LISTENs on the channel; null with `why` filled when there is none.
  Session listen_session(std::string& why) {
    auto opened = postgres::open_session(connect_);
    if (!opened) {
      why = opened.error().message;
      return nullptr;
    }
    Session session(*opened);
    char* quoted = PQescapeIdentifier(session.get(), channel_.c_str(), channel_.size());
    if (quoted == nullptr) {
      why = "quoting the channel: " + postgres::one_line(PQerrorMessage(session.get()));
      return nullptr;
    }
    const std::string sql = std::string("LISTEN ") + quoted;
    PQfreemem(quoted);
    NotifyResult r(PQexec(session.get(), sql.c_str()));
    if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      why = "LISTEN: " + postgres::one_line(PQerrorMessage(session.get()));
      return nullptr;
    }
    return session;
  }

  // Until stop() (returns "") or the session fails (returns why).
  std::string read_notifications(PGconn* conn) {
    while (!stopping()) {
      // Any that came in with an earlier reply (LISTEN's) first.
      while (PGnotify* n = PQnotifies(conn)) {
        deliver(n);
        PQfreemem(n);
      }
      pollfd fds[2] = {{PQsocket(conn), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        continue;  // EINTR
      }
      if (fds[1].revents != 0) {
        return {};  // stop()
      }
      if (PQconsumeInput(conn) == 0 || PQstatus(conn) != CONNECTION_OK) {
        return postgres::one_line(PQerrorMessage(conn));
      }
    }
    return {};
  }

  void deliver(const PGnotify* n) {
    const std::string_view payload = n->extra != nullptr ? n->extra : "";
    std::optional<PeerMessage> message;
    if (channel_ == n->relname) {
      message = parse_peer_message(payload);
    }
    if (!message) {
      // Its size only: whatever it holds came from someone who may NOTIFY, not from Ferry.
      spdlog::warn("peers: ignored a malformed {}-byte message on {}", payload.size(), channel_);
      return;
    }
    spdlog::debug("peers: {} of task {} for {} from {}",
                  message->kind == PeerMessage::Kind::kCancel ? "cancel" : "kick", message->task_id,
                  message->instance_id, message->from_server);
    if (handlers_.on_message) {
      handlers_.on_message(*message);
    }
  }

  // The sender: batches of queued messages, each in one statement on its own session.
  void send_loop() {
    Session session;
    bool failing = false;
    for (;;) {
      std::vector<Outgoing> batch;
      {
        std::unique_lock lock(mutex_);
        queued_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) {
          return;
        }
        const std::size_t n = std::min(queue_.size(), kBatch);
        batch.assign(std::make_move_iterator(queue_.begin()),
                     std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      }
      // A session broken since the last batch (a restart) is replaced once before giving up.
      std::string why = send(session, batch);
      if (!why.empty()) {
        session.reset();
        why = send(session, batch);
      }
      if (why.empty()) {
        if (failing) {
          spdlog::info("peers: sending to other servers works again");
        }
        failing = false;
      } else {
        session.reset();
        if (!failing) {
          spdlog::warn(
              "peers: {} messages to other servers not sent ({}); their sweepers will "
              "kick the tasks",
              batch.size(), why);
        }
        failing = true;
      }
    }
  }

  // "" when sent; else why not.
  std::string send(Session& session, const std::vector<Outgoing>& batch) {
    if (!session) {
      auto opened = postgres::open_session(connect_);
      if (!opened) {
        return opened.error().message;
      }
      session.reset(*opened);
    }
    std::string sql = "SELECT ";
    std::vector<const char*> values;
    values.reserve(batch.size() * 2);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      sql += i == 0 ? "" : ", ";
      sql += "pg_notify($" + std::to_string(2 * i + 1) + ", $" + std::to_string(2 * i + 2) + ")";
      values.push_back(batch[i].channel.c_str());
      values.push_back(batch[i].payload.c_str());
    }
    NotifyResult r(PQexecParams(session.get(), sql.c_str(), static_cast<int>(values.size()),
                                nullptr, values.data(), nullptr, nullptr, 0));
    if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
      return postgres::one_line(PQerrorMessage(session.get()));
    }
    return {};
  }

  const postgres::ConnectOptions connect_;
  const int wake_fd_;
  std::mutex mutex_;
  std::condition_variable queued_;
  std::deque<Outgoing> queue_;
  bool overflowing_ = false;
  bool started_ = false;
  bool stopping_ = false;
  // Set by start(), before the threads that read them begin.
  std::string channel_;
  PeerHandlers handlers_;
  std::thread listener_;
  std::thread sender_;
};

}  // namespace

Expected<std::unique_ptr<PeerNotifier>> open_postgres_peer_notifier(
    const PostgresOptions& options) {
  if (auto s = check_postgres_url(options.url); !s) {
    return s.error();
  }
  postgres::ConnectOptions connect{options.url, options.password,
                                   std::max(options.connect_timeout, std::chrono::seconds(2))};
  return std::unique_ptr<PeerNotifier>(std::make_unique<PostgresPeerNotifier>(std::move(connect)));
}

}  // namespace ferry::server
