// The invitations service (SPEC INV-1 to INV-12, with ID-12 and ORG-2 where
// they meet it) on every backend.
//
// Each TEMPLATE_TEST_CASE is named after the rule it checks and covers the
// allowed and the refused paths. A refused operation must write nothing, send
// nothing and publish nothing: `f.Freeze()` before and `f.RequireUnchanged()`
// after compare every table of the store, the notifier and the event sink.
// Organizations, members and domains are set up through the real services
// (Identities::Register + CompleteVerification, Organizations::Create,
// ClaimDomain + VerifyDomain); links are read from the notifier, as a host
// reads them from its mail.
#include "entitle/invitations.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/directory.h"
#include "entitle/events.h"
#include "entitle/identities.h"
#include "entitle/notifier.h"
#include "entitle/organizations.h"
#include "entitle/records.h"
#include "entitle/status.h"
#include "fixtures/directory_fixture.h"
#include "fixtures/store_fixtures.h"

namespace entitle_test {
namespace {

using namespace entitle;
using absl::StatusCode;

const absl::Duration kWeek = absl::Hours(7 * 24);

// Name and country are the mandatory profile fields (ID-12).
Profile FullProfile() { return Profile{"Test Person", "FI", "en"}; }

using Sent = SentInvitation;

// `token` with one character replaced by another URL-safe one.
std::string Altered(std::string token, size_t at = 10) {
  REQUIRE(at < token.size());
  token[at] = token[at] == 'A' ? 'B' : 'A';
  return token;
}

bool UrlSafeToken(const std::string& token) {
  return std::all_of(token.begin(), token.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

// Every string field of every record of a snapshot.
std::vector<std::string> AllStrings(const Snapshot& s) {
  std::vector<std::string> out;
  auto add = [&out](const std::string& x) { out.push_back(x); };
  for (const auto& r : s.identities) {
    add(r.email.str());
    if (r.pending_email) add(r.pending_email->str());
    add(r.display_name);
    add(r.country);
    add(r.language);
    add(r.password_hash);
    add(r.federated_subject);
  }
  for (const auto& r : s.organizations) {
    add(r.name);
    add(r.federation_provider);
  }
  for (const auto& r : s.roles) add(r.name);
  for (const auto& r : s.groups) add(r.name);
  for (const auto& r : s.domains) {
    add(r.name);
    add(r.verification_token_hash);
  }
  for (const auto& r : s.invitations) {
    add(r.email.str());
    add(r.token_hash);
  }
  for (const auto& r : s.request_links) add(r.token_hash);
  for (const auto& r : s.entitlements) {
    add(r.sku);
    for (const auto& c : r.countries) add(c);
  }
  for (const auto& r : s.projects) {
    add(r.name);
    add(r.region);
  }
  for (const auto& r : s.jobs) {
    add(r.kind);
    add(r.request);
    add(r.result);
  }
  for (const auto& r : s.audit) {
    add(r.action);
    add(r.target);
    add(r.outcome);
    add(r.detail);
  }
  for (const auto& r : s.outbox) {
    add(r.recipient.str());
    add(r.template_name);
    add(r.subject);
  }
  for (const auto& r : s.link_tokens) {
    add(r.token_hash);
    if (r.new_email) add(r.new_email->str());
  }
  for (const auto& r : s.device_checks) add(r.device_id.value());
  return out;
}

std::vector<std::string> InfoStrings(const std::vector<InvitationInfo>& infos) {
  std::vector<std::string> out;
  for (const InvitationInfo& i : infos) {
    out.push_back(i.organization_name);
    out.push_back(i.email.str());
  }
  return out;
}

void RequireNoneContains(const std::vector<std::string>& haystacks,
                         const std::string& token, const char* where) {
  for (const std::string& h : haystacks) {
    INFO(where << " holds a link token: " << h);
    REQUIRE(h.find(token) == std::string::npos);
  }
}

template <typename Backend>
class InvFixture : public DirectoryFixture<Backend> {
 public:
  using DirectoryFixture<Backend>::inv;
  using DirectoryFixture<Backend>::InviteOne;

  // A verified identity with a complete profile.
  IdentityId Person(std::string_view email) {
    return this->RegisterVerified(email, FullProfile());
  }
  // A registered identity that never verified its address.
  IdentityId Unverified(std::string_view email) {
    auto id = this->ids().Register(kAnon, email, FullProfile());
    ENTITLE_REQUIRE_OK(id);
    return *id;
  }

  // "Acme", administered by anna@acme.com, owning acme.com.
  void SetUpAcme() {
    anna = Person("anna@acme.com");
    acme = this->CreateOrg("Acme", anna);
    this->OwnDomain(acme, "acme.com");
  }
  // Another organization with its own first administrator and, when given,
  // its own verified domain.
  OrganizationId MakeOrg(std::string_view name, IdentityId admin,
                         std::optional<std::string_view> domain = {}) {
    OrganizationId org = this->CreateOrg(name, admin);
    if (domain) this->OwnDomain(org, *domain);
    return org;
  }

  std::vector<InviteResult> InviteMany(
      const Actor& by, OrganizationId org,
      const std::vector<std::string>& addresses,
      InvitationKind kind = InvitationKind::kEmployee,
      std::optional<GroupId> group = {}) {
    auto results = inv().Invite(by, org, addresses, kind, group);
    ENTITLE_REQUIRE_OK(results);
    REQUIRE(results->size() == addresses.size());
    return *results;
  }

  Sent InviteOne(OrganizationId org, std::string_view email,
                 InvitationKind kind = InvitationKind::kEmployee) {
    return InviteOne(As(anna), org, email, kind);
  }

  std::string LastInvitationToken(std::string_view email) {
    std::optional<Notification> n =
        this->notifier().Last(E(email), "invitation");
    INFO("no invitation sent to " << email);
    REQUIRE(n.has_value());
    REQUIRE_FALSE(n->token.empty());
    return n->token;
  }
  size_t InvitationsSentTo(std::string_view email) {
    size_t n = 0;
    for (const Notification& sent : this->notifier().Sent()) {
      if (sent.to == E(email) && sent.template_name == "invitation") ++n;
    }
    return n;
  }

  std::string VerifyToken(std::string_view email) {
    std::optional<Notification> n =
        this->notifier().Last(E(email), "verify-email");
    REQUIRE(n.has_value());
    return n->token;
  }
  InvitationRecord Raw(InvitationId id) {
    return this->template Get<InvitationRecord>(id);
  }
  JoinRequestRecord RawRequest(JoinRequestId id) {
    return this->template Get<JoinRequestRecord>(id);
  }
  std::vector<InvitationRecord> InvitationRows(OrganizationId org) {
    InvitationFilter filter;
    filter.organization_id = org;
    return this->template All<InvitationRecord>(filter);
  }
  bool InGroup(GroupId group, IdentityId identity) {
    GroupMemberFilter filter;
    filter.group_id = group;
    filter.identity_id = identity;
    return !this->template All<GroupMemberRecord>(filter).empty();
  }

  std::vector<InvitationInfo> List(OrganizationId org) {
    auto list = inv().List(As(anna), org);
    ENTITLE_REQUIRE_OK(list);
    return *list;
  }
  std::vector<InvitationInfo> Mine(IdentityId who) {
    auto list = inv().ListMine(As(who));
    ENTITLE_REQUIRE_OK(list);
    return *list;
  }
  std::vector<JoinRequestInfo> Pending(OrganizationId org) {
    auto list = inv().ListJoinRequests(As(anna), org);
    ENTITLE_REQUIRE_OK(list);
    return *list;
  }

  // Makes `who` an employee of `org` through an accepted invitation by
  // `admin`.
  void JoinAsEmployee(IdentityId admin, OrganizationId org, IdentityId who,
                      std::string_view email) {
    Sent s = InviteOne(As(admin), org, email);
    auto joined = inv().Accept(As(who), s.token);
    ENTITLE_REQUIRE_OK(joined);
    REQUIRE(*joined == org);
  }

  // REQUIREs that no table, notification field (but the token itself),
  // invitation list and, for SQLite, no byte of the database files holds
  // `token`.
  void RequireTokenNowhere(
      const std::string& token,
      const std::vector<std::vector<InvitationInfo>>& lists) {
    RequireNoneContains(AllStrings(this->Snap()), token, "a store table");
    for (const Notification& n : this->notifier().Sent()) {
      std::vector<std::string> fields{n.to.str(), n.template_name, n.language,
                                      n.subject};
      for (const auto& [k, v] : n.fields) {
        fields.push_back(k);
        fields.push_back(v);
      }
      RequireNoneContains(fields, token, "a notification's fields");
      if (n.token != token) REQUIRE(n.token.find(token) == std::string::npos);
    }
    for (const auto& list : lists) {
      RequireNoneContains(InfoStrings(list), token, "an invitation list");
    }
    if constexpr (std::is_same_v<Backend, SqliteBackend>) {
      for (const auto& entry :
           std::filesystem::directory_iterator(this->backend().dir())) {
        std::ifstream in(entry.path(), std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
        INFO("file " << entry.path() << " holds a link token");
        REQUIRE(bytes.find(token) == std::string::npos);
      }
    }
  }

  IdentityId anna;
  OrganizationId acme;
};

std::vector<InviteOutcome> Outcomes(const std::vector<InviteResult>& results) {
  std::vector<InviteOutcome> out;
  for (const InviteResult& r : results) out.push_back(r.outcome);
  return out;
}

// -------------------------------------------------------------------- INV-1

// clang-format off
TEMPLATE_TEST_CASE("INV-1 an employee batch gives each address its own result "
                   "and needs no identity",
    "[invitations]", ENTITLE_BACKENDS) {
  // clang-format on
  InvFixture<TestType> f;
  f.SetUpAcme();
  const IdentityId olga = f.Person("olga@other.com");
  const OrganizationId other = f.MakeOrg("Other", olga, "other.com");
  const IdentityId emp = f.Person("emp@acme.com");
  ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(f.anna), f.acme, "emp@acme.com"));
  f.Person("bob@other.com");
  const IdentityId pat = f.Person("pat@partner.example");
  const Sent earlier = f.InviteOne(f.acme, "pending@acme.com");
  const size_t sent_before = f.notifier().Sent().size();

  const std::vector<std::string> batch = {
      "New.Person@Acme.com",  // no identity
      "emp@acme.com",         // already an employee here
      "not an email",         // ID-2
      "bob@other.com",        // other.com is Other's
      "pending@acme.com",     // a New invitation exists
      "pat@partner.example",  // an identity, no membership
  };
  std::vector<InviteResult> r = f.InviteMany(As(f.anna), f.acme, batch);
  REQUIRE(Outcomes(r) ==
          std::vector<InviteOutcome>{
              InviteOutcome::kInvited, InviteOutcome::kAlreadyMember,
              InviteOutcome::kInvalidEmail,
              InviteOutcome::kDomainOwnedElsewhere,
              InviteOutcome::kAlreadyInvited, InviteOutcome::kInvited});
  for (size_t i = 0; i < batch.size(); ++i) {
    INFO("address " << batch[i]);
    CHECK(r[i].address == batch[i]);
    if (r[i].outcome == InviteOutcome::kInvited ||
        r[i].outcome == InviteOutcome::kAlreadyInvited) {
      CHECK(r[i].invitation.has_value());
    } else {
      CHECK_FALSE(r[i].invitation.has_value());
      CHECK_FALSE(r[i].message.empty());
    }
  }
  REQUIRE(r[4].invitation == earlier.id);

  // One invitation and one email per invited address, nothing for the rest.
  REQUIRE(f.notifier().Sent().size() == sent_before + 2);
  REQUIRE(f.InvitationsSentTo("new.person@acme.com") == 1);
  REQUIRE(f.InvitationsSentTo("pat@partner.example") == 1);
  REQUIRE(f.InvitationsSentTo("emp@acme.com") == 0);
  REQUIRE(f.InvitationsSentTo("bob@other.com") == 0);
  REQUIRE(f.InvitationsSentTo("pending@acme.com") == 1);
  const InvitationRecord fresh = f.Raw(*r[0].invitation);
  REQUIRE(fresh.email == E("new.person@acme.com"));
  REQUIRE(fresh.kind == InvitationKind::kEmployee);
  REQUIRE(fresh.status == InvitationStatus::kNew);
  REQUIRE(fresh.invited_by == std::optional<IdentityId>(f.anna));
  REQUIRE(f.InvitationRows(f.acme).size() == 3);
  REQUIRE(f.InvitationRows(other).empty());

  // The invitation for pat is pat's to accept; emp stays as it was.
  auto joined =
      f.inv().Accept(As(pat), f.LastInvitationToken("pat@partner.example"));
  ENTITLE_REQUIRE_OK(joined);
  REQUIRE(*joined == f.acme);
  REQUIRE(f.Membership(f.acme, pat)->kind == MembershipKind::kEmployee);
  REQUIRE(f.Membership(f.acme, emp)->kind == MembershipKind::kEmployee);

  // Duplicates within one batch get one invitation.
  std::vector<InviteResult> dup =
      f.InviteMany(As(f.anna), f.acme, {"twice@acme.com", "TWICE@acme.com"});
  REQUIRE(dup[0].outcome == InviteOutcome::kInvited);
  REQUIRE(dup[1].outcome == InviteOutcome::kAlreadyInvited);
  REQUIRE(dup[1].invitation == dup[0].invitation);
  REQUIRE(f.InvitationsSentTo("twice@acme.com") == 1);
}

// clang-format off
TEMPLATE_TEST_CASE("INV-1 external and group batches: domain ownership does "
                   "not restrict them, members are reported",
    "[invitations]", ENTITLE_BACKENDS) {
  // clang-format on
  InvFixture<TestType> f;
  f.SetUpAcme();
  const IdentityId olga = f.Person("olga@other.com");
  f.MakeOrg("Other", olga, "other.com");
  const IdentityId emp = f.Person("emp@acme.com");
  ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(f.anna), f.acme, "emp@acme.com"));
  const IdentityId bob = f.Person("bob@other.com");

