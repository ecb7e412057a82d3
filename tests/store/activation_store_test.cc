// The store side of activations, sessions, the serving claim and the feed
// (ACT-1, ACT-3, ACT-6, ACT-7): the three record kinds on every backend, the
// SQLite file's serving lock, and migration 6.
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "entitle/ids.h"
#include "entitle/memory_store.h"
#include "entitle/records.h"
#include "entitle/sqlite_store.h"
#include "entitle/status.h"
#include "entitle/store.h"
#include "fixtures/file_mode.h"
#include "fixtures/sqlite_schema_file.h"
#include "fixtures/store_fixtures.h"

// Filters and page requests are written with designated initializers that name
// only the fields that matter; the others are meant to stay unset.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace entitle_test {
namespace {

using namespace entitle;
using absl::StatusCode;

// ------------------------------------------------------------------ helpers

// REQUIREs that `filter` selects exactly `expected`, in key order: Count, the
// full listing, and a one-row first page with the right has_more.
template <typename R>
void RequireSelects(Store& store, const typename R::Filter& filter,
                    const std::vector<R>& expected) {
  auto txn = BeginRead(store);
  auto& table = TableOf<R>(*txn);
  REQUIRE(MustCount(table, filter) == static_cast<int64_t>(expected.size()));
  REQUIRE(ListAll(table, filter) == expected);
  PageRequest one;
  one.limit = 1;
  auto page = table.List(filter, one);
  ENTITLE_REQUIRE_OK(page);
  if (expected.empty()) {
    REQUIRE(page->items.empty());
  } else {
    REQUIRE(page->items.size() == 1);
    REQUIRE(page->items[0] == expected[0]);
  }
  REQUIRE(page->has_more == (expected.size() > 1));
  MustCommit(*txn);
}

// Every record `filter` selects, read `limit` at a time by key: each page
// asks for the ids after the last one read (never an offset).
template <typename R>
std::vector<R> ReadAfter(Store& store, typename R::Filter filter,
                         int64_t limit) {
  std::vector<R> all;
  auto txn = BeginRead(store);
  auto& table = TableOf<R>(*txn);
  PageRequest page;
  page.limit = limit;
  for (int pages = 0;; ++pages) {
    REQUIRE(pages < 10000);
    auto got = table.List(filter, page);
    ENTITLE_REQUIRE_OK(got);
    REQUIRE(static_cast<int64_t>(got->items.size()) <= limit);
    all.insert(all.end(), got->items.begin(), got->items.end());
    if (!got->has_more) break;
    REQUIRE_FALSE(got->items.empty());
    filter.after = got->items.back().id;
  }
  MustCommit(*txn);
  return all;
}

// The parents an activation names.
struct Parents {
  IdentityId ida, ivo;
  OrganizationId one, two;
  EntitlementId cad, cam;  // cad in org one, cam in org two.
};

Parents SeedParents(Store& store) {
  Parents p;
  auto txn = BeginWrite(store);
  p.ida = MustInsert(txn->identities(), MakeIdentity("ida@example.com"));
  p.ivo = MustInsert(txn->identities(), MakeIdentity("ivo@example.com"));
  p.one = MustInsert(txn->organizations(), MakeOrganization("Org One"));
  p.two = MustInsert(txn->organizations(), MakeOrganization("Org Two"));
  p.cad = MustInsert(txn->entitlements(), MakeEntitlement(p.one, "CAD-PRO"));
  p.cam = MustInsert(txn->entitlements(), MakeEntitlement(p.two, "CAM-STD"));
  MustCommit(*txn);
  return p;
}

// An activation that ended `ended_at` with `reason`.
ActivationRecord Ended(ActivationRecord r, ActivationEnd reason,
                       absl::Time ended_at) {
  r.end_reason = reason;
  r.ended_at = ended_at;
  return r;
}

// Inserts `records` in one transaction, each with a bogus id the store must
// replace; returns them as stored.
template <typename R>
std::vector<R> InsertAll(Store& store, std::vector<R> records) {
  auto txn = BeginWrite(store);
  for (R& r : records) {
    R in = r;
    in.id = typename R::Key(987654321);
    const typename R::Key id = MustInsert(TableOf<R>(*txn), in);
    REQUIRE(id.valid());
    REQUIRE(id != typename R::Key(987654321));
    r.id = id;
  }
  MustCommit(*txn);
  return records;
}

// ============================================================== activations

// clang-format off
TEMPLATE_TEST_CASE("ACT-1 activations round trip, filter and page by id on every store", "[store][activations]", ENTITLE_BACKENDS) {
  // clang-format on
  TestType backend;
  auto store = backend.Open();
  const Parents p = SeedParents(*store);

  ActivationRecord a1 = MakeActivation(p.cad, p.one, p.ida, "ida-laptop", 0);
  a1.since = At(100);
  ActivationRecord a2 = Ended(MakeActivation(p.cad, p.one, p.ivo, "ivo-pc", 1),
                              ActivationEnd::kReleased, At(500));
  a2.since = At(200);
  ActivationRecord a3 =
      Ended(MakeActivation(p.cam, p.two, p.ida, "ida-laptop", 0),
            ActivationEnd::kExpired, At(900));
  a3.since = At(300);
  // Every field away from its default.
  ActivationRecord a4 = MakeActivation(p.cam, p.two, p.ivo, "ivo-mill", 7);
  a4.since = At(400);
  a4.last_heartbeat = At(450);
  a4.expires_at = At(450) + absl::Minutes(5);
  a4.epoch = 12;
  std::vector<ActivationRecord> all =
      InsertAll(*store, std::vector<ActivationRecord>{a1, a2, a3, a4});
  a1 = all[0];
  a2 = all[1];
  a3 = all[2];
  a4 = all[3];
  REQUIRE(a1.id < a2.id);
  REQUIRE(a2.id < a3.id);
  REQUIRE(a3.id < a4.id);

  SECTION("each record reads back as written, the ended time optional") {
    auto txn = BeginRead(*store);
    for (const ActivationRecord& r : all) {
      auto got = txn->activations().Get(r.id);
      ENTITLE_REQUIRE_OK(got);
      REQUIRE(*got == r);
    }
    REQUIRE_FALSE(txn->activations().Get(a1.id)->ended_at.has_value());
    REQUIRE(txn->activations().Get(a2.id)->ended_at == At(500));
    ENTITLE_REQUIRE_REFUSED(
        txn->activations().Get(ActivationId(a4.id.value() + 1)),
        StatusCode::kNotFound, Reason::kNotFound);
    MustCommit(*txn);
    RequireSelects<ActivationRecord>(*store, {}, all);
  }

  SECTION("each filter field selects its activations") {
    RequireSelects<ActivationRecord>(*store, {.after = a1.id}, {a2, a3, a4});
    RequireSelects<ActivationRecord>(*store, {.after = a3.id}, {a4});
    RequireSelects<ActivationRecord>(*store, {.after = a4.id}, {});
    RequireSelects<ActivationRecord>(*store, {.after = ActivationId(0)}, all);
    RequireSelects<ActivationRecord>(*store, {.entitlement_id = p.cad},
                                     {a1, a2});
    RequireSelects<ActivationRecord>(*store, {.organization_id = p.two},
                                     {a3, a4});
    RequireSelects<ActivationRecord>(*store, {.identity_id = p.ida}, {a1, a3});
    RequireSelects<ActivationRecord>(
        *store, {.end_reason = ActivationEnd::kOpen}, {a1, a4});
    RequireSelects<ActivationRecord>(
        *store, {.end_reason = ActivationEnd::kReleased}, {a2});
    RequireSelects<ActivationRecord>(*store,
                                     {.end_reason = ActivationEnd::kLost}, {});
    // Open activations have no end time: no end-time range holds them.
    RequireSelects<ActivationRecord>(*store, {.ended_since = At(500)},
                                     {a2, a3});
    RequireSelects<ActivationRecord>(*store, {.ended_since = At(501)}, {a3});
    RequireSelects<ActivationRecord>(*store, {.ended_before = At(900)}, {a2});
    RequireSelects<ActivationRecord>(*store, {.ended_before = At(901)},
                                     {a2, a3});
    RequireSelects<ActivationRecord>(
        *store, {.ended_since = At(500), .ended_before = At(900)}, {a2});
    RequireSelects<ActivationRecord>(*store, {.started_before = At(300)},
                                     {a1, a2});
    RequireSelects<ActivationRecord>(*store, {.started_before = At(100)}, {});
    // Conditions combine.
    RequireSelects<ActivationRecord>(
        *store, {.organization_id = p.one, .end_reason = ActivationEnd::kOpen},
        {a1});
    RequireSelects<ActivationRecord>(
        *store, {.after = a1.id, .end_reason = ActivationEnd::kOpen}, {a4});
    RequireSelects<ActivationRecord>(
        *store, {.entitlement_id = p.cad, .identity_id = p.ivo}, {a2});
  }

  SECTION("paging by id reads every activation once, in id order") {
    REQUIRE(ReadAfter<ActivationRecord>(*store, {}, 1) == all);
    REQUIRE(ReadAfter<ActivationRecord>(*store, {}, 3) == all);
    REQUIRE(ReadAfter<ActivationRecord>(
                *store, {.end_reason = ActivationEnd::kOpen}, 1) ==
            std::vector<ActivationRecord>{a1, a4});
    // An activation opened while a reader pages is read on a later page.
    auto txn = BeginWrite(*store);
    ActivationRecord a5 = MakeActivation(p.cad, p.one, p.ida, "ida-desk", 2);
    a5.id = MustInsert(txn->activations(), a5);
    MustCommit(*txn);
    REQUIRE(a5.id > a4.id);
    REQUIRE(ReadAfter<ActivationRecord>(*store, {.after = a4.id}, 2) ==
            std::vector<ActivationRecord>{a5});
  }

  SECTION("an update closes an activation; a delete removes it") {
    {
      auto txn = BeginWrite(*store);
      a1 = Ended(a1, ActivationEnd::kForceReleased, At(700));
      a1.epoch = 2;
      ENTITLE_REQUIRE_OK(txn->activations().Update(a1));
      a4.last_heartbeat = At(460);
      a4.expires_at = At(460) + absl::Minutes(5);
      ENTITLE_REQUIRE_OK(txn->activations().Update(a4));
      ENTITLE_REQUIRE_OK(txn->activations().Delete(a3.id));
      MustCommit(*txn);
    }
    RequireSelects<ActivationRecord>(*store, {}, {a1, a2, a4});
    RequireSelects<ActivationRecord>(
        *store, {.end_reason = ActivationEnd::kOpen}, {a4});
    RequireSelects<ActivationRecord>(
        *store, {.end_reason = ActivationEnd::kForceReleased}, {a1});
    RequireSelects<ActivationRecord>(*store, {.ended_since = At(600)}, {a1});
    auto txn = BeginWrite(*store);
    ENTITLE_REQUIRE_REFUSED(txn->activations().Get(a3.id),
                            StatusCode::kNotFound, Reason::kNotFound);
    ENTITLE_REQUIRE_REFUSED(txn->activations().Update(a3),
                            StatusCode::kNotFound, Reason::kNotFound);
    ENTITLE_REQUIRE_REFUSED(txn->activations().Delete(a3.id),
                            StatusCode::kNotFound, Reason::kNotFound);
    REQUIRE(MustCount(txn->activations()) == 3);
    MustCommit(*txn);
  }

  SECTION("an activation names an entitlement, organization and identity") {
    // An organization that only an activation names (no entitlement of its
    // own), and the entitlement and identity that only activations name.
    auto txn = BeginWrite(*store);
    const OrganizationId three =
        MustInsert(txn->organizations(), MakeOrganization("Org Three"));
    const ActivationId a6 = MustInsert(
        txn->activations(), MakeActivation(p.cad, three, p.ivo, "ivo-pc", 3));
    MustCommit(*txn);
    const Snapshot before = TakeSnapshot(*store);
    txn = BeginWrite(*store);
    auto& table = txn->activations();
    ENTITLE_REQUIRE_REFUSED(
        table.Insert(MakeActivation(EntitlementId(999), p.one, p.ida)),
        StatusCode::kFailedPrecondition, Reason::kMissingReference);
    ENTITLE_REQUIRE_REFUSED(
        table.Insert(MakeActivation(p.cad, OrganizationId(999), p.ida)),
        StatusCode::kFailedPrecondition, Reason::kMissingReference);
    ENTITLE_REQUIRE_REFUSED(
        table.Insert(MakeActivation(p.cad, p.one, IdentityId(999))),
        StatusCode::kFailedPrecondition, Reason::kMissingReference);
    ActivationRecord moved = a1;
    moved.identity_id = IdentityId(999);
    ENTITLE_REQUIRE_REFUSED(table.Update(moved),
                            StatusCode::kFailedPrecondition,
                            Reason::kMissingReference);
    // What an activation (open or a session) names stays.
    ENTITLE_REQUIRE_REFUSED(txn->identities().Delete(p.ida),
                            StatusCode::kFailedPrecondition,
                            Reason::kStillReferenced);
    ENTITLE_REQUIRE_REFUSED(txn->entitlements().Delete(p.cad),
                            StatusCode::kFailedPrecondition,
                            Reason::kStillReferenced);
    ENTITLE_REQUIRE_REFUSED(txn->organizations().Delete(three),
                            StatusCode::kFailedPrecondition,
                            Reason::kStillReferenced);
    MustCommit(*txn);
    REQUIRE(TakeSnapshot(*store) == before);
    // Once its activations are gone, each parent can go.
    txn = BeginWrite(*store);
    ENTITLE_REQUIRE_OK(txn->activations().Delete(a1.id));
    ENTITLE_REQUIRE_OK(txn->activations().Delete(a2.id));
    ENTITLE_REQUIRE_OK(txn->activations().Delete(a3.id));
    ENTITLE_REQUIRE_OK(txn->activations().Delete(a6));
    ENTITLE_REQUIRE_OK(txn->identities().Delete(p.ida));
    ENTITLE_REQUIRE_OK(txn->entitlements().Delete(p.cad));
    ENTITLE_REQUIRE_OK(txn->organizations().Delete(three));
    MustCommit(*txn);
  }
}

// clang-format off
TEMPLATE_TEST_CASE("ACT-6 sessions list per organization by end time and are purged past their retention", "[store][activations]", ENTITLE_BACKENDS) {
  // clang-format on
  TestType backend;
  auto store = backend.Open();
  const Parents p = SeedParents(*store);
  const absl::Time day = kT0 + absl::Hours(24);
  std::vector<ActivationRecord> made;
  for (int i = 0; i < 6; ++i) {
    const bool one = i % 2 == 0;
    ActivationRecord r =
        MakeActivation(one ? p.cad : p.cam, one ? p.one : p.two, p.ida,
                       "device-" + std::to_string(i), i);
    r.since = day + absl::Hours(i);
    // The last of each organization is still open.
    if (i < 4) {
      r = Ended(r, ActivationEnd::kReleased,
                day + absl::Hours(i) + absl::Minutes(30));
    }
    made.push_back(r);
  }
  made = InsertAll(*store, made);
  // Org one's sessions that ended within the first three hours.
  RequireSelects<ActivationRecord>(*store,
                                   {.organization_id = p.one,
                                    .ended_since = day,
                                    .ended_before = day + absl::Hours(3)},
                                   {made[0], made[2]});
  RequireSelects<ActivationRecord>(*store,
                                   {.organization_id = p.one,
                                    .ended_since = day + absl::Hours(1),
                                    .ended_before = day + absl::Hours(3)},
                                   {made[2]});
  // The purge: every session that ended before the retention's cut, in
  // pages by id; open activations are never selected.
  const absl::Time cut = day + absl::Hours(2);
  std::vector<ActivationRecord> old =
      ReadAfter<ActivationRecord>(*store, {.ended_before = cut}, 1);
  REQUIRE(old == std::vector<ActivationRecord>{made[0], made[1]});
  {
    auto txn = BeginWrite(*store);
    for (const ActivationRecord& r : old) {
      ENTITLE_REQUIRE_OK(txn->activations().Delete(r.id));
    }
    MustCommit(*txn);
  }
  RequireSelects<ActivationRecord>(*store, {},
                                   {made[2], made[3], made[4], made[5]});
  RequireSelects<ActivationRecord>(*store, {.end_reason = ActivationEnd::kOpen},
                                   {made[4], made[5]});
}

// ============================================================ serving claim

// clang-format off
TEMPLATE_TEST_CASE("ACT-3 serving claims round trip by scope", "[store][serving]", ENTITLE_BACKENDS) {
  // clang-format on
  TestType backend;
  auto store = backend.Open();
  ServingClaimRecord seats = MakeServingClaim("seats");
  ServingClaimRecord eu = MakeServingClaim("seats:eu");
  eu.holder = "server-b";
  eu.host = "host-b.example";
  eu.process_id = 77;
  eu.epoch = 3;
  {
    auto txn = BeginWrite(*store);
    REQUIRE(MustInsert(txn->serving_claims(), seats) ==
            ServingClaimKey{"seats"});
    REQUIRE(MustInsert(txn->serving_claims(), eu) ==
            ServingClaimKey{"seats:eu"});
    MustCommit(*txn);
  }
  {
    auto txn = BeginRead(*store);
    auto got = txn->serving_claims().Get(ServingClaimKey{"seats"});
    ENTITLE_REQUIRE_OK(got);
    REQUIRE(*got == seats);
    got = txn->serving_claims().Get(ServingClaimKey{"seats:eu"});
    ENTITLE_REQUIRE_OK(got);
    REQUIRE(*got == eu);
    ENTITLE_REQUIRE_REFUSED(txn->serving_claims().Get(ServingClaimKey{"seat"}),
                            StatusCode::kNotFound, Reason::kNotFound);
    MustCommit(*txn);
  }
  RequireSelects<ServingClaimRecord>(*store, {}, {seats, eu});
  RequireSelects<ServingClaimRecord>(*store, {.scope = "seats"}, {seats});
  RequireSelects<ServingClaimRecord>(*store, {.scope = "nothing"}, {});

  // One claim per scope: a second process cannot insert its own.
  {
    const Snapshot before = TakeSnapshot(*store);
    auto txn = BeginWrite(*store);
    ServingClaimRecord rival = MakeServingClaim("seats");
    rival.holder = "server-z";
    ENTITLE_REQUIRE_REFUSED(txn->serving_claims().Insert(rival),
                            StatusCode::kAlreadyExists, Reason::kDuplicate);
    MustCommit(*txn);
    REQUIRE(TakeSnapshot(*store) == before);
  }

  // A takeover: a new holder with the next epoch; then it gives the claim up.
  seats.holder = "server-c";
  seats.host = "host-c.example";
  seats.process_id = 9;
  seats.epoch = 2;
  seats.claimed_at = At(40);
  seats.renewed_at = At(41);
  seats.lease_until = At(41) + absl::Seconds(30);
  {
    auto txn = BeginWrite(*store);
    ENTITLE_REQUIRE_OK(txn->serving_claims().Update(seats));
    MustCommit(*txn);
  }
  RequireSelects<ServingClaimRecord>(*store, {.scope = "seats"}, {seats});
  seats.holder.clear();
  {
    auto txn = BeginWrite(*store);
    ENTITLE_REQUIRE_OK(txn->serving_claims().Update(seats));
    ENTITLE_REQUIRE_OK(
        txn->serving_claims().Delete(ServingClaimKey{"seats:eu"}));
    MustCommit(*txn);
  }
  RequireSelects<ServingClaimRecord>(*store, {}, {seats});
  auto txn = BeginWrite(*store);
  ENTITLE_REQUIRE_REFUSED(txn->serving_claims().Update(eu),
                          StatusCode::kNotFound, Reason::kNotFound);
  ENTITLE_REQUIRE_REFUSED(
      txn->serving_claims().Delete(ServingClaimKey{"seats:eu"}),
      StatusCode::kNotFound, Reason::kNotFound);
  REQUIRE(MustCount(txn->serving_claims()) == 1);
  MustCommit(*txn);
}

// ================================================================= the feed

// clang-format off
TEMPLATE_TEST_CASE("ACT-7 feed events get increasing ids and are read after an id, by organization and kind", "[store][feed]", ENTITLE_BACKENDS) {
  // clang-format on
  TestType backend;
  auto store = backend.Open();
  const Parents p = SeedParents(*store);

  // Every field set, and one with every optional field unset.
  FeedEventRecord refusal =
      MakeFeedEvent(FeedEventKind::kRefusal, p.one, At(50));
  refusal.entitlement_id = p.cad;
  refusal.identity_id = p.ivo;
  refusal.device_id = "ivo-pc";
  refusal.reason = "no-seat-free";
  refusal.detail = "all 5 seats of CAD-PRO are in use";
  const FeedEventRecord bare = MakeFeedEvent(
      FeedEventKind::kEmployeeOrganizationChanged, std::nullopt, At(51));

  // Events committed one transaction after another, a few per transaction.
  std::vector<FeedEventRecord> events;
  const FeedEventKind kinds[] = {FeedEventKind::kCheckout,
                                 FeedEventKind::kRelease,
                                 FeedEventKind::kExpiry};
  for (int batch = 0; batch < 4; ++batch) {
    std::vector<FeedEventRecord> some;
    if (batch == 1) some.push_back(refusal);
    if (batch == 2) some.push_back(bare);
    for (int i = 0; i < 3; ++i) {
      some.push_back(MakeFeedEvent(kinds[i], batch % 2 == 0 ? p.one : p.two,
                                   At(60 + batch * 10 + i)));
    }
    some = InsertAll(*store, some);
    events.insert(events.end(), some.begin(), some.end());
  }
  for (size_t i = 1; i < events.size(); ++i) {
    REQUIRE(events[i - 1].id < events[i].id);
  }
  RequireSelects<FeedEventRecord>(*store, {}, events);
  {
    auto txn = BeginRead(*store);
    for (const FeedEventRecord& e : events) {
      auto got = txn->feed_events().Get(e.id);
      ENTITLE_REQUIRE_OK(got);
      REQUIRE(*got == e);
    }
    MustCommit(*txn);
  }

  SECTION("a reader sees every event once, in order, n at a time") {
    for (int64_t n : {1, 2, 5, 100}) {
      INFO("n = " << n);
      REQUIRE(ReadAfter<FeedEventRecord>(*store, {}, n) == events);
    }
    // "after id, up to n": exactly the next n.
    auto txn = BeginRead(*store);
    PageRequest three;
    three.limit = 3;
    auto page = txn->feed_events().List({.after = events[4].id}, three);
    ENTITLE_REQUIRE_OK(page);
    REQUIRE(page->items == std::vector<FeedEventRecord>(events.begin() + 5,
                                                        events.begin() + 8));
    REQUIRE(page->has_more);
    page = txn->feed_events().List({.after = events.back().id}, three);
    ENTITLE_REQUIRE_OK(page);
    REQUIRE(page->items.empty());
    REQUIRE_FALSE(page->has_more);
    page = txn->feed_events().List(
        {.after = FeedEventId(events.back().id.value() + 1000)}, three);
    ENTITLE_REQUIRE_OK(page);
    REQUIRE(page->items.empty());
    MustCommit(*txn);
  }

  SECTION("after an id, by organization, kind and time") {
    // Batches: 0-2 org one; the refusal (3, org one) and 4-6 org two; the
    // bare event (7) and 8-10 org one; 11-13 org two.
    refusal = events[3];
    REQUIRE(refusal.kind == FeedEventKind::kRefusal);
    REQUIRE(events[7].kind == FeedEventKind::kEmployeeOrganizationChanged);
    std::vector<FeedEventRecord> one, releases;
    for (const FeedEventRecord& e : events) {
      if (e.organization_id == p.one) one.push_back(e);
      if (e.kind == FeedEventKind::kRelease) releases.push_back(e);
    }
    REQUIRE(one.size() == 7);
    RequireSelects<FeedEventRecord>(*store, {.organization_id = p.one}, one);
    RequireSelects<FeedEventRecord>(*store, {.kind = FeedEventKind::kRelease},
                                    releases);
    RequireSelects<FeedEventRecord>(*store, {.kind = FeedEventKind::kRefusal},
                                    {refusal});
    RequireSelects<FeedEventRecord>(
        *store, {.kind = FeedEventKind::kEmployeeOrganizationChanged},
        {events[7]});
    std::vector<FeedEventRecord> org_one_after_refusal;
    for (const FeedEventRecord& e : one) {
      if (e.id > refusal.id) org_one_after_refusal.push_back(e);
    }
    REQUIRE_FALSE(org_one_after_refusal.empty());
    REQUIRE(ReadAfter<FeedEventRecord>(
                *store, {.after = refusal.id, .organization_id = p.one}, 1) ==
            org_one_after_refusal);
    RequireSelects<FeedEventRecord>(*store,
                                    {.after = events[0].id,
                                     .organization_id = p.one,
                                     .kind = FeedEventKind::kCheckout},
                                    {events[8]});
    RequireSelects<FeedEventRecord>(*store, {.before = At(60)},
                                    {events[3], events[7]});
  }

  SECTION("purged events' ids are never given again") {
    {
      auto txn = BeginWrite(*store);
      for (const FeedEventRecord& e : events) {
        ENTITLE_REQUIRE_OK(txn->feed_events().Delete(e.id));
      }
      MustCommit(*txn);
    }
    std::vector<FeedEventRecord> later =
        InsertAll(*store, std::vector<FeedEventRecord>{MakeFeedEvent()});
    REQUIRE(later[0].id > events.back().id);
    RequireSelects<FeedEventRecord>(*store, {.after = events.back().id}, later);
  }
}

// clang-format off
TEMPLATE_TEST_CASE("ACT-7 reading the feed after an id on a long feed finds the right events", "[store][feed]", ENTITLE_BACKENDS) {
  // clang-format on
  // The memory store starts such a scan at the id; this checks the start at
  // every kind of boundary: before the first id, inside, at and past the
  // last, on a gap left by purged events, with a second condition.
  TestType backend;
  auto store = backend.Open();
  const Parents p = SeedParents(*store);
  std::vector<FeedEventRecord> events;
  {
    auto txn = BeginWrite(*store);
    for (int i = 0; i < 2000; ++i) {
      FeedEventRecord e = MakeFeedEvent(
          i % 3 == 0 ? FeedEventKind::kRelease : FeedEventKind::kCheckout,
          i % 2 == 0 ? p.one : p.two, At(1000 + i));
      e.id = MustInsert(txn->feed_events(), e);
      events.push_back(e);
    }
    // A gap: events 1000..1099 purged.
    for (int i = 1000; i < 1100; ++i) {
      ENTITLE_REQUIRE_OK(txn->feed_events().Delete(events[i].id));
    }
    MustCommit(*txn);
  }
  events.erase(events.begin() + 1000, events.begin() + 1100);
  const auto after = [&](int64_t id, std::optional<OrganizationId> org) {
    std::vector<FeedEventRecord> expected;
    for (const FeedEventRecord& e : events) {
      if (e.id.value() > id && (!org || e.organization_id == org)) {
        expected.push_back(e);
      }
    }
    return expected;
  };
  const int64_t first = events.front().id.value();
  const int64_t last = events.back().id.value();
  const int64_t gap = events[999].id.value() + 50;  // A purged id.
  for (int64_t id :
       {int64_t{0}, first - 1, first, first + 1, first + 998, gap,
        events[1000].id.value() - 1, last - 3, last - 1, last, last + 1}) {
    INFO("after " << id);
    auto txn = BeginRead(*store);
    PageRequest page;
    page.limit = 10;
    auto got = txn->feed_events().List({.after = FeedEventId(id)}, page);
    ENTITLE_REQUIRE_OK(got);
    std::vector<FeedEventRecord> expected = after(id, std::nullopt);
    REQUIRE(MustCount(txn->feed_events(), {.after = FeedEventId(id)}) ==
            static_cast<int64_t>(expected.size()));
    const bool more = expected.size() > 10;
    if (more) expected.resize(10);
    REQUIRE(got->items == expected);
    REQUIRE(got->has_more == more);
    // With a second condition, and an offset past the start.
    expected = after(id, p.two);
    page.offset = 2;
    got = txn->feed_events().List(
        {.after = FeedEventId(id), .organization_id = p.two}, page);
    ENTITLE_REQUIRE_OK(got);
    expected.erase(
        expected.begin(),
        expected.begin() + std::min<std::ptrdiff_t>(2, std::ssize(expected)));
    if (expected.size() > 10) expected.resize(10);
    REQUIRE(got->items == expected);
    MustCommit(*txn);
  }
}

// ============================================================= serving lock

// Where SqliteStore keeps the serving lock of `backend`'s file.
std::string LockFileOf(const SqliteBackend& backend) {
  return std::filesystem::canonical(backend.path()).string() + "-serving";
}

// Kills and reaps a forked child when the test leaves early.
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ~ChildGuard() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;
  pid_t Release() {
    const pid_t pid = pid_;
    pid_ = -1;
    return pid;
  }

