// What every service reads: the store, the host's ports and the policies.
#ifndef ENTITLE_SRC_SERVICE_SERVICE_CONTEXT_H_
#define ENTITLE_SRC_SERVICE_SERVICE_CONTEXT_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "entitle/clock.h"
#include "entitle/domain_verifier.h"
#include "entitle/events.h"
#include "entitle/notifier.h"
#include "entitle/options.h"
#include "entitle/password_hasher.h"
#include "entitle/random.h"
#include "entitle/store.h"
#include "service/seat_release.h"

namespace entitle::internal {

struct ServiceContext {
  Store& store;
  const Clock& clock;
  Notifier& notifier;
  EventSink& events;
  const PasswordHasher& hasher;
  Random& random;
  DomainVerifier& domain_verifier;
  IdentityPolicy identity_policy;
  OrganizationPolicy organization_policy;
  LicensePolicy license_policy;
  ProjectPolicy project_policy;
  // The seat pools and the checkout view (licenses' SeatRegistry), owned by
  // the Directory; the other services see only how to free seats.
  SeatReleaser* seats = nullptr;
  // Counts the write operations committed through this context: the checkout
  // view is stale when it changed since the view was built.
  std::atomic<uint64_t> committed_changes{0};

  // A hash of no one's password, made by `hasher` on first use: sign-in
  // verifies against it for an unknown address, so the time a sign-in takes
  // does not tell which addresses have identities.
  const std::string& DummyPasswordHash() {
    std::call_once(dummy_once_, [this] {
      absl::StatusOr<std::string> hash = hasher.Hash("Not-a-password-0");
      if (hash.ok()) dummy_hash_ = *std::move(hash);
    });
    return dummy_hash_;
  }

  // Only for DummyPasswordHash (public so the context stays an aggregate).
  std::once_flag dummy_once_;
  std::string dummy_hash_;
};

}  // namespace entitle::internal

#endif  // ENTITLE_SRC_SERVICE_SERVICE_CONTEXT_H_
