// The organizations service (SPEC ORG-1 to ORG-12) on every backend.
//
// Each TEMPLATE_TEST_CASE is named after the rule it checks and covers the
// allowed and the refused paths. A refused operation must write nothing,
// send nothing and publish nothing: `f.Freeze()` before and
// `f.RequireUnchanged(...)` after compare every table of the store, the
// notifier and the event sink. Records other services will one day write
// (entitlements, assignments, pool grants, projects) are inserted directly
// through the store.
#include "entitle/organizations.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/directory.h"
#include "entitle/events.h"
#include "entitle/records.h"
#include "entitle/status.h"
#include "fixtures/directory_fixture.h"
#include "fixtures/store_fixtures.h"

namespace entitle_test {
namespace {

using namespace entitle;
using absl::StatusCode;

std::string Target(IdentityId id) {
  return absl::StrCat("identity#", id.value());
}

OperatorSettings MaintenanceUntil(std::optional<absl::Time> until) {
  OperatorSettings s;
  s.maintenance_until = until;
  return s;
}

OrganizationSettings Discoverable(bool on) {
  OrganizationSettings s;
  s.discoverable = on;
  return s;
}

template <typename F>
std::vector<MemberInfo> Members(F& f, const Actor& actor, OrganizationId org) {
  auto page = f.orgs().ListMembers(actor, org, PageRequest{});
  ENTITLE_REQUIRE_OK(page);
  return page->items;
}

// ------------------------------------------------------------------- ORG-1

// clang-format off
TEMPLATE_TEST_CASE("ORG-1 the operator creates an organization with a first "
                   "administrator, who then adds users and administrators",
    "[organizations]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId ann = f.RegisterVerified("ann@acme.com");
  const IdentityId outsider = f.RegisterVerified("out@else.org");

  {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.orgs().Create(As(ann), "Acme", ann),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.orgs().Create(As(outsider), "Acme", ann),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.orgs().Create(kAnon, "Acme", ann),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    REQUIRE_REASON(f.orgs().Create(kOp, "   ", ann), Reason::kInvalidName);
    REQUIRE_REASON(f.orgs().Create(kOp, std::string(201, 'a'), ann),
                   Reason::kInvalidName);
    REQUIRE_REASON(f.orgs().Create(kOp, "Acme", IdentityId(987654)),
                   Reason::kNotFound);
    f.RequireUnchanged(before);
  }

  const OrganizationId acme = f.CreateOrg("Acme", ann);
  // The first administrator: an active employee holding Administrator.
  auto m = f.Membership(acme, ann);
  REQUIRE(m.has_value());
  CHECK(m->kind == MembershipKind::kEmployee);
  CHECK(m->status == MembershipStatus::kActive);
  auto roles = f.orgs().ListRoles(As(ann), acme);
  ENTITLE_REQUIRE_OK(roles);
  REQUIRE(roles->size() == 2);
  std::optional<RoleInfo> admin, co;
  for (const RoleInfo& r : *roles) {
    if (r.name == kAdministratorRole) admin = r;
    if (r.name == kCoAdministratorRole) co = r;
  }
  REQUIRE(admin.has_value());
  REQUIRE(co.has_value());
  CHECK(admin->built_in);
  CHECK(co->built_in);
  CHECK(admin->permissions == kAllPermissions);
  CHECK((admin->permissions & kManageAdministrators) != 0);
  CHECK((co->permissions & kManageAdministrators) == 0);
  CHECK((co->permissions & kManageUsers) != 0);
  auto grants = f.GrantsOf(acme, ann);
  REQUIRE(grants.size() == 1);
  CHECK(grants[0].role_id == admin->id);
  auto me = f.orgs().GetMember(As(ann), acme, ann);
  ENTITLE_REQUIRE_OK(me);
  CHECK(me->roles == std::vector<std::string>{"Administrator"});
  auto info = f.orgs().Get(As(ann), acme);
  ENTITLE_REQUIRE_OK(info);
  CHECK(info->name == "Acme");
  CHECK(info->created_at == f.clock().Now());

  // The administrator adds users and another administrator.
  f.ProveDomain(As(ann), acme, "acme.com");
  const IdentityId bob = f.RegisterVerified("bob@acme.com");
  const IdentityId cat = f.RegisterVerified("cat@partner.org");
  ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(ann), acme, "bob@acme.com"));
  ENTITLE_REQUIRE_OK(f.orgs().AddExternal(As(ann), acme, "cat@partner.org"));
  ENTITLE_REQUIRE_OK(f.orgs().GrantRole(As(ann), acme, bob, admin->id));
  // The new administrator can administer too.
  const IdentityId dan = f.RegisterVerified("dan@acme.com");
  ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(bob), acme, "dan@acme.com"));
  ENTITLE_REQUIRE_OK(f.orgs().GrantRole(As(bob), acme, dan, co->id));

  auto members = Members(f, As(ann), acme);
  REQUIRE(members.size() == 4);
  for (const MemberInfo& mi : members) {
    if (mi.identity == cat) {
      CHECK(mi.kind == MembershipKind::kExternal);
      CHECK(mi.roles.empty());
    } else {
      CHECK(mi.kind == MembershipKind::kEmployee);
    }
    if (mi.identity == bob)
      CHECK(mi.roles == std::vector<std::string>{"Administrator"});
    if (mi.identity == dan)
      CHECK(mi.roles == std::vector<std::string>{"Co-Administrator"});
  }
  // The outsider still cannot add anyone.
  auto before = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(
      f.orgs().AddExternal(As(outsider), acme, "out@else.org"),
      StatusCode::kPermissionDenied, Reason::kPermissionDenied);
  f.RequireUnchanged(before);
}

// ------------------------------------------------------------------- ORG-2

