#include "entitle/email.h"

#include <idn2.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "base/string_view.h"
#include "entitle/status.h"

namespace entitle {
namespace {

constexpr size_t kMaxAddressLength = 254;  // RFC 5321 path limit less <>.
constexpr size_t kMaxLocalPartLength = 64;
constexpr size_t kMaxDomainLength = 253;  // DNS, without the root's dot.
constexpr size_t kMaxLabelLength = 63;
// No character is more than four bytes of UTF-8, nor shrinks to less than one
// byte when the address is made canonical: longer input cannot be valid, so it
// is refused before any Unicode work is spent on it.
constexpr size_t kMaxInputBytes = 4 * kMaxAddressLength;

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
template <typename T>
using Malloced = std::unique_ptr<T, FreeDeleter>;

const uint8_t* Bytes(std::string_view text) {
  return reinterpret_cast<const uint8_t*>(text.data());
}

bool IsAscii(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

std::string CodePoint(ucs4_t uc) { return absl::StrFormat("U+%04X", uc); }

// `text` is quoted in the message; pass an empty one when it must not be
// (too long to show, or holding characters a log should not carry).
absl::Status Invalid(Reason reason, std::string_view text,
                     std::string_view why) {
  if (text.empty()) {
    return MakeError(
        absl::StatusCode::kInvalidArgument, reason,
        absl::StrCat("not a valid email address: ", AbslView(why)));
  }
  return MakeError(
      absl::StatusCode::kInvalidArgument, reason,
      absl::StrCat("'", AbslView(text),
                   "' is not a valid email address: ", AbslView(why)));
}

// Returns an empty string when `text` is valid UTF-8 without control
// characters, invisible or direction-changing characters, or white space;
// otherwise what is wrong with it.
std::string CheckCharacters(std::string_view text) {
  const uint8_t* p = Bytes(text);
  const uint8_t* const end = p + text.size();
  if (u8_check(p, text.size()) != nullptr) return "it is not valid UTF-8";
  while (p < end) {
    if (*p < 0x80) {
      if (*p < 0x20 || *p == 0x7f) return "it contains a control character";
      if (*p == ' ') return "it contains a space";
      ++p;
      continue;
    }
    ucs4_t uc;
    p += u8_mbtouc(&uc, p, static_cast<size_t>(end - p));
    if (uc_is_general_category(uc, UC_CATEGORY_Cc)) {
      return absl::StrCat("it contains a control character (", CodePoint(uc),
                          ")");
    }
    // Format characters (zero-width space, soft hyphen, byte order mark, the
    // bidirectional controls, ...) and the other default-ignorable code points
    // (variation selectors, fillers) are not shown: two addresses differing
    // only in them look the same, and bidi controls reorder what is shown.
    if (uc_is_general_category(uc, UC_CATEGORY_Cf) ||
        uc_is_property_default_ignorable_code_point(uc)) {
      return absl::StrCat(
          "it contains an invisible or direction-changing character (",
          CodePoint(uc), ")");
    }
    if (uc_is_general_category(uc, UC_CATEGORY_Z)) {
      return absl::StrCat("it contains a space (", CodePoint(uc), ")");
    }
  }
  return "";
}

// The local part in lower case: full Unicode lower-case mapping (language
// independent), then NFC. ASCII is lower-cased as it always was.
bool LowerLocalPart(std::string_view local, std::string& out) {
  if (IsAscii(local)) {
    out = absl::AsciiStrToLower(AbslView(local));
    return true;
  }
  size_t length = 0;
  Malloced<uint8_t> lower(u8_tolower(Bytes(local), local.size(), "",
                                     UNINORM_NFC, nullptr, &length));
  if (lower == nullptr) return false;
  out.assign(reinterpret_cast<const char*>(lower.get()), length);
  return true;
}

bool HasALabel(std::string_view domain) {
  for (absl::string_view label : absl::StrSplit(AbslView(domain), '.')) {
    if (absl::StartsWithIgnoreCase(label, "xn--")) return true;
  }
  return false;
}

// Runs IDNA2008 lookup with UTS #46 non-transitional mapping on `domain`;
// an empty string means success and `out` holds the ASCII result.
std::string IdnaLookup(const std::string& domain, std::string& out) {
  uint8_t* result = nullptr;
  const int rc = idn2_lookup_u8(Bytes(domain), &result,
                                IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
  Malloced<uint8_t> owned(result);
  if (rc != IDN2_OK) {
    return absl::StrCat(
        "the domain is not a valid internationalized domain name (",
        idn2_strerror(rc), ")");
  }
  out.assign(reinterpret_cast<const char*>(result));
  return "";
}

// Empty when `domain` (trimmed, checked by CheckCharacters, no trailing dot)
// is a plausible mail domain; `out` then holds its canonical form: lower-case
// ASCII, each internationalized label as its A-label.
std::string CanonicalDomainOf(std::string_view domain, std::string& out) {
  if (domain.empty()) return "the domain is empty";
  if (IsAscii(domain) && !HasALabel(domain)) {
    out = absl::AsciiStrToLower(AbslView(domain));
  } else {
    // UTS #46 ignores some characters and maps others to '.', so the labels
    // are checked on the result, below.
    if (std::string why = IdnaLookup(std::string(domain), out); !why.empty()) {
      return why;
    }
    // The A-labels must decode to Unicode that encodes back to them: the
    // canonical spelling is then the only one.
    char* unicode = nullptr;
    const int rc = idn2_to_unicode_8z8z(out.c_str(), &unicode, 0);
    Malloced<char> owned(unicode);
    std::string again;
    if (rc != IDN2_OK || !IdnaLookup(unicode, again).empty() || again != out) {
      return "the domain is not a valid internationalized domain name (its "
             "ASCII form does not read back the same)";
    }
    // IDNA lets a label hold the zero-width joiner and non-joiner: refused
    // here as anywhere, whichever spelling hides them.
    if (std::string why = CheckCharacters(unicode); !why.empty()) {
      return absl::StrCat("the domain in Unicode: ", why);
    }
  }
  if (out.size() > kMaxDomainLength) {
    return absl::StrCat("the domain is longer than ", kMaxDomainLength,
                        " characters");
  }
  if (out.find('@') != std::string::npos) return "it has more than one '@'";
  if (out.find('.') == std::string::npos) return "the domain has no dot";
  for (absl::string_view piece : absl::StrSplit(AbslView(out), '.')) {
    const std::string_view label = StdView(piece);
    if (label.empty()) return "the domain has an empty label";
    if (label.size() > kMaxLabelLength) {
      return absl::StrCat("a domain label is longer than ", kMaxLabelLength,
                          " characters");
    }
    if (label.front() == '-' || label.back() == '-') {
      return "a domain label starts or ends with '-'";
    }
  }
  return "";
}

}  // namespace

absl::StatusOr<Email> Email::Parse(std::string_view text) {
  const std::string_view trimmed =
      StdView(absl::StripAsciiWhitespace(AbslView(text)));
  if (trimmed.empty()) return Invalid(Reason::kInvalidEmail, "", "it is empty");
  const bool ascii = IsAscii(trimmed);
  const std::string too_long =
      absl::StrCat("it is longer than ", kMaxAddressLength, " characters",
                   ascii ? ""
                         : " (counted as UTF-8 bytes, the domain in its "
                           "ASCII form)");
  if ((ascii && trimmed.size() > kMaxAddressLength) ||
      trimmed.size() > kMaxInputBytes) {
    return Invalid(Reason::kInvalidEmail, "", too_long);
  }
  if (std::string why = CheckCharacters(trimmed); !why.empty()) {
    return Invalid(Reason::kInvalidEmail, "", why);
  }
  const size_t at = trimmed.find('@');
  if (at == std::string_view::npos) {
    return Invalid(Reason::kInvalidEmail, trimmed, "it has no '@'");
  }
  if (trimmed.find('@', at + 1) != std::string_view::npos) {
    return Invalid(Reason::kInvalidEmail, trimmed, "it has more than one '@'");
  }
  if (at == 0) {
    return Invalid(Reason::kInvalidEmail, trimmed,
                   "the part before '@' is empty");
  }
  std::string address;
  if (!LowerLocalPart(trimmed.substr(0, at), address)) {
    return MakeError(absl::StatusCode::kResourceExhausted, Reason::kNone,
                     "out of memory while reading an email address");
  }
  if (address.size() > kMaxLocalPartLength) {
    return Invalid(
        Reason::kInvalidEmail, trimmed,
        absl::StrCat("the part before '@' is longer than ", kMaxLocalPartLength,
                     " characters", ascii ? "" : " (counted as UTF-8 bytes)"));
  }
  const size_t local_length = address.size();
  std::string domain;
  if (std::string why = CanonicalDomainOf(trimmed.substr(at + 1), domain);
      !why.empty()) {
    return Invalid(Reason::kInvalidEmail, trimmed, why);
  }
  if (local_length + 1 + domain.size() > kMaxAddressLength) {
    return Invalid(Reason::kInvalidEmail, "", too_long);
  }
  address.push_back('@');
  address.append(domain);
  return Email(std::move(address), local_length);
}

std::string_view Email::local_part() const {
  return std::string_view(address_).substr(0, at_);
}

std::string_view Email::domain() const {
  if (address_.empty()) return {};
  return std::string_view(address_).substr(at_ + 1);
}

absl::StatusOr<std::string> NormalizeDomain(std::string_view text) {
  std::string_view trimmed =
      StdView(absl::StripAsciiWhitespace(AbslView(text)));
  if (!trimmed.empty() && trimmed.back() == '.') trimmed.remove_suffix(1);
  const auto refuse = [&](std::string_view why, bool quote) {
    return MakeError(
        absl::StatusCode::kInvalidArgument, Reason::kInvalidArgument,
        quote ? absl::StrCat("'", AbslView(text),
                             "' is not a valid domain: ", AbslView(why))
              : absl::StrCat("not a valid domain: ", AbslView(why)));
  };
  if (trimmed.size() > kMaxInputBytes ||
      (IsAscii(trimmed) && trimmed.size() > kMaxDomainLength)) {
    return refuse("it is too long", false);
  }
  if (std::string why = CheckCharacters(trimmed); !why.empty()) {
    return refuse(why, false);
  }
  if (trimmed.find('@') != std::string_view::npos) {
    return refuse("it has an '@'", true);
  }
  std::string domain;
  if (std::string why = CanonicalDomainOf(trimmed, domain); !why.empty()) {
    return refuse(why, true);
  }
  return domain;
}

std::string DomainForDisplay(std::string_view domain) {
  if (!HasALabel(domain)) return std::string(domain);
  char* unicode = nullptr;
  const int rc = idn2_to_unicode_8z8z(std::string(domain).c_str(), &unicode, 0);
  Malloced<char> owned(unicode);
  if (rc != IDN2_OK || unicode == nullptr) return std::string(domain);
  return std::string(unicode);
}

}  // namespace entitle
