// The store conformance suite: every backend (ENTITLE_BACKENDS) must pass it
// unchanged, and a new backend is done when it does.
//
// What it covers, per record kind of records.h (all 23 tables of Transaction):
// insert/get round trip with every field set and with the optional fields
// unset, update, delete, NotFound for a missing key, listing by every Filter
// field, and Count. Then the rules that cut across kinds: uniqueness,
// references, id assignment, rollback, finished and read-only transactions,
// paging, audit time ranges; and, for SqliteStore only, what must hold of the
// file itself.
//
// A backend whose Rollback() (or destruction without Commit) does nothing is
// caught by the TEST_CASE
//   "store: a rolled-back or abandoned write transaction leaves every table as
//   it was"
// which snapshots all 23 tables, writes to many of them, rolls back, and
// compares. (The uniqueness and reference cases also catch a backend that keeps
// half of a refused write.)
#include <sqlite3.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "entitle/ids.h"
#include "entitle/records.h"
#include "entitle/sqlite_store.h"
#include "entitle/status.h"
#include "entitle/store.h"
#include "fixtures/sqlite_schema_file.h"
#include "fixtures/store_fixtures.h"
#include "store/sqlite/migrations.h"

// Filters and page requests are written with designated initializers that name
// only the fields that matter; the others are meant to stay unset.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

// So a failed comparison of ProjectUsers pages shows the rows.
template <>
struct Catch::StringMaker<entitle::ProjectUserCount> {
  static std::string convert(const entitle::ProjectUserCount& user) {
    return "{identity " + std::to_string(user.identity_id.value()) + ": " +
           std::to_string(user.project_count) + "}";
  }
};

namespace entitle_test {
namespace {

using namespace entitle;
using absl::StatusCode;

// ------------------------------------------------------------------ helpers

template <typename R>
void SortByKey(std::vector<R>& v) {
  std::sort(v.begin(), v.end(),
            [](const R& a, const R& b) { return KeyOf(a) < KeyOf(b); });
}

// Inserts `records` in one transaction (for id kinds with a bogus id that the
// store must ignore), then checks Get, the full listing and Count. Returns
// the records as stored (ids filled in).
template <typename R>
std::vector<R> InsertAndReadBack(Store& store, std::vector<R> records) {
  {
    auto txn = BeginWrite(store);
    auto& table = TableOf<R>(*txn);
    for (auto& r : records) {
      if constexpr (kHasId<R>) {
        R in = r;
        in.id = typename R::Key(987654321);  // Ignored by the store.
        auto key = MustInsert(table, in);
        REQUIRE(key.valid());
        REQUIRE(key != typename R::Key(987654321));
        r.id = key;
      } else {
        auto key = MustInsert(table, r);
        REQUIRE(key == KeyOf(r));
      }
    }
    MustCommit(*txn);
  }
  auto txn = BeginRead(store);
  auto& table = TableOf<R>(*txn);
  for (const auto& r : records) {
    auto got = table.Get(KeyOf(r));
    ENTITLE_REQUIRE_OK(got);
    REQUIRE(*got == r);
  }
  std::vector<R> sorted = records;
  SortByKey(sorted);
  REQUIRE(ListAll(table) == sorted);
  REQUIRE(MustCount(table) == static_cast<int64_t>(records.size()));
  MustCommit(*txn);
  return records;
}

template <typename R>
std::vector<R> InsertAndReadBack(Store& store,
                                 std::initializer_list<R> records) {
  return InsertAndReadBack(store, std::vector<R>(records));
}

// REQUIREs that `filter` selects exactly `expected` (Count, full listing in key
// order, and a one-row first page with the right has_more).
template <typename R>
void CheckFilter(Store& store, const typename R::Filter& filter,
                 std::vector<R> expected) {
  SortByKey(expected);
  auto txn = BeginRead(store);
  auto& table = TableOf<R>(*txn);
  REQUIRE(MustCount(table, filter) == static_cast<int64_t>(expected.size()));
  REQUIRE(ListAll(table, filter) == expected);
  PageRequest one;
  one.limit = 1;
  auto page = table.List(filter, one);
  ENTITLE_REQUIRE_OK(page);
  if (expected.empty()) {
    REQUIRE(page->items.empty());
    REQUIRE_FALSE(page->has_more);
  } else {
    REQUIRE(page->items.size() == 1);
    REQUIRE(page->items[0] == expected[0]);
    REQUIRE(page->has_more == (expected.size() > 1));
  }
  MustCommit(*txn);
}

// Updates every record with `mutate(record, index)` (which must keep the key),
// checks the update, deletes them all, and checks NotFound for Get, Update and
// Delete of a missing key. The table must hold only `records`.
template <typename R, typename Mutate>
void CheckUpdateDelete(Store& store, std::vector<R> records, Mutate mutate) {
  REQUIRE_FALSE(records.empty());
  {
    auto txn = BeginWrite(store);
    auto& table = TableOf<R>(*txn);
    for (size_t i = 0; i < records.size(); ++i) {
      const auto key = KeyOf(records[i]);
      mutate(records[i], i);
      REQUIRE(KeyOf(records[i]) == key);
      ENTITLE_REQUIRE_OK(table.Update(records[i]));
      // Visible inside the transaction at once.
      auto got = table.Get(key);
      ENTITLE_REQUIRE_OK(got);
      REQUIRE(*got == records[i]);
    }
    MustCommit(*txn);
  }
  {
    auto txn = BeginRead(store);
    auto& table = TableOf<R>(*txn);
    for (const auto& r : records) {
      auto got = table.Get(KeyOf(r));
      ENTITLE_REQUIRE_OK(got);
      REQUIRE(*got == r);
    }
    MustCommit(*txn);
  }
  {
    auto txn = BeginWrite(store);
    auto& table = TableOf<R>(*txn);
    for (const auto& r : records) {
      ENTITLE_REQUIRE_OK(table.Delete(KeyOf(r)));
      ENTITLE_REQUIRE_REFUSED(table.Get(KeyOf(r)), StatusCode::kNotFound,
                              Reason::kNotFound);
    }
    MustCommit(*txn);
  }
  {
    auto txn = BeginRead(store);
    auto& table = TableOf<R>(*txn);
    for (const auto& r : records) {
      ENTITLE_REQUIRE_REFUSED(table.Get(KeyOf(r)), StatusCode::kNotFound,
                              Reason::kNotFound);
    }
    REQUIRE(MustCount(table) == 0);
    REQUIRE(ListAll(table).empty());
    MustCommit(*txn);
  }
  {
    auto txn = BeginWrite(store);
    auto& table = TableOf<R>(*txn);
    ENTITLE_REQUIRE_REFUSED(table.Update(records[0]), StatusCode::kNotFound,
                            Reason::kNotFound);
    ENTITLE_REQUIRE_REFUSED(table.Delete(KeyOf(records[0])),
                            StatusCode::kNotFound, Reason::kNotFound);
    // An update of a missing record created nothing.
    REQUIRE(MustCount(table) == 0);
    MustCommit(*txn);
  }
}

// Inserts one record and commits; returns its key.
template <typename R>
typename R::Key Put(Store& store, const R& record) {
  auto txn = BeginWrite(store);
  auto key = MustInsert(TableOf<R>(*txn), record);
  MustCommit(*txn);
  return key;
}

// Parents most link-kind tests need.
struct World {
  IdentityId i1, i2, i3;
  OrganizationId o1, o2;
};
World SeedPeople(Store& store) {
  World w;
  auto txn = BeginWrite(store);
  w.i1 = MustInsert(txn->identities(), MakeIdentity("ida@example.com"));
  w.i2 = MustInsert(txn->identities(), MakeIdentity("ivo@example.com"));
  w.i3 = MustInsert(txn->identities(), MakeIdentity("ines@example.org"));
  w.o1 = MustInsert(txn->organizations(), MakeOrganization("Org One"));
  w.o2 = MustInsert(txn->organizations(), MakeOrganization("Org Two"));
  MustCommit(*txn);
  return w;
}

// =============================================== per kind: 23 record kinds

TEMPLATE_TEST_CASE("store: identities round trip, filter, update, delete",
                   "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();

  IdentityRecord a;
  a.email = E("anna@example.com");
  a.pending_email = E("anna.new@example.org");
  a.display_name = "Anna Ångström";
  a.country = "SE";
  a.language = "sv-SE";
  a.verified = true;
  a.locked = true;
  a.profile_complete = true;
  a.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";
  a.federated_subject = "oidc|anna";
  a.created_at = At(123456);
  a.last_login_at = At(987654321);
  IdentityRecord b = MakeIdentity("bob@example.com");  // Optionals unset.
  IdentityRecord c = MakeIdentity("carl@example.net");
  c.pending_email = E("carl2@example.net");
  c.federated_subject = "oidc|carl";

  auto recs = InsertAndReadBack(*store, {a, b, c});
  a = recs[0], b = recs[1], c = recs[2];
  REQUIRE(a.id < b.id);
  REQUIRE(b.id < c.id);

  CheckFilter<IdentityRecord>(*store, {}, {a, b, c});
  CheckFilter<IdentityRecord>(*store, {.email = a.email}, {a});
  CheckFilter<IdentityRecord>(*store, {.email = b.email}, {b});
  CheckFilter<IdentityRecord>(*store, {.email = E("nobody@example.com")}, {});
  // A pending address is not the address.
  CheckFilter<IdentityRecord>(*store, {.email = *a.pending_email}, {});
  CheckFilter<IdentityRecord>(*store, {.pending_email = a.pending_email}, {a});
  CheckFilter<IdentityRecord>(*store, {.federated_subject = "oidc|carl"}, {c});
  CheckFilter<IdentityRecord>(*store, {.federated_subject = ""}, {b});
  CheckFilter<IdentityRecord>(
      *store, {.email = a.email, .federated_subject = "oidc|carl"}, {});

  CheckUpdateDelete(*store, recs, [](IdentityRecord& r, size_t i) {
    r.email = E(i == 0   ? "anna.b@example.com"
                : i == 1 ? "bob.b@example.com"
                         : "carl.b@example.com");
    r.pending_email = r.pending_email
                          ? std::nullopt
                          : std::optional<Email>(E("p@example.com"));
    r.display_name += " (changed)";
    r.country = "FI";
    r.language = "fi";
    r.verified = !r.verified;
    r.locked = !r.locked;
    r.profile_complete = !r.profile_complete;
    r.password_hash = "new-hash";
    r.federated_subject = "";
    r.created_at = At(555555);
    r.last_login_at =
        r.last_login_at ? std::nullopt : std::optional<absl::Time>(At(777777));
  });
}

TEMPLATE_TEST_CASE(
    "store: savepoints undo writes since the mark, nest, and keep the "
    "transaction open",
    "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  auto emails = [&store] {
    auto txn = BeginRead(*store);
    std::vector<std::string> all;
    for (const IdentityRecord& r : ListAll(txn->identities(), {})) {
      all.push_back(r.email.str());
    }
    MustCommit(*txn);
    return all;
  };

  {
    auto txn = BeginWrite(*store);
    MustInsert(txn->identities(), MakeIdentity("a@example.com"));
    ENTITLE_REQUIRE_OK(txn->Savepoint());
    const IdentityId b =
        MustInsert(txn->identities(), MakeIdentity("b@example.com"));
    ENTITLE_REQUIRE_OK(txn->Savepoint());  // nested
    MustInsert(txn->identities(), MakeIdentity("c@example.com"));
    IdentityRecord changed = *txn->identities().Get(b);
    changed.display_name = "changed";
    ENTITLE_REQUIRE_OK(txn->identities().Update(changed));
    ENTITLE_REQUIRE_OK(txn->RollbackToSavepoint());  // drops c and the update
    REQUIRE(txn->identities().Get(b)->display_name == "Test User");
    ENTITLE_REQUIRE_OK(txn->ReleaseSavepoint());  // keeps b
    ENTITLE_REQUIRE_OK(txn->Savepoint());
    ENTITLE_REQUIRE_OK(txn->identities().Delete(b));
    ENTITLE_REQUIRE_OK(txn->RollbackToSavepoint());  // the delete is undone
    // A unique key freed by a rollback can be taken again.
    ENTITLE_REQUIRE_OK(txn->Savepoint());
    MustInsert(txn->identities(), MakeIdentity("c@example.com"));
    ENTITLE_REQUIRE_OK(txn->ReleaseSavepoint());
    // No mark open: refused, and the transaction goes on.
    ENTITLE_REQUIRE_REFUSED(txn->RollbackToSavepoint(),
                            absl::StatusCode::kFailedPrecondition,
                            Reason::kInvalidArgument);
    ENTITLE_REQUIRE_REFUSED(txn->ReleaseSavepoint(),
                            absl::StatusCode::kFailedPrecondition,
                            Reason::kInvalidArgument);
    MustCommit(*txn);
  }
  REQUIRE(emails() == std::vector<std::string>{"a@example.com", "b@example.com",
                                               "c@example.com"});

  // A rollback of the whole transaction drops what savepoints kept.
  {
    auto txn = BeginWrite(*store);
    ENTITLE_REQUIRE_OK(txn->Savepoint());
    MustInsert(txn->identities(), MakeIdentity("d@example.com"));
    ENTITLE_REQUIRE_OK(txn->ReleaseSavepoint());
    txn->Rollback();
    ENTITLE_REQUIRE_REFUSED(txn->Savepoint(),
                            absl::StatusCode::kFailedPrecondition,
                            Reason::kTransactionFinished);
  }
  REQUIRE(emails().size() == 3);

  // A read transaction has no savepoints.
  auto read = BeginRead(*store);
  ENTITLE_REQUIRE_REFUSED(read->Savepoint(),
                          absl::StatusCode::kFailedPrecondition,
                          Reason::kReadOnlyTransaction);
}

TEMPLATE_TEST_CASE("store: organizations round trip, filter, update, delete",
                   "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();

  OrganizationRecord a;
  a.name = "Acme GmbH";
  a.discoverable = true;
  a.auto_approve_domain_joins = true;
  a.federation_provider = "okta";
  a.maintenance_until = At(5000001);
  a.created_at = At(77);
  OrganizationRecord b = MakeOrganization("Beta");
  OrganizationRecord c = MakeOrganization("Gamma");
  c.discoverable = true;
  c.federation_provider = "azure";

  auto recs = InsertAndReadBack(*store, {a, b, c});
  a = recs[0], b = recs[1], c = recs[2];

  CheckFilter<OrganizationRecord>(*store, {.discoverable = true}, {a, c});
  CheckFilter<OrganizationRecord>(*store, {.discoverable = false}, {b});
  CheckFilter<OrganizationRecord>(*store, {.federation_provider = "okta"}, {a});
  CheckFilter<OrganizationRecord>(*store, {.federation_provider = ""}, {b});
  CheckFilter<OrganizationRecord>(
      *store, {.discoverable = true, .federation_provider = "azure"}, {c});
  CheckFilter<OrganizationRecord>(
      *store, {.discoverable = false, .federation_provider = "azure"}, {});

  CheckUpdateDelete(*store, recs, [](OrganizationRecord& r, size_t) {
    r.name += " Renamed";
    r.discoverable = !r.discoverable;
    r.auto_approve_domain_joins = !r.auto_approve_domain_joins;
    r.federation_provider = "google";
    r.maintenance_until = r.maintenance_until
                              ? std::nullopt
                              : std::optional<absl::Time>(At(31415926));
    r.created_at = At(1);
  });
}

TEMPLATE_TEST_CASE("store: memberships round trip, filter, update, delete",
                   "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);

  MembershipRecord a = MakeMembership(w.o1, w.i1, MembershipKind::kEmployee);
  a.created_at = At(1000001);
  MembershipRecord b = MakeMembership(w.o1, w.i2, MembershipKind::kExternal);
  b.status = MembershipStatus::kPendingProfile;
  MembershipRecord c = MakeMembership(w.o2, w.i1, MembershipKind::kExternal);
  MembershipRecord d = MakeMembership(w.o2, w.i3, MembershipKind::kEmployee);

  // Inserted out of key order; listings come back in key order.
  auto recs = InsertAndReadBack(*store, {d, b, c, a});

  CheckFilter<MembershipRecord>(*store, {.organization_id = w.o1}, {a, b});
  CheckFilter<MembershipRecord>(*store, {.identity_id = w.i1}, {a, c});
  CheckFilter<MembershipRecord>(*store, {.kind = MembershipKind::kEmployee},
                                {a, d});
  CheckFilter<MembershipRecord>(
      *store, {.status = MembershipStatus::kPendingProfile}, {b});
  CheckFilter<MembershipRecord>(
      *store, {.organization_id = w.o2, .kind = MembershipKind::kEmployee},
      {d});
  CheckFilter<MembershipRecord>(
      *store, {.organization_id = w.o2, .identity_id = w.i2}, {});

  CheckUpdateDelete(*store, recs, [&](MembershipRecord& r, size_t) {
    r.status = r.status == MembershipStatus::kActive
                   ? MembershipStatus::kPendingProfile
                   : MembershipStatus::kActive;
    r.created_at = At(2222222);
    // i2 has no employee membership, so this upgrade breaks no rule.
    if (r.identity_id == w.i2) r.kind = MembershipKind::kEmployee;
  });
}

TEMPLATE_TEST_CASE("store: roles round trip, filter, update, delete", "[store]",
                   ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);

