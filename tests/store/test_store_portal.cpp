// tests/store/test_store_portal.cpp: the portal's sign-in state in the store (login links
// used once and only before expiry, sessions and their ends, shared rate counters, one-time
// form keys, forgetting what expired), the visibility settings of schema 10, a contact's
// ticket scope, login-link mails blanked once delivered, on either backend
// (tests/support/test_store.h); and, tagged [sqlite], schema 10's migration of older SQLite
// stores and that SQLite serves the portal's lists by indexes.
#include <catch2/catch.hpp>

#include "store/store.h"

#include <algorithm>
#include <string>

#include "tests/store/sqlite_shell.h"
#include "tests/support/new_ticket.h"
#include "tests/support/tempdir.h"
#include "tests/support/test_store.h"

using namespace sd::store;
using sd::test::sqlite_output;

namespace {

PortalSession session_of(const std::string& email, const std::string& role, Time at) {
  return PortalSession{email, role, "csrf-" + email, at, at};
}

void directory(Transaction& tx) {
  Organisation kund;
  kund.name = "Kund AB";
  kund.domains = {"kund.se"};
  tx.add_organisation(kund);
  Organisation annan;
  annan.name = "Annan A/S";
  annan.domains = {"annan.dk"};
  tx.add_organisation(annan);
  tx.add_contact({"anna@kund.se", "Anna", "Kund AB"});
  tx.add_contact({"bertil@kund.se", "Bertil", "Kund AB"});
  tx.add_contact({"bo@annan.dk", "Bo", "Annan A/S"});
}

std::vector<std::int64_t> ids(const std::vector<Ticket>& ts) {
  std::vector<std::int64_t> out;
  for (const auto& t : ts) out.push_back(t.id);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("A login link signs in once, before it expires, and a used or expired one never again") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  {
    auto tx = st->begin(Store::Mode::write);
    tx->add_login_token("hash-1", "Anna@Kund.se", 1000, 1900);
    tx->add_login_token("hash-2", "anna@kund.se", 1000, 1900);
    tx->commit();
  }
  auto tx = st->begin(Store::Mode::write);
  CHECK(tx->use_login_token("hash-1", 1899) == std::optional<std::string>("anna@kund.se"));
  CHECK_FALSE(tx->use_login_token("hash-1", 1899));  // a second use: a scanner came first, or a replay
  CHECK_FALSE(tx->use_login_token("hash-2", 1900));  // expired (now == expires_at)
  CHECK_FALSE(tx->use_login_token("hash-2", 5000));
  CHECK_FALSE(tx->use_login_token("no-such-hash", 1000));
  CHECK_FALSE(tx->use_login_token("", 1000));
  tx->commit();
}

TEST_CASE("Of two portals using one login link, only the first signs in") {
  sd::test::TempDir dir;
  auto a = sd::test::open_test_store(dir);
  auto b = sd::test::open_test_store(dir);
  {
    auto tx = a->begin(Store::Mode::write);
    tx->add_login_token("h", "anna@kund.se", 1000, 1900);
    tx->commit();
  }
  std::optional<std::string> first, second;
  {
    auto tx = a->begin(Store::Mode::write);
    first = tx->use_login_token("h", 1100);
    tx->commit();
  }
  {
    auto tx = b->begin(Store::Mode::write);
    second = tx->use_login_token("h", 1100);
    tx->commit();
  }
  CHECK(first == std::optional<std::string>("anna@kund.se"));
  CHECK_FALSE(second);
}

TEST_CASE("A login link not committed (a rolled-back use) stays usable") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  {
    auto tx = st->begin(Store::Mode::write);
    tx->add_login_token("h", "anna@kund.se", 1000, 1900);
    tx->commit();
  }
  {
    auto tx = st->begin(Store::Mode::write);
    CHECK(tx->use_login_token("h", 1100));
  }  // no commit
  auto tx = st->begin(Store::Mode::write);
  CHECK(tx->use_login_token("h", 1100));
}

