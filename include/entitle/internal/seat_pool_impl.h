// The machinery of the seat pool: the out-of-class definitions of
// BasicSeatPoolCore and BasicSeatPool, whose contract (and an account of how
// the bitmap, the limit and the wheel work) is in entitle/seat_pool.h.
//
// Not part of the API: include entitle/seat_pool.h. Every definition is an
// inline template, exactly as it was in the class body, so the hot path
// compiles to the same code.
#ifndef ENTITLE_INTERNAL_SEAT_POOL_IMPL_H_
#define ENTITLE_INTERNAL_SEAT_POOL_IMPL_H_

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/time/time.h"
#include "entitle/internal/asymmetric_fence.h"
#include "entitle/internal/mutex.h"
#include "entitle/seat_pool.h"
#include "entitle/seat_types.h"

namespace entitle {

// -------------------------------------------------------- BasicSeatPoolCore

template <template <typename> class Atomic>
inline BasicSeatPoolCore<Atomic>::BasicSeatPoolCore(uint32_t capacity,
                                                    absl::Duration lease,
                                                    absl::Time epoch)
    : capacity_(std::clamp<uint32_t>(capacity, 1, kMaxSeats)),
      lease_ms_(std::clamp<int64_t>(absl::ToInt64Milliseconds(lease),
                                    absl::ToInt64Milliseconds(kMinSeatLease),
                                    absl::ToInt64Milliseconds(kMaxSeatLease))),
      // The smallest power of two that keeps the lease within kHorizon
      // units: 1 ms up to 2^29 ms.
      unit_shift_(
          std::max(0, static_cast<int>(std::bit_width(
                          static_cast<uint64_t>((lease_ms_ - 1) / kHorizon))))),
      unit_ms_(int64_t{1} << unit_shift_),
      epoch_(epoch),
      epoch_ms_(absl::ToUnixMillis(epoch)),
      // The wheel spans about four leases.
      tick_units_(
          std::max<int64_t>(1, (lease_ms_ / unit_ms_) * 4 / kWheelSlots)) {
  bits_per_leaf_ =
      capacity_ <= kSpreadBelow
          ? std::max<uint32_t>(
                1, (capacity_ + kLeavesPerLine - 1) / kLeavesPerLine)
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
    for (auto& word : lines_[line].leaves)
      word.store(0, std::memory_order_relaxed);
  }
  for (uint32_t w = 0; w < leaf_count_; ++w) {
    const uint32_t bits =
        std::min(bits_per_leaf_, capacity_ - w * bits_per_leaf_);
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
  base_units_.store(0, std::memory_order_relaxed);
}

template <template <typename> class Atomic>
inline uint32_t BasicSeatPoolCore<Atomic>::in_use() const {
  uint64_t free = 0;
  for (uint32_t w = 0; w < leaf_count_; ++w) {
    free += PopCount(FreeBitsOf(leaf(w).load(std::memory_order_acquire)));
  }
  const uint64_t retired = retired_count_.load(std::memory_order_acquire);
  return static_cast<uint32_t>(std::max<int64_t>(
      0, int64_t{capacity_} - int64_t(free) - int64_t(retired)));
}

template <template <typename> class Atomic>
inline void BasicSeatPoolCore<Atomic>::set_limit(uint32_t limit) {
  internal::MutexLock lock(limit_mutex_);
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

template <template <typename> class Atomic>
inline uint32_t BasicSeatPoolCore<Atomic>::SampleUse() {
  const uint32_t use = in_use();
  RaisePeak(use);
  return use;
}

template <template <typename> class Atomic>
inline uint32_t BasicSeatPoolCore<Atomic>::TakePeak() {
  const uint32_t use = in_use();
  return std::max(peak_.exchange(use, std::memory_order_relaxed), use);
}

template <template <typename> class Atomic>
inline std::optional<SeatHandle> BasicSeatPoolCore<Atomic>::Acquire(
    absl::Time now) {
  int64_t base;
  const int64_t ms = Caught(now, &base);
  return AcquireCaught(ms >> unit_shift_, DeadlineAt(ms));
}

template <template <typename> class Atomic>
inline std::optional<SeatHandle> BasicSeatPoolCore<Atomic>::Acquire(
    absl::Time now, absl::Time until) {
  int64_t base;
  const int64_t ms = Caught(now, &base);
  const int64_t now_units = ms >> unit_shift_;
  const int64_t full = DeadlineAt(ms);
  const int64_t deadline = std::min(full, UnitsAt(until));
  if (deadline <= now_units) return std::nullopt;
  uint32_t index = TakeFreeBit();
  if (index == kNone) [[unlikely]] {
    index = TakeFreeBitSlowly(now_units);
    if (index == kNone) return std::nullopt;
  }
  return ReserveBounded(index, deadline, deadline < full);
}

template <template <typename> class Atomic>
inline std::optional<SeatHandle> BasicSeatPoolCore<Atomic>::AcquireCaught(
    int64_t now_units, int64_t deadline) {
  uint32_t index = TakeFreeBit();
  if (index == kNone) [[unlikely]] {
    index = TakeFreeBitSlowly(now_units);
    if (index == kNone) return std::nullopt;
  }
  return ReserveTaken(index, deadline);
}

template <template <typename> class Atomic>
inline std::optional<SeatHandle> BasicSeatPoolCore<Atomic>::AcquireSeat(
    uint32_t index, absl::Time now, absl::Time until) {
  if (index >= capacity_) return std::nullopt;
  int64_t base;
  const int64_t ms = Caught(now, &base);
  const int64_t now_units = ms >> unit_shift_;
  const int64_t full = DeadlineAt(ms);
  const int64_t deadline = std::min(full, UnitsAt(until));
  if (deadline <= now_units) return std::nullopt;
  if (!TakeSeatBit(index)) {
    // Reserved, retired, or on its way back. A holder whose lease ran out
    // keeps it only until a reservation wants it (ENT-4): reclaim it, as
    // Acquire's full path does, and try once more (a lowered limit may
    // retire it instead).
    const uint64_t word = seats_[index].load(std::memory_order_acquire);
    if (IsFree(word) || DeadlineOf(word, base) > now_units) {
      return std::nullopt;
    }
    ReapUnits(now_units);
    if (!TakeSeatBit(index)) return std::nullopt;
  }
  return ReserveBounded(index, deadline, deadline < full);
}

template <template <typename> class Atomic>
inline SeatHandle BasicSeatPoolCore<Atomic>::ReserveBounded(uint32_t index,
                                                            int64_t deadline,
                                                            bool cut) {
  // Not put in its slot here: the seat is in another, perhaps a later one
  // (or the reaper's recheck puts it in ours; noting it is harmless then).
  bool in_its_slot = false;
  const SeatHandle handle = ReserveTaken(index, deadline, &in_its_slot);
  if (cut && !in_its_slot) NoteEarly(handle, deadline);
  return handle;
}

template <template <typename> class Atomic>
void BasicSeatPoolCore<Atomic>::NoteEarly(SeatHandle handle, int64_t deadline) {
  internal::MutexLock lock(reaper_mutex_);
  early_.push_back(Early{deadline, handle.index, handle.generation});
  std::push_heap(early_.begin(), early_.end(), EndsLater);
}

template <template <typename> class Atomic>
inline SeatHandle BasicSeatPoolCore<Atomic>::ReserveTaken(uint32_t index,
                                                          int64_t deadline,
                                                          bool* in_its_slot) {
  // The seat is ours alone: its word is {g, free}.
  const uint64_t free_word = seats_[index].load(std::memory_order_acquire);
  const uint32_t generation = GenerationOf(free_word);
  // The seat word's store, then Enqueue's read of the queued flag, against
  // the reaper's store of the flag, then its read of the word: see Reap.
  bool pushed;
  if (asymmetric_) {
    seats_[index].store(Word(generation, deadline), std::memory_order_release);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    pushed = Enqueue(index, deadline, std::memory_order_relaxed);
  } else {
    seats_[index].store(Word(generation, deadline), std::memory_order_seq_cst);
    pushed = Enqueue(index, deadline, std::memory_order_seq_cst);
  }
  if (in_its_slot != nullptr) *in_its_slot = pushed;
  return SeatHandle{index, generation};
}

template <template <typename> class Atomic>
inline bool BasicSeatPoolCore<Atomic>::Heartbeat(SeatHandle handle,
                                                 absl::Time now) {
  if (handle.index >= capacity_) return false;
  int64_t base;
  const int64_t ms = Caught(now, &base);
  const int64_t now_units = ms >> unit_shift_;
  const int64_t deadline = DeadlineAt(ms);
  Atomic<uint64_t>& seat = seats_[handle.index];
  uint64_t word = seat.load(std::memory_order_acquire);
  while (true) {
    if (IsFree(word) || GenerationOf(word) != handle.generation ||
        DeadlineOf(word, base) <= now_units) {
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

template <template <typename> class Atomic>
inline bool BasicSeatPoolCore<Atomic>::Release(SeatHandle handle) {
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

template <template <typename> class Atomic>
inline std::optional<SeatState> BasicSeatPoolCore<Atomic>::Inspect(
    SeatHandle handle, absl::Time now) const {
  if (handle.index >= capacity_) return std::nullopt;
  // No reaping here: every live deadline reads right against the base
  // whatever `now` is (see "Times").
  const int64_t base = base_units_.load(std::memory_order_acquire);
  const uint64_t word = seats_[handle.index].load(std::memory_order_acquire);
  if (IsFree(word) || GenerationOf(word) != handle.generation) {
    return std::nullopt;
  }
  const int64_t deadline = DeadlineOf(word, base);
  if (deadline <= UnitsAt(now)) return std::nullopt;
  return SeatState{handle,
                   absl::FromUnixMillis(epoch_ms_ + deadline * unit_ms_)};
}

template <template <typename> class Atomic>
inline size_t BasicSeatPoolCore<Atomic>::Reap(absl::Time now) {
  return ReapUnits(UnitsAt(now));
}

template <template <typename> class Atomic>
inline size_t BasicSeatPoolCore<Atomic>::ReapUnits(int64_t now_units) {
  const int64_t through = now_units / tick_units_;
  internal::MutexLock lock(reaper_mutex_);
  // Only reapers move the base, under this lock.
  const int64_t base = base_units_.load(std::memory_order_relaxed);
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
      reclaimed += Visit(index, now_units, base);
      index = next;
    }
  }
  // Leases cut short whose seat waits in a later slot.
  if (!early_.empty()) [[unlikely]] {
    reclaimed += ReapEarly(now_units, base);
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
        Enqueue(index, DeadlineOf(after, base), std::memory_order_seq_cst);
      }
    }
    left_wheel_.clear();
  }
  // Every lease that ended by `now_units` is reclaimed: deadlines now read
  // against it (those set meanwhile lie within kHorizon of it either way).
  if (now_units > base) {
    base_units_.store(now_units, std::memory_order_release);
  }
  return reclaimed;
}

template <template <typename> class Atomic>
size_t BasicSeatPoolCore<Atomic>::ReapEarly(int64_t now_units, int64_t base) {
  // The seat stays in its later slot, where Visit finds it free, or held
  // anew (and moves it on).
  size_t reclaimed = 0;
  while (!early_.empty() && early_.front().deadline <= now_units) {
    std::pop_heap(early_.begin(), early_.end(), EndsLater);
    const Early due = early_.back();
    early_.pop_back();
    Atomic<uint64_t>& seat = seats_[due.index];
    uint64_t word = seat.load(std::memory_order_acquire);
    // Released, reclaimed or renewed meanwhile: nothing to do.
    while (!IsFree(word) && GenerationOf(word) == due.generation &&
           DeadlineOf(word, base) <= now_units) {
      if (seat.compare_exchange_weak(word, FreedWord(word),
                                     std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
        ReturnSeat(due.index);
        ++reclaimed;
        break;
      }
    }
  }
  return reclaimed;
}

template <template <typename> class Atomic>
constexpr uint64_t BasicSeatPoolCore<Atomic>::LowBits(uint32_t n) {
  return n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
}

template <template <typename> class Atomic>
inline uint32_t BasicSeatPoolCore<Atomic>::GenerationOf(uint64_t word) {
  return static_cast<uint32_t>(word >> kGenerationShift);
}

template <template <typename> class Atomic>
inline bool BasicSeatPoolCore<Atomic>::IsFree(uint64_t word) {
  return (word & kReserved) == 0;
}

template <template <typename> class Atomic>
inline int64_t BasicSeatPoolCore<Atomic>::DeadlineOf(uint64_t word,
                                                     int64_t base) {
  // Serial-number arithmetic: the distance from the window's start to the
  // low bits, modulo the range.
  const uint64_t from = static_cast<uint64_t>(base - kHorizon);
  return static_cast<int64_t>(
      from + (((word & kDeadlineMask) - from) & kDeadlineMask));
}

template <template <typename> class Atomic>
inline uint64_t BasicSeatPoolCore<Atomic>::Word(uint32_t generation,
                                                int64_t deadline_units) {
  return (uint64_t{generation} << kGenerationShift) | kReserved |
         (static_cast<uint64_t>(deadline_units) & kDeadlineMask);
}

template <template <typename> class Atomic>
inline uint64_t BasicSeatPoolCore<Atomic>::FreedWord(uint64_t word) {
  // Wraps at 2^32.
  return uint64_t{GenerationOf(word) + 1} << kGenerationShift;
}

template <template <typename> class Atomic>
inline int64_t BasicSeatPoolCore<Atomic>::MsAt(absl::Time now) const {
  return std::max<int64_t>(0, absl::ToUnixMillis(now) - epoch_ms_);
}

template <template <typename> class Atomic>
inline int64_t BasicSeatPoolCore<Atomic>::UnitsAt(absl::Time now) const {
  return MsAt(now) >> unit_shift_;
}

template <template <typename> class Atomic>
inline int64_t BasicSeatPoolCore<Atomic>::DeadlineAt(int64_t ms) const {
  return (ms + lease_ms_) >> unit_shift_;
}

template <template <typename> class Atomic>
inline int64_t BasicSeatPoolCore<Atomic>::Caught(absl::Time now,
                                                 int64_t* base) {
  const int64_t ms = MsAt(now);
  *base = base_units_.load(std::memory_order_acquire);
  // One compare for "within kHorizon of the base, either side".
  if (static_cast<uint64_t>((ms >> unit_shift_) - *base + kHorizon) >=
      static_cast<uint64_t>(2 * kHorizon)) [[unlikely]] {
    return CatchUp(ms, base);
  }
  return ms;
}

template <template <typename> class Atomic>
int64_t BasicSeatPoolCore<Atomic>::CatchUp(int64_t ms, int64_t* base) {
  const int64_t units = ms >> unit_shift_;
  if (units >= *base + kHorizon) {
    // Reclaim the leases that ended before any deadline set from `now` is
    // read against a base this far on.
    ReapUnits(units);
    *base = base_units_.load(std::memory_order_acquire);
    return ms;
  }
  if (units < *base - kHorizon) return *base << unit_shift_;
  return ms;  // The base moved meanwhile.
}

template <template <typename> class Atomic>
inline void BasicSeatPoolCore<Atomic>::RaisePeak(uint32_t use) {
  uint32_t peak = peak_.load(std::memory_order_relaxed);
  while (use > peak &&
         !peak_.compare_exchange_weak(peak, use, std::memory_order_relaxed)) {
  }
}

template <template <typename> class Atomic>
inline void BasicSeatPoolCore<Atomic>::ReturnSeat(uint32_t index) {
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

template <template <typename> class Atomic>
void BasicSeatPoolCore<Atomic>::PayDebt() {
  internal::MutexLock lock(limit_mutex_);
  PayDebtLocked();
}

template <template <typename> class Atomic>
bool BasicSeatPoolCore<Atomic>::RetireReturned(uint32_t index) {
  internal::MutexLock lock(limit_mutex_);
  const uint32_t debt = retire_debt_.load(std::memory_order_seq_cst);
  if (debt == 0) return false;
  retired_.push_back(index);
  retired_count_.store(static_cast<uint32_t>(retired_.size()),
                       std::memory_order_release);
  retire_debt_.store(debt - 1, std::memory_order_seq_cst);
  return true;
}

template <template <typename> class Atomic>
inline void BasicSeatPoolCore<Atomic>::PayDebtLocked() {
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

template <template <typename> class Atomic>
inline uint64_t BasicSeatPoolCore<Atomic>::FreeBitsOf(uint64_t leaf_word) {
  return leaf_word & LowBits(kLeafBits);
}

template <template <typename> class Atomic>
inline Atomic<uint64_t>& BasicSeatPoolCore<Atomic>::leaf(uint32_t index) {
  return lines_[index & line_mask_].leaves[index >> line_shift_];
}

template <template <typename> class Atomic>
inline const Atomic<uint64_t>& BasicSeatPoolCore<Atomic>::leaf(
    uint32_t index) const {
  return lines_[index & line_mask_].leaves[index >> line_shift_];
}

template <template <typename> class Atomic>
inline Atomic<uint64_t>& BasicSeatPoolCore<Atomic>::WordAt(size_t level,
                                                           uint32_t index) {
  return level == 0 ? leaf(index) : summaries_[level - 1][index];
}

template <template <typename> class Atomic>
inline uint32_t& BasicSeatPoolCore<Atomic>::ThreadHint() {
  // Constant-initialized, so reading it costs no per-call init check.
  static thread_local uint32_t hint = 0;
  if (hint == 0) [[unlikely]]
    hint = SeedHint();
  return hint;
}

template <template <typename> class Atomic>
uint32_t BasicSeatPoolCore<Atomic>::SeedHint() {
  std::random_device device;
  return static_cast<uint32_t>(device()) | 1;
}

template <template <typename> class Atomic>
inline void BasicSeatPoolCore<Atomic>::MoveHint(uint32_t& hint) {
  hint ^= hint << 13;
  hint ^= hint >> 17;
  hint ^= hint << 5;
}

template <template <typename> class Atomic>
inline uint32_t BasicSeatPoolCore<Atomic>::PickBit(uint64_t word,
                                                   uint32_t from) {
  from &= 63;
  const uint64_t rotated = std::rotr(word, static_cast<int>(from));
  return (static_cast<uint32_t>(std::countr_zero(rotated)) + from) & 63;
}

template <template <typename> class Atomic>
inline uint32_t BasicSeatPoolCore<Atomic>::PopCount(uint64_t word) {
#if defined(__POPCNT__)
  return static_cast<uint32_t>(std::popcount(word));
#else
  word -= (word >> 1) & 0x5555555555555555u;
  word = (word & 0x3333333333333333u) + ((word >> 2) & 0x3333333333333333u);
  word = (word + (word >> 4)) & 0x0f0f0f0f0f0f0f0fu;
  return static_cast<uint32_t>((word * 0x0101010101010101u) >> 56);
#endif
}

template <template <typename> class Atomic>
inline uint32_t BasicSeatPoolCore<Atomic>::SelectBit(uint64_t word,
                                                     uint32_t k) {
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

template <template <typename> class Atomic>
inline uint32_t BasicSeatPoolCore<Atomic>::TakeFromLeaf(uint32_t index,
                                                        uint64_t word,
                                                        uint32_t from,
                                                        bool* contended) {
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

template <template <typename> class Atomic>
inline bool BasicSeatPoolCore<Atomic>::TakeSeatBit(uint32_t index) {
  const uint32_t leaf_index = index / bits_per_leaf_;
  const uint64_t bit = uint64_t{1} << (index % bits_per_leaf_);
  Atomic<uint64_t>& bits = leaf(leaf_index);
  uint64_t word = bits.load(std::memory_order_acquire);
  while ((word & bit) != 0) {
    const uint64_t taken = word & ~bit;
    // As TakeFromLeaf: acquire pairs with the release that set the bit, so
    // the seat's free word is seen.
    if (bits.compare_exchange_weak(word, taken, std::memory_order_acq_rel,
                                   std::memory_order_acquire)) {
      if (FreeBitsOf(taken) == 0) ClearUp(0, leaf_index);
      return true;
    }
  }
  return false;
}

template <template <typename> class Atomic>
inline uint32_t BasicSeatPoolCore<Atomic>::TakeFreeBit() {
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
  if (contended) [[unlikely]]
    MoveHint(hint);
  return seat;
}

template <template <typename> class Atomic>
uint32_t BasicSeatPoolCore<Atomic>::TakeFreeBitSlowly(int64_t now_units) {
  uint32_t index = TakeFreeBitExactly();
  if (index == kNone) {
    ReapUnits(now_units);
    index = TakeFreeBitExactly();
  }
  if (index == kNone) {
    // Every seat was reserved at one instant of the last search.
    refusals_.fetch_add(1, std::memory_order_relaxed);
    RaisePeak(capacity_ - retired_count_.load(std::memory_order_acquire));
  }
  return index;
}

template <template <typename> class Atomic>
inline uint32_t BasicSeatPoolCore<Atomic>::ScanTake(uint64_t* releases) {
  const uint32_t start = ThreadHint() % leaf_count_;
  bool contended = false;
  for (uint32_t n = 0; n < leaf_count_; ++n) {
    const uint32_t index =
        start + n < leaf_count_ ? start + n : start + n - leaf_count_;
    const uint64_t word = leaf(index).load(std::memory_order_seq_cst);
    if (releases != nullptr) *releases += word >> kLeafBits;
    if (FreeBitsOf(word) != 0) {
      const uint32_t seat = TakeFromLeaf(index, word, 0, &contended);
      if (seat != kNone) return seat;
    }
  }
  return kNone;
}

template <template <typename> class Atomic>
inline uint32_t BasicSeatPoolCore<Atomic>::TakeFreeBitExactly() {
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

template <template <typename> class Atomic>
void BasicSeatPoolCore<Atomic>::ClearUp(size_t level, uint32_t index) {
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

template <template <typename> class Atomic>
inline bool BasicSeatPoolCore<Atomic>::IsEmpty(size_t level, uint64_t word) {
  return (level == 0 ? FreeBitsOf(word) : word) == 0;
}

template <template <typename> class Atomic>
void BasicSeatPoolCore<Atomic>::SetUp(size_t level, uint32_t index) {
  while (level < summaries_.size()) {
    const uint64_t bit = uint64_t{1} << (index % 64);
    const uint64_t before =
        summaries_[level][index / 64].fetch_or(bit, std::memory_order_acq_rel);
    if (before != 0) return;
    ++level;
    index /= 64;
  }
}

template <template <typename> class Atomic>
inline void BasicSeatPoolCore<Atomic>::SetFreeBit(uint32_t seat) {
  const uint32_t index = seat / bits_per_leaf_;
  const uint64_t before = leaf(index).fetch_add(
      (uint64_t{1} << (seat % bits_per_leaf_)) + kReleaseCount,
      std::memory_order_seq_cst);
  if (FreeBitsOf(before) == 0) SetUp(0, index);
}

template <template <typename> class Atomic>
inline bool BasicSeatPoolCore<Atomic>::Enqueue(uint32_t index, int64_t deadline,
                                               std::memory_order order) {
  if (queued_[index].load(order) != 0) return false;
  if (queued_[index].exchange(1, std::memory_order_seq_cst) != 0) return false;
  Push(index, deadline);
  return true;
}

template <template <typename> class Atomic>
inline void BasicSeatPoolCore<Atomic>::Push(uint32_t index, int64_t deadline) {
  const int64_t reaped = reaped_through_.load(std::memory_order_acquire);
  const int64_t tick =
      std::clamp(deadline / tick_units_, reaped + 1, reaped + kWheelSlots - 1);
  Atomic<uint32_t>& head = slot_heads_[tick % kWheelSlots];
  uint32_t first = head.load(std::memory_order_relaxed);
  do {
    next_in_slot_[index].store(first, std::memory_order_relaxed);
  } while (!head.compare_exchange_weak(first, index, std::memory_order_release,
                                       std::memory_order_relaxed));
}

template <template <typename> class Atomic>
inline size_t BasicSeatPoolCore<Atomic>::Visit(uint32_t index,
                                               int64_t now_units,
                                               int64_t base) {
  Atomic<uint64_t>& seat = seats_[index];
  uint64_t word = seat.load(std::memory_order_acquire);
  size_t reclaimed = 0;
  while (!IsFree(word)) {
    const int64_t deadline = DeadlineOf(word, base);
    if (deadline > now_units) {
      Push(index, deadline);  // Extended: wait in its new slot.
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

template <template <typename> class Atomic>
inline std::optional<SeatReservation> BasicSeatPool<Atomic>::Acquire(
    const SeatKey& key, absl::Time now) {
  Shard& shard = ShardOf(key);
  {
    internal::MutexLock lock(shard.mutex);
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
  internal::MutexLock lock(shard.mutex);
  auto [it, inserted] =
      shard.holders.try_emplace(key, Holder{*handle, now, now});
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

template <template <typename> class Atomic>
inline bool BasicSeatPool<Atomic>::Adopt(const SeatHolder& holder,
                                         absl::Time now) {
  Shard& shard = ShardOf(holder.key);
  internal::MutexLock lock(shard.mutex);
  if (shard.holders.contains(holder.key)) return false;
  std::optional<SeatHandle> handle = core_.Acquire(now, holder.expires_at);
  if (!handle.has_value()) return false;
  shard.holders.emplace(holder.key,
                        Holder{*handle, holder.since, holder.last_heartbeat});
  return true;
}

template <template <typename> class Atomic>
inline bool BasicSeatPool<Atomic>::AdoptAt(const SeatHolder& holder,
                                           absl::Time now) {
  Shard& shard = ShardOf(holder.key);
  internal::MutexLock lock(shard.mutex);
  if (auto it = shard.holders.find(holder.key); it != shard.holders.end()) {
    if (core_.Inspect(it->second.handle, now).has_value()) return false;
    shard.holders.erase(it);  // Its seat was lost: as Acquire forgets it.
  }
  std::optional<SeatHandle> handle =
      core_.AcquireSeat(holder.handle.index, now, holder.expires_at);
  if (!handle.has_value()) return false;
  shard.holders.emplace(holder.key,
                        Holder{*handle, holder.since, holder.last_heartbeat});
  return true;
}

template <template <typename> class Atomic>
inline std::optional<SeatHolder> BasicSeatPool<Atomic>::Find(
    const SeatKey& key, absl::Time now) const {
  const Shard& shard = ShardOf(key);
  internal::MutexLock lock(shard.mutex);
  auto it = shard.holders.find(key);
  if (it == shard.holders.end()) return std::nullopt;
  std::optional<SeatState> state = core_.Inspect(it->second.handle, now);
  if (!state.has_value()) return std::nullopt;
  return SeatHolder{key, it->second.handle, it->second.since,
                    it->second.last_heartbeat, state->expires_at};
}

template <template <typename> class Atomic>
inline std::optional<SeatReservation> BasicSeatPool<Atomic>::Heartbeat(
    const SeatKey& key, absl::Time now) {
  return Acquire(key, now);
}

template <template <typename> class Atomic>
inline bool BasicSeatPool<Atomic>::Release(const SeatKey& key) {
  Shard& shard = ShardOf(key);
  internal::MutexLock lock(shard.mutex);
  auto it = shard.holders.find(key);
  if (it == shard.holders.end()) return false;
  const bool released = core_.Release(it->second.handle);
  shard.holders.erase(it);
  return released;
}

template <template <typename> class Atomic>
inline size_t BasicSeatPool<Atomic>::ReleaseIdentity(IdentityId identity) {
  size_t released = 0;
  for (Shard& shard : shards_) {
    internal::MutexLock lock(shard.mutex);
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

template <template <typename> class Atomic>
inline size_t BasicSeatPool<Atomic>::ReleaseAll() {
  size_t released = 0;
  for (Shard& shard : shards_) {
    internal::MutexLock lock(shard.mutex);
    for (const auto& [key, holder] : shard.holders) {
      released += core_.Release(holder.handle) ? 1 : 0;
    }
    shard.holders.clear();
  }
  return released;
}

template <template <typename> class Atomic>
inline std::vector<SeatHolder> BasicSeatPool<Atomic>::Holders(
    absl::Time now) const {
  std::vector<SeatHolder> holders;
  for (const Shard& shard : shards_) {
    internal::MutexLock lock(shard.mutex);
    for (const auto& [key, holder] : shard.holders) {
      if (std::optional<SeatState> state = core_.Inspect(holder.handle, now)) {
        holders.push_back(SeatHolder{key, holder.handle, holder.since,
                                     holder.last_heartbeat, state->expires_at});
      }
    }
  }
  return holders;
}

template <template <typename> class Atomic>
inline size_t BasicSeatPool<Atomic>::Sweep(absl::Time now) {
  const size_t reclaimed = core_.Reap(now);
  core_.SampleUse();
  for (Shard& shard : shards_) {
    internal::MutexLock lock(shard.mutex);
    absl::erase_if(shard.holders, [&](const auto& entry) {
      return !core_.Inspect(entry.second.handle, now).has_value();
    });
  }
  return reclaimed;
}

template <template <typename> class Atomic>
inline auto BasicSeatPool<Atomic>::ShardOf(const SeatKey& key) -> Shard& {
  return shards_[absl::HashOf(key) % kShards];
}

template <template <typename> class Atomic>
inline auto BasicSeatPool<Atomic>::ShardOf(const SeatKey& key) const
    -> const Shard& {
  return shards_[absl::HashOf(key) % kShards];
}

}  // namespace entitle

#endif  // ENTITLE_INTERNAL_SEAT_POOL_IMPL_H_
