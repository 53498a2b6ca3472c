// The TAT API's listings: Offset and Limit, the ids-or-Filters head of the Describe* actions and
// the rules of Filters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/server/api/params.hpp"

namespace ferry::server {

inline constexpr std::size_t kMaxFilters = 10;
inline constexpr std::size_t kMaxFilterValues = 5;
inline constexpr int64_t kMaxLimit = 100;

// Filters: at most 10, at most 5 values each, names among `allowed` (or "tag:KEY" when
// `allow_tag_pairs`). InvalidParameterValue.InvalidFilter.
Status validate_filters(const std::vector<Filter>& filters, const std::vector<std::string>& allowed,
                        bool allow_tag_pairs);
// Every value of `f` among `allowed`: InvalidParameterValue.InvalidFilter naming them.
Status check_filter_values(const Filter& f, std::initializer_list<std::string_view> allowed);

// Offset >= 0 and 1 <= Limit <= 100 (default 20). InvalidParameterValue.Range.
struct Paging {
  int64_t offset = 0;
  int64_t limit = 20;
};
Expected<Paging> read_paging(Params& params);

// The common head of the Describe* actions: `ids_field` or Filters (never both:
// InvalidParameter.ConflictParameter), Offset and Limit. `read_more` reads the action's other
// fields before the parameters are finished (so unknown ones are still refused). Filters, when
// given, are checked against `filter_names` (validate_filters).
struct Listing {
  std::optional<std::vector<std::string>> ids;
  std::optional<std::vector<Filter>> filters;
  Paging paging;
};
struct ListingRules {
  std::string_view ids_field;
  std::vector<std::string> filter_names;
  bool tag_filters = false;  // "tag:KEY" filters
};
Expected<Listing> read_listing(Params& params, const ListingRules& rules,
                               const std::function<void(Params&)>& read_more = {});

// Where the values of the filters named `name` go: appended to `values` (or replacing what an
// earlier filter of the name put there, with `replace`; nowhere when null), once they are among
// `allowed` (check_filter_values; any value when empty).
struct FilterField {
  std::string_view name;
  std::vector<std::string>* values = nullptr;
  std::initializer_list<std::string_view> allowed = {};
  bool replace = false;
};
using TagPairs = std::vector<std::pair<std::string, std::vector<std::string>>>;
// Every filter (validated: its name is known) to its field, in order; "tag:KEY" filters to
// `tag_pairs`.
Status apply_filters(const std::vector<Filter>& filters, std::initializer_list<FilterField> fields,
                     TagPairs* tag_pairs = nullptr);

}  // namespace ferry::server
