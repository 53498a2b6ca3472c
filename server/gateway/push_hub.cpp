#include "ferry/server/gateway/push_hub.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>

#include "ferry/core/crypto.hpp"

namespace ferry::server {

namespace {

std::string server_id_or_random(const std::string& configured) {
  if (!configured.empty()) {
    return configured;
  }
  auto id = random_id("srv-", 8);
  if (!id) {
    throw std::runtime_error("drawing a server id: " + id.error().message);
  }
  return *id;
}

void keep_latest(std::unordered_map<std::string, int64_t>& times, const std::string& id,
                 int64_t ms) {
  auto [it, added] = times.try_emplace(id, ms);
  if (!added) {
    it->second = std::max(it->second, ms);
  }
}

// The push message's Type of a peer message's kind.
const char* message_type(PeerMessage::Kind kind) {
  return kind == PeerMessage::Kind::kCancel ? "cancel" : "kick";
}

}  // namespace

PushHub::PushHub(AgentAuthenticator& auth, Store& store, const Clock& clock, PushHubOptions options,
                 PeerNotifier* peers)
    : auth_(auth),
      store_(store),
      clock_(clock),
      options_(std::move(options)),
      peers_(peers != nullptr && peers->enabled() ? peers : nullptr),
      server_id_(server_id_or_random(options_.server_id)),
      refresher_("push: presence refresh", std::chrono::milliseconds(options_.refresh_interval_ms),
                 [this] { return refresh(); }) {}

PushHub::~PushHub() {
  stop();
}

void PushHub::start() {
  spdlog::info("push: this server is {} in the store's presence", server_id_);
  started_ = true;
  refresher_.start();
  if (peers_ != nullptr) {
    peers_->start(server_id_, PeerHandlers{[this](const PeerMessage& m) { deliver(m); },
                                           [this] {
                                             if (auto s = catch_up(); !s) {
                                               spdlog::warn("push: the catch-up failed: {}",
                                                            s.error().message);
                                             }
                                           }});
  }
}

void PushHub::stop() {
  if (peers_ != nullptr) {
    peers_->stop();
  }
  refresher_.stop();
  if (started_.exchange(false)) {
    if (auto s = refresh(); !s) {
      spdlog::warn("push: the last presence refresh failed: {}", s.error().message);
    }
  }
}

std::optional<HttpResponse> PushHub::on_open(const HttpRequest& upgrade_request,
                                             const std::shared_ptr<WebSocketConnection>& conn) {
  Status checked = AgentAuthenticator::check_protocol(upgrade_request);
  Expected<RegisterInstance> agent = Error{};
  if (checked) {
    agent = auth_.authenticate(upgrade_request, "Connect", "");
  }
  if (!checked || !agent) {
    const Error& e = checked ? agent.error() : checked.error();
    spdlog::info("push: refused a connection from {}: {}", upgrade_request.remote_address, e.code);
    // 401 for credentials, 400 for a protocol the server does not speak: either way the body
    // is the agent protocol's error envelope.
    const bool auth_failure = e.code.rfind("AuthFailure.", 0) == 0;
    auto uuid = uuid4();
    return AgentGateway::error_response(e, uuid ? *uuid : std::string(), clock_.now_ms(),
                                        auth_failure ? 401 : 400);
  }
  const std::string id = agent->instance_id;
  const int64_t now = clock_.now_ms();
  conn->set_id(id);
  std::shared_ptr<WebSocketConnection> replaced;
  {
    std::lock_guard writes(socket_writes_);
    {
      std::lock_guard lock(mutex_);
      replaced = std::exchange(connections_[id], conn);
      keep_latest(seen_ms_, id, now);
    }
    if (auto s = store_.agent_connected(id, server_id_, now); !s) {
      // The socket works here all the same; other servers learn of the agent by its requests.
      spdlog::warn("push: recording {}'s connection failed: {}", id, s.error().message);
    }
  }
  if (replaced && replaced != conn) {
    spdlog::info("push: {} reconnected from {}; closing its older connection", id,
                 conn->remote_address());
    replaced->close();
  } else {
    spdlog::info("push: {} connected from {}", id, conn->remote_address());
  }
  return std::nullopt;
}

void PushHub::on_message(const std::shared_ptr<WebSocketConnection>& conn, std::string text) {
  // Agents have nothing to say on the socket (reports go through POST /agent); liveness is
  // the transport's ping. A message is only noted.
  spdlog::debug("push: ignored a {}-byte message from {}", text.size(), conn->id());
}

void PushHub::on_close(const std::shared_ptr<WebSocketConnection>& conn) {
  const std::string id = conn->id();
  if (id.empty()) {
    return;
  }
  std::lock_guard writes(socket_writes_);
  {
    std::lock_guard lock(mutex_);
    auto it = connections_.find(id);
    // A replaced connection closing must not unregister its successor.
    if (it == connections_.end() || it->second != conn) {
      return;
    }
    connections_.erase(it);
  }
  spdlog::info("push: {} disconnected", id);
  if (auto s = store_.agent_disconnected(id, server_id_); !s) {
    spdlog::warn("push: recording {}'s disconnection failed: {}", id, s.error().message);
  }
}

bool PushHub::send(const std::string& instance_id, const char* type, const std::string& task_id) {
  std::shared_ptr<WebSocketConnection> conn;
  {
    std::lock_guard lock(mutex_);
    auto it = connections_.find(instance_id);
    if (it == connections_.end()) {
      return false;
    }
    conn = it->second;
  }
  const uint64_t seq = seq_.fetch_add(1, std::memory_order_relaxed) + 1;
  nlohmann::json message = {
      {"Type", type}, {"Seq", seq}, {"Data", {{"InvocationTaskId", task_id}}}};
  if (!conn->send(message.dump())) {
    spdlog::debug("push: {} for task {} not sent: {}'s connection is closing", type, task_id,
                  instance_id);
  }
  return true;
}

void PushHub::push(PeerMessage::Kind kind, const std::string& instance_id,
                   const std::string& task_id) {
  if (send(instance_id, message_type(kind), task_id) || peers_ == nullptr) {
    return;
  }
  const std::string holder = holder_elsewhere(instance_id);
  if (!holder.empty()) {
    peers_->notify(holder, PeerMessage{kind, server_id_, instance_id, task_id});
  }
}

std::string PushHub::holder_elsewhere(const std::string& instance_id) {
  const int64_t now = clock_.now_ms();
  std::optional<AgentPresenceRecord> record;
  bool known = false;
  {
    std::lock_guard lock(mutex_);
    // RunCommand asked is_online of each target a moment ago: usually a fresh record is here.
    if (auto cached = cache_.find(instance_id);
        cached != cache_.end() && now - cached->second.read_ms < options_.presence_cache_ms) {
      record = cached->second.record;
      known = true;
    }
  }
  if (!known) {
    auto records = store_.presence_of({instance_id});
    if (!records) {
      spdlog::warn("push: reading {}'s presence failed: {}", instance_id, records.error().message);
      return {};
    }
    if (!records->empty()) {
      record = std::move(records->front());
    }
    std::lock_guard lock(mutex_);
    cache_[instance_id] = CachedRecord{record, now};
  }
  std::lock_guard lock(mutex_);
  if (record &&
      whereabouts(instance_id, &*record, now).socket == AgentWhereabouts::Socket::kElsewhere) {
    return record->server_id;
  }
  return {};
}

void PushHub::task_ready(const std::string& instance_id, const std::string& task_id) {
  push(PeerMessage::Kind::kKick, instance_id, task_id);
}

void PushHub::task_cancelled(const std::string& instance_id, const std::string& task_id) {
  push(PeerMessage::Kind::kCancel, instance_id, task_id);
}

void PushHub::deliver(const PeerMessage& message) {
  if (!send(message.instance_id, message_type(message.kind), message.task_id)) {
    spdlog::debug("push: {} of task {} from {}: {} is not connected here",
                  message_type(message.kind), message.task_id, message.from_server,
                  message.instance_id);
  }
}

Status PushHub::catch_up() {
  std::vector<std::string> here;
  {
    std::lock_guard lock(mutex_);
    here.reserve(connections_.size());
    for (const auto& [id, conn] : connections_) {
      here.push_back(id);
    }
  }
  if (here.empty()) {
    return {};
  }
  // The agents a few hundred at a time: each id is a parameter of the query.
  constexpr std::size_t kChunk = 500;
  std::size_t pushed = 0;
  for (std::size_t from = 0; from < here.size(); from += kChunk) {
    TaskQuery q;
    q.statuses = {TaskStatus::kPending, TaskStatus::kCancelling};
    q.instance_ids.assign(
        here.begin() + static_cast<std::ptrdiff_t>(from),
        here.begin() + static_cast<std::ptrdiff_t>(std::min(from + kChunk, here.size())));
    q.with_output = false;
    q.limit = 500;
    auto tasks = list_all_tasks(store_, q);
    if (!tasks) {
      return tasks.error();
    }
    for (const auto& t : *tasks) {
      const bool cancel = t.status == TaskStatus::kCancelling;
      send(t.instance_id,
           message_type(cancel ? PeerMessage::Kind::kCancel : PeerMessage::Kind::kKick),
           t.invocation_task_id);
    }
    pushed += tasks->size();
  }
  spdlog::info("push: caught up: {} kicks and cancels to this server's agents", pushed);
  return {};
}

AgentWhereabouts PushHub::whereabouts(const std::string& instance_id,
                                      const AgentPresenceRecord* record, int64_t now) const {
  using Socket = AgentWhereabouts::Socket;
  AgentWhereabouts w;
  // A negative time in the store is a stop (agent_stopped): contact before it does not count.
  int64_t seen = record != nullptr ? std::max<int64_t>(record->last_seen_ms, 0) : 0;
  const int64_t stopped = record != nullptr ? std::max<int64_t>(-record->last_seen_ms, 0) : 0;
  if (auto it = seen_ms_.find(instance_id); it != seen_ms_.end() && it->second > stopped) {
    seen = std::max(seen, it->second);
  }
  if (connections_.contains(instance_id)) {
    w.socket = Socket::kHere;
  } else if (record != nullptr && !record->server_id.empty() && record->server_id != server_id_ &&
             now - record->server_refreshed_ms <= options_.server_stale_ms) {
    // (A record naming this server without a socket here is out of date: this server knows.)
    w.socket = Socket::kElsewhere;
  }
  w.online = w.socket != Socket::kNone || (seen > 0 && now - seen <= options_.online_window_ms);
  return w;
}

bool PushHub::is_online(const std::string& instance_id) const {
  const int64_t now = clock_.now_ms();
  {
    std::lock_guard lock(mutex_);
    auto cached = cache_.find(instance_id);
    const bool fresh =
        cached != cache_.end() && now - cached->second.read_ms < options_.presence_cache_ms;
    const AgentPresenceRecord* record =
        fresh && cached->second.record ? &*cached->second.record : nullptr;
    // Known here, or known from a recent read: no store access.
    if (fresh || whereabouts(instance_id, nullptr, now).online) {
      return whereabouts(instance_id, record, now).online;
    }
  }
  auto records = store_.presence_of({instance_id});
  if (!records) {
    spdlog::warn("push: reading {}'s presence failed: {}", instance_id, records.error().message);
    return false;
  }
  std::lock_guard lock(mutex_);
  auto& entry = cache_[instance_id];
  entry.read_ms = now;
  entry.record.reset();
  if (!records->empty()) {
    entry.record = std::move(records->front());
  }
  return whereabouts(instance_id, entry.record ? &*entry.record : nullptr, now).online;
}

Expected<std::unordered_map<std::string, AgentWhereabouts>> PushHub::locate(
    const std::vector<std::string>& instance_ids) {
  const int64_t now = clock_.now_ms();
  auto records = store_.presence_of(instance_ids);
  if (!records) {
    return records.error();
  }
  std::unordered_map<std::string, const AgentPresenceRecord*> by_id;
  for (const auto& r : *records) {
    by_id.emplace(r.instance_id, &r);
  }
  std::unordered_map<std::string, AgentWhereabouts> out;
  std::lock_guard lock(mutex_);
  for (const auto& id : instance_ids) {
    auto it = by_id.find(id);
    const AgentPresenceRecord* record = it == by_id.end() ? nullptr : it->second;
    out[id] = whereabouts(id, record, now);
    cache_[id] = CachedRecord{record != nullptr ? std::optional(*record) : std::nullopt, now};
  }
  return out;
}

void PushHub::disconnect(const std::string& instance_id) {
  std::shared_ptr<WebSocketConnection> conn;
  {
    std::lock_guard writes(socket_writes_);
    {
      std::lock_guard lock(mutex_);
      if (auto it = connections_.find(instance_id); it != connections_.end()) {
        conn = std::move(it->second);
        connections_.erase(it);
      }
      seen_ms_.erase(instance_id);
      unwritten_.erase(instance_id);
      cache_.erase(instance_id);
    }
    if (conn) {
      if (auto s = store_.agent_disconnected(instance_id, server_id_); !s) {
        spdlog::warn("push: recording {}'s disconnection failed: {}", instance_id,
                     s.error().message);
      }
    }
  }
  if (conn) {
    spdlog::info("push: disconnecting {}", instance_id);
    conn->close();
  }
}

void PushHub::agent_stopped(const std::string& instance_id) {
  disconnect(instance_id);  // the socket, and what this server remembers of the agent
  std::lock_guard seen_writes(seen_writes_);
  {
    std::lock_guard lock(mutex_);
    seen_ms_.erase(instance_id);
    unwritten_.erase(instance_id);
    cache_.erase(instance_id);
  }
  if (auto s = store_.agent_stopped(instance_id, clock_.now_ms()); !s) {
    spdlog::warn("push: recording {}'s stop failed: {}", instance_id, s.error().message);
  }
  spdlog::info("push: {} is stopping", instance_id);
}

void PushHub::note_seen(const std::string& instance_id, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  keep_latest(seen_ms_, instance_id, now_ms);
  keep_latest(unwritten_, instance_id, now_ms);
}

std::size_t PushHub::connection_count() const {
  std::lock_guard lock(mutex_);
  return connections_.size();
}

std::size_t PushHub::unwritten_contacts() const {
  std::lock_guard lock(mutex_);
  return unwritten_.size();
}

Status PushHub::refresh() {
  const int64_t now = clock_.now_ms();
  std::vector<AgentSeen> seen;
  std::lock_guard seen_writes(seen_writes_);
  {
    std::lock_guard lock(mutex_);
    seen.reserve(unwritten_.size());
    for (const auto& [id, ms] : unwritten_) {
      seen.push_back({id, ms});
    }
    unwritten_.clear();
    // What can no longer make an agent online, or answer is_online, is dropped.
    std::erase_if(seen_ms_,
                  [&](const auto& e) { return now - e.second > options_.online_window_ms; });
    std::erase_if(cache_, [&](const auto& e) {
      return now - e.second.read_ms >= options_.presence_cache_ms;
    });
  }
  if (auto s = store_.agents_seen(seen); !s) {
    std::lock_guard lock(mutex_);
    for (const auto& e : seen) {
      keep_latest(unwritten_, e.instance_id, e.seen_ms);  // for the next refresh
    }
    return s;
  }
  return store_.refresh_server(server_id_, now);
}

}  // namespace ferry::server
