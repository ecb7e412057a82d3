// The seat pool (seat_pool.h; SPEC ENT-3, ENT-4, ENT-5, ENT-7, ENT-11, ENT-12):
// unit cases for the lock-free core and the keyed layer, and a seeded
// randomized model test of the keyed layer against a plain sequential model.
//
// Time is moved by hand: every call gets an explicit `now`, always a whole
// number of milliseconds after the pool's epoch, never decreasing within a
// case (the header's contract).
#include "entitle/seat_pool.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "entitle/ids.h"

namespace Catch {
template <>
struct StringMaker<entitle::SeatHandle> {
  static std::string convert(const entitle::SeatHandle& h) {
    std::ostringstream os;
    os << "{index " << h.index << ", generation " << h.generation << "}";
    return os.str();
  }
};
}  // namespace Catch

namespace {

using entitle::DeviceId;
using entitle::IdentityId;
using entitle::SeatHandle;
using entitle::SeatHolder;
using entitle::SeatKey;
using entitle::SeatPool;
using entitle::SeatPoolCore;
using entitle::SeatReservation;

// 2026-01-01T00:00:00Z, the pools' epoch in every case but one.
const absl::Time kEpoch = absl::FromUnixSeconds(1767225600);

absl::Time At(int64_t ms) { return kEpoch + absl::Milliseconds(ms); }

// The contract's deadlines (seat_pool.h, "Times"): deadlines are kept in
// units of resolution() counted from the pool's epoch, rounded DOWN, so a
// lease of `lease_ms` starting `start_ms` after the epoch ends
// floor((start_ms + lease_ms) / unit) * unit after it (exactly start + lease
// at 1 ms); the seat has expired at any `now` at or past that.
int64_t ExpiryMs(int64_t lease_ms, int64_t unit_ms, int64_t start_ms) {
  return (start_ms + lease_ms) / unit_ms * unit_ms;
}
// The same for a pool, from its own lease() and resolution(), with `start_ms`
// counted from kEpoch (the epoch of every pool but the Unix-epoch one).
int64_t ExpiryMs(const SeatPoolCore& core, int64_t start_ms) {
  return ExpiryMs(absl::ToInt64Milliseconds(core.lease()),
                  absl::ToInt64Milliseconds(core.resolution()), start_ms);
}
// As an instant, for a pool whose epoch is `epoch`.
absl::Time Expiry(const SeatPoolCore& core, absl::Time epoch,
                  absl::Time start) {
  return epoch + absl::Milliseconds(
                     ExpiryMs(core, absl::ToInt64Milliseconds(start - epoch)));
}
// The resolution the header documents: 1 ms for leases up to 2^29 ms, else
// the smallest power of two milliseconds that keeps the lease within 2^29
// units.
constexpr int64_t kHorizonUnits = int64_t{1} << 29;
int64_t UnitMsFor(int64_t lease_ms) {
  int64_t unit = 1;
  while (lease_ms > kHorizonUnits * unit) unit *= 2;
  return unit;
}

SeatKey Key(int64_t identity, const std::string& device) {
  return SeatKey{IdentityId(identity), DeviceId(device)};
}

std::string Str(const SeatHandle& h) {
  return Catch::StringMaker<SeatHandle>::convert(h);
}

const std::vector<uint32_t> kCapacities = {
    1, 2, 7, 8, 63, 64, 65, 511, 512, 513, 4096, 4097, 1u << 20};

// Acquires every seat of `core` at `now`; checks that every index is distinct
// and below the capacity.
std::vector<SeatHandle> Fill(SeatPoolCore& core, absl::Time now) {
  const uint32_t capacity = core.capacity();
  std::vector<SeatHandle> handles;
  handles.reserve(capacity);
  std::vector<bool> taken(capacity, false);
  size_t failed = 0, out_of_range = 0, duplicate = 0;
  for (uint32_t i = 0; i < capacity; ++i) {
    std::optional<SeatHandle> h = core.Acquire(now);
    if (!h) {
      ++failed;
      continue;
    }
    if (h->index >= capacity) {
      ++out_of_range;
      continue;
    }
    if (taken[h->index]) ++duplicate;
    taken[h->index] = true;
    handles.push_back(*h);
  }
  INFO("capacity " << capacity);
  REQUIRE(failed == 0);
  REQUIRE(out_of_range == 0);
  REQUIRE(duplicate == 0);
  REQUIRE(handles.size() == capacity);
  REQUIRE(core.in_use() == capacity);
  return handles;
}

// Picks a few positions of a filled pool's handles: first, last and some
// in between (every one for small pools).
std::vector<size_t> SomePositions(size_t n) {
  std::vector<size_t> out;
  if (n <= 16) {
    for (size_t i = 0; i < n; ++i) out.push_back(i);
    return out;
  }
  for (size_t i : {size_t{0}, size_t{1}, n / 3, n / 2, n - 2, n - 1}) {
    if (std::find(out.begin(), out.end(), i) == out.end()) out.push_back(i);
  }
  return out;
}

// =====================================================================
// The core
// =====================================================================

TEST_CASE(
    "seat pool core: a full pool gives nothing, a released seat goes "
    "to exactly one new acquirer",
    "[seat_pool][core]") {
  const uint32_t capacity = GENERATE(from_range(kCapacities));
  INFO("capacity " << capacity);
  SeatPoolCore core(capacity, absl::Minutes(5), kEpoch);
  REQUIRE(core.capacity() == capacity);
  REQUIRE(core.limit() == capacity);
  REQUIRE(core.in_use() == 0);

  std::vector<SeatHandle> handles = Fill(core, At(0));
  REQUIRE_FALSE(core.Acquire(At(0)).has_value());
  REQUIRE_FALSE(core.Acquire(At(1)).has_value());
  REQUIRE(core.in_use() == capacity);

  for (size_t pos : SomePositions(handles.size())) {
    INFO("releasing position " << pos << " " << Str(handles[pos]));
    REQUIRE(core.Release(handles[pos]));
    REQUIRE(core.in_use() == capacity - 1);
    std::optional<SeatHandle> again = core.Acquire(At(2));
    REQUIRE(again.has_value());
    // The only free seat is the released one; it comes back under a new
    // generation, so the handles differ.
    REQUIRE(again->index == handles[pos].index);
    REQUIRE(again->generation != handles[pos].generation);
    REQUIRE_FALSE(core.Acquire(At(2)).has_value());
    REQUIRE(core.in_use() == capacity);
    handles[pos] = *again;
  }
}

TEST_CASE(
    "seat pool core: a stale handle neither heartbeats nor releases the "
    "seat's new holder",
    "[seat_pool][core]") {
  const uint32_t capacity = GENERATE(from_range(kCapacities));
  INFO("capacity " << capacity);
  const absl::Duration lease = absl::Seconds(10);
  SeatPoolCore core(capacity, lease, kEpoch);
  std::vector<SeatHandle> handles = Fill(core, At(0));

  for (size_t pos : SomePositions(handles.size())) {
    const SeatHandle old = handles[pos];
    INFO("position " << pos << " old " << Str(old));
    REQUIRE(core.Release(old));
    std::optional<SeatHandle> fresh = core.Acquire(At(100));
    REQUIRE(fresh.has_value());
    REQUIRE(fresh->index == old.index);
    REQUIRE_FALSE(*fresh == old);

    REQUIRE_FALSE(core.Heartbeat(old, At(200)));
    REQUIRE_FALSE(core.Release(old));
    REQUIRE_FALSE(core.Inspect(old, At(200)).has_value());
    // The new holder is untouched: same deadline, still held, still counted.
    std::optional<entitle::SeatState> state = core.Inspect(*fresh, At(200));
    REQUIRE(state.has_value());
    REQUIRE(state->handle == *fresh);
    REQUIRE(state->expires_at == At(ExpiryMs(core, 100)));
    REQUIRE(core.in_use() == capacity);
    REQUIRE_FALSE(core.Acquire(At(200)).has_value());
    REQUIRE(core.Heartbeat(*fresh, At(300)));
    REQUIRE(core.Inspect(*fresh, At(300))->expires_at ==
            At(ExpiryMs(core, 300)));
    handles[pos] = *fresh;
  }
  // Out-of-range handles name nothing.
  REQUIRE_FALSE(core.Heartbeat(SeatHandle{capacity, 0}, At(300)));
  REQUIRE_FALSE(core.Release(SeatHandle{capacity, 0}));
  REQUIRE_FALSE(core.Inspect(SeatHandle{capacity, 0}, At(300)).has_value());
  REQUIRE(core.in_use() == capacity);
}

TEST_CASE(
    "seat pool core: Heartbeat extends the lease; after the deadline it "
    "fails",
    "[seat_pool][core]") {
  const uint32_t capacity = GENERATE(from_range(kCapacities));
  const int64_t lease_ms = GENERATE(100, 1000, 3 * 3600 * 1000);
  INFO("capacity " << capacity << " lease " << lease_ms << " ms");
  const absl::Duration lease = absl::Milliseconds(lease_ms);
  SeatPoolCore core(capacity, lease, kEpoch);
  REQUIRE(core.lease() == lease);
  REQUIRE(core.resolution() == absl::Milliseconds(UnitMsFor(lease_ms)));
  std::vector<SeatHandle> handles = Fill(core, At(0));
  const std::vector<size_t> positions = SomePositions(handles.size());
  // The rounded deadlines of the first lease and of the one heartbeated at
  // half a lease.
  const int64_t first = ExpiryMs(core, 0);
  const int64_t deadline = ExpiryMs(core, lease_ms / 2);

  for (size_t pos : positions) {
    const SeatHandle h = handles[pos];
    INFO("position " << pos << " " << Str(h));
    REQUIRE(core.Inspect(h, At(0))->expires_at == At(first));
    REQUIRE(core.Inspect(h, At(lease_ms - 1)).has_value());
    REQUIRE(core.Inspect(h, At(first - 1)).has_value());
    REQUIRE(core.Heartbeat(h, At(lease_ms / 2)));
    REQUIRE(core.Inspect(h, At(lease_ms / 2))->expires_at == At(deadline));
    // Alive one millisecond before the new (rounded) deadline, not at it.
    REQUIRE(core.Inspect(h, At(deadline - 1)).has_value());
    REQUIRE_FALSE(core.Inspect(h, At(deadline)).has_value());
  }
  // A seat whose lease ran out can no longer be kept alive, even when nothing
  // reclaimed it yet.
  for (size_t pos : positions) {
    INFO("position " << pos);
    REQUIRE_FALSE(core.Heartbeat(handles[pos], At(deadline)));
    REQUIRE_FALSE(core.Heartbeat(handles[pos], At(deadline + 5)));
    REQUIRE_FALSE(core.Inspect(handles[pos], At(deadline + 5)).has_value());
  }
}

TEST_CASE(
    "seat pool core: a full pool reclaims expired seats when an Acquire "
    "would otherwise fail",
    "[seat_pool][core][ENT-4]") {
  const uint32_t capacity = GENERATE(from_range(kCapacities));
  const int64_t lease_ms = GENERATE(100, 1000, 3 * 3600 * 1000);
  INFO("capacity " << capacity << " lease " << lease_ms << " ms");
  SeatPoolCore core(capacity, absl::Milliseconds(lease_ms), kEpoch);
  std::vector<SeatHandle> handles = Fill(core, At(0));
  const int64_t first = ExpiryMs(core, 0);                  // the expired ones
  const int64_t kept_until = ExpiryMs(core, lease_ms / 2);  // the kept ones

  // Every other seat is kept alive; the rest expire at `first`.
  std::vector<SeatHandle> kept, expired;
  for (size_t i = 0; i < handles.size(); ++i) {
    if (i % 2 == 1) {
      REQUIRE(core.Heartbeat(handles[i], At(lease_ms / 2)));
      kept.push_back(handles[i]);
    } else {
      expired.push_back(handles[i]);
    }
  }
  // Before the deadline: still full. (Asking one millisecond before the
  // deadline is the next case.)
  REQUIRE_FALSE(core.Acquire(At(lease_ms / 2 + 1)).has_value());
  REQUIRE(core.in_use() == capacity);
  // At the (rounded) deadline: exactly the expired seats come back, without
  // any Reap.
  size_t got = 0;
  std::set<uint32_t> expired_indices;
  for (const SeatHandle& h : expired) expired_indices.insert(h.index);
  std::vector<SeatHandle> fresh;
  while (std::optional<SeatHandle> h = core.Acquire(At(first))) {
    ++got;
    fresh.push_back(*h);
    if (got > capacity) break;
  }
  REQUIRE(got == expired.size());
  for (const SeatHandle& h : fresh)
    REQUIRE(expired_indices.count(h.index) == 1);
  REQUIRE(core.in_use() == capacity);
  // The reclaimed seats' old handles are dead; the kept ones live on.
  for (size_t pos : SomePositions(expired.size())) {
    REQUIRE_FALSE(core.Heartbeat(expired[pos], At(first)));
    REQUIRE_FALSE(core.Release(expired[pos]));
  }
  for (size_t pos : SomePositions(kept.size())) {
    REQUIRE(core.Inspect(kept[pos], At(first))->expires_at == At(kept_until));
  }
  REQUIRE(core.in_use() == capacity);
}

TEST_CASE(
    "seat pool core: an expired seat is reclaimed at its deadline even "
    "when the pool was found full earlier in the same millisecond range",
    "[seat_pool][core][ENT-4][ENT-5]") {
  // ENT-4: "An expired seat is reclaimed at the latest when a reservation would
  // otherwise fail". A full pool is asked one millisecond before the deadline
  // (fails, correctly), then at the deadline (must succeed).
  const uint32_t capacity = GENERATE(1u, 8u, 64u, 4097u);
  const int64_t lease_ms = GENERATE(100, 1000, 60 * 1000, 3 * 3600 * 1000);
  INFO("capacity " << capacity << " lease " << lease_ms << " ms");
  SeatPoolCore core(capacity, absl::Milliseconds(lease_ms), kEpoch);
  std::vector<SeatHandle> handles = Fill(core, At(0));
  const int64_t deadline = ExpiryMs(core, 0);  // rounded up from lease_ms
  REQUIRE_FALSE(core.Acquire(At(lease_ms - 1)).has_value());
  REQUIRE_FALSE(core.Acquire(At(deadline - 1)).has_value());
  REQUIRE_FALSE(core.Heartbeat(handles[0], At(deadline)));  // expired
  std::optional<SeatHandle> h = core.Acquire(At(deadline));
  REQUIRE(h.has_value());
}

TEST_CASE(
    "seat pool core: Reap reclaims exactly the seats that came due and "
    "says how many",
    "[seat_pool][core][ENT-4]") {
  const uint32_t capacity = GENERATE(from_range(kCapacities));
  const int64_t lease_ms = GENERATE(100, 1000, 3 * 3600 * 1000);
  INFO("capacity " << capacity << " lease " << lease_ms << " ms");
  SeatPoolCore core(capacity, absl::Milliseconds(lease_ms), kEpoch);
  std::vector<SeatHandle> handles = Fill(core, At(0));

  // Four groups by position: A expires at L, B is heartbeated at L/4 (expires
  // at 5L/4), C at L/2 (expires at 3L/2), D is released; each deadline
  // rounded up to the pool's resolution.
  const int64_t L = lease_ms;
  const int64_t ea = ExpiryMs(core, 0), eb = ExpiryMs(core, L / 4),
                ec = ExpiryMs(core, L / 2);
  REQUIRE(ea < eb);
  REQUIRE(eb < ec);
  std::vector<SeatHandle> a, b, c;
  size_t released = 0;
  for (size_t i = 0; i < handles.size(); ++i) {
    switch (i % 4) {
      case 0:
        a.push_back(handles[i]);
        break;
      case 1:
        REQUIRE(core.Heartbeat(handles[i], At(L / 4)));
        b.push_back(handles[i]);
        break;
      case 2:
        REQUIRE(core.Heartbeat(handles[i], At(L / 2)));
        c.push_back(handles[i]);
        break;
      case 3:
        REQUIRE(core.Release(handles[i]));
        ++released;
        break;
    }
  }
  uint32_t use = capacity - static_cast<uint32_t>(released);
  REQUIRE(core.in_use() == use);

  REQUIRE(core.Reap(At(L - 1)) == 0);
  REQUIRE(core.Reap(At(ea - 1)) == 0);
  REQUIRE(core.in_use() == use);
  REQUIRE(core.Reap(At(ea)) == a.size());
  use -= static_cast<uint32_t>(a.size());
  REQUIRE(core.in_use() == use);
  REQUIRE(core.Reap(At(ea)) == 0);
  REQUIRE(core.Reap(At(eb - 1)) == 0);
  REQUIRE(core.in_use() == use);
  REQUIRE(core.Reap(At(eb)) == b.size());
  use -= static_cast<uint32_t>(b.size());
  REQUIRE(core.in_use() == use);
  for (size_t pos : SomePositions(c.size())) {
    REQUIRE(core.Inspect(c[pos], At(eb))->expires_at == At(ec));
  }
  REQUIRE(core.Reap(At(ec - 1)) == 0);
  REQUIRE(core.Reap(At(10 * L)) == c.size());
  REQUIRE(core.in_use() == 0);
  for (size_t pos : SomePositions(a.size())) {
    REQUIRE_FALSE(core.Heartbeat(a[pos], At(10 * L)));
    REQUIRE_FALSE(core.Release(a[pos]));
  }
  // Everything is free again.
  Fill(core, At(10 * L));
}

TEST_CASE(
    "seat pool core: lowering the limit below use takes nothing away and "
    "gives nothing until use is below it",
    "[seat_pool][core][ENT-7]") {
  const uint32_t capacity = GENERATE(from_range(kCapacities));
  INFO("capacity " << capacity);
  SeatPoolCore core(capacity, absl::Minutes(1), kEpoch);
  std::vector<SeatHandle> handles = Fill(core, At(0));
  const uint32_t limit = capacity / 2;  // 0 for a pool of one
  core.set_limit(limit);
  REQUIRE(core.limit() == limit);
  REQUIRE(core.in_use() == capacity);
  // Nothing taken away.
  for (size_t pos : SomePositions(handles.size())) {
    REQUIRE(core.Heartbeat(handles[pos], At(10)));
  }
  REQUIRE_FALSE(core.Acquire(At(10)).has_value());
  // Release down to exactly the limit: still nothing.
  for (uint32_t n = capacity - limit; n > 0; --n) {
    REQUIRE(core.Release(handles.back()));
    handles.pop_back();
  }
  REQUIRE(core.in_use() == limit);
  REQUIRE_FALSE(core.Acquire(At(20)).has_value());
  if (limit > 0) {
    REQUIRE(core.Release(handles.back()));
    handles.pop_back();
    std::optional<SeatHandle> h = core.Acquire(At(30));
    REQUIRE(h.has_value());
    handles.push_back(*h);
    REQUIRE_FALSE(core.Acquire(At(30)).has_value());
  }
  // Raising again gives seats up to the new limit; a limit above the
  // capacity is clamped.
  core.set_limit(capacity + 5);
  REQUIRE(core.limit() == capacity);
  size_t more = 0;
  while (core.Acquire(At(40)).has_value()) {
    if (++more > capacity) break;
  }
  REQUIRE(more == capacity - handles.size());
  REQUIRE(core.in_use() == capacity);
}

// clang-format off
TEST_CASE("ENT-12 seat pool core: peak use is sampled, raised exactly when the "
          "pool is seen full, and restarted by TakePeak",
    "[seat_pool][core][ENT-12]") {
  // clang-format on
  const uint32_t capacity = GENERATE(from_range(kCapacities));
  INFO("capacity " << capacity);
  SeatPoolCore core(capacity, absl::Minutes(1), kEpoch);
  REQUIRE(core.peak() == 0);
  const uint32_t n = std::min<uint32_t>(capacity, 5);
  std::vector<SeatHandle> held;
  for (uint32_t i = 0; i < n; ++i) held.push_back(*core.Acquire(At(0)));
  // Reservations alone do not touch the shared peak word; a sample does.
  REQUIRE(core.peak() == 0);
  REQUIRE(core.SampleUse() == n);
  REQUIRE(core.peak() == n);
  const uint32_t drop = n / 2 + (n % 2);
  for (uint32_t i = 0; i < drop; ++i) {
    REQUIRE(core.Release(held.back()));
    held.pop_back();
  }
  REQUIRE(core.SampleUse() == n - drop);
  REQUIRE(core.peak() == n);
  REQUIRE(core.TakePeak() == n);
  REQUIRE(core.peak() == n - drop);
  REQUIRE(core.Acquire(At(1)).has_value());
  // TakePeak counts the use at the moment it is called.
  REQUIRE(core.TakePeak() == n - drop + 1);
  REQUIRE(core.TakePeak() == n - drop + 1);
  // Expiry lowers use; the next window starts there.
  REQUIRE(core.Reap(At(10 * 60 * 1000)) == n - drop + 1);
  REQUIRE(core.TakePeak() == n - drop + 1);
  REQUIRE(core.peak() == 0);
  // A refusal proves every seat was reserved: the peak is the whole pool.
  Fill(core, At(10 * 60 * 1000));
  REQUIRE(core.peak() == 0);
  REQUIRE(core.refusals() == 0);
  REQUIRE_FALSE(core.Acquire(At(10 * 60 * 1000)).has_value());
  REQUIRE(core.peak() == capacity);
  REQUIRE(core.refusals() == 1);
}

// clang-format off
TEST_CASE("ENT-12 seat pool core: a refusal under a lowered limit records the "
          "over-allocated use",
    "[seat_pool][core][ENT-12][ENT-7]") {
  // clang-format on
  SeatPoolCore core(10, absl::Minutes(1), kEpoch);
  std::vector<SeatHandle> held = Fill(core, At(0));
  REQUIRE(held.size() == 10);
  core.TakePeak();
  core.set_limit(4);
  REQUIRE(core.in_use() == 10);
  REQUIRE_FALSE(core.Acquire(At(1)).has_value());
  REQUIRE(core.peak() == 10);
  for (int i = 0; i < 7; ++i) {
    REQUIRE(core.Release(held.back()));
    held.pop_back();
  }
  REQUIRE(core.in_use() == 3);
  REQUIRE(core.Acquire(At(2)).has_value());
  REQUIRE_FALSE(core.Acquire(At(2)).has_value());
  REQUIRE(core.TakePeak() == 10);
  REQUIRE(core.peak() == 4);
}

TEST_CASE("seat pool core: capacity and lease are clamped",
          "[seat_pool][core]") {
  SeatPoolCore zero(0, absl::ZeroDuration(), kEpoch);
  REQUIRE(zero.capacity() == 1);
  REQUIRE(zero.lease() == absl::Milliseconds(1));
  REQUIRE(zero.resolution() == absl::Milliseconds(1));
  REQUIRE(ExpiryMs(zero, 0) == 1);
  std::optional<SeatHandle> h = zero.Acquire(At(0));
  REQUIRE(h.has_value());
  REQUIRE(zero.Inspect(*h, At(0))->expires_at == At(1));
  REQUIRE_FALSE(zero.Acquire(At(0)).has_value());
  REQUIRE(zero.Acquire(At(1)).has_value());  // the first one expired
  // Whole milliseconds, truncated (never longer than asked); at most
  // kMaxSeatLease.
  SeatPoolCore odd(1, absl::Microseconds(2500), kEpoch);
  REQUIRE(odd.lease() == absl::Milliseconds(2));
  SeatPoolCore year(1, absl::Hours(24 * 1000), kEpoch);
  REQUIRE(year.lease() == entitle::kMaxSeatLease);
  REQUIRE(year.resolution() == absl::Milliseconds(64));
}

// clang-format off
TEST_CASE("SEC-11 seat pool core: a lease ends exactly its length after the reservation or the last heartbeat, never later",
          "[seat_pool][core][SEC-11]") {
  // clang-format on
  // seat_pool.h "Times": up to 2^29 ms the unit is 1 ms and a lease ends
  // exactly `lease` after it starts; longer leases are rounded DOWN to their
  // unit: at most one unit early, never late. (2 ms, not 1: the last
  // heartbeat below must outlive `end`.)
  const int64_t lease_ms =
      GENERATE(int64_t{2}, 100, 1000, 4095, 4096, 8191, 8192, 10000, 10001,
               60 * 1000, 3 * 3600 * 1000, kHorizonUnits, kHorizonUnits + 1,
               int64_t{30} * 24 * 3600 * 1000, int64_t{366} * 24 * 3600 * 1000);
  const int64_t start = GENERATE(0, 1, 7, 999, 12345, 2636, 2637);
  INFO("lease " << lease_ms << " ms, start " << start);
  SeatPoolCore core(2, absl::Milliseconds(lease_ms), kEpoch);
  const int64_t unit = UnitMsFor(lease_ms);
  REQUIRE(core.resolution() == absl::Milliseconds(unit));
  REQUIRE(core.lease() == absl::Milliseconds(lease_ms));
  const int64_t end = ExpiryMs(core, start);
  REQUIRE(end % unit == 0);
  REQUIRE(end <= start + lease_ms);
  REQUIRE(end > start + lease_ms - unit);
  if (lease_ms <= kHorizonUnits) REQUIRE(end == start + lease_ms);
  // Acquire and Heartbeat both set the same deadline.
  // b's first lease still runs at `start`.
  const std::optional<SeatHandle> b =
      core.Acquire(At(std::max<int64_t>(0, start - lease_ms / 2)));
  REQUIRE(b.has_value());
  const std::optional<SeatHandle> a = core.Acquire(At(start));
  REQUIRE(a.has_value());
  REQUIRE(core.Inspect(*a, At(start))->expires_at == At(end));
  REQUIRE(core.Heartbeat(*b, At(start)));
  REQUIRE(core.Inspect(*b, At(start))->expires_at == At(end));
  // Alive 1 ms before the deadline, expired at it: Inspect, Heartbeat and
  // Reap agree.
  REQUIRE(core.Inspect(*a, At(end - 1)).has_value());
  REQUIRE(core.Reap(At(end - 1)) == 0);
  REQUIRE(core.Heartbeat(*b, At(end - 1)));
  REQUIRE_FALSE(core.Inspect(*a, At(end)).has_value());
  REQUIRE_FALSE(core.Heartbeat(*a, At(end)));
  REQUIRE(core.Reap(At(end)) == 1);  // a; b was extended from end - 1
  REQUIRE(core.in_use() == 1);
  REQUIRE(core.Inspect(*b, At(end))->expires_at == At(ExpiryMs(core, end - 1)));
}

TEST_CASE(
    "seat pool core: a handle is never handed out twice, however often a "
    "seat is reused (ENT-4: no ABA)",
    "[seat_pool][core][ENT-4]") {
  // One seat, reused 2^24 times after its first reservation. The header
  // promises that equal handles name the same reservation and that a stale
  // handle can never free or extend a seat given to someone else, until the
  // seat has been reserved 2^32 more times (32-bit generation). The 2^32 bound
  // itself is not exercised: 2^32 acquire/release pairs take minutes (this
  // loop of 2^24 takes about a second), too slow for a unit test. Instead this
  // checks that 2^24 reuses, the old 24-bit generation's wrap point, do NOT
  // bring the first handle back, and that the generation keeps counting past
  // 2^24 rather than wrapping there.
  SeatPoolCore core(1, absl::Hours(3), kEpoch);
  const std::optional<SeatHandle> first = core.Acquire(At(0));
  REQUIRE(first.has_value());
  REQUIRE(core.Release(*first));
  bool all_acquired = true;
  for (uint32_t i = 0; i < (1u << 24) - 1; ++i) {
    std::optional<SeatHandle> h = core.Acquire(At(1));
    if (!h || !core.Release(*h)) {
      all_acquired = false;
      break;
    }
  }
  REQUIRE(all_acquired);
  const std::optional<SeatHandle> now_held = core.Acquire(At(2));
  REQUIRE(now_held.has_value());
  CAPTURE(*first, *now_held);
  CHECK_FALSE(*now_held == *first);
  CHECK(now_held->index == first->index);
  CHECK(now_held->generation == first->generation + (1u << 24));
  // The stale first handle must not keep or free the current holder's seat.
  CHECK_FALSE(core.Heartbeat(*first, At(3)));
  CHECK_FALSE(core.Release(*first));
  CHECK(core.Inspect(*now_held, At(3)).has_value());
}

// clang-format off
TEST_CASE("SEC-11 seat pool core: a pool whose epoch is the Unix epoch keeps exact leases",
          "[seat_pool][core][SEC-11]") {
  // clang-format on
  // Deadlines are read against the pool's base, not its epoch (seat_pool.h
  // "Times"): any epoch works, and a 3-hour lease is kept to the millisecond.
  const absl::Time epoch = absl::UnixEpoch();
  SeatPoolCore core(1, absl::Hours(3), epoch);
  REQUIRE(core.resolution() == absl::Milliseconds(1));
  const absl::Time now = kEpoch + absl::Milliseconds(123);  // 2026-01-01
  std::optional<SeatHandle> h = core.Acquire(now);
  REQUIRE(h.has_value());
  REQUIRE(Expiry(core, epoch, now) == now + absl::Hours(3));
  std::optional<entitle::SeatState> state = core.Inspect(*h, now);
  REQUIRE(state.has_value());
  CHECK(state->expires_at == now + absl::Hours(3));
  CHECK(core.Inspect(*h, now + absl::Hours(3) - absl::Milliseconds(1))
            .has_value());
  CHECK_FALSE(core.Inspect(*h, now + absl::Hours(3)).has_value());
  CHECK_FALSE(core.Acquire(now + absl::Hours(1)).has_value());
  CHECK(core.Heartbeat(*h, now + absl::Hours(1)));
  CHECK(core.Inspect(*h, now + absl::Hours(1))->expires_at ==
        now + absl::Hours(4));
  CHECK_FALSE(
      core.Acquire(now + absl::Hours(4) - absl::Milliseconds(1)).has_value());
  CHECK(core.Acquire(now + absl::Hours(4)).has_value());
}

// The unit deadlines were kept in before SEC-11 (the largest power of two
// milliseconds not above lease/4096, at least 1 ms): the old pool died 2^32
// of these after its epoch.
int64_t OldUnitMsFor(int64_t lease_ms) {
  const int64_t at_most = std::max<int64_t>(1, lease_ms / 4096);
  int64_t unit = 1;
  while (unit * 2 <= at_most) unit *= 2;
  return unit;
}

// clang-format off
TEST_CASE("SEC-11 seat pool core: a 1-seat pool keeps working after the clock moved past 2^32 units, whatever the lease",
          "[seat_pool][core][SEC-11]") {
  // clang-format on
  // The reproduction: a pool that kept its first use as its epoch forever
  // found every reservation dead on arrival 2^32 deadline units later and
  // handed its one seat to a second user. Here the clock jumps (without any
  // Reap in between) past 2^32 old units, across several wraps of the 31-bit
  // deadline field and by exactly the reaping horizon; after each jump the
  // pool must still reserve, refuse a second user while the first holds the
  // seat, and free it exactly (to the millisecond, or one unit early beyond
  // 2^29 ms) at the lease after the last heartbeat.
  const int64_t lease_ms = GENERATE(
      int64_t{1}, 1000, 10001, 60 * 1000, 3 * 3600 * 1000, kHorizonUnits,
      int64_t{30} * 24 * 3600 * 1000, int64_t{366} * 24 * 3600 * 1000);
  INFO("lease " << lease_ms << " ms");
  SeatPoolCore core(1, absl::Milliseconds(lease_ms), kEpoch);
  const int64_t unit = UnitMsFor(lease_ms);
  REQUIRE(core.resolution() == absl::Milliseconds(unit));
  const int64_t range = (int64_t{1} << 31) * unit;  // the field's wrap
  const int64_t horizon = kHorizonUnits * unit;
  const std::vector<int64_t> jumps = {
      (int64_t{1} << 32) * OldUnitMsFor(lease_ms) + 17,
      range - 1,
      range,
      range + 1,
      horizon - unit,
      horizon,
      3 * range + 12345,
      int64_t{1000} * 365 * 24 * 3600 * 1000,  // a thousand years
      7,
  };
  int64_t now = 5;
  std::optional<SeatHandle> first = core.Acquire(At(now));
  REQUIRE(first.has_value());
  for (const int64_t jump : jumps) {
    // The seat taken before the jump: its lease ended long ago, however its
    // deadline's low bits compare with the new time.
    const int64_t before = now;
    const absl::Time first_end = core.Inspect(*first, At(now))->expires_at;
    now += jump;
    INFO("jump " << jump << " ms to " << now << " (from " << before << ")");
    if (At(now) < first_end) {
      // Still within its lease: held, and the seat is no one else's.
      REQUIRE(core.Inspect(*first, At(now))->expires_at == first_end);
      REQUIRE_FALSE(core.Acquire(At(now)).has_value());
      REQUIRE(core.Release(*first));
    } else {
      REQUIRE_FALSE(core.Inspect(*first, At(now)).has_value());
      REQUIRE_FALSE(core.Heartbeat(*first, At(now)));
    }
    // A new user gets the seat (the old lease ended), and keeps it.
    std::optional<SeatHandle> user = core.Acquire(At(now));
    REQUIRE(user.has_value());
    REQUIRE_FALSE(*user == *first);
    REQUIRE_FALSE(core.Release(*first));
    const int64_t end = ExpiryMs(core, now);
    REQUIRE(end <= now + lease_ms);
    REQUIRE(end > now + lease_ms - unit);
    if (lease_ms <= kHorizonUnits) REQUIRE(end == now + lease_ms);
    REQUIRE(core.Inspect(*user, At(now))->expires_at == At(end));
    // A second user is refused while the first holds it.
    REQUIRE_FALSE(core.Acquire(At(now)).has_value());
    // A heartbeat half a lease on moves the end to a lease after it.
    const int64_t beat = now + lease_ms / 2;
    if (lease_ms >= 2) {
      REQUIRE_FALSE(core.Acquire(At(beat)).has_value());
      REQUIRE(core.Heartbeat(*user, At(beat)));
    }
    const int64_t last = lease_ms >= 2 ? beat : now;
    const int64_t due = ExpiryMs(core, last);
    REQUIRE(due <= last + lease_ms);
    if (lease_ms <= kHorizonUnits) REQUIRE(due == last + lease_ms);
    REQUIRE(core.Inspect(*user, At(last))->expires_at == At(due));
    // Held one millisecond before the end, free at it: never later.
    REQUIRE(core.Inspect(*user, At(due - 1)).has_value());
    REQUIRE_FALSE(core.Acquire(At(due - 1)).has_value());
    REQUIRE(core.in_use() == 1);
    REQUIRE_FALSE(core.Inspect(*user, At(due)).has_value());
    REQUIRE_FALSE(core.Heartbeat(*user, At(due)));
    std::optional<SeatHandle> next = core.Acquire(At(due));
    REQUIRE(next.has_value());
    REQUIRE_FALSE(core.Release(*user));
    REQUIRE(core.in_use() == 1);
    first = next;
    now = due;
  }
}

// clang-format off
TEST_CASE("SEC-11 seat pool core: a seat whose lease ended a whole number of deadline ranges ago is not taken for live",
          "[seat_pool][core][SEC-11]") {
  // clang-format on
  // The 31-bit deadline field wraps every 2^31 units: a seat left unreaped
  // for k * 2^31 units (less a little) has the low bits of a live one. The
  // pool reaps before it reads deadlines that far on, so the seat is free.
  const int64_t lease_ms = GENERATE(1000, 3 * 3600 * 1000);
  const int64_t k = GENERATE(1, 2, 5);
  const int64_t back = GENERATE(1, 500);
  INFO("lease " << lease_ms << " ms, " << k << " ranges less " << back
                << " ms");
  SeatPoolCore core(1, absl::Milliseconds(lease_ms), kEpoch);
  std::optional<SeatHandle> h = core.Acquire(At(0));
  REQUIRE(h.has_value());
  const int64_t now = lease_ms + k * (int64_t{1} << 31) - back;
  REQUIRE_FALSE(core.Inspect(*h, At(now)).has_value());
  SECTION("a heartbeat of the stale handle") {
    REQUIRE_FALSE(core.Heartbeat(*h, At(now)));
    REQUIRE(core.in_use() == 0);  // reaped on the way
  }
  SECTION("a second user") {
    std::optional<SeatHandle> other = core.Acquire(At(now));
    REQUIRE(other.has_value());
    REQUIRE_FALSE(core.Heartbeat(*h, At(now)));
    REQUIRE(core.Inspect(*other, At(now))->expires_at == At(now + lease_ms));
  }
  SECTION("Reap") {
    REQUIRE(core.Reap(At(now)) == 1);
    REQUIRE(core.in_use() == 0);
  }
}

// clang-format off
TEST_CASE("SEC-11 seat pool core: an idle pool reaps before it reads deadlines a horizon past its last reap",
          "[seat_pool][core][SEC-11]") {
  // clang-format on
  // seat_pool.h "Times": an Acquire or Heartbeat 2^29 units or more after the
  // base reaps first; just before that it does not (seats that expired are
  // reclaimed only when the pool is full or reaped, as before).
  SeatPoolCore core(4, absl::Seconds(1), kEpoch);
  std::optional<SeatHandle> a = core.Acquire(At(0));
  std::optional<SeatHandle> b = core.Acquire(At(0));
  REQUIRE((a && b));
  REQUIRE(core.in_use() == 2);
  // Just inside the horizon: nothing reaped; a's handle is dead either way.
  REQUIRE_FALSE(core.Heartbeat(*a, At(kHorizonUnits - 1)));
  REQUIRE(core.in_use() == 2);
  // At the horizon: the call reaps first.
  REQUIRE_FALSE(core.Heartbeat(*b, At(kHorizonUnits)));
  REQUIRE(core.in_use() == 0);
  // A Reap moves the base: the next horizon counts from it.
  std::optional<SeatHandle> c = core.Acquire(At(kHorizonUnits));
  REQUIRE(c.has_value());
  REQUIRE(core.Reap(At(kHorizonUnits + 5000)) == 1);
  std::optional<SeatHandle> d = core.Acquire(At(kHorizonUnits + 5000));
  REQUIRE(d.has_value());
  REQUIRE_FALSE(core.Heartbeat(*d, At(2 * kHorizonUnits + 4999)));
  REQUIRE(core.in_use() == 1);
  REQUIRE(core.Acquire(At(2 * kHorizonUnits + 5000)).has_value());
  REQUIRE(core.in_use() == 1);  // d reaped, the new one holds
}

// clang-format off
TEST_CASE("SEC-11 seat pool core: a reservation bounded by an end keeps it",
          "[seat_pool][core][SEC-11]") {
  // clang-format on
  SeatPoolCore core(2, absl::Hours(3), kEpoch);
  // Earlier than now + lease: that end.
  std::optional<SeatHandle> a = core.Acquire(At(10), At(5000));
  REQUIRE(a.has_value());
  REQUIRE(core.Inspect(*a, At(10))->expires_at == At(5000));
  REQUIRE(core.Inspect(*a, At(4999)).has_value());
  REQUIRE_FALSE(core.Inspect(*a, At(5000)).has_value());
  // Later: now + lease.
  std::optional<SeatHandle> b = core.Acquire(At(10), At(100 * 3600 * 1000));
  REQUIRE(b.has_value());
  REQUIRE(core.Inspect(*b, At(10))->expires_at == At(10 + 3 * 3600 * 1000));
  // Not after now: nothing, and no seat taken.
  REQUIRE(core.Release(*a));
  REQUIRE_FALSE(core.Acquire(At(10), At(10)).has_value());
  REQUIRE_FALSE(core.Acquire(At(10), At(3)).has_value());
  REQUIRE(core.in_use() == 1);
}

// AcquireSeat (ACT-4): small pools spread their seats over eight leaves;
// above 256 seats the leaves are 32 bits under summary words (one level up to
// 2048 leaves, two above).
const std::vector<uint32_t> kSeatCapacities = {
    1, 2, 7, 8, 9, 63, 200, 256, 257, 513, 4096, 4097, 5000, 1u << 20};

TEST_CASE(
    "seat pool core: AcquireSeat reserves exactly the seat asked for while "
    "it is free; a full pool is then exhausted exactly",
    "[seat_pool][core][ACT-4][ENT-5]") {
  const uint32_t capacity = GENERATE(from_range(kSeatCapacities));
  INFO("capacity " << capacity);
  SeatPoolCore core(capacity, absl::Minutes(5), kEpoch);
  const absl::Time far = At(24 * 3600 * 1000);
  // Half the pool by the search, the rest seat by seat, from the top down:
  // every leaf's last free seat goes to AcquireSeat.
  std::vector<bool> taken(capacity, false);
  std::vector<SeatHandle> handles(capacity);
  for (uint32_t n = 0; n < capacity / 2; ++n) {
    const std::optional<SeatHandle> h = core.Acquire(At(0));
    REQUIRE(h.has_value());
    REQUIRE_FALSE(taken[h->index]);
    taken[h->index] = true;
    handles[h->index] = *h;
  }
  size_t refused = 0;
  for (uint32_t i = capacity; i-- > 0;) {
    const std::optional<SeatHandle> h = core.AcquireSeat(i, At(0), far);
    if (taken[i]) {
      refused += h.has_value() ? 0 : 1;
      continue;
    }
    REQUIRE(h.has_value());
    REQUIRE(h->index == i);
    REQUIRE(h->generation == 0);
    taken[i] = true;
    handles[i] = *h;
  }
  REQUIRE(refused == capacity / 2);
  REQUIRE(core.in_use() == capacity);
  for (const uint32_t i : {0u, capacity / 2, capacity - 1}) {
    INFO("seat " << i);
    REQUIRE(core.Inspect(handles[i], At(0))->expires_at ==
            At(ExpiryMs(core, 0)));
    REQUIRE_FALSE(core.AcquireSeat(i, At(1), far).has_value());
  }
  // Out of range: nothing.
  REQUIRE_FALSE(core.AcquireSeat(capacity, At(1), far).has_value());
  REQUIRE_FALSE(core.AcquireSeat(~0u, At(1), far).has_value());
  // Full: the search finds nothing (ENT-5), counted once; AcquireSeat's own
  // refusals prove nothing and are not counted.
  REQUIRE(core.refusals() == 0);
  REQUIRE_FALSE(core.Acquire(At(1)).has_value());
  REQUIRE(core.refusals() == 1);
  REQUIRE(core.peak() == capacity);
  REQUIRE(core.in_use() == capacity);

  uint64_t refusals = 1;
  for (size_t pos : SomePositions(capacity)) {
    const uint32_t i = static_cast<uint32_t>(pos);
    INFO("releasing seat " << i << " " << Str(handles[i]));
    // A released seat goes back: to the search...
    REQUIRE(core.Release(handles[i]));
    REQUIRE(core.in_use() == capacity - 1);
    const std::optional<SeatHandle> again = core.Acquire(At(2));
    REQUIRE(again.has_value());
    REQUIRE(again->index == i);
    REQUIRE(again->generation == handles[i].generation + 1);
    REQUIRE_FALSE(core.AcquireSeat(i, At(2), far).has_value());
    REQUIRE_FALSE(core.Acquire(At(2)).has_value());
    REQUIRE(core.refusals() == ++refusals);
    // ...and to AcquireSeat, after which the pool is exhausted again.
    REQUIRE(core.Release(*again));
    const std::optional<SeatHandle> mine = core.AcquireSeat(i, At(3), far);
    REQUIRE(mine.has_value());
    REQUIRE(mine->index == i);
    REQUIRE(mine->generation == handles[i].generation + 2);
    REQUIRE_FALSE(core.Heartbeat(*again, At(3)));
    REQUIRE(core.in_use() == capacity);
    REQUIRE_FALSE(core.Acquire(At(3)).has_value());
    REQUIRE(core.refusals() == ++refusals);
    handles[i] = *mine;
  }
  // Every seat released: the search gives each exactly once again.
  for (const SeatHandle& h : handles) REQUIRE(core.Release(h));
  REQUIRE(core.in_use() == 0);
  Fill(core, At(4));
}

TEST_CASE(
    "seat pool core: AcquireSeat gives no seat retired by a lowered "
    "limit",
    "[seat_pool][core][ACT-4][ENT-7]") {
  // Not a million seats: retiring most of an empty pool scans it per seat.
  const uint32_t capacity =
      GENERATE(1u, 2u, 7u, 8u, 9u, 63u, 200u, 256u, 257u, 513u, 4097u, 5000u);
  INFO("capacity " << capacity);
  SeatPoolCore core(capacity, absl::Minutes(5), kEpoch);
  const absl::Time far = At(24 * 3600 * 1000);
  // An empty pool: the seats above the limit are retired at once.
  const uint32_t limit = capacity / 3;
  core.set_limit(limit);
  std::vector<SeatHandle> held;
  std::vector<uint32_t> retired;
  for (uint32_t i = 0; i < capacity; ++i) {
    if (std::optional<SeatHandle> h = core.AcquireSeat(i, At(0), far)) {
      REQUIRE(h->index == i);
      held.push_back(*h);
    } else {
      retired.push_back(i);
    }
  }
  REQUIRE(held.size() == limit);
  REQUIRE(core.in_use() == limit);
  REQUIRE_FALSE(core.Acquire(At(1)).has_value());
  // Raised again: the retired seats come back, to AcquireSeat too.
  core.set_limit(capacity);
  for (const uint32_t i : retired) {
    const std::optional<SeatHandle> h = core.AcquireSeat(i, At(1), far);
    REQUIRE(h.has_value());
    REQUIRE(h->index == i);
    held.push_back(*h);
  }
  REQUIRE(core.in_use() == capacity);
  REQUIRE_FALSE(core.Acquire(At(1)).has_value());
  // Lowered below use: a released seat pays the debt and is retired, not
  // free, until the limit is raised.
  if (capacity >= 2) {
    core.set_limit(capacity - 2);
    const SeatHandle last = held.back();
    REQUIRE(core.Release(last));
    REQUIRE(core.in_use() == capacity - 1);
    REQUIRE_FALSE(core.AcquireSeat(last.index, At(2), far).has_value());
    REQUIRE_FALSE(core.Acquire(At(2)).has_value());
    core.set_limit(capacity);
    const std::optional<SeatHandle> back =
        core.AcquireSeat(last.index, At(3), far);
    REQUIRE(back.has_value());
    REQUIRE(back->index == last.index);
    REQUIRE(core.in_use() == capacity);
  }
}

TEST_CASE(
    "seat pool core: AcquireSeat bounds the lease as Acquire(now, until) "
    "does and reclaims a seat whose lease ran out",
    "[seat_pool][core][ACT-4][ENT-4][SEC-11]") {
  // 1 ms units, and 8 ms units (30 days), where ends are rounded down.
  const int64_t lease_ms =
      GENERATE(int64_t{3} * 3600 * 1000, int64_t{30} * 24 * 3600 * 1000);
  INFO("lease " << lease_ms << " ms");
  SeatPoolCore core(4, absl::Milliseconds(lease_ms), kEpoch);
  const int64_t unit = absl::ToInt64Milliseconds(core.resolution());
  // Earlier than now + lease: that end, rounded down to a unit.
  const std::optional<SeatHandle> a = core.AcquireSeat(2, At(10), At(5003));
  REQUIRE(a.has_value());
  REQUIRE(a->index == 2);
  REQUIRE(core.Inspect(*a, At(10))->expires_at == At(5003 / unit * unit));
  // Later: now + lease.
  const std::optional<SeatHandle> b =
      core.AcquireSeat(3, At(10), At(3 * lease_ms));
  REQUIRE(b.has_value());
  REQUIRE(core.Inspect(*b, At(10))->expires_at == At(ExpiryMs(core, 10)));
  // Not after now: nothing, and the seat stays free.
  REQUIRE_FALSE(core.AcquireSeat(0, At(10), At(10)).has_value());
  REQUIRE_FALSE(core.AcquireSeat(0, At(10), At(3)).has_value());
  REQUIRE_FALSE(
      core.AcquireSeat(0, At(10), kEpoch - absl::Hours(1)).has_value());
  REQUIRE(core.in_use() == 2);
  const std::optional<SeatHandle> c = core.AcquireSeat(0, At(10), At(100000));
  REQUIRE(c.has_value());
  REQUIRE(c->index == 0);
  REQUIRE(core.in_use() == 3);

  // Seat 2's lease ran out, unreclaimed: still reserved one unit before its
  // end, reclaimed and given anew at it (ENT-4), with a new generation.
  const int64_t end = 5003 / unit * unit;
  REQUIRE_FALSE(core.AcquireSeat(2, At(end - 1), At(100000)).has_value());
  const std::optional<SeatHandle> again =
      core.AcquireSeat(2, At(end), At(300000));
  REQUIRE(again.has_value());
  REQUIRE(again->index == 2);
  REQUIRE(again->generation == a->generation + 1);
  REQUIRE_FALSE(core.Heartbeat(*a, At(end)));
  REQUIRE_FALSE(core.Release(*a));
  REQUIRE(core.in_use() == 3);
  // Seat 0 runs out too (alone); under a limit lowered below use (seat 1,
  // free, is retired at once) the reclaimed seat pays the rest of the debt
  // instead of being given.
  core.set_limit(2);
  REQUIRE_FALSE(core.AcquireSeat(0, At(100000), At(200000)).has_value());
  REQUIRE_FALSE(core.Inspect(*c, At(100000)).has_value());
  REQUIRE(core.in_use() == 2);
  REQUIRE_FALSE(core.AcquireSeat(1, At(100000), At(200000)).has_value());
  core.set_limit(4);
  REQUIRE(core.AcquireSeat(0, At(100000), At(200000)).has_value());
  REQUIRE(core.AcquireSeat(1, At(100000), At(200000)).has_value());
  REQUIRE(core.in_use() == 4);
  REQUIRE_FALSE(core.Acquire(At(100000)).has_value());
}

// clang-format off
TEST_CASE("ENT-4 seat pool core: a lease cut short ends when it says, even on a seat whose previous lease ran later",
          "[seat_pool][core][ENT-4][ACT-4]") {
  // clang-format on
  // The wheel keeps a released seat in its slot until the reaper passes it;
  // a reservation cut short on that seat must still be reclaimed at its own
  // end, by Reap and by a reservation that finds the pool full.
  const int64_t L = 60 * 1000;
  const bool by_index = GENERATE(false, true);
  const bool by_reap = GENERATE(false, true);
  INFO((by_index ? "AcquireSeat" : "Acquire(now, until)")
       << (by_reap ? ", reclaimed by Reap" : ", reclaimed by Acquire"));
  SeatPoolCore core(1, absl::Milliseconds(L), kEpoch);
  const std::optional<SeatHandle> first = core.Acquire(At(0));  // ends at L
  REQUIRE(first.has_value());
  REQUIRE(core.Release(*first));
  const std::optional<SeatHandle> cut =
      by_index ? core.AcquireSeat(0, At(10), At(500))
               : core.Acquire(At(10), At(500));
  REQUIRE(cut.has_value());
  REQUIRE(core.Inspect(*cut, At(10))->expires_at == At(500));
  REQUIRE_FALSE(core.Acquire(At(499)).has_value());
  if (by_reap) {
    REQUIRE(core.Reap(At(500)) == 1);
    REQUIRE(core.in_use() == 0);
  }
  const std::optional<SeatHandle> next = core.Acquire(At(500));
  REQUIRE(next.has_value());
  REQUIRE(next->generation == cut->generation + 1);
  REQUIRE_FALSE(core.Heartbeat(*cut, At(500)));
  // The seat's old slot comes due later and changes nothing.
  REQUIRE(core.Reap(At(L)) == 0);
  REQUIRE(core.Inspect(*next, At(L))->expires_at == At(500 + L));
  REQUIRE(core.Reap(At(500 + L)) == 1);
  REQUIRE(core.in_use() == 0);
}

// =====================================================================
// The keyed layer
// =====================================================================

TEST_CASE("seat pool: the same key gets its own seat back, renewed",
          "[seat_pool][keyed][ENT-3]") {
  SeatPool pool(3, absl::Minutes(10), kEpoch);
  const SeatKey k = Key(1, "laptop");
  std::optional<SeatReservation> r1 = pool.Acquire(k, At(0));
  REQUIRE(r1.has_value());
  REQUIRE_FALSE(r1->renewed);
  std::optional<SeatReservation> r2 = pool.Acquire(k, At(1000));
  REQUIRE(r2.has_value());
  REQUIRE(r2->renewed);
  REQUIRE(r2->handle == r1->handle);
  std::optional<SeatReservation> r3 = pool.Heartbeat(k, At(2000));
  REQUIRE(r3.has_value());
  REQUIRE(r3->renewed);
  REQUIRE(r3->handle == r1->handle);
  REQUIRE(pool.core().in_use() == 1);
  REQUIRE(pool.core().Inspect(r1->handle, At(2000))->expires_at ==
          At(ExpiryMs(pool.core(), 2000)));
}

TEST_CASE(
    "seat pool: a second device of the same identity takes a second "
    "seat; a full pool gives nothing",
    "[seat_pool][keyed][ENT-3][ENT-5]") {
  SeatPool pool(2, absl::Minutes(10), kEpoch);
  std::optional<SeatReservation> a = pool.Acquire(Key(1, "laptop"), At(0));
  std::optional<SeatReservation> b = pool.Acquire(Key(1, "desktop"), At(0));
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  REQUIRE_FALSE(b->renewed);
  REQUIRE(a->handle.index != b->handle.index);
  REQUIRE(pool.core().in_use() == 2);
  // Exhausted (ENT-5): a third device and another identity get nothing...
  REQUIRE_FALSE(pool.Acquire(Key(1, "phone"), At(10)).has_value());
  REQUIRE_FALSE(pool.Acquire(Key(2, "laptop"), At(10)).has_value());
  REQUIRE_FALSE(pool.Heartbeat(Key(2, "laptop"), At(10)).has_value());
  // ...while the holders still renew.
  REQUIRE(pool.Acquire(Key(1, "laptop"), At(20))->renewed);
  REQUIRE(pool.Heartbeat(Key(1, "desktop"), At(20))->renewed);
  REQUIRE(pool.core().in_use() == 2);
  // A refused key holds nothing.
  REQUIRE_FALSE(pool.Release(Key(2, "laptop")));
}

TEST_CASE(
    "seat pool: a key whose seat expired and went to another key gets a "
    "new seat on heartbeat; the other key keeps its seat",
    "[seat_pool][keyed][ENT-4]") {
  const int64_t L = 60 * 1000;
  SeatPool pool(2, absl::Milliseconds(L), kEpoch);
  const SeatKey a = Key(1, "a"), x = Key(2, "x"), b = Key(3, "b");
  const SeatReservation ra = *pool.Acquire(a, At(0));
  const SeatReservation rx = *pool.Acquire(x, At(0));
  REQUIRE(pool.Heartbeat(x, At(L / 2))->renewed);
  // a's lease runs out at its rounded deadline `ea` (x's runs to L/2 + L,
  // rounded: later than every time below); b takes the pool's only
  // reclaimable seat: a's. The times below are ea + 1.. where they were
  // L + 1.. under exact milliseconds.
  const int64_t ea = ExpiryMs(pool.core(), 0);
  REQUIRE(ExpiryMs(pool.core(), L / 2) > ea + 4);
  REQUIRE_FALSE(pool.Acquire(b, At(ea - 1)).has_value());
  const std::optional<SeatReservation> rb = pool.Acquire(b, At(ea + 1));
  REQUIRE(rb.has_value());
  REQUIRE_FALSE(rb->renewed);
  REQUIRE(rb->handle.index == ra.handle.index);
  REQUIRE_FALSE(rb->handle == ra.handle);
  // x leaves; a comes back: a new seat, not its old one, and b keeps its own.
  REQUIRE(pool.Release(x));
  const std::optional<SeatReservation> ra2 = pool.Heartbeat(a, At(ea + 2));
  REQUIRE(ra2.has_value());
  REQUIRE_FALSE(ra2->renewed);
  REQUIRE(ra2->handle.index == rx.handle.index);
  REQUIRE_FALSE(ra2->handle == ra.handle);
  REQUIRE(pool.core().Inspect(rb->handle, At(ea + 2))->expires_at ==
          At(ExpiryMs(pool.core(), ea + 1)));
  REQUIRE(pool.Heartbeat(b, At(ea + 3))->handle == rb->handle);
  REQUIRE(pool.Heartbeat(a, At(ea + 3))->handle == ra2->handle);
  REQUIRE(pool.core().in_use() == 2);

  // With the pool full, a key whose seat was lost gets nothing and disturbs
  // nobody.
  const std::optional<SeatReservation> rb_again = pool.Acquire(b, At(ea + 4));
  REQUIRE(rb_again->renewed);
  std::vector<SeatHolder> holders = pool.Holders(At(ea + 4));
  REQUIRE(holders.size() == 2);
}

TEST_CASE("seat pool: a key whose seat expired unclaimed gets a new handle",
          "[seat_pool][keyed][ENT-4]") {
  const int64_t L = 1000;
  SeatPool pool(1, absl::Milliseconds(L), kEpoch);
  const SeatKey k = Key(1, "d");
  const SeatReservation r1 = *pool.Acquire(k, At(0));
  const int64_t end = ExpiryMs(pool.core(), 0);  // L: the unit is 1 ms
  REQUIRE(end == L);
  const std::optional<SeatReservation> r2 = pool.Heartbeat(k, At(end));
  REQUIRE(r2.has_value());
  REQUIRE_FALSE(r2->renewed);
  REQUIRE_FALSE(r2->handle == r1.handle);
  REQUIRE(pool.core().in_use() == 1);
  REQUIRE_FALSE(pool.core().Heartbeat(r1.handle, At(end)));
}

TEST_CASE("seat pool: Release frees the key's seat once",
          "[seat_pool][keyed]") {
  SeatPool pool(1, absl::Minutes(10), kEpoch);
  const SeatKey k = Key(1, "d");
  const SeatReservation r = *pool.Acquire(k, At(0));
  REQUIRE_FALSE(pool.Acquire(Key(2, "d"), At(1)).has_value());
  REQUIRE(pool.Release(k));
  REQUIRE_FALSE(pool.Release(k));
  REQUIRE_FALSE(pool.Release(Key(9, "never")));
  REQUIRE(pool.core().in_use() == 0);
  REQUIRE(pool.Holders(At(2)).empty());
  REQUIRE_FALSE(pool.core().Heartbeat(r.handle, At(2)));
  const std::optional<SeatReservation> other = pool.Acquire(Key(2, "d"), At(3));
  REQUIRE(other.has_value());
  REQUIRE_FALSE(other->renewed);
  // k comes back: a fresh reservation, the pool is full again.
  REQUIRE_FALSE(pool.Acquire(k, At(4)).has_value());
  // Releasing k, which holds nothing, does not free the other key's seat.
  REQUIRE_FALSE(pool.Release(k));
  REQUIRE(pool.core().Inspect(other->handle, At(5)).has_value());
}

TEST_CASE("seat pool: ReleaseIdentity frees every device of the identity",
          "[seat_pool][keyed][ENT-3]") {
  SeatPool pool(5, absl::Minutes(10), kEpoch);
  std::vector<SeatReservation> one;
  for (const char* device : {"a", "b", "c"}) {
    one.push_back(*pool.Acquire(Key(1, device), At(0)));
  }
  const SeatReservation two = *pool.Acquire(Key(2, "a"), At(0));
  REQUIRE(pool.core().in_use() == 4);
  REQUIRE(pool.ReleaseIdentity(IdentityId(1)) == 3);
  REQUIRE(pool.core().in_use() == 1);
  REQUIRE(pool.ReleaseIdentity(IdentityId(1)) == 0);
  REQUIRE(pool.ReleaseIdentity(IdentityId(7)) == 0);
  for (const SeatReservation& r : one) {
    REQUIRE_FALSE(pool.core().Heartbeat(r.handle, At(1)));
  }
  std::vector<SeatHolder> holders = pool.Holders(At(1));
  REQUIRE(holders.size() == 1);
  REQUIRE(holders[0].key == Key(2, "a"));
  REQUIRE(holders[0].handle == two.handle);
  const std::optional<SeatReservation> again = pool.Acquire(Key(1, "a"), At(2));
  REQUIRE(again.has_value());
  REQUIRE_FALSE(again->renewed);
}

TEST_CASE("seat pool: Holders shows key, since, last heartbeat and expiry",
          "[seat_pool][keyed][ENT-11]") {
  const int64_t L = 60 * 1000;
  SeatPool pool(4, absl::Milliseconds(L), kEpoch);
  const SeatKey k1 = Key(1, "laptop"), k2 = Key(2, "phone");
  const SeatReservation r1 = *pool.Acquire(k1, At(0));
  const SeatReservation r2 = *pool.Acquire(k2, At(100));
  REQUIRE(pool.Heartbeat(k1, At(5000))->renewed);

  auto find = [](const std::vector<SeatHolder>& hs, const SeatKey& k) {
    return std::find_if(hs.begin(), hs.end(),
                        [&](const SeatHolder& h) { return h.key == k; });
  };
  std::vector<SeatHolder> holders = pool.Holders(At(6000));
  REQUIRE(holders.size() == 2);
  auto h1 = find(holders, k1);
  REQUIRE(h1 != holders.end());
  REQUIRE(h1->handle == r1.handle);
  REQUIRE(h1->since == At(0));
  REQUIRE(h1->last_heartbeat == At(5000));
  REQUIRE(h1->expires_at == At(ExpiryMs(pool.core(), 5000)));
  auto h2 = find(holders, k2);
  REQUIRE(h2 != holders.end());
  REQUIRE(h2->handle == r2.handle);
  REQUIRE(h2->since == At(100));
  REQUIRE(h2->last_heartbeat == At(100));
  const int64_t e2 = ExpiryMs(pool.core(), 100);
  REQUIRE(h2->expires_at == At(e2));

  // k2's lease runs out at its rounded deadline: shown 1 ms before, not at it.
  REQUIRE(pool.Holders(At(e2 - 1)).size() == 2);
  holders = pool.Holders(At(e2));
  REQUIRE(holders.size() == 1);
  REQUIRE(holders[0].key == k1);
  // Force release through the core (ENT-11): gone from the view.
  REQUIRE(pool.core().Release(r1.handle));
  REQUIRE(pool.Holders(At(e2)).empty());
}

// clang-format off
TEST_CASE("SEC-11 seat pool: Adopt moves a holder into another pool with its since, last heartbeat and lease end",
          "[seat_pool][keyed][SEC-11]") {
  // clang-format on
  const int64_t L = 3 * 3600 * 1000;
  SeatPool small(1, absl::Milliseconds(L), kEpoch);
  const SeatKey k1 = Key(1, "a");
  REQUIRE(small.Acquire(k1, At(0)).has_value());
  REQUIRE(small.Heartbeat(k1, At(1000))->renewed);
  const std::vector<SeatHolder> held = small.Holders(At(5000));
  REQUIRE(held.size() == 1);
  // A larger pool made later (its own epoch): the lease keeps its end.
  SeatPool large(4, absl::Milliseconds(L), At(5000));
  REQUIRE(large.Adopt(held[0], At(5000)));
  std::vector<SeatHolder> moved = large.Holders(At(5000));
  REQUIRE(moved.size() == 1);
  CHECK(moved[0].key == k1);
  CHECK(moved[0].since == At(0));
  CHECK(moved[0].last_heartbeat == At(1000));
  CHECK(moved[0].expires_at == At(1000 + L));
  // Held to its end, not a lease after the move.
  CHECK(large.Holders(At(1000 + L - 1)).size() == 1);
  CHECK(large.Holders(At(1000 + L)).empty());
  // The key is held once; a lease that has ended is not adopted.
  CHECK_FALSE(large.Adopt(held[0], At(6000)));
  SeatHolder ended = held[0];
  ended.key = Key(2, "a");
  CHECK_FALSE(large.Adopt(ended, At(1000 + L)));
  CHECK(large.core().in_use() == 1);
  // The adopted key renews like any other.
  std::optional<SeatReservation> again = large.Acquire(k1, At(7000));
  REQUIRE(again.has_value());
  CHECK(again->renewed);
  CHECK(large.Holders(At(7000))[0].expires_at == At(7000 + L));
}

TEST_CASE("seat pool: Sweep reclaims expired seats and forgets their keys",
          "[seat_pool][keyed][ENT-4]") {
  const int64_t L = 1000;
  SeatPool pool(3, absl::Milliseconds(L), kEpoch);
  const SeatKey k1 = Key(1, "a"), k2 = Key(2, "a"), k3 = Key(3, "a");
  const SeatReservation r1 = *pool.Acquire(k1, At(0));
  const SeatReservation r2 = *pool.Acquire(k2, At(0));
  const SeatReservation r3 = *pool.Acquire(k3, At(0));
  REQUIRE(pool.Heartbeat(k2, At(500))->renewed);
  // k3's seat is force-released through the core: the key still maps to it.
  REQUIRE(pool.core().Release(r3.handle));
  REQUIRE(pool.core().in_use() == 2);
  // Rounded deadlines (the unit is 1 ms for this lease, so these are L,
  // 500 + L and 2L + 1).
  const int64_t e1 = ExpiryMs(pool.core(), 0);
  const int64_t e2 = ExpiryMs(pool.core(), 500);
  const int64_t e3 = ExpiryMs(pool.core(), e1 + 1);

  REQUIRE(pool.Sweep(At(e1 - 1)) == 0);
  REQUIRE(pool.Sweep(At(e1)) == 1);  // k1's seat
  REQUIRE(pool.core().in_use() == 1);
  std::vector<SeatHolder> holders = pool.Holders(At(e1));
  REQUIRE(holders.size() == 1);
  REQUIRE(holders[0].key == k2);
  // k1 and k3 are forgotten: releasing them finds nothing; acquiring them
  // reserves anew.
  REQUIRE_FALSE(pool.Release(k1));
  REQUIRE_FALSE(pool.Release(k3));
  const std::optional<SeatReservation> n1 = pool.Acquire(k1, At(e1 + 1));
  REQUIRE(n1.has_value());
  REQUIRE_FALSE(n1->renewed);
  REQUIRE_FALSE(n1->handle == r1.handle);
  // k2 still holds its own seat; renewing moves its deadline to e3, like
  // k1's new seat.
  REQUIRE(pool.Acquire(k2, At(e1 + 1))->handle == r2.handle);
  REQUIRE(pool.core().in_use() == 2);
  REQUIRE(pool.Sweep(At(e2)) == 0);
  REQUIRE(pool.Sweep(At(e3 - 1)) == 0);
  REQUIRE(pool.Holders(At(e3 - 1)).size() == 2);
  REQUIRE(pool.Sweep(At(e3)) == 2);
  REQUIRE(pool.core().in_use() == 0);
  REQUIRE(pool.Sweep(At(100 * L)) == 0);
  REQUIRE(pool.Holders(At(100 * L)).empty());
}

// clang-format off
TEST_CASE("ACT-4 seat pool: a pool rebuilt with AdoptAt from the holders gives every holder the same seat until the same expiry",
          "[seat_pool][keyed][ACT-4]") {
  // clang-format on
  const uint32_t capacity = GENERATE(5u, 300u, 5000u);
  // The restarted pool's epoch: the old one, or the restart's time.
  const bool new_epoch = GENERATE(false, true);
  INFO("capacity " << capacity << (new_epoch ? ", new epoch" : ""));
  const int64_t L = 60 * 1000;
  std::vector<SeatHolder> stored;
  {
    SeatPool serving(capacity, absl::Milliseconds(L), kEpoch);
    for (int64_t t = 0; t < 7; ++t) {
      for (uint32_t i = 0; i < capacity; ++i) {
        if (i % 7 != t) continue;
        REQUIRE(serving.Acquire(Key(i + 1, "d"), At(t)).has_value());
      }
    }
    // A third released, a third heartbeated, a third left to run out.
    for (uint32_t i = 0; i < capacity; ++i) {
      if (i % 3 == 0) REQUIRE(serving.Release(Key(i + 1, "d")));
    }
    for (uint32_t i = 0; i < capacity; ++i) {
      if (i % 3 == 1) REQUIRE(serving.Heartbeat(Key(i + 1, "d"), At(1000)));
    }
    stored = serving.Holders(At(2000));
  }  // The process goes away.
  REQUIRE(stored.size() == capacity - (capacity + 2) / 3);

  SeatPool restarted(capacity, absl::Milliseconds(L),
                     new_epoch ? At(2000) : kEpoch);
  for (const SeatHolder& h : stored) REQUIRE(restarted.AdoptAt(h, At(2000)));
  REQUIRE(restarted.core().in_use() == stored.size());
  std::set<uint32_t> adopted;
  for (const SeatHolder& h : stored) {
    INFO("key " << h.key.identity.value() << " seat " << Str(h.handle));
    const std::optional<SeatHolder> found = restarted.Find(h.key, At(2000));
    REQUIRE(found.has_value());
    CHECK(found->handle.index == h.handle.index);
    CHECK(found->since == h.since);
    CHECK(found->last_heartbeat == h.last_heartbeat);
    CHECK(found->expires_at == h.expires_at);
    adopted.insert(h.handle.index);
  }
  const std::vector<SeatHolder> shown = restarted.Holders(At(2000));
  REQUIRE(shown.size() == stored.size());
  for (const SeatHolder& h : shown) REQUIRE(adopted.count(h.handle.index) == 1);

  // No seat is given twice: new keys get exactly the seats nobody holds.
  uint32_t fresh = 0;
  while (std::optional<SeatReservation> r =
             restarted.Acquire(Key(100000 + fresh, "new"), At(2000))) {
    REQUIRE_FALSE(r->renewed);
    REQUIRE(adopted.count(r->handle.index) == 0);
    if (++fresh > capacity) break;
  }
  REQUIRE(fresh == capacity - stored.size());
  REQUIRE(restarted.core().in_use() == capacity);
  // Adopting once more gives nothing: the keys hold their seats.
  for (size_t pos : SomePositions(stored.size())) {
    REQUIRE_FALSE(restarted.AdoptAt(stored[pos], At(2000)));
  }
  // Every holder renews its own seat, and the others' leases end when they
  // would have.
  for (const SeatHolder& h : stored) {
    const int64_t i = h.key.identity.value() - 1;
    if (i % 3 != 1) continue;
    const std::optional<SeatReservation> r =
        restarted.Heartbeat(h.key, At(3000));
    REQUIRE(r.has_value());
    REQUIRE(r->renewed);
    REQUIRE(r->handle.index == h.handle.index);
  }
  for (const int64_t at : {L - 1, L + 3, L + 7}) {
    for (const SeatHolder& h : stored) {
      const int64_t i = h.key.identity.value() - 1;
      INFO("key " << i + 1 << " at " << at);
      if (i % 3 == 2) REQUIRE(h.expires_at == At(i % 7 + L));
      const bool live = i % 3 == 1 || i % 7 + L > at;
      REQUIRE(restarted.Find(h.key, At(at)).has_value() == live);
    }
  }
}

// clang-format off
TEST_CASE("ACT-4 seat pool: AdoptAt keeps the seat, since, last heartbeat and lease end; refuses a held key, a taken, retired or missing seat and an ended lease",
          "[seat_pool][keyed][ACT-4]") {
  // clang-format on
  const int64_t L = 3 * 3600 * 1000;
  SeatPool pool(8, absl::Milliseconds(L), kEpoch);
  // The stored generation is another pool's: this pool's handle is its own.
  const SeatHolder a{Key(1, "a"), SeatHandle{5, 7}, At(0), At(1000),
                     At(1000 + L)};
  REQUIRE(pool.AdoptAt(a, At(5000)));
  std::optional<SeatHolder> found = pool.Find(a.key, At(5000));
  REQUIRE(found.has_value());
  CHECK(found->handle == SeatHandle{5, 0});
  CHECK(found->since == At(0));
  CHECK(found->last_heartbeat == At(1000));
  CHECK(found->expires_at == At(1000 + L));
  // A stored end past now + lease is cut to it (SEC-11: no lease extended).
  const SeatHolder b{Key(2, "a"), SeatHandle{6, 0}, At(0), At(0), At(10 * L)};
  REQUIRE(pool.AdoptAt(b, At(5000)));
  CHECK(pool.Find(b.key, At(5000))->expires_at == At(5000 + L));
  REQUIRE(pool.core().in_use() == 2);

  // Refused, and nothing reserved: the key holds a seat; the seat is held,
  // out of range, or retired; the lease has ended.
  SeatHolder again = a;
  again.handle.index = 0;
  CHECK_FALSE(pool.AdoptAt(again, At(5000)));
  SeatHolder taken = a;
  taken.key = Key(3, "a");
  CHECK_FALSE(pool.AdoptAt(taken, At(5000)));
  SeatHolder missing = taken;
  missing.handle.index = 8;
  CHECK_FALSE(pool.AdoptAt(missing, At(5000)));
  SeatHolder ended = taken;
  ended.handle.index = 0;
  ended.expires_at = At(5000);
  CHECK_FALSE(pool.AdoptAt(ended, At(5000)));
  pool.core().set_limit(2);
  SeatHolder retired = ended;
  retired.expires_at = At(6000);
  CHECK_FALSE(pool.AdoptAt(retired, At(5000)));
  CHECK(pool.core().in_use() == 2);
  CHECK(pool.Holders(At(5000)).size() == 2);
  CHECK_FALSE(pool.Find(taken.key, At(5000)).has_value());
  pool.core().set_limit(8);
  REQUIRE(pool.AdoptAt(retired, At(5000)));
  CHECK(pool.Find(retired.key, At(5000))->handle.index == 0);
  CHECK(pool.Find(retired.key, At(5000))->expires_at == At(6000));

  // A key whose seat was lost is adopted anew, on the seat it asks for.
  SeatHolder moved = a;
  moved.handle.index = 1;
  moved.expires_at = At(2000 + L);
  REQUIRE(pool.AdoptAt(moved, At(1000 + L)));
  CHECK(pool.Find(a.key, At(1000 + L))->handle.index == 1);
  // Its old seat ran out unreclaimed; it is reclaimed for whoever asks.
  SeatHolder old_seat = moved;
  old_seat.key = Key(4, "a");
  old_seat.handle.index = 5;
  REQUIRE(pool.AdoptAt(old_seat, At(1000 + L)));
  CHECK(pool.Find(old_seat.key, At(1000 + L))->handle == SeatHandle{5, 1});
  CHECK(pool.core().in_use() == 3);  // seats 1, 5 and 6
  // Adopted keys renew like any other.
  const std::optional<SeatReservation> renewed =
      pool.Acquire(b.key, At(2000 + L));
  REQUIRE(renewed.has_value());
  CHECK(renewed->renewed);
  CHECK(renewed->handle.index == 6);
}

TEST_CASE(
    "seat pool: Find shows a key's seat as Holders does while its lease "
    "runs, and changes nothing",
    "[seat_pool][keyed][ACT-4][ENT-11]") {
  const int64_t L = 60 * 1000;
  SeatPool pool(3, absl::Milliseconds(L), kEpoch);
  const SeatPool& view = pool;
  const SeatKey k1 = Key(1, "laptop"), k2 = Key(2, "phone"),
                k3 = Key(3, "desk"), never = Key(4, "laptop");
  const SeatReservation r1 = *pool.Acquire(k1, At(0));
  const SeatReservation r2 = *pool.Acquire(k2, At(100));
  REQUIRE(pool.Acquire(k3, At(200)).has_value());
  REQUIRE(pool.Heartbeat(k1, At(5000))->renewed);
  REQUIRE(pool.Release(k3));

  // Held: what Holders shows.
  const std::vector<SeatHolder> holders = view.Holders(At(6000));
  REQUIRE(holders.size() == 2);
  for (const SeatHolder& h : holders) {
    const std::optional<SeatHolder> found = view.Find(h.key, At(6000));
    REQUIRE(found.has_value());
    CHECK(found->key == h.key);
    CHECK(found->handle == h.handle);
    CHECK(found->since == h.since);
    CHECK(found->last_heartbeat == h.last_heartbeat);
    CHECK(found->expires_at == h.expires_at);
  }
  const std::optional<SeatHolder> f1 = view.Find(k1, At(6000));
  REQUIRE(f1.has_value());
  CHECK(f1->handle == r1.handle);
  CHECK(f1->since == At(0));
  CHECK(f1->last_heartbeat == At(5000));
  CHECK(f1->expires_at == At(5000 + L));
  // Released, never held, another device of a holder: nothing.
  CHECK_FALSE(view.Find(k3, At(6000)).has_value());
  CHECK_FALSE(view.Find(never, At(6000)).has_value());
  CHECK_FALSE(view.Find(Key(1, "phone"), At(6000)).has_value());
  // Expired: shown one millisecond before its end, not at it...
  CHECK(view.Find(k2, At(100 + L - 1))->handle == r2.handle);
  CHECK_FALSE(view.Find(k2, At(100 + L)).has_value());
  // ...and Find neither reclaimed the seat nor forgot the key: releasing it
  // still frees the unreclaimed seat.
  CHECK(pool.core().in_use() == 2);
  CHECK(pool.Release(k2));
  CHECK(pool.core().in_use() == 1);
  CHECK_FALSE(view.Find(k2, At(100 + L)).has_value());
  CHECK(view.Find(k1, At(100 + L))->handle == r1.handle);
  CHECK(pool.core().in_use() == 1);
}

// =====================================================================
// Randomized model test of the keyed layer
// =====================================================================

// The sequential model. It tracks what the header promises:
//   - `seats`: every reserved seat not yet reclaimed (expired ones included),
//     by index. A seat is reclaimed by a release, by Reap/Sweep (every seat
//     whose deadline <= now), and by an Acquire that finds the pool full
//     (it reaps first).
//   - `holders`: the keys the pool remembers (its key map) and their handle;
//     a key is forgotten by Release/ReleaseIdentity, by Sweep when its seat is
//     gone, and by an Acquire whose renewal failed.
//   - a key holding a live seat (not reclaimed, deadline > now) renews it;
//     otherwise it needs a new seat, which exists iff fewer than `limit` seats
//     are reserved (after reaping, when the pool is full).
//   - SEC-11: `base`, the unit of the latest Reap's `now`; an Acquire or
//     Heartbeat 2^29 units or more past it reaps first.
class Model {
 public:
  struct Seat {
    SeatHandle handle;
    int64_t deadline;
  };
  struct Holder {
    SeatHandle handle;
    int64_t since;
    int64_t last;
  };
  using K = std::pair<int64_t, int>;  // identity, device number

