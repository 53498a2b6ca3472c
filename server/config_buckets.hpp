// Internal to server/: the configuration keys of the output buckets (`buckets`,
// `allow_http_bucket_hosts`), read and checked apart from config.cpp's other keys.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/server/config.hpp"
#include "ferry/server/cos/presigner.hpp"

namespace ferry::server {

// `buckets`: {"<bucket URL>" | "default": {"AccessKeyId", "SecretAccessKey", "SessionToken"?,
// "Region"?}}, stored by the URL's normal form. InvalidParameterValue naming the entry and the
// sub-key, never a value.
Status read_buckets_key(const nlohmann::json& v, cos::BucketCredentialsConfig& out);
// `allow_http_bucket_hosts`: an array of strings (their form is checked by
// validate_output_bucket_config, with those of --allow-http-bucket-host).
Status read_allow_http_bucket_hosts_key(const nlohmann::json& v, std::vector<std::string>& out);
// Every allow_http_bucket_hosts entry is HOST:PORT; output_url_ttl_s is in range.
Status validate_output_bucket_config(const ServerConfig& config);

}  // namespace ferry::server
