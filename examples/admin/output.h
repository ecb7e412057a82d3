// What entitle-admin prints: aligned tables and lines for people, or one JSON
// document per command (--json).
//
// A command describes its results once, as `Table`s, `Fields` and sentences,
// and `Output` renders them in the chosen format. In JSON mode nothing is
// printed until `Finish()`, except for long row streams (`BeginRows`), which
// are written as they come so that a 100,000-row import needs no memory for
// its report.
//
// SEC-13: nothing printed from the store or an input file can drive the
// terminal. Every path that prints (tables, records, sentences, mail lines,
// streamed rows, error lines, JSON documents, the CSV export on stdout) passes
// the text through `Escape`, so a name holding ESC [2J, an OSC 8 hyperlink, a
// bell, a carriage return or a right-to-left override shows as `\x1b[2J`,
// `\x07`, `\r` or `\u202e` instead of acting. The data itself is never
// changed: only its printed form.
//
// Not thread-safe: one `Output` per command, used from one thread.
#ifndef ENTITLE_EXAMPLES_ADMIN_OUTPUT_H_
#define ENTITLE_EXAMPLES_ADMIN_OUTPUT_H_

#include <cstdint>
#include <cstdio>
#include <optional>
#include <streambuf>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "entitle/notifier.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

// Debian's Abseil has its own string_view (status messages are one): let fmt
// print it like any string.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  template <typename FormatContext>
  auto format(absl::string_view text, FormatContext& ctx) const {
    return fmt::formatter<fmt::string_view>::format(
        fmt::string_view(text.data(), text.size()), ctx);
  }
};

namespace entitle_admin {

using Json = nlohmann::ordered_json;

// How `Escape` writes what it escapes.
enum class Escaping {
  // For people: \t, \n and \r; \x1b for the other C0 controls, DEL and
  // each byte that is not UTF-8; \u202e for the characters above U+007F.
  kText,
  // Inside a serialized JSON document: \u001b and \u202e, which a JSON
  // parser reads back as the same characters. The document's own line breaks
  // are kept (nlohmann writes every newline inside a string as \n already),
  // and a byte that is not UTF-8 becomes \ufffd.
  kJson,
};

// SEC-13: `text` with every character a terminal could act on shown
// escaped: the C0 controls (NUL to U+001F: ESC, BEL, BS, CR, LF, TAB, ...),
// DEL, the C1 controls U+0080 to U+009F, the bidirectional formatting
// characters that reorder what the reader sees (U+061C, U+200E, U+200F,
// U+202A to U+202E, U+2066 to U+2069), the line and paragraph separators
// U+2028 and U+2029, and every byte that is not part of well-formed UTF-8
// (a lone 0x9B is CSI to some terminals; overlong forms and surrogates count
// as not UTF-8). Everything else is kept as it is, backslashes included, so
// ordinary names, addresses and messages print unchanged. The one escaping
// function of the tool: every print path of `Output` uses it.
std::string Escape(std::string_view text, Escaping escaping = Escaping::kText);

// A stream buffer that prints on `out` what is written to it, line by line
// through `Escape`, each line keeping its own end ("\n" or "\r\n", so a CSV
// document stays one); a carriage return anywhere else is escaped. For a
// document printed as it is made (the CSV export on stdout). Finish() (or the
// destructor) prints a last line that has no end.
class EscapingBuffer final : public std::streambuf {
 public:
  explicit EscapingBuffer(std::FILE* out) : out_(out) {}
  ~EscapingBuffer() override { Finish(); }
  EscapingBuffer(const EscapingBuffer&) = delete;
  EscapingBuffer& operator=(const EscapingBuffer&) = delete;

  void Finish();
  // How many lines printed so far had something escaped.
  int64_t escaped_lines() const { return escaped_lines_; }

 protected:
  int_type overflow(int_type c) override;
  std::streamsize xsputn(const char* s, std::streamsize n) override;
  int sync() override;

 private:
  void PrintLine();

