#include "entitle/licenses.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <string_view>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/device_id_check.h"
#include "base/status_macros.h"
#include "base/string_view.h"
#include "entitle/status.h"
#include "licenses/licenses_internal.h"
#include "licenses/seat_registry.h"
#include "service/authorization.h"
#include "service/operation.h"
#include "service/service_context.h"

namespace entitle {

using internal::AccessCandidate;
using internal::AuditTarget;
using internal::IdentityView;
using internal::ListAll;
using internal::Operation;
using internal::PoolSlot;
using internal::Reading;
using internal::SeatRegistry;

namespace {

constexpr size_t kMaxSkuLength = 64;

// The seat pools and the checkout view. The Directory makes its SeatRegistry
// the context's SeatReleaser; licenses is the one layer that knows the type.
SeatRegistry& Seats(internal::ServiceContext& context) {
  return static_cast<SeatRegistry&>(*context.seats);
}

absl::Status Invalid(std::string_view message) {
  return MakeError(absl::StatusCode::kInvalidArgument, Reason::kInvalidArgument,
                   message);
}

// SEC-8: a product code as entitlements have it, on every call that takes
// one: 1 to 64 printable ASCII characters without spaces. The message never
// repeats the code (it may be anything, of any size).
absl::Status CheckSku(std::string_view sku) {
  if (sku.empty() || sku.size() > kMaxSkuLength ||
      !std::all_of(sku.begin(), sku.end(),
                   [](char c) { return c > ' ' && c < 0x7f; })) {
    return Invalid(
        "A product code is 1 to 64 printable characters without spaces.");
  }
  return absl::OkStatus();
}

absl::StatusOr<EntitlementTerms> Normalize(EntitlementTerms terms) {
  ENTITLE_RETURN_IF_ERROR(CheckSku(terms.sku));
  if (terms.seats < 1 || terms.seats > SeatPoolCore::kMaxSeats) {
    return Invalid(absl::StrCat("The number of seats must be between 1 and ",
                                SeatPoolCore::kMaxSeats, "."));
  }
  if (!(terms.period_start < terms.period_end)) {
    return Invalid("The subscription period must end after it starts.");
  }
  std::set<std::string> countries;
  for (std::string& country : terms.countries) {
    if (country.size() != 2 || !absl::ascii_isalpha(country[0]) ||
        !absl::ascii_isalpha(country[1])) {
      return Invalid(absl::StrCat(
          "\"", country, "\" is not an ISO 3166-1 alpha-2 country code."));
    }
    countries.insert(absl::AsciiStrToUpper(country));
  }
  terms.countries.assign(countries.begin(), countries.end());
  return terms;
}

bool InPeriod(const EntitlementRecord& e, absl::Time now) {
  return e.period_start <= now && now < e.period_end;
}

bool CountryAllowed(const EntitlementRecord& e, const std::string& country) {
  if (e.countries.empty()) return true;
  return std::find(e.countries.begin(), e.countries.end(), country) !=
         e.countries.end();
}

absl::Status OutsidePeriod(const EntitlementRecord& e) {
  return MakeError(absl::StatusCode::kFailedPrecondition,
                   Reason::kOutsidePeriod,
                   absl::StrCat("The subscription for ", e.sku,
                                " is not active: it runs from ",
                                absl::FormatTime(e.period_start), " to ",
                                absl::FormatTime(e.period_end), "."));
}

absl::Status CountryRefused(const EntitlementRecord& e,
                            const std::string& country) {
  return MakeError(
      absl::StatusCode::kFailedPrecondition, Reason::kCountryNotAllowed,
      absl::StrCat(e.sku, " may only be used in ",
                   absl::StrJoin(e.countries, ", "),
                   country.empty() ? "; the member's country is not set."
                                   : absl::StrCat("; not in ", country, ".")));
}

absl::Status NoLicense(std::string_view sku) {
  return MakeError(absl::StatusCode::kPermissionDenied, Reason::kNoLicense,
                   absl::StrCat("No license for ", AbslView(sku), "."));
}

absl::Status AccessExcepted(const EntitlementRecord& e) {
  return MakeError(
      absl::StatusCode::kPermissionDenied, Reason::kAccessExcepted,
      absl::StrCat("Access to the ", e.sku,
                   " pool is denied to this member by an exception; an "
                   "administrator of the organization can remove it."));
}

absl::Status SeatsExhausted() {
  return MakeError(absl::StatusCode::kResourceExhausted,
                   Reason::kSeatsExhausted, "All license seats are reserved");
}

absl::Status SeatNotHeld() {
  return MakeError(absl::StatusCode::kNotFound, Reason::kSeatNotHeld,
                   "This device holds no seat of the entitlement.");
}

absl::Status WrongKind(const EntitlementRecord& e) {
  return MakeError(
      absl::StatusCode::kFailedPrecondition, Reason::kWrongEntitlementKind,
      e.kind == EntitlementKind::kNamed
          ? absl::StrCat(e.sku, " is a named license: assign it to members.")
          : absl::StrCat(e.sku,
                         " is a floating license: give members pool access."));
}

absl::StatusOr<EntitlementRecord> LoadEntitlement(Transaction& tx,
                                                  EntitlementId id) {
  absl::StatusOr<EntitlementRecord> e = tx.entitlements().Get(id);
  if (!e.ok() && GetReason(e.status()) == Reason::kNotFound) {
    return MakeError(absl::StatusCode::kNotFound, Reason::kNotFound,
                     "No such entitlement.");
  }
  return e;
}

absl::Status RequireOperator(const Actor& actor) {
  if (actor.is_operator()) return absl::OkStatus();
  return internal::PermissionDenied(
      "manage entitlements (the vendor's operator only)");
}

// kViewUsage or kManageLicenses.
absl::Status RequireViewer(Transaction& tx, const Actor& actor,
                           OrganizationId organization) {
  absl::Status s =
      internal::RequirePermission(tx, actor, organization, kViewUsage);
  if (s.ok() || GetReason(s) != Reason::kPermissionDenied) return s;
  return internal::RequirePermission(tx, actor, organization, kManageLicenses);
}

// How the operations on one entitlement open: the entitlement, once the actor
// is found allowed to manage its licenses (ManagedEntitlement) or to see its
// use (ViewedEntitlement) in the entitlement's organization. kNotFound for an
// unknown entitlement, before any permission is looked at.
absl::StatusOr<EntitlementRecord> ManagedEntitlement(Transaction& tx,
                                                     const Actor& actor,
                                                     EntitlementId id) {
  ENTITLE_ASSIGN_OR_RETURN(EntitlementRecord e, LoadEntitlement(tx, id));
  ENTITLE_RETURN_IF_ERROR(internal::RequirePermission(
      tx, actor, e.organization_id, kManageLicenses));
  return e;
}

absl::StatusOr<EntitlementRecord> ViewedEntitlement(Transaction& tx,
                                                    const Actor& actor,
                                                    EntitlementId id) {
  ENTITLE_ASSIGN_OR_RETURN(EntitlementRecord e, LoadEntitlement(tx, id));
  ENTITLE_RETURN_IF_ERROR(RequireViewer(tx, actor, e.organization_id));
  return e;
}

SeatKey KeyOf(IdentityId identity, const DeviceId& device) {
  return SeatKey{identity, device};
}

absl::Time Earlier(absl::Time a, absl::Time b) { return a < b ? a : b; }

// Members of `organization` who use `e`: assigned (named) or with access
// directly or through a group (floating), less those an exception denies it;
// active members only, by id.
absl::StatusOr<std::vector<IdentityId>> Users(Transaction& tx,
                                              const EntitlementRecord& e) {
  std::set<IdentityId> users;
  if (e.kind == EntitlementKind::kNamed) {
    ENTITLE_ASSIGN_OR_RETURN(
        std::vector<LicenseAssignmentRecord> assignments,
        ListAll(tx.license_assignments(),
                LicenseAssignmentFilter{.entitlement_id = e.id}));
    for (const auto& a : assignments) users.insert(a.identity_id);
  } else {
    ENTITLE_ASSIGN_OR_RETURN(
        std::vector<PoolGrantRecord> grants,
        ListAll(tx.pool_grants(), PoolGrantFilter{.entitlement_id = e.id}));
    std::set<IdentityId> excepted;
    for (const auto& grant : grants) {
      if (grant.denied) {
        excepted.insert(*grant.identity_id);
        continue;
      }
      if (grant.identity_id.has_value()) users.insert(*grant.identity_id);
      if (grant.group_id.has_value()) {
        ENTITLE_ASSIGN_OR_RETURN(
            std::vector<GroupMemberRecord> members,
            ListAll(tx.group_members(),
                    GroupMemberFilter{.group_id = *grant.group_id}));
        for (const auto& m : members) users.insert(m.identity_id);
      }
    }
    for (IdentityId id : excepted) users.erase(id);
  }
  std::vector<IdentityId> active;
  for (IdentityId id : users) {
    auto membership =
        tx.memberships().Get(MembershipKey{e.organization_id, id});
    if (membership.ok() && membership->status == MembershipStatus::kActive) {
      active.push_back(id);
    } else if (!membership.ok() &&
               GetReason(membership.status()) != Reason::kNotFound) {
      return membership.status();
    }
  }
  return active;
}

int64_t DaysLeft(absl::Time end, absl::Time now) {
  const absl::Duration left = end - now;
  const int64_t whole = left / absl::Hours(24);
  return left > absl::Hours(24) * whole ? whole + 1 : whole;
}

absl::Time WindowStart(absl::Time now, absl::Duration window) {
  if (window <= absl::ZeroDuration()) window = absl::Hours(1);
  const absl::Duration since = now - absl::UnixEpoch();
  return absl::UnixEpoch() + window * (since / window);
}

}  // namespace

Licenses::Licenses(internal::ServiceContext& context) : context_(context) {}
Licenses::~Licenses() = default;

// ------------------------------------------------------------ entitlements

absl::StatusOr<EntitlementRecord> Licenses::CreateEntitlement(
    const Actor& actor, OrganizationId organization,
    const EntitlementTerms& terms) {
  ENTITLE_RETURN_IF_ERROR(RequireOperator(actor));
  ENTITLE_ASSIGN_OR_RETURN(EntitlementTerms normal, Normalize(terms));
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  ENTITLE_RETURN_IF_ERROR(op.tx().organizations().Get(organization));
  EntitlementRecord record;
  record.organization_id = organization;
  record.sku = normal.sku;
  record.kind = normal.kind;
  record.seats = normal.seats;
  record.period_start = normal.period_start;
  record.period_end = normal.period_end;
  record.countries = normal.countries;
  record.created_at = op.now();
  ENTITLE_ASSIGN_OR_RETURN(EntitlementId id,
                           op.tx().entitlements().Insert(record));
  record.id = id;
  op.Audit(actor, organization, "entitlement.create", AuditTarget(id),
           absl::StrCat(
               record.sku, " ",
               record.kind == EntitlementKind::kNamed ? "named" : "floating",
               " seats=", record.seats));
  ENTITLE_RETURN_IF_ERROR(op.Commit());
  return record;
}

absl::StatusOr<EntitlementRecord> Licenses::ChangeEntitlement(
    const Actor& actor, EntitlementId entitlement,
    const EntitlementTerms& terms) {
  ENTITLE_RETURN_IF_ERROR(RequireOperator(actor));
  ENTITLE_ASSIGN_OR_RETURN(EntitlementTerms normal, Normalize(terms));
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  ENTITLE_ASSIGN_OR_RETURN(EntitlementRecord record,
                           LoadEntitlement(op.tx(), entitlement));
  if (record.kind != normal.kind) return WrongKind(record);
  const int64_t old_seats = record.seats;
  record.sku = normal.sku;
  record.seats = normal.seats;
  record.period_start = normal.period_start;
  record.period_end = normal.period_end;
  record.countries = normal.countries;
  ENTITLE_RETURN_IF_ERROR(op.tx().entitlements().Update(record));
  op.Audit(actor, record.organization_id, "entitlement.change",
           AuditTarget(entitlement),
           absl::StrCat(record.sku, " seats=", old_seats, "->", record.seats));
  const EntitlementRecord changed = record;
  op.AfterCommit([this, changed, now = op.now()] {
    if (changed.kind == EntitlementKind::kFloating &&
        Seats(context_).FindPool(changed.id) != nullptr) {
      Seats(context_).Pool(changed, now);  // ENT-7: the new seat count.
    }
  });
  ENTITLE_RETURN_IF_ERROR(op.Commit());
  return changed;
}

absl::StatusOr<EntitlementRecord> Licenses::SetSeats(const Actor& actor,
                                                     EntitlementId entitlement,
                                                     int64_t seats) {
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  ENTITLE_ASSIGN_OR_RETURN(EntitlementRecord record,
                           ManagedEntitlement(op.tx(), actor, entitlement));
  if (seats < 1 || seats > SeatPoolCore::kMaxSeats) {
    return Invalid(absl::StrCat("The number of seats must be between 1 and ",
                                SeatPoolCore::kMaxSeats, "."));
  }
  if (seats > record.seats && !actor.is_operator()) {
    return internal::PermissionDenied(
        "raise the number of seats (a purchase: the vendor's operator only)");
  }
  if (seats == record.seats) return record;
  const int64_t old_seats = record.seats;
  record.seats = seats;
  ENTITLE_RETURN_IF_ERROR(op.tx().entitlements().Update(record));
  op.Audit(actor, record.organization_id, "entitlement.seats",
           AuditTarget(entitlement),
           absl::StrCat(record.sku, " seats=", old_seats, "->", seats));
  const EntitlementRecord changed = record;
  op.AfterCommit([this, changed, now = op.now()] {
    if (changed.kind == EntitlementKind::kFloating &&
        Seats(context_).FindPool(changed.id) != nullptr) {
      Seats(context_).Pool(changed, now);  // ENT-7, or a larger pool.
    }
  });
  ENTITLE_RETURN_IF_ERROR(op.Commit());
  return changed;
}

absl::StatusOr<std::vector<EntitlementRecord>> Licenses::ListEntitlements(
    const Actor& actor, OrganizationId organization) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  ENTITLE_RETURN_IF_ERROR(RequireViewer(reading.tx(), actor, organization));
  return ListAll(reading.tx().entitlements(),
                 EntitlementFilter{.organization_id = organization});
}