  std::vector<InviteResult> ext = f.InviteMany(
      As(f.anna), f.acme,
      {"bob@other.com", "emp@acme.com", "x@y", "new@freelance.example"},
      InvitationKind::kExternal);
  REQUIRE(Outcomes(ext) ==
          std::vector<InviteOutcome>{
              InviteOutcome::kInvited, InviteOutcome::kAlreadyMember,
              InviteOutcome::kInvalidEmail, InviteOutcome::kInvited});
  REQUIRE(f.Raw(*ext[0].invitation).kind == InvitationKind::kExternal);

  // Accepting the external invitation keeps bob's other memberships (ORG-3).
  ENTITLE_REQUIRE_OK(
      f.inv().Accept(As(bob), f.LastInvitationToken("bob@other.com")));
  REQUIRE(f.Membership(f.acme, bob)->kind == MembershipKind::kExternal);
  REQUIRE(f.EmployersOf(bob).empty());

  // Group invitations: into a group of the organization.
  auto designers = f.orgs().CreateGroup(As(f.anna), f.acme, "Designers");
  ENTITLE_REQUIRE_OK(designers);
  ENTITLE_REQUIRE_OK(f.orgs().AddToGroup(As(f.anna), f.acme, *designers, bob));
  std::vector<InviteResult> grp = f.InviteMany(
      As(f.anna), f.acme,
      {"emp@acme.com", "bob@other.com", "g@freelance.example", "@bad"},
      InvitationKind::kGroup, *designers);
  REQUIRE(Outcomes(grp) ==
          std::vector<InviteOutcome>{
              InviteOutcome::kInvited, InviteOutcome::kAlreadyMember,
              InviteOutcome::kInvited, InviteOutcome::kInvalidEmail});
  const InvitationRecord g0 = f.Raw(*grp[0].invitation);
  REQUIRE(g0.kind == InvitationKind::kGroup);
  REQUIRE(g0.group_id == std::optional<GroupId>(*designers));

  // An employee accepting a group invitation stays an employee, in the group.
  ENTITLE_REQUIRE_OK(
      f.inv().Accept(As(emp), f.LastInvitationToken("emp@acme.com")));
  REQUIRE(f.Membership(f.acme, emp)->kind == MembershipKind::kEmployee);
  REQUIRE(f.InGroup(*designers, emp));
  // A new user accepting one becomes an external member in the group.
  auto g = f.inv().AcceptAsNewUser(f.LastInvitationToken("g@freelance.example"),
                                   kPassword, FullProfile());
  ENTITLE_REQUIRE_OK(g);
  REQUIRE(f.Membership(f.acme, *g)->kind == MembershipKind::kExternal);
  REQUIRE(f.InGroup(*designers, *g));
}

// clang-format off
TEMPLATE_TEST_CASE("INV-1 accepting as a new user creates a verified identity; "
                   "the membership waits for the mandatory profile (ID-12)",
    "[invitations]", ENTITLE_BACKENDS) {
  // clang-format on
  InvFixture<TestType> f;
  f.SetUpAcme();
  const Sent bare = f.InviteOne(f.acme, "nina@acme.com");
  const Sent full =
      f.InviteOne(f.acme, "fred@freelance.example", InvitationKind::kExternal);
  REQUIRE(f.Raw(bare.id).status == InvitationStatus::kNew);

  // A weak password is refused and uses nothing up.
  {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.inv().AcceptAsNewUser(bare.token, "short", {}),
                            StatusCode::kInvalidArgument,
                            Reason::kWeakPassword);
    ENTITLE_REQUIRE_REFUSED(
        f.inv().AcceptAsNewUser(bare.token, kPassword,
                                Profile{"N", "Finland", ""}),
        StatusCode::kInvalidArgument, Reason::kInvalidProfile);
    ENTITLE_REQUIRE_REFUSED(
        f.inv().AcceptAsNewUser(Altered(bare.token), kPassword, {}),
        StatusCode::kNotFound, Reason::kInvalidLink);
    f.RequireUnchanged(before);
  }

  // No profile: the identity exists, verified, but the membership waits.
  f.events().Clear();
  auto nina = f.inv().AcceptAsNewUser(bare.token, kPassword, {});
  ENTITLE_REQUIRE_OK(nina);
  const IdentityRecord nina_record = f.RawIdentity(*nina);
  REQUIRE(nina_record.email == E("nina@acme.com"));
  REQUIRE(nina_record.verified);
  REQUIRE_FALSE(nina_record.profile_complete);
  REQUIRE(f.Membership(f.acme, *nina)->kind == MembershipKind::kEmployee);
  REQUIRE(f.Membership(f.acme, *nina)->status ==
          MembershipStatus::kPendingProfile);
  REQUIRE(f.Raw(bare.id).status == InvitationStatus::kAccepted);
  REQUIRE(f.Changes().size() == 1);
  ENTITLE_REQUIRE_OK(f.ids().SignIn("nina@acme.com", kPassword));
  // Half a profile is not enough; the whole one activates the membership.
  ENTITLE_REQUIRE_OK(f.ids().UpdateProfile(
      As(*nina), *nina, ProfileUpdate{.display_name = std::string("Nina")}));
  REQUIRE(f.Membership(f.acme, *nina)->status ==
          MembershipStatus::kPendingProfile);
  ENTITLE_REQUIRE_OK(f.ids().UpdateProfile(
      As(*nina), *nina, ProfileUpdate{.country = std::string("de")}));
  REQUIRE(f.Membership(f.acme, *nina)->status == MembershipStatus::kActive);

  // With the profile given, the membership is active at once.
  auto fred = f.inv().AcceptAsNewUser(full.token, kPassword, FullProfile());
  ENTITLE_REQUIRE_OK(fred);
  REQUIRE(f.RawIdentity(*fred).verified);
  REQUIRE(f.RawIdentity(*fred).profile_complete);
  REQUIRE(f.Membership(f.acme, *fred)->kind == MembershipKind::kExternal);
  REQUIRE(f.Membership(f.acme, *fred)->status == MembershipStatus::kActive);

  // The link is used; an address that has an identity must sign in instead.
  {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.inv().AcceptAsNewUser(full.token, kPassword, {}),
                            StatusCode::kFailedPrecondition,
                            Reason::kInvitationAlreadyAccepted);
    f.RequireUnchanged(before);
  }
  f.Person("has@freelance.example");
  const Sent taken =
      f.InviteOne(f.acme, "has@freelance.example", InvitationKind::kExternal);
  {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(
        f.inv().AcceptAsNewUser(taken.token, kPassword, FullProfile()),
        StatusCode::kAlreadyExists, Reason::kEmailTaken);
    f.RequireUnchanged(before);
  }
  REQUIRE(f.Raw(taken.id).status == InvitationStatus::kNew);
}

