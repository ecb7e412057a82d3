#include "entitle/organizations.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "service/authorization.h"
#include "entitle/status.h"
#include "base/links.h"
#include "organizations/memberships.h"
#include "service/operation.h"
#include "service/service_context.h"
#include "organizations/organizations_internal.h"

namespace entitle {
namespace {

using internal::FindFirst;
using internal::ListAll;
using internal::Operation;
using internal::Reading;
using internal::RequirePermission;

absl::Status Invalid(absl::string_view message) {
  return MakeError(absl::StatusCode::kInvalidArgument, Reason::kInvalidArgument,
                   message);
}

std::string IdentityTarget(IdentityId id) {
  return absl::StrCat("identity#", id.value());
}
std::string OrganizationTarget(OrganizationId id) {
  return absl::StrCat("organization#", id.value());
}

// A name of 1 to 200 characters without control characters, trimmed.
absl::StatusOr<std::string> CleanName(absl::string_view name,
                                      absl::string_view what) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(name);
  if (trimmed.empty() || trimmed.size() > 200) {
    return Invalid(
        absl::StrCat("The ", what, " must have 1 to 200 characters."));
  }
  for (const char c : trimmed) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Invalid(
          absl::StrCat("The ", what, " must not contain control characters."));
    }
  }
  return std::string(trimmed);
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
                                               absl::string_view text) {
  absl::StatusOr<Email> email = Email::Parse(text);
  if (!email.ok()) return email.status();
  absl::StatusOr<std::optional<IdentityRecord>> identity =
      FindFirst(tx.identities(), IdentityFilter{.email = *email});
  if (!identity.ok()) return identity.status();
  if (!identity->has_value()) {
    return MakeError(absl::StatusCode::kNotFound, Reason::kUnknownUser,
                     absl::StrCat("No identity uses ", email->str(),
                                  ". Invite the user instead."));
  }
  return **identity;
}

