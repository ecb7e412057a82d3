// ACT-1 to ACT-7: activations, the serving claim, restarts, other processes,
// sessions and the event feed, on every store. A second Directory on the same
// store stands for a second process: on SQLite it opens its own store object
// on the file, whose serving lock conflicts as another process's would; on
// the MemoryStore it shares the store, which has no lock, so claims end with
// their lease. tests/reliability/ has the tests with real processes.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "entitle/directory.h"
#include "entitle/licenses.h"
#include "entitle/records.h"
#include "fixtures/directory_fixture.h"

namespace {

using entitle::ActivationEnd;
using entitle::ActivationFilter;
using entitle::ActivationRecord;
using entitle::DeviceId;
using entitle::Directory;
using entitle::DirectoryOptions;
using entitle::EntitlementKind;
using entitle::EntitlementRecord;
using entitle::EntitlementTerms;
using entitle::FeedEventId;
using entitle::FeedEventKind;
using entitle::FeedEventRecord;
using entitle::IdentityId;
using entitle::LicensePolicy;
using entitle::OrganizationId;
using entitle::PageRequest;
using entitle::PoolMember;
using entitle::Reason;
using entitle::SeatHolder;
using entitle::SeatLease;
using entitle::SessionExport;
using entitle_test::As;
using entitle_test::DirectoryFixture;
using entitle_test::kOp;

const DeviceId kDesk("desk-1");
const DeviceId kLaptop("laptop-1");

EntitlementTerms Floating(std::string sku, int64_t seats, absl::Time start,
                          absl::Duration length = absl::Hours(24 * 365)) {
  return EntitlementTerms{.sku = std::move(sku),
                          .kind = EntitlementKind::kFloating,
                          .seats = seats,
                          .period_start = start,
                          .period_end = start + length};
}

// A policy whose flush runs only when asked, with the given claim lease.
LicensePolicy Policy(absl::Duration claim_lease = absl::Hours(1)) {
  LicensePolicy policy;
  policy.seat_lease = absl::Hours(3);
  policy.activation_flush_interval =
      std::min(absl::Minutes(30), claim_lease / 2);
  policy.serving_claim_lease = claim_lease;
  return policy;
}

DirectoryOptions WithPolicy(const LicensePolicy& policy) {
  DirectoryOptions options;
  options.license_policy = policy;
  return options;
}

template <typename Backend>
struct Act {
  explicit Act(LicensePolicy policy = Policy())
      : policy(policy), f(WithPolicy(policy)) {
    auto [org, admin] = f.FoundOrg("Acme", "ann@acme.com", "acme.com");
    acme = org;
    ann = admin;
    mia = f.Employee(acme, ann, "mia@acme.com");
    nik = f.Employee(acme, ann, "nik@acme.com");
    auto e = f.lic().CreateEntitlement(kOp, acme, Floating("CAD", 2, f.Now()));
    ENTITLE_REQUIRE_OK(e);
    pool = *e;
    for (IdentityId id : {mia, nik}) {
      ENTITLE_REQUIRE_OK(f.lic().GrantPoolAccess(As(ann), pool.id,
                                                 PoolMember{.identity = id}));
    }
  }

  // Another process on the same store (see the file comment).
  std::unique_ptr<Directory> Other(std::string holder = "other") {
    if constexpr (std::is_same_v<Backend, entitle_test::SqliteBackend>) {
      other_store = f.backend().OpenSqlite();
    }
    LicensePolicy other_policy = policy;
    other_policy.serving_holder = std::move(holder);
    DirectoryOptions options = WithPolicy(other_policy);
    options.clock = &f.clock();
    auto made = Directory::Create(
        other_store != nullptr ? *other_store : f.store(), options);
    ENTITLE_REQUIRE_OK(made);
    return std::move(*made);
  }

  std::vector<ActivationRecord> Activations(ActivationFilter filter = {}) {
    auto tx = entitle_test::Begin(f.store(), entitle::TransactionMode::kRead);
    return entitle_test::ListAll(tx->activations(), filter);
  }

  std::vector<FeedEventRecord> Feed(FeedEventId after = FeedEventId()) {
    auto events = f.lic().Events(kOp, after, 1000);
    ENTITLE_REQUIRE_OK(events);
    return *events;
  }

