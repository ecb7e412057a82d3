// Store failures during a full scenario, on every backend, and SQLite on a
// file it cannot write.
//
// The scenario is a list of named steps, each one public operation (or one
// call of a batch operation). It runs once without faults to count the store
// operations it makes (T), then once for every N in 1..T with the N-th
// operation failing (FaultStore, fault_store.h). A step that fails must fail
// with kStoreUnavailable and leave every table and the notifier as they were
// (batch operations that commit in parts leave exactly what they reported,
// as their headers say); run again once the fault is cleared, it must
// succeed, and so must every later step. At the end the store must hold what
// the run without faults left. A second run refuses every write transaction
// at its start.
//
// SQLite on a bad file: a database file that cannot be written (mode 0444;
// as root, with the capabilities that override file modes dropped for the
// test's thread) and a file system that is full (a small tmpfs, mounted only
// when the test may mount, i.e. as root; skipped with a warning otherwise).
// Every write fails with kStoreUnavailable and changes nothing; reads work.
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/clock.h"
#include "entitle/directory.h"
#include "entitle/events.h"
#include "entitle/identities.h"
#include "entitle/invitations.h"
#include "entitle/licenses.h"
#include "entitle/notifier.h"
#include "entitle/organizations.h"
#include "entitle/password_hasher.h"
#include "entitle/projects.h"
#include "entitle/records.h"
#include "entitle/sqlite_store.h"
#include "entitle/status.h"
#include "entitle/store.h"
#include "entitle/user_lists.h"
#include "fixtures/directory_fixture.h"
#include "fixtures/fault_store.h"
#include "fixtures/store_fixtures.h"

namespace entitle_test {
namespace {

using namespace entitle;
using absl::StatusCode;

bool IsStoreUnavailable(const absl::Status& s) {
  return s.code() == StatusCode::kUnavailable &&
         GetReason(s) == Reason::kStoreUnavailable;
}

absl::Status Unexpected(absl::string_view what) {
  return absl::InternalError(absl::StrCat("unexpected: ", what));
}

// What the store holds, without what differs from run to run (ids, which a
// rolled-back insert may use up; random token and password hashes): every
// table's size, the audit actions and the outbox messages.
std::string Shape(const Snapshot& s, bool with_device_checks = true) {
  std::string out = DescribeSizes(s);
  if (!with_device_checks) {
    const std::string drop =
        absl::StrCat("device_checks=", s.device_checks.size(), " ");
    out.erase(out.find(drop), drop.size());
  }
  // Sorted: the requests of one decision may commit in another order when
  // one of them is decided again.
  std::vector<std::string> audit, outbox;
  for (const AuditRecord& a : s.audit) audit.push_back(a.action);
  for (const OutboxRecord& o : s.outbox) {
    outbox.push_back(absl::StrCat(o.template_name, ">", o.recipient.str()));
  }
  std::sort(audit.begin(), audit.end());
  std::sort(outbox.begin(), outbox.end());
  absl::StrAppend(&out, "\naudit: ", absl::StrJoin(audit, " "),
                  "\noutbox: ", absl::StrJoin(outbox, " "));
  return out;
}

// The scenario's world: a DirectoryFixture on a FaultStore. SQLite commits
// without a disk sync here: the scenario opens hundreds of stores and
// durability is not what it tests.
template <typename Backend>
class World : public DirectoryFixture<Backend> {
 public:
  World() : DirectoryFixture<Backend>({}, {.faults = true, .sync = false}) {}

