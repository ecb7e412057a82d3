#include "entitle/projects_json.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "base/string_view.h"
#include "entitle/status.h"
#include "projects/projects_json_internal.h"

namespace entitle {
namespace {

using Json = nlohmann::json;

absl::Status Malformed(std::string_view where, std::string_view what) {
  return MakeError(
      absl::StatusCode::kInvalidArgument, Reason::kInvalidArgument,
      absl::StrCat("The request body is not valid: ", AbslView(where),
                   where.empty() ? "" : ": ", AbslView(what)));
}

absl::Status OverLimit(std::string message) {
  return MakeError(absl::StatusCode::kInvalidArgument, Reason::kLimitExceeded,
                   message);
}

const char* ActionName(MemberUpdateAction action) {
  switch (action) {
    case MemberUpdateAction::kAdd:
      return "ADD";
    case MemberUpdateAction::kRemove:
      return "REMOVE";
    case MemberUpdateAction::kUpdate:
      return "UPDATE";
  }
  return "ADD";
}

const char* RoleName(ProjectRole role) {
  return role == ProjectRole::kAdmin ? "ADMIN" : "USER";
}

const char* JobStatusName(JobStatus status) {
  switch (status) {
    case JobStatus::kQueued:
      return "QUEUED";
    case JobStatus::kRunning:
      return "RUNNING";
    case JobStatus::kDone:
      return "DONE";
    case JobStatus::kFailed:
      return "FAILED";
  }
  return "QUEUED";
}

std::string IdText(int64_t value) { return absl::StrCat(value); }

Json TimeJson(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", time, absl::UTCTimeZone());
}

// A positive decimal id, from a string of digits or a JSON integer.
absl::StatusOr<int64_t> ReadId(const Json& value, const std::string& where) {
  int64_t id = 0;
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    const bool digits =
        !text.empty() && text.size() <= 19 &&
        text.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || !absl::SimpleAtoi(text, &id)) id = 0;
  } else if (value.is_number_integer()) {
    id = value.get<int64_t>();
  } else {
    return Malformed(where, "must be a string of digits");
  }
  if (id <= 0) return Malformed(where, "is not a project id");
  return id;
}

absl::StatusOr<MemberUpdate> ReadUpdate(const Json& value,
                                        const std::string& where) {
  if (!value.is_object()) return Malformed(where, "must be an object");
  MemberUpdate update;
  const auto action = value.find("action");
  if (action == value.end() || !action->is_string()) {
    return Malformed(where + ".action", "must be ADD, REMOVE or UPDATE");
  }
  const std::string& action_text = action->get_ref<const std::string&>();
  if (action_text == "ADD") {
    update.action = MemberUpdateAction::kAdd;
  } else if (action_text == "REMOVE") {
    update.action = MemberUpdateAction::kRemove;
  } else if (action_text == "UPDATE") {
    update.action = MemberUpdateAction::kUpdate;
  } else {
    return Malformed(where + ".action", "must be ADD, REMOVE or UPDATE");
  }
  const auto email = value.find("email");
  if (email == value.end() || !email->is_string()) {
    return Malformed(where + ".email", "must be a string");
  }
  update.email = email->get<std::string>();
  const auto role = value.find("role");
  if (role == value.end() || role->is_null()) {
    if (update.action != MemberUpdateAction::kRemove) {
      return Malformed(where + ".role", "must be USER or ADMIN");
    }
  } else if (role->is_string() &&
             role->get_ref<const std::string&>() == "USER") {
    update.role = ProjectRole::kUser;
  } else if (role->is_string() &&
             role->get_ref<const std::string&>() == "ADMIN") {
    update.role = ProjectRole::kAdmin;
  } else {
    return Malformed(where + ".role", "must be USER or ADMIN");
  }
  return update;
}

