#include "ferry/core/sigv4.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <utility>

#include "ferry/core/crypto.hpp"
#include "ferry/core/error_codes.hpp"

namespace ferry::sigv4 {
namespace {

// 9999-12-31T23:59:59Z: past it the date would not have four digits.
constexpr std::int64_t kLastSignableTime = 253402300799;
constexpr std::string_view kUpperHex = "0123456789ABCDEF";

// The headers and query parameters the signer sets itself; a caller's copy would be signed
// twice or contradict the real one.
constexpr std::array<std::string_view, 5> kSignerHeaders = {
    "authorization", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token"};
constexpr std::array<std::string_view, 7> kSignerQueryParams = {
    "x-amz-algorithm", "x-amz-credential",     "x-amz-date",         "x-amz-expires",
    "x-amz-signature", "x-amz-security-token", "x-amz-signedheaders"};

Error sigv4_invalid(std::string message) {
  return Error{codes::kInvalidParameterValue, "SigV4: " + std::move(message)};
}

bool sigv4_is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool sigv4_is_alnum(char c) {
  return sigv4_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool sigv4_is_unreserved(char c) {
  return sigv4_is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

int sigv4_hex_value(char c) {
  if (sigv4_is_digit(c)) {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

std::string sigv4_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// RFC 9110 tchar: what a method or a header name may consist of.
bool is_token(std::string_view s) {
  constexpr std::string_view kTokenPunctuation = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return sigv4_is_alnum(c) || kTokenPunctuation.find(c) != std::string_view::npos;
  });
}

bool has_line_break(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

// Trimmed, each inner run of spaces and tabs made one space: "  a   b  " -> "a b".
std::string canonical_header_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (const char c : value) {
    if (is_blank(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) {
      out.push_back(' ');
      pending_space = false;
    }
    out.push_back(c);
  }
  return out;
}

// Region and service become parts of the '/'-separated credential scope.
bool is_scope_part(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return sigv4_is_alnum(c) || c == '-' || c == '_' || c == '.';
  });
}

bool is_payload_hash(std::string_view s) {
  if (s == kUnsignedPayload) {
    return true;
  }
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return sigv4_is_digit(c) || (c >= 'a' && c <= 'f');
         });
}

// The checks both ways of signing share. Returns the X-Amz-Date value.
Expected<std::string> check_common(std::string_view method, std::string_view region,
                                   std::string_view service, std::string_view payload_hash,
                                   std::int64_t timestamp, const Credentials& credentials) {
  if (!is_token(method)) {
    return sigv4_invalid("the method must be an HTTP token such as GET or PUT");
  }
  if (!is_scope_part(region)) {
    return sigv4_invalid("the region must be letters, digits, '-', '_' or '.', e.g. us-east-1");
  }
  if (!is_scope_part(service)) {
    return sigv4_invalid("the service must be letters, digits, '-', '_' or '.', e.g. s3");
  }
  if (!is_payload_hash(payload_hash)) {
    return sigv4_invalid(
        "the payload hash must be 64 lowercase hexadecimal characters or UNSIGNED-PAYLOAD");
  }
  const std::string_view key_id = credentials.access_key_id;
  if (key_id.empty() || !std::all_of(key_id.begin(), key_id.end(), [](char c) {
        return c > ' ' && c < 0x7f && c != '/' && c != ',';
      })) {
    return sigv4_invalid("the access key ID must be printable ASCII without spaces, '/' or ','");
  }
  if (credentials.secret_access_key.empty()) {
    return sigv4_invalid("the secret access key is empty");
  }
  if (has_line_break(credentials.session_token)) {
    return sigv4_invalid("the session token contains a line break or NUL");
  }
  return amz_date(timestamp);
}

struct HostPort {
  std::string_view name;  // IPv6 with its brackets
  std::string_view port;  // empty when none was given
};

// host[:port], [v6]:port. The name is what a URL authority may hold without escapes.
Expected<HostPort> split_host(std::string_view host) {
  const Error bad = sigv4_invalid("the host must be name[:port] or [IPv6][:port], not '" +
                                  std::string(host) + "'");
  if (has_line_break(host)) {
    return sigv4_invalid("the host contains a line break or NUL");
  }
  HostPort out;
  std::string_view rest;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos || close < 3) {
      return bad;
    }
    out.name = host.substr(0, close + 1);
    const std::string_view inside = host.substr(1, close - 1);
    if (!std::all_of(inside.begin(), inside.end(),
                     [](char c) { return sigv4_hex_value(c) >= 0 || c == ':' || c == '.'; })) {
      return bad;
    }
    rest = host.substr(close + 1);
  } else {
    const auto colon = host.find(':');
    out.name = host.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : host.substr(colon);
    if (out.name.empty() || !std::all_of(out.name.begin(), out.name.end(), sigv4_is_unreserved)) {
      return bad;
    }
  }
  if (!rest.empty()) {
    out.port = rest.substr(1);
    if (rest.front() != ':' || out.port.empty() || out.port.size() > 5 ||
        !std::all_of(out.port.begin(), out.port.end(), sigv4_is_digit)) {
      return bad;
    }
    int port = 0;
    for (const char c : out.port) {
      port = port * 10 + (c - '0');
    }
    if (port < 1 || port > 65535) {
      return bad;
    }
  }
  return out;
}

