#include "entitle/invitations.h"

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/links.h"
#include "base/status_macros.h"
#include "base/string_view.h"
#include "entitle/password_policy.h"
#include "entitle/status.h"
#include "identities/profile.h"
#include "invitations/invitations_internal.h"
#include "organizations/memberships.h"
#include "organizations/organizations_internal.h"
#include "service/authorization.h"
#include "service/operation.h"
#include "service/service_context.h"

namespace entitle {
namespace {

using internal::AuditTarget;
using internal::FindFirst;
using internal::ListAll;
using internal::Operation;
using internal::Reading;
using internal::ServiceContext;

absl::Status Refuse(absl::StatusCode code, Reason reason,
                    std::string_view message) {
  return MakeError(code, reason, message);
}

bool Expired(const InvitationRecord& invitation, absl::Time now) {
  return now >= invitation.expires_at;
}

// OK for a New invitation whose link still works; otherwise why not.
absl::Status CheckUsable(const InvitationRecord& invitation, absl::Time now) {
  switch (invitation.status) {
    case InvitationStatus::kAccepted:
      return Refuse(absl::StatusCode::kFailedPrecondition,
                    Reason::kInvitationAlreadyAccepted,
                    "This invitation was already accepted.");
    case InvitationStatus::kRevoked:
      return Refuse(absl::StatusCode::kFailedPrecondition,
                    Reason::kInvitationRevoked,
                    "This invitation was withdrawn by the organization.");
    case InvitationStatus::kSuperseded:
      return Refuse(absl::StatusCode::kFailedPrecondition,
                    Reason::kInvitationSuperseded,
                    "This invitation was sent again with a new link. Use the "
                    "link in the most recent email.");
    case InvitationStatus::kRejected:
      return Refuse(absl::StatusCode::kFailedPrecondition,
                    Reason::kInvitationRejected,
                    "This invitation was rejected.");
    case InvitationStatus::kNew:
      break;
  }
  if (Expired(invitation, now)) {
    return Refuse(absl::StatusCode::kFailedPrecondition,
                  Reason::kInvitationExpired,
                  "This invitation has expired. Ask the organization to send "
                  "it again.");
  }
  return absl::OkStatus();
}

absl::Status InvalidLink() {
  return Refuse(absl::StatusCode::kNotFound, Reason::kInvalidLink,
                "This link is not valid. Check that it was copied completely.");
}

// The invitation whose link is `token`.
absl::StatusOr<InvitationRecord> FindByToken(Transaction& tx,
                                             std::string_view token) {
  const std::string hash = internal::HashLinkToken(token);
  if (hash.empty()) return InvalidLink();
  ENTITLE_ASSIGN_OR_RETURN(
      std::optional<InvitationRecord> found,
      FindFirst(tx.invitations(), InvitationFilter{.token_hash = hash}));
  if (!found.has_value() || !internal::SameLinkHash(found->token_hash, hash)) {
    return InvalidLink();
  }
  return *std::move(found);
}

absl::StatusOr<InvitationRecord> LoadInvitation(Transaction& tx,
                                                OrganizationId organization,
                                                InvitationId id) {
  return internal::LoadOwned(tx.invitations(), organization, id, "invitation");
}

absl::StatusOr<OrganizationRecord> AuthorizeAdmin(Transaction& tx,
                                                  const Actor& actor,
                                                  OrganizationId organization) {
  return internal::AuthorizeIn(tx, actor, organization, kManageUsers);
}

// The signed-in, unlocked, verified identity behind `actor`.
absl::StatusOr<IdentityRecord> SignedIn(Transaction& tx, const Actor& actor,
                                        std::string_view what) {
  if (!actor.is_identity()) {
    return internal::PermissionDenied(
        absl::StrCat(AbslView(what), " without signing in"));
  }
  ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity,
                           tx.identities().Get(actor.identity()));
  if (identity.locked) {
    return Refuse(absl::StatusCode::kFailedPrecondition,
                  Reason::kIdentityLocked, "This identity is locked.");
  }
  if (!identity.verified) {
    return Refuse(absl::StatusCode::kFailedPrecondition, Reason::kNotVerified,
                  "Verify your email address first.");
  }
  return identity;
}

// How a notification names an invitation's kind.
const char* KindName(InvitationKind kind) {
  switch (kind) {
    case InvitationKind::kEmployee:
      return "employee";
    case InvitationKind::kExternal:
      return "external";
    case InvitationKind::kGroup:
      return "group";
    case InvitationKind::kFirstAdministrator:
      return "first-administrator";
  }
  return "";
}

// Sends a new invitation link for `invitation` (inserted here).
absl::StatusOr<InvitationId> IssueInvitation(
    Operation& op, const OrganizationRecord& organization,
    InvitationRecord invitation) {
  const internal::LinkSecret secret =
      internal::MakeLinkSecret(op.context().random);
  invitation.token_hash = secret.hash;
  invitation.status = InvitationStatus::kNew;
  invitation.created_at = op.now();
  invitation.expires_at =
      op.now() + op.context().organization_policy.invitation_lifetime;
  invitation.decided_at.reset();
  ENTITLE_ASSIGN_OR_RETURN(InvitationId id,
                           op.tx().invitations().Insert(invitation));
  Notification notification;
  notification.to = invitation.email;
  notification.template_name = "invitation";
  notification.subject =
      absl::StrCat("You are invited to join ", organization.name);
  notification.token = secret.token;
  notification.link_expires_at = invitation.expires_at;
  notification.fields.emplace_back("organization", organization.name);
  notification.fields.emplace_back("kind", KindName(invitation.kind));
  absl::StatusOr<std::optional<IdentityRecord>> invitee = FindFirst(
      op.tx().identities(), IdentityFilter{.email = invitation.email});
  if (invitee.ok() && invitee->has_value()) {
    notification.language = internal::EffectiveLanguage(
        op.context().identity_policy, (*invitee)->language);
  }
  op.Notify(std::move(notification));
  return id;
}

// INV-5: applies an accepted invitation for `identity`, atomically with the
// re-check of the invitation's state and the membership.
absl::Status ApplyAcceptance(Operation& op, const Actor& actor,
                             InvitationRecord invitation,
                             const IdentityRecord& identity,
                             MembershipStatus status) {
  Transaction& tx = op.tx();
  ENTITLE_RETURN_IF_ERROR(CheckUsable(invitation, op.now()));
  if (identity.email != invitation.email) {
    return Refuse(absl::StatusCode::kPermissionDenied, Reason::kWrongInvitee,
                  "This invitation is for another email address.");
  }
  const OrganizationId organization = invitation.organization_id;
  ENTITLE_ASSIGN_OR_RETURN(
      std::optional<MembershipRecord> membership,
      internal::FindMembership(tx, organization, identity.id));
  // Already a member of that kind (added directly meanwhile, say): the
  // invitation has done its work and is completed, not left hanging.
  switch (invitation.kind) {
    case InvitationKind::kEmployee:
      if (absl::Status s = internal::BecomeEmployee(op, actor, organization,
                                                    identity.id, status);
          !s.ok() && GetReason(s) != Reason::kAlreadyMember) {
        return s;
      }
      break;
    case InvitationKind::kFirstAdministrator: {
      // ORG-1: the invitee becomes an employee (ORG-2 applies) holding the
      // built-in Administrator role, in this one transaction.
      if (absl::Status s = internal::BecomeEmployee(op, actor, organization,
                                                    identity.id, status);
          !s.ok() && GetReason(s) != Reason::kAlreadyMember) {
        return s;
      }
      if (absl::Status s = internal::GrantAdministratorStep(
              op, actor, organization, identity.id);
          !s.ok() && GetReason(s) != Reason::kDuplicate) {
        return s;
      }
      break;
    }
    case InvitationKind::kExternal:
    case InvitationKind::kGroup: {
      if (!membership.has_value()) {
        MembershipRecord added;
        added.organization_id = organization;
        added.identity_id = identity.id;
        added.kind = MembershipKind::kExternal;
        added.status = status;
        added.created_at = op.now();
        ENTITLE_RETURN_IF_ERROR(tx.memberships().Insert(added));
        op.Audit(actor, organization, "membership.add",
                 AuditTarget(identity.id), "external");
      }
      if (invitation.kind == InvitationKind::kGroup) {
        if (!invitation.group_id.has_value()) {
          return Refuse(absl::StatusCode::kInternal, Reason::kStoreCorrupt,
                        "the group invitation names no group");
        }
        absl::StatusOr<GroupMemberKey> key = tx.group_members().Insert(
            GroupMemberRecord{*invitation.group_id, identity.id, op.now()});
        if (key.ok()) {
          op.Audit(actor, organization, "group.add", AuditTarget(identity.id),
                   AuditTarget(*invitation.group_id));
        } else if (GetReason(key.status()) != Reason::kDuplicate) {
          return key.status();
        }
      }
      break;
    }
  }
  invitation.status = InvitationStatus::kAccepted;
  invitation.decided_at = op.now();
  ENTITLE_RETURN_IF_ERROR(tx.invitations().Update(invitation));
  op.Audit(actor, organization, "invitation.accept", AuditTarget(invitation.id),
           invitation.email.str());
  return absl::OkStatus();
}

JoinRequestInfo ToInfo(const JoinRequestRecord& r, const IdentityRecord& who) {
  return JoinRequestInfo{r.id,      r.organization_id, r.identity_id,
                         who.email, who.display_name,  r.source,
                         r.status,  r.created_at};
}

// True when `organization` owns `identity`'s verified email domain.
absl::StatusOr<bool> OwnsDomainOf(Transaction& tx, OrganizationId organization,
                                  const IdentityRecord& identity) {
  ENTITLE_ASSIGN_OR_RETURN(
      std::optional<DomainRecord> owner,
      FindFirst(tx.domains(),
                DomainFilter{.organization_id = organization,
                             .name = std::string(identity.email.domain()),
                             .status = DomainStatus::kVerified}));
  return owner.has_value();
}

// Approves `request`: the requester becomes an employee (ORG-2).
absl::Status Approve(Operation& op, const Actor& actor,
                     JoinRequestRecord& request) {
  ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity,
                           op.tx().identities().Get(request.identity_id));
  absl::Status status =
      internal::BecomeEmployee(op, actor, request.organization_id,
                               request.identity_id, MembershipStatus::kActive);
  // Already an employee here (added meanwhile): the request is simply done.
  if (!status.ok() && GetReason(status) != Reason::kAlreadyMember) {
    return status;
  }
  request.status = JoinRequestStatus::kApproved;
  request.decided_at = op.now();
  request.decided_by = actor.audit_id();
  ENTITLE_RETURN_IF_ERROR(op.tx().join_requests().Update(request));
  op.Audit(actor, request.organization_id, "join-request.approve",
           AuditTarget(request.id), identity.email.str());
  Notification notification;
  notification.to = identity.email;
  notification.template_name = "join-request-approved";
  notification.subject = "Your request to join was approved";
  notification.language = internal::EffectiveLanguage(
      op.context().identity_policy, identity.language);
  op.Notify(std::move(notification));
  return absl::OkStatus();
}