  LicensePolicy policy;
  DirectoryFixture<Backend> f;
  std::unique_ptr<entitle::Store> other_store;
  OrganizationId acme;
  IdentityId ann, mia, nik;
  EntitlementRecord pool;
};

}  // namespace

// clang-format off
TEMPLATE_TEST_CASE("ACT-1 a floating checkout becomes an activation of (entitlement, identity, device, seat, since, last heartbeat, expires); a named license's is its assignment",
    "[activations]", ENTITLE_BACKENDS) {
  // clang-format on
  Act<TestType> t;
  auto& f = t.f;
  const absl::Time start = f.Now();
  SeatLease lease = *f.lic().Checkout(t.mia, "CAD", kDesk);
  ENTITLE_REQUIRE_OK(f.lic().FlushActivations());
  std::vector<ActivationRecord> rows = t.Activations();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].entitlement_id == t.pool.id);
  CHECK(rows[0].organization_id == t.acme);
  CHECK(rows[0].identity_id == t.mia);
  CHECK(rows[0].device_id == kDesk);
  CHECK(rows[0].seat == lease.seat->index);
  CHECK(rows[0].since == start);
  CHECK(rows[0].last_heartbeat == start);
  CHECK(rows[0].expires_at == lease.expires_at);
  CHECK(rows[0].end_reason == ActivationEnd::kOpen);
  CHECK_FALSE(rows[0].ended_at.has_value());

  // A heartbeat moves the last heartbeat and the lease end; the seat stays.
  f.Advance(absl::Minutes(10));
  auto beat = f.lic().Heartbeat(t.mia, t.pool.id, kDesk);
  ENTITLE_REQUIRE_OK(beat);
  ENTITLE_REQUIRE_OK(f.lic().FlushActivations());
  rows = t.Activations();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].last_heartbeat == f.Now());
  CHECK(rows[0].expires_at == beat->expires_at);
  CHECK(rows[0].seat == lease.seat->index);

  // Named: the assignment is the activation; a checkout writes no row.
  auto named = f.lic().CreateEntitlement(
      kOp, t.acme,
      EntitlementTerms{.sku = "VIEW",
                       .kind = EntitlementKind::kNamed,
                       .seats = 1,
                       .period_start = f.Now(),
                       .period_end = f.Now() + absl::Hours(24)});
  ENTITLE_REQUIRE_OK(named);
  ENTITLE_REQUIRE_OK(f.lic().Assign(As(t.ann), named->id, t.nik));
  ENTITLE_REQUIRE_OK(f.lic().Checkout(t.nik, "VIEW", kDesk));
  ENTITLE_REQUIRE_OK(f.lic().FlushActivations());
  CHECK(t.Activations().size() == 1);
}

