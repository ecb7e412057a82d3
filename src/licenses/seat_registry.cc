#include "licenses/seat_registry.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "entitle/seat_types.h"
#include "entitle/status.h"
#include "entitle/store.h"
#include "service/operation.h"

namespace entitle::internal {

PoolSlot::PoolSlot(EntitlementId entitlement, OrganizationId organization,
                   uint32_t seats, absl::Duration lease, absl::Time now)
    : entitlement_(entitlement),
      organization_(organization),
      pool_(std::make_unique<SeatPool>(std::max<uint32_t>(seats, 1), lease,
                                       now)) {
  pool_->core().set_limit(seats);
}

void PoolSlot::SetSeats(uint32_t seats, absl::Duration lease, absl::Time now) {
  {
    ReadMostlyReaderLock shared(resize_);
    SeatPoolCore& core = pool_->core();
    if (seats <= core.capacity()) {
      if (core.limit() != seats) core.set_limit(seats);
      return;
    }
  }
  // More seats than the pool has: a larger pool, with every holder moved
  // over as it was (its lease keeps its end).
  ReadMostlyWriterLock exclusive(resize_);
  SeatPool& old = *pool_;
  if (seats > old.core().capacity()) {
    const uint32_t capacity = std::min<uint32_t>(
        SeatPoolCore::kMaxSeats, std::max(seats, 2 * old.core().capacity()));
    auto grown = std::make_unique<SeatPool>(capacity, lease, now);
    grown->core().set_limit(seats);
    for (const SeatHolder& holder : old.Holders(now)) {
      // Cannot fail: the new limit is above the old capacity.
      grown->Adopt(holder, now);
    }
    // ENT-12: what the old pool counted is not lost with it (RecordUsage
    // writes the refusals since its last call: they never go back).
    carried_refusals_.fetch_add(old.core().refusals(),
                                std::memory_order_relaxed);
    uint32_t carried = carried_peak_.load(std::memory_order_relaxed);
    const uint32_t old_peak = std::max(old.core().peak(), old.core().in_use());
    while (old_peak > carried &&
           !carried_peak_.compare_exchange_weak(carried, old_peak,
                                                std::memory_order_relaxed)) {
    }
    pool_ = std::move(grown);
  } else if (old.core().limit() != seats) {
    old.core().set_limit(seats);
  }
}

uint64_t PoolSlot::refusals() {
  ReadMostlyReaderLock shared(resize_);
  return carried_refusals_.load(std::memory_order_relaxed) +
         pool_->core().refusals();
}

uint32_t PoolSlot::peak() {
  ReadMostlyReaderLock shared(resize_);
  return std::max(carried_peak_.load(std::memory_order_relaxed),
                  pool_->core().peak());
}

void PoolSlot::TakePeak() {
  ReadMostlyReaderLock shared(resize_);
  pool_->core().TakePeak();
  carried_peak_.store(0, std::memory_order_relaxed);
}

std::pair<uint32_t, uint32_t> PoolSlot::SampleUse() {
  ReadMostlyReaderLock shared(resize_);
  const uint32_t use = pool_->core().SampleUse();
  return {use, std::max(carried_peak_.load(std::memory_order_relaxed),
                        pool_->core().peak())};
}

SeatRegistry::SeatRegistry(ServiceContext& context)
    : context_(context),
      lease_status_(CheckSeatLease(context.license_policy.seat_lease)) {}

absl::Status SeatRegistry::CheckSeatLease(absl::Duration lease) {
  if (lease >= kMinSeatLease && lease <= kMaxSeatLease &&
      lease % absl::Milliseconds(1) == absl::ZeroDuration()) {
    return absl::OkStatus();
  }
  return MakeError(
      absl::StatusCode::kInvalidArgument, Reason::kInvalidArgument,
      absl::StrCat("The seat lease must be a whole number of milliseconds "
                   "from 1 ms to 366 days; ",
                   absl::FormatDuration(lease),
                   " cannot be kept by a seat pool."));
}

uint64_t SeatRegistry::Generation(absl::Time now) {
  const int64_t now_us = absl::ToUnixMicros(now);
  // One thread reads the stamp; the others go on with what they have.
  if (now_us >= next_external_check_us_.load(std::memory_order_acquire) &&
      external_mutex_.TryLock()) {
    if (now_us >= next_external_check_us_.load(std::memory_order_acquire)) {
      absl::StatusOr<uint64_t> stamp = context_.store.ExternalChangeStamp();
      // A store that cannot be read now is asked again next time.
      if (stamp.ok()) {
        if (external_stamp_.has_value() && *external_stamp_ != *stamp) {
          external_changes_.fetch_add(1, std::memory_order_acq_rel);
        }
        external_stamp_ = *stamp;
        next_external_check_us_.store(
            now_us + absl::ToInt64Microseconds(
                         context_.license_policy.external_change_delay),
            std::memory_order_release);
      }
    }
    external_mutex_.Unlock();
  }
  return context_.committed_changes.load(std::memory_order_acquire) +
         external_changes_.load(std::memory_order_acquire);
}

absl::StatusOr<std::shared_ptr<const IdentityView>> SeatRegistry::View(
    IdentityId identity, absl::Time now) {
  const uint64_t generation = Generation(now);
  ViewShard& shard = view_shards_[absl::HashOf(identity) % kShards];
  {
    MutexLock lock(shard.mutex);
    if (auto it = shard.views.find(identity);
        it != shard.views.end() && it->second->generation == generation) {
      return it->second;
    }
  }
  absl::StatusOr<std::shared_ptr<const IdentityView>> view =
      Build(identity, generation, now);
  if (!view.ok()) return view.status();
  MutexLock lock(shard.mutex);
  auto& slot = shard.views[identity];
  if (slot == nullptr || slot->generation <= generation) slot = *view;
  return *view;
}

absl::StatusOr<std::shared_ptr<const IdentityView>> SeatRegistry::Build(
    IdentityId identity, uint64_t generation, absl::Time now) {
  absl::StatusOr<Reading> reading = Reading::Begin(context_);
  if (!reading.ok()) return reading.status();
  Transaction& tx = reading->tx();
  absl::StatusOr<IdentityRecord> record = tx.identities().Get(identity);
  if (!record.ok()) return record.status();
  auto view = std::make_shared<IdentityView>();
  view->generation = generation;
  view->locked = record->locked;
  view->country = record->country;

  absl::StatusOr<std::vector<DeviceCheckRecord>> checks =
      ListAll(tx.device_checks(), DeviceCheckFilter{.identity_id = identity});
  if (!checks.ok()) return checks.status();
  for (const DeviceCheckRecord& check : *checks) {
    view->device_checks[check.device_id] = check.checked_at;
  }

  absl::StatusOr<std::vector<MembershipRecord>> memberships = ListAll(
      tx.memberships(), MembershipFilter{.identity_id = identity,
                                         .status = MembershipStatus::kActive});
  if (!memberships.ok()) return memberships.status();
  absl::StatusOr<std::vector<GroupMemberRecord>> groups =
      ListAll(tx.group_members(), GroupMemberFilter{.identity_id = identity});
  if (!groups.ok()) return groups.status();

  for (const MembershipRecord& membership : *memberships) {
    absl::StatusOr<std::vector<EntitlementRecord>> entitlements = ListAll(
        tx.entitlements(),
        EntitlementFilter{.organization_id = membership.organization_id});
    if (!entitlements.ok()) return entitlements.status();
    for (EntitlementRecord& entitlement : *entitlements) {
      view->skus[entitlement.id] = entitlement.sku;
      AccessCandidate candidate;
      if (entitlement.kind == EntitlementKind::kNamed) {
        absl::StatusOr<LicenseAssignmentRecord> assignment =
            tx.license_assignments().Get(
                LicenseAssignmentKey{entitlement.id, identity});
        if (assignment.ok()) {
          candidate.assigned = true;
        } else if (GetReason(assignment.status()) != Reason::kNotFound) {
          return assignment.status();
        }
      } else {
        absl::StatusOr<std::optional<PoolGrantRecord>> direct = FindFirst(
            tx.pool_grants(), PoolGrantFilter{.entitlement_id = entitlement.id,
                                              .identity_id = identity});
        if (!direct.ok()) return direct.status();
        // An identity's own row is a grant or an exception, never both.
        candidate.excepted = direct->has_value() && (*direct)->denied;
        candidate.pool_access = direct->has_value() && !candidate.excepted;
        for (size_t i = 0; i < groups->size() && !candidate.pool_access &&
                           !candidate.excepted;
             ++i) {
          absl::StatusOr<std::optional<PoolGrantRecord>> via_group =
              FindFirst(tx.pool_grants(),
                        PoolGrantFilter{.entitlement_id = entitlement.id,
                                        .group_id = (*groups)[i].group_id});
          if (!via_group.ok()) return via_group.status();
          candidate.pool_access = via_group->has_value();
        }
      }
      if (candidate.assigned || candidate.pool_access || candidate.excepted) {
        if (candidate.pool_access) candidate.pool = Pool(entitlement, now);
        candidate.entitlement = std::move(entitlement);
        view->candidates.push_back(std::move(candidate));
      }
    }
  }
  std::sort(
      view->candidates.begin(), view->candidates.end(),
      [](const AccessCandidate& a, const AccessCandidate& b) {
        const bool a_named = a.entitlement.kind == EntitlementKind::kNamed;
        const bool b_named = b.entitlement.kind == EntitlementKind::kNamed;
        if (a_named != b_named) return a_named;
        return a.entitlement.id < b.entitlement.id;
      });
  return std::shared_ptr<const IdentityView>(std::move(view));
}

std::shared_ptr<PoolSlot> SeatRegistry::Pool(
    const EntitlementRecord& entitlement, absl::Time now) {
  const uint32_t seats = static_cast<uint32_t>(
      std::clamp<int64_t>(entitlement.seats, 0, SeatPoolCore::kMaxSeats));
  std::shared_ptr<PoolSlot> slot = FindPool(entitlement.id);
  if (slot == nullptr) {
    ReadMostlyWriterLock lock(pools_mutex_);
    std::shared_ptr<PoolSlot>& entry = pools_[entitlement.id];
    if (entry == nullptr) {
      entry = std::make_shared<PoolSlot>(
          entitlement.id, entitlement.organization_id, seats,
          context_.license_policy.seat_lease, now);
    }
    slot = entry;
  }
  slot->period_end_us.store(absl::ToUnixMicros(entitlement.period_end),
                            std::memory_order_relaxed);
  slot->SetSeats(seats, context_.license_policy.seat_lease, now);
  return slot;
}

std::shared_ptr<PoolSlot> SeatRegistry::FindPool(EntitlementId entitlement) {
  ReadMostlyReaderLock lock(pools_mutex_);
  auto it = pools_.find(entitlement);
  return it == pools_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<PoolSlot>> SeatRegistry::AllPools() {
  ReadMostlyReaderLock lock(pools_mutex_);
  std::vector<std::shared_ptr<PoolSlot>> all;
  all.reserve(pools_.size());
  for (const auto& [id, slot] : pools_) all.push_back(slot);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return a->entitlement() < b->entitlement();
  });
  return all;
}

