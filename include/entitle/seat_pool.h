// Floating license seats (SPEC ENT-3, ENT-4, ENT-5, ENT-7, ENT-11, ENT-12): the
// library's hot path, header-only so it inlines into the host.
//
// A pool has a fixed capacity of physical seats (1 to kMaxSeats) and a limit
// (the purchased seat count, at most the capacity, changeable at any time). A
// seat is reserved for a lease; a heartbeat extends the lease; a release or the
// lease running out frees it. The pool never has more reserved seats than the
// limit allowed at the moment each was reserved, and never gives one seat to
// two holders.
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
//   - Each seat has one 64-bit word: a 32-bit generation, a "reserved" bit
//     and the low 31 bits of the deadline (in units since the pool's epoch,
//     read as described under "Times"). A `SeatHandle` is {index,
//     generation}. Release and expiry both CAS {g, d} to {g+1, free} before
//     setting the bit, so exactly one wins and a stale handle can never free
//     or extend a seat given to someone else (ENT-4: no ABA), until the same
//     seat has been reserved 2^32 more times.
//   - Expiry: a reserved seat sits in a timing wheel slot for its deadline (a
//     lock-free stack per slot). `Reap(now)` visits only the slots that came
//     due, so its cost follows the seats that expire, not the pool size; seats
//     whose lease was extended meanwhile move to their new slot. A released
//     seat stays in its slot until the reaper passes it, so a reservation
//     whose lease is cut short (Acquire(now, until), AcquireSeat) that finds
//     its seat still in a slot, perhaps a later one, is also kept in a heap
//     by deadline that Reap reads (off the hot path). A reservation that
//     finds the pool full reaps before it gives up (ENT-4: an expired seat is
//     reclaimed at the latest when a reservation would otherwise fail).
//
// Times (SEC-11): every call takes `now` from the host's `Clock`; pass
// non-decreasing times from one clock, none earlier than the pool's epoch.
// Times count in whole milliseconds since the epoch (a `now` between two
// counts as the earlier). Leases are whole milliseconds from kMinSeatLease
// to kMaxSeatLease (seat_types.h; the constructor clamps others into that
// range, truncating to whole ms).
//   - Deadlines are kept in units of resolution(): 1 ms for every lease up to
//     2^29 ms (6 days 5 hours), so such a lease ends exactly `lease` after
//     the reservation or the last heartbeat: a seat is held at `last + lease
//     - 1 ms` and lost at `last + lease`. A longer lease uses the smallest
//     power of two milliseconds that keeps it within 2^29 units (64 ms for
//     366 days) and its end is rounded DOWN to a whole unit: it may end up to
//     one unit early, never late. The seat count is the promise that matters
//     (a seat held past its lease is one another user is refused), so a
//     seat is never freed late; freeing it up to 2^-29 of its lease early
//     costs a device that heartbeats far more often than that nothing, and
//     the device is told the exact end (Inspect, SeatHolder::expires_at).
//   - A pool serves for as long as it runs, whatever its epoch and lease: a
//     seat word keeps the deadline's low 31 bits and every reader takes the
//     full deadline as the one nearest the pool's "base", the latest time a
//     Reap ran to (its `now`; the epoch before the first). Every deadline a
//     reservation holds lies within a quarter of the 2^31 range of the base,
//     because: a lease is at most 2^29 units; the reaper frees every expired
//     seat when it runs, so no deadline older than the base survives it; and
//     an Acquire or Heartbeat at 2^29 units or more past the base reaps first
//     (as Reap(now), under the reaper's lock: off the hot path, at most once
//     per 2^29 units, and never when the host sweeps more often than that).
//     A call whose `now` is 2^29 units or more before the base (a clock that
//     stood still for days) counts as made at the base. Only a call stalled
//     for 2^29 units (6 days at 1 ms) between reading the base and writing
//     its deadline could leave a deadline that later readers misjudge; even
//     then no seat has two holders and the count stays exact: who holds a
//     seat is decided by its generation alone, deadlines only say when.
//
// Peak use (ENT-12) is sampled, not counted per reservation: a shared counter
// would be the one cache line every thread writes. The peak is raised exactly
// when a reservation finds every seat reserved, and by SampleUse (which
// SeatPool::Sweep calls); a host samples at the interval it reports at.
//
// Thread safety: every method of both classes may be called concurrently.
// `Atomic` is the atomic template used for all shared words (std::atomic by
// default), a parameter so a model checker's atomics can be swapped in.
//
// This header is the contract; the method bodies (the bitmap search, the
// limit, the wheel and the reaper) are in entitle/internal/seat_pool_impl.h,
// included at its end, and the value types in entitle/seat_types.h.
#ifndef ENTITLE_SEAT_POOL_H_
#define ENTITLE_SEAT_POOL_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "entitle/ids.h"
#include "entitle/internal/asymmetric_fence.h"
#include "entitle/internal/mutex.h"
#include "entitle/seat_types.h"