// clang-format off
TEMPLATE_TEST_CASE("ACT-2 the checkout path writes nothing per call; a flush writes every change at once, and each way a seat ends closes its activation with that reason",
    "[activations]", ENTITLE_BACKENDS) {
  // clang-format on
  Act<TestType> t;
  auto& f = t.f;
  ENTITLE_REQUIRE_OK(f.lic().Serve());
  // Each device's first check is ID-9's record, not an activation's.
  for (const auto& [who, device] :
       {std::pair{t.mia, kDesk}, {t.nik, kDesk}, {t.mia, kLaptop}}) {
    ENTITLE_REQUIRE_OK(f.lic().CheckAccess(who, "CAD", device));
  }
  const auto before = f.Freeze();
  ENTITLE_REQUIRE_OK(f.lic().Checkout(t.mia, "CAD", kDesk));
  ENTITLE_REQUIRE_OK(f.lic().Checkout(t.nik, "CAD", kDesk));
  ENTITLE_REQUIRE_OK(f.lic().Heartbeat(t.mia, t.pool.id, kDesk));
  REQUIRE_REASON(f.lic().Checkout(t.mia, "CAD", kLaptop),
                 Reason::kSeatsExhausted);
  f.RequireUnchanged(before);  // Nothing yet: it is all in memory.
  ENTITLE_REQUIRE_OK(f.lic().FlushActivations());
  CHECK(t.Activations({.end_reason = ActivationEnd::kOpen}).size() == 2);

  auto ended = [&](IdentityId who) {
    std::vector<ActivationRecord> rows = t.Activations({.identity_id = who});
    REQUIRE_FALSE(rows.empty());
    return rows.back();
  };
  // Release.
  f.Advance(absl::Minutes(1));
  ENTITLE_REQUIRE_OK(f.lic().Release(t.mia, t.pool.id, kDesk));
  ENTITLE_REQUIRE_OK(f.lic().FlushActivations());
  CHECK(ended(t.mia).end_reason == ActivationEnd::kReleased);
  CHECK(ended(t.mia).ended_at == f.Now());
  // Force release.
  ENTITLE_REQUIRE_OK(f.lic().ForceRelease(As(t.ann), t.pool.id, t.nik, kDesk));
  ENTITLE_REQUIRE_OK(f.lic().FlushActivations());
  CHECK(ended(t.nik).end_reason == ActivationEnd::kForceReleased);
  // Revocation: its access removed, its next heartbeat ends it.
  ENTITLE_REQUIRE_OK(f.lic().Checkout(t.mia, "CAD", kLaptop));
  ENTITLE_REQUIRE_OK(f.lic().FlushActivations());
  ENTITLE_REQUIRE_OK(f.lic().DenyPoolAccess(As(t.ann), t.pool.id, t.mia));
  ENTITLE_REQUIRE_OK(f.lic().FlushActivations());
  CHECK(ended(t.mia).end_reason == ActivationEnd::kRevoked);
  // Expiry: no heartbeat within the lease; closed at the lease end.
  ENTITLE_REQUIRE_OK(f.lic().Checkout(t.nik, "CAD", kLaptop));
  ENTITLE_REQUIRE_OK(f.lic().FlushActivations());
  const absl::Time lease_end = ended(t.nik).expires_at;
  f.Advance(absl::Hours(4));
  ENTITLE_REQUIRE_OK(f.lic().FlushActivations());
  CHECK(ended(t.nik).end_reason == ActivationEnd::kExpired);
  CHECK(ended(t.nik).ended_at == lease_end);
  // Period end: a seat taken an hour before it goes with it.
  f.Advance(t.pool.period_end - absl::Hours(1) - f.Now());
  ENTITLE_REQUIRE_OK(f.lic().Checkout(t.nik, "CAD", kDesk));
  ENTITLE_REQUIRE_OK(f.lic().FlushActivations());
  f.Advance(absl::Hours(2));
  ENTITLE_REQUIRE_OK(f.lic().RecordUsage());
  ENTITLE_REQUIRE_OK(f.lic().FlushActivations());
  CHECK(ended(t.nik).end_reason == ActivationEnd::kPeriodEnded);
  CHECK(t.Activations({.end_reason = ActivationEnd::kOpen}).empty());
}

