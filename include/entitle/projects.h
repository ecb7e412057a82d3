// Projects and the account API (SPEC PRJ-1 to PRJ-7).
//
// A project belongs to an organization (the "account") through the
// entitlement it was created against (PRJ-1), and is hosted in one region
// (PRJ-2). Account administrators see and manage projects across the whole
// organization: the projects page by page (PRJ-3), every distinct user of
// them with a project count (PRJ-4), one user's projects (PRJ-5), and batch
// changes of project members run as jobs (PRJ-6).
//
// Who may do what:
//   - An *account administrator* is the operator, or an active, unlocked
//     member of the organization holding a role with Permission::
//     kManageProjects (both built-in roles have it). Only account
//     administrators may use the account queries and the batch job
//     (PRJ-7); anyone else gets kPermissionDenied and nothing is written.
//   - Creating a project needs an account administrator, or an active
//     member of the organization that holds the entitlement (a named
//     assignment, or pool access directly or through a group). A creating
//     identity becomes the project's first ADMIN member.
//   - Reading a project and its members needs an account administrator or a
//     member of the project; archiving and restoring need an account
//     administrator or a project ADMIN.
// Every refusal returns a status with a Reason (entitle/status.h) and writes
// nothing; every change is audited (ORG-12).
//
// Regions (PRJ-2): the regions a host serves are ProjectPolicy::regions. The
// calls that reach into one project take the region the request came
// through (the host's regional endpoint); a project hosted elsewhere is
// refused with kWrongRegion, naming the region to ask. The account queries
// span every region and report each project's region. A batch job runs in
// the region it was submitted to: the updates of a project hosted elsewhere
// fail with kWrongRegion, the others run.
//
// The batch job (PRJ-6). A request names at most kMaxProjectsPerRequest
// projects with at most kMaxUpdatesPerProject updates each; a request over
// either limit, or naming no project, is refused whole (kLimitExceeded with
// the broken limit in the message, or kInvalidArgument) and no job is made.
// A valid request becomes a job in state kQueued. The host runs queued jobs
// (RunJob, RunQueuedJobs: e.g. from a worker thread); a job runs in one
// store transaction, so readers see it queued, then done with every result,
// never half run. Each update runs on its own merits, in request order, and
// gets a result: OK, or the reason it failed, without stopping the others:
//   - the project: kNotFound (no such project in the organization),
//     kWrongRegion, kProjectArchived;
//   - the address: kInvalidEmail; kNotMember for ADD of an address that is
//     not an active member's of the organization, whether or not an identity
//     has it (SEC-3: results do not tell which addresses have accounts), and
//     for REMOVE or UPDATE of an address with no account;
//   - the place: ADD of a project member fails with kAlreadyMember, REMOVE or
//     UPDATE of a non-member with kNotMember. UPDATE to the same role is OK.
// If the submitter is no longer an account administrator when the job runs,
// the job ends in kFailed with kPermissionDenied and applies nothing. A job
// whose run fails on a store error stays queued and can be run again.
//
// Choices where the SPEC is silent:
//   - The account queries take numbered pages, PageRequest::Numbered(number,
//     size) (page.h). Page numbers start at 1; a page size is
//     1..kMaxAccountPageSize (the API page's 1000). Larger sizes are refused
//     with kLimitExceeded, sizes or numbers below 1 (a limit below 1 or a
//     negative offset) with kInvalidArgument. An offset that is not a whole
//     number of pages is served as given. A page past the end is empty.
//     Every answer counts its `total` over all pages.
//   - Orders: projects by id (creation order); users by identity id; a
//     user's projects by project id.
//   - PRJ-4 counts every project of the organization a user is in, archived
//     ones too; PRJ-5's active count leaves archived projects out.
//   - Project members must be members of the organization (employees or
//     external members). Ending an organization membership (ORG-5, ORG-2)
//     removes the identity from the organization's projects; deleting an
//     identity (ID-13) removes it from every project.
//   - A project may be left without an ADMIN member; account administrators
//     still manage it.
//
// Thread-safe: every method may be called from any number of threads; each
// is atomic. Owned by a `Directory` (directory.h).
#ifndef ENTITLE_PROJECTS_H_
#define ENTITLE_PROJECTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/ids.h"
#include "entitle/page.h"
#include "entitle/records.h"

namespace entitle {

namespace internal {
struct ServiceContext;
}

// PRJ-6's limits, from the API page.
inline constexpr int kMaxProjectsPerRequest = 30;
inline constexpr int kMaxUpdatesPerProject = 15;
// PRJ-3 to PRJ-5: the largest page an account query returns.
inline constexpr int64_t kMaxAccountPageSize = 1000;

// PRJ-4: a distinct user of the organization's projects.
struct ProjectUser {
  IdentityId identity_id;
  std::string email;
  std::string display_name;
  int64_t project_count = 0;
};

// PRJ-5: one of a user's projects, with its place there.
struct UserProject {
  ProjectRecord project;
  ProjectRole role = ProjectRole::kUser;
  absl::Time added_at;
};

// PRJ-5: a user's projects in one organization.
struct UserProjects {
  IdentityId identity_id;
  std::string email;
  std::string display_name;
  int64_t active_projects_count = 0;  // Not archived.
  Page<UserProject> projects;         // With its total.
};

// PRJ-6: one change of a project's members.
enum class MemberUpdateAction { kAdd, kRemove, kUpdate };

struct MemberUpdate {
  MemberUpdateAction action = MemberUpdateAction::kAdd;
  // As sent; checked when the job runs, so a bad one fails only its update.
  std::string email;
  // The role to give (ADD, UPDATE); ignored by REMOVE.
  ProjectRole role = ProjectRole::kUser;
  friend bool operator==(const MemberUpdate&, const MemberUpdate&) = default;
};

// PRJ-6: the updates of one project, as one element of the request body.
struct ProjectMemberUpdates {
  ProjectId project_id;
  std::vector<MemberUpdate> updates;
  friend bool operator==(const ProjectMemberUpdates&,
                         const ProjectMemberUpdates&) = default;
};

// PRJ-6: what became of one update.
struct MemberUpdateResult {
  ProjectId project_id;
  MemberUpdate update;
  absl::Status status;  // OK, or why this update failed (with a Reason).
};

// PRJ-6: a batch job and, once run, a result per update.
struct MemberUpdateJob {
  JobId id;
  OrganizationId organization_id;
  std::optional<IdentityId> created_by;   // Unset when the operator submitted.
  std::string region;                     // Where it was submitted.
  JobStatus status = JobStatus::kQueued;  // kQueued, kDone or kFailed.
  std::vector<ProjectMemberUpdates> request;
  // kDone: one per update, in request order. Otherwise empty.
  std::vector<MemberUpdateResult> results;
  absl::Status failure;  // kFailed: why the job applied nothing.
  absl::Time created_at;
  std::optional<absl::Time> finished_at;
};

class Projects {
 public:
  Projects(const Projects&) = delete;
  Projects& operator=(const Projects&) = delete;

