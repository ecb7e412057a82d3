#include "licenses/activations.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "base/string_view.h"
#include "licenses/seat_registry.h"
#include "service/operation.h"

namespace entitle::internal {

namespace {

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "unknown";
  return name;
}

FeedEventKind EventOf(ActivationEnd end) {
  switch (end) {
    case ActivationEnd::kReleased:
      return FeedEventKind::kRelease;
    case ActivationEnd::kForceReleased:
      return FeedEventKind::kForceRelease;
    case ActivationEnd::kRevoked:
    case ActivationEnd::kLost:
      return FeedEventKind::kRevocation;
    case ActivationEnd::kPeriodEnded:
      return FeedEventKind::kPeriodEnd;
    case ActivationEnd::kOpen:
    case ActivationEnd::kExpired:
      break;
  }
  return FeedEventKind::kExpiry;
}

std::string Times(int64_t count, std::string_view what) {
  return count > 1 ? absl::StrCat(count, " ", AbslView(what)) : std::string();
}

FeedEventRecord SeatEvent(FeedEventKind kind, absl::Time at,
                          OrganizationId organization, const PoolKey& key,
                          std::string detail = "") {
  FeedEventRecord event;
  event.at = at;
  event.kind = kind;
  event.organization_id = organization;
  event.entitlement_id = key.entitlement;
  event.identity_id = key.key.identity;
  event.device_id = key.key.device.value();
  event.detail = std::move(detail);
  return event;
}

// Inserts `record` or, when it exists, updates it.
template <typename Record>
absl::Status Put(Table<Record>& table, const Record& record) {
  absl::Status s = table.Update(record);
  if (GetReason(s) == Reason::kNotFound) s = table.Insert(record).status();
  return s;
}

}  // namespace

namespace {
std::atomic<uint64_t> next_serial{1};
}  // namespace

Activations::Activations(ServiceContext& context, SeatRegistry& seats)
    : context_(context),
      seats_(seats),
      host_(HostName()),
      process_id_(static_cast<int64_t>(getpid())),
      serial_(next_serial.fetch_add(1, std::memory_order_relaxed)) {}