// Lowercase-insensitive membership: "X-Amz-Date" is the signer's as much as "x-amz-date".
template <std::size_t N>
bool is_reserved(std::string_view name, const std::array<std::string_view, N>& reserved) {
  const std::string lower = sigv4_lower(name);
  return std::find(reserved.begin(), reserved.end(), lower) != reserved.end();
}

std::string signature_of(std::string_view secret, std::string_view date, std::string_view region,
                         std::string_view service, std::string_view string_to_sign_text) {
  return hex_encode(hmac_sha256(signing_key(secret, date, region, service), string_to_sign_text));
}

}  // namespace

std::string uri_encode(std::string_view bytes, bool keep_slash) {
  std::string out;
  out.reserve(bytes.size());
  for (const char c : bytes) {
    if (sigv4_is_unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(c);
    } else {
      const unsigned b = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kUpperHex[b >> 4U]);
      out.push_back(kUpperHex[b & 0x0FU]);
    }
  }
  return out;
}

Expected<std::string> canonical_uri(std::string_view path, PathEncoding encoding) {
  if (path.empty()) {
    return std::string("/");
  }
  if (path.front() != '/') {
    return sigv4_invalid("the path must start with '/'");
  }
  if (path.find_first_of("?#") != std::string_view::npos) {
    return sigv4_invalid("the path must not contain '?' or '#': give query parameters apart");
  }
  if (encoding == PathEncoding::kDouble) {
    return uri_encode(path, true);
  }
  std::string decoded;
  decoded.reserve(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') {
      decoded.push_back(path[i]);
      continue;
    }
    const int high = i + 2 < path.size() ? sigv4_hex_value(path[i + 1]) : -1;
    const int low = i + 2 < path.size() ? sigv4_hex_value(path[i + 2]) : -1;
    if (high < 0 || low < 0) {
      return sigv4_invalid("the path has a '%' that does not start a %XX escape");
    }
    decoded.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return uri_encode(decoded, true);
}

std::string canonical_query(const std::vector<QueryParam>& params) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(params.size());
  for (const auto& p : params) {
    encoded.emplace_back(uri_encode(p.name, false), uri_encode(p.value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) {
      out.push_back('&');
    }
    out.append(name).append("=").append(value);
  }
  return out;
}

