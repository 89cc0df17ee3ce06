// tests/store/test_store_attachments.cpp: a ticket's attachments (numbers, bytes, who may see
// them), outgoing mail that carries them without copying them, the Cc list, per-recipient
// retries, on either backend (tests/support/test_store.h); and, tagged [sqlite], schema 9's
// migration of older SQLite stores. Each test has its own store.
#include <catch2/catch.hpp>

#include "store/store.h"

#include <filesystem>
#include <string>
#include "tests/store/sqlite_shell.h"
#include "tests/support/new_ticket.h"
#include "tests/support/tempdir.h"
#include "tests/support/test_store.h"

using namespace sd::store;
using sd::test::sqlite_output;

namespace {

AttachmentRecord file(const std::string& name, const std::string& data, const std::string& type = "application/pdf") {
  AttachmentRecord a;
  a.filename = name;
  a.content_type = type;
  a.size = static_cast<std::int64_t>(data.size());
  a.data = data;
  return a;
}

MessageRecord mail_in(std::int64_t ticket, const std::string& msgid, std::vector<AttachmentRecord> attachments,
                      bool internal = false) {
  MessageRecord m;
  m.ticket_id = ticket;
  m.direction = "in";
  m.message_id = msgid;
  m.from_addr = "anna@kund.se";
  m.subject = "Faktura";
  m.body_text = "Se bifogad fil.";
  m.created_at = 100;
  m.attachments = std::move(attachments);
  m.internal = internal;
  return m;
}

OutboxItem mail_out(std::optional<std::int64_t> ticket, const std::string& to, std::vector<std::int64_t> attachment_ids,
                    const std::string& kind = "agent-notification") {
  OutboxItem o;
  o.ticket_id = ticket;
  o.kind = kind;
  o.mail_from = "servicedesk@example.com";
  o.recipients = {to};
  o.message_id = "out." + to + "@example.com";
  o.bytes = "Subject: [SD-1] Faktura\r\n\r\nA customer wrote.\r\n";
  o.attachment_ids = std::move(attachment_ids);
  o.next_attempt_at = o.created_at = 100;
  return o;
}

// The "out" message on the ticket for an outbox row, as the mailer records a customer's mail.
void record_out(Transaction& tx, std::int64_t ticket, std::int64_t outbox_id, bool internal = false) {
  MessageRecord m;
  m.ticket_id = ticket;
  m.direction = "out";
  m.outbox_id = outbox_id;
  m.message_id = "reply." + std::to_string(outbox_id) + "@example.com";
  m.from_addr = "servicedesk@example.com";
  m.to = {"anna@kund.se"};
  m.body_text = "Here is the guide.";
  m.created_at = 200;
  m.internal = internal;
  tx.add_message(m);
}

// Every byte value, NULs and CR LF included: what goes in must come out exactly.
std::string all_bytes(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + i / 256) & 0xff);
  return s;
}

std::vector<std::int64_t> numbers(const std::vector<AttachmentInfo>& list) {
  std::vector<std::int64_t> out;
  for (const auto& a : list) out.push_back(a.number);
  return out;
}

}  // namespace

