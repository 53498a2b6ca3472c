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

// Offset >= 0 and 1 <= Limit <= 100 (default 20). InvalidParameterValue.Range.
struct Paging {
  int64_t offset = 0;
  int64_t limit = 20;
};
Expected<Paging> read_paging(Params& params);

// A filter an action knows, and where its values go: appended to `values` (or replacing what
// an earlier filter of the name put there, with `replace`; nowhere when null), once they are
// among `allowed` (any value when empty). A filter on a property that is the same for every
// item of Ferry's names it in `shared` (every invocation's InstanceKind), or sets `none_have`
// (no command of Ferry's is in a scene): then it matches every item or none, and the listing
// says which (Listing::matches_nothing).
struct FilterField {
  std::string_view name;
  std::vector<std::string>* values = nullptr;
  std::initializer_list<std::string_view> allowed = {};
  bool replace = false;
  std::optional<std::string_view> shared = std::nullopt;
  bool none_have = false;
};
using TagPairs = std::vector<std::pair<std::string, std::vector<std::string>>>;
using IdsCheck = std::function<Status(const std::vector<std::string>&)>;

// The common head of the Describe* actions.
struct ListingSpec {
  std::string_view ids_field;               // "CommandIds"
  std::vector<std::string>* ids = nullptr;  // where the ids go, once check_ids passed them
  IdsCheck check_ids = {};
  std::initializer_list<FilterField> filters = {};
  TagPairs* tag_pairs = nullptr;  // where "tag:KEY" filters go; null: the action takes none
};
struct Listing {
  std::optional<std::vector<std::string>> ids;
  std::optional<std::vector<Filter>> filters;
  Paging paging;
  // A filter on a shared property (FilterField::shared, none_have) excludes every item.
  bool matches_nothing = false;
};
// Reads `spec.ids_field` or Filters (never both: InvalidParameter.ConflictParameter), Offset
// and Limit, and puts the ids and the filters' values where `spec` says. Filters: at most 10,
// at most 5 values each, each named in `spec.filters` (InvalidParameterValue.InvalidFilter).
// `read_more` reads the action's other fields before the parameters are finished, so that
// unknown ones are still refused.
Expected<Listing> read_listing(Params& params, const ListingSpec& spec,
                               const std::function<void(Params&)>& read_more = {});
// The same, with the page put into the query's offset and limit.
template <typename Query>
Expected<Listing> read_listing(Params& params, Query& q, const ListingSpec& spec,
                               const std::function<void(Params&)>& read_more = {}) {
  auto listing = read_listing(params, spec, read_more);
  if (listing) {
    q.offset = listing->paging.offset;
    q.limit = listing->paging.limit;
  }
  return listing;
}

}  // namespace ferry::server
