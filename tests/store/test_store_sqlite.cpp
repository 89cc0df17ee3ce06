// tests/store/test_store_sqlite.cpp: the store's contract for tickets, raw mails, messages,
// the outbox, the watermark, events, pauses and open_store, run against either backend
// (tests/support/test_store.h); and, tagged [sqlite], what is SQLite's own: opening a new file
// from many threads, migrations of older SQLite schemas, query plans, sqlite:// URLs.
#include <catch2/catch.hpp>

#include "store/store.h"
#include "store/url.h"

#include <atomic>
#include <cstdio>
#include <ctime>
#include <thread>
#include "tests/store/sqlite_shell.h"
#include "tests/support/new_ticket.h"
#include "tests/support/tempdir.h"
#include "tests/support/test_store.h"

using namespace sd::store;
using sd::test::kUndo9;
using sd::test::sqlite_output;

namespace {
RawMail raw(const std::string& msgid, const std::string& hash, std::optional<MailOrigin> origin = {}) {
  return RawMail{100, origin, msgid, hash, "Subject: x\r\n\r\nbody", "", false};
}

// SQL that takes a store of this version back to version 7 (the migration tests of older
// versions run it first).
const std::string kUndo8 = std::string(kUndo9) +
                           "DROP INDEX tickets_sla_next_due; ALTER TABLE tickets DROP COLUMN sla_next_due; "
                           "ALTER TABLE tickets DROP COLUMN resolution; ALTER TABLE events DROP COLUMN internal; ";

}  // namespace

TEST_CASE("A new store is created, migrated and reopened without losing data") {
  sd::test::TempDir dir;
  {
    auto st = sd::test::open_test_store(dir);
    auto tx = st->begin(Store::Mode::write);
    auto id = tx->create_ticket(sd::test::new_ticket("Printer on fire", "anna@example.com", "Anna", 100, "medium"));
    CHECK(id == 1);
    tx->commit();
  }
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::read);
  auto t = tx->ticket(1);
  REQUIRE(t);
  CHECK(t->subject == "Printer on fire");
  CHECK(t->status == "new");
  CHECK(t->priority == "medium");
}

TEST_CASE("A transaction destroyed without commit leaves nothing behind") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  {
    auto tx = st->begin(Store::Mode::write);
    tx->create_ticket(sd::test::new_ticket("lost", "a@example.com", "", 1, "medium"));
    tx->add_raw(raw("m1@x", "h1"));
  }
  auto tx = st->begin(Store::Mode::read);
  CHECK(tx->tickets().empty());
  CHECK_FALSE(tx->raw_with("m1@x", "h1"));
}

TEST_CASE("Ticket numbers are never reused, even after the newest ticket's row is gone") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  {
    auto tx = st->begin(Store::Mode::write);
    CHECK(tx->create_ticket(sd::test::new_ticket("one", "a@example.com", "", 1, "medium")) == 1);
    CHECK(tx->create_ticket(sd::test::new_ticket("two", "a@example.com", "", 2, "medium")) == 2);
    tx->commit();
  }
  // An operator purges the newest ticket by hand.
  sd::test::test_store_sql(dir, "DELETE FROM tickets WHERE id = 2");
  auto tx = st->begin(Store::Mode::write);
  CHECK(tx->create_ticket(sd::test::new_ticket("three", "a@example.com", "", 3, "medium")) == 3);
  auto all = tx->tickets();
  REQUIRE(all.size() == 2);
  CHECK(all.front().id == 3);  // newest first
  CHECK(all.back().id == 1);
}

TEST_CASE("Raw mails are found again by mailbox position and by Message-ID plus content hash") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  MailOrigin o{"INBOX", 7, 42};
  {
    auto tx = st->begin(Store::Mode::write);
    tx->add_raw(raw("m1@x", "h1", o));
    tx->commit();
  }
  auto tx = st->begin(Store::Mode::read);
  CHECK(tx->raw_at(o));
  CHECK_FALSE(tx->raw_at({"INBOX", 8, 42}));  // another UIDVALIDITY is another mail
  CHECK(tx->raw_with("m1@x", "h1"));
  CHECK_FALSE(tx->raw_with("m1@x", "h2"));
  CHECK_FALSE(tx->raw_with("", "h1"));
}

