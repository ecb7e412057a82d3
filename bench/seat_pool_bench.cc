// The seat pool against honest baselines (figures in the README, "Seats on
// the hot path"):
//   AcquireRelease/lockfree        entitle::SeatPoolCore
//   AcquireRelease/mutex_bitmap    std::mutex over a bitmap with a hint
//   AcquireRelease/mutex_stack     std::mutex over a stack of free indexes
//   AcquireRelease/atomic_counter  fetch_add/fetch_sub only: the floor
// each at seats 64, 4096, 1048576 and fill 0, 50, 99 (the percentage of seats
// held by others before timing starts), on 1 and 2 threads; then
//   Heartbeat/lockfree at 4096 seats, 50% full;
//   Reap/lockfree at 1048576 seats with 1000 or 100000 expired;
//   Checkout/service at 4096 seats, 50% full: the whole checkout path of the
//     services layer (Licenses::Checkout's access check from the in-memory
//     view, then the seat; Licenses::Release) over a Directory on a SQLite
//     file, on 1 and 2 threads; compare with AcquireRelease/lockfree at the
//     same size for the cost of the access check and the (identity, device)
//     key map. persist:0 keeps the seats in memory only
//     (LicensePolicy::persist_activations false); persist:1 also notes each
//     change for the activations the writer thread flushes behind the path
//     (ACT-2, default 1 s interval): the first checkout of the setup takes
//     the serving claim, and the Directory's destructor flushes and gives it
//     up.
// Run: build/release/bench/seat_pool_bench
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "entitle/actor.h"
#include "entitle/directory.h"
#include "entitle/email.h"
#include "entitle/ids.h"
#include "entitle/licenses.h"
#include "entitle/notifier.h"
#include "entitle/password_hasher.h"
#include "entitle/seat_pool.h"
#include "entitle/sqlite_store.h"

namespace {

const absl::Time kEpoch = absl::FromUnixSeconds(1767225600);
const absl::Duration kLease = absl::Hours(3);

uint32_t Held(const benchmark::State& state) {
  const auto seats = static_cast<uint64_t>(state.range(0));
  return static_cast<uint32_t>(seats * state.range(1) / 100);
}

// ------------------------------------------------------------- baselines

class MutexBitmap {
 public:
  explicit MutexBitmap(uint32_t seats)
      : seats_(seats), words_((seats + 63) / 64, ~uint64_t{0}) {
    if (seats % 64 != 0) words_.back() = (uint64_t{1} << (seats % 64)) - 1;
  }
  std::optional<uint32_t> Acquire() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t n = 0; n < words_.size(); ++n) {
      const size_t w = (hint_ + n) % words_.size();
      if (words_[w] != 0) {
        const int bit = std::countr_zero(words_[w]);
        words_[w] &= words_[w] - 1;
        hint_ = w;
        return static_cast<uint32_t>(w * 64 + bit);
      }
    }
    return std::nullopt;
  }
  void Release(uint32_t seat) {
    std::lock_guard<std::mutex> lock(mutex_);
    words_[seat / 64] |= uint64_t{1} << (seat % 64);
    hint_ = seat / 64;
  }

 private:
  std::mutex mutex_;
  uint32_t seats_;
  std::vector<uint64_t> words_;
  size_t hint_ = 0;
};

class MutexStack {
 public:
  explicit MutexStack(uint32_t seats) {
    free_.reserve(seats);
    for (uint32_t i = seats; i > 0; --i) free_.push_back(i - 1);
  }
  std::optional<uint32_t> Acquire() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (free_.empty()) return std::nullopt;
    const uint32_t seat = free_.back();
    free_.pop_back();
    return seat;
  }
  void Release(uint32_t seat) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(seat);
  }

 private:
  std::mutex mutex_;
  std::vector<uint32_t> free_;
};

class AtomicCounter {
 public:
  explicit AtomicCounter(uint32_t seats) : seats_(seats) {}
  std::optional<uint32_t> Acquire() {
    if (used_.fetch_add(1, std::memory_order_acq_rel) >= seats_) {
      used_.fetch_sub(1, std::memory_order_acq_rel);
      return std::nullopt;
    }
    return 0;
  }
  void Release(uint32_t) { used_.fetch_sub(1, std::memory_order_acq_rel); }

