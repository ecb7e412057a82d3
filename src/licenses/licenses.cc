#include "entitle/licenses.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/device_id_check.h"
#include "base/status_macros.h"
#include "base/string_view.h"
#include "entitle/csv.h"
#include "entitle/status.h"
#include "licenses/activations.h"
#include "licenses/licenses_internal.h"
#include "licenses/seat_registry.h"
#include "service/authorization.h"
#include "service/operation.h"
#include "service/service_context.h"

namespace entitle {

using internal::AccessCandidate;
using internal::Activations;
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
  op.AfterCommit([this, entitlement, identity, now = op.now()] {
    if (std::shared_ptr<PoolSlot> slot =
            Seats(context_).FindPool(entitlement)) {
      Seats(context_).ReleaseIdentityFrom(*slot, identity,
                                          ActivationEnd::kRevoked, now);
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
  return checked;
}

void Licenses::RecordCheck(const Checked& checked, IdentityId identity,
                           const DeviceId& device, absl::Time now) {
  // A locked identity's use does not extend its grace.
  if (checked.offline || !Seats(context_).NoteCheck(identity, device, now)) {
    return;
  }
  absl::StatusOr<std::unique_ptr<Transaction>> tx =
      context_.store.Begin(TransactionMode::kWrite);
  if (!tx.ok()) return;
  DeviceCheckRecord record{identity, device, now};
  absl::Status s = (*tx)->device_checks().Update(record);
  if (!s.ok() && GetReason(s) == Reason::kNotFound) {
    s = (*tx)->device_checks().Insert(record).status();
  }
  // Best effort: the check itself succeeded; a failed write only shortens
  // this device's offline grace.
  if (s.ok()) (void)(*tx)->Commit();
}

absl::StatusOr<AccessGrant> Licenses::CheckAccess(IdentityId identity,
                                                  const std::string& sku,
                                                  const DeviceId& device) {
  ENTITLE_RETURN_IF_ERROR(internal::CheckDeviceId(device));
  ENTITLE_RETURN_IF_ERROR(CheckSku(sku));
  const absl::Time now = context_.clock.Now();
  ENTITLE_ASSIGN_OR_RETURN(Checked checked,
                           Check(identity, sku, std::nullopt, device, now));
  RecordCheck(checked, identity, device, now);
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
  // ACT-3: only the serving process reserves.
  Activations* activations = Seats(context_).activations();
  if (activations != nullptr) {
    ENTITLE_RETURN_IF_ERROR(activations->EnsureServing());
  }
  PoolSlot& slot = *checked.candidate->pool;
  const SeatKey key = KeyOf(identity, device);
  return slot.WithPool([&](SeatPool& pool) -> absl::StatusOr<SeatLease> {
    std::optional<SeatReservation> reservation = pool.Acquire(key, now);
    if (!reservation.has_value()) return SeatsExhausted();
    lease.seat = reservation->handle;
    lease.renewed = reservation->renewed;
    std::optional<SeatState> state =
        pool.core().Inspect(reservation->handle, now);
    lease.expires_at =
        Earlier(state.has_value() ? state->expires_at : now, e.period_end);
    if (activations != nullptr) {
      activations->NoteHeld(e.id, e.organization_id, key,
                            reservation->handle.index, lease.expires_at,
                            reservation->renewed, now);
    }
    return lease;
  });
}

namespace {

// ACT-7: a refusal of the checkout path, for the serving process's feed.
void NoteRefusal(internal::ServiceContext& context, const absl::Status& status,
                 IdentityId identity, const DeviceId& device,
                 std::optional<EntitlementId> entitlement,
                 std::optional<OrganizationId> organization, absl::Time now) {
  Activations* activations = Seats(context).activations();
  const Reason reason = GetReason(status);
  // Another process's refusals are its own; a store failure is not a
  // refusal.
  if (activations == nullptr || !activations->serving() ||
      reason == Reason::kServedElsewhere || internal::IsStoreFailure(status)) {
    return;
  }
  activations->NoteRefusal(identity, device, entitlement, organization, reason,
                           now);
}

}  // namespace

absl::StatusOr<SeatLease> Licenses::Checkout(IdentityId identity,
                                             const std::string& sku,
                                             const DeviceId& device) {
  ENTITLE_RETURN_IF_ERROR(internal::CheckDeviceId(device));
  ENTITLE_RETURN_IF_ERROR(CheckSku(sku));
  ENTITLE_RETURN_IF_ERROR(Seats(context_).lease_status());
  const absl::Time now = context_.clock.Now();
  absl::StatusOr<Checked> checked =
      Check(identity, sku, std::nullopt, device, now);
  if (!checked.ok()) {
    NoteRefusal(context_, checked.status(), identity, device, std::nullopt,
                std::nullopt, now);
    return checked.status();
  }
  // A new checkout ends what a force release refused (ACT-5).
  for (const AccessCandidate& c : checked->view->candidates) {
    if (c.pool != nullptr && c.entitlement.sku == sku) {
      c.pool->ClearForceReleased(KeyOf(identity, device));
    }
  }
  absl::StatusOr<SeatLease> lease = Reserve(*checked, identity, device, now);
  if (!lease.ok() && GetReason(lease.status()) == Reason::kSeatsExhausted) {
    // A full pool passes on to the next pool of the SKU the identity may
    // use.
    const std::vector<AccessCandidate>& all = checked->view->candidates;
    for (auto it = all.begin() + (checked->candidate - all.data()) + 1;
         it != all.end(); ++it) {
      if (it->entitlement.sku != sku || !InPeriod(it->entitlement, now) ||
          !CountryAllowed(it->entitlement, checked->view->country)) {
        continue;
      }
      Checked next = *checked;
      next.candidate = &*it;
      absl::StatusOr<SeatLease> other = Reserve(next, identity, device, now);
      if (other.ok() || GetReason(other.status()) != Reason::kSeatsExhausted) {
        lease = std::move(other);
        break;
      }
    }
  }
  // ID-9: the device was checked, unless another process serves or the
  // store failed (refusals that change nothing here).
  if (lease.ok() || (GetReason(lease.status()) != Reason::kServedElsewhere &&
                     !internal::IsStoreFailure(lease.status()))) {
    RecordCheck(*checked, identity, device, now);
  }
  if (!lease.ok()) {
    const EntitlementRecord& e = checked->candidate->entitlement;
    NoteRefusal(context_, lease.status(), identity, device, e.id,
                e.organization_id, now);
  }
  return lease;
}

absl::StatusOr<SeatLease> Licenses::Heartbeat(IdentityId identity,
                                              EntitlementId entitlement,
                                              const DeviceId& device) {
  ENTITLE_RETURN_IF_ERROR(internal::CheckDeviceId(device));
  ENTITLE_RETURN_IF_ERROR(Seats(context_).lease_status());
  const absl::Time now = context_.clock.Now();
  Activations* activations = Seats(context_).activations();
  if (activations != nullptr) {
    ENTITLE_RETURN_IF_ERROR(activations->EnsureServing());
  }
  const SeatKey key = KeyOf(identity, device);
  std::shared_ptr<PoolSlot> slot = Seats(context_).FindPool(entitlement);
  absl::StatusOr<Checked> checked =
      Check(identity, "", entitlement, device, now);
  if (checked.ok() && slot != nullptr && slot->IsForceReleased(key, now)) {
    checked =
        MakeError(absl::StatusCode::kFailedPrecondition, Reason::kForceReleased,
                  "An administrator released this device's seat; "
                  "check out again to take a new one.");
  }
  if (!checked.ok()) {
    // No longer allowed (ENT-6 period end, removed access, lock): the seat
    // goes now rather than at the end of its lease.
    if (slot != nullptr &&
        GetReason(checked.status()) != Reason::kForceReleased &&
        !internal::IsStoreFailure(checked.status())) {
      const bool released =
          slot->WithPool([&](SeatPool& pool) { return pool.Release(key); });
      if (released && activations != nullptr) {
        activations->NoteEnded(
            entitlement, slot->organization(), key,
            GetReason(checked.status()) == Reason::kOutsidePeriod
                ? ActivationEnd::kPeriodEnded
                : ActivationEnd::kRevoked,
            now);
      }
    }
    NoteRefusal(
        context_, checked.status(), identity, device, entitlement,
        slot != nullptr ? std::optional(slot->organization()) : std::nullopt,
        now);
    return checked.status();
  }
  RecordCheck(*checked, identity, device, now);
  absl::StatusOr<SeatLease> lease = Reserve(*checked, identity, device, now);
  if (!lease.ok()) {
    NoteRefusal(context_, lease.status(), identity, device, entitlement,
                checked->candidate->entitlement.organization_id, now);
  }
  return lease;
}

absl::Status Licenses::Release(IdentityId identity, EntitlementId entitlement,
                               const DeviceId& device) {
  ENTITLE_RETURN_IF_ERROR(internal::CheckDeviceId(device));
  Activations* activations = Seats(context_).activations();
  if (activations != nullptr) {
    ENTITLE_RETURN_IF_ERROR(activations->EnsureServing());
  }
  std::shared_ptr<PoolSlot> slot = Seats(context_).FindPool(entitlement);
  if (slot == nullptr) return SeatNotHeld();
  const SeatKey key = KeyOf(identity, device);
  if (!slot->WithPool([&](SeatPool& pool) { return pool.Release(key); })) {
    return SeatNotHeld();
  }
  if (activations != nullptr) {
    activations->NoteEnded(entitlement, slot->organization(), key,
                           ActivationEnd::kReleased, context_.clock.Now());
  }
  return absl::OkStatus();
}

// ------------------------------------------------------------ admin views

namespace {

// ENT-6: a pool whose period ended holds no seats.
void EndIfOver(SeatRegistry& seats, PoolSlot& slot, absl::Time now) {
  if (absl::ToUnixMicros(now) >=
      slot.period_end_us.load(std::memory_order_relaxed)) {
    seats.ReleaseAllOf(slot, ActivationEnd::kPeriodEnded, now);
  }
}

// ACT-5: whether this process's pools are the truth about seats: it serves,
// or keeps its seats in memory only. Otherwise the store's open activations
// are.
bool SeatsInMemory(SeatRegistry& seats) {
  return seats.activations() == nullptr || seats.activations()->serving();
}

// The open activations of `entitlement` whose lease runs at `now`, as
// holders (the handle's generation is not stored: 0).
absl::StatusOr<std::vector<SeatHolder>> StoredHolders(Transaction& tx,
                                                      EntitlementId entitlement,
                                                      absl::Time now) {
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<ActivationRecord> open,
      ListAll(tx.activations(),
              ActivationFilter{.entitlement_id = entitlement,
                               .end_reason = ActivationEnd::kOpen}));
  std::vector<SeatHolder> holders;
  for (const ActivationRecord& a : open) {
    if (a.expires_at <= now) continue;
    holders.push_back(SeatHolder{SeatKey{a.identity_id, a.device_id},
                                 SeatHandle{static_cast<uint32_t>(a.seat), 0},
                                 a.since, a.last_heartbeat, a.expires_at});
  }
  return holders;
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
  if (!SeatsInMemory(Seats(context_))) {
    // ACT-5: another process serves; its flushed activations say.
    ENTITLE_ASSIGN_OR_RETURN(
        holders, StoredHolders(reading->tx(), entitlement, reading->now));
    if (e->period_end <= reading->now) holders.clear();
  } else if (std::shared_ptr<PoolSlot> slot =
                 Seats(context_).FindPool(entitlement)) {
    slot->period_end_us.store(absl::ToUnixMicros(e->period_end));
    EndIfOver(Seats(context_), *slot, reading->now);
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
  SeatRegistry& seats = Seats(context_);
  Activations* activations = seats.activations();
  const SeatKey key = KeyOf(identity, device);
  const absl::Time now = op->now();
  // The device's open activation, when one was written.
  std::optional<ActivationRecord> row;
  if (activations != nullptr) {
    ENTITLE_ASSIGN_OR_RETURN(
        std::vector<ActivationRecord> open,
        ListAll(op->tx().activations(),
                ActivationFilter{.entitlement_id = entitlement,
                                 .identity_id = identity,
                                 .end_reason = ActivationEnd::kOpen}));
    for (ActivationRecord& a : open) {
      if (a.device_id == device) row = std::move(a);
    }
  }
  std::shared_ptr<PoolSlot> slot = seats.FindPool(entitlement);
  const bool in_memory = SeatsInMemory(seats);
  bool held = false;
  if (in_memory) {
    held = slot != nullptr && slot->WithPool([&](SeatPool& pool) {
      return pool.Find(key, now).has_value();
    });
  } else {
    // ACT-5: the serving process frees it when it reads the feed.
    held = row.has_value() && row->expires_at > now;
  }
  if (!held) return SeatNotHeld();
  op->Audit(actor, e->organization_id, "seat.force_release",
            AuditTarget(entitlement),
            absl::StrCat(AuditTarget(identity), " device ", device.value()));
  if (activations != nullptr) {
    if (row.has_value()) {
      row->end_reason = ActivationEnd::kForceReleased;
      row->ended_at = now;
      ENTITLE_RETURN_IF_ERROR(op->tx().activations().Update(*row));
    }
    FeedEventRecord event;
    event.at = now;
    event.kind = FeedEventKind::kForceRelease;
    event.organization_id = e->organization_id;
    event.entitlement_id = entitlement;
    event.identity_id = identity;
    event.device_id = device.value();
    ENTITLE_RETURN_IF_ERROR(op->tx().feed_events().Insert(event).status());
  }
  if (in_memory) {
    op->AfterCommit([&seats, activations, organization = e->organization_id,
                     entitlement, key, now] {
      seats.ForceReleased(entitlement, key, now);
      if (activations != nullptr) {
        activations->NoteForceReleaseHandled(entitlement, key);
        // The session of a seat not yet written ends as force-released.
        activations->NoteEnded(entitlement, organization, key,
                               ActivationEnd::kForceReleased, now);
      }
    });
  }
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
      if (!SeatsInMemory(Seats(context_))) {
        // ACT-5: another process serves; its flushed activations say.
        ENTITLE_ASSIGN_OR_RETURN(std::vector<SeatHolder> holders,
                                 StoredHolders(tx, e.id, now));
        u.in_use = e.period_end <= now ? 0 : holders.size();
        u.peak_in_use = u.in_use;
      } else if (std::shared_ptr<PoolSlot> slot =
                     Seats(context_).FindPool(e.id)) {
        slot->period_end_us.store(absl::ToUnixMicros(e.period_end));
        EndIfOver(Seats(context_), *slot, now);
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
    EndIfOver(Seats(context), *t.slot, now);
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

// ------------------------------------------------------------ activations

namespace {

absl::Status KeptInMemory() {
  return MakeError(absl::StatusCode::kFailedPrecondition,
                   Reason::kInvalidArgument,
                   "This directory keeps its seats in memory "
                   "(LicensePolicy::persist_activations is false).");
}

// ACT-6: the organization's sessions overlapping [from, to), by end then id.
absl::StatusOr<std::vector<ActivationRecord>> SessionsIn(
    Transaction& tx, OrganizationId organization, absl::Time from,
    absl::Time to) {
  if (!(from < to)) return Invalid("The range must end after it starts.");
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<ActivationRecord> ended,
      ListAll(tx.activations(),
              ActivationFilter{.organization_id = organization,
                               .ended_since = from,
                               .started_before = to}));
  std::erase_if(ended, [](const ActivationRecord& a) {
    return a.end_reason == ActivationEnd::kOpen || !a.ended_at.has_value();
  });
  std::sort(ended.begin(), ended.end(),
            [](const ActivationRecord& a, const ActivationRecord& b) {
              return std::tie(*a.ended_at, a.id) < std::tie(*b.ended_at, b.id);
            });
  return ended;
}

absl::StatusOr<absl::flat_hash_map<EntitlementId, std::string>> SkusOf(
    Transaction& tx, OrganizationId organization) {
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<EntitlementRecord> entitlements,
      ListAll(tx.entitlements(),
              EntitlementFilter{.organization_id = organization}));
  absl::flat_hash_map<EntitlementId, std::string> skus;
  for (const EntitlementRecord& e : entitlements) skus[e.id] = e.sku;
  return skus;
}

// Hours of [start, end) inside [from, to).
double HoursWithin(absl::Time start, absl::Time end, absl::Time from,
                   absl::Time to) {
  const absl::Time a = std::max(start, from);
  const absl::Time b = std::min(end, to);
  return b > a ? absl::ToDoubleHours(b - a) : 0.0;
}

std::string_view EndName(ActivationEnd end) {
  switch (end) {
    case ActivationEnd::kOpen:
      return "open";
    case ActivationEnd::kReleased:
      return "released";
    case ActivationEnd::kExpired:
      return "expired";
    case ActivationEnd::kRevoked:
      return "revoked";
    case ActivationEnd::kForceReleased:
      return "force-released";
    case ActivationEnd::kPeriodEnded:
      return "period-ended";
    case ActivationEnd::kLost:
      return "lost";
  }
  return "unknown";
}

}  // namespace

absl::Status Licenses::Serve(absl::Duration wait) {
  Activations* activations = Seats(context_).activations();
  if (activations == nullptr) {
    ENTITLE_RETURN_IF_ERROR(Seats(context_).lease_status());
    return KeptInMemory();
  }
  return activations->Serve(wait);
}

absl::StatusOr<std::optional<ServingClaim>> Licenses::ServingStatus() {
  Activations* activations = Seats(context_).activations();
  if (activations == nullptr) return KeptInMemory();
  ENTITLE_ASSIGN_OR_RETURN(std::optional<ServingClaimRecord> claim,
                           activations->Claim());
  if (!claim.has_value()) return std::nullopt;
  return ServingClaim{
      claim->holder,
      claim->host,
      claim->process_id,
      claim->epoch,
      claim->claimed_at,
      claim->renewed_at,
      claim->lease_until,
      activations->serving() && activations->epoch() == claim->epoch};
}

absl::Status Licenses::FlushActivations() {
  Activations* activations = Seats(context_).activations();
  if (activations == nullptr) return absl::OkStatus();
  return activations->Flush();
}

absl::StatusOr<Page<Session>> Licenses::Sessions(const Actor& actor,
                                                 OrganizationId organization,
                                                 absl::Time from, absl::Time to,
                                                 const PageRequest& page) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  Transaction& tx = reading.tx();
  ENTITLE_RETURN_IF_ERROR(RequireViewer(tx, actor, organization));
  if (page.offset < 0 || page.limit < 1 ||
      page.limit > PageRequest::kMaxPageLimit) {
    return Invalid(
        absl::StrCat("A page needs an offset of 0 or more and a "
                     "limit from 1 to ",
                     PageRequest::kMaxPageLimit, "."));
  }
  ENTITLE_ASSIGN_OR_RETURN(std::vector<ActivationRecord> ended,
                           SessionsIn(tx, organization, from, to));
  ENTITLE_ASSIGN_OR_RETURN(auto skus, SkusOf(tx, organization));
  Page<Session> result;
  const size_t first = static_cast<size_t>(page.offset);
  for (size_t i = first;
       i < ended.size() && i < first + static_cast<size_t>(page.limit); ++i) {
    const ActivationRecord& a = ended[i];
    result.items.push_back(
        Session{a.id, a.entitlement_id, skus[a.entitlement_id], a.identity_id,
                a.device_id, a.since, *a.ended_at, a.end_reason});
  }
  result.has_more = first + result.items.size() < ended.size();
  result.total = static_cast<int64_t>(ended.size());
  return result;
}

absl::StatusOr<std::string> Licenses::ExportSessions(
    const Actor& actor, OrganizationId organization, absl::Time from,
    absl::Time to, SessionExport what) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  Transaction& tx = reading.tx();
  ENTITLE_RETURN_IF_ERROR(RequireViewer(tx, actor, organization));
  ENTITLE_ASSIGN_OR_RETURN(std::vector<ActivationRecord> ended,
                           SessionsIn(tx, organization, from, to));
  ENTITLE_ASSIGN_OR_RETURN(auto skus, SkusOf(tx, organization));
  // SEC-3: addresses of the organization's members only.
  absl::flat_hash_map<IdentityId, std::string> emails;
  auto email_of = [&](IdentityId id) -> absl::StatusOr<std::string> {
    if (auto it = emails.find(id); it != emails.end()) return it->second;
    std::string email;
    absl::StatusOr<MembershipRecord> membership =
        tx.memberships().Get(MembershipKey{organization, id});
    if (membership.ok()) {
      ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity,
                               tx.identities().Get(id));
      email = identity.email.str();
    } else if (GetReason(membership.status()) != Reason::kNotFound) {
      return membership.status();
    }
    emails[id] = email;
    return email;
  };
  std::string out;
  if (what == SessionExport::kSessions) {
    AppendCsvRecord(out, {"email", "identity", "device", "sku", "start", "end",
                          "end_reason", "hours"});
    for (const ActivationRecord& a : ended) {
      ENTITLE_ASSIGN_OR_RETURN(std::string email, email_of(a.identity_id));
      AppendGuardedCsvRecord(
          out,
          {email, AuditTarget(a.identity_id), a.device_id.value(),
           skus[a.entitlement_id],
           absl::FormatTime(absl::RFC3339_sec, a.since, absl::UTCTimeZone()),
           absl::FormatTime(absl::RFC3339_sec, *a.ended_at,
                            absl::UTCTimeZone()),
           std::string(EndName(a.end_reason)),
           absl::StrFormat("%.2f",
                           HoursWithin(a.since, *a.ended_at, from, to))});
    }
    return out;
  }
  struct Total {
    int64_t sessions = 0;
    double hours = 0;
  };
  std::map<IdentityId, Total> totals;
  for (const ActivationRecord& a : ended) {
    Total& t = totals[a.identity_id];
    ++t.sessions;
    t.hours += HoursWithin(a.since, *a.ended_at, from, to);
  }
  AppendCsvRecord(out, {"email", "identity", "sessions", "hours"});
  for (const auto& [id, t] : totals) {
    ENTITLE_ASSIGN_OR_RETURN(std::string email, email_of(id));
    AppendGuardedCsvRecord(out,
                           {email, AuditTarget(id), absl::StrCat(t.sessions),
                            absl::StrFormat("%.2f", t.hours)});
  }
  return out;
}

absl::StatusOr<std::vector<FeedEventRecord>> Licenses::Events(
    const Actor& actor, FeedEventId after, int limit,
    std::optional<OrganizationId> organization) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  Transaction& tx = reading.tx();
  if (!actor.is_operator()) {
    if (!organization.has_value()) {
      return internal::PermissionDenied(
          "read every organization's events (the operator only; name your "
          "organization)");
    }
    ENTITLE_RETURN_IF_ERROR(RequireViewer(tx, actor, *organization));
  }
  if (limit < 1 || limit > 1000) {
    return Invalid("Read 1 to 1000 events at a time.");
  }
  ENTITLE_ASSIGN_OR_RETURN(
      Page<FeedEventRecord> page,
      tx.feed_events().List(
          FeedEventFilter{.after = after, .organization_id = organization},
          PageRequest{.offset = 0, .limit = limit}));
  return std::move(page.items);
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
