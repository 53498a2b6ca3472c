// The value rules of the TAT seeds, one function per rule, each failing with the seed's code.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/server/api/params.hpp"
#include "ferry/server/model.hpp"

namespace ferry::server {

inline constexpr std::size_t kMaxContentBase64 = 64 * 1024;
inline constexpr std::size_t kMaxCommandName = 60;
inline constexpr std::size_t kMaxDescription = 120;
inline constexpr std::size_t kMaxWorkingDirectory = 512;
inline constexpr std::size_t kMaxUsername = 256;
inline constexpr std::size_t kMaxTags = 10;
inline constexpr std::size_t kMaxCosKeyPrefix = 60;
inline constexpr std::size_t kMaxFilters = 10;
inline constexpr std::size_t kMaxFilterValues = 5;
inline constexpr int64_t kMaxLimit = 100;

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
// https://..., a host and no spaces. InvalidParameterValue.InvalidOutputCOSBucketUrl.
Status validate_cos_bucket_url(std::string_view url);
// <= 60 characters, visible, no leading '/', no "//", no ".." segment.
// InvalidParameterValue.InvalidOutputCOSKeyPrefix.
Status validate_cos_key_prefix(std::string_view prefix);
// At most 10, keys 1..128 characters, values <= 256, no duplicate keys.
Status validate_tags(const std::vector<Tag>& tags);
// At most `max` ids, each a well-formed instance id, no duplicates.
// InvalidParameterValue.LimitExceeded / InvalidParameterValue.InvalidInstanceId.
Status validate_instance_ids(const std::vector<std::string>& ids, std::size_t max);

// A JSON-encoded object of string values ("Parameters", "DefaultParameters"):
// ParameterInvalidJsonFormat, ParameterKeyDuplicated, ParameterValueNotString,
// ParameterKeyContainsInvalidChar, ParameterKeyLenExceeded, ParameterNumberExceeded.
Expected<std::map<std::string, std::string>> parse_parameter_object(std::string_view field,
                                                                    std::string_view json_text);
// DefaultParameterConfs: names valid and unique (InvalidParameter.ParameterNameDuplicated).
Expected<std::map<std::string, std::string>> parameter_confs_to_map(
    const std::vector<DefaultParameterConf>& confs);
// The compact JSON text of a parameter map ("" for an empty map).
std::string parameter_map_to_json(const std::map<std::string, std::string>& params);

// Filters: at most 10, at most 5 values each, names among `allowed` (or "tag:KEY" when
// `allow_tag_pairs`). InvalidParameterValue.InvalidFilter.
Status validate_filters(const std::vector<Filter>& filters, const std::vector<std::string>& allowed,
                        bool allow_tag_pairs);
// Offset >= 0 and 1 <= Limit <= 100 (default 20). InvalidParameterValue.Range.
struct Paging {
  int64_t offset = 0;
  int64_t limit = 20;
};
Expected<Paging> read_paging(Params& params);

// The common head of the Describe* actions: `ids_field` or Filters (never both:
// InvalidParameter.ConflictParameter), Offset and Limit. `read_more` reads the action's other
// fields before the parameters are finished (so unknown ones are still refused).
struct Listing {
  std::optional<std::vector<std::string>> ids;
  std::optional<std::vector<Filter>> filters;
  Paging paging;
};
Expected<Listing> read_listing(Params& params, std::string_view ids_field,
                               const std::function<void(Params&)>& read_more = {});

// "2020-11-02T02:48:11+00:00", the seeds' form; "" for 0.
std::string format_time(int64_t ms);
// The same text in `buf`, without an allocation (for replies that format hundreds of times).
using TimeText = std::array<char, 40>;
std::string_view format_time(int64_t ms, TimeText& buf);

// IpAddressRange of a register code: "" (no limit), an IPv4 address in dotted decimal
// ("192.168.1.1") or a CIDRv4 block whose host bits are zero ("192.168.0.0/16"). Octets and the
// prefix length are plain decimal without leading zeros, so that one range has one spelling.
// InvalidParameterValue.
Status validate_ip_range(std::string_view range);
// True when `ipv4` lies in `range` (validate_ip_range's forms; "" admits every address). A
// malformed address or range admits nothing: the agent gateway refuses rather than guesses.
bool ip_in_range(std::string_view ipv4, std::string_view range);

}  // namespace ferry::server
