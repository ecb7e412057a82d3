// Identities: sign-in accounts and their credentials (SPEC ID-1 to ID-13).
//
// An identity is a person's account: a unique email (ID-1, ID-2), a profile, a
// password kept only as an Argon2id hash (ID-5), and its state: verified,
// locked. Every operation here runs as one store transaction and appends an
// audit record; links go out through the `Notifier` after the commit.
//
// Links (verification, password reset, email change) are single-use bearer
// secrets: 256 bits from the `Random` port, sent once, stored only as a BLAKE2b
// hash, compared in constant time. Issuing a link kills every older link of the
// same purpose for that identity. SEC-5: every outstanding link of an identity,
// of all three purposes, dies when its password is set or changed
// (CompleteVerification, CompletePasswordReset, ChangePassword), its address
// changes (ConfirmEmailChange) or it is locked (Lock); with the email change
// link goes the pending address. Delete removes the links with the identity.
// A used, superseded, expired or unknown link is refused with its own reason
// (kLinkUsed, kLinkSuperseded, kLinkExpired, kInvalidLink); one killed as above
// is kLinkSuperseded (a deleted identity's is kInvalidLink).
//
// Throttling (SEC-10), kept in the store so that every process on it counts
// alike, with the limits of IdentityPolicy (options.h):
//   - Failed sign-ins are counted per email address asked for (normalized;
//     an address no identity has is counted the same, so probing tells
//     nothing) and per client address, when the host passes one. Once a key
//     has max_failed_sign_ins failures within sign_in_failure_window (5 in
//     15 minutes), every further attempt with it is refused with
//     kSignInThrottled, the right password too, and the message says when to
//     try again: when the oldest of those failures leaves the window (a
//     sliding window). A refused attempt is not checked and not counted.
//   - An attempt counts as a failure from its start (so parallel guesses
//     cannot pass the limit together) and is taken back when it signs in;
//     any attempt that reaches the password check and does not sign in
//     counts, a locked identity's with the right password too. An attempt
//     refused before the password check (a malformed argument, an unverified
//     identity, a store failure before counting) does not count.
//   - A successful sign-in forgets the address's failures, not the client
//     address's (an attacker trying many addresses stays throttled).
//   - Failed sign-ins are not audited (as before throttling), so throttled
//     attempts are not either.
//   - Link mails (verification, password reset, and the confirmation of a
//     new address, which is a verification of that address too) are counted
//     per address they go to, whoever asks: the one past
//     mails_per_address_per_hour within an hour is refused with kMailLimited
//     and its operation does nothing (no identity, link or mail).
//
// Choices where the SPEC is silent:
//   - The mandatory profile fields (ID-12) are the display name and the
//   country.
//   - Completing a password reset also verifies an unverified identity: the
//     link proves control of the address exactly as the verification link does.
//   - Sign-in answers "wrong email or password" alike for an unknown address
//   and
//     a wrong password, and tells a locked identity apart only once the
//     password was right, so neither reveals more than the SPEC requires. An
//     unverified identity is told so at once (ID-3).
//   - A federated sign-in (ID-11) for an address that already belongs to a
//     password identity is refused (kEmailTaken): an identity provider may not
//     take over an existing account.
//   - SEC-1: a provider may sign in only addresses whose domain its
//     organization has verified (the domain itself, not its subdomains),
//     checked at every federated sign-in, so an organization that loses its
//     domain can no longer sign its users in. The asserted address is not
//     written to an existing identity (an address changes through ID-7).
//   - Looking an identity up by address (FindByEmail, ResendVerification,
//     RequestPasswordReset) fails with NotFound / kUnknownUser when no
//     identity has it; by id (Get and the rest) with NotFound / kNotFound.
//   - Who may act on an identity: itself, the operator, or (for lock, unlock,
//     delete and reading) an administrator of its employee organization with
//     the manage-users permission. A locked identity may do nothing.
//   - SEC-2: locking, unlocking, deleting or sending a password-reset link
//     to an administrator (an identity holding a role with the
//     manage-administrators permission somewhere) also needs
//     kManageAdministrators in that organization: a Co-Administrator is
//     refused with kPermissionDenied. The operator keeps its powers. The last
//     unlocked administrator of an organization cannot be locked, by anyone
//     (kLastAdministrator), nor deleted (ORG-4): locked administrators do not
//     count as remaining ones.
//   - Bulk lock, unlock and delete (LockMany, UnlockMany, DeleteMany) run
//     each identity in its own transaction, exactly as the single call, in
//     the order given: a result is final once reported, one identity's
//     refusal never stops or undoes the others, and a long batch does not
//     hold the store's writer for its whole length.
//
// Thread-safe: every method may be called concurrently; each is atomic.
// Owned by a `Directory` (directory.h), which must outlive every use.
#ifndef ENTITLE_IDENTITIES_H_
#define ENTITLE_IDENTITIES_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/email.h"
#include "entitle/ids.h"

