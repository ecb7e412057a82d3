#include "entitle/organizations.h"

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/links.h"
#include "base/names.h"
#include "base/status_macros.h"
#include "base/string_view.h"
#include "entitle/domain_verifier.h"
#include "entitle/status.h"
#include "organizations/memberships.h"
#include "organizations/organizations_internal.h"
#include "service/authorization.h"
#include "service/operation.h"
#include "service/service_context.h"

namespace entitle {
namespace {

using internal::AuditTarget;
using internal::BeginIn;
using internal::FindFirst;
using internal::ListAll;
using internal::Operation;
using internal::OperationIn;
using internal::Reading;
using internal::RequirePermission;

absl::Status Invalid(std::string_view message) {
  return MakeError(absl::StatusCode::kInvalidArgument, Reason::kInvalidArgument,
                   message);
}

// A name by SEC-6's rules (base/names.h), trimmed.
absl::StatusOr<std::string> CleanName(std::string_view name,
                                      std::string_view what) {
  return internal::CheckName(
      StdView(absl::StripAsciiWhitespace(AbslView(name))), what);
}

absl::StatusOr<OrganizationRecord> LoadOrganization(Transaction& tx,
                                                    OrganizationId id) {
  absl::StatusOr<OrganizationRecord> organization = tx.organizations().Get(id);
  if (!organization.ok() &&
      GetReason(organization.status()) == Reason::kNotFound) {
    return MakeError(
        absl::StatusCode::kNotFound, Reason::kNotFound,
        absl::StrCat("There is no organization #", id.value(), "."));
  }
  return organization;
}

// Loads the organization and checks the actor's permission in it, in that
// order, so an unknown organization is reported as such to the operator and as
// permission denied to everyone else only when they could not see it anyway.
absl::StatusOr<OrganizationRecord> Authorize(Transaction& tx,
                                             const Actor& actor,
                                             OrganizationId organization,
                                             uint32_t permission) {
  return internal::AuthorizeIn(tx, actor, organization, permission);
}

absl::StatusOr<IdentityRecord> IdentityByEmail(Transaction& tx,
                                               std::string_view text) {
  ENTITLE_ASSIGN_OR_RETURN(Email email, Email::Parse(text));
  ENTITLE_ASSIGN_OR_RETURN(
      std::optional<IdentityRecord> identity,
      FindFirst(tx.identities(), IdentityFilter{.email = email}));
  if (!identity.has_value()) {
    return MakeError(absl::StatusCode::kNotFound, Reason::kUnknownUser,
                     absl::StrCat("No identity uses ", email.str(),
                                  ". Invite the user instead."));
  }
  return *identity;
}

absl::StatusOr<MembershipRecord> RequireMember(Transaction& tx,
                                               OrganizationId organization,
                                               IdentityId identity) {
  ENTITLE_ASSIGN_OR_RETURN(
      std::optional<MembershipRecord> membership,
      internal::FindMembership(tx, organization, identity));
  if (!membership.has_value()) {
    return MakeError(absl::StatusCode::kNotFound, Reason::kNotMember,
                     absl::StrCat("Identity #", identity.value(),
                                  " is not a member of the organization."));
  }
  return *membership;
}

absl::StatusOr<RoleRecord> LoadRole(Transaction& tx,
                                    OrganizationId organization, RoleId role) {
  return internal::LoadOwned(tx.roles(), organization, role, "role");
}

absl::StatusOr<GroupRecord> LoadGroup(Transaction& tx,
                                      OrganizationId organization,
                                      GroupId group) {
  return internal::LoadOwned(tx.groups(), organization, group, "group");
}

absl::StatusOr<DomainRecord> LoadDomain(Transaction& tx,
                                        OrganizationId organization,
                                        DomainId domain) {
  return internal::LoadOwned(tx.domains(), organization, domain, "domain");
}

// ORG-9: kDomainOwnedElsewhere when an organization other than the claim's
// owns its domain: no proof can make the claim verified then.
absl::Status RequireNotOwnedElsewhere(Transaction& tx,
                                      const DomainRecord& claim) {
  ENTITLE_ASSIGN_OR_RETURN(
      std::optional<DomainRecord> owner,
      FindFirst(tx.domains(), DomainFilter{.name = claim.name,
                                           .status = DomainStatus::kVerified}));
  if (owner.has_value() && owner->organization_id != claim.organization_id) {
    return MakeError(
        absl::StatusCode::kFailedPrecondition, Reason::kDomainOwnedElsewhere,
        absl::StrCat(claim.name, " is owned by another organization."));
  }
  return absl::OkStatus();
}

// ORG-9: makes the pending claim `record` the verified owner of its domain,
// audits it as `action` and commits. kDomainOwnedElsewhere when another
// organization verified the domain first.
absl::Status MarkDomainVerified(Operation& op, const Actor& actor,
                                DomainRecord record, std::string action,
                                std::string detail) {
  record.status = DomainStatus::kVerified;
  record.verified_at = op.now();
  if (absl::Status s = op.tx().domains().Update(record); !s.ok()) {
    if (GetReason(s) == Reason::kDuplicate) {
      return MakeError(absl::StatusCode::kFailedPrecondition,
                       Reason::kDomainOwnedElsewhere,
                       absl::StrCat(record.name,
                                    " was verified by another organization "
                                    "first."));
    }
    return s;
  }
  op.Audit(actor, record.organization_id, std::move(action),
           AuditTarget(record.id), std::move(detail));
  return op.Commit();
}

// ORG-4: refuses a change that took administrator rights away and left the
// organization without an unlocked administrator (`before`: its
// administrators before the change). Locked administrators do not count
// (SEC-2).
absl::Status RequireAdministratorLeft(Transaction& tx,
                                      OrganizationId organization,
                                      const std::set<IdentityId>& before) {
  ENTITLE_ASSIGN_OR_RETURN(std::set<IdentityId> after,
                           internal::Administrators(tx, organization));
  ENTITLE_ASSIGN_OR_RETURN(std::set<IdentityId> unlocked,
                           internal::UnlockedAdministrators(tx, organization));
  if (!unlocked.empty() || after == before) return absl::OkStatus();
  return MakeError(absl::StatusCode::kFailedPrecondition,
                   Reason::kLastAdministrator,
                   "This would leave the organization without an "
                   "administrator. Make another employee an administrator "
                   "first.");
}

// A store duplicate on a per-organization name, said for people.
absl::Status NameTakenIfDuplicate(absl::Status status, std::string_view what,
                                  std::string_view name) {
  if (GetReason(status) != Reason::kDuplicate) return status;
  return MakeError(
      absl::StatusCode::kAlreadyExists, Reason::kDuplicate,
      absl::StrCat("The organization already has a ", AbslView(what), " named ",
                   AbslView(name), "."));
}

OrganizationInfo ToInfo(const OrganizationRecord& r) {
  return OrganizationInfo{r.id,
                          r.name,
                          r.discoverable,
                          r.auto_approve_domain_joins,
                          r.federation_provider,
                          r.maintenance_until,
                          r.created_at};
}

bool Covered(const OrganizationRecord& organization,
             const MembershipRecord& membership, absl::Time now) {
  return membership.kind == MembershipKind::kEmployee &&
         membership.status == MembershipStatus::kActive &&
         organization.maintenance_until.has_value() &&
         now < *organization.maintenance_until;
}

absl::StatusOr<MemberInfo> Describe(Transaction& tx,
                                    const OrganizationRecord& organization,
                                    const MembershipRecord& membership,
                                    absl::Time now) {
  ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity,
                           tx.identities().Get(membership.identity_id));
  MemberInfo info;
  info.identity = identity.id;
  info.email = identity.email;
  info.display_name = identity.display_name;
  info.kind = membership.kind;
  info.status = membership.status;
  info.locked = identity.locked;
  info.since = membership.created_at;
  info.covered_by_maintenance = Covered(organization, membership, now);
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<RoleGrantRecord> grants,
      ListAll(tx.role_grants(),
              RoleGrantFilter{.organization_id = organization.id,
                              .identity_id = identity.id}));
  for (const RoleGrantRecord& grant : grants) {
    ENTITLE_ASSIGN_OR_RETURN(RoleRecord role, tx.roles().Get(grant.role_id));
    info.roles.push_back(role.name);
    info.permissions |= role.permissions;
  }
  std::sort(info.roles.begin(), info.roles.end());
  return info;
}

