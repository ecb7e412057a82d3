// A Directory over a fresh store with test ports, shared by the identity tests.
//
//   TEMPLATE_TEST_CASE("ID-x ...", "[identities]", ENTITLE_BACKENDS) {
//     IdentityFixture<TestType> f;
//     entitle::IdentityId anna = f.RegisterVerified("anna@example.com");
//     ...
//   }
//
// The fixture owns the backend, its store, a FakeClock, an InMemoryNotifier,
// an Argon2id hasher at the cheapest parameters (still real Argon2id) and the
// Directory built on them. Links are read from the notifier, exactly as a host
// would read them from its mail.
#ifndef ENTITLE_TESTS_IDENTITY_FIXTURES_H_
#define ENTITLE_TESTS_IDENTITY_FIXTURES_H_

#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "entitle/actor.h"
#include "entitle/clock.h"
#include "entitle/directory.h"
#include "entitle/identities.h"
#include "entitle/notifier.h"
#include "entitle/password_hasher.h"
#include "entitle/records.h"
#include "entitle/store.h"
#include "store_fixtures.h"

namespace entitle_test {

inline constexpr const char* kPassword = "Secret-pass1";

// Every table of a store, read in one read transaction: two snapshots compare
// equal exactly when nothing was written in between.
struct Snapshot {
  std::vector<entitle::IdentityRecord> identities;
  std::vector<entitle::OrganizationRecord> organizations;
  std::vector<entitle::MembershipRecord> memberships;
  std::vector<entitle::RoleRecord> roles;
  std::vector<entitle::RoleGrantRecord> role_grants;
  std::vector<entitle::GroupRecord> groups;
  std::vector<entitle::GroupMemberRecord> group_members;
  std::vector<entitle::DomainRecord> domains;
  std::vector<entitle::InvitationRecord> invitations;
  std::vector<entitle::RequestLinkRecord> request_links;
  std::vector<entitle::JoinRequestRecord> join_requests;
  std::vector<entitle::EntitlementRecord> entitlements;
  std::vector<entitle::LicenseAssignmentRecord> license_assignments;
  std::vector<entitle::PoolGrantRecord> pool_grants;
  std::vector<entitle::ProjectRecord> projects;
  std::vector<entitle::ProjectMemberRecord> project_members;
  std::vector<entitle::JobRecord> jobs;
  std::vector<entitle::AuditRecord> audit;
  std::vector<entitle::OutboxRecord> outbox;
  std::vector<entitle::LinkTokenRecord> link_tokens;
  std::vector<entitle::DeviceCheckRecord> device_checks;
  std::vector<entitle::PoolUsageRecord> pool_usage;
  bool operator==(const Snapshot&) const = default;
};

inline Snapshot TakeSnapshot(entitle::Store& store) {
  auto txn = BeginRead(store);
  auto& t = *txn;
  Snapshot s{ListAll(t.identities()),    ListAll(t.organizations()),
             ListAll(t.memberships()),   ListAll(t.roles()),
             ListAll(t.role_grants()),   ListAll(t.groups()),
             ListAll(t.group_members()), ListAll(t.domains()),
             ListAll(t.invitations()),   ListAll(t.request_links()),
             ListAll(t.join_requests()), ListAll(t.entitlements()),
             ListAll(t.license_assignments()), ListAll(t.pool_grants()),
             ListAll(t.projects()),      ListAll(t.project_members()),
             ListAll(t.jobs()),          ListAll(t.audit()),
             ListAll(t.outbox()),        ListAll(t.link_tokens()),
             ListAll(t.device_checks()), ListAll(t.pool_usage())};
  MustCommit(t);
  return s;
}

// A short description of how two snapshots differ (table sizes), for INFO.
inline std::string DescribeSizes(const Snapshot& s) {
  std::string out;
  auto add = [&out](const char* name, size_t n) {
    out += std::string(name) + "=" + std::to_string(n) + " ";
  };
  add("identities", s.identities.size());
  add("organizations", s.organizations.size());
  add("memberships", s.memberships.size());
  add("roles", s.roles.size());
  add("role_grants", s.role_grants.size());
  add("groups", s.groups.size());
  add("group_members", s.group_members.size());
  add("invitations", s.invitations.size());
  add("join_requests", s.join_requests.size());
  add("license_assignments", s.license_assignments.size());
  add("pool_grants", s.pool_grants.size());
  add("project_members", s.project_members.size());
  add("audit", s.audit.size());
  add("outbox", s.outbox.size());
  add("link_tokens", s.link_tokens.size());
  add("device_checks", s.device_checks.size());
  add("pool_usage", s.pool_usage.size());
  return out;
}

// An organization with an administrator made directly in the store.
struct AdminSetup {
  entitle::OrganizationId organization;
  entitle::RoleId role;
};

template <typename Backend>
class IdentityFixture {
 public:
  explicit IdentityFixture(entitle::IdentityPolicy policy = {})
      : store_(backend_.Open()),
        hasher_(entitle::Argon2idParams::MinimumForTests()),
        directory_(*store_, Options(std::move(policy))) {}

  Backend& backend() { return backend_; }

  entitle::Store& store() { return *store_; }
  entitle::FakeClock& clock() { return clock_; }
  entitle::InMemoryNotifier& notifier() { return notifier_; }
  entitle::Directory& directory() { return directory_; }
  entitle::Identities& ids() { return directory_.identities(); }
  Snapshot Snap() { return TakeSnapshot(*store_); }