// clang-format off
TEMPLATE_TEST_CASE("ORG-2 becoming an employee of another organization ends "
                   "the previous employee membership with its rights and "
                   "licenses, and emits one event",
    "[organizations]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId ann = f.RegisterVerified("ann@acme.com");
  const OrganizationId a = f.CreateOrg("Acme", ann);
  f.OwnDomain(a, "acme.com");
  const IdentityId yan = f.RegisterVerified("yan@acme.com");
  ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(ann), a, "yan@acme.com"));
  ENTITLE_REQUIRE_OK(f.orgs().GrantRole(As(ann), a, yan, f.CoAdminRole(a)));
  auto group = f.orgs().CreateGroup(As(ann), a, "Designers");
  ENTITLE_REQUIRE_OK(group);
  ENTITLE_REQUIRE_OK(f.orgs().AddToGroup(As(ann), a, *group, yan));
  const EntitlementId ent = f.Insert(MakeEntitlement(a));
  f.Insert(MakeAssignment(ent, yan));
  f.Insert(MakePoolGrant(ent, yan));
  f.Insert(MakeAssignment(ent, ann));
  const ProjectId project = f.Insert(MakeProject(a, ent));
  f.Insert(MakeProjectMember(a, project, yan));

  // An external membership elsewhere, with a license: untouched by the move.
  const IdentityId cy = f.RegisterVerified("cy@cee.org");
  const OrganizationId c = f.CreateOrg("Cee", cy);
  ENTITLE_REQUIRE_OK(f.orgs().AddExternal(As(cy), c, "yan@acme.com"));
  const EntitlementId cent = f.Insert(MakeEntitlement(c, "VIEWER"));
  f.Insert(MakeAssignment(cent, yan));
  const auto c_membership = f.Membership(c, yan);
  REQUIRE(c_membership.has_value());

  SECTION("the move through Create ends everything in A in one step") {
    f.events().Clear();
    f.clock().Advance(absl::Minutes(5));
    const OrganizationId b = f.CreateOrg("Beta", yan);

    CHECK_FALSE(f.Membership(a, yan).has_value());
    CHECK(f.GrantsOf(a, yan).empty());
    CHECK(f.template All<GroupMemberRecord>(
               GroupMemberFilter{.group_id = *group, .identity_id = yan})
              .empty());
    CHECK(
        f.template All<LicenseAssignmentRecord>(
             LicenseAssignmentFilter{.entitlement_id = ent, .identity_id = yan})
            .empty());
    CHECK(f.template All<PoolGrantRecord>(
               PoolGrantFilter{.entitlement_id = ent, .identity_id = yan})
              .empty());
    CHECK(f.template All<ProjectMemberRecord>(
               ProjectMemberFilter{.project_id = project, .identity_id = yan})
              .empty());
    // Others' records in A and yan's records in C stay.
    CHECK(
        f.template All<LicenseAssignmentRecord>(
             LicenseAssignmentFilter{.entitlement_id = ent, .identity_id = ann})
            .size() == 1);
    CHECK(f.Membership(c, yan) == c_membership);
    CHECK(f
              .template All<LicenseAssignmentRecord>(LicenseAssignmentFilter{
                  .entitlement_id = cent, .identity_id = yan})
              .size() == 1);
    // Exactly one employee membership: in B, as its administrator.
    auto employee = f.template All<MembershipRecord>(MembershipFilter{
        .identity_id = yan, .kind = MembershipKind::kEmployee});
    REQUIRE(employee.size() == 1);
    CHECK(employee[0].organization_id == b);
    REQUIRE(f.GrantsOf(b, yan).size() == 1);
    CHECK(f.GrantsOf(b, yan)[0].role_id == f.AdminRole(b));

    auto changes = f.Changes();
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].identity == yan);
    CHECK(changes[0].previous == std::optional<OrganizationId>(a));
    CHECK(changes[0].current == std::optional<OrganizationId>(b));
    CHECK(changes[0].at == f.clock().Now());
    CHECK(f.events().Events().size() == 1);
  }

  SECTION("the first employment announces no previous organization") {
    f.events().Clear();
    const IdentityId zoe = f.RegisterVerified("zoe@zed.io");
    const OrganizationId z = f.CreateOrg("Zed", zoe);
    auto changes = f.Changes();
    REQUIRE(changes.size() == 1);
    CHECK(changes[0] ==
          EmployeeOrganizationChanged{zoe, std::nullopt, z, f.clock().Now()});
  }

  SECTION("the last administrator of A cannot move; nothing changes") {
    auto before = f.Freeze();
    REQUIRE_REASON(f.orgs().Create(kOp, "Gamma", ann),
                   Reason::kLastAdministrator);
    f.RequireUnchanged(before);
    // A Co-Administrator is not an administrator: promote yan, then ann may go.
    ENTITLE_REQUIRE_OK(f.orgs().GrantRole(As(ann), a, yan, f.AdminRole(a)));
    f.events().Clear();
    const OrganizationId g = f.CreateOrg("Gamma", ann);
    CHECK_FALSE(f.Membership(a, ann).has_value());
    CHECK(
        f.template All<LicenseAssignmentRecord>(
             LicenseAssignmentFilter{.entitlement_id = ent, .identity_id = ann})
            .empty());
    auto changes = f.Changes();
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].previous == std::optional<OrganizationId>(a));
    CHECK(changes[0].current == std::optional<OrganizationId>(g));
  }

  SECTION("a direct add cannot take an employee from A") {
    const IdentityId bea = f.RegisterVerified("bea@beta.com");
    const OrganizationId b = f.CreateOrg("Beta", bea);
    auto before = f.Freeze();
    REQUIRE_REASON(f.orgs().AddEmployee(As(bea), b, "yan@acme.com"),
                   Reason::kEmployeeElsewhere);
    f.RequireUnchanged(before);
    ENTITLE_REQUIRE_OK(f.orgs().AddExternal(As(bea), b, "yan@acme.com"));
    before = f.Freeze();
    REQUIRE_REASON(f.orgs().ChangeMembershipKind(As(bea), b, yan,
                                                 MembershipKind::kEmployee),
                   Reason::kEmployeeElsewhere);
    f.RequireUnchanged(before);
  }
}

// ------------------------------------------------------------------- ORG-3

// clang-format off
TEMPLATE_TEST_CASE("ORG-3 external memberships in many organizations are "
                   "independent; one membership per organization; an upgrade "
                   "keeps the membership",
    "[organizations]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId ann = f.RegisterVerified("ann@acme.com");
  const IdentityId bea = f.RegisterVerified("bea@beta.com");
  const IdentityId cy = f.RegisterVerified("cy@cee.org");
  const OrganizationId a = f.CreateOrg("Acme", ann);
  const OrganizationId b = f.CreateOrg("Beta", bea);
  const OrganizationId c = f.CreateOrg("Cee", cy);
  f.OwnDomain(a, "acme.com");
  const IdentityId xu = f.RegisterVerified("xu@freelance.net");

  ENTITLE_REQUIRE_OK(f.orgs().AddExternal(As(ann), a, "xu@freelance.net"));
  ENTITLE_REQUIRE_OK(f.orgs().AddExternal(As(bea), b, "XU@Freelance.net"));
  ENTITLE_REQUIRE_OK(f.orgs().AddExternal(As(cy), c, "xu@freelance.net"));
  REQUIRE(f.template All<MembershipRecord>(MembershipFilter{.identity_id = xu})
              .size() == 3);
  const auto mb = f.Membership(b, xu);
  const auto mc = f.Membership(c, xu);
  REQUIRE(mb.has_value());
  CHECK(mb->kind == MembershipKind::kExternal);

  // Removing one changes no other.
  ENTITLE_REQUIRE_OK(f.orgs().RemoveMember(As(ann), a, xu));
  CHECK_FALSE(f.Membership(a, xu).has_value());
  CHECK(f.Membership(b, xu) == mb);
  CHECK(f.Membership(c, xu) == mc);
  // Adding one changes no other.
  f.clock().Advance(absl::Hours(1));
  ENTITLE_REQUIRE_OK(f.orgs().AddExternal(As(ann), a, "xu@freelance.net"));
  CHECK(f.Membership(b, xu) == mb);
  CHECK(f.Membership(c, xu) == mc);
  CHECK(f.events().Events().size() == 3);  // Only the three Creates.

  // One membership per organization.
  {
    auto before = f.Freeze();
    REQUIRE_REASON(f.orgs().AddExternal(As(bea), b, "xu@freelance.net"),
                   Reason::kAlreadyMember);
    REQUIRE_REASON(f.orgs().AddEmployee(As(ann), a, "xu@freelance.net"),
                   Reason::kAlreadyMember);
    REQUIRE_REASON(f.orgs().AddExternal(As(ann), a, "ann@acme.com"),
                   Reason::kAlreadyMember);
    REQUIRE_REASON(f.orgs().AddEmployee(As(ann), a, "ann@acme.com"),
                   Reason::kAlreadyMember);
    REQUIRE_REASON(f.orgs().ChangeMembershipKind(As(bea), b, xu,
                                                 MembershipKind::kExternal),
                   Reason::kAlreadyMember);
    REQUIRE_REASON(f.orgs().AddExternal(As(ann), a, "nobody@acme.com"),
                   Reason::kUnknownUser);
    f.RequireUnchanged(before);
  }
  // An employee of one organization may be an external member of others.
  ENTITLE_REQUIRE_OK(f.orgs().AddExternal(As(bea), b, "ann@acme.com"));
  CHECK(f.Membership(a, ann)->kind == MembershipKind::kEmployee);
  CHECK(f.Membership(b, ann)->kind == MembershipKind::kExternal);

  // Upgrade external -> employee keeps the same membership.
  const IdentityId zed = f.RegisterVerified("zed@acme.com");
  ENTITLE_REQUIRE_OK(f.orgs().AddExternal(As(ann), a, "zed@acme.com"));
  const auto external = f.Membership(a, zed);
  REQUIRE(external.has_value());
  f.clock().Advance(absl::Hours(2));
  f.events().Clear();
  ENTITLE_REQUIRE_OK(f.orgs().ChangeMembershipKind(As(ann), a, zed,
                                                   MembershipKind::kEmployee));
  const auto upgraded = f.Membership(a, zed);
  REQUIRE(upgraded.has_value());
  CHECK(upgraded->kind == MembershipKind::kEmployee);
  CHECK(upgraded->created_at == external->created_at);
  CHECK(upgraded->status == external->status);
  CHECK(f.template All<MembershipRecord>(MembershipFilter{.identity_id = zed})
            .size() == 1);
  auto changes = f.Changes();
  REQUIRE(changes.size() == 1);
  CHECK(changes[0] ==
        EmployeeOrganizationChanged{zed, std::nullopt, a, f.clock().Now()});
  auto since = f.orgs().GetMember(As(ann), a, zed);
  ENTITLE_REQUIRE_OK(since);
  CHECK(since->since == external->created_at);
}

// ------------------------------------------------------------------- ORG-4

