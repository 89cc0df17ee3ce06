// http/parse.cpp: the pure parsing of what an HTTP client sends (see parse.h for each
// function's contract).
//
// How it stays safe on hostile input: every loop walks its input forward once (the
// multipart delimiter search is std::string_view::find, at most 74 compares per byte for a
// 70-character boundary), nothing recurses, every list has a cap, and nothing throws:
// numbers are read digit by digit with their own bounds, never with std::stoi. The only
// allocation that grows with the input is the copy of what was asked for (a decoded value,
// a part's data), which the server's body limit bounds.
#include "http/parse.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include "core/text.h"

namespace sd::http {
namespace {

constexpr std::string_view whitespace = " \t";

std::string_view trim_view(std::string_view s) {
  auto b = s.find_first_not_of(whitespace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(whitespace) - b + 1);
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = ascii_lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

// RFC 7230 tchar: what a header parameter's name, a cookie's name and a token may hold.
bool is_tchar(char c) { return is_alnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos; }

bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }


// A decimal number of at most `max_digits` digits, all of `s`; nullopt otherwise.
std::optional<std::uint64_t> read_decimal(std::string_view s, std::size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

// ---- header parameters (Content-Type, Content-Disposition) ----

struct HeaderValue {
  std::string_view value;                                  // before the first ';', trimmed
  std::vector<std::pair<std::string, std::string>> params;  // names lower case, quotes removed
  bool ok = true;                                          // false on an unclosed quote
};

constexpr std::size_t max_header_params = 64;

// `type; a=b; c="d;e"`: a quoted string may hold ';' and quoted pairs. A backslash only
// escapes '"' and '\' (old browsers send Windows paths in filename="C:\dir\f.txt" unescaped).
// A parameter without '=' or with a name that is not a token is skipped; past
// max_header_params the rest is ignored.
HeaderValue parse_header_value(std::string_view header) {
  HeaderValue out;
  std::size_t i = header.find(';');
  out.value = trim_view(header.substr(0, i));
  while (i != std::string_view::npos && i < header.size() && out.params.size() < max_header_params) {
    ++i;  // past ';'
    while (i < header.size() && (header[i] == ' ' || header[i] == '\t')) ++i;
    std::size_t name_start = i;
    while (i < header.size() && header[i] != '=' && header[i] != ';') ++i;
    std::string_view name = trim_view(header.substr(name_start, i - name_start));
    if (i >= header.size() || header[i] == ';') continue;  // no '=': skipped
    ++i;  // past '='
    while (i < header.size() && (header[i] == ' ' || header[i] == '\t')) ++i;
    std::string value;
    if (i < header.size() && header[i] == '"') {
      ++i;
      bool closed = false;
      while (i < header.size()) {
        char c = header[i];
        if (c == '"') {
          closed = true;
          ++i;
          break;
        }
        if (c == '\\' && i + 1 < header.size() && (header[i + 1] == '"' || header[i + 1] == '\\')) {
          value += header[i + 1];
          i += 2;
          continue;
        }
        value += c;
        ++i;
      }
      if (!closed) {
        out.ok = false;
        return out;
      }
      i = header.find(';', i);  // whatever follows the closing quote up to ';' is ignored
    } else {
      std::size_t end = header.find(';', i);
      value = std::string(trim_view(header.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i)));
      i = end;
    }
    if (is_token(name)) out.params.emplace_back(lower_ascii(name), std::move(value));
  }
  return out;
}

const std::string* header_param(const HeaderValue& h, std::string_view name) {
  for (const auto& [k, v] : h.params)
    if (k == name) return &v;
  return nullptr;
}

// ISO-8859-1 bytes as UTF-8 (each byte is its code point).
std::string latin1_to_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x80) {
      out += c;
    } else {
      out += static_cast<char>(0xC0 | (b >> 6));
      out += static_cast<char>(0x80 | (b & 0x3F));
    }
  }
  return out;
}

