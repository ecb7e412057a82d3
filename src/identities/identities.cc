#include "entitle/identities.h"

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/device_id_check.h"
#include "base/links.h"
#include "base/status_macros.h"
#include "base/string_view.h"
#include "entitle/password_policy.h"
#include "entitle/seat_types.h"
#include "entitle/status.h"
#include "identities/profile.h"
#include "identities/throttle.h"
#include "organizations/memberships.h"
#include "service/authorization.h"
#include "service/operation.h"
#include "service/service_context.h"

namespace entitle {
namespace {

using internal::ApplyProfile;
using internal::AsUpdate;
using internal::AuditTarget;
using internal::EffectiveLanguage;
using internal::FindFirst;
using internal::ListAll;
using internal::Operation;
using internal::Reading;
using internal::ServiceContext;

constexpr std::string_view kUnknownUserMessage =
    "Sorry, we didn't recognise this user. Please enter a valid Email address.";

absl::Status Error(absl::StatusCode code, Reason reason,
                   std::string_view message) {
  return MakeError(code, reason, message);
}

absl::Status BadCredentials() {
  return Error(absl::StatusCode::kUnauthenticated, Reason::kBadCredentials,
               "The email address or password is incorrect.");
}

absl::Status NotVerified() {
  return Error(absl::StatusCode::kFailedPrecondition, Reason::kNotVerified,
               "This identity is not verified yet. Open the link in the "
               "verification email to set a password.");
}

absl::Status Locked() {
  return Error(absl::StatusCode::kFailedPrecondition, Reason::kIdentityLocked,
               "This identity is locked. Ask an administrator to unlock it.");
}

absl::Status UnknownUser() {
  return Error(absl::StatusCode::kNotFound, Reason::kUnknownUser,
               kUnknownUserMessage);
}

absl::Status EmailTaken(const Email& email) {
  return Error(
      absl::StatusCode::kAlreadyExists, Reason::kEmailTaken,
      absl::StrCat("Another identity already uses ", email.str(), "."));
}

// The identity named by a caller, with a message for people when it is gone.
absl::StatusOr<IdentityRecord> LoadIdentity(Transaction& tx, IdentityId id) {
  absl::StatusOr<IdentityRecord> identity = tx.identities().Get(id);
  if (!identity.ok() && GetReason(identity.status()) == Reason::kNotFound) {
    return Error(absl::StatusCode::kNotFound, Reason::kNotFound,
                 absl::StrCat("There is no identity #", id.value(), "."));
  }
  return identity;
}

// Maps a store duplicate on the identities' email index to kEmailTaken.
absl::Status EmailTakenIfDuplicate(absl::Status status, const Email& email) {
  if (GetReason(status) == Reason::kDuplicate) return EmailTaken(email);
  return status;
}

IdentityInfo ToInfo(const IdentityPolicy& policy, const IdentityRecord& r) {
  IdentityInfo info;
  info.id = r.id;
  info.email = r.email;
  info.pending_email = r.pending_email;
  info.display_name = r.display_name;
  info.country = r.country;
  info.language = r.language;
  info.effective_language = EffectiveLanguage(policy, r.language);
  info.verified = r.verified;
  info.locked = r.locked;
  info.profile_complete = r.profile_complete;
  info.federated = !r.federated_subject.empty();
  info.created_at = r.created_at;
  info.last_login_at = r.last_login_at;
  return info;
}

// ------------------------------------------------------------------- links

absl::StatusOr<std::optional<IdentityRecord>> FindByEmailIn(
    Transaction& tx, const Email& email) {
  return FindFirst(tx.identities(), IdentityFilter{.email = email});
}

// Kills every active link of `purpose` for `identity`.
absl::Status SupersedeLinks(Transaction& tx, IdentityId identity,
                            LinkPurpose purpose) {
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<LinkTokenRecord> links,
      ListAll(tx.link_tokens(),
              LinkTokenFilter{.identity_id = identity,
                              .purpose = purpose,
                              .status = LinkStatus::kActive}));
  for (LinkTokenRecord& link : links) {
    link.status = LinkStatus::kSuperseded;
    ENTITLE_RETURN_IF_ERROR(tx.link_tokens().Update(link));
  }
  return absl::OkStatus();
}

// SEC-5: kills every active link of `identity` (verification, password
// reset, email change): each would set its password or act on its address,
// which just changed, or the identity was locked. The pending address goes
// with its confirmation link. The caller writes `identity`.
absl::Status EndActiveLinks(Transaction& tx, IdentityRecord& identity) {
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<LinkTokenRecord> links,
      ListAll(tx.link_tokens(),
              LinkTokenFilter{.identity_id = identity.id,
                              .status = LinkStatus::kActive}));
  for (LinkTokenRecord& link : links) {
    link.status = LinkStatus::kSuperseded;
    ENTITLE_RETURN_IF_ERROR(tx.link_tokens().Update(link));
  }
  identity.pending_email.reset();
  return absl::OkStatus();
}

