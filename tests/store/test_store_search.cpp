// tests/store/test_store_search.cpp: find_tickets and count_tickets (filters, the two sorts,
// paging, full-text search over subjects and message bodies with the user's text taken as
// plain words, diacritics and case folded), on either backend (tests/support/test_store.h);
// and, tagged [sqlite], that SQLite serves the lists by indexes and migrates older stores.
#include <catch2/catch.hpp>

#include "store/store.h"

#include <string>
#include "tests/store/sqlite_shell.h"
#include "tests/support/new_ticket.h"
#include "tests/support/tempdir.h"
#include "tests/support/test_store.h"

using namespace sd::store;
using sd::test::sqlite_output;

namespace {

std::vector<std::int64_t> ids(const std::vector<Ticket>& ts) {
  std::vector<std::int64_t> out;
  for (const auto& t : ts) out.push_back(t.id);
  return out;
}

using Ids = std::vector<std::int64_t>;

TicketQuery query() { return TicketQuery{}; }

TicketQuery search(const std::string& text) {
  TicketQuery q;
  q.search = text;
  return q;
}

std::int64_t ticket(Transaction& tx, const std::string& subject, const std::string& body, Time at,
                    const std::string& requester = "anna@kund.se") {
  auto id = tx.create_ticket(sd::test::new_ticket(subject, requester, "", at));
  MessageRecord m;
  m.ticket_id = id;
  m.direction = "in";
  m.message_id = "m" + std::to_string(id) + "@kund.se";
  m.from_addr = requester;
  m.subject = subject;
  m.body_text = body;
  m.created_at = at;
  tx.add_message(m);
  return id;
}

}  // namespace

TEST_CASE("Tickets are listed newest first, filtered, paged, and counted without the page") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  for (int i = 1; i <= 8; ++i) {
    auto t = sd::test::new_ticket("t" + std::to_string(i), i % 2 ? "anna@kund.se" : "bo@annan.dk", "", 100 + i);
    t.organisation = i <= 4 ? "Kund AB" : "Annan A/S";
    t.assignee = i % 3 == 0 ? "agent@example.com" : "";
    tx->create_ticket(t);
  }
  auto same_time = sd::test::new_ticket("t9", "anna@kund.se", "", 108);  // as old as 8: by number
  tx->create_ticket(same_time);
  tx->write_status(2, "pending", 200);
  tx->write_status(5, "closed", 200);
  tx->write_status(6, "open", 200);

  CHECK(ids(tx->find_tickets(query())) == Ids{9, 8, 7, 6, 5, 4, 3, 2, 1});
  CHECK(tx->count_tickets(query()) == 9);
  auto q = query();
  q.statuses = {"open", "pending"};
  CHECK(ids(tx->find_tickets(q)) == Ids{6, 2});
  q.statuses = {"no-such-status"};
  CHECK(tx->find_tickets(q).empty());
  q = query();
  q.organisation = "Kund AB";
  CHECK(ids(tx->find_tickets(q)) == Ids{4, 3, 2, 1});
  q.organisation = "Kund";  // a name, not a pattern
  CHECK(tx->find_tickets(q).empty());
  q = query();
  q.assignee = "Agent@Example.com";
  CHECK(ids(tx->find_tickets(q)) == Ids{6, 3});
  q = query();
  q.requester = "bo@annan.dk";
  CHECK(ids(tx->find_tickets(q)) == Ids{8, 6, 4, 2});
  // Filters are ANDed.
  q.organisation = "Kund AB";
  q.statuses = {"new"};
  CHECK(ids(tx->find_tickets(q)) == Ids{4});
  CHECK(tx->count_tickets(q) == 1);
  // Paging: limit and offset, the count unchanged by them.
  q = query();
  q.limit = 3;
  CHECK(ids(tx->find_tickets(q)) == Ids{9, 8, 7});
  q.offset = 3;
  CHECK(ids(tx->find_tickets(q)) == Ids{6, 5, 4});
  q.offset = 8;
  CHECK(ids(tx->find_tickets(q)) == Ids{1});
  q.offset = 20;
  CHECK(tx->find_tickets(q).empty());
  CHECK(tx->count_tickets(q) == 9);
  q.limit = 0;
  q.offset = 7;
  CHECK(ids(tx->find_tickets(q)) == Ids{2, 1});  // no limit, from the offset on
}

