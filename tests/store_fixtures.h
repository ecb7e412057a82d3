// Backend fixtures and record helpers shared by every store-facing test.
//
// A templated test runs once per backend:
//
//   TEMPLATE_TEST_CASE("...", "[store]", ENTITLE_BACKENDS) {
//     TestType backend;
//     auto store = backend.Open();
//     ...
//   }
//
// Each fixture instance owns a fresh, empty store location: MemoryBackend hands
// out a new MemoryStore from every Open(); SqliteBackend makes its own temporary
// directory (removed in its destructor) and Open() opens, or reopens, the same
// `store.db` in it, so a test can close the store and look at the file again.
#ifndef ENTITLE_TESTS_STORE_FIXTURES_H_
#define ENTITLE_TESTS_STORE_FIXTURES_H_

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "entitle/email.h"
#include "entitle/memory_store.h"
#include "entitle/records.h"
#include "entitle/sqlite_store.h"
#include "entitle/status.h"
#include "entitle/store.h"

namespace entitle_test {

// ------------------------------------------------------------ status checks

inline absl::Status ToStatus(const absl::Status& s) { return s; }
template <typename T>
absl::Status ToStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

}  // namespace entitle_test

// REQUIREs that a Status / StatusOr is OK, printing the status when it is not.
#define ENTITLE_REQUIRE_OK(expr)                                     \
  do {                                                               \
    const ::absl::Status entitle_s_ = ::entitle_test::ToStatus(expr); \
    INFO("status: " << entitle_s_.ToString());                       \
    REQUIRE(entitle_s_.ok());                                        \
  } while (0)

// REQUIREs that a Status / StatusOr failed with `code` and `reason`.
#define ENTITLE_REQUIRE_REFUSED(expr, expected_code, expected_reason)     \
  do {                                                                   \
    const ::absl::Status entitle_s_ = ::entitle_test::ToStatus(expr);     \
    INFO("status: " << entitle_s_.ToString());                           \
    INFO("expected reason: " << ::entitle::ReasonName(expected_reason)); \
    REQUIRE(entitle_s_.code() == (expected_code));                       \
    REQUIRE(static_cast<int>(::entitle::GetReason(entitle_s_)) ==        \
            static_cast<int>(expected_reason));                          \
  } while (0)

namespace entitle_test {

// ------------------------------------------------------------------ backends

struct MemoryBackend {
  static constexpr const char* kName = "memory";
  static constexpr bool Reopenable() { return false; }

  // A new, empty MemoryStore on every call.
  std::unique_ptr<entitle::Store> Open() {
    return std::make_unique<entitle::MemoryStore>();
  }
};

struct SqliteBackend {
  static constexpr const char* kName = "sqlite";
  static constexpr bool Reopenable() { return true; }

  SqliteBackend() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "entitle-test-XXXXXX")
            .string();
    char* made = ::mkdtemp(tmpl.data());
    REQUIRE(made != nullptr);
    dir_ = made;
    path_ = (std::filesystem::path(dir_) / "store.db").string();
  }
  ~SqliteBackend() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  SqliteBackend(const SqliteBackend&) = delete;
  SqliteBackend& operator=(const SqliteBackend&) = delete;

  // Opens (creating on first use) the SqliteStore at path(). REQUIREs success.
  std::unique_ptr<entitle::SqliteStore> OpenSqlite(
      const entitle::SqliteOptions& options = {}) {
    auto store = entitle::SqliteStore::Open(path_, options);
    ENTITLE_REQUIRE_OK(store);
    return std::move(*store);
  }
  std::unique_ptr<entitle::Store> Open() { return OpenSqlite(); }

  // The database file.
  std::string path() const { return path_; }
  // The temporary directory holding it (and the WAL files).
  std::string dir() const { return dir_; }

 private:
  std::string dir_;
  std::string path_;
};

}  // namespace entitle_test

#define ENTITLE_BACKENDS \
  ::entitle_test::MemoryBackend, ::entitle_test::SqliteBackend

