// Registered instances and their agents as users see them.
//
// Choices where the model is silent:
//   - Describe* leave out ids that are not registered instances: TotalCount counts what was
//     found.
//   - Online / Offline comes from the agents' presence, not from the last heartbeat.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/server/domain/context.hpp"
#include "ferry/server/model.hpp"
#include "ferry/server/store/store.hpp"

namespace ferry::server::domain {

struct InstanceView {
  RegisterInstance instance;
  bool online = false;
};

// "Online" or "Offline", the API's words for presence.
std::string_view presence_name(bool online);
// The agent reports its environment with its heartbeats; before the first one the system the
// instance registered with stands in.
std::string environment_of(const RegisterInstance& instance);

// Conditions on what the store does not hold (presence lives with the agents' connections).
struct InstanceListing {
  RegisterInstanceQuery query;            // its offset and limit are the page's
  std::vector<std::string> presence;      // "Online", "Offline"; empty: any
  std::vector<std::string> environments;  // "Linux", "Windows"; empty: any
};
// A page of instances. TotalCount and paging stay exact with the conditions the store cannot
// evaluate: those are applied to every match before the page is cut.
Expected<Page<InstanceView>> describe_instances(ServerContext& ctx, const InstanceListing& listing);

// The registered instances among `ids`, by id, in one read (ids that are not registered are
// absent).
Expected<std::map<std::string, RegisterInstance>> registered_instances(
    Store& store, const std::vector<std::string>& ids);
// Every one of `ids` is a registered instance; ResourceNotFound.InstanceNotFound naming the first
// that is not. What RunCommand, InvokeCommand and SendFile require of their targets.
Status require_registered_instances(Store& store, const std::vector<std::string>& ids);

// ModifyRegisterInstance: 1 to 60 characters without control characters.
Status rename_instance(ServerContext& ctx, const std::string& instance_id, const std::string& name);
// Changes an instance's tags through `mutate` (given the stored ones), in one transaction; the
// result must keep the tag rules (validate_tags with `max_tags`).
Expected<std::vector<Tag>> modify_instance_tags(
    ServerContext& ctx, const std::string& instance_id,
    const std::function<Status(std::vector<Tag>&)>& mutate, std::size_t max_tags);
// DeleteRegisterInstance: the instance's key is revoked and its agent's connection dropped; its
// tasks that had not ended end now (DELIVER_FAILED, or TERMINATED once started).
Status delete_instance(ServerContext& ctx, const std::string& instance_id);

}  // namespace ferry::server::domain