TEST_CASE("Attachments are numbered per ticket in order of arrival over all its messages") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto t1 = tx->create_ticket(sd::test::new_ticket("Faktura", "anna@kund.se", "Anna", 100));
  auto t2 = tx->create_ticket(sd::test::new_ticket("Skärm", "bo@kund.se", "Bo", 100));
  tx->add_message(mail_in(t1, "a@kund.se", {file("faktura.pdf", "%PDF-1"), file("bilaga.pdf", "%PDF-2")}));
  tx->add_message(mail_in(t2, "b@kund.se", {file("skärm.png", "PNG", "image/png")}));
  tx->add_message(mail_in(t1, "c@kund.se", {}));
  tx->add_message(mail_in(t1, "d@kund.se", {file("logg.txt", "log", "text/plain")}));
  tx->commit();

  auto rd = st->begin(Store::Mode::read);
  auto list = rd->attachments(t1);
  CHECK(numbers(list) == std::vector<std::int64_t>{1, 2, 3});
  CHECK(list[0].filename == "faktura.pdf");
  CHECK(list[1].filename == "bilaga.pdf");
  CHECK(list[2].filename == "logg.txt");
  CHECK(list[2].message_id != list[0].message_id);
  CHECK(list[2].size == 3);
  CHECK(numbers(rd->attachments(t2)) == std::vector<std::int64_t>{1});  // each ticket counts its own
  CHECK(rd->attachment(t2, 1)->filename == "skärm.png");
  CHECK_FALSE(rd->attachment(t2, 2));
  CHECK_FALSE(rd->attachment(99, 1));
  // The messages list them by number, without their bytes.
  auto msgs = rd->messages(t1);
  REQUIRE(msgs.size() == 3);
  REQUIRE(msgs[0].attachments.size() == 2);
  CHECK(msgs[0].attachments[1].number == 2);
  CHECK(msgs[0].attachments[1].data.empty());
  CHECK(msgs[1].attachments.empty());
  REQUIRE(msgs[2].attachments.size() == 1);
  CHECK(msgs[2].attachments[0].number == 3);
  CHECK(msgs[2].attachments[0].id == list[2].id);
}

TEST_CASE("An attachment's bytes come back exactly as stored, by number and by id, with what the parser knew") {
  sd::test::TempDir dir;
  auto bytes = all_bytes(300'000);
  {
    auto st = sd::test::open_test_store(dir);
    auto tx = st->begin(Store::Mode::write);
    auto t = tx->create_ticket(sd::test::new_ticket("Faktura", "anna@kund.se", "Anna", 100));
    auto pdf = file("faktura.pdf", bytes);
    auto logo = file("logo.png", "\x89PNG\r\n\x1a\n", "image/png");
    logo.content_id = "logo@kund.se";
    logo.is_inline = true;
    auto big = file("film.mp4", "", "video/mp4");  // over the size limit: only its metadata was kept
    big.size = 80'000'000;
    big.kept = false;
    auto claimed = file("claimed.bin", "", "application/octet-stream");  // no bytes, yet "kept"
    claimed.size = 10;
    auto empty = file("empty.txt", "", "text/plain");  // really empty: kept
    tx->add_message(mail_in(t, "a@kund.se", {pdf, logo, big, claimed, empty}));
    tx->commit();
  }
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::read);
  auto a = tx->attachment(1, 1);
  REQUIRE(a);
  CHECK(a->data.size() == bytes.size());
  CHECK(a->data == bytes);
  CHECK(a->size == 300'000);
  CHECK(a->kept);
  auto by_id = tx->attachment_by_id(a->id);
  REQUIRE(by_id);
  CHECK(by_id->data == bytes);
  CHECK(by_id->number == 1);
  auto logo = tx->attachment(1, 2);
  CHECK(logo->content_id == "logo@kund.se");
  CHECK(logo->is_inline);
  CHECK(logo->data == std::string("\x89PNG\r\n\x1a\n"));
  auto list = tx->attachments(1);
  REQUIRE(list.size() == 5);
  CHECK_FALSE(list[0].is_inline);
  CHECK(list[1].is_inline);
  CHECK(list[1].content_id == "logo@kund.se");
  CHECK_FALSE(list[2].kept);
  CHECK(list[2].size == 80'000'000);
  CHECK_FALSE(list[3].kept);  // empty data of a non-empty part is never "kept"
  CHECK(list[4].kept);
  CHECK(list[0].created_at == 100);
  CHECK_FALSE(tx->attachment_by_id(9999));
}

TEST_CASE("A quarantine re-parse keeps the numbers of the attachments it finds again and never reuses one") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto t = tx->create_ticket(sd::test::new_ticket("Faktura", "anna@kund.se", "Anna", 100));
  RawMail r{100, std::nullopt, "a@kund.se", "h1", "raw", "bad charset", false};
  auto raw_id = tx->add_raw(r);
  auto first = mail_in(t, "a@kund.se", {file("a.pdf", "AAA"), file("b.pdf", "BBB"), file("junk.bin", "JJ")});
  first.raw_id = raw_id;
  tx->add_message(first);
  tx->add_message(mail_in(t, "later@kund.se", {file("c.pdf", "CCC")}));  // number 4
  auto before = tx->attachments(t);
  REQUIRE(numbers(before) == std::vector<std::int64_t>{1, 2, 3, 4});

  // The parser now reads the mail better: b.pdf comes first, a.pdf's inline flag is known,
  // "junk.bin" was a misreading, and a part it missed before appears.
  auto again = mail_in(t, "a@kund.se", {file("b.pdf", "BBB"), file("a.pdf", "AAA"), file("d.txt", "DD", "text/plain")});
  again.attachments[1].is_inline = true;
  tx->replace_parsed(raw_id, again, "");
  auto after = tx->attachments(t);
  REQUIRE(after.size() == 4);
  CHECK(after[0].number == 1);
  CHECK(after[0].filename == "a.pdf");
  CHECK(after[0].id == before[0].id);
  CHECK(after[0].is_inline);
  CHECK(after[1].number == 2);
  CHECK(after[1].filename == "b.pdf");
  CHECK(after[2].number == 4);
  CHECK(after[2].filename == "c.pdf");
  CHECK(after[3].number == 5);  // new: the next number, 3 is not given again
  CHECK(after[3].filename == "d.txt");
  CHECK(tx->attachment(t, 5)->data == "DD");
  CHECK_FALSE(tx->attachment(t, 3));
  tx->add_message(mail_in(t, "third@kund.se", {file("e.pdf", "EEE")}));
  CHECK(tx->attachments(t).back().number == 6);
}