Activations::~Activations() {
  {
    MutexLock lock(wake_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (serving()) {
    (void)Flush();
    GiveUp();
  }
}

int64_t Activations::epoch() const {
  return serving() ? epoch_.load(std::memory_order_acquire) : 0;
}

auto Activations::BufferOfThisThread() -> NoteBuffer& {
  struct Cached {
    uint64_t serial = 0;
    NoteBuffer* buffer = nullptr;
  };
  thread_local Cached cached;
  if (cached.serial == serial_) return *cached.buffer;
  MutexLock lock(buffers_mutex_);
  std::unique_ptr<NoteBuffer>& buffer = buffers_[std::this_thread::get_id()];
  if (buffer == nullptr) buffer = std::make_unique<NoteBuffer>();
  cached = Cached{serial_, buffer.get()};
  return *buffer;
}

auto Activations::NoteBuffer::Find(EntitlementId entitlement,
                                   const SeatKey& key) -> Pending& {
  if (last != nullptr && last_key.entitlement == entitlement &&
      last_key.key == key) {
    return *last;
  }
  PoolKey pool_key{entitlement, key};
  last = &pending[pool_key];
  last_key = std::move(pool_key);
  return *last;
}

void Activations::Merge(Pending& into, const Pending& from) {
  into.organization = from.organization;
  if (from.checkouts > 0) {
    into.first_checkout =
        into.checkouts > 0 ? std::min(into.first_checkout, from.first_checkout)
                           : from.first_checkout;
    into.checkouts += from.checkouts;
  }
  if (from.last_held > into.last_held) {
    into.seat = from.seat;
    into.last_held = from.last_held;
    into.expires_at = from.expires_at;
  }
  for (size_t i = 0; i < into.ends.size(); ++i) {
    if (from.ends[i] == 0) continue;
    into.last_end_at[i] =
        into.ends[i] > 0 ? std::max(into.last_end_at[i], from.last_end_at[i])
                         : from.last_end_at[i];
    into.ends[i] += from.ends[i];
  }
  if (from.last_end != ActivationEnd::kOpen &&
      (into.last_end == ActivationEnd::kOpen ||
       from.last_end_time >= into.last_end_time)) {
    into.last_end = from.last_end;
    into.last_end_time = from.last_end_time;
  }
}

bool Activations::IsMine(const ServingClaimRecord& claim) const {
  return claim.epoch == epoch_.load(std::memory_order_acquire) &&
         claim.holder == context_.license_policy.serving_holder &&
         claim.host == host_ && claim.process_id == process_id_;
}

// ------------------------------------------------------------------- notes

void Activations::NoteHeld(EntitlementId entitlement,
                           OrganizationId organization, const SeatKey& key,
                           uint32_t seat, absl::Time expires_at, bool renewed,
                           absl::Time now) {
  NoteBuffer& buffer = BufferOfThisThread();
  MutexLock lock(buffer.mutex);
  Pending& p = buffer.Find(entitlement, key);
  p.organization = organization;
  if (!renewed) {
    if (p.checkouts++ == 0) p.first_checkout = now;
  }
  p.seat = seat;
  p.last_held = now;
  p.expires_at = expires_at;
}

void Activations::NoteEnded(EntitlementId entitlement,
                            OrganizationId organization, const SeatKey& key,
                            ActivationEnd reason, absl::Time now) {
  NoteBuffer& buffer = BufferOfThisThread();
  MutexLock lock(buffer.mutex);
  Pending& p = buffer.Find(entitlement, key);
  p.organization = organization;
  ++p.ends[static_cast<size_t>(reason)];
  p.last_end_at[static_cast<size_t>(reason)] = now;
  p.last_end = reason;
  p.last_end_time = now;
}

void Activations::NoteRefusal(IdentityId identity, const DeviceId& device,
                              std::optional<EntitlementId> entitlement,
                              std::optional<OrganizationId> organization,
                              Reason reason, absl::Time now) {
  MutexLock lock(refusal_mutex_);
  Refusals& r = refusals_[RefusalKey{identity, device, entitlement, reason}];
  if (r.count++ == 0) r.first = now;
  r.organization = organization;
}

void Activations::NoteForceReleaseHandled(EntitlementId entitlement,
                                          const SeatKey& key) {
  MutexLock lock(handled_mutex_);
  handled_.insert(PoolKey{entitlement, key});
}

// ------------------------------------------------------------- the claim

absl::StatusOr<std::optional<ServingClaimRecord>> Activations::Claim() {
  ENTITLE_ASSIGN_OR_RETURN(std::unique_ptr<Transaction> tx,
                           context_.store.Begin(TransactionMode::kRead));
  absl::StatusOr<ServingClaimRecord> claim =
      tx->serving_claims().Get(ServingClaimKey{kScope});
  if (!claim.ok()) {
    if (GetReason(claim.status()) == Reason::kNotFound) return std::nullopt;
    return claim.status();
  }
  if (claim->holder.empty()) return std::nullopt;
  if (!context_.store.has_serving_lock()) {
    // Without a serving lock, a claim whose lease ran out serves no one.
    if (claim->lease_until <= context_.clock.Now()) return std::nullopt;
  } else if (!serving()) {
    // A lock no one holds means its holder died: the claim is stale. (The
    // probe holds the lock for an instant; a standby trying then retries.)
    absl::StatusOr<std::unique_ptr<ServingLock>> probe =
        context_.store.TryLockServing();
    if (probe.ok() && *probe != nullptr) return std::nullopt;
  }
  return *claim;
}

absl::Status Activations::ServedElsewhere(
    const std::optional<ServingClaimRecord>& claim) {
  if (!claim.has_value() || claim->holder.empty()) {
    return MakeError(absl::StatusCode::kUnavailable, Reason::kServedElsewhere,
                     "Another process is taking over the seats of this "
                     "store; try again in a moment.");
  }
  return MakeError(
      absl::StatusCode::kUnavailable, Reason::kServedElsewhere,
      absl::StrCat("The seats of this store are served by ", claim->holder,
                   " on ", claim->host, " (process ", claim->process_id,
                   ", since ", absl::FormatTime(claim->claimed_at),
                   "); check out through it."));
}

absl::Status Activations::Serve(absl::Duration wait) {
  if (!context_.license_policy.persist_activations) {
    return MakeError(absl::StatusCode::kFailedPrecondition,
                     Reason::kInvalidArgument,
                     "This directory keeps its seats in memory "
                     "(LicensePolicy::persist_activations is false).");
  }
  const auto give_up_at =
      std::chrono::steady_clock::now() +
      std::chrono::microseconds(absl::ToInt64Microseconds(wait));
  while (true) {
    absl::Status s;
    {
      MutexLock lock(claim_mutex_);
      if (serving()) return absl::OkStatus();
      s = TryClaim();
    }
    if (s.ok() || GetReason(s) != Reason::kServedElsewhere ||
        std::chrono::steady_clock::now() >= give_up_at) {
      return s;
    }
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(50),
        give_up_at - std::chrono::steady_clock::now()));
  }
}