  RoleRecord a =
      MakeRole(w.o1, "Administrator",
               kManageUsers | kManageAdministrators | kManageLicenses |
                   kManageDomains | kViewUsage | kManageProjects);
  a.built_in = true;
  RoleRecord b = MakeRole(w.o1, "Viewer", kViewUsage);
  RoleRecord c = MakeRole(w.o2, "Administrator", kManageUsers);

  auto recs = InsertAndReadBack(*store, {a, b, c});
  a = recs[0], b = recs[1], c = recs[2];

  CheckFilter<RoleRecord>(*store, {.organization_id = w.o1}, {a, b});
  CheckFilter<RoleRecord>(*store, {.name = "Administrator"}, {a, c});
  CheckFilter<RoleRecord>(
      *store, {.organization_id = w.o2, .name = "Administrator"}, {c});
  CheckFilter<RoleRecord>(*store, {.name = "administrator"}, {});

  CheckUpdateDelete(*store, recs, [](RoleRecord& r, size_t i) {
    r.name = "Renamed " + std::to_string(i);
    r.permissions = r.permissions ^ 0x3Fu;
    r.built_in = !r.built_in;
  });
}

TEMPLATE_TEST_CASE("store: role grants round trip, filter, update, delete",
                   "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);
  RoleId r1, r2, r3;
  {
    auto txn = BeginWrite(*store);
    MustInsert(txn->memberships(), MakeMembership(w.o1, w.i1));
    MustInsert(txn->memberships(), MakeMembership(w.o1, w.i2));
    MustInsert(txn->memberships(), MakeMembership(w.o2, w.i1));
    r1 = MustInsert(txn->roles(), MakeRole(w.o1, "Administrator"));
    r2 = MustInsert(txn->roles(), MakeRole(w.o1, "Co-Administrator"));
    r3 = MustInsert(txn->roles(), MakeRole(w.o2, "Administrator"));
    MustCommit(*txn);
  }
  RoleGrantRecord a = MakeRoleGrant(w.o1, w.i1, r1);
  a.granted_at = At(424242);
  RoleGrantRecord b = MakeRoleGrant(w.o1, w.i1, r2);
  RoleGrantRecord c = MakeRoleGrant(w.o1, w.i2, r1);
  RoleGrantRecord d = MakeRoleGrant(w.o2, w.i1, r3);

  auto recs = InsertAndReadBack(*store, {d, c, b, a});

  CheckFilter<RoleGrantRecord>(*store, {.organization_id = w.o1}, {a, b, c});
  CheckFilter<RoleGrantRecord>(*store, {.identity_id = w.i1}, {a, b, d});
  CheckFilter<RoleGrantRecord>(*store, {.role_id = r1}, {a, c});
  CheckFilter<RoleGrantRecord>(
      *store, {.organization_id = w.o1, .identity_id = w.i2, .role_id = r1},
      {c});
  CheckFilter<RoleGrantRecord>(*store, {.identity_id = w.i3}, {});

  CheckUpdateDelete(*store, recs, [](RoleGrantRecord& r, size_t i) {
    r.granted_at = At(9000000 + static_cast<int64_t>(i));
  });
}

TEMPLATE_TEST_CASE("store: groups round trip, filter, update, delete",
                   "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);

  GroupRecord a = MakeGroup(w.o1, "Engineering");
  a.created_at = At(31337);
  GroupRecord b = MakeGroup(w.o1, "Sales");
  GroupRecord c = MakeGroup(w.o2, "Engineering");

  auto recs = InsertAndReadBack(*store, {a, b, c});
  a = recs[0], b = recs[1], c = recs[2];

  CheckFilter<GroupRecord>(*store, {.organization_id = w.o1}, {a, b});
  CheckFilter<GroupRecord>(*store, {.name = "Engineering"}, {a, c});
  CheckFilter<GroupRecord>(
      *store, {.organization_id = w.o2, .name = "Engineering"}, {c});

  CheckUpdateDelete(*store, recs, [](GroupRecord& r, size_t i) {
    r.name = "Group " + std::to_string(i);
    r.created_at = At(99);
  });
}

TEMPLATE_TEST_CASE("store: group members round trip, filter, update, delete",
                   "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);
  GroupId g1, g2;
  {
    auto txn = BeginWrite(*store);
    g1 = MustInsert(txn->groups(), MakeGroup(w.o1, "Engineering"));
    g2 = MustInsert(txn->groups(), MakeGroup(w.o1, "Sales"));
    MustCommit(*txn);
  }
  GroupMemberRecord a = MakeGroupMember(g1, w.i1);
  a.added_at = At(1234567);
  GroupMemberRecord b = MakeGroupMember(g1, w.i2);
  GroupMemberRecord c = MakeGroupMember(g2, w.i1);

  auto recs = InsertAndReadBack(*store, {c, b, a});

  CheckFilter<GroupMemberRecord>(*store, {.group_id = g1}, {a, b});
  CheckFilter<GroupMemberRecord>(*store, {.identity_id = w.i1}, {a, c});
  CheckFilter<GroupMemberRecord>(*store, {.group_id = g2, .identity_id = w.i1},
                                 {c});
  CheckFilter<GroupMemberRecord>(*store, {.identity_id = w.i3}, {});

  CheckUpdateDelete(*store, recs, [](GroupMemberRecord& r, size_t) {
    r.added_at = At(7654321);
  });
}

TEMPLATE_TEST_CASE("store: domains round trip, filter, update, delete",
                   "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);

  DomainRecord a = MakeDomain(w.o1, "acme.com", DomainStatus::kVerified);
  a.verification_token_hash = TokenHash(1);
  a.created_at = At(111111);
  a.verified_at = At(222222);
  DomainRecord b = MakeDomain(w.o1, "acme.de");   // verified_at unset.
  DomainRecord c = MakeDomain(w.o2, "acme.com");  // Pending beside a verified.

  auto recs = InsertAndReadBack(*store, {a, b, c});
  a = recs[0], b = recs[1], c = recs[2];

  CheckFilter<DomainRecord>(*store, {.organization_id = w.o1}, {a, b});
  CheckFilter<DomainRecord>(*store, {.name = "acme.com"}, {a, c});
  CheckFilter<DomainRecord>(*store, {.status = DomainStatus::kVerified}, {a});
  CheckFilter<DomainRecord>(*store, {.status = DomainStatus::kPending}, {b, c});
  CheckFilter<DomainRecord>(*store,
                            {.organization_id = w.o2, .name = "acme.com"}, {c});

  CheckUpdateDelete(*store, recs, [](DomainRecord& r, size_t i) {
    if (i == 0) {
      r.status = DomainStatus::kPending;
      r.verified_at.reset();
    } else if (i == 1) {
      r.status = DomainStatus::kVerified;
      r.verified_at = At(333333);
    }
    r.verification_token_hash = TokenHash(100 + static_cast<int>(i));
    r.created_at = At(4);
  });
}

TEMPLATE_TEST_CASE("store: invitations round trip, filter, update, delete",
                   "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);
  GroupId g1 = Put(*store, MakeGroup(w.o1, "Engineering"));

  InvitationRecord a = MakeInvitation(w.o1, "x@example.com", TokenHash(1));
  a.kind = InvitationKind::kGroup;
  a.group_id = g1;
  a.invited_by = w.i1;
  a.created_at = At(100001);
  a.expires_at = At(100001) + absl::Hours(168);
  a.decided_at = At(200002);
  a.status = InvitationStatus::kAccepted;
  InvitationRecord b = MakeInvitation(w.o1, "y@example.com", TokenHash(2));
  InvitationRecord c = MakeInvitation(w.o2, "x@example.com", TokenHash(3));
  c.kind = InvitationKind::kExternal;
  c.status = InvitationStatus::kRejected;

  auto recs = InsertAndReadBack(*store, {a, b, c});
  a = recs[0], b = recs[1], c = recs[2];

  CheckFilter<InvitationRecord>(*store, {.organization_id = w.o1}, {a, b});
  CheckFilter<InvitationRecord>(*store, {.email = E("x@example.com")}, {a, c});
  CheckFilter<InvitationRecord>(*store, {.kind = InvitationKind::kEmployee},
                                {b});
  CheckFilter<InvitationRecord>(*store, {.status = InvitationStatus::kNew},
                                {b});
  CheckFilter<InvitationRecord>(*store, {.token_hash = TokenHash(3)}, {c});
  CheckFilter<InvitationRecord>(*store, {.token_hash = TokenHash(4)}, {});
  CheckFilter<InvitationRecord>(*store, {.invited_by = w.i1}, {a});
  CheckFilter<InvitationRecord>(*store, {.invited_by = w.i3}, {});
  // Only the bytes before the NUL: must match nothing.
  CheckFilter<InvitationRecord>(*store, {.token_hash = std::string("h\xFF", 2)},
                                {});
  CheckFilter<InvitationRecord>(
      *store, {.organization_id = w.o1, .email = E("x@example.com")}, {a});

  CheckUpdateDelete(*store, recs, [&](InvitationRecord& r, size_t i) {
    r.email = E("changed" + std::to_string(i) + "@example.com");
    r.status = InvitationStatus::kSuperseded;
    r.token_hash = TokenHash(50 + static_cast<int>(i));
    if (r.group_id) {
      r.group_id.reset();
      r.kind = InvitationKind::kEmployee;
      r.invited_by.reset();
      r.decided_at.reset();
    } else {
      r.invited_by = w.i2;
      r.decided_at = At(606060);
    }
    r.created_at = At(1);
    r.expires_at = At(2);
  });
}

TEMPLATE_TEST_CASE("store: request links round trip, filter, update, delete",
                   "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);

  RequestLinkRecord a = MakeRequestLink(w.o1, TokenHash(1));
  a.created_at = At(8080);
  RequestLinkRecord b = MakeRequestLink(w.o1, TokenHash(2));
  b.enabled = false;
  RequestLinkRecord c = MakeRequestLink(w.o2, TokenHash(3));

  auto recs = InsertAndReadBack(*store, {a, b, c});
  a = recs[0], b = recs[1], c = recs[2];

  CheckFilter<RequestLinkRecord>(*store, {.organization_id = w.o1}, {a, b});
  CheckFilter<RequestLinkRecord>(*store, {.token_hash = TokenHash(2)}, {b});
  CheckFilter<RequestLinkRecord>(
      *store, {.organization_id = w.o2, .token_hash = TokenHash(2)}, {});

  CheckUpdateDelete(*store, recs, [](RequestLinkRecord& r, size_t i) {
    r.token_hash = TokenHash(70 + static_cast<int>(i));
    r.enabled = !r.enabled;
    r.created_at = At(5);
  });
}

TEMPLATE_TEST_CASE("store: join requests round trip, filter, update, delete",
                   "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);

  JoinRequestRecord a = MakeJoinRequest(w.o1, w.i1);
  a.source = JoinRequestSource::kDiscovery;
  a.status = JoinRequestStatus::kApproved;
  a.created_at = At(10101);
  a.decided_at = At(20202);
  a.decided_by = w.i3;
  JoinRequestRecord b = MakeJoinRequest(w.o1, w.i2);
  JoinRequestRecord c = MakeJoinRequest(w.o2, w.i1);
  c.status = JoinRequestStatus::kRejected;

  auto recs = InsertAndReadBack(*store, {a, b, c});
  a = recs[0], b = recs[1], c = recs[2];

  CheckFilter<JoinRequestRecord>(*store, {.organization_id = w.o1}, {a, b});
  CheckFilter<JoinRequestRecord>(*store, {.identity_id = w.i1}, {a, c});
  CheckFilter<JoinRequestRecord>(*store, {.decided_by = w.i3}, {a});
  CheckFilter<JoinRequestRecord>(*store, {.decided_by = w.i1}, {});
  CheckFilter<JoinRequestRecord>(*store,
                                 {.status = JoinRequestStatus::kPending}, {b});
  CheckFilter<JoinRequestRecord>(
      *store, {.organization_id = w.o2, .identity_id = w.i1}, {c});

  CheckUpdateDelete(*store, recs, [&](JoinRequestRecord& r, size_t) {
    r.source = r.source == JoinRequestSource::kLink
                   ? JoinRequestSource::kDiscovery
                   : JoinRequestSource::kLink;
    if (r.decided_by) {
      r.status = JoinRequestStatus::kPending;
      r.decided_at.reset();
      r.decided_by.reset();
    } else {
      r.status = JoinRequestStatus::kApproved;
      r.decided_at = At(30303);
      r.decided_by = w.i2;
    }
    r.created_at = At(6);
  });
}

TEMPLATE_TEST_CASE("store: entitlements round trip, filter, update, delete",
                   "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);

  EntitlementRecord a = MakeEntitlement(w.o1, "CAD-PRO", 10);
  a.period_start = At(1);
  a.period_end = At(31536000000001);
  a.countries = {"DE", "SE", "FI"};
  a.created_at = At(654321);
  EntitlementRecord b = MakeEntitlement(w.o1, "CAD-LITE", 1);  // Everywhere.
  b.kind = EntitlementKind::kNamed;
  EntitlementRecord c = MakeEntitlement(w.o2, "CAD-PRO", 3);
  c.countries = {"US"};

  auto recs = InsertAndReadBack(*store, {a, b, c});
  a = recs[0], b = recs[1], c = recs[2];

  CheckFilter<EntitlementRecord>(*store, {.organization_id = w.o1}, {a, b});
  CheckFilter<EntitlementRecord>(*store, {.sku = "CAD-PRO"}, {a, c});
  CheckFilter<EntitlementRecord>(
      *store, {.organization_id = w.o2, .sku = "CAD-LITE"}, {});

  CheckUpdateDelete(*store, recs, [](EntitlementRecord& r, size_t) {
    r.sku += "-2";
    r.seats = r.seats * 100 + 7;
    r.period_start = At(11);
    r.period_end = At(22);
    r.countries = r.countries.empty() ? std::vector<std::string>{"NO", "DK"}
                                      : std::vector<std::string>{};
    r.created_at = At(33);
  });
}

TEMPLATE_TEST_CASE(
    "store: license assignments round trip, filter, update, delete", "[store]",
    ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);
  EntitlementId e1 = Put(*store, MakeEntitlement(w.o1, "A"));
  EntitlementId e2 = Put(*store, MakeEntitlement(w.o1, "B"));

  LicenseAssignmentRecord a = MakeAssignment(e1, w.i1);
  a.assigned_at = At(246810);
  LicenseAssignmentRecord b = MakeAssignment(e1, w.i2);
  LicenseAssignmentRecord c = MakeAssignment(e2, w.i1);

  auto recs = InsertAndReadBack(*store, {c, b, a});

  CheckFilter<LicenseAssignmentRecord>(*store, {.entitlement_id = e1}, {a, b});
  CheckFilter<LicenseAssignmentRecord>(*store, {.identity_id = w.i1}, {a, c});
  CheckFilter<LicenseAssignmentRecord>(
      *store, {.entitlement_id = e2, .identity_id = w.i2}, {});

  CheckUpdateDelete(*store, recs, [](LicenseAssignmentRecord& r, size_t) {
    r.assigned_at = At(13579);
  });
}