// ------------------------------------------------------------ named

absl::Status Licenses::Assign(const Actor& actor, EntitlementId entitlement,
                              IdentityId identity) {
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(EntitlementRecord e,
                           ManagedEntitlement(tx, actor, entitlement));
  ENTITLE_RETURN_IF_ERROR(internal::AssignLicenseStep(op, actor, e, identity));
  return op.Commit();
}

absl::Status Licenses::Unassign(const Actor& actor, EntitlementId entitlement,
                                IdentityId identity) {
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(EntitlementRecord e,
                           ManagedEntitlement(tx, actor, entitlement));
  ENTITLE_RETURN_IF_ERROR(tx.license_assignments().Delete(
      LicenseAssignmentKey{entitlement, identity}));
  op.Audit(actor, e.organization_id, "license.unassign",
           AuditTarget(entitlement), AuditTarget(identity));
  return op.Commit();
}

absl::StatusOr<std::vector<LicenseAssignmentRecord>> Licenses::ListAssignments(
    const Actor& actor, EntitlementId entitlement) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  ENTITLE_ASSIGN_OR_RETURN(EntitlementRecord e,
                           ViewedEntitlement(reading.tx(), actor, entitlement));
  return ListAll(reading.tx().license_assignments(),
                 LicenseAssignmentFilter{.entitlement_id = entitlement});
}