absl::Status Activations::TryClaim() {
  Store& store = context_.store;
  if (store.has_serving_lock() && lock_ == nullptr) {
    ENTITLE_ASSIGN_OR_RETURN(lock_, store.TryLockServing());
    if (lock_ == nullptr) {
      absl::StatusOr<std::optional<ServingClaimRecord>> claim = Claim();
      return ServedElsewhere(claim.ok() ? *claim : std::nullopt);
    }
  }
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  const absl::Time now = op.now();
  Transaction& tx = op.tx();
  std::optional<ServingClaimRecord> old;
  absl::StatusOr<ServingClaimRecord> found =
      tx.serving_claims().Get(ServingClaimKey{kScope});
  if (found.ok()) {
    old = *found;
  } else if (GetReason(found.status()) != Reason::kNotFound) {
    return found.status();
  }
  // Without a lock the claim is the only sign of life: a holder whose lease
  // runs keeps it.
  if (!store.has_serving_lock() && old.has_value() && !old->holder.empty() &&
      old->lease_until > now) {
    return ServedElsewhere(old);
  }
  ServingClaimRecord claim;
  claim.scope = kScope;
  claim.holder = context_.license_policy.serving_holder;
  claim.host = host_;
  claim.process_id = process_id_;
  claim.epoch = (old.has_value() ? old->epoch : 0) + 1;
  claim.claimed_at = now;
  claim.renewed_at = now;
  claim.lease_until = now + context_.license_policy.serving_claim_lease;
  ENTITLE_RETURN_IF_ERROR(Put(tx.serving_claims(), claim));

  std::vector<FeedEventRecord> events;
  absl::flat_hash_map<PoolKey, Open> open;
  absl::Status rebuilt = Rebuild(tx, now, events, open);
  for (size_t i = 0; rebuilt.ok() && i < events.size(); ++i) {
    rebuilt = tx.feed_events().Insert(events[i]).status();
  }
  if (!rebuilt.ok()) {
    seats_.DropAllSeats();
    return rebuilt;
  }
  op.Audit(Actor::Operator(), std::nullopt, "seats.serve",
           absl::StrCat("epoch#", claim.epoch),
           absl::StrCat(claim.holder, " on ", claim.host, " process ",
                        claim.process_id, ", ", open.size(),
                        " activations restored"));
  absl::Status committed = op.Commit();
  if (!committed.ok()) {
    seats_.DropAllSeats();
    return committed;
  }
  {
    MutexLock lock(flush_mutex_);
    open_ = std::move(open);
    owners_.clear();
    for (const auto& [key, o] : open_) {
      owners_[SeatOf{key.entitlement, o.seat}] = key;
    }
    // Force releases already in the feed are read once more by the first
    // flush; those of closed activations change nothing.
    feed_seen_ = FeedEventId();
  }
  epoch_.store(claim.epoch, std::memory_order_release);
  state_.store(State::kServing, std::memory_order_release);
  if (!writer_.joinable()) writer_ = std::thread([this] { WriterLoop(); });
  return absl::OkStatus();
}