struct LinkMessage {
  const char* template_name;
  const char* subject;
};

constexpr LinkMessage MessageFor(LinkPurpose purpose) {
  switch (purpose) {
    case LinkPurpose::kVerifyEmail:
      return {"verify-email", "Set your password"};
    case LinkPurpose::kPasswordReset:
      return {"password-reset", "Reset your password"};
    case LinkPurpose::kEmailChange:
      return {"email-change", "Confirm your new email address"};
  }
  return {"", ""};
}

// Issues a new link of `purpose` to `identity` (older ones die) and queues its
// notification to `to`.
absl::Status IssueLink(Operation& op, const IdentityRecord& identity,
                       LinkPurpose purpose, absl::Duration lifetime,
                       const Email& to,
                       const std::optional<Email>& new_email = std::nullopt) {
  // SEC-10: every link mail counts against its address, whoever asked.
  ENTITLE_ASSIGN_OR_RETURN(
      std::optional<internal::ThrottleRule> mail_rule,
      internal::MailRule(op.context().identity_policy, to));
  if (mail_rule.has_value()) {
    ENTITLE_ASSIGN_OR_RETURN(
        std::optional<absl::Time> full,
        internal::CountUnlessFull(op.tx(), op.now(), {*mail_rule}));
    if (full.has_value()) {
      return Error(absl::StatusCode::kResourceExhausted, Reason::kMailLimited,
                   absl::StrCat("Too many emails with links went to ", to.str(),
                                " within the last hour. Try again after ",
                                internal::RetryTime(*full), "."));
    }
  }
  ENTITLE_RETURN_IF_ERROR(SupersedeLinks(op.tx(), identity.id, purpose));
  const internal::LinkSecret secret =
      internal::MakeLinkSecret(op.context().random);
  LinkTokenRecord link;
  link.identity_id = identity.id;
  link.purpose = purpose;
  link.token_hash = secret.hash;
  link.new_email = new_email;
  link.created_at = op.now();
  link.expires_at = op.now() + lifetime;
  ENTITLE_RETURN_IF_ERROR(op.tx().link_tokens().Insert(link));
  const LinkMessage message = MessageFor(purpose);
  Notification notification;
  notification.to = to;
  notification.template_name = message.template_name;
  notification.subject = message.subject;
  notification.language =
      EffectiveLanguage(op.context().identity_policy, identity.language);
  notification.token = secret.token;
  notification.link_expires_at = link.expires_at;
  if (!identity.display_name.empty()) {
    notification.fields.emplace_back("name", identity.display_name);
  }
  op.Notify(std::move(notification));
  return absl::OkStatus();
}

// Finds the live link `token` of `purpose` and marks it used. The caller's
// operation rolls back on any later failure, which revives the link.
absl::StatusOr<LinkTokenRecord> UseLink(Operation& op, std::string_view token,
                                        LinkPurpose purpose) {
  const absl::Status invalid =
      Error(absl::StatusCode::kNotFound, Reason::kInvalidLink,
            "This link is not valid. Check that it was copied completely.");
  const std::string hash = internal::HashLinkToken(token);
  if (hash.empty()) return invalid;
  ENTITLE_ASSIGN_OR_RETURN(
      std::optional<LinkTokenRecord> found,
      FindFirst(op.tx().link_tokens(), LinkTokenFilter{.token_hash = hash}));
  if (!found.has_value()) return invalid;
  LinkTokenRecord link = *found;
  if (link.purpose != purpose ||
      !internal::SameLinkHash(link.token_hash, hash)) {
    return invalid;
  }
  switch (link.status) {
    case LinkStatus::kUsed:
      return Error(absl::StatusCode::kFailedPrecondition, Reason::kLinkUsed,
                   "This link was already used.");
    case LinkStatus::kSuperseded:
      return Error(absl::StatusCode::kFailedPrecondition,
                   Reason::kLinkSuperseded,
                   "This link was replaced by a newer one. Use the link in the "
                   "most recent email.");
    case LinkStatus::kActive:
      break;
  }
  if (op.now() >= link.expires_at) {
    return Error(absl::StatusCode::kFailedPrecondition, Reason::kLinkExpired,
                 "This link has expired. Ask for a new one.");
  }
  link.status = LinkStatus::kUsed;
  ENTITLE_RETURN_IF_ERROR(op.tx().link_tokens().Update(link));
  return link;
}

absl::StatusOr<Email> ParseEmail(std::string_view text) {
  return Email::Parse(text);
}

}  // namespace

// ---------------------------------------------------------------- operations

