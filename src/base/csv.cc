#include "entitle/csv.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/string_view.h"
#include "entitle/status.h"

namespace entitle {
namespace {

// Bytes asked of the stream at a time when it cannot say how many it has.
constexpr size_t kChunkBytes = 64 * 1024;

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

// The bytes that end a run of ordinary bytes in an unquoted field.
constexpr std::array<bool, 256> kUnquotedStops = [] {
  std::array<bool, 256> stops{};
  stops[static_cast<unsigned char>(',')] = true;
  stops[static_cast<unsigned char>('"')] = true;
  stops[static_cast<unsigned char>('\r')] = true;
  stops[static_cast<unsigned char>('\n')] = true;
  return stops;
}();

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Well-formed UTF-8 as Unicode defines it (table 3-7): no overlong forms, no
// surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    const size_t left = static_cast<size_t>(end - p);
    if (c >= 0xC2 && c <= 0xDF) {
      if (left < 2 || !IsContinuation(p[1])) return false;
      p += 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      if (left < 3 || !IsContinuation(p[1]) || !IsContinuation(p[2])) {
        return false;
      }
      if (c == 0xE0 && p[1] < 0xA0) return false;   // Overlong.
      if (c == 0xED && p[1] >= 0xA0) return false;  // Surrogate.
      p += 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      if (left < 4 || !IsContinuation(p[1]) || !IsContinuation(p[2]) ||
          !IsContinuation(p[3])) {
        return false;
      }
      if (c == 0xF0 && p[1] < 0x90) return false;   // Overlong.
      if (c == 0xF4 && p[1] >= 0x90) return false;  // Above U+10FFFF.
      p += 4;
    } else {
      return false;
    }
  }
  return true;
}

// "record 4 (line 7)" or, with a field number, "record 4 (line 7), field 2".
std::string Where(const CsvRow& row, size_t field) {
  if (field == 0) {
    return absl::StrCat("record ", row.number, " (line ", row.line, ")");
  }
  return absl::StrCat("record ", row.number, " (line ", row.line, "), field ",
                      field);
}

}  // namespace

namespace internal {

// Collects the fields of one record into a `CsvRow`, reusing its strings, and
// applies the limits and the UTF-8 rule.
class CsvFields {
 public:
  CsvFields(CsvRow& row, const CsvLimits& limits) : row_(row), limits_(limits) {
    row_.error = absl::OkStatus();
  }

  // Starts the next field.
  void Begin() {
    ++number_;
    truncated_ = false;
    if (number_ > limits_.max_fields) {
      current_ = nullptr;
      if (number_ == limits_.max_fields + 1) {
        Fail(Reason::kLimitExceeded,
             absl::StrCat(Where(row_, 0), ": more than ", limits_.max_fields,
                          " fields"));
      }
      return;
    }
    if (stored_ < row_.fields.size()) {
      current_ = &row_.fields[stored_];
      current_->clear();
    } else {
      current_ = &row_.fields.emplace_back();
    }
    ++stored_;
  }

  void Append(const char* data, size_t size) {
    if (current_ == nullptr || size == 0) return;
    const size_t room = limits_.max_field_bytes - current_->size();
    if (size <= room) {
      current_->append(data, size);
      return;
    }
    current_->append(data, room);
    if (!truncated_) {
      truncated_ = true;
      Fail(Reason::kLimitExceeded,
           absl::StrCat(Where(row_, number_), ": longer than ",
                        limits_.max_field_bytes, " bytes"));
    }
  }

  // Ends the current field.
  void End() {
    // A truncated field may end inside a character; its record is bad anyway.
    if (current_ != nullptr && !truncated_ && row_.error.ok() &&
        !IsValidUtf8(*current_)) {
      Fail(Reason::kMalformedCsv,
           absl::StrCat(Where(row_, number_), ": not valid UTF-8"));
    }
  }

  // Ends the record: drops what is left of earlier rows' fields.
  void Finish() { row_.fields.resize(stored_); }

