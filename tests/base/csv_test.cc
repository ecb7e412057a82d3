// CSV reading and writing (csv.h). The reader's recovery from bad records is
// what lets a bulk import take every good row of a damaged file (SPEC ADM-2).
#include "entitle/csv.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "entitle/status.h"

namespace {

using entitle::AppendCsvField;
using entitle::AppendCsvRecord;
using entitle::CsvLimits;
using entitle::CsvReader;
using entitle::CsvRow;
using entitle::Reason;
using Fields = std::vector<std::string>;

// Serves `data` at most `chunk` bytes at a time (and says so through
// showmanyc, as a pipe would), then throws once `fail_at` bytes were served.
class ChunkedBuf : public std::streambuf {
 public:
  ChunkedBuf(std::string data, size_t chunk, size_t fail_at = std::string::npos)
      : data_(std::move(data)), chunk_(chunk), fail_at_(fail_at) {}

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    if (next_ >= fail_at_) throw std::runtime_error("the disk is on fire");
    if (next_ == data_.size()) return traits_type::eof();
    const size_t n = std::min({chunk_, data_.size() - next_, fail_at_ - next_});
    char* p = data_.data() + next_;
    setg(p, p, p + n);
    next_ += n;
    return traits_type::to_int_type(*p);
  }
  std::streamsize showmanyc() override {
    if (next_ >= fail_at_) return 0;
    if (next_ == data_.size()) return -1;
    return static_cast<std::streamsize>(
        std::min({chunk_, data_.size() - next_, fail_at_ - next_}));
  }

 private:
  std::string data_;
  size_t chunk_;
  size_t fail_at_;
  size_t next_ = 0;
};

struct ReadResult {
  std::vector<CsvRow> rows;
  absl::Status status;
  int64_t bytes_read = 0;
};

ReadResult ReadFrom(std::istream& in, const CsvLimits& limits) {
  ReadResult result;
  CsvReader reader(in, limits);
  CsvRow row;
  int64_t last_bytes = 0;
  while (reader.Next(row)) {
    result.rows.push_back(row);
    REQUIRE(reader.bytes_read() >= last_bytes);
    last_bytes = reader.bytes_read();
  }
  REQUIRE_FALSE(reader.Next(row));  // The end stays the end.
  result.status = reader.status();
  result.bytes_read = reader.bytes_read();
  return result;
}

// Reads all of `input`; chunk 0 reads from a string stream, any other size
// through a ChunkedBuf.
ReadResult ReadAll(const std::string& input, const CsvLimits& limits = {},
                   size_t chunk = 0) {
  if (chunk == 0) {
    std::istringstream in(input);
    return ReadFrom(in, limits);
  }
  ChunkedBuf buf(input, chunk);
  std::istream in(&buf);
  return ReadFrom(in, limits);
}

void CheckGood(const CsvRow& row, const Fields& fields, int64_t number,
               int64_t line) {
  INFO("record " << number << " error: " << row.error.ToString());
  CHECK(row.error.ok());
  CHECK(row.fields == fields);
  CHECK(row.number == number);
  CHECK(row.line == line);
}

// Checks a bad record and returns its message.
std::string CheckBad(const CsvRow& row, Reason reason, int64_t number,
                     int64_t line) {
  INFO("record " << number << " error: " << row.error.ToString());
  CHECK(row.error.code() == absl::StatusCode::kInvalidArgument);
  CHECK(entitle::GetReason(row.error) == reason);
  CHECK(row.number == number);
  CHECK(row.line == line);
  return std::string(row.error.message());
}

std::string Record(const Fields& fields) {
  std::string out;
  AppendCsvRecord(out, fields);
  return out;
}

void CheckSame(const ReadResult& a, const ReadResult& b) {
  REQUIRE(a.rows.size() == b.rows.size());
  for (size_t i = 0; i < a.rows.size(); ++i) {
    INFO("row " << i);
    CHECK(a.rows[i].fields == b.rows[i].fields);
    CHECK(a.rows[i].number == b.rows[i].number);
    CHECK(a.rows[i].line == b.rows[i].line);
    CHECK(a.rows[i].error == b.rows[i].error);
  }
  CHECK(a.status == b.status);
  CHECK(a.bytes_read == b.bytes_read);
}

