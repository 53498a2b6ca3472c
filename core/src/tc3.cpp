#include "ferry/core/tc3.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>

namespace ferry {
namespace {

constexpr std::string_view kSpaces = " \t";
// 9999-12-31T23:59:59Z: past it the date would not have four digits.
constexpr std::int64_t kMaxTimestamp = 253402300799;

Error signature_failure(std::string message) {
  return Error{auth_codes::kSignatureFailure, std::move(message)};
}

std::string_view trim(std::string_view s) {
  const auto begin = s.find_first_not_of(kSpaces);
  if (begin == std::string_view::npos) {
    return {};
  }
  const auto end = s.find_last_not_of(kSpaces);
  return s.substr(begin, end - begin + 1);
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// "name:port" -> "name", "[::1]:port" -> "[::1]"; anything else unchanged.
std::string_view strip_port(std::string_view host) {
  std::size_t colon = std::string_view::npos;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos || close + 1 == host.size() || host[close + 1] != ':') {
      return host;
    }
    colon = close + 1;
  } else {
    colon = host.find(':');
    if (colon == std::string_view::npos || host.find(':', colon + 1) != std::string_view::npos) {
      return host;
    }
  }
  const std::string_view port = host.substr(colon + 1);
  if (port.empty() || !std::all_of(port.begin(), port.end(), is_digit)) {
    return host;
  }
  return host.substr(0, colon);
}

bool is_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') {
    return false;
  }
  for (const std::size_t i : {0U, 1U, 2U, 3U, 5U, 6U, 8U, 9U}) {
    if (!is_digit(s[i])) {
      return false;
    }
  }
  return true;
}

bool is_header_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '_';
  });
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const auto pos = s.find(sep, start);
    parts.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) {
      return parts;
    }
    start = pos + 1;
  }
}

Expected<void> parse_credential(std::string_view value, Tc3Authorization& auth) {
  const auto parts = split(value, '/');
  if (parts.size() != 4 || parts[0].empty() || parts[2].empty()) {
    return signature_failure(
        "Authorization: Credential must be <SecretId>/<YYYY-MM-DD>/<service>/tc3_request");
  }
  if (!is_date(parts[1])) {
    return signature_failure("Authorization: the Credential date must be YYYY-MM-DD");
  }
  if (parts[3] != kTc3Terminator) {
    return signature_failure("Authorization: the Credential scope must end with tc3_request");
  }
  auth.secret_id = parts[0];
  auth.date = parts[1];
  auth.service = parts[2];
  return {};
}

Expected<void> parse_signed_headers(std::string_view value, Tc3Authorization& auth) {
  std::vector<std::string> names;
  for (const auto name : split(value, ';')) {
    if (!is_header_name(name)) {
      return signature_failure(
          "Authorization: SignedHeaders must be lowercase header names separated by ';'");
    }
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      return signature_failure("Authorization: SignedHeaders names " + std::string(name) +
                               " twice");
    }
    names.emplace_back(name);
  }
  for (const std::string_view required : {"content-type", "host"}) {
    if (std::find(names.begin(), names.end(), required) == names.end()) {
      return signature_failure("Authorization: SignedHeaders must include " +
                               std::string(required));
    }
  }
  auth.signed_headers = value;
  auth.signed_header_names = std::move(names);
  return {};
}

Expected<void> parse_signature(std::string_view value, Tc3Authorization& auth) {
  if (value.size() != 64 || !std::all_of(value.begin(), value.end(), is_hex)) {
    return signature_failure("Authorization: Signature must be 64 hexadecimal characters");
  }
  auth.signature = to_lower(value);
  return {};
}

std::string canonical_request_from_hash(std::string_view method, std::string_view canonical_uri,
                                        std::string_view canonical_query,
                                        const std::vector<Tc3HeaderLine>& headers,
                                        std::string_view signed_headers,
                                        std::string_view body_sha256_hex) {
  std::string out;
  out.reserve(256);
  out.append(method).append("\n");
  out.append(canonical_uri).append("\n");
  out.append(canonical_query).append("\n");
  for (const auto& h : headers) {
    out.append(h.name).append(":").append(h.value).append("\n");
  }
  out.append("\n");
  out.append(signed_headers).append("\n");
  out.append(body_sha256_hex);
  return out;
}

std::string signature_with_key(std::string_view signing_key, std::string_view string_to_sign) {
  return hex_encode(hmac_sha256(signing_key, string_to_sign));
}

}  // namespace