  // ------------------------------------------------------------- projects

  // PRJ-1, PRJ-2: a project of `organization` named `name` (SEC-6: valid
  // UTF-8, 1..200 characters, no control or invisible characters; kept as
  // given, in NFC) against `entitlement`, hosted in `region`. Fails with
  // kPermissionDenied, kNotFound (organization, or an entitlement that is not
  // the organization's), kOutsidePeriod (the entitlement is not active now),
  // kInvalidName (name), kInvalidArgument (a region not in
  // ProjectPolicy::regions).
  absl::StatusOr<ProjectRecord> CreateProject(const Actor& actor,
                                              OrganizationId organization,
                                              EntitlementId entitlement,
                                              std::string_view name,
                                              std::string_view region);

  // PRJ-2: the project, asked through `region`. Fails with kNotFound,
  // kPermissionDenied, kWrongRegion.
  absl::StatusOr<ProjectRecord> GetProject(const Actor& actor,
                                           std::string_view region,
                                           ProjectId project);

  // PRJ-2: the project's members, by identity id. Fails as GetProject.
  absl::StatusOr<std::vector<ProjectMemberRecord>> ListMembers(
      const Actor& actor, std::string_view region, ProjectId project);

  // Archives a project: it keeps its members, takes no member changes, and
  // no longer counts as active (PRJ-5). Restore undoes it. Fails as
  // GetProject; archiving an archived project (or restoring an active one)
  // is OK and changes nothing.
  absl::Status ArchiveProject(const Actor& actor, std::string_view region,
                              ProjectId project);
  absl::Status RestoreProject(const Actor& actor, std::string_view region,
                              ProjectId project);

  // --------------------------------------------------------- account queries

  // PRJ-3: the organization's projects in every region, by id.
  absl::StatusOr<Page<ProjectRecord>> ListProjects(const Actor& actor,
                                                   OrganizationId organization,
                                                   const PageRequest& page);

  // PRJ-4: every distinct user of the organization's projects with the
  // number of them it is in, by identity id. Answered from an index of
  // (organization, identity): the cost grows with the page and its offset,
  // not with the organization's other data.
  absl::StatusOr<Page<ProjectUser>> ListProjectUsers(
      const Actor& actor, OrganizationId organization, const PageRequest& page);

  // PRJ-5: `identity`'s projects in the organization, by project id, and its
  // active project count. A member (any kind or status) in none of the
  // organization's projects gets an empty page. SEC-3: an identity that is
  // neither a member of the organization nor in one of its projects is
  // refused exactly as an id no identity has, kNotFound ("The organization
  // has no user #N."), so its address, name and existence stay hidden; for
  // the operator too, since the answer is about the organization's user.
  absl::StatusOr<UserProjects> GetProjectUser(const Actor& actor,
                                              OrganizationId organization,
                                              IdentityId identity,
                                              const PageRequest& page);

  // ------------------------------------------------------------ batch jobs

  // PRJ-6: checks the request's limits and queues it as a job to run in
  // `region`. Fails with kPermissionDenied, kNotFound (organization),
  // kLimitExceeded (over 30 projects or 15 updates for one project),
  // kInvalidArgument (no project, or a region not in ProjectPolicy::regions).
  // Nothing is queued on failure.
  absl::StatusOr<MemberUpdateJob> SubmitMemberUpdates(
      const Actor& actor, OrganizationId organization, std::string_view region,
      const std::vector<ProjectMemberUpdates>& request);

  // Runs a queued job (see above) and returns it as it now is. A job that
  // already ran is returned unchanged. Fails with kNotFound (no such job),
  // or a store error (the job stays queued).
  absl::StatusOr<MemberUpdateJob> RunJob(JobId job);

  // Runs up to `max_jobs` queued jobs, oldest first; returns how many ran.
  // Stops at the first store error and returns it.
  absl::StatusOr<int> RunQueuedJobs(int max_jobs);

  // PRJ-6: a job's status and results. Account administrators of its
  // organization. Fails with kNotFound, kPermissionDenied.
  absl::StatusOr<MemberUpdateJob> GetJob(const Actor& actor, JobId job);

 private:
  // Made only by a Directory, which owns the context its services share.
  friend class Directory;
  explicit Projects(internal::ServiceContext& context) : context_(context) {}

  internal::ServiceContext& context_;
};

}  // namespace entitle

#endif  // ENTITLE_PROJECTS_H_