  std::FILE* out_;
  std::string line_;
  int64_t escaped_lines_ = 0;
};

// Times: "2026-01-01 09:30 UTC" in tables, RFC 3339 ("2026-01-01T09:30:00Z")
// in JSON.
std::string TableTime(absl::Time t);
std::string JsonTime(absl::Time t);
// Accepts YYYY-MM-DD (midnight UTC) and RFC 3339.
absl::StatusOr<absl::Time> ParseDate(std::string_view text);
// Accepts "90m", "24h", "7d" and Abseil's duration syntax ("1h30m").
absl::StatusOr<absl::Duration> ParseWindow(std::string_view text);

// One value of a table or record: its text for people and its JSON value.
struct Cell {
  std::string text;
  Json json;
};
Cell Text(std::string text);  // Empty prints "-" and is "" in JSON.
Cell Number(int64_t value);
Cell YesNo(bool value);
Cell When(absl::Time t);
Cell When(const std::optional<absl::Time>& t);     // Unset: "-" / null.
Cell List(const std::vector<std::string>& items);  // "a, b" / ["a","b"]

// Rows under named columns. In JSON an array of objects keyed by column name;
// in text the names upper-cased as headings ("last_login" -> "LAST LOGIN").
class Table {
 public:
  explicit Table(std::vector<std::string> columns)
      : columns_(std::move(columns)) {}
  // `row` has one cell per column.
  void Add(std::vector<Cell> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  size_t size() const { return rows_.size(); }

  Json ToJson() const;
  // Aligned columns, each line prefixed by `indent`; "(none)" when empty.
  // Headings and cells are escaped (see Escape).
  std::string ToText(std::string_view indent) const;

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<Cell>> rows_;
};

// One record as "name: value" lines, or a JSON object.
using Fields = std::vector<std::pair<std::string, Cell>>;

// A column of a streamed table: its name and the text width it is padded to.
struct StreamColumn {
  std::string name;
  int width = 0;  // 0: not padded (the last column).
};

class Output {
 public:
  Output(bool json, std::FILE* out = stdout, std::FILE* err = stderr)
      : json_(json), out_(out), err_(err) {}

  bool json() const { return json_; }
  // Every text line is prefixed by this many spaces (the demo's results).
  void set_indent(int spaces) {
    indent_.assign(static_cast<size_t>(spaces), ' ');
  }

  // A sentence for people; in JSON it is kept under "messages".
  void Say(std::string_view line);
  // A value of the JSON document; nothing is printed in text mode.
  void Put(const std::string& key, Json value);
  // A table or a record: printed at once, or stored under `key`.
  void Print(const std::string& key, const Table& table);
  void Print(const std::string& key, const Fields& fields);
  // Where text mode prints (stdout), for a document streamed through an
  // EscapingBuffer.
  std::FILE* file() const { return out_; }

  // A message the tool's notifier sent: `mail to <addr>: <template>
  // "<subject>"`, and its link on the next line only with `show_link`.
  void Mail(const entitle::Notification& notification, bool show_link);

  // Rows that are printed as they come: a header now, one line per Row (text
  // padded to the column widths), or a JSON array under `key` written
  // incrementally. Between BeginRows and EndRows use only Row.
  void BeginRows(const std::string& key, std::vector<StreamColumn> columns);
  void Row(const std::vector<Cell>& cells);
  void EndRows();

  // A failure: one line `entitle-admin: <message> (reason: <reason>)` on
  // stderr, and "error" in the JSON document.
  void Error(std::string_view message, std::string_view reason);
  // A remark beside the results: `entitle-admin: <line>` on stderr; in JSON
  // it is kept under "notes".
  void Note(std::string_view line);

  // Ends the command: in JSON mode writes the document.
  void Finish();

 private:
  Json& Doc() { return streamed_ ? tail_ : doc_; }
  void Line(std::string_view text);

  bool json_;
  std::FILE* out_;
  std::FILE* err_;
  std::string indent_;
  Json doc_ = Json::object();
  // Once rows were streamed, the document's opening is written; what comes
  // after goes here and is written by Finish.
  Json tail_ = Json::object();
  bool streamed_ = false;
  bool first_row_ = true;
  std::vector<StreamColumn> stream_columns_;
};

// The tool's notifier: entitle-admin has no mail server, so each message is
// printed (see Output::Mail). Links are live credentials and are printed
// only when `show_links` is set. With `keep`, each message is also handed to
// it (the demo reads its links from there).
class PrintingNotifier final : public entitle::Notifier {
 public:
  PrintingNotifier(Output& out, bool show_links,
                   entitle::Notifier* keep = nullptr)
      : out_(out), show_links_(show_links), keep_(keep) {}
  void Send(const entitle::Notification& notification) override {
    out_.Mail(notification, show_links_);
    if (keep_ != nullptr) keep_->Send(notification);
  }

 private:
  Output& out_;
  bool show_links_;
  entitle::Notifier* keep_;
};

}  // namespace entitle_admin

#endif  // ENTITLE_EXAMPLES_ADMIN_OUTPUT_H_