TEST_CASE("look_up_raw answers what raw_at and has_raw_with_message_id answer, in one question") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  MailOrigin o{"INBOX", 7, 42};
  std::int64_t ticket = 0, raw_id = 0;
  {
    auto tx = st->begin(Store::Mode::write);
    raw_id = tx->add_raw(raw("m1@x", "h1", o));
    tx->add_raw(raw("m2@x", "h2", MailOrigin{"INBOX", 7, 43}));
    ticket = tx->create_ticket(sd::test::new_ticket("Printer", "anna@kund.se", "Anna", 100));
    MessageRecord m;
    m.ticket_id = ticket;
    m.raw_id = raw_id;
    m.direction = "in";
    m.message_id = "m1@x";
    tx->add_message(m);
    tx->commit();
  }
  auto tx = st->begin(Store::Mode::read);
  auto both = tx->look_up_raw(o, "m1@x");
  REQUIRE(both.at);
  CHECK(both.at->raw_id == raw_id);
  CHECK(both.at->ticket_id == ticket);
  CHECK(both.message_id_stored);
  auto without_ticket = tx->look_up_raw(MailOrigin{"INBOX", 7, 43}, "other@x");
  REQUIRE(without_ticket.at);
  CHECK_FALSE(without_ticket.at->ticket_id);
  CHECK_FALSE(without_ticket.message_id_stored);
  auto elsewhere = tx->look_up_raw(MailOrigin{"INBOX", 8, 42}, "m2@x");  // another UIDVALIDITY is another mail
  CHECK_FALSE(elsewhere.at);
  CHECK(elsewhere.message_id_stored);
  auto piped = tx->look_up_raw(std::nullopt, "m1@x");  // the MTA pipe's mail has no position
  CHECK_FALSE(piped.at);
  CHECK(piped.message_id_stored);
  CHECK_FALSE(tx->look_up_raw(std::nullopt, "").message_id_stored);
}

TEST_CASE("look_up_sender answers what agent, contact and organisation_of_domain answer, in one question") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  {
    auto tx = st->begin(Store::Mode::write);
    Organisation kund;
    kund.name = "Kund AB";
    kund.domains = {"kund.se"};
    tx->add_organisation(kund);
    tx->add_contact({"anna@kund.se", "Anna", "Kund AB", "own"});
    tx->add_agent({"bo@desk.example", "Bo"});
    tx->add_agent({"both@kund.se", "Both"});
    tx->add_contact({"both@kund.se", "Both B", "Kund AB"});
    tx->commit();
  }
  auto tx = st->begin(Store::Mode::read);
  auto anna = tx->look_up_sender("anna@kund.se", "kund.se");
  CHECK_FALSE(anna.agent);
  REQUIRE(anna.contact);
  CHECK(anna.contact->name == "Anna");
  CHECK(anna.contact->organisation == "Kund AB");
  CHECK(anna.contact->visibility == "own");
  CHECK(anna.domain_organisation == std::optional<std::string>("Kund AB"));
  auto bo = tx->look_up_sender("bo@desk.example", "desk.example");
  REQUIRE(bo.agent);
  CHECK(bo.agent->name == "Bo");
  CHECK_FALSE(bo.contact);
  CHECK_FALSE(bo.domain_organisation);
  auto both = tx->look_up_sender("both@kund.se", "kund.se");
  CHECK((both.agent && both.contact && both.contact->visibility == "inherit"));
  auto stranger = tx->look_up_sender("eve@kund.se", "kund.se");  // of the domain, no contact
  CHECK_FALSE(stranger.agent);
  CHECK_FALSE(stranger.contact);
  CHECK(stranger.domain_organisation == std::optional<std::string>("Kund AB"));
  for (const auto& [email, domain] : {std::pair<std::string, std::string>{"anna@kund.se", "kund.se"},
                                      {"bo@desk.example", "desk.example"}, {"eve@kund.se", "kund.se"},
                                      {"nobody@else.example", "else.example"}}) {
    auto one = tx->look_up_sender(email, domain);
    CHECK(one.agent.has_value() == tx->agent(email).has_value());
    CHECK(one.contact.has_value() == tx->contact(email).has_value());
    CHECK(one.domain_organisation == tx->organisation_of_domain(domain));
  }
}

TEST_CASE("Storing the same mailbox position twice is refused by the store itself") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  tx->add_raw(raw("m1@x", "h1", MailOrigin{"INBOX", 1, 1}));
  CHECK_THROWS_AS(tx->add_raw(raw("m2@x", "h2", MailOrigin{"INBOX", 1, 1})), StoreError);
}