namespace entitle {
namespace internal {
struct ServiceContext;
}  // namespace internal

// The fields a person fills in. `country` is an ISO 3166-1 alpha-2 code (any
// case; stored upper case), `language` a BCP 47 tag such as "de" or "pt-BR"
// (stored as given, compared case-insensitively). Empty means unset.
struct Profile {
  std::string display_name;
  std::string country;
  std::string language;
};

// A change to a profile: only the set fields change. Setting a field to the
// empty string clears it.
struct ProfileUpdate {
  std::optional<std::string> display_name;
  std::optional<std::string> country;
  std::optional<std::string> language;
};

// What may be shown of an identity. Never holds a password hash.
struct IdentityInfo {
  IdentityId id;
  Email email;
  std::optional<Email> pending_email;  // Waiting for confirmation (ID-7).
  std::string display_name;
  std::string country;
  std::string language;            // As set; empty when unset.
  std::string effective_language;  // ID-8: `language` if supported, else "en".
  bool verified = false;
  bool locked = false;
  bool profile_complete = false;
  bool federated = false;
  absl::Time created_at;
  std::optional<absl::Time> last_login_at;  // ID-10
};

// The most identities one bulk call (LockMany, UnlockMany, DeleteMany) may
// name.
inline constexpr size_t kMaxIdentityBatch = 1000;

// What happened to one identity of a bulk call.
struct IdentityResult {
  IdentityId identity;
  absl::Status status;  // OK, or why this one was refused (as the single
                        // call would say: kNotFound, kPermissionDenied,
                        // kLastAdministrator, ...).
};

class Identities {
 public:
  Identities(const Identities&) = delete;
  Identities& operator=(const Identities&) = delete;

  // ID-3: creates an unverified identity and sends it a one-time link
  // ("verify-email") to set its password. `actor` is who asks: anonymous for
  // self-registration, or the operator. Fails with kInvalidEmail (ID-2),
  // kEmailTaken when another identity has the address (ID-1), kInvalidProfile
  // for a malformed country or language, kInvalidName for a display name that
  // is not valid UTF-8, holds control or invisible characters or is longer
  // than 200 characters (SEC-6), kMailLimited (SEC-10).
  absl::StatusOr<IdentityId> Register(const Actor& actor,
                                      std::string_view email,
                                      const Profile& profile = {});

  // Sends a new verification link to an unverified identity; the older one
  // dies. Fails with kUnknownUser for an unknown address, kAlreadyVerified for
  // a verified one, kMailLimited (SEC-10).
  absl::Status ResendVerification(std::string_view email);

  // ID-3: uses a verification link: sets the password (ID-4) and verifies the
  // identity; every other link of it dies (SEC-5). Fails with kWeakPassword
  // (nothing is used up), or a link reason.
  absl::Status CompleteVerification(std::string_view token,
                                    std::string_view password);

  // ID-3, ID-9, ID-10: signs in and records the time; with a `device`, also
  // records that the device checked access (for ID-9's offline grace).
  // `client_address` is where the attempt comes from as the host sees it
  // (an IP address, say), throttled on its own (SEC-10; see above); empty
  // when the host gives none. It is compared after ASCII lower-casing: pass
  // one spelling per client (the address without a port). Fails with
  // kBadCredentials (unknown address or wrong password), kNotVerified,
  // kIdentityLocked, ResourceExhausted / kSignInThrottled (with the time to
  // try again in the message), kInvalidArgument for a `client_address` over
  // 128 characters or holding anything but printable ASCII without spaces,
  // or an IdentityPolicy throttle field out of its bounds.
  absl::StatusOr<IdentityId> SignIn(std::string_view email,
                                    std::string_view password,
                                    const std::optional<DeviceId>& device = {},
                                    std::string_view client_address = {});

  // ID-6, ADM-3: sends a one-time password reset link ("password-reset"); every
  // older reset link dies. `actor` is anonymous for "forgot password", or an
  // administrator sending it to a member (SEC-2: to an administrator only
  // with kManageAdministrators; kPermissionDenied otherwise). Fails with
  // NotFound / kUnknownUser and the message "Sorry, we didn't recognise this
  // user. Please enter a valid Email address." when no identity has the
  // address; kMailLimited (SEC-10).
  absl::Status RequestPasswordReset(const Actor& actor, std::string_view email);

  // ID-6: uses a reset link to set a new password (ID-4). Every other link
  // of the identity dies (SEC-5).
  absl::Status CompletePasswordReset(std::string_view token,
                                     std::string_view password);

  // Changes the actor's own password. Fails with kBadCredentials when
  // `current_password` is wrong, kWeakPassword. Every link of the identity
  // dies (ID-6, SEC-5).
  absl::Status ChangePassword(const Actor& actor,
                              std::string_view current_password,
                              std::string_view new_password);