// clang-format off
TEMPLATE_TEST_CASE("ORG-4 administrator rights are for employees only and the "
                   "last administrator can be neither removed nor demoted",
    "[organizations]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId ann = f.RegisterVerified("ann@acme.com");
  const OrganizationId a = f.CreateOrg("Acme", ann);
  f.OwnDomain(a, "acme.com");
  const IdentityId bob = f.RegisterVerified("bob@acme.com");
  const IdentityId xu = f.RegisterVerified("xu@freelance.net");
  ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(ann), a, "bob@acme.com"));
  ENTITLE_REQUIRE_OK(f.orgs().AddExternal(As(ann), a, "xu@freelance.net"));
  const RoleId admin = f.AdminRole(a);
  const RoleId co = f.CoAdminRole(a);

  {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.orgs().GrantRole(As(ann), a, xu, admin),
                            StatusCode::kFailedPrecondition,
                            Reason::kNotEmployee);
    REQUIRE_REASON(f.orgs().GrantRole(As(ann), a, xu, co),
                   Reason::kNotEmployee);
    REQUIRE_REASON(f.orgs().GrantRole(kOp, a, xu, admin), Reason::kNotEmployee);
    auto viewer = f.orgs().CreateRole(As(ann), a, "Viewer", kViewUsage);
    ENTITLE_REQUIRE_OK(viewer);
    before = f.Freeze();
    REQUIRE_REASON(f.orgs().GrantRole(As(ann), a, xu, *viewer),
                   Reason::kNotEmployee);
    f.RequireUnchanged(before);
  }

  SECTION("the only administrator") {
    auto before = f.Freeze();
    REQUIRE_REASON(f.orgs().RemoveMember(As(ann), a, ann),
                   Reason::kLastAdministrator);
    REQUIRE_REASON(f.orgs().RemoveMember(kOp, a, ann),
                   Reason::kLastAdministrator);
    REQUIRE_REASON(f.orgs().RevokeRole(As(ann), a, ann, admin),
                   Reason::kLastAdministrator);
    REQUIRE_REASON(f.orgs().RevokeRole(kOp, a, ann, admin),
                   Reason::kLastAdministrator);
    REQUIRE_REASON(f.orgs().ChangeMembershipKind(As(ann), a, ann,
                                                 MembershipKind::kExternal),
                   Reason::kLastAdministrator);
    REQUIRE_REASON(f.orgs().DeleteRole(As(ann), a, admin),
                   Reason::kInvalidArgument);
    f.RequireUnchanged(before);
  }

  SECTION("the last administrator's custom role cannot be deleted") {
    auto owners = f.orgs().CreateRole(As(ann), a, "Owners",
                                      kManageAdministrators | kManageUsers);
    ENTITLE_REQUIRE_OK(owners);
    ENTITLE_REQUIRE_OK(f.orgs().GrantRole(As(ann), a, bob, *owners));
    // Two administrators: ann may be demoted.
    ENTITLE_REQUIRE_OK(f.orgs().RevokeRole(As(bob), a, ann, admin));
    CHECK(f.GrantsOf(a, ann).empty());
    auto before = f.Freeze();
    REQUIRE_REASON(f.orgs().DeleteRole(As(bob), a, *owners),
                   Reason::kLastAdministrator);
    REQUIRE_REASON(f.orgs().RevokeRole(As(bob), a, bob, *owners),
                   Reason::kLastAdministrator);
    REQUIRE_REASON(f.orgs().RemoveMember(As(bob), a, bob),
                   Reason::kLastAdministrator);
    f.RequireUnchanged(before);
    // Once bob also holds Administrator, the custom role may go.
    ENTITLE_REQUIRE_OK(f.orgs().GrantRole(As(bob), a, bob, admin));
    ENTITLE_REQUIRE_OK(f.orgs().DeleteRole(As(bob), a, *owners));
    CHECK(f.template All<RoleGrantRecord>(RoleGrantFilter{.role_id = *owners})
              .empty());
  }

  SECTION("with two administrators one can be demoted, downgraded or removed") {
    ENTITLE_REQUIRE_OK(f.orgs().GrantRole(As(ann), a, bob, admin));
    ENTITLE_REQUIRE_OK(f.orgs().GrantRole(As(ann), a, bob, co));
    ENTITLE_REQUIRE_OK(f.orgs().RevokeRole(As(bob), a, ann, admin));
    CHECK(f.GrantsOf(a, ann).empty());
    // bob is now the last; ann (no longer admin) cannot demote him either.
    auto before = f.Freeze();
    REQUIRE_REASON(f.orgs().RevokeRole(kOp, a, bob, admin),
                   Reason::kLastAdministrator);
    f.RequireUnchanged(before);
    ENTITLE_REQUIRE_OK(f.orgs().GrantRole(As(bob), a, ann, admin));
    // Downgrading an administrator to external ends all its roles.
    ENTITLE_REQUIRE_OK(f.orgs().ChangeMembershipKind(
        As(ann), a, bob, MembershipKind::kExternal));
    CHECK(f.GrantsOf(a, bob).empty());
    CHECK(f.Membership(a, bob)->kind == MembershipKind::kExternal);
    ENTITLE_REQUIRE_OK(f.orgs().ChangeMembershipKind(
        As(ann), a, bob, MembershipKind::kEmployee));
    ENTITLE_REQUIRE_OK(f.orgs().GrantRole(As(ann), a, bob, admin));
    ENTITLE_REQUIRE_OK(f.orgs().RemoveMember(As(bob), a, ann));
    CHECK_FALSE(f.Membership(a, ann).has_value());
    CHECK(f.GrantsOf(a, ann).empty());
  }
}

// ------------------------------------------------------------------- ORG-5

