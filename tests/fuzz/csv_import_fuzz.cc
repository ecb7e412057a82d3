// Fuzzes the CSV reader (csv.h) and the user list import (user_lists.h).
//
// CsvReader, with small limits, over the input twice: from a string stream,
// and from a stream that hands out a few bytes at a time (so records cross
// every read boundary). Both readings must give the same records; record
// numbers count up by one, lines go up, fields stay within the limits, a
// bad record carries kMalformedCsv or kLimitExceeded, a good one has at least
// one field and writes back (AppendCsvRecord) to the same fields, and written
// guarded (AppendGuardedCsvRecord) starts no formula and unguards to the same
// fields (SEC-6). After a quote error, reading goes on at the line after the
// record's first line and no record starts before it (SEC-12).
//
// UserLists::Import, as a dry run, into a small organization built once:
// either the whole file is refused before any row (with a reason), or every
// record after the header gets exactly one result, in order; a failed row
// carries a reason, the others none; the summary's counts match the results
// and add up; and the dry run changes nothing (the export and the notifier
// stay as they were). Any violation aborts.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <istream>
#include <memory>
#include <optional>
#include <sstream>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/clock.h"
#include "entitle/csv.h"
#include "entitle/directory.h"
#include "entitle/email.h"
#include "entitle/licenses.h"
#include "entitle/memory_store.h"
#include "entitle/notifier.h"
#include "entitle/password_hasher.h"
#include "entitle/status.h"
#include "entitle/user_lists.h"

namespace {

using namespace entitle;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "csv_import_fuzz: %s\n", what);
  std::abort();
}

void Check(bool ok, const char* what) {
  if (!ok) Fail(what);
}

// A stream buffer over a string that offers at most `step` bytes per read,
// and says so to readsome().
class TrickleBuf : public std::streambuf {
 public:
  TrickleBuf(std::string_view data, size_t step)
      : data_(data), step_(std::max<size_t>(step, 1)) {}

 protected:
  int_type underflow() override {
    if (gptr() != nullptr && gptr() < egptr()) {
      return traits_type::to_int_type(*gptr());
    }
    if (pos_ >= data_.size()) return traits_type::eof();
    const size_t n = std::min(step_, data_.size() - pos_);
    char* begin = const_cast<char*>(data_.data()) + pos_;
    setg(begin, begin, begin + n);
    pos_ += n;
    return traits_type::to_int_type(*gptr());
  }
  std::streamsize showmanyc() override {
    if (pos_ >= data_.size()) return -1;
    return static_cast<std::streamsize>(std::min(step_, data_.size() - pos_));
  }

 private:
  std::string_view data_;
  size_t step_;
  size_t pos_ = 0;
};

struct Record {
  std::vector<std::string> fields;
  int64_t number;
  int64_t line;
  absl::StatusCode code;
  Reason reason;
  bool operator==(const Record&) const = default;
};