// INV-9, INV-10, INV-12: files a join request, approving it at once when the
// organization auto-approves its own verified domain.
absl::StatusOr<JoinRequestInfo> FileJoinRequest(
    Operation& op, const IdentityRecord& identity,
    const OrganizationRecord& organization, JoinRequestSource source) {
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(
      std::optional<MembershipRecord> membership,
      internal::FindMembership(tx, organization.id, identity.id));
  if (membership.has_value() && membership->kind == MembershipKind::kEmployee) {
    return Refuse(absl::StatusCode::kAlreadyExists, Reason::kAlreadyMember,
                  "You are already an employee of this organization.");
  }
  ENTITLE_ASSIGN_OR_RETURN(
      std::optional<JoinRequestRecord> pending,
      FindFirst(tx.join_requests(),
                JoinRequestFilter{.organization_id = organization.id,
                                  .identity_id = identity.id,
                                  .status = JoinRequestStatus::kPending}));
  if (pending.has_value()) {
    return Refuse(absl::StatusCode::kAlreadyExists, Reason::kDuplicate,
                  "You have already asked to join this organization.");
  }
  JoinRequestRecord request;
  request.organization_id = organization.id;
  request.identity_id = identity.id;
  request.source = source;
  request.status = JoinRequestStatus::kPending;
  request.created_at = op.now();
  ENTITLE_ASSIGN_OR_RETURN(JoinRequestId id,
                           tx.join_requests().Insert(request));
  request.id = id;
  const Actor requester = Actor::Identity(identity.id);
  op.Audit(requester, organization.id, "join-request.create", AuditTarget(id),
           source == JoinRequestSource::kLink ? "through the request link"
                                              : "found by discovery");
  if (organization.auto_approve_domain_joins) {
    ENTITLE_ASSIGN_OR_RETURN(bool own_domain,
                             OwnsDomainOf(tx, organization.id, identity));
    if (own_domain) {
      // INV-12: approved by the organization's rule, not by a person.
      ENTITLE_RETURN_IF_ERROR(Approve(op, Actor::Anonymous(), request));
    }
  }
  return ToInfo(request, identity);
}

}  // namespace

