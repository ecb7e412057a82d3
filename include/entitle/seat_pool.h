// Floating license seats (SPEC ENT-3, ENT-4, ENT-5, ENT-7, ENT-11, ENT-12): the
// library's hot path, header-only so it inlines into the host.
//
// A pool has a fixed capacity of physical seats (1 to kMaxSeats) and a limit
// (the purchased seat count, at most the capacity, changeable at any time). A
// seat is reserved for a lease; a heartbeat extends the lease; a release or the
// lease running out frees it. The pool never has more reserved seats than the
// limit allowed at the moment each was reserved, and never gives one seat to two
// holders.
//
// Two layers:
//   - `BasicSeatPoolCore`: anonymous seats named by `SeatHandle`s. Acquire,
//     heartbeat and release take no lock and touch no shared counter: one
//     compare-and-swap on a bitmap word and one on the seat's own word to
//     reserve, the same two to release.
//   - `BasicSeatPool`: seats reserved per (identity, device) key (ENT-3): the
//     same key asking again gets its own seat back; another device of the same
//     identity takes another seat. The key map is sharded and locked per shard;
//     the bitmap path beneath it takes no lock.
//
// How it works:
//   - Free seats: a bitmap of leaf words, each with 32 free bits (1 = free)
//     and a 32-bit count of the releases into it, under 64-ary summary words
//     (two levels up to 4096 seats, three for a million). A thread starts at
//     its own random hint and moves it when it collides with another thread,
//     so busy threads settle on words of their own; small pools spread their
//     seats over eight words on separate cache lines. Nothing caches free
//     seats: a seat count is a licence promise and stays exact.
//   - "All license seats are reserved" (ENT-5) is exact: when the fast search
//     fails, two passes over the leaves that find no free bit and equal sums
//     of release counts prove that every leaf was empty at one instant. Only
//     a reservation that would fail pays for the passes.
//   - The limit (ENT-7): seats above it are retired, kept out of the bitmap.
//     Lowering the limit below use retires free seats at once and records a
//     debt that the next releases pay by retiring their seats instead of
//     freeing them; no seat is taken away and none is given until use is
//     below the limit. A release reads the debt (one load of a word written
//     only when a limit changes); all else is off the hot path.
//   - Each seat has one 64-bit word: a 32-bit generation and a 32-bit
//     deadline (in units since the pool's epoch; 0 = free). A `SeatHandle` is
//     {index, generation}. Release and expiry both CAS {g, d} to {g+1, free}
//     before setting the bit, so exactly one wins and a stale handle can never
//     free or extend a seat given to someone else (ENT-4: no ABA), until the
//     same seat has been reserved 2^32 more times.
//   - Expiry: a reserved seat sits in a timing wheel slot for its deadline (a
//     lock-free stack per slot). `Reap(now)` visits only the slots that came
//     due, so its cost follows the seats that expire, not the pool size; seats
//     whose lease was extended meanwhile move to their new slot. A reservation
//     that finds the pool full reaps before it gives up (ENT-4: an expired seat
//     is reclaimed at the latest when a reservation would otherwise fail).
//
// Times: every call takes `now` from the host's `Clock`; pass non-decreasing
// times from one clock, none earlier than the pool's epoch. Times count in
// whole milliseconds since the epoch. Deadlines are kept in units of the
// largest power of two milliseconds not above lease/4096 (at least 1 ms; a
// power of two, so no division on the hot path), rounded up: a lease is never
// shorter than asked, and longer by less than one unit. A pool serves while
// its deadlines stay below 2^32 - 1 units after its epoch (a deadline word
// keeps 0 for "free"): 278 years for a 3-hour lease (2048 ms units), 49 days
// for leases under 8.192 s; make pools with the current time as their epoch.
//
// Peak use (ENT-12) is sampled, not counted per reservation: a shared counter
// would be the one cache line every thread writes. The peak is raised exactly
// when a reservation finds every seat reserved, and by SampleUse (which
// SeatPool::Sweep calls); a host samples at the interval it reports at.
//
// Thread safety: every method of both classes may be called concurrently.
// `Atomic` is the atomic template used for all shared words (std::atomic by
// default), a parameter so a model checker's atomics can be swapped in.
#ifndef ENTITLE_SEAT_POOL_H_
#define ENTITLE_SEAT_POOL_H_

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "absl/base/attributes.h"
#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/time/time.h"
#include "entitle/ids.h"

namespace entitle {
namespace internal {

// Asymmetric fences: the reserve path (hot) and the reaper (cold) each write
// one word and read the other's. Instead of a fence on every reservation, the
// reaper has the kernel run a full barrier on every thread of the process
// (Linux membarrier, private expedited), and the reserve path only keeps the
// compiler from reordering. Registered once per process; false where the
// kernel lacks it, and pools then fence on both sides.
inline bool RegisterAsymmetricFences() {
#if defined(__linux__)
  static const bool registered = [] {
    const long commands = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (commands < 0 || (commands & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) {
      return false;
    }
    return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
                   0, 0) == 0;
  }();
  return registered;
#else
  return false;
#endif
}

// The heavy side: returns once every thread of the process has passed a full
// memory barrier. Only called when RegisterAsymmetricFences() was true.
inline void HeavyFence() {
#if defined(__linux__)
  if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0) {
    return;
  }
#endif
  std::abort();  // Registered, so the kernel cannot refuse.
}

}  // namespace internal

