// The in-memory side of licenses: one seat pool per floating entitlement, and
// the checkout view, each identity's entitlements as the store last said.
//
// The view of an identity is built from one read transaction on first use and
// reused until the view's generation moves on: after any write committed
// through this Directory (ServiceContext::committed_changes), or when the
// store's external change stamp changed (read at most once per
// LicensePolicy::external_change_delay).
//
// Thread-safe.
#ifndef ENTITLE_SRC_LICENSES_SEAT_REGISTRY_H_
#define ENTITLE_SRC_LICENSES_SEAT_REGISTRY_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "entitle/ids.h"
#include "entitle/records.h"
#include "entitle/seat_pool.h"
#include "service/service_context.h"

namespace entitle::internal {

struct PoolSlot;

// One entitlement the identity may reach, with how.
struct AccessCandidate {
  EntitlementRecord entitlement;
  bool assigned = false;     // Named license assigned to the identity.
  bool pool_access = false;  // Pool access, directly or through a group.
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
  // an assignment or pool access for: named first, then floating, by id.
  std::vector<AccessCandidate> candidates;
};

// A shared mutex for data read on every checkout and written almost never:
// each thread marks its reads in a counter of its own stripe (its own cache
// line), so readers on different threads do not contend; a writer raises a
// flag and waits until every stripe is empty. Meets the SharedMutex
// requirements used by std::shared_lock and std::unique_lock.
class ReadMostlyMutex {
 public:
  void lock_shared() {
    Stripe& stripe = stripes_[ThreadStripe()];
    while (true) {
      stripe.readers.fetch_add(1, std::memory_order_seq_cst);
      if (!writing_.load(std::memory_order_seq_cst)) return;
      stripe.readers.fetch_sub(1, std::memory_order_release);
      // A writer is in: wait for it on its mutex, then try again.
      std::lock_guard<std::mutex> wait(writer_);
    }
  }
  void unlock_shared() {
    stripes_[ThreadStripe()].readers.fetch_sub(1, std::memory_order_release);
  }
  void lock() {
    writer_.lock();
    writing_.store(true, std::memory_order_seq_cst);
    for (Stripe& stripe : stripes_) {
      while (stripe.readers.load(std::memory_order_seq_cst) != 0) {
        std::this_thread::yield();
      }
    }
  }
  void unlock() {
    writing_.store(false, std::memory_order_release);
    writer_.unlock();
  }

 private:
  static constexpr size_t kStripes = 16;
  struct alignas(64) Stripe {
    std::atomic<int64_t> readers{0};
  };
  static size_t ThreadStripe() {
    static std::atomic<size_t> next{0};
    static thread_local const size_t stripe =
        next.fetch_add(1, std::memory_order_relaxed) % kStripes;
    return stripe;
  }
  std::array<Stripe, kStripes> stripes_;
  std::atomic<bool> writing_{false};
  std::mutex writer_;
};

// A floating entitlement's pool. `resize` is held shared while the pool is
// used, and exclusively while it is replaced by a larger one.
struct PoolSlot {
  EntitlementId entitlement;
  OrganizationId organization;
  ReadMostlyMutex resize;
  std::unique_ptr<SeatPool> pool;        // Guarded by resize.
  std::atomic<int64_t> period_end_us{0};  // The period end last seen.
  uint64_t refusals_recorded = 0;        // Guarded by SeatRegistry::record_mutex_.
};

class SeatRegistry {
 public:
  explicit SeatRegistry(ServiceContext& context) : context_(context) {}

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
  void ReleaseIdentityIn(OrganizationId organization, IdentityId identity);

  // The last successful check of a device that CheckAccess saw, and whether
  // it is time to write it to the store.
  std::optional<absl::Time> LastCheck(IdentityId identity, const DeviceId& device);
  bool NoteCheck(IdentityId identity, const DeviceId& device, absl::Time now);

  // Serializes RecordUsage.
  std::mutex& record_mutex() { return record_mutex_; }

 private:
  uint64_t Generation(absl::Time now);
  absl::StatusOr<std::shared_ptr<const IdentityView>> Build(IdentityId identity,
                                                            uint64_t generation,
                                                            absl::Time now);

  ServiceContext& context_;

  static constexpr size_t kShards = 16;
  struct alignas(64) ViewShard {
    std::mutex mutex;
    absl::flat_hash_map<IdentityId, std::shared_ptr<const IdentityView>> views;
  };
  std::array<ViewShard, kShards> view_shards_;

  // Read on every checkout; written once per external_change_delay.
  alignas(64) std::atomic<int64_t> next_external_check_us_{0};
  std::atomic<uint64_t> external_changes_{0};
  alignas(64) std::mutex external_mutex_;
  std::optional<uint64_t> external_stamp_;  // Guarded by external_mutex_.

  ReadMostlyMutex pools_mutex_;
  absl::flat_hash_map<EntitlementId, std::shared_ptr<PoolSlot>> pools_;

  struct Check {
    absl::Time seen;
    absl::Time written;
  };
  struct alignas(64) CheckShard {
    std::mutex mutex;
    absl::flat_hash_map<std::pair<IdentityId, DeviceId>, Check> checks;
  };
  std::array<CheckShard, kShards> check_shards_;

  std::mutex record_mutex_;
};

}  // namespace entitle::internal

#endif  // ENTITLE_SRC_LICENSES_SEAT_REGISTRY_H_