namespace entitle {

template <template <typename> class Atomic = std::atomic>
class BasicSeatPoolCore {
 public:
  static constexpr uint32_t kMaxSeats = kMaxSeatsPerPool;

  // A pool of `capacity` seats (1..kMaxSeats; clamped), all free, with a limit
  // of `capacity`. Leases last `lease` (whole ms, clamped to kMinSeatLease ..
  // kMaxSeatLease). `epoch` must not be later than any `now` passed (see
  // "Times" above); any earlier instant works.
  BasicSeatPoolCore(uint32_t capacity, absl::Duration lease, absl::Time epoch);

  BasicSeatPoolCore(const BasicSeatPoolCore&) = delete;
  BasicSeatPoolCore& operator=(const BasicSeatPoolCore&) = delete;

  uint32_t capacity() const { return capacity_; }
  absl::Duration lease() const { return absl::Milliseconds(lease_ms_); }
  // The unit deadlines are kept in: 1 ms for leases up to 2^29 ms, else the
  // smallest power of two milliseconds that keeps the lease within 2^29
  // units. A lease that starts at `now` ends at `now` + lease rounded down to
  // a multiple of it (counted from the epoch; exact at 1 ms); it has ended
  // at any `now` at or past that.
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
  uint32_t in_use() const;

  // ENT-7: sets the purchased seat count (clamped to the capacity). Lowering
  // it below use takes no seat away; no new seat is given until use is below:
  // the seats above the limit are retired, free ones at once and the rest as
  // their holders release them. Raising it returns retired seats. Serialized
  // with other calls of set_limit; the hot path is not blocked.
  void set_limit(uint32_t limit);

  // ENT-12: the high-water mark of seats in use. It is raised exactly when a
  // reservation finds every seat reserved (use = all seats then), and by
  // `SampleUse`; between samples a brief peak below the limit can be missed,
  // so a host samples at the interval it reports peaks at (SeatPool::Sweep
  // samples). `TakePeak` returns it and restarts it from the current use.
  uint32_t peak() const { return peak_.load(std::memory_order_relaxed); }
  uint32_t SampleUse();
  uint32_t TakePeak();
  // How many reservations found every seat reserved, since construction.
  uint64_t refusals() const {
    return refusals_.load(std::memory_order_relaxed);
  }

  // Reserves a free seat until `now` + lease. Nothing when every seat is
  // reserved (after reclaiming any whose lease ran out).
  std::optional<SeatHandle> Acquire(absl::Time now);

  // The same, for a reservation that must end no later than `until` (a
  // reservation moved from another pool keeps its end): the lease ends at
  // the earlier of `until` and `now` + lease. Nothing, and no seat taken,
  // when that is not after `now`.
  std::optional<SeatHandle> Acquire(absl::Time now, absl::Time until);

