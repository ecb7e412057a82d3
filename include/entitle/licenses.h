// Entitlements, named licenses and floating seats (SPEC ENT-1 to ENT-12).
//
// An organization holds entitlements (ENT-1): a product code (SKU), a number
// of seats, a subscription period [period_start, period_end) and optionally
// the countries where it may be used. Each entitlement is one of two kinds:
//   - named (ENT-2): an admin assigns it to members, at most `seats` of them;
//   - floating (ENT-3): an admin gives members or groups access to a pool of
//     `seats` seats, reserved per (identity, device) while in use.
//
// Who may do what:
//   - Creating and changing entitlements is the vendor's: Actor::Operator()
//     only (a purchase, not an admin's choice). SetSeats lowers a seat count
//     with Permission::kManageLicenses; raising one stays the operator's.
//   - Assigning, granting pool access, pool exceptions and force-releasing
//     need Permission::kManageLicenses in the entitlement's organization; the
//     usage, license, holder and history views need kViewUsage or
//     kManageLicenses. The operator may do all of it.
//   - The checkout path (CheckAccess, Checkout, Heartbeat, Release) is the
//     licence server's: it takes the identity itself and is not audited.
// Every refusal returns a status with a Reason (entitle/status.h) and writes
// nothing; every successful change is audited.
//
// The checkout path reads no store per call. It works from an in-memory view
// of each identity's entitlements (memberships, assignments, pool access
// directly or through groups, lock state, device checks, periods, countries)
// and from in-memory seat pools (entitle/seat_pool.h). The view is rebuilt
// per identity on first use after any change committed through this
// Directory, and after a change by another process on the same store, which
// is noticed within LicensePolicy::external_change_delay (the store's
// ExternalChangeStamp is read at most that often). One process serves the
// seats of a store: pools live in the process that checks out; other
// processes (admin tools) change records only.
//
// SEC-8: every identifier the checkout path takes is checked on every call,
// before anything is looked up, stored or kept in memory: a device id must be
// 1 to kMaxDeviceIdBytes (256) printable ASCII characters without spaces
// (seat_types.h), else Reason::kInvalidDevice; a SKU 1 to 64 printable
// characters without spaces, else kInvalidArgument. Refusals never repeat the
// identifier.
//
// SEC-11: a seat is lost exactly LicensePolicy::seat_lease after its last
// checkout or heartbeat (seat_pool.h, "Times"), for as long as the directory
// runs. Directory::Create refuses a lease a pool cannot keep; a directory
// made with such a lease through its constructor refuses every Checkout and
// Heartbeat with kInvalidArgument instead.
//
// Pool exceptions ("denied access via an exception"): DenyPoolAccess denies
// one member a floating pool however it reaches it (directly or through its
// groups). CheckAccess and Checkout then refuse that pool with
// kAccessExcepted (also in ID-9's offline mode) and use another pool of the
// SKU if there is one; its seats there are freed at once; other members of
// its groups keep their access. RemovePoolException restores what the groups
// give. An exception is stored as the member's own row of the pool
// (PoolGrantRecord::denied): it replaces the member's direct grant, if any
// (removing the exception does not bring that back), and ends with the
// membership (ORG-5) or the identity (ID-13). Usage and expiry warnings do
// not count an excepted member as having access.
//
// Choices where the SPEC is silent:
//   - A named entitlement's checkout reserves no pool seat: its licenses are
//     the assignments. Checkout of a named license answers like CheckAccess.
//   - When an identity may use a SKU through several entitlements, named
//     assignments come first, then pools, each in entitlement id order; the
//     first that allows it is used, and a full pool passes on to the next
//     (kSeatsExhausted only when every pool it may use is full). A refusal
//     gives the reason of the entitlement that came closest (its period, then
//     its country), else kNoLicense.
//   - ENT-6: a pool's seats are released when its period has ended, at the
//     latest when the pool is next touched (checkout, heartbeat, a view,
//     RecordUsage); a heartbeat after the end fails with kOutsidePeriod.
//     A lease reported by Checkout never ends after the period's end.
//   - Lowering a named entitlement's seats below its assignments keeps them
//     (like ENT-7 for pools): no new assignment until below.
//   - Pool access can be granted outside the period (to prepare a renewal);
//     no seat is given outside it.
//   - ID-9 offline access: a locked identity keeps access on a device whose
//     last successful check (sign-in or access check) is within the
//     IdentityPolicy's offline grace; CheckAccess records a device's check at
//     most once per LicensePolicy::device_check_interval.
//   - ENT-12: RecordUsage, called by the host periodically (e.g. every
//     minute), reclaims expired seats and stores each pool's peak and
//     refusals per LicensePolicy::usage_window. Between calls, a peak below
//     the seat count can be missed; a pool seen full is always recorded.
//
// Thread-safe: every method may be called from any number of threads.
#ifndef ENTITLE_LICENSES_H_
#define ENTITLE_LICENSES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/ids.h"
#include "entitle/page.h"
#include "entitle/records.h"
#include "entitle/seat_types.h"

