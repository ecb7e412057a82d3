// Fuzzes ParseMemberUpdateRequest (projects_json.h), the PRJ-6 request body.
//
// Never crashes; a refusal is kInvalidArgument or kLimitExceeded; an accepted
// request respects the documented limits (a body of at most
// kMaxMemberUpdateBodyBytes, 1..kMaxProjectsPerRequest projects with valid
// ids, at most kMaxUpdatesPerProject updates each, known actions and roles),
// and MemberUpdateRequestToJson writes it so that it parses back to an equal
// request. Any violation aborts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "entitle/projects.h"
#include "entitle/projects_json.h"
#include "entitle/status.h"

namespace {

using namespace entitle;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "projects_json_fuzz: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<std::vector<ProjectMemberUpdates>> request =
      ParseMemberUpdateRequest(body);
  if (!request.ok()) {
    const Reason r = GetReason(request.status());
    Check(r == Reason::kInvalidArgument || r == Reason::kLimitExceeded,
          "a refusal is neither kInvalidArgument nor kLimitExceeded");
    return 0;
  }
  Check(body.size() <= kMaxMemberUpdateBodyBytes, "accepted an oversized body");
  Check(!request->empty(), "accepted a request without projects");
  Check(request->size() <= static_cast<size_t>(kMaxProjectsPerRequest),
        "accepted more than kMaxProjectsPerRequest projects");
  for (const ProjectMemberUpdates& project : *request) {
    Check(project.project_id.valid(), "accepted an invalid project id");
    Check(project.updates.size() <= static_cast<size_t>(kMaxUpdatesPerProject),
          "accepted more than kMaxUpdatesPerProject updates");
    for (const MemberUpdate& u : project.updates) {
      Check(u.action == MemberUpdateAction::kAdd ||
                u.action == MemberUpdateAction::kRemove ||
                u.action == MemberUpdateAction::kUpdate,
            "an action out of range");
      Check(u.role == ProjectRole::kUser || u.role == ProjectRole::kAdmin,
            "a role out of range");
    }
  }
  const std::string json = MemberUpdateRequestToJson(*request);
  const absl::StatusOr<std::vector<ProjectMemberUpdates>> again =
      ParseMemberUpdateRequest(json);
  Check(again.ok(), "MemberUpdateRequestToJson wrote a body that is refused");
  Check(*again == *request,
        "MemberUpdateRequestToJson does not read back to an equal request");
  return 0;
}
