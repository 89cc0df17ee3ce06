#include <catch2/catch.hpp>

#include "desk/agent_mail.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

using namespace sd;

namespace {
Config desk() {
  Config c = builtin_config();
  c.service.address = "servicedesk@example.com";
  return c;
}
parser::ParsedMail to(const std::string& addr) {
  parser::ParsedMail m;
  m.from = {"Eva", "eva@example.com"};
  m.to = {{"", addr}};
  return m;
}
}  // namespace

TEST_CASE("Commands on the first lines are read and the rest is the reply") {
  auto c = parse_agent_commands("\n#status pending\n#priority HIGH\n#time 1h30m\n#time 15m\n\nCan you send a screenshot?\n\nEva\n");
  CHECK(c.errors.empty());
  CHECK(c.status == "pending");
  CHECK(c.priority == "high");
  CHECK(c.time_s == 6300);
  CHECK(c.text == "Can you send a screenshot?\n\nEva");
  CHECK_FALSE(c.note);
}

TEST_CASE("A command after the text is text, not a command") {
  auto c = parse_agent_commands("Hello\n#status closed\n");
  CHECK_FALSE(c.status);
  CHECK(c.text == "Hello\n#status closed");
}

TEST_CASE("Resolve and note and assign are understood") {
  auto c = parse_agent_commands("#resolve\n#note\n#assign me\n#category feature\nDone.");
  CHECK(c.errors.empty());
  CHECK(c.status == "resolved");
  CHECK(c.note);
  CHECK(c.assign == "me");
  CHECK(c.category == "feature");
  CHECK(parse_agent_commands("#assign Bo@Example.com").assign == "bo@example.com");
}

TEST_CASE("Mistyped commands and values are each reported") {
  auto c = parse_agent_commands("#stauts open\n#priority urgent\n#time soon\n#assign nobody\nText");
  REQUIRE(c.errors.size() == 4);
  CHECK(c.errors[0].find("unknown command") != std::string::npos);
  CHECK(c.errors[1].find("not understood") != std::string::npos);
}

constexpr store::Time kNow = 20'000 * 86400 + 3600;  // day 20,000 (2024-10-04), 01:00 UTC

