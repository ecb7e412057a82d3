// A mixed workload on one SQLite store and its seat pools, on several threads
// at once (run under ThreadSanitizer in CI): admins invite people as
// employees of two organizations (accepting moves them, ORG-2), add and
// remove external members, assign and unassign named licenses; people check
// out, heartbeat and release pool seats; a monitor reads the holders
// throughout. Every call may be refused by a rule, never fail otherwise.
// While it runs a pool never has more holders than seats; afterwards the
// records hold every invariant: one employer per identity, assignments within
// their seat count and only to members, pool seats only for members.
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "entitle/directory.h"
#include "entitle/invitations.h"
#include "entitle/licenses.h"
#include "entitle/organizations.h"
#include "entitle/status.h"
#include "fixtures/directory_fixture.h"
#include "fixtures/store_fixtures.h"

namespace entitle_test {
namespace {

using namespace entitle;

// A refusal by a rule carries a reason; anything else is a failure.
bool RefusedByRule(const absl::Status& status) {
  if (status.ok()) return true;
  const Reason reason = GetReason(status);
  return reason != Reason::kNone && reason != Reason::kStoreUnavailable &&
         reason != Reason::kStoreCorrupt &&
         reason != Reason::kTransactionFinished;
}

TEST_CASE(
    "Concurrency: mixed admin and seat operations on one SQLite store "
    "keep every invariant",
    "[concurrency]") {
  DirectoryFixture<SqliteBackend> f;
  const IdentityId ada = f.RegisterVerified("ada@acme.example");
  const IdentityId gil = f.RegisterVerified("gil@globex.example");
  const OrganizationId acme = f.CreateOrg("Acme", ada);
  const OrganizationId globex = f.CreateOrg("Globex", gil);
  const std::map<OrganizationId, IdentityId> admin_of = {{acme, ada},
                                                         {globex, gil}};
  Licenses& licenses = f.directory().licenses();
  constexpr int64_t kNamedSeats = 3;
  constexpr int64_t kPoolSeats = 4;
  auto named = licenses.CreateEntitlement(
      kOp, acme, Terms("CAD-NAMED", EntitlementKind::kNamed, kNamedSeats));
  ENTITLE_REQUIRE_OK(named);
  auto pool = licenses.CreateEntitlement(
      kOp, acme, Terms("CAD-POOL", EntitlementKind::kFloating, kPoolSeats));
  ENTITLE_REQUIRE_OK(pool);
  auto everyone = f.orgs().CreateGroup(kOp, acme, "Everyone");
  ENTITLE_REQUIRE_OK(everyone);
  ENTITLE_REQUIRE_OK(
      licenses.GrantPoolAccess(kOp, pool->id, PoolMember{.group = *everyone}));

  constexpr int kPeople = 10;
  std::vector<IdentityId> people;
  std::vector<std::string> emails;
  for (int i = 0; i < kPeople; ++i) {
    emails.push_back(absl::StrCat("p", i, "@partner.example"));
    people.push_back(f.RegisterVerified(emails.back()));
  }

  std::atomic<bool> stop{false};
  std::atomic<int64_t> operations{0};
  std::atomic<int64_t> unexpected{0};
  std::atomic<int64_t> most_holders{0};
  std::atomic<int64_t> succeeded[9] = {};  // per kind of operation (8: other)
  auto check = [&](const absl::Status& status, int op = 8) {
    operations.fetch_add(1, std::memory_order_relaxed);
    if (status.ok()) succeeded[op].fetch_add(1, std::memory_order_relaxed);
    if (!RefusedByRule(status)) {
      unexpected.fetch_add(1, std::memory_order_relaxed);
      UNSCOPED_INFO("unexpected failure: " << status.ToString());
    }
  };
  auto worker = [&](uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<std::pair<IdentityId, DeviceId>> checked_out;
    while (!stop.load(std::memory_order_relaxed)) {
      const int who = static_cast<int>(rng() % kPeople);
      const IdentityId person = people[who];
      const OrganizationId org = rng() % 2 == 0 ? acme : globex;
      const Actor admin = Actor::Identity(admin_of.at(org));
      switch (rng() % 8) {
        case 0: {  // Invite as an employee and accept: a move (ORG-2).
          auto sent = f.directory().invitations().Invite(
              admin, org, {emails[who]}, InvitationKind::kEmployee);
          check(sent.status());
          if (sent.ok() && sent->front().invitation.has_value()) {
            check(f.directory()
                      .invitations()
                      .AcceptById(Actor::Identity(person),
                                  *sent->front().invitation)
                      .status(),
                  0);
          }
          break;
        }
        case 1:
          check(f.orgs().AddExternal(admin, org, emails[who]), 1);
          break;
        case 2:
          check(f.orgs().RemoveMember(admin, org, person), 2);
          break;
        case 3:
          check(f.orgs().AddToGroup(kOp, acme, *everyone, person), 3);
          break;
        case 4:
          check(licenses.Assign(kOp, named->id, person), 4);
          break;
        case 5:
          check(licenses.Unassign(kOp, named->id, person), 5);
          break;
        case 6: {
          const DeviceId device(absl::StrCat("d", rng() % 2));
          auto lease = licenses.Checkout(person, "CAD-POOL", device);
          check(lease.status(), 6);
          if (lease.ok()) checked_out.emplace_back(person, device);
          if (lease.ok() && rng() % 2 == 0) {
            check(licenses.Heartbeat(person, pool->id, device).status());
          }
          break;
        }
        case 7: {  // Release a seat this thread took, if it is still held.
          if (checked_out.empty()) break;
          const size_t pick = rng() % checked_out.size();
          const auto [holder, device] = checked_out[pick];
          checked_out.erase(checked_out.begin() + pick);
          check(licenses.Release(holder, pool->id, device), 7);
          break;
        }
      }
    }
  };
  std::atomic<int64_t> monitor_failures{0};
  auto monitor = [&] {
    while (!stop.load(std::memory_order_relaxed)) {
      absl::SleepFor(absl::Milliseconds(1));
      auto holders = licenses.Holders(kOp, pool->id);
      if (!holders.ok()) monitor_failures.fetch_add(1);
      if (holders.ok()) {
        const int64_t n = static_cast<int64_t>(holders->size());
        int64_t seen = most_holders.load();
        while (n > seen && !most_holders.compare_exchange_weak(seen, n)) {
        }
      }
    }
  };

  std::vector<std::thread> threads;
  for (uint32_t i = 0; i < 4; ++i) threads.emplace_back(worker, 1000 + i);
  threads.emplace_back(monitor);
  // Bounded in time and in work: long enough for a few hundred operations
  // even under ThreadSanitizer on a loaded machine.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline &&
         operations.load(std::memory_order_relaxed) < 1500) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  stop.store(true);
  for (std::thread& t : threads) t.join();