  // The token of the newest `template_name` notification to `email`; empty
  // when there is none.
  std::string Token(std::string_view email, const std::string& template_name) {
    std::optional<Notification> n =
        this->notifier().Last(E(email), template_name);
    return n.has_value() ? n->token : std::string();
  }
};

// One step of the scenario.
template <typename Backend>
struct Step {
  using State = typename World<Backend>::State;
  std::string name;
  std::function<absl::Status()> run;
  // Set for steps that commit in parts and report per-part results: checks
  // that a failed run left exactly what it reported. Unset: a failed run
  // must have changed nothing.
  std::function<void(const State& before)> check_partial;
};

// The ids, tokens and results the steps hand on to each other.
struct Ids {
  IdentityId anna, bob, carl, frank, gina, hank, dana;
  OrganizationId acme;
  DomainClaim claim;
  RoleId auditors;
  InvitationId erin_invitation;
  RequestLink request_link;
  std::vector<JoinRequestId> pending;     // Join requests not yet decided.
  std::vector<DecisionResult> decisions;  // Of the last Decide.
  EntitlementRecord named, floating;
  ProjectRecord project;
  JobId job;
  std::vector<UserImportRow> imported;  // Rows of the last import.
};

const DeviceId kLaptop("laptop-1");
constexpr const char* kNewPassword = "Another-pass2";

// The rows of the import step: an account that is added with a role and a
// named license, two addresses with no account (invited), a member that has
// everything already, and a bad address (fails alone). Two rows per
// transaction, so the import commits in three batches.
constexpr const char* kImportCsv =
    "email,kind,roles,licenses\r\n"
    "hank@acme.com,employee,Auditors,CAD-NAMED\r\n"
    "ivy@partner.org,external,,\r\n"
    "carl@partner.org,external,,CAD-FLOAT\r\n"
    "not-an-email,external,,\r\n"
    "jill@partner.org,external,,\r\n";
constexpr int kImportRowsPerTransaction = 2;

template <typename Backend>
std::vector<Step<Backend>> Scenario(World<Backend>& w, Ids& ids) {
  using State = typename World<Backend>::State;
  Directory& d = w.directory();
  std::vector<Step<Backend>> steps;
  auto add = [&steps](std::string name, std::function<absl::Status()> run,
                      std::function<void(const State&)> check = nullptr) {
    steps.push_back(
        Step<Backend>{std::move(name), std::move(run), std::move(check)});
  };
  auto register_verified = [&](const char* who, std::string email,
                               IdentityId* id, Profile profile) {
    add(absl::StrCat("register ", who), [&d, email, id, profile] {
      absl::StatusOr<IdentityId> got =
          d.identities().Register(kAnon, email, profile);
      if (got.ok()) *id = *got;
      return got.status();
    });
    add(absl::StrCat("verify ", who), [&d, &w, email] {
      return d.identities().CompleteVerification(w.Token(email, "verify-email"),
                                                 kPassword);
    });
  };

  // Identities.
  register_verified("anna", "anna@acme.com", &ids.anna, {"Anna", "DE", "de"});
  register_verified("bob", "bob@acme.com", &ids.bob, {"Bob", "DE", ""});
  register_verified("carl", "carl@partner.org", &ids.carl, {"Carl", "FR", ""});
  register_verified("frank", "frank@other.net", &ids.frank, {"Frank", "", ""});
  register_verified("gina", "gina@other.net", &ids.gina, {"Gina", "", ""});
  register_verified("hank", "hank@acme.com", &ids.hank, {"Hank", "DE", ""});

  // The organization, its domain, members and roles.
  add("create organization", [&] {
    absl::StatusOr<OrganizationId> org =
        d.organizations().Create(kOp, "Acme", ids.anna);
    if (org.ok()) ids.acme = *org;
    return org.status();
  });
  add("claim domain", [&] {
    absl::StatusOr<DomainClaim> claim =
        d.organizations().ClaimDomain(As(ids.anna), ids.acme, "acme.com");
    if (claim.ok()) ids.claim = *claim;
    return claim.status();
  });
  add("verify domain", [&] {
    // The domain's owner publishes the proof (SEC-4) in the test's DNS.
    w.dns().Unpublish(ids.claim.record_name);
    w.dns().Publish(ids.claim.record_name, ids.claim.record_value);
    return d.organizations().VerifyDomain(As(ids.anna), ids.acme, ids.claim.id);
  });
  add("add employee", [&] {
    return d.organizations().AddEmployee(As(ids.anna), ids.acme,
                                         "bob@acme.com");
  });
  add("add external", [&] {
    return d.organizations().AddExternal(As(ids.anna), ids.acme,
                                         "carl@partner.org");
  });
  add("create role", [&] {
    absl::StatusOr<RoleId> role = d.organizations().CreateRole(
        As(ids.anna), ids.acme, "Auditors", kViewUsage);
    if (role.ok()) ids.auditors = *role;
    return role.status();
  });
  add("grant role", [&] {
    return d.organizations().GrantRole(As(ids.anna), ids.acme, ids.bob,
                                       ids.auditors);
  });

  // Invitations.
  add("invite employee", [&] {
    auto results = d.invitations().Invite(
        As(ids.anna), ids.acme, {"dana@acme.com"}, InvitationKind::kEmployee);
    if (!results.ok()) return results.status();
    if (results->size() != 1 ||
        results->front().outcome != InviteOutcome::kInvited) {
      return Unexpected("dana was not invited");
    }
    return absl::OkStatus();
  });
  add("accept as new user", [&] {
    absl::StatusOr<IdentityId> dana =
        d.invitations().AcceptAsNewUser(w.Token("dana@acme.com", "invitation"),
                                        kPassword, Profile{"Dana", "DE", ""});
    if (dana.ok()) ids.dana = *dana;
    return dana.status();
  });
  add("invite external", [&] {
    auto results =
        d.invitations().Invite(As(ids.anna), ids.acme, {"erin@partner.org"},
                               InvitationKind::kExternal);
    if (!results.ok()) return results.status();
    if (results->size() != 1 ||
        results->front().outcome != InviteOutcome::kInvited) {
      return Unexpected("erin was not invited");
    }
    ids.erin_invitation = *results->front().invitation;
    return absl::OkStatus();
  });
  add("resend invitation", [&] {
    absl::StatusOr<InvitationId> again =
        d.invitations().Resend(As(ids.anna), ids.acme, ids.erin_invitation);
    if (!again.ok()) return again.status();
    if (*again == ids.erin_invitation) return Unexpected("no new invitation");
    ids.erin_invitation = *again;
    return absl::OkStatus();
  });
  add("revoke invitation", [&] {
    return d.invitations().Revoke(As(ids.anna), ids.acme, ids.erin_invitation);
  });

  // A request link, two requests and one decision about both.
  add("create request link", [&] {
    absl::StatusOr<RequestLink> link =
        d.invitations().CreateRequestLink(As(ids.anna), ids.acme);
    if (link.ok()) ids.request_link = *link;
    return link.status();
  });
  auto follow = [&](const char* name, const IdentityId* who) {
    add(name, [&, who] {
      absl::StatusOr<JoinRequestInfo> request =
          d.invitations().FollowRequestLink(As(*who), ids.request_link.token);
      if (!request.ok()) return request.status();
      if (request->status != JoinRequestStatus::kPending) {
        return Unexpected("the request was decided at once");
      }
      ids.pending.push_back(request->id);
      return absl::OkStatus();
    });
  };
  follow("frank follows link", &ids.frank);
  follow("gina follows link", &ids.gina);
  // INV-11: each request is decided in its own transaction with a result of
  // its own; the step decides those not yet decided.
  add(
      "decide join requests",
      [&] {
        absl::StatusOr<std::vector<DecisionResult>> results =
            d.invitations().Decide(As(ids.anna), ids.acme, ids.pending, true);
        if (!results.ok()) return results.status();
        ids.decisions = *results;
        absl::Status first_failure;
        std::vector<JoinRequestId> still_pending;
        for (const DecisionResult& r : *results) {
          if (r.status.ok()) continue;
          still_pending.push_back(r.request);
          if (first_failure.ok()) first_failure = r.status;
        }
        ids.pending = still_pending;
        return first_failure;
      },
      [&](const State& before) {
        const Snapshot now = TakeSnapshot(w.store());
        size_t approved = 0;
        REQUIRE(ids.decisions.size() == 2);
        for (const DecisionResult& r : ids.decisions) {
          INFO("join request " << r.request << ": " << r.status.ToString());
          REQUIRE((r.status.ok() || IsStoreUnavailable(r.status)));
          std::optional<JoinRequestRecord> request;
          for (const JoinRequestRecord& j : now.join_requests) {
            if (j.id == r.request) request = j;
          }
          REQUIRE(request.has_value());
          bool member = false;
          for (const MembershipRecord& m : now.memberships) {
            if (m.organization_id == ids.acme &&
                m.identity_id == request->identity_id) {
              member = true;
            }
          }
          if (r.status.ok()) {
            ++approved;
            REQUIRE(request->status == JoinRequestStatus::kApproved);
            REQUIRE(member);
          } else {
            REQUIRE(request->status == JoinRequestStatus::kPending);
            REQUIRE_FALSE(member);
          }
        }
        // One approval notice and one employer change per approved
        // request, nothing for the others.
        REQUIRE(w.notifier().Sent().size() == before.sent + approved);
        REQUIRE(w.events().Events().size() == before.events + approved);
        if (approved == 0) w.RequireUnchanged(before);
      });

  // Entitlements, licenses and seats.
  add("create named entitlement", [&] {
    auto e =
        d.licenses().CreateEntitlement(kOp, ids.acme, Named("CAD-NAMED", 2));
    if (e.ok()) ids.named = *e;
    return e.status();
  });
  add("create floating entitlement", [&] {
    auto e =
        d.licenses().CreateEntitlement(kOp, ids.acme, Floating("CAD-FLOAT", 3));
    if (e.ok()) ids.floating = *e;
    return e.status();
  });
  add("assign license",
      [&] { return d.licenses().Assign(As(ids.anna), ids.named.id, ids.bob); });
  add("grant pool access", [&] {
    return d.licenses()
        .GrantPoolAccess(As(ids.anna), ids.floating.id,
                         PoolMember{.identity = ids.carl})
        .status();
  });
  add("checkout", [&] {
    auto lease = d.licenses().Checkout(ids.carl, "CAD-FLOAT", kLaptop);
    if (lease.ok() && !lease->seat.has_value()) return Unexpected("no seat");
    return lease.status();
  });
  add("heartbeat", [&] {
    auto lease = d.licenses().Heartbeat(ids.carl, ids.floating.id, kLaptop);
    if (lease.ok() && !lease->renewed) return Unexpected("a new seat");
    return lease.status();
  });
  add("release",
      [&] { return d.licenses().Release(ids.carl, ids.floating.id, kLaptop); });

  // Account actions.
  add("lock", [&] { return d.identities().Lock(As(ids.anna), ids.bob); });
  add("unlock", [&] { return d.identities().Unlock(As(ids.anna), ids.bob); });
  // SEC-10: the attempt is counted in a write of its own before the password
  // is checked; a store failure after it leaves that count (a failed
  // attempt) and nothing else, and the sign-in that follows forgets it.
  add(
      "sign in",
      [&] {
        return d.identities()
            .SignIn("bob@acme.com", kPassword, kLaptop)
            .status();
      },
      [&](const State& before) { w.RequireUnchangedButThrottles(before); });
  add("request password reset", [&] {
    return d.identities().RequestPasswordReset(kAnon, "carl@partner.org");
  });
  add("complete password reset", [&] {
    return d.identities().CompletePasswordReset(
        w.Token("carl@partner.org", "password-reset"), kNewPassword);
  });

  // Projects and a batch job.
  add("create project", [&] {
    auto project = d.projects().CreateProject(As(ids.anna), ids.acme,
                                              ids.floating.id, "Bridge", "eu");
    if (project.ok()) ids.project = *project;
    return project.status();
  });
  add("submit member updates", [&] {
    std::vector<ProjectMemberUpdates> request = {
        {ids.project.id,
         {{MemberUpdateAction::kAdd, "bob@acme.com", ProjectRole::kAdmin},
          {MemberUpdateAction::kAdd, "carl@partner.org", ProjectRole::kUser},
          {MemberUpdateAction::kAdd, "nobody@nowhere.test",
           ProjectRole::kUser}}}};
    auto job =
        d.projects().SubmitMemberUpdates(As(ids.anna), ids.acme, "eu", request);
    if (job.ok()) ids.job = job->id;
    return job.status();
  });
  add("run job", [&] {
    auto job = d.projects().RunJob(ids.job);
    if (!job.ok()) return job.status();
    if (job->status != JobStatus::kDone || job->results.size() != 3 ||
        !job->results[0].status.ok() || !job->results[1].status.ok() ||
        // SEC-3: an address with no account is a non-member like any other.
        GetReason(job->results[2].status) != Reason::kNotMember) {
      std::string got =
          absl::StrCat("job results: status ", static_cast<int>(job->status));
      for (const MemberUpdateResult& r : job->results) {
        absl::StrAppend(&got, "; ", r.update.email, ": ", r.status.ToString());
      }
      return Unexpected(got);
    }
    return absl::OkStatus();
  });

  // ADM-2: the import commits in batches; a store failure fails the rows of
  // the batch it hit, reports nothing after them and stops, and leaves the
  // batches committed before. Run again, it adds what is missing.
  add(
      "import users",
      [&] {
        ids.imported.clear();
        std::istringstream in(kImportCsv);
        UserImportOptions options;
        options.rows_per_transaction = kImportRowsPerTransaction;
        auto summary = d.user_lists().Import(
            As(ids.anna), ids.acme, in, options,
            [&](const UserImportRow& row) { ids.imported.push_back(row); });
        if (!summary.ok()) return summary.status();
        if (summary->rows != 5 || summary->failed != 1 ||
            ids.imported.size() != 5 ||
            GetReason(ids.imported[3].status) != Reason::kInvalidEmail) {
          return Unexpected("import results");
        }
        return absl::OkStatus();
      },
      [&](const State& before) {
        const Snapshot now = TakeSnapshot(w.store());
        const std::vector<UserImportRow>& rows = ids.imported;
        REQUIRE(rows.size() <= 5);
        size_t invited = 0;
        size_t employees_added = 0;
        bool applied_any = false;
        std::optional<size_t> first_store_failure;
        for (size_t i = 0; i < rows.size(); ++i) {
          const UserImportRow& row = rows[i];
          INFO("row " << row.record << " (" << row.email
                      << "): " << UserImportOutcomeName(row.outcome) << " "
                      << row.status.ToString());
          REQUIRE(row.record == static_cast<int64_t>(i) + 2);
          if (IsStoreUnavailable(row.status)) {
            REQUIRE(row.outcome == UserImportOutcome::kFailed);
            if (!first_store_failure) first_store_failure = i;
          }
          if (first_store_failure) {
            // Rows of the batch that failed, and nothing after it.
            REQUIRE(row.outcome == UserImportOutcome::kFailed);
            REQUIRE(i / kImportRowsPerTransaction ==
                    *first_store_failure / kImportRowsPerTransaction);
          }
          if (row.outcome == UserImportOutcome::kInvited) ++invited;
          if (row.outcome == UserImportOutcome::kInvited ||
              row.outcome == UserImportOutcome::kAdded ||
              row.outcome == UserImportOutcome::kUpdated) {
            applied_any = true;
          }
          // Each row's effect is there exactly when it was reported done.
          const bool done = row.outcome != UserImportOutcome::kFailed;
          if (row.email == "hank@acme.com") {
            bool member = false;
            for (const MembershipRecord& m : now.memberships) {
              member |=
                  m.organization_id == ids.acme && m.identity_id == ids.hank;
            }
            bool licensed = false;
            for (const LicenseAssignmentRecord& a : now.license_assignments) {
              licensed |= a.identity_id == ids.hank;
            }
            REQUIRE(member == done);
            REQUIRE(licensed == done);
            if (done) ++employees_added;
          } else if (row.email == "ivy@partner.org" ||
                     row.email == "jill@partner.org") {
            bool invitation = false;
            for (const InvitationRecord& inv : now.invitations) {
              invitation |= inv.email.str() == row.email;
            }
            REQUIRE(invitation == done);
          }
        }
        // With no row of the failed batch read (its transaction did not
        // begin), every reported row is of a committed batch.
        REQUIRE(w.notifier().Sent().size() == before.sent + invited);
        REQUIRE(w.events().Events().size() == before.events + employees_added);
        if (!applied_any) w.RequireUnchanged(before);
      });
  add("export users", [&] {
    std::ostringstream out;
    auto written = d.user_lists().Export(As(ids.anna), ids.acme, out);
    if (!written.ok()) return written.status();
    // anna, bob, carl, dana, frank, gina, hank.
    if (*written != 7) return Unexpected(absl::StrCat(*written, " exported"));
    return absl::OkStatus();
  });

  // Endings.
  add("remove member", [&] {
    return d.organizations().RemoveMember(As(ids.anna), ids.acme, ids.carl);
  });
  add("delete identity",
      [&] { return d.identities().Delete(As(ids.gina), ids.gina); });
  return steps;
}

// Steps whose store write is best effort: they succeed when it fails.
// Checkout records the device's access check for ID-9's offline grace only
// as far as the store lets it (licenses.cc).
bool MaySwallowFault(const std::string& step) { return step == "checkout"; }

struct RunResult {
  size_t steps = 0;
  int64_t operations = 0;
  Snapshot final;
  std::vector<std::string> failed_steps;
  std::string swallowed_by;  // The step that consumed the fault and succeeded.
};

// Runs the scenario on a fresh world with the `fail_at`-th store operation
// failing (0: none); with `fail_begins`, every step is first run with no
// write transaction able to begin.
template <typename Backend>
RunResult RunScenario(int64_t fail_at, bool fail_begins = false) {
  World<Backend> w;
  Ids ids;
  std::vector<Step<Backend>> steps = Scenario(w, ids);
  w.faults().FailAt(fail_at);
  RunResult result;
  result.steps = steps.size();
  for (Step<Backend>& step : steps) {
    INFO("fault at operation " << fail_at << (fail_begins ? " (begins)" : "")
                               << ", step '" << step.name << "'");
    const bool armed = fail_begins || w.faults().operations() < fail_at;
    // Nothing can fail once the fault has passed: no need to look.
    std::optional<typename World<Backend>::State> before;
    if (armed) before = w.Freeze();
    w.faults().FailBegin(fail_begins);
    const int64_t ops_before = w.faults().operations();
    absl::Status status = step.run();
    w.faults().FailBegin(false);
    const bool hit = fail_at > ops_before && fail_at <= w.faults().operations();
    if (status.ok()) {
      if (hit) {
        INFO("the step succeeded although the store failed under it");
        CHECK(MaySwallowFault(step.name));
        result.swallowed_by = step.name;
      }
      continue;
    }
    INFO("status: " << status.ToString());
    REQUIRE(armed);
    REQUIRE(IsStoreUnavailable(status));
    if (step.check_partial) {
      step.check_partial(*before);
    } else {
      w.RequireUnchanged(*before);
    }
    result.failed_steps.push_back(step.name);
    w.faults().FailAt(0);
    absl::Status again = step.run();
    INFO("run again: " << again.ToString());
    REQUIRE(again.ok());
  }
  result.operations = w.faults().operations();
  result.final = TakeSnapshot(w.store());
  return result;
}

TEMPLATE_TEST_CASE("Faults: the fault store fails the operation it is told to",
                   "[faults]", ENTITLE_BACKENDS) {
  TestType backend;
  std::unique_ptr<Store> wrapped = backend.Open();
  FaultStore store(*wrapped);
  {
    auto txn = BeginRead(store);
    REQUIRE(ListAll(txn->identities()).empty());
    MustCommit(*txn);
  }
  REQUIRE(store.operations() == 0);  // Reads count nothing.

  store.FailAt(2);
  {
    auto txn = BeginWrite(store);
    MustInsert(txn->identities(), MakeIdentity("a@example.com"));  // 1
    ENTITLE_REQUIRE_REFUSED(                                       // 2
        txn->identities().Insert(MakeIdentity("b@example.com")),
        StatusCode::kUnavailable, Reason::kStoreUnavailable);
    // A failed write leaves the transaction usable.
    MustInsert(txn->identities(), MakeIdentity("b@example.com"));  // 3
    MustCommit(*txn);                                              // 4
  }
  REQUIRE(store.operations() == 4);
  {
    auto txn = BeginRead(*wrapped);
    REQUIRE(ListAll(txn->identities()).size() == 2);
    MustCommit(*txn);
  }

  store.FailAt(7);
  {
    auto txn = BeginWrite(store);
    MustInsert(txn->organizations(), MakeOrganization("Acme"));       // 5
    ENTITLE_REQUIRE_OK(txn->Savepoint());                             // 6
    ENTITLE_REQUIRE_REFUSED(txn->Commit(), StatusCode::kUnavailable,  // 7
                            Reason::kStoreUnavailable);
    // A failed commit finishes the transaction and writes nothing.
    ENTITLE_REQUIRE_REFUSED(
        txn->organizations().Insert(MakeOrganization("Initech")),
        StatusCode::kFailedPrecondition, Reason::kTransactionFinished);
    ENTITLE_REQUIRE_REFUSED(txn->Commit(), StatusCode::kFailedPrecondition,
                            Reason::kTransactionFinished);
    txn->Rollback();
  }
  REQUIRE(store.operations() == 7);
  {
    auto txn = BeginRead(*wrapped);
    REQUIRE(ListAll(txn->organizations()).empty());
    MustCommit(*txn);
  }

  store.FailBegin(true);
  ENTITLE_REQUIRE_REFUSED(store.Begin(TransactionMode::kWrite),
                          StatusCode::kUnavailable, Reason::kStoreUnavailable);
  ENTITLE_REQUIRE_OK(store.Begin(TransactionMode::kRead));
  store.FailBegin(false);
  {
    auto txn = BeginWrite(store);
    MustInsert(txn->organizations(), MakeOrganization("Acme"));  // 8
    MustCommit(*txn);                                            // 9
  }
  REQUIRE(store.operations() == 9);
}

// One section per N, so that a failure at one N does not hide the others.
// Catch runs the test case once per section; the run without faults is
// made once and kept.
TEMPLATE_TEST_CASE(
    "Faults: every store write and commit of a full scenario "
    "fails once",
    "[faults]", ENTITLE_BACKENDS) {
  static const auto started = std::chrono::steady_clock::now();
  static const RunResult clean = RunScenario<TestType>(0);
  static std::map<std::string, int> failures_by_step;
  static int swallowed = 0;
  REQUIRE(clean.failed_steps.empty());
  const int64_t total = clean.operations;
  REQUIRE(total > 0);

  for (int64_t n = 1; n <= total; ++n) {
    DYNAMIC_SECTION("fault at operation " << n << " of " << total) {
      const RunResult run = RunScenario<TestType>(n);
      // The fault was met: exactly one step failed, or a best-effort write
      // swallowed it.
      REQUIRE(run.failed_steps.size() + (run.swallowed_by.empty() ? 0 : 1) ==
              1);
      for (const std::string& s : run.failed_steps) ++failures_by_step[s];
      const bool device_check_lost = !run.swallowed_by.empty();
      swallowed += device_check_lost ? 1 : 0;
      // Every step did its work exactly once.
      CHECK(Shape(run.final, !device_check_lost) ==
            Shape(clean.final, !device_check_lost));
      if (device_check_lost) {
        CHECK(run.final.device_checks.size() + 1 ==
              clean.final.device_checks.size());
      }
    }
  }
  SECTION("summary") {
    const auto seconds = std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - started)
                             .count();
    std::string by_step;
    for (const auto& [name, count] : failures_by_step) {
      absl::StrAppend(&by_step, "\n  ", name, ": ", count);
    }
    WARN(TestType::kName << ": T = " << total << " store operations; "
                         << swallowed << " swallowed (best effort); " << seconds
                         << " s; failures by step:" << by_step);
  }
}

TEMPLATE_TEST_CASE("Faults: no write transaction can begin", "[faults]",
                   ENTITLE_BACKENDS) {
  const RunResult clean = RunScenario<TestType>(0);
  const RunResult run = RunScenario<TestType>(0, /*fail_begins=*/true);
  std::string failed;
  for (const std::string& s : run.failed_steps)
    absl::StrAppend(&failed, s, "; ");
  INFO("failed steps: " << failed);
  // Every step needs a write transaction but the read-only ones (export),
  // and the checkout path once its directory serves (heartbeat, release:
  // the device's access check is a best-effort write). The first checkout
  // needs one: it takes the serving claim (ACT-3).
  REQUIRE(run.failed_steps.size() + 3 == run.steps);
  CHECK(Shape(run.final, false) == Shape(clean.final, false));
}

// ------------------------------------------------- SQLite on a bad file

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Makes file modes bind this thread even when it runs as root: drops the
// capabilities that override them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH,
// CAP_FOWNER) from the thread's effective set, and restores them when
// destroyed. Capabilities are per thread in Linux, and SQLite opens files
// on the calling thread.
class FileModesApply {
 public:
  FileModesApply() {
    if (::geteuid() != 0) return;
    header_.version = _LINUX_CAPABILITY_VERSION_3;
    header_.pid = 0;
    if (::syscall(SYS_capget, &header_, saved_) != 0) return;
    __user_cap_data_struct lowered[2] = {saved_[0], saved_[1]};
    lowered[0].effective &= ~((1u << CAP_DAC_OVERRIDE) |
                              (1u << CAP_DAC_READ_SEARCH) | (1u << CAP_FOWNER));
    lowered_ = ::syscall(SYS_capset, &header_, lowered) == 0;
  }
  ~FileModesApply() {
    if (lowered_) ::syscall(SYS_capset, &header_, saved_);
  }
  FileModesApply(const FileModesApply&) = delete;
  FileModesApply& operator=(const FileModesApply&) = delete;

