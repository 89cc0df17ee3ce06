// core/text.h: small string helpers the daemon's files share (ASCII case, trimming,
// cutting UTF-8 text, making mail text safe for a terminal).
//
// Security: every string that came in a mail (subject, names, file names, bodies) is
// attacker-chosen. Text output to a terminal goes through printable(): an ESC, a C1 control
// (U+009B is CSI on many terminals) or a bidi override could otherwise move the cursor,
// rewrite what the operator sees, set the window title, or show "moc.elpmaxe" as
// "example.com". Text is cut with utf8_prefix(), never at a raw byte count: half a UTF-8
// sequence in the store made `show --json` fail for that ticket for good.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

namespace sd {

// Mail addresses and keywords compare in ASCII lower case.
inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

inline std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// The longest prefix of `s` of at most `max_bytes` bytes that does not end inside a UTF-8
// sequence. Only the cut point is looked at: invalid bytes elsewhere stay as they are.
inline std::string utf8_prefix(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  std::size_t cut = max_bytes;
  // s[cut] is the first byte left out; while it continues a sequence, that sequence started
  // before the cut and is left out whole. A sequence has at most 3 continuation bytes:
  // more in a row are not UTF-8 anyway, and the cut stays where it was asked for.
  for (std::size_t back = 0; back < 4; ++back) {
    if ((static_cast<unsigned char>(s[cut]) & 0xC0) != 0x80) return std::string(s.substr(0, cut));
    if (cut == 0) break;
    --cut;
  }
  return std::string(s.substr(0, max_bytes));
}

namespace text_detail {

// Decodes one UTF-8 character at s[i]: its code point and length, or length 0 when the
// bytes there are not well-formed UTF-8 (overlong, surrogate, above U+10FFFF, cut short).
struct Utf8Char {
  char32_t cp = 0;
  std::size_t len = 0;
};

inline Utf8Char decode_utf8(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c = b(0);
  if (c < 0x80) return {c, 1};
  std::size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (len == 0 || i + len > s.size()) return {};
  char32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (std::size_t k = 1; k < len; ++k) {
    if ((b(k) & 0xC0) != 0x80) return {};
    cp = cp << 6 | (b(k) & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
    return {};
  return {cp, len};
}

}  // namespace text_detail

// Whether `s` is well-formed UTF-8 throughout.
inline bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    auto ch = text_detail::decode_utf8(s, i);
    if (ch.len == 0) return false;
    i += ch.len;
  }
  return true;
}

// A character a terminal may act on rather than show: C0 and C1 controls, DEL, and the
// characters that reorder or break lines behind the reader's back (bidi embeddings,
// overrides, isolates and marks; the Unicode line and paragraph separators).
inline bool is_terminal_control(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

// `s` made safe to print to a terminal: each control character (is_terminal_control)
// becomes one space, so columns and words stay apart and what follows an ESC shows as
// harmless text; each byte that is not UTF-8 becomes U+FFFD (a terminal in a legacy
// charset could take 0x9B as CSI). With `keep_newlines` (bodies) LF and tab stay, and a CR
// before an LF is dropped; a lone CR still becomes a space (it would let the rest of the
// line overwrite what came before it).
inline std::string printable(std::string_view s, bool keep_newlines = false) {
  static constexpr std::string_view replacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    auto ch = text_detail::decode_utf8(s, i);
    if (ch.len == 0) {
      out += replacement;
      ++i;
      continue;
    }
    char32_t cp = ch.cp;
    if (!is_terminal_control(cp)) {
      out.append(s.substr(i, ch.len));
    } else if (keep_newlines && (cp == '\n' || cp == '\t')) {
      out += static_cast<char>(cp);
    } else if (keep_newlines && cp == '\r' && i + 1 < s.size() && s[i + 1] == '\n') {
      // dropped: the LF that follows ends the line
    } else {
      out += ' ';
    }
    i += ch.len;
  }
  return out;
}

}  // namespace sd
