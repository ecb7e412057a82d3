#include "entitle/email.h"

#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/string_view.h"
#include "entitle/status.h"

namespace entitle {
namespace {

constexpr size_t kMaxAddressLength = 254;  // RFC 5321 path limit less <>.
constexpr size_t kMaxLocalPartLength = 64;

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
// characters or white space, otherwise what is wrong with it.
std::string CheckCharacters(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return "it contains a control character";
      if (c == ' ') return "it contains a space";
      ++i;
      continue;
    }
    int extra;
    uint32_t code;
    if ((c & 0xe0) == 0xc0) {
      extra = 1;
      code = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      code = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return "it is not valid UTF-8";
    }
    if (i + extra >= text.size()) {
      return "it is not valid UTF-8";
    }
    for (int k = 1; k <= extra; ++k) {
      const unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return "it is not valid UTF-8";
      code = (code << 6) | (next & 0x3f);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (code < kMinForLength[extra] || code > 0x10ffff ||
        (code >= 0xd800 && code <= 0xdfff)) {
      return "it is not valid UTF-8";
    }
    if (code >= 0x80 && code <= 0x9f) return "it contains a control character";
    // Unicode white space outside ASCII: NBSP, ogham space, the U+2000 block,
    // line/paragraph separators, narrow NBSP, medium math space, ideographic.
    if (code == 0xa0 || code == 0x1680 || (code >= 0x2000 && code <= 0x200a) ||
        code == 0x2028 || code == 0x2029 || code == 0x202f || code == 0x205f ||
        code == 0x3000) {
      return "it contains a space";
    }
    i += extra + 1;
  }
  return "";
}

// Empty when `domain` (already lower-cased) is a plausible mail domain.
std::string CheckDomain(std::string_view domain) {
  if (domain.empty()) return "the domain is empty";
  if (domain.find('.') == std::string_view::npos) {
    return "the domain has no dot";
  }
  for (absl::string_view piece : absl::StrSplit(AbslView(domain), '.')) {
    const std::string_view label = StdView(piece);
    if (label.empty()) return "the domain has an empty label";
    if (label.size() > 63) return "a domain label is longer than 63 characters";
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
  if (trimmed.size() > kMaxAddressLength) {
    return Invalid(
        Reason::kInvalidEmail, "",
        absl::StrCat("it is longer than ", kMaxAddressLength, " characters"));
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
  if (at > kMaxLocalPartLength) {
    return Invalid(Reason::kInvalidEmail, trimmed,
                   absl::StrCat("the part before '@' is longer than ",
                                kMaxLocalPartLength, " characters"));
  }
  std::string address = absl::AsciiStrToLower(AbslView(trimmed));
  if (std::string why = CheckDomain(std::string_view(address).substr(at + 1));
      !why.empty()) {
    return Invalid(Reason::kInvalidEmail, trimmed, why);
  }
  return Email(std::move(address), at);
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
  const auto refuse = [&](std::string_view why) {
    return MakeError(absl::StatusCode::kInvalidArgument,
                     Reason::kInvalidArgument,
                     absl::StrCat("'", AbslView(text),
                                  "' is not a valid domain: ", AbslView(why)));
  };
  if (trimmed.size() > kMaxAddressLength) return refuse("it is too long");
  if (std::string why = CheckCharacters(trimmed); !why.empty()) {
    return refuse(why);
  }
  if (trimmed.find('@') != std::string_view::npos) {
    return refuse("it has an '@'");
  }
  std::string domain = absl::AsciiStrToLower(AbslView(trimmed));
  if (std::string why = CheckDomain(domain); !why.empty()) return refuse(why);
  return domain;
}

}  // namespace entitle
