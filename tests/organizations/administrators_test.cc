// Changes that affect an administrator (SPEC SEC-2, ORG-4) and what an
// identity may learn of its own memberships (ORG-2, ORG-3, SEC-3), on every
// backend.
//
// The world: Acme, owning acme.com, with two Administrators (ann, the first,
// and bea), a Co-Administrator (cole: every permission but managing
// administrators) and two ordinary employees (dan, eve). A refused call must
// write, send and publish nothing: f.Freeze() before, f.RequireUnchanged()
// after.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

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

struct Acme {
  OrganizationId org;
  IdentityId ann;   // Administrator (the first).
  IdentityId bea;   // Administrator.
  IdentityId cole;  // Co-Administrator.
  IdentityId dan;   // Employee.
  IdentityId eve;   // Employee.
};

template <typename F>
Acme MakeAcme(F& f) {
  Acme a;
  const OrgWithAdmin acme = f.FoundOrg("Acme", "ann@acme.com", "acme.com");
  a.org = acme.org;
  a.ann = acme.admin;
  a.bea = f.Employee(a.org, a.ann, "bea@acme.com");
  a.cole = f.Employee(a.org, a.ann, "cole@acme.com");
  a.dan = f.Employee(a.org, a.ann, "dan@acme.com");
  a.eve = f.Employee(a.org, a.ann, "eve@acme.com");
  ENTITLE_REQUIRE_OK(
      f.orgs().GrantRole(As(a.ann), a.org, a.bea, f.AdminRole(a.org)));
  ENTITLE_REQUIRE_OK(
      f.orgs().GrantRole(As(a.ann), a.org, a.cole, f.CoAdminRole(a.org)));
  return a;
}

template <typename F>
bool IsLocked(F& f, IdentityId id) {
  return f.RawIdentity(id).locked;
}

template <typename F>
bool HoldsAdministrator(F& f, OrganizationId org, IdentityId id) {
  for (const RoleGrantRecord& g : f.GrantsOf(org, id)) {
    if (g.role_id == f.AdminRole(org)) return true;
  }
  return false;
}

#define REQUIRE_DENIED(expr)                                   \
  ENTITLE_REQUIRE_REFUSED(expr, StatusCode::kPermissionDenied, \
                          Reason::kPermissionDenied)

// ------------------------------------------------------------------ SEC-2