// clang-format off
TEMPLATE_TEST_CASE("INV-1 a bad batch is refused whole: empty, over "
                   "kMaxInvitationBatch, a wrong group, a non-admin",
    "[invitations]", ENTITLE_BACKENDS) {
  // clang-format on
  InvFixture<TestType> f;
  f.SetUpAcme();
  const IdentityId emp = f.Person("emp@acme.com");
  ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(f.anna), f.acme, "emp@acme.com"));
  const IdentityId olga = f.Person("olga@other.com");
  const OrganizationId other = f.MakeOrg("Other", olga, "other.com");
  auto theirs = f.orgs().CreateGroup(As(olga), other, "Theirs");
  ENTITLE_REQUIRE_OK(theirs);
  auto ours = f.orgs().CreateGroup(As(f.anna), f.acme, "Ours");
  ENTITLE_REQUIRE_OK(ours);
  auto viewer = f.orgs().CreateRole(As(f.anna), f.acme, "Viewer", kViewUsage);
  ENTITLE_REQUIRE_OK(viewer);
  ENTITLE_REQUIRE_OK(f.orgs().GrantRole(As(f.anna), f.acme, emp, *viewer));

  std::vector<std::string> too_many;
  for (size_t i = 0; i <= kMaxInvitationBatch; ++i) {
    too_many.push_back(absl::StrCat("user", i, "@acme.com"));
  }
  REQUIRE(too_many.size() == 501);
  const std::vector<std::string> one = {"one@acme.com"};

  auto before = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(
      f.inv().Invite(As(f.anna), f.acme, too_many, InvitationKind::kEmployee),
      StatusCode::kInvalidArgument, Reason::kLimitExceeded);
  ENTITLE_REQUIRE_REFUSED(
      f.inv().Invite(As(f.anna), f.acme, {}, InvitationKind::kEmployee),
      StatusCode::kInvalidArgument, Reason::kInvalidArgument);
  ENTITLE_REQUIRE_REFUSED(
      f.inv().Invite(As(f.anna), f.acme, one, InvitationKind::kGroup),
      StatusCode::kInvalidArgument, Reason::kInvalidArgument);
  ENTITLE_REQUIRE_REFUSED(
      f.inv().Invite(As(f.anna), f.acme, one, InvitationKind::kEmployee, *ours),
      StatusCode::kInvalidArgument, Reason::kInvalidArgument);
  ENTITLE_REQUIRE_REFUSED(
      f.inv().Invite(As(f.anna), f.acme, one, InvitationKind::kGroup, *theirs),
      StatusCode::kNotFound, Reason::kNotFound);
  // Not an admin: a plain member, a member without kManageUsers, another
  // organization's admin, nobody.
  ENTITLE_REQUIRE_REFUSED(
      f.inv().Invite(As(emp), f.acme, one, InvitationKind::kEmployee),
      StatusCode::kPermissionDenied, Reason::kPermissionDenied);
  ENTITLE_REQUIRE_REFUSED(
      f.inv().Invite(As(olga), f.acme, one, InvitationKind::kExternal),
      StatusCode::kPermissionDenied, Reason::kPermissionDenied);
  ENTITLE_REQUIRE_REFUSED(
      f.inv().Invite(kAnon, f.acme, one, InvitationKind::kExternal),
      StatusCode::kPermissionDenied, Reason::kPermissionDenied);
  ENTITLE_REQUIRE_REFUSED(f.inv().Invite(As(f.anna), OrganizationId(9999), one,
                                         InvitationKind::kExternal),
                          StatusCode::kNotFound, Reason::kNotFound);
  ENTITLE_REQUIRE_REFUSED(f.inv().List(As(emp), f.acme),
                          StatusCode::kPermissionDenied,
                          Reason::kPermissionDenied);
  f.RequireUnchanged(before);

  // Exactly kMaxInvitationBatch is allowed; a Co-Administrator may invite.
  too_many.pop_back();
  std::vector<InviteResult> all = f.InviteMany(As(f.anna), f.acme, too_many);
  for (const InviteResult& r : all)
    REQUIRE(r.outcome == InviteOutcome::kInvited);
  REQUIRE(f.InvitationRows(f.acme).size() == kMaxInvitationBatch);
  ENTITLE_REQUIRE_OK(
      f.orgs().GrantRole(As(f.anna), f.acme, emp, f.CoAdminRole(f.acme)));
  f.InviteOne(As(emp), f.acme, "by-coadmin@acme.com");
  // So may the operator; no identity is recorded as the inviter.
  const Sent by_operator = f.InviteOne(kOp, f.acme, "by-operator@acme.com");
  REQUIRE_FALSE(f.Raw(by_operator.id).invited_by.has_value());
}

// -------------------------------------------------------------------- INV-2

TEMPLATE_TEST_CASE("INV-2 an invitation is valid for one week", "[invitations]",
                   ENTITLE_BACKENDS) {
  InvFixture<TestType> f;
  f.SetUpAcme();
  const IdentityId bob = f.Person("bob@bob.example");
  const IdentityId cat = f.Person("cat@cat.example");
  const IdentityId dan = f.Person("dan@dan.example");
  const absl::Time t = f.clock().Now();
  const Sent b = f.InviteOne(f.acme, "bob@bob.example");
  const Sent c = f.InviteOne(f.acme, "cat@cat.example");
  const Sent d = f.InviteOne(f.acme, "dan@dan.example");
  const Sent n = f.InviteOne(f.acme, "nobody@new.example");
  REQUIRE(f.Raw(b.id).expires_at == t + kWeek);
  REQUIRE(
      f.notifier().Last(E("bob@bob.example"), "invitation")->link_expires_at ==
      std::optional<absl::Time>(t + kWeek));

  // One second before the week ends it still works.
  f.clock().Advance(kWeek - absl::Seconds(1));
  ENTITLE_REQUIRE_OK(f.inv().Accept(As(bob), b.token));
  REQUIRE(f.Membership(f.acme, bob).has_value());

  // At the end of the week it has expired, for every way of using it.
  f.clock().Advance(absl::Seconds(1));
  auto before = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(f.inv().Accept(As(cat), c.token),
                          StatusCode::kFailedPrecondition,
                          Reason::kInvitationExpired);
  ENTITLE_REQUIRE_REFUSED(f.inv().AcceptById(As(cat), c.id),
                          StatusCode::kFailedPrecondition,
                          Reason::kInvitationExpired);
  ENTITLE_REQUIRE_REFUSED(f.inv().Reject(c.token),
                          StatusCode::kFailedPrecondition,
                          Reason::kInvitationExpired);
  ENTITLE_REQUIRE_REFUSED(
      f.inv().AcceptAsNewUser(n.token, kPassword, FullProfile()),
      StatusCode::kFailedPrecondition, Reason::kInvitationExpired);
  f.clock().Advance(absl::Hours(24 * 30));
  ENTITLE_REQUIRE_REFUSED(f.inv().Accept(As(dan), d.token),
                          StatusCode::kFailedPrecondition,
                          Reason::kInvitationExpired);
  f.RequireUnchanged(before);
  REQUIRE_FALSE(f.Membership(f.acme, cat).has_value());
  REQUIRE_FALSE(f.Membership(f.acme, dan).has_value());
  REQUIRE(f.Raw(c.id).status == InvitationStatus::kNew);
}

// -------------------------------------------------------------------- INV-3

// clang-format off
TEMPLATE_TEST_CASE("INV-3 resend issues a new link valid for a week and the "
                   "old one stays dead",
    "[invitations]", ENTITLE_BACKENDS) {
  // clang-format on
  InvFixture<TestType> f;
  f.SetUpAcme();
  const IdentityId bob = f.Person("bob@bob.example");
  const IdentityId cat = f.Person("cat@cat.example");
  const IdentityId emp = f.Person("emp@acme.com");
  ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(f.anna), f.acme, "emp@acme.com"));
  const Sent old = f.InviteOne(f.acme, "bob@bob.example");

  // Resent three days later: a new invitation, a new link, a new week.
  f.clock().Advance(absl::Hours(72));
  const absl::Time resent_at = f.clock().Now();
  auto renewed = f.inv().Resend(As(f.anna), f.acme, old.id);
  ENTITLE_REQUIRE_OK(renewed);
  REQUIRE(*renewed != old.id);
  const std::string fresh = f.LastInvitationToken("bob@bob.example");
  REQUIRE(fresh != old.token);
  REQUIRE(f.InvitationsSentTo("bob@bob.example") == 2);
  const InvitationRecord raw = f.Raw(*renewed);
  REQUIRE(raw.expires_at == resent_at + kWeek);
  REQUIRE(raw.email == E("bob@bob.example"));
  REQUIRE(raw.kind == InvitationKind::kEmployee);
  REQUIRE(f.Raw(old.id).status == InvitationStatus::kSuperseded);
  {
    std::vector<InvitationInfo> list = f.List(f.acme);
    REQUIRE(list.size() == 1);
    REQUIRE(list[0].id == *renewed);
    REQUIRE(list[0].state == InvitationState::kNew);
  }

  // The old link is dead with its own reason, for accepting and rejecting.
  {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.inv().Accept(As(bob), old.token),
                            StatusCode::kFailedPrecondition,
                            Reason::kInvitationSuperseded);
    ENTITLE_REQUIRE_REFUSED(f.inv().Reject(old.token),
                            StatusCode::kFailedPrecondition,
                            Reason::kInvitationSuperseded);
    ENTITLE_REQUIRE_REFUSED(f.inv().AcceptById(As(bob), old.id),
                            StatusCode::kFailedPrecondition,
                            Reason::kInvitationSuperseded);
    // Resending the superseded one again is refused too.
    ENTITLE_REQUIRE_REFUSED(f.inv().Resend(As(f.anna), f.acme, old.id),
                            StatusCode::kFailedPrecondition,
                            Reason::kInvitationSuperseded);
    // Only an admin of the organization may resend.
    ENTITLE_REQUIRE_REFUSED(f.inv().Resend(As(emp), f.acme, *renewed),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.inv().Resend(As(bob), f.acme, *renewed),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    f.RequireUnchanged(before);
  }

  // The new link outlives the old week: one second before its own week ends.
  f.clock().Advance(kWeek - absl::Seconds(1));
  ENTITLE_REQUIRE_OK(f.inv().Accept(As(bob), fresh));
  REQUIRE(f.Membership(f.acme, bob)->kind == MembershipKind::kEmployee);
  {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.inv().Accept(As(bob), old.token),
                            StatusCode::kFailedPrecondition,
                            Reason::kInvitationSuperseded);
    // An accepted invitation cannot be resent.
    ENTITLE_REQUIRE_REFUSED(f.inv().Resend(As(f.anna), f.acme, *renewed),
                            StatusCode::kFailedPrecondition,
                            Reason::kInvitationAlreadyAccepted);
    f.RequireUnchanged(before);
  }

  // An expired invitation can be resent: the expired link stays dead.
  const Sent expired = f.InviteOne(f.acme, "cat@cat.example");
  f.clock().Advance(kWeek + absl::Hours(1));
  ENTITLE_REQUIRE_REFUSED(f.inv().Accept(As(cat), expired.token),
                          StatusCode::kFailedPrecondition,
                          Reason::kInvitationExpired);
  REQUIRE(f.List(f.acme).back().state == InvitationState::kExpired);
  auto again = f.inv().Resend(As(f.anna), f.acme, expired.id);
  ENTITLE_REQUIRE_OK(again);
  const std::string again_token = f.LastInvitationToken("cat@cat.example");
  REQUIRE(f.Raw(*again).expires_at == f.clock().Now() + kWeek);
  {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.inv().Accept(As(cat), expired.token),
                            StatusCode::kFailedPrecondition,
                            Reason::kInvitationSuperseded);
    f.RequireUnchanged(before);
  }
  ENTITLE_REQUIRE_OK(f.inv().Accept(As(cat), again_token));
  REQUIRE(f.Membership(f.acme, cat).has_value());
  REQUIRE(f.List(f.acme).empty());

  // Someone else's invitation id is unknown here.
  const IdentityId olga = f.Person("olga@other.com");
  const OrganizationId other = f.MakeOrg("Other", olga);
  const Sent theirs = f.InviteOne(As(olga), other, "zed@zed.example");
  auto before = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(f.inv().Resend(As(f.anna), f.acme, theirs.id),
                          StatusCode::kNotFound, Reason::kNotFound);
  ENTITLE_REQUIRE_REFUSED(
      f.inv().Resend(As(f.anna), f.acme, InvitationId(9999)),
      StatusCode::kNotFound, Reason::kNotFound);
  f.RequireUnchanged(before);
}

// -------------------------------------------------------------------- INV-4

