// What entitle-admin prints: aligned tables and lines for people, or one JSON
// document per command (--json).
//
// A command describes its results once, as `Table`s, `Fields` and sentences,
// and `Output` renders them in the chosen format. In JSON mode nothing is
// printed until `Finish()`, except for long row streams (`BeginRows`), which
// are written as they come so that a 100,000-row import needs no memory for
// its report.
//
// Not thread-safe: one `Output` per command, used from one thread.
#ifndef ENTITLE_EXAMPLES_ADMIN_OUTPUT_H_
#define ENTITLE_EXAMPLES_ADMIN_OUTPUT_H_

#include <cstdint>
#include <cstdio>
#include <optional>
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
  // Text printed as is in text mode (a CSV file, say); ignored in JSON.
  void Raw(std::string_view text);

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