 private:
  __user_cap_header_struct header_{};
  __user_cap_data_struct saved_[2]{};
  bool lowered_ = false;
};

// True when this thread cannot open `path` for writing.
bool WriteProtected(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR);
  if (fd >= 0) {
    ::close(fd);
    return false;
  }
  return errno == EACCES || errno == EROFS || errno == EPERM;
}

// An administrator, an organization with an employee, a role and an
// entitlement: the few records the bad-file tests start from.
struct Seeded {
  IdentityId anna, bob;
  OrganizationId acme;
  EntitlementId cad;
};
Seeded Seed(Directory& d, InMemoryNotifier& notifier) {
  Seeded s;
  auto registered = [&](const char* email) {
    return RegisterVerifiedIn(d, notifier, email, {"Someone", "DE", ""});
  };
  s.anna = registered("anna@acme.com");
  s.bob = registered("bob@acme.com");
  auto acme = d.organizations().Create(kOp, "Acme", s.anna);
  ENTITLE_REQUIRE_OK(acme);
  s.acme = *acme;
  ENTITLE_REQUIRE_OK(
      d.organizations().AddExternal(As(s.anna), s.acme, "bob@acme.com"));
  auto cad = d.licenses().CreateEntitlement(kOp, s.acme, Named("CAD", 2));
  ENTITLE_REQUIRE_OK(cad);
  s.cad = cad->id;
  return s;
}

