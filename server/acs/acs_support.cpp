#include "acs_support.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <set>

#include "acs_vocabulary.hpp"
#include "ferry/core/base64.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/parameters.hpp"
#include "ferry/server/acs/acs_codes.hpp"
#include "ferry/server/domain/instances.hpp"
#include "ferry/server/domain/repeats.hpp"
#include "ferry/server/domain/text.hpp"
#include "ferry/server/domain/value_rules.hpp"

namespace ferry::server::acs {
namespace {

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return lowercase(a) == lowercase(b);
}

bool has_url(std::string_view s) {
  const std::string l = lowercase(s);
  return l.find("http://") != std::string::npos || l.find("https://") != std::string::npos;
}

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
}

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(first, last - first + 1));
}

}  // namespace

Expected<int64_t> parse_next_token(std::string_view token) {
  int64_t offset = -1;
  const auto* end = token.data() + token.size();
  auto [ptr, ec] = std::from_chars(token.data(), end, offset);
  if (ec != std::errc() || ptr != end || offset < 0) {
    return Error{"InvalidNextToken", "The specified NextToken is not valid."};
  }
  return offset;
}

Paging read_paging(AcsFields& p, int64_t max_size) {
  Paging paging;
  const auto max_results = p.opt_int("MaxResults");
  const auto next_token = p.opt_string("NextToken");
  const auto page_number = p.opt_int("PageNumber");
  const auto page_size = p.opt_int("PageSize");
  if (max_results || (next_token && !next_token->empty())) {
    paging.size = max_results.value_or(10);
    if (next_token && !next_token->empty()) {
      auto offset = parse_next_token(*next_token);
      if (!offset) {
        p.fail(offset.error());
        return paging;
      }
      paging.offset = *offset;
    }
    paging.page_number = paging.size > 0 ? paging.offset / paging.size + 1 : 1;
  } else {
    paging.size = page_size.value_or(10);
    paging.page_number = page_number.value_or(1);
    if (paging.page_number < 1) {
      p.fail(Error{codes::kInvalidParameter, "PageNumber must be at least 1."});
      return paging;
    }
  }
  if (paging.size < 1 || paging.size > max_size) {
    p.fail(Error{codes::kInvalidParameter,
                 "PageSize / MaxResults must be between 1 and " + std::to_string(max_size) + "."});
    return paging;
  }
  if (!max_results && !(next_token && !next_token->empty())) {
    paging.offset = (paging.page_number - 1) * paging.size;
  }
  return paging;
}

void write_paging(nlohmann::json& out, const Paging& paging, int64_t total) {
  out["TotalCount"] = total;
  out["PageNumber"] = paging.page_number;
  out["PageSize"] = paging.size;
  const int64_t next = paging.offset + paging.size;
  out["NextToken"] = next < total ? std::to_string(next) : std::string();
}

std::optional<std::string> read_content(AcsFields& p, std::size_t max_base64, bool required) {
  auto text = required ? std::optional<std::string>(p.req_string("CommandContent"))
                       : p.opt_string("CommandContent");
  const bool base64 = iequals(p.opt_string("ContentEncoding").value_or(""), "Base64");
  if (!p.ok() || !text) {
    return std::nullopt;
  }
  std::string encoded;
  if (base64) {
    auto decoded = base64_decode(*text);
    if (!decoded) {
      p.fail(Error{codes::acs::kCmdContentDecodeError,
                   "The CommandContent can not be base64 decoded."});
      return std::nullopt;
    }
    encoded = *text;
  } else {
    encoded = base64_encode(*text);
  }
  if (encoded.size() > max_base64) {
    p.fail(Error{codes::acs::kCmdContentExceedLimit,
                 "The length of the command content exceeds the upper limit (" +
                     std::to_string(max_base64 / 1024) + " KB of base64)."});
    return std::nullopt;
  }
  if (text->empty()) {
    p.fail(Error{codes::kMissingParameter, "The input parameter \"CommandContent\" is empty."});
    return std::nullopt;
  }
  return encoded;
}

std::string shown_content(const std::string& base64, bool plain_text) {
  if (!plain_text) {
    return base64;
  }
  auto decoded = base64_decode(base64);
  return decoded ? *decoded : base64;
}

bool read_plain_text(AcsFields& p) {
  return iequals(p.opt_string("ContentEncoding").value_or(""), "PlainText");
}

void check_characters(AcsFields& p, const std::optional<std::string>& value, const char* code,
                      std::string_view name) {
  if (value && (domain::has_control(*value) || !domain::is_utf8(*value))) {
    p.fail(Error{code, "The command " + std::string(name) + " contains illegal characters."});
  }
}

