#include "entitle/projects.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/names.h"
#include "base/status_macros.h"
#include "base/string_view.h"
#include "entitle/email.h"
#include "entitle/status.h"
#include "projects/projects_json_internal.h"
#include "service/authorization.h"
#include "service/operation.h"
#include "service/service_context.h"

namespace entitle {
namespace {

using internal::AuditTarget;
using internal::Operation;
using internal::Reading;

constexpr std::string_view kJobKind = "project-members.update";

absl::Status Invalid(std::string_view message) {
  return MakeError(absl::StatusCode::kInvalidArgument, Reason::kInvalidArgument,
                   message);
}

absl::Status NoProject(ProjectId project) {
  return MakeError(absl::StatusCode::kNotFound, Reason::kNotFound,
                   absl::StrCat("There is no project #", project.value(), "."));
}

absl::Status NoProjectInOrganization(ProjectId project) {
  return MakeError(
      absl::StatusCode::kNotFound, Reason::kNotFound,
      absl::StrCat("The organization has no project #", project.value(), "."));
}

absl::Status WrongRegion(const ProjectRecord& project, std::string_view asked) {
  return MakeError(
      absl::StatusCode::kFailedPrecondition, Reason::kWrongRegion,
      absl::StrCat("Project #", project.id.value(), " is hosted in region ",
                   project.region, "; ask through region ", project.region,
                   ", not ", AbslView(asked), "."));
}

absl::Status Archived(const ProjectRecord& project) {
  return MakeError(absl::StatusCode::kFailedPrecondition,
                   Reason::kProjectArchived,
                   absl::StrCat("Project #", project.id.value(),
                                " is archived; restore it to change its "
                                "members."));
}

using internal::IsStoreFailure;

bool IsMissing(const absl::Status& status) {
  return GetReason(status) == Reason::kNotFound;
}

absl::Status CheckRegion(const internal::ServiceContext& context,
                         std::string_view region) {
  const std::vector<std::string>& regions = context.project_policy.regions;
  if (std::find(regions.begin(), regions.end(), region) != regions.end()) {
    return absl::OkStatus();
  }
  return Invalid(absl::StrCat("There is no region \"", AbslView(region),
                              "\"; projects are hosted in ",
                              absl::StrJoin(regions, ", "), "."));
}

absl::Status RequireOrganization(Transaction& tx, OrganizationId organization) {
  absl::StatusOr<OrganizationRecord> org = tx.organizations().Get(organization);
  if (!org.ok() && IsMissing(org.status())) {
    return MakeError(
        absl::StatusCode::kNotFound, Reason::kNotFound,
        absl::StrCat("There is no organization #", organization.value(), "."));
  }
  return org.status();
}

// PRJ-7: the operator, or a member holding kManageProjects. For the operator,
// the organization must exist.
absl::Status RequireAccountAdmin(Transaction& tx, const Actor& actor,
                                 OrganizationId organization) {
  ENTITLE_RETURN_IF_ERROR(
      internal::RequirePermission(tx, actor, organization, kManageProjects));
  return RequireOrganization(tx, organization);
}

// The identity's place in the project, if any.
absl::StatusOr<std::optional<ProjectMemberRecord>> PlaceOf(
    Transaction& tx, ProjectId project, IdentityId identity) {
  absl::StatusOr<ProjectMemberRecord> place =
      tx.project_members().Get(ProjectMemberKey{project, identity});
  if (place.ok()) return std::optional<ProjectMemberRecord>(*std::move(place));
  if (IsMissing(place.status())) return std::nullopt;
  return place.status();
}

// May `actor` see the project (account admin or project member) or, with
// `manage`, change it (account admin or project ADMIN)?
absl::Status RequireProjectAccess(Transaction& tx, const Actor& actor,
                                  const ProjectRecord& project, bool manage) {
  absl::Status admin = internal::RequirePermission(
      tx, actor, project.organization_id, kManageProjects);
  if (admin.ok() || IsStoreFailure(admin) || !actor.is_identity()) return admin;
  absl::StatusOr<IdentityRecord> identity =
      tx.identities().Get(actor.identity());
  if (!identity.ok())
    return IsMissing(identity.status()) ? admin : identity.status();
  if (identity->locked) return admin;
  ENTITLE_ASSIGN_OR_RETURN(std::optional<ProjectMemberRecord> place,
                           PlaceOf(tx, project.id, actor.identity()));
  if (!place.has_value()) return admin;
  if (manage && place->role != ProjectRole::kAdmin) return admin;
  return absl::OkStatus();
}

// Loads the project, authorizes the actor, then checks the region (PRJ-2).
absl::StatusOr<ProjectRecord> LoadProject(Transaction& tx, const Actor& actor,
                                          std::string_view region, ProjectId id,
                                          bool manage) {
  absl::StatusOr<ProjectRecord> project = tx.projects().Get(id);
  if (!project.ok()) {
    return IsMissing(project.status()) ? NoProject(id) : project.status();
  }
  ENTITLE_RETURN_IF_ERROR(RequireProjectAccess(tx, actor, *project, manage));
  if (project->region != region) return WrongRegion(*project, region);
  return project;
}

// Does `identity` hold `entitlement`: a named assignment, or pool access
// directly or through one of its groups?
absl::StatusOr<bool> HoldsEntitlement(Transaction& tx,
                                      const EntitlementRecord& entitlement,
                                      IdentityId identity) {
  if (entitlement.kind == EntitlementKind::kNamed) {
    absl::StatusOr<LicenseAssignmentRecord> assignment =
        tx.license_assignments().Get(
            LicenseAssignmentKey{entitlement.id, identity});
    if (assignment.ok()) return true;
    if (IsMissing(assignment.status())) return false;
    return assignment.status();
  }
  // The identity's own row is a grant or an exception that denies it the
  // pool whatever its groups give.
  ENTITLE_ASSIGN_OR_RETURN(
      std::optional<PoolGrantRecord> own,
      internal::FindFirst(tx.pool_grants(),
                          PoolGrantFilter{.entitlement_id = entitlement.id,
                                          .identity_id = identity}));
  if (own.has_value()) return !own->denied;
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<GroupMemberRecord> groups,
      internal::ListAll(tx.group_members(),
                        GroupMemberFilter{.identity_id = identity}));
  for (const GroupMemberRecord& group : groups) {
    ENTITLE_ASSIGN_OR_RETURN(
        int64_t through,
        tx.pool_grants().Count(PoolGrantFilter{.entitlement_id = entitlement.id,
                                               .group_id = group.group_id}));
    if (through > 0) return true;
  }
  return false;
}

// PRJ-1's creator: an account admin, or an active, unlocked member holding
// the entitlement.
absl::Status RequireCreator(Transaction& tx, const Actor& actor,
                            OrganizationId organization,
                            EntitlementId entitlement) {
  absl::Status admin =
      internal::RequirePermission(tx, actor, organization, kManageProjects);
  if (admin.ok() || IsStoreFailure(admin) || !actor.is_identity()) return admin;
  absl::StatusOr<IdentityRecord> identity =
      tx.identities().Get(actor.identity());
  if (!identity.ok())
    return IsMissing(identity.status()) ? admin : identity.status();
  if (identity->locked) return admin;
  absl::StatusOr<MembershipRecord> membership =
      tx.memberships().Get(MembershipKey{organization, actor.identity()});
  if (!membership.ok()) {
    return IsMissing(membership.status()) ? admin : membership.status();
  }
  if (membership->status != MembershipStatus::kActive) return admin;
  absl::StatusOr<EntitlementRecord> held = tx.entitlements().Get(entitlement);
  if (!held.ok()) return IsMissing(held.status()) ? admin : held.status();
  if (held->organization_id != organization) return admin;
  ENTITLE_ASSIGN_OR_RETURN(bool holds,
                           HoldsEntitlement(tx, *held, actor.identity()));
  return holds ? absl::OkStatus() : admin;
}

// PRJ-3 to PRJ-5: an account query's page (see projects.h).
absl::Status CheckAccountPage(const PageRequest& page) {
  if (page.offset < 0 || page.limit < 1) {
    return Invalid("Page numbers and page sizes start at 1.");
  }
  if (page.limit > kMaxAccountPageSize) {
    return MakeError(absl::StatusCode::kInvalidArgument, Reason::kLimitExceeded,
                     absl::StrCat("A page holds at most ", kMaxAccountPageSize,
                                  " items; ", page.limit, " were asked for."));
  }
  return absl::OkStatus();
}

template <typename Item>
Page<Item> EmptyPage(int64_t total) {
  Page<Item> result;
  result.total = total;
  return result;
}

absl::Status NotAMemberOfProject(const Email& email, ProjectId project) {
  return MakeError(absl::StatusCode::kFailedPrecondition, Reason::kNotMember,
                   absl::StrCat(email.str(), " is not a member of project #",
                                project.value(), "."));
}

absl::Status NotAnActiveMember(const Email& email) {
  return MakeError(
      absl::StatusCode::kFailedPrecondition, Reason::kNotMember,
      absl::StrCat(email.str(),
                   " is not an active member of the organization."));
}

absl::StatusOr<MemberUpdateJob> ToJob(const JobRecord& record) {
  ENTITLE_ASSIGN_OR_RETURN(internal::StoredJobRequest stored,
                           internal::ReadJobRequest(record.request));
  ENTITLE_ASSIGN_OR_RETURN(internal::StoredJobResult result,
                           internal::ReadJobResult(record.result));
  MemberUpdateJob job;
  job.id = record.id;
  job.organization_id = record.organization_id;
  job.created_by = record.created_by;
  job.region = stored.region;
  job.status = record.status;
  job.request = std::move(stored.request);
  job.failure = result.failure;
  job.created_at = record.created_at;
  job.finished_at = record.finished_at;
  if (record.status == JobStatus::kDone) {
    size_t next = 0;
    for (const ProjectMemberUpdates& project : job.request) {
      for (const MemberUpdate& update : project.updates) {
        if (next >= result.statuses.size()) break;
        job.results.push_back(MemberUpdateResult{project.project_id, update,
                                                 result.statuses[next++]});
      }
    }
    if (next != result.statuses.size() ||
        job.results.size() != result.statuses.size()) {
      return MakeError(absl::StatusCode::kFailedPrecondition,
                       Reason::kStoreCorrupt,
                       absl::StrCat("Batch job #", record.id.value(),
                                    " has results that do not match its "
                                    "request."));
    }
  }
  return job;
}

// One update of a running job: its result, or a store failure (see
// IsStoreFailure: the job stops and stays queued). A plain Status on purpose:
// StatusOr<Status> would turn every returned error into a value.
absl::Status ApplyUpdate(Operation& op, const Actor& actor,
                         const ProjectRecord& project,
                         const MemberUpdate& update) {
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(Email email, Email::Parse(update.email));
  ENTITLE_ASSIGN_OR_RETURN(
      std::optional<IdentityRecord> identity,
      internal::FindFirst(tx.identities(), IdentityFilter{.email = email}));
  // SEC-3: an address with no account is answered as one whose account is not
  // the organization's member, so a job's results do not tell which
  // addresses have accounts.
  if (!identity.has_value()) {
    if (update.action != MemberUpdateAction::kAdd) {
      return NotAMemberOfProject(email, project.id);
    }
    return NotAnActiveMember(email);
  }
  const IdentityId id = identity->id;
  ENTITLE_ASSIGN_OR_RETURN(std::optional<ProjectMemberRecord> place,
                           PlaceOf(tx, project.id, id));
  const std::string target = AuditTarget(project.id);
  const std::string detail = absl::StrCat(
      AuditTarget(id),
      " role=", update.role == ProjectRole::kAdmin ? "admin" : "user");
  switch (update.action) {
    case MemberUpdateAction::kAdd: {
      if (place.has_value()) {
        return MakeError(
            absl::StatusCode::kAlreadyExists, Reason::kAlreadyMember,
            absl::StrCat(email.str(), " is already a member of project #",
                         project.id.value(), "."));
      }
      absl::StatusOr<MembershipRecord> membership =
          tx.memberships().Get(MembershipKey{project.organization_id, id});
      if (!membership.ok() && !IsMissing(membership.status())) {
        return membership.status();
      }
      if (!membership.ok() || membership->status != MembershipStatus::kActive) {
        return NotAnActiveMember(email);
      }
      ENTITLE_RETURN_IF_ERROR(tx.project_members().Insert(ProjectMemberRecord{
          project.id, id, project.organization_id, update.role, op.now()}));
      op.Audit(actor, project.organization_id, "project.member.add", target,
               detail);
      return absl::OkStatus();
    }
    case MemberUpdateAction::kRemove: {
      if (!place.has_value()) return NotAMemberOfProject(email, project.id);
      ENTITLE_RETURN_IF_ERROR(
          tx.project_members().Delete(ProjectMemberKey{project.id, id}));
      op.Audit(actor, project.organization_id, "project.member.remove", target,
               AuditTarget(id));
      return absl::OkStatus();
    }
    case MemberUpdateAction::kUpdate: {
      if (!place.has_value()) return NotAMemberOfProject(email, project.id);
      if (place->role == update.role) return absl::OkStatus();
      ProjectMemberRecord changed = *place;
      changed.role = update.role;
      ENTITLE_RETURN_IF_ERROR(tx.project_members().Update(changed));
      op.Audit(actor, project.organization_id, "project.member.update", target,
               detail);
      return absl::OkStatus();
    }
  }
  return Invalid("Unknown action.");
}

// Why every update of `entry` fails, or OK when its project takes updates;
// or a store failure.
absl::Status CheckJobProject(Transaction& tx, const MemberUpdateJob& job,
                             const ProjectMemberUpdates& entry,
                             std::optional<ProjectRecord>& project) {
  if (!entry.project_id.valid())
    return NoProjectInOrganization(entry.project_id);
  absl::StatusOr<ProjectRecord> loaded = tx.projects().Get(entry.project_id);
  if (!loaded.ok()) {
    if (!IsMissing(loaded.status())) return loaded.status();
    return NoProjectInOrganization(entry.project_id);
  }
  if (loaded->organization_id != job.organization_id) {
    return NoProjectInOrganization(entry.project_id);
  }
  if (loaded->region != job.region) return WrongRegion(*loaded, job.region);
  if (loaded->status == ProjectStatus::kArchived) return Archived(*loaded);
  project = *std::move(loaded);
  return absl::OkStatus();
}

}  // namespace