// Write operations of every service, each of which must be refused with
// kStoreUnavailable by a store that cannot write.
std::vector<std::pair<std::string, std::function<absl::Status()>>> Writes(
    Directory& d, const Seeded& s) {
  return {
      {"register",
       [&] {
         return d.identities()
             .Register(kAnon, "new@acme.com", {"New", "DE", ""})
             .status();
       }},
      {"request password reset",
       [&] {
         return d.identities().RequestPasswordReset(kAnon, "bob@acme.com");
       }},
      {"lock", [&] { return d.identities().Lock(kOp, s.bob); }},
      {"sign in with a device",
       [&] {
         return d.identities()
             .SignIn("bob@acme.com", kPassword, DeviceId("laptop"))
             .status();
       }},
      {"create role",
       [&] {
         return d.organizations()
             .CreateRole(As(s.anna), s.acme, "Auditors", kViewUsage)
             .status();
       }},
      {"remove member",
       [&] {
         return d.organizations().RemoveMember(As(s.anna), s.acme, s.bob);
       }},
      {"invite",
       [&] {
         auto r = d.invitations().Invite(As(s.anna), s.acme, {"x@partner.org"},
                                         InvitationKind::kExternal);
         return r.status();
       }},
      {"assign license",
       [&] { return d.licenses().Assign(As(s.anna), s.cad, s.bob); }},
      {"import users",
       [&] {
         std::istringstream in(
             "email,kind\r\nbob@acme.com,external\r\n"
             "y@partner.org,external\r\n");
         return d.user_lists()
             .Import(As(s.anna), s.acme, in, {}, [](const UserImportRow&) {})
             .status();
       }},
      {"delete identity", [&] { return d.identities().Delete(kOp, s.bob); }},
  };
}