absl::StatusOr<IdentityId> Identities::Register(const Actor& actor,
                                                std::string_view email_text,
                                                const Profile& profile) {
  ENTITLE_ASSIGN_OR_RETURN(Email email, ParseEmail(email_text));
  IdentityRecord record;
  ENTITLE_RETURN_IF_ERROR(ApplyProfile(AsUpdate(profile), record));
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  ENTITLE_ASSIGN_OR_RETURN(std::optional<IdentityRecord> existing,
                           FindByEmailIn(op.tx(), email));
  if (existing.has_value()) return EmailTaken(email);

  record.email = email;
  record.created_at = op.now();
  absl::StatusOr<IdentityId> id = op.tx().identities().Insert(record);
  if (!id.ok()) return EmailTakenIfDuplicate(id.status(), email);
  record.id = *id;
  ENTITLE_RETURN_IF_ERROR(IssueLink(
      op, record, LinkPurpose::kVerifyEmail,
      context_.identity_policy.verification_link_lifetime, record.email));
  op.Audit(actor, std::nullopt, "identity.register", AuditTarget(*id));
  if (absl::Status s = op.Commit(); !s.ok()) {
    return EmailTakenIfDuplicate(s, email);
  }
  return *id;
}

absl::Status Identities::ResendVerification(std::string_view email_text) {
  ENTITLE_ASSIGN_OR_RETURN(Email email, ParseEmail(email_text));
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  ENTITLE_ASSIGN_OR_RETURN(std::optional<IdentityRecord> identity,
                           FindByEmailIn(op.tx(), email));
  if (!identity.has_value()) return UnknownUser();
  if (identity->verified) {
    return Error(absl::StatusCode::kFailedPrecondition,
                 Reason::kAlreadyVerified,
                 "This identity is already verified.");
  }
  ENTITLE_RETURN_IF_ERROR(IssueLink(
      op, *identity, LinkPurpose::kVerifyEmail,
      context_.identity_policy.verification_link_lifetime, identity->email));
  op.Audit(Actor::Anonymous(), std::nullopt, "identity.verification.resend",
           AuditTarget(identity->id));
  return op.Commit();
}

// Sets the password of the identity the link `token` of `purpose` belongs
// to, verifying it; every other link of the identity dies (SEC-5).
static absl::Status SetPasswordWithLink(ServiceContext& context,
                                        std::string_view token,
                                        LinkPurpose purpose,
                                        std::string_view password,
                                        std::string_view action) {
  ENTITLE_RETURN_IF_ERROR(CheckPasswordPolicy(password));
  // Hash before the transaction: Argon2id is slow by design, and writers wait.
  ENTITLE_ASSIGN_OR_RETURN(std::string hash, context.hasher.Hash(password));
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context));
  ENTITLE_ASSIGN_OR_RETURN(LinkTokenRecord link, UseLink(op, token, purpose));
  ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity,
                           op.tx().identities().Get(link.identity_id));
  identity.password_hash = std::move(hash);
  identity.verified = true;
  ENTITLE_RETURN_IF_ERROR(EndActiveLinks(op.tx(), identity));
  ENTITLE_RETURN_IF_ERROR(op.tx().identities().Update(identity));
  op.Audit(Actor::Identity(identity.id), std::nullopt, std::string(action),
           AuditTarget(identity.id));
  return op.Commit();
}

absl::Status Identities::CompleteVerification(std::string_view token,
                                              std::string_view password) {
  return SetPasswordWithLink(context_, token, LinkPurpose::kVerifyEmail,
                             password, "identity.verify");
}

