// notify/compose.cpp: RFC 5322 composition for outgoing mail (see compose.h).
#include "notify/compose.h"

#include <fmt/format.h>

#include <ctime>
#include <random>

namespace sd::notify {
namespace {

bool is_ascii_printable(const std::string& s) {
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

std::string random_token() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}", rng());
}

std::string sanitize_header_value(std::string s) {
  // A header value never carries a line break of its own: that would inject headers.
  for (auto& c : s)
    if (c == '\r' || c == '\n') c = ' ';
  return s;
}

}  // namespace

std::string encode_header_text(const std::string& raw) {
  std::string utf8 = sanitize_header_value(raw);
  if (is_ascii_printable(utf8) && utf8.find("=?") == std::string::npos) return utf8;
  // Encoded words of at most 75 characters, never splitting a UTF-8 sequence, folded.
  std::string out;
  std::size_t i = 0;
  while (i < utf8.size()) {
    std::size_t take = 0;
    while (i + take < utf8.size()) {
      std::size_t n = utf8_len(static_cast<unsigned char>(utf8[i + take]));
      // Words of at most 64 characters leave room for "Subject: " within 78 columns.
      if ((take + n + 2) / 3 * 4 > 64 - 12) break;
      take += n;
    }
    if (take == 0) take = std::min<std::size_t>(utf8.size() - i, 4);
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(std::string_view(utf8).substr(i, take)) + "?=";
    i += take;
  }
  return out;
}

std::string format_mailbox(const Mailbox& m) {
  if (m.name.empty()) return "<" + m.email + ">";
  std::string name = sanitize_header_value(m.name);
  if (!is_ascii_printable(name)) return encode_header_text(name) + " <" + m.email + ">";
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
  Composed c;
  c.message_id = fmt::format("sd.{}.{}@{}", d.date, random_token(), d.message_id_domain);
  std::string h;
  auto add = [&h](std::string_view name, const std::string& value) { h += fmt::format("{}: {}\r\n", name, value); };
  auto list = [](const std::vector<Mailbox>& v) {
    std::string s;
    for (const auto& m : v) s += (s.empty() ? "" : ",\r\n ") + format_mailbox(m);
    return s;
  };
  add("Date", rfc5322_date(d.date));
  add("From", format_mailbox(d.from));
  add("To", list(d.to));
  if (!d.reply_to.empty()) add("Reply-To", list(d.reply_to));
  add("Subject", encode_header_text(d.subject));
  add("Message-ID", "<" + c.message_id + ">");
  if (!d.in_reply_to.empty()) add("In-Reply-To", "<" + sanitize_header_value(d.in_reply_to) + ">");
  if (!d.references.empty()) {
    std::string refs;
    for (const auto& r : d.references) refs += (refs.empty() ? "<" : "\r\n <") + sanitize_header_value(r) + ">";
    add("References", refs);
  }
  if (!d.auto_submitted.empty()) add("Auto-Submitted", d.auto_submitted);
  for (const auto& [k, v] : d.extra_headers) add(k, sanitize_header_value(v));
  add("MIME-Version", "1.0");
  add("Content-Type", "text/plain; charset=UTF-8; format=fixed");
  add("Content-Transfer-Encoding", "quoted-printable");
  c.bytes = h + "\r\n" + quoted_printable(d.body_text);
  if (c.bytes.size() < 2 || c.bytes.compare(c.bytes.size() - 2, 2, "\r\n") != 0) c.bytes += "\r\n";
  return c;
}

}  // namespace sd::notify
