// The records a store keeps, one struct per kind.
//
// Records are plain data: the services fill them in and enforce every rule; a
// store only keeps them, enforces their keys, their uniqueness rules and their
// references, and finds them by the fields of their `Filter`. Each record kind
// declares:
//   - `Key`: what names one record. Kinds with a store-assigned id use that id
//     (its field is ignored on insert and filled in by the store); link records
//     (a membership, an assignment, ...) are named by the ids they link.
//   - `Filter`: the fields a listing can be narrowed by. Every set field must
//     match (AND); an unset field matches everything.
// Listings are ordered by key, ascending: for id kinds that is creation order.
//
// Times are kept to the microsecond. Secrets are never kept: tokens only as a
// hash (`token_hash`, raw bytes), passwords only as a password hash.
//
// Uniqueness rules every store enforces (a second record that would break one
// is refused with AlreadyExists / `Reason::kDuplicate` and nothing is written):
//   identities:      email
//   memberships:     (organization, identity) is the key; at most one
//                    kEmployee membership per identity (SPEC ORG-2, ORG-3)
//   roles:           (organization, name)
//   role grants:     (organization, identity, role) is the key
//   groups:          (organization, name)
//   group members:   (group, identity) is the key
//   domains:         (organization, name); at most one kVerified per
//                    name (ORG-9)
//   invitations:     token_hash
//   request links:   token_hash
//   entitlements:    none beyond the id
//   assignments:     (entitlement, identity) is the key
//   pool grants:     (entitlement, identity) and (entitlement, group)
//   projects:        none beyond the id
//   project members: (project, identity) is the key
//   link tokens:     token_hash
//   device checks:   (identity, device) is the key
//   throttles:       (kind, subject) is the key
// References (a record naming a missing one is refused with FailedPrecondition
// / `Reason::kMissingReference`; deleting a record still named by another is
// refused with FailedPrecondition / `Reason::kStillReferenced`): every `*_id`
// field below that names another kind, except in audit and outbox records,
// which outlive what they describe. Fields that record who acted
// (`invited_by`, `decided_by`, `created_by`) are not references: the store
// keeps them as given, and deleting an identity clears them (ID-13).
#ifndef ENTITLE_RECORDS_H_
#define ENTITLE_RECORDS_H_

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "entitle/email.h"
#include "entitle/ids.h"

namespace entitle {

// ---------------------------------------------------------------- identities

struct IdentityFilter {
  std::optional<Email> email;
  std::optional<Email> pending_email;
  // The provider subject of a just-in-time created identity (ID-11).
  std::optional<std::string> federated_subject;
};

struct IdentityRecord {
  using Key = IdentityId;
  using Filter = IdentityFilter;

  IdentityId id;
  Email email;
  // A new address waiting for confirmation (ID-7); the old one signs in until
  // then.
  std::optional<Email> pending_email;
  std::string display_name;
  std::string country;  // ISO 3166-1 alpha-2, upper case; empty when unknown.
  std::string
      language;  // BCP 47 tag; empty when unset (ID-8 falls back to "en").
  bool verified = false;
  bool locked = false;
  bool profile_complete = false;
  std::string password_hash;      // Empty until a password is set.
  std::string federated_subject;  // Non-empty for federated identities.
  absl::Time created_at = absl::UnixEpoch();
  std::optional<absl::Time> last_login_at;

  friend bool operator==(const IdentityRecord&,
                         const IdentityRecord&) = default;
};

// ------------------------------------------------------------- organizations

struct OrganizationFilter {
  std::optional<bool> discoverable;
  std::optional<std::string> federation_provider;
};

struct OrganizationRecord {
  using Key = OrganizationId;
  using Filter = OrganizationFilter;

  OrganizationId id;
  std::string name;
  bool discoverable = false;               // ORG-11
  bool auto_approve_domain_joins = false;  // INV-12
  std::string federation_provider;         // ID-11; empty when not federated.
  std::optional<absl::Time> maintenance_until;  // ORG-6
  absl::Time created_at = absl::UnixEpoch();