TEST_CASE("An attachment an outbox row carried stays when a re-parse no longer finds it") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto t = tx->create_ticket(sd::test::new_ticket("Faktura", "anna@kund.se", "Anna", 100));
  RawMail r{100, std::nullopt, "a@kund.se", "h1", "raw", "bad charset", false};
  auto raw_id = tx->add_raw(r);
  auto first = mail_in(t, "a@kund.se", {file("a.pdf", "AAA")});
  first.raw_id = raw_id;
  tx->add_message(first);
  auto id = tx->attachments(t)[0].id;
  tx->enqueue(mail_out(t, "agent@example.com", {id}));
  tx->replace_parsed(raw_id, mail_in(t, "a@kund.se", {}), "");
  REQUIRE(tx->attachments(t).size() == 1);  // what was mailed stays listed
  CHECK(tx->attachment_by_id(id)->data == "AAA");
  tx->commit();
}

TEST_CASE("An outgoing mail names the attachments it carries, in order, and its out message lists them without bytes") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto t = tx->create_ticket(sd::test::new_ticket("Faktura", "anna@kund.se", "Anna", 100));
  tx->add_message(mail_in(t, "a@kund.se", {file("a.pdf", "AAA"), file("b.pdf", "BBB")}));
  auto note = mail_in(t, "agent@example.com", {file("guide.pdf", "GUIDE")}, true);  // an agent's mail, internal
  tx->add_message(note);
  auto list = tx->attachments(t);
  REQUIRE(list.size() == 3);
  auto reply = tx->enqueue(mail_out(t, "anna@kund.se", {list[2].id, list[0].id}, "reply"));
  record_out(*tx, t, reply);
  auto plain = tx->enqueue(mail_out(t, "bo@kund.se", {}, "acknowledgement"));

  auto due = tx->due_outbox(1000, 10);
  REQUIRE(due.size() == 2);
  CHECK(due[0].id == reply);
  CHECK(due[0].attachment_ids == std::vector<std::int64_t>{list[2].id, list[0].id});
  CHECK(due[0].bytes.find("GUIDE") == std::string::npos);
  CHECK(due[1].id == plain);
  CHECK(due[1].attachment_ids.empty());

  auto msgs = tx->messages(t);
  REQUIRE(msgs.size() == 3);
  CHECK(msgs[2].direction == "out");
  REQUIRE(msgs[2].attachments.size() == 2);
  CHECK(msgs[2].attachments[0].filename == "guide.pdf");
  CHECK(msgs[2].attachments[0].number == 3);
  CHECK(msgs[2].attachments[0].data.empty());
  CHECK(msgs[2].attachments[1].filename == "a.pdf");
  CHECK(msgs[2].attachments[1].number == 1);
  CHECK(msgs[0].attachments.size() == 2);  // still listed where they arrived
}