TEST_CASE("Breaching lists the open tickets on which an SLA breach has fired") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  for (int i = 1; i <= 5; ++i) tx->create_ticket(sd::test::new_ticket("t" + std::to_string(i), "a@kund.se", "", 100 + i));
  tx->record_sla_event({1, "first_response", "breach", 150, 151});
  tx->record_sla_event({2, "first_response", "warning", 140, 141});  // a warning is no breach
  tx->record_sla_event({3, "resolution", "breach", 160, 161});
  tx->write_status(3, "resolved", 170);  // no longer open
  tx->record_sla_event({4, "update", "breach", 160, 161});
  tx->write_status(4, "pending", 170);
  auto q = query();
  q.breaching = true;
  CHECK(ids(tx->find_tickets(q)) == Ids{4, 1});
  CHECK(tx->count_tickets(q) == 2);
  q.statuses = {"new"};
  CHECK(ids(tx->find_tickets(q)) == Ids{1});
}

TEST_CASE("Sorted by due, the earliest stored due time comes first and tickets without one last, by number") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  for (int i = 1; i <= 6; ++i) tx->create_ticket(sd::test::new_ticket("t" + std::to_string(i), "a@kund.se", "", 100 + i));
  tx->set_sla_next_due(2, 500);
  tx->set_sla_next_due(5, 300);
  tx->set_sla_next_due(3, 500);  // same as 2: by number
  auto q = query();
  q.sort = TicketQuery::Sort::due;
  CHECK(ids(tx->find_tickets(q)) == Ids{5, 2, 3, 1, 4, 6});
  q.limit = 2;
  q.offset = 2;
  CHECK(ids(tx->find_tickets(q)) == Ids{3, 1});
  q = query();
  CHECK(ids(tx->find_tickets(q)) == Ids{6, 5, 4, 3, 2, 1});  // the default stays newest first
}

TEST_CASE("A search finds tickets with every word somewhere in their subject or message bodies") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto printer = ticket(*tx, "Skrivaren på plan 3", "Den skriver ut tomma sidor sedan i går.", 101);
  auto vpn = ticket(*tx, "VPN", "The tunnel drops every hour; the printer works.", 102);
  auto invoice = ticket(*tx, "Faktura 4711", "Kan ni skicka om fakturan?", 103, "bo@annan.dk");
  // An agent's answer on the VPN ticket is a message too.
  MessageRecord out;
  out.ticket_id = vpn;
  out.direction = "out";
  out.message_id = "reply@example.com";
  out.body_text = "Please restart the concentrator.";
  out.created_at = 104;
  tx->add_message(out);

  CHECK(ids(tx->find_tickets(search("skrivaren"))) == Ids{printer});                  // subject
  CHECK(ids(tx->find_tickets(search("TOMMA sidor"))) == Ids{printer});                 // body, any case
  CHECK(ids(tx->find_tickets(search("tunnel concentrator"))) == Ids{vpn});             // two messages
  CHECK(ids(tx->find_tickets(search("vpn printer"))) == Ids{vpn});                     // subject and body
  CHECK(ids(tx->find_tickets(search("printer"))) == Ids{vpn});                         // a word, not a part
  CHECK(ids(tx->find_tickets(search("4711"))) == Ids{invoice});
  CHECK(ids(tx->find_tickets(search("skrivaren tunnel"))).empty());                    // all words must occur
  CHECK(ids(tx->find_tickets(search("  pa  "))) == Ids{printer});                      // "på" without its ring
  CHECK(tx->count_tickets(search("the")) == 1);
  auto q = search("fakturan");
  q.requester = "anna@kund.se";
  CHECK(tx->find_tickets(q).empty());  // and the other filters still apply
  q.requester = "bo@annan.dk";
  CHECK(ids(tx->find_tickets(q)) == Ids{invoice});
  CHECK(tx->find_tickets(search("")).size() == 3);  // no search: no filter
}

