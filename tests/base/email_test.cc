// Email addresses: normalization (SPEC ID-1) and plausibility (SPEC ID-2).
// "Two identities never share an email" is a store rule; its test is in
// store_conformance_test.cc.
#include "entitle/email.h"

#include <catch2/catch.hpp>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "entitle/status.h"

namespace {

using entitle::Email;
using entitle::Reason;

Email MustParse(const std::string& text) {
  auto email = Email::Parse(text);
  INFO("text: " << text << " status: " << email.status().ToString());
  REQUIRE(email.ok());
  REQUIRE_FALSE(email->empty());
  return *email;
}

// Parse refuses `text` with InvalidArgument / kInvalidEmail; returns the
// message.
std::string MustRefuse(const std::string& text) {
  auto email = Email::Parse(text);
  INFO("text: " << text << " status: " << email.status().ToString());
  REQUIRE_FALSE(email.ok());
  REQUIRE(email.status().code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(entitle::GetReason(email.status()) == Reason::kInvalidEmail);
  REQUIRE_FALSE(email.status().message().empty());
  return std::string(email.status().message());
}

bool MentionsAny(const std::string& message,
                 std::initializer_list<absl::string_view> words) {
  const std::string lower = absl::AsciiStrToLower(message);
  for (absl::string_view w : words) {
    if (absl::StrContains(lower, absl::AsciiStrToLower(w))) return true;
  }
  return false;
}

TEST_CASE("ID-1 an email is trimmed and lower-cased", "[email]") {
  Email e = MustParse("  Anna.Berg@Example.COM \t\n");
  REQUIRE(e.str() == "anna.berg@example.com");
  REQUIRE(e.local_part() == "anna.berg");
  REQUIRE(e.domain() == "example.com");
  std::ostringstream os;
  os << e;
  REQUIRE(os.str() == "anna.berg@example.com");
}

// clang-format off
TEST_CASE("ID-1 addresses differing only in case or surrounding space are "
          "equal",
    "[email]") {
  // clang-format on
  Email a = MustParse("Anna@Example.com");
  Email b = MustParse("anna@example.COM ");
  Email c = MustParse("ANNA@EXAMPLE.COM");
  REQUIRE(a == b);
  REQUIRE(b == c);
  REQUIRE_FALSE(a < b);
  REQUIRE_FALSE(b < a);
  REQUIRE(a != MustParse("anna2@example.com"));
  REQUIRE(a != MustParse("anna@example.org"));
}

TEST_CASE("ID-1 equal addresses hash equally", "[email]") {
  absl::Hash<Email> hash;
  REQUIRE(hash(MustParse("Anna@Example.com")) ==
          hash(MustParse(" anna@example.com")));
  // Distinct addresses: at least some of them hash differently.
  std::set<size_t> hashes;
  for (int i = 0; i < 10; ++i) {
    hashes.insert(hash(MustParse("u" + std::to_string(i) + "@example.com")));
  }
  REQUIRE(hashes.size() > 1);
}

TEST_CASE("ID-1 only ASCII letters are lower-cased; other UTF-8 is kept",
          "[email]") {
  REQUIRE(MustParse("J\xC3\xBCrgen@B\xC3\xBC"
                    "cher.de")
              .str() ==
          "j\xC3\xBCrgen@b\xC3\xBC"
          "cher.de");
  // Upper-case U+00DC stays as it is: no Unicode case folding.
  REQUIRE(MustParse("\xC3\x9C"
                    "BER@Example.de")
              .str() ==
          "\xC3\x9C"
          "ber@example.de");
}

TEST_CASE("ID-1 a default Email is empty and names no address", "[email]") {
  Email e;
  REQUIRE(e.empty());
  REQUIRE(e.str().empty());
  REQUIRE(e != MustParse("a@b.co"));
}

TEST_CASE("ID-2 plausible addresses are accepted", "[email]") {
  for (const std::string text :
       {"anna+newsletter@example.com", "a@mail.eu.example.co.uk",
        "user123@123.example.com", "first.last@example-domain.com",
        "o'brien@example.ie", "x@y.z",
        "j\xC3\xBCrgen@b\xC3\xBC"
        "cher.de",
        "\xE7\x94\xA8\xE6\x88\xB7@\xE4\xBE\x8B\xE5\xAD\x90."
        "\xE5\x85\xAC\xE5\x8F\xB8"}) {
    MustParse(text);
  }
  REQUIRE(MustParse("anna+tag@sub.example.com").local_part() == "anna+tag");
}

TEST_CASE("ID-2 each implausible address is refused with kInvalidEmail",
          "[email]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty"},
      {"   ", "blank"},
      {"anna.example.com", "no @"},
      {"anna@@example.com", "two @ together"},
      {"an@na@example.com", "two @"},
      {"@example.com", "empty local part"},
      {"anna@", "empty domain"},
      {"anna@example", "no dot in domain"},
      {"a@b..com", "empty label"},
      {"a@.b.com", "leading dot label"},
      {"a@b.com.", "trailing dot label"},
      {"an na@example.com", "internal space"},
      {"anna@exa mple.com", "space in domain"},
      {"an\tna@example.com", "tab"},
      {"an\x01na@example.com", "control char"},
      {std::string("an\0na@example.com", 17), "NUL"},
      {"an\x7Fna@example.com", "DEL"},
      {"an\xC2\x85na@example.com", "C1 control U+0085"},
      {"an\xFFna@example.com", "invalid UTF-8 byte"},
      {"an\xC3na@example.com", "truncated UTF-8 sequence"},
      {"an\xC0\xAFna@example.com", "overlong UTF-8"},
  };
  for (const auto& [text, why] : cases) {
    INFO(why);
    MustRefuse(text);
  }
}