absl::StatusOr<IdentityId> Identities::SignIn(
    std::string_view email_text, std::string_view password,
    const std::optional<DeviceId>& device, std::string_view client_address) {
  // SEC-8: the device id as the checkout path takes it.
  if (device.has_value()) {
    ENTITLE_RETURN_IF_ERROR(internal::CheckDeviceId(*device));
  }
  ENTITLE_ASSIGN_OR_RETURN(Email email, ParseEmail(email_text));
  ENTITLE_ASSIGN_OR_RETURN(
      const std::vector<internal::ThrottleRule> throttles,
      internal::SignInRules(context_.identity_policy, email, client_address));

  // SEC-10: the attempt counts as a failure from the start, committed in a
  // write transaction of its own before the password is checked, so that
  // parallel guesses cannot pass the limit together and every process sees
  // the count; a successful sign-in takes it back below.
  std::optional<IdentityRecord> identity;
  absl::Time attempted_at;
  {
    ENTITLE_ASSIGN_OR_RETURN(
        std::unique_ptr<Transaction> tx,
        context_.store.Begin(throttles.empty() ? TransactionMode::kRead
                                               : TransactionMode::kWrite));
    attempted_at = context_.clock.Now();
    ENTITLE_ASSIGN_OR_RETURN(identity, FindByEmailIn(*tx, email));
    ENTITLE_ASSIGN_OR_RETURN(
        std::optional<absl::Time> throttled_until,
        internal::CountUnlessFull(*tx, attempted_at, throttles));
    if (throttled_until.has_value()) {
      return Error(absl::StatusCode::kResourceExhausted,
                   Reason::kSignInThrottled,
                   absl::StrCat("Too many failed sign-ins. Try again after ",
                                internal::RetryTime(*throttled_until), "."));
    }
    // Not a guess: there is no password yet (ID-3). Nothing is counted.
    if (identity.has_value() && !identity->verified) return NotVerified();
    ENTITLE_RETURN_IF_ERROR(tx->Commit());
  }

  // Check the password outside any write transaction (Argon2id is slow).
  if (!identity.has_value()) {
    // Spend the same time as a wrong password, so timing does not tell
    // which addresses have identities.
    context_.hasher.Verify(context_.DummyPasswordHash(), password);
    return BadCredentials();
  }
  const std::string stored_hash = identity->password_hash;
  const IdentityId id = identity->id;
  if (!context_.hasher.Verify(stored_hash, password)) return BadCredentials();

  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  absl::StatusOr<IdentityRecord> current = LoadIdentity(op.tx(), id);
  if (!current.ok()) {
    return GetReason(current.status()) == Reason::kNotFound ? BadCredentials()
                                                            : current.status();
  }
  // The identity may have changed since the password was checked.
  if (current->email != email || current->password_hash != stored_hash) {
    return BadCredentials();
  }
  if (current->locked) return Locked();
  current->last_login_at = op.now();
  ENTITLE_RETURN_IF_ERROR(op.tx().identities().Update(*current));
  if (device.has_value()) {
    DeviceCheckRecord check{id, *device, op.now()};
    absl::Status s = op.tx().device_checks().Update(check);
    if (GetReason(s) == Reason::kNotFound) {
      s = op.tx().device_checks().Insert(check).status();
    }
    ENTITLE_RETURN_IF_ERROR(s);
  }
  // The address's failures are forgotten; the client's stay, less this
  // attempt.
  for (const internal::ThrottleRule& throttle : throttles) {
    ENTITLE_RETURN_IF_ERROR(
        throttle.kind == ThrottleKind::kSignInIdentity
            ? internal::Clear(op.tx(), throttle)
            : internal::Uncount(op.tx(), throttle, attempted_at));
  }
  op.Audit(Actor::Identity(id), std::nullopt, "identity.sign-in",
           AuditTarget(id),
           device.has_value() ? absl::StrCat("device ", device->value()) : "");
  ENTITLE_RETURN_IF_ERROR(op.Commit());
  return id;
}

absl::Status Identities::RequestPasswordReset(const Actor& actor,
                                              std::string_view email_text) {
  absl::StatusOr<Email> email = ParseEmail(email_text);
  if (!email.ok()) return UnknownUser();
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  ENTITLE_ASSIGN_OR_RETURN(std::optional<IdentityRecord> identity,
                           FindByEmailIn(op.tx(), *email));
  if (!identity.has_value()) return UnknownUser();
  if (actor.is_identity() && actor.identity() != identity->id) {
    // ADM-3: an administrator sends the link to a member.
    ENTITLE_RETURN_IF_ERROR(internal::RequireSelfOrAdmin(
        op.tx(), actor, identity->id, kManageUsers));
    // SEC-2: an administrator's reset link needs the administrators
    // permission.
    ENTITLE_RETURN_IF_ERROR(internal::RequireAdministratorsPermission(
        op.tx(), actor, identity->id));
  }
  ENTITLE_RETURN_IF_ERROR(IssueLink(
      op, *identity, LinkPurpose::kPasswordReset,
      context_.identity_policy.password_reset_link_lifetime, identity->email));
  op.Audit(actor, std::nullopt, "identity.password-reset.request",
           AuditTarget(identity->id));
  return op.Commit();
}

absl::Status Identities::CompletePasswordReset(std::string_view token,
                                               std::string_view password) {
  return SetPasswordWithLink(context_, token, LinkPurpose::kPasswordReset,
                             password, "identity.password-reset");
}

absl::Status Identities::ChangePassword(const Actor& actor,
                                        std::string_view current_password,
                                        std::string_view new_password) {
  if (!actor.is_identity()) {
    return internal::PermissionDenied("change a password without signing in");
  }
  ENTITLE_RETURN_IF_ERROR(CheckPasswordPolicy(new_password));
  std::string stored_hash;
  {
    ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
    ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity,
                             reading.tx().identities().Get(actor.identity()));
    if (identity.locked) return Locked();
    stored_hash = identity.password_hash;
  }
  if (!context_.hasher.Verify(stored_hash, current_password)) {
    return BadCredentials();
  }
  ENTITLE_ASSIGN_OR_RETURN(std::string new_hash,
                           context_.hasher.Hash(new_password));

  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity,
                           op.tx().identities().Get(actor.identity()));
  if (identity.password_hash != stored_hash) return BadCredentials();
  if (identity.locked) return Locked();
  identity.password_hash = std::move(new_hash);
  ENTITLE_RETURN_IF_ERROR(EndActiveLinks(op.tx(), identity));
  ENTITLE_RETURN_IF_ERROR(op.tx().identities().Update(identity));
  op.Audit(actor, std::nullopt, "identity.password.change",
           AuditTarget(identity.id));
  return op.Commit();
}