 private:
  pid_t pid_;
};

// REQUIREs that `store` gives its serving lock now.
std::unique_ptr<ServingLock> MustLock(Store& store) {
  auto lock = store.TryLockServing();
  ENTITLE_REQUIRE_OK(lock);
  REQUIRE(lock->get() != nullptr);
  return *std::move(lock);
}

// REQUIREs that another holder has `store`'s serving lock.
void RequireHeldElsewhere(Store& store) {
  auto lock = store.TryLockServing();
  ENTITLE_REQUIRE_OK(lock);
  REQUIRE(lock->get() == nullptr);
}

// clang-format off
TEST_CASE("ACT-3 a SQLite file's serving lock is held by one store object at a time and freed when its holder dies", "[store][sqlite][serving]") {
  // clang-format on
  ScopedUmask umask(0000);
  SqliteBackend backend;
  std::unique_ptr<SqliteStore> first = backend.OpenSqlite();
  std::unique_ptr<SqliteStore> second = backend.OpenSqlite();
  const std::string lock_file = LockFileOf(backend);
  REQUIRE(first->has_serving_lock());
  REQUIRE(second->has_serving_lock());
  // Made on first use, not by Open.
  REQUIRE_FALSE(std::filesystem::exists(lock_file));

  std::unique_ptr<ServingLock> held = MustLock(*first);
  CHECK(ModeOf(lock_file) == 0600);
  RequireHeldElsewhere(*second);
  RequireHeldElsewhere(*first);  // Not even its own store takes it twice.
  held.reset();
  held = MustLock(*second);
  RequireHeldElsewhere(*first);
  // The lock outlives the store that took it.
  second.reset();
  RequireHeldElsewhere(*first);
  held.reset();
  held = MustLock(*first);
  held.reset();

  // A holder in another process, killed while it holds the lock.
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The child uses no SQLite connection: the lock is a file of its own.
    ::close(ready[0]);
    auto lock = first->TryLockServing();
    const char answer = lock.ok() && *lock != nullptr ? 'L' : 'F';
    if (::write(ready[1], &answer, 1) != 1) ::_exit(2);
    for (;;) ::pause();
  }
  ChildGuard child(pid);
  ::close(ready[1]);
  char answer = 0;
  REQUIRE(::read(ready[0], &answer, 1) == 1);
  ::close(ready[0]);
  REQUIRE(answer == 'L');
  RequireHeldElsewhere(*first);
  RequireHeldElsewhere(*backend.OpenSqlite());

  const auto killed_at = std::chrono::steady_clock::now();
  REQUIRE(::kill(child.Release(), SIGKILL) == 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(WTERMSIG(status) == SIGKILL);
  auto taken = first->TryLockServing();
  const auto elapsed = std::chrono::steady_clock::now() - killed_at;
  ENTITLE_REQUIRE_OK(taken);
  REQUIRE(taken->get() != nullptr);  // At once: no lease to wait out.
  CHECK(elapsed < std::chrono::milliseconds(100));
  taken->reset();

  // The lock file stays, with its mode.
  REQUIRE(std::filesystem::exists(lock_file));
  CHECK(ModeOf(lock_file) == 0600);
}

