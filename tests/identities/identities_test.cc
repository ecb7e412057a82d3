// The identities service (SPEC ID-1 to ID-13) on every backend.
//
// Each TEMPLATE_TEST_CASE is named after the rule it checks and covers both the
// allowed and the refused paths. A refused operation must write nothing and
// send nothing: `f.Freeze()` before and `f.RequireUnchanged(...)` after compare
// every table of the store and the notifier. Records the organizations service
// will one day write (organizations, memberships, roles, ...) are written
// directly through the store here, since that service does not exist yet.
#include "entitle/identities.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "entitle/actor.h"
#include "entitle/directory.h"
#include "entitle/notifier.h"
#include "entitle/password_policy.h"
#include "entitle/records.h"
#include "entitle/status.h"
#include "fixtures/directory_fixture.h"
#include "fixtures/store_fixtures.h"

namespace entitle_test {
namespace {

using namespace entitle;
using absl::StatusCode;

const Actor kOperator = Actor::Operator();

constexpr const char* kNewPassword = "Other-pass22";

std::string Lower(absl::string_view s) { return absl::AsciiStrToLower(s); }

bool Contains(absl::string_view haystack, absl::string_view needle) {
  return haystack.find(needle) != absl::string_view::npos;
}

// Every text and byte field of every record, with where it came from, so a
// test can prove a secret appears nowhere in the store.
std::vector<std::pair<std::string, std::string>> AllStrings(const Snapshot& s) {
  std::vector<std::pair<std::string, std::string>> out;
  auto add = [&out](std::string where, const std::string& value) {
    out.emplace_back(std::move(where), value);
  };
  for (const auto& r : s.identities) {
    add("identity.email", r.email.str());
    if (r.pending_email) add("identity.pending_email", r.pending_email->str());
    add("identity.display_name", r.display_name);
    add("identity.country", r.country);
    add("identity.language", r.language);
    add("identity.password_hash", r.password_hash);
    add("identity.federated_subject", r.federated_subject);
  }
  for (const auto& r : s.organizations) {
    add("organization.name", r.name);
    add("organization.federation_provider", r.federation_provider);
  }
  for (const auto& r : s.roles) add("role.name", r.name);
  for (const auto& r : s.groups) add("group.name", r.name);
  for (const auto& r : s.domains) {
    add("domain.name", r.name);
    add("domain.verification_token_hash", r.verification_token_hash);
  }
  for (const auto& r : s.invitations) {
    add("invitation.email", r.email.str());
    add("invitation.token_hash", r.token_hash);
  }
  for (const auto& r : s.request_links)
    add("request_link.token_hash", r.token_hash);
  for (const auto& r : s.entitlements) {
    add("entitlement.sku", r.sku);
    for (const auto& c : r.countries) add("entitlement.countries", c);
  }
  for (const auto& r : s.projects) {
    add("project.name", r.name);
    add("project.region", r.region);
  }
  for (const auto& r : s.jobs) {
    add("job.kind", r.kind);
    add("job.request", r.request);
    add("job.result", r.result);
  }
  for (const auto& r : s.audit) {
    add("audit.action", r.action);
    add("audit.target", r.target);
    add("audit.outcome", r.outcome);
    add("audit.detail", r.detail);
  }
  for (const auto& r : s.outbox) {
    add("outbox.recipient", r.recipient.str());
    add("outbox.template_name", r.template_name);
    add("outbox.subject", r.subject);
  }
  for (const auto& r : s.link_tokens) {
    add("link_token.token_hash", r.token_hash);
    if (r.new_email) add("link_token.new_email", r.new_email->str());
  }
  for (const auto& r : s.device_checks)
    add("device_check.device_id", r.device_id.value());
  return out;
}

// Where records (other than audit and outbox, which outlive what they
// describe) name `id` through a reference field (`*_id`).
std::vector<std::string> HardReferencesTo(const Snapshot& s, IdentityId id) {
  std::vector<std::string> out;
  for (const auto& r : s.identities)
    if (r.id == id) out.push_back("identities");
  for (const auto& r : s.memberships)
    if (r.identity_id == id) out.push_back("memberships");
  for (const auto& r : s.role_grants)
    if (r.identity_id == id) out.push_back("role_grants");
  for (const auto& r : s.group_members)
    if (r.identity_id == id) out.push_back("group_members");
  for (const auto& r : s.join_requests)
    if (r.identity_id == id) out.push_back("join_requests");
  for (const auto& r : s.license_assignments)
    if (r.identity_id == id) out.push_back("license_assignments");
  for (const auto& r : s.pool_grants)
    if (r.identity_id == id) out.push_back("pool_grants");
  for (const auto& r : s.project_members)
    if (r.identity_id == id) out.push_back("project_members");
  for (const auto& r : s.link_tokens)
    if (r.identity_id == id) out.push_back("link_tokens");
  for (const auto& r : s.device_checks)
    if (r.identity_id == id) out.push_back("device_checks");
  return out;
}

// Where records name `id` through the optional "who did it" fields.
std::vector<std::string> SoftReferencesTo(const Snapshot& s, IdentityId id) {
  std::vector<std::string> out;
  for (const auto& r : s.invitations)
    if (r.invited_by == id) out.push_back("invitations.invited_by");
  for (const auto& r : s.join_requests)
    if (r.decided_by == id) out.push_back("join_requests.decided_by");
  for (const auto& r : s.jobs)
    if (r.created_by == id) out.push_back("jobs.created_by");
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + " ";
  return out;
}

template <typename F>
IdentityInfo MustGet(F& f, IdentityId id, const Actor& actor = kOperator) {
  auto info = f.ids().Get(actor, id);
  ENTITLE_REQUIRE_OK(info);
  return *info;
}

template <typename F>
IdentityId MustSignIn(F& f, std::string_view email,
                      std::string_view password = kPassword,
                      const std::optional<DeviceId>& device = std::nullopt) {
  auto id = f.ids().SignIn(email, password, device);
  INFO("sign-in as " << email);
  ENTITLE_REQUIRE_OK(id);
  return *id;
}

size_t CountTemplate(const std::vector<Notification>& sent,
                     const std::string& template_name) {
  return static_cast<size_t>(std::count_if(
      sent.begin(), sent.end(),
      [&](const Notification& n) { return n.template_name == template_name; }));
}

// ================================================================ ID-1

// clang-format off
TEMPLATE_TEST_CASE("ID-1 emails are trimmed and lower-cased; sign-in ignores "
                   "case; an address is never shared",
    "[identities][ID-1]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  auto id = f.ids().Register(kAnon, "  Anna@Example.COM ");
  ENTITLE_REQUIRE_OK(id);
  REQUIRE(f.RawIdentity(*id).email.str() == "anna@example.com");
  REQUIRE(MustGet(f, *id).email.str() == "anna@example.com");
  // The link went to the normalized address.
  ENTITLE_REQUIRE_OK(f.ids().CompleteVerification(
      f.LastToken("anna@example.com", "verify-email"), kPassword));

  REQUIRE(MustSignIn(f, "anna@example.com") == *id);
  REQUIRE(MustSignIn(f, " ANNA@EXAMPLE.com ") == *id);
  auto found = f.ids().FindByEmail(kOperator, "Anna@EXAMPLE.com");
  ENTITLE_REQUIRE_OK(found);
  REQUIRE(found->id == *id);

  const auto before = f.Freeze();
  for (const char* again :
       {"ANNA@example.com", "anna@example.com", "\tAnna@Example.Com  "}) {
    INFO("registering again: " << again);
    ENTITLE_REQUIRE_REFUSED(f.ids().Register(kAnon, again),
                            StatusCode::kAlreadyExists, Reason::kEmailTaken);
    ENTITLE_REQUIRE_REFUSED(f.ids().Register(kOperator, again),
                            StatusCode::kAlreadyExists, Reason::kEmailTaken);
  }
  f.RequireUnchanged(before);
}

// A host's std::string_view is passed as it is: the API takes std::string_view,
// not Abseil's string_view, which some Abseil builds keep a distinct type.
TEMPLATE_TEST_CASE("API text parameters accept std::string_view",
                   "[identities][ID-1]", ENTITLE_BACKENDS) {
  static_assert(std::is_invocable_v<decltype(&Email::Parse), std::string_view>);
  DirectoryFixture<TestType> f;
  const std::string text = "  Anna@Example.COM ";
  const std::string_view address = text;
  absl::StatusOr<Email> email = Email::Parse(address);
  ENTITLE_REQUIRE_OK(email);
  REQUIRE(email->str() == "anna@example.com");
  auto id = f.ids().Register(kAnon, address);
  ENTITLE_REQUIRE_OK(id);
  REQUIRE(f.RawIdentity(*id).email.str() == "anna@example.com");
}

TEMPLATE_TEST_CASE("ID-1 an unverified identity's address is taken too",
                   "[identities][ID-1]", ENTITLE_BACKENDS) {
  DirectoryFixture<TestType> f;
  ENTITLE_REQUIRE_OK(f.ids().Register(kAnon, "bo@example.com"));
  const auto before = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(f.ids().Register(kAnon, "BO@example.com"),
                          StatusCode::kAlreadyExists, Reason::kEmailTaken);
  f.RequireUnchanged(before);
  // A different address is fine.
  ENTITLE_REQUIRE_OK(f.ids().Register(kAnon, "bo2@example.com"));
}

// ================================================================ ID-2

TEMPLATE_TEST_CASE("ID-2 implausible addresses are refused with kInvalidEmail",
                   "[identities][ID-2]", ENTITLE_BACKENDS) {
  DirectoryFixture<TestType> f;
  // 254 characters: the longest allowed.
  const std::string domain254 = std::string(60, 'b') + "." +
                                std::string(60, 'c') + "." +
                                std::string(63, 'd') + ".com";
  const std::string longest = std::string(64, 'a') + "@" + domain254;
  REQUIRE(longest.size() == 254);
  const std::string too_long = std::string(64, 'a') + "@" + "b" + domain254;
  REQUIRE(too_long.size() == 255);

  const std::vector<std::string> bad = {
      "",
      "   ",
      "anna.example.com",                     // no @
      "@example.com",                         // empty local part
      "anna@example",                         // no dot in the domain
      "an na@example.com",                    // space
      "anna@exa mple.com",                    // space
      too_long,                               // over 254
      std::string("anna\x01@example.com"),    // control character
      std::string("anna@example.com\x7f"),    // DEL
      "anna@@example.com",                    // two @
      "anna@example..com",                    // empty label
      std::string(65, 'a') + "@example.com",  // local part over 64
  };
  const auto before = f.Freeze();
  for (const std::string& email : bad) {
    INFO("email: '" << email << "'");
    const absl::Status s = f.ids().Register(kAnon, email).status();
    ENTITLE_REQUIRE_REFUSED(s, StatusCode::kInvalidArgument,
                            Reason::kInvalidEmail);
    REQUIRE_FALSE(s.message().empty());  // A clear reason.
  }
  f.RequireUnchanged(before);

  ENTITLE_REQUIRE_OK(f.ids().Register(kAnon, longest));
  ENTITLE_REQUIRE_OK(f.ids().Register(kAnon, "x@y.example"));
}

// ================================================================ ID-3

// clang-format off
TEMPLATE_TEST_CASE("ID-3 a new identity is unverified, gets one verification "
                   "link and cannot sign in until it is used",
    "[identities][ID-3]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  auto id = f.ids().Register(kAnon, "cleo@example.com");
  ENTITLE_REQUIRE_OK(id);
  const IdentityInfo info = MustGet(f, *id);
  REQUIRE_FALSE(info.verified);
  REQUIRE_FALSE(info.locked);
  REQUIRE(info.created_at == f.clock().Now());
  REQUIRE_FALSE(info.last_login_at.has_value());
  REQUIRE(f.RawIdentity(*id).password_hash.empty());

  const std::vector<Notification> sent = f.notifier().Sent();
  REQUIRE(sent.size() == 1);
  REQUIRE(sent[0].template_name == "verify-email");
  REQUIRE(sent[0].to == E("cleo@example.com"));
  REQUIRE_FALSE(sent[0].token.empty());
  REQUIRE(sent[0].link_expires_at.has_value());
  REQUIRE(*sent[0].link_expires_at == f.clock().Now() + absl::Hours(7 * 24));
  REQUIRE(sent[0].language == "en");

  // Not verified: the error says so, whatever the password.
  for (const char* password : {kPassword, "Wrong-pass9", ""}) {
    const absl::Status s =
        f.ids().SignIn("cleo@example.com", password).status();
    REQUIRE_REASON(s, Reason::kNotVerified);
    INFO("message: " << s.message());
    REQUIRE(Contains(Lower(s.message()), "not verified"));
  }

  f.clock().Advance(absl::Hours(1));
  ENTITLE_REQUIRE_OK(f.ids().CompleteVerification(sent[0].token, kPassword));
  REQUIRE(MustGet(f, *id).verified);
  REQUIRE(MustSignIn(f, "cleo@example.com") == *id);
  REQUIRE(f.AuditOf("identity.register").size() == 1);
  REQUIRE(f.AuditOf("identity.verify").size() == 1);
}

TEMPLATE_TEST_CASE("ID-3 the verification link is single-use",
                   "[identities][ID-3]", ENTITLE_BACKENDS) {
  DirectoryFixture<TestType> f;
  ENTITLE_REQUIRE_OK(f.ids().Register(kAnon, "dan@example.com"));
  const std::string token = f.LastToken("dan@example.com", "verify-email");
  ENTITLE_REQUIRE_OK(f.ids().CompleteVerification(token, kPassword));
  const auto before = f.Freeze();
  REQUIRE_REASON(f.ids().CompleteVerification(token, kNewPassword),
                 Reason::kLinkUsed);
  f.RequireUnchanged(before);
  // The second use set nothing: the first password still signs in.
  MustSignIn(f, "dan@example.com");
  REQUIRE_REASON(f.ids().SignIn("dan@example.com", kNewPassword),
                 Reason::kBadCredentials);
}

TEMPLATE_TEST_CASE("ID-3 resending the verification link kills the older one",
                   "[identities][ID-3]", ENTITLE_BACKENDS) {
  DirectoryFixture<TestType> f;
  ENTITLE_REQUIRE_OK(f.ids().Register(kAnon, "eve@example.com"));
  const std::string old_token = f.LastToken("eve@example.com", "verify-email");
  ENTITLE_REQUIRE_OK(f.ids().ResendVerification("EVE@example.com"));
  const std::string new_token = f.LastToken("eve@example.com", "verify-email");
  REQUIRE(new_token != old_token);
  REQUIRE(CountTemplate(f.notifier().Sent(), "verify-email") == 2);

  const auto before = f.Freeze();
  REQUIRE_REASON(f.ids().CompleteVerification(old_token, kPassword),
                 Reason::kLinkSuperseded);
  f.RequireUnchanged(before);
  ENTITLE_REQUIRE_OK(f.ids().CompleteVerification(new_token, kPassword));
  MustSignIn(f, "eve@example.com");

  // Resend refusals change nothing.
  const auto after = f.Freeze();
  REQUIRE_REASON(f.ids().ResendVerification("eve@example.com"),
                 Reason::kAlreadyVerified);
  REQUIRE_REASON(f.ids().ResendVerification("nobody@example.com"),
                 Reason::kUnknownUser);
  f.RequireUnchanged(after);
}

TEMPLATE_TEST_CASE("ID-3 an expired verification link is refused",
                   "[identities][ID-3]", ENTITLE_BACKENDS) {
  DirectoryFixture<TestType> f;
  ENTITLE_REQUIRE_OK(f.ids().Register(kAnon, "fay@example.com"));
  const std::string token = f.LastToken("fay@example.com", "verify-email");
  SECTION("just before 7 days it still works") {
    f.clock().Advance(absl::Hours(7 * 24) - absl::Seconds(1));
    ENTITLE_REQUIRE_OK(f.ids().CompleteVerification(token, kPassword));
    MustSignIn(f, "fay@example.com");
  }
  SECTION("after 7 days it is expired") {
    f.clock().Advance(absl::Hours(7 * 24) + absl::Seconds(1));
    const auto before = f.Freeze();
    REQUIRE_REASON(f.ids().CompleteVerification(token, kPassword),
                   Reason::kLinkExpired);
    f.RequireUnchanged(before);
    REQUIRE_REASON(f.ids().SignIn("fay@example.com", kPassword),
                   Reason::kNotVerified);
    // A fresh link works.
    ENTITLE_REQUIRE_OK(f.ids().ResendVerification("fay@example.com"));
    ENTITLE_REQUIRE_OK(f.ids().CompleteVerification(
        f.LastToken("fay@example.com", "verify-email"), kPassword));
    MustSignIn(f, "fay@example.com");
  }
}

TEMPLATE_TEST_CASE("ID-3 a weak password does not use up the verification link",
                   "[identities][ID-3]", ENTITLE_BACKENDS) {
  DirectoryFixture<TestType> f;
  ENTITLE_REQUIRE_OK(f.ids().Register(kAnon, "gus@example.com"));
  const std::string token = f.LastToken("gus@example.com", "verify-email");
  const auto before = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(f.ids().CompleteVerification(token, "weak"),
                          StatusCode::kInvalidArgument, Reason::kWeakPassword);
  f.RequireUnchanged(before);
  ENTITLE_REQUIRE_OK(f.ids().CompleteVerification(token, kPassword));
  MustSignIn(f, "gus@example.com");
}

TEMPLATE_TEST_CASE("ID-3 unknown, altered or wrong-purpose links are refused",
                   "[identities][ID-3]", ENTITLE_BACKENDS) {
  DirectoryFixture<TestType> f;
  IdentityId hal = f.RegisterVerified("hal@example.com");
  (void)hal;
  ENTITLE_REQUIRE_OK(f.ids().Register(kAnon, "ida@example.com"));
  const std::string verify = f.LastToken("ida@example.com", "verify-email");
  ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "hal@example.com"));
  const std::string reset = f.LastToken("hal@example.com", "password-reset");

