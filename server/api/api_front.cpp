#include "ferry/server/api/api_front.hpp"

#include <stdexcept>

namespace ferry::server {

void ApiFront::add_dialect(std::unique_ptr<Dialect> dialect) {
  dialects_.push_back(std::move(dialect));
}

Dialect& ApiFront::dialect_for(const HttpRequest* head) const {
  if (dialects_.empty()) {
    throw std::logic_error("ApiFront: no dialect added");
  }
  if (head != nullptr) {
    for (const auto& d : dialects_) {
      if (d->accepts(*head)) {
        return *d;
      }
    }
  }
  return *dialects_.front();
}

HttpResponse ApiFront::handle(const HttpRequest& request, RequestOutcome& outcome) const {
  return dialect_for(&request).handle(request, outcome);
}

HttpResponse ApiFront::error_response(const HttpError& error, const HttpRequest* head) const {
  return dialect_for(head).error_response(error);
}

}  // namespace ferry::server