// clang-format off
TEST_CASE("ACT-3 the serving lock file is owner-only whatever the umask, and an existing one keeps its mode", "[store][sqlite][serving]") {
  // clang-format on
  SqliteBackend backend;
  std::unique_ptr<SqliteStore> store;
  {
    ScopedUmask umask(0000);
    store = backend.OpenSqlite();
  }
  const std::string lock_file = LockFileOf(backend);
  {
    // A umask that would leave the owner unable to write it.
    ScopedUmask umask(0277);
    MustLock(*store).reset();
  }
  CHECK(ModeOf(lock_file) == 0600);
  // A host that shares the lock with its group on purpose.
  REQUIRE(::chmod(lock_file.c_str(), 0660) == 0);
  {
    ScopedUmask umask(0000);
    MustLock(*store).reset();
  }
  CHECK(ModeOf(lock_file) == 0660);
}

// clang-format off
TEST_CASE("ACT-3 the serving lock is the same through a symbolic link to the database, and never taken through one at its own name", "[store][sqlite][serving]") {
  // clang-format on
  SqliteBackend backend;
  std::unique_ptr<SqliteStore> store = backend.OpenSqlite();
  const std::string alias = backend.dir() + "/alias.db";
  std::filesystem::create_symlink(backend.path(), alias);
  auto aliased = SqliteStore::Open(alias);
  ENTITLE_REQUIRE_OK(aliased);
  {
    std::unique_ptr<ServingLock> held = MustLock(*store);
    RequireHeldElsewhere(**aliased);
  }
  {
    std::unique_ptr<ServingLock> held = MustLock(**aliased);
    RequireHeldElsewhere(*store);
  }
  REQUIRE_FALSE(std::filesystem::exists(alias + "-serving"));

  // A link at the lock file's own name, pointing nowhere or at a file.
  SqliteBackend other;
  std::unique_ptr<SqliteStore> victim = other.OpenSqlite();
  const std::string target = other.dir() + "/elsewhere";
  std::filesystem::create_symlink(target, LockFileOf(other));
  ENTITLE_REQUIRE_REFUSED(victim->TryLockServing(), StatusCode::kUnavailable,
                          Reason::kStoreUnavailable);
  CHECK_FALSE(std::filesystem::exists(target));
  { std::ofstream touch(target); }
  ENTITLE_REQUIRE_REFUSED(victim->TryLockServing(), StatusCode::kUnavailable,
                          Reason::kStoreUnavailable);
}

