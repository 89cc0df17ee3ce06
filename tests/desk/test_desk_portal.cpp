// tests/desk/test_desk_portal.cpp: what the portal asks of the desk (desk/from_portal.h), on
// the shared TOML desk (tests/support/test_desk.h: Acme's SD-1 open, Anna of Acme, Bo of
// Beta, agent Eva) with a real SQLite store. The portal's Desk is built as the portal builds
// it, without the token secret; what is checked is what people get: tickets, events and the
// mails in the outbox, read back with our own parser.
#include <catch2/catch.hpp>

#include "desk/agent_mail.h"
#include "desk/desk.h"
#include "desk/from_portal.h"
#include "desk/ticket_change.h"
#include "parser/parse.h"
#include "tests/support/test_desk.h"

#include <algorithm>

using namespace sd;
using test::kAgent;
using test::kCustomer;
using test::kNow;
using test::kSecret;

namespace {

constexpr store::Time kLater = kNow + 3600;

// The portal's Desk: the same config, no token secret.
std::unique_ptr<Desk> portal_desk(const Config& c) { return std::make_unique<Desk>(c, /*read_token_secret=*/false); }

template <class F>
auto in_write(test::TestDesk& td, F&& f) {
  auto tx = td.st->begin(store::Store::Mode::write);
  auto r = f(*tx);
  tx->commit();
  return r;
}

CustomerWrite reply_of(const std::string& contact, std::int64_t ticket, const std::string& text,
                       std::vector<Upload> files = {}) {
  CustomerWrite w;
  w.contact = contact;
  w.ticket_id = ticket;
  w.text = text;
  w.files = std::move(files);
  return w;
}

CustomerWrite new_ticket(const std::string& subject, const std::string& text) {
  CustomerWrite w;
  w.contact = kCustomer;
  w.subject = subject;
  w.text = text;
  return w;
}

// The outbox's mails whose text holds `words`.
std::vector<store::OutboxItem> mails_saying(test::TestDesk& td, const std::string& kind, const std::string& to,
                                            const std::string& words) {
  std::vector<store::OutboxItem> out;
  for (auto& o : td.outbox(kind, to))
    if (parser::parse(o.bytes).body_text.find(words) != std::string::npos) out.push_back(o);
  return out;
}

std::size_t outbox_to(test::TestDesk& td, const std::string& to) { return td.outbox("", to).size(); }

}  // namespace

TEST_CASE("A contact's reply on the portal joins their resolved ticket, reopens it, and the agents get it with the file") {
  test::TestDesk td;
  in_write(td, [&](store::Transaction& tx) {
    set_status(tx, 1, Status::resolved, kNow + 60);
    return 0;
  });
  auto desk = portal_desk(td.c);
  auto id = in_write(td, [&](store::Transaction& tx) {
    return customer_writes(tx, *desk, reply_of(kCustomer, 1, "Den är fortfarande trasig.\r\nSe bilden.",
                                               {{"skärm.png", "image/png", "PNG-BYTES"}}),
                           kLater);
  });
  REQUIRE(id);
  CHECK(*id == 1);
  CHECK(td.tickets().size() == 1);
  CHECK(td.ticket(1).status == "open");
  CHECK(td.has_event(1, "reopened"));
  auto events = td.events(1);
  CHECK(std::any_of(events.begin(), events.end(),
                    [](const store::Event& e) { return e.kind == "message" && e.detail == "portal" && e.actor == kCustomer; }));
  CHECK(td.outbox("status-reopened", kCustomer).size() == 1);

  // The message is the contact's, with a Message-ID of the portal's own, and holds the file.
  std::vector<store::AttachmentInfo> files;
  {
    auto tx = td.st->begin(store::Store::Mode::read);
    auto msgs = tx->messages(1);
    auto it = std::find_if(msgs.begin(), msgs.end(), [](const auto& m) { return m.body_text.find("fortfarande") != std::string::npos; });
    REQUIRE(it != msgs.end());
    CHECK(it->from_addr == kCustomer);
    CHECK(it->body_text == "Den är fortfarande trasig.\nSe bilden.");
    CHECK(it->message_id.rfind("portal.", 0) == 0);
    CHECK(it->message_id.find("@example.com") != std::string::npos);
    CHECK(notify::valid_msg_id(it->message_id));
    files = tx->attachments(1);
  }
  REQUIRE(files.size() == 1);
  CHECK(files[0].filename == "skärm.png");
  CHECK(files[0].size == 9);

  // The agents' notification carries the text and the file, and a Reply-To the daemon fills in.
  auto notes = mails_saying(td, "agent-notification", kAgent, "fortfarande trasig");
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].attachment_ids == std::vector<std::int64_t>{files[0].id});
  auto parsed = parser::parse(notes[0].bytes);
  REQUIRE(parsed.reply_to.size() == 1);
  CHECK(parsed.reply_to[0].email == "servicedesk+SD-1." + std::string(kSendTimeToken) + "@example.com");
  auto filled = fill_send_time_token(notes[0].bytes, td.c, kSecret, 1, kAgent, kLater);
  REQUIRE(filled);
  CHECK(parser::parse(*filled).reply_to.at(0).email == agent_reply_address(td.c, kSecret, 1, kAgent, kLater));
}