  std::string altered = verify;
  altered[0] = altered[0] == 'A' ? 'B' : 'A';
  const auto before = f.Freeze();
  REQUIRE_REASON(f.ids().CompleteVerification("", kPassword),
                 Reason::kInvalidLink);
  REQUIRE_REASON(f.ids().CompleteVerification("not-a-token", kPassword),
                 Reason::kInvalidLink);
  REQUIRE_REASON(f.ids().CompleteVerification(altered, kPassword),
                 Reason::kInvalidLink);
  // A reset link is not a verification link, nor the other way round.
  REQUIRE_REASON(f.ids().CompleteVerification(reset, kPassword),
                 Reason::kInvalidLink);
  REQUIRE_REASON(f.ids().CompletePasswordReset(verify, kPassword),
                 Reason::kInvalidLink);
  REQUIRE_REASON(f.ids().ConfirmEmailChange(verify), Reason::kInvalidLink);
  f.RequireUnchanged(before);
  ENTITLE_REQUIRE_OK(f.ids().CompleteVerification(verify, kPassword));
  ENTITLE_REQUIRE_OK(f.ids().CompletePasswordReset(reset, kNewPassword));
}

// ================================================================ ID-4

// clang-format off
TEMPLATE_TEST_CASE("ID-4 every way of setting a password refuses a weak one "
                   "and changes nothing",
    "[identities][ID-4]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  IdentityId id = f.RegisterVerified("jo@example.com");
  ENTITLE_REQUIRE_OK(f.ids().Register(kAnon, "kim@example.com"));
  const std::string verify = f.LastToken("kim@example.com", "verify-email");
  ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "jo@example.com"));
  const std::string reset = f.LastToken("jo@example.com", "password-reset");

  // Each breaks something; the Scandinavian one only the character rule.
  const std::vector<std::string> weak = {
      "short1!",           "nouppercase1!",
      "NOLOWERCASE1!",     "NoDigits!!",
      "NoSpecial11",       "Tr\xC3\xB6ska-99",
      "P\xC3\xA5ssword-1", std::string(129, 'a') + "A1!"};
  const auto before = f.Freeze();
  for (const std::string& password : weak) {
    INFO("password: " << password);
    absl::Status s = f.ids().CompleteVerification(verify, password);
    ENTITLE_REQUIRE_REFUSED(s, StatusCode::kInvalidArgument,
                            Reason::kWeakPassword);
    REQUIRE_FALSE(Contains(s.message(), password));
    ENTITLE_REQUIRE_REFUSED(f.ids().CompletePasswordReset(reset, password),
                            StatusCode::kInvalidArgument,
                            Reason::kWeakPassword);
    ENTITLE_REQUIRE_REFUSED(f.ids().ChangePassword(As(id), kPassword, password),
                            StatusCode::kInvalidArgument,
                            Reason::kWeakPassword);
  }
  f.RequireUnchanged(before);

  // The error lists every broken rule.
  const absl::Status s = f.ids().ChangePassword(As(id), kPassword, "abc");
  for (PasswordRule rule : {PasswordRule::kMinLength, PasswordRule::kDigit,
                            PasswordRule::kUppercase, PasswordRule::kSpecial}) {
    INFO("message: " << s.message());
    REQUIRE(Contains(s.message(), DescribePasswordRule(rule)));
  }

  // The links were not used up and the old password still works.
  MustSignIn(f, "jo@example.com");
  ENTITLE_REQUIRE_OK(f.ids().CompleteVerification(verify, kPassword));
  ENTITLE_REQUIRE_OK(f.ids().CompletePasswordReset(reset, kNewPassword));
  MustSignIn(f, "jo@example.com", kNewPassword);
  ENTITLE_REQUIRE_OK(
      f.ids().ChangePassword(As(id), kNewPassword, "Third-pass3"));
  MustSignIn(f, "jo@example.com", "Third-pass3");
}