// One reservation of the core pool. Plain value; equal handles name the same
// reservation.
struct SeatHandle {
  uint32_t index = 0;
  uint32_t generation = 0;
  friend bool operator==(const SeatHandle&, const SeatHandle&) = default;
};

// What a held seat looks like from outside (ENT-11).
struct SeatState {
  SeatHandle handle;
  absl::Time expires_at;
};

template <template <typename> class Atomic = std::atomic>
class BasicSeatPoolCore {
 public:
  static constexpr uint32_t kMaxSeats = 1u << 24;

  // A pool of `capacity` seats (1..kMaxSeats; clamped), all free, with a limit
  // of `capacity`. Leases last `lease` (at least 1 ms). `epoch` must not be
  // later than any `now` passed (see "Times" above).
  BasicSeatPoolCore(uint32_t capacity, absl::Duration lease, absl::Time epoch)
      : capacity_(std::clamp<uint32_t>(capacity, 1, kMaxSeats)),
        lease_ms_(std::max<int64_t>(1, absl::ToInt64Milliseconds(lease))),
        unit_shift_(static_cast<int>(std::bit_width(static_cast<uint64_t>(
                        std::max<int64_t>(1, lease_ms_ / kUnitsPerLease)))) -
                    1),
        unit_ms_(int64_t{1} << unit_shift_),
        epoch_(epoch),
        epoch_ms_(absl::ToUnixMillis(epoch)),
        // The wheel spans about four leases.
        tick_units_(std::max<int64_t>(
            1, (lease_ms_ / unit_ms_) * 4 / kWheelSlots)) {
    bits_per_leaf_ = capacity_ <= kSpreadBelow
                         ? std::max<uint32_t>(1, (capacity_ + kLeavesPerLine - 1) /
                                                     kLeavesPerLine)
                         : kLeafBits;
    leaf_count_ = (capacity_ + bits_per_leaf_ - 1) / bits_per_leaf_;
    // Leaf i lives in line i % lines at position i / lines: neighbouring
    // leaves never share a cache line, and small pools have a line per leaf.
    const uint32_t lines = std::max<uint32_t>(
        kLeavesPerLine,
        std::bit_ceil((leaf_count_ + kLeavesPerLine - 1) / kLeavesPerLine));
    line_mask_ = lines - 1;
    line_shift_ = static_cast<uint32_t>(std::countr_zero(lines));
    lines_ = std::make_unique<LeafLine[]>(lines);
    for (uint32_t line = 0; line < lines; ++line) {
      for (auto& word : lines_[line].leaves) word.store(0, std::memory_order_relaxed);
    }
    for (uint32_t w = 0; w < leaf_count_; ++w) {
      const uint32_t bits = std::min(bits_per_leaf_, capacity_ - w * bits_per_leaf_);
      leaf(w).store(LowBits(bits), std::memory_order_relaxed);
    }
    // Summary levels until one word covers everything.
    uint32_t below = leaf_count_;
    while (below > 1) {
      const uint32_t count = (below + 63) / 64;
      auto level = std::make_unique<Atomic<uint64_t>[]>(count);
      for (uint32_t i = 0; i < count; ++i) {
        level[i].store(LowBits(std::min<uint32_t>(64, below - i * 64)),
                       std::memory_order_relaxed);
      }
      summaries_.push_back(std::move(level));
      below = count;
    }
    seats_ = std::make_unique<Atomic<uint64_t>[]>(capacity_);
    next_in_slot_ = std::make_unique<Atomic<uint32_t>[]>(capacity_);
    queued_ = std::make_unique<Atomic<uint32_t>[]>(capacity_);
    for (uint32_t i = 0; i < capacity_; ++i) {
      seats_[i].store(0, std::memory_order_relaxed);
      next_in_slot_[i].store(kNone, std::memory_order_relaxed);
      queued_[i].store(0, std::memory_order_relaxed);
    }
    for (auto& head : slot_heads_) head.store(kNone, std::memory_order_relaxed);
    limit_.store(capacity_, std::memory_order_relaxed);
    retire_debt_.store(0, std::memory_order_relaxed);
    retired_count_.store(0, std::memory_order_relaxed);
    peak_.store(0, std::memory_order_relaxed);
    refusals_.store(0, std::memory_order_relaxed);
    reaped_through_.store(-1, std::memory_order_relaxed);
  }

  BasicSeatPoolCore(const BasicSeatPoolCore&) = delete;
  BasicSeatPoolCore& operator=(const BasicSeatPoolCore&) = delete;

  uint32_t capacity() const { return capacity_; }
  absl::Duration lease() const { return absl::Milliseconds(lease_ms_); }
  // The unit deadlines are kept in: lease/4096, at least 1 ms. A lease that
  // starts at `now` ends at `now` + lease rounded up to a multiple of it
  // (counted from the epoch); it has ended at any `now` at or past that.
  absl::Duration resolution() const { return absl::Milliseconds(unit_ms_); }
  // True when the pool's reserve path needs no memory fence of its own: on
  // Linux the reaper asks the kernel to fence every thread of the process
  // (membarrier) instead. Otherwise both sides fence.
  bool asymmetric_fences() const { return asymmetric_; }
  uint32_t limit() const { return limit_.load(std::memory_order_relaxed); }

