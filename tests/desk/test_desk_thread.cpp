// The whole thread, as the people on it see it: who gets the agents' answers (the requester,
// colleagues in Cc, addresses an agent adds), senders of an organisation's domain who are not
// its contacts, an agent who writes to the plain desk address, tickets opened and answered for
// a customer (#requester, `ticket new/reply/note`), and the files that travel with the mails.
// Each test reads what a person would receive from the outbox, decoded by our own parser.
#include <catch2/catch.hpp>

#include "desk/attachments.h"
#include "desk/on_behalf.h"
#include "parser/parse.h"
#include "tests/support/test_desk.h"

#include <algorithm>

using namespace sd;
using namespace sd::test;

namespace {

const std::string kTrustedPass =
    "Authentication-Results: mx.example.com; dkim=pass header.d=example.com; dmarc=pass header.from=example.com\r\n";

bool has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

std::string body_of(const store::OutboxItem& o) { return parser::parse(o.bytes, {}).body_text; }

// The newest outgoing mail of `kind` on a ticket.
store::OutboxItem last(TestDesk& d, const std::string& kind, std::int64_t ticket) {
  std::optional<store::OutboxItem> found;
  for (auto& o : d.outbox(kind))
    if (o.ticket_id == ticket) found = o;
  REQUIRE(found);
  return *found;
}

// A mail with files: multipart/mixed, each file base64.
std::string mail_with_files(const std::string& from, const std::string& to, const std::string& subject,
                            const std::string& msgid, const std::string& text,
                            const std::vector<std::pair<std::string, std::string>>& files,
                            const std::string& extra = "") {
  std::string m = "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nMessage-ID: <" + msgid + ">\r\n" +
                  extra + "Date: Wed, 18 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n"
                  "Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n--b0\r\n"
                  "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n";
  for (const auto& [name, data] : files) {
    static const char* digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string b64;
    for (std::size_t i = 0; i < data.size(); i += 3) {
      unsigned n = static_cast<unsigned char>(data[i]) << 16;
      if (i + 1 < data.size()) n |= static_cast<unsigned char>(data[i + 1]) << 8;
      if (i + 2 < data.size()) n |= static_cast<unsigned char>(data[i + 2]);
      b64 += digits[(n >> 18) & 63];
      b64 += digits[(n >> 12) & 63];
      b64 += i + 1 < data.size() ? digits[(n >> 6) & 63] : '=';
      b64 += i + 2 < data.size() ? digits[n & 63] : '=';
      if (b64.size() % 76 == 0) b64 += "\r\n";
    }
    m += "--b0\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"" + name +
         "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64 + "\r\n";
  }
  return m + "--b0--\r\n";
}

void add_contact(TestDesk& d, const std::string& email, const std::string& name, const std::string& org) {
  auto tx = d.st->begin(store::Store::Mode::write);
  tx->add_contact({email, name, org});
  tx->commit();
}

std::vector<store::CcEntry> cc_of(TestDesk& d, std::int64_t ticket) {
  return d.st->begin(store::Store::Mode::read)->cc_entries(ticket);
}

}  // namespace

TEST_CASE("A colleague in Cc who is a registered contact gets the agent's answer in Cc, a stranger in Cc does not") {
  TestDesk d;
  add_contact(d, "carl@acme.se", "Carl Ek", "Acme");
  auto r = d.take(TestDesk::mail("Anna Berg <" + kCustomer + ">", "servicedesk@example.com", "Nätverket", "n1@acme.se",
                                 "Cc: Carl Ek <carl@acme.se>, stranger@evil.example\r\n"));
  REQUIRE(r.kind == IngestResult::Kind::created);
  auto ticket = r.ticket_id;
  auto ack = last(d, "acknowledgement", ticket);
  CHECK(ack.recipients == std::vector<std::string>{kCustomer, "carl@acme.se"});
  d.take(TestDesk::mail(kAgent, agent_reply_address(d.c, kSecret, ticket, kAgent, kNow), "Re: Nätverket", "n2@x", "",
                        "Hej Anna, vi tittar på det.\r\n"),
         kNow + 120);
  auto answer = last(d, "status-open", ticket);
  CHECK(has(answer.recipients, kCustomer));
  CHECK(has(answer.recipients, "carl@acme.se"));
  CHECK_FALSE(has(answer.recipients, "stranger@evil.example"));
  auto parsed = parser::parse(answer.bytes, {});
  REQUIRE(parsed.cc.size() == 1);
  CHECK(parsed.cc[0].email == "carl@acme.se");
}