// clang-format off
TEMPLATE_TEST_CASE("INV-4 admins list New, Rejected and Expired invitations; "
                   "accepted, revoked and resent ones leave the list",
    "[invitations]", ENTITLE_BACKENDS) {
  // clang-format on
  InvFixture<TestType> f;
  f.SetUpAcme();
  const IdentityId acc = f.Person("acc@x.example");
  const absl::Time t0 = f.clock().Now();
  const Sent expired = f.InviteOne(f.acme, "exp@x.example");
  f.clock().Advance(kWeek + absl::Hours(1));
  const absl::Time t1 = f.clock().Now();
  const Sent fresh =
      f.InviteOne(f.acme, "new@x.example", InvitationKind::kExternal);
  const Sent rejected = f.InviteOne(f.acme, "rej@x.example");
  const Sent accepted = f.InviteOne(f.acme, "acc@x.example");
  const Sent revoked = f.InviteOne(f.acme, "rev@x.example");
  const Sent resent = f.InviteOne(f.acme, "res@x.example");
  ENTITLE_REQUIRE_OK(f.inv().Reject(rejected.token));
  ENTITLE_REQUIRE_OK(f.inv().Accept(As(acc), accepted.token));
  ENTITLE_REQUIRE_OK(f.inv().Revoke(As(f.anna), f.acme, revoked.id));
  auto renewed = f.inv().Resend(As(f.anna), f.acme, resent.id);
  ENTITLE_REQUIRE_OK(renewed);

  std::vector<InvitationInfo> list = f.List(f.acme);
  REQUIRE(list.size() == 4);
  REQUIRE(list[0].id == expired.id);
  REQUIRE(list[0].state == InvitationState::kExpired);
  REQUIRE(list[0].created_at == t0);
  REQUIRE(list[0].expires_at == t0 + kWeek);
  REQUIRE(list[1].id == fresh.id);
  REQUIRE(list[1].state == InvitationState::kNew);
  REQUIRE(list[1].kind == InvitationKind::kExternal);
  REQUIRE(list[1].email == E("new@x.example"));
  REQUIRE(list[1].organization == f.acme);
  REQUIRE(list[1].organization_name == "Acme");
  REQUIRE(list[1].expires_at == t1 + kWeek);
  REQUIRE(list[2].id == rejected.id);
  REQUIRE(list[2].state == InvitationState::kRejected);
  REQUIRE(list[3].id == *renewed);
  REQUIRE(list[3].state == InvitationState::kNew);
}

TEMPLATE_TEST_CASE("INV-4 revoking a New invitation kills its link",
                   "[invitations]", ENTITLE_BACKENDS) {
  InvFixture<TestType> f;
  f.SetUpAcme();
  const IdentityId bob = f.Person("bob@bob.example");
  const IdentityId emp = f.Person("emp@acme.com");
  ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(f.anna), f.acme, "emp@acme.com"));
  const Sent s = f.InviteOne(f.acme, "bob@bob.example");
  const Sent n = f.InviteOne(f.acme, "nobody@new.example");

  {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.inv().Revoke(As(emp), f.acme, s.id),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.inv().Revoke(As(bob), f.acme, s.id),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(
        f.inv().Revoke(As(f.anna), f.acme, InvitationId(9999)),
        StatusCode::kNotFound, Reason::kNotFound);
    f.RequireUnchanged(before);
  }
  ENTITLE_REQUIRE_OK(f.inv().Revoke(As(f.anna), f.acme, s.id));
  ENTITLE_REQUIRE_OK(f.inv().Revoke(As(f.anna), f.acme, n.id));
  REQUIRE(f.Raw(s.id).status == InvitationStatus::kRevoked);
  REQUIRE(f.List(f.acme).empty());

  auto before = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(f.inv().Accept(As(bob), s.token),
                          StatusCode::kFailedPrecondition,
                          Reason::kInvitationRevoked);
  ENTITLE_REQUIRE_REFUSED(f.inv().AcceptById(As(bob), s.id),
                          StatusCode::kFailedPrecondition,
                          Reason::kInvitationRevoked);
  ENTITLE_REQUIRE_REFUSED(f.inv().Reject(s.token),
                          StatusCode::kFailedPrecondition,
                          Reason::kInvitationRevoked);
  ENTITLE_REQUIRE_REFUSED(
      f.inv().AcceptAsNewUser(n.token, kPassword, FullProfile()),
      StatusCode::kFailedPrecondition, Reason::kInvitationRevoked);
  ENTITLE_REQUIRE_REFUSED(f.inv().Revoke(As(f.anna), f.acme, s.id),
                          StatusCode::kFailedPrecondition,
                          Reason::kInvitationRevoked);
  ENTITLE_REQUIRE_REFUSED(f.inv().Resend(As(f.anna), f.acme, s.id),
                          StatusCode::kFailedPrecondition,
                          Reason::kInvitationRevoked);
  f.RequireUnchanged(before);
  REQUIRE_FALSE(f.Membership(f.acme, bob).has_value());

  // An accepted invitation cannot be revoked.
  const Sent s2 = f.InviteOne(f.acme, "bob@bob.example");
  ENTITLE_REQUIRE_OK(f.inv().Accept(As(bob), s2.token));
  auto before2 = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(f.inv().Revoke(As(f.anna), f.acme, s2.id),
                          StatusCode::kFailedPrecondition,
                          Reason::kInvitationAlreadyAccepted);
  f.RequireUnchanged(before2);
}

// clang-format off
TEMPLATE_TEST_CASE("INV-4 no table, notification field, outbox row, audit "
                   "record or list ever holds a link token",
    "[invitations]", ENTITLE_BACKENDS) {
  // clang-format on
  InvFixture<TestType> f;
  f.SetUpAcme();
  const IdentityId bob = f.Person("bob@bob.example");
  const IdentityId cat = f.Person("cat@cat.example");
  const IdentityId dan = f.Person("dan@dan.example");
  const Sent live = f.InviteOne(f.acme, "cat@cat.example");
  const Sent accepted = f.InviteOne(f.acme, "bob@bob.example");
  const Sent revoked = f.InviteOne(f.acme, "rev@x.example");
  const Sent resent = f.InviteOne(f.acme, "res@x.example");
  const Sent rejected = f.InviteOne(f.acme, "rej@x.example");
  const Sent newuser =
      f.InviteOne(f.acme, "nu@x.example", InvitationKind::kExternal);
  ENTITLE_REQUIRE_OK(f.inv().Accept(As(bob), accepted.token));
  ENTITLE_REQUIRE_OK(f.inv().Revoke(As(f.anna), f.acme, revoked.id));
  ENTITLE_REQUIRE_OK(f.inv().Resend(As(f.anna), f.acme, resent.id));
  ENTITLE_REQUIRE_OK(f.inv().Reject(rejected.token));
  ENTITLE_REQUIRE_OK(
      f.inv().AcceptAsNewUser(newuser.token, kPassword, FullProfile()));
  auto link = f.inv().CreateRequestLink(As(f.anna), f.acme);
  ENTITLE_REQUIRE_OK(link);
  ENTITLE_REQUIRE_OK(f.inv().FollowRequestLink(As(dan), link->token));
  const std::vector<std::vector<InvitationInfo>> lists = {f.List(f.acme),
                                                          f.Mine(cat)};
  REQUIRE(lists[1].size() == 1);

  // The invitation emails carry the token, in `token` only.
  const Notification mail =
      f.notifier().Last(E("cat@cat.example"), "invitation").value();
  REQUIRE(mail.token == live.token);
  REQUIRE(mail.subject.find("Acme") != std::string::npos);
  // The outbox logged every invitation email, without the link.
  OutboxFilter outbox;
  outbox.template_name = "invitation";
  REQUIRE(f.template All<OutboxRecord>(outbox).size() >= 7);

  std::vector<std::string> tokens = {link->token};
  for (const Notification& n : f.notifier().Sent()) {
    if (!n.token.empty()) tokens.push_back(n.token);
  }
  REQUIRE(tokens.size() >= 8);
  for (const std::string& token : tokens) {
    INFO("token " << token);
    f.RequireTokenNowhere(token, lists);
  }
  // Events carry ids and times only (by type); there were some.
  REQUIRE_FALSE(f.Changes().empty());
}

// -------------------------------------------------------------------- INV-5

// clang-format off
TEMPLATE_TEST_CASE("INV-5 only the owner of the invited, verified address "
                   "accepts, and only once",
    "[invitations]", ENTITLE_BACKENDS) {
  // clang-format on
  InvFixture<TestType> f;
  f.SetUpAcme();
  const IdentityId bob = f.Person("bob@bob.example");
  const IdentityId carol = f.Person("carol@carol.example");
  const IdentityId uma = f.Unverified("uma@uma.example");
  const Sent b = f.InviteOne(f.acme, "bob@bob.example");
  const Sent u = f.InviteOne(f.acme, "uma@uma.example");

  {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.inv().Accept(As(carol), b.token),
                            StatusCode::kPermissionDenied,
                            Reason::kWrongInvitee);
    ENTITLE_REQUIRE_REFUSED(f.inv().Accept(As(f.anna), b.token),
                            StatusCode::kPermissionDenied,
                            Reason::kWrongInvitee);
    ENTITLE_REQUIRE_REFUSED(f.inv().Accept(As(uma), u.token),
                            StatusCode::kFailedPrecondition,
                            Reason::kNotVerified);
    ENTITLE_REQUIRE_REFUSED(f.inv().Accept(kAnon, b.token),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.inv().Accept(kOp, b.token),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    // The address has an identity: creating another is refused.
    ENTITLE_REQUIRE_REFUSED(
        f.inv().AcceptAsNewUser(u.token, kPassword, FullProfile()),
        StatusCode::kAlreadyExists, Reason::kEmailTaken);
    f.RequireUnchanged(before);
  }
  // A locked invitee cannot accept until unlocked (ID-9).
  ENTITLE_REQUIRE_OK(f.ids().Lock(kOp, bob));
  {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.inv().Accept(As(bob), b.token),
                            StatusCode::kFailedPrecondition,
                            Reason::kIdentityLocked);
    f.RequireUnchanged(before);
  }
  ENTITLE_REQUIRE_OK(f.ids().Unlock(kOp, bob));
  REQUIRE_FALSE(f.Membership(f.acme, carol).has_value());

  auto joined = f.inv().Accept(As(bob), b.token);
  ENTITLE_REQUIRE_OK(joined);
  REQUIRE(*joined == f.acme);
  REQUIRE(f.Membership(f.acme, bob)->kind == MembershipKind::kEmployee);
  REQUIRE(f.Membership(f.acme, bob)->status == MembershipStatus::kActive);
  const InvitationRecord raw = f.Raw(b.id);
  REQUIRE(raw.status == InvitationStatus::kAccepted);
  REQUIRE(raw.decided_at == std::optional<absl::Time>(f.clock().Now()));
  REQUIRE_FALSE(f.AuditOf("invitation.accept").empty());

  // A second click says it was already accepted, to anyone.
  auto before = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(f.inv().Accept(As(bob), b.token),
                          StatusCode::kFailedPrecondition,
                          Reason::kInvitationAlreadyAccepted);
  ENTITLE_REQUIRE_REFUSED(f.inv().AcceptById(As(bob), b.id),
                          StatusCode::kFailedPrecondition,
                          Reason::kInvitationAlreadyAccepted);
  ENTITLE_REQUIRE_REFUSED(f.inv().Reject(b.token),
                          StatusCode::kFailedPrecondition,
                          Reason::kInvitationAlreadyAccepted);
  f.RequireUnchanged(before);

  // Once uma verifies, the same link works for her.
  ENTITLE_REQUIRE_OK(f.ids().CompleteVerification(
      f.VerifyToken("uma@uma.example"), kPassword));
  ENTITLE_REQUIRE_OK(f.inv().Accept(As(uma), u.token));
  REQUIRE(f.Membership(f.acme, uma).has_value());
}

