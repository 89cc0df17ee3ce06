// notify/compose.cpp: RFC 5322 composition for outgoing mail (see compose.h).
//
// Security: every header value that came from a mail (a subject, a name, a Message-ID) is
// attacker-chosen. A value never carries a line break of its own (it would inject headers);
// a Message-ID we thread on is copied only when it is a well-formed RFC 5322 msg-id, so no
// foreign 8-bit or control byte leaves in our headers; an address is used only when it is a
// plain RFC 5321 Mailbox, so `<a@x,b@y>` cannot become two recipients; and each header is
// folded, so no subject makes a line SMTP servers refuse (998 octets). Message-IDs come
// from OpenSSL's CSPRNG: they are the key a reply threads on, so they must not be guessable.
#include "notify/compose.h"

#include <fmt/format.h>
#include <openssl/rand.h>

#include <array>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace sd::notify {
namespace {

// A header line is folded to at most this many characters where a fold point allows it
// (RFC 5322 2.1.1 SHOULD) ...
constexpr std::size_t kFoldAt = 78;
// ... and a run of text with no fold point longer than this is sent as encoded words, which
// fold anywhere: it leaves room for the field name within the 998-octet MUST.
constexpr std::size_t kMaxPlainRun = 900;
// Bytes of text in one encoded word: 39 bytes are 52 base64 characters, so a word is 64
// characters, and "Subject: " and a word stay within 78 columns.
constexpr std::size_t kEncodedWordBytes = 39;

bool is_ascii_printable(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

// Length of the UTF-8 sequence starting with byte c (1 for stray bytes).
std::size_t utf8_len(unsigned char c) {
  if (c >= 0xf0) return 4;
  if (c >= 0xe0) return 3;
  if (c >= 0xc0) return 2;
  return 1;
}

std::string base64(std::string_view in) {
  static constexpr char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += tbl[v >> 18 & 63];
    out += tbl[v >> 12 & 63];
    out += tbl[v >> 6 & 63];
    out += tbl[v & 63];
  }
  if (i + 1 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    out += tbl[v >> 18 & 63];
    out += tbl[v >> 12 & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += tbl[v >> 18 & 63];
    out += tbl[v >> 12 & 63];
    out += tbl[v >> 6 & 63];
    out += '=';
  }
  return out;
}

// 128 bits from the CSPRNG. Throws std::runtime_error when OpenSSL cannot seed: a
// predictable Message-ID is worse than a mail queued a moment later (the caller's
// transaction rolls back and the mail that caused it is taken again).
std::string random_token() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("no random bytes for a Message-ID (OpenSSL RAND_bytes failed)");
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

std::string sanitize_header_value(std::string s) {
  // A header value never carries a line break of its own: that would inject headers.
  for (auto& c : s)
    if (c == '\r' || c == '\n') c = ' ';
  return s;
}

// atext of RFC 5322 3.2.3: letters, digits and !#$%&'*+-/=?^_`{|}~
bool is_atext(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
         (u != 0 && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr);
}

// dot-atom-text: atext runs joined by single dots, none at either end.
bool is_dot_atom_text(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (s[i + 1] == '.') return false;
    } else if (!is_atext(s[i])) {
      return false;
    }
  }
  return true;
}

// RFC 5321 4.1.2 Quoted-string, narrowed: printable ASCII without space or comma (the
// brief for outgoing mail: nothing a relay or a careless script could split on).
bool is_quoted_local_part(std::string_view s) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
  for (std::size_t i = 1; i + 1 < s.size(); ++i) {
    char c = s[i];
    if (c <= ' ' || c > '~' || c == ',') return false;
    if (c == '"') return false;
    if (c == '\\') {
      if (i + 2 >= s.size()) return false;  // the backslash would quote the closing quote
      char q = s[++i];
      if (q <= ' ' || q > '~' || q == ',') return false;
    }
  }
  return true;
}

