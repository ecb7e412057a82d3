// RFC 4180 CSV: a streaming reader that survives damaged files, and a writer.
//
// `CsvReader` reads records one at a time from a `std::istream`, in chunks, so
// memory stays bounded whatever the size of the input (about one chunk of
// 64 KiB, plus `CsvLimits::max_record_bytes`, plus the fields of one record).
// It is built for bulk import (SPEC ADM-2), where every good row of a damaged
// file must still be read: a bad record is returned with its error and
// reading goes on with the next one.
//
// Reading rules:
//   - A record ends at LF or CRLF outside quotes; a lone CR is data. The last
//     record needs no line end. Empty lines are skipped and are not records.
//     A UTF-8 byte order mark at the very start of the input is skipped.
//   - A field that begins with `"` is quoted: it ends at the next lone `"`,
//     may hold commas, CR and LF, and `""` in it stands for one `"`. A quoted
//     field must be followed by a comma or the end of the line; a `"` inside
//     a field that does not begin with one is an error.
//   - Every field must be valid UTF-8 (no overlong forms, no surrogates,
//     nothing above U+10FFFF).
//   - `CsvRow::line` counts physical lines (LFs), so a quoted field that spans
//     lines moves the next record's line on.
//
// A bad record comes back with `CsvRow::error` set to InvalidArgument and
//   - `Reason::kMalformedCsv` for a quote error, a quoted field left open at
//     the end of the input or past `max_record_bytes` (below), or a field
//     that is not UTF-8;
//   - `Reason::kLimitExceeded` for a field longer than `max_field_bytes`
//     (kept truncated to that length) or more than `max_fields` fields (the
//     first `max_fields` are kept).
// The message names the record, its line, and the field, e.g. "record 4
// (line 7), field 2: a closing quote must be followed by a comma or the end
// of the line; reading goes on at line 8". A bad record costs only itself
// (SPEC SEC-12); where reading goes on depends on the error:
//   - after a quote error or an open quoted field, the record's boundaries
//     cannot be trusted, so reading goes back to the line after the record's
//     first line, whatever the record's size: a stray quote swallows no good
//     rows, and the lines it had swallowed are read again as records. For
//     that the reader holds the record's bytes after its first line. Only
//     quoted fields span lines, so a record that runs on for more than
//     `max_record_bytes` after its first line is taken for a quote left open:
//     it ends there, bad (kMalformedCsv), and reading goes back to its second
//     line just the same. (At the default limits only a record with more
//     than 16 fields of the full 64 KiB after its first line can reach it.) A
//     record on one line has no such limit: reading goes on at the next line;
//   - after any other error the record's boundaries are sound, and reading
//     goes on after the record's end.
//
// `AppendCsvField` and `AppendCsvRecord` write what `CsvReader` reads back
// unchanged, for any fields.
//
// Spreadsheet formulas (SPEC SEC-6): a spreadsheet that opens a CSV file runs
// a cell beginning with `=`, `+`, `-` or `@` (and, in some, a tab or carriage
// return) as a formula, which can fetch URLs or run commands. Files meant for
// people (exports) are written with `AppendGuardedCsvRecord`, which prefixes
// such a cell with one `'`, so it shows as text. To make the guard exactly
// reversible, a cell that already begins with `'` is prefixed too, and
// `UnguardCsvCell` removes exactly one leading `'`: for every cell `c`,
// UnguardCsvCell(what CsvReader reads of AppendGuardedCsvField(c)) == c. A
// reader of guarded files (an import) unguards every cell, so a hand-written
// cell beginning with `'` loses that quote.
//
// A `CsvReader` does not own its stream and is not thread-safe: use one
// reader from one thread at a time. The free functions are thread-safe.
#ifndef ENTITLE_CSV_H_
#define ENTITLE_CSV_H_

#include <cstddef>
#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace entitle {
namespace internal {
class CsvFields;
}  // namespace internal