absl::StatusOr<std::vector<InviteResult>> Invitations::Invite(
    const Actor& actor, OrganizationId organization,
    const std::vector<std::string>& addresses, InvitationKind kind,
    std::optional<GroupId> group) {
  ENTITLE_ASSIGN_OR_RETURN(
      internal::OperationIn begun,
      internal::BeginIn(context_, actor, organization, kManageUsers));
  Operation& op = begun.op;
  Transaction& tx = op.tx();
  if (kind == InvitationKind::kFirstAdministrator && !actor.is_operator()) {
    return internal::PermissionDenied(
        "invite an administrator (only the operator may)");
  }
  if (addresses.empty()) {
    return Refuse(absl::StatusCode::kInvalidArgument, Reason::kInvalidArgument,
                  "Give at least one email address.");
  }
  if (addresses.size() > kMaxInvitationBatch) {
    return Refuse(absl::StatusCode::kInvalidArgument, Reason::kLimitExceeded,
                  absl::StrCat("At most ", kMaxInvitationBatch,
                               " addresses can be invited at once; got ",
                               addresses.size(), "."));
  }
  if ((kind == InvitationKind::kGroup) != group.has_value()) {
    return Refuse(absl::StatusCode::kInvalidArgument, Reason::kInvalidArgument,
                  "A group invitation needs a group, and only it.");
  }
  if (group.has_value()) {
    ENTITLE_RETURN_IF_ERROR(
        internal::LoadOwned(tx.groups(), organization, *group, "group"));
  }

  std::vector<InviteResult> results;
  std::map<Email, InvitationId> invited;  // In this batch.
  for (const std::string& address : addresses) {
    ENTITLE_ASSIGN_OR_RETURN(
        InviteResult result,
        internal::InviteStep(op, actor, begun.organization, address, kind,
                             group, invited));
    results.push_back(std::move(result));
  }
  ENTITLE_RETURN_IF_ERROR(op.Commit());
  return results;
}

