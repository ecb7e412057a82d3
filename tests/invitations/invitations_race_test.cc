// Invitations under concurrency (SPEC INV-5: accepting is one atomic step that
// re-checks the invitation's state and the membership; ORG-2: an employee of at
// most one organization). Run under ThreadSanitizer in CI.
//
// Every case runs on a MemoryStore and on a SqliteStore (which opens one
// connection per concurrent transaction). Threads are released together by a
// std::latch; Catch2 assertions are made only on the main thread, after the
// workers have joined.
#include <catch2/catch.hpp>
#include <cstddef>
#include <latch>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "entitle/actor.h"
#include "entitle/directory.h"
#include "entitle/identities.h"
#include "entitle/invitations.h"
#include "entitle/organizations.h"
#include "entitle/records.h"
#include "entitle/status.h"
#include "fixtures/directory_fixture.h"
#include "fixtures/store_fixtures.h"

namespace entitle_test {
namespace {

using namespace entitle;
using absl::StatusCode;

Profile FullProfile() { return Profile{"Test Person", "FI", "en"}; }
using Sent = SentInvitation;

template <typename Backend>
class RaceFixture : public DirectoryFixture<Backend> {
 public:
  IdentityId Person(std::string_view email) {
    return this->RegisterVerified(email, FullProfile());
  }

  SentInvitation Invite(IdentityId admin, OrganizationId org,
                        std::string_view email,
                        InvitationKind kind = InvitationKind::kEmployee) {
    return this->InviteOne(As(admin), org, email, kind);
  }

  InvitationRecord Raw(InvitationId id) {
    return this->template Get<InvitationRecord>(id);
  }
};

// Runs `n` copies of `body(i)` on their own threads, released together.
template <typename Body>
void RunTogether(int n, Body body) {
  std::latch start(n);
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&start, &body, i] {
      start.arrive_and_wait();
      body(i);
    });
  }
  for (std::thread& t : threads) t.join();
}

// clang-format off
TEMPLATE_TEST_CASE("INV-5 eight simultaneous clicks on one link: exactly one "
                   "accepts",
    "[invitations][concurrency]", ENTITLE_BACKENDS) {
  // clang-format on
  RaceFixture<TestType> f;
  const IdentityId anna = f.Person("anna@acme.com");
  const OrganizationId acme = f.CreateOrg("Acme", anna);
  const IdentityId bob = f.Person("bob@bob.example");

  AuditFilter accepts;
  accepts.action = "invitation.accept";
  for (int round = 0; round < 20; ++round) {
    const InvitationKind kind =
        round % 2 == 0 ? InvitationKind::kEmployee : InvitationKind::kExternal;
    INFO("round " << round << ", kind " << static_cast<int>(kind));
    const size_t accepts_before = f.template All<AuditRecord>(accepts).size();
    const Sent s = f.Invite(anna, acme, "bob@bob.example", kind);
    constexpr int kThreads = 8;
    std::vector<absl::Status> results(kThreads);
    RunTogether(kThreads, [&](int i) {
      results[i] = f.inv().Accept(As(bob), s.token).status();
    });

    int ok = 0;
    for (const absl::Status& st : results) {
      INFO("status: " << st.ToString());
      if (st.ok()) {
        ++ok;
      } else {
        REQUIRE(st.code() == StatusCode::kFailedPrecondition);
        REQUIRE(GetReason(st) == Reason::kInvitationAlreadyAccepted);
      }
    }
    REQUIRE(ok == 1);
    const std::vector<MembershipRecord> memberships = f.MembershipsOf(bob);
    REQUIRE(memberships.size() == 1);
    REQUIRE(memberships[0].organization_id == acme);
    REQUIRE(memberships[0].kind == (kind == InvitationKind::kEmployee
                                        ? MembershipKind::kEmployee
                                        : MembershipKind::kExternal));
    REQUIRE(f.Raw(s.id).status == InvitationStatus::kAccepted);
    REQUIRE(f.template All<AuditRecord>(accepts).size() == accepts_before + 1);
    ENTITLE_REQUIRE_OK(f.orgs().RemoveMember(As(anna), acme, bob));
  }
}

// clang-format off
TEMPLATE_TEST_CASE("INV-4 INV-5 accept racing revoke: exactly one wins and the "
                   "state matches it",
    "[invitations][concurrency]", ENTITLE_BACKENDS) {
  // clang-format on
  RaceFixture<TestType> f;
  const IdentityId anna = f.Person("anna@acme.com");
  const OrganizationId acme = f.CreateOrg("Acme", anna);
  const IdentityId bob = f.Person("bob@bob.example");

  constexpr int kRounds = 50;
  int accepted_rounds = 0;
  int revoked_rounds = 0;
  for (int round = 0; round < kRounds; ++round) {
    INFO("round " << round);
    const Sent s = f.Invite(anna, acme, "bob@bob.example");
    absl::Status accept_status, revoke_status;
    RunTogether(2, [&](int i) {
      if (i == 0) {
        accept_status = f.inv().Accept(As(bob), s.token).status();
      } else {
        revoke_status = f.inv().Revoke(As(anna), acme, s.id);
      }
    });
    INFO("accept: " << accept_status.ToString());
    INFO("revoke: " << revoke_status.ToString());
    REQUIRE(accept_status.ok() != revoke_status.ok());
    const InvitationRecord raw = f.Raw(s.id);
    const std::vector<MembershipRecord> memberships = f.MembershipsOf(bob);
    if (accept_status.ok()) {
      ++accepted_rounds;
      REQUIRE(GetReason(revoke_status) == Reason::kInvitationAlreadyAccepted);
      REQUIRE(raw.status == InvitationStatus::kAccepted);
      REQUIRE(memberships.size() == 1);
      REQUIRE(memberships[0].organization_id == acme);
      REQUIRE(memberships[0].kind == MembershipKind::kEmployee);
      ENTITLE_REQUIRE_OK(f.orgs().RemoveMember(As(anna), acme, bob));
    } else {
      ++revoked_rounds;
      REQUIRE(GetReason(accept_status) == Reason::kInvitationRevoked);
      REQUIRE(raw.status == InvitationStatus::kRevoked);
      REQUIRE(memberships.empty());
    }
  }
  REQUIRE(accepted_rounds + revoked_rounds == kRounds);
}