// ================================================================ ID-5

// clang-format off
TEMPLATE_TEST_CASE("ID-5 the store keeps only a salted Argon2id hash, never "
                   "the password",
    "[identities][ID-5]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  IdentityId a = f.RegisterVerified("lea@example.com");
  IdentityId b = f.RegisterVerified("max@example.com");
  const IdentityRecord ra = f.RawIdentity(a);
  const IdentityRecord rb = f.RawIdentity(b);
  for (const IdentityRecord& r : {ra, rb}) {
    INFO("hash: " << r.password_hash);
    REQUIRE(r.password_hash != kPassword);
    REQUIRE(r.password_hash.rfind("$argon2id$", 0) == 0);
    const std::string password = kPassword;
    for (size_t len = 4; len <= password.size(); ++len) {
      for (size_t at = 0; at + len <= password.size(); ++at) {
        INFO("substring: " << password.substr(at, len));
        REQUIRE_FALSE(Contains(r.password_hash, password.substr(at, len)));
      }
    }
  }
  // Salted: the same password gives different hashes.
  REQUIRE(ra.password_hash != rb.password_hash);

  // Wrong password, unknown address: the same answer.
  const absl::Status wrong =
      f.ids().SignIn("lea@example.com", "Wrong-pass1").status();
  const absl::Status unknown =
      f.ids().SignIn("who@example.com", kPassword).status();
  ENTITLE_REQUIRE_REFUSED(wrong, StatusCode::kUnauthenticated,
                          Reason::kBadCredentials);
  REQUIRE_REASON(unknown, Reason::kBadCredentials);
  REQUIRE(wrong.message() == unknown.message());
  REQUIRE(MustSignIn(f, "lea@example.com") == a);
}

// clang-format off
TEMPLATE_TEST_CASE("ID-5 no password and no link token appears anywhere in the "
                   "store",
    "[identities][ID-5]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  IdentityId a = f.RegisterVerified("nia@example.com");
  ENTITLE_REQUIRE_OK(f.ids().Register(kAnon, "oli@example.com"));
  ENTITLE_REQUIRE_OK(f.ids().ResendVerification("oli@example.com"));
  ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "nia@example.com"));
  ENTITLE_REQUIRE_OK(f.ids().RequestEmailChange(As(a), a, "nia2@example.com"));
  ENTITLE_REQUIRE_OK(f.ids().ChangePassword(As(a), kPassword, kNewPassword));
  MustSignIn(f, "nia@example.com", kNewPassword, DeviceId("dev-1"));

  std::vector<std::string> secrets = {kPassword, kNewPassword};
  const std::vector<Notification> sent = f.notifier().Sent();
  REQUIRE(sent.size() == 5);
  for (const Notification& n : sent) {
    REQUIRE(n.token.size() >= 32);  // 256 bits, however encoded.
    secrets.push_back(n.token);
    REQUIRE_FALSE(Contains(n.subject, n.token));
  }

  const Snapshot s = f.Snap();
  REQUIRE(s.link_tokens.size() == 5);
  REQUIRE(s.outbox.size() == 5);
  for (const auto& link : s.link_tokens) {
    REQUIRE_FALSE(link.token_hash.empty());
    for (const Notification& n : sent) REQUIRE(link.token_hash != n.token);
  }
  for (const auto& [where, value] : AllStrings(s)) {
    for (const std::string& secret : secrets) {
      INFO(where << " holds a secret: " << secret);
      REQUIRE_FALSE(Contains(value, secret));
    }
  }

  // Nor in the database file itself (its WAL included).
  if constexpr (std::is_same_v<TestType, SqliteBackend>) {
    for (const auto& entry :
         std::filesystem::directory_iterator(f.backend().dir())) {
      std::ifstream in(entry.path(), std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
      for (const std::string& secret : secrets) {
        INFO(entry.path().string() << " holds a secret: " << secret);
        REQUIRE_FALSE(Contains(bytes, secret));
      }
    }
  }
}

// ================================================================ ID-6

// clang-format off
TEMPLATE_TEST_CASE("ID-6 a reset for an unknown address fails with the exact "
                   "message",
    "[identities][ID-6]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  f.RegisterVerified("pia@example.com");
  const auto before = f.Freeze();
  for (const char* email : {"nobody@example.com", "pia@example.org"}) {
    const absl::Status s = f.ids().RequestPasswordReset(kAnon, email);
    ENTITLE_REQUIRE_REFUSED(s, StatusCode::kNotFound, Reason::kUnknownUser);
    REQUIRE(s.message() ==
            "Sorry, we didn't recognise this user. Please enter a valid Email "
            "address.");
  }
  f.RequireUnchanged(before);
}

// clang-format off
TEMPLATE_TEST_CASE("ID-6 a reset link sets a new password once; the old "
                   "password stops working",
    "[identities][ID-6]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  f.RegisterVerified("quinn@example.com");
  ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "Quinn@Example.com"));
  const Notification n =
      f.LastNotification("quinn@example.com", "password-reset");
  REQUIRE(n.link_expires_at.has_value());
  REQUIRE(*n.link_expires_at == f.clock().Now() + absl::Hours(24));

  ENTITLE_REQUIRE_OK(f.ids().CompletePasswordReset(n.token, kNewPassword));
  REQUIRE_REASON(f.ids().SignIn("quinn@example.com", kPassword),
                 Reason::kBadCredentials);
  MustSignIn(f, "quinn@example.com", kNewPassword);

  const auto before = f.Freeze();
  REQUIRE_REASON(f.ids().CompletePasswordReset(n.token, "Third-pass3"),
                 Reason::kLinkUsed);
  f.RequireUnchanged(before);
  MustSignIn(f, "quinn@example.com", kNewPassword);
  REQUIRE(f.AuditOf("identity.password-reset").size() == 1);
}

TEMPLATE_TEST_CASE("ID-6 a newer reset link kills the older one",
                   "[identities][ID-6]", ENTITLE_BACKENDS) {
  DirectoryFixture<TestType> f;
  f.RegisterVerified("ray@example.com");
  ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "ray@example.com"));
  const std::string first = f.LastToken("ray@example.com", "password-reset");
  f.clock().Advance(absl::Minutes(5));
  ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "ray@example.com"));
  const std::string second = f.LastToken("ray@example.com", "password-reset");
  REQUIRE(first != second);

  const auto before = f.Freeze();
  REQUIRE_REASON(f.ids().CompletePasswordReset(first, kNewPassword),
                 Reason::kLinkSuperseded);
  f.RequireUnchanged(before);
  ENTITLE_REQUIRE_OK(f.ids().CompletePasswordReset(second, kNewPassword));
  MustSignIn(f, "ray@example.com", kNewPassword);
}

TEMPLATE_TEST_CASE("ID-6 changing the password kills every reset link",
                   "[identities][ID-6]", ENTITLE_BACKENDS) {
  DirectoryFixture<TestType> f;
  IdentityId id = f.RegisterVerified("sam@example.com");
  ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "sam@example.com"));
  const std::string token = f.LastToken("sam@example.com", "password-reset");

  SECTION("its own ChangePassword kills its reset link") {
    ENTITLE_REQUIRE_OK(f.ids().ChangePassword(As(id), kPassword, kNewPassword));
    REQUIRE(f.AuditOf("identity.password.change").size() == 1);
    const auto before = f.Freeze();
    REQUIRE_REASON(f.ids().CompletePasswordReset(token, "Third-pass3"),
                   Reason::kLinkSuperseded);
    f.RequireUnchanged(before);
    MustSignIn(f, "sam@example.com", kNewPassword);
  }
  SECTION("another identity's password change leaves it alone") {
    IdentityId other = f.RegisterVerified("other@example.com");
    ENTITLE_REQUIRE_OK(
        f.ids().ChangePassword(As(other), kPassword, kNewPassword));
    ENTITLE_REQUIRE_OK(f.ids().CompletePasswordReset(token, "Third-pass3"));
    MustSignIn(f, "sam@example.com", "Third-pass3");
  }
  SECTION("a refused change (wrong current password) changes nothing") {
    const auto before = f.Freeze();
    REQUIRE_REASON(f.ids().ChangePassword(As(id), "Wrong-pass1", kNewPassword),
                   Reason::kBadCredentials);
    REQUIRE_REASON(f.ids().ChangePassword(kAnon, kPassword, kNewPassword),
                   Reason::kPermissionDenied);
    f.RequireUnchanged(before);
    ENTITLE_REQUIRE_OK(f.ids().CompletePasswordReset(token, "Third-pass3"));
    MustSignIn(f, "sam@example.com", "Third-pass3");
  }
}

