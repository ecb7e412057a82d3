// The checkout path under the outside review's findings, on every backend:
//   - SEC-8: every identifier the checkout path takes (device, SKU) is
//     bounded and checked on every call, and a refused one is neither stored
//     nor kept in memory;
//   - SEC-11: a seat is lost exactly its lease after the last heartbeat, for
//     as long as the directory runs (the clock moved past 2^32 of the old
//     deadline units), and a lease a pool cannot keep is refused when the
//     directory is made;
// and the API gaps closed with them: a refused heartbeat names its SKU;
// SetSeats changes a seat count alone (a grown pool keeps its refusals and
// its holders' leases); pool exceptions deny one member a pool it reaches
// through a group.
//
// Time is the fixture's FakeClock (2026-01-01T00:00:00Z at the start); it is
// only ever moved forward.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/directory.h"
#include "entitle/ids.h"
#include "entitle/licenses.h"
#include "entitle/options.h"
#include "entitle/records.h"
#include "entitle/seat_types.h"
#include "entitle/status.h"
#include "fixtures/directory_fixture.h"
#include "fixtures/store_fixtures.h"

namespace entitle_test {
namespace {

using namespace entitle;

absl::Duration Days(int64_t n) { return absl::Hours(24 * n); }

const DeviceId kLaptop("laptop");
const DeviceId kDesk("desk");

// A floating entitlement of `seats` seats whose period covers every clock
// jump below (from the day before kT0 to 2,000 years after it).
EntitlementTerms LongFloating(std::string sku, int64_t seats) {
  return During(Floating(std::move(sku), seats), kT0 - Days(1),
                kT0 + Days(int64_t{2000} * 366));
}

// Acme with its administrator Ann, employees Bob and Cid in a group "Crew"
// that has access to the pool of `terms`.
template <typename F>
struct CrewPool {
  explicit CrewPool(F& f, const EntitlementTerms& terms) {
    const OrgWithAdmin acme = f.FoundOrg("Acme", "ann@acme.com", "acme.com");
    org = acme.org;
    ann = acme.admin;
    bob = f.Employee(org, ann, "bob@acme.com");
    cid = f.Employee(org, ann, "cid@acme.com");
    crew = f.Group(org, ann, "Crew", {bob, cid});
    pool = f.Entitle(org, terms);
    auto grant =
        f.lic().GrantPoolAccess(As(ann), pool.id, PoolMember{.group = crew});
    ENTITLE_REQUIRE_OK(grant);
  }
  OrganizationId org;
  IdentityId ann, bob, cid;
  GroupId crew;
  EntitlementRecord pool;
};

template <typename F>
std::vector<SeatHolder> HoldersOf(F& f, const EntitlementRecord& e) {
  auto holders = f.lic().Holders(kOp, e.id);
  ENTITLE_REQUIRE_OK(holders);
  return *holders;
}

template <typename F>
EntitlementUsage UsageOf(F& f, const EntitlementRecord& e) {
  auto usage = f.lic().Usage(kOp, e.organization_id, absl::Hours(1));
  ENTITLE_REQUIRE_OK(usage);
  for (const EntitlementUsage& u : *usage) {
    if (u.entitlement.id == e.id) return u;
  }
  FAIL("no usage for " << e.id);
  return {};
}

// ===================================================================== SEC-8

// clang-format off
TEMPLATE_TEST_CASE("SEC-8 CheckAccess and Checkout refuse a 1 MiB device id and keep nothing of it",
                   "[licenses][SEC-8]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  CrewPool<DirectoryFixture<TestType>> acme(f, Floating("CAD", 1));
  const DeviceId huge(std::string(size_t{1} << 20, 'x'));
  const auto before = f.Freeze();
  REQUIRE_REASON(f.lic().CheckAccess(acme.bob, "CAD", huge),
                 Reason::kInvalidDevice);
  REQUIRE_REASON(f.lic().Checkout(acme.bob, "CAD", huge),
                 Reason::kInvalidDevice);
  auto refused = f.lic().Checkout(acme.bob, "CAD", huge);
  // The message never repeats the identifier.
  CHECK(refused.status().message().size() < 200);
  // Nothing stored (no device check), nothing held.
  f.RequireUnchanged(before);
  CHECK(f.template All<DeviceCheckRecord>().empty());
  CHECK(HoldersOf(f, acme.pool).empty());
  CHECK(UsageOf(f, acme.pool).in_use == 0);
  // The pool's one seat is still free for a proper device.
  auto lease = f.lic().Checkout(acme.cid, "CAD", kLaptop);
  ENTITLE_REQUIRE_OK(lease);
  REQUIRE(HoldersOf(f, acme.pool).size() == 1);
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-8 every call of the checkout path checks the device id",
                   "[licenses][SEC-8]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  CrewPool<DirectoryFixture<TestType>> acme(f, Floating("CAD", 2));
  // The longest device id (256 printable ASCII bytes) is accepted.
  const DeviceId longest(std::string(kMaxDeviceIdBytes, '~'));
  ENTITLE_REQUIRE_OK(f.lic().Checkout(acme.bob, "CAD", longest));
  ENTITLE_REQUIRE_OK(f.lic().Heartbeat(acme.bob, acme.pool.id, longest));
  ENTITLE_REQUIRE_OK(f.ids().OfflineAccessUntil(acme.bob, longest));
  ENTITLE_REQUIRE_OK(f.lic().Checkout(acme.cid, "CAD", kLaptop));

  const std::vector<std::string> bad = {
      "",
      std::string(kMaxDeviceIdBytes + 1, 'a'),
      "my laptop",  // a space
      "laptop\n",   // a control character
      std::string("lap\0top", 7),
      "lapt\xc3\xb6p",  // not ASCII
      "\x7f",
  };
  for (const std::string& text : bad) {
    const DeviceId device(text);
    INFO("device of " << text.size() << " bytes");
    const auto before = f.Freeze();
    REQUIRE_REASON(f.lic().CheckAccess(acme.bob, "CAD", device),
                   Reason::kInvalidDevice);
    REQUIRE_REASON(f.lic().Checkout(acme.bob, "CAD", device),
                   Reason::kInvalidDevice);
    REQUIRE_REASON(f.lic().Heartbeat(acme.bob, acme.pool.id, device),
                   Reason::kInvalidDevice);
    REQUIRE_REASON(f.lic().Release(acme.bob, acme.pool.id, device),
                   Reason::kInvalidDevice);
    REQUIRE_REASON(
        f.lic().ForceRelease(As(acme.ann), acme.pool.id, acme.bob, device),
        Reason::kInvalidDevice);
    REQUIRE_REASON(f.ids().OfflineAccessUntil(acme.bob, device),
                   Reason::kInvalidDevice);
    f.RequireUnchanged(before);
  }
  // The seats held before are untouched.
  const std::vector<SeatHolder> holders = HoldersOf(f, acme.pool);
  REQUIRE(holders.size() == 2);
  // ForceRelease checks the actor first.
  REQUIRE_REASON(
      f.lic().ForceRelease(As(acme.cid), acme.pool.id, acme.bob, DeviceId("")),
      Reason::kPermissionDenied);
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-8 CheckAccess and Checkout check the SKU on every call",
                   "[licenses][SEC-8]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  CrewPool<DirectoryFixture<TestType>> acme(f, Floating("CAD", 1));
  ENTITLE_REQUIRE_OK(f.lic().CheckAccess(acme.bob, "CAD", kLaptop));
  // 64 printable characters: a SKU, just not one Bob has.
  REQUIRE_REASON(f.lic().Checkout(acme.bob, std::string(64, 'Z'), kLaptop),
                 Reason::kNoLicense);
  const std::vector<std::string> bad = {"",
                                        std::string(65, 'Z'),
                                        std::string(size_t{1} << 20, 'Z'),
                                        "CAD PRO",
                                        "CAD\t",
                                        "C\xc3\x84"
                                        "D"};
  for (const std::string& sku : bad) {
    INFO("sku of " << sku.size() << " bytes");
    const auto before = f.Freeze();
    REQUIRE_REASON(f.lic().CheckAccess(acme.bob, sku, kLaptop),
                   Reason::kInvalidArgument);
    REQUIRE_REASON(f.lic().Checkout(acme.bob, sku, kLaptop),
                   Reason::kInvalidArgument);
    auto refused = f.lic().Checkout(acme.bob, sku, kLaptop);
    CHECK(refused.status().message().size() < 200);
    f.RequireUnchanged(before);
  }
  CHECK(HoldersOf(f, acme.pool).empty());
}

// ==================================================================== SEC-11

// clang-format off
TEMPLATE_TEST_CASE("SEC-11 a directory refuses a seat lease a pool cannot keep",
                   "[licenses][SEC-11]", ENTITLE_BACKENDS) {
  // clang-format on
  TestType backend;
  std::unique_ptr<Store> store = backend.Open();
  TestPorts ports;
  auto with_lease = [&](absl::Duration lease) {
    DirectoryOptions options;
    options.license_policy.seat_lease = lease;
    return ports.Options(options);
  };
  for (const absl::Duration lease :
       {absl::ZeroDuration(), absl::Seconds(-1), absl::Microseconds(999),
        absl::Microseconds(1500), kMaxSeatLease + absl::Milliseconds(1),
        Days(400), absl::InfiniteDuration(), -absl::InfiniteDuration()}) {
    INFO("lease " << absl::FormatDuration(lease));
    auto made = Directory::Create(*store, with_lease(lease));
    REQUIRE_REASON(made, Reason::kInvalidArgument);
    CHECK(absl::StrContains(made.status().message(), "seat lease"));
  }
  for (const absl::Duration lease : {kMinSeatLease, absl::Milliseconds(10001),
                                     absl::Hours(3), kMaxSeatLease}) {
    INFO("lease " << absl::FormatDuration(lease));
    ENTITLE_REQUIRE_OK(Directory::Create(*store, with_lease(lease)));
  }
  // A directory made through the constructor with such a lease serves no
  // seat (it checks access still).
  Directory directory(*store, with_lease(absl::ZeroDuration()));
  const IdentityId ann =
      RegisterVerifiedIn(directory, ports.notifier, "ann@acme.com");
  auto org = directory.organizations().Create(kOp, "Acme", ann);
  ENTITLE_REQUIRE_OK(org);
  auto pool =
      directory.licenses().CreateEntitlement(kOp, *org, Floating("CAD", 1));
  ENTITLE_REQUIRE_OK(pool);
  ENTITLE_REQUIRE_OK(directory.licenses().GrantPoolAccess(
      As(ann), pool->id, PoolMember{.identity = ann}));
  ENTITLE_REQUIRE_OK(directory.licenses().CheckAccess(ann, "CAD", kLaptop));
  REQUIRE_REASON(directory.licenses().Checkout(ann, "CAD", kLaptop),
                 Reason::kInvalidArgument);
  REQUIRE_REASON(directory.licenses().Heartbeat(ann, pool->id, kLaptop),
                 Reason::kInvalidArgument);
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-11 a 1-seat pool keeps working after the clock moved past 2^32 deadline units, and frees the seat exactly a lease after the last heartbeat",
                   "[licenses][SEC-11]", ENTITLE_BACKENDS) {
  // clang-format on
  // The reproduction: a pool kept its first use as its epoch and 2^32
  // deadline units (lease/4096 rounded to a power of two: 1 ms under 8 s,
  // 8 ms at 60 s, 2048 ms at 3 h) later every reservation was dead on
  // arrival, so a second user got the one seat; and a 3-hour lease was
  // rounded up to 2,048 ms, so a seat lived up to 2 s too long.
  const int64_t lease_ms =
      GENERATE(int64_t{1000}, 10001, 60 * 1000, 3 * 3600 * 1000);
  const int64_t old_unit_ms = lease_ms >= 3 * 3600 * 1000 ? 2048
                              : lease_ms >= 60 * 1000     ? 8
                                                          : 1;
  INFO("lease " << lease_ms << " ms");
  const absl::Duration lease = absl::Milliseconds(lease_ms);
  DirectoryOptions options;
  options.license_policy.seat_lease = lease;
  DirectoryFixture<TestType> f(options);
  CrewPool<DirectoryFixture<TestType>> acme(f, LongFloating("CAD", 1));

  // Both use the pool once; Bob's seat then runs out.
  auto first = f.lic().Checkout(acme.bob, "CAD", kLaptop);
  ENTITLE_REQUIRE_OK(first);
  REQUIRE(first->expires_at == f.Now() + lease);
  REQUIRE_REASON(f.lic().Checkout(acme.cid, "CAD", kDesk),
                 Reason::kSeatsExhausted);
  f.Advance(lease);
  ENTITLE_REQUIRE_OK(f.lic().Checkout(acme.cid, "CAD", kDesk));
  ENTITLE_REQUIRE_OK(f.lic().Release(acme.cid, acme.pool.id, kDesk));

  for (const int64_t jump_ms : {(int64_t{1} << 32) * old_unit_ms + 5,
                                (int64_t{1} << 31) + 7, int64_t{1} << 33}) {
    f.Advance(absl::Milliseconds(jump_ms));
    INFO("clock moved by " << jump_ms << " ms to "
                           << absl::FormatTime(f.Now()));
    // A reservation is alive, and the one seat is Bob's alone.
    auto held = f.lic().Checkout(acme.bob, "CAD", kLaptop);
    ENTITLE_REQUIRE_OK(held);
    REQUIRE_FALSE(held->renewed);
    const absl::Time start = f.Now();
    REQUIRE(held->expires_at == start + lease);
    REQUIRE_REASON(f.lic().Checkout(acme.cid, "CAD", kDesk),
                   Reason::kSeatsExhausted);
    // A heartbeat half a lease on: the seat is lost exactly a lease after
    // it, to the millisecond.
    f.Advance(absl::Milliseconds(lease_ms / 2));
    auto beat = f.lic().Heartbeat(acme.bob, acme.pool.id, kLaptop);
    ENTITLE_REQUIRE_OK(beat);
    REQUIRE(beat->renewed);
    const absl::Time last = f.Now();
    REQUIRE(beat->expires_at == last + lease);
    const std::vector<SeatHolder> holders = HoldersOf(f, acme.pool);
    REQUIRE(holders.size() == 1);
    REQUIRE(holders[0].key.identity == acme.bob);
    REQUIRE(holders[0].since == start);
    REQUIRE(holders[0].last_heartbeat == last);
    REQUIRE(holders[0].expires_at == last + lease);
    f.Advance(lease - absl::Milliseconds(1));
    REQUIRE_REASON(f.lic().Checkout(acme.cid, "CAD", kDesk),
                   Reason::kSeatsExhausted);
    REQUIRE(HoldersOf(f, acme.pool).size() == 1);
    // Never later: at the lease's end Cid gets the seat; Bob's heartbeat
    // does not take it back (ENT-4).
    f.Advance(absl::Milliseconds(1));
    auto taken = f.lic().Checkout(acme.cid, "CAD", kDesk);
    ENTITLE_REQUIRE_OK(taken);
    REQUIRE(taken->expires_at == f.Now() + lease);
    REQUIRE_REASON(f.lic().Heartbeat(acme.bob, acme.pool.id, kLaptop),
                   Reason::kSeatsExhausted);
    ENTITLE_REQUIRE_OK(f.lic().Release(acme.cid, acme.pool.id, kDesk));
    REQUIRE(UsageOf(f, acme.pool).in_use == 0);
  }
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-11 a pool grown by a new seat count keeps every holder's lease end",
                   "[licenses][SEC-11]", ENTITLE_BACKENDS) {
  // clang-format on
  // Growing past a pool's capacity moves its holders to a larger pool; they
  // used to get a fresh lease there (a seat could live almost two leases
  // after its last heartbeat).
  DirectoryFixture<TestType> f;
  CrewPool<DirectoryFixture<TestType>> acme(f, Floating("CAD", 1));
  ENTITLE_REQUIRE_OK(f.lic().Checkout(acme.bob, "CAD", kLaptop));
  const absl::Time since = f.Now();
  f.Advance(absl::Hours(2));
  ENTITLE_REQUIRE_OK(f.lic().SetSeats(kOp, acme.pool.id, 8));
  const std::vector<SeatHolder> holders = HoldersOf(f, acme.pool);
  REQUIRE(holders.size() == 1);
  CHECK(holders[0].since == since);
  CHECK(holders[0].last_heartbeat == since);
  CHECK(holders[0].expires_at == since + absl::Hours(3));
  f.Advance(absl::Hours(1) - absl::Milliseconds(1));
  CHECK(HoldersOf(f, acme.pool).size() == 1);
  f.Advance(absl::Milliseconds(1));
  CHECK(HoldersOf(f, acme.pool).empty());
}

// ============================================================ API gaps: ENT-4

// clang-format off
TEMPLATE_TEST_CASE("ENT-4 a refused heartbeat names the SKU, never another organization's",
                   "[licenses][ENT-4]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  CrewPool<DirectoryFixture<TestType>> acme(f, Floating("CAD-PRO", 2));
  ENTITLE_REQUIRE_OK(f.lic().Checkout(acme.bob, "CAD-PRO", kLaptop));
  // Bob leaves the group that gave him the pool.
  ENTITLE_REQUIRE_OK(
      f.orgs().RemoveFromGroup(As(acme.ann), acme.org, acme.crew, acme.bob));
  auto refused = f.lic().Heartbeat(acme.bob, acme.pool.id, kLaptop);
  REQUIRE_REASON(refused, Reason::kNoLicense);
  CHECK(refused.status().message() == "No license for CAD-PRO.");
  // Another organization's entitlement is not named to Bob.
  const OrgWithAdmin globex =
      f.FoundOrg("Globex", "gus@globex.com", "globex.com");
  const EntitlementRecord secret = f.Entitle(globex.org, Floating("SECRET", 1));
  auto other = f.lic().Heartbeat(acme.bob, secret.id, kLaptop);
  REQUIRE_REASON(other, Reason::kNoLicense);
  CHECK(other.status().message() == "No license for this entitlement.");
  CHECK_FALSE(absl::StrContains(other.status().message(), "SECRET"));
  // A heartbeat for an unknown entitlement says the same.
  auto unknown = f.lic().Heartbeat(acme.bob, EntitlementId(987654), kLaptop);
  REQUIRE_REASON(unknown, Reason::kNoLicense);
  CHECK(unknown.status().message() == "No license for this entitlement.");
}

// ============================================================ API gaps: ENT-7

// clang-format off
TEMPLATE_TEST_CASE("ENT-7 SetSeats changes the seat count alone: admins lower it, only the operator raises it",
                   "[licenses][ENT-7]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  CrewPool<DirectoryFixture<TestType>> acme(f, Floating("CAD", 3));
  const IdentityId dan = f.Employee(acme.org, acme.ann, "dan@acme.com");
  ENTITLE_REQUIRE_OK(f.lic().Checkout(acme.bob, "CAD", kLaptop));
  ENTITLE_REQUIRE_OK(f.lic().Checkout(acme.cid, "CAD", kLaptop));
  ENTITLE_REQUIRE_OK(f.lic().CheckAccess(acme.cid, "CAD", kDesk));

  // Refusals change nothing.
  {
    const auto before = f.Freeze();
    REQUIRE_REASON(f.lic().SetSeats(As(dan), acme.pool.id, 1),
                   Reason::kPermissionDenied);  // no kManageLicenses
    REQUIRE_REASON(f.lic().SetSeats(As(acme.ann), acme.pool.id, 4),
                   Reason::kPermissionDenied);  // raising: operator only
    REQUIRE_REASON(f.lic().SetSeats(As(acme.ann), acme.pool.id, 0),
                   Reason::kInvalidArgument);
    REQUIRE_REASON(
        f.lic().SetSeats(kOp, acme.pool.id, int64_t{kMaxSeatsPerPool} + 1),
        Reason::kInvalidArgument);
    REQUIRE_REASON(f.lic().SetSeats(kOp, EntitlementId(987654), 2),
                   Reason::kNotFound);
    f.RequireUnchanged(before);
  }

  // The admin lowers it below use: nothing is taken away, nothing new is
  // given (ENT-7), and the rest of the terms stay as they were.
  const size_t audit_before = f.AuditOf("entitlement.seats").size();
  auto lowered = f.lic().SetSeats(As(acme.ann), acme.pool.id, 1);
  ENTITLE_REQUIRE_OK(lowered);
  CHECK(lowered->seats == 1);
  CHECK(lowered->sku == acme.pool.sku);
  CHECK(lowered->period_start == acme.pool.period_start);
  CHECK(lowered->period_end == acme.pool.period_end);
  const std::vector<AuditRecord> audit = f.AuditOf("entitlement.seats");
  REQUIRE(audit.size() == audit_before + 1);
  CHECK(audit.back().actor_id == acme.ann);
  CHECK(absl::StrContains(audit.back().detail, "3->1"));
  EntitlementUsage usage = UsageOf(f, acme.pool);
  CHECK(usage.purchased == 1);
  CHECK(usage.in_use == 2);
  CHECK(usage.over_allocated);
  REQUIRE_REASON(f.lic().Checkout(acme.cid, "CAD", kDesk),
                 Reason::kSeatsExhausted);
  ENTITLE_REQUIRE_OK(f.lic().Release(acme.bob, acme.pool.id, kLaptop));
  REQUIRE_REASON(f.lic().Checkout(acme.cid, "CAD", kDesk),
                 Reason::kSeatsExhausted);  // use is 1, the count 1
  // The same count writes nothing.
  {
    const auto before = f.Freeze();
    ENTITLE_REQUIRE_OK(f.lic().SetSeats(As(acme.ann), acme.pool.id, 1));
    f.RequireUnchanged(before);
  }
  // The operator raises it past the pool's capacity: the pool grows.
  ENTITLE_REQUIRE_OK(f.lic().SetSeats(kOp, acme.pool.id, 5));
  ENTITLE_REQUIRE_OK(f.lic().Checkout(acme.cid, "CAD", kDesk));
  ENTITLE_REQUIRE_OK(f.lic().Checkout(acme.bob, "CAD", kLaptop));
  ENTITLE_REQUIRE_OK(f.lic().Checkout(acme.bob, "CAD", kDesk));
  ENTITLE_REQUIRE_OK(
      f.lic().Checkout(acme.bob, "CAD", DeviceId("workstation")));
  REQUIRE_REASON(f.lic().Checkout(acme.cid, "CAD", DeviceId("tablet")),
                 Reason::kSeatsExhausted);
  usage = UsageOf(f, acme.pool);
  CHECK(usage.purchased == 5);
  CHECK(usage.in_use == 5);
  CHECK_FALSE(usage.over_allocated);
  CHECK(f.AuditOf("entitlement.seats").size() == audit_before + 2);
}

// clang-format off
TEMPLATE_TEST_CASE("ENT-12 a pool grown by SetSeats keeps its refusals and peak: RecordUsage never writes a negative count",
                   "[licenses][ENT-12]", ENTITLE_BACKENDS) {
  // clang-format on
  // The regression: growing a pool replaced it by a new one whose refusal
  // count started at 0, while the recorder remembered the old pool's count;
  // the next RecordUsage wrote their (negative) difference.
  DirectoryFixture<TestType> f;
  CrewPool<DirectoryFixture<TestType>> acme(f, Floating("CAD", 1));
  ENTITLE_REQUIRE_OK(f.lic().Checkout(acme.bob, "CAD", kLaptop));
  REQUIRE_REASON(f.lic().Checkout(acme.cid, "CAD", kLaptop),
                 Reason::kSeatsExhausted);
  REQUIRE_REASON(f.lic().Checkout(acme.cid, "CAD", kDesk),
                 Reason::kSeatsExhausted);
  ENTITLE_REQUIRE_OK(f.lic().RecordUsage());
  auto records = [&] {
    auto history =
        f.lic().UsageHistory(kOp, acme.pool.id, kT0 - Days(1), kT0 + Days(10));
    ENTITLE_REQUIRE_OK(history);
    return *history;
  };
  REQUIRE(records().size() == 1);
  CHECK(records()[0].refusals == 2);
  CHECK(records()[0].peak_in_use == 1);

  // Grown past its capacity (a new pool), then one more refusal and a
  // recording in the same window: 3 refusals in all.
  ENTITLE_REQUIRE_OK(f.lic().SetSeats(kOp, acme.pool.id, 2));
  ENTITLE_REQUIRE_OK(f.lic().Checkout(acme.cid, "CAD", kLaptop));
  REQUIRE_REASON(f.lic().Checkout(acme.cid, "CAD", kDesk),
                 Reason::kSeatsExhausted);
  ENTITLE_REQUIRE_OK(f.lic().RecordUsage());
  REQUIRE(records().size() == 1);
  CHECK(records()[0].refusals == 3);
  CHECK(records()[0].peak_in_use == 2);

  // Grown again, nothing refused since: the next window records 0, not a
  // negative count, and the use of the moment as its peak.
  ENTITLE_REQUIRE_OK(f.lic().SetSeats(kOp, acme.pool.id, 6));
  f.Advance(absl::Hours(1));
  ENTITLE_REQUIRE_OK(f.lic().RecordUsage());
  const std::vector<PoolUsageRecord> all = records();
  REQUIRE(all.size() == 2);
  CHECK(all[0].refusals == 3);
  CHECK(all[1].refusals == 0);
  CHECK(all[1].peak_in_use == 2);
  for (const PoolUsageRecord& r : f.template All<PoolUsageRecord>()) {
    CHECK(r.refusals >= 0);
  }
}

// ========================================================== pool exceptions

template <typename F>
struct ExceptedPools : CrewPool<F> {
  explicit ExceptedPools(F& f) : CrewPool<F>(f, Floating("CAD", 3)) {
    eve = f.Employee(this->org, this->ann, "eve@acme.com");
    ENTITLE_REQUIRE_OK(
        f.orgs().AddToGroup(As(this->ann), this->org, this->crew, eve));
  }
  IdentityId eve;
};

// clang-format off
TEMPLATE_TEST_CASE("ENT-10 a pool exception denies one member the pool it reaches through a group; removing it restores access",
                   "[licenses][ENT-10]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  ExceptedPools<DirectoryFixture<TestType>> acme(f);
  ENTITLE_REQUIRE_OK(f.lic().Checkout(acme.bob, "CAD", kLaptop));
  ENTITLE_REQUIRE_OK(f.lic().Checkout(acme.bob, "CAD", kDesk));
  ENTITLE_REQUIRE_OK(f.lic().Checkout(acme.cid, "CAD", kLaptop));
  REQUIRE(UsageOf(f, acme.pool).assigned_or_with_access == 3);

  // Refusals change nothing.
  {
    const auto before = f.Freeze();
    REQUIRE_REASON(f.lic().DenyPoolAccess(As(acme.cid), acme.pool.id, acme.bob),
                   Reason::kPermissionDenied);
    const IdentityId stranger = f.RegisterVerified("sam@example.com");
    REQUIRE_REASON(f.lic().DenyPoolAccess(As(acme.ann), acme.pool.id, stranger),
                   Reason::kNotMember);
    const EntitlementRecord named = f.Entitle(acme.org, Named("DOC", 2));
    const auto before_named = f.Freeze();
    REQUIRE_REASON(f.lic().DenyPoolAccess(As(acme.ann), named.id, acme.bob),
                   Reason::kWrongEntitlementKind);
    REQUIRE_REASON(
        f.lic().RemovePoolException(As(acme.ann), acme.pool.id, acme.bob),
        Reason::kNotFound);
    f.RequireUnchanged(before_named);
  }

  // Ann denies Bob the pool: his seats go at once, he is refused with his
  // own reason, the other members of the group keep theirs.
  auto denied = f.lic().DenyPoolAccess(As(acme.ann), acme.pool.id, acme.bob);
  ENTITLE_REQUIRE_OK(denied);
  CHECK(denied->denied);
  CHECK(denied->identity_id == acme.bob);
  CHECK_FALSE(denied->group_id.has_value());
  const std::vector<AuditRecord> deny_audit = f.AuditOf("pool.deny");
  REQUIRE(deny_audit.size() == 1);
  CHECK(deny_audit[0].actor_id == acme.ann);
  const std::vector<SeatHolder> holders = HoldersOf(f, acme.pool);
  REQUIRE(holders.size() == 1);
  CHECK(holders[0].key.identity == acme.cid);
  {
    const auto before = f.Freeze();
    auto refused = f.lic().CheckAccess(acme.bob, "CAD", kLaptop);
    REQUIRE_REASON(refused, Reason::kAccessExcepted);
    CHECK(absl::StrContains(refused.status().message(), "CAD"));
    REQUIRE_REASON(f.lic().Checkout(acme.bob, "CAD", kLaptop),
                   Reason::kAccessExcepted);
    REQUIRE_REASON(f.lic().Heartbeat(acme.bob, acme.pool.id, kLaptop),
                   Reason::kAccessExcepted);
    REQUIRE_REASON(f.lic().DenyPoolAccess(As(acme.ann), acme.pool.id, acme.bob),
                   Reason::kAlreadyAssigned);
    // Granting him access directly does not override it silently.
    REQUIRE_REASON(f.lic().GrantPoolAccess(As(acme.ann), acme.pool.id,
                                           PoolMember{.identity = acme.bob}),
                   Reason::kAccessExcepted);
    // Revoke is for grants; the exception has its own verb.
    REQUIRE_REASON(f.lic().RevokePoolAccess(As(acme.ann), denied->id),
                   Reason::kInvalidArgument);
    f.RequireUnchanged(before);
  }
  ENTITLE_REQUIRE_OK(f.lic().CheckAccess(acme.cid, "CAD", kDesk));
  ENTITLE_REQUIRE_OK(f.lic().Checkout(acme.eve, "CAD", kLaptop));
  // The usage view counts members with access consistently; the grants list
  // shows the exception.
  const EntitlementUsage usage = UsageOf(f, acme.pool);
  CHECK(usage.assigned_or_with_access == 2);
  CHECK(usage.in_use == 2);
  auto access = f.lic().ListPoolAccess(As(acme.ann), acme.pool.id);
  ENTITLE_REQUIRE_OK(access);
  REQUIRE(access->size() == 2);
  CHECK(std::count_if(access->begin(), access->end(),
                      [](const PoolGrantRecord& g) { return g.denied; }) == 1);

  // Removing the exception restores what the group gives.
  ENTITLE_REQUIRE_OK(
      f.lic().RemovePoolException(As(acme.ann), acme.pool.id, acme.bob));
  CHECK(f.AuditOf("pool.allow").size() == 1);
  ENTITLE_REQUIRE_OK(f.lic().Checkout(acme.bob, "CAD", kLaptop));
  CHECK(UsageOf(f, acme.pool).assigned_or_with_access == 3);
  REQUIRE_REASON(
      f.lic().RemovePoolException(As(acme.ann), acme.pool.id, acme.bob),
      Reason::kNotFound);
}

// clang-format off
TEMPLATE_TEST_CASE("ENT-10 a pool exception holds in offline mode, replaces a direct grant and leaves other pools of the SKU",
                   "[licenses][ENT-10]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  ExceptedPools<DirectoryFixture<TestType>> acme(f);
  // Bob also has a direct grant to the pool, and another pool of the SKU.
  ENTITLE_REQUIRE_OK(f.lic().GrantPoolAccess(As(acme.ann), acme.pool.id,
                                             PoolMember{.identity = acme.bob}));
  ENTITLE_REQUIRE_OK(f.lic().CheckAccess(acme.bob, "CAD", kLaptop));

  // Locked, Bob is in offline mode on his laptop (ID-9); the exception
  // stops that too (the seed's "denied access via an exception").
  ENTITLE_REQUIRE_OK(f.ids().Lock(As(acme.ann), acme.bob));
  auto offline = f.lic().CheckAccess(acme.bob, "CAD", kLaptop);
  ENTITLE_REQUIRE_OK(offline);
  CHECK(offline->offline);
  auto denied = f.lic().DenyPoolAccess(As(acme.ann), acme.pool.id, acme.bob);
  ENTITLE_REQUIRE_OK(denied);
  CHECK(absl::StrContains(f.AuditOf("pool.deny").back().detail,
                          "replaces its own grant"));
  REQUIRE_REASON(f.lic().CheckAccess(acme.bob, "CAD", kLaptop),
                 Reason::kAccessExcepted);
  ENTITLE_REQUIRE_OK(f.ids().Unlock(As(acme.ann), acme.bob));
  REQUIRE_REASON(f.lic().Checkout(acme.bob, "CAD", kLaptop),
                 Reason::kAccessExcepted);

  // One row per member and pool: the grant became the exception.
  const std::vector<PoolGrantRecord> own = f.template All<PoolGrantRecord>(
      PoolGrantFilter{.entitlement_id = acme.pool.id, .identity_id = acme.bob});
  REQUIRE(own.size() == 1);
  CHECK(own[0].denied);

  // Another pool of the SKU still serves him.
  const EntitlementRecord spare = f.Entitle(acme.org, Floating("CAD", 1));
  ENTITLE_REQUIRE_OK(f.lic().GrantPoolAccess(As(acme.ann), spare.id,
                                             PoolMember{.group = acme.crew}));
  auto lease = f.lic().Checkout(acme.bob, "CAD", kLaptop);
  ENTITLE_REQUIRE_OK(lease);
  CHECK(lease->access.entitlement_id == spare.id);

  // Removing the exception gives back the group's access, not the direct
  // grant it replaced.
  ENTITLE_REQUIRE_OK(
      f.lic().RemovePoolException(As(acme.ann), acme.pool.id, acme.bob));
  CHECK(f
            .template All<PoolGrantRecord>(PoolGrantFilter{
                .entitlement_id = acme.pool.id, .identity_id = acme.bob})
            .empty());
  ENTITLE_REQUIRE_OK(f.lic().CheckAccess(acme.bob, "CAD", kDesk));
}

// clang-format off
TEMPLATE_TEST_CASE("ORG-5 removing a member ends its pool exceptions; a member added again has its group's access",
                   "[licenses][ORG-5]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  ExceptedPools<DirectoryFixture<TestType>> acme(f);
  ENTITLE_REQUIRE_OK(
      f.lic().DenyPoolAccess(As(acme.ann), acme.pool.id, acme.eve));
  REQUIRE(f.template All<PoolGrantRecord>(
               PoolGrantFilter{.identity_id = acme.eve, .denied = true})
              .size() == 1);
  ENTITLE_REQUIRE_OK(f.orgs().RemoveMember(As(acme.ann), acme.org, acme.eve));
  CHECK(
      f.template All<PoolGrantRecord>(PoolGrantFilter{.identity_id = acme.eve})
          .empty());
  CHECK(UsageOf(f, acme.pool).assigned_or_with_access == 2);
  // Back as an employee and in the group again: no exception is left.
  ENTITLE_REQUIRE_OK(
      f.orgs().AddEmployee(As(acme.ann), acme.org, "eve@acme.com"));
  ENTITLE_REQUIRE_OK(
      f.orgs().AddToGroup(As(acme.ann), acme.org, acme.crew, acme.eve));
  ENTITLE_REQUIRE_OK(f.lic().Checkout(acme.eve, "CAD", kLaptop));
  CHECK(UsageOf(f, acme.pool).assigned_or_with_access == 3);
}

}  // namespace
}  // namespace entitle_test
