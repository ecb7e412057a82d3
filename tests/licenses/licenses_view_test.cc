// The checkout path's in-memory view (licenses.h, SPEC ENT-10).
//
// The checkout path (CheckAccess, Checkout, Heartbeat) reads no store per
// call; it answers from a per-identity view. Two promises are checked here:
//   - a change committed through the same Directory (unassigning, revoking
//     pool access, removing the member or taking it out of a group, locking
//     the identity, changing the entitlement's seats or period) is seen by the
//     very next call, on every backend;
//   - a change committed by another process on the same SQLite file is seen
//     within LicensePolicy::external_change_delay. "Another process" is a
//     second SqliteStore opened on the same path with a Directory of its own
//     (the store cannot tell the difference: each has its own connections).
//     Both Directories share one FakeClock, so the delay passes by moving it.
#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/clock.h"
#include "entitle/directory.h"
#include "entitle/identities.h"
#include "entitle/ids.h"
#include "entitle/licenses.h"
#include "entitle/notifier.h"
#include "entitle/organizations.h"
#include "entitle/password_hasher.h"
#include "entitle/records.h"
#include "entitle/sqlite_store.h"
#include "entitle/status.h"
#include "fixtures/directory_fixture.h"
#include "fixtures/store_fixtures.h"

namespace entitle_test {
namespace {

using namespace entitle;

const DeviceId kLaptop("laptop-1");
const DeviceId kDesktop("desktop-2");
const DeviceId kTablet("tablet-3");

// IdentityPolicy::offline_grace's default (ID-9).
const absl::Duration kOfflineGrace = absl::Hours(7 * 24);

// Both the same-Directory and the two-process cases run at kT0 (the
// FakeClock's start); every entitlement's period covers it by far.
EntitlementTerms Terms(std::string sku, EntitlementKind kind, int64_t seats) {
  return During(entitle_test::Terms(std::move(sku), kind, seats),
                kT0 - absl::Hours(24 * 30), kT0 + absl::Hours(24 * 365));
}

Profile PersonIn(std::string country) {
  Profile p;
  p.display_name = "Test Person";
  p.country = std::move(country);
  return p;
}

// REQUIREs an allowed access check and returns it.
AccessGrant MustAllow(Licenses& licenses, IdentityId identity,
                      const std::string& sku, const DeviceId& device) {
  auto grant = licenses.CheckAccess(identity, sku, device);
  INFO("CheckAccess(" << identity << ", " << sku << ", " << device << ")");
  ENTITLE_REQUIRE_OK(grant);
  return *grant;
}

SeatLease MustCheckout(Licenses& licenses, IdentityId identity,
                       const std::string& sku, const DeviceId& device) {
  auto lease = licenses.Checkout(identity, sku, device);
  INFO("Checkout(" << identity << ", " << sku << ", " << device << ")");
  ENTITLE_REQUIRE_OK(lease);
  return *lease;
}

// ------------------------------------------------ one Directory, any backend

// An organization "Acme" whose first administrator is ada (an employee) and
// bob, an external member; both verified, with a complete profile.
template <typename Backend>
class LicenseSite : public DirectoryFixture<Backend> {
 public:
  LicenseSite() {
    ada = this->RegisterVerified("ada@acme.com", PersonIn("DE"));
    org = this->CreateOrg("Acme", ada);
    bob = this->RegisterVerified("bob@example.com", PersonIn("FR"));
    ENTITLE_REQUIRE_OK(this->orgs().AddExternal(kOp, org, "bob@example.com"));
  }

  Licenses& licenses() { return this->directory().licenses(); }

  EntitlementRecord Entitle(const EntitlementTerms& terms) {
    auto e = licenses().CreateEntitlement(kOp, org, terms);
    ENTITLE_REQUIRE_OK(e);
    return *e;
  }

