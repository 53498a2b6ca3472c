#include "ferry/server/api/validation.hpp"

#include <algorithm>
#include <ctime>
#include <set>

#include "ferry/core/base64.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/parameters.hpp"

namespace ferry::server {
namespace {

bool is_ascii_name_char(unsigned char c) {
  return std::isalnum(c) != 0 || c == '_' || c == '-' || c == '.';
}

// Counts UTF-8 code points; invalid bytes count one each.
std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (char ch : s) {
    if ((static_cast<unsigned char>(ch) & 0xC0U) != 0x80U) {
      ++n;
    }
  }
  return n;
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

}  // namespace

Status validate_command_name(std::string_view name, bool allow_non_ascii) {
  const Error bad{"InvalidParameterValue.InvalidCommandName",
                  "CommandName: 1 to 60 bytes of letters, digits, '_', '-' and '.'"};
  if (name.empty() || name.size() > kMaxCommandName) {
    return bad;
  }
  for (char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_ascii_name_char(c)) {
      continue;
    }
    if (allow_non_ascii && c >= 0x80) {
      continue;
    }
    return bad;
  }
  return {};
}

Status validate_description(std::string_view description) {
  if (utf8_length(description) > kMaxDescription) {
    return Error{codes::kTooLong, "Description: at most 120 characters"};
  }
  return {};
}

Status validate_content(std::string_view content_base64) {
  if (content_base64.size() > kMaxContentBase64) {
    return Error{codes::kTooLong, "Content: at most 64 KB of base64"};
  }
  auto decoded = base64_decode(content_base64);
  if (!decoded) {
    return Error{codes::kCommandContentInvalid, "Content: " + decoded.error().message};
  }
  if (decoded->empty()) {
    return Error{codes::kCommandContentInvalid, "Content: the command is empty"};
  }
  return {};
}

Status validate_command_type(std::string_view type) {
  if (type == "SHELL" || type == "POWERSHELL" || type == "BAT") {
    return {};
  }
  return Error{codes::kInvalidParameterValue,
               "CommandType: must be SHELL, POWERSHELL or BAT, not " + std::string(type)};
}

Status validate_working_directory(std::string_view dir, std::string_view command_type) {
  const Error bad{codes::kInvalidWorkingDirectory,
                  "WorkingDirectory: " +
                      std::string(command_type == "SHELL" ? "an absolute path such as /root"
                                                          : "a path such as C:\\Windows") +
                      ", at most 512 characters, without control characters"};
  if (dir.empty()) {
    return {};
  }
  if (dir.size() > kMaxWorkingDirectory || has_control(dir)) {
    return bad;
  }
  if (command_type == "SHELL") {
    return dir.front() == '/' ? Status{} : Status{bad};
  }
  const bool drive =
      dir.size() >= 2 && std::isalpha(static_cast<unsigned char>(dir[0])) != 0 && dir[1] == ':';
  const bool unc = dir.rfind("\\\\", 0) == 0;
  return drive || unc ? Status{} : Status{bad};
}

Status validate_timeout(int64_t timeout) {
  if (timeout < 1 || timeout > 86400) {
    return Error{codes::kRange, "Timeout: must be in [1, 86400], not " + std::to_string(timeout)};
  }
  return {};
}

Status validate_username(std::string_view username) {
  const Error bad{codes::kInvalidUsername,
                  "Username: 1 to 256 characters of letters, digits, '.', '_', '-', '\\', '@'"};
  if (username.empty() || username.size() > kMaxUsername) {
    return bad;
  }
  for (std::size_t i = 0; i < username.size(); ++i) {
    const auto c = static_cast<unsigned char>(username[i]);
    const bool ok = std::isalnum(c) != 0 || c == '.' || c == '_' || c == '-' || c == '\\' ||
                    c == '@' || (c == '$' && i + 1 == username.size());
    if (!ok) {
      return bad;
    }
  }
  if (username.front() == '-') {
    return bad;
  }
  return {};
}