  Model(uint32_t capacity, int64_t lease_ms)
      : capacity(capacity),
        lease(lease_ms),
        unit(UnitMsFor(lease_ms)),
        limit(capacity) {}

  // The deadline of a lease starting at `now` (ms after the epoch): rounded
  // down to a whole unit, as seat_pool.h "Times" specifies.
  int64_t DeadlineFrom(int64_t now) const { return ExpiryMs(lease, unit, now); }

  // Every reap moves the base.
  size_t Reap(int64_t now) {
    base = std::max(base, now / unit);
    return ReapDue(now);
  }
  // What an Acquire or Heartbeat at `now` does first.
  void CatchUp(int64_t now) {
    if (now / unit - base >= kHorizonUnits) Reap(now);
  }

  bool Holds(const SeatHandle& h) const {
    auto it = seats.find(h.index);
    return it != seats.end() && it->second.handle == h;
  }
  bool Live(const SeatHandle& h, int64_t now) const {
    auto it = seats.find(h.index);
    return Holds(h) && it->second.deadline > now;
  }
  size_t ReapDue(int64_t now) {
    size_t n = 0;
    for (auto it = seats.begin(); it != seats.end();) {
      if (it->second.deadline <= now) {
        it = seats.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }

  const uint32_t capacity;
  const int64_t lease;
  const int64_t unit;  // UnitMsFor(lease)
  uint32_t limit;
  int64_t base = 0;  // in units
  uint32_t peak = 0;
  std::map<uint32_t, Seat> seats;
  std::map<K, Holder> holders;
  std::set<std::pair<uint32_t, uint32_t>> issued;  // every handle ever given
};

struct ModelConfig {
  uint32_t capacity;
  int64_t lease_ms;
  uint64_t seed;
  int steps;
  // Also reserve chosen seats: core().AcquireSeat (a seat no key holds) and
  // AdoptAt (ACT-4). Off, a seed runs the same steps as before they existed.
  bool by_index = false;
};

std::string ModelFailure(const ModelConfig& c, int step, const std::string& op,
                         const std::string& what,
                         const std::deque<std::string>& history = {}) {
  std::ostringstream os;
  os << "model divergence: capacity " << c.capacity << " lease " << c.lease_ms
     << " ms seed " << c.seed << " step " << step << " op [" << op
     << "]: " << what;
  if (!history.empty()) {
    os << "\n  preceding steps:";
    for (const std::string& h : history) os << "\n    " << h;
  }
  return os.str();
}

// Runs one seeded model test; returns the first divergence, or "".
std::string RunModel(const ModelConfig& cfg) {
  std::mt19937_64 rng(cfg.seed);
  auto rand = [&](uint64_t n) { return n == 0 ? 0 : rng() % n; };
  const uint32_t cap = cfg.capacity;
  const int64_t L = cfg.lease_ms;
  SeatPool pool(cap, absl::Milliseconds(L), kEpoch);
  Model m(cap, L);
  if (pool.core().resolution() != absl::Milliseconds(m.unit)) {
    return ModelFailure(cfg, 0, "construction",
                        "resolution " +
                            absl::FormatDuration(pool.core().resolution()) +
                            ", expected " + std::to_string(m.unit) + " ms");
  }
  int64_t now = 0;
  std::deque<std::string> history;  // the last few steps, for failures

  // Keys: identities 1..n_ids, devices 0..2 each; about 1.5 keys per seat.
  const int64_t n_ids = std::max<int64_t>(2, (cap * 3 / 2 + 2) / 3);
  auto key_of = [](const Model::K& k) {
    return SeatKey{IdentityId(k.first),
                   DeviceId("dev" + std::to_string(k.second))};
  };
  auto random_key = [&]() -> Model::K {
    // Prefer keys the pool remembers half of the time, so renewals happen.
    if (!m.holders.empty() && rand(2) == 0) {
      auto it = m.holders.begin();
      std::advance(
          it, static_cast<long>(rand(std::min<size_t>(m.holders.size(), 64))));
      if (m.holders.size() > 64) {
        // Jump somewhere in a big map without walking it all.
        it = m.holders.lower_bound(Model::K{
            1 + static_cast<int64_t>(rand(n_ids)), static_cast<int>(rand(3))});
        if (it == m.holders.end()) it = m.holders.begin();
      }
      return it->first;
    }
    return Model::K{1 + static_cast<int64_t>(rand(n_ids)),
                    static_cast<int>(rand(3))};
  };

  for (int step = 0; step < cfg.steps; ++step) {
    std::ostringstream op;
    const uint64_t dice = rand(1000);
    auto fail = [&](const std::string& what) {
      return ModelFailure(cfg, step, op.str(), what, history);
    };
    if (cfg.by_index && dice >= 625 && rand(3) == 0) {
      // ------------------------------------------ AcquireSeat and AdoptAt
      const bool adopt = rand(2) == 0;
      uint32_t index = static_cast<uint32_t>(rand(cap));
      switch (rand(4)) {
        case 0:
          index = cap + static_cast<uint32_t>(rand(3));  // out of range
          break;
        case 1:
          if (!m.seats.empty()) {  // a reserved seat, live or not
            auto it = m.seats.lower_bound(static_cast<uint32_t>(rand(cap)));
            if (it == m.seats.end()) it = m.seats.begin();
            index = it->first;
          }
          break;
        default:
          break;
      }
      int64_t until = 0;
      switch (rand(5)) {
        case 0:
          until = now - static_cast<int64_t>(rand(3));  // not after now
          break;
        case 1:
          until =
              now + 1 + static_cast<int64_t>(rand(static_cast<uint64_t>(L)));
          break;
        case 2:
          until = now + L;
          break;
        default:
          until = now + L + 1 +
                  static_cast<int64_t>(rand(static_cast<uint64_t>(L)));
          break;
      }
      until = std::max<int64_t>(0, until);
      const Model::K k = random_key();
      const int64_t since = std::max<int64_t>(
          0, now - static_cast<int64_t>(rand(static_cast<uint64_t>(L))));
      const int64_t last =
          since +
          static_cast<int64_t>(rand(static_cast<uint64_t>(now - since + 1)));
      std::optional<SeatHandle> got;
      if (adopt) {
        op << "AdoptAt key (" << k.first << ", dev" << k.second << ") seat "
           << index << " until " << until << " at " << now;
        const SeatHolder holder{
            key_of(k), SeatHandle{index, static_cast<uint32_t>(rand(5))},
            At(since), At(last), At(until)};
        if (pool.AdoptAt(holder, At(now))) {
          const std::optional<SeatHolder> found =
              pool.Find(holder.key, At(now));
          if (!found) return fail("AdoptAt true, but Find finds nothing");
          got = found->handle;
        }
      } else {
        op << "core().AcquireSeat " << index << " until " << until << " at "
           << now;
        got = pool.core().AcquireSeat(index, At(now), At(until));
      }
      // The model's answer: a key holding a live seat is refused first;
      // then the seat must exist, the lease end after now, the seat be free
      // (an expired one is reclaimed, by a Reap) and not above the limit.
      // Which seats a lowered limit retired the model does not know: below
      // the capacity, a free seat may be refused.
      bool refuse = false;
      bool either = false;
      int64_t deadline = 0;
      if (adopt) {
        auto hit = m.holders.find(k);
        if (hit != m.holders.end()) {
          if (m.Live(hit->second.handle, now)) {
            refuse = true;
          } else {
            m.holders.erase(hit);
          }
        }
      }
      if (!refuse && index >= cap) refuse = true;
      if (!refuse) {
        m.CatchUp(now);
        deadline = std::min(m.DeadlineFrom(now), until / m.unit * m.unit);
        if (deadline <= now) refuse = true;
      }
      if (!refuse) {
        auto sit = m.seats.find(index);
        if (sit != m.seats.end()) {
          if (sit->second.deadline > now) {
            refuse = true;
          } else {
            m.Reap(now);
          }
        }
      }
      if (!refuse) {
        if (m.seats.size() >= m.limit) {
          refuse = true;
        } else if (m.limit < cap) {
          either = true;
        }
      }
      if (got && refuse) return fail("got " + Str(*got) + ", expected nothing");
      if (!got && !refuse && !either) {
        return fail("nothing, but seat " + std::to_string(index) +
                    " is free and " + std::to_string(m.seats.size()) +
                    " seats are reserved; limit " + std::to_string(m.limit));
      }
      if (got) {
        if (got->index != index) return fail("got " + Str(*got));
        if (!m.issued.insert({got->index, got->generation}).second) {
          return fail("handle handed out twice: " + Str(*got));
        }
        m.seats[index] = Model::Seat{*got, deadline};
        if (adopt) m.holders[k] = Model::Holder{*got, since, last};
      }
      goto checks;
    }
    if (dice < 380) {
      // ---------------------------------------------------------- Acquire
      const Model::K k = random_key();
      const bool via_heartbeat = rand(2) == 0;
      op << (via_heartbeat ? "Heartbeat" : "Acquire") << " key (" << k.first
         << ", dev" << k.second << ") at " << now;
      std::optional<SeatReservation> got =
          via_heartbeat ? pool.Heartbeat(key_of(k), At(now))
                        : pool.Acquire(key_of(k), At(now));
      // The model's answer.
      m.CatchUp(now);
      std::optional<SeatHandle> previous;
      auto hit = m.holders.find(k);
      if (hit != m.holders.end()) {
        previous = hit->second.handle;
        if (m.Live(hit->second.handle, now)) {
          if (!got) return fail("a live holder's renewal failed");
          if (!got->renewed)
            return fail("a live holder's renewal not marked renewed");
          if (!(got->handle == hit->second.handle)) {
            return fail("renewal returned " + Str(got->handle) +
                        ", key holds " + Str(hit->second.handle));
          }
          m.seats[got->handle.index].deadline = m.DeadlineFrom(now);
          hit->second.last = now;
          goto checks;
        }
        m.holders.erase(hit);
      }
      if (m.seats.size() >= m.limit) m.Reap(now);
      if (m.seats.size() >= m.limit) {
        if (got) {
          return fail("got " + Str(got->handle) + " (renewed " +
                      std::to_string(got->renewed) + ") but " +
                      std::to_string(m.seats.size()) +
                      " live seats are reserved and the limit is " +
                      std::to_string(m.limit));
        }
        // A refusal proves the pool full: the peak is raised to its use.
        m.peak =
            std::max<uint32_t>(m.peak, static_cast<uint32_t>(m.seats.size()));
        goto checks;
      }
      if (!got) {
        return fail("no seat, but only " + std::to_string(m.seats.size()) +
                    " seats (after reaping) are reserved; limit " +
                    std::to_string(m.limit) + "; core in_use " +
                    std::to_string(pool.core().in_use()));
      }
      if (got->renewed) return fail("a new reservation marked renewed");
      if (got->handle.index >= cap)
        return fail("index out of range: " + Str(got->handle));
      if (m.seats.count(got->handle.index)) {
        return fail("seat " + Str(got->handle) + " given while " +
                    Str(m.seats[got->handle.index].handle) + " still holds it");
      }
      if (previous && *previous == got->handle) {
        return fail("the key got its lost handle back: " + Str(got->handle));
      }
      if (!m.issued.insert({got->handle.index, got->handle.generation})
               .second) {
        return fail("handle handed out twice: " + Str(got->handle));
      }
      m.seats[got->handle.index] =
          Model::Seat{got->handle, m.DeadlineFrom(now)};
      m.holders[k] = Model::Holder{got->handle, now, now};
    } else if (dice < 480) {
      // ---------------------------------------------------------- Release
      const Model::K k = random_key();
      op << "Release key (" << k.first << ", dev" << k.second << ") at " << now;
      const bool released = pool.Release(key_of(k));
      auto hit = m.holders.find(k);
      bool expect = false;
      bool either = false;
      if (hit != m.holders.end()) {
        if (m.Live(hit->second.handle, now)) {
          expect = true;
        } else if (m.Holds(hit->second.handle)) {
          // Expired, not yet reclaimed: the contract leaves the answer open;
          // either way the seat is freed.
          either = true;
        }
        if (m.Holds(hit->second.handle))
          m.seats.erase(hit->second.handle.index);
        m.holders.erase(hit);
      }
      if (!either && released != expect) {
        return fail(std::string("Release returned ") +
                    (released ? "true" : "false"));
      }
    } else if (dice < 500) {
      // ----------------------------------------------------------
      // ReleaseIdentity
      const int64_t id = 1 + static_cast<int64_t>(rand(n_ids));
      op << "ReleaseIdentity " << id << " at " << now;
      const size_t released = pool.ReleaseIdentity(IdentityId(id));
      size_t live = 0, expired = 0;
      for (auto it = m.holders.begin(); it != m.holders.end();) {
        if (it->first.first == id) {
          if (m.Live(it->second.handle, now)) {
            ++live;
          } else if (m.Holds(it->second.handle)) {
            ++expired;
          }
          if (m.Holds(it->second.handle))
            m.seats.erase(it->second.handle.index);
          it = m.holders.erase(it);
        } else {
          ++it;
        }
      }
      if (released < live || released > live + expired) {
        return fail("ReleaseIdentity returned " + std::to_string(released) +
                    ", the identity held " + std::to_string(live) +
                    " live and " + std::to_string(expired) + " expired seats");
      }
    } else if (dice < 530) {
      // ---------------------------------------------------------- set_limit
      const uint32_t use = static_cast<uint32_t>(m.seats.size());
      uint32_t limit = 0;
      switch (rand(7)) {
        case 0:
          limit = 0;
          break;
        case 1:
          limit = use > 0 ? use - 1 : 0;
          break;
        case 2:
          limit = use;
          break;
        case 3:
          limit = use + 1;
          break;
        case 4:
          limit = static_cast<uint32_t>(rand(cap + 1));
          break;
        case 5:
          limit = cap;
          break;
        default:
          limit = cap + 1 + static_cast<uint32_t>(rand(10));
          break;
      }
      op << "set_limit " << limit;
      pool.core().set_limit(limit);
      m.limit = std::min(limit, cap);
    } else if (dice < 580) {
      // ---------------------------------------------------------- Reap
      op << "Reap at " << now;
      const size_t reaped = pool.core().Reap(At(now));
      const size_t expect = m.Reap(now);
      if (reaped != expect) {
        return fail("Reap returned " + std::to_string(reaped) + ", expected " +
                    std::to_string(expect));
      }
    } else if (dice < 600) {
      // ---------------------------------------------------------- Sweep
      op << "Sweep at " << now;
      const size_t reaped = pool.Sweep(At(now));
      const size_t expect = m.Reap(now);
      for (auto it = m.holders.begin(); it != m.holders.end();) {
        if (!m.Live(it->second.handle, now)) {
          it = m.holders.erase(it);
        } else {
          ++it;
        }
      }
      if (reaped != expect) {
        return fail("Sweep returned " + std::to_string(reaped) + ", expected " +
                    std::to_string(expect));
      }
      // Sweep samples the use after reclaiming.
      m.peak =
          std::max<uint32_t>(m.peak, static_cast<uint32_t>(m.seats.size()));
    } else if (dice < 615) {
      // ---------------------------------------------------------- force
      // release
      if (m.holders.empty()) continue;
      const Model::K k = random_key();
      auto hit = m.holders.find(k);
      if (hit == m.holders.end()) continue;
      const SeatHandle h = hit->second.handle;
      op << "core().Release " << Str(h) << " of key (" << k.first << ", dev"
         << k.second << ") at " << now;
      const bool released = pool.core().Release(h);
      const bool live = m.Live(h, now), held = m.Holds(h);
      if (held) m.seats.erase(h.index);
      if (!(held && !live) && released != live) {
        return fail(std::string("core Release returned ") +
                    (released ? "true" : "false"));
      }
    } else if (dice < 625) {
      // ---------------------------------------------------------- TakePeak
      op << "TakePeak";
      const uint32_t peak = pool.core().TakePeak();
      m.peak =
          std::max<uint32_t>(m.peak, static_cast<uint32_t>(m.seats.size()));
      if (peak != m.peak) {
        return fail("TakePeak " + std::to_string(peak) + ", expected " +
                    std::to_string(m.peak));
      }
      m.peak = static_cast<uint32_t>(m.seats.size());
    } else {
      // ---------------------------------------------------------- the clock
      int64_t by = 0;
      switch (rand(12)) {
        case 0:
          by = 0;
          break;
        case 1:
          by = 1 + static_cast<int64_t>(rand(3));
          break;
        case 2:
          by = 1 + static_cast<int64_t>(rand(
                       static_cast<uint64_t>(std::max<int64_t>(1, L / 8))));
          break;
        case 3:
          by = L;
          break;
        case 4:
          by = L + 1;
          break;
        case 5:
          by = L - 1;
          break;
        case 6:
          by = L * (2 + static_cast<int64_t>(rand(5)));
          break;
        case 7:
          // SEC-11: to the reaping horizon past the base, or just before.
          by =
              std::max<int64_t>(0, (m.base + kHorizonUnits) * m.unit - now - 1 +
                                       static_cast<int64_t>(rand(3)) * m.unit);
          break;
        case 8:
          // SEC-11: a whole number of wraps of the 31-bit deadline field,
          // give or take a little: an unreaped seat's low bits look live.
          by = (int64_t{1} << 31) * m.unit *
                   (1 + static_cast<int64_t>(rand(3))) -
               static_cast<int64_t>(rand(static_cast<uint64_t>(L) + 2));
          break;
        case 9:
          // SEC-11: past the 2^32 units the pool once lived for, or years.
          by = rand(2) == 0 ? (int64_t{1} << 32) * OldUnitMsFor(L) + 1
                            : int64_t{400} * 24 * 3600 * 1000 *
                                  (1 + static_cast<int64_t>(rand(1000)));
          break;
        default: {
          // To a seat's deadline, or one millisecond before or after it.
          if (m.seats.empty()) {
            by = 1;
            break;
          }
          auto it = m.seats.lower_bound(static_cast<uint32_t>(rand(cap)));
          if (it == m.seats.end()) it = m.seats.begin();
          const int64_t target =
              it->second.deadline - 1 + static_cast<int64_t>(rand(3));
          by = std::max<int64_t>(0, target - now);
          break;
        }
      }
      op << "clock +" << by << " ms to " << now + by;
      now += by;
    }

  checks:
    // ------------------------------------------------------------ compare
    const auto& core = pool.core();
    if (core.in_use() != m.seats.size()) {
      return fail("in_use " + std::to_string(core.in_use()) + ", model has " +
                  std::to_string(m.seats.size()) + " unreclaimed seats");
    }
    if (core.limit() != m.limit) return fail("limit differs");
    if (core.peak() != m.peak) {
      return fail("peak " + std::to_string(core.peak()) + ", expected " +
                  std::to_string(m.peak));
    }
    // Holders(now) == the model's live holders.
    std::vector<SeatHolder> holders = pool.Holders(At(now));
    std::map<Model::K, SeatHolder> shown;
    std::set<uint32_t> indices;
    for (const SeatHolder& h : holders) {
      const std::string& dev = h.key.device.value();
      const Model::K k{h.key.identity.value(), std::stoi(dev.substr(3))};
      if (!shown.emplace(k, h).second) return fail("Holders lists a key twice");
      if (!indices.insert(h.handle.index).second) {
        return fail("two holders share seat index " +
                    std::to_string(h.handle.index));
      }
    }
    size_t live_holders = 0;
    for (const auto& [k, holder] : m.holders) {
      if (!m.Live(holder.handle, now)) continue;
      ++live_holders;
      auto it = shown.find(k);
      if (it == shown.end()) {
        return fail("Holders misses key (" + std::to_string(k.first) + ", dev" +
                    std::to_string(k.second) + ") holding " +
                    Str(holder.handle));
      }
      const SeatHolder& h = it->second;
      if (!(h.handle == holder.handle) || h.since != At(holder.since) ||
          h.last_heartbeat != At(holder.last) ||
          h.expires_at != At(m.seats.at(holder.handle.index).deadline)) {
        return fail(
            "Holders entry differs for key (" + std::to_string(k.first) +
            ", dev" + std::to_string(k.second) + "): shown " + Str(h.handle) +
            " expires " + absl::FormatTime(h.expires_at) + ", model " +
            Str(holder.handle) + " expires " +
            absl::FormatTime(At(m.seats.at(holder.handle.index).deadline)));
      }
    }
    if (holders.size() != live_holders) {
      return fail("Holders lists " + std::to_string(holders.size()) +
                  " keys, the model " + std::to_string(live_holders));
    }
    // Find agrees with Holders for a few known keys, and a key never used.
    {
      auto it = m.holders.lower_bound(Model::K{1 + step % n_ids, 0});
      for (int n = 0; n < 8 && it != m.holders.end(); ++n, ++it) {
        const std::optional<SeatHolder> found =
            pool.Find(key_of(it->first), At(now));
        auto seen = shown.find(it->first);
        if (found.has_value() != (seen != shown.end())) {
          return fail("Find and Holders disagree on key (" +
                      std::to_string(it->first.first) + ", dev" +
                      std::to_string(it->first.second) + ")");
        }
        if (found && (!(found->handle == seen->second.handle) ||
                      found->since != seen->second.since ||
                      found->last_heartbeat != seen->second.last_heartbeat ||
                      found->expires_at != seen->second.expires_at)) {
          return fail("Find differs from Holders for key (" +
                      std::to_string(it->first.first) + ", dev" +
                      std::to_string(it->first.second) + ")");
        }
      }
      if (pool.Find(key_of(Model::K{n_ids + 1, 0}), At(now))) {
        return fail("Find finds a key that never held a seat");
      }
    }
    // Every unreclaimed seat as the core sees it (sampled for big pools).
    size_t inspected = 0;
    for (const auto& [index, seat] : m.seats) {
      if (cap > 300 && (index + step) % 37 != 0) continue;
      ++inspected;
      std::optional<entitle::SeatState> state =
          core.Inspect(seat.handle, At(now));
      if ((seat.deadline > now) != state.has_value()) {
        return fail("Inspect " + Str(seat.handle) + " disagrees (deadline " +
                    std::to_string(seat.deadline) + ")");
      }
      if (state && state->expires_at != At(seat.deadline)) {
        return fail("Inspect " + Str(seat.handle) + " expires_at differs");
      }
    }
    (void)inspected;
    history.push_back(std::to_string(step) + ": " + op.str() + " -> in_use " +
                      std::to_string(core.in_use()));
    if (history.size() > 8) history.pop_front();
  }
  // Finally: a Reap far in the future empties the pool; then every seat can
  // be taken once (up to the limit).
  now += 100 * L;
  pool.core().Reap(At(now));
  m.Reap(now);
  if (pool.core().in_use() != 0) {
    return ModelFailure(cfg, cfg.steps, "final Reap",
                        "in_use " + std::to_string(pool.core().in_use()) +
                            " after reaping all");
  }
  return "";
}

TEST_CASE("seat pool: randomized model test against a sequential model",
          "[seat_pool][keyed][model]") {
  const uint32_t capacity = GENERATE(1u, 5u, 64u, 300u, 5000u);
  // 100 ms: the wheel ticks every millisecond; 1 s and 3 h: coarser ticks;
  // 10,001 ms: an odd lease; 30 days: 8 ms units, deadlines rounded down.
  const int64_t lease_ms = GENERATE(int64_t{100}, 1000, 10001, 3 * 3600 * 1000,
                                    int64_t{30} * 24 * 3600 * 1000);
  const uint64_t seed = GENERATE(1u, 2u, 3u, 20240601u, 987654321u);
  const int steps = capacity >= 5000 ? 3000 : 5000;
  const ModelConfig cfg{capacity, lease_ms, seed, steps};
  const std::string failure = RunModel(cfg);
  if (!failure.empty()) FAIL(failure);
  SUCCEED();
}

TEST_CASE(
    "seat pool: randomized model test with AcquireSeat and AdoptAt against "
    "a sequential model",
    "[seat_pool][keyed][model][ACT-4]") {
  const uint32_t capacity = GENERATE(1u, 5u, 64u, 300u, 5000u);
  const int64_t lease_ms =
      GENERATE(int64_t{100}, 10001, int64_t{30} * 24 * 3600 * 1000);
  const uint64_t seed = GENERATE(4u, 5u, 31415926u);
  const int steps = capacity >= 5000 ? 3000 : 5000;
  ModelConfig cfg{capacity, lease_ms, seed, steps};
  cfg.by_index = true;
  const std::string failure = RunModel(cfg);
  if (!failure.empty()) FAIL(failure);
  SUCCEED();
}

}  // namespace