TEST_CASE("A contact's portal reply on another organisation's ticket is refused and changes nothing") {
  test::TestDesk td;
  auto desk = portal_desk(td.c);
  auto before_events = td.events(1).size();
  auto before_mails = td.outbox().size();
  auto tx = td.st->begin(store::Store::Mode::write);
  auto r = customer_writes(*tx, *desk, reply_of("bo@beta.dk", 1, "Jag tar över detta", {{"a.txt", "text/plain", "x"}}),
                           kLater);
  REQUIRE_FALSE(r);
  CHECK(r.error() == "no ticket SD-1");  // the same answer as for a ticket that does not exist
  auto missing = customer_writes(*tx, *desk, reply_of("bo@beta.dk", 99, "x"), kLater);
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == "no ticket SD-99");
  tx->commit();
  CHECK(td.events(1).size() == before_events);
  CHECK(td.outbox().size() == before_mails);
  CHECK(td.tickets().size() == 1);
  auto rtx = td.st->begin(store::Store::Mode::read);
  CHECK(rtx->messages(1).size() == 2);  // Anna's mail and its acknowledgement
  CHECK(rtx->attachments(1).empty());
}

TEST_CASE("Someone who is no registered contact cannot write through the portal, nor an agent as a customer") {
  test::TestDesk td;
  auto desk = portal_desk(td.c);
  auto before = td.events(1).size();
  auto tx = td.st->begin(store::Store::Mode::write);
  CHECK_FALSE(customer_writes(*tx, *desk, reply_of("mallory@acme.se", 1, "hej"), kLater));
  CHECK_FALSE(customer_writes(*tx, *desk, reply_of(kAgent, 1, "hej"), kLater));
  CHECK_FALSE(customer_writes(*tx, *desk, reply_of(kCustomer, 1, " \r\n "), kLater));  // nothing to say
  tx->commit();
  CHECK(td.events(1).size() == before);
  CHECK(td.tickets().size() == 1);
}