// Writes a role grant, refusing non-employees (ORG-4).
absl::Status Grant(Operation& op, const Actor& actor,
                   OrganizationId organization, IdentityId identity,
                   const RoleRecord& role) {
  ENTITLE_ASSIGN_OR_RETURN(MembershipRecord membership,
                           RequireMember(op.tx(), organization, identity));
  if (membership.kind != MembershipKind::kEmployee) {
    return MakeError(absl::StatusCode::kFailedPrecondition,
                     Reason::kNotEmployee,
                     "Administrator rights are for employees only.");
  }
  RoleGrantRecord grant{organization, identity, role.id, op.now()};
  if (absl::StatusOr<RoleGrantKey> key = op.tx().role_grants().Insert(grant);
      !key.ok()) {
    if (GetReason(key.status()) == Reason::kDuplicate) {
      return MakeError(
          absl::StatusCode::kAlreadyExists, Reason::kDuplicate,
          absl::StrCat("The member already holds the role ", role.name, "."));
    }
    return key.status();
  }
  op.Audit(actor, organization, "role.grant", AuditTarget(identity), role.name);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<OrganizationId> Organizations::Create(
    const Actor& actor, std::string_view name, IdentityId first_administrator) {
  if (!actor.is_operator()) {
    return internal::PermissionDenied("create organizations");
  }
  ENTITLE_ASSIGN_OR_RETURN(std::string clean,
                           CleanName(name, "organization name"));
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  Transaction& tx = op.tx();
  if (absl::StatusOr<IdentityRecord> admin =
          tx.identities().Get(first_administrator);
      !admin.ok()) {
    if (GetReason(admin.status()) == Reason::kNotFound) {
      return MakeError(absl::StatusCode::kNotFound, Reason::kNotFound,
                       absl::StrCat("There is no identity #",
                                    first_administrator.value(), "."));
    }
    return admin.status();
  }
  ENTITLE_ASSIGN_OR_RETURN(OrganizationRecord organization,
                           internal::CreateOrganizationStep(op, actor, clean));
  const OrganizationId id = organization.id;
  ENTITLE_RETURN_IF_ERROR(internal::BecomeEmployee(
      op, actor, id, first_administrator, MembershipStatus::kActive));
  ENTITLE_RETURN_IF_ERROR(
      internal::GrantAdministratorStep(op, actor, id, first_administrator));
  ENTITLE_RETURN_IF_ERROR(op.Commit());
  return id;
}

absl::StatusOr<OrganizationInfo> Organizations::Get(
    const Actor& actor, OrganizationId organization) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  ENTITLE_ASSIGN_OR_RETURN(OrganizationRecord record,
                           LoadOrganization(reading.tx(), organization));
  // Any member may see its organization's settings.
  if (!actor.is_operator()) {
    if (!actor.is_identity()) {
      return internal::PermissionDenied("see this organization");
    }
    ENTITLE_ASSIGN_OR_RETURN(
        std::optional<MembershipRecord> membership,
        internal::FindMembership(reading.tx(), organization, actor.identity()));
    if (!membership.has_value()) {
      return internal::PermissionDenied("see this organization");
    }
  }
  return ToInfo(record);
}