// clang-format off
TEMPLATE_TEST_CASE("ACT-2 activations reach the store within the flush interval without an explicit flush",
    "[activations]", ENTITLE_BACKENDS) {
  // clang-format on
  LicensePolicy policy = Policy(absl::Seconds(1));
  policy.activation_flush_interval = absl::Milliseconds(20);
  Act<TestType> t(policy);
  ENTITLE_REQUIRE_OK(t.f.lic().Checkout(t.mia, "CAD", kDesk));
  // Real time: the writer thread flushes on its own.
  for (int i = 0; i < 200 && t.Activations().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(t.Activations().size() == 1);
}

// clang-format off
TEMPLATE_TEST_CASE("ACT-3 one directory serves a store's seats: another's checkout, heartbeat and release are refused naming the holder, and reserve nothing",
    "[activations]", ENTITLE_BACKENDS) {
  // clang-format on
  Act<TestType> t;
  auto& f = t.f;
  ENTITLE_REQUIRE_OK(f.lic().Checkout(t.mia, "CAD", kDesk));
  ENTITLE_REQUIRE_OK(f.lic().FlushActivations());
  std::unique_ptr<Directory> other = t.Other();
  const auto before = f.Freeze();
  for (const absl::Status& refused :
       {other->licenses().Checkout(t.nik, "CAD", kDesk).status(),
        other->licenses().Heartbeat(t.mia, t.pool.id, kDesk).status(),
        other->licenses().Release(t.mia, t.pool.id, kDesk)}) {
    INFO(refused.ToString());
    REQUIRE(entitle::GetReason(refused) == Reason::kServedElsewhere);
    CHECK(absl::StrContains(refused.message(), "served by entitle on "));
    CHECK(absl::StrContains(refused.message(),
                            absl::StrCat("process ", getpid())));
  }
  f.RequireUnchanged(before);
  CHECK(f.lic().Holders(kOp, t.pool.id)->size() == 1);

  auto mine = f.lic().ServingStatus();
  ENTITLE_REQUIRE_OK(mine);
  REQUIRE(mine->has_value());
  CHECK((*mine)->this_directory);
  CHECK((*mine)->epoch == 1);
  CHECK((*mine)->holder == "entitle");
  auto theirs = other->licenses().ServingStatus();
  ENTITLE_REQUIRE_OK(theirs);
  REQUIRE(theirs->has_value());
  CHECK_FALSE((*theirs)->this_directory);
  CHECK((*theirs)->process_id == getpid());
  // The standby waits, and is still refused while the holder lives.
  REQUIRE_REASON(other->licenses().Serve(absl::Milliseconds(120)),
                 Reason::kServedElsewhere);
}

// clang-format off
TEMPLATE_TEST_CASE("ACT-3 a claim passes on when its holder is gone (its lock, or its lease where there is none), and the epoch fences the old holder's writes",
    "[activations]", ENTITLE_BACKENDS) {
  // clang-format on
  Act<TestType> t;
  auto& f = t.f;
  ENTITLE_REQUIRE_OK(f.lic().Checkout(t.mia, "CAD", kDesk));
  ENTITLE_REQUIRE_OK(f.lic().FlushActivations());
  std::unique_ptr<Directory> other = t.Other();
  REQUIRE_REASON(other->licenses().Checkout(t.nik, "CAD", kDesk),
                 Reason::kServedElsewhere);
  if constexpr (std::is_same_v<TestType, entitle_test::SqliteBackend>) {
    // Another writer takes the claim from under the holder (as a process
    // that ignores the lock would): the holder's next flush writes nothing.
    {
      auto tx =
          entitle_test::Begin(f.store(), entitle::TransactionMode::kWrite);
      auto claim = tx->serving_claims().Get(entitle::ServingClaimKey{"seats"});
      ENTITLE_REQUIRE_OK(claim);
      claim->epoch += 1;
      claim->holder = "intruder";
      ENTITLE_REQUIRE_OK(tx->serving_claims().Update(*claim));
      entitle_test::MustCommit(*tx);
    }
    ENTITLE_REQUIRE_OK(f.lic().Heartbeat(t.mia, t.pool.id, kDesk));
    const auto before = f.Freeze();
    REQUIRE_REASON(f.lic().FlushActivations(), Reason::kServedElsewhere);
    f.RequireUnchanged(before);
    // On SQLite the lock decides: its holder takes the claim back with the
    // next epoch, rebuilding its pools from what was flushed.
    ENTITLE_REQUIRE_OK(f.lic().Checkout(t.nik, "CAD", kDesk));
    auto claim = f.lic().ServingStatus();
    ENTITLE_REQUIRE_OK(claim);
    CHECK((*claim)->epoch == 3);
    CHECK((*claim)->holder == "entitle");
    CHECK(f.lic().Holders(kOp, t.pool.id)->size() == 2);
  } else {
    // No lock: the claim is free once its lease ran out unrenewed.
    f.Advance(absl::Hours(1) + absl::Seconds(1));
    ENTITLE_REQUIRE_OK(other->licenses().Checkout(t.nik, "CAD", kDesk));
    auto claim = other->licenses().ServingStatus();
    ENTITLE_REQUIRE_OK(claim);
    CHECK((*claim)->epoch == 2);
    CHECK((*claim)->holder == "other");
    // The old holder's late flush is fenced off; it serves no more.
    ENTITLE_REQUIRE_OK(f.lic().Heartbeat(t.mia, t.pool.id, kDesk).status());
    REQUIRE_REASON(f.lic().FlushActivations(), Reason::kServedElsewhere);
    auto refused = f.lic().Checkout(t.mia, "CAD", kLaptop);
    REQUIRE_REASON(refused, Reason::kServedElsewhere);
    CHECK(absl::StrContains(refused.status().message(), "served by other"));
    // The new holder kept mia's seat (rebuilt from the store).
    CHECK(other->licenses().Holders(kOp, t.pool.id)->size() == 2);
  }
}

// clang-format off
TEMPLATE_TEST_CASE("ACT-4 a directory that starts to serve rebuilds every pool from the open activations: same seat, same expiry, none given twice; leases that ended meanwhile are closed",
    "[activations]", ENTITLE_BACKENDS) {
  // clang-format on
  Act<TestType> t;
  std::unique_ptr<Directory> first = t.Other("first");
  const SeatLease mia = *first->licenses().Checkout(t.mia, "CAD", kDesk);
  t.f.Advance(absl::Minutes(5));
  ENTITLE_REQUIRE_OK(first->licenses().Checkout(t.nik, "CAD", kDesk));
  ENTITLE_REQUIRE_OK(first->licenses().FlushActivations());
  const std::vector<SeatHolder> held =
      *first->licenses().Holders(kOp, t.pool.id);
  if constexpr (std::is_same_v<TestType, entitle_test::SqliteBackend>) {
    // Its lock is held while it lives; it goes with it.
    REQUIRE_REASON(t.f.lic().Serve(), Reason::kServedElsewhere);
    first.reset();
  } else {
    // No lock: it stops renewing (as a process that died) and its claim's
    // lease runs out.
    t.f.Advance(absl::Hours(1) + absl::Seconds(1));
  }
  ENTITLE_REQUIRE_OK(t.f.lic().Serve());
  const std::vector<SeatHolder> rebuilt = *t.f.lic().Holders(kOp, t.pool.id);
  REQUIRE(rebuilt.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(rebuilt[i].key == held[i].key);
    CHECK(rebuilt[i].handle.index == held[i].handle.index);
    CHECK(rebuilt[i].expires_at == held[i].expires_at);
    CHECK(rebuilt[i].since == held[i].since);
    CHECK(rebuilt[i].last_heartbeat == held[i].last_heartbeat);
  }
  // Full: no seat is given twice.
  REQUIRE_REASON(t.f.lic().Checkout(t.mia, "CAD", kLaptop),
                 Reason::kSeatsExhausted);
  // Each holder keeps its seat at its next heartbeat.
  auto beat = t.f.lic().Heartbeat(t.mia, t.pool.id, kDesk);
  ENTITLE_REQUIRE_OK(beat);
  CHECK(beat->renewed);
  CHECK(beat->seat->index == mia.seat->index);
}

// clang-format off
TEMPLATE_TEST_CASE("ACT-4 leases that ended while no one served are closed as expired at their end when the next directory serves",
    "[activations]", ENTITLE_BACKENDS) {
  // clang-format on
  Act<TestType> t;
  std::unique_ptr<Directory> first = t.Other("first");
  ENTITLE_REQUIRE_OK(first->licenses().Checkout(t.mia, "CAD", kDesk));
  ENTITLE_REQUIRE_OK(first->licenses().FlushActivations());
  const absl::Time lease_end = t.Activations().at(0).expires_at;
  first.reset();  // Gives the claim up; the activation stays open.
  CHECK(t.Activations({.end_reason = ActivationEnd::kOpen}).size() == 1);
  t.f.Advance(absl::Hours(4));
  ENTITLE_REQUIRE_OK(t.f.lic().Serve());
  const std::vector<ActivationRecord> rows = t.Activations();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].end_reason == ActivationEnd::kExpired);
  CHECK(rows[0].ended_at == lease_end);
  CHECK(t.f.lic().Holders(kOp, t.pool.id)->empty());
  bool expiry = false;
  for (const FeedEventRecord& e : t.Feed()) {
    expiry = expiry || e.kind == FeedEventKind::kExpiry;
  }
  CHECK(expiry);
}

