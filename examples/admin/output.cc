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

// One character of UTF-8 text: its code point and how many bytes it took;
// `length` 0 when the bytes at the start of `text` are not well-formed UTF-8
// (a stray continuation byte, a sequence cut short, an overlong form, a
// surrogate or a value beyond U+10FFFF).
struct Decoded {
  char32_t code_point = 0;
  size_t length = 0;
};

Decoded DecodeOne(std::string_view text) {
  const auto lead = static_cast<unsigned char>(text[0]);
  if (lead < 0x80) return {lead, 1};
  size_t length = 0;
  char32_t code_point = 0;
  char32_t least = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    code_point = lead & 0x1F;
    least = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    code_point = lead & 0x0F;
    least = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    code_point = lead & 0x07;
    least = 0x10000;
  } else {
    return {};
  }
  if (text.size() < length) return {};
  for (size_t i = 1; i < length; ++i) {
    const auto next = static_cast<unsigned char>(text[i]);
    if ((next & 0xC0) != 0x80) return {};
    code_point = (code_point << 6) | (next & 0x3F);
  }
  if (code_point < least || code_point > 0x10FFFF ||
      (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    return {};
  }
  return {code_point, length};
}

// Whether a terminal may act on `c` instead of showing it (see Escape).
bool DrivesTerminal(char32_t c) {
  return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F) || c == 0x061C ||
         c == 0x200E || c == 0x200F || (c >= 0x2028 && c <= 0x202E) ||
         (c >= 0x2066 && c <= 0x2069);
}

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
// thrown on; what nlohmann leaves raw (DEL, C1 and bidirectional controls) is
// escaped.
std::string Dump(const Json& value, int indent = -1) {
  return Escape(value.dump(indent, ' ', false, Json::error_handler_t::replace),
                Escaping::kJson);
}

absl::Status BadInput(std::string message) {
  return entitle::MakeError(absl::StatusCode::kInvalidArgument,
                            entitle::Reason::kInvalidArgument, message);
}

}  // namespace

std::string Escape(std::string_view text, Escaping escaping) {
  // Most text is printable ASCII and is kept as it is.
  if (std::all_of(text.begin(), text.end(),
                  [](char c) { return c >= 0x20 && c < 0x7F; })) {
    return std::string(text);
  }
  std::string shown;
  shown.reserve(text.size());
  const bool json = escaping == Escaping::kJson;
  size_t i = 0;
  while (i < text.size()) {
    const Decoded one = DecodeOne(text.substr(i));
    if (one.length == 0) {
      const auto byte = static_cast<unsigned char>(text[i]);
      shown += json ? std::string("\\ufffd") : fmt::format("\\x{:02x}", byte);
      ++i;
      continue;
    }
    const char32_t c = one.code_point;
    if (!DrivesTerminal(c) || (json && c == '\n')) {
      shown.append(text.substr(i, one.length));
    } else if (json) {
      shown += fmt::format("\\u{:04x}", static_cast<uint32_t>(c));
    } else if (c == '\t') {
      shown += "\\t";
    } else if (c == '\n') {
      shown += "\\n";
    } else if (c == '\r') {
      shown += "\\r";
    } else if (c < 0x80) {
      shown += fmt::format("\\x{:02x}", static_cast<uint32_t>(c));
    } else {
      shown += fmt::format("\\u{:04x}", static_cast<uint32_t>(c));
    }
    i += one.length;
  }
  return shown;
}

void EscapingBuffer::PrintLine() {
  std::string_view body = line_;
  std::string_view end;
  if (!body.empty() && body.back() == '\n') {
    const bool crlf = body.size() >= 2 && body[body.size() - 2] == '\r';
    end = body.substr(body.size() - (crlf ? 2 : 1));
    body.remove_suffix(end.size());
  }
  const std::string shown = Escape(body);
  if (shown.size() != body.size()) ++escaped_lines_;
  std::fwrite(shown.data(), 1, shown.size(), out_);
  std::fwrite(end.data(), 1, end.size(), out_);
  line_.clear();
}

EscapingBuffer::int_type EscapingBuffer::overflow(int_type c) {
  if (traits_type::eq_int_type(c, traits_type::eof())) {
    return traits_type::not_eof(c);
  }
  line_ += traits_type::to_char_type(c);
  if (line_.back() == '\n') PrintLine();
  return c;
}

std::streamsize EscapingBuffer::xsputn(const char* s, std::streamsize n) {
  std::string_view text(s, static_cast<size_t>(n));
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    const size_t take =
        newline == std::string_view::npos ? text.size() : newline + 1;
    line_.append(text.substr(0, take));
    text.remove_prefix(take);
    if (line_.back() == '\n') PrintLine();
  }
  return n;
}

int EscapingBuffer::sync() {
  std::fflush(out_);
  return 0;
}

void EscapingBuffer::Finish() {
  if (!line_.empty()) PrintLine();
  std::fflush(out_);
}

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
    headings.push_back(Escape(Heading(column)));
    widths.push_back(Width(headings.back()));
  }
  std::vector<std::vector<std::string>> cells;
  cells.reserve(rows_.size());
  for (const std::vector<Cell>& row : rows_) {
    std::vector<std::string>& shown = cells.emplace_back();
    for (size_t i = 0; i < widths.size() && i < row.size(); ++i) {
      shown.push_back(Escape(row[i].text));
      widths[i] = std::max(widths[i], Width(shown.back()));
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
  for (const std::vector<std::string>& row : cells) {
    add_line([&](size_t i) -> std::string_view { return row[i]; }, row.size());
  }
  return text;
}

void Output::Line(std::string_view text) {
  fmt::print(out_, "{}{}\n", indent_, Escape(text));
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
    Line(line + cell.text);  // Line escapes.
  }
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
    for (const char* key : {"messages", "mail", "notes"}) {
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
    Pad(line, Escape(Heading(column.name)), column.width);
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
    Pad(line, Escape(cells[i].text), stream_columns_[i].width);
    if (stream_columns_[i].width > 0) line += ' ';
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  fmt::print(out_, "{}\n", line);
}

void Output::EndRows() {
  if (json_) fmt::print(out_, "]");
}

void Output::Error(std::string_view message, std::string_view reason) {
  fmt::print(err_, "entitle-admin: {} (reason: {})\n", Escape(message),
             Escape(reason));
  std::fflush(err_);
  if (json_) {
    Doc()["error"] = {{"message", std::string(message)},
                      {"reason", std::string(reason)}};
  }
}

void Output::Note(std::string_view line) {
  fmt::print(err_, "entitle-admin: {}\n", Escape(line));
  std::fflush(err_);
  if (json_) {
    Json& notes = Doc()["notes"];
    if (notes.is_null()) notes = Json::array();
    notes.push_back(std::string(line));
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
