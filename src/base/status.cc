#include "entitle/status.h"

#include <array>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/cord.h"
#include "base/string_view.h"

namespace entitle {
namespace {

struct ReasonEntry {
  Reason reason;
  std::string_view name;
};

constexpr ReasonEntry kReasons[] = {
    {Reason::kNone, "none"},
    {Reason::kInvalidEmail, "invalid-email"},
    {Reason::kInvalidArgument, "invalid-argument"},
    {Reason::kMalformedCsv, "malformed-csv"},
    {Reason::kNotFound, "not-found"},
    {Reason::kDuplicate, "duplicate"},
    {Reason::kMissingReference, "missing-reference"},
    {Reason::kStillReferenced, "still-referenced"},
    {Reason::kStoreUnavailable, "store-unavailable"},
    {Reason::kStoreCorrupt, "store-corrupt"},
    {Reason::kTransactionFinished, "transaction-finished"},
    {Reason::kReadOnlyTransaction, "read-only-transaction"},
    {Reason::kPermissionDenied, "permission-denied"},
    {Reason::kWeakPassword, "weak-password"},
    {Reason::kBadCredentials, "bad-credentials"},
    {Reason::kNotVerified, "not-verified"},
    {Reason::kIdentityLocked, "identity-locked"},
    {Reason::kUnknownUser, "unknown-user"},
    {Reason::kEmailTaken, "email-taken"},
    {Reason::kInvalidProfile, "invalid-profile"},
    {Reason::kAlreadyVerified, "already-verified"},
    {Reason::kUnknownProvider, "unknown-provider"},
    {Reason::kLastAdministrator, "last-administrator"},
    {Reason::kInvalidLink, "invalid-link"},
    {Reason::kLinkExpired, "link-expired"},
    {Reason::kLinkUsed, "link-used"},
    {Reason::kLinkSuperseded, "link-superseded"},
    {Reason::kAlreadyMember, "already-member"},
    {Reason::kNotMember, "not-member"},
    {Reason::kEmployeeElsewhere, "employee-elsewhere"},
    {Reason::kDomainOwnedElsewhere, "domain-owned-elsewhere"},
    {Reason::kDomainPending, "domain-pending"},
    {Reason::kDomainNotOwned, "domain-not-owned"},
    {Reason::kPublicMailDomain, "public-mail-domain"},
    {Reason::kNotEmployee, "not-employee"},
    {Reason::kInvitationExpired, "invitation-expired"},
    {Reason::kInvitationAlreadyAccepted, "invitation-already-accepted"},
    {Reason::kInvitationRevoked, "invitation-revoked"},
    {Reason::kInvitationSuperseded, "invitation-superseded"},
    {Reason::kInvitationRejected, "invitation-rejected"},
    {Reason::kWrongInvitee, "wrong-invitee"},
    {Reason::kLimitExceeded, "limit-exceeded"},
    {Reason::kRequestDecided, "request-decided"},
    {Reason::kSeatsExhausted, "seats-exhausted"},
    {Reason::kLicensesExhausted, "licenses-exhausted"},
    {Reason::kOutsidePeriod, "outside-period"},
    {Reason::kCountryNotAllowed, "country-not-allowed"},
    {Reason::kNoLicense, "no-license"},
    {Reason::kAlreadyAssigned, "already-assigned"},
    {Reason::kWrongEntitlementKind, "wrong-entitlement-kind"},
    {Reason::kSeatNotHeld, "seat-not-held"},
    {Reason::kWrongRegion, "wrong-region"},
    {Reason::kProjectArchived, "project-archived"},
    {Reason::kSignInThrottled, "sign-in-throttled"},
    {Reason::kMailLimited, "mail-limited"},
    {Reason::kDomainNotVerified, "domain-not-verified"},
    {Reason::kDomainProofMissing, "domain-proof-missing"},
    {Reason::kVerifierUnavailable, "verifier-unavailable"},
    {Reason::kInvalidName, "invalid-name"},
    {Reason::kInvalidDevice, "invalid-device"},
    {Reason::kAccessExcepted, "access-excepted"},
    {Reason::kServedElsewhere, "served-elsewhere"},
    {Reason::kForceReleased, "force-released"},
};

// The reasons of kReasons alone, in the same (ascending) order.
constexpr auto kAllReasons = [] {
  std::array<Reason, std::size(kReasons)> all{};
  for (size_t i = 0; i < all.size(); ++i) all[i] = kReasons[i].reason;
  return all;
}();

}  // namespace

absl::Span<const Reason> AllReasons() { return kAllReasons; }

std::string_view ReasonName(Reason reason) {
  for (const ReasonEntry& entry : kReasons) {
    if (entry.reason == reason) return entry.name;
  }
  return "unknown";
}

Reason GetReason(const absl::Status& status) {
  if (status.ok()) return Reason::kNone;
  auto payload = status.GetPayload(kReasonPayloadUrl);
  if (!payload.has_value()) return Reason::kNone;
  const std::string name(*payload);
  for (const ReasonEntry& entry : kReasons) {
    if (entry.name == name) return entry.reason;
  }
  return Reason::kNone;
}

absl::Status MakeError(absl::StatusCode code, Reason reason,
                       std::string_view message) {
  absl::Status status(code, AbslView(message));
  // An OK code cannot carry a payload; callers must pass an error code.
  if (!status.ok() && reason != Reason::kNone) {
    const std::string_view name = ReasonName(reason);
    status.SetPayload(kReasonPayloadUrl, absl::Cord(AbslView(name)));
  }
  return status;
}

}  // namespace entitle