  friend bool operator==(const OrganizationRecord&,
                         const OrganizationRecord&) = default;
};

enum class MembershipKind : int { kEmployee = 0, kExternal = 1 };
enum class MembershipStatus : int {
  kActive = 0,
  kPendingProfile = 1,  // ID-12: waits for the mandatory profile fields.
};

struct MembershipKey {
  OrganizationId organization_id;
  IdentityId identity_id;
  friend auto operator<=>(const MembershipKey&, const MembershipKey&) = default;
};

struct MembershipFilter {
  std::optional<OrganizationId> organization_id;
  std::optional<IdentityId> identity_id;
  std::optional<MembershipKind> kind;
  std::optional<MembershipStatus> status;
};

struct MembershipRecord {
  using Key = MembershipKey;
  using Filter = MembershipFilter;

  OrganizationId organization_id;
  IdentityId identity_id;
  MembershipKind kind = MembershipKind::kExternal;
  MembershipStatus status = MembershipStatus::kActive;
  absl::Time created_at = absl::UnixEpoch();

  friend bool operator==(const MembershipRecord&,
                         const MembershipRecord&) = default;
};

// ------------------------------------------------------------ roles, groups

// Permission bits of a role (ORG-7). A role's `permissions` is their OR.
enum Permission : uint32_t {
  kManageUsers = 1u << 0,
  kManageAdministrators = 1u << 1,
  kManageLicenses = 1u << 2,
  kManageDomains = 1u << 3,
  kViewUsage = 1u << 4,
  kManageProjects = 1u << 5,
};

struct RoleFilter {
  std::optional<OrganizationId> organization_id;
  std::optional<std::string> name;
};

struct RoleRecord {
  using Key = RoleId;
  using Filter = RoleFilter;

  RoleId id;
  OrganizationId organization_id;
  std::string name;
  uint32_t permissions = 0;
  bool built_in = false;

  friend bool operator==(const RoleRecord&, const RoleRecord&) = default;
};

struct RoleGrantKey {
  OrganizationId organization_id;
  IdentityId identity_id;
  RoleId role_id;
  friend auto operator<=>(const RoleGrantKey&, const RoleGrantKey&) = default;
};

struct RoleGrantFilter {
  std::optional<OrganizationId> organization_id;
  std::optional<IdentityId> identity_id;
  std::optional<RoleId> role_id;
};

// A member holding a role. The membership (organization, identity) must exist.
struct RoleGrantRecord {
  using Key = RoleGrantKey;
  using Filter = RoleGrantFilter;

  OrganizationId organization_id;
  IdentityId identity_id;
  RoleId role_id;
  absl::Time granted_at = absl::UnixEpoch();

  friend bool operator==(const RoleGrantRecord&,
                         const RoleGrantRecord&) = default;
};

struct GroupFilter {
  std::optional<OrganizationId> organization_id;
  std::optional<std::string> name;
};

struct GroupRecord {
  using Key = GroupId;
  using Filter = GroupFilter;

  GroupId id;
  OrganizationId organization_id;
  std::string name;
  absl::Time created_at = absl::UnixEpoch();

  friend bool operator==(const GroupRecord&, const GroupRecord&) = default;
};

struct GroupMemberKey {
  GroupId group_id;
  IdentityId identity_id;
  friend auto operator<=>(const GroupMemberKey&,
                          const GroupMemberKey&) = default;
};

struct GroupMemberFilter {
  std::optional<GroupId> group_id;
  std::optional<IdentityId> identity_id;
};

struct GroupMemberRecord {
  using Key = GroupMemberKey;
  using Filter = GroupMemberFilter;

  GroupId group_id;
  IdentityId identity_id;
  absl::Time added_at = absl::UnixEpoch();

  friend bool operator==(const GroupMemberRecord&,
                         const GroupMemberRecord&) = default;
};

// ------------------------------------------------------------------ domains

enum class DomainStatus : int { kPending = 0, kVerified = 1 };

struct DomainFilter {
  std::optional<OrganizationId> organization_id;
  std::optional<std::string> name;
  std::optional<DomainStatus> status;
};

struct DomainRecord {
  using Key = DomainId;
  using Filter = DomainFilter;