namespace entitle {

namespace internal {
struct ServiceContext;
}

// What an entitlement is bought as (ENT-1).
struct EntitlementTerms {
  std::string sku;  // 1..64 printable characters.
  EntitlementKind kind = EntitlementKind::kFloating;
  int64_t seats = 0;  // 1 .. kMaxSeatsPerPool.
  absl::Time period_start;
  absl::Time period_end;  // After period_start.
  // ISO 3166-1 alpha-2 codes (case-insensitive; stored upper case); empty
  // means everywhere.
  std::vector<std::string> countries;
};

// Who gets access to a pool (ENT-3): exactly one of the two.
struct PoolMember {
  std::optional<IdentityId> identity;
  std::optional<GroupId> group;
};

// The answer of CheckAccess (ENT-10).
struct AccessGrant {
  EntitlementId entitlement_id;
  OrganizationId organization_id;
  EntitlementKind kind = EntitlementKind::kFloating;
  absl::Time period_end;
  // True when the identity is locked and the device is within its offline
  // grace (ID-9 "disable mode").
  bool offline = false;
};

// A checked-out product (ENT-3, ENT-4).
struct SeatLease {
  AccessGrant access;
  // The pool seat; absent for a named license.
  std::optional<SeatHandle> seat;
  // When the seat is lost without a heartbeat: the lease end, never after
  // the period's end. For a named license, the period's end.
  absl::Time expires_at;
  bool renewed = false;  // The device already held this seat.
};

// ENT-8: one entitlement's usage.
struct EntitlementUsage {
  EntitlementRecord entitlement;
  int64_t purchased = 0;
  // Named: members assigned. Floating: distinct members with access,
  // directly or through a group.
  int64_t assigned_or_with_access = 0;
  int64_t in_use = 0;       // Floating: seats reserved now. Named: assigned.
  int64_t peak_in_use = 0;  // Over the window asked for.
  bool over_allocated = false;  // ENT-7: in use above the seat count.
  absl::Time period_end;
};

// ACT-3: the process that serves the seats of a store, as its claim says.
struct ServingClaim {
  std::string holder;  // LicensePolicy::serving_holder of that process.
  std::string host;
  int64_t process_id = 0;
  int64_t epoch = 0;  // Grows by one with each new holder.
  absl::Time claimed_at;
  absl::Time renewed_at;
  // Where the store cannot tell that a holder died, the claim is free after
  // this.
  absl::Time lease_until;
  bool this_directory = false;  // This Directory holds it.
};

// ACT-6: one ended activation of an organization's floating seat.
struct Session {
  ActivationId activation;
  EntitlementId entitlement;
  std::string sku;
  IdentityId identity;
  DeviceId device;
  absl::Time start;
  absl::Time end;
  ActivationEnd end_reason = ActivationEnd::kReleased;
};

// ACT-6: what ExportSessions writes.
enum class SessionExport {
  // One row per session: email, identity, device, sku, start, end,
  // end_reason, hours (the part of the session inside the range).
  kSessions,
  // One row per identity: email, identity, sessions, hours.
  kHoursPerIdentity,
};

// ENT-9: an entitlement whose period ends soon.
struct ExpiryWarning {
  EntitlementRecord entitlement;
  int64_t days_left = 0;  // Whole days until period_end, rounded up.
  // Members who use it: assigned (named) or with access (floating).
  std::vector<IdentityId> affected;
};

class Licenses {
 public:
  ~Licenses();
  Licenses(const Licenses&) = delete;
  Licenses& operator=(const Licenses&) = delete;

