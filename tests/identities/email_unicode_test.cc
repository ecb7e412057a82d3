// SEC-7 on every backend: an address with an invisible or direction-changing
// character is refused wherever an address comes in; letters compare
// case-insensitively beyond ASCII; and a domain is the same in its Unicode and
// its punycode spelling, for identities, sign-in, invitations, domain claims
// (ORG-9) and adding employees (ORG-10). The parser itself is tested in
// tests/base/email_test.cc; CSV import in
// tests/user_lists/user_lists_text_test.cc.
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "entitle/actor.h"
#include "entitle/email.h"
#include "entitle/identities.h"
#include "entitle/invitations.h"
#include "entitle/organizations.h"
#include "entitle/records.h"
#include "entitle/status.h"
#include "fixtures/directory_fixture.h"
#include "fixtures/store_fixtures.h"

namespace entitle_test {
namespace {

using namespace entitle;

// "åsa", "ÅSA" and "Åsa" spelt with a combining ring (NFD).
const std::string kAsaLower = "\xC3\xA5sa";
const std::string kAsaUpper = "\xC3\x85SA";
const std::string kAsaDecomposed = "A\xCC\x8Asa";
// bücher.example in Unicode, upper case, and as its A-label.
const std::string kBuecher =
    "b\xC3\xBC"
    "cher.example";
const std::string kBuecherUpper =
    "B\xC3\x9C"
    "CHER.EXAMPLE";
const std::string kBuecherAce = "xn--bcher-kva.example";

// Each invisible or direction-changing character the rule names, with a name.
const std::vector<std::pair<std::string, std::string>> kInvisible = {
    {"\xE2\x80\x8B", "zero-width space U+200B"},
    {"\xC2\xAD", "soft hyphen U+00AD"},
    {"\xEF\xBB\xBF", "byte order mark U+FEFF"},
    {"\xE2\x80\x8E", "left-to-right mark U+200E"},
    {"\xE2\x80\x8F", "right-to-left mark U+200F"},
    {"\xE2\x80\xAA", "left-to-right embedding U+202A"},
    {"\xE2\x80\xAE", "right-to-left override U+202E"},
    {"\xE2\x81\xA6", "left-to-right isolate U+2066"},
    {"\xE2\x81\xA9", "pop directional isolate U+2069"},
    {"\xE2\x81\xA0", "word joiner U+2060"},
};

// clang-format off
TEMPLATE_TEST_CASE("SEC-7 a second identity whose address holds an invisible or direction-changing character is refused", "[identities][sec]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const OrgWithAdmin acme =
      f.FoundOrg("Acme", "ann@acme.example", "acme.example");
  const IdentityId anna = f.RegisterVerified("anna@acme.example");
  const auto before = f.Freeze();
  for (const auto& [ch, what] : kInvisible) {
    for (const std::string& address :
         {"an" + ch + "na@acme.example", "anna" + ch + "@acme.example",
          ch + "anna@acme.example", "anna@acme" + ch + ".example",
          "anna@acme.example" + ch}) {
      INFO(what << " in an address");
      // Registering, by anyone.
      REQUIRE_REASON(f.ids().Register(kAnon, address), Reason::kInvalidEmail);
      REQUIRE_REASON(f.ids().Register(kOp, address), Reason::kInvalidEmail);
      // Adding directly.
      REQUIRE_REASON(f.orgs().AddEmployee(As(acme.admin), acme.org, address),
                     Reason::kInvalidEmail);
      REQUIRE_REASON(f.orgs().AddExternal(As(acme.admin), acme.org, address),
                     Reason::kInvalidEmail);
      // Inviting: the address is refused, nothing is sent.
      auto invited = f.inv().Invite(As(acme.admin), acme.org, {address},
                                    InvitationKind::kExternal);
      ENTITLE_REQUIRE_OK(invited);
      REQUIRE(invited->size() == 1);
      CHECK(invited->front().outcome == InviteOutcome::kInvalidEmail);
      CHECK_FALSE(invited->front().invitation.has_value());
      // Signing in does not find Anna through a look-alike.
      CHECK_FALSE(f.ids().SignIn(address, kPassword).ok());
    }
  }
  f.RequireUnchanged(before);
  // The address itself still works.
  auto signed_in = f.ids().SignIn("anna@acme.example", kPassword);
  ENTITLE_REQUIRE_OK(signed_in);
  CHECK(*signed_in == anna);
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-7 ÅSA@ after åsa@ is kEmailTaken and signs in as the same identity", "[identities][sec]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId asa = f.RegisterVerified(kAsaLower + "@x.example");
  CHECK(f.RawIdentity(asa).email.str() == kAsaLower + "@x.example");
  const auto before = f.Freeze();
  for (const std::string& local : {kAsaUpper, kAsaDecomposed}) {
    INFO(local);
    REQUIRE_REASON(f.ids().Register(kAnon, local + "@X.Example"),
                   Reason::kEmailTaken);
  }
  f.RequireUnchanged(before);
  for (const std::string& local : {kAsaUpper, kAsaDecomposed, kAsaLower}) {
    INFO(local);
    auto signed_in = f.ids().SignIn(local + "@x.example", kPassword);
    ENTITLE_REQUIRE_OK(signed_in);
    CHECK(*signed_in == asa);
  }
  // The other way round: registered in upper case, stored in lower case.
  const IdentityId oeda = f.RegisterVerified(
      "\xC3\x96"
      "DA@x.example");
  CHECK(f.RawIdentity(oeda).email.str() ==
        "\xC3\xB6"
        "da@x.example");
  REQUIRE_REASON(f.ids().Register(kAnon,
                                  "\xC3\xB6"
                                  "da@x.example"),
                 Reason::kEmailTaken);
  auto signed_in = f.ids().SignIn(
      "\xC3\xB6"
      "da@x.example",
      kPassword);
  ENTITLE_REQUIRE_OK(signed_in);
  CHECK(*signed_in == oeda);
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-7 an address at a Unicode domain and at its punycode spelling is the same identity", "[identities][sec]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId anna = f.RegisterVerified("anna@" + kBuecher);
  CHECK(f.RawIdentity(anna).email.str() == "anna@" + kBuecherAce);
  const IdentityId bert = f.RegisterVerified("bert@" + kBuecherAce);
  const auto before = f.Freeze();
  for (const std::string& domain : {kBuecher, kBuecherUpper, kBuecherAce}) {
    INFO(domain);
    REQUIRE_REASON(f.ids().Register(kAnon, "Anna@" + domain),
                   Reason::kEmailTaken);
    REQUIRE_REASON(f.ids().Register(kAnon, "bert@" + domain),
                   Reason::kEmailTaken);
  }
  f.RequireUnchanged(before);
  for (const std::string& domain : {kBuecher, kBuecherUpper, kBuecherAce}) {
    INFO(domain);
    auto a = f.ids().SignIn("anna@" + domain, kPassword);
    ENTITLE_REQUIRE_OK(a);
    CHECK(*a == anna);
    auto b = f.ids().SignIn("BERT@" + domain, kPassword);
    ENTITLE_REQUIRE_OK(b);
    CHECK(*b == bert);
  }
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-7 a domain claimed in one spelling owns the addresses of the other", "[organizations][sec]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryOptions options;
  options.organization_policy.public_mail_domains = {"MAIL." + kBuecherUpper};
  DirectoryFixture<TestType> f(options);
  // Bücher claims its domain in Unicode; Müller in punycode.
  const OrgWithAdmin buecher = f.FoundOrg(
      "B\xC3\xBC"
      "cher",
      "admin@" + kBuecher, kBuecher);
  const OrgWithAdmin mueller = f.FoundOrg(
      "M\xC3\xBCller", "admin@xn--mller-kva.example", "xn--mller-kva.example");
  const auto domains = f.template All<DomainRecord>();
  REQUIRE(domains.size() == 2);
  CHECK(domains[0].name == kBuecherAce);
  CHECK(domains[1].name == "xn--mller-kva.example");

  // ORG-10: an address in the other spelling is at the organization's domain.
  const IdentityId bob =
      f.Employee(buecher.org, buecher.admin, "bob@" + kBuecherAce);
  CHECK(f.EmployersOf(bob) == std::vector<OrganizationId>{buecher.org});
  const IdentityId eva =
      f.Employee(mueller.org, mueller.admin, "eva@M\xC3\x9CLLER.example");
  CHECK(f.EmployersOf(eva) == std::vector<OrganizationId>{mueller.org});

  // And owned by the one organization, whatever the spelling.
  f.RegisterVerified("dora@" + kBuecherUpper);
  const auto before = f.Freeze();
  for (const std::string& domain : {kBuecher, kBuecherUpper, kBuecherAce}) {
    INFO(domain);
    REQUIRE_REASON(
        f.orgs().AddEmployee(As(mueller.admin), mueller.org, "dora@" + domain),
        Reason::kDomainOwnedElsewhere);
    REQUIRE_REASON(f.orgs().ClaimDomain(As(mueller.admin), mueller.org, domain),
                   Reason::kDomainOwnedElsewhere);
    auto invited =
        f.inv().Invite(As(mueller.admin), mueller.org, {"fritz@" + domain},
                       InvitationKind::kEmployee);
    ENTITLE_REQUIRE_OK(invited);
    REQUIRE(invited->size() == 1);
    CHECK(invited->front().outcome == InviteOutcome::kDomainOwnedElsewhere);
  }
  // A public mail domain listed in one spelling is refused in the other.
  REQUIRE_REASON(f.orgs().ClaimDomain(As(mueller.admin), mueller.org,
                                      "mail." + kBuecherAce),
                 Reason::kPublicMailDomain);
  f.RequireUnchanged(before);

  // Invitations compare canonical addresses: one invitation, sent to the
  // canonical address, whatever the spelling.
  const SentInvitation sent =
      f.InviteOne(As(buecher.admin), buecher.org, "Gus@" + kBuecherUpper);
  CHECK(f.LastToken("gus@" + kBuecherAce, "invitation") == sent.token);
  auto again = f.inv().Invite(As(buecher.admin), buecher.org,
                              {"gus@" + kBuecherAce, "GUS@" + kBuecher},
                              InvitationKind::kEmployee);
  ENTITLE_REQUIRE_OK(again);
  REQUIRE(again->size() == 2);
  for (const InviteResult& r : *again) {
    CHECK(r.outcome == InviteOutcome::kAlreadyInvited);
    CHECK(r.invitation == sent.id);
  }
}

}  // namespace
}  // namespace entitle_test
