// audit, export and import: the audit trail and the user list as CSV.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "command.h"
#include "context.h"
#include "entitle/organizations.h"
#include "entitle/user_lists.h"
#include "fmt/core.h"
#include "views.h"

namespace entitle_admin {
namespace {

using entitle::OrganizationId;

int Audit(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  entitle::AuditQuery query;
  if (a.Has("action")) query.action = a.Get("action");
  if (a.Has("since")) {
    absl::StatusOr<absl::Time> since = ParseDate(a.Get("since"));
    if (!since.ok()) return c.Fail(UsageError(since.status().message()));
    query.since = *since;
  }
  int64_t limit = -1;
  if (a.Has("limit") &&
      (!absl::SimpleAtoi(a.Get("limit"), &limit) || limit <= 0)) {
    return c.Fail(UsageError(fmt::format(
        "--limit takes a positive number, not '{}'", a.Get("limit"))));
  }
  absl::StatusOr<std::vector<entitle::AuditRecord>> records =
      AuditTrail(c, *org, query, limit);
  if (!records.ok()) return c.Fail(records.status());
  c.out().Print("audit", AuditTable(c, *records));
  return kExitOk;
}

int Export(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  entitle::UserLists& lists = c.dir().user_lists();
  if (a.Has("out")) {
    const std::string path = a.Get("out");
    // The list holds names and addresses: a new file is owner-only, like the
    // database; an existing one keeps the mode its owner gave it.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    const int open_error = errno;
    if (fd >= 0) ::close(fd);
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    if (fd < 0 || !file) {
      return c.Fail(entitle::MakeError(
          absl::StatusCode::kInvalidArgument, entitle::Reason::kInvalidArgument,
          fmt::format("cannot write {}: {}", path,
                      std::strerror(fd < 0 ? open_error : errno))));
    }
    absl::StatusOr<int64_t> n = lists.Export(c.actor(), *org, file);
    file.close();
    if (!n.ok()) return c.Fail(n.status());
    c.out().Say(fmt::format("exported {} members to {}", *n, path));
    c.out().Put("members", *n);
    c.out().Put("file", path);
    return kExitOk;
  }
  if (c.out().json()) {
    std::ostringstream csv;
    absl::StatusOr<int64_t> n = lists.Export(c.actor(), *org, csv);
    if (!n.ok()) return c.Fail(n.status());
    c.out().Put("members", *n);
    c.out().Put("csv", csv.str());
    return kExitOk;
  }
  // SEC-13: on stdout the CSV may reach a terminal, so each line is printed
  // through Escape; --out writes the exact bytes.
  EscapingBuffer buffer(c.out().file());
  std::ostream csv(&buffer);
  absl::StatusOr<int64_t> n = lists.Export(c.actor(), *org, csv);
  buffer.Finish();
  if (!n.ok()) return c.Fail(n.status());
  if (buffer.escaped_lines() > 0) {
    c.out().Note(fmt::format(
        "{} {} held characters that could drive a terminal; they are shown "
        "escaped (e.g. \\x1b): use --out FILE for the exact bytes",
        buffer.escaped_lines(),
        buffer.escaped_lines() == 1 ? "line" : "lines"));
  }
  return kExitOk;
}

// Every kProgressEvery rows of a longer file, a progress line on stderr;
// on a terminal each one overwrites the last.
constexpr int64_t kProgressEvery = 5000;

class Progress {
 public:
  Progress() : tty_(isatty(fileno(stderr)) == 1) {}
  ~Progress() {
    if (shown_ && tty_) std::fputc('\n', stderr);
  }
  // Called before each row's result is counted: a row beyond a multiple of
  // kProgressEvery shows that the file is longer, so the counts so far are
  // printed.
  void BeforeRow(int64_t rows_so_far, int64_t failed) {
    if (rows_so_far == 0 || rows_so_far % kProgressEvery != 0) return;
    fmt::print(stderr, "{}import: {} rows, {} ok, {} failed{}",
               tty_ ? "\r" : "", rows_so_far, rows_so_far - failed, failed,
               tty_ ? "" : "\n");
    std::fflush(stderr);
    shown_ = true;
  }

