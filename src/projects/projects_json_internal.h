// How a batch job's request and results are kept in its JobRecord (JSON
// documents in `request` and `result`). Internal: the format is the store's,
// not the API's.
#ifndef ENTITLE_SRC_PROJECTS_PROJECTS_JSON_INTERNAL_H_
#define ENTITLE_SRC_PROJECTS_PROJECTS_JSON_INTERNAL_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "entitle/projects.h"

namespace entitle::internal {

struct StoredJobRequest {
  std::string region;
  std::vector<ProjectMemberUpdates> request;
  // Submitted by the operator (an unset JobRecord::created_by may also mean
  // the submitter's identity was deleted since).
  bool by_operator = false;
};

// The statuses of a run job: one per update, in request order, or the
// failure that stopped the whole job.
struct StoredJobResult {
  std::vector<absl::Status> statuses;
  absl::Status failure;
};

std::string WriteJobRequest(const StoredJobRequest& stored);
// Fails with kStoreCorrupt when `document` was not written by WriteJobRequest.
absl::StatusOr<StoredJobRequest> ReadJobRequest(std::string_view document);

std::string WriteJobResult(const StoredJobResult& stored);
// Fails with kStoreCorrupt when `document` was not written by WriteJobResult.
// An empty document is an empty result (a job not run yet).
absl::StatusOr<StoredJobResult> ReadJobResult(std::string_view document);

}  // namespace entitle::internal

#endif  // ENTITLE_SRC_PROJECTS_PROJECTS_JSON_INTERNAL_H_