TEMPLATE_TEST_CASE("store: pool grants round trip, filter, update, delete",
                   "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);
  EntitlementId e1 = Put(*store, MakeEntitlement(w.o1, "A"));
  EntitlementId e2 = Put(*store, MakeEntitlement(w.o1, "B"));
  GroupId g1 = Put(*store, MakeGroup(w.o1, "Engineering"));

  PoolGrantRecord a = MakePoolGrant(e1, w.i1);
  a.granted_at = At(192837);
  PoolGrantRecord b = MakeGroupPoolGrant(e1, g1);
  PoolGrantRecord c = MakePoolGrant(e2, w.i1);

  auto recs = InsertAndReadBack(*store, {a, b, c});
  a = recs[0], b = recs[1], c = recs[2];

  CheckFilter<PoolGrantRecord>(*store, {.entitlement_id = e1}, {a, b});
  CheckFilter<PoolGrantRecord>(*store, {.identity_id = w.i1}, {a, c});
  CheckFilter<PoolGrantRecord>(*store, {.group_id = g1}, {b});
  CheckFilter<PoolGrantRecord>(*store, {.entitlement_id = e2, .group_id = g1},
                               {});

  CheckUpdateDelete(*store, recs, [&](PoolGrantRecord& r, size_t i) {
    r.granted_at = At(1000 + static_cast<int64_t>(i));
    if (i == 0) r.identity_id = w.i2;  // Still unique per entitlement.
  });
}

TEMPLATE_TEST_CASE("store: projects round trip, filter, update, delete",
                   "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);
  EntitlementId e1 = Put(*store, MakeEntitlement(w.o1, "A"));
  EntitlementId e2 = Put(*store, MakeEntitlement(w.o1, "B"));
  EntitlementId e3 = Put(*store, MakeEntitlement(w.o2, "A"));

  ProjectRecord a = MakeProject(w.o1, e1, "Bridge");
  a.region = "eu";
  a.created_at = At(55555);
  ProjectRecord b = MakeProject(w.o1, e2, "Tunnel");
  b.region = "us";
  b.status = ProjectStatus::kArchived;  // Round trips like every other field.
  ProjectRecord c = MakeProject(w.o2, e3, "Dam");
  c.region = "eu";
  ProjectRecord d = MakeProject(w.o2, e3, "Weir");
  d.region = "us";
  d.status = ProjectStatus::kArchived;
  REQUIRE(a.status == ProjectStatus::kActive);  // The default.

  auto recs = InsertAndReadBack(*store, {a, b, c, d});
  a = recs[0], b = recs[1], c = recs[2], d = recs[3];

  CheckFilter<ProjectRecord>(*store, {.organization_id = w.o1}, {a, b});
  CheckFilter<ProjectRecord>(*store, {.entitlement_id = e2}, {b});
  CheckFilter<ProjectRecord>(*store, {.region = "eu"}, {a, c});
  CheckFilter<ProjectRecord>(*store, {.organization_id = w.o1, .region = "eu"},
                             {a});
  // Status alone, and with the organization (and more).
  CheckFilter<ProjectRecord>(*store, {.status = ProjectStatus::kActive},
                             {a, c});
  CheckFilter<ProjectRecord>(*store, {.status = ProjectStatus::kArchived},
                             {b, d});
  CheckFilter<ProjectRecord>(
      *store, {.organization_id = w.o1, .status = ProjectStatus::kActive}, {a});
  CheckFilter<ProjectRecord>(
      *store, {.organization_id = w.o1, .status = ProjectStatus::kArchived},
      {b});
  CheckFilter<ProjectRecord>(
      *store, {.organization_id = w.o2, .status = ProjectStatus::kArchived},
      {d});
  CheckFilter<ProjectRecord>(*store,
                             {.organization_id = w.o2,
                              .region = "us",
                              .status = ProjectStatus::kActive},
                             {});
  CheckFilter<ProjectRecord>(*store,
                             {.organization_id = w.o1,
                              .entitlement_id = e2,
                              .region = "us",
                              .status = ProjectStatus::kArchived},
                             {b});
  CheckFilter<ProjectRecord>(*store,
                             {.organization_id = OrganizationId(999999),
                              .status = ProjectStatus::kActive},
                             {});

  // An update changes the status, and the filter follows it at once.
  {
    auto txn = BeginWrite(*store);
    ProjectRecord archived = a;
    archived.status = ProjectStatus::kArchived;
    ENTITLE_REQUIRE_OK(txn->projects().Update(archived));
    auto got = txn->projects().Get(a.id);
    ENTITLE_REQUIRE_OK(got);
    REQUIRE(got->status == ProjectStatus::kArchived);
    auto listed = txn->projects().List(
        {.organization_id = w.o1, .status = ProjectStatus::kActive}, {});
    ENTITLE_REQUIRE_OK(listed);
    REQUIRE(listed->items.empty());
    REQUIRE(MustCount(txn->projects(), {.status = ProjectStatus::kArchived}) ==
            3);
    txn->Rollback();
  }
  CheckFilter<ProjectRecord>(*store, {.status = ProjectStatus::kActive},
                             {a, c});

  CheckUpdateDelete(*store, recs, [&](ProjectRecord& r, size_t) {
    r.name += " II";
    r.region = r.region == "eu" ? "ap" : "eu";
    if (r.entitlement_id == e1) r.entitlement_id = e2;
    r.status = r.status == ProjectStatus::kActive ? ProjectStatus::kArchived
                                                  : ProjectStatus::kActive;
    r.created_at = At(8);
  });
}

TEMPLATE_TEST_CASE("store: project members round trip, filter, update, delete",
                   "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);
  EntitlementId e1 = Put(*store, MakeEntitlement(w.o1, "A"));
  ProjectId p1 = Put(*store, MakeProject(w.o1, e1, "Bridge"));
  ProjectId p2 = Put(*store, MakeProject(w.o1, e1, "Tunnel"));
  EntitlementId e2 = Put(*store, MakeEntitlement(w.o2, "A"));
  ProjectId p3 = Put(*store, MakeProject(w.o2, e2, "Dam"));

  ProjectMemberRecord a =
      MakeProjectMember(w.o1, p1, w.i1, ProjectRole::kAdmin);
  a.added_at = At(999999);
  ProjectMemberRecord b = MakeProjectMember(w.o1, p1, w.i2);
  ProjectMemberRecord c = MakeProjectMember(w.o1, p2, w.i1);
  ProjectMemberRecord d =
      MakeProjectMember(w.o2, p3, w.i1, ProjectRole::kAdmin);
  ProjectMemberRecord e = MakeProjectMember(w.o2, p3, w.i3);

  auto recs = InsertAndReadBack(*store, {c, e, b, a, d});

  CheckFilter<ProjectMemberRecord>(*store, {.project_id = p1}, {a, b});
  CheckFilter<ProjectMemberRecord>(*store, {.identity_id = w.i1}, {a, c, d});
  CheckFilter<ProjectMemberRecord>(*store,
                                   {.project_id = p2, .identity_id = w.i2}, {});
  // The organization alone, and with the identity (and the project).
  CheckFilter<ProjectMemberRecord>(*store, {.organization_id = w.o1},
                                   {a, b, c});
  CheckFilter<ProjectMemberRecord>(*store, {.organization_id = w.o2}, {d, e});
  CheckFilter<ProjectMemberRecord>(
      *store, {.organization_id = OrganizationId(999999)}, {});
  CheckFilter<ProjectMemberRecord>(
      *store, {.identity_id = w.i1, .organization_id = w.o1}, {a, c});
  CheckFilter<ProjectMemberRecord>(
      *store, {.identity_id = w.i1, .organization_id = w.o2}, {d});
  CheckFilter<ProjectMemberRecord>(
      *store, {.identity_id = w.i2, .organization_id = w.o2}, {});
  CheckFilter<ProjectMemberRecord>(
      *store, {.identity_id = w.i3, .organization_id = w.o1}, {});
  CheckFilter<ProjectMemberRecord>(
      *store, {.project_id = p1, .identity_id = w.i2, .organization_id = w.o1},
      {b});
  CheckFilter<ProjectMemberRecord>(
      *store, {.project_id = p3, .identity_id = w.i1, .organization_id = w.o1},
      {});

  // The organization is an ordinary field: an update changes it, the filter
  // follows, and a missing organization is refused without changing the row.
  {
    auto txn = BeginWrite(*store);
    ProjectMemberRecord moved = e;
    moved.organization_id = w.o1;
    ENTITLE_REQUIRE_OK(txn->project_members().Update(moved));
    auto got = txn->project_members().Get(KeyOf(e));
    ENTITLE_REQUIRE_OK(got);
    REQUIRE(got->organization_id == w.o1);
    REQUIRE(MustCount(txn->project_members(), {.organization_id = w.o1}) == 4);
    ProjectMemberRecord dangling = e;
    dangling.organization_id = OrganizationId(999999);
    ENTITLE_REQUIRE_REFUSED(txn->project_members().Update(dangling),
                            StatusCode::kFailedPrecondition,
                            Reason::kMissingReference);
    got = txn->project_members().Get(KeyOf(e));
    ENTITLE_REQUIRE_OK(got);
    REQUIRE(got->organization_id == w.o1);
    txn->Rollback();
  }
  CheckFilter<ProjectMemberRecord>(*store, {.organization_id = w.o2}, {d, e});

  CheckUpdateDelete(*store, recs, [](ProjectMemberRecord& r, size_t) {
    r.role =
        r.role == ProjectRole::kUser ? ProjectRole::kAdmin : ProjectRole::kUser;
    r.added_at = At(9);
  });
}

TEMPLATE_TEST_CASE("store: jobs round trip, filter, update, delete", "[store]",
                   ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);

  JobRecord a = MakeJob(w.o1);
  a.created_by = w.i1;
  a.status = JobStatus::kRunning;
  a.request =
      R"({"projects":[{"id":1,"updates":[{"action":"ADD","email":"jürgen@bücher.de"}]}]})";
  a.result = std::string("{\"partial\":true}\n\t", 18);
  a.created_at = At(1111);
  a.finished_at = At(2222);
  JobRecord b = MakeJob(w.o1);  // created_by, finished_at unset.
  JobRecord c = MakeJob(w.o2);
  c.status = JobStatus::kDone;

  auto recs = InsertAndReadBack(*store, {a, b, c});
  a = recs[0], b = recs[1], c = recs[2];

  CheckFilter<JobRecord>(*store, {.organization_id = w.o1}, {a, b});
  CheckFilter<JobRecord>(*store, {.status = JobStatus::kQueued}, {b});
  CheckFilter<JobRecord>(*store, {.status = JobStatus::kFailed}, {});
  CheckFilter<JobRecord>(*store, {.created_by = w.i1}, {a});
  CheckFilter<JobRecord>(*store, {.created_by = w.i2}, {});
  CheckFilter<JobRecord>(
      *store, {.organization_id = w.o2, .status = JobStatus::kDone}, {c});

  CheckUpdateDelete(*store, recs, [&](JobRecord& r, size_t) {
    r.kind = "other";
    r.status = JobStatus::kFailed;
    r.request = "{}";
    r.result = R"({"error":"x"})";
    r.created_by =
        r.created_by ? std::nullopt : std::optional<IdentityId>(w.i2);
    r.finished_at =
        r.finished_at ? std::nullopt : std::optional<absl::Time>(At(3333));
    r.created_at = At(10);
  });
}

TEMPLATE_TEST_CASE("store: audit records round trip, filter, update, delete",
                   "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  // Audit records name ids that need not exist.
  const IdentityId actor(4242);
  const OrganizationId org(777);

  AuditRecord a = MakeAudit("membership.add", At(1000001));
  a.actor_id = actor;
  a.organization_id = org;
  a.target = "identity#12";
  a.outcome = "ok";
  a.detail = "kind=employee; note=\"quoted\"";
  AuditRecord b = MakeAudit("identity.create", At(5));  // No actor, no org.
  b.outcome = "duplicate";
  AuditRecord c = MakeAudit("membership.add", At(2000002));
  c.organization_id = OrganizationId(778);

  auto recs = InsertAndReadBack(*store, {a, b, c});
  a = recs[0], b = recs[1], c = recs[2];

  CheckFilter<AuditRecord>(*store, {.organization_id = org}, {a});
  CheckFilter<AuditRecord>(*store, {.actor_id = actor}, {a});
  CheckFilter<AuditRecord>(*store, {.action = "membership.add"}, {a, c});
  CheckFilter<AuditRecord>(*store, {.since = At(1000001)}, {a, c});
  CheckFilter<AuditRecord>(*store, {.until = At(1000001)}, {b});

  CheckUpdateDelete(*store, recs, [](AuditRecord& r, size_t) {
    r.at = r.at + absl::Microseconds(1);
    r.actor_id =
        r.actor_id ? std::nullopt : std::optional<IdentityId>(IdentityId(1));
    r.organization_id = r.organization_id
                            ? std::nullopt
                            : std::optional<OrganizationId>(OrganizationId(2));
    r.action = "x.y";
    r.target = "t";
    r.outcome = "missing-reference";
    r.detail = "";
  });
}

TEMPLATE_TEST_CASE("store: outbox records round trip, filter, update, delete",
                   "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();

  OutboxRecord a = MakeOutbox("x@example.com");
  a.created_at = At(161616);
  a.template_name = "password-reset";
  a.subject = "Réinitialiser le mot de passe";
  OutboxRecord b = MakeOutbox("y@example.com");
  OutboxRecord c = MakeOutbox("x@example.com");

  auto recs = InsertAndReadBack(*store, {a, b, c});
  a = recs[0], b = recs[1], c = recs[2];

  CheckFilter<OutboxRecord>(*store, {.recipient = E("x@example.com")}, {a, c});
  CheckFilter<OutboxRecord>(*store, {.template_name = "password-reset"}, {a});
  CheckFilter<OutboxRecord>(*store, {.template_name = "invitation"}, {b, c});
  CheckFilter<OutboxRecord>(
      *store,
      {.recipient = E("y@example.com"), .template_name = "password-reset"}, {});

  CheckUpdateDelete(*store, recs, [](OutboxRecord& r, size_t) {
    r.recipient = E("z@example.com");
    r.template_name = "verify";
    r.subject = "s";
    r.created_at = At(12);
  });
}

TEMPLATE_TEST_CASE("store: device checks round trip, filter, update, delete",
                   "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);

  DeviceCheckRecord a = MakeDeviceCheck(w.i1, "laptop-\xC3\xA5");
  a.checked_at = At(191919);
  DeviceCheckRecord b = MakeDeviceCheck(w.i1, "desktop");
  DeviceCheckRecord c = MakeDeviceCheck(w.i2, "laptop-\xC3\xA5");

  auto recs = InsertAndReadBack(*store, {a, b, c});

  CheckFilter<DeviceCheckRecord>(*store, {.identity_id = w.i1}, {b, a});
  CheckFilter<DeviceCheckRecord>(*store, {.identity_id = w.i3}, {});

  CheckUpdateDelete(*store, recs, [](DeviceCheckRecord& r, size_t) {
    r.checked_at = At(2020);
  });
}

TEMPLATE_TEST_CASE(
    "store: pool usage windows round trip, filter, update, delete", "[store]",
    ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);
  EntitlementId e1 = Put(*store, MakeEntitlement(w.o1, "A"));
  EntitlementId e2 = Put(*store, MakeEntitlement(w.o2, "B"));

  PoolUsageRecord a{e1, At(3600000000), 7, 0};
  PoolUsageRecord b{e1, At(0), 3, 2};
  PoolUsageRecord c{e2, At(3600000000), 1, 0};
  auto recs = InsertAndReadBack(*store, {a, b, c});

  // Keyed by (entitlement, window start): ordered by both.
  CheckFilter<PoolUsageRecord>(*store, {.entitlement_id = e1}, {b, a});
  CheckFilter<PoolUsageRecord>(*store, {.entitlement_id = e2}, {c});

  CheckUpdateDelete(*store, recs, [](PoolUsageRecord& r, size_t i) {
    r.peak_in_use = 100 + static_cast<int64_t>(i);
    r.refusals = 5;
  });
}