  // ------------------------------------------------------------ entitlements

  // ENT-1: a new entitlement of `organization`. Operator only. Fails with
  // kPermissionDenied, kNotFound (organization), kInvalidArgument (terms).
  absl::StatusOr<EntitlementRecord> CreateEntitlement(
      const Actor& actor, OrganizationId organization,
      const EntitlementTerms& terms);

  // ENT-1, ENT-7: changes the SKU, seats, period and countries. The kind
  // cannot change (kWrongEntitlementKind). Lowering the seats below use takes
  // nothing away and gives nothing new until use is below. Operator only.
  absl::StatusOr<EntitlementRecord> ChangeEntitlement(
      const Actor& actor, EntitlementId entitlement,
      const EntitlementTerms& terms);

  // ENT-7: sets the number of seats (1 .. kMaxSeatsPerPool) and nothing
  // else; audited ("entitlement.seats"). Lowering needs kManageLicenses in
  // the entitlement's organization: it takes no seat (or assignment) away
  // and gives no new one until use is below the new count. Raising is a
  // purchase: the operator only (kPermissionDenied for anyone else); a pool
  // grows at once, its holders keeping their leases. The same count changes
  // nothing and writes nothing. Fails with kNotFound (entitlement),
  // kPermissionDenied, kInvalidArgument (out of bounds). Returns the record.
  absl::StatusOr<EntitlementRecord> SetSeats(const Actor& actor,
                                             EntitlementId entitlement,
                                             int64_t seats);

  // ENT-8 license view: the organization's entitlements with their periods,
  // by id.
  absl::StatusOr<std::vector<EntitlementRecord>> ListEntitlements(
      const Actor& actor, OrganizationId organization);

  // ------------------------------------------------------------ named (ENT-2)

  // Assigns a named entitlement to a member (employee or external). Fails
  // with kWrongEntitlementKind (floating), kNotMember, kOutsidePeriod,
  // kCountryNotAllowed (the member's profile country is not allowed, or
  // unknown while the entitlement names countries), kAlreadyAssigned,
  // kLicensesExhausted ("All N licenses of SKU are assigned").
  absl::Status Assign(const Actor& actor, EntitlementId entitlement,
                      IdentityId identity);
  // Ends an assignment. kNotFound when there is none.
  absl::Status Unassign(const Actor& actor, EntitlementId entitlement,
                        IdentityId identity);
  absl::StatusOr<std::vector<LicenseAssignmentRecord>> ListAssignments(
      const Actor& actor, EntitlementId entitlement);

  // ------------------------------------------------------------ pools (ENT-3)

  // Gives a member or a group of the entitlement's organization access to a
  // floating entitlement. Fails with kWrongEntitlementKind (named),
  // kInvalidArgument (not exactly one of identity and group), kNotMember,
  // kNotFound (group of another organization or none), kAlreadyAssigned,
  // kAccessExcepted (an exception denies the member the pool).
  absl::StatusOr<PoolGrantRecord> GrantPoolAccess(const Actor& actor,
                                                  EntitlementId entitlement,
                                                  const PoolMember& member);
  // Removes a grant; seats held through it are lost at their next heartbeat.
  // kInvalidArgument for an exception's row (RemovePoolException lifts it).
  absl::Status RevokePoolAccess(const Actor& actor, PoolGrantId grant);
  // The pool's grants and exceptions (`denied`), by id.
  absl::StatusOr<std::vector<PoolGrantRecord>> ListPoolAccess(
      const Actor& actor, EntitlementId entitlement);