// clang-format off
TEMPLATE_TEST_CASE("ORG-5 removing a member ends its membership, roles, "
                   "groups, licenses, pool access, projects and maintenance in "
                   "that organization only",
    "[organizations]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId ann = f.RegisterVerified("ann@acme.com");
  const IdentityId bea = f.RegisterVerified("bea@beta.com");
  const OrganizationId a = f.CreateOrg("Acme", ann);
  const OrganizationId b = f.CreateOrg("Beta", bea);
  f.OwnDomain(a, "acme.com");
  ENTITLE_REQUIRE_OK(f.orgs().UpdateOperatorSettings(
      kOp, a, MaintenanceUntil(f.clock().Now() + absl::Hours(24 * 365))));
  const IdentityId mia = f.RegisterVerified("mia@acme.com");
  const IdentityId nik = f.RegisterVerified("nik@acme.com");
  ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(ann), a, "mia@acme.com"));
  ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(ann), a, "nik@acme.com"));
  ENTITLE_REQUIRE_OK(f.orgs().AddExternal(As(bea), b, "mia@acme.com"));
  ENTITLE_REQUIRE_OK(f.orgs().GrantRole(As(ann), a, mia, f.CoAdminRole(a)));

  // In A.
  auto ga = f.orgs().CreateGroup(As(ann), a, "Team");
  ENTITLE_REQUIRE_OK(ga);
  ENTITLE_REQUIRE_OK(f.orgs().AddToGroup(As(ann), a, *ga, mia));
  ENTITLE_REQUIRE_OK(f.orgs().AddToGroup(As(ann), a, *ga, nik));
  const EntitlementId ea = f.Insert(MakeEntitlement(a, "CAD"));
  const EntitlementId ea2 = f.Insert(MakeEntitlement(a, "SHARE"));
  f.Insert(MakeAssignment(ea, mia));
  f.Insert(MakeAssignment(ea, nik));
  f.Insert(MakePoolGrant(ea2, mia));
  f.Insert(MakePoolGrant(ea2, nik));
  f.Insert(MakeGroupPoolGrant(ea2, *ga));
  const ProjectId pa = f.Insert(MakeProject(a, ea));
  f.Insert(MakeProjectMember(a, pa, mia));
  f.Insert(MakeProjectMember(a, pa, nik));
  // In B.
  auto gb = f.orgs().CreateGroup(As(bea), b, "Team");
  ENTITLE_REQUIRE_OK(gb);
  ENTITLE_REQUIRE_OK(f.orgs().AddToGroup(As(bea), b, *gb, mia));
  const EntitlementId eb = f.Insert(MakeEntitlement(b, "CAD"));
  f.Insert(MakeAssignment(eb, mia));
  f.Insert(MakePoolGrant(eb, mia));
  const ProjectId pb = f.Insert(MakeProject(b, eb));
  f.Insert(MakeProjectMember(b, pb, mia));

  auto covered = f.orgs().IsCoveredByMaintenance(As(mia), a, mia);
  ENTITLE_REQUIRE_OK(covered);
  CHECK(*covered);

  const Snapshot before = f.Snap();
  f.events().Clear();
  ENTITLE_REQUIRE_OK(f.orgs().RemoveMember(As(ann), a, mia));
  const Snapshot after = f.Snap();

  // Everything of mia's in A is gone.
  CHECK_FALSE(f.Membership(a, mia).has_value());
  CHECK(f.GrantsOf(a, mia).empty());
  CHECK(f.template All<GroupMemberRecord>(
             GroupMemberFilter{.group_id = *ga, .identity_id = mia})
            .empty());
  for (EntitlementId e : {ea, ea2}) {
    CHECK(f.template All<LicenseAssignmentRecord>(
               LicenseAssignmentFilter{.entitlement_id = e, .identity_id = mia})
              .empty());
    CHECK(f.template All<PoolGrantRecord>(
               PoolGrantFilter{.entitlement_id = e, .identity_id = mia})
              .empty());
  }
  CHECK(f.template All<ProjectMemberRecord>(
             ProjectMemberFilter{.project_id = pa, .identity_id = mia})
            .empty());
  covered = f.orgs().IsCoveredByMaintenance(kOp, a, mia);
  ENTITLE_REQUIRE_OK(covered);
  CHECK_FALSE(*covered);

  // Nothing else changed: compare table by table, without mia's A records.
  auto without_mia = [&](auto records, auto belongs_to_a) {
    decltype(records) kept;
    for (const auto& r : records) {
      if (!belongs_to_a(r)) kept.push_back(r);
    }
    return kept;
  };
  CHECK(after.memberships ==
        without_mia(before.memberships, [&](const MembershipRecord& r) {
          return r.organization_id == a && r.identity_id == mia;
        }));
  CHECK(after.role_grants ==
        without_mia(before.role_grants, [&](const RoleGrantRecord& r) {
          return r.organization_id == a && r.identity_id == mia;
        }));
  CHECK(after.group_members ==
        without_mia(before.group_members, [&](const GroupMemberRecord& r) {
          return r.group_id == *ga && r.identity_id == mia;
        }));
  CHECK(after.license_assignments ==
        without_mia(before.license_assignments,
                    [&](const LicenseAssignmentRecord& r) {
                      return r.entitlement_id == ea && r.identity_id == mia;
                    }));
  CHECK(after.pool_grants ==
        without_mia(before.pool_grants, [&](const PoolGrantRecord& r) {
          return r.entitlement_id == ea2 && r.identity_id == std::optional(mia);
        }));
  CHECK(after.project_members ==
        without_mia(before.project_members, [&](const ProjectMemberRecord& r) {
          return r.project_id == pa && r.identity_id == mia;
        }));
  CHECK(after.identities == before.identities);
  CHECK(after.organizations == before.organizations);
  CHECK(after.groups == before.groups);
  CHECK(after.entitlements == before.entitlements);
  CHECK(after.projects == before.projects);
  CHECK(after.roles == before.roles);

  auto changes = f.Changes();
  REQUIRE(changes.size() == 1);
  CHECK(changes[0] ==
        EmployeeOrganizationChanged{mia, a, std::nullopt, f.clock().Now()});

  // Removing again, or a non-member, is refused and writes nothing.
  auto frozen = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(f.orgs().RemoveMember(As(ann), a, mia),
                          StatusCode::kNotFound, Reason::kNotMember);
  REQUIRE_REASON(f.orgs().RemoveMember(As(ann), a, bea), Reason::kNotMember);
  REQUIRE_REASON(f.orgs().RemoveMember(As(ann), a, IdentityId(424242)),
                 Reason::kNotMember);
  f.RequireUnchanged(frozen);

  // Removing an external member ends its B records only, and emits nothing.
  f.events().Clear();
  ENTITLE_REQUIRE_OK(f.orgs().RemoveMember(As(bea), b, mia));
  CHECK(f.template All<LicenseAssignmentRecord>(
             LicenseAssignmentFilter{.identity_id = mia})
            .empty());
  CHECK(f.template All<PoolGrantRecord>(PoolGrantFilter{.identity_id = mia})
            .empty());
  CHECK(f.template All<ProjectMemberRecord>(
             ProjectMemberFilter{.identity_id = mia})
            .empty());
  CHECK(f.template All<GroupMemberRecord>(GroupMemberFilter{.identity_id = mia})
            .empty());
  CHECK(f.Changes().empty());
}

// ------------------------------------------------------------------- ORG-6

// clang-format off
TEMPLATE_TEST_CASE("ORG-6 employees are covered by a valid maintenance "
                   "agreement; external members are not",
    "[organizations]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId ann = f.RegisterVerified("ann@acme.com");
  const OrganizationId a = f.CreateOrg("Acme", ann);
  f.OwnDomain(a, "acme.com");
  const IdentityId bob = f.RegisterVerified("bob@acme.com");
  const IdentityId xu = f.RegisterVerified("xu@freelance.net");
  ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(ann), a, "bob@acme.com"));
  ENTITLE_REQUIRE_OK(f.orgs().AddExternal(As(ann), a, "xu@freelance.net"));
  // An employee still waiting for its profile (ID-12) is not active.
  const IdentityId pat = f.InsertIdentity("pat@acme.com", true);
  {
    MembershipRecord m = MakeMembership(a, pat, MembershipKind::kEmployee);
    m.status = MembershipStatus::kPendingProfile;
    f.Insert(m);
  }

  auto covered = [&](const Actor& actor, IdentityId who) {
    auto c = f.orgs().IsCoveredByMaintenance(actor, a, who);
    INFO("status: " << c.status());
    REQUIRE(c.ok());
    return *c;
  };
  // No agreement: nobody.
  CHECK_FALSE(covered(As(bob), bob));
  CHECK_FALSE(covered(As(ann), ann));

  const absl::Time until = f.clock().Now() + absl::Hours(24 * 30);
  {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(
        f.orgs().UpdateOperatorSettings(As(ann), a, MaintenanceUntil(until)),
        StatusCode::kPermissionDenied, Reason::kPermissionDenied);
    f.RequireUnchanged(before);
  }
  ENTITLE_REQUIRE_OK(
      f.orgs().UpdateOperatorSettings(kOp, a, MaintenanceUntil(until)));
  auto info = f.orgs().Get(As(ann), a);
  ENTITLE_REQUIRE_OK(info);
  CHECK(info->maintenance_until == std::optional<absl::Time>(until));

  CHECK(covered(As(bob), bob));
  CHECK(covered(As(ann), bob));
  CHECK(covered(kOp, bob));
  CHECK(covered(As(ann), ann));
  CHECK_FALSE(covered(As(xu), xu));
  CHECK_FALSE(covered(As(ann), xu));
  CHECK_FALSE(covered(As(ann), pat));
  for (const MemberInfo& m : Members(f, As(ann), a)) {
    INFO("member " << m.identity);
    CHECK(m.covered_by_maintenance == (m.identity == ann || m.identity == bob));
  }
  // Someone else's coverage needs kViewUsage.
  {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.orgs().IsCoveredByMaintenance(As(xu), a, bob),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.orgs().IsCoveredByMaintenance(As(bob), a, ann),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    f.RequireUnchanged(before);
  }

  // Until the agreement's end, exclusive.
  f.clock().Advance(absl::Hours(24 * 30) - absl::Seconds(1));
  CHECK(covered(As(bob), bob));
  f.clock().Advance(absl::Seconds(1));
  CHECK_FALSE(covered(As(bob), bob));
  f.clock().Advance(absl::Hours(24));
  CHECK_FALSE(covered(As(bob), bob));
  CHECK_FALSE(covered(As(ann), ann));

  // Renewing covers again; ending the agreement covers nobody.
  ENTITLE_REQUIRE_OK(f.orgs().UpdateOperatorSettings(
      kOp, a, MaintenanceUntil(f.clock().Now() + absl::Hours(1))));
  CHECK(covered(As(bob), bob));
  ENTITLE_REQUIRE_OK(
      f.orgs().UpdateOperatorSettings(kOp, a, MaintenanceUntil(std::nullopt)));
  CHECK_FALSE(covered(As(bob), bob));
}

// ------------------------------------------------------------------- ORG-7

