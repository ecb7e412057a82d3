#include "entitle/status.h"

#include <optional>
#include <string>

#include "absl/strings/cord.h"

namespace entitle {
namespace {

struct ReasonEntry {
  Reason reason;
  std::string_view name;
};

constexpr ReasonEntry kReasons[] = {
    {Reason::kNone, "none"},
    {Reason::kInvalidEmail, "invalid-email"},
    {Reason::kInvalidArgument, "invalid-argument"},
    {Reason::kNotFound, "not-found"},
    {Reason::kDuplicate, "duplicate"},
    {Reason::kMissingReference, "missing-reference"},
    {Reason::kStillReferenced, "still-referenced"},
    {Reason::kStoreUnavailable, "store-unavailable"},
    {Reason::kStoreCorrupt, "store-corrupt"},
    {Reason::kTransactionFinished, "transaction-finished"},
    {Reason::kReadOnlyTransaction, "read-only-transaction"},
};

}  // namespace

std::string_view ReasonName(Reason reason) {
  for (const ReasonEntry& entry : kReasons) {
    if (entry.reason == reason) return entry.name;
  }
  return "unknown";
}

Reason GetReason(const absl::Status& status) {
  if (status.ok()) return Reason::kNone;
  auto payload = status.GetPayload(kReasonPayloadUrl);
  if (!payload.has_value()) return Reason::kNone;
  const std::string name(*payload);
  for (const ReasonEntry& entry : kReasons) {
    if (entry.name == name) return entry.reason;
  }
  return Reason::kNone;
}

absl::Status MakeError(absl::StatusCode code, Reason reason,
                       absl::string_view message) {
  absl::Status status(code, message);
  // An OK code cannot carry a payload; callers must pass an error code.
  if (!status.ok() && reason != Reason::kNone) {
    const std::string_view name = ReasonName(reason);
    status.SetPayload(kReasonPayloadUrl,
                      absl::Cord(absl::string_view(name.data(), name.size())));
  }
  return status;
}

}  // namespace entitle