TEST_CASE("A search folds case and diacritics as FTS5 does: Malmö by malmo, ÆRØ by ærø, and the other way round") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto malmo = ticket(*tx, "Kontoret i Malmö", "Skrivaren i Göteborg är trasig.", 101);
  auto aero = ticket(*tx, "ÆRØ-FÆRGEN", "Møde i Århus om Zürich, São Paulo och en façade.", 102);
  auto moscow = ticket(*tx, "Filial", "МОСКВА İstanbul Łódź", 103);
  auto plain = ticket(*tx, "Malmo", "Goteborg", 104);
  CHECK(ids(tx->find_tickets(search("malmo"))) == Ids{plain, malmo});
  CHECK(ids(tx->find_tickets(search("MALMÖ"))) == Ids{plain, malmo});
  CHECK(ids(tx->find_tickets(search("göteborg"))) == Ids{plain, malmo});
  CHECK(ids(tx->find_tickets(search("ærø færgen"))) == Ids{aero});  // case of letters beyond ASCII
  CHECK(ids(tx->find_tickets(search("arhus zurich sao facade MØDE"))) == Ids{aero});
  CHECK(ids(tx->find_tickets(search("москва istanbul"))) == Ids{moscow});
  CHECK(ids(tx->find_tickets(search("łodz"))) == Ids{moscow});  // ó folds; ł, like ø and æ, is a letter of its own
  CHECK(tx->find_tickets(search("lodz")).empty());
  CHECK(tx->find_tickets(search("aero")).empty());
  CHECK(tx->count_tickets(search("Malmö")) == 2);
}

TEST_CASE("A search finds the words of addresses, file names and numbers where the text has them") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto mail = ticket(*tx, "Från anna@kund.se", "Se faktura_2024.pdf, version 1.2.3 – don’t «print» it.", 101);
  ticket(*tx, "Annat", "Inget här.", 102);
  for (const char* words : {"kund", "anna kund se", "anna@kund.se", "faktura", "2024 pdf", "3", "don", "print", "version 1.2.3"}) {
    INFO(words);
    CHECK(ids(tx->find_tickets(search(words))) == Ids{mail});
  }
  CHECK(tx->find_tickets(search("kund.dk")).empty());  // the parts in their order, not any of them
}

TEST_CASE("The search index follows a quarantine re-parse of a message") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto t = tx->create_ticket(sd::test::new_ticket("Fel", "anna@kund.se", "", 100));
  RawMail r{100, std::nullopt, "a@kund.se", "h1", "raw", "bad charset", false};
  auto raw_id = tx->add_raw(r);
  MessageRecord m;
  m.ticket_id = t;
  m.direction = "in";
  m.raw_id = raw_id;
  m.message_id = "a@kund.se";
  m.body_text = "Det g?r inte att logga in";  // the old parser's reading
  m.created_at = 100;
  tx->add_message(m);
  CHECK(ids(tx->find_tickets(search("logga"))) == Ids{t});
  m.body_text = "Det går inte att skriva ut";
  tx->replace_parsed(raw_id, m, "");
  CHECK(tx->find_tickets(search("logga")).empty());
  CHECK(ids(tx->find_tickets(search("skriva går"))) == Ids{t});
  tx->commit();
}

TEST_CASE("Quotes and FTS5 operators in a search are plain characters: no error, no change of meaning") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto fire = ticket(*tx, "Printer on fire", "It smokes.", 101);
  auto plural = ticket(*tx, "Printers everywhere", "Too many of them.", 102);
  auto vpn = ticket(*tx, "VPN down", "Since the update.", 103);
  auto x = ticket(*tx, "Treasure", "x marks the spot", 104);
  auto literal = ticket(*tx, "Syntax", "He wrote NEAR(printer fire) or not", 105);

  auto found = [&](const std::string& text) {
    INFO("search: " << text);
    std::vector<std::int64_t> out;
    REQUIRE_NOTHROW(out = ids(tx->find_tickets(search(text))));
    CHECK(tx->count_tickets(search(text)) == static_cast<std::int64_t>(out.size()));
    return out;
  };
  // As FTS5 syntax these would be a prefix query, an OR, a NOT, a NEAR group, a column
  // filter, a phrase, an initial-token query; as plain words they are words.
  CHECK(found("printer*") == Ids{literal, fire});  // no prefix search: "printers" is not "printer"
  CHECK(found("printer OR vpn").empty());           // "or" is a word to find, not an operator
  CHECK(found("fire OR not") == Ids{literal});
  CHECK(found("-x") == Ids{x});
  CHECK(found("smokes -x").empty());                // no NOT: both words must occur
  CHECK(found("NEAR(printer fire)") == Ids{literal});
  CHECK(found("\"printer fire\"") == Ids{literal, fire});
  CHECK(found("\"printer") == Ids{literal, fire});
  CHECK(found("body_text:x").empty());
  CHECK(found("subject:vpn").empty());
  CHECK(found("^printer") == Ids{literal, fire});
  CHECK(found("vpn AND down").empty());             // "and" is a word too
  CHECK(found("vpn NOT update").empty());
  CHECK(found("(vpn)") == Ids{vpn});
  CHECK(found("vpn's").empty());                    // "vpn" "s": the tokenizer splits it as in the text
  CHECK(found("vpn – down") == Ids{vpn});           // a dash is no word: left out
  CHECK(found("vpn \" down") == Ids{vpn});
  // Nothing searchable at all: nothing found, rather than everything.
  for (const char* junk : {"\"", "*", "-", "\"\"", "( )", "–", "«»", "😀"}) CHECK(found(junk).empty());
  (void)plural;
  // A search too long to be one query is refused as bad input, not a broken store.
  std::string many;
  for (int i = 0; i < 65; ++i) many += "w" + std::to_string(i) + " ";
  try {
    tx->find_tickets(search(many));
    FAIL("65 words were searched");
  } catch (const StoreError& e) {
    CHECK(e.refused);
    CHECK_FALSE(e.transient);
  }
}

