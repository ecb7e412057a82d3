#include "output.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "entitle/status.h"
#include "fmt/core.h"

namespace entitle_admin {
namespace {

// Characters, not bytes, so that names like "Åsa" keep the columns aligned.
size_t Width(std::string_view text) {
  size_t width = 0;
  for (unsigned char c : text) width += (c & 0xC0) != 0x80;
  return width;
}

void Pad(std::string& line, std::string_view text, size_t width) {
  line += text;
  for (size_t w = Width(text); w < width; ++w) line += ' ';
}

std::string Heading(std::string name) {
  std::replace(name.begin(), name.end(), '_', ' ');
  return absl::AsciiStrToUpper(name);
}

// Invalid UTF-8 (an imported file may hold any bytes) is replaced, not
// thrown on.
std::string Dump(const Json& value, int indent = -1) {
  return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

absl::Status BadInput(std::string message) {
  return entitle::MakeError(absl::StatusCode::kInvalidArgument,
                            entitle::Reason::kInvalidArgument, message);
}

}  // namespace

std::string TableTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", t, absl::UTCTimeZone());
}

std::string JsonTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseDate(std::string_view text) {
  const std::string input(text);
  absl::Time t;
  std::string error;
  if (absl::ParseTime("%Y-%m-%d", input, absl::UTCTimeZone(), &t, &error) ||
      absl::ParseTime(absl::RFC3339_full, input, absl::UTCTimeZone(), &t,
                      &error)) {
    return t;
  }
  return BadInput(
      fmt::format("'{}' is not a date (use YYYY-MM-DD or RFC 3339, e.g. "
                  "2026-01-31T12:00:00Z)",
                  text));
}

absl::StatusOr<absl::Duration> ParseWindow(std::string_view text) {
  absl::Duration d;
  int64_t days = 0;
  if (text.size() > 1 && text.back() == 'd' &&
      absl::SimpleAtoi(absl::string_view(text.data(), text.size() - 1),
                       &days) &&
      days > 0) {
    return absl::Hours(24 * days);
  }
  if (absl::ParseDuration(std::string(text), &d) && d > absl::ZeroDuration()) {
    return d;
  }
  return BadInput(
      fmt::format("'{}' is not a time window (use e.g. 90m, 24h or 7d)", text));
}

Cell Text(std::string text) {
  Cell cell{text.empty() ? "-" : text, Json(text)};
  return cell;
}
Cell Number(int64_t value) { return Cell{std::to_string(value), Json(value)}; }
Cell YesNo(bool value) { return Cell{value ? "yes" : "no", Json(value)}; }
Cell When(absl::Time t) { return Cell{TableTime(t), Json(JsonTime(t))}; }
Cell When(const std::optional<absl::Time>& t) {
  if (!t.has_value()) return Cell{"-", Json(nullptr)};
  return When(*t);
}
Cell List(const std::vector<std::string>& items) {
  std::string text = absl::StrJoin(items, ", ");
  return Cell{text.empty() ? "-" : text, Json(items)};
}

Json Table::ToJson() const {
  Json rows = Json::array();
  for (const std::vector<Cell>& row : rows_) {
    Json object = Json::object();
    for (size_t i = 0; i < columns_.size() && i < row.size(); ++i) {
      object[columns_[i]] = row[i].json;
    }
    rows.push_back(std::move(object));
  }
  return rows;
}

std::string Table::ToText(std::string_view indent) const {
  if (rows_.empty()) return fmt::format("{}(none)\n", indent);
  std::vector<std::string> headings;
  std::vector<size_t> widths;
  for (const std::string& column : columns_) {
    headings.push_back(Heading(column));
    widths.push_back(Width(headings.back()));
  }
  for (const std::vector<Cell>& row : rows_) {
    for (size_t i = 0; i < widths.size() && i < row.size(); ++i) {
      widths[i] = std::max(widths[i], Width(row[i].text));
    }
  }
  std::string text;
  auto add_line = [&](auto cell_text, size_t count) {
    std::string line(indent);
    for (size_t i = 0; i < count; ++i) {
      const bool last = i + 1 == count;
      Pad(line, cell_text(i), last ? 0 : widths[i] + 2);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    text += line;
    text += '\n';
  };
  add_line([&](size_t i) -> std::string_view { return headings[i]; },
           headings.size());
  for (const std::vector<Cell>& row : rows_) {
    add_line([&](size_t i) -> std::string_view { return row[i].text; },
             std::min(row.size(), headings.size()));
  }
  return text;
}

void Output::Line(std::string_view text) {
  fmt::print(out_, "{}{}\n", indent_, text);
}

void Output::Say(std::string_view line) {
  if (!json_) return Line(line);
  Json& messages = Doc()["messages"];
  if (messages.is_null()) messages = Json::array();
  messages.push_back(std::string(line));
}

void Output::Put(const std::string& key, Json value) {
  if (json_) Doc()[key] = std::move(value);
}

void Output::Print(const std::string& key, const Table& table) {
  if (json_) {
    Doc()[key] = table.ToJson();
  } else {
    fmt::print(out_, "{}", table.ToText(indent_));
  }
}

void Output::Print(const std::string& key, const Fields& fields) {
  if (json_) {
    Json object = Json::object();
    for (const auto& [name, cell] : fields) object[name] = cell.json;
    Doc()[key] = std::move(object);
    return;
  }
  size_t width = 0;
  for (const auto& field : fields) width = std::max(width, Width(field.first));
  for (const auto& [key, cell] : fields) {
    std::string name = key;
    std::replace(name.begin(), name.end(), '_', ' ');
    std::string line = name + ":";
    line.append(width + 1 - Width(name), ' ');
    Line(line + cell.text);
  }
}

void Output::Raw(std::string_view text) {
  if (!json_) fmt::print(out_, "{}", text);
}

void Output::Mail(const entitle::Notification& n, bool show_link) {
  if (json_) {
    Json mail = {{"to", n.to.str()},
                 {"template", n.template_name},
                 {"subject", n.subject}};
    if (show_link && !n.token.empty()) mail["link"] = n.token;
    Json& all = Doc()["mail"];
    if (all.is_null()) all = Json::array();
    all.push_back(std::move(mail));
    return;
  }
  Line(fmt::format("mail to {}: {} \"{}\"", n.to.str(), n.template_name,
                   n.subject));
  if (show_link && !n.token.empty()) Line(fmt::format("link: {}", n.token));
}

void Output::BeginRows(const std::string& key,
                       std::vector<StreamColumn> columns) {
  stream_columns_ = std::move(columns);
  first_row_ = true;
  if (json_) {
    // What may still grow moves to the part written at the end.
    for (const char* key : {"messages", "mail"}) {
      if (doc_.contains(key)) {
        tail_[key] = std::move(doc_[key]);
        doc_.erase(key);
      }
    }
    // Write the document so far, leaving it open for the rows.
    std::string head = Dump(doc_);
    head.pop_back();  // The closing brace.
    fmt::print(out_, "{}{}{}:[", head, doc_.empty() ? "" : ",",
               Dump(Json(key)));
    streamed_ = true;
    return;
  }
  std::string line(indent_);
  for (const StreamColumn& column : stream_columns_) {
    Pad(line, Heading(column.name), column.width);
    if (column.width > 0) line += ' ';
  }
  fmt::print(out_, "{}\n", line);
}

void Output::Row(const std::vector<Cell>& cells) {
  if (json_) {
    Json object = Json::object();
    for (size_t i = 0; i < stream_columns_.size() && i < cells.size(); ++i) {
      object[stream_columns_[i].name] = cells[i].json;
    }
    fmt::print(out_, "{}\n{}", first_row_ ? "" : ",", Dump(object));
    first_row_ = false;
    return;
  }
  std::string line(indent_);
  for (size_t i = 0; i < stream_columns_.size() && i < cells.size(); ++i) {
    Pad(line, cells[i].text, stream_columns_[i].width);
    if (stream_columns_[i].width > 0) line += ' ';
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  fmt::print(out_, "{}\n", line);
}

void Output::EndRows() {
  if (json_) fmt::print(out_, "]");
}

void Output::Error(std::string_view message, std::string_view reason) {
  fmt::print(err_, "entitle-admin: {} (reason: {})\n", message, reason);
  std::fflush(err_);
  if (json_) {
    Doc()["error"] = {{"message", std::string(message)},
                      {"reason", std::string(reason)}};
  }
}

void Output::Finish() {
  if (json_) {
    if (streamed_) {
      for (const auto& [key, value] : tail_.items()) {
        fmt::print(out_, ",{}:{}", Dump(Json(key)), Dump(value));
      }
      fmt::print(out_, "}}\n");
    } else {
      fmt::print(out_, "{}\n", Dump(doc_, 2));
    }
  }
  std::fflush(out_);
}

}  // namespace entitle_admin
