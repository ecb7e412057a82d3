// entitle-admin demo: one organization's life on a fresh SQLite file.
//
// Runs in process over a Directory with a FakeClock that starts at the real
// time (so the seat lease can be waited out at once) and the tool's printing
// notifier, which also keeps each message in an InMemoryNotifier: that is
// where the people of the demo read their links. No link is printed; the
// domain claim's verification token is, since it is shown once by design.
//
// Each step prints `[n] what it does` and its results, indented, and checks
// them: an unexpected outcome ends the demo with the error line and exit 1.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "command.h"
#include "context.h"
#include "entitle/clock.h"
#include "entitle/directory.h"
#include "entitle/events.h"
#include "entitle/sqlite_store.h"
#include "entitle/status.h"
#include "fmt/core.h"
#include "output.h"
#include "views.h"

namespace entitle_admin {
namespace {

using entitle::Actor;
using entitle::DeviceId;
using entitle::IdentityId;
using entitle::OrganizationId;
using entitle::Reason;

#define DEMO_RETURN_IF_ERROR(expr)                     \
  do {                                                 \
    if (absl::Status s_ = (expr); !s_.ok()) return s_; \
  } while (0)

#define DEMO_CONCAT_(a, b) a##b
#define DEMO_CONCAT(a, b) DEMO_CONCAT_(a, b)
#define DEMO_ASSIGN_OR_RETURN(lhs, expr) \
  DEMO_ASSIGN_OR_RETURN_(DEMO_CONCAT(demo_or_, __LINE__), lhs, expr)
#define DEMO_ASSIGN_OR_RETURN_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(*tmp)

// Passwords the demo's people choose (ID-4: 8+ characters, a digit, lower and
// upper case, one of !@#$%&*^_-+).
constexpr char kPassword[] = "Winter-Sun-2026";

absl::Status Unexpected(std::string_view what) {
  return absl::InternalError(std::string(what));
}

// What `status` should be: refused with `reason`.
absl::Status ExpectRefused(const absl::Status& status, Reason reason,
                           std::string_view what) {
  if (entitle::GetReason(status) == reason) return absl::OkStatus();
  return Unexpected(fmt::format(
      "{}: expected {}, got {}", what, entitle::ReasonName(reason),
      status.ok() ? "success"
                  : ReasonText(status) + ": " + std::string(status.message())));
}

class Demo {
 public:
  Demo(Context& context, entitle::FakeClock& clock,
       entitle::InMemoryNotifier& mail)
      : c_(context), clock_(clock), mail_(mail) {}

  absl::Status Run() {
    for (auto step :
         {&Demo::Step1, &Demo::Step2, &Demo::Step3, &Demo::Step4, &Demo::Step5,
          &Demo::Step6, &Demo::Step7, &Demo::Step8, &Demo::StepActivations,
          &Demo::Step9, &Demo::Step10, &Demo::Step11}) {
      DEMO_RETURN_IF_ERROR((this->*step)());
      c_.out().set_indent(0);
      c_.out().Say("");
    }
    return absl::OkStatus();
  }
  int steps() const { return steps_; }

 private:
  entitle::Directory& dir() { return c_.dir(); }
  Output& out() { return c_.out(); }

  void Step(std::string_view what) {
    out().set_indent(0);
    out().Say(fmt::format("[{}] {}", ++steps_, what));
    out().set_indent(4);
  }
  void Say(std::string_view line) { out().Say(line); }

  // The newest link `email` was sent with `template_name`, read from the
  // mailbox (as the person would from their mail).
  absl::StatusOr<std::string> LinkFor(std::string_view email,
                                      const std::string& template_name) {
    absl::StatusOr<entitle::Email> address = entitle::Email::Parse(email);
    if (!address.ok()) return address.status();
    std::optional<entitle::Notification> n =
        mail_.Last(*address, template_name);
    if (!n.has_value() || n->token.empty()) {
      return Unexpected(fmt::format("no {} mail to {}", template_name, email));
    }
    return n->token;
  }