TEST_CASE("Messages thread by their Message-IDs, in or out") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto t1 = tx->create_ticket(sd::test::new_ticket("one", "a@example.com", "", 1, "medium"));
  auto t2 = tx->create_ticket(sd::test::new_ticket("two", "b@example.com", "", 2, "medium"));
  MessageRecord m;
  m.ticket_id = t1;
  m.direction = "in";
  m.message_id = "first@client";
  m.to = {"desk@example.com", "boss@example.com"};
  AttachmentRecord pdf;
  pdf.filename = "report.pdf";
  pdf.content_type = "application/pdf";
  pdf.size = 3;
  pdf.data = "abc";
  m.attachments = {pdf};
  tx->add_message(m);
  m.ticket_id = t2;
  m.direction = "out";
  m.message_id = "ack@desk";
  m.attachments.clear();
  tx->add_message(m);
  CHECK(tx->ticket_by_message_ids({"nothing@x", "first@client"}) == t1);
  CHECK(tx->ticket_by_message_ids({"first@client", "ack@desk"}) == t2);  // the latest reference wins
  CHECK_FALSE(tx->ticket_by_message_ids({"", "unknown@x"}));
  auto msgs = tx->messages(t1);
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0].to == std::vector<std::string>{"desk@example.com", "boss@example.com"});
  REQUIRE(msgs[0].attachments.size() == 1);
  CHECK(msgs[0].attachments[0].filename == "report.pdf");
  CHECK(msgs[0].attachments[0].size == 3);
  CHECK(tx->ticket(t1)->message_count == 1);
}

TEST_CASE("The outbox hands out due mail and records sent, retried and failed deliveries") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto t = tx->create_ticket(sd::test::new_ticket("one", "a@example.com", "", 1, "medium"));
  OutboxItem o;
  o.ticket_id = t;
  o.kind = "acknowledgement";
  o.mail_from = "desk@example.com";
  o.recipients = {"A@Example.com"};
  o.message_id = "m@desk";
  o.bytes = "x";
  o.next_attempt_at = 100;
  o.created_at = 100;
  auto id1 = tx->enqueue(o);
  o.next_attempt_at = 200;
  auto id2 = tx->enqueue(o);
  CHECK(tx->due_outbox(99, 10).empty());
  auto due = tx->due_outbox(150, 10);
  REQUIRE(due.size() == 1);
  CHECK(due[0].id == id1);
  CHECK(tx->count_sent_or_queued("acknowledgement", "a@example.com", 50) == 2);
  CHECK(tx->count_sent_or_queued("acknowledgement", "a@example.co", 50) == 0);
  CHECK(tx->count_sent_or_queued("acknowledgement", "a@example.com", 101) == 0);
  tx->mark_retry(id1, 300, "421 try later");
  CHECK(tx->next_outbox_attempt() == 200);
  tx->mark_sent(id2, 210);
  CHECK(tx->next_outbox_attempt() == 300);
  tx->mark_failed(id1, "550 no such user");
  CHECK_FALSE(tx->next_outbox_attempt());
  CHECK(tx->due_outbox(1000, 10).empty());
  // A failed mail does not count against the rate limit; a sent one does.
  CHECK(tx->count_sent_or_queued("acknowledgement", "a@example.com", 50) == 1);
}

TEST_CASE("The mailbox watermark is kept per mailbox") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  CHECK_FALSE(tx->mailbox("INBOX"));
  tx->set_mailbox({"INBOX", 5, 10, 99});
  tx->set_mailbox({"Other", 1, 1, {}});
  tx->set_mailbox({"INBOX", 5, 11, 100});
  auto box = tx->mailbox("INBOX");
  REQUIRE(box);
  CHECK(box->uidvalidity == 5);
  CHECK(box->last_uid == 11);
  CHECK(box->last_poll_at == 100);
}

TEST_CASE("A store from a newer servicedesk is refused with a clear message") {
  sd::test::TempDir dir;
  sd::test::open_test_store(dir);
  {
    auto st = sd::test::open_test_store(dir);
    (void)st;
  }
  // Bump the schema version behind the store's back.
  sd::test::test_store_sql(dir, sd::test::testing_postgresql() ? "UPDATE schema_version SET version = 99"
                                                                : "PRAGMA user_version = 99");
  try {
    sd::test::open_test_store(dir);
    FAIL("a newer schema was accepted");
  } catch (const StoreError& e) {
    CHECK(std::string(e.what()).find("newer") != std::string::npos);
    CHECK_FALSE(e.transient);
  }
}

