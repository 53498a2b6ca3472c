// TagResources, UntagResources, ListTagResources for the resource types Ferry keeps: instances
// (ResourceType instance or managedinstance: one kind of instance here) and Cloud Assistant
// commands.
#include <algorithm>
#include <set>

#include "acs_handlers.hpp"
#include "acs_vocabulary.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/server/acs/acs_codes.hpp"
#include "ferry/server/domain/commands.hpp"
#include "ferry/server/domain/value_rules.hpp"

namespace ferry::server::acs {
namespace {

enum class Kind { kInstance, kCommand };

std::optional<Kind> read_kind(AcsFields& p) {
  const std::string type = p.req_string("ResourceType");
  if (!p.ok()) {
    return std::nullopt;
  }
  if (type == "instance" || type == "managedinstance") {
    return Kind::kInstance;
  }
  if (type == "command") {
    return Kind::kCommand;
  }
  p.fail(Error{codes::acs::kResourceTypeNotFound,
               "The resource type " + type.substr(0, 64) +
                   " is not served here; use instance, managedinstance or command."});
  return std::nullopt;
}

const char* type_name(Kind kind) {
  return kind == Kind::kInstance ? "instance" : "command";
}

// Changes the tags of each resource, all checked before any is changed: an unknown id is
// InvalidResourceId.NotFound naming it.
Status change_tags(ServerContext& ctx, Kind kind, const std::vector<std::string>& ids,
                   const std::function<Status(std::vector<Tag>&)>& mutate) {
  for (const auto& id : ids) {
    auto done = kind == Kind::kInstance
                    ? domain::modify_instance_tags(ctx, id, mutate, domain::kMaxAcsTags)
                    : domain::modify_command_tags(ctx, id, mutate, domain::kMaxAcsTags);
    if (!done && done.error().code == "InvalidParameterValue.LimitExceeded") {
      return Error{codes::acs::kNumberExceedTags, "A resource can have at most 20 tags."};
    }
    if (!done) {
      Error e = to_acs_error(done.error());
      if (e.code == codes::acs::kInstanceNotFound || e.code == codes::acs::kCmdIdNotFound) {
        return Error{codes::acs::kResourceIdNotFound,
                     "The specified resource " + id + " does not exist."};
      }
      return e;
    }
  }
  return {};
}

std::vector<std::string> read_resource_ids(AcsFields& p) {
  auto ids = p.opt_list("ResourceId", 50);
  if (p.ok() && (!ids || ids->empty())) {
    p.fail(Error{codes::kMissingParameter,
                 "The input parameter \"ResourceId\" that is mandatory for processing this "
                 "request is not supplied."});
  }
  return ids.value_or(std::vector<std::string>{});
}

// Every item `list` finds for `q`, page by page, handed to `each`.
template <typename Query, typename List, typename Each>
Status for_each_owner(Query q, const List& list, const Each& each) {
  q.limit = domain::kListAllPage;
  for (;;) {
    auto page = list(q);
    if (!page) {
      return page.error();
    }
    for (const auto& item : page->items) {
      each(item);
    }
    q.offset += static_cast<int64_t>(page->items.size());
    if (page->items.empty() || q.offset >= page->total) {
      return {};
    }
  }
}

// One row of ListTagResources.
nlohmann::json tag_row(const std::string& id, Kind kind, const Tag& t) {
  return {{"ResourceId", id},
          {"ResourceType", type_name(kind)},
          {"TagKey", t.key},
          {"TagValue", t.value}};
}

}  // namespace

Reply tag_resources(ServerContext& ctx, AcsFields& p) {
  const auto kind = read_kind(p);
  const auto ids = read_resource_ids(p);
  const auto tags = read_tags(p);
  if (p.ok() && (!tags || tags->empty())) {
    p.fail(Error{codes::acs::kMissingTagKey, "You must specify Tag.N.Key."});
  }
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (auto s = change_tags(ctx, *kind, ids,
                           [&](std::vector<Tag>& current) {
                             for (const auto& t : *tags) {
                               auto it = std::find_if(current.begin(), current.end(),
                                                      [&](const Tag& c) { return c.key == t.key; });
                               if (it == current.end()) {
                                 current.push_back(t);
                               } else {
                                 it->value = t.value;
                               }
                             }
                             return Status{};
                           });
      !s) {
    return s.error();
  }
  return nlohmann::json::object();
}

Reply untag_resources(ServerContext& ctx, AcsFields& p) {
  const auto kind = read_kind(p);
  const auto ids = read_resource_ids(p);
  const auto keys = p.opt_list("TagKey", 20);
  const bool all = p.opt_bool("All").value_or(false);
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  std::set<std::string> removed;
  if (keys) {
    removed.insert(keys->begin(), keys->end());
  }
  if (auto s = change_tags(ctx, *kind, ids,
                           [&](std::vector<Tag>& current) {
                             // Without keys nothing is removed unless All is set.
                             std::erase_if(current, [&](const Tag& t) {
                               return removed.count(t.key) > 0 || (all && removed.empty());
                             });
                             return Status{};
                           });
      !s) {
    return s.error();
  }
  return nlohmann::json::object();
}

Reply list_tag_resources(ServerContext& ctx, AcsFields& p) {
  const auto kind = read_kind(p);
  const auto ids = p.opt_list("ResourceId", 50);
  const auto tags = read_tags(p);
  const auto token = p.opt_string("NextToken");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  // Resources with every given tag, newest first, a page of 50 rows at a time.
  constexpr int64_t kPage = 50;
  int64_t offset = 0;
  if (token && !token->empty()) {
    auto parsed = parse_next_token(*token);
    if (!parsed) {
      return parsed.error();
    }
    offset = *parsed;
  }
  std::vector<nlohmann::json> rows;
  const auto add = [&](const std::string& id, const std::vector<Tag>& owned) {
    for (const auto& t : owned) {
      rows.push_back(tag_row(id, *kind, t));
    }
  };
  TagFilter filter;
  for (const auto& t : tags.value_or(std::vector<Tag>{})) {
    filter.tag_pairs.emplace_back(
        t.key, t.value.empty() ? std::vector<std::string>{} : std::vector<std::string>{t.value});
  }
  Status read = {};
  if (*kind == Kind::kInstance) {
    RegisterInstanceQuery q;
    static_cast<TagFilter&>(q) = filter;
    q.instance_ids = ids.value_or(std::vector<std::string>{});
    read = for_each_owner(
        q, [&](const RegisterInstanceQuery& page) { return ctx.store.list_instances(page); },
        [&](const RegisterInstance& i) { add(i.instance_id, i.tags); });
  } else {
    CommandQuery q;
    static_cast<TagFilter&>(q) = filter;
    q.command_ids = ids.value_or(std::vector<std::string>{});
    read = for_each_owner(
        q, [&](const CommandQuery& page) { return ctx.store.list_commands(page); },
        [&](const Command& c) { add(c.command_id, c.tags); });
  }
  if (!read) {
    return to_acs_error(read.error());
  }
  nlohmann::json page = nlohmann::json::array();
  for (int64_t i = offset; i < static_cast<int64_t>(rows.size()) && i < offset + kPage; ++i) {
    page.push_back(std::move(rows[static_cast<std::size_t>(i)]));
  }
  const int64_t next = offset + kPage;
  return nlohmann::json{
      {"TagResources", {{"TagResource", std::move(page)}}},
      {"NextToken", next < static_cast<int64_t>(rows.size()) ? std::to_string(next) : ""}};
}

}  // namespace ferry::server::acs
