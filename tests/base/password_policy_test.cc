// The password policy (SPEC ID-4), as password_policy.h states it: pure
// functions, so no store and no backend.
#include "entitle/password_policy.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "entitle/status.h"
#include "fixtures/store_fixtures.h"

namespace entitle_test {
namespace {

using entitle::BrokenPasswordRules;
using entitle::CheckPasswordPolicy;
using entitle::DescribePasswordRule;
using entitle::PasswordRule;
using entitle::Reason;
using Rules = std::vector<PasswordRule>;

// A password that holds every rule: 8 characters, each class once.
constexpr const char* kGood = "Abcdef1!";

std::string RuleList(const Rules& rules) {
  std::string out;
  for (PasswordRule r : rules) {
    out += std::to_string(static_cast<int>(r)) + " ";
  }
  return out;
}

// REQUIREs that `password` breaks exactly `expected` (in enum order), that
// CheckPasswordPolicy refuses it with kWeakPassword naming each broken rule
// and that the message does not contain the password itself.
void RequireBroken(const std::string& password, const Rules& expected) {
  INFO("password: " << password);
  const Rules broken = BrokenPasswordRules(password);
  INFO("broken: " << RuleList(broken) << " expected: " << RuleList(expected));
  REQUIRE(broken == expected);
  const absl::Status s = CheckPasswordPolicy(password);
  ENTITLE_REQUIRE_REFUSED(s, absl::StatusCode::kInvalidArgument,
                          Reason::kWeakPassword);
  const std::string message(s.message());
  INFO("message: " << message);
  for (PasswordRule rule : expected) {
    const std::string description = DescribePasswordRule(rule);
    REQUIRE_FALSE(description.empty());
    REQUIRE(message.find(description) != std::string::npos);
  }
  // Rules that hold are not listed.
  for (int r = static_cast<int>(PasswordRule::kMinLength);
       r <= static_cast<int>(PasswordRule::kAllowedCharacters); ++r) {
    const auto rule = static_cast<PasswordRule>(r);
    if (std::find(expected.begin(), expected.end(), rule) != expected.end()) {
      continue;
    }
    REQUIRE(message.find(DescribePasswordRule(rule)) == std::string::npos);
  }
  if (!password.empty()) REQUIRE(message.find(password) == std::string::npos);
}

void RequireAccepted(const std::string& password) {
  INFO("password: " << password);
  const Rules broken = BrokenPasswordRules(password);
  INFO("broken: " << RuleList(broken));
  REQUIRE(broken.empty());
  ENTITLE_REQUIRE_OK(CheckPasswordPolicy(password));
}

TEST_CASE("ID-4 a password holding every rule is accepted", "[password]") {
  RequireAccepted(kGood);
  RequireAccepted("Secret-pass1");
  // Other printable ASCII (space, '.', '/') is allowed beside the rules.
  RequireAccepted("Pass word 1./+");
}

TEST_CASE("ID-4 each missing character class alone is reported", "[password]") {
  SECTION("no digit") { RequireBroken("Abcdefg!", {PasswordRule::kDigit}); }
  SECTION("no lower-case letter") {
    RequireBroken("ABCDEF1!", {PasswordRule::kLowercase});
  }
  SECTION("no upper-case letter") {
    RequireBroken("abcdef1!", {PasswordRule::kUppercase});
  }
  SECTION("no special character") {
    RequireBroken("Abcdefg1", {PasswordRule::kSpecial});
  }
}

TEST_CASE("ID-4 a password breaking several rules reports every one",
          "[password]") {
  SECTION("short, no digit, no upper, no special") {
    RequireBroken("abc", {PasswordRule::kMinLength, PasswordRule::kDigit,
                          PasswordRule::kUppercase, PasswordRule::kSpecial});
  }
  SECTION("only digits, long enough") {
    RequireBroken("12345678",
                  {PasswordRule::kLowercase, PasswordRule::kUppercase,
                   PasswordRule::kSpecial});
  }
  SECTION("empty password breaks every class rule and the length") {
    RequireBroken("", {PasswordRule::kMinLength, PasswordRule::kDigit,
                       PasswordRule::kLowercase, PasswordRule::kUppercase,
                       PasswordRule::kSpecial});
  }
  SECTION("too long and non-ASCII and no special") {
    std::string p = "\xC3\xA4" + std::string(130, 'a') + "B1";
    RequireBroken(p, {PasswordRule::kMaxLength, PasswordRule::kSpecial,
                      PasswordRule::kAllowedCharacters});
  }
}

TEST_CASE("ID-4 minimum length boundary: 7 refused, 8 accepted", "[password]") {
  RequireBroken("Abcde1!", {PasswordRule::kMinLength});  // 7
  RequireAccepted("Abcdef1!");                           // 8
}

TEST_CASE("ID-4 maximum length boundary: 128 accepted, 129 refused",
          "[password]") {
  const std::string base = "Aa1!";
  std::string p128 = base + std::string(124, 'x');
  REQUIRE(p128.size() == 128);
  RequireAccepted(p128);
  std::string p129 = base + std::string(125, 'x');
  REQUIRE(p129.size() == 129);
  RequireBroken(p129, {PasswordRule::kMaxLength});
}

// clang-format off
TEST_CASE("ID-4 Scandinavian letters and any non-ASCII character are refused "
          "even when every other rule holds",
    "[password]") {
  // clang-format on
  // U+00E5 å, U+00E4 ä, U+00F6 ö, U+00C5 Å, U+00E9 é, U+20AC €, U+1F600, and
  // a lone Latin-1 byte.
  const char* const extras[] = {"\xC3\xA5",         "\xC3\xA4", "\xC3\xB6",
                                "\xC3\x85",         "\xC3\xA9", "\xE2\x82\xAC",
                                "\xF0\x9F\x98\x80", "\xE5"};
  for (const char* extra : extras) {
    RequireBroken(std::string(kGood) + extra,
                  {PasswordRule::kAllowedCharacters});
    RequireBroken(std::string(extra) + kGood,
                  {PasswordRule::kAllowedCharacters});
  }
  // Control characters are not printable ASCII either.
  RequireBroken(std::string(kGood) + "\t", {PasswordRule::kAllowedCharacters});
  RequireBroken(std::string(kGood) + "\x7f",
                {PasswordRule::kAllowedCharacters});
  RequireBroken(std::string(kGood) + std::string(1, '\0'),
                {PasswordRule::kAllowedCharacters});
  // The message says which letters are not allowed.
  const absl::Status s = CheckPasswordPolicy("Abcdef1!\xC3\xA5");
  REQUIRE(std::string(s.message())
              .find(DescribePasswordRule(PasswordRule::kAllowedCharacters)) !=
          std::string::npos);
}

// clang-format off
TEST_CASE("ID-4 each special character alone satisfies the special rule; '.' "
          "does not",
    "[password]") {
  // clang-format on
  const std::string specials = "!@#$%&*^_-+";
  REQUIRE(specials == std::string(entitle::kPasswordSpecialCharacters));
  for (char c : specials) {
    RequireAccepted(std::string("Abcdef1") + c);
  }
  for (char c : std::string(".,/ ?()=~'\"<>;:[]{}|\\`")) {
    INFO("not special: '" << c << "'");
    RequireBroken(std::string("Abcdef1") + c, {PasswordRule::kSpecial});
  }
}

TEST_CASE("ID-4 the refusal message never contains the password",
          "[password]") {
  const char* const passwords[] = {
      "weakpassword",
      "Sh0rt!",
      "ALLUPPERCASE123",
      "Tr\xC3\xB6ska-99",
      "OnlyLetters",
      "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"};
  for (const char* p : passwords) {
    const absl::Status s = CheckPasswordPolicy(p);
    INFO("password: " << p << " message: " << s.message());
    REQUIRE_FALSE(s.ok());
    REQUIRE(std::string(s.message()).find(p) == std::string::npos);
  }
}

TEST_CASE("ID-4 every rule has a distinct, non-empty description",
          "[password]") {
  std::vector<std::string> seen;
  for (int r = static_cast<int>(PasswordRule::kMinLength);
       r <= static_cast<int>(PasswordRule::kAllowedCharacters); ++r) {
    const std::string d = DescribePasswordRule(static_cast<PasswordRule>(r));
    REQUIRE_FALSE(d.empty());
    REQUIRE(std::find(seen.begin(), seen.end(), d) == seen.end());
    seen.push_back(d);
  }
}

}  // namespace
}  // namespace entitle_test