absl::StatusOr<InvitationId> Invitations::Resend(const Actor& actor,
                                                 OrganizationId organization,
                                                 InvitationId invitation) {
  ENTITLE_ASSIGN_OR_RETURN(
      internal::OperationIn begun,
      internal::BeginIn(context_, actor, organization, kManageUsers));
  Operation& op = begun.op;
  ENTITLE_ASSIGN_OR_RETURN(InvitationRecord old,
                           LoadInvitation(op.tx(), organization, invitation));
  // SEC-2: a new link that would make an administrator needs the
  // administrators permission.
  if (old.kind == InvitationKind::kFirstAdministrator) {
    ENTITLE_RETURN_IF_ERROR(internal::RequirePermission(
        op.tx(), actor, organization, kManageAdministrators));
  }
  if (old.status != InvitationStatus::kNew) {
    return CheckUsable(old, op.now());
  }
  old.status = InvitationStatus::kSuperseded;
  old.decided_at = op.now();
  ENTITLE_RETURN_IF_ERROR(op.tx().invitations().Update(old));
  // INV-8: a live invitation for the same address and kind (sent since this
  // one expired) is the one to keep; no second link goes out.
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<InvitationRecord> open,
      ListAll(op.tx().invitations(),
              InvitationFilter{.organization_id = organization,
                               .email = old.email,
                               .kind = old.kind,
                               .status = InvitationStatus::kNew}));
  for (const InvitationRecord& live : open) {
    if (live.group_id == old.group_id && !Expired(live, op.now())) {
      op.Audit(
          actor, organization, "invitation.resend", AuditTarget(live.id),
          absl::StrCat(AuditTarget(invitation), " folded into the live one"));
      ENTITLE_RETURN_IF_ERROR(op.Commit());
      return live.id;
    }
  }
  InvitationRecord renewed = old;
  renewed.invited_by = actor.audit_id();
  ENTITLE_ASSIGN_OR_RETURN(InvitationId id,
                           IssueInvitation(op, begun.organization, renewed));
  op.Audit(actor, organization, "invitation.resend", AuditTarget(id),
           absl::StrCat("replaces ", AuditTarget(invitation)));
  ENTITLE_RETURN_IF_ERROR(op.Commit());
  return id;
}

absl::Status Invitations::Revoke(const Actor& actor,
                                 OrganizationId organization,
                                 InvitationId invitation) {
  ENTITLE_ASSIGN_OR_RETURN(
      internal::OperationIn begun,
      internal::BeginIn(context_, actor, organization, kManageUsers));
  Operation& op = begun.op;
  ENTITLE_ASSIGN_OR_RETURN(InvitationRecord record,
                           LoadInvitation(op.tx(), organization, invitation));
  if (record.status != InvitationStatus::kNew) {
    return CheckUsable(record, op.now());
  }
  record.status = InvitationStatus::kRevoked;
  record.decided_at = op.now();
  ENTITLE_RETURN_IF_ERROR(op.tx().invitations().Update(record));
  op.Audit(actor, organization, "invitation.revoke", AuditTarget(invitation),
           record.email.str());
  return op.Commit();
}