absl::Status Organizations::UpdateSettings(
    const Actor& actor, OrganizationId organization,
    const OrganizationSettings& settings) {
  ENTITLE_ASSIGN_OR_RETURN(
      OperationIn in, BeginIn(context_, actor, organization, kManageUsers));
  Operation& op = in.op;
  OrganizationRecord& record = in.organization;
  if (settings.name.has_value()) {
    ENTITLE_ASSIGN_OR_RETURN(record.name,
                             CleanName(*settings.name, "organization name"));
  }
  if (settings.discoverable.has_value()) {
    record.discoverable = *settings.discoverable;
  }
  if (settings.auto_approve_domain_joins.has_value()) {
    record.auto_approve_domain_joins = *settings.auto_approve_domain_joins;
  }
  ENTITLE_RETURN_IF_ERROR(op.tx().organizations().Update(record));
  op.Audit(actor, organization, "organization.settings",
           AuditTarget(organization));
  return op.Commit();
}

absl::Status Organizations::UpdateOperatorSettings(
    const Actor& actor, OrganizationId organization,
    const OperatorSettings& settings) {
  if (!actor.is_operator()) {
    return internal::PermissionDenied(
        "change an organization's federation or maintenance agreement");
  }
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  ENTITLE_ASSIGN_OR_RETURN(OrganizationRecord record,
                           LoadOrganization(op.tx(), organization));
  if (settings.federation_provider.has_value()) {
    const std::string provider(
        absl::StripAsciiWhitespace(*settings.federation_provider));
    for (const char c : provider) {
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
        return Invalid(
            "A federation provider name has no spaces or control "
            "characters.");
      }
    }
    if (!provider.empty()) {
      ENTITLE_ASSIGN_OR_RETURN(
          std::optional<OrganizationRecord> other,
          FindFirst(op.tx().organizations(),
                    OrganizationFilter{.federation_provider = provider}));
      if (other.has_value() && other->id != organization) {
        return MakeError(absl::StatusCode::kAlreadyExists, Reason::kDuplicate,
                         absl::StrCat("Another organization already signs in "
                                      "through ",
                                      provider, "."));
      }
    }
    record.federation_provider = provider;
  }
  if (settings.maintenance_until.has_value()) {
    record.maintenance_until = *settings.maintenance_until;
  }
  ENTITLE_RETURN_IF_ERROR(op.tx().organizations().Update(record));
  op.Audit(actor, organization, "organization.operator-settings",
           AuditTarget(organization));
  return op.Commit();
}

namespace {

// AddEmployee and AddExternal: the identity registered under `email` added
// to `organization` by `add_step` in one operation.
absl::Status AddByEmail(internal::ServiceContext& context, const Actor& actor,
                        OrganizationId organization, std::string_view email,
                        absl::Status (*add_step)(Operation&, const Actor&,
                                                 OrganizationId,
                                                 const IdentityRecord&)) {
  ENTITLE_ASSIGN_OR_RETURN(OperationIn in,
                           BeginIn(context, actor, organization, kManageUsers));
  Operation& op = in.op;
  ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity,
                           IdentityByEmail(op.tx(), email));
  ENTITLE_RETURN_IF_ERROR(add_step(op, actor, organization, identity));
  return op.Commit();
}

}  // namespace

absl::Status Organizations::AddEmployee(const Actor& actor,
                                        OrganizationId organization,
                                        std::string_view email) {
  return AddByEmail(context_, actor, organization, email,
                    internal::AddEmployeeStep);
}

absl::Status Organizations::AddExternal(const Actor& actor,
                                        OrganizationId organization,
                                        std::string_view email) {
  return AddByEmail(context_, actor, organization, email,
                    internal::AddExternalStep);
}

absl::Status Organizations::ChangeMembershipKind(const Actor& actor,
                                                 OrganizationId organization,
                                                 IdentityId identity,
                                                 MembershipKind kind) {
  ENTITLE_ASSIGN_OR_RETURN(
      OperationIn in, BeginIn(context_, actor, organization, kManageUsers));
  Operation& op = in.op;
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(MembershipRecord membership,
                           RequireMember(tx, organization, identity));
  // SEC-2: an administrator's membership is changed only by an actor who may
  // manage administrators.
  ENTITLE_RETURN_IF_ERROR(internal::RequireAdministratorsPermissionIn(
      tx, actor, organization, identity));
  if (membership.kind == kind) {
    return MakeError(absl::StatusCode::kAlreadyExists, Reason::kAlreadyMember,
                     "The membership is already of that kind.");
  }
  if (kind == MembershipKind::kEmployee) {
    ENTITLE_ASSIGN_OR_RETURN(IdentityRecord record,
                             tx.identities().Get(identity));
    ENTITLE_RETURN_IF_ERROR(
        internal::CheckDirectEmployeeAdd(tx, organization, record));
    ENTITLE_RETURN_IF_ERROR(internal::BecomeEmployee(
        op, actor, organization, identity, membership.status));
  } else {
    ENTITLE_RETURN_IF_ERROR(
        internal::RefuseLastAdministrator(tx, organization, identity));
    ENTITLE_RETURN_IF_ERROR(internal::RevokeRoles(tx, organization, identity));
    membership.kind = MembershipKind::kExternal;
    ENTITLE_RETURN_IF_ERROR(tx.memberships().Update(membership));
    op.Audit(actor, organization, "membership.downgrade", AuditTarget(identity),
             "employee to external");
    op.Publish(EmployeeOrganizationChanged{identity, organization, std::nullopt,
                                           op.now()});
  }
  return op.Commit();
}