  absl::StatusOr<IdentityId> RegisterAndVerify(
      const Actor& actor, std::string_view email,
      const entitle::Profile& profile) {
    DEMO_ASSIGN_OR_RETURN(
        IdentityId id,
        dir().identities().Register(actor, std::string(email), profile));
    DEMO_ASSIGN_OR_RETURN(std::string link, LinkFor(email, "verify-email"));
    DEMO_RETURN_IF_ERROR(
        dir().identities().CompleteVerification(link, kPassword));
    Say(
        fmt::format("{} (identity #{}) followed the link and set a password: "
                    "verified",
                    email, id.value()));
    return id;
  }

  absl::Status ExpectMember(OrganizationId org, IdentityId who,
                            entitle::MembershipKind kind, const Actor& admin) {
    DEMO_ASSIGN_OR_RETURN(entitle::MemberInfo m,
                          dir().organizations().GetMember(admin, org, who));
    if (m.kind != kind || m.status != entitle::MembershipStatus::kActive) {
      return Unexpected(fmt::format("{} is not an active {} of #{}",
                                    m.email.str(), KindName(kind),
                                    org.value()));
    }
    Say(fmt::format("{} is now an active {} of organization #{}", m.email.str(),
                    kind == entitle::MembershipKind::kEmployee
                        ? "employee"
                        : "external member",
                    org.value()));
    return absl::OkStatus();
  }

  absl::Status Step1() {
    Step(
        "the operator registers Anna; she verifies her address and sets a "
        "password; the operator creates Acme with her as first administrator");
    DEMO_ASSIGN_OR_RETURN(
        anna_, RegisterAndVerify(Actor::Operator(), "anna@acme.example",
                                 {"Anna Berg", "SE", "sv"}));
    DEMO_ASSIGN_OR_RETURN(
        acme_, dir().organizations().Create(Actor::Operator(), "Acme", anna_));
    Say(
        fmt::format("created organization #{} Acme; first administrator "
                    "anna@acme.example",
                    acme_.value()));
    return absl::OkStatus();
  }

  absl::Status Step2() {
    Step(
        "Anna claims acme.example and is shown the DNS TXT record that "
        "proves it; the operator verifies the claim");
    const Actor anna = Actor::Identity(anna_);
    DEMO_ASSIGN_OR_RETURN(
        entitle::DomainClaim claim,
        dir().organizations().ClaimDomain(anna, acme_, "acme.example"));
    Say(
        fmt::format("claimed {} (pending); the TXT record to publish, shown "
                    "this once: {} TXT \"{}\"",
                    claim.name, claim.record_name, claim.record_value));
    DEMO_ASSIGN_OR_RETURN(std::vector<entitle::DomainInfo> domains,
                          dir().organizations().ListDomains(anna, acme_));
    Say("the domain list names the record but no longer holds the token:");
    out().Print("domains", DomainsTable(domains));
    // SEC-4: Anna's own VerifyDomain would look the record up in DNS, where
    // acme.example (a reserved name) has none; the operator vouches instead.
    Say("acme.example is a reserved name with no DNS zone to publish in, so "
        "Anna cannot prove it through DNS (VerifyDomain); the operator "
        "verifies the claim directly, and the audit trail records that it "
        "was the operator (domain.verify.operator)");
    DEMO_RETURN_IF_ERROR(dir().organizations().VerifyDomainByOperator(
        Actor::Operator(), acme_, claim.id));
    DEMO_ASSIGN_OR_RETURN(domains,
                          dir().organizations().ListDomains(anna, acme_));
    if (domains.size() != 1 ||
        domains[0].status != entitle::DomainStatus::kVerified) {
      return Unexpected("acme.example is not verified");
    }
    Say("domain verified: Acme owns acme.example");
    return absl::OkStatus();
  }

