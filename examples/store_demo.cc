// entitle-store-demo: a tour of the store in one file.
//
//   entitle-store-demo [path]     (default ./entitle-demo.db)
//
// Opens (or creates) a SQLite store at `path`; in one write transaction creates
// an organization, two identities, an employee and an external membership and
// an audit record, and commits; lists what was stored in a read transaction;
// and shows that the store refuses a second employee membership for the same
// identity, with the reason a host would branch on. Exits non-zero on any
// unexpected failure.
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "entitle/clock.h"
#include "entitle/email.h"
#include "entitle/records.h"
#include "entitle/sqlite_store.h"
#include "entitle/status.h"
#include "entitle/store.h"
#include "fmt/core.h"

namespace {

using entitle::TransactionMode;

// Prints what failed and why, for the failures the demo does not expect.
int Fail(std::string_view what, const absl::Status& status) {
  fmt::print(stderr, "error: {}: {} (reason: {})\n", what, status.ToString(),
             entitle::ReasonName(entitle::GetReason(status)));
  return EXIT_FAILURE;
}

std::string_view KindName(entitle::MembershipKind kind) {
  switch (kind) {
    case entitle::MembershipKind::kEmployee:
      return "employee";
    case entitle::MembershipKind::kExternal:
      return "external";
  }
  return "unknown";
}

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
}

struct Person {
  const char* email;
  const char* name;
  const char* country;
  entitle::MembershipKind kind;
};