absl::Status Organizations::RemoveMember(const Actor& actor,
                                         OrganizationId organization,
                                         IdentityId identity) {
  ENTITLE_ASSIGN_OR_RETURN(
      OperationIn in, BeginIn(context_, actor, organization, kManageUsers));
  Operation& op = in.op;
  // SEC-2: removing an administrator needs the administrators permission.
  ENTITLE_RETURN_IF_ERROR(internal::RequireAdministratorsPermissionIn(
      op.tx(), actor, organization, identity));
  ENTITLE_RETURN_IF_ERROR(
      internal::EndMembership(op, actor, organization, identity, std::nullopt));
  return op.Commit();
}

absl::StatusOr<Page<MemberInfo>> Organizations::ListMembers(
    const Actor& actor, OrganizationId organization, const PageRequest& page) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  Transaction& tx = reading.tx();
  ENTITLE_ASSIGN_OR_RETURN(OrganizationRecord record,
                           Authorize(tx, actor, organization, kViewUsage));
  ENTITLE_ASSIGN_OR_RETURN(
      Page<MembershipRecord> memberships,
      tx.memberships().List(MembershipFilter{.organization_id = organization},
                            page));
  Page<MemberInfo> result;
  result.has_more = memberships.has_more;
  for (const MembershipRecord& membership : memberships.items) {
    ENTITLE_ASSIGN_OR_RETURN(MemberInfo info,
                             Describe(tx, record, membership, reading.now));
    result.items.push_back(std::move(info));
  }
  return result;
}

absl::StatusOr<MemberInfo> Organizations::GetMember(const Actor& actor,
                                                    OrganizationId organization,
                                                    IdentityId identity) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  Transaction& tx = reading.tx();
  ENTITLE_ASSIGN_OR_RETURN(OrganizationRecord record,
                           LoadOrganization(tx, organization));
  if (!(actor.is_identity() && actor.identity() == identity)) {
    ENTITLE_RETURN_IF_ERROR(
        RequirePermission(tx, actor, organization, kViewUsage));
  }
  ENTITLE_ASSIGN_OR_RETURN(MembershipRecord membership,
                           RequireMember(tx, organization, identity));
  return Describe(tx, record, membership, reading.now);
}

absl::StatusOr<bool> Organizations::IsCoveredByMaintenance(
    const Actor& actor, OrganizationId organization, IdentityId identity) {
  absl::StatusOr<MemberInfo> member = GetMember(actor, organization, identity);
  if (!member.ok()) {
    if (GetReason(member.status()) == Reason::kNotMember) return false;
    return member.status();
  }
  return member->covered_by_maintenance;
}

absl::StatusOr<std::vector<RoleInfo>> Organizations::ListRoles(
    const Actor& actor, OrganizationId organization) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  ENTITLE_RETURN_IF_ERROR(
      Authorize(reading.tx(), actor, organization, kViewUsage));
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<RoleRecord> roles,
      ListAll(reading.tx().roles(),
              RoleFilter{.organization_id = organization}));
  std::vector<RoleInfo> result;
  for (const RoleRecord& role : roles) {
    result.push_back(
        RoleInfo{role.id, role.name, role.permissions, role.built_in});
  }
  return result;
}

absl::StatusOr<RoleId> Organizations::CreateRole(const Actor& actor,
                                                 OrganizationId organization,
                                                 std::string_view name,
                                                 uint32_t permissions) {
  ENTITLE_ASSIGN_OR_RETURN(
      OperationIn in,
      BeginIn(context_, actor, organization, kManageAdministrators));
  Operation& op = in.op;
  ENTITLE_ASSIGN_OR_RETURN(std::string clean, CleanName(name, "role name"));
  if (permissions == 0 || (permissions & ~kAllPermissions) != 0) {
    return Invalid(
        "A role needs at least one permission, and only known ones.");
  }
  RoleRecord role{RoleId(), organization, clean, permissions, false};
  absl::StatusOr<RoleId> id = op.tx().roles().Insert(role);
  if (!id.ok()) return NameTakenIfDuplicate(id.status(), "role", clean);
  op.Audit(actor, organization, "role.create", AuditTarget(*id), clean);
  ENTITLE_RETURN_IF_ERROR(op.Commit());
  return *id;
}

absl::Status Organizations::DeleteRole(const Actor& actor,
                                       OrganizationId organization,
                                       RoleId role) {
  ENTITLE_ASSIGN_OR_RETURN(
      OperationIn in,
      BeginIn(context_, actor, organization, kManageAdministrators));
  Operation& op = in.op;
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(RoleRecord record, LoadRole(tx, organization, role));
  if (record.built_in) return Invalid("Built-in roles cannot be deleted.");
  ENTITLE_ASSIGN_OR_RETURN(std::set<IdentityId> administrators,
                           internal::Administrators(tx, organization));
  ENTITLE_RETURN_IF_ERROR(internal::DeleteAll(
      tx.role_grants(),
      RoleGrantFilter{.organization_id = organization, .role_id = role},
      [](const RoleGrantRecord& r) {
        return RoleGrantKey{r.organization_id, r.identity_id, r.role_id};
      }));
  ENTITLE_RETURN_IF_ERROR(tx.roles().Delete(role));
  ENTITLE_RETURN_IF_ERROR(
      RequireAdministratorLeft(tx, organization, administrators));
  op.Audit(actor, organization, "role.delete", AuditTarget(role), record.name);
  return op.Commit();
}

