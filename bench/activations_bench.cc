// Activations (ACT-2, ACT-4) on a SQLite store opened with the default
// options (synchronous FULL):
//   Restart/100k  a store with 100,000 open activations over 1,000 floating
//                 pools; each iteration opens the store, makes a Directory
//                 and times until Licenses::Serve() returned (the claim
//                 taken and every pool rebuilt from the open activations):
//                 the time to serving after a restart. "restored/s" counts
//                 the activations given back per second.
//   Flush         10,000 checkouts of distinct (identity, device) keys over
//                 the same pools, then the one timed FlushActivations that
//                 writes them (one group commit). "activations/s" counts the
//                 activations written per second. The checkouts are released
//                 and flushed again, untimed, after each iteration.
// The store is built once per process in a temporary directory: the
// organization, the entitlements (128 seats each), 100 members with access
// to every pool through a group, all through the library; then the 100
// activations of each pool (member m on device "restored" at seat m) are
// inserted through store transactions, 10 pools a transaction.
// Run: build/release/bench/activations_bench
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/directory.h"
#include "entitle/email.h"
#include "entitle/ids.h"
#include "entitle/licenses.h"
#include "entitle/notifier.h"
#include "entitle/password_hasher.h"
#include "entitle/records.h"
#include "entitle/sqlite_store.h"
#include "entitle/store.h"

namespace {

constexpr int kPools = 1000;
constexpr int kMembers = 100;  // Each holds one seat of every pool.
constexpr int64_t kSeatsPerPool = 128;
constexpr int kFlushCheckouts = 10000;
constexpr const char* kSkuPrefix = "ACT-BENCH-";

// The store, built once per process.
class Fixture {
 public:
  static Fixture& Get() {
    static Fixture* fixture = new Fixture();
    return *fixture;
  }

  std::string error;
  std::string path;
  std::vector<entitle::IdentityId> members;
  std::vector<entitle::EntitlementId> pools;
  entitle::Argon2idHasher hasher{entitle::Argon2idParams::MinimumForTests()};

  // Open activations in the store, or -1 when it cannot be read.
  int64_t OpenActivations() {
    auto store = entitle::SqliteStore::Open(path);
    if (!store.ok()) return -1;
    auto tx = (*store)->Begin(entitle::TransactionMode::kRead);
    if (!tx.ok()) return -1;
    entitle::ActivationFilter filter;
    filter.end_reason = entitle::ActivationEnd::kOpen;
    auto n = (*tx)->activations().Count(filter);
    return n.ok() ? *n : -1;
  }

 private:
  Fixture() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "entitle-bench-XXXXXX")
            .string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      error = "mkdtemp failed";
      return;
    }
    path = (std::filesystem::path(tmpl) / "activations.db").string();
    Build();
  }

  bool Ok(const absl::Status& status, const char* what) {
    if (status.ok()) return true;
    if (error.empty()) error = absl::StrCat(what, ": ", status.ToString());
    return false;
  }

  std::optional<entitle::IdentityId> Person(entitle::Directory& directory,
                                            const std::string& name) {
    const std::string email = absl::StrCat(name, "@bench.example");
    auto id =
        directory.identities().Register(entitle::Actor::Operator(), email);
    if (!Ok(id.status(), "register")) return std::nullopt;
    auto address = entitle::Email::Parse(email);
    if (!Ok(address.status(), "email")) return std::nullopt;
    auto link = directory.default_notifier()->Last(*address, "verify-email");
    if (!link.has_value()) {
      error = "no verification link";
      return std::nullopt;
    }
    if (!Ok(directory.identities().CompleteVerification(link->token,
                                                        "Bench-pass-1"),
            "verify")) {
      return std::nullopt;
    }
    return *id;
  }

  void Build() {
    // Setup writes; only the timed parts need synchronous FULL.
    entitle::SqliteOptions fast;
    fast.synchronous_full = false;
    auto store = entitle::SqliteStore::Open(path, fast);
    if (!Ok(store.status(), "open")) return;
    entitle::DirectoryOptions options;
    options.hasher = &hasher;
    options.license_policy.persist_activations = false;
    {
      entitle::Directory directory(**store, options);
      const entitle::Actor op = entitle::Actor::Operator();
      std::optional<entitle::IdentityId> admin = Person(directory, "admin");
      if (!admin) return;
      auto org = directory.organizations().Create(op, "Bench", *admin);
      if (!Ok(org.status(), "organization")) return;
      auto group = directory.organizations().CreateGroup(op, *org, "Users");
      if (!Ok(group.status(), "group")) return;
      for (int m = 0; m < kMembers; ++m) {
        const std::string name = absl::StrCat("member", m);
        std::optional<entitle::IdentityId> id = Person(directory, name);
        if (!id) return;
        if (!Ok(directory.organizations().AddExternal(
                    op, *org, absl::StrCat(name, "@bench.example")),
                "add member") ||
            !Ok(directory.organizations().AddToGroup(op, *org, *group, *id),
                "add to group")) {
          return;
        }
        members.push_back(*id);
      }
      entitle::PoolMember member;
      member.group = *group;
      for (int p = 0; p < kPools; ++p) {
        entitle::EntitlementTerms terms;
        terms.sku = absl::StrCat(kSkuPrefix, p);
        terms.kind = entitle::EntitlementKind::kFloating;
        terms.seats = kSeatsPerPool;
        terms.period_start = absl::Now() - absl::Hours(24);
        terms.period_end = absl::Now() + absl::Hours(24 * 365);
        auto made = directory.licenses().CreateEntitlement(op, *org, terms);
        if (!Ok(made.status(), "entitlement")) return;
        if (!Ok(directory.licenses()
                    .GrantPoolAccess(op, made->id, member)
                    .status(),
                "pool access")) {
          return;
        }
        pools.push_back(made->id);
      }
      // The open activations: member m on device "restored" at seat m of
      // every pool, leases running for another two hours.
      const absl::Time now = absl::Now();
      for (int p0 = 0; p0 < kPools; p0 += 10) {
        auto tx = (*store)->Begin(entitle::TransactionMode::kWrite);
        if (!Ok(tx.status(), "begin")) return;
        for (int p = p0; p < p0 + 10 && p < kPools; ++p) {
          for (int m = 0; m < kMembers; ++m) {
            entitle::ActivationRecord a;
            a.entitlement_id = pools[static_cast<size_t>(p)];
            a.organization_id = *org;
            a.identity_id = members[static_cast<size_t>(m)];
            a.device_id = entitle::DeviceId("restored");
            a.seat = m;
            a.since = now - absl::Minutes(10);
            a.last_heartbeat = now - absl::Minutes(1);
            a.expires_at = now + absl::Hours(2);
            a.epoch = 0;
            if (!Ok((*tx)->activations().Insert(a).status(), "activation")) {
              return;
            }
          }
        }
        if (!Ok((*tx)->Commit(), "commit")) return;
      }
    }
    if (OpenActivations() != int64_t{kPools} * kMembers) {
      error = "the store does not hold the activations it was given";
    }
  }
};

