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
#include "absl/strings/str_format.h"
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

// clang-format off
TEST_CASE("ID-1 letters are lower-cased beyond ASCII; the domain is kept as ASCII", "[email]") {
  // clang-format on
  // SEC-7 changed this: "Ü" is lower-cased too, and an internationalized
  // domain is written as its A-label.
  REQUIRE(MustParse("J\xC3\xBCrgen@B\xC3\xBC"
                    "cher.de")
              .str() == "j\xC3\xBCrgen@xn--bcher-kva.de");
  REQUIRE(MustParse("\xC3\x9C"
                    "BER@Example.de")
              .str() ==
          "\xC3\xBC"
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
  REQUIRE(*e == "mail.xn--bcher-kva.de");
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

// U+XXXX as UTF-8.
std::string Utf8(char32_t c) {
  std::string out;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  return out;
}

// clang-format off
TEST_CASE("SEC-7 an address with an invisible or direction-changing character is refused", "[email]") {
  // clang-format on
  const std::vector<std::pair<char32_t, std::string>> invisible = {
      {0x200B, "zero-width space"},
      {0x00AD, "soft hyphen"},
      {0xFEFF, "byte order mark"},
      {0x200E, "left-to-right mark"},
      {0x200F, "right-to-left mark"},
      {0x202A, "left-to-right embedding"},
      {0x202B, "right-to-left embedding"},
      {0x202C, "pop directional formatting"},
      {0x202D, "left-to-right override"},
      {0x202E, "right-to-left override"},
      {0x2066, "left-to-right isolate"},
      {0x2067, "right-to-left isolate"},
      {0x2068, "first strong isolate"},
      {0x2069, "pop directional isolate"},
      {0x061C, "Arabic letter mark"},
      {0x200C, "zero-width non-joiner"},
      {0x200D, "zero-width joiner"},
      {0x2060, "word joiner"},
      {0x180E, "Mongolian vowel separator"},
      {0xFFF9, "interlinear annotation anchor"},
      {0xE0041, "tag latin capital letter A"},
      {0xFE0F, "variation selector 16 (default ignorable)"},
      {0x034F, "combining grapheme joiner (default ignorable)"},
  };
  for (const auto& [c, what] : invisible) {
    const std::string ch = Utf8(c);
    for (const std::string& text :
         {"an" + ch + "na@example.com", ch + "anna@example.com",
          "anna" + ch + "@example.com", "anna@exa" + ch + "mple.com",
          "anna@example.com" + ch, "anna@b" + Utf8(0xFC) + ch + "cher.example",
          " anna@example.com" + ch + " "}) {
      INFO(what << " in " << text);
      const std::string message = MustRefuse(text);
      CHECK(MentionsAny(message, {"invisible or direction-changing"}));
      CHECK(absl::StrContains(message, absl::StrFormat("U+%04X", c)));
      // The message does not carry the character (nor the address).
      CHECK_FALSE(absl::StrContains(message, ch));
    }
  }
  // Control characters, C1 included, and broken UTF-8 are refused too.
  CHECK(MentionsAny(MustRefuse("an" + Utf8(0x85) + "na@example.com"),
                    {"control"}));
  CHECK(MentionsAny(MustRefuse("anna@ex" + Utf8(0x9F) + "ample.com"),
                    {"control"}));
  CHECK(MentionsAny(MustRefuse("\xC3\x85sa@x.example\xE2\x80"), {"UTF-8"}));
  CHECK(MentionsAny(MustRefuse("\xC5sa@x.example"), {"UTF-8"}));  // Latin-1.
  // Unicode spaces are spaces.
  for (char32_t c : {0x00A0, 0x2003, 0x2028, 0x3000}) {
    CHECK(
        MentionsAny(MustRefuse("an" + Utf8(c) + "na@example.com"), {"space"}));
  }
}

// clang-format off
TEST_CASE("SEC-7 letters compare case-insensitively beyond ASCII", "[email]") {
  // clang-format on
  const std::string lower = Utf8(0xE5) + "sa@x.example";  // åsa
  REQUIRE(MustParse(lower).str() == lower);
  for (const std::string& text : {
           Utf8(0xC5) + "SA@x.example",         // ÅSA
           Utf8(0xC5) + "sa@X.Example",         // Åsa
           "A" + Utf8(0x30A) + "SA@x.example",  // A + combining ring (NFD)
           "a" + Utf8(0x30A) + "sa@x.example",  // å decomposed
           Utf8(0x212B) + "SA@x.example",       // ANGSTROM SIGN
       }) {
    INFO(text);
    const Email e = MustParse(text);
    CHECK(e.str() == lower);
    CHECK(e == MustParse(lower));
    CHECK(absl::Hash<Email>()(e) == absl::Hash<Email>()(MustParse(lower)));
  }
  // Other scripts.
  CHECK(MustParse(Utf8(0x418) + Utf8(0x412) + Utf8(0x410) + Utf8(0x41D) +
                  "@x.example") ==
        MustParse(Utf8(0x438) + Utf8(0x432) + Utf8(0x430) + Utf8(0x43D) +
                  "@x.example"));  // ИВАН, иван
  CHECK(MustParse(Utf8(0x3A3) + Utf8(0x39F) + Utf8(0x3A6) + Utf8(0x399) +
                  Utf8(0x391) + "@x.example") ==
        MustParse(Utf8(0x3C3) + Utf8(0x3BF) + Utf8(0x3C6) + Utf8(0x3B9) +
                  Utf8(0x3B1) + "@x.example"));  // ΣΟΦΙΑ, σοφια
  // Capital sharp s lower-cases to ß; but ß is not "ss" (no case folding).
  CHECK(MustParse("STRA" + Utf8(0x1E9E) + "E@x.example") ==
        MustParse("stra" + Utf8(0xDF) + "e@x.example"));
  CHECK(MustParse("STRASSE@x.example") !=
        MustParse("stra" + Utf8(0xDF) + "e@x.example"));
  // KELVIN SIGN lower-cases to the ASCII k.
  CHECK(MustParse(Utf8(0x212A) + "im@x.example").str() == "kim@x.example");
  // The local part's limit counts the canonical UTF-8 bytes: 32 "Ö" are 64.
  std::string o32;
  for (int i = 0; i < 32; ++i) o32 += Utf8(0xD6);
  CHECK(MustParse(o32 + "@x.example").local_part().size() == 64);
  CHECK(
      MentionsAny(MustRefuse(o32 + Utf8(0xD6) + "@x.example"), {"64", "long"}));
}

// clang-format off
TEST_CASE("SEC-7 a domain compares equal in its Unicode and its punycode spelling", "[email]") {
  // clang-format on
  const std::string buecher = "b" + Utf8(0xFC) + "cher.example";
  for (const std::string& domain :
       {buecher, std::string("B") + Utf8(0xDC) + "CHER.EXAMPLE",
        std::string("xn--bcher-kva.example"),
        std::string("XN--BCHER-KVA.Example"),
        "bu" + Utf8(0x308) + "cher.example",  // Decomposed ü.
        "b" + Utf8(0xFC) + "cher" + Utf8(0x3002) + "example"}) {  // 。
    INFO(domain);
    const Email e = MustParse("Anna@" + domain);
    CHECK(e.str() == "anna@xn--bcher-kva.example");
    CHECK(e.domain() == "xn--bcher-kva.example");
    auto normalized = entitle::NormalizeDomain(domain);
    REQUIRE(normalized.ok());
    CHECK(*normalized == "xn--bcher-kva.example");
  }
  CHECK(entitle::DomainForDisplay("xn--bcher-kva.example") == buecher);
  CHECK(entitle::DomainForDisplay("example.com") == "example.com");
  CHECK(MustParse(Utf8(0x7528) + Utf8(0x6237) + "@" + Utf8(0x4F8B) +
                  Utf8(0x5B50) + "." + Utf8(0x516C) + Utf8(0x53F8))
            .domain() == "xn--fsqu00a.xn--55qx5d");

  // A domain IDNA refuses is not plausible.
  for (const std::string& domain :
       {std::string("xn--zz.example"),         // Not punycode.
        std::string("xn--bcher-2pa.example"),  // "bÜcher": not canonical.
        Utf8(0x1F4A9) + ".example",            // Disallowed (a symbol).
        "b" + Utf8(0xFC) + "--cher.example" + std::string(),
        "-b" + Utf8(0xFC) + "cher.example",
        std::string(60, 'a') + Utf8(0xFC) + Utf8(0xFC) + Utf8(0xFC) +
            Utf8(0xFC) + ".example",  // 64 characters: a label too long.
        "b" + Utf8(0xFC) + "cher" + Utf8(0xFF20) + "x.example"}) {  // ＠
    INFO(domain);
    MustRefuse("anna@" + domain);
    auto normalized = entitle::NormalizeDomain(domain);
    CHECK_FALSE(normalized.ok());
    CHECK(entitle::GetReason(normalized.status()) == Reason::kInvalidArgument);
  }
  // An A-label hiding an invisible character is refused like the character:
  // Persian "mikhaham" with its zero-width non-joiner, which IDNA allows.
  const std::string hidden = MustRefuse("anna@xn--mgbn2ecje63gr19l.example");
  CHECK(MentionsAny(hidden, {"invisible"}));
  CHECK(absl::StrContains(hidden, "U+200C"));
  // Plain ASCII domains are only lower-cased, as before.
  CHECK(MustParse("a@Exa_Mple.com").domain() == "exa_mple.com");
}

TEST_CASE("SEC-7 the canonical form is a fixed point", "[email]") {
  for (const std::string& text :
       {Utf8(0xC5) + "SA@B" + Utf8(0xDC) + "CHER.example",
        Utf8(0x130) + "STANBUL@x.example",  // İ lower-cases to i + U+0307.
        Utf8(0x3A3) + Utf8(0x391) + Utf8(0x3A3) + "@x.example",  // Final sigma.
        "J" + Utf8(0x1C5) + "@x.example",  // Title-case digraph.
        std::string("o'brien@example.ie")}) {
    INFO(text);
    const Email e = MustParse(text);
    CHECK(MustParse(e.str()) == e);
    CHECK(MustParse(e.str()).str() == e.str());
  }
}

}  // namespace