// clang-format off
TEMPLATE_TEST_CASE("ORG-2 INV-5 two employee invitations accepted at once: an "
                   "employee of exactly one organization, the later one",
    "[invitations][concurrency]", ENTITLE_BACKENDS) {
  // clang-format on
  RaceFixture<TestType> f;
  const IdentityId anna = f.Person("anna@acme.com");
  const OrganizationId acme = f.CreateOrg("Acme", anna);
  const IdentityId olga = f.Person("olga@other.com");
  const OrganizationId other = f.CreateOrg("Other", olga);
  const IdentityId bob = f.Person("bob@bob.example");

  constexpr int kRounds = 12;
  for (int round = 0; round < kRounds; ++round) {
    INFO("round " << round);
    const Sent a = f.Invite(anna, acme, "bob@bob.example");
    const Sent o = f.Invite(olga, other, "bob@bob.example");
    const size_t audit_before = f.template All<AuditRecord>().size();
    f.events().Clear();
    std::vector<absl::StatusOr<OrganizationId>> results(
        2, absl::UnknownError("not run"));
    RunTogether(2, [&](int i) {
      results[i] = f.inv().Accept(As(bob), i == 0 ? a.token : o.token);
    });
    ENTITLE_REQUIRE_OK(results[0]);
    ENTITLE_REQUIRE_OK(results[1]);

    // Exactly one employee membership, and no membership in the other.
    const std::vector<OrganizationId> employers = f.EmployersOf(bob);
    REQUIRE(employers.size() == 1);
    REQUIRE(f.MembershipsOf(bob).size() == 1);
    REQUIRE(f.Raw(a.id).status == InvitationStatus::kAccepted);
    REQUIRE(f.Raw(o.id).status == InvitationStatus::kAccepted);

    // The later acceptance (by commit order, which the audit ids follow) is
    // the employer; the earlier one's membership ended in its transaction.
    std::vector<OrganizationId> accepted_in;
    std::vector<AuditRecord> audit = f.template All<AuditRecord>();
    for (size_t i = audit_before; i < audit.size(); ++i) {
      if (audit[i].action == "invitation.accept") {
        accepted_in.push_back(*audit[i].organization_id);
      }
    }
    REQUIRE(accepted_in.size() == 2);
    REQUIRE(accepted_in[0] != accepted_in[1]);
    REQUIRE(employers[0] == accepted_in[1]);

    // Two moves: none -> first, first -> second (ORG-2), in some order of
    // publication.
    const auto changes = f.Changes();
    REQUIRE(changes.size() == 2);
    std::set<std::pair<int64_t, int64_t>> moves;
    for (const auto& c : changes) {
      REQUIRE(c.identity == bob);
      moves.insert({c.previous ? c.previous->value() : 0,
                    c.current ? c.current->value() : 0});
    }
    REQUIRE(moves == std::set<std::pair<int64_t, int64_t>>{
                         {0, accepted_in[0].value()},
                         {accepted_in[0].value(), accepted_in[1].value()}});

    ENTITLE_REQUIRE_OK(
        f.orgs().RemoveMember(Actor::Operator(), employers[0], bob));
  }
}

// clang-format off
TEMPLATE_TEST_CASE("INV-8 eight admins inviting one address at once make one "
                   "invitation",
    "[invitations][concurrency]", ENTITLE_BACKENDS) {
  // clang-format on
  RaceFixture<TestType> f;
  const IdentityId anna = f.Person("anna@acme.com");
  const OrganizationId acme = f.CreateOrg("Acme", anna);

  constexpr int kThreads = 8;
  std::vector<absl::StatusOr<std::vector<InviteResult>>> results(
      kThreads, absl::UnknownError("not run"));
  RunTogether(kThreads, [&](int i) {
    results[i] = f.inv().Invite(As(anna), acme, {"bob@bob.example"},
                                InvitationKind::kEmployee);
  });
  int invited = 0;
  std::set<int64_t> ids;
  for (const auto& r : results) {
    ENTITLE_REQUIRE_OK(r);
    REQUIRE(r->size() == 1);
    const InviteResult& one = r->front();
    REQUIRE(one.invitation.has_value());
    ids.insert(one.invitation->value());
    if (one.outcome == InviteOutcome::kInvited) {
      ++invited;
    } else {
      REQUIRE(one.outcome == InviteOutcome::kAlreadyInvited);
    }
  }
  REQUIRE(invited == 1);
  REQUIRE(ids.size() == 1);
  InvitationFilter filter;
  filter.organization_id = acme;
  REQUIRE(f.template All<InvitationRecord>(filter).size() == 1);
  size_t mails = 0;
  for (const Notification& n : f.notifier().Sent()) {
    if (n.template_name == "invitation") ++mails;
  }
  REQUIRE(mails == 1);
}

}  // namespace
}  // namespace entitle_test
