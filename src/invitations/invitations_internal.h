// The steps of Invitations that other services compose in one transaction
// (the user-list import).
// Each step runs inside `op` after the caller has authorized the actor for
// it, checks its rules, writes and audits. On failure a step may have written
// part of its work: the caller rolls back to a savepoint or abandons the
// operation.
#ifndef ENTITLE_SRC_INVITATIONS_INVITATIONS_INTERNAL_H_
#define ENTITLE_SRC_INVITATIONS_INVITATIONS_INTERNAL_H_

#include <map>
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "entitle/actor.h"
#include "entitle/email.h"
#include "entitle/ids.h"
#include "entitle/invitations.h"
#include "entitle/records.h"
#include "service/operation.h"

namespace entitle::internal {

// INV-1, INV-8: one address of an invitation batch to `organization`; a
// `group` is set exactly for kGroup and is the organization's. `batch` holds
// the addresses invited earlier in the same batch. An address refused by a
// rule gets its outcome in the result; only store failures fail the step.
absl::StatusOr<InviteResult> InviteStep(Operation& op, const Actor& actor,
                                        const OrganizationRecord& organization,
                                        std::string_view address,
                                        InvitationKind kind,
                                        std::optional<GroupId> group,
                                        std::map<Email, InvitationId>& batch);

}  // namespace entitle::internal

#endif  // ENTITLE_SRC_INVITATIONS_INVITATIONS_INTERNAL_H_