  DomainId id;
  OrganizationId organization_id;
  std::string name;  // Normalized (see NormalizeDomain).
  DomainStatus status = DomainStatus::kPending;
  std::string verification_token_hash;
  absl::Time created_at = absl::UnixEpoch();
  std::optional<absl::Time> verified_at;

  friend bool operator==(const DomainRecord&, const DomainRecord&) = default;
};

// -------------------------------------------------- invitations and joining

// kFirstAdministrator: made by the operator for an organization's first
// administrator (Invitations::CreateOrganizationForInvitee); accepting makes
// the invitee an employee holding the built-in Administrator role.
enum class InvitationKind : int {
  kEmployee = 0,
  kExternal = 1,
  kGroup = 2,
  kFirstAdministrator = 3,
};
// Expired is not a stored status: an invitation is expired when it is kNew and
// its `expires_at` has passed (INV-2, INV-4).
enum class InvitationStatus : int {
  kNew = 0,
  kAccepted = 1,
  kRejected = 2,
  kRevoked = 3,
  kSuperseded = 4,  // Its link was replaced by a resend (INV-3).
};

struct InvitationFilter {
  std::optional<OrganizationId> organization_id;
  std::optional<Email> email;
  std::optional<InvitationKind> kind;
  std::optional<InvitationStatus> status;
  std::optional<std::string> token_hash;
  std::optional<IdentityId> invited_by;
};

struct InvitationRecord {
  using Key = InvitationId;
  using Filter = InvitationFilter;

  InvitationId id;
  OrganizationId organization_id;
  Email email;
  InvitationKind kind = InvitationKind::kEmployee;
  std::optional<GroupId> group_id;  // Set for kGroup.
  InvitationStatus status = InvitationStatus::kNew;
  std::string token_hash;
  std::optional<IdentityId> invited_by;
  absl::Time created_at = absl::UnixEpoch();
  absl::Time expires_at = absl::UnixEpoch();
  std::optional<absl::Time> decided_at;

  friend bool operator==(const InvitationRecord&,
                         const InvitationRecord&) = default;
};

struct RequestLinkFilter {
  std::optional<OrganizationId> organization_id;
  std::optional<std::string> token_hash;
};

// A multi-use request-to-join link (INV-9).
struct RequestLinkRecord {
  using Key = RequestLinkId;
  using Filter = RequestLinkFilter;

  RequestLinkId id;
  OrganizationId organization_id;
  std::string token_hash;
  bool enabled = true;
  absl::Time created_at = absl::UnixEpoch();

  friend bool operator==(const RequestLinkRecord&,
                         const RequestLinkRecord&) = default;
};

enum class JoinRequestSource : int { kLink = 0, kDiscovery = 1 };
enum class JoinRequestStatus : int {
  kPending = 0,
  kApproved = 1,
  kRejected = 2
};

struct JoinRequestFilter {
  std::optional<OrganizationId> organization_id;
  std::optional<IdentityId> identity_id;
  std::optional<JoinRequestStatus> status;
  std::optional<IdentityId> decided_by;
};

struct JoinRequestRecord {
  using Key = JoinRequestId;
  using Filter = JoinRequestFilter;

  JoinRequestId id;
  OrganizationId organization_id;
  IdentityId identity_id;
  JoinRequestSource source = JoinRequestSource::kLink;
  JoinRequestStatus status = JoinRequestStatus::kPending;
  absl::Time created_at = absl::UnixEpoch();
  std::optional<absl::Time> decided_at;
  std::optional<IdentityId> decided_by;

  friend bool operator==(const JoinRequestRecord&,
                         const JoinRequestRecord&) = default;
};

// ------------------------------------------------------------- entitlements

// How an entitlement's seats are used: floating (a pool shared by the members
// and groups given access, ENT-3) or named (assigned to members, ENT-2).
enum class EntitlementKind : int { kFloating = 0, kNamed = 1 };

struct EntitlementFilter {
  std::optional<OrganizationId> organization_id;
  std::optional<std::string> sku;
};

struct EntitlementRecord {
  using Key = EntitlementId;
  using Filter = EntitlementFilter;

