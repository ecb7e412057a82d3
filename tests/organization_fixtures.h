// A Directory over a fresh store with test ports, shared by the organization
// tests (organizations_test, organizations_model_test,
// authorization_matrix_test).
//
//   TEMPLATE_TEST_CASE("ORG-x ...", "[organizations]", ENTITLE_BACKENDS) {
//     OrgFixture<TestType> f;
//     entitle::IdentityId anna = f.RegisterVerified("anna@acme.com");
//     entitle::OrganizationId acme = f.CreateOrg("Acme", anna);
//     ...
//   }
//
// Like IdentityFixture (identity_fixtures.h, whose Snapshot it reuses), it owns
// the backend, its store, a FakeClock, an InMemoryNotifier and a cheap (still
// real) Argon2id hasher; in addition it passes an InMemoryEventSink and an
// OrganizationPolicy through DirectoryOptions, so tests can read the events
// (ORG-2) and extend the public mail domains (ORG-9).
#ifndef ENTITLE_TESTS_ORGANIZATION_FIXTURES_H_
#define ENTITLE_TESTS_ORGANIZATION_FIXTURES_H_

#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"
#include "entitle/actor.h"
#include "entitle/clock.h"
#include "entitle/directory.h"
#include "entitle/events.h"
#include "entitle/identities.h"
#include "entitle/notifier.h"
#include "entitle/organizations.h"
#include "entitle/password_hasher.h"
#include "entitle/records.h"
#include "entitle/status.h"
#include "entitle/store.h"
#include "identity_fixtures.h"
#include "store_fixtures.h"

// REQUIREs that a Status / StatusOr failed with `reason` (any code).
#ifndef REQUIRE_REASON
#define REQUIRE_REASON(expr, expected_reason)                            \
  do {                                                                   \
    const ::absl::Status entitle_s_ = ::entitle_test::ToStatus(expr);     \
    INFO("status: " << entitle_s_.ToString());                           \
    INFO("expected reason: " << ::entitle::ReasonName(expected_reason)); \
    REQUIRE_FALSE(entitle_s_.ok());                                      \
    REQUIRE(static_cast<int>(::entitle::GetReason(entitle_s_)) ==        \
            static_cast<int>(expected_reason));                          \
  } while (0)
#endif

namespace entitle_test {

inline std::string_view AsView(absl::string_view s) {
  return std::string_view(s.data(), s.size());
}
inline absl::string_view AsAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// The EmployeeOrganizationChanged events among `events`.
inline std::vector<entitle::EmployeeOrganizationChanged> EmployeeChanges(
    const std::vector<entitle::Event>& events) {
  std::vector<entitle::EmployeeOrganizationChanged> out;
  for (const entitle::Event& e : events) {
    if (const auto* c = std::get_if<entitle::EmployeeOrganizationChanged>(&e)) {
      out.push_back(*c);
    }
  }
  return out;
}

template <typename Backend>
class OrgFixture {
 public:
  explicit OrgFixture(entitle::OrganizationPolicy policy = {})
      : store_(backend_.Open()),
        hasher_(entitle::Argon2idParams::MinimumForTests()),
        directory_(*store_, Options(std::move(policy))) {}

  Backend& backend() { return backend_; }
  entitle::Store& store() { return *store_; }
  entitle::FakeClock& clock() { return clock_; }
  entitle::InMemoryNotifier& notifier() { return notifier_; }
  entitle::InMemoryEventSink& events() { return events_; }
  entitle::Directory& directory() { return directory_; }
  entitle::Identities& ids() { return directory_.identities(); }
  entitle::Organizations& orgs() { return directory_.organizations(); }
  Snapshot Snap() { return TakeSnapshot(*store_); }

  // Everything a refused operation must leave alone: every table, every
  // notification and every event.
  struct State {
    Snapshot snapshot;
    size_t sent = 0;
    size_t events = 0;
  };
  State Freeze() {
    return State{Snap(), notifier_.Sent().size(), events_.Events().size()};
  }
  void RequireUnchanged(const State& before) {
    const Snapshot now = Snap();
    INFO("before: " << DescribeSizes(before.snapshot));
    INFO("now:    " << DescribeSizes(now));
    REQUIRE(now == before.snapshot);
    REQUIRE(notifier_.Sent().size() == before.sent);
    REQUIRE(events_.Events().size() == before.events);
  }

  std::vector<entitle::EmployeeOrganizationChanged> Changes() {
    return EmployeeChanges(events_.Events());
  }