absl::Status Organizations::GrantRole(const Actor& actor,
                                      OrganizationId organization,
                                      IdentityId identity, RoleId role) {
  ENTITLE_ASSIGN_OR_RETURN(
      OperationIn in,
      BeginIn(context_, actor, organization, kManageAdministrators));
  Operation& op = in.op;
  ENTITLE_ASSIGN_OR_RETURN(RoleRecord record,
                           LoadRole(op.tx(), organization, role));
  ENTITLE_RETURN_IF_ERROR(Grant(op, actor, organization, identity, record));
  return op.Commit();
}

absl::Status Organizations::RevokeRole(const Actor& actor,
                                       OrganizationId organization,
                                       IdentityId identity, RoleId role) {
  ENTITLE_ASSIGN_OR_RETURN(
      OperationIn in,
      BeginIn(context_, actor, organization, kManageAdministrators));
  Operation& op = in.op;
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(RoleRecord record, LoadRole(tx, organization, role));
  ENTITLE_ASSIGN_OR_RETURN(std::set<IdentityId> administrators,
                           internal::Administrators(tx, organization));
  if (absl::Status s =
          tx.role_grants().Delete(RoleGrantKey{organization, identity, role});
      !s.ok()) {
    if (GetReason(s) == Reason::kNotFound) {
      return MakeError(
          absl::StatusCode::kNotFound, Reason::kNotFound,
          absl::StrCat("The member does not hold the role ", record.name, "."));
    }
    return s;
  }
  // ORG-4: the last administrator cannot be demoted. Checked after the
  // revocation: the member may hold administrator rights through another role.
  ENTITLE_RETURN_IF_ERROR(
      RequireAdministratorLeft(tx, organization, administrators));
  op.Audit(actor, organization, "role.revoke", AuditTarget(identity),
           record.name);
  return op.Commit();
}

absl::StatusOr<GroupId> Organizations::CreateGroup(const Actor& actor,
                                                   OrganizationId organization,
                                                   std::string_view name) {
  ENTITLE_ASSIGN_OR_RETURN(
      OperationIn in, BeginIn(context_, actor, organization, kManageUsers));
  Operation& op = in.op;
  ENTITLE_ASSIGN_OR_RETURN(std::string clean, CleanName(name, "group name"));
  absl::StatusOr<GroupId> id = op.tx().groups().Insert(
      GroupRecord{GroupId(), organization, clean, op.now()});
  if (!id.ok()) return NameTakenIfDuplicate(id.status(), "group", clean);
  op.Audit(actor, organization, "group.create", AuditTarget(*id), clean);
  ENTITLE_RETURN_IF_ERROR(op.Commit());
  return *id;
}

absl::Status Organizations::DeleteGroup(const Actor& actor,
                                        OrganizationId organization,
                                        GroupId group) {
  ENTITLE_ASSIGN_OR_RETURN(
      OperationIn in, BeginIn(context_, actor, organization, kManageUsers));
  Operation& op = in.op;
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(GroupRecord record,
                           LoadGroup(tx, organization, group));
  ENTITLE_RETURN_IF_ERROR(internal::DeleteAll(
      tx.group_members(), GroupMemberFilter{.group_id = group},
      [](const GroupMemberRecord& r) {
        return GroupMemberKey{r.group_id, r.identity_id};
      }));
  ENTITLE_RETURN_IF_ERROR(
      internal::DeleteAll(tx.pool_grants(), PoolGrantFilter{.group_id = group},
                          [](const PoolGrantRecord& r) { return r.id; }));
  // Invitations into the group have nothing to join any more.
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<InvitationRecord> invitations,
      ListAll(tx.invitations(),
              InvitationFilter{.organization_id = organization,
                               .kind = InvitationKind::kGroup}));
  for (const InvitationRecord& invitation : invitations) {
    if (invitation.group_id != group) continue;
    ENTITLE_RETURN_IF_ERROR(tx.invitations().Delete(invitation.id));
  }
  ENTITLE_RETURN_IF_ERROR(tx.groups().Delete(group));
  op.Audit(actor, organization, "group.delete", AuditTarget(group),
           record.name);
  return op.Commit();
}

absl::Status Organizations::AddToGroup(const Actor& actor,
                                       OrganizationId organization,
                                       GroupId group, IdentityId identity) {
  ENTITLE_ASSIGN_OR_RETURN(
      OperationIn in, BeginIn(context_, actor, organization, kManageUsers));
  Operation& op = in.op;
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(GroupRecord record,
                           LoadGroup(tx, organization, group));
  ENTITLE_RETURN_IF_ERROR(RequireMember(tx, organization, identity));
  if (absl::StatusOr<GroupMemberKey> key = tx.group_members().Insert(
          GroupMemberRecord{group, identity, op.now()});
      !key.ok()) {
    if (GetReason(key.status()) == Reason::kDuplicate) {
      return MakeError(absl::StatusCode::kAlreadyExists, Reason::kAlreadyMember,
                       "The member is already in the group.");
    }
    return key.status();
  }
  op.Audit(actor, organization, "group.add", AuditTarget(identity),
           record.name);
  return op.Commit();
}

