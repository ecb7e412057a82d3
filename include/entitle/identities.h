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
// same purpose for that identity; changing the password kills every reset link.
// A used, superseded, expired or unknown link is refused with its own reason
// (kLinkUsed, kLinkSuperseded, kLinkExpired, kInvalidLink).
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
//   - Who may act on an identity: itself, the operator, or (for lock, unlock,
//     delete and reading) an administrator of its employee organization with
//     the manage-users permission. A locked identity may do nothing.
//
// Thread-safe: every method may be called concurrently; each is atomic.
// Owned by a `Directory` (directory.h), which must outlive every use.
#ifndef ENTITLE_IDENTITIES_H_
#define ENTITLE_IDENTITIES_H_

#include <optional>
#include <string>
#include <string_view>

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
  // than 200 characters (SEC-6).
  absl::StatusOr<IdentityId> Register(const Actor& actor,
                                      std::string_view email,
                                      const Profile& profile = {});

  // Sends a new verification link to an unverified identity; the older one
  // dies. Fails with kUnknownUser for an unknown address, kAlreadyVerified for
  // a verified one.
  absl::Status ResendVerification(std::string_view email);

  // ID-3: uses a verification link: sets the password (ID-4) and verifies the
  // identity. Fails with kWeakPassword (nothing is used up), or a link reason.
  absl::Status CompleteVerification(std::string_view token,
                                    std::string_view password);

  // ID-3, ID-9, ID-10: signs in and records the time; with a `device`, also
  // records that the device checked access (for ID-9's offline grace). Fails
  // with kBadCredentials (unknown address or wrong password), kNotVerified,
  // kIdentityLocked.
  absl::StatusOr<IdentityId> SignIn(std::string_view email,
                                    std::string_view password,
                                    const std::optional<DeviceId>& device = {});

  // ID-6, ADM-3: sends a one-time password reset link ("password-reset"); every
  // older reset link dies. `actor` is anonymous for "forgot password", or an
  // administrator sending it to a member. Fails with NotFound / kUnknownUser
  // and the message "Sorry, we didn't recognise this user. Please enter a valid
  // Email address." when no identity has the address.
  absl::Status RequestPasswordReset(const Actor& actor, std::string_view email);

  // ID-6: uses a reset link to set a new password (ID-4). Every other reset
  // link of the identity dies.
  absl::Status CompletePasswordReset(std::string_view token,
                                     std::string_view password);

  // Changes the actor's own password. Fails with kBadCredentials when
  // `current_password` is wrong, kWeakPassword. Every reset link dies (ID-6).
  absl::Status ChangePassword(const Actor& actor,
                              std::string_view current_password,
                              std::string_view new_password);

  // ID-7: starts moving identity `id` to `new_email`: sends a confirmation link
  // ("email-change") to the new address; the old address keeps signing in
  // until it is confirmed. Fails with kEmailTaken when another identity has
  // the new address, kInvalidEmail, kPermissionDenied.
  absl::Status RequestEmailChange(const Actor& actor, IdentityId id,
                                  std::string_view new_email);

  // ID-7: confirms an email change; from then on only the new address signs
  // in. Fails with kEmailTaken when the address was taken meanwhile, or a link
  // reason.
  absl::Status ConfirmEmailChange(std::string_view token);

  // ID-8, ID-12: changes profile fields. When the mandatory fields become
  // complete, memberships waiting for them become active. Fails with
  // kInvalidProfile (country, language), kInvalidName (display name, as for
  // Register), kPermissionDenied (only the identity itself or the operator
  // may edit a profile).
  absl::Status UpdateProfile(const Actor& actor, IdentityId id,
                             const ProfileUpdate& update);

  // ID-9: locks and unlocks sign-in. Locking keeps memberships and
  // assignments. Fails with kPermissionDenied.
  absl::Status Lock(const Actor& actor, IdentityId id);
  absl::Status Unlock(const Actor& actor, IdentityId id);

  // ID-9: until when `device` keeps offline ("disable mode") access: the
  // offline grace (7 days by default) after the device's last successful
  // access check, whether or not the identity has been locked since. Nothing
  // when the device never checked access or the grace has passed.
  absl::StatusOr<std::optional<absl::Time>> OfflineAccessUntil(
      IdentityId id, const DeviceId& device);

  // ID-11: signs in through the identity provider `provider` the subject
  // `subject` asserts. The first sign-in creates the identity, verified, as an
  // employee of the organization federated with that provider; later ones find
  // it by subject. Fails with kUnknownProvider, kEmailTaken, kIdentityLocked.
  absl::StatusOr<IdentityId> SignInFederated(std::string_view provider,
                                             std::string_view subject,
                                             std::string_view email,
                                             const Profile& profile = {});

  // ID-13: deletes the identity with its memberships, roles, group places,
  // license assignments, pool grants, project places, join requests, links,
  // device checks and the pending invitations to its address, in one
  // transaction. Fails with kLastAdministrator when it is the last
  // administrator of an organization (ORG-4), kPermissionDenied.
  absl::Status Delete(const Actor& actor, IdentityId id);

  // The identity as an admin or the identity itself may see it. Fails with
  // kNotFound, kPermissionDenied.
  absl::StatusOr<IdentityInfo> Get(const Actor& actor, IdentityId id);
  absl::StatusOr<IdentityInfo> FindByEmail(const Actor& actor,
                                           std::string_view email);

 private:
  // Made only by a Directory, which owns the context its services share.
  friend class Directory;
  explicit Identities(internal::ServiceContext& context) : context_(context) {}

  internal::ServiceContext& context_;
};

}  // namespace entitle

#endif  // ENTITLE_IDENTITIES_H_
