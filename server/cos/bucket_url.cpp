#include "ferry/server/cos/bucket_url.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "ferry/core/sigv4.hpp"

namespace ferry::server::cos {
namespace {

constexpr std::size_t kMaxBucketUrl = 1024;

Error bucket_url_error(std::string_view reason) {
  return Error{kInvalidBucketUrl, "OutputCOSBucketUrl: " + std::string(reason)};
}

std::string bucket_url_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool bucket_url_is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool bucket_url_is_lower_alnum(char c) {
  return bucket_url_is_digit(c) || (c >= 'a' && c <= 'z');
}

std::vector<std::string_view> bucket_url_labels(std::string_view host) {
  std::vector<std::string_view> labels;
  for (std::size_t start = 0;;) {
    const auto dot = host.find('.', start);
    labels.push_back(host.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) {
      return labels;
    }
    start = dot + 1;
  }
}

// A DNS name (lowercase already): labels of 1 to 63 letters, digits and '-', not starting or
// ending with '-', at most 253 characters, and not all digits in its last label (that would be
// a malformed IPv4 address).
bool is_dns_name(std::string_view host) {
  if (host.empty() || host.size() > 253) {
    return false;
  }
  const auto labels = bucket_url_labels(host);
  for (const auto label : labels) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
        !std::all_of(label.begin(), label.end(),
                     [](char c) { return bucket_url_is_lower_alnum(c) || c == '-'; })) {
      return false;
    }
  }
  return !std::all_of(labels.back().begin(), labels.back().end(), bucket_url_is_digit);
}

bool is_ipv4_literal(std::string_view host) {
  std::array<unsigned char, 4> out{};
  return inet_pton(AF_INET, std::string(host).c_str(), out.data()) == 1;
}

bool is_ipv6_literal(std::string_view host) {
  std::array<unsigned char, 16> out{};
  return inet_pton(AF_INET6, std::string(host).c_str(), out.data()) == 1;
}

// S3's and COS's bucket names: 3 to 63 of [a-z0-9-] (and '.' when `dots`), starting and ending
// with a letter or digit, no "..".
bool is_bucket_name(std::string_view name, bool dots) {
  return name.size() >= 3 && name.size() <= 63 && bucket_url_is_lower_alnum(name.front()) &&
         bucket_url_is_lower_alnum(name.back()) && name.find("..") == std::string_view::npos &&
         std::all_of(name.begin(), name.end(), [dots](char c) {
           return bucket_url_is_lower_alnum(c) || c == '-' || (dots && c == '.');
         });
}

// The endpoint part of a host (what follows the bucket label in virtual-hosted style, the whole
// host in path style) and the region it names: cos.<region>.myqcloud.com or
// s3.<region>.amazonaws.com. `service` tells whether it is a known service endpoint at all
// (then a virtual-hosted URL must name a bucket in front of it).
struct KnownEndpoint {
  bool service = false;
  std::string region;
};

KnownEndpoint known_endpoint(const std::vector<std::string_view>& labels, std::size_t from) {
  const std::size_t n = labels.size() - from;
  const auto at = [&](std::size_t i) { return labels[from + i]; };
  if (n == 4 && at(0) == "cos" && at(2) == "myqcloud" && at(3) == "com") {
    return {true, std::string(at(1))};
  }
  if (n == 4 && at(0) == "s3" && at(2) == "amazonaws" && at(3) == "com") {
    return {true, std::string(at(1))};
  }
  if (n == 3 && at(0) == "s3" && at(1) == "amazonaws" && at(2) == "com") {
    return {true, ""};  // the global endpoint: the region is the configuration's to say
  }
  return {};
}

bool http_allowed(const BucketUrl& b, const std::vector<std::string>& allow_http_hosts) {
  const bool v6 = b.host.find(':') != std::string::npos;
  const std::string with_port =
      (v6 ? "[" + b.host + "]" : b.host) + ":" + std::to_string(b.port == 0 ? 80 : b.port);
  return std::any_of(
      allow_http_hosts.begin(), allow_http_hosts.end(),
      [&](const std::string& entry) { return bucket_url_lower(entry) == with_port; });
}

