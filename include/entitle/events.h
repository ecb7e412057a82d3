// Domain events as a port to the host.
//
// Some changes matter to systems beside entitle: when a person's employer
// changes (SPEC ORG-2), a host disables the accounts that depended on the old
// one, as model-sharing services do. entitle publishes such events to an
// `EventSink` after the change has committed; a refused or failed operation
// publishes nothing. Events never carry a link or a password.
//
// Thread safety: `Publish` may be called from any thread, concurrently.
#ifndef ENTITLE_EVENTS_H_
#define ENTITLE_EVENTS_H_

#include <optional>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "entitle/ids.h"
#include "entitle/internal/mutex.h"

namespace entitle {

// An identity's employee organization changed (ORG-2): it became an employee
// of `current` (unset when it is no longer anyone's employee), having been one
// of `previous` (unset when it was nobody's).
struct EmployeeOrganizationChanged {
  IdentityId identity;
  std::optional<OrganizationId> previous;
  std::optional<OrganizationId> current;
  absl::Time at;
  friend bool operator==(const EmployeeOrganizationChanged&,
                         const EmployeeOrganizationChanged&) = default;
};

using Event = std::variant<EmployeeOrganizationChanged>;

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Takes one event. Must not throw.
  virtual void Publish(const Event& event) = 0;
};

// Keeps every event in memory: the default sink, and how tests read events.
// Thread-safe.
class InMemoryEventSink final : public EventSink {
 public:
  void Publish(const Event& event) override {
    internal::MutexLock lock(mutex_);
    events_.push_back(event);
  }
  std::vector<Event> Events() const {
    internal::MutexLock lock(mutex_);
    return events_;
  }
  void Clear() {
    internal::MutexLock lock(mutex_);
    events_.clear();
  }

 private:
  mutable internal::Mutex mutex_;
  std::vector<Event> events_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace entitle

#endif  // ENTITLE_EVENTS_H_
