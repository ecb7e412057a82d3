// The licenses service (SPEC ENT-1 to ENT-12, with ORG-5, ORG-7 and ID-13
// where they touch licenses) on every backend.
//
// Each TEMPLATE_TEST_CASE is named after the rule it checks and covers the
// allowed and the refused paths, with the exact reason. A refused operation
// must write nothing, send nothing and publish nothing: `f.Freeze()` before
// and `f.RequireUnchanged(...)` after compare every table of the store
// (the pool usage table included), the notifier and the event sink.
//
// The checkout path records a device's successful check (ID-9) at most once
// per LicensePolicy::device_check_interval. Before freezing around a refused
// Checkout whose access itself is fine, a test therefore lets that device
// check access once, so the only write the refusal could make is already
// made.
//
// Time is the fixture's FakeClock (2026-01-01T00:00:00Z at the start); it is
// only ever moved forward.
#include "entitle/licenses.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/clock.h"
#include "entitle/directory.h"
#include "entitle/events.h"
#include "entitle/identities.h"
#include "entitle/ids.h"
#include "entitle/notifier.h"
#include "entitle/organizations.h"
#include "entitle/password_hasher.h"
#include "entitle/records.h"
#include "entitle/seat_pool.h"
#include "entitle/status.h"
#include "entitle/store.h"
#include "fixtures/directory_fixture.h"
#include "fixtures/store_fixtures.h"

namespace entitle_test {
namespace {

using namespace entitle;
using absl::StatusCode;

absl::Duration Days(int64_t n) { return absl::Hours(24 * n); }

const DeviceId kLaptop("laptop");
const DeviceId kDesk("desk");
const DeviceId kPhone("phone");

// ------------------------------------------------------------------ fixture

// A DirectoryFixture with the licenses service's own helpers.
template <typename Backend>
class LicenseFixture : public DirectoryFixture<Backend> {
 public:
  using DirectoryFixture<Backend>::DirectoryFixture;
  using DirectoryFixture<Backend>::lic;

  PoolGrantRecord GrantAccess(IdentityId admin, const EntitlementRecord& e,
                              IdentityId identity) {
    auto g = lic().GrantPoolAccess(As(admin), e.id,
                                   PoolMember{.identity = identity});
    ENTITLE_REQUIRE_OK(g);
    return *g;
  }
  PoolGrantRecord GrantGroupAccess(IdentityId admin, const EntitlementRecord& e,
                                   GroupId group) {
    auto g = lic().GrantPoolAccess(As(admin), e.id, PoolMember{.group = group});
    ENTITLE_REQUIRE_OK(g);
    return *g;
  }
  SeatLease MustCheckout(IdentityId identity, const EntitlementRecord& e,
                         const DeviceId& device) {
    auto lease = lic().Checkout(identity, e.sku, device);
    INFO(identity << " checks out " << e.sku << " on " << device);
    ENTITLE_REQUIRE_OK(lease);
    return *lease;
  }
  std::vector<SeatHolder> Holders(const EntitlementRecord& e) {
    auto holders = lic().Holders(kOp, e.id);
    ENTITLE_REQUIRE_OK(holders);
    return *holders;
  }
  EntitlementUsage UsageOf(const EntitlementRecord& e,
                           absl::Duration peak_window = absl::Hours(1)) {
    auto usage = lic().Usage(kOp, e.organization_id, peak_window);
    ENTITLE_REQUIRE_OK(usage);
    for (const EntitlementUsage& u : *usage) {
      if (u.entitlement.id == e.id) return u;
    }
    FAIL("no usage for " << e.id);
    return {};
  }

  std::vector<LicenseAssignmentRecord> AssignmentsOf(IdentityId identity) {
    return this->template All<LicenseAssignmentRecord>(
        LicenseAssignmentFilter{.identity_id = identity});
  }
  std::optional<DeviceCheckRecord> DeviceCheck(IdentityId identity,
                                               const DeviceId& device) {
    for (const DeviceCheckRecord& r : this->template All<DeviceCheckRecord>(
             DeviceCheckFilter{.identity_id = identity})) {
      if (r.device_id == device) return r;
    }
    return std::nullopt;
  }
};

// Acme (domain acme.com) with its first administrator Ann.
template <typename F>
OrgWithAdmin MakeAcme(F& f) {
  return f.FoundOrg("Acme", "ann@acme.com", "acme.com");
}

// ------------------------------------------------------------ value helpers

Profile In(std::string country) {
  return Profile{.display_name = "Test User", .country = std::move(country)};
}

std::optional<SeatHolder> HolderOf(const std::vector<SeatHolder>& holders,
                                   IdentityId identity,
                                   const DeviceId& device) {
  for (const SeatHolder& h : holders) {
    if (h.key.identity == identity && h.key.device == device) return h;
  }
  return std::nullopt;
}

template <typename T>
std::vector<T> Sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<IdentityId> Assignees(
    const absl::StatusOr<std::vector<LicenseAssignmentRecord>>& list) {
  ENTITLE_REQUIRE_OK(list);
  std::vector<IdentityId> out;
  for (const LicenseAssignmentRecord& a : *list) out.push_back(a.identity_id);
  return Sorted(out);
}

// REQUIREs that `result` failed with kSeatsExhausted and ENT-5's message.
void RequireSeatsExhausted(const absl::Status& s) {
  REQUIRE_REASON(s, Reason::kSeatsExhausted);
  CHECK(s.code() == StatusCode::kResourceExhausted);
  CHECK(s.message() == "All license seats are reserved");
}
template <typename T>
void RequireSeatsExhausted(const absl::StatusOr<T>& result) {
  RequireSeatsExhausted(result.status());
}

// ------------------------------------------------------------------- ENT-1

// clang-format off
TEMPLATE_TEST_CASE("ENT-1 the operator creates and changes an organization's "
                   "entitlements: SKU, seats, period, countries",
    "[licenses]", ENTITLE_BACKENDS) {
  // clang-format on
  LicenseFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);

