// The entry point: a `Directory` binds the services to a store and the host's
// ports.
//
//   entitle::SqliteStore store = ...;
//   entitle::Directory directory(*store);          // default ports
//   auto id = directory.identities().Register(entitle::Actor::Anonymous(),
//                                             "anna@example.com");
//
// Ownership: the store and every port passed in `DirectoryOptions` are the
// host's and must outlive the directory. Ports left unset get defaults owned by
// the directory: the system clock, an `InMemoryNotifier`, an
// `InMemoryEventSink`, an Argon2id hasher at libsodium's interactive level,
// libsodium's CSPRNG.
//
// Thread-safe: the services may be used from any number of threads at once.
#ifndef ENTITLE_DIRECTORY_H_
#define ENTITLE_DIRECTORY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "entitle/clock.h"
#include "entitle/events.h"
#include "entitle/identities.h"
#include "entitle/invitations.h"
#include "entitle/licenses.h"
#include "entitle/notifier.h"
#include "entitle/organizations.h"
#include "entitle/password_hasher.h"
#include "entitle/projects.h"
#include "entitle/random.h"
#include "entitle/store.h"
#include "entitle/user_lists.h"

namespace entitle {
namespace internal {
class SeatRegistry;
}

struct IdentityPolicy {
  absl::Duration verification_link_lifetime = absl::Hours(7 * 24);
  absl::Duration password_reset_link_lifetime = absl::Hours(24);
  absl::Duration email_change_link_lifetime = absl::Hours(7 * 24);
  // ID-9: how long a device keeps offline access after its last check.
  absl::Duration offline_grace = absl::Hours(7 * 24);
  // ID-8: the languages the host's services offer (BCP 47, compared
  // case-insensitively). "en" is always supported.
  std::vector<std::string> supported_languages = {
      "en", "cs", "da", "de", "es", "fi", "fr", "hu", "it", "ja",
      "ko", "nl", "no", "pl", "pt", "pt-BR", "ru", "sv", "tr", "zh-CN", "zh-TW"};
};

struct OrganizationPolicy {
  // INV-2, INV-3: how long an invitation link stays valid.
  absl::Duration invitation_lifetime = absl::Hours(7 * 24);
  // ORG-9: public mail domains, which no organization may claim. Hosts may
  // add their own.
  std::vector<std::string> public_mail_domains = {
      "gmail.com",     "googlemail.com", "yahoo.com",    "ymail.com",
      "outlook.com",   "hotmail.com",    "live.com",     "msn.com",
      "icloud.com",    "me.com",         "mac.com",      "aol.com",
      "gmx.com",       "gmx.de",         "gmx.net",      "web.de",
      "mail.com",      "mail.ru",        "yandex.ru",    "yandex.com",
      "protonmail.com", "proton.me",     "zoho.com",     "qq.com",
      "163.com",       "126.com",        "naver.com",    "hanmail.net"};
};

struct LicensePolicy {
  // ENT-4: a seat without a heartbeat for this long is released.
  absl::Duration seat_lease = absl::Hours(3);
  // ENT-9: entitlements ending within this many days are reported.
  int expiry_warning_days = 30;
  // The most time a change made by another process on the same store takes
  // to reach the checkout path (the store's change stamp is read at most
  // this often; zero reads it on every checkout).
  absl::Duration external_change_delay = absl::Seconds(2);
  // ENT-12: the length of one recorded usage window.
  absl::Duration usage_window = absl::Hours(1);
  // ID-9: how often CheckAccess writes a device's successful check.
  absl::Duration device_check_interval = absl::Hours(1);
};

struct ProjectPolicy {
  // PRJ-2: the regions projects may be hosted in (compared exactly).
  std::vector<std::string> regions = {"us", "eu", "ap"};
};

struct DirectoryOptions {
  const Clock* clock = nullptr;
  Notifier* notifier = nullptr;
  EventSink* events = nullptr;
  const PasswordHasher* hasher = nullptr;
  Random* random = nullptr;
  IdentityPolicy identity_policy;
  OrganizationPolicy organization_policy;
  LicensePolicy license_policy;
  ProjectPolicy project_policy;
};

class Directory {
 public:
  explicit Directory(Store& store, DirectoryOptions options = {});
  ~Directory();
  Directory(const Directory&) = delete;
  Directory& operator=(const Directory&) = delete;

  Identities& identities();
  Organizations& organizations();
  Invitations& invitations();
  Licenses& licenses();
  Projects& projects();
  UserLists& user_lists();

  // The notifier the directory made because none was given; nullptr when the
  // host supplied one.
  InMemoryNotifier* default_notifier();
  // Likewise for the event sink.
  InMemoryEventSink* default_events();

 private:
  struct Defaults;
  std::unique_ptr<Defaults> defaults_;
  bool owns_notifier_ = true;
  bool owns_events_ = true;
  std::unique_ptr<internal::ServiceContext> context_;
  std::unique_ptr<internal::SeatRegistry> seats_;
  std::unique_ptr<Identities> identities_;
  std::unique_ptr<Organizations> organizations_;
  std::unique_ptr<Invitations> invitations_;
  std::unique_ptr<Licenses> licenses_;
  std::unique_ptr<Projects> projects_;
  std::unique_ptr<UserLists> user_lists_;
};

}  // namespace entitle

#endif  // ENTITLE_DIRECTORY_H_