TEST_CASE("A new ticket from the portal gets the acknowledgement with the portal link when base_url is set") {
  test::TestDesk td;
  Config with_portal = td.c;
  with_portal.portal.base_url = "https://desk.example.com";
  auto desk = portal_desk(with_portal);
  auto w = new_ticket("VPN fungerar inte\r\n", "Sedan i morse.");
  w.category = Category::support;
  auto id = in_write(td, [&](store::Transaction& tx) { return customer_writes(tx, *desk, w, kLater); });
  REQUIRE(id);
  CHECK(*id == 2);
  auto t = td.ticket(2);
  CHECK(t.subject == "VPN fungerar inte");
  CHECK(t.requester == kCustomer);
  CHECK(t.organisation == "Acme");
  CHECK(t.category == "support");
  CHECK_FALSE(t.unverified);
  auto events = td.events(2);
  CHECK(std::any_of(events.begin(), events.end(),
                    [](const store::Event& e) { return e.kind == "created" && e.detail == "portal"; }));
  auto acks = td.outbox("acknowledgement", kCustomer);
  REQUIRE(acks.size() == 2);  // SD-1's by mail, SD-2's now
  auto body = parser::parse(acks.back().bytes).body_text;
  CAPTURE(body);
  CHECK(body.find("https://desk.example.com/tickets/SD-2\n") != std::string::npos);
  CHECK(body.find("Följ och svara på ditt ärende på webben") != std::string::npos);  // Acme's language
  CHECK(mails_saying(td, "agent-notification", kAgent, "Sedan i morse.").size() == 1);

  // Without base_url: the same mail, no link and no trace of one.
  auto plain = portal_desk(td.c);
  in_write(td, [&](store::Transaction& tx) { return customer_writes(tx, *plain, new_ticket("Skrivare 2", "Trasig."), kLater); });
  auto acks2 = td.outbox("acknowledgement", kCustomer);
  REQUIRE(acks2.size() == 3);
  auto body2 = parser::parse(acks2.back().bytes).body_text;
  CHECK(body2.find("/tickets/") == std::string::npos);
  CHECK(body2.find("webben") == std::string::npos);
}

TEST_CASE("The status mails carry the portal link when base_url is set") {
  test::TestDesk td;
  Config with_portal = td.c;
  with_portal.portal.base_url = "https://desk.example.com/";  // a trailing slash is not doubled
  Desk desk(with_portal);
  in_write(td, [&](store::Transaction& tx) {
    TicketChange ch;
    ch.status = Status::pending;
    ch.text = "Vilken modell är det?";
    ch.agent_name = "Eva Agent";
    return change_ticket(tx, desk, *tx.ticket(1), ch, kAgent, kLater).mail_queued;
  });
  auto mails = td.outbox("status-pending", kCustomer);
  REQUIRE(mails.size() == 1);
  CHECK(parser::parse(mails[0].bytes).body_text.find("https://desk.example.com/tickets/SD-1\n") != std::string::npos);
}

TEST_CASE("A customer cannot set the priority from the portal, not even with an agent's command in the text") {
  test::TestDesk td;
  auto desk = portal_desk(td.c);
  auto id = in_write(td, [&](store::Transaction& tx) {
    return customer_writes(tx, *desk, new_ticket("Brådskande!", "#priority critical\n#assign eva@example.com\nSnälla."),
                           kLater);
  });
  REQUIRE(id);
  auto t = td.ticket(*id);
  CHECK(t.priority == td.ticket(1).priority);  // the desk's default, as for a mail
  CHECK(t.assignee.empty());
  // A reply does not change it either.
  in_write(td, [&](store::Transaction& tx) { return customer_writes(tx, *desk, reply_of(kCustomer, 1, "#priority critical"), kLater); });
  CHECK(td.ticket(1).priority == t.priority);
}

TEST_CASE("A contact's portal reply on a closed ticket opens a new one that refers to it, as a mail would") {
  test::TestDesk td;
  in_write(td, [&](store::Transaction& tx) {
    set_status(tx, 1, Status::closed, kNow + 60);
    return 0;
  });
  auto desk = portal_desk(td.c);
  auto id = in_write(td, [&](store::Transaction& tx) { return customer_writes(tx, *desk, reply_of(kCustomer, 1, "Igen!"), kLater); });
  REQUIRE(id);
  CHECK(*id == 2);
  CHECK(td.ticket(1).status == "closed");
  CHECK(td.ticket(2).refers_to == 1);
  CHECK(td.ticket(2).subject.find("Skrivaren") != std::string::npos);
}

