// Errors carry a machine-readable Reason as a status payload (status.h).
#include "absl/status/status.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "entitle/status.h"

namespace {

using entitle::GetReason;
using entitle::MakeError;
using entitle::Reason;
using entitle::ReasonName;

// Every Reason value status.h declares, as the library lists them.
std::vector<Reason> AllReasons() {
  absl::Span<const Reason> all = entitle::AllReasons();
  return std::vector<Reason>(all.begin(), all.end());
}

TEST_CASE("status: AllReasons lists each reason once, ascending, kNone first",
          "[status]") {
  const std::vector<Reason> all = AllReasons();
  REQUIRE(all.front() == Reason::kNone);
  for (size_t i = 1; i < all.size(); ++i) {
    REQUIRE(static_cast<int>(all[i - 1]) < static_cast<int>(all[i]));
  }
  REQUIRE(all.back() == Reason::kForceReleased);
}

TEST_CASE("status: reason values are stable numbers", "[status]") {
  // Hosts may persist them: these numbers must never change.
  REQUIRE(static_cast<int>(Reason::kNone) == 0);
  REQUIRE(static_cast<int>(Reason::kInvalidEmail) == 1);
  REQUIRE(static_cast<int>(Reason::kInvalidArgument) == 2);
  REQUIRE(static_cast<int>(Reason::kNotFound) == 10);
  REQUIRE(static_cast<int>(Reason::kDuplicate) == 11);
  REQUIRE(static_cast<int>(Reason::kMissingReference) == 12);
  REQUIRE(static_cast<int>(Reason::kStillReferenced) == 13);
  REQUIRE(static_cast<int>(Reason::kStoreUnavailable) == 14);
  REQUIRE(static_cast<int>(Reason::kStoreCorrupt) == 15);
  REQUIRE(static_cast<int>(Reason::kTransactionFinished) == 16);
  REQUIRE(static_cast<int>(Reason::kReadOnlyTransaction) == 17);
  REQUIRE(static_cast<int>(Reason::kPermissionDenied) == 20);
  REQUIRE(static_cast<int>(Reason::kWeakPassword) == 30);
  REQUIRE(static_cast<int>(Reason::kBadCredentials) == 31);
  REQUIRE(static_cast<int>(Reason::kNotVerified) == 32);
  REQUIRE(static_cast<int>(Reason::kIdentityLocked) == 33);
  REQUIRE(static_cast<int>(Reason::kUnknownUser) == 34);
  REQUIRE(static_cast<int>(Reason::kEmailTaken) == 35);
  REQUIRE(static_cast<int>(Reason::kInvalidProfile) == 36);
  REQUIRE(static_cast<int>(Reason::kAlreadyVerified) == 37);
  REQUIRE(static_cast<int>(Reason::kUnknownProvider) == 38);
  REQUIRE(static_cast<int>(Reason::kLastAdministrator) == 39);
  REQUIRE(static_cast<int>(Reason::kInvalidLink) == 40);
  REQUIRE(static_cast<int>(Reason::kLinkExpired) == 41);
  REQUIRE(static_cast<int>(Reason::kLinkUsed) == 42);
  REQUIRE(static_cast<int>(Reason::kLinkSuperseded) == 43);
  REQUIRE(static_cast<int>(Reason::kAlreadyMember) == 50);
  REQUIRE(static_cast<int>(Reason::kNotMember) == 51);
  REQUIRE(static_cast<int>(Reason::kEmployeeElsewhere) == 52);
  REQUIRE(static_cast<int>(Reason::kDomainOwnedElsewhere) == 53);
  REQUIRE(static_cast<int>(Reason::kDomainPending) == 54);
  REQUIRE(static_cast<int>(Reason::kDomainNotOwned) == 55);
  REQUIRE(static_cast<int>(Reason::kPublicMailDomain) == 56);
  REQUIRE(static_cast<int>(Reason::kNotEmployee) == 57);
  REQUIRE(static_cast<int>(Reason::kInvitationExpired) == 60);
  REQUIRE(static_cast<int>(Reason::kInvitationAlreadyAccepted) == 61);
  REQUIRE(static_cast<int>(Reason::kInvitationRevoked) == 62);
  REQUIRE(static_cast<int>(Reason::kInvitationSuperseded) == 63);
  REQUIRE(static_cast<int>(Reason::kInvitationRejected) == 64);
  REQUIRE(static_cast<int>(Reason::kWrongInvitee) == 65);
  REQUIRE(static_cast<int>(Reason::kLimitExceeded) == 66);
  REQUIRE(static_cast<int>(Reason::kRequestDecided) == 67);
  REQUIRE(static_cast<int>(Reason::kSeatsExhausted) == 70);
  REQUIRE(static_cast<int>(Reason::kLicensesExhausted) == 71);
  REQUIRE(static_cast<int>(Reason::kOutsidePeriod) == 72);
  REQUIRE(static_cast<int>(Reason::kCountryNotAllowed) == 73);
  REQUIRE(static_cast<int>(Reason::kNoLicense) == 74);
  REQUIRE(static_cast<int>(Reason::kAlreadyAssigned) == 75);
  REQUIRE(static_cast<int>(Reason::kWrongEntitlementKind) == 76);
  REQUIRE(static_cast<int>(Reason::kSeatNotHeld) == 77);
  REQUIRE(static_cast<int>(Reason::kWrongRegion) == 78);
  REQUIRE(static_cast<int>(Reason::kProjectArchived) == 79);
  REQUIRE(static_cast<int>(Reason::kSignInThrottled) == 80);
  REQUIRE(static_cast<int>(Reason::kAccessExcepted) == 87);
  REQUIRE(static_cast<int>(Reason::kServedElsewhere) == 88);
  REQUIRE(static_cast<int>(Reason::kForceReleased) == 89);
}

TEST_CASE("status: every reason has its own name", "[status]") {
  std::set<std::string_view> names;
  for (Reason r : AllReasons()) {
    std::string_view name = ReasonName(r);
    INFO("reason " << static_cast<int>(r) << " name " << name);
    REQUIRE_FALSE(name.empty());
    REQUIRE(name != "unknown");
    names.insert(name);
  }
  REQUIRE(names.size() == AllReasons().size());
  REQUIRE(ReasonName(Reason::kDuplicate) == "duplicate");
  REQUIRE(ReasonName(static_cast<Reason>(999)) == "unknown");
  REQUIRE(ReasonName(static_cast<Reason>(-1)) == "unknown");
  REQUIRE(ReasonName(static_cast<Reason>(4)) == "unknown");  // A gap.
}

TEST_CASE("status: MakeError and GetReason round-trip every reason",
          "[status]") {
  for (Reason r : AllReasons()) {
    if (r == Reason::kNone) continue;
    absl::Status s =
        MakeError(absl::StatusCode::kFailedPrecondition, r, "what went wrong");
    INFO(s.ToString());
    REQUIRE_FALSE(s.ok());
    REQUIRE(s.code() == absl::StatusCode::kFailedPrecondition);
    REQUIRE(s.message() == "what went wrong");
    REQUIRE(GetReason(s) == r);
    // The payload is the reason's name under the documented URL.
    auto payload = s.GetPayload(entitle::kReasonPayloadUrl);
    REQUIRE(payload.has_value());
    REQUIRE(std::string(*payload) == std::string(ReasonName(r)));
  }
}

TEST_CASE("status: the code is kept as given", "[status]") {
  for (absl::StatusCode code :
       {absl::StatusCode::kInvalidArgument, absl::StatusCode::kNotFound,
        absl::StatusCode::kAlreadyExists, absl::StatusCode::kUnavailable,
        absl::StatusCode::kPermissionDenied}) {
    absl::Status s = MakeError(code, Reason::kDuplicate, "m");
    REQUIRE(s.code() == code);
    REQUIRE(GetReason(s) == Reason::kDuplicate);
  }
}

TEST_CASE("status: an OK status and a status without payload carry kNone",
          "[status]") {
  REQUIRE(GetReason(absl::OkStatus()) == Reason::kNone);
  REQUIRE(GetReason(absl::NotFoundError("plain")) == Reason::kNone);
  REQUIRE(GetReason(absl::InternalError("")) == Reason::kNone);
  // A payload under another URL is not a reason.
  absl::Status other = absl::InternalError("x");
  other.SetPayload("type.example/other", absl::Cord("duplicate"));
  REQUIRE(GetReason(other) == Reason::kNone);
  // A payload under our URL that names no reason is not one either.
  absl::Status garbled = absl::InternalError("x");
  garbled.SetPayload(entitle::kReasonPayloadUrl, absl::Cord("no-such-reason"));
  REQUIRE(GetReason(garbled) == Reason::kNone);
}

TEST_CASE(
    "status: the reason survives copies and moves of Status and "
    "StatusOr",
    "[status]") {
  absl::StatusOr<int> original =
      MakeError(absl::StatusCode::kAlreadyExists, Reason::kDuplicate, "taken");
  absl::StatusOr<int> copy = original;
  REQUIRE(GetReason(copy.status()) == Reason::kDuplicate);
  absl::StatusOr<std::string> converted = copy.status();
  REQUIRE(GetReason(converted.status()) == Reason::kDuplicate);
  absl::StatusOr<int> moved = std::move(copy);
  REQUIRE(GetReason(moved.status()) == Reason::kDuplicate);
  absl::Status status_copy = original.status();
  absl::Status status_moved = std::move(status_copy);
  REQUIRE(GetReason(status_moved) == Reason::kDuplicate);
  REQUIRE(status_moved.message() == "taken");
  // The original is unchanged.
  REQUIRE(GetReason(original.status()) == Reason::kDuplicate);
}

}  // namespace