// clang-format off
TEMPLATE_TEST_CASE("ORG-7 every admin operation checks the actor's permission: "
                   "a view-only role and the Co-Administrator",
    "[organizations]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId ann = f.RegisterVerified("ann@acme.com");
  const OrganizationId a = f.CreateOrg("Acme", ann);
  f.OwnDomain(a, "acme.com");
  const IdentityId vic = f.RegisterVerified("vic@acme.com");
  const IdentityId cole = f.RegisterVerified("cole@acme.com");
  const IdentityId pia = f.RegisterVerified("pia@acme.com");
  f.RegisterVerified("xu@freelance.net");
  f.RegisterVerified("yu@freelance.net");
  f.RegisterVerified("eli@acme.com");
  ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(ann), a, "vic@acme.com"));
  ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(ann), a, "cole@acme.com"));
  ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(ann), a, "pia@acme.com"));

  {
    auto before = f.Freeze();
    REQUIRE_REASON(f.orgs().CreateRole(As(ann), a, "Nothing", 0),
                   Reason::kInvalidArgument);
    REQUIRE_REASON(f.orgs().CreateRole(As(ann), a, "Unknown", 1u << 20),
                   Reason::kInvalidArgument);
    REQUIRE_REASON(f.orgs().CreateRole(As(ann), a, "Administrator", kViewUsage),
                   Reason::kDuplicate);
    f.RequireUnchanged(before);
  }
  auto viewer = f.orgs().CreateRole(As(ann), a, "Viewer", kViewUsage);
  ENTITLE_REQUIRE_OK(viewer);
  ENTITLE_REQUIRE_OK(f.orgs().GrantRole(As(ann), a, vic, *viewer));
  ENTITLE_REQUIRE_OK(f.orgs().GrantRole(As(ann), a, cole, f.CoAdminRole(a)));

  SECTION("a view-only role can list but not add") {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(
        f.orgs().AddExternal(As(vic), a, "xu@freelance.net"),
        StatusCode::kPermissionDenied, Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.orgs().AddEmployee(As(vic), a, "eli@acme.com"),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.orgs().RemoveMember(As(vic), a, pia),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.orgs().ClaimDomain(As(vic), a, "acme.net"),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    f.RequireUnchanged(before);
    auto members = f.orgs().ListMembers(As(vic), a, PageRequest{});
    ENTITLE_REQUIRE_OK(members);
    CHECK(members->items.size() == 4);
    auto me = f.orgs().GetMember(As(vic), a, vic);
    ENTITLE_REQUIRE_OK(me);
    CHECK(me->permissions == kViewUsage);
    CHECK(me->roles == std::vector<std::string>{"Viewer"});
    ENTITLE_REQUIRE_OK(f.orgs().ListRoles(As(vic), a));
    ENTITLE_REQUIRE_OK(f.orgs().ListAudit(As(vic), a, {}, PageRequest{}));
  }

  SECTION("a plain employee cannot even list") {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.orgs().ListMembers(As(pia), a, PageRequest{}),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(
        f.orgs().AddExternal(As(pia), a, "xu@freelance.net"),
        StatusCode::kPermissionDenied, Reason::kPermissionDenied);
    f.RequireUnchanged(before);
  }

  SECTION("a Co-Administrator manages users but not administrators") {
    ENTITLE_REQUIRE_OK(f.orgs().AddExternal(As(cole), a, "xu@freelance.net"));
    ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(cole), a, "eli@acme.com"));
    ENTITLE_REQUIRE_OK(f.orgs().RemoveMember(As(cole), a, pia));
    auto group = f.orgs().CreateGroup(As(cole), a, "Crew");
    ENTITLE_REQUIRE_OK(group);
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(
        f.orgs().GrantRole(As(cole), a, vic, f.CoAdminRole(a)),
        StatusCode::kPermissionDenied, Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(
        f.orgs().GrantRole(As(cole), a, cole, f.AdminRole(a)),
        StatusCode::kPermissionDenied, Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.orgs().RevokeRole(As(cole), a, vic, *viewer),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(
        f.orgs().CreateRole(As(cole), a, "Mine", kViewUsage),
        StatusCode::kPermissionDenied, Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.orgs().DeleteRole(As(cole), a, *viewer),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    f.RequireUnchanged(before);
  }

  SECTION("a membership waiting for its profile (ID-12) gives no rights yet") {
    const IdentityId ida = f.InsertIdentity("ida@acme.com", true);
    MembershipRecord m = MakeMembership(a, ida, MembershipKind::kEmployee);
    m.status = MembershipStatus::kPendingProfile;
    f.Insert(m);
    f.Insert(MakeRoleGrant(a, ida, f.AdminRole(a)));
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(
        f.orgs().AddExternal(As(ida), a, "xu@freelance.net"),
        StatusCode::kPermissionDenied, Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.orgs().ListMembers(As(ida), a, PageRequest{}),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    f.RequireUnchanged(before);
  }

  SECTION("permissions do not carry over to another organization") {
    const IdentityId bea = f.RegisterVerified("bea@beta.com");
    const OrganizationId b = f.CreateOrg("Beta", bea);
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(
        f.orgs().AddExternal(As(ann), b, "xu@freelance.net"),
        StatusCode::kPermissionDenied, Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.orgs().ListMembers(As(ann), b, PageRequest{}),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.orgs().GrantRole(As(ann), b, ann, f.AdminRole(b)),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    f.RequireUnchanged(before);
  }
}

// ------------------------------------------------------------------- ORG-8

// clang-format off
TEMPLATE_TEST_CASE("ORG-8 groups: named, of members only, and a group's pool "
                   "access ends with the group",
    "[organizations]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId ann = f.RegisterVerified("ann@acme.com");
  const IdentityId bea = f.RegisterVerified("bea@beta.com");
  const OrganizationId a = f.CreateOrg("Acme", ann);
  const OrganizationId b = f.CreateOrg("Beta", bea);
  f.OwnDomain(a, "acme.com");
  const IdentityId bob = f.RegisterVerified("bob@acme.com");
  const IdentityId xu = f.RegisterVerified("xu@freelance.net");
  const IdentityId out = f.RegisterVerified("out@else.org");
  ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(ann), a, "bob@acme.com"));
  ENTITLE_REQUIRE_OK(f.orgs().AddExternal(As(ann), a, "xu@freelance.net"));
  ENTITLE_REQUIRE_OK(f.orgs().AddExternal(As(bea), b, "out@else.org"));

  auto g = f.orgs().CreateGroup(As(ann), a, "Designers");
  ENTITLE_REQUIRE_OK(g);
  auto other = f.orgs().CreateGroup(As(ann), a, "Reviewers");
  ENTITLE_REQUIRE_OK(other);
  // The same name in another organization is fine.
  auto gb = f.orgs().CreateGroup(As(bea), b, "Designers");
  ENTITLE_REQUIRE_OK(gb);

  ENTITLE_REQUIRE_OK(f.orgs().AddToGroup(As(ann), a, *g, bob));
  ENTITLE_REQUIRE_OK(f.orgs().AddToGroup(As(ann), a, *g, xu));
  ENTITLE_REQUIRE_OK(f.orgs().AddToGroup(As(ann), a, *other, bob));
  {
    auto before = f.Freeze();
    REQUIRE_REASON(f.orgs().CreateGroup(As(ann), a, "Designers"),
                   Reason::kDuplicate);
    REQUIRE_REASON(f.orgs().CreateGroup(As(ann), a, " "), Reason::kInvalidName);
    ENTITLE_REQUIRE_REFUSED(f.orgs().AddToGroup(As(ann), a, *g, out),
                            StatusCode::kNotFound, Reason::kNotMember);
    REQUIRE_REASON(f.orgs().AddToGroup(As(ann), a, *g, bob),
                   Reason::kAlreadyMember);
    // Another organization's group is not this one's.
    REQUIRE_REASON(f.orgs().AddToGroup(As(ann), a, *gb, bob),
                   Reason::kNotFound);
    REQUIRE_REASON(f.orgs().DeleteGroup(As(ann), a, *gb), Reason::kNotFound);
    f.RequireUnchanged(before);
  }
  auto listed = f.orgs().ListGroupMembers(As(ann), a, *g);
  ENTITLE_REQUIRE_OK(listed);
  std::vector<IdentityId> expected{bob, xu};
  std::sort(expected.begin(), expected.end());
  std::vector<IdentityId> got = *listed;
  std::sort(got.begin(), got.end());
  CHECK(got == expected);

  ENTITLE_REQUIRE_OK(f.orgs().RemoveFromGroup(As(ann), a, *g, xu));
  {
    auto before = f.Freeze();
    REQUIRE_REASON(f.orgs().RemoveFromGroup(As(ann), a, *g, xu),
                   Reason::kNotMember);
    f.RequireUnchanged(before);
  }
  listed = f.orgs().ListGroupMembers(As(ann), a, *g);
  ENTITLE_REQUIRE_OK(listed);
  CHECK(*listed == std::vector<IdentityId>{bob});

  // Entitlement groups: pool access given to the group.
  const EntitlementId ent = f.Insert(MakeEntitlement(a));
  const PoolGrantId grant = f.Insert(MakeGroupPoolGrant(ent, *g));
  const PoolGrantId other_grant = f.Insert(MakeGroupPoolGrant(ent, *other));
  ENTITLE_REQUIRE_OK(f.orgs().DeleteGroup(As(ann), a, *g));
  auto grants = f.template All<PoolGrantRecord>();
  REQUIRE(grants.size() == 1);
  CHECK(grants[0].id == other_grant);
  CHECK(grants[0].id != grant);
  CHECK(f.template All<GroupMemberRecord>(GroupMemberFilter{.group_id = *g})
            .empty());
  CHECK(f.template All<GroupRecord>(GroupFilter{.organization_id = a}).size() ==
        1);
  // bob's other group place and membership stay.
  CHECK(f.template All<GroupMemberRecord>(GroupMemberFilter{.group_id = *other})
            .size() == 1);
  CHECK(f.Membership(a, bob).has_value());
  // The name is free again.
  ENTITLE_REQUIRE_OK(f.orgs().CreateGroup(As(ann), a, "Designers"));
}

// ------------------------------------------------------------------- ORG-9

// clang-format off
TEMPLATE_TEST_CASE("ORG-9 domains are claimed, verified by their DNS record, "
                   "owned by one organization, and public mail domains cannot "
                   "be claimed",
    "[organizations]", ENTITLE_BACKENDS) {
  // clang-format on
  OrganizationPolicy policy;
  policy.public_mail_domains.push_back("CorpMail.Example");
  DirectoryFixture<TestType> f({.organization_policy = policy});
  const IdentityId ann = f.RegisterVerified("ann@acme.com");
  const IdentityId bea = f.RegisterVerified("bea@beta.com");
  const OrganizationId a = f.CreateOrg("Acme", ann);
  const OrganizationId b = f.CreateOrg("Beta", bea);

  auto claim = f.orgs().ClaimDomain(As(ann), a, "  Acme.COM ");
  ENTITLE_REQUIRE_OK(claim);
  CHECK(claim->name == "acme.com");
  CHECK(claim->verification_token.size() >= 16);
  CHECK(claim->record_name == "_entitle-challenge.acme.com");
  CHECK(claim->record_value ==
        "entitle-domain-verification=" + claim->verification_token);
  auto domains = f.orgs().ListDomains(As(ann), a);
  ENTITLE_REQUIRE_OK(domains);
  REQUIRE(domains->size() == 1);
  CHECK((*domains)[0].status == DomainStatus::kPending);
  CHECK_FALSE((*domains)[0].verified_at.has_value());
  // The token is stored only as a hash.
  auto stored = f.template All<DomainRecord>();
  REQUIRE(stored.size() == 1);
  CHECK(stored[0].verification_token_hash != claim->verification_token);
  CHECK(stored[0].verification_token_hash.find(claim->verification_token) ==
        std::string::npos);

  {
    auto before = f.Freeze();
    // Nothing published yet, then only records that do not carry the token.
    REQUIRE_REASON(f.orgs().VerifyDomain(As(ann), a, claim->id),
                   Reason::kDomainProofMissing);
    std::string altered = claim->verification_token;
    altered.back() = altered.back() == 'A' ? 'B' : 'A';
    f.dns().Publish(claim->record_name,
                    "entitle-domain-verification=" + altered);
    f.dns().Publish(claim->record_name, "entitle-domain-verification=");
    f.dns().Publish(claim->record_name, claim->verification_token);
    f.dns().Publish("acme.com", claim->record_value);
    REQUIRE_REASON(f.orgs().VerifyDomain(As(ann), a, claim->id),
                   Reason::kDomainProofMissing);
    // B cannot verify A's claim.
    REQUIRE_REASON(f.orgs().VerifyDomain(As(bea), b, claim->id),
                   Reason::kNotFound);
    REQUIRE_REASON(f.orgs().ClaimDomain(As(ann), a, "acme.com"),
                   Reason::kDuplicate);
    for (const char* d : {"gmail.com", "GMail.COM", "hotmail.com",
                          "corpmail.example", "CORPMAIL.example"}) {
      INFO("domain " << d);
      REQUIRE_REASON(f.orgs().ClaimDomain(As(ann), a, d),
                     Reason::kPublicMailDomain);
    }
    REQUIRE_REASON(f.orgs().ClaimDomain(As(ann), a, "not a domain"),
                   Reason::kInvalidArgument);
    f.RequireUnchanged(before);
  }
  f.clock().Advance(absl::Minutes(3));
  f.dns().Publish(claim->record_name, claim->record_value);
  ENTITLE_REQUIRE_OK(f.orgs().VerifyDomain(As(ann), a, claim->id));
  domains = f.orgs().ListDomains(As(ann), a);
  ENTITLE_REQUIRE_OK(domains);
  REQUIRE(domains->size() == 1);
  CHECK((*domains)[0].status == DomainStatus::kVerified);
  CHECK((*domains)[0].verified_at ==
        std::optional<absl::Time>(f.clock().Now()));

  // Owned by A: B cannot claim it.
  {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.orgs().ClaimDomain(As(bea), b, "acme.com"),
                            StatusCode::kFailedPrecondition,
                            Reason::kDomainOwnedElsewhere);
    REQUIRE_REASON(f.orgs().ClaimDomain(As(bea), b, "ACME.com."),
                   Reason::kDomainOwnedElsewhere);
    f.RequireUnchanged(before);
  }

  // Both pending, then both verify: the second loses.
  auto ca = f.orgs().ClaimDomain(As(ann), a, "shared.io");
  auto cb = f.orgs().ClaimDomain(As(bea), b, "shared.io");
  ENTITLE_REQUIRE_OK(ca);
  ENTITLE_REQUIRE_OK(cb);
  REQUIRE(ca->record_name == cb->record_name);
  f.dns().Publish(ca->record_name, ca->record_value);
  f.dns().Publish(cb->record_name, cb->record_value);
  ENTITLE_REQUIRE_OK(f.orgs().VerifyDomain(As(bea), b, cb->id));
  {
    auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.orgs().VerifyDomain(As(ann), a, ca->id),
                            StatusCode::kFailedPrecondition,
                            Reason::kDomainOwnedElsewhere);
    f.RequireUnchanged(before);
  }
  CHECK(
      f.template All<DomainRecord>(
           DomainFilter{.name = "shared.io", .status = DomainStatus::kVerified})
          .size() == 1);

  // Once B gives the domain up, A's pending claim can be verified.
  ENTITLE_REQUIRE_OK(f.orgs().RemoveDomain(As(bea), b, cb->id));
  ENTITLE_REQUIRE_OK(f.orgs().VerifyDomain(As(ann), a, ca->id));
  auto owners = f.template All<DomainRecord>(
      DomainFilter{.name = "shared.io", .status = DomainStatus::kVerified});
  REQUIRE(owners.size() == 1);
  CHECK(owners[0].organization_id == a);
}