absl::Status Organizations::RemoveFromGroup(const Actor& actor,
                                            OrganizationId organization,
                                            GroupId group,
                                            IdentityId identity) {
  ENTITLE_ASSIGN_OR_RETURN(
      OperationIn in, BeginIn(context_, actor, organization, kManageUsers));
  Operation& op = in.op;
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(GroupRecord record,
                           LoadGroup(tx, organization, group));
  if (absl::Status s =
          tx.group_members().Delete(GroupMemberKey{group, identity});
      !s.ok()) {
    if (GetReason(s) == Reason::kNotFound) {
      return MakeError(absl::StatusCode::kNotFound, Reason::kNotMember,
                       "The identity is not in the group.");
    }
    return s;
  }
  op.Audit(actor, organization, "group.remove", AuditTarget(identity),
           record.name);
  return op.Commit();
}

absl::StatusOr<std::vector<IdentityId>> Organizations::ListGroupMembers(
    const Actor& actor, OrganizationId organization, GroupId group) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  Transaction& tx = reading.tx();
  ENTITLE_RETURN_IF_ERROR(Authorize(tx, actor, organization, kViewUsage));
  ENTITLE_RETURN_IF_ERROR(LoadGroup(tx, organization, group));
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<GroupMemberRecord> members,
      ListAll(tx.group_members(), GroupMemberFilter{.group_id = group}));
  std::vector<IdentityId> ids;
  for (const GroupMemberRecord& member : members) {
    ids.push_back(member.identity_id);
  }
  return ids;
}

absl::StatusOr<DomainClaim> Organizations::ClaimDomain(
    const Actor& actor, OrganizationId organization, std::string_view domain) {
  ENTITLE_ASSIGN_OR_RETURN(
      OperationIn in, BeginIn(context_, actor, organization, kManageDomains));
  Operation& op = in.op;
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(std::string name, NormalizeDomain(domain));
  for (const std::string& public_domain :
       context_.organization_policy.public_mail_domains) {
    // Listed in any spelling (SEC-7): compared in the canonical one.
    const absl::StatusOr<std::string> listed = NormalizeDomain(public_domain);
    if (listed.ok() ? *listed == name
                    : absl::AsciiStrToLower(public_domain) == name) {
      return MakeError(absl::StatusCode::kInvalidArgument,
                       Reason::kPublicMailDomain,
                       absl::StrCat(name,
                                    " is a public mail domain and cannot "
                                    "be claimed."));
    }
  }
  ENTITLE_ASSIGN_OR_RETURN(
      std::optional<DomainRecord> owner,
      FindFirst(tx.domains(),
                DomainFilter{.name = name, .status = DomainStatus::kVerified}));
  if (owner.has_value() && owner->organization_id != organization) {
    return MakeError(absl::StatusCode::kFailedPrecondition,
                     Reason::kDomainOwnedElsewhere,
                     absl::StrCat(name, " is owned by another organization."));
  }
  ENTITLE_ASSIGN_OR_RETURN(std::string record_name, DomainChallengeName(name));
  const internal::LinkSecret secret = internal::MakeLinkSecret(context_.random);
  DomainRecord claim;
  claim.organization_id = organization;
  claim.name = name;
  claim.status = DomainStatus::kPending;
  claim.verification_token_hash = secret.hash;
  claim.created_at = op.now();
  absl::StatusOr<DomainId> id = tx.domains().Insert(claim);
  if (!id.ok()) {
    if (GetReason(id.status()) == Reason::kDuplicate) {
      return MakeError(
          absl::StatusCode::kAlreadyExists, Reason::kDuplicate,
          absl::StrCat("The organization already claimed ", name, "."));
    }
    return id.status();
  }
  op.Audit(actor, organization, "domain.claim", AuditTarget(*id), name);
  ENTITLE_RETURN_IF_ERROR(op.Commit());
  return DomainClaim{.id = *id,
                     .name = name,
                     .verification_token = secret.token,
                     .record_name = std::move(record_name),
                     .record_value = DomainChallengeValue(secret.token)};
}

absl::Status Organizations::VerifyDomain(const Actor& actor,
                                         OrganizationId organization,
                                         DomainId domain) {
  // Authorizes and reads the claim first, so that nobody without the right
  // makes the library ask DNS; the lookup runs with no transaction open.
  std::string record_name;
  {
    ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
    ENTITLE_RETURN_IF_ERROR(
        Authorize(reading.tx(), actor, organization, kManageDomains));
    ENTITLE_ASSIGN_OR_RETURN(DomainRecord record,
                             LoadDomain(reading.tx(), organization, domain));
    if (record.status == DomainStatus::kVerified) return absl::OkStatus();
    ENTITLE_RETURN_IF_ERROR(RequireNotOwnedElsewhere(reading.tx(), record));
    ENTITLE_ASSIGN_OR_RETURN(record_name, DomainChallengeName(record.name));
  }
  absl::StatusOr<std::vector<std::string>> published =
      context_.domain_verifier.TxtRecords(record_name);
  if (!published.ok()) {
    if (GetReason(published.status()) == Reason::kVerifierUnavailable) {
      return published.status();
    }
    return MakeError(
        absl::StatusCode::kUnavailable, Reason::kVerifierUnavailable,
        absl::StrCat("DNS could not be asked for the TXT records "
                     "of ",
                     record_name, ": ", published.status().message(),
                     ". Try again later."));
  }

  ENTITLE_ASSIGN_OR_RETURN(
      OperationIn in, BeginIn(context_, actor, organization, kManageDomains));
  Operation& op = in.op;
  Transaction& tx = op.tx();
  // The claim may have been removed, claimed anew (a new token) or verified
  // while DNS was asked: match the answer against the claim as it is now.
  ENTITLE_ASSIGN_OR_RETURN(DomainRecord record,
                           LoadDomain(tx, organization, domain));
  if (record.status == DomainStatus::kVerified) return absl::OkStatus();
  ENTITLE_RETURN_IF_ERROR(RequireNotOwnedElsewhere(tx, record));
  bool proven = false;
  for (const std::string& value : *published) {
    std::string_view text = value;
    if (text.substr(0, kDomainChallengePrefix.size()) !=
        kDomainChallengePrefix) {
      continue;
    }
    text.remove_prefix(kDomainChallengePrefix.size());
    const std::string hash = internal::HashLinkToken(
        StdView(absl::StripAsciiWhitespace(AbslView(text))));
    // Every candidate is compared, in constant time, so how long this takes
    // does not tell which record came close.
    if (!hash.empty() &&
        internal::SameLinkHash(hash, record.verification_token_hash)) {
      proven = true;
    }
  }
  if (!proven) {
    return MakeError(
        absl::StatusCode::kFailedPrecondition, Reason::kDomainProofMissing,
        absl::StrCat("No DNS TXT record at ", record_name,
                     " carries this claim's token. Publish the record "
                     "shown when ",
                     record.name,
                     " was claimed and try again once it is visible."));
  }
  return MarkDomainVerified(
      op, actor, record, "domain.verify",
      absl::StrCat(record.name, " (DNS TXT at ", record_name, ")"));
}

