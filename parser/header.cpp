// parser/header.cpp: header fields of one entity: the header block, RFC 2047 encoded words,
// Content-Type / Content-Disposition parameters (RFC 2045, RFC 2231), address lists
// (RFC 5322 with groups and obsolete forms), msg-ids and dates.
//
// These replace mimetic's header and parameter code (see docs/parser.md): mimetic 0.9.8
// reads out of bounds on a value made only of spaces and on an address ending in ':', and
// splits parameters on ';' inside quoted strings.
//
// Security: each scanner is one forward pass; look-aheads are bounded (a charset label in
// an encoded word by kMaxCharsetLabel) or happen once (the search for "?=" that ends an
// encoded word stops all further searching when it fails), so no input is quadratic.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>

#include "parser/internal.h"
#include "parser/parse.h"

namespace sd::parser {
namespace detail {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool all_wsp(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return is_wsp(c); });
}

// Bytes that count against max_header_bytes for each field besides its text: a flood of
// empty fields must not cost far more memory than its size on the wire.
constexpr std::size_t kFieldOverhead = 64;

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// A parameter or display-name value: encoded words decoded, raw bytes made UTF-8.
std::string decode_value(std::string_view raw) {
  if (raw.find("=?") != std::string_view::npos) return decode_header_words(raw);
  return guess_to_utf8(raw);
}

struct RawParam {
  std::string name;  // lower case, as written (may end in '*' or hold "*N")
  std::string value;
};

std::vector<RawParam> split_params(std::string_view s) {
  std::vector<RawParam> out;
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n && out.size() < kMaxParams) {
    while (i < n && (is_wsp(s[i]) || s[i] == ';')) ++i;
    if (i >= n) break;
    const std::size_t name_start = i;
    while (i < n && s[i] != '=' && s[i] != ';') ++i;
    RawParam p;
    p.name = ascii_lower(trim(s.substr(name_start, i - name_start)));
    if (i >= n || s[i] == ';') continue;  // a name without a value: ignored
    ++i;                                  // '='
    while (i < n && is_wsp(s[i])) ++i;
    if (i < n && s[i] == '"') {
      ++i;
      while (i < n && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < n) ++i;
        p.value.push_back(s[i]);
        ++i;
      }
      if (i < n) ++i;                     // closing quote
      while (i < n && s[i] != ';') ++i;  // junk after the quoted string
    } else {
      const std::size_t v = i;
      while (i < n && s[i] != ';') ++i;
      p.value = std::string(trim(s.substr(v, i - v)));
    }
    if (!p.name.empty()) out.push_back(std::move(p));
  }
  return out;
}

bool is_token_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u > 32 && u < 127 && !std::strchr("()<>@,;:\\\"/[]?=", c);
}

}  // namespace

HeaderBlock split_header_block(std::string_view entity, std::size_t max_bytes,
                               bool skip_mbox_from) {
  HeaderBlock block;
  const std::size_t n = entity.size();
  std::size_t pos = 0;
  std::size_t budget_used = 0;
  bool have_field = false;  // the last field is in block.fields (not dropped by the cut)
  if (skip_mbox_from && entity.substr(0, 5) == "From ") {
    const std::size_t nl = entity.find('\n');
    pos = nl == std::string_view::npos ? n : nl + 1;
  }
  const auto append_budgeted = [&](std::string& to, std::string_view text) {
    if (block.cut) return;
    if (budget_used + text.size() > max_bytes) {
      text = text.substr(0, max_bytes - budget_used);
      block.cut = true;
    }
    budget_used += text.size();
    to.append(text);
  };
  while (pos < n) {
    const void* hit = std::memchr(entity.data() + pos, '\n', n - pos);
    const std::size_t line_end =
        hit ? static_cast<std::size_t>(static_cast<const char*>(hit) - entity.data()) : n;
    std::string_view line = entity.substr(pos, line_end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::size_t next = line_end < n ? line_end + 1 : n;
    if (line.empty()) {
      block.body = entity.substr(next);
      return block;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (have_field && !block.cut) append_budgeted(block.fields.back().value, line);
      pos = next;
      continue;
    }
    const std::size_t colon = line.find(':');
    std::string_view name = colon == std::string_view::npos ? std::string_view{} : line.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    const bool valid_name =
        !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
          const auto u = static_cast<unsigned char>(c);
          return u > 32 && u < 127;
        });
    if (!valid_name) {  // not a header line: the body starts here (no blank line written)
      block.body = entity.substr(pos);
      return block;
    }
    have_field = false;
    if (!block.cut && budget_used + kFieldOverhead + name.size() <= max_bytes) {
      budget_used += kFieldOverhead + name.size();
      block.fields.push_back(Header{std::string(name), {}});
      have_field = true;
      append_budgeted(block.fields.back().value, line.substr(colon + 1));
    } else {
      block.cut = true;
    }
    pos = next;
  }
  block.body = entity.substr(n);
  return block;
}