// ------------------------------------------------------------ pools

absl::StatusOr<PoolGrantRecord> Licenses::GrantPoolAccess(
    const Actor& actor, EntitlementId entitlement, const PoolMember& member) {
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(EntitlementRecord e,
                           ManagedEntitlement(tx, actor, entitlement));
  ENTITLE_ASSIGN_OR_RETURN(PoolGrantRecord record,
                           internal::GrantPoolAccessStep(op, actor, e, member));
  ENTITLE_RETURN_IF_ERROR(op.Commit());
  return record;
}

absl::Status Licenses::RevokePoolAccess(const Actor& actor, PoolGrantId grant) {
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(PoolGrantRecord record, tx.pool_grants().Get(grant));
  ENTITLE_ASSIGN_OR_RETURN(
      EntitlementRecord e,
      ManagedEntitlement(tx, actor, record.entitlement_id));
  if (record.denied) {
    return Invalid(
        "This is an exception, not a grant: RemovePoolException lifts it.");
  }
  ENTITLE_RETURN_IF_ERROR(tx.pool_grants().Delete(grant));
  op.Audit(actor, e.organization_id, "pool.revoke", AuditTarget(e.id),
           record.identity_id.has_value() ? AuditTarget(*record.identity_id)
                                          : AuditTarget(*record.group_id));
  return op.Commit();
}

absl::StatusOr<std::vector<PoolGrantRecord>> Licenses::ListPoolAccess(
    const Actor& actor, EntitlementId entitlement) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  ENTITLE_ASSIGN_OR_RETURN(EntitlementRecord e,
                           ViewedEntitlement(reading.tx(), actor, entitlement));
  return ListAll(reading.tx().pool_grants(),
                 PoolGrantFilter{.entitlement_id = entitlement});
}