// clang-format off
TEMPLATE_TEST_CASE("ACT-5 another directory sees holders, seats in use and usage from the activations; its force release reaches the serving one at its next flush and the holder's next heartbeat is refused",
    "[activations]", ENTITLE_BACKENDS) {
  // clang-format on
  Act<TestType> t;
  auto& f = t.f;
  ENTITLE_REQUIRE_OK(f.lic().Checkout(t.mia, "CAD", kDesk));
  ENTITLE_REQUIRE_OK(f.lic().Checkout(t.nik, "CAD", kDesk));
  ENTITLE_REQUIRE_OK(f.lic().FlushActivations());
  std::unique_ptr<Directory> admin = t.Other();
  std::vector<SeatHolder> seen = *admin->licenses().Holders(kOp, t.pool.id);
  std::vector<SeatHolder> truth = *f.lic().Holders(kOp, t.pool.id);
  REQUIRE(seen.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(seen[i].key == truth[i].key);
    CHECK(seen[i].handle.index == truth[i].handle.index);
    CHECK(seen[i].since == truth[i].since);
    CHECK(seen[i].expires_at == truth[i].expires_at);
  }
  auto usage = admin->licenses().Usage(As(t.ann), t.acme, absl::Hours(1));
  ENTITLE_REQUIRE_OK(usage);
  CHECK(usage->at(0).in_use == 2);

  {
    const auto before = f.Freeze();
    REQUIRE_REASON(
        admin->licenses().ForceRelease(As(t.ann), t.pool.id, t.mia, kLaptop),
        Reason::kSeatNotHeld);
    f.RequireUnchanged(before);
  }
  ENTITLE_REQUIRE_OK(
      admin->licenses().ForceRelease(As(t.ann), t.pool.id, t.mia, kDesk));
  CHECK(admin->licenses().Holders(kOp, t.pool.id)->size() == 1);
  ENTITLE_REQUIRE_OK(f.lic().FlushActivations());  // The writer's timer.
  CHECK(f.lic().Holders(kOp, t.pool.id)->size() == 1);
  REQUIRE_REASON(f.lic().Heartbeat(t.mia, t.pool.id, kDesk),
                 Reason::kForceReleased);
  // A new checkout takes a seat again.
  ENTITLE_REQUIRE_OK(f.lic().Checkout(t.mia, "CAD", kDesk));
  ENTITLE_REQUIRE_OK(f.lic().Heartbeat(t.mia, t.pool.id, kDesk));
}

