// The seat pool under concurrency (seat_pool.h; SPEC ENT-3, ENT-4, ENT-5).
// Run under ThreadSanitizer in CI, on a 2-core machine: more threads than
// cores; every case stops after a fixed number of operations or a wall-time
// budget, whichever comes first.
//
// Workers hammer one pool with Acquire / Heartbeat / Release / Inspect while a
// clock thread moves a shared millisecond clock (small steps, half a lease,
// exactly a lease, past the lease) and a reaper thread calls Reap, so seats
// expire and are reclaimed both by the reaper and by Acquire's full path.
//
// Ownership is checked by a per-seat owner tag {generation, worker}: set after
// a successful Acquire, cleared before a Release. A worker checks the tag
// around every Heartbeat, and each failure of its own handle is checked
// against the clock: a handle may only stop working once its deadline has
// passed on the clock.
//
// Every operation runs inside a gate. Closing the gate waits until no
// operation is in flight, so the main thread can take exact snapshots (all
// beliefs of all workers at one instant). Two clock modes:
//   - monotone: the clock moves only while the gate is closed, so every call
//     gets the same time as every call it races with and times never decrease
//     (the header's contract); a seat's liveness is fixed within a step, and
//     the checks are exact (a Reap at a snapshot reclaims every expired seat).
//   - free-running: the clock moves while operations are in flight, so calls
//     race with each other across deadlines; the checks allow for a call's
//     `now` being older than the clock.
//
// Catch2 assertions are made only on the main thread; workers record failures.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "entitle/ids.h"
#include "entitle/seat_pool.h"

namespace {

using entitle::DeviceId;
using entitle::IdentityId;
using entitle::SeatHandle;
using entitle::SeatHolder;
using entitle::SeatKey;
using entitle::SeatPool;
using entitle::SeatPoolCore;
using entitle::SeatReservation;
using SteadyClock = std::chrono::steady_clock;

const absl::Time kEpoch = absl::FromUnixSeconds(1767225600);
absl::Time At(int64_t ms) { return kEpoch + absl::Milliseconds(ms); }

// The deadline (ms after kEpoch) of a lease starting `start_ms` after kEpoch,
// as seat_pool.h ("Times") defines it: start + lease rounded down to a whole
// resolution() unit counted from the epoch. (The leases here are all under
// 2^29 ms, so the resolution is 1 ms and this is start + lease; the general
// formula keeps the checks exact should a longer lease be added.)
int64_t ExpiryMs(const SeatPoolCore& core, int64_t start_ms) {
  const int64_t unit = absl::ToInt64Milliseconds(core.resolution());
  const int64_t end = start_ms + absl::ToInt64Milliseconds(core.lease());
  return end / unit * unit;
}

std::string Str(const SeatHandle& h) {
  std::ostringstream os;
  os << "{index " << h.index << ", generation " << h.generation << "}";
  return os.str();
}

// Failures recorded by any thread, reported by the main thread.
class Failures {
 public:
  void Add(const std::string& what) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (list_.size() < 20) list_.push_back(what);
    count_.fetch_add(1, std::memory_order_relaxed);
  }
  size_t count() const { return count_.load(std::memory_order_relaxed); }
  std::string Summary() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::ostringstream os;
    os << count() << " failure(s):";
    for (const std::string& s : list_) os << "\n  " << s;
    return os.str();
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> list_;
  std::atomic<size_t> count_{0};
};

// Operations run inside the gate (any number at once); Close() waits until
// none is in flight and keeps new ones out until Open().
class Gate {
 public:
  void Enter() {
    while (true) {
      while (closed_.load(std::memory_order_seq_cst)) std::this_thread::yield();
      in_flight_.fetch_add(1, std::memory_order_seq_cst);
      if (!closed_.load(std::memory_order_seq_cst)) return;
      in_flight_.fetch_sub(1, std::memory_order_seq_cst);
    }
  }
  void Exit() { in_flight_.fetch_sub(1, std::memory_order_seq_cst); }
  void Close() {
    closers_.lock();
    closed_.store(true, std::memory_order_seq_cst);
    while (in_flight_.load(std::memory_order_seq_cst) != 0) {
      std::this_thread::yield();
    }
  }
  void Open() {
    closed_.store(false, std::memory_order_seq_cst);
    closers_.unlock();
  }

 private:
  std::atomic<int> in_flight_{0};
  std::atomic<bool> closed_{false};
  std::mutex closers_;
};