// clang-format off
TEMPLATE_TEST_CASE("INV-5 accepting an employee invitation moves the employee "
                   "from its previous organization (ORG-2)",
    "[invitations]", ENTITLE_BACKENDS) {
  // clang-format on
  InvFixture<TestType> f;
  f.SetUpAcme();
  const IdentityId olga = f.Person("olga@other.com");
  const OrganizationId other = f.MakeOrg("Other", olga);
  const IdentityId bob = f.Person("bob@bob.example");
  f.JoinAsEmployee(olga, other, bob, "bob@bob.example");
  ENTITLE_REQUIRE_OK(
      f.orgs().GrantRole(As(olga), other, bob, f.CoAdminRole(other)));
  auto team = f.orgs().CreateGroup(As(olga), other, "Team");
  ENTITLE_REQUIRE_OK(team);
  ENTITLE_REQUIRE_OK(f.orgs().AddToGroup(As(olga), other, *team, bob));
  REQUIRE(f.EmployersOf(bob) == std::vector<OrganizationId>{other});

  const Sent s = f.InviteOne(f.acme, "bob@bob.example");
  f.events().Clear();
  ENTITLE_REQUIRE_OK(f.inv().Accept(As(bob), s.token));
  REQUIRE(f.EmployersOf(bob) == std::vector<OrganizationId>{f.acme});
  REQUIRE_FALSE(f.Membership(other, bob).has_value());
  REQUIRE(f.GrantsOf(other, bob).empty());
  REQUIRE_FALSE(f.InGroup(*team, bob));
  const auto changes = f.Changes();
  REQUIRE(changes.size() == 1);
  REQUIRE(changes[0].identity == bob);
  REQUIRE(changes[0].previous == std::optional<OrganizationId>(other));
  REQUIRE(changes[0].current == std::optional<OrganizationId>(f.acme));
  REQUIRE(changes[0].at == f.clock().Now());

  // An external member invited as employee is upgraded in place (ORG-3).
  const IdentityId xena = f.Person("xena@xena.example");
  ENTITLE_REQUIRE_OK(
      f.orgs().AddExternal(As(f.anna), f.acme, "xena@xena.example"));
  const Sent x = f.InviteOne(f.acme, "xena@xena.example");
  ENTITLE_REQUIRE_OK(f.inv().Accept(As(xena), x.token));
  REQUIRE(f.Membership(f.acme, xena)->kind == MembershipKind::kEmployee);
  REQUIRE(f.MembershipsOf(xena).size() == 1);

  // The last administrator of an organization cannot be moved away (ORG-4).
  const Sent o = f.InviteOne(f.acme, "olga@other.com");
  auto before = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(f.inv().Accept(As(olga), o.token),
                          StatusCode::kFailedPrecondition,
                          Reason::kLastAdministrator);
  f.RequireUnchanged(before);
  REQUIRE(f.EmployersOf(olga) == std::vector<OrganizationId>{other});
}

// clang-format off
TEMPLATE_TEST_CASE("INV-5 the invitee rejects with the link alone; a rejected "
                   "invitation cannot be accepted",
    "[invitations]", ENTITLE_BACKENDS) {
  // clang-format on
  InvFixture<TestType> f;
  f.SetUpAcme();
  const IdentityId bob = f.Person("bob@bob.example");
  const Sent s = f.InviteOne(f.acme, "bob@bob.example");
  const Sent n = f.InviteOne(f.acme, "nobody@new.example");

  {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.inv().Reject(Altered(s.token)),
                            StatusCode::kNotFound, Reason::kInvalidLink);
    ENTITLE_REQUIRE_REFUSED(f.inv().Reject(""), StatusCode::kNotFound,
                            Reason::kInvalidLink);
    f.RequireUnchanged(before);
  }
  ENTITLE_REQUIRE_OK(f.inv().Reject(s.token));
  ENTITLE_REQUIRE_OK(f.inv().Reject(n.token));  // No identity needed.
  REQUIRE(f.Raw(s.id).status == InvitationStatus::kRejected);
  REQUIRE(f.Raw(s.id).decided_at.has_value());
  REQUIRE(f.List(f.acme).front().state == InvitationState::kRejected);

  auto before = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(f.inv().Accept(As(bob), s.token),
                          StatusCode::kFailedPrecondition,
                          Reason::kInvitationRejected);
  ENTITLE_REQUIRE_REFUSED(f.inv().AcceptById(As(bob), s.id),
                          StatusCode::kFailedPrecondition,
                          Reason::kInvitationRejected);
  ENTITLE_REQUIRE_REFUSED(f.inv().Reject(s.token),
                          StatusCode::kFailedPrecondition,
                          Reason::kInvitationRejected);
  ENTITLE_REQUIRE_REFUSED(
      f.inv().AcceptAsNewUser(n.token, kPassword, FullProfile()),
      StatusCode::kFailedPrecondition, Reason::kInvitationRejected);
  f.RequireUnchanged(before);
  REQUIRE_FALSE(f.Membership(f.acme, bob).has_value());
  REQUIRE(f.Mine(bob).empty());
}

// -------------------------------------------------------------------- INV-6

// clang-format off
TEMPLATE_TEST_CASE("INV-6 an identity lists its own New invitations and "
                   "accepts one by id",
    "[invitations]", ENTITLE_BACKENDS) {
  // clang-format on
  InvFixture<TestType> f;
  f.SetUpAcme();
  const IdentityId olga = f.Person("olga@other.com");
  const OrganizationId other = f.MakeOrg("Other", olga);
  const IdentityId pia = f.Person("pia@pia.example");
  const OrganizationId beta = f.MakeOrg("Beta", pia);
  const IdentityId bob = f.Person("bob@bob.example");
  const IdentityId carol = f.Person("carol@carol.example");
  const IdentityId uma = f.Unverified("uma@uma.example");

  const Sent old =
      f.InviteOne(As(pia), beta, "bob@bob.example");  // will expire
  f.clock().Advance(kWeek + absl::Hours(1));
  const Sent from_acme = f.InviteOne(f.acme, "BOB@bob.example");
  const Sent from_other = f.InviteOne(As(olga), other, "bob@bob.example",
                                      InvitationKind::kExternal);
  const Sent revoked =
      f.InviteOne(As(pia), beta, "bob@bob.example", InvitationKind::kExternal);
  ENTITLE_REQUIRE_OK(f.inv().Revoke(As(pia), beta, revoked.id));
  const Sent for_carol = f.InviteOne(f.acme, "carol@carol.example");
  f.InviteOne(f.acme, "uma@uma.example");

  std::vector<InvitationInfo> mine = f.Mine(bob);
  REQUIRE(mine.size() == 2);
  REQUIRE(mine[0].id == from_acme.id);
  REQUIRE(mine[0].organization == f.acme);
  REQUIRE(mine[0].organization_name == "Acme");
  REQUIRE(mine[0].kind == InvitationKind::kEmployee);
  REQUIRE(mine[0].state == InvitationState::kNew);
  REQUIRE(mine[1].id == from_other.id);
  REQUIRE(mine[1].organization_name == "Other");
  REQUIRE(mine[1].kind == InvitationKind::kExternal);
  REQUIRE(f.Mine(carol).size() == 1);

  {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.inv().ListMine(kAnon),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.inv().ListMine(As(uma)),
                            StatusCode::kFailedPrecondition,
                            Reason::kNotVerified);
    // Someone else's invitation, or none at all, is not found.
    ENTITLE_REQUIRE_REFUSED(f.inv().AcceptById(As(bob), for_carol.id),
                            StatusCode::kNotFound, Reason::kNotFound);
    ENTITLE_REQUIRE_REFUSED(f.inv().AcceptById(As(bob), InvitationId(9999)),
                            StatusCode::kNotFound, Reason::kNotFound);
    ENTITLE_REQUIRE_REFUSED(f.inv().AcceptById(kAnon, from_acme.id),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    // Its own, but expired or revoked.
    ENTITLE_REQUIRE_REFUSED(f.inv().AcceptById(As(bob), old.id),
                            StatusCode::kFailedPrecondition,
                            Reason::kInvitationExpired);
    ENTITLE_REQUIRE_REFUSED(f.inv().AcceptById(As(bob), revoked.id),
                            StatusCode::kFailedPrecondition,
                            Reason::kInvitationRevoked);
    f.RequireUnchanged(before);
  }

  // Accepting by id needs no link; the link is then used up.
  auto joined = f.inv().AcceptById(As(bob), from_acme.id);
  ENTITLE_REQUIRE_OK(joined);
  REQUIRE(*joined == f.acme);
  REQUIRE(f.Membership(f.acme, bob)->kind == MembershipKind::kEmployee);
  REQUIRE(f.Raw(from_acme.id).status == InvitationStatus::kAccepted);
  ENTITLE_REQUIRE_REFUSED(f.inv().Accept(As(bob), from_acme.token),
                          StatusCode::kFailedPrecondition,
                          Reason::kInvitationAlreadyAccepted);
  mine = f.Mine(bob);
  REQUIRE(mine.size() == 1);
  REQUIRE(mine[0].id == from_other.id);
  REQUIRE(f.Mine(carol).size() == 1);
}

// -------------------------------------------------------------------- INV-7

// clang-format off
TEMPLATE_TEST_CASE("INV-7 invitation links are long random URL-safe tokens, "
                   "stored only as a hash",
    "[invitations]", ENTITLE_BACKENDS) {
  // clang-format on
  InvFixture<TestType> f;
  f.SetUpAcme();
  const IdentityId bob = f.Person("bob@bob.example");
  std::vector<std::string> addresses;
  for (int i = 0; i < 40; ++i)
    addresses.push_back(absl::StrCat("p", i, "@x.example"));
  addresses.push_back("bob@bob.example");
  f.InviteMany(As(f.anna), f.acme, addresses);

  std::set<std::string> tokens;
  std::set<std::string> hashes;
  for (const InvitationRecord& raw : f.InvitationRows(f.acme)) {
    const std::string token = f.LastInvitationToken(raw.email.str());
    INFO("token " << token);
    REQUIRE(token.size() == 43);  // 32 bytes, base64url without padding.
    REQUIRE(UrlSafeToken(token));
    REQUIRE(raw.token_hash.size() == 32);
    REQUIRE(raw.token_hash != token);
    REQUIRE(raw.token_hash.find(token.substr(0, 8)) == std::string::npos);
    tokens.insert(token);
    hashes.insert(raw.token_hash);
  }
  REQUIRE(tokens.size() == addresses.size());
  REQUIRE(hashes.size() == addresses.size());

  // One character changed, cut short, padded, or not a token at all.
  const std::string token = f.LastInvitationToken("bob@bob.example");
  auto before = f.Freeze();
  for (size_t at : {size_t{0}, size_t{21}, size_t{42}}) {
    ENTITLE_REQUIRE_REFUSED(f.inv().Accept(As(bob), Altered(token, at)),
                            StatusCode::kNotFound, Reason::kInvalidLink);
  }
  ENTITLE_REQUIRE_REFUSED(f.inv().Accept(As(bob), token.substr(0, 42)),
                          StatusCode::kNotFound, Reason::kInvalidLink);
  ENTITLE_REQUIRE_REFUSED(f.inv().Accept(As(bob), token + "="),
                          StatusCode::kNotFound, Reason::kInvalidLink);
  ENTITLE_REQUIRE_REFUSED(f.inv().Accept(As(bob), ""), StatusCode::kNotFound,
                          Reason::kInvalidLink);
  std::string with_nul = token;
  with_nul[5] = '\0';
  ENTITLE_REQUIRE_REFUSED(f.inv().Accept(As(bob), with_nul),
                          StatusCode::kNotFound, Reason::kInvalidLink);
  f.RequireUnchanged(before);
  ENTITLE_REQUIRE_OK(f.inv().Accept(As(bob), token));
}

