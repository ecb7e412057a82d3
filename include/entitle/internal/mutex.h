// A mutex the compiler can check: std::mutex with Clang's thread-safety
// attributes, so state marked ABSL_GUARDED_BY(mutex) is only touched with the
// mutex held (the build with -Wthread-safety refuses anything else). Same
// size and cost as std::mutex; libstdc++'s own mutex carries no attributes.
//
// Not part of the API: the header-only seat pool needs it inline.
#ifndef ENTITLE_INTERNAL_MUTEX_H_
#define ENTITLE_INTERNAL_MUTEX_H_

#include <mutex>

#include "absl/base/thread_annotations.h"

namespace entitle::internal {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mutex_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mutex_.unlock(); }
  // True when the mutex was free and is now held.
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) {
    return mutex_.try_lock();
  }

  // BasicLockable, for std::condition_variable_any (which unlocks and
  // relocks while it waits).
  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mutex_.lock(); }
  void unlock() ABSL_UNLOCK_FUNCTION() { mutex_.unlock(); }

  // Tells the analysis that the caller holds the mutex (checked nowhere else).
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

 private:
  std::mutex mutex_;
};

// Holds `mutex` for the scope.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex& mutex) ABSL_EXCLUSIVE_LOCK_FUNCTION(mutex)
      : mutex_(mutex) {
    mutex_.Lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mutex_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mutex_;
};

}  // namespace entitle::internal

#endif  // ENTITLE_INTERNAL_MUTEX_H_
