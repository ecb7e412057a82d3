// Organizations, memberships, roles, groups, email domains and the audit trail
// (SPEC ORG-1 to ORG-12).
//
// An organization holds members, email domains, entitlements and projects. A
// person is an *employee* of at most one organization and an *external member*
// of any number (ORG-2, ORG-3); an identity has at most one membership per
// organization. What an actor may do in an organization follows from the roles
// it holds there (ORG-7); roles are for employees only (ORG-4).
//
// Every operation authorizes its actor first, runs as one store transaction,
// and appends an audit record (ORG-12); a refused operation writes nothing.
//
// Choices where the SPEC is silent:
//   - Each organization has two built-in roles, made with it: "Administrator"
//     (every permission) and "Co-Administrator" (every permission but managing
//     administrators). Built-in roles cannot be deleted. An *administrator* is
//     a member holding a role with kManageAdministrators; the last one can be
//     neither removed, nor demoted, nor moved to another organization by
//     becoming its employee, nor deleted (ORG-4).
//   - Permissions: members, groups and organization settings need
//     kManageUsers; roles (built-in or custom) kManageAdministrators; domains
//     kManageDomains; reading members and the audit trail kViewUsage. Creating
//     organizations, and setting an organization's federation provider or
//     maintenance agreement, is the operator's alone (they are the vendor's
//     contract).
//   - Ending a membership (removal, ORG-5; or the move of ORG-2) removes the
//     member's roles, group places, named licenses and pool grants of that
//     organization's entitlements, and its project places there. Turning an
//     employee into an external member removes its roles.
//   - A direct add (ORG-10) needs an existing identity; an address with none is
//     refused with kUnknownUser (invite it instead). Of ORG-10's refusals, the
//     first that applies is reported, in this order: employee elsewhere, domain
//     owned elsewhere, domain pending, domain not the organization's.
//   - A domain claim's verification token is shown once (the host publishes it,
//     e.g. as a DNS record, and checks it); verifying needs that token.
//
// Thread-safe: every method may be called concurrently; each is atomic.
// Owned by a `Directory` (directory.h).
#ifndef ENTITLE_ORGANIZATIONS_H_
#define ENTITLE_ORGANIZATIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/email.h"
#include "entitle/ids.h"
#include "entitle/records.h"
#include "entitle/store.h"

namespace entitle {
namespace internal {
struct ServiceContext;
}  // namespace internal

inline constexpr std::string_view kAdministratorRole = "Administrator";
inline constexpr std::string_view kCoAdministratorRole = "Co-Administrator";
inline constexpr uint32_t kAllPermissions =
    kManageUsers | kManageAdministrators | kManageLicenses | kManageDomains |
    kViewUsage | kManageProjects;

// What an organization's administrators may set (kManageUsers).
struct OrganizationSettings {
  std::optional<std::string> name;                // 1 to 200 characters.
  std::optional<bool> discoverable;               // ORG-11
  std::optional<bool> auto_approve_domain_joins;  // INV-12
};

// What only the operator may set.
struct OperatorSettings {
  // ID-11: the identity provider whose users become employees just in time;
  // empty to end federation. At most one organization per provider.
  std::optional<std::string> federation_provider;
  // ORG-6: the end of the maintenance agreement; unset for none.
  std::optional<std::optional<absl::Time>> maintenance_until;
};

struct OrganizationInfo {
  OrganizationId id;
  std::string name;
  bool discoverable = false;
  bool auto_approve_domain_joins = false;
  std::string federation_provider;
  std::optional<absl::Time> maintenance_until;
  absl::Time created_at;
};

struct MemberInfo {
  IdentityId identity;
  Email email;
  std::string display_name;
  MembershipKind kind = MembershipKind::kExternal;
  MembershipStatus status = MembershipStatus::kActive;
  std::vector<std::string> roles;  // Role names, sorted.
  uint32_t permissions = 0;
  bool locked = false;
  bool covered_by_maintenance = false;  // ORG-6
  absl::Time since;
};

struct RoleInfo {
  RoleId id;
  std::string name;
  uint32_t permissions = 0;
  bool built_in = false;
};

struct DomainInfo {
  DomainId id;
  std::string name;
  DomainStatus status = DomainStatus::kPending;
  absl::Time claimed_at;
  std::optional<absl::Time> verified_at;
};

// A new claim (ORG-9) with its verification token, shown only here.
struct DomainClaim {
  DomainId id;
  std::string name;
  std::string verification_token;
};

// What an identity looking for an organization to join sees (ORG-11).
struct DiscoveredOrganization {
  OrganizationId id;
  std::string name;
};

struct AuditQuery {
  std::optional<IdentityId> actor;
  std::optional<std::string> action;
  std::optional<absl::Time> since;  // inclusive
  std::optional<absl::Time> until;  // exclusive
};

class Organizations {
 public:
  Organizations(const Organizations&) = delete;
  Organizations& operator=(const Organizations&) = delete;

  // ORG-1: the operator creates an organization named `name` with
  // `first_administrator` as its first administrator: an employee holding the
  // built-in Administrator role (ORG-2 applies: an employee membership
  // elsewhere ends). Fails with kPermissionDenied for any other actor,
  // kInvalidName for a bad name (SEC-6: valid UTF-8, no control or invisible
  // characters, 1 to 200 characters once trimmed; the same for role and
  // group names), kNotFound for an unknown identity,
  // kLastAdministrator when that identity is the last administrator of its
  // current employer.
  absl::StatusOr<OrganizationId> Create(const Actor& actor,
                                        std::string_view name,
                                        IdentityId first_administrator);