  absl::Status Step3() {
    Step(
        "Anna invites ben@acme.example as an employee; Ben accepts as a new "
        "user");
    const Actor anna = Actor::Identity(anna_);
    DEMO_ASSIGN_OR_RETURN(
        std::vector<entitle::InviteResult> results,
        dir().invitations().Invite(anna, acme_, {"ben@acme.example"},
                                   entitle::InvitationKind::kEmployee));
    out().Print("results", InviteResultsTable(results));
    if (results[0].outcome != entitle::InviteOutcome::kInvited) {
      return Unexpected("ben@acme.example was not invited");
    }
    DEMO_ASSIGN_OR_RETURN(std::string link,
                          LinkFor("ben@acme.example", "invitation"));
    DEMO_ASSIGN_OR_RETURN(
        ben_, dir().invitations().AcceptAsNewUser(link, kPassword,
                                                  {"Ben Okafor", "NO", "en"}));
    Say(
        fmt::format("Ben accepted with a password and a full profile "
                    "(identity #{})",
                    ben_.value()));
    return ExpectMember(acme_, ben_, entitle::MembershipKind::kEmployee, anna);
  }

  absl::Status Step4() {
    Step(
        "Anna invites cleo@partner.example as an external member and resends "
        "the invitation; only the new link works");
    const Actor anna = Actor::Identity(anna_);
    DEMO_ASSIGN_OR_RETURN(
        std::vector<entitle::InviteResult> results,
        dir().invitations().Invite(anna, acme_, {"cleo@partner.example"},
                                   entitle::InvitationKind::kExternal));
    out().Print("results", InviteResultsTable(results));
    if (!results[0].invitation.has_value()) {
      return Unexpected("cleo@partner.example was not invited");
    }
    DEMO_ASSIGN_OR_RETURN(std::string old_link,
                          LinkFor("cleo@partner.example", "invitation"));
    DEMO_ASSIGN_OR_RETURN(
        entitle::InvitationId resent,
        dir().invitations().Resend(anna, acme_, *results[0].invitation));
    Say(fmt::format("resent invitation #{} as #{}",
                    results[0].invitation->value(), resent.value()));
    DEMO_ASSIGN_OR_RETURN(std::string new_link,
                          LinkFor("cleo@partner.example", "invitation"));
    const entitle::Profile cleo{"Cleo Diaz", "ES", "es"};
    absl::StatusOr<IdentityId> refused =
        dir().invitations().AcceptAsNewUser(old_link, kPassword, cleo);
    DEMO_RETURN_IF_ERROR(ExpectRefused(
        refused.status(), Reason::kInvitationSuperseded, "Cleo's old link"));
    Say(fmt::format("Cleo's old link is refused: {} (reason: {})",
                    refused.status().message(), ReasonText(refused.status())));
    DEMO_ASSIGN_OR_RETURN(
        cleo_, dir().invitations().AcceptAsNewUser(new_link, kPassword, cleo));
    Say(
        fmt::format("the new link works: Cleo registered and accepted "
                    "(identity #{})",
                    cleo_.value()));
    return ExpectMember(acme_, cleo_, entitle::MembershipKind::kExternal, anna);
  }

  absl::Status Step5() {
    Step("Dan follows Acme's request-to-join link; Anna approves his request");
    const Actor anna = Actor::Identity(anna_);
    DEMO_ASSIGN_OR_RETURN(entitle::RequestLink link,
                          dir().invitations().CreateRequestLink(anna, acme_));
    Say(
        fmt::format("Anna made request-to-join link #{} (its token is a live "
                    "credential and is not printed)",
                    link.id.value()));
    DEMO_ASSIGN_OR_RETURN(
        dan_, RegisterAndVerify(Actor::Anonymous(), "dan@freelance.example",
                                {"Dan Moreau", "FR", "fr"}));
    DEMO_ASSIGN_OR_RETURN(entitle::JoinRequestInfo request,
                          dir().invitations().FollowRequestLink(
                              Actor::Identity(dan_), link.token));
    Say(fmt::format("Dan followed the link: join request #{} is pending",
                    request.id.value()));
    DEMO_ASSIGN_OR_RETURN(std::vector<entitle::JoinRequestInfo> pending,
                          dir().invitations().ListJoinRequests(anna, acme_));
    out().Print("requests", JoinRequestsTable(pending));
    DEMO_ASSIGN_OR_RETURN(
        std::vector<entitle::DecisionResult> decided,
        dir().invitations().Decide(anna, acme_, {request.id}, true));
    DEMO_RETURN_IF_ERROR(decided.at(0).status);
    Say(fmt::format("Anna approved request #{}", request.id.value()));
    return ExpectMember(acme_, dan_, entitle::MembershipKind::kEmployee, anna);
  }