Expected<CanonicalHeaders> canonical_headers(const std::vector<Header>& headers) {
  // Stable, so that the values of a repeated name keep the order they were given in.
  std::vector<std::pair<std::string, std::string>> lines;
  lines.reserve(headers.size());
  for (const auto& h : headers) {
    if (!is_token(h.name)) {
      return sigv4_invalid("header name '" + h.name + "' is not an HTTP token");
    }
    if (has_line_break(h.value)) {
      return sigv4_invalid("the value of header " + h.name + " contains a line break or NUL");
    }
    lines.emplace_back(sigv4_lower(h.name), canonical_header_value(h.value));
  }
  std::stable_sort(lines.begin(), lines.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  CanonicalHeaders out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i > 0 && lines[i].first == lines[i - 1].first) {
      out.lines.pop_back();  // the '\n' of the previous value of this name
      out.lines.append(",").append(lines[i].second).append("\n");
      continue;
    }
    if (!out.signed_headers.empty()) {
      out.signed_headers.push_back(';');
    }
    out.signed_headers.append(lines[i].first);
    out.lines.append(lines[i].first).append(":").append(lines[i].second).append("\n");
  }
  return out;
}

std::string canonical_request(std::string_view method, std::string_view canonical_uri,
                              std::string_view canonical_query, const CanonicalHeaders& headers,
                              std::string_view payload_hash) {
  std::string out;
  out.reserve(method.size() + canonical_uri.size() + canonical_query.size() + headers.lines.size() +
              headers.signed_headers.size() + payload_hash.size() + 8);
  out.append(method).append("\n");
  out.append(canonical_uri).append("\n");
  out.append(canonical_query).append("\n");
  out.append(headers.lines).append("\n");
  out.append(headers.signed_headers).append("\n");
  out.append(payload_hash);
  return out;
}

