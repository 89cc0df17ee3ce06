// Hostile mails, one table: each row is a mail an attacker (or a careless robot) sends to a
// desk with two organisations, one agent and an open ticket of Acme's, SD-1. Each row states
// what a user would check afterwards: nothing applied, nothing sent to whom it must not go,
// the ticket untouched, and a normal mail behind it still stored. The desk is loaded from a
// TOML file, as the daemon loads it (the example config's monitoring rule included).
#include <catch2/catch.hpp>

#include "desk/agent_mail.h"
#include "desk/ingest.h"
#include "tests/support/test_desk.h"

#include <sys/stat.h>

#include <fmt/format.h>

#include <functional>

using namespace sd;

using namespace sd::test;

namespace {

// What a row checks once its mail is in; a failed CHECK names the row (CAPTURE).
using Check = std::function<void(TestDesk&, const IngestResult&)>;

struct Row {
  std::string finding;  // the finding it attacks
  std::string what;
  std::function<std::string(TestDesk&)> mail;
  Check check;
};

// SD-1 as it was: nothing of the hostile mail applied, nothing mailed to the customer.
void sd1_untouched(TestDesk& d, std::size_t customer_mails_before = 1) {
  auto t = d.ticket(1);
  CHECK(t.status == "new");
  CHECK(t.priority == "medium");
  CHECK(t.category.empty());
  CHECK(t.assignee.empty());
  CHECK(t.time_spent_s == 0);
  CHECK_FALSE(t.first_response_at);
  CHECK(d.outbox("", kCustomer).size() == customer_mails_before);  // the acknowledgement alone
}

const std::string kCommands = "#status resolved\r\n#priority lowest\r\n#assign me\r\n#time 2h\r\n\r\nForged answer\r\n";

std::vector<Row> rows() {
  return {
      // 1: forged Authentication-Results.
      {"1", "a forged dmarc=pass below the MTA's real dmarc=fail",
       [](TestDesk&) {
         return TestDesk::mail(kAgent, "servicedesk+SD-1.garbage@example.com", "Re: [SD-1] Skrivaren", "f1@x",
                           "Authentication-Results: mx.example.com; dmarc=fail header.from=example.com\r\n"
                           "Authentication-Results: mx.example.com; dmarc=pass header.from=example.com\r\n",
                           kCommands);
       },
       [](TestDesk& d, const IngestResult&) {
         sd1_untouched(d);
         CHECK(d.has_event(1, "security"));
         // The agent's registered address hears of it; the forger's Reply-To does not.
         CHECK(d.outbox("agent-mail-not-applied", kAgent).size() == 1);
       }},
      {"1", "dmarc=pass hidden in smtp.mailfrom",
       [](TestDesk&) {
         return TestDesk::mail(kAgent, "servicedesk+SD-1.garbage@example.com", "Re: [SD-1] Skrivaren", "f2@x",
                           "Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=dmarc=pass@evil.example\r\n",
                           kCommands);
       },
       [](TestDesk& d, const IngestResult&) { sd1_untouched(d); }},
      {"1", "a DKIM domain that only starts with the From domain",
       [](TestDesk&) {
         return TestDesk::mail(kAgent, "servicedesk+SD-1.garbage@example.com", "Re: [SD-1] Skrivaren", "f3@x",
                           "Authentication-Results: mx.example.com; dkim=pass header.d=example.com_x.evil.example\r\n",
                           kCommands);
       },
       [](TestDesk& d, const IngestResult&) { sd1_untouched(d); }},
      {"1", "a DKIM header.i whose local part is the From domain",
       [](TestDesk&) {
         return TestDesk::mail(kAgent, "servicedesk+SD-1.garbage@example.com", "Re: [SD-1] Skrivaren", "f4@x",
                           "Authentication-Results: mx.example.com; dkim=pass header.i=example.com@evil.example\r\n",
                           kCommands);
       },
       [](TestDesk& d, const IngestResult&) { sd1_untouched(d); }},
      {"1", "a real pass, but two From addresses",
       [](TestDesk&) {
         return TestDesk::mail(kAgent + ", mallory@evil.example", "servicedesk+SD-1.garbage@example.com",
                           "Re: [SD-1] Skrivaren", "f5@x",
                           "Authentication-Results: mx.example.com; dmarc=pass header.from=example.com\r\n", kCommands);
       },
       [](TestDesk& d, const IngestResult&) { sd1_untouched(d); }},
      {"1", "a real pass, but a second From field",
       [](TestDesk&) {
         return TestDesk::mail(kAgent, "servicedesk+SD-1.garbage@example.com", "Re: [SD-1] Skrivaren", "f6@x",
                           "From: mallory@evil.example\r\n"
                           "Authentication-Results: mx.example.com; dmarc=pass header.from=example.com\r\n",
                           kCommands);
       },
       [](TestDesk& d, const IngestResult&) { sd1_untouched(d); }},
      {"1", "a pass from a server the operator does not trust",
       [](TestDesk&) {
         return TestDesk::mail(kAgent, "servicedesk+SD-1.garbage@example.com", "Re: [SD-1] Skrivaren", "f7@x",
                           "Authentication-Results: mx.example.com.evil.example; dmarc=pass header.from=example.com\r\n",
                           kCommands);
       },
       [](TestDesk& d, const IngestResult&) { sd1_untouched(d); }},

      // 2: one mail must not crash the process.
      {"2", "PROBLEM: and 50,000 letters from the monitoring rule's sender",
       [](TestDesk&) {
         return TestDesk::mail("nagios@monitoring.example.com", "servicedesk@example.com", "PROBLEM: " + std::string(50000, 'A'),
                           "p1@x");
       },
       [](TestDesk& d, const IngestResult& r) {
         CHECK(r.kind == IngestResult::Kind::created);
         CHECK(d.ticket(r.ticket_id).category == "incident");
       }},
      {"2", "100,000 opening parentheses in a monitoring subject",
       [](TestDesk&) {
         return TestDesk::mail("nagios@monitoring.example.com", "servicedesk@example.com", "PROBLEM: " + std::string(100000, '('),
                           "p2@x");
       },
       [](TestDesk&, const IngestResult& r) { CHECK(r.kind == IngestResult::Kind::created); }},
      {"2", "a 100 KB Authentication-Results header on an agent's mail",
       [](TestDesk&) {
         return TestDesk::mail(kAgent, "servicedesk+SD-1.garbage@example.com", "Re: [SD-1] Skrivaren", "p3@x",
                           "Authentication-Results: mx.example.com; dkim=pass header.d=" + std::string(100000, 'a') +
                               "\r\n",
                           kCommands);
       },
       [](TestDesk& d, const IngestResult&) { sd1_untouched(d); }},
      {"2", "#time and 200,000 digits from the agent with a valid token",
       [](TestDesk& d) {
         return TestDesk::mail(kAgent, d.agent_address, "Re: [SD-1] Skrivaren", "p4@x", "",
                           "#time " + std::string(200000, '9') + "\r\n\r\nHej\r\n");
       },
       [](TestDesk& d, const IngestResult&) {
         sd1_untouched(d);
         CHECK(d.outbox("command-error", kAgent).size() == 1);
       }},

      // 3: the plus-address gives an outsider no ticket.
      {"3", "an outsider Cc's SD-1's plus-address, then replies with its tag",
       [](TestDesk&) {
         return TestDesk::mail("Bo <bo@beta.dk>", "servicedesk@example.com", "Acme's printer", "x1@beta.dk",
                           "Cc: servicedesk+SD-1.0000@example.com\r\n", "I am one of you\r\n");
       },
       [](TestDesk& d, const IngestResult& r) {
         CHECK(r.ticket_id != 1);
         CHECK(d.ticket(1).message_count == 2);  // the customer's mail and the acknowledgement
         CHECK(d.has_event(r.ticket_id, "security"));
         auto next = d.take(TestDesk::mail("Bo <bo@beta.dk>", "servicedesk@example.com", "Re: [SD-1] Skrivaren", "x2@beta.dk"),
                            kNow + 120);
         CHECK(next.ticket_id != 1);
         CHECK(d.ticket(1).message_count == 2);
         sd1_untouched(d);
       }},
      {"3", "an outsider's own Delivered-To and X-Original-To name SD-1's plus-address",
       [](TestDesk& d) {
         return TestDesk::mail("Bo <bo@beta.dk>", "servicedesk@example.com", "Hello", "x3@beta.dk",
                           "Delivered-To: " + d.agent_address + "\r\nX-Original-To: " + d.agent_address + "\r\n",
                           kCommands);
       },
       [](TestDesk& d, const IngestResult& r) {
         CHECK(r.ticket_id != 1);
         CHECK(d.ticket(1).message_count == 2);
         sd1_untouched(d);
       }},
      {"3", "an outsider mails SD-1's agent address itself, token and all",
       [](TestDesk& d) { return TestDesk::mail("Bo <bo@beta.dk>", d.agent_address, "Re: [SD-1] Skrivaren", "x4@beta.dk", "", kCommands); },
       [](TestDesk& d, const IngestResult& r) {
         CHECK(r.ticket_id != 1);
         CHECK(d.has_event(r.ticket_id, "security"));
         sd1_untouched(d);
       }},
      {"3", "a forged agent From to the plain address Cc's an outsider onto SD-1",
       [](TestDesk&) {
         return TestDesk::mail(kAgent, "servicedesk@example.com", "Re: [SD-1] Skrivaren", "x5@x",
                           "Cc: mallory@evil.example\r\n", "Adding a colleague\r\n");
       },
       [](TestDesk& d, const IngestResult& r) {
         CHECK(r.ticket_id == 1);  // kept on the ticket for the agents to see, as an internal message
         auto next = d.take(TestDesk::mail("mallory@evil.example", "servicedesk@example.com", "Re: [SD-1] Skrivaren", "x6@x",
                                       "", "Let me read it\r\n"),
                            kNow + 120);
         CHECK(next.ticket_id != 1);
         sd1_untouched(d);
       }},

      // 4: an agent's auto-reply on the agent path.
      {"4", "the agent's out-of-office answers the notification",
       [](TestDesk& d) {
         return TestDesk::mail(kAgent, d.agent_address, "Autosvar: [SD-1] Skrivaren", "o1@x",
                           "Auto-Submitted: auto-replied\r\n", "Jag är på semester till måndag.\r\n");
       },
       [](TestDesk& d, const IngestResult&) {
         sd1_untouched(d);
         CHECK(d.outbox("agent-mail-not-applied").empty());  // no answer to a robot
       }},
      {"4", "a vacation script marking only X-Autoreply and Precedence: auto_reply",
       [](TestDesk& d) {
         return TestDesk::mail(kAgent, d.agent_address, "Re: [SD-1] Skrivaren", "o2@x",
                           "X-Autoreply: yes\r\nPrecedence: auto_reply\r\n", "Out of office.\r\n");
       },
       [](TestDesk& d, const IngestResult&) { sd1_untouched(d); }},
      {"4", "a bounce with an empty Return-Path to the customer path",
       [](TestDesk&) {
         return TestDesk::mail("Anna Berg <" + kCustomer + ">", "servicedesk@example.com", "Re: [SD-1] Skrivaren", "o3@x",
                           "Return-Path: <>\r\n", "Undeliverable\r\n");
       },
       [](TestDesk& d, const IngestResult& r) {
         CHECK(r.ticket_id == 1);
         CHECK(d.outbox("agent-notification").size() == 1);  // the first ticket's only
         sd1_untouched(d);
       }},

      // 5: backscatter and relay.
      {"5", "a web form's noreply@ with a stranger's Reply-To and a multi-line name",
       [](TestDesk&) {
         return TestDesk::mail("noreply@form.example", "servicedesk@example.com", "Buy now", "b1@x",
                           "Reply-To: =?utf-8?q?Dear_victim=2C=0D=0A=0D=0AClick_https://evil.example_" +
                               std::string(100, 'x') + "?= <victim@elsewhere.example>\r\n");
       },
       [](TestDesk& d, const IngestResult& r) {
         CHECK(d.outbox("", "victim@elsewhere.example").empty());
         auto ack = d.outbox("acknowledgement", "noreply@form.example");
         REQUIRE(ack.size() == 1);
         CHECK(d.has_event(r.ticket_id, "reply-to"));
       }},
      {"5", "a From with a multi-line display name",
       [](TestDesk&) {
         return TestDesk::mail("=?utf-8?q?Anna=0D=0A=0D=0AYour_account_is_locked=2C_call_+1_555_" + std::string(80, 'y') +
                               "?= <anna2@acme.se>",
                           "servicedesk@example.com", "Hi", "b2@x");
       },
       [](TestDesk& d, const IngestResult& r) {
         auto name = d.ticket(r.ticket_id).requester_name;
         CHECK(name.find('\n') == std::string::npos);
         CHECK(name.size() <= 64);
         auto ack = d.outbox("acknowledgement", "anna2@acme.se");
         REQUIRE(ack.size() == 1);
         auto body_start = ack[0].bytes.find("\r\n\r\n");
         CHECK(ack[0].bytes.find("Your account is locked, call +1 555 " + std::string(80, 'y')) == std::string::npos);
         CHECK(body_start != std::string::npos);
       }},
      {"5", "victim+1@, victim+2@, ...: the limit keys on the canonical address, then the domain, then all",
       [](TestDesk&) { return TestDesk::mail("victim+0@target.example", "servicedesk@example.com", "spam 0", "s0@x"); },
       [](TestDesk& d, const IngestResult&) {
         for (int i = 1; i < 6; ++i)
           d.take(TestDesk::mail(fmt::format("victim+{}@target.example", i), "servicedesk@example.com",
                             fmt::format("spam {}", i), fmt::format("s{}@x", i)));
         for (int i = 0; i < 4; ++i)
           d.take(TestDesk::mail(fmt::format("user{}@target.example", i), "servicedesk@example.com", "more spam",
                             fmt::format("u{}@x", i)));
         for (int i = 0; i < 6; ++i)
           d.take(TestDesk::mail(fmt::format("x@d{}.example", i), "servicedesk@example.com", "spread", fmt::format("v{}@x", i)));
         std::size_t acks_to_victim = 0, acks_to_target = 0;
         for (const auto& o : d.outbox("acknowledgement")) {
           acks_to_victim += o.recipients[0].rfind("victim", 0) == 0;
           acks_to_target += o.recipients[0].find("@target.example") != std::string::npos;
         }
         CHECK(acks_to_victim == 3);
         CHECK(acks_to_target == 5);
         CHECK(d.outbox("acknowledgement").size() == 8);
         CHECK(d.tickets().size() == 1 + 6 + 4 + 6);  // nothing lost
         // Agents: one notification per ticket below the caps, one notice per domain past them.
         CHECK(d.outbox("agent-notification").size() == 8);
         CHECK(d.outbox("intake-capped").size() == 2);  // target.example, then all senders
       }},

      // 6: tokens expire; the team's token counts only for a registered agent.
      {"6", "an agent's token older than token_days",
       [](TestDesk& d) {
         return TestDesk::mail(kAgent, agent_reply_address(d.c, kSecret, 1, kAgent, kNow - 100 * 86400),
                           "Re: [SD-1] Skrivaren", "t1@x", "", kCommands);
       },
       [](TestDesk& d, const IngestResult&) {
         sd1_untouched(d);
         auto told = d.outbox("agent-mail-not-applied", kAgent);
         REQUIRE(told.size() == 1);
         CHECK(told[0].bytes.find("expired") != std::string::npos);
       }},
      {"6", "a token of the old format on a store that never had one",
       [](TestDesk&) {
         return TestDesk::mail(kAgent, "servicedesk+SD-1.0123456789abcdef0123@example.com", "Re: [SD-1] Skrivaren", "t2@x",
                           "", kCommands);
       },
       [](TestDesk& d, const IngestResult&) { sd1_untouched(d); }},

      // 11: foreign bytes must not leave in our headers; 12: cuts keep UTF-8 whole.
      {"11", "8-bit and control bytes in the Message-ID and a 3,000-character subject",
       [](TestDesk&) {
         return "From: kund@acme.se\r\nTo: servicedesk@example.com\r\nSubject: " + std::string(3000, 'S') +
                "\r\nMessage-ID: <\xc3\xa5\x01x@acme.se>\r\nReferences: <a,b@x> <ok@acme.se>\r\n\r\nHej\r\n";
       },
       [](TestDesk& d, const IngestResult&) {
         auto ack = d.outbox("acknowledgement", "kund@acme.se");
         REQUIRE(ack.size() == 1);
         std::size_t start = 0;
         while (start < ack[0].bytes.size()) {
           auto end = ack[0].bytes.find("\r\n", start);
           if (end == std::string::npos) end = ack[0].bytes.size();
           CHECK(end - start <= 998);
           start = end + 2;
         }
         for (unsigned char ch : ack[0].bytes) CHECK((ch < 0x80 && (ch >= 0x20 || ch == '\r' || ch == '\n' || ch == '\t')));
       }},
      {"12", "an agent's #note of one letter and 300 two-byte letters",
       [](TestDesk& d) {
         std::string text = "x";  // one byte ahead, so byte 200 falls inside a letter
         for (int i = 0; i < 300; ++i) text += "\xc3\xa4";
         return TestDesk::mail(kAgent, d.agent_address, "Re: [SD-1] Skrivaren", "n1@x", "", "#note\r\n" + text + "\r\n");
       },
       [](TestDesk& d, const IngestResult&) {
         bool found = false;
         for (const auto& e : d.events(1)) {
           if (e.kind != "note") continue;
           found = true;
           CHECK(e.detail.size() % 2 == 1);  // "x" and whole letters only
           CHECK(e.detail.size() <= 200);
         }
         CHECK(found);
       }},
  };
}

}  // namespace

