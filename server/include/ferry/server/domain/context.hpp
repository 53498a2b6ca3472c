// What every domain operation works with: the store, the clock, the server's settings and the
// two seams to the agents (the push hub in ferry-server, fakes in tests).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ferry/core/cron.hpp"
#include "ferry/server/clock.hpp"
#include "ferry/server/cos/output_buckets.hpp"
#include "ferry/server/store/store.hpp"

namespace ferry::server {

// A region this server answers for: the TAT API's X-TC-Region and DescribeRegions, the tasks'
// {{ACS::RegionId}} (the first one).
struct Region {
  std::string region;
  std::string region_name;
  std::string region_state = "AVAILABLE";
};

struct ServerSettings {
  std::string account_id;  // {{ACS::AccountId}} and the owner shown in listings
  std::vector<Region> regions;
  int64_t command_quota = 500;        // saved commands
  int64_t register_code_quota = 100;  // register codes
  int64_t max_run_instances = 200;    // RunCommand / InvokeCommand InstanceIds
  // The time zone in which invokers' crontabs are read (default UTC).
  cron::Zone schedule_zone;
  // The output buckets: what OutputCOSBucketUrl may name, the credentials the server signs
  // with, the lifetime of the URLs it gives the agents.
  cos::OutputBuckets output_buckets;
};

// Told about work for agents: new tasks and cancels (a WebSocket kick in the server).
class AgentNotifier {
 public:
  virtual ~AgentNotifier() = default;
  virtual void task_ready(const std::string& instance_id, const std::string& task_id) = 0;
  virtual void task_cancelled(const std::string& instance_id, const std::string& task_id) = 0;
};

// Which agents hold a live connection (the push hub knows); a seam for tests.
class AgentPresence {
 public:
  virtual ~AgentPresence() = default;
  [[nodiscard]] virtual bool is_online(const std::string& instance_id) const = 0;
  // Drops the agent's connection (its instance was deleted: its key no longer counts).
  virtual void disconnect(const std::string& instance_id) = 0;
};

// Told when a schedule changed (an invoker made, changed, enabled, disabled or deleted), so that
// the scheduler, asleep until the next slot it knew of, looks again.
class ScheduleWatcher {
 public:
  ScheduleWatcher() = default;
  ScheduleWatcher(const ScheduleWatcher&) = delete;
  ScheduleWatcher& operator=(const ScheduleWatcher&) = delete;
  virtual ~ScheduleWatcher() = default;
  virtual void schedules_changed() = 0;
};

// A watcher that does nothing: for contexts with no scheduler (tests of other parts).
ScheduleWatcher& no_schedule_watcher();

struct ServerContext {
  Store& store;
  const Clock& clock;
  const ServerSettings& settings;
  AgentNotifier& notifier;
  AgentPresence& presence;
  ScheduleWatcher& schedules = no_schedule_watcher();
};

}  // namespace ferry::server