absl::StatusOr<std::vector<InvitationInfo>> Invitations::List(
    const Actor& actor, OrganizationId organization) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  ENTITLE_ASSIGN_OR_RETURN(OrganizationRecord org,
                           AuthorizeAdmin(reading.tx(), actor, organization));
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<InvitationRecord> all,
      ListAll(reading.tx().invitations(),
              InvitationFilter{.organization_id = organization}));
  std::vector<InvitationInfo> shown;
  for (const InvitationRecord& r : all) {
    InvitationState state;
    if (r.status == InvitationStatus::kNew) {
      state = Expired(r, reading.now) ? InvitationState::kExpired
                                      : InvitationState::kNew;
    } else if (r.status == InvitationStatus::kRejected) {
      state = InvitationState::kRejected;
    } else {
      continue;  // Accepted, revoked and superseded invitations leave the list.
    }
    shown.push_back(InvitationInfo{r.id, r.organization_id, org.name, r.email,
                                   r.kind, r.group_id, state, r.created_at,
                                   r.expires_at});
  }
  return shown;
}

absl::StatusOr<OrganizationId> Invitations::Accept(const Actor& actor,
                                                   std::string_view token) {
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity,
                           SignedIn(op.tx(), actor, "accept an invitation"));
  ENTITLE_ASSIGN_OR_RETURN(InvitationRecord invitation,
                           FindByToken(op.tx(), token));
  ENTITLE_RETURN_IF_ERROR(ApplyAcceptance(op, actor, invitation, identity,
                                          MembershipStatus::kActive));
  ENTITLE_RETURN_IF_ERROR(op.Commit());
  return invitation.organization_id;
}

absl::StatusOr<OrganizationId> Invitations::AcceptById(const Actor& actor,
                                                       InvitationId id) {
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity,
                           SignedIn(op.tx(), actor, "accept an invitation"));
  absl::StatusOr<InvitationRecord> invitation = op.tx().invitations().Get(id);
  // Someone else's invitation is as unknown to the actor as a missing one.
  if ((!invitation.ok() &&
       GetReason(invitation.status()) == Reason::kNotFound) ||
      (invitation.ok() && invitation->email != identity.email)) {
    return Refuse(absl::StatusCode::kNotFound, Reason::kNotFound,
                  absl::StrCat("You have no invitation #", id.value(), "."));
  }
  ENTITLE_RETURN_IF_ERROR(invitation);
  ENTITLE_RETURN_IF_ERROR(ApplyAcceptance(op, actor, *invitation, identity,
                                          MembershipStatus::kActive));
  ENTITLE_RETURN_IF_ERROR(op.Commit());
  return invitation->organization_id;
}

absl::StatusOr<IdentityId> Invitations::AcceptAsNewUser(
    std::string_view token, std::string_view password, const Profile& profile) {
  ENTITLE_RETURN_IF_ERROR(CheckPasswordPolicy(password));
  IdentityRecord identity;
  ENTITLE_RETURN_IF_ERROR(
      internal::ApplyProfile(internal::AsUpdate(profile), identity));
  ENTITLE_ASSIGN_OR_RETURN(std::string hash, context_.hasher.Hash(password));

  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(InvitationRecord invitation, FindByToken(tx, token));
  ENTITLE_RETURN_IF_ERROR(CheckUsable(invitation, op.now()));
  ENTITLE_ASSIGN_OR_RETURN(
      std::optional<IdentityRecord> existing,
      FindFirst(tx.identities(), IdentityFilter{.email = invitation.email}));
  if (existing.has_value()) {
    return Refuse(absl::StatusCode::kAlreadyExists, Reason::kEmailTaken,
                  "An identity already uses this address. Sign in and accept "
                  "the invitation.");
  }
  identity.email = invitation.email;
  identity.verified = true;  // The link reached this address.
  identity.password_hash = std::move(hash);
  identity.created_at = op.now();
  ENTITLE_ASSIGN_OR_RETURN(IdentityId id, tx.identities().Insert(identity));
  identity.id = id;
  const Actor invitee = Actor::Identity(id);
  op.Audit(invitee, invitation.organization_id, "identity.register",
           AuditTarget(id), "created by accepting an invitation");
  // ID-12: an identity created from an invitation waits for its profile.
  ENTITLE_RETURN_IF_ERROR(ApplyAcceptance(
      op, invitee, invitation, identity,
      identity.profile_complete ? MembershipStatus::kActive
                                : MembershipStatus::kPendingProfile));
  ENTITLE_RETURN_IF_ERROR(op.Commit());
  return id;
}

