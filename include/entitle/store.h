// The store: where every record lives, read and written in transactions.
//
// A `Store` hands out `Transaction`s. A transaction sees one consistent state
// and either commits all of its writes or none: the services run every public
// operation as one transaction (read, check the rules, write, append the audit
// record, commit), so a failed check writes nothing.
//
// Each record kind (records.h) has a `Table<Record>` in every transaction with
// the same small surface: insert, get, update, delete, list a page, count. The
// store enforces keys, the uniqueness rules and the references listed in
// records.h, and nothing else: all domain logic is in the services.
//
// Backends: `MemoryStore` (memory_store.h) and `SqliteStore` (sqlite_store.h).
// Both pass the same conformance suite; a new backend must too.
//
// Ownership and threads: a `Store` is thread-safe and must outlive every
// transaction it began. A `Transaction` and its tables belong to the thread
// that began it and are not thread-safe. Write transactions are serialized (a
// second `Begin(kWrite)` waits, up to the backend's timeout, for the first to
// end); read transactions may run beside each other and beside one writer, and
// see the state committed when they began. Never begin a second transaction on
// a thread that already holds a write transaction of the same store: it waits
// for itself.
#ifndef ENTITLE_STORE_H_
#define ENTITLE_STORE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "entitle/page.h"
#include "entitle/records.h"

namespace entitle {

// The records of one kind, seen through one transaction.
//
// Every method fails with FailedPrecondition / `Reason::kTransactionFinished`
// once the transaction has committed or rolled back, with FailedPrecondition /
// `Reason::kReadOnlyTransaction` for a write in a read transaction, and with
// Unavailable / `Reason::kStoreUnavailable` when the backend cannot read or
// write. A write that fails leaves the transaction usable and changes nothing;
// the caller decides whether to go on or roll back.
template <typename Record>
class Table {
 public:
  using Key = typename Record::Key;
  using Filter = typename Record::Filter;

  virtual ~Table() = default;

  // Adds `record` and returns its key. For kinds with a store-assigned id, the
  // id in `record` is ignored and a new one is assigned. Fails with
  // AlreadyExists / kDuplicate when the key or a unique field is taken, and
  // FailedPrecondition / kMissingReference when a referenced record is missing.
  virtual absl::StatusOr<Key> Insert(const Record& record) = 0;

  // The record with `key`, or NotFound / kNotFound.
  virtual absl::StatusOr<Record> Get(const Key& key) = 0;

  // Replaces the record with the same key. NotFound / kNotFound when there is
  // none; kDuplicate and kMissingReference as for Insert.
  virtual absl::Status Update(const Record& record) = 0;

  // Removes the record with `key`. NotFound / kNotFound when there is none;
  // FailedPrecondition / kStillReferenced when another record names it.
  virtual absl::Status Delete(const Key& key) = 0;

  // The records matching `filter`, in key order, one page of them (`total`
  // unset). `page.limit` must be in 1..PageRequest::kMaxPageLimit and
  // `page.offset` non-negative; anything else is refused with
  // InvalidArgument / `Reason::kInvalidArgument`.
  virtual absl::StatusOr<Page<Record>> List(const Filter& filter,
                                            const PageRequest& page) = 0;

  // How many records match `filter`.
  virtual absl::StatusOr<int64_t> Count(const Filter& filter) = 0;
};

enum class TransactionMode { kRead, kWrite };

// One transaction. Destroying it without a successful `Commit()` rolls it back.
class Transaction {
 public:
  virtual ~Transaction() = default;

  virtual TransactionMode mode() const = 0;