class VirtualClock {
 public:
  int64_t Now() const { return ms_.load(std::memory_order_seq_cst); }
  void Advance(int64_t by) { ms_.fetch_add(by, std::memory_order_seq_cst); }

 private:
  std::atomic<int64_t> ms_{0};
};

// How the clock thread moves time: mostly a millisecond, sometimes half a
// lease, exactly a lease, or past the lease (unless `jumps` is false); with
// `wraps`, now and then by days (SEC-11): to the pool's reaping horizon (2^29
// ms), across one or two wraps of its 31-bit deadline field, or past 2^32 ms.
int64_t ClockStep(std::mt19937_64& rng, int64_t lease, bool jumps = true,
                  bool wraps = false) {
  if (wraps && rng() % 400 == 0) {
    const int64_t range = int64_t{1} << 31;
    switch (rng() % 5) {
      case 0:
        return (int64_t{1} << 29) - 1;
      case 1:
        return int64_t{1} << 29;
      case 2:
        return range - lease / 2;
      case 3:
        return 2 * range + 1;
      default:
        return (int64_t{1} << 32) + 17;
    }
  }
  const uint64_t r = rng() % 1000;
  if (!jumps) return r < 900 ? 1 : 0;
  if (r < 900) return 1;
  if (r < 990) return 0;
  if (r < 994) return std::max<int64_t>(1, lease / 2);
  if (r < 997) return lease;
  return lease + 1 + static_cast<int64_t>(rng() % 3);
}

struct StressConfig {
  uint32_t capacity;
  int64_t lease_ms;
  int workers;
  bool monotone;
  double budget_seconds;
  uint64_t max_ops;
  int ops_per_step = 4;  // per worker, between two clock steps
  bool jumps = true;     // the clock also jumps by half a lease and more
  bool wraps = false;    // and by days (monotone clock only)
  // Workers 0 .. by_index - 1 reserve chosen seats (AcquireSeat, ACT-4), now
  // and then with a lease cut short, instead of searching.
  int by_index = 0;
};

// =====================================================================
// The core
// =====================================================================

class CoreStress {
 public:
  explicit CoreStress(const StressConfig& cfg)
      : cfg_(cfg),
        core_(cfg.capacity, absl::Milliseconds(cfg.lease_ms), kEpoch),
        tags_(std::make_unique<std::atomic<uint64_t>[]>(cfg.capacity)),
        held_(static_cast<size_t>(cfg.workers)) {
    for (uint32_t i = 0; i < cfg.capacity; ++i) tags_[i].store(0);
    // Each worker alone could fill the pool (one busy worker on a loaded
    // machine still meets a full pool).
    max_held_ = static_cast<size_t>(cfg.capacity) * 3 / 2 + 1;
    pace_ = static_cast<uint64_t>(cfg.workers) *
            static_cast<uint64_t>(cfg.ops_per_step);
  }