// clang-format off
TEMPLATE_TEST_CASE("ACT-6 ended activations are sessions, listed per organization and range and exported as CSV with the hours per identity, for the retention",
    "[activations]", ENTITLE_BACKENDS) {
  // clang-format on
  Act<TestType> t;
  auto& f = t.f;
  const absl::Time from = f.Now();
  ENTITLE_REQUIRE_OK(f.lic().Checkout(t.mia, "CAD", kDesk));
  ENTITLE_REQUIRE_OK(f.lic().FlushActivations());
  f.Advance(absl::Hours(2));
  ENTITLE_REQUIRE_OK(f.lic().Release(t.mia, t.pool.id, kDesk));
  ENTITLE_REQUIRE_OK(f.lic().Checkout(t.nik, "CAD", kDesk));
  ENTITLE_REQUIRE_OK(f.lic().FlushActivations());
  f.Advance(absl::Minutes(30));
  ENTITLE_REQUIRE_OK(f.lic().Release(t.nik, t.pool.id, kDesk));
  ENTITLE_REQUIRE_OK(f.lic().FlushActivations());
  const absl::Time to = f.Now();

  auto page = f.lic().Sessions(As(t.ann), t.acme, from, to,
                               PageRequest{.offset = 0, .limit = 10});
  ENTITLE_REQUIRE_OK(page);
  REQUIRE(page->items.size() == 2);
  CHECK(page->items[0].identity == t.mia);
  CHECK(page->items[0].sku == "CAD");
  CHECK(page->items[0].end - page->items[0].start == absl::Hours(2));
  CHECK(page->items[0].end_reason == ActivationEnd::kReleased);
  CHECK(page->items[1].identity == t.nik);

  auto hours = f.lic().ExportSessions(As(t.ann), t.acme, from, to,
                                      SessionExport::kHoursPerIdentity);
  ENTITLE_REQUIRE_OK(hours);
  CHECK(*hours == absl::StrCat("email,identity,sessions,hours\r\n",
                               "mia@acme.com,identity#", t.mia.value(),
                               ",1,2.00\r\nnik@acme.com,identity#",
                               t.nik.value(), ",1,0.50\r\n"));
  auto rows = f.lic().ExportSessions(As(t.ann), t.acme, from, to,
                                     SessionExport::kSessions);
  ENTITLE_REQUIRE_OK(rows);
  CHECK(absl::StrContains(*rows,
                          "email,identity,device,sku,start,end,"
                          "end_reason,hours\r\n"));
  CHECK(absl::StrContains(*rows, ",desk-1,CAD,"));
  CHECK(absl::StrContains(*rows, ",released,2.00\r\n"));

  // Refusals change nothing.
  const IdentityId bea = f.RegisterVerified("bea@beta.com");
  const OrganizationId beta = f.CreateOrg("Beta", bea, "beta.com");
  (void)beta;
  REQUIRE_REASON(f.lic().Sessions(As(bea), t.acme, from, to,
                                  PageRequest{.offset = 0, .limit = 10}),
                 Reason::kPermissionDenied);
  REQUIRE_REASON(f.lic().ExportSessions(As(t.mia), t.acme, from, to,
                                        SessionExport::kSessions),
                 Reason::kPermissionDenied);
  REQUIRE_REASON(f.lic().Sessions(As(t.ann), t.acme, to, from,
                                  PageRequest{.offset = 0, .limit = 10}),
                 Reason::kInvalidArgument);

  // Kept for the retention (400 days), then gone.
  f.Advance(absl::Hours(24 * 399));
  ENTITLE_REQUIRE_OK(f.lic().FlushActivations());
  CHECK(t.Activations().size() == 2);
  f.Advance(absl::Hours(24 * 2));
  ENTITLE_REQUIRE_OK(f.lic().FlushActivations());
  CHECK(t.Activations().empty());
}

