#include "entitle/directory.h"

#include "licenses/seat_registry.h"
#include "service/service_context.h"

namespace entitle {

struct Directory::Defaults {
  InMemoryNotifier notifier;
  InMemoryEventSink events;
  Argon2idHasher hasher;
  DnsDomainVerifier domain_verifier;
};

Directory::Directory(Store& store, DirectoryOptions options)
    : defaults_(std::make_unique<Defaults>()) {
  context_.reset(new internal::ServiceContext{
      .store = store,
      .clock = options.clock != nullptr ? *options.clock : SystemClock::Get(),
      .notifier =
          options.notifier != nullptr ? *options.notifier : defaults_->notifier,
      .events = options.events != nullptr ? *options.events : defaults_->events,
      .hasher = options.hasher != nullptr ? *options.hasher : defaults_->hasher,
      .random =
          options.random != nullptr ? *options.random : SodiumRandom::Get(),
      .domain_verifier = options.domain_verifier != nullptr
                             ? *options.domain_verifier
                             : defaults_->domain_verifier,
      .identity_policy = std::move(options.identity_policy),
      .organization_policy = std::move(options.organization_policy),
      .license_policy = std::move(options.license_policy),
      .project_policy = std::move(options.project_policy)});
  seats_ = std::make_unique<internal::SeatRegistry>(*context_);
  context_->seats = seats_.get();
  owns_notifier_ = options.notifier == nullptr;
  owns_events_ = options.events == nullptr;
  // `new`, not make_unique: the services' constructors are private to us.
  identities_.reset(new Identities(*context_));
  organizations_.reset(new Organizations(*context_));
  invitations_.reset(new Invitations(*context_));
  licenses_.reset(new Licenses(*context_));
  projects_.reset(new Projects(*context_));
  user_lists_.reset(new UserLists(*context_));
}

absl::StatusOr<std::unique_ptr<Directory>> Directory::Create(
    Store& store, DirectoryOptions options) {
  auto directory = std::make_unique<Directory>(store, std::move(options));
  if (!directory->seats_->lease_status().ok()) {
    return directory->seats_->lease_status();
  }
  return directory;
}

Directory::~Directory() = default;

Identities& Directory::identities() { return *identities_; }
Organizations& Directory::organizations() { return *organizations_; }
Invitations& Directory::invitations() { return *invitations_; }
Licenses& Directory::licenses() { return *licenses_; }
Projects& Directory::projects() { return *projects_; }
UserLists& Directory::user_lists() { return *user_lists_; }

InMemoryEventSink* Directory::default_events() {
  return owns_events_ ? &defaults_->events : nullptr;
}

InMemoryNotifier* Directory::default_notifier() {
  return owns_notifier_ ? &defaults_->notifier : nullptr;
}

}  // namespace entitle
