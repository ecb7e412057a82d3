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
//     heartbeat and release take no lock: one compare-and-swap on an in-use
//     counter, one on a bitmap word, one on the seat's own word.
//   - `BasicSeatPool`: seats reserved per (identity, device) key (ENT-3): the
//     same key asking again gets its own seat back; another device of the same
//     identity takes another seat. The key map is sharded and locked per shard;
//     the bitmap path beneath it takes no lock.
//
// How it works:
//   - In-use counter: a reservation first raises it by CAS while it is below the
//     limit. A failed raise is the instant at which every seat was reserved, so
//     "All license seats are reserved" (ENT-5) is exact, and lowering the limit
//     below use takes no seat away but gives none until use drops (ENT-7).
//   - Free seats: a bitmap of 64-bit words (1 = free) with 64-ary summary words
//     above it (one level up to 4096 seats, three for a million). A thread
//     starts at its own random hint; small pools spread their seats over eight
//     words on separate cache lines. Holding a reservation guarantees a free
//     bit exists, so the search always ends.
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
// times from one clock, none earlier than the pool's epoch. Deadlines are kept
// in units of lease/4096 (at least 1 ms), rounded up: a lease is never shorter
// than asked, and longer by less than one unit. A pool serves while its
// deadlines stay below 2^32 - 1 units after its epoch (a deadline word keeps
// 0 for "free"): 357 years for a 3-hour lease, 49 days for leases under 4 s;
// make pools with the current time as their epoch.
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
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/time/time.h"
#include "entitle/ids.h"