  absl::Status Step6() {
    Step(
        "a second organization, Globex, invites Dan as an employee; "
        "accepting moves him (ORG-2)");
    DEMO_ASSIGN_OR_RETURN(
        greta_, RegisterAndVerify(Actor::Operator(), "greta@globex.example",
                                  {"Greta Lind", "DE", "de"}));
    DEMO_ASSIGN_OR_RETURN(globex_, dir().organizations().Create(
                                       Actor::Operator(), "Globex", greta_));
    Say(
        fmt::format("created organization #{} Globex; first administrator "
                    "greta@globex.example",
                    globex_.value()));
    const Actor greta = Actor::Identity(greta_);
    DEMO_ASSIGN_OR_RETURN(
        std::vector<entitle::InviteResult> results,
        dir().invitations().Invite(greta, globex_, {"dan@freelance.example"},
                                   entitle::InvitationKind::kEmployee));
    out().Print("results", InviteResultsTable(results));
    DEMO_ASSIGN_OR_RETURN(std::string link,
                          LinkFor("dan@freelance.example", "invitation"));
    DEMO_RETURN_IF_ERROR(
        dir().invitations().Accept(Actor::Identity(dan_), link).status());
    Say("Dan accepted Globex's invitation");
    absl::StatusOr<entitle::MemberInfo> old =
        dir().organizations().GetMember(Actor::Identity(anna_), acme_, dan_);
    DEMO_RETURN_IF_ERROR(ExpectRefused(old.status(), Reason::kNotMember,
                                       "Dan's Acme membership"));
    Say(fmt::format("his Acme membership ended: {} (reason: {})",
                    old.status().message(), ReasonText(old.status())));
    DEMO_RETURN_IF_ERROR(
        ExpectMember(globex_, dan_, entitle::MembershipKind::kEmployee, greta));
    if (entitle::InMemoryEventSink* events = dir().default_events()) {
      for (const entitle::Event& event : events->Events()) {
        const auto* moved =
            std::get_if<entitle::EmployeeOrganizationChanged>(&event);
        if (moved == nullptr || moved->identity != dan_ ||
            moved->current != globex_) {
          continue;
        }
        Say(fmt::format(
            "event: employee organization changed for {}: #{} -> "
            "#{}",
            c_.EmailOf(dan_), moved->previous ? moved->previous->value() : 0,
            globex_.value()));
      }
    }
    return absl::OkStatus();
  }