TEST_CASE("Hostile mails change nothing they must not, and the mail behind each is stored") {
  for (const auto& row : rows()) {
    TestDesk d;
    CAPTURE(row.finding, row.what);
    auto r = d.take(row.mail(d));
    CHECK(r.kind != IngestResult::Kind::rejected);  // stored with a ticket, not quarantined
    row.check(d, r);
    auto behind = d.take(TestDesk::mail("Bo <bo@beta.dk>", "servicedesk@example.com", "A normal question", "normal@beta.dk"),
                         kNow + 600);
    CHECK(behind.kind == IngestResult::Kind::created);
    CHECK(d.ticket(behind.ticket_id).organisation == "Beta");
  }
}

TEST_CASE("A registered agent's real mail still works: valid token, or a trusted aligned pass without one") {
  TestDesk d;
  d.take(TestDesk::mail(kAgent, d.agent_address, "Re: [SD-1] Skrivaren", "a1@x", "", "#priority high\r\n\r\nVi tittar på det.\r\n"));
  CHECK(d.ticket(1).priority == "high");
  CHECK(d.ticket(1).status == "open");
  CHECK(d.outbox("status-open", kCustomer).size() == 1);
  d.take(TestDesk::mail(kAgent, "servicedesk+SD-1@example.com", "Re: [SD-1] Skrivaren", "a2@x",
                    "Authentication-Results: mx.example.com; dkim=pass header.d=example.com; "
                    "dmarc=pass header.from=example.com\r\nAuthentication-Results: evil.example; dmarc=fail\r\n",
                    "#category incident\r\n"),
         kNow + 120);
  CHECK(d.ticket(1).category == "incident");
}