TEST_CASE("An attachment carried by ten outgoing mails is stored once") {
  sd::test::TempDir dir;
  // A distinctive 2 MiB that compresses to nothing in no store, and a marker to look for.
  std::string pdf = "%PDF-MARKER-7f3a9c" + all_bytes(2 * 1024 * 1024);
  {
    auto st = sd::test::open_test_store(dir);
    auto tx = st->begin(Store::Mode::write);
    auto t = tx->create_ticket(sd::test::new_ticket("Faktura", "anna@kund.se", "Anna", 100));
    tx->add_message(mail_in(t, "a@kund.se", {file("faktura.pdf", pdf)}));
    auto id = tx->attachments(t)[0].id;
    for (int i = 0; i < 10; ++i) tx->enqueue(mail_out(t, "agent" + std::to_string(i) + "@example.com", {id}));
    tx->commit();
  }
  auto sql = [&](const std::string& q) { return sd::test::test_store_sql(dir, q); };
  CHECK(sql("SELECT count(*) FROM attachments") == "1\n");
  CHECK(sql("SELECT count(*) FROM outbox_attachments") == "10\n");
  CHECK(sql(sd::test::testing_postgresql()
                ? "SELECT count(*) FROM outbox WHERE position('%PDF-MARKER-7f3a9c'::bytea IN bytes) > 0"
                : "SELECT count(*) FROM outbox WHERE instr(bytes, CAST('%PDF-MARKER-7f3a9c' AS BLOB)) > 0") == "0\n");
  CHECK(std::stoll(sql("SELECT max(length(bytes)) FROM outbox")) < 1000);
  // The store holds one copy (2 MiB), not eleven.
  if (sd::test::testing_postgresql())
    CHECK(std::stoll(sql("SELECT pg_total_relation_size('attachments') + pg_total_relation_size('outbox')")) <
          3 * 1024 * 1024);
  else
    CHECK(std::filesystem::file_size(dir.file("sd.db")) < 3 * 1024 * 1024);
}

TEST_CASE("An outgoing mail may carry only its own ticket's attachments") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto anna = tx->create_ticket(sd::test::new_ticket("Faktura", "anna@kund.se", "Anna", 100));
  auto bo = tx->create_ticket(sd::test::new_ticket("Lön", "bo@annan.dk", "Bo", 100));
  tx->add_message(mail_in(anna, "a@kund.se", {file("faktura.pdf", "ANNA'S INVOICE")}));
  auto annas = tx->attachments(anna)[0].id;
  for (auto wrong : {std::optional<std::int64_t>(bo), std::optional<std::int64_t>()}) {
    try {
      tx->enqueue(mail_out(wrong, "bo@annan.dk", {annas}, "reply"));
      FAIL("another ticket's attachment was queued");
    } catch (const StoreError& e) {
      CHECK(e.refused);
      CHECK_FALSE(e.transient);
    }
  }
  try {
    tx->enqueue(mail_out(anna, "anna@kund.se", {annas + 1000}, "reply"));
    FAIL("an attachment that does not exist was queued");
  } catch (const StoreError& e) {
    CHECK(e.refused);
  }
}

