// The value rules of the seeds, one function per rule, each failing with the seed's code (Ferry's
// error vocabulary, core/error_codes.hpp). Messages name the TAT field, the vocabulary's own
// names; another dialect maps the codes, never the rules.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/server/model.hpp"

namespace ferry::server::domain {

inline constexpr std::size_t kMaxContentBase64 = 64 * 1024;
inline constexpr std::size_t kMaxCommandName = 60;
inline constexpr std::size_t kMaxDescription = 120;
inline constexpr std::size_t kMaxWorkingDirectory = 512;
inline constexpr std::size_t kMaxUsername = 256;
inline constexpr std::size_t kMaxTags = 10;
// Cloud Assistant's limits for the same fields (TextRules::kCloudAssistant).
inline constexpr std::size_t kMaxAcsCommandName = 128;
inline constexpr std::size_t kMaxAcsDescription = 512;
inline constexpr std::size_t kMaxAcsTags = 20;
// Cloud Assistant's Launcher.
inline constexpr std::size_t kMaxLauncher = 1024;
inline constexpr std::size_t kMaxCosKeyPrefix = 60;
// An instance's name, given by ModifyInstancesAttribute or made at registration.
inline constexpr std::size_t kMaxInstanceName = 60;
// The page size with which the domain reads a whole listing from the store.
inline constexpr int64_t kListAllPage = 500;
// Ids one Describe*, Delete* or Cancel* call may name.
inline constexpr std::size_t kMaxIds = 100;

// [a-zA-Z0-9_.-], 1..60 bytes; `allow_non_ascii` (ModifyCommand) also lets UTF-8 letters such as
// Chinese through. InvalidParameterValue.InvalidCommandName.
Status validate_command_name(std::string_view name, bool allow_non_ascii);
// At most 120 characters (UTF-8 code points). InvalidParameterValue.TooLong.
Status validate_description(std::string_view description);
// Base64 of at most 64 KB that decodes to a non-empty script.
// InvalidParameterValue.TooLong / InvalidParameterValue.CommandContentInvalid.
Status validate_content(std::string_view content_base64);
// SHELL, POWERSHELL or BAT. InvalidParameterValue.
Status validate_command_type(std::string_view type);
// Absolute for SHELL ("/..."), a drive or UNC path otherwise; no control characters.
// InvalidParameterValue.InvalidWorkingDirectory.
Status validate_working_directory(std::string_view dir, std::string_view command_type);
// 1..86400. InvalidParameterValue.Range.
Status validate_timeout(int64_t timeout);
// An account name: 1..256 of [A-Za-z0-9._-], '\' and '@' (Windows domain users), '$' at the
// end. InvalidParameterValue.InvalidUsername.
Status validate_username(std::string_view username);
// A bucket URL as cos::parse_bucket_url reads it, http only to the `allow_http_hosts`
// ("host:port", the server's allow_http_bucket_hosts). The syntax alone: whether the server
// holds credentials for the bucket is cos::usable_bucket's question.
// InvalidParameterValue.InvalidOutputCOSBucketUrl.
Status validate_cos_bucket_url(std::string_view url,
                               const std::vector<std::string>& allow_http_hosts);
// <= 60 characters, visible, no leading '/', no "//", no ".." segment.
// InvalidParameterValue.InvalidOutputCOSKeyPrefix.
Status validate_cos_key_prefix(std::string_view prefix);
// At most `max`, keys 1..128 characters, values <= 256, no duplicate keys.
Status validate_tags(const std::vector<Tag>& tags, std::size_t max = kMaxTags);
// At most `max` ids, each a well-formed instance id, no duplicates.
// InvalidParameterValue.LimitExceeded / InvalidParameterValue.InvalidInstanceId.
Status validate_instance_ids(const std::vector<std::string>& ids, std::size_t max);

// `id` is cmd-xxxxxxxx (8 of [a-z0-9]). InvalidParameterValue.InvalidCommandId.
Status validate_command_id(const std::string& id);
// Every id is `prefix` and 8 of [a-z0-9] ("inv-", "invt-", "cmd-"); `code` and `field` name the
// refusal.
Status validate_ids(const std::vector<std::string>& ids, std::string_view prefix, const char* code,
                    std::string_view field);
// At most kMaxIds ids. InvalidParameterValue.LimitExceeded naming `field`.
Status validate_id_count(const std::vector<std::string>& ids, std::string_view field);

// InvalidParameterValue, "`field`: `what`".
Error invalid_value(std::string_view field, std::string_view what);

// A free text of at most `max` characters without control characters (register codes'
// Description and InstanceNamePrefix). InvalidParameterValue.TooLong / InvalidParameterValue.
Status validate_text(std::string_view field, std::string_view value, std::size_t max);

}  // namespace ferry::server::domain