TEST_CASE("An agent adds and drops Cc addresses with #cc, and a drop sticks when the contact is in Cc again") {
  TestDesk d;
  add_contact(d, "carl@acme.se", "Carl Ek", "Acme");
  d.take(TestDesk::mail(kAgent, d.agent_address, "Re: [SD-1] Skrivaren", "a1@x", "",
                        "#cc add partner@vendor.example\r\n\r\nVi har bett vår partner titta.\r\n"),
         kNow + 60);
  CHECK(has(last(d, "status-open", 1).recipients, "partner@vendor.example"));
  d.take(TestDesk::mail("Anna Berg <" + kCustomer + ">", "servicedesk@example.com", "Re: [SD-1] Skrivaren", "c2@acme.se",
                        "Cc: carl@acme.se\r\n", "Carl vet mer.\r\n"),
         kNow + 120);
  d.take(TestDesk::mail(kAgent, d.agent_address, "Re: [SD-1] Skrivaren", "a2@x", "",
                        "#cc remove partner@vendor.example\r\n#cc remove carl@acme.se\r\n\r\nTack.\r\n"),
         kNow + 180);
  auto reply = last(d, "reply", 1);
  CHECK(reply.recipients == std::vector<std::string>{kCustomer});
  // Anna copies Carl again: the agent's removal stands.
  d.take(TestDesk::mail("Anna Berg <" + kCustomer + ">", "servicedesk@example.com", "Re: [SD-1] Skrivaren", "c3@acme.se",
                        "Cc: carl@acme.se\r\n", "Igen.\r\n"),
         kNow + 240);
  d.take(TestDesk::mail(kAgent, d.agent_address, "Re: [SD-1] Skrivaren", "a3@x", "", "Vi återkommer.\r\n"), kNow + 300);
  CHECK(last(d, "reply", 1).recipients == std::vector<std::string>{kCustomer});
  bool logged = false;
  for (const auto& e : d.events(1)) logged = logged || (e.kind == "cc" && e.actor == kAgent);
  CHECK(logged);
}

TEST_CASE("A customer's #cc line is text: it puts nobody on the ticket") {
  TestDesk d;
  d.take(TestDesk::mail("Anna Berg <" + kCustomer + ">", "servicedesk@example.com", "Re: [SD-1] Skrivaren", "c2@acme.se",
                        "", "#cc add attacker@evil.example\r\n\r\nHej\r\n"));
  CHECK(cc_of(d, 1).empty());
}

TEST_CASE("A sender of an organisation's domain who is no contact is the organisation's, unverified, told in its language") {
  TestDesk d;
  auto r = d.take(TestDesk::mail("Olle Okänd <olle@acme.se>", "servicedesk@example.com", "Skärmen", "o1@acme.se"));
  REQUIRE(r.kind == IngestResult::Kind::created);
  auto t = d.ticket(r.ticket_id);
  CHECK(t.organisation == "Acme");
  CHECK(t.unverified);
  auto ack = body_of(last(d, "acknowledgement", r.ticket_id));
  CHECK(ack.find("Tack för ditt meddelande") != std::string::npos);
  CHECK(ack.find("registrerade kontaktpersoner hanteras först") != std::string::npos);
  // The organisation's other tickets stay closed to them: a reference to SD-1 opens a new ticket.
  auto ref = d.take(TestDesk::mail("olle@acme.se", "servicedesk@example.com", "Re: [SD-1] Skrivaren", "o2@acme.se", "",
                                   "Jag vill se detta.\r\n"),
                    kNow + 120);
  CHECK(ref.kind == IngestResult::Kind::created);
  CHECK(ref.ticket_id != 1);
  // A registered contact's acknowledgement says nothing of registration.
  CHECK(body_of(last(d, "acknowledgement", 1)).find("registrerade kontaktpersoner hanteras") == std::string::npos);
}