TEST_CASE("Sessions are found by their hash, touched, ended one by one or all of an address, and counted") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  tx->add_session("s1", session_of("anna@kund.se", "contact", 1000));
  tx->add_session("s2", session_of("anna@kund.se", "contact", 1100));
  tx->add_session("s3", session_of("eva@example.com", "agent", 1200));
  auto s = tx->session("s1");
  REQUIRE(s);
  CHECK(s->email == "anna@kund.se");
  CHECK(s->role == "contact");
  CHECK(s->csrf == "csrf-anna@kund.se");
  CHECK(s->created_at == 1000);
  tx->touch_session("s1", 2000);
  tx->touch_session("s1", 1500);  // never backwards
  CHECK(tx->session("s1")->last_seen_at == 2000);
  CHECK(tx->session("s1")->created_at == 1000);
  CHECK(tx->count_sessions(1150) == 2);
  CHECK(tx->count_sessions(0) == 3);
  CHECK_FALSE(tx->session("S1"));  // a hash is matched exactly
  CHECK(tx->remove_session("s3"));
  CHECK_FALSE(tx->remove_session("s3"));
  CHECK(tx->remove_sessions_of("ANNA@kund.se") == 2);
  CHECK_FALSE(tx->session("s1"));
  CHECK_FALSE(tx->session("s2"));
}

TEST_CASE("A session's role is a contact or an agent, nothing else") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  CHECK_THROWS_AS(tx->add_session("s", session_of("anna@kund.se", "admin", 1000)), StoreError);
}

TEST_CASE("Forgetting what expired removes used and expired links, idle and too old sessions, old counters and keys") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  const Time now = 100000;
  auto tx = st->begin(Store::Mode::write);
  tx->add_login_token("used", "a@kund.se", now - 100, now + 800);
  tx->use_login_token("used", now - 50);
  tx->add_login_token("expired", "a@kund.se", now - 1000, now - 1);
  tx->add_login_token("fresh", "a@kund.se", now - 10, now + 800);
  auto idle = session_of("a@kund.se", "contact", now - 4000);
  tx->add_session("idle", idle);  // last seen an hour and more ago
  auto old = session_of("a@kund.se", "contact", now - 50000);
  old.last_seen_at = now - 10;
  tx->add_session("old", old);  // active, but past the absolute limit
  tx->add_session("live", session_of("a@kund.se", "contact", now - 100));
  CHECK(tx->count_rate("login:a@kund.se", now - 90000) == 1);
  CHECK(tx->count_rate("login:a@kund.se", now - 60) == 1);
  CHECK(tx->use_form_key("old-key", now - 90000));
  CHECK(tx->use_form_key("new-key", now - 60));
  tx->forget_expired_portal(now, now - 3600, now - 43200);
  CHECK_FALSE(tx->use_login_token("expired", now - 2));  // gone (and was expired)
  CHECK(tx->use_login_token("fresh", now));
  CHECK_FALSE(tx->session("idle"));
  CHECK_FALSE(tx->session("old"));
  CHECK(tx->session("live"));
  CHECK(tx->count_rate("login:a@kund.se", now - 90000) == 1);  // counted afresh: the old row was deleted
  CHECK(tx->count_rate("login:a@kund.se", now - 60) == 2);
  CHECK(tx->use_form_key("old-key", now));  // forgotten after a day
  CHECK_FALSE(tx->use_form_key("new-key", now));
  tx->commit();
  CHECK(sd::test::test_store_sql(dir, "SELECT token_hash FROM portal_login_tokens") == "fresh\n");  // used just now
}

TEST_CASE("Rate counters are shared by every portal on the store, per key and window") {
  sd::test::TempDir dir;
  auto a = sd::test::open_test_store(dir);
  auto b = sd::test::open_test_store(dir);
  for (int i = 1; i <= 3; ++i) {
    auto tx = (i % 2 ? a : b)->begin(Store::Mode::write);
    CHECK(tx->count_rate("client:192.0.2.1", 600) == i);
    tx->commit();
  }
  auto tx = a->begin(Store::Mode::write);
  CHECK(tx->count_rate("client:192.0.2.1", 660) == 1);  // the next window
  CHECK(tx->count_rate("client:192.0.2.2", 600) == 1);
}

