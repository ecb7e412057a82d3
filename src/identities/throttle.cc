#include "identities/throttle.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "base/string_view.h"
#include "entitle/status.h"

namespace entitle::internal {
namespace {

constexpr int kMaxLimit = 1000;
constexpr absl::Duration kMaxSignInWindow = absl::Hours(30 * 24);
constexpr absl::Duration kMailWindow = absl::Hours(1);
// Expired records deleted per counted event: more than one, so the table
// shrinks while it is used.
constexpr int kPrunePerEvent = 4;

absl::Status InvalidPolicy(std::string_view message) {
  return MakeError(absl::StatusCode::kInvalidArgument, Reason::kInvalidArgument,
                   message);
}

ThrottleKey KeyOf(const ThrottleRule& rule) {
  return ThrottleKey{rule.kind, rule.subject};
}

// The record of `rule`, or nothing.
absl::StatusOr<std::optional<ThrottleRecord>> Load(Transaction& tx,
                                                   const ThrottleRule& rule) {
  absl::StatusOr<ThrottleRecord> record = tx.throttles().Get(KeyOf(rule));
  if (record.ok()) return std::optional<ThrottleRecord>(*std::move(record));
  if (GetReason(record.status()) == Reason::kNotFound) return std::nullopt;
  return record.status();
}

// The events of `record` that still count at `now` under `rule`, the newest
// `rule.limit` of them, oldest first.
std::vector<absl::Time> Counting(const std::optional<ThrottleRecord>& record,
                                 const ThrottleRule& rule, absl::Time now) {
  std::vector<absl::Time> events;
  if (!record.has_value()) return events;
  for (const absl::Time at : record->events) {
    if (at + rule.window > now) events.push_back(at);
  }
  std::sort(events.begin(), events.end());
  if (events.size() > static_cast<size_t>(rule.limit)) {
    events.erase(events.begin(), events.end() - rule.limit);
  }
  return events;
}

// Writes `events` as `rule`'s record (deleting it when there are none).
absl::Status Store(Transaction& tx, const ThrottleRule& rule, bool exists,
                   std::vector<absl::Time> events) {
  if (events.empty()) {
    return exists ? tx.throttles().Delete(KeyOf(rule)) : absl::OkStatus();
  }
  std::sort(events.begin(), events.end());
  ThrottleRecord record;
  record.kind = rule.kind;
  record.subject = rule.subject;
  record.expires_at = events.back() + rule.window;
  record.events = std::move(events);
  if (exists) return tx.throttles().Update(record);
  return tx.throttles().Insert(record).status();
}

absl::Status Prune(Transaction& tx, absl::Time now) {
  ENTITLE_ASSIGN_OR_RETURN(
      Page<ThrottleRecord> expired,
      // A record says nothing from its expires_at on; times are kept to the
      // microsecond.
      tx.throttles().List(
          ThrottleFilter{.expired_before = now + absl::Microseconds(1)},
          PageRequest{.offset = 0, .limit = kPrunePerEvent}));
  for (const ThrottleRecord& record : expired.items) {
    ENTITLE_RETURN_IF_ERROR(
        tx.throttles().Delete(ThrottleKey{record.kind, record.subject}));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<ThrottleRule>> SignInRules(
    const IdentityPolicy& policy, const Email& email,
    std::string_view client_address) {
  if (client_address.size() > kMaxClientAddressLength) {
    return InvalidPolicy(absl::StrCat("A client address has at most ",
                                      kMaxClientAddressLength, " characters."));
  }
  for (const char c : client_address) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return InvalidPolicy(
          "A client address is printable ASCII without spaces, such as "
          "203.0.113.7 or 2001:db8::1.");
    }
  }
  if (policy.max_failed_sign_ins < 0 ||
      policy.max_failed_sign_ins > kMaxLimit) {
    return InvalidPolicy(
        absl::StrCat("IdentityPolicy::max_failed_sign_ins must be 0 to ",
                     kMaxLimit, "; it is ", policy.max_failed_sign_ins, "."));
  }
  std::vector<ThrottleRule> rules;
  if (policy.max_failed_sign_ins == 0) return rules;
  if (policy.sign_in_failure_window <= absl::ZeroDuration() ||
      policy.sign_in_failure_window > kMaxSignInWindow) {
    return InvalidPolicy(absl::StrCat(
        "IdentityPolicy::sign_in_failure_window must be more than zero and at "
        "most 30 days; it is ",
        absl::FormatDuration(policy.sign_in_failure_window), "."));
  }
  rules.push_back(ThrottleRule{ThrottleKind::kSignInIdentity, email.str(),
                               policy.max_failed_sign_ins,
                               policy.sign_in_failure_window});
  if (!client_address.empty()) {
    rules.push_back(ThrottleRule{
        ThrottleKind::kSignInClient,
        absl::AsciiStrToLower(AbslView(client_address)),
        policy.max_failed_sign_ins, policy.sign_in_failure_window});
  }
  return rules;
}

absl::StatusOr<std::optional<ThrottleRule>> MailRule(
    const IdentityPolicy& policy, const Email& to) {
  if (policy.mails_per_address_per_hour < 0 ||
      policy.mails_per_address_per_hour > kMaxLimit) {
    return InvalidPolicy(absl::StrCat(
        "IdentityPolicy::mails_per_address_per_hour must be 0 to ", kMaxLimit,
        "; it is ", policy.mails_per_address_per_hour, "."));
  }
  if (policy.mails_per_address_per_hour == 0) return std::nullopt;
  return ThrottleRule{ThrottleKind::kMail, to.str(),
                      policy.mails_per_address_per_hour, kMailWindow};
}

absl::StatusOr<std::optional<absl::Time>> CountUnlessFull(
    Transaction& tx, absl::Time now, const std::vector<ThrottleRule>& rules) {
  if (rules.empty()) return std::nullopt;
  ENTITLE_RETURN_IF_ERROR(Prune(tx, now));
  std::vector<std::pair<bool, std::vector<absl::Time>>> counted;
  std::optional<absl::Time> blocked_until;
  for (const ThrottleRule& rule : rules) {
    ENTITLE_ASSIGN_OR_RETURN(std::optional<ThrottleRecord> record,
                             Load(tx, rule));
    std::vector<absl::Time> events = Counting(record, rule, now);
    if (events.size() >= static_cast<size_t>(rule.limit)) {
      // Full: room again once the oldest of the newest `limit` events is
      // out of the window.
      const absl::Time until = events.front() + rule.window;
      if (!blocked_until.has_value() || until > *blocked_until) {
        blocked_until = until;
      }
    }
    counted.emplace_back(record.has_value(), std::move(events));
  }
  if (blocked_until.has_value()) return blocked_until;
  for (size_t i = 0; i < rules.size(); ++i) {
    std::vector<absl::Time>& events = counted[i].second;
    events.push_back(now);
    std::sort(events.begin(), events.end());
    if (events.size() > static_cast<size_t>(rules[i].limit)) {
      events.erase(events.begin());
    }
    ENTITLE_RETURN_IF_ERROR(
        Store(tx, rules[i], counted[i].first, std::move(events)));
  }
  return std::nullopt;
}

absl::Status Uncount(Transaction& tx, const ThrottleRule& rule, absl::Time at) {
  ENTITLE_ASSIGN_OR_RETURN(std::optional<ThrottleRecord> record,
                           Load(tx, rule));
  if (!record.has_value()) return absl::OkStatus();
  std::vector<absl::Time> events = record->events;
  const auto it = std::find(events.begin(), events.end(), at);
  if (it == events.end()) return absl::OkStatus();
  events.erase(it);
  return Store(tx, rule, true, std::move(events));
}

absl::Status Clear(Transaction& tx, const ThrottleRule& rule) {
  absl::Status status = tx.throttles().Delete(KeyOf(rule));
  if (GetReason(status) == Reason::kNotFound) return absl::OkStatus();
  return status;
}

std::string RetryTime(absl::Time t) {
  const absl::Time rounded =
      absl::UnixEpoch() + absl::Ceil(t - absl::UnixEpoch(), absl::Seconds(1));
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", rounded,
                          absl::UTCTimeZone());
}

}  // namespace entitle::internal