TEST_CASE("With unknown_sender reject, an organisation's unregistered sender is answered in the organisation's language") {
  TestDesk d;
  d.c.intake.unknown_sender = "reject";
  auto r = d.take(TestDesk::mail("olle@acme.se", "servicedesk@example.com", "Skärmen", "o1@acme.se"));
  CHECK(r.kind == IngestResult::Kind::rejected);
  auto answers = d.outbox("unknown-sender", "olle@acme.se");
  REQUIRE(answers.size() == 1);
  CHECK(body_of(answers[0]).find("endast registrerade kontaktpersoner") != std::string::npos);
}

TEST_CASE("An agent's mail to the plain address naming a ticket applies nothing, and the agent is told why at once") {
  TestDesk d;
  d.take(TestDesk::mail(kAgent, "servicedesk@example.com", "Re: [SD-1] Skrivaren", "p1@x", "", "#resolve\r\n\r\nLöst.\r\n"));
  CHECK(d.ticket(1).status == "new");
  CHECK(d.outbox("status-resolved", kCustomer).empty());
  auto told = d.outbox("agent-mail-not-applied", kAgent);
  REQUIRE(told.size() == 1);
  CHECK(body_of(told[0]).find("plain address") != std::string::npos);
  bool recorded = false;
  for (const auto& e : d.events(1)) recorded = recorded || (e.kind == "note" && e.detail.find("not applied") != std::string::npos);
  CHECK(recorded);
}

TEST_CASE("#requester without a trusted authentication opens nothing, and the registered agent is told") {
  TestDesk d;
  auto before = d.tickets().size();
  // Anyone can write From: the agent; without a DMARC pass of a trusted server nothing opens.
  auto r = d.take(TestDesk::mail(kAgent, "servicedesk@example.com", "Skrivaren på plan 2", "q1@x",
                                 "Authentication-Results: evil.example; dmarc=pass header.from=example.com\r\n",
                                 "#requester anna@acme.se\r\n\r\nAnna ringde.\r\n"));
  CHECK(r.kind == IngestResult::Kind::rejected);
  CHECK(d.tickets().size() == before);
  CHECK(d.outbox("acknowledgement", kCustomer).size() == 1);  // SD-1's alone
  auto told = d.outbox("requester-refused", kAgent);
  REQUIRE(told.size() == 1);
  CHECK(body_of(told[0]).find("servicedesk ticket new") != std::string::npos);
}