  // Seats reserved now, expired-but-unreclaimed ones included: the capacity
  // less the free and the retired seats. Reads every bitmap word (capacity/32
  // loads): for views and sampling, not for the hot path. Above `limit()`
  // while a lowered limit waits for releases (ENT-7).
  uint32_t in_use() const {
    uint64_t free = 0;
    for (uint32_t w = 0; w < leaf_count_; ++w) {
      free += PopCount(FreeBitsOf(leaf(w).load(std::memory_order_acquire)));
    }
    const uint64_t retired = retired_count_.load(std::memory_order_acquire);
    return static_cast<uint32_t>(
        std::max<int64_t>(0, int64_t{capacity_} - int64_t(free) - int64_t(retired)));
  }

  // ENT-7: sets the purchased seat count (clamped to the capacity). Lowering
  // it below use takes no seat away; no new seat is given until use is below:
  // the seats above the limit are retired, free ones at once and the rest as
  // their holders release them. Raising it returns retired seats. Serialized
  // with other calls of set_limit; the hot path is not blocked.
  void set_limit(uint32_t limit) {
    std::lock_guard<std::mutex> lock(limit_mutex_);
    limit = std::min(limit, capacity_);
    const uint32_t target = capacity_ - limit;  // Seats to keep out.
    uint32_t debt = retire_debt_.load(std::memory_order_relaxed);
    const uint32_t out = static_cast<uint32_t>(retired_.size()) + debt;
    if (target > out) {
      // Sequentially consistent, against ReturnSeat's free-bit add and debt
      // load: either the releaser sees the debt and pays it, or PayDebtLocked
      // below sees the releaser's free bit.
      retire_debt_.store(debt + (target - out), std::memory_order_seq_cst);
      PayDebtLocked();
    } else {
      uint32_t surplus = out - target;
      const uint32_t forgiven = std::min(debt, surplus);
      retire_debt_.store(debt - forgiven, std::memory_order_seq_cst);
      for (surplus -= forgiven; surplus > 0; --surplus) {
        const uint32_t seat = retired_.back();
        retired_.pop_back();
        retired_count_.store(static_cast<uint32_t>(retired_.size()),
                             std::memory_order_release);
        SetFreeBit(seat);
      }
    }
    limit_.store(limit, std::memory_order_relaxed);
  }

  // ENT-12: the high-water mark of seats in use. It is raised exactly when a
  // reservation finds every seat reserved (use = all seats then), and by
  // `SampleUse`; between samples a brief peak below the limit can be missed,
  // so a host samples at the interval it reports peaks at (SeatPool::Sweep
  // samples). `TakePeak` returns it and restarts it from the current use.
  uint32_t peak() const { return peak_.load(std::memory_order_relaxed); }
  uint32_t SampleUse() {
    const uint32_t use = in_use();
    RaisePeak(use);
    return use;
  }
  uint32_t TakePeak() {
    const uint32_t use = in_use();
    return std::max(peak_.exchange(use, std::memory_order_relaxed), use);
  }
  // How many reservations found every seat reserved, since construction.
  uint64_t refusals() const { return refusals_.load(std::memory_order_relaxed); }

  // Reserves a free seat until `now` + lease. Nothing when every seat is
  // reserved (after reclaiming any whose lease ran out).
  std::optional<SeatHandle> Acquire(absl::Time now) {
    uint32_t index = TakeFreeBit();
    if (index == kNone) [[unlikely]] {
      index = TakeFreeBitSlowly(now);
      if (index == kNone) return std::nullopt;
    }
    // The seat is ours alone: its word is {g, free}.
    const uint64_t free_word = seats_[index].load(std::memory_order_acquire);
    const uint32_t generation = GenerationOf(free_word);
    const int64_t deadline = DeadlineFrom(now);
    // The seat word's store, then Enqueue's read of the queued flag, against
    // the reaper's store of the flag, then its read of the word: see Reap.
    if (asymmetric_) {
      seats_[index].store(Word(generation, deadline), std::memory_order_release);
      std::atomic_signal_fence(std::memory_order_seq_cst);
      Enqueue(index, deadline, std::memory_order_relaxed);
    } else {
      seats_[index].store(Word(generation, deadline), std::memory_order_seq_cst);
      Enqueue(index, deadline, std::memory_order_seq_cst);
    }
    return SeatHandle{index, generation};
  }