// clang-format off
TEMPLATE_TEST_CASE("INV-7 expired, resent, revoked, used, altered and "
                   "wrong-invitee links are refused with six distinct reasons "
                   "and change nothing",
    "[invitations]", ENTITLE_BACKENDS) {
  // clang-format on
  InvFixture<TestType> f;
  f.SetUpAcme();
  const IdentityId e = f.Person("e@x.example");
  const IdentityId s = f.Person("s@x.example");
  const IdentityId r = f.Person("r@x.example");
  const IdentityId u = f.Person("u@x.example");
  const IdentityId a = f.Person("a@x.example");
  const IdentityId w = f.Person("w@x.example");
  const Sent expired = f.InviteOne(f.acme, "e@x.example");
  f.clock().Advance(kWeek);
  const Sent superseded = f.InviteOne(f.acme, "s@x.example");
  ENTITLE_REQUIRE_OK(f.inv().Resend(As(f.anna), f.acme, superseded.id));
  const Sent revoked = f.InviteOne(f.acme, "r@x.example");
  ENTITLE_REQUIRE_OK(f.inv().Revoke(As(f.anna), f.acme, revoked.id));
  const Sent used = f.InviteOne(f.acme, "u@x.example");
  ENTITLE_REQUIRE_OK(f.inv().Accept(As(u), used.token));
  const Sent valid = f.InviteOne(f.acme, "a@x.example");

  struct Case {
    const char* what;
    IdentityId who;
    std::string token;
    StatusCode code;
    Reason reason;
  };
  const std::vector<Case> cases = {
      {"expired", e, expired.token, StatusCode::kFailedPrecondition,
       Reason::kInvitationExpired},
      {"resent", s, superseded.token, StatusCode::kFailedPrecondition,
       Reason::kInvitationSuperseded},
      {"revoked", r, revoked.token, StatusCode::kFailedPrecondition,
       Reason::kInvitationRevoked},
      {"used", u, used.token, StatusCode::kFailedPrecondition,
       Reason::kInvitationAlreadyAccepted},
      {"altered", a, Altered(valid.token), StatusCode::kNotFound,
       Reason::kInvalidLink},
      {"wrong invitee", w, valid.token, StatusCode::kPermissionDenied,
       Reason::kWrongInvitee},
  };
  std::set<Reason> reasons;
  for (const Case& c : cases) {
    INFO("case: " << c.what);
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.inv().Accept(As(c.who), c.token), c.code,
                            c.reason);
    f.RequireUnchanged(before);
    reasons.insert(c.reason);
  }
  REQUIRE(reasons.size() == cases.size());
  // The untouched link still works for its invitee.
  ENTITLE_REQUIRE_OK(f.inv().Accept(As(a), valid.token));
}

// -------------------------------------------------------------------- INV-8

// clang-format off
TEMPLATE_TEST_CASE("INV-8 inviting again returns the New invitation; members "
                   "are reported; only a New invitation blocks a new one",
    "[invitations]", ENTITLE_BACKENDS) {
  // clang-format on
  InvFixture<TestType> f;
  f.SetUpAcme();
  const IdentityId bob = f.Person("bob@bob.example");
  const IdentityId emp = f.Person("emp@acme.com");
  ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(f.anna), f.acme, "emp@acme.com"));
  const IdentityId ext = f.Person("ext@ext.example");
  ENTITLE_REQUIRE_OK(
      f.orgs().AddExternal(As(f.anna), f.acme, "ext@ext.example"));

  const Sent first = f.InviteOne(f.acme, "bob@bob.example");
  {
    const size_t invitations = f.InvitationRows(f.acme).size();
    const size_t sent = f.notifier().Sent().size();
    std::vector<InviteResult> again = f.InviteMany(
        As(f.anna), f.acme, {"bob@bob.example", " Bob@BOB.example "});
    for (const InviteResult& r : again) {
      REQUIRE(r.outcome == InviteOutcome::kAlreadyInvited);
      REQUIRE(r.invitation == std::optional<InvitationId>(first.id));
    }
    REQUIRE(f.InvitationRows(f.acme).size() == invitations);
    REQUIRE(f.notifier().Sent().size() == sent);
    REQUIRE(f.Raw(first.id).token_hash.size() == 32);
    // The first link still works, so nothing was replaced.
    REQUIRE(f.LastInvitationToken("bob@bob.example") == first.token);
  }
  // Another kind is another invitation.
  const Sent as_external =
      f.InviteOne(f.acme, "bob@bob.example", InvitationKind::kExternal);
  REQUIRE(as_external.id != first.id);

  // Members of that kind are reported; an external member may still be
  // invited as an employee.
  std::vector<InviteResult> members =
      f.InviteMany(As(f.anna), f.acme, {"emp@acme.com", "ext@ext.example"},
                   InvitationKind::kExternal);
  REQUIRE(Outcomes(members) ==
          std::vector<InviteOutcome>{InviteOutcome::kAlreadyMember,
                                     InviteOutcome::kAlreadyMember});
  members =
      f.InviteMany(As(f.anna), f.acme, {"emp@acme.com", "ext@ext.example"});
  REQUIRE(Outcomes(members) ==
          std::vector<InviteOutcome>{InviteOutcome::kAlreadyMember,
                                     InviteOutcome::kInvited});

  // After acceptance (and removal), rejection, revocation or expiry a new
  // invitation is possible.
  ENTITLE_REQUIRE_OK(f.inv().Accept(As(bob), first.token));
  REQUIRE(Outcomes(f.InviteMany(As(f.anna), f.acme, {"bob@bob.example"})) ==
          std::vector<InviteOutcome>{InviteOutcome::kAlreadyMember});
  ENTITLE_REQUIRE_OK(f.orgs().RemoveMember(As(f.anna), f.acme, bob));
  const Sent after_removal = f.InviteOne(f.acme, "bob@bob.example");
  REQUIRE(after_removal.id != first.id);
  REQUIRE(after_removal.token != first.token);

  ENTITLE_REQUIRE_OK(f.inv().Reject(after_removal.token));
  const Sent after_reject = f.InviteOne(f.acme, "bob@bob.example");
  ENTITLE_REQUIRE_OK(f.inv().Revoke(As(f.anna), f.acme, after_reject.id));
  const Sent after_revoke = f.InviteOne(f.acme, "bob@bob.example");
  f.clock().Advance(kWeek);
  const Sent after_expiry = f.InviteOne(f.acme, "bob@bob.example");
  const std::set<InvitationId> ids = {first.id, after_removal.id,
                                      after_reject.id, after_revoke.id,
                                      after_expiry.id};
  REQUIRE(ids.size() == 5);
  // The newest one works.
  ENTITLE_REQUIRE_OK(f.inv().Accept(As(bob), after_expiry.token));
  REQUIRE(f.Membership(f.acme, bob)->kind == MembershipKind::kEmployee);
  (void)emp;
  (void)ext;
}

// -------------------------------------------------------------------- INV-9

// clang-format off
TEMPLATE_TEST_CASE("INV-9 the request-to-join link is multi-use, never "
                   "expires, and can be rotated or disabled",
    "[invitations]", ENTITLE_BACKENDS) {
  // clang-format on
  InvFixture<TestType> f;
  f.SetUpAcme();
  const IdentityId bob = f.Person("bob@bob.example");
  const IdentityId carol = f.Person("carol@carol.example");
  const IdentityId dan = f.Person("dan@dan.example");
  const IdentityId eve = f.Person("eve@eve.example");
  const IdentityId uma = f.Unverified("uma@uma.example");
  const IdentityId emp = f.Person("emp@acme.com");
  ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(f.anna), f.acme, "emp@acme.com"));

  {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.inv().CreateRequestLink(As(emp), f.acme),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.inv().CreateRequestLink(kAnon, f.acme),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    f.RequireUnchanged(before);
  }
  auto link = f.inv().CreateRequestLink(As(f.anna), f.acme);
  ENTITLE_REQUIRE_OK(link);
  REQUIRE(link->token.size() == 43);
  REQUIRE(UrlSafeToken(link->token));
  {
    const auto rows = f.template All<RequestLinkRecord>();
    REQUIRE(rows.size() == 1);
    REQUIRE(rows[0].token_hash.size() == 32);
    REQUIRE(rows[0].token_hash != link->token);
  }

  // Two identities follow it: two pending requests, no membership yet.
  auto rb = f.inv().FollowRequestLink(As(bob), link->token);
  ENTITLE_REQUIRE_OK(rb);
  auto rc = f.inv().FollowRequestLink(As(carol), link->token);
  ENTITLE_REQUIRE_OK(rc);
  REQUIRE(rb->id != rc->id);
  REQUIRE(rb->status == JoinRequestStatus::kPending);
  REQUIRE(rb->source == JoinRequestSource::kLink);
  REQUIRE(rb->organization == f.acme);
  REQUIRE(rb->identity == bob);
  REQUIRE(rb->email == E("bob@bob.example"));
  REQUIRE_FALSE(f.Membership(f.acme, bob).has_value());
  REQUIRE_FALSE(f.Membership(f.acme, carol).has_value());
  {
    std::vector<JoinRequestInfo> pending = f.Pending(f.acme);
    REQUIRE(pending.size() == 2);
    REQUIRE(pending[0].id == rb->id);
    REQUIRE(pending[1].id == rc->id);
  }

  {
    auto before = f.Freeze();
    // A second request while one is pending is a duplicate.
    ENTITLE_REQUIRE_REFUSED(f.inv().FollowRequestLink(As(bob), link->token),
                            StatusCode::kAlreadyExists, Reason::kDuplicate);
    // Employees are already in; unverified and anonymous actors may not ask.
    ENTITLE_REQUIRE_REFUSED(f.inv().FollowRequestLink(As(emp), link->token),
                            StatusCode::kAlreadyExists, Reason::kAlreadyMember);
    ENTITLE_REQUIRE_REFUSED(f.inv().FollowRequestLink(As(uma), link->token),
                            StatusCode::kFailedPrecondition,
                            Reason::kNotVerified);
    ENTITLE_REQUIRE_REFUSED(f.inv().FollowRequestLink(kAnon, link->token),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(
        f.inv().FollowRequestLink(As(dan), Altered(link->token)),
        StatusCode::kNotFound, Reason::kInvalidLink);
    f.RequireUnchanged(before);
  }

  // A year later the same link still works.
  f.clock().Advance(absl::Hours(24 * 366));
  auto rd = f.inv().FollowRequestLink(As(dan), link->token);
  ENTITLE_REQUIRE_OK(rd);
  REQUIRE(rd->status == JoinRequestStatus::kPending);

  // Rotating kills the old link; the new one works.
  auto rotated = f.inv().CreateRequestLink(As(f.anna), f.acme);
  ENTITLE_REQUIRE_OK(rotated);
  REQUIRE(rotated->token != link->token);
  {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.inv().FollowRequestLink(As(eve), link->token),
                            StatusCode::kNotFound, Reason::kInvalidLink);
    f.RequireUnchanged(before);
  }
  // Pending requests survive the rotation.
  REQUIRE(f.Pending(f.acme).size() == 3);

  // Disabling kills the current link.
  {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.inv().DisableRequestLink(As(emp), f.acme),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    f.RequireUnchanged(before);
  }
  ENTITLE_REQUIRE_OK(f.inv().DisableRequestLink(As(f.anna), f.acme));
  {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.inv().FollowRequestLink(As(eve), rotated->token),
                            StatusCode::kNotFound, Reason::kInvalidLink);
    ENTITLE_REQUIRE_REFUSED(f.inv().FollowRequestLink(As(eve), link->token),
                            StatusCode::kNotFound, Reason::kInvalidLink);
    f.RequireUnchanged(before);
  }
  // A new link after disabling works again.
  auto reopened = f.inv().CreateRequestLink(As(f.anna), f.acme);
  ENTITLE_REQUIRE_OK(reopened);
  ENTITLE_REQUIRE_OK(f.inv().FollowRequestLink(As(eve), reopened->token));
  ENTITLE_REQUIRE_REFUSED(f.inv().FollowRequestLink(As(eve), rotated->token),
                          StatusCode::kNotFound, Reason::kInvalidLink);

  // The admin approves one: only then is it a member.
  auto decided = f.inv().Decide(As(f.anna), f.acme, {rb->id}, true);
  ENTITLE_REQUIRE_OK(decided);
  ENTITLE_REQUIRE_OK((*decided)[0].status);
  REQUIRE(f.Membership(f.acme, bob)->kind == MembershipKind::kEmployee);
  // After a decision the same identity may ask again... but bob is now in.
  ENTITLE_REQUIRE_REFUSED(f.inv().FollowRequestLink(As(bob), reopened->token),
                          StatusCode::kAlreadyExists, Reason::kAlreadyMember);
  // A rejected requester may ask again.
  auto rejected = f.inv().Decide(As(f.anna), f.acme, {rc->id}, false);
  ENTITLE_REQUIRE_OK(rejected);
  ENTITLE_REQUIRE_OK((*rejected)[0].status);
  ENTITLE_REQUIRE_OK(f.inv().FollowRequestLink(As(carol), reopened->token));
}