const Fields kAwkward = {"plain",
                         "with,comma",
                         "with \"quotes\"",
                         "\"",
                         "cr\rinside",
                         "lf\ninside",
                         "crlf\r\ninside",
                         " leading",
                         "trailing ",
                         "\ttab",
                         "",
                         "Zoë Ørsted",
                         "山田太郎",
                         "emoji 🎉👩‍💻",
                         "\xEF\xBB\xBF"
                         "bom first",
                         ""};

TEST_CASE("CSV writer quotes only the fields that need it") {
  std::string out;
  AppendCsvField(out, "plain");
  CHECK(out == "plain");
  out.clear();
  AppendCsvField(out, "a,b");
  CHECK(out == "\"a,b\"");
  out.clear();
  AppendCsvField(out, "say \"hi\"");
  CHECK(out == "\"say \"\"hi\"\"\"");
  out.clear();
  AppendCsvField(out, " x");
  CHECK(out == "\" x\"");
  out.clear();
  AppendCsvField(out, "x\t");
  CHECK(out == "\"x\t\"");
  out.clear();
  AppendCsvField(out, "a\nb");
  CHECK(out == "\"a\nb\"");
  out.clear();
  AppendCsvField(out, "in side");
  CHECK(out == "in side");

  CHECK(Record({"a", "b,c", ""}) == "a,\"b,c\",\r\n");
  // One empty field must not become an empty line, which readers skip.
  CHECK(Record({""}) == "\"\"\r\n");
  CHECK(Record({}).empty());
}

TEST_CASE("CSV round trip of awkward fields through the writer and reader") {
  std::string file;
  AppendCsvRecord(file, kAwkward);
  AppendCsvRecord(file, Fields{""});
  AppendCsvRecord(file, Fields{"last", "row"});
  const ReadResult result = ReadAll(file);
  REQUIRE(result.status.ok());
  REQUIRE(result.rows.size() == 3);
  CheckGood(result.rows[0], kAwkward, 1, 1);
  // The first record's fields hold a CRLF and an LF: two more lines.
  CheckGood(result.rows[1], Fields{""}, 2, 4);
  CheckGood(result.rows[2], Fields{"last", "row"}, 3, 5);
  CHECK(result.bytes_read == static_cast<int64_t>(file.size()));
}

TEST_CASE("ADM-2 csv: LF and CRLF line ends, final record without one") {
  const Fields a = {"email", "name"};
  const Fields b = {"anna@example.com", "Anna"};
  const Fields c = {"bo@example.com", ""};
  for (const std::string& input :
       {std::string("email,name\nanna@example.com,Anna\nbo@example.com,\n"),
        std::string(
            "email,name\r\nanna@example.com,Anna\r\nbo@example.com,\r\n"),
        std::string("email,name\r\nanna@example.com,Anna\nbo@example.com,"),
        std::string("\xEF\xBB\xBF"
                    "email,name\nanna@example.com,Anna\r\n"
                    "bo@example.com,")}) {
    INFO(input);
    const ReadResult result = ReadAll(input);
    REQUIRE(result.status.ok());
    REQUIRE(result.rows.size() == 3);
    CheckGood(result.rows[0], a, 1, 1);
    CheckGood(result.rows[1], b, 2, 2);
    CheckGood(result.rows[2], c, 3, 3);
  }
}

TEST_CASE("ADM-2 csv: a byte order mark is skipped only at the start") {
  const ReadResult result = ReadAll(
      "\xEF\xBB\xBF"
      "a\n\xEF\xBB\xBF"
      "b\n");
  REQUIRE(result.rows.size() == 2);
  CheckGood(result.rows[0], Fields{"a"}, 1, 1);
  CheckGood(result.rows[1],
            Fields{"\xEF\xBB\xBF"
                   "b"},
            2, 2);
  CHECK(ReadAll("\xEF\xBB\xBF").rows.empty());
  CHECK(ReadAll("").rows.empty());
}

TEST_CASE("ADM-2 csv: empty lines are skipped but counted") {
  const ReadResult result = ReadAll("\n\r\na,b\n\n\r\n\nc\r\n \n\n");
  REQUIRE(result.status.ok());
  REQUIRE(result.rows.size() == 3);
  CheckGood(result.rows[0], Fields{"a", "b"}, 1, 3);
  CheckGood(result.rows[1], Fields{"c"}, 2, 7);
  CheckGood(result.rows[2], Fields{" "}, 3, 8);  // A space is not empty.
}