Expected<Tc3Authorization> parse_tc3_authorization(std::string_view header) {
  header = trim(header);
  if (header.substr(0, kTc3Algorithm.size()) != kTc3Algorithm ||
      header.size() == kTc3Algorithm.size() ||
      kSpaces.find(header[kTc3Algorithm.size()]) == std::string_view::npos) {
    return signature_failure("Authorization: the algorithm must be TC3-HMAC-SHA256");
  }
  Tc3Authorization auth;
  bool have_credential = false;
  bool have_signed_headers = false;
  bool have_signature = false;
  for (const auto raw : split(header.substr(kTc3Algorithm.size()), ',')) {
    const std::string_view field = trim(raw);
    const auto eq = field.find('=');
    if (eq == std::string_view::npos) {
      return signature_failure(
          "Authorization: expected Credential=..., SignedHeaders=..., Signature=...");
    }
    const std::string_view key = trim(field.substr(0, eq));
    const std::string_view value = trim(field.substr(eq + 1));
    if (value.find_first_of(kSpaces) != std::string_view::npos) {
      return signature_failure("Authorization: " + std::string(key) +
                               " contains a space; fields are separated by ','");
    }
    bool* seen = nullptr;
    Expected<void> parsed;
    if (key == "Credential") {
      seen = &have_credential;
      parsed = parse_credential(value, auth);
    } else if (key == "SignedHeaders") {
      seen = &have_signed_headers;
      parsed = parse_signed_headers(value, auth);
    } else if (key == "Signature") {
      seen = &have_signature;
      parsed = parse_signature(value, auth);
    } else {
      return signature_failure("Authorization: unknown field " + std::string(key));
    }
    if (*seen) {
      return signature_failure("Authorization: " + std::string(key) + " appears twice");
    }
    if (!parsed) {
      return parsed.error();
    }
    *seen = true;
  }
  if (!have_credential || !have_signed_headers || !have_signature) {
    return signature_failure("Authorization: Credential, SignedHeaders and Signature are required");
  }
  return auth;
}