namespace entitle {

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
        unit_ms_(std::max<int64_t>(1, lease_ms_ / kUnitsPerLease)),
        epoch_(epoch),
        // The wheel spans about four leases.
        tick_units_(std::max<int64_t>(
            1, (lease_ms_ / unit_ms_) * 4 / kWheelSlots)) {
    bits_per_word_ = capacity_ <= kSpreadBelow
                         ? std::max<uint32_t>(1, (capacity_ + 7) / 8)
                         : 64;
    stride_ = capacity_ <= kSpreadBelow ? kWordsPerLine : 1;
    const uint32_t words = (capacity_ + bits_per_word_ - 1) / bits_per_word_;
    leaves_ = std::make_unique<Atomic<uint64_t>[]>(size_t{words} * stride_);
    leaf_count_ = words;
    for (uint32_t w = 0; w < words; ++w) {
      const uint32_t first = w * bits_per_word_;
      const uint32_t bits = std::min(bits_per_word_, capacity_ - first);
      leaf(w).store(bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1,
                    std::memory_order_relaxed);
    }
    // Summary levels until one word covers everything.
    uint32_t below = words;
    while (below > 1) {
      const uint32_t count = (below + 63) / 64;
      auto level = std::make_unique<Atomic<uint64_t>[]>(count);
      for (uint32_t i = 0; i < count; ++i) {
        const uint32_t children = std::min<uint32_t>(64, below - i * 64);
        level[i].store(children == 64 ? ~uint64_t{0}
                                       : (uint64_t{1} << children) - 1,
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
    in_use_.store(0, std::memory_order_relaxed);
    peak_.store(0, std::memory_order_relaxed);
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
  uint32_t limit() const { return limit_.load(std::memory_order_relaxed); }
  // Seats reserved now, expired-but-unreclaimed ones included.
  uint32_t in_use() const { return in_use_.load(std::memory_order_relaxed); }

  // ENT-7: sets the purchased seat count (clamped to the capacity). Lowering
  // it below use takes no seat away; no new seat is given until use is below.
  void set_limit(uint32_t limit) {
    limit_.store(std::min(limit, capacity_), std::memory_order_relaxed);
  }

  // ENT-12: the most seats in use at once since the last TakePeak (or since
  // construction); restarts the count from the current use.
  uint32_t TakePeak() {
    return peak_.exchange(in_use(), std::memory_order_relaxed);
  }
  uint32_t peak() const { return peak_.load(std::memory_order_relaxed); }

  // Reserves a free seat until `now` + lease. Nothing when every seat is
  // reserved (after reclaiming any whose lease ran out).
  std::optional<SeatHandle> Acquire(absl::Time now) {
    if (!Reserve()) {
      Reap(now);
      if (!Reserve()) return std::nullopt;
    }
    const uint32_t index = TakeFreeBit();
    // The seat is ours alone: its word is {g, free}.
    const uint64_t free_word = seats_[index].load(std::memory_order_acquire);
    const uint32_t generation = GenerationOf(free_word);
    const int64_t deadline = DeadlineFrom(now);
    // Sequentially consistent, with Enqueue's read of the queued flag: see
    // Visit for the other half of this handshake.
    seats_[index].store(Word(generation, deadline), std::memory_order_seq_cst);
    Enqueue(index, deadline);
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
                     epoch_ + absl::Milliseconds(DeadlineOf(word) * unit_ms_)};
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
    return reclaimed;
  }

 private:
  static constexpr uint32_t kNone = ~uint32_t{0};
  static constexpr uint32_t kSpreadBelow = 512;
  static constexpr uint32_t kWordsPerLine = 8;  // 64-byte cache lines.
  static constexpr int64_t kWheelSlots = 1024;
  static constexpr int64_t kUnitsPerLease = 4096;
  static constexpr int kDeadlineBits = 32;
  static constexpr uint64_t kDeadlineMask = (uint64_t{1} << kDeadlineBits) - 1;

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
    return std::max<int64_t>(0, absl::ToInt64Milliseconds(now - epoch_));
  }
  // The unit `now` falls in (rounded down).
  int64_t UnitsAt(absl::Time now) const { return MsAt(now) / unit_ms_; }
  // The deadline of a lease starting `now`, rounded up to a whole unit.
  int64_t DeadlineFrom(absl::Time now) const {
    return (MsAt(now) + lease_ms_ + unit_ms_ - 1) / unit_ms_;
  }

  // --------------------------------------------------------- counting

  bool Reserve() {
    uint32_t used = in_use_.load(std::memory_order_relaxed);
    do {
      if (used >= limit_.load(std::memory_order_relaxed)) return false;
    } while (!in_use_.compare_exchange_weak(used, used + 1,
                                            std::memory_order_acq_rel,
                                            std::memory_order_relaxed));
    uint32_t peak = peak_.load(std::memory_order_relaxed);
    while (used + 1 > peak &&
           !peak_.compare_exchange_weak(peak, used + 1,
                                        std::memory_order_relaxed)) {
    }
    return true;
  }

  // After a seat's word went to free: its bit back, then the count down, so a
  // reserver always finds a bit.
  void ReturnSeat(uint32_t index) {
    SetFreeBit(index);
    in_use_.fetch_sub(1, std::memory_order_acq_rel);
  }

  // --------------------------------------------------------- the bitmap

  Atomic<uint64_t>& leaf(uint32_t word) { return leaves_[size_t{word} * stride_]; }

  // The word at `level` (0 = leaves) and `index`.
  Atomic<uint64_t>& WordAt(size_t level, uint32_t index) {
    return level == 0 ? leaf(index) : summaries_[level - 1][index];
  }

  static uint32_t ThreadHint() {
    static thread_local const uint32_t hint = [] {
      std::random_device device;
      return static_cast<uint32_t>(device());
    }();
    return hint;
  }

  // A set bit of `word` (non-zero), starting the search at `from`.
  static uint32_t PickBit(uint64_t word, uint32_t from) {
    from &= 63;
    const uint64_t rotated = std::rotr(word, static_cast<int>(from));
    return (static_cast<uint32_t>(std::countr_zero(rotated)) + from) & 63;
  }

  // Takes a free seat's bit. The caller holds a reservation, so one exists;
  // the loop only waits out other threads' half-finished updates.
  uint32_t TakeFreeBit() {
    const uint32_t hint = ThreadHint();
    for (uint32_t attempt = 0;; ++attempt) {
      uint32_t index = 0;
      bool descended = true;
      for (size_t level = summaries_.size(); level > 0; --level) {
        const uint64_t word =
            WordAt(level, index).load(std::memory_order_acquire);
        if (word == 0) {
          descended = false;
          break;
        }
        index = index * 64 + PickBit(word, hint >> (6 * (level % 5)));
      }
      if (descended) {
        Atomic<uint64_t>& bits = leaf(index);
        uint64_t word = bits.load(std::memory_order_acquire);
        while (word != 0) {
          const uint32_t bit = PickBit(word, hint);
          const uint64_t taken = word & ~(uint64_t{1} << bit);
          if (bits.compare_exchange_weak(word, taken, std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
            if (taken == 0) ClearUp(0, index);
            return index * bits_per_word_ + bit;
          }
        }
        ClearUp(0, index);  // A stale summary led here; mend it.
      }
      if (attempt > 64) std::this_thread::yield();
    }
  }

  // Word `index` at `level` was seen empty: clear its bit above, unless it
  // filled again meanwhile, and carry the clearing up while levels empty.
  void ClearUp(size_t level, uint32_t index) {
    while (level < summaries_.size()) {
      const uint64_t bit = uint64_t{1} << (index % 64);
      Atomic<uint64_t>& parent = summaries_[level][index / 64];
      const uint64_t before = parent.fetch_and(~bit, std::memory_order_acq_rel);
      if (WordAt(level, index).load(std::memory_order_acquire) != 0) {
        SetUp(level, index);  // Refilled meanwhile: undo.
        return;
      }
      if ((before & ~bit) != 0) return;
      ++level;
      index /= 64;
    }
  }

  // Word `index` at `level` is non-empty: make sure the levels above say so.
  void SetUp(size_t level, uint32_t index) {
    while (level < summaries_.size()) {
      const uint64_t bit = uint64_t{1} << (index % 64);
      const uint64_t before =
          summaries_[level][index / 64].fetch_or(bit, std::memory_order_acq_rel);
      if (before != 0) return;
      ++level;
      index /= 64;
    }
  }

  void SetFreeBit(uint32_t seat) {
    const uint32_t word = seat / bits_per_word_;
    const uint64_t before = leaf(word).fetch_or(
        uint64_t{1} << (seat % bits_per_word_), std::memory_order_acq_rel);
    if (before == 0) SetUp(0, word);
  }

  // --------------------------------------------------------- the wheel

  // Puts a reserved seat in the slot for `deadline` (units), unless it is
  // already in a slot (the reaper then moves it when it comes to it).
  void Enqueue(uint32_t index, int64_t deadline) {
    // Sequentially consistent with the seat word's store before it, against
    // Visit's store of the flag and load of the word: one of the two sides
    // always sees the other, so a reserved seat is never left out.
    if (queued_[index].load(std::memory_order_seq_cst) != 0) return;
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
    // Free now: out of the wheel. A holder that reserved it meanwhile either
    // sees the cleared flag and enqueues it, or is seen here and re-enqueued.
    queued_[index].store(0, std::memory_order_seq_cst);
    const uint64_t after = seat.load(std::memory_order_seq_cst);
    if (!IsFree(after)) Enqueue(index, DeadlineOf(after));
    return reclaimed;
  }

  const uint32_t capacity_;
  const int64_t lease_ms_;
  const int64_t unit_ms_;
  const absl::Time epoch_;
  const int64_t tick_units_;
  uint32_t bits_per_word_ = 64;
  uint32_t stride_ = 1;
  uint32_t leaf_count_ = 0;

  alignas(64) Atomic<uint32_t> in_use_;
  alignas(64) Atomic<uint32_t> limit_;
  alignas(64) Atomic<uint32_t> peak_;
  alignas(64) Atomic<int64_t> reaped_through_;

  std::unique_ptr<Atomic<uint64_t>[]> leaves_;
  std::vector<std::unique_ptr<Atomic<uint64_t>[]>> summaries_;
  std::unique_ptr<Atomic<uint64_t>[]> seats_;
  std::unique_ptr<Atomic<uint32_t>[]> next_in_slot_;
  std::unique_ptr<Atomic<uint32_t>[]> queued_;
  std::array<Atomic<uint32_t>, kWheelSlots> slot_heads_;
  std::mutex reaper_mutex_;
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

  // Reclaims expired seats (BasicSeatPoolCore::Reap) and forgets keys whose
  // seat is gone. Cost: the expired seats plus the keys held; for a periodic
  // sweep, not the hot path.
  size_t Sweep(absl::Time now) {
    const size_t reclaimed = core_.Reap(now);
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