Expected<BucketUrl> parse_bucket_url_impl(std::string_view url,
                                          const std::vector<std::string>& allow_http,
                                          bool any_http) {
  const Error form = bucket_url_error(
      "must be a bucket URL such as https://examplebucket-1250000000.cos.ap-beijing.myqcloud.com "
      "or https://s3.example.internal:9000/bucket");
  if (url.empty() || url.size() > kMaxBucketUrl ||
      std::any_of(url.begin(), url.end(), [](unsigned char c) { return c <= 0x20 || c >= 0x7f; })) {
    return form;
  }
  BucketUrl b;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return form;
  }
  b.scheme = bucket_url_lower(url.substr(0, scheme_end));
  if (b.scheme != "https" && b.scheme != "http") {
    return bucket_url_error("must be an https URL, not " + b.scheme);
  }
  std::string_view rest = url.substr(scheme_end + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return bucket_url_error("a bucket URL takes no query or fragment");
  }
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    return bucket_url_error("a bucket URL takes no user information");
  }

  // host[:port], [IPv6][:port]
  std::string_view host;
  std::string_view port;
  bool bracketed = false;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return form;
    }
    host = authority.substr(1, close - 1);
    bracketed = true;
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return form;
      }
      port = after.substr(1);
      if (port.empty()) {
        return bucket_url_error("an empty port");
      }
    }
  } else {
    const auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) {
        return bucket_url_error("an empty port");
      }
    }
  }
  if (host.empty()) {
    return bucket_url_error("the URL names no host");
  }
  b.host = bucket_url_lower(host);
  const bool ipv6 = bracketed && is_ipv6_literal(b.host);
  const bool ipv4 = !bracketed && is_ipv4_literal(b.host);
  if (bracketed ? !ipv6 : !(ipv4 || is_dns_name(b.host))) {
    return bucket_url_error("the host must be a DNS name or an IP address ([IPv6] in brackets)");
  }
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), bucket_url_is_digit)) {
      return bucket_url_error("the port must be a number from 1 to 65535");
    }
    const int number = std::stoi(std::string(port));
    if (number < 1 || number > 65535) {
      return bucket_url_error("the port must be a number from 1 to 65535");
    }
    b.port = (number == (b.scheme == "https" ? 443 : 80)) ? 0 : static_cast<std::uint16_t>(number);
  }

  if (b.scheme == "http" && !any_http && !http_allowed(b, allow_http)) {
    return bucket_url_error("must be an https URL (http only to a host:port the server allows)");
  }

  // The path: "", "/", "/bucket" or "/bucket/".
  if (!path.empty() && path.back() == '/') {
    path.remove_suffix(1);
  }
  const auto labels = bucket_url_labels(b.host);
  if (path.empty()) {
    b.style = BucketStyle::kVirtualHosted;
    if (ipv4 || ipv6 || labels.size() < 2) {
      return bucket_url_error(
          "names no bucket: either bucket.endpoint or endpoint/bucket (path style)");
    }
    if (known_endpoint(labels, 0).service) {
      return bucket_url_error(
          "names a service endpoint, not a bucket: put the bucket in front "
          "of the host or after it as the path");
    }
    b.bucket = std::string(labels.front());
    if (!is_bucket_name(b.bucket, false)) {
      return bucket_url_error(
          "the bucket (the host's first label) must be 3 to 63 lowercase letters, digits and "
          "'-'");
    }
    b.region = known_endpoint(labels, 1).region;
    return b;
  }
  path.remove_prefix(1);
  if (path.find('/') != std::string_view::npos) {
    return bucket_url_error("at most one path segment, the bucket, in a path-style URL");
  }
  if (!ipv4 && !ipv6 && labels.size() > 1 && known_endpoint(labels, 1).service) {
    return bucket_url_error("a virtual-hosted bucket URL takes no path");
  }
  b.style = BucketStyle::kPathStyle;
  b.bucket = std::string(path);
  if (!is_bucket_name(b.bucket, true)) {
    return bucket_url_error(
        "the bucket (the path) must be 3 to 63 lowercase letters, digits, '.' and '-'");
  }
  if (!ipv4 && !ipv6) {
    b.region = known_endpoint(labels, 0).region;
  }
  return b;
}

}  // namespace

std::string BucketUrl::authority() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != 0) {
    out.append(":").append(std::to_string(port));
  }
  return out;
}

std::string BucketUrl::to_string() const {
  std::string out = scheme + "://" + authority();
  if (style == BucketStyle::kPathStyle) {
    out.append("/").append(bucket);
  }
  return out;
}

std::string BucketUrl::object_path(std::string_view key) const {
  std::string out = "/";
  if (style == BucketStyle::kPathStyle) {
    out.append(bucket).append("/");
  }
  out.append(sigv4::uri_encode(key, true));
  return out;
}

Expected<BucketUrl> parse_bucket_url(std::string_view url,
                                     const std::vector<std::string>& allow_http_hosts) {
  return parse_bucket_url_impl(url, allow_http_hosts, false);
}

Expected<BucketUrl> parse_configured_bucket_url(std::string_view url) {
  return parse_bucket_url_impl(url, {}, true);
}

std::string object_key(std::string_view prefix, std::string_view invocation_id,
                       std::string_view task_id) {
  while (!prefix.empty() && prefix.back() == '/') {
    prefix.remove_suffix(1);
  }
  std::string key;
  for (const auto part : {prefix, invocation_id}) {
    if (!part.empty()) {
      key.append(part).append("/");
    }
  }
  return key.append(task_id).append(".log");
}

std::string object_url(const BucketUrl& bucket, std::string_view key) {
  return bucket.scheme + "://" + bucket.authority() + bucket.object_path(key);
}

}  // namespace ferry::server::cos
