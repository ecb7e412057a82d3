// The identities service's security rules (SPEC SEC-1, SEC-5, SEC-10) on every
// backend, each with the attack it closes reproduced as a regression test.
#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/directory.h"
#include "entitle/identities.h"
#include "entitle/invitations.h"
#include "entitle/memory_store.h"
#include "entitle/options.h"
#include "entitle/organizations.h"
#include "entitle/records.h"
#include "entitle/status.h"
#include "fixtures/directory_fixture.h"
#include "fixtures/store_fixtures.h"

namespace entitle_test {
namespace {

using namespace entitle;
using absl::StatusCode;

constexpr const char* kNewPassword = "Other-pass22";
constexpr const char* kWrongPassword = "Wrong-pass11";

template <typename F>
IdentityInfo MustGet(F& f, IdentityId id) {
  auto info = f.ids().Get(kOp, id);
  ENTITLE_REQUIRE_OK(info);
  return *info;
}

template <typename F>
IdentityId MustSignIn(F& f, std::string_view email,
                      std::string_view password = kPassword,
                      std::string_view client = {}) {
  auto id = f.ids().SignIn(email, password, std::nullopt, client);
  INFO("sign-in as " << email << " from '" << client << "'");
  ENTITLE_REQUIRE_OK(id);
  return *id;
}

// Signs in with a wrong password and REQUIREs kBadCredentials.
template <typename F>
void FailSignIn(F& f, std::string_view email, std::string_view client = {}) {
  INFO("failing sign-in as " << email << " from '" << client << "'");
  REQUIRE_REASON(f.ids().SignIn(email, kWrongPassword, std::nullopt, client),
                 Reason::kBadCredentials);
}

// REQUIREs that `status` is a throttled sign-in that says to try again after
// `retry` (as "YYYY-MM-DD HH:MM:SS UTC").
void RequireThrottled(const absl::Status& status, const std::string& retry) {
  ENTITLE_REQUIRE_REFUSED(status, StatusCode::kResourceExhausted,
                          Reason::kSignInThrottled);
  INFO("message: " << status.message());
  REQUIRE(absl::StrContains(status.message(), retry));
}

// The federated organization E and the victim organization V of SEC-1.
struct Federation {
  OrgWithAdmin e;
  OrgWithAdmin v;
};

// E owns e.example and is federated by the operator with "idp-e"; V owns
// v.example.
template <typename F>
Federation Federate(F& f) {
  Federation fed;
  fed.e = f.FoundOrg("Evil Corp", "boss@e.example", "e.example");
  ENTITLE_REQUIRE_OK(f.orgs().UpdateOperatorSettings(
      kOp, fed.e.org, OperatorSettings{.federation_provider = "idp-e"}));
  fed.v = f.FoundOrg("Victim", "admin@v.example", "v.example");
  return fed;
}

// ================================================================ SEC-1

// clang-format off
TEMPLATE_TEST_CASE("SEC-1 a federated sign-in for another organization's verified domain is refused: no identity is minted, the invitation and auto-approval stay out of reach",
    "[identities][SEC-1]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const Federation fed = Federate(f);
  // V invites its new hire as an employee, and approves join requests from
  // its own domain automatically (INV-12) through a request link.
  const SentInvitation invitation =
      f.InviteOne(As(fed.v.admin), fed.v.org, "newhire@v.example");
  ENTITLE_REQUIRE_OK(f.orgs().UpdateSettings(
      As(fed.v.admin), fed.v.org,
      OrganizationSettings{.auto_approve_domain_joins = true}));
  auto request_link = f.inv().CreateRequestLink(As(fed.v.admin), fed.v.org);
  ENTITLE_REQUIRE_OK(request_link);
  // The auto-approval is live: a real identity of v.example that follows the
  // link becomes an employee at once.
  const IdentityId real = f.RegisterVerified("real@v.example");
  auto joined = f.inv().FollowRequestLink(As(real), request_link->token);
  ENTITLE_REQUIRE_OK(joined);
  REQUIRE(joined->status == JoinRequestStatus::kApproved);
  const size_t v_members =
      f.template All<MembershipRecord>({.organization_id = fed.v.org}).size();

  // E's provider asserts V's addresses.
  const auto before = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(
      f.ids().SignInFederated("idp-e", "sub-newhire", "newhire@v.example"),
      StatusCode::kPermissionDenied, Reason::kDomainNotVerified);
  REQUIRE_REASON(
      f.ids().SignInFederated("idp-e", "sub-newhire", " NewHire@V.Example "),
      Reason::kDomainNotVerified);
  REQUIRE_REASON(
      f.ids().SignInFederated("idp-e", "sub-second", "second@v.example"),
      Reason::kDomainNotVerified);
  // An address V's identity already has is refused for the domain too.
  REQUIRE_REASON(f.ids().SignInFederated("idp-e", "sub-real", "real@v.example"),
                 Reason::kDomainNotVerified);
  f.RequireUnchanged(before);

  // No identity has the addresses, verified or not.
  REQUIRE_REASON(f.ids().FindByEmail(kOp, "newhire@v.example"),
                 Reason::kUnknownUser);
  REQUIRE_REASON(f.ids().FindByEmail(kOp, "second@v.example"),
                 Reason::kUnknownUser);
  // So V's invitation waits for its real invitee: still New, and only the
  // link's own new-user path (which needs the link) can take it.
  auto listed = f.inv().List(As(fed.v.admin), fed.v.org);
  ENTITLE_REQUIRE_OK(listed);
  REQUIRE(listed->size() == 1);
  REQUIRE(listed->front().id == invitation.id);
  REQUIRE(listed->front().state == InvitationState::kNew);
  // And nobody joined V through its domain.
  REQUIRE(
      f.template All<MembershipRecord>({.organization_id = fed.v.org}).size() ==
      v_members);
  REQUIRE(f.template All<JoinRequestRecord>({.organization_id = fed.v.org})
              .size() == 1);  // The real one's.
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-1 a federated sign-in works for the organization's own verified domain only, checked at every sign-in",
    "[identities][SEC-1][ID-11]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const Federation fed = Federate(f);
  auto claim = f.orgs().ClaimDomain(kOp, fed.e.org, "pending.example");
  ENTITLE_REQUIRE_OK(claim);  // Claimed, never verified.

  // ID-11 holds for E's verified domain.
  auto ann = f.ids().SignInFederated("idp-e", "sub-ann", "Ann@E.example");
  ENTITLE_REQUIRE_OK(ann);
  const IdentityInfo info = MustGet(f, *ann);
  REQUIRE(info.email == E("ann@e.example"));
  REQUIRE(info.verified);
  REQUIRE(info.federated);
  REQUIRE(f.EmployersOf(*ann) == std::vector<OrganizationId>{fed.e.org});

  // A pending domain and a subdomain of a verified one are not verified.
  const auto before = f.Freeze();
  REQUIRE_REASON(
      f.ids().SignInFederated("idp-e", "sub-bo", "bo@pending.example"),
      Reason::kDomainNotVerified);
  REQUIRE_REASON(f.ids().SignInFederated("idp-e", "sub-cy", "cy@sub.e.example"),
                 Reason::kDomainNotVerified);
  // A later sign-in of Ann asserting an address outside E's domains is
  // refused too, and does not sign her in.
  REQUIRE_REASON(f.ids().SignInFederated("idp-e", "sub-ann", "ann@v.example"),
                 Reason::kDomainNotVerified);
  f.RequireUnchanged(before);
  REQUIRE(MustGet(f, *ann).email == E("ann@e.example"));

  // Her address again: signed in, nothing new made.
  f.Advance(absl::Hours(1));
  auto again = f.ids().SignInFederated("idp-e", "sub-ann", "ann@e.example");
  ENTITLE_REQUIRE_OK(again);
  REQUIRE(*again == *ann);
  REQUIRE(MustGet(f, *ann).last_login_at == f.Now());
  REQUIRE(f.Snap().identities.size() == before.snapshot.identities.size());
}

// ================================================================ SEC-5

// clang-format off
TEMPLATE_TEST_CASE("SEC-5 a password-reset link mailed before an address change is refused after the change",
    "[identities][SEC-5]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId vic = f.RegisterVerified("vic@old.example");
  // A reset link goes to the old address (whose mailbox someone else may
  // read once the address is given up).
  ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "vic@old.example"));
  const std::string reset = f.LastToken("vic@old.example", "password-reset");
  ENTITLE_REQUIRE_OK(
      f.ids().RequestEmailChange(As(vic), vic, "vic@new.example"));
  ENTITLE_REQUIRE_OK(f.ids().ConfirmEmailChange(
      f.LastToken("vic@new.example", "email-change")));

