// Membership changes shared by the services: the one place ORG-2's move,
// ORG-5's removal and ORG-10's checks are written.
#ifndef ENTITLE_SRC_ORGANIZATIONS_MEMBERSHIPS_H_
#define ENTITLE_SRC_ORGANIZATIONS_MEMBERSHIPS_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "entitle/actor.h"
#include "entitle/records.h"
#include "entitle/store.h"
#include "service/operation.h"

namespace entitle::internal {

absl::StatusOr<std::optional<MembershipRecord>> FindMembership(
    Transaction& tx, OrganizationId organization, IdentityId identity);

// kLastAdministrator when `identity` is an administrator of `organization`
// and no other unlocked one is (ORG-4; SEC-2: locked administrators do not
// count).
absl::Status RefuseLastAdministrator(Transaction& tx,
                                     OrganizationId organization,
                                     IdentityId identity);

// SEC-2: kLastAdministrator when `identity` is the last unlocked
// administrator of any organization, so locking it would leave that
// organization without one. Whoever asks, the operator included.
absl::Status RefuseLockingLastAdministrator(Transaction& tx,
                                            IdentityId identity);

// Removes every role `identity` holds in `organization`.
absl::Status RevokeRoles(Transaction& tx, OrganizationId organization,
                         IdentityId identity);

// ORG-5: ends the membership with everything it gave in that organization:
// roles, group places, named licenses and pool grants of its entitlements,
// project places. Refuses the last administrator. When the membership was an
// employee one, publishes EmployeeOrganizationChanged to `next_employer`
// (unset: to none) unless `publish` is false.
absl::Status EndMembership(Operation& op, const Actor& actor,
                           OrganizationId organization, IdentityId identity,
                           std::optional<OrganizationId> next_employer,
                           bool publish = true);

// ORG-2: makes `identity` an employee of `organization` (upgrading an external
// membership, or adding one with `status`), ending its employee membership
// elsewhere in the same transaction, and publishes the change.
absl::Status BecomeEmployee(Operation& op, const Actor& actor,
                            OrganizationId organization, IdentityId identity,
                            MembershipStatus status);

// ORG-10: whether `identity` may be added directly as an employee of
// `organization`; the first refusal that applies.
absl::Status CheckDirectEmployeeAdd(Transaction& tx,
                                    OrganizationId organization,
                                    const IdentityRecord& identity);

}  // namespace entitle::internal

#endif  // ENTITLE_SRC_ORGANIZATIONS_MEMBERSHIPS_H_