  // The whole state a refused operation must leave alone: every table and
  // every notification sent.
  struct State {
    Snapshot snapshot;
    size_t sent = 0;
  };
  State Freeze() { return State{Snap(), notifier_.Sent().size()}; }
  // REQUIREs that nothing was written and nothing was sent since `before`.
  void RequireUnchanged(const State& before) {
    const Snapshot now = Snap();
    INFO("before: " << DescribeSizes(before.snapshot));
    INFO("now:    " << DescribeSizes(now));
    REQUIRE(now == before.snapshot);
    REQUIRE(notifier_.Sent().size() == before.sent);
  }

  // The newest notification to `email` with `template_name`; REQUIREs one.
  entitle::Notification LastNotification(std::string_view email,
                                         const std::string& template_name) {
    std::optional<entitle::Notification> n =
        notifier_.Last(E(email), template_name);
    INFO("no '" << template_name << "' notification to " << email);
    REQUIRE(n.has_value());
    return *n;
  }

  // The token of the newest `template_name` notification to `email`.
  std::string LastToken(std::string_view email,
                        const std::string& template_name) {
    entitle::Notification n = LastNotification(email, template_name);
    REQUIRE_FALSE(n.token.empty());
    return n.token;
  }

  // Registers `email` (anonymous self-registration), completes the
  // verification with the link it was sent and returns the id.
  entitle::IdentityId RegisterVerified(std::string_view email,
                                       std::string_view password = kPassword,
                                       const entitle::Profile& profile = {}) {
    auto id = ids().Register(entitle::Actor::Anonymous(),
                             absl::string_view(email.data(), email.size()),
                             profile);
    ENTITLE_REQUIRE_OK(id);
    ENTITLE_REQUIRE_OK(ids().CompleteVerification(
        LastToken(email, "verify-email"),
        absl::string_view(password.data(), password.size())));
    return *id;
  }

  // Stands in for the organizations service, which does not exist yet: writes
  // directly through one store write transaction an organization named
  // `org_name`, an ACTIVE EMPLOYEE membership of `identity` in it, a role
  // with `permissions` and the grant of that role to `identity`. Replace with
  // the organizations service's own operations once it exists.
  AdminSetup MakeEmployeeAdmin(std::string_view org_name,
                               entitle::IdentityId identity,
                               uint32_t permissions) {
    auto txn = BeginWrite(*store_);
    AdminSetup setup;
    setup.organization =
        MustInsert(txn->organizations(), MakeOrganization(org_name));
    entitle::MembershipRecord m = MakeMembership(
        setup.organization, identity, entitle::MembershipKind::kEmployee);
    m.status = entitle::MembershipStatus::kActive;
    MustInsert(txn->memberships(), m);
    setup.role = MustInsert(txn->roles(),
                            MakeRole(setup.organization, "Admin", permissions));
    MustInsert(txn->role_grants(),
               MakeRoleGrant(setup.organization, identity, setup.role));
    MustCommit(*txn);
    return setup;
  }

  // Stands in for the organizations service: adds `identity` to
  // `organization` directly through the store.
  void AddMember(entitle::OrganizationId organization,
                 entitle::IdentityId identity, entitle::MembershipKind kind,
                 entitle::MembershipStatus status =
                     entitle::MembershipStatus::kActive) {
    auto txn = BeginWrite(*store_);
    entitle::MembershipRecord m = MakeMembership(organization, identity, kind);
    m.status = status;
    MustInsert(txn->memberships(), m);
    MustCommit(*txn);
  }

  // Stands in for the organizations service: grants `role` directly.
  void Grant(entitle::OrganizationId organization, entitle::IdentityId identity,
             entitle::RoleId role) {
    auto txn = BeginWrite(*store_);
    MustInsert(txn->role_grants(), MakeRoleGrant(organization, identity, role));
    MustCommit(*txn);
  }

  // The raw identity record, read through a store read transaction.
  entitle::IdentityRecord RawIdentity(entitle::IdentityId id) {
    auto txn = BeginRead(*store_);
    auto record = txn->identities().Get(id);
    ENTITLE_REQUIRE_OK(record);
    MustCommit(*txn);
    return *record;
  }

  // Audit records with `action`, oldest first.
  std::vector<entitle::AuditRecord> AuditOf(const std::string& action) {
    auto txn = BeginRead(*store_);
    entitle::AuditFilter filter;
    filter.action = action;
    auto all = ListAll(txn->audit(), filter);
    MustCommit(*txn);
    return all;
  }

 private:
  entitle::DirectoryOptions Options(entitle::IdentityPolicy policy) {
    entitle::DirectoryOptions options;
    options.identity_policy = std::move(policy);
    options.clock = &clock_;
    options.notifier = &notifier_;
    options.hasher = &hasher_;
    return options;
  }

  Backend backend_;
  std::unique_ptr<entitle::Store> store_;
  entitle::FakeClock clock_;
  entitle::InMemoryNotifier notifier_;
  entitle::Argon2idHasher hasher_;
  entitle::Directory directory_;
};

}  // namespace entitle_test

#endif  // ENTITLE_TESTS_IDENTITY_FIXTURES_H_