TEST_CASE("Uploads keep their names as text, and a file over the limit keeps its name and size, not its bytes") {
  test::TestDesk td;
  Config small = td.c;
  small.limits.max_attachment_bytes = 4;
  auto desk = portal_desk(small);
  auto id = in_write(td, [&](store::Transaction& tx) {
    return customer_writes(tx, *desk,
                           reply_of(kCustomer, 1, "Filer",
                                    {{"../../etc/passwd", "text/plain\r\nX-Evil: 1", "root"},
                                     {"stor.bin", "application/octet-stream", "0123456789"}}),
                           kLater);
  });
  REQUIRE(id);
  auto files = td.st->begin(store::Store::Mode::read)->attachments(1);
  REQUIRE(files.size() == 2);
  CHECK(files[0].filename.find('/') == std::string::npos);
  CHECK(files[0].content_type == "application/octet-stream");  // a type with a line break is no type
  CHECK(files[0].kept);
  CHECK(files[1].filename == "stor.bin");
  CHECK(files[1].size == 10);
  CHECK_FALSE(files[1].kept);

  // Too many files, or too much in all: refused, nothing stored.
  Config few = td.c;
  few.limits.max_parts = 2;
  auto strict = portal_desk(few);
  auto wtx = td.st->begin(store::Store::Mode::write);
  auto r = customer_writes(*wtx, *strict, reply_of(kCustomer, 1, "x", {{"a", "", "1"}, {"b", "", "2"}}), kLater);
  REQUIRE_FALSE(r);
  CHECK(r.error().find("too many files") != std::string::npos);
}

TEST_CASE("An agent's portal reply that resolves the ticket sends the resolution mail with the file") {
  test::TestDesk td;
  auto desk = portal_desk(td.c);
  AgentWrite w;
  w.agent = kAgent;
  w.ticket_id = 1;
  w.text = "Tonern är bytt, se guiden.";
  w.change.status = Status::resolved;
  w.change.time_s = 900;
  w.files = {{"guide.pdf", "application/pdf", "%PDF-1.4 guide"}};
  auto outcome = in_write(td, [&](store::Transaction& tx) { return agent_works(tx, *desk, w, kLater); });
  REQUIRE(outcome);
  CHECK(outcome->status == Status::resolved);
  CHECK(outcome->mail_queued);
  auto t = td.ticket(1);
  CHECK(t.status == "resolved");
  CHECK(t.resolution == "Tonern är bytt, se guiden.");
  auto mails = td.outbox("status-resolved", kCustomer);
  REQUIRE(mails.size() == 1);
  CHECK(parser::parse(mails[0].bytes).body_text.find("Tonern är bytt, se guiden.") != std::string::npos);
  auto files = td.st->begin(store::Store::Mode::read)->attachments(1);
  REQUIRE(files.size() == 1);
  CHECK(files[0].filename == "guide.pdf");
  CHECK_FALSE(files[0].internal);
  CHECK(mails[0].attachment_ids == std::vector<std::int64_t>{files[0].id});
  CHECK(td.has_event(1, "time"));
}

TEST_CASE("An agent's note from the portal is never mailed to the customer, nor its file") {
  test::TestDesk td;
  auto desk = portal_desk(td.c);
  auto before = outbox_to(td, kCustomer);
  AgentWrite w;
  w.agent = kAgent;
  w.ticket_id = 1;
  w.text = "Kunden har ett gammalt avtal, fakturera inte.";
  w.note = true;
  w.files = {{"avtal.pdf", "application/pdf", "%PDF"}};
  auto outcome = in_write(td, [&](store::Transaction& tx) { return agent_works(tx, *desk, w, kLater); });
  REQUIRE(outcome);
  CHECK_FALSE(outcome->mail_queued);
  CHECK(outbox_to(td, kCustomer) == before);
  CHECK(td.has_event(1, "note"));
  auto tx = td.st->begin(store::Store::Mode::read);
  auto msgs = tx->messages(1);
  auto it = std::find_if(msgs.begin(), msgs.end(), [&](const auto& m) { return m.body_text == w.text; });
  REQUIRE(it != msgs.end());
  CHECK(it->internal);
  auto files = tx->attachments(1);
  REQUIRE(files.size() == 1);
  CHECK(files[0].internal);
}

