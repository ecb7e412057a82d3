// Uses an installed entitle: stores an identity in a MemoryStore and reads it
// back. Exits non-zero on any failure.
#include <iostream>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "entitle/email.h"
#include "entitle/memory_store.h"
#include "entitle/records.h"
#include "entitle/status.h"
#include "entitle/store.h"
#include "entitle/version.h"

namespace {

int Fail(const char* step, const absl::Status& status) {
  std::cerr << "consumer: " << step << " failed: " << status << " (reason "
            << entitle::ReasonName(entitle::GetReason(status)) << ")\n";
  return 1;
}

}  // namespace

int main() {
  // The generated version header is installed and matches its macros.
  if (std::string(entitle::kVersion) !=
      std::to_string(ENTITLE_VERSION_MAJOR) + "." +
          std::to_string(ENTITLE_VERSION_MINOR) + "." +
          std::to_string(ENTITLE_VERSION_PATCH)) {
    std::cerr << "consumer: version " << entitle::kVersion
              << " does not match its macros\n";
    return 1;
  }
  absl::StatusOr<entitle::Email> email =
      entitle::Email::Parse("Consumer@Example.com");
  if (!email.ok()) return Fail("Email::Parse", email.status());

  entitle::MemoryStore store;
  entitle::IdentityId id;
  {
    auto txn = store.Begin(entitle::TransactionMode::kWrite);
    if (!txn.ok()) return Fail("Begin(kWrite)", txn.status());
    entitle::IdentityRecord record;
    record.email = *email;
    record.display_name = "Consumer";
    auto inserted = (*txn)->identities().Insert(record);
    if (!inserted.ok()) return Fail("Insert", inserted.status());
    id = *inserted;
    if (absl::Status s = (*txn)->Commit(); !s.ok()) return Fail("Commit", s);
  }

  auto txn = store.Begin(entitle::TransactionMode::kRead);
  if (!txn.ok()) return Fail("Begin(kRead)", txn.status());
  auto record = (*txn)->identities().Get(id);
  if (!record.ok()) return Fail("Get", record.status());
  if (record->email.str() != "consumer@example.com" || record->id != id) {
    std::cerr << "consumer: read back " << record->id << " <" << record->email
              << ">, expected " << id << " <consumer@example.com>\n";
    return 1;
  }
  std::cout << "consumer: " << record->id << " <" << record->email << "> "
            << record->display_name << " (entitle " << entitle::kVersion
            << ")\n";
  return 0;
}
