// The steps of Organizations that other services compose in one transaction
// (the user-list import; an organization made for an invited first
// administrator).
// Each step runs inside `op` after the caller has authorized the actor for
// it, checks its rules, writes and audits. On failure a step may have written
// part of its work: the caller rolls back to a savepoint or abandons the
// operation.
#ifndef ENTITLE_SRC_ORGANIZATIONS_ORGANIZATIONS_INTERNAL_H_
#define ENTITLE_SRC_ORGANIZATIONS_ORGANIZATIONS_INTERNAL_H_

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
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

// ORG-1: creates the organization `name` (1 to 200 characters, trimmed;
// kInvalidArgument otherwise) with its built-in Administrator and
// Co-Administrator roles, and no member. Operator only: the caller checks.
absl::StatusOr<OrganizationRecord> CreateOrganizationStep(
    Operation& op, const Actor& actor, std::string_view name);

// ORG-1, ORG-4: grants the organization's built-in Administrator role to the
// employee `identity`. kNotMember, kNotEmployee, kDuplicate when it holds the
// role already.
absl::Status GrantAdministratorStep(Operation& op, const Actor& actor,
                                    OrganizationId organization,
                                    IdentityId identity);

}  // namespace entitle::internal

#endif  // ENTITLE_SRC_ORGANIZATIONS_ORGANIZATIONS_INTERNAL_H_
