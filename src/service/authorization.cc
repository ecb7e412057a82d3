#include "service/authorization.h"

#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "base/string_view.h"
#include "entitle/status.h"
#include "service/operation.h"

namespace entitle::internal {

absl::Status PermissionDenied(std::string_view what) {
  return MakeError(
      absl::StatusCode::kPermissionDenied, Reason::kPermissionDenied,
      absl::StrCat("You do not have permission to ", AbslView(what), "."));
}

absl::StatusOr<OperationIn> BeginIn(ServiceContext& context, const Actor& actor,
                                    OrganizationId organization,
                                    uint32_t permission) {
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context));
  ENTITLE_ASSIGN_OR_RETURN(
      OrganizationRecord record,
      AuthorizeIn(op.tx(), actor, organization, permission));
  return OperationIn{std::move(op), std::move(record)};
}

absl::StatusOr<uint32_t> PermissionsIn(Transaction& tx,
                                       OrganizationId organization,
                                       IdentityId identity) {
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<RoleGrantRecord> grants,
      ListAll(tx.role_grants(), RoleGrantFilter{.organization_id = organization,
                                                .identity_id = identity}));
  uint32_t permissions = 0;
  for (const RoleGrantRecord& grant : grants) {
    ENTITLE_ASSIGN_OR_RETURN(RoleRecord role, tx.roles().Get(grant.role_id));
    permissions |= role.permissions;
  }
  return permissions;
}

absl::Status RequirePermission(Transaction& tx, const Actor& actor,
                               OrganizationId organization,
                               uint32_t permission) {
  if (actor.is_operator()) return absl::OkStatus();
  const absl::Status denied = PermissionDenied("do this in this organization");
  if (!actor.is_identity()) return denied;
  absl::StatusOr<IdentityRecord> identity =
      tx.identities().Get(actor.identity());
  if (!identity.ok()) {
    return GetReason(identity.status()) == Reason::kNotFound
               ? denied
               : identity.status();
  }
  if (identity->locked) return denied;
  absl::StatusOr<MembershipRecord> membership =
      tx.memberships().Get(MembershipKey{organization, actor.identity()});
  if (!membership.ok()) {
    return GetReason(membership.status()) == Reason::kNotFound
               ? denied
               : membership.status();
  }
  if (membership->status != MembershipStatus::kActive) return denied;
  ENTITLE_ASSIGN_OR_RETURN(uint32_t permissions,
                           PermissionsIn(tx, organization, actor.identity()));
  if ((permissions & permission) != permission) return denied;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<OrganizationId>> EmployerOf(Transaction& tx,
                                                         IdentityId identity) {
  ENTITLE_ASSIGN_OR_RETURN(
      std::optional<MembershipRecord> employee,
      FindFirst(tx.memberships(),
                MembershipFilter{.identity_id = identity,
                                 .kind = MembershipKind::kEmployee}));
  if (!employee.has_value()) return std::nullopt;
  return employee->organization_id;
}

absl::Status RequireSelfOrAdmin(Transaction& tx, const Actor& actor,
                                IdentityId target, uint32_t admin_permission) {
  if (actor.is_operator()) return absl::OkStatus();
  const absl::Status denied = PermissionDenied("act on this account");
  if (!actor.is_identity()) return denied;
  if (actor.identity() == target) {
    ENTITLE_ASSIGN_OR_RETURN(IdentityRecord self, tx.identities().Get(target));
    return self.locked ? denied : absl::OkStatus();
  }
  if (admin_permission == 0) return denied;
  ENTITLE_ASSIGN_OR_RETURN(std::optional<OrganizationId> employer,
                           EmployerOf(tx, target));
  if (!employer.has_value()) return denied;
  return RequirePermission(tx, actor, *employer, admin_permission);
}

absl::StatusOr<std::set<IdentityId>> Administrators(
    Transaction& tx, OrganizationId organization) {
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<RoleGrantRecord> grants,
      ListAll(tx.role_grants(),
              RoleGrantFilter{.organization_id = organization}));
  std::set<IdentityId> administrators;
  for (const RoleGrantRecord& grant : grants) {
    ENTITLE_ASSIGN_OR_RETURN(RoleRecord role, tx.roles().Get(grant.role_id));
    if (role.permissions & kManageAdministrators) {
      administrators.insert(grant.identity_id);
    }
  }
  return administrators;
}