// clang-format off
TEMPLATE_TEST_CASE("ORG-9 the host's list replaces nothing: other domains stay "
                   "claimable",
    "[organizations]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType>
      f;  // Default policy: corpmail.example is not public.
  const IdentityId ann = f.RegisterVerified("ann@acme.com");
  const OrganizationId a = f.CreateOrg("Acme", ann);
  ENTITLE_REQUIRE_OK(f.orgs().ClaimDomain(As(ann), a, "corpmail.example"));
  REQUIRE_REASON(f.orgs().ClaimDomain(As(ann), a, "gmail.com"),
                 Reason::kPublicMailDomain);
}

// ------------------------------------------------------------------ ORG-10

// clang-format off
TEMPLATE_TEST_CASE("ORG-10 a direct employee add is refused with a distinct "
                   "code for each reason, and allowed for the organization's "
                   "verified domain",
    "[organizations]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId ann = f.RegisterVerified("ann@acme.com");
  const IdentityId bea = f.RegisterVerified("bea@beta.com");
  const OrganizationId a = f.CreateOrg("Acme", ann);
  const OrganizationId b = f.CreateOrg("Beta", bea);
  f.OwnDomain(a, "acme.com");
  f.OwnDomain(b, "beta.com");
  ENTITLE_REQUIRE_OK(f.orgs().ClaimDomain(As(ann), a, "pending.io"));

  // eve: an @acme.com employee of a third organization.
  const IdentityId eve = f.RegisterVerified("eve@acme.com");
  f.CreateOrg("Cee", eve);
  f.RegisterVerified("dan@beta.com");
  const IdentityId pat = f.RegisterVerified("pat@pending.io");
  f.RegisterVerified("nora@nowhere.org");
  const IdentityId al = f.RegisterVerified("al@acme.com");

  std::set<int> reasons;
  auto refused = [&](const char* email, Reason reason) {
    INFO("adding " << email);
    auto before = f.Freeze();
    const absl::Status s = f.orgs().AddEmployee(As(ann), a, email);
    REQUIRE_REASON(s, reason);
    CHECK(s.code() != StatusCode::kOk);
    f.RequireUnchanged(before);
    reasons.insert(static_cast<int>(GetReason(s)));
  };
  refused("eve@acme.com", Reason::kEmployeeElsewhere);
  refused("dan@beta.com", Reason::kDomainOwnedElsewhere);
  refused("pat@pending.io", Reason::kDomainPending);
  refused("nora@nowhere.org", Reason::kDomainNotOwned);
  CHECK(reasons.size() == 4);
  refused("ghost@acme.com", Reason::kUnknownUser);
  refused("not-an-address", Reason::kInvalidEmail);

  // A claim pending in another organization is pending too.
  ENTITLE_REQUIRE_OK(f.orgs().ClaimDomain(As(bea), b, "nowhere.org"));
  refused("nora@nowhere.org", Reason::kDomainPending);

  // The same checks guard the upgrade of an external member.
  ENTITLE_REQUIRE_OK(f.orgs().AddExternal(As(ann), a, "pat@pending.io"));
  {
    auto before = f.Freeze();
    REQUIRE_REASON(f.orgs().ChangeMembershipKind(As(ann), a, pat,
                                                 MembershipKind::kEmployee),
                   Reason::kDomainPending);
    f.RequireUnchanged(before);
  }
  ENTITLE_REQUIRE_OK(f.orgs().AddExternal(As(ann), a, "eve@acme.com"));
  {
    auto before = f.Freeze();
    REQUIRE_REASON(f.orgs().ChangeMembershipKind(As(ann), a, eve,
                                                 MembershipKind::kEmployee),
                   Reason::kEmployeeElsewhere);
    f.RequireUnchanged(before);
  }

  // Allowed when the organization owns the verified domain.
  ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(ann), a, "AL@acme.com"));
  CHECK(f.Membership(a, al)->kind == MembershipKind::kEmployee);
}

