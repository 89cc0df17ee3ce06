// tests/desk/test_desk_one_answer.cpp: what the customer reads when an agent answers (issue 13,
// "One answer reads as one mail"), through ingest and the real SQLite store: an answer with
// the agent's words is those words, one status line and one signature, in English, Swedish and
// Danish; without words, our greeting by first name; and a reply to a closed ticket's mail
// opens a ticket whose mails carry one tag and say which case it continues.
#include <catch2/catch.hpp>

#include "desk/agent_mail.h"
#include "desk/ingest.h"
#include "desk/ticket_change.h"
#include "parser/parse.h"
#include "tests/support/test_desk.h"

#include <regex>
#include <string>
#include <vector>

using namespace sd;
using namespace sd::test;

namespace {

struct Case {
  std::string org, domain, language;
  std::string customer_name, customer;  // as the customer's From gives it
  std::string agent_text;               // the agent's words, their own greeting and closing in them
  std::string greeting, our_regards, our_greeting_of_customer, status_line;
};

const std::vector<Case> kCases = {
    {"Gamma", "gamma.example", "en", "Svensson, Carl", "carl@gamma.example",
     "Hello Carl,\n\nThe printer works again: the toner was empty.\n\nBest, Eva", "Hello", "Kind regards", "Hello Carl,",
     "Your case SD-2 is open and being worked on."},
    {"Acme", "acme.se", "sv", "Anna Berg", "anna@acme.se",
     "Hej Anna,\n\nSkrivaren fungerar igen: tonern var slut.\n\nMvh Eva", "Hej", "Med vänliga hälsningar", "Hej Anna,",
     "Ditt ärende SD-2 är öppet och vi arbetar med det."},
    {"Beta", "beta.dk", "da", "Bo Ørsted", "bo@beta.dk",
     "Hej Bo,\n\nPrinteren virker igen: toneren var tom.\n\nVh Eva", "Hej", "Med venlig hilsen", "Hej Bo,",
     "Din sag SD-2 er åben, og vi arbejder på den."},
};

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + what.size())) ++n;
  return n;
}

// The newest outgoing mail of `kind` on a ticket, read back as the recipient's client would.
parser::ParsedMail last(TestDesk& d, const std::string& kind, std::int64_t ticket) {
  std::optional<store::OutboxItem> found;
  for (auto& o : d.outbox(kind))
    if (o.ticket_id == ticket) found = o;
  REQUIRE(found);
  return parser::parse(found->bytes, {});
}

std::vector<std::string> tags_in(const std::string& subject) {
  std::regex tag(R"(\[SD-\d+\])");
  std::vector<std::string> out;
  for (std::sregex_iterator it(subject.begin(), subject.end(), tag), end; it != end; ++it) out.push_back(it->str());
  return out;
}

// A ticket SD-2 of the language's organisation, opened by its customer.
std::int64_t open_ticket(TestDesk& d, const Case& l) {
  {
    auto tx = d.st->begin(store::Store::Mode::write);
    if (!tx->organisation(l.org)) tx->add_organisation({0, l.org, {l.domain}, "", l.language, "", 0, std::nullopt});
    if (!tx->contact(l.customer)) tx->add_contact({l.customer, l.customer_name, l.org});
    tx->commit();
  }
  auto r = d.take(TestDesk::mail("\"" + l.customer_name + "\" <" + l.customer + ">", "servicedesk@example.com",
                                 "Printer", "c-" + l.language + "@x", "", "It is broken.\r\n"));
  REQUIRE(r.kind == IngestResult::Kind::created);
  REQUIRE(r.ticket_id == 2);
  return r.ticket_id;
}

std::string crlf(std::string text) {
  std::string out;
  for (char ch : text) out += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
  return out;
}

}  // namespace

TEST_CASE("An agent's first answer with words is one mail: their words, one status line, one signature") {
  for (const auto& l : kCases) {
    INFO("language " << l.language);
    TestDesk d;
    auto id = open_ticket(d, l);
    d.take(TestDesk::mail("Eva Agent <" + kAgent + ">", agent_reply_address(d.c, kSecret, id, kAgent, kNow),
                          "Re: [SD-2] Printer", "a-" + l.language + "@x", "", crlf("#status open\n" + l.agent_text + "\n")),
           kNow + 120);
    auto mail = last(d, "status-open", id);
    const auto& body = mail.body_text;
    CAPTURE(body);
    // The agent's words come first, whole: their greeting is the only one.
    CHECK(body.rfind(l.agent_text, 0) == 0);
    CHECK(count(body, l.greeting + " ") == 1);
    CHECK(body.find(l.customer_name) == std::string::npos);  // no template greeting with the full name
    // One line on the new status, then one signature: the agent and the desk, no closing of ours.
    CHECK(count(body, l.status_line) == 1);
    CHECK(count(body, l.our_regards) == 0);
    CHECK(count(body, "Eva Agent") == 1);
    CHECK(count(body, "Example Servicedesk") == 1);
    CHECK(body.find(l.status_line + "\n\n-- \nEva Agent\nExample Servicedesk (SD-2)\n") != std::string::npos);
    CHECK(tags_in(mail.subject) == std::vector<std::string>{"[SD-2]"});
  }
}