  // Registers `email` anonymously and completes the verification with the
  // link the notifier got. Returns the id.
  entitle::IdentityId RegisterVerified(std::string_view email,
                                       const entitle::Profile& profile = {}) {
    auto id = ids().Register(entitle::Actor::Anonymous(), AsAbsl(email), profile);
    ENTITLE_REQUIRE_OK(id);
    std::optional<entitle::Notification> n =
        notifier_.Last(E(email), "verify-email");
    INFO("no verify-email notification to " << email);
    REQUIRE(n.has_value());
    REQUIRE_FALSE(n->token.empty());
    ENTITLE_REQUIRE_OK(ids().CompleteVerification(n->token, kPassword));
    return *id;
  }

  // Inserts an identity directly through the store (unverified unless said).
  entitle::IdentityId InsertIdentity(std::string_view email,
                                     bool verified = false) {
    auto txn = BeginWrite(*store_);
    entitle::IdentityRecord r = MakeIdentity(email);
    r.verified = verified;
    r.created_at = clock_.Now();
    entitle::IdentityId id = MustInsert(txn->identities(), r);
    MustCommit(*txn);
    return id;
  }

  // The operator creates `name` with `admin` as first administrator.
  entitle::OrganizationId CreateOrg(std::string_view name,
                                    entitle::IdentityId admin) {
    auto id = orgs().Create(entitle::Actor::Operator(), AsAbsl(name), admin);
    ENTITLE_REQUIRE_OK(id);
    return *id;
  }

  // The role named `name` of `org`, read through the store.
  entitle::RoleId RoleNamed(entitle::OrganizationId org, std::string_view name) {
    auto txn = BeginRead(*store_);
    entitle::RoleFilter filter;
    filter.organization_id = org;
    filter.name = std::string(name);
    auto roles = ListAll(txn->roles(), filter);
    MustCommit(*txn);
    INFO("role " << name << " of " << org);
    REQUIRE(roles.size() == 1);
    return roles.front().id;
  }
  entitle::RoleId AdminRole(entitle::OrganizationId org) {
    return RoleNamed(org, AsView(entitle::kAdministratorRole));
  }
  entitle::RoleId CoAdminRole(entitle::OrganizationId org) {
    return RoleNamed(org, AsView(entitle::kCoAdministratorRole));
  }

  // The operator claims and verifies `domain` for `org`.
  entitle::DomainId OwnDomain(entitle::OrganizationId org,
                              std::string_view domain) {
    const entitle::Actor op = entitle::Actor::Operator();
    auto claim = orgs().ClaimDomain(op, org, AsAbsl(domain));
    ENTITLE_REQUIRE_OK(claim);
    ENTITLE_REQUIRE_OK(
        orgs().VerifyDomain(op, org, claim->id, claim->verification_token));
    return claim->id;
  }

  // Reads through one store read transaction.
  template <typename R>
  std::vector<R> All(const typename R::Filter& filter = {}) {
    auto txn = BeginRead(*store_);
    auto all = ListAll(TableOf<R>(*txn), filter);
    MustCommit(*txn);
    return all;
  }
  std::optional<entitle::MembershipRecord> Membership(
      entitle::OrganizationId org, entitle::IdentityId identity) {
    auto txn = BeginRead(*store_);
    auto m = txn->memberships().Get(entitle::MembershipKey{org, identity});
    MustCommit(*txn);
    if (!m.ok()) {
      REQUIRE(entitle::GetReason(m.status()) == entitle::Reason::kNotFound);
      return std::nullopt;
    }
    return *m;
  }
  std::vector<entitle::RoleGrantRecord> GrantsOf(entitle::OrganizationId org,
                                                 entitle::IdentityId identity) {
    entitle::RoleGrantFilter filter;
    filter.organization_id = org;
    filter.identity_id = identity;
    return All<entitle::RoleGrantRecord>(filter);
  }

  // Inserts records directly (what the licensing/projects services will one
  // day write).
  template <typename R>
  typename R::Key Insert(const R& record) {
    auto txn = BeginWrite(*store_);
    auto key = MustInsert(TableOf<R>(*txn), record);
    MustCommit(*txn);
    return key;
  }

 private:
  entitle::DirectoryOptions Options(entitle::OrganizationPolicy policy) {
    entitle::DirectoryOptions options;
    options.organization_policy = std::move(policy);
    options.clock = &clock_;
    options.notifier = &notifier_;
    options.events = &events_;
    options.hasher = &hasher_;
    return options;
  }

  Backend backend_;
  std::unique_ptr<entitle::Store> store_;
  entitle::FakeClock clock_;
  entitle::InMemoryNotifier notifier_;
  entitle::InMemoryEventSink events_;
  entitle::Argon2idHasher hasher_;
  entitle::Directory directory_;
};

}  // namespace entitle_test

#endif  // ENTITLE_TESTS_ORGANIZATION_FIXTURES_H_