  absl::Status Step7() {
    Step(
        "a floating CAD-PRO entitlement with 2 seats for Acme; Anna, Ben and "
        "Cleo get pool access; three devices ask for seats");
    const absl::Time now = clock_.Now();
    entitle::EntitlementTerms terms;
    terms.sku = "CAD-PRO";
    terms.kind = entitle::EntitlementKind::kFloating;
    terms.seats = 2;
    terms.period_start = now - absl::Hours(24);
    terms.period_end = now + absl::Hours(24 * 20);
    DEMO_ASSIGN_OR_RETURN(entitlement_, dir().licenses().CreateEntitlement(
                                            Actor::Operator(), acme_, terms));
    out().Print("entitlements", EntitlementsTable({entitlement_}));
    const Actor anna = Actor::Identity(anna_);
    for (IdentityId who : {anna_, ben_, cleo_}) {
      DEMO_RETURN_IF_ERROR(
          dir()
              .licenses()
              .GrantPoolAccess(anna, entitlement_.id, {.identity = who})
              .status());
    }
    Say("Anna gave anna@, ben@ and cleo@ access to the CAD-PRO pool");
    DEMO_RETURN_IF_ERROR(CheckOut(anna_, "anna-laptop"));
    DEMO_RETURN_IF_ERROR(CheckOut(ben_, "ben-workstation"));
    absl::StatusOr<entitle::SeatLease> third =
        dir().licenses().Checkout(cleo_, "CAD-PRO", DeviceId("cleo-laptop"));
    DEMO_RETURN_IF_ERROR(ExpectRefused(third.status(), Reason::kSeatsExhausted,
                                       "a third device"));
    Say(fmt::format("cleo-laptop is refused: {} (reason: {})",
                    third.status().message(), ReasonText(third.status())));
    return PrintHolders();
  }

  absl::Status CheckOut(IdentityId who, const std::string& device) {
    DEMO_ASSIGN_OR_RETURN(
        entitle::SeatLease lease,
        dir().licenses().Checkout(who, "CAD-PRO", DeviceId(device)));
    Say(fmt::format("{} checked out a seat for {} (lease until {})", device,
                    c_.EmailOf(who), TableTime(lease.expires_at)));
    return absl::OkStatus();
  }

  absl::Status PrintHolders() {
    DEMO_ASSIGN_OR_RETURN(
        std::vector<entitle::SeatHolder> holders,
        dir().licenses().Holders(Actor::Identity(anna_), entitlement_.id));
    out().Print("seats", SeatsTable(c_, holders));
    return absl::OkStatus();
  }

  absl::Status Step8() {
    const absl::Duration lease = entitle::LicensePolicy().seat_lease;
    Step(
        fmt::format("the clock moves past the {} seat lease without "
                    "heartbeats; the third device now gets a seat",
                    absl::FormatDuration(lease)));
    clock_.Advance(lease + absl::Minutes(1));
    Say(fmt::format("now {}", TableTime(clock_.Now())));
    DEMO_RETURN_IF_ERROR(dir().licenses().RecordUsage());
    Say("RecordUsage reclaimed the expired seats and recorded the peak");
    DEMO_RETURN_IF_ERROR(CheckOut(cleo_, "cleo-laptop"));
    return PrintHolders();
  }

  // ACT-3, ACT-5, ACT-7: the seats are written behind the checkout path; a
  // second Directory over the same file, which does not serve (as an admin
  // tool in another process), reads them from the store.
  absl::Status StepActivations() {
    Step(
        "the seats as an admin tool in another process sees them: from the "
        "activations the serving directory wrote, and the event feed");
    DEMO_RETURN_IF_ERROR(dir().licenses().FlushActivations());
    DEMO_ASSIGN_OR_RETURN(std::optional<entitle::ServingClaim> claim,
                          dir().licenses().ServingStatus());
    if (!claim.has_value() || !claim->this_directory) {
      return Unexpected("the demo's directory does not serve the seats");
    }
    Say(fmt::format("served by {} on {} (process {}, epoch {})", claim->holder,
                    claim->host, claim->process_id, claim->epoch));
    entitle::DirectoryOptions options;
    options.clock = &clock_;
    entitle::Directory other(c_.store(), options);
    const Actor anna = Actor::Identity(anna_);
    DEMO_ASSIGN_OR_RETURN(std::vector<entitle::SeatHolder> stored,
                          other.licenses().Holders(anna, entitlement_.id));
    DEMO_ASSIGN_OR_RETURN(std::vector<entitle::SeatHolder> served,
                          dir().licenses().Holders(anna, entitlement_.id));
    if (stored.size() != served.size()) {
      return Unexpected("the stored holders differ from the served ones");
    }
    Say("holders from the activations:");
    out().Print("stored_seats", SeatsTable(c_, stored));
    DEMO_ASSIGN_OR_RETURN(
        std::vector<entitle::FeedEventRecord> events,
        other.licenses().Events(anna, entitle::FeedEventId(0), 1000, acme_));
    constexpr size_t kShown = 6;
    if (events.size() > kShown) {
      events.erase(events.begin(),
                   events.end() - static_cast<std::ptrdiff_t>(kShown));
    }
    Say(fmt::format("the last {} events of Acme's feed:", events.size()));
    out().Print("events", EventsTable(c_, events));
    return absl::OkStatus();
  }