constexpr Person kPeople[] = {
    {"Anna.Berg@Acme.example", "Anna Berg", "SE",
     entitle::MembershipKind::kEmployee},
    {"ben@partner.example", "Ben Okafor", "NG",
     entitle::MembershipKind::kExternal},
};

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "./entitle-demo.db";
  if (argc > 2) {
    fmt::print(stderr, "usage: {} [path]\n", argv[0]);
    return 2;
  }
  entitle::Clock& clock = entitle::SystemClock::Get();

  absl::StatusOr<std::unique_ptr<entitle::SqliteStore>> opened =
      entitle::SqliteStore::Open(path);
  if (!opened.ok()) return Fail(fmt::format("open {}", path), opened.status());
  entitle::SqliteStore& store = **opened;
  fmt::print("opened store {} (schema version {})\n", store.path(),
             entitle::SqliteStore::kSchemaVersion);

  // ---- One write transaction: everything below is committed together.
  entitle::OrganizationId acme;
  entitle::IdentityId anna;
  {
    auto txn = store.Begin(TransactionMode::kWrite);
    if (!txn.ok()) return Fail("begin write transaction", txn.status());

    entitle::OrganizationRecord org;
    org.name = "Acme";
    org.discoverable = true;
    org.created_at = clock.Now();
    auto org_id = (*txn)->organizations().Insert(org);
    if (!org_id.ok()) return Fail("create organization", org_id.status());
    acme = *org_id;
    fmt::print("created organization #{} '{}'\n", acme.value(), org.name);

    for (const Person& person : kPeople) {
      auto email = entitle::Email::Parse(person.email);
      if (!email.ok()) return Fail("parse email", email.status());
      entitle::IdentityRecord identity;
      identity.email = *email;
      identity.display_name = person.name;
      identity.country = person.country;
      identity.verified = true;
      identity.created_at = clock.Now();
      auto id = (*txn)->identities().Insert(identity);
      if (!id.ok()) {
        if (entitle::GetReason(id.status()) == entitle::Reason::kDuplicate) {
          fmt::print(stderr,
                     "error: {} already holds the demo data; pass a new path "
                     "or remove the file\n",
                     path);
        }
        return Fail("create identity", id.status());
      }
      fmt::print("created identity #{} {} ('{}', from '{}')\n", id->value(),
                 identity.email.str(), identity.display_name, person.email);

      entitle::MembershipRecord membership;
      membership.organization_id = acme;
      membership.identity_id = *id;
      membership.kind = person.kind;
      membership.created_at = clock.Now();
      auto key = (*txn)->memberships().Insert(membership);
      if (!key.ok()) return Fail("add membership", key.status());
      fmt::print("added identity #{} to organization #{} as {}\n", id->value(),
                 acme.value(), KindName(person.kind));
      if (person.kind == entitle::MembershipKind::kEmployee) anna = *id;
    }

    entitle::AuditRecord audit;
    audit.at = clock.Now();
    audit.organization_id = acme;
    audit.action = "demo.setup";
    audit.target = fmt::format("organization#{}", acme.value());
    audit.outcome = "ok";
    audit.detail = "created by entitle-store-demo";
    auto audit_id = (*txn)->audit().Insert(audit);
    if (!audit_id.ok()) return Fail("append audit record", audit_id.status());
    fmt::print("appended audit record #{} '{}'\n", audit_id->value(),
               audit.action);

    if (absl::Status s = (*txn)->Commit(); !s.ok()) return Fail("commit", s);
    fmt::print("committed\n\n");
  }

  // ---- A read transaction: what the store now holds.
  {
    auto txn = store.Begin(TransactionMode::kRead);
    if (!txn.ok()) return Fail("begin read transaction", txn.status());
    const entitle::PageRequest page;

    auto orgs = (*txn)->organizations().List({}, page);
    if (!orgs.ok()) return Fail("list organizations", orgs.status());
    fmt::print("organizations:\n");
    for (const auto& org : orgs->items) {
      fmt::print("  #{} {}{} (created {})\n", org.id.value(), org.name,
                 org.discoverable ? ", discoverable" : "",
                 TimeText(org.created_at));
    }

    auto people = (*txn)->identities().List({}, page);
    if (!people.ok()) return Fail("list identities", people.status());
    fmt::print("identities:\n");
    for (const auto& identity : people->items) {
      fmt::print("  #{} {:<26} {:<12} {}{}\n", identity.id.value(),
                 identity.email.str(), identity.display_name, identity.country,
                 identity.verified ? ", verified" : "");
    }

    entitle::MembershipFilter in_acme;
    in_acme.organization_id = acme;
    auto members = (*txn)->memberships().List(in_acme, page);
    if (!members.ok()) return Fail("list memberships", members.status());
    fmt::print("members of organization #{}:\n", acme.value());
    for (const auto& member : members->items) {
      auto identity = (*txn)->identities().Get(member.identity_id);
      if (!identity.ok()) return Fail("get identity", identity.status());
      fmt::print("  identity #{} {} ({})\n", member.identity_id.value(),
                 identity->email.str(), KindName(member.kind));
    }

    auto audit = (*txn)->audit().List({}, page);
    if (!audit.ok()) return Fail("list audit", audit.status());
    fmt::print("audit trail:\n");
    for (const auto& entry : audit->items) {
      fmt::print("  #{} {} {} {} -> {} ({})\n", entry.id.value(),
                 TimeText(entry.at), entry.action, entry.target, entry.outcome,
                 entry.detail);
    }
    if (absl::Status s = (*txn)->Commit(); !s.ok()) {
      return Fail("end read transaction", s);
    }
    fmt::print("\n");
  }

  // ---- The store refuses a second employee membership for one identity
  // (SPEC ORG-3), and a refused write changes nothing.
  {
    auto txn = store.Begin(TransactionMode::kWrite);
    if (!txn.ok()) return Fail("begin write transaction", txn.status());
    entitle::OrganizationRecord other;
    other.name = "Globex";
    other.created_at = clock.Now();
    auto other_id = (*txn)->organizations().Insert(other);
    if (!other_id.ok()) return Fail("create organization", other_id.status());
    fmt::print("created organization #{} '{}' (not to be committed)\n",
               other_id->value(), other.name);

    entitle::MembershipRecord second;
    second.organization_id = *other_id;
    second.identity_id = anna;
    second.kind = entitle::MembershipKind::kEmployee;
    second.created_at = clock.Now();
    auto refused = (*txn)->memberships().Insert(second);
    if (refused.ok()) {
      fmt::print(stderr,
                 "error: a second employee membership for identity #{} was "
                 "accepted\n",
                 anna.value());
      return EXIT_FAILURE;
    }
    const entitle::Reason reason = entitle::GetReason(refused.status());
    fmt::print(
        "refused: identity #{} as employee of organization #{}: {} "
        "(reason: {})\n",
        anna.value(), other_id->value(),
        std::string(refused.status().message()), entitle::ReasonName(reason));
    if (reason != entitle::Reason::kDuplicate) {
      return Fail("second employee membership", refused.status());
    }
    (*txn)->Rollback();
    fmt::print("rolled back: organization #{} was never stored\n",
               other_id->value());
  }

  fmt::print("\ndone: the store is in {}\n", path);
  return EXIT_SUCCESS;
}