  // Denies `identity`, a member of the entitlement's organization, the
  // floating pool of `entitlement` by an exception (see above); its seats
  // in the pool are freed. Audited ("pool.deny"). Returns the exception's
  // row. Fails with kWrongEntitlementKind (named), kNotMember,
  // kAlreadyAssigned (already denied), kNotFound, kPermissionDenied.
  absl::StatusOr<PoolGrantRecord> DenyPoolAccess(const Actor& actor,
                                                 EntitlementId entitlement,
                                                 IdentityId identity);
  // Lifts that exception: the member has what its groups give again.
  // Audited ("pool.allow"). kNotFound when no exception denies it the pool.
  absl::Status RemovePoolException(const Actor& actor,
                                   EntitlementId entitlement,
                                   IdentityId identity);

  // ------------------------------------------------------------ checkout path

  // ENT-10: may `identity` use `sku` on `device` now? From its memberships,
  // assignments or pool access, lock state and offline grace (ID-9), pool
  // exceptions, the period and the country. Fails with kInvalidDevice and
  // kInvalidArgument (SEC-8: device, SKU), kNotFound (identity),
  // kIdentityLocked (locked, device not within its grace), kNoLicense,
  // kAccessExcepted, kOutsidePeriod, kCountryNotAllowed.
  absl::StatusOr<AccessGrant> CheckAccess(IdentityId identity,
                                          const std::string& sku,
                                          const DeviceId& device);

  // ENT-3, ENT-4, ENT-5: CheckAccess, then a seat for (identity, device) in
  // the pool: the same device gets its own seat back (renewed), another
  // device takes another seat. Fails as CheckAccess, or with kSeatsExhausted
  // and the message "All license seats are reserved", or kInvalidArgument
  // (SEC-11: the directory's seat lease is out of bounds).
  absl::StatusOr<SeatLease> Checkout(IdentityId identity,
                                     const std::string& sku,
                                     const DeviceId& device);

  // ENT-4, ENT-6: keeps the device's seat of `entitlement` alive. Access is
  // checked again (a removed member or revoked access fails with kNoLicense,
  // naming the SKU when the entitlement is one of the identity's
  // organizations'; an exception with kAccessExcepted), and a refusal frees
  // the device's seat. A seat lost meanwhile (expired and given to someone
  // else) is not taken back: a new one is reserved, or kSeatsExhausted. After
  // the period's end, kOutsidePeriod. kInvalidDevice as CheckAccess.
  absl::StatusOr<SeatLease> Heartbeat(IdentityId identity,
                                      EntitlementId entitlement,
                                      const DeviceId& device);

  // ENT-4: frees the device's seat. kSeatNotHeld when it holds none;
  // kInvalidDevice as CheckAccess.
  absl::Status Release(IdentityId identity, EntitlementId entitlement,
                       const DeviceId& device);

  // ------------------------------------------------------------ admin views

  // ENT-11: who holds each seat of a floating entitlement.
  absl::StatusOr<std::vector<SeatHolder>> Holders(const Actor& actor,
                                                  EntitlementId entitlement);
  // ENT-11: frees a device's seat; audited. kSeatNotHeld when none;
  // kInvalidDevice as CheckAccess.
  absl::Status ForceRelease(const Actor& actor, EntitlementId entitlement,
                            IdentityId identity, const DeviceId& device);

  // ENT-8: every entitlement of the organization with its usage; the peak
  // covers the last `peak_window` (recorded windows that overlap it, and the
  // use since the last RecordUsage).
  absl::StatusOr<std::vector<EntitlementUsage>> Usage(
      const Actor& actor, OrganizationId organization,
      absl::Duration peak_window);

  // ENT-9: the organization's entitlements whose period ends within `days`
  // (LicensePolicy::expiry_warning_days when absent), soonest first, with the
  // members who use them. Ended ones are not listed.
  absl::StatusOr<std::vector<ExpiryWarning>> ExpiryWarnings(
      const Actor& actor, OrganizationId organization,
      std::optional<int> days = std::nullopt);
  // ENT-9 for one user: the entitlements `identity` uses that end within
  // `days`, in the organizations where it is an active member, soonest
  // first. The identity itself, its employer's admins (kViewUsage), or the
  // operator. SEC-3: the identity itself and the operator see every
  // organization's; an administrator of its employer sees the employer's
  // entitlements only, never those of organizations the identity is an
  // external member of. kPermissionDenied for anyone else.
  absl::StatusOr<std::vector<ExpiryWarning>> ExpiryWarningsFor(
      const Actor& actor, IdentityId identity,
      std::optional<int> days = std::nullopt);