absl::Status Organizations::VerifyDomainByOperator(const Actor& actor,
                                                   OrganizationId organization,
                                                   DomainId domain) {
  if (!actor.is_operator()) {
    return internal::PermissionDenied("verify a domain without its DNS proof");
  }
  ENTITLE_ASSIGN_OR_RETURN(
      OperationIn in, BeginIn(context_, actor, organization, kManageDomains));
  Operation& op = in.op;
  ENTITLE_ASSIGN_OR_RETURN(DomainRecord record,
                           LoadDomain(op.tx(), organization, domain));
  if (record.status == DomainStatus::kVerified) return absl::OkStatus();
  ENTITLE_RETURN_IF_ERROR(RequireNotOwnedElsewhere(op.tx(), record));
  return MarkDomainVerified(op, actor, record, "domain.verify.operator",
                            absl::StrCat(record.name, " (by the operator)"));
}

absl::Status Organizations::RemoveDomain(const Actor& actor,
                                         OrganizationId organization,
                                         DomainId domain) {
  ENTITLE_ASSIGN_OR_RETURN(
      OperationIn in, BeginIn(context_, actor, organization, kManageDomains));
  Operation& op = in.op;
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(DomainRecord record,
                           LoadDomain(tx, organization, domain));
  ENTITLE_RETURN_IF_ERROR(tx.domains().Delete(domain));
  op.Audit(actor, organization, "domain.remove", AuditTarget(domain),
           record.name);
  return op.Commit();
}

absl::StatusOr<std::vector<DomainInfo>> Organizations::ListDomains(
    const Actor& actor, OrganizationId organization) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  ENTITLE_RETURN_IF_ERROR(
      Authorize(reading.tx(), actor, organization, kManageDomains));
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<DomainRecord> domains,
      ListAll(reading.tx().domains(),
              DomainFilter{.organization_id = organization}));
  std::vector<DomainInfo> result;
  for (const DomainRecord& d : domains) {
    absl::StatusOr<std::string> record_name = DomainChallengeName(d.name);
    result.push_back(DomainInfo{
        .id = d.id,
        .name = d.name,
        .status = d.status,
        .claimed_at = d.created_at,
        .verified_at = d.verified_at,
        .record_name = record_name.ok() ? *std::move(record_name) : ""});
  }
  return result;
}

absl::StatusOr<std::vector<DiscoveredOrganization>> Organizations::Discover(
    const Actor& actor) {
  if (!actor.is_identity()) {
    return internal::PermissionDenied(
        "look for organizations without signing in");
  }
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  Transaction& tx = reading.tx();
  ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity,
                           tx.identities().Get(actor.identity()));
  if (identity.locked) {
    return internal::PermissionDenied("look for organizations while locked");
  }
  if (!identity.verified) {
    return MakeError(absl::StatusCode::kFailedPrecondition,
                     Reason::kNotVerified,
                     "Verify your email address to find your organization.");
  }
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<DomainRecord> owners,
      ListAll(tx.domains(),
              DomainFilter{.name = std::string(identity.email.domain()),
                           .status = DomainStatus::kVerified}));
  std::vector<DiscoveredOrganization> found;
  for (const DomainRecord& owner : owners) {
    ENTITLE_ASSIGN_OR_RETURN(OrganizationRecord organization,
                             tx.organizations().Get(owner.organization_id));
    if (organization.discoverable) {
      found.push_back(
          DiscoveredOrganization{organization.id, organization.name});
    }
  }
  return found;
}

absl::StatusOr<Page<AuditRecord>> Organizations::ListAudit(
    const Actor& actor, OrganizationId organization, const AuditQuery& query,
    const PageRequest& page) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  ENTITLE_RETURN_IF_ERROR(
      Authorize(reading.tx(), actor, organization, kViewUsage));
  return reading.tx().audit().List(AuditFilter{.organization_id = organization,
                                               .actor_id = query.actor,
                                               .action = query.action,
                                               .since = query.since,
                                               .until = query.until},
                                   page);
}

