// The public API's front on one port: each request goes to the first dialect that accepts it,
// or to the first dialect added (the default) when none does, so that a request that speaks no
// dialect at all still gets the default's error. The same choice writes the errors the HTTP
// layer answers itself (HttpErrorWriter), before a handler runs.
#pragma once

#include <memory>
#include <vector>

#include "ferry/server/api/dialect.hpp"
#include "ferry/server/http_server.hpp"

namespace ferry::server {

class ApiFront final : public HttpErrorWriter {
 public:
  // Dialects are tried in the order added; add every one before the server starts.
  void add_dialect(std::unique_ptr<Dialect> dialect);

  // Needs at least one dialect. `outcome` gets what the request came to.
  HttpResponse handle(const HttpRequest& request, RequestOutcome& outcome) const;
  HttpResponse handle(const HttpRequest& request) const {
    RequestOutcome outcome;
    return handle(request, outcome);
  }

  // HttpErrorWriter: the error body of the dialect `head` speaks; the default's without a head.
  [[nodiscard]] HttpResponse error_response(const HttpError& error,
                                            const HttpRequest* head) const override;

 private:
  [[nodiscard]] Dialect& dialect_for(const HttpRequest* head) const;

  std::vector<std::unique_ptr<Dialect>> dialects_;
};

}  // namespace ferry::server
