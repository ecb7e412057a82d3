// The steps public operations are made of, for work that composes several in
// one transaction (the user-list import, user_lists.h). Each runs inside
// `op` after the caller has authorized the actor for it, checks its rules,
// writes and audits. On failure a step may have written part of its work:
// the caller rolls back to a savepoint or abandons the operation.
#ifndef ENTITLE_SRC_STEPS_H_
#define ENTITLE_SRC_STEPS_H_

#include <map>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "entitle/actor.h"
#include "entitle/email.h"
#include "entitle/ids.h"
#include "entitle/invitations.h"
#include "entitle/licenses.h"
#include "entitle/records.h"
#include "service/operation.h"

namespace entitle::internal {

// ORG-10, ORG-2: adds `identity` directly as an employee. kAlreadyMember,
// then ORG-10's refusals.
absl::Status AddEmployeeStep(Operation& op, const Actor& actor,
                             OrganizationId organization,
                             const IdentityRecord& identity);
// ORG-3: adds `identity` as an external member. kAlreadyMember.
absl::Status AddExternalStep(Operation& op, const Actor& actor,
                             OrganizationId organization,
                             const IdentityRecord& identity);
// ORG-4, ORG-7: grants `role` (of `organization`) to an employee. kNotMember,
// kNotEmployee, kDuplicate when it holds the role already.
absl::Status GrantRoleStep(Operation& op, const Actor& actor,
                           OrganizationId organization, IdentityId identity,
                           const RoleRecord& role);
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
// INV-1, INV-8: one address of an invitation batch to `organization`; a
// `group` is set exactly for kGroup and is the organization's. `batch` holds
// the addresses invited earlier in the same batch. An address refused by a
// rule gets its outcome in the result; only store failures fail the step.
absl::StatusOr<InviteResult> InviteStep(Operation& op, const Actor& actor,
                                        const OrganizationRecord& organization,
                                        absl::string_view address,
                                        InvitationKind kind,
                                        std::optional<GroupId> group,
                                        std::map<Email, InvitationId>& batch);

}  // namespace entitle::internal

#endif  // ENTITLE_SRC_STEPS_H_