absl::Status Activations::Rebuild(Transaction& tx, absl::Time now,
                                  std::vector<FeedEventRecord>& events,
                                  absl::flat_hash_map<PoolKey, Open>& open) {
  // Every open activation, by pool, paged by id.
  absl::flat_hash_map<EntitlementId, std::vector<ActivationRecord>> by_pool;
  ActivationFilter filter{.end_reason = ActivationEnd::kOpen};
  while (true) {
    ENTITLE_ASSIGN_OR_RETURN(
        Page<ActivationRecord> page,
        tx.activations().List(filter, PageRequest{.offset = 0, .limit = 1000}));
    for (ActivationRecord& a : page.items) {
      filter.after = a.id;
      by_pool[a.entitlement_id].push_back(std::move(a));
    }
    if (!page.has_more) break;
  }
  seats_.DropAllSeats();
  auto close = [&](ActivationRecord a, ActivationEnd reason,
                   absl::Time at) -> absl::Status {
    a.end_reason = reason;
    a.ended_at = std::min(at, now);
    ENTITLE_RETURN_IF_ERROR(tx.activations().Update(a));
    events.push_back(SeatEvent(
        EventOf(reason), *a.ended_at, a.organization_id,
        PoolKey{a.entitlement_id, SeatKey{a.identity_id, a.device_id}},
        "while no process served"));
    return absl::OkStatus();
  };
  for (auto& [entitlement_id, activations] : by_pool) {
    absl::StatusOr<EntitlementRecord> e = tx.entitlements().Get(entitlement_id);
    if (!e.ok() && GetReason(e.status()) != Reason::kNotFound) {
      return e.status();
    }
    std::vector<SeatHolder> holders;
    std::vector<ActivationRecord*> kept;
    for (ActivationRecord& a : activations) {
      if (!e.ok() || e->kind != EntitlementKind::kFloating) {
        ENTITLE_RETURN_IF_ERROR(close(a, ActivationEnd::kLost, now));
      } else if (e->period_end <= now || e->period_end <= a.since) {
        ENTITLE_RETURN_IF_ERROR(
            close(a, ActivationEnd::kPeriodEnded, e->period_end));
      } else if (a.expires_at <= now) {
        ENTITLE_RETURN_IF_ERROR(
            close(a, ActivationEnd::kExpired, a.expires_at));
      } else {
        holders.push_back(SeatHolder{
            SeatKey{a.identity_id, a.device_id},
            SeatHandle{static_cast<uint32_t>(a.seat), 0}, a.since,
            a.last_heartbeat, std::min(a.expires_at, e->period_end)});
        kept.push_back(&a);
      }
    }
    if (holders.empty()) continue;
    // Should a seat be named twice, the holder heard from last keeps it.
    std::vector<size_t> order(holders.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return holders[a].last_heartbeat > holders[b].last_heartbeat;
    });
    std::vector<SeatHolder> ordered_holders;
    std::vector<ActivationRecord*> ordered_kept;
    for (size_t i : order) {
      ordered_holders.push_back(holders[i]);
      ordered_kept.push_back(kept[i]);
    }
    holders = std::move(ordered_holders);
    kept = std::move(ordered_kept);
    const std::vector<bool> adopted = seats_.Restore(*e, holders, now);
    std::shared_ptr<PoolSlot> slot = seats_.FindPool(entitlement_id);
    for (size_t i = 0; i < kept.size(); ++i) {
      ActivationRecord& a = *kept[i];
      if (!adopted[i]) {
        // Its seat was named twice, or lies beyond what a pool can hold.
        ENTITLE_RETURN_IF_ERROR(close(a, ActivationEnd::kLost, now));
        continue;
      }
      const PoolKey key{a.entitlement_id, SeatKey{a.identity_id, a.device_id}};
      std::optional<SeatHolder> placed = slot->WithPool(
          [&](SeatPool& pool) { return pool.Find(key.key, now); });
      open[key] = Open{a.id,
                       a.organization_id,
                       static_cast<uint32_t>(a.seat),
                       placed.has_value() ? placed->handle.generation : 0,
                       a.last_heartbeat,
                       a.expires_at};
    }
  }
  std::sort(events.begin(), events.end(),
            [](const FeedEventRecord& a, const FeedEventRecord& b) {
              return a.at < b.at;
            });
  return absl::OkStatus();
}