namespace {

// The identity's own row of a pool: its grant or its exception.
absl::StatusOr<std::optional<PoolGrantRecord>> OwnRow(Transaction& tx,
                                                      EntitlementId entitlement,
                                                      IdentityId identity) {
  return internal::FindFirst(
      tx.pool_grants(),
      PoolGrantFilter{.entitlement_id = entitlement, .identity_id = identity});
}

}  // namespace

absl::StatusOr<PoolGrantRecord> Licenses::DenyPoolAccess(
    const Actor& actor, EntitlementId entitlement, IdentityId identity) {
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(EntitlementRecord e,
                           ManagedEntitlement(tx, actor, entitlement));
  if (e.kind != EntitlementKind::kFloating) return WrongKind(e);
  absl::StatusOr<MembershipRecord> membership =
      tx.memberships().Get(MembershipKey{e.organization_id, identity});
  if (!membership.ok()) {
    if (GetReason(membership.status()) != Reason::kNotFound) {
      return membership.status();
    }
    return MakeError(absl::StatusCode::kFailedPrecondition, Reason::kNotMember,
                     "Only members of the organization can be denied a pool.");
  }
  ENTITLE_ASSIGN_OR_RETURN(std::optional<PoolGrantRecord> own,
                           OwnRow(tx, entitlement, identity));
  if (own.has_value() && own->denied) {
    return MakeError(absl::StatusCode::kAlreadyExists, Reason::kAlreadyAssigned,
                     "An exception already denies this member the pool.");
  }
  PoolGrantRecord record;
  std::string detail = AuditTarget(identity);
  if (own.has_value()) {
    // The member's own grant becomes the exception.
    record = *own;
    record.denied = true;
    record.granted_at = op.now();
    ENTITLE_RETURN_IF_ERROR(tx.pool_grants().Update(record));
    absl::StrAppend(&detail, " (replaces its own grant)");
  } else {
    record.entitlement_id = entitlement;
    record.identity_id = identity;
    record.granted_at = op.now();
    record.denied = true;
    ENTITLE_ASSIGN_OR_RETURN(record.id, tx.pool_grants().Insert(record));
  }
  op.Audit(actor, e.organization_id, "pool.deny", AuditTarget(entitlement),
           detail);
  // Its seats in the pool go now, not at their next heartbeat.
  op.AfterCommit([this, entitlement, identity] {
    if (std::shared_ptr<PoolSlot> slot =
            Seats(context_).FindPool(entitlement)) {
      slot->WithPool(
          [identity](SeatPool& pool) { pool.ReleaseIdentity(identity); });
    }
  });
  ENTITLE_RETURN_IF_ERROR(op.Commit());
  return record;
}

absl::Status Licenses::RemovePoolException(const Actor& actor,
                                           EntitlementId entitlement,
                                           IdentityId identity) {
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(EntitlementRecord e,
                           ManagedEntitlement(tx, actor, entitlement));
  if (e.kind != EntitlementKind::kFloating) return WrongKind(e);
  ENTITLE_ASSIGN_OR_RETURN(std::optional<PoolGrantRecord> own,
                           OwnRow(tx, entitlement, identity));
  if (!own.has_value() || !own->denied) {
    return MakeError(absl::StatusCode::kNotFound, Reason::kNotFound,
                     "No exception denies this member the pool.");
  }
  ENTITLE_RETURN_IF_ERROR(tx.pool_grants().Delete(own->id));
  op.Audit(actor, e.organization_id, "pool.allow", AuditTarget(entitlement),
           AuditTarget(identity));
  return op.Commit();
}

// ------------------------------------------------------------ checkout path

namespace {

// The access decision over a view: the first candidate for `sku` (or for
// `only`, when given) that allows use now, or the closest refusal.
absl::StatusOr<const AccessCandidate*> Decide(const IdentityView& view,
                                              std::string_view sku,
                                              std::optional<EntitlementId> only,
                                              absl::Time now) {
  absl::Status closest;
  for (const AccessCandidate& c : view.candidates) {
    if (only.has_value() ? c.entitlement.id != *only
                         : c.entitlement.sku != sku) {
      continue;
    }
    if (c.excepted) {
      if (closest.ok()) closest = AccessExcepted(c.entitlement);
      continue;
    }
    if (!InPeriod(c.entitlement, now)) {
      closest = OutsidePeriod(c.entitlement);
      continue;
    }
    if (!CountryAllowed(c.entitlement, view.country)) {
      if (closest.ok()) closest = CountryRefused(c.entitlement, view.country);
      continue;
    }
    return &c;
  }
  ENTITLE_RETURN_IF_ERROR(closest);
  if (only.has_value()) {
    // Named by its SKU when it is one of the identity's organizations';
    // another organization's entitlement is not named (SEC-3).
    auto it = view.skus.find(*only);
    if (it != view.skus.end()) return NoLicense(it->second);
    return MakeError(absl::StatusCode::kPermissionDenied, Reason::kNoLicense,
                     "No license for this entitlement.");
  }
  return NoLicense(sku);
}

AccessGrant GrantOf(const AccessCandidate& c, bool offline) {
  return AccessGrant{c.entitlement.id, c.entitlement.organization_id,
                     c.entitlement.kind, c.entitlement.period_end, offline};
}

}  // namespace

struct Licenses::Checked {
  std::shared_ptr<const IdentityView> view;
  const AccessCandidate* candidate = nullptr;
  bool offline = false;
};

