// Authorization matrix (SPEC ORG-7, ORG-1, ID-9): every mutating operation of
// Organizations and Identities, called on organization A by each actor that
// must not be allowed, is refused with kPermissionDenied and writes nothing.
//
// The actors: a plain employee of A, an external member of A, an
// administrator of another organization B, a locked administrator of A, and
// anonymous. Each operation runs in its own DYNAMIC_SECTION (named after it)
// on a fresh world; each actor's call is named by INFO ("pair: <operation> as
// <actor>"), so a failure names the pair. A refused call leaves the world as it
// was, so the actors of one operation share it (it is built again if a call
// wrote something). A control call at the end of each section shows the same
// call succeeds for an actor who may make it, so a refusal in the matrix is
// about the actor and nothing else.
#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/directory.h"
#include "entitle/identities.h"
#include "entitle/licenses.h"
#include "entitle/organizations.h"
#include "entitle/records.h"
#include "entitle/status.h"
#include "organization_fixtures.h"
#include "store_fixtures.h"

namespace entitle_test {
namespace {

using namespace entitle;
using absl::StatusCode;

// Organization A with its people and things, and another organization B.
struct World {
  OrganizationId a, b;
  IdentityId ann;       // Administrator of A.
  IdentityId emp;       // Plain employee of A.
  IdentityId ext;       // External member of A.
  IdentityId ext2;      // External member of A with an @acme.com address.
  IdentityId other;     // Administrator of B.
  IdentityId locked;    // Administrator of A, locked.
  IdentityId tom;       // Employee of A: the target; holds Viewer, in Crew.
  IdentityId stuck;     // Employee of A, locked: the target of Unlock.
  IdentityId newcomer;  // new@acme.com, no membership.
  RoleId admin, co, viewer;
  GroupId crew;
  DomainId acme_com;
  DomainClaim pending;  // acme.net, claimed by A, not verified.
  EntitlementId named;     // Named "CAD" of A, assigned to ext.
  EntitlementId floating;  // Floating "SIM" of A, Crew has access.
  PoolGrantId crew_access;
};

template <typename F>
World Build(F& f) {
  World w;
  const Actor op = Actor::Operator();
  w.ann = f.RegisterVerified("ann@acme.com");
  w.a = f.CreateOrg("Acme", w.ann);
  w.other = f.RegisterVerified("oa@beta.com");
  w.b = f.CreateOrg("Beta", w.other);
  w.acme_com = f.OwnDomain(w.a, "acme.com");
  w.admin = f.AdminRole(w.a);
  w.co = f.CoAdminRole(w.a);
  w.emp = f.RegisterVerified("emp@acme.com");
  w.ext = f.RegisterVerified("ext@partner.org");
  w.ext2 = f.RegisterVerified("ext2@acme.com");
  w.locked = f.RegisterVerified("la@acme.com");
  w.tom = f.RegisterVerified("tom@acme.com");
  w.stuck = f.RegisterVerified("stuck@acme.com");
  w.newcomer = f.RegisterVerified("new@acme.com");
  f.RegisterVerified("new2@out.org");
  auto& orgs = f.orgs();
  ENTITLE_REQUIRE_OK(orgs.AddEmployee(op, w.a, "emp@acme.com"));
  ENTITLE_REQUIRE_OK(orgs.AddExternal(op, w.a, "ext@partner.org"));
  ENTITLE_REQUIRE_OK(orgs.AddExternal(op, w.a, "ext2@acme.com"));
  ENTITLE_REQUIRE_OK(orgs.AddEmployee(op, w.a, "la@acme.com"));
  ENTITLE_REQUIRE_OK(orgs.AddEmployee(op, w.a, "tom@acme.com"));
  ENTITLE_REQUIRE_OK(orgs.AddEmployee(op, w.a, "stuck@acme.com"));
  ENTITLE_REQUIRE_OK(orgs.GrantRole(op, w.a, w.locked, w.admin));
  auto viewer = orgs.CreateRole(op, w.a, "Viewer", kViewUsage);
  ENTITLE_REQUIRE_OK(viewer);
  w.viewer = *viewer;
  ENTITLE_REQUIRE_OK(orgs.GrantRole(op, w.a, w.tom, w.viewer));
  auto crew = orgs.CreateGroup(op, w.a, "Crew");
  ENTITLE_REQUIRE_OK(crew);
  w.crew = *crew;
  ENTITLE_REQUIRE_OK(orgs.AddToGroup(op, w.a, w.crew, w.tom));
  auto pending = orgs.ClaimDomain(op, w.a, "acme.net");
  ENTITLE_REQUIRE_OK(pending);
  w.pending = *pending;
  // Locked directly through the store, so the setup does not depend on
  // Identities::Lock, which the matrix itself checks.
  {
    auto txn = BeginWrite(f.store());
    for (IdentityId id : {w.locked, w.stuck}) {
      auto r = txn->identities().Get(id);
      ENTITLE_REQUIRE_OK(r);
      r->locked = true;
      ENTITLE_REQUIRE_OK(txn->identities().Update(*r));
    }
    MustCommit(*txn);
  }
  // Licenses: a named entitlement assigned to ext, a pool Crew may use, and
  // tom holding a seat of it.
  {
    Licenses& licenses = f.directory().licenses();
    auto terms = [&](std::string sku, EntitlementKind kind) {
      EntitlementTerms t;
      t.sku = std::move(sku);
      t.kind = kind;
      t.seats = 5;
      t.period_start = f.clock().Now() - absl::Hours(24);
      t.period_end = f.clock().Now() + absl::Hours(24 * 365);
      return t;
    };
    auto named = licenses.CreateEntitlement(op, w.a, terms("CAD", EntitlementKind::kNamed));
    ENTITLE_REQUIRE_OK(named);
    w.named = named->id;
    auto floating =
        licenses.CreateEntitlement(op, w.a, terms("SIM", EntitlementKind::kFloating));
    ENTITLE_REQUIRE_OK(floating);
    w.floating = floating->id;
    ENTITLE_REQUIRE_OK(licenses.Assign(op, w.named, w.ext));
    auto access = licenses.GrantPoolAccess(op, w.floating, PoolMember{.group = w.crew});
    ENTITLE_REQUIRE_OK(access);
    w.crew_access = access->id;
    ENTITLE_REQUIRE_OK(licenses.Checkout(w.tom, "SIM", DeviceId("tom-laptop")));
  }
  f.clock().Advance(absl::Minutes(1));
  return w;
}

using Call = std::function<absl::Status(const Actor&)>;

template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}
inline absl::Status StatusOf(const absl::Status& s) { return s; }

struct Operation {
  std::string name;
  Call call;
  // Who may make the call: the control actor.
  std::function<Actor(const World&)> allowed;
};

template <typename F>
std::vector<Operation> Operations(F& f, const World& w) {
  Organizations& o = f.orgs();
  Identities& ids = f.ids();
  Licenses& lic = f.directory().licenses();
  const auto admin = [](const World& x) { return Actor::Identity(x.ann); };
  const auto operator_only = [](const World&) { return Actor::Operator(); };
  const auto self = [](const World& x) { return Actor::Identity(x.tom); };
  return {
      {"Organizations::UpdateSettings",
       [&o, w](const Actor& a) {
         OrganizationSettings s;
         s.name = "Renamed";
         s.discoverable = true;
         s.auto_approve_domain_joins = true;
         return o.UpdateSettings(a, w.a, s);
       },
       admin},
      {"Organizations::UpdateOperatorSettings",
       [&o, &f, w](const Actor& a) {
         OperatorSettings s;
         s.maintenance_until =
             std::optional<absl::Time>(f.clock().Now() + absl::Hours(24));
         s.federation_provider = "idp.acme.com";
         return o.UpdateOperatorSettings(a, w.a, s);
       },
       operator_only},
      {"Organizations::AddEmployee",
       [&o, w](const Actor& a) { return o.AddEmployee(a, w.a, "new@acme.com"); },
       admin},
      {"Organizations::AddExternal",
       [&o, w](const Actor& a) { return o.AddExternal(a, w.a, "new2@out.org"); },
       admin},
      {"Organizations::ChangeMembershipKind (downgrade)",
       [&o, w](const Actor& a) {
         return o.ChangeMembershipKind(a, w.a, w.tom, MembershipKind::kExternal);
       },
       admin},
      {"Organizations::ChangeMembershipKind (upgrade)",
       [&o, w](const Actor& a) {
         return o.ChangeMembershipKind(a, w.a, w.ext2, MembershipKind::kEmployee);
       },
       admin},
      {"Organizations::RemoveMember",
       [&o, w](const Actor& a) { return o.RemoveMember(a, w.a, w.tom); }, admin},
      {"Organizations::CreateRole",
       [&o, w](const Actor& a) {
         return StatusOf(o.CreateRole(a, w.a, "Auditors", kViewUsage));
       },
       admin},
      {"Organizations::DeleteRole",
       [&o, w](const Actor& a) { return o.DeleteRole(a, w.a, w.viewer); }, admin},
      {"Organizations::GrantRole",
       [&o, w](const Actor& a) { return o.GrantRole(a, w.a, w.tom, w.admin); },
       admin},
      {"Organizations::RevokeRole",
       [&o, w](const Actor& a) { return o.RevokeRole(a, w.a, w.tom, w.viewer); },
       admin},
      {"Organizations::CreateGroup",
       [&o, w](const Actor& a) { return StatusOf(o.CreateGroup(a, w.a, "Night shift")); },
       admin},
      {"Organizations::DeleteGroup",
       [&o, w](const Actor& a) { return o.DeleteGroup(a, w.a, w.crew); }, admin},
      {"Organizations::AddToGroup",
       [&o, w](const Actor& a) { return o.AddToGroup(a, w.a, w.crew, w.ext); },
       admin},
      {"Organizations::RemoveFromGroup",
       [&o, w](const Actor& a) { return o.RemoveFromGroup(a, w.a, w.crew, w.tom); },
       admin},
      {"Organizations::ClaimDomain",
       [&o, w](const Actor& a) { return StatusOf(o.ClaimDomain(a, w.a, "acme.org")); },
       admin},
      {"Organizations::VerifyDomain",
       [&o, w](const Actor& a) {
         return o.VerifyDomain(a, w.a, w.pending.id, w.pending.verification_token);
       },
       admin},
      {"Organizations::RemoveDomain",
       [&o, w](const Actor& a) { return o.RemoveDomain(a, w.a, w.acme_com); },
       admin},
      {"Licenses::CreateEntitlement",
       [&lic, w](const Actor& a) {
         EntitlementTerms t;
         t.sku = "NEW";
         t.seats = 3;
         t.period_start = kT0;
         t.period_end = kT0 + absl::Hours(24 * 365);
         return StatusOf(lic.CreateEntitlement(a, w.a, t));
       },
       operator_only},
      {"Licenses::ChangeEntitlement",
       [&lic, w](const Actor& a) {
         EntitlementTerms t;
         t.sku = "SIM";
         t.kind = EntitlementKind::kFloating;
         t.seats = 50;
         t.period_start = kT0 - absl::Hours(24);
         t.period_end = kT0 + absl::Hours(24 * 730);
         return StatusOf(lic.ChangeEntitlement(a, w.floating, t));
       },
       operator_only},
      {"Licenses::Assign",
       [&lic, w](const Actor& a) { return lic.Assign(a, w.named, w.emp); }, admin},
      {"Licenses::Unassign",
       [&lic, w](const Actor& a) { return lic.Unassign(a, w.named, w.ext); }, admin},
      {"Licenses::GrantPoolAccess",
       [&lic, w](const Actor& a) {
         return StatusOf(lic.GrantPoolAccess(a, w.floating, PoolMember{.identity = w.emp}));
       },
       admin},
      {"Licenses::RevokePoolAccess",
       [&lic, w](const Actor& a) { return lic.RevokePoolAccess(a, w.crew_access); },
       admin},
      {"Licenses::ForceRelease",
       [&lic, w](const Actor& a) {
         return lic.ForceRelease(a, w.floating, w.tom, DeviceId("tom-laptop"));
       },
       admin},
      // Identities last: acting on tom, an employee of A (someone else for
      // every actor of the matrix).
      {"Identities::Lock", [&ids, w](const Actor& a) { return ids.Lock(a, w.tom); },
       admin},
      {"Identities::Unlock",
       [&ids, w](const Actor& a) { return ids.Unlock(a, w.stuck); }, admin},
      {"Identities::Delete",
       [&ids, w](const Actor& a) { return ids.Delete(a, w.tom); }, admin},
      {"Identities::UpdateProfile",
       [&ids, w](const Actor& a) {
         ProfileUpdate u;
         u.display_name = "Mallory";
         u.country = "FI";
         return ids.UpdateProfile(a, w.tom, u);
       },
       self},
      {"Identities::RequestEmailChange",
       [&ids, w](const Actor& a) {
         return ids.RequestEmailChange(a, w.tom, "tom.new@acme.com");
       },
       self},
  };
}

struct Denied {
  std::string name;
  std::function<Actor(const World&)> actor;
};

const std::vector<Denied>& DeniedActors() {
  static const std::vector<Denied> actors = {
      {"a plain employee of A",
       [](const World& w) { return Actor::Identity(w.emp); }},
      {"an external member of A",
       [](const World& w) { return Actor::Identity(w.ext); }},
      {"an administrator of another organization",
       [](const World& w) { return Actor::Identity(w.other); }},
      {"a locked administrator of A",
       [](const World& w) { return Actor::Identity(w.locked); }},
      {"anonymous", [](const World&) { return Actor::Anonymous(); }},
  };
  return actors;
}

// REQUIREs nothing of `f` beyond what CHECKs can say, so that one wrong pair
// does not hide the others of its operation: CHECKs that `s` is a
// permission-denied refusal and that nothing was written. Returns false when
// something was written (the world must then be built again).
template <typename F>
bool CheckDenied(F& f, const typename F::State& before, const absl::Status& s) {
  INFO("status: " << s.ToString());
  CHECK(s.code() == StatusCode::kPermissionDenied);
  CHECK(static_cast<int>(GetReason(s)) ==
        static_cast<int>(Reason::kPermissionDenied));
  const Snapshot now = f.Snap();
  INFO("before: " << DescribeSizes(before.snapshot));
  INFO("now:    " << DescribeSizes(now));
  const bool unchanged = now == before.snapshot &&
                         f.notifier().Sent().size() == before.sent &&
                         f.events().Events().size() == before.events;
  CHECK(now == before.snapshot);
  CHECK(f.notifier().Sent().size() == before.sent);
  CHECK(f.events().Events().size() == before.events);
  return unchanged;
}

TEMPLATE_TEST_CASE("ORG-7 authorization matrix: every mutating operation is refused with "
    "permission-denied for actors without the permission, and writes nothing",
    "[organizations][authorization]", ENTITLE_BACKENDS) {
  // The names only, to lay out the sections before any world exists.
  std::vector<std::string> names;
  {
    OrgFixture<TestType> probe;
    World w{};
    for (const Operation& op : Operations(probe, w)) names.push_back(op.name);
  }
  REQUIRE(names.size() == 30);
  for (size_t i = 0; i < names.size(); ++i) {
    // One section per operation, on one world: a refused call leaves it as it
    // was, so every actor meets the same world. INFO names the pair.
    DYNAMIC_SECTION(names[i]) {
      auto f = std::make_unique<OrgFixture<TestType>>();
      World w = Build(*f);
      for (const Denied& who : DeniedActors()) {
        const Actor actor = who.actor(w);
        INFO("pair: " << names[i] << " as " << who.name << " (" << actor << ")");
        auto before = f->Freeze();
        const absl::Status s = Operations(*f, w)[i].call(actor);
        if (!CheckDenied(*f, before, s)) {
          f = std::make_unique<OrgFixture<TestType>>();
          w = Build(*f);
        }
      }
      // Control: the same call succeeds for an actor who may make it, and
      // leaves an audit record.
      const Operation op = Operations(*f, w)[i];
      const Actor actor = op.allowed(w);
      INFO("control: " << names[i] << " as " << actor);
      const size_t audit_before = f->Snap().audit.size();
      ENTITLE_REQUIRE_OK(op.call(actor));
      CHECK(f->Snap().audit.size() > audit_before);
    }
  }
}

// The header: "Every operation authorizes its actor first". An actor without
// the permission learns nothing from its input being wrong: it is refused with
// permission-denied before the input is looked at, and nothing is written.
TEMPLATE_TEST_CASE("ORG-7 authorization comes first: bad input from an actor without the "
    "permission is still refused with permission-denied",
    "[organizations][authorization]", ENTITLE_BACKENDS) {
  struct Case {
    const char* name;
    std::function<absl::Status(OrgFixture<TestType>&, const World&, const Actor&)>
        call;
  };
  const std::vector<Case> cases = {
      {"UpdateSettings with an empty name",
       [](auto& f, const World& w, const Actor& a) {
         OrganizationSettings s;
         s.name = "";
         return f.orgs().UpdateSettings(a, w.a, s);
       }},
      {"CreateRole with no permission bits",
       [](auto& f, const World& w, const Actor& a) {
         return StatusOf(f.orgs().CreateRole(a, w.a, "Empty", 0));
       }},
      {"CreateRole with an empty name",
       [](auto& f, const World& w, const Actor& a) {
         return StatusOf(f.orgs().CreateRole(a, w.a, "", kViewUsage));
       }},
      {"CreateGroup with an empty name",
       [](auto& f, const World& w, const Actor& a) {
         return StatusOf(f.orgs().CreateGroup(a, w.a, ""));
       }},
      {"ClaimDomain of a public mail domain",
       [](auto& f, const World& w, const Actor& a) {
         return StatusOf(f.orgs().ClaimDomain(a, w.a, "gmail.com"));
       }},
      {"ClaimDomain of a malformed domain",
       [](auto& f, const World& w, const Actor& a) {
         return StatusOf(f.orgs().ClaimDomain(a, w.a, "not a domain"));
       }},
      {"AddEmployee of a malformed address",
       [](auto& f, const World& w, const Actor& a) {
         return f.orgs().AddEmployee(a, w.a, "not-an-address");
       }},
      {"AddExternal of an unknown address",
       [](auto& f, const World& w, const Actor& a) {
         return f.orgs().AddExternal(a, w.a, "ghost@nowhere.org");
       }},
      {"RemoveMember of a non-member",
       [](auto& f, const World& w, const Actor& a) {
         return f.orgs().RemoveMember(a, w.a, w.newcomer);
       }},
      {"GrantRole to an external member",
       [](auto& f, const World& w, const Actor& a) {
         return f.orgs().GrantRole(a, w.a, w.ext, w.admin);
       }},
      {"VerifyDomain with a wrong token",
       [](auto& f, const World& w, const Actor& a) {
         return f.orgs().VerifyDomain(a, w.a, w.pending.id, "wrong");
       }},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto f = std::make_unique<OrgFixture<TestType>>();
      World w = Build(*f);
      for (const Denied& who : DeniedActors()) {
        const Actor actor = who.actor(w);
        INFO("pair: " << c.name << " as " << who.name << " (" << actor << ")");
        auto before = f->Freeze();
        const absl::Status s = c.call(*f, w, actor);
        if (!CheckDenied(*f, before, s)) {
          f = std::make_unique<OrgFixture<TestType>>();
          w = Build(*f);
        }
      }
    }
  }
}

}  // namespace
}  // namespace entitle_test
