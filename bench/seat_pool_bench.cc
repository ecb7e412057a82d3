// The seat pool against honest baselines (issue targets in the README's
// performance section):
//   AcquireRelease/lockfree        entitle::SeatPoolCore
//   AcquireRelease/mutex_bitmap    std::mutex over a bitmap with a hint
//   AcquireRelease/mutex_stack     std::mutex over a stack of free indexes
//   AcquireRelease/atomic_counter  fetch_add/fetch_sub only: the floor
// each at seats 64, 4096, 1048576 and fill 0, 50, 99 (the percentage of seats
// held by others before timing starts), on 1 and 2 threads; then
//   Heartbeat/lockfree at 4096 seats, 50% full;
//   Reap/lockfree at 1048576 seats with 1000 or 100000 expired.
// Run: build/release/bench/seat_pool_bench
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "entitle/seat_pool.h"

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
    Shared<Pool>() = std::make_unique<Pool>(static_cast<uint32_t>(state.range(0)));
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
    for (uint32_t i = expired; i < seats; ++i) pool->Acquire(kEpoch + kLease / 2);
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