  EntitlementId id;
  OrganizationId organization_id;
  std::string sku;
  EntitlementKind kind = EntitlementKind::kFloating;
  int64_t seats = 0;
  absl::Time period_start = absl::UnixEpoch();
  absl::Time period_end = absl::UnixEpoch();
  // ISO 3166-1 alpha-2 codes where it may be used; empty means everywhere.
  std::vector<std::string> countries;
  absl::Time created_at = absl::UnixEpoch();

  friend bool operator==(const EntitlementRecord&,
                         const EntitlementRecord&) = default;
};

struct LicenseAssignmentKey {
  EntitlementId entitlement_id;
  IdentityId identity_id;
  friend auto operator<=>(const LicenseAssignmentKey&,
                          const LicenseAssignmentKey&) = default;
};

struct LicenseAssignmentFilter {
  std::optional<EntitlementId> entitlement_id;
  std::optional<IdentityId> identity_id;
};

// A named license (ENT-2).
struct LicenseAssignmentRecord {
  using Key = LicenseAssignmentKey;
  using Filter = LicenseAssignmentFilter;

  EntitlementId entitlement_id;
  IdentityId identity_id;
  absl::Time assigned_at = absl::UnixEpoch();

  friend bool operator==(const LicenseAssignmentRecord&,
                         const LicenseAssignmentRecord&) = default;
};

struct PoolGrantFilter {
  std::optional<EntitlementId> entitlement_id;
  std::optional<IdentityId> identity_id;
  std::optional<GroupId> group_id;
  std::optional<bool> denied;
};

// Access to an entitlement's floating pool (ENT-3) for one member or one group:
// exactly one of `identity_id` and `group_id` is set. With `denied`, the row is
// an exception instead (Licenses::DenyPoolAccess): its identity (never a
// group) is denied the pool, whatever groups give it access. An identity has
// at most one row per pool: a grant or an exception.
struct PoolGrantRecord {
  using Key = PoolGrantId;
  using Filter = PoolGrantFilter;

  PoolGrantId id;
  EntitlementId entitlement_id;
  std::optional<IdentityId> identity_id;
  std::optional<GroupId> group_id;
  absl::Time granted_at = absl::UnixEpoch();  // Or denied at.
  bool denied = false;

  friend bool operator==(const PoolGrantRecord&,
                         const PoolGrantRecord&) = default;
};

// ----------------------------------------------------------------- projects

// An archived project keeps its members but takes no changes and is not
// counted as active (PRJ-5).
enum class ProjectStatus : int { kActive = 0, kArchived = 1 };

struct ProjectFilter {
  std::optional<OrganizationId> organization_id;
  std::optional<EntitlementId> entitlement_id;
  std::optional<std::string> region;
  std::optional<ProjectStatus> status;
};

struct ProjectRecord {
  using Key = ProjectId;
  using Filter = ProjectFilter;

  ProjectId id;
  OrganizationId organization_id;
  EntitlementId entitlement_id;
  std::string name;
  std::string region;
  ProjectStatus status = ProjectStatus::kActive;
  absl::Time created_at = absl::UnixEpoch();

  friend bool operator==(const ProjectRecord&, const ProjectRecord&) = default;
};

enum class ProjectRole : int { kUser = 0, kAdmin = 1 };

struct ProjectMemberKey {
  ProjectId project_id;
  IdentityId identity_id;
  friend auto operator<=>(const ProjectMemberKey&,
                          const ProjectMemberKey&) = default;
};

struct ProjectMemberFilter {
  std::optional<ProjectId> project_id;
  std::optional<IdentityId> identity_id;
  std::optional<OrganizationId> organization_id;
};

// A member of a project. `organization_id` repeats the project's organization
// (the services keep the two equal) so that the account queries (PRJ-4,
// PRJ-5) are answered from one index without a join.
struct ProjectMemberRecord {
  using Key = ProjectMemberKey;
  using Filter = ProjectMemberFilter;

  ProjectId project_id;
  IdentityId identity_id;
  OrganizationId organization_id;
  ProjectRole role = ProjectRole::kUser;
  absl::Time added_at = absl::UnixEpoch();

