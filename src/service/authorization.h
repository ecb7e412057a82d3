// Who may do what (SPEC ORG-4, ORG-7): shared by every service.
#ifndef ENTITLE_SRC_SERVICE_AUTHORIZATION_H_
#define ENTITLE_SRC_SERVICE_AUTHORIZATION_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "entitle/actor.h"
#include "entitle/records.h"
#include "entitle/store.h"
#include "service/operation.h"
#include "service/service_context.h"

namespace entitle::internal {

absl::Status PermissionDenied(std::string_view what);

// The OR of the permissions of every role `identity` holds in `organization`;
// 0 when it holds none or is not a member.
absl::StatusOr<uint32_t> PermissionsIn(Transaction& tx,
                                       OrganizationId organization,
                                       IdentityId identity);

// OK when `actor` may use `permission` in `organization`: the operator always
// may; an identity may when it exists, is not locked, is an active member and
// one of its roles there grants it. PermissionDenied / kPermissionDenied
// otherwise.
absl::Status RequirePermission(Transaction& tx, const Actor& actor,
                               OrganizationId organization,
                               uint32_t permission);

// The organization, when `actor` may use `permission` in it: NotFound /
// kNotFound ("There is no organization #N.") for an unknown one, otherwise
// as RequirePermission.
absl::StatusOr<OrganizationRecord> AuthorizeIn(Transaction& tx,
                                               const Actor& actor,
                                               OrganizationId organization,
                                               uint32_t permission);

// An operation in one organization, begun for an actor allowed to use a
// permission there: how a public operation on an organization opens.
struct OperationIn {
  Operation op;
  OrganizationRecord organization;
};

// Begins a write operation and authorizes `actor` for `permission` in
// `organization` (AuthorizeIn). Fails with the store's error, or with
// AuthorizeIn's refusal; nothing is written either way.
absl::StatusOr<OperationIn> BeginIn(ServiceContext& context, const Actor& actor,
                                    OrganizationId organization,
                                    uint32_t permission);

// True for a failure of the store itself (or a status without a reason), as
// opposed to a rule's refusal: it ends an operation made of several parts
// (a batch job, an import) instead of failing one part.
bool IsStoreFailure(const absl::Status& status);

// The organization `identity` is an employee of, if any.
absl::StatusOr<std::optional<OrganizationId>> EmployerOf(Transaction& tx,
                                                         IdentityId identity);

// OK when `actor` may act on `target` as its own account holder (itself, not
// locked) or as the operator; or, when `admin_permission` is non-zero, as an
// administrator holding it in `target`'s employee organization.
absl::Status RequireSelfOrAdmin(Transaction& tx, const Actor& actor,
                                IdentityId target, uint32_t admin_permission);

// The administrators of `organization`: members holding a role with
// kManageAdministrators (ORG-4), locked or not. SEC-2 protects all of them.
absl::StatusOr<std::set<IdentityId>> Administrators(
    Transaction& tx, OrganizationId organization);

// The administrators of `organization` that are not locked: the ones that
// count for ORG-4 (SEC-2: a locked administrator cannot administer, so it is
// no remaining administrator).
absl::StatusOr<std::set<IdentityId>> UnlockedAdministrators(
    Transaction& tx, OrganizationId organization);

// True when `identity` is an administrator of `organization` and no other
// unlocked administrator is: taking its rights away (or locking it) would
// leave the organization no administrator able to administer (ORG-4, SEC-2).
// An organization whose administrators are all locked keeps every one of
// them.
absl::StatusOr<bool> IsLastAdministrator(Transaction& tx,
                                         OrganizationId organization,
                                         IdentityId identity);

// The organizations where `identity` is an administrator.
absl::StatusOr<std::set<OrganizationId>> AdministeredBy(Transaction& tx,
                                                        IdentityId identity);

// SEC-2: OK when `actor` may change `target` as far as its administrator
// rights go: always when `target` is no administrator of `organization`, and
// for the operator and `target` itself; otherwise `actor` needs
// kManageAdministrators in `organization`. PermissionDenied /
// kPermissionDenied ("change an administrator") when it lacks it.
absl::Status RequireAdministratorsPermissionIn(Transaction& tx,
                                               const Actor& actor,
                                               OrganizationId organization,
                                               IdentityId target);

// SEC-2: RequireAdministratorsPermissionIn for every organization where
// `target` is an administrator (identity-wide changes: lock, unlock, delete,
// a password-reset link).
absl::Status RequireAdministratorsPermission(Transaction& tx,
                                             const Actor& actor,
                                             IdentityId target);

}  // namespace entitle::internal

#endif  // ENTITLE_SRC_SERVICE_AUTHORIZATION_H_