absl::Status Identities::RequestEmailChange(const Actor& actor, IdentityId id,
                                            std::string_view new_email_text) {
  ENTITLE_ASSIGN_OR_RETURN(Email new_email, ParseEmail(new_email_text));
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity, LoadIdentity(op.tx(), id));
  ENTITLE_RETURN_IF_ERROR(internal::RequireSelfOrAdmin(op.tx(), actor, id, 0));
  if (identity.email == new_email) {
    return Error(absl::StatusCode::kInvalidArgument, Reason::kInvalidArgument,
                 "That is already the identity's email address.");
  }
  ENTITLE_ASSIGN_OR_RETURN(std::optional<IdentityRecord> owner,
                           FindByEmailIn(op.tx(), new_email));
  if (owner.has_value()) return EmailTaken(new_email);

  identity.pending_email = new_email;
  ENTITLE_RETURN_IF_ERROR(op.tx().identities().Update(identity));
  ENTITLE_RETURN_IF_ERROR(
      IssueLink(op, identity, LinkPurpose::kEmailChange,
                context_.identity_policy.email_change_link_lifetime, new_email,
                new_email));
  op.Audit(actor, std::nullopt, "identity.email-change.request",
           AuditTarget(id), absl::StrCat("to ", new_email.str()));
  return op.Commit();
}

absl::Status Identities::ConfirmEmailChange(std::string_view token) {
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  ENTITLE_ASSIGN_OR_RETURN(LinkTokenRecord link,
                           UseLink(op, token, LinkPurpose::kEmailChange));
  ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity,
                           op.tx().identities().Get(link.identity_id));
  if (!link.new_email.has_value()) {
    return Error(absl::StatusCode::kInternal, Reason::kStoreCorrupt,
                 "the email-change link names no address");
  }
  const Email new_email = *link.new_email;
  ENTITLE_ASSIGN_OR_RETURN(std::optional<IdentityRecord> owner,
                           FindByEmailIn(op.tx(), new_email));
  if (owner.has_value()) return EmailTaken(new_email);
  const std::string old_email = identity.email.str();
  identity.email = new_email;
  ENTITLE_RETURN_IF_ERROR(EndActiveLinks(op.tx(), identity));
  if (absl::Status s = op.tx().identities().Update(identity); !s.ok()) {
    return EmailTakenIfDuplicate(s, new_email);
  }
  op.Audit(Actor::Identity(identity.id), std::nullopt, "identity.email-change",
           AuditTarget(identity.id),
           absl::StrCat("from ", old_email, " to ", new_email.str()));
  if (absl::Status s = op.Commit(); !s.ok()) {
    return EmailTakenIfDuplicate(s, new_email);
  }
  return absl::OkStatus();
}

absl::Status Identities::UpdateProfile(const Actor& actor, IdentityId id,
                                       const ProfileUpdate& update) {
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity, LoadIdentity(op.tx(), id));
  ENTITLE_RETURN_IF_ERROR(internal::RequireSelfOrAdmin(op.tx(), actor, id, 0));
  ENTITLE_RETURN_IF_ERROR(ApplyProfile(update, identity));
  ENTITLE_RETURN_IF_ERROR(op.tx().identities().Update(identity));
  op.Audit(actor, std::nullopt, "identity.profile.update", AuditTarget(id));
  if (identity.profile_complete) {
    // ID-12: memberships waiting for the profile become active.
    ENTITLE_ASSIGN_OR_RETURN(
        std::vector<MembershipRecord> waiting,
        ListAll(op.tx().memberships(),
                MembershipFilter{.identity_id = id,
                                 .status = MembershipStatus::kPendingProfile}));
    for (MembershipRecord& membership : waiting) {
      membership.status = MembershipStatus::kActive;
      ENTITLE_RETURN_IF_ERROR(op.tx().memberships().Update(membership));
      op.Audit(actor, membership.organization_id, "membership.activate",
               AuditTarget(id), "the mandatory profile fields are complete");
    }
  }
  return op.Commit();
}