  virtual Table<IdentityRecord>& identities() = 0;
  virtual Table<OrganizationRecord>& organizations() = 0;
  virtual Table<MembershipRecord>& memberships() = 0;
  virtual Table<RoleRecord>& roles() = 0;
  virtual Table<RoleGrantRecord>& role_grants() = 0;
  virtual Table<GroupRecord>& groups() = 0;
  virtual Table<GroupMemberRecord>& group_members() = 0;
  virtual Table<DomainRecord>& domains() = 0;
  virtual Table<InvitationRecord>& invitations() = 0;
  virtual Table<RequestLinkRecord>& request_links() = 0;
  virtual Table<JoinRequestRecord>& join_requests() = 0;
  virtual Table<EntitlementRecord>& entitlements() = 0;
  virtual Table<LicenseAssignmentRecord>& license_assignments() = 0;
  virtual Table<PoolGrantRecord>& pool_grants() = 0;
  virtual Table<ProjectRecord>& projects() = 0;
  virtual Table<ProjectMemberRecord>& project_members() = 0;
  virtual Table<JobRecord>& jobs() = 0;
  virtual Table<AuditRecord>& audit() = 0;
  virtual Table<OutboxRecord>& outbox() = 0;
  virtual Table<LinkTokenRecord>& link_tokens() = 0;
  virtual Table<DeviceCheckRecord>& device_checks() = 0;
  virtual Table<PoolUsageRecord>& pool_usage() = 0;
  virtual Table<ThrottleRecord>& throttles() = 0;
  virtual Table<ActivationRecord>& activations() = 0;
  virtual Table<ServingClaimRecord>& serving_claims() = 0;
  virtual Table<FeedEventRecord>& feed_events() = 0;

  // PRJ-4: the distinct identities in the projects of `organization` (by the
  // members' `organization_id`), each with the number of those projects it
  // is in, in identity order, one page of them. Fails as Table::List does.
  virtual absl::StatusOr<Page<ProjectUserCount>> ProjectUsers(
      OrganizationId organization, const PageRequest& page) = 0;
  // How many distinct identities ProjectUsers would list in all.
  virtual absl::StatusOr<int64_t> CountProjectUsers(
      OrganizationId organization) = 0;

  // Savepoints, for work that must be undone in part: `Savepoint` marks
  // where a write transaction is now; `RollbackToSavepoint` undoes every
  // write made since the newest mark and removes the mark, leaving the
  // transaction open; `ReleaseSavepoint` keeps those writes and removes the
  // mark. Marks nest. They fail with kTransactionFinished,
  // kReadOnlyTransaction (a read transaction), or FailedPrecondition /
  // kInvalidArgument when no mark is open; and like Commit when the backend
  // fails.
  [[nodiscard]] virtual absl::Status Savepoint() = 0;
  [[nodiscard]] virtual absl::Status RollbackToSavepoint() = 0;
  [[nodiscard]] virtual absl::Status ReleaseSavepoint() = 0;

  // Makes every write durable and visible to later transactions. After it
  // returns, successfully or not, the transaction is finished. On failure
  // (Unavailable / kStoreUnavailable) nothing was written. Committing a read
  // transaction just ends it.
  [[nodiscard]] virtual absl::Status Commit() = 0;

  // Discards every write and finishes the transaction. Safe to call twice.
  virtual void Rollback() = 0;
};

// ACT-3: a lock on a store that the platform drops the moment its holder
// dies (an operating-system file lock, a database session lock), so that a
// crashed serving process frees the seats of the store at once. Held until
// destroyed. Not thread-safe; destroy it on any thread.
class ServingLock {
 public:
  virtual ~ServingLock() = default;
};

class Store {
 public:
  virtual ~Store() = default;

  // Begins a transaction. Fails with Unavailable / kStoreUnavailable when the
  // backend cannot (e.g. another writer held the file beyond the timeout).
  virtual absl::StatusOr<std::unique_ptr<Transaction>> Begin(
      TransactionMode mode) = 0;

  // A stamp that changes when the contents may have been changed by a writer
  // that does not go through this object (another process on the same file);
  // services compare stamps to notice such changes. Backends whose every
  // writer goes through the object (MemoryStore) return 0 always. Fails with
  // Unavailable / kStoreUnavailable when the backend cannot be read.
  virtual absl::StatusOr<uint64_t> ExternalChangeStamp() { return uint64_t{0}; }

  // ACT-3: whether this backend has a serving lock (TryLockServing). Without
  // one, a serving claim whose holder died is free only once its lease ran
  // out.
  virtual bool has_serving_lock() const { return false; }

  // Takes the store's serving lock without waiting: the lock, or nullptr
  // when another holder (another process, or another store object on the
  // same file) has it. Fails with Unavailable / kStoreUnavailable when the
  // lock cannot be tried, and with Unimplemented / kInvalidArgument when
  // has_serving_lock() is false.
  virtual absl::StatusOr<std::unique_ptr<ServingLock>> TryLockServing();
};

}  // namespace entitle

#endif  // ENTITLE_STORE_H_
