// The policies a host sets for a `Directory` (directory.h): link lifetimes,
// languages, public mail domains, seat leases, regions.
//
// Each is a plain value copied into the directory when it is made; changing
// a policy object afterwards has no effect on the directory. Every field below
// states its default, the values it accepts, and what the library does with
// others. Only LicensePolicy::seat_lease is checked when the directory is made
// (Directory::Create refuses it out of bounds); any other value outside its
// bounds is not refused there, and behaves as the field says.
//
// Thread-safety: plain structs without synchronization; a directory reads its
// own copy from any thread.
#ifndef ENTITLE_OPTIONS_H_
#define ENTITLE_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace entitle {

// Identities (identities.h).
struct IdentityPolicy {
  // ID-3: how long an email verification link stays valid after it is sent.
  // Default: 7 days. Should be positive: a link is valid while the time is
  // before its sending time plus this; with zero or less every link is
  // already expired (kLinkExpired) when used.
  absl::Duration verification_link_lifetime = absl::Hours(7 * 24);

  // ID-6: how long a password reset link stays valid. Default: 24 hours.
  // Bounds as verification_link_lifetime.
  absl::Duration password_reset_link_lifetime = absl::Hours(24);

  // ID-7: how long an email change confirmation link stays valid. Default:
  // 7 days. Bounds as verification_link_lifetime.
  absl::Duration email_change_link_lifetime = absl::Hours(7 * 24);

  // ID-9: how long a device keeps offline ("disable mode") access after its
  // last successful access check, also once the identity is locked.
  // Default: 7 days. Should be positive: with zero or less a locked
  // identity's devices have no offline access after the instant of their
  // last check.
  absl::Duration offline_grace = absl::Hours(7 * 24);

  // ID-8: the languages the host's services offer, as BCP 47 tags. An
  // identity's effective language (notifications, IdentityInfo) is its tag
  // when listed, else the tag's primary language when listed, else "en";
  // tags are compared case-insensitively and the entry is reported as
  // spelled here. Default: the 21 tags below. Any list is accepted, empty
  // too; "en" is the fallback whether or not it is listed.
  std::vector<std::string> supported_languages = {
      "en", "cs", "da", "de", "es",    "fi", "fr", "hu", "it",    "ja",   "ko",
      "nl", "no", "pl", "pt", "pt-BR", "ru", "sv", "tr", "zh-CN", "zh-TW"};

  // SEC-10: how many failed sign-ins within `sign_in_failure_window` a
  // sign-in key takes before further attempts are refused
  // (kSignInThrottled), counted apart for the email address asked for and
  // for the client address the host passes (identities.h, SignIn).
  // Default: 5. Accepts 0 to 1000: 0 turns sign-in throttling off (for a
  // host that throttles in front of the library); with any other value
  // SignIn fails with kInvalidArgument and signs no one in.
  int max_failed_sign_ins = 5;

  // SEC-10: the sliding window in which failed sign-ins are counted; a
  // refused key may try again once the oldest counted failure is this old.
  // Default: 15 minutes. Accepts more than zero up to 30 days; with any
  // other value (and max_failed_sign_ins above 0) SignIn fails with
  // kInvalidArgument.
  absl::Duration sign_in_failure_window = absl::Minutes(15);

  // SEC-10: how many link mails (verification, password reset, email change
  // confirmation) go to one address within any hour, whoever asks; the next
  // is refused (kMailLimited) and no link is made. Default: 5. Accepts 0 to
  // 1000: 0 turns the limit off; with any other value every operation that
  // would send such a mail fails with kInvalidArgument.
  int mails_per_address_per_hour = 5;
};

// Organizations and invitations (organizations.h, invitations.h).
struct OrganizationPolicy {
  // INV-2, INV-3: how long an invitation link stays valid after it is sent.
  // Default: 7 days. Should be positive: an invitation is expired once the
  // time reaches its sending time plus this, so with zero or less every
  // invitation is expired when sent.
  absl::Duration invitation_lifetime = absl::Hours(7 * 24);

  // ORG-9: public mail domains, which no organization may claim
  // (ClaimDomain fails with kPublicMailDomain). The claimed domain is
  // trimmed, lower-cased and stripped of a trailing dot, then compared with
  // each entry lower-cased: write entries without spaces or a trailing dot.
  // Only the listed domain itself is refused, not its subdomains. Default:
  // the common free mail providers below; hosts may add their own. Any list
  // is accepted; an empty one refuses no domain.
  std::vector<std::string> public_mail_domains = {
      "gmail.com",      "googlemail.com", "yahoo.com", "ymail.com",
      "outlook.com",    "hotmail.com",    "live.com",  "msn.com",
      "icloud.com",     "me.com",         "mac.com",   "aol.com",
      "gmx.com",        "gmx.de",         "gmx.net",   "web.de",
      "mail.com",       "mail.ru",        "yandex.ru", "yandex.com",
      "protonmail.com", "proton.me",      "zoho.com",  "qq.com",
      "163.com",        "126.com",        "naver.com", "hanmail.net"};
};

