// The account API's JSON bodies (PRJ-3 to PRJ-6), for a host that serves the
// API over its own HTTP server:
//
//   POST /v1/projects/update-users      body -> ParseMemberUpdateRequest
//                                       job  -> MemberUpdateJobToJson
//   GET  /v1/accounts/{id}/projects     page -> ProjectsPageToJson
//   GET  /v1/accounts/{id}/project-users
//                                       page -> ProjectUsersPageToJson
//   GET  /v1/accounts/{id}/project-users/{userId}
//                                            -> UserProjectsToJson
//
// The request body is the API page's:
//   [ { "projectId": "string",
//       "updates": [ { "action": "ADD", "email": "string", "role": "USER" } ] }
//       ]
// with actions ADD, REMOVE and UPDATE and roles USER and ADMIN, spelled
// exactly so. `role` may be left out of a REMOVE. Ids are decimal strings
// (a JSON integer is accepted too). Fields this version does not know are
// ignored.
//
// Responses use camelCase names, ids as decimal strings, times as RFC 3339
// UTC, enum values upper case, and a failure as
// {"status": "FAILED", "reason": "<reason name>", "message": "..."}; see
// each function. The output is compact and stable (fields in a fixed
// order).
//
// Thread-safe: these are pure functions.
#ifndef ENTITLE_PROJECTS_JSON_H_
#define ENTITLE_PROJECTS_JSON_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "entitle/page.h"
#include "entitle/projects.h"

namespace entitle {

// The largest request body ParseMemberUpdateRequest reads: 30 projects of 15
// updates with long addresses fit many times over.
inline constexpr size_t kMaxMemberUpdateBodyBytes = 1 << 20;

// Parses a PRJ-6 request body. Fails, naming where the body is wrong (e.g.
// "[2].updates[0].action"), with:
//   - kLimitExceeded: a body over kMaxMemberUpdateBodyBytes, more than
//     kMaxProjectsPerRequest projects, or more than kMaxUpdatesPerProject
//     updates for one project;
//   - kInvalidArgument: not JSON, not an array of objects, no project, a
//     missing or mistyped field, a project id that is not a decimal id, an
//     unknown action or role.
// An address is not checked here: a bad one fails only its update when the
// job runs.
absl::StatusOr<std::vector<ProjectMemberUpdates>> ParseMemberUpdateRequest(
    std::string_view body);

// The request as the API page writes it (ParseMemberUpdateRequest reads it
// back to an equal value).
std::string MemberUpdateRequestToJson(
    const std::vector<ProjectMemberUpdates>& request);

// A job:
//   {"jobId":"7","status":"QUEUED"|"DONE"|"FAILED","region":"eu",
//    "createdAt":"...","finishedAt":"..."|null,
//    "request":[...as sent...],
//    "results":[{"projectId":"3","updates":[{"action":"ADD","email":"...",
//                "role":"USER","status":"OK"|"FAILED",
//                "reason":"...","message":"..."}]}],
//    "error":{"reason":"...","message":"..."}}   (FAILED only)
std::string MemberUpdateJobToJson(const MemberUpdateJob& job);

// The page responses below take the page and the request that asked for it
// (the one given to the account query): "page" is asked.number(), "size"
// asked.limit, "total" page.total (0 when unset).

// PRJ-3: {"page":1,"size":25,"total":2,"hasMore":false,
//         "items":[{"projectId":"3","name":"...","region":"eu",
//                   "entitlementId":"5","status":"ACTIVE",
//                   "createdAt":"..."}]}
std::string ProjectsPageToJson(const Page<ProjectRecord>& page,
                               const PageRequest& asked);

// PRJ-4: {"page":1,"size":1000,"total":2,"hasMore":false,
//         "items":[{"userId":"4","email":"...","name":"...",
//                   "projectsCount":3}]}
std::string ProjectUsersPageToJson(const Page<ProjectUser>& page,
                                   const PageRequest& asked);

// PRJ-5: {"userId":"4","email":"...","name":"...","activeProjectsCount":2,
//         "page":1,"size":25,"total":3,"hasMore":false,
//         "projects":[{...as in PRJ-3...,"role":"ADMIN","addedAt":"..."}]}
std::string UserProjectsToJson(const UserProjects& user,
                               const PageRequest& asked);

}  // namespace entitle

#endif  // ENTITLE_PROJECTS_JSON_H_