// clang-format off
TEST_CASE("ACT-3 a store without a file has no serving lock", "[store][serving]") {
  // clang-format on
  MemoryStore memory;
  CHECK_FALSE(memory.has_serving_lock());
  ENTITLE_REQUIRE_REFUSED(memory.TryLockServing(), StatusCode::kUnimplemented,
                          Reason::kInvalidArgument);
  for (const char* path : {":memory:", ""}) {
    INFO("path '" << path << "'");
    auto store = SqliteStore::Open(path);
    ENTITLE_REQUIRE_OK(store);
    CHECK_FALSE((*store)->has_serving_lock());
    ENTITLE_REQUIRE_REFUSED((*store)->TryLockServing(),
                            StatusCode::kUnimplemented,
                            Reason::kInvalidArgument);
  }
}

// ============================================================== migration 6

// A raw statement on the file, as another program would write it; returns
// SQLite's result code.
int RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) ==
          SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  sqlite3_close(db);
  return rc;
}

// The first column of the first row of `sql`, as text.
std::string RawOne(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
          SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  const int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr);
  std::string out;
  if (rc == SQLITE_OK && sqlite3_step(statement) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(statement, 0);
    if (text != nullptr) out = reinterpret_cast<const char*>(text);
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);
  INFO(sql);
  REQUIRE(rc == SQLITE_OK);
  return out;
}