  absl::Status Step9() {
    Step("the usage view and the expiry warnings");
    const Actor anna = Actor::Identity(anna_);
    DEMO_ASSIGN_OR_RETURN(std::vector<entitle::EntitlementUsage> usage,
                          dir().licenses().Usage(anna, acme_, absl::Hours(24)));
    out().Print("usage", UsageTable(usage));
    if (usage.size() != 1 || usage[0].purchased != 2 ||
        usage[0].assigned_or_with_access != 3 || usage[0].in_use != 1 ||
        usage[0].peak_in_use != 2) {
      return Unexpected(
          "the usage view does not show 2 purchased, 3 with "
          "access, 1 in use, a peak of 2");
    }
    DEMO_ASSIGN_OR_RETURN(std::vector<entitle::ExpiryWarning> warnings,
                          dir().licenses().ExpiryWarnings(anna, acme_));
    Say(fmt::format("entitlements ending within {} days:",
                    entitle::LicensePolicy().expiry_warning_days));
    out().Print("warnings", ExpiryTable(c_, warnings));
    if (warnings.size() != 1)
      return Unexpected("no expiry warning for CAD-PRO");
    return absl::OkStatus();
  }

  absl::Status Step10() {
    Step(
        "Anna locks and unlocks Ben and sends him a password-reset link "
        "(ADM-3)");
    const Actor anna = Actor::Identity(anna_);
    DEMO_RETURN_IF_ERROR(dir().identities().Lock(anna, ben_));
    absl::StatusOr<IdentityId> signin =
        dir().identities().SignIn("ben@acme.example", kPassword);
    DEMO_RETURN_IF_ERROR(ExpectRefused(signin.status(), Reason::kIdentityLocked,
                                       "a locked sign-in"));
    Say(fmt::format("locked: Ben's sign-in is refused: {} (reason: {})",
                    signin.status().message(), ReasonText(signin.status())));
    DEMO_RETURN_IF_ERROR(dir().identities().Unlock(anna, ben_));
    DEMO_RETURN_IF_ERROR(
        dir().identities().SignIn("ben@acme.example", kPassword).status());
    Say("unlocked: Ben signs in again");
    DEMO_RETURN_IF_ERROR(
        dir().identities().RequestPasswordReset(anna, "ben@acme.example"));
    Say("a password-reset link was sent to ben@acme.example (a live "
        "credential: not printed)");
    return absl::OkStatus();
  }