TEST_CASE("A locked database is a transient error, and the writer that waited in vain writes once it is free") {
  sd::test::TempDir dir;
  auto a = sd::test::open_test_store(dir, {"", 100});
  auto b = sd::test::open_test_store(dir, {"", 100});
  {
    auto holder = a->begin(Store::Mode::write);
    try {
      auto tx = b->begin(Store::Mode::write);
      FAIL("second writer got in");
    } catch (const StoreError& e) {
      CHECK(e.transient);
    }
  }
  auto tx = b->begin(Store::Mode::write);
  tx->create_ticket(sd::test::new_ticket("after the wait", "a@example.com", "", 1));
  REQUIRE_NOTHROW(tx->commit());
  CHECK(a->begin(Store::Mode::read)->tickets().size() == 1);
}

TEST_CASE("Many openers of a new store at the same moment all get in", "[sqlite]") {
  // The daemon's workers and an operator's command may open a fresh store together.
  for (int round = 0; round < 20; ++round) {
    sd::test::TempDir dir;
    auto path = dir.file("sd.db");
    std::atomic<int> ready{0}, failed{0};
    std::vector<std::thread> openers;
    for (int i = 0; i < 6; ++i)
      openers.emplace_back([&] {
        ++ready;
        while (ready < 6) std::this_thread::yield();
        try {
          auto st = open_sqlite_store({path, 5000});
          st->begin(Store::Mode::read)->tickets();
        } catch (const StoreError&) {
          ++failed;
        }
      });
    for (auto& t : openers) t.join();
    REQUIRE(failed == 0);
  }
}

TEST_CASE("A version 4 store migrated to 5 keeps its rate limit counts and its mailbox flags done", "[sqlite]") {
  sd::test::TempDir dir;
  auto path = dir.file("sd.db");
  {
    auto st = open_sqlite_store({path});
    auto tx = st->begin(Store::Mode::write);
    OutboxItem o;
    o.kind = "acknowledgement";
    o.mail_from = "desk@example.com";
    o.recipients = {"Anna@Example.com", "bo@example.com"};
    o.message_id = "m@desk";
    o.bytes = "x";
    o.next_attempt_at = o.created_at = 100;
    tx->enqueue(o);
    tx->set_mailbox({"INBOX", 5, 10, 99, 10});
    tx->commit();
  }
  // Version 4 had neither the recipients index nor done_uid; the fetch itself set \Seen then.
  std::string cmd = "sqlite3 " + path +
                    " '" + kUndo8 + "DROP TABLE outbox_recipients; ALTER TABLE mailboxes DROP COLUMN done_uid; "
                    "ALTER TABLE messages DROP COLUMN internal; DROP TABLE meta; DROP INDEX outbox_kind_created; "
                    "DROP INDEX events_kind_at; DROP TABLE in_flight; PRAGMA user_version = 4'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  auto st = open_sqlite_store({path});
  auto tx = st->begin(Store::Mode::read);
  CHECK(tx->count_sent_or_queued("acknowledgement", "anna@example.com", 50) == 1);
  CHECK(tx->count_sent_or_queued("acknowledgement", "BO@example.com", 50) == 1);
  CHECK(tx->count_sent_or_queued("acknowledgement", "example.com", 50) == 0);
  auto box = tx->mailbox("INBOX");
  REQUIRE(box);
  CHECK(box->last_uid == 10);
  CHECK(box->done_uid == 10);
}

TEST_CASE("Acknowledgements are counted by canonical address, by domain and in all") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto ack = [&](const std::string& to, Time at, const std::string& kind = "acknowledgement") {
    OutboxItem o;
    o.kind = kind;
    o.mail_from = "desk@example.com";
    o.recipients = {to};
    o.message_id = "m" + std::to_string(at) + "@desk";
    o.bytes = "x";
    o.next_attempt_at = o.created_at = at;
    tx->enqueue(o);
  };
  ack("victim+1@Kund.se", 100);
  ack("victim+2@kund.se", 101);
  ack("Victim@kund.se", 102);
  ack("other@kund.se", 103);
  ack("victim@elsewhere.se", 104);
  ack("victim@kund.se", 10);                          // too old
  ack("victim@kund.se", 105, "agent-notification");  // not an acknowledgement
  ack("victim_x@kund.se", 106);                       // '_' is no LIKE wildcard here
  auto n = tx->count_acknowledgements("VICTIM+9@kund.se", 50, 1000);
  CHECK(n.address == 3);
  CHECK(n.domain == 5);
  CHECK(n.all == 6);
  // Only the newest rows up to the total cap are read.
  auto capped = tx->count_acknowledgements("victim@kund.se", 50, 2);
  CHECK(capped.all == 2);
}

