// Outgoing messages as a port to the host (emails with links).
//
// entitle decides who must be told what; the host's `Notifier` renders and
// delivers it. Notifications are handed over only after the operation that made
// them has committed, so a refused or failed operation never sends anything. A
// notification with a link carries the link's secret token (`token`): this is
// the one place it ever appears, since the store keeps only its hash. The host
// builds the URL from it and must not log it.
//
// Each notification is also recorded, without the token, in the store's outbox
// table (records.h), in the operation's transaction.
//
// Thread safety: `Send` may be called from any thread, concurrently.
#ifndef ENTITLE_NOTIFIER_H_
#define ENTITLE_NOTIFIER_H_

#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "entitle/email.h"

namespace entitle {

struct Notification {
  Email to;
  // What the message is: "verify-email", "password-reset", "email-change",
  // "invitation", ... The host picks its template by this name.
  std::string template_name;
  // The recipient's language (ID-8): a supported tag, "en" by default.
  std::string language = "en";
  // An English subject line the host may use as is.
  std::string subject;
  // The link's secret, or empty for a message without a link.
  std::string token;
  std::optional<absl::Time> link_expires_at;
  // Further template fields, e.g. {"organization", "Acme"}.
  std::vector<std::pair<std::string, std::string>> fields;
};

class Notifier {
 public:
  virtual ~Notifier() = default;
  // Takes the notification for delivery. Must not throw; delivery failures are
  // the host's to retry (the link stays valid until it expires).
  virtual void Send(const Notification& notification) = 0;
};

// Keeps every notification in memory: the default notifier, and how tests and
// the demo read the links entitle sends. Thread-safe.
class InMemoryNotifier final : public Notifier {
 public:
  void Send(const Notification& notification) override {
    std::lock_guard<std::mutex> lock(mutex_);
    sent_.push_back(notification);
  }
  // Every notification sent so far, oldest first.
  std::vector<Notification> Sent() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return sent_;
  }
  // The newest notification to `to` with `template_name`, if any.
  std::optional<Notification> Last(const Email& to,
                                   const std::string& template_name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = sent_.rbegin(); it != sent_.rend(); ++it) {
      if (it->to == to && it->template_name == template_name) return *it;
    }
    return std::nullopt;
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    sent_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Notification> sent_;
};

}  // namespace entitle

#endif  // ENTITLE_NOTIFIER_H_
