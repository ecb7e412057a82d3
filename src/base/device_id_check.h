// SEC-8: the one check of a device id that every call taking one makes
// (sign-in, offline access, the checkout path).
#ifndef ENTITLE_SRC_BASE_DEVICE_ID_CHECK_H_
#define ENTITLE_SRC_BASE_DEVICE_ID_CHECK_H_

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "entitle/ids.h"
#include "entitle/seat_types.h"
#include "entitle/status.h"

namespace entitle::internal {

// OK for a device id as seat_types.h defines it; otherwise InvalidArgument /
// kInvalidDevice. The message never repeats the id (it may be of any size).
inline absl::Status CheckDeviceId(const DeviceId& device) {
  if (IsValidDeviceId(device.value())) return absl::OkStatus();
  return MakeError(absl::StatusCode::kInvalidArgument, Reason::kInvalidDevice,
                   absl::StrCat("A device id is 1 to ", kMaxDeviceIdBytes,
                                " printable ASCII characters without spaces."));
}

}  // namespace entitle::internal

#endif  // ENTITLE_SRC_BASE_DEVICE_ID_CHECK_H_