TEST_CASE("A store that had tickets accepts old-format tokens for 30 days after the upgrade to 6, a new one never", "[sqlite]") {
  sd::test::TempDir dir;
  auto path = dir.file("sd.db");
  {
    auto st = open_sqlite_store({path});
    CHECK_FALSE(st->begin(Store::Mode::read)->meta("legacy_tokens_until"));
    auto tx = st->begin(Store::Mode::write);
    NewTicket t;
    t.subject = "old";
    t.requester = "a@b.se";
    t.sla = "standard";
    tx->create_ticket(t);
    tx->commit();
  }
  std::string cmd = "sqlite3 " + path +
                    " '" + kUndo8 + "ALTER TABLE messages DROP COLUMN internal; DROP TABLE meta; DROP INDEX outbox_kind_created; "
                    "DROP INDEX events_kind_at; DROP INDEX outbox_recipients_outbox; DROP TABLE in_flight; PRAGMA user_version = 5'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  auto st = open_sqlite_store({path});
  auto until = st->begin(Store::Mode::read)->meta("legacy_tokens_until");
  REQUIRE(until);
  auto now = static_cast<Time>(std::time(nullptr));
  CHECK(std::stoll(*until) >= now + 30 * 86400 - 60);
  CHECK(std::stoll(*until) <= now + 30 * 86400 + 60);
}

// --- schema 8: event visibility, the next SLA due time, the resolution text ---------------

TEST_CASE("A version 7 store migrated to 8 keeps its tickets, events and pauses", "[sqlite]") {
  sd::test::TempDir dir;
  auto path = dir.file("sd.db");
  {
    auto st = open_sqlite_store({path});
    auto tx = st->begin(Store::Mode::write);
    auto id = tx->create_ticket(sd::test::new_ticket("Printer on fire", "anna@example.com", "Anna", 100));
    tx->add_event({id, 101, "system", "created", "by mail"});
    tx->add_event({id, 101, "system", "security", "a forged agent mail"});
    tx->write_status(id, "pending", 102);
    tx->start_pause(id, 102);
    tx->commit();
  }
  std::string cmd = "sqlite3 " + path + " '" + kUndo8 + "PRAGMA user_version = 7'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  auto st = open_sqlite_store({path});
  {
    auto tx = st->begin(Store::Mode::read);
    auto t = tx->ticket(1);
    REQUIRE(t);
    CHECK(t->subject == "Printer on fire");
    CHECK(t->status == "pending");
    CHECK_FALSE(t->sla_next_due);  // the SLA clock computes it; the store cannot
    CHECK(t->resolution.empty());
    auto events = tx->events(1, false);  // a customer's event from before 8 stays visible
    REQUIRE(events.size() == 1);
    CHECK(events[0].kind == "created");
    CHECK_FALSE(events[0].internal);
    auto all = tx->events(1);  // the kinds always meant for agents only become internal
    REQUIRE(all.size() == 2);
    CHECK(all[1].kind == "security");
    CHECK(all[1].internal);
    REQUIRE(tx->pauses(1).size() == 1);
    CHECK(tx->pauses(1)[0].from == 102);
  }
  CHECK(sqlite_output(path, "PRAGMA user_version") == sd::test::kNewestVersion);  // and on to the newest
}

TEST_CASE("Internal events are kept apart from the ones a customer may see") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto id = tx->create_ticket(sd::test::new_ticket("Login fails", "anna@example.com", "Anna", 100));
  tx->add_event({id, 101, "system", "created", ""});
  Event forged{id, 102, "mallory@example.com", "agent-mail-refused", "not authenticated", true};
  tx->add_event(forged);
  tx->add_event({id, 103, "bo@example.com", "status", "resolved"});
  auto all = tx->events(id);
  REQUIRE(all.size() == 3);
  CHECK_FALSE(all[0].internal);
  CHECK(all[1].internal);
  CHECK(all[1].kind == "agent-mail-refused");
  CHECK(tx->events(id, true).size() == 3);
  auto visible = tx->events(id, false);
  REQUIRE(visible.size() == 2);
  CHECK(visible[0].kind == "created");
  CHECK(visible[1].kind == "status");
}