// ------------------------------------------------------------------ projects

absl::StatusOr<ProjectRecord> Projects::CreateProject(
    const Actor& actor, OrganizationId organization, EntitlementId entitlement,
    std::string_view name, std::string_view region) {
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  Transaction& tx = op.tx();
  ENTITLE_RETURN_IF_ERROR(RequireCreator(tx, actor, organization, entitlement));
  ENTITLE_RETURN_IF_ERROR(RequireOrganization(tx, organization));
  ENTITLE_ASSIGN_OR_RETURN(EntitlementRecord e,
                           internal::LoadOwned(tx.entitlements(), organization,
                                               entitlement, "entitlement"));
  // SEC-6 (base/names.h); a project name is not trimmed.
  ENTITLE_ASSIGN_OR_RETURN(std::string clean_name,
                           internal::CheckName(name, "project name"));
  ENTITLE_RETURN_IF_ERROR(CheckRegion(context_, region));
  if (op.now() < e.period_start || op.now() >= e.period_end) {
    return MakeError(
        absl::StatusCode::kFailedPrecondition, Reason::kOutsidePeriod,
        absl::StrCat("A project needs an active entitlement; ", e.sku,
                     " runs from ", absl::FormatTime(e.period_start), " to ",
                     absl::FormatTime(e.period_end), "."));
  }
  ProjectRecord project;
  project.organization_id = organization;
  project.entitlement_id = entitlement;
  project.name = clean_name;
  project.region = std::string(region);
  project.status = ProjectStatus::kActive;
  project.created_at = op.now();
  ENTITLE_ASSIGN_OR_RETURN(ProjectId id, tx.projects().Insert(project));
  project.id = id;
  if (actor.is_identity()) {
    ENTITLE_RETURN_IF_ERROR(tx.project_members().Insert(
        ProjectMemberRecord{project.id, actor.identity(), organization,
                            ProjectRole::kAdmin, op.now()}));
  }
  op.Audit(actor, organization, "project.create", AuditTarget(id),
           absl::StrCat(AuditTarget(entitlement), " region=", AbslView(region),
                        " name=", clean_name));
  ENTITLE_RETURN_IF_ERROR(op.Commit());
  return project;
}

