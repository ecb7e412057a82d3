// The user list as CSV (SPEC ADM-1, ADM-2) and the admin's account actions
// (ADM-3) on every backend.
//
// Imports are checked row by row (outcome, reason, record and line) and
// against the store: a failed row must leave nothing of itself, and a whole
// refusal must leave every table, the notifier and the event sink as they
// were (`f.Freeze()` / `f.RequireUnchanged(...)`).
#include "entitle/user_lists.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/csv.h"
#include "entitle/directory.h"
#include "entitle/licenses.h"
#include "entitle/records.h"
#include "entitle/status.h"
#include "fixtures/directory_fixture.h"
#include "fixtures/store_fixtures.h"

namespace entitle_test {
namespace {

using namespace entitle;
using absl::StatusCode;

std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::istringstream in(text);
  CsvReader reader(in);
  CsvRow row;
  std::vector<std::vector<std::string>> rows;
  while (reader.Next(row)) {
    INFO("record " << row.number << ": " << row.error.ToString());
    REQUIRE(row.error.ok());
    rows.push_back(row.fields);
  }
  REQUIRE(reader.status().ok());
  return rows;
}

struct Imported {
  absl::StatusOr<UserImportSummary> summary;
  std::vector<UserImportRow> rows;
};

template <typename Fixture>
Imported Import(Fixture& f, const Actor& actor, OrganizationId org,
                const std::string& csv, UserImportOptions options = {}) {
  std::istringstream in(csv);
  Imported result;
  result.summary = f.directory().user_lists().Import(
      actor, org, in, options,
      [&](const UserImportRow& row) { result.rows.push_back(row); });
  return result;
}

template <typename Fixture>
std::string Export(Fixture& f, const Actor& actor, OrganizationId org) {
  std::ostringstream out;
  absl::StatusOr<int64_t> written =
      f.directory().user_lists().Export(actor, org, out);
  ENTITLE_REQUIRE_OK(written);
  return out.str();
}

// Acme, owning acme.example: Anna (administrator, signed in), Ben (employee
// whose name needs quoting, with a named CAD license), Cleo (external, locked,
// with access to the POOL), Dan (external, never verified).
template <typename Backend>
struct Acme {
  explicit Acme(DirectoryFixture<Backend>& f) {
    anna = f.RegisterVerified("anna@acme.example",
                              Profile{"Anna Berg", "SE", "sv"});
    org = f.CreateOrg("Acme", anna);
    f.OwnDomain(org, "acme.example");
    ENTITLE_REQUIRE_OK(f.ids().SignIn("anna@acme.example", kPassword));
    ben =
        f.RegisterVerified("ben@acme.example",
                           Profile{"Ben \"B\" Okafor, Jr. Zoë 山田", "NG", ""});
    cleo =
        f.RegisterVerified("cleo@partner.example", Profile{"Cleo", "FR", ""});
    dan = f.InsertIdentity("dan@partner.example");
    ENTITLE_REQUIRE_OK(f.orgs().AddEmployee(kOp, org, "ben@acme.example"));
    ENTITLE_REQUIRE_OK(f.orgs().AddExternal(kOp, org, "cleo@partner.example"));
    ENTITLE_REQUIRE_OK(f.orgs().AddExternal(kOp, org, "dan@partner.example"));
    ENTITLE_REQUIRE_OK(f.ids().Lock(kOp, cleo));
    Licenses& lic = f.directory().licenses();
    auto named = lic.CreateEntitlement(
        kOp, org, Terms("CAD", EntitlementKind::kNamed, 5));
    ENTITLE_REQUIRE_OK(named);
    cad = named->id;
    auto pool = lic.CreateEntitlement(
        kOp, org, Terms("POOL", EntitlementKind::kFloating, 2));
    ENTITLE_REQUIRE_OK(pool);
    pool_id = pool->id;
    ENTITLE_REQUIRE_OK(lic.Assign(kOp, cad, ben));
    ENTITLE_REQUIRE_OK(lic.GrantPoolAccess(kOp, pool_id, PoolMember{cleo, {}}));
    ENTITLE_REQUIRE_OK(lic.GrantPoolAccess(kOp, pool_id, PoolMember{anna, {}}));
  }
  IdentityId anna, ben, cleo, dan;
  OrganizationId org;
  EntitlementId cad, pool_id;
};

const UserImportRow& RowAt(const Imported& imported, int64_t record) {
  for (const UserImportRow& row : imported.rows) {
    if (row.record == record) return row;
  }
  FAIL("no result for record " << record);
  return imported.rows.front();
}

#define REQUIRE_ROW(imported, record_number, expected_outcome)         \
  do {                                                                 \
    const UserImportRow& row_ = RowAt(imported, record_number);        \
    INFO("record " << record_number << " (" << row_.email << "): "     \
                   << row_.status.ToString() << " / " << row_.detail); \
    REQUIRE(row_.outcome == (expected_outcome));                       \
  } while (0)

#define REQUIRE_ROW_FAILED(imported, record_number, expected_reason) \
  do {                                                               \
    const UserImportRow& row_ = RowAt(imported, record_number);      \
    INFO("record " << record_number << " (" << row_.email            \
                   << "): " << row_.status.ToString());              \
    REQUIRE(row_.outcome == UserImportOutcome::kFailed);             \
    REQUIRE(ReasonName(GetReason(row_.status)) ==                    \
            ReasonName(expected_reason));                            \
  } while (0)

// ------------------------------------------------------------------ ADM-1

// clang-format off
TEMPLATE_TEST_CASE("ADM-1 the user list exports as RFC 4180 CSV: email, name, "
                   "kind, roles, status, last login, licenses; readers without "
                   "the view permission are refused",
    "[user_lists]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  Acme<TestType> acme(f);

  const std::string csv = Export(f, As(acme.anna), acme.org);
  // RFC 4180: CRLF after every record, and the awkward name quoted.
  REQUIRE(csv.rfind("email,name,kind,roles,status,last_login,licenses\r\n",
                    0) == 0);
  REQUIRE(csv.find("\"Ben \"\"B\"\" Okafor, Jr. Zoë 山田\"") !=
          std::string::npos);
  const auto rows = ParseCsv(csv);
  REQUIRE(rows.size() == 5);
  const std::string last_login = absl::FormatTime(
      "%Y-%m-%dT%H:%M:%SZ", f.clock().Now(), absl::UTCTimeZone());
  CHECK(rows[1] == std::vector<std::string>{"anna@acme.example", "Anna Berg",
                                            "employee", "Administrator",
                                            "active", last_login, "POOL"});
  CHECK(rows[2] == std::vector<std::string>{
                       "ben@acme.example", "Ben \"B\" Okafor, Jr. Zoë 山田",
                       "employee", "", "active", "", "CAD"});
  CHECK(rows[3] == std::vector<std::string>{"cleo@partner.example", "Cleo",
                                            "external", "", "locked", "",
                                            "POOL"});
  CHECK(rows[4] == std::vector<std::string>{"dan@partner.example", "Test User",
                                            "external", "", "unverified", "",
                                            ""});

  // Refused: a member without kViewUsage, an unknown organization, a broken
  // output. Nothing is written to the store either way.
  const auto before = f.Freeze();
  std::ostringstream out;
  ENTITLE_REQUIRE_REFUSED(
      f.directory().user_lists().Export(As(acme.ben), acme.org, out),
      StatusCode::kPermissionDenied, Reason::kPermissionDenied);
  REQUIRE(out.str().empty());
  REQUIRE_REASON(
      f.directory().user_lists().Export(kOp, OrganizationId(987654), out),
      Reason::kNotFound);
  std::ostringstream broken;
  broken.setstate(std::ios::badbit);
  REQUIRE_REASON(f.directory().user_lists().Export(kOp, acme.org, broken),
                 Reason::kStoreUnavailable);
  f.RequireUnchanged(before);
}

// ------------------------------------------------------------------ ADM-2

// clang-format off
TEMPLATE_TEST_CASE("ADM-2 export then import round-trips a user list: members, "
                   "kinds, roles and licenses come back",
    "[user_lists]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  Acme<TestType> acme(f);
  // A custom role, to round-trip more than the built-in one.
  auto billing = f.orgs().CreateRole(kOp, acme.org, "Billing", kViewUsage);
  ENTITLE_REQUIRE_OK(billing);
  ENTITLE_REQUIRE_OK(f.orgs().GrantRole(kOp, acme.org, acme.ben, *billing));
  const std::string first = Export(f, kOp, acme.org);

  for (IdentityId member : {acme.ben, acme.cleo, acme.dan}) {
    ENTITLE_REQUIRE_OK(f.orgs().RemoveMember(kOp, acme.org, member));
  }
  REQUIRE(ParseCsv(Export(f, kOp, acme.org)).size() == 2);

  const int rows_per_transaction = GENERATE(1, 2, 256);
  UserImportOptions options;
  options.rows_per_transaction = rows_per_transaction;
  const Imported imported = Import(f, As(acme.anna), acme.org, first, options);
  ENTITLE_REQUIRE_OK(imported.summary);
  REQUIRE(imported.summary->rows == 4);
  REQUIRE(imported.summary->added == 3);
  REQUIRE(imported.summary->unchanged == 1);
  REQUIRE(imported.summary->failed == 0);
  REQUIRE_ROW(imported, 2, UserImportOutcome::kUnchanged);  // Anna
  REQUIRE_ROW(imported, 3, UserImportOutcome::kAdded);      // Ben
  REQUIRE(RowAt(imported, 3).detail ==
          "added as employee; roles: Billing; licenses: CAD");
  REQUIRE(RowAt(imported, 3).line == 3);
  REQUIRE(RowAt(imported, 4).line == 4);

  REQUIRE(Export(f, kOp, acme.org) == first);

  // Importing it again changes nothing.
  const auto before = f.Freeze();
  const Imported again = Import(f, As(acme.anna), acme.org, first);
  ENTITLE_REQUIRE_OK(again.summary);
  REQUIRE(again.summary->unchanged == 4);
  f.RequireUnchanged(before);
}

// clang-format off
TEMPLATE_TEST_CASE("ADM-2 a CSV with malformed rows imports every good row, "
                   "reports every bad one and corrupts nothing",
    "[user_lists]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  Acme<TestType> acme(f);
  const IdentityId eve = f.RegisterVerified("eve@acme.example");
  const IdentityId fay = f.RegisterVerified("fay@partner.example");
  const IdentityId gus = f.RegisterVerified("gus@acme.example");
  const IdentityId hal = f.RegisterVerified("hal@partner.example");
  // CAD has 5 licenses; fill four more so Hal's row finds none left.
  auto one_seat = f.directory().licenses().CreateEntitlement(
      kOp, acme.org, Terms("ONE", EntitlementKind::kNamed, 1));
  ENTITLE_REQUIRE_OK(one_seat);
  ENTITLE_REQUIRE_OK(
      f.directory().licenses().Assign(kOp, one_seat->id, acme.ben));

  const std::string ten_mb(10 * 1024 * 1024, 'x');
  std::string csv = "Email,Kind,Roles,Licenses\r\n";
  csv += "eve@acme.example,employee,Co-Administrator,CAD\r\n";  // 2
  csv += "\"bad\"quote@acme.example,employee,,\r\n";            // 3
  csv += "not-an-email,external,,\r\n";                         // 4
  csv += "fay@partner.example,contractor,,\r\n";                // 5
  csv += "zed@acme.example,employee,\"" + ten_mb + "\",\r\n";   // 6
  csv += "gus@acme.example,employee\r\n";                       // 7
  csv += "gus@acme.example,employee,Astronaut,\r\n";            // 8
  csv += "hal@partner.example,external,,ONE\r\n";               // 9
  csv += "\"unterminated@acme.example,employee,,\r\n";          // 10
  csv += "new.person@elsewhere.example,external,,\r\n";         // 11
  csv += "fay@partner.example,external,,POOL;CAD\r\n";          // 12
  csv += "cleo@partner.example,employee,,\r\n";                 // 13

  const int rows_per_transaction = GENERATE(1, 3, 256);
  UserImportOptions options;
  options.rows_per_transaction = rows_per_transaction;
  const size_t audited_before = f.template All<AuditRecord>().size();
  const Imported imported = Import(f, As(acme.anna), acme.org, csv, options);
  ENTITLE_REQUIRE_OK(imported.summary);
  REQUIRE(imported.rows.size() == 12);
  for (size_t i = 1; i < imported.rows.size(); ++i) {
    REQUIRE(imported.rows[i].record > imported.rows[i - 1].record);
  }
  REQUIRE_ROW(imported, 2, UserImportOutcome::kAdded);
  REQUIRE_ROW_FAILED(imported, 3, Reason::kMalformedCsv);
  REQUIRE_ROW_FAILED(imported, 4, Reason::kInvalidEmail);
  REQUIRE_ROW_FAILED(imported, 5, Reason::kInvalidArgument);
  REQUIRE_ROW_FAILED(imported, 6, Reason::kLimitExceeded);
  REQUIRE(RowAt(imported, 6).email == "zed@acme.example");
  REQUIRE_ROW_FAILED(imported, 7, Reason::kMalformedCsv);  // 2 fields of 4
  REQUIRE_ROW_FAILED(imported, 8, Reason::kNotFound);      // no such role
  REQUIRE_ROW_FAILED(imported, 9, Reason::kLicensesExhausted);
  REQUIRE_ROW_FAILED(imported, 10, Reason::kMalformedCsv);
  // A malformed record's email field may run on; the result shows one line.
  REQUIRE(RowAt(imported, 10).email.find_first_of("\r\n") == std::string::npos);
  REQUIRE_ROW(imported, 11, UserImportOutcome::kInvited);
  REQUIRE_ROW(imported, 12, UserImportOutcome::kAdded);
  REQUIRE_ROW_FAILED(imported, 13, Reason::kAlreadyMember);
  REQUIRE(imported.summary->failed == 9);
  REQUIRE(imported.summary->added == 2);
  REQUIRE(imported.summary->invited == 1);

  // The good rows are applied whole.
  REQUIRE(f.Membership(acme.org, eve)->kind == MembershipKind::kEmployee);
  REQUIRE(f.GrantsOf(acme.org, eve).size() == 1);
  REQUIRE(f.Membership(acme.org, fay)->kind == MembershipKind::kExternal);
  REQUIRE(
      f.template All<PoolGrantRecord>(
           PoolGrantFilter{.entitlement_id = acme.pool_id, .identity_id = fay})
          .size() == 1);
  REQUIRE(f
              .template All<LicenseAssignmentRecord>(LicenseAssignmentFilter{
                  .entitlement_id = acme.cad, .identity_id = fay})
              .size() == 1);
  REQUIRE(f.notifier()
              .Last(E("new.person@elsewhere.example"), "invitation")
              .has_value());
  // The bad ones left nothing: Hal was refused for the license, so he is not
  // a member either; Gus, Cleo and the rest are as they were.
  REQUIRE_FALSE(f.Membership(acme.org, hal).has_value());
  REQUIRE_FALSE(f.Membership(acme.org, gus).has_value());
  REQUIRE(f.Membership(acme.org, acme.cleo)->kind == MembershipKind::kExternal);
  REQUIRE(f.template All<MembershipRecord>(
               MembershipFilter{.organization_id = acme.org})
              .size() == 6);
  const std::vector<AuditRecord> audit = f.template All<AuditRecord>();
  for (size_t i = audited_before; i < audit.size(); ++i) {
    const AuditRecord& record = audit[i];
    INFO(record.action << " " << record.target << " " << record.detail);
    REQUIRE(record.target != absl::StrCat("identity#", hal.value()));
    REQUIRE(record.detail != absl::StrCat("identity#", hal.value()));
  }
  // And the list still exports, row for row.
  REQUIRE(ParseCsv(Export(f, kOp, acme.org)).size() == 7);
}

// clang-format off
TEMPLATE_TEST_CASE("ADM-2 a bad header, an unknown organization or an actor "
                   "without kManageUsers refuses the whole file and changes "
                   "nothing",
    "[user_lists]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  Acme<TestType> acme(f);
  const std::string good = "email,kind\r\nzed@acme.example,employee\r\n";
  const auto before = f.Freeze();

  struct Case {
    const char* what;
    std::string csv;
  };
  const std::vector<Case> headers = {
      {"empty", ""},
      {"no kind column", "email,name\r\nzed@acme.example,Zed\r\n"},
      {"no email column", "name,kind\r\nZed,employee\r\n"},
      {"misspelt column", "email,kind,roels\r\nzed@acme.example,employee,\r\n"},
      {"column twice", "email,kind,Email\r\na@b.example,employee,x\r\n"},
      {"broken header", "email,\"kind\r\n"},
  };
  for (const Case& c : headers) {
    INFO(c.what);
    const Imported imported = Import(f, As(acme.anna), acme.org, c.csv);
    ENTITLE_REQUIRE_REFUSED(imported.summary, StatusCode::kInvalidArgument,
                            Reason::kMalformedCsv);
    REQUIRE(imported.rows.empty());
  }
  {
    const Imported imported = Import(f, As(acme.ben), acme.org, good);
    ENTITLE_REQUIRE_REFUSED(imported.summary, StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
    REQUIRE(imported.rows.empty());
  }
  {
    const Imported imported = Import(f, kOp, OrganizationId(987654), good);
    REQUIRE_REASON(imported.summary, Reason::kNotFound);
  }
  {
    UserImportOptions options;
    options.rows_per_transaction = 0;
    REQUIRE_REASON(Import(f, kOp, acme.org, good, options).summary,
                   Reason::kInvalidArgument);
  }
  f.RequireUnchanged(before);
}

// clang-format off
TEMPLATE_TEST_CASE("ADM-2 roles need kManageAdministrators and licenses "
                   "kManageLicenses: without them the row fails alone",
    "[user_lists]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  Acme<TestType> acme(f);
  // Ben becomes a co-administrator: every permission but administrators.
  ENTITLE_REQUIRE_OK(
      f.orgs().GrantRole(kOp, acme.org, acme.ben, f.CoAdminRole(acme.org)));
  const IdentityId eve = f.RegisterVerified("eve@acme.example");
  const IdentityId gus = f.RegisterVerified("gus@acme.example");

  const Imported imported =
      Import(f, As(acme.ben), acme.org,
             "email,kind,roles,licenses\r\n"
             "eve@acme.example,employee,Administrator,\r\n"
             "gus@acme.example,employee,,CAD\r\n");
  ENTITLE_REQUIRE_OK(imported.summary);
  REQUIRE_ROW_FAILED(imported, 2, Reason::kPermissionDenied);
  REQUIRE_ROW(imported, 3, UserImportOutcome::kAdded);
  REQUIRE_FALSE(f.Membership(acme.org, eve).has_value());
  REQUIRE(f.Membership(acme.org, gus).has_value());
}

// clang-format off
TEMPLATE_TEST_CASE("ADM-2 a dry run reports every row as it would go and "
                   "changes nothing",
    "[user_lists]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  Acme<TestType> acme(f);
  f.RegisterVerified("eve@acme.example");
  const auto before = f.Freeze();
  UserImportOptions options;
  options.dry_run = true;
  const Imported imported = Import(f, As(acme.anna), acme.org,
                                   "email,kind\r\n"
                                   "eve@acme.example,employee\r\n"
                                   "new@elsewhere.example,external\r\n"
                                   "ben@acme.example,external\r\n",
                                   options);
  ENTITLE_REQUIRE_OK(imported.summary);
  REQUIRE_ROW(imported, 2, UserImportOutcome::kAdded);
  REQUIRE_ROW(imported, 3, UserImportOutcome::kInvited);
  REQUIRE(RowAt(imported, 3).detail == "an invitation would be sent");
  REQUIRE_ROW_FAILED(imported, 4, Reason::kAlreadyMember);
  f.RequireUnchanged(before);
}

// ------------------------------------------------------------------ ADM-3

// clang-format off
TEMPLATE_TEST_CASE("ADM-3 an administrator sends a member a password-reset "
                   "link and locks and unlocks the member; other members "
                   "cannot",
    "[user_lists]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  Acme<TestType> acme(f);

  // Reset link (ID-6): sent by the admin, usable by the member.
  ENTITLE_REQUIRE_OK(
      f.ids().RequestPasswordReset(As(acme.anna), "ben@acme.example"));
  std::optional<Notification> reset =
      f.notifier().Last(E("ben@acme.example"), "password-reset");
  REQUIRE(reset.has_value());
  ENTITLE_REQUIRE_OK(
      f.ids().CompletePasswordReset(reset->token, "New-secret-9"));
  ENTITLE_REQUIRE_OK(f.ids().SignIn("ben@acme.example", "New-secret-9"));
  // An unknown address gets the seed's message.
  auto unknown =
      f.ids().RequestPasswordReset(As(acme.anna), "nobody@acme.example");
  REQUIRE_REASON(unknown, Reason::kUnknownUser);
  REQUIRE(unknown.message() ==
          "Sorry, we didn't recognise this user. Please enter a valid Email "
          "address.");

  // Lock and unlock (ID-9).
  ENTITLE_REQUIRE_OK(f.ids().Lock(As(acme.anna), acme.ben));
  REQUIRE_REASON(f.ids().SignIn("ben@acme.example", "New-secret-9"),
                 Reason::kIdentityLocked);
  ENTITLE_REQUIRE_OK(f.ids().Unlock(As(acme.anna), acme.ben));
  ENTITLE_REQUIRE_OK(f.ids().SignIn("ben@acme.example", "New-secret-9"));

  // A member without kManageUsers may do neither to someone else.
  const auto before = f.Freeze();
  ENTITLE_REQUIRE_REFUSED(f.ids().Lock(As(acme.ben), acme.anna),
                          StatusCode::kPermissionDenied,
                          Reason::kPermissionDenied);
  ENTITLE_REQUIRE_REFUSED(f.ids().Unlock(As(acme.ben), acme.cleo),
                          StatusCode::kPermissionDenied,
                          Reason::kPermissionDenied);
  f.RequireUnchanged(before);
}

}  // namespace
}  // namespace entitle_test