TEST_CASE("An agent's portal change is refused whole for an assignee who is no agent, or with nothing to do") {
  test::TestDesk td;
  auto desk = portal_desk(td.c);
  auto before = td.events(1).size();
  auto tx = td.st->begin(store::Store::Mode::write);
  AgentWrite w;
  w.agent = kAgent;
  w.ticket_id = 1;
  w.text = "Jag lämnar över.";
  w.change.assignee = "mallory@example.com";
  w.change.status = Status::pending;
  auto r = agent_works(*tx, *desk, w, kLater);
  REQUIRE_FALSE(r);
  CHECK(r.error().find("mallory@example.com") != std::string::npos);
  AgentWrite empty;
  empty.agent = kAgent;
  empty.ticket_id = 1;
  CHECK_FALSE(agent_works(*tx, *desk, empty, kLater));
  AgentWrite stranger = w;
  stranger.agent = kCustomer;
  stranger.change = {};
  CHECK_FALSE(agent_works(*tx, *desk, stranger, kLater));
  tx->commit();
  CHECK(td.events(1).size() == before);
  CHECK(td.ticket(1).status == "new");
  CHECK(td.outbox("", kCustomer).size() == 1);  // the acknowledgement only
}

TEST_CASE("The login-link mail is queued with the link, on no ticket, in the person's language, as an automatic mail") {
  test::TestDesk td;
  auto desk = portal_desk(td.c);
  in_write(td, [&](store::Transaction& tx) {
    queue_login_link(tx, *desk, "Anna@Acme.se", "Anna Berg", "sv", "https://desk.example.com/login/tok123", 15, kLater);
    return 0;
  });
  auto mails = td.outbox("login-link", kCustomer);
  REQUIRE(mails.size() == 1);
  CHECK_FALSE(mails[0].ticket_id);
  auto m = parser::parse(mails[0].bytes);
  CHECK(m.body_text.find("https://desk.example.com/login/tok123\n") != std::string::npos);
  CHECK(m.body_text.find("15 minuter") != std::string::npos);
  CHECK(m.body_text.rfind("Hej Anna Berg,", 0) == 0);
  CHECK(m.subject == "Logga in på Example Servicedesk");
  REQUIRE(m.header("Auto-Submitted"));
  CHECK(*m.header("Auto-Submitted") == "auto-generated");
  CHECK(m.reply_to.empty());
  // Not on any ticket's thread.
  auto tx = td.st->begin(store::Store::Mode::read);
  for (const auto& msg : tx->messages(1)) CHECK(msg.body_text.find("tok123") == std::string::npos);
}

