// Names (SPEC SEC-6): the one validator every service uses (base/names.h).
// The services' use of it, on both stores, is in
// tests/organizations/names_rules_test.cc.
#include "base/names.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "entitle/status.h"

namespace {

using entitle::Reason;
using entitle::internal::CheckName;
using entitle::internal::NameRules;

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

const std::string kOUml = "\xC3\x96";  // Ö, two bytes.

std::string MustAccept(const std::string& name, NameRules rules = {}) {
  auto checked = CheckName(name, "group name", rules);
  INFO("status: " << checked.status().ToString());
  REQUIRE(checked.ok());
  return *checked;
}

std::string MustRefuse(const std::string& name, NameRules rules = {}) {
  auto checked = CheckName(name, "group name", rules);
  INFO("status: " << checked.status().ToString());
  REQUIRE_FALSE(checked.ok());
  REQUIRE(checked.status().code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(entitle::GetReason(checked.status()) == Reason::kInvalidName);
  REQUIRE(absl::StartsWith(checked.status().message(), "The group name "));
  return std::string(checked.status().message());
}

TEST_CASE("SEC-6 a name's limit counts characters, not bytes", "[names]") {
  // 200 "Ö" are 400 bytes and 200 characters.
  CHECK(MustAccept(Repeat(kOUml, 200)) == Repeat(kOUml, 200));
  CHECK(absl::StrContains(MustRefuse(Repeat(kOUml, 201)), "1 to 200"));
  // Four-byte characters.
  const std::string party = "\xF0\x9F\x8E\x89";  // 🎉
  MustAccept(Repeat(party, 200));
  MustRefuse(Repeat(party, 201));
  // Decomposed input counts as its NFC form: 200 "O" + U+0308 are 200 "Ö".
  CHECK(MustAccept(Repeat("O\xCC\x88", 200)) == Repeat(kOUml, 200));
  MustAccept(std::string(200, 'a'));
  MustRefuse(std::string(201, 'a'));
  // Huge input is refused without being read through.
  MustRefuse(std::string(1 << 20, 'a'));
  CHECK(MustAccept("x", NameRules{.max_characters = 1}) == "x");
  MustRefuse("xy", NameRules{.max_characters = 1});
}

TEST_CASE("SEC-6 a name must be valid UTF-8", "[names]") {
  for (const std::string& bad : {
           std::string("J\xF6rg"),           // Latin-1 ö.
           std::string("Caf\xE9"),           // Latin-1 é at the end.
           std::string("\xC0\xAF"),          // Overlong.
           std::string("a\xED\xA0\x80"),     // Surrogate.
           std::string("\xF4\x90\x80\x80"),  // Above U+10FFFF.
           std::string("\xE2\x82"),          // Cut short.
       }) {
    INFO(bad.size() << " bytes");
    CHECK(absl::StrContains(MustRefuse(bad), "UTF-8"));
  }
  CHECK(absl::StrContains(MustRefuse("J\xF6rg"), "byte 2"));
}

TEST_CASE("SEC-6 a name holds no control or invisible characters", "[names]") {
  for (const std::string& bad :
       {std::string("Line\nbreak"), std::string("Tab\there"),
        std::string("Del\x7f"), std::string("nul\0x", 5),
        std::string("\x1b[31mred"), std::string("C1 \xC2\x85"),
        std::string("para\xE2\x80\xA9graph")}) {
    INFO(bad);
    const std::string message = MustRefuse(bad);
    CHECK((absl::StrContains(message, "control") ||
           absl::StrContains(message, "separator")));
    CHECK(absl::StrContains(message, "U+"));
  }
  for (const std::string& bad : {
           std::string("Acme\xE2\x80\xAE"
                       "cod.exe"),  // Right-to-left override.
           std::string("\xE2\x80\x8B"
                       "Acme"),  // Zero-width space.
           std::string("Ac\xC2\xAD"
                       "me"),  // Soft hyphen.
           std::string("\xEF\xBB\xBF"
                       "Acme"),              // Byte order mark.
           std::string("Acme\xE2\x81\xA6"),  // Left-to-right isolate.
           std::string("Acme\xE2\x80\x8F"),  // Right-to-left mark.
           std::string("\xE2\x80\x8D"
                       "Acme"),                          // Joiner at the start.
           std::string("Ac\xE2\x80\x8C\xE2\x80\x8Cme"),  // Two non-joiners.
       }) {
    const std::string message = MustRefuse(bad);
    CHECK(absl::StrContains(message, "invisible or direction-changing"));
    // The message names the character, not the name.
    CHECK_FALSE(absl::StrContains(message, "Acme"));
  }
  CHECK(absl::StrContains(MustRefuse("Ab\xE2\x80\x8B"), "character 3"));
  // Joiners between two visible characters are letters' business: Persian
  // "mi-khaham" and an emoji family.
  MustAccept(
      "\xD9\x85\xDB\x8C\xE2\x80\x8C\xD8\xAE\xD9\x88\xD8\xA7\xD9\x87\xD9"
      "\x85");
  MustAccept(
      "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F"
      "\x91\xA7");
}

TEST_CASE("SEC-6 names: empty, blank, and what is kept", "[names]") {
  CHECK(absl::StrContains(MustRefuse(""), "1 to 200"));
  CHECK(MustAccept("", NameRules{.allow_empty = true}).empty());
  MustRefuse(" ");
  MustRefuse("\xC2\xA0\xE3\x80\x80");  // NBSP and an ideographic space.
  // Nothing is trimmed here: callers trim where they always did.
  CHECK(MustAccept(" Acme ") == " Acme ");
  for (const char* good :
       {"Acme Oy", "Zo\xC3\xAB \xC3\x98rsted", "\xE5\xB1\xB1\xE7\x94\xB0",
        "=HYPERLINK(\"http://x\",\"y\")", "O'Brien & Sons, Ltd."}) {
    CHECK(MustAccept(good) == good);
  }
}

}  // namespace