  const auto before = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(f.ids().CompletePasswordReset(reset, kNewPassword),
                          StatusCode::kFailedPrecondition,
                          Reason::kLinkSuperseded);
  f.RequireUnchanged(before);
  REQUIRE(MustSignIn(f, "vic@new.example") == vic);
  REQUIRE_REASON(f.ids().SignIn("vic@new.example", kNewPassword),
                 Reason::kBadCredentials);
  // A reset link asked for after the change works.
  ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "vic@new.example"));
  ENTITLE_REQUIRE_OK(f.ids().CompletePasswordReset(
      f.LastToken("vic@new.example", "password-reset"), kNewPassword));
  REQUIRE(MustSignIn(f, "vic@new.example", kNewPassword) == vic);
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-5 an unused verification link is refused after a password reset",
    "[identities][SEC-5]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  auto id = f.ids().Register(kAnon, "uma@example.com");
  ENTITLE_REQUIRE_OK(id);
  const std::string verify = f.LastToken("uma@example.com", "verify-email");
  ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "uma@example.com"));
  ENTITLE_REQUIRE_OK(f.ids().CompletePasswordReset(
      f.LastToken("uma@example.com", "password-reset"), kNewPassword));

  const auto before = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(f.ids().CompleteVerification(verify, kPassword),
                          StatusCode::kFailedPrecondition,
                          Reason::kLinkSuperseded);
  f.RequireUnchanged(before);
  REQUIRE(MustSignIn(f, "uma@example.com", kNewPassword) == *id);
  REQUIRE_REASON(f.ids().SignIn("uma@example.com", kPassword),
                 Reason::kBadCredentials);
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-5 a password change kills every outstanding link: verification, reset and email change",
    "[identities][SEC-5]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  // An identity verified through a reset link while its verification link
  // was out, as an earlier version of the library left it: the verification
  // link is still live in the store.
  auto id = f.ids().Register(kAnon, "wes@example.com");
  ENTITLE_REQUIRE_OK(id);
  const std::string verify = f.LastToken("wes@example.com", "verify-email");
  ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "wes@example.com"));
  ENTITLE_REQUIRE_OK(f.ids().CompletePasswordReset(
      f.LastToken("wes@example.com", "password-reset"), kPassword));
  {
    auto txn = BeginWrite(f.store());
    auto links =
        ListAll(txn->link_tokens(),
                {.identity_id = *id, .purpose = LinkPurpose::kVerifyEmail});
    REQUIRE(links.size() == 1);
    links[0].status = LinkStatus::kActive;
    ENTITLE_REQUIRE_OK(txn->link_tokens().Update(links[0]));
    MustCommit(*txn);
  }
  // And a reset link and an email change on their way.
  ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "wes@example.com"));
  const std::string reset = f.LastToken("wes@example.com", "password-reset");
  ENTITLE_REQUIRE_OK(
      f.ids().RequestEmailChange(As(*id), *id, "wes@new.example"));
  const std::string change = f.LastToken("wes@new.example", "email-change");
  REQUIRE(MustGet(f, *id).pending_email == E("wes@new.example"));

  ENTITLE_REQUIRE_OK(f.ids().ChangePassword(As(*id), kPassword, kNewPassword));
  REQUIRE_FALSE(MustGet(f, *id).pending_email.has_value());
  REQUIRE(f.template All<LinkTokenRecord>(
               {.identity_id = *id, .status = LinkStatus::kActive})
              .empty());

  const auto before = f.Freeze();
  REQUIRE_REASON(f.ids().CompleteVerification(verify, "Third-pass33"),
                 Reason::kLinkSuperseded);
  REQUIRE_REASON(f.ids().CompletePasswordReset(reset, "Third-pass33"),
                 Reason::kLinkSuperseded);
  REQUIRE_REASON(f.ids().ConfirmEmailChange(change), Reason::kLinkSuperseded);
  f.RequireUnchanged(before);
  REQUIRE(MustSignIn(f, "wes@example.com", kNewPassword) == *id);
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-5 locking an identity kills its links; unlocking revives none",
    "[identities][SEC-5]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId kim = f.RegisterVerified("kim@example.com");
  ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "kim@example.com"));
  const std::string reset = f.LastToken("kim@example.com", "password-reset");
  ENTITLE_REQUIRE_OK(
      f.ids().RequestEmailChange(As(kim), kim, "kim@new.example"));
  const std::string change = f.LastToken("kim@new.example", "email-change");
  auto lou = f.ids().Register(kAnon, "lou@example.com");
  ENTITLE_REQUIRE_OK(lou);
  const std::string verify = f.LastToken("lou@example.com", "verify-email");

  ENTITLE_REQUIRE_OK(f.ids().Lock(kOp, kim));
  ENTITLE_REQUIRE_OK(f.ids().Lock(kOp, *lou));
  REQUIRE_FALSE(MustGet(f, kim).pending_email.has_value());
  ENTITLE_REQUIRE_OK(f.ids().Unlock(kOp, kim));
  ENTITLE_REQUIRE_OK(f.ids().Unlock(kOp, *lou));

  const auto before = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(f.ids().CompletePasswordReset(reset, kNewPassword),
                          StatusCode::kFailedPrecondition,
                          Reason::kLinkSuperseded);
  REQUIRE_REASON(f.ids().ConfirmEmailChange(change), Reason::kLinkSuperseded);
  REQUIRE_REASON(f.ids().CompleteVerification(verify, kPassword),
                 Reason::kLinkSuperseded);
  f.RequireUnchanged(before);
  REQUIRE(MustSignIn(f, "kim@example.com") == kim);
  // New links work again.
  ENTITLE_REQUIRE_OK(f.ids().ResendVerification("lou@example.com"));
  ENTITLE_REQUIRE_OK(f.ids().CompleteVerification(
      f.LastToken("lou@example.com", "verify-email"), kPassword));
  REQUIRE(MustSignIn(f, "lou@example.com") == *lou);
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-5 deleting an identity deletes its links",
    "[identities][SEC-5]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId max = f.RegisterVerified("max@example.com");
  ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "max@example.com"));
  const std::string reset = f.LastToken("max@example.com", "password-reset");
  ENTITLE_REQUIRE_OK(f.ids().Delete(kOp, max));
  REQUIRE(f.template All<LinkTokenRecord>({.identity_id = max}).empty());
  // A new identity at the address is not reached by the old link.
  const IdentityId again = f.RegisterVerified("max@example.com");
  const auto before = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(f.ids().CompletePasswordReset(reset, kNewPassword),
                          StatusCode::kNotFound, Reason::kInvalidLink);
  f.RequireUnchanged(before);
  REQUIRE(MustSignIn(f, "max@example.com") == again);
}

