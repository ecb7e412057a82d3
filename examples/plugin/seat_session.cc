#include "seat_session.h"

#include <string_view>
#include <utility>

#include "entitle/status.h"

namespace entitle_plugin {

using entitle::Reason;

Failure Classify(const absl::Status& status) {
  switch (entitle::GetReason(status)) {
    case Reason::kStoreUnavailable:
      return Failure::kTransient;
    case Reason::kStoreCorrupt:
      return Failure::kStoreBroken;
    case Reason::kNone:
      break;  // Without a reason, judge by the code alone.
    default:
      return Failure::kRefused;
  }
  if (absl::IsUnavailable(status)) return Failure::kTransient;
  if (absl::IsDataLoss(status)) return Failure::kStoreBroken;
  return Failure::kRefused;
}

SeatSession::SeatSession(entitle::Identities& identities,
                         entitle::Licenses& licenses, entitle::DeviceId device)
    : identities_(identities),
      licenses_(licenses),
      device_(std::move(device)) {}

absl::StatusOr<entitle::IdentityId> SeatSession::SignIn(
    std::string_view email, std::string_view password) {
  absl::StatusOr<entitle::IdentityId> id =
      identities_.SignIn(email, password, device_);
  if (id.ok()) identity_ = *id;
  return id;
}

absl::StatusOr<entitle::AccessGrant> SeatSession::CheckAccess(
    const std::string& sku) {
  if (!identity_) return absl::FailedPreconditionError("not signed in");
  return licenses_.CheckAccess(*identity_, sku, device_);
}

absl::StatusOr<entitle::SeatLease> SeatSession::Checkout(
    const std::string& sku) {
  if (!identity_) return absl::FailedPreconditionError("not signed in");
  absl::StatusOr<entitle::SeatLease> lease =
      licenses_.Checkout(*identity_, sku, device_);
  if (lease.ok()) lease_ = *lease;
  return lease;
}

absl::StatusOr<entitle::SeatLease> SeatSession::Heartbeat() {
  if (!identity_ || !lease_) {
    return absl::FailedPreconditionError("no product checked out");
  }
  absl::StatusOr<entitle::SeatLease> lease =
      licenses_.Heartbeat(*identity_, lease_->access.entitlement_id, device_);
  if (lease.ok()) {
    lease_ = *lease;
  } else if (Classify(lease.status()) != Failure::kTransient) {
    lease_.reset();  // Refused: the service has let the seat go.
  }
  return lease;
}

absl::Status SeatSession::Release() {
  if (!identity_ || !lease_) {
    return absl::FailedPreconditionError("no product checked out");
  }
  const entitle::SeatLease lease = *std::exchange(lease_, std::nullopt);
  if (!lease.seat) return absl::OkStatus();  // A named licence holds no seat.
  return licenses_.Release(*identity_, lease.access.entitlement_id, device_);
}

}  // namespace entitle_plugin