absl::StatusOr<ProjectRecord> Projects::GetProject(const Actor& actor,
                                                   std::string_view region,
                                                   ProjectId project) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  return LoadProject(reading.tx(), actor, region, project, /*manage=*/false);
}

absl::StatusOr<std::vector<ProjectMemberRecord>> Projects::ListMembers(
    const Actor& actor, std::string_view region, ProjectId project) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  ENTITLE_RETURN_IF_ERROR(
      LoadProject(reading.tx(), actor, region, project, /*manage=*/false));
  return internal::ListAll(reading.tx().project_members(),
                           ProjectMemberFilter{.project_id = project});
}

namespace {

absl::Status SetArchived(internal::ServiceContext& context, const Actor& actor,
                         std::string_view region, ProjectId id,
                         ProjectStatus status) {
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context));
  ENTITLE_ASSIGN_OR_RETURN(
      ProjectRecord project,
      LoadProject(op.tx(), actor, region, id, /*manage=*/true));
  if (project.status == status) return absl::OkStatus();
  project.status = status;
  ENTITLE_RETURN_IF_ERROR(op.tx().projects().Update(project));
  op.Audit(actor, project.organization_id,
           status == ProjectStatus::kArchived ? "project.archive"
                                              : "project.restore",
           AuditTarget(id));
  return op.Commit();
}

}  // namespace