std::optional<std::string> read_working_dir(AcsFields& p) {
  auto dir = p.opt_string("WorkingDir");
  if (dir && dir->size() > 200) {
    p.fail(
        Error{codes::acs::kInvalidWorkingDir, "The specified parameter WorkingDir is not valid."});
  }
  check_characters(p, dir, codes::acs::kWorkingDirCharacter, "WorkingDir");
  return dir;
}

std::optional<std::string> read_command_type(AcsFields& p, bool required, const char* name) {
  auto type = required ? std::optional<std::string>(p.req_string(name)) : p.opt_string(name);
  if (!p.ok() || !type) {
    return std::nullopt;
  }
  auto ferry_type = ferry_command_type(*type);
  if (!ferry_type) {
    p.fail(Error{codes::acs::kCmdTypeNotFound, "The specified command type does not exist."});
  }
  return ferry_type;
}

namespace {

// The codes of one kind of tag list: Tag.N (a resource's own tags) or ResourceTag.N (targets).
struct TagCodes {
  const char* name;
  std::size_t max;
  const char* too_many;
  const char* missing_key;
  const char* bad_key;
  const char* bad_value;
  const char* duplicate;
};

constexpr TagCodes kTagCodes{"Tag",
                             20,
                             codes::acs::kNumberExceedTags,
                             codes::acs::kMissingTagKey,
                             codes::acs::kTagKeyMalformed,
                             codes::acs::kTagValueMalformed,
                             codes::acs::kDuplicateTagKey};
constexpr TagCodes kResourceTagCodes{"ResourceTag",
                                     10,
                                     codes::acs::kNumberExceedResourceTags,
                                     codes::acs::kMissingResourceTagKey,
                                     codes::acs::kResourceTagKeyMalformed,
                                     codes::acs::kResourceTagValueMalformed,
                                     codes::acs::kDuplicateResourceTagKey};

std::optional<std::vector<Tag>> read_tag_list(AcsFields& p, const TagCodes& c) {
  auto items = p.opt_objects(c.name, {"Key", "Value"});
  if (!p.ok() || !items) {
    return std::nullopt;
  }
  const std::string n = c.name;
  if (items->size() > c.max) {
    p.fail(Error{c.too_many, "The number of " + n + " parameters is greater than " +
                                 std::to_string(c.max) + "."});
    return std::nullopt;
  }
  std::vector<Tag> tags;
  std::set<std::string> keys;
  for (auto& item : *items) {
    Tag t{item["Key"], item["Value"]};
    if (t.key.empty()) {
      p.fail(Error{c.missing_key, "You must specify " + n + ".N.Key."});
      return std::nullopt;
    }
    const std::string lkey = lowercase(t.key);
    if (t.key.size() > 64 || lkey.rfind("acs:", 0) == 0 || lkey.rfind("aliyun", 0) == 0 ||
        has_url(t.key)) {
      p.fail(Error{c.bad_key, "The specified " + n + ".N.Key is not valid."});
      return std::nullopt;
    }
    if (t.value.size() > 128 || has_url(t.value)) {
      p.fail(Error{c.bad_value, "The specified " + n + ".N.Value is not valid."});
      return std::nullopt;
    }
    if (!keys.insert(t.key).second) {
      p.fail(Error{c.duplicate, "The " + n + ".N.Key contain duplicate key: " + t.key});
      return std::nullopt;
    }
    tags.push_back(std::move(t));
  }
  return tags;
}

}  // namespace

std::optional<std::vector<Tag>> read_tags(AcsFields& p) {
  return read_tag_list(p, kTagCodes);
}

std::optional<std::vector<Tag>> read_resource_tags(AcsFields& p) {
  return read_tag_list(p, kResourceTagCodes);
}

nlohmann::json tags_json(const std::vector<Tag>& tags) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& t : tags) {
    list.push_back({{"TagKey", t.key}, {"TagValue", t.value}});
  }
  return {{"Tag", std::move(list)}};
}