  void Run() {
    std::vector<std::thread> threads;
    for (int w = 0; w < cfg_.workers; ++w) {
      threads.emplace_back([this, w] { Worker(w); });
    }
    threads.emplace_back([this] { ClockThread(); });
    threads.emplace_back([this] { Reaper(); });

    const auto start = SteadyClock::now();
    const auto budget = std::chrono::duration<double>(cfg_.budget_seconds);
    while (SteadyClock::now() - start < budget &&
           ops_.load(std::memory_order_relaxed) < cfg_.max_ops &&
           failures_.count() == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(4));
      gate_.Close();
      Snapshot();
      gate_.Open();
    }
    stop_.store(true);
    for (std::thread& t : threads) t.join();
    Finish();
  }

  Failures& failures() { return failures_; }
  uint64_t ops() const { return ops_.load(); }
  uint64_t snapshots() const { return snapshots_; }
  uint64_t acquired() const { return acquired_.load(); }
  uint64_t lost() const { return lost_.load(); }
  uint64_t full() const { return full_.load(); }
  uint64_t reaped() const { return reaped_.load(); }
  uint64_t by_index() const { return by_index_.load(); }
  uint64_t by_index_refused() const { return by_index_refused_.load(); }
  int64_t clock_ms() const { return clock_.Now(); }

 private:
  struct Held {
    SeatHandle handle;
    int64_t deadline;  // as set by this worker's last successful call
    // A dormant handle is a device that went away: never heartbeated, only
    // tried again (Heartbeat or Release) once its deadline has passed.
    bool dormant;
  };

  static uint64_t Tag(const SeatHandle& h, int worker) {
    return (uint64_t{h.generation} << 16) | static_cast<uint64_t>(worker + 1);
  }

  void Fail(int worker, const std::string& what) {
    std::ostringstream os;
    os << "[worker " << worker << ", capacity " << cfg_.capacity << ", lease "
       << cfg_.lease_ms << (cfg_.monotone ? ", monotone" : ", free-running")
       << " clock] " << what;
    failures_.Add(os.str());
  }

  void CheckCounts(int worker) {
    const uint32_t use = core_.in_use();
    if (use > cfg_.capacity) {
      Fail(worker, "in_use " + std::to_string(use) + " > capacity");
    }
    if (core_.peak() > cfg_.capacity) Fail(worker, "peak above capacity");
  }

  void Worker(int w) {
    std::mt19937_64 rng(0x5EA7 + static_cast<uint64_t>(w) * 7919);
    std::vector<Held>& held = held_[static_cast<size_t>(w)];
    while (!stop_.load(std::memory_order_relaxed)) {
      // Keep pace with the clock (see ClockThread).
      while (!stop_.load(std::memory_order_relaxed) &&
             ops_.load(std::memory_order_relaxed) >=
                 (steps_.load(std::memory_order_relaxed) + 2) * pace_) {
        std::this_thread::yield();
      }
      gate_.Enter();
      const uint64_t r = rng() % 100;
      const size_t i = held.empty() ? 0 : rng() % held.size();
      if (held.empty() || (held.size() < max_held_ && r < 35)) {
        DoAcquire(w, held, rng() % 100 < 30, rng);
      } else if (held[i].dormant) {
        if (clock_.Now() < held[i].deadline) {
          DoInspect(w, held, i);
        } else if (r % 2 == 0) {
          DoHeartbeat(w, held, i);
        } else {
          DoRelease(w, held, i);
        }
      } else if (r < 75) {
        DoHeartbeat(w, held, i);
      } else if (r < 95) {
        DoRelease(w, held, i);
      } else {
        DoInspect(w, held, i);
      }
      CheckCounts(w);
      gate_.Exit();
      ops_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  void DoAcquire(int w, std::vector<Held>& held, bool dormant,
                 std::mt19937_64& rng) {
    const int64_t now = clock_.Now();
    int64_t deadline = ExpiryMs(core_, now);
    std::optional<SeatHandle> h;
    if (w < cfg_.by_index) {
      // A chosen seat (now and then one past the last), for a full lease or
      // one cut short.
      const auto index =
          static_cast<uint32_t>(rng() % (uint64_t{cfg_.capacity} + 1));
      const int64_t until =
          rng() % 4 == 0 ? now + 1 + static_cast<int64_t>(rng() % cfg_.lease_ms)
                         : now + 2 * cfg_.lease_ms;
      h = core_.AcquireSeat(index, At(now), At(until));
      if (!h) {
        by_index_refused_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      by_index_.fetch_add(1, std::memory_order_relaxed);
      if (h->index != index || index >= cfg_.capacity) {
        Fail(w,
             "AcquireSeat " + std::to_string(index) + " returned " + Str(*h));
        return;
      }
      const int64_t unit = absl::ToInt64Milliseconds(core_.resolution());
      deadline = std::min(deadline, until / unit * unit);
    } else {
      h = core_.Acquire(At(now));
      if (!h) {
        full_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
    }
    acquired_.fetch_add(1, std::memory_order_relaxed);
    if (h->index >= cfg_.capacity) {
      Fail(w, "Acquire returned out-of-range " + Str(*h));
      return;
    }
    // Record the owner unless a newer generation is already recorded: with a
    // free-running clock, this thread may be descheduled between Acquire and
    // here for longer than a lease, and the seat reclaimed and given out
    // again meanwhile. Then this handle is already stale and must not hide
    // the live owner's tag.
    std::atomic<uint64_t>& tag = tags_[h->index];
    uint64_t previous = tag.load(std::memory_order_acquire);
    while (true) {
      if (previous != 0 && (previous >> 16) == h->generation) {
        Fail(w, "Acquire returned " + Str(*h) +
                    ", a handle already given to worker " +
                    std::to_string((previous & 0xFFFF) - 1));
        break;
      }
      const auto previous_generation = static_cast<uint32_t>(previous >> 16);
      if (previous != 0 &&
          static_cast<int32_t>(previous_generation - h->generation) > 0) {
        break;  // Reclaimed and given out again already.
      }
      if (tag.compare_exchange_weak(previous, Tag(*h, w),
                                    std::memory_order_acq_rel)) {
        break;
      }
    }
    held.push_back(Held{*h, deadline, dormant});
  }

  void Drop(std::vector<Held>& held, size_t i) {
    held[i] = held.back();
    held.pop_back();
  }

  void DoHeartbeat(int w, std::vector<Held>& held, size_t i) {
    Held& x = held[i];
    const uint64_t mine = Tag(x.handle, w);
    const int64_t now = clock_.Now();
    const uint64_t before =
        tags_[x.handle.index].load(std::memory_order_acquire);
    const bool ok = core_.Heartbeat(x.handle, At(now));
    const uint64_t after =
        tags_[x.handle.index].load(std::memory_order_acquire);
    const int64_t clock_after = clock_.Now();
    if (ok) {
      if (x.deadline <= now) {
        Fail(w, "Heartbeat of " + Str(x.handle) + " at " + std::to_string(now) +
                    " succeeded after its deadline " +
                    std::to_string(x.deadline));
      }
      if (before != mine) {
        Fail(w,
             "Heartbeat of " + Str(x.handle) +
                 " succeeded although the seat had been acquired again (tag " +
                 std::to_string(before) + ")");
      }
      if (after != mine) {
        // Someone acquired the seat after our heartbeat: only possible once
        // the extended lease ran out on the clock.
        if (clock_after < ExpiryMs(core_, now)) {
          Fail(w, "two live owners of seat " + std::to_string(x.handle.index) +
                      ": heartbeat of " + Str(x.handle) + " at " +
                      std::to_string(now) +
                      " succeeded, yet the seat was "
                      "acquired again before " +
                      std::to_string(ExpiryMs(core_, now)));
        }
        lost_.fetch_add(1, std::memory_order_relaxed);
        Drop(held, i);
        return;
      }
      x.deadline = ExpiryMs(core_, now);
      return;
    }
    // Failed: only allowed once the deadline has passed (for this call's
    // `now`, or on the clock, when a reaper with a later `now` reclaimed it).
    if (x.deadline > now && clock_after < x.deadline) {
      Fail(w, "Heartbeat of live " + Str(x.handle) + " failed at " +
                  std::to_string(now) + ", deadline " +
                  std::to_string(x.deadline));
    }
    uint64_t expected = mine;
    tags_[x.handle.index].compare_exchange_strong(expected, 0,
                                                  std::memory_order_acq_rel);
    lost_.fetch_add(1, std::memory_order_relaxed);
    Drop(held, i);
  }

  void DoRelease(int w, std::vector<Held>& held, size_t i) {
    const Held x = held[i];
    Drop(held, i);
    uint64_t expected = Tag(x.handle, w);
    const bool cleared = tags_[x.handle.index].compare_exchange_strong(
        expected, 0, std::memory_order_acq_rel);
    const bool released = core_.Release(x.handle);
    const int64_t clock_after = clock_.Now();
    if (!cleared) {
      // Another worker holds the seat now: ours must have been reclaimed.
      if (released) {
        Fail(w, "Release of " + Str(x.handle) +
                    " succeeded, but the seat had been acquired again");
      }
      if (clock_after < x.deadline) {
        Fail(w, "seat of " + Str(x.handle) +
                    " acquired again before its "
                    "deadline " +
                    std::to_string(x.deadline));
      }
    } else if (!released && clock_after < x.deadline) {
      Fail(w, "Release of live " + Str(x.handle) + " failed (deadline " +
                  std::to_string(x.deadline) + ", clock " +
                  std::to_string(clock_after) + ")");
    }
  }

  void DoInspect(int w, std::vector<Held>& held, size_t i) {
    const Held& x = held[i];
    const int64_t now = clock_.Now();
    const std::optional<entitle::SeatState> s =
        core_.Inspect(x.handle, At(now));
    const int64_t clock_after = clock_.Now();
    if (s) {
      if (x.deadline <= now)
        Fail(w, "Inspect shows an expired " + Str(x.handle));
      if (s->expires_at != At(x.deadline)) {
        Fail(w, "Inspect of " + Str(x.handle) +
                    " shows a deadline not set by "
                    "its holder");
      }
    } else if (x.deadline > now && clock_after < x.deadline) {
      Fail(w, "Inspect misses live " + Str(x.handle));
    }
  }

  // Time moves one step per few operations of each worker (`pace_` in all),
  // whatever the speed of the build (sanitizers) or the machine: the clock
  // waits for the workers, and workers more than two steps ahead wait for the
  // clock.
  void ClockThread() {
    std::mt19937_64 rng(12345);
    while (!stop_.load(std::memory_order_relaxed)) {
      while (!stop_.load(std::memory_order_relaxed) &&
             ops_.load(std::memory_order_relaxed) <
                 steps_.load(std::memory_order_relaxed) * pace_) {
        std::this_thread::yield();
      }
      const int64_t by = ClockStep(rng, cfg_.lease_ms, cfg_.jumps, cfg_.wraps);
      if (cfg_.monotone) {
        gate_.Close();
        clock_.Advance(by);
        gate_.Open();
      } else {
        gate_.Enter();
        clock_.Advance(by);
        gate_.Exit();
      }
      steps_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  void Reaper() {
    while (!stop_.load(std::memory_order_relaxed)) {
      gate_.Enter();
      reaped_.fetch_add(core_.Reap(At(clock_.Now())),
                        std::memory_order_relaxed);
      CheckCounts(-1);
      gate_.Exit();
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }

  // With the gate closed: every worker's beliefs at one instant.
  void Snapshot() {
    ++snapshots_;
    const int64_t t = clock_.Now();
    std::vector<uint32_t> owners(cfg_.capacity, 0);
    size_t live = 0;
    for (int w = 0; w < cfg_.workers; ++w) {
      for (const Held& x : held_[static_cast<size_t>(w)]) {
        const std::optional<entitle::SeatState> s =
            core_.Inspect(x.handle, At(t));
        if (x.deadline <= t) {
          if (s) Fail(w, "snapshot: expired " + Str(x.handle) + " still shown");
          continue;
        }
        ++live;
        if (owners[x.handle.index]++ != 0) {
          Fail(w, "snapshot at " + std::to_string(t) + ": seat " +
                      std::to_string(x.handle.index) + " has two live owners");
        }
        if (!s || s->expires_at != At(x.deadline)) {
          Fail(w, "snapshot at " + std::to_string(t) + ": live " +
                      Str(x.handle) + " (deadline " +
                      std::to_string(x.deadline) + ") not held by the pool");
        }
        if (tags_[x.handle.index].load() != Tag(x.handle, w)) {
          Fail(w, "snapshot: the owner tag of live " + Str(x.handle) +
                      " names someone else");
        }
      }
    }
    if (live > cfg_.capacity) {
      Fail(-1, "snapshot: " + std::to_string(live) +
                   " live seats believed held, capacity " +
                   std::to_string(cfg_.capacity));
    }
    const uint32_t use = core_.in_use();
    if (use > cfg_.capacity || use < live) {
      Fail(-1, "snapshot: in_use " + std::to_string(use) + ", live believed " +
                   std::to_string(live));
    }
    if (cfg_.monotone) {
      // Every seat not believed live has expired or was released; a Reap at
      // the snapshot's time reclaims all of them.
      reaped_.fetch_add(core_.Reap(At(t)));
      if (core_.in_use() != live) {
        Fail(-1, "snapshot at " + std::to_string(t) + ": after Reap, in_use " +
                     std::to_string(core_.in_use()) + " but " +
                     std::to_string(live) + " seats are live");
      }
    }
  }

  // After the threads stopped: release everything; the pool is empty and
  // every seat can be taken exactly once.
  void Finish() {
    const int64_t t = clock_.Now();
    for (int w = 0; w < cfg_.workers; ++w) {
      for (const Held& x : held_[static_cast<size_t>(w)]) {
        const bool released = core_.Release(x.handle);
        if (x.deadline > t && !released) {
          Fail(w, "final Release of live " + Str(x.handle) + " failed");
        }
      }
      held_[static_cast<size_t>(w)].clear();
    }
    const int64_t far = t + 1000 * cfg_.lease_ms + 1000000;
    core_.Reap(At(far));
    if (core_.in_use() != 0) {
      Fail(-1, "after releasing everything and reaping, in_use " +
                   std::to_string(core_.in_use()));
    }
    if (core_.peak() > cfg_.capacity) Fail(-1, "peak above capacity");
    std::vector<bool> seen(cfg_.capacity, false);
    for (uint32_t i = 0; i < cfg_.capacity; ++i) {
      const std::optional<SeatHandle> h = core_.Acquire(At(far));
      if (!h) {
        Fail(-1, "final fill: Acquire " + std::to_string(i) + " failed");
        return;
      }
      if (h->index >= cfg_.capacity || seen[h->index]) {
        Fail(-1,
             "final fill: seat " + Str(*h) + " given twice or out of range");
        return;
      }
      seen[h->index] = true;
    }
    if (core_.Acquire(At(far)).has_value()) {
      Fail(-1, "final fill: one seat more than the capacity");
    }
  }

  const StressConfig cfg_;
  SeatPoolCore core_;
  std::unique_ptr<std::atomic<uint64_t>[]> tags_;
  std::vector<std::vector<Held>> held_;  // per worker; read only when gated
  size_t max_held_ = 1;
  Gate gate_;
  VirtualClock clock_;
  Failures failures_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> ops_{0}, acquired_{0}, lost_{0}, full_{0}, reaped_{0};
  std::atomic<uint64_t> by_index_{0}, by_index_refused_{0};
  std::atomic<uint64_t> steps_{0};  // clock steps taken
  uint64_t pace_ = 1;               // operations per clock step
  uint64_t snapshots_ = 0;
};

void RunCoreStress(const StressConfig& cfg) {
  CoreStress stress(cfg);
  const auto start = SteadyClock::now();
  stress.Run();
  const double seconds =
      std::chrono::duration<double>(SteadyClock::now() - start).count();
  INFO("capacity " << cfg.capacity << " lease " << cfg.lease_ms << " ms, "
                   << (cfg.monotone ? "monotone" : "free-running") << " clock: "
                   << stress.ops() << " ops, " << stress.acquired()
                   << " acquired, " << stress.full() << " refused, "
                   << stress.lost() << " lost by expiry, " << stress.reaped()
                   << " reaped, " << stress.by_index() << " by index ("
                   << stress.by_index_refused() << " refused), "
                   << stress.snapshots() << " snapshots, clock at "
                   << stress.clock_ms() << " ms, in " << seconds << " s");
  if (stress.failures().count() != 0) FAIL(stress.failures().Summary());
  // The run exercised what it is for.
  CHECK(stress.snapshots() > 0);
  CHECK(stress.acquired() > 0);
  CHECK(stress.full() > 0);
  CHECK(stress.lost() > 0);
  if (cfg.by_index > 0) {
    CHECK(stress.by_index() > 0);
    CHECK(stress.by_index_refused() > 0);
  }
}

constexpr double kBudget = 1.4;  // seconds per run; two runs per case
constexpr uint64_t kMaxOps = 1500000;

TEST_CASE("seat pool stress: 3 seats, 8 workers", "[seat_pool][stress]") {
  RunCoreStress({3, 40, 8, true, kBudget, kMaxOps});
  RunCoreStress({3, 40, 8, false, kBudget, kMaxOps});
}

TEST_CASE("seat pool stress: 64 seats, 7 workers", "[seat_pool][stress]") {
  RunCoreStress({64, 100, 7, true, kBudget, kMaxOps});
  RunCoreStress({64, 100, 7, false, kBudget, kMaxOps});
}

TEST_CASE("seat pool stress: 4096 seats, 6 workers", "[seat_pool][stress]") {
  RunCoreStress({4096, 200, 6, true, kBudget, kMaxOps, 48});
  RunCoreStress({4096, 200, 6, false, kBudget, kMaxOps, 48});
}

TEST_CASE("seat pool stress: 64 seats, coarse wheel ticks (lease 2 s)",
          "[seat_pool][stress]") {
  // A lease of 2000 ms makes the reaper's wheel tick every 7 ms. The clock
  // moves by single milliseconds only, so deadlines fall inside the tick of
  // the time the pool is asked at.
  RunCoreStress({64, 2000, 7, true, kBudget, kMaxOps, 1, false});
}

// clang-format off
TEST_CASE("SEC-11 seat pool stress: 64 seats, 7 workers, the clock jumping days across deadline wraps",
          "[seat_pool][stress][SEC-11]") {
  // clang-format on
  // Every jump sends the next calls to the pool's catch-up reap at once, from
  // several threads; the checks stay exact (monotone clock).
  StressConfig cfg{64, 100, 7, true, kBudget, kMaxOps};
  cfg.wraps = true;
  RunCoreStress(cfg);
  StressConfig small{3, 40, 8, true, kBudget, kMaxOps};
  small.wraps = true;
  RunCoreStress(small);
}

// clang-format off
TEST_CASE("ACT-4 seat pool stress: chosen seats reserved by AcquireSeat among Acquire, Heartbeat and Release",
          "[seat_pool][stress][ACT-4]") {
  // clang-format on
  // Three workers ask for chosen seats while the others search: no seat has
  // two live owners, and at every snapshot the pool's count is exact. 64
  // seats spread over eight leaves; 4097 under a summary level.
  StressConfig small{64, 100, 7, true, kBudget, kMaxOps};
  small.by_index = 3;
  RunCoreStress(small);
  small.monotone = false;
  RunCoreStress(small);
  StressConfig large{4097, 200, 6, true, kBudget, kMaxOps, 48};
  large.by_index = 3;
  RunCoreStress(large);
}

// =====================================================================
// The keyed layer
// =====================================================================

// With `adopt`, a tenth of the operations are AdoptAt on a chosen seat
// (ACT-4) instead of a heartbeat.
void RunKeyedStress(uint32_t capacity, int identities, int devices, int workers,
                    int64_t lease, double budget_seconds, bool adopt = false) {
  SeatPool pool(capacity, absl::Milliseconds(lease), kEpoch);
  Gate gate;
  VirtualClock clock;
  Failures failures;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> ops{0}, granted{0}, refused{0}, renewed{0};
  std::atomic<uint64_t> adopted{0};
  std::atomic<uint64_t> steps{0};  // clock steps
  const uint64_t pace = static_cast<uint64_t>(workers) * 4;
  std::vector<SeatKey> keys;
  for (int i = 1; i <= identities; ++i) {
    for (int d = 0; d < devices; ++d) {
      keys.push_back(SeatKey{IdentityId(i), DeviceId("d" + std::to_string(d))});
    }
  }
  auto fail = [&](const std::string& what) {
    failures.Add("[keyed, capacity " + std::to_string(capacity) + "] " + what);
  };
  auto check_holders = [&](const std::vector<SeatHolder>& holders, bool exact) {
    std::set<std::pair<uint32_t, uint32_t>> handles;
    std::set<uint32_t> indices;
    for (const SeatHolder& h : holders) {
      if (!handles.insert({h.handle.index, h.handle.generation}).second) {
        fail("Holders lists handle " + Str(h.handle) + " twice");
      }
      if (exact && !indices.insert(h.handle.index).second) {
        fail("Holders lists seat " + std::to_string(h.handle.index) + " twice");
      }
    }
    if (exact && holders.size() > capacity) fail("more holders than seats");
  };

  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937_64 rng(977 + static_cast<uint64_t>(w));
      while (!stop.load(std::memory_order_relaxed)) {
        while (!stop.load(std::memory_order_relaxed) &&
               ops.load(std::memory_order_relaxed) >=
                   (steps.load(std::memory_order_relaxed) + 2) * pace) {
          std::this_thread::yield();
        }
        gate.Enter();
        const SeatKey& key = keys[rng() % keys.size()];
        const int64_t now = clock.Now();
        const uint64_t r = rng() % 100;
        if (r < 45) {
          const std::optional<SeatReservation> got =
              (r % 2 == 0) ? pool.Acquire(key, At(now))
                           : pool.Heartbeat(key, At(now));
          if (got) {
            granted.fetch_add(1, std::memory_order_relaxed);
            if (got->renewed) renewed.fetch_add(1, std::memory_order_relaxed);
            if (got->handle.index >= capacity) fail("handle out of range");
          } else {
            refused.fetch_add(1, std::memory_order_relaxed);
          }
        } else if (adopt && r < 55) {
          const SeatHolder holder{
              key, SeatHandle{static_cast<uint32_t>(rng() % capacity), 0},
              At(now), At(now),
              At(now + 1 + static_cast<int64_t>(rng() % lease))};
          if (pool.AdoptAt(holder, At(now))) {
            adopted.fetch_add(1, std::memory_order_relaxed);
          }
          // Read while others may change it: a live seat of this pool.
          if (const std::optional<SeatHolder> found = pool.Find(key, At(now));
              found && found->handle.index >= capacity) {
            fail("Find shows seat " + std::to_string(found->handle.index));
          }
        } else if (r < 75) {
          pool.Heartbeat(key, At(now));
        } else if (r < 92) {
          pool.Release(key);
        } else if (r < 93) {
          pool.ReleaseIdentity(key.identity);
        } else {
          check_holders(pool.Holders(At(now)), false);
        }
        if (pool.core().in_use() > capacity) fail("in_use above capacity");
        gate.Exit();
        ops.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  threads.emplace_back([&] {  // the clock: one step per `pace` operations
    std::mt19937_64 rng(4242);
    while (!stop.load(std::memory_order_relaxed)) {
      while (!stop.load(std::memory_order_relaxed) &&
             ops.load(std::memory_order_relaxed) <
                 steps.load(std::memory_order_relaxed) * pace) {
        std::this_thread::yield();
      }
      gate.Close();
      clock.Advance(ClockStep(rng, lease));
      gate.Open();
      steps.fetch_add(1, std::memory_order_relaxed);
    }
  });
  threads.emplace_back([&] {  // the sweeper
    while (!stop.load(std::memory_order_relaxed)) {
      gate.Enter();
      pool.Sweep(At(clock.Now()));
      gate.Exit();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });

  uint64_t snapshots = 0;
  const auto start = SteadyClock::now();
  while (SteadyClock::now() - start <
             std::chrono::duration<double>(budget_seconds) &&
         ops.load() < kMaxOps && failures.count() == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    gate.Close();
    ++snapshots;
    const int64_t t = clock.Now();
    pool.Sweep(At(t));
    const std::vector<SeatHolder> holders = pool.Holders(At(t));
    check_holders(holders, true);
    if (pool.core().in_use() != holders.size()) {
      fail("after Sweep at " + std::to_string(t) + ": in_use " +
           std::to_string(pool.core().in_use()) + ", holders " +
           std::to_string(holders.size()));
    }
    for (const SeatHolder& h : holders) {
      if (!pool.core().Inspect(h.handle, At(t))) fail("holder not held");
    }
    gate.Open();
  }
  stop.store(true);
  for (std::thread& t : threads) t.join();

  // The end: no duplicate handles; a far sweep empties the pool; then every
  // seat can be taken by one key, and no more.
  const int64_t t = clock.Now();
  check_holders(pool.Holders(At(t)), true);
  const int64_t far = t + 1000 * lease;
  pool.Sweep(At(far));
  if (pool.core().in_use() != 0 || !pool.Holders(At(far)).empty()) {
    fail("after a far Sweep the pool is not empty");
  }
  std::set<uint32_t> indices;
  for (uint32_t i = 0; i < capacity; ++i) {
    const std::optional<SeatReservation> got =
        pool.Acquire(SeatKey{IdentityId(100000 + i), DeviceId("x")}, At(far));
    if (!got || got->renewed || !indices.insert(got->handle.index).second) {
      fail("final fill failed at " + std::to_string(i));
      break;
    }
  }
  if (pool.Acquire(SeatKey{IdentityId(999999), DeviceId("x")}, At(far))) {
    fail("final fill: one seat more than the capacity");
  }

  INFO("keyed capacity " << capacity << ": " << ops.load() << " ops, "
                         << granted.load() << " granted (" << renewed.load()
                         << " renewed), " << refused.load() << " refused, "
                         << snapshots << " snapshots, clock at " << clock.Now()
                         << " ms");
  if (failures.count() != 0) FAIL(failures.Summary());
  CHECK(snapshots > 0);
  CHECK(granted.load() > 0);
  CHECK(renewed.load() > 0);
  CHECK(refused.load() > 0);
  if (adopt) CHECK(adopted.load() > 0);
}

TEST_CASE("seat pool stress: keyed layer, 4 seats shared by 12 keys",
          "[seat_pool][stress][keyed]") {
  RunKeyedStress(4, 4, 3, 6, 40, 1.2);
}

TEST_CASE("seat pool stress: keyed layer, 64 seats shared by 120 keys",
          "[seat_pool][stress][keyed]") {
  RunKeyedStress(64, 40, 3, 7, 100, 1.2);
}

// clang-format off
TEST_CASE("ACT-4 seat pool stress: keyed layer, AdoptAt on chosen seats among Acquire and Release",
          "[seat_pool][stress][keyed][ACT-4]") {
  // clang-format on
  RunKeyedStress(16, 12, 3, 6, 60, 1.2, true);
}

}  // namespace