const std::string* find_header(const std::vector<Header>& fields, std::string_view name) {
  for (const Header& h : fields) {
    if (iequals(h.name, name)) return &h.value;
  }
  return nullptr;
}

const std::string* ContentType::param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::vector<std::pair<std::string, std::string>> parse_params(std::string_view s) {
  struct Section {
    unsigned index;
    bool extended;
    std::string value;
  };
  struct Combined {
    std::string plain;          // name=value
    bool has_plain = false;
    std::vector<Section> sections;  // name*=, name*0=, name*1*= ...
  };
  std::vector<std::string> order;
  std::map<std::string, Combined> by_name;
  for (RawParam& p : split_params(s)) {
    std::string base = p.name;
    bool extended = false;
    unsigned index = 0;
    bool sectioned = false;
    if (!base.empty() && base.back() == '*') {
      extended = true;
      base.pop_back();
    }
    if (const auto star = base.find('*'); star != std::string::npos) {
      const std::string digits = base.substr(star + 1);
      if (digits.empty() || digits.size() > 3 ||
          !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        continue;  // not a parameter name we understand
      }
      index = static_cast<unsigned>(std::stoul(digits));
      sectioned = true;
      base.resize(star);
    }
    if (!by_name.count(base)) order.push_back(base);
    Combined& c = by_name[base];
    if (extended || sectioned) {
      c.sections.push_back(Section{index, extended, std::move(p.value)});
    } else if (!c.has_plain) {
      c.plain = std::move(p.value);
      c.has_plain = true;
    }
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& name : order) {
    Combined& c = by_name[name];
    if (c.sections.empty()) {
      out.emplace_back(name, decode_value(c.plain));
      continue;
    }
    std::stable_sort(c.sections.begin(), c.sections.end(),
                     [](const Section& a, const Section& b) { return a.index < b.index; });
    std::string charset;
    std::string bytes;
    bool first = true;
    unsigned last_index = 0;
    for (const Section& sec : c.sections) {
      if (!first && sec.index == last_index) continue;  // duplicated section
      std::string_view v = sec.value;
      if (first && sec.extended) {
        // charset'language'value
        const auto q1 = v.find('\'');
        const auto q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
        if (q2 != std::string_view::npos) {
          charset = std::string(v.substr(0, q1));
          v = v.substr(q2 + 1);
        }
      }
      bytes += sec.extended ? percent_decode(v) : std::string(v);
      first = false;
      last_index = sec.index;
    }
    if (charset.empty() && bytes.find("=?") != std::string::npos) {
      out.emplace_back(name, decode_header_words(bytes));
    } else {
      out.emplace_back(name, to_utf8(bytes, charset));
    }
  }
  return out;
}

