// parser/text.cpp: bytes to UTF-8 text. Charset conversion (glibc iconv plus our own
// windows-1252 table), UTF-8 validation and repair, base64, quoted-printable, RFC 2047 "Q",
// RFC 3676 format=flowed.
//
// Diagnostics: decoders count the garbage bytes they skip (DecodeStats); the caller turns
// counts into `problems`. Nothing here throws except std::bad_alloc.
//
// Security: every loop is a single forward pass with explicit bounds checks; charset labels
// are restricted to a short name of [a-z0-9._:+-] before they reach iconv_open, so a label
// can never smuggle iconv suffixes such as "//TRANSLIT" or a megabyte of text into it.
#include <iconv.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "parser/internal.h"
#include "parser/parse.h"

namespace sd::parser {
namespace detail {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

void append_code_point(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not valid.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  const std::size_t n = s.size();
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    return (i + 1 < n && (b(i + 1) & 0xC0) == 0x80) ? 2 : 0;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    if (i + 2 >= n) return 0;
    const unsigned char c1 = b(i + 1);
    if ((c1 & 0xC0) != 0x80 || (b(i + 2) & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && c1 < 0xA0) return 0;   // overlong
    if (c == 0xED && c1 >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (i + 3 >= n) return 0;
    const unsigned char c1 = b(i + 1);
    if ((c1 & 0xC0) != 0x80 || (b(i + 2) & 0xC0) != 0x80 || (b(i + 3) & 0xC0) != 0x80) return 0;
    if (c == 0xF0 && c1 < 0x90) return 0;   // overlong
    if (c == 0xF4 && c1 >= 0x90) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

// windows-1252 0x80..0x9F; the five undefined bytes map to the C1 controls, as WHATWG does.
constexpr std::array<std::uint16_t, 32> kCp1252High = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

struct Alias {
  std::string_view label;
  std::string_view canonical;
};

// Labels mail software writes that iconv does not know, or that mail clients read as a
// superset (the WHATWG encoding standard's choices, which Thunderbird and browsers follow).
constexpr Alias kAliases[] = {
    {"utf-8", "utf-8"},
    {"utf8", "utf-8"},
    {"unicode-1-1-utf-8", "utf-8"},
    {"x-unicode20utf8", "utf-8"},
    {"iso-8859-1", "windows-1252"},
    {"iso8859-1", "windows-1252"},
    {"iso_8859-1", "windows-1252"},
    {"iso_8859-1:1987", "windows-1252"},
    {"iso88591", "windows-1252"},
    {"8859-1", "windows-1252"},
    {"latin1", "windows-1252"},
    {"latin-1", "windows-1252"},
    {"l1", "windows-1252"},
    {"cp819", "windows-1252"},
    {"ibm819", "windows-1252"},
    {"iso-ir-100", "windows-1252"},
    {"csisolatin1", "windows-1252"},
    {"windows-1252", "windows-1252"},
    {"cp1252", "windows-1252"},
    {"x-cp1252", "windows-1252"},
    {"ks_c_5601-1987", "CP949"},
    {"ks_c_5601", "CP949"},
    {"ks_c_5601_1987", "CP949"},
    {"ksc5601", "CP949"},
    {"ksc_5601", "CP949"},
    {"euc-kr", "CP949"},
    {"cseuckr", "CP949"},
    {"korean", "CP949"},
    {"windows-949", "CP949"},
    {"x-windows-949", "CP949"},
    {"gb2312", "GB18030"},
    {"gbk", "GB18030"},
    {"x-gbk", "GB18030"},
    {"cp936", "GB18030"},
    {"euc-cn", "GB18030"},
    {"x-euc-cn", "GB18030"},
    {"csgb2312", "GB18030"},
    {"gb_2312-80", "GB18030"},
    {"shift_jis", "CP932"},
    {"shift-jis", "CP932"},
    {"sjis", "CP932"},
    {"x-sjis", "CP932"},
    {"ms_kanji", "CP932"},
    {"windows-31j", "CP932"},
    {"big5", "BIG5-HKSCS"},
    {"x-x-big5", "BIG5-HKSCS"},
    {"iso-8859-8-i", "ISO-8859-8"},
    {"iso-8859-9", "windows-1254"},
    {"latin5", "windows-1254"},
    {"tis-620", "CP874"},
    {"iso-8859-11", "CP874"},
    {"unicode-1-1-utf-7", "UTF-7"},
    {"x-mac-roman", "MACINTOSH"},
    {"mac", "MACINTOSH"},
    {"macintosh", "MACINTOSH"},
    // Labels that name no charset: treat as missing.
    {"unknown", ""},
    {"unknown-8bit", ""},
    {"x-unknown", ""},
    {"x-user-defined", ""},
    {"default", ""},
    {"charset", ""},
    {"us-ascii", ""},  // see to_utf8: 8-bit text labelled us-ascii is nearly always UTF-8
    {"ascii", ""},
    {"us", ""},
    {"ansi_x3.4-1968", ""},
    {"iso646-us", ""},
    {"csascii", ""},
};

// Convert with iconv; false if iconv does not know `charset`.
bool iconv_to_utf8(std::string_view bytes, const std::string& charset, std::string& out) {
  iconv_t cd = iconv_open("UTF-8", charset.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) return false;
  std::string converted;
  converted.resize(bytes.size() * 2 + 16);
  char* in = const_cast<char*>(bytes.data());  // iconv's signature; it does not write input
  std::size_t in_left = bytes.size();
  std::size_t used = 0;
  while (true) {
    char* outp = converted.data() + used;
    std::size_t out_left = converted.size() - used;
    const std::size_t rc = iconv(cd, in_left ? &in : nullptr, in_left ? &in_left : nullptr,
                                 &outp, &out_left);
    used = converted.size() - out_left;
    if (rc != static_cast<std::size_t>(-1)) {
      if (in_left == 0) break;
      continue;
    }
    if (errno == E2BIG) {
      converted.resize(converted.size() * 2);
      continue;
    }
    // EILSEQ (invalid input) or EINVAL (truncated sequence at the end): one U+FFFD, go on.
    if (converted.size() - used < 4) converted.resize(converted.size() * 2);
    std::memcpy(converted.data() + used, kReplacement, 3);
    used += 3;
    if (errno == EINVAL || in_left <= 1) break;
    ++in;
    --in_left;
    iconv(cd, nullptr, nullptr, nullptr, nullptr);  // reset shift state after garbage
  }
  iconv_close(cd);
  converted.resize(used);
  // iconv writes valid UTF-8, but a NUL in the input survives: repair makes the rule hold.
  append_repaired_utf8(out, converted);
  return true;
}

}  // namespace

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string_view trim(std::string_view s) {
  const auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  std::size_t b = 0, e = s.size();
  while (b < e && ws(s[b])) ++b;
  while (e > b && ws(s[e - 1])) --e;
  return s.substr(b, e - b);
}

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t len = utf8_sequence_length(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

void append_repaired_utf8(std::string& out, std::string_view s) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    // Fast path: a run of ASCII without NUL.
    std::size_t j = i;
    while (j < n && static_cast<unsigned char>(s[j]) < 0x80 && s[j] != '\0') ++j;
    out.append(s.data() + i, j - i);
    i = j;
    if (i >= n) break;
    if (s[i] == '\0') {
      out += kReplacement;
      ++i;
      continue;
    }
    const std::size_t len = utf8_sequence_length(s, i);
    if (len == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(s.data() + i, len);
      i += len;
    }
  }
}

void append_windows1252(std::string& out, std::string_view bytes) {
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == 0) {
      out += kReplacement;
    } else if (c < 0x80) {
      out.push_back(ch);
    } else if (c < 0xA0) {
      append_code_point(out, kCp1252High[c - 0x80]);
    } else {
      append_code_point(out, c);
    }
  }
}

std::string guess_to_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  if (is_valid_utf8(bytes)) {
    append_repaired_utf8(out, bytes);  // only NULs change
  } else {
    append_windows1252(out, bytes);
  }
  return out;
}