// RFC 5321 Domain: labels of letters, digits and hyphens (no hyphen at either end of a
// label), joined by dots.
bool is_domain(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool is_ipv4(std::string_view s) {
  int parts = 0;
  std::size_t i = 0;
  while (parts < 4) {
    std::size_t digits = 0;
    int value = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && digits < 3) {
      value = value * 10 + (s[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || value > 255) return false;
    ++parts;
    if (parts < 4) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

// RFC 5321 address-literal: [IPv4] or [IPv6:...] (the IPv6 form checked for its
// alphabet and length only: it is the relay's to route, we only keep it one token).
bool is_address_literal(std::string_view s) {
  if (s.size() < 3 || s.front() != '[' || s.back() != ']') return false;
  std::string_view inner = s.substr(1, s.size() - 2);
  if (inner.rfind("IPv6:", 0) == 0) {
    std::string_view v6 = inner.substr(5);
    if (v6.size() < 2 || v6.size() > 45) return false;
    for (char c : v6)
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
        return false;
    return true;
  }
  return is_ipv4(inner);
}

// Splits a value at its spaces into pieces that start with their spaces ("a  b c" is
// "a", "  b", " c") and folds before a piece where the line would pass kFoldAt.
// Contract: the value holds no CR or LF; the pieces are at most kMaxPlainRun long
// (callers encode longer runs), so no line passes 998 octets.
std::string fold_header(std::string_view name, std::string_view value) {
  std::string out;
  out.reserve(name.size() + value.size() + 8);
  out.append(name);
  out += ':';
  std::size_t line = out.size();
  bool first = true;
  std::size_t i = 0;
  while (i < value.size()) {
    std::size_t word = value.find_first_not_of(' ', i);
    if (word == std::string_view::npos) break;  // trailing spaces would end a line in white space
    std::size_t end = value.find(' ', word);
    if (end == std::string_view::npos) end = value.size();
    std::string_view piece = value.substr(i, end - i);
    if (first) {
      out += ' ';
      out.append(value.substr(word, end - word));
      line += 1 + end - word;
      first = false;
    } else if (line + piece.size() > kFoldAt) {
      out += "\r\n";
      out.append(piece);
      line = piece.size();
    } else {
      out.append(piece);
      line += piece.size();
    }
    i = end;
  }
  out += "\r\n";
  return out;
}

// Does plain text fold within the limits: no run of spaces or of other characters so long
// that no fold point can keep its line under 998 octets?
bool folds_as_plain(std::string_view s) {
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    // A piece is its leading spaces and its word: it must fit on one line.
    bool starts_piece = i > 0 && s[i] == ' ' && s[i - 1] != ' ';
    run = starts_piece ? 1 : run + 1;
    if (run > kMaxPlainRun) return false;
  }
  return true;
}

std::string encoded_words(std::string_view utf8) {
  std::string out;
  std::size_t i = 0;
  while (i < utf8.size()) {
    std::size_t take = 0;
    while (i + take < utf8.size()) {
      std::size_t n = utf8_len(static_cast<unsigned char>(utf8[i + take]));
      if (take + n > kEncodedWordBytes) break;
      take += n;
    }
    // A stray lead byte claiming more bytes than are left: the rest goes as it is.
    if (take == 0) take = std::min<std::size_t>(utf8.size() - i, 4);
    if (!out.empty()) out += ' ';  // white space between encoded words is not text (RFC 2047 6.2)
    out += "=?UTF-8?B?" + base64(utf8.substr(i, take)) + "?=";
    i += take;
  }
  return out;
}

std::string mailbox_list(const std::vector<Mailbox>& v) {
  std::string s;
  for (const auto& m : v) s += (s.empty() ? "" : ", ") + format_mailbox(m);
  return s;
}

}  // namespace

bool valid_addr_spec(std::string_view a) {
  if (a.size() > 254) return false;  // RFC 5321 4.5.3.1.3 path less its brackets
  auto at = a.rfind('@');
  if (at == std::string_view::npos || at == 0) return false;
  std::string_view local = a.substr(0, at), domain = a.substr(at + 1);
  if (local.size() > 64) return false;
  if (!is_dot_atom_text(local) && !is_quoted_local_part(local)) return false;
  return is_domain(domain) || is_address_literal(domain);
}

bool valid_msg_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxMsgIdLength) return false;
  auto at = id.rfind('@');
  if (at == std::string_view::npos) return false;
  std::string_view left = id.substr(0, at), right = id.substr(at + 1);
  if (!is_dot_atom_text(left)) return false;
  if (is_dot_atom_text(right)) return true;
  // no-fold-literal: "[" *dtext "]", dtext printable ASCII but [ ] and backslash.
  if (right.size() < 2 || right.front() != '[' || right.back() != ']') return false;
  for (char c : right.substr(1, right.size() - 2))
    if (c <= ' ' || c > '~' || c == '[' || c == ']' || c == '\\') return false;
  return true;
}