Json RequestJson(const std::vector<ProjectMemberUpdates>& request) {
  Json projects = Json::array();
  for (const ProjectMemberUpdates& project : request) {
    Json updates = Json::array();
    for (const MemberUpdate& update : project.updates) {
      updates.push_back(Json{{"action", ActionName(update.action)},
                             {"email", update.email},
                             {"role", RoleName(update.role)}});
    }
    projects.push_back(Json{{"projectId", IdText(project.project_id.value())},
                            {"updates", std::move(updates)}});
  }
  return projects;
}

Json ProjectJson(const ProjectRecord& project) {
  return Json{{"projectId", IdText(project.id.value())},
              {"name", project.name},
              {"region", project.region},
              {"entitlementId", IdText(project.entitlement_id.value())},
              {"status", project.status == ProjectStatus::kArchived ? "ARCHIVED"
                                                                    : "ACTIVE"},
              {"createdAt", TimeJson(project.created_at)}};
}

// `asked` gives the number and size; a page without a total writes 0.
template <typename Item>
Json PageJson(const Page<Item>& page, const PageRequest& asked) {
  return Json{{"page", asked.number()},
              {"size", asked.limit},
              {"total", page.total.value_or(0)},
              {"hasMore", page.has_more}};
}

// Output must stay valid UTF-8 whatever a name or address holds: invalid
// bytes are replaced rather than thrown on.
std::string Dump(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

absl::Status Corrupt(std::string_view what) {
  return MakeError(absl::StatusCode::kFailedPrecondition, Reason::kStoreCorrupt,
                   absl::StrCat("A batch job's stored ", AbslView(what),
                                " cannot be read."));
}

Reason ReasonNamed(const std::string& name) {
  for (Reason reason : AllReasons()) {
    if (ReasonName(reason) == name) return reason;
  }
  return Reason::kNone;
}

Json StatusJson(const absl::Status& status) {
  return Json{{"code", static_cast<int>(status.code())},
              {"reason", std::string(ReasonName(GetReason(status)))},
              {"message", std::string(status.message())}};
}

// A stored result, or false when it is damaged (`*status` is then unset).
// Not a StatusOr<Status>: that would read every error as a value.
bool ReadStatus(const Json& json, absl::Status* status) {
  if (!json.is_object()) return false;
  const auto code = json.find("code");
  const auto reason = json.find("reason");
  const auto message = json.find("message");
  if (code == json.end() || !code->is_number_integer() ||
      reason == json.end() || !reason->is_string() || message == json.end() ||
      !message->is_string()) {
    return false;
  }
  const int code_value = code->get<int>();
  if (code_value == 0) {
    *status = absl::OkStatus();
    return true;
  }
  if (code_value < 0 || code_value > 16) return false;
  *status = MakeError(static_cast<absl::StatusCode>(code_value),
                      ReasonNamed(reason->get<std::string>()),
                      message->get<std::string>());
  return true;
}

}  // namespace

absl::StatusOr<std::vector<ProjectMemberUpdates>> ParseMemberUpdateRequest(
    std::string_view body) {
  if (body.size() > kMaxMemberUpdateBodyBytes) {
    return OverLimit(absl::StrCat("A request body may be at most ",
                                  kMaxMemberUpdateBodyBytes,
                                  " bytes; this one is ", body.size(), "."));
  }
  Json json = Json::parse(body.begin(), body.end(), nullptr,
                          /*allow_exceptions=*/false);
  if (json.is_discarded()) return Malformed("", "it is not JSON");
  if (!json.is_array()) return Malformed("", "it must be an array of projects");
  if (json.empty()) return Malformed("", "it names no project");
  if (json.size() > static_cast<size_t>(kMaxProjectsPerRequest)) {
    return OverLimit(
        absl::StrCat("A request may name at most ", kMaxProjectsPerRequest,
                     " projects; this one names ", json.size(), "."));
  }
  std::vector<ProjectMemberUpdates> request;
  request.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    const std::string where = absl::StrCat("[", i, "]");
    const Json& project = json[i];
    if (!project.is_object()) return Malformed(where, "must be an object");
    const auto id = project.find("projectId");
    if (id == project.end())
      return Malformed(where + ".projectId", "is missing");
    ENTITLE_ASSIGN_OR_RETURN(int64_t project_id,
                             ReadId(*id, where + ".projectId"));
    const auto updates = project.find("updates");
    if (updates == project.end() || !updates->is_array()) {
      return Malformed(where + ".updates", "must be an array");
    }
    if (updates->size() > static_cast<size_t>(kMaxUpdatesPerProject)) {
      return OverLimit(
          absl::StrCat("A request may hold at most ", kMaxUpdatesPerProject,
                       " updates for one project; project ", project_id, " (",
                       where, ") has ", updates->size(), "."));
    }
    ProjectMemberUpdates entry;
    entry.project_id = ProjectId(project_id);
    for (size_t j = 0; j < updates->size(); ++j) {
      ENTITLE_ASSIGN_OR_RETURN(
          MemberUpdate update,
          ReadUpdate((*updates)[j], absl::StrCat(where, ".updates[", j, "]")));
      entry.updates.push_back(std::move(update));
    }
    request.push_back(std::move(entry));
  }
  return request;
}

