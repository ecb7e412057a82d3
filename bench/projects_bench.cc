// The account API at company scale (PRJ-4, PRJ-6) on a SQLite file:
//   - 2,000 projects of one organization, 5,000 members, 50,000 project
//     places (25 per project, spread over the members);
//   - ProjectUsers/service: Projects::ListProjectUsers, a page of 1,000 users
//     with their project counts (authorization, the total, the grouped page
//     from the (organization, identity) index, each user's address);
//   - ProjectUsers/store: the grouped page alone (Transaction::ProjectUsers);
//   - ProjectUsers/load_all: the same page made the naive way, by reading
//     every project place of the organization and counting in memory (what
//     the index avoids);
//   - MemberUpdateJob: one batch job of 30 projects x 15 updates, submitted
//     and run (ADD in one iteration, REMOVE of the same places in the next).
// The file lives in the system's temporary directory and is removed after.
//
//   build/release/bench/projects_bench --benchmark_min_time=0.5
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "entitle/directory.h"
#include "entitle/email.h"
#include "entitle/projects.h"
#include "entitle/records.h"
#include "entitle/sqlite_store.h"
#include "entitle/store.h"

namespace {

using namespace entitle;

constexpr int kProjects = 2000;
constexpr int kMembers = 5000;
constexpr int kPlacesPerProject = 25;  // 50,000 places.
constexpr int kJobProjects = kMaxProjectsPerRequest;
constexpr int kJobUpdates = kMaxUpdatesPerProject;

// One SQLite file with the organization above, built once for every
// benchmark of the run.
class World {
 public:
  static World& Get() {
    static World* world = new World();
    return *world;
  }

  const std::string& error() const { return error_; }
  Store& store() { return *store_; }
  Directory& directory() { return *directory_; }
  OrganizationId organization() const { return organization_; }
  IdentityId admin() const { return admin_; }
  // Projects and addresses the batch job changes: members who are in none
  // of these projects yet.
  const std::vector<ProjectId>& job_projects() const { return job_projects_; }
  const std::vector<std::string>& job_emails() const { return job_emails_; }