  absl::StatusOr<OrganizationInfo> Get(const Actor& actor,
                                       OrganizationId organization);
  absl::Status UpdateSettings(const Actor& actor, OrganizationId organization,
                              const OrganizationSettings& settings);
  // Operator only. kDuplicate when another organization has the provider.
  absl::Status UpdateOperatorSettings(const Actor& actor,
                                      OrganizationId organization,
                                      const OperatorSettings& settings);

  // ORG-10: adds the identity with address `email` directly as an employee.
  // Fails with kAlreadyMember, kEmployeeElsewhere, kDomainOwnedElsewhere,
  // kDomainPending, kDomainNotOwned, kUnknownUser.
  absl::Status AddEmployee(const Actor& actor, OrganizationId organization,
                           std::string_view email);
  // ORG-3: adds the identity with address `email` as an external member;
  // changes no other membership. Fails with kAlreadyMember, kUnknownUser.
  absl::Status AddExternal(const Actor& actor, OrganizationId organization,
                           std::string_view email);
  // ORG-3: upgrades an external member to employee (ORG-10's checks and
  // ORG-2's move apply) or downgrades an employee to external (its roles end;
  // kLastAdministrator for the last administrator).
  absl::Status ChangeMembershipKind(const Actor& actor,
                                    OrganizationId organization,
                                    IdentityId identity, MembershipKind kind);
  // ORG-5: ends the membership and everything it gave (see above).
  // kLastAdministrator for the last administrator; kNotMember.
  absl::Status RemoveMember(const Actor& actor, OrganizationId organization,
                            IdentityId identity);
  // Members in identity order, one page.
  absl::StatusOr<Page<MemberInfo>> ListMembers(const Actor& actor,
                                               OrganizationId organization,
                                               const PageRequest& page);
  absl::StatusOr<MemberInfo> GetMember(const Actor& actor,
                                       OrganizationId organization,
                                       IdentityId identity);

  // ORG-6: true when `identity` is an active employee and the agreement has
  // not ended. Any actor may ask about itself; admins need kViewUsage.
  absl::StatusOr<bool> IsCoveredByMaintenance(const Actor& actor,
                                              OrganizationId organization,
                                              IdentityId identity);

  // ORG-7: roles. Custom roles need a unique name and permissions within
  // kAllPermissions.
  absl::StatusOr<std::vector<RoleInfo>> ListRoles(const Actor& actor,
                                                  OrganizationId organization);
  absl::StatusOr<RoleId> CreateRole(const Actor& actor,
                                    OrganizationId organization,
                                    std::string_view name,
                                    uint32_t permissions);
  // Deleting a role revokes it from everyone; kLastAdministrator if that would
  // leave no administrator; built-in roles are refused (kInvalidArgument).
  absl::Status DeleteRole(const Actor& actor, OrganizationId organization,
                          RoleId role);
  // ORG-4: roles are for employees only (kNotEmployee).
  absl::Status GrantRole(const Actor& actor, OrganizationId organization,
                         IdentityId identity, RoleId role);
  absl::Status RevokeRole(const Actor& actor, OrganizationId organization,
                          IdentityId identity, RoleId role);

  // ORG-8: groups and their members (members of the organization only).
  absl::StatusOr<GroupId> CreateGroup(const Actor& actor,
                                      OrganizationId organization,
                                      std::string_view name);
  absl::Status DeleteGroup(const Actor& actor, OrganizationId organization,
                           GroupId group);
  absl::Status AddToGroup(const Actor& actor, OrganizationId organization,
                          GroupId group, IdentityId identity);
  absl::Status RemoveFromGroup(const Actor& actor, OrganizationId organization,
                               GroupId group, IdentityId identity);
  absl::StatusOr<std::vector<IdentityId>> ListGroupMembers(
      const Actor& actor, OrganizationId organization, GroupId group);

  // ORG-9: claims `domain` (pending). Fails with kPublicMailDomain,
  // kDomainOwnedElsewhere when another organization verified it, kDuplicate
  // when this organization already claimed it.
  absl::StatusOr<DomainClaim> ClaimDomain(const Actor& actor,
                                          OrganizationId organization,
                                          std::string_view domain);
  // ORG-9: verifies a pending claim with its token: the domain becomes owned.
  // Fails with kInvalidLink for a wrong token, kDomainOwnedElsewhere when
  // another organization verified it first.
  absl::Status VerifyDomain(const Actor& actor, OrganizationId organization,
                            DomainId domain, std::string_view token);
  absl::Status RemoveDomain(const Actor& actor, OrganizationId organization,
                            DomainId domain);
  absl::StatusOr<std::vector<DomainInfo>> ListDomains(
      const Actor& actor, OrganizationId organization);

  // ORG-11: organizations that own the actor's (verified) email domain and
  // allow discovery.
  absl::StatusOr<std::vector<DiscoveredOrganization>> Discover(
      const Actor& actor);

  // ORG-12: the organization's audit trail, oldest first, one page.
  absl::StatusOr<Page<AuditRecord>> ListAudit(const Actor& actor,
                                              OrganizationId organization,
                                              const AuditQuery& query,
                                              const PageRequest& page);

 private:
  // Made only by a Directory, which owns the context its services share.
  friend class Directory;
  explicit Organizations(internal::ServiceContext& context)
      : context_(context) {}

  internal::ServiceContext& context_;
};

}  // namespace entitle

#endif  // ENTITLE_ORGANIZATIONS_H_