// clang-format off
TEMPLATE_TEST_CASE("SEC-2 a Co-Administrator cannot change an Administrator's membership kind, remove, delete, lock, unlock or reset them, the last one included; nothing changes",
    "[organizations][SEC-2]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const Acme a = MakeAcme(f);
  const Actor co = As(a.cole);

  {
    INFO("bea: an Administrator, not the last");
    const auto before = f.Freeze();
    // Stripping every role by making the Administrator an external member.
    REQUIRE_DENIED(f.orgs().ChangeMembershipKind(co, a.org, a.bea,
                                                 MembershipKind::kExternal));
    REQUIRE_DENIED(f.orgs().RemoveMember(co, a.org, a.bea));
    REQUIRE_DENIED(f.ids().Delete(co, a.bea));
    REQUIRE_DENIED(f.ids().Lock(co, a.bea));
    REQUIRE_DENIED(f.ids().RequestPasswordReset(co, "bea@acme.com"));
    // Revoking the role itself was refused before SEC-2 and still is.
    REQUIRE_DENIED(f.orgs().RevokeRole(co, a.org, a.bea, f.AdminRole(a.org)));
    f.RequireUnchanged(before);
    REQUIRE(HoldsAdministrator(f, a.org, a.bea));
    REQUIRE_FALSE(IsLocked(f, a.bea));
  }

  // ann locks bea: ann is now the last unlocked Administrator.
  ENTITLE_REQUIRE_OK(f.ids().Lock(As(a.ann), a.bea));
  {
    INFO("ann: the last unlocked Administrator; bea: a locked one");
    const auto before = f.Freeze();
    REQUIRE_DENIED(f.ids().Unlock(co, a.bea));
    REQUIRE_DENIED(f.ids().Delete(co, a.bea));
    REQUIRE_DENIED(f.orgs().RemoveMember(co, a.org, a.bea));
    // Permission comes first: the Co-Administrator is not told that ann is
    // the last one.
    REQUIRE_DENIED(f.ids().Lock(co, a.ann));
    REQUIRE_DENIED(f.ids().Delete(co, a.ann));
    REQUIRE_DENIED(f.orgs().RemoveMember(co, a.org, a.ann));
    REQUIRE_DENIED(f.orgs().ChangeMembershipKind(co, a.org, a.ann,
                                                 MembershipKind::kExternal));
    REQUIRE_DENIED(f.ids().RequestPasswordReset(co, "ann@acme.com"));
    REQUIRE_DENIED(f.orgs().RevokeRole(co, a.org, a.ann, f.AdminRole(a.org)));
    f.RequireUnchanged(before);
    REQUIRE(IsLocked(f, a.bea));
    REQUIRE_FALSE(IsLocked(f, a.ann));
  }
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-2 a Co-Administrator may still change, remove, lock, unlock, reset and delete an ordinary member",
    "[organizations][SEC-2]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const Acme a = MakeAcme(f);
  const Actor co = As(a.cole);

  ENTITLE_REQUIRE_OK(f.ids().Lock(co, a.dan));
  REQUIRE(IsLocked(f, a.dan));
  ENTITLE_REQUIRE_OK(f.ids().Unlock(co, a.dan));
  REQUIRE_FALSE(IsLocked(f, a.dan));
  ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(co, "dan@acme.com"));
  REQUIRE_FALSE(f.LastToken("dan@acme.com", "password-reset").empty());
  ENTITLE_REQUIRE_OK(f.orgs().ChangeMembershipKind(co, a.org, a.dan,
                                                   MembershipKind::kExternal));
  REQUIRE(f.Membership(a.org, a.dan)->kind == MembershipKind::kExternal);
  ENTITLE_REQUIRE_OK(f.orgs().RemoveMember(co, a.org, a.dan));
  REQUIRE_FALSE(f.Membership(a.org, a.dan).has_value());
  ENTITLE_REQUIRE_OK(f.ids().Delete(co, a.eve));
  REQUIRE(f.MembershipsOf(a.eve).empty());
  REQUIRE(f.AuditOf("identity.delete").size() == 1);
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-2 an Administrator may change another Administrator, but not the last unlocked one",
    "[organizations][SEC-2]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const Acme a = MakeAcme(f);
  const Actor ann = As(a.ann);

  ENTITLE_REQUIRE_OK(f.ids().Lock(ann, a.bea));
  REQUIRE(IsLocked(f, a.bea));
  ENTITLE_REQUIRE_OK(f.ids().Unlock(ann, a.bea));
  REQUIRE_FALSE(IsLocked(f, a.bea));
  ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(ann, "bea@acme.com"));
  ENTITLE_REQUIRE_OK(f.orgs().ChangeMembershipKind(ann, a.org, a.bea,
                                                   MembershipKind::kExternal));
  REQUIRE(f.GrantsOf(a.org, a.bea).empty());
  ENTITLE_REQUIRE_OK(f.orgs().RemoveMember(ann, a.org, a.bea));
  REQUIRE_FALSE(f.Membership(a.org, a.bea).has_value());

  // A new second Administrator, deleted by ann.
  const IdentityId cy = f.Employee(a.org, a.ann, "cy@acme.com");
  ENTITLE_REQUIRE_OK(f.orgs().GrantRole(ann, a.org, cy, f.AdminRole(a.org)));
  ENTITLE_REQUIRE_OK(f.ids().Delete(ann, cy));

  // ann is the last: neither she nor the operator may take her away.
  const auto before = f.Freeze();
  for (const Actor& actor : {ann, kOp}) {
    INFO("as " << actor);
    REQUIRE_REASON(f.orgs().RemoveMember(actor, a.org, a.ann),
                   Reason::kLastAdministrator);
    REQUIRE_REASON(f.orgs().ChangeMembershipKind(actor, a.org, a.ann,
                                                 MembershipKind::kExternal),
                   Reason::kLastAdministrator);
    REQUIRE_REASON(f.orgs().RevokeRole(actor, a.org, a.ann, f.AdminRole(a.org)),
                   Reason::kLastAdministrator);
    REQUIRE_REASON(f.ids().Delete(actor, a.ann), Reason::kLastAdministrator);
  }
  REQUIRE_REASON(f.ids().Lock(kOp, a.ann), Reason::kLastAdministrator);
  f.RequireUnchanged(before);
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-2 with two administrators, one locked, the unlocked one cannot be removed, demoted, locked or deleted",
    "[organizations][SEC-2]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const Acme a = MakeAcme(f);
  // ann also holds a custom role with the administrators permission, so
  // demoting her is tried by revoking either role and by deleting the custom
  // one.
  const RoleId owners =
      f.GiveRole(a.org, a.ann, a.ann, "Owners", kManageAdministrators);
  ENTITLE_REQUIRE_OK(f.ids().Lock(kOp, a.bea));

  const auto before = f.Freeze();
  for (const Actor& actor : {As(a.ann), kOp}) {
    INFO("as " << actor);
    REQUIRE_REASON(f.orgs().RemoveMember(actor, a.org, a.ann),
                   Reason::kLastAdministrator);
    REQUIRE_REASON(f.orgs().ChangeMembershipKind(actor, a.org, a.ann,
                                                 MembershipKind::kExternal),
                   Reason::kLastAdministrator);
    REQUIRE_REASON(f.ids().Delete(actor, a.ann), Reason::kLastAdministrator);
  }
  REQUIRE_REASON(f.ids().Lock(kOp, a.ann), Reason::kLastAdministrator);
  f.RequireUnchanged(before);

  // Demoting: revoking one of her two roles leaves her an administrator;
  // revoking or deleting the other would not.
  ENTITLE_REQUIRE_OK(
      f.orgs().RevokeRole(kOp, a.org, a.ann, f.AdminRole(a.org)));
  const auto demoted = f.Freeze();
  REQUIRE_REASON(f.orgs().RevokeRole(kOp, a.org, a.ann, owners),
                 Reason::kLastAdministrator);
  REQUIRE_REASON(f.orgs().DeleteRole(kOp, a.org, owners),
                 Reason::kLastAdministrator);
  f.RequireUnchanged(demoted);

  // With bea unlocked again, ann may be locked; then bea is the last.
  ENTITLE_REQUIRE_OK(f.ids().Unlock(kOp, a.bea));
  ENTITLE_REQUIRE_OK(f.ids().Lock(As(a.bea), a.ann));
  REQUIRE_REASON(f.ids().Lock(kOp, a.bea), Reason::kLastAdministrator);
  // A locked administrator does not count: removing ann leaves bea.
  ENTITLE_REQUIRE_OK(f.orgs().RemoveMember(As(a.bea), a.org, a.ann));
  REQUIRE_FALSE(f.Membership(a.org, a.ann).has_value());
  REQUIRE(HoldsAdministrator(f, a.org, a.bea));
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-2 an organization whose administrators are all locked keeps them until one is unlocked",
    "[organizations][SEC-2]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId zed = f.RegisterVerified("zed@zed.org");
  const IdentityId yan = f.RegisterVerified("yan@zed.org");
  const OrganizationId zed_org = f.CreateOrg("Zed", zed);
  f.AddMember(zed_org, yan, MembershipKind::kEmployee);
  // yan is locked, then made an administrator: locking does not stop that.
  ENTITLE_REQUIRE_OK(f.ids().Lock(As(zed), yan));
  ENTITLE_REQUIRE_OK(
      f.orgs().GrantRole(As(zed), zed_org, yan, f.AdminRole(zed_org)));
  // zed is the last unlocked one: he stays.
  REQUIRE_REASON(f.ids().Lock(kOp, zed), Reason::kLastAdministrator);
  // Locked directly in the store: now every administrator is locked.
  {
    auto txn = BeginWrite(f.store());
    auto r = txn->identities().Get(zed);
    ENTITLE_REQUIRE_OK(r);
    r->locked = true;
    ENTITLE_REQUIRE_OK(txn->identities().Update(*r));
    MustCommit(*txn);
  }
  const auto before = f.Freeze();
  for (const IdentityId admin : {zed, yan}) {
    INFO("administrator " << admin);
    REQUIRE_REASON(f.orgs().RemoveMember(kOp, zed_org, admin),
                   Reason::kLastAdministrator);
    REQUIRE_REASON(f.orgs().ChangeMembershipKind(kOp, zed_org, admin,
                                                 MembershipKind::kExternal),
                   Reason::kLastAdministrator);
    REQUIRE_REASON(
        f.orgs().RevokeRole(kOp, zed_org, admin, f.AdminRole(zed_org)),
        Reason::kLastAdministrator);
    REQUIRE_REASON(f.ids().Delete(kOp, admin), Reason::kLastAdministrator);
  }
  f.RequireUnchanged(before);
  // Unlocking one lets the other go.
  ENTITLE_REQUIRE_OK(f.ids().Unlock(kOp, zed));
  ENTITLE_REQUIRE_OK(f.orgs().RemoveMember(As(zed), zed_org, yan));
  REQUIRE_REASON(f.ids().Delete(kOp, zed), Reason::kLastAdministrator);
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-2 the operator keeps its powers over administrators that are not the last unlocked one",
    "[organizations][SEC-2]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const Acme a = MakeAcme(f);
  ENTITLE_REQUIRE_OK(f.ids().Lock(kOp, a.bea));
  ENTITLE_REQUIRE_OK(f.ids().Unlock(kOp, a.bea));
  ENTITLE_REQUIRE_OK(f.orgs().ChangeMembershipKind(kOp, a.org, a.bea,
                                                   MembershipKind::kExternal));
  ENTITLE_REQUIRE_OK(f.orgs().ChangeMembershipKind(kOp, a.org, a.bea,
                                                   MembershipKind::kEmployee));
  ENTITLE_REQUIRE_OK(f.orgs().GrantRole(kOp, a.org, a.bea, f.AdminRole(a.org)));
  ENTITLE_REQUIRE_OK(f.ids().Delete(kOp, a.ann));
  REQUIRE(f.MembershipsOf(a.ann).empty());
  // bea is now the last.
  REQUIRE_REASON(f.orgs().RemoveMember(kOp, a.org, a.bea),
                 Reason::kLastAdministrator);
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-2 ORG-2's move of the last unlocked administrator to another employer is refused; a locked one does not count",
    "[organizations][SEC-2]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  // Zed owns no domain, so Beta may invite its people as employees.
  const IdentityId zed = f.RegisterVerified("zed@zed.org");
  const OrganizationId zed_org = f.CreateOrg("Zed", zed);
  const IdentityId yan = f.RegisterVerified("yan@zed.org");
  f.AddMember(zed_org, yan, MembershipKind::kEmployee);
  f.Grant(zed_org, yan, f.AdminRole(zed_org));
  const OrgWithAdmin beta = f.FoundOrg("Beta", "bo@beta.com", "beta.com");
  ENTITLE_REQUIRE_OK(f.ids().Lock(As(zed), yan));
  const SentInvitation to_zed =
      f.InviteOne(As(beta.admin), beta.org, "zed@zed.org");
  const auto before = f.Freeze();
  REQUIRE_REASON(f.inv().Accept(As(zed), to_zed.token),
                 Reason::kLastAdministrator);
  f.RequireUnchanged(before);
  // With yan unlocked zed may move: its own acceptance, ORG-2.
  ENTITLE_REQUIRE_OK(f.ids().Unlock(kOp, yan));
  ENTITLE_REQUIRE_OK(f.inv().Accept(As(zed), to_zed.token));
  REQUIRE(f.EmployersOf(zed) == std::vector<OrganizationId>{beta.org});
  REQUIRE_FALSE(f.Membership(zed_org, zed).has_value());
}

