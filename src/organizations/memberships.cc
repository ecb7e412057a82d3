#include "organizations/memberships.h"

#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "entitle/events.h"
#include "entitle/status.h"
#include "service/authorization.h"

namespace entitle::internal {

absl::StatusOr<std::optional<MembershipRecord>> FindMembership(
    Transaction& tx, OrganizationId organization, IdentityId identity) {
  absl::StatusOr<MembershipRecord> membership =
      tx.memberships().Get(MembershipKey{organization, identity});
  if (membership.ok()) return *std::move(membership);
  if (GetReason(membership.status()) == Reason::kNotFound) return std::nullopt;
  return membership.status();
}

absl::Status RefuseLastAdministrator(Transaction& tx,
                                     OrganizationId organization,
                                     IdentityId identity) {
  ENTITLE_ASSIGN_OR_RETURN(bool last,
                           IsLastAdministrator(tx, organization, identity));
  if (!last) return absl::OkStatus();
  return MakeError(absl::StatusCode::kFailedPrecondition,
                   Reason::kLastAdministrator,
                   "This is the organization's last administrator who is not "
                   "locked. Make another employee an administrator first.");
}

absl::Status RefuseLockingLastAdministrator(Transaction& tx,
                                            IdentityId identity) {
  ENTITLE_ASSIGN_OR_RETURN(std::set<OrganizationId> organizations,
                           AdministeredBy(tx, identity));
  for (const OrganizationId organization : organizations) {
    ENTITLE_ASSIGN_OR_RETURN(bool last,
                             IsLastAdministrator(tx, organization, identity));
    if (!last) continue;
    return MakeError(absl::StatusCode::kFailedPrecondition,
                     Reason::kLastAdministrator,
                     "This is the last administrator of its organization who "
                     "is not locked, and a locked administrator cannot "
                     "administer. Make another employee an administrator "
                     "first.");
  }
  return absl::OkStatus();
}

absl::Status RevokeRoles(Transaction& tx, OrganizationId organization,
                         IdentityId identity) {
  return DeleteAll(
      tx.role_grants(),
      RoleGrantFilter{.organization_id = organization, .identity_id = identity},
      [](const RoleGrantRecord& r) {
        return RoleGrantKey{r.organization_id, r.identity_id, r.role_id};
      });
}

absl::Status EndMembership(Operation& op, const Actor& actor,
                           OrganizationId organization, IdentityId identity,
                           std::optional<OrganizationId> next_employer,
                           bool publish) {
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(std::optional<MembershipRecord> membership,
                           FindMembership(tx, organization, identity));
  if (!membership.has_value()) {
    return MakeError(absl::StatusCode::kNotFound, Reason::kNotMember,
                     "This identity is not a member of the organization.");
  }
  ENTITLE_RETURN_IF_ERROR(RefuseLastAdministrator(tx, organization, identity));
  // SEC-3: an actor that is neither the identity nor one of the
  // organization's members (the administrator of a new employer, ORG-2, or
  // of the employer deleting the identity, ID-13) stays out of this
  // organization's trail.
  bool from_outside = false;
  if (actor.is_identity() && actor.identity() != identity) {
    ENTITLE_ASSIGN_OR_RETURN(
        std::optional<MembershipRecord> own,
        FindMembership(tx, organization, actor.identity()));
    from_outside = !own.has_value();
  }
  ENTITLE_RETURN_IF_ERROR(RevokeRoles(tx, organization, identity));
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<GroupRecord> groups,
      ListAll(tx.groups(), GroupFilter{.organization_id = organization}));
  for (const GroupRecord& group : groups) {
    absl::Status s =
        tx.group_members().Delete(GroupMemberKey{group.id, identity});
    if (!s.ok() && GetReason(s) != Reason::kNotFound) return s;
  }
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<EntitlementRecord> entitlements,
      ListAll(tx.entitlements(),
              EntitlementFilter{.organization_id = organization}));
  for (const EntitlementRecord& entitlement : entitlements) {
    absl::Status s = tx.license_assignments().Delete(
        LicenseAssignmentKey{entitlement.id, identity});
    if (!s.ok() && GetReason(s) != Reason::kNotFound) return s;
    ENTITLE_RETURN_IF_ERROR(
        DeleteAll(tx.pool_grants(),
                  PoolGrantFilter{.entitlement_id = entitlement.id,
                                  .identity_id = identity},
                  [](const PoolGrantRecord& r) { return r.id; }));
  }
  ENTITLE_RETURN_IF_ERROR(
      DeleteAll(tx.project_members(),
                ProjectMemberFilter{.identity_id = identity,
                                    .organization_id = organization},
                [](const ProjectMemberRecord& r) {
                  return ProjectMemberKey{r.project_id, r.identity_id};
                }));
  ENTITLE_RETURN_IF_ERROR(
      tx.memberships().Delete(MembershipKey{organization, identity}));
  const bool was_employee = membership->kind == MembershipKind::kEmployee;
  const char* was = was_employee ? "employee" : "external";
  if (from_outside) {
    op.AuditFromOutside(organization, "membership.end", AuditTarget(identity),
                        was);
  } else {
    op.Audit(actor, organization, "membership.end", AuditTarget(identity), was);
  }
  if (was_employee && publish) {
    op.Publish(EmployeeOrganizationChanged{identity, organization,
                                           next_employer, op.now()});
  }
  // ORG-5: its seats in the organization's pools go once the removal is
  // committed (the pools live in memory, not in the store).
  op.AfterCommit([&context = op.context(), organization, identity] {
    if (context.seats != nullptr) {
      context.seats->ReleaseIdentityIn(organization, identity);
    }
  });
  return absl::OkStatus();
}