TEST_CASE("The team address's token works only for a registered agent, and the event names who used it") {
  TestDesk d;
  d.c.agents.team_address = "team@example.com";
  auto team = agent_reply_address(d.c, kSecret, 1, "team@example.com", kNow);
  d.take(TestDesk::mail("Bo <bo@beta.dk>", team, "Re: [SD-1] Skrivaren", "tt1@x", "", kCommands));
  sd1_untouched(d);
  d.take(TestDesk::mail(kAgent, team, "Re: [SD-1] Skrivaren", "tt2@x", "", "#priority high\r\n"), kNow + 120);
  CHECK(d.ticket(1).priority == "high");
  bool named = false;
  for (const auto& e : d.events(1)) named = named || (e.kind == "team-token" && e.detail.find(kAgent) != std::string::npos);
  CHECK(named);
}

TEST_CASE("A desk address and prefix whose Reply-To local part would pass 64 octets is refused at load") {
  test::TempDir dir;
  auto pw = dir.write("pw", "x\n");
  ::chmod(pw.c_str(), 0600);
  auto path = dir.write("c.toml", fmt::format("[service]\naddress = \"{}@example.com\"\nticket_prefix = \"SERVICEDESK\"\n"
                                              "[imap]\nurl = \"imap://127.0.0.1/INBOX\"\nusername = \"u\"\npassword_file = \"{}\"\n"
                                              "[smtp]\nurl = \"smtp://127.0.0.1\"\n[store]\npath = \"{}\"\n",
                                              std::string(20, 'd'), pw, dir.file("sd.db")));
  CHECK_THROWS_WITH(load_config(path), Catch::Contains("64") && Catch::Contains(path));
}

