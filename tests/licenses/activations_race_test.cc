// ACT-2 under concurrency: threads check out, heartbeat and release while
// the writer flushes every millisecond and another thread flushes and
// force-releases; once traffic stops and a last flush ran, the store's open
// activations are exactly the pool's holders (key, seat, lease end), and no
// seat is named twice. Run under ThreadSanitizer by scripts/test.
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "entitle/directory.h"
#include "entitle/licenses.h"
#include "fixtures/directory_fixture.h"

namespace {

using entitle::ActivationEnd;
using entitle::ActivationFilter;
using entitle::ActivationRecord;
using entitle::DeviceId;
using entitle::DirectoryOptions;
using entitle::EntitlementKind;
using entitle::EntitlementTerms;
using entitle::IdentityId;
using entitle::PoolMember;
using entitle::SeatHolder;
using entitle_test::As;
using entitle_test::DirectoryFixture;
using entitle_test::kOp;

DirectoryOptions Racing() {
  DirectoryOptions options;
  options.license_policy.activation_flush_interval = absl::Milliseconds(1);
  options.license_policy.serving_claim_lease = absl::Seconds(30);
  return options;
}

}  // namespace

// clang-format off
TEMPLATE_TEST_CASE("ACT-2 activations written behind concurrent checkouts, heartbeats, releases and force releases end equal to the pools' holders",
    "[activations][concurrency]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f(Racing());
  auto [acme, ann] = f.FoundOrg("Acme", "ann@acme.com", "acme.com");
  std::vector<IdentityId> members;
  for (int i = 0; i < 6; ++i) {
    members.push_back(
        f.Employee(acme, ann, "m" + std::to_string(i) + "@acme.com"));
  }
  auto pool = f.lic().CreateEntitlement(
      kOp, acme,
      EntitlementTerms{.sku = "CAD",
                       .kind = EntitlementKind::kFloating,
                       .seats = 8,
                       .period_start = f.Now(),
                       .period_end = f.Now() + absl::Hours(24)});
  ENTITLE_REQUIRE_OK(pool);
  for (IdentityId id : members) {
    ENTITLE_REQUIRE_OK(
        f.lic().GrantPoolAccess(As(ann), pool->id, PoolMember{.identity = id}));
  }
  ENTITLE_REQUIRE_OK(f.lic().Serve());

  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  // Each thread owns its members' keys: a key is never used by two threads.
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 random(static_cast<uint32_t>(t) + 1);
      for (int i = 0; i < 600; ++i) {
        const IdentityId who = members[static_cast<size_t>(
            2 * t + static_cast<int>(random() % 2))];
        const DeviceId device("d" + std::to_string(random() % 3));
        switch (random() % 3) {
          case 0:
            (void)f.lic().Checkout(who, "CAD", device);
            break;
          case 1:
            (void)f.lic().Heartbeat(who, pool->id, device);
            break;
          default:
            (void)f.lic().Release(who, pool->id, device);
        }
      }
    });
  }
  std::thread admin([&] {
    std::mt19937 random(99);
    while (!stop.load()) {
      (void)f.lic().FlushActivations();
      const IdentityId who = members[random() % members.size()];
      (void)f.lic().ForceRelease(As(ann), pool->id, who,
                                 DeviceId("d" + std::to_string(random() % 3)));
      std::this_thread::yield();
    }
  });
  for (std::thread& thread : threads) thread.join();
  stop = true;
  admin.join();
  ENTITLE_REQUIRE_OK(f.lic().FlushActivations());

  auto holders = f.lic().Holders(kOp, pool->id);
  ENTITLE_REQUIRE_OK(holders);
  std::map<std::pair<IdentityId, DeviceId>, std::pair<int64_t, absl::Time>>
      in_pool;
  for (const SeatHolder& h : *holders) {
    in_pool[{h.key.identity, h.key.device}] = {h.handle.index, h.expires_at};
  }
  auto tx = entitle_test::Begin(f.store(), entitle::TransactionMode::kRead);
  const std::vector<ActivationRecord> open = entitle_test::ListAll(
      tx->activations(), ActivationFilter{.end_reason = ActivationEnd::kOpen});
  std::map<std::pair<IdentityId, DeviceId>, std::pair<int64_t, absl::Time>>
      in_store;
  std::set<int64_t> seats;
  for (const ActivationRecord& a : open) {
    CHECK(seats.insert(a.seat).second);  // No seat named twice.
    CHECK(in_store
              .emplace(std::pair{a.identity_id, a.device_id},
                       std::pair{a.seat, a.expires_at})
              .second);
  }
  CHECK(in_store == in_pool);
  CHECK(open.size() <= 8);
  // Every ended activation has a reason and an end.
  for (const ActivationRecord& a : entitle_test::ListAll(tx->activations())) {
    CHECK((a.end_reason == ActivationEnd::kOpen) != a.ended_at.has_value());
  }
}