absl::Status Invitations::Reject(std::string_view token) {
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  ENTITLE_ASSIGN_OR_RETURN(InvitationRecord invitation,
                           FindByToken(op.tx(), token));
  ENTITLE_RETURN_IF_ERROR(CheckUsable(invitation, op.now()));
  invitation.status = InvitationStatus::kRejected;
  invitation.decided_at = op.now();
  ENTITLE_RETURN_IF_ERROR(op.tx().invitations().Update(invitation));
  op.Audit(Actor::Anonymous(), invitation.organization_id, "invitation.reject",
           AuditTarget(invitation.id), invitation.email.str());
  return op.Commit();
}

absl::StatusOr<std::vector<InvitationInfo>> Invitations::ListMine(
    const Actor& actor) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  Transaction& tx = reading.tx();
  ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity,
                           SignedIn(tx, actor, "list your invitations"));
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<InvitationRecord> all,
      ListAll(tx.invitations(),
              InvitationFilter{.email = identity.email,
                               .status = InvitationStatus::kNew}));
  std::vector<InvitationInfo> mine;
  for (const InvitationRecord& r : all) {
    if (Expired(r, reading.now)) continue;
    ENTITLE_ASSIGN_OR_RETURN(OrganizationRecord org,
                             tx.organizations().Get(r.organization_id));
    mine.push_back(InvitationInfo{r.id, r.organization_id, org.name, r.email,
                                  r.kind, r.group_id, InvitationState::kNew,
                                  r.created_at, r.expires_at});
  }
  return mine;
}

absl::StatusOr<RequestLink> Invitations::CreateRequestLink(
    const Actor& actor, OrganizationId organization) {
  ENTITLE_ASSIGN_OR_RETURN(
      internal::OperationIn begun,
      internal::BeginIn(context_, actor, organization, kManageUsers));
  Operation& op = begun.op;
  Transaction& tx = op.tx();
  // Rotation: the previous links die.
  ENTITLE_RETURN_IF_ERROR(internal::DeleteAll(
      tx.request_links(), RequestLinkFilter{.organization_id = organization},
      [](const RequestLinkRecord& r) { return r.id; }));
  const internal::LinkSecret secret = internal::MakeLinkSecret(context_.random);
  ENTITLE_ASSIGN_OR_RETURN(
      RequestLinkId id,
      tx.request_links().Insert(RequestLinkRecord{
          RequestLinkId(), organization, secret.hash, true, op.now()}));
  op.Audit(actor, organization, "request-link.create", AuditTarget(id));
  ENTITLE_RETURN_IF_ERROR(op.Commit());
  return RequestLink{id, secret.token};
}

absl::Status Invitations::DisableRequestLink(const Actor& actor,
                                             OrganizationId organization) {
  ENTITLE_ASSIGN_OR_RETURN(
      internal::OperationIn begun,
      internal::BeginIn(context_, actor, organization, kManageUsers));
  Operation& op = begun.op;
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<RequestLinkRecord> links,
      ListAll(tx.request_links(),
              RequestLinkFilter{.organization_id = organization}));
  bool disabled_any = false;
  for (RequestLinkRecord& link : links) {
    if (!link.enabled) continue;
    link.enabled = false;
    ENTITLE_RETURN_IF_ERROR(tx.request_links().Update(link));
    disabled_any = true;
  }
  if (!disabled_any) {
    return Refuse(absl::StatusCode::kNotFound, Reason::kNotFound,
                  "The organization has no request link to disable.");
  }
  op.Audit(actor, organization, "request-link.disable",
           AuditTarget(organization));
  return op.Commit();
}

absl::StatusOr<JoinRequestInfo> Invitations::FollowRequestLink(
    const Actor& actor, std::string_view token) {
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity,
                           SignedIn(tx, actor, "ask to join an organization"));
  const std::string hash = internal::HashLinkToken(token);
  if (hash.empty()) return InvalidLink();
  ENTITLE_ASSIGN_OR_RETURN(
      std::optional<RequestLinkRecord> link,
      FindFirst(tx.request_links(), RequestLinkFilter{.token_hash = hash}));
  if (!link.has_value() || !link->enabled ||
      !internal::SameLinkHash(link->token_hash, hash)) {
    return InvalidLink();
  }
  ENTITLE_ASSIGN_OR_RETURN(OrganizationRecord organization,
                           tx.organizations().Get(link->organization_id));
  ENTITLE_ASSIGN_OR_RETURN(
      JoinRequestInfo request,
      FileJoinRequest(op, identity, organization, JoinRequestSource::kLink));
  ENTITLE_RETURN_IF_ERROR(op.Commit());
  return request;
}