// An RFC 5987 ext-value "charset'language'%xx...": UTF-8 and ISO-8859-1 are read (as UTF-8
// out); any other charset, a bad %XX or invalid UTF-8 is nullopt.
std::optional<std::string> decode_ext_value(std::string_view v) {
  auto q1 = v.find('\'');
  if (q1 == std::string_view::npos) return std::nullopt;
  auto q2 = v.find('\'', q1 + 1);
  if (q2 == std::string_view::npos) return std::nullopt;
  std::string_view charset = v.substr(0, q1);
  auto decoded = percent_decode(v.substr(q2 + 1), false);
  if (!decoded) return std::nullopt;
  if (iequals(charset, "utf-8")) {
    if (!valid_utf8(*decoded)) return std::nullopt;
    return decoded;
  }
  if (iequals(charset, "iso-8859-1")) return latin1_to_utf8(*decoded);
  return std::nullopt;
}

// filename* (RFC 5987), or its RFC 2231 continuations filename*0*, filename*1, ... (at most
// 32 sections, in number order, stopping at the first gap).
std::optional<std::string> extended_filename(const HeaderValue& h) {
  if (const auto* v = header_param(h, "filename*")) return decode_ext_value(*v);
  constexpr std::size_t max_sections = 32;
  std::array<const std::string*, max_sections> sections{};
  std::array<bool, max_sections> encoded{};
  bool any = false;
  for (const auto& [k, v] : h.params) {
    std::string_view key = k;
    if (key.substr(0, 9) != "filename*") continue;
    std::string_view rest = key.substr(9);
    bool enc = !rest.empty() && rest.back() == '*';
    if (enc) rest.remove_suffix(1);
    auto n = read_decimal(rest, 2);
    if (!n || *n >= max_sections || sections[*n]) continue;
    sections[*n] = &v;
    encoded[*n] = enc;
    any = true;
  }
  if (!any || !sections[0]) return std::nullopt;
  // Section 0, when encoded, carries charset'language'; the later encoded ones are bare %xx.
  std::string charset = "us-ascii";
  std::string raw;
  for (std::size_t n = 0; n < max_sections && sections[n]; ++n) {
    std::string_view piece = *sections[n];
    if (encoded[n]) {
      if (n == 0) {
        auto q1 = piece.find('\'');
        auto q2 = q1 == std::string_view::npos ? q1 : piece.find('\'', q1 + 1);
        if (q2 == std::string_view::npos) return std::nullopt;
        charset = lower_ascii(piece.substr(0, q1));
        piece = piece.substr(q2 + 1);
      }
      auto d = percent_decode(piece, false);
      if (!d) return std::nullopt;
      raw += *d;
    } else {
      raw += piece;
    }
  }
  if (charset == "iso-8859-1") return latin1_to_utf8(raw);
  if (charset != "utf-8" && charset != "us-ascii") return std::nullopt;
  if (!valid_utf8(raw)) return std::nullopt;
  return raw;
}

// RFC 2046 bchars: digits, letters and '()+_,-./:=? and space, not last.
bool valid_boundary(std::string_view b) {
  if (b.empty() || b.size() > 70 || b.back() == ' ') return false;
  return std::all_of(b.begin(), b.end(), [](char c) {
    return is_alnum(c) || std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
  });
}

// One part's header block (between the delimiter line and the empty line) into `part`.
tl::expected<void, std::string> read_part_headers(std::string_view block, FormPart& part) {
  bool has_disposition = false;
  std::string name, value;  // the header being read, unfolded
  auto finish = [&]() -> tl::expected<void, std::string> {
    if (name.empty()) return {};
    if (iequals(name, "content-disposition")) {
      if (has_disposition) return tl::unexpected(std::string("multipart part has two Content-Disposition headers"));
      has_disposition = true;
      auto h = parse_header_value(value);
      if (!h.ok) return tl::unexpected(std::string("multipart part has an unclosed quote in Content-Disposition"));
      if (!iequals(h.value, "form-data")) return tl::unexpected(std::string("multipart part is not form-data"));
      const auto* n = header_param(h, "name");
      if (!n) return tl::unexpected(std::string("multipart part has no name"));
      part.name = *n;
      if (auto ext = extended_filename(h)) {
        part.filename = std::move(*ext);
      } else if (const auto* f = header_param(h, "filename")) {
        part.filename = *f;
      }
    } else if (iequals(name, "content-type")) {
      part.content_type = std::string(trim_view(value));
    }
    name.clear();
    value.clear();
    return {};
  };
  std::size_t pos = 0;
  while (pos < block.size()) {
    std::size_t eol = block.find("\r\n", pos);
    std::string_view line = block.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? block.size() : eol + 2;
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      if (name.empty()) return tl::unexpected(std::string("multipart part header starts with a continuation line"));
      value += ' ';
      value += trim_view(line);
      continue;
    }
    if (auto r = finish(); !r) return r;
    auto colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon)))
      return tl::unexpected(std::string("multipart part has a malformed header line"));
    name = std::string(line.substr(0, colon));
    value = std::string(trim_view(line.substr(colon + 1)));
  }
  if (auto r = finish(); !r) return r;
  if (!has_disposition) return tl::unexpected(std::string("multipart part has no Content-Disposition"));
  return {};
}