Status validate_cos_bucket_url(std::string_view url) {
  const Error bad{"InvalidParameterValue.InvalidOutputCOSBucketUrl",
                  "OutputCOSBucketUrl: must be an https URL such as "
                  "https://BucketName-123454321.cos.ap-beijing.myqcloud.com"};
  constexpr std::string_view kScheme = "https://";
  if (url.size() <= kScheme.size() || url.substr(0, kScheme.size()) != kScheme ||
      url.size() > 1024 || has_control(url) || url.find(' ') != std::string_view::npos) {
    return bad;
  }
  const auto host = url.substr(kScheme.size(), url.find('/', kScheme.size()) - kScheme.size());
  if (host.empty() || host.find('@') != std::string_view::npos) {
    return bad;
  }
  return {};
}

Status validate_cos_key_prefix(std::string_view prefix) {
  const Error bad{"InvalidParameterValue.InvalidOutputCOSKeyPrefix",
                  "OutputCOSKeyPrefix: at most 60 visible characters, no leading '/', no '//', "
                  "no '..' folder"};
  if (prefix.empty()) {
    return {};
  }
  if (utf8_length(prefix) > kMaxCosKeyPrefix || prefix.front() == '/' ||
      prefix.find("//") != std::string_view::npos || has_control(prefix) ||
      prefix.find(' ') != std::string_view::npos) {
    return bad;
  }
  std::size_t start = 0;
  while (start <= prefix.size()) {
    const auto end = std::min(prefix.find('/', start), prefix.size());
    if (prefix.substr(start, end - start) == "..") {
      return bad;
    }
    start = end + 1;
  }
  return {};
}

Status validate_tags(const std::vector<Tag>& tags) {
  if (tags.size() > kMaxTags) {
    return Error{codes::kLimitExceeded, "Tags: at most 10 tags"};
  }
  std::set<std::string> keys;
  for (const auto& t : tags) {
    if (t.key.empty() || utf8_length(t.key) > 128 || utf8_length(t.value) > 256 ||
        has_control(t.key) || has_control(t.value)) {
      return Error{codes::kInvalidParameterValue,
                   "Tags: keys of 1 to 128 and values of at most 256 visible characters"};
    }
    if (!keys.insert(t.key).second) {
      return Error{codes::kInvalidParameterValue, "Tags: the key " + t.key + " appears twice"};
    }
  }
  return {};
}

Status validate_instance_ids(const std::vector<std::string>& ids, std::size_t max) {
  if (ids.size() > max) {
    return Error{codes::kLimitExceeded,
                 "InstanceIds: at most " + std::to_string(max) + " instances"};
  }
  std::set<std::string> seen;
  for (const auto& id : ids) {
    const bool well_formed =
        id.size() >= 5 && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
          return std::isalnum(c) != 0 || c == '-' || c == '_';
        });
    if (!well_formed) {
      return Error{"InvalidParameterValue.InvalidInstanceId",
                   "InstanceIds: '" + id.substr(0, 64) + "' is not an instance id"};
    }
    if (!seen.insert(id).second) {
      return Error{"InvalidParameterValue.InvalidInstanceId",
                   "InstanceIds: " + id + " appears twice"};
    }
  }
  return {};
}

Expected<std::map<std::string, std::string>> parse_parameter_object(std::string_view field,
                                                                    std::string_view json_text) {
  const std::string f(field);
  std::set<std::string> seen;
  bool duplicate = false;
  std::string duplicate_key;
  nlohmann::json::parser_callback_t cb = [&](int depth, nlohmann::json::parse_event_t event,
                                             nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 && parsed.is_string()) {
      if (!seen.insert(parsed.get<std::string>()).second && !duplicate) {
        duplicate = true;
        duplicate_key = parsed.get<std::string>();
      }
    }
    return true;
  };
  auto j = nlohmann::json::parse(json_text, cb, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error{"InvalidParameterValue.ParameterInvalidJsonFormat",
                 f + ": must be a JSON object such as {\"name\": \"value\"}"};
  }
  if (duplicate) {
    return Error{"InvalidParameterValue.ParameterKeyDuplicated",
                 f + ": the key " + duplicate_key + " appears twice"};
  }
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : j.items()) {
    if (!value.is_string()) {
      return Error{codes::kParameterValueNotString,
                   f + ": the value of " + key + " must be a string"};
    }
    out.emplace(key, value.get<std::string>());
  }
  if (auto s = validate_parameters(out); !s) {
    return s.error().wrap(f);
  }
  return out;
}

