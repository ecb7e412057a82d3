// The projects service and the account API (SPEC PRJ-1 to PRJ-7, with ORG-5
// and ORG-2 where they touch projects) on every backend.
//
// Each TEMPLATE_TEST_CASE is named after the rule it checks and covers the
// allowed and the refused paths, with the exact reason. A refused operation
// must write nothing, send nothing and publish nothing: `f.Freeze()` before
// and `f.RequireUnchanged(...)` after compare every table of the store, the
// notifier and the event sink.
//
// The fixture's hosts serve two regions, "us" and "eu". Time is the
// fixture's FakeClock (2026-01-01T00:00:00Z at the start).
#include "entitle/projects.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/clock.h"
#include "entitle/directory.h"
#include "entitle/events.h"
#include "entitle/identities.h"
#include "entitle/ids.h"
#include "entitle/licenses.h"
#include "entitle/notifier.h"
#include "entitle/organizations.h"
#include "entitle/password_hasher.h"
#include "entitle/projects_json.h"
#include "entitle/records.h"
#include "entitle/status.h"
#include "entitle/store.h"
#include "fixtures/directory_fixture.h"
#include "fixtures/store_fixtures.h"

namespace entitle_test {
namespace {

using namespace entitle;
using absl::StatusCode;
using Json = nlohmann::json;

absl::Duration Days(int64_t n) { return absl::Hours(24 * n); }

const IdentityId kNoIdentity(987654);
const ProjectId kNoProject(987654);

// ------------------------------------------------------------------ fixture

// A DirectoryFixture whose ProjectPolicy serves the regions "us" and "eu",
// with the projects service's own helpers.
template <typename Backend>
class ProjectFixture : public DirectoryFixture<Backend> {
 public:
  ProjectFixture()
      : DirectoryFixture<Backend>(
            {.project_policy = {.regions = {"us", "eu"}}}) {}
  using DirectoryFixture<Backend>::orgs;
  using DirectoryFixture<Backend>::prj;

  // The built-in role named `name` of `org`.
  RoleId BuiltInRole(OrganizationId org, std::string_view name) {
    auto roles = orgs().ListRoles(kOp, org);
    ENTITLE_REQUIRE_OK(roles);
    for (const RoleInfo& role : *roles) {
      if (role.name == name) return role.id;
    }
    FAIL("no role " << std::string(name));
    return RoleId();
  }

  // ------------------------------------------------------------- projects

  ProjectRecord Project(const Actor& actor, OrganizationId org,
                        const EntitlementRecord& entitlement,
                        std::string_view name, std::string_view region) {
    auto p = prj().CreateProject(actor, org, entitlement.id, name, region);
    INFO("creating project " << name << " in " << region);
    ENTITLE_REQUIRE_OK(p);
    return *p;
  }

  // The project's members as the operator reads them through its region:
  // identity -> role.
  std::map<IdentityId, ProjectRole> MembersOf(const ProjectRecord& project) {
    auto members = prj().ListMembers(kOp, project.region, project.id);
    ENTITLE_REQUIRE_OK(members);
    std::map<IdentityId, ProjectRole> out;
    IdentityId previous;
    for (const ProjectMemberRecord& m : *members) {
      CHECK(m.project_id == project.id);
      CHECK(m.organization_id == project.organization_id);
      CHECK(previous < m.identity_id);  // By identity id.
      previous = m.identity_id;
      out[m.identity_id] = m.role;
    }
    return out;
  }

  // Submits `request` as `actor` and runs it; REQUIREs a done job.
  MemberUpdateJob SubmitAndRun(
      const Actor& actor, OrganizationId org, std::string_view region,
      const std::vector<ProjectMemberUpdates>& request) {
    auto job = prj().SubmitMemberUpdates(actor, org, region, request);
    ENTITLE_REQUIRE_OK(job);
    auto ran = prj().RunJob(job->id);
    ENTITLE_REQUIRE_OK(ran);
    REQUIRE(ran->status == JobStatus::kDone);
    return *ran;
  }

  // The operator puts `email` into `project` with `role` through a job.
  void Place(const ProjectRecord& project, std::string email,
             ProjectRole role = ProjectRole::kUser) {
    MemberUpdate add{MemberUpdateAction::kAdd, std::move(email), role};
    const MemberUpdateJob job = SubmitAndRun(
        kOp, project.organization_id, project.region, {{project.id, {add}}});
    REQUIRE(job.results.size() == 1);
    INFO("placing " << add.email << " in " << project.id << ": "
                    << job.results[0].status.ToString());
    REQUIRE(job.results[0].status.ok());
  }