TEST_CASE("ADM-2 csv: quoted fields and lone CRs") {
  const ReadResult result = ReadAll(
      "\"a,1\",\"line\nbreak\",\"q\"\"q\"\nx\ry,\"\",\"\r\"\n"
      "\"crlf\r\nin\"\r\nz\r");
  REQUIRE(result.status.ok());
  REQUIRE(result.rows.size() == 4);
  CheckGood(result.rows[0], Fields{"a,1", "line\nbreak", "q\"q"}, 1, 1);
  CheckGood(result.rows[1], Fields{"x\ry", "", "\r"}, 2, 3);
  CheckGood(result.rows[2], Fields{"crlf\r\nin"}, 3, 4);
  CheckGood(result.rows[3], Fields{"z\r"}, 4, 6);
}

// clang-format off
TEST_CASE("ADM-2 csv: a quote inside an unquoted field spoils that record only") {
  // clang-format on
  const ReadResult result = ReadAll("a,b\nab\"c,d\ne,f\n");
  REQUIRE(result.status.ok());
  REQUIRE(result.rows.size() == 3);
  CheckGood(result.rows[0], Fields{"a", "b"}, 1, 1);
  const std::string message =
      CheckBad(result.rows[1], Reason::kMalformedCsv, 2, 2);
  CHECK(
      absl::StartsWith(message, "record 2 (line 2), field 1: a double quote"));
  CHECK(absl::StrContains(message, "reading goes on at line 3"));
  CHECK(result.rows[1].fields == Fields{"ab"});  // What could be read.
  CheckGood(result.rows[2], Fields{"e", "f"}, 3, 3);
}

// clang-format off
TEST_CASE("ADM-2 csv: a character after a closing quote spoils that record "
          "only") {
  // clang-format on
  SECTION("on one line") {
    const ReadResult result = ReadAll("h1,h2\nx,\"ab\"c\ne,f\n");
    REQUIRE(result.rows.size() == 3);
    CheckGood(result.rows[0], Fields{"h1", "h2"}, 1, 1);
    CHECK(CheckBad(result.rows[1], Reason::kMalformedCsv, 2, 2) ==
          "record 2 (line 2), field 2: a closing quote must be followed by a "
          "comma or the end of the line; reading goes on at line 3");
    CheckGood(result.rows[2], Fields{"e", "f"}, 3, 3);
  }
  SECTION("a lone CR after the closing quote") {
    const ReadResult result = ReadAll("\"a\"\rb\nc\n");
    REQUIRE(result.rows.size() == 2);
    CheckBad(result.rows[0], Reason::kMalformedCsv, 1, 1);
    CheckGood(result.rows[1], Fields{"c"}, 2, 2);
  }
  SECTION("found lines later: reading goes back to the record's second line") {
    // The stray quote on line 1 opens a field that takes in lines 2 and 3.
    const ReadResult result = ReadAll("a,b\n7,\"stray\nc,d\ne,\"f\"g\nh,i\n");
    REQUIRE(result.rows.size() == 5);
    CheckGood(result.rows[0], Fields{"a", "b"}, 1, 1);
    const std::string message =
        CheckBad(result.rows[1], Reason::kMalformedCsv, 2, 2);
    CHECK(absl::StartsWith(message,
                           "record 2 (line 2), field 2: a closing quote"));
    CHECK(absl::StrContains(message, "(on line 4)"));
    CHECK(absl::StrContains(message, "reading goes on at line 3"));
    CheckGood(result.rows[2], Fields{"c", "d"}, 3, 3);
    CheckBad(result.rows[3], Reason::kMalformedCsv, 4, 4);  // e,"f"g itself.
    CheckGood(result.rows[4], Fields{"h", "i"}, 5, 5);
  }
}