TEST_CASE("A mail too large to fetch becomes a quarantined ticket saying so, the agents are told, the sender is not") {
  TestDesk d;
  std::string header = "From: Anna Berg <" + kCustomer + ">\r\nTo: servicedesk@example.com\r\nSubject: Huge logs\r\n"
                       "Message-ID: <big@acme.se>\r\n\r\n";
  auto rs = ingest_batch(*d.st, d.c,
                         {IncomingMail{header, store::MailOrigin{"INBOX", 7, 42}, 900'000'000},
                          IncomingMail{TestDesk::mail("Bo <bo@beta.dk>", "servicedesk@example.com", "Behind it", "n@beta.dk"),
                                       store::MailOrigin{"INBOX", 7, 43}}},
                         kNow + 60);
  REQUIRE(rs.size() == 2);
  CHECK(rs[0].kind == IngestResult::Kind::created);
  CHECK(rs[1].kind == IngestResult::Kind::created);
  auto t = d.ticket(rs[0].ticket_id);
  CHECK(t.subject == "Huge logs");
  CHECK(t.requester == kCustomer);
  {
    auto tx = d.st->begin(store::Store::Mode::read);
    auto msgs = tx->messages(t.id);
    REQUIRE_FALSE(msgs.empty());
    CHECK(msgs[0].body_text.find("900000000 bytes") != std::string::npos);
    CHECK(msgs[0].body_text.find("UID 42") != std::string::npos);
    bool quarantined = false;
    for (const auto& q : tx->quarantined_mails()) quarantined = quarantined || (q.ticket_id == t.id && q.quarantined);
    CHECK(quarantined);
    CHECK(tx->mailbox("INBOX")->last_uid == 43);  // the watermark passes it
  }
  CHECK(d.outbox("acknowledgement", kCustomer).size() == 1);  // SD-1's only: none for the big mail
  bool told = false;
  for (const auto& o : d.outbox("agent-notification", kAgent))
    told = told || o.bytes.find("Mail too large to fetch") != std::string::npos;
  CHECK(told);
}
