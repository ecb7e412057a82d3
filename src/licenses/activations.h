// Activations (SPEC ACT-1 to ACT-7): the floating seats of the store's pools,
// written behind the checkout path, served by one process at a time, and
// rebuilt from the store when a process starts to serve.
//
// The checkout path only notes what happened to a (pool, device) key in a
// sharded map in memory (NoteHeld, NoteEnded, NoteRefusal: one short lock of
// the key's shard, no store). A writer thread flushes the notes every
// LicensePolicy::activation_flush_interval, or at Flush, in one write
// transaction (a group commit):
//   - the serving claim is read first: when its epoch is no longer ours
//     another process has taken over, nothing is written (the epoch fences
//     this process's late writes) and this process stops serving;
//   - each noted key is written as its pool holds it now (the pool is the
//     truth; notes only say which keys changed and why seats went): an open
//     activation inserted or updated (seat, last heartbeat, lease end), or
//     closed with the reason of its last end. A device that checks out and
//     releases several times within one flush interval is one session, from
//     its first checkout to its last end; the feed then carries one event
//     per kind of change with the count in its detail (a licence server
//     takes seats at the pace of people; a program that churns one device
//     thousands of times a second is summarized, not refused);
//   - open activations whose lease ran out are closed as expired;
//   - force releases committed by other processes (feed events) free their
//     seats here, and the device's next heartbeat is refused (ACT-5).
// A failed flush keeps its notes for the next one.
//
// The serving claim (ACT-3): a process serves once it has written the claim
// row (scope "seats") with the next epoch. Where the store has a serving lock
// (SQLite: an OS file lock beside the file), the lock is taken first and held
// while serving: a dead holder's lock is gone at once, so a claim without
// its lock is free. Elsewhere (MemoryStore) a claim is free once its lease
// (LicensePolicy::serving_claim_lease) ran out; each flush renews it.
// Before serving, every pool is rebuilt from the open activations, each
// holder at its seat with its lease end; those whose lease or period ended
// meanwhile are closed (ACT-4).
//
// Thread-safe.
#ifndef ENTITLE_SRC_LICENSES_ACTIVATIONS_H_
#define ENTITLE_SRC_LICENSES_ACTIVATIONS_H_

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "entitle/ids.h"
#include "entitle/internal/mutex.h"
#include "entitle/records.h"
#include "entitle/seat_types.h"
#include "entitle/status.h"
#include "entitle/store.h"
#include "service/service_context.h"

namespace entitle::internal {

class SeatRegistry;

// A seat of one pool held by one device.
struct PoolKey {
  EntitlementId entitlement;
  SeatKey key;
  friend bool operator==(const PoolKey&, const PoolKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const PoolKey& k) {
    return H::combine(std::move(h), k.entitlement, k.key);
  }
};

class Activations {
 public:
  // The claim's scope: every seat of the store.
  static constexpr const char* kScope = "seats";

  Activations(ServiceContext& context, SeatRegistry& seats);
  // Stops the writer after a last flush, and gives the claim up (the open
  // activations stay open for the next serving process).
  ~Activations();
  Activations(const Activations&) = delete;
  Activations& operator=(const Activations&) = delete;

  // OK when this directory serves; else tries to take the claim once
  // (Serve without waiting). The checkout path calls it before it reserves.
  absl::Status EnsureServing() {
    if (state_.load(std::memory_order_acquire) == State::kServing) {
      return absl::OkStatus();
    }
    return Serve(absl::ZeroDuration());
  }
  bool serving() const {
    return state_.load(std::memory_order_acquire) == State::kServing;
  }

  // Licenses::Serve.
  absl::Status Serve(absl::Duration wait);
  // Licenses::FlushActivations.
  absl::Status Flush();
  // Licenses::ServingStatus.
  absl::StatusOr<std::optional<ServingClaimRecord>> Claim();
  // This directory's claim epoch while it serves, else 0.
  int64_t epoch() const;

  // ---------------------------------------------------------- the notes

  // `key` holds a seat of `entitlement`'s pool now (a checkout, or a
  // heartbeat when `renewed`); `seat` and `expires_at` as the pool says.
  void NoteHeld(EntitlementId entitlement, OrganizationId organization,
                const SeatKey& key, uint32_t seat, absl::Time expires_at,
                bool renewed, absl::Time now);
  // `key`'s seat went, for `reason`.
  void NoteEnded(EntitlementId entitlement, OrganizationId organization,
                 const SeatKey& key, ActivationEnd reason, absl::Time now);
  // A checkout or heartbeat of `identity` on `device` was refused.
  void NoteRefusal(IdentityId identity, const DeviceId& device,
                   std::optional<EntitlementId> entitlement,
                   std::optional<OrganizationId> organization, Reason reason,
                   absl::Time now);
  // A force release this process committed (its activation row, if any,
  // closed in the same transaction): the writer must not free the seat
  // again when it reads the event back from the feed.
  void NoteForceReleaseHandled(EntitlementId entitlement, const SeatKey& key);

 private:
  enum class State { kIdle, kServing };