ContentType parse_content_type(std::string_view value) {
  // type "/" subtype, then parameters. A missing ';' before the first parameter (seen in
  // the wild: "multipart/mixed\n\tboundary=...") is tolerated.
  ContentType ct;
  const std::size_t n = value.size();
  std::size_t i = 0;
  while (i < n && is_wsp(value[i])) ++i;
  const std::size_t t0 = i;
  while (i < n && is_token_char(value[i])) ++i;
  const std::string_view t = value.substr(t0, i - t0);
  while (i < n && is_wsp(value[i])) ++i;
  std::string_view st;
  if (i < n && value[i] == '/') {
    ++i;
    while (i < n && is_wsp(value[i])) ++i;
    const std::size_t s0 = i;
    while (i < n && is_token_char(value[i])) ++i;
    st = value.substr(s0, i - s0);
  }
  if (!t.empty() && !st.empty() && t.size() <= 127 && st.size() <= 127) {
    ct.type = ascii_lower(t);
    ct.subtype = ascii_lower(st);
    ct.valid = true;
  }
  // Parameters start at the first ';', or right after a valid type.
  std::size_t params = value.find(';', ct.valid ? i : 0);
  if (params == std::string_view::npos && ct.valid && i < n) params = i;
  if (params != std::string_view::npos) ct.params = parse_params(value.substr(params));
  return ct;
}

ContentType parse_disposition(std::string_view value) {
  ContentType d;
  const std::size_t semi = value.find(';');
  const std::string_view word = trim(value.substr(0, semi));
  d.type = word.size() <= 64 && std::all_of(word.begin(), word.end(), is_token_char)
               ? ascii_lower(word)
               : std::string();
  d.subtype.clear();
  d.valid = !d.type.empty();
  if (semi != std::string_view::npos) d.params = parse_params(value.substr(semi + 1));
  return d;
}

namespace {

// Display name: quotes removed (backslash escapes honoured), comments kept as text,
// white space collapsed, encoded words decoded.
std::string clean_display_name(std::string_view raw) {
  std::string unquoted;
  unquoted.reserve(raw.size());
  bool in_quote = false;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '"') {
      in_quote = !in_quote;
    } else if (c == '\\' && in_quote && i + 1 < raw.size()) {
      unquoted.push_back(raw[++i]);
    } else {
      unquoted.push_back(c);
    }
  }
  std::string collapsed;
  collapsed.reserve(unquoted.size());
  for (const char c : unquoted) {
    if (is_wsp(c)) {
      if (!collapsed.empty() && collapsed.back() != ' ') collapsed.push_back(' ');
    } else {
      collapsed.push_back(c);
    }
  }
  return std::string(trim(decode_value(trim(collapsed))));
}

std::string clean_email(std::string_view raw) {
  std::string email;
  email.reserve(raw.size());
  for (const char c : raw) {
    if (!is_wsp(c) && c != '"' && c != '<' && c != '>') email.push_back(c);
  }
  // Obsolete source route "@a,@b:local@domain".
  if (!email.empty() && email.front() == '@') {
    if (const auto colon = email.find(':'); colon != std::string::npos) email.erase(0, colon + 1);
  }
  if (const auto at = email.rfind('@'); at != std::string::npos) {
    for (std::size_t i = at + 1; i < email.size(); ++i) {
      if (email[i] >= 'A' && email[i] <= 'Z') email[i] = static_cast<char>(email[i] - 'A' + 'a');
    }
  }
  return guess_to_utf8(email);
}

