// What the Cloud Assistant actions read and write alike: paging, command content, tags, custom
// parameters, target instances. Each reader records its refusal in the AcsParams (the first one
// sticks) or returns it, always with a Cloud Assistant code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acs_fields.hpp"
#include "ferry/core/error.hpp"
#include "ferry/server/domain/context.hpp"
#include "ferry/server/domain/invocation_listings.hpp"
#include "ferry/server/model.hpp"

namespace ferry::server::acs {

using Reply = Expected<nlohmann::json>;

// PageNumber/PageSize, or MaxResults/NextToken (NextToken: the offset of the next page, as
// this server wrote it).
struct Paging {
  int64_t offset = 0;
  int64_t size = 10;
  int64_t page_number = 1;
};
Paging read_paging(AcsFields& p, int64_t max_size = 50);
// A NextToken this server wrote: the offset of the next item. InvalidNextToken otherwise.
Expected<int64_t> parse_next_token(std::string_view token);
// TotalCount, PageNumber, PageSize and NextToken ("" on the last page) into `out`.
void write_paging(nlohmann::json& out, const Paging& paging, int64_t total);

// Seed 004's content limits: the base64 of a kept command at most 18 KB, of a run's own 24 KB.
inline constexpr std::size_t kMaxKeptContent = 18 * 1024;
inline constexpr std::size_t kMaxRunContent = 24 * 1024;
// CommandContent read with ContentEncoding (PlainText unless Base64, case-insensitive), as
// base64. nullopt when absent (and `required` not set) or refused.
std::optional<std::string> read_content(AcsFields& p, std::size_t max_base64, bool required);
// The text of stored base64 content as asked: base64 by default, the decoded text for
// ContentEncoding PlainText.
std::string shown_content(const std::string& base64, bool plain_text);
// ContentEncoding of a listing: true for PlainText.
bool read_plain_text(AcsFields& p);

// `code` (an InvalidParameterCharacter.* code) when `value` has control characters or is not
// UTF-8.
void check_characters(AcsFields& p, const std::optional<std::string>& value, const char* code,
                      std::string_view name);
// WorkingDir: at most 200 bytes (InvalidParameter.WorkingDir), no control characters
// (InvalidParameterCharacter.CommandWorkingDir). nullopt when absent.
std::optional<std::string> read_working_dir(AcsFields& p);

// `name` (Type, or CommandType in listings: RunShellScript...) as Ferry's command type;
// InvalidCmdType.NotFound for others.
std::optional<std::string> read_command_type(AcsFields& p, bool required,
                                             const char* name = "Type");

// Tag.N.Key / Tag.N.Value by seed 004's rules (at most 20, keys 1..64 not starting with acs: or
// aliyun, values <= 128, no http(s)://, keys unique) and codes.
std::optional<std::vector<Tag>> read_tags(AcsFields& p);
// ResourceTag.N.Key / .Value: the same rules, at most 10, with the ResourceTag codes.
std::optional<std::vector<Tag>> read_resource_tags(AcsFields& p);
nlohmann::json tags_json(const std::vector<Tag>& tags);  // {"Tag": [{TagKey, TagValue}]}

// The custom parameter names of a script, by seed 004's rules for EnableParameter commands:
// {{}} is CmdParam.EmptyKey, a name not of [a-zA-Z0-9_-] CmdParam.InvalidParamName, over 64
// bytes CmdParamName.ExceedLimit, more than 20 distinct names CmdParamCount.ExceedLimit
// (names are case-insensitive). Built-ins ({{ACS::...}}) are not custom parameters.
Expected<std::vector<std::string>> content_parameter_names(const std::string& content_base64);

// An invocation's Parameters (a JSON object as text) for a command with `content_base64`:
// refused without EnableParameter (Parameter.Disabled), at most 10 keys of <= 64 bytes
// (ParameterCount.ExceedLimit, ParameterKey.ExceedLimit), string values
// (ParameterType.NotSupported) of UTF-8 without NUL (InvalidParameterCharset.Parameters), no key
// twice ignoring case (ParameterKey.Duplicate), every key one of the script's names
// (Parameter.NotMatched). Returns the parameters as the agent substitutes them: every name of the
// script under each of its spellings there, "" for the names not given; nullopt when the command
// takes none.
Expected<std::optional<std::string>> resolve_parameters(const std::optional<std::string>& given,
                                                        bool enable_parameter,
                                                        const std::string& content_base64);

// The instances a run targets: InstanceId.N, or every instance with all the ResourceTag.N tags
// (a tag without a Value matches any value of its key). At least one (MissingParam.InstanceId;
// InvalidResourceTag.InstanceNotFound when the tags match none), at most `max`
// (InstanceIds.ExceedLimit); both kinds at once are InvalidResourceTag.ConflictWithInstanceIds.
std::vector<std::string> read_targets(ServerContext& ctx, AcsFields& p, int64_t max);

// InvalidInstance.NotMatch when an instance of `instance_ids` reports a system that does not run
// `command_type` (Ferry's type): BAT only on Windows, SHELL everywhere but Windows; POWERSHELL
// runs on both (pwsh on Linux). Instances not found or of an unknown system pass (the domain
// answers for those).
Status check_platforms(ServerContext& ctx, std::string_view command_type,
                       const std::vector<std::string>& instance_ids);

// Whether the invocation's InvocationStatus, or the legacy InvokeStatus word made of it, is
// `wanted` (the listings' status filters take either).
bool has_invocation_status(const domain::InvocationSummary& s, std::string_view wanted);

// What a listing of invocations checks that the store cannot (names, types, the status made of
// the tasks), and what it does with each invocation of its page.
using InvocationFilter = std::function<bool(const domain::InvocationSummary&)>;
using InvocationSink = std::function<Status(const domain::InvocationSummary&)>;
// The page `paging` of the invocations that `query` (its offset and limit are set here) finds
// and `keep` admits (an empty `keep` admits all), each given to `emit` in order. Returns the
// TotalCount. With `keep`, every match is read and filtered before the page is cut, so that
// TotalCount and the pages stay exact; without it the store cuts the page. The first error of
// the store (as a Cloud Assistant code) or of `emit` (as it is) ends it.
Expected<int64_t> invocation_page(ServerContext& ctx, InvocationQuery query, const Paging& paging,
                                  const InvocationFilter& keep, const InvocationSink& emit);

}  // namespace ferry::server::acs