absl::Status Projects::ArchiveProject(const Actor& actor,
                                      std::string_view region,
                                      ProjectId project) {
  return SetArchived(context_, actor, region, project,
                     ProjectStatus::kArchived);
}

absl::Status Projects::RestoreProject(const Actor& actor,
                                      std::string_view region,
                                      ProjectId project) {
  return SetArchived(context_, actor, region, project, ProjectStatus::kActive);
}

// ----------------------------------------------------------- account queries

absl::StatusOr<Page<ProjectRecord>> Projects::ListProjects(
    const Actor& actor, OrganizationId organization, const PageRequest& page) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  Transaction& tx = reading.tx();
  ENTITLE_RETURN_IF_ERROR(RequireAccountAdmin(tx, actor, organization));
  ENTITLE_RETURN_IF_ERROR(CheckAccountPage(page));
  const ProjectFilter filter{.organization_id = organization};
  ENTITLE_ASSIGN_OR_RETURN(const int64_t total, tx.projects().Count(filter));
  Page<ProjectRecord> result = EmptyPage<ProjectRecord>(total);
  if (page.offset >= total) return result;
  ENTITLE_ASSIGN_OR_RETURN(Page<ProjectRecord> projects,
                           tx.projects().List(filter, page));
  result.items = std::move(projects.items);
  result.has_more = projects.has_more;
  return result;
}