std::string canonical_charset(std::string_view label) {
  label = trim(label);
  if (label.size() >= 2 && (label.front() == '"' || label.front() == '\'') &&
      label.back() == label.front()) {
    label = trim(label.substr(1, label.size() - 2));
  }
  if (const auto star = label.find('*'); star != std::string_view::npos) {
    label = label.substr(0, star);  // RFC 2231 language suffix: "utf-8*en"
  }
  if (label.empty() || label.size() > kMaxCharsetLabel) return "";
  std::string lower = ascii_lower(label);
  for (const char c : lower) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                    c == '.' || c == ':' || c == '+';
    if (!ok) return "";
  }
  for (const Alias& a : kAliases) {
    if (lower == a.label) return std::string(a.canonical);
  }
  return lower;
}

std::string decode_base64(std::string_view in, DecodeStats* stats) {
  static constexpr auto kTable = [] {
    std::array<signed char, 256> t{};
    for (auto& v : t) v = -1;
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<signed char>(i);
    return t;
  }();
  std::string out;
  out.reserve(in.size() / 4 * 3 + 3);
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t skipped = 0;
  bool padded = false;  // '=' seen: what follows is not part of the data
  for (const char ch : in) {
    const signed char v = kTable[static_cast<unsigned char>(ch)];
    if (v < 0 || padded) {
      if (ch == '=' && (bits > 0 || padded)) {
        padded = true;
      } else if (ch != '\r' && ch != '\n' && ch != ' ' && ch != '\t' && ch != '=') {
        ++skipped;
      }
      continue;
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (bits >= 6) ++skipped;  // a lone sixth bit group: no whole byte in it
  if (stats) stats->skipped += skipped;
  return out;
}

std::string decode_quoted_printable(std::string_view in, DecodeStats* stats) {
  std::string out;
  out.reserve(in.size());
  const std::size_t n = in.size();
  std::size_t i = 0;
  std::size_t skipped = 0;
  while (i < n) {
    const char c = in[i];
    if (c == '=') {
      if (i + 2 < n && hex_value(in[i + 1]) >= 0 && hex_value(in[i + 2]) >= 0) {
        out.push_back(static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2])));
        i += 3;
        continue;
      }
      std::size_t j = i + 1;
      while (j < n && (in[j] == ' ' || in[j] == '\t')) ++j;
      if (j == n) break;  // soft break at the very end
      if (in[j] == '\n') {
        i = j + 1;
        continue;
      }
      if (in[j] == '\r') {
        i = (j + 1 < n && in[j + 1] == '\n') ? j + 2 : j + 1;
        continue;
      }
      ++skipped;  // a bare '=' that starts no escape: keep it, as mail clients do
      out.push_back('=');
      ++i;
      continue;
    }
    if (c == ' ' || c == '\t') {
      std::size_t j = i;
      while (j < n && (in[j] == ' ' || in[j] == '\t')) ++j;
      const bool at_eol = j == n || in[j] == '\n' || (in[j] == '\r');
      if (!at_eol) out.append(in.data() + i, j - i);  // trailing white space is padding
      i = j;
      continue;
    }
    out.push_back(c);
    ++i;
  }
  if (stats) stats->skipped += skipped;
  return out;
}