  // 1-based number of the current field.
  size_t number() const { return number_; }

 private:
  // Keeps the first error: it is the one the admin should fix first.
  void Fail(Reason reason, const std::string& message) {
    if (row_.error.ok()) {
      row_.error =
          MakeError(absl::StatusCode::kInvalidArgument, reason, message);
    }
  }

  CsvRow& row_;
  const CsvLimits& limits_;
  std::string* current_ = nullptr;  // Null past max_fields.
  size_t number_ = 0;
  size_t stored_ = 0;
  bool truncated_ = false;
};

}  // namespace internal

CsvReader::CsvReader(std::istream& in, CsvLimits limits)
    : in_(in), limits_(limits) {}

size_t CsvReader::ReadSome(char* dst, size_t size) {
  std::streamsize got = 0;
  bool failed = in_.fail();  // Unreadable from the start (e.g. not opened).
  if (!failed) {
    try {
      // Take what the stream has ready; wait for more only when it has none,
      // so a slow source still gives records as they come.
      got = in_.readsome(dst, static_cast<std::streamsize>(size));
      if (got == 0 && in_.good()) {
        in_.read(dst, static_cast<std::streamsize>(size));
        got = in_.gcount();
      }
    } catch (...) {
      // Thrown because of the stream's exception mask; its state says what
      // happened. No exception leaves entitle.
      got = in_.gcount();
    }
    if (in_.bad()) {
      failed = true;
    } else if (in_.eof()) {
      eof_ = true;
    } else if (got == 0) {
      failed = true;
    }
  }
  if (failed) {
    status_ = MakeError(absl::StatusCode::kDataLoss, Reason::kMalformedCsv,
                        absl::StrCat("reading the input failed after ",
                                     base_ + end_, " bytes"));
    return 0;
  }
  return static_cast<size_t>(got);
}

bool CsvReader::Fill(size_t want) {
  while (end_ - pos_ < want) {
    if (eof_ || !status_.ok()) return false;
    // ReadRecord keeps what is held within max_record_bytes.
    const size_t keep_from =
        resume_ >= 0 ? static_cast<size_t>(resume_ - base_) : pos_;
    if (buf_.size() - end_ < kChunkBytes) {
      // Move what is still needed to the front; grow only if that is not room
      // enough, so the buffer stays about one chunk plus what is held.
      if (keep_from > 0) {
        std::memmove(buf_.data(), buf_.data() + keep_from, end_ - keep_from);
        end_ -= keep_from;
        pos_ -= keep_from;
        base_ += static_cast<int64_t>(keep_from);
      }
      if (buf_.size() - end_ < kChunkBytes) buf_.resize(end_ + kChunkBytes);
    }
    end_ += ReadSome(buf_.data() + end_, buf_.size() - end_);
  }
  return true;
}

void CsvReader::SkipPastLineEnd() {
  for (;;) {
    if (pos_ == end_ && !Fill(1)) return;
    const void* lf = std::memchr(buf_.data() + pos_, '\n', end_ - pos_);
    if (lf != nullptr) {
      pos_ =
          static_cast<size_t>(static_cast<const char*>(lf) - buf_.data()) + 1;
      ++line_;
      return;
    }
    pos_ = end_;
  }
}

void CsvReader::Recover(CsvRow& row, internal::CsvFields& fields,
                        std::string_view what) {
  std::string message =
      absl::StrCat(Where(row, fields.number()), ": ", AbslView(what));
  if (line_ != row.line) absl::StrAppend(&message, " (on line ", line_, ")");
  if (resume_ >= 0) {
    // The quotes cannot be trusted: read the record's second line again.
    pos_ = static_cast<size_t>(resume_ - base_);
    line_ = row.line + 1;
    resume_ = -1;
  } else {
    SkipPastLineEnd();
  }
  if (Fill(1)) absl::StrAppend(&message, "; reading goes on at line ", line_);
  fields.Finish();
  // A quote error outranks an earlier limit or UTF-8 error: it changes where
  // reading goes on.
  row.error = MakeError(absl::StatusCode::kInvalidArgument,
                        Reason::kMalformedCsv, message);
}