  IdentityId ada;
  IdentityId bob;
  OrganizationId org;
};

// clang-format off
TEMPLATE_TEST_CASE("ENT-10 an unassigned named license is refused on the very "
                   "next access check and checkout (same Directory)",
    "[licenses][view]", ENTITLE_BACKENDS) {
  // clang-format on
  LicenseSite<TestType> f;
  Licenses& lic = f.licenses();
  const EntitlementRecord cad =
      f.Entitle(Terms("CAD-PRO", EntitlementKind::kNamed, 5));
  ENTITLE_REQUIRE_OK(lic.Assign(As(f.ada), cad.id, f.bob));

  const AccessGrant grant = MustAllow(lic, f.bob, "CAD-PRO", kLaptop);
  REQUIRE(grant.entitlement_id == cad.id);
  REQUIRE(grant.kind == EntitlementKind::kNamed);
  REQUIRE_FALSE(grant.offline);
  const SeatLease lease = MustCheckout(lic, f.bob, "CAD-PRO", kLaptop);
  REQUIRE_FALSE(lease.seat.has_value());  // A named license takes no seat.

  ENTITLE_REQUIRE_OK(lic.Unassign(As(f.ada), cad.id, f.bob));

  REQUIRE_REASON(lic.CheckAccess(f.bob, "CAD-PRO", kLaptop),
                 Reason::kNoLicense);
  REQUIRE_REASON(lic.Checkout(f.bob, "CAD-PRO", kLaptop), Reason::kNoLicense);
  REQUIRE_REASON(lic.CheckAccess(f.bob, "CAD-PRO", kDesktop),
                 Reason::kNoLicense);

  // And back: assigning again is seen at once too.
  ENTITLE_REQUIRE_OK(lic.Assign(As(f.ada), cad.id, f.bob));
  MustAllow(lic, f.bob, "CAD-PRO", kLaptop);
}

// clang-format off
TEMPLATE_TEST_CASE("ENT-10 revoked pool access is refused on the very next "
                   "access check, checkout and heartbeat (same Directory)",
    "[licenses][view]", ENTITLE_BACKENDS) {
  // clang-format on
  LicenseSite<TestType> f;
  Licenses& lic = f.licenses();
  const EntitlementRecord pool =
      f.Entitle(Terms("SIM-FLOAT", EntitlementKind::kFloating, 10));

  SECTION("a direct grant is revoked") {
    auto g = lic.GrantPoolAccess(As(f.ada), pool.id,
                                 PoolMember{.identity = f.bob, .group = {}});
    ENTITLE_REQUIRE_OK(g);
    const SeatLease lease = MustCheckout(lic, f.bob, "SIM-FLOAT", kLaptop);
    REQUIRE(lease.seat.has_value());
    REQUIRE(lease.access.entitlement_id == pool.id);

    ENTITLE_REQUIRE_OK(lic.RevokePoolAccess(As(f.ada), g->id));
  }
  SECTION("the group's grant is revoked") {
    auto group = f.orgs().CreateGroup(As(f.ada), f.org, "Simulation");
    ENTITLE_REQUIRE_OK(group);
    ENTITLE_REQUIRE_OK(f.orgs().AddToGroup(As(f.ada), f.org, *group, f.bob));
    auto g = lic.GrantPoolAccess(As(f.ada), pool.id,
                                 PoolMember{.identity = {}, .group = *group});
    ENTITLE_REQUIRE_OK(g);
    REQUIRE(MustCheckout(lic, f.bob, "SIM-FLOAT", kLaptop).seat.has_value());

    ENTITLE_REQUIRE_OK(lic.RevokePoolAccess(As(f.ada), g->id));
  }
  SECTION("the member leaves the group that has access") {
    auto group = f.orgs().CreateGroup(As(f.ada), f.org, "Simulation");
    ENTITLE_REQUIRE_OK(group);
    ENTITLE_REQUIRE_OK(f.orgs().AddToGroup(As(f.ada), f.org, *group, f.bob));
    ENTITLE_REQUIRE_OK(lic.GrantPoolAccess(
        As(f.ada), pool.id, PoolMember{.identity = {}, .group = *group}));
    REQUIRE(MustCheckout(lic, f.bob, "SIM-FLOAT", kLaptop).seat.has_value());

    ENTITLE_REQUIRE_OK(
        f.orgs().RemoveFromGroup(As(f.ada), f.org, *group, f.bob));
  }

  REQUIRE_REASON(lic.Heartbeat(f.bob, pool.id, kLaptop), Reason::kNoLicense);
  REQUIRE_REASON(lic.CheckAccess(f.bob, "SIM-FLOAT", kLaptop),
                 Reason::kNoLicense);
  REQUIRE_REASON(lic.Checkout(f.bob, "SIM-FLOAT", kDesktop),
                 Reason::kNoLicense);
}

// clang-format off
TEMPLATE_TEST_CASE("ENT-10 a removed member is refused on the very next access "
                   "check, checkout and heartbeat (same Directory)",
    "[licenses][view]", ENTITLE_BACKENDS) {
  // clang-format on
  LicenseSite<TestType> f;
  Licenses& lic = f.licenses();
  const EntitlementRecord cad =
      f.Entitle(Terms("CAD-PRO", EntitlementKind::kNamed, 5));
  const EntitlementRecord pool =
      f.Entitle(Terms("SIM-FLOAT", EntitlementKind::kFloating, 10));
  ENTITLE_REQUIRE_OK(lic.Assign(As(f.ada), cad.id, f.bob));
  ENTITLE_REQUIRE_OK(lic.GrantPoolAccess(
      As(f.ada), pool.id, PoolMember{.identity = f.bob, .group = {}}));
  MustAllow(lic, f.bob, "CAD-PRO", kLaptop);
  REQUIRE(MustCheckout(lic, f.bob, "SIM-FLOAT", kLaptop).seat.has_value());

  ENTITLE_REQUIRE_OK(f.orgs().RemoveMember(As(f.ada), f.org, f.bob));

  REQUIRE_REASON(lic.CheckAccess(f.bob, "CAD-PRO", kLaptop),
                 Reason::kNoLicense);
  REQUIRE_REASON(lic.Checkout(f.bob, "CAD-PRO", kLaptop), Reason::kNoLicense);
  REQUIRE_REASON(lic.Heartbeat(f.bob, pool.id, kLaptop), Reason::kNoLicense);
  REQUIRE_REASON(lic.CheckAccess(f.bob, "SIM-FLOAT", kLaptop),
                 Reason::kNoLicense);
  REQUIRE_REASON(lic.Checkout(f.bob, "SIM-FLOAT", kDesktop),
                 Reason::kNoLicense);
}

// clang-format off
TEMPLATE_TEST_CASE("ENT-10 locking an identity takes effect on the very next "
                   "access check; a device checked before keeps offline access "
                   "(same Directory)",
    "[licenses][view]", ENTITLE_BACKENDS) {
  // clang-format on
  LicenseSite<TestType> f;
  Licenses& lic = f.licenses();
  const EntitlementRecord pool =
      f.Entitle(Terms("SIM-FLOAT", EntitlementKind::kFloating, 10));
  ENTITLE_REQUIRE_OK(lic.GrantPoolAccess(
      As(f.ada), pool.id, PoolMember{.identity = f.bob, .group = {}}));
  // The laptop checks access successfully at kT0 (ID-9's grace starts).
  REQUIRE_FALSE(MustAllow(lic, f.bob, "SIM-FLOAT", kLaptop).offline);

  ENTITLE_REQUIRE_OK(f.ids().Lock(kOp, f.bob));

  // The laptop is within its offline grace: allowed, in disable mode.
  REQUIRE(MustAllow(lic, f.bob, "SIM-FLOAT", kLaptop).offline);
  // A device that never checked access is refused at once.
  REQUIRE_REASON(lic.CheckAccess(f.bob, "SIM-FLOAT", kDesktop),
                 Reason::kIdentityLocked);
  REQUIRE_REASON(lic.Checkout(f.bob, "SIM-FLOAT", kDesktop),
                 Reason::kIdentityLocked);

  // Unlocking is seen at once as well.
  ENTITLE_REQUIRE_OK(f.ids().Unlock(kOp, f.bob));
  REQUIRE_FALSE(MustAllow(lic, f.bob, "SIM-FLOAT", kDesktop).offline);

  // Locked again, and past the laptop's grace (its last check was at kT0).
  ENTITLE_REQUIRE_OK(f.ids().Lock(kOp, f.bob));
  f.clock().Advance(kOfflineGrace + absl::Minutes(1));
  REQUIRE_REASON(lic.CheckAccess(f.bob, "SIM-FLOAT", kLaptop),
                 Reason::kIdentityLocked);
  REQUIRE_REASON(lic.Checkout(f.bob, "SIM-FLOAT", kTablet),
                 Reason::kIdentityLocked);
}

// clang-format off
TEMPLATE_TEST_CASE("ENT-10 a change of an entitlement's seats or period takes "
                   "effect on the very next checkout (same Directory)",
    "[licenses][view]", ENTITLE_BACKENDS) {
  // clang-format on
  LicenseSite<TestType> f;
  Licenses& lic = f.licenses();
  EntitlementTerms terms = Terms("SIM-FLOAT", EntitlementKind::kFloating, 2);
  const EntitlementRecord pool = f.Entitle(terms);
  ENTITLE_REQUIRE_OK(lic.GrantPoolAccess(
      As(f.ada), pool.id, PoolMember{.identity = f.bob, .group = {}}));
  REQUIRE(MustCheckout(lic, f.bob, "SIM-FLOAT", kLaptop).seat.has_value());
  REQUIRE(MustCheckout(lic, f.bob, "SIM-FLOAT", kDesktop).seat.has_value());

  SECTION("seats raised and lowered") {
    {
      auto full = lic.Checkout(f.bob, "SIM-FLOAT", kTablet);
      REQUIRE_REASON(full, Reason::kSeatsExhausted);
      REQUIRE(full.status().message() == "All license seats are reserved");
    }

    terms.seats = 3;
    ENTITLE_REQUIRE_OK(lic.ChangeEntitlement(kOp, pool.id, terms));
    REQUIRE(MustCheckout(lic, f.bob, "SIM-FLOAT", kTablet).seat.has_value());

    // ENT-7: lowering below use takes nothing away, gives nothing new.
    terms.seats = 1;
    ENTITLE_REQUIRE_OK(lic.ChangeEntitlement(kOp, pool.id, terms));
    ENTITLE_REQUIRE_OK(lic.Heartbeat(f.bob, pool.id, kLaptop));
    ENTITLE_REQUIRE_OK(lic.Heartbeat(f.bob, pool.id, kDesktop));
    ENTITLE_REQUIRE_OK(lic.Release(f.bob, pool.id, kTablet));
    REQUIRE_REASON(lic.Checkout(f.bob, "SIM-FLOAT", kTablet),
                   Reason::kSeatsExhausted);
    ENTITLE_REQUIRE_OK(lic.Release(f.bob, pool.id, kLaptop));
    REQUIRE_REASON(lic.Checkout(f.bob, "SIM-FLOAT", kTablet),
                   Reason::kSeatsExhausted);  // Still 1 in use of 1.
    ENTITLE_REQUIRE_OK(lic.Release(f.bob, pool.id, kDesktop));
    REQUIRE(MustCheckout(lic, f.bob, "SIM-FLOAT", kTablet).seat.has_value());
  }
  SECTION("period ended and renewed") {
    terms.period_end = kT0 - absl::Seconds(1);
    ENTITLE_REQUIRE_OK(lic.ChangeEntitlement(kOp, pool.id, terms));
    REQUIRE_REASON(lic.CheckAccess(f.bob, "SIM-FLOAT", kLaptop),
                   Reason::kOutsidePeriod);
    REQUIRE_REASON(lic.Heartbeat(f.bob, pool.id, kLaptop),
                   Reason::kOutsidePeriod);
    REQUIRE_REASON(lic.Checkout(f.bob, "SIM-FLOAT", kTablet),
                   Reason::kOutsidePeriod);

    terms.period_end = kT0 + absl::Hours(24 * 365);
    ENTITLE_REQUIRE_OK(lic.ChangeEntitlement(kOp, pool.id, terms));
    MustAllow(lic, f.bob, "SIM-FLOAT", kLaptop);
    REQUIRE(MustCheckout(lic, f.bob, "SIM-FLOAT", kTablet).seat.has_value());
  }
}

// ------------------------------------------- two processes on one SQLite file

// Two SqliteStores on the same file, each with its own Directory: "admin"
// (an admin tool) and "server" (the licence server, with the given delay).
// Both read one FakeClock. Made through the admin Directory: the organization
// "Acme" with ada as first administrator, and bob, an external member.
class TwoProcesses {
 public:
  explicit TwoProcesses(absl::Duration external_change_delay) {
    admin_store_ = backend_.OpenSqlite();
    server_store_ = backend_.OpenSqlite();
    REQUIRE(admin_store_->path() == server_store_->path());

    admin_ = std::make_unique<Directory>(*admin_store_, ports_.Options());

    DirectoryOptions server_options;
    server_options.clock = &ports_.clock;
    server_options.hasher = &ports_.hasher;
    server_options.license_policy.external_change_delay = external_change_delay;
    server_ = std::make_unique<Directory>(*server_store_, server_options);

    ada = Register("ada@acme.com", PersonIn("DE"));
    auto made = admin_->organizations().Create(kOp, "Acme", ada);
    ENTITLE_REQUIRE_OK(made);
    org = *made;
    bob = Register("bob@example.com", PersonIn("FR"));
    ENTITLE_REQUIRE_OK(
        admin_->organizations().AddExternal(As(ada), org, "bob@example.com"));
  }