// clang-format off
TEST_CASE("ACT-1 migration 6 brings a schema-5 file forward", "[store][sqlite][migration]") {
  // clang-format on
  SqliteBackend backend;
  WriteSchemaFile(
      backend.path(), 5,
      "INSERT INTO organizations (id, name, discoverable, "
      "auto_approve_domain_joins, federation_provider, maintenance_until, "
      "created_at) VALUES (10, 'Org Ten', 0, 0, '', NULL, 0);"
      "INSERT INTO identities (id, email, pending_email, display_name, "
      "country, language, verified, locked, profile_complete, "
      "password_hash, federated_subject, created_at, last_login_at) VALUES "
      "(100, 'ada@example.com', NULL, 'Ada', '', '', 1, 0, 1, '', '', 0, "
      "NULL);"
      "INSERT INTO entitlements (id, organization_id, sku, seats, "
      "period_start, period_end, countries, created_at, kind) VALUES "
      "(6, 10, 'CAD-PRO', 5, 0, 1, '', 0, 'floating');"
      "INSERT INTO pool_grants (id, entitlement_id, identity_id, group_id, "
      "granted_at, denied) VALUES (7, 6, 100, NULL, 0, 1);");
  REQUIRE(RawOne(backend.path(),
                 "SELECT count(*) FROM sqlite_master WHERE name IN "
                 "('activations', 'serving_claims', 'feed_events')") == "0");

  std::unique_ptr<Store> store = backend.Open();
  REQUIRE(RawOne(backend.path(), "PRAGMA user_version") == "6");
  REQUIRE(RawOne(backend.path(), "PRAGMA integrity_check") == "ok");
  REQUIRE(RawOne(backend.path(),
                 "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                 "name IN ('activations', 'serving_claims', 'feed_events')") ==
          "3");

  // The data of schema 5 is kept.
  {
    auto txn = BeginRead(*store);
    auto ada = txn->identities().Get(IdentityId(100));
    ENTITLE_REQUIRE_OK(ada);
    REQUIRE(ada->email == E("ada@example.com"));
    auto org = txn->organizations().Get(OrganizationId(10));
    ENTITLE_REQUIRE_OK(org);
    REQUIRE(org->name == "Org Ten");
    auto cad = txn->entitlements().Get(EntitlementId(6));
    ENTITLE_REQUIRE_OK(cad);
    REQUIRE(cad->sku == "CAD-PRO");
    auto grant = txn->pool_grants().Get(PoolGrantId(7));
    ENTITLE_REQUIRE_OK(grant);
    REQUIRE(grant->denied);
    MustCommit(*txn);
  }

  // The new tables work, and survive a reopen.
  ActivationRecord open =
      MakeActivation(EntitlementId(6), OrganizationId(10), IdentityId(100));
  ActivationRecord session =
      Ended(MakeActivation(EntitlementId(6), OrganizationId(10),
                           IdentityId(100), "device-2", 1),
            ActivationEnd::kPeriodEnded, At(90));
  const ServingClaimRecord claim = MakeServingClaim();
  FeedEventRecord event =
      MakeFeedEvent(FeedEventKind::kCheckout, OrganizationId(10));
  event.entitlement_id = EntitlementId(6);
  {
    auto txn = BeginWrite(*store);
    open.id = MustInsert(txn->activations(), open);
    session.id = MustInsert(txn->activations(), session);
    MustInsert(txn->serving_claims(), claim);
    event.id = MustInsert(txn->feed_events(), event);
    ENTITLE_REQUIRE_REFUSED(
        txn->activations().Insert(MakeActivation(
            EntitlementId(6), OrganizationId(10), IdentityId(101))),
        StatusCode::kFailedPrecondition, Reason::kMissingReference);
    MustCommit(*txn);
  }
  store.reset();
  store = backend.Open();
  RequireSelects<ActivationRecord>(*store, {}, {open, session});
  RequireSelects<ActivationRecord>(*store, {.end_reason = ActivationEnd::kOpen},
                                   {open});
  RequireSelects<ServingClaimRecord>(*store, {}, {claim});
  RequireSelects<FeedEventRecord>(*store, {}, {event});
  REQUIRE(RawOne(backend.path(),
                 "SELECT end_reason FROM activations WHERE id = " +
                     std::to_string(session.id.value())) == "period-ended");

  // The file itself refuses an activation whose state and end time disagree.
  const std::string columns =
      "INSERT INTO activations (entitlement_id, organization_id, identity_id, "
      "device_id, seat, since, last_heartbeat, expires_at, end_reason, "
      "ended_at, epoch) VALUES (6, 10, 100, 'raw', 3, 0, 0, 0, ";
  CHECK((RawExec(backend.path(), columns + "'open', 5, 1)") & 0xff) ==
        SQLITE_CONSTRAINT);
  CHECK((RawExec(backend.path(), columns + "'released', NULL, 1)") & 0xff) ==
        SQLITE_CONSTRAINT);
  CHECK((RawExec(backend.path(), columns + "'gone', 5, 1)") & 0xff) ==
        SQLITE_CONSTRAINT);
  CHECK((RawExec(backend.path(), columns + "'open', NULL, 1)")) == SQLITE_OK);
  CHECK((RawExec(backend.path(), columns + "'released', 5, 1)")) == SQLITE_OK);
  REQUIRE(RawOne(backend.path(), "SELECT count(*) FROM activations") == "4");
}

}  // namespace
}  // namespace entitle_test
