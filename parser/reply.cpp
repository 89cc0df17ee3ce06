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
#include <vector>

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

bool is_header_block(const std::vector<std::string_view>& lines, std::size_t i) {
  const std::string_view first = unbold(trim(lines[i]));
  if (!starts_with_any(first, {"From:", "Fra:", "Från:", "Från :", "From :"})) return false;
  for (std::size_t k = i + 1; k < lines.size() && k <= i + 5; ++k) {
    const std::string_view l = unbold(trim(lines[k]));
    if (starts_with_any(l, {"Sent:", "Sendt:", "Skickat:", "Date:", "Dato:", "Datum:", "To:",
                            "Til:", "Till:", "Subject:", "Emne:", "Ämne:", "Cc:"})) {
      return true;
    }
  }
  return false;
}

bool is_quote(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  return i < line.size() && line[i] == '>';
}

}  // namespace

std::string reply_new_part(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    pos = nl + 1;
  }
  std::size_t cut = lines.size();
  bool cut_is_signature = false;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    const std::string_view t = trim(line);
    const std::string_view next = i + 1 < lines.size() ? lines[i + 1] : std::string_view{};
    if (line == "-- " || line == "--") {
      cut = i;
      cut_is_signature = true;
      break;
    }
    if (is_attribution(t, next) || is_separator(t) || is_header_block(lines, i)) {
      cut = i;
      // Outlook puts a line of underscores above its header block.
      while (cut > 0 && (trim(lines[cut - 1]).empty() ||
                         trim(lines[cut - 1]).find_first_not_of('_') == std::string_view::npos)) {
        --cut;
      }
      break;
    }
  }
  const auto collect = [&](std::size_t from, std::size_t to) {
    std::string out;
    for (std::size_t i = from; i < to; ++i) {
      if (is_quote(lines[i])) continue;
      if (i > from && (lines[i] == "-- " || lines[i] == "--")) break;
      out.append(lines[i]);
      out.push_back('\n');
    }
    return out;
  };
  std::string out = collect(0, cut);
  if (trim(out).empty() && !cut_is_signature && cut < lines.size()) {
    // Bottom-posting: the reply is below the quoted history.
    std::size_t from = cut + 1;
    if (from < lines.size() && is_attribution(trim(lines[cut]), lines[from]) &&
        !ends_with_colon(trim(lines[cut]))) {
      ++from;  // the wrapped "wrote:" line
    }
    while (from < lines.size() && is_header_block(lines, cut) &&
           !trim(lines[from]).empty()) {
      ++from;  // the rest of an Outlook header block
    }
    out = collect(from, lines.size());
  }
  const std::string_view t = trim(out);
  std::string result(t);
  if (!result.empty()) result.push_back('\n');
  return result;
}

}  // namespace sd::parser
