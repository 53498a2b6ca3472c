#include "ferry/server/domain/register_codes.hpp"

#include <algorithm>

#include "ferry/core/crypto.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/server/domain/ip_range.hpp"
#include "ferry/server/domain/value_rules.hpp"

namespace ferry::server::domain {
namespace {

constexpr std::size_t kMaxCodeDescription = 128;
constexpr std::size_t kMaxNamePrefix = 32;
constexpr int64_t kDefaultRegisterLimit = 10;
constexpr int64_t kMaxRegisterLimit = 10000;
constexpr int64_t kDefaultEffectiveHours = 4;
constexpr int64_t kForeverHours = 99999;  // above this a code never expires
constexpr std::size_t kCodeValueLength = 32;

Status check_register_code_ids(const std::vector<std::string>& ids) {
  if (auto s = validate_id_count(ids, "RegisterCodeIds"); !s) {
    return s;
  }
  for (const auto& id : ids) {
    const bool ok = !id.empty() && id.size() <= 64 &&
                    std::all_of(id.begin(), id.end(),
                                [](unsigned char c) { return std::isalnum(c) != 0 || c == '-'; });
    if (!ok) {
      return Error{codes::kInvalidParameterValue,
                   "RegisterCodeIds: '" + id.substr(0, 64) + "' is not a register code id"};
    }
  }
  return {};
}

// Validated and without repeats, so that the store changes each code once.
Expected<std::vector<std::string>> distinct_code_ids(std::vector<std::string> ids) {
  if (auto s = check_register_code_ids(ids); !s) {
    return s.error();
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace

Expected<NewRegisterCode> create_register_code(ServerContext& ctx, const RegisterCodeFields& f) {
  RegisterCode c;
  c.description = f.description.value_or("");
  c.instance_name_prefix = f.instance_name_prefix.value_or("");
  c.register_limit = f.register_limit.value_or(kDefaultRegisterLimit);
  const int64_t hours = f.effective_hours.value_or(kDefaultEffectiveHours);
  c.ip_address_range = f.ip_address_range.value_or("");
  for (const Status& s :
       {validate_text("Description", c.description, kMaxCodeDescription),
        validate_text("InstanceNamePrefix", c.instance_name_prefix, kMaxNamePrefix),
        validate_ip_range(c.ip_address_range)}) {
    if (!s) {
      return s.error();
    }
  }
  if (c.register_limit < 1 || c.register_limit > kMaxRegisterLimit) {
    return Error{codes::kRange,
                 "RegisterLimit: must be in [1, 10000], not " + std::to_string(c.register_limit)};
  }
  if (hours < 1) {
    return Error{codes::kRange,
                 "EffectiveTime: must be at least 1 hour (above 99999: never expires), not " +
                     std::to_string(hours)};
  }
  auto existing = ctx.store.list_register_codes({}, 0, 1);
  if (!existing) {
    return existing.error();
  }
  if (existing->total >= ctx.settings.register_code_quota) {
    return Error{"ResourceUnavailable.UserHasNoQuotaCode",
                 "the quota of " + std::to_string(ctx.settings.register_code_quota) +
                     " register codes is used up"};
  }
  auto id = uuid4();
  if (!id) {
    return id.error();
  }
  auto value = random_id("", kCodeValueLength);
  if (!value) {
    return value.error();
  }
  const int64_t now = ctx.clock.now_ms();
  c.register_code_id = *id;
  c.value_hash = sha256_hex(*value);
  c.expired_ms = hours > kForeverHours ? 0 : now + hours * 3600 * 1000;
  c.enabled = true;
  c.registered_count = 0;
  c.created_ms = c.updated_ms = now;
  if (auto s = ctx.store.insert_register_code(c); !s) {
    return s.error();
  }
  return NewRegisterCode{c.register_code_id, *value};
}

Expected<Page<RegisterCode>> describe_register_codes(ServerContext& ctx,
                                                     const std::vector<std::string>& ids,
                                                     int64_t offset, int64_t limit) {
  if (auto s = check_register_code_ids(ids); !s) {
    return s.error();
  }
  return ctx.store.list_register_codes(ids, offset, limit);
}

Status set_register_codes_enabled(ServerContext& ctx, std::vector<std::string> ids, bool enabled) {
  auto distinct = distinct_code_ids(std::move(ids));
  if (!distinct) {
    return distinct.error();
  }
  return ctx.store.set_register_codes_enabled(*distinct, enabled, ctx.clock.now_ms());
}

Status delete_register_codes(ServerContext& ctx, std::vector<std::string> ids) {
  auto distinct = distinct_code_ids(std::move(ids));
  if (!distinct) {
    return distinct.error();
  }
  return ctx.store.delete_register_codes(*distinct);
}

}  // namespace ferry::server::domain