std::string encode_header_text(const std::string& raw) {
  std::string text = sanitize_header_value(raw);
  if (is_ascii_printable(text) && text.find("=?") == std::string::npos && folds_as_plain(text)) return text;
  return encoded_words(text);
}

std::string format_mailbox(const Mailbox& m) {
  if (!valid_addr_spec(m.email)) throw std::invalid_argument("not a mail address we can send to (RFC 5321 Mailbox)");
  if (m.name.empty()) return "<" + m.email + ">";
  std::string name = sanitize_header_value(m.name);
  if (!is_ascii_printable(name) || !folds_as_plain(name)) return encoded_words(name) + " <" + m.email + ">";
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\" <" + m.email + ">";
}

std::string quoted_printable(const std::string& text) {
  std::string out;
  std::size_t col = 0;
  auto emit = [&](const std::string& piece) {
    if (col + piece.size() > 75) {
      out += "=\r\n";
      col = 0;
    }
    out += piece;
    col += piece.size();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    if (c == '\n') {
      out += "\r\n";
      col = 0;
      continue;
    }
    bool at_line_end = i + 1 == text.size() || text[i + 1] == '\n' || text[i + 1] == '\r';
    bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end);
    // A line starting with "." or "From " is encoded so that no transport mangles it.
    if (col == 0 && (c == '.' || (c == 'F' && text.compare(i, 5, "From ") == 0))) literal = false;
    emit(literal ? std::string(1, static_cast<char>(c)) : fmt::format("={:02X}", c));
  }
  return out;
}

std::string rfc5322_date(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  return fmt::format("{}, {:02d} {} {} {:02d}:{:02d}:{:02d} +0000", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
                     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

Composed compose(const Draft& d) {
  if (d.to.empty()) throw std::invalid_argument("a mail needs a recipient");
  Composed c;
  c.message_id = fmt::format("sd.{}.{}@{}", d.date, random_token(), d.message_id_domain);
  if (!valid_msg_id(c.message_id)) throw std::invalid_argument("the service address's domain cannot end a Message-ID");
  std::string h;
  auto add = [&h](std::string_view name, const std::string& value) { h += fold_header(name, value); };
  add("Date", rfc5322_date(d.date));
  add("From", format_mailbox(d.from));
  add("To", mailbox_list(d.to));
  // A Cc we cannot write is left out rather than failing the mail to the others.
  std::vector<Mailbox> cc;
  for (const auto& m : d.cc)
    if (valid_addr_spec(m.email)) cc.push_back(m);
  if (!cc.empty()) add("Cc", mailbox_list(cc));
  // A Reply-To we cannot write is left out rather than failing the mail: replies then go
  // to From, which is our own address.
  std::vector<Mailbox> reply_to;
  for (const auto& m : d.reply_to)
    if (valid_addr_spec(m.email)) reply_to.push_back(m);
  if (!reply_to.empty()) add("Reply-To", mailbox_list(reply_to));
  add("Subject", encode_header_text(d.subject));
  add("Message-ID", "<" + c.message_id + ">");
  // A foreign Message-ID that is not an RFC 5322 msg-id is not copied: the reply then
  // threads on the others, and no foreign byte leaves in our headers.
  if (valid_msg_id(d.in_reply_to)) add("In-Reply-To", "<" + d.in_reply_to + ">");
  std::string refs;
  for (const auto& r : d.references)
    if (valid_msg_id(r)) refs += (refs.empty() ? "<" : " <") + r + ">";
  if (!refs.empty()) add("References", refs);
  if (!d.auto_submitted.empty()) add("Auto-Submitted", encode_header_text(d.auto_submitted));
  for (const auto& [k, v] : d.extra_headers) add(k, encode_header_text(v));
  add("MIME-Version", "1.0");
  add("Content-Type", "text/plain; charset=UTF-8; format=fixed");
  add("Content-Transfer-Encoding", "quoted-printable");
  c.bytes = h + "\r\n" + quoted_printable(d.body_text);
  if (c.bytes.size() < 2 || c.bytes.compare(c.bytes.size() - 2, 2, "\r\n") != 0) c.bytes += "\r\n";
  return c;
}

}  // namespace sd::notify