TEST_CASE("A form key posts once: a double click or a replayed form is refused") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  CHECK(tx->use_form_key("k1", 100));
  CHECK_FALSE(tx->use_form_key("k1", 101));
  CHECK(tx->use_form_key("k2", 101));
}

TEST_CASE("The store holds no readable sign-in secret: only the hashes it was given") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  {
    auto tx = st->begin(Store::Mode::write);
    tx->add_login_token("sha256-of-link", "anna@kund.se", 1000, 1900);
    tx->add_session("sha256-of-cookie", session_of("anna@kund.se", "contact", 1000));
    tx->commit();
  }
  auto sql = [&](const std::string& q) { return sd::test::test_store_sql(dir, q); };
  auto dump = sql("SELECT token_hash FROM portal_login_tokens") + sql("SELECT session_hash, csrf FROM portal_sessions");
  CHECK(dump.find("sha256-of-link") != std::string::npos);
  CHECK(dump.find("sha256-of-cookie") != std::string::npos);
  // The tables have no column for anything but the hash (the caller keeps the secret).
  auto columns = sql(sd::test::testing_postgresql()
                         ? "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns "
                           "WHERE table_name = 'portal_login_tokens'"
                         : "SELECT group_concat(name) FROM pragma_table_info('portal_login_tokens')");
  CHECK(columns == "token_hash,email,created_at,expires_at,used_at\n");
}

TEST_CASE("Visibility is stored: organisations default to organisation, contacts to inherit") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  directory(*tx);
  CHECK(tx->organisation("Kund AB")->visibility == "organisation");
  CHECK(tx->contact("anna@kund.se")->visibility == "inherit");
  auto org = *tx->organisation("Kund AB");
  org.visibility = "own";
  tx->update_organisation(org);
  CHECK(tx->organisation("Kund AB")->visibility == "own");
  CHECK(tx->organisations().front().visibility == "organisation");  // Annan A/S, untouched
  CHECK(tx->organisation_names() == std::vector<std::string>{"Annan A/S", "Kund AB"});  // by name, as organisations()
  tx->update_contact({"anna@kund.se", "Anna A", "Annan A/S", "own"});
  auto anna = tx->contact("anna@kund.se");
  CHECK(anna->name == "Anna A");
  CHECK(anna->organisation == "Annan A/S");
  CHECK(anna->visibility == "own");
  CHECK(tx->contacts("Annan A/S").size() == 2);
  CHECK_THROWS_AS(tx->update_contact({"nobody@kund.se", "", "Kund AB", "own"}), StoreError);
  CHECK_THROWS_AS(tx->update_contact({"anna@kund.se", "", "No Such Org", "own"}), StoreError);
}

TEST_CASE("A version 9 store migrated to 10 keeps its contacts, who inherit their organisation's visibility", "[sqlite]") {
  sd::test::TempDir dir;
  auto path = dir.file("sd.db");
  {
    auto st = open_sqlite_store({path});
    auto tx = st->begin(Store::Mode::write);
    directory(*tx);
    tx->commit();
  }
  std::string cmd = "sqlite3 " + path + " '" + sd::test::kUndo10 + "PRAGMA user_version = 9'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  auto st = open_sqlite_store({path});
  CHECK(sqlite_output(path, "PRAGMA user_version") == sd::test::kNewestVersion);
  auto tx = st->begin(Store::Mode::write);
  CHECK(tx->contact("bo@annan.dk")->visibility == "inherit");
  CHECK(tx->organisation("Kund AB")->visibility == "organisation");
  tx->add_session("s", session_of("bo@annan.dk", "contact", 1));
  CHECK(tx->session("s"));
}