  // Refused: not the operator, an unknown organization, bad terms.
  {
    const auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(
        f.lic().CreateEntitlement(As(ann), acme, Floating("CAD", 5)),
        StatusCode::kPermissionDenied, Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(
        f.lic().CreateEntitlement(kAnon, acme, Floating("CAD", 5)),
        StatusCode::kPermissionDenied, Reason::kPermissionDenied);
    REQUIRE_REASON(f.lic().CreateEntitlement(kOp, OrganizationId(987654),
                                             Floating("CAD", 5)),
                   Reason::kNotFound);
    std::vector<EntitlementTerms> bad = {
        Floating("", 5),
        Floating(std::string(65, 'S'), 5),
        Floating("CAD\n", 5),
        Floating("CAD", 0),
        Floating("CAD", -1),
        Floating("CAD", int64_t{SeatPoolCore::kMaxSeats} + 1),
        During(Floating("CAD", 5), kT0, kT0),
        During(Floating("CAD", 5), kT0, kT0 - absl::Hours(1)),
        Floating("CAD", 5, {"DEU"}),
        Floating("CAD", 5, {""}),
    };
    for (size_t i = 0; i < bad.size(); ++i) {
      INFO("bad terms #" << i);
      REQUIRE_REASON(f.lic().CreateEntitlement(kOp, acme, bad[i]),
                     Reason::kInvalidArgument);
    }
    f.RequireUnchanged(before);
  }

  // Allowed: the operator, for a floating and a named entitlement.
  const size_t audit_before = f.Audit().size();
  auto pool =
      f.lic().CreateEntitlement(kOp, acme, Floating("CAD", 5, {"de", "at"}));
  ENTITLE_REQUIRE_OK(pool);
  CHECK(pool->id.valid());
  CHECK(pool->organization_id == acme);
  CHECK(pool->sku == "CAD");
  CHECK(pool->kind == EntitlementKind::kFloating);
  CHECK(pool->seats == 5);
  CHECK(pool->period_start == kT0 - Days(1));
  CHECK(pool->period_end == kT0 + Days(365));
  CHECK(Sorted(pool->countries) == std::vector<std::string>{"AT", "DE"});
  CHECK(pool->created_at == f.Now());
  const EntitlementRecord named = f.Entitle(acme, Named("VIEWER", 2));
  CHECK(named.kind == EntitlementKind::kNamed);
  CHECK(named.countries.empty());
  CHECK(f.Audit().size() >= audit_before + 2);  // Both creations are audited.

  // Changing: SKU, seats, period and countries; the kind cannot change.
  EntitlementTerms renewed = Floating("CAD-2", 8, {"FR"});
  renewed.period_end = kT0 + Days(730);
  {
    const auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(
        f.lic().ChangeEntitlement(As(ann), pool->id, renewed),
        StatusCode::kPermissionDenied, Reason::kPermissionDenied);
    REQUIRE_REASON(
        f.lic().ChangeEntitlement(kOp, EntitlementId(987654), renewed),
        Reason::kNotFound);
    REQUIRE_REASON(
        f.lic().ChangeEntitlement(kOp, pool->id, Named("CAD-2", 8, {"FR"})),
        Reason::kWrongEntitlementKind);
    REQUIRE_REASON(f.lic().ChangeEntitlement(kOp, pool->id, Floating("CAD", 0)),
                   Reason::kInvalidArgument);
    f.RequireUnchanged(before);
  }
  auto changed = f.lic().ChangeEntitlement(kOp, pool->id, renewed);
  ENTITLE_REQUIRE_OK(changed);
  CHECK(changed->id == pool->id);
  CHECK(changed->sku == "CAD-2");
  CHECK(changed->seats == 8);
  CHECK(changed->period_end == kT0 + Days(730));
  CHECK(changed->countries == std::vector<std::string>{"FR"});
  CHECK(changed->created_at == pool->created_at);

  auto listed = f.lic().ListEntitlements(As(ann), acme);
  ENTITLE_REQUIRE_OK(listed);
  REQUIRE(listed->size() == 2);
  CHECK((*listed)[0] == *changed);
  CHECK((*listed)[1] == named);
}

// ------------------------------------------------------------------- ENT-2

// clang-format off
TEMPLATE_TEST_CASE("ENT-2 an admin assigns a named license up to its seat "
                   "count; one more, a disallowed country or a floating "
                   "entitlement is refused",
    "[licenses]", ENTITLE_BACKENDS) {
  // clang-format on
  LicenseFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com", In("DE"));
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com", In("DE"));
  const IdentityId ext = f.External(acme, ann, "ext@partner.org", In("AT"));
  const IdentityId fra = f.Employee(acme, ann, "fra@acme.com", In("FR"));
  const IdentityId nowhere = f.Employee(acme, ann, "nowhere@acme.com");
  const IdentityId stranger = f.RegisterVerified("stranger@else.org", In("DE"));
  const EntitlementRecord viewer =
      f.Entitle(acme, Named("VIEWER", 2, {"DE", "AT"}));
  const EntitlementRecord pool = f.Entitle(acme, Floating("CAD", 2));

  // Up to the seat count: an employee and an external member.
  ENTITLE_REQUIRE_OK(f.lic().Assign(As(ann), viewer.id, mia));
  ENTITLE_REQUIRE_OK(f.lic().Assign(As(ann), viewer.id, ext));
  CHECK(Assignees(f.lic().ListAssignments(As(ann), viewer.id)) ==
        Sorted(std::vector<IdentityId>{mia, ext}));
  const auto assignments = f.AssignmentsOf(mia);
  REQUIRE(assignments.size() == 1);
  CHECK(assignments[0].assigned_at == f.Now());

  {
    const auto before = f.Freeze();
    // One more fails with a clear error.
    const absl::Status full = f.lic().Assign(As(ann), viewer.id, nik);
    REQUIRE_REASON(full, Reason::kLicensesExhausted);
    CHECK(absl::StrContains(full.message(), "VIEWER"));
    // Already assigned.
    REQUIRE_REASON(f.lic().Assign(As(ann), viewer.id, mia),
                   Reason::kAlreadyAssigned);
    // A member whose country is not allowed, or unknown.
    REQUIRE_REASON(f.lic().Assign(As(ann), viewer.id, fra),
                   Reason::kCountryNotAllowed);
    REQUIRE_REASON(f.lic().Assign(As(ann), viewer.id, nowhere),
                   Reason::kCountryNotAllowed);
    // Not a member of the organization.
    REQUIRE_REASON(f.lic().Assign(As(ann), viewer.id, stranger),
                   Reason::kNotMember);
    // A floating entitlement is not assigned.
    REQUIRE_REASON(f.lic().Assign(As(ann), pool.id, nik),
                   Reason::kWrongEntitlementKind);
    f.RequireUnchanged(before);
  }

  // Ending an assignment frees a license for someone else.
  ENTITLE_REQUIRE_OK(f.lic().Unassign(As(ann), viewer.id, ext));
  REQUIRE_REASON(f.lic().Unassign(As(ann), viewer.id, ext), Reason::kNotFound);
  ENTITLE_REQUIRE_OK(f.lic().Assign(As(ann), viewer.id, nik));
  CHECK(Assignees(f.lic().ListAssignments(As(ann), viewer.id)) ==
        Sorted(std::vector<IdentityId>{mia, nik}));
  CHECK(f.AssignmentsOf(ext).empty());

  // The assignee may use the product; the unassigned one may not.
  auto access = f.lic().CheckAccess(nik, "VIEWER", kLaptop);
  ENTITLE_REQUIRE_OK(access);
  CHECK(access->entitlement_id == viewer.id);
  CHECK(access->kind == EntitlementKind::kNamed);
  REQUIRE_REASON(f.lic().CheckAccess(ext, "VIEWER", kLaptop),
                 Reason::kNoLicense);
}

// ------------------------------------------------------------------- ENT-3

// clang-format off
TEMPLATE_TEST_CASE("ENT-3 pool access for members and groups: a seat per "
                   "(identity, device), the same device gets its own seat back",
    "[licenses]", ENTITLE_BACKENDS) {
  // clang-format on
  LicenseFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com");
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com");
  const IdentityId oli = f.External(acme, ann, "oli@partner.org");
  const IdentityId pat = f.Employee(acme, ann, "pat@acme.com");  // No access.
  const IdentityId stranger = f.RegisterVerified("stranger@else.org");
  const IdentityId bea = f.RegisterVerified("bea@beta.com");
  const OrganizationId beta = f.CreateOrg("Beta", bea, "beta.com");
  const GroupId team = f.Group(acme, ann, "Team", {nik, oli});
  const GroupId beta_team = f.Group(beta, bea, "Team", {});
  const EntitlementRecord pool = f.Entitle(acme, Floating("CAD", 3));
  const EntitlementRecord named = f.Entitle(acme, Named("VIEWER", 3));

  // Any number of members or groups: more people than seats.
  const PoolGrantRecord direct = f.GrantAccess(ann, pool, mia);
  CHECK(direct.entitlement_id == pool.id);
  CHECK(direct.identity_id == mia);
  CHECK_FALSE(direct.group_id.has_value());
  CHECK(direct.granted_at == f.Now());
  const PoolGrantRecord via_group = f.GrantGroupAccess(ann, pool, team);
  CHECK(via_group.group_id == team);
  CHECK_FALSE(via_group.identity_id.has_value());
  auto grants = f.lic().ListPoolAccess(As(ann), pool.id);
  ENTITLE_REQUIRE_OK(grants);
  CHECK(*grants == std::vector<PoolGrantRecord>{direct, via_group});

  {
    const auto before = f.Freeze();
    REQUIRE_REASON(
        f.lic().GrantPoolAccess(As(ann), named.id, PoolMember{.identity = mia}),
        Reason::kWrongEntitlementKind);
    REQUIRE_REASON(f.lic().GrantPoolAccess(As(ann), pool.id, PoolMember{}),
                   Reason::kInvalidArgument);
    REQUIRE_REASON(
        f.lic().GrantPoolAccess(As(ann), pool.id,
                                PoolMember{.identity = pat, .group = team}),
        Reason::kInvalidArgument);
    REQUIRE_REASON(f.lic().GrantPoolAccess(As(ann), pool.id,
                                           PoolMember{.identity = stranger}),
                   Reason::kNotMember);
    REQUIRE_REASON(f.lic().GrantPoolAccess(As(ann), pool.id,
                                           PoolMember{.group = beta_team}),
                   Reason::kNotFound);
    REQUIRE_REASON(
        f.lic().GrantPoolAccess(As(ann), pool.id, PoolMember{.identity = mia}),
        Reason::kAlreadyAssigned);
    REQUIRE_REASON(
        f.lic().GrantPoolAccess(As(ann), pool.id, PoolMember{.group = team}),
        Reason::kAlreadyAssigned);
    f.RequireUnchanged(before);
  }

  // A seat for (mia, laptop); the same device asking again gets it back.
  const SeatLease first = f.MustCheckout(mia, pool, kLaptop);
  REQUIRE(first.seat.has_value());
  CHECK_FALSE(first.renewed);
  CHECK(first.access.entitlement_id == pool.id);
  CHECK(first.access.organization_id == acme);
  CHECK(first.access.kind == EntitlementKind::kFloating);
  CHECK_FALSE(first.access.offline);
  const SeatLease again = f.MustCheckout(mia, pool, kLaptop);
  REQUIRE(again.seat.has_value());
  CHECK(*again.seat == *first.seat);
  CHECK(again.renewed);
  CHECK(f.UsageOf(pool).in_use == 1);

  // A second device of the same identity takes a second seat.
  const SeatLease second = f.MustCheckout(mia, pool, kDesk);
  REQUIRE(second.seat.has_value());
  CHECK_FALSE(second.renewed);
  CHECK(*second.seat != *first.seat);

  // Access through the group.
  const SeatLease grouped = f.MustCheckout(nik, pool, kLaptop);
  REQUIRE(grouped.seat.has_value());
  CHECK_FALSE(grouped.renewed);
  CHECK(*grouped.seat != *first.seat);
  CHECK(*grouped.seat != *second.seat);
  CHECK(f.UsageOf(pool).in_use == 3);
  CHECK(f.Holders(pool).size() == 3);

  // At most `seats` at once: oli (group) waits until a seat is released.
  ENTITLE_REQUIRE_OK(f.lic().CheckAccess(oli, "CAD", kLaptop));
  RequireSeatsExhausted(f.lic().Checkout(oli, "CAD", kLaptop));
  ENTITLE_REQUIRE_OK(f.lic().Release(mia, pool.id, kDesk));
  const SeatLease freed = f.MustCheckout(oli, pool, kLaptop);
  CHECK_FALSE(freed.renewed);

  // No access at all: no seat.
  REQUIRE_REASON(f.lic().Checkout(pat, "CAD", kLaptop), Reason::kNoLicense);
  REQUIRE_REASON(f.lic().Checkout(stranger, "CAD", kLaptop),
                 Reason::kNoLicense);
}

// clang-format off
TEMPLATE_TEST_CASE("ENT-3 revoked pool access or a group place ends the seat "
                   "at its next heartbeat",
    "[licenses]", ENTITLE_BACKENDS) {
  // clang-format on
  LicenseFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com");
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com");
  const GroupId team = f.Group(acme, ann, "Team", {nik});
  const EntitlementRecord pool = f.Entitle(acme, Floating("CAD", 2));
  const PoolGrantRecord grant = f.GrantAccess(ann, pool, mia);
  f.GrantGroupAccess(ann, pool, team);
  f.MustCheckout(mia, pool, kLaptop);
  f.MustCheckout(nik, pool, kLaptop);

  {
    const auto before = f.Freeze();
    REQUIRE_REASON(f.lic().RevokePoolAccess(As(ann), PoolGrantId(987654)),
                   Reason::kNotFound);
    f.RequireUnchanged(before);
  }
  ENTITLE_REQUIRE_OK(f.lic().RevokePoolAccess(As(ann), grant.id));
  ENTITLE_REQUIRE_OK(f.orgs().RemoveFromGroup(As(ann), acme, team, nik));
  auto grants = f.lic().ListPoolAccess(As(ann), pool.id);
  ENTITLE_REQUIRE_OK(grants);
  CHECK(grants->size() == 1);  // Only the group's grant is left.

  REQUIRE_REASON(f.lic().Heartbeat(mia, pool.id, kLaptop), Reason::kNoLicense);
  REQUIRE_REASON(f.lic().Heartbeat(nik, pool.id, kLaptop), Reason::kNoLicense);
  REQUIRE_REASON(f.lic().CheckAccess(mia, "CAD", kLaptop), Reason::kNoLicense);
  REQUIRE_REASON(f.lic().Checkout(nik, "CAD", kDesk), Reason::kNoLicense);
}

// ------------------------------------------------------------------- ENT-4

// clang-format off
TEMPLATE_TEST_CASE("ENT-4 heartbeats keep a seat; an expired seat is reclaimed "
                   "when a reservation would fail; a late heartbeat never "
                   "takes it back",
    "[licenses]", ENTITLE_BACKENDS) {
  // clang-format on
  LicensePolicy policy;
  policy.seat_lease = absl::Minutes(10);
  LicenseFixture<TestType> f({.license_policy = policy});
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com");
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com");
  const EntitlementRecord pool = f.Entitle(acme, Floating("CAD", 2));
  f.GrantAccess(ann, pool, mia);
  f.GrantAccess(ann, pool, nik);

  // t = 0: mia fills the pool with two devices.
  const absl::Time t0 = f.Now();
  const SeatLease laptop = f.MustCheckout(mia, pool, kLaptop);
  const SeatLease desk = f.MustCheckout(mia, pool, kDesk);
  REQUIRE(laptop.seat.has_value());
  REQUIRE(desk.seat.has_value());
  CHECK(laptop.expires_at >= t0 + absl::Minutes(10));
  CHECK(laptop.expires_at < t0 + absl::Minutes(10) + absl::Seconds(1));

  // t = 6 min: only the desk sends a heartbeat; it extends the lease.
  f.Advance(absl::Minutes(6));
  auto beat = f.lic().Heartbeat(mia, pool.id, kDesk);
  ENTITLE_REQUIRE_OK(beat);
  CHECK(beat->renewed);
  REQUIRE(beat->seat.has_value());
  CHECK(*beat->seat == *desk.seat);
  CHECK(beat->expires_at >= f.Now() + absl::Minutes(10));
  ENTITLE_REQUIRE_OK(f.lic().CheckAccess(nik, "CAD", kLaptop));
  RequireSeatsExhausted(f.lic().Checkout(nik, "CAD", kLaptop));

  // t = 12 min: the laptop's lease ran out at 10 min, the desk's runs to 16.
  // Nothing swept the pool (no RecordUsage): nik's reservation, which would
  // otherwise fail, reclaims the laptop's seat.
  f.Advance(absl::Minutes(6));
  const SeatLease taken = f.MustCheckout(nik, pool, kLaptop);
  REQUIRE(taken.seat.has_value());
  CHECK_FALSE(taken.renewed);
  CHECK(*taken.seat !=
        *laptop.seat);  // A new generation, never the old handle.
  CHECK(*taken.seat != *desk.seat);

  // mia's laptop comes back: its heartbeat is a new reservation and must not
  // take nik's seat; the pool is full, so it is refused.
  {
    const auto before = f.Freeze();
    RequireSeatsExhausted(f.lic().Heartbeat(mia, pool.id, kLaptop));
    f.RequireUnchanged(before);
  }
  const std::vector<SeatHolder> holders = f.Holders(pool);
  CHECK(holders.size() == 2);
  auto nik_holds = HolderOf(holders, nik, kLaptop);
  REQUIRE(nik_holds.has_value());
  CHECK(nik_holds->handle == *taken.seat);
  CHECK(HolderOf(holders, mia, kDesk).has_value());
  CHECK_FALSE(HolderOf(holders, mia, kLaptop).has_value());
  auto nik_beat = f.lic().Heartbeat(nik, pool.id, kLaptop);
  ENTITLE_REQUIRE_OK(nik_beat);
  CHECK(nik_beat->renewed);
  CHECK(*nik_beat->seat == *taken.seat);

  // Once a seat is free, the laptop's heartbeat gets a new seat, not its old
  // handle and not nik's.
  ENTITLE_REQUIRE_OK(f.lic().Release(mia, pool.id, kDesk));
  auto back = f.lic().Heartbeat(mia, pool.id, kLaptop);
  ENTITLE_REQUIRE_OK(back);
  CHECK_FALSE(back->renewed);
  REQUIRE(back->seat.has_value());
  CHECK(*back->seat != *laptop.seat);
  CHECK(*back->seat != *taken.seat);
  CHECK(*back->seat != *desk.seat);

  // An explicit release frees the seat once; the second finds none.
  {
    const auto before = f.Freeze();
    REQUIRE_REASON(f.lic().Release(mia, pool.id, kDesk), Reason::kSeatNotHeld);
    REQUIRE_REASON(f.lic().Release(mia, pool.id, kPhone), Reason::kSeatNotHeld);
    f.RequireUnchanged(before);
  }
  ENTITLE_REQUIRE_OK(f.lic().Release(mia, pool.id, kLaptop));
  REQUIRE_REASON(f.lic().Release(mia, pool.id, kLaptop), Reason::kSeatNotHeld);
  CHECK(f.Holders(pool).size() == 1);
}

// clang-format off
TEMPLATE_TEST_CASE("ENT-4 by default a seat without a heartbeat is kept for "
                   "three hours",
    "[licenses]", ENTITLE_BACKENDS) {
  // clang-format on
  LicenseFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com");
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com");
  const EntitlementRecord pool = f.Entitle(acme, Floating("CAD", 1));
  f.GrantAccess(ann, pool, mia);
  f.GrantAccess(ann, pool, nik);

  const SeatLease held = f.MustCheckout(mia, pool, kLaptop);
  CHECK(held.expires_at >= f.Now() + absl::Hours(3));
  CHECK(held.expires_at < f.Now() + absl::Hours(3) + absl::Seconds(5));

  f.Advance(absl::Hours(3) - absl::Minutes(1));
  RequireSeatsExhausted(f.lic().Checkout(nik, "CAD", kLaptop));
  f.Advance(absl::Minutes(2));
  const SeatLease taken = f.MustCheckout(nik, pool, kLaptop);
  CHECK(*taken.seat != *held.seat);
  RequireSeatsExhausted(f.lic().Heartbeat(mia, pool.id, kLaptop));
}

// ------------------------------------------------------------------- ENT-5

// clang-format off
TEMPLATE_TEST_CASE("ENT-5 a full pool passes a checkout on to the next pool of "
                   "the same product; only when all are full is it refused",
    "[licenses]", ENTITLE_BACKENDS) {
  // clang-format on
  LicenseFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com");
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com");
  const IdentityId oli = f.Employee(acme, ann, "oli@acme.com");
  const EntitlementRecord first = f.Entitle(acme, Floating("CAD", 1));
  const EntitlementRecord second = f.Entitle(acme, Floating("CAD", 1));
  const GroupId everyone = f.Group(acme, ann, "Everyone", {mia, nik, oli});
  f.GrantGroupAccess(ann, first, everyone);
  f.GrantGroupAccess(ann, second, everyone);

  auto a = f.lic().Checkout(mia, "CAD", kLaptop);
  ENTITLE_REQUIRE_OK(a);
  CHECK(a->access.entitlement_id == first.id);
  auto b = f.lic().Checkout(nik, "CAD", kLaptop);
  ENTITLE_REQUIRE_OK(b);
  CHECK(b->access.entitlement_id == second.id);
  RequireSeatsExhausted(f.lic().Checkout(oli, "CAD", kLaptop));
  ENTITLE_REQUIRE_OK(f.lic().Release(mia, first.id, kLaptop));
  auto c = f.lic().Checkout(oli, "CAD", kLaptop);
  ENTITLE_REQUIRE_OK(c);
  CHECK(c->access.entitlement_id == first.id);
}

// clang-format off
TEMPLATE_TEST_CASE("ENT-5 a full pool refuses a new reservation with "
                   "kSeatsExhausted and \"All license seats are reserved\"",
    "[licenses]", ENTITLE_BACKENDS) {
  // clang-format on
  LicenseFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com");
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com");
  const IdentityId oli = f.Employee(acme, ann, "oli@acme.com");
  const EntitlementRecord pool = f.Entitle(acme, Floating("CAD", 2));
  f.GrantGroupAccess(ann, pool,
                     f.Group(acme, ann, "Everyone", {mia, nik, oli}));

  const SeatLease mia_seat = f.MustCheckout(mia, pool, kLaptop);
  f.MustCheckout(nik, pool, kLaptop);
  // oli may use the product (access is fine), but no seat is free.
  ENTITLE_REQUIRE_OK(f.lic().CheckAccess(oli, "CAD", kLaptop));

  {
    const auto before = f.Freeze();
    RequireSeatsExhausted(f.lic().Checkout(oli, "CAD", kLaptop));
    RequireSeatsExhausted(f.lic().Checkout(oli, "CAD", kLaptop));
    RequireSeatsExhausted(f.lic().Heartbeat(oli, pool.id, kLaptop));
    f.RequireUnchanged(before);
  }
  const std::vector<SeatHolder> holders = f.Holders(pool);
  CHECK(holders.size() == 2);
  CHECK(HolderOf(holders, mia, kLaptop).has_value());
  CHECK(HolderOf(holders, nik, kLaptop).has_value());
  CHECK_FALSE(HolderOf(holders, oli, kLaptop).has_value());

  // A holder asking again in a full pool still gets its own seat.
  const SeatLease renewed = f.MustCheckout(mia, pool, kLaptop);
  CHECK(renewed.renewed);
  CHECK(*renewed.seat == *mia_seat.seat);

  // A release makes room.
  ENTITLE_REQUIRE_OK(f.lic().Release(nik, pool.id, kLaptop));
  const SeatLease oli_seat = f.MustCheckout(oli, pool, kLaptop);
  CHECK_FALSE(oli_seat.renewed);
  RequireSeatsExhausted(f.lic().Checkout(nik, "CAD", kLaptop));
}

// ------------------------------------------------------------------- ENT-6

// clang-format off
TEMPLATE_TEST_CASE("ENT-6 outside its period an entitlement gives no seat or "
                   "assignment; no seat outlives the period's end",
    "[licenses]", ENTITLE_BACKENDS) {
  // clang-format on
  LicenseFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com");
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com");
  const absl::Time t0 = f.Now();
  // Two pools and two named entitlements: one pair starts in two hours, the
  // other ends in one hour.
  const EntitlementRecord future_pool = f.Entitle(
      acme,
      During(Floating("FUTURE-POOL", 2), t0 + absl::Hours(2), t0 + Days(30)));
  const EntitlementRecord ending_pool = f.Entitle(
      acme,
      During(Floating("ENDING-POOL", 2), t0 - Days(1), t0 + absl::Hours(1)));
  const EntitlementRecord future_named = f.Entitle(
      acme,
      During(Named("FUTURE-NAMED", 2), t0 + absl::Hours(2), t0 + Days(30)));
  const EntitlementRecord ending_named = f.Entitle(
      acme,
      During(Named("ENDING-NAMED", 2), t0 - Days(1), t0 + absl::Hours(1)));

  // Before the period: access may be prepared, but nothing is given.
  f.GrantAccess(ann, future_pool, mia);
  {
    const auto before = f.Freeze();
    REQUIRE_REASON(f.lic().Assign(As(ann), future_named.id, mia),
                   Reason::kOutsidePeriod);
    REQUIRE_REASON(f.lic().CheckAccess(mia, "FUTURE-POOL", kLaptop),
                   Reason::kOutsidePeriod);
    REQUIRE_REASON(f.lic().Checkout(mia, "FUTURE-POOL", kLaptop),
                   Reason::kOutsidePeriod);
    f.RequireUnchanged(before);
  }
  CHECK(f.Holders(future_pool).empty());

  // Within the period: the lease never ends after the period's end.
  f.GrantAccess(ann, ending_pool, mia);
  ENTITLE_REQUIRE_OK(f.lic().Assign(As(ann), ending_named.id, mia));
  const SeatLease seat = f.MustCheckout(mia, ending_pool, kLaptop);
  REQUIRE(seat.seat.has_value());
  CHECK(seat.access.period_end == t0 + absl::Hours(1));
  CHECK(seat.expires_at > t0);
  CHECK(seat.expires_at <= t0 + absl::Hours(1));  // Not t0 + 3 h.
  const SeatLease named = f.MustCheckout(mia, ending_named, kLaptop);
  CHECK_FALSE(named.seat.has_value());  // A named license takes no pool seat.
  CHECK(named.access.kind == EntitlementKind::kNamed);
  CHECK(named.expires_at == t0 + absl::Hours(1));
  f.Advance(absl::Minutes(30));
  auto beat = f.lic().Heartbeat(mia, ending_pool.id, kLaptop);
  ENTITLE_REQUIRE_OK(beat);
  CHECK(beat->renewed);
  CHECK(beat->expires_at <= t0 + absl::Hours(1));

  // After the end: the heartbeat fails, the seat is gone, nothing new.
  f.Advance(absl::Minutes(31));  // t0 + 1 h 1 min.
  {
    const auto before = f.Freeze();
    REQUIRE_REASON(f.lic().Heartbeat(mia, ending_pool.id, kLaptop),
                   Reason::kOutsidePeriod);
    REQUIRE_REASON(f.lic().Checkout(mia, "ENDING-POOL", kDesk),
                   Reason::kOutsidePeriod);
    REQUIRE_REASON(f.lic().CheckAccess(mia, "ENDING-NAMED", kLaptop),
                   Reason::kOutsidePeriod);
    REQUIRE_REASON(f.lic().Assign(As(ann), ending_named.id, nik),
                   Reason::kOutsidePeriod);
    f.RequireUnchanged(before);
  }
  CHECK(f.Holders(ending_pool).empty());
  CHECK(f.UsageOf(ending_pool).in_use == 0);
  REQUIRE_REASON(f.lic().Release(mia, ending_pool.id, kLaptop),
                 Reason::kSeatNotHeld);

  // Once the future period has started, it gives seats and assignments.
  f.Advance(absl::Hours(1));  // t0 + 2 h 1 min.
  const SeatLease started = f.MustCheckout(mia, future_pool, kLaptop);
  CHECK(started.seat.has_value());
  ENTITLE_REQUIRE_OK(f.lic().Assign(As(ann), future_named.id, nik));
}

// ------------------------------------------------------------------- ENT-7

// clang-format off
TEMPLATE_TEST_CASE("ENT-7 lowering a pool's seats below use takes no seat away "
                   "and gives none until use is below; usage shows "
                   "over-allocation",
    "[licenses]", ENTITLE_BACKENDS) {
  // clang-format on
  LicenseFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com");
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com");
  const IdentityId oli = f.Employee(acme, ann, "oli@acme.com");
  const IdentityId pat = f.Employee(acme, ann, "pat@acme.com");
  const EntitlementRecord pool = f.Entitle(acme, Floating("CAD", 3));
  f.GrantGroupAccess(ann, pool,
                     f.Group(acme, ann, "Everyone", {mia, nik, oli, pat}));
  const SeatLease m = f.MustCheckout(mia, pool, kLaptop);
  const SeatLease n = f.MustCheckout(nik, pool, kLaptop);
  const SeatLease o = f.MustCheckout(oli, pool, kLaptop);

  auto lowered = f.lic().ChangeEntitlement(kOp, pool.id, Floating("CAD", 1));
  ENTITLE_REQUIRE_OK(lowered);
  CHECK(lowered->seats == 1);

  // Nobody loses a seat.
  CHECK(f.Holders(pool).size() == 3);
  for (auto [who, lease] :
       {std::pair{mia, m}, std::pair{nik, n}, std::pair{oli, o}}) {
    auto beat = f.lic().Heartbeat(who, pool.id, kLaptop);
    INFO(who);
    ENTITLE_REQUIRE_OK(beat);
    CHECK(beat->renewed);
    CHECK(*beat->seat == *lease.seat);
  }
  EntitlementUsage usage = f.UsageOf(pool);
  CHECK(usage.purchased == 1);
  CHECK(usage.in_use == 3);
  CHECK(usage.over_allocated);

  // No new seat until use is below the new count.
  ENTITLE_REQUIRE_OK(f.lic().CheckAccess(pat, "CAD", kLaptop));
  {
    const auto before = f.Freeze();
    RequireSeatsExhausted(f.lic().Checkout(pat, "CAD", kLaptop));
    f.RequireUnchanged(before);
  }
  ENTITLE_REQUIRE_OK(f.lic().Release(nik, pool.id, kLaptop));  // 2 in use.
  RequireSeatsExhausted(f.lic().Checkout(pat, "CAD", kLaptop));
  usage = f.UsageOf(pool);
  CHECK(usage.in_use == 2);
  CHECK(usage.over_allocated);
  ENTITLE_REQUIRE_OK(f.lic().Release(oli, pool.id, kLaptop));  // 1 in use.
  RequireSeatsExhausted(f.lic().Checkout(pat, "CAD", kLaptop));
  usage = f.UsageOf(pool);
  CHECK(usage.in_use == 1);
  CHECK_FALSE(usage.over_allocated);
  ENTITLE_REQUIRE_OK(f.lic().Release(mia, pool.id, kLaptop));  // 0 in use.
  f.MustCheckout(pat, pool, kLaptop);
  RequireSeatsExhausted(f.lic().Checkout(mia, "CAD", kLaptop));

  // Raising the seats gives new seats at once.
  ENTITLE_REQUIRE_OK(
      f.lic().ChangeEntitlement(kOp, pool.id, Floating("CAD", 3)));
  f.MustCheckout(mia, pool, kLaptop);
  f.MustCheckout(nik, pool, kLaptop);
  RequireSeatsExhausted(f.lic().Checkout(oli, "CAD", kLaptop));
  CHECK(f.UsageOf(pool).in_use == 3);
}

// clang-format off
TEMPLATE_TEST_CASE("ENT-7 lowering a named entitlement below its assignments "
                   "keeps them and allows none until below",
    "[licenses]", ENTITLE_BACKENDS) {
  // clang-format on
  LicenseFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com");
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com");
  const IdentityId oli = f.Employee(acme, ann, "oli@acme.com");
  const EntitlementRecord viewer = f.Entitle(acme, Named("VIEWER", 2));
  ENTITLE_REQUIRE_OK(f.lic().Assign(As(ann), viewer.id, mia));
  ENTITLE_REQUIRE_OK(f.lic().Assign(As(ann), viewer.id, nik));

  ENTITLE_REQUIRE_OK(
      f.lic().ChangeEntitlement(kOp, viewer.id, Named("VIEWER", 1)));
  CHECK(Assignees(f.lic().ListAssignments(As(ann), viewer.id)) ==
        Sorted(std::vector<IdentityId>{mia, nik}));
  ENTITLE_REQUIRE_OK(f.lic().CheckAccess(mia, "VIEWER", kLaptop));
  ENTITLE_REQUIRE_OK(f.lic().CheckAccess(nik, "VIEWER", kLaptop));
  const EntitlementUsage usage = f.UsageOf(viewer);
  CHECK(usage.purchased == 1);
  CHECK(usage.assigned_or_with_access == 2);
  CHECK(usage.over_allocated);

  {
    const auto before = f.Freeze();
    REQUIRE_REASON(f.lic().Assign(As(ann), viewer.id, oli),
                   Reason::kLicensesExhausted);
    f.RequireUnchanged(before);
  }
  ENTITLE_REQUIRE_OK(f.lic().Unassign(As(ann), viewer.id, nik));
  REQUIRE_REASON(f.lic().Assign(As(ann), viewer.id, oli),
                 Reason::kLicensesExhausted);
  ENTITLE_REQUIRE_OK(f.lic().Unassign(As(ann), viewer.id, mia));
  ENTITLE_REQUIRE_OK(f.lic().Assign(As(ann), viewer.id, oli));
}

// ------------------------------------------------------------------- ENT-8

// clang-format off
TEMPLATE_TEST_CASE("ENT-8 the usage view counts purchased, assigned or with "
                   "access, in use, peak over the window and period end",
    "[licenses]", ENTITLE_BACKENDS) {
  // clang-format on
  LicensePolicy policy;
  policy.seat_lease = absl::Hours(24);  // No seat expires during the test.
  LicenseFixture<TestType> f({.license_policy = policy});
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com");
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com");
  const IdentityId oli = f.External(acme, ann, "oli@partner.org");
  const IdentityId vic = f.Employee(acme, ann, "vic@acme.com");
  f.GiveRole(acme, ann, vic, "Usage viewer", kViewUsage);
  const IdentityId bea = f.RegisterVerified("bea@beta.com");
  const OrganizationId beta = f.CreateOrg("Beta", bea, "beta.com");
  const EntitlementRecord elsewhere = f.Entitle(beta, Floating("CAD", 9));

  const EntitlementRecord named = f.Entitle(acme, Named("VIEWER", 5));
  const EntitlementRecord pool = f.Entitle(acme, Floating("CAD", 3));
  ENTITLE_REQUIRE_OK(f.lic().Assign(As(ann), named.id, mia));
  ENTITLE_REQUIRE_OK(f.lic().Assign(As(ann), named.id, nik));
  // Access: mia directly and through the group, nik and oli through it.
  f.GrantAccess(ann, pool, mia);
  f.GrantGroupAccess(ann, pool, f.Group(acme, ann, "Team", {mia, nik, oli}));
  f.MustCheckout(mia, pool, kLaptop);
  f.MustCheckout(nik, pool, kLaptop);

  // The license view: the organization's entitlements, by id.
  auto licenses = f.lic().ListEntitlements(As(vic), acme);
  ENTITLE_REQUIRE_OK(licenses);
  CHECK(*licenses == std::vector<EntitlementRecord>{named, pool});

  auto all = f.lic().Usage(As(vic), acme, absl::Hours(1));
  ENTITLE_REQUIRE_OK(all);
  REQUIRE(all->size() == 2);
  for (const EntitlementUsage& u : *all) {
    CHECK(u.entitlement.id != elsewhere.id);
    CHECK(u.period_end == kT0 + Days(365));
    CHECK_FALSE(u.over_allocated);
    if (u.entitlement.id == named.id) {
      CHECK(u.purchased == 5);
      CHECK(u.assigned_or_with_access == 2);
      CHECK(u.in_use == 2);
    } else {
      REQUIRE(u.entitlement.id == pool.id);
      CHECK(u.purchased == 3);
      CHECK(u.assigned_or_with_access == 3);  // mia counted once.
      CHECK(u.in_use == 2);
      CHECK(u.peak_in_use == 2);
    }
  }

  // The peak outlives the use: recorded, then one seat released.
  const absl::Time t0 = f.Now();
  ENTITLE_REQUIRE_OK(f.lic().RecordUsage());
  ENTITLE_REQUIRE_OK(f.lic().Release(nik, pool.id, kLaptop));
  EntitlementUsage u = f.UsageOf(pool, absl::Hours(1));
  CHECK(u.in_use == 1);
  CHECK(u.peak_in_use == 2);

  // Hours later, a short window sees only the recent use, a long one the peak.
  f.Advance(absl::Hours(3));
  ENTITLE_REQUIRE_OK(f.lic().RecordUsage());
  f.Advance(absl::Hours(3));
  ENTITLE_REQUIRE_OK(f.lic().RecordUsage());
  REQUIRE(f.Now() == t0 + absl::Hours(6));
  u = f.UsageOf(pool, absl::Minutes(30));
  CHECK(u.in_use == 1);
  CHECK(u.peak_in_use == 1);
  u = f.UsageOf(pool, Days(1));
  CHECK(u.peak_in_use == 2);

  // Reading usage needs kViewUsage or kManageLicenses in that organization.
  {
    const auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.lic().Usage(As(mia), acme, absl::Hours(1)),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.lic().ListEntitlements(As(mia), acme),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.lic().Usage(As(vic), beta, absl::Hours(1)),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.lic().ListEntitlements(As(ann), beta),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    f.RequireUnchanged(before);
  }
}

// ------------------------------------------------------------------- ENT-9

// clang-format off
TEMPLATE_TEST_CASE("ENT-9 expiry warnings list entitlements ending within 30 "
                   "days, or a chosen number, with the affected members",
    "[licenses]", ENTITLE_BACKENDS) {
  // clang-format on
  LicenseFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com");
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com");
  const IdentityId oli = f.External(acme, ann, "oli@partner.org");
  const absl::Time t0 = f.Now();
  auto ending = [&f, org = acme, t0](std::string sku, EntitlementKind kind,
                                     absl::Duration in) {
    return f.Entitle(
        org, During(Terms(std::move(sku), kind, 5), t0 - Days(300), t0 + in));
  };
  const EntitlementRecord in2 = ending("TWO", EntitlementKind::kNamed, Days(2));
  const EntitlementRecord in9h = ending(
      "NINE-AND-A-HALF", EntitlementKind::kFloating, Days(9) + absl::Hours(12));
  const EntitlementRecord in45 =
      ending("FORTY-FIVE", EntitlementKind::kNamed, Days(45));
  const EntitlementRecord in100 =
      ending("HUNDRED", EntitlementKind::kNamed, Days(100));
  ENTITLE_REQUIRE_OK(f.lic().Assign(As(ann), in2.id, mia));
  f.GrantAccess(ann, in9h, mia);
  f.GrantGroupAccess(ann, in9h, f.Group(acme, ann, "Team", {mia, nik}));
  ENTITLE_REQUIRE_OK(f.lic().Assign(As(ann), in45.id, oli));
  ENTITLE_REQUIRE_OK(f.lic().Assign(As(ann), in100.id, oli));

  // Default: 30 days, soonest first, days rounded up.
  auto warnings = f.lic().ExpiryWarnings(As(ann), acme);
  ENTITLE_REQUIRE_OK(warnings);
  REQUIRE(warnings->size() == 2);
  CHECK((*warnings)[0].entitlement.id == in2.id);
  CHECK((*warnings)[0].days_left == 2);
  CHECK((*warnings)[0].affected == std::vector<IdentityId>{mia});
  CHECK((*warnings)[1].entitlement.id == in9h.id);
  CHECK((*warnings)[1].days_left == 10);
  CHECK(Sorted((*warnings)[1].affected) ==
        Sorted(std::vector<IdentityId>{mia, nik}));

  // A chosen number of days.
  warnings = f.lic().ExpiryWarnings(As(ann), acme, 60);
  ENTITLE_REQUIRE_OK(warnings);
  REQUIRE(warnings->size() == 3);
  CHECK((*warnings)[2].entitlement.id == in45.id);
  CHECK((*warnings)[2].days_left == 45);
  CHECK((*warnings)[2].affected == std::vector<IdentityId>{oli});
  warnings = f.lic().ExpiryWarnings(As(ann), acme, 1);
  ENTITLE_REQUIRE_OK(warnings);
  CHECK(warnings->empty());

  // For each affected user: only what that user uses.
  auto mine = f.lic().ExpiryWarningsFor(As(mia), mia);
  ENTITLE_REQUIRE_OK(mine);
  REQUIRE(mine->size() == 2);
  CHECK((*mine)[0].entitlement.id == in2.id);
  CHECK((*mine)[1].entitlement.id == in9h.id);
  auto niks = f.lic().ExpiryWarningsFor(As(ann), nik);  // Its employer's admin.
  ENTITLE_REQUIRE_OK(niks);
  REQUIRE(niks->size() == 1);
  CHECK((*niks)[0].entitlement.id == in9h.id);
  auto olis = f.lic().ExpiryWarningsFor(As(oli), oli);
  ENTITLE_REQUIRE_OK(olis);
  CHECK(olis->empty());
  olis = f.lic().ExpiryWarningsFor(kOp, oli, 60);
  ENTITLE_REQUIRE_OK(olis);
  REQUIRE(olis->size() == 1);
  CHECK((*olis)[0].entitlement.id == in45.id);

  {
    const auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.lic().ExpiryWarningsFor(As(nik), mia),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.lic().ExpiryWarnings(As(mia), acme),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    f.RequireUnchanged(before);
  }

  // Three days later the two-day one has ended and is no longer listed.
  f.Advance(Days(3));
  warnings = f.lic().ExpiryWarnings(As(ann), acme);
  ENTITLE_REQUIRE_OK(warnings);
  REQUIRE(warnings->size() == 1);
  CHECK((*warnings)[0].entitlement.id == in9h.id);
  CHECK((*warnings)[0].days_left == 7);
}

// ------------------------------------------------------------------ ENT-10

// clang-format off
TEMPLATE_TEST_CASE("ENT-10 CheckAccess answers from membership, assignment or "
                   "pool access, lock state, period and country",
    "[licenses]", ENTITLE_BACKENDS) {
  // clang-format on
  LicenseFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId named_user =
      f.Employee(acme, ann, "named@acme.com", In("DE"));
  const IdentityId direct = f.Employee(acme, ann, "direct@acme.com", In("DE"));
  const IdentityId grouped =
      f.External(acme, ann, "grouped@partner.org", In("DE"));
  const IdentityId plain = f.Employee(acme, ann, "plain@acme.com", In("DE"));
  const IdentityId french = f.Employee(acme, ann, "french@acme.com", In("FR"));
  const IdentityId stranger = f.RegisterVerified("stranger@else.org", In("DE"));
  const absl::Time t0 = f.Now();
  const EntitlementRecord named = f.Entitle(acme, Named("VIEWER", 5, {"DE"}));
  const EntitlementRecord pool = f.Entitle(acme, Floating("CAD", 5, {"DE"}));
  const EntitlementRecord later = f.Entitle(
      acme, During(Floating("LATER", 5), t0 + Days(10), t0 + Days(40)));
  const GroupId team = f.Group(acme, ann, "Team", {grouped});
  ENTITLE_REQUIRE_OK(f.lic().Assign(As(ann), named.id, named_user));
  f.GrantAccess(ann, pool, direct);
  f.GrantGroupAccess(ann, pool, team);
  f.GrantAccess(ann, pool, french);  // Access, but the wrong country.
  f.GrantAccess(ann, later, plain);  // Access, but not yet.

  // Allowed: assigned, pool access directly and through a group.
  auto a = f.lic().CheckAccess(named_user, "VIEWER", kLaptop);
  ENTITLE_REQUIRE_OK(a);
  CHECK(a->entitlement_id == named.id);
  CHECK(a->organization_id == acme);
  CHECK(a->kind == EntitlementKind::kNamed);
  CHECK(a->period_end == named.period_end);
  CHECK_FALSE(a->offline);
  a = f.lic().CheckAccess(direct, "CAD", kLaptop);
  ENTITLE_REQUIRE_OK(a);
  CHECK(a->entitlement_id == pool.id);
  CHECK(a->kind == EntitlementKind::kFloating);
  CHECK_FALSE(a->offline);
  a = f.lic().CheckAccess(grouped, "CAD", kLaptop);
  ENTITLE_REQUIRE_OK(a);
  CHECK(a->entitlement_id == pool.id);
  // A successful check is recorded for the device (ID-9).
  auto check = f.DeviceCheck(direct, kLaptop);
  REQUIRE(check.has_value());
  CHECK(check->checked_at == t0);
  // Checking access takes no seat.
  CHECK(f.UsageOf(pool).in_use == 0);

  // Refused, writing nothing.
  {
    const auto before = f.Freeze();
    REQUIRE_REASON(f.lic().CheckAccess(stranger, "CAD", kLaptop),
                   Reason::kNoLicense);
    REQUIRE_REASON(f.lic().CheckAccess(plain, "CAD", kLaptop),
                   Reason::kNoLicense);
    REQUIRE_REASON(f.lic().CheckAccess(plain, "VIEWER", kLaptop),
                   Reason::kNoLicense);
    REQUIRE_REASON(f.lic().CheckAccess(direct, "VIEWER", kLaptop),
                   Reason::kNoLicense);
    REQUIRE_REASON(f.lic().CheckAccess(direct, "NO-SUCH-SKU", kLaptop),
                   Reason::kNoLicense);
    REQUIRE_REASON(f.lic().CheckAccess(french, "CAD", kLaptop),
                   Reason::kCountryNotAllowed);
    REQUIRE_REASON(f.lic().CheckAccess(plain, "LATER", kLaptop),
                   Reason::kOutsidePeriod);
    REQUIRE_REASON(f.lic().CheckAccess(IdentityId(987654), "CAD", kLaptop),
                   Reason::kNotFound);
    REQUIRE_REASON(f.lic().CheckAccess(direct, "CAD", DeviceId("")),
                   Reason::kInvalidDevice);
    f.RequireUnchanged(before);
  }

  // Changes through the directory reach the answer: a country change, a
  // group place removed.
  ENTITLE_REQUIRE_OK(f.ids().UpdateProfile(As(direct), direct,
                                           ProfileUpdate{.country = "FR"}));
  REQUIRE_REASON(f.lic().CheckAccess(direct, "CAD", kDesk),
                 Reason::kCountryNotAllowed);
  ENTITLE_REQUIRE_OK(f.orgs().RemoveFromGroup(As(ann), acme, team, grouped));
  REQUIRE_REASON(f.lic().CheckAccess(grouped, "CAD", kDesk),
                 Reason::kNoLicense);
}

// clang-format off
TEMPLATE_TEST_CASE("ENT-10 a locked identity is refused except on a device "
                   "that checked access within the offline grace",
    "[licenses]", ENTITLE_BACKENDS) {
  // clang-format on
  LicenseFixture<TestType> f;  // Offline grace: 7 days.
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com");
  const EntitlementRecord pool = f.Entitle(acme, Floating("CAD", 5));
  f.GrantAccess(ann, pool, mia);
  const absl::Time t0 = f.Now();

  // The laptop checks access, the desk signs in: both are device checks.
  ENTITLE_REQUIRE_OK(f.lic().CheckAccess(mia, "CAD", kLaptop));
  ENTITLE_REQUIRE_OK(f.ids().SignIn("mia@acme.com", kPassword, kDesk));
  REQUIRE(f.DeviceCheck(mia, kLaptop).has_value());
  REQUIRE(f.DeviceCheck(mia, kDesk).has_value());
  ENTITLE_REQUIRE_OK(f.ids().Lock(As(ann), mia));

  // A device that never checked: locked.
  {
    const auto before = f.Freeze();
    REQUIRE_REASON(f.lic().CheckAccess(mia, "CAD", kPhone),
                   Reason::kIdentityLocked);
    REQUIRE_REASON(f.lic().Checkout(mia, "CAD", kPhone),
                   Reason::kIdentityLocked);
    f.RequireUnchanged(before);
  }
  CHECK_FALSE(f.DeviceCheck(mia, kPhone).has_value());

  // Six days later the laptop still works offline ("disable mode").
  f.Advance(Days(6));
  auto offline = f.lic().CheckAccess(mia, "CAD", kLaptop);
  ENTITLE_REQUIRE_OK(offline);
  CHECK(offline->offline);
  CHECK(offline->entitlement_id == pool.id);

  // Past seven days since the desk's sign-in, the desk is refused.
  f.Advance(Days(1) + absl::Minutes(1));
  REQUIRE(f.Now() > t0 + Days(7));
  REQUIRE_REASON(f.lic().CheckAccess(mia, "CAD", kDesk),
                 Reason::kIdentityLocked);

  // Unlocking restores access on any device, not offline.
  ENTITLE_REQUIRE_OK(f.ids().Unlock(As(ann), mia));
  auto online = f.lic().CheckAccess(mia, "CAD", kPhone);
  ENTITLE_REQUIRE_OK(online);
  CHECK_FALSE(online->offline);
  const SeatLease seat = f.MustCheckout(mia, pool, kDesk);
  CHECK_FALSE(seat.access.offline);
}

// ------------------------------------------------------------------ ENT-11

// clang-format off
TEMPLATE_TEST_CASE("ENT-11 admins see each seat's identity, device, since and "
                   "last heartbeat, and force-release a seat",
    "[licenses]", ENTITLE_BACKENDS) {
  // clang-format on
  LicenseFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com");
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com");
  const IdentityId vic = f.Employee(acme, ann, "vic@acme.com");
  f.GiveRole(acme, ann, vic, "Usage viewer", kViewUsage);
  const EntitlementRecord pool = f.Entitle(acme, Floating("CAD", 2));
  f.GrantAccess(ann, pool, mia);
  f.GrantAccess(ann, pool, nik);

  const absl::Time t0 = f.Now();
  const SeatLease m = f.MustCheckout(mia, pool, kLaptop);
  f.Advance(absl::Minutes(5));
  const SeatLease n = f.MustCheckout(nik, pool, kDesk);
  f.Advance(absl::Minutes(5));
  auto beat = f.lic().Heartbeat(mia, pool.id, kLaptop);
  ENTITLE_REQUIRE_OK(beat);

  // Read by an admin and by a viewer (kViewUsage).
  for (const IdentityId reader : {ann, vic}) {
    INFO("reader " << reader);
    auto holders = f.lic().Holders(As(reader), pool.id);
    ENTITLE_REQUIRE_OK(holders);
    REQUIRE(holders->size() == 2);
    auto mh = HolderOf(*holders, mia, kLaptop);
    REQUIRE(mh.has_value());
    CHECK(mh->handle == *m.seat);
    CHECK(mh->since == t0);
    CHECK(mh->last_heartbeat == t0 + absl::Minutes(10));
    CHECK(mh->expires_at == beat->expires_at);
    auto nh = HolderOf(*holders, nik, kDesk);
    REQUIRE(nh.has_value());
    CHECK(nh->handle == *n.seat);
    CHECK(nh->since == t0 + absl::Minutes(5));
    CHECK(nh->last_heartbeat == t0 + absl::Minutes(5));
  }

  // Refused: a plain member, and a viewer may not force-release.
  {
    const auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.lic().Holders(As(mia), pool.id),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.lic().ForceRelease(As(mia), pool.id, nik, kDesk),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    ENTITLE_REQUIRE_REFUSED(f.lic().ForceRelease(As(vic), pool.id, nik, kDesk),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    REQUIRE_REASON(f.lic().ForceRelease(As(ann), pool.id, nik, kLaptop),
                   Reason::kSeatNotHeld);
    f.RequireUnchanged(before);
  }
  CHECK(f.Holders(pool).size() == 2);

  // Force-release: the seat is free at once, and audited.
  const size_t audit_before = f.Audit().size();
  ENTITLE_REQUIRE_OK(f.lic().ForceRelease(As(ann), pool.id, nik, kDesk));
  CHECK(f.Audit().size() == audit_before + 1);
  const std::vector<SeatHolder> left = f.Holders(pool);
  REQUIRE(left.size() == 1);
  CHECK(left[0].key.identity == mia);
  {
    const auto before = f.Freeze();
    REQUIRE_REASON(f.lic().ForceRelease(As(ann), pool.id, nik, kDesk),
                   Reason::kSeatNotHeld);
    REQUIRE_REASON(f.lic().Release(nik, pool.id, kDesk), Reason::kSeatNotHeld);
    f.RequireUnchanged(before);
  }
  // ACT-5: nik's next heartbeat is refused; a new checkout takes a new seat.
  REQUIRE_REASON(f.lic().Heartbeat(nik, pool.id, kDesk),
                 Reason::kForceReleased);
  auto again = f.lic().Checkout(nik, pool.sku, kDesk);
  ENTITLE_REQUIRE_OK(again);
  CHECK_FALSE(again->renewed);
  CHECK(*again->seat != *n.seat);
}

// ------------------------------------------------------------------ ENT-12

// clang-format off
TEMPLATE_TEST_CASE("ENT-12 RecordUsage keeps each pool's peak and refusals per "
                   "window; UsageHistory lists them oldest first",
    "[licenses]", ENTITLE_BACKENDS) {
  // clang-format on
  LicensePolicy policy;
  policy.usage_window = absl::Hours(1);
  LicenseFixture<TestType> f({.license_policy = policy});
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com");
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com");
  const IdentityId oli = f.Employee(acme, ann, "oli@acme.com");
  const EntitlementRecord pool = f.Entitle(acme, Floating("CAD", 2));
  const EntitlementRecord other = f.Entitle(acme, Floating("OTHER", 2));
  f.GrantGroupAccess(ann, pool,
                     f.Group(acme, ann, "Everyone", {mia, nik, oli}));

  // Window 1: the pool fills up and refuses twice.
  const absl::Time t1 = f.Now();
  f.MustCheckout(mia, pool, kLaptop);
  f.MustCheckout(nik, pool, kLaptop);
  RequireSeatsExhausted(f.lic().Checkout(oli, "CAD", kLaptop));
  RequireSeatsExhausted(f.lic().Checkout(oli, "CAD", kDesk));
  ENTITLE_REQUIRE_OK(f.lic().RecordUsage());
  ENTITLE_REQUIRE_OK(f.lic().Release(mia, pool.id, kLaptop));
  ENTITLE_REQUIRE_OK(f.lic().Release(nik, pool.id, kLaptop));

  // Window 2, two hours later: full again, one refusal; recorded twice in
  // the same window, which merges rather than counting again.
  f.Advance(absl::Hours(2));
  const absl::Time t2 = f.Now();
  f.MustCheckout(oli, pool, kLaptop);
  f.MustCheckout(mia, pool, kLaptop);
  RequireSeatsExhausted(f.lic().Checkout(nik, "CAD", kLaptop));
  ENTITLE_REQUIRE_OK(f.lic().RecordUsage());
  ENTITLE_REQUIRE_OK(f.lic().RecordUsage());

  auto history =
      f.lic().UsageHistory(As(ann), pool.id, t1 - Days(1), t2 + Days(1));
  ENTITLE_REQUIRE_OK(history);
  REQUIRE(history->size() == 2);
  const PoolUsageRecord w1 = (*history)[0];
  const PoolUsageRecord w2 = (*history)[1];
  CHECK(w1.entitlement_id == pool.id);
  CHECK(w1.window_start <= t1);
  CHECK(t1 < w1.window_start + absl::Hours(1));
  CHECK(w1.peak_in_use == 2);
  CHECK(w1.refusals == 2);
  CHECK(w2.entitlement_id == pool.id);
  CHECK(w2.window_start <= t2);
  CHECK(t2 < w2.window_start + absl::Hours(1));
  CHECK(w2.peak_in_use == 2);
  CHECK(w2.refusals == 1);

  // Windows are picked by their start, in [from, to).
  history =
      f.lic().UsageHistory(As(ann), pool.id, w2.window_start, t2 + Days(1));
  ENTITLE_REQUIRE_OK(history);
  CHECK(*history == std::vector<PoolUsageRecord>{w2});
  history =
      f.lic().UsageHistory(As(ann), pool.id, t1 - Days(1), w2.window_start);
  ENTITLE_REQUIRE_OK(history);
  CHECK(*history == std::vector<PoolUsageRecord>{w1});
  // A pool nobody used has no busy window.
  history = f.lic().UsageHistory(As(ann), other.id, t1 - Days(1), t2 + Days(1));
  ENTITLE_REQUIRE_OK(history);
  for (const PoolUsageRecord& r : *history) {
    CHECK(r.peak_in_use == 0);
    CHECK(r.refusals == 0);
  }

  {
    const auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(
        f.lic().UsageHistory(As(mia), pool.id, t1 - Days(1), t2 + Days(1)),
        StatusCode::kPermissionDenied, Reason::kPermissionDenied);
    f.RequireUnchanged(before);
  }
}

// ------------------------------------------------------------------- ORG-5

// clang-format off
TEMPLATE_TEST_CASE("ORG-5 removing a member releases its seats in that "
                   "organization's pools and ends its assignments",
    "[licenses]", ENTITLE_BACKENDS) {
  // clang-format on
  LicenseFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com");
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com");
  const IdentityId bea = f.RegisterVerified("bea@beta.com");
  const OrganizationId beta = f.CreateOrg("Beta", bea, "beta.com");
  ENTITLE_REQUIRE_OK(f.orgs().AddExternal(As(bea), beta, "mia@acme.com"));

  const EntitlementRecord pool = f.Entitle(acme, Floating("CAD", 1));
  const EntitlementRecord named = f.Entitle(acme, Named("VIEWER", 2));
  const EntitlementRecord beta_pool = f.Entitle(beta, Floating("BETA-CAD", 1));
  f.GrantAccess(ann, pool, mia);
  f.GrantGroupAccess(ann, pool, f.Group(acme, ann, "Team", {mia, nik}));
  ENTITLE_REQUIRE_OK(f.lic().Assign(As(ann), named.id, mia));
  f.GrantAccess(bea, beta_pool, mia);
  f.MustCheckout(mia, pool, kLaptop);
  const SeatLease in_beta = f.MustCheckout(mia, beta_pool, kLaptop);
  RequireSeatsExhausted(f.lic().Checkout(nik, "CAD", kLaptop));

  ENTITLE_REQUIRE_OK(f.orgs().RemoveMember(As(ann), acme, mia));

  // In Acme: no seat, no assignment, no access; the seat is free at once.
  CHECK(f.Holders(pool).empty());
  CHECK(Assignees(f.lic().ListAssignments(As(ann), named.id)).empty());
  REQUIRE_REASON(f.lic().Heartbeat(mia, pool.id, kLaptop), Reason::kNoLicense);
  REQUIRE_REASON(f.lic().CheckAccess(mia, "VIEWER", kLaptop),
                 Reason::kNoLicense);
  REQUIRE_REASON(f.lic().Checkout(mia, "CAD", kLaptop), Reason::kNoLicense);
  const SeatLease freed = f.MustCheckout(nik, pool, kLaptop);
  CHECK(freed.seat.has_value());
  // In Beta, mia keeps her seat.
  const std::vector<SeatHolder> beta_holders = f.Holders(beta_pool);
  REQUIRE(beta_holders.size() == 1);
  CHECK(beta_holders[0].key.identity == mia);
  auto beat = f.lic().Heartbeat(mia, beta_pool.id, kLaptop);
  ENTITLE_REQUIRE_OK(beat);
  CHECK(beat->renewed);
  CHECK(*beat->seat == *in_beta.seat);
}

// ------------------------------------------------------------------- ID-13

// clang-format off
TEMPLATE_TEST_CASE("ID-13 deleting an identity releases its seats and ends its "
                   "assignments",
    "[licenses]", ENTITLE_BACKENDS) {
  // clang-format on
  LicenseFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com");
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com");
  const EntitlementRecord pool = f.Entitle(acme, Floating("CAD", 1));
  const EntitlementRecord named = f.Entitle(acme, Named("VIEWER", 1));
  f.GrantAccess(ann, pool, mia);
  f.GrantAccess(ann, pool, nik);
  ENTITLE_REQUIRE_OK(f.lic().Assign(As(ann), named.id, mia));
  f.MustCheckout(mia, pool, kLaptop);
  RequireSeatsExhausted(f.lic().Checkout(nik, "CAD", kLaptop));
  REQUIRE_REASON(f.lic().Assign(As(ann), named.id, nik),
                 Reason::kLicensesExhausted);

  ENTITLE_REQUIRE_OK(f.ids().Delete(kOp, mia));

  CHECK(f.Holders(pool).empty());
  CHECK(f.AssignmentsOf(mia).empty());
  REQUIRE_REASON(f.lic().CheckAccess(mia, "CAD", kLaptop), Reason::kNotFound);
  REQUIRE_REASON(f.lic().Heartbeat(mia, pool.id, kLaptop), Reason::kNotFound);
  f.MustCheckout(nik, pool, kLaptop);
  ENTITLE_REQUIRE_OK(f.lic().Assign(As(ann), named.id, nik));
  const EntitlementUsage usage = f.UsageOf(pool);
  CHECK(usage.in_use == 1);
  CHECK(usage.assigned_or_with_access == 1);
}

// ------------------------------------------------------------------- ORG-7

// clang-format off
TEMPLATE_TEST_CASE("ORG-7 entitlements are the operator's; assigning and pool "
                   "access need kManageLicenses in that organization",
    "[licenses]", ENTITLE_BACKENDS) {
  // clang-format on
  LicenseFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com");
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com");
  const IdentityId lou = f.Employee(acme, ann, "lou@acme.com");
  const IdentityId vic = f.Employee(acme, ann, "vic@acme.com");
  f.GiveRole(acme, ann, lou, "License manager", kManageLicenses);
  f.GiveRole(acme, ann, vic, "Usage viewer", kViewUsage);
  const IdentityId bea = f.RegisterVerified("bea@beta.com");
  f.CreateOrg("Beta", bea, "beta.com");
  const EntitlementRecord named = f.Entitle(acme, Named("VIEWER", 5));
  const EntitlementRecord pool = f.Entitle(acme, Floating("CAD", 5));
  const PoolGrantRecord grant = f.GrantAccess(ann, pool, nik);
  f.MustCheckout(nik, pool, kLaptop);

  {
    const auto before = f.Freeze();
    auto denied = [](const auto& result) {
      ENTITLE_REQUIRE_REFUSED(result, StatusCode::kPermissionDenied,
                              Reason::kPermissionDenied);
    };
    // Entitlements: the operator only, not even the organization's admin.
    denied(f.lic().CreateEntitlement(As(ann), acme, Floating("MORE", 1)));
    denied(f.lic().CreateEntitlement(As(mia), acme, Floating("MORE", 1)));
    denied(f.lic().ChangeEntitlement(As(ann), pool.id, Floating("CAD", 50)));
    // A plain member, a viewer, an admin of another organization.
    for (const IdentityId who : {mia, vic, bea}) {
      INFO("actor " << who);
      denied(f.lic().Assign(As(who), named.id, mia));
      denied(f.lic().Unassign(As(who), named.id, nik));
      denied(f.lic().GrantPoolAccess(As(who), pool.id,
                                     PoolMember{.identity = mia}));
      denied(f.lic().RevokePoolAccess(As(who), grant.id));
      denied(f.lic().ForceRelease(As(who), pool.id, nik, kLaptop));
    }
    denied(f.lic().Assign(kAnon, named.id, mia));
    // Views: a plain member and another organization's admin.
    for (const IdentityId who : {mia, bea}) {
      INFO("actor " << who);
      denied(f.lic().ListAssignments(As(who), named.id));
      denied(f.lic().ListPoolAccess(As(who), pool.id));
      denied(f.lic().Holders(As(who), pool.id));
    }
    f.RequireUnchanged(before);
  }
  CHECK(f.Holders(pool).size() == 1);

  // kManageLicenses is enough, and the operator may do it all.
  const size_t audit_before = f.Audit().size();
  ENTITLE_REQUIRE_OK(f.lic().Assign(As(lou), named.id, mia));
  ENTITLE_REQUIRE_OK(f.lic().Assign(kOp, named.id, nik));
  ENTITLE_REQUIRE_OK(
      f.lic().GrantPoolAccess(As(lou), pool.id, PoolMember{.identity = mia}));
  ENTITLE_REQUIRE_OK(f.lic().ForceRelease(As(lou), pool.id, nik, kLaptop));
  ENTITLE_REQUIRE_OK(f.lic().RevokePoolAccess(kOp, grant.id));
  ENTITLE_REQUIRE_OK(f.lic().ListAssignments(As(vic), named.id));
  ENTITLE_REQUIRE_OK(f.lic().Holders(As(vic), pool.id));
  // Every successful change is audited (the five above).
  CHECK(f.Audit().size() >= audit_before + 5);
}

}  // namespace
}  // namespace entitle_test
