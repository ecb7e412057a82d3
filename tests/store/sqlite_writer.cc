// A separate process writing to a SQLite store, for the two-process test in
// store_concurrency_test.cc.
//
//   sqlite_writer <db path> <prefix> <count>
//
// Opens the SqliteStore at <db path> and inserts <count> identities with emails
// `<prefix>-<i>@example.com`, each in its own write transaction together with
// an audit record. Retries nothing: the first failure prints the status to
// stderr and exits 1. Exits 0 when every transaction committed.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "entitle/email.h"
#include "entitle/records.h"
#include "entitle/sqlite_store.h"
#include "entitle/store.h"

namespace {

int Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "sqlite_writer: %s: %s\n", what.c_str(),
               status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s <db path> <prefix> <count>\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1];
  const std::string prefix = argv[2];
  char* end = nullptr;
  const long count = std::strtol(argv[3], &end, 10);
  if (end == argv[3] || *end != '\0' || count < 0) {
    std::fprintf(stderr, "sqlite_writer: bad count '%s'\n", argv[3]);
    return 2;
  }

  auto store = entitle::SqliteStore::Open(path);
  if (!store.ok()) return Fail("open " + path, store.status());

  for (long i = 0; i < count; ++i) {
    const std::string address =
        prefix + "-" + std::to_string(i) + "@example.com";
    auto email = entitle::Email::Parse(address);
    if (!email.ok()) return Fail("parse " + address, email.status());

    auto txn = (*store)->Begin(entitle::TransactionMode::kWrite);
    if (!txn.ok()) return Fail("begin #" + std::to_string(i), txn.status());

    entitle::IdentityRecord identity;
    identity.email = *email;
    identity.display_name = prefix + " " + std::to_string(i);
    identity.created_at = absl::Now();
    auto id = (*txn)->identities().Insert(identity);
    if (!id.ok()) return Fail("insert " + address, id.status());

    entitle::AuditRecord audit;
    audit.at = absl::Now();
    audit.action = "identity.create";
    audit.target = "identity#" + std::to_string(id->value());
    audit.outcome = "ok";
    audit.detail = prefix;
    auto audit_id = (*txn)->audit().Insert(audit);
    if (!audit_id.ok()) return Fail("audit " + address, audit_id.status());

    if (absl::Status s = (*txn)->Commit(); !s.ok()) {
      return Fail("commit " + address, s);
    }
  }
  return 0;
}
