// Fuzzes the password policy (password_policy.h) on arbitrary bytes.
//
// Checks the rules against an independent reading of the header: a password is
// accepted exactly when it has 8..128 characters, all printable ASCII, with a
// digit, a-z, A-Z and one of kPasswordSpecialCharacters; BrokenPasswordRules
// lists the broken rules in enum order without repeats; CheckPasswordPolicy
// agrees with it, fails with Reason::kWeakPassword, and its message says
// nothing of the password but which rules it breaks. Any violation aborts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "entitle/password_policy.h"
#include "entitle/status.h"

namespace {

using entitle::PasswordRule;

void Fail(const char* what, std::string_view input) {
  std::fprintf(stderr, "password_policy_fuzz: %s (input %zu bytes)\n", what,
               input.size());
  std::abort();
}

// The rules as the header states them, with every printable ASCII byte one
// character.
std::vector<PasswordRule> Expected(std::string_view p) {
  bool digit = false, lower = false, upper = false, special = false;
  bool printable = true;
  for (unsigned char c : p) {
    if (c < 0x20 || c > 0x7e) printable = false;
    if (c >= '0' && c <= '9') digit = true;
    if (c >= 'a' && c <= 'z') lower = true;
    if (c >= 'A' && c <= 'Z') upper = true;
    if (entitle::kPasswordSpecialCharacters.find(static_cast<char>(c)) !=
        std::string_view::npos) {
      special = true;
    }
  }
  std::vector<PasswordRule> broken;
  // Length is counted in characters; for non-ASCII input the count is not
  // byte-exact, so only printable-ASCII input is held to exact lengths.
  if (p.size() < 8) broken.push_back(PasswordRule::kMinLength);
  if (p.size() > 128) broken.push_back(PasswordRule::kMaxLength);
  if (!digit) broken.push_back(PasswordRule::kDigit);
  if (!lower) broken.push_back(PasswordRule::kLowercase);
  if (!upper) broken.push_back(PasswordRule::kUppercase);
  if (!special) broken.push_back(PasswordRule::kSpecial);
  if (!printable) broken.push_back(PasswordRule::kAllowedCharacters);
  return broken;
}

// A password that breaks exactly `broken` (a list BrokenPasswordRules could
// return): one character of each class that holds, padded with '.' (which
// counts for no class) to a length that holds or breaks as asked.
std::string BreakingExactly(const std::vector<PasswordRule>& broken) {
  auto breaks = [&](PasswordRule r) {
    for (PasswordRule b : broken) {
      if (b == r) return true;
    }
    return false;
  };
  std::string p;
  if (!breaks(PasswordRule::kDigit)) p += '1';
  if (!breaks(PasswordRule::kLowercase)) p += 'a';
  if (!breaks(PasswordRule::kUppercase)) p += 'A';
  if (!breaks(PasswordRule::kSpecial)) p += '!';
  if (breaks(PasswordRule::kAllowedCharacters)) p += '\x01';
  if (breaks(PasswordRule::kMaxLength)) {
    p.resize(129, '.');
  } else if (!breaks(PasswordRule::kMinLength)) {
    p.resize(8, '.');
  }
  return p;
}

bool PrintableAscii(std::string_view p) {
  for (unsigned char c : p) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view password(reinterpret_cast<const char*>(data), size);
  const std::vector<PasswordRule> broken =
      entitle::BrokenPasswordRules(password);
  const absl::Status status = entitle::CheckPasswordPolicy(password);

  for (size_t i = 0; i < broken.size(); ++i) {
    if (static_cast<int>(broken[i]) < 0 ||
        broken[i] > PasswordRule::kAllowedCharacters) {
      Fail("a rule out of the enum's range", password);
    }
    if (i > 0 && !(broken[i - 1] < broken[i])) {
      Fail("broken rules not in enum order, or repeated", password);
    }
    if (entitle::DescribePasswordRule(broken[i]).empty()) {
      Fail("a rule without a description", password);
    }
  }
  if (status.ok() != broken.empty()) {
    Fail("CheckPasswordPolicy and BrokenPasswordRules disagree", password);
  }
  if (status.ok()) {
    // Accepted: the documented length, printable ASCII only, every class.
    if (size < 8 || size > 128) Fail("accepted outside 8..128", password);
    if (!PrintableAscii(password)) Fail("accepted non-printable", password);
    if (!Expected(password).empty()) Fail("accepted a weak one", password);
  } else {
    if (status.code() != absl::StatusCode::kInvalidArgument ||
        entitle::GetReason(status) != entitle::Reason::kWeakPassword) {
      Fail("refusal is not InvalidArgument/kWeakPassword", password);
    }
    // The message names the broken rules and nothing of the password: it is
    // the same as for a made-up password that breaks the same rules.
    const absl::Status canonical =
        entitle::CheckPasswordPolicy(BreakingExactly(broken));
    if (entitle::BrokenPasswordRules(BreakingExactly(broken)) != broken ||
        canonical.message() != status.message()) {
      Fail("the message depends on more than the broken rules", password);
    }
  }
  if (PrintableAscii(password) && broken != Expected(password)) {
    Fail("broken rules differ from the header's rules", password);
  }
  if (!PrintableAscii(password)) {
    bool listed = false;
    for (PasswordRule r : broken) {
      listed = listed || r == PasswordRule::kAllowedCharacters;
    }
    if (!listed)
      Fail("non-printable input without kAllowedCharacters", password);
  }
  return 0;
}
