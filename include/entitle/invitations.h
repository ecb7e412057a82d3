// Invitations, request-to-join links and join requests (SPEC INV-1 to INV-12).
//
// People arrive in an organization three ways: an administrator invites their
// address (INV-1 to INV-8); they follow the organization's request-to-join link
// (INV-9); or they find the organization by their email domain and ask to
// join (INV-10). The last two create a join request an administrator approves
// or rejects (INV-11), unless the organization approves requests from its own
// verified domains automatically (INV-12).
//
// Invitation links follow INV-7: 256 random bits, sent once through the
// `Notifier`, stored only as a hash, compared in constant time, single-use. A
// link presented after its invitation was resent, revoked, used or has expired
// is refused with its own reason (kInvitationSuperseded, kInvitationRevoked,
// kInvitationAlreadyAccepted, kInvitationExpired; kInvitationRejected after a
// rejection); an unknown or altered link with kInvalidLink; a valid link
// presented by an identity that does not own the invited address with
// kWrongInvitee. Lists and events never carry a live link.
//
// Choices where the SPEC is silent:
//   - A batch holds at most kMaxInvitationBatch addresses; a larger one is
//     refused whole (kLimitExceeded). An address repeated in one batch gets
//     one invitation; its later mentions answer kAlreadyInvited with it.
//   - Inviting an employee whose email domain another organization owns is
//     refused for that address (kDomainOwnedElsewhere); external and group
//     invitations are not restricted by domain.
//   - A group invitation (INV-1 "to a group") makes the invitee an external
//     member unless it already is a member, and puts it in the group.
//   - Resending works for New and Expired invitations: the old invitation
//     becomes superseded and a new one with a new link is made, unless another
//     live invitation for the same address and kind exists (INV-8): that one
//     is returned and no second link goes out.
//   - Accepting when already a member of that kind (added directly meanwhile)
//     completes the invitation and succeeds.
//   - Only an identity created from an invitation waits for its mandatory
//     profile fields (ID-12); an existing identity's membership is active at
//     once, from an invitation or an approved join request alike.
//   - Whoever holds a link may reject it (no account is needed to say no);
//     only the owner of the invited, verified address may accept.
//   - Accepting as a new user (no identity has the address yet) creates the
//     identity, verified (the link proves the address), with the password
//     given; its membership waits in kPendingProfile until the mandatory
//     profile fields are complete (ID-12).
//   - An organization for an invited first administrator (ORG-1 with an
//     address instead of an identity, CreateOrganizationForInvitee): the
//     operator creates the organization, with no member, and a
//     kFirstAdministrator invitation to the address, sent through the
//     `Notifier` like any other ("invitation", field kind
//     "first-administrator"). INV-2 to INV-8 apply to it as to the others:
//     it lasts a week, is listed, resent and revoked with List, Resend and
//     Revoke (which, while the organization has no administrator, only the
//     operator may call), and only the owner of the invited, verified
//     address can accept it, with Accept, AcceptById or AcceptAsNewUser.
//     Accepting makes the invitee an employee of the organization (ORG-2:
//     its employee membership elsewhere ends, refused with
//     kLastAdministrator if it is the last unlocked administrator there)
//     holding the built-in Administrator role, in one transaction. An
//     invitee that is already an administrator there just completes it.
//   - If that invitation expires (or is rejected or revoked) the organization
//     stays as it is, without an administrator: nothing is deleted or
//     undone. The operator resends the invitation (INV-3; a new link valid
//     for a week), or invites another address with Invite and
//     kFirstAdministrator, or adds an existing identity and grants it the
//     Administrator role through Organizations.
//   - Only the operator may invite with kFirstAdministrator (Invite refuses
//     anyone else whole, kPermissionDenied); resending such an invitation
//     needs kManageAdministrators (the operator, or an administrator once
//     there is one), since its link would make an administrator (SEC-2).
//     For that kind, kAlreadyMember means the address's identity is already
//     an administrator of the organization; it is not restricted by domain.
//
// Thread-safe: every method may be called concurrently; each is atomic.
// Owned by a `Directory` (directory.h).
#ifndef ENTITLE_INVITATIONS_H_
#define ENTITLE_INVITATIONS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/email.h"
#include "entitle/identities.h"
#include "entitle/ids.h"
#include "entitle/records.h"
#include "entitle/store.h"

namespace entitle {
namespace internal {
struct ServiceContext;
}  // namespace internal

inline constexpr size_t kMaxInvitationBatch = 500;

// What happened to one address of a batch (INV-1).
enum class InviteOutcome {
  kInvited,               // A new invitation was sent.
  kAlreadyInvited,        // INV-8: a New invitation exists; it is returned.
  kAlreadyMember,         // INV-8: already a member of that kind.
  kInvalidEmail,          // ID-2
  kDomainOwnedElsewhere,  // Employee invitations only.
};

struct InviteResult {
  std::string address;  // As given.
  InviteOutcome outcome = InviteOutcome::kInvited;
  std::optional<InvitationId> invitation;  // For kInvited, kAlreadyInvited.
  std::string message;  // For the admin, e.g. why an address was refused.
};

// The status an admin sees (INV-4).
enum class InvitationState { kNew, kRejected, kExpired };

struct InvitationInfo {
  InvitationId id;
  OrganizationId organization;
  std::string organization_name;
  Email email;
  InvitationKind kind = InvitationKind::kEmployee;
  std::optional<GroupId> group;
  InvitationState state = InvitationState::kNew;
  absl::Time created_at;
  absl::Time expires_at;
};

// A request-to-join link (INV-9), its token shown only here.
struct RequestLink {
  RequestLinkId id;
  std::string token;
};

struct JoinRequestInfo {
  JoinRequestId id;
  OrganizationId organization;
  IdentityId identity;
  Email email;
  std::string display_name;
  JoinRequestSource source = JoinRequestSource::kLink;
  JoinRequestStatus status = JoinRequestStatus::kPending;
  absl::Time created_at;
};

// An organization created for an invited first administrator
// (CreateOrganizationForInvitee).
struct OrganizationForInvitee {
  OrganizationId organization;
  InvitationId invitation;
};

// What happened to one request of a bulk decision (INV-11).
struct DecisionResult {
  JoinRequestId request;
  absl::Status status;  // OK, or why this one was not decided.
};

class Invitations {
 public:
  Invitations(const Invitations&) = delete;
  Invitations& operator=(const Invitations&) = delete;