bool CsvReader::Next(CsvRow& row) {
  if (!status_.ok()) return false;
  if (!started_) {
    started_ = true;
    Fill(kByteOrderMark.size());
    if (!status_.ok()) return false;
    if (std::string_view(buf_.data() + pos_, end_ - pos_)
            .starts_with(kByteOrderMark)) {
      pos_ += kByteOrderMark.size();
    }
  }
  // Empty lines are not records.
  for (;;) {
    if (!Fill(1)) return false;
    const char c = buf_[pos_];
    if (c == '\n') {
      ++pos_;
      ++line_;
      continue;
    }
    if (c == '\r') {
      if (Fill(2) && buf_[pos_ + 1] == '\n') {
        pos_ += 2;
        ++line_;
        continue;
      }
      if (!status_.ok()) return false;
    }
    break;
  }
  return ReadRecord(row);
}

bool CsvReader::ReadRecord(CsvRow& row) {
  row.number = ++records_;
  row.line = line_;
  resume_ = -1;
  internal::CsvFields fields(row, limits_);
  fields.Begin();

  enum class State {
    kFieldStart,
    kUnquoted,
    kQuoted,
    kClosed,  // Just after a quote inside a quoted field.
  };
  State state = State::kFieldStart;

  // Where a scan must stop: the end of the buffer, or the first byte past
  // max_record_bytes after the record's first line (so that the record is cut
  // at the same byte however the input arrives).
  auto scan_end = [&]() -> size_t {
    if (resume_ < 0) return end_;
    const int64_t limit =
        resume_ - base_ + static_cast<int64_t>(limits_.max_record_bytes) + 1;
    return limit < static_cast<int64_t>(end_) ? static_cast<size_t>(limit)
                                              : end_;
  };

  // Ends the record at a line end of `length` bytes at pos_.
  auto end_record = [&](size_t length) {
    pos_ += length;
    ++line_;
    fields.End();
    fields.Finish();
    return true;
  };

  for (;;) {
    // Only quoted fields span lines, so a record that runs on this long past
    // its first line is most likely a quote left open: it ends here, and
    // reading goes back to its second line like after any quote error.
    if (resume_ >= 0 && base_ + static_cast<int64_t>(pos_) - resume_ >
                            static_cast<int64_t>(limits_.max_record_bytes)) {
      Recover(row, fields,
              absl::StrCat("the record runs on for more than ",
                           limits_.max_record_bytes,
                           " bytes after its first line (is a quote left "
                           "open?)"));
      return true;
    }
    if (pos_ == end_ && !Fill(1)) {
      if (!status_.ok()) return false;
      if (state == State::kQuoted) {
        Recover(row, fields,
                "the quoted field is not closed before the end of the input");
        return true;
      }
      fields.End();
      fields.Finish();
      return true;
    }
    switch (state) {
      case State::kFieldStart:
        if (buf_[pos_] == '"') {
          ++pos_;
          state = State::kQuoted;
        } else {
          state = State::kUnquoted;
        }
        break;

      case State::kUnquoted: {
        const size_t start = pos_;
        const size_t stop = scan_end();
        while (pos_ < stop &&
               !kUnquotedStops[static_cast<unsigned char>(buf_[pos_])]) {
          ++pos_;
        }
        fields.Append(buf_.data() + start, pos_ - start);
        if (pos_ == stop) break;
        const char c = buf_[pos_];
        if (c == ',') {
          ++pos_;
          fields.End();
          fields.Begin();
          state = State::kFieldStart;
        } else if (c == '\n') {
          return end_record(1);
        } else if (c == '"') {
          Recover(row, fields,
                  "a double quote inside a field that does not begin with one "
                  "(quote the whole field and double the quote)");
          return true;
        } else if (Fill(2) && buf_[pos_ + 1] == '\n') {  // c is CR.
          return end_record(2);
        } else {
          if (!status_.ok()) return false;
          fields.Append("\r", 1);  // A lone CR is data.
          ++pos_;
        }
        break;
      }

      case State::kQuoted: {
        const size_t start = pos_;
        const size_t stop = scan_end();
        while (pos_ < stop && buf_[pos_] != '"' && buf_[pos_] != '\n') ++pos_;
        fields.Append(buf_.data() + start, pos_ - start);
        if (pos_ == stop) break;
        if (buf_[pos_] == '\n') {
          fields.Append("\n", 1);
          ++pos_;
          ++line_;
          if (resume_ < 0) resume_ = base_ + static_cast<int64_t>(pos_);
        } else {
          ++pos_;
          state = State::kClosed;
        }
        break;
      }

      case State::kClosed: {
        const char c = buf_[pos_];
        if (c == '"') {
          fields.Append("\"", 1);
          ++pos_;
          state = State::kQuoted;
          break;
        }
        if (c == ',') {
          ++pos_;
          fields.End();
          fields.Begin();
          state = State::kFieldStart;
          break;
        }
        if (c == '\n') return end_record(1);
        if (c == '\r') {
          if (Fill(2) && buf_[pos_ + 1] == '\n') return end_record(2);
          if (!status_.ok()) return false;
        }
        Recover(row, fields,
                "a closing quote must be followed by a comma or the end of the "
                "line");
        return true;
      }
    }
  }
}

