// SEC-3: no call reveals an identity's address, name or activity, or an
// entitlement, to an actor of an organization that the identity or the
// entitlement does not belong to: project users, expiry warnings, job
// results and the audit trail included.
//
// The world: Acme (administrator Ann) and Beta (administrator Bea). Bob is
// Beta's employee and all Beta's: his address and name, Beta's SKUs, project
// and group names are Beta's secrets, and no answer Acme's administrator gets
// may hold one. Mia is Acme's employee and an external member of Beta, where
// she holds a license of Beta's.
#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/directory.h"
#include "entitle/identities.h"
#include "entitle/invitations.h"
#include "entitle/licenses.h"
#include "entitle/organizations.h"
#include "entitle/projects.h"
#include "entitle/records.h"
#include "entitle/status.h"
#include "entitle/user_lists.h"
#include "fixtures/directory_fixture.h"
#include "fixtures/store_fixtures.h"

namespace entitle_test {
namespace {

using namespace entitle;

// What Acme must never learn.
const std::vector<std::string> kBetaSecrets = {
    "bob@beta.example", "Bob Secret",  "BETA-SECRET",
    "BETA-POOL",        "Beta Bridge", "Beta Insiders"};

// CHECKs that `text` holds none of Beta's secrets.
void CheckNoSecret(absl::string_view text) {
  for (const std::string& secret : kBetaSecrets) {
    INFO("text: " << text);
    CHECK_FALSE(absl::StrContains(text, secret));
  }
}

struct World {
  OrganizationId acme, beta;
  IdentityId ann, bea, bob, mia;
  EntitlementRecord acme_cad;     // Named, Acme's, ends in 10 days; Mia's.
  EntitlementRecord acme_pool;    // Floating, Acme's.
  EntitlementRecord beta_secret;  // Named, Beta's, ends in 10 days; Mia's
                                  // and Bob's.
  EntitlementRecord beta_pool;    // Floating, Beta's; Bob holds a seat.
  GroupId beta_group;             // "Beta Insiders": Bob.
  ProjectRecord acme_project;     // Acme's, in eu: Mia.
  ProjectRecord beta_project;     // "Beta Bridge", in eu: Bob.
  JobId beta_job;                 // The job that put Bob in it.
};

template <typename F>
ProjectRecord ProjectWith(F& f, OrganizationId org,
                          const EntitlementRecord& entitlement,
                          std::string_view name, std::string_view email,
                          JobId* job_out = nullptr) {
  auto project = f.prj().CreateProject(kOp, org, entitlement.id, name, "eu");
  ENTITLE_REQUIRE_OK(project);
  auto job = f.prj().SubmitMemberUpdates(
      kOp, org, "eu",
      {ProjectMemberUpdates{
          project->id,
          {MemberUpdate{MemberUpdateAction::kAdd, std::string(email),
                        ProjectRole::kUser}}}});
  ENTITLE_REQUIRE_OK(job);
  auto ran = f.prj().RunJob(job->id);
  ENTITLE_REQUIRE_OK(ran);
  REQUIRE(ran->results.size() == 1);
  ENTITLE_REQUIRE_OK(ran->results[0].status);
  if (job_out != nullptr) *job_out = job->id;
  return *project;
}

template <typename F>
World Build(F& f) {
  World w;
  const auto acme = f.FoundOrg("Acme", "ann@acme.example", "acme.example",
                               {"Ann Admin", "SE", ""});
  const auto beta = f.FoundOrg("Beta", "bea@beta.example", "beta.example",
                               {"Bea Admin", "DE", ""});
  w.acme = acme.org;
  w.ann = acme.admin;
  w.beta = beta.org;
  w.bea = beta.admin;
  w.bob =
      f.Employee(w.beta, w.bea, "bob@beta.example", {"Bob Secret", "DE", ""});
  w.mia =
      f.Employee(w.acme, w.ann, "mia@acme.example", {"Mia Shared", "SE", ""});
  ENTITLE_REQUIRE_OK(
      f.orgs().AddExternal(As(w.bea), w.beta, "mia@acme.example"));
  w.beta_group = f.Group(w.beta, w.bea, "Beta Insiders", {w.bob});

  const absl::Time start = kT0 - absl::Hours(24);
  const absl::Time soon = kT0 + absl::Hours(24 * 10);
  w.acme_cad = f.Entitle(w.acme, During(Named("ACME-CAD"), start, soon));
  w.acme_pool = f.Entitle(w.acme, Floating("ACME-POOL"));
  w.beta_secret = f.Entitle(w.beta, During(Named("BETA-SECRET"), start, soon));
  w.beta_pool = f.Entitle(w.beta, Floating("BETA-POOL"));
  ENTITLE_REQUIRE_OK(f.lic().Assign(As(w.ann), w.acme_cad.id, w.mia));
  ENTITLE_REQUIRE_OK(f.lic().Assign(As(w.bea), w.beta_secret.id, w.mia));
  ENTITLE_REQUIRE_OK(f.lic().Assign(As(w.bea), w.beta_secret.id, w.bob));
  ENTITLE_REQUIRE_OK(f.lic().GrantPoolAccess(As(w.bea), w.beta_pool.id,
                                             PoolMember{.identity = w.bob}));
  ENTITLE_REQUIRE_OK(
      f.lic().Checkout(w.bob, "BETA-POOL", DeviceId("bob-laptop")));
  ENTITLE_REQUIRE_OK(f.lic().RecordUsage());

  w.acme_project =
      ProjectWith(f, w.acme, w.acme_pool, "Acme Bridge", "mia@acme.example");
  w.beta_project = ProjectWith(f, w.beta, w.beta_pool, "Beta Bridge",
                               "bob@beta.example", &w.beta_job);
  return w;
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-3 GetProjectUser does not give an organization the address or name of an identity that is not its own, whichever id it tries", "[security][projects]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const World w = Build(f);
  const auto before = f.Freeze();

  // Ids are sequential: the reproduction walks all of them, and one past.
  int64_t last = 0;
  for (const IdentityRecord& r : f.template All<IdentityRecord>()) {
    last = std::max(last, r.id.value());
  }
  const std::set<IdentityId> acme_people = {w.ann, w.mia};
  std::set<std::string> learned;
  for (const Actor& asker : {As(w.ann), kOp}) {
    for (int64_t n = 1; n <= last + 2; ++n) {
      const IdentityId id(n);
      INFO("asked by " << asker << " about identity #" << n);
      auto answer = f.prj().GetProjectUser(asker, w.acme, id,
                                           PageRequest::Numbered(1, 25));
      if (acme_people.contains(id)) {
        ENTITLE_REQUIRE_OK(answer);
        learned.insert(answer->email);
        CheckNoSecret(answer->display_name);
        continue;
      }
      // Someone else's, or no one's: the same refusal, naming only the id.
      REQUIRE_REASON(answer, Reason::kNotFound);
      CHECK(answer.status().code() == absl::StatusCode::kNotFound);
      CHECK(answer.status().message() ==
            absl::StrCat("The organization has no user #", n, "."));
    }
  }
  CHECK(learned ==
        std::set<std::string>{"ann@acme.example", "mia@acme.example"});
  // Bob is in a project, but Beta's: Acme still may not see him.
  REQUIRE_REASON(f.prj().GetProjectUser(As(w.ann), w.acme, w.bob,
                                        PageRequest::Numbered(1, 25)),
                 Reason::kNotFound);
  // Nor through Beta, whose account administrator Ann is not.
  REQUIRE_REASON(f.prj().GetProjectUser(As(w.ann), w.beta, w.bob,
                                        PageRequest::Numbered(1, 25)),
                 Reason::kPermissionDenied);
  // Mia as Acme's user: Acme's project only, not Beta's.
  auto mia = f.prj().GetProjectUser(As(w.ann), w.acme, w.mia,
                                    PageRequest::Numbered(1, 25));
  ENTITLE_REQUIRE_OK(mia);
  REQUIRE(mia->projects.items.size() == 1);
  CHECK(mia->projects.items[0].project.id == w.acme_project.id);
  // Beta sees Bob.
  auto bob = f.prj().GetProjectUser(As(w.bea), w.beta, w.bob,
                                    PageRequest::Numbered(1, 25));
  ENTITLE_REQUIRE_OK(bob);
  CHECK(bob->email == "bob@beta.example");
  f.RequireUnchanged(before);
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-3 ExpiryWarningsFor an employee shows its employer's administrator the employer's entitlements only", "[security][licenses]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const World w = Build(f);
  const auto skus = [](const std::vector<ExpiryWarning>& warnings) {
    std::set<std::string> out;
    for (const ExpiryWarning& warning : warnings) {
      out.insert(warning.entitlement.sku);
    }
    return out;
  };
  const auto before = f.Freeze();

  // The reproduction: Ann, administrator of Mia's employer, asks about Mia,
  // who also holds a license of Beta's.
  auto for_ann = f.lic().ExpiryWarningsFor(As(w.ann), w.mia);
  ENTITLE_REQUIRE_OK(for_ann);
  CHECK(skus(*for_ann) == std::set<std::string>{"ACME-CAD"});
  for (const ExpiryWarning& warning : *for_ann) {
    CHECK(warning.entitlement.organization_id == w.acme);
    CHECK(warning.affected == std::vector<IdentityId>{w.mia});
  }
  // With a window that takes in every period.
  auto wide = f.lic().ExpiryWarningsFor(As(w.ann), w.mia, 3650);
  ENTITLE_REQUIRE_OK(wide);
  CHECK(skus(*wide) == std::set<std::string>{"ACME-CAD"});

  // Mia herself, and the operator, see every organization's.
  auto for_mia = f.lic().ExpiryWarningsFor(As(w.mia), w.mia);
  ENTITLE_REQUIRE_OK(for_mia);
  CHECK(skus(*for_mia) == std::set<std::string>{"ACME-CAD", "BETA-SECRET"});
  auto for_op = f.lic().ExpiryWarningsFor(kOp, w.mia);
  ENTITLE_REQUIRE_OK(for_op);
  CHECK(skus(*for_op) == skus(*for_mia));

  // Beta, where Mia is only external, may not ask about her at all; Acme
  // may not ask about Beta's Bob.
  const absl::Status bea_asks =
      f.lic().ExpiryWarningsFor(As(w.bea), w.mia).status();
  REQUIRE_REASON(bea_asks, Reason::kPermissionDenied);
  const absl::Status ann_asks =
      f.lic().ExpiryWarningsFor(As(w.ann), w.bob).status();
  REQUIRE_REASON(ann_asks, Reason::kPermissionDenied);
  CheckNoSecret(ann_asks.message());
  // Bea about her own employee Bob: Beta's.
  auto for_bea = f.lic().ExpiryWarningsFor(As(w.bea), w.bob);
  ENTITLE_REQUIRE_OK(for_bea);
  CHECK(skus(*for_bea) == std::set<std::string>{"BETA-SECRET"});

  // The organization-wide warnings hold each organization's own.
  auto acme_all = f.lic().ExpiryWarnings(As(w.ann), w.acme);
  ENTITLE_REQUIRE_OK(acme_all);
  CHECK(skus(*acme_all) == std::set<std::string>{"ACME-CAD"});
  f.RequireUnchanged(before);
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-3 job results do not tell an organization which addresses have accounts, and another organization's job is not its to read", "[security][projects]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const World w = Build(f);
  const auto update = [](MemberUpdateAction action, std::string email) {
    return MemberUpdate{action, std::move(email), ProjectRole::kUser};
  };
  // Bob's address has an account (Beta's); ghost's has none.
  std::vector<MemberUpdate> updates;
  for (MemberUpdateAction action :
       {MemberUpdateAction::kAdd, MemberUpdateAction::kRemove,
        MemberUpdateAction::kUpdate}) {
    updates.push_back(update(action, "bob@beta.example"));
    updates.push_back(update(action, "ghost@beta.example"));
  }
  auto job = f.prj().SubmitMemberUpdates(
      As(w.ann), w.acme, "eu",
      {ProjectMemberUpdates{w.acme_project.id, updates}});
  ENTITLE_REQUIRE_OK(job);
  auto ran = f.prj().RunJob(job->id);
  ENTITLE_REQUIRE_OK(ran);
  auto read = f.prj().GetJob(As(w.ann), job->id);
  ENTITLE_REQUIRE_OK(read);
  REQUIRE(read->results.size() == updates.size());
  for (size_t i = 0; i < read->results.size(); i += 2) {
    const absl::Status& known = read->results[i].status;
    const absl::Status& ghost = read->results[i + 1].status;
    INFO("known: " << known << "\nghost: " << ghost);
    REQUIRE_REASON(known, Reason::kNotMember);
    REQUIRE_REASON(ghost, Reason::kNotMember);
    CHECK(known.code() == ghost.code());
    // The same words, but for the address the admin typed itself.
    std::string known_text(known.message());
    const size_t at = known_text.find("bob@beta.example");
    REQUIRE(at != std::string::npos);
    known_text.replace(at, std::string("bob@beta.example").size(),
                       "ghost@beta.example");
    CHECK(known_text == ghost.message());
    CHECK_FALSE(absl::StrContains(known.message(), "Bob Secret"));
  }

  // Beta's job (which put Bob in Beta's project) is not Ann's to read.
  const auto before = f.Freeze();
  const absl::Status other = f.prj().GetJob(As(w.ann), w.beta_job).status();
  REQUIRE_FALSE(other.ok());
  CHECK((GetReason(other) == Reason::kPermissionDenied ||
         GetReason(other) == Reason::kNotFound));
  CheckNoSecret(other.message());
  f.RequireUnchanged(before);
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-3 an organization's audit trail names no actor of another organization whose act ended a membership there", "[security][organizations]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const World w = Build(f);
  const auto trail = [&f](IdentityId admin, OrganizationId org) {
    auto page = f.orgs().ListAudit(As(admin), org, AuditQuery{},
                                   PageRequest{.offset = 0, .limit = 1000});
    ENTITLE_REQUIRE_OK(page);
    return page->items;
  };
  const auto ends_of = [](const std::vector<AuditRecord>& records,
                          IdentityId who) {
    std::vector<AuditRecord> out;
    for (const AuditRecord& r : records) {
      if (r.action == "membership.end" &&
          r.target == "identity#" + std::to_string(who.value())) {
        out.push_back(r);
      }
    }
    return out;
  };

  // ORG-2: Bob asks to join Acme through its link and Ann approves: he
  // becomes Acme's employee and his Beta membership ends, by Ann's act.
  auto link = f.inv().CreateRequestLink(As(w.ann), w.acme);
  ENTITLE_REQUIRE_OK(link);
  auto request = f.inv().FollowRequestLink(As(w.bob), link->token);
  ENTITLE_REQUIRE_OK(request);
  auto decided = f.inv().Decide(As(w.ann), w.acme, {request->id}, true);
  ENTITLE_REQUIRE_OK(decided);
  REQUIRE(decided->size() == 1);
  ENTITLE_REQUIRE_OK((*decided)[0].status);
  CHECK(f.EmployersOf(w.bob) == std::vector<OrganizationId>{w.acme});

  // ID-13: Ann deletes Mia, Acme's employee and Beta's external member.
  ENTITLE_REQUIRE_OK(f.ids().Delete(As(w.ann), w.mia));

  const std::vector<AuditRecord> beta = trail(w.bea, w.beta);
  for (const IdentityId who : {w.bob, w.mia}) {
    INFO("membership.end of identity #" << who.value() << " in Beta");
    const auto ends = ends_of(beta, who);
    REQUIRE(ends.size() == 1);
    CHECK_FALSE(ends[0].actor_id.has_value());
    CHECK(absl::StartsWith(ends[0].detail, "by another organization"));
  }
  for (const AuditRecord& r : beta) {
    INFO(r.action << " " << r.target << " " << r.detail);
    CHECK(r.actor_id != std::optional<IdentityId>(w.ann));
    CHECK(r.organization_id == std::optional<OrganizationId>(w.beta));
    CHECK_FALSE(absl::StrContains(r.detail, "acme"));
    CHECK_FALSE(absl::StrContains(r.detail, "Acme"));
  }
  // Acme's own trail names Ann for what she did there (and Bob, who is
  // Acme's now), and nothing of Beta's.
  bool approved = false;
  for (const AuditRecord& r : trail(w.ann, w.acme)) {
    CHECK(r.organization_id == std::optional<OrganizationId>(w.acme));
    CHECK_FALSE(absl::StrContains(r.detail, "BETA-"));
    CHECK_FALSE(absl::StrContains(r.detail, "Beta"));
    if (r.action == "join-request.approve") {
      approved = r.actor_id == std::optional<IdentityId>(w.ann);
    }
  }
  CHECK(approved);
  // A member's own act, or its organization's admin's, keeps its actor.
  ENTITLE_REQUIRE_OK(f.orgs().RemoveMember(As(w.ann), w.acme, w.bob));
  const auto acme_ends = ends_of(trail(w.ann, w.acme), w.bob);
  REQUIRE(acme_ends.size() == 1);
  CHECK(acme_ends[0].actor_id == std::optional<IdentityId>(w.ann));
  // And one organization may not read the other's trail.
  REQUIRE_REASON(f.orgs().ListAudit(As(w.ann), w.beta, AuditQuery{},
                                    PageRequest{.offset = 0, .limit = 10}),
                 Reason::kPermissionDenied);
}

// Every read that takes another organization's identity or entitlement (or
// the organization itself), called by Acme's administrator: refused, or
// answered with nothing of Beta's; either way the message names nothing of
// Beta's and nothing is written.
// clang-format off
TEMPLATE_TEST_CASE("SEC-3 every read of another organization's identity or entitlement is refused, naming nothing of it", "[security][authorization]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const World w = Build(f);
  const Actor ann = As(w.ann);
  const PageRequest page{.offset = 0, .limit = 100};
  const PageRequest numbered = PageRequest::Numbered(1, 25);
  const auto status = [](const auto& result) {
    return ::entitle_test::ToStatus(result);
  };
  struct Read {
    const char* name;
    std::function<absl::Status()> call;
  };
  Organizations& o = f.orgs();
  Identities& ids = f.ids();
  Licenses& lic = f.lic();
  Projects& prj = f.prj();
  Invitations& inv = f.inv();
  UserLists& lists = f.directory().user_lists();
  std::ostringstream sink;
  const std::vector<Read> reads = {
      {"Organizations::Get(Beta)", [&] { return status(o.Get(ann, w.beta)); }},
      {"Organizations::GetMember(Acme, Bob)",
       [&] { return status(o.GetMember(ann, w.acme, w.bob)); }},
      {"Organizations::GetMember(Beta, Bob)",
       [&] { return status(o.GetMember(ann, w.beta, w.bob)); }},
      {"Organizations::GetMember(Beta, Mia)",
       [&] { return status(o.GetMember(ann, w.beta, w.mia)); }},
      {"Organizations::IsCoveredByMaintenance(Beta, Bob)",
       [&] { return status(o.IsCoveredByMaintenance(ann, w.beta, w.bob)); }},
      {"Organizations::ListMembers(Beta)",
       [&] { return status(o.ListMembers(ann, w.beta, page)); }},
      {"Organizations::ListRoles(Beta)",
       [&] { return status(o.ListRoles(ann, w.beta)); }},
      {"Organizations::ListGroupMembers(Beta)",
       [&] { return status(o.ListGroupMembers(ann, w.beta, w.beta_group)); }},
      {"Organizations::ListGroupMembers(Acme, Beta's group)",
       [&] { return status(o.ListGroupMembers(ann, w.acme, w.beta_group)); }},
      {"Organizations::ListDomains(Beta)",
       [&] { return status(o.ListDomains(ann, w.beta)); }},
      {"Organizations::ListAudit(Beta)",
       [&] { return status(o.ListAudit(ann, w.beta, AuditQuery{}, page)); }},
      {"Identities::Get(Bob)", [&] { return status(ids.Get(ann, w.bob)); }},
      {"Identities::FindByEmail(Bob)",
       [&] { return status(ids.FindByEmail(ann, "bob@beta.example")); }},
      {"Licenses::ListEntitlements(Beta)",
       [&] { return status(lic.ListEntitlements(ann, w.beta)); }},
      {"Licenses::ListAssignments(Beta's named)",
       [&] { return status(lic.ListAssignments(ann, w.beta_secret.id)); }},
      {"Licenses::ListPoolAccess(Beta's pool)",
       [&] { return status(lic.ListPoolAccess(ann, w.beta_pool.id)); }},
      {"Licenses::Holders(Beta's pool)",
       [&] { return status(lic.Holders(ann, w.beta_pool.id)); }},
      {"Licenses::UsageHistory(Beta's pool)",
       [&] {
         return status(lic.UsageHistory(ann, w.beta_pool.id,
                                        kT0 - absl::Hours(24),
                                        kT0 + absl::Hours(24)));
       }},
      {"Licenses::Usage(Beta)",
       [&] { return status(lic.Usage(ann, w.beta, absl::Hours(1))); }},
      {"Licenses::ExpiryWarnings(Beta)",
       [&] { return status(lic.ExpiryWarnings(ann, w.beta)); }},
      {"Licenses::ExpiryWarningsFor(Bob)",
       [&] { return status(lic.ExpiryWarningsFor(ann, w.bob)); }},
      {"Projects::ListProjects(Beta)",
       [&] { return status(prj.ListProjects(ann, w.beta, numbered)); }},
      {"Projects::ListProjectUsers(Beta)",
       [&] { return status(prj.ListProjectUsers(ann, w.beta, numbered)); }},
      {"Projects::GetProjectUser(Acme, Bob)",
       [&] {
         return status(prj.GetProjectUser(ann, w.acme, w.bob, numbered));
       }},
      {"Projects::GetProjectUser(Beta, Bob)",
       [&] {
         return status(prj.GetProjectUser(ann, w.beta, w.bob, numbered));
       }},
      {"Projects::GetProject(Beta's)",
       [&] { return status(prj.GetProject(ann, "eu", w.beta_project.id)); }},
      {"Projects::ListMembers(Beta's project)",
       [&] { return status(prj.ListMembers(ann, "eu", w.beta_project.id)); }},
      {"Projects::GetJob(Beta's)",
       [&] { return status(prj.GetJob(ann, w.beta_job)); }},
      {"Invitations::List(Beta)",
       [&] { return status(inv.List(ann, w.beta)); }},
      {"Invitations::ListJoinRequests(Beta)",
       [&] { return status(inv.ListJoinRequests(ann, w.beta)); }},
      {"UserLists::Export(Beta)",
       [&] { return status(lists.Export(ann, w.beta, sink)); }},
  };
  const auto before = f.Freeze();
  for (const Read& read : reads) {
    INFO("read: " << read.name);
    const absl::Status s = read.call();
    INFO("status: " << s);
    CHECK_FALSE(s.ok());
    CHECK((GetReason(s) == Reason::kPermissionDenied ||
           GetReason(s) == Reason::kNotFound ||
           GetReason(s) == Reason::kNotMember));
    CheckNoSecret(s.message());
  }
  CHECK(sink.str().empty());
  f.RequireUnchanged(before);

  // What Acme may read of its own people holds nothing of Beta's.
  auto covered = o.IsCoveredByMaintenance(ann, w.acme, w.bob);
  ENTITLE_REQUIRE_OK(covered);
  CHECK_FALSE(*covered);  // As for anyone who is not Acme's employee.
  std::ostringstream csv;
  ENTITLE_REQUIRE_OK(lists.Export(ann, w.acme, csv));
  CheckNoSecret(csv.str());
  auto members = o.ListMembers(ann, w.acme, page);
  ENTITLE_REQUIRE_OK(members);
  for (const MemberInfo& m : members->items) {
    CheckNoSecret(m.email.str());
    CheckNoSecret(m.display_name);
    CheckNoSecret(absl::StrJoin(m.roles, ","));
  }
  auto mia = o.GetMember(ann, w.acme, w.mia);
  ENTITLE_REQUIRE_OK(mia);
  CHECK(mia->roles.empty());
  auto users = prj.ListProjectUsers(ann, w.acme, numbered);
  ENTITLE_REQUIRE_OK(users);
  for (const ProjectUser& u : users->items) CheckNoSecret(u.email);
  auto usage = lic.Usage(ann, w.acme, absl::Hours(1));
  ENTITLE_REQUIRE_OK(usage);
  for (const EntitlementUsage& u : *usage) {
    CHECK(u.entitlement.organization_id == w.acme);
  }
  auto entitlements = lic.ListEntitlements(ann, w.acme);
  ENTITLE_REQUIRE_OK(entitlements);
  for (const EntitlementRecord& e : *entitlements) CheckNoSecret(e.sku);
  auto mia_identity = ids.Get(ann, w.mia);
  ENTITLE_REQUIRE_OK(mia_identity);  // Acme is Mia's employer.
  // Beta, where Mia is external, sees her as a member but not her account.
  REQUIRE_REASON(ids.Get(As(w.bea), w.mia), Reason::kPermissionDenied);
  f.RequireUnchanged(before);
}

}  // namespace
}  // namespace entitle_test
