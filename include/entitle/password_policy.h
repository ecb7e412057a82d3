// The password policy (SPEC ID-4).
//
// A password must have at least 8 and at most 128 characters, at least one
// digit, one lower-case letter a-z, one upper-case letter A-Z and one special
// character from `!@#$%&*^_-+`. Only printable ASCII is accepted: letters
// outside a-z/A-Z (å, ä, ö, any non-ASCII character) and control characters are
// refused, because the sign-in services this library serves cannot take them.
// Other printable ASCII characters (space, '.', '/', ...) are allowed but do
// not count as the special character. The upper bound keeps hashing cheap to
// refuse.
//
// Pure functions; thread-safe.
#ifndef ENTITLE_PASSWORD_POLICY_H_
#define ENTITLE_PASSWORD_POLICY_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace entitle {

enum class PasswordRule {
  kMinLength,          // at least 8 characters
  kMaxLength,          // at most 128 characters
  kDigit,              // at least one digit
  kLowercase,          // at least one of a-z
  kUppercase,          // at least one of A-Z
  kSpecial,            // at least one of !@#$%&*^_-+
  kAllowedCharacters,  // only printable ASCII
};

inline constexpr std::string_view kPasswordSpecialCharacters = "!@#$%&*^_-+";

// Every rule `password` breaks, in the order of the enum; empty when it is
// acceptable.
std::vector<PasswordRule> BrokenPasswordRules(std::string_view password);

// What a rule asks, for messages: e.g. "at least one digit".
std::string DescribePasswordRule(PasswordRule rule);

// OK when `password` is acceptable; otherwise InvalidArgument with
// `Reason::kWeakPassword` and a message listing every broken rule. The message
// never contains the password.
absl::Status CheckPasswordPolicy(std::string_view password);

}  // namespace entitle

#endif  // ENTITLE_PASSWORD_POLICY_H_