Expected<std::string> amz_date(std::int64_t timestamp) {
  if (timestamp < 0 || timestamp > kLastSignableTime) {
    return sigv4_invalid("the time " + std::to_string(timestamp) +
                         " is outside 1970-01-01 to 9999-12-31");
  }
  using namespace std::chrono;
  const sys_seconds t{seconds{timestamp}};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  // Room for any int the format could print (GCC checks that at -O2); 16 characters are used.
  std::array<char, 64> buf{};
  std::snprintf(buf.data(), buf.size(), "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return std::string(buf.data());
}

std::string credential_scope(std::string_view date, std::string_view region,
                             std::string_view service) {
  std::string out(date);
  out.append("/").append(region).append("/").append(service).append("/").append(kTerminator);
  return out;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request) {
  std::string out(kAlgorithm);
  out.append("\n").append(amz_date).append("\n").append(scope).append("\n");
  out.append(sha256_hex(canonical_request));
  return out;
}

std::string signing_key(std::string_view secret_access_key, std::string_view date,
                        std::string_view region, std::string_view service) {
  std::string first_key = "AWS4";
  first_key.append(secret_access_key);
  const std::string date_key = hmac_sha256(first_key, date);
  const std::string region_key = hmac_sha256(date_key, region);
  const std::string service_key = hmac_sha256(region_key, service);
  return hmac_sha256(service_key, kTerminator);
}

Expected<SignedRequest> sign_headers(const HeaderSigningRequest& request,
                                     const Credentials& credentials) {
  auto date_time = check_common(request.method, request.region, request.service,
                                request.payload_hash, request.timestamp, credentials);
  if (!date_time) {
    return date_time.error();
  }
  if (const auto host = split_host(request.host); !host) {
    return host.error();
  }
  for (const auto& h : request.headers) {
    if (is_reserved(h.name, kSignerHeaders)) {
      return sigv4_invalid("header " + h.name + " is set by the signer, not by the caller");
    }
  }
  const auto uri = canonical_uri(request.path, request.path_encoding);
  if (!uri) {
    return uri.error();
  }

  std::vector<Header> signed_headers;
  signed_headers.reserve(request.headers.size() + 4);
  signed_headers.push_back({"Host", request.host});
  signed_headers.insert(signed_headers.end(), request.headers.begin(), request.headers.end());
  std::vector<Header> added;
  added.push_back({"X-Amz-Date", *date_time});
  if (request.content_sha256_header) {
    added.push_back({"X-Amz-Content-Sha256", request.payload_hash});
  }
  if (!credentials.session_token.empty()) {
    added.push_back({"X-Amz-Security-Token", credentials.session_token});
  }
  signed_headers.insert(signed_headers.end(), added.begin(), added.end());
  const auto headers = canonical_headers(signed_headers);
  if (!headers) {
    return headers.error();
  }

  const std::string date = date_time->substr(0, 8);
  const std::string scope = credential_scope(date, request.region, request.service);
  const std::string canonical = canonical_request(
      request.method, *uri, canonical_query(request.query), *headers, request.payload_hash);
  SignedRequest out;
  out.signature = signature_of(credentials.secret_access_key, date, request.region, request.service,
                               string_to_sign(*date_time, scope, canonical));
  out.authorization = std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + "/" +
                      scope + ", SignedHeaders=" + headers->signed_headers +
                      ", Signature=" + out.signature;
  out.headers = std::move(added);
  out.headers.push_back({"Authorization", out.authorization});
  return out;
}

Expected<std::string> presign_url(const PresignRequest& request, const Credentials& credentials) {
  auto date_time = check_common(request.method, request.region, request.service,
                                request.payload_hash, request.timestamp, credentials);
  if (!date_time) {
    return date_time.error();
  }
  if (request.expires_seconds < 1 || request.expires_seconds > kMaxExpiresSeconds) {
    return sigv4_invalid("X-Amz-Expires must be 1 to 604800 seconds (seven days), not " +
                         std::to_string(request.expires_seconds));
  }
  if (request.scheme != "https" && request.scheme != "http") {
    return sigv4_invalid("the scheme must be https or http, not '" + request.scheme + "'");
  }
  const auto host_port = split_host(request.host);
  if (!host_port) {
    return host_port.error();
  }
  const std::string_view default_port = request.scheme == "https" ? "443" : "80";
  const std::string host =
      host_port->port == default_port ? std::string(host_port->name) : request.host;
  for (const auto& p : request.query) {
    if (is_reserved(p.name, kSignerQueryParams)) {
      return sigv4_invalid("query parameter " + p.name +
                           " is set by the signer, not by the caller");
    }
  }
  const auto uri = canonical_uri(request.path, request.path_encoding);
  if (!uri) {
    return uri.error();
  }

  const std::string date = date_time->substr(0, 8);
  const std::string scope = credential_scope(date, request.region, request.service);
  std::vector<QueryParam> params = request.query;
  params.push_back({"X-Amz-Algorithm", std::string(kAlgorithm)});
  params.push_back({"X-Amz-Credential", credentials.access_key_id + "/" + scope});
  params.push_back({"X-Amz-Date", *date_time});
  params.push_back({"X-Amz-Expires", std::to_string(request.expires_seconds)});
  if (!credentials.session_token.empty()) {
    params.push_back({"X-Amz-Security-Token", credentials.session_token});
  }
  params.push_back({"X-Amz-SignedHeaders", "host"});
  const std::string query = canonical_query(params);
  const auto headers = canonical_headers({{"host", host}});
  if (!headers) {
    return headers.error();
  }
  const std::string canonical =
      canonical_request(request.method, *uri, query, *headers, request.payload_hash);
  const std::string signature =
      signature_of(credentials.secret_access_key, date, request.region, request.service,
                   string_to_sign(*date_time, scope, canonical));

  std::string url = request.scheme + "://" + host;
  if (request.path_encoding == PathEncoding::kS3) {
    url.append(*uri);
  } else {
    url.append(request.path.empty() ? std::string_view("/") : std::string_view(request.path));
  }
  url.append("?").append(query).append("&X-Amz-Signature=").append(signature);
  return url;
}

}  // namespace ferry::sigv4
