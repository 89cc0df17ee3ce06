// desk/agent_mail.cpp: see agent_mail.h.
#include "desk/agent_mail.h"

#include "core/text.h"
#include "core/vocabulary.h"
#include "desk/ingest.h"
#include "notify/compose.h"
#include "parser/auth_results.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <sstream>

namespace sd {

// "1h30m", "1h 30 min", "15m", "15min", "2h", "90" (minutes) -> seconds; nullopt when
// malformed, above 1000 hours or 100,000 minutes. Scanned by hand, not by regex: the text is
// the mail's (std::regex recursed per digit and 200,000 of them killed the daemon), and a
// number has at most 9 digits, so it cannot overflow.
std::optional<std::int64_t> parse_duration(const std::string& s) {
  std::size_t i = 0;
  auto spaces = [&] {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n' || s[i] == '\f' || s[i] == '\v')) ++i;
  };
  auto at = [&](char ch) { return i < s.size() && (s[i] | 0x20) == ch; };  // ASCII letters, any case
  auto number = [&]() -> std::optional<std::int64_t> {
    std::int64_t v = 0;
    std::size_t start = i;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      if (i - start == 9) return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    if (i == start) return std::nullopt;
    return v;
  };
  spaces();
  auto first = number();
  if (!first) return std::nullopt;
  if (i == s.size()) return *first <= 100000 ? std::optional(*first * 60) : std::nullopt;  // "90": minutes
  std::int64_t h = 0, min = 0;
  spaces();
  if (at('h')) {
    h = *first;
    ++i;
    spaces();
    if (i == s.size()) return h <= 1000 ? std::optional(h * 3600) : std::nullopt;
    auto m = number();
    if (!m) return std::nullopt;
    min = *m;
    spaces();
  } else {
    min = *first;
  }
  if (!at('m')) return std::nullopt;
  ++i;
  if (at('i') && i + 1 < s.size() && (s[i + 1] | 0x20) == 'n') i += 2;
  if (i != s.size() || h > 1000 || min > 100000) return std::nullopt;
  return h * 3600 + min * 60;
}

namespace {

constexpr std::int64_t kDay = 86400;
constexpr std::size_t kMacHex = kTokenMacHex;
constexpr std::size_t kDayDigits = kTokenDayDigits;

std::string domain_part(const std::string& address) {
  auto at = address.rfind('@');
  return at == std::string::npos ? "" : lower(address.substr(at + 1));
}

}  // namespace

std::string token_mac_hex(const std::string& secret, const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), md, &len);
  std::string hex;
  for (unsigned i = 0; i < kMacHex / 2; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

bool same_secret_text(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string agent_token(const std::string& secret, const std::string& ticket_ref, const std::string& recipient,
                        std::int64_t issue_day) {
  std::string day = std::to_string(issue_day);
  return day + "." + token_mac_hex(secret, lower(ticket_ref) + "\n" + lower(recipient) + "\n" + day);
}

std::string agent_reply_address(const Config& c, const std::string& secret, std::int64_t ticket,
                                const std::string& recipient, store::Time now) {
  const auto& a = c.service.address;
  auto at = a.find('@');
  std::string ref = ticket_ref(c, ticket);
  return fmt::format("{}+{}.{}{}", a.substr(0, at), ref, agent_token(secret, ref, recipient, now / kDay), a.substr(at));
}

namespace {

// servicedesk+SD-42.<kSendTimeToken>@example.com
std::string placeholder_address(const Config& c, std::int64_t ticket) {
  const auto& a = c.service.address;
  auto at = a.find('@');
  return fmt::format("{}+{}.{}{}", a.substr(0, at), ticket_ref(c, ticket), kSendTimeToken, a.substr(at));
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && lower(std::string(s.substr(0, prefix.size()))) == prefix;
}

}  // namespace

std::string agent_reply_to(const Config& c, const std::string& secret, std::int64_t ticket,
                           const std::string& recipient, store::Time now) {
  if (!secret.empty()) return agent_reply_address(c, secret, ticket, recipient, now);
  if (!c.agents.token_secret_file.empty() && c.service.address.find('@') != std::string::npos)
    return placeholder_address(c, ticket);
  return c.service.address;
}

std::optional<ReplyToField> first_reply_to(std::string_view mail) {
  // The header section ends at the first empty line; what follows is the body, never read.
  auto end = mail.find("\r\n\r\n");
  if (end == std::string_view::npos) return std::nullopt;
  std::string_view header = mail.substr(0, end + 2);
  // The first field named Reply-To, with its continuation lines.
  std::size_t field = std::string_view::npos;
  for (std::size_t pos = 0; pos < header.size();) {
    auto eol = header.find("\r\n", pos);
    if (eol == std::string_view::npos) break;
    if (starts_with_nocase(header.substr(pos), "reply-to:")) {
      field = pos;
      break;
    }
    pos = eol + 2;
  }
  if (field == std::string_view::npos) return std::nullopt;
  std::size_t field_end = field;
  do {
    field_end = header.find("\r\n", field_end) + 2;
  } while (field_end < header.size() && (header[field_end] == ' ' || header[field_end] == '\t'));
  return ReplyToField{field, header.substr(field, field_end - field)};
}

std::optional<std::string> replace_reply_to_address(std::string_view mail, const std::string& placeholder,
                                                    const std::string& filled) {
  auto field = first_reply_to(mail);
  if (!field) return std::nullopt;
  std::string_view value = field->value;
  auto at = value.find(placeholder);
  // The whole address, as compose() writes a mailbox: <addr> or the bare addr-spec.
  auto before = at == std::string_view::npos || at == 0 ? '\0' : value[at - 1];
  auto after = at == std::string_view::npos || at + placeholder.size() >= value.size() ? '\0' : value[at + placeholder.size()];
  if (!((before == '<' && after == '>') || ((before == ' ' || before == ':') && (after == '\r' || after == ','))))
    return std::nullopt;
  std::string out;
  out.reserve(mail.size() + filled.size());
  out.append(mail.substr(0, field->at + at));
  out.append(filled);
  out.append(mail.substr(field->at + at + placeholder.size()));
  return out;
}

std::optional<std::string> fill_send_time_token(std::string_view mail, const Config& c, const std::string& secret,
                                                std::int64_t ticket, const std::string& recipient, store::Time now) {
  if (c.service.address.find('@') == std::string::npos) return std::nullopt;
  std::string filled = secret.empty() ? c.service.address : agent_reply_address(c, secret, ticket, recipient, now);
  return replace_reply_to_address(mail, placeholder_address(c, ticket), filled);
}

std::optional<PlusAddress> find_plus_address(const Config& c, const parser::ParsedMail& m) {
  const auto& own = c.service.address;
  auto at = own.find('@');
  std::string local = lower(own.substr(0, at)) + "+", domain = lower(own.substr(at));
  auto check = [&](const std::string& addr) -> std::optional<PlusAddress> {
    std::string a = lower(addr);
    if (a.rfind(local, 0) != 0 || a.size() <= domain.size() || a.compare(a.size() - domain.size(), domain.size(), domain) != 0)
      return std::nullopt;
    std::string detail = a.substr(local.size(), a.size() - domain.size() - local.size());  // sd-42.day.mac
    auto dot = detail.find('.');
    auto id = parse_ticket_ref(c, detail.substr(0, dot));
    if (!id) return std::nullopt;
    return PlusAddress{*id, dot == std::string::npos ? "" : detail.substr(dot + 1)};
  };
  for (const auto* list : {&m.to, &m.cc})
    for (const auto& x : *list)
      if (auto p = check(x.email)) return p;
  return std::nullopt;
}

TokenCheck check_token(const std::string& secret, const std::string& ticket_ref, const std::string& recipient,
                       const std::string& token, store::Time now, int token_days,
                       std::optional<store::Time> legacy_until) {
  if (secret.empty() || token.empty()) return TokenCheck::wrong;
  auto dot = token.find('.');
  if (dot == std::string::npos) {
    // The format before issue days: HMAC over ticket and recipient alone.
    if (!legacy_until || now > *legacy_until) return TokenCheck::wrong;
    return same_secret_text(token_mac_hex(secret, lower(ticket_ref) + "\n" + lower(recipient)), token) ? TokenCheck::valid
                                                                                                : TokenCheck::wrong;
  }
  std::string day_text = token.substr(0, dot);
  if (day_text.empty() || day_text.size() > kDayDigits ||
      !std::all_of(day_text.begin(), day_text.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
    return TokenCheck::wrong;
  std::int64_t day = std::stoll(day_text);
  std::string expected = agent_token(secret, ticket_ref, recipient, day);
  if (!same_secret_text(expected, token)) return TokenCheck::wrong;
  std::int64_t today = now / kDay;
  if (day > today + 1) return TokenCheck::wrong;  // issued in the future: not ours
  return today - day > token_days ? TokenCheck::expired : TokenCheck::valid;
}

bool authenticated_by_trusted_server(const Config& c, const parser::ParsedMail& m) {
  if (c.agents.trusted_authserv_ids.empty() || m.from_ambiguous) return false;
  std::string from_domain = domain_part(m.from.email);
  if (from_domain.empty()) return false;
  for (const auto& h : m.headers) {
    if (lower(h.name) != "authentication-results") continue;
    auto ar = parser::parse_authentication_results(h.value);
    std::string id = lower(ar.authserv_id);
    bool trusted = std::any_of(c.agents.trusted_authserv_ids.begin(), c.agents.trusted_authserv_ids.end(),
                               [&](const std::string& t) { return lower(t) == id; });
    if (!trusted) continue;
    // The operator's MTA adds its own header above all others: only the topmost trusted one
    // counts, and everything below it may be the sender's forgery.
    for (const auto& r : ar.results) {
      if (r.result != "pass") continue;
      const std::string* domain = r.method == "dmarc" ? r.property("header.from")
                                  : r.method == "dkim" ? r.property("header.d")
                                                       : nullptr;
      if (domain && lower(*domain) == from_domain) return true;
    }
    return false;
  }
  return false;
}

AgentPath judge_agent_mail(const AgentMailFacts& f) {
  if (!f.registered_agent) return AgentPath::customer;
  if (f.automatic) return AgentPath::note_automatic;
  if (f.token == TokenCheck::valid) return AgentPath::apply;
  if (f.token == TokenCheck::expired) return AgentPath::note_expired;
  return f.trusted_pass ? AgentPath::apply : AgentPath::note_unauthenticated;
}

namespace {

// The agents' commands: what each reads, and its line in the help text of agents' mails.
struct CommandSpec {
  const char* word;
  std::string help;  // the argument as the help shows it; empty: none
  bool (*apply)(const std::string& arg, AgentCommands& cmd);  // false: the argument is not understood
  bool keeps_case = false;  // the argument as written (a text for the customer), else in lower case
};

template <class E, std::size_t N>
bool set_if_named(const std::array<E, N>& values, const std::string& arg, std::optional<std::string>& field,
                  bool (*allowed)(E) = nullptr) {
  for (auto v : values)
    if (arg == to_string(v) && (!allowed || allowed(v))) {
      field = arg;
      return true;
    }
  return false;
}

const std::vector<CommandSpec>& commands() {
  static const std::vector<CommandSpec> table = {
      {"status",
       [] {
         std::string names;
         for (auto st : kStatuses)
           if (settable_status(st)) names += (names.empty() ? "" : "|") + std::string(to_string(st));
         return names;
       }(),
       [](const std::string& a, AgentCommands& c) { return set_if_named(kStatuses, a, c.status, settable_status); }},
      {"resolve", "", [](const std::string& a, AgentCommands& c) { return a.empty() && (c.resolve = true); }},
      {"priority", names_of(kPriorities),
       [](const std::string& a, AgentCommands& c) { return set_if_named(kPriorities, a, c.priority); }},
      {"category", names_of(kCategories),
       [](const std::string& a, AgentCommands& c) { return set_if_named(kCategories, a, c.category); }},
      {"assign", "someone@example.com|me",
       [](const std::string& a, AgentCommands& c) {
         if (a != "me" && (a.find('@') == std::string::npos || a.find(' ') != std::string::npos)) return false;
         c.assign = a;
         return true;
       }},
      {"time", "15m|1h30m",
       [](const std::string& a, AgentCommands& c) {
         auto d = parse_duration(a);
         if (d) c.time_s += *d;
         return d.has_value();
       }},
      {"note", "", [](const std::string& a, AgentCommands& c) { return a.empty() && (c.note = true); }},
      {"cc", "add someone@example.com|remove someone@example.com",
       [](const std::string& a, AgentCommands& c) {
         auto sp = a.find(' ');
         std::string verb = a.substr(0, sp), addr = sp == std::string::npos ? "" : trim(a.substr(sp));
         if ((verb != "add" && verb != "remove") || !notify::valid_addr_spec(addr)) return false;
         c.cc.push_back({verb == "add", addr});
         return true;
       }},
      {"attachments", "", [](const std::string& a, AgentCommands& c) { return a.empty() && (c.attachments = true); }},
      {"requester", "customer@example.com (a new mail to the desk address)",
       [](const std::string& a, AgentCommands& c) {
         if (!notify::valid_addr_spec(a)) return false;
         c.requester = a;
         return true;
       }},
      {"estimate", "3h what the work is (the customer approves it)",
       [](const std::string& a, AgentCommands& c) {
         // The duration is the first word ("3h", "1h30m", "90m"), the rest says what the work is.
         auto sp = a.find_first_of(" \t");
         auto d = parse_duration(a.substr(0, sp));
         if (!d || *d <= 0 || sp == std::string::npos || trim(a.substr(sp)).empty() || c.estimate_s > 0) return false;
         c.estimate_s = *d;
         c.estimate_text = trim(a.substr(sp));
         return true;
       },
       true},
      // Major incidents (desk/incidents.h).
      {"incident", "new TITLE|SD-100|none",
       [](const std::string& a, AgentCommands& c) {
         auto sp = a.find(' ');
         if (lower(a.substr(0, sp)) == "new") {
           std::string title = sp == std::string::npos ? "" : trim(a.substr(sp));
           if (title.empty()) return false;
           c.incident_new = title;
           return true;
         }
         if (a.empty() || sp != std::string::npos) return false;
         c.incident = lower(a);
         return true;
       },
       true},
      {"incident-key", "KEY (on an incident)",
       [](const std::string& a, AgentCommands& c) {
         if (a.empty()) return false;
         c.incident_keys.push_back(a);
         return true;
       },
       true},
      {"incident-orgs", "all|A,B (on an incident: organisations it affects too)",
       [](const std::string& a, AgentCommands& c) { return !a.empty() && !c.incident_orgs && (c.incident_orgs = a, true); },
       true},
      {"broadcast", "(on an incident: your words to every customer it affects)",
       [](const std::string& a, AgentCommands& c) { return a.empty() && (c.broadcast = true); }},
      {"rca", "TEXT (an incident's root cause)",
       [](const std::string& a, AgentCommands& c) { return !a.empty() && (c.rca = a, true); }, true},
      {"followup", "TEXT (an incident's follow-up)",
       [](const std::string& a, AgentCommands& c) { return !a.empty() && (c.followup = a, true); }, true},
  };
  return table;
}

}  // namespace

bool settable_status(Status s) { return s != Status::new_ && s != Status::awaiting_approval; }

std::string agent_commands_help() {
  std::string out, line;
  for (const auto& spec : commands()) {
    std::string item = std::string("#") + spec.word + (spec.help.empty() ? "" : " " + spec.help);
    if (!line.empty() && line.size() + 3 + item.size() > 100) {
      out += "  " + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : "   ") + item;
  }
  return out + "  " + line + "\n";
}

AgentCommands parse_agent_commands(const std::string& new_text) {
  AgentCommands cmd;
  std::istringstream in(new_text);
  std::string line, rest;
  bool in_commands = true;
  while (std::getline(in, line)) {
    std::string t = trim(line);
    if (in_commands && t.empty()) continue;
    if (!in_commands || t[0] != '#') {
      in_commands = false;
      rest += line + "\n";
      continue;
    }
    auto sp = t.find_first_of(" \t");
    std::string word = lower(t.substr(1, sp == std::string::npos ? std::string::npos : sp - 1));
    std::string arg = sp == std::string::npos ? "" : trim(t.substr(sp));
    auto spec = std::find_if(commands().begin(), commands().end(), [&](auto& c) { return word == c.word; });
    if (spec == commands().end()) cmd.errors.push_back(fmt::format("'{}': unknown command", t));
    else if (!spec->apply(spec->keeps_case ? arg : lower(arg), cmd))
      cmd.errors.push_back(fmt::format("'{}': this value is not understood", t));
  }
  if (cmd.resolve) cmd.status = std::string(to_string(Status::resolved));
  auto b = rest.find_first_not_of("\n");
  cmd.text = b == std::string::npos ? "" : rest.substr(b);
  while (!cmd.text.empty() && (cmd.text.back() == '\n' || cmd.text.back() == ' ')) cmd.text.pop_back();
  return cmd;
}

}  // namespace sd