// ------------------------------------------------------------------ ORG-11

// clang-format off
TEMPLATE_TEST_CASE("ORG-11 discovery shows only discoverable organizations "
                   "owning the identity's verified email domain",
    "[organizations]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId ann = f.RegisterVerified("ann@acme.com");
  const IdentityId bea = f.RegisterVerified("bea@beta.com");
  const IdentityId cy = f.RegisterVerified("cy@cee.org");
  const OrganizationId a = f.CreateOrg("Acme", ann);
  const OrganizationId b = f.CreateOrg("Beta", bea);
  const OrganizationId c = f.CreateOrg("Cee", cy);
  // C is discoverable and has only a pending claim on acme.com (made before
  // A verified it).
  ENTITLE_REQUIRE_OK(f.orgs().ClaimDomain(As(cy), c, "acme.com"));
  f.OwnDomain(a, "acme.com");
  f.OwnDomain(b, "beta.com");
  ENTITLE_REQUIRE_OK(f.orgs().UpdateSettings(As(ann), a, Discoverable(true)));
  ENTITLE_REQUIRE_OK(f.orgs().UpdateSettings(As(cy), c, Discoverable(true)));

  const IdentityId uma = f.RegisterVerified("uma@acme.com");
  const IdentityId vic = f.RegisterVerified("vic@beta.com");
  const IdentityId xi = f.RegisterVerified("xi@other.com");
  const IdentityId wes = f.InsertIdentity("wes@acme.com", /*verified=*/false);

  auto found = f.orgs().Discover(As(uma));
  ENTITLE_REQUIRE_OK(found);
  REQUIRE(found->size() == 1);
  CHECK((*found)[0].id == a);
  CHECK((*found)[0].name == "Acme");

  found = f.orgs().Discover(As(vic));
  ENTITLE_REQUIRE_OK(found);
  CHECK(found->empty());
  ENTITLE_REQUIRE_OK(f.orgs().UpdateSettings(As(bea), b, Discoverable(true)));
  found = f.orgs().Discover(As(vic));
  ENTITLE_REQUIRE_OK(found);
  REQUIRE(found->size() == 1);
  CHECK((*found)[0].id == b);

  found = f.orgs().Discover(As(xi));
  ENTITLE_REQUIRE_OK(found);
  CHECK(found->empty());

  REQUIRE_REASON(f.orgs().Discover(As(wes)), Reason::kNotVerified);
  ENTITLE_REQUIRE_REFUSED(f.orgs().Discover(kAnon),
                          StatusCode::kPermissionDenied,
                          Reason::kPermissionDenied);

  // Turning discovery off hides it again.
  ENTITLE_REQUIRE_OK(f.orgs().UpdateSettings(As(ann), a, Discoverable(false)));
  found = f.orgs().Discover(As(uma));
  ENTITLE_REQUIRE_OK(found);
  CHECK(found->empty());
}

// ------------------------------------------------------------------ ORG-12

