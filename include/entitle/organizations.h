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
//   - SEC-2: a locked administrator cannot administer, so it does not count
//     as a remaining administrator: "the last administrator" above is the
//     last *unlocked* one, and it cannot be locked either (Identities::Lock),
//     whoever asks, the operator included (kLastAdministrator). Precisely:
//     a change that takes administrator rights away is refused when no
//     *other* unlocked administrator would remain. So an organization whose
//     administrators are all locked (made so directly, or by granting the
//     role to a locked employee) keeps every one of them until the operator
//     or an administrator unlocks one.
//   - SEC-2: a change that affects an administrator of the organization
//     (ChangeMembershipKind, RemoveMember; Identities::Lock, Unlock, Delete
//     and an administrator's RequestPasswordReset) needs kManageAdministrators
//     there besides the operation's own permission; a Co-Administrator is
//     refused with kPermissionDenied and nothing changes. The operator may,
//     and so may the administrator itself where the operation lets an
//     identity act on itself. The permission is checked before ORG-4, so an
//     actor without it learns kPermissionDenied, not whether the target is
//     the last administrator.
//   - ORG-2's move of an administrator to an employee membership elsewhere
//     is always the identity's own doing (accepting an invitation, its join
//     request being approved) or the operator's (Create): only ORG-4 applies
//     to it. Direct adds and upgrades never move an employee
//     (kEmployeeElsewhere).
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
//   - SEC-3: what an organization's admins read of identities is limited to
//     its members: GetMember of anyone else is kNotMember, naming only the
//     id; an identity's account (Identities::Get) is its employer's to read;
//     the audit trail holds only the organization's own records (ListAudit).
//   - A direct add (ORG-10) needs an existing identity; an address with none is
//     refused with kUnknownUser (invite it instead). Of ORG-10's refusals, the
//     first that applies is reported, in this order: employee elsewhere, domain
//     owned elsewhere, domain pending, domain not the organization's.
//   - SEC-4: a domain claim is proven through DNS, never by handing its token
//     back. ClaimDomain returns the TXT record to publish (domain_verifier.h:
//     "_entitle-challenge.<domain in A-label form>" with the value
//     "entitle-domain-verification=<token>"); the token is shown only then and
//     stored only as a hash. VerifyDomain asks the Directory's DomainVerifier
//     for that name's TXT records, before opening its transaction, and
//     verifies the claim when one carries the token. The operator may instead
//     verify a claim directly (VerifyDomainByOperator), for a vendor that
//     checked ownership another way; the audit trail names which way each
//     domain was verified ("domain.verify" through DNS,
//     "domain.verify.operator" directly).
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
  // SEC-4: the DNS name whose TXT records prove the claim (the value, which
  // holds the token, was shown only by ClaimDomain).
  std::string record_name;
};

// A new claim (ORG-9, SEC-4) with what proves it, shown only here: the host
// shows the admin `record_name` and `record_value` to publish in the domain's
// DNS as a TXT record, then calls VerifyDomain.
struct DomainClaim {
  DomainId id;
  std::string name;
  std::string verification_token;  // The secret inside record_value.
  std::string record_name;         // "_entitle-challenge.<A-label domain>"
  std::string record_value;        // "entitle-domain-verification=<token>"
};

// One membership of an identity, as the identity itself (or the operator)
// sees it (MembershipsOf).
struct MembershipSummary {
  OrganizationId organization;
  std::string organization_name;
  MembershipKind kind = MembershipKind::kExternal;
  MembershipStatus status = MembershipStatus::kActive;
  std::vector<std::string> roles;  // Role names there, sorted.
  absl::Time since;
};

// Every organization an identity belongs to, and its employer (ORG-2, ORG-3).
struct IdentityMemberships {
  std::optional<OrganizationId> employer;      // Unset when employed nowhere.
  std::vector<MembershipSummary> memberships;  // In organization id order.
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
  // group names), kNotFound for an unknown identity, kLastAdministrator when
  // that identity is the last unlocked administrator of its current employer.
  // For a first administrator known only by address, see
  // Invitations::CreateOrganizationForInvitee.
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
  // kLastAdministrator for the last unlocked administrator). SEC-2: for an
  // administrator, kPermissionDenied without kManageAdministrators.
  absl::Status ChangeMembershipKind(const Actor& actor,
                                    OrganizationId organization,
                                    IdentityId identity, MembershipKind kind);
  // ORG-5: ends the membership and everything it gave (see above).
  // kLastAdministrator for the last unlocked administrator; kNotMember.
  // SEC-2: for an administrator, kPermissionDenied without
  // kManageAdministrators.
  absl::Status RemoveMember(const Actor& actor, OrganizationId organization,
                            IdentityId identity);
  // Members in identity order, one page.
  absl::StatusOr<Page<MemberInfo>> ListMembers(const Actor& actor,
                                               OrganizationId organization,
                                               const PageRequest& page);
  absl::StatusOr<MemberInfo> GetMember(const Actor& actor,
                                       OrganizationId organization,
                                       IdentityId identity);