TEMPLATE_TEST_CASE("store: link tokens round trip, filter, update, delete",
                   "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);

  LinkTokenRecord a = MakeLinkToken(w.i1, TokenHash(1));
  a.purpose = LinkPurpose::kEmailChange;
  a.new_email = E("ida.new@example.com");
  a.created_at = At(171717);
  a.expires_at = At(181818);
  a.status = LinkStatus::kUsed;
  LinkTokenRecord b = MakeLinkToken(w.i1, TokenHash(2));
  LinkTokenRecord c = MakeLinkToken(w.i2, TokenHash(3));
  c.purpose = LinkPurpose::kPasswordReset;

  auto recs = InsertAndReadBack(*store, {a, b, c});
  a = recs[0], b = recs[1], c = recs[2];

  CheckFilter<LinkTokenRecord>(*store, {.identity_id = w.i1}, {a, b});
  CheckFilter<LinkTokenRecord>(*store, {.purpose = LinkPurpose::kPasswordReset},
                               {c});
  CheckFilter<LinkTokenRecord>(*store, {.token_hash = TokenHash(1)}, {a});
  CheckFilter<LinkTokenRecord>(*store, {.status = LinkStatus::kActive}, {b, c});
  CheckFilter<LinkTokenRecord>(*store, {.status = LinkStatus::kUsed}, {a});
  CheckFilter<LinkTokenRecord>(
      *store, {.identity_id = w.i2, .purpose = LinkPurpose::kVerifyEmail}, {});

  CheckUpdateDelete(*store, recs, [&](LinkTokenRecord& r, size_t i) {
    r.token_hash = TokenHash(90 + static_cast<int>(i));
    r.status = r.status == LinkStatus::kActive ? LinkStatus::kSuperseded
                                               : LinkStatus::kActive;
    r.new_email =
        r.new_email ? std::nullopt : std::optional<Email>(E("new@example.com"));
    r.purpose = LinkPurpose::kPasswordReset;
    if (i == 1) r.identity_id = w.i3;
    r.created_at = At(13);
    r.expires_at = At(14);
  });
}

TEMPLATE_TEST_CASE("store: throttles round trip, filter, update, delete",
                   "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();

  // Keyed by (kind, subject); subjects are any text, compared bytewise.
  ThrottleRecord a{ThrottleKind::kSignInIdentity,
                   "ida@example.com",
                   {At(1), At(2), At(3000000)},
                   At(3000000) + absl::Minutes(15)};
  ThrottleRecord b{ThrottleKind::kMail, "ida@example.com", {}, At(0)};
  ThrottleRecord c{
      ThrottleKind::kSignInClient, "2001:db8::1", {At(7)}, At(900000007)};
  ThrottleRecord d{ThrottleKind::kSignInClient,
                   "203.0.113.7",
                   {At(5), At(5)},  // Equal times are two events.
                   At(900000005)};
  ThrottleRecord e{ThrottleKind::kSignInIdentity,
                   "\xC3\xA5sa@example.com",
                   {At(-4)},
                   At(900000000)};
  auto recs = InsertAndReadBack(*store, {a, b, c, d, e});

  // The kinds list in the order of their values.
  REQUIRE(ThrottleKey{ThrottleKind::kMail, "z"} <
          ThrottleKey{ThrottleKind::kSignInClient, "a"});
  REQUIRE(ThrottleKey{ThrottleKind::kSignInClient, "z"} <
          ThrottleKey{ThrottleKind::kSignInIdentity, "a"});
  CheckFilter<ThrottleRecord>(*store, {.kind = ThrottleKind::kSignInClient},
                              {c, d});
  CheckFilter<ThrottleRecord>(*store, {.kind = ThrottleKind::kSignInIdentity},
                              {a, e});
  // expired_before is exclusive.
  CheckFilter<ThrottleRecord>(*store, {.expired_before = At(900000005)},
                              {b, e});
  CheckFilter<ThrottleRecord>(*store, {.expired_before = At(903000001)},
                              {a, b, c, d, e});
  CheckFilter<ThrottleRecord>(*store, {.expired_before = At(0)}, {});
  CheckFilter<ThrottleRecord>(
      *store,
      {.kind = ThrottleKind::kSignInClient, .expired_before = At(900000006)},
      {d});

  CheckUpdateDelete(*store, recs, [](ThrottleRecord& r, size_t i) {
    r.events = i % 2 == 0 ? std::vector<absl::Time>{}
                          : std::vector<absl::Time>{At(9), At(10), At(11)};
    r.expires_at = At(100 + static_cast<int64_t>(i));
  });
}

// ================================================================ uniqueness

// In one write transaction: `dup` is refused with AlreadyExists / kDuplicate
// and changes nothing, then `valid` (same kind) still inserts; after commit the
// table holds exactly one more record than before, and it is `valid`'s.
template <typename R>
void RequireDuplicateRefused(Store& store, const R& dup, const R& valid) {
  std::vector<R> before;
  {
    auto txn = BeginRead(store);
    before = ListAll(TableOf<R>(*txn));
    MustCommit(*txn);
  }
  {
    auto txn = BeginWrite(store);
    auto& table = TableOf<R>(*txn);
    ENTITLE_REQUIRE_REFUSED(table.Insert(dup), StatusCode::kAlreadyExists,
                            Reason::kDuplicate);
    REQUIRE(MustCount(table) == static_cast<int64_t>(before.size()));
    REQUIRE(ListAll(table) == before);
    MustInsert(table, valid);  // The transaction is still usable.
    MustCommit(*txn);
  }
  auto txn = BeginRead(store);
  auto after = ListAll(TableOf<R>(*txn));
  REQUIRE(after.size() == before.size() + 1);
  // Everything that was there still is, unchanged.
  for (const auto& r : before) {
    REQUIRE(std::find(after.begin(), after.end(), r) != after.end());
  }
  MustCommit(*txn);
}

// `updated` would break a uniqueness rule: refused, and the stored record keeps
// its old value.
template <typename R>
void RequireDuplicateUpdateRefused(Store& store, const R& updated) {
  R old;
  {
    auto txn = BeginRead(store);
    auto got = TableOf<R>(*txn).Get(KeyOf(updated));
    ENTITLE_REQUIRE_OK(got);
    old = *got;
    MustCommit(*txn);
  }
  REQUIRE_FALSE(old == updated);
  {
    auto txn = BeginWrite(store);
    auto& table = TableOf<R>(*txn);
    ENTITLE_REQUIRE_REFUSED(table.Update(updated), StatusCode::kAlreadyExists,
                            Reason::kDuplicate);
    auto got = table.Get(KeyOf(updated));
    ENTITLE_REQUIRE_OK(got);
    REQUIRE(*got == old);
    MustCommit(*txn);
  }
  auto txn = BeginRead(store);
  auto got = TableOf<R>(*txn).Get(KeyOf(updated));
  ENTITLE_REQUIRE_OK(got);
  REQUIRE(*got == old);
  MustCommit(*txn);
}

// clang-format off
TEMPLATE_TEST_CASE("ID-1 two identities never share an email, whatever its "
                   "case", "[store]",
    ENTITLE_BACKENDS) {
  // clang-format on
  TestType backend;
  auto store = backend.Open();
  Put(*store, MakeIdentity("Anna@Example.com"));
  RequireDuplicateRefused(*store, MakeIdentity("anna@example.COM "),
                          MakeIdentity("anna2@example.com"));
  // An update onto a taken address is refused too.
  auto txn = BeginRead(*store);
  auto all = ListAll(txn->identities());
  MustCommit(*txn);
  REQUIRE(all.size() == 2);
  IdentityRecord second = all[1];
  second.email = E("ANNA@example.com");
  RequireDuplicateUpdateRefused(*store, second);
  // A pending address does not reserve it: only `email` is unique.
  second = all[1];
  second.pending_email = E("anna@example.com");
  {
    auto w = BeginWrite(*store);
    ENTITLE_REQUIRE_OK(w->identities().Update(second));
    MustCommit(*w);
  }
}

TEMPLATE_TEST_CASE(
    "store: an identity has at most one employee membership; external ones "
    "are free",
    "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);
  Put(*store, MakeMembership(w.o1, w.i1, MembershipKind::kEmployee));
  // Employee elsewhere: refused. External in that other org: fine.
  RequireDuplicateRefused(
      *store, MakeMembership(w.o2, w.i1, MembershipKind::kEmployee),
      MakeMembership(w.o2, w.i1, MembershipKind::kExternal));
  // Upgrading that external membership to employee would give i1 two.
  RequireDuplicateUpdateRefused(
      *store, MakeMembership(w.o2, w.i1, MembershipKind::kEmployee));
  // Another identity can be an employee of o2.
  Put(*store, MakeMembership(w.o2, w.i2, MembershipKind::kEmployee));
}

TEMPLATE_TEST_CASE(
    "store: one membership per (organization, identity), whatever the kind",
    "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);
  Put(*store, MakeMembership(w.o1, w.i1, MembershipKind::kExternal));
  RequireDuplicateRefused(
      *store, MakeMembership(w.o1, w.i1, MembershipKind::kEmployee),
      MakeMembership(w.o1, w.i2, MembershipKind::kExternal));
  RequireDuplicateRefused(
      *store, MakeMembership(w.o1, w.i1, MembershipKind::kExternal),
      MakeMembership(w.o2, w.i1, MembershipKind::kExternal));
}

TEMPLATE_TEST_CASE("store: role and group names are unique per organization",
                   "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);
  Put(*store, MakeRole(w.o1, "Administrator"));
  RequireDuplicateRefused(*store, MakeRole(w.o1, "Administrator", kManageUsers),
                          MakeRole(w.o2, "Administrator"));
  RoleRecord viewer = MakeRole(w.o1, "Viewer");
  viewer.id = Put(*store, viewer);
  viewer.name = "Administrator";
  RequireDuplicateUpdateRefused(*store, viewer);

  Put(*store, MakeGroup(w.o1, "Engineering"));
  RequireDuplicateRefused(*store, MakeGroup(w.o1, "Engineering"),
                          MakeGroup(w.o2, "Engineering"));
  GroupRecord sales = MakeGroup(w.o1, "Sales");
  sales.id = Put(*store, sales);
  sales.name = "Engineering";
  RequireDuplicateUpdateRefused(*store, sales);
}

TEMPLATE_TEST_CASE(
    "store: a domain once per organization, and verified in one organization "
    "only",
    "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);
  OrganizationId o3 = Put(*store, MakeOrganization("Org Three"));

  Put(*store, MakeDomain(w.o1, "acme.com", DomainStatus::kPending));
  // Same (org, name): refused. Another org may claim it while pending.
  RequireDuplicateRefused(*store,
                          MakeDomain(w.o1, "acme.com", DomainStatus::kPending),
                          MakeDomain(w.o2, "acme.com", DomainStatus::kPending));

  // o1's claim verified: a verified claim elsewhere is refused, a pending one
  // is allowed.
  DomainRecord o1_claim;
  DomainRecord o2_claim;
  {
    auto txn = BeginRead(*store);
    auto v = ListAll(txn->domains(), {.name = "acme.com"});
    MustCommit(*txn);
    REQUIRE(v.size() == 2);
    o1_claim = v[0].organization_id == w.o1 ? v[0] : v[1];
    o2_claim = v[0].organization_id == w.o2 ? v[0] : v[1];
  }
  o1_claim.status = DomainStatus::kVerified;
  o1_claim.verified_at = At(1);
  {
    auto txn = BeginWrite(*store);
    ENTITLE_REQUIRE_OK(txn->domains().Update(o1_claim));
    MustCommit(*txn);
  }
  RequireDuplicateRefused(*store,
                          MakeDomain(o3, "acme.com", DomainStatus::kVerified),
                          MakeDomain(o3, "acme.com", DomainStatus::kPending));
  // Verifying o2's pending claim would make two verified owners.
  DomainRecord o2_verified = o2_claim;
  o2_verified.status = DomainStatus::kVerified;
  o2_verified.verified_at = At(2);
  RequireDuplicateUpdateRefused(*store, o2_verified);
  // A different name can be verified by another org.
  Put(*store, MakeDomain(w.o2, "acme.org", DomainStatus::kVerified));
}

TEMPLATE_TEST_CASE(
    "store: token hashes are unique (invitations, request "
    "links, link tokens)",
    "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);

  Put(*store, MakeInvitation(w.o1, "x@example.com", TokenHash(1)));
  RequireDuplicateRefused(*store,
                          MakeInvitation(w.o2, "y@example.com", TokenHash(1)),
                          MakeInvitation(w.o2, "y@example.com", TokenHash(2)));

  Put(*store, MakeRequestLink(w.o1, TokenHash(1)));
  RequireDuplicateRefused(*store, MakeRequestLink(w.o2, TokenHash(1)),
                          MakeRequestLink(w.o2, TokenHash(2)));

  Put(*store, MakeLinkToken(w.i1, TokenHash(1)));
  RequireDuplicateRefused(*store, MakeLinkToken(w.i2, TokenHash(1)),
                          MakeLinkToken(w.i2, TokenHash(2)));
  // Updating onto a taken hash is refused.
  LinkTokenRecord t = MakeLinkToken(w.i3, TokenHash(3));
  t.id = Put(*store, t);
  t.token_hash = TokenHash(1);
  RequireDuplicateUpdateRefused(*store, t);
}

TEMPLATE_TEST_CASE(
    "store: pool grants are unique per (entitlement, identity) and "
    "(entitlement, group)",
    "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);
  EntitlementId e1 = Put(*store, MakeEntitlement(w.o1, "A"));
  EntitlementId e2 = Put(*store, MakeEntitlement(w.o1, "B"));
  GroupId g1 = Put(*store, MakeGroup(w.o1, "Engineering"));

  Put(*store, MakePoolGrant(e1, w.i1));
  RequireDuplicateRefused(*store, MakePoolGrant(e1, w.i1),
                          MakePoolGrant(e2, w.i1));
  Put(*store, MakeGroupPoolGrant(e1, g1));
  RequireDuplicateRefused(*store, MakeGroupPoolGrant(e1, g1),
                          MakeGroupPoolGrant(e2, g1));
  PoolGrantRecord other = MakePoolGrant(e1, w.i2);
  other.id = Put(*store, other);
  other.identity_id = w.i1;
  RequireDuplicateUpdateRefused(*store, other);
}

TEMPLATE_TEST_CASE("store: link kinds refuse a second record with the same key",
                   "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);
  EntitlementId e1 = Put(*store, MakeEntitlement(w.o1, "A"));
  GroupId g1 = Put(*store, MakeGroup(w.o1, "Engineering"));
  RoleId r1 = Put(*store, MakeRole(w.o1, "Administrator"));
  ProjectId p1 = Put(*store, MakeProject(w.o1, e1));
  Put(*store, MakeMembership(w.o1, w.i1));
  Put(*store, MakeMembership(w.o1, w.i2));

  Put(*store, MakeAssignment(e1, w.i1));
  LicenseAssignmentRecord dup_assignment = MakeAssignment(e1, w.i1);
  dup_assignment.assigned_at = At(999);
  RequireDuplicateRefused(*store, dup_assignment, MakeAssignment(e1, w.i2));

  Put(*store, MakeGroupMember(g1, w.i1));
  RequireDuplicateRefused(*store, MakeGroupMember(g1, w.i1),
                          MakeGroupMember(g1, w.i2));

  Put(*store, MakeRoleGrant(w.o1, w.i1, r1));
  RequireDuplicateRefused(*store, MakeRoleGrant(w.o1, w.i1, r1),
                          MakeRoleGrant(w.o1, w.i2, r1));

  Put(*store, MakeProjectMember(w.o1, p1, w.i1, ProjectRole::kUser));
  RequireDuplicateRefused(
      *store, MakeProjectMember(w.o1, p1, w.i1, ProjectRole::kAdmin),
      MakeProjectMember(w.o1, p1, w.i2, ProjectRole::kAdmin));
}

// ================================================================ references

TEMPLATE_TEST_CASE(
    "store: a membership naming a missing identity is refused and writes "
    "nothing",
    "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);
  {
    auto txn = BeginWrite(*store);
    ENTITLE_REQUIRE_REFUSED(
        txn->memberships().Insert(MakeMembership(w.o1, IdentityId(999999))),
        StatusCode::kFailedPrecondition, Reason::kMissingReference);
    ENTITLE_REQUIRE_REFUSED(
        txn->memberships().Insert(MakeMembership(OrganizationId(999999), w.i1)),
        StatusCode::kFailedPrecondition, Reason::kMissingReference);
    REQUIRE(MustCount(txn->memberships()) == 0);
    // Still usable.
    MustInsert(txn->memberships(), MakeMembership(w.o1, w.i1));
    MustCommit(*txn);
  }
  auto txn = BeginRead(*store);
  auto all = ListAll(txn->memberships());
  REQUIRE(all.size() == 1);
  REQUIRE(all[0].identity_id == w.i1);
  MustCommit(*txn);
}