TEMPLATE_TEST_CASE("ID-6 a reset link expires after its lifetime",
                   "[identities][ID-6]", ENTITLE_BACKENDS) {
  SECTION("the default 24 hours") {
    DirectoryFixture<TestType> f;
    f.RegisterVerified("tia@example.com");
    ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "tia@example.com"));
    const std::string token = f.LastToken("tia@example.com", "password-reset");
    f.clock().Advance(absl::Hours(24));
    const auto before = f.Freeze();
    REQUIRE_REASON(f.ids().CompletePasswordReset(token, kNewPassword),
                   Reason::kLinkExpired);
    f.RequireUnchanged(before);
    MustSignIn(f, "tia@example.com", kPassword);
  }
  SECTION("just before 24 hours it still works") {
    DirectoryFixture<TestType> f;
    f.RegisterVerified("tia@example.com");
    ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "tia@example.com"));
    const std::string token = f.LastToken("tia@example.com", "password-reset");
    f.clock().Advance(absl::Hours(24) - absl::Seconds(1));
    ENTITLE_REQUIRE_OK(f.ids().CompletePasswordReset(token, kNewPassword));
  }
  SECTION("a host-chosen lifetime") {
    IdentityPolicy policy;
    policy.password_reset_link_lifetime = absl::Hours(1);
    DirectoryFixture<TestType> f({.identity_policy = policy});
    f.RegisterVerified("tia@example.com");
    ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "tia@example.com"));
    const Notification n =
        f.LastNotification("tia@example.com", "password-reset");
    REQUIRE(*n.link_expires_at == f.clock().Now() + absl::Hours(1));
    f.clock().Advance(absl::Minutes(61));
    REQUIRE_REASON(f.ids().CompletePasswordReset(n.token, kNewPassword),
                   Reason::kLinkExpired);
  }
}

// clang-format off
TEMPLATE_TEST_CASE("ID-6 an administrator may send a reset link to a member; a "
                   "stranger may not",
    "[identities][ID-6]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  IdentityId admin = f.RegisterVerified("admin@acme.com");
  IdentityId member = f.RegisterVerified("member@acme.com");
  IdentityId stranger = f.RegisterVerified("stranger@example.com");
  AdminSetup acme = f.MakeEmployeeAdmin("Acme", admin, kManageUsers);
  f.AddMember(acme.organization, member, MembershipKind::kEmployee);

  const auto before = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(
      f.ids().RequestPasswordReset(As(stranger), "member@acme.com"),
      StatusCode::kPermissionDenied, Reason::kPermissionDenied);
  f.RequireUnchanged(before);
  ENTITLE_REQUIRE_OK(
      f.ids().RequestPasswordReset(As(admin), "member@acme.com"));
  ENTITLE_REQUIRE_OK(f.ids().CompletePasswordReset(
      f.LastToken("member@acme.com", "password-reset"), kNewPassword));
  MustSignIn(f, "member@acme.com", kNewPassword);
}

// clang-format off
TEMPLATE_TEST_CASE("ID-6 completing a reset verifies an unverified identity "
                   "(identities.h)",
    "[identities][ID-6]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  auto id = f.ids().Register(kAnon, "uma@example.com");
  ENTITLE_REQUIRE_OK(id);
  ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "uma@example.com"));
  ENTITLE_REQUIRE_OK(f.ids().CompletePasswordReset(
      f.LastToken("uma@example.com", "password-reset"), kPassword));
  REQUIRE(MustGet(f, *id).verified);
  REQUIRE(MustSignIn(f, "uma@example.com") == *id);
}

// ================================================================ ID-7

// clang-format off
TEMPLATE_TEST_CASE("ID-7 an email change is confirmed at the new address; "
                   "until then the old one signs in, afterwards only the new "
                   "one",
    "[identities][ID-7]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  IdentityId id = f.RegisterVerified("vic@old.com");
  const size_t sent_before = f.notifier().Sent().size();
  ENTITLE_REQUIRE_OK(f.ids().RequestEmailChange(As(id), id, " Vic@New.COM "));

  const std::vector<Notification> sent = f.notifier().Sent();
  REQUIRE(sent.size() == sent_before + 1);
  REQUIRE(sent.back().template_name == "email-change");
  REQUIRE(sent.back().to == E("vic@new.com"));
  REQUIRE_FALSE(sent.back().token.empty());
  const std::string token = sent.back().token;

  IdentityInfo info = MustGet(f, id);
  REQUIRE(info.email == E("vic@old.com"));
  REQUIRE(info.pending_email == E("vic@new.com"));
  REQUIRE(MustSignIn(f, "vic@old.com") == id);
  REQUIRE_REASON(f.ids().SignIn("vic@new.com", kPassword),
                 Reason::kBadCredentials);

  ENTITLE_REQUIRE_OK(f.ids().ConfirmEmailChange(token));
  info = MustGet(f, id);
  REQUIRE(info.email == E("vic@new.com"));
  REQUIRE_FALSE(info.pending_email.has_value());
  REQUIRE(MustSignIn(f, "vic@new.com") == id);
  REQUIRE_REASON(f.ids().SignIn("vic@old.com", kPassword),
                 Reason::kBadCredentials);
  REQUIRE(f.AuditOf("identity.email-change").size() == 1);

  const auto before = f.Freeze();
  REQUIRE_REASON(f.ids().ConfirmEmailChange(token), Reason::kLinkUsed);
  f.RequireUnchanged(before);
  // The old address is free again.
  ENTITLE_REQUIRE_OK(f.ids().Register(kAnon, "vic@old.com"));
}

TEMPLATE_TEST_CASE("ID-7 a newer email-change request kills the older link",
                   "[identities][ID-7]", ENTITLE_BACKENDS) {
  DirectoryFixture<TestType> f;
  IdentityId id = f.RegisterVerified("abe@example.com");
  ENTITLE_REQUIRE_OK(f.ids().RequestEmailChange(As(id), id, "abe@first.com"));
  const std::string first = f.LastToken("abe@first.com", "email-change");
  ENTITLE_REQUIRE_OK(f.ids().RequestEmailChange(As(id), id, "abe@second.com"));
  const std::string second = f.LastToken("abe@second.com", "email-change");
  REQUIRE(MustGet(f, id).pending_email == E("abe@second.com"));
  const auto before = f.Freeze();
  REQUIRE_REASON(f.ids().ConfirmEmailChange(first), Reason::kLinkSuperseded);
  f.RequireUnchanged(before);
  ENTITLE_REQUIRE_OK(f.ids().ConfirmEmailChange(second));
  REQUIRE(MustSignIn(f, "abe@second.com") == id);
  REQUIRE_REASON(f.ids().SignIn("abe@first.com", kPassword),
                 Reason::kBadCredentials);
}

TEMPLATE_TEST_CASE("ID-7 an email-change link expires", "[identities][ID-7]",
                   ENTITLE_BACKENDS) {
  DirectoryFixture<TestType> f;
  IdentityId id = f.RegisterVerified("bob@example.com");
  ENTITLE_REQUIRE_OK(f.ids().RequestEmailChange(As(id), id, "bob@new.com"));
  const Notification n = f.LastNotification("bob@new.com", "email-change");
  REQUIRE(n.link_expires_at == f.clock().Now() + absl::Hours(7 * 24));
  f.clock().Advance(absl::Hours(7 * 24));
  const auto before = f.Freeze();
  REQUIRE_REASON(f.ids().ConfirmEmailChange(n.token), Reason::kLinkExpired);
  f.RequireUnchanged(before);
  REQUIRE(MustSignIn(f, "bob@example.com") == id);
}

TEMPLATE_TEST_CASE("ID-7 the new address must be free when asked",
                   "[identities][ID-7]", ENTITLE_BACKENDS) {
  DirectoryFixture<TestType> f;
  IdentityId id = f.RegisterVerified("wes@example.com");
  f.RegisterVerified("taken@example.com");
  ENTITLE_REQUIRE_OK(f.ids().Register(kAnon, "unverified@example.com"));
  const auto before = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(
      f.ids().RequestEmailChange(As(id), id, "TAKEN@example.com"),
      StatusCode::kAlreadyExists, Reason::kEmailTaken);
  REQUIRE_REASON(
      f.ids().RequestEmailChange(As(id), id, "unverified@example.com"),
      Reason::kEmailTaken);
  ENTITLE_REQUIRE_REFUSED(
      f.ids().RequestEmailChange(As(id), id, "not-an-email"),
      StatusCode::kInvalidArgument, Reason::kInvalidEmail);
  f.RequireUnchanged(before);
}

// clang-format off
TEMPLATE_TEST_CASE("ID-7 an address taken between request and confirmation is "
                   "refused at confirmation and nothing changes",
    "[identities][ID-7]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  IdentityId id = f.RegisterVerified("xia@example.com");
  ENTITLE_REQUIRE_OK(f.ids().RequestEmailChange(As(id), id, "xia@new.com"));
  const std::string token = f.LastToken("xia@new.com", "email-change");
  IdentityId other = f.RegisterVerified("xia@new.com");

  const auto before = f.Freeze();
  REQUIRE_REASON(f.ids().ConfirmEmailChange(token), Reason::kEmailTaken);
  f.RequireUnchanged(before);
  REQUIRE(MustSignIn(f, "xia@example.com") == id);
  REQUIRE(MustSignIn(f, "xia@new.com") == other);
  REQUIRE(MustGet(f, id).email == E("xia@example.com"));
}

// clang-format off
TEMPLATE_TEST_CASE("ID-7 only the identity itself (or the operator) may change "
                   "its address",
    "[identities][ID-7]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  IdentityId id = f.RegisterVerified("yan@example.com");
  IdentityId other = f.RegisterVerified("zoe@example.com");
  const auto before = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(
      f.ids().RequestEmailChange(As(other), id, "zoe2@example.com"),
      StatusCode::kPermissionDenied, Reason::kPermissionDenied);
  ENTITLE_REQUIRE_REFUSED(
      f.ids().RequestEmailChange(kAnon, id, "zoe2@example.com"),
      StatusCode::kPermissionDenied, Reason::kPermissionDenied);
  f.RequireUnchanged(before);
  REQUIRE(MustSignIn(f, "yan@example.com") == id);

  ENTITLE_REQUIRE_OK(
      f.ids().RequestEmailChange(kOperator, id, "yan2@example.com"));
  ENTITLE_REQUIRE_OK(f.ids().ConfirmEmailChange(
      f.LastToken("yan2@example.com", "email-change")));
  REQUIRE(MustSignIn(f, "yan2@example.com") == id);
}

// ================================================================ ID-8

