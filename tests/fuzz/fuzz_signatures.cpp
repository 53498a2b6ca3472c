// The public API's signatures: the Authorization headers of TC3 (TAT) and ACS3 (Cloud
// Assistant), the form and query pairs of the Cloud Assistant, and the three verifications over
// them. Parts (fuzz_input.hpp): an Authorization header, a body, a query or form text, a host.
// Properties: a request signed by the client side verifies on the server side, whatever its
// body, parameters and host; an arbitrary header never verifies against a changed body.
#include <algorithm>
#include <cctype>
#include <string>

#include "ferry/core/acs_signature.hpp"
#include "ferry/core/tc3.hpp"
#include "fuzz_input.hpp"

namespace {

constexpr std::string_view kSecret = "fuzz-secret-key-0123456789";
constexpr std::int64_t kTimestamp = 1'714'521'600;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// A Host header as an HTTP parser would hand it over: visible ASCII, no spaces.
std::string as_host(std::string_view text) {
  std::string host;
  for (const char c : text) {
    if (c > ' ' && c < 0x7f) {
      host.push_back(c);
    }
  }
  return host.empty() ? std::string("tat.example.com") : host;
}

void tc3(std::string_view header, std::string_view body, const std::string& host) {
  ferry::Tc3HeaderMap headers{{"content-type", "application/json"}, {"host", host}};
  if (auto auth = ferry::parse_tc3_authorization(header)) {
    (void)ferry::tc3_verify(*auth, kSecret, headers, body, "POST", "/", "", kTimestamp);
  }
  ferry::Tc3Request request;
  request.host = host;
  request.body = std::string(body);
  request.action = "DescribeInvocations";
  request.version = "2020-10-28";
  request.timestamp = kTimestamp;
  request.service = "tat";
  const auto signed_request = ferry::tc3_sign_headers(request, {"AKIDfuzz", std::string(kSecret)});
  ferry::Tc3HeaderMap sent;
  for (const auto& [name, value] : signed_request.headers) {
    sent[lower(name)] = value;
  }
  auto auth = ferry::parse_tc3_authorization(signed_request.authorization);
  FERRY_FUZZ_CHECK(auth.has_value());
  FERRY_FUZZ_CHECK(
      ferry::tc3_verify(*auth, kSecret, sent, body, "POST", "/", "", kTimestamp).has_value());
  const std::string changed = std::string(body) + "x";
  FERRY_FUZZ_CHECK(
      !ferry::tc3_verify(*auth, kSecret, sent, changed, "POST", "/", "", kTimestamp).has_value());
}

void acs(std::string_view header, std::string_view body, std::string_view form,
         const std::string& host) {
  auto params = ferry::parse_acs_form(form);
  if (!params) {
    return;
  }
  (void)ferry::acs_v1_verify("POST", *params, kSecret);
  ferry::AcsHeaderMap headers{{"host", host}, {"x-acs-action", "RunCommand"}};
  if (auto auth = ferry::parse_acs3_authorization(header)) {
    (void)ferry::acs3_verify(*auth, kSecret, headers, "POST", "/", *params, body);
  }
  ferry::Acs3Request request;
  request.query = *params;
  request.body = std::string(body);
  request.host = host;
  request.action = "RunCommand";
  request.version = "2014-05-26";
  request.date = ferry::acs_date(kTimestamp);
  request.nonce = "fuzz-nonce";
  const auto signed_request = ferry::acs3_sign(request, "LTAIfuzz", kSecret);
  ferry::AcsHeaderMap sent(signed_request.headers.begin(), signed_request.headers.end());
  auto auth = ferry::parse_acs3_authorization(signed_request.authorization);
  FERRY_FUZZ_CHECK(auth.has_value());
  // The query as the server receives it: sent as acs_query_string, parsed back.
  auto received = ferry::parse_acs_form(ferry::acs_query_string(*params));
  FERRY_FUZZ_CHECK(received.has_value() && *received == *params);
  FERRY_FUZZ_CHECK(
      ferry::acs3_verify(*auth, kSecret, sent, "POST", "/", *received, body).has_value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ferry::fuzz::Parts parts(data, size);
  const auto header = parts.next();
  const auto body = parts.next();
  const auto form = parts.next();
  const auto host = as_host(parts.next());
  tc3(header, body, host);
  acs(header, body, form, host);
  return 0;
}
