// The licenses checkout path under concurrency (run under ThreadSanitizer in
// CI): members check out, heartbeat and release seats of one pool on several
// threads while an admin thread changes the seat count (growing the pool past
// its capacity, lowering it below use), records usage and reads the views.
// Throughout, the seats held never exceed the largest seat count ever set;
// at the end every seat is back and the views agree.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "entitle/directory.h"
#include "entitle/licenses.h"
#include "entitle/organizations.h"
#include "entitle/status.h"
#include "fixtures/directory_fixture.h"
#include "fixtures/store_fixtures.h"

namespace entitle_test {
namespace {

using namespace entitle;

// The floating pool the workers check out of.
EntitlementTerms Pool(int64_t seats) { return Floating("SIM-FLOAT", seats); }

// clang-format off
TEMPLATE_TEST_CASE("ENT-3 concurrent checkouts never hold more seats than were "
                   "bought while the seat count changes",
    "[licenses][concurrency]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId ada = f.RegisterVerified("ada@acme.com");
  const OrganizationId org = f.CreateOrg("Acme", ada);
  Licenses& licenses = f.directory().licenses();
  auto entitlement = licenses.CreateEntitlement(kOp, org, Pool(3));
  ENTITLE_REQUIRE_OK(entitlement);
  auto group = f.orgs().CreateGroup(Actor::Identity(ada), org, "Everyone");
  ENTITLE_REQUIRE_OK(group);
  ENTITLE_REQUIRE_OK(licenses.GrantPoolAccess(
      Actor::Identity(ada), entitlement->id, PoolMember{.group = *group}));
  constexpr int kWorkers = 5;
  constexpr int64_t kMostSeats = 6;
  std::vector<IdentityId> members;
  for (int i = 0; i < kWorkers; ++i) {
    const std::string email = "m" + std::to_string(i) + "@example.com";
    IdentityId id = f.RegisterVerified(email);
    ENTITLE_REQUIRE_OK(f.orgs().AddExternal(kOp, org, email));
    ENTITLE_REQUIRE_OK(
        f.orgs().AddToGroup(Actor::Identity(ada), org, *group, id));
    members.push_back(id);
  }

  std::atomic<int> held{0};
  std::atomic<int> most_held{0};
  std::atomic<int> unexpected{0};
  std::atomic<bool> stop{false};
  std::atomic<int> granted{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      const DeviceId device("device-" + std::to_string(w));
      while (!stop.load()) {
        auto lease = licenses.Checkout(members[w], "SIM-FLOAT", device);
        if (!lease.ok()) {
          if (GetReason(lease.status()) == Reason::kSeatsExhausted) {
            ++refused;
          } else {
            ++unexpected;
          }
          continue;
        }
        ++granted;
        const int now_held = held.fetch_add(1) + 1;
        int seen = most_held.load();
        while (now_held > seen &&
               !most_held.compare_exchange_weak(seen, now_held)) {
        }
        auto beat = licenses.Heartbeat(members[w], entitlement->id, device);
        if (!beat.ok() && GetReason(beat.status()) != Reason::kSeatsExhausted) {
          ++unexpected;
        }
        held.fetch_sub(1);
        absl::Status released =
            licenses.Release(members[w], entitlement->id, device);
        if (!released.ok() && GetReason(released) != Reason::kSeatNotHeld) {
          ++unexpected;
        }
      }
    });
  }
  threads.emplace_back([&] {
    const int64_t counts[] = {6, 2, 4, 1, 5, 3};
    for (int i = 0; i < 40; ++i) {
      if (!licenses.ChangeEntitlement(kOp, entitlement->id, Pool(counts[i % 6]))
               .ok()) {
        ++unexpected;
      }
      if (!licenses.RecordUsage().ok()) ++unexpected;
      if (!licenses.Holders(kOp, entitlement->id).ok()) ++unexpected;
      if (!licenses.Usage(kOp, org, absl::Hours(1)).ok()) ++unexpected;
      std::this_thread::yield();
    }
    stop = true;
  });
  for (std::thread& thread : threads) thread.join();

  REQUIRE(unexpected.load() == 0);
  INFO("granted " << granted.load() << ", refused " << refused.load());
  REQUIRE(granted.load() > 0);
  REQUIRE(most_held.load() <= kMostSeats);
  auto holders = licenses.Holders(kOp, entitlement->id);
  ENTITLE_REQUIRE_OK(holders);
  REQUIRE(holders->empty());
  auto usage = licenses.Usage(kOp, org, absl::Hours(1));
  ENTITLE_REQUIRE_OK(usage);
  REQUIRE(usage->size() == 1);
  REQUIRE(usage->front().in_use == 0);
  REQUIRE(usage->front().peak_in_use <= kMostSeats);
}

}  // namespace
}  // namespace entitle_test