 private:
  alignas(64) std::atomic<uint32_t> used_{0};
  const uint32_t seats_;
};

// The lock-free pool behind the same two calls.
class LockFree {
 public:
  explicit LockFree(uint32_t seats) : pool_(seats, kLease, kEpoch) {}
  std::optional<entitle::SeatHandle> Acquire() { return pool_.Acquire(kNow); }
  void Release(entitle::SeatHandle handle) { pool_.Release(handle); }

 private:
  static inline const absl::Time kNow = kEpoch + absl::Minutes(1);
  entitle::SeatPoolCore pool_;
};

// One pool shared by the benchmark's threads, made by thread 0 before the
// timed loop (Google Benchmark starts all threads' loops together).
template <typename Pool>
std::unique_ptr<Pool>& Shared() {
  static std::unique_ptr<Pool> pool;
  return pool;
}

template <typename Pool>
void AcquireRelease(benchmark::State& state) {
  if (state.thread_index() == 0) {
    Shared<Pool>() =
        std::make_unique<Pool>(static_cast<uint32_t>(state.range(0)));
    for (uint32_t i = 0; i < Held(state); ++i) Shared<Pool>()->Acquire();
  }
  int64_t refused = 0;
  for (auto _ : state) {
    Pool& pool = *Shared<Pool>();
    auto seat = pool.Acquire();
    // At 99% full the threads may meet the last seat taken: try again.
    while (!seat.has_value()) {
      ++refused;
      seat = pool.Acquire();
    }
    benchmark::DoNotOptimize(seat);
    pool.Release(*seat);
  }
  state.counters["refused"] = benchmark::Counter(
      static_cast<double>(refused), benchmark::Counter::kAvgThreads);
  if (state.thread_index() == 0) Shared<Pool>().reset();
}

void AcquireReleaseArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"seats", "fill"});
  for (int64_t seats : {64, 4096, 1048576}) {
    for (int64_t fill : {0, 50, 99}) b->Args({seats, fill});
  }
  b->Threads(1)->Threads(2)->UseRealTime();
}

// ------------------------------------------------------------- heartbeat

void Heartbeat(benchmark::State& state) {
  using Pool = entitle::SeatPoolCore;
  if (state.thread_index() == 0) {
    Shared<Pool>() = std::make_unique<Pool>(
        static_cast<uint32_t>(state.range(0)), kLease, kEpoch);
    for (uint32_t i = 0; i < Held(state); ++i) Shared<Pool>()->Acquire(kEpoch);
  }
  // Each thread heartbeats a seat of its own.
  std::optional<entitle::SeatHandle> mine;
  absl::Time now = kEpoch;
  for (auto _ : state) {
    if (!mine.has_value()) mine = Shared<Pool>()->Acquire(now);
    now += absl::Milliseconds(1);
    benchmark::DoNotOptimize(Shared<Pool>()->Heartbeat(*mine, now));
  }
  if (state.thread_index() == 0) Shared<Pool>().reset();
}

// ------------------------------------------------------------- reap

// Each iteration: a full pool of which `expired` seats' leases ran out; the
// timed part is the one Reap that reclaims them.
void Reap(benchmark::State& state) {
  const auto seats = static_cast<uint32_t>(state.range(0));
  const auto expired = static_cast<uint32_t>(state.range(1));
  size_t reclaimed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto pool = std::make_unique<entitle::SeatPoolCore>(seats, kLease, kEpoch);
    for (uint32_t i = 0; i < expired; ++i) pool->Acquire(kEpoch);
    // The others were reserved later; their leases still run.
    for (uint32_t i = expired; i < seats; ++i)
      pool->Acquire(kEpoch + kLease / 2);
    // Deadlines round up to the pool's resolution; this is just past them.
    const absl::Time now = kEpoch + kLease + pool->resolution();
    state.ResumeTiming();
    reclaimed += pool->Reap(now);
    state.PauseTiming();
    pool.reset();
    state.ResumeTiming();
  }
  if (reclaimed != size_t{expired} * state.iterations()) {
    state.SkipWithError("Reap did not reclaim exactly the expired seats");
  }
}