  INFO(operations.load() << " operations");
  REQUIRE(operations.load() > 100);
  // Every kind of change happened at least once.
  for (int op = 0; op < 8; ++op) {
    INFO("operation kind " << op);
    CHECK(succeeded[op].load() > 0);
  }
  REQUIRE(unexpected.load() == 0);
  REQUIRE(monitor_failures.load() == 0);
  REQUIRE(most_holders.load() <= kPoolSeats);

  // The records after the storm.
  std::map<IdentityId, int> employers;
  std::set<std::pair<OrganizationId, IdentityId>> members;
  for (const MembershipRecord& m : f.All<MembershipRecord>()) {
    members.insert({m.organization_id, m.identity_id});
    if (m.kind == MembershipKind::kEmployee) ++employers[m.identity_id];
  }
  for (const auto& [identity, count] : employers) {
    INFO("identity " << identity);
    REQUIRE(count == 1);
  }
  const auto assigned = f.All<LicenseAssignmentRecord>(
      LicenseAssignmentFilter{.entitlement_id = named->id});
  REQUIRE(static_cast<int64_t>(assigned.size()) <= kNamedSeats);
  for (const LicenseAssignmentRecord& a : assigned) {
    INFO("assignment of " << a.identity_id);
    REQUIRE(members.count({acme, a.identity_id}) == 1);
  }
  for (const GroupMemberRecord& g : f.All<GroupMemberRecord>()) {
    INFO("group place of " << g.identity_id);
    REQUIRE(members.count({acme, g.identity_id}) == 1);
  }
  auto holders = licenses.Holders(kOp, pool->id);
  ENTITLE_REQUIRE_OK(holders);
  REQUIRE(static_cast<int64_t>(holders->size()) <= kPoolSeats);
  // A seat outlives its holder's membership only until the holder's next
  // heartbeat (ENT-4); each heartbeat now must agree with the records.
  for (const SeatHolder& holder : *holders) {
    auto beat =
        licenses.Heartbeat(holder.key.identity, pool->id, holder.key.device);
    const bool member = members.count({acme, holder.key.identity}) == 1;
    INFO("holder " << holder.key.identity << " member " << member << ": "
                   << beat.status().ToString());
    if (!member) REQUIRE_REASON(beat, Reason::kNoLicense);
  }
}

}  // namespace
}  // namespace entitle_test