// clang-format off
TEMPLATE_TEST_CASE("ID-8 the effective language falls back to English when "
                   "unset or unsupported",
    "[identities][ID-8]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  IdentityId id = f.RegisterVerified("ada@example.com");
  IdentityInfo info = MustGet(f, id);
  REQUIRE(info.language.empty());
  REQUIRE(info.effective_language == "en");

  struct Case {
    const char* language;
    const char* effective;
  };
  const Case cases[] = {
      {"de", "de"}, {"DE", "de"},       {"xx", "en"},       {"de-AT", "de"},
      {"sv", "sv"}, {"pt-BR", "pt-BR"}, {"pt-br", "pt-BR"}, {"zh", "en"},
      {"en", "en"}, {"", "en"},
  };
  for (const Case& c : cases) {
    INFO("language: '" << c.language << "'");
    ENTITLE_REQUIRE_OK(f.ids().UpdateProfile(
        As(id), id, ProfileUpdate{.language = std::string(c.language)}));
    info = MustGet(f, id);
    REQUIRE(info.language == c.language);  // Stored as given.
    REQUIRE(info.effective_language == c.effective);
    // Notifications follow it (one an hour: SEC-10 limits the mails to an
    // address).
    f.clock().Advance(absl::Hours(1));
    ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "ada@example.com"));
    REQUIRE(f.LastNotification("ada@example.com", "password-reset").language ==
            c.effective);
  }
}

TEMPLATE_TEST_CASE("ID-8 a malformed language tag is refused",
                   "[identities][ID-8]", ENTITLE_BACKENDS) {
  DirectoryFixture<TestType> f;
  IdentityId id = f.RegisterVerified("bea@example.com");
  const auto before = f.Freeze();
  for (const char* bad : {"not a tag!", "d", "deutsch", "de-", "de_AT", "1e"}) {
    INFO("language: '" << bad << "'");
    REQUIRE_REASON(f.ids().UpdateProfile(
                       As(id), id, ProfileUpdate{.language = std::string(bad)}),
                   Reason::kInvalidProfile);
    REQUIRE_REASON(
        f.ids().Register(kAnon, "new@example.com", Profile{.language = bad}),
        Reason::kInvalidProfile);
  }
  f.RequireUnchanged(before);
}

// clang-format off
TEMPLATE_TEST_CASE("ID-8 the verification email is in the language given at "
                   "registration, among the host's supported languages",
    "[identities][ID-8]", ENTITLE_BACKENDS) {
  // clang-format on
  IdentityPolicy policy;
  policy.supported_languages = {"en", "fi"};
  DirectoryFixture<TestType> f({.identity_policy = policy});
  ENTITLE_REQUIRE_OK(
      f.ids().Register(kAnon, "cai@example.com", Profile{.language = "fi"}));
  REQUIRE(f.LastNotification("cai@example.com", "verify-email").language ==
          "fi");
  ENTITLE_REQUIRE_OK(
      f.ids().Register(kAnon, "dag@example.com", Profile{.language = "de"}));
  REQUIRE(f.LastNotification("dag@example.com", "verify-email").language ==
          "en");
}

// ================================================================ ID-9

// clang-format off
TEMPLATE_TEST_CASE("ID-9 the operator or an employee administrator with "
                   "manage-users may lock; a locked identity cannot sign in; "
                   "unlock restores it",
    "[identities][ID-9]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  IdentityId admin = f.RegisterVerified("admin@acme.com");
  IdentityId target = f.RegisterVerified("eli@acme.com");
  AdminSetup acme = f.MakeEmployeeAdmin("Acme", admin, kManageUsers);
  f.AddMember(acme.organization, target, MembershipKind::kEmployee);

  const int who = GENERATE(0, 1);
  const Actor actor = who == 0 ? kOperator : As(admin);
  INFO("locking as " << actor);
  ENTITLE_REQUIRE_OK(f.ids().Lock(actor, target));
  REQUIRE(MustGet(f, target).locked);
  const auto locks = f.AuditOf("identity.lock");
  REQUIRE(locks.size() == 1);
  REQUIRE(locks[0].actor_id == actor.audit_id());
  REQUIRE(locks[0].target == absl::StrCat("identity#", target.value()));

  const absl::Status s = f.ids().SignIn("eli@acme.com", kPassword).status();
  REQUIRE_REASON(s, Reason::kIdentityLocked);
  REQUIRE(Contains(Lower(s.message()), "locked"));
  // A wrong password is told apart from nothing (identities.h).
  REQUIRE_REASON(f.ids().SignIn("eli@acme.com", "Wrong-pass1"),
                 Reason::kBadCredentials);

  ENTITLE_REQUIRE_OK(f.ids().Unlock(actor, target));
  REQUIRE_FALSE(MustGet(f, target).locked);
  REQUIRE(MustSignIn(f, "eli@acme.com") == target);
  REQUIRE(f.AuditOf("identity.unlock").size() == 1);
}