  // ENT-12: reclaims expired seats of every pool, releases pools whose period
  // ended, and records each pool's peak and refusals for the current window
  // (merged with what is already recorded for it). For the host to call
  // periodically. Fails only when the store fails.
  absl::Status RecordUsage();
  // ------------------------------------------------------------ activations

  // ACT-3, ACT-4: makes this directory the one that serves the seats of the
  // store: takes the serving claim (at once when its holder died, where the
  // store can tell; else once its lease ran out), waiting up to `wait` for
  // it, then rebuilds every pool from the open activations before it
  // returns. A directory also does this by itself on its first Checkout,
  // Heartbeat or Release, without waiting; Serve is for a standby that
  // waits to take over. OK at once when this directory already serves.
  // Fails with kServedElsewhere (the message names the holder) when the
  // wait ended, kFailedPrecondition when LicensePolicy::persist_activations
  // is false, or a store failure.
  absl::Status Serve(absl::Duration wait = absl::ZeroDuration());

  // ACT-3: who serves the store's seats now, from the store; nothing when no
  // process does.
  absl::StatusOr<std::optional<ServingClaim>> ServingStatus();

  // ACT-2: writes every activation change made so far in one group commit,
  // without waiting for the flush interval. OK when there was nothing to
  // write or this directory does not serve. Fails with kServedElsewhere
  // when another process took the claim meanwhile (the writes are fenced
  // off and this directory stops serving), or a store failure (the changes
  // stay queued for the next flush).
  absl::Status FlushActivations();

  // ACT-6: the organization's sessions (ended activations) that overlap
  // [from, to), by end time then id, one page of them. kViewUsage or
  // kManageLicenses. kInvalidArgument when `to` is not after `from` or the
  // page is out of bounds.
  absl::StatusOr<Page<Session>> Sessions(const Actor& actor,
                                         OrganizationId organization,
                                         absl::Time from, absl::Time to,
                                         const PageRequest& page);
  // ACT-6: the same sessions as CSV (RFC 4180, a header row first), hours
  // counted inside [from, to). An identity that is no longer a member of
  // the organization is named by its id only (SEC-3). Fails as Sessions.
  absl::StatusOr<std::string> ExportSessions(const Actor& actor,
                                             OrganizationId organization,
                                             absl::Time from, absl::Time to,
                                             SessionExport what);

  // ACT-7: up to `limit` (1..1000) events of the feed with an id above
  // `after`, oldest first: seat events and domain events. The operator reads
  // every organization's (or one's); an administrator with kViewUsage or
  // kManageLicenses reads its own organization's, which it must name.
  // Events that name no organization are the operator's only.
  absl::StatusOr<std::vector<FeedEventRecord>> Events(
      const Actor& actor, FeedEventId after, int limit,
      std::optional<OrganizationId> organization = std::nullopt);

  // ENT-12: the recorded windows of a floating entitlement that start in
  // [from, to), oldest first.
  absl::StatusOr<std::vector<PoolUsageRecord>> UsageHistory(
      const Actor& actor, EntitlementId entitlement, absl::Time from,
      absl::Time to);

 private:
  // Made only by a Directory, which owns the context its services share.
  friend class Directory;
  explicit Licenses(internal::ServiceContext& context);

  struct Checked;
  absl::StatusOr<Checked> Check(IdentityId identity, std::string_view sku,
                                std::optional<EntitlementId> only,
                                const DeviceId& device, absl::Time now);
  // ID-9: records that `device` passed a check (at most once per
  // LicensePolicy::device_check_interval), best effort.
  void RecordCheck(const Checked& checked, IdentityId identity,
                   const DeviceId& device, absl::Time now);
  absl::StatusOr<SeatLease> Reserve(const Checked& checked, IdentityId identity,
                                    const DeviceId& device, absl::Time now);

  internal::ServiceContext& context_;
};

}  // namespace entitle

#endif  // ENTITLE_LICENSES_H_