void Activations::GiveUp() {
  MutexLock lock(claim_mutex_);
  state_.store(State::kIdle, std::memory_order_release);
  absl::StatusOr<std::unique_ptr<Transaction>> tx =
      context_.store.Begin(TransactionMode::kWrite);
  if (tx.ok()) {
    absl::StatusOr<ServingClaimRecord> claim =
        (*tx)->serving_claims().Get(ServingClaimKey{kScope});
    if (claim.ok() && IsMine(*claim)) {
      claim->holder.clear();
      claim->lease_until = context_.clock.Now();
      if ((*tx)->serving_claims().Update(*claim).ok()) {
        (void)(*tx)->Commit();
      }
    }
  }
  lock_.reset();
}

// ------------------------------------------------------------- the writer

void Activations::WriterLoop() {
  const auto interval = std::chrono::microseconds(std::max<int64_t>(
      1000, absl::ToInt64Microseconds(
                context_.license_policy.activation_flush_interval)));
  MutexLock lock(wake_mutex_);
  while (!stopping_) {
    wake_.wait_for(wake_mutex_, interval);
    if (stopping_) break;
    wake_mutex_.Unlock();
    if (serving()) (void)Flush();
    wake_mutex_.Lock();
  }
}

absl::Status Activations::Flush() {
  MutexLock lock(flush_mutex_);
  return FlushLocked();
}

void Activations::Restore(absl::flat_hash_map<PoolKey, Pending>& pending,
                          absl::flat_hash_map<RefusalKey, Refusals>& refusals) {
  {
    NoteBuffer& buffer = BufferOfThisThread();
    MutexLock lock(buffer.mutex);
    // Newer notes may have come meanwhile: the older ones go under them.
    for (auto& [key, p] : pending) Merge(buffer.pending[key], p);
    buffer.last = nullptr;
  }
  MutexLock lock(refusal_mutex_);
  for (auto& [key, r] : refusals) {
    Refusals& now = refusals_[key];
    now.first = now.count > 0 ? std::min(now.first, r.first) : r.first;
    now.count += r.count;
    now.organization = r.organization;
  }
}

void Activations::Fence() {
  state_.store(State::kIdle, std::memory_order_release);
  open_.clear();
  owners_.clear();
  {
    MutexLock lock(buffers_mutex_);
    for (auto& [thread, buffer] : buffers_) {
      MutexLock buffer_lock(buffer->mutex);
      buffer->pending.clear();
      buffer->last = nullptr;
    }
  }
  {
    MutexLock lock(refusal_mutex_);
    refusals_.clear();
  }
  // The serving lock, if any, stays held: a claim taken from under it came
  // from a process that does not use the lock, and the next TryClaim here
  // goes by the claim alone.
  seats_.DropAllSeats();
}