void parse_mailbox(std::string_view piece, std::vector<Address>& out) {
  piece = trim(piece);
  if (piece.empty() || out.size() >= kMaxAddresses) return;
  // Find '<' outside quotes and comments.
  bool in_quote = false;
  std::size_t comment = 0;
  std::size_t lt = std::string_view::npos;
  std::string comment_text;
  std::string without_comments;
  for (std::size_t i = 0; i < piece.size(); ++i) {
    const char c = piece[i];
    if (in_quote) {
      if (c == '\\' && i + 1 < piece.size()) {
        without_comments.push_back(c);
        without_comments.push_back(piece[++i]);
        continue;
      }
      if (c == '"') in_quote = false;
      without_comments.push_back(c);
      continue;
    }
    if (comment > 0) {
      if (c == '(') ++comment;
      else if (c == ')') --comment;
      if (comment > 0) comment_text.push_back(c);
      continue;
    }
    if (c == '(') {
      comment = 1;
      if (!comment_text.empty()) comment_text.push_back(' ');
      continue;
    }
    if (c == '"') in_quote = true;
    if (c == '<' && lt == std::string_view::npos) lt = i;
    without_comments.push_back(c);
  }
  Address a;
  if (lt != std::string_view::npos) {
    std::string_view rest = piece.substr(lt + 1);
    const std::size_t gt = rest.find('>');
    a.email = clean_email(rest.substr(0, gt));
    a.name = clean_display_name(piece.substr(0, lt));
  } else {
    a.email = clean_email(without_comments);
    a.name = clean_display_name(comment_text);
    if (a.email.find('@') == std::string::npos && a.name.empty() && !a.email.empty()) {
      // A bare word or phrase with no address: keep it as a name (e.g. "undisclosed").
      a.name = clean_display_name(without_comments);
      a.email.clear();
    }
  }
  if (!a.email.empty() || !a.name.empty()) out.push_back(std::move(a));
}

}  // namespace

std::vector<Address> parse_address_list(std::string_view value) {
  std::vector<Address> out;
  bool in_quote = false;
  bool in_angle = false;
  std::size_t comment = 0;
  std::size_t start = 0;
  const std::size_t n = value.size();
  for (std::size_t i = 0; i < n; ++i) {
    const char c = value[i];
    if (in_quote) {
      if (c == '\\') ++i;
      else if (c == '"') in_quote = false;
      continue;
    }
    if (comment > 0) {
      if (c == '(') ++comment;
      else if (c == ')') --comment;
      continue;
    }
    switch (c) {
      case '"': in_quote = true; break;
      case '(': comment = 1; break;
      case '<': in_angle = true; break;
      case '>': in_angle = false; break;
      case ',':
        if (!in_angle) {
          parse_mailbox(value.substr(start, i - start), out);
          start = i + 1;
        }
        break;
      case ':':
        if (!in_angle) start = i + 1;  // group name: dropped, its members are kept
        break;
      case ';':
        if (!in_angle) {
          parse_mailbox(value.substr(start, i - start), out);
          start = i + 1;
        }
        break;
      default: break;
    }
  }
  if (start < n) parse_mailbox(value.substr(start), out);
  return out;
}

std::vector<std::string> parse_msg_ids(std::string_view value) {
  std::vector<std::string> ids;
  std::size_t pos = 0;
  while (pos < value.size()) {
    const std::size_t lt = value.find('<', pos);
    if (lt == std::string_view::npos) break;
    const std::size_t gt = value.find('>', lt + 1);
    if (gt == std::string_view::npos) break;
    const std::string_view id = trim(value.substr(lt + 1, gt - lt - 1));
    if (!id.empty()) ids.push_back(guess_to_utf8(id));
    if (ids.size() >= kMaxMsgIds) break;
    pos = gt + 1;
  }
  if (ids.empty()) {  // ids written without angle brackets
    std::size_t i = 0;
    while (i < value.size()) {
      while (i < value.size() && (is_wsp(value[i]) || value[i] == ',')) ++i;
      const std::size_t s = i;
      while (i < value.size() && !is_wsp(value[i]) && value[i] != ',') ++i;
      if (i > s) ids.push_back(guess_to_utf8(value.substr(s, i - s)));
      if (ids.size() >= kMaxMsgIds) break;
    }
  }
  return ids;
}

namespace {

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

int month_from_name(std::string_view t) {
  static constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                 "jul", "aug", "sep", "oct", "nov", "dec"};
  if (t.size() < 3) return 0;
  for (int i = 0; i < 12; ++i) {
    if (iequals(t.substr(0, 3), kMonths[i])) return i + 1;
  }
  return 0;
}