  // ACT-4: reserves seat `index` itself, as Acquire(now, until) reserves
  // any: the lease ends at the earlier of `until` and `now` + lease, rounded
  // the same way. For rebuilding a pool from stored reservations with every
  // holder on the seat it had (BasicSeatPool::AdoptAt). A seat whose lease
  // ran out but that was not reclaimed yet is reclaimed first (ENT-4) and
  // given, unless a lowered limit retires it. Nothing, and no seat taken,
  // when `index` is not below the capacity, the seat is reserved (whoever
  // holds it) or retired by a lowered limit (ENT-7), or the lease would not
  // end after `now`. The handle's generation is this pool's own. It never
  // searches: a compare-and-swap on the seat's bitmap word, then the seat's
  // own word, as Acquire. A refusal proves only that this seat was taken, so
  // it is not counted in refusals() and raises no peak.
  std::optional<SeatHandle> AcquireSeat(uint32_t index, absl::Time now,
                                        absl::Time until);

  // Extends the lease of `handle` to `now` + lease. False when the handle no
  // longer holds its seat: released, or its lease ran out (even if the seat
  // was not reclaimed yet), or the seat went to someone else.
  bool Heartbeat(SeatHandle handle, absl::Time now);

  // Frees the seat of `handle`. False when the seat went free or to someone
  // else; a handle whose lease ran out but whose seat was not reclaimed yet
  // still frees it (the seat is free afterwards either way).
  bool Release(SeatHandle handle);

  // The seat of `handle` while the handle still holds it and its lease runs.
  std::optional<SeatState> Inspect(SeatHandle handle, absl::Time now) const;

  // Frees every seat whose lease ran out by `now`; returns how many. Its cost
  // follows the seats that came due, not the capacity. One reaper runs at a
  // time; others wait for it, so that when Reap returns every lease that ran
  // out by `now` is reclaimed. Moves the pool's base (see "Times") to `now`
  // when later.
  size_t Reap(absl::Time now);

 private:
  static constexpr uint32_t kNone = ~uint32_t{0};
  // A leaf word: free bits in the low half, a release count in the high half.
  static constexpr uint32_t kLeafBits = 32;
  static constexpr uint32_t kLeavesPerLine = 8;  // 64-byte cache lines.
  static constexpr uint32_t kSpreadBelow = kLeafBits * kLeavesPerLine;
  static constexpr uint64_t kReleaseCount = uint64_t{1} << kLeafBits;
  static constexpr int64_t kWheelSlots = 1024;
  // A seat word: generation << 32 | reserved bit | deadline's low 31 bits.
  static constexpr int kGenerationShift = 32;
  static constexpr uint64_t kReserved = uint64_t{1} << 31;
  static constexpr int kDeadlineBits = 31;
  static constexpr uint64_t kDeadlineMask = (uint64_t{1} << kDeadlineBits) - 1;
  // A quarter of the deadline range: the longest lease in units, how far
  // past the base a reservation may be made before the pool reaps, and how
  // far below the base a live deadline may lie (see "Times").
  static constexpr int64_t kHorizon = int64_t{1} << (kDeadlineBits - 2);

  static constexpr uint64_t LowBits(uint32_t n);

  // --------------------------------------------------------- seat words

  static uint32_t GenerationOf(uint64_t word);
  static bool IsFree(uint64_t word);
  // The full deadline (units) of a reserved seat's word: the value with the
  // word's low bits in [base - kHorizon, base + 3 kHorizon).
  static int64_t DeadlineOf(uint64_t word, int64_t base);
  static uint64_t Word(uint32_t generation, int64_t deadline_units);
  static uint64_t FreedWord(uint64_t word);

  // Milliseconds since the epoch (0 before it).
  int64_t MsAt(absl::Time now) const;
  // The unit `now` falls in (rounded down).
  int64_t UnitsAt(absl::Time now) const;
  // The deadline of a lease starting `ms` after the epoch, rounded down to a
  // whole unit.
  int64_t DeadlineAt(int64_t ms) const;