  // Extends the lease of `handle` to `now` + lease. False when the handle no
  // longer holds its seat: released, or its lease ran out (even if the seat
  // was not reclaimed yet), or the seat went to someone else.
  bool Heartbeat(SeatHandle handle, absl::Time now) {
    if (handle.index >= capacity_) return false;
    const int64_t now_units = UnitsAt(now);
    const int64_t deadline = DeadlineFrom(now);
    Atomic<uint64_t>& seat = seats_[handle.index];
    uint64_t word = seat.load(std::memory_order_acquire);
    while (true) {
      if (IsFree(word) || GenerationOf(word) != handle.generation ||
          DeadlineOf(word) <= now_units) {
        return false;
      }
      // The wheel keeps the seat in its old slot; the reaper moves it on.
      if (seat.compare_exchange_weak(word, Word(handle.generation, deadline),
                                     std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
        return true;
      }
    }
  }

  // Frees the seat of `handle`. False when the seat went free or to someone
  // else; a handle whose lease ran out but whose seat was not reclaimed yet
  // still frees it (the seat is free afterwards either way).
  bool Release(SeatHandle handle) {
    if (handle.index >= capacity_) return false;
    Atomic<uint64_t>& seat = seats_[handle.index];
    uint64_t word = seat.load(std::memory_order_acquire);
    while (!IsFree(word) && GenerationOf(word) == handle.generation) {
      if (seat.compare_exchange_weak(word, FreedWord(word),
                                     std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
        ReturnSeat(handle.index);
        return true;
      }
    }
    return false;
  }

  // The seat of `handle` while the handle still holds it and its lease runs.
  std::optional<SeatState> Inspect(SeatHandle handle, absl::Time now) const {
    if (handle.index >= capacity_) return std::nullopt;
    const uint64_t word = seats_[handle.index].load(std::memory_order_acquire);
    if (IsFree(word) || GenerationOf(word) != handle.generation ||
        DeadlineOf(word) <= UnitsAt(now)) {
      return std::nullopt;
    }
    return SeatState{handle,
                     absl::FromUnixMillis(epoch_ms_ + DeadlineOf(word) * unit_ms_)};
  }

  // Frees every seat whose lease ran out by `now`; returns how many. Its cost
  // follows the seats that came due, not the capacity. One reaper runs at a
  // time; others wait for it, so that when Reap returns every lease that ran
  // out by `now` is reclaimed.
  size_t Reap(absl::Time now) {
    const int64_t now_units = UnitsAt(now);
    const int64_t through = now_units / tick_units_;
    std::lock_guard<std::mutex> lock(reaper_mutex_);
    const int64_t from =
        std::min(reaped_through_.load(std::memory_order_relaxed) + 1, through);
    // Publish progress first: seats enqueued from now on go to later slots.
    // The current tick is never done: deadlines later in it are not due yet,
    // so its slot is visited again by the next Reap.
    reaped_through_.store(through - 1, std::memory_order_release);
    size_t reclaimed = 0;
    const int64_t first = std::max(from, through - kWheelSlots + 1);
    for (int64_t tick = first; tick <= through; ++tick) {
      uint32_t index = slot_heads_[tick % kWheelSlots].exchange(
          kNone, std::memory_order_acq_rel);
      while (index != kNone) {
        const uint32_t next =
            next_in_slot_[index].load(std::memory_order_relaxed);
        reclaimed += Visit(index, now_units);
        index = next;
      }
    }
    // The seats Visit took out of the wheel as free: a reservation that took
    // one meanwhile either saw its cleared flag and enqueued it, or is seen
    // here and enqueued for it (the queued flag's exchange keeps it single).
    // Both sides store, then load: the fence between is the kernel's here.
    if (!left_wheel_.empty()) {
      if (asymmetric_) internal::HeavyFence();
      for (const uint32_t index : left_wheel_) {
        const uint64_t after = seats_[index].load(std::memory_order_seq_cst);
        if (!IsFree(after)) {
          Enqueue(index, DeadlineOf(after), std::memory_order_seq_cst);
        }
      }
      left_wheel_.clear();
    }
    return reclaimed;
  }

 private:
  static constexpr uint32_t kNone = ~uint32_t{0};
  // A leaf word: free bits in the low half, a release count in the high half.
  static constexpr uint32_t kLeafBits = 32;
  static constexpr uint32_t kLeavesPerLine = 8;  // 64-byte cache lines.
  static constexpr uint32_t kSpreadBelow = kLeafBits * kLeavesPerLine;
  static constexpr uint64_t kReleaseCount = uint64_t{1} << kLeafBits;
  static constexpr int64_t kWheelSlots = 1024;
  static constexpr int64_t kUnitsPerLease = 4096;
  static constexpr int kDeadlineBits = 32;
  static constexpr uint64_t kDeadlineMask = (uint64_t{1} << kDeadlineBits) - 1;

  static constexpr uint64_t LowBits(uint32_t n) {
    return n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
  }

  // --------------------------------------------------------- seat words

  static uint32_t GenerationOf(uint64_t word) {
    return static_cast<uint32_t>(word >> kDeadlineBits);
  }
  static bool IsFree(uint64_t word) { return (word & kDeadlineMask) == 0; }
  // In units; stored as deadline + 1, so that 0 means free.
  static int64_t DeadlineOf(uint64_t word) {
    return static_cast<int64_t>(word & kDeadlineMask) - 1;
  }
  static uint64_t Word(uint32_t generation, int64_t deadline_units) {
    const uint64_t deadline = static_cast<uint64_t>(std::clamp<int64_t>(
        deadline_units + 1, 1, static_cast<int64_t>(kDeadlineMask)));
    return (uint64_t{generation} << kDeadlineBits) | deadline;
  }
  static uint64_t FreedWord(uint64_t word) {
    return uint64_t{GenerationOf(word) + 1} << kDeadlineBits;  // Wraps at 2^32.
  }

  int64_t MsAt(absl::Time now) const {
    return std::max<int64_t>(0, absl::ToUnixMillis(now) - epoch_ms_);
  }
  // The unit `now` falls in (rounded down).
  int64_t UnitsAt(absl::Time now) const { return MsAt(now) >> unit_shift_; }
  // The deadline of a lease starting `now`, rounded up to a whole unit.
  int64_t DeadlineFrom(absl::Time now) const {
    return (MsAt(now) + lease_ms_ + unit_ms_ - 1) >> unit_shift_;
  }

  // --------------------------------------------------------- use and limit

  void RaisePeak(uint32_t use) {
    uint32_t peak = peak_.load(std::memory_order_relaxed);
    while (use > peak &&
           !peak_.compare_exchange_weak(peak, use, std::memory_order_relaxed)) {
    }
  }

  // After a seat's word went to free: its bit back, unless a lowered limit
  // still wants seats retired (ENT-7).
  void ReturnSeat(uint32_t index) {
    // While a debt is owed the returned seat itself is retired: its bit was
    // never set, so no search is needed and no one can have taken it.
    if (retire_debt_.load(std::memory_order_seq_cst) != 0 &&
        RetireReturned(index)) [[unlikely]] {
      return;
    }
    SetFreeBit(index);
    // Sequentially consistent against set_limit's store of the debt.
    if (retire_debt_.load(std::memory_order_seq_cst) != 0) [[unlikely]] {
      PayDebt();
    }
  }

  ABSL_ATTRIBUTE_NOINLINE void PayDebt() {
    std::lock_guard<std::mutex> lock(limit_mutex_);
    PayDebtLocked();
  }

  // Retires `index`, a seat whose word is free and whose bit is clear, when a
  // debt is still owed under the lock; false when it was paid meanwhile.
  ABSL_ATTRIBUTE_NOINLINE bool RetireReturned(uint32_t index) {
    std::lock_guard<std::mutex> lock(limit_mutex_);
    const uint32_t debt = retire_debt_.load(std::memory_order_seq_cst);
    if (debt == 0) return false;
    retired_.push_back(index);
    retired_count_.store(static_cast<uint32_t>(retired_.size()),
                         std::memory_order_release);
    retire_debt_.store(debt - 1, std::memory_order_seq_cst);
    return true;
  }

  // Retires free seats while a debt is owed. Holds limit_mutex_.
  void PayDebtLocked() {
    uint32_t debt = retire_debt_.load(std::memory_order_seq_cst);
    while (debt > 0) {
      const uint32_t seat = ScanTake(nullptr);
      if (seat == kNone) return;
      retired_.push_back(seat);
      retired_count_.store(static_cast<uint32_t>(retired_.size()),
                           std::memory_order_release);
      retire_debt_.store(--debt, std::memory_order_seq_cst);
    }
  }

  // --------------------------------------------------------- the bitmap

  static uint64_t FreeBitsOf(uint64_t leaf_word) {
    return leaf_word & LowBits(kLeafBits);
  }

  Atomic<uint64_t>& leaf(uint32_t index) {
    return lines_[index & line_mask_].leaves[index >> line_shift_];
  }
  const Atomic<uint64_t>& leaf(uint32_t index) const {
    return lines_[index & line_mask_].leaves[index >> line_shift_];
  }

  // The word at `level` (0 = leaves) and `index`.
  Atomic<uint64_t>& WordAt(size_t level, uint32_t index) {
    return level == 0 ? leaf(index) : summaries_[level - 1][index];
  }

  // Where this thread starts its searches. Threads that collide on a word
  // move their hint elsewhere, so that busy threads settle on words of
  // their own.
  static uint32_t& ThreadHint() {
    // Constant-initialized, so reading it costs no per-call init check.
    static thread_local uint32_t hint = 0;
    if (hint == 0) [[unlikely]] hint = SeedHint();
    return hint;
  }
  ABSL_ATTRIBUTE_NOINLINE static uint32_t SeedHint() {
    std::random_device device;
    return static_cast<uint32_t>(device()) | 1;
  }
  static void MoveHint(uint32_t& hint) {  // xorshift32: never 0 from non-0.
    hint ^= hint << 13;
    hint ^= hint >> 17;
    hint ^= hint << 5;
  }

  // A set bit of `word` (non-zero), starting the search at `from`.
  static uint32_t PickBit(uint64_t word, uint32_t from) {
    from &= 63;
    const uint64_t rotated = std::rotr(word, static_cast<int>(from));
    return (static_cast<uint32_t>(std::countr_zero(rotated)) + from) & 63;
  }

  // std::popcount is a library call unless the build targets POPCNT.
  static uint32_t PopCount(uint64_t word) {
#if defined(__POPCNT__)
    return static_cast<uint32_t>(std::popcount(word));
#else
    word -= (word >> 1) & 0x5555555555555555u;
    word = (word & 0x3333333333333333u) + ((word >> 2) & 0x3333333333333333u);
    word = (word + (word >> 4)) & 0x0f0f0f0f0f0f0f0fu;
    return static_cast<uint32_t>((word * 0x0101010101010101u) >> 56);
#endif
  }

  // A set bit of `word` (non-zero) chosen by `k`: bit k % 64 when set, else
  // the (k mod popcount)-th set bit. Threads with different hints spread over
  // the non-empty children even when those are few and side by side.
  static uint32_t SelectBit(uint64_t word, uint32_t k) {
    k &= 63;
    if ((word >> k) & 1) return k;
    uint32_t rank = k % PopCount(word);
    uint32_t base = 0;
    for (uint32_t width = 32; width >= 8; width /= 2) {
      const uint64_t low = word & LowBits(width);
      const uint32_t count = PopCount(low);
      if (rank >= count) {
        rank -= count;
        word >>= width;
        base += width;
      } else {
        word = low;
      }
    }
    for (; rank > 0; --rank) word &= word - 1;
    return base + static_cast<uint32_t>(std::countr_zero(word));
  }

  // Takes a free bit of leaf `index` whose word was `word`; the seat, or
  // nothing once the leaf has no free bit. Sets `contended` when another
  // thread changed the word meanwhile.
  uint32_t TakeFromLeaf(uint32_t index, uint64_t word,
                                       uint32_t from, bool* contended) {
    Atomic<uint64_t>& bits = leaf(index);
    while (FreeBitsOf(word) != 0) {
      const uint32_t bit = PickBit(FreeBitsOf(word), from);
      const uint64_t taken = word & ~(uint64_t{1} << bit);
      if (bits.compare_exchange_weak(word, taken, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) [[likely]] {
        if (FreeBitsOf(taken) == 0) [[unlikely]] {
          ClearUp(0, index);
          // Look elsewhere next time rather than refill and empty this
          // leaf, and its summary word, on every reservation.
          *contended = true;
        }
        return index * bits_per_leaf_ + bit;
      }
      *contended = true;
    }
    return kNone;
  }

  // The fast search: down the summaries from this thread's hint. Nothing
  // when it meets empty words a few times: the pool may be full, and only
  // TakeFreeBitExactly can tell.
  uint32_t TakeFreeBit() {
    uint32_t& hint = ThreadHint();
    bool contended = false;
    uint32_t seat = kNone;
    for (int attempt = 0; attempt < 4 && seat == kNone; ++attempt) {
      uint32_t index = 0;
      bool descended = true;
      for (size_t level = summaries_.size(); level > 0; --level) {
        const uint64_t word =
            WordAt(level, index).load(std::memory_order_acquire);
        if (word == 0) [[unlikely]] {
          descended = false;
          break;
        }
        index = index * 64 + SelectBit(word, hint >> (6 * (level % 5)));
      }
      if (!descended) break;
      const uint64_t word = leaf(index).load(std::memory_order_acquire);
      seat = TakeFromLeaf(index, word, hint, &contended);
      if (seat == kNone) [[unlikely]] {
        ClearUp(0, index);  // A stale summary led here; mend it.
        contended = true;
      }
    }
    if (contended) [[unlikely]] MoveHint(hint);
    return seat;
  }

  // The full path of Acquire: the exact search, then a reap and the exact
  // search again. kNone when every seat was reserved.
  ABSL_ATTRIBUTE_NOINLINE uint32_t TakeFreeBitSlowly(absl::Time now) {
    uint32_t index = TakeFreeBitExactly();
    if (index == kNone) {
      Reap(now);
      index = TakeFreeBitExactly();
    }
    if (index == kNone) {
      // Every seat was reserved at one instant of the last search.
      refusals_.fetch_add(1, std::memory_order_relaxed);
      RaisePeak(capacity_ - retired_count_.load(std::memory_order_acquire));
    }
    return index;
  }

  // One pass over every leaf from this thread's hint, taking the first free
  // bit found. Adds each leaf's release count to `*releases` when given.
  uint32_t ScanTake(uint64_t* releases) {
    const uint32_t start = ThreadHint() % leaf_count_;
    bool contended = false;
    for (uint32_t n = 0; n < leaf_count_; ++n) {
      const uint32_t index = start + n < leaf_count_ ? start + n
                                                     : start + n - leaf_count_;
      const uint64_t word = leaf(index).load(std::memory_order_seq_cst);
      if (releases != nullptr) *releases += word >> kLeafBits;
      if (FreeBitsOf(word) != 0) {
        const uint32_t seat = TakeFromLeaf(index, word, 0, &contended);
        if (seat != kNone) return seat;
      }
    }
    return kNone;
  }

  // The exact search (ENT-5): a free seat, or kNone only if at one instant
  // every seat was reserved. Two passes that find no free bit and the same
  // sum of release counts mean no leaf gained a bit between its two reads,
  // so at the end of the first pass every leaf was empty. (A false match
  // needs 2^32 releases during the passes.)
  uint32_t TakeFreeBitExactly() {
    while (true) {
      uint64_t first = 0;
      const uint32_t seat = ScanTake(&first);
      if (seat != kNone) return seat;
      uint64_t second = 0;
      const uint32_t again = ScanTake(&second);
      if (again != kNone) return again;
      if (first == second) return kNone;
    }
  }

  // Word `index` at `level` was seen empty: clear its bit above, unless it
  // filled again meanwhile, and carry the clearing up while levels empty.
  ABSL_ATTRIBUTE_NOINLINE void ClearUp(size_t level, uint32_t index) {
    while (level < summaries_.size()) {
      const uint64_t bit = uint64_t{1} << (index % 64);
      Atomic<uint64_t>& parent = summaries_[level][index / 64];
      const uint64_t before = parent.fetch_and(~bit, std::memory_order_acq_rel);
      if (!IsEmpty(level, WordAt(level, index).load(std::memory_order_acquire))) {
        SetUp(level, index);  // Refilled meanwhile: undo.
        return;
      }
      if ((before & ~bit) != 0) return;
      ++level;
      index /= 64;
    }
  }

  static bool IsEmpty(size_t level, uint64_t word) {
    return (level == 0 ? FreeBitsOf(word) : word) == 0;
  }

  // Word `index` at `level` is non-empty: make sure the levels above say so.
  ABSL_ATTRIBUTE_NOINLINE void SetUp(size_t level, uint32_t index) {
    while (level < summaries_.size()) {
      const uint64_t bit = uint64_t{1} << (index % 64);
      const uint64_t before =
          summaries_[level][index / 64].fetch_or(bit, std::memory_order_acq_rel);
      if (before != 0) return;
      ++level;
      index /= 64;
    }
  }

  // Gives a seat's bit back and counts a release in its leaf, in one add
  // (the bit is known to be clear). Sequentially consistent: see ReturnSeat.
  void SetFreeBit(uint32_t seat) {
    const uint32_t index = seat / bits_per_leaf_;
    const uint64_t before = leaf(index).fetch_add(
        (uint64_t{1} << (seat % bits_per_leaf_)) + kReleaseCount,
        std::memory_order_seq_cst);
    if (FreeBitsOf(before) == 0) SetUp(0, index);
  }

  // --------------------------------------------------------- the wheel

  // Puts a reserved seat in the slot for `deadline` (units), unless it is
  // already in a slot (the reaper then moves it when it comes to it).
  void Enqueue(uint32_t index, int64_t deadline, std::memory_order order) {
    if (queued_[index].load(order) != 0) return;
    if (queued_[index].exchange(1, std::memory_order_seq_cst) != 0) return;
    Push(index, deadline);
  }

  void Push(uint32_t index, int64_t deadline) {
    const int64_t reaped = reaped_through_.load(std::memory_order_acquire);
    const int64_t tick = std::clamp(deadline / tick_units_, reaped + 1,
                                    reaped + kWheelSlots - 1);
    Atomic<uint32_t>& head = slot_heads_[tick % kWheelSlots];
    uint32_t first = head.load(std::memory_order_relaxed);
    do {
      next_in_slot_[index].store(first, std::memory_order_relaxed);
    } while (!head.compare_exchange_weak(first, index, std::memory_order_release,
                                         std::memory_order_relaxed));
  }

  // The reaper's visit to a seat taken from a due slot; 1 if it reclaimed it.
  size_t Visit(uint32_t index, int64_t now_units) {
    Atomic<uint64_t>& seat = seats_[index];
    uint64_t word = seat.load(std::memory_order_acquire);
    size_t reclaimed = 0;
    while (!IsFree(word)) {
      if (DeadlineOf(word) > now_units) {
        Push(index, DeadlineOf(word));  // Extended: wait in its new slot.
        return 0;
      }
      if (seat.compare_exchange_weak(word, FreedWord(word),
                                     std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
        ReturnSeat(index);
        reclaimed = 1;
        break;
      }
    }
    // Free now: out of the wheel (Reap checks it once more after a fence).
    queued_[index].store(0, std::memory_order_seq_cst);
    left_wheel_.push_back(index);
    return reclaimed;
  }

  const uint32_t capacity_;
  const int64_t lease_ms_;
  const int unit_shift_;
  const int64_t unit_ms_;
  const absl::Time epoch_;
  const int64_t epoch_ms_;
  const int64_t tick_units_;
  uint32_t bits_per_leaf_ = kLeafBits;
  uint32_t leaf_count_ = 0;
  uint32_t line_mask_ = 0;
  uint32_t line_shift_ = 0;
  const bool asymmetric_ = internal::RegisterAsymmetricFences();

  // Read on every release; written only when a limit is lowered below use.
  alignas(64) Atomic<uint32_t> retire_debt_;
  Atomic<uint32_t> retired_count_;
  Atomic<uint32_t> limit_;
  alignas(64) Atomic<uint32_t> peak_;
  Atomic<uint64_t> refusals_;
  alignas(64) Atomic<int64_t> reaped_through_;

  struct alignas(64) LeafLine {
    Atomic<uint64_t> leaves[kLeavesPerLine];
  };
  std::unique_ptr<LeafLine[]> lines_;
  std::vector<std::unique_ptr<Atomic<uint64_t>[]>> summaries_;
  std::unique_ptr<Atomic<uint64_t>[]> seats_;
  std::unique_ptr<Atomic<uint32_t>[]> next_in_slot_;
  std::unique_ptr<Atomic<uint32_t>[]> queued_;
  std::array<Atomic<uint32_t>, kWheelSlots> slot_heads_;
  std::mutex reaper_mutex_;
  std::vector<uint32_t> left_wheel_;  // Guarded by reaper_mutex_.
  std::mutex limit_mutex_;
  std::vector<uint32_t> retired_;  // Guarded by limit_mutex_.
};

// Who holds a seat: one device of one identity (ENT-3).
struct SeatKey {
  IdentityId identity;
  DeviceId device;
  friend bool operator==(const SeatKey&, const SeatKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const SeatKey& key) {
    return H::combine(std::move(h), key.identity, key.device);
  }
};

// A held seat as admins see it (ENT-11).
struct SeatHolder {
  SeatKey key;
  SeatHandle handle;
  absl::Time since;
  absl::Time last_heartbeat;
  absl::Time expires_at;
};

// What a reservation by key did.
struct SeatReservation {
  SeatHandle handle;
  bool renewed = false;  // The key already held this seat; its lease was extended.
};

template <template <typename> class Atomic = std::atomic>
class BasicSeatPool {
 public:
  BasicSeatPool(uint32_t capacity, absl::Duration lease, absl::Time epoch)
      : core_(capacity, lease, epoch) {}

  BasicSeatPoolCore<Atomic>& core() { return core_; }
  const BasicSeatPoolCore<Atomic>& core() const { return core_; }

  // ENT-3, ENT-4, ENT-5: reserves a seat for `key` until `now` + lease. The
  // same key gets its own seat back (renewed); a key whose seat was lost
  // (expired and reclaimed, released, given to someone else) gets a new one,
  // never the old one back. Nothing when every seat is reserved.
  std::optional<SeatReservation> Acquire(const SeatKey& key, absl::Time now) {
    Shard& shard = ShardOf(key);
    {
      std::lock_guard<std::mutex> lock(shard.mutex);
      if (auto it = shard.holders.find(key); it != shard.holders.end()) {
        if (core_.Heartbeat(it->second.handle, now)) {
          it->second.last_heartbeat = now;
          return SeatReservation{it->second.handle, true};
        }
        shard.holders.erase(it);
      }
    }
    // Take the seat outside the shard lock: the bitmap path takes none.
    std::optional<SeatHandle> handle = core_.Acquire(now);
    if (!handle.has_value()) return std::nullopt;
    std::lock_guard<std::mutex> lock(shard.mutex);
    auto [it, inserted] = shard.holders.try_emplace(key, Holder{*handle, now, now});
    if (!inserted) {
      // The same key raced us here; keep its seat if it still holds it.
      if (core_.Heartbeat(it->second.handle, now)) {
        core_.Release(*handle);
        it->second.last_heartbeat = now;
        return SeatReservation{it->second.handle, true};
      }
      it->second = Holder{*handle, now, now};
    }
    return SeatReservation{*handle, false};
  }

  // ENT-4: a heartbeat is a reservation: it renews the key's seat, or, when
  // the seat was lost meanwhile, reserves a new one.
  std::optional<SeatReservation> Heartbeat(const SeatKey& key, absl::Time now) {
    return Acquire(key, now);
  }

  // ENT-4, ENT-11: frees the key's seat. False when the key holds none.
  bool Release(const SeatKey& key) {
    Shard& shard = ShardOf(key);
    std::lock_guard<std::mutex> lock(shard.mutex);
    auto it = shard.holders.find(key);
    if (it == shard.holders.end()) return false;
    const bool released = core_.Release(it->second.handle);
    shard.holders.erase(it);
    return released;
  }

  // Frees every seat of `identity` (a removed member, a deleted identity).
  size_t ReleaseIdentity(IdentityId identity) {
    size_t released = 0;
    for (Shard& shard : shards_) {
      std::lock_guard<std::mutex> lock(shard.mutex);
      for (auto it = shard.holders.begin(); it != shard.holders.end();) {
        if (it->first.identity == identity) {
          released += core_.Release(it->second.handle) ? 1 : 0;
          shard.holders.erase(it++);
        } else {
          ++it;
        }
      }
    }
    return released;
  }

  // Frees every seat and forgets every key (an entitlement whose period
  // ended, ENT-6); returns how many seats it freed.
  size_t ReleaseAll() {
    size_t released = 0;
    for (Shard& shard : shards_) {
      std::lock_guard<std::mutex> lock(shard.mutex);
      for (const auto& [key, holder] : shard.holders) {
        released += core_.Release(holder.handle) ? 1 : 0;
      }
      shard.holders.clear();
    }
    return released;
  }

  // ENT-11: every held seat, by key order within shards (unordered overall).
  std::vector<SeatHolder> Holders(absl::Time now) const {
    std::vector<SeatHolder> holders;
    for (const Shard& shard : shards_) {
      std::lock_guard<std::mutex> lock(shard.mutex);
      for (const auto& [key, holder] : shard.holders) {
        if (std::optional<SeatState> state = core_.Inspect(holder.handle, now)) {
          holders.push_back(SeatHolder{key, holder.handle, holder.since,
                                       holder.last_heartbeat, state->expires_at});
        }
      }
    }
    return holders;
  }

  // Reclaims expired seats (BasicSeatPoolCore::Reap), forgets keys whose
  // seat is gone, and samples the use for the peak (ENT-12). Cost: the
  // expired seats plus the keys held plus capacity/32 loads; for a periodic
  // sweep, not the hot path.
  size_t Sweep(absl::Time now) {
    const size_t reclaimed = core_.Reap(now);
    core_.SampleUse();
    for (Shard& shard : shards_) {
      std::lock_guard<std::mutex> lock(shard.mutex);
      absl::erase_if(shard.holders, [&](const auto& entry) {
        return !core_.Inspect(entry.second.handle, now).has_value();
      });
    }
    return reclaimed;
  }

 private:
  static constexpr size_t kShards = 64;

  struct Holder {
    SeatHandle handle;
    absl::Time since;
    absl::Time last_heartbeat;
  };

  struct alignas(64) Shard {
    mutable std::mutex mutex;
    absl::flat_hash_map<SeatKey, Holder> holders;
  };

  Shard& ShardOf(const SeatKey& key) {
    return shards_[absl::HashOf(key) % kShards];
  }

  BasicSeatPoolCore<Atomic> core_;
  std::array<Shard, kShards> shards_;
};

using SeatPoolCore = BasicSeatPoolCore<>;
using SeatPool = BasicSeatPool<>;

}  // namespace entitle

#endif  // ENTITLE_SEAT_POOL_H_
