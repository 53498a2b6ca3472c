// The TAT API's reply bodies: {"Response": {..., "RequestId"}} for a result and
// {"Response": {"Error": {"Code", "Message"}, "RequestId"}} for an error. Errors are Ferry's
// vocabulary (core/error_codes.hpp) plus the store's own codes, which are mapped here onto the
// TAT codes; the agent protocol's envelope is this one with two fields more.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "ferry/core/error.hpp"
#include "ferry/server/http_server.hpp"

namespace ferry::server {

// A random RFC 4122 version-4 UUID, e.g. "6ee3e1d1-5e4c-4b83-9c1d-0a3e4b7c9f10".
std::string new_request_id();

// The TAT error for a store error (store/store_errors.hpp; same message); any other error
// unchanged.
Error tat_error(Error error);

// {"Response": response}, with invalid UTF-8 replaced (a message may quote a client's bytes).
HttpResponse response_envelope(const nlohmann::json& response, unsigned status = 200);

// {"Code", "Message"} of tat_error(error), the value of a Response's "Error".
nlohmann::json error_fields(const Error& error);

// {"Response": {"Error": error_fields(error), "RequestId": request_id}}
HttpResponse tat_error_response(const Error& error, const std::string& request_id,
                                unsigned status = 200);

// An error the HTTP layer or the router answers, as the TAT envelope with a new RequestId:
// InvalidParameter (body or header too large, malformed), InternalError, ResourceNotFound. An
// over-size body is answered with HTTP 200, since the Tencent Cloud SDKs read the error code
// only from 200 answers and would report a bare "Payload Too Large"; the others keep theirs.
HttpResponse tat_error_response(const HttpError& error);

}  // namespace ferry::server