// ------------------------------------------------------------- service

// A Directory over a SQLite file in a temporary directory: an organization
// with a floating entitlement of `seats` seats, a group with access to it,
// and in the group: the holders of the `fill`% seats held before timing
// (64 devices each), and one identity per benchmark thread.
class ServiceSetup {
 public:
  static constexpr const char* kSku = "BENCH-FLOAT";
  static constexpr uint32_t kDevicesPerHolder = 64;

  // Fails with the first error, as text; `error` stays empty on success.
  ServiceSetup(uint32_t seats, uint32_t held, int threads, bool persist)
      : hasher_(entitle::Argon2idParams::MinimumForTests()) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "entitle-bench-XXXXXX")
            .string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      error = "mkdtemp failed";
      return;
    }
    dir_ = tmpl;
    entitle::SqliteOptions sqlite;
    sqlite.synchronous_full = false;  // Setup writes; the timed loop reads.
    auto store = entitle::SqliteStore::Open(
        (std::filesystem::path(dir_) / "bench.db").string(), sqlite);
    if (!Ok(store.status(), "open")) return;
    store_ = std::move(*store);
    entitle::DirectoryOptions options;
    options.hasher = &hasher_;  // SystemClock, default notifier and events.
    options.license_policy.persist_activations = persist;
    directory_ = std::make_unique<entitle::Directory>(*store_, options);
    Build(seats, held, threads);
  }
  ~ServiceSetup() {
    directory_.reset();
    store_.reset();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  entitle::Licenses& licenses() { return directory_->licenses(); }

  std::string error;
  entitle::EntitlementId entitlement;
  std::vector<entitle::IdentityId> users;  // One per benchmark thread.

 private:
  bool Ok(const absl::Status& status, const char* what) {
    if (status.ok()) return true;
    if (error.empty()) error = absl::StrCat(what, ": ", status.ToString());
    return false;
  }

  // Registers `name`@bench.example and verifies it with the link it got.
  std::optional<entitle::IdentityId> Person(const std::string& name) {
    const std::string email = absl::StrCat(name, "@bench.example");
    auto id =
        directory_->identities().Register(entitle::Actor::Operator(), email);
    if (!Ok(id.status(), "register")) return std::nullopt;
    auto address = entitle::Email::Parse(email);
    if (!Ok(address.status(), "email")) return std::nullopt;
    auto link = directory_->default_notifier()->Last(*address, "verify-email");
    if (!link.has_value()) {
      error = "no verification link";
      return std::nullopt;
    }
    if (!Ok(directory_->identities().CompleteVerification(link->token,
                                                          "Bench-pass-1"),
            "verify")) {
      return std::nullopt;
    }
    return *id;
  }

  bool Member(entitle::OrganizationId org, entitle::GroupId group,
              const std::string& name, entitle::IdentityId id) {
    const entitle::Actor op = entitle::Actor::Operator();
    return Ok(directory_->organizations().AddExternal(
                  op, org, absl::StrCat(name, "@bench.example")),
              "add member") &&
           Ok(directory_->organizations().AddToGroup(op, org, group, id),
              "add to group");
  }

  void Build(uint32_t seats, uint32_t held, int threads) {
    const entitle::Actor op = entitle::Actor::Operator();
    std::optional<entitle::IdentityId> admin = Person("admin");
    if (!admin) return;
    auto org = directory_->organizations().Create(op, "Bench", *admin);
    if (!Ok(org.status(), "organization")) return;
    auto group = directory_->organizations().CreateGroup(op, *org, "Users");
    if (!Ok(group.status(), "group")) return;
    entitle::EntitlementTerms terms;
    terms.sku = kSku;
    terms.kind = entitle::EntitlementKind::kFloating;
    terms.seats = seats;
    terms.period_start = absl::Now() - absl::Hours(24);
    terms.period_end = absl::Now() + absl::Hours(24 * 365);
    auto made = licenses().CreateEntitlement(op, *org, terms);
    if (!Ok(made.status(), "entitlement")) return;
    entitlement = made->id;
    entitle::PoolMember member;
    member.group = *group;
    if (!Ok(licenses().GrantPoolAccess(op, entitlement, member).status(),
            "pool access")) {
      return;
    }
    // The seats held by others: (holder, device) keys, 64 per holder.
    const uint32_t holders = (held + kDevicesPerHolder - 1) / kDevicesPerHolder;
    uint32_t taken = 0;
    for (uint32_t h = 0; h < holders; ++h) {
      const std::string name = absl::StrCat("holder", h);
      std::optional<entitle::IdentityId> id = Person(name);
      if (!id || !Member(*org, *group, name, *id)) return;
      for (uint32_t d = 0; d < kDevicesPerHolder && taken < held;
           ++d, ++taken) {
        const entitle::DeviceId device(absl::StrCat("holder-device-", d));
        if (!Ok(licenses().Checkout(*id, kSku, device).status(), "fill")) {
          return;
        }
      }
    }
    auto holders_now = licenses().Holders(op, entitlement);
    if (!Ok(holders_now.status(), "holders")) return;
    if (holders_now->size() != held) {
      error = "the pool does not hold the fill before timing";
      return;
    }
    for (int t = 0; t < threads; ++t) {
      const std::string name = absl::StrCat("user", t);
      std::optional<entitle::IdentityId> id = Person(name);
      if (!id || !Member(*org, *group, name, *id)) return;
      users.push_back(*id);
    }
  }

  std::string dir_;
  entitle::Argon2idHasher hasher_;
  std::unique_ptr<entitle::SqliteStore> store_;
  std::unique_ptr<entitle::Directory> directory_;
};

