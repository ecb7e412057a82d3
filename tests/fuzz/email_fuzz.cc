// Fuzzes Email::Parse and NormalizeDomain (email.h).
//
// Checks what the header promises of a parsed address: it is normalized
// (parsing its str() again gives an equal Email), lower-case ASCII, trimmed,
// at most 254 bytes with exactly one '@', a local part of 1..64 bytes, and a
// domain of non-empty labels with at least one dot; a failure carries
// Reason::kInvalidEmail. A domain that NormalizeDomain accepts is a fixed
// point of it. Any violation aborts.
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
  for (unsigned char c : s) {
    if (c >= 'A' && c <= 'Z') Fail("address not lower-cased", input);
    if (c < 0x20 || c == 0x7f) Fail("control character kept", input);
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
  if (!PlausibleDomain(email->domain())) Fail("implausible domain", input);

  absl::StatusOr<entitle::Email> again = entitle::Email::Parse(s);
  if (!again.ok()) Fail("a parsed address does not parse again", input);
  if (!(*again == *email) || again->str() != s) {
    Fail("parsing str() again gives a different Email", input);
  }
}

void CheckDomain(std::string_view input) {
  absl::StatusOr<std::string> domain = entitle::NormalizeDomain(input);
  if (!domain.ok()) return;
  if (!PlausibleDomain(*domain)) Fail("NormalizeDomain: implausible", input);
  absl::StatusOr<std::string> again = entitle::NormalizeDomain(*domain);
  if (!again.ok() || *again != *domain) {
    Fail("NormalizeDomain is not idempotent", input);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckEmail(input);
  CheckDomain(input);
  return 0;
}