Expected<std::vector<std::string>> content_parameter_names(const std::string& content_base64) {
  auto script = base64_decode(content_base64);
  if (!script) {
    return Error{codes::acs::kCmdContentDecodeError,
                 "The CommandContent can not be base64 decoded."};
  }
  std::vector<std::string> names;  // distinct ignoring case, first spelling first
  std::size_t at = 0;
  while ((at = script->find("{{", at)) != std::string::npos) {
    const auto close = script->find("}}", at + 2);
    if (close == std::string::npos) {
      break;
    }
    // In "{{{x}}}" the innermost braces count, as the agent substitutes.
    std::size_t open = at;
    while (open + 2 < close && (*script)[open + 2] == '{') {
      ++open;
    }
    const std::string name = trim(std::string_view(*script).substr(open + 2, close - open - 2));
    at = close + 2;
    if (lowercase(name).rfind("acs::", 0) == 0) {
      continue;
    }
    if (name.empty()) {
      return Error{codes::acs::kCmdParamEmptyKey, "Command parameters can not be empty."};
    }
    if (!std::all_of(name.begin(), name.end(), is_name_char)) {
      return Error{codes::acs::kCmdParamInvalidName,
                   "A command parameter name is invalid: " + name.substr(0, 64)};
    }
    if (name.size() > kMaxParameterNameLength) {
      return Error{codes::acs::kCmdParamNameExceedLimit,
                   "The length of the command parameter name exceeds the limit of 64."};
    }
    const bool known = std::any_of(names.begin(), names.end(),
                                   [&](const std::string& n) { return iequals(n, name); });
    if (!known) {
      names.push_back(name);
    }
  }
  if (names.size() > kMaxParameters) {
    return Error{codes::acs::kCmdParamCountExceedLimit,
                 "You've reached the limit of 20 command parameters."};
  }
  return names;
}

Expected<std::optional<std::string>> resolve_parameters(const std::optional<std::string>& given,
                                                        bool enable_parameter,
                                                        const std::string& content_base64) {
  if (!enable_parameter) {
    if (given && !given->empty() && *given != "{}") {
      return Error{codes::acs::kParameterDisabled,
                   "Parameters should not be passed when EnableParameter is false."};
    }
    return std::optional<std::string>();
  }
  auto names = content_parameter_names(content_base64);
  if (!names) {
    return names.error();
  }
  nlohmann::json object = nlohmann::json::object();
  if (given && !given->empty()) {
    if (!domain::is_utf8(*given)) {
      return Error{codes::acs::kParametersCharset,
                   "The parameter Parameters contains illegal charset: it is not UTF-8."};
    }
    try {
      object = nlohmann::json::parse(*given);
    } catch (const nlohmann::json::parse_error& e) {
      // JSON escapes can still spell what is not Unicode text: a lone surrogate.
      if (std::string_view(e.what()).find("surrogate") != std::string_view::npos) {
        return Error{codes::acs::kParametersCharset,
                     "The parameter Parameters contains illegal charset: a lone surrogate."};
      }
      return Error{codes::kInvalidParameter, "Parameters must be a JSON object."};
    } catch (const nlohmann::json::exception&) {
      // A number too large for a double (1E400) is out_of_range, not a parse_error.
      return Error{codes::kInvalidParameter, "Parameters must be a JSON object."};
    }
    if (!object.is_object()) {
      return Error{codes::kInvalidParameter, "Parameters must be a JSON object."};
    }
  }
  if (object.size() > 10) {
    return Error{codes::acs::kParameterCountExceedLimit,
                 "The number of command parameters exceeds the maximum of 10."};
  }
  std::map<std::string, std::string> by_lower;
  for (const auto& [key, value] : object.items()) {
    if (key.empty()) {
      return Error{codes::acs::kCmdParamEmptyKey, "Command parameters can not be empty."};
    }
    if (key.size() > kMaxParameterNameLength) {
      return Error{codes::acs::kParameterKeyExceedLimit,
                   "The length of the parameter key exceeds the maximum of 64."};
    }
    if (!value.is_string()) {
      return Error{codes::acs::kParameterTypeNotSupported,
                   "The type of parameter value is not supported: " + key};
    }
    // A NUL cannot reach a script: the agent's values are C strings in the end.
    if (key.find('\0') != std::string::npos ||
        value.get_ref<const std::string&>().find('\0') != std::string::npos) {
      return Error{codes::acs::kParametersCharset,
                   "The parameter Parameters contains illegal charset: NUL in " + key};
    }
    if (!by_lower.emplace(lowercase(key), value.get<std::string>()).second) {
      return Error{codes::acs::kParameterKeyDuplicate,
                   "The parameter may not contain duplicate keys: " + key};
    }
    // Captured by name: clang 14 (the fuzz build) cannot capture a structured binding.
    const std::string& name = key;
    const bool known = std::any_of(names->begin(), names->end(),
                                   [&](const std::string& n) { return iequals(n, name); });
    if (!known) {
      return Error{codes::acs::kParameterNotMatched,
                   "The parameters of creation do not match those of invocation: " + key};
    }
  }
  // The agent substitutes names as written: give the value under every spelling the script uses.
  auto script = base64_decode(content_base64);
  auto spellings = referenced_parameters(script ? *script : std::string());
  nlohmann::json resolved = nlohmann::json::object();
  for (const auto& spelling : spellings ? *spellings : *names) {
    const auto it = by_lower.find(lowercase(spelling));
    resolved[spelling] = it == by_lower.end() ? std::string() : it->second;
  }
  if (resolved.empty()) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(resolved.dump());
}