  // ORG-2, ORG-3: "which organizations am I in, and which is my employer":
  // every membership of `identity` (organization id and name, kind, status,
  // role names) and its employer. Only the identity itself (signed in, not
  // locked) and the operator may ask: an administrator of one organization
  // must not learn the identity's other organizations (SEC-3), so anyone
  // else is refused with kPermissionDenied before the identity is looked up.
  // kNotFound for an unknown identity (operator). A read: writes nothing.
  absl::StatusOr<IdentityMemberships> MembershipsOf(const Actor& actor,
                                                    IdentityId identity);

  // ORG-6: true when `identity` is an active employee and the agreement has
  // not ended. Any actor may ask about itself; admins need kViewUsage.
  // SEC-3: false for an identity that is not a member (known or not), so the
  // answer tells nothing about identities outside the organization.
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
  // leave no unlocked administrator; built-in roles are refused
  // (kInvalidArgument).
  absl::Status DeleteRole(const Actor& actor, OrganizationId organization,
                          RoleId role);
  // ORG-4: roles are for employees only (kNotEmployee).
  absl::Status GrantRole(const Actor& actor, OrganizationId organization,
                         IdentityId identity, RoleId role);
  // kLastAdministrator when it would leave no unlocked administrator.
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

  // ORG-9: claims `domain` (pending) and returns the TXT record that proves
  // it (SEC-4). Needs kManageDomains. Fails with kPublicMailDomain,
  // kDomainOwnedElsewhere when another organization verified it, kDuplicate
  // when this organization already claimed it, kInvalidArgument for a domain
  // that is malformed or has no DNS form. Several organizations may hold a
  // pending claim on one domain; the first to prove it owns it.
  absl::StatusOr<DomainClaim> ClaimDomain(const Actor& actor,
                                          OrganizationId organization,
                                          std::string_view domain);
  // ORG-9, SEC-4: verifies a pending claim by DNS: the domain becomes owned
  // when a TXT record at the claim's record name carries the claim's token.
  // Needs kManageDomains. The lookup runs outside the store transaction;
  // the transaction then re-reads the claim and matches the answer against
  // it. OK at once, without a lookup, when the claim is already verified.
  // Fails, changing nothing and writing no audit record, with:
  //   kDomainProofMissing (kFailedPrecondition): no TXT record there carries
  //     the token (none published, not yet visible, or another token);
  //   kVerifierUnavailable (kUnavailable): DNS could not be asked (the
  //     verifier's failure: no server, timeout, SERVFAIL); try again later;
  //   kDomainOwnedElsewhere: another organization verified it first;
  //   kNotFound: the organization has no such claim (removed meanwhile).
  absl::Status VerifyDomain(const Actor& actor, OrganizationId organization,
                            DomainId domain);
  // SEC-4: the operator marks a pending claim verified without a DNS proof
  // (the vendor checked ownership another way), audited as
  // "domain.verify.operator". kPermissionDenied for any other actor, even the
  // organization's administrators; otherwise fails as VerifyDomain does when
  // the claim is missing or another organization owns the domain.
  absl::Status VerifyDomainByOperator(const Actor& actor,
                                      OrganizationId organization,
                                      DomainId domain);
  absl::Status RemoveDomain(const Actor& actor, OrganizationId organization,
                            DomainId domain);
  absl::StatusOr<std::vector<DomainInfo>> ListDomains(
      const Actor& actor, OrganizationId organization);

  // ORG-11: organizations that own the actor's (verified) email domain and
  // allow discovery.
  absl::StatusOr<std::vector<DiscoveredOrganization>> Discover(
      const Actor& actor);

  // ORG-12: the organization's audit trail, oldest first, one page. Needs
  // kViewUsage. SEC-3: the trail holds only the organization's own records,
  // and a change made in it by an identity from outside it (an
  // administrator of another organization whose act ended a membership
  // here: the member's move to that employer, ORG-2, or its deletion, ID-13)
  // names no actor: actor_id is unset and the detail starts "by another
  // organization".
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