absl::StatusOr<Licenses::Checked> Licenses::Check(
    IdentityId identity, std::string_view sku,
    std::optional<EntitlementId> only, const DeviceId& device, absl::Time now) {
  // The callers checked `device` (and `sku`, when used) first: SEC-8.
  Checked checked;
  ENTITLE_ASSIGN_OR_RETURN(checked.view, Seats(context_).View(identity, now));
  if (checked.view->locked) {
    // ID-9: offline ("disable") mode for a device checked within the grace.
    std::optional<absl::Time> last =
        Seats(context_).LastCheck(identity, device);
    if (auto it = checked.view->device_checks.find(device);
        it != checked.view->device_checks.end() &&
        (!last.has_value() || *last < it->second)) {
      last = it->second;
    }
    if (!last.has_value() ||
        now - *last > context_.identity_policy.offline_grace) {
      return MakeError(absl::StatusCode::kPermissionDenied,
                       Reason::kIdentityLocked, "This account is locked.");
    }
    checked.offline = true;
  }
  ENTITLE_ASSIGN_OR_RETURN(checked.candidate,
                           Decide(*checked.view, sku, only, now));
  // A locked identity's use does not extend its grace.
  if (!checked.offline && Seats(context_).NoteCheck(identity, device, now)) {
    absl::StatusOr<std::unique_ptr<Transaction>> tx =
        context_.store.Begin(TransactionMode::kWrite);
    if (tx.ok()) {
      DeviceCheckRecord record{identity, device, now};
      absl::Status s = (*tx)->device_checks().Update(record);
      if (!s.ok() && GetReason(s) == Reason::kNotFound) {
        s = (*tx)->device_checks().Insert(record).status();
      }
      // Best effort: the check itself succeeded; a failed write only
      // shortens this device's offline grace.
      if (s.ok()) (void)(*tx)->Commit();
    }
  }
  return checked;
}

absl::StatusOr<AccessGrant> Licenses::CheckAccess(IdentityId identity,
                                                  const std::string& sku,
                                                  const DeviceId& device) {
  ENTITLE_RETURN_IF_ERROR(internal::CheckDeviceId(device));
  ENTITLE_RETURN_IF_ERROR(CheckSku(sku));
  const absl::Time now = context_.clock.Now();
  ENTITLE_ASSIGN_OR_RETURN(Checked checked,
                           Check(identity, sku, std::nullopt, device, now));
  return GrantOf(*checked.candidate, checked.offline);
}

absl::StatusOr<SeatLease> Licenses::Reserve(const Checked& checked,
                                            IdentityId identity,
                                            const DeviceId& device,
                                            absl::Time now) {
  const EntitlementRecord& e = checked.candidate->entitlement;
  SeatLease lease;
  lease.access = GrantOf(*checked.candidate, checked.offline);
  if (e.kind == EntitlementKind::kNamed) {
    lease.expires_at = e.period_end;
    return lease;
  }
  return checked.candidate->pool->WithPool(
      [&](SeatPool& pool) -> absl::StatusOr<SeatLease> {
        std::optional<SeatReservation> reservation =
            pool.Acquire(KeyOf(identity, device), now);
        if (!reservation.has_value()) return SeatsExhausted();
        lease.seat = reservation->handle;
        lease.renewed = reservation->renewed;
        std::optional<SeatState> state =
            pool.core().Inspect(reservation->handle, now);
        lease.expires_at =
            Earlier(state.has_value() ? state->expires_at : now, e.period_end);
        return lease;
      });
}

absl::StatusOr<SeatLease> Licenses::Checkout(IdentityId identity,
                                             const std::string& sku,
                                             const DeviceId& device) {
  ENTITLE_RETURN_IF_ERROR(internal::CheckDeviceId(device));
  ENTITLE_RETURN_IF_ERROR(CheckSku(sku));
  ENTITLE_RETURN_IF_ERROR(Seats(context_).lease_status());
  const absl::Time now = context_.clock.Now();
  ENTITLE_ASSIGN_OR_RETURN(Checked checked,
                           Check(identity, sku, std::nullopt, device, now));
  absl::StatusOr<SeatLease> lease = Reserve(checked, identity, device, now);
  if (lease.ok() || GetReason(lease.status()) != Reason::kSeatsExhausted) {
    return lease;
  }
  // A full pool passes on to the next pool of the SKU the identity may use.
  const std::vector<AccessCandidate>& all = checked.view->candidates;
  for (auto it = all.begin() + (checked.candidate - all.data()) + 1;
       it != all.end(); ++it) {
    if (it->entitlement.sku != sku || !InPeriod(it->entitlement, now) ||
        !CountryAllowed(it->entitlement, checked.view->country)) {
      continue;
    }
    Checked next = checked;
    next.candidate = &*it;
    absl::StatusOr<SeatLease> other = Reserve(next, identity, device, now);
    if (other.ok() || GetReason(other.status()) != Reason::kSeatsExhausted) {
      return other;
    }
  }
  return lease;
}

absl::StatusOr<SeatLease> Licenses::Heartbeat(IdentityId identity,
                                              EntitlementId entitlement,
                                              const DeviceId& device) {
  ENTITLE_RETURN_IF_ERROR(internal::CheckDeviceId(device));
  ENTITLE_RETURN_IF_ERROR(Seats(context_).lease_status());
  const absl::Time now = context_.clock.Now();
  absl::StatusOr<Checked> checked =
      Check(identity, "", entitlement, device, now);
  if (!checked.ok()) {
    // No longer allowed (ENT-6 period end, removed access, lock): the seat
    // goes now rather than at the end of its lease.
    if (std::shared_ptr<PoolSlot> slot =
            Seats(context_).FindPool(entitlement)) {
      slot->WithPool(
          [&](SeatPool& pool) { pool.Release(KeyOf(identity, device)); });
    }
    return checked.status();
  }
  return Reserve(*checked, identity, device, now);
}

