// parser/auth_results.cpp: see auth_results.h. A hand-written scanner over RFC 8601's
// grammar (section 2.2):
//   payload  = [CFWS] authserv-id [CFWS version] (no-result / 1*resinfo) [CFWS]
//   resinfo  = [CFWS] ";" methodspec [CFWS reasonspec] [CFWS 1*propspec]
//   methodspec = [CFWS] method [ [CFWS] "/" [CFWS] version ] [CFWS] "=" [CFWS] result
//   propspec = ptype [CFWS] "." [CFWS] property [CFWS] "=" pvalue
// Comments nest; their depth is counted, not recursed into.
#include "parser/auth_results.h"

#include <cctype>

namespace sd::parser {
namespace {

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  bool at_end() const { return i_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[i_]; }
  bool take(char ch) {
    if (peek() != ch || at_end()) return false;
    ++i_;
    return true;
  }

  // Folding white space and comments; false for a comment that never closes.
  bool skip_cfws() {
    while (!at_end()) {
      char ch = s_[i_];
      if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
        ++i_;
      } else if (ch == '(') {
        std::size_t depth = 0;
        for (; i_ < s_.size(); ++i_) {
          if (s_[i_] == '\\') {
            ++i_;  // a quoted pair: the next byte is text
          } else if (s_[i_] == '(') {
            ++depth;
          } else if (s_[i_] == ')' && --depth == 0) {
            ++i_;
            break;
          }
        }
        if (depth != 0) return false;
      } else {
        break;
      }
    }
    return true;
  }

  // Keyword (RFC 8601): letters, digits and hyphens; returned in lower case.
  std::string keyword() {
    std::string out;
    while (!at_end() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' || s_[i_] == '_'))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(s_[i_++])));
    return out;
  }

  std::string digits() {
    std::string out;
    while (!at_end() && std::isdigit(static_cast<unsigned char>(s_[i_]))) out += s_[i_++];
    return out;
  }

  // A quoted-string without its quotes; false when it never closes.
  bool quoted(std::string& out) {
    if (!take('"')) return false;
    for (; i_ < s_.size(); ++i_) {
      if (s_[i_] == '\\' && i_ + 1 < s_.size()) {
        out += s_[++i_];
      } else if (s_[i_] == '"') {
        ++i_;
        return true;
      } else {
        out += s_[i_];
      }
    }
    return false;
  }

  // A value: a quoted-string, or a run of bytes up to white space, a comment, ";" or a quote.
  // `stop` names further bytes that end the run (the authserv-id's token also stops at "=").
  bool value(std::string& out, std::string_view stop = "") {
    if (peek() == '"') return quoted(out);
    while (!at_end()) {
      char ch = s_[i_];
      if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '(' || ch == ';' || ch == '"' ||
          stop.find(ch) != std::string_view::npos || static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f)
        break;
      out += ch;
      ++i_;
    }
    return !out.empty();
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

// One resinfo after its ";"; false when it does not follow the grammar.
bool read_resinfo(Scanner& sc, AuthResult& r) {
  if (!sc.skip_cfws()) return false;
  r.method = sc.keyword();
  if (r.method.empty() || !sc.skip_cfws()) return false;
  if (sc.take('/')) {
    if (!sc.skip_cfws() || sc.digits().empty() || !sc.skip_cfws()) return false;
  }
  if (!sc.take('=') || !sc.skip_cfws()) return false;
  r.result = sc.keyword();
  if (r.result.empty()) return false;
  for (;;) {
    if (!sc.skip_cfws()) return false;
    if (sc.at_end() || sc.peek() == ';') return true;
    std::string ptype = sc.keyword();
    if (ptype.empty() || !sc.skip_cfws()) return false;
    if (ptype == "reason" && sc.peek() == '=') {
      sc.take('=');
      std::string reason;
      if (!sc.skip_cfws() || !sc.value(reason)) return false;
      continue;
    }
    if (!sc.take('.') || !sc.skip_cfws()) return false;
    std::string property = sc.keyword();
    if (property.empty() || !sc.skip_cfws() || !sc.take('=') || !sc.skip_cfws()) return false;
    std::string v;
    if (!sc.value(v)) return false;
    r.properties.emplace_back(ptype + "." + property, std::move(v));
  }
}

}  // namespace

const std::string* AuthResult::property(std::string_view name) const {
  for (const auto& [k, v] : properties)
    if (k == name) return &v;
  return nullptr;
}

AuthResults parse_authentication_results(std::string_view value) {
  AuthResults out;
  Scanner sc(value);
  if (!sc.skip_cfws() || !sc.value(out.authserv_id, "=")) return out;
  if (!sc.skip_cfws()) return out;
  if (!sc.digits().empty() && !sc.skip_cfws()) return out;  // authres-version
  if (!sc.take(';')) return out;                             // neither no-result nor a resinfo
  {
    // no-result: "; none" and nothing after it.
    Scanner probe = sc;
    if (probe.skip_cfws() && probe.keyword() == "none" && probe.skip_cfws() && probe.at_end()) {
      out.valid = true;
      return out;
    }
  }
  for (;;) {
    AuthResult r;
    if (!read_resinfo(sc, r)) {
      out.results.clear();
      return out;
    }
    out.results.push_back(std::move(r));
    if (sc.at_end()) break;
    sc.take(';');
  }
  out.valid = true;
  return out;
}

}  // namespace sd::parser
