// The output buckets' configuration keys. Secrets are checked for their form only and never
// appear in a message: every refusal names the entry (the bucket URL, which is not secret) and
// the sub-key.
#include "config_buckets.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <string_view>

#include "ferry/core/error_codes.hpp"

namespace ferry::server {
namespace {

constexpr std::size_t kMaxAccessKeyId = 128;
constexpr std::size_t kMaxSecretAccessKey = 1024;
// STS session tokens run to a few KiB.
constexpr std::size_t kMaxSessionToken = 16384;
constexpr std::size_t kMaxRegion = 64;

Error bucket_config_error(std::string_view key, std::string_view what) {
  return Error{codes::kInvalidParameterValue,
               "key \"" + std::string(key) + "\": " + std::string(what)};
}

// `key "buckets" entry "https://...": what`; the entry quoted as JSON, so that whatever it holds
// stays on one line.
Error bucket_entry_error(std::string_view entry, std::string_view what) {
  return bucket_config_error("buckets",
                             "entry " + nlohmann::json(entry).dump() + ": " + std::string(what));
}

bool is_visible_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

bool is_region_name(std::string_view s) {
  return !s.empty() && s.size() <= kMaxRegion && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

// One sub-key of an entry: where it goes, whether it is required, its longest value. A bad
// value is never quoted back: the rule says enough, and most of these are secrets.
struct BucketField {
  std::string* target;
  bool required;
  std::size_t max;
};

Expected<cos::BucketCredentials> read_bucket_entry(const std::string& entry,
                                                   const nlohmann::json& value) {
  if (!value.is_object()) {
    return bucket_entry_error(
        entry,
        "must be an object {\"AccessKeyId\", \"SecretAccessKey\", \"SessionToken\", "
        "\"Region\"}");
  }
  cos::BucketCredentials c;
  const std::map<std::string, BucketField, std::less<>> fields = {
      {"AccessKeyId", {&c.credentials.access_key_id, true, kMaxAccessKeyId}},
      {"SecretAccessKey", {&c.credentials.secret_access_key, true, kMaxSecretAccessKey}},
      {"SessionToken", {&c.credentials.session_token, false, kMaxSessionToken}},
      {"Region", {&c.region, false, kMaxRegion}},
  };
  for (const auto& [k, v] : value.items()) {
    const auto it = fields.find(k);
    if (it == fields.end()) {
      return bucket_entry_error(entry, "unknown key " + nlohmann::json(k).dump() +
                                           " (AccessKeyId, SecretAccessKey, SessionToken and "
                                           "Region are known)");
    }
    if (!v.is_string()) {
      return bucket_entry_error(entry, k + " must be a string");
    }
    *it->second.target = v.get<std::string>();
  }
  for (const auto& [name, field] : fields) {
    const std::string& v = *field.target;
    if (v.empty()) {
      if (field.required) {
        return bucket_entry_error(entry, name + " is required and must not be empty");
      }
      continue;  // an optional key given as "" is not given
    }
    const bool ok =
        name == "Region" ? is_region_name(v) : is_visible_ascii(v) && v.size() <= field.max;
    if (!ok) {
      return bucket_entry_error(
          entry,
          name + (name == "Region" ? " must be 1 to 64 letters, digits, '-' and '_'"
                                   : " must be 1 to " + std::to_string(field.max) +
                                         " visible ASCII characters (no spaces or line breaks)"));
    }
  }
  return c;
}

// The entry's name as credentials are looked up: "default", or the URL's normal form.
Expected<std::string> bucket_entry_name(const std::string& entry) {
  if (entry == cos::kDefaultBucketEntry) {
    return entry;
  }
  auto url = cos::parse_configured_bucket_url(entry);
  if (!url) {
    std::string_view why = url.error().message;
    constexpr std::string_view kField = "OutputCOSBucketUrl: ";
    if (why.substr(0, kField.size()) == kField) {
      why.remove_prefix(kField.size());
    }
    return bucket_entry_error(entry, "must be \"default\" or a bucket URL: " + std::string(why));
  }
  return url->to_string();
}

bool is_host_port_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == ':' || c == '[' || c == ']';
}

// HOST:PORT, [IPv6]:PORT: the port 1..65535 required, the host as a bucket URL's host must be.
bool is_http_bucket_host(const std::string& entry) {
  if (entry.empty() || entry.size() > 300 ||
      !std::all_of(entry.begin(), entry.end(), is_host_port_char)) {
    return false;
  }
  const auto colon = entry.rfind(':');
  const auto close = entry.rfind(']');
  if (colon == std::string::npos || (close != std::string::npos && colon < close)) {
    return false;  // no port
  }
  const std::string port = entry.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  const int number = std::stoi(port);
  if (number < 1 || number > 65535) {
    return false;
  }
  // The bucket URL parser checks the host (DNS name, IPv4, [IPv6]) the way the URLs it is
  // compared with are checked.
  return cos::parse_configured_bucket_url("http://" + entry + "/bucket").has_value();
}

}  // namespace

Status read_buckets_key(const nlohmann::json& v, cos::BucketCredentialsConfig& out) {
  if (!v.is_object()) {
    return bucket_config_error(
        "buckets", "must be an object of bucket URL (or \"default\") to {\"AccessKeyId\", ...}");
  }
  cos::BucketCredentialsConfig read;
  std::map<std::string, std::string> spelled;  // normal form -> the entry as written
  for (const auto& [entry, value] : v.items()) {
    auto name = bucket_entry_name(entry);
    if (!name) {
      return name.error();
    }
    auto credentials = read_bucket_entry(entry, value);
    if (!credentials) {
      return credentials.error();
    }
    if (const auto [it, fresh] = spelled.emplace(*name, entry); !fresh) {
      return bucket_entry_error(entry, "names the same bucket as " +
                                           nlohmann::json(it->second).dump() + " (" + *name + ")");
    }
    read.emplace(*name, std::move(*credentials));
  }
  out = std::move(read);
  return {};
}

Status read_allow_http_bucket_hosts_key(const nlohmann::json& v, std::vector<std::string>& out) {
  if (!v.is_array() ||
      !std::all_of(v.begin(), v.end(), [](const nlohmann::json& e) { return e.is_string(); })) {
    return bucket_config_error("allow_http_bucket_hosts",
                               "must be an array of \"HOST:PORT\" strings");
  }
  out = v.get<std::vector<std::string>>();
  return {};
}

Status validate_output_bucket_config(const ServerConfig& c) {
  for (std::size_t i = 0; i < c.allow_http_bucket_hosts.size(); ++i) {
    const std::string& entry = c.allow_http_bucket_hosts[i];
    if (!is_http_bucket_host(entry)) {
      return bucket_config_error(
          "allow_http_bucket_hosts[" + std::to_string(i) + "]",
          nlohmann::json(entry).dump() +
              " must be HOST:PORT: a DNS name or an IP address ([IPv6] in brackets) and a port "
              "from 1 to 65535 (the key's entries first, then --allow-http-bucket-host's)");
    }
  }
  if (c.output_url_ttl_s < cos::kMinUrlTtlSeconds || c.output_url_ttl_s > cos::kMaxUrlTtlSeconds) {
    return bucket_config_error("output_url_ttl_s",
                               "must be in [" + std::to_string(cos::kMinUrlTtlSeconds) + ", " +
                                   std::to_string(cos::kMaxUrlTtlSeconds) + "], not " +
                                   std::to_string(c.output_url_ttl_s));
  }
  return {};
}

cos::OutputBuckets output_buckets(const ServerConfig& c, cos::EnvironmentLookup environment) {
  cos::OutputBuckets o;
  o.credentials = c.buckets;
  o.allow_http_hosts = c.allow_http_bucket_hosts;
  o.environment = std::move(environment);
  o.url_ttl_s = c.output_url_ttl_s;
  return o;
}

std::optional<std::string> config_file_exposure_warning(const std::filesystem::path& file,
                                                        const ServerConfig& c) {
  struct stat st {};
  if (c.buckets.empty() || ::stat(file.c_str(), &st) != 0 ||
      (st.st_mode & (S_IRGRP | S_IROTH)) == 0) {
    return std::nullopt;
  }
  return file.string() +
         " holds bucket secrets (key \"buckets\") and its group or others may read it: chmod 600 "
         "it";
}

}  // namespace ferry::server