absl::StatusOr<MembershipRecord> RequireMember(Transaction& tx,
                                               OrganizationId organization,
                                               IdentityId identity) {
  absl::StatusOr<std::optional<MembershipRecord>> membership =
      internal::FindMembership(tx, organization, identity);
  if (!membership.ok()) return membership.status();
  if (!membership->has_value()) {
    return MakeError(absl::StatusCode::kNotFound, Reason::kNotMember,
                     absl::StrCat("Identity #", identity.value(),
                                  " is not a member of the organization."));
  }
  return **membership;
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

// ORG-4: refuses a change that left the organization without administrators.
absl::Status RequireAdministratorLeft(Transaction& tx,
                                      OrganizationId organization) {
  absl::StatusOr<std::set<IdentityId>> administrators =
      internal::Administrators(tx, organization);
  if (!administrators.ok()) return administrators.status();
  if (!administrators->empty()) return absl::OkStatus();
  return MakeError(absl::StatusCode::kFailedPrecondition,
                   Reason::kLastAdministrator,
                   "This would leave the organization without an "
                   "administrator. Make another employee an administrator "
                   "first.");
}

// A store duplicate on a per-organization name, said for people.
absl::Status NameTakenIfDuplicate(absl::Status status, absl::string_view what,
                                  absl::string_view name) {
  if (GetReason(status) != Reason::kDuplicate) return status;
  return MakeError(absl::StatusCode::kAlreadyExists, Reason::kDuplicate,
                   absl::StrCat("The organization already has a ", what,
                                " named ", name, "."));
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
  absl::StatusOr<IdentityRecord> identity =
      tx.identities().Get(membership.identity_id);
  if (!identity.ok()) return identity.status();
  MemberInfo info;
  info.identity = identity->id;
  info.email = identity->email;
  info.display_name = identity->display_name;
  info.kind = membership.kind;
  info.status = membership.status;
  info.locked = identity->locked;
  info.since = membership.created_at;
  info.covered_by_maintenance = Covered(organization, membership, now);
  absl::StatusOr<std::vector<RoleGrantRecord>> grants = ListAll(
      tx.role_grants(), RoleGrantFilter{.organization_id = organization.id,
                                        .identity_id = identity->id});
  if (!grants.ok()) return grants.status();
  for (const RoleGrantRecord& grant : *grants) {
    absl::StatusOr<RoleRecord> role = tx.roles().Get(grant.role_id);
    if (!role.ok()) return role.status();
    info.roles.push_back(role->name);
    info.permissions |= role->permissions;
  }
  std::sort(info.roles.begin(), info.roles.end());
  return info;
}

// Writes a role grant, refusing non-employees (ORG-4).
absl::Status Grant(Operation& op, const Actor& actor,
                   OrganizationId organization, IdentityId identity,
                   const RoleRecord& role) {
  absl::StatusOr<MembershipRecord> membership =
      RequireMember(op.tx(), organization, identity);
  if (!membership.ok()) return membership.status();
  if (membership->kind != MembershipKind::kEmployee) {
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
  op.Audit(actor, organization, "role.grant", IdentityTarget(identity),
           role.name);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<OrganizationId> Organizations::Create(
    const Actor& actor, absl::string_view name,
    IdentityId first_administrator) {
  if (!actor.is_operator()) {
    return internal::PermissionDenied("create organizations");
  }
  absl::StatusOr<std::string> clean = CleanName(name, "organization name");
  if (!clean.ok()) return clean.status();
  absl::StatusOr<Operation> op = Operation::Begin(context_);
  if (!op.ok()) return op.status();
  Transaction& tx = op->tx();
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
  OrganizationRecord organization;
  organization.name = *clean;
  organization.created_at = op->now();
  absl::StatusOr<OrganizationId> id = tx.organizations().Insert(organization);
  if (!id.ok()) return id.status();
  organization.id = *id;
  op->Audit(actor, *id, "organization.create", OrganizationTarget(*id),
            organization.name);

  RoleRecord administrator{RoleId(), *id, std::string(kAdministratorRole),
                           kAllPermissions, true};
  RoleRecord co_administrator{
      RoleId(), *id, std::string(kCoAdministratorRole),
      kAllPermissions & ~uint32_t{kManageAdministrators}, true};
  absl::StatusOr<RoleId> admin_role = tx.roles().Insert(administrator);
  if (!admin_role.ok()) return admin_role.status();
  administrator.id = *admin_role;
  if (absl::StatusOr<RoleId> co = tx.roles().Insert(co_administrator);
      !co.ok()) {
    return co.status();
  }
  if (absl::Status s = internal::BecomeEmployee(
          *op, actor, *id, first_administrator, MembershipStatus::kActive);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          Grant(*op, actor, *id, first_administrator, administrator);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = op->Commit(); !s.ok()) return s;
  return *id;
}

absl::StatusOr<OrganizationInfo> Organizations::Get(
    const Actor& actor, OrganizationId organization) {
  absl::StatusOr<Reading> reading = Reading::Begin(context_);
  if (!reading.ok()) return reading.status();
  absl::StatusOr<OrganizationRecord> record =
      LoadOrganization(reading->tx(), organization);
  if (!record.ok()) return record.status();
  // Any member may see its organization's settings.
  if (!actor.is_operator()) {
    if (!actor.is_identity()) {
      return internal::PermissionDenied("see this organization");
    }
    absl::StatusOr<std::optional<MembershipRecord>> membership =
        internal::FindMembership(reading->tx(), organization, actor.identity());
    if (!membership.ok()) return membership.status();
    if (!membership->has_value()) {
      return internal::PermissionDenied("see this organization");
    }
  }
  return ToInfo(*record);
}

absl::Status Organizations::UpdateSettings(
    const Actor& actor, OrganizationId organization,
    const OrganizationSettings& settings) {
  absl::StatusOr<Operation> op = Operation::Begin(context_);
  if (!op.ok()) return op.status();
  absl::StatusOr<OrganizationRecord> record =
      Authorize(op->tx(), actor, organization, kManageUsers);
  if (!record.ok()) return record.status();
  if (settings.name.has_value()) {
    absl::StatusOr<std::string> clean =
        CleanName(*settings.name, "organization name");
    if (!clean.ok()) return clean.status();
    record->name = *std::move(clean);
  }
  if (settings.discoverable.has_value()) {
    record->discoverable = *settings.discoverable;
  }
  if (settings.auto_approve_domain_joins.has_value()) {
    record->auto_approve_domain_joins = *settings.auto_approve_domain_joins;
  }
  if (absl::Status s = op->tx().organizations().Update(*record); !s.ok()) {
    return s;
  }
  op->Audit(actor, organization, "organization.settings",
            OrganizationTarget(organization));
  return op->Commit();
}

absl::Status Organizations::UpdateOperatorSettings(
    const Actor& actor, OrganizationId organization,
    const OperatorSettings& settings) {
  if (!actor.is_operator()) {
    return internal::PermissionDenied(
        "change an organization's federation or maintenance agreement");
  }
  absl::StatusOr<Operation> op = Operation::Begin(context_);
  if (!op.ok()) return op.status();
  absl::StatusOr<OrganizationRecord> record =
      LoadOrganization(op->tx(), organization);
  if (!record.ok()) return record.status();
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
      absl::StatusOr<std::optional<OrganizationRecord>> other =
          FindFirst(op->tx().organizations(),
                    OrganizationFilter{.federation_provider = provider});
      if (!other.ok()) return other.status();
      if (other->has_value() && (*other)->id != organization) {
        return MakeError(absl::StatusCode::kAlreadyExists, Reason::kDuplicate,
                         absl::StrCat("Another organization already signs in "
                                      "through ",
                                      provider, "."));
      }
    }
    record->federation_provider = provider;
  }
  if (settings.maintenance_until.has_value()) {
    record->maintenance_until = *settings.maintenance_until;
  }
  if (absl::Status s = op->tx().organizations().Update(*record); !s.ok()) {
    return s;
  }
  op->Audit(actor, organization, "organization.operator-settings",
            OrganizationTarget(organization));
  return op->Commit();
}

absl::Status Organizations::AddEmployee(const Actor& actor,
                                        OrganizationId organization,
                                        absl::string_view email) {
  absl::StatusOr<Operation> op = Operation::Begin(context_);
  if (!op.ok()) return op.status();
  Transaction& tx = op->tx();
  if (absl::StatusOr<OrganizationRecord> record =
          Authorize(tx, actor, organization, kManageUsers);
      !record.ok()) {
    return record.status();
  }
  absl::StatusOr<IdentityRecord> identity = IdentityByEmail(tx, email);
  if (!identity.ok()) return identity.status();
  if (absl::Status s =
          internal::AddEmployeeStep(*op, actor, organization, *identity);
      !s.ok()) {
    return s;
  }
  return op->Commit();
}

absl::Status Organizations::AddExternal(const Actor& actor,
                                        OrganizationId organization,
                                        absl::string_view email) {
  absl::StatusOr<Operation> op = Operation::Begin(context_);
  if (!op.ok()) return op.status();
  Transaction& tx = op->tx();
  if (absl::StatusOr<OrganizationRecord> record =
          Authorize(tx, actor, organization, kManageUsers);
      !record.ok()) {
    return record.status();
  }
  absl::StatusOr<IdentityRecord> identity = IdentityByEmail(tx, email);
  if (!identity.ok()) return identity.status();
  if (absl::Status s =
          internal::AddExternalStep(*op, actor, organization, *identity);
      !s.ok()) {
    return s;
  }
  return op->Commit();
}

absl::Status Organizations::ChangeMembershipKind(const Actor& actor,
                                                 OrganizationId organization,
                                                 IdentityId identity,
                                                 MembershipKind kind) {
  absl::StatusOr<Operation> op = Operation::Begin(context_);
  if (!op.ok()) return op.status();
  Transaction& tx = op->tx();
  if (absl::StatusOr<OrganizationRecord> record =
          Authorize(tx, actor, organization, kManageUsers);
      !record.ok()) {
    return record.status();
  }
  absl::StatusOr<MembershipRecord> membership =
      RequireMember(tx, organization, identity);
  if (!membership.ok()) return membership.status();
  if (membership->kind == kind) {
    return MakeError(absl::StatusCode::kAlreadyExists, Reason::kAlreadyMember,
                     "The membership is already of that kind.");
  }
  if (kind == MembershipKind::kEmployee) {
    absl::StatusOr<IdentityRecord> record = tx.identities().Get(identity);
    if (!record.ok()) return record.status();
    if (absl::Status s =
            internal::CheckDirectEmployeeAdd(tx, organization, *record);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = internal::BecomeEmployee(*op, actor, organization,
                                                  identity, membership->status);
        !s.ok()) {
      return s;
    }
  } else {
    if (absl::Status s =
            internal::RefuseLastAdministrator(tx, organization, identity);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = internal::RevokeRoles(tx, organization, identity);
        !s.ok()) {
      return s;
    }
    membership->kind = MembershipKind::kExternal;
    if (absl::Status s = tx.memberships().Update(*membership); !s.ok())
      return s;
    op->Audit(actor, organization, "membership.downgrade",
              IdentityTarget(identity), "employee to external");
    op->Publish(EmployeeOrganizationChanged{identity, organization,
                                            std::nullopt, op->now()});
  }
  return op->Commit();
}

absl::Status Organizations::RemoveMember(const Actor& actor,
                                         OrganizationId organization,
                                         IdentityId identity) {
  absl::StatusOr<Operation> op = Operation::Begin(context_);
  if (!op.ok()) return op.status();
  if (absl::StatusOr<OrganizationRecord> record =
          Authorize(op->tx(), actor, organization, kManageUsers);
      !record.ok()) {
    return record.status();
  }
  if (absl::Status s = internal::EndMembership(*op, actor, organization,
                                               identity, std::nullopt);
      !s.ok()) {
    return s;
  }
  return op->Commit();
}

absl::StatusOr<Page<MemberInfo>> Organizations::ListMembers(
    const Actor& actor, OrganizationId organization, const PageRequest& page) {
  absl::StatusOr<Reading> reading = Reading::Begin(context_);
  if (!reading.ok()) return reading.status();
  Transaction& tx = reading->tx();
  absl::StatusOr<OrganizationRecord> record =
      Authorize(tx, actor, organization, kViewUsage);
  if (!record.ok()) return record.status();
  absl::StatusOr<Page<MembershipRecord>> memberships = tx.memberships().List(
      MembershipFilter{.organization_id = organization}, page);
  if (!memberships.ok()) return memberships.status();
  Page<MemberInfo> result;
  result.has_more = memberships->has_more;
  for (const MembershipRecord& membership : memberships->items) {
    absl::StatusOr<MemberInfo> info =
        Describe(tx, *record, membership, reading->now);
    if (!info.ok()) return info.status();
    result.items.push_back(*std::move(info));
  }
  return result;
}

absl::StatusOr<MemberInfo> Organizations::GetMember(const Actor& actor,
                                                    OrganizationId organization,
                                                    IdentityId identity) {
  absl::StatusOr<Reading> reading = Reading::Begin(context_);
  if (!reading.ok()) return reading.status();
  Transaction& tx = reading->tx();
  absl::StatusOr<OrganizationRecord> record =
      LoadOrganization(tx, organization);
  if (!record.ok()) return record.status();
  if (!(actor.is_identity() && actor.identity() == identity)) {
    if (absl::Status s = RequirePermission(tx, actor, organization, kViewUsage);
        !s.ok()) {
      return s;
    }
  }
  absl::StatusOr<MembershipRecord> membership =
      RequireMember(tx, organization, identity);
  if (!membership.ok()) return membership.status();
  return Describe(tx, *record, *membership, reading->now);
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
  absl::StatusOr<Reading> reading = Reading::Begin(context_);
  if (!reading.ok()) return reading.status();
  if (absl::StatusOr<OrganizationRecord> record =
          Authorize(reading->tx(), actor, organization, kViewUsage);
      !record.ok()) {
    return record.status();
  }
  absl::StatusOr<std::vector<RoleRecord>> roles = ListAll(
      reading->tx().roles(), RoleFilter{.organization_id = organization});
  if (!roles.ok()) return roles.status();
  std::vector<RoleInfo> result;
  for (const RoleRecord& role : *roles) {
    result.push_back(
        RoleInfo{role.id, role.name, role.permissions, role.built_in});
  }
  return result;
}

absl::StatusOr<RoleId> Organizations::CreateRole(const Actor& actor,
                                                 OrganizationId organization,
                                                 absl::string_view name,
                                                 uint32_t permissions) {
  absl::StatusOr<Operation> op = Operation::Begin(context_);
  if (!op.ok()) return op.status();
  if (absl::StatusOr<OrganizationRecord> record =
          Authorize(op->tx(), actor, organization, kManageAdministrators);
      !record.ok()) {
    return record.status();
  }
  absl::StatusOr<std::string> clean = CleanName(name, "role name");
  if (!clean.ok()) return clean.status();
  if (permissions == 0 || (permissions & ~kAllPermissions) != 0) {
    return Invalid(
        "A role needs at least one permission, and only known ones.");
  }
  RoleRecord role{RoleId(), organization, *clean, permissions, false};
  absl::StatusOr<RoleId> id = op->tx().roles().Insert(role);
  if (!id.ok()) return NameTakenIfDuplicate(id.status(), "role", *clean);
  op->Audit(actor, organization, "role.create",
            absl::StrCat("role#", id->value()), *clean);
  if (absl::Status s = op->Commit(); !s.ok()) return s;
  return *id;
}

absl::Status Organizations::DeleteRole(const Actor& actor,
                                       OrganizationId organization,
                                       RoleId role) {
  absl::StatusOr<Operation> op = Operation::Begin(context_);
  if (!op.ok()) return op.status();
  Transaction& tx = op->tx();
  if (absl::StatusOr<OrganizationRecord> record =
          Authorize(tx, actor, organization, kManageAdministrators);
      !record.ok()) {
    return record.status();
  }
  absl::StatusOr<RoleRecord> record = LoadRole(tx, organization, role);
  if (!record.ok()) return record.status();
  if (record->built_in) return Invalid("Built-in roles cannot be deleted.");
  if (absl::Status s = internal::DeleteAll(
          tx.role_grants(),
          RoleGrantFilter{.organization_id = organization, .role_id = role},
          [](const RoleGrantRecord& r) {
            return RoleGrantKey{r.organization_id, r.identity_id, r.role_id};
          });
      !s.ok()) {
    return s;
  }
  if (absl::Status s = tx.roles().Delete(role); !s.ok()) return s;
  if (absl::Status s = RequireAdministratorLeft(tx, organization); !s.ok()) {
    return s;
  }
  op->Audit(actor, organization, "role.delete",
            absl::StrCat("role#", role.value()), record->name);
  return op->Commit();
}

absl::Status Organizations::GrantRole(const Actor& actor,
                                      OrganizationId organization,
                                      IdentityId identity, RoleId role) {
  absl::StatusOr<Operation> op = Operation::Begin(context_);
  if (!op.ok()) return op.status();
  if (absl::StatusOr<OrganizationRecord> record =
          Authorize(op->tx(), actor, organization, kManageAdministrators);
      !record.ok()) {
    return record.status();
  }
  absl::StatusOr<RoleRecord> record = LoadRole(op->tx(), organization, role);
  if (!record.ok()) return record.status();
  if (absl::Status s = Grant(*op, actor, organization, identity, *record);
      !s.ok()) {
    return s;
  }
  return op->Commit();
}

absl::Status Organizations::RevokeRole(const Actor& actor,
                                       OrganizationId organization,
                                       IdentityId identity, RoleId role) {
  absl::StatusOr<Operation> op = Operation::Begin(context_);
  if (!op.ok()) return op.status();
  Transaction& tx = op->tx();
  if (absl::StatusOr<OrganizationRecord> record =
          Authorize(tx, actor, organization, kManageAdministrators);
      !record.ok()) {
    return record.status();
  }
  absl::StatusOr<RoleRecord> record = LoadRole(tx, organization, role);
  if (!record.ok()) return record.status();
  if (absl::Status s =
          tx.role_grants().Delete(RoleGrantKey{organization, identity, role});
      !s.ok()) {
    if (GetReason(s) == Reason::kNotFound) {
      return MakeError(absl::StatusCode::kNotFound, Reason::kNotFound,
                       absl::StrCat("The member does not hold the role ",
                                    record->name, "."));
    }
    return s;
  }
  // ORG-4: the last administrator cannot be demoted. Checked after the
  // revocation: the member may hold administrator rights through another role.
  if (absl::Status s = RequireAdministratorLeft(tx, organization); !s.ok()) {
    return s;
  }
  op->Audit(actor, organization, "role.revoke", IdentityTarget(identity),
            record->name);
  return op->Commit();
}

absl::StatusOr<GroupId> Organizations::CreateGroup(const Actor& actor,
                                                   OrganizationId organization,
                                                   absl::string_view name) {
  absl::StatusOr<Operation> op = Operation::Begin(context_);
  if (!op.ok()) return op.status();
  if (absl::StatusOr<OrganizationRecord> record =
          Authorize(op->tx(), actor, organization, kManageUsers);
      !record.ok()) {
    return record.status();
  }
  absl::StatusOr<std::string> clean = CleanName(name, "group name");
  if (!clean.ok()) return clean.status();
  absl::StatusOr<GroupId> id = op->tx().groups().Insert(
      GroupRecord{GroupId(), organization, *clean, op->now()});
  if (!id.ok()) return NameTakenIfDuplicate(id.status(), "group", *clean);
  op->Audit(actor, organization, "group.create",
            absl::StrCat("group#", id->value()), *clean);
  if (absl::Status s = op->Commit(); !s.ok()) return s;
  return *id;
}

absl::Status Organizations::DeleteGroup(const Actor& actor,
                                        OrganizationId organization,
                                        GroupId group) {
  absl::StatusOr<Operation> op = Operation::Begin(context_);
  if (!op.ok()) return op.status();
  Transaction& tx = op->tx();
  if (absl::StatusOr<OrganizationRecord> record =
          Authorize(tx, actor, organization, kManageUsers);
      !record.ok()) {
    return record.status();
  }
  absl::StatusOr<GroupRecord> record = LoadGroup(tx, organization, group);
  if (!record.ok()) return record.status();
  absl::Status status = internal::DeleteAll(
      tx.group_members(), GroupMemberFilter{.group_id = group},
      [](const GroupMemberRecord& r) {
        return GroupMemberKey{r.group_id, r.identity_id};
      });
  if (status.ok()) {
    status = internal::DeleteAll(tx.pool_grants(),
                                 PoolGrantFilter{.group_id = group},
                                 [](const PoolGrantRecord& r) { return r.id; });
  }
  if (status.ok()) {
    // Invitations into the group have nothing to join any more.
    absl::StatusOr<std::vector<InvitationRecord>> invitations = ListAll(
        tx.invitations(), InvitationFilter{.organization_id = organization,
                                           .kind = InvitationKind::kGroup});
    if (!invitations.ok()) return invitations.status();
    for (InvitationRecord& invitation : *invitations) {
      if (invitation.group_id != group) continue;
      status = tx.invitations().Delete(invitation.id);
      if (!status.ok()) break;
    }
  }
  if (status.ok()) status = tx.groups().Delete(group);
  if (!status.ok()) return status;
  op->Audit(actor, organization, "group.delete",
            absl::StrCat("group#", group.value()), record->name);
  return op->Commit();
}

absl::Status Organizations::AddToGroup(const Actor& actor,
                                       OrganizationId organization,
                                       GroupId group, IdentityId identity) {
  absl::StatusOr<Operation> op = Operation::Begin(context_);
  if (!op.ok()) return op.status();
  Transaction& tx = op->tx();
  if (absl::StatusOr<OrganizationRecord> record =
          Authorize(tx, actor, organization, kManageUsers);
      !record.ok()) {
    return record.status();
  }
  absl::StatusOr<GroupRecord> record = LoadGroup(tx, organization, group);
  if (!record.ok()) return record.status();
  if (absl::StatusOr<MembershipRecord> member =
          RequireMember(tx, organization, identity);
      !member.ok()) {
    return member.status();
  }
  if (absl::StatusOr<GroupMemberKey> key = tx.group_members().Insert(
          GroupMemberRecord{group, identity, op->now()});
      !key.ok()) {
    if (GetReason(key.status()) == Reason::kDuplicate) {
      return MakeError(absl::StatusCode::kAlreadyExists, Reason::kAlreadyMember,
                       "The member is already in the group.");
    }
    return key.status();
  }
  op->Audit(actor, organization, "group.add", IdentityTarget(identity),
            record->name);
  return op->Commit();
}

absl::Status Organizations::RemoveFromGroup(const Actor& actor,
                                            OrganizationId organization,
                                            GroupId group,
                                            IdentityId identity) {
  absl::StatusOr<Operation> op = Operation::Begin(context_);
  if (!op.ok()) return op.status();
  Transaction& tx = op->tx();
  if (absl::StatusOr<OrganizationRecord> record =
          Authorize(tx, actor, organization, kManageUsers);
      !record.ok()) {
    return record.status();
  }
  absl::StatusOr<GroupRecord> record = LoadGroup(tx, organization, group);
  if (!record.ok()) return record.status();
  if (absl::Status s =
          tx.group_members().Delete(GroupMemberKey{group, identity});
      !s.ok()) {
    if (GetReason(s) == Reason::kNotFound) {
      return MakeError(absl::StatusCode::kNotFound, Reason::kNotMember,
                       "The identity is not in the group.");
    }
    return s;
  }
  op->Audit(actor, organization, "group.remove", IdentityTarget(identity),
            record->name);
  return op->Commit();
}

absl::StatusOr<std::vector<IdentityId>> Organizations::ListGroupMembers(
    const Actor& actor, OrganizationId organization, GroupId group) {
  absl::StatusOr<Reading> reading = Reading::Begin(context_);
  if (!reading.ok()) return reading.status();
  Transaction& tx = reading->tx();
  if (absl::StatusOr<OrganizationRecord> record =
          Authorize(tx, actor, organization, kViewUsage);
      !record.ok()) {
    return record.status();
  }
  if (absl::StatusOr<GroupRecord> record = LoadGroup(tx, organization, group);
      !record.ok()) {
    return record.status();
  }
  absl::StatusOr<std::vector<GroupMemberRecord>> members =
      ListAll(tx.group_members(), GroupMemberFilter{.group_id = group});
  if (!members.ok()) return members.status();
  std::vector<IdentityId> ids;
  for (const GroupMemberRecord& member : *members) {
    ids.push_back(member.identity_id);
  }
  return ids;
}

absl::StatusOr<DomainClaim> Organizations::ClaimDomain(
    const Actor& actor, OrganizationId organization, absl::string_view domain) {
  absl::StatusOr<Operation> op = Operation::Begin(context_);
  if (!op.ok()) return op.status();
  Transaction& tx = op->tx();
  if (absl::StatusOr<OrganizationRecord> record =
          Authorize(tx, actor, organization, kManageDomains);
      !record.ok()) {
    return record.status();
  }
  absl::StatusOr<std::string> name = NormalizeDomain(domain);
  if (!name.ok()) return name.status();
  for (const std::string& public_domain :
       context_.organization_policy.public_mail_domains) {
    if (absl::AsciiStrToLower(public_domain) == *name) {
      return MakeError(absl::StatusCode::kInvalidArgument,
                       Reason::kPublicMailDomain,
                       absl::StrCat(*name,
                                    " is a public mail domain and cannot "
                                    "be claimed."));
    }
  }
  absl::StatusOr<std::optional<DomainRecord>> owner =
      FindFirst(tx.domains(),
                DomainFilter{.name = *name, .status = DomainStatus::kVerified});
  if (!owner.ok()) return owner.status();
  if (owner->has_value() && (*owner)->organization_id != organization) {
    return MakeError(absl::StatusCode::kFailedPrecondition,
                     Reason::kDomainOwnedElsewhere,
                     absl::StrCat(*name, " is owned by another organization."));
  }
  const internal::LinkSecret secret = internal::MakeLinkSecret(context_.random);
  DomainRecord claim;
  claim.organization_id = organization;
  claim.name = *name;
  claim.status = DomainStatus::kPending;
  claim.verification_token_hash = secret.hash;
  claim.created_at = op->now();
  absl::StatusOr<DomainId> id = tx.domains().Insert(claim);
  if (!id.ok()) {
    if (GetReason(id.status()) == Reason::kDuplicate) {
      return MakeError(
          absl::StatusCode::kAlreadyExists, Reason::kDuplicate,
          absl::StrCat("The organization already claimed ", *name, "."));
    }
    return id.status();
  }
  op->Audit(actor, organization, "domain.claim",
            absl::StrCat("domain#", id->value()), *name);
  if (absl::Status s = op->Commit(); !s.ok()) return s;
  return DomainClaim{*id, *name, secret.token};
}

absl::Status Organizations::VerifyDomain(const Actor& actor,
                                         OrganizationId organization,
                                         DomainId domain,
                                         absl::string_view token) {
  absl::StatusOr<Operation> op = Operation::Begin(context_);
  if (!op.ok()) return op.status();
  Transaction& tx = op->tx();
  if (absl::StatusOr<OrganizationRecord> record =
          Authorize(tx, actor, organization, kManageDomains);
      !record.ok()) {
    return record.status();
  }
  absl::StatusOr<DomainRecord> record = LoadDomain(tx, organization, domain);
  if (!record.ok()) return record.status();
  if (record->status == DomainStatus::kVerified) return absl::OkStatus();
  const std::string hash = internal::HashLinkToken(token);
  if (hash.empty() ||
      !internal::SameLinkHash(hash, record->verification_token_hash)) {
    return MakeError(absl::StatusCode::kPermissionDenied, Reason::kInvalidLink,
                     "The verification token does not match the claim.");
  }
  record->status = DomainStatus::kVerified;
  record->verified_at = op->now();
  if (absl::Status s = tx.domains().Update(*record); !s.ok()) {
    if (GetReason(s) == Reason::kDuplicate) {
      return MakeError(absl::StatusCode::kFailedPrecondition,
                       Reason::kDomainOwnedElsewhere,
                       absl::StrCat(record->name,
                                    " was verified by another organization "
                                    "first."));
    }
    return s;
  }
  op->Audit(actor, organization, "domain.verify",
            absl::StrCat("domain#", domain.value()), record->name);
  return op->Commit();
}

absl::Status Organizations::RemoveDomain(const Actor& actor,
                                         OrganizationId organization,
                                         DomainId domain) {
  absl::StatusOr<Operation> op = Operation::Begin(context_);
  if (!op.ok()) return op.status();
  Transaction& tx = op->tx();
  if (absl::StatusOr<OrganizationRecord> record =
          Authorize(tx, actor, organization, kManageDomains);
      !record.ok()) {
    return record.status();
  }
  absl::StatusOr<DomainRecord> record = LoadDomain(tx, organization, domain);
  if (!record.ok()) return record.status();
  if (absl::Status s = tx.domains().Delete(domain); !s.ok()) return s;
  op->Audit(actor, organization, "domain.remove",
            absl::StrCat("domain#", domain.value()), record->name);
  return op->Commit();
}

absl::StatusOr<std::vector<DomainInfo>> Organizations::ListDomains(
    const Actor& actor, OrganizationId organization) {
  absl::StatusOr<Reading> reading = Reading::Begin(context_);
  if (!reading.ok()) return reading.status();
  if (absl::StatusOr<OrganizationRecord> record =
          Authorize(reading->tx(), actor, organization, kManageDomains);
      !record.ok()) {
    return record.status();
  }
  absl::StatusOr<std::vector<DomainRecord>> domains = ListAll(
      reading->tx().domains(), DomainFilter{.organization_id = organization});
  if (!domains.ok()) return domains.status();
  std::vector<DomainInfo> result;
  for (const DomainRecord& d : *domains) {
    result.push_back(
        DomainInfo{d.id, d.name, d.status, d.created_at, d.verified_at});
  }
  return result;
}

absl::StatusOr<std::vector<DiscoveredOrganization>> Organizations::Discover(
    const Actor& actor) {
  if (!actor.is_identity()) {
    return internal::PermissionDenied(
        "look for organizations without signing in");
  }
  absl::StatusOr<Reading> reading = Reading::Begin(context_);
  if (!reading.ok()) return reading.status();
  Transaction& tx = reading->tx();
  absl::StatusOr<IdentityRecord> identity =
      tx.identities().Get(actor.identity());
  if (!identity.ok()) return identity.status();
  if (identity->locked) {
    return internal::PermissionDenied("look for organizations while locked");
  }
  if (!identity->verified) {
    return MakeError(absl::StatusCode::kFailedPrecondition,
                     Reason::kNotVerified,
                     "Verify your email address to find your organization.");
  }
  absl::StatusOr<std::vector<DomainRecord>> owners = ListAll(
      tx.domains(), DomainFilter{.name = std::string(identity->email.domain()),
                                 .status = DomainStatus::kVerified});
  if (!owners.ok()) return owners.status();
  std::vector<DiscoveredOrganization> found;
  for (const DomainRecord& owner : *owners) {
    absl::StatusOr<OrganizationRecord> organization =
        tx.organizations().Get(owner.organization_id);
    if (!organization.ok()) return organization.status();
    if (organization->discoverable) {
      found.push_back(
          DiscoveredOrganization{organization->id, organization->name});
    }
  }
  return found;
}

absl::StatusOr<Page<AuditRecord>> Organizations::ListAudit(
    const Actor& actor, OrganizationId organization, const AuditQuery& query,
    const PageRequest& page) {
  absl::StatusOr<Reading> reading = Reading::Begin(context_);
  if (!reading.ok()) return reading.status();
  if (absl::StatusOr<OrganizationRecord> record =
          Authorize(reading->tx(), actor, organization, kViewUsage);
      !record.ok()) {
    return record.status();
  }
  return reading->tx().audit().List(AuditFilter{.organization_id = organization,
                                                .actor_id = query.actor,
                                                .action = query.action,
                                                .since = query.since,
                                                .until = query.until},
                                    page);
}

namespace internal {

absl::Status AddEmployeeStep(Operation& op, const Actor& actor,
                             OrganizationId organization,
                             const IdentityRecord& identity) {
  Transaction& tx = op.tx();
  absl::StatusOr<std::optional<MembershipRecord>> existing =
      FindMembership(tx, organization, identity.id);
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) {
    return MakeError(absl::StatusCode::kAlreadyExists, Reason::kAlreadyMember,
                     (*existing)->kind == MembershipKind::kEmployee
                         ? "This user is already an employee of the "
                           "organization."
                         : "This user is already an external member. Change "
                           "the membership to employee instead.");
  }
  if (absl::Status s = CheckDirectEmployeeAdd(tx, organization, identity);
      !s.ok()) {
    return s;
  }
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
  op.Audit(actor, organization, "membership.add", IdentityTarget(identity.id),
           "external");
  return absl::OkStatus();
}

absl::Status GrantRoleStep(Operation& op, const Actor& actor,
                           OrganizationId organization, IdentityId identity,
                           const RoleRecord& role) {
  return Grant(op, actor, organization, identity, role);
}

}  // namespace internal

}  // namespace entitle
