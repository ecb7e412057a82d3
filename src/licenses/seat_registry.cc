#include "licenses/seat_registry.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "entitle/seat_types.h"
#include "entitle/status.h"
#include "entitle/store.h"
#include "licenses/activations.h"
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

std::vector<bool> PoolSlot::Restore(const std::vector<SeatHolder>& holders,
                                    uint32_t seats, absl::Duration lease,
                                    absl::Time now) {
  uint32_t needed = std::max<uint32_t>(seats, 1);
  for (const SeatHolder& holder : holders) {
    if (holder.handle.index < SeatPoolCore::kMaxSeats) {
      needed = std::max(needed, holder.handle.index + 1);
    }
  }
  std::vector<bool> placed(holders.size(), false);
  ReadMostlyWriterLock exclusive(resize_);
  if (needed > pool_->core().capacity()) {
    auto grown = std::make_unique<SeatPool>(needed, lease, now);
    for (const SeatHolder& holder : pool_->Holders(now)) {
      grown->AdoptAt(holder, now);
    }
    pool_ = std::move(grown);
  }
  // Every seat reserved before the limit retires any (ENT-7: seats above
  // the limit stay with their holders until released).
  pool_->core().set_limit(pool_->core().capacity());
  for (size_t i = 0; i < holders.size(); ++i) {
    placed[i] = pool_->AdoptAt(holders[i], now);
  }
  pool_->core().set_limit(seats);
  return placed;
}

void PoolSlot::MarkForceReleased(const SeatKey& key, absl::Time until) {
  MutexLock lock(force_released_mutex_);
  force_released_[key] = until;
  force_released_count_.store(force_released_.size(),
                              std::memory_order_release);
}

bool PoolSlot::IsForceReleasedSlowly(const SeatKey& key, absl::Time now) {
  MutexLock lock(force_released_mutex_);
  auto it = force_released_.find(key);
  if (it == force_released_.end()) return false;
  if (it->second > now) return true;
  force_released_.erase(it);
  force_released_count_.store(force_released_.size(),
                              std::memory_order_release);
  return false;
}

void PoolSlot::ClearForceReleasedSlowly(const SeatKey& key) {
  MutexLock lock(force_released_mutex_);
  force_released_.erase(key);
  force_released_count_.store(force_released_.size(),
                              std::memory_order_release);
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
    : context_(context), lease_status_(CheckPolicy(context.license_policy)) {
  if (context.license_policy.persist_activations && lease_status_.ok()) {
    activations_ = std::make_unique<Activations>(context, *this);
  }
}

SeatRegistry::~SeatRegistry() = default;

absl::Status SeatRegistry::CheckPolicy(const LicensePolicy& policy) {
  ENTITLE_RETURN_IF_ERROR(CheckSeatLease(policy.seat_lease));
  auto invalid = [](std::string_view message) {
    return MakeError(absl::StatusCode::kInvalidArgument,
                     Reason::kInvalidArgument, message);
  };
  if (policy.activation_flush_interval < absl::Milliseconds(1) ||
      policy.activation_flush_interval > absl::Hours(1)) {
    return invalid(
        "The activation flush interval must be from 1 ms to 1 hour.");
  }
  if (policy.serving_claim_lease < 2 * policy.activation_flush_interval ||
      policy.serving_claim_lease > absl::Hours(1)) {
    return invalid(
        "The serving claim lease must be at least twice the activation "
        "flush interval (each flush renews it) and at most 1 hour.");
  }
  const std::string& holder = policy.serving_holder;
  if (holder.empty() || holder.size() > 64 ||
      !std::all_of(holder.begin(), holder.end(),
                   [](char c) { return c >= 0x20 && c < 0x7f; })) {
    return invalid(
        "The serving holder's name must be 1 to 64 printable ASCII "
        "characters.");
  }
  if (policy.session_retention < absl::Hours(24) ||
      policy.session_retention > absl::Hours(24 * 3660)) {
    return invalid("The session retention must be from 1 day to 3660 days.");
  }
  return absl::OkStatus();
}

void SeatRegistry::DropAllSeats() {
  for (const std::shared_ptr<PoolSlot>& slot : AllPools()) {
    slot->WithPool([](SeatPool& pool) { pool.ReleaseAll(); });
  }
}

std::vector<bool> SeatRegistry::Restore(const EntitlementRecord& entitlement,
                                        const std::vector<SeatHolder>& holders,
                                        absl::Time now) {
  std::shared_ptr<PoolSlot> slot = Pool(entitlement, now);
  const uint32_t seats = static_cast<uint32_t>(
      std::clamp<int64_t>(entitlement.seats, 0, SeatPoolCore::kMaxSeats));
  return slot->Restore(holders, seats, context_.license_policy.seat_lease, now);
}

void SeatRegistry::ForceReleased(EntitlementId entitlement, const SeatKey& key,
                                 absl::Time now) {
  std::shared_ptr<PoolSlot> slot = FindPool(entitlement);
  if (slot == nullptr) return;
  slot->WithPool([&](SeatPool& pool) { pool.Release(key); });
  slot->MarkForceReleased(key, now + context_.license_policy.seat_lease);
}

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
  const absl::Time now = context_.clock.Now();
  for (const std::shared_ptr<PoolSlot>& slot : AllPools()) {
    if (slot->organization() != organization) continue;
    ReleaseIdentityFrom(*slot, identity, ActivationEnd::kRevoked, now);
  }
}

void SeatRegistry::ReleaseIdentityFrom(PoolSlot& slot, IdentityId identity,
                                       ActivationEnd reason, absl::Time now) {
  slot.WithPool([&](SeatPool& pool) {
    for (const SeatHolder& holder : pool.Holders(now)) {
      if (holder.key.identity != identity) continue;
      if (pool.Release(holder.key) && activations_ != nullptr) {
        activations_->NoteEnded(slot.entitlement(), slot.organization(),
                                holder.key, reason, now);
      }
    }
    pool.ReleaseIdentity(identity);  // Expired seats not yet reclaimed.
  });
}

void SeatRegistry::ReleaseAllOf(PoolSlot& slot, ActivationEnd reason,
                                absl::Time now) {
  slot.WithPool([&](SeatPool& pool) {
    if (activations_ != nullptr) {
      for (const SeatHolder& holder : pool.Holders(now)) {
        if (pool.Release(holder.key)) {
          activations_->NoteEnded(slot.entitlement(), slot.organization(),
                                  holder.key, reason, now);
        }
      }
    }
    pool.ReleaseAll();
  });
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
