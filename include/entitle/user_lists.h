// An organization's user list as CSV: export (SPEC ADM-1) and bulk import
// (ADM-2).
//
// The file is RFC 4180 CSV (csv.h) in UTF-8 with a header record naming the
// columns. Export writes, one member a record in identity order:
//
//   email,name,kind,roles,status,last_login,licenses
//
//   - kind: "employee" or "external";
//   - roles: the member's role names, sorted, separated by ";" (an
//     administrator holds "Administrator");
//   - status: "locked", "unverified", "pending-profile" (an invited account
//     waiting for its mandatory profile fields, ID-12) or "active", the first
//     that applies;
//   - last_login: ISO 8601 UTC ("2026-11-23T09:30:00Z"), empty when never;
//   - licenses: the SKUs of the member's named licenses and of the pools it
//     may use directly (not through a group), sorted, separated by ";".
//
// Every cell is written guarded against spreadsheet formulas (SPEC SEC-6,
// csv.h): a cell beginning with = + - @ TAB CR, or with ', gets one ' in
// front ("=HYPERLINK(...)" is written "'=HYPERLINK(...)"), and import removes
// exactly one leading ' from every cell, so an export imports back to the
// same values. A hand-written file's cell that begins with ' loses it.
//
// Import reads the same columns, in any order (names compared
// case-insensitively); `email` and `kind` are required, the others optional;
// `name`, `status` and `last_login` are read but not applied (a person's
// name and sign-in state are their own), so an export imports as is. A
// column with any other name refuses the whole file, so a misspelt column
// never goes unnoticed. Each record is one row and gets one result:
//   - no identity has the address: an invitation of that kind is sent
//     (INV-1; kInvited); roles and licenses cannot be given to an account
//     that does not exist yet, and the result's detail says so;
//   - an identity has it and is not a member: it is added directly as that
//     kind (ORG-10's checks and ORG-2's move for employees; ORG-3 for
//     externals), then given the row's roles and licenses (kAdded);
//   - it is already a member of that kind: the roles and licenses it lacks
//     are given (kUpdated), or nothing changes (kUnchanged). Import adds and
//     never takes away: roles and licenses not in the row are kept;
//   - it is a member of the other kind: the row fails (kAlreadyMember);
//     changing a membership's kind is a decision, not an import.
// A license names an SKU of the organization: a named entitlement is
// assigned (ENT-2), a floating one gives pool access (ENT-3). With several
// entitlements of one SKU, the one whose period contains now is used, else
// the next to start. Roles need kManageAdministrators and licenses
// kManageLicenses; without them such a row fails with kPermissionDenied.
//
// Rows are independent (ADM-2): a row is applied whole or not at all, and a
// bad row (malformed CSV, bad address, unknown kind, role or SKU, an
// oversized field, a refused rule) fails alone with its reason while every
// other row goes on. A malformed record costs only itself (SEC-12): after a
// quote error, reading goes back to the line after the record's first line
// whatever the record's size (csv.h), so a stray quote near the top of a
// large file fails one row, and every later line is read as a row of its own
// and applied or reported. Rows are committed in batches of
// `UserImportOptions::rows_per_transaction` (each row inside its batch under
// a savepoint), so a 100,000-row file does not pay a disk sync per row; a
// row's result is reported only once its batch has committed. When the store
// fails, the rows of the uncommitted batch are reported failed with the
// store's reason and the import stops.
//
// Thread-safe: both methods may be called concurrently with anything else.
// Owned by a `Directory` (directory.h).
#ifndef ENTITLE_USER_LISTS_H_
#define ENTITLE_USER_LISTS_H_

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "entitle/actor.h"
#include "entitle/csv.h"
#include "entitle/ids.h"

namespace entitle {
namespace internal {
struct ServiceContext;
}  // namespace internal

// The export's columns, in order.
inline constexpr const char* kUserListColumns[] = {
    "email", "name", "kind", "roles", "status", "last_login", "licenses"};

struct UserImportOptions {
  // Bounds on the CSV: a longer field or record fails its row alone.
  CsvLimits limits;
  // Rows applied per store transaction (1 to 10,000).
  int rows_per_transaction = 256;
  // Checks and reports every row as it would go, and changes nothing: no
  // record is written and no invitation is sent.
  bool dry_run = false;
};

enum class UserImportOutcome {
  kInvited,    // No account had the address: an invitation was sent.
  kAdded,      // The account became a member, with the row's roles/licenses.
  kUpdated,    // Already a member: the roles or licenses it lacked were given.
  kUnchanged,  // Already a member with all of them, or already invited.
  kFailed,     // Nothing of the row was applied; `status` says why.
};

// The stable name of an outcome: "invited", "added", "updated", "unchanged",
// "failed".
std::string_view UserImportOutcomeName(UserImportOutcome outcome);

// One row's result.
struct UserImportRow {
  int64_t record = 0;  // The CSV record number (the header is record 1).
  int64_t line = 0;    // The physical line it starts on.
  // The email field as given: trimmed, up to its first line end, at most
  // 320 bytes.
  std::string email;
  UserImportOutcome outcome = UserImportOutcome::kFailed;
  absl::Status status;  // OK, or why the row failed (with a Reason).
  std::string
      detail;  // What was done, for the admin, e.g. "roles: Administrator".
};

struct UserImportSummary {
  int64_t rows = 0;  // Records after the header.
  int64_t invited = 0;
  int64_t added = 0;
  int64_t updated = 0;
  int64_t unchanged = 0;
  int64_t failed = 0;
};

class UserLists {
 public:
  UserLists(const UserLists&) = delete;
  UserLists& operator=(const UserLists&) = delete;

  // ADM-1: writes the organization's members to `out` as CSV (header first,
  // CRLF line ends), read in one store transaction so the list is one
  // moment's. Needs kViewUsage. Returns the number of members written. Fails
  // with kPermissionDenied, kNotFound (organization), a store reason, or
  // Unavailable / kStoreUnavailable when writing to `out` fails (what was
  // written stays written).
  absl::StatusOr<int64_t> Export(const Actor& actor,
                                 OrganizationId organization,
                                 std::ostream& out);

  // ADM-2: applies each row of the CSV read from `in` (see above), calling
  // `on_row` with each row's result in file order. Needs kManageUsers. Fails
  // as a whole, before any row is applied, with kPermissionDenied, kNotFound
  // (organization), kInvalidArgument (options), or kMalformedCsv for a
  // missing, malformed or unknown header; after rows were applied, only when
  // the store fails or reading `in` fails (the rows reported so far stay).
  absl::StatusOr<UserImportSummary> Import(
      const Actor& actor, OrganizationId organization, std::istream& in,
      const UserImportOptions& options,
      absl::FunctionRef<void(const UserImportRow&)> on_row);

 private:
  // Made only by a Directory, which owns the context its services share.
  friend class Directory;
  explicit UserLists(internal::ServiceContext& context) : context_(context) {}

  internal::ServiceContext& context_;
};

}  // namespace entitle

#endif  // ENTITLE_USER_LISTS_H_