TEMPLATE_TEST_CASE(
    "store: an identity still named by a membership cannot be deleted until "
    "the membership is",
    "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);
  Put(*store, MakeMembership(w.o1, w.i1));
  {
    auto txn = BeginWrite(*store);
    ENTITLE_REQUIRE_REFUSED(txn->identities().Delete(w.i1),
                            StatusCode::kFailedPrecondition,
                            Reason::kStillReferenced);
    ENTITLE_REQUIRE_REFUSED(txn->organizations().Delete(w.o1),
                            StatusCode::kFailedPrecondition,
                            Reason::kStillReferenced);
    ENTITLE_REQUIRE_OK(txn->identities().Get(w.i1));
    ENTITLE_REQUIRE_OK(txn->organizations().Get(w.o1));
    MustCommit(*txn);
  }
  {
    auto txn = BeginRead(*store);
    ENTITLE_REQUIRE_OK(txn->identities().Get(w.i1));
    REQUIRE(MustCount(txn->memberships()) == 1);
    MustCommit(*txn);
  }
  {
    auto txn = BeginWrite(*store);
    ENTITLE_REQUIRE_OK(txn->memberships().Delete(MembershipKey{w.o1, w.i1}));
    ENTITLE_REQUIRE_OK(txn->identities().Delete(w.i1));
    ENTITLE_REQUIRE_OK(txn->organizations().Delete(w.o1));
    MustCommit(*txn);
  }
  auto txn = BeginRead(*store);
  ENTITLE_REQUIRE_REFUSED(txn->identities().Get(w.i1), StatusCode::kNotFound,
                          Reason::kNotFound);
  MustCommit(*txn);
}

TEMPLATE_TEST_CASE(
    "store: every reference field is checked on insert and on delete",
    "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);
  EntitlementId e1 = Put(*store, MakeEntitlement(w.o1, "A"));
  GroupId g1 = Put(*store, MakeGroup(w.o1, "Engineering"));
  RoleId r1 = Put(*store, MakeRole(w.o1, "Administrator"));
  ProjectId p1 = Put(*store, MakeProject(w.o1, e1));
  Put(*store, MakeMembership(w.o1, w.i1));
  const IdentityId no_identity(999001);
  const OrganizationId no_org(999002);
  const GroupId no_group(999003);
  const RoleId no_role(999004);
  const EntitlementId no_ent(999005);
  const ProjectId no_project(999006);

  auto refused = [&](auto&& insert) {
    auto txn = BeginWrite(*store);
    ENTITLE_REQUIRE_REFUSED(insert(*txn), StatusCode::kFailedPrecondition,
                            Reason::kMissingReference);
    txn->Rollback();
  };
  SECTION(
      "roles, groups, domains, request links, entitlements, jobs need "
      "their organization") {
    refused([&](Transaction& t) {
      return t.roles().Insert(MakeRole(no_org, "R"));
    });
    refused([&](Transaction& t) {
      return t.groups().Insert(MakeGroup(no_org, "G"));
    });
    refused([&](Transaction& t) {
      return t.domains().Insert(MakeDomain(no_org, "a.com"));
    });
    refused([&](Transaction& t) {
      return t.request_links().Insert(MakeRequestLink(no_org, TokenHash(1)));
    });
    refused([&](Transaction& t) {
      return t.entitlements().Insert(MakeEntitlement(no_org));
    });
    refused([&](Transaction& t) { return t.jobs().Insert(MakeJob(no_org)); });
    // `created_by`, `invited_by` and `decided_by` are not `*_id` fields, so
    // records.h makes them no references: not checked here.
  }
  SECTION("role grants need the membership and the role") {
    // i2 is not a member of o1.
    refused([&](Transaction& t) {
      return t.role_grants().Insert(MakeRoleGrant(w.o1, w.i2, r1));
    });
    refused([&](Transaction& t) {
      return t.role_grants().Insert(MakeRoleGrant(w.o1, w.i1, no_role));
    });
  }
  SECTION(
      "group members, assignments, pool grants, project members, link "
      "tokens need their parents") {
    refused([&](Transaction& t) {
      return t.group_members().Insert(MakeGroupMember(no_group, w.i1));
    });
    refused([&](Transaction& t) {
      return t.group_members().Insert(MakeGroupMember(g1, no_identity));
    });
    refused([&](Transaction& t) {
      return t.license_assignments().Insert(MakeAssignment(no_ent, w.i1));
    });
    refused([&](Transaction& t) {
      return t.license_assignments().Insert(MakeAssignment(e1, no_identity));
    });
    refused([&](Transaction& t) {
      return t.pool_grants().Insert(MakePoolGrant(no_ent, w.i1));
    });
    refused([&](Transaction& t) {
      return t.pool_grants().Insert(MakePoolGrant(e1, no_identity));
    });
    refused([&](Transaction& t) {
      return t.pool_grants().Insert(MakeGroupPoolGrant(e1, no_group));
    });
    refused([&](Transaction& t) {
      return t.projects().Insert(MakeProject(w.o1, no_ent));
    });
    refused([&](Transaction& t) {
      return t.projects().Insert(MakeProject(no_org, e1));
    });
    refused([&](Transaction& t) {
      return t.project_members().Insert(
          MakeProjectMember(w.o1, no_project, w.i1));
    });
    refused([&](Transaction& t) {
      return t.project_members().Insert(
          MakeProjectMember(w.o1, p1, no_identity));
    });
    // A project member names its organization too.
    refused([&](Transaction& t) {
      return t.project_members().Insert(MakeProjectMember(no_org, p1, w.i1));
    });
    refused([&](Transaction& t) {
      return t.link_tokens().Insert(MakeLinkToken(no_identity, TokenHash(1)));
    });
  }
  SECTION(
      "invitations and join requests need their organization, group and "
      "requester") {
    refused([&](Transaction& t) {
      return t.invitations().Insert(
          MakeInvitation(no_org, "x@example.com", TokenHash(1)));
    });
    refused([&](Transaction& t) {
      InvitationRecord r = MakeInvitation(w.o1, "x@example.com", TokenHash(1));
      r.kind = InvitationKind::kGroup;
      r.group_id = no_group;
      return t.invitations().Insert(r);
    });
    refused([&](Transaction& t) {
      return t.join_requests().Insert(MakeJoinRequest(no_org, w.i1));
    });
    refused([&](Transaction& t) {
      return t.join_requests().Insert(MakeJoinRequest(w.o1, no_identity));
    });
  }
  SECTION("an update cannot point at a missing record either") {
    ProjectRecord p = MakeProject(w.o1, e1, "Other");
    p.id = Put(*store, p);
    p.entitlement_id = no_ent;
    auto txn = BeginWrite(*store);
    ENTITLE_REQUIRE_REFUSED(txn->projects().Update(p),
                            StatusCode::kFailedPrecondition,
                            Reason::kMissingReference);
    auto got = txn->projects().Get(p.id);
    ENTITLE_REQUIRE_OK(got);
    REQUIRE(got->entitlement_id == e1);
    txn->Rollback();
  }
  SECTION("a parent still named by a child cannot be deleted") {
    Put(*store, MakeGroupMember(g1, w.i1));
    Put(*store, MakeRoleGrant(w.o1, w.i1, r1));
    Put(*store, MakeProjectMember(w.o1, p1, w.i2));
    Put(*store, MakeLinkToken(w.i3, TokenHash(5)));
    auto still = [&](auto&& del) {
      auto txn = BeginWrite(*store);
      ENTITLE_REQUIRE_REFUSED(del(*txn), StatusCode::kFailedPrecondition,
                              Reason::kStillReferenced);
      txn->Rollback();
    };
    still([&](Transaction& t) { return t.groups().Delete(g1); });
    still([&](Transaction& t) { return t.roles().Delete(r1); });
    still([&](Transaction& t) {
      return t.memberships().Delete(MembershipKey{w.o1, w.i1});  // role grant
    });
    still([&](Transaction& t) { return t.entitlements().Delete(e1); });
    still([&](Transaction& t) { return t.projects().Delete(p1); });
    still([&](Transaction& t) { return t.identities().Delete(w.i2); });
    still([&](Transaction& t) { return t.identities().Delete(w.i3); });
    still([&](Transaction& t) { return t.organizations().Delete(w.o1); });
  }
  SECTION(
      "an organization named only by a project member's organization_id "
      "cannot be deleted") {
    // The services keep a member's organization equal to its project's; the
    // store only checks that it exists, so o2 here is named by nothing else.
    Put(*store, MakeProjectMember(w.o2, p1, w.i3));
    auto txn = BeginWrite(*store);
    ENTITLE_REQUIRE_REFUSED(txn->organizations().Delete(w.o2),
                            StatusCode::kFailedPrecondition,
                            Reason::kStillReferenced);
    ENTITLE_REQUIRE_OK(txn->organizations().Get(w.o2));
    ENTITLE_REQUIRE_OK(
        txn->project_members().Delete(ProjectMemberKey{p1, w.i3}));
    ENTITLE_REQUIRE_OK(txn->organizations().Delete(w.o2));
    txn->Rollback();
  }
}

TEMPLATE_TEST_CASE(
    "store: audit and outbox records may name records that do not exist",
    "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);
  AuditRecord a = MakeAudit("identity.delete");
  a.actor_id = IdentityId(555555);
  a.organization_id = OrganizationId(666666);
  AuditId id = Put(*store, a);
  Put(*store, MakeOutbox("gone@example.com"));
  // And they do not hold what they name: the actor can be deleted.
  AuditRecord b = MakeAudit("identity.update");
  b.actor_id = w.i1;
  b.organization_id = w.o1;
  Put(*store, b);
  {
    auto txn = BeginWrite(*store);
    ENTITLE_REQUIRE_OK(txn->identities().Delete(w.i1));
    ENTITLE_REQUIRE_OK(txn->organizations().Delete(w.o1));
    MustCommit(*txn);
  }
  auto txn = BeginRead(*store);
  auto got = txn->audit().Get(id);
  ENTITLE_REQUIRE_OK(got);
  REQUIRE(got->actor_id == IdentityId(555555));
  REQUIRE(MustCount(txn->audit()) == 2);
  REQUIRE(MustCount(txn->outbox()) == 1);
  MustCommit(*txn);
}

// ======================================================================= ids

TEMPLATE_TEST_CASE(
    "store: ids are positive, increasing, and never reused after a delete",
    "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  std::vector<IdentityId> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(
        Put(*store, MakeIdentity("u" + std::to_string(i) + "@example.com")));
  }
  REQUIRE(ids[0].valid());
  REQUIRE(ids[0] < ids[1]);
  REQUIRE(ids[1] < ids[2]);
  {
    auto txn = BeginWrite(*store);
    ENTITLE_REQUIRE_OK(txn->identities().Delete(ids[2]));
    MustCommit(*txn);
  }
  IdentityId next = Put(*store, MakeIdentity("u3@example.com"));
  REQUIRE(next > ids[2]);
  // Also when every record is gone.
  {
    auto txn = BeginWrite(*store);
    for (IdentityId id : {ids[0], ids[1], next}) {
      ENTITLE_REQUIRE_OK(txn->identities().Delete(id));
    }
    MustCommit(*txn);
  }
  IdentityId after_empty = Put(*store, MakeIdentity("u4@example.com"));
  REQUIRE(after_empty > next);

  if constexpr (TestType::Reopenable()) {
    // And across reopening the file.
    {
      auto txn = BeginWrite(*store);
      ENTITLE_REQUIRE_OK(txn->identities().Delete(after_empty));
      MustCommit(*txn);
    }
    store.reset();
    store = backend.Open();
    IdentityId reopened = Put(*store, MakeIdentity("u5@example.com"));
    REQUIRE(reopened > after_empty);
  }
}

// ================================================================== rollback

// One record of every kind, linked as the services would link them.
void SeedEveryKind(Store& store) {
  auto txn = BeginWrite(store);
  auto& t = *txn;
  IdentityId i1 = MustInsert(t.identities(), MakeIdentity("one@example.com"));
  IdentityId i2 = MustInsert(t.identities(), MakeIdentity("two@example.com"));
  OrganizationId o1 = MustInsert(t.organizations(), MakeOrganization("Acme"));
  MustInsert(t.memberships(),
             MakeMembership(o1, i1, MembershipKind::kEmployee));
  MustInsert(t.memberships(), MakeMembership(o1, i2));
  RoleId r1 = MustInsert(t.roles(), MakeRole(o1, "Administrator"));
  MustInsert(t.role_grants(), MakeRoleGrant(o1, i1, r1));
  GroupId g1 = MustInsert(t.groups(), MakeGroup(o1, "Engineering"));
  MustInsert(t.group_members(), MakeGroupMember(g1, i1));
  MustInsert(t.domains(), MakeDomain(o1, "acme.com", DomainStatus::kVerified));
  MustInsert(t.invitations(),
             MakeInvitation(o1, "three@example.com", TokenHash(1)));
  MustInsert(t.request_links(), MakeRequestLink(o1, TokenHash(2)));
  MustInsert(t.join_requests(), MakeJoinRequest(o1, i2));
  EntitlementId e1 = MustInsert(t.entitlements(), MakeEntitlement(o1));
  MustInsert(t.license_assignments(), MakeAssignment(e1, i1));
  MustInsert(t.pool_grants(), MakePoolGrant(e1, i2));
  MustInsert(t.pool_grants(), MakeGroupPoolGrant(e1, g1));
  ProjectId p1 = MustInsert(t.projects(), MakeProject(o1, e1));
  MustInsert(t.project_members(), MakeProjectMember(o1, p1, i1));
  MustInsert(t.jobs(), MakeJob(o1));
  MustInsert(t.audit(), MakeAudit("organization.create"));
  MustInsert(t.outbox(), MakeOutbox("one@example.com"));
  MustInsert(t.link_tokens(), MakeLinkToken(i2, TokenHash(3)));
  MustInsert(t.device_checks(), MakeDeviceCheck(i1, "laptop"));
  MustInsert(t.pool_usage(), PoolUsageRecord{e1, At(0), 4, 1});
  MustInsert(t.throttles(), ThrottleRecord{ThrottleKind::kSignInIdentity,
                                           "one@example.com",
                                           {At(1), At(2)},
                                           At(3)});
  MustCommit(t);
}

// Inserts, updates and deletes across many tables, checking each is visible
// inside the transaction (so a rollback has something to undo).
void ScribbleEverywhere(Transaction& t, const Snapshot& s) {
  // Inserts.
  IdentityId i3 = MustInsert(t.identities(), MakeIdentity("new@example.com"));
  OrganizationId o2 = MustInsert(t.organizations(), MakeOrganization("New"));
  MustInsert(t.memberships(),
             MakeMembership(o2, i3, MembershipKind::kEmployee));
  MustInsert(t.audit(), MakeAudit("scribble"));
  MustInsert(t.outbox(), MakeOutbox("new@example.com"));
  EntitlementId e2 = MustInsert(t.entitlements(), MakeEntitlement(o2, "NEW"));
  MustInsert(t.license_assignments(), MakeAssignment(e2, i3));
  MustInsert(t.domains(),
             MakeDomain(o2, "new.example", DomainStatus::kVerified));
  ENTITLE_REQUIRE_OK(t.identities().Get(i3));
  // Updates.
  IdentityRecord id = s.identities.at(0);
  id.display_name = "Changed";
  id.locked = true;
  id.last_login_at = At(42);
  ENTITLE_REQUIRE_OK(t.identities().Update(id));
  OrganizationRecord org = s.organizations.at(0);
  org.name = "Renamed";
  ENTITLE_REQUIRE_OK(t.organizations().Update(org));
  MembershipRecord m = s.memberships.at(1);
  m.status = MembershipStatus::kPendingProfile;
  ENTITLE_REQUIRE_OK(t.memberships().Update(m));
  EntitlementRecord e = s.entitlements.at(0);
  e.seats = 999;
  e.countries = {"DE"};
  ENTITLE_REQUIRE_OK(t.entitlements().Update(e));
  InvitationRecord inv = s.invitations.at(0);
  inv.status = InvitationStatus::kRevoked;
  ENTITLE_REQUIRE_OK(t.invitations().Update(inv));
  REQUIRE(t.identities().Get(id.id)->display_name == "Changed");
  // Deletes.
  ENTITLE_REQUIRE_OK(t.group_members().Delete(KeyOf(s.group_members.at(0))));
  ENTITLE_REQUIRE_OK(t.link_tokens().Delete(s.link_tokens.at(0).id));
  for (const auto& g : s.pool_grants) {
    ENTITLE_REQUIRE_OK(t.pool_grants().Delete(g.id));
  }
  ENTITLE_REQUIRE_OK(
      t.project_members().Delete(KeyOf(s.project_members.at(0))));
  ENTITLE_REQUIRE_OK(t.jobs().Delete(s.jobs.at(0).id));
  ENTITLE_REQUIRE_OK(t.audit().Delete(s.audit.at(0).id));
  ENTITLE_REQUIRE_OK(t.device_checks().Delete(KeyOf(s.device_checks.at(0))));
  ThrottleRecord throttle = s.throttles.at(0);
  throttle.events.push_back(At(4));
  ENTITLE_REQUIRE_OK(t.throttles().Update(throttle));
  MustInsert(t.throttles(),
             ThrottleRecord{ThrottleKind::kMail, "new@example.com", {}, At(5)});
  REQUIRE(MustCount(t.pool_grants()) == 0);
  REQUIRE(MustCount(t.link_tokens()) == 0);
  REQUIRE(MustCount(t.device_checks()) == 0);
}

