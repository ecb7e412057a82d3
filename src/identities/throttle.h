// Throttles (SPEC SEC-10): failed sign-ins per email address and per client
// address, and link mails per address, counted in the store so that every
// process on it counts the same.
//
// A throttle is a rule (kind, subject, limit, window) over the subject's
// ThrottleRecord: at most `limit` events within any `window` (a sliding
// window: the record keeps the times of the newest `limit` events). The
// functions here read and write through the caller's write transaction; the
// caller commits.
#ifndef ENTITLE_SRC_IDENTITIES_THROTTLE_H_
#define ENTITLE_SRC_IDENTITIES_THROTTLE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "entitle/email.h"
#include "entitle/options.h"
#include "entitle/records.h"
#include "entitle/store.h"

namespace entitle::internal {

struct ThrottleRule {
  ThrottleKind kind = ThrottleKind::kMail;
  std::string subject;
  int limit = 1;                           // At least 1.
  absl::Duration window = absl::Hours(1);  // Positive.
};

// The most characters a client address may have (SignIn).
inline constexpr size_t kMaxClientAddressLength = 128;

// The sign-in rules of `policy` for an attempt on `email` from
// `client_address` (empty: not given): none when throttling is off.
// kInvalidArgument for a policy out of its bounds (options.h) or a client
// address that is longer than kMaxClientAddressLength or holds anything but
// printable ASCII without spaces.
absl::StatusOr<std::vector<ThrottleRule>> SignInRules(
    const IdentityPolicy& policy, const Email& email,
    std::string_view client_address);

// The mail rule of `policy` for a link mail to `to`: none when the limit is
// off. kInvalidArgument for a policy out of its bounds.
absl::StatusOr<std::optional<ThrottleRule>> MailRule(
    const IdentityPolicy& policy, const Email& to);

// Counts one event at `now` for every rule, unless one of them already has
// `limit` events within its window: then writes nothing and returns when the
// latest of the full rules has room again. Also deletes a few records that
// no longer count, so probes of many subjects leave no lasting trace.
absl::StatusOr<std::optional<absl::Time>> CountUnlessFull(
    Transaction& tx, absl::Time now, const std::vector<ThrottleRule>& rules);

// Takes back one event counted at `at` for `rule` (nothing when it is no
// longer there).
absl::Status Uncount(Transaction& tx, const ThrottleRule& rule, absl::Time at);

// Forgets every event counted for `rule`'s subject.
absl::Status Clear(Transaction& tx, const ThrottleRule& rule);

// "2026-01-01 00:15:00 UTC": `t` rounded up to the second, for messages.
std::string RetryTime(absl::Time t);

}  // namespace entitle::internal

#endif  // ENTITLE_SRC_IDENTITIES_THROTTLE_H_
