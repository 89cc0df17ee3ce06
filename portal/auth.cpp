// portal/auth.cpp: see auth.h.
#include "portal/auth.h"

#include "desk/from_portal.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdexcept>

namespace sd::portal {
namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string hex(const unsigned char* p, std::size_t n) {
  std::string s;
  s.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    s += kHex[p[i] >> 4];
    s += kHex[p[i] & 0xf];
  }
  return s;
}

}  // namespace

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    throw std::runtime_error("the random generator failed: no token made");
  auto s = hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  OPENSSL_cleanse(raw.data(), raw.size());
  return s;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return hex(digest, sizeof digest);
}

bool same_secret(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty() || a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool looks_like_token(std::string_view s) {
  if (s.size() < 16 || s.size() > 64) return false;
  for (char ch : s)
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return false;
  return true;
}

std::string normal_address(std::string_view typed) {
  while (!typed.empty() && (typed.front() == ' ' || typed.front() == '\t')) typed.remove_prefix(1);
  while (!typed.empty() && (typed.back() == ' ' || typed.back() == '\t')) typed.remove_suffix(1);
  if (typed.empty() || typed.size() > 254) return "";
  std::string out;
  out.reserve(typed.size());
  for (char ch : typed) {
    auto u = static_cast<unsigned char>(ch);
    if (u <= 0x20 || u == 0x7f || ch == '<' || ch == '>' || ch == ',' || ch == ';' || ch == '"') return "";
    out += (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
  }
  auto at = out.find('@');
  if (at == 0 || at == std::string::npos || at + 1 == out.size() || out.find('@', at + 1) != std::string::npos) return "";
  return out;
}

LoginRequest request_login_link(store::Transaction& tx, const Desk& desk, std::string_view email,
                                const std::string& client, store::Time now) {
  const auto& p = desk.config().portal;
  LoginRequest r;
  if (tx.count_rate("login-client:" + client, now - now % 60) > p.login_requests_per_client_per_minute) {
    r.over_client_limit = true;
    return r;
  }
  // The same work for every address from here on: a counter and a token row. What differs
  // (the mail of a registered address) is one more row in the same transaction.
  std::string address = normal_address(email);
  std::string key = address.empty() ? std::string("login-address:-") : "login-address:" + address;
  bool under_limit = tx.count_rate(key, now - now % 3600) <= p.login_mails_per_address_per_hour;
  std::string token = random_hex(kLoginTokenBytes);
  std::string token_hash = sha256_hex(token);
  if (address.empty() || !under_limit) return r;
  tx.add_login_token(token_hash, address, now, now + p.login_link_minutes * 60LL);
  std::string name, language;
  if (auto a = tx.agent(address)) {
    name = a->name;
  } else if (auto c = tx.contact(address)) {
    name = c->name;
    if (auto o = tx.organisation(c->organisation)) language = o->language;
  } else {
    return r;
  }
  if (language.empty()) language = desk.config().service.language;
  queue_login_link(tx, desk, address, name, language, p.base_url + "/login/" + token, p.login_link_minutes, now);
  r.mailed = true;
  return r;
}

SignIn sign_in(store::Transaction& tx, std::string_view token, store::Time now) {
  SignIn s;
  if (!looks_like_token(token)) {
    s.result = "invalid";
    return s;
  }
  auto email = tx.use_login_token(sha256_hex(token), now);
  if (!email) {
    s.result = "invalid";
    return s;
  }
  std::string role;
  if (tx.agent(*email)) role = "agent";
  else if (tx.contact(*email)) role = "contact";
  if (role.empty()) {
    s.result = "unregistered";
    return s;
  }
  std::string session = random_hex(kSessionBytes);
  store::PortalSession ps;
  ps.email = *email;
  ps.role = role;
  ps.csrf = random_hex(kCsrfBytes);
  ps.created_at = now;
  ps.last_seen_at = now;
  tx.add_session(sha256_hex(session), ps);
  s.result = "ok";
  s.session = session;
  return s;
}

std::optional<Visitor> visitor_of(store::Store& store, const Config::Portal& portal, std::string_view cookie,
                                  store::Time now) {
  if (!looks_like_token(cookie)) return std::nullopt;
  std::string hash = sha256_hex(cookie);
  std::optional<Visitor> v;
  bool remove = false, touch = false;
  {
    auto tx = store.begin(store::Store::Mode::read);
    auto s = tx->session(hash);
    if (!s) return std::nullopt;
    bool idle = s->last_seen_at < now - portal.session_idle_minutes * 60LL;
    bool old = s->created_at < now - portal.session_max_hours * 3600LL;
    if (idle || old) {
      remove = true;
    } else if (s->role == "agent") {
      if (auto a = tx->agent(s->email)) {
        v = Visitor{a->email, a->name, true, std::nullopt, s->csrf, hash};
      } else {
        remove = true;
      }
    } else if (s->role == "contact") {
      // An address that became an agent meanwhile is no longer the contact that signed in.
      if (auto c = tx->contact(s->email); c && !tx->agent(s->email)) {
        v = Visitor{c->email, c->name, false, *c, s->csrf, hash};
      } else {
        remove = true;
      }
    } else {
      remove = true;
    }
    touch = v && s->last_seen_at < now - 60;
  }
  if (remove || touch) {
    auto tx = store.begin(store::Store::Mode::write);
    if (remove) tx->remove_session(hash);
    else tx->touch_session(hash, now);
    tx->commit();
  }
  return v;
}

void sign_out(store::Transaction& tx, const Visitor& v) { tx.remove_session(v.session_hash); }

}  // namespace sd::portal
