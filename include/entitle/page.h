// Paging: which part of a listing to return, and the part returned.
//
// Every listing takes a `PageRequest` and answers with a `Page`: the store's
// tables (store.h), the services' listings, and the account queries of
// projects.h, which count in numbered pages (`PageRequest::Numbered`) and
// also report the total.
//
// Thread-safety: plain values without synchronization.
#ifndef ENTITLE_PAGE_H_
#define ENTITLE_PAGE_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace entitle {

// Which rows of a listing to return: skip `offset` rows, then at most `limit`.
// Defaults: offset 0, limit 100 (the account queries of projects.h, whose
// API default is pages of 25, are asked with Numbered(number, size)). The
// store's tables (store.h) accept `limit` in 1..kMaxPageLimit and a
// non-negative `offset`, and refuse anything else with InvalidArgument /
// `Reason::kInvalidArgument`; a listing with other bounds says so (projects.h's
// account queries: limit 1..kMaxAccountPageSize).
struct PageRequest {
  static constexpr int64_t kMaxPageLimit = 10000;

  // Page `number`, counted from 1, of pages holding `size` rows: offset
  // (number - 1) * size, limit `size`. Checks nothing: a number below 1 makes
  // a negative offset and a size below 1 a limit below 1 (with offset 0),
  // which the listings refuse. An offset past the range of int64_t is
  // clamped to it.
  static constexpr PageRequest Numbered(int64_t number, int64_t size) {
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
    int64_t offset = 0;
    if (size >= 1 && number >= 1) {
      offset = number - 1 <= kMax / size ? (number - 1) * size : kMax;
    } else if (size >= 1) {
      offset = number > kMin / size ? (number - 1) * size : kMin;
    }
    return PageRequest{.offset = offset, .limit = size};
  }

  // The page number this request asks for, counted from 1: 1 + offset /
  // limit (the division rounded toward zero, the sum clamped to int64_t), or
  // 1 when `limit` is below 1. Gives back Numbered's `number` for a size of
  // at least 1 whenever the offset was not clamped.
  constexpr int64_t number() const {
    if (limit < 1) return 1;
    const int64_t before = offset / limit;  // Pages before this one.
    return before < std::numeric_limits<int64_t>::max() ? before + 1 : before;
  }

  int64_t offset = 0;
  int64_t limit = 100;
};

// One page of a listing's answer.
template <typename T>
struct Page {
  std::vector<T> items;   // In the listing's order (the store's: key order).
  bool has_more = false;  // True when rows follow this page.
  // The rows over all pages, for listings that count them (the account
  // queries of projects.h); unset for the others, such as the store's tables,
  // whose `Count` tells.
  std::optional<int64_t> total;
};

}  // namespace entitle

#endif  // ENTITLE_PAGE_H_