void AppendCsvField(std::string& out, std::string_view field) {
  bool quote = false;
  if (!field.empty()) {
    const char first = field.front();
    const char last = field.back();
    quote = first == ' ' || first == '\t' || last == ' ' || last == '\t' ||
            // Else a first field of a first record would lose it on reading.
            field.starts_with(kByteOrderMark) ||
            field.find_first_of(",\"\r\n") != std::string_view::npos;
  }
  if (!quote) {
    out.append(field.data(), field.size());
    return;
  }
  out.reserve(out.size() + field.size() + 2);
  out.push_back('"');
  for (;;) {
    const size_t q = field.find('"');
    if (q == std::string_view::npos) {
      out.append(field.data(), field.size());
      break;
    }
    out.append(field.data(), q + 1);
    out.push_back('"');
    field.remove_prefix(q + 1);
  }
  out.push_back('"');
}

namespace {

template <typename AppendField>
void AppendRecord(std::string& out, absl::Span<const std::string> fields,
                  AppendField append_field) {
  if (fields.empty()) return;
  if (fields.size() == 1 && fields[0].empty()) {
    out.append("\"\"");
  } else {
    for (size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) out.push_back(',');
      append_field(out, fields[i]);
    }
  }
  out.append("\r\n");
}

}  // namespace

void AppendCsvRecord(std::string& out, absl::Span<const std::string> fields) {
  AppendRecord(out, fields, AppendCsvField);
}

bool CsvCellNeedsGuard(std::string_view cell) {
  if (cell.empty()) return false;
  switch (cell.front()) {
    case '=':
    case '+':
    case '-':
    case '@':
    case '\t':
    case '\r':
    case '\'':
      return true;
    default:
      return false;
  }
}

void AppendGuardedCsvField(std::string& out, std::string_view cell) {
  if (!CsvCellNeedsGuard(cell)) {
    AppendCsvField(out, cell);
    return;
  }
  std::string guarded;
  guarded.reserve(cell.size() + 1);
  guarded.push_back('\'');
  guarded.append(cell.data(), cell.size());
  AppendCsvField(out, guarded);
}

void AppendGuardedCsvRecord(std::string& out,
                            absl::Span<const std::string> fields) {
  AppendRecord(out, fields, AppendGuardedCsvField);
}

std::string_view UnguardCsvCell(std::string_view cell) {
  if (!cell.empty() && cell.front() == '\'') cell.remove_prefix(1);
  return cell;
}

}  // namespace entitle