// Sets the lock state of `id` (ID-9).
static absl::Status SetLocked(ServiceContext& context, const Actor& actor,
                              IdentityId id, bool locked) {
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context));
  ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity, LoadIdentity(op.tx(), id));
  if (actor.is_identity() && actor.identity() == id) {
    return internal::PermissionDenied(locked ? "lock your own account"
                                             : "unlock your own account");
  }
  ENTITLE_RETURN_IF_ERROR(
      internal::RequireSelfOrAdmin(op.tx(), actor, id, kManageUsers));
  // SEC-2: locking or unlocking an administrator needs the administrators
  // permission, and the last unlocked administrator stays unlocked.
  ENTITLE_RETURN_IF_ERROR(
      internal::RequireAdministratorsPermission(op.tx(), actor, id));
  if (identity.locked == locked) return absl::OkStatus();
  if (locked) {
    ENTITLE_RETURN_IF_ERROR(
        internal::RefuseLockingLastAdministrator(op.tx(), id));
  }
  identity.locked = locked;
  if (locked) ENTITLE_RETURN_IF_ERROR(EndActiveLinks(op.tx(), identity));
  ENTITLE_RETURN_IF_ERROR(op.tx().identities().Update(identity));
  ENTITLE_ASSIGN_OR_RETURN(std::optional<OrganizationId> employer,
                           internal::EmployerOf(op.tx(), id));
  op.Audit(actor, employer, locked ? "identity.lock" : "identity.unlock",
           AuditTarget(id));
  return op.Commit();
}

absl::Status Identities::Lock(const Actor& actor, IdentityId id) {
  return SetLocked(context_, actor, id, true);
}

absl::Status Identities::Unlock(const Actor& actor, IdentityId id) {
  return SetLocked(context_, actor, id, false);
}

absl::StatusOr<std::optional<absl::Time>> Identities::OfflineAccessUntil(
    IdentityId id, const DeviceId& device) {
  // SEC-8: a device id as the checkout path takes it.
  ENTITLE_RETURN_IF_ERROR(internal::CheckDeviceId(device));
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  ENTITLE_RETURN_IF_ERROR(LoadIdentity(reading.tx(), id));
  absl::StatusOr<DeviceCheckRecord> check =
      reading.tx().device_checks().Get(DeviceCheckKey{id, device});
  if (!check.ok()) {
    if (GetReason(check.status()) == Reason::kNotFound) return std::nullopt;
    return check.status();
  }
  const absl::Time until =
      check->checked_at + context_.identity_policy.offline_grace;
  if (reading.now >= until) return std::nullopt;
  return until;
}

absl::StatusOr<IdentityId> Identities::SignInFederated(
    std::string_view provider, std::string_view subject,
    std::string_view email_text, const Profile& profile) {
  const auto printable = [](std::string_view text) {
    if (text.empty() || text.size() > 256) return false;
    for (const char c : text) {
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
    }
    return true;
  };
  if (!printable(provider) || !printable(subject)) {
    return Error(absl::StatusCode::kInvalidArgument, Reason::kInvalidArgument,
                 "The provider and subject must be 1 to 256 visible "
                 "characters without spaces.");
  }
  ENTITLE_ASSIGN_OR_RETURN(Email email, ParseEmail(email_text));
  IdentityRecord record;
  ENTITLE_RETURN_IF_ERROR(ApplyProfile(AsUpdate(profile), record));
  // Provider and subject hold no spaces, so the pair is unambiguous.
  const std::string federated_subject =
      absl::StrCat(AbslView(provider), " ", AbslView(subject));

  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  ENTITLE_ASSIGN_OR_RETURN(
      std::optional<OrganizationRecord> organization,
      FindFirst(
          op.tx().organizations(),
          OrganizationFilter{.federation_provider = std::string(provider)}));
  if (!organization.has_value()) {
    return Error(absl::StatusCode::kNotFound, Reason::kUnknownProvider,
                 absl::StrCat("No organization signs in through ",
                              AbslView(provider), "."));
  }
  const OrganizationId organization_id = organization->id;
  // SEC-1: a provider speaks only for the domains its organization has
  // verified; checked at every sign-in, since the address is asserted anew.
  ENTITLE_ASSIGN_OR_RETURN(
      std::optional<DomainRecord> domain,
      FindFirst(op.tx().domains(),
                DomainFilter{.organization_id = organization_id,
                             .name = std::string(email.domain()),
                             .status = DomainStatus::kVerified}));
  if (!domain.has_value()) {
    return Error(
        absl::StatusCode::kPermissionDenied, Reason::kDomainNotVerified,
        absl::StrCat("The identity provider ", AbslView(provider),
                     " may sign in only addresses of domains that ",
                     organization->name, " has verified, and ",
                     AbslView(email.domain()), " is not one of them."));
  }

  ENTITLE_ASSIGN_OR_RETURN(
      std::optional<IdentityRecord> known,
      FindFirst(op.tx().identities(),
                IdentityFilter{.federated_subject = federated_subject}));
  if (known.has_value()) {
    IdentityRecord identity = *known;
    if (identity.locked) return Locked();
    identity.last_login_at = op.now();
    ENTITLE_RETURN_IF_ERROR(op.tx().identities().Update(identity));
    op.Audit(Actor::Identity(identity.id), organization_id, "identity.sign-in",
             AuditTarget(identity.id),
             absl::StrCat("through ", AbslView(provider)));
    ENTITLE_RETURN_IF_ERROR(op.Commit());
    return identity.id;
  }

  ENTITLE_ASSIGN_OR_RETURN(std::optional<IdentityRecord> owner,
                           FindByEmailIn(op.tx(), email));
  if (owner.has_value()) return EmailTaken(email);
  record.email = email;
  record.verified = true;  // The provider vouches for the address.
  record.federated_subject = federated_subject;
  record.created_at = op.now();
  record.last_login_at = op.now();
  absl::StatusOr<IdentityId> id = op.tx().identities().Insert(record);
  if (!id.ok()) return EmailTakenIfDuplicate(id.status(), email);
  MembershipRecord membership;
  membership.organization_id = organization_id;
  membership.identity_id = *id;
  membership.kind = MembershipKind::kEmployee;
  membership.status = MembershipStatus::kActive;
  membership.created_at = op.now();
  ENTITLE_RETURN_IF_ERROR(op.tx().memberships().Insert(membership));
  const Actor system = Actor::Identity(*id);
  op.Audit(system, organization_id, "identity.federated.create",
           AuditTarget(*id),
           absl::StrCat("first sign-in through ", AbslView(provider)));
  op.Audit(system, organization_id, "membership.add", AuditTarget(*id),
           "employee, created just in time");
  if (absl::Status s = op.Commit(); !s.ok()) {
    return EmailTakenIfDuplicate(s, email);
  }
  return *id;
}