std::string MemberUpdateRequestToJson(
    const std::vector<ProjectMemberUpdates>& request) {
  return Dump(RequestJson(request));
}

std::string MemberUpdateJobToJson(const MemberUpdateJob& job) {
  Json out{
      {"jobId", IdText(job.id.value())},
      {"status", JobStatusName(job.status)},
      {"region", job.region},
      {"createdAt", TimeJson(job.created_at)},
      {"finishedAt", job.finished_at.has_value() ? TimeJson(*job.finished_at)
                                                 : Json(nullptr)},
      {"request", RequestJson(job.request)}};
  Json results = Json::array();
  for (const MemberUpdateResult& result : job.results) {
    const std::string project_id = IdText(result.project_id.value());
    if (results.empty() || results.back()["projectId"] != project_id) {
      results.push_back(
          Json{{"projectId", project_id}, {"updates", Json::array()}});
    }
    Json update{{"action", ActionName(result.update.action)},
                {"email", result.update.email},
                {"role", RoleName(result.update.role)},
                {"status", result.status.ok() ? "OK" : "FAILED"}};
    if (!result.status.ok()) {
      update["reason"] = std::string(ReasonName(GetReason(result.status)));
      update["message"] = std::string(result.status.message());
    }
    results.back()["updates"].push_back(std::move(update));
  }
  out["results"] = std::move(results);
  if (job.status == JobStatus::kFailed) {
    out["error"] =
        Json{{"reason", std::string(ReasonName(GetReason(job.failure)))},
             {"message", std::string(job.failure.message())}};
  }
  return Dump(out);
}

std::string ProjectsPageToJson(const Page<ProjectRecord>& page,
                               const PageRequest& asked) {
  Json out = PageJson(page, asked);
  Json items = Json::array();
  for (const ProjectRecord& project : page.items) {
    items.push_back(ProjectJson(project));
  }
  out["items"] = std::move(items);
  return Dump(out);
}

std::string ProjectUsersPageToJson(const Page<ProjectUser>& page,
                                   const PageRequest& asked) {
  Json out = PageJson(page, asked);
  Json items = Json::array();
  for (const ProjectUser& user : page.items) {
    items.push_back(Json{{"userId", IdText(user.identity_id.value())},
                         {"email", user.email},
                         {"name", user.display_name},
                         {"projectsCount", user.project_count}});
  }
  out["items"] = std::move(items);
  return Dump(out);
}

std::string UserProjectsToJson(const UserProjects& user,
                               const PageRequest& asked) {
  Json out{{"userId", IdText(user.identity_id.value())},
           {"email", user.email},
           {"name", user.display_name},
           {"activeProjectsCount", user.active_projects_count}};
  out.update(PageJson(user.projects, asked));
  Json projects = Json::array();
  for (const UserProject& place : user.projects.items) {
    Json project = ProjectJson(place.project);
    project["role"] = RoleName(place.role);
    project["addedAt"] = TimeJson(place.added_at);
    projects.push_back(std::move(project));
  }
  out["projects"] = std::move(projects);
  return Dump(out);
}