TEST_CASE("A ticket's next SLA due time and resolution text are stored and read back") {
  sd::test::TempDir dir;
  {
    auto st = sd::test::open_test_store(dir);
    auto tx = st->begin(Store::Mode::write);
    auto id = tx->create_ticket(sd::test::new_ticket("VPN down", "anna@example.com", "Anna", 100));
    CHECK_FALSE(tx->ticket(id)->sla_next_due);
    tx->set_sla_next_due(id, 5000);
    tx->set_resolution(id, "Restarted the concentrator; the tunnel is up again.");
    tx->commit();
  }
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto t = tx->ticket(1);
  REQUIRE(t);
  CHECK(t->sla_next_due == 5000);
  CHECK(t->resolution == "Restarted the concentrator; the tunnel is up again.");
  CHECK(t->updated_at == 100);  // the clock's bookkeeping is no update of the ticket
  tx->set_sla_next_due(1, std::nullopt);
  CHECK_FALSE(tx->ticket(1)->sla_next_due);
}

TEST_CASE("Open tickets come by next SLA due time, earliest first, then those without one") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  for (int i = 1; i <= 6; ++i) tx->create_ticket(sd::test::new_ticket("t" + std::to_string(i), "a@example.com", "", i));
  tx->set_sla_next_due(1, 300);
  tx->set_sla_next_due(3, 100);
  tx->set_sla_next_due(4, 50);  // resolved: not in the queue
  tx->write_status(4, "resolved", 10);
  tx->set_sla_next_due(6, 300);  // same due time as 1: by number
  auto ids = [](const std::vector<Ticket>& ts) {
    std::vector<std::int64_t> out;
    for (const auto& t : ts) out.push_back(t.id);
    return out;
  };
  CHECK(ids(tx->open_tickets_by_sla_due(10)) == std::vector<std::int64_t>{3, 1, 6, 2, 5});
  CHECK(ids(tx->open_tickets_by_sla_due(2)) == std::vector<std::int64_t>{3, 1});
  CHECK(ids(tx->open_tickets_by_sla_due(4)) == std::vector<std::int64_t>{3, 1, 6, 2});
  CHECK(tx->open_tickets_by_sla_due(0).empty());
}

// The statement of open_tickets_by_sla_due (store/sqlite_store.cpp), its columns left out.
TEST_CASE("The queue by next SLA due time is read from its index, not sorted", "[sqlite]") {
  sd::test::TempDir dir;
  auto path = dir.file("sd.db");
  open_sqlite_store({path});
  auto plan = sqlite_output(path,
                            "EXPLAIN QUERY PLAN SELECT id FROM tickets t WHERE t.sla_next_due IS NOT NULL AND "
                            "+t.status IN ('new','open','pending') ORDER BY t.sla_next_due, t.id LIMIT 10");
  CHECK(plan.find("tickets_sla_next_due") != std::string::npos);
  CHECK(plan.find("TEMP B-TREE") == std::string::npos);
}

TEST_CASE("A pause of the SLA clock opens once and closes once") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto id = tx->create_ticket(sd::test::new_ticket("Waiting for the customer", "a@example.com", "", 100));
  CHECK_FALSE(tx->end_pause(id, 150));  // none open
  CHECK(tx->start_pause(id, 200));
  CHECK_FALSE(tx->start_pause(id, 250));  // already paused since 200
  REQUIRE(tx->pauses(id).size() == 1);
  CHECK(tx->pauses(id)[0].from == 200);
  CHECK_FALSE(tx->pauses(id)[0].to);
  CHECK(tx->end_pause(id, 300));
  CHECK_FALSE(tx->end_pause(id, 350));
  auto p = tx->pauses(id);
  REQUIRE(p.size() == 1);
  CHECK(p[0].to == 300);
  CHECK(tx->ticket(id)->status == "new");  // pauses are the caller's decision, not a status
}

