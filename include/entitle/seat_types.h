// The values the floating license seats are named and described by: what the
// seat pool (entitle/seat_pool.h) hands out and what the licenses service
// (entitle/licenses.h) reports, without the pool's machinery.
//
// All are plain values: copyable, comparable where it makes sense, and
// thread-compatible.
#ifndef ENTITLE_SEAT_TYPES_H_
#define ENTITLE_SEAT_TYPES_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include "absl/time/time.h"
#include "entitle/ids.h"

namespace entitle {

// The most seats one pool can have (SeatPoolCore::kMaxSeats), and so the
// most seats a floating entitlement can be given.
inline constexpr uint32_t kMaxSeatsPerPool = 1u << 24;

// SEC-11: the seat leases a pool serves, in whole milliseconds. A pool keeps
// every lease to the millisecond up to 2^29 ms (6 days 5 hours); longer ones
// are kept in coarser units and may end up to one unit (64 ms at a year)
// early, never late (seat_pool.h, "Times"). A Directory refuses a
// LicensePolicy::seat_lease outside these bounds (options.h).
inline constexpr absl::Duration kMinSeatLease = absl::Milliseconds(1);
inline constexpr absl::Duration kMaxSeatLease = absl::Hours(24 * 366);

// SEC-8: the device ids the checkout path accepts (Licenses: CheckAccess,
// Checkout, Heartbeat, Release, ForceRelease): 1 to kMaxDeviceIdBytes bytes,
// each printable ASCII other than the space (0x21 to 0x7e). That fits machine
// fingerprints, UUIDs and installation ids in hex or base64, and keeps
// lookalikes (trailing spaces, control and non-ASCII characters) out. Anything
// else is refused with Reason::kInvalidDevice before it is looked up, stored
// or kept in memory. The bound is DeviceId::kMaxLength, the one sign-in uses.
inline constexpr size_t kMaxDeviceIdBytes = DeviceId::kMaxLength;

constexpr bool IsValidDeviceId(std::string_view device) {
  if (device.empty() || device.size() > kMaxDeviceIdBytes) return false;
  for (const char c : device) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

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
  bool renewed =
      false;  // The key already held this seat; its lease was extended.
};

}  // namespace entitle

#endif  // ENTITLE_SEAT_TYPES_H_