bool all_digits(std::string_view t) {
  return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int to_int(std::string_view t) {
  int v = 0;
  for (const char c : t.substr(0, 9)) v = v * 10 + (c - '0');
  return v;
}

// Zone offset in seconds east of UTC; false if `t` is not a zone.
bool zone_offset(std::string_view t, int& offset) {
  if ((t.front() == '+' || t.front() == '-') && t.size() >= 3) {
    std::string digits;
    for (const char c : t.substr(1)) {
      if (c >= '0' && c <= '9') digits.push_back(c);
      else if (c != ':') return false;
    }
    if (digits.size() != 4 && digits.size() != 2) return false;
    const int hh = to_int(std::string_view(digits).substr(0, 2));
    const int mm = digits.size() == 4 ? to_int(std::string_view(digits).substr(2, 2)) : 0;
    if (hh > 23 || mm > 59) return false;
    offset = (hh * 3600 + mm * 60) * (t.front() == '-' ? -1 : 1);
    return true;
  }
  struct Named {
    std::string_view name;
    int hours;
  };
  static constexpr Named kZones[] = {{"ut", 0},   {"utc", 0},  {"gmt", 0},  {"z", 0},
                                     {"est", -5}, {"edt", -4}, {"cst", -6}, {"cdt", -5},
                                     {"mst", -7}, {"mdt", -6}, {"pst", -8}, {"pdt", -7},
                                     {"cet", 1},  {"cest", 2}, {"bst", 1},  {"met", 1},
                                     {"mest", 2}, {"eet", 2},  {"eest", 3}};
  for (const Named& z : kZones) {
    if (iequals(t, z.name)) {
      offset = z.hours * 3600;
      return true;
    }
  }
  if (t.size() == 1 && std::isalpha(static_cast<unsigned char>(t[0]))) {
    offset = 0;  // military zones: RFC 5322 says treat as -0000
    return true;
  }
  return false;
}

}  // namespace

std::optional<std::int64_t> parse_date(std::string_view value) {
  // Tokens: comments dropped, ',' as space; at most a dozen are looked at.
  std::vector<std::string_view> tokens;
  std::size_t i = 0;
  const std::size_t n = std::min<std::size_t>(value.size(), 256);
  value = value.substr(0, n);
  while (i < n && tokens.size() < 12) {
    const char c = value[i];
    if (is_wsp(c) || c == ',') {
      ++i;
      continue;
    }
    if (c == '(') {
      std::size_t depth = 0;
      for (; i < n; ++i) {
        if (value[i] == '(') ++depth;
        else if (value[i] == ')' && --depth == 0) break;
      }
      ++i;
      continue;
    }
    const std::size_t s = i;
    while (i < n && !is_wsp(value[i]) && value[i] != ',' && value[i] != '(') ++i;
    tokens.push_back(value.substr(s, i - s));
  }
  std::size_t k = 0;
  if (k < tokens.size() && !all_digits(tokens[k]) && month_from_name(tokens[k]) == 0) ++k;  // day name
  if (k < tokens.size() && !all_digits(tokens[k]) && month_from_name(tokens[k]) == 0) ++k;  // "Mon." "Mon,"
  int day = 0, month = 0, year = -1;
  std::string_view time;
  std::string_view zone;
  if (k + 2 < tokens.size() && all_digits(tokens[k]) && month_from_name(tokens[k + 1]) &&
      all_digits(tokens[k + 2])) {
    // RFC 5322: day month year time zone
    day = to_int(tokens[k]);
    month = month_from_name(tokens[k + 1]);
    year = to_int(tokens[k + 2]);
    if (tokens[k + 2].size() == 2) year += year < 50 ? 2000 : 1900;
    else if (tokens[k + 2].size() == 3) year += 1900;
    if (k + 3 < tokens.size()) time = tokens[k + 3];
    if (k + 4 < tokens.size()) zone = tokens[k + 4];
  } else if (k + 3 < tokens.size() && month_from_name(tokens[k]) && all_digits(tokens[k + 1])) {
    // asctime: month day time year [zone]
    month = month_from_name(tokens[k]);
    day = to_int(tokens[k + 1]);
    time = tokens[k + 2];
    if (!all_digits(tokens[k + 3])) return std::nullopt;
    year = to_int(tokens[k + 3]);
    if (k + 4 < tokens.size()) zone = tokens[k + 4];
  } else {
    return std::nullopt;
  }
  int hh = 0, mm = 0, ss = 0;
  {
    // hh:mm[:ss] (also '.' as separator, an obsolete form seen in the wild)
    int fields[3] = {0, 0, 0};
    int count = 0;
    std::size_t p = 0;
    while (p < time.size() && count < 3) {
      const std::size_t s = p;
      while (p < time.size() && time[p] >= '0' && time[p] <= '9') ++p;
      if (p == s || p - s > 2) return std::nullopt;
      fields[count++] = to_int(time.substr(s, p - s));
      if (p < time.size() && (time[p] == ':' || time[p] == '.')) ++p;
      else break;
    }
    if (count < 2) return std::nullopt;
    hh = fields[0];
    mm = fields[1];
    ss = fields[2];
  }
  if (day < 1 || day > 31 || month < 1 || year < 1900 || year > 9999 || hh > 23 || mm > 59 ||
      ss > 60) {
    return std::nullopt;
  }
  int offset = 0;
  if (!zone.empty() && !zone_offset(zone, offset)) offset = 0;  // unknown zone: UTC
  const std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return days * 86400 + hh * 3600 + mm * 60 + ss - offset;
}

}  // namespace detail