TEST_CASE("#requester with the agent's aligned DMARC pass opens the customer's ticket, assigned to the agent") {
  TestDesk d;
  auto r = d.take(TestDesk::mail("Eva Agent <" + kAgent + ">", "servicedesk@example.com", "Skrivaren på plan 2", "q1@x",
                                 kTrustedPass, "#requester Anna@Acme.se\r\n#priority high\r\n\r\nAnna ringde om skrivaren.\r\n"));
  REQUIRE(r.kind == IngestResult::Kind::created);
  auto t = d.ticket(r.ticket_id);
  CHECK(t.requester == kCustomer);
  CHECK(t.requester_name == "Anna Berg");
  CHECK(t.organisation == "Acme");
  CHECK(t.assignee == kAgent);
  CHECK(t.priority == "high");
  auto ack = last(d, "acknowledgement", r.ticket_id);
  CHECK(ack.recipients == std::vector<std::string>{kCustomer});
  CHECK(body_of(ack).find("Tack för ditt meddelande") != std::string::npos);
  auto note = last(d, "agent-notification", r.ticket_id);
  CHECK(note.recipients == std::vector<std::string>{kAgent});
  CHECK(note.bytes.find("Reply-To:") != std::string::npos);
  auto msgs = d.st->begin(store::Store::Mode::read)->messages(r.ticket_id);
  bool request_visible = false, agent_mail_internal = false;
  for (const auto& m : msgs) {
    if (m.direction != "in") continue;
    if (!m.internal && m.new_text.find("Anna ringde om skrivaren.") != std::string::npos &&
        m.new_text.find("#requester") == std::string::npos)
      request_visible = true;
    if (m.internal && m.message_id == "q1@x") agent_mail_internal = true;
  }
  CHECK(request_visible);
  CHECK(agent_mail_internal);
}

TEST_CASE("A ticket opened for a customer from the command line is the agent's and acknowledged to the customer") {
  TestDesk d;
  Desk desk(d.c);
  auto tx = d.st->begin(store::Store::Mode::write);
  OnBehalf what;
  what.requester = "bo@beta.dk";
  what.subject = "Printeren";
  what.agent = "nobody@example.com";
  CHECK_FALSE(open_ticket_for(*tx, desk, what, kNow));
  what.agent = kAgent;
  what.requester = kAgent;
  auto refused = open_ticket_for(*tx, desk, what, kNow);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().find("agent") != std::string::npos);
  what.requester = "bo@beta.dk";
  what.text = "Bo ringde: printeren står still.";
  auto id = open_ticket_for(*tx, desk, what, kNow);
  REQUIRE(id);
  tx->commit();
  auto t = d.ticket(*id);
  CHECK(t.requester == "bo@beta.dk");
  CHECK(t.organisation == "Beta");
  CHECK(t.assignee == kAgent);
  auto ack = last(d, "acknowledgement", *id);
  CHECK(ack.recipients == std::vector<std::string>{"bo@beta.dk"});
  CHECK(body_of(ack).find("Tak for din henvendelse") != std::string::npos);
}

TEST_CASE("ticket reply from the command line mails the customer as the agent, ticket note mails nobody") {
  TestDesk d;
  Desk desk(d.c);
  {
    auto tx = d.st->begin(store::Store::Mode::write);
    CHECK_FALSE(agent_writes(*tx, desk, 1, "nobody@example.com", "Hej", false, kNow + 60));
    CHECK_FALSE(agent_writes(*tx, desk, 99, kAgent, "Hej", false, kNow + 60));
    REQUIRE(agent_writes(*tx, desk, 1, kAgent, "Intern: ring leverantören.", true, kNow + 60));
    tx->commit();
  }
  CHECK(d.outbox("", kCustomer).size() == 1);  // the acknowledgement alone
  {
    auto tx = d.st->begin(store::Store::Mode::write);
    REQUIRE(agent_writes(*tx, desk, 1, kAgent, "Hej Anna, skrivaren är lagad.", false, kNow + 120));
    tx->commit();
  }
  auto answer = last(d, "status-open", 1);
  CHECK(answer.recipients == std::vector<std::string>{kCustomer});
  auto parsed = parser::parse(answer.bytes, {});
  CHECK(parsed.from.name.find("Eva Agent") != std::string::npos);
  CHECK(parsed.body_text.find("skrivaren är lagad") != std::string::npos);
  bool note_kept = false, reply_by_agent = false;
  for (const auto& m : d.st->begin(store::Store::Mode::read)->messages(1))
    note_kept = note_kept || (m.internal && m.body_text == "Intern: ring leverantören.");
  for (const auto& e : d.events(1)) reply_by_agent = reply_by_agent || (e.kind == "reply" && e.actor == kAgent);
  CHECK(note_kept);
  CHECK(reply_by_agent);
}

