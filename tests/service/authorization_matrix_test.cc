// Authorization matrix (SPEC ORG-7, ORG-1, ID-9, PRJ-7): every mutating
// operation of Organizations, Licenses and Identities, and every operation of
// Projects (reads too: the account queries, a project and its members, a
// job), called on organization A by each actor that must not be allowed, is
// refused with kPermissionDenied and writes nothing.
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
//
// An actor of the five that the contract does allow for one row (a member of
// a project reading it, entitle/projects.h) is left out of that row only; the
// row says which and why.
#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/directory.h"
#include "entitle/identities.h"
#include "entitle/licenses.h"
#include "entitle/organizations.h"
#include "entitle/projects.h"
#include "entitle/records.h"
#include "entitle/status.h"
#include "fixtures/directory_fixture.h"
#include "fixtures/store_fixtures.h"

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
  DomainClaim pending;     // acme.net, claimed by A, not verified; its TXT
                           // record is published.
  EntitlementId named;     // Named "CAD" of A, assigned to ext.
  EntitlementId floating;  // Floating "SIM" of A, Crew has access.
  PoolGrantId crew_access;
  // Projects of A, both against SIM, made by the operator (so neither has
  // ann as a member: ann reaches them as an account administrator only).
  ProjectId bridge;  // "Bridge", hosted in eu, active: tom ADMIN, emp USER.
  ProjectId dam;     // "Dam", hosted in ap, archived: tom ADMIN.
  JobId queued;      // A job of A submitted by ann to eu, never run.
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
  // Its owner published the proof (SEC-4), so VerifyDomain's control call
  // can succeed.
  f.dns().Publish(w.pending.record_name, w.pending.record_value);
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
    // Build runs on a new fixture: the periods are around kT0, its Now().
    auto named = licenses.CreateEntitlement(
        op, w.a, Terms("CAD", EntitlementKind::kNamed, 5));
    ENTITLE_REQUIRE_OK(named);
    w.named = named->id;
    auto floating = licenses.CreateEntitlement(
        op, w.a, Terms("SIM", EntitlementKind::kFloating, 5));
    ENTITLE_REQUIRE_OK(floating);
    w.floating = floating->id;
    ENTITLE_REQUIRE_OK(licenses.Assign(op, w.named, w.ext));
    auto access =
        licenses.GrantPoolAccess(op, w.floating, PoolMember{.group = w.crew});
    ENTITLE_REQUIRE_OK(access);
    w.crew_access = access->id;
    ENTITLE_REQUIRE_OK(licenses.Checkout(w.tom, "SIM", DeviceId("tom-laptop")));
    // An exception denies ext2 the pool (for RemovePoolException).
    ENTITLE_REQUIRE_OK(licenses.DenyPoolAccess(op, w.floating, w.ext2));
  }
  // Projects (PRJ-1, PRJ-2, PRJ-6): two projects against the active SIM
  // entitlement in two of ProjectPolicy's default regions, their members
  // added by jobs the operator submits and runs, the second one archived,
  // and a job left queued.
  {
    Projects& projects = f.directory().projects();
    auto bridge = projects.CreateProject(op, w.a, w.floating, "Bridge", "eu");
    ENTITLE_REQUIRE_OK(bridge);
    w.bridge = bridge->id;
    auto dam = projects.CreateProject(op, w.a, w.floating, "Dam", "ap");
    ENTITLE_REQUIRE_OK(dam);
    w.dam = dam->id;
    auto add = [](std::string email, ProjectRole role) {
      return MemberUpdate{MemberUpdateAction::kAdd, std::move(email), role};
    };
    auto run = [&](std::string_view region, ProjectMemberUpdates updates) {
      auto job = projects.SubmitMemberUpdates(op, w.a, region, {updates});
      ENTITLE_REQUIRE_OK(job);
      auto ran = projects.RunJob(job->id);
      ENTITLE_REQUIRE_OK(ran);
      REQUIRE(ran->status == JobStatus::kDone);
      for (const MemberUpdateResult& r : ran->results)
        ENTITLE_REQUIRE_OK(r.status);
    };
    run("eu", ProjectMemberUpdates{w.bridge,
                                   {add("tom@acme.com", ProjectRole::kAdmin),
                                    add("emp@acme.com", ProjectRole::kUser)}});
    run("ap", ProjectMemberUpdates{w.dam,
                                   {add("tom@acme.com", ProjectRole::kAdmin)}});
    ENTITLE_REQUIRE_OK(projects.ArchiveProject(op, "ap", w.dam));
    auto queued = projects.SubmitMemberUpdates(
        Actor::Identity(w.ann), w.a, "eu",
        {ProjectMemberUpdates{w.bridge,
                              {add("ext@partner.org", ProjectRole::kUser)}}});
    ENTITLE_REQUIRE_OK(queued);
    REQUIRE(queued->status == JobStatus::kQueued);
    w.queued = queued->id;
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

// The actors of the matrix (DeniedActors below).
enum class Who { kEmployee, kExternal, kOtherAdmin, kLockedAdmin, kAnonymous };

// What the control call leaves behind: a change writes an audit record
// (ORG-12); a read writes nothing.
enum class Effect { kAudited, kReadOnly };

struct Operation {
  std::string name;
  Call call;
  // Who may make the call: the control actor.
  std::function<Actor(const World&)> allowed;
  Effect effect = Effect::kAudited;
  // Actors of the matrix the contract allows for this row: left out of it.
  std::vector<Who> allowed_here = {};
};

template <typename F>
std::vector<Operation> Operations(F& f, const World& w) {
  Organizations& o = f.orgs();
  Identities& ids = f.ids();
  Licenses& lic = f.directory().licenses();
  Projects& prj = f.directory().projects();
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
       [&o, w](const Actor& a) {
         return o.AddEmployee(a, w.a, "new@acme.com");
       },
       admin},
      {"Organizations::AddExternal",
       [&o, w](const Actor& a) {
         return o.AddExternal(a, w.a, "new2@out.org");
       },
       admin},
      {"Organizations::ChangeMembershipKind (downgrade)",
       [&o, w](const Actor& a) {
         return o.ChangeMembershipKind(a, w.a, w.tom,
                                       MembershipKind::kExternal);
       },
       admin},
      {"Organizations::ChangeMembershipKind (upgrade)",
       [&o, w](const Actor& a) {
         return o.ChangeMembershipKind(a, w.a, w.ext2,
                                       MembershipKind::kEmployee);
       },
       admin},
      {"Organizations::RemoveMember",
       [&o, w](const Actor& a) { return o.RemoveMember(a, w.a, w.tom); },
       admin},
      {"Organizations::CreateRole",
       [&o, w](const Actor& a) {
         return StatusOf(o.CreateRole(a, w.a, "Auditors", kViewUsage));
       },
       admin},
      {"Organizations::DeleteRole",
       [&o, w](const Actor& a) { return o.DeleteRole(a, w.a, w.viewer); },
       admin},
      {"Organizations::GrantRole",
       [&o, w](const Actor& a) { return o.GrantRole(a, w.a, w.tom, w.admin); },
       admin},
      {"Organizations::RevokeRole",
       [&o, w](const Actor& a) {
         return o.RevokeRole(a, w.a, w.tom, w.viewer);
       },
       admin},
      {"Organizations::CreateGroup",
       [&o, w](const Actor& a) {
         return StatusOf(o.CreateGroup(a, w.a, "Night shift"));
       },
       admin},
      {"Organizations::DeleteGroup",
       [&o, w](const Actor& a) { return o.DeleteGroup(a, w.a, w.crew); },
       admin},
      {"Organizations::AddToGroup",
       [&o, w](const Actor& a) { return o.AddToGroup(a, w.a, w.crew, w.ext); },
       admin},
      {"Organizations::RemoveFromGroup",
       [&o, w](const Actor& a) {
         return o.RemoveFromGroup(a, w.a, w.crew, w.tom);
       },
       admin},
      {"Organizations::ClaimDomain",
       [&o, w](const Actor& a) {
         return StatusOf(o.ClaimDomain(a, w.a, "acme.org"));
       },
       admin},
      {"Organizations::VerifyDomain",
       [&o, w](const Actor& a) { return o.VerifyDomain(a, w.a, w.pending.id); },
       admin},
      {"Organizations::VerifyDomainByOperator",
       [&o, w](const Actor& a) {
         return o.VerifyDomainByOperator(a, w.a, w.pending.id);
       },
       operator_only},
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
       [&lic, w](const Actor& a) { return lic.Assign(a, w.named, w.emp); },
       admin},
      {"Licenses::Unassign",
       [&lic, w](const Actor& a) { return lic.Unassign(a, w.named, w.ext); },
       admin},
      {"Licenses::GrantPoolAccess",
       [&lic, w](const Actor& a) {
         return StatusOf(
             lic.GrantPoolAccess(a, w.floating, PoolMember{.identity = w.emp}));
       },
       admin},
      {"Licenses::RevokePoolAccess",
       [&lic, w](const Actor& a) {
         return lic.RevokePoolAccess(a, w.crew_access);
       },
       admin},
      {"Licenses::ForceRelease",
       [&lic, w](const Actor& a) {
         return lic.ForceRelease(a, w.floating, w.tom, DeviceId("tom-laptop"));
       },
       admin},
      {"Licenses::SetSeats",
       [&lic, w](const Actor& a) {
         return StatusOf(lic.SetSeats(a, w.floating, 3));
       },
       admin},
      {"Licenses::DenyPoolAccess",
       [&lic, w](const Actor& a) {
         return StatusOf(lic.DenyPoolAccess(a, w.floating, w.tom));
       },
       admin},
      {"Licenses::RemovePoolException",
       [&lic, w](const Actor& a) {
         return lic.RemovePoolException(a, w.floating, w.ext2);
       },
       admin},
      // Projects (PRJ-1 to PRJ-7). Each call names the region its project is
      // hosted in (bridge: eu, dam: ap) and a valid page, so a refusal can
      // only be about the actor.
      //
      // CreateProject against SIM: none of the five is an account
      // administrator or an active, unlocked member holding SIM (only Crew,
      // i.e. tom, has pool access). CAD is not used: ext holds it (a named
      // assignment) and so may create a project against it.
      {"Projects::CreateProject",
       [&prj, w](const Actor& a) {
         return StatusOf(prj.CreateProject(a, w.a, w.floating, "Tunnel", "us"));
       },
       admin},
      // Reading a project and its members: emp is a USER member of Bridge,
      // which the contract allows to read it, so emp is left out.
      {"Projects::GetProject",
       [&prj, w](const Actor& a) {
         return StatusOf(prj.GetProject(a, "eu", w.bridge));
       },
       admin,
       Effect::kReadOnly,
       {Who::kEmployee}},
      {"Projects::ListMembers",
       [&prj, w](const Actor& a) {
         return StatusOf(prj.ListMembers(a, "eu", w.bridge));
       },
       admin,
       Effect::kReadOnly,
       {Who::kEmployee}},
      // Archiving and restoring need an account administrator or a project
      // ADMIN: emp, a USER member of Bridge, stays in the row. The control is
      // tom, Bridge's ADMIN member, who is no account administrator.
      {"Projects::ArchiveProject",
       [&prj, w](const Actor& a) {
         return prj.ArchiveProject(a, "eu", w.bridge);
       },
       [](const World& x) { return Actor::Identity(x.tom); }},
      {"Projects::RestoreProject",
       [&prj, w](const Actor& a) { return prj.RestoreProject(a, "ap", w.dam); },
       admin},
      // The account queries and the batch job: account administrators only.
      {"Projects::ListProjects",
       [&prj, w](const Actor& a) {
         return StatusOf(
             prj.ListProjects(a, w.a, PageRequest::Numbered(1, 25)));
       },
       admin, Effect::kReadOnly},
      {"Projects::ListProjectUsers",
       [&prj, w](const Actor& a) {
         return StatusOf(
             prj.ListProjectUsers(a, w.a, PageRequest::Numbered(1, 25)));
       },
       admin, Effect::kReadOnly},
      {"Projects::GetProjectUser",
       [&prj, w](const Actor& a) {
         return StatusOf(
             prj.GetProjectUser(a, w.a, w.tom, PageRequest::Numbered(1, 25)));
       },
       admin, Effect::kReadOnly},
      {"Projects::SubmitMemberUpdates",
       [&prj, w](const Actor& a) {
         return StatusOf(prj.SubmitMemberUpdates(
             a, w.a, "eu",
             {ProjectMemberUpdates{
                 w.bridge,
                 {MemberUpdate{MemberUpdateAction::kAdd, "ext2@acme.com",
                               ProjectRole::kUser}}}}));
       },
       admin},
      {"Projects::GetJob",
       [&prj, w](const Actor& a) { return StatusOf(prj.GetJob(a, w.queued)); },
       admin, Effect::kReadOnly},
      // Identities last: acting on tom, an employee of A (someone else for
      // every actor of the matrix).
      {"Identities::Lock",
       [&ids, w](const Actor& a) { return ids.Lock(a, w.tom); }, admin},
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
  Who who;
  std::string name;
  std::function<Actor(const World&)> actor;
};

