#include "entitle/password_policy.h"

#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/string_view.h"
#include "entitle/status.h"

namespace entitle {
namespace {

constexpr size_t kMinLength = 8;
constexpr size_t kMaxLength = 128;

constexpr PasswordRule kAllRules[] = {
    PasswordRule::kMinLength,
    PasswordRule::kMaxLength,
    PasswordRule::kDigit,
    PasswordRule::kLowercase,
    PasswordRule::kUppercase,
    PasswordRule::kSpecial,
    PasswordRule::kAllowedCharacters,
};

}  // namespace

std::vector<PasswordRule> BrokenPasswordRules(std::string_view password) {
  bool digit = false, lower = false, upper = false, special = false;
  bool allowed = true;
  for (const char ch : password) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7e) {
      allowed = false;  // Control characters and every non-ASCII byte.
    } else if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c >= 'a' && c <= 'z') {
      lower = true;
    } else if (c >= 'A' && c <= 'Z') {
      upper = true;
    } else if (kPasswordSpecialCharacters.find(ch) != std::string_view::npos) {
      special = true;
    }
  }
  std::vector<PasswordRule> broken;
  for (PasswordRule rule : kAllRules) {
    bool holds = true;
    switch (rule) {
      case PasswordRule::kMinLength:
        holds = password.size() >= kMinLength;
        break;
      case PasswordRule::kMaxLength:
        holds = password.size() <= kMaxLength;
        break;
      case PasswordRule::kDigit:
        holds = digit;
        break;
      case PasswordRule::kLowercase:
        holds = lower;
        break;
      case PasswordRule::kUppercase:
        holds = upper;
        break;
      case PasswordRule::kSpecial:
        holds = special;
        break;
      case PasswordRule::kAllowedCharacters:
        holds = allowed;
        break;
    }
    if (!holds) broken.push_back(rule);
  }
  return broken;
}

std::string DescribePasswordRule(PasswordRule rule) {
  switch (rule) {
    case PasswordRule::kMinLength:
      return absl::StrCat("at least ", kMinLength, " characters");
    case PasswordRule::kMaxLength:
      return absl::StrCat("at most ", kMaxLength, " characters");
    case PasswordRule::kDigit:
      return "at least one digit (0-9)";
    case PasswordRule::kLowercase:
      return "at least one lower-case letter (a-z)";
    case PasswordRule::kUppercase:
      return "at least one upper-case letter (A-Z)";
    case PasswordRule::kSpecial:
      return absl::StrCat("at least one special character (",
                          AbslView(kPasswordSpecialCharacters), ")");
    case PasswordRule::kAllowedCharacters:
      return "only the letters a-z and A-Z, digits and ASCII symbols (no å, "
             "ä, ö or other non-ASCII characters)";
  }
  return "an unknown rule";
}

absl::Status CheckPasswordPolicy(std::string_view password) {
  const std::vector<PasswordRule> broken = BrokenPasswordRules(password);
  if (broken.empty()) return absl::OkStatus();
  std::vector<std::string> needs;
  for (PasswordRule rule : broken) needs.push_back(DescribePasswordRule(rule));
  return MakeError(
      absl::StatusCode::kInvalidArgument, Reason::kWeakPassword,
      absl::StrCat("The password must have ", absl::StrJoin(needs, "; "), "."));
}

}  // namespace entitle