  FakeClock& clock() { return ports_.clock; }
  Directory& admin() { return *admin_; }
  Licenses& admin_licenses() { return admin_->licenses(); }
  Licenses& server() { return server_->licenses(); }

  EntitlementRecord Entitle(const EntitlementTerms& terms) {
    auto e = admin_licenses().CreateEntitlement(kOp, org, terms);
    ENTITLE_REQUIRE_OK(e);
    return *e;
  }

  IdentityId ada;
  IdentityId bob;
  OrganizationId org;

 private:
  IdentityId Register(std::string_view email, const Profile& profile) {
    return RegisterVerifiedIn(*admin_, ports_.notifier, email, profile);
  }

  SqliteBackend backend_;  // The temporary file; removed last.
  TestPorts ports_;  // The admin's; the server shares its clock and hasher.
  std::unique_ptr<SqliteStore> admin_store_;
  std::unique_ptr<SqliteStore> server_store_;
  std::unique_ptr<Directory> admin_;
  std::unique_ptr<Directory> server_;
};

const absl::Duration kDelay = absl::Seconds(5);
// Just past the delay.
const absl::Duration kPastDelay = kDelay + absl::Milliseconds(1);

// clang-format off
TEST_CASE("ENT-10 a change by another process on the same file reaches the "
          "checkout path within the configured delay",
    "[licenses][view][sqlite]") {
  // clang-format on
  TwoProcesses p(kDelay);
  Licenses& admin = p.admin_licenses();
  Licenses& server = p.server();
  const EntitlementRecord cad =
      p.Entitle(Terms("CAD-PRO", EntitlementKind::kNamed, 5));
  EntitlementTerms pool_terms =
      Terms("SIM-FLOAT", EntitlementKind::kFloating, 2);
  const EntitlementRecord pool = p.Entitle(pool_terms);
  ENTITLE_REQUIRE_OK(admin.Assign(As(p.ada), cad.id, p.bob));
  auto grant = admin.GrantPoolAccess(
      As(p.ada), pool.id, PoolMember{.identity = p.bob, .group = {}});
  ENTITLE_REQUIRE_OK(grant);

  // The server builds its view of bob.
  MustAllow(server, p.bob, "CAD-PRO", kLaptop);
  REQUIRE(MustCheckout(server, p.bob, "SIM-FLOAT", kLaptop).seat.has_value());

  SECTION("a named license unassigned") {
    ENTITLE_REQUIRE_OK(admin.Unassign(As(p.ada), cad.id, p.bob));
    // Right after, the server may still allow: its view may be stale.
    (void)server.CheckAccess(p.bob, "CAD-PRO", kLaptop);
    p.clock().Advance(kPastDelay);
    REQUIRE_REASON(server.CheckAccess(p.bob, "CAD-PRO", kLaptop),
                   Reason::kNoLicense);
    REQUIRE_REASON(server.Checkout(p.bob, "CAD-PRO", kDesktop),
                   Reason::kNoLicense);
    // The pool, untouched, still serves.
    ENTITLE_REQUIRE_OK(server.Heartbeat(p.bob, pool.id, kLaptop));
  }
  SECTION("pool access revoked") {
    ENTITLE_REQUIRE_OK(admin.RevokePoolAccess(As(p.ada), grant->id));
    (void)server.CheckAccess(p.bob, "SIM-FLOAT", kLaptop);
    p.clock().Advance(kPastDelay);
    REQUIRE_REASON(server.CheckAccess(p.bob, "SIM-FLOAT", kLaptop),
                   Reason::kNoLicense);
    REQUIRE_REASON(server.Heartbeat(p.bob, pool.id, kLaptop),
                   Reason::kNoLicense);
    REQUIRE_REASON(server.Checkout(p.bob, "SIM-FLOAT", kDesktop),
                   Reason::kNoLicense);
    // The named license, untouched, still serves.
    MustAllow(server, p.bob, "CAD-PRO", kLaptop);
  }
  SECTION("the member removed") {
    ENTITLE_REQUIRE_OK(
        p.admin().organizations().RemoveMember(As(p.ada), p.org, p.bob));
    (void)server.CheckAccess(p.bob, "CAD-PRO", kLaptop);
    p.clock().Advance(kPastDelay);
    REQUIRE_REASON(server.CheckAccess(p.bob, "CAD-PRO", kLaptop),
                   Reason::kNoLicense);
    REQUIRE_REASON(server.CheckAccess(p.bob, "SIM-FLOAT", kLaptop),
                   Reason::kNoLicense);
    REQUIRE_REASON(server.Heartbeat(p.bob, pool.id, kLaptop),
                   Reason::kNoLicense);
  }
  SECTION("the identity locked") {
    ENTITLE_REQUIRE_OK(p.admin().identities().Lock(kOp, p.bob));
    (void)server.CheckAccess(p.bob, "CAD-PRO", kDesktop);
    p.clock().Advance(kPastDelay);
    // The desktop never checked access: refused. The laptop did: offline.
    REQUIRE_REASON(server.CheckAccess(p.bob, "CAD-PRO", kTablet),
                   Reason::kIdentityLocked);
    REQUIRE(MustAllow(server, p.bob, "CAD-PRO", kLaptop).offline);
  }
  SECTION("the pool's seats lowered") {
    pool_terms.seats = 1;
    ENTITLE_REQUIRE_OK(admin.ChangeEntitlement(kOp, pool.id, pool_terms));
    (void)server.CheckAccess(p.bob, "SIM-FLOAT", kDesktop);
    p.clock().Advance(kPastDelay);
    // ENT-7: the laptop keeps its seat; no second one is given.
    ENTITLE_REQUIRE_OK(server.Heartbeat(p.bob, pool.id, kLaptop));
    REQUIRE_REASON(server.Checkout(p.bob, "SIM-FLOAT", kDesktop),
                   Reason::kSeatsExhausted);
  }
}

// clang-format off
TEST_CASE("ENT-10 a grant by another process on the same file reaches the "
          "checkout path within the configured delay",
    "[licenses][view][sqlite]") {
  // clang-format on
  TwoProcesses p(kDelay);
  Licenses& admin = p.admin_licenses();
  Licenses& server = p.server();
  const EntitlementRecord cad =
      p.Entitle(Terms("CAD-PRO", EntitlementKind::kNamed, 5));
  const EntitlementRecord pool =
      p.Entitle(Terms("SIM-FLOAT", EntitlementKind::kFloating, 2));

  // The server builds its view of bob: nothing yet.
  REQUIRE_REASON(server.CheckAccess(p.bob, "CAD-PRO", kLaptop),
                 Reason::kNoLicense);
  REQUIRE_REASON(server.CheckAccess(p.bob, "SIM-FLOAT", kLaptop),
                 Reason::kNoLicense);
  REQUIRE_REASON(server.CheckAccess(p.bob, "NEW-SKU", kLaptop),
                 Reason::kNoLicense);

  SECTION("a named license assigned") {
    ENTITLE_REQUIRE_OK(admin.Assign(As(p.ada), cad.id, p.bob));
    (void)server.CheckAccess(p.bob, "CAD-PRO", kLaptop);  // May be stale.
    p.clock().Advance(kPastDelay);
    const AccessGrant g = MustAllow(server, p.bob, "CAD-PRO", kLaptop);
    REQUIRE(g.entitlement_id == cad.id);
    REQUIRE(g.kind == EntitlementKind::kNamed);
  }
  SECTION("pool access through a group the member joins") {
    auto group = p.admin().organizations().CreateGroup(As(p.ada), p.org, "Sim");
    ENTITLE_REQUIRE_OK(group);
    ENTITLE_REQUIRE_OK(admin.GrantPoolAccess(
        As(p.ada), pool.id, PoolMember{.identity = {}, .group = *group}));
    ENTITLE_REQUIRE_OK(
        p.admin().organizations().AddToGroup(As(p.ada), p.org, *group, p.bob));
    (void)server.CheckAccess(p.bob, "SIM-FLOAT", kLaptop);
    p.clock().Advance(kPastDelay);
    const SeatLease lease = MustCheckout(server, p.bob, "SIM-FLOAT", kLaptop);
    REQUIRE(lease.seat.has_value());
    REQUIRE(lease.access.entitlement_id == pool.id);
  }
  SECTION("a new entitlement created and granted") {
    const EntitlementRecord fresh =
        p.Entitle(Terms("NEW-SKU", EntitlementKind::kFloating, 1));
    ENTITLE_REQUIRE_OK(admin.GrantPoolAccess(
        As(p.ada), fresh.id, PoolMember{.identity = p.bob, .group = {}}));
    (void)server.CheckAccess(p.bob, "NEW-SKU", kLaptop);
    p.clock().Advance(kPastDelay);
    const SeatLease lease = MustCheckout(server, p.bob, "NEW-SKU", kLaptop);
    REQUIRE(lease.seat.has_value());
    REQUIRE(lease.access.entitlement_id == fresh.id);
    // Its single seat is taken.
    REQUIRE_REASON(server.Checkout(p.bob, "NEW-SKU", kDesktop),
                   Reason::kSeatsExhausted);
  }
}

// clang-format off
TEST_CASE("ENT-10 with external_change_delay zero a change by another process "
          "on the same file is seen by the very next call",
    "[licenses][view][sqlite]") {
  // clang-format on
  TwoProcesses p(absl::ZeroDuration());
  Licenses& admin = p.admin_licenses();
  Licenses& server = p.server();
  const EntitlementRecord cad =
      p.Entitle(Terms("CAD-PRO", EntitlementKind::kNamed, 5));
  EntitlementTerms pool_terms =
      Terms("SIM-FLOAT", EntitlementKind::kFloating, 1);
  const EntitlementRecord pool = p.Entitle(pool_terms);

  // Grants: seen at once, without moving the clock.
  REQUIRE_REASON(server.CheckAccess(p.bob, "CAD-PRO", kLaptop),
                 Reason::kNoLicense);
  ENTITLE_REQUIRE_OK(admin.Assign(As(p.ada), cad.id, p.bob));
  MustAllow(server, p.bob, "CAD-PRO", kLaptop);

  REQUIRE_REASON(server.Checkout(p.bob, "SIM-FLOAT", kLaptop),
                 Reason::kNoLicense);
  auto grant = admin.GrantPoolAccess(
      As(p.ada), pool.id, PoolMember{.identity = p.bob, .group = {}});
  ENTITLE_REQUIRE_OK(grant);
  REQUIRE(MustCheckout(server, p.bob, "SIM-FLOAT", kLaptop).seat.has_value());

  // Seats: raised by the admin, a second device gets one at once.
  REQUIRE_REASON(server.Checkout(p.bob, "SIM-FLOAT", kDesktop),
                 Reason::kSeatsExhausted);
  pool_terms.seats = 2;
  ENTITLE_REQUIRE_OK(admin.ChangeEntitlement(kOp, pool.id, pool_terms));
  REQUIRE(MustCheckout(server, p.bob, "SIM-FLOAT", kDesktop).seat.has_value());

  // Revocations: refused at once.
  ENTITLE_REQUIRE_OK(admin.Unassign(As(p.ada), cad.id, p.bob));
  REQUIRE_REASON(server.CheckAccess(p.bob, "CAD-PRO", kLaptop),
                 Reason::kNoLicense);
  ENTITLE_REQUIRE_OK(admin.RevokePoolAccess(As(p.ada), grant->id));
  REQUIRE_REASON(server.CheckAccess(p.bob, "SIM-FLOAT", kLaptop),
                 Reason::kNoLicense);
  REQUIRE_REASON(server.Heartbeat(p.bob, pool.id, kDesktop),
                 Reason::kNoLicense);
}

}  // namespace
}  // namespace entitle_test