  absl::Status Step11() {
    Step(
        "the CSV export of Acme's members (ADM-1), a dry-run import of it "
        "(ADM-2), and the last audit records");
    c_.set_actor(Actor::Identity(anna_));
    std::ostringstream csv;
    DEMO_ASSIGN_OR_RETURN(int64_t exported,
                          dir().user_lists().Export(c_.actor(), acme_, csv));
    Say(fmt::format("exported {} members:", exported));
    for (absl::string_view line :
         absl::StrSplit(csv.str(), "\r\n", absl::SkipEmpty())) {
      Say(fmt::format("  {}", std::string(line)));
    }
    std::istringstream in(csv.str());
    entitle::UserImportOptions options;
    options.dry_run = true;
    int64_t unchanged = 0;
    int64_t rows = 0;
    out().BeginRows("rows", ImportColumns());
    DEMO_ASSIGN_OR_RETURN(
        entitle::UserImportSummary summary,
        dir().user_lists().Import(c_.actor(), acme_, in, options,
                                  [&](const entitle::UserImportRow& row) {
                                    out().Row(ImportRowCells(row));
                                    ++rows;
                                    unchanged +=
                                        row.outcome ==
                                        entitle::UserImportOutcome::kUnchanged;
                                  }));
    out().EndRows();
    if (rows != exported || unchanged != rows || summary.unchanged != rows) {
      return Unexpected("the dry-run import of the export changed something");
    }
    Say(fmt::format("dry run: all {} rows unchanged", rows));
    DEMO_ASSIGN_OR_RETURN(std::vector<entitle::AuditRecord> audit,
                          AuditTrail(c_, acme_, {}, 6));
    Say("the last audit records of Acme:");
    out().Print("audit", AuditTable(c_, audit));
    return absl::OkStatus();
  }

  Context& c_;
  entitle::FakeClock& clock_;
  entitle::InMemoryNotifier& mail_;
  int steps_ = 0;
  IdentityId anna_, ben_, cleo_, dan_, greta_;
  OrganizationId acme_, globex_;
  entitle::EntitlementRecord entitlement_;
};

int RunDemo(const GlobalOptions& options, const Args&) {
  Output out(/*json=*/false);
  std::error_code error;
  if (std::filesystem::exists(options.db, error)) {
    out.Error(fmt::format("{} already exists; the demo needs a fresh file: "
                          "remove it or pass another --db",
                          options.db),
              entitle::ReasonName(Reason::kDuplicate));
    return kExitRefused;
  }
  int open_failed = kExitOk;
  std::unique_ptr<entitle::SqliteStore> store =
      OpenStore(options.db, /*create=*/true, out, &open_failed);
  if (store == nullptr) return open_failed;
  // Time starts now and moves only when the demo moves it.
  entitle::FakeClock clock(absl::Now());
  entitle::InMemoryNotifier mailbox;
  PrintingNotifier notifier(out, /*show_links=*/false, &mailbox);
  entitle::DirectoryOptions directory_options;
  directory_options.clock = &clock;
  directory_options.notifier = &notifier;
  // The demo's checkouts make this directory serve the file's seats (ACT-3).
  directory_options.license_policy.serving_holder = "entitle-admin-demo";
  entitle::Directory directory(*store, directory_options);
  Context context(directory, *store, out);
  context.set_command("demo");

  out.Say(
      fmt::format("entitle-admin demo on {} (a new SQLite file)", options.db));
  out.Say("");
  Demo demo(context, clock, mailbox);
  if (absl::Status s = demo.Run(); !s.ok()) {
    out.set_indent(0);
    return context.Fail(s) == kExitStoreDown ? kExitStoreDown : kExitRefused;
  }
  out.Say(fmt::format("demo finished: {} steps", demo.steps()));
  out.Finish();
  return kExitOk;
}

}  // namespace

std::vector<Command> DemoCommands() {
  Command demo;
  demo.name = "demo";
  demo.summary = "walk one organization's life on a fresh file";
  demo.description =
      "Creates the --db file (it must not exist yet) and walks one "
      "organization's life through the services, in process, with a clock "
      "that the demo moves: registration and verification, the organization "
      "and its domain, invitations (accepted, resent, refused), a join "
      "request, a move to another organization, a floating license pool "
      "with seats reserved, refused and reclaimed, the seats read back from "
      "the store's activations and the event feed, usage and expiry, "
      "lock/unlock and a password reset, the CSV export and a dry-run import "
      "of it, and the audit trail. Each step checks its results. Prints text "
      "only; links are never printed.";
  demo.example = "entitle-admin demo --db /tmp/entitle-demo.db";
  demo.run_alone = RunDemo;
  return {demo};
}

}  // namespace entitle_admin