std::string decode_header_words(std::string_view value) {
  using namespace detail;
  std::string out;
  std::string literal;       // raw bytes between encoded words, converted on flush
  std::string pending;       // decoded bytes of adjacent encoded words in one charset
  std::string pending_charset;
  const auto flush_literal = [&] {
    if (!literal.empty()) {
      out += guess_to_utf8(literal);
      literal.clear();
    }
  };
  const auto flush_pending = [&] {
    if (!pending.empty()) {
      out += to_utf8(pending, pending_charset);
      pending.clear();
    }
  };
  const std::size_t n = value.size();
  std::size_t i = 0;
  bool last_was_word = false;
  bool no_more_ends = false;  // once "?=" is not found, it will not be found later either
  while (i < n) {
    const std::size_t p = no_more_ends ? std::string_view::npos : value.find("=?", i);
    if (p == std::string_view::npos) {
      // The rest is plain text: converted straight into `out`, not copied to `literal` first.
      flush_pending();
      flush_literal();
      out += guess_to_utf8(value.substr(i));
      break;
    }
    // =?charset?E?text?=
    bool word = false;
    std::size_t end = 0;
    std::string_view charset;
    char encoding = 0;
    std::size_t text_start = 0;
    const std::size_t limit = std::min(n, p + 2 + kMaxCharsetLabel + 1);
    std::size_t q = p + 2;
    while (q < limit && value[q] != '?' && !is_wsp(value[q])) ++q;
    if (q < limit && value[q] == '?' && q > p + 2 && q + 2 < n && value[q + 2] == '?') {
      encoding = value[q + 1];
      if (encoding == 'B' || encoding == 'b' || encoding == 'Q' || encoding == 'q') {
        charset = value.substr(p + 2, q - p - 2);
        text_start = q + 3;
        end = value.find("?=", text_start);
        if (end == std::string_view::npos) no_more_ends = true;
        else word = true;
      }
    }
    if (!word) {
      flush_pending();
      literal.append(value.substr(i, p + 2 - i));
      i = p + 2;
      last_was_word = false;
      continue;
    }
    const std::string_view between = value.substr(i, p - i);
    if (!(last_was_word && all_wsp(between))) {
      flush_pending();
      literal.append(between);
    }
    flush_literal();
    const std::string_view text = value.substr(text_start, end - text_start);
    std::string decoded =
        (encoding == 'B' || encoding == 'b') ? decode_base64(text) : decode_q(text);
    std::string cs = canonical_charset(charset);
    if (!pending.empty() && cs != pending_charset) flush_pending();
    pending_charset = std::move(cs);
    pending += decoded;
    i = end + 2;
    last_was_word = true;
  }
  flush_pending();
  flush_literal();
  return out;
}

}  // namespace sd::parser
