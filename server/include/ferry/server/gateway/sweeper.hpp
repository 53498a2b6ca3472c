// The sweeper: a background thread that moves tasks nobody else will move (docs/protocol.md,
// "Sweeper rules"). Every change goes through store.modify_task and can_transition, re-checked
// inside the transaction, so it races safely with agent reports, API calls and the sweepers of
// other servers: whoever commits first wins, the other finds the transition no longer allowed
// and changes nothing.
//
// Each server on a store runs one. What keeps several correct together:
// - Presence is the store's, the same for every server (AgentLocator, which PushHub
//   implements): a task is marked DELIVER_DELAYED only when no live server holds its agent's
//   socket and the agent was not seen within the online window.
// - A kick goes out on a socket, so the moves that need one are made where the socket is.
//   DELIVER_DELAYED -> PENDING, with its kick, is made by the server holding the agent's
//   socket; by any server when none holds it and the agent is online by its requests (it polls
//   and picks the task up itself); never by a server while another live server holds it.
// - A task created on server A for an agent whose socket server B holds is kicked by B on A's
//   word through the peers (PushHub, LISTEN/NOTIFY), but that word may be lost (the database
//   restarting): B kicks the PENDING tasks of the agents it holds that stayed PENDING from one
//   of its passes to the next, once per task.
// - The other rules (delivery and run timeouts) depend on nothing but the task and the time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/server/clock.hpp"
#include "ferry/server/domain/context.hpp"
#include "ferry/server/gateway/periodic_thread.hpp"
#include "ferry/server/store/store.hpp"

namespace ferry::server {

struct SweeperOptions {
  int64_t interval_ms = 1000;
  // PENDING / DELIVER_DELAYED this long after creation: DELIVER_FAILED.
  int64_t deliver_timeout_ms = 3'600'000;
  // DELIVERING / RUNNING / CANCELLING this long past the hand-over (or start) plus the task's
  // own Timeout: the agent stopped answering.
  int64_t task_timeout_grace_ms = 60'000;
  // Rows read per store query while collecting candidates.
  int64_t page_size = 500;
};

struct SweepCounts {
  std::size_t delayed = 0;         // PENDING / DELIVERING -> DELIVER_DELAYED
  std::size_t resumed = 0;         // DELIVER_DELAYED -> PENDING
  std::size_t deliver_failed = 0;  // -> DELIVER_FAILED
  std::size_t timed_out = 0;       // -> TASK_TIMEOUT
  std::size_t kicked = 0;          // kicks sent: resumed here, or PENDING here across a pass
};

// Where an agent is, as the sweeper needs to know it.
struct AgentWhereabouts {
  enum class Socket { kNone, kHere, kElsewhere };
  // Its socket is held by a live server, or it made a signed request within the online window.
  bool online = false;
  // Which server holds its socket: this one, another live one, or none.
  Socket socket = Socket::kNone;
};

class AgentLocator {
 public:
  virtual ~AgentLocator() = default;
  // The whereabouts of `instance_ids`, read together; an id missing from the answer is offline
  // with no socket.
  virtual Expected<std::unordered_map<std::string, AgentWhereabouts>> locate(
      const std::vector<std::string>& instance_ids) = 0;
};

class Sweeper {
 public:
  Sweeper(Store& store, const Clock& clock, AgentLocator& locator, AgentNotifier& notifier,
          SweeperOptions options = {});
  Sweeper(const Sweeper&) = delete;
  Sweeper& operator=(const Sweeper&) = delete;
  ~Sweeper();  // stop()

  // Starts the thread (once); it sweeps every interval_ms until stop().
  void start();
  // Wakes the thread and joins it; returns within one pass. Idempotent.
  void stop();

  // One pass over the unfinished tasks, on the caller's thread (the tests drive it directly).
  Expected<SweepCounts> sweep_once();

 private:
  Store& store_;
  const Clock& clock_;
  AgentLocator& locator_;
  AgentNotifier& notifier_;
  SweeperOptions options_;
  std::mutex pass_mutex_;  // one pass at a time: the thread's or a test's
  // Tasks of agents this server holds: PENDING at the last pass and not kicked by this sweeper
  // yet, and those it kicked (not to be kicked again).
  std::set<std::string> waiting_;
  std::set<std::string> kicked_;
  PeriodicThread thread_;
};

}  // namespace ferry::server
