// What services other than licenses need of the in-memory seat pools: to free
// the seats of an identity that leaves an organization (ORG-5). The pools
// themselves live in the licenses layer (licenses/seat_registry.h), which the
// services below it must not know.
#ifndef ENTITLE_SRC_SERVICE_SEAT_RELEASE_H_
#define ENTITLE_SRC_SERVICE_SEAT_RELEASE_H_

#include "entitle/ids.h"

namespace entitle::internal {

// Frees seats held in memory. Implementations are thread-safe.
class SeatReleaser {
 public:
  virtual ~SeatReleaser() = default;

  // Frees every seat `identity` holds in the pools of `organization`; does
  // nothing when it holds none.
  virtual void ReleaseIdentityIn(OrganizationId organization,
                                 IdentityId identity) = 0;
};

}  // namespace entitle::internal

#endif  // ENTITLE_SRC_SERVICE_SEAT_RELEASE_H_