absl::StatusOr<JoinRequestInfo> Invitations::RequestToJoin(
    const Actor& actor, OrganizationId organization) {
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity,
                           SignedIn(tx, actor, "ask to join an organization"));
  // INV-10: only an organization the actor can discover (ORG-11).
  const absl::Status not_found =
      Refuse(absl::StatusCode::kNotFound, Reason::kNotFound,
             "No such organization is open to you.");
  absl::StatusOr<OrganizationRecord> record =
      tx.organizations().Get(organization);
  if (!record.ok()) {
    return GetReason(record.status()) == Reason::kNotFound ? not_found
                                                           : record.status();
  }
  ENTITLE_ASSIGN_OR_RETURN(bool owns, OwnsDomainOf(tx, organization, identity));
  if (!record->discoverable || !owns) return not_found;
  ENTITLE_ASSIGN_OR_RETURN(
      JoinRequestInfo request,
      FileJoinRequest(op, identity, *record, JoinRequestSource::kDiscovery));
  ENTITLE_RETURN_IF_ERROR(op.Commit());
  return request;
}

absl::StatusOr<std::vector<JoinRequestInfo>> Invitations::ListJoinRequests(
    const Actor& actor, OrganizationId organization) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  Transaction& tx = reading.tx();
  ENTITLE_RETURN_IF_ERROR(AuthorizeAdmin(tx, actor, organization));
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<JoinRequestRecord> pending,
      ListAll(tx.join_requests(),
              JoinRequestFilter{.organization_id = organization,
                                .status = JoinRequestStatus::kPending}));
  std::vector<JoinRequestInfo> result;
  for (const JoinRequestRecord& request : pending) {
    ENTITLE_ASSIGN_OR_RETURN(IdentityRecord who,
                             tx.identities().Get(request.identity_id));
    result.push_back(ToInfo(request, who));
  }
  return result;
}

absl::StatusOr<std::vector<DecisionResult>> Invitations::Decide(
    const Actor& actor, OrganizationId organization,
    const std::vector<JoinRequestId>& requests, bool approve) {
  {
    // Refuse the whole call to an actor without the permission.
    ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
    ENTITLE_RETURN_IF_ERROR(AuthorizeAdmin(reading.tx(), actor, organization));
  }
  if (requests.empty()) {
    return Refuse(absl::StatusCode::kInvalidArgument, Reason::kInvalidArgument,
                  "Name at least one join request.");
  }
  if (requests.size() > kMaxInvitationBatch) {
    return Refuse(absl::StatusCode::kInvalidArgument, Reason::kLimitExceeded,
                  absl::StrCat("At most ", kMaxInvitationBatch,
                               " requests can be decided at once; got ",
                               requests.size(), "."));
  }
  std::vector<DecisionResult> results;
  for (const JoinRequestId id : requests) {
    // Each decision is its own transaction: one failure leaves the others.
    absl::Status status = [&]() -> absl::Status {
      ENTITLE_ASSIGN_OR_RETURN(
          internal::OperationIn begun,
          internal::BeginIn(context_, actor, organization, kManageUsers));
      Operation& op = begun.op;
      ENTITLE_ASSIGN_OR_RETURN(
          JoinRequestRecord request,
          internal::LoadOwned(op.tx().join_requests(), organization, id,
                              "join request"));
      if (request.status != JoinRequestStatus::kPending) {
        return Refuse(absl::StatusCode::kFailedPrecondition,
                      Reason::kRequestDecided,
                      "This request was already decided.");
      }
      if (approve) {
        ENTITLE_RETURN_IF_ERROR(Approve(op, actor, request));
      } else {
        request.status = JoinRequestStatus::kRejected;
        request.decided_at = op.now();
        request.decided_by = actor.audit_id();
        ENTITLE_RETURN_IF_ERROR(op.tx().join_requests().Update(request));
        op.Audit(actor, organization, "join-request.reject", AuditTarget(id));
      }
      return op.Commit();
    }();
    results.push_back(DecisionResult{id, std::move(status)});
  }
  return results;
}

absl::StatusOr<OrganizationForInvitee>
Invitations::CreateOrganizationForInvitee(const Actor& actor,
                                          std::string_view name,
                                          std::string_view email) {
  if (!actor.is_operator()) {
    return internal::PermissionDenied("create organizations");
  }
  ENTITLE_ASSIGN_OR_RETURN(Email address, Email::Parse(email));
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  ENTITLE_ASSIGN_OR_RETURN(OrganizationRecord organization,
                           internal::CreateOrganizationStep(op, actor, name));
  InvitationRecord invitation;
  invitation.organization_id = organization.id;
  invitation.email = address;
  invitation.kind = InvitationKind::kFirstAdministrator;
  ENTITLE_ASSIGN_OR_RETURN(InvitationId id,
                           IssueInvitation(op, organization, invitation));
  op.Audit(actor, organization.id, "invitation.send", AuditTarget(id),
           absl::StrCat(address.str(), " as first administrator"));
  ENTITLE_RETURN_IF_ERROR(op.Commit());
  return OrganizationForInvitee{organization.id, id};
}

