// The in-memory side of licenses: one seat pool per floating entitlement, and
// the checkout view, each identity's entitlements as the store last said.
//
// The view of an identity is built from one read transaction on first use and
// reused until the view's generation moves on: after any write committed
// through this Directory (ServiceContext::committed_changes), or when the
// store's external change stamp changed (read at most once per
// LicensePolicy::external_change_delay).
//
// The registry is the ServiceContext's SeatReleaser: other services free an
// identity's seats through that interface, without knowing of licenses.
//
// Thread-safe.
#ifndef ENTITLE_SRC_LICENSES_SEAT_REGISTRY_H_
#define ENTITLE_SRC_LICENSES_SEAT_REGISTRY_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "entitle/ids.h"
#include "entitle/internal/mutex.h"
#include "entitle/records.h"
#include "entitle/seat_pool.h"
#include "licenses/read_mostly_mutex.h"
#include "service/seat_release.h"
#include "service/service_context.h"

namespace entitle::internal {

class PoolSlot;
class Activations;

// One entitlement the identity may reach, with how.
struct AccessCandidate {
  EntitlementRecord entitlement;
  bool assigned = false;     // Named license assigned to the identity.
  bool pool_access = false;  // Pool access, directly or through a group.
  // An exception denies the identity this pool (whatever groups give it).
  bool excepted = false;
  // A floating entitlement's pool, resolved when the view is built, so that
  // a checkout takes no registry-wide lock.
  std::shared_ptr<PoolSlot> pool;
};

struct IdentityView {
  uint64_t generation = 0;
  bool locked = false;
  std::string country;
  absl::flat_hash_map<DeviceId, absl::Time> device_checks;
  // Entitlements of the organizations it is an active member of that it has
  // an assignment, pool access or an exception for: named first, then
  // floating, by id.
  std::vector<AccessCandidate> candidates;
  // The SKU of every entitlement of those organizations, to name one in a
  // refusal (never one of an organization it is not a member of: SEC-3).
  absl::flat_hash_map<EntitlementId, std::string> skus;
};

// A floating entitlement's pool. Checkouts use the pool under a shared hold
// of the slot's lock; SetSeats replaces it by a larger one under an exclusive
// hold, when the seat count grows past the capacity. Callers never name the
// lock: they pass what to do with the pool to WithPool.
//
// Thread-safe.
class PoolSlot {
 public:
  // The pool of `entitlement` (of `organization`) with a limit of `seats`
  // and a capacity of `seats` (at least 1); leases last `lease`.
  PoolSlot(EntitlementId entitlement, OrganizationId organization,
           uint32_t seats, absl::Duration lease, absl::Time now);
  PoolSlot(const PoolSlot&) = delete;
  PoolSlot& operator=(const PoolSlot&) = delete;

  EntitlementId entitlement() const { return entitlement_; }
  OrganizationId organization() const { return organization_; }

  // Runs `f(SeatPool&)` with the pool, which is not replaced while `f` runs,
  // and returns what `f` returns. `f` must not keep the reference, nor call
  // SetSeats (the lock is not recursive); other WithPool calls, on any
  // thread, run alongside.
  template <typename F>
  decltype(auto) WithPool(F&& f) {
    ReadMostlyReaderLock lock(resize_);
    return std::forward<F>(f)(*pool_);
  }

  // ENT-7: sets the pool's seat count to `seats`. Within the capacity only
  // the limit changes. Beyond it, waits for the WithPool calls under way and
  // replaces the pool by a larger one (leases of `lease`), with every holder
  // moved over as it was: its since, last heartbeat and lease end (SEC-11:
  // growing a pool extends no lease). The refusals and the peak of the pool
  // replaced carry over (ENT-12).
  void SetSeats(uint32_t seats, absl::Duration lease, absl::Time now);

  // ENT-12 over every pool this slot has had (SetSeats replaces them): the
  // refusals since the slot was made, never decreasing; the peak use, which
  // TakePeak restarts from the current use; SampleUse raises the peak to the
  // current use and returns {use, peak}.
  uint64_t refusals();
  uint32_t peak();
  void TakePeak();
  std::pair<uint32_t, uint32_t> SampleUse();

  // ACT-4: puts `holders` back in the pool, each at its own seat with its
  // since, last heartbeat and lease end, growing the pool when a seat lies
  // beyond it, then sets the seat count to `seats`. Returns, per holder,
  // whether it was placed (false: its seat was taken, or lies beyond
  // kMaxSeats). For a pool that serves no one yet.
  std::vector<bool> Restore(const std::vector<SeatHolder>& holders,
                            uint32_t seats, absl::Duration lease,
                            absl::Time now);

  // ACT-5: `key`'s seat was force-released; its heartbeats are refused
  // until `until` or its next checkout. IsForceReleased costs one load while
  // no key is marked.
  void MarkForceReleased(const SeatKey& key, absl::Time until);
  bool IsForceReleased(const SeatKey& key, absl::Time now) {
    if (force_released_count_.load(std::memory_order_acquire) == 0) {
      return false;
    }
    return IsForceReleasedSlowly(key, now);
  }
  void ClearForceReleased(const SeatKey& key) {
    if (force_released_count_.load(std::memory_order_acquire) != 0) {
      ClearForceReleasedSlowly(key);
    }
  }

  // The period end last seen, in Unix microseconds (ENT-6).
  std::atomic<int64_t> period_end_us{0};
  // The pool's refusals already written to the store. Only touched inside
  // SeatRegistry::RecordingUsage, which serializes it.
  uint64_t refusals_recorded = 0;

 private:
  bool IsForceReleasedSlowly(const SeatKey& key, absl::Time now);
  void ClearForceReleasedSlowly(const SeatKey& key);