// Reads of every kind that must still work.
void RequireReadsWork(Directory& d, const Seeded& s) {
  ENTITLE_REQUIRE_OK(d.identities().Get(kOp, s.bob));
  ENTITLE_REQUIRE_OK(d.organizations().Get(As(s.anna), s.acme));
  auto members = d.organizations().ListMembers(As(s.anna), s.acme, {});
  ENTITLE_REQUIRE_OK(members);
  REQUIRE(members->items.size() == 2);
  ENTITLE_REQUIRE_OK(d.licenses().ListEntitlements(As(s.anna), s.acme));
  std::ostringstream csv;
  auto exported = d.user_lists().Export(As(s.anna), s.acme, csv);
  ENTITLE_REQUIRE_OK(exported);
  REQUIRE(*exported == 2);
}

// Every write through the services, and one straight through the store,
// fails with kStoreUnavailable; reads work; the store still holds `before`
// and nothing was sent.
void RequireReadOnly(Store& store, Directory& d, InMemoryNotifier& notifier,
                     const Seeded& seeded, const Snapshot& before) {
  const size_t sent = notifier.Sent().size();
  for (auto& [name, write] : Writes(d, seeded)) {
    INFO("write: " << name);
    const absl::Status status = write();
    INFO("status: " << status.ToString());
    REQUIRE(IsStoreUnavailable(status));
  }
  {
    // A write transaction may begin (SQLite finds out at the first write);
    // its writes and its commit fail.
    auto txn = store.Begin(TransactionMode::kWrite);
    if (txn.ok()) {
      ENTITLE_REQUIRE_REFUSED(
          (*txn)->organizations().Insert(MakeOrganization("Initech")),
          StatusCode::kUnavailable, Reason::kStoreUnavailable);
      const absl::Status commit = (*txn)->Commit();
      REQUIRE((commit.ok() || IsStoreUnavailable(commit)));
    } else {
      ENTITLE_REQUIRE_REFUSED(txn, StatusCode::kUnavailable,
                              Reason::kStoreUnavailable);
    }
  }
  RequireReadsWork(d, seeded);
  REQUIRE(TakeSnapshot(store) == before);
  REQUIRE(notifier.Sent().size() == sent);
}