TEMPLATE_TEST_CASE(
    "store: a rolled-back or abandoned write transaction leaves every table "
    "as it was",
    "[store][rollback]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  SeedEveryKind(*store);
  const Snapshot before = TakeSnapshot(*store);
  REQUIRE(before.identities.size() == 2);
  REQUIRE(before.link_tokens.size() == 1);

  SECTION("Rollback()") {
    auto txn = BeginWrite(*store);
    ScribbleEverywhere(*txn, before);
    txn->Rollback();
    txn->Rollback();  // Safe to call twice.
    txn.reset();
    REQUIRE(TakeSnapshot(*store) == before);
  }
  SECTION("destroyed without Commit") {
    {
      auto txn = BeginWrite(*store);
      ScribbleEverywhere(*txn, before);
    }
    REQUIRE(TakeSnapshot(*store) == before);
  }
  SECTION("a refused write in the middle, then Rollback()") {
    auto txn = BeginWrite(*store);
    ScribbleEverywhere(*txn, before);
    ENTITLE_REQUIRE_REFUSED(
        txn->identities().Insert(MakeIdentity("one@example.com")),
        StatusCode::kAlreadyExists, Reason::kDuplicate);
    txn->Rollback();
    REQUIRE(TakeSnapshot(*store) == before);
  }
  // After any of these the store still takes writes.
  Put(*store, MakeIdentity("after@example.com"));
  Snapshot after = TakeSnapshot(*store);
  REQUIRE(after.identities.size() == 3);
  if constexpr (TestType::Reopenable()) {
    store.reset();
    store = backend.Open();
    REQUIRE(TakeSnapshot(*store) == after);
  }
}

// ====================================================== finished, read-only

TEMPLATE_TEST_CASE("store: a finished transaction refuses every further call",
                   "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  IdentityId id = Put(*store, MakeIdentity("a@example.com"));

  // `writes`: also try writes (for a read transaction a write is refused
  // for two reasons at once, so only its reads are checked).
  auto check_finished = [&](Transaction& t, bool writes) {
    const auto code = StatusCode::kFailedPrecondition;
    const auto reason = Reason::kTransactionFinished;
    ENTITLE_REQUIRE_REFUSED(t.identities().Get(id), code, reason);
    ENTITLE_REQUIRE_REFUSED(t.identities().List({}, {}), code, reason);
    ENTITLE_REQUIRE_REFUSED(t.identities().Count({}), code, reason);
    ENTITLE_REQUIRE_REFUSED(t.memberships().Count({}), code, reason);
    if (writes) {
      ENTITLE_REQUIRE_REFUSED(
          t.identities().Insert(MakeIdentity("b@example.com")), code, reason);
      IdentityRecord r = MakeIdentity("c@example.com");
      r.id = id;
      ENTITLE_REQUIRE_REFUSED(t.identities().Update(r), code, reason);
      ENTITLE_REQUIRE_REFUSED(t.identities().Delete(id), code, reason);
      ENTITLE_REQUIRE_REFUSED(t.audit().Insert(MakeAudit("x")), code, reason);
    }
    ENTITLE_REQUIRE_REFUSED(t.Commit(), code, reason);
    t.Rollback();  // Harmless.
  };
  SECTION("after Commit of a write transaction") {
    auto txn = BeginWrite(*store);
    MustInsert(txn->identities(), MakeIdentity("d@example.com"));
    MustCommit(*txn);
    check_finished(*txn, true);
  }
  SECTION("after Rollback of a write transaction") {
    auto txn = BeginWrite(*store);
    MustInsert(txn->identities(), MakeIdentity("d@example.com"));
    txn->Rollback();
    check_finished(*txn, true);
  }
  SECTION("after Commit of a read transaction") {
    auto txn = BeginRead(*store);
    MustCommit(*txn);
    check_finished(*txn, false);
  }
  // Nothing the finished transactions were asked to do happened.
  auto txn = BeginRead(*store);
  auto all = ListAll(txn->identities());
  MustCommit(*txn);
  REQUIRE(all.size() <= 2);
  REQUIRE(all[0].id == id);
  REQUIRE(all[0].email == E("a@example.com"));
  for (const auto& r : all) REQUIRE(r.email != E("b@example.com"));
  REQUIRE(MustCount(BeginRead(*store)->audit()) == 0);
}

TEMPLATE_TEST_CASE("store: a read transaction refuses writes", "[store]",
                   ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  World w = SeedPeople(*store);
  const Snapshot before = TakeSnapshot(*store);
  {
    auto txn = BeginRead(*store);
    REQUIRE(txn->mode() == TransactionMode::kRead);
    const auto code = StatusCode::kFailedPrecondition;
    const auto reason = Reason::kReadOnlyTransaction;
    ENTITLE_REQUIRE_REFUSED(
        txn->identities().Insert(MakeIdentity("new@example.com")), code,
        reason);
    IdentityRecord r = MakeIdentity("changed@example.com");
    r.id = w.i1;
    ENTITLE_REQUIRE_REFUSED(txn->identities().Update(r), code, reason);
    ENTITLE_REQUIRE_REFUSED(txn->identities().Delete(w.i3), code, reason);
    ENTITLE_REQUIRE_REFUSED(txn->audit().Insert(MakeAudit("x")), code, reason);
    ENTITLE_REQUIRE_REFUSED(
        txn->memberships().Insert(MakeMembership(w.o1, w.i1)), code, reason);
    // Reads still work in it.
    ENTITLE_REQUIRE_OK(txn->identities().Get(w.i1));
    REQUIRE(MustCount(txn->identities()) == 3);
    ENTITLE_REQUIRE_OK(txn->Commit());
  }
  REQUIRE(TakeSnapshot(*store) == before);
  auto txn = BeginWrite(*store);
  REQUIRE(txn->mode() == TransactionMode::kWrite);
  txn->Rollback();
}

// ==================================================================== paging

TEMPLATE_TEST_CASE("store: paging returns stable, complete pages in key order",
                   "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  {
    auto txn = BeginWrite(*store);
    for (int i = 0; i < 25; ++i) {
      // Emails in descending order, so email order differs from key order.
      MustInsert(
          txn->identities(),
          MakeIdentity("user" + std::to_string(99 - i) + "@example.com"));
    }
    MustCommit(*txn);
  }
  auto read_pages = [&](Store& s) {
    std::vector<IdentityRecord> all;
    std::vector<size_t> sizes;
    std::vector<bool> more;
    auto txn = BeginRead(s);
    for (int64_t offset = 0; offset < 28; offset += 7) {
      auto page = txn->identities().List({}, {.offset = offset, .limit = 7});
      ENTITLE_REQUIRE_OK(page);
      sizes.push_back(page->items.size());
      more.push_back(page->has_more);
      all.insert(all.end(), page->items.begin(), page->items.end());
    }
    MustCommit(*txn);
    REQUIRE(sizes == std::vector<size_t>{7, 7, 7, 4});
    REQUIRE(more == std::vector<bool>{true, true, true, false});
    return all;
  };
  std::vector<IdentityRecord> paged = read_pages(*store);
  std::vector<IdentityRecord> full;
  {
    auto txn = BeginRead(*store);
    full = ListAll(txn->identities());
    // Past the end: empty, nothing more.
    auto past = txn->identities().List({}, {.offset = 25, .limit = 7});
    ENTITLE_REQUIRE_OK(past);
    REQUIRE(past->items.empty());
    REQUIRE_FALSE(past->has_more);
    auto exact = txn->identities().List({}, {.offset = 0, .limit = 25});
    ENTITLE_REQUIRE_OK(exact);
    REQUIRE(exact->items.size() == 25);
    REQUIRE_FALSE(exact->has_more);
    MustCommit(*txn);
  }
  REQUIRE(full.size() == 25);
  REQUIRE(paged == full);
  for (size_t i = 1; i < full.size(); ++i) REQUIRE(full[i - 1].id < full[i].id);
  REQUIRE(read_pages(*store) == paged);  // Same again.
  if constexpr (TestType::Reopenable()) {
    store.reset();
    store = backend.Open();
    REQUIRE(read_pages(*store) == paged);
  }
}

TEMPLATE_TEST_CASE("store: an invalid page request is refused", "[store]",
                   ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  Put(*store, MakeIdentity("a@example.com"));
  auto txn = BeginRead(*store);
  const auto code = StatusCode::kInvalidArgument;
  const auto reason = Reason::kInvalidArgument;
  ENTITLE_REQUIRE_REFUSED(txn->identities().List({}, {.offset = 0, .limit = 0}),
                          code, reason);
  ENTITLE_REQUIRE_REFUSED(
      txn->identities().List({}, {.offset = 0, .limit = -1}), code, reason);
  ENTITLE_REQUIRE_REFUSED(
      txn->identities().List(
          {}, {.offset = 0, .limit = PageRequest::kMaxPageLimit + 1}),
      code, reason);
  ENTITLE_REQUIRE_REFUSED(
      txn->identities().List({}, {.offset = -1, .limit = 5}), code, reason);
  ENTITLE_REQUIRE_REFUSED(
      txn->memberships().List({}, {.offset = -7, .limit = 5}), code, reason);
  ENTITLE_REQUIRE_REFUSED(txn->audit().List({}, {.offset = 0, .limit = 0}),
                          code, reason);
  // The bounds themselves are fine.
  ENTITLE_REQUIRE_OK(txn->identities().List(
      {}, {.offset = 0, .limit = PageRequest::kMaxPageLimit}));
  ENTITLE_REQUIRE_OK(txn->identities().List({}, {.offset = 0, .limit = 1}));
  // The transaction is still usable.
  REQUIRE(MustCount(txn->identities()) == 1);
  MustCommit(*txn);
}

TEMPLATE_TEST_CASE("store: link kinds list in composite-key order", "[store]",
                   ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  std::vector<IdentityId> people;
  std::vector<OrganizationId> orgs;
  {
    auto txn = BeginWrite(*store);
    for (int i = 0; i < 4; ++i) {
      people.push_back(
          MustInsert(txn->identities(),
                     MakeIdentity("p" + std::to_string(i) + "@example.com")));
    }
    for (int i = 0; i < 3; ++i) {
      orgs.push_back(MustInsert(txn->organizations(),
                                MakeOrganization("O" + std::to_string(i))));
    }
    // Scrambled: neither insertion order nor identity-major order.
    const int pairs[][2] = {{2, 0}, {0, 3}, {1, 1}, {0, 0}, {2, 3},
                            {1, 2}, {0, 1}, {2, 1}, {1, 0}};
    for (const auto& p : pairs) {
      MustInsert(txn->memberships(), MakeMembership(orgs[p[0]], people[p[1]]));
    }
    MustCommit(*txn);
  }
  auto txn = BeginRead(*store);
  auto all = ListAll(txn->memberships());
  REQUIRE(all.size() == 9);
  std::vector<std::pair<OrganizationId, IdentityId>> got;
  for (const auto& m : all) got.emplace_back(m.organization_id, m.identity_id);
  std::vector<std::pair<OrganizationId, IdentityId>> want = {
      {orgs[0], people[0]}, {orgs[0], people[1]}, {orgs[0], people[3]},
      {orgs[1], people[0]}, {orgs[1], people[1]}, {orgs[1], people[2]},
      {orgs[2], people[0]}, {orgs[2], people[1]}, {orgs[2], people[3]}};
  REQUIRE(got == want);
  // Pages of a filtered listing keep that order.
  auto page = txn->memberships().List({.identity_id = people[0]},
                                      {.offset = 1, .limit = 1});
  ENTITLE_REQUIRE_OK(page);
  REQUIRE(page->items.size() == 1);
  REQUIRE(page->items[0].organization_id == orgs[1]);
  REQUIRE(page->has_more);
  MustCommit(*txn);
}

// ============================================================= project users