std::string decode_q(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '_') {
      out.push_back(' ');
    } else if (c == '=' && i + 2 < in.size() && hex_value(in[i + 1]) >= 0 &&
               hex_value(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string normalize_newlines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    const void* hit = std::memchr(text.data() + i, '\r', n - i);
    const std::size_t cr = hit ? static_cast<std::size_t>(static_cast<const char*>(hit) - text.data()) : n;
    out.append(text.data() + i, cr - i);
    if (cr >= n) break;
    out.push_back('\n');
    i = (cr + 1 < n && text[cr + 1] == '\n') ? cr + 2 : cr + 1;
  }
  return out;
}

std::string unflow(std::string_view text, bool delsp) {
  std::string out;
  out.reserve(text.size());
  bool prev_flowed = false;
  std::size_t prev_depth = 0;
  bool first = true;
  std::size_t pos = 0;
  const std::size_t n = text.size();
  while (pos <= n) {
    const std::size_t nl = text.find('\n', pos);
    const std::size_t end = nl == std::string_view::npos ? n : nl;
    std::string_view line = text.substr(pos, end - pos);
    if (nl == std::string_view::npos && line.empty()) break;  // text ended with '\n'
    std::size_t depth = 0;
    while (depth < line.size() && line[depth] == '>') ++depth;
    std::string_view content = line.substr(depth);
    if (!content.empty() && content.front() == ' ') content.remove_prefix(1);  // stuffing
    const bool signature = content == "-- ";
    const bool flowed = !signature && !content.empty() && content.back() == ' ';
    if (flowed && delsp) content.remove_suffix(1);
    if (prev_flowed && depth == prev_depth) {
      out.append(content);
    } else {
      if (!first) out.push_back('\n');
      out.append(depth, '>');
      if (depth > 0) out.push_back(' ');
      out.append(content);
    }
    first = false;
    prev_flowed = flowed;
    prev_depth = depth;
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  if (!text.empty() && text.back() == '\n') out.push_back('\n');
  return out;
}

bool is_known_charset(std::string_view label) {
  const std::string canonical = canonical_charset(label);
  if (canonical.empty()) {
    const std::string lower = ascii_lower(trim(label));
    return lower == "us-ascii" || lower == "ascii" || lower == "\"us-ascii\"";
  }
  if (canonical == "utf-8" || canonical == "windows-1252") return true;
  for (const std::string& name : {canonical, canonical.size() > 2 && canonical.compare(0, 2, "x-") == 0
                                                 ? canonical.substr(2)
                                                 : canonical}) {
    iconv_t cd = iconv_open("UTF-8", name.c_str());
    if (cd != reinterpret_cast<iconv_t>(-1)) {
      iconv_close(cd);
      return true;
    }
  }
  return false;
}

}  // namespace detail

std::string to_utf8(std::string_view bytes, std::string_view charset) {
  using namespace detail;
  const std::string canonical = canonical_charset(charset);
  std::string out;
  if (canonical.empty()) return guess_to_utf8(bytes);
  if (canonical == "utf-8") {
    out.reserve(bytes.size());
    append_repaired_utf8(out, bytes);
    return out;
  }
  if (canonical == "windows-1252") {
    out.reserve(bytes.size() + bytes.size() / 8);
    append_windows1252(out, bytes);
    return out;
  }
  out.reserve(bytes.size() + bytes.size() / 4);
  if (iconv_to_utf8(bytes, canonical, out)) return out;
  if (canonical.size() > 2 && canonical.compare(0, 2, "x-") == 0 &&
      iconv_to_utf8(bytes, canonical.substr(2), out)) {
    return out;
  }
  return guess_to_utf8(bytes);  // unknown label
}

}  // namespace sd::parser