  // `now` in ms since the epoch, once the pool's deadlines can be read
  // against it: reaps first when it is kHorizon units or more past the base
  // (and counts as the base when as far before it). Sets `*base` to the
  // base to read deadlines against.
  int64_t Caught(absl::Time now, int64_t* base);
  ABSL_ATTRIBUTE_NOINLINE inline int64_t CatchUp(int64_t ms, int64_t* base);

  // Reap with `now` in units.
  size_t ReapUnits(int64_t now_units);

  // Reap's part for `early_`: reclaims the entries due by `now_units` whose
  // seat still holds their reservation; returns how many.
  ABSL_ATTRIBUTE_NOINLINE inline size_t ReapEarly(int64_t now_units,
                                                  int64_t base)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(reaper_mutex_);

  // Acquire with `now` caught up and the deadline the lease gets.
  std::optional<SeatHandle> AcquireCaught(int64_t now_units,
                                          int64_t deadline_units);

  // Seat `index`, whose free bit this thread took, is ours alone: writes its
  // word {generation, deadline} and puts it in the wheel, with the orders
  // and fences Reap pairs with. Every reservation ends here. Sets
  // `*in_its_slot`, when given, to whether this call put the seat in the
  // slot for `deadline_units`; else it was in a slot already (see Enqueue).
  ABSL_ATTRIBUTE_ALWAYS_INLINE inline SeatHandle ReserveTaken(
      uint32_t index, int64_t deadline_units, bool* in_its_slot = nullptr);

  // ReserveTaken for a lease that may end before `now` + lease (`cut`). The
  // wheel only moves seats on to later slots, and a seat released early may
  // still wait in the slot for its last holder's later deadline: when the
  // seat was in a slot already, a reservation cut short is noted in
  // `early_` as well, so that Reap reclaims it at its own end.
  SeatHandle ReserveBounded(uint32_t index, int64_t deadline_units, bool cut);

  // A reservation cut short whose seat was in the wheel already.
  struct Early {
    int64_t deadline;  // units
    uint32_t index;
    uint32_t generation;
  };
  static bool EndsLater(const Early& a, const Early& b) {
    return a.deadline > b.deadline;
  }
  ABSL_ATTRIBUTE_NOINLINE inline void NoteEarly(SeatHandle handle,
                                                int64_t deadline_units);

  // --------------------------------------------------------- use and limit

  void RaisePeak(uint32_t use);

  // After a seat's word went to free: its bit back, unless a lowered limit
  // still wants seats retired (ENT-7).
  void ReturnSeat(uint32_t index);

  ABSL_ATTRIBUTE_NOINLINE inline void PayDebt();

  // Retires `index`, a seat whose word is free and whose bit is clear, when a
  // debt is still owed under the lock; false when it was paid meanwhile.
  ABSL_ATTRIBUTE_NOINLINE inline bool RetireReturned(uint32_t index);

  // Retires free seats while a debt is owed.
  void PayDebtLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(limit_mutex_);

  // --------------------------------------------------------- the bitmap

  static uint64_t FreeBitsOf(uint64_t leaf_word);

  Atomic<uint64_t>& leaf(uint32_t index);
  const Atomic<uint64_t>& leaf(uint32_t index) const;

  // The word at `level` (0 = leaves) and `index`.
  Atomic<uint64_t>& WordAt(size_t level, uint32_t index);

  // Where this thread starts its searches. Threads that collide on a word
  // move their hint elsewhere, so that busy threads settle on words of
  // their own.
  static uint32_t& ThreadHint();
  ABSL_ATTRIBUTE_NOINLINE static inline uint32_t SeedHint();
  static void MoveHint(uint32_t& hint);  // xorshift32: never 0 from non-0.

  // A set bit of `word` (non-zero), starting the search at `from`.
  static uint32_t PickBit(uint64_t word, uint32_t from);

  // std::popcount is a library call unless the build targets POPCNT.
  static uint32_t PopCount(uint64_t word);

  // A set bit of `word` (non-zero) chosen by `k`: bit k % 64 when set, else
  // the (k mod popcount)-th set bit. Threads with different hints spread over
  // the non-empty children even when those are few and side by side.
  static uint32_t SelectBit(uint64_t word, uint32_t k);