absl::Status Licenses::Release(IdentityId identity, EntitlementId entitlement,
                               const DeviceId& device) {
  ENTITLE_RETURN_IF_ERROR(internal::CheckDeviceId(device));
  std::shared_ptr<PoolSlot> slot = Seats(context_).FindPool(entitlement);
  if (slot == nullptr) return SeatNotHeld();
  if (!slot->WithPool([&](SeatPool& pool) {
        return pool.Release(KeyOf(identity, device));
      })) {
    return SeatNotHeld();
  }
  return absl::OkStatus();
}

// ------------------------------------------------------------ admin views

namespace {

// ENT-6: a pool whose period ended holds no seats.
void EndIfOver(PoolSlot& slot, absl::Time now) {
  if (absl::ToUnixMicros(now) >=
      slot.period_end_us.load(std::memory_order_relaxed)) {
    slot.WithPool([](SeatPool& pool) { pool.ReleaseAll(); });
  }
}

}  // namespace

absl::StatusOr<std::vector<SeatHolder>> Licenses::Holders(
    const Actor& actor, EntitlementId entitlement) {
  absl::StatusOr<Reading> reading = Reading::Begin(context_);
  ENTITLE_RETURN_IF_ERROR(reading);
  absl::StatusOr<EntitlementRecord> e =
      ViewedEntitlement(reading->tx(), actor, entitlement);
  ENTITLE_RETURN_IF_ERROR(e);
  if (e->kind != EntitlementKind::kFloating) return WrongKind(*e);
  std::vector<SeatHolder> holders;
  if (std::shared_ptr<PoolSlot> slot = Seats(context_).FindPool(entitlement)) {
    slot->period_end_us.store(absl::ToUnixMicros(e->period_end));
    EndIfOver(*slot, reading->now);
    holders = slot->WithPool(
        [&](SeatPool& pool) { return pool.Holders(reading->now); });
  }
  std::sort(holders.begin(), holders.end(),
            [](const SeatHolder& a, const SeatHolder& b) {
              return std::tie(a.since, a.key.identity, a.key.device) <
                     std::tie(b.since, b.key.identity, b.key.device);
            });
  return holders;
}

absl::Status Licenses::ForceRelease(const Actor& actor,
                                    EntitlementId entitlement,
                                    IdentityId identity,
                                    const DeviceId& device) {
  absl::StatusOr<Operation> op = Operation::Begin(context_);
  ENTITLE_RETURN_IF_ERROR(op);
  absl::StatusOr<EntitlementRecord> e =
      ManagedEntitlement(op->tx(), actor, entitlement);
  ENTITLE_RETURN_IF_ERROR(e);
  if (e->kind != EntitlementKind::kFloating) return WrongKind(*e);
  ENTITLE_RETURN_IF_ERROR(internal::CheckDeviceId(device));
  std::shared_ptr<PoolSlot> slot = Seats(context_).FindPool(entitlement);
  if (slot == nullptr) return SeatNotHeld();
  const bool held = slot->WithPool([&](SeatPool& pool) {
    bool found = false;
    for (const SeatHolder& holder : pool.Holders(op->now())) {
      found = found || holder.key == KeyOf(identity, device);
    }
    return found;
  });
  if (!held) return SeatNotHeld();
  op->Audit(actor, e->organization_id, "seat.force_release",
            AuditTarget(entitlement),
            absl::StrCat(AuditTarget(identity), " device ", device.value()));
  op->AfterCommit([slot, key = KeyOf(identity, device)] {
    slot->WithPool([&](SeatPool& pool) { pool.Release(key); });
  });
  return op->Commit();
}

absl::StatusOr<std::vector<EntitlementUsage>> Licenses::Usage(
    const Actor& actor, OrganizationId organization,
    absl::Duration peak_window) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  Transaction& tx = reading.tx();
  ENTITLE_RETURN_IF_ERROR(RequireViewer(tx, actor, organization));
  if (peak_window < absl::ZeroDuration()) {
    return Invalid("The peak window must not be negative.");
  }
  const absl::Time now = reading.now;
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<EntitlementRecord> entitlements,
      ListAll(tx.entitlements(),
              EntitlementFilter{.organization_id = organization}));
  std::vector<EntitlementUsage> usage;
  for (const EntitlementRecord& e : entitlements) {
    EntitlementUsage u;
    u.entitlement = e;
    u.purchased = e.seats;
    u.period_end = e.period_end;
    absl::StatusOr<std::vector<IdentityId>> users = Users(tx, e);
    ENTITLE_RETURN_IF_ERROR(users);
    if (e.kind == EntitlementKind::kNamed) {
      auto assigned = tx.license_assignments().Count(
          LicenseAssignmentFilter{.entitlement_id = e.id});
      ENTITLE_RETURN_IF_ERROR(assigned);
      u.assigned_or_with_access = *assigned;
      u.in_use = *assigned;
      u.peak_in_use = *assigned;
    } else {
      u.assigned_or_with_access = static_cast<int64_t>(users->size());
      if (std::shared_ptr<PoolSlot> slot = Seats(context_).FindPool(e.id)) {
        slot->period_end_us.store(absl::ToUnixMicros(e.period_end));
        EndIfOver(*slot, now);
        const auto [use, peak] = slot->SampleUse();
        u.in_use = use;
        u.peak_in_use = peak;
      }
      const absl::Time from = now - peak_window;
      auto history =
          ListAll(tx.pool_usage(), PoolUsageFilter{.entitlement_id = e.id});
      ENTITLE_RETURN_IF_ERROR(history);
      for (const PoolUsageRecord& r : *history) {
        if (r.window_start + context_.license_policy.usage_window > from &&
            r.window_start <= now) {
          u.peak_in_use = std::max(u.peak_in_use, r.peak_in_use);
        }
      }
    }
    u.over_allocated = u.in_use > e.seats;
    usage.push_back(std::move(u));
  }
  return usage;
}