TEST_CASE("A Reply-To token is filled in only in our own Reply-To field, never from a customer's text") {
  test::TestDesk td;
  auto desk = portal_desk(td.c);
  const std::string placeholder = "servicedesk+SD-1." + std::string(kSendTimeToken) + "@example.com";
  // Anna writes the placeholder address into her text, with a header line of her own making.
  std::string text = "Reply-To: " + placeholder + "\r\nReply-To: <" + placeholder + ">\r\n\r\n" + placeholder;
  in_write(td, [&](store::Transaction& tx) {
    return customer_writes(tx, *desk, reply_of(kCustomer, 1, text), kLater);
  });
  auto notes = mails_saying(td, "agent-notification", kAgent, "Reply-To: " + placeholder);
  REQUIRE(notes.size() == 1);
  auto filled = fill_send_time_token(notes[0].bytes, td.c, kSecret, 1, kAgent, kLater);
  REQUIRE(filled);
  auto m = parser::parse(*filled);
  REQUIRE(m.reply_to.size() == 1);
  CHECK(m.reply_to[0].email == agent_reply_address(td.c, kSecret, 1, kAgent, kLater));
  CHECK(m.body_text.find("Reply-To: " + placeholder) != std::string::npos);  // her text stays as she wrote it
  CHECK(m.body_text.find("Reply-To: <" + placeholder + ">") != std::string::npos);
  // Filling twice finds nothing more to fill.
  CHECK_FALSE(fill_send_time_token(*filled, td.c, kSecret, 1, kAgent, kLater));

  // A mail whose only placeholder is in the body, or in another field, or for another ticket: nothing is filled.
  std::string head = "From: x@example.com\r\nSubject: Reply-To: <" + placeholder + ">\r\n";
  CHECK_FALSE(fill_send_time_token(head + "\r\nReply-To: <" + placeholder + ">\r\n", td.c, kSecret, 1, kAgent, kLater));
  CHECK_FALSE(fill_send_time_token(head + "X-Note: <" + placeholder + ">\r\n\r\nhi\r\n", td.c, kSecret, 1, kAgent, kLater));
  CHECK_FALSE(fill_send_time_token(head + "Reply-To: <" + placeholder + ">\r\n\r\n", td.c, kSecret, 2, kAgent, kLater));
  CHECK_FALSE(fill_send_time_token(head + "Reply-To: <x" + placeholder + ">\r\n\r\n", td.c, kSecret, 1, kAgent, kLater));
  CHECK_FALSE(fill_send_time_token("Reply-To: <" + placeholder + ">", td.c, kSecret, 1, kAgent, kLater));  // no header end
  // The placeholder itself is never a token that passes.
  CHECK(check_token(kSecret, "SD-1", kAgent, std::string(kSendTimeToken), kLater, 90, std::nullopt) != TokenCheck::valid);
}

TEST_CASE("Without a secret at send time the placeholder becomes the plain desk address, with one at queue time there is none") {
  test::TestDesk td;
  auto desk = portal_desk(td.c);
  in_write(td, [&](store::Transaction& tx) { return customer_writes(tx, *desk, reply_of(kCustomer, 1, "Hallå?"), kLater); });
  auto notes = mails_saying(td, "agent-notification", kAgent, "Hallå?");
  REQUIRE(notes.size() == 1);
  auto filled = fill_send_time_token(notes[0].bytes, td.c, "", 1, kAgent, kLater);
  REQUIRE(filled);
  CHECK(parser::parse(*filled).reply_to.at(0).email == "servicedesk@example.com");

  // The daemon's own Desk has the secret: its notifications carry the real token at once.
  Desk daemon_desk(td.c);
  in_write(td, [&](store::Transaction& tx) { return customer_writes(tx, daemon_desk, reply_of(kCustomer, 1, "Nu då?"), kLater); });
  auto direct = mails_saying(td, "agent-notification", kAgent, "Nu då?");
  REQUIRE(direct.size() == 1);
  CHECK(direct[0].bytes.find(kSendTimeToken) == std::string::npos);
  CHECK_FALSE(fill_send_time_token(direct[0].bytes, td.c, kSecret, 1, kAgent, kLater));
  CHECK(parser::parse(direct[0].bytes).reply_to.at(0).email == agent_reply_address(td.c, kSecret, 1, kAgent, kLater));

  // Tokens off altogether: the plain address, no placeholder.
  Config off = td.c;
  off.agents.token_secret_file.clear();
  CHECK(agent_reply_to(off, "", 1, kAgent, kLater) == "servicedesk@example.com");
  CHECK(agent_reply_to(td.c, "", 1, kAgent, kLater) == "servicedesk+SD-1." + std::string(kSendTimeToken) + "@example.com");
}