TEST_CASE("ADM-2 csv: an unterminated quote swallows no following lines") {
  const ReadResult result = ReadAll("a,\"b\nc,d\ne,f\n");
  REQUIRE(result.status.ok());
  REQUIRE(result.rows.size() == 3);
  const std::string message =
      CheckBad(result.rows[0], Reason::kMalformedCsv, 1, 1);
  CHECK(absl::StartsWith(message,
                         "record 1 (line 1), field 2: the quoted field "
                         "is not closed before the end of the input"));
  CHECK(result.rows[0].fields[0] == "a");
  CheckGood(result.rows[1], Fields{"c", "d"}, 2, 2);
  CheckGood(result.rows[2], Fields{"e", "f"}, 3, 3);

  // On the last line, it ends the input.
  const ReadResult last = ReadAll("a,b\nc,\"d");
  REQUIRE(last.rows.size() == 2);
  CheckGood(last.rows[0], Fields{"a", "b"}, 1, 1);
  CheckBad(last.rows[1], Reason::kMalformedCsv, 2, 2);
}

// clang-format off
TEST_CASE("SEC-12 csv: a record running on past max_record_bytes is cut there and reading goes back to its second line") {
  // clang-format on
  CsvLimits limits;
  limits.max_record_bytes = 16;
  // Lines 2-5 fall inside the stray quote's field; 16 bytes after the first
  // line the record is cut, and lines 2 on are read again as records.
  const std::string input =
      "a,\"b\nline two\nline three\nline four\n\"x\"y\ngood,row\n";
  const ReadResult result = ReadAll(input, limits);
  REQUIRE(result.status.ok());
  REQUIRE(result.rows.size() == 6);
  const std::string message =
      CheckBad(result.rows[0], Reason::kMalformedCsv, 1, 1);
  CHECK(absl::StrContains(message,
                          "runs on for more than 16 bytes after its first "
                          "line"));
  CHECK(absl::StrContains(message, "reading goes on at line 2"));
  CheckGood(result.rows[1], Fields{"line two"}, 2, 2);
  CheckGood(result.rows[2], Fields{"line three"}, 3, 3);
  CheckGood(result.rows[3], Fields{"line four"}, 4, 4);
  CheckBad(result.rows[4], Reason::kMalformedCsv, 5, 5);
  CheckGood(result.rows[5], Fields{"good", "row"}, 6, 6);

  // Within the limit the same lines come back, the record ending at the
  // error instead.
  limits.max_record_bytes = 1 << 20;
  const ReadResult held = ReadAll(input, limits);
  REQUIRE(held.rows.size() == 6);
  CHECK(absl::StrContains(
      CheckBad(held.rows[0], Reason::kMalformedCsv, 1, 1),
      "a closing quote must be followed by a comma or the end of the line"));
  for (size_t i = 1; i < 6; ++i) {
    CHECK(held.rows[i].fields == result.rows[i].fields);
    CHECK(held.rows[i].line == result.rows[i].line);
  }

  // A quoted field that spans lines within the limit is one good record.
  limits.max_record_bytes = 16;
  const ReadResult spanning = ReadAll("a,\"two\nlines\",b\nc,d\n", limits);
  REQUIRE(spanning.rows.size() == 2);
  CheckGood(spanning.rows[0], Fields{"a", "two\nlines", "b"}, 1, 1);
  CheckGood(spanning.rows[1], Fields{"c", "d"}, 2, 3);
}

TEST_CASE("ADM-2 csv: a 10 MB field is reported, truncated, and skipped") {
  const std::string huge(10 << 20, 'x');
  const CsvLimits limits;
  for (const std::string& big : {huge, "\"" + huge + "\""}) {
    const std::string input = "a,b\nc," + big + ",d\ne,f\n";
    const ReadResult result = ReadAll(input);
    REQUIRE(result.status.ok());
    REQUIRE(result.rows.size() == 3);
    CheckGood(result.rows[0], Fields{"a", "b"}, 1, 1);
    const CsvRow& bad = result.rows[1];
    CHECK(CheckBad(bad, Reason::kLimitExceeded, 2, 2) ==
          "record 2 (line 2), field 2: longer than 65536 bytes");
    REQUIRE(bad.fields.size() == 3);
    CHECK(bad.fields[0] == "c");
    CHECK(bad.fields[1] == std::string(limits.max_field_bytes, 'x'));
    CHECK(bad.fields[1].capacity() <= 2 * limits.max_field_bytes);
    CHECK(bad.fields[2] == "d");
    CheckGood(result.rows[2], Fields{"e", "f"}, 3, 3);
  }
  // A field of 10 MB over two lines (SEC-12): the record is cut 1 MiB after
  // its first line and reading goes back to its second line, whose stray
  // closing quote makes it a bad record of its own; the next row is read.
  const std::string input = "a,b\nc,\"" + huge + "\n" + huge + "\",d\ne,f\n";
  const ReadResult result = ReadAll(input);
  REQUIRE(result.status.ok());
  REQUIRE(result.rows.size() == 4);
  CheckGood(result.rows[0], Fields{"a", "b"}, 1, 1);
  CHECK(absl::StrContains(CheckBad(result.rows[1], Reason::kMalformedCsv, 2, 2),
                          "runs on for more than 1048576 bytes"));
  CHECK(result.rows[1].fields[1].size() == limits.max_field_bytes);
  CheckBad(result.rows[2], Reason::kMalformedCsv, 3, 3);
  CheckGood(result.rows[3], Fields{"e", "f"}, 4, 4);
}

