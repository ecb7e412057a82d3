// An organization created for an invited first administrator
// (Invitations::CreateOrganizationForInvitee: SPEC ORG-1 with an address,
// INV-2 to INV-7 applying to its invitation) on every backend.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "entitle/actor.h"
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
using absl::StatusCode;

template <typename F>
OrganizationForInvitee MustCreate(F& f, std::string_view name,
                                  std::string_view email) {
  auto created = f.inv().CreateOrganizationForInvitee(kOp, name, email);
  ENTITLE_REQUIRE_OK(created);
  return *created;
}

template <typename F>
std::vector<InvitationInfo> Listed(F& f, const Actor& actor,
                                   OrganizationId org) {
  auto list = f.inv().List(actor, org);
  ENTITLE_REQUIRE_OK(list);
  return *list;
}

template <typename F>
bool IsAdministrator(F& f, OrganizationId org, IdentityId id) {
  for (const RoleGrantRecord& g : f.GrantsOf(org, id)) {
    if (g.role_id == f.AdminRole(org)) return true;
  }
  return false;
}

std::string FieldOf(const Notification& n, const std::string& name) {
  for (const auto& [key, value] : n.fields) {
    if (key == name) return value;
  }
  return "";
}

// clang-format off
TEMPLATE_TEST_CASE("ORG-1 the operator creates an organization for an invited first administrator: listed, accepted, an administrator",
    "[invitations][ORG-1]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  // gil works for Beta now (not an administrator there): ORG-2 moves him.
  const OrgWithAdmin beta = f.FoundOrg("Beta", "bo@beta.com", "beta.com");
  const IdentityId gil = f.RegisterVerified("gil@gamma.org");
  ENTITLE_REQUIRE_OK(f.inv().Accept(
      As(gil), f.InviteOne(As(beta.admin), beta.org, "gil@gamma.org").token));
  REQUIRE(f.EmployersOf(gil) == std::vector<OrganizationId>{beta.org});

  const OrganizationForInvitee gamma =
      MustCreate(f, "  Gamma Ltd ", "Gil@Gamma.org");
  // The organization exists, with its built-in roles and no member.
  auto info = f.orgs().Get(kOp, gamma.organization);
  ENTITLE_REQUIRE_OK(info);
  REQUIRE(info->name == "Gamma Ltd");
  f.AdminRole(gamma.organization);
  f.CoAdminRole(gamma.organization);
  MembershipFilter members;
  members.organization_id = gamma.organization;
  REQUIRE(f.template All<MembershipRecord>(members).empty());
  REQUIRE(f.AuditOf("organization.create").size() == 2);

  // The invitation went out through the notifier and is listed as New.
  const Notification sent = f.LastNotification("gil@gamma.org", "invitation");
  REQUIRE(FieldOf(sent, "kind") == "first-administrator");
  REQUIRE(FieldOf(sent, "organization") == "Gamma Ltd");
  REQUIRE(sent.link_expires_at == f.Now() + absl::Hours(24 * 7));
  const std::vector<InvitationInfo> listed = Listed(f, kOp, gamma.organization);
  REQUIRE(listed.size() == 1);
  REQUIRE(listed[0].id == gamma.invitation);
  REQUIRE(listed[0].email == E("gil@gamma.org"));
  REQUIRE(listed[0].kind == InvitationKind::kFirstAdministrator);
  REQUIRE(listed[0].state == InvitationState::kNew);
  // The invitee sees it among its own (INV-6).
  auto mine = f.inv().ListMine(As(gil));
  ENTITLE_REQUIRE_OK(mine);
  REQUIRE(mine->size() == 1);
  REQUIRE((*mine)[0].kind == InvitationKind::kFirstAdministrator);

  // Accepting: an employee of Gamma holding the Administrator role; Beta's
  // employee membership ended in the same transaction (ORG-2).
  auto accepted = f.inv().Accept(As(gil), sent.token);
  ENTITLE_REQUIRE_OK(accepted);
  REQUIRE(*accepted == gamma.organization);
  REQUIRE(f.EmployersOf(gil) ==
          std::vector<OrganizationId>{gamma.organization});
  REQUIRE_FALSE(f.Membership(beta.org, gil).has_value());
  REQUIRE(f.Membership(gamma.organization, gil)->status ==
          MembershipStatus::kActive);
  REQUIRE(IsAdministrator(f, gamma.organization, gil));
  REQUIRE(Listed(f, kOp, gamma.organization).empty());
  REQUIRE(f.Changes().back().previous == beta.org);
  REQUIRE(f.Changes().back().current == gamma.organization);
  // A second click says so (INV-5).
  REQUIRE_REASON(f.inv().Accept(As(gil), sent.token),
                 Reason::kInvitationAlreadyAccepted);
  // And gil administers: he may now grant the Administrator role.
  const IdentityId hal = f.RegisterVerified("hal@gamma.org");
  ENTITLE_REQUIRE_OK(f.inv().Accept(
      As(hal),
      f.InviteOne(As(gil), gamma.organization, "hal@gamma.org").token));
  ENTITLE_REQUIRE_OK(f.orgs().GrantRole(As(gil), gamma.organization, hal,
                                        f.AdminRole(gamma.organization)));
}

