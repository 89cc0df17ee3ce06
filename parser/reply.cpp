// parser/reply.cpp: the new part of a reply, without quoted history and signature.
//
// Markers recognised (English, Swedish, Danish, as the service desk's requesters write):
//   "On <date>, <name> wrote:"            (also wrapped over two lines, as Gmail does)
//   "Den <date> skrev <name>:"            (Swedish and Danish clients)
//   Outlook header blocks: a line "From:/Fra:/Från:" followed within a few lines by
//   "Sent:/Sendt:/Skickat:/Date:/Dato:/Datum:/To:/Til:/Till:/Subject:/Emne:/Ämne:"
//   "-----Original Message-----", "-----Ursprungligt meddelande-----",
//   "-----Oprindelig meddelelse-----" (any number of dashes, any case)
//   "-- " (RFC 3676 signature separator), lines starting with '>'.
// Everything from the first marker on is history; '>' lines before it are dropped too. A
// bottom-posted reply (nothing but quotes above the marker) keeps the unquoted lines below.
#include <string>

#include "parser/internal.h"
#include "parser/parse.h"

namespace sd::parser {
namespace {

using detail::istarts_with;
using detail::trim;

bool ends_with_colon(std::string_view s) { return !s.empty() && s.back() == ':'; }

bool icontains(std::string_view s, std::string_view needle) {
  if (needle.size() > s.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= s.size(); ++i) {
    if (detail::iequals(s.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

bool is_attribution(std::string_view line, std::string_view next) {
  // Long lines are text, not an attribution; this also bounds icontains().
  if (line.size() > 400) return false;
  if (istarts_with(line, "On ")) {
    if (ends_with_colon(line) && icontains(line, "wrote")) return true;
    // Gmail wraps: "On Tue, 5 Mar 2024 at 10:15, Name <a@b>\nwrote:"
    return next.size() < 40 && istarts_with(trim(next), "wrote") && ends_with_colon(trim(next));
  }
  if (istarts_with(line, "Den ")) {
    if (ends_with_colon(line) && icontains(line, "skrev")) return true;
    return next.size() < 40 && icontains(next, "skrev") && ends_with_colon(trim(next));
  }
  return false;
}

bool is_separator(std::string_view line) {
  if (line.size() > 80) return false;
  std::string_view s = line;
  while (!s.empty() && s.front() == '-') s.remove_prefix(1);
  while (!s.empty() && s.back() == '-') s.remove_suffix(1);
  if (s.size() + 4 > line.size()) return false;  // needs dashes around it
  s = trim(s);
  return detail::iequals(s, "Original Message") || detail::iequals(s, "Ursprungligt meddelande") ||
         detail::iequals(s, "Oprindelig meddelelse") || detail::iequals(s, "Forwarded message");
}

bool starts_with_any(std::string_view line, std::initializer_list<std::string_view> words) {
  for (const std::string_view w : words) {
    if (istarts_with(line, w)) return true;
  }
  return false;
}

// Strip '*' that HTML-to-text or Outlook's plain text puts around bold labels.
std::string_view unbold(std::string_view s) {
  while (!s.empty() && s.front() == '*') s.remove_prefix(1);
  return s;
}

struct Line {
  std::string_view text;  // without the line break
  std::size_t next;       // where the next line starts (text.size() at the end)
};

// The line starting at `pos`. Callers walk the text by `next`: no vector of lines, so
// memory stays O(1) however many lines there are.
Line line_at(std::string_view text, std::size_t pos) {
  std::size_t nl = text.find('\n', pos);
  const std::size_t next = nl == std::string_view::npos ? text.size() : nl + 1;
  if (nl == std::string_view::npos) nl = text.size();
  std::string_view line = text.substr(pos, nl - pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return Line{line, next};
}

bool is_header_block(std::string_view text, const Line& first_line) {
  const std::string_view first = unbold(trim(first_line.text));
  if (!starts_with_any(first, {"From:", "Fra:", "Fr\xC3\xA5n:", "Fr\xC3\xA5n :", "From :"})) return false;
  std::size_t pos = first_line.next;
  for (int k = 0; k < 5 && pos < text.size(); ++k) {
    const Line l = line_at(text, pos);
    const std::string_view t = unbold(trim(l.text));
    if (starts_with_any(t, {"Sent:", "Sendt:", "Skickat:", "Date:", "Dato:", "Datum:", "To:", "Til:",
                            "Till:", "Subject:", "Emne:", "\xC3\x84mne:", "Cc:"})) {
      return true;
    }
    pos = l.next;
  }
  return false;
}

bool is_quote(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  return i < line.size() && line[i] == '>';
}

bool is_signature(std::string_view line) { return line == "-- " || line == "--"; }

bool blank_or_rule(std::string_view line) {
  const std::string_view t = trim(line);
  return t.empty() || t.find_first_not_of('_') == std::string_view::npos;
}

}  // namespace

std::string reply_new_part(std::string_view text) {
  std::size_t cut = text.size();  // where the history starts
  std::size_t cut_line_next = text.size();
  bool found = false;
  bool cut_is_signature = false;
  bool cut_wrapped_attribution = false;
  bool cut_header_block = false;
  std::size_t run_start = 0;  // first of the blank or "____" lines just above this one
  bool in_run = false;
  for (std::size_t pos = 0; pos < text.size();) {
    const Line line = line_at(text, pos);
    const std::string_view t = trim(line.text);
    if (is_signature(line.text)) {
      cut = pos;
      cut_line_next = line.next;
      found = cut_is_signature = true;
      break;
    }
    const std::string_view next = line.next < text.size() ? line_at(text, line.next).text : std::string_view{};
    const bool attribution = is_attribution(t, next);
    const bool header_block = !attribution && is_header_block(text, line);
    if (attribution || header_block || is_separator(t)) {
      cut = in_run ? run_start : pos;
      cut_line_next = line.next;
      cut_wrapped_attribution = attribution && !ends_with_colon(t);
      cut_header_block = header_block;
      found = true;
      break;
    }
    if (blank_or_rule(line.text)) {
      if (!in_run) run_start = pos;
      in_run = true;
    } else {
      in_run = false;
    }
    pos = line.next;
  }
  const auto collect = [&](std::size_t from, std::size_t to) {
    std::string out;
    for (std::size_t pos = from; pos < to;) {
      const Line line = line_at(text, pos);
      if (pos > from && is_signature(line.text)) break;
      if (!is_quote(line.text)) {
        out.append(line.text);
        out.push_back('\n');
      }
      pos = line.next;
    }
    return out;
  };
  std::string out = collect(0, cut);
  if (found && !cut_is_signature && trim(out).empty()) {
    // Bottom-posting: the reply is below the quoted history.
    std::size_t from = cut_line_next;
    if (cut_wrapped_attribution && from < text.size()) from = line_at(text, from).next;  // "wrote:"
    while (cut_header_block && from < text.size()) {  // the rest of an Outlook header block
      const Line l = line_at(text, from);
      from = l.next;
      if (trim(l.text).empty()) break;
    }
    out = collect(from, text.size());
  }
  // Trim in place: blank lines and white space at both ends, one final line break.
  const std::string_view t = trim(out);
  const std::size_t begin = t.empty() ? 0 : static_cast<std::size_t>(t.data() - out.data());
  out.erase(begin + t.size());
  out.erase(0, begin);
  if (!out.empty()) out.push_back('\n');
  return out;
}

}  // namespace sd::parser
