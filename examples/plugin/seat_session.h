// SeatSession: the four calls a CAD plugin makes to use a licensed product.
//
//   1. SignIn(email, password)            who is using it, on which device;
//   2. CheckAccess(sku), then Checkout()  may they use the product, and a seat;
//   3. Heartbeat()                        on a timer, well within the seat
//   lease;
//   4. Release()                          when the product is closed.
//
// Refusals come back as the library's statuses, with a Reason (entitle/
// status.h) a plugin branches on; `Classify` says what a plugin does about a
// failed call. The class holds no timer and prints nothing: the plugin's own
// event loop decides when to call it and what to show.
//
// Ownership: the `Identities` and `Licenses` services belong to a `Directory`
// that must outlive the session. Not thread-safe: call it from one thread (the
// plugin's licence timer); the services beneath it are thread-safe.
#ifndef ENTITLE_EXAMPLES_PLUGIN_SEAT_SESSION_H_
#define ENTITLE_EXAMPLES_PLUGIN_SEAT_SESSION_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "entitle/identities.h"
#include "entitle/ids.h"
#include "entitle/licenses.h"

namespace entitle_plugin {

// What a plugin does about a failed call.
enum class Failure {
  // The answer is no (bad credentials, no licence, all seats reserved, the
  // period ended, the identity locked, another process serves the seats,
  // ...): stop using the product.
  kRefused,
  // The store could not be reached (Reason::kStoreUnavailable): try again at
  // the next tick while the seat's lease lasts.
  kTransient,
  // The store is damaged or unreadable (Reason::kStoreCorrupt): give up.
  kStoreBroken,
};
[[nodiscard]] Failure Classify(const absl::Status& status);

class SeatSession {
 public:
  SeatSession(entitle::Identities& identities, entitle::Licenses& licenses,
              entitle::DeviceId device);
  SeatSession(const SeatSession&) = delete;
  SeatSession& operator=(const SeatSession&) = delete;

  // Step 1: signs in and records this device's check (for the offline grace,
  // ID-9). Fails with kBadCredentials, kNotVerified, kIdentityLocked, or a
  // store reason.
  [[nodiscard]] absl::StatusOr<entitle::IdentityId> SignIn(
      std::string_view email, std::string_view password);

  // Step 2a: may the signed-in identity use `sku` on this device? Reserves
  // nothing. Fails with kNoLicense, kOutsidePeriod, kCountryNotAllowed,
  // kIdentityLocked, or FailedPrecondition before SignIn.
  [[nodiscard]] absl::StatusOr<entitle::AccessGrant> CheckAccess(
      const std::string& sku);

  // Step 2b: reserves this device's seat of `sku` (a named licence reserves
  // none; its lease is the assignment). Fails as CheckAccess, or with
  // kSeatsExhausted when every seat is reserved, or kServedElsewhere when
  // another process serves the store's seats (ACT-3; the message names its
  // holder, host and process id). On success the lease is kept for
  // Heartbeat and Release.
  [[nodiscard]] absl::StatusOr<entitle::SeatLease> Checkout(
      const std::string& sku);

  // Step 3: keeps the seat alive and checks access again. A seat that expired
  // meanwhile is reserved anew when one is free (`renewed` is then false).
  // Fails with kNoLicense, kOutsidePeriod, kIdentityLocked, kSeatsExhausted,
  // kForceReleased (an administrator freed the seat, ACT-5), or a store
  // reason; on a refusal the seat is gone.
  [[nodiscard]] absl::StatusOr<entitle::SeatLease> Heartbeat();

  // Step 4: frees the seat for someone else. OK with nothing to do for a
  // named licence. Fails with kSeatNotHeld when the seat was already gone.
  // The session holds no lease afterwards, whatever the outcome.
  [[nodiscard]] absl::Status Release();

  const entitle::DeviceId& device() const { return device_; }
  // The lease of the last successful Checkout or Heartbeat, until Release.
  const std::optional<entitle::SeatLease>& lease() const { return lease_; }

 private:
  entitle::Identities& identities_;
  entitle::Licenses& licenses_;
  const entitle::DeviceId device_;
  std::optional<entitle::IdentityId> identity_;
  std::optional<entitle::SeatLease> lease_;
};

}  // namespace entitle_plugin

#endif  // ENTITLE_EXAMPLES_PLUGIN_SEAT_SESSION_H_