absl::StatusOr<Page<ProjectUser>> Projects::ListProjectUsers(
    const Actor& actor, OrganizationId organization, const PageRequest& page) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  Transaction& tx = reading.tx();
  ENTITLE_RETURN_IF_ERROR(RequireAccountAdmin(tx, actor, organization));
  ENTITLE_RETURN_IF_ERROR(CheckAccountPage(page));
  ENTITLE_ASSIGN_OR_RETURN(const int64_t total,
                           tx.CountProjectUsers(organization));
  Page<ProjectUser> result = EmptyPage<ProjectUser>(total);
  if (page.offset >= total) return result;
  ENTITLE_ASSIGN_OR_RETURN(Page<ProjectUserCount> counts,
                           tx.ProjectUsers(organization, page));
  result.items.reserve(counts.items.size());
  for (const ProjectUserCount& count : counts.items) {
    ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity,
                             tx.identities().Get(count.identity_id));
    result.items.push_back(ProjectUser{count.identity_id, identity.email.str(),
                                       identity.display_name,
                                       count.project_count});
  }
  result.has_more = counts.has_more;
  return result;
}

absl::StatusOr<UserProjects> Projects::GetProjectUser(
    const Actor& actor, OrganizationId organization, IdentityId identity,
    const PageRequest& page) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  Transaction& tx = reading.tx();
  ENTITLE_RETURN_IF_ERROR(RequireAccountAdmin(tx, actor, organization));
  ENTITLE_RETURN_IF_ERROR(CheckAccountPage(page));
  // SEC-3: an identity that is not the organization's (no membership, no
  // project place) is answered exactly as one that does not exist, so the
  // organization learns neither its address nor that it exists.
  const absl::Status no_such_user = MakeError(
      absl::StatusCode::kNotFound, Reason::kNotFound,
      absl::StrCat("The organization has no user #", identity.value(), "."));
  absl::StatusOr<IdentityRecord> record = tx.identities().Get(identity);
  if (!record.ok()) {
    if (!IsMissing(record.status())) return record.status();
    return no_such_user;
  }
  // Every place, to count the active projects; a user's places are few
  // next to the organization's.
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<ProjectMemberRecord> places,
      internal::ListAll(tx.project_members(),
                        ProjectMemberFilter{.identity_id = identity,
                                            .organization_id = organization}));
  if (places.empty()) {
    absl::StatusOr<MembershipRecord> membership =
        tx.memberships().Get(MembershipKey{organization, identity});
    if (!membership.ok()) {
      if (!IsMissing(membership.status())) return membership.status();
      return no_such_user;
    }
  }
  UserProjects result;
  result.identity_id = identity;
  result.email = record->email.str();
  result.display_name = record->display_name;
  result.projects = EmptyPage<UserProject>(static_cast<int64_t>(places.size()));
  const int64_t count = static_cast<int64_t>(places.size());
  const int64_t first = page.offset;
  const int64_t end =
      first >= count ? count : std::min(count, first + page.limit);
  for (int64_t i = 0; i < count; ++i) {
    const ProjectMemberRecord& place = places[i];
    ENTITLE_ASSIGN_OR_RETURN(ProjectRecord project,
                             tx.projects().Get(place.project_id));
    if (project.status == ProjectStatus::kActive) {
      ++result.active_projects_count;
    }
    if (i >= first && i < end) {
      result.projects.items.push_back(
          UserProject{std::move(project), place.role, place.added_at});
    }
  }
  result.projects.has_more = end < count;
  return result;
}