entitle::DirectoryOptions Options(Fixture& fixture) {
  entitle::DirectoryOptions options;
  options.hasher = &fixture.hasher;
  options.license_policy.serving_holder = "activations-bench";
  return options;
}

// ---------------------------------------------------------------- restart

void Restart(benchmark::State& state) {
  Fixture& fixture = Fixture::Get();
  if (!fixture.error.empty()) {
    state.SkipWithError(fixture.error.c_str());
    return;
  }
  const int64_t expected = int64_t{kPools} * kMembers;
  for (auto _ : state) {
    auto store = entitle::SqliteStore::Open(fixture.path);  // Default: FULL.
    if (!store.ok()) {
      state.SkipWithError(store.status().ToString().c_str());
      break;
    }
    auto directory =
        std::make_unique<entitle::Directory>(**store, Options(fixture));
    absl::Status served = directory->licenses().Serve();
    if (!served.ok()) {
      state.SkipWithError(served.ToString().c_str());
      break;
    }
    state.PauseTiming();
    // Gives the claim up; the activations stay open for the next restart.
    directory.reset();
    store->reset();
    const int64_t open = fixture.OpenActivations();
    state.ResumeTiming();
    if (open != expected) {
      state.SkipWithError("a restart did not keep every activation open");
      break;
    }
  }
  state.counters["restored/s"] = benchmark::Counter(
      static_cast<double>(expected) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

// ------------------------------------------------------------------ flush

void Flush(benchmark::State& state) {
  Fixture& fixture = Fixture::Get();
  if (!fixture.error.empty()) {
    state.SkipWithError(fixture.error.c_str());
    return;
  }
  auto store = entitle::SqliteStore::Open(fixture.path);  // Default: FULL.
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  entitle::DirectoryOptions options = Options(fixture);
  // Only the timed FlushActivations writes (and the untimed one after it).
  options.license_policy.activation_flush_interval = absl::Minutes(20);
  options.license_policy.serving_claim_lease = absl::Hours(1);
  entitle::Directory directory(**store, options);
  entitle::Licenses& licenses = directory.licenses();
  if (absl::Status s = licenses.Serve(); !s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  // Key i: member i % 10 of pool i / 10 on device "flush".
  const entitle::DeviceId device("flush");
  auto key = [&](int i) {
    return std::make_pair(fixture.members[static_cast<size_t>(i % 10)],
                          static_cast<size_t>(i / 10 % kPools));
  };
  for (auto _ : state) {
    state.PauseTiming();
    bool failed = false;
    for (int i = 0; i < kFlushCheckouts && !failed; ++i) {
      auto [who, pool] = key(i);
      failed =
          !licenses.Checkout(who, absl::StrCat(kSkuPrefix, pool), device).ok();
    }
    if (failed) {
      state.SkipWithError("checkout failed");
      break;
    }
    state.ResumeTiming();
    absl::Status flushed = licenses.FlushActivations();
    state.PauseTiming();
    if (!flushed.ok()) {
      state.SkipWithError(flushed.ToString().c_str());
      break;
    }
    for (int i = 0; i < kFlushCheckouts && !failed; ++i) {
      auto [who, pool] = key(i);
      failed = !licenses.Release(who, fixture.pools[pool], device).ok();
    }
    if (failed || !licenses.FlushActivations().ok()) {
      state.SkipWithError("release failed");
      break;
    }
    state.ResumeTiming();
  }
  state.counters["activations/s"] =
      benchmark::Counter(static_cast<double>(kFlushCheckouts) *
                             static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(Restart)
    ->Name("Restart/100k")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->UseRealTime();
BENCHMARK(Flush)
    ->Name("Flush")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5)
    ->UseRealTime();