// PRJ-4's store query: the distinct identities among an organization's
// project members (by the members' organization_id), each with its row count,
// in identity order, paged like Table::List.
TEMPLATE_TEST_CASE("store: project users are grouped, counted and paged",
                   "[store][projects]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  std::vector<IdentityId> ids;
  OrganizationId oa, ob, empty;
  ProjectId a1, a2, a3, b1;
  {
    auto txn = BeginWrite(*store);
    for (int i = 0; i < 6; ++i) {
      ids.push_back(
          MustInsert(txn->identities(),
                     MakeIdentity("pu" + std::to_string(i) + "@example.com")));
    }
    oa = MustInsert(txn->organizations(), MakeOrganization("A"));
    ob = MustInsert(txn->organizations(), MakeOrganization("B"));
    empty = MustInsert(txn->organizations(), MakeOrganization("Empty"));
    EntitlementId ea = MustInsert(txn->entitlements(), MakeEntitlement(oa));
    EntitlementId eb = MustInsert(txn->entitlements(), MakeEntitlement(ob));
    MustInsert(txn->entitlements(), MakeEntitlement(empty));
    a1 = MustInsert(txn->projects(), MakeProject(oa, ea, "A1"));
    a2 = MustInsert(txn->projects(), MakeProject(oa, ea, "A2"));
    ProjectRecord archived = MakeProject(oa, ea, "A3");
    archived.status = ProjectStatus::kArchived;  // Counted all the same.
    a3 = MustInsert(txn->projects(), archived);
    b1 = MustInsert(txn->projects(), MakeProject(ob, eb, "B1"));
    // The empty organization has a project, but no members in it.
    MustInsert(txn->projects(), MakeProject(empty, ea, "E1"));
    // Scrambled: neither identity nor project order.
    const std::pair<ProjectId, int> rows[] = {
        {a3, 4}, {a1, 0}, {b1, 2}, {a2, 5}, {a3, 0}, {a1, 3},
        {a2, 1}, {b1, 0}, {a3, 3}, {a2, 0}, {a1, 5}};
    for (const auto& [project, who] : rows) {
      const OrganizationId org = project == b1 ? ob : oa;
      MustInsert(txn->project_members(),
                 MakeProjectMember(
                     org, project, ids[who],
                     who % 2 ? ProjectRole::kAdmin : ProjectRole::kUser));
    }
    MustCommit(*txn);
  }
  const std::vector<ProjectUserCount> want_a = {
      {ids[0], 3}, {ids[1], 1}, {ids[3], 2}, {ids[4], 1}, {ids[5], 2}};
  const std::vector<ProjectUserCount> want_b = {{ids[0], 1}, {ids[2], 1}};
  auto slice = [](const std::vector<ProjectUserCount>& v, int64_t offset,
                  int64_t limit) {
    std::vector<ProjectUserCount> out;
    for (int64_t i = offset;
         i < offset + limit && i < static_cast<int64_t>(v.size()); ++i) {
      out.push_back(v[static_cast<size_t>(i)]);
    }
    return out;
  };

  SECTION("grouped and counted in a read transaction, in identity order") {
    auto txn = BeginRead(*store);
    REQUIRE(txn->mode() == TransactionMode::kRead);
    auto all_a = txn->ProjectUsers(oa, {});
    ENTITLE_REQUIRE_OK(all_a);
    REQUIRE(all_a->items == want_a);
    REQUIRE_FALSE(all_a->has_more);
    auto all_b = txn->ProjectUsers(ob, {});
    ENTITLE_REQUIRE_OK(all_b);
    REQUIRE(all_b->items == want_b);
    REQUIRE_FALSE(all_b->has_more);
    auto count_a = txn->CountProjectUsers(oa);
    ENTITLE_REQUIRE_OK(count_a);
    REQUIRE(*count_a == 5);
    auto count_b = txn->CountProjectUsers(ob);
    ENTITLE_REQUIRE_OK(count_b);
    REQUIRE(*count_b == 2);
    // The counts agree with the plain listing of the members.
    for (const ProjectUserCount& user : want_a) {
      REQUIRE(MustCount(txn->project_members(),
                        {.identity_id = user.identity_id,
                         .organization_id = oa}) == user.project_count);
    }
    // An organization without members, and one that does not exist: an
    // empty page and 0, not an error.
    for (OrganizationId org : {empty, OrganizationId(999999)}) {
      auto none = txn->ProjectUsers(org, {});
      ENTITLE_REQUIRE_OK(none);
      REQUIRE(none->items.empty());
      REQUIRE_FALSE(none->has_more);
      auto zero = txn->CountProjectUsers(org);
      ENTITLE_REQUIRE_OK(zero);
      REQUIRE(*zero == 0);
    }
    MustCommit(*txn);
  }

  SECTION(
      "every offset and limit around the end gives the right slice and "
      "has_more") {
    auto txn = BeginRead(*store);
    const int64_t n = static_cast<int64_t>(want_a.size());
    for (int64_t limit = 1; limit <= n + 2; ++limit) {
      for (int64_t offset = 0; offset <= n + 2; ++offset) {
        INFO("offset " << offset << ", limit " << limit);
        auto page = txn->ProjectUsers(oa, {.offset = offset, .limit = limit});
        ENTITLE_REQUIRE_OK(page);
        REQUIRE(page->items == slice(want_a, offset, limit));
        REQUIRE(page->has_more == (offset + limit < n));
      }
    }
    // Walking pages of 2 gives every user once.
    std::vector<ProjectUserCount> walked;
    std::vector<bool> more;
    PageRequest request{.offset = 0, .limit = 2};
    for (;;) {
      auto page = txn->ProjectUsers(oa, request);
      ENTITLE_REQUIRE_OK(page);
      walked.insert(walked.end(), page->items.begin(), page->items.end());
      more.push_back(page->has_more);
      if (!page->has_more) break;
      request.offset += request.limit;
    }
    REQUIRE(walked == want_a);
    REQUIRE(more == std::vector<bool>{true, true, false});
    // The largest limit, and an offset far past the end.
    auto max = txn->ProjectUsers(
        oa, {.offset = 0, .limit = PageRequest::kMaxPageLimit});
    ENTITLE_REQUIRE_OK(max);
    REQUIRE(max->items == want_a);
    REQUIRE_FALSE(max->has_more);
    auto far = txn->ProjectUsers(oa, {.offset = 1000000, .limit = 10});
    ENTITLE_REQUIRE_OK(far);
    REQUIRE(far->items.empty());
    REQUIRE_FALSE(far->has_more);
    // Exactly the last one, and exactly the first of two.
    auto last = txn->ProjectUsers(ob, {.offset = 1, .limit = 1});
    ENTITLE_REQUIRE_OK(last);
    REQUIRE(last->items == slice(want_b, 1, 1));
    REQUIRE_FALSE(last->has_more);
    auto first = txn->ProjectUsers(ob, {.offset = 0, .limit = 1});
    ENTITLE_REQUIRE_OK(first);
    REQUIRE(first->items == slice(want_b, 0, 1));
    REQUIRE(first->has_more);
    MustCommit(*txn);
  }

  SECTION(
      "an invalid page request is refused exactly as Table::List "
      "refuses it") {
    auto txn = BeginRead(*store);
    const PageRequest bad[] = {
        {.offset = 0, .limit = 0},
        {.offset = 0, .limit = -1},
        {.offset = 0, .limit = PageRequest::kMaxPageLimit + 1},
        {.offset = -1, .limit = 5},
        {.offset = -7, .limit = 0},
    };
    for (const PageRequest& page : bad) {
      INFO("offset " << page.offset << ", limit " << page.limit);
      auto listed = txn->project_members().List({}, page);
      ENTITLE_REQUIRE_REFUSED(listed, StatusCode::kInvalidArgument,
                              Reason::kInvalidArgument);
      auto users = txn->ProjectUsers(oa, page);
      ENTITLE_REQUIRE_REFUSED(users, StatusCode::kInvalidArgument,
                              Reason::kInvalidArgument);
      INFO("ProjectUsers: " << users.status().ToString());
      INFO("List: " << listed.status().ToString());
      REQUIRE(users.status() == listed.status());
      // Also for an organization with no members.
      ENTITLE_REQUIRE_REFUSED(txn->ProjectUsers(empty, page),
                              StatusCode::kInvalidArgument,
                              Reason::kInvalidArgument);
    }
    // The transaction is still usable.
    auto count = txn->CountProjectUsers(oa);
    ENTITLE_REQUIRE_OK(count);
    REQUIRE(*count == 5);
    MustCommit(*txn);
  }

  SECTION(
      "a write transaction sees its own changes; a rollback undoes "
      "them") {
    {
      auto txn = BeginWrite(*store);
      // i2 joins a project of A; i1 leaves A's only project it was in.
      MustInsert(txn->project_members(), MakeProjectMember(oa, a1, ids[2]));
      ENTITLE_REQUIRE_OK(
          txn->project_members().Delete(ProjectMemberKey{a2, ids[1]}));
      // Grouping is by the member's organization_id, not by its project's.
      MustInsert(txn->project_members(), MakeProjectMember(ob, a1, ids[4]));
      auto users = txn->ProjectUsers(oa, {});
      ENTITLE_REQUIRE_OK(users);
      const std::vector<ProjectUserCount> changed_a = {
          {ids[0], 3}, {ids[2], 1}, {ids[3], 2}, {ids[4], 1}, {ids[5], 2}};
      REQUIRE(users->items == changed_a);
      auto users_b = txn->ProjectUsers(ob, {});
      ENTITLE_REQUIRE_OK(users_b);
      const std::vector<ProjectUserCount> changed_b = {
          {ids[0], 1}, {ids[2], 1}, {ids[4], 1}};
      REQUIRE(users_b->items == changed_b);
      auto count_b = txn->CountProjectUsers(ob);
      ENTITLE_REQUIRE_OK(count_b);
      REQUIRE(*count_b == 3);
      txn->Rollback();
    }
    auto txn = BeginRead(*store);
    auto users = txn->ProjectUsers(oa, {});
    ENTITLE_REQUIRE_OK(users);
    REQUIRE(users->items == want_a);
    auto users_b = txn->ProjectUsers(ob, {});
    ENTITLE_REQUIRE_OK(users_b);
    REQUIRE(users_b->items == want_b);
    MustCommit(*txn);
  }

  SECTION("a committed change shows in the next transaction") {
    {
      auto txn = BeginWrite(*store);
      ENTITLE_REQUIRE_OK(
          txn->project_members().Delete(ProjectMemberKey{a3, ids[0]}));
      ENTITLE_REQUIRE_OK(
          txn->project_members().Delete(ProjectMemberKey{a3, ids[4]}));
      MustCommit(*txn);
    }
    auto txn = BeginRead(*store);
    auto users = txn->ProjectUsers(oa, {});
    ENTITLE_REQUIRE_OK(users);
    const std::vector<ProjectUserCount> want = {
        {ids[0], 2}, {ids[1], 1}, {ids[3], 2}, {ids[5], 2}};
    REQUIRE(users->items == want);
    auto count = txn->CountProjectUsers(oa);
    ENTITLE_REQUIRE_OK(count);
    REQUIRE(*count == 4);
    MustCommit(*txn);
  }

  SECTION("a finished transaction refuses both calls") {
    const auto code = StatusCode::kFailedPrecondition;
    const auto reason = Reason::kTransactionFinished;
    for (TransactionMode mode :
         {TransactionMode::kRead, TransactionMode::kWrite}) {
      for (bool commit : {true, false}) {
        INFO((mode == TransactionMode::kRead ? "read" : "write")
             << (commit ? ", committed" : ", rolled back"));
        auto txn = Begin(*store, mode);
        ENTITLE_REQUIRE_OK(txn->ProjectUsers(oa, {}));
        if (commit) {
          MustCommit(*txn);
        } else {
          txn->Rollback();
        }
        ENTITLE_REQUIRE_REFUSED(txn->ProjectUsers(oa, {}), code, reason);
        ENTITLE_REQUIRE_REFUSED(
            txn->ProjectUsers(empty, {.offset = 3, .limit = 1}), code, reason);
        ENTITLE_REQUIRE_REFUSED(txn->CountProjectUsers(oa), code, reason);
        ENTITLE_REQUIRE_REFUSED(txn->CountProjectUsers(empty), code, reason);
      }
    }
  }

  if constexpr (TestType::Reopenable()) {
    store.reset();
    store = backend.Open();
    auto txn = BeginRead(*store);
    auto users = txn->ProjectUsers(ob, {});
    ENTITLE_REQUIRE_OK(users);
    REQUIRE(users->items == want_b);
    MustCommit(*txn);
  }
}

// ===================================================================== audit

TEMPLATE_TEST_CASE(
    "store: audit filters by time range (since inclusive, until exclusive), "
    "actor, action and organization",
    "[store]", ENTITLE_BACKENDS) {
  TestType backend;
  auto store = backend.Open();
  const IdentityId anna(11), bob(12);
  const OrganizationId acme(21), beta(22);
  std::vector<AuditRecord> recs;
  auto add = [&](int64_t micros, std::optional<IdentityId> actor,
                 std::optional<OrganizationId> org, std::string action) {
    AuditRecord r = MakeAudit(action, At(micros));
    r.actor_id = actor;
    r.organization_id = org;
    recs.push_back(r);
  };
  add(0, anna, acme, "membership.add");
  add(1, bob, acme, "membership.remove");
  add(999999, anna, beta, "membership.add");
  add(1000000, std::nullopt, acme, "organization.create");
  add(2000000, bob, std::nullopt, "membership.add");
  // Appended out of time order: listings stay in id (append) order.
  add(500000, anna, acme, "identity.lock");
  recs = InsertAndReadBack(*store, recs);
  auto pick = [&](std::initializer_list<int> idx) {
    std::vector<AuditRecord> v;
    for (int i : idx) v.push_back(recs[i]);
    return v;
  };

  CheckFilter<AuditRecord>(*store, {.since = At(1), .until = At(1000000)},
                           pick({1, 2, 5}));
  CheckFilter<AuditRecord>(*store, {.since = At(1000000)}, pick({3, 4}));
  CheckFilter<AuditRecord>(*store, {.until = At(1)}, pick({0}));
  CheckFilter<AuditRecord>(*store, {.since = At(7), .until = At(7)}, {});
  CheckFilter<AuditRecord>(*store, {.actor_id = anna}, pick({0, 2, 5}));
  CheckFilter<AuditRecord>(*store, {.action = "membership.add"},
                           pick({0, 2, 4}));
  CheckFilter<AuditRecord>(*store, {.organization_id = acme},
                           pick({0, 1, 3, 5}));
  CheckFilter<AuditRecord>(*store,
                           {.organization_id = acme,
                            .actor_id = anna,
                            .action = "membership.add",
                            .since = At(0),
                            .until = At(1)},
                           pick({0}));
}

// ============================================================ SQLite's file

// A raw connection to a database file, for looking at what SqliteStore wrote.
class RawDb {
 public:
  explicit RawDb(const std::string& path, int flags = SQLITE_OPEN_READWRITE) {
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    INFO(sqlite3_errstr(rc));
    REQUIRE(rc == SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  // Runs `sql`; returns the sqlite result code (extended) and the message.
  int Exec(const std::string& sql, std::string* error = nullptr) {
    char* msg = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg);
    if (error && msg) *error = msg;
    sqlite3_free(msg);
    return rc == SQLITE_OK ? rc : sqlite3_extended_errcode(db_);
  }
  // The first column of the first row of `sql`, as text.
  std::string One(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
    INFO(sql << ": " << sqlite3_errmsg(db_));
    REQUIRE(rc == SQLITE_OK);
    std::string out;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      if (text) out = reinterpret_cast<const char*>(text);
    }
    sqlite3_finalize(stmt);
    return out;
  }
  // Column `column` of every row of `sql`, as text (NULL as "").
  std::vector<std::string> Column(const std::string& sql, int column) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
    INFO(sql << ": " << sqlite3_errmsg(db_));
    REQUIRE(rc == SQLITE_OK);
    std::vector<std::string> out;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, column);
      out.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
    }
    sqlite3_finalize(stmt);
    REQUIRE(rc == SQLITE_DONE);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_CASE("sqlite: data survives closing and reopening the file",
          "[store][sqlite]") {
  SqliteBackend backend;
  auto store = backend.Open();
  SeedEveryKind(*store);
  const Snapshot before = TakeSnapshot(*store);
  store.reset();
  store = backend.Open();
  REQUIRE(TakeSnapshot(*store) == before);
  // And the reopened store enforces the same rules.
  ENTITLE_REQUIRE_REFUSED(
      BeginWrite(*store)->identities().Insert(MakeIdentity("ONE@example.com")),
      StatusCode::kAlreadyExists, Reason::kDuplicate);
}

TEST_CASE(
    "sqlite: the file has the schema version, WAL, and its own "
    "uniqueness and reference checks",
    "[store][sqlite]") {
  SqliteBackend backend;
  World w;
  {
    auto store = backend.Open();
    w = SeedPeople(*store);
    Put(*store, MakeMembership(w.o1, w.i1, MembershipKind::kEmployee));
  }
  RawDb db(backend.path());
  REQUIRE(db.One("PRAGMA user_version") ==
          std::to_string(SqliteStore::kSchemaVersion));
  REQUIRE(db.One("PRAGMA journal_mode") == "wal");
  REQUIRE(db.One("PRAGMA integrity_check") == "ok");

  // Table, column and enum spellings below are those of
  // src/sqlite/migrations.h (migration 1); keep them in step with it.
  SECTION("a second employee membership written with plain SQL is refused") {
    std::string error;
    const std::string sql =
        "INSERT INTO memberships (organization_id, identity_id, kind, status, "
        "created_at) VALUES (" +
        std::to_string(w.o2.value()) + ", " + std::to_string(w.i1.value()) +
        ", 'employee', 'active', 0)";
    int rc = db.Exec(sql, &error);
    INFO(error);
    REQUIRE((rc & 0xFF) == SQLITE_CONSTRAINT);
    // An external one is fine, through plain SQL too.
    const std::string ext =
        "INSERT INTO memberships (organization_id, identity_id, kind, status, "
        "created_at) VALUES (" +
        std::to_string(w.o2.value()) + ", " + std::to_string(w.i1.value()) +
        ", 'external', 'active', 0)";
    REQUIRE(db.Exec(ext, &error) == SQLITE_OK);
  }
  SECTION(
      "a second verified owner of a domain written with plain SQL is "
      "refused") {
    auto insert = [&](OrganizationId org, const char* status) {
      std::string error;
      int rc = db.Exec(
          "INSERT INTO domains (organization_id, name, status, "
          "verification_token_hash, created_at) VALUES (" +
              std::to_string(org.value()) + ", 'acme.com', '" + status +
              "', x'00ff', 0)",
          &error);
      INFO(error);
      return rc;
    };
    REQUIRE(insert(w.o1, "verified") == SQLITE_OK);
    REQUIRE(insert(w.o2, "pending") == SQLITE_OK);
    REQUIRE((insert(OrganizationId(w.o2.value() + 100), "verified") & 0xFF) ==
            SQLITE_CONSTRAINT);
  }
  SECTION(
      "a membership of a missing identity written with plain SQL is "
      "refused by a foreign key") {
    REQUIRE(db.Exec("PRAGMA foreign_keys = ON") == SQLITE_OK);
    std::string error;
    const std::string sql =
        "INSERT INTO memberships (organization_id, identity_id, kind, status, "
        "created_at) VALUES (" +
        std::to_string(w.o2.value()) + ", 999999, 'external', 'active', 0)";
    int rc = db.Exec(sql, &error);
    INFO(error);
    REQUIRE(rc == SQLITE_CONSTRAINT_FOREIGNKEY);
  }
}