TEST_CASE("An internal message's attachment stays internal until a customer-visible mail carries it") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto t = tx->create_ticket(sd::test::new_ticket("VPN", "anna@kund.se", "Anna", 100));
  tx->add_message(mail_in(t, "a@kund.se", {file("fel.png", "PNG", "image/png")}));
  tx->add_message(mail_in(t, "note@example.com", {file("intern.txt", "only for agents", "text/plain")}, true));
  tx->add_message(mail_in(t, "reply@example.com", {file("guide.pdf", "GUIDE")}, true));
  auto list = tx->attachments(t);
  REQUIRE(list.size() == 3);
  CHECK_FALSE(list[0].internal);  // the customer's own
  CHECK(list[1].internal);
  CHECK(list[2].internal);
  // Agents' notifications carry both; they are no message of the customer's thread.
  tx->enqueue(mail_out(t, "agent@example.com", {list[1].id, list[2].id}));
  // An internal out message (none today, but the rule holds) does not count either.
  auto internal_out = tx->enqueue(mail_out(t, "colleague@example.com", {list[1].id}, "reply"));
  record_out(*tx, t, internal_out, true);
  list = tx->attachments(t);
  CHECK(list[1].internal);
  CHECK(list[2].internal);
  // The agent's answer to the customer carries the guide: now the customer has seen it.
  auto reply = tx->enqueue(mail_out(t, "anna@kund.se", {list[2].id}, "reply"));
  record_out(*tx, t, reply);
  list = tx->attachments(t);
  CHECK_FALSE(list[0].internal);
  CHECK(list[1].internal);
  CHECK_FALSE(list[2].internal);
}

TEST_CASE("A Cc address an agent removed stays removed unless an agent adds it again") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto t = tx->create_ticket(sd::test::new_ticket("VPN", "anna@kund.se", "Anna", 100));
  auto other = tx->create_ticket(sd::test::new_ticket("Lön", "bo@kund.se", "Bo", 100));
  CHECK(tx->set_cc(t, CcEntry{"Chef@Kund.se", "system", 110, false}, false));
  CHECK_FALSE(tx->set_cc(t, CcEntry{"chef@kund.se", "system", 111, false}, false));  // already on
  CHECK(tx->set_cc(t, CcEntry{"kollega@kund.se", "agent@example.com", 112, false}, false));
  CHECK(tx->set_cc(t, CcEntry{"chef@kund.se", "agent@example.com", 120, true}, false));
  CHECK_FALSE(tx->set_cc(t, CcEntry{"chef@kund.se", "agent@example.com", 121, true}, false));  // already removed
  // The boss turns up in a Cc again: the desk does not put them back by itself.
  CHECK_FALSE(tx->set_cc(t, CcEntry{"chef@kund.se", "system", 130, false}, false));
  auto list = tx->cc_entries(t);
  REQUIRE(list.size() == 2);
  CHECK(list[0].address == "chef@kund.se");
  CHECK(list[0].removed);
  CHECK(list[0].added_by == "agent@example.com");
  CHECK(list[0].at == 120);
  CHECK(list[1].address == "kollega@kund.se");
  CHECK_FALSE(list[1].removed);
  // An agent's #cc add does.
  CHECK(tx->set_cc(t, CcEntry{"chef@kund.se", "agent@example.com", 140, false}, true));
  list = tx->cc_entries(t);
  CHECK(list[0].address == "chef@kund.se");  // in the order first added
  CHECK_FALSE(list[0].removed);
  CHECK(list[0].at == 140);
  // Removing an address never on the list is remembered too.
  CHECK(tx->set_cc(t, CcEntry{"spam@kund.se", "agent@example.com", 150, true}, false));
  CHECK_FALSE(tx->set_cc(t, CcEntry{"spam@kund.se", "system", 151, false}, false));
  CHECK(tx->cc_entries(t).back().removed);
  CHECK(tx->cc_entries(other).empty());
}

TEST_CASE("A mail retried for some recipients goes to those only and still counts for all in the rate limits") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto t = tx->create_ticket(sd::test::new_ticket("VPN", "anna@kund.se", "Anna", 100));
  auto o = mail_out(t, "anna@kund.se", {}, "reply");
  o.recipients = {"anna@kund.se", "chef@kund.se", "kollega@kund.se"};
  auto id = tx->enqueue(o);
  tx->set_recipients(id, {"kollega@kund.se"});
  tx->mark_retry(id, 150, "450 mailbox busy (kollega@kund.se)");
  auto due = tx->due_outbox(200, 10);
  REQUIRE(due.size() == 1);
  CHECK(due[0].recipients == std::vector<std::string>{"kollega@kund.se"});
  CHECK(due[0].attempts == 1);
  CHECK(tx->count_sent_or_queued("reply", "chef@kund.se", 50) == 1);
  CHECK(tx->count_sent_or_queued("reply", "kollega@kund.se", 50) == 1);
}