  struct Pending {
    OrganizationId organization;
    int64_t checkouts = 0;  // New seats.
    absl::Time first_checkout;
    uint32_t seat = 0;
    absl::Time last_held;
    absl::Time expires_at;
    std::array<int64_t, 7> ends{};  // By ActivationEnd.
    std::array<absl::Time, 7> last_end_at{};
    ActivationEnd last_end = ActivationEnd::kOpen;
    absl::Time last_end_time;
  };
  struct RefusalKey {
    IdentityId identity;
    DeviceId device;
    std::optional<EntitlementId> entitlement;
    Reason reason;
    friend bool operator==(const RefusalKey&, const RefusalKey&) = default;
    template <typename H>
    friend H AbslHashValue(H h, const RefusalKey& k) {
      return H::combine(std::move(h), k.identity, k.device, k.entitlement,
                        static_cast<int>(k.reason));
    }
  };
  struct Refusals {
    std::optional<OrganizationId> organization;
    int64_t count = 0;
    absl::Time first;
  };
  // Each thread notes into a buffer of its own (no other thread writes it;
  // the writer takes its notes once per flush), and finds the key it noted
  // last again without hashing: a checkout, its heartbeats and its release
  // mostly come from one thread in a row.
  struct NoteBuffer {
    Mutex mutex;
    absl::node_hash_map<PoolKey, Pending> pending ABSL_GUARDED_BY(mutex);
    Pending* last ABSL_GUARDED_BY(mutex) = nullptr;
    PoolKey last_key ABSL_GUARDED_BY(mutex);

    Pending& Find(EntitlementId entitlement, const SeatKey& key)
        ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex);
  };
  NoteBuffer& BufferOfThisThread();
  // Adds the notes of `from` to `into` (`from` may be older or newer).
  static void Merge(Pending& into, const Pending& from);

  // What the store holds of an open activation this process wrote.
  struct Open {
    ActivationId id;
    OrganizationId organization;
    uint32_t seat = 0;
    // The pool's generation of the seat when it was written: of two rows
    // naming one seat, the one with the older generation has ended.
    uint32_t generation = 0;
    absl::Time last_heartbeat;
    absl::Time expires_at;
  };
  // A seat of one pool.
  struct SeatOf {
    EntitlementId entitlement;
    uint32_t seat = 0;
    friend bool operator==(const SeatOf&, const SeatOf&) = default;
    template <typename H>
    friend H AbslHashValue(H h, const SeatOf& s) {
      return H::combine(std::move(h), s.entitlement, s.seat);
    }
  };

  absl::Status TryClaim() ABSL_EXCLUSIVE_LOCKS_REQUIRED(claim_mutex_);
  absl::Status ServedElsewhere(const std::optional<ServingClaimRecord>& claim);
  absl::Status Rebuild(Transaction& tx, absl::Time now,
                       std::vector<FeedEventRecord>& events,
                       absl::flat_hash_map<PoolKey, Open>& open);
  absl::Status FlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(flush_mutex_);
  // Another process took the claim: stop serving and drop the pools.
  void Fence() ABSL_EXCLUSIVE_LOCKS_REQUIRED(flush_mutex_);
  void Restore(absl::flat_hash_map<PoolKey, Pending>& pending,
               absl::flat_hash_map<RefusalKey, Refusals>& refusals);
  void WriterLoop();
  void GiveUp();
  bool IsMine(const ServingClaimRecord& claim) const;

  ServiceContext& context_;
  SeatRegistry& seats_;
  const std::string host_;
  const int64_t process_id_;

  std::atomic<State> state_{State::kIdle};
  std::atomic<int64_t> epoch_{0};

  Mutex claim_mutex_;
  std::unique_ptr<ServingLock> lock_ ABSL_GUARDED_BY(claim_mutex_);

  // Tells this object's buffers from those of one that had its address.
  const uint64_t serial_;
  Mutex buffers_mutex_;
  absl::flat_hash_map<std::thread::id, std::unique_ptr<NoteBuffer>> buffers_
      ABSL_GUARDED_BY(buffers_mutex_);
  Mutex refusal_mutex_;
  absl::flat_hash_map<RefusalKey, Refusals> refusals_
      ABSL_GUARDED_BY(refusal_mutex_);
  Mutex handled_mutex_;
  absl::flat_hash_set<PoolKey> handled_ ABSL_GUARDED_BY(handled_mutex_);

  // Only the flush touches these (it runs on one thread at a time).
  Mutex flush_mutex_;
  absl::flat_hash_map<PoolKey, Open> open_ ABSL_GUARDED_BY(flush_mutex_);
  // Which key's open row names each seat (the same rows as open_).
  absl::flat_hash_map<SeatOf, PoolKey> owners_ ABSL_GUARDED_BY(flush_mutex_);
  // The newest force release read from the feed, and the one a flush in
  // progress has read to.
  FeedEventId feed_seen_ ABSL_GUARDED_BY(flush_mutex_);
  FeedEventId feed_seen_next_ ABSL_GUARDED_BY(flush_mutex_);
  absl::Time last_purge_ ABSL_GUARDED_BY(flush_mutex_) = absl::InfinitePast();

  // The writer thread.
  Mutex wake_mutex_;
  std::condition_variable_any wake_;
  bool stopping_ ABSL_GUARDED_BY(wake_mutex_) = false;
  std::thread writer_;
};

}  // namespace entitle::internal

#endif  // ENTITLE_SRC_LICENSES_ACTIVATIONS_H_
