// Fuzzes Email::Parse, NormalizeDomain and DomainForDisplay (email.h).
//
// Checks what the header promises of a parsed address: it is canonical
// (parsing its str() again gives an equal Email), trimmed, at most 254 bytes
// with exactly one '@', a local part of 1..64 bytes that is its own Unicode
// lower case in NFC, and a domain of lower-case ASCII (A-labels for
// internationalized labels) with non-empty labels and at least one dot; no
// control, format (Cf), default-ignorable or space character anywhere; a
// failure carries Reason::kInvalidEmail. Spellings that must be the same
// address are: the input with its ASCII letters upper-cased, and the address
// with its domain in Unicode (DomainForDisplay). NormalizeDomain agrees with
// the address's domain, and a domain it accepts is a fixed point of it. Any
// violation aborts.
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "entitle/email.h"
#include "entitle/status.h"

namespace {

void Fail(const char* what, std::string_view input) {
  std::fprintf(stderr, "email_fuzz: %s (input %zu bytes)\n", what,
               input.size());
  std::abort();
}

bool IsSpaceOrControl(unsigned char c) { return c <= 0x20 || c == 0x7f; }

// Labels are non-empty and there are at least two of them.
bool PlausibleDomain(std::string_view domain) {
  if (domain.empty() || domain.find('.') == std::string_view::npos) {
    return false;
  }
  size_t start = 0;
  while (true) {
    const size_t dot = domain.find('.', start);
    const size_t end = dot == std::string_view::npos ? domain.size() : dot;
    if (end == start) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

const uint8_t* Bytes(std::string_view s) {
  return reinterpret_cast<const uint8_t*>(s.data());
}

// Valid UTF-8 without a character that Parse must refuse.
bool CleanCharacters(std::string_view s) {
  if (u8_check(Bytes(s), s.size()) != nullptr) return false;
  const uint8_t* p = Bytes(s);
  const uint8_t* const end = p + s.size();
  while (p < end) {
    ucs4_t uc;
    p += u8_mbtouc(&uc, p, static_cast<size_t>(end - p));
    if (uc_is_general_category(uc, UC_CATEGORY_Cc) ||
        uc_is_general_category(uc, UC_CATEGORY_Cf) ||
        uc_is_general_category(uc, UC_CATEGORY_Z) ||
        uc_is_property_default_ignorable_code_point(uc)) {
      return false;
    }
  }
  return true;
}

// `s` is its own lower case in NFC.
bool LowerNfc(std::string_view s) {
  size_t length = 0;
  uint8_t* lower =
      u8_tolower(Bytes(s), s.size(), "", UNINORM_NFC, nullptr, &length);
  if (lower == nullptr) return false;
  const bool same =
      std::string_view(reinterpret_cast<char*>(lower), length) == s;
  std::free(lower);
  return same;
}

void CheckEmail(std::string_view input) {
  absl::StatusOr<entitle::Email> email = entitle::Email::Parse(input);
  if (!email.ok()) {
    if (entitle::GetReason(email.status()) != entitle::Reason::kInvalidEmail) {
      Fail("a refused address does not carry kInvalidEmail", input);
    }
    return;
  }
  const std::string& s = email->str();
  if (email->empty()) Fail("Parse returned an empty Email", input);
  if (s.size() > 254) Fail("address longer than 254 bytes", input);
  if (IsSpaceOrControl(s.front()) || IsSpaceOrControl(s.back())) {
    Fail("address not trimmed", input);
  }
  if (!CleanCharacters(s)) {
    Fail("a control, format, ignorable or space character kept", input);
  }
  const size_t at = s.find('@');
  if (at == std::string::npos || s.find('@', at + 1) != std::string::npos) {
    Fail("not exactly one '@'", input);
  }
  if (email->local_part() != std::string_view(s).substr(0, at) ||
      email->domain() != std::string_view(s).substr(at + 1)) {
    Fail("local_part()/domain() do not split str() at its '@'", input);
  }
  if (email->local_part().empty() || email->local_part().size() > 64) {
    Fail("local part empty or longer than 64 bytes", input);
  }
  if (!LowerNfc(email->local_part())) {
    Fail("local part not in lower case and NFC", input);
  }
  for (unsigned char c : email->domain()) {
    if (c >= 0x80 || (c >= 'A' && c <= 'Z')) {
      Fail("domain not lower-case ASCII", input);
    }
  }
  if (!PlausibleDomain(email->domain())) Fail("implausible domain", input);

  absl::StatusOr<entitle::Email> again = entitle::Email::Parse(s);
  if (!again.ok()) Fail("a parsed address does not parse again", input);
  if (!(*again == *email) || again->str() != s) {
    Fail("parsing str() again gives a different Email", input);
  }

  // ASCII case does not matter.
  std::string upper(input);
  for (char& c : upper) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  absl::StatusOr<entitle::Email> shouted = entitle::Email::Parse(upper);
  if (!shouted.ok() || !(*shouted == *email)) {
    Fail("the address in ASCII upper case is not the same address", input);
  }

  // The domain's Unicode spelling is the same address.
  const std::string unicode = std::string(email->local_part()) + "@" +
                              entitle::DomainForDisplay(email->domain());
  absl::StatusOr<entitle::Email> spelt = entitle::Email::Parse(unicode);
  if (!spelt.ok() || !(*spelt == *email)) {
    Fail("the address with its domain in Unicode is not the same", input);
  }

  // A domain claim names the address's domain the same way.
  absl::StatusOr<std::string> claimed =
      entitle::NormalizeDomain(email->domain());
  if (!claimed.ok() || *claimed != email->domain()) {
    Fail("NormalizeDomain disagrees with the address's domain", input);
  }
}

void CheckDomain(std::string_view input) {
  absl::StatusOr<std::string> domain = entitle::NormalizeDomain(input);
  if (!domain.ok()) {
    if (entitle::GetReason(domain.status()) !=
        entitle::Reason::kInvalidArgument) {
      Fail("a refused domain does not carry kInvalidArgument", input);
    }
    return;
  }
  if (!PlausibleDomain(*domain)) Fail("NormalizeDomain: implausible", input);
  for (unsigned char c : *domain) {
    if (c >= 0x80 || (c >= 'A' && c <= 'Z') || c <= 0x20 || c == 0x7f) {
      Fail("NormalizeDomain: not lower-case printable ASCII", input);
    }
  }
  absl::StatusOr<std::string> again = entitle::NormalizeDomain(*domain);
  if (!again.ok() || *again != *domain) {
    Fail("NormalizeDomain is not idempotent", input);
  }
  absl::StatusOr<std::string> unicode =
      entitle::NormalizeDomain(entitle::DomainForDisplay(*domain));
  if (!unicode.ok() || *unicode != *domain) {
    Fail("NormalizeDomain of the Unicode spelling differs", input);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckEmail(input);
  CheckDomain(input);
  return 0;
}