TEST_CASE("ID-2 messages name the problem", "[email]") {
  const std::string no_at = MustRefuse("anna.example.com");
  const std::string two_at = MustRefuse("an@na@example.com");
  const std::string no_local = MustRefuse("@example.com");
  const std::string no_dot = MustRefuse("anna@example");
  const std::string space = MustRefuse("an na@example.com");
  const std::string control = MustRefuse("an\x01na@example.com");
  const std::string too_long =
      MustRefuse(std::string(64, 'a') + "@" + std::string(200, 'b') + ".com");
  const std::string bad_utf8 = MustRefuse("an\xFFna@example.com");
  INFO(no_at << " | " << two_at << " | " << no_local << " | " << no_dot << " | "
             << space << " | " << control << " | " << too_long << " | "
             << bad_utf8);
  // Different problems get different messages, not one generic text.
  std::set<std::string> distinct = {no_at, two_at,  no_local, no_dot,
                                    space, control, too_long, bad_utf8};
  REQUIRE(distinct.size() == 8);
  CHECK(absl::StrContains(no_at, "@"));
  CHECK(absl::StrContains(two_at, "@"));
  CHECK(MentionsAny(no_local, {"local", "before"}));
  CHECK(MentionsAny(no_dot, {"dot", "domain"}));
  CHECK(MentionsAny(space, {"space"}));
  CHECK(MentionsAny(control, {"control"}));
  CHECK(MentionsAny(too_long, {"254", "long"}));
  CHECK(MentionsAny(bad_utf8, {"UTF-8", "utf8"}));
}

TEST_CASE("ID-2 at most 254 characters: 254 accepted, 255 refused", "[email]") {
  const std::string local(64, 'l');
  // 63 + 1 + 63 + 1 + 61 = 189 characters of domain: 64 + 1 + 189 = 254.
  const std::string domain254 = std::string(63, 'a') + "." +
                                std::string(63, 'b') + "." +
                                std::string(61, 'c');
  const std::string at254 = local + "@" + domain254;
  REQUIRE(at254.size() == 254);
  REQUIRE(MustParse(at254).str() == at254);
  const std::string at255 = local + "@" + domain254 + "c";
  REQUIRE(at255.size() == 255);
  const std::string message = MustRefuse(at255);
  CHECK(MentionsAny(message, {"254", "long"}));
  // Trimming comes first: surrounding space does not count.
  REQUIRE(MustParse("  " + at254 + "  ").str() == at254);
}

TEST_CASE("ID-2 the local part is at most 64 characters", "[email]") {
  REQUIRE(
      MustParse(std::string(64, 'x') + "@example.com").local_part().size() ==
      64);
  const std::string message = MustRefuse(std::string(65, 'x') + "@example.com");
  CHECK(MentionsAny(message, {"64", "local", "long"}));
}

TEST_CASE("ID-2 NormalizeDomain trims, lower-cases and drops a trailing dot",
          "[email]") {
  auto d = entitle::NormalizeDomain("  Example.COM. ");
  INFO(d.status().ToString());
  REQUIRE(d.ok());
  REQUIRE(*d == "example.com");
  auto e = entitle::NormalizeDomain(
      "mail.B\xC3\x9C"
      "CHER.de");
  REQUIRE(e.ok());
  REQUIRE(*e ==
          "mail.b\xC3\x9C"
          "cher.de");
  // The same normalization as an Email's domain part.
  REQUIRE(*entitle::NormalizeDomain("Sub.Example.Com") ==
          std::string(MustParse("x@Sub.Example.Com").domain()));
}

// clang-format off
TEST_CASE("ID-2 NormalizeDomain refuses implausible domains with "
          "kInvalidArgument",
    "[email]") {
  // clang-format on
  for (const std::string text :
       {"", "  ", "example", "a..com", ".example.com", "exa mple.com",
        "a@b.com", "exa\x01mple.com", "exa\xFFmple.com", "example.com.."}) {
    auto d = entitle::NormalizeDomain(text);
    INFO("text: " << text << " status: " << d.status().ToString());
    REQUIRE_FALSE(d.ok());
    REQUIRE(d.status().code() == absl::StatusCode::kInvalidArgument);
    REQUIRE(entitle::GetReason(d.status()) == Reason::kInvalidArgument);
  }
}

}  // namespace