namespace entitle_test {

// -------------------------------------------------------------- transactions

inline std::unique_ptr<entitle::Transaction> Begin(
    entitle::Store& store, entitle::TransactionMode mode) {
  auto txn = store.Begin(mode);
  ENTITLE_REQUIRE_OK(txn);
  return std::move(*txn);
}
inline std::unique_ptr<entitle::Transaction> BeginWrite(entitle::Store& store) {
  return Begin(store, entitle::TransactionMode::kWrite);
}
inline std::unique_ptr<entitle::Transaction> BeginRead(entitle::Store& store) {
  return Begin(store, entitle::TransactionMode::kRead);
}
inline void MustCommit(entitle::Transaction& txn) {
  ENTITLE_REQUIRE_OK(txn.Commit());
}

// The table of kind `R` in `txn`, so generic helpers can name a table by type.
template <typename R>
entitle::Table<R>& TableOf(entitle::Transaction& txn) {
  using namespace entitle;
  if constexpr (std::is_same_v<R, IdentityRecord>) return txn.identities();
  else if constexpr (std::is_same_v<R, OrganizationRecord>) return txn.organizations();
  else if constexpr (std::is_same_v<R, MembershipRecord>) return txn.memberships();
  else if constexpr (std::is_same_v<R, RoleRecord>) return txn.roles();
  else if constexpr (std::is_same_v<R, RoleGrantRecord>) return txn.role_grants();
  else if constexpr (std::is_same_v<R, GroupRecord>) return txn.groups();
  else if constexpr (std::is_same_v<R, GroupMemberRecord>) return txn.group_members();
  else if constexpr (std::is_same_v<R, DomainRecord>) return txn.domains();
  else if constexpr (std::is_same_v<R, InvitationRecord>) return txn.invitations();
  else if constexpr (std::is_same_v<R, RequestLinkRecord>) return txn.request_links();
  else if constexpr (std::is_same_v<R, JoinRequestRecord>) return txn.join_requests();
  else if constexpr (std::is_same_v<R, EntitlementRecord>) return txn.entitlements();
  else if constexpr (std::is_same_v<R, LicenseAssignmentRecord>) return txn.license_assignments();
  else if constexpr (std::is_same_v<R, PoolGrantRecord>) return txn.pool_grants();
  else if constexpr (std::is_same_v<R, ProjectRecord>) return txn.projects();
  else if constexpr (std::is_same_v<R, ProjectMemberRecord>) return txn.project_members();
  else if constexpr (std::is_same_v<R, JobRecord>) return txn.jobs();
  else if constexpr (std::is_same_v<R, AuditRecord>) return txn.audit();
  else if constexpr (std::is_same_v<R, OutboxRecord>) return txn.outbox();
  else if constexpr (std::is_same_v<R, LinkTokenRecord>) return txn.link_tokens();
  else if constexpr (std::is_same_v<R, PoolUsageRecord>) return txn.pool_usage();
  else {
    static_assert(std::is_same_v<R, DeviceCheckRecord>, "unknown record kind");
    return txn.device_checks();
  }
}

// True for kinds whose key is a store-assigned id.
template <typename R>
inline constexpr bool kHasId = requires(R r) { r.id.value(); };

// The key of `record` (its id for id kinds, the linked ids otherwise).
template <typename R>
typename R::Key KeyOf(const R& r) {
  using namespace entitle;
  if constexpr (kHasId<R>) return r.id;
  else if constexpr (std::is_same_v<R, MembershipRecord>)
    return MembershipKey{r.organization_id, r.identity_id};
  else if constexpr (std::is_same_v<R, RoleGrantRecord>)
    return RoleGrantKey{r.organization_id, r.identity_id, r.role_id};
  else if constexpr (std::is_same_v<R, GroupMemberRecord>)
    return GroupMemberKey{r.group_id, r.identity_id};
  else if constexpr (std::is_same_v<R, LicenseAssignmentRecord>)
    return LicenseAssignmentKey{r.entitlement_id, r.identity_id};
  else if constexpr (std::is_same_v<R, ProjectMemberRecord>)
    return ProjectMemberKey{r.project_id, r.identity_id};
  else if constexpr (std::is_same_v<R, PoolUsageRecord>)
    return PoolUsageKey{r.entitlement_id, r.window_start};
  else {
    static_assert(std::is_same_v<R, DeviceCheckRecord>, "unknown key kind");
    return DeviceCheckKey{r.identity_id, r.device_id};
  }
}

// Inserts `record` into `table`, REQUIREs success and returns the key.
template <typename R>
typename R::Key MustInsert(entitle::Table<R>& table, const R& record) {
  auto key = table.Insert(record);
  ENTITLE_REQUIRE_OK(key);
  return *key;
}

// Every record of `table` matching `filter`, in key order (pages through).
template <typename R>
std::vector<R> ListAll(entitle::Table<R>& table,
                       const typename R::Filter& filter = {}) {
  std::vector<R> all;
  entitle::PageRequest page;
  page.limit = entitle::PageRequest::kMaxPageLimit;
  for (;;) {
    auto got = table.List(filter, page);
    ENTITLE_REQUIRE_OK(got);
    all.insert(all.end(), got->items.begin(), got->items.end());
    if (!got->has_more) break;
    page.offset += page.limit;
  }
  return all;
}

template <typename R>
int64_t MustCount(entitle::Table<R>& table,
                  const typename R::Filter& filter = {}) {
  auto n = table.Count(filter);
  ENTITLE_REQUIRE_OK(n);
  return *n;
}

// ------------------------------------------------------------ value helpers

// Parses `text` as an Email, failing the test when it is not one.
inline entitle::Email E(std::string_view text) {
  auto email = entitle::Email::Parse(absl::string_view(text.data(), text.size()));
  INFO("email: " << text);
  ENTITLE_REQUIRE_OK(email);
  return *email;
}

// 2026-01-01T00:00:00Z, the FakeClock's default start.
inline const absl::Time kT0 = absl::FromUnixSeconds(1767225600);
// kT0 plus `micros` microseconds: times with sub-second precision.
inline absl::Time At(int64_t micros) {
  return kT0 + absl::Microseconds(micros);
}

// Raw token-hash bytes, including a NUL and 0xFF, distinct per `n`.
// Every hash starts with the same bytes up to the NUL and differs only after
// it, so a backend that treats them as C strings sees them all as equal.
inline std::string TokenHash(int n) {
  std::string h(32, '\0');
  h[0] = 'h';
  h[1] = static_cast<char>(0xFF);
  h[2] = '\0';  // Everything before here is the same for every n.
  h[3] = static_cast<char>(0xFF);
  h[4] = static_cast<char>(n & 0xFF);
  h[5] = static_cast<char>((n >> 8) & 0xFF);
  for (int i = 6; i < 32; ++i) h[i] = static_cast<char>((n * 31 + i * 7) & 0xFF);
  h[31] = '\0';  // And one at the end.
  return h;
}

// -------------------------------------------------- valid records, defaults

inline entitle::IdentityRecord MakeIdentity(std::string_view email) {
  entitle::IdentityRecord r;
  r.email = E(email);
  r.display_name = "Test User";
  r.created_at = At(1);
  return r;
}

inline entitle::OrganizationRecord MakeOrganization(std::string_view name) {
  entitle::OrganizationRecord r;
  r.name = std::string(name);
  r.created_at = At(2);
  return r;
}

inline entitle::MembershipRecord MakeMembership(
    entitle::OrganizationId org, entitle::IdentityId identity,
    entitle::MembershipKind kind = entitle::MembershipKind::kExternal) {
  entitle::MembershipRecord r;
  r.organization_id = org;
  r.identity_id = identity;
  r.kind = kind;
  r.created_at = At(3);
  return r;
}

inline entitle::RoleRecord MakeRole(entitle::OrganizationId org,
                                    std::string_view name,
                                    uint32_t permissions = entitle::kViewUsage) {
  entitle::RoleRecord r;
  r.organization_id = org;
  r.name = std::string(name);
  r.permissions = permissions;
  return r;
}

inline entitle::RoleGrantRecord MakeRoleGrant(entitle::OrganizationId org,
                                              entitle::IdentityId identity,
                                              entitle::RoleId role) {
  entitle::RoleGrantRecord r;
  r.organization_id = org;
  r.identity_id = identity;
  r.role_id = role;
  r.granted_at = At(4);
  return r;
}

inline entitle::GroupRecord MakeGroup(entitle::OrganizationId org,
                                      std::string_view name) {
  entitle::GroupRecord r;
  r.organization_id = org;
  r.name = std::string(name);
  r.created_at = At(5);
  return r;
}

inline entitle::GroupMemberRecord MakeGroupMember(entitle::GroupId group,
                                                  entitle::IdentityId identity) {
  entitle::GroupMemberRecord r;
  r.group_id = group;
  r.identity_id = identity;
  r.added_at = At(6);
  return r;
}

inline entitle::DomainRecord MakeDomain(
    entitle::OrganizationId org, std::string_view name,
    entitle::DomainStatus status = entitle::DomainStatus::kPending) {
  entitle::DomainRecord r;
  r.organization_id = org;
  r.name = std::string(name);
  r.status = status;
  r.created_at = At(7);
  if (status == entitle::DomainStatus::kVerified) r.verified_at = At(8);
  return r;
}

inline entitle::InvitationRecord MakeInvitation(entitle::OrganizationId org,
                                                std::string_view email,
                                                std::string token_hash) {
  entitle::InvitationRecord r;
  r.organization_id = org;
  r.email = E(email);
  r.token_hash = std::move(token_hash);
  r.created_at = At(9);
  r.expires_at = At(9) + absl::Hours(24 * 7);
  return r;
}

inline entitle::RequestLinkRecord MakeRequestLink(entitle::OrganizationId org,
                                                  std::string token_hash) {
  entitle::RequestLinkRecord r;
  r.organization_id = org;
  r.token_hash = std::move(token_hash);
  r.created_at = At(10);
  return r;
}

inline entitle::JoinRequestRecord MakeJoinRequest(entitle::OrganizationId org,
                                                  entitle::IdentityId identity) {
  entitle::JoinRequestRecord r;
  r.organization_id = org;
  r.identity_id = identity;
  r.created_at = At(11);
  return r;
}

inline entitle::EntitlementRecord MakeEntitlement(entitle::OrganizationId org,
                                                  std::string_view sku = "CAD-PRO",
                                                  int64_t seats = 5) {
  entitle::EntitlementRecord r;
  r.organization_id = org;
  r.sku = std::string(sku);
  r.seats = seats;
  r.period_start = kT0;
  r.period_end = kT0 + absl::Hours(24 * 365);
  r.created_at = At(12);
  return r;
}

inline entitle::LicenseAssignmentRecord MakeAssignment(
    entitle::EntitlementId entitlement, entitle::IdentityId identity) {
  entitle::LicenseAssignmentRecord r;
  r.entitlement_id = entitlement;
  r.identity_id = identity;
  r.assigned_at = At(13);
  return r;
}

inline entitle::PoolGrantRecord MakePoolGrant(entitle::EntitlementId entitlement,
                                              entitle::IdentityId identity) {
  entitle::PoolGrantRecord r;
  r.entitlement_id = entitlement;
  r.identity_id = identity;
  r.granted_at = At(14);
  return r;
}

inline entitle::PoolGrantRecord MakeGroupPoolGrant(
    entitle::EntitlementId entitlement, entitle::GroupId group) {
  entitle::PoolGrantRecord r;
  r.entitlement_id = entitlement;
  r.group_id = group;
  r.granted_at = At(14);
  return r;
}

inline entitle::ProjectRecord MakeProject(entitle::OrganizationId org,
                                          entitle::EntitlementId entitlement,
                                          std::string_view name = "Bridge") {
  entitle::ProjectRecord r;
  r.organization_id = org;
  r.entitlement_id = entitlement;
  r.name = std::string(name);
  r.region = "eu";
  r.created_at = At(15);
  return r;
}

inline entitle::ProjectMemberRecord MakeProjectMember(
    entitle::OrganizationId org, entitle::ProjectId project,
    entitle::IdentityId identity,
    entitle::ProjectRole role = entitle::ProjectRole::kUser) {
  entitle::ProjectMemberRecord r;
  r.project_id = project;
  r.identity_id = identity;
  r.organization_id = org;
  r.role = role;
  r.added_at = At(16);
  return r;
}

inline entitle::JobRecord MakeJob(entitle::OrganizationId org) {
  entitle::JobRecord r;
  r.organization_id = org;
  r.kind = "project-members.batch";
  r.request = R"({"projects":[]})";
  r.created_at = At(17);
  return r;
}

inline entitle::AuditRecord MakeAudit(std::string_view action,
                                      absl::Time at = At(18)) {
  entitle::AuditRecord r;
  r.at = at;
  r.action = std::string(action);
  r.target = "identity#1";
  r.outcome = "ok";
  return r;
}

inline entitle::OutboxRecord MakeOutbox(std::string_view recipient) {
  entitle::OutboxRecord r;
  r.created_at = At(19);
  r.recipient = E(recipient);
  r.template_name = "invitation";
  r.subject = "You are invited";
  return r;
}

inline entitle::DeviceCheckRecord MakeDeviceCheck(entitle::IdentityId identity,
                                                  std::string device) {
  entitle::DeviceCheckRecord r;
  r.identity_id = identity;
  r.device_id = entitle::DeviceId(std::move(device));
  r.checked_at = At(23);
  return r;
}

inline entitle::LinkTokenRecord MakeLinkToken(entitle::IdentityId identity,
                                              std::string token_hash) {
  entitle::LinkTokenRecord r;
  r.identity_id = identity;
  r.token_hash = std::move(token_hash);
  r.created_at = At(20);
  r.expires_at = At(20) + absl::Hours(24);
  return r;
}

}  // namespace entitle_test

#endif  // ENTITLE_TESTS_STORE_FIXTURES_H_