absl::Status Activations::FlushLocked() {
  if (!serving()) return absl::OkStatus();
  // The notes so far.
  absl::flat_hash_map<PoolKey, Pending> pending;
  {
    MutexLock lock(buffers_mutex_);
    for (auto& [thread, buffer] : buffers_) {
      absl::node_hash_map<PoolKey, Pending> taken;
      {
        MutexLock buffer_lock(buffer->mutex);
        taken.swap(buffer->pending);
        buffer->last = nullptr;
      }
      for (auto& [key, p] : taken) Merge(pending[key], p);
    }
  }
  absl::flat_hash_map<RefusalKey, Refusals> refusals;
  {
    MutexLock lock(refusal_mutex_);
    refusals.swap(refusals_);
  }
  absl::flat_hash_set<PoolKey> handled;
  {
    MutexLock lock(handled_mutex_);
    handled.swap(handled_);
  }

  auto attempt = [&]() -> absl::Status {
    flush_mutex_.AssertHeld();  // A lambda of FlushLocked.
    ENTITLE_ASSIGN_OR_RETURN(std::unique_ptr<Transaction> tx,
                             context_.store.Begin(TransactionMode::kWrite));
    const absl::Time now = context_.clock.Now();
    const int64_t epoch = epoch_.load(std::memory_order_acquire);

    // The fence: only the claim's holder writes.
    absl::StatusOr<ServingClaimRecord> claim =
        tx->serving_claims().Get(ServingClaimKey{kScope});
    if (!claim.ok() && GetReason(claim.status()) != Reason::kNotFound) {
      return claim.status();
    }
    if (!claim.ok() || !IsMine(*claim)) {
      tx->Rollback();
      std::optional<ServingClaimRecord> holder;
      if (claim.ok()) holder = *claim;
      Fence();
      pending.clear();
      refusals.clear();
      return ServedElsewhere(holder);
    }
    claim->renewed_at = now;
    claim->lease_until = now + context_.license_policy.serving_claim_lease;
    ENTITLE_RETURN_IF_ERROR(tx->serving_claims().Update(*claim));

    std::vector<FeedEventRecord> events;
    // Changes to open_ and owners_, applied once the commit succeeded.
    absl::flat_hash_map<PoolKey, std::optional<Open>> changed;
    absl::flat_hash_map<SeatOf, std::optional<PoolKey>> owner_changed;
    auto find_open = [&](const PoolKey& key) -> std::optional<Open> {
      flush_mutex_.AssertHeld();
      if (auto c = changed.find(key); c != changed.end()) return c->second;
      if (auto o = open_.find(key); o != open_.end()) return o->second;
      return std::nullopt;
    };
    auto owner_of = [&](const SeatOf& seat) -> std::optional<PoolKey> {
      flush_mutex_.AssertHeld();
      if (auto c = owner_changed.find(seat); c != owner_changed.end()) {
        return c->second;
      }
      if (auto o = owners_.find(seat); o != owners_.end()) return o->second;
      return std::nullopt;
    };
    auto set_open = [&](const PoolKey& key, std::optional<Open> now_open) {
      if (std::optional<Open> was = find_open(key)) {
        const SeatOf seat{key.entitlement, was->seat};
        if (owner_of(seat) == key) owner_changed[seat] = std::nullopt;
      }
      if (now_open.has_value()) {
        owner_changed[SeatOf{key.entitlement, now_open->seat}] = key;
      }
      changed[key] = std::move(now_open);
    };
    // Keys whose row this flush closed because a newer holder took the seat.
    absl::flat_hash_set<PoolKey> displaced;
    auto pool_holder = [&](const PoolKey& key) -> std::optional<SeatHolder> {
      std::shared_ptr<PoolSlot> slot = seats_.FindPool(key.entitlement);
      if (slot == nullptr) return std::nullopt;
      return slot->WithPool(
          [&](SeatPool& pool) { return pool.Find(key.key, now); });
    };
    // The open row of `id`, unless another process closed it (a force
    // release) or it is gone (its identity was deleted).
    auto open_row = [&](ActivationId id)
        -> absl::StatusOr<std::optional<ActivationRecord>> {
      absl::StatusOr<ActivationRecord> row = tx->activations().Get(id);
      if (!row.ok()) {
        if (GetReason(row.status()) == Reason::kNotFound) return std::nullopt;
        return row.status();
      }
      if (row->end_reason != ActivationEnd::kOpen) return std::nullopt;
      return *row;
    };

    // ACT-5: force releases another process committed.
    {
      FeedEventFilter filter{.after = feed_seen_,
                             .kind = FeedEventKind::kForceRelease};
      while (true) {
        ENTITLE_ASSIGN_OR_RETURN(
            Page<FeedEventRecord> page,
            tx->feed_events().List(filter,
                                   PageRequest{.offset = 0, .limit = 1000}));
        for (const FeedEventRecord& event : page.items) {
          filter.after = event.id;
          if (!event.entitlement_id.has_value() ||
              !event.identity_id.has_value()) {
            continue;
          }
          const PoolKey key{
              *event.entitlement_id,
              SeatKey{*event.identity_id, DeviceId(event.device_id)}};
          if (handled.contains(key)) continue;  // Done where it was made.
          std::optional<Open> o = find_open(key);
          if (!o.has_value()) continue;
          ENTITLE_ASSIGN_OR_RETURN(std::optional<ActivationRecord> row,
                                   open_row(o->id));
          if (row.has_value()) continue;  // Not the activation it closed.
          seats_.ForceReleased(key.entitlement, key.key, now);
          set_open(key, std::nullopt);
          pending.erase(key);
        }
        if (!page.has_more) break;
      }
      feed_seen_next_ = *filter.after;
    }

    // Each noted key as its pool holds it now.
    for (auto& [key, p] : pending) {
      std::optional<SeatHolder> held = pool_holder(key);
      if (held.has_value()) {
        // The pool is read key by key while seats change hands: a seat this
        // flush writes may still be named by the row of a key that left it
        // (its note not taken yet). Generations say which holder is newer.
        const SeatOf seat{key.entitlement, held->handle.index};
        std::optional<PoolKey> other = owner_of(seat);
        if (other.has_value() && *other != key) {
          std::optional<Open> o = find_open(*other);
          if (o.has_value() &&
              static_cast<int32_t>(o->generation - held->handle.generation) >
                  0) {
            held.reset();  // This key's hold ended since it was read.
          } else if (o.has_value()) {
            ENTITLE_ASSIGN_OR_RETURN(std::optional<ActivationRecord> row,
                                     open_row(o->id));
            if (row.has_value()) {
              auto noted = pending.find(*other);
              row->end_reason =
                  noted != pending.end() &&
                          noted->second.last_end != ActivationEnd::kOpen
                      ? noted->second.last_end
                      : ActivationEnd::kReleased;
              row->ended_at = now;
              row->epoch = epoch;
              ENTITLE_RETURN_IF_ERROR(tx->activations().Update(*row));
            }
            set_open(*other, std::nullopt);
            displaced.insert(*other);
          }
        }
      }
      std::optional<Open> was = find_open(key);
      std::optional<ActivationRecord> row;
      if (was.has_value()) {
        ENTITLE_ASSIGN_OR_RETURN(row, open_row(was->id));
      }
      if (held.has_value()) {
        if (row.has_value()) {
          row->seat = held->handle.index;
          row->last_heartbeat = held->last_heartbeat;
          row->expires_at = held->expires_at;
          row->epoch = epoch;
          ENTITLE_RETURN_IF_ERROR(tx->activations().Update(*row));
        } else {
          ActivationRecord a;
          a.entitlement_id = key.entitlement;
          a.organization_id = p.organization;
          a.identity_id = key.key.identity;
          a.device_id = key.key.device;
          a.seat = held->handle.index;
          a.since = held->since;
          a.last_heartbeat = held->last_heartbeat;
          a.expires_at = held->expires_at;
          a.epoch = epoch;
          ENTITLE_ASSIGN_OR_RETURN(a.id, tx->activations().Insert(a));
          row = a;
        }
        set_open(key, Open{row->id, p.organization, held->handle.index,
                           held->handle.generation, held->last_heartbeat,
                           held->expires_at});
      } else {
        const bool noted_end = p.last_end != ActivationEnd::kOpen;
        const ActivationEnd reason =
            noted_end ? p.last_end : ActivationEnd::kExpired;
        if (row.has_value()) {
          row->end_reason = reason;
          row->ended_at =
              noted_end ? p.last_end_time : std::min(row->expires_at, now);
          row->epoch = epoch;
          ENTITLE_RETURN_IF_ERROR(tx->activations().Update(*row));
        } else if (p.checkouts > 0 && !displaced.contains(key)) {
          // Taken and ended within one flush interval: one session.
          ActivationRecord a;
          a.entitlement_id = key.entitlement;
          a.organization_id = p.organization;
          a.identity_id = key.key.identity;
          a.device_id = key.key.device;
          a.seat = p.seat;
          a.since = p.first_checkout;
          a.last_heartbeat = p.last_held;
          a.expires_at = p.expires_at;
          a.end_reason = reason;
          a.ended_at =
              noted_end ? p.last_end_time : std::min(p.expires_at, now);
          a.epoch = epoch;
          absl::Status s = tx->activations().Insert(a).status();
          // An identity deleted meanwhile leaves no session.
          if (!s.ok() && GetReason(s) != Reason::kMissingReference) return s;
        }
        if (was.has_value()) set_open(key, std::nullopt);
        if (!noted_end && (row.has_value() || p.checkouts > 0)) {
          events.push_back(SeatEvent(FeedEventKind::kExpiry,
                                     std::min(p.expires_at, now),
                                     p.organization, key));
        }
      }
      if (p.checkouts > 0) {
        events.push_back(SeatEvent(FeedEventKind::kCheckout, p.first_checkout,
                                   p.organization, key,
                                   Times(p.checkouts, "checkouts")));
      }
      for (size_t i = 1; i < p.ends.size(); ++i) {
        const auto end = static_cast<ActivationEnd>(i);
        // A force release's event was written with it (ForceRelease).
        if (p.ends[i] == 0 || end == ActivationEnd::kForceReleased) continue;
        events.push_back(SeatEvent(EventOf(end), p.last_end_at[i],
                                   p.organization, key,
                                   Times(p.ends[i], "times")));
      }
    }

    // Leases that ran out with no note since.
    for (const auto& [key, o] : open_) {
      if (o.expires_at > now || pending.contains(key) ||
          changed.contains(key)) {
        continue;
      }
      if (pool_holder(key).has_value()) continue;  // Renewed meanwhile.
      ENTITLE_ASSIGN_OR_RETURN(std::optional<ActivationRecord> row,
                               open_row(o.id));
      if (row.has_value()) {
        row->end_reason = ActivationEnd::kExpired;
        row->ended_at = o.expires_at;
        row->epoch = epoch;
        ENTITLE_RETURN_IF_ERROR(tx->activations().Update(*row));
        events.push_back(SeatEvent(FeedEventKind::kExpiry, o.expires_at,
                                   o.organization, key));
      }
      set_open(key, std::nullopt);
    }

    for (const auto& [key, r] : refusals) {
      FeedEventRecord event;
      event.at = r.first;
      event.kind = FeedEventKind::kRefusal;
      event.organization_id = r.organization;
      event.entitlement_id = key.entitlement;
      event.identity_id = key.identity;
      event.device_id = key.device.value();
      event.reason = std::string(ReasonName(key.reason));
      event.detail = Times(r.count, "refusals");
      events.push_back(std::move(event));
    }
    std::stable_sort(events.begin(), events.end(),
                     [](const FeedEventRecord& a, const FeedEventRecord& b) {
                       return a.at < b.at;
                     });
    for (const FeedEventRecord& event : events) {
      ENTITLE_RETURN_IF_ERROR(tx->feed_events().Insert(event).status());
    }

    // ACT-6: sessions and events past their retention, a batch at a time.
    if (now - last_purge_ >= absl::Minutes(1)) {
      const absl::Time horizon =
          now - context_.license_policy.session_retention;
      ENTITLE_ASSIGN_OR_RETURN(
          Page<ActivationRecord> old,
          tx->activations().List(ActivationFilter{.ended_before = horizon},
                                 PageRequest{.offset = 0, .limit = 1000}));
      for (const ActivationRecord& a : old.items) {
        ENTITLE_RETURN_IF_ERROR(tx->activations().Delete(a.id));
      }
      ENTITLE_ASSIGN_OR_RETURN(
          Page<FeedEventRecord> stale,
          tx->feed_events().List(FeedEventFilter{.before = horizon},
                                 PageRequest{.offset = 0, .limit = 1000}));
      for (const FeedEventRecord& e : stale.items) {
        ENTITLE_RETURN_IF_ERROR(tx->feed_events().Delete(e.id));
      }
      if (!old.has_more && !stale.has_more) last_purge_ = now;
    }

    ENTITLE_RETURN_IF_ERROR(tx->Commit());
    for (auto& [key, o] : changed) {
      if (o.has_value()) {
        open_[key] = *o;
      } else {
        open_.erase(key);
      }
    }
    for (auto& [seat, key] : owner_changed) {
      if (key.has_value()) {
        owners_[seat] = *key;
      } else {
        owners_.erase(seat);
      }
    }
    feed_seen_ = feed_seen_next_;
    return absl::OkStatus();
  };

  absl::Status s = attempt();
  if (!s.ok() && serving()) {
    // Kept for the next flush.
    Restore(pending, refusals);
    MutexLock lock(handled_mutex_);
    handled_.insert(handled.begin(), handled.end());
  }
  return s;
}

}  // namespace entitle::internal