TEST_CASE("A contact's scope lists their organisation's tickets, or only those they requested or are on the Cc of") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  directory(*tx);
  auto make = [&](const std::string& requester, const std::string& org, Time at) {
    auto t = sd::test::new_ticket("t", requester, "", at);
    t.organisation = org;
    return tx->create_ticket(t);
  };
  auto annas = make("anna@kund.se", "Kund AB", 100);
  auto bertils = make("bertil@kund.se", "Kund AB", 101);
  auto cc_on_bertils = make("bertil@kund.se", "Kund AB", 102);
  auto removed_cc = make("bertil@kund.se", "Kund AB", 103);
  auto bos = make("bo@annan.dk", "Annan A/S", 104);
  tx->set_cc(cc_on_bertils, {"anna@kund.se", "system", 102, false}, false);
  tx->set_cc(removed_cc, {"anna@kund.se", "system", 103, false}, false);
  tx->set_cc(removed_cc, {"anna@kund.se", "eva@example.com", 104, true}, true);

  TicketQuery own;
  own.visible_to = "Anna@kund.se";
  CHECK(ids(tx->find_tickets(own)) == std::vector<std::int64_t>{annas, cc_on_bertils});
  CHECK(tx->count_tickets(own) == 2);
  TicketQuery org = own;
  org.visible_organisation = "Kund AB";
  CHECK(ids(tx->find_tickets(org)) == std::vector<std::int64_t>{annas, bertils, cc_on_bertils, removed_cc});
  org.statuses = {"open"};
  CHECK(tx->find_tickets(org).empty());
  org.statuses = {"new"};
  CHECK(tx->count_tickets(org) == 4);
  // Another organisation's contact Cc'd on a ticket of Kund AB sees that one, not the rest.
  tx->set_cc(bertils, {"bo@annan.dk", "eva@example.com", 105, false}, true);
  TicketQuery bo;
  bo.visible_to = "bo@annan.dk";
  bo.visible_organisation = "Annan A/S";
  CHECK(ids(tx->find_tickets(bo)) == std::vector<std::int64_t>{bertils, bos});
}

TEST_CASE("A contact's list pages through all three parts of the scope in order, and counts them once each") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  directory(*tx);
  std::vector<std::int64_t> expected;  // newest first
  for (int i = 0; i < 12; ++i) {
    // In turn: the organisation's, Anna's own filed under another organisation, one of another
    // organisation's with Anna on the Cc list, and one she may not see.
    auto kind = i % 4;
    auto t = sd::test::new_ticket("t", kind == 1 ? "anna@kund.se" : "bo@annan.dk", "", 1000 + i);
    t.organisation = kind == 0 ? "Kund AB" : "Annan A/S";
    auto id = tx->create_ticket(t);
    if (kind == 2) tx->set_cc(id, {"anna@kund.se", "eva@example.com", 1000 + i, false}, true);
    if (kind == 0) tx->set_cc(id, {"anna@kund.se", "eva@example.com", 1000 + i, false}, true);  // in two parts: once
    if (kind != 3) expected.insert(expected.begin(), id);
  }
  TicketQuery q;
  q.visible_to = "anna@kund.se";
  q.visible_organisation = "Kund AB";
  CHECK(tx->count_tickets(q) == 9);
  std::vector<std::int64_t> paged;
  q.limit = 2;
  for (q.offset = 0; q.offset < 12; q.offset += 2)
    for (const auto& t : tx->find_tickets(q)) paged.push_back(t.id);
  CHECK(paged == expected);
  q.sort = TicketQuery::Sort::due;
  q.offset = 0;
  q.limit = 0;
  CHECK(tx->find_tickets(q).size() == 9);
  // A capped count (the portal's "more than N") stops at the cap over all three parts, and
  // is exact below it.
  q.count_at_most = 4;
  CHECK(tx->count_tickets(q) == 4);
  q.count_at_most = 9;
  CHECK(tx->count_tickets(q) == 9);
  q.count_at_most = 50;
  CHECK(tx->count_tickets(q) == 9);
  TicketQuery everyone;
  everyone.count_at_most = 5;
  CHECK(tx->count_tickets(everyone) == 5);
  everyone.count_at_most = 0;
  CHECK(tx->count_tickets(everyone) == 12);
}