TEST_CASE("Tokens are bound to ticket, recipient and issue day and checked") {
  std::string secret = "s3cret-of-sixteen";
  auto t = agent_token(secret, "SD-42", "eva@example.com", 20'000);
  CHECK(t.rfind("20000.", 0) == 0);
  CHECK(t.size() == 26);
  auto check = [&](const std::string& s, const std::string& ref, const std::string& who, const std::string& tok) {
    return check_token(s, ref, who, tok, kNow, 90, std::nullopt);
  };
  CHECK(check(secret, "SD-42", "eva@example.com", t) == TokenCheck::valid);
  CHECK(check(secret, "sd-42", "EVA@example.com", t) == TokenCheck::valid);
  CHECK(check(secret, "SD-43", "eva@example.com", t) == TokenCheck::wrong);
  CHECK(check(secret, "SD-42", "bo@example.com", t) == TokenCheck::wrong);
  CHECK(check("other", "SD-42", "eva@example.com", t) == TokenCheck::wrong);
  CHECK(check("", "SD-42", "eva@example.com", agent_token("", "SD-42", "eva@example.com", 20'000)) == TokenCheck::wrong);
  // The issue day is inside the HMAC: moving it forward breaks the token.
  CHECK(check(secret, "SD-42", "eva@example.com", "20090" + t.substr(5)) == TokenCheck::wrong);
  CHECK(check(secret, "SD-42", "eva@example.com", "x." + t.substr(6)) == TokenCheck::wrong);
  CHECK(check(secret, "SD-42", "eva@example.com", std::string(200000, '9') + "." + t.substr(6)) == TokenCheck::wrong);
}

TEST_CASE("A token expires token_days after its issue day, and one from the future is wrong") {
  std::string secret = "s3cret-of-sixteen";
  auto at = [&](std::int64_t day) { return agent_token(secret, "SD-1", "eva@example.com", day); };
  CHECK(check_token(secret, "SD-1", "eva@example.com", at(20'000 - 90), kNow, 90, std::nullopt) == TokenCheck::valid);
  CHECK(check_token(secret, "SD-1", "eva@example.com", at(20'000 - 91), kNow, 90, std::nullopt) == TokenCheck::expired);
  CHECK(check_token(secret, "SD-1", "eva@example.com", at(20'000 - 91), kNow, 365, std::nullopt) == TokenCheck::valid);
  CHECK(check_token(secret, "SD-1", "eva@example.com", at(20'005), kNow, 90, std::nullopt) == TokenCheck::wrong);
}

TEST_CASE("Tokens of the old format count only within the window after the upgrade") {
  // The old format: 80 bits of HMAC over ticket and recipient, no issue day.
  std::string secret = "s3cret-of-sixteen";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  std::string data = "sd-1\neva@example.com";
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), md, &len);
  std::string old;
  for (unsigned i = 0; i < 10; ++i) old += fmt::format("{:02x}", md[i]);
  CHECK(check_token(secret, "SD-1", "eva@example.com", old, kNow, 90, std::nullopt) == TokenCheck::wrong);
  CHECK(check_token(secret, "SD-1", "eva@example.com", old, kNow, 90, kNow + 10) == TokenCheck::valid);
  CHECK(check_token(secret, "SD-1", "eva@example.com", old, kNow, 90, kNow - 10) == TokenCheck::wrong);
  CHECK(check_token(secret, "SD-1", "bo@example.com", old, kNow, 90, kNow + 10) == TokenCheck::wrong);
}

TEST_CASE("The plus-address carries ticket and token and is found among To and Cc only") {
  auto c = desk();
  std::string secret = "s3cret-of-sixteen";
  auto addr = agent_reply_address(c, secret, 42, "eva@example.com", kNow);
  CHECK(addr.rfind("servicedesk+SD-42.20000.", 0) == 0);
  CHECK(addr.substr(0, addr.find('@')).size() <= longest_reply_local_part(c));
  CHECK(longest_reply_local_part(c) <= 64);
  auto p = find_plus_address(c, to(addr));
  REQUIRE(p);
  CHECK(p->ticket == 42);
  CHECK(check_token(secret, "SD-42", "eva@example.com", p->token, kNow, 90, std::nullopt) == TokenCheck::valid);
  auto none = find_plus_address(c, to("servicedesk+SD-42@example.com"));
  REQUIRE(none);
  CHECK(none->token.empty());
  CHECK_FALSE(find_plus_address(c, to("servicedesk@example.com")));
  CHECK_FALSE(find_plus_address(c, to("servicedesk+SD-42.abc@other.example")));
  CHECK_FALSE(find_plus_address(c, to("helpdesk+SD-42.abc@example.com")));
  // Headers the sender writes route nothing.
  auto m = to("servicedesk@example.com");
  m.headers.push_back({"Delivered-To", addr});
  m.headers.push_back({"X-Original-To", addr});
  CHECK_FALSE(find_plus_address(c, m));
  m.cc = {{"", addr}};
  CHECK(find_plus_address(c, m));
}

namespace {
parser::ParsedMail with_ar(std::vector<std::string> values) {
  auto m = to("servicedesk@example.com");
  for (auto& v : values) m.headers.push_back({"Authentication-Results", v});
  return m;
}
}  // namespace

TEST_CASE("Authentication-Results count only from a trusted server and for the sender's domain") {
  auto c = desk();
  auto m = with_ar({"mx.example.com; dkim=pass header.d=example.com; spf=pass smtp.mailfrom=eva@example.com"});
  CHECK_FALSE(authenticated_by_trusted_server(c, m));  // nothing trusted
  c.agents.trusted_authserv_ids = {"mx.example.com"};
  CHECK(authenticated_by_trusted_server(c, m));
  CHECK_FALSE(authenticated_by_trusted_server(c, with_ar({"mx.example.com; dkim=pass header.d=evil.example; dmarc=fail"})));
  CHECK_FALSE(authenticated_by_trusted_server(c, with_ar({"attacker.example; dmarc=pass header.from=example.com"})));
  CHECK(authenticated_by_trusted_server(c, with_ar({"mx.example.com; dmarc=pass (p=reject) header.from=example.com"})));
  CHECK(authenticated_by_trusted_server(c, with_ar({"MX.Example.COM; DMARC=Pass header.from=EXAMPLE.com"})));
}

TEST_CASE("Forged Authentication-Results make nobody an agent") {
  auto c = desk();
  c.agents.trusted_authserv_ids = {"mx.example.com"};
  // The MTA's real verdict is on top; the sender's forgery below it does not count.
  CHECK_FALSE(authenticated_by_trusted_server(
      c, with_ar({"mx.example.com; dmarc=fail header.from=example.com",
                  "mx.example.com; dmarc=pass header.from=example.com"})));
  // Substrings of property values and comments are no results.
  CHECK_FALSE(authenticated_by_trusted_server(c, with_ar({"mx.example.com; spf=pass smtp.mailfrom=dmarc=pass@evil.example"})));
  CHECK_FALSE(authenticated_by_trusted_server(c, with_ar({"mx.example.com; dmarc=fail (dmarc=pass) header.from=example.com"})));
  // DKIM domains compared whole and strictly aligned; header.i does not count.
  CHECK_FALSE(authenticated_by_trusted_server(c, with_ar({"mx.example.com; dkim=pass header.d=example.com_x.evil.example"})));
  CHECK_FALSE(authenticated_by_trusted_server(c, with_ar({"mx.example.com; dkim=pass header.i=example.com@evil.example"})));
  CHECK_FALSE(authenticated_by_trusted_server(c, with_ar({"mx.example.com; dkim=pass header.d=sub.example.com"})));
  CHECK_FALSE(authenticated_by_trusted_server(c, with_ar({"mx.example.com; dkim=pass header.d=com"})));
  // DMARC pass for another domain than From's.
  CHECK_FALSE(authenticated_by_trusted_server(c, with_ar({"mx.example.com; dmarc=pass header.from=evil.example"})));
  CHECK_FALSE(authenticated_by_trusted_server(c, with_ar({"mx.example.com; dmarc=pass"})));
  // A malformed topmost trusted header ends the search: no pass.
  CHECK_FALSE(authenticated_by_trusted_server(
      c, with_ar({"mx.example.com; dmarc=pass header.from=example.com (", "mx.example.com; dmarc=pass header.from=example.com"})));
  // An untrusted header above the trusted one is skipped; the trusted one still decides.
  CHECK(authenticated_by_trusted_server(
      c, with_ar({"evil.example; dmarc=fail", "mx.example.com; dmarc=pass header.from=example.com"})));
  // A mail with several From addresses is never authenticated.
  auto m = with_ar({"mx.example.com; dmarc=pass header.from=example.com"});
  m.from_ambiguous = true;
  CHECK_FALSE(authenticated_by_trusted_server(c, m));
  // 100 KB of header are read without harm.
  CHECK_FALSE(authenticated_by_trusted_server(c, with_ar({"mx.example.com; dkim=pass header.d=" + std::string(100000, 'a')})));
}

TEST_CASE("The agent path follows the table in docs/security.md") {
  using P = AgentPath;
  using T = TokenCheck;
  auto judge = [](bool agent, T token, bool pass, bool automatic = false) {
    return judge_agent_mail({agent, token, pass, automatic});
  };
  CHECK(judge(true, T::valid, false) == P::apply);
  CHECK(judge(true, T::valid, true) == P::apply);
  CHECK(judge(true, T::expired, false) == P::note_expired);
  CHECK(judge(true, T::expired, true) == P::note_expired);
  CHECK(judge(true, T::wrong, true) == P::apply);
  CHECK(judge(true, T::wrong, false) == P::note_unauthenticated);
  for (auto t : {T::valid, T::expired, T::wrong})
    for (bool pass : {false, true}) {
      CHECK(judge(false, t, pass) == P::customer);
      CHECK(judge(true, t, pass, true) == P::note_automatic);
    }
}
