// Names people give things (SPEC SEC-6): people's display names, and the
// names of organizations, groups, roles and projects. Every service checks a
// name with `CheckName`, so one rule holds everywhere:
//
//   - valid UTF-8 (no overlong forms, surrogates or bytes above U+10FFFF); a
//     Latin-1 or otherwise mis-encoded name is refused, not repaired;
//   - no control characters (general category Cc: ASCII 0-31 and 127, C1
//     controls U+0080-U+009F), no line or paragraph separators (Zl, Zp);
//   - no invisible formatting or direction-changing characters (general
//     category Cf: zero-width space, soft hyphen, byte order mark, the
//     bidirectional controls U+200E, U+200F, U+202A-U+202E, U+2066-U+2069,
//     ...): a name is shown to other people, in lists and exports, where a
//     right-to-left override would make it read as something else. The one
//     exception is the zero-width non-joiner and joiner (U+200C, U+200D)
//     between two visible characters, which Persian, the Indic scripts and
//     emoji sequences need;
//   - not blank: when not empty, at least one character is not white space;
//   - at most `NameRules::max_characters` characters, counted as Unicode code
//     points of the NFC form (200 "Ö" are 200 characters, whatever their
//     bytes), and empty only where `NameRules::allow_empty` says so.
//
// The name is returned in NFC, so a name typed with a combining diaeresis and
// one typed with the precomposed letter are stored alike. `CheckName` trims
// nothing: the callers that trim surrounding white space do so first, as
// they always have.
//
// Thread-safe.
#ifndef ENTITLE_SRC_BASE_NAMES_H_
#define ENTITLE_SRC_BASE_NAMES_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace entitle::internal {

inline constexpr size_t kMaxNameCharacters = 200;

struct NameRules {
  // The longest name, in characters (code points of the NFC form).
  size_t max_characters = kMaxNameCharacters;
  // Whether the empty name is valid (a display name may be cleared).
  bool allow_empty = false;
};

// Checks `name`, a `what` ("organization name", "project name", ...; used in
// messages, which start "The <what> ..."), by the rules above and returns it
// in NFC. Fails with InvalidArgument and `Reason::kInvalidName`, naming the
// problem and, for a bad character, its code point and position (never
// quoting the name, which may hold what a log should not carry).
absl::StatusOr<std::string> CheckName(std::string_view name,
                                      std::string_view what,
                                      NameRules rules = {});

}  // namespace entitle::internal

#endif  // ENTITLE_SRC_BASE_NAMES_H_