// ------------------------------------------------------------------- INV-10

// clang-format off
TEMPLATE_TEST_CASE("INV-10 an identity asks to join an organization it "
                   "discovered; others are not found",
    "[invitations]", ENTITLE_BACKENDS) {
  // clang-format on
  InvFixture<TestType> f;
  f.SetUpAcme();
  OrganizationSettings discoverable;
  discoverable.discoverable = true;
  ENTITLE_REQUIRE_OK(f.orgs().UpdateSettings(As(f.anna), f.acme, discoverable));
  // Beta owns beta.com but is not discoverable.
  const IdentityId pia = f.Person("pia@beta.com");
  const OrganizationId beta = f.MakeOrg("Beta", pia, "beta.com");
  // Gamma is discoverable but only claimed gamma.com (pending).
  const IdentityId gus = f.Person("gus@gamma.com");
  const OrganizationId gamma = f.MakeOrg("Gamma", gus);
  ENTITLE_REQUIRE_OK(f.orgs().ClaimDomain(As(gus), gamma, "gamma.com"));
  ENTITLE_REQUIRE_OK(f.orgs().UpdateSettings(As(gus), gamma, discoverable));

  const IdentityId bob = f.Person("bob@acme.com");
  const IdentityId ben = f.Person("ben@beta.com");
  const IdentityId gil = f.Person("gil@gamma.com");
  const IdentityId out = f.Person("out@elsewhere.example");
  const IdentityId uma = f.Unverified("uma@acme.com");

  auto found = f.orgs().Discover(As(bob));
  ENTITLE_REQUIRE_OK(found);
  REQUIRE(found->size() == 1);
  REQUIRE(found->front().id == f.acme);

  auto request = f.inv().RequestToJoin(As(bob), f.acme);
  ENTITLE_REQUIRE_OK(request);
  REQUIRE(request->status == JoinRequestStatus::kPending);
  REQUIRE(request->source == JoinRequestSource::kDiscovery);
  REQUIRE(request->identity == bob);
  REQUIRE(request->organization == f.acme);
  REQUIRE_FALSE(f.Membership(f.acme, bob).has_value());
  REQUIRE(f.Pending(f.acme).size() == 1);
  REQUIRE(f.RawRequest(request->id).source == JoinRequestSource::kDiscovery);

  auto before = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(f.inv().RequestToJoin(As(bob), f.acme),
                          StatusCode::kAlreadyExists, Reason::kDuplicate);
  ENTITLE_REQUIRE_REFUSED(f.inv().RequestToJoin(As(ben), beta),
                          StatusCode::kNotFound, Reason::kNotFound);
  ENTITLE_REQUIRE_REFUSED(f.inv().RequestToJoin(As(gil), gamma),
                          StatusCode::kNotFound, Reason::kNotFound);
  ENTITLE_REQUIRE_REFUSED(f.inv().RequestToJoin(As(out), f.acme),
                          StatusCode::kNotFound, Reason::kNotFound);
  ENTITLE_REQUIRE_REFUSED(f.inv().RequestToJoin(As(ben), f.acme),
                          StatusCode::kNotFound, Reason::kNotFound);
  ENTITLE_REQUIRE_REFUSED(f.inv().RequestToJoin(As(bob), OrganizationId(9999)),
                          StatusCode::kNotFound, Reason::kNotFound);
  ENTITLE_REQUIRE_REFUSED(f.inv().RequestToJoin(As(uma), f.acme),
                          StatusCode::kFailedPrecondition,
                          Reason::kNotVerified);
  ENTITLE_REQUIRE_REFUSED(f.inv().RequestToJoin(kAnon, f.acme),
                          StatusCode::kPermissionDenied,
                          Reason::kPermissionDenied);
  f.RequireUnchanged(before);

  // Once Acme stops being discoverable, no new request reaches it.
  OrganizationSettings hidden;
  hidden.discoverable = false;
  ENTITLE_REQUIRE_OK(f.orgs().UpdateSettings(As(f.anna), f.acme, hidden));
  const IdentityId cid = f.Person("cid@acme.com");
  ENTITLE_REQUIRE_REFUSED(f.inv().RequestToJoin(As(cid), f.acme),
                          StatusCode::kNotFound, Reason::kNotFound);
}

// ------------------------------------------------------------------- INV-11

// clang-format off
TEMPLATE_TEST_CASE("INV-11 admins approve or reject join requests one at a "
                   "time or many at once",
    "[invitations]", ENTITLE_BACKENDS) {
  // clang-format on
  InvFixture<TestType> f;
  f.SetUpAcme();
  const IdentityId olga = f.Person("olga@other.com");
  const OrganizationId other = f.MakeOrg("Other", olga);
  const IdentityId bob = f.Person("bob@bob.example");
  f.JoinAsEmployee(olga, other, bob, "bob@bob.example");
  const IdentityId carol = f.Person("carol@carol.example");
  const IdentityId dan = f.Person("dan@dan.example");
  const IdentityId eve = f.Person("eve@eve.example");
  const IdentityId fay = f.Person("fay@fay.example");
  const IdentityId emp = f.Person("emp@acme.com");
  ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(f.anna), f.acme, "emp@acme.com"));
  auto link = f.inv().CreateRequestLink(As(f.anna), f.acme);
  ENTITLE_REQUIRE_OK(link);
  auto other_link = f.inv().CreateRequestLink(As(olga), other);
  ENTITLE_REQUIRE_OK(other_link);
  std::vector<JoinRequestId> ids;
  for (IdentityId who : {bob, carol, dan, eve, fay}) {
    auto r = f.inv().FollowRequestLink(As(who), link->token);
    ENTITLE_REQUIRE_OK(r);
    ids.push_back(r->id);
  }
  const IdentityId zed = f.Person("zed@zed.example");
  auto theirs = f.inv().FollowRequestLink(As(zed), other_link->token);
  ENTITLE_REQUIRE_OK(theirs);

  // Not an admin: the whole call is refused.
  {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.inv().Decide(As(emp), f.acme, ids, true),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.inv().Decide(As(olga), f.acme, ids, false),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.inv().Decide(As(bob), f.acme, {ids[0]}, true),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.inv().ListJoinRequests(As(emp), f.acme),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    auto empty = f.inv().Decide(As(f.anna), f.acme, {}, true);
    REQUIRE(empty.status().code() == StatusCode::kInvalidArgument);
    f.RequireUnchanged(before);
  }

  // One at a time: approving bob moves him from Other (ORG-2).
  f.events().Clear();
  auto one = f.inv().Decide(As(f.anna), f.acme, {ids[0]}, true);
  ENTITLE_REQUIRE_OK(one);
  REQUIRE(one->size() == 1);
  REQUIRE((*one)[0].request == ids[0]);
  ENTITLE_REQUIRE_OK((*one)[0].status);
  REQUIRE(f.EmployersOf(bob) == std::vector<OrganizationId>{f.acme});
  REQUIRE_FALSE(f.Membership(other, bob).has_value());
  REQUIRE(f.Membership(f.acme, bob)->status == MembershipStatus::kActive);
  {
    const auto changes = f.Changes();
    REQUIRE(changes.size() == 1);
    REQUIRE(changes[0].identity == bob);
    REQUIRE(changes[0].previous == std::optional<OrganizationId>(other));
    REQUIRE(changes[0].current == std::optional<OrganizationId>(f.acme));
  }
  const JoinRequestRecord approved = f.RawRequest(ids[0]);
  REQUIRE(approved.status == JoinRequestStatus::kApproved);
  REQUIRE(approved.decided_by == std::optional<IdentityId>(f.anna));
  REQUIRE(approved.decided_at.has_value());

  // Many at once, with a decided one, a repeated one and another
  // organization's in the middle: those fail alone, the others go through.
  auto many = f.inv().Decide(
      As(f.anna), f.acme, {ids[1], ids[0], ids[2], theirs->id, ids[1]}, true);
  ENTITLE_REQUIRE_OK(many);
  REQUIRE(many->size() == 5);
  ENTITLE_REQUIRE_OK((*many)[0].status);
  ENTITLE_REQUIRE_REFUSED((*many)[1].status, StatusCode::kFailedPrecondition,
                          Reason::kRequestDecided);
  ENTITLE_REQUIRE_OK((*many)[2].status);
  ENTITLE_REQUIRE_REFUSED((*many)[3].status, StatusCode::kNotFound,
                          Reason::kNotFound);
  ENTITLE_REQUIRE_REFUSED((*many)[4].status, StatusCode::kFailedPrecondition,
                          Reason::kRequestDecided);
  REQUIRE((*many)[1].request == ids[0]);
  REQUIRE(f.Membership(f.acme, carol)->kind == MembershipKind::kEmployee);
  REQUIRE(f.Membership(f.acme, dan)->kind == MembershipKind::kEmployee);
  REQUIRE(f.RawRequest(theirs->id).status == JoinRequestStatus::kPending);

  // Reject many at once: no membership, requests leave the pending list.
  auto rejected = f.inv().Decide(As(f.anna), f.acme, {ids[3], ids[4]}, false);
  ENTITLE_REQUIRE_OK(rejected);
  ENTITLE_REQUIRE_OK((*rejected)[0].status);
  ENTITLE_REQUIRE_OK((*rejected)[1].status);
  REQUIRE_FALSE(f.Membership(f.acme, eve).has_value());
  REQUIRE_FALSE(f.Membership(f.acme, fay).has_value());
  REQUIRE(f.RawRequest(ids[3]).status == JoinRequestStatus::kRejected);
  REQUIRE(f.Pending(f.acme).empty());
  // A rejected request cannot be approved afterwards.
  auto late = f.inv().Decide(As(f.anna), f.acme, {ids[3]}, true);
  ENTITLE_REQUIRE_OK(late);
  ENTITLE_REQUIRE_REFUSED((*late)[0].status, StatusCode::kFailedPrecondition,
                          Reason::kRequestDecided);
  REQUIRE_FALSE(f.Membership(f.acme, eve).has_value());
}

