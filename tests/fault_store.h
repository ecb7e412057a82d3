// FaultStore: a store that can be told to fail, for testing error paths.
//
//   entitle::MemoryStore memory;
//   entitle_test::FaultStore store(memory);
//   store.FailAt(3);  // The third counted operation fails.
//   entitle::Directory directory(store, options);
//
// It wraps another store (a MemoryStore, a SqliteStore) and passes every call
// through, except that it counts the operations that change the store: every
// Insert, Update and Delete on any table, every Savepoint, RollbackToSavepoint
// and ReleaseSavepoint, and every Commit of a write transaction. Only calls
// that could reach the wrapped store are counted: those on an open write
// transaction. Reads, read transactions, Rollback and ExternalChangeStamp are
// passed through uncounted and never fail here.
//
// `FailAt(n)` makes the n-th counted operation since the store was made fail
// with Unavailable / kStoreUnavailable ("injected I/O error") instead of
// reaching the wrapped store, as a disk error would; the operations before and
// after it pass. A failed write leaves its transaction open and unchanged, as
// store.h promises. A failed Commit rolls the wrapped transaction back, so
// nothing is written and the transaction is finished. `FailBegin(true)` makes
// every Begin(kWrite) fail the same way until it is turned off.
//
// Ownership: the wrapped store is the caller's and must outlive this object
// and every transaction begun through it.
//
// Thread-safety: as thread-safe as the wrapped store (store.h: the store is,
// its transactions are not). The operation counter and the settings are
// atomic, so FailAt and operations() may be called from any thread.
#ifndef ENTITLE_TESTS_FAULT_STORE_H_
#define ENTITLE_TESTS_FAULT_STORE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "entitle/records.h"
#include "entitle/status.h"
#include "entitle/store.h"
#include "schema.h"  // ENTITLE_FOR_EACH_RECORD

namespace entitle_test {

class FaultStore final : public entitle::Store {
 public:
  explicit FaultStore(entitle::Store& wrapped) : wrapped_(wrapped) {}
  FaultStore(const FaultStore&) = delete;
  FaultStore& operator=(const FaultStore&) = delete;

  // Fails the n-th counted operation (counting from 1 since construction);
  // 0 fails none. A number already passed fails nothing more.
  void FailAt(int64_t n) { fail_at_.store(n, std::memory_order_relaxed); }

  // While true, every Begin(kWrite) fails with kStoreUnavailable.
  void FailBegin(bool fail) {
    fail_begin_.store(fail, std::memory_order_relaxed);
  }

  // How many operations were counted so far, the failed one included.
  int64_t operations() const {
    return operations_.load(std::memory_order_relaxed);
  }

  // The store this one wraps.
  entitle::Store& wrapped() { return wrapped_; }

  static absl::Status InjectedError() {
    return entitle::MakeError(absl::StatusCode::kUnavailable,
                              entitle::Reason::kStoreUnavailable,
                              "injected I/O error");
  }

  absl::StatusOr<std::unique_ptr<entitle::Transaction>> Begin(
      entitle::TransactionMode mode) override {
    if (mode == entitle::TransactionMode::kWrite &&
        fail_begin_.load(std::memory_order_relaxed)) {
      return InjectedError();
    }
    absl::StatusOr<std::unique_ptr<entitle::Transaction>> inner =
        wrapped_.Begin(mode);
    if (!inner.ok()) return inner.status();
    return std::unique_ptr<entitle::Transaction>(
        new FaultTransaction(*this, *std::move(inner)));
  }

  absl::StatusOr<uint64_t> ExternalChangeStamp() override {
    return wrapped_.ExternalChangeStamp();
  }

 private:
  class FaultTransaction;

  // Counts one operation; the injected error when it is the one to fail.
  absl::Status Count() {
    const int64_t n = operations_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (n == fail_at_.load(std::memory_order_relaxed)) return InjectedError();
    return absl::OkStatus();
  }

  // One table of a FaultTransaction: writes are counted, reads pass.
  template <typename Record>
  class FaultTable final : public entitle::Table<Record> {
   public:
    using Key = typename Record::Key;
    using Filter = typename Record::Filter;

    FaultTable(FaultTransaction& transaction, entitle::Table<Record>& wrapped)
        : transaction_(transaction), wrapped_(wrapped) {}