  std::vector<JobRecord> Jobs() { return this->template All<JobRecord>(); }
};

// A profile with only a display name, as the tests register people.
Profile Person(std::string display_name = "Test User") {
  return Profile{.display_name = std::move(display_name)};
}

// Acme (domain acme.com) with its first administrator Ann.
template <typename F>
OrgWithAdmin MakeAcme(F& f) {
  return f.FoundOrg("Acme", "ann@acme.com", "acme.com", Person("Ann"));
}

// Beta (domain beta.com) with its first administrator Bea.
template <typename F>
OrgWithAdmin MakeBeta(F& f) {
  return f.FoundOrg("Beta", "bea@beta.com", "beta.com", Person("Bea"));
}

// ------------------------------------------------------------ value helpers

MemberUpdate Add(std::string email, ProjectRole role = ProjectRole::kUser) {
  return MemberUpdate{MemberUpdateAction::kAdd, std::move(email), role};
}
MemberUpdate Remove(std::string email) {
  return MemberUpdate{MemberUpdateAction::kRemove, std::move(email),
                      ProjectRole::kUser};
}
MemberUpdate Update(std::string email, ProjectRole role) {
  return MemberUpdate{MemberUpdateAction::kUpdate, std::move(email), role};
}

PageRequest PageOf(int64_t number, int64_t size) {
  return PageRequest::Numbered(number, size);
}

std::vector<ProjectId> IdsOf(const std::vector<ProjectRecord>& projects) {
  std::vector<ProjectId> out;
  for (const ProjectRecord& p : projects) out.push_back(p.id);
  return out;
}

std::string ReasonText(Reason reason) {
  return std::string(ReasonName(reason));
}

// REQUIREs that two views of a job agree in every field.
void RequireSameJob(const MemberUpdateJob& a, const MemberUpdateJob& b) {
  REQUIRE(a.id == b.id);
  REQUIRE(a.organization_id == b.organization_id);
  REQUIRE(a.created_by == b.created_by);
  REQUIRE(a.region == b.region);
  REQUIRE(a.status == b.status);
  REQUIRE(a.request == b.request);
  REQUIRE(a.created_at == b.created_at);
  REQUIRE(a.finished_at == b.finished_at);
  REQUIRE(a.failure.code() == b.failure.code());
  REQUIRE(GetReason(a.failure) == GetReason(b.failure));
  REQUIRE(a.failure.message() == b.failure.message());
  REQUIRE(a.results.size() == b.results.size());
  for (size_t i = 0; i < a.results.size(); ++i) {
    INFO("result #" << i);
    REQUIRE(a.results[i].project_id == b.results[i].project_id);
    REQUIRE(a.results[i].update == b.results[i].update);
    REQUIRE(a.results[i].status.code() == b.results[i].status.code());
    REQUIRE(GetReason(a.results[i].status) == GetReason(b.results[i].status));
    REQUIRE(a.results[i].status.message() == b.results[i].status.message());
  }
}

// ------------------------------------------------------------------- PRJ-1

// clang-format off
TEMPLATE_TEST_CASE("PRJ-1 creating a project needs an active entitlement of "
                   "the organization; the project belongs to it and its "
                   "creator becomes its first ADMIN",
    "[projects]", ENTITLE_BACKENDS) {
  // clang-format on
  ProjectFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const auto [beta, bea] = MakeBeta(f);
  const EntitlementRecord cad = f.Entitle(acme, Floating("CAD"));
  const EntitlementRecord beta_cad = f.Entitle(beta, Floating("CAD"));
  const EntitlementRecord later = f.Entitle(
      acme, During(Floating("LATER"), kT0 + Days(10), kT0 + Days(20)));

  // An account administrator creates a project against an active
  // entitlement: it belongs to the organization, and Ann is its ADMIN.
  const size_t audit_before = f.Audit().size();
  auto made = f.prj().CreateProject(As(ann), acme, cad.id, "Bridge", "eu");
  ENTITLE_REQUIRE_OK(made);
  CHECK(made->id.valid());
  CHECK(made->organization_id == acme);
  CHECK(made->entitlement_id == cad.id);
  CHECK(made->name == "Bridge");
  CHECK(made->region == "eu");
  CHECK(made->status == ProjectStatus::kActive);
  CHECK(made->created_at == f.Now());
  CHECK(f.Audit().size() > audit_before);  // Audited (ORG-12).
  {
    auto members = f.prj().ListMembers(As(ann), "eu", made->id);
    ENTITLE_REQUIRE_OK(members);
    REQUIRE(members->size() == 1);
    CHECK((*members)[0].identity_id == ann);
    CHECK((*members)[0].role == ProjectRole::kAdmin);
    CHECK((*members)[0].organization_id == acme);
    CHECK((*members)[0].added_at == f.Now());
  }
  auto got = f.prj().GetProject(As(ann), "eu", made->id);
  ENTITLE_REQUIRE_OK(got);
  CHECK(*got == *made);
  {
    auto listed = f.prj().ListProjects(As(ann), acme, PageOf(1, 25));
    ENTITLE_REQUIRE_OK(listed);
    REQUIRE(listed->items.size() == 1);
    CHECK(listed->items[0] == *made);
    auto beta_listed = f.prj().ListProjects(As(bea), beta, PageOf(1, 25));
    ENTITLE_REQUIRE_OK(beta_listed);
    CHECK(beta_listed->items.empty());
  }

  // The operator may create one too; it has no member then.
  const ProjectRecord by_operator = f.Project(kOp, acme, cad, "Tunnel", "us");
  CHECK(by_operator.organization_id == acme);
  CHECK(by_operator.region == "us");
  CHECK(f.MembersOf(by_operator).empty());

  // A name of 200 characters is fine.
  const ProjectRecord longest =
      f.Project(As(ann), acme, cad, std::string(200, 'n'), "us");
  CHECK(longest.name == std::string(200, 'n'));

  // Refused: another organization's or an unknown entitlement, an unknown
  // organization, an unknown region, a bad name, an entitlement not yet
  // started. Nothing is written.
  {
    const auto before = f.Freeze();
    REQUIRE_REASON(
        f.prj().CreateProject(As(ann), acme, beta_cad.id, "Theirs", "eu"),
        Reason::kNotFound);
    REQUIRE_REASON(
        f.prj().CreateProject(kOp, acme, beta_cad.id, "Theirs", "eu"),
        Reason::kNotFound);
    REQUIRE_REASON(f.prj().CreateProject(As(ann), acme, EntitlementId(987654),
                                         "Nothing", "eu"),
                   Reason::kNotFound);
    REQUIRE_REASON(f.prj().CreateProject(kOp, OrganizationId(987654), cad.id,
                                         "Nowhere", "eu"),
                   Reason::kNotFound);
    for (const std::string region : {"ap", "", "EU", " eu", "eu "}) {
      INFO("region '" << region << "'");
      REQUIRE_REASON(
          f.prj().CreateProject(As(ann), acme, cad.id, "Bridge", region),
          Reason::kInvalidArgument);
    }
    for (const std::string& name :
         {std::string(), std::string(201, 'n'), std::string("Line\nbreak"),
          std::string("Tab\there"), std::string("Del\x7f"),
          std::string("nul\0x", 5), std::string("\x1b[31m")}) {
      INFO("name '" << name << "'");
      REQUIRE_REASON(f.prj().CreateProject(As(ann), acme, cad.id, name, "eu"),
                     Reason::kInvalidName);
    }
    // Before the entitlement's period.
    REQUIRE_REASON(
        f.prj().CreateProject(As(ann), acme, later.id, "Too early", "eu"),
        Reason::kOutsidePeriod);
    REQUIRE_REASON(
        f.prj().CreateProject(kOp, acme, later.id, "Too early", "eu"),
        Reason::kOutsidePeriod);
    f.RequireUnchanged(before);
  }

  // Within the period it works...
  f.clock().Set(kT0 + Days(10));
  const ProjectRecord in_time =
      f.Project(As(ann), acme, later, "In time", "eu");
  CHECK(in_time.entitlement_id == later.id);
  CHECK(in_time.created_at == kT0 + Days(10));

  // ...and after its end it is refused again, while another active
  // entitlement still works.
  f.clock().Set(kT0 + Days(20) + absl::Seconds(1));
  {
    const auto before = f.Freeze();
    REQUIRE_REASON(
        f.prj().CreateProject(As(ann), acme, later.id, "Too late", "eu"),
        Reason::kOutsidePeriod);
    REQUIRE_REASON(f.prj().CreateProject(kOp, acme, later.id, "Too late", "us"),
                   Reason::kOutsidePeriod);
    f.RequireUnchanged(before);
  }
  f.Project(As(ann), acme, cad, "Still fine", "eu");

  // Every project found belongs to Acme.
  auto all = f.prj().ListProjects(kOp, acme, PageOf(1, 1000));
  ENTITLE_REQUIRE_OK(all);
  CHECK(all->total == 5);
  for (const ProjectRecord& p : all->items) CHECK(p.organization_id == acme);
}

// clang-format off
TEMPLATE_TEST_CASE("PRJ-1 a member holding the entitlement (named assignment, "
                   "pool access directly or through a group) may create a "
                   "project; a member without it may not",
    "[projects]", ENTITLE_BACKENDS) {
  // clang-format on
  ProjectFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const auto [beta, bea] = MakeBeta(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com", Person());
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com", Person());
  const IdentityId oli = f.External(acme, ann, "oli@partner.org", Person());
  const IdentityId pat = f.Employee(acme, ann, "pat@acme.com", Person());
  const IdentityId stranger = f.RegisterVerified("stranger@else.org", Person());
  const EntitlementRecord viewer = f.Entitle(acme, Named("VIEWER"));
  const EntitlementRecord cad = f.Entitle(acme, Floating("CAD"));
  const GroupId team = f.Group(acme, ann, "Team", {oli});

  ENTITLE_REQUIRE_OK(f.lic().Assign(As(ann), viewer.id, mia));
  ENTITLE_REQUIRE_OK(
      f.lic().GrantPoolAccess(As(ann), cad.id, PoolMember{.identity = nik}));
  ENTITLE_REQUIRE_OK(
      f.lic().GrantPoolAccess(As(ann), cad.id, PoolMember{.group = team}));

  // Refused first, so the allowed paths below show what made the difference.
  {
    const auto before = f.Freeze();
    // No license at all.
    REQUIRE_REASON(f.prj().CreateProject(As(pat), acme, cad.id, "P", "eu"),
                   Reason::kPermissionDenied);
    REQUIRE_REASON(f.prj().CreateProject(As(pat), acme, viewer.id, "P", "eu"),
                   Reason::kPermissionDenied);
    // Holding another entitlement of the organization is not enough.
    REQUIRE_REASON(f.prj().CreateProject(As(mia), acme, cad.id, "P", "eu"),
                   Reason::kPermissionDenied);
    REQUIRE_REASON(f.prj().CreateProject(As(nik), acme, viewer.id, "P", "eu"),
                   Reason::kPermissionDenied);
    REQUIRE_REASON(f.prj().CreateProject(As(oli), acme, viewer.id, "P", "eu"),
                   Reason::kPermissionDenied);
    // Not a member; anonymous; another organization's administrator.
    REQUIRE_REASON(f.prj().CreateProject(As(stranger), acme, cad.id, "P", "eu"),
                   Reason::kPermissionDenied);
    REQUIRE_REASON(f.prj().CreateProject(kAnon, acme, cad.id, "P", "eu"),
                   Reason::kPermissionDenied);
    REQUIRE_REASON(f.prj().CreateProject(As(bea), acme, cad.id, "P", "eu"),
                   Reason::kPermissionDenied);
    f.RequireUnchanged(before);
  }

  // A named assignment.
  const ProjectRecord mias = f.Project(As(mia), acme, viewer, "Mia's", "eu");
  CHECK(mias.organization_id == acme);
  CHECK(mias.entitlement_id == viewer.id);
  CHECK(f.MembersOf(mias) ==
        std::map<IdentityId, ProjectRole>{{mia, ProjectRole::kAdmin}});
  // Direct pool access.
  const ProjectRecord niks = f.Project(As(nik), acme, cad, "Nik's", "us");
  CHECK(niks.organization_id == acme);
  CHECK(f.MembersOf(niks) ==
        std::map<IdentityId, ProjectRole>{{nik, ProjectRole::kAdmin}});
  // Pool access through a group (an external member).
  const ProjectRecord olis = f.Project(As(oli), acme, cad, "Oli's", "eu");
  CHECK(olis.organization_id == acme);
  CHECK(f.MembersOf(olis) ==
        std::map<IdentityId, ProjectRole>{{oli, ProjectRole::kAdmin}});

  // Out of the group, Oli holds the entitlement no longer.
  ENTITLE_REQUIRE_OK(f.orgs().RemoveFromGroup(As(ann), acme, team, oli));
  {
    const auto before = f.Freeze();
    REQUIRE_REASON(f.prj().CreateProject(As(oli), acme, cad.id, "P", "eu"),
                   Reason::kPermissionDenied);
    f.RequireUnchanged(before);
  }
  // Without the assignment, Mia neither.
  ENTITLE_REQUIRE_OK(f.lic().Unassign(As(ann), viewer.id, mia));
  {
    const auto before = f.Freeze();
    REQUIRE_REASON(f.prj().CreateProject(As(mia), acme, viewer.id, "P", "eu"),
                   Reason::kPermissionDenied);
    f.RequireUnchanged(before);
  }

  auto all = f.prj().ListProjects(As(ann), acme, PageOf(1, 25));
  ENTITLE_REQUIRE_OK(all);
  CHECK(IdsOf(all->items) == std::vector<ProjectId>{mias.id, niks.id, olis.id});
}

// ------------------------------------------------------------------- PRJ-2

// clang-format off
TEMPLATE_TEST_CASE("PRJ-2 a project is only reachable through its region; "
                   "another region fails with kWrongRegion naming the right "
                   "one",
    "[projects]", ENTITLE_BACKENDS) {
  // clang-format on
  ProjectFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const EntitlementRecord cad = f.Entitle(acme, Floating("CAD"));
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com", Person());
  const ProjectRecord eu = f.Project(As(ann), acme, cad, "Bridge", "eu");
  const ProjectRecord us = f.Project(As(ann), acme, cad, "Harbor", "us");
  f.Place(eu, "mia@acme.com");

  // Through the wrong region: refused with the region to ask, for the
  // account administrator, the operator and a project member alike.
  {
    const auto before = f.Freeze();
    for (const Actor& actor : {As(ann), kOp, As(mia)}) {
      INFO("actor " << actor);
      const absl::Status get = f.prj().GetProject(actor, "us", eu.id).status();
      REQUIRE_REASON(get, Reason::kWrongRegion);
      CHECK(absl::StrContains(get.message(), "eu"));
      const absl::Status members =
          f.prj().ListMembers(actor, "us", eu.id).status();
      REQUIRE_REASON(members, Reason::kWrongRegion);
      CHECK(absl::StrContains(members.message(), "eu"));
    }
    for (const Actor& actor : {As(ann), kOp}) {
      INFO("actor " << actor);
      const absl::Status archive = f.prj().ArchiveProject(actor, "us", eu.id);
      REQUIRE_REASON(archive, Reason::kWrongRegion);
      CHECK(absl::StrContains(archive.message(), "eu"));
      REQUIRE_REASON(f.prj().RestoreProject(actor, "us", eu.id),
                     Reason::kWrongRegion);
      const absl::Status get_us =
          f.prj().GetProject(actor, "eu", us.id).status();
      REQUIRE_REASON(get_us, Reason::kWrongRegion);
      CHECK(absl::StrContains(get_us.message(), "us"));
      REQUIRE_REASON(f.prj().ListMembers(actor, "eu", us.id),
                     Reason::kWrongRegion);
      REQUIRE_REASON(f.prj().ArchiveProject(actor, "eu", us.id),
                     Reason::kWrongRegion);
    }
    f.RequireUnchanged(before);
  }
  // The refused archive changed nothing.
  {
    auto still = f.prj().GetProject(As(ann), "eu", eu.id);
    ENTITLE_REQUIRE_OK(still);
    CHECK(still->status == ProjectStatus::kActive);
  }

  // Through the right region it works.
  auto got = f.prj().GetProject(As(ann), "eu", eu.id);
  ENTITLE_REQUIRE_OK(got);
  CHECK(*got == eu);
  auto got_us = f.prj().GetProject(As(mia), "us", us.id);
  REQUIRE_REASON(got_us, Reason::kPermissionDenied);  // Not her project.
  auto got_us_admin = f.prj().GetProject(As(ann), "us", us.id);
  ENTITLE_REQUIRE_OK(got_us_admin);
  CHECK(*got_us_admin == us);
  auto members = f.prj().ListMembers(As(mia), "eu", eu.id);
  ENTITLE_REQUIRE_OK(members);
  REQUIRE(members->size() == 2);
  CHECK((*members)[0].identity_id == ann);
  CHECK((*members)[1].identity_id == mia);

  ENTITLE_REQUIRE_OK(f.prj().ArchiveProject(As(ann), "eu", eu.id));
  {
    auto archived = f.prj().GetProject(As(ann), "eu", eu.id);
    ENTITLE_REQUIRE_OK(archived);
    CHECK(archived->status == ProjectStatus::kArchived);
    // Archiving again is OK and changes nothing.
    const auto before = f.Freeze();
    ENTITLE_REQUIRE_OK(f.prj().ArchiveProject(As(ann), "eu", eu.id));
    f.RequireUnchanged(before);
    // An archived project keeps its members.
    CHECK(f.MembersOf(eu).size() == 2);
  }
  ENTITLE_REQUIRE_OK(f.prj().RestoreProject(As(ann), "eu", eu.id));
  {
    auto restored = f.prj().GetProject(As(ann), "eu", eu.id);
    ENTITLE_REQUIRE_OK(restored);
    CHECK(restored->status == ProjectStatus::kActive);
    const auto before = f.Freeze();
    ENTITLE_REQUIRE_OK(f.prj().RestoreProject(As(ann), "eu", eu.id));
    f.RequireUnchanged(before);
  }

  // No such project.
  REQUIRE_REASON(f.prj().GetProject(As(ann), "eu", kNoProject),
                 Reason::kNotFound);
  REQUIRE_REASON(f.prj().ListMembers(kOp, "eu", kNoProject), Reason::kNotFound);
  REQUIRE_REASON(f.prj().ArchiveProject(kOp, "eu", kNoProject),
                 Reason::kNotFound);
}

// clang-format off
TEMPLATE_TEST_CASE("PRJ-2 project members read a project and its members; "
                   "project ADMINs and account admins archive it; others are "
                   "refused",
    "[projects]", ENTITLE_BACKENDS) {
  // clang-format on
  ProjectFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const auto [beta, bea] = MakeBeta(f);
  const EntitlementRecord cad = f.Entitle(acme, Floating("CAD"));
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com", Person());
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com", Person());
  const IdentityId pat = f.Employee(acme, ann, "pat@acme.com", Person());
  ENTITLE_REQUIRE_OK(
      f.lic().GrantPoolAccess(As(ann), cad.id, PoolMember{.identity = nik}));
  const ProjectRecord p = f.Project(As(nik), acme, cad, "Nik's", "eu");
  f.Place(p, "mia@acme.com", ProjectRole::kUser);

  // Mia (USER) reads but may not archive; Pat (no place), Bea and anonymous
  // may do nothing.
  ENTITLE_REQUIRE_OK(f.prj().GetProject(As(mia), "eu", p.id));
  ENTITLE_REQUIRE_OK(f.prj().ListMembers(As(mia), "eu", p.id));
  {
    const auto before = f.Freeze();
    REQUIRE_REASON(f.prj().ArchiveProject(As(mia), "eu", p.id),
                   Reason::kPermissionDenied);
    for (const Actor& actor : {As(pat), As(bea), kAnon}) {
      INFO("actor " << actor);
      REQUIRE_REASON(f.prj().GetProject(actor, "eu", p.id),
                     Reason::kPermissionDenied);
      REQUIRE_REASON(f.prj().ListMembers(actor, "eu", p.id),
                     Reason::kPermissionDenied);
      REQUIRE_REASON(f.prj().ArchiveProject(actor, "eu", p.id),
                     Reason::kPermissionDenied);
    }
    f.RequireUnchanged(before);
  }

  // Nik (the creating ADMIN) archives and restores; so does Ann.
  ENTITLE_REQUIRE_OK(f.prj().ArchiveProject(As(nik), "eu", p.id));
  ENTITLE_REQUIRE_OK(f.prj().RestoreProject(As(nik), "eu", p.id));
  ENTITLE_REQUIRE_OK(f.prj().ArchiveProject(As(ann), "eu", p.id));
  auto now = f.prj().GetProject(As(mia), "eu", p.id);
  ENTITLE_REQUIRE_OK(now);
  CHECK(now->status == ProjectStatus::kArchived);
}

// ------------------------------------------------------------------- PRJ-3

// clang-format off
TEMPLATE_TEST_CASE("PRJ-3 account admins list the organization's projects in "
                   "every region page by page, by id",
    "[projects]", ENTITLE_BACKENDS) {
  // clang-format on
  ProjectFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const auto [beta, bea] = MakeBeta(f);
  const EntitlementRecord cad = f.Entitle(acme, Floating("CAD"));
  const EntitlementRecord beta_cad = f.Entitle(beta, Floating("CAD"));

  // Seven projects with names in reverse order, in alternating regions, with
  // Beta's projects interleaved: only the id orders them.
  std::vector<ProjectRecord> made;
  const std::vector<std::string> names = {"G", "F", "E", "D", "C", "B", "A"};
  for (size_t i = 0; i < names.size(); ++i) {
    made.push_back(
        f.Project(kOp, acme, cad, names[i], i % 2 == 0 ? "eu" : "us"));
    if (i % 3 == 0) f.Project(kOp, beta, beta_cad, "Beta " + names[i], "eu");
    f.Advance(absl::Seconds(1));
  }
  ENTITLE_REQUIRE_OK(f.prj().ArchiveProject(kOp, "us", made[3].id));
  made[3].status = ProjectStatus::kArchived;

  auto page = [&](int64_t number, int64_t size) {
    auto got = f.prj().ListProjects(As(ann), acme, PageOf(number, size));
    INFO("page " << number << " of size " << size);
    ENTITLE_REQUIRE_OK(got);
    // The number and size asked for, as the JSON page reports them; a number
    // whose offset is past int64_t is reported as the last one it can name.
    const PageRequest asked = PageOf(number, size);
    const Json echo = Json::parse(ProjectsPageToJson(*got, asked));
    CHECK(echo["page"] == (asked.offset < std::numeric_limits<int64_t>::max()
                               ? number
                               : asked.number()));
    CHECK(echo["size"] == size);
    CHECK(got->total == 7);
    return *got;
  };

  const auto p1 = page(1, 3);
  const auto p2 = page(2, 3);
  const auto p3 = page(3, 3);
  const auto p4 = page(4, 3);
  CHECK(p1.items == std::vector<ProjectRecord>(made.begin(), made.begin() + 3));
  CHECK(p1.has_more);
  CHECK(p2.items ==
        std::vector<ProjectRecord>(made.begin() + 3, made.begin() + 6));
  CHECK(p2.has_more);
  CHECK(p3.items == std::vector<ProjectRecord>(made.begin() + 6, made.end()));
  CHECK_FALSE(p3.has_more);
  CHECK(p4.items.empty());  // Past the end.
  CHECK_FALSE(p4.has_more);

  // Pages joined are every project once, in id order, across regions.
  std::vector<ProjectId> joined;
  for (const auto* p : {&p1, &p2, &p3, &p4}) {
    for (const ProjectRecord& r : p->items) joined.push_back(r.id);
  }
  CHECK(joined == IdsOf(made));
  CHECK(std::is_sorted(joined.begin(), joined.end()));
  bool saw_us = false, saw_eu = false;
  for (const auto* p : {&p1, &p2, &p3}) {
    for (const ProjectRecord& r : p->items) {
      CHECK(r.organization_id == acme);
      saw_us = saw_us || r.region == "us";
      saw_eu = saw_eu || r.region == "eu";
    }
  }
  CHECK(saw_us);
  CHECK(saw_eu);

  // Page sizes at the edges.
  CHECK(page(1, 7).items == made);
  CHECK_FALSE(page(1, 7).has_more);
  CHECK(page(1, 6).has_more);
  CHECK(page(2, 6).items == std::vector<ProjectRecord>{made[6]});
  CHECK(page(1, 1000).items == made);
  CHECK(page(7, 1).items == std::vector<ProjectRecord>{made[6]});
  CHECK(page(std::numeric_limits<int64_t>::max(), 1000).items.empty());

  // The JSON page.
  const Json json = Json::parse(ProjectsPageToJson(p1, PageOf(1, 3)));
  CHECK(json["page"] == 1);
  CHECK(json["size"] == 3);
  CHECK(json["total"] == 7);
  CHECK(json["hasMore"] == true);
  REQUIRE(json["items"].size() == 3);
  CHECK(json["items"][0]["projectId"] == absl::StrCat(made[0].id.value()));
  CHECK(json["items"][0]["region"] == "eu");
  CHECK(json["items"][1]["region"] == "us");

  // Beta sees only its own.
  auto beta_page = f.prj().ListProjects(As(bea), beta, PageOf(1, 1000));
  ENTITLE_REQUIRE_OK(beta_page);
  CHECK(beta_page->total == 3);
  for (const ProjectRecord& r : beta_page->items)
    CHECK(r.organization_id == beta);

  // Sizes and numbers out of range.
  {
    const auto before = f.Freeze();
    REQUIRE_REASON(f.prj().ListProjects(As(ann), acme, PageOf(1, 1001)),
                   Reason::kLimitExceeded);
    REQUIRE_REASON(f.prj().ListProjects(kOp, acme, PageOf(1, 1001)),
                   Reason::kLimitExceeded);
    REQUIRE_REASON(f.prj().ListProjects(As(ann), acme, PageOf(1, 0)),
                   Reason::kInvalidArgument);
    REQUIRE_REASON(f.prj().ListProjects(As(ann), acme, PageOf(1, -1)),
                   Reason::kInvalidArgument);
    REQUIRE_REASON(f.prj().ListProjects(As(ann), acme, PageOf(0, 3)),
                   Reason::kInvalidArgument);
    REQUIRE_REASON(f.prj().ListProjects(As(ann), acme, PageOf(-2, 3)),
                   Reason::kInvalidArgument);
    REQUIRE_REASON(
        f.prj().ListProjects(kOp, OrganizationId(987654), PageOf(1, 25)),
        Reason::kNotFound);
    f.RequireUnchanged(before);
  }
}

// ------------------------------------------------------------------- PRJ-4

// clang-format off
TEMPLATE_TEST_CASE("PRJ-4 account admins list every distinct user of the "
                   "organization's projects with its project count, by "
                   "identity id",
    "[projects]", ENTITLE_BACKENDS) {
  // clang-format on
  ProjectFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const auto [beta, bea] = MakeBeta(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com", Person("Mia"));
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com", Person("Nik"));
  const IdentityId ext =
      f.External(acme, ann, "ext@partner.org", Person("Ext"));
  const IdentityId bob = f.Employee(beta, bea, "bob@beta.com", Person("Bob"));
  ENTITLE_REQUIRE_OK(f.orgs().AddExternal(As(bea), beta, "mia@acme.com"));
  const EntitlementRecord cad = f.Entitle(acme, Floating("CAD"));
  const EntitlementRecord beta_cad = f.Entitle(beta, Floating("CAD"));

  // Made by the operator, so no creator is a member.
  const ProjectRecord p1 = f.Project(kOp, acme, cad, "One", "us");
  const ProjectRecord p2 = f.Project(kOp, acme, cad, "Two", "eu");
  const ProjectRecord p3 = f.Project(kOp, acme, cad, "Three", "eu");
  const ProjectRecord b1 = f.Project(kOp, beta, beta_cad, "Beta", "eu");

  // No users yet.
  {
    auto none = f.prj().ListProjectUsers(As(ann), acme, PageOf(1, 25));
    ENTITLE_REQUIRE_OK(none);
    CHECK(none->items.empty());
    CHECK(none->total == 0);
    CHECK_FALSE(none->has_more);
  }

  // Added in the reverse of identity order: the list is still by id.
  f.Place(p1, "ext@partner.org");
  f.Place(p3, "ext@partner.org", ProjectRole::kAdmin);
  f.Place(p2, "nik@acme.com");
  f.Place(p3, "mia@acme.com");
  f.Place(p1, "mia@acme.com", ProjectRole::kAdmin);
  f.Place(p2, "mia@acme.com");
  f.Place(b1, "bob@beta.com");
  f.Place(b1, "mia@acme.com");  // Beta's project: not counted for Acme.
  // Archived projects count too.
  ENTITLE_REQUIRE_OK(f.prj().ArchiveProject(kOp, "eu", p3.id));

  auto all = f.prj().ListProjectUsers(As(ann), acme, PageOf(1, 1000));
  ENTITLE_REQUIRE_OK(all);
  // The number and size asked for, as the JSON page reports them.
  const Json all_echo =
      Json::parse(ProjectUsersPageToJson(*all, PageOf(1, 1000)));
  CHECK(all_echo["page"] == 1);
  CHECK(all_echo["size"] == 1000);
  CHECK(all->total == 3);
  CHECK_FALSE(all->has_more);
  REQUIRE(all->items.size() == 3);
  CHECK(all->items[0].identity_id == mia);
  CHECK(all->items[0].email == "mia@acme.com");
  CHECK(all->items[0].display_name == "Mia");
  CHECK(all->items[0].project_count == 3);  // Once, with 3.
  CHECK(all->items[1].identity_id == nik);
  CHECK(all->items[1].project_count == 1);
  CHECK(all->items[2].identity_id == ext);
  CHECK(all->items[2].email == "ext@partner.org");
  CHECK(all->items[2].project_count == 2);
  for (const ProjectUser& u : all->items) CHECK(u.identity_id != bob);

  // Page by page, by identity id.
  for (int64_t number = 1; number <= 3; ++number) {
    auto one = f.prj().ListProjectUsers(As(ann), acme, PageOf(number, 1));
    INFO("page " << number);
    ENTITLE_REQUIRE_OK(one);
    const Json echo =
        Json::parse(ProjectUsersPageToJson(*one, PageOf(number, 1)));
    CHECK(echo["page"] == number);
    CHECK(echo["size"] == 1);
    CHECK(one->total == 3);
    CHECK(one->has_more == (number < 3));
    REQUIRE(one->items.size() == 1);
    CHECK(one->items[0].identity_id ==
          all->items[static_cast<size_t>(number - 1)].identity_id);
    CHECK(one->items[0].project_count ==
          all->items[static_cast<size_t>(number - 1)].project_count);
  }
  {
    auto two = f.prj().ListProjectUsers(As(ann), acme, PageOf(2, 2));
    ENTITLE_REQUIRE_OK(two);
    REQUIRE(two->items.size() == 1);
    CHECK(two->items[0].identity_id == ext);
    CHECK_FALSE(two->has_more);
    auto first = f.prj().ListProjectUsers(As(ann), acme, PageOf(1, 2));
    ENTITLE_REQUIRE_OK(first);
    CHECK(first->has_more);
    auto past = f.prj().ListProjectUsers(As(ann), acme, PageOf(4, 1));
    ENTITLE_REQUIRE_OK(past);
    CHECK(past->items.empty());
    CHECK(past->total == 3);
    CHECK_FALSE(past->has_more);
  }

  // The JSON page.
  const Json json = Json::parse(ProjectUsersPageToJson(*all, PageOf(1, 1000)));
  CHECK(json["total"] == 3);
  REQUIRE(json["items"].size() == 3);
  CHECK(json["items"][0]["userId"] == absl::StrCat(mia.value()));
  CHECK(json["items"][0]["projectsCount"] == 3);

  // Beta's users: Bob and Mia, one project each.
  auto beta_users = f.prj().ListProjectUsers(As(bea), beta, PageOf(1, 1000));
  ENTITLE_REQUIRE_OK(beta_users);
  REQUIRE(beta_users->items.size() == 2);
  CHECK(beta_users->items[0].identity_id == mia);
  CHECK(beta_users->items[0].project_count == 1);
  CHECK(beta_users->items[1].identity_id == bob);
  CHECK(beta_users->items[1].project_count == 1);

  // A REMOVE lowers the count.
  {
    const MemberUpdateJob job = f.SubmitAndRun(
        As(ann), acme, "us", {{p1.id, {Remove("mia@acme.com")}}});
    REQUIRE(job.results.size() == 1);
    REQUIRE(job.results[0].status.ok());
    auto after = f.prj().ListProjectUsers(As(ann), acme, PageOf(1, 1000));
    ENTITLE_REQUIRE_OK(after);
    REQUIRE(after->items.size() == 3);
    CHECK(after->items[0].identity_id == mia);
    CHECK(after->items[0].project_count == 2);
  }

  // Page sizes up to 1000; 1001 is over the limit, 0 is no size.
  {
    const auto before = f.Freeze();
    REQUIRE_REASON(f.prj().ListProjectUsers(As(ann), acme, PageOf(1, 1001)),
                   Reason::kLimitExceeded);
    REQUIRE_REASON(f.prj().ListProjectUsers(kOp, acme, PageOf(2, 5000)),
                   Reason::kLimitExceeded);
    REQUIRE_REASON(f.prj().ListProjectUsers(As(ann), acme, PageOf(1, 0)),
                   Reason::kInvalidArgument);
    REQUIRE_REASON(f.prj().ListProjectUsers(As(ann), acme, PageOf(0, 10)),
                   Reason::kInvalidArgument);
    f.RequireUnchanged(before);
  }
}

// ------------------------------------------------------------------- PRJ-5

// clang-format off
TEMPLATE_TEST_CASE("PRJ-5 one user's projects in the organization with its "
                   "active project count",
    "[projects]", ENTITLE_BACKENDS) {
  // clang-format on
  ProjectFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const auto [beta, bea] = MakeBeta(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com", Person("Mia"));
  const IdentityId pat = f.Employee(acme, ann, "pat@acme.com", Person("Pat"));
  const IdentityId stranger =
      f.RegisterVerified("stranger@else.org", Person("Stranger"));
  ENTITLE_REQUIRE_OK(f.orgs().AddExternal(As(bea), beta, "mia@acme.com"));
  const EntitlementRecord cad = f.Entitle(acme, Floating("CAD"));
  const EntitlementRecord beta_cad = f.Entitle(beta, Floating("CAD"));

  const ProjectRecord p1 = f.Project(kOp, acme, cad, "One", "eu");
  const ProjectRecord p2 = f.Project(kOp, acme, cad, "Two", "us");
  const ProjectRecord p3 = f.Project(kOp, acme, cad, "Three", "eu");
  const ProjectRecord other = f.Project(kOp, acme, cad, "Other", "eu");
  const ProjectRecord b1 = f.Project(kOp, beta, beta_cad, "Beta", "eu");
  // Placed out of project order, at distinct times.
  f.Place(p3, "mia@acme.com");
  const absl::Time p3_at = f.Now();
  f.Advance(absl::Minutes(1));
  f.Place(p1, "mia@acme.com", ProjectRole::kAdmin);
  const absl::Time p1_at = f.Now();
  f.Advance(absl::Minutes(1));
  f.Place(p2, "mia@acme.com");
  const absl::Time p2_at = f.Now();
  f.Place(b1, "mia@acme.com");
  f.Place(other, "pat@acme.com");

  auto all = f.prj().GetProjectUser(As(ann), acme, mia, PageOf(1, 25));
  ENTITLE_REQUIRE_OK(all);
  CHECK(all->identity_id == mia);
  CHECK(all->email == "mia@acme.com");
  CHECK(all->display_name == "Mia");
  CHECK(all->active_projects_count == 3);
  CHECK(all->projects.total == 3);  // Beta's project is not Acme's.
  CHECK_FALSE(all->projects.has_more);
  REQUIRE(all->projects.items.size() == 3);
  CHECK(all->projects.items[0].project == p1);
  CHECK(all->projects.items[0].role == ProjectRole::kAdmin);
  CHECK(all->projects.items[0].added_at == p1_at);
  CHECK(all->projects.items[1].project == p2);
  CHECK(all->projects.items[1].role == ProjectRole::kUser);
  CHECK(all->projects.items[1].added_at == p2_at);
  CHECK(all->projects.items[2].project == p3);
  CHECK(all->projects.items[2].added_at == p3_at);

  // Archived projects are listed but not active.
  ENTITLE_REQUIRE_OK(f.prj().ArchiveProject(kOp, "us", p2.id));
  auto archived = f.prj().GetProjectUser(As(ann), acme, mia, PageOf(1, 25));
  ENTITLE_REQUIRE_OK(archived);
  CHECK(archived->active_projects_count == 2);
  CHECK(archived->projects.total == 3);
  REQUIRE(archived->projects.items.size() == 3);
  CHECK(archived->projects.items[1].project.status == ProjectStatus::kArchived);

  // Paging: the count is over every project, not the page.
  auto first = f.prj().GetProjectUser(As(ann), acme, mia, PageOf(1, 2));
  ENTITLE_REQUIRE_OK(first);
  CHECK(first->active_projects_count == 2);
  CHECK(first->projects.total == 3);
  CHECK(first->projects.has_more);
  REQUIRE(first->projects.items.size() == 2);
  CHECK(first->projects.items[0].project.id == p1.id);
  CHECK(first->projects.items[1].project.id == p2.id);
  auto second = f.prj().GetProjectUser(As(ann), acme, mia, PageOf(2, 2));
  ENTITLE_REQUIRE_OK(second);
  CHECK(second->active_projects_count == 2);
  CHECK_FALSE(second->projects.has_more);
  REQUIRE(second->projects.items.size() == 1);
  CHECK(second->projects.items[0].project.id == p3.id);
  auto past = f.prj().GetProjectUser(As(ann), acme, mia, PageOf(3, 2));
  ENTITLE_REQUIRE_OK(past);
  CHECK(past->projects.items.empty());
  CHECK(past->active_projects_count == 2);
  CHECK_FALSE(past->projects.has_more);

  // The JSON document.
  const Json json = Json::parse(UserProjectsToJson(*archived, PageOf(1, 25)));
  CHECK(json["userId"] == absl::StrCat(mia.value()));
  CHECK(json["activeProjectsCount"] == 2);
  CHECK(json["total"] == 3);
  REQUIRE(json["projects"].size() == 3);
  CHECK(json["projects"][0]["role"] == "ADMIN");
  CHECK(json["projects"][1]["status"] == "ARCHIVED");

  // In Beta, Mia has Beta's project only.
  auto in_beta = f.prj().GetProjectUser(As(bea), beta, mia, PageOf(1, 25));
  ENTITLE_REQUIRE_OK(in_beta);
  CHECK(in_beta->active_projects_count == 1);
  REQUIRE(in_beta->projects.items.size() == 1);
  CHECK(in_beta->projects.items[0].project == b1);

  // A member in none of the organization's projects: an empty page.
  auto none = f.prj().GetProjectUser(As(ann), acme, ann, PageOf(1, 25));
  ENTITLE_REQUIRE_OK(none);
  CHECK(none->identity_id == ann);
  CHECK(none->active_projects_count == 0);
  CHECK(none->projects.items.empty());
  CHECK(none->projects.total == 0);
  CHECK_FALSE(none->projects.has_more);
  // SEC-3: an identity that is not the organization's is not its user at
  // all, for the operator too (tests/projects/projects_security_test.cc).
  for (const Actor& asker : {As(ann), kOp}) {
    INFO("asked by " << asker);
    REQUIRE_REASON(f.prj().GetProjectUser(asker, acme, stranger, PageOf(1, 25)),
                   Reason::kNotFound);
  }
  // Pat is in one project, not Mia's.
  auto pats = f.prj().GetProjectUser(As(ann), acme, pat, PageOf(1, 25));
  ENTITLE_REQUIRE_OK(pats);
  CHECK(pats->active_projects_count == 1);
  REQUIRE(pats->projects.items.size() == 1);
  CHECK(pats->projects.items[0].project.id == other.id);

  {
    const auto before = f.Freeze();
    REQUIRE_REASON(
        f.prj().GetProjectUser(As(ann), acme, kNoIdentity, PageOf(1, 25)),
        Reason::kNotFound);
    REQUIRE_REASON(
        f.prj().GetProjectUser(kOp, acme, kNoIdentity, PageOf(1, 25)),
        Reason::kNotFound);
    REQUIRE_REASON(f.prj().GetProjectUser(As(ann), acme, mia, PageOf(1, 1001)),
                   Reason::kLimitExceeded);
    REQUIRE_REASON(f.prj().GetProjectUser(As(ann), acme, mia, PageOf(0, 10)),
                   Reason::kInvalidArgument);
    f.RequireUnchanged(before);
  }
}

// ------------------------------------------------------------------- PRJ-6

// clang-format off
TEMPLATE_TEST_CASE("PRJ-6 a batch job is queued, then runs each update in "
                   "request order; a failing update fails alone with its "
                   "reason",
    "[projects]", ENTITLE_BACKENDS) {
  // clang-format on
  ProjectFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const auto [beta, bea] = MakeBeta(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com", Person());
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com", Person());
  const IdentityId ext = f.External(acme, ann, "ext@partner.org", Person());
  f.RegisterVerified("stranger@else.org", Person());  // In no organization.
  const EntitlementRecord cad = f.Entitle(acme, Floating("CAD"));
  const EntitlementRecord beta_cad = f.Entitle(beta, Floating("CAD"));

  const ProjectRecord p1 = f.Project(kOp, acme, cad, "Bridge", "eu");
  const ProjectRecord p2 = f.Project(kOp, acme, cad, "Tunnel", "eu");
  const ProjectRecord in_us = f.Project(kOp, acme, cad, "Harbor", "us");
  const ProjectRecord old = f.Project(kOp, acme, cad, "Old", "eu");
  const ProjectRecord theirs = f.Project(kOp, beta, beta_cad, "Beta", "eu");
  f.Place(p2, "nik@acme.com", ProjectRole::kUser);
  f.Place(p2, "ext@partner.org", ProjectRole::kUser);
  f.Place(old, "nik@acme.com", ProjectRole::kUser);
  ENTITLE_REQUIRE_OK(f.prj().ArchiveProject(kOp, "eu", old.id));

  // The request and, per update, the expected outcome (kNone: OK).
  struct Planned {
    ProjectId project;
    std::vector<std::pair<MemberUpdate, Reason>> updates;
  };
  const std::vector<Planned> plan = {
      {p1.id,
       {{Add("mia@acme.com"), Reason::kNone},
        {Add("nik@acme.com", ProjectRole::kAdmin), Reason::kNone},
        {Add("not an address"), Reason::kInvalidEmail},
        // SEC-3: an address with no account reads as a non-member.
        {Add("ghost@acme.com"), Reason::kNotMember},
        {Add("stranger@else.org"), Reason::kNotMember},
        {Add("mia@acme.com", ProjectRole::kAdmin), Reason::kAlreadyMember},
        {Remove("ext@partner.org"), Reason::kNotMember},
        {Update("ext@partner.org", ProjectRole::kAdmin), Reason::kNotMember},
        {Add("ext@partner.org"), Reason::kNone},
        {Update("ext@partner.org", ProjectRole::kAdmin), Reason::kNone},
        {Update("nik@acme.com", ProjectRole::kAdmin), Reason::kNone},
        {Remove("ghost@acme.com"), Reason::kNotMember},
        {Update("@@", ProjectRole::kUser), Reason::kInvalidEmail}}},
      {p2.id,
       {{Update("nik@acme.com", ProjectRole::kAdmin), Reason::kNone},
        {Remove("ext@partner.org"), Reason::kNone},
        {Add("mia@acme.com"), Reason::kNone},
        {Remove("mia@acme.com"), Reason::kNone},
        {Remove("stranger@else.org"), Reason::kNotMember}}},
      {kNoProject,
       {{Add("mia@acme.com"), Reason::kNotFound},
        {Remove("nik@acme.com"), Reason::kNotFound}}},
      {theirs.id, {{Add("mia@acme.com"), Reason::kNotFound}}},
      {in_us.id, {{Add("mia@acme.com"), Reason::kWrongRegion}}},
      {old.id,
       {{Add("mia@acme.com"), Reason::kProjectArchived},
        {Remove("nik@acme.com"), Reason::kProjectArchived}}},
  };
  std::vector<ProjectMemberUpdates> request;
  for (const Planned& planned : plan) {
    ProjectMemberUpdates entry;
    entry.project_id = planned.project;
    for (const auto& [update, reason] : planned.updates) {
      entry.updates.push_back(update);
    }
    request.push_back(std::move(entry));
  }

  // Submitted: queued, nothing applied yet.
  const std::map<IdentityId, ProjectRole> p2_before = f.MembersOf(p2);
  const size_t jobs_before = f.Jobs().size();
  auto queued = f.prj().SubmitMemberUpdates(As(ann), acme, "eu", request);
  ENTITLE_REQUIRE_OK(queued);
  CHECK(queued->id.valid());
  CHECK(queued->organization_id == acme);
  CHECK(queued->created_by == std::optional<IdentityId>(ann));
  CHECK(queued->region == "eu");
  CHECK(queued->status == JobStatus::kQueued);
  CHECK(queued->request == request);
  CHECK(queued->results.empty());
  CHECK(queued->created_at == f.Now());
  CHECK_FALSE(queued->finished_at.has_value());
  CHECK(f.Jobs().size() == jobs_before + 1);
  CHECK(f.MembersOf(p1).empty());
  CHECK(f.MembersOf(p2) == p2_before);
  {
    auto seen = f.prj().GetJob(As(ann), queued->id);
    ENTITLE_REQUIRE_OK(seen);
    RequireSameJob(*seen, *queued);
    const Json json = Json::parse(MemberUpdateJobToJson(*seen));
    CHECK(json["status"] == "QUEUED");
    CHECK(json["finishedAt"].is_null());
  }

  // Run: done, one result per update in request order.
  f.Advance(absl::Minutes(5));
  auto done = f.prj().RunJob(queued->id);
  ENTITLE_REQUIRE_OK(done);
  CHECK(done->status == JobStatus::kDone);
  CHECK(done->finished_at == std::optional<absl::Time>(f.Now()));
  CHECK(done->created_at == queued->created_at);
  CHECK(done->request == request);
  CHECK(done->failure.ok());
  size_t i = 0;
  size_t total = 0;
  for (const Planned& planned : plan) total += planned.updates.size();
  REQUIRE(done->results.size() == total);
  for (const Planned& planned : plan) {
    for (const auto& [update, reason] : planned.updates) {
      const MemberUpdateResult& result = done->results[i];
      INFO("result #" << i << ": " << planned.project << " " << update.email
                      << " -> " << result.status.ToString());
      INFO("expected: " << ReasonName(reason));
      CHECK(result.project_id == planned.project);
      CHECK(result.update == update);
      if (reason == Reason::kNone) {
        CHECK(result.status.ok());
      } else {
        CHECK_FALSE(result.status.ok());
        CHECK(static_cast<int>(GetReason(result.status)) ==
              static_cast<int>(reason));
      }
      ++i;
    }
  }
  // The wrong region's result names the right one.
  const MemberUpdateResult& wrong_region = done->results[total - 3];
  CHECK(wrong_region.project_id == in_us.id);
  CHECK(absl::StrContains(wrong_region.status.message(), "us"));

  // The effects.
  CHECK(f.MembersOf(p1) ==
        std::map<IdentityId, ProjectRole>{{mia, ProjectRole::kUser},
                                          {nik, ProjectRole::kAdmin},
                                          {ext, ProjectRole::kAdmin}});
  CHECK(f.MembersOf(p2) ==
        std::map<IdentityId, ProjectRole>{{nik, ProjectRole::kAdmin}});
  CHECK(f.MembersOf(in_us).empty());
  CHECK(f.MembersOf(theirs).empty());
  CHECK(f.MembersOf(old) ==
        std::map<IdentityId, ProjectRole>{{nik, ProjectRole::kUser}});
  {
    auto added = f.prj().ListMembers(As(ann), "eu", p1.id);
    ENTITLE_REQUIRE_OK(added);
    for (const ProjectMemberRecord& m : *added) CHECK(m.added_at == f.Now());
  }

  // GetJob reads the same job.
  auto read = f.prj().GetJob(As(ann), queued->id);
  ENTITLE_REQUIRE_OK(read);
  RequireSameJob(*read, *done);

  // The JSON: DONE, each failed update with its reason's name.
  const std::string text = MemberUpdateJobToJson(*done);
  INFO("json: " << text);
  CHECK(absl::StrContains(text, "\"status\":\"FAILED\""));
  CHECK(absl::StrContains(text, "\"status\":\"OK\""));
  for (Reason reason :
       {Reason::kInvalidEmail, Reason::kNotMember, Reason::kAlreadyMember,
        Reason::kNotFound, Reason::kWrongRegion, Reason::kProjectArchived}) {
    CHECK(absl::StrContains(text, "\"reason\":\"" + ReasonText(reason) + "\""));
  }
  const Json json = Json::parse(text);
  CHECK(json["jobId"] == absl::StrCat(done->id.value()));
  CHECK(json["status"] == "DONE");
  CHECK(json["region"] == "eu");
  CHECK_FALSE(json["finishedAt"].is_null());
  CHECK_FALSE(json.contains("error"));
  REQUIRE(json["results"].size() == plan.size());
  size_t k = 0;
  for (size_t p = 0; p < plan.size(); ++p) {
    const Json& entry = json["results"][p];
    CHECK(entry["projectId"] == absl::StrCat(plan[p].project.value()));
    REQUIRE(entry["updates"].size() == plan[p].updates.size());
    for (size_t u = 0; u < plan[p].updates.size(); ++u, ++k) {
      const Json& got = entry["updates"][u];
      const Reason reason = plan[p].updates[u].second;
      INFO("json result " << p << "/" << u << ": " << got.dump());
      CHECK(got["email"] == plan[p].updates[u].first.email);
      if (reason == Reason::kNone) {
        CHECK(got["status"] == "OK");
        CHECK_FALSE(got.contains("reason"));
      } else {
        CHECK(got["status"] == "FAILED");
        CHECK(got["reason"] == ReasonText(reason));
        CHECK(got["message"].is_string());
      }
    }
  }
  CHECK(k == total);

  // Running a done job again returns it unchanged and writes nothing.
  {
    const auto before = f.Freeze();
    f.Advance(absl::Minutes(5));
    auto again = f.prj().RunJob(queued->id);
    ENTITLE_REQUIRE_OK(again);
    RequireSameJob(*again, *done);
    f.RequireUnchanged(before);
  }
  REQUIRE_REASON(f.prj().RunJob(JobId(987654)), Reason::kNotFound);
  REQUIRE_REASON(f.prj().GetJob(As(ann), JobId(987654)), Reason::kNotFound);
}

// clang-format off
TEMPLATE_TEST_CASE("PRJ-6 the API page's request body is parsed and run as a "
                   "job",
    "[projects]", ENTITLE_BACKENDS) {
  // clang-format on
  ProjectFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com", Person());
  const EntitlementRecord cad = f.Entitle(acme, Floating("CAD"));
  const ProjectRecord p = f.Project(As(ann), acme, cad, "Bridge", "eu");

  // The body exactly as the API page shows it, with a real project id, the
  // ADD action and a member's address.
  const std::string body = absl::StrCat(R"([
{
"projectId": ")",
                                        p.id.value(), R"(",
"updates": [
{
"action": "ADD",
"email": "mia@acme.com",
"role": "USER"
}
]
}
])");
  auto parsed = ParseMemberUpdateRequest(body);
  ENTITLE_REQUIRE_OK(parsed);
  const std::vector<ProjectMemberUpdates> expected = {
      {p.id, {Add("mia@acme.com", ProjectRole::kUser)}}};
  CHECK(*parsed == expected);
  // Written back and read again, it is the same request.
  auto reparsed = ParseMemberUpdateRequest(MemberUpdateRequestToJson(*parsed));
  ENTITLE_REQUIRE_OK(reparsed);
  CHECK(*reparsed == *parsed);

  auto queued = f.prj().SubmitMemberUpdates(As(ann), acme, "eu", *parsed);
  ENTITLE_REQUIRE_OK(queued);
  CHECK(queued->status == JobStatus::kQueued);
  const Json queued_json = Json::parse(MemberUpdateJobToJson(*queued));
  CHECK(queued_json["status"] == "QUEUED");
  REQUIRE(queued_json["request"].size() == 1);
  CHECK(queued_json["request"][0]["projectId"] == absl::StrCat(p.id.value()));
  CHECK(queued_json["request"][0]["updates"][0]["action"] == "ADD");
  CHECK(queued_json["request"][0]["updates"][0]["email"] == "mia@acme.com");
  CHECK(queued_json["request"][0]["updates"][0]["role"] == "USER");

  auto done = f.prj().RunJob(queued->id);
  ENTITLE_REQUIRE_OK(done);
  CHECK(done->status == JobStatus::kDone);
  REQUIRE(done->results.size() == 1);
  CHECK(done->results[0].status.ok());
  CHECK(f.MembersOf(p) ==
        std::map<IdentityId, ProjectRole>{{ann, ProjectRole::kAdmin},
                                          {mia, ProjectRole::kUser}});
  const Json done_json = Json::parse(MemberUpdateJobToJson(*done));
  CHECK(done_json["status"] == "DONE");
  CHECK(done_json["results"][0]["updates"][0]["status"] == "OK");

  // The other spellings the page allows, and a project id as a number.
  auto others = ParseMemberUpdateRequest(absl::StrCat(
      R"([{"projectId":)", p.id.value(),
      R"(,"updates":[{"action":"UPDATE","email":"mia@acme.com","role":"ADMIN"},)"
      R"({"action":"REMOVE","email":"mia@acme.com"},)"
      R"({"action":"REMOVE","email":"x@acme.com","role":"USER","extra":1}]}])"));
  ENTITLE_REQUIRE_OK(others);
  REQUIRE(others->size() == 1);
  CHECK((*others)[0].project_id == p.id);
  REQUIRE((*others)[0].updates.size() == 3);
  CHECK((*others)[0].updates[0] == Update("mia@acme.com", ProjectRole::kAdmin));
  CHECK((*others)[0].updates[1].action == MemberUpdateAction::kRemove);
  CHECK((*others)[0].updates[1].email == "mia@acme.com");
  CHECK((*others)[0].updates[2].action == MemberUpdateAction::kRemove);

  // Not the page's body: refused whole.
  for (
      const std::string& bad : {
          std::string("not json"),
          std::string("{}"),
          std::string("[]"),
          std::string("[1]"),
          std::string(R"([{"updates":[]}])"),
          std::string(R"([{"projectId":"string","updates":[]}])"),
          std::string(R"([{"projectId":"0","updates":[]}])"),
          std::string(R"([{"projectId":"1"}])"),
          // The page's placeholder action.
          std::string(
              R"([{"projectId":"1","updates":[{"action":"string","email":"a@b.com","role":"USER"}]}])"),
          std::string(
              R"([{"projectId":"1","updates":[{"action":"add","email":"a@b.com","role":"USER"}]}])"),
          std::string(
              R"([{"projectId":"1","updates":[{"action":"ADD","email":"a@b.com","role":"OWNER"}]}])"),
          std::string(
              R"([{"projectId":"1","updates":[{"action":"ADD","email":"a@b.com"}]}])"),
          std::string(
              R"([{"projectId":"1","updates":[{"action":"ADD","role":"USER"}]}])"),
      }) {
    INFO("body: " << bad);
    REQUIRE_REASON(ParseMemberUpdateRequest(bad), Reason::kInvalidArgument);
  }
  // An address is not checked by the parser.
  auto odd = ParseMemberUpdateRequest(
      R"([{"projectId":"1","updates":[{"action":"ADD","email":"not an address","role":"USER"}]}])");
  ENTITLE_REQUIRE_OK(odd);
  CHECK((*odd)[0].updates[0].email == "not an address");
}

// clang-format off
TEMPLATE_TEST_CASE("PRJ-6 a request over 30 projects or 15 updates for one "
                   "project is refused whole with the limit it broke, and no "
                   "job is made",
    "[projects]", ENTITLE_BACKENDS) {
  // clang-format on
  ProjectFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com", Person());
  const EntitlementRecord cad = f.Entitle(acme, Floating("CAD"));
  std::vector<ProjectRecord> projects;
  for (int i = 0; i < kMaxProjectsPerRequest; ++i) {
    projects.push_back(f.Project(kOp, acme, cad, absl::StrCat("P", i), "eu"));
  }

  // At the limits: 30 projects of 15 updates each.
  std::vector<ProjectMemberUpdates> at_limit;
  for (const ProjectRecord& p : projects) {
    ProjectMemberUpdates entry{p.id, {Add("mia@acme.com")}};
    for (int u = 1; u < kMaxUpdatesPerProject; ++u) {
      entry.updates.push_back(Update("mia@acme.com", u % 2 == 0
                                                         ? ProjectRole::kAdmin
                                                         : ProjectRole::kUser));
    }
    at_limit.push_back(std::move(entry));
  }
  REQUIRE(at_limit.size() == 30);
  REQUIRE(at_limit[0].updates.size() == 15);

  // 31 projects (the 31st unknown), and 16 updates for one project.
  std::vector<ProjectMemberUpdates> too_many_projects = at_limit;
  too_many_projects.push_back({kNoProject, {Add("mia@acme.com")}});
  std::vector<ProjectMemberUpdates> too_many_updates = at_limit;
  too_many_updates[7].updates.push_back(Remove("mia@acme.com"));
  std::vector<ProjectMemberUpdates> small_but_long = {
      {projects[0].id, std::vector<MemberUpdate>(16, Add("mia@acme.com"))}};

  {
    const auto before = f.Freeze();
    // Through the parser.
    const absl::Status parsed_projects =
        ParseMemberUpdateRequest(MemberUpdateRequestToJson(too_many_projects))
            .status();
    REQUIRE_REASON(parsed_projects, Reason::kLimitExceeded);
    CHECK(absl::StrContains(parsed_projects.message(), "30"));
    const absl::Status parsed_updates =
        ParseMemberUpdateRequest(MemberUpdateRequestToJson(too_many_updates))
            .status();
    REQUIRE_REASON(parsed_updates, Reason::kLimitExceeded);
    CHECK(absl::StrContains(parsed_updates.message(), "15"));
    REQUIRE_REASON(
        ParseMemberUpdateRequest(MemberUpdateRequestToJson(small_but_long)),
        Reason::kLimitExceeded);
    // A body over the size limit.
    REQUIRE_REASON(ParseMemberUpdateRequest(
                       std::string(kMaxMemberUpdateBodyBytes, ' ') + "[]"),
                   Reason::kLimitExceeded);

    // Through the service, for an administrator and the operator.
    for (const Actor& actor : {As(ann), kOp}) {
      INFO("actor " << actor);
      const absl::Status projects_status =
          f.prj()
              .SubmitMemberUpdates(actor, acme, "eu", too_many_projects)
              .status();
      REQUIRE_REASON(projects_status, Reason::kLimitExceeded);
      CHECK(absl::StrContains(projects_status.message(), "30"));
      const absl::Status updates_status =
          f.prj()
              .SubmitMemberUpdates(actor, acme, "eu", too_many_updates)
              .status();
      REQUIRE_REASON(updates_status, Reason::kLimitExceeded);
      CHECK(absl::StrContains(updates_status.message(), "15"));
      REQUIRE_REASON(
          f.prj().SubmitMemberUpdates(actor, acme, "eu", small_but_long),
          Reason::kLimitExceeded);
      // No project, an unknown region, an unknown organization.
      REQUIRE_REASON(f.prj().SubmitMemberUpdates(actor, acme, "eu", {}),
                     Reason::kInvalidArgument);
      REQUIRE_REASON(
          f.prj().SubmitMemberUpdates(
              actor, acme, "ap", {{projects[0].id, {Add("mia@acme.com")}}}),
          Reason::kInvalidArgument);
    }
    REQUIRE_REASON(
        f.prj().SubmitMemberUpdates(kOp, OrganizationId(987654), "eu",
                                    {{projects[0].id, {Add("mia@acme.com")}}}),
        Reason::kNotFound);
    f.RequireUnchanged(before);
    CHECK(f.Jobs().empty());
  }

  // The request at the limits is fine both ways.
  auto parsed = ParseMemberUpdateRequest(MemberUpdateRequestToJson(at_limit));
  ENTITLE_REQUIRE_OK(parsed);
  CHECK(*parsed == at_limit);
  const MemberUpdateJob job = f.SubmitAndRun(As(ann), acme, "eu", *parsed);
  REQUIRE(job.results.size() == 30u * 15u);
  for (size_t i = 0; i < job.results.size(); ++i) {
    INFO("result #" << i << ": " << job.results[i].status.ToString());
    REQUIRE(job.results[i].status.ok());
  }
  CHECK(f.Jobs().size() == 1);
  // The 14 updates alternate USER, ADMIN: the last one is ADMIN.
  for (const ProjectRecord& p : projects) {
    CHECK(f.MembersOf(p) ==
          std::map<IdentityId, ProjectRole>{{mia, ProjectRole::kAdmin}});
  }
  auto users = f.prj().ListProjectUsers(As(ann), acme, PageOf(1, 25));
  ENTITLE_REQUIRE_OK(users);
  REQUIRE(users->items.size() == 1);
  CHECK(users->items[0].identity_id == mia);
  CHECK(users->items[0].project_count == 30);
}

TEMPLATE_TEST_CASE("PRJ-6 RunQueuedJobs runs the queued jobs, oldest first",
                   "[projects]", ENTITLE_BACKENDS) {
  ProjectFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com", Person());
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com", Person());
  const EntitlementRecord cad = f.Entitle(acme, Floating("CAD"));
  const ProjectRecord p = f.Project(kOp, acme, cad, "Bridge", "us");

  CHECK(f.prj().RunQueuedJobs(10).value() == 0);

  auto first = f.prj().SubmitMemberUpdates(As(ann), acme, "us",
                                           {{p.id, {Add("mia@acme.com")}}});
  ENTITLE_REQUIRE_OK(first);
  auto second = f.prj().SubmitMemberUpdates(
      kOp, acme, "us",
      {{p.id,
        {Remove("mia@acme.com"), Add("nik@acme.com", ProjectRole::kAdmin)}}});
  ENTITLE_REQUIRE_OK(second);
  CHECK_FALSE(second->created_by.has_value());  // The operator's.
  auto third = f.prj().SubmitMemberUpdates(As(ann), acme, "us",
                                           {{p.id, {Add("mia@acme.com")}}});
  ENTITLE_REQUIRE_OK(third);
  CHECK(f.MembersOf(p).empty());

  // One at a time: the oldest.
  auto ran = f.prj().RunQueuedJobs(1);
  ENTITLE_REQUIRE_OK(ran);
  CHECK(*ran == 1);
  CHECK(f.prj().GetJob(As(ann), first->id)->status == JobStatus::kDone);
  CHECK(f.prj().GetJob(As(ann), second->id)->status == JobStatus::kQueued);
  CHECK(f.prj().GetJob(As(ann), third->id)->status == JobStatus::kQueued);
  CHECK(f.MembersOf(p) ==
        std::map<IdentityId, ProjectRole>{{mia, ProjectRole::kUser}});

  // The rest.
  ran = f.prj().RunQueuedJobs(10);
  ENTITLE_REQUIRE_OK(ran);
  CHECK(*ran == 2);
  for (JobId id : {first->id, second->id, third->id}) {
    auto job = f.prj().GetJob(kOp, id);
    ENTITLE_REQUIRE_OK(job);
    CHECK(job->status == JobStatus::kDone);
    for (const MemberUpdateResult& r : job->results) {
      INFO(id << ": " << r.status.ToString());
      CHECK(r.status.ok());
    }
  }
  // In order: Mia added, removed, added again; Nik added as ADMIN.
  CHECK(f.MembersOf(p) ==
        std::map<IdentityId, ProjectRole>{{mia, ProjectRole::kUser},
                                          {nik, ProjectRole::kAdmin}});
  // Nothing queued is left.
  const auto before = f.Freeze();
  CHECK(f.prj().RunQueuedJobs(10).value() == 0);
  f.RequireUnchanged(before);
}

// clang-format off
TEMPLATE_TEST_CASE("PRJ-6 a job whose submitter is no longer an account admin "
                   "when it runs fails with kPermissionDenied and applies "
                   "nothing",
    "[projects]", ENTITLE_BACKENDS) {
  // clang-format on
  ProjectFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com", Person());
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com", Person());
  const IdentityId ola = f.Employee(acme, ann, "ola@acme.com", Person());
  const EntitlementRecord cad = f.Entitle(acme, Floating("CAD"));
  const ProjectRecord p = f.Project(kOp, acme, cad, "Bridge", "eu");
  f.Place(p, "ola@acme.com");
  const RoleId coadmin = f.BuiltInRole(acme, kCoAdministratorRole);
  ENTITLE_REQUIRE_OK(f.orgs().GrantRole(As(ann), acme, mia, coadmin));
  const RoleId pm =
      f.GiveRole(acme, ann, nik, "Project manager", kManageProjects);

  const std::vector<ProjectMemberUpdates> request = {
      {p.id, {Add("mia@acme.com"), Remove("ola@acme.com")}}};
  // Mia's role is revoked; Nik's custom role is deleted; a third job by Nik
  // is locked out.
  auto by_mia = f.prj().SubmitMemberUpdates(As(mia), acme, "eu", request);
  ENTITLE_REQUIRE_OK(by_mia);
  CHECK(by_mia->created_by == std::optional<IdentityId>(mia));
  auto by_nik = f.prj().SubmitMemberUpdates(As(nik), acme, "eu", request);
  ENTITLE_REQUIRE_OK(by_nik);
  ENTITLE_REQUIRE_OK(f.orgs().RevokeRole(As(ann), acme, mia, coadmin));
  ENTITLE_REQUIRE_OK(f.orgs().DeleteRole(As(ann), acme, pm));
  const std::map<IdentityId, ProjectRole> members = f.MembersOf(p);
  REQUIRE(members ==
          std::map<IdentityId, ProjectRole>{{ola, ProjectRole::kUser}});

  for (JobId id : {by_mia->id, by_nik->id}) {
    INFO("job " << id);
    f.Advance(absl::Seconds(30));
    auto failed = f.prj().RunJob(id);
    ENTITLE_REQUIRE_OK(failed);
    CHECK(failed->status == JobStatus::kFailed);
    REQUIRE_REASON(failed->failure, Reason::kPermissionDenied);
    CHECK(failed->results.empty());
    CHECK(failed->finished_at == std::optional<absl::Time>(f.Now()));
    CHECK(f.MembersOf(p) == members);  // Nothing applied.
    auto read = f.prj().GetJob(As(ann), id);
    ENTITLE_REQUIRE_OK(read);
    RequireSameJob(*read, *failed);
    const std::string text = MemberUpdateJobToJson(*failed);
    INFO("json: " << text);
    const Json json = Json::parse(text);
    CHECK(json["status"] == "FAILED");
    CHECK(json["error"]["reason"] == ReasonText(Reason::kPermissionDenied));
    // Running it again changes nothing.
    const auto before = f.Freeze();
    auto again = f.prj().RunJob(id);
    ENTITLE_REQUIRE_OK(again);
    RequireSameJob(*again, *failed);
    f.RequireUnchanged(before);
  }

  // A locked submitter: Ann grants Mia the role again, Mia submits, the
  // operator locks her.
  ENTITLE_REQUIRE_OK(f.orgs().GrantRole(As(ann), acme, mia, coadmin));
  auto locked_job = f.prj().SubmitMemberUpdates(As(mia), acme, "eu", request);
  ENTITLE_REQUIRE_OK(locked_job);
  ENTITLE_REQUIRE_OK(f.ids().Lock(kOp, mia));
  auto locked_run = f.prj().RunJob(locked_job->id);
  ENTITLE_REQUIRE_OK(locked_run);
  CHECK(locked_run->status == JobStatus::kFailed);
  REQUIRE_REASON(locked_run->failure, Reason::kPermissionDenied);
  CHECK(f.MembersOf(p) == members);

  // A submitter who is still an administrator: the same request applies
  // (Mia, unlocked again, is an active member to add).
  ENTITLE_REQUIRE_OK(f.ids().Unlock(kOp, mia));
  auto by_ann = f.prj().SubmitMemberUpdates(As(ann), acme, "eu", request);
  ENTITLE_REQUIRE_OK(by_ann);
  auto applied = f.prj().RunJob(by_ann->id);
  ENTITLE_REQUIRE_OK(applied);
  CHECK(applied->status == JobStatus::kDone);
  CHECK(f.MembersOf(p) ==
        std::map<IdentityId, ProjectRole>{{mia, ProjectRole::kUser}});
}

// clang-format off
TEMPLATE_TEST_CASE("PRJ-6 a project id no project can have (0, negative) fails "
                   "its updates with kNotFound or is refused whole, never "
                   "leaving a job behind",
    "[projects]", ENTITLE_BACKENDS) {
  // clang-format on
  ProjectFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com", Person());
  const EntitlementRecord cad = f.Entitle(acme, Floating("CAD"));
  const ProjectRecord p = f.Project(kOp, acme, cad, "Bridge", "eu");

  // SubmitMemberUpdates documents no refusal for a project id: an id naming
  // no project of the organization fails its own updates with kNotFound.
  // Refusing the request whole (kInvalidArgument, nothing queued) would also
  // keep the contract; returning an error after queuing a job would not.
  const std::vector<ProjectMemberUpdates> request = {
      {ProjectId(0), {Add("mia@acme.com")}},
      {ProjectId(-5), {Add("mia@acme.com")}},
      {p.id, {Add("mia@acme.com")}}};
  const auto before = f.Freeze();
  auto queued = f.prj().SubmitMemberUpdates(As(ann), acme, "eu", request);
  if (queued.ok()) {
    CHECK(queued->request == request);
    auto done = f.prj().RunJob(queued->id);
    ENTITLE_REQUIRE_OK(done);
    CHECK(done->status == JobStatus::kDone);
    REQUIRE(done->results.size() == 3);
    REQUIRE_REASON(done->results[0].status, Reason::kNotFound);
    REQUIRE_REASON(done->results[1].status, Reason::kNotFound);
    CHECK(done->results[2].status.ok());
    CHECK(f.MembersOf(p) ==
          std::map<IdentityId, ProjectRole>{{mia, ProjectRole::kUser}});
    return;
  }
  INFO("SubmitMemberUpdates: " << queued.status().ToString());
  CHECK(static_cast<int>(GetReason(queued.status())) ==
        static_cast<int>(Reason::kInvalidArgument));
  // "Nothing is queued on failure."
  CHECK(f.Jobs().size() == before.snapshot.jobs.size());
  CHECK(TakeSnapshot(f.store()) == before.snapshot);
  // A valid job submitted afterwards still runs through the queue.
  auto later = f.prj().SubmitMemberUpdates(As(ann), acme, "eu",
                                           {{p.id, {Add("mia@acme.com")}}});
  ENTITLE_REQUIRE_OK(later);
  auto ran = f.prj().RunQueuedJobs(10);
  INFO("RunQueuedJobs: " << ran.status().ToString());
  CHECK(ran.ok());
  auto later_job = f.prj().GetJob(As(ann), later->id);
  ENTITLE_REQUIRE_OK(later_job);
  CHECK(later_job->status == JobStatus::kDone);
  CHECK(f.MembersOf(p) ==
        std::map<IdentityId, ProjectRole>{{mia, ProjectRole::kUser}});
}

// clang-format off
TEMPLATE_TEST_CASE("PRJ-6 a job keeps each address as sent: one that is not "
                   "valid UTF-8 fails alone with kInvalidEmail and matches no "
                   "one",
    "[projects]", ENTITLE_BACKENDS) {
  // clang-format on
  ProjectFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com", Person());
  const EntitlementRecord cad = f.Entitle(acme, Floating("CAD"));
  const ProjectRecord p = f.Project(kOp, acme, cad, "Bridge", "eu");
  // A member whose address holds U+FFFD, the replacement character.
  const std::string replaced =
      "m\xEF\xBF\xBD"
      "a@acme.com";
  const IdentityId other = f.Employee(acme, ann, replaced, Person());

  // The byte 0xFF is not UTF-8: the address is not valid (ID-2).
  const std::string bad =
      "m\xFF"
      "a@acme.com";
  REQUIRE_REASON(Email::Parse(bad), Reason::kInvalidEmail);
  const std::vector<ProjectMemberUpdates> request = {
      {p.id, {Add(bad), Add("mia@acme.com")}}};
  auto queued = f.prj().SubmitMemberUpdates(As(ann), acme, "eu", request);
  ENTITLE_REQUIRE_OK(queued);
  CHECK(queued->request == request);  // "As sent".
  auto done = f.prj().RunJob(queued->id);
  ENTITLE_REQUIRE_OK(done);
  REQUIRE(done->results.size() == 2);
  INFO("first result: " << done->results[0].status.ToString());
  CHECK(done->results[0].update.email == bad);
  CHECK(static_cast<int>(GetReason(done->results[0].status)) ==
        static_cast<int>(Reason::kInvalidEmail));
  CHECK(done->results[1].status.ok());
  // Only Mia was added; the invalid address reached no one.
  CHECK(f.MembersOf(p) ==
        std::map<IdentityId, ProjectRole>{{mia, ProjectRole::kUser}});
  CHECK(f.MembersOf(p).count(other) == 0);
  // The job's JSON stays valid JSON.
  CHECK_NOTHROW(Json::parse(MemberUpdateJobToJson(*done)));
}

// ------------------------------------------------------------------- PRJ-7

// clang-format off
TEMPLATE_TEST_CASE("PRJ-7 only account admins (the operator, members with a "
                   "kManageProjects role) use the account queries and the "
                   "batch job",
    "[projects]", ENTITLE_BACKENDS) {
  // clang-format on
  ProjectFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const auto [beta, bea] = MakeBeta(f);
  const IdentityId mia =
      f.Employee(acme, ann, "mia@acme.com", Person());  // Plain.
  const IdentityId cal =
      f.Employee(acme, ann, "cal@acme.com", Person());  // Co-admin.
  const IdentityId lou =
      f.Employee(acme, ann, "lou@acme.com", Person());  // Locked.
  const IdentityId pam =
      f.Employee(acme, ann, "pam@acme.com", Person());  // Projects.
  const IdentityId vic =
      f.Employee(acme, ann, "vic@acme.com", Person());  // All but.
  const IdentityId ext = f.External(acme, ann, "ext@partner.org", Person());
  const IdentityId stranger = f.RegisterVerified("stranger@else.org", Person());
  const RoleId coadmin = f.BuiltInRole(acme, kCoAdministratorRole);
  ENTITLE_REQUIRE_OK(f.orgs().GrantRole(As(ann), acme, cal, coadmin));
  ENTITLE_REQUIRE_OK(f.orgs().GrantRole(As(ann), acme, lou, coadmin));
  f.GiveRole(acme, ann, pam, "Projects", kManageProjects);
  f.GiveRole(acme, ann, vic, "Everything else",
             kAllPermissions & ~static_cast<uint32_t>(kManageProjects));
  const EntitlementRecord cad = f.Entitle(acme, Floating("CAD"));
  const ProjectRecord p = f.Project(As(ann), acme, cad, "Bridge", "eu");
  f.Place(p, "mia@acme.com");  // Mia is a project member, not an admin.
  f.Place(p, "ext@partner.org");
  auto job = f.prj().SubmitMemberUpdates(As(ann), acme, "eu",
                                         {{p.id, {Remove("ext@partner.org")}}});
  ENTITLE_REQUIRE_OK(job);

  // Every account operation, as `actor`, in Acme.
  const auto operations = [&](const Actor& actor) {
    return std::vector<std::pair<std::string, absl::Status>>{
        {"ListProjects",
         f.prj().ListProjects(actor, acme, PageOf(1, 25)).status()},
        {"ListProjectUsers",
         f.prj().ListProjectUsers(actor, acme, PageOf(1, 25)).status()},
        {"GetProjectUser",
         f.prj().GetProjectUser(actor, acme, mia, PageOf(1, 25)).status()},
        {"SubmitMemberUpdates",
         f.prj()
             .SubmitMemberUpdates(
                 actor, acme, "eu",
                 {{p.id, {Update("mia@acme.com", ProjectRole::kUser)}}})
             .status()},
        {"GetJob", f.prj().GetJob(actor, job->id).status()},
    };
  };

  // Lou is allowed while unlocked...
  for (const auto& [name, status] : operations(As(lou))) {
    INFO("unlocked co-admin: " << name << ": " << status.ToString());
    CHECK(status.ok());
  }
  // ...and refused once locked, like everyone who is not an account admin.
  ENTITLE_REQUIRE_OK(f.ids().Lock(kOp, lou));

  const std::vector<std::pair<std::string, Actor>> refused = {
      {"anonymous", kAnon},
      {"plain member (project member)", As(mia)},
      {"member with every permission but kManageProjects", As(vic)},
      {"external member", As(ext)},
      {"administrator of another organization", As(bea)},
      {"locked administrator", As(lou)},
      {"non-member", As(stranger)},
      {"unknown identity", As(kNoIdentity)},
  };
  {
    const auto before = f.Freeze();
    for (const auto& [who, actor] : refused) {
      for (const auto& [name, status] : operations(actor)) {
        INFO(who << ": " << name << ": " << status.ToString());
        REQUIRE_REASON(status, Reason::kPermissionDenied);
      }
    }
    f.RequireUnchanged(before);
  }

  // The operator, Ann (Administrator), Cal (Co-Administrator) and Pam (a
  // custom role with kManageProjects alone) are allowed.
  const std::vector<std::pair<std::string, Actor>> allowed = {
      {"operator", kOp},
      {"administrator", As(ann)},
      {"co-administrator", As(cal)},
      {"custom kManageProjects role", As(pam)},
  };
  for (const auto& [who, actor] : allowed) {
    for (const auto& [name, status] : operations(actor)) {
      INFO(who << ": " << name << ": " << status.ToString());
      CHECK(status.ok());
    }
  }
  // Their jobs run with their authority.
  auto ran = f.prj().RunQueuedJobs(100);
  ENTITLE_REQUIRE_OK(ran);
  CHECK(*ran == 1 + 1 + static_cast<int>(allowed.size()));
  CHECK(f.MembersOf(p) ==
        std::map<IdentityId, ProjectRole>{{ann, ProjectRole::kAdmin},
                                          {mia, ProjectRole::kUser}});

  // Beta's administrator manages Beta, not Acme's job.
  ENTITLE_REQUIRE_OK(f.prj().ListProjects(As(bea), beta, PageOf(1, 25)));
  REQUIRE_REASON(f.prj().GetJob(As(bea), job->id), Reason::kPermissionDenied);
  REQUIRE_REASON(f.prj().GetJob(kOp, JobId(987654)), Reason::kNotFound);
}

// ----------------------------------------- ORG-5, ORG-2, ID-13 and projects

// clang-format off
TEMPLATE_TEST_CASE("PRJ-5 ending an organization membership removes the "
                   "identity from the organization's projects; PRJ-4 and PRJ-5 "
                   "reflect it",
    "[projects]", ENTITLE_BACKENDS) {
  // clang-format on
  ProjectFixture<TestType> f;
  const auto [acme, ann] = MakeAcme(f);
  const auto [beta, bea] = MakeBeta(f);
  const IdentityId mia = f.Employee(acme, ann, "mia@acme.com", Person());
  const IdentityId nik = f.Employee(acme, ann, "nik@acme.com", Person());
  const IdentityId ext = f.External(acme, ann, "ext@partner.org", Person());
  ENTITLE_REQUIRE_OK(f.orgs().AddExternal(As(bea), beta, "ext@partner.org"));
  const EntitlementRecord cad = f.Entitle(acme, Floating("CAD"));
  const EntitlementRecord beta_cad = f.Entitle(beta, Floating("CAD"));
  const ProjectRecord p1 = f.Project(kOp, acme, cad, "One", "eu");
  const ProjectRecord p2 = f.Project(kOp, acme, cad, "Two", "us");
  const ProjectRecord b1 = f.Project(kOp, beta, beta_cad, "Beta", "eu");
  for (const ProjectRecord* p : {&p1, &p2}) {
    f.Place(*p, "mia@acme.com");
    f.Place(*p, "nik@acme.com");
    f.Place(*p, "ext@partner.org", ProjectRole::kAdmin);
  }
  f.Place(b1, "ext@partner.org");

  const auto users = [&](const Actor& actor, OrganizationId org) {
    auto page = f.prj().ListProjectUsers(actor, org, PageOf(1, 1000));
    ENTITLE_REQUIRE_OK(page);
    std::map<IdentityId, int64_t> out;
    for (const ProjectUser& u : page->items)
      out[u.identity_id] = u.project_count;
    CHECK(page->total == static_cast<int64_t>(out.size()));
    return out;
  };
  REQUIRE(users(As(ann), acme) ==
          std::map<IdentityId, int64_t>{{mia, 2}, {nik, 2}, {ext, 2}});

  // ORG-5: Ann removes the external member from Acme.
  ENTITLE_REQUIRE_OK(f.orgs().RemoveMember(As(ann), acme, ext));
  CHECK(f.MembersOf(p1) ==
        std::map<IdentityId, ProjectRole>{{mia, ProjectRole::kUser},
                                          {nik, ProjectRole::kUser}});
  CHECK(f.MembersOf(p2) == f.MembersOf(p1));
  CHECK(users(As(ann), acme) ==
        std::map<IdentityId, int64_t>{{mia, 2}, {nik, 2}});
  // SEC-3: no longer a member nor in a project, it is not Acme's user.
  REQUIRE_REASON(f.prj().GetProjectUser(As(ann), acme, ext, PageOf(1, 25)),
                 Reason::kNotFound);
  // Its place in Beta's project stays.
  CHECK(f.MembersOf(b1) ==
        std::map<IdentityId, ProjectRole>{{ext, ProjectRole::kUser}});
  CHECK(users(As(bea), beta) == std::map<IdentityId, int64_t>{{ext, 1}});
  // Out of the organization, it cannot be added back.
  {
    const MemberUpdateJob job = f.SubmitAndRun(
        As(ann), acme, "eu", {{p1.id, {Add("ext@partner.org")}}});
    REQUIRE(job.results.size() == 1);
    REQUIRE_REASON(job.results[0].status, Reason::kNotMember);
  }

  // ORG-2: Mia becomes the first administrator (an employee) of a new
  // organization; her Acme membership ends with her project places.
  f.CreateOrg("Gamma", mia, "gamma.com");
  CHECK(f.MembersOf(p1) ==
        std::map<IdentityId, ProjectRole>{{nik, ProjectRole::kUser}});
  CHECK(f.MembersOf(p2) == f.MembersOf(p1));
  CHECK(users(As(ann), acme) == std::map<IdentityId, int64_t>{{nik, 2}});
  // SEC-3: Gamma's employee is no user of Acme's any more.
  REQUIRE_REASON(f.prj().GetProjectUser(As(ann), acme, mia, PageOf(1, 25)),
                 Reason::kNotFound);

  // ID-13: deleting an identity removes it from every project.
  ENTITLE_REQUIRE_OK(f.ids().Delete(kOp, nik));
  CHECK(f.MembersOf(p1).empty());
  CHECK(f.MembersOf(p2).empty());
  CHECK(users(As(ann), acme).empty());
  REQUIRE_REASON(f.prj().GetProjectUser(As(ann), acme, nik, PageOf(1, 25)),
                 Reason::kNotFound);
}

}  // namespace
}  // namespace entitle_test
