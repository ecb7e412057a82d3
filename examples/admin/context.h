// What a command runs with: the directory over the store, the actor, the
// output, and the lookups that turn command-line words into ids.
//
// Lookups (an email to an identity, a role or group name to its id, ...) run
// as the operator: whoever may open the database file runs the service. What
// a command then changes or lists runs as `actor()`, so `--as` applies that
// identity's permissions and the audit trail records it.
#ifndef ENTITLE_EXAMPLES_ADMIN_CONTEXT_H_
#define ENTITLE_EXAMPLES_ADMIN_CONTEXT_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "entitle/actor.h"
#include "entitle/directory.h"
#include "entitle/ids.h"
#include "entitle/organizations.h"
#include "entitle/records.h"
#include "entitle/sqlite_store.h"
#include "entitle/status.h"
#include "entitle/store.h"
#include "output.h"

namespace entitle_admin {

// The flags every command takes.
struct GlobalOptions {
  std::string db;                 // --db, else $ENTITLE_DB, else ./entitle.db
  std::optional<std::string> as;  // --as EMAIL
  bool json = false;              // --json
  bool show_links = false;        // --show-links
  // --dns-server IP[:PORT][,...]: where `domain verify` asks for TXT records;
  // empty for the system resolver.
  std::vector<std::string> dns_servers;
};

// A status for a command-line mistake (exit 2), e.g. a malformed id.
absl::Status UsageError(absl::string_view message);
bool IsUsageError(const absl::Status& status);

// "3" or "#3".
absl::StatusOr<int64_t> ParseId(std::string_view text, std::string_view what);
// "yes" or "no".
absl::StatusOr<bool> ParseYesNo(std::string_view text, std::string_view flag);

// Opens the SQLite store at `db`; with `create`, makes it (owner-only, SEC-9)
// when it does not exist. On failure reports it on `out`, sets `*exit_code`
// (kExitStoreDown for a file that is missing or cannot be used, kExitRefused
// otherwise) and returns null; a missing file is reported as
// "no database at <db>" and is not created.
std::unique_ptr<entitle::SqliteStore> OpenStore(const std::string& db,
                                                bool create, Output& out,
                                                int* exit_code);

class Context {
 public:
  Context(entitle::Directory& directory, entitle::Store& store, Output& out,
          entitle::Actor actor = entitle::Actor::Operator())
      : directory_(directory), store_(store), out_(out), actor_(actor) {}

  entitle::Directory& dir() { return directory_; }
  entitle::Store& store() { return store_; }
  Output& out() { return out_; }
  const entitle::Actor& actor() const { return actor_; }
  void set_actor(entitle::Actor actor) { actor_ = actor; }
  // --show-links: whether live link tokens may be printed.
  bool show_links() const { return show_links_; }
  void set_show_links(bool show) { show_links_ = show; }
  // The command running, for "see 'entitle-admin <command> --help'".
  void set_command(std::string name) { command_ = std::move(name); }

  // Prints the failure (see Output::Error) and returns its exit code: 2 for
  // a usage error, 4 when the store is unavailable or corrupt, else 1.
  int Fail(const absl::Status& status);
  // A bulk command where some items failed: prints one error line, e.g.
  // "2 of 9 rows failed; the others were applied (first failure: ...)", with
  // the first failure's reason, and returns 3.
  int Partial(std::string_view summary, const absl::Status& first_failure);

  absl::StatusOr<entitle::IdentityId> Identity(std::string_view email);
  // The identity's address, or "identity#7" once it is gone (cached).
  std::string EmailOf(entitle::IdentityId id);
  absl::StatusOr<entitle::OrganizationId> Organization(std::string_view text);
  absl::StatusOr<entitle::RoleId> Role(entitle::OrganizationId organization,
                                       std::string_view name);
  absl::StatusOr<entitle::GroupId> Group(entitle::OrganizationId organization,
                                         std::string_view name);
  absl::StatusOr<entitle::DomainInfo> Domain(
      entitle::OrganizationId organization, std::string_view name);
  absl::StatusOr<entitle::EntitlementRecord> Entitlement(std::string_view text);

 private:
  entitle::Directory& directory_;
  entitle::Store& store_;
  Output& out_;
  entitle::Actor actor_;
  bool show_links_ = false;
  std::string command_;
  std::map<entitle::IdentityId, std::string> emails_;
};

// A reason's name for the error line: the entitle reason, or the status
// code's name when the status carries none ("internal").
std::string ReasonText(const absl::Status& status);

}  // namespace entitle_admin

#endif  // ENTITLE_EXAMPLES_ADMIN_CONTEXT_H_