    absl::StatusOr<Key> Insert(const Record& record) override {
      if (absl::Status s = transaction_.CountWrite(); !s.ok()) return s;
      return wrapped_.Insert(record);
    }
    absl::StatusOr<Record> Get(const Key& key) override {
      return wrapped_.Get(key);
    }
    absl::Status Update(const Record& record) override {
      if (absl::Status s = transaction_.CountWrite(); !s.ok()) return s;
      return wrapped_.Update(record);
    }
    absl::Status Delete(const Key& key) override {
      if (absl::Status s = transaction_.CountWrite(); !s.ok()) return s;
      return wrapped_.Delete(key);
    }
    absl::StatusOr<entitle::Page<Record>> List(
        const Filter& filter, const entitle::PageRequest& page) override {
      return wrapped_.List(filter, page);
    }
    absl::StatusOr<int64_t> Count(const Filter& filter) override {
      return wrapped_.Count(filter);
    }

   private:
    FaultTransaction& transaction_;
    entitle::Table<Record>& wrapped_;
  };

  class FaultTransaction final : public entitle::Transaction {
   public:
    // clang-format off
    FaultTransaction(FaultStore& store,
                     std::unique_ptr<entitle::Transaction> wrapped)
        : store_(store),
          wrapped_(std::move(wrapped)),
          mode_(wrapped_->mode())
#define ENTITLE_FAULT_INIT(Record, accessor) \
          , accessor##_(*this, wrapped_->accessor())
          ENTITLE_FOR_EACH_RECORD(ENTITLE_FAULT_INIT)
#undef ENTITLE_FAULT_INIT
    {}
    // clang-format on

    entitle::TransactionMode mode() const override { return mode_; }

#define ENTITLE_FAULT_ACCESSOR(Record, accessor) \
  entitle::Table<entitle::Record>& accessor() override { return accessor##_; }
    ENTITLE_FOR_EACH_RECORD(ENTITLE_FAULT_ACCESSOR)
#undef ENTITLE_FAULT_ACCESSOR

    absl::StatusOr<entitle::Page<entitle::ProjectUserCount>> ProjectUsers(
        entitle::OrganizationId organization,
        const entitle::PageRequest& page) override {
      return wrapped_->ProjectUsers(organization, page);
    }
    absl::StatusOr<int64_t> CountProjectUsers(
        entitle::OrganizationId organization) override {
      return wrapped_->CountProjectUsers(organization);
    }

    absl::Status Savepoint() override {
      if (absl::Status s = CountWrite(); !s.ok()) return s;
      return wrapped_->Savepoint();
    }
    absl::Status RollbackToSavepoint() override {
      if (absl::Status s = CountWrite(); !s.ok()) return s;
      return wrapped_->RollbackToSavepoint();
    }
    absl::Status ReleaseSavepoint() override {
      if (absl::Status s = CountWrite(); !s.ok()) return s;
      return wrapped_->ReleaseSavepoint();
    }

    absl::Status Commit() override {
      if (!Counted()) {
        finished_ = true;
        return wrapped_->Commit();
      }
      finished_ = true;
      if (absl::Status s = store_.Count(); !s.ok()) {
        wrapped_->Rollback();
        return s;
      }
      return wrapped_->Commit();
    }

    void Rollback() override {
      finished_ = true;
      wrapped_->Rollback();
    }

    // Counts a write when it could reach the wrapped store; otherwise the
    // wrapped store refuses it (finished, read-only) as usual.
    absl::Status CountWrite() {
      if (!Counted()) return absl::OkStatus();
      return store_.Count();
    }

   private:
    bool Counted() const {
      return !finished_ && mode_ == entitle::TransactionMode::kWrite;
    }

    FaultStore& store_;
    std::unique_ptr<entitle::Transaction> wrapped_;
    const entitle::TransactionMode mode_;
#define ENTITLE_FAULT_MEMBER(Record, accessor) \
  FaultTable<entitle::Record> accessor##_;
    ENTITLE_FOR_EACH_RECORD(ENTITLE_FAULT_MEMBER)
#undef ENTITLE_FAULT_MEMBER
    bool finished_ = false;
  };

  entitle::Store& wrapped_;
  std::atomic<int64_t> operations_{0};
  std::atomic<int64_t> fail_at_{0};
  std::atomic<bool> fail_begin_{false};
};

}  // namespace entitle_test

#endif  // ENTITLE_TESTS_FAULT_STORE_H_
