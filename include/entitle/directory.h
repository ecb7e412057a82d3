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
// libsodium's CSPRNG, a `DnsDomainVerifier` asking the system resolver.
//
// Thread-safe: the services may be used from any number of threads at once.
#ifndef ENTITLE_DIRECTORY_H_
#define ENTITLE_DIRECTORY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "entitle/clock.h"
#include "entitle/domain_verifier.h"
#include "entitle/events.h"
#include "entitle/identities.h"
#include "entitle/invitations.h"
#include "entitle/licenses.h"
#include "entitle/notifier.h"
#include "entitle/options.h"
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

// The host's ports and policies for one Directory. Every port is optional:
// null (the default) gives the directory's own, listed above. A port given
// here is borrowed, must outlive the directory, and is called from any thread
// that calls a service (so it must be thread-safe). The policies are copied
// (options.h says each field's default and bounds).
struct DirectoryOptions {
  const Clock* clock = nullptr;            // Default: SystemClock::Get().
  Notifier* notifier = nullptr;            // Default: an InMemoryNotifier.
  EventSink* events = nullptr;             // Default: an InMemoryEventSink.
  const PasswordHasher* hasher = nullptr;  // Default: Argon2idHasher.
  Random* random = nullptr;                // Default: SodiumRandom::Get().
  // SEC-4: how VerifyDomain reads a domain's TXT records. Default: a
  // DnsDomainVerifier with the system resolver and its default timeout.
  DomainVerifier* domain_verifier = nullptr;
  IdentityPolicy identity_policy;
  OrganizationPolicy organization_policy;
  LicensePolicy license_policy;
  ProjectPolicy project_policy;
};

// Owns the services (and the in-memory seat pools behind Licenses) for one
// store. The services it hands out live as long as the directory.
class Directory {
 public:
  // A directory as the constructor makes it, once the policies are checked:
  // fails with kInvalidArgument when LicensePolicy::seat_lease is one a seat
  // pool cannot keep (SEC-11; options.h says the bounds). Does not touch the
  // store.
  static absl::StatusOr<std::unique_ptr<Directory>> Create(
      Store& store, DirectoryOptions options = {});

  // Binds the services to `store` (borrowed; must outlive the directory).
  // Does not touch the store and checks nothing: prefer Create. A directory
  // made here with a seat lease out of bounds refuses every Checkout and
  // Heartbeat (kInvalidArgument) rather than promise a lease it cannot keep.
  explicit Directory(Store& store, DirectoryOptions options = {});
  ~Directory();
  Directory(const Directory&) = delete;
  Directory& operator=(const Directory&) = delete;

  // The services; each reference stays valid for the directory's life.
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