TEST_CASE("ADM-2 csv: too many fields") {
  CsvLimits limits;
  limits.max_fields = 3;
  const ReadResult result =
      ReadAll("1,2,3\n1,2,3,4,5\n\"x\",y,\"z\"\n", limits);
  REQUIRE(result.rows.size() == 3);
  CheckGood(result.rows[0], Fields{"1", "2", "3"}, 1, 1);
  CHECK(CheckBad(result.rows[1], Reason::kLimitExceeded, 2, 2) ==
        "record 2 (line 2): more than 3 fields");
  CHECK(result.rows[1].fields == Fields{"1", "2", "3"});
  CheckGood(result.rows[2], Fields{"x", "y", "z"}, 3, 3);
}

TEST_CASE("ADM-2 csv: every field must be valid UTF-8") {
  const std::vector<std::string> bad = {
      "\x80",              // A lone continuation byte.
      "\xC0\xAF",          // Overlong '/'.
      "\xC1\xBF",          // Overlong.
      "\xE0\x80\xAF",      // Overlong.
      "\xF0\x80\x80\xAF",  // Overlong.
      "\xED\xA0\x80",      // Surrogate U+D800.
      "\xED\xBF\xBF",      // Surrogate U+DFFF.
      "\xF4\x90\x80\x80",  // U+110000.
      "\xF5\x80\x80\x80",  // Beyond any plane.
      "\xE2\x82",          // Cut short.
      "\xE2\x28\xA1",      // Bad continuation.
      "\xFF",
  };
  for (const std::string& bytes : bad) {
    INFO("bytes of length " << bytes.size());
    for (const std::string& field : {bytes, "\"a" + bytes + "\""}) {
      const ReadResult result = ReadAll("ok,1\nx," + field + ",y\nok,2\n");
      REQUIRE(result.rows.size() == 3);
      CheckGood(result.rows[0], Fields{"ok", "1"}, 1, 1);
      CHECK(CheckBad(result.rows[1], Reason::kMalformedCsv, 2, 2) ==
            "record 2 (line 2), field 2: not valid UTF-8");
      CheckGood(result.rows[2], Fields{"ok", "2"}, 3, 3);
    }
  }
  const Fields good = {"\xED\x9F\xBF",     "\xEE\x80\x80", "\xEF\xBF\xBF",
                       "\xF4\x8F\xBF\xBF", "\xC2\x80",     "\xF0\x90\x80\x80"};
  const ReadResult result = ReadAll(Record(good));
  REQUIRE(result.rows.size() == 1);
  CheckGood(result.rows[0], good, 1, 1);
}

TEST_CASE("CSV a failing stream stops reading with DataLoss") {
  const std::string input = "a,b\nc,d\ne,f\n";
  SECTION("the stream buffer throws") {
    ChunkedBuf buf(input, 3, /*fail_at=*/9);
    std::istream in(&buf);
    const ReadResult result = ReadFrom(in, {});
    REQUIRE(result.rows.size() == 2);  // "e," was being read: lost.
    CheckGood(result.rows[0], Fields{"a", "b"}, 1, 1);
    CheckGood(result.rows[1], Fields{"c", "d"}, 2, 2);
    CHECK(result.status.code() == absl::StatusCode::kDataLoss);
    CHECK(entitle::GetReason(result.status) == Reason::kMalformedCsv);
    CHECK(
        absl::StrContains(result.status.message(), "reading the input failed"));
  }
  SECTION("the stream throws on failure") {
    ChunkedBuf buf(input, 64, /*fail_at=*/4);
    std::istream in(&buf);
    in.exceptions(std::ios::badbit | std::ios::failbit | std::ios::eofbit);
    const ReadResult result = ReadFrom(in, {});
    REQUIRE(result.rows.size() == 1);
    CHECK(result.status.code() == absl::StatusCode::kDataLoss);
  }
  SECTION("a stream that throws at its end still ends well") {
    std::istringstream in(input);
    in.exceptions(std::ios::failbit | std::ios::eofbit);
    const ReadResult result = ReadFrom(in, {});
    CHECK(result.rows.size() == 3);
    CHECK(result.status.ok());
  }
  SECTION("a file that could not be opened") {
    std::ifstream in("no/such/file.csv");
    const ReadResult result = ReadFrom(in, {});
    CHECK(result.rows.empty());
    CHECK(result.status.code() == absl::StatusCode::kDataLoss);
  }
}