// =============================================================== SEC-10

// clang-format off
TEMPLATE_TEST_CASE("SEC-10 the sixth sign-in within 15 minutes is refused even with the right password, and works after the window",
    "[identities][SEC-10]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId ann = f.RegisterVerified("ann@example.com");
  const absl::Time t0 = f.Now();  // 2026-01-01 00:00:00 UTC
  for (int i = 0; i < 5; ++i) {
    FailSignIn(f, "ann@example.com");
    f.Advance(absl::Minutes(1));
  }
  // The sixth, the right password: refused, checked against nothing, and
  // nothing is written.
  const auto before = f.Freeze();
  RequireThrottled(f.ids().SignIn("ann@example.com", kPassword).status(),
                   "Try again after 2026-01-01 00:15:00 UTC");
  RequireThrottled(f.ids().SignIn(" ANN@Example.com", kWrongPassword).status(),
                   "2026-01-01 00:15:00 UTC");
  f.RequireUnchanged(before);
  REQUIRE(MustGet(f, ann).last_login_at == std::nullopt);

  f.clock().Set(t0 + absl::Minutes(15) - absl::Microseconds(1));
  RequireThrottled(f.ids().SignIn("ann@example.com", kPassword).status(),
                   "2026-01-01 00:15:00 UTC");
  // The first failure leaves the window: one attempt has room, and it is
  // right.
  f.clock().Set(t0 + absl::Minutes(15));
  REQUIRE(MustSignIn(f, "ann@example.com") == ann);
  REQUIRE(MustGet(f, ann).last_login_at == f.Now());

  // A successful sign-in forgets the address's failures: five more are
  // allowed before the next refusal.
  for (int i = 0; i < 5; ++i) FailSignIn(f, "ann@example.com");
  RequireThrottled(f.ids().SignIn("ann@example.com", kPassword).status(),
                   "2026-01-01 00:30:00 UTC");
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-10 the window slides: five failures within any 15 minutes throttle, whenever they began",
    "[identities][SEC-10]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  f.RegisterVerified("bea@example.com");
  const absl::Time t0 = f.Now();
  FailSignIn(f, "bea@example.com");  // 00:00
  f.clock().Set(t0 + absl::Minutes(14));
  for (int i = 0; i < 3; ++i) FailSignIn(f, "bea@example.com");  // 00:14
  // 00:16: the first one is out (a window fixed at 00:00 would just have
  // started again); three within the window, room for two.
  f.clock().Set(t0 + absl::Minutes(16));
  FailSignIn(f, "bea@example.com");
  FailSignIn(f, "bea@example.com");
  // Five within 00:14..00:16: refused until 00:29.
  RequireThrottled(f.ids().SignIn("bea@example.com", kPassword).status(),
                   "2026-01-01 00:29:00 UTC");
  f.clock().Set(t0 + absl::Minutes(29));
  MustSignIn(f, "bea@example.com");
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-10 an address no identity has is throttled alike, so probing tells nothing",
    "[identities][SEC-10]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  f.RegisterVerified("real@example.com");
  for (int i = 0; i < 5; ++i) {
    FailSignIn(f, "real@example.com");
    FailSignIn(f, i % 2 == 0 ? "ghost@example.com" : " GHOST@example.COM");
  }
  const absl::Status real =
      f.ids().SignIn("real@example.com", kPassword).status();
  const absl::Status ghost =
      f.ids().SignIn("ghost@example.com", kPassword).status();
  RequireThrottled(real, "2026-01-01 00:15:00 UTC");
  RequireThrottled(ghost, "2026-01-01 00:15:00 UTC");
  REQUIRE(real.message() == ghost.message());
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-10 failed sign-ins are throttled per client address across identities; a success clears the identity's count, not the client's",
    "[identities][SEC-10]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId ann = f.RegisterVerified("ann@example.com");
  const IdentityId bob = f.RegisterVerified("bob@example.com");
  const IdentityId cy = f.RegisterVerified("cy@example.com");
  const char* kClient = "2001:db8::7";

  // Four failures from one client, each for another address, then Ann
  // signs in from it: her count is forgotten, the client's stays at four.
  FailSignIn(f, "ann@example.com", kClient);
  FailSignIn(f, "bob@example.com", kClient);
  FailSignIn(f, "nobody@example.com", kClient);
  FailSignIn(f, "ann@example.com", "2001:DB8::7");  // The same client.
  REQUIRE(MustSignIn(f, "ann@example.com", kPassword, kClient) == ann);
  FailSignIn(f, "cy@example.com", kClient);  // The fifth.

  const auto before = f.Freeze();
  RequireThrottled(
      f.ids()
          .SignIn("cy@example.com", kPassword, std::nullopt, kClient)
          .status(),
      "2026-01-01 00:15:00 UTC");
  RequireThrottled(
      f.ids()
          .SignIn("ann@example.com", kPassword, std::nullopt, kClient)
          .status(),
      "2026-01-01 00:15:00 UTC");
  f.RequireUnchanged(before);
  // The same identities from elsewhere, or with no client address given:
  // no identity has five failures.
  REQUIRE(MustSignIn(f, "cy@example.com", kPassword, "198.51.100.1") == cy);
  REQUIRE(MustSignIn(f, "bob@example.com") == bob);
  f.Advance(absl::Minutes(15));
  REQUIRE(MustSignIn(f, "cy@example.com", kPassword, kClient) == cy);
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-10 a client address that is too long or not printable ASCII is refused",
    "[identities][SEC-10]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId ann = f.RegisterVerified("ann@example.com");
  const auto before = f.Freeze();
  for (const std::string& client :
       {std::string(129, 'a'), std::string("203.0.113.7 "),
        std::string("host\tname"), std::string("caf\xC3\xA9"),
        std::string("a\0b", 3)}) {
    INFO("client: '" << client << "'");
    ENTITLE_REQUIRE_REFUSED(
        f.ids().SignIn("ann@example.com", kPassword, std::nullopt, client),
        StatusCode::kInvalidArgument, Reason::kInvalidArgument);
  }
  f.RequireUnchanged(before);
  REQUIRE(MustSignIn(f, "ann@example.com", kPassword, std::string(128, 'a')) ==
          ann);
}

