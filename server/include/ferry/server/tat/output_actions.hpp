// DescribeInvocationTaskOutput, a Ferry extension of the TAT API: the complete output of one
// task, wherever it is. From the task's bucket (a presigned download URL), the server's own
// output store, or the task's result when that holds all of it; otherwise the head+tail excerpt
// and the reason nothing more is known. `ferry output` reads it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "ferry/core/error.hpp"
#include "ferry/server/api/action_registry.hpp"
#include "ferry/server/domain/context.hpp"
#include "ferry/server/model.hpp"
#include "ferry/server/outputs/output_store.hpp"

namespace ferry::server {

// A URL that reads a task's object from its bucket until it expires.
struct DownloadLink {
  std::string url;
  std::int64_t expires_in_s = 0;
};

// Makes the DownloadLink of a final task whose output went to its bucket (task.output_url is
// set). An error leaves DownloadUrl empty and becomes the reply's Reason, so it must hold no
// secret.
using DownloadLinkMaker = std::function<Expected<DownloadLink>(const InvocationTask& task)>;

struct OutputActionDeps {
  // The server's output store; nullptr when there is none.
  const OutputStore* outputs = nullptr;
  // Where DownloadUrl and ExpiresIn come from: the server's bucket Presigner (a presigned GET of
  // the task's object) is plugged in here. Unset, they stay "" and 0.
  DownloadLinkMaker download_link;
};

// Registers DescribeInvocationTaskOutput. `ctx` and what `deps` points to must outlive `actions`.
void register_output_actions(ActionRegistry& actions, ServerContext& ctx, OutputActionDeps deps);

}  // namespace ferry::server