  friend bool operator==(const ProjectMemberRecord&,
                         const ProjectMemberRecord&) = default;
};

// PRJ-4: one distinct user of an organization's projects.
struct ProjectUserCount {
  IdentityId identity_id;
  int64_t project_count = 0;  // Projects of the organization it is in.
  friend bool operator==(const ProjectUserCount&,
                         const ProjectUserCount&) = default;
};

enum class JobStatus : int {
  kQueued = 0,
  kRunning = 1,
  kDone = 2,
  kFailed = 3
};

struct JobFilter {
  std::optional<OrganizationId> organization_id;
  std::optional<JobStatus> status;
  std::optional<IdentityId> created_by;
};

// A batch job (PRJ-6). `request` and `result` are JSON documents.
struct JobRecord {
  using Key = JobId;
  using Filter = JobFilter;

  JobId id;
  OrganizationId organization_id;
  std::optional<IdentityId> created_by;
  std::string kind;
  JobStatus status = JobStatus::kQueued;
  std::string request;
  std::string result;
  absl::Time created_at = absl::UnixEpoch();
  std::optional<absl::Time> finished_at;

  friend bool operator==(const JobRecord&, const JobRecord&) = default;
};

// ------------------------------------------------------ audit, outbox, links

struct AuditFilter {
  std::optional<OrganizationId> organization_id;
  std::optional<IdentityId> actor_id;
  std::optional<std::string> action;
  std::optional<absl::Time> since;  // at >= since
  std::optional<absl::Time> until;  // at < until
};

// One change made through the library (ORG-12). Audit records are only ever
// appended; they name ids that may no longer exist.
struct AuditRecord {
  using Key = AuditId;
  using Filter = AuditFilter;

  AuditId id;
  absl::Time at = absl::UnixEpoch();
  std::optional<IdentityId> actor_id;  // Unset: the operator or the system.
  std::optional<OrganizationId> organization_id;
  std::string action;   // e.g. "membership.add"
  std::string target;   // e.g. "identity#12"
  std::string outcome;  // "ok", or the reason name of a refusal.
  std::string detail;

  friend bool operator==(const AuditRecord&, const AuditRecord&) = default;
};

struct OutboxFilter {
  std::optional<Email> recipient;
  std::optional<std::string> template_name;
};

// A message handed to the notifier, kept as a delivery log. It never holds the
// link itself: links are passed to the notifier once and never stored.
struct OutboxRecord {
  using Key = OutboxId;
  using Filter = OutboxFilter;

  OutboxId id;
  absl::Time created_at = absl::UnixEpoch();
  Email recipient;
  std::string template_name;  // e.g. "invitation", "password-reset"
  std::string subject;

  friend bool operator==(const OutboxRecord&, const OutboxRecord&) = default;
};

enum class LinkPurpose : int {
  kVerifyEmail = 0,    // ID-3: set the first password, verify the address.
  kPasswordReset = 1,  // ID-6
  kEmailChange = 2,    // ID-7
};

enum class LinkStatus : int {
  kActive = 0,
  kUsed = 1,
  kSuperseded = 2,  // A newer link of the same purpose, or a password change,
                    // killed it.
};

struct LinkTokenFilter {
  std::optional<IdentityId> identity_id;
  std::optional<LinkPurpose> purpose;
  std::optional<LinkStatus> status;
  std::optional<std::string> token_hash;
};

// A single-use link sent to an identity (INV-7 token rules).
struct LinkTokenRecord {
  using Key = LinkTokenId;
  using Filter = LinkTokenFilter;

  LinkTokenId id;
  IdentityId identity_id;
  LinkPurpose purpose = LinkPurpose::kVerifyEmail;
  std::string token_hash;
  std::optional<Email> new_email;  // kEmailChange: the address to confirm.
  absl::Time created_at = absl::UnixEpoch();
  absl::Time expires_at = absl::UnixEpoch();
  LinkStatus status = LinkStatus::kActive;

  friend bool operator==(const LinkTokenRecord&,
                         const LinkTokenRecord&) = default;
};

struct DeviceCheckKey {
  IdentityId identity_id;
  DeviceId device_id;
  friend auto operator<=>(const DeviceCheckKey&,
                          const DeviceCheckKey&) = default;
};

struct DeviceCheckFilter {
  std::optional<IdentityId> identity_id;
};

// The last time a device of an identity checked access successfully (ID-9's
// offline grace runs from it).
struct DeviceCheckRecord {
  using Key = DeviceCheckKey;
  using Filter = DeviceCheckFilter;