// Every input above and some more: chunk boundaries must change nothing.
const std::vector<std::string> kTricky = {
    "\xEF\xBB\xBF"
    "a,b\r\nc,d",
    "\xEF\xBB",
    "\xEF\xBB\xBF",
    "\r\n\r\n\n a,\"b\r\nc\"\r\n\r",
    "x\r\ry\r\r\n\"q\"\"\"\r\n",
    "a,b\nab\"c,d\ne,f\n",
    "h1,h2\nx,\"ab\"c\ne,f\n",
    "\"a\"\rb\nc\n\"a\"\r",
    "a,b\n7,\"stray\nc,d\ne,\"f\"g\nh,i\n",
    "a,\"b\nc,d\ne,f\n",
    "a,\"b\nline two\nline three\nline four\n\"x\"y\ngood,row\n",
    "1,2,3\n1,2,3,4,5\n\"x\",y,\"z\"\n",
    "ok,1\nx,\"a\xE2\x82\",y\nok,2\nZo\xC3\xAB,\xF0\x9F\x8E\x89\n",
    "\"\"\"\",\"\",,\"\n\"\n",
};

TEST_CASE("ADM-2 csv: 1-byte and other chunks read exactly like a string") {
  std::vector<CsvLimits> all_limits(2);
  all_limits[1].max_record_bytes = 12;
  all_limits[1].max_field_bytes = 5;
  all_limits[1].max_fields = 2;
  for (const CsvLimits& limits : all_limits) {
    for (const std::string& input : kTricky) {
      INFO(input);
      const ReadResult expected = ReadAll(input, limits);
      for (size_t chunk : {1, 2, 3, 7, 4096}) {
        INFO("chunk " << chunk);
        CheckSame(ReadAll(input, limits, chunk), expected);
      }
    }
  }
}

// A random field drawn from pieces that stress quoting, line ends and UTF-8.
std::string RandomField(std::mt19937& rng) {
  static const std::vector<std::string> kPieces = {"a",
                                                   "Z",
                                                   "0",
                                                   " ",
                                                   "\t",
                                                   ",",
                                                   "\"",
                                                   "\"\"",
                                                   "\r",
                                                   "\n",
                                                   "\r\n",
                                                   "ë",
                                                   "Ø",
                                                   "山",
                                                   "田",
                                                   "🎉",
                                                   "\xEF\xBB\xBF",
                                                   "x y",
                                                   "@example.com",
                                                   ";"};
  std::uniform_int_distribution<int> length(0, 8);
  std::uniform_int_distribution<size_t> piece(0, kPieces.size() - 1);
  std::string field;
  for (int n = length(rng); n > 0; --n) field += kPieces[piece(rng)];
  return field;
}

TEST_CASE("CSV randomized round trip across chunk sizes") {
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int> field_count(1, 9);
  std::vector<Fields> rows;
  std::string file;
  for (int i = 0; i < 2000; ++i) {
    Fields fields;
    for (int n = field_count(rng); n > 0; --n)
      fields.push_back(RandomField(rng));
    AppendCsvRecord(file, fields);
    rows.push_back(std::move(fields));
  }
  for (size_t chunk : {0, 1, 2, 5, 13, 4096}) {
    INFO("chunk " << chunk);
    const ReadResult result = ReadAll(file, {}, chunk);
    REQUIRE(result.status.ok());
    REQUIRE(result.rows.size() == rows.size());
    int64_t line = 1;
    for (size_t i = 0; i < rows.size(); ++i) {
      INFO("row " << i);
      REQUIRE(result.rows[i].error.ok());
      REQUIRE(result.rows[i].fields == rows[i]);
      CHECK(result.rows[i].number == static_cast<int64_t>(i) + 1);
      CHECK(result.rows[i].line == line);
      for (const std::string& field : rows[i]) {
        line += std::count(field.begin(), field.end(), '\n');
      }
      ++line;
    }
    CHECK(result.bytes_read == static_cast<int64_t>(file.size()));
  }
}