// ------------------------------------------------------- MembershipsOf

template <typename F>
IdentityMemberships MustMemberships(F& f, const Actor& actor, IdentityId id) {
  auto m = f.orgs().MembershipsOf(actor, id);
  ENTITLE_REQUIRE_OK(m);
  return *m;
}

// clang-format off
TEMPLATE_TEST_CASE("ORG-3 an identity lists its memberships and its employer: employee of one, external of two",
    "[organizations][ORG-3]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const Acme a = MakeAcme(f);
  const OrgWithAdmin beta = f.FoundOrg("Beta", "bo@beta.com", "beta.com");
  const OrgWithAdmin gamma = f.FoundOrg("Gamma", "gus@gamma.com", "gamma.com");
  ENTITLE_REQUIRE_OK(
      f.orgs().AddExternal(As(beta.admin), beta.org, "cole@acme.com"));
  ENTITLE_REQUIRE_OK(
      f.orgs().AddExternal(As(gamma.admin), gamma.org, "cole@acme.com"));

  for (const Actor& actor : {As(a.cole), kOp}) {
    INFO("as " << actor);
    const auto before = f.Freeze();
    const IdentityMemberships m = MustMemberships(f, actor, a.cole);
    f.RequireUnchanged(before);
    REQUIRE(m.employer == a.org);
    REQUIRE(m.memberships.size() == 3);
    REQUIRE(m.memberships[0].organization == a.org);
    REQUIRE(m.memberships[0].organization_name == "Acme");
    REQUIRE(m.memberships[0].kind == MembershipKind::kEmployee);
    REQUIRE(m.memberships[0].status == MembershipStatus::kActive);
    REQUIRE(m.memberships[0].roles ==
            std::vector<std::string>{std::string(kCoAdministratorRole)});
    REQUIRE(m.memberships[1].organization == beta.org);
    REQUIRE(m.memberships[1].organization_name == "Beta");
    REQUIRE(m.memberships[1].kind == MembershipKind::kExternal);
    REQUIRE(m.memberships[1].roles.empty());
    REQUIRE(m.memberships[2].organization == gamma.org);
    REQUIRE(m.memberships[2].organization_name == "Gamma");
    REQUIRE(m.memberships[2].kind == MembershipKind::kExternal);
  }

  // Employed nowhere, a member nowhere.
  const IdentityId loner = f.RegisterVerified("loner@example.com");
  const IdentityMemberships none = MustMemberships(f, As(loner), loner);
  REQUIRE_FALSE(none.employer.has_value());
  REQUIRE(none.memberships.empty());
  REQUIRE_REASON(f.orgs().MembershipsOf(kOp, IdentityId(987654)),
                 Reason::kNotFound);
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-3 an administrator of one of the identity's organizations, or of another, cannot list its memberships",
    "[organizations][SEC-3]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const Acme a = MakeAcme(f);
  const OrgWithAdmin beta = f.FoundOrg("Beta", "bo@beta.com", "beta.com");
  ENTITLE_REQUIRE_OK(
      f.orgs().AddExternal(As(beta.admin), beta.org, "dan@acme.com"));
  const auto before = f.Freeze();
  // beta.admin shares Beta with dan, ann employs him; neither may see the
  // rest. Nor may anonymous, a colleague, or anyone about an unknown id.
  for (const Actor& actor : {As(beta.admin), As(a.ann), As(a.eve), kAnon}) {
    INFO("as " << actor);
    REQUIRE_DENIED(f.orgs().MembershipsOf(actor, a.dan));
    REQUIRE_DENIED(f.orgs().MembershipsOf(actor, IdentityId(987654)));
  }
  f.RequireUnchanged(before);
  // The identity itself may; locked, it may do nothing, this included.
  ENTITLE_REQUIRE_OK(f.orgs().MembershipsOf(As(a.dan), a.dan));
  ENTITLE_REQUIRE_OK(f.ids().Lock(As(a.ann), a.dan));
  REQUIRE_DENIED(f.orgs().MembershipsOf(As(a.dan), a.dan));
}

}  // namespace
}  // namespace entitle_test