  const EntitlementId entitlement_;
  const OrganizationId organization_;
  Mutex force_released_mutex_;
  absl::flat_hash_map<SeatKey, absl::Time> force_released_
      ABSL_GUARDED_BY(force_released_mutex_);
  std::atomic<size_t> force_released_count_{0};
  ReadMostlyMutex resize_;
  std::unique_ptr<SeatPool> pool_ ABSL_GUARDED_BY(resize_);
  // What the pools replaced by SetSeats had counted.
  std::atomic<uint64_t> carried_refusals_{0};
  std::atomic<uint32_t> carried_peak_{0};
};

class SeatRegistry final : public SeatReleaser {
 public:
  explicit SeatRegistry(ServiceContext& context);
  ~SeatRegistry() override;

  // The activations (ACT-1 to ACT-7); nullptr when
  // LicensePolicy::persist_activations is false.
  Activations* activations() { return activations_.get(); }

  // ACT-4: every pool's seats freed, without notes (a serving process
  // that lost its claim, or one about to rebuild its pools).
  void DropAllSeats();
  // ACT-4: PoolSlot::Restore on `entitlement`'s pool (made if needed).
  std::vector<bool> Restore(const EntitlementRecord& entitlement,
                            const std::vector<SeatHolder>& holders,
                            absl::Time now);
  // ACT-5: frees `key`'s seat of `entitlement` (when held) and refuses its
  // heartbeats for a lease's length or until it checks out again.
  void ForceReleased(EntitlementId entitlement, const SeatKey& key,
                     absl::Time now);

  // SEC-11: OK when LicensePolicy::seat_lease is one a pool can serve: whole
  // milliseconds from kMinSeatLease to kMaxSeatLease; else kInvalidArgument
  // saying so.
  static absl::Status CheckSeatLease(absl::Duration lease);
  // CheckSeatLease, then the bounds options.h gives the activation policy
  // (flush interval, claim lease, holder name, retention).
  static absl::Status CheckPolicy(const LicensePolicy& policy);
  // CheckPolicy of the directory's policy, checked once when it was made.
  const absl::Status& lease_status() const { return lease_status_; }

  // The current view of `identity`; kNotFound when it does not exist.
  absl::StatusOr<std::shared_ptr<const IdentityView>> View(IdentityId identity,
                                                           absl::Time now);

  // The pool of a floating entitlement, made on first use, with its seat
  // count set from `entitlement` (grown when it rose above the capacity).
  std::shared_ptr<PoolSlot> Pool(const EntitlementRecord& entitlement,
                                 absl::Time now);
  // The pool if one was made.
  std::shared_ptr<PoolSlot> FindPool(EntitlementId entitlement);
  std::vector<std::shared_ptr<PoolSlot>> AllPools();

  // Frees the seats of `identity` in the pools of `organization` (ORG-5).
  void ReleaseIdentityIn(OrganizationId organization,
                         IdentityId identity) override;
  // Frees `identity`'s seats of `slot`'s pool, noting each with `reason`.
  void ReleaseIdentityFrom(PoolSlot& slot, IdentityId identity,
                           ActivationEnd reason, absl::Time now);
  // Frees every seat of `slot`'s pool, noting each with `reason` (ENT-6).
  void ReleaseAllOf(PoolSlot& slot, ActivationEnd reason, absl::Time now);

  // The last successful check of a device that CheckAccess saw, and whether
  // it is time to write it to the store.
  std::optional<absl::Time> LastCheck(IdentityId identity,
                                      const DeviceId& device);
  bool NoteCheck(IdentityId identity, const DeviceId& device, absl::Time now);

  // Runs `f()` while no other RecordingUsage call runs, and returns what it
  // returns: recording the pools' usage (and PoolSlot::refusals_recorded)
  // is serialized.
  template <typename F>
  decltype(auto) RecordingUsage(F&& f) {
    MutexLock lock(record_mutex_);
    return std::forward<F>(f)();
  }

 private:
  uint64_t Generation(absl::Time now);
  absl::StatusOr<std::shared_ptr<const IdentityView>> Build(IdentityId identity,
                                                            uint64_t generation,
                                                            absl::Time now);

  ServiceContext& context_;
  const absl::Status lease_status_;

  static constexpr size_t kShards = 16;
  struct alignas(64) ViewShard {
    Mutex mutex;
    absl::flat_hash_map<IdentityId, std::shared_ptr<const IdentityView>> views
        ABSL_GUARDED_BY(mutex);
  };
  std::array<ViewShard, kShards> view_shards_;

  // Read on every checkout; written once per external_change_delay.
  alignas(64) std::atomic<int64_t> next_external_check_us_{0};
  std::atomic<uint64_t> external_changes_{0};
  alignas(64) Mutex external_mutex_;
  std::optional<uint64_t> external_stamp_ ABSL_GUARDED_BY(external_mutex_);

  ReadMostlyMutex pools_mutex_;
  absl::flat_hash_map<EntitlementId, std::shared_ptr<PoolSlot>> pools_
      ABSL_GUARDED_BY(pools_mutex_);

  struct Check {
    absl::Time seen;
    absl::Time written;
  };
  struct alignas(64) CheckShard {
    Mutex mutex;
    absl::flat_hash_map<std::pair<IdentityId, DeviceId>, Check> checks
        ABSL_GUARDED_BY(mutex);
  };
  std::array<CheckShard, kShards> check_shards_;

  Mutex record_mutex_;

  // Last: stopped (its writer flushes through the pools) before the rest.
  std::unique_ptr<Activations> activations_;
};

}  // namespace entitle::internal

#endif  // ENTITLE_SRC_LICENSES_SEAT_REGISTRY_H_