  ~World() {
    directory_.reset();
    store_.reset();
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_ + suffix, ignored);
    }
  }

 private:
  World() {
    path_ = (std::filesystem::temp_directory_path() /
             absl::StrCat("entitle-projects-bench-", getpid(), ".db"))
                .string();
    if (absl::Status s = Build(); !s.ok()) error_ = s.ToString();
  }

  static std::string Address(int n) {
    return absl::StrCat("member", n, "@acme.example");
  }

  absl::Status Build() {
    absl::StatusOr<std::unique_ptr<SqliteStore>> opened =
        SqliteStore::Open(path_);
    if (!opened.ok()) return opened.status();
    store_ = *std::move(opened);
    const absl::Time now = absl::Now();
    std::vector<IdentityId> members;
    {
      absl::StatusOr<std::unique_ptr<Transaction>> tx =
          store_->Begin(TransactionMode::kWrite);
      if (!tx.ok()) return tx.status();
      IdentityRecord admin;
      admin.email = *Email::Parse("admin@acme.example");
      admin.display_name = "Admin";
      admin.verified = true;
      absl::StatusOr<IdentityId> admin_id = (*tx)->identities().Insert(admin);
      if (!admin_id.ok()) return admin_id.status();
      admin_ = *admin_id;
      for (int n = 0; n < kMembers + kJobUpdates; ++n) {
        IdentityRecord identity;
        identity.email = *Email::Parse(Address(n));
        identity.display_name = absl::StrCat("Member ", n);
        identity.verified = true;
        absl::StatusOr<IdentityId> id = (*tx)->identities().Insert(identity);
        if (!id.ok()) return id.status();
        members.push_back(*id);
      }
      if (absl::Status s = (*tx)->Commit(); !s.ok()) return s;
    }
    directory_ = std::make_unique<Directory>(*store_);
    absl::StatusOr<OrganizationId> organization =
        directory_->organizations().Create(Actor::Operator(), "Acme", admin_);
    if (!organization.ok()) return organization.status();
    organization_ = *organization;

    absl::StatusOr<std::unique_ptr<Transaction>> tx =
        store_->Begin(TransactionMode::kWrite);
    if (!tx.ok()) return tx.status();
    for (IdentityId member : members) {
      absl::StatusOr<MembershipKey> key = (*tx)->memberships().Insert(
          MembershipRecord{organization_, member, MembershipKind::kEmployee,
                           MembershipStatus::kActive, now});
      if (!key.ok()) return key.status();
    }
    EntitlementRecord entitlement;
    entitlement.organization_id = organization_;
    entitlement.sku = "CAD-PRO";
    entitlement.seats = 100;
    entitlement.period_start = now - absl::Hours(24);
    entitlement.period_end = now + absl::Hours(24 * 365);
    entitlement.created_at = now;
    absl::StatusOr<EntitlementId> entitlement_id =
        (*tx)->entitlements().Insert(entitlement);
    if (!entitlement_id.ok()) return entitlement_id.status();
    // Member m is in projects m*k mod kProjects ...: 25 places per project,
    // members in 10 projects each on average. The last kJobUpdates members
    // are in no project: the batch job adds and removes them.
    uint64_t state = 0x9e3779b97f4a7c15ull;
    for (int p = 0; p < kProjects; ++p) {
      ProjectRecord project;
      project.organization_id = organization_;
      project.entitlement_id = *entitlement_id;
      project.name = absl::StrCat("Project ", p);
      project.region = "eu";
      project.created_at = now;
      absl::StatusOr<ProjectId> id = (*tx)->projects().Insert(project);
      if (!id.ok()) return id.status();
      if (p < kJobProjects) job_projects_.push_back(*id);
      std::map<int, bool> chosen;
      while (static_cast<int>(chosen.size()) < kPlacesPerProject) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        chosen[static_cast<int>((state >> 33) % kMembers)] = true;
      }
      for (const auto& [m, unused] : chosen) {
        absl::StatusOr<ProjectMemberKey> key =
            (*tx)->project_members().Insert(ProjectMemberRecord{
                *id, members[m], organization_, ProjectRole::kUser, now});
        if (!key.ok()) return key.status();
      }
    }
    if (absl::Status s = (*tx)->Commit(); !s.ok()) return s;
    for (int n = kMembers; n < kMembers + kJobUpdates; ++n) {
      job_emails_.push_back(Address(n));
    }
    return absl::OkStatus();
  }

  std::string path_;
  std::string error_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<Directory> directory_;
  OrganizationId organization_;
  IdentityId admin_;
  std::vector<ProjectId> job_projects_;
  std::vector<std::string> job_emails_;
};

// Page 1, or the last full page (page 3 of 1,000 of the ~4,900 users).
int64_t PageNumber(const benchmark::State& state) { return state.range(0); }

void ProjectUsersService(benchmark::State& state) {
  World& world = World::Get();
  if (!world.error().empty()) {
    state.SkipWithError(world.error().c_str());
    return;
  }
  const PageRequest page = PageRequest::Numbered(PageNumber(state), 1000);
  int64_t items = 0;
  for (auto _ : state) {
    absl::StatusOr<Page<ProjectUser>> users =
        world.directory().projects().ListProjectUsers(
            Actor::Identity(world.admin()), world.organization(), page);
    if (!users.ok()) {
      state.SkipWithError(users.status().ToString().c_str());
      return;
    }
    items += static_cast<int64_t>(users->items.size());
    benchmark::DoNotOptimize(users->items.data());
  }
  state.SetItemsProcessed(items);
}
BENCHMARK(ProjectUsersService)
    ->Name("ProjectUsers/service")
    ->Arg(1)
    ->Arg(3)
    ->Unit(benchmark::kMillisecond);