// ---- addresses ----

struct Address {
  int family = 0;  // AF_INET or AF_INET6
  std::array<unsigned char, 16> bytes{};
};

// An IPv4 or IPv6 address in text; an IPv4-mapped IPv6 address becomes its IPv4 address.
std::optional<Address> parse_address(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;  // INET6_ADDRSTRLEN - 1
  std::string z(text);  // inet_pton wants a NUL-terminated string; an embedded NUL fails below
  if (z.find('\0') != std::string::npos) return std::nullopt;
  Address a;
  if (inet_pton(AF_INET, z.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (inet_pton(AF_INET6, z.c_str(), a.bytes.data()) == 1) {
    static constexpr unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (std::memcmp(a.bytes.data(), mapped, 12) == 0) {
      std::memmove(a.bytes.data(), a.bytes.data() + 12, 4);
      std::fill(a.bytes.begin() + 4, a.bytes.end(), 0);
      a.family = AF_INET;
    } else {
      a.family = AF_INET6;
    }
    return a;
  }
  return std::nullopt;
}

std::string address_text(const Address& a) {
  char buf[64] = {};
  if (!inet_ntop(a.family, a.bytes.data(), buf, sizeof buf)) return {};
  return buf;
}

struct Range {
  Address base;
  unsigned prefix = 0;
};

tl::expected<Range, std::string> parse_range(std::string_view entry) {
  entry = trim_view(entry);
  auto slash = entry.find('/');
  bool mapped_text = false;
  auto base = parse_address(entry.substr(0, slash));
  if (!base) return tl::unexpected(std::string("not an IPv4 or IPv6 address"));
  // "::ffff:10.0.0.0/104" was parsed as IPv4 above: its prefix counts IPv6 bits.
  mapped_text = base->family == AF_INET && entry.substr(0, slash).find(':') != std::string_view::npos;
  unsigned width = base->family == AF_INET ? 32 : 128;
  unsigned prefix = width;
  if (slash != std::string_view::npos) {
    auto n = read_decimal(entry.substr(slash + 1), 3);
    if (!n) return tl::unexpected(std::string("the prefix length after '/' is not a number"));
    if (mapped_text) {
      if (*n < 96 || *n > 128) return tl::unexpected(std::string("an IPv4-mapped range needs a prefix of 96 to 128"));
      *n -= 96;
    }
    if (*n > width) return tl::unexpected(std::string(width == 32 ? "an IPv4 prefix is at most 32" : "an IPv6 prefix is at most 128"));
    prefix = static_cast<unsigned>(*n);
  }
  return Range{*base, prefix};
}

bool in_range(const Address& a, const Range& r) {
  if (a.family != r.base.family) return false;
  unsigned full = r.prefix / 8, rest = r.prefix % 8;
  if (std::memcmp(a.bytes.data(), r.base.bytes.data(), full) != 0) return false;
  if (rest == 0) return true;
  auto mask = static_cast<unsigned char>(0xFF << (8 - rest));
  return (a.bytes[full] & mask) == (r.base.bytes[full] & mask);
}

bool trusted(const Address& a, const std::vector<std::string>& trusted_proxies) {
  for (const auto& entry : trusted_proxies) {
    auto r = parse_range(entry);
    if (r && in_range(a, *r)) return true;
  }
  return false;
}

// One X-Forwarded-For hop: an address, "[v6]" or "[v6]:port", or "v4:port" (some proxies
// add the port).
std::optional<Address> parse_hop(std::string_view hop) {
  hop = trim_view(hop);
  if (!hop.empty() && hop.front() == '[') {
    auto close = hop.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view after = hop.substr(close + 1);
    if (!after.empty() && (after[0] != ':' || !read_decimal(after.substr(1), 5))) return std::nullopt;
    auto a = parse_address(hop.substr(1, close - 1));
    return a;
  }
  auto colon = hop.find(':');
  if (colon != std::string_view::npos && hop.find(':', colon + 1) == std::string_view::npos) {
    if (!read_decimal(hop.substr(colon + 1), 5)) return std::nullopt;
    auto a = parse_address(hop.substr(0, colon));
    if (!a || a->family != AF_INET) return std::nullopt;
    return a;
  }
  return parse_address(hop);
}

// ---- origins ----

struct Origin {
  std::string scheme, host;
  unsigned port = 0;
};

// scheme://host[:port] followed by nothing (an Origin header) or by a path (base_url).
std::optional<Origin> parse_origin(std::string_view s, bool path_allowed) {
  auto sep = s.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  Origin o;
  o.scheme = lower_ascii(s.substr(0, sep));
  unsigned default_port = o.scheme == "http" ? 80 : o.scheme == "https" ? 443 : 0;
  if (default_port == 0) return std::nullopt;
  std::string_view rest = s.substr(sep + 3);
  auto end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (end != std::string_view::npos && !path_allowed) return std::nullopt;
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  std::string_view host = authority, port;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return std::nullopt;
      port = after.substr(1);
    }
    auto a = parse_address(host.substr(1, host.size() - 2));
    if (!a || a->family != AF_INET6) return std::nullopt;
  } else {
    auto colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) { return is_alnum(c) || c == '-' || c == '.' || c == '_'; }))
      return std::nullopt;
  }
  o.host = lower_ascii(host);
  if (port.empty()) {
    o.port = default_port;
  } else {
    auto n = read_decimal(port, 5);
    if (!n || *n == 0 || *n > 65535) return std::nullopt;
    o.port = static_cast<unsigned>(*n);
  }
  return o;
}