TEST_CASE("Faults: SQLite on a read-only file", "[faults][sqlite]") {
  SqliteBackend backend;
  const std::string path = backend.path();
  TestPorts ports;
  Seeded seeded;
  Snapshot before;
  {
    auto store = backend.OpenSqlite();
    Directory d(*store, ports.Options());
    seeded = Seed(d, ports.notifier);
    before = TakeSnapshot(*store);
  }

  SECTION(
      "a store opened on a read-only file: writes fail, reads work, "
      "nothing changes") {
    const std::string bytes = ReadBytes(path);
    REQUIRE(::chmod(path.c_str(), 0444) == 0);
    {
      FileModesApply modes;
      if (!WriteProtected(path)) {
        WARN(
            "skipped: this process can write a file of mode 0444 even "
            "without CAP_DAC_OVERRIDE");
      } else {
        auto store = SqliteStore::Open(path);
        if (!store.ok()) {
          // sqlite_store.h: Open fails when the file cannot be written.
          ENTITLE_REQUIRE_REFUSED(store, StatusCode::kUnavailable,
                                  Reason::kStoreUnavailable);
        } else {
          Directory d(**store, ports.Options());
          RequireReadOnly(**store, d, ports.notifier, seeded, before);
        }
      }
    }
    REQUIRE(::chmod(path.c_str(), 0644) == 0);
    REQUIRE(ReadBytes(path) == bytes);
  }

  SECTION(
      "a file made read-only under an open store: writes fail, reads "
      "work, nothing changes") {
    // No idle connections: each transaction opens the file anew, so it
    // meets the file as it is now.
    SqliteOptions options;
    options.max_idle_connections = 0;
    auto store = backend.OpenSqlite(options);
    Directory d(*store, ports.Options());
    RequireReadsWork(d, seeded);
    REQUIRE(TakeSnapshot(*store) == before);

    REQUIRE(::chmod(path.c_str(), 0444) == 0);
    {
      FileModesApply modes;
      if (!WriteProtected(path)) {
        WARN(
            "skipped: this process can write a file of mode 0444 even "
            "without CAP_DAC_OVERRIDE");
      } else {
        RequireReadOnly(*store, d, ports.notifier, seeded, before);
      }
    }
    // Writable again: the store writes again.
    REQUIRE(::chmod(path.c_str(), 0644) == 0);
    ENTITLE_REQUIRE_OK(d.organizations().CreateRole(
        As(seeded.anna), seeded.acme, "Auditors", kViewUsage));
  }
}

