// One wire of the public API on the shared port: how a request names its action, how it is
// signed, how its parameters are read and how replies and errors are written. The TAT dialect
// (tat/tat_dialect.hpp) is one; another API (Alibaba Cloud Assistant) is another class beside
// it, calling the same domain layer through its own actions.
#pragma once

#include "ferry/server/api/request_outcome.hpp"
#include "ferry/server/http_server.hpp"

namespace ferry::server {

class Dialect {
 public:
  virtual ~Dialect() = default;

  // Whether `head` speaks this dialect, judged from the method, target and headers alone: the
  // body may not be read yet, and nothing is verified here.
  [[nodiscard]] virtual bool accepts(const HttpRequest& head) const = 0;

  // The whole exchange for a request: authenticate, read the parameters, run the action, write
  // the reply or the error; `outcome` says what it came to. Never throws.
  virtual HttpResponse handle(const HttpRequest& request, RequestOutcome& outcome) = 0;
  // The same, for callers that do not count requests.
  HttpResponse handle(const HttpRequest& request) {
    RequestOutcome outcome;
    return handle(request, outcome);
  }

  // The response to an error answered before or instead of an action (HttpErrorWriter's
  // contract), in this dialect's error body.
  [[nodiscard]] virtual HttpResponse error_response(const HttpError& error) const = 0;
};

}  // namespace ferry::server