  // Takes a free bit of leaf `index` whose word was `word`; the seat, or
  // nothing once the leaf has no free bit. Sets `contended` when another
  // thread changed the word meanwhile.
  uint32_t TakeFromLeaf(uint32_t index, uint64_t word, uint32_t from,
                        bool* contended);

  // Takes seat `index`'s free bit (index < capacity); false when it is
  // clear: the seat is reserved, retired, or between a release's word and
  // its bit.
  bool TakeSeatBit(uint32_t index);

  // The fast search: down the summaries from this thread's hint. Nothing
  // when it meets empty words a few times: the pool may be full, and only
  // TakeFreeBitExactly can tell.
  uint32_t TakeFreeBit();

  // The full path of Acquire: the exact search, then a reap and the exact
  // search again. kNone when every seat was reserved.
  ABSL_ATTRIBUTE_NOINLINE inline uint32_t TakeFreeBitSlowly(int64_t now_units);

  // One pass over every leaf from this thread's hint, taking the first free
  // bit found. Adds each leaf's release count to `*releases` when given.
  uint32_t ScanTake(uint64_t* releases);

  // The exact search (ENT-5): a free seat, or kNone only if at one instant
  // every seat was reserved. Two passes that find no free bit and the same
  // sum of release counts mean no leaf gained a bit between its two reads,
  // so at the end of the first pass every leaf was empty. (A false match
  // needs 2^32 releases during the passes.)
  uint32_t TakeFreeBitExactly();

  // Word `index` at `level` was seen empty: clear its bit above, unless it
  // filled again meanwhile, and carry the clearing up while levels empty.
  ABSL_ATTRIBUTE_NOINLINE inline void ClearUp(size_t level, uint32_t index);

  static bool IsEmpty(size_t level, uint64_t word);

  // Word `index` at `level` is non-empty: make sure the levels above say so.
  ABSL_ATTRIBUTE_NOINLINE inline void SetUp(size_t level, uint32_t index);

  // Gives a seat's bit back and counts a release in its leaf, in one add
  // (the bit is known to be clear). Sequentially consistent: see ReturnSeat.
  void SetFreeBit(uint32_t seat);

  // --------------------------------------------------------- the wheel

  // Puts a reserved seat in the slot for `deadline` (units), unless it is
  // already in a slot (the reaper then moves it when it comes to it). True
  // when it put it there.
  bool Enqueue(uint32_t index, int64_t deadline, std::memory_order order);

  void Push(uint32_t index, int64_t deadline);

  // The reaper's visit to a seat taken from a due slot; 1 if it reclaimed it.
  // `base`: the pool's base, which only the reaper moves.
  size_t Visit(uint32_t index, int64_t now_units, int64_t base)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(reaper_mutex_);

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
  // The base (see "Times"), in units: written by the reaper only, read on
  // every Acquire and Heartbeat.
  Atomic<int64_t> base_units_;

  struct alignas(64) LeafLine {
    Atomic<uint64_t> leaves[kLeavesPerLine];
  };
  std::unique_ptr<LeafLine[]> lines_;
  std::vector<std::unique_ptr<Atomic<uint64_t>[]>> summaries_;
  std::unique_ptr<Atomic<uint64_t>[]> seats_;
  std::unique_ptr<Atomic<uint32_t>[]> next_in_slot_;
  std::unique_ptr<Atomic<uint32_t>[]> queued_;
  std::array<Atomic<uint32_t>, kWheelSlots> slot_heads_;
  internal::Mutex reaper_mutex_;
  std::vector<uint32_t> left_wheel_ ABSL_GUARDED_BY(reaper_mutex_);
  internal::Mutex limit_mutex_;
  std::vector<uint32_t> retired_ ABSL_GUARDED_BY(limit_mutex_);
  // A heap by EndsLater: the earliest deadline first. Reap reclaims each
  // whose seat still holds it when it comes due; cost: log of the size per
  // entry, and only leases cut short while their seat was queued get one.
  std::vector<Early> early_ ABSL_GUARDED_BY(reaper_mutex_);
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
  std::optional<SeatReservation> Acquire(const SeatKey& key, absl::Time now);