TEST_CASE("A customer's file reaches the agents attached, and over the limit it is listed for #attachments") {
  TestDesk d;
  std::string pdf = "%PDF-1.4\n" + std::string(300, 'x');
  auto r = d.take(mail_with_files("Anna Berg <" + kCustomer + ">", "servicedesk@example.com", "Faktura", "f1@acme.se",
                                  "Se bifogad faktura.", {{"faktura.pdf", pdf}}));
  auto note = last(d, "agent-notification", r.ticket_id);
  auto files = d.st->begin(store::Store::Mode::read)->attachments(r.ticket_id);
  REQUIRE(files.size() == 1);
  CHECK(files[0].number == 1);
  CHECK(note.attachment_ids == std::vector<std::int64_t>{files[0].id});
  CHECK(body_of(note).find("faktura.pdf") != std::string::npos);

  d.c.notify.attach_max_bytes = 400;  // room for one of the two files below in a mail
  auto r2 = d.take(mail_with_files("Anna Berg <" + kCustomer + ">", "servicedesk@example.com", "Re: [SD-" +
                                       std::to_string(r.ticket_id) + "] Faktura", "f2@acme.se", "Två till.",
                                   {{"a.pdf", pdf}, {"b.pdf", pdf}}),
                   kNow + 60);
  auto note2 = last(d, "agent-notification", r2.ticket_id);
  CHECK(note2.attachment_ids.size() == 1);
  auto text = body_of(note2);
  CHECK(text.find("Not attached") != std::string::npos);
  CHECK(text.find("#attachments") != std::string::npos);

  d.take(TestDesk::mail(kAgent, agent_reply_address(d.c, kSecret, r.ticket_id, kAgent, kNow), "Re: Faktura", "g1@x", "",
                        "#attachments\r\n"),
         kNow + 120);
  auto parts = d.outbox("attachments", kAgent);
  REQUIRE(parts.size() == 3);  // three files of 309 bytes, one per mail under 400
  std::size_t carried = 0;
  for (const auto& p : parts) {
    CHECK(p.attachment_ids.size() == 1);
    carried += p.attachment_ids.size();
  }
  CHECK(carried == 3);
}

TEST_CASE("An agent's file goes to the customer with the answer") {
  TestDesk d;
  d.take(mail_with_files(kAgent, d.agent_address, "Re: [SD-1] Skrivaren", "g1@x", "Här är guiden.",
                         {{"guide.pdf", "%PDF guide"}}));
  auto answer = last(d, "status-open", 1);
  auto files = d.st->begin(store::Store::Mode::read)->attachments(1);
  REQUIRE(files.size() == 1);
  CHECK(files[0].filename == "guide.pdf");
  CHECK(answer.attachment_ids == std::vector<std::int64_t>{files[0].id});
}

TEST_CASE("Sizes read as people read them") {
  CHECK(size_words(14) == "14 bytes");
  CHECK(size_words(812'000) == "812 KB");
  CHECK(size_words(25'300'000) == "25.3 MB");
}

TEST_CASE("A team address written with capitals gets a notification token that works when an agent answers") {
  TestDesk d;
  d.c.agents.team_address = "Team@Example.com";
  auto r = d.take(TestDesk::mail("Anna Berg <" + kCustomer + ">", "servicedesk@example.com", "Ny fråga", "t1@acme.se"));
  auto note = parser::parse(last(d, "agent-notification", r.ticket_id).bytes, {});
  REQUIRE(note.reply_to.size() == 1);
  d.take(TestDesk::mail(kAgent, note.reply_to[0].email, "Re: Ny fråga", "t2@x", "", "#priority high\r\n\r\nVi kollar.\r\n"),
         kNow + 60);
  CHECK(d.ticket(r.ticket_id).priority == "high");
}