std::vector<Record> ReadAll(std::istream& in, const CsvLimits& limits,
                            int64_t input_size) {
  CsvReader reader(in, limits);
  std::vector<Record> records;
  CsvRow row;
  int64_t last_offset = 0;
  int64_t resume_line = 0;
  while (reader.Next(row)) {
    const int64_t prev_number = records.empty() ? 0 : records.back().number;
    const int64_t prev_line = records.empty() ? 0 : records.back().line;
    Check(row.number == prev_number + 1, "record numbers do not count by one");
    Check(row.line > prev_line, "a record does not start on a later line");
    Check(row.fields.size() <= limits.max_fields,
          "more fields than max_fields");
    for (const std::string& f : row.fields) {
      Check(f.size() <= limits.max_field_bytes, "a field over max_field_bytes");
    }
    Check(
        reader.bytes_read() >= last_offset && reader.bytes_read() <= input_size,
        "bytes_read() goes back or past the input");
    last_offset = reader.bytes_read();
    if (row.error.ok()) {
      Check(!row.fields.empty(), "a good record without fields");
      std::string written;
      AppendCsvRecord(written, row.fields);
      std::istringstream again(written);
      CsvReader reread(again);
      CsvRow back;
      Check(reread.Next(back) && back.error.ok() && back.fields == row.fields,
            "AppendCsvRecord does not read back to the same fields");
      Check(!reread.Next(back), "AppendCsvRecord wrote more than one record");
      // SEC-6: guarded, no cell starts a formula, and unguarded each is
      // what it was.
      std::string guarded;
      AppendGuardedCsvRecord(guarded, row.fields);
      std::istringstream guarded_in(guarded);
      CsvReader guarded_reader(guarded_in);
      Check(guarded_reader.Next(back) && back.error.ok() &&
                back.fields.size() == row.fields.size(),
            "AppendGuardedCsvRecord does not read back");
      for (size_t i = 0; i < back.fields.size(); ++i) {
        const std::string& cell = back.fields[i];
        Check(cell.empty() || cell.find_first_of("=+-@\t\r") != 0,
              "a guarded cell still starts a formula");
        Check(UnguardCsvCell(cell) == row.fields[i],
              "UnguardCsvCell does not undo AppendGuardedCsvField");
      }
    } else {
      Check(row.error.code() == absl::StatusCode::kInvalidArgument,
            "a bad record is not InvalidArgument");
      const Reason r = GetReason(row.error);
      Check(
          r == Reason::kMalformedCsv || r == Reason::kLimitExceeded,
          "a bad record's reason is neither kMalformedCsv nor kLimitExceeded");
    }
    // SEC-12: after a bad record, reading goes on at the line after the
    // record's first line, and the next record starts there or later.
    if (resume_line > 0) {
      Check(row.line >= resume_line,
            "a record starts before the line reading was to go on at");
    }
    resume_line = 0;
    if (!row.error.ok()) {
      const std::string message(row.error.message());
      constexpr std::string_view kGoesOn = "reading goes on at line ";
      const size_t at = message.find(kGoesOn);
      if (at != std::string::npos) {
        resume_line =
            std::strtoll(message.c_str() + at + kGoesOn.size(), nullptr, 10);
        Check(resume_line == row.line + 1,
              "reading does not go on at the line after the record's first");
      }
    }
    records.push_back(Record{row.fields, row.number, row.line, row.error.code(),
                             GetReason(row.error)});
  }
  Check(reader.status().ok(), "reading a string failed");
  return records;
}

void FuzzReader(std::string_view input) {
  CsvLimits limits;
  limits.max_field_bytes = 16;
  limits.max_fields = 8;
  limits.max_record_bytes = 64;
  const int64_t size = static_cast<int64_t>(input.size());

  std::istringstream whole{std::string(input)};
  const std::vector<Record> a = ReadAll(whole, limits, size);

  TrickleBuf buf(input, 1 + input.size() % 7);
  std::istream trickle(&buf);
  const std::vector<Record> b = ReadAll(trickle, limits, size);
  Check(a == b, "the records depend on how the stream hands out its bytes");
}

// The organization the import runs against, built once: Acme owning
// acme.example, Anna its administrator, Ben an employee with a named CAD
// license, Cleo an external with access to the POOL.
class Org {
 public:
  Org()
      : hasher_(Argon2idParams::MinimumForTests()),
        directory_(store_, Options()) {
    const Actor op = Actor::Operator();
    anna_ = RegisterVerified("anna@acme.example");
    const IdentityId ben = RegisterVerified("ben@acme.example");
    const IdentityId cleo = RegisterVerified("cleo@partner.example");
    org_ = Must(directory_.organizations().Create(op, "Acme", anna_));
    auto claim =
        Must(directory_.organizations().ClaimDomain(op, org_, "acme.example"));
    Must(directory_.organizations().VerifyDomainByOperator(op, org_, claim.id));
    Must(directory_.organizations().AddEmployee(op, org_, "ben@acme.example"));
    Must(directory_.organizations().AddExternal(op, org_,
                                                "cleo@partner.example"));
    Licenses& lic = directory_.licenses();
    const EntitlementRecord cad = Must(
        lic.CreateEntitlement(op, org_, Terms("CAD", EntitlementKind::kNamed)));
    const EntitlementRecord pool = Must(lic.CreateEntitlement(
        op, org_, Terms("POOL", EntitlementKind::kFloating)));
    Must(lic.Assign(op, cad.id, ben));
    Must(lic.GrantPoolAccess(op, pool.id, PoolMember{cleo, {}}));
    export_ = Export();
  }

  Directory& directory() { return directory_; }
  OrganizationId org() const { return org_; }
  Actor admin() const { return Actor::Identity(anna_); }
  size_t sent() const { return notifier_.Sent().size(); }
  const std::string& initial_export() const { return export_; }

  std::string Export() {
    std::ostringstream out;
    Must(directory_.user_lists().Export(Actor::Operator(), org_, out));
    return out.str();
  }

 private:
  DirectoryOptions Options() {
    DirectoryOptions options;
    options.clock = &clock_;
    options.notifier = &notifier_;
    options.hasher = &hasher_;
    return options;
  }