namespace {

absl::StatusOr<std::vector<ExpiryWarning>> Warnings(
    Transaction& tx, const std::vector<EntitlementRecord>& entitlements,
    absl::Time now, int days, std::optional<IdentityId> only) {
  std::vector<ExpiryWarning> warnings;
  for (const EntitlementRecord& e : entitlements) {
    if (e.period_end <= now || e.period_end > now + absl::Hours(24) * days) {
      continue;
    }
    ENTITLE_ASSIGN_OR_RETURN(std::vector<IdentityId> users, Users(tx, e));
    if (only.has_value() &&
        std::find(users.begin(), users.end(), *only) == users.end()) {
      continue;
    }
    warnings.push_back(
        ExpiryWarning{e, DaysLeft(e.period_end, now), std::move(users)});
  }
  std::sort(warnings.begin(), warnings.end(),
            [](const ExpiryWarning& a, const ExpiryWarning& b) {
              return std::tie(a.entitlement.period_end, a.entitlement.id) <
                     std::tie(b.entitlement.period_end, b.entitlement.id);
            });
  return warnings;
}

}  // namespace

absl::StatusOr<std::vector<ExpiryWarning>> Licenses::ExpiryWarnings(
    const Actor& actor, OrganizationId organization, std::optional<int> days) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  Transaction& tx = reading.tx();
  ENTITLE_RETURN_IF_ERROR(RequireViewer(tx, actor, organization));
  const int within = days.value_or(context_.license_policy.expiry_warning_days);
  if (within < 0) return Invalid("The number of days must not be negative.");
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<EntitlementRecord> entitlements,
      ListAll(tx.entitlements(),
              EntitlementFilter{.organization_id = organization}));
  return Warnings(tx, entitlements, reading.now, within, std::nullopt);
}

absl::StatusOr<std::vector<ExpiryWarning>> Licenses::ExpiryWarningsFor(
    const Actor& actor, IdentityId identity, std::optional<int> days) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  Transaction& tx = reading.tx();
  ENTITLE_RETURN_IF_ERROR(
      internal::RequireSelfOrAdmin(tx, actor, identity, kViewUsage));
  const int within = days.value_or(context_.license_policy.expiry_warning_days);
  if (within < 0) return Invalid("The number of days must not be negative.");
  // SEC-3: an administrator of the identity's employer sees the employer's
  // entitlements only, never those of the other organizations the identity
  // is an external member of.
  std::optional<OrganizationId> only;
  if (actor.is_identity() && actor.identity() != identity) {
    ENTITLE_ASSIGN_OR_RETURN(only, internal::EmployerOf(tx, identity));
    if (!only.has_value()) {
      return internal::PermissionDenied("act on this account");
    }
  }
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<MembershipRecord> memberships,
      ListAll(tx.memberships(),
              MembershipFilter{.organization_id = only,
                               .identity_id = identity,
                               .status = MembershipStatus::kActive}));
  std::vector<ExpiryWarning> all;
  for (const MembershipRecord& m : memberships) {
    ENTITLE_ASSIGN_OR_RETURN(
        std::vector<EntitlementRecord> entitlements,
        ListAll(tx.entitlements(),
                EntitlementFilter{.organization_id = m.organization_id}));
    ENTITLE_ASSIGN_OR_RETURN(
        std::vector<ExpiryWarning> some,
        Warnings(tx, entitlements, reading.now, within, identity));
    for (ExpiryWarning& w : some) {
      w.affected = {identity};
      all.push_back(std::move(w));
    }
  }
  std::sort(all.begin(), all.end(),
            [](const ExpiryWarning& a, const ExpiryWarning& b) {
              return std::tie(a.entitlement.period_end, a.entitlement.id) <
                     std::tie(b.entitlement.period_end, b.entitlement.id);
            });
  return all;
}