// ---------------------------------------------------------------- batch jobs

absl::StatusOr<MemberUpdateJob> Projects::SubmitMemberUpdates(
    const Actor& actor, OrganizationId organization, std::string_view region,
    const std::vector<ProjectMemberUpdates>& request) {
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  Transaction& tx = op.tx();
  ENTITLE_RETURN_IF_ERROR(RequireAccountAdmin(tx, actor, organization));
  ENTITLE_RETURN_IF_ERROR(CheckRegion(context_, region));
  if (request.empty()) return Invalid("The request names no project.");
  if (request.size() > static_cast<size_t>(kMaxProjectsPerRequest)) {
    return MakeError(
        absl::StatusCode::kInvalidArgument, Reason::kLimitExceeded,
        absl::StrCat("A request may name at most ", kMaxProjectsPerRequest,
                     " projects; this one names ", request.size(), "."));
  }
  for (const ProjectMemberUpdates& project : request) {
    if (project.updates.size() > static_cast<size_t>(kMaxUpdatesPerProject)) {
      return MakeError(
          absl::StatusCode::kInvalidArgument, Reason::kLimitExceeded,
          absl::StrCat("A request may hold at most ", kMaxUpdatesPerProject,
                       " updates for one project; project ",
                       project.project_id.value(), " has ",
                       project.updates.size(), "."));
    }
  }
  JobRecord record;
  record.organization_id = organization;
  record.created_by = actor.audit_id();
  record.kind = std::string(kJobKind);
  record.status = JobStatus::kQueued;
  record.request = internal::WriteJobRequest(internal::StoredJobRequest{
      std::string(region), request, actor.is_operator()});
  record.created_at = op.now();
  ENTITLE_ASSIGN_OR_RETURN(JobId id, tx.jobs().Insert(record));
  record.id = id;
  int64_t updates = 0;
  for (const ProjectMemberUpdates& project : request) {
    updates += static_cast<int64_t>(project.updates.size());
  }
  op.Audit(actor, organization, "project.job.submit", AuditTarget(id),
           absl::StrCat(request.size(), " projects, ", updates,
                        " updates, region=", AbslView(region)));
  ENTITLE_RETURN_IF_ERROR(op.Commit());
  return ToJob(record);
}