// clang-format off
TEMPLATE_TEST_CASE("ORG-12 every change appends an audit record; admins list "
                   "it by actor, action and time, page by page",
    "[organizations]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId ann = f.RegisterVerified("ann@acme.com");
  const absl::Time t_create = f.clock().Now();
  const OrganizationId a = f.CreateOrg("Acme", ann);
  const IdentityId bob = f.RegisterVerified("bob@acme.com");
  const IdentityId xu = f.RegisterVerified("xu@freelance.net");
  const IdentityId vic = f.RegisterVerified("vic@acme.com");

  // Each successful change appends records stamped now, with the actor, an
  // action, a target and outcome "ok".
  struct Step {
    const char* name;
    Actor actor;
    std::function<absl::Status()> run;
    const char* action;  // The action one of the new records must have.
    std::string target;  // Its target, when known ("" to skip).
  };
  std::optional<DomainClaim> claim;
  std::optional<GroupId> group;
  std::optional<RoleId> viewer;
  std::vector<Step> steps = {
      {"claim domain", As(ann),
       [&] {
         auto c = f.orgs().ClaimDomain(As(ann), a, "acme.com");
         if (c.ok()) claim = *c;
         return c.status();
       },
       "domain.claim", ""},
      {"verify domain", As(ann),
       [&] {
         f.dns().Publish(claim->record_name, claim->record_value);
         return f.orgs().VerifyDomain(As(ann), a, claim->id);
       },
       "domain.verify", ""},
      {"add employee", As(ann),
       [&] { return f.orgs().AddEmployee(As(ann), a, "bob@acme.com"); },
       "membership.add", Target(bob)},
      {"add external", As(ann),
       [&] { return f.orgs().AddExternal(As(ann), a, "xu@freelance.net"); },
       "membership.add", Target(xu)},
      {"add employee vic", As(ann),
       [&] { return f.orgs().AddEmployee(As(ann), a, "vic@acme.com"); },
       "membership.add", Target(vic)},
      {"grant role", As(ann),
       [&] { return f.orgs().GrantRole(As(ann), a, bob, f.AdminRole(a)); },
       "role.grant", Target(bob)},
      {"create role", As(bob),
       [&] {
         auto r = f.orgs().CreateRole(As(bob), a, "Viewer", kViewUsage);
         if (r.ok()) viewer = *r;
         return r.status();
       },
       "role.create", ""},
      {"grant viewer", As(bob),
       [&] { return f.orgs().GrantRole(As(bob), a, vic, *viewer); },
       "role.grant", Target(vic)},
      {"create group", As(bob),
       [&] {
         auto g = f.orgs().CreateGroup(As(bob), a, "Crew");
         if (g.ok()) group = *g;
         return g.status();
       },
       "group.create", ""},
      {"add to group", As(bob),
       [&] { return f.orgs().AddToGroup(As(bob), a, *group, xu); }, "group.add",
       Target(xu)},
      {"remove from group", As(bob),
       [&] { return f.orgs().RemoveFromGroup(As(bob), a, *group, xu); },
       "group.remove", Target(xu)},
      {"delete group", As(bob),
       [&] { return f.orgs().DeleteGroup(As(bob), a, *group); }, "group.delete",
       ""},
      {"settings", As(ann),
       [&] { return f.orgs().UpdateSettings(As(ann), a, Discoverable(true)); },
       "organization.settings", ""},
      {"operator settings", kOp,
       [&] {
         return f.orgs().UpdateOperatorSettings(
             kOp, a, MaintenanceUntil(f.clock().Now() + absl::Hours(100)));
       },
       "organization.operator-settings", ""},
      {"downgrade", As(ann),
       [&] {
         return f.orgs().ChangeMembershipKind(As(ann), a, bob,
                                              MembershipKind::kExternal);
       },
       "membership.downgrade", Target(bob)},
      {"upgrade", As(ann),
       [&] {
         return f.orgs().ChangeMembershipKind(As(ann), a, bob,
                                              MembershipKind::kEmployee);
       },
       "membership.upgrade", Target(bob)},
      {"revoke viewer", As(ann),
       [&] { return f.orgs().RevokeRole(As(ann), a, vic, *viewer); },
       "role.revoke", Target(vic)},
      {"delete role", As(ann),
       [&] { return f.orgs().DeleteRole(As(ann), a, *viewer); }, "role.delete",
       ""},
      {"remove member", As(ann),
       [&] { return f.orgs().RemoveMember(As(ann), a, xu); }, "membership.end",
       Target(xu)},
      {"remove domain", As(ann),
       [&] { return f.orgs().RemoveDomain(As(ann), a, claim->id); },
       "domain.remove", ""},
  };
  for (const Step& step : steps) {
    INFO("step: " << step.name);
    f.clock().Advance(absl::Minutes(1));
    const auto before = f.template All<AuditRecord>();
    ENTITLE_REQUIRE_OK(step.run());
    const auto after = f.template All<AuditRecord>();
    REQUIRE(after.size() > before.size());
    REQUIRE(std::equal(before.begin(), before.end(), after.begin()));
    bool found = false;
    for (size_t i = before.size(); i < after.size(); ++i) {
      const AuditRecord& r = after[i];
      CHECK(r.at == f.clock().Now());
      CHECK(r.outcome == "ok");
      CHECK(r.organization_id == std::optional<OrganizationId>(a));
      CHECK(r.actor_id == step.actor.audit_id());
      CHECK_FALSE(r.action.empty());
      CHECK_FALSE(r.target.empty());
      if (r.action == step.action &&
          (step.target.empty() || r.target == step.target)) {
        found = true;
      }
    }
    CHECK(found);
  }

  // The creation itself, by the operator.
  auto all = f.orgs().ListAudit(As(ann), a, {}, PageRequest{});
  ENTITLE_REQUIRE_OK(all);
  REQUIRE_FALSE(all->items.empty());
  CHECK(all->items.front().action == "organization.create");
  CHECK(all->items.front().at == t_create);
  CHECK_FALSE(all->items.front().actor_id.has_value());
  const std::vector<AuditRecord> everything = all->items;
  for (size_t i = 1; i < everything.size(); ++i) {
    CHECK(everything[i - 1].id < everything[i].id);
    CHECK(everything[i - 1].at <= everything[i].at);
  }
  for (const AuditRecord& r : everything) {
    CHECK(r.organization_id == std::optional<OrganizationId>(a));
  }

  SECTION("filter by actor") {
    AuditQuery q;
    q.actor = bob;
    auto page = f.orgs().ListAudit(As(ann), a, q, PageRequest{});
    ENTITLE_REQUIRE_OK(page);
    size_t expected = 0;
    for (const AuditRecord& r : everything) {
      if (r.actor_id == std::optional<IdentityId>(bob)) ++expected;
    }
    CHECK(expected >= 6);
    CHECK(page->items.size() == expected);
    for (const AuditRecord& r : page->items) {
      CHECK(r.actor_id == std::optional<IdentityId>(bob));
    }
  }
  SECTION("filter by action") {
    AuditQuery q;
    q.action = "membership.add";
    auto page = f.orgs().ListAudit(As(ann), a, q, PageRequest{});
    ENTITLE_REQUIRE_OK(page);
    // ann at creation, bob, xu, vic.
    REQUIRE(page->items.size() == 4);
    for (const AuditRecord& r : page->items)
      CHECK(r.action == "membership.add");
  }
  SECTION("filter by time range, since inclusive and until exclusive") {
    AuditQuery q;
    q.since = t_create + absl::Minutes(3);
    q.until = t_create + absl::Minutes(6);
    auto page = f.orgs().ListAudit(As(ann), a, q, PageRequest{});
    ENTITLE_REQUIRE_OK(page);
    size_t expected = 0;
    for (const AuditRecord& r : everything) {
      if (r.at >= *q.since && r.at < *q.until) ++expected;
    }
    CHECK(expected == 3);
    REQUIRE(page->items.size() == expected);
    for (const AuditRecord& r : page->items) {
      CHECK(r.at >= *q.since);
      CHECK(r.at < *q.until);
    }
  }
  SECTION("pages in order") {
    std::vector<AuditRecord> paged;
    PageRequest page{.offset = 0, .limit = 3};
    for (int guard = 0; guard < 100; ++guard) {
      auto got = f.orgs().ListAudit(As(ann), a, {}, page);
      ENTITLE_REQUIRE_OK(got);
      paged.insert(paged.end(), got->items.begin(), got->items.end());
      if (!got->has_more) break;
      CHECK(got->items.size() == 3);
      page.offset += page.limit;
    }
    CHECK(paged == everything);
  }
  SECTION("only members with kViewUsage may read it") {
    const IdentityId pia = f.RegisterVerified("pia@acme.com");
    f.OwnDomain(a, "acme.com");  // Removed by the last step above.
    ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(ann), a, "pia@acme.com"));
    ENTITLE_REQUIRE_OK(f.orgs().AddExternal(As(ann), a, "xu@freelance.net"));
    const IdentityId bea = f.RegisterVerified("bea@beta.com");
    f.CreateOrg("Beta", bea);
    auto before = f.Freeze();
    for (const Actor& actor : {As(pia), As(xu), As(bea), kAnon}) {
      INFO("actor " << actor);
      ENTITLE_REQUIRE_REFUSED(f.orgs().ListAudit(actor, a, {}, PageRequest{}),
                              StatusCode::kPermissionDenied,
                              Reason::kPermissionDenied);
    }
    f.RequireUnchanged(before);
    ENTITLE_REQUIRE_OK(f.orgs().ListAudit(kOp, a, {}, PageRequest{}));
  }
  SECTION("a refused change appends nothing") {
    auto before = f.Freeze();
    REQUIRE_REASON(f.orgs().RemoveMember(As(ann), a, xu), Reason::kNotMember);
    REQUIRE_REASON(f.orgs().AddExternal(As(vic), a, "xu@freelance.net"),
                   Reason::kPermissionDenied);
    f.RequireUnchanged(before);
  }
}

// ---------------------------------------- ORG-4 through Identities::Delete
//
// Kept last in the file: it goes through the identities service, so a failure
// there cannot hide the organization rules above.

// clang-format off
TEMPLATE_TEST_CASE("ORG-4 the last administrator cannot delete its identity; "
                   "with another administrator it can, and its memberships end",
    "[organizations][identities]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId ann = f.RegisterVerified("ann@acme.com");
  const OrganizationId a = f.CreateOrg("Acme", ann);
  f.OwnDomain(a, "acme.com");
  const IdentityId bob = f.RegisterVerified("bob@acme.com");
  const IdentityId bea = f.RegisterVerified("bea@beta.com");
  const OrganizationId b = f.CreateOrg("Beta", bea);
  ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(As(ann), a, "bob@acme.com"));
  ENTITLE_REQUIRE_OK(f.orgs().AddExternal(As(bea), b, "ann@acme.com"));

  {
    auto before = f.Freeze();
    REQUIRE_REASON(f.ids().Delete(kOp, ann), Reason::kLastAdministrator);
    REQUIRE_REASON(f.ids().Delete(As(ann), ann), Reason::kLastAdministrator);
    f.RequireUnchanged(before);
  }
  ENTITLE_REQUIRE_OK(f.orgs().GrantRole(As(ann), a, bob, f.AdminRole(a)));
  f.events().Clear();
  ENTITLE_REQUIRE_OK(f.ids().Delete(As(ann), ann));
  CHECK(f.template All<MembershipRecord>(MembershipFilter{.identity_id = ann})
            .empty());
  CHECK(f.template All<RoleGrantRecord>(RoleGrantFilter{.identity_id = ann})
            .empty());
  auto changes = f.Changes();
  REQUIRE(changes.size() == 1);
  CHECK(changes[0] ==
        EmployeeOrganizationChanged{ann, a, std::nullopt, f.clock().Now()});
  // bob is now the last administrator of A.
  auto before = f.Freeze();
  REQUIRE_REASON(f.ids().Delete(kOp, bob), Reason::kLastAdministrator);
  f.RequireUnchanged(before);
}

}  // namespace
}  // namespace entitle_test
