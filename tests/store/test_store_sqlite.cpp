#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "store/store.h"

#include <atomic>
#include <ctime>
#include <thread>
#include "tests/support/new_ticket.h"
#include "tests/support/tempdir.h"

using namespace sd::store;

namespace {
RawMail raw(const std::string& msgid, const std::string& hash, std::optional<MailOrigin> origin = {}) {
  return RawMail{100, origin, msgid, hash, "Subject: x\r\n\r\nbody", "", false};
}
}  // namespace

TEST_CASE("A new store is created, migrated and reopened without losing data") {
  sd::test::TempDir dir;
  auto path = dir.file("sd.db");
  {
    auto st = open_sqlite_store({path});
    auto tx = st->begin(Store::Mode::write);
    auto id = tx->create_ticket(sd::test::new_ticket("Printer on fire", "anna@example.com", "Anna", 100, "medium"));
    CHECK(id == 1);
    tx->commit();
  }
  auto st = open_sqlite_store({path});
  auto tx = st->begin(Store::Mode::read);
  auto t = tx->ticket(1);
  REQUIRE(t);
  CHECK(t->subject == "Printer on fire");
  CHECK(t->status == "new");
  CHECK(t->priority == "medium");
}

TEST_CASE("A transaction destroyed without commit leaves nothing behind") {
  sd::test::TempDir dir;
  auto st = open_sqlite_store({dir.file("sd.db")});
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
  auto path = dir.file("sd.db");
  auto st = open_sqlite_store({path});
  {
    auto tx = st->begin(Store::Mode::write);
    CHECK(tx->create_ticket(sd::test::new_ticket("one", "a@example.com", "", 1, "medium")) == 1);
    CHECK(tx->create_ticket(sd::test::new_ticket("two", "a@example.com", "", 2, "medium")) == 2);
    tx->commit();
  }
  // An operator purges the newest ticket by hand.
  std::string cmd = "sqlite3 " + path + " 'DELETE FROM tickets WHERE id = 2'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  auto tx = st->begin(Store::Mode::write);
  CHECK(tx->create_ticket(sd::test::new_ticket("three", "a@example.com", "", 3, "medium")) == 3);
  auto all = tx->tickets();
  REQUIRE(all.size() == 2);
  CHECK(all.front().id == 3);  // newest first
  CHECK(all.back().id == 1);
}

TEST_CASE("Raw mails are found again by mailbox position and by Message-ID plus content hash") {
  sd::test::TempDir dir;
  auto st = open_sqlite_store({dir.file("sd.db")});
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

TEST_CASE("Storing the same mailbox position twice is refused by the store itself") {
  sd::test::TempDir dir;
  auto st = open_sqlite_store({dir.file("sd.db")});
  auto tx = st->begin(Store::Mode::write);
  tx->add_raw(raw("m1@x", "h1", MailOrigin{"INBOX", 1, 1}));
  CHECK_THROWS_AS(tx->add_raw(raw("m2@x", "h2", MailOrigin{"INBOX", 1, 1})), StoreError);
}

TEST_CASE("Messages thread by their Message-IDs, in or out") {
  sd::test::TempDir dir;
  auto st = open_sqlite_store({dir.file("sd.db")});
  auto tx = st->begin(Store::Mode::write);
  auto t1 = tx->create_ticket(sd::test::new_ticket("one", "a@example.com", "", 1, "medium"));
  auto t2 = tx->create_ticket(sd::test::new_ticket("two", "b@example.com", "", 2, "medium"));
  MessageRecord m;
  m.ticket_id = t1;
  m.direction = "in";
  m.message_id = "first@client";
  m.to = {"desk@example.com", "boss@example.com"};
  m.attachments = {{"report.pdf", "application/pdf", 3, "abc"}};
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
  auto st = open_sqlite_store({dir.file("sd.db")});
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
  auto st = open_sqlite_store({dir.file("sd.db")});
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
  auto path = dir.file("sd.db");
  open_sqlite_store({path});
  {
    auto st = open_sqlite_store({path});
    (void)st;
  }
  // Bump the schema version behind the store's back.
  std::string cmd = "sqlite3 " + path + " 'PRAGMA user_version = 99'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  try {
    open_sqlite_store({path});
    FAIL("a newer schema was accepted");
  } catch (const StoreError& e) {
    CHECK(std::string(e.what()).find("newer") != std::string::npos);
    CHECK_FALSE(e.transient);
  }
}

TEST_CASE("A locked database is a transient error") {
  sd::test::TempDir dir;
  auto path = dir.file("sd.db");
  auto a = open_sqlite_store({path, 100});
  auto b = open_sqlite_store({path, 100});
  auto holder = a->begin(Store::Mode::write);
  try {
    auto tx = b->begin(Store::Mode::write);
    FAIL("second writer got in");
  } catch (const StoreError& e) {
    CHECK(e.transient);
  }
}

TEST_CASE("Many openers of a new store at the same moment all get in") {
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

TEST_CASE("A version 4 store migrated to 5 keeps its rate limit counts and its mailbox flags done") {
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
                    " 'DROP TABLE outbox_recipients; ALTER TABLE mailboxes DROP COLUMN done_uid; "
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
  auto st = open_sqlite_store({dir.file("sd.db")});
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

TEST_CASE("A store that had tickets accepts old-format tokens for 30 days after the upgrade to 6, a new one never") {
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
                    " 'ALTER TABLE messages DROP COLUMN internal; DROP TABLE meta; DROP INDEX outbox_kind_created; "
                    "DROP INDEX events_kind_at; DROP INDEX outbox_recipients_outbox; DROP TABLE in_flight; PRAGMA user_version = 5'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  auto st = open_sqlite_store({path});
  auto until = st->begin(Store::Mode::read)->meta("legacy_tokens_until");
  REQUIRE(until);
  auto now = static_cast<Time>(std::time(nullptr));
  CHECK(std::stoll(*until) >= now + 30 * 86400 - 60);
  CHECK(std::stoll(*until) <= now + 30 * 86400 + 60);
}
