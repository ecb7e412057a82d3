// SEC-4: a domain claim (ORG-9) is verified only by a DNS TXT record that
// carries the claim's token (entitle/domain_verifier.h), asked through the
// Directory's DomainVerifier: the fixture's FakeDomainVerifier (a map the
// test writes), and at the end a real DNS server (dnsmasq). The operator may
// verify directly, audited as such.
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "entitle/actor.h"
#include "entitle/directory.h"
#include "entitle/domain_verifier.h"
#include "entitle/organizations.h"
#include "entitle/records.h"
#include "entitle/status.h"
#include "fixtures/directory_fixture.h"
#include "fixtures/dnsmasq.h"
#include "fixtures/store_fixtures.h"

namespace entitle_test {
namespace {

using namespace entitle;

// The victim owns victim.example in DNS; the stranger runs another
// organization and wants the victim's people as its employees.
template <typename F>
struct Scene {
  explicit Scene(F& f)
      : victim(f.RegisterVerified("vera@victim.example")),
        stranger(f.RegisterVerified("mal@evil.example")),
        victim_org(f.CreateOrg("Victim", victim)),
        evil_org(f.CreateOrg("Evil", stranger)),
        target(f.RegisterVerified("tim@victim.example")) {}
  IdentityId victim, stranger;
  OrganizationId victim_org, evil_org;
  IdentityId target;  // A person of victim.example, employee of no one.
};

std::vector<AuditRecord> WithAction(const std::vector<AuditRecord>& all,
                                    std::string_view action) {
  std::vector<AuditRecord> out;
  for (const AuditRecord& r : all) {
    if (r.action == action) out.push_back(r);
  }
  return out;
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-4 a stranger that claims a victim's domain cannot verify it by handing back its token, nor add the victim's addresses as employees", "[organizations][domains][security]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  Scene<DirectoryFixture<TestType>> s(f);
  const Actor mal = As(s.stranger);

  // The stranger claims the victim's domain and is given the claim's token:
  // it used to be enough to hand it back.
  auto claim = f.orgs().ClaimDomain(mal, s.evil_org, "victim.example");
  ENTITLE_REQUIRE_OK(claim);
  CHECK_FALSE(claim->verification_token.empty());
  CHECK(claim->record_name == "_entitle-challenge.victim.example");
  CHECK(claim->record_value ==
        "entitle-domain-verification=" + claim->verification_token);
  // It publishes the record where it can: in its own zone, and under a name
  // of its own that ends like the victim's.
  f.dns().Publish("_entitle-challenge.evil.example", claim->record_value);
  f.dns().Publish("_entitle-challenge.victim.example.evil.example",
                  claim->record_value);

  const auto before = f.Freeze();
  const absl::Status verified =
      f.orgs().VerifyDomain(mal, s.evil_org, claim->id);
  ENTITLE_REQUIRE_REFUSED(verified, absl::StatusCode::kFailedPrecondition,
                          Reason::kDomainProofMissing);
  CHECK_FALSE(absl::StrContains(verified.message(), claim->verification_token));
  // Only the victim's own name was asked.
  CHECK(f.dns().Lookups() ==
        std::vector<std::string>{"_entitle-challenge.victim.example"});
  f.RequireUnchanged(before);
  auto domains = f.orgs().ListDomains(mal, s.evil_org);
  ENTITLE_REQUIRE_OK(domains);
  REQUIRE(domains->size() == 1);
  CHECK((*domains)[0].status == DomainStatus::kPending);

  // Without the domain, the victim's people are not its to add.
  REQUIRE_REASON(f.orgs().AddEmployee(mal, s.evil_org, "tim@victim.example"),
                 Reason::kDomainPending);
  CHECK(f.EmployersOf(s.target).empty());
  f.RequireUnchanged(before);

  // The victim, who controls victim.example's DNS, proves its own claim.
  auto own = f.orgs().ClaimDomain(As(s.victim), s.victim_org, "victim.example");
  ENTITLE_REQUIRE_OK(own);
  f.dns().Publish(own->record_name, own->record_value);
  ENTITLE_REQUIRE_OK(
      f.orgs().VerifyDomain(As(s.victim), s.victim_org, own->id));
  // And the stranger's claim stays unproven for good.
  REQUIRE_REASON(f.orgs().VerifyDomain(mal, s.evil_org, claim->id),
                 Reason::kDomainOwnedElsewhere);
  REQUIRE_REASON(f.orgs().AddEmployee(mal, s.evil_org, "tim@victim.example"),
                 Reason::kDomainOwnedElsewhere);
  ENTITLE_REQUIRE_OK(
      f.orgs().AddEmployee(As(s.victim), s.victim_org, "tim@victim.example"));
  CHECK(f.EmployersOf(s.target) == std::vector<OrganizationId>{s.victim_org});
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-4 a claim is verified once its TXT record carries the token, and audited", "[organizations][domains][security]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  Scene<DirectoryFixture<TestType>> s(f);
  const Actor vera = As(s.victim);
  auto claim = f.orgs().ClaimDomain(vera, s.victim_org, "Victim.Example");
  ENTITLE_REQUIRE_OK(claim);
  // Records of other services at the same name do not get in the way.
  f.dns().Publish(claim->record_name, "v=spf1 -all");
  f.dns().Publish(claim->record_name, claim->record_value);
  f.Advance(absl::Minutes(5));
  ENTITLE_REQUIRE_OK(f.orgs().VerifyDomain(vera, s.victim_org, claim->id));

  auto domains = f.orgs().ListDomains(vera, s.victim_org);
  ENTITLE_REQUIRE_OK(domains);
  REQUIRE(domains->size() == 1);
  CHECK((*domains)[0].status == DomainStatus::kVerified);
  CHECK((*domains)[0].verified_at == std::optional<absl::Time>(f.Now()));
  CHECK((*domains)[0].record_name == "_entitle-challenge.victim.example");
  const auto audit = f.AuditOf("domain.verify");
  REQUIRE(audit.size() == 1);
  CHECK(audit[0].actor_id == std::optional<IdentityId>(s.victim));
  CHECK(audit[0].organization_id ==
        std::optional<OrganizationId>(s.victim_org));
  CHECK(
      absl::StrContains(audit[0].detail, "_entitle-challenge.victim.example"));
  for (const AuditRecord& r : f.Audit()) {
    CHECK_FALSE(absl::StrContains(r.detail, claim->verification_token));
  }

  // Verifying again is a no-op that asks DNS nothing.
  const size_t lookups = f.dns().Lookups().size();
  const auto before = f.Freeze();
  ENTITLE_REQUIRE_OK(f.orgs().VerifyDomain(vera, s.victim_org, claim->id));
  f.RequireUnchanged(before);
  CHECK(f.dns().Lookups().size() == lookups);
  // The domain is owned: its people can be added directly.
  ENTITLE_REQUIRE_OK(
      f.orgs().AddEmployee(vera, s.victim_org, "tim@victim.example"));
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-4 a TXT record with another token, an old token or a malformed value proves nothing", "[organizations][domains][security]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  Scene<DirectoryFixture<TestType>> s(f);
  const Actor vera = As(s.victim);
  const Actor mal = As(s.stranger);
  auto first = f.orgs().ClaimDomain(vera, s.victim_org, "victim.example");
  ENTITLE_REQUIRE_OK(first);
  // The claim is given up and made again: a new token.
  ENTITLE_REQUIRE_OK(f.orgs().RemoveDomain(vera, s.victim_org, first->id));
  auto claim = f.orgs().ClaimDomain(vera, s.victim_org, "victim.example");
  ENTITLE_REQUIRE_OK(claim);
  REQUIRE(claim->verification_token != first->verification_token);
  // Another organization's claim on the same domain, with its own token.
  auto other = f.orgs().ClaimDomain(mal, s.evil_org, "victim.example");
  ENTITLE_REQUIRE_OK(other);

  std::string altered = claim->verification_token;
  altered[0] = altered[0] == 'A' ? 'B' : 'A';
  const std::string& name = claim->record_name;
  f.dns().Publish(name, first->record_value);  // The old claim's token.
  f.dns().Publish(name, other->record_value);  // Published by the owner for
                                               // the other claim.
  f.dns().Publish(name, "entitle-domain-verification=" + altered);
  f.dns().Publish(name, "entitle-domain-verification=");
  f.dns().Publish(name, claim->verification_token);  // No prefix.
  f.dns().Publish(name,
                  "x-entitle-domain-verification=" + claim->verification_token);
  f.dns().Publish(
      name, "entitle-domain-verification=" + claim->verification_token + "x");
  f.dns().Publish(claim->name, claim->record_value);  // At the wrong name.

  const auto before = f.Freeze();
  REQUIRE_REASON(f.orgs().VerifyDomain(vera, s.victim_org, claim->id),
                 Reason::kDomainProofMissing);
  // The other claim's record is there: that claim is proven, not this one.
  f.RequireUnchanged(before);
  ENTITLE_REQUIRE_OK(f.orgs().VerifyDomain(mal, s.evil_org, other->id));
  REQUIRE_REASON(f.orgs().VerifyDomain(vera, s.victim_org, claim->id),
                 Reason::kDomainOwnedElsewhere);

  // Spaces around the token are the owner's DNS console's, not a new value.
  DirectoryFixture<TestType> g;
  const IdentityId ann = g.RegisterVerified("ann@acme.example");
  const OrganizationId acme = g.CreateOrg("Acme", ann);
  auto spaced = g.orgs().ClaimDomain(As(ann), acme, "acme.example");
  ENTITLE_REQUIRE_OK(spaced);
  g.dns().Publish(spaced->record_name, "entitle-domain-verification= " +
                                           spaced->verification_token + " ");
  ENTITLE_REQUIRE_OK(g.orgs().VerifyDomain(As(ann), acme, spaced->id));
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-4 when DNS cannot be asked the claim stays pending and the reason is verifier-unavailable", "[organizations][domains][security]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  Scene<DirectoryFixture<TestType>> s(f);
  const Actor vera = As(s.victim);
  auto claim = f.orgs().ClaimDomain(vera, s.victim_org, "victim.example");
  ENTITLE_REQUIRE_OK(claim);
  f.dns().Publish(claim->record_name, claim->record_value);

  const auto before = f.Freeze();
  f.dns().GoDown();
  ENTITLE_REQUIRE_REFUSED(f.orgs().VerifyDomain(vera, s.victim_org, claim->id),
                          absl::StatusCode::kUnavailable,
                          Reason::kVerifierUnavailable);
  // A verifier failing some other way is reported the same way.
  f.dns().FailWith(absl::InternalError("resolver crashed"));
  const absl::Status other =
      f.orgs().VerifyDomain(vera, s.victim_org, claim->id);
  ENTITLE_REQUIRE_REFUSED(other, absl::StatusCode::kUnavailable,
                          Reason::kVerifierUnavailable);
  CHECK(absl::StrContains(other.message(), "resolver crashed"));
  f.RequireUnchanged(before);

  // Once DNS answers again, the same claim verifies.
  f.dns().Recover();
  ENTITLE_REQUIRE_OK(f.orgs().VerifyDomain(vera, s.victim_org, claim->id));
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-4 the operator may verify a claim directly, audited as the operator's; nobody else may", "[organizations][domains][security]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  Scene<DirectoryFixture<TestType>> s(f);
  const Actor vera = As(s.victim);
  auto claim = f.orgs().ClaimDomain(vera, s.victim_org, "victim.example");
  ENTITLE_REQUIRE_OK(claim);

  // The organization's own administrator cannot skip the proof.
  const auto before = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(
      f.orgs().VerifyDomainByOperator(vera, s.victim_org, claim->id),
      absl::StatusCode::kPermissionDenied, Reason::kPermissionDenied);
  REQUIRE_REASON(
      f.orgs().VerifyDomainByOperator(kAnon, s.victim_org, claim->id),
      Reason::kPermissionDenied);
  // A claim of another organization is not found through this one.
  REQUIRE_REASON(f.orgs().VerifyDomainByOperator(kOp, s.evil_org, claim->id),
                 Reason::kNotFound);
  f.RequireUnchanged(before);

  ENTITLE_REQUIRE_OK(
      f.orgs().VerifyDomainByOperator(kOp, s.victim_org, claim->id));
  CHECK(f.dns().Lookups().empty());
  auto domains = f.orgs().ListDomains(vera, s.victim_org);
  ENTITLE_REQUIRE_OK(domains);
  REQUIRE(domains->size() == 1);
  CHECK((*domains)[0].status == DomainStatus::kVerified);
  const auto audit = f.AuditOf("domain.verify.operator");
  REQUIRE(audit.size() == 1);
  CHECK_FALSE(audit[0].actor_id.has_value());  // The operator.
  CHECK(absl::StrContains(audit[0].detail, "operator"));
  CHECK(audit[0].organization_id ==
        std::optional<OrganizationId>(s.victim_org));
  CHECK(audit[0].target == "domain#" + std::to_string(claim->id.value()));
  CHECK(WithAction(f.Audit(), "domain.verify").empty());

  // Through the organization's own trail too.
  auto trail = f.orgs().ListAudit(
      vera, s.victim_org, AuditQuery{.action = "domain.verify.operator"},
      PageRequest{.offset = 0, .limit = 10});
  ENTITLE_REQUIRE_OK(trail);
  CHECK(trail->items.size() == 1);

  // Another organization's pending claim on the now owned domain.
  auto late = f.orgs().ClaimDomain(As(s.stranger), s.evil_org, "victim.org");
  ENTITLE_REQUIRE_OK(late);
  auto taken =
      f.orgs().ClaimDomain(As(s.stranger), s.evil_org, "victim.example");
  REQUIRE_REASON(taken, Reason::kDomainOwnedElsewhere);
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-4 a co-administrator without the domains permission can neither claim nor verify, and DNS is not asked", "[organizations][domains][security]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const auto acme = f.FoundOrg("Acme", "ann@acme.example", "acme.example");
  const IdentityId cole = f.Employee(acme.org, acme.admin, "cole@acme.example");
  f.GiveRole(acme.org, acme.admin, cole, "Deputy",
             kAllPermissions & ~kManageDomains & ~kManageAdministrators);
  auto claim = f.orgs().ClaimDomain(As(acme.admin), acme.org, "acme.net");
  ENTITLE_REQUIRE_OK(claim);
  f.dns().Publish(claim->record_name, claim->record_value);

  const auto before = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(f.orgs().VerifyDomain(As(cole), acme.org, claim->id),
                          absl::StatusCode::kPermissionDenied,
                          Reason::kPermissionDenied);
  REQUIRE_REASON(f.orgs().ClaimDomain(As(cole), acme.org, "acme.org"),
                 Reason::kPermissionDenied);
  REQUIRE_REASON(f.orgs().VerifyDomainByOperator(As(cole), acme.org, claim->id),
                 Reason::kPermissionDenied);
  // An administrator of another organization, and a stranger.
  const auto beta = f.FoundOrg("Beta", "bo@beta.example", "beta.example");
  const auto mid = f.Freeze();
  REQUIRE_REASON(f.orgs().VerifyDomain(As(beta.admin), acme.org, claim->id),
                 Reason::kPermissionDenied);
  REQUIRE_REASON(f.orgs().VerifyDomain(kAnon, acme.org, claim->id),
                 Reason::kPermissionDenied);
  f.RequireUnchanged(mid);
  CHECK(f.dns().Lookups().empty());
  (void)before;

  // The Co-Administrator role holds kManageDomains: it may.
  const IdentityId dee = f.Employee(acme.org, acme.admin, "dee@acme.example");
  ENTITLE_REQUIRE_OK(f.orgs().GrantRole(As(acme.admin), acme.org, dee,
                                        f.CoAdminRole(acme.org)));
  ENTITLE_REQUIRE_OK(f.orgs().VerifyDomain(As(dee), acme.org, claim->id));
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-4 DNS is asked outside the transaction, which then re-reads the claim", "[organizations][domains][security]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  Scene<DirectoryFixture<TestType>> s(f);
  const Actor vera = As(s.victim);

  SECTION("the claim is removed while DNS is asked") {
    auto claim = f.orgs().ClaimDomain(vera, s.victim_org, "victim.example");
    ENTITLE_REQUIRE_OK(claim);
    f.dns().Publish(claim->record_name, claim->record_value);
    // The removal writes while the lookup runs: no transaction is held.
    f.dns().DuringLookup([&] {
      ENTITLE_REQUIRE_OK(f.orgs().RemoveDomain(vera, s.victim_org, claim->id));
    });
    REQUIRE_REASON(f.orgs().VerifyDomain(vera, s.victim_org, claim->id),
                   Reason::kNotFound);
    f.dns().DuringLookup(nullptr);
    CHECK(f.template All<DomainRecord>().empty());
    CHECK(f.AuditOf("domain.verify").empty());
  }
  SECTION("another organization proves the domain first") {
    auto mine = f.orgs().ClaimDomain(vera, s.victim_org, "victim.example");
    auto theirs =
        f.orgs().ClaimDomain(As(s.stranger), s.evil_org, "victim.example");
    ENTITLE_REQUIRE_OK(mine);
    ENTITLE_REQUIRE_OK(theirs);
    f.dns().Publish(mine->record_name, mine->record_value);
    f.dns().DuringLookup([&] {
      f.dns().DuringLookup(nullptr);
      ENTITLE_REQUIRE_OK(
          f.orgs().VerifyDomainByOperator(kOp, s.evil_org, theirs->id));
    });
    REQUIRE_REASON(f.orgs().VerifyDomain(vera, s.victim_org, mine->id),
                   Reason::kDomainOwnedElsewhere);
    auto owners = f.template All<DomainRecord>(DomainFilter{
        .name = "victim.example", .status = DomainStatus::kVerified});
    REQUIRE(owners.size() == 1);
    CHECK(owners[0].organization_id == s.evil_org);
  }
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-4 end to end through a real DNS server: the published record verifies the claim, a stranger's claim stays pending", "[organizations][domains][security][dns]", ENTITLE_BACKENDS) {
  // clang-format on
  // The claims come first (the record holds the token), then the owner's DNS
  // server starts with the victim's record. The Directory is made before the
  // server's port is known, so its verifier forwards to the real one, made
  // once the server runs.
  class Forward final : public DomainVerifier {
   public:
    absl::StatusOr<std::vector<std::string>> TxtRecords(
        std::string_view name) override {
      REQUIRE(to != nullptr);
      return to->TxtRecords(name);
    }
    std::unique_ptr<DnsDomainVerifier> to;
  } forward;
  DirectoryFixture<TestType> f({.domain_verifier = &forward});
  Scene<DirectoryFixture<TestType>> s(f);
  auto own = f.orgs().ClaimDomain(As(s.victim), s.victim_org, "victim.example");
  auto evil =
      f.orgs().ClaimDomain(As(s.stranger), s.evil_org, "victim.example");
  ENTITLE_REQUIRE_OK(own);
  ENTITLE_REQUIRE_OK(evil);

  Dnsmasq dns({.txt = {{own->record_name, {own->record_value}}}});
  INFO("dnsmasq log:\n" << dns.Log());
  forward.to = std::make_unique<DnsDomainVerifier>(DnsVerifierOptions{
      .servers = {dns.server()}, .timeout = absl::Seconds(5)});

  const auto before = f.Freeze();
  REQUIRE_REASON(f.orgs().VerifyDomain(As(s.stranger), s.evil_org, evil->id),
                 Reason::kDomainProofMissing);
  f.RequireUnchanged(before);
  ENTITLE_REQUIRE_OK(
      f.orgs().VerifyDomain(As(s.victim), s.victim_org, own->id));
  auto owners = f.template All<DomainRecord>(DomainFilter{
      .name = "victim.example", .status = DomainStatus::kVerified});
  REQUIRE(owners.size() == 1);
  CHECK(owners[0].organization_id == s.victim_org);
  CHECK(f.AuditOf("domain.verify").size() == 1);

  // A claim whose domain has no record at all on that server.
  auto bare = f.orgs().ClaimDomain(As(s.victim), s.victim_org, "bare.example");
  ENTITLE_REQUIRE_OK(bare);
  REQUIRE_REASON(f.orgs().VerifyDomain(As(s.victim), s.victim_org, bare->id),
                 Reason::kDomainProofMissing);
}

}  // namespace
}  // namespace entitle_test