bool is_unreserved(char c) { return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; }

void append_pct(std::string& out, unsigned char b) {
  static constexpr char hex[] = "0123456789ABCDEF";
  out += '%';
  out += hex[b >> 4];
  out += hex[b & 0xF];
}

// Characters a downloaded file's name never keeps, besides controls and invalid UTF-8: the
// invisible ones that make "exe.txt" look like "txt.exe" or hide part of a name.
bool hidden_in_name(char32_t cp) {
  return is_terminal_control(cp) || (cp >= 0x200B && cp <= 0x200D) || (cp >= 0x2060 && cp <= 0x2064) || cp == 0xFEFF ||
         cp == 0x00AD;
}

}  // namespace

// ---- percent decoding, query strings ----

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      int hi = i + 1 < s.size() ? hex_value(s[i + 1]) : -1;
      int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

tl::expected<Params, std::string> parse_query(std::string_view s, std::size_t max_params) {
  Params out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    std::size_t amp = s.find('&', pos);
    std::string_view piece = s.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    pos = amp == std::string_view::npos ? s.size() + 1 : amp + 1;
    if (piece.empty()) continue;
    if (out.size() >= max_params) return tl::unexpected("more than " + std::to_string(max_params) + " parameters");
    auto eq = piece.find('=');
    auto name = percent_decode(piece.substr(0, eq), true);
    auto value = eq == std::string_view::npos ? std::optional<std::string>("") : percent_decode(piece.substr(eq + 1), true);
    if (!name || !value) return tl::unexpected(std::string("a parameter has a bad %-escape"));
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

const std::string* param(const Params& params, std::string_view name) {
  for (const auto& [k, v] : params)
    if (k == name) return &v;
  return nullptr;
}

// ---- cookies ----

std::vector<std::pair<std::string, std::string>> parse_cookies(std::string_view header) {
  constexpr std::size_t max_cookies = 64, max_cookie_bytes = 4096;
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while (pos <= header.size() && out.size() < max_cookies) {
    std::size_t semi = header.find(';', pos);
    std::string_view piece = header.substr(pos, semi == std::string_view::npos ? std::string_view::npos : semi - pos);
    pos = semi == std::string_view::npos ? header.size() + 1 : semi + 1;
    auto eq = piece.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = trim_view(piece.substr(0, eq));
    std::string_view value = trim_view(piece.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    if (name.empty() || name.size() > max_cookie_bytes || value.size() > max_cookie_bytes) continue;
    out.emplace_back(std::string(name), std::string(value));
  }
  return out;
}

std::optional<std::string> cookie(std::string_view header, std::string_view name) {
  for (auto& [k, v] : parse_cookies(header))
    if (k == name) return std::move(v);
  return std::nullopt;
}

std::string set_cookie(std::string_view name, std::string_view value, const CookieOptions& options) {
  if (!is_token(name)) return {};
  // RFC 6265 cookie-octet: printable ASCII but space, '"', ',', ';' and '\'.
  auto cookie_octets = [](std::string_view s) {
    std::string out;
    for (char c : s) {
      auto b = static_cast<unsigned char>(c);
      if (b > 0x20 && b < 0x7F && c != '"' && c != ',' && c != ';' && c != '\\') out += c;
    }
    return out;
  };
  std::string out(name);
  out += '=';
  out += cookie_octets(value);
  if (auto path = cookie_octets(options.path); !path.empty()) out += "; Path=" + path;
  if (options.max_age) out += "; Max-Age=" + std::to_string(*options.max_age > 0 ? *options.max_age : 0);
  if (options.http_only) out += "; HttpOnly";
  if (options.secure) out += "; Secure";
  if (options.same_site == SameSite::lax) out += "; SameSite=Lax";
  if (options.same_site == SameSite::strict) out += "; SameSite=Strict";
  return out;
}

// ---- multipart/form-data ----

tl::expected<std::vector<FormPart>, std::string> parse_multipart(std::string_view content_type_header,
                                                                 std::string_view body,
                                                                 const MultipartLimits& limits) {
  auto ct = parse_header_value(content_type_header);
  if (!iequals(ct.value, "multipart/form-data")) return tl::unexpected(std::string("not multipart/form-data"));
  if (!ct.ok) return tl::unexpected(std::string("unclosed quote in the Content-Type"));
  const auto* boundary = header_param(ct, "boundary");
  if (!boundary) return tl::unexpected(std::string("multipart/form-data without a boundary"));
  if (!valid_boundary(*boundary)) return tl::unexpected(std::string("the multipart boundary is not 1 to 70 allowed characters"));
  const std::string delimiter = "\r\n--" + *boundary;
  const std::string_view dash_boundary = std::string_view(delimiter).substr(2);

  // The first delimiter may open the body without the CRLF that later ones carry.
  std::size_t pos;
  if (body.substr(0, dash_boundary.size()) == dash_boundary) {
    pos = dash_boundary.size();
  } else {
    auto first = body.find(delimiter);
    if (first == std::string_view::npos) return tl::unexpected(std::string("multipart body has no boundary"));
    pos = first + delimiter.size();
  }

  std::vector<FormPart> parts;
  for (;;) {
    // pos is just past a delimiter: "--" closes, else padding and CRLF open a part.
    if (body.substr(pos, 2) == "--") return parts;
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (body.substr(pos, 2) != "\r\n") return tl::unexpected(std::string("multipart boundary line is not ended by CRLF"));
    pos += 2;
    if (parts.size() >= limits.max_parts)
      return tl::unexpected("more than " + std::to_string(limits.max_parts) + " multipart parts");

    FormPart part;
    std::size_t headers_end;
    if (body.substr(pos, 2) == "\r\n") {
      headers_end = pos;  // no header lines at all: caught below as no Content-Disposition
    } else {
      std::string_view window = body.substr(pos, limits.max_part_header_bytes + 4);
      auto blank = window.find("\r\n\r\n");
      if (blank == std::string_view::npos)
        return tl::unexpected(std::string(window.size() > limits.max_part_header_bytes
                                              ? "multipart part headers are too long"
                                              : "multipart part headers are not ended by an empty line"));
      headers_end = pos + blank + 2;
    }
    if (auto r = read_part_headers(body.substr(pos, headers_end - pos), part); !r) return tl::unexpected(r.error());
    std::size_t data_start = headers_end + 2;

    // The next delimiter is "\r\n--boundary" followed by "--" or by padding and CRLF; the same
    // bytes followed by anything else are data (a sender should not, but a wrong guess here
    // would cut a file short).
    std::size_t search = data_start;
    std::size_t found;
    for (;;) {
      found = body.find(delimiter, search);
      if (found == std::string_view::npos) return tl::unexpected(std::string("multipart body has no closing boundary"));
      std::size_t after = found + delimiter.size();
      std::size_t p = after;
      while (p < body.size() && (body[p] == ' ' || body[p] == '\t')) ++p;
      if (body.substr(after, 2) == "--" || body.substr(p, 2) == "\r\n") break;
      search = found + 1;
    }
    part.data = std::string(body.substr(data_start, found - data_start));
    parts.push_back(std::move(part));
    pos = found + delimiter.size();
  }
}

// ---- Accept-Language ----

std::vector<std::string> accept_languages(std::string_view header) {
  constexpr std::size_t max_ranges = 64, max_languages = 16;
  struct Entry {
    std::string primary;
    int q;  // thousandths
  };
  std::vector<Entry> entries;
  std::size_t pos = 0, looked_at = 0;
  while (pos <= header.size() && looked_at < max_ranges) {
    std::size_t comma = header.find(',', pos);
    std::string_view range = header.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    pos = comma == std::string_view::npos ? header.size() + 1 : comma + 1;
    range = trim_view(range);
    if (range.empty()) continue;
    ++looked_at;
    auto semi = range.find(';');
    std::string_view tag = trim_view(range.substr(0, semi));
    // language-range: 1*8ALPHA *("-" 1*8alphanum); '*' matches anything and says nothing.
    std::string_view primary = tag.substr(0, tag.find('-'));
    if (primary.empty() || primary.size() > 8 || !std::all_of(primary.begin(), primary.end(), is_alpha)) continue;
    bool tag_ok = true;
    for (std::size_t i = primary.size(); i < tag.size() && tag_ok;) {
      if (tag[i] != '-') tag_ok = false;
      std::size_t j = i + 1;
      while (j < tag.size() && is_alnum(tag[j])) ++j;
      if (j - i - 1 < 1 || j - i - 1 > 8) tag_ok = false;
      i = j;
    }
    if (!tag_ok) continue;
    int q = 1000;
    bool q_ok = true;
    if (semi != std::string_view::npos) {
      std::string_view p = trim_view(range.substr(semi + 1));
      if (p.size() < 2 || ascii_lower(p[0]) != 'q' || p[1] != '=') continue;
      std::string_view v = trim_view(p.substr(2));
      // qvalue: "0" ["." 0*3DIGIT] / "1" ["." 0*3("0")]
      if (v.empty() || (v[0] != '0' && v[0] != '1') || v.size() > 5 || (v.size() > 1 && v[1] != '.')) {
        q_ok = false;
      } else {
        q = (v[0] - '0') * 1000;
        int scale = 100;
        for (std::size_t i = 2; i < v.size(); ++i, scale /= 10) {
          if (!is_digit(v[i])) q_ok = false;
          else q += (v[i] - '0') * scale;
        }
        if (q > 1000) q_ok = false;
      }
    }
    if (!q_ok || q == 0) continue;
    entries.push_back({lower_ascii(primary), q});
  }
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.q > b.q; });
  std::vector<std::string> out;
  for (auto& e : entries) {
    if (out.size() >= max_languages) break;
    if (std::find(out.begin(), out.end(), e.primary) == out.end()) out.push_back(std::move(e.primary));
  }
  return out;
}

