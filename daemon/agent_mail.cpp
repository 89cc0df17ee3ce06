// daemon/agent_mail.cpp: see agent_mail.h.
#include "daemon/agent_mail.h"

#include "daemon/ingest.h"
#include "daemon/text.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <regex>
#include <sstream>

namespace sd {
namespace {

// "1h30m", "15m", "2h", "90" (minutes) -> seconds; nullopt when malformed.
std::optional<std::int64_t> parse_duration(const std::string& s) {
  static const std::regex re(R"(^(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?$|^(\d+)$)", std::regex::icase);
  std::smatch m;
  if (s.empty() || !std::regex_match(s, m, re)) return std::nullopt;
  if (m[3].matched) return std::stoll(m[3]) * 60;
  if (!m[1].matched && !m[2].matched) return std::nullopt;
  std::int64_t h = m[1].matched ? std::stoll(m[1]) : 0, min = m[2].matched ? std::stoll(m[2]) : 0;
  if (h > 1000 || min > 100000) return std::nullopt;
  return h * 3600 + min * 60;
}

}  // namespace

std::string token_secret(const Config& c) {
  return c.agents.token_secret_file.empty() ? "" : read_secret(c.agents.token_secret_file, "agents' token secret");
}

std::string agent_token(const std::string& secret, const std::string& ticket_ref, const std::string& recipient) {
  std::string data = lower(ticket_ref) + "\n" + lower(recipient);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), md, &len);
  std::string hex;
  for (unsigned i = 0; i < 10; ++i) hex += fmt::format("{:02x}", md[i]);  // 80 bits: ample against guessing
  return hex;
}

std::string agent_reply_address(const Config& c, const std::string& secret, std::int64_t ticket,
                                const std::string& recipient) {
  const auto& a = c.service.address;
  auto at = a.find('@');
  std::string ref = ticket_ref(c, ticket);
  return fmt::format("{}+{}.{}{}", a.substr(0, at), ref, agent_token(secret, ref, recipient), a.substr(at));
}

std::optional<PlusAddress> find_plus_address(const Config& c, const parser::ParsedMail& m) {
  const auto& own = c.service.address;
  auto at = own.find('@');
  std::string local = lower(own.substr(0, at)) + "+", domain = lower(own.substr(at));
  auto check = [&](const std::string& addr) -> std::optional<PlusAddress> {
    std::string a = lower(addr);
    if (a.rfind(local, 0) != 0 || a.size() <= domain.size() || a.compare(a.size() - domain.size(), domain.size(), domain) != 0)
      return std::nullopt;
    std::string detail = a.substr(local.size(), a.size() - domain.size() - local.size());  // sd-42.token
    auto dot = detail.find('.');
    if (dot == std::string::npos) return std::nullopt;
    auto id = parse_ticket_ref(c, detail.substr(0, dot));
    if (!id) return std::nullopt;
    return PlusAddress{*id, detail.substr(dot + 1)};
  };
  for (const auto* list : {&m.to, &m.cc})
    for (const auto& x : *list)
      if (auto p = check(x.email)) return p;
  for (const char* h : {"Delivered-To", "X-Original-To"})
    if (auto* v = m.header(h))
      if (auto p = check(trim(*v))) return p;
  return std::nullopt;
}

bool token_valid(const std::string& secret, const std::string& ticket_ref, const std::string& recipient,
                 const std::string& token) {
  if (secret.empty() || token.empty()) return false;
  std::string expected = agent_token(secret, ticket_ref, recipient);
  return expected.size() == token.size() && CRYPTO_memcmp(expected.data(), token.data(), token.size()) == 0;
}

bool authenticated_by_trusted_server(const Config& c, const parser::ParsedMail& m) {
  if (c.agents.trusted_authserv_ids.empty()) return false;
  std::string from_domain = lower(m.from.email.substr(m.from.email.find('@') + 1));
  for (const auto& h : m.headers) {
    if (lower(h.name) != "authentication-results") continue;
    std::string v = lower(h.value);
    std::string authserv = trim(v.substr(0, v.find(';')));
    authserv = authserv.substr(0, authserv.find(' '));
    bool trusted = std::any_of(c.agents.trusted_authserv_ids.begin(), c.agents.trusted_authserv_ids.end(),
                               [&](const std::string& id) { return lower(id) == authserv; });
    if (!trusted) continue;
    if (v.find("dmarc=pass") != std::string::npos) return true;
    static const std::regex dkim(R"(dkim=pass[^;]*header\.(?:d|i)=@?([a-z0-9.-]+))");
    for (std::sregex_iterator it(v.begin(), v.end(), dkim), end; it != end; ++it)
      if ((*it)[1] == from_domain) return true;
  }
  return false;
}

AgentCommands parse_agent_commands(const std::string& new_text) {
  AgentCommands cmd;
  std::istringstream in(new_text);
  std::string line, rest;
  bool in_commands = true;
  auto one_of = [](const std::string& v, std::initializer_list<const char*> ok) {
    return std::any_of(ok.begin(), ok.end(), [&](const char* o) { return v == o; });
  };
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
    std::string larg = lower(arg);
    if (word == "status" && one_of(larg, {"open", "pending", "resolved", "closed"})) cmd.status = larg;
    else if (word == "resolve" && arg.empty()) cmd.resolve = true;
    else if (word == "priority" && one_of(larg, {"highest", "high", "medium", "low", "lowest"})) cmd.priority = larg;
    else if (word == "category" && one_of(larg, {"incident", "support", "order", "feature"})) cmd.category = larg;
    else if (word == "assign" && (larg == "me" || (larg.find('@') != std::string::npos && larg.find(' ') == std::string::npos)))
      cmd.assign = larg;
    else if (word == "time" && parse_duration(larg)) cmd.time_s += *parse_duration(larg);
    else if (word == "note" && arg.empty()) cmd.note = true;
    else cmd.errors.push_back(fmt::format("'{}': {}", t,
                                          one_of(word, {"status", "resolve", "priority", "category", "assign", "time", "note"})
                                              ? "this value is not understood"
                                              : "unknown command"));
  }
  if (cmd.resolve) cmd.status = "resolved";
  auto b = rest.find_first_not_of("\n");
  cmd.text = b == std::string::npos ? "" : rest.substr(b);
  while (!cmd.text.empty() && (cmd.text.back() == '\n' || cmd.text.back() == ' ')) cmd.text.pop_back();
  return cmd;
}

}  // namespace sd