// clang-format off
TEMPLATE_TEST_CASE("ORG-1 a first administrator without an identity accepts as a new user and becomes the administrator",
    "[invitations][ORG-1]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const OrganizationForInvitee delta = MustCreate(f, "Delta", "ida@delta.org");
  const std::string token = f.LastToken("ida@delta.org", "invitation");
  auto ida = f.inv().AcceptAsNewUser(
      token, kPassword, Profile{.display_name = "Ida", .country = "SE"});
  ENTITLE_REQUIRE_OK(ida);
  REQUIRE(f.RawIdentity(*ida).verified);
  REQUIRE(f.Membership(delta.organization, *ida)->kind ==
          MembershipKind::kEmployee);
  REQUIRE(f.Membership(delta.organization, *ida)->status ==
          MembershipStatus::kActive);
  REQUIRE(IsAdministrator(f, delta.organization, *ida));
  ENTITLE_REQUIRE_OK(f.orgs().ListMembers(As(*ida), delta.organization, {}));
}

// clang-format off
TEMPLATE_TEST_CASE("ORG-1 only the operator may create an organization for an invitee or invite a first administrator",
    "[invitations][ORG-1]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const OrgWithAdmin beta = f.FoundOrg("Beta", "bo@beta.com", "beta.com");
  const IdentityId ben = f.Employee(beta.org, beta.admin, "ben@beta.com");
  const OrganizationForInvitee gamma = MustCreate(f, "Gamma", "gil@gamma.org");

  const auto before = f.Freeze();
  for (const Actor& actor : {As(beta.admin), As(ben), kAnon}) {
    INFO("as " << actor);
    ENTITLE_REQUIRE_REFUSED(
        f.inv().CreateOrganizationForInvitee(actor, "Evil", "eve@evil.org"),
        StatusCode::kPermissionDenied, Reason::kPermissionDenied);
  }
  // Beta's own Administrator may not invite an administrator that way
  // either, even into Beta.
  ENTITLE_REQUIRE_REFUSED(
      f.inv().Invite(As(beta.admin), beta.org, {"new@out.org"},
                     InvitationKind::kFirstAdministrator),
      StatusCode::kPermissionDenied, Reason::kPermissionDenied);
  // Gamma has no administrator: only the operator lists, resends, revokes.
  ENTITLE_REQUIRE_REFUSED(f.inv().List(As(beta.admin), gamma.organization),
                          StatusCode::kPermissionDenied,
                          Reason::kPermissionDenied);
  ENTITLE_REQUIRE_REFUSED(
      f.inv().Resend(As(beta.admin), gamma.organization, gamma.invitation),
      StatusCode::kPermissionDenied, Reason::kPermissionDenied);
  ENTITLE_REQUIRE_REFUSED(
      f.inv().Revoke(As(beta.admin), gamma.organization, gamma.invitation),
      StatusCode::kPermissionDenied, Reason::kPermissionDenied);
  // A bad name or address from the operator changes nothing either.
  REQUIRE_REASON(f.inv().CreateOrganizationForInvitee(kOp, "  ", "a@b.org"),
                 Reason::kInvalidName);
  REQUIRE_REASON(
      f.inv().CreateOrganizationForInvitee(kOp, "Zeta", "not an address"),
      Reason::kInvalidEmail);
  f.RequireUnchanged(before);
}

// clang-format off
TEMPLATE_TEST_CASE("INV-5 only the invited verified address can accept a first-administrator invitation",
    "[invitations][INV-5]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const OrganizationForInvitee gamma = MustCreate(f, "Gamma", "gil@gamma.org");
  const std::string token = f.LastToken("gil@gamma.org", "invitation");
  const IdentityId mallory = f.RegisterVerified("mallory@evil.org");
  // gil registers but has not verified his address yet.
  auto registered = f.ids().Register(kAnon, "gil@gamma.org");
  ENTITLE_REQUIRE_OK(registered);
  const IdentityId gil = *registered;

  const auto before = f.Freeze();
  REQUIRE_REASON(f.inv().Accept(As(mallory), token), Reason::kWrongInvitee);
  REQUIRE_REASON(f.inv().AcceptById(As(mallory), gamma.invitation),
                 Reason::kNotFound);
  REQUIRE_REASON(f.inv().Accept(As(gil), token), Reason::kNotVerified);
  REQUIRE_REASON(f.inv().AcceptAsNewUser(token, kPassword, {}),
                 Reason::kEmailTaken);
  REQUIRE_REASON(f.inv().Accept(As(mallory), token + "x"),
                 Reason::kInvalidLink);
  f.RequireUnchanged(before);
  REQUIRE_FALSE(IsAdministrator(f, gamma.organization, mallory));

  // Verified, gil accepts by id (INV-6).
  ENTITLE_REQUIRE_OK(f.ids().CompleteVerification(
      f.LastToken("gil@gamma.org", "verify-email"), kPassword));
  ENTITLE_REQUIRE_OK(f.inv().AcceptById(As(gil), gamma.invitation));
  REQUIRE(IsAdministrator(f, gamma.organization, gil));
}