Expected<std::map<std::string, std::string>> parameter_confs_to_map(
    const std::vector<DefaultParameterConf>& confs) {
  std::map<std::string, std::string> out;
  for (const auto& c : confs) {
    if (!out.emplace(c.name, c.value).second) {
      return Error{"InvalidParameter.ParameterNameDuplicated",
                   "DefaultParameterConfs: the name " + c.name + " appears twice"};
    }
  }
  if (auto s = validate_parameters(out); !s) {
    return s.error().wrap("DefaultParameterConfs");
  }
  return out;
}

std::string parameter_map_to_json(const std::map<std::string, std::string>& params) {
  if (params.empty()) {
    return "";
  }
  return nlohmann::json(params).dump();
}

Status validate_filters(const std::vector<Filter>& filters, const std::vector<std::string>& allowed,
                        bool allow_tag_pairs) {
  if (filters.size() > kMaxFilters) {
    return Error{"InvalidParameterValue.InvalidFilter", "Filters: at most 10 filters"};
  }
  for (const auto& f : filters) {
    const bool known = std::find(allowed.begin(), allowed.end(), f.name) != allowed.end() ||
                       (allow_tag_pairs && f.name.rfind("tag:", 0) == 0 && f.name.size() > 4);
    if (!known) {
      return Error{"InvalidParameterValue.InvalidFilter",
                   "Filters: unknown filter name '" + f.name + "'"};
    }
    if (f.values.empty() || f.values.size() > kMaxFilterValues) {
      return Error{"InvalidParameterValue.InvalidFilter",
                   "Filters: " + f.name + " needs 1 to 5 values"};
    }
  }
  return {};
}

Expected<Paging> read_paging(Params& params) {
  Paging p;
  if (auto offset = params.opt_int("Offset")) {
    if (*offset < 0) {
      return Error{codes::kRange, "Offset: must not be negative"};
    }
    p.offset = *offset;
  }
  if (auto limit = params.opt_int("Limit")) {
    if (*limit < 1 || *limit > kMaxLimit) {
      return Error{codes::kRange, "Limit: must be in [1, 100]"};
    }
    p.limit = *limit;
  }
  return p;
}

Expected<Listing> read_listing(Params& params, std::string_view ids_field,
                               const std::function<void(Params&)>& read_more) {
  Listing listing;
  listing.ids = params.opt_string_list(ids_field);
  listing.filters = params.opt_filters();
  auto paging = read_paging(params);
  if (read_more) {
    read_more(params);
  }
  if (auto s = params.finish(); !s) {
    return s.error();
  }
  if (!paging) {
    return paging.error();
  }
  if (listing.ids && listing.filters) {
    return Error{"InvalidParameter.ConflictParameter",
                 std::string(ids_field) + " and Filters cannot be given together"};
  }
  listing.paging = *paging;
  return listing;
}

namespace {

// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil inverse),
// for days >= 0.
void civil_from_days(int64_t days, int64_t& year, unsigned& month, unsigned& day) {
  days += 719468;
  const int64_t era = days / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year = static_cast<int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0);
}

void put2(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

}  // namespace

