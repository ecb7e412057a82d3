// The steps of Organizations that other services compose in one transaction
// (the user-list import).
// Each step runs inside `op` after the caller has authorized the actor for
// it, checks its rules, writes and audits. On failure a step may have written
// part of its work: the caller rolls back to a savepoint or abandons the
// operation.
#ifndef ENTITLE_SRC_ORGANIZATIONS_ORGANIZATIONS_INTERNAL_H_
#define ENTITLE_SRC_ORGANIZATIONS_ORGANIZATIONS_INTERNAL_H_

#include "absl/status/status.h"
#include "entitle/actor.h"
#include "entitle/ids.h"
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

}  // namespace entitle::internal

#endif  // ENTITLE_SRC_ORGANIZATIONS_ORGANIZATIONS_INTERNAL_H_