// clang-format off
TEMPLATE_TEST_CASE("INV-4 the operator revokes a first-administrator invitation; its link dies, the organization stays and another address can be invited",
    "[invitations][INV-4]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const OrganizationForInvitee gamma = MustCreate(f, "Gamma", "gil@gamma.org");
  const std::string token = f.LastToken("gil@gamma.org", "invitation");
  const IdentityId gil = f.RegisterVerified("gil@gamma.org");

  ENTITLE_REQUIRE_OK(f.inv().Revoke(kOp, gamma.organization, gamma.invitation));
  REQUIRE(Listed(f, kOp, gamma.organization).empty());
  REQUIRE_REASON(f.inv().Accept(As(gil), token), Reason::kInvitationRevoked);
  REQUIRE_FALSE(f.Membership(gamma.organization, gil).has_value());
  ENTITLE_REQUIRE_OK(f.orgs().Get(kOp, gamma.organization));

  // The operator invites someone else to be the first administrator.
  const SentInvitation to_hal =
      f.InviteOne(kOp, gamma.organization, "hal@gamma.org",
                  InvitationKind::kFirstAdministrator);
  const IdentityId hal = f.RegisterVerified("hal@gamma.org");
  ENTITLE_REQUIRE_OK(f.inv().Accept(As(hal), to_hal.token));
  REQUIRE(IsAdministrator(f, gamma.organization, hal));
  // Inviting him again reports him as already an administrator (INV-8).
  auto again = f.inv().Invite(kOp, gamma.organization, {"hal@gamma.org"},
                              InvitationKind::kFirstAdministrator);
  ENTITLE_REQUIRE_OK(again);
  REQUIRE((*again)[0].outcome == InviteOutcome::kAlreadyMember);
}

// clang-format off
TEMPLATE_TEST_CASE("INV-2 an expired first-administrator invitation is listed as expired and the operator resends it (INV-3)",
    "[invitations][INV-2]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const OrganizationForInvitee gamma = MustCreate(f, "Gamma", "gil@gamma.org");
  const std::string old_token = f.LastToken("gil@gamma.org", "invitation");
  const IdentityId gil = f.RegisterVerified("gil@gamma.org");
  f.Advance(absl::Hours(24 * 7) + absl::Seconds(1));

  const auto before = f.Freeze();
  REQUIRE_REASON(f.inv().Accept(As(gil), old_token),
                 Reason::kInvitationExpired);
  f.RequireUnchanged(before);
  const std::vector<InvitationInfo> listed = Listed(f, kOp, gamma.organization);
  REQUIRE(listed.size() == 1);
  REQUIRE(listed[0].state == InvitationState::kExpired);
  // The organization is still there, without an administrator.
  ENTITLE_REQUIRE_OK(f.orgs().Get(kOp, gamma.organization));

  auto renewed = f.inv().Resend(kOp, gamma.organization, gamma.invitation);
  ENTITLE_REQUIRE_OK(renewed);
  const std::string new_token = f.LastToken("gil@gamma.org", "invitation");
  REQUIRE(new_token != old_token);
  REQUIRE_REASON(f.inv().Accept(As(gil), old_token),
                 Reason::kInvitationSuperseded);
  ENTITLE_REQUIRE_OK(f.inv().Accept(As(gil), new_token));
  REQUIRE(IsAdministrator(f, gamma.organization, gil));
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-2 resending a first-administrator invitation needs the administrators permission",
    "[invitations][SEC-2]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const OrganizationForInvitee gamma = MustCreate(f, "Gamma", "gil@gamma.org");
  const IdentityId gil = f.RegisterVerified("gil@gamma.org");
  ENTITLE_REQUIRE_OK(
      f.inv().Accept(As(gil), f.LastToken("gil@gamma.org", "invitation")));
  // A second first-administrator invitation, left to expire.
  const SentInvitation to_hal =
      f.InviteOne(kOp, gamma.organization, "hal@gamma.org",
                  InvitationKind::kFirstAdministrator);
  // kim is a Co-Administrator of Gamma.
  const IdentityId kim = f.RegisterVerified("kim@gamma.org");
  ENTITLE_REQUIRE_OK(f.inv().Accept(
      As(kim),
      f.InviteOne(As(gil), gamma.organization, "kim@gamma.org").token));
  ENTITLE_REQUIRE_OK(f.orgs().GrantRole(As(gil), gamma.organization, kim,
                                        f.CoAdminRole(gamma.organization)));
  f.Advance(absl::Hours(24 * 8));
  const auto before = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(
      f.inv().Resend(As(kim), gamma.organization, to_hal.id),
      StatusCode::kPermissionDenied, Reason::kPermissionDenied);
  f.RequireUnchanged(before);
  ENTITLE_REQUIRE_OK(f.inv().Resend(As(gil), gamma.organization, to_hal.id));
}

}  // namespace
}  // namespace entitle_test