// ---- builders ----

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string url_encode_component(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (is_unreserved(c)) out += c;
    else append_pct(out, static_cast<unsigned char>(c));
  }
  return out;
}

std::string content_disposition_attachment(std::string_view filename) {
  constexpr std::size_t max_name_bytes = 150;
  // Only the last component: a name is never a path, whichever separator the sender used.
  auto slash = filename.find_last_of("/\\");
  if (slash != std::string_view::npos) filename = filename.substr(slash + 1);

  std::string name;
  for (std::size_t i = 0; i < filename.size();) {
    auto ch = text_detail::decode_utf8(filename, i);
    if (ch.len == 0) {  // not UTF-8: dropped
      ++i;
      continue;
    }
    std::string_view bytes = filename.substr(i, ch.len);
    i += ch.len;
    if (hidden_in_name(ch.cp) || ch.cp == '"' || ch.cp == '\\') continue;
    if (name.size() + bytes.size() > max_name_bytes) break;
    name += bytes;
  }
  // Leading dots make a hidden file (or ".."); trailing dots and spaces vanish on Windows.
  auto b = name.find_first_not_of(". ");
  if (b == std::string::npos) return "attachment";
  auto e = name.find_last_not_of(". ");
  name = name.substr(b, e - b + 1);

  std::string fallback, encoded;
  for (std::size_t i = 0; i < name.size();) {
    auto ch = text_detail::decode_utf8(name, i);  // name is valid UTF-8 by construction
    std::size_t len = ch.len == 0 ? 1 : ch.len;
    // '%' too: some clients percent-decode the plain filename parameter.
    fallback += ch.cp < 0x80 && ch.cp != '%' ? static_cast<char>(ch.cp) : '_';
    for (std::size_t k = 0; k < len; ++k) {
      char c = name[i + k];
      // RFC 5987 attr-char
      if (is_alnum(c) || std::string_view("!#$&+-.^_`|~").find(c) != std::string_view::npos) encoded += c;
      else append_pct(encoded, static_cast<unsigned char>(c));
    }
    i += len;
  }
  return "attachment; filename=\"" + fallback + "\"; filename*=UTF-8''" + encoded;
}