TEST_CASE("A version 8 store migrated to 9 finds its old tickets by subject and body", "[sqlite]") {
  sd::test::TempDir dir;
  auto path = dir.file("sd.db");
  {
    auto st = open_sqlite_store({path});
    auto tx = st->begin(Store::Mode::write);
    ticket(*tx, "Skrivaren", "Tomma sidor.", 101);
    ticket(*tx, "VPN", "The tunnel drops.", 102);
    tx->commit();
  }
  std::string cmd = "sqlite3 " + path + " '" + sd::test::kUndo9 + "PRAGMA user_version = 8'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  auto st = open_sqlite_store({path});
  auto tx = st->begin(Store::Mode::write);
  CHECK(ids(tx->find_tickets(search("skrivaren"))) == Ids{1});
  CHECK(ids(tx->find_tickets(search("tunnel"))) == Ids{2});
  ticket(*tx, "Ny", "The tunnel again.", 103);
  CHECK(ids(tx->find_tickets(search("tunnel"))) == Ids{3, 2});
}

// The statements of find_tickets (store/sqlite_store.cpp), their columns left out.
TEST_CASE("Ticket lists are walked in index order and searches read the full-text index", "[sqlite]") {
  sd::test::TempDir dir;
  auto path = dir.file("sd.db");
  open_sqlite_store({path});
  auto plan = [&](const std::string& sql) { return sqlite_output(path, "EXPLAIN QUERY PLAN " + sql); };
  auto newest = plan("SELECT t.id FROM tickets t ORDER BY t.created_at DESC, t.id DESC LIMIT 50");
  CHECK(newest.find("tickets_created") != std::string::npos);
  CHECK(newest.find("TEMP B-TREE") == std::string::npos);
  auto due = plan("SELECT t.id FROM tickets t ORDER BY (t.sla_next_due IS NULL), t.sla_next_due, t.id LIMIT 50");
  CHECK(due.find("tickets_due_order") != std::string::npos);
  CHECK(due.find("TEMP B-TREE") == std::string::npos);
  auto mine = plan("SELECT t.id FROM tickets t WHERE t.assignee = 'a@b' ORDER BY t.created_at DESC, t.id DESC LIMIT 50");
  CHECK(mine.find("tickets_assignee") != std::string::npos);
  CHECK(mine.find("TEMP B-TREE") == std::string::npos);
  auto org = plan("SELECT count(*) FROM tickets t WHERE t.organisation = 'Kund AB'");
  CHECK(org.find("tickets_organisation") != std::string::npos);
  auto words = plan(
      "SELECT t.id FROM tickets t WHERE t.id IN (SELECT m.ticket_id FROM message_search s JOIN messages m ON m.id = s.rowid "
      "WHERE message_search MATCH 'x' UNION SELECT rowid FROM subject_search WHERE subject_search MATCH 'x')");
  CHECK(words.find("VIRTUAL TABLE INDEX 0:M") != std::string::npos);
  CHECK(words.find("SCAN t") == std::string::npos);
}