// Entitlements and seats (licenses.h).
struct LicensePolicy {
  // ENT-4, SEC-11: a floating seat without a heartbeat for this long is
  // released: it is lost exactly this long after its last checkout or
  // heartbeat, never later, for as long as the directory runs. Default: 3
  // hours. Bounds: a whole number of milliseconds from kMinSeatLease (1 ms)
  // to kMaxSeatLease (366 days) (seat_types.h). Up to 2^29 ms (6 days 5
  // hours) the lease is kept to the millisecond; a longer one may end up to
  // 2^-29 of itself (64 ms at 366 days) early, never late (seat_pool.h,
  // "Times"). Directory::Create refuses any other value with
  // kInvalidArgument; a directory made by its constructor with one refuses
  // every Checkout and Heartbeat instead.
  absl::Duration seat_lease = absl::Hours(3);

  // ENT-9: the days ahead ExpiryWarnings and ExpiryWarningsFor look when the
  // caller gives none: entitlements whose period ends after now and within
  // this many days are reported. Default: 30. Must not be negative: a call
  // that falls back to a negative value fails with kInvalidArgument. Zero
  // reports nothing.
  int expiry_warning_days = 30;

  // The most time a change made by another process on the same store takes
  // to reach the checkout path: the store's change stamp is read at most
  // this often. Default: 2 seconds. Zero or negative reads it on every
  // checkout. Must be finite.
  absl::Duration external_change_delay = absl::Seconds(2);

  // ENT-12: the length of one recorded usage window. RecordUsage keeps one
  // record per pool and window, windows starting at whole multiples of this
  // since the Unix epoch. Default: 1 hour. Should be positive: RecordUsage
  // cuts one-hour windows for zero or less, while Usage still takes the
  // value as given when it picks the windows that overlap its period.
  absl::Duration usage_window = absl::Hours(1);

  // ID-9: how often CheckAccess writes a device's successful check to the
  // store: at most once per identity, device and interval (counted by each
  // directory on its own). The offline grace counts from the last written
  // check (OfflineAccessUntil, other processes), so it may start up to this
  // much earlier than the true last check. Default: 1 hour. Zero or
  // negative writes every successful check.
  absl::Duration device_check_interval = absl::Hours(1);

  // ACT-1 to ACT-4: whether floating seats are written to the store as
  // activations, served by one process at a time (the serving claim) and
  // rebuilt from the store when a serving process starts. False keeps seats
  // in this process's memory only, as a library embedded without a shared
  // store may want: no claim is taken and nothing is written behind the
  // checkout path. Default: true.
  bool persist_activations = true;

  // ACT-2: the longest time an activation change waits in memory before it
  // is written (group commit); a restart loses at most this much. Default:
  // 1 second. Bounds: 1 ms to 1 hour (Directory::Create refuses others).
  absl::Duration activation_flush_interval = absl::Seconds(1);

  // ACT-3: how long a serving claim lasts without being renewed, on a store
  // that cannot tell that its holder died (has_serving_lock() false); the
  // holder renews it at every flush. Default: 30 seconds. Bounds: at least
  // twice activation_flush_interval, at most 1 hour.
  absl::Duration serving_claim_lease = absl::Seconds(30);

  // ACT-3: the name a serving process shows in its claim (with its host and
  // process id), e.g. "entitle-server". 1 to 64 printable ASCII characters.
  // Default: "entitle".
  std::string serving_holder = "entitle";

  // ACT-6: how long an ended activation is kept as a session, and a feed
  // event (ACT-7) in the feed. Default: 400 days. Bounds: 1 day to 3660
  // days.
  absl::Duration session_retention = absl::Hours(24 * 400);
};

// Projects (projects.h).
struct ProjectPolicy {
  // PRJ-2: the regions projects may be created in and jobs submitted to;
  // any other region is refused with kInvalidArgument. Compared exactly
  // (case-sensitive). Removing a region later leaves the projects hosted
  // there reachable through it, but no project or job can be made there.
  // Default: "us", "eu", "ap". Any list is
  // accepted; an empty one refuses every CreateProject and
  // SubmitMemberUpdates.
  std::vector<std::string> regions = {"us", "eu", "ap"};
};

}  // namespace entitle

#endif  // ENTITLE_OPTIONS_H_