namespace internal {

absl::StatusOr<InviteResult> InviteStep(Operation& op, const Actor& actor,
                                        const OrganizationRecord& organization,
                                        std::string_view address,
                                        InvitationKind kind,
                                        std::optional<GroupId> group,
                                        std::map<Email, InvitationId>& batch) {
  Transaction& tx = op.tx();
  InviteResult result;
  result.address = std::string(address);
  absl::StatusOr<Email> email = Email::Parse(address);
  if (!email.ok()) {
    result.outcome = InviteOutcome::kInvalidEmail;
    result.message = std::string(email.status().message());
    return result;
  }
  // INV-8: a New invitation of the same kind (and group) is returned.
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<InvitationRecord> open,
      ListAll(tx.invitations(),
              InvitationFilter{.organization_id = organization.id,
                               .email = *email,
                               .kind = kind,
                               .status = InvitationStatus::kNew}));
  const InvitationRecord* existing = nullptr;
  for (const InvitationRecord& candidate : open) {
    if (candidate.group_id == group && !Expired(candidate, op.now())) {
      existing = &candidate;
    }
  }
  if (existing != nullptr) {
    result.outcome = InviteOutcome::kAlreadyInvited;
    result.invitation = existing->id;
    result.message = "An invitation is already waiting for this address.";
    return result;
  }
  if (auto first = batch.find(*email); first != batch.end()) {
    result.outcome = InviteOutcome::kAlreadyInvited;
    result.invitation = first->second;
    result.message = "This address appears earlier in the batch.";
    return result;
  }

  ENTITLE_ASSIGN_OR_RETURN(
      std::optional<IdentityRecord> invitee,
      FindFirst(tx.identities(), IdentityFilter{.email = *email}));
  if (invitee.has_value()) {
    ENTITLE_ASSIGN_OR_RETURN(
        std::optional<MembershipRecord> membership,
        internal::FindMembership(tx, organization.id, invitee->id));
    bool member_of_kind = false;
    if (membership.has_value()) {
      switch (kind) {
        case InvitationKind::kEmployee:
          member_of_kind = membership->kind == MembershipKind::kEmployee;
          break;
        case InvitationKind::kExternal:
          member_of_kind = true;
          break;
        case InvitationKind::kGroup: {
          absl::StatusOr<GroupMemberRecord> place =
              tx.group_members().Get(GroupMemberKey{*group, invitee->id});
          member_of_kind = place.ok();
          break;
        }
        case InvitationKind::kFirstAdministrator: {
          ENTITLE_ASSIGN_OR_RETURN(
              std::set<IdentityId> administrators,
              internal::Administrators(tx, organization.id));
          member_of_kind = administrators.contains(invitee->id);
          break;
        }
      }
    }
    if (member_of_kind) {
      result.outcome = InviteOutcome::kAlreadyMember;
      result.message = "This user is already a member.";
      return result;
    }
  }
  if (kind == InvitationKind::kEmployee) {
    ENTITLE_ASSIGN_OR_RETURN(
        std::optional<DomainRecord> owner,
        FindFirst(tx.domains(),
                  DomainFilter{.name = std::string(email->domain()),
                               .status = DomainStatus::kVerified}));
    if (owner.has_value() && owner->organization_id != organization.id) {
      result.outcome = InviteOutcome::kDomainOwnedElsewhere;
      result.message =
          absl::StrCat("The email domain ", AbslView(email->domain()),
                       " is owned by another organization.");
      return result;
    }
  }
  InvitationRecord invitation;
  invitation.organization_id = organization.id;
  invitation.email = *email;
  invitation.kind = kind;
  invitation.group_id = group;
  invitation.invited_by = actor.audit_id();
  ENTITLE_ASSIGN_OR_RETURN(InvitationId id,
                           IssueInvitation(op, organization, invitation));
  op.Audit(actor, organization.id, "invitation.send", AuditTarget(id),
           email->str());
  batch.emplace(*email, id);
  result.outcome = InviteOutcome::kInvited;
  result.invitation = id;
  return result;
}

}  // namespace internal

}  // namespace entitle