absl::StatusOr<IdentityMemberships> Organizations::MembershipsOf(
    const Actor& actor, IdentityId identity) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  Transaction& tx = reading.tx();
  // SEC-3: the identity itself and the operator only; anyone else is refused
  // before the identity is looked up, so the answer reveals nothing.
  if (!actor.is_operator() &&
      !(actor.is_identity() && actor.identity() == identity)) {
    return internal::PermissionDenied("see another identity's memberships");
  }
  if (absl::StatusOr<IdentityRecord> record = tx.identities().Get(identity);
      !record.ok()) {
    if (GetReason(record.status()) == Reason::kNotFound) {
      return MakeError(
          absl::StatusCode::kNotFound, Reason::kNotFound,
          absl::StrCat("There is no identity #", identity.value(), "."));
    }
    return record.status();
  }
  ENTITLE_RETURN_IF_ERROR(internal::RequireSelfOrAdmin(tx, actor, identity,
                                                       /*admin_permission=*/0));
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<MembershipRecord> memberships,
      ListAll(tx.memberships(), MembershipFilter{.identity_id = identity}));
  IdentityMemberships result;
  for (const MembershipRecord& membership : memberships) {
    ENTITLE_ASSIGN_OR_RETURN(
        OrganizationRecord organization,
        tx.organizations().Get(membership.organization_id));
    ENTITLE_ASSIGN_OR_RETURN(
        MemberInfo info, Describe(tx, organization, membership, reading.now));
    if (membership.kind == MembershipKind::kEmployee) {
      result.employer = organization.id;
    }
    result.memberships.push_back(MembershipSummary{
        organization.id, organization.name, membership.kind, membership.status,
        std::move(info.roles), membership.created_at});
  }
  std::sort(result.memberships.begin(), result.memberships.end(),
            [](const MembershipSummary& a, const MembershipSummary& b) {
              return a.organization < b.organization;
            });
  return result;
}

namespace internal {

absl::Status AddEmployeeStep(Operation& op, const Actor& actor,
                             OrganizationId organization,
                             const IdentityRecord& identity) {
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(std::optional<MembershipRecord> existing,
                           FindMembership(tx, organization, identity.id));
  if (existing.has_value()) {
    return MakeError(absl::StatusCode::kAlreadyExists, Reason::kAlreadyMember,
                     existing->kind == MembershipKind::kEmployee
                         ? "This user is already an employee of the "
                           "organization."
                         : "This user is already an external member. Change "
                           "the membership to employee instead.");
  }
  ENTITLE_RETURN_IF_ERROR(CheckDirectEmployeeAdd(tx, organization, identity));
  return BecomeEmployee(op, actor, organization, identity.id,
                        MembershipStatus::kActive);
}

absl::Status AddExternalStep(Operation& op, const Actor& actor,
                             OrganizationId organization,
                             const IdentityRecord& identity) {
  MembershipRecord membership;
  membership.organization_id = organization;
  membership.identity_id = identity.id;
  membership.kind = MembershipKind::kExternal;
  membership.status = MembershipStatus::kActive;
  membership.created_at = op.now();
  if (absl::StatusOr<MembershipKey> key =
          op.tx().memberships().Insert(membership);
      !key.ok()) {
    if (GetReason(key.status()) == Reason::kDuplicate) {
      return MakeError(absl::StatusCode::kAlreadyExists, Reason::kAlreadyMember,
                       "This user is already a member of the organization.");
    }
    return key.status();
  }
  op.Audit(actor, organization, "membership.add", AuditTarget(identity.id),
           "external");
  return absl::OkStatus();
}

absl::Status GrantRoleStep(Operation& op, const Actor& actor,
                           OrganizationId organization, IdentityId identity,
                           const RoleRecord& role) {
  return Grant(op, actor, organization, identity, role);
}

absl::StatusOr<OrganizationRecord> CreateOrganizationStep(
    Operation& op, const Actor& actor, std::string_view name) {
  Transaction& tx = op.tx();
  OrganizationRecord organization;
  ENTITLE_ASSIGN_OR_RETURN(organization.name,
                           CleanName(name, "organization name"));
  organization.created_at = op.now();
  ENTITLE_ASSIGN_OR_RETURN(organization.id,
                           tx.organizations().Insert(organization));
  const OrganizationId id = organization.id;
  op.Audit(actor, id, "organization.create", AuditTarget(id),
           organization.name);
  const RoleRecord administrator{RoleId(), id, std::string(kAdministratorRole),
                                 kAllPermissions, true};
  const RoleRecord co_administrator{
      RoleId(), id, std::string(kCoAdministratorRole),
      kAllPermissions & ~uint32_t{kManageAdministrators}, true};
  ENTITLE_RETURN_IF_ERROR(tx.roles().Insert(administrator));
  ENTITLE_RETURN_IF_ERROR(tx.roles().Insert(co_administrator));
  return organization;
}

absl::Status GrantAdministratorStep(Operation& op, const Actor& actor,
                                    OrganizationId organization,
                                    IdentityId identity) {
  ENTITLE_ASSIGN_OR_RETURN(
      std::optional<RoleRecord> role,
      FindFirst(op.tx().roles(),
                RoleFilter{.organization_id = organization,
                           .name = std::string(kAdministratorRole)}));
  if (!role.has_value() || !role->built_in) {
    return MakeError(absl::StatusCode::kInternal, Reason::kStoreCorrupt,
                     absl::StrCat("organization #", organization.value(),
                                  " has no built-in Administrator role"));
  }
  return Grant(op, actor, organization, identity, *role);
}

}  // namespace internal

}  // namespace entitle