  // ID-7: starts moving identity `id` to `new_email`: sends a confirmation link
  // ("email-change") to the new address; the old address keeps signing in
  // until it is confirmed. Fails with kEmailTaken when another identity has
  // the new address, kInvalidEmail, kPermissionDenied, kMailLimited (SEC-10:
  // counted against the new address).
  absl::Status RequestEmailChange(const Actor& actor, IdentityId id,
                                  std::string_view new_email);

  // ID-7: confirms an email change; from then on only the new address signs
  // in, and every other link of the identity dies (SEC-5: a reset link mailed
  // to the old address among them). Fails with kEmailTaken when the address
  // was taken meanwhile, or a link reason.
  absl::Status ConfirmEmailChange(std::string_view token);

  // ID-8, ID-12: changes profile fields. When the mandatory fields become
  // complete, memberships waiting for them become active. Fails with
  // kInvalidProfile (country, language), kInvalidName (display name, as for
  // Register), kPermissionDenied (only the identity itself or the operator
  // may edit a profile).
  absl::Status UpdateProfile(const Actor& actor, IdentityId id,
                             const ProfileUpdate& update);

  // ID-9: locks and unlocks sign-in. Locking keeps memberships and
  // assignments, and kills every link of the identity (SEC-5); unlocking
  // revives none. Locking or unlocking one's own account is refused. Fails
  // with kNotFound, kPermissionDenied (SEC-2: for an administrator, without
  // kManageAdministrators), kLastAdministrator when locking the last unlocked
  // administrator of an organization. Locking a locked identity (unlocking
  // an unlocked one) succeeds and changes nothing.
  absl::Status Lock(const Actor& actor, IdentityId id);
  absl::Status Unlock(const Actor& actor, IdentityId id);

  // ID-9: until when `device` keeps offline ("disable mode") access: the
  // offline grace (7 days by default) after the device's last successful
  // access check, whether or not the identity has been locked since. Nothing
  // when the device never checked access or the grace has passed.
  // kInvalidDevice for a device id the checkout path would refuse (SEC-8,
  // seat_types.h).
  absl::StatusOr<std::optional<absl::Time>> OfflineAccessUntil(
      IdentityId id, const DeviceId& device);

  // ID-11: signs in through the identity provider `provider` the subject
  // `subject` asserts. The first sign-in creates the identity, verified, as an
  // employee of the organization federated with that provider; later ones find
  // it by subject. Fails with kUnknownProvider, PermissionDenied /
  // kDomainNotVerified when the organization has not verified `email`'s
  // domain (SEC-1; nothing is made or signed in), kEmailTaken,
  // kIdentityLocked.
  absl::StatusOr<IdentityId> SignInFederated(std::string_view provider,
                                             std::string_view subject,
                                             std::string_view email,
                                             const Profile& profile = {});

  // ID-13: deletes the identity with its memberships, roles, group places,
  // license assignments, pool grants, project places, join requests, links,
  // device checks and the pending invitations to its address, in one
  // transaction. Fails with kLastAdministrator when it is the last unlocked
  // administrator of an organization (ORG-4), kPermissionDenied (SEC-2: for
  // an administrator, without kManageAdministrators).
  absl::Status Delete(const Actor& actor, IdentityId id);

  // The identity as an admin or the identity itself may see it. Fails with
  // NotFound / kNotFound when no identity has the id, kPermissionDenied.
  absl::StatusOr<IdentityInfo> Get(const Actor& actor, IdentityId id);
  // The same, found by address (compared as ID-1 says). Fails with
  // kInvalidEmail, NotFound / kUnknownUser when no identity has the address
  // (as every lookup by address), kPermissionDenied.
  absl::StatusOr<IdentityInfo> FindByEmail(const Actor& actor,
                                           std::string_view email);

  // ID-9, ID-13, ADM-3 in bulk: locks, unlocks or deletes each identity of
  // `ids` as Lock, Unlock and Delete do (the same checks, SEC-2's included,
  // and the same audit record for each success), each in its own
  // transaction, in the order given. Returns one result per identity, in that
  // order; a store failure is that identity's result and the next ones are
  // still tried. The call fails as a whole and changes nothing for an actor
  // that is neither an identity nor the operator (kPermissionDenied), no
  // identities or one named twice (kInvalidArgument), more than
  // kMaxIdentityBatch (kLimitExceeded).
  absl::StatusOr<std::vector<IdentityResult>> LockMany(
      const Actor& actor, const std::vector<IdentityId>& ids);
  absl::StatusOr<std::vector<IdentityResult>> UnlockMany(
      const Actor& actor, const std::vector<IdentityId>& ids);
  absl::StatusOr<std::vector<IdentityResult>> DeleteMany(
      const Actor& actor, const std::vector<IdentityId>& ids);

 private:
  // Made only by a Directory, which owns the context its services share.
  friend class Directory;
  explicit Identities(internal::ServiceContext& context) : context_(context) {}

  internal::ServiceContext& context_;
};

}  // namespace entitle

#endif  // ENTITLE_IDENTITIES_H_