TEST_CASE(
    "sqlite: a file newer than this library is refused and left "
    "untouched",
    "[store][sqlite]") {
  SqliteBackend backend;
  {
    RawDb db(backend.path(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    REQUIRE(db.Exec("CREATE TABLE future_table (x INTEGER); INSERT INTO "
                    "future_table VALUES (42); PRAGMA user_version = " +
                    std::to_string(SqliteStore::kSchemaVersion + 1)) ==
            SQLITE_OK);
  }
  const std::string bytes = ReadFile(backend.path());
  REQUIRE_FALSE(bytes.empty());
  auto store = SqliteStore::Open(backend.path());
  ENTITLE_REQUIRE_REFUSED(store, StatusCode::kFailedPrecondition,
                          Reason::kStoreCorrupt);
  REQUIRE(ReadFile(backend.path()) == bytes);
  RawDb db(backend.path());
  REQUIRE(db.One("PRAGMA user_version") ==
          std::to_string(SqliteStore::kSchemaVersion + 1));
  REQUIRE(db.One("PRAGMA journal_mode") != "wal");
  REQUIRE(db.One("SELECT count(*) FROM sqlite_master") == "1");
}

TEST_CASE("sqlite: a file that is not a database is refused cleanly",
          "[store][sqlite]") {
  SqliteBackend backend;
  std::string junk(8192, '\0');
  std::mt19937 rng(12345);
  for (auto& c : junk) c = static_cast<char>(rng() & 0xFF);
  junk.replace(0, 16, "NOT SQLITE AT AL");
  {
    std::ofstream out(backend.path(), std::ios::binary);
    out << junk;
  }
  auto store = SqliteStore::Open(backend.path());
  INFO(store.status().ToString());
  REQUIRE_FALSE(store.ok());
  ENTITLE_REQUIRE_REFUSED(store, StatusCode::kFailedPrecondition,
                          Reason::kStoreCorrupt);
  REQUIRE(ReadFile(backend.path()) == junk);
}

// The ProjectUsers statement of src/sqlite/sqlite_store.cc, for its query plan.
constexpr const char* kProjectUsersSql =
    "SELECT identity_id, COUNT(*) FROM project_members WHERE organization_id "
    "= ? GROUP BY identity_id ORDER BY identity_id LIMIT ? OFFSET ?";

// REQUIREs that `db` answers kProjectUsersSql from the covering index
// project_members_org_identity alone, without sorting.
void RequireProjectUsersPlan(RawDb& db) {
  const std::vector<std::string> plan =
      db.Column(std::string("EXPLAIN QUERY PLAN ") + kProjectUsersSql, 3);
  std::string joined;
  for (const auto& line : plan) joined += line + "\n";
  INFO("plan:\n" << joined);
  REQUIRE_FALSE(plan.empty());
  REQUIRE(joined.find("USING COVERING INDEX project_members_org_identity") !=
          std::string::npos);
  REQUIRE(joined.find("TEMP B-TREE") == std::string::npos);
  REQUIRE(joined.find("SCAN project_members") == std::string::npos);
}

TEST_CASE("sqlite: migration 3 fills each project member's organization",
          "[store][sqlite][migration]") {
  SqliteBackend backend;
  const std::string t15 = std::to_string(absl::ToUnixMicros(At(15)));
  const std::string t16 = std::to_string(absl::ToUnixMicros(At(16)));
  // A schema-2 file as entitle wrote it before migration 3, with ids chosen
  // so that no two kinds share one (a member's organization filled from the
  // wrong column shows). Column spellings are those of migrations 1 and 2.
  {
    RawDb db(backend.path(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    auto exec = [&](const std::string& sql) {
      std::string error;
      const int rc = db.Exec(sql, &error);
      INFO(sql << "\n" << error);
      REQUIRE(rc == SQLITE_OK);
    };
    exec(internal::kMigrations[0]);
    exec(internal::kMigrations[1]);
    exec("PRAGMA user_version = 2");
    const std::string rows =
        "INSERT INTO organizations (id, name, discoverable, "
        "auto_approve_domain_joins, federation_provider, maintenance_until, "
        "created_at) VALUES (10, 'Org Ten', 0, 0, '', NULL, 0), "
        "(20, 'Org Twenty', 0, 0, '', NULL, 0);"
        "INSERT INTO identities (id, email, pending_email, display_name, "
        "country, language, verified, locked, profile_complete, "
        "password_hash, federated_subject, created_at, last_login_at) VALUES "
        "(100, 'ada@example.com', NULL, 'Ada', '', '', 1, 0, 1, '', '', 0, "
        "NULL), "
        "(101, 'bo@example.com', NULL, 'Bo', '', '', 1, 0, 1, '', '', 0, "
        "NULL);"
        "INSERT INTO entitlements (id, organization_id, sku, seats, "
        "period_start, period_end, countries, created_at, kind) VALUES "
        "(5, 10, 'CAD-PRO', 5, 0, 1, '', 0, 'named'), "
        "(6, 20, 'CAD-PRO', 5, 0, 1, 'DE,SE', 0, 'floating');"
        "INSERT INTO projects (id, organization_id, entitlement_id, name, "
        "region, created_at) VALUES "
        "(30, 20, 6, 'Bridge', 'eu', " +
        t15 +
        "), "
        "(31, 10, 5, 'Tunnel', 'us', " +
        t15 +
        ");"
        "INSERT INTO project_members (project_id, identity_id, role, "
        "added_at) VALUES "
        "(30, 100, 'admin', " +
        t16 +
        "), "
        "(30, 101, 'user', " +
        t16 +
        "), "
        "(31, 100, 'user', " +
        t16 + ");";
    exec(rows);
    REQUIRE(db.One("PRAGMA user_version") == "2");
    REQUIRE(db.One("SELECT count(*) FROM project_members") == "3");
  }

  auto opened = SqliteStore::Open(backend.path());
  ENTITLE_REQUIRE_OK(opened);
  std::unique_ptr<Store> store = std::move(*opened);

  {
    RawDb db(backend.path());
    REQUIRE(db.One("PRAGMA user_version") ==
            std::to_string(SqliteStore::kSchemaVersion));
    REQUIRE(db.One("PRAGMA integrity_check") == "ok");
    REQUIRE(db.Column("PRAGMA foreign_key_check", 0).empty());
    REQUIRE(db.Column("SELECT project_id || ':' || identity_id || ':' || "
                      "organization_id || ':' || role FROM project_members "
                      "ORDER BY project_id, identity_id",
                      0) == std::vector<std::string>{"30:100:20:admin",
                                                     "30:101:20:user",
                                                     "31:100:10:user"});
    REQUIRE(db.Column("SELECT status FROM projects ORDER BY id", 0) ==
            std::vector<std::string>{"active", "active"});
    REQUIRE(db.One("SELECT count(*) FROM sqlite_master WHERE type = 'index' "
                   "AND name = 'project_members_org_identity'") == "1");
    REQUIRE(db.One("SELECT count(*) FROM sqlite_master WHERE name = "
                   "'project_members_v3'") == "0");
    RequireProjectUsersPlan(db);
  }

  // Through the store.
  const OrganizationId ten(10), twenty(20);
  const ProjectId bridge(30), tunnel(31);
  const IdentityId ada(100), bo(101);
  {
    auto txn = BeginRead(*store);
    auto member = txn->project_members().Get(ProjectMemberKey{bridge, ada});
    ENTITLE_REQUIRE_OK(member);
    REQUIRE(member->organization_id == twenty);
    REQUIRE(member->role == ProjectRole::kAdmin);
    REQUIRE(member->added_at == At(16));
    auto other = txn->project_members().Get(ProjectMemberKey{tunnel, ada});
    ENTITLE_REQUIRE_OK(other);
    REQUIRE(other->organization_id == ten);
    for (const ProjectMemberRecord& m : ListAll(txn->project_members())) {
      auto project = txn->projects().Get(m.project_id);
      ENTITLE_REQUIRE_OK(project);
      REQUIRE(m.organization_id == project->organization_id);
    }
    auto project = txn->projects().Get(bridge);
    ENTITLE_REQUIRE_OK(project);
    REQUIRE(project->status == ProjectStatus::kActive);
    REQUIRE(project->organization_id == twenty);
    REQUIRE(project->name == "Bridge");
    REQUIRE(project->created_at == At(15));
    REQUIRE(MustCount(txn->projects(), {.status = ProjectStatus::kActive}) ==
            2);
    REQUIRE(MustCount(txn->project_members(), {.organization_id = twenty}) ==
            2);

    auto users = txn->ProjectUsers(twenty, {});
    ENTITLE_REQUIRE_OK(users);
    REQUIRE(users->items == std::vector<ProjectUserCount>{{ada, 1}, {bo, 1}});
    REQUIRE_FALSE(users->has_more);
    auto first = txn->ProjectUsers(twenty, {.offset = 0, .limit = 1});
    ENTITLE_REQUIRE_OK(first);
    REQUIRE(first->items == std::vector<ProjectUserCount>{{ada, 1}});
    REQUIRE(first->has_more);
    auto users_ten = txn->ProjectUsers(ten, {});
    ENTITLE_REQUIRE_OK(users_ten);
    REQUIRE(users_ten->items == std::vector<ProjectUserCount>{{ada, 1}});
    auto count = txn->CountProjectUsers(twenty);
    ENTITLE_REQUIRE_OK(count);
    REQUIRE(*count == 2);
    MustCommit(*txn);
  }
  // The migrated file takes new members and archives, and enforces the new
  // reference.
  {
    auto txn = BeginWrite(*store);
    MustInsert(txn->project_members(), MakeProjectMember(ten, tunnel, bo));
    ENTITLE_REQUIRE_REFUSED(
        txn->project_members().Insert(MakeProjectMember(twenty, bridge, bo)),
        StatusCode::kAlreadyExists, Reason::kDuplicate);
    auto project = txn->projects().Get(tunnel);
    ENTITLE_REQUIRE_OK(project);
    project->status = ProjectStatus::kArchived;
    ENTITLE_REQUIRE_OK(txn->projects().Update(*project));
    MustCommit(*txn);
  }
  {
    const IdentityId cy = Put(*store, MakeIdentity("cy@example.com"));
    REQUIRE(cy > bo);
    auto txn = BeginWrite(*store);
    ENTITLE_REQUIRE_REFUSED(txn->project_members().Insert(MakeProjectMember(
                                OrganizationId(999), bridge, cy)),
                            StatusCode::kFailedPrecondition,
                            Reason::kMissingReference);
    txn->Rollback();
  }
  {
    auto txn = BeginRead(*store);
    auto users_ten = txn->ProjectUsers(ten, {});
    ENTITLE_REQUIRE_OK(users_ten);
    REQUIRE(users_ten->items ==
            std::vector<ProjectUserCount>{{ada, 1}, {bo, 1}});
    REQUIRE(MustCount(txn->projects(), {.status = ProjectStatus::kArchived}) ==
            1);
    MustCommit(*txn);
  }
  // Reopening a file already at the newest schema changes nothing.
  store.reset();
  store = backend.Open();
  {
    RawDb db(backend.path());
    REQUIRE(db.One("PRAGMA user_version") ==
            std::to_string(SqliteStore::kSchemaVersion));
    REQUIRE(db.One("SELECT count(*) FROM project_members") == "4");
    REQUIRE(db.One("SELECT status FROM projects WHERE id = 31") == "archived");
    RequireProjectUsersPlan(db);
  }
}

TEST_CASE("sqlite: migration 4 adds the throttles table to a schema-3 file",
          "[store][sqlite][migration]") {
  SqliteBackend backend;
  {
    RawDb db(backend.path(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    for (int i = 0; i < 3; ++i) {
      std::string error;
      const int rc = db.Exec(internal::kMigrations[i], &error);
      INFO("migration " << i + 1 << ": " << error);
      REQUIRE(rc == SQLITE_OK);
    }
    REQUIRE(db.Exec("PRAGMA user_version = 3; INSERT INTO identities (id, "
                    "email, pending_email, display_name, country, language, "
                    "verified, locked, profile_complete, password_hash, "
                    "federated_subject, created_at, last_login_at) VALUES "
                    "(7, 'ada@example.com', NULL, 'Ada', '', '', 1, 0, 1, '', "
                    "'', 0, NULL)") == SQLITE_OK);
  }
  std::unique_ptr<Store> store = backend.Open();
  {
    RawDb db(backend.path());
    REQUIRE(db.One("PRAGMA user_version") ==
            std::to_string(SqliteStore::kSchemaVersion));
    REQUIRE(db.One("PRAGMA integrity_check") == "ok");
    REQUIRE(db.One("SELECT count(*) FROM throttles") == "0");
    REQUIRE(db.One("SELECT count(*) FROM sqlite_master WHERE type = 'index' "
                   "AND name = 'throttles_expires_at'") == "1");
  }
  {
    auto txn = BeginRead(*store);
    auto ada = txn->identities().Get(IdentityId(7));
    ENTITLE_REQUIRE_OK(ada);
    REQUIRE(ada->email == E("ada@example.com"));
    MustCommit(*txn);
  }
  const ThrottleRecord throttle{ThrottleKind::kSignInIdentity,
                                "ada@example.com",
                                {At(1), At(2)},
                                At(2) + absl::Minutes(15)};
  Put(*store, throttle);
  store.reset();
  store = backend.Open();
  auto txn = BeginRead(*store);
  auto got = txn->throttles().Get(
      ThrottleKey{ThrottleKind::kSignInIdentity, "ada@example.com"});
  ENTITLE_REQUIRE_OK(got);
  REQUIRE(*got == throttle);
  MustCommit(*txn);
  // The kind and the times are kept as the migration's columns say.
  RawDb db(backend.path());
  REQUIRE(db.One("SELECT kind || ' ' || subject || ' ' || events FROM "
                 "throttles") == "sign-in-identity ada@example.com " +
                                     std::to_string(absl::ToUnixMicros(At(1))) +
                                     "," +
                                     std::to_string(absl::ToUnixMicros(At(2))));
}

TEST_CASE("sqlite: a new file answers ProjectUsers from the covering index",
          "[store][sqlite]") {
  SqliteBackend backend;
  {
    auto store = backend.Open();
    SeedEveryKind(*store);
  }
  RawDb db(backend.path());
  REQUIRE(db.One("PRAGMA user_version") ==
          std::to_string(SqliteStore::kSchemaVersion));
  RequireProjectUsersPlan(db);
}

TEST_CASE("sqlite: migration 5 keeps every pool grant a grant",
          "[store][sqlite][migration]") {
  // A schema-4 file with a grant to a member and one to a group: after
  // migration 5 neither is an exception, and an exception can only name an
  // identity.
  SqliteBackend backend;
  WriteSchemaFile(
      backend.path(), 4,
      "INSERT INTO organizations (id, name, discoverable, "
      "auto_approve_domain_joins, federation_provider, maintenance_until, "
      "created_at) VALUES (10, 'Org Ten', 0, 0, '', NULL, 0);"
      "INSERT INTO identities (id, email, pending_email, display_name, "
      "country, language, verified, locked, profile_complete, "
      "password_hash, federated_subject, created_at, last_login_at) VALUES "
      "(100, 'ada@example.com', NULL, 'Ada', '', '', 1, 0, 1, '', '', 0, "
      "NULL);"
      "INSERT INTO groups (id, organization_id, name, created_at) VALUES "
      "(40, 10, 'Crew', 0);"
      "INSERT INTO entitlements (id, organization_id, sku, seats, "
      "period_start, period_end, countries, created_at, kind) VALUES "
      "(6, 10, 'CAD-PRO', 5, 0, 1, '', 0, 'floating');"
      "INSERT INTO pool_grants (id, entitlement_id, identity_id, group_id, "
      "granted_at) VALUES (7, 6, 100, NULL, 0), (8, 6, NULL, 40, 0);");
  auto opened = SqliteStore::Open(backend.path());
  ENTITLE_REQUIRE_OK(opened);
  std::unique_ptr<Store> store = std::move(*opened);
  {
    auto txn = BeginRead(*store);
    const std::vector<PoolGrantRecord> grants = ListAll(txn->pool_grants());
    REQUIRE(grants.size() == 2);
    for (const PoolGrantRecord& g : grants) REQUIRE_FALSE(g.denied);
    REQUIRE(MustCount(txn->pool_grants(), {.denied = false}) == 2);
    REQUIRE(MustCount(txn->pool_grants(), {.denied = true}) == 0);
  }
  RawDb db(backend.path());
  REQUIRE(db.One("PRAGMA user_version") ==
          std::to_string(SqliteStore::kSchemaVersion));
  std::string error;
  REQUIRE(db.Exec("UPDATE pool_grants SET denied = 1 WHERE id = 8", &error) !=
          SQLITE_OK);
  REQUIRE(db.Exec("UPDATE pool_grants SET denied = 1 WHERE id = 7", &error) ==
          SQLITE_OK);
}

TEST_CASE("sqlite: create_if_missing=false on a missing file is NotFound",
          "[store][sqlite]") {
  SqliteBackend backend;
  SqliteOptions options;
  options.create_if_missing = false;
  auto store = SqliteStore::Open(backend.path(), options);
  ENTITLE_REQUIRE_REFUSED(store, StatusCode::kNotFound, Reason::kNotFound);
  REQUIRE_FALSE(std::filesystem::exists(backend.path()));
  // Once the file exists the same options open it.
  backend.Open().reset();
  auto again = SqliteStore::Open(backend.path(), options);
  ENTITLE_REQUIRE_OK(again);
  REQUIRE((*again)->path() == backend.path());
}

}  // namespace
}  // namespace entitle_test
