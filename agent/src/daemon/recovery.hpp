// At start-up: what an earlier agent left in the journal. Every task it held is taken up again
// and ends as docs/architecture.md ("The journal and re-attach") says; nothing is started again.
#pragma once

#include <string>

#include "daemon_context.hpp"
#include "held_tasks.hpp"
#include "live_output.hpp"
#include "output_uploads.hpp"
#include "reattached_supervisors.hpp"
#include "report_queue.hpp"

namespace ferry::agent {

class Recovery {
 public:
  Recovery(DaemonContext& context, HeldTasks& tasks, ReportQueue& reports,
           ReattachedSupervisors& reattached, LiveOutput& live, OutputUploads& uploads);

  // Scans <state>/tasks/ once.
  void run();

 private:
  void recover_record(JournalRecord record);
  void recover_unjournaled(const std::string& id);
  void reattach(HeldTask& task);

  DaemonContext& ctx_;
  HeldTasks& tasks_;
  ReportQueue& reports_;
  ReattachedSupervisors& reattached_;
  LiveOutput& live_;
  OutputUploads& uploads_;
};

}  // namespace ferry::agent
