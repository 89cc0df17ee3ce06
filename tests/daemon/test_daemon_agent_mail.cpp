#include <catch2/catch.hpp>

#include "daemon/agent_mail.h"

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

TEST_CASE("Tokens are bound to ticket and recipient and checked") {
  std::string secret = "s3cret";
  auto t = agent_token(secret, "SD-42", "eva@example.com");
  CHECK(t.size() == 20);
  CHECK(token_valid(secret, "SD-42", "eva@example.com", t));
  CHECK(token_valid(secret, "sd-42", "EVA@example.com", t));
  CHECK_FALSE(token_valid(secret, "SD-43", "eva@example.com", t));
  CHECK_FALSE(token_valid(secret, "SD-42", "bo@example.com", t));
  CHECK_FALSE(token_valid("other", "SD-42", "eva@example.com", t));
  CHECK_FALSE(token_valid("", "SD-42", "eva@example.com", agent_token("", "SD-42", "eva@example.com")));
}

TEST_CASE("The plus-address carries ticket and token and is found among the recipients") {
  auto c = desk();
  auto addr = agent_reply_address(c, "s3cret", 42, "eva@example.com");
  CHECK(addr.rfind("servicedesk+SD-42.", 0) == 0);
  CHECK(addr.size() > std::string("servicedesk+SD-42.@example.com").size());
  auto p = find_plus_address(c, to(addr));
  REQUIRE(p);
  CHECK(p->ticket == 42);
  CHECK(token_valid("s3cret", "SD-42", "eva@example.com", p->token));
  CHECK_FALSE(find_plus_address(c, to("servicedesk@example.com")));
  CHECK_FALSE(find_plus_address(c, to("servicedesk+SD-42.abc@other.example")));
  CHECK_FALSE(find_plus_address(c, to("helpdesk+SD-42.abc@example.com")));
}

TEST_CASE("Authentication-Results count only from a trusted server and for the sender's domain") {
  auto c = desk();
  auto m = to("servicedesk@example.com");
  m.headers.push_back({"Authentication-Results", "mx.example.com; dkim=pass header.d=example.com; spf=pass"});
  CHECK_FALSE(authenticated_by_trusted_server(c, m));  // nothing trusted
  c.agents.trusted_authserv_ids = {"mx.example.com"};
  CHECK(authenticated_by_trusted_server(c, m));
  m.headers[0].value = "mx.example.com; dkim=pass header.d=evil.example; dmarc=fail";
  CHECK_FALSE(authenticated_by_trusted_server(c, m));
  m.headers[0].value = "attacker.example; dmarc=pass";
  CHECK_FALSE(authenticated_by_trusted_server(c, m));
  m.headers[0].value = "mx.example.com; dmarc=pass (p=reject) header.from=example.com";
  CHECK(authenticated_by_trusted_server(c, m));
}