TEST_CASE("Writing a status changes the status and nothing else") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto id = tx->create_ticket(sd::test::new_ticket("Done", "a@example.com", "", 100));
  tx->write_status(id, "resolved", 200);
  auto t = tx->ticket(id);
  CHECK(t->status == "resolved");
  CHECK(t->updated_at == 200);
  CHECK_FALSE(t->resolved_at);  // unlike set_status: the caller sets it
  CHECK(tx->pauses(id).empty());
  tx->set_resolved_at(id, 200);
  CHECK(tx->ticket(id)->resolved_at == 200);
  tx->set_resolved_at(id, std::nullopt);
  CHECK_FALSE(tx->ticket(id)->resolved_at);
  try {
    tx->write_status(99, "open", 300);
    FAIL("a status was written to a ticket that does not exist");
  } catch (const StoreError& e) {
    CHECK(e.refused);
    CHECK_FALSE(e.transient);
  }
}

// --- open_store: the backend chosen by URL ---------------------------------------------

TEST_CASE("open_store opens the SQLite file a sqlite:// URL names", "[sqlite]") {
  sd::test::TempDir dir;
  auto path = dir.file("sd.db");
  {
    auto st = open_store("sqlite://" + path);
    auto tx = st->begin(Store::Mode::write);
    tx->create_ticket(sd::test::new_ticket("By URL", "a@example.com", "", 100));
    tx->commit();
  }
  auto st = open_sqlite_store({path});
  auto t = st->begin(Store::Mode::read)->ticket(1);
  REQUIRE(t);
  CHECK(t->subject == "By URL");
}

TEST_CASE("open_store hands the extra options to the backend") {
  sd::test::TempDir dir;
  auto url = sd::test::test_store_url(dir);
  try {
    open_store(url, {"", 1000, 1});  // the first statement fails, as a locked database or a lost connection would
    FAIL("the injected fault did not reach the store");
  } catch (const StoreError& e) {
    CHECK(e.transient);
    CHECK(std::string(e.what()).find("injected fault") != std::string::npos);
  }
}

TEST_CASE("open_store refuses a scheme it has no backend for, for good, without repeating the URL") {
  for (const char* url : {"mysql://desk:s3cret@db.example.com/servicedesk", "mysql://db/sd", "/var/lib/sd.db",
                          "SQLITE:///var/lib/sd.db", "sqlite://"}) {
    INFO(url);
    try {
      open_store(url);
      FAIL("opened");
    } catch (const StoreError& e) {
      std::string msg = e.what();
      CHECK_FALSE(e.transient);
      CHECK(msg.find("sqlite:///") != std::string::npos);  // what to write instead
      CHECK(msg.find("s3cret") == std::string::npos);
      CHECK(msg.find("db.example.com") == std::string::npos);
    }
  }
}

TEST_CASE("A store URL's path is taken as written: absolute with three slashes, else relative") {
  auto abs = parse_store_url("sqlite:///var/lib/servicedesk/servicedesk.db");
  REQUIRE(abs);
  CHECK(abs->backend == StoreUrl::Backend::sqlite);
  CHECK(abs->path == "/var/lib/servicedesk/servicedesk.db");
  auto rel = parse_store_url("sqlite://data/sd.db");
  REQUIRE(rel);
  CHECK(rel->path == "data/sd.db");
  auto odd = parse_store_url("sqlite:///srv/a%20b.db");  // no %-decoding: the name as written
  REQUIRE(odd);
  CHECK(odd->path == "/srv/a%20b.db");
  CHECK_FALSE(parse_store_url(std::string("sqlite:///x.db\0.txt", 19)));
  auto pg = parse_store_url("postgresql://desk@db:5433/sd?sslmode=require");  // libpq's URI, as written
  REQUIRE(pg);
  CHECK(pg->backend == StoreUrl::Backend::postgresql);
  CHECK(pg->conninfo == "postgresql://desk@db:5433/sd?sslmode=require");
  CHECK(parse_store_url("postgres://db/sd"));
  auto other = parse_store_url("mysql://db/sd");
  REQUIRE_FALSE(other);
  CHECK(other.error().find("'mysql'") != std::string::npos);
}

TEST_CASE("A PostgreSQL store that cannot be reached is a transient error that never shows the password") {
  try {
    open_store("postgresql://desk:s3cret@127.0.0.1:1/servicedesk?connect_timeout=2");
    FAIL("opened");
  } catch (const StoreError& e) {
    CHECK(e.transient);
    CHECK(std::string(e.what()).find("s3cret") == std::string::npos);
  }
}
