// Time as a port to the host.
//
// Every rule that depends on time (link lifetimes, leases, subscription
// periods, offline grace) reads it through a `Clock`, so a host can supply its
// own and tests can move time with `FakeClock` instead of sleeping.
//
// Thread safety: `Now()` of every clock here may be called from any thread at
// any time. `FakeClock` may also be moved from any thread.
#ifndef ENTITLE_CLOCK_H_
#define ENTITLE_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace entitle {

class Clock {
 public:
  virtual ~Clock() = default;
  // The current time.
  virtual absl::Time Now() const = 0;
};

// The system's wall clock.
class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  // A process-wide instance; never destroyed.
  static SystemClock& Get();
};

// A clock that stands still until moved. Starts at `start`, which defaults to
// 2026-01-01T00:00:00Z so that tests read the same dates on every run.
// Resolution is one microsecond (the resolution the store keeps).
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1767225600))
      : micros_(absl::ToUnixMicros(start)) {}

  absl::Time Now() const override {
    return absl::FromUnixMicros(micros_.load(std::memory_order_acquire));
  }
  // Moves time forward (or back, for a negative `by`).
  void Advance(absl::Duration by) {
    micros_.fetch_add(absl::ToInt64Microseconds(by), std::memory_order_acq_rel);
  }
  void Set(absl::Time now) {
    micros_.store(absl::ToUnixMicros(now), std::memory_order_release);
  }

 private:
  std::atomic<int64_t> micros_;
};

}  // namespace entitle

#endif  // ENTITLE_CLOCK_H_
