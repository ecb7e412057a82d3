// The steps of Licenses that other services compose in one transaction (the
// user-list import).
// Each step runs inside `op` after the caller has authorized the actor for
// it, checks its rules, writes and audits. On failure a step may have written
// part of its work: the caller rolls back to a savepoint or abandons the
// operation.
#ifndef ENTITLE_SRC_LICENSES_LICENSES_INTERNAL_H_
#define ENTITLE_SRC_LICENSES_LICENSES_INTERNAL_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "entitle/actor.h"
#include "entitle/licenses.h"
#include "entitle/records.h"
#include "service/operation.h"

namespace entitle::internal {

// ENT-2: assigns a named entitlement. The refusals of Licenses::Assign.
// `assigned` is the entitlement's number of assignments in this transaction
// when the caller keeps count (counting them is a scan of every assignment
// of the entitlement); on success the step adds one to it.
absl::Status AssignLicenseStep(Operation& op, const Actor& actor,
                               const EntitlementRecord& entitlement,
                               IdentityId identity,
                               int64_t* assigned = nullptr);
// ENT-3: gives pool access. The refusals of Licenses::GrantPoolAccess.
absl::StatusOr<PoolGrantRecord> GrantPoolAccessStep(
    Operation& op, const Actor& actor, const EntitlementRecord& entitlement,
    const PoolMember& member);

}  // namespace entitle::internal

#endif  // ENTITLE_SRC_LICENSES_LICENSES_INTERNAL_H_
