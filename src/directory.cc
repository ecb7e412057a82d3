#include "entitle/directory.h"

#include "service_context.h"

namespace entitle {

struct Directory::Defaults {
  InMemoryNotifier notifier;
  Argon2idHasher hasher;
};

Directory::Directory(Store& store, DirectoryOptions options)
    : defaults_(std::make_unique<Defaults>()) {
  context_.reset(new internal::ServiceContext{
      .store = store,
      .clock = options.clock != nullptr ? *options.clock : SystemClock::Get(),
      .notifier = options.notifier != nullptr ? *options.notifier
                                              : defaults_->notifier,
      .hasher = options.hasher != nullptr ? *options.hasher : defaults_->hasher,
      .random = options.random != nullptr ? *options.random
                                          : SodiumRandom::Get(),
      .identity_policy = std::move(options.identity_policy)});
  if (options.notifier != nullptr) owns_notifier_ = false;
  identities_ = std::make_unique<Identities>(*context_);
}

Directory::~Directory() = default;

Identities& Directory::identities() { return *identities_; }

InMemoryNotifier* Directory::default_notifier() {
  return owns_notifier_ ? &defaults_->notifier : nullptr;
}

}  // namespace entitle
