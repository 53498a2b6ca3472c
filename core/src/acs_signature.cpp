#include "ferry/core/acs_signature.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include "ferry/core/base64.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/time.hpp"

namespace ferry {
namespace {

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

std::optional<unsigned> hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return static_cast<unsigned>(c - '0');
  }
  if (c >= 'a' && c <= 'f') {
    return static_cast<unsigned>(c - 'a' + 10);
  }
  if (c >= 'A' && c <= 'F') {
    return static_cast<unsigned>(c - 'A' + 10);
  }
  return std::nullopt;
}

Expected<std::string> form_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c != '%') {
      out.push_back(c);
    } else {
      const auto hi = i + 2 < text.size() ? hex_digit(text[i + 1]) : std::nullopt;
      const auto lo = i + 2 < text.size() ? hex_digit(text[i + 2]) : std::nullopt;
      if (!hi || !lo) {
        return Error{codes::kInvalidParameter,
                     "malformed percent-escape at offset " + std::to_string(i)};
      }
      out.push_back(static_cast<char>((*hi << 4U) | *lo));
      i += 2;
    }
  }
  return out;
}

std::string_view acs_trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return {};
  }
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Error incomplete(const std::string& what) {
  return Error{kAcsIncompleteSignature, "the Authorization header is malformed: " + what};
}

Error mismatch() {
  return Error{kAcsSignatureDoesNotMatch, "Specified signature does not match our calculation."};
}

}  // namespace

std::string acs_percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4U]);
      out.push_back(kHex[c & 0xFU]);
    }
  }
  return out;
}

Expected<AcsParamList> parse_acs_form(std::string_view text) {
  AcsParamList out;
  while (!text.empty()) {
    const auto amp = text.find('&');
    const std::string_view piece = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
    if (piece.empty()) {
      continue;
    }
    const auto eq = piece.find('=');
    auto name = form_decode(piece.substr(0, eq));
    if (!name) {
      return name.error();
    }
    auto value =
        form_decode(eq == std::string_view::npos ? std::string_view{} : piece.substr(eq + 1));
    if (!value) {
      return value.error();
    }
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

std::string acs_canonical_query(const AcsParamList& params) {
  AcsParamList encoded;
  encoded.reserve(params.size());
  for (const auto& [name, value] : params) {
    encoded.emplace_back(acs_percent_encode(name), acs_percent_encode(value));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) {
      out.push_back('&');
    }
    out += name;
    out.push_back('=');
    out += value;
  }
  return out;
}

Expected<Acs3Authorization> parse_acs3_authorization(std::string_view header) {
  if (!header.starts_with(kAcs3Algorithm) || header.size() == kAcs3Algorithm.size() ||
      header[kAcs3Algorithm.size()] != ' ') {
    return incomplete("the algorithm must be ACS3-HMAC-SHA256");
  }
  std::string_view rest = header.substr(kAcs3Algorithm.size() + 1);
  Acs3Authorization auth;
  bool have_credential = false;
  bool have_signed = false;
  bool have_signature = false;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view field = acs_trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const auto eq = field.find('=');
    if (eq == std::string_view::npos) {
      return incomplete("a field without '='");
    }
    const std::string_view key = field.substr(0, eq);
    const std::string_view value = field.substr(eq + 1);
    if (key == "Credential" && !have_credential) {
      have_credential = true;
      auth.access_key_id = std::string(value);
    } else if (key == "SignedHeaders" && !have_signed) {
      have_signed = true;
      auth.signed_headers = std::string(value);
    } else if (key == "Signature" && !have_signature) {
      have_signature = true;
      auth.signature = std::string(value);
    } else {
      return incomplete("an unknown or repeated field");
    }
  }
  if (!have_credential || auth.access_key_id.empty()) {
    return incomplete("Credential is missing");
  }
  if (!have_signature || auth.signature.size() != 64 || !is_lower_hex(auth.signature)) {
    return incomplete("Signature must be 64 lowercase hex characters");
  }
  if (!have_signed || auth.signed_headers.empty()) {
    return incomplete("SignedHeaders is missing");
  }
  std::string_view names = auth.signed_headers;
  while (true) {
    const auto semi = names.find(';');
    const std::string_view name = names.substr(0, semi);
    const bool valid = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
    if (!valid) {
      return incomplete("SignedHeaders must be lowercase header names separated by ';'");
    }
    auth.signed_header_names.emplace_back(name);
    if (semi == std::string_view::npos) {
      break;
    }
    names = names.substr(semi + 1);
  }
  return auth;
}