 private:
  bool tty_;
  bool shown_ = false;
};

int Import(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  const std::string path = a.positional[1];
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) {
      return c.Fail(entitle::MakeError(
          absl::StatusCode::kNotFound, entitle::Reason::kNotFound,
          fmt::format("cannot read {}: {}", path, std::strerror(errno))));
    }
    in = &file;
  }
  entitle::UserImportOptions options;
  options.dry_run = a.Has("dry-run");
  c.out().Put("organization", org->value());
  c.out().Put("dry_run", options.dry_run);

  int64_t rows = 0;
  int64_t failed = 0;
  absl::Status first_failure;
  bool table_begun = false;
  {
    Progress progress;
    absl::StatusOr<entitle::UserImportSummary> summary =
        c.dir().user_lists().Import(
            c.actor(), *org, *in, options,
            [&](const entitle::UserImportRow& row) {
              progress.BeforeRow(rows, failed);
              if (!table_begun) {
                c.out().BeginRows("rows", ImportColumns());
                table_begun = true;
              }
              c.out().Row(ImportRowCells(row));
              ++rows;
              if (row.outcome == entitle::UserImportOutcome::kFailed &&
                  failed++ == 0) {
                first_failure = row.status;
              }
            });
    if (table_begun) c.out().EndRows();
    if (!summary.ok()) return c.Fail(summary.status());

    if (c.out().json()) {
      c.out().Print("summary", ImportSummaryFields(*summary));
    } else {
      c.out().Say(fmt::format(
          "{}{} rows: {} invited, {} added, {} updated, {} unchanged, {} "
          "failed",
          options.dry_run ? "dry run (nothing was changed): " : "",
          summary->rows, summary->invited, summary->added, summary->updated,
          summary->unchanged, summary->failed));
    }
  }
  if (failed > 0) {
    return c.Partial(
        options.dry_run
            ? fmt::format("{} of {} rows would fail", failed, rows)
            : fmt::format("{} of {} rows failed; the others were applied",
                          failed, rows),
        first_failure);
  }
  return kExitOk;
}

}  // namespace

std::vector<Command> ListCommands() {
  return {
      {"audit",
       {"ORG"},
       {{"action", "ACTION", "only this action, e.g. identity.lock"},
        {"since", "DATE", "only records at or after DATE"},
        {"limit", "N", "only the newest N records"}},
       "the audit trail",
       "Lists the organization's audit trail, oldest first (ORG-12): when, "
       "who, what, on what, and the outcome.",
       "entitle-admin audit 1 --since 2026-01-01 --limit 20",
       Audit,
       nullptr,
       kReadOnly},
      {"export",
       {"ORG"},
       {{"out", "FILE", "write the CSV to FILE instead of stdout"}},
       "export the user list as CSV (ADM-1)",
       "Writes the members as RFC 4180 CSV: email, name, kind, roles, status, "
       "last_login, licenses. With --out the file (created owner-only) holds "
       "the exact bytes; on stdout, characters that could drive a terminal "
       "are shown escaped (\\x1b). With --json and no --out, the CSV is the "
       "document's \"csv\" string.",
       "entitle-admin export 1 --out acme-users.csv",
       Export,
       nullptr,
       kReadOnly},
      {"import",
       {"ORG", "FILE"},
       {{"dry-run", "", "check and report every row, change nothing"}},
       "import users from CSV (ADM-2)",
       "Applies each row of a CSV user list (the export's columns; email and "
       "kind required): invites unknown addresses, adds existing identities, "
       "and gives the roles and licenses named. Each row gets a result "
       "(record, line, email, outcome, reason, detail); a bad row fails "
       "alone. FILE '-' reads stdin. Files over 5,000 rows report progress "
       "on stderr. Exits 3 when some rows failed.",
       "entitle-admin import 1 acme-users.csv --dry-run",
       Import},
  };
}

}  // namespace entitle_admin