  // Reserves a seat for `holder.key` that keeps the holder's since, last
  // heartbeat and lease end (at most `now` + lease): for moving a pool's
  // holders into a larger one (SEC-11: the move extends no lease). False,
  // and nothing reserved, when the pool is full, the key already holds a
  // seat here, or the lease has ended by `now`.
  bool Adopt(const SeatHolder& holder, absl::Time now);

  // ACT-4: Adopt on the holder's own seat. Reserves seat
  // `holder.handle.index` for `holder.key` with the holder's since, last
  // heartbeat and lease end (at most `now` + lease), through
  // BasicSeatPoolCore::AcquireSeat. A restarted process, or a standby taking
  // over, calls it for every open activation before the pool serves, so
  // every holder keeps the same seat until the same expiry and no seat is
  // given twice; the stored generation is ignored (the handle is this
  // pool's own, as Find and Holders report it). False, and nothing
  // reserved, when the key holds a seat here whose lease runs (a key whose
  // seat was lost is forgotten and adopted), the seat is not free (out of
  // range, reserved, or retired by a lowered limit), or the lease has ended
  // by `now`. Thread-safe like every method: an adoption racing a serving
  // Acquire for the same seat is refused, never shares it.
  bool AdoptAt(const SeatHolder& holder, absl::Time now);

  // ACT-4, ENT-11: the key's seat while the key holds it and its lease
  // runs, as Holders reports it; nothing for a key that never held a seat
  // here, released it, or whose lease ran out (reclaimed or not). Changes
  // nothing: a key whose lease ran out stays known until Sweep, Release or
  // its next Acquire.
  std::optional<SeatHolder> Find(const SeatKey& key, absl::Time now) const;

  // ENT-4: a heartbeat is a reservation: it renews the key's seat, or, when
  // the seat was lost meanwhile, reserves a new one.
  std::optional<SeatReservation> Heartbeat(const SeatKey& key, absl::Time now);

  // ENT-4, ENT-11: frees the key's seat. False when the key holds none.
  bool Release(const SeatKey& key);

  // Frees every seat of `identity` (a removed member, a deleted identity).
  size_t ReleaseIdentity(IdentityId identity);

  // Frees every seat and forgets every key (an entitlement whose period
  // ended, ENT-6); returns how many seats it freed.
  size_t ReleaseAll();

  // ENT-11: every held seat, by key order within shards (unordered overall).
  std::vector<SeatHolder> Holders(absl::Time now) const;

  // Reclaims expired seats (BasicSeatPoolCore::Reap), forgets keys whose
  // seat is gone, and samples the use for the peak (ENT-12). Cost: the
  // expired seats plus the keys held plus capacity/32 loads; for a periodic
  // sweep, not the hot path.
  size_t Sweep(absl::Time now);

 private:
  static constexpr size_t kShards = 64;

  struct Holder {
    SeatHandle handle;
    absl::Time since;
    absl::Time last_heartbeat;
  };

  struct alignas(64) Shard {
    mutable internal::Mutex mutex;
    absl::flat_hash_map<SeatKey, Holder> holders ABSL_GUARDED_BY(mutex);
  };

  Shard& ShardOf(const SeatKey& key);
  const Shard& ShardOf(const SeatKey& key) const;

  BasicSeatPoolCore<Atomic> core_;
  std::array<Shard, kShards> shards_;
};

using SeatPoolCore = BasicSeatPoolCore<>;
using SeatPool = BasicSeatPool<>;

}  // namespace entitle

// The method bodies: inline templates, so that the hot path inlines into the
// host as before.
#include "entitle/internal/seat_pool_impl.h"  // IWYU pragma: export

#endif  // ENTITLE_SEAT_POOL_H_