// Two Directory objects over one store, as two processes would have it: for
// SQLite two stores on one file, for memory one store shared.
template <typename Backend>
struct TwoDirectories {
  Backend backend;
  std::unique_ptr<Store> first_store = backend.Open();
  std::unique_ptr<Store> second_store =
      std::is_same_v<Backend, SqliteBackend> ? backend.Open() : nullptr;
  TestPorts first_ports, second_ports;
  Directory first{*first_store, first_ports.Options()};
  Directory second{second_store ? *second_store : *first_store,
                   second_ports.Options()};
};

// clang-format off
TEMPLATE_TEST_CASE("SEC-10 the throttle is kept in the store: another directory on the same store sees it",
    "[identities][SEC-10]", ENTITLE_BACKENDS) {
  // clang-format on
  TwoDirectories<TestType> two;
  const IdentityId ann = RegisterVerifiedIn(two.first, two.first_ports.notifier,
                                            "ann@example.com");
  auto fail = [](Directory& d) {
    REQUIRE_REASON(d.identities().SignIn("ann@example.com", kWrongPassword),
                   Reason::kBadCredentials);
  };
  fail(two.first);
  fail(two.second);
  fail(two.first);
  fail(two.second);
  fail(two.first);
  RequireThrottled(
      two.second.identities().SignIn("ann@example.com", kPassword).status(),
      "2026-01-01 00:15:00 UTC");
  RequireThrottled(
      two.first.identities().SignIn("ann@example.com", kPassword).status(),
      "2026-01-01 00:15:00 UTC");
  two.first_ports.clock.Advance(absl::Minutes(15));
  two.second_ports.clock.Advance(absl::Minutes(15));
  auto id = two.second.identities().SignIn("ann@example.com", kPassword);
  ENTITLE_REQUIRE_OK(id);
  REQUIRE(*id == ann);
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-10 the sixth verification or reset mail to an address within an hour is refused and issues nothing",
    "[identities][SEC-10]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const OrgWithAdmin acme = f.FoundOrg("Acme", "admin@acme.com", "acme.com");
  auto id = f.ids().Register(kAnon, "ned@acme.com");  // Mail 1 at 00:00.
  ENTITLE_REQUIRE_OK(id);
  ENTITLE_REQUIRE_OK(
      f.orgs().AddEmployee(As(acme.admin), acme.org, "ned@acme.com"));
  f.Advance(absl::Minutes(10));
  ENTITLE_REQUIRE_OK(f.ids().ResendVerification("ned@acme.com"));  // 2
  ENTITLE_REQUIRE_OK(f.ids().ResendVerification("NED@acme.com"));  // 3
  // Whoever asks: anonymous, the operator, an administrator.
  ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "ned@acme.com"));  // 4
  ENTITLE_REQUIRE_OK(
      f.ids().RequestPasswordReset(As(acme.admin), "ned@acme.com"));  // 5
  const std::string live_verify = f.LastToken("ned@acme.com", "verify-email");
  const std::string live_reset = f.LastToken("ned@acme.com", "password-reset");

  const auto before = f.Freeze();
  const absl::Status resend = f.ids().ResendVerification("ned@acme.com");
  ENTITLE_REQUIRE_REFUSED(resend, StatusCode::kResourceExhausted,
                          Reason::kMailLimited);
  INFO("message: " << resend.message());
  REQUIRE(absl::StrContains(resend.message(), "2026-01-01 01:00:00 UTC"));
  REQUIRE_REASON(f.ids().RequestPasswordReset(kAnon, "ned@acme.com"),
                 Reason::kMailLimited);
  REQUIRE_REASON(f.ids().RequestPasswordReset(kOp, "ned@acme.com"),
                 Reason::kMailLimited);
  REQUIRE_REASON(f.ids().RequestPasswordReset(As(acme.admin), "ned@acme.com"),
                 Reason::kMailLimited);
  f.RequireUnchanged(before);  // No link, no mail, no count.
  // The links sent before still work: the refused ones replaced nothing.
  ENTITLE_REQUIRE_OK(f.ids().CompletePasswordReset(live_reset, kPassword));
  REQUIRE_REASON(
      f.ids().CompleteVerification(live_verify, kPassword),
      Reason::kLinkSuperseded);  // SEC-5: the reset set the password.

  // An hour after the first mail, one more fits; the next waits for the
  // second hour of the others.
  f.clock().Set(kT0 + absl::Hours(1));
  ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "ned@acme.com"));
  REQUIRE_REASON(f.ids().RequestPasswordReset(kAnon, "ned@acme.com"),
                 Reason::kMailLimited);
  // Other addresses are not affected.
  ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "admin@acme.com"));
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-10 the mail limit counts per address across identities: a re-registration and an email change are refused alike",
    "[identities][SEC-10]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  // Five mails to one address, the last one for a second identity there.
  auto first = f.ids().Register(kAnon, "pia@example.com");
  ENTITLE_REQUIRE_OK(first);
  for (int i = 0; i < 3; ++i) {
    ENTITLE_REQUIRE_OK(f.ids().ResendVerification("pia@example.com"));
  }
  ENTITLE_REQUIRE_OK(f.ids().Delete(kOp, *first));
  ENTITLE_REQUIRE_OK(f.ids().Register(kAnon, "pia@example.com"));  // 5
  auto second = f.ids().FindByEmail(kOp, "pia@example.com");
  ENTITLE_REQUIRE_OK(second);
  ENTITLE_REQUIRE_OK(f.ids().Delete(kOp, second->id));

  const IdentityId quinn = f.RegisterVerified("quinn@example.com");
  const auto before = f.Freeze();
  REQUIRE_REASON(f.ids().Register(kAnon, "pia@example.com"),
                 Reason::kMailLimited);
  // The confirmation of a new address is a mail to that address.
  REQUIRE_REASON(
      f.ids().RequestEmailChange(As(quinn), quinn, "pia@example.com"),
      Reason::kMailLimited);
  f.RequireUnchanged(before);  // No identity, no pending address, no mail.
  REQUIRE_REASON(f.ids().FindByEmail(kOp, "pia@example.com"),
                 Reason::kUnknownUser);

  f.Advance(absl::Hours(1));
  ENTITLE_REQUIRE_OK(
      f.ids().RequestEmailChange(As(quinn), quinn, "pia@example.com"));
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-10 throttle limits out of their bounds are refused; zero turns a throttle off",
    "[identities][SEC-10]", ENTITLE_BACKENDS) {
  // clang-format on
  auto with = [](auto set) {
    DirectoryOptions options;
    set(options.identity_policy);
    return options;
  };
  SECTION("out of bounds") {
    for (const DirectoryOptions& options :
         {with([](IdentityPolicy& p) { p.max_failed_sign_ins = -1; }),
          with([](IdentityPolicy& p) { p.max_failed_sign_ins = 1001; }),
          with([](IdentityPolicy& p) {
            p.sign_in_failure_window = absl::ZeroDuration();
          }),
          with([](IdentityPolicy& p) {
            p.sign_in_failure_window = absl::Hours(30 * 24 + 1);
          }),
          with([](IdentityPolicy& p) {
            p.sign_in_failure_window = absl::InfiniteDuration();
          })}) {
      DirectoryFixture<TestType> f(options);
      f.InsertIdentity("ann@example.com", true);
      const auto before = f.Freeze();
      ENTITLE_REQUIRE_REFUSED(f.ids().SignIn("ann@example.com", kPassword),
                              StatusCode::kInvalidArgument,
                              Reason::kInvalidArgument);
      f.RequireUnchanged(before);
    }
    for (int mails : {-1, 1001}) {
      DirectoryFixture<TestType> f(with([mails](IdentityPolicy& p) {
        p.mails_per_address_per_hour = mails;
      }));
      const auto before = f.Freeze();
      ENTITLE_REQUIRE_REFUSED(f.ids().Register(kAnon, "bo@example.com"),
                              StatusCode::kInvalidArgument,
                              Reason::kInvalidArgument);
      f.RequireUnchanged(before);
    }
  }
  SECTION("zero turns both off; the window is then not read") {
    DirectoryFixture<TestType> f(with([](IdentityPolicy& p) {
      p.max_failed_sign_ins = 0;
      p.sign_in_failure_window = absl::ZeroDuration();  // Unused when off.
      p.mails_per_address_per_hour = 0;
    }));
    const IdentityId ann = f.RegisterVerified("ann@example.com");
    for (int i = 0; i < 12; ++i) {
      FailSignIn(f, "ann@example.com", "203.0.113.7");
      ENTITLE_REQUIRE_OK(
          f.ids().RequestPasswordReset(kAnon, "ann@example.com"));
    }
    REQUIRE(MustSignIn(f, "ann@example.com", kPassword, "203.0.113.7") == ann);
    REQUIRE(f.Snap().throttles.empty());
  }
  SECTION("a limit of two within a minute") {
    DirectoryFixture<TestType> f(with([](IdentityPolicy& p) {
      p.max_failed_sign_ins = 2;
      p.sign_in_failure_window = absl::Minutes(1);
      p.mails_per_address_per_hour = 2;  // The registration's mail is one.
    }));
    f.RegisterVerified("ann@example.com");
    FailSignIn(f, "ann@example.com");
    FailSignIn(f, "ann@example.com");
    RequireThrottled(f.ids().SignIn("ann@example.com", kPassword).status(),
                     "2026-01-01 00:01:00 UTC");
    ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "ann@example.com"));
    REQUIRE_REASON(f.ids().RequestPasswordReset(kAnon, "ann@example.com"),
                   Reason::kMailLimited);
    f.Advance(absl::Minutes(1));
    MustSignIn(f, "ann@example.com");
  }
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-10 records that no longer count are deleted as the table is used",
    "[identities][SEC-10]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  for (int i = 0; i < 8; ++i) {
    FailSignIn(f, "probe" + std::to_string(i) + "@example.com",
               "203.0.113." + std::to_string(i));
  }
  REQUIRE(f.Snap().throttles.size() == 16);
  f.Advance(absl::Minutes(15));
  // Each counted attempt deletes a few expired records.
  for (int i = 0; i < 4; ++i) FailSignIn(f, "late@example.com");
  const std::vector<ThrottleRecord> left = f.Snap().throttles;
  REQUIRE(left.size() == 1);
  REQUIRE(left[0].kind == ThrottleKind::kSignInIdentity);
  REQUIRE(left[0].subject == "late@example.com");
  REQUIRE(left[0].events.size() == 4);
  REQUIRE(left[0].expires_at == f.Now() + absl::Minutes(15));
}