TEST_CASE("A failure at any step of storing a message with attachments stores none of it and takes no number") {
  sd::test::TempDir dir;
  {
    auto st = sd::test::open_test_store(dir);
    auto tx = st->begin(Store::Mode::write);
    tx->create_ticket(sd::test::new_ticket("Faktura", "anna@kund.se", "Anna", 100));
    tx->commit();
  }
  bool through = false;
  for (int k = 1; k < 200 && !through; ++k) {
    try {
      auto st = sd::test::open_test_store(dir, {"", 1000, k});
      auto tx = st->begin(Store::Mode::write);
      tx->add_message(mail_in(1, "a@kund.se", {file("a.pdf", "AAA"), file("b.pdf", "BBB")}));
      auto id = tx->attachments(1)[0].id;
      tx->enqueue(mail_out(1, "agent@example.com", {id}));
      tx->commit();
      through = true;
    } catch (const StoreError& e) {
      INFO(e.what());
      REQUIRE(e.transient);
      auto st = sd::test::open_test_store(dir);
      auto tx = st->begin(Store::Mode::read);
      REQUIRE(tx->attachments(1).empty());
      REQUIRE(tx->messages(1).empty());
      REQUIRE(tx->outbox("pending").empty());
    }
  }
  REQUIRE(through);
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::read);
  CHECK(numbers(tx->attachments(1)) == std::vector<std::int64_t>{1, 2});
  CHECK(tx->due_outbox(1000, 10).at(0).attachment_ids.size() == 1);
}

TEST_CASE("A version 8 store migrated to 9 keeps its attachments, numbered per ticket by arrival", "[sqlite]") {
  sd::test::TempDir dir;
  auto path = dir.file("sd.db");
  auto pdf = all_bytes(70'000);
  {
    auto st = open_sqlite_store({path});
    auto tx = st->begin(Store::Mode::write);
    auto t1 = tx->create_ticket(sd::test::new_ticket("Faktura", "anna@kund.se", "Anna", 100));
    auto t2 = tx->create_ticket(sd::test::new_ticket("Skärm", "bo@kund.se", "Bo", 100));
    tx->add_message(mail_in(t1, "a@kund.se", {file("faktura.pdf", pdf)}));
    tx->add_message(mail_in(t2, "b@kund.se", {file("skärm.png", "PNG", "image/png"), file("två.png", "PNG2", "image/png")}));
    auto big = file("film.mp4", "", "video/mp4");  // stored as version 8 did: size, no data
    big.size = 80'000'000;
    tx->add_message(mail_in(t1, "c@kund.se", {big, file("logg.txt", "log", "text/plain")}));
    tx->commit();
  }
  std::string cmd = "sqlite3 " + path + " '" + sd::test::kUndo9 + "PRAGMA user_version = 8'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  REQUIRE(sqlite_output(path, "SELECT count(*) FROM attachments") == "5\n");

  auto st = open_sqlite_store({path});
  CHECK(sqlite_output(path, "PRAGMA user_version") == sd::test::kNewestVersion);
  auto tx = st->begin(Store::Mode::write);
  auto one = tx->attachments(1);
  REQUIRE(one.size() == 3);
  CHECK(numbers(one) == std::vector<std::int64_t>{1, 2, 3});
  CHECK(one[0].filename == "faktura.pdf");
  CHECK(one[1].filename == "film.mp4");
  CHECK_FALSE(one[1].kept);
  CHECK(one[2].kept);
  CHECK(tx->attachment(1, 1)->data == pdf);
  auto two = tx->attachments(2);
  CHECK(numbers(two) == std::vector<std::int64_t>{1, 2});
  CHECK(two[1].filename == "två.png");
  // New attachments continue the count.
  tx->add_message(mail_in(1, "d@kund.se", {file("ny.pdf", "NEW")}));
  CHECK(tx->attachments(1).back().number == 4);
  tx->add_message(mail_in(2, "e@kund.se", {file("ny.pdf", "NEW")}));
  CHECK(tx->attachments(2).back().number == 3);
}