namespace {

// Licenses::RecordUsage, one call at a time (SeatRegistry::RecordingUsage).
absl::Status RecordUsageAlone(internal::ServiceContext& context) {
  absl::StatusOr<Operation> op = Operation::Begin(context);
  if (!op.ok()) return op.status();
  const absl::Time now = op->now();
  const absl::Time window =
      WindowStart(now, context.license_policy.usage_window);
  struct Taken {
    std::shared_ptr<PoolSlot> slot;
    uint32_t peak;
    uint64_t refusals;
  };
  std::vector<Taken> taken;
  for (const std::shared_ptr<PoolSlot>& slot : Seats(context).AllPools()) {
    absl::StatusOr<EntitlementRecord> e =
        op->tx().entitlements().Get(slot->entitlement());
    if (!e.ok()) {
      if (GetReason(e.status()) == Reason::kNotFound) continue;
      return e.status();
    }
    slot->period_end_us.store(absl::ToUnixMicros(e->period_end));
    slot->WithPool([&](SeatPool& pool) { pool.Sweep(now); });
    // Over every pool the slot has had: a pool grown meanwhile keeps them.
    const uint32_t peak = slot->peak();
    const uint64_t refusals = slot->refusals();
    taken.push_back({slot, peak, refusals});
    PoolUsageRecord record{
        slot->entitlement(), window, peak,
        static_cast<int64_t>(refusals - slot->refusals_recorded)};
    absl::StatusOr<PoolUsageRecord> existing =
        op->tx().pool_usage().Get(PoolUsageKey{slot->entitlement(), window});
    if (existing.ok()) {
      record.peak_in_use = std::max(record.peak_in_use, existing->peak_in_use);
      record.refusals += existing->refusals;
      if (absl::Status s = op->tx().pool_usage().Update(record); !s.ok())
        return s;
    } else if (GetReason(existing.status()) == Reason::kNotFound) {
      if (auto key = op->tx().pool_usage().Insert(record); !key.ok()) {
        return key.status();
      }
    } else {
      return existing.status();
    }
  }
  if (absl::Status s = op->Commit(); !s.ok()) return s;
  // Recorded: the next window starts from the use now.
  for (Taken& t : taken) {
    t.slot->TakePeak();
    t.slot->refusals_recorded = t.refusals;
    EndIfOver(*t.slot, now);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Licenses::RecordUsage() {
  return Seats(context_).RecordingUsage(
      [this] { return RecordUsageAlone(context_); });
}

absl::StatusOr<std::vector<PoolUsageRecord>> Licenses::UsageHistory(
    const Actor& actor, EntitlementId entitlement, absl::Time from,
    absl::Time to) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  ENTITLE_ASSIGN_OR_RETURN(EntitlementRecord e,
                           ViewedEntitlement(reading.tx(), actor, entitlement));
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<PoolUsageRecord> all,
      ListAll(reading.tx().pool_usage(),
              PoolUsageFilter{.entitlement_id = entitlement}));
  std::vector<PoolUsageRecord> history;
  for (PoolUsageRecord& r : all) {
    if (from <= r.window_start && r.window_start < to)
      history.push_back(std::move(r));
  }
  std::sort(history.begin(), history.end(),
            [](const PoolUsageRecord& a, const PoolUsageRecord& b) {
              return a.window_start < b.window_start;
            });
  return history;
}

namespace internal {

absl::Status AssignLicenseStep(Operation& op, const Actor& actor,
                               const EntitlementRecord& entitlement,
                               IdentityId identity, int64_t* assigned) {
  Transaction& tx = op.tx();
  if (entitlement.kind != EntitlementKind::kNamed)
    return WrongKind(entitlement);
  absl::StatusOr<MembershipRecord> membership = tx.memberships().Get(
      MembershipKey{entitlement.organization_id, identity});
  if (!membership.ok()) {
    if (GetReason(membership.status()) != Reason::kNotFound)
      return membership.status();
    return MakeError(
        absl::StatusCode::kFailedPrecondition, Reason::kNotMember,
        "Only members of the organization can be assigned a license.");
  }
  if (!InPeriod(entitlement, op.now())) return OutsidePeriod(entitlement);
  ENTITLE_ASSIGN_OR_RETURN(IdentityRecord member,
                           tx.identities().Get(identity));
  if (!CountryAllowed(entitlement, member.country))
    return CountryRefused(entitlement, member.country);
  absl::StatusOr<LicenseAssignmentRecord> existing =
      tx.license_assignments().Get(
          LicenseAssignmentKey{entitlement.id, identity});
  if (existing.ok()) {
    return MakeError(absl::StatusCode::kAlreadyExists, Reason::kAlreadyAssigned,
                     "This member already has the license.");
  }
  if (GetReason(existing.status()) != Reason::kNotFound)
    return existing.status();
  int64_t counted = 0;
  if (assigned == nullptr) {
    ENTITLE_ASSIGN_OR_RETURN(
        counted, tx.license_assignments().Count(LicenseAssignmentFilter{
                     .entitlement_id = entitlement.id}));
    assigned = &counted;
  }
  if (*assigned >= entitlement.seats) {
    return MakeError(absl::StatusCode::kResourceExhausted,
                     Reason::kLicensesExhausted,
                     absl::StrCat("All ", entitlement.seats, " licenses of ",
                                  entitlement.sku, " are assigned."));
  }
  LicenseAssignmentRecord record{entitlement.id, identity, op.now()};
  ENTITLE_RETURN_IF_ERROR(tx.license_assignments().Insert(record));
  ++*assigned;
  op.Audit(actor, entitlement.organization_id, "license.assign",
           AuditTarget(entitlement.id), AuditTarget(identity));
  return absl::OkStatus();
}

absl::StatusOr<PoolGrantRecord> GrantPoolAccessStep(
    Operation& op, const Actor& actor, const EntitlementRecord& entitlement,
    const PoolMember& member) {
  Transaction& tx = op.tx();
  if (entitlement.kind != EntitlementKind::kFloating)
    return WrongKind(entitlement);
  if (member.identity.has_value() == member.group.has_value()) {
    return Invalid("Give pool access to exactly one member or one group.");
  }
  PoolGrantFilter existing{.entitlement_id = entitlement.id};
  std::string target;
  if (member.identity.has_value()) {
    absl::StatusOr<MembershipRecord> membership = tx.memberships().Get(
        MembershipKey{entitlement.organization_id, *member.identity});
    if (!membership.ok()) {
      if (GetReason(membership.status()) != Reason::kNotFound) {
        return membership.status();
      }
      return MakeError(
          absl::StatusCode::kFailedPrecondition, Reason::kNotMember,
          "Only members of the organization can be given pool access.");
    }
    existing.identity_id = member.identity;
    target = AuditTarget(*member.identity);
  } else {
    ENTITLE_RETURN_IF_ERROR(internal::LoadOwned(
        tx.groups(), entitlement.organization_id, *member.group, "group"));
    existing.group_id = member.group;
    target = AuditTarget(*member.group);
  }
  ENTITLE_ASSIGN_OR_RETURN(std::optional<PoolGrantRecord> found,
                           internal::FindFirst(tx.pool_grants(), existing));
  if (found.has_value() && found->denied) {
    return MakeError(absl::StatusCode::kFailedPrecondition,
                     Reason::kAccessExcepted,
                     "An exception denies this member the pool: remove the "
                     "exception to give access again.");
  }
  if (found.has_value()) {
    return MakeError(absl::StatusCode::kAlreadyExists, Reason::kAlreadyAssigned,
                     "This member or group already has access to the pool.");
  }
  PoolGrantRecord record;
  record.entitlement_id = entitlement.id;
  record.identity_id = member.identity;
  record.group_id = member.group;
  record.granted_at = op.now();
  ENTITLE_ASSIGN_OR_RETURN(PoolGrantId id, tx.pool_grants().Insert(record));
  record.id = id;
  op.Audit(actor, entitlement.organization_id, "pool.grant",
           AuditTarget(entitlement.id), target);
  return record;
}

}  // namespace internal

}  // namespace entitle
