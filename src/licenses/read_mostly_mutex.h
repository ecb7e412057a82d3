// ReadMostlyMutex: a reader-writer lock for data read on every checkout and
// written almost never (a floating entitlement's pool, replaced only when its
// seat count grows past the capacity; the registry's map of pools, written
// once per new pool).
//
// Each thread marks its reads in a counter of its own stripe (its own cache
// line), so readers on different threads do not contend: taking and dropping
// a read lock is one read-modify-write on a line no other thread writes (when
// the process has at most kStripes threads reading) and one load. A writer
// raises a flag and waits until every stripe is empty; readers that meet the
// flag step back and wait on the writer's mutex. Writers are rare, so a
// writer spins (yielding) rather than sleeps while readers leave.
//
// Annotated for Clang's thread-safety analysis: hold it through
// ReadMostlyReaderLock or ReadMostlyWriterLock (std::shared_lock carries no
// annotations), and mark what it guards ABSL_GUARDED_BY.
//
// Thread-safe. Not recursive: a thread that holds it, shared or exclusive,
// must not take it again.
#ifndef ENTITLE_SRC_LICENSES_READ_MOSTLY_MUTEX_H_
#define ENTITLE_SRC_LICENSES_READ_MOSTLY_MUTEX_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

#include "absl/base/thread_annotations.h"

namespace entitle::internal {

class ABSL_LOCKABLE ReadMostlyMutex {
 public:
  ReadMostlyMutex() = default;
  ReadMostlyMutex(const ReadMostlyMutex&) = delete;
  ReadMostlyMutex& operator=(const ReadMostlyMutex&) = delete;

  // Takes the lock shared: returns once no writer holds it. Any number of
  // threads may hold it shared at once.
  void ReaderLock() ABSL_SHARED_LOCK_FUNCTION() {
    Stripe& stripe = stripes_[ThreadStripe()];
    while (true) {
      stripe.readers.fetch_add(1, std::memory_order_seq_cst);
      if (!writing_.load(std::memory_order_seq_cst)) return;
      stripe.readers.fetch_sub(1, std::memory_order_release);
      // A writer is in: wait for it on its mutex, then try again.
      std::lock_guard<std::mutex> wait(writer_);
    }
  }
  // Drops a shared hold taken by this thread.
  void ReaderUnlock() ABSL_UNLOCK_FUNCTION() {
    stripes_[ThreadStripe()].readers.fetch_sub(1, std::memory_order_release);
  }

  // Takes the lock exclusively: returns once no other writer holds it and
  // every reader has left; readers that come meanwhile wait.
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    writer_.lock();
    writing_.store(true, std::memory_order_seq_cst);
    for (Stripe& stripe : stripes_) {
      while (stripe.readers.load(std::memory_order_seq_cst) != 0) {
        std::this_thread::yield();
      }
    }
  }
  // Drops the exclusive hold; waiting readers and writers go on.
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    writing_.store(false, std::memory_order_release);
    writer_.unlock();
  }

 private:
  static constexpr size_t kStripes = 16;
  struct alignas(64) Stripe {
    std::atomic<int64_t> readers{0};
  };
  // The stripe of the calling thread, fixed for its life.
  static size_t ThreadStripe() {
    static std::atomic<size_t> next{0};
    static thread_local const size_t stripe =
        next.fetch_add(1, std::memory_order_relaxed) % kStripes;
    return stripe;
  }

  std::array<Stripe, kStripes> stripes_;
  std::atomic<bool> writing_{false};
  // Held by the writer from Lock to Unlock (so not an annotated Mutex: it
  // is this lock's own state, and readers only pass through it).
  std::mutex writer_;
};

// Holds `mutex` shared for the scope.
class ABSL_SCOPED_LOCKABLE ReadMostlyReaderLock {
 public:
  explicit ReadMostlyReaderLock(ReadMostlyMutex& mutex)
      ABSL_SHARED_LOCK_FUNCTION(mutex)
      : mutex_(mutex) {
    mutex_.ReaderLock();
  }
  ~ReadMostlyReaderLock() ABSL_UNLOCK_FUNCTION() { mutex_.ReaderUnlock(); }
  ReadMostlyReaderLock(const ReadMostlyReaderLock&) = delete;
  ReadMostlyReaderLock& operator=(const ReadMostlyReaderLock&) = delete;

 private:
  ReadMostlyMutex& mutex_;
};

// Holds `mutex` exclusively for the scope.
class ABSL_SCOPED_LOCKABLE ReadMostlyWriterLock {
 public:
  explicit ReadMostlyWriterLock(ReadMostlyMutex& mutex)
      ABSL_EXCLUSIVE_LOCK_FUNCTION(mutex)
      : mutex_(mutex) {
    mutex_.Lock();
  }
  ~ReadMostlyWriterLock() ABSL_UNLOCK_FUNCTION() { mutex_.Unlock(); }
  ReadMostlyWriterLock(const ReadMostlyWriterLock&) = delete;
  ReadMostlyWriterLock& operator=(const ReadMostlyWriterLock&) = delete;

 private:
  ReadMostlyMutex& mutex_;
};

}  // namespace entitle::internal

#endif  // ENTITLE_SRC_LICENSES_READ_MOSTLY_MUTEX_H_