absl::StatusOr<MemberUpdateJob> Projects::RunJob(JobId id) {
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  Transaction& tx = op.tx();
  absl::StatusOr<JobRecord> record = tx.jobs().Get(id);
  if (!record.ok()) {
    if (!IsMissing(record.status())) return record.status();
    return MakeError(absl::StatusCode::kNotFound, Reason::kNotFound,
                     absl::StrCat("There is no batch job #", id.value(), "."));
  }
  if (record->kind != kJobKind) {
    return Invalid(
        absl::StrCat("Job #", id.value(), " is not a project member update."));
  }
  if (record->status != JobStatus::kQueued) return ToJob(*record);
  ENTITLE_ASSIGN_OR_RETURN(MemberUpdateJob job, ToJob(*record));
  ENTITLE_ASSIGN_OR_RETURN(internal::StoredJobRequest stored,
                           internal::ReadJobRequest(record->request));

  // The job acts with its submitter's authority, checked again now.
  const Actor actor = record->created_by.has_value()
                          ? Actor::Identity(*record->created_by)
                          : Actor::Operator();
  absl::Status allowed = absl::OkStatus();
  if (!record->created_by.has_value() && !stored.by_operator) {
    allowed = internal::PermissionDenied(
        "run this job: its submitter's account was deleted");
  } else if (record->created_by.has_value()) {
    allowed = internal::RequirePermission(tx, actor, record->organization_id,
                                          kManageProjects);
    if (!allowed.ok() && IsStoreFailure(allowed)) return allowed;
  }

  internal::StoredJobResult result;
  int64_t applied = 0;
  int64_t failed = 0;
  if (allowed.ok()) {
    for (const ProjectMemberUpdates& entry : job.request) {
      std::optional<ProjectRecord> project;
      const absl::Status usable = CheckJobProject(tx, job, entry, project);
      if (!usable.ok() && IsStoreFailure(usable)) return usable;
      for (const MemberUpdate& update : entry.updates) {
        absl::Status outcome = usable;
        if (outcome.ok()) {
          outcome = ApplyUpdate(op, actor, *project, update);
          if (!outcome.ok() && IsStoreFailure(outcome)) return outcome;
        }
        ++(outcome.ok() ? applied : failed);
        result.statuses.push_back(std::move(outcome));
      }
    }
    record->status = JobStatus::kDone;
  } else {
    result.failure = allowed;
    record->status = JobStatus::kFailed;
  }
  record->result = internal::WriteJobResult(result);
  record->finished_at = op.now();
  ENTITLE_RETURN_IF_ERROR(tx.jobs().Update(*record));
  op.Audit(actor, record->organization_id,
           record->status == JobStatus::kDone ? "project.job.run"
                                              : "project.job.fail",
           AuditTarget(id),
           record->status == JobStatus::kDone
               ? absl::StrCat(applied, " applied, ", failed, " failed")
               : std::string(allowed.message()));
  ENTITLE_RETURN_IF_ERROR(op.Commit());
  return ToJob(*record);
}

absl::StatusOr<int> Projects::RunQueuedJobs(int max_jobs) {
  if (max_jobs < 1) return 0;
  std::vector<JobId> queued;
  {
    ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
    ENTITLE_ASSIGN_OR_RETURN(
        Page<JobRecord> page,
        reading.tx().jobs().List(
            JobFilter{.status = JobStatus::kQueued},
            PageRequest{.offset = 0,
                        .limit = std::min<int64_t>(
                            max_jobs, PageRequest::kMaxPageLimit)}));
    for (const JobRecord& job : page.items) {
      if (job.kind == kJobKind) queued.push_back(job.id);
    }
  }
  int ran = 0;
  for (JobId id : queued) {
    ENTITLE_RETURN_IF_ERROR(RunJob(id));
    ++ran;
  }
  return ran;
}

absl::StatusOr<MemberUpdateJob> Projects::GetJob(const Actor& actor, JobId id) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  Transaction& tx = reading.tx();
  absl::StatusOr<JobRecord> record = tx.jobs().Get(id);
  if (!record.ok()) {
    if (!IsMissing(record.status())) return record.status();
    return MakeError(absl::StatusCode::kNotFound, Reason::kNotFound,
                     absl::StrCat("There is no batch job #", id.value(), "."));
  }
  ENTITLE_RETURN_IF_ERROR(
      RequireAccountAdmin(tx, actor, record->organization_id));
  if (record->kind != kJobKind) {
    return Invalid(
        absl::StrCat("Job #", id.value(), " is not a project member update."));
  }
  return ToJob(*record);
}

}  // namespace entitle