  IdentityId identity_id;
  DeviceId device_id;
  absl::Time checked_at = absl::UnixEpoch();

  friend bool operator==(const DeviceCheckRecord&,
                         const DeviceCheckRecord&) = default;
};

// ------------------------------------------------------------- pool usage

struct PoolUsageKey {
  EntitlementId entitlement_id;
  absl::Time window_start = absl::UnixEpoch();
  friend bool operator==(const PoolUsageKey&, const PoolUsageKey&) = default;
  friend bool operator<(const PoolUsageKey& a, const PoolUsageKey& b) {
    return a.entitlement_id != b.entitlement_id
               ? a.entitlement_id < b.entitlement_id
               : a.window_start < b.window_start;
  }
};

struct PoolUsageFilter {
  std::optional<EntitlementId> entitlement_id;
};

// ENT-12: the most seats of a floating entitlement's pool in use at once
// during one window (the window length is the host's LicensePolicy), and how
// many reservations found every seat reserved.
struct PoolUsageRecord {
  using Key = PoolUsageKey;
  using Filter = PoolUsageFilter;

  EntitlementId entitlement_id;
  absl::Time window_start = absl::UnixEpoch();
  int64_t peak_in_use = 0;
  int64_t refusals = 0;

  friend bool operator==(const PoolUsageRecord&,
                         const PoolUsageRecord&) = default;
};

// ---------------------------------------------------------------- throttles

// What a throttle counts (SEC-10). The stores keep the kind by name, and the
// names sort in the order of the values, so listings are in key order on
// every backend.
enum class ThrottleKind : int {
  kMail = 0,            // "mail": link mails to an address (subject: address).
  kSignInClient = 1,    // "sign-in-client": failed sign-ins from a client
                        // address the host passed (subject: that address).
  kSignInIdentity = 2,  // "sign-in-identity": failed sign-ins for an email
                        // address (subject: the normalized address asked
                        // for, whether or not an identity has it).
};

struct ThrottleKey {
  ThrottleKind kind = ThrottleKind::kMail;
  std::string subject;
  friend auto operator<=>(const ThrottleKey&, const ThrottleKey&) = default;
};

struct ThrottleFilter {
  std::optional<ThrottleKind> kind;
  std::optional<absl::Time> expired_before;  // expires_at < expired_before
};

// SEC-10: the recent events of one kind for one subject, kept so that every
// process on the store counts the same. `events` holds the times of the most
// recent events, oldest first: the services keep at most as many as their
// limit allows, which makes "n events within a window" exact for any window
// (a sliding window, not buckets). `expires_at` is when the newest event
// leaves the window it was counted in: from then on the record says nothing
// and may be deleted.
struct ThrottleRecord {
  using Key = ThrottleKey;
  using Filter = ThrottleFilter;

  ThrottleKind kind = ThrottleKind::kMail;
  std::string subject;
  std::vector<absl::Time> events;
  absl::Time expires_at = absl::UnixEpoch();

  friend bool operator==(const ThrottleRecord&,
                         const ThrottleRecord&) = default;
};

// -------------------------------------------------------------- activations

// How an activation ended (ACT-2); kOpen while its seat is held. The stores
// keep it by name ("open", "released", "expired", "revoked",
// "force-released", "period-ended", "lost").
enum class ActivationEnd : int {
  kOpen = 0,
  kReleased = 1,       // The device released the seat (ENT-4).
  kExpired = 2,        // No heartbeat within the lease (ENT-4, SEC-11).
  kRevoked = 3,        // Access ended: membership, grant, exception, lock.
  kForceReleased = 4,  // An administrator freed the seat (ENT-11, ACT-5).
  kPeriodEnded = 5,    // The subscription period ended (ENT-6).
  kLost = 6,           // A restart could not give the seat back: its
                       // entitlement is gone or the seat was named twice.
};

struct ActivationFilter {
  std::optional<ActivationId> after;  // id > after (paging by key)
  std::optional<EntitlementId> entitlement_id;
  std::optional<OrganizationId> organization_id;
  std::optional<IdentityId> identity_id;
  std::optional<ActivationEnd> end_reason;   // kOpen: the open ones.
  std::optional<absl::Time> ended_since;     // ended_at >= ended_since
  std::optional<absl::Time> ended_before;    // ended_at < ended_before
  std::optional<absl::Time> started_before;  // since < started_before
};

// ACT-1: one device's hold of one floating seat, written behind the checkout
// path by the process that serves the store's seats; once ended it is a
// session (ACT-6) kept for LicensePolicy::session_retention.
struct ActivationRecord {
  using Key = ActivationId;
  using Filter = ActivationFilter;