std::vector<std::string> read_targets(ServerContext& ctx, AcsFields& p, int64_t max) {
  auto ids = p.opt_list("InstanceId");
  const auto resource_tags = read_resource_tags(p);
  if (!p.ok()) {
    return {};
  }
  const auto too_many = [&] {
    p.fail(Error{
        codes::acs::kInstanceIdsExceedLimit,
        "The number of instance IDs exceeds the upper limit of " + std::to_string(max) + "."});
    return std::vector<std::string>{};
  };
  if (resource_tags && !resource_tags->empty()) {
    if (ids && !ids->empty()) {
      p.fail(Error{codes::acs::kResourceTagConflict,
                   "The specified param ResourceTag conflicts with InstanceId."});
      return {};
    }
    RegisterInstanceQuery q;
    // Every tag is its own condition; a pair without values matches on the key alone.
    for (const auto& t : *resource_tags) {
      q.tag_pairs.emplace_back(
          t.key, t.value.empty() ? std::vector<std::string>{} : std::vector<std::string>{t.value});
    }
    q.limit = max + 1;
    auto page = ctx.store.list_instances(q);
    if (!page) {
      p.fail(to_acs_error(page.error()));
      return {};
    }
    if (page->items.empty()) {
      p.fail(Error{codes::acs::kResourceTagInstanceNotFound,
                   "InstanceIds are not found by the specified ResourceTag."});
      return {};
    }
    if (page->total > max) {
      return too_many();
    }
    std::vector<std::string> found;
    for (const auto& i : page->items) {
      found.push_back(i.instance_id);
    }
    return found;
  }
  if (!ids || ids->empty()) {
    p.fail(Error{codes::acs::kMissingInstanceId, "The parameter instanceId is missing or empty."});
    return {};
  }
  if (static_cast<int64_t>(ids->size()) > max) {
    return too_many();
  }
  return *ids;
}

Status check_platforms(ServerContext& ctx, std::string_view command_type,
                       const std::vector<std::string>& instance_ids) {
  if (instance_ids.empty() || command_type == "POWERSHELL") {
    return {};
  }
  RegisterInstanceQuery q;
  q.instance_ids = instance_ids;
  q.limit = static_cast<int64_t>(instance_ids.size());
  auto page = ctx.store.list_instances(q);
  if (!page) {
    return to_acs_error(page.error());
  }
  for (const auto& instance : page->items) {
    const std::string system = domain::environment_of(instance);
    if (system.empty()) {
      continue;
    }
    const bool windows = iequals(system, "Windows");
    if ((command_type == "BAT" && !windows) || (command_type == "SHELL" && windows)) {
      return Error{codes::acs::kInstanceNotMatch,
                   "The specified instance type does not match the command: " +
                       instance.instance_id + " runs " + system};
    }
  }
  return {};
}

bool has_invocation_status(const domain::InvocationSummary& s, std::string_view wanted) {
  const std::string_view status = domain::acs_invocation_status(s.invocation, s.tasks).status;
  return status == wanted || domain::legacy_invoke_status(status) == wanted;
}

Expected<int64_t> invocation_page(ServerContext& ctx, InvocationQuery query, const Paging& paging,
                                  const InvocationFilter& keep, const InvocationSink& emit) {
  query.offset = keep ? 0 : paging.offset;
  query.limit = keep ? domain::kListAllPage : paging.size;
  int64_t total = 0;
  // Each turn reads the next page of matches; it ends at the store's total (or an empty page).
  for (;;) {
    auto page = domain::describe_invocations(ctx, query);
    if (!page) {
      return to_acs_error(page.error());
    }
    if (!keep) {
      for (const auto& s : page->items) {
        if (auto done = emit(s); !done) {
          return done.error();
        }
      }
      return page->total;
    }
    for (const auto& s : page->items) {
      if (!keep(s)) {
        continue;
      }
      ++total;
      if (total > paging.offset && total <= paging.offset + paging.size) {
        if (auto done = emit(s); !done) {
          return done.error();
        }
      }
    }
    query.offset += static_cast<int64_t>(page->items.size());
    if (page->items.empty() || query.offset >= page->total) {
      return total;
    }
  }
}

}  // namespace ferry::server::acs