TEST_CASE("A login link's mail is blanked once sent or given up, and the outbox listing never shows bytes") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto item = [](const std::string& kind, const std::string& body) {
    OutboxItem o;
    o.kind = kind;
    o.mail_from = "servicedesk@example.com";
    o.recipients = {"anna@kund.se"};
    o.message_id = kind + "@desk";
    o.bytes = "Subject: sign in\r\n\r\n" + body + "\r\n";
    o.next_attempt_at = o.created_at = 100;
    return o;
  };
  auto sent = tx->enqueue(item("login-link", "https://portal.example.com/login/SECRET-ONE"));
  auto failed = tx->enqueue(item("login-link", "https://portal.example.com/login/SECRET-TWO"));
  auto ack = tx->enqueue(item("acknowledgement", "We got your mail"));
  auto due = tx->due_outbox(100, 10);
  REQUIRE(due.size() == 3);
  CHECK(due[0].bytes.find("SECRET-ONE") != std::string::npos);  // pending: the daemon still needs it
  tx->mark_sent(sent, 101);
  tx->mark_retry(failed, 200, "451 later");
  CHECK(tx->due_outbox(200, 10).size() == 2);  // the retried link and the acknowledgement
  tx->mark_failed(failed, "550 no such user");
  tx->mark_sent(ack, 101);
  for (const auto& status : {"sent", "failed"})
    for (const auto& o : tx->outbox(status)) CHECK(o.bytes.empty());
  tx->commit();
  auto bytes = sd::test::test_store_sql(dir, "SELECT id, length(bytes) FROM outbox ORDER BY id");
  CHECK(bytes == std::to_string(sent) + "|0\n" + std::to_string(failed) + "|0\n" + std::to_string(ack) + "|38\n");
  // Nothing of the link is left anywhere in the store's live rows.
  CHECK(sd::test::test_store_sql(dir, sd::test::testing_postgresql()
                                          ? "SELECT count(*) FROM outbox WHERE position('SECRET'::bytea IN bytes) > 0"
                                          : "SELECT count(*) FROM outbox WHERE CAST(bytes AS TEXT) LIKE '%SECRET%'") ==
        "0\n");
  auto counted = st->begin(Store::Mode::read);
  CHECK(counted->count_sent_or_queued("login-link", "anna@kund.se", 0) == 1);  // the sent one still counts for the rate limit
}