TEST_CASE("CSV reads a 100,000-row file in one pass, every record whole") {
  std::string file = "email,name,kind,roles,status,last_login,licenses\r\n";
  for (int i = 0; i < 100000; ++i) {
    AppendCsvRecord(file, Fields{absl::StrCat("user", i, "@example.com"),
                                 absl::StrCat("User ", i), "employee",
                                 "Administrator;Billing", "active",
                                 "2026-11-23T09:30:00Z", "SKU-1;SKU-2"});
  }
  std::istringstream in(file);
  CsvReader reader(in);
  CsvRow row;
  int64_t rows = 0;
  while (reader.Next(row)) {
    REQUIRE(row.error.ok());
    REQUIRE(row.fields.size() == 7);
    ++rows;
  }
  CHECK(reader.status().ok());
  CHECK(rows == 100001);
  CHECK(row.line == 100001);
  CHECK(reader.bytes_read() == static_cast<int64_t>(file.size()));
}

// A user list of `rows` members after its header, about 30 bytes a row, with
// a stray quote opening the name of the member at `stray` (0-based): a
// quoted field that never closes.
std::string UserListWithStrayQuote(int rows, int stray) {
  std::string file = "email,name,kind\r\n";
  for (int i = 0; i < rows; ++i) {
    const std::string name =
        i == stray ? absl::StrCat("\"User ", i) : absl::StrCat("User ", i);
    absl::StrAppend(&file, "user", i, "@example.com,", name, ",employee\r\n");
  }
  return file;
}

// clang-format off
TEST_CASE("SEC-12 csv: a stray quote near the top of a 1.2 MiB file costs only its own record") {
  // clang-format on
  const std::string file = UserListWithStrayQuote(40000, 3);
  REQUIRE(file.size() > (1 << 20) + (1 << 17));  // About 1.2 MiB.
  for (size_t chunk : {0, 4096, 65536 + 7}) {
    INFO("chunk " << chunk);
    const ReadResult result = ReadAll(file, {}, chunk);
    REQUIRE(result.status.ok());
    // The header, then one record for every row: none is lost.
    REQUIRE(result.rows.size() == 40001);
    int64_t good = 0;
    for (size_t i = 1; i < result.rows.size(); ++i) {
      const CsvRow& row = result.rows[i];
      const int member = static_cast<int>(i) - 1;
      CHECK(row.line == member + 2);
      if (member == 3) {
        const std::string message =
            CheckBad(row, Reason::kMalformedCsv, member + 2, member + 2);
        CHECK(absl::StrContains(message,
                                "runs on for more than 1048576 "
                                "bytes after its first line"));
        CHECK(absl::StrContains(message, "reading goes on at line 6"));
        continue;
      }
      REQUIRE(row.error.ok());
      REQUIRE(row.fields == Fields{absl::StrCat("user", member, "@example.com"),
                                   absl::StrCat("User ", member), "employee"});
      ++good;
    }
    CHECK(good == 39999);
    CHECK(result.bytes_read == static_cast<int64_t>(file.size()));
  }
}