std::string acs3_canonical_request(std::string_view method, std::string_view canonical_uri,
                                   std::string_view canonical_query, const AcsParamList& headers,
                                   std::string_view signed_headers,
                                   std::string_view hashed_payload_hex) {
  std::string out;
  out.append(method).push_back('\n');
  out.append(canonical_uri).push_back('\n');
  out.append(canonical_query).push_back('\n');
  for (const auto& [name, value] : headers) {
    out.append(name).push_back(':');
    out.append(value).push_back('\n');
  }
  out.push_back('\n');
  out.append(signed_headers).push_back('\n');
  out.append(hashed_payload_hex);
  return out;
}

std::string acs3_string_to_sign(std::string_view canonical_request) {
  return std::string(kAcs3Algorithm) + "\n" + sha256_hex(canonical_request);
}

std::string acs3_signature(std::string_view secret, std::string_view string_to_sign) {
  return hex_encode(hmac_sha256(secret, string_to_sign));
}

Status acs3_verify(const Acs3Authorization& auth, std::string_view secret,
                   const AcsHeaderMap& headers, std::string_view method,
                   std::string_view canonical_uri, const AcsParamList& query,
                   std::string_view body) {
  AcsParamList lines;
  for (const auto& name : auth.signed_header_names) {
    const auto it = headers.find(name);
    if (it == headers.end()) {
      return Error{kAcsIncompleteSignature, "the signed header " + name + " is not in the request"};
    }
    lines.emplace_back(name, std::string(acs_trim(it->second)));
  }
  const std::string payload_hash = sha256_hex(body);
  if (const auto it = headers.find("x-acs-content-sha256");
      it != headers.end() && it->second != payload_hash) {
    return Error{kAcsSignatureDoesNotMatch,
                 "the header x-acs-content-sha256 is not the SHA-256 of the body"};
  }
  const std::string canonical = acs3_canonical_request(
      method, canonical_uri, acs_canonical_query(query), lines, auth.signed_headers, payload_hash);
  const std::string expected = acs3_signature(secret, acs3_string_to_sign(canonical));
  if (!constant_time_equal(expected, auth.signature)) {
    return mismatch();
  }
  return {};
}

Acs3SignedRequest acs3_sign(const Acs3Request& request, std::string_view access_key_id,
                            std::string_view secret) {
  const std::string payload_hash = sha256_hex(request.body);
  AcsParamList lines = {{"host", request.host},
                        {"x-acs-action", request.action},
                        {"x-acs-content-sha256", payload_hash},
                        {"x-acs-date", request.date},
                        {"x-acs-signature-nonce", request.nonce},
                        {"x-acs-version", request.version}};
  lines.insert(lines.end(), request.extra_headers.begin(), request.extra_headers.end());
  std::sort(lines.begin(), lines.end());
  std::string signed_headers;
  for (auto& [name, value] : lines) {
    value = std::string(acs_trim(value));
    signed_headers += (signed_headers.empty() ? "" : ";") + name;
  }
  const std::string canonical = acs3_canonical_request(request.method, request.canonical_uri,
                                                       acs_canonical_query(request.query), lines,
                                                       signed_headers, payload_hash);
  Acs3SignedRequest out;
  out.authorization = std::string(kAcs3Algorithm) + " Credential=" + std::string(access_key_id) +
                      ",SignedHeaders=" + signed_headers +
                      ",Signature=" + acs3_signature(secret, acs3_string_to_sign(canonical));
  out.headers.assign(lines.begin(), lines.end());
  out.headers.emplace_back("authorization", out.authorization);
  std::sort(out.headers.begin(), out.headers.end());
  return out;
}

std::string acs_query_string(const AcsParamList& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) {
      out.push_back('&');
    }
    out += acs_percent_encode(name);
    out.push_back('=');
    out += acs_percent_encode(value);
  }
  return out;
}

std::string acs_date(std::int64_t unix_seconds) {
  return to_rfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds)));
}

std::string acs_v1_string_to_sign(std::string_view method, const AcsParamList& params) {
  return std::string(method) + "&%2F&" + acs_percent_encode(acs_canonical_query(params));
}

std::string acs_v1_signature(std::string_view secret, std::string_view string_to_sign) {
  return base64_encode(hmac_sha1(std::string(secret) + "&", string_to_sign));
}

Status acs_v1_verify(std::string_view method, const AcsParamList& params, std::string_view secret) {
  AcsParamList signed_params;
  signed_params.reserve(params.size());
  const std::string* signature = nullptr;
  for (const auto& param : params) {
    if (param.first != "Signature") {
      signed_params.push_back(param);
    } else if (signature != nullptr) {
      return Error{kAcsIncompleteSignature, "the parameter Signature is given more than once"};
    } else {
      signature = &param.second;
    }
  }
  if (signature == nullptr || signature->empty()) {
    return Error{kAcsIncompleteSignature, "the parameter Signature is missing"};
  }
  const std::string expected =
      acs_v1_signature(secret, acs_v1_string_to_sign(method, signed_params));
  if (!constant_time_equal(expected, *signature)) {
    return mismatch();
  }
  return {};
}

}  // namespace ferry