// clang-format off
TEMPLATE_TEST_CASE("INV-11 approving the last administrator of another "
                   "organization fails for that request alone",
    "[invitations]", ENTITLE_BACKENDS) {
  // clang-format on
  InvFixture<TestType> f;
  f.SetUpAcme();
  const IdentityId olga = f.Person("olga@other.com");
  const OrganizationId other = f.MakeOrg("Other", olga);
  const IdentityId bob = f.Person("bob@bob.example");
  const IdentityId ext = f.Person("ext@ext.example");
  ENTITLE_REQUIRE_OK(
      f.orgs().AddExternal(As(f.anna), f.acme, "ext@ext.example"));
  auto link = f.inv().CreateRequestLink(As(f.anna), f.acme);
  ENTITLE_REQUIRE_OK(link);
  auto ro = f.inv().FollowRequestLink(As(olga), link->token);
  ENTITLE_REQUIRE_OK(ro);
  auto rb = f.inv().FollowRequestLink(As(bob), link->token);
  ENTITLE_REQUIRE_OK(rb);
  // An external member may ask to become an employee.
  auto re = f.inv().FollowRequestLink(As(ext), link->token);
  ENTITLE_REQUIRE_OK(re);

  auto result =
      f.inv().Decide(As(f.anna), f.acme, {ro->id, rb->id, re->id}, true);
  ENTITLE_REQUIRE_OK(result);
  ENTITLE_REQUIRE_REFUSED((*result)[0].status, StatusCode::kFailedPrecondition,
                          Reason::kLastAdministrator);
  ENTITLE_REQUIRE_OK((*result)[1].status);
  ENTITLE_REQUIRE_OK((*result)[2].status);
  REQUIRE(f.RawRequest(ro->id).status == JoinRequestStatus::kPending);
  REQUIRE(f.EmployersOf(olga) == std::vector<OrganizationId>{other});
  REQUIRE_FALSE(f.Membership(f.acme, olga).has_value());
  REQUIRE(f.Membership(f.acme, bob)->kind == MembershipKind::kEmployee);
  REQUIRE(f.Membership(f.acme, ext)->kind == MembershipKind::kEmployee);
  REQUIRE(f.MembershipsOf(ext).size() == 1);

  // Added directly while the request waited: approving simply closes it.
  const IdentityId carl = f.Person("carl@acme.com");
  auto rc = f.inv().FollowRequestLink(As(carl), link->token);
  ENTITLE_REQUIRE_OK(rc);
  REQUIRE(rc->display_name == "Test Person");
  REQUIRE(f.Pending(f.acme).front().display_name == "Test Person");
  ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(f.anna), f.acme, "carl@acme.com"));
  auto closed = f.inv().Decide(As(f.anna), f.acme, {rc->id}, true);
  ENTITLE_REQUIRE_OK(closed);
  ENTITLE_REQUIRE_OK((*closed)[0].status);
  REQUIRE(f.RawRequest(rc->id).status == JoinRequestStatus::kApproved);
  REQUIRE(f.MembershipsOf(carl).size() == 1);
}

// ------------------------------------------------------------------- INV-12

// clang-format off
TEMPLATE_TEST_CASE("INV-12 auto-approval admits identities of the "
                   "organization's verified domains at once; others wait",
    "[invitations]", ENTITLE_BACKENDS) {
  // clang-format on
  InvFixture<TestType> f;
  // bob@acme.com works for Other before Acme verifies acme.com.
  f.anna = f.Person("anna@acme.com");
  f.acme = f.CreateOrg("Acme", f.anna);
  const IdentityId olga = f.Person("olga@other.com");
  const OrganizationId other = f.MakeOrg("Other", olga);
  const IdentityId bob = f.Person("bob@acme.com");
  f.JoinAsEmployee(olga, other, bob, "bob@acme.com");
  f.OwnDomain(f.acme, "acme.com");
  ENTITLE_REQUIRE_OK(
      f.orgs().ClaimDomain(As(f.anna), f.acme, "acme-pending.com"));
  const IdentityId cid = f.Person("cid@acme.com");
  const IdentityId dee = f.Person("dee@acme.com");
  const IdentityId out = f.Person("out@elsewhere.example");
  const IdentityId pen = f.Person("pen@acme-pending.com");
  auto link = f.inv().CreateRequestLink(As(f.anna), f.acme);
  ENTITLE_REQUIRE_OK(link);

  // Off by default: an own-domain request waits.
  auto waiting = f.inv().FollowRequestLink(As(cid), link->token);
  ENTITLE_REQUIRE_OK(waiting);
  REQUIRE(waiting->status == JoinRequestStatus::kPending);
  REQUIRE_FALSE(f.Membership(f.acme, cid).has_value());

  OrganizationSettings settings;
  settings.auto_approve_domain_joins = true;
  settings.discoverable = true;
  ENTITLE_REQUIRE_OK(f.orgs().UpdateSettings(As(f.anna), f.acme, settings));
  auto info = f.orgs().Get(As(f.anna), f.acme);
  ENTITLE_REQUIRE_OK(info);
  REQUIRE(info->auto_approve_domain_joins);

  // Through the link: approved at once, and moved from Other (ORG-2).
  f.events().Clear();
  auto joined = f.inv().FollowRequestLink(As(bob), link->token);
  ENTITLE_REQUIRE_OK(joined);
  REQUIRE(joined->status == JoinRequestStatus::kApproved);
  REQUIRE(f.RawRequest(joined->id).status == JoinRequestStatus::kApproved);
  REQUIRE(f.EmployersOf(bob) == std::vector<OrganizationId>{f.acme});
  REQUIRE(f.Membership(f.acme, bob)->status == MembershipStatus::kActive);
  REQUIRE(f.Changes().size() == 1);
  // Through discovery: likewise.
  auto found = f.inv().RequestToJoin(As(dee), f.acme);
  ENTITLE_REQUIRE_OK(found);
  REQUIRE(found->status == JoinRequestStatus::kApproved);
  REQUIRE(f.Membership(f.acme, dee)->kind == MembershipKind::kEmployee);

  // Another domain, or one only claimed, still waits for an admin.
  auto outsider = f.inv().FollowRequestLink(As(out), link->token);
  ENTITLE_REQUIRE_OK(outsider);
  REQUIRE(outsider->status == JoinRequestStatus::kPending);
  REQUIRE_FALSE(f.Membership(f.acme, out).has_value());
  auto pending_domain = f.inv().FollowRequestLink(As(pen), link->token);
  ENTITLE_REQUIRE_OK(pending_domain);
  REQUIRE(pending_domain->status == JoinRequestStatus::kPending);
  REQUIRE_FALSE(f.Membership(f.acme, pen).has_value());

  std::vector<JoinRequestInfo> pending = f.Pending(f.acme);
  REQUIRE(pending.size() == 3);  // cid's (made before), out's and pen's.
  REQUIRE(pending[0].identity == cid);
}

// ======================================================= edge cases

// clang-format off
TEMPLATE_TEST_CASE("INV-8 resending an expired invitation when a live one "
                   "exists returns the live one and sends nothing",
    "[invitations][INV-8]", ENTITLE_BACKENDS) {
  // clang-format on
  InvFixture<TestType> f;
  f.SetUpAcme();
  Sent first = f.InviteOne(f.acme, "bo@acme.com");
  f.clock().Advance(absl::Hours(7 * 24 + 1));
  Sent second = f.InviteOne(f.acme, "bo@acme.com");  // The first expired.
  REQUIRE(second.id != first.id);
  const size_t sent_before = f.InvitationsSentTo("bo@acme.com");

  auto resent = f.inv().Resend(As(f.anna), f.acme, first.id);
  ENTITLE_REQUIRE_OK(resent);
  REQUIRE(*resent == second.id);
  REQUIRE(f.InvitationsSentTo("bo@acme.com") == sent_before);
  // One live row in the list, not two; the old one left it.
  size_t live = 0;
  for (const InvitationInfo& info : f.List(f.acme)) {
    REQUIRE(info.id != first.id);
    if (info.email == E("bo@acme.com")) ++live;
  }
  REQUIRE(live == 1);
}

// clang-format off
TEMPLATE_TEST_CASE("INV-1 an address repeated in one batch gets one invitation "
                   "and a result for each mention",
    "[invitations][INV-1]", ENTITLE_BACKENDS) {
  // clang-format on
  InvFixture<TestType> f;
  f.SetUpAcme();
  std::vector<InviteResult> results = f.InviteMany(
      As(f.anna), f.acme, {"cy@acme.com", " CY@acme.com", "dee@acme.com"});
  REQUIRE(results[0].outcome == InviteOutcome::kInvited);
  REQUIRE(results[1].outcome == InviteOutcome::kAlreadyInvited);
  REQUIRE(results[1].invitation == results[0].invitation);
  REQUIRE(results[2].outcome == InviteOutcome::kInvited);
  REQUIRE(f.InvitationsSentTo("cy@acme.com") == 1);
}

// clang-format off
TEMPLATE_TEST_CASE("INV-5 accepting after being added directly meanwhile "
                   "completes the invitation",
    "[invitations][INV-5]", ENTITLE_BACKENDS) {
  // clang-format on
  InvFixture<TestType> f;
  f.SetUpAcme();
  IdentityId ed = f.Person("ed@partner.example");
  Sent s = f.InviteOne(f.acme, "ed@partner.example", InvitationKind::kExternal);
  ENTITLE_REQUIRE_OK(
      f.orgs().AddExternal(As(f.anna), f.acme, "ed@partner.example"));

  auto joined = f.inv().Accept(As(ed), s.token);
  ENTITLE_REQUIRE_OK(joined);
  REQUIRE(f.Raw(s.id).status == InvitationStatus::kAccepted);
  REQUIRE(f.MembershipsOf(ed).size() == 1);
  for (const InvitationInfo& info : f.List(f.acme)) REQUIRE(info.id != s.id);
  // The link is used up like any other.
  ENTITLE_REQUIRE_REFUSED(f.inv().Accept(As(ed), s.token),
                          absl::StatusCode::kFailedPrecondition,
                          Reason::kInvitationAlreadyAccepted);
}

// clang-format off
TEMPLATE_TEST_CASE("ID-12 only an identity created from an invitation waits "
                   "for its profile; an existing one joins active",
    "[invitations][ID-12]", ENTITLE_BACKENDS) {
  // clang-format on
  InvFixture<TestType> f;
  f.SetUpAcme();
  // An existing identity without a country: its profile is incomplete.
  auto fay = f.ids().Register(kAnon, "fay@acme.com", Profile{"Fay", "", ""});
  ENTITLE_REQUIRE_OK(fay);
  ENTITLE_REQUIRE_OK(f.ids().CompleteVerification(f.VerifyToken("fay@acme.com"),
                                                  "Secret-pass1"));
  Sent s = f.InviteOne(f.acme, "fay@acme.com");
  ENTITLE_REQUIRE_OK(f.inv().Accept(As(*fay), s.token));
  std::vector<MembershipRecord> memberships = f.MembershipsOf(*fay);
  REQUIRE(memberships.size() == 1);
  REQUIRE(memberships[0].status == MembershipStatus::kActive);
}

}  // namespace
}  // namespace entitle_test