  static void Must(const absl::Status& status) {
    if (!status.ok()) {
      std::fprintf(stderr, "csv_import_fuzz: setup failed: %s\n",
                   status.ToString().c_str());
      std::abort();
    }
  }
  template <typename T>
  static T Must(absl::StatusOr<T> value) {
    Must(value.status());
    return *std::move(value);
  }

  EntitlementTerms Terms(std::string sku, EntitlementKind kind) {
    EntitlementTerms terms;
    terms.sku = std::move(sku);
    terms.kind = kind;
    terms.seats = 5;
    terms.period_start = clock_.Now() - absl::Hours(24);
    terms.period_end = clock_.Now() + absl::Hours(24 * 365);
    return terms;
  }

  IdentityId RegisterVerified(std::string_view address) {
    const IdentityId id =
        Must(directory_.identities().Register(Actor::Anonymous(), address));
    const std::optional<Notification> n =
        notifier_.Last(Must(Email::Parse(address)), "verify-email");
    if (!n.has_value()) Fail("setup: no verification link");
    Must(
        directory_.identities().CompleteVerification(n->token, "Secret-pass1"));
    return id;
  }

  MemoryStore store_;
  FakeClock clock_;
  InMemoryNotifier notifier_;
  Argon2idHasher hasher_;
  Directory directory_;
  IdentityId anna_;
  OrganizationId org_;
  std::string export_;
};

void FuzzImport(std::string_view input) {
  static Org* const org = new Org();
  const size_t sent_before = org->sent();

  UserImportOptions options;
  options.limits.max_field_bytes = 256;
  options.limits.max_fields = 12;
  options.limits.max_record_bytes = 1024;
  options.rows_per_transaction = 3;
  options.dry_run = true;

  std::vector<UserImportRow> rows;
  std::istringstream in{std::string(input)};
  const absl::StatusOr<UserImportSummary> summary =
      org->directory().user_lists().Import(
          org->admin(), org->org(), in, options,
          [&](const UserImportRow& row) { rows.push_back(row); });

  // The records the reader sees with the same limits: the header and one
  // result for each of the others.
  std::istringstream again{std::string(input)};
  CsvReader reader(again, options.limits);
  std::vector<CsvRow> records;
  CsvRow row;
  while (reader.Next(row)) records.push_back(row);

  if (!summary.ok()) {
    Check(rows.empty(), "the import failed after rows were reported");
    Check(GetReason(summary.status()) != Reason::kNone,
          "a refused import carries no reason");
  } else {
    Check(!records.empty(), "an import without a header succeeded");
    Check(summary->rows == static_cast<int64_t>(rows.size()),
          "summary.rows is not the number of results");
    Check(rows.size() + 1 == records.size(),
          "not exactly one result for every record after the header");
    UserImportSummary counted;
    for (size_t i = 0; i < rows.size(); ++i) {
      const UserImportRow& r = rows[i];
      Check(r.record == records[i + 1].number && r.line == records[i + 1].line,
            "a result's record or line is not its record's");
      Check(r.email.size() <= 320, "a result's email over 320 bytes");
      Check(r.email.find('\n') == std::string::npos,
            "a result's email spans lines");
      switch (r.outcome) {
        case UserImportOutcome::kInvited:
          ++counted.invited;
          break;
        case UserImportOutcome::kAdded:
          ++counted.added;
          break;
        case UserImportOutcome::kUpdated:
          ++counted.updated;
          break;
        case UserImportOutcome::kUnchanged:
          ++counted.unchanged;
          break;
        case UserImportOutcome::kFailed:
          ++counted.failed;
          break;
        default:
          Fail("an outcome out of range");
      }
      if (r.outcome == UserImportOutcome::kFailed) {
        Check(!r.status.ok(), "a failed row with an OK status");
        Check(GetReason(r.status) != Reason::kNone,
              "a failed row carries no reason");
      } else {
        Check(r.status.ok(), "a row that did not fail has an error status");
      }
      if (!records[i + 1].error.ok()) {
        Check(r.outcome == UserImportOutcome::kFailed,
              "a bad CSV record did not fail its row");
      }
    }
    Check(summary->invited == counted.invited &&
              summary->added == counted.added &&
              summary->updated == counted.updated &&
              summary->unchanged == counted.unchanged &&
              summary->failed == counted.failed,
          "the summary's counts do not match the results");
    Check(summary->invited + summary->added + summary->updated +
                  summary->unchanged + summary->failed ==
              summary->rows,
          "the summary's counts do not add up to its rows");
  }
  Check(org->sent() == sent_before, "a dry run sent a notification");
  Check(org->Export() == org->initial_export(),
        "a dry run changed the members");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  FuzzReader(input);
  FuzzImport(input);
  return 0;
}