// A small tmpfs mounted on a fresh directory, unmounted and removed when
// destroyed. Mounting needs CAP_SYS_ADMIN; `error()` says why it failed.
class SmallFileSystem {
 public:
  explicit SmallFileSystem(size_t bytes) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "entitle-full-XXXXXX")
            .string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      error_ = std::strerror(errno);
      return;
    }
    dir_ = tmpl;
    const std::string size = absl::StrCat("size=", bytes);
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
                size.c_str()) != 0) {
      error_ = std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~SmallFileSystem() {
    if (mounted_ && ::umount(dir_.c_str()) != 0) {
      ::umount2(dir_.c_str(), MNT_DETACH);
    }
    if (!dir_.empty()) ::rmdir(dir_.c_str());
  }
  SmallFileSystem(const SmallFileSystem&) = delete;
  SmallFileSystem& operator=(const SmallFileSystem&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  std::string Path(const char* name) const {
    return (std::filesystem::path(dir_) / name).string();
  }

  // Fills the file system with `name` until a write fails with ENOSPC;
  // returns that errno (0 if writes never failed within the size).
  int Fill(const char* name) {
    const int fd =
        ::open(Path(name).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return errno;
    const std::string block(4096, 'x');
    int error = 0;
    while (true) {
      const ssize_t n = ::write(fd, block.data(), block.size());
      if (n < static_cast<ssize_t>(block.size())) {
        error = n < 0 ? errno : ENOSPC;
        if (n >= 0) {
          // A short write: the next one reports why.
          if (::write(fd, block.data(), block.size()) < 0) error = errno;
        }
        break;
      }
    }
    ::close(fd);
    return error;
  }

 private:
  std::string dir_;
  std::string error_;
  bool mounted_ = false;
};

TEST_CASE("Faults: SQLite on a full file system", "[faults][sqlite]") {
  SmallFileSystem fs(4 << 20);
  if (!fs.mounted()) {
    WARN("skipped: cannot mount a small tmpfs to fill ("
         << fs.error()
         << "); mounting needs CAP_SYS_ADMIN, e.g. running as root");
    return;
  }
  TestPorts ports;
  auto store = SqliteStore::Open(fs.Path("store.db"));
  ENTITLE_REQUIRE_OK(store);
  Directory d(**store, ports.Options());
  const Seeded seeded = Seed(d, ports.notifier);

  REQUIRE(fs.Fill("filler") == ENOSPC);

  // Writes go on while SQLite can reuse space it holds (WAL frames after a
  // checkpoint, free pages); the first that needs more fails whole.
  std::optional<std::string> refused_email;
  for (int i = 0; i < 1000 && !refused_email; ++i) {
    const std::string email = absl::StrCat("user", i, "@acme.com");
    const Snapshot before = TakeSnapshot(**store);
    const size_t sent = ports.notifier.Sent().size();
    const absl::Status status =
        d.identities().Register(kAnon, email, {"User", "DE", ""}).status();
    if (status.ok()) continue;
    INFO("register " << email << ": " << status.ToString());
    REQUIRE(IsStoreUnavailable(status));
    REQUIRE(TakeSnapshot(**store) == before);
    REQUIRE(ports.notifier.Sent().size() == sent);
    refused_email = email;
  }
  REQUIRE(refused_email.has_value());

  for (auto& [name, write] : Writes(d, seeded)) {
    INFO("write: " << name);
    const Snapshot before = TakeSnapshot(**store);
    const size_t sent = ports.notifier.Sent().size();
    const absl::Status status = write();
    INFO("status: " << status.ToString());
    // A write small enough for the space SQLite holds may still succeed;
    // one that fails must fail as a store failure and change nothing.
    if (status.ok()) continue;
    REQUIRE(IsStoreUnavailable(status));
    REQUIRE(TakeSnapshot(**store) == before);
    REQUIRE(ports.notifier.Sent().size() == sent);
  }
  RequireReadsWork(d, seeded);

  // Space again: the refused registration now goes through.
  REQUIRE(::unlink(fs.Path("filler").c_str()) == 0);
  ENTITLE_REQUIRE_OK(
      d.identities().Register(kAnon, *refused_email, {"User", "DE", ""}));
}

}  // namespace
}  // namespace entitle_test
