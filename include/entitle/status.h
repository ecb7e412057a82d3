// Errors: absl::Status with a machine-readable reason.
//
// Every operation in entitle returns `absl::Status` or `absl::StatusOr<T>`; no
// exception crosses the API. A failure caused by the domain rules or by bad
// input also carries a `Reason` as a status payload, so a host branches on the
// reason code, never on the message text. The message is written for the admin
// who will read it.
//
//   absl::Status s = store->...;
//   if (entitle::GetReason(s) == entitle::Reason::kDuplicate) { ... }
//
// Reasons are stable: values are only ever appended, never renumbered, so a
// host may persist them. All functions here are thread-safe.
#ifndef ENTITLE_STATUS_H_
#define ENTITLE_STATUS_H_

#include <string_view>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace entitle {

enum class Reason : int {
  // The status is OK, or carries no entitle reason.
  kNone = 0,

  // Input.
  kInvalidEmail = 1,     // ID-2: not a plausible email address.
  kInvalidArgument = 2,  // A field is missing, empty, or out of range.
  kMalformedCsv = 3,     // ADM-2: a CSV record breaks RFC 4180 (quotes,
                         // field count) or is not UTF-8.

  // Store.
  kNotFound = 10,          // No record with that key.
  kDuplicate = 11,         // A unique key is already taken.
  kMissingReference = 12,  // The record names a record that does not exist.
  kStillReferenced = 13,   // Other records still name the one being deleted.
  kStoreUnavailable = 14,  // The store could not be read or written (I/O,
                           // busy beyond the timeout, read-only file).
  kStoreCorrupt = 15,      // The store holds data this version cannot read.
  kTransactionFinished =
      16,  // The transaction was already committed or rolled back.
  kReadOnlyTransaction = 17,  // A write was attempted in a read transaction.

  // Authorization.
  kPermissionDenied = 20,  // The actor may not do this (ORG-7).

  // Identities and credentials.
  kWeakPassword = 30,    // ID-4: the password breaks the policy.
  kBadCredentials = 31,  // Unknown address or wrong password.
  kNotVerified = 32,     // ID-3: the identity has not verified its address.
  kIdentityLocked = 33,  // ID-9
  kUnknownUser = 34,     // ID-6: no identity has this address.
  kEmailTaken = 35,      // ID-1, ID-7: another identity has the address.
  kInvalidProfile = 36,  // A malformed country or language.
  kAlreadyVerified = 37,
  kUnknownProvider = 38,    // ID-11: no organization is federated with it.
  kLastAdministrator = 39,  // ORG-4

  // Links (verification, reset, email change; INV-7's token rules).
  kInvalidLink = 40,  // No such link: malformed, altered or never issued.
  kLinkExpired = 41,
  kLinkUsed = 42,
  kLinkSuperseded = 43,  // A newer link (or a password change) replaced it.

  // Organizations and memberships.
  kAlreadyMember = 50,      // The identity is already a member (of that kind).
  kNotMember = 51,          // The identity is not a member.
  kEmployeeElsewhere = 52,  // ORG-10: an employee of another organization;
                            // invite instead.
  kDomainOwnedElsewhere = 53,  // ORG-9, ORG-10: another organization owns it.
  kDomainPending = 54,         // ORG-10: the domain's ownership is pending.
  kDomainNotOwned = 55,        // ORG-10: not one of the organization's domains;
                               // invite instead.
  kPublicMailDomain = 56,      // ORG-9: public mail domains cannot be claimed.
  kNotEmployee = 57,           // ORG-4: administrator rights are for employees.

  // Invitations and join requests.
  kInvitationExpired = 60,          // INV-2
  kInvitationAlreadyAccepted = 61,  // INV-5: a second click on a used link.
  kInvitationRevoked = 62,          // INV-4
  kInvitationSuperseded = 63,       // INV-3: resent; use the newer link.
  kInvitationRejected = 64,         // INV-5
  kWrongInvitee = 65,               // INV-5: the link is for another address.
  kLimitExceeded = 66,   // A batch or page over its documented limit.
  kRequestDecided = 67,  // INV-11: the join request was decided.

  // Entitlements, licenses and seats.
  kSeatsExhausted = 70,        // ENT-5: "All license seats are reserved".
  kLicensesExhausted = 71,     // ENT-2: every named license is assigned.
  kOutsidePeriod = 72,         // ENT-6: not within the subscription period.
  kCountryNotAllowed = 73,     // ENT-2, ENT-10: not usable in that country.
  kNoLicense = 74,             // ENT-10: no assignment or pool access.
  kAlreadyAssigned = 75,       // ENT-2, ENT-3: the license or access exists.
  kWrongEntitlementKind = 76,  // A named operation on a pool, or the reverse.
  kSeatNotHeld = 77,           // ENT-4, ENT-11: the device holds no seat.

  // Projects.
  kWrongRegion = 78,      // PRJ-2: the project is hosted in another region.
  kProjectArchived = 79,  // The project is archived and takes no changes.

  // Security (SEC-1 to SEC-13).
  kSignInThrottled = 80,     // SEC-10: too many failed sign-ins; the message
                             // says when to try again.
  kMailLimited = 81,         // SEC-10: too many mails to the address this hour.
  kDomainNotVerified = 82,   // SEC-1: the address's domain is not verified by
                             // the federating organization.
  kDomainProofMissing = 83,  // SEC-4: no DNS TXT record carries the token.
  kVerifierUnavailable = 84,  // SEC-4: DNS could not be asked (timeout, no
                              // server); try again later.
  kInvalidName = 85,     // SEC-6: not UTF-8, a control character, or too long.
  kInvalidDevice = 86,   // SEC-8: a device id that is empty, too long or
                         // holds characters outside the allowed set.
  kAccessExcepted = 87,  // An exception denies this member the pool it
                         // reaches through a group.

  // Activations (ACT-1 to ACT-7).
  kServedElsewhere = 88,  // ACT-3: another process serves the seats of this
                          // store; the message names it (holder, host,
                          // process).
  kForceReleased = 89,    // ACT-5: an administrator freed this device's seat;
                          // a new checkout is needed.
};

// The reason's stable name, e.g. "duplicate". Unknown values give "unknown".
std::string_view ReasonName(Reason reason);

// Every reason this version knows, kNone first, in ascending value order (for
// hosts that map reasons to their own messages or codes).
absl::Span<const Reason> AllReasons();

// The reason carried by `status`, or `Reason::kNone` when it carries none
// (including for an OK status).
Reason GetReason(const absl::Status& status);

// A non-OK status with `code`, `message` and `reason` attached as payload.
// `code` must not be kOk.
absl::Status MakeError(absl::StatusCode code, Reason reason,
                       std::string_view message);

// The payload type URL under which the reason is stored (its value is the
// reason's name). Exposed for hosts that forward statuses over the wire. A
// character array, so it passes as absl::string_view (absl::Status's payload
// calls) and as std::string_view alike.
inline constexpr char kReasonPayloadUrl[] = "type.entitle/entitle.Reason";

}  // namespace entitle

#endif  // ENTITLE_STATUS_H_
