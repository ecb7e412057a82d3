// Conversions between std::string_view, which entitle uses throughout, and
// absl::string_view, which Abseil's string functions take and return.
#ifndef ENTITLE_SRC_BASE_STRING_VIEW_H_
#define ENTITLE_SRC_BASE_STRING_VIEW_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace entitle {

// Debian's Abseil keeps absl::string_view a type of its own rather than an
// alias of std::string_view, and neither converts to the other implicitly.
inline absl::string_view AbslView(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}
inline std::string_view StdView(absl::string_view s) {
  return std::string_view(s.data(), s.size());
}

}  // namespace entitle

#endif  // ENTITLE_SRC_BASE_STRING_VIEW_H_
