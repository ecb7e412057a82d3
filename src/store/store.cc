#include "entitle/store.h"

#include "entitle/status.h"

namespace entitle {

absl::StatusOr<std::unique_ptr<ServingLock>> Store::TryLockServing() {
  return MakeError(absl::StatusCode::kUnimplemented, Reason::kInvalidArgument,
                   "this store has no serving lock; a serving claim ends "
                   "with its lease");
}

}  // namespace entitle