void SeatRegistry::ReleaseIdentityIn(OrganizationId organization,
                                     IdentityId identity) {
  for (const std::shared_ptr<PoolSlot>& slot : AllPools()) {
    if (slot->organization() != organization) continue;
    slot->WithPool(
        [identity](SeatPool& pool) { pool.ReleaseIdentity(identity); });
  }
}

std::optional<absl::Time> SeatRegistry::LastCheck(IdentityId identity,
                                                  const DeviceId& device) {
  CheckShard& shard = check_shards_[absl::HashOf(identity) % kShards];
  MutexLock lock(shard.mutex);
  auto it = shard.checks.find(std::make_pair(identity, device));
  if (it == shard.checks.end()) return std::nullopt;
  return it->second.seen;
}

bool SeatRegistry::NoteCheck(IdentityId identity, const DeviceId& device,
                             absl::Time now) {
  CheckShard& shard = check_shards_[absl::HashOf(identity) % kShards];
  MutexLock lock(shard.mutex);
  auto [it, inserted] = shard.checks.try_emplace(
      std::make_pair(identity, device), Check{now, absl::InfinitePast()});
  it->second.seen = std::max(it->second.seen, now);
  if (now - it->second.written <
      context_.license_policy.device_check_interval) {
    return false;
  }
  it->second.written = now;
  return true;
}

}  // namespace entitle::internal