absl::StatusOr<std::set<IdentityId>> UnlockedAdministrators(
    Transaction& tx, OrganizationId organization) {
  ENTITLE_ASSIGN_OR_RETURN(std::set<IdentityId> administrators,
                           Administrators(tx, organization));
  std::set<IdentityId> unlocked;
  for (const IdentityId id : administrators) {
    ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity, tx.identities().Get(id));
    if (!identity.locked) unlocked.insert(id);
  }
  return unlocked;
}

absl::StatusOr<bool> IsLastAdministrator(Transaction& tx,
                                         OrganizationId organization,
                                         IdentityId identity) {
  ENTITLE_ASSIGN_OR_RETURN(std::set<IdentityId> administrators,
                           Administrators(tx, organization));
  if (!administrators.contains(identity)) return false;
  for (const IdentityId other : administrators) {
    if (other == identity) continue;
    ENTITLE_ASSIGN_OR_RETURN(IdentityRecord record, tx.identities().Get(other));
    if (!record.locked) return false;
  }
  return true;
}

absl::StatusOr<std::set<OrganizationId>> AdministeredBy(Transaction& tx,
                                                        IdentityId identity) {
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<RoleGrantRecord> grants,
      ListAll(tx.role_grants(), RoleGrantFilter{.identity_id = identity}));
  std::set<OrganizationId> organizations;
  for (const RoleGrantRecord& grant : grants) {
    ENTITLE_ASSIGN_OR_RETURN(RoleRecord role, tx.roles().Get(grant.role_id));
    if (role.permissions & kManageAdministrators) {
      organizations.insert(grant.organization_id);
    }
  }
  return organizations;
}

namespace {

// SEC-2's check once `target` is known to be an administrator of
// `organization`.
absl::Status RequireToChangeAdministrator(Transaction& tx, const Actor& actor,
                                          OrganizationId organization,
                                          IdentityId target) {
  if (actor.is_operator()) return absl::OkStatus();
  if (actor.is_identity() && actor.identity() == target) {
    return absl::OkStatus();
  }
  absl::Status allowed =
      RequirePermission(tx, actor, organization, kManageAdministrators);
  if (GetReason(allowed) == Reason::kPermissionDenied) {
    return PermissionDenied(
        "change an administrator (that needs the permission to manage "
        "administrators)");
  }
  return allowed;
}

}  // namespace

absl::Status RequireAdministratorsPermissionIn(Transaction& tx,
                                               const Actor& actor,
                                               OrganizationId organization,
                                               IdentityId target) {
  if (actor.is_operator()) return absl::OkStatus();
  ENTITLE_ASSIGN_OR_RETURN(std::set<IdentityId> administrators,
                           Administrators(tx, organization));
  if (!administrators.contains(target)) return absl::OkStatus();
  return RequireToChangeAdministrator(tx, actor, organization, target);
}

absl::Status RequireAdministratorsPermission(Transaction& tx,
                                             const Actor& actor,
                                             IdentityId target) {
  if (actor.is_operator()) return absl::OkStatus();
  ENTITLE_ASSIGN_OR_RETURN(std::set<OrganizationId> organizations,
                           AdministeredBy(tx, target));
  for (const OrganizationId organization : organizations) {
    ENTITLE_RETURN_IF_ERROR(
        RequireToChangeAdministrator(tx, actor, organization, target));
  }
  return absl::OkStatus();
}

absl::StatusOr<OrganizationRecord> AuthorizeIn(Transaction& tx,
                                               const Actor& actor,
                                               OrganizationId organization,
                                               uint32_t permission) {
  absl::StatusOr<OrganizationRecord> record =
      tx.organizations().Get(organization);
  if (!record.ok()) {
    if (GetReason(record.status()) == Reason::kNotFound) {
      return MakeError(absl::StatusCode::kNotFound, Reason::kNotFound,
                       absl::StrCat("There is no organization #",
                                    organization.value(), "."));
    }
    return record.status();
  }
  ENTITLE_RETURN_IF_ERROR(
      RequirePermission(tx, actor, organization, permission));
  return record;
}

bool IsStoreFailure(const absl::Status& status) {
  switch (GetReason(status)) {
    case Reason::kStoreUnavailable:
    case Reason::kStoreCorrupt:
    case Reason::kTransactionFinished:
    case Reason::kReadOnlyTransaction:
    case Reason::kNone:
      return true;
    default:
      return false;
  }
}

}  // namespace entitle::internal