const std::vector<Denied>& DeniedActors() {
  static const std::vector<Denied> actors = {
      {Who::kEmployee, "a plain employee of A",
       [](const World& w) { return Actor::Identity(w.emp); }},
      {Who::kExternal, "an external member of A",
       [](const World& w) { return Actor::Identity(w.ext); }},
      {Who::kOtherAdmin, "an administrator of another organization",
       [](const World& w) { return Actor::Identity(w.other); }},
      {Who::kLockedAdmin, "a locked administrator of A",
       [](const World& w) { return Actor::Identity(w.locked); }},
      {Who::kAnonymous, "anonymous",
       [](const World&) { return Actor::Anonymous(); }},
  };
  return actors;
}

bool LeftOut(const std::vector<Who>& allowed_here, Who who) {
  return std::find(allowed_here.begin(), allowed_here.end(), who) !=
         allowed_here.end();
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

// clang-format off
TEMPLATE_TEST_CASE("ORG-7 authorization matrix: every mutating operation is "
                   "refused with permission-denied for actors without the "
                   "permission, and writes nothing",
    "[organizations][authorization]", ENTITLE_BACKENDS) {
  // clang-format on
  // The names only, to lay out the sections before any world exists.
  std::vector<std::string> names;
  {
    DirectoryFixture<TestType> probe;
    World w{};
    for (const Operation& op : Operations(probe, w)) names.push_back(op.name);
  }
  REQUIRE(names.size() == 44);
  for (size_t i = 0; i < names.size(); ++i) {
    // One section per operation, on one world: a refused call leaves it as it
    // was, so every actor meets the same world. INFO names the pair.
    DYNAMIC_SECTION(names[i]) {
      auto f = std::make_unique<DirectoryFixture<TestType>>();
      World w = Build(*f);
      for (const Denied& who : DeniedActors()) {
        const Actor actor = who.actor(w);
        if (LeftOut(Operations(*f, w)[i].allowed_here, who.who)) {
          // Allowed by the contract: the call succeeds (only reads are left
          // out, so the world is as it was).
          INFO("allowed: " << names[i] << " as " << who.name << " (" << actor
                           << ")");
          const Snapshot unchanged = f->Snap();
          const absl::Status s = Operations(*f, w)[i].call(actor);
          INFO("status: " << s.ToString());
          CHECK(s.ok());
          REQUIRE(f->Snap() == unchanged);
          continue;
        }
        INFO("pair: " << names[i] << " as " << who.name << " (" << actor
                      << ")");
        auto before = f->Freeze();
        const absl::Status s = Operations(*f, w)[i].call(actor);
        if (!CheckDenied(*f, before, s)) {
          f = std::make_unique<DirectoryFixture<TestType>>();
          w = Build(*f);
        }
      }
      // Control: the same call succeeds for an actor who may make it, and
      // leaves an audit record (a change) or nothing at all (a read).
      const Operation op = Operations(*f, w)[i];
      const Actor actor = op.allowed(w);
      INFO("control: " << names[i] << " as " << actor);
      const Snapshot control_before = f->Snap();
      ENTITLE_REQUIRE_OK(op.call(actor));
      if (op.effect == Effect::kAudited) {
        CHECK(f->Snap().audit.size() > control_before.audit.size());
      } else {
        CHECK(f->Snap() == control_before);
      }
    }
  }
}

// The header: "Every operation authorizes its actor first". An actor without
// the permission learns nothing from its input being wrong: it is refused with
// permission-denied before the input is looked at, and nothing is written.
//
// Likewise for Projects (entitle/projects.h, PRJ-7): "Only account
// administrators may use the account queries and the batch job; anyone else
// gets kPermissionDenied", so their page sizes, limits and region come after
// the actor; and a project call through the wrong region is refused for an
// actor who may not reach the project with permission-denied, not with
// kWrongRegion (which would tell it where the project is). A member of the
// project may read it, so it rightly gets kWrongRegion: left out of those
// cases.
// clang-format off
TEMPLATE_TEST_CASE("ORG-7 authorization comes first: bad input from an actor "
                   "without the permission is still refused with "
                   "permission-denied",
    "[organizations][authorization]", ENTITLE_BACKENDS) {
  // clang-format on
  struct Case {
    const char* name;
    std::function<absl::Status(DirectoryFixture<TestType>&, const World&,
                               const Actor&)>
        call;
    // Actors of the matrix the contract allows for this case: left out.
    std::vector<Who> allowed_here = {};
  };
  const auto add_user = [](std::string email) {
    return MemberUpdate{MemberUpdateAction::kAdd, std::move(email),
                        ProjectRole::kUser};
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
      {"SetSeats to no seats",
       [](auto& f, const World& w, const Actor& a) {
         return StatusOf(f.lic().SetSeats(a, w.floating, 0));
       }},
      {"DenyPoolAccess to a non-member",
       [](auto& f, const World& w, const Actor& a) {
         return StatusOf(f.lic().DenyPoolAccess(a, w.floating, w.newcomer));
       }},
      {"VerifyDomain while DNS cannot be asked",
       [](auto& f, const World& w, const Actor& a) {
         f.dns().GoDown();
         const absl::Status s = f.orgs().VerifyDomain(a, w.a, w.pending.id);
         f.dns().Recover();
         return s;
       }},
      {"VerifyDomain with no proof published",
       [](auto& f, const World& w, const Actor& a) {
         f.dns().Unpublish(w.pending.record_name);
         const absl::Status s = f.orgs().VerifyDomain(a, w.a, w.pending.id);
         f.dns().Publish(w.pending.record_name, w.pending.record_value);
         return s;
       }},
      // Projects: a project through the wrong region (bridge is in eu, dam
      // in ap). emp, a USER member of Bridge, may read it: left out of the
      // reads; it may not archive it, so it stays in ArchiveProject.
      {"GetProject through the wrong region",
       [](auto& f, const World& w, const Actor& a) {
         return StatusOf(
             f.directory().projects().GetProject(a, "us", w.bridge));
       },
       {Who::kEmployee}},
      {"ListMembers through the wrong region",
       [](auto& f, const World& w, const Actor& a) {
         return StatusOf(
             f.directory().projects().ListMembers(a, "ap", w.bridge));
       },
       {Who::kEmployee}},
      {"ArchiveProject through the wrong region",
       [](auto& f, const World& w, const Actor& a) {
         return f.directory().projects().ArchiveProject(a, "us", w.bridge);
       }},
      {"RestoreProject through the wrong region",
       [](auto& f, const World& w, const Actor& a) {
         return f.directory().projects().RestoreProject(a, "eu", w.dam);
       }},
      // The account queries: page sizes and numbers.
      {"ListProjects with page size 0",
       [](auto& f, const World& w, const Actor& a) {
         return StatusOf(f.directory().projects().ListProjects(
             a, w.a, PageRequest::Numbered(1, 0)));
       }},
      {"ListProjects with page number 0",
       [](auto& f, const World& w, const Actor& a) {
         return StatusOf(f.directory().projects().ListProjects(
             a, w.a, PageRequest::Numbered(0, 25)));
       }},
      {"ListProjects with a page over the limit",
       [](auto& f, const World& w, const Actor& a) {
         return StatusOf(f.directory().projects().ListProjects(
             a, w.a, PageRequest::Numbered(1, kMaxAccountPageSize + 1)));
       }},
      {"ListProjectUsers with a page over the limit",
       [](auto& f, const World& w, const Actor& a) {
         return StatusOf(f.directory().projects().ListProjectUsers(
             a, w.a, PageRequest::Numbered(1, kMaxAccountPageSize + 1)));
       }},
      {"GetProjectUser with a page over the limit",
       [](auto& f, const World& w, const Actor& a) {
         return StatusOf(f.directory().projects().GetProjectUser(
             a, w.a, w.tom, PageRequest::Numbered(1, kMaxAccountPageSize + 1)));
       }},
      {"GetProjectUser of an unknown identity",
       [](auto& f, const World& w, const Actor& a) {
         return StatusOf(f.directory().projects().GetProjectUser(
             a, w.a, IdentityId(999999), PageRequest::Numbered(1, 25)));
       }},
      // The batch job: its limits and its region.
      {"SubmitMemberUpdates naming no project",
       [](auto& f, const World& w, const Actor& a) {
         return StatusOf(
             f.directory().projects().SubmitMemberUpdates(a, w.a, "eu", {}));
       }},
      {"SubmitMemberUpdates naming too many projects",
       [add_user](auto& f, const World& w, const Actor& a) {
         std::vector<ProjectMemberUpdates> request(
             kMaxProjectsPerRequest + 1,
             ProjectMemberUpdates{w.bridge, {add_user("ext2@acme.com")}});
         return StatusOf(f.directory().projects().SubmitMemberUpdates(
             a, w.a, "eu", request));
       }},
      {"SubmitMemberUpdates with too many updates for one project",
       [add_user](auto& f, const World& w, const Actor& a) {
         ProjectMemberUpdates project{w.bridge, {}};
         for (int i = 0; i <= kMaxUpdatesPerProject; ++i) {
           project.updates.push_back(
               add_user("u" + std::to_string(i) + "@acme.com"));
         }
         return StatusOf(f.directory().projects().SubmitMemberUpdates(
             a, w.a, "eu", {project}));
       }},
      {"SubmitMemberUpdates to an unknown region",
       [add_user](auto& f, const World& w, const Actor& a) {
         return StatusOf(f.directory().projects().SubmitMemberUpdates(
             a, w.a, "mars",
             {ProjectMemberUpdates{w.bridge, {add_user("ext2@acme.com")}}}));
       }},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto f = std::make_unique<DirectoryFixture<TestType>>();
      World w = Build(*f);
      for (const Denied& who : DeniedActors()) {
        const Actor actor = who.actor(w);
        if (LeftOut(c.allowed_here, who.who)) {
          // Authorized by the contract, so it meets the bad input instead
          // (only reads are left out, so the world is as it was).
          INFO("allowed: " << c.name << " as " << who.name << " (" << actor
                           << ")");
          const Snapshot unchanged = f->Snap();
          const absl::Status s = c.call(*f, w, actor);
          INFO("status: " << s.ToString());
          CHECK_FALSE(s.ok());
          CHECK(s.code() != StatusCode::kPermissionDenied);
          REQUIRE(f->Snap() == unchanged);
          continue;
        }
        INFO("pair: " << c.name << " as " << who.name << " (" << actor << ")");
        auto before = f->Freeze();
        const absl::Status s = c.call(*f, w, actor);
        if (!CheckDenied(*f, before, s)) {
          f = std::make_unique<DirectoryFixture<TestType>>();
          w = Build(*f);
        }
      }
    }
  }
}

}  // namespace
}  // namespace entitle_test