TEST_CASE("The portal's lists and sign-in lookups are served by indexes", "[sqlite]") {
  sd::test::TempDir dir;
  auto path = dir.file("sd.db");
  { open_sqlite_store({path}); }
  auto plan = [&](const std::string& sql) { return sqlite_output(path, "EXPLAIN QUERY PLAN " + sql); };
  // A contact's list: TicketFilter's branches (organisation; requester outside it; Cc list
  // outside both), each walking its own index in the list's order and stopping at the page.
  auto scope = plan(
      "SELECT t.id FROM tickets t WHERE t.id IN ("
      "SELECT id FROM (SELECT t.id FROM tickets t WHERE t.organisation = 'K' ORDER BY t.created_at DESC, t.id DESC LIMIT 50) "
      "UNION ALL SELECT id FROM (SELECT t.id FROM tickets t WHERE t.requester = 'a@k' AND t.organisation IS NOT 'K' "
      "ORDER BY t.created_at DESC, t.id DESC LIMIT 50) "
      "UNION ALL SELECT id FROM (SELECT t.id FROM tickets t WHERE t.id IN (SELECT ticket_id FROM ticket_cc WHERE "
      "address = 'a@k' AND removed = 0) AND t.requester <> 'a@k' AND t.organisation IS NOT 'K' "
      "ORDER BY t.created_at DESC, t.id DESC LIMIT 50)) ORDER BY t.created_at DESC, t.id DESC LIMIT 50");
  CHECK(scope.find("tickets_requester") != std::string::npos);
  CHECK(scope.find("ticket_cc_address") != std::string::npos);
  CHECK(scope.find("tickets_organisation") != std::string::npos);
  CHECK(scope.find("SCAN ticket_cc") == std::string::npos);
  CHECK(scope.find("SCAN t\n") == std::string::npos);
  // The agents' queue of open tickets by due time walks the due-order index (the unary + on
  // status keeps the planner from reading every open ticket through tickets_status and
  // sorting them), also filtered by organisation or assignee.
  auto open_queue = plan(
      "SELECT t.id FROM tickets t WHERE +t.status IN ('new','open','pending') "
      "ORDER BY (t.sla_next_due IS NULL), t.sla_next_due, t.id LIMIT 50");
  CHECK(open_queue.find("tickets_due_order") != std::string::npos);
  CHECK(open_queue.find("TEMP B-TREE") == std::string::npos);
  auto org_queue = plan(
      "SELECT t.id FROM tickets t WHERE +t.status IN ('new','open','pending') AND t.organisation = 'K' "
      "ORDER BY (t.sla_next_due IS NULL), t.sla_next_due, t.id LIMIT 50");
  CHECK(org_queue.find("tickets_organisation_due") != std::string::npos);
  auto mine = plan(
      "SELECT t.id FROM tickets t WHERE +t.status IN ('new','open','pending') AND t.assignee = 'e@x' "
      "ORDER BY (t.sla_next_due IS NULL), t.sla_next_due, t.id LIMIT 50");
  CHECK(mine.find("tickets_assignee_due") != std::string::npos);
  // A status filter of the queue.
  auto status = plan("SELECT t.id FROM tickets t WHERE t.status IN ('open','pending') ORDER BY t.created_at DESC LIMIT 50");
  CHECK((status.find("tickets_status") != std::string::npos || status.find("tickets_created") != std::string::npos));
  CHECK(status.find("SCAN t\n") == std::string::npos);
  // The agents' queue by due time.
  auto queue = plan("SELECT t.id FROM tickets t ORDER BY (t.sla_next_due IS NULL), t.sla_next_due, t.id LIMIT 50");
  CHECK(queue.find("tickets_due_order") != std::string::npos);
  // The queue's count has no order, so it counts the open tickets' index entries.
  auto open_count = plan("SELECT count(*) FROM (SELECT 1 FROM tickets t WHERE t.status IN ('new','open','pending') LIMIT 1001)");
  CHECK(open_count.find("COVERING INDEX tickets_status") != std::string::npos);
  // A contact's own tickets outside their organisation are judged on the requester index's
  // entries (it carries the organisation): no ticket row is read for the many inside it.
  auto own_elsewhere = plan("SELECT count(*) FROM tickets t WHERE t.requester = 'a@k' AND t.organisation IS NOT 'K'");
  CHECK(own_elsewhere.find("COVERING INDEX tickets_requester") != std::string::npos);
  // An organisation's domains (read with every organisation) by its index, not a scan.
  auto domains = plan("SELECT group_concat(domain) FROM org_domains d WHERE d.org_id = 1");
  CHECK(domains.find("org_domains_org") != std::string::npos);
  // Sign-in state.
  CHECK(plan("SELECT email FROM portal_sessions WHERE session_hash = 'x'").find("PRIMARY KEY") != std::string::npos);
  CHECK(plan("DELETE FROM portal_sessions WHERE email = 'x'").find("portal_sessions_email") != std::string::npos);
  CHECK(plan("SELECT 1 FROM portal_login_tokens WHERE token_hash = 'x'").find("PRIMARY KEY") != std::string::npos);
}