  ActivationId id;
  EntitlementId entitlement_id;
  OrganizationId organization_id;
  IdentityId identity_id;
  DeviceId device_id;
  int64_t seat = 0;  // The seat's index in the pool.
  absl::Time since = absl::UnixEpoch();
  absl::Time last_heartbeat = absl::UnixEpoch();
  absl::Time expires_at = absl::UnixEpoch();  // The lease end last written.
  ActivationEnd end_reason = ActivationEnd::kOpen;
  std::optional<absl::Time> ended_at;  // Set once it ended.
  int64_t epoch = 0;  // The serving claim's epoch that last wrote it.

  friend bool operator==(const ActivationRecord&,
                         const ActivationRecord&) = default;
};

// ------------------------------------------------------------ serving claim

struct ServingClaimKey {
  std::string scope;
  friend auto operator<=>(const ServingClaimKey&,
                          const ServingClaimKey&) = default;
};

struct ServingClaimFilter {
  std::optional<std::string> scope;
};

// ACT-3: which process serves the seats of a store ("seats": all of them).
// `epoch` grows by one with each new holder and fences the writes of an
// earlier one. `holder` is empty when the last holder gave the claim up.
struct ServingClaimRecord {
  using Key = ServingClaimKey;
  using Filter = ServingClaimFilter;

  std::string scope;
  std::string holder;  // The name the serving process gave itself.
  std::string host;
  int64_t process_id = 0;
  int64_t epoch = 0;
  absl::Time claimed_at = absl::UnixEpoch();
  absl::Time renewed_at = absl::UnixEpoch();
  // Where the store cannot tell that a holder died: free after this.
  absl::Time lease_until = absl::UnixEpoch();

  friend bool operator==(const ServingClaimRecord&,
                         const ServingClaimRecord&) = default;
};

// ----------------------------------------------------------------- the feed

// What a feed event says happened (ACT-7). The stores keep it by name
// ("checkout", "release", "expiry", "refusal", "force-release", "revocation",
// "period-end", "employee-organization-changed").
enum class FeedEventKind : int {
  kCheckout = 0,      // A device took a seat.
  kRelease = 1,       // A device released its seat.
  kExpiry = 2,        // A seat's lease ended without a heartbeat.
  kRefusal = 3,       // A checkout or heartbeat was refused; `reason` says why.
  kForceRelease = 4,  // An administrator freed a seat.
  kRevocation = 5,    // A seat went with the access it was held by.
  kPeriodEnd = 6,     // A seat went with its entitlement's period.
  kEmployeeOrganizationChanged = 7,  // ORG-2 (events.h).
};

struct FeedEventFilter {
  std::optional<FeedEventId> after;  // id > after
  std::optional<OrganizationId> organization_id;
  std::optional<FeedEventKind> kind;
  std::optional<absl::Time> before;  // at < before
};

// ACT-7: one event of the durable feed; ids increase in the order the events
// were committed.
struct FeedEventRecord {
  using Key = FeedEventId;
  using Filter = FeedEventFilter;

  FeedEventId id;
  absl::Time at = absl::UnixEpoch();
  FeedEventKind kind = FeedEventKind::kCheckout;
  std::optional<OrganizationId> organization_id;
  std::optional<EntitlementId> entitlement_id;
  std::optional<IdentityId> identity_id;
  std::string device_id;  // Empty when the event names no device.
  std::string reason;     // A refusal's reason name (status.h), else empty.
  std::string detail;

  friend bool operator==(const FeedEventRecord&,
                         const FeedEventRecord&) = default;
};

}  // namespace entitle

#endif  // ENTITLE_RECORDS_H_