// ---- addresses behind proxies ----

bool address_in(std::string_view address, std::string_view cidr_or_address) {
  auto a = parse_address(trim_view(address));
  if (!a) return false;
  auto r = parse_range(cidr_or_address);
  return r && in_range(*a, *r);
}

tl::expected<void, std::string> check_proxy_entry(std::string_view entry) {
  auto r = parse_range(entry);
  if (!r) return tl::unexpected(r.error());
  return {};
}

std::string client_address(std::string_view peer, std::string_view x_forwarded_for,
                           const std::vector<std::string>& trusted_proxies) {
  constexpr std::size_t max_hops = 64;
  auto peer_address = parse_address(trim_view(peer));
  if (!peer_address) return std::string(peer);
  std::string client = address_text(*peer_address);
  if (!trusted(*peer_address, trusted_proxies)) return client;
  std::size_t end = x_forwarded_for.size();
  for (std::size_t hops = 0; hops < max_hops; ++hops) {
    std::size_t comma = end == 0 ? std::string_view::npos : x_forwarded_for.rfind(',', end - 1);
    std::size_t start = comma == std::string_view::npos ? 0 : comma + 1;
    std::string_view hop = trim_view(x_forwarded_for.substr(start, end - start));
    if (!hop.empty()) {
      auto a = parse_hop(hop);
      if (!a) return client;  // garbage: the last trusted hop is as far as we can believe
      client = address_text(*a);
      if (!trusted(*a, trusted_proxies)) return client;
    }
    if (comma == std::string_view::npos) break;
    end = comma;
  }
  return client;
}