namespace internal {

// The stored request keeps every address byte for byte (hex), even one that
// is not UTF-8, and any project id, even one no project can have: both fail
// only their update when the job runs.
std::string WriteJobRequest(const StoredJobRequest& stored) {
  Json projects = Json::array();
  for (const ProjectMemberUpdates& project : stored.request) {
    Json updates = Json::array();
    for (const MemberUpdate& update : project.updates) {
      updates.push_back(Json{{"action", ActionName(update.action)},
                             {"emailHex", absl::BytesToHexString(update.email)},
                             {"role", RoleName(update.role)}});
    }
    projects.push_back(Json{{"projectId", project.project_id.value()},
                            {"updates", std::move(updates)}});
  }
  return Dump(Json{{"region", stored.region},
                   {"byOperator", stored.by_operator},
                   {"projects", std::move(projects)}});
}

absl::StatusOr<StoredJobRequest> ReadJobRequest(std::string_view document) {
  Json json = Json::parse(document.begin(), document.end(), nullptr,
                          /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return Corrupt("request");
  const auto region = json.find("region");
  const auto projects = json.find("projects");
  const auto by_operator = json.find("byOperator");
  if (region == json.end() || !region->is_string() || projects == json.end() ||
      by_operator == json.end() || !by_operator->is_boolean()) {
    return Corrupt("request");
  }
  if (!projects->is_array()) return Corrupt("request");
  StoredJobRequest stored{
      region->get<std::string>(), {}, by_operator->get<bool>()};
  for (const Json& project : *projects) {
    if (!project.is_object()) return Corrupt("request");
    const auto id = project.find("projectId");
    const auto updates = project.find("updates");
    if (id == project.end() || !id->is_number_integer() ||
        updates == project.end() || !updates->is_array()) {
      return Corrupt("request");
    }
    ProjectMemberUpdates entry;
    entry.project_id = ProjectId(id->get<int64_t>());
    for (const Json& update : *updates) {
      if (!update.is_object()) return Corrupt("request");
      const auto email = update.find("emailHex");
      if (email == update.end() || !email->is_string()) {
        return Corrupt("request");
      }
      const std::string& hex = email->get_ref<const std::string&>();
      if (hex.size() % 2 != 0 ||
          hex.find_first_not_of("0123456789abcdefABCDEF") !=
              std::string::npos) {
        return Corrupt("request");
      }
      // Re-read action and role with the request parser's rules.
      Json readable{{"action", update.value("action", Json())},
                    {"email", ""},
                    {"role", update.value("role", Json())}};
      absl::StatusOr<MemberUpdate> parsed = ReadUpdate(readable, "");
      if (!parsed.ok()) return Corrupt("request");
      parsed->email = absl::HexStringToBytes(hex);
      entry.updates.push_back(*std::move(parsed));
    }
    stored.request.push_back(std::move(entry));
  }
  return stored;
}

std::string WriteJobResult(const StoredJobResult& stored) {
  Json statuses = Json::array();
  for (const absl::Status& status : stored.statuses) {
    statuses.push_back(StatusJson(status));
  }
  return Dump(Json{{"statuses", std::move(statuses)},
                   {"failure", StatusJson(stored.failure)}});
}

absl::StatusOr<StoredJobResult> ReadJobResult(std::string_view document) {
  if (document.empty()) return StoredJobResult{};
  Json json = Json::parse(document.begin(), document.end(), nullptr,
                          /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return Corrupt("result");
  const auto statuses = json.find("statuses");
  const auto failure = json.find("failure");
  if (statuses == json.end() || !statuses->is_array() ||
      failure == json.end()) {
    return Corrupt("result");
  }
  StoredJobResult stored;
  for (const Json& entry : *statuses) {
    absl::Status status;
    if (!ReadStatus(entry, &status)) return Corrupt("result");
    stored.statuses.push_back(std::move(status));
  }
  if (!ReadStatus(*failure, &stored.failure)) return Corrupt("result");
  return stored;
}

}  // namespace internal
}  // namespace entitle