struct CsvLimits {
  // A longer field makes its record bad (kLimitExceeded); no more than this
  // much of it is ever held.
  size_t max_field_bytes = 64 * 1024;
  // More fields in one record make it bad (kLimitExceeded).
  size_t max_fields = 256;
  // The most one record may run on past its first line (in quoted fields
  // that span lines); a longer one is bad (kMalformedCsv) and reading goes
  // back to its second line. Also the most held so that reading can go back.
  size_t max_record_bytes = 1 << 20;
};

// One record, as `CsvReader::Next` read it.
struct CsvRow {
  // The fields. For a bad record, what could be read (possibly partial); a
  // too-long field is truncated to `max_field_bytes`.
  std::vector<std::string> fields;
  // 1-based record number, counting bad records too (a header is record 1).
  int64_t number = 0;
  // 1-based physical line on which the record starts.
  int64_t line = 0;
  // OK, or why the record is bad (see above).
  absl::Status error;
};

class CsvReader {
 public:
  // Reads from `in`, which must outlive the reader. Reads nothing yet.
  explicit CsvReader(std::istream& in, CsvLimits limits = {});

  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // Reads the next record into `row`, reusing its storage, and returns true;
  // a bad record is returned too, with `row.error` set. Returns false at the
  // end of the input, or when reading the input failed (then `status()` says
  // why, and a record that was being read when it failed is lost).
  bool Next(CsvRow& row);

  // OK, or DataLoss with `Reason::kMalformedCsv` once reading the stream has
  // failed (its badbit was set, or it was not readable to begin with).
  absl::Status status() const { return status_; }

  // The input offset reached: bytes of the input read and dealt with so far
  // (not counting bytes read ahead), for progress reports.
  int64_t bytes_read() const { return base_ + static_cast<int64_t>(pos_); }

 private:
  bool Fill(size_t want);
  size_t ReadSome(char* dst, size_t size);
  bool ReadRecord(CsvRow& row);
  void SkipPastLineEnd();
  void Recover(CsvRow& row, internal::CsvFields& fields, std::string_view what);

  std::istream& in_;
  const CsvLimits limits_;
  // buf_[0, end_) holds the input from offset base_; buf_[pos_] is the next
  // byte to read.
  std::vector<char> buf_;
  size_t pos_ = 0;
  size_t end_ = 0;
  int64_t base_ = 0;
  // Offset just after the current record's first LF, or -1; the bytes from
  // there on are kept in buf_ until the record ends.
  int64_t resume_ = -1;
  int64_t line_ = 1;     // Physical line of buf_[pos_].
  int64_t records_ = 0;  // Records returned so far.
  bool started_ = false;
  bool eof_ = false;
  absl::Status status_;
};

// Appends `field` to `out`: quoted (with each `"` doubled) when it holds a
// comma, `"`, CR or LF, begins or ends with a space or tab, or begins with a
// byte order mark; otherwise as it is.
void AppendCsvField(std::string& out, std::string_view field);

// Appends one record: the fields separated by commas, then CRLF (RFC 4180). A
// record of one empty field is written `""` so that it is not an empty line;
// no fields at all append nothing, as no record has zero fields.
void AppendCsvRecord(std::string& out, absl::Span<const std::string> fields);

// SEC-6: true when a spreadsheet could run `cell` as a formula, or when it
// begins with `'` (see above): it begins with = + - @ ' TAB or CR.
bool CsvCellNeedsGuard(std::string_view cell);

// `AppendCsvField` of `cell`, prefixed with `'` when `CsvCellNeedsGuard`.
void AppendGuardedCsvField(std::string& out, std::string_view cell);

// `AppendCsvRecord` with every field written by `AppendGuardedCsvField`.
void AppendGuardedCsvRecord(std::string& out,
                            absl::Span<const std::string> fields);

// A cell as it was before `AppendGuardedCsvField`: `cell` without its first
// character when that is `'`, else `cell` itself. A view into `cell`.
std::string_view UnguardCsvCell(std::string_view cell);

}  // namespace entitle

#endif  // ENTITLE_CSV_H_