TEST_CASE("Without the agent's words the mail greets the customer by first name, once, and closes once") {
  for (const auto& l : kCases) {
    INFO("language " << l.language);
    TestDesk d;
    auto id = open_ticket(d, l);
    d.take(TestDesk::mail("Eva Agent <" + kAgent + ">", agent_reply_address(d.c, kSecret, id, kAgent, kNow),
                          "Re: [SD-2] Printer", "r-" + l.language + "@x", "", "#resolve\r\n"),
           kNow + 120);
    auto body = last(d, "status-resolved", id).body_text;
    CAPTURE(body);
    CHECK(body.rfind(l.our_greeting_of_customer + "\n\n", 0) == 0);
    CHECK(count(body, l.greeting + " ") == 1);
    CHECK(count(body, l.our_regards) == 1);
    CHECK(body.find(l.our_regards + "\nEva Agent\nExample Servicedesk\n") != std::string::npos);
    CHECK(count(body, "Example Servicedesk") == 1);
  }
}

TEST_CASE("A customer whose mail gives no name is greeted without one, in the acknowledgement too") {
  TestDesk d;
  auto r = d.take(TestDesk::mail("olle@acme.se", "servicedesk@example.com", "VPN", "o1@acme.se"));
  REQUIRE(r.kind == IngestResult::Kind::created);
  auto ack = last(d, "acknowledgement", r.ticket_id).body_text;
  CHECK(ack.rfind("Hej,\n\n", 0) == 0);
  d.take(TestDesk::mail("Eva Agent <" + kAgent + ">", agent_reply_address(d.c, kSecret, r.ticket_id, kAgent, kNow),
                        "Re: VPN", "o2@x", "", "#resolve\r\n"),
         kNow + 120);
  CHECK(last(d, "status-resolved", r.ticket_id).body_text.rfind("Hej,\n\n", 0) == 0);
  // The ticket of the fixture's Anna Berg: her acknowledgement greets her by first name.
  CHECK(last(d, "acknowledgement", 1).body_text.rfind("Hej Anna,\n\n", 0) == 0);
}

TEST_CASE("A reply to a closed ticket's mail opens a ticket whose mails carry one tag and say what it continues") {
  TestDesk d;
  {
    auto tx = d.st->begin(store::Store::Mode::write);
    set_status(*tx, 1, Status::closed, kNow + 60);
    tx->commit();
  }
  auto r = d.take(TestDesk::mail("Anna Berg <" + kCustomer + ">", "servicedesk@example.com", "Re: [SD-1] Löst: Skrivaren",
                                 "c2@acme.se", "", "Den är trasig igen.\r\n"),
                  kNow + 120);
  REQUIRE(r.kind == IngestResult::Kind::created);
  REQUIRE(r.ticket_id == 2);
  CHECK(d.ticket(2).refers_to == std::optional<std::int64_t>(1));

  auto ack = last(d, "acknowledgement", 2);
  CHECK(ack.subject == "[SD-2] Skrivaren");
  CHECK(ack.body_text.find("Det är en fortsättning på ditt tidigare ärende SD-1.\n") != std::string::npos);

  auto note = last(d, "agent-notification", 2);
  CHECK(tags_in(note.subject) == std::vector<std::string>{"[SD-2]"});
  CHECK(note.subject.find("Skrivaren") != std::string::npos);
  CHECK(note.body_text.find("Continues:    SD-1") != std::string::npos);

  d.take(TestDesk::mail("Eva Agent <" + kAgent + ">", agent_reply_address(d.c, kSecret, 2, kAgent, kNow),
                        "Re: [SD-2] Skrivaren", "a2@x", "", "Hej Anna,\r\n\r\nVi byter den.\r\n"),
         kNow + 180);
  CHECK(last(d, "status-open", 2).subject == "[SD-2] Vi arbetar med ditt ärende: Skrivaren");

  // A ticket that continues nothing says nothing of it.
  CHECK(last(d, "acknowledgement", 1).body_text.find("tidigare ärende") == std::string::npos);
  CHECK(last(d, "agent-notification", 1).body_text.find("Continues:") == std::string::npos);
}