absl::Status Identities::Delete(const Actor& actor, IdentityId id) {
  ENTITLE_ASSIGN_OR_RETURN(Operation op, Operation::Begin(context_));
  Transaction& tx = op.tx();
  ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity, LoadIdentity(tx, id));
  ENTITLE_RETURN_IF_ERROR(
      internal::RequireSelfOrAdmin(tx, actor, id, kManageUsers));
  // SEC-2: deleting an administrator needs the administrators permission.
  ENTITLE_RETURN_IF_ERROR(
      internal::RequireAdministratorsPermission(tx, actor, id));
  // Each membership ends as a removal would (ORG-5), refusing the last
  // administrator of an organization (ORG-4).
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<MembershipRecord> memberships,
      ListAll(tx.memberships(), MembershipFilter{.identity_id = id}));
  for (const MembershipRecord& membership : memberships) {
    ENTITLE_RETURN_IF_ERROR(internal::EndMembership(
        op, actor, membership.organization_id, id, std::nullopt));
  }

  // What no membership covers. Children first: the store refuses to delete an
  // identity still named.
  ENTITLE_RETURN_IF_ERROR(internal::DeleteAll(
      tx.role_grants(), RoleGrantFilter{.identity_id = id},
      [](const RoleGrantRecord& r) {
        return RoleGrantKey{r.organization_id, r.identity_id, r.role_id};
      }));
  ENTITLE_RETURN_IF_ERROR(internal::DeleteAll(
      tx.group_members(), GroupMemberFilter{.identity_id = id},
      [](const GroupMemberRecord& r) {
        return GroupMemberKey{r.group_id, r.identity_id};
      }));
  ENTITLE_RETURN_IF_ERROR(internal::DeleteAll(
      tx.license_assignments(), LicenseAssignmentFilter{.identity_id = id},
      [](const LicenseAssignmentRecord& r) {
        return LicenseAssignmentKey{r.entitlement_id, r.identity_id};
      }));
  ENTITLE_RETURN_IF_ERROR(
      internal::DeleteAll(tx.pool_grants(), PoolGrantFilter{.identity_id = id},
                          [](const PoolGrantRecord& r) { return r.id; }));
  ENTITLE_RETURN_IF_ERROR(internal::DeleteAll(
      tx.project_members(), ProjectMemberFilter{.identity_id = id},
      [](const ProjectMemberRecord& r) {
        return ProjectMemberKey{r.project_id, r.identity_id};
      }));
  ENTITLE_RETURN_IF_ERROR(internal::DeleteAll(
      tx.join_requests(), JoinRequestFilter{.identity_id = id},
      [](const JoinRequestRecord& r) { return r.id; }));
  ENTITLE_RETURN_IF_ERROR(
      internal::DeleteAll(tx.link_tokens(), LinkTokenFilter{.identity_id = id},
                          [](const LinkTokenRecord& r) { return r.id; }));
  ENTITLE_RETURN_IF_ERROR(internal::DeleteAll(
      tx.device_checks(), DeviceCheckFilter{.identity_id = id},
      [](const DeviceCheckRecord& r) {
        return DeviceCheckKey{r.identity_id, r.device_id};
      }));
  // Its activations and sessions (ACT-1, ACT-6) go with it; the serving
  // process frees its seats after the commit (ORG-5's path).
  ENTITLE_RETURN_IF_ERROR(
      internal::DeleteAll(tx.activations(), ActivationFilter{.identity_id = id},
                          [](const ActivationRecord& r) { return r.id; }));
  ENTITLE_RETURN_IF_ERROR(
      internal::DeleteAll(tx.invitations(),
                          InvitationFilter{.email = identity.email,
                                           .status = InvitationStatus::kNew},
                          [](const InvitationRecord& r) { return r.id; }));
  // Records of what the identity did stay, without naming it (ID-13).
  ENTITLE_RETURN_IF_ERROR(
      internal::UpdateAll(tx.invitations(), InvitationFilter{.invited_by = id},
                          [](InvitationRecord& r) { r.invited_by.reset(); }));
  ENTITLE_RETURN_IF_ERROR(internal::UpdateAll(
      tx.join_requests(), JoinRequestFilter{.decided_by = id},
      [](JoinRequestRecord& r) { r.decided_by.reset(); }));
  ENTITLE_RETURN_IF_ERROR(
      internal::UpdateAll(tx.jobs(), JobFilter{.created_by = id},
                          [](JobRecord& r) { r.created_by.reset(); }));
  ENTITLE_RETURN_IF_ERROR(tx.identities().Delete(id));
  op.Audit(actor, std::nullopt, "identity.delete", AuditTarget(id),
           absl::StrCat("was ", identity.email.str()));
  return op.Commit();
}