// ---- Origin ----

bool same_origin(std::string_view origin_header, std::string_view base_url) {
  origin_header = trim_view(origin_header);
  if (origin_header.empty() || origin_header == "null") return false;
  auto a = parse_origin(origin_header, false);
  auto b = parse_origin(trim_view(base_url), true);
  return a && b && a->scheme == b->scheme && a->host == b->host && a->port == b->port;
}

// ---- the request path ----

std::optional<std::string> decode_path(std::string_view target) {
  constexpr std::size_t max_path_bytes = 2048;
  std::string_view raw = target.substr(0, target.find_first_of("?#"));
  if (raw.empty() || raw.front() != '/' || raw.size() > max_path_bytes) return std::nullopt;
  std::string path;
  path.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '%') {
      int hi = i + 1 < raw.size() ? hex_value(raw[i + 1]) : -1;
      int lo = i + 2 < raw.size() ? hex_value(raw[i + 2]) : -1;
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      if (c == '/' || c == '\\') return std::nullopt;  // an encoded separator would hide a segment
      i += 2;
    } else if (c == '\\') {
      return std::nullopt;
    }
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7F) return std::nullopt;
    path += c;
  }
  if (!valid_utf8(path)) return std::nullopt;
  std::size_t pos = 1;
  while (pos <= path.size()) {
    std::size_t slash = path.find('/', pos);
    std::string_view segment = std::string_view(path).substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    if (segment == "." || segment == "..") return std::nullopt;
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  return path;
}

std::string_view query_of(std::string_view target) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view rest = target.substr(q + 1);
  return rest.substr(0, rest.find('#'));
}

}  // namespace sd::http