// Each iteration: Checkout (access check, then a seat for this thread's
// identity on its device) and Release.
void CheckoutService(benchmark::State& state) {
  if (state.thread_index() == 0) {
    Shared<ServiceSetup>() = std::make_unique<ServiceSetup>(
        static_cast<uint32_t>(state.range(0)), Held(state), state.threads(),
        state.range(2) != 0);
  }
  const entitle::DeviceId device("bench-device");
  const std::string sku = ServiceSetup::kSku;
  for (auto _ : state) {
    ServiceSetup& setup = *Shared<ServiceSetup>();
    if (!setup.error.empty()) {
      state.SkipWithError(setup.error.c_str());
      break;
    }
    const entitle::IdentityId user =
        setup.users[static_cast<size_t>(state.thread_index())];
    auto lease = setup.licenses().Checkout(user, sku, device);
    if (!lease.ok()) {
      state.SkipWithError("Checkout failed");
      break;
    }
    benchmark::DoNotOptimize(lease);
    if (!setup.licenses().Release(user, setup.entitlement, device).ok()) {
      state.SkipWithError("Release failed");
      break;
    }
  }
  if (state.thread_index() == 0) Shared<ServiceSetup>().reset();
}

}  // namespace

BENCHMARK_TEMPLATE(AcquireRelease, LockFree)
    ->Name("AcquireRelease/lockfree")
    ->Apply(AcquireReleaseArgs);
BENCHMARK_TEMPLATE(AcquireRelease, MutexBitmap)
    ->Name("AcquireRelease/mutex_bitmap")
    ->Apply(AcquireReleaseArgs);
BENCHMARK_TEMPLATE(AcquireRelease, MutexStack)
    ->Name("AcquireRelease/mutex_stack")
    ->Apply(AcquireReleaseArgs);
BENCHMARK_TEMPLATE(AcquireRelease, AtomicCounter)
    ->Name("AcquireRelease/atomic_counter")
    ->Apply(AcquireReleaseArgs);
BENCHMARK(Heartbeat)
    ->Name("Heartbeat/lockfree")
    ->ArgNames({"seats", "fill"})
    ->Args({4096, 50})
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
BENCHMARK(Reap)
    ->Name("Reap/lockfree")
    ->ArgNames({"seats", "expired"})
    ->Args({1048576, 1000})
    ->Args({1048576, 100000})
    ->Iterations(20)
    ->UseRealTime();
BENCHMARK(CheckoutService)
    ->Name("Checkout/service")
    ->ArgNames({"seats", "fill", "persist"})
    ->Args({4096, 50, 0})
    ->Args({4096, 50, 1})
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