std::string tc3_date(std::int64_t timestamp) {
  using namespace std::chrono;
  const sys_seconds t{seconds{std::clamp<std::int64_t>(timestamp, 0, kMaxTimestamp)}};
  const year_month_day ymd{floor<days>(t)};
  std::array<char, 16> buf{};
  std::snprintf(buf.data(), buf.size(), "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return std::string(buf.data());
}

std::string tc3_canonical_request(std::string_view method, std::string_view canonical_uri,
                                  std::string_view canonical_query,
                                  const std::vector<Tc3HeaderLine>& headers,
                                  std::string_view signed_headers, std::string_view body) {
  return canonical_request_from_hash(method, canonical_uri, canonical_query, headers,
                                     signed_headers, sha256_hex(body));
}

std::string tc3_string_to_sign(std::int64_t timestamp, std::string_view date,
                               std::string_view service, std::string_view canonical_request) {
  std::string out(kTc3Algorithm);
  out.append("\n").append(std::to_string(timestamp)).append("\n");
  out.append(date).append("/").append(service).append("/").append(kTc3Terminator);
  out.append("\n").append(sha256_hex(canonical_request));
  return out;
}

std::string tc3_signing_key(std::string_view secret_key, std::string_view date,
                            std::string_view service) {
  std::string first_key = "TC3";
  first_key.append(secret_key);
  const std::string secret_date = hmac_sha256(first_key, date);
  const std::string secret_service = hmac_sha256(secret_date, service);
  return hmac_sha256(secret_service, kTc3Terminator);
}

std::string tc3_signature(std::string_view secret_key, std::string_view date,
                          std::string_view service, std::string_view string_to_sign) {
  return signature_with_key(tc3_signing_key(secret_key, date, service), string_to_sign);
}

Tc3SignedRequest tc3_sign_headers(const Tc3Request& request, const Tc3Credentials& credentials) {
  const std::string_view bare_host = strip_port(request.host);
  std::string service = request.service;
  if (service.empty()) {
    service = bare_host.substr(0, bare_host.find('.'));
  }
  const std::string_view signed_host =
      request.host_signing == Tc3HostSigning::kAsSent ? request.host : bare_host;

  std::vector<Tc3HeaderLine> lines = {
      {"content-type", to_lower(trim(request.content_type))},
      {"host", to_lower(trim(signed_host))},
  };
  std::string signed_headers = "content-type;host";
  if (request.sign_action) {
    lines.push_back({"x-tc-action", to_lower(trim(request.action))});
    signed_headers += ";x-tc-action";
  }

  const std::string date = tc3_date(request.timestamp);
  const std::string canonical =
      tc3_canonical_request(request.method, request.canonical_uri, request.canonical_query, lines,
                            signed_headers, request.body);
  const std::string signature =
      tc3_signature(credentials.secret_key, date, service,
                    tc3_string_to_sign(request.timestamp, date, service, canonical));

  Tc3SignedRequest out;
  out.authorization = std::string(kTc3Algorithm) + " Credential=" + credentials.secret_id + "/" +
                      date + "/" + service + "/" + std::string(kTc3Terminator) +
                      ", SignedHeaders=" + signed_headers + ", Signature=" + signature;
  out.headers = {
      {"Authorization", out.authorization},
      {"Content-Type", request.content_type},
      {"Host", request.host},
      {"X-TC-Action", request.action},
      {"X-TC-Timestamp", std::to_string(request.timestamp)},
  };
  if (!request.version.empty()) {
    out.headers.emplace_back("X-TC-Version", request.version);
  }
  if (!request.region.empty()) {
    out.headers.emplace_back("X-TC-Region", request.region);
  }
  return out;
}

Status tc3_verify(const Tc3Authorization& auth, std::string_view secret_key,
                  const Tc3HeaderMap& headers, std::string_view body, std::string_view method,
                  std::string_view canonical_uri, std::string_view canonical_query,
                  std::int64_t timestamp) {
  if (timestamp < 0 || timestamp > kMaxTimestamp) {
    return signature_failure("X-TC-Timestamp is out of range");
  }
  const std::string date = tc3_date(timestamp);
  if (auth.date != date) {
    return signature_failure("the Credential date " + auth.date +
                             " is not the UTC date of X-TC-Timestamp (" + date + ")");
  }
  if (auth.signed_header_names.empty()) {
    return signature_failure("Authorization: SignedHeaders is empty");
  }

  std::vector<std::string_view> received;
  received.reserve(auth.signed_header_names.size());
  std::size_t host_index = auth.signed_header_names.size();
  for (const auto& name : auth.signed_header_names) {
    const auto it = headers.find(name);
    if (it == headers.end()) {
      return signature_failure("signed header " + name + " is missing from the request");
    }
    if (name == "host") {
      host_index = received.size();
    }
    received.push_back(trim(it->second));
  }

  const std::string body_hash = sha256_hex(body);
  const std::string signing_key = tc3_signing_key(secret_key, auth.date, auth.service);
  const auto matches = [&](bool lowercase, bool strip_host_port) {
    std::vector<Tc3HeaderLine> lines;
    lines.reserve(received.size());
    for (std::size_t i = 0; i < received.size(); ++i) {
      std::string_view value = received[i];
      if (i == host_index && strip_host_port) {
        value = strip_port(value);
      }
      lines.push_back(
          {auth.signed_header_names[i], lowercase ? to_lower(value) : std::string(value)});
    }
    const std::string canonical = canonical_request_from_hash(
        method, canonical_uri, canonical_query, lines, auth.signed_headers, body_hash);
    const std::string expected = signature_with_key(
        signing_key, tc3_string_to_sign(timestamp, auth.date, auth.service, canonical));
    return constant_time_equal(expected, auth.signature);
  };

  const bool has_upper = std::any_of(received.begin(), received.end(), [](std::string_view v) {
    return std::any_of(v.begin(), v.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  });
  const bool has_port =
      host_index < received.size() && strip_port(received[host_index]) != received[host_index];
  for (const bool lowercase : {true, false}) {
    if (!lowercase && !has_upper) {
      break;
    }
    for (const bool strip : {false, true}) {
      if (strip && !has_port) {
        break;
      }
      if (matches(lowercase, strip)) {
        return {};
      }
    }
  }
  return signature_failure("the request signature does not match");
}

Status check_timestamp(std::int64_t timestamp, std::int64_t now, std::int64_t max_skew) {
  // Unsigned arithmetic: the distance between any two int64 values fits in a uint64.
  const auto t = static_cast<std::uint64_t>(timestamp);
  const auto n = static_cast<std::uint64_t>(now);
  const std::uint64_t distance = timestamp >= now ? t - n : n - t;
  if (max_skew >= 0 && distance <= static_cast<std::uint64_t>(max_skew)) {
    return {};
  }
  return Error{auth_codes::kSignatureExpire, "X-TC-Timestamp " + std::to_string(timestamp) +
                                                 " is " + std::to_string(distance) +
                                                 " s away from the server clock (at most " +
                                                 std::to_string(max_skew) + " s allowed)"};
}

}  // namespace ferry