absl::Status BecomeEmployee(Operation& op, const Actor& actor,
                            OrganizationId organization, IdentityId identity,
                            MembershipStatus status) {
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(std::optional<OrganizationId> previous,
                           EmployerOf(tx, identity));
  if (previous == organization) {
    return MakeError(absl::StatusCode::kAlreadyExists, Reason::kAlreadyMember,
                     "This identity is already an employee of the "
                     "organization.");
  }
  if (previous.has_value()) {
    ENTITLE_RETURN_IF_ERROR(EndMembership(op, actor, *previous, identity,
                                          organization, /*publish=*/false));
  }
  ENTITLE_ASSIGN_OR_RETURN(std::optional<MembershipRecord> membership,
                           FindMembership(tx, organization, identity));
  const std::string target = AuditTarget(identity);
  if (membership.has_value()) {
    MembershipRecord upgraded = *membership;
    upgraded.kind = MembershipKind::kEmployee;
    ENTITLE_RETURN_IF_ERROR(tx.memberships().Update(upgraded));
    op.Audit(actor, organization, "membership.upgrade", target,
             "external to employee");
  } else {
    MembershipRecord added;
    added.organization_id = organization;
    added.identity_id = identity;
    added.kind = MembershipKind::kEmployee;
    added.status = status;
    added.created_at = op.now();
    ENTITLE_RETURN_IF_ERROR(tx.memberships().Insert(added));
    op.Audit(actor, organization, "membership.add", target, "employee");
  }
  op.Publish(
      EmployeeOrganizationChanged{identity, previous, organization, op.now()});
  return absl::OkStatus();
}

absl::Status CheckDirectEmployeeAdd(Transaction& tx,
                                    OrganizationId organization,
                                    const IdentityRecord& identity) {
  ENTITLE_ASSIGN_OR_RETURN(std::optional<OrganizationId> employer,
                           EmployerOf(tx, identity.id));
  if (employer.has_value() && *employer != organization) {
    return MakeError(absl::StatusCode::kFailedPrecondition,
                     Reason::kEmployeeElsewhere,
                     "This user is already an employee of another "
                     "organization. Invite the user instead.");
  }
  const std::string domain(identity.email.domain());
  ENTITLE_ASSIGN_OR_RETURN(std::vector<DomainRecord> claims,
                           ListAll(tx.domains(), DomainFilter{.name = domain}));
  bool owned_here = false, pending = false;
  for (const DomainRecord& claim : claims) {
    if (claim.status == DomainStatus::kVerified) {
      if (claim.organization_id != organization) {
        return MakeError(absl::StatusCode::kFailedPrecondition,
                         Reason::kDomainOwnedElsewhere,
                         absl::StrCat("The email domain ", domain,
                                      " is owned by another organization."));
      }
      owned_here = true;
    } else {
      pending = true;
    }
  }
  if (owned_here) return absl::OkStatus();
  if (pending) {
    return MakeError(absl::StatusCode::kFailedPrecondition,
                     Reason::kDomainPending,
                     absl::StrCat("The ownership of the email domain ", domain,
                                  " is pending verification."));
  }
  return MakeError(absl::StatusCode::kFailedPrecondition,
                   Reason::kDomainNotOwned,
                   absl::StrCat("The email domain ", domain,
                                " is not one of the organization's domains. "
                                "Invite the user instead."));
}

}  // namespace entitle::internal