// clang-format off
TEST_CASE("SEC-12 csv: after a quote error reading goes back to the line after the record's first line") {
  // clang-format on
  // Line 2's stray quote is closed by the quote that opens line 5's field;
  // "x" after it is the error. Lines 3 to 5 are read again.
  const ReadResult result =
      ReadAll("h1,h2\n\"stray,1\nb,2\nc,3\nd,\"x, y\"\ne,5\n");
  REQUIRE(result.status.ok());
  REQUIRE(result.rows.size() == 6);
  CheckGood(result.rows[0], Fields{"h1", "h2"}, 1, 1);
  const std::string message =
      CheckBad(result.rows[1], Reason::kMalformedCsv, 2, 2);
  CHECK(absl::StrContains(message, "(on line 5)"));
  CHECK(absl::StrContains(message, "reading goes on at line 3"));
  CheckGood(result.rows[2], Fields{"b", "2"}, 3, 3);
  CheckGood(result.rows[3], Fields{"c", "3"}, 4, 4);
  CheckGood(result.rows[4], Fields{"d", "x, y"}, 5, 5);
  CheckGood(result.rows[5], Fields{"e", "5"}, 6, 6);

  // A stray quote on the last row: nothing follows to read again.
  const ReadResult last = ReadAll("a,1\n\"b,2\n");
  REQUIRE(last.rows.size() == 2);
  CheckGood(last.rows[0], Fields{"a", "1"}, 1, 1);
  CHECK_FALSE(absl::StrContains(
      CheckBad(last.rows[1], Reason::kMalformedCsv, 2, 2), "reading goes on"));

  // Quoted fields that legitimately span lines are still one record each.
  const ReadResult spanning =
      ReadAll("a,\"one\ntwo\nthree\",b\n\"x\r\ny\",z\nlast,1\n");
  REQUIRE(spanning.rows.size() == 3);
  CheckGood(spanning.rows[0], Fields{"a", "one\ntwo\nthree", "b"}, 1, 1);
  CheckGood(spanning.rows[1], Fields{"x\r\ny", "z"}, 2, 4);
  CheckGood(spanning.rows[2], Fields{"last", "1"}, 3, 6);
}

// clang-format off
TEST_CASE("SEC-6 csv: cells a spreadsheet would run are guarded with one quote") {
  // clang-format on
  for (const std::string cell :
       {"=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "'", "'already",
        "=HYPERLINK(\"http://x\",\"y\")"}) {
    INFO(cell);
    CHECK(entitle::CsvCellNeedsGuard(cell));
    std::string out;
    entitle::AppendGuardedCsvField(out, cell);
    const ReadResult read = ReadAll(out);
    REQUIRE(read.rows.size() == 1);
    REQUIRE(read.rows[0].fields.size() == 1);
    CHECK(read.rows[0].fields[0] == "'" + cell);
    CHECK(entitle::UnguardCsvCell(read.rows[0].fields[0]) == cell);
  }
  for (const std::string cell :
       {"", "plain", "a=b", " =1", "1-2", "x@y.example", "Zoë", "\"q\""}) {
    INFO(cell);
    CHECK_FALSE(entitle::CsvCellNeedsGuard(cell));
    std::string guarded;
    std::string plain;
    entitle::AppendGuardedCsvField(guarded, cell);
    AppendCsvField(plain, cell);
    CHECK(guarded == plain);
  }
  std::string out;
  entitle::AppendGuardedCsvField(out, "=HYPERLINK(\"http://x\",\"y\")");
  CHECK(out == "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
  // Exactly one quote comes off.
  CHECK(entitle::UnguardCsvCell("''x") == "'x");
  CHECK(entitle::UnguardCsvCell("x'") == "x'");
  CHECK(entitle::UnguardCsvCell("").empty());
}

TEST_CASE("SEC-6 csv: guarded records read back to the same cells") {
  std::mt19937 rng(20250117);
  std::uniform_int_distribution<int> field_count(1, 6);
  const std::vector<std::string> kStarts = {"",  "=",  "+",  "-",  "@",
                                            "'", "''", "\t", "\r", " "};
  std::uniform_int_distribution<size_t> start(0, kStarts.size() - 1);
  std::vector<Fields> rows;
  std::string file;
  for (int i = 0; i < 2000; ++i) {
    Fields fields;
    for (int n = field_count(rng); n > 0; --n) {
      fields.push_back(kStarts[start(rng)] + RandomField(rng));
    }
    entitle::AppendGuardedCsvRecord(file, fields);
    rows.push_back(std::move(fields));
  }
  const ReadResult result = ReadAll(file);
  REQUIRE(result.rows.size() == rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    INFO("row " << i);
    REQUIRE(result.rows[i].error.ok());
    Fields back;
    for (const std::string& f : result.rows[i].fields) {
      // No cell a spreadsheet would run is left in the file.
      CHECK((f.empty() || f.find_first_of("=+-@\t\r") != 0));
      back.emplace_back(entitle::UnguardCsvCell(f));
    }
    REQUIRE(back == rows[i]);
  }
}

}  // namespace