// ========================================================= lookups by address

// clang-format off
TEMPLATE_TEST_CASE("API FindByEmail of an address no identity has fails with NotFound / kUnknownUser, Get of an unknown id with NotFound / kNotFound",
    "[identities]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId ann = f.RegisterVerified("ann@example.com");
  ENTITLE_REQUIRE_REFUSED(f.ids().FindByEmail(kOp, "nobody@example.com"),
                          StatusCode::kNotFound, Reason::kUnknownUser);
  ENTITLE_REQUIRE_REFUSED(f.ids().FindByEmail(kOp, "not an address"),
                          StatusCode::kInvalidArgument, Reason::kInvalidEmail);
  ENTITLE_REQUIRE_REFUSED(f.ids().Get(kOp, IdentityId(ann.value() + 100)),
                          StatusCode::kNotFound, Reason::kNotFound);
  auto found = f.ids().FindByEmail(kOp, " ANN@example.com ");
  ENTITLE_REQUIRE_OK(found);
  REQUIRE(found->id == ann);
  ENTITLE_REQUIRE_REFUSED(f.ids().FindByEmail(kAnon, "ann@example.com"),
                          StatusCode::kPermissionDenied,
                          Reason::kPermissionDenied);
}

}  // namespace
}  // namespace entitle_test