absl::StatusOr<IdentityInfo> Identities::Get(const Actor& actor,
                                             IdentityId id) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity,
                           LoadIdentity(reading.tx(), id));
  ENTITLE_RETURN_IF_ERROR(
      internal::RequireSelfOrAdmin(reading.tx(), actor, id, kManageUsers));
  return ToInfo(context_.identity_policy, identity);
}

absl::StatusOr<IdentityInfo> Identities::FindByEmail(
    const Actor& actor, std::string_view email_text) {
  ENTITLE_ASSIGN_OR_RETURN(Email email, ParseEmail(email_text));
  IdentityId id;
  {
    ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
    ENTITLE_ASSIGN_OR_RETURN(std::optional<IdentityRecord> identity,
                             FindByEmailIn(reading.tx(), email));
    if (!identity.has_value()) return UnknownUser();
    id = identity->id;
  }
  return Get(actor, id);
}

// ------------------------------------------------------------------ bulk

namespace {

// Runs `one` for each of `ids`, each in its own transaction (the single
// call's), after refusing a batch that is wrong as a whole.
absl::StatusOr<std::vector<IdentityResult>> ForEachIdentity(
    const Actor& actor, const std::vector<IdentityId>& ids,
    std::string_view what, const std::function<absl::Status(IdentityId)>& one) {
  if (!actor.is_identity() && !actor.is_operator()) {
    return internal::PermissionDenied(
        absl::StrCat(AbslView(what), " identities without signing in"));
  }
  if (ids.empty()) {
    return Error(absl::StatusCode::kInvalidArgument, Reason::kInvalidArgument,
                 "Name at least one identity.");
  }
  if (ids.size() > kMaxIdentityBatch) {
    return Error(absl::StatusCode::kInvalidArgument, Reason::kLimitExceeded,
                 absl::StrCat("At most ", kMaxIdentityBatch,
                              " identities can be changed at once; got ",
                              ids.size(), "."));
  }
  std::set<IdentityId> seen;
  for (const IdentityId id : ids) {
    if (!seen.insert(id).second) {
      return Error(
          absl::StatusCode::kInvalidArgument, Reason::kInvalidArgument,
          absl::StrCat("Identity #", id.value(), " is named more than once."));
    }
  }
  std::vector<IdentityResult> results;
  results.reserve(ids.size());
  for (const IdentityId id : ids) {
    results.push_back(IdentityResult{id, one(id)});
  }
  return results;
}

}  // namespace

absl::StatusOr<std::vector<IdentityResult>> Identities::LockMany(
    const Actor& actor, const std::vector<IdentityId>& ids) {
  return ForEachIdentity(actor, ids, "lock",
                         [&](IdentityId id) { return Lock(actor, id); });
}

absl::StatusOr<std::vector<IdentityResult>> Identities::UnlockMany(
    const Actor& actor, const std::vector<IdentityId>& ids) {
  return ForEachIdentity(actor, ids, "unlock",
                         [&](IdentityId id) { return Unlock(actor, id); });
}

absl::StatusOr<std::vector<IdentityResult>> Identities::DeleteMany(
    const Actor& actor, const std::vector<IdentityId>& ids) {
  return ForEachIdentity(actor, ids, "delete",
                         [&](IdentityId id) { return Delete(actor, id); });
}

}  // namespace entitle
