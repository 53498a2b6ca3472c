#include "ferry/server/tat/tat_listing.hpp"

#include <algorithm>

#include "ferry/core/error_codes.hpp"

namespace ferry::server {
namespace {

constexpr const char* kInvalidFilter = "InvalidParameterValue.InvalidFilter";

}  // namespace

Status validate_filters(const std::vector<Filter>& filters, const std::vector<std::string>& allowed,
                        bool allow_tag_pairs) {
  if (filters.size() > kMaxFilters) {
    return Error{kInvalidFilter, "Filters: at most 10 filters"};
  }
  for (const auto& f : filters) {
    const bool known = std::find(allowed.begin(), allowed.end(), f.name) != allowed.end() ||
                       (allow_tag_pairs && f.name.rfind("tag:", 0) == 0 && f.name.size() > 4);
    if (!known) {
      return Error{kInvalidFilter, "Filters: unknown filter name '" + f.name + "'"};
    }
    if (f.values.empty() || f.values.size() > kMaxFilterValues) {
      return Error{kInvalidFilter, "Filters: " + f.name + " needs 1 to 5 values"};
    }
  }
  return {};
}

Status check_filter_values(const Filter& f, std::initializer_list<std::string_view> allowed) {
  for (const auto& v : f.values) {
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      std::string names;
      for (auto a : allowed) {
        names += (names.empty() ? "" : " or ") + std::string(a);
      }
      return Error{kInvalidFilter, "Filters: " + f.name + " is " + names + ", not " + v};
    }
  }
  return {};
}

Status apply_filters(const std::vector<Filter>& filters, std::initializer_list<FilterField> fields,
                     TagPairs* tag_pairs) {
  for (const auto& f : filters) {
    const auto field = std::find_if(fields.begin(), fields.end(),
                                    [&f](const FilterField& ff) { return ff.name == f.name; });
    if (field == fields.end()) {
      if (tag_pairs != nullptr) {
        tag_pairs->emplace_back(f.name.substr(4), f.values);
      }
      continue;
    }
    if (field->allowed.size() != 0) {
      if (auto s = check_filter_values(f, field->allowed); !s) {
        return s;
      }
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

Expected<Listing> read_listing(Params& params, const ListingRules& rules,
                               const std::function<void(Params&)>& read_more) {
  Listing listing;
  listing.ids = params.opt_string_list(rules.ids_field);
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
                 std::string(rules.ids_field) + " and Filters cannot be given together"};
  }
  if (listing.filters) {
    if (auto s = validate_filters(*listing.filters, rules.filter_names, rules.tag_filters); !s) {
      return s.error();
    }
  }
  listing.paging = *paging;
  return listing;
}

}  // namespace ferry::server