void ProjectUsersStore(benchmark::State& state) {
  World& world = World::Get();
  if (!world.error().empty()) {
    state.SkipWithError(world.error().c_str());
    return;
  }
  const PageRequest page = PageRequest::Numbered(PageNumber(state), 1000);
  for (auto _ : state) {
    absl::StatusOr<std::unique_ptr<Transaction>> tx =
        world.store().Begin(TransactionMode::kRead);
    if (!tx.ok()) {
      state.SkipWithError(tx.status().ToString().c_str());
      return;
    }
    absl::StatusOr<Page<ProjectUserCount>> users =
        (*tx)->ProjectUsers(world.organization(), page);
    if (!users.ok()) {
      state.SkipWithError(users.status().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(users->items.data());
  }
}
BENCHMARK(ProjectUsersStore)
    ->Name("ProjectUsers/store")
    ->Arg(1)
    ->Arg(3)
    ->Unit(benchmark::kMillisecond);

// The baseline: every place of the organization read as records, counted in
// a map, then the page cut out.
void ProjectUsersLoadAll(benchmark::State& state) {
  World& world = World::Get();
  if (!world.error().empty()) {
    state.SkipWithError(world.error().c_str());
    return;
  }
  const int64_t first = (PageNumber(state) - 1) * 1000;
  for (auto _ : state) {
    absl::StatusOr<std::unique_ptr<Transaction>> tx =
        world.store().Begin(TransactionMode::kRead);
    if (!tx.ok()) {
      state.SkipWithError(tx.status().ToString().c_str());
      return;
    }
    std::map<IdentityId, int64_t> counts;
    PageRequest chunk{.offset = 0, .limit = PageRequest::kMaxPageLimit};
    while (true) {
      absl::StatusOr<Page<ProjectMemberRecord>> places =
          (*tx)->project_members().List(
              ProjectMemberFilter{.organization_id = world.organization()},
              chunk);
      if (!places.ok()) {
        state.SkipWithError(places.status().ToString().c_str());
        return;
      }
      for (const ProjectMemberRecord& place : places->items) {
        ++counts[place.identity_id];
      }
      if (!places->has_more) break;
      chunk.offset += chunk.limit;
    }
    std::vector<ProjectUserCount> page;
    int64_t index = 0;
    for (const auto& [identity, count] : counts) {
      if (index >= first && index < first + 1000) {
        page.push_back(ProjectUserCount{identity, count});
      }
      ++index;
    }
    benchmark::DoNotOptimize(page.data());
  }
}
BENCHMARK(ProjectUsersLoadAll)
    ->Name("ProjectUsers/load_all")
    ->Arg(1)
    ->Arg(3)
    ->Unit(benchmark::kMillisecond);

// One 30 x 15 batch job, submitted and run; iterations alternate ADD and
// REMOVE of the same 450 places so the data stays the same size.
void MemberUpdateJob(benchmark::State& state) {
  World& world = World::Get();
  if (!world.error().empty()) {
    state.SkipWithError(world.error().c_str());
    return;
  }
  const Actor admin = Actor::Identity(world.admin());
  // Kept across runs: the library runs this function more than once, and the
  // places added by an odd run must be removed by the next.
  static bool add = true;
  int64_t updates = 0;
  for (auto _ : state) {
    std::vector<ProjectMemberUpdates> request;
    for (ProjectId project : world.job_projects()) {
      ProjectMemberUpdates entry{project, {}};
      for (const std::string& email : world.job_emails()) {
        entry.updates.push_back(MemberUpdate{
            add ? MemberUpdateAction::kAdd : MemberUpdateAction::kRemove, email,
            ProjectRole::kUser});
      }
      request.push_back(std::move(entry));
    }
    absl::StatusOr<entitle::MemberUpdateJob> job =
        world.directory().projects().SubmitMemberUpdates(
            admin, world.organization(), "eu", request);
    if (!job.ok()) {
      state.SkipWithError(job.status().ToString().c_str());
      return;
    }
    absl::StatusOr<entitle::MemberUpdateJob> ran =
        world.directory().projects().RunJob(job->id);
    if (!ran.ok() || ran->status != JobStatus::kDone) {
      state.SkipWithError(ran.ok() ? "the job did not finish"
                                   : ran.status().ToString().c_str());
      return;
    }
    for (const MemberUpdateResult& result : ran->results) {
      if (!result.status.ok()) {
        state.SkipWithError(result.status.ToString().c_str());
        return;
      }
    }
    updates += static_cast<int64_t>(ran->results.size());
    add = !add;
  }
  state.SetItemsProcessed(updates);
  state.counters["updates_per_job"] = kJobProjects * kJobUpdates;
}
BENCHMARK(MemberUpdateJob)
    ->Name("MemberUpdateJob/30x15")
    ->Unit(benchmark::kMillisecond);

}  // namespace