std::string_view format_time(int64_t ms, TimeText& buf) {
  if (ms == 0) {
    return {};
  }
  // Years 1970 to 9999 by arithmetic: gmtime_r and strftime take glibc's time zone lock, and
  // a page of tasks formats hundreds of times. Other times keep the strftime spelling.
  constexpr int64_t kYear10000Ms = 253402300800000;
  if (ms > 0 && ms < kYear10000Ms) {
    const int64_t secs = ms / 1000;
    const int64_t days = secs / 86400;
    const auto sod = static_cast<unsigned>(secs % 86400);
    int64_t year = 0;
    unsigned month = 0;
    unsigned day = 0;
    civil_from_days(days, year, month, day);
    static constexpr std::string_view kPattern = "0000-00-00T00:00:00+00:00";
    char* out = buf.data();
    kPattern.copy(out, kPattern.size());
    const auto y = static_cast<unsigned>(year);
    put2(out, y / 100);
    put2(out + 2, y % 100);
    put2(out + 5, month);
    put2(out + 8, day);
    put2(out + 11, sod / 3600);
    put2(out + 14, sod / 60 % 60);
    put2(out + 17, sod % 60);
    return {out, kPattern.size()};
  }
  const std::time_t t = ms / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  const std::size_t n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%S+00:00", &tm);
  return {buf.data(), n};
}

std::string format_time(int64_t ms) {
  TimeText buf;
  return std::string(format_time(ms, buf));
}

namespace {

// A dotted-decimal IPv4 address as a 32-bit number; nullopt for anything else.
std::optional<uint32_t> parse_ipv4(std::string_view text) {
  uint32_t value = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (text.empty() || text.front() != '.') {
        return std::nullopt;
      }
      text.remove_prefix(1);
    }
    std::size_t n = 0;
    uint32_t octet = 0;
    while (n < text.size() && n < 4 && std::isdigit(static_cast<unsigned char>(text[n])) != 0) {
      octet = octet * 10 + static_cast<uint32_t>(text[n] - '0');
      ++n;
    }
    if (n == 0 || n > 3 || octet > 255 || (n > 1 && text.front() == '0')) {
      return std::nullopt;
    }
    value = (value << 8U) | octet;
    text.remove_prefix(n);
  }
  if (!text.empty()) {
    return std::nullopt;
  }
  return value;
}

struct Ipv4Block {
  uint32_t network = 0;
  uint32_t mask = 0;
};

std::optional<Ipv4Block> parse_ipv4_block(std::string_view range) {
  const auto slash = range.find('/');
  auto address = parse_ipv4(range.substr(0, slash));
  if (!address) {
    return std::nullopt;
  }
  unsigned prefix = 32;
  if (slash != std::string_view::npos) {
    const auto digits = range.substr(slash + 1);
    if (digits.empty() || digits.size() > 2 || (digits.size() > 1 && digits.front() == '0') ||
        !std::all_of(digits.begin(), digits.end(),
                     [](unsigned char c) { return std::isdigit(c) != 0; })) {
      return std::nullopt;
    }
    prefix = 0;
    for (char c : digits) {
      prefix = prefix * 10 + static_cast<unsigned>(c - '0');
    }
    if (prefix > 32) {
      return std::nullopt;
    }
  }
  // A shift by 32 is undefined, hence the special case of /0.
  const uint32_t mask = prefix == 0 ? 0U : ~uint32_t{0} << (32U - prefix);
  if ((*address & ~mask) != 0) {
    return std::nullopt;
  }
  return Ipv4Block{*address, mask};
}

}  // namespace

Status validate_ip_range(std::string_view range) {
  if (range.empty() || parse_ipv4_block(range)) {
    return {};
  }
  return Error{codes::kInvalidParameterValue,
               "IpAddressRange: must be an IPv4 address such as 192.168.1.1 or a CIDRv4 block "
               "with its host bits zero such as 192.168.0.0/16"};
}

bool ip_in_range(std::string_view ipv4, std::string_view range) {
  auto address = parse_ipv4(ipv4);
  if (!address) {
    return false;
  }
  if (range.empty()) {
    return true;
  }
  auto block = parse_ipv4_block(range);
  return block && (*address & block->mask) == block->network;
}

}  // namespace ferry::server
