#include "base/names.h"

#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/string_view.h"
#include "entitle/status.h"

namespace entitle::internal {
namespace {

constexpr ucs4_t kZeroWidthNonJoiner = 0x200C;
constexpr ucs4_t kZeroWidthJoiner = 0x200D;
// NFC composes at most four code points, of at most four bytes each, into one.
constexpr size_t kMaxBytesPerCharacter = 16;

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

absl::Status Refuse(std::string_view what, std::string_view why) {
  return MakeError(absl::StatusCode::kInvalidArgument, Reason::kInvalidName,
                   absl::StrCat("The ", AbslView(what), " ", AbslView(why)));
}

std::string At(ucs4_t uc, size_t position) {
  return absl::StrFormat("(U+%04X, character %d)", uc, position);
}

bool IsSpace(ucs4_t uc) { return uc_is_general_category(uc, UC_CATEGORY_Z); }

// Shown as something: not a control, format character or white space.
bool IsVisible(ucs4_t uc) {
  return !uc_is_general_category(uc, UC_CATEGORY_Cc) &&
         !uc_is_general_category(uc, UC_CATEGORY_Cf) && !IsSpace(uc);
}

}  // namespace

absl::StatusOr<std::string> CheckName(std::string_view name,
                                      std::string_view what, NameRules rules) {
  const std::string length_rule =
      rules.allow_empty ? absl::StrCat("must have at most ",
                                       rules.max_characters, " characters.")
                        : absl::StrCat("must have 1 to ", rules.max_characters,
                                       " characters.");
  if (name.empty()) {
    if (rules.allow_empty) return std::string();
    return Refuse(what, length_rule);
  }
  // Longer input cannot come under the limit: refused before any work.
  if (name.size() > kMaxBytesPerCharacter * rules.max_characters) {
    return Refuse(what, length_rule);
  }
  const auto* bytes = reinterpret_cast<const uint8_t*>(name.data());
  if (const uint8_t* bad = u8_check(bytes, name.size()); bad != nullptr) {
    return Refuse(what,
                  absl::StrCat("is not valid UTF-8 (byte ", bad - bytes + 1,
                               " is not part of a UTF-8 character); "
                               "names are stored as UTF-8."));
  }
  size_t length = 0;
  std::unique_ptr<uint8_t, FreeDeleter> nfc(
      u8_normalize(UNINORM_NFC, bytes, name.size(), nullptr, &length));
  if (nfc == nullptr) {
    return MakeError(absl::StatusCode::kResourceExhausted, Reason::kNone,
                     "out of memory while checking a name");
  }
  const uint8_t* const begin = nfc.get();
  const uint8_t* const end = begin + length;
  std::vector<ucs4_t> characters;
  characters.reserve(length);
  for (const uint8_t* p = begin; p < end;) {
    ucs4_t uc;
    p += u8_mbtouc(&uc, p, static_cast<size_t>(end - p));
    characters.push_back(uc);
  }
  bool blank = true;
  for (size_t i = 0; i < characters.size(); ++i) {
    const ucs4_t uc = characters[i];
    if (uc_is_general_category(uc, UC_CATEGORY_Cc)) {
      return Refuse(what, absl::StrCat("must not contain control characters ",
                                       At(uc, i + 1), "."));
    }
    if (uc_is_general_category(uc, UC_CATEGORY_Zl) ||
        uc_is_general_category(uc, UC_CATEGORY_Zp)) {
      return Refuse(what, absl::StrCat("must not contain line or paragraph "
                                       "separators ",
                                       At(uc, i + 1), "."));
    }
    if (uc_is_general_category(uc, UC_CATEGORY_Cf)) {
      const bool joiner = uc == kZeroWidthNonJoiner || uc == kZeroWidthJoiner;
      const bool between_visible = i > 0 && i + 1 < characters.size() &&
                                   IsVisible(characters[i - 1]) &&
                                   IsVisible(characters[i + 1]);
      if (!joiner || !between_visible) {
        return Refuse(what, absl::StrCat("must not contain invisible or "
                                         "direction-changing characters ",
                                         At(uc, i + 1), "."));
      }
    }
    if (!IsSpace(uc)) blank = false;
  }
  if (blank) return Refuse(what, "must not be blank.");
  if (characters.size() > rules.max_characters) {
    return Refuse(what, length_rule);
  }
  return std::string(reinterpret_cast<const char*>(begin), length);
}

}  // namespace entitle::internal
