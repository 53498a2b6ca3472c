#include "ferry/server/tat/tat_listing.hpp"

#include <algorithm>

#include "ferry/core/error_codes.hpp"

namespace ferry::server {
namespace {

constexpr const char* kInvalidFilter = "InvalidParameterValue.InvalidFilter";

// Every value of `f` among `allowed` (any when empty), or an error naming them.
Status check_values(const Filter& f, std::initializer_list<std::string_view> allowed) {
  for (const auto& v : f.values) {
    if (allowed.size() != 0 && std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      std::string names;
      for (auto a : allowed) {
        names += (names.empty() ? "" : " or ") + std::string(a);
      }
      return Error{kInvalidFilter, "Filters: " + f.name + " is " + names + ", not " + v};
    }
  }
  return {};
}

// At most 10 filters of 1 to 5 values each, each named in `fields` (or "tag:KEY" with
// `tag_pairs`), their values among the allowed ones; applied to their fields in order.
Status apply_filters(const std::vector<Filter>& filters, std::initializer_list<FilterField> fields,
                     TagPairs* tag_pairs, bool& matches_nothing) {
  if (filters.size() > kMaxFilters) {
    return Error{kInvalidFilter, "Filters: at most 10 filters"};
  }
  const auto field_of = [&fields](const Filter& f) {
    return std::find_if(fields.begin(), fields.end(),
                        [&f](const FilterField& ff) { return ff.name == f.name; });
  };
  for (const auto& f : filters) {
    const bool tag_pair = tag_pairs != nullptr && f.name.rfind("tag:", 0) == 0 && f.name.size() > 4;
    if (field_of(f) == fields.end() && !tag_pair) {
      return Error{kInvalidFilter, "Filters: unknown filter name '" + f.name + "'"};
    }
    if (f.values.empty() || f.values.size() > kMaxFilterValues) {
      return Error{kInvalidFilter, "Filters: " + f.name + " needs 1 to 5 values"};
    }
  }
  for (const auto& f : filters) {
    const auto field = field_of(f);
    if (field == fields.end()) {
      tag_pairs->emplace_back(f.name.substr(4), f.values);
      continue;
    }
    if (auto s = check_values(f, field->allowed); !s) {
      return s;
    }
    if (field->none_have || (field->shared && std::find(f.values.begin(), f.values.end(),
                                                        *field->shared) == f.values.end())) {
      matches_nothing = true;
    }
    if (field->values != nullptr) {
      if (field->replace) {
        field->values->clear();
      }
      field->values->insert(field->values->end(), f.values.begin(), f.values.end());
    }
  }
  return {};
}

}  // namespace

Expected<Paging> read_paging(Params& params) {
  Paging p;
  // Both are read before either is judged: a field left unread would be refused as unknown.
  const auto offset = params.opt_int("Offset");
  const auto limit = params.opt_int("Limit");
  if (offset) {
    if (*offset < 0) {
      return Error{codes::kRange, "Offset: must not be negative"};
    }
    p.offset = *offset;
  }
  if (limit) {
    if (*limit < 1 || *limit > kMaxLimit) {
      return Error{codes::kRange, "Limit: must be in [1, 100]"};
    }
    p.limit = *limit;
  }
  return p;
}

Expected<Listing> read_listing(Params& params, const ListingSpec& spec,
                               const std::function<void(Params&)>& read_more) {
  Listing listing;
  listing.ids = params.opt_string_list(spec.ids_field);
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
                 std::string(spec.ids_field) + " and Filters cannot be given together"};
  }
  if (listing.filters) {
    if (auto s =
            apply_filters(*listing.filters, spec.filters, spec.tag_pairs, listing.matches_nothing);
        !s) {
      return s.error();
    }
  }
  if (listing.ids && spec.ids != nullptr) {
    if (auto s = spec.check_ids(*listing.ids); !s) {
      return s.error();
    }
    *spec.ids = *listing.ids;
  }
  listing.paging = *paging;
  return listing;
}

}  // namespace ferry::server