// clang-format off
TEMPLATE_TEST_CASE("ID-9 a plain member, an administrator of another "
                   "organization, an administrator without manage-users or "
                   "anonymous may not lock or unlock",
    "[identities][ID-9]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  IdentityId admin = f.RegisterVerified("admin@acme.com");
  IdentityId target = f.RegisterVerified("fin@acme.com");
  IdentityId member = f.RegisterVerified("member@acme.com");
  IdentityId viewer = f.RegisterVerified("viewer@acme.com");
  IdentityId other_admin = f.RegisterVerified("admin@beta.com");
  AdminSetup acme = f.MakeEmployeeAdmin("Acme", admin, kManageUsers);
  f.AddMember(acme.organization, target, MembershipKind::kEmployee);
  f.AddMember(acme.organization, member, MembershipKind::kEmployee);
  f.AddMember(acme.organization, viewer, MembershipKind::kEmployee);
  {
    auto txn = BeginWrite(f.store());
    RoleId view = MustInsert(
        txn->roles(),
        MakeRole(acme.organization, "Viewer", kViewUsage | kManageLicenses));
    MustInsert(txn->role_grants(),
               MakeRoleGrant(acme.organization, viewer, view));
    MustCommit(*txn);
  }
  AdminSetup beta = f.MakeEmployeeAdmin("Beta", other_admin,
                                        kManageUsers | kManageAdministrators);
  // A second Acme administrator, locked: a locked identity may do nothing.
  IdentityId locked_admin = f.RegisterVerified("locked-admin@acme.com");
  f.AddMember(acme.organization, locked_admin, MembershipKind::kEmployee);
  f.Grant(acme.organization, locked_admin, acme.role);
  ENTITLE_REQUIRE_OK(f.ids().Lock(kOperator, locked_admin));
  // Someone employed by Beta and only external in Acme: Acme's administrator
  // is not the administrator of its employee organization.
  IdentityId external = f.RegisterVerified("ext@beta.com");
  f.AddMember(beta.organization, external, MembershipKind::kEmployee);
  f.AddMember(acme.organization, external, MembershipKind::kExternal);
  {
    const auto before = f.Freeze();
    ENTITLE_REQUIRE_REFUSED(f.ids().Lock(As(admin), external),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    f.RequireUnchanged(before);
    ENTITLE_REQUIRE_OK(f.ids().Lock(As(other_admin), external));
  }

  for (bool locked : {false, true}) {
    if (locked) ENTITLE_REQUIRE_OK(f.ids().Lock(kOperator, target));
    const auto before = f.Freeze();
    for (const Actor& actor :
         {As(member), As(viewer), As(other_admin), As(locked_admin), kAnon}) {
      INFO("actor " << actor << ", target locked: " << locked);
      ENTITLE_REQUIRE_REFUSED(f.ids().Lock(actor, target),
                              StatusCode::kPermissionDenied,
                              Reason::kPermissionDenied);
      ENTITLE_REQUIRE_REFUSED(f.ids().Unlock(actor, target),
                              StatusCode::kPermissionDenied,
                              Reason::kPermissionDenied);
    }
    f.RequireUnchanged(before);
    REQUIRE(MustGet(f, target).locked == locked);
  }
}

// clang-format off
TEMPLATE_TEST_CASE("ID-9 locking keeps memberships, roles, groups and license "
                   "assignments",
    "[identities][ID-9]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  IdentityId admin = f.RegisterVerified("admin@acme.com");
  IdentityId target = f.RegisterVerified("gil@acme.com");
  AdminSetup acme = f.MakeEmployeeAdmin("Acme", admin, kManageUsers);
  f.AddMember(acme.organization, target, MembershipKind::kEmployee);
  {
    auto txn = BeginWrite(f.store());
    RoleId view = MustInsert(txn->roles(),
                             MakeRole(acme.organization, "Viewer", kViewUsage));
    MustInsert(txn->role_grants(),
               MakeRoleGrant(acme.organization, target, view));
    GroupId g = MustInsert(txn->groups(), MakeGroup(acme.organization, "CAD"));
    MustInsert(txn->group_members(), MakeGroupMember(g, target));
    EntitlementId e =
        MustInsert(txn->entitlements(), MakeEntitlement(acme.organization));
    MustInsert(txn->license_assignments(), MakeAssignment(e, target));
    MustInsert(txn->pool_grants(), MakePoolGrant(e, target));
    MustCommit(*txn);
  }
  const Snapshot before = f.Snap();
  ENTITLE_REQUIRE_OK(f.ids().Lock(As(admin), target));
  const Snapshot after = f.Snap();
  REQUIRE(after.memberships == before.memberships);
  REQUIRE(after.role_grants == before.role_grants);
  REQUIRE(after.group_members == before.group_members);
  REQUIRE(after.license_assignments == before.license_assignments);
  REQUIRE(after.pool_grants == before.pool_grants);
  REQUIRE(after.license_assignments.size() == 1);
  REQUIRE(after.license_assignments[0].identity_id == target);
  REQUIRE(std::count_if(after.memberships.begin(), after.memberships.end(),
                        [&](const MembershipRecord& m) {
                          return m.identity_id == target;
                        }) == 1);
  REQUIRE(f.RawIdentity(target).locked);
}

// clang-format off
TEMPLATE_TEST_CASE("ID-9 a device that checked access keeps offline access for "
                   "7 days after that check, even when locked",
    "[identities][ID-9]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  IdentityId id = f.RegisterVerified("hal@example.com");
  const DeviceId laptop("laptop-1");
  const DeviceId desktop("desktop-7");

  auto until = f.ids().OfflineAccessUntil(id, laptop);
  ENTITLE_REQUIRE_OK(until);
  REQUIRE_FALSE(until->has_value());  // Never checked.

  f.clock().Advance(absl::Hours(1));
  const absl::Time signed_in_at = f.clock().Now();
  REQUIRE(MustSignIn(f, "hal@example.com", kPassword, laptop) == id);
  ENTITLE_REQUIRE_OK(f.ids().Lock(kOperator, id));

  until = f.ids().OfflineAccessUntil(id, laptop);
  ENTITLE_REQUIRE_OK(until);
  REQUIRE(*until ==
          std::optional<absl::Time>(signed_in_at + absl::Hours(7 * 24)));

  // A device of the same identity that never signed in has nothing.
  until = f.ids().OfflineAccessUntil(id, desktop);
  ENTITLE_REQUIRE_OK(until);
  REQUIRE_FALSE(until->has_value());

  // Six days later: still offline access though locked; a refused sign-in
  // does not extend it.
  f.clock().Advance(absl::Hours(6 * 24));
  REQUIRE_REASON(f.ids().SignIn("hal@example.com", kPassword, laptop),
                 Reason::kIdentityLocked);
  until = f.ids().OfflineAccessUntil(id, laptop);
  ENTITLE_REQUIRE_OK(until);
  REQUIRE(*until ==
          std::optional<absl::Time>(signed_in_at + absl::Hours(7 * 24)));

  // Seven days after the check: nothing.
  f.clock().Set(signed_in_at + absl::Hours(7 * 24));
  until = f.ids().OfflineAccessUntil(id, laptop);
  ENTITLE_REQUIRE_OK(until);
  REQUIRE_FALSE(until->has_value());
  f.clock().Advance(absl::Hours(1));
  until = f.ids().OfflineAccessUntil(id, laptop);
  ENTITLE_REQUIRE_OK(until);
  REQUIRE_FALSE(until->has_value());

  // Unlocked, a new sign-in starts a new grace.
  ENTITLE_REQUIRE_OK(f.ids().Unlock(kOperator, id));
  MustSignIn(f, "hal@example.com", kPassword, laptop);
  until = f.ids().OfflineAccessUntil(id, laptop);
  ENTITLE_REQUIRE_OK(until);
  REQUIRE(*until ==
          std::optional<absl::Time>(f.clock().Now() + absl::Hours(7 * 24)));
}

TEMPLATE_TEST_CASE("ID-9 a failed sign-in records no device check",
                   "[identities][ID-9]", ENTITLE_BACKENDS) {
  DirectoryFixture<TestType> f;
  IdentityId id = f.RegisterVerified("ina@example.com");
  const auto before = f.Freeze();
  REQUIRE_REASON(
      f.ids().SignIn("ina@example.com", "Wrong-pass1", DeviceId("pc")),
      Reason::kBadCredentials);
  // Only the failure is counted (SEC-10).
  f.RequireUnchangedButThrottles(before);
  auto until = f.ids().OfflineAccessUntil(id, DeviceId("pc"));
  ENTITLE_REQUIRE_OK(until);
  REQUIRE_FALSE(until->has_value());
}

// ================================================================ ID-10

// clang-format off
TEMPLATE_TEST_CASE("ID-10 a successful sign-in records the last-login time; a "
                   "failed one does not",
    "[identities][ID-10]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  IdentityId admin = f.RegisterVerified("admin@acme.com");
  IdentityId id = f.RegisterVerified("jay@acme.com");
  AdminSetup acme = f.MakeEmployeeAdmin("Acme", admin, kManageUsers);
  f.AddMember(acme.organization, id, MembershipKind::kEmployee);
  REQUIRE_FALSE(MustGet(f, id).last_login_at.has_value());

  f.clock().Advance(absl::Hours(2) + absl::Microseconds(123457));
  const absl::Time t1 = f.clock().Now();
  MustSignIn(f, "jay@acme.com");
  REQUIRE(MustGet(f, id).last_login_at == t1);
  REQUIRE(f.RawIdentity(id).last_login_at == t1);
  // An administrator of its organization can read it.
  REQUIRE(MustGet(f, id, As(admin)).last_login_at == t1);
  REQUIRE(MustGet(f, id, As(id)).last_login_at == t1);

  f.clock().Advance(absl::Hours(1));
  const auto before = f.Freeze();
  REQUIRE_REASON(f.ids().SignIn("jay@acme.com", "Wrong-pass1"),
                 Reason::kBadCredentials);
  f.RequireUnchangedButThrottles(before);  // SEC-10 counts the failure.
  REQUIRE(MustGet(f, id).last_login_at == t1);

  ENTITLE_REQUIRE_OK(f.ids().Lock(kOperator, id));
  f.clock().Advance(absl::Hours(1));
  REQUIRE_REASON(f.ids().SignIn("jay@acme.com", kPassword),
                 Reason::kIdentityLocked);
  REQUIRE(MustGet(f, id).last_login_at == t1);
}

// clang-format off
TEMPLATE_TEST_CASE("ID-10 only the identity, the operator or an administrator "
                   "of its organization may read it",
    "[identities][ID-10]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  IdentityId id = f.RegisterVerified("kip@example.com");
  IdentityId stranger = f.RegisterVerified("stranger@example.com");
  ENTITLE_REQUIRE_REFUSED(f.ids().Get(As(stranger), id),
                          StatusCode::kPermissionDenied,
                          Reason::kPermissionDenied);
  ENTITLE_REQUIRE_REFUSED(f.ids().Get(kAnon, id), StatusCode::kPermissionDenied,
                          Reason::kPermissionDenied);
  ENTITLE_REQUIRE_REFUSED(f.ids().FindByEmail(As(stranger), "kip@example.com"),
                          StatusCode::kPermissionDenied,
                          Reason::kPermissionDenied);
}

// ================================================================ ID-11

// An organization federated with `provider` that has verified `domain`
// (SEC-1: a provider signs in only addresses of its organization's verified
// domains), written directly through the store.
OrganizationId PutFederatedOrganization(Store& store, std::string_view name,
                                        std::string_view provider,
                                        std::string_view domain) {
  auto txn = BeginWrite(store);
  OrganizationRecord org = MakeOrganization(name);
  org.federation_provider = std::string(provider);
  OrganizationId id = MustInsert(txn->organizations(), org);
  MustInsert(txn->domains(), MakeDomain(id, domain, DomainStatus::kVerified));
  MustCommit(*txn);
  return id;
}

// clang-format off
TEMPLATE_TEST_CASE("ID-11 the first federated sign-in creates a verified "
                   "employee; later ones find it and create nothing",
    "[identities][ID-11]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const OrganizationId acme =
      PutFederatedOrganization(f.store(), "Acme", "okta-acme", "acme.com");
  const OrganizationId beta =
      PutFederatedOrganization(f.store(), "Beta", "azure-beta", "beta.com");
  REQUIRE(f.Snap().identities.empty());  // Nothing made ahead of time.

  f.clock().Advance(absl::Hours(1));
  auto id =
      f.ids().SignInFederated("okta-acme", "sub-123", "Ivy@Acme.com",
                              Profile{.display_name = "Ivy", .country = "fi"});
  ENTITLE_REQUIRE_OK(id);
  IdentityInfo info = MustGet(f, *id);
  REQUIRE(info.email == E("ivy@acme.com"));
  REQUIRE(info.verified);
  REQUIRE(info.federated);
  REQUIRE_FALSE(info.locked);
  REQUIRE(info.display_name == "Ivy");
  REQUIRE(info.country == "FI");
  REQUIRE(info.last_login_at == f.clock().Now());
  {
    auto txn = BeginRead(f.store());
    auto memberships =
        ListAll(txn->memberships(), MembershipFilter{.identity_id = *id});
    REQUIRE(memberships.size() == 1);
    REQUIRE(memberships[0].organization_id == acme);
    REQUIRE(memberships[0].kind == MembershipKind::kEmployee);
    REQUIRE(memberships[0].status == MembershipStatus::kActive);
    MustCommit(*txn);
  }

  // The second sign-in: same identity, only its last-login time and the
  // audit trail change.
  f.clock().Advance(absl::Hours(5));
  const Snapshot before = f.Snap();
  const size_t sent = f.notifier().Sent().size();
  auto again = f.ids().SignInFederated("okta-acme", "sub-123", "ivy@acme.com");
  ENTITLE_REQUIRE_OK(again);
  REQUIRE(*again == *id);
  Snapshot after = f.Snap();
  REQUIRE(f.notifier().Sent().size() == sent);
  REQUIRE(after.identities.size() == before.identities.size());
  for (size_t i = 0; i < after.identities.size(); ++i) {
    if (after.identities[i].id == *id) {
      REQUIRE(after.identities[i].last_login_at == f.clock().Now());
      after.identities[i].last_login_at = before.identities[i].last_login_at;
    }
  }
  REQUIRE(after.identities == before.identities);
  REQUIRE(after.audit.size() >= before.audit.size());
  after.audit = before.audit;
  REQUIRE(after == before);

  // The same subject at another provider is another person.
  auto other = f.ids().SignInFederated("azure-beta", "sub-123", "ivy@beta.com");
  ENTITLE_REQUIRE_OK(other);
  REQUIRE(*other != *id);
  {
    auto txn = BeginRead(f.store());
    auto memberships =
        ListAll(txn->memberships(), MembershipFilter{.identity_id = *other});
    REQUIRE(memberships.size() == 1);
    REQUIRE(memberships[0].organization_id == beta);
    MustCommit(*txn);
  }
}

// clang-format off
TEMPLATE_TEST_CASE("ID-11 an unknown provider, or an address a password "
                   "identity owns, is refused and nothing is made",
    "[identities][ID-11]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  PutFederatedOrganization(f.store(), "Acme", "okta-acme", "acme.com");
  PutFederatedOrganization(f.store(), "Plain", "", "plain.example");
  f.RegisterVerified("pat@acme.com");
  ENTITLE_REQUIRE_OK(f.ids().Register(kAnon, "unverified@acme.com"));

  const auto before = f.Freeze();
  REQUIRE_REASON(f.ids().SignInFederated("okta-other", "sub-1", "new@acme.com"),
                 Reason::kUnknownProvider);
  REQUIRE_REASON(f.ids().SignInFederated("OKTA-ACME", "sub-1", "new@acme.com"),
                 Reason::kUnknownProvider);
  REQUIRE_REASON(f.ids().SignInFederated("okta-acme", "sub-2", "PAT@acme.com"),
                 Reason::kEmailTaken);
  REQUIRE_REASON(
      f.ids().SignInFederated("okta-acme", "sub-3", "unverified@acme.com"),
      Reason::kEmailTaken);
  REQUIRE_REASON(f.ids().SignInFederated("okta-acme", "sub-4", "not an email"),
                 Reason::kInvalidEmail);
  f.RequireUnchanged(before);
  // The password identity still signs in with its password.
  MustSignIn(f, "pat@acme.com");
}

TEMPLATE_TEST_CASE("ID-11 a locked federated identity cannot sign in",
                   "[identities][ID-11]", ENTITLE_BACKENDS) {
  DirectoryFixture<TestType> f;
  PutFederatedOrganization(f.store(), "Acme", "okta-acme", "acme.com");
  auto id = f.ids().SignInFederated("okta-acme", "s", "quin@acme.com");
  ENTITLE_REQUIRE_OK(id);
  ENTITLE_REQUIRE_OK(f.ids().Lock(kOperator, *id));
  const auto before = f.Freeze();
  REQUIRE_REASON(f.ids().SignInFederated("okta-acme", "s", "quin@acme.com"),
                 Reason::kIdentityLocked);
  f.RequireUnchanged(before);
}

// ================================================================ ID-12

// clang-format off
TEMPLATE_TEST_CASE("ID-12 the identity itself (or the operator) edits its "
                   "profile; nobody else",
    "[identities][ID-12]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  IdentityId id = f.RegisterVerified("jan@acme.com");
  IdentityId other = f.RegisterVerified("kai@example.com");
  IdentityId admin = f.RegisterVerified("admin@acme.com");
  AdminSetup acme =
      f.MakeEmployeeAdmin("Acme", admin, kManageUsers | kManageAdministrators);
  f.AddMember(acme.organization, id, MembershipKind::kEmployee);

  ENTITLE_REQUIRE_OK(f.ids().UpdateProfile(
      As(id), id, ProfileUpdate{.display_name = "Jan", .country = "fi"}));
  IdentityInfo info = MustGet(f, id);
  REQUIRE(info.display_name == "Jan");
  REQUIRE(info.country == "FI");
  REQUIRE(info.profile_complete);
  // Only the set fields change.
  ENTITLE_REQUIRE_OK(
      f.ids().UpdateProfile(As(id), id, ProfileUpdate{.language = "de"}));
  info = MustGet(f, id);
  REQUIRE(info.display_name == "Jan");
  REQUIRE(info.country == "FI");
  REQUIRE(info.language == "de");
  REQUIRE(f.AuditOf("identity.profile.update").size() == 2);

  const auto before = f.Freeze();
  for (const Actor& actor : {As(other), As(admin), kAnon}) {
    INFO("actor " << actor);
    ENTITLE_REQUIRE_REFUSED(
        f.ids().UpdateProfile(actor, id, ProfileUpdate{.display_name = "X"}),
        StatusCode::kPermissionDenied, Reason::kPermissionDenied);
  }
  f.RequireUnchanged(before);

  ENTITLE_REQUIRE_OK(f.ids().UpdateProfile(
      kOperator, id, ProfileUpdate{.display_name = "Jan Operator-set"}));
  REQUIRE(MustGet(f, id).display_name == "Jan Operator-set");
}

TEMPLATE_TEST_CASE("ID-12 a malformed country is refused",
                   "[identities][ID-12]", ENTITLE_BACKENDS) {
  DirectoryFixture<TestType> f;
  IdentityId id = f.RegisterVerified("lin@example.com");
  const auto before = f.Freeze();
  for (const char* bad : {"Finland", "F", "FIN", "F1", "1I", "f i"}) {
    INFO("country: '" << bad << "'");
    REQUIRE_REASON(
        f.ids().UpdateProfile(
            As(id), id,
            ProfileUpdate{.display_name = "Lin", .country = std::string(bad)}),
        Reason::kInvalidProfile);
    REQUIRE_REASON(
        f.ids().Register(kAnon, "new@example.com", Profile{.country = bad}),
        Reason::kInvalidProfile);
  }
  f.RequireUnchanged(before);
  REQUIRE(MustGet(f, id).display_name.empty());
}

// clang-format off
TEMPLATE_TEST_CASE("ID-12 a membership waiting for the profile becomes active "
                   "once name and country are set, not before",
    "[identities][ID-12]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  IdentityId id = f.RegisterVerified("lou@example.com");
  REQUIRE_FALSE(MustGet(f, id).profile_complete);
  // Stands in for accepting an invitation (the organizations service).
  const OrganizationId org = [&] {
    auto txn = BeginWrite(f.store());
    OrganizationId o =
        MustInsert(txn->organizations(), MakeOrganization("Acme"));
    MustCommit(*txn);
    return o;
  }();
  f.AddMember(org, id, MembershipKind::kEmployee,
              MembershipStatus::kPendingProfile);
  auto status = [&] {
    auto txn = BeginRead(f.store());
    auto m = txn->memberships().Get(MembershipKey{org, id});
    ENTITLE_REQUIRE_OK(m);
    MustCommit(*txn);
    return m->status;
  };

  // A refused update activates nothing.
  const auto before = f.Freeze();
  REQUIRE_REASON(f.ids().UpdateProfile(
                     As(id), id,
                     ProfileUpdate{.display_name = "Lou", .country = "Sweden"}),
                 Reason::kInvalidProfile);
  f.RequireUnchanged(before);

  ENTITLE_REQUIRE_OK(
      f.ids().UpdateProfile(As(id), id, ProfileUpdate{.display_name = "Lou"}));
  REQUIRE(status() == MembershipStatus::kPendingProfile);
  REQUIRE_FALSE(MustGet(f, id).profile_complete);

  ENTITLE_REQUIRE_OK(
      f.ids().UpdateProfile(As(id), id, ProfileUpdate{.country = "se"}));
  REQUIRE(status() == MembershipStatus::kActive);
  REQUIRE(MustGet(f, id).profile_complete);
  REQUIRE(f.AuditOf("membership.activate").size() == 1);
}

TEMPLATE_TEST_CASE("ID-12 a profile given at registration counts as complete",
                   "[identities][ID-12]", ENTITLE_BACKENDS) {
  DirectoryFixture<TestType> f;
  auto id = f.ids().Register(kAnon, "mia@example.com",
                             Profile{.display_name = "Mia", .country = "de"});
  ENTITLE_REQUIRE_OK(id);
  IdentityInfo info = MustGet(f, *id);
  REQUIRE(info.profile_complete);
  REQUIRE(info.country == "DE");
}

// ================================================================ ID-13

// Everything an identity can be named by, written directly through the store
// (the organizations, licensing and projects services do not exist yet).
struct Entangled {
  OrganizationId acme;
  OrganizationId beta;
  InvitationId new_invitation;
  InvitationId accepted_invitation;
  InvitationId unrelated_invitation;
};

template <typename F>
Entangled Entangle(F& f, IdentityId admin, IdentityId target) {
  Entangled out;
  AdminSetup acme =
      f.MakeEmployeeAdmin("Acme", admin, kManageUsers | kManageAdministrators);
  out.acme = acme.organization;
  f.AddMember(acme.organization, target, MembershipKind::kEmployee);
  auto txn = BeginWrite(f.store());
  out.beta = MustInsert(txn->organizations(), MakeOrganization("Beta"));
  MustInsert(txn->memberships(),
             MakeMembership(out.beta, target, MembershipKind::kExternal));
  RoleId viewer =
      MustInsert(txn->roles(), MakeRole(out.acme, "Viewer", kViewUsage));
  MustInsert(txn->role_grants(), MakeRoleGrant(out.acme, target, viewer));
  GroupId group = MustInsert(txn->groups(), MakeGroup(out.acme, "CAD"));
  MustInsert(txn->group_members(), MakeGroupMember(group, target));
  MustInsert(txn->group_members(), MakeGroupMember(group, admin));
  EntitlementId e = MustInsert(txn->entitlements(), MakeEntitlement(out.acme));
  MustInsert(txn->license_assignments(), MakeAssignment(e, target));
  MustInsert(txn->license_assignments(), MakeAssignment(e, admin));
  MustInsert(txn->pool_grants(), MakePoolGrant(e, target));
  MustInsert(txn->pool_grants(), MakeGroupPoolGrant(e, group));
  ProjectId p = MustInsert(txn->projects(), MakeProject(out.acme, e));
  MustInsert(txn->project_members(), MakeProjectMember(out.acme, p, target));
  MustInsert(txn->project_members(),
             MakeProjectMember(out.acme, p, admin, ProjectRole::kAdmin));
  OrganizationId gamma =
      MustInsert(txn->organizations(), MakeOrganization("Gamma"));
  MustInsert(txn->join_requests(), MakeJoinRequest(gamma, target));
  InvitationRecord fresh =
      MakeInvitation(gamma, "gone@example.com", TokenHash(1));
  out.new_invitation = MustInsert(txn->invitations(), fresh);
  InvitationRecord accepted =
      MakeInvitation(out.acme, "gone@example.com", TokenHash(2));
  accepted.status = InvitationStatus::kAccepted;
  accepted.decided_at = At(100);
  out.accepted_invitation = MustInsert(txn->invitations(), accepted);
  out.unrelated_invitation =
      MustInsert(txn->invitations(),
                 MakeInvitation(gamma, "someone@example.com", TokenHash(3)));
  MustCommit(*txn);
  // A live link of every purpose and a device check, through the service.
  ENTITLE_REQUIRE_OK(f.ids().RequestPasswordReset(kAnon, "gone@example.com"));
  ENTITLE_REQUIRE_OK(
      f.ids().RequestEmailChange(As(target), target, "gone2@example.com"));
  MustSignIn(f, "gone@example.com", kPassword, DeviceId("laptop"));
  return out;
}

// clang-format off
TEMPLATE_TEST_CASE("ID-13 deleting an identity removes everything that names "
                   "it, in one go",
    "[identities][ID-13]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  IdentityId admin = f.RegisterVerified("admin@acme.com");
  IdentityId target = f.RegisterVerified("gone@example.com");
  const Entangled e = Entangle(f, admin, target);
  const Snapshot before = f.Snap();
  REQUIRE(HardReferencesTo(before, target).size() >= 10);

  const int who = GENERATE(0, 1, 2);
  const Actor actor =
      who == 0 ? kOperator : (who == 1 ? As(admin) : As(target));
  INFO("deleting as " << actor);
  ENTITLE_REQUIRE_OK(f.ids().Delete(actor, target));

  const Snapshot after = f.Snap();
  INFO("still named by: " << Join(HardReferencesTo(after, target)));
  REQUIRE(HardReferencesTo(after, target).empty());
  // The New invitation to its address is gone; the accepted one and
  // invitations to other addresses stay.
  auto has_invitation = [&](InvitationId id) {
    return std::any_of(after.invitations.begin(), after.invitations.end(),
                       [&](const InvitationRecord& r) { return r.id == id; });
  };
  REQUIRE_FALSE(has_invitation(e.new_invitation));
  REQUIRE(has_invitation(e.accepted_invitation));
  REQUIRE(has_invitation(e.unrelated_invitation));
  // Nothing of anyone else went.
  REQUIRE(after.organizations == before.organizations);
  REQUIRE(after.roles == before.roles);
  REQUIRE(after.groups == before.groups);
  REQUIRE(after.entitlements == before.entitlements);
  REQUIRE(after.projects == before.projects);
  REQUIRE(after.identities.size() == before.identities.size() - 1);
  REQUIRE(HardReferencesTo(after, admin) == HardReferencesTo(before, admin));
  REQUIRE(after.pool_grants.size() == 1);  // The group's grant stays.

  const auto deletes = f.AuditOf("identity.delete");
  REQUIRE(deletes.size() == 1);
  REQUIRE(deletes[0].target == absl::StrCat("identity#", target.value()));

  ENTITLE_REQUIRE_REFUSED(f.ids().Get(kOperator, target), StatusCode::kNotFound,
                          Reason::kNotFound);
  REQUIRE_REASON(f.ids().SignIn("gone@example.com", kPassword),
                 Reason::kBadCredentials);
  auto until = f.ids().OfflineAccessUntil(target, DeviceId("laptop"));
  REQUIRE_FALSE((until.ok() && until->has_value()));
  // The address is free again.
  ENTITLE_REQUIRE_OK(f.ids().Register(kAnon, "gone@example.com"));
}

// clang-format off
TEMPLATE_TEST_CASE("ID-13 after deletion no invitation, join request or job "
                   "names the identity as who acted (nothing points at a "
                   "missing identity)",
    "[identities][ID-13]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  IdentityId admin = f.RegisterVerified("admin@acme.com");
  IdentityId helper = f.RegisterVerified("helper@acme.com");
  IdentityId applicant = f.RegisterVerified("applicant@example.com");
  AdminSetup acme =
      f.MakeEmployeeAdmin("Acme", admin, kManageUsers | kManageAdministrators);
  f.AddMember(acme.organization, helper, MembershipKind::kEmployee);
  {
    auto txn = BeginWrite(f.store());
    InvitationRecord inv =
        MakeInvitation(acme.organization, "invitee@example.com", TokenHash(7));
    inv.invited_by = helper;
    MustInsert(txn->invitations(), inv);
    JoinRequestRecord jr = MakeJoinRequest(acme.organization, applicant);
    jr.status = JoinRequestStatus::kApproved;
    jr.decided_at = At(50);
    jr.decided_by = helper;
    MustInsert(txn->join_requests(), jr);
    JobRecord job = MakeJob(acme.organization);
    job.created_by = helper;
    MustInsert(txn->jobs(), job);
    MustCommit(*txn);
  }
  ENTITLE_REQUIRE_OK(f.ids().Delete(As(admin), helper));
  const Snapshot after = f.Snap();
  INFO("still named by: " << Join(SoftReferencesTo(after, helper)));
  REQUIRE(HardReferencesTo(after, helper).empty());
  REQUIRE(SoftReferencesTo(after, helper).empty());
  // The records themselves stay: they belong to others.
  REQUIRE(after.invitations.size() == 1);
  REQUIRE(after.join_requests.size() == 1);
  REQUIRE(after.jobs.size() == 1);
}

// clang-format off
TEMPLATE_TEST_CASE("ID-13 the last administrator of an organization cannot be "
                   "deleted",
    "[identities][ID-13]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  IdentityId admin = f.RegisterVerified("admin@acme.com");
  IdentityId target = f.RegisterVerified("gone@example.com");
  const Entangled e = Entangle(f, admin, target);

  const auto before = f.Freeze();
  for (const Actor& actor : {kOperator, As(admin)}) {
    INFO("deleting as " << actor);
    REQUIRE_REASON(f.ids().Delete(actor, admin), Reason::kLastAdministrator);
  }
  f.RequireUnchanged(before);

  // With a second administrator it may go.
  IdentityId second = f.RegisterVerified("second@acme.com");
  f.AddMember(e.acme, second, MembershipKind::kEmployee);
  {
    auto txn = BeginWrite(f.store());
    RoleId r = MustInsert(txn->roles(),
                          MakeRole(e.acme, "Co-admin", kManageAdministrators));
    MustInsert(txn->role_grants(), MakeRoleGrant(e.acme, second, r));
    MustCommit(*txn);
  }
  ENTITLE_REQUIRE_OK(f.ids().Delete(kOperator, admin));
  REQUIRE(HardReferencesTo(f.Snap(), admin).empty());
  // Now `second` is the last one.
  REQUIRE_REASON(f.ids().Delete(kOperator, second), Reason::kLastAdministrator);
}

// clang-format off
TEMPLATE_TEST_CASE("ID-13 a stranger, a plain member or anonymous may not "
                   "delete",
    "[identities][ID-13]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  IdentityId admin = f.RegisterVerified("admin@acme.com");
  IdentityId target = f.RegisterVerified("gone@example.com");
  IdentityId stranger = f.RegisterVerified("stranger@example.com");
  IdentityId member = f.RegisterVerified("member@acme.com");
  const Entangled e = Entangle(f, admin, target);
  f.AddMember(e.acme, member, MembershipKind::kEmployee);
  IdentityId beta_admin = f.RegisterVerified("admin@beta.com");
  f.MakeEmployeeAdmin("Beta-admins", beta_admin, kManageUsers);

  const auto before = f.Freeze();
  for (const Actor& actor : {As(stranger), As(member), As(beta_admin), kAnon}) {
    INFO("deleting as " << actor);
    ENTITLE_REQUIRE_REFUSED(f.ids().Delete(actor, target),
                            StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
  }
  f.RequireUnchanged(before);
  REQUIRE(MustGet(f, target).email == E("gone@example.com"));
}

// ================================================================ audit

TEMPLATE_TEST_CASE(
    "ID audit: each successful operation appends an audit record naming its "
    "action; refused ones append nothing",
    "[identities][audit]", ENTITLE_BACKENDS) {
  DirectoryFixture<TestType> f;
  auto id = f.ids().Register(kAnon, "ned@example.com");
  ENTITLE_REQUIRE_OK(id);
  const std::string target = absl::StrCat("identity#", id->value());
  auto registered = f.AuditOf("identity.register");
  REQUIRE(registered.size() == 1);
  REQUIRE(registered[0].target == target);
  REQUIRE(registered[0].outcome == "ok");
  REQUIRE(registered[0].at == f.clock().Now());
  REQUIRE_FALSE(registered[0].actor_id.has_value());  // Anonymous.

  ENTITLE_REQUIRE_OK(f.ids().CompleteVerification(
      f.LastToken("ned@example.com", "verify-email"), kPassword));
  f.clock().Advance(absl::Minutes(1));
  ENTITLE_REQUIRE_OK(f.ids().Lock(kOperator, *id));
  auto locked = f.AuditOf("identity.lock");
  REQUIRE(locked.size() == 1);
  REQUIRE(locked[0].target == target);
  REQUIRE(locked[0].at == f.clock().Now());
  REQUIRE_FALSE(locked[0].actor_id.has_value());  // The operator.

  // Refusals leave no trace.
  IdentityId other = f.RegisterVerified("oz@example.com");
  const auto before = f.Freeze();
  REQUIRE_FALSE(f.ids().Register(kAnon, "NED@example.com").ok());
  REQUIRE_FALSE(f.ids().Register(kAnon, "bad").ok());
  REQUIRE_FALSE(f.ids().SignIn("ned@example.com", kPassword).ok());  // locked
  REQUIRE_FALSE(f.ids().SignIn("oz@example.com", "Wrong-pass1").ok());
  REQUIRE_FALSE(f.ids().Lock(As(other), *id).ok());
  REQUIRE_FALSE(f.ids().Unlock(kAnon, *id).ok());
  REQUIRE_FALSE(f.ids().Delete(As(other), *id).ok());
  REQUIRE_FALSE(f.ids().RequestPasswordReset(kAnon, "who@example.com").ok());
  REQUIRE_FALSE(f.ids().CompletePasswordReset("bogus", kPassword).ok());
  REQUIRE_FALSE(
      f.ids().ChangePassword(As(other), "Wrong-pass1", kNewPassword).ok());
  REQUIRE_FALSE(f.ids().UpdateProfile(As(other), *id, ProfileUpdate{}).ok());
  REQUIRE_FALSE(
      f.ids().RequestEmailChange(As(other), *id, "x@example.com").ok());
  REQUIRE_FALSE(f.ids().SignInFederated("nobody", "s", "s@example.com").ok());
  // The two failed sign-ins are counted (SEC-10), nothing else is written.
  f.RequireUnchangedButThrottles(before);

  ENTITLE_REQUIRE_OK(f.ids().Delete(kOperator, *id));
  auto deleted = f.AuditOf("identity.delete");
  REQUIRE(deleted.size() == 1);
  REQUIRE(deleted[0].target == target);
  MustSignIn(f, "oz@example.com");
  auto sign_ins = f.AuditOf("identity.sign-in");
  REQUIRE_FALSE(sign_ins.empty());
  REQUIRE(sign_ins.back().actor_id == other);
}

}  // namespace
}  // namespace entitle_test