// clang-format off
TEMPLATE_TEST_CASE("ACT-7 seat events and domain events reach a durable feed with increasing ids, read after an id up to n",
    "[activations]", ENTITLE_BACKENDS) {
  // clang-format on
  Act<TestType> t;
  auto& f = t.f;
  const FeedEventId start =
      t.Feed().empty() ? FeedEventId() : t.Feed().back().id;
  ENTITLE_REQUIRE_OK(f.lic().Checkout(t.mia, "CAD", kDesk));
  f.Advance(absl::Seconds(1));
  ENTITLE_REQUIRE_OK(f.lic().Checkout(t.nik, "CAD", kDesk));
  f.Advance(absl::Seconds(1));
  REQUIRE_REASON(f.lic().Checkout(t.mia, "CAD", kLaptop),
                 Reason::kSeatsExhausted);
  f.Advance(absl::Seconds(1));
  ENTITLE_REQUIRE_OK(f.lic().Release(t.mia, t.pool.id, kDesk));
  f.Advance(absl::Seconds(1));
  ENTITLE_REQUIRE_OK(f.lic().ForceRelease(As(t.ann), t.pool.id, t.nik, kDesk));
  ENTITLE_REQUIRE_OK(f.lic().FlushActivations());
  f.Advance(absl::Seconds(1));
  const IdentityId oli = f.Employee(t.acme, t.ann, "oli@acme.com");

  std::vector<FeedEventRecord> events = t.Feed(start);
  std::vector<FeedEventKind> kinds;
  for (size_t i = 0; i < events.size(); ++i) {
    kinds.push_back(events[i].kind);
    if (i > 0) CHECK(events[i - 1].id < events[i].id);
  }
  // The force release is written with it; the rest at the flush, in order.
  CHECK(kinds == std::vector<FeedEventKind>{
                     FeedEventKind::kForceRelease, FeedEventKind::kCheckout,
                     FeedEventKind::kCheckout, FeedEventKind::kRefusal,
                     FeedEventKind::kRelease,
                     FeedEventKind::kEmployeeOrganizationChanged});
  CHECK(events[3].reason == "seats-exhausted");
  CHECK(events[3].identity_id == t.mia);
  CHECK(events[3].device_id == "laptop-1");
  CHECK(events[5].identity_id == oli);
  CHECK(events[5].organization_id == t.acme);

  // After an id, up to n.
  auto two = f.lic().Events(kOp, events[1].id, 2);
  ENTITLE_REQUIRE_OK(two);
  REQUIRE(two->size() == 2);
  CHECK((*two)[0].id == events[2].id);
  CHECK((*two)[1].id == events[3].id);
  // An administrator reads its own organization's; no one else's.
  auto own = f.lic().Events(As(t.ann), start, 1000, t.acme);
  ENTITLE_REQUIRE_OK(own);
  CHECK(own->size() == events.size());
  const IdentityId bea = f.RegisterVerified("bea@beta.com");
  f.CreateOrg("Beta", bea, "beta.com");
  REQUIRE_REASON(f.lic().Events(As(bea), start, 10, t.acme),
                 Reason::kPermissionDenied);
  REQUIRE_REASON(f.lic().Events(As(t.ann), start, 10),
                 Reason::kPermissionDenied);
  REQUIRE_REASON(f.lic().Events(kOp, start, 0), Reason::kInvalidArgument);
  REQUIRE_REASON(f.lic().Events(kOp, start, 1001), Reason::kInvalidArgument);
}