  // INV-1, INV-8: invites each address as `kind` (for kGroup, into `group`).
  // Needs kManageUsers. The call fails as a whole only for a bad request (no
  // addresses, more than kMaxInvitationBatch, a group that is not the
  // organization's, a missing or needless group) or a permission problem; each
  // address otherwise gets its own result.
  absl::StatusOr<std::vector<InviteResult>> Invite(
      const Actor& actor, OrganizationId organization,
      const std::vector<std::string>& addresses, InvitationKind kind,
      std::optional<GroupId> group = std::nullopt);

  // INV-3: sends a new link valid for a week; the old link stays dead. For a
  // New or Expired invitation; kInvitationAlreadyAccepted etc. otherwise.
  // Returns the id of the invitation now live for the address.
  absl::StatusOr<InvitationId> Resend(const Actor& actor,
                                      OrganizationId organization,
                                      InvitationId invitation);

  // INV-4: revokes a New invitation; its link dies.
  absl::Status Revoke(const Actor& actor, OrganizationId organization,
                      InvitationId invitation);

  // INV-4: the organization's New, Rejected and Expired invitations, oldest
  // first. Needs kManageUsers.
  absl::StatusOr<std::vector<InvitationInfo>> List(const Actor& actor,
                                                   OrganizationId organization);

  // INV-5: the signed-in owner of the invited, verified address accepts.
  // Employee invitations apply ORG-2. Fails with kWrongInvitee, kNotVerified,
  // the link reasons above, kLastAdministrator (moving the last administrator
  // of another organization), kEmployeeElsewhere never (accepting moves).
  absl::StatusOr<OrganizationId> Accept(const Actor& actor,
                                        std::string_view token);
  // INV-6: accepts one of the actor's own pending invitations without the
  // link (the verified address proves it is the invitee).
  absl::StatusOr<OrganizationId> AcceptById(const Actor& actor,
                                            InvitationId invitation);
  // INV-1, INV-5, ID-12: accepts for an address no identity has yet, creating
  // it (verified) with `password` (ID-4) and `profile`. kEmailTaken when an
  // identity has the address (sign in and use Accept).
  absl::StatusOr<IdentityId> AcceptAsNewUser(std::string_view token,
                                             std::string_view password,
                                             const Profile& profile);
  // INV-5: the invitee says no.
  absl::Status Reject(std::string_view token);

  // INV-6: the actor's own New invitations (to its verified address).
  absl::StatusOr<std::vector<InvitationInfo>> ListMine(const Actor& actor);

  // ORG-1, INV-1: the operator creates the organization `name` (no member
  // yet, its built-in roles made) and invites `email` to be its first
  // administrator (a kFirstAdministrator invitation, sent through the
  // notifier), in one transaction; see the choices above for accepting,
  // expiry, resending and revoking. Fails with kPermissionDenied for any
  // actor but the operator, kInvalidEmail (ID-2), kInvalidArgument for a bad
  // name; nothing is written then.
  absl::StatusOr<OrganizationForInvitee> CreateOrganizationForInvitee(
      const Actor& actor, std::string_view name, std::string_view email);

  // INV-9: makes (or replaces: rotate) the organization's request-to-join
  // link; the previous link dies. Needs kManageUsers.
  absl::StatusOr<RequestLink> CreateRequestLink(const Actor& actor,
                                                OrganizationId organization);
  // INV-9: disables the link; following it then fails with kInvalidLink.
  absl::Status DisableRequestLink(const Actor& actor,
                                  OrganizationId organization);
  // INV-9, INV-12: the actor follows a request link: a join request is made
  // (or, with auto-approval, the actor becomes an employee at once). Returns
  // the request. kAlreadyMember for an employee of that organization;
  // kDuplicate when a pending request exists.
  absl::StatusOr<JoinRequestInfo> FollowRequestLink(const Actor& actor,
                                                    std::string_view token);
  // INV-10, INV-12: the actor asks to join an organization it discovered
  // (ORG-11); kNotFound when the organization is not discoverable to it.
  absl::StatusOr<JoinRequestInfo> RequestToJoin(const Actor& actor,
                                                OrganizationId organization);

  // INV-11: pending requests, oldest first. Needs kManageUsers.
  absl::StatusOr<std::vector<JoinRequestInfo>> ListJoinRequests(
      const Actor& actor, OrganizationId organization);
  // INV-11: approves (the requester becomes an employee, ORG-2) or rejects
  // each request, each in its own transaction, with a result per request.
  absl::StatusOr<std::vector<DecisionResult>> Decide(
      const Actor& actor, OrganizationId organization,
      const std::vector<JoinRequestId>& requests, bool approve);

 private:
  // Made only by a Directory, which owns the context its services share.
  friend class Directory;
  explicit Invitations(internal::ServiceContext& context) : context_(context) {}

  internal::ServiceContext& context_;
};

}  // namespace entitle

#endif  // ENTITLE_INVITATIONS_H_
