#include <catch2/catch.hpp>

#include "desk/ingest.h"
#include "desk/ticket_change.h"
#include "tests/support/desk_config.h"
#include "tests/support/tempdir.h"

using namespace sd;

namespace {

std::string mail(const std::string& from, const std::string& subject, const std::string& msgid,
                 const std::string& extra_headers = "", const std::string& body = "Hello\r\n") {
  return "From: " + from + "\r\nTo: servicedesk@example.com\r\nSubject: " + subject + "\r\n" +
         (msgid.empty() ? "" : "Message-ID: <" + msgid + ">\r\n") + extra_headers +
         "Date: Sun, 22 Nov 2026 07:00:00 +0100\r\n\r\n" + body;
}

struct Counts {
  std::size_t tickets = 0, messages = 0, outbox = 0;
};
Counts counts(store::Store& st) {
  auto tx = st.begin(store::Store::Mode::read);
  Counts c;
  for (const auto& t : tx->tickets()) {
    ++c.tickets;
    c.messages += static_cast<std::size_t>(t.message_count);
  }
  c.outbox = tx->due_outbox(1'000'000'000'000, 1000).size();
  return c;
}

}  // namespace

TEST_CASE("A customer's mail opens a ticket and queues one acknowledgement to the sender") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  auto st = store::open_sqlite_store({c.store.path});
  auto r = ingest(*st, c, mail("Anna Berg <Anna@Kund.se>", "Printer broken", "m1@kund.se"), std::nullopt, 1000);
  CHECK(r.kind == IngestResult::Kind::created);
  CHECK(r.ticket_id == 1);
  CHECK(r.acknowledgement_queued);
  auto tx = st->begin(store::Store::Mode::read);
  auto t = tx->ticket(1);
  REQUIRE(t);
  CHECK(t->requester == "anna@kund.se");
  CHECK(t->requester_name == "Anna Berg");
  CHECK(t->status == "new");
  auto out = tx->due_outbox(1000, 10);
  REQUIRE(out.size() == 1);
  CHECK(out[0].recipients == std::vector<std::string>{"anna@kund.se"});
  CHECK(out[0].bytes.find("Subject: [SD-1] Printer broken\r\n") != std::string::npos);
  CHECK(out[0].bytes.find("In-Reply-To: <m1@kund.se>") != std::string::npos);
  CHECK(out[0].bytes.find("Auto-Submitted: auto-replied") != std::string::npos);
  auto msgs = tx->messages(1);
  REQUIRE(msgs.size() == 2);
  CHECK(msgs[0].direction == "in");
  CHECK(msgs[1].direction == "out");
  CHECK(msgs[1].message_id == out[0].message_id);
}

TEST_CASE("The acknowledgement goes to Reply-To only for a registered contact or the sender's own domain") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  auto st = store::open_sqlite_store({c.store.path});
  {
    auto tx = st->begin(store::Store::Mode::write);
    tx->add_organisation({0, "Kund", {"kund.se"}, "", "", "", 0, std::nullopt});
    tx->add_contact({"bo@kund.se", "Bo", "Kund"});
    tx->commit();
  }
  ingest(*st, c, mail("noreply@portal.example", "Help", "m1@x", "Reply-To: Bo <bo@kund.se>\r\n"), std::nullopt, 1);
  ingest(*st, c, mail("anna@kund.se", "Help", "m2@x", "Reply-To: <team@kund.se>\r\n"), std::nullopt, 2);
  // A web form's noreply@ with a stranger's Reply-To: the stranger gets nothing.
  ingest(*st, c, mail("noreply@form.example", "Help", "m3@x", "Reply-To: victim@elsewhere.example\r\n"), std::nullopt, 3);
  auto tx = st->begin(store::Store::Mode::read);
  auto out = tx->due_outbox(10, 10);
  std::vector<std::string> to;
  for (const auto& o : out)
    if (o.kind == "acknowledgement") to.push_back(o.recipients.at(0));
  CHECK(to == std::vector<std::string>{"bo@kund.se", "team@kund.se", "noreply@form.example"});
  bool recorded = false;
  for (const auto& e : tx->events(3))
    recorded = recorded || (e.kind == "reply-to" && e.detail.find("victim@elsewhere.example") != std::string::npos);
  CHECK(recorded);
}

TEST_CASE("Replies join their ticket by subject tag and by In-Reply-To of the acknowledgement") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  auto st = store::open_sqlite_store({c.store.path});
  ingest(*st, c, mail("a@kund.se", "First", "m1@kund.se"), std::nullopt, 1);
  ingest(*st, c, mail("b@kund.se", "Second", "m2@kund.se"), std::nullopt, 2);
  auto r = ingest(*st, c, mail("a@kund.se", "Re: [sd-1] First", "m3@kund.se"), std::nullopt, 3);
  CHECK(r.kind == IngestResult::Kind::joined);
  CHECK(r.ticket_id == 1);
  CHECK_FALSE(r.acknowledgement_queued);
  std::string ack_id;
  {
    auto tx = st->begin(store::Store::Mode::read);
    ack_id = tx->messages(2).back().message_id;
  }
  r = ingest(*st, c, mail("b@kund.se", "Re: Second", "m4@kund.se", "In-Reply-To: <" + ack_id + ">\r\n"), std::nullopt, 4);
  CHECK(r.kind == IngestResult::Kind::joined);
  CHECK(r.ticket_id == 2);
  // A tag of a ticket that does not exist opens a new one.
  r = ingest(*st, c, mail("a@kund.se", "[SD-99] Guess", "m5@kund.se"), std::nullopt, 5);
  CHECK(r.kind == IngestResult::Kind::created);
  CHECK(r.ticket_id == 3);
}

TEST_CASE("Automatic mail is stored but never acknowledged") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  auto st = store::open_sqlite_store({c.store.path});
  struct Case {
    std::string from, headers;
  };
  std::vector<Case> cases = {
      {"a@kund.se", "Auto-Submitted: auto-replied\r\n"},
      {"a@kund.se", "Precedence: bulk\r\n"},
      {"a@kund.se", "List-Id: <news.kund.se>\r\n"},
      {"a@kund.se", "X-Auto-Response-Suppress: All\r\n"},
      {"MAILER-DAEMON@mx.kund.se", ""},
      {"postmaster@kund.se", ""},
      {"servicedesk@example.com", ""},
      {"servicedesk+SD-1.token@example.com", ""},
  };
  int n = 0;
  for (const auto& k : cases) {
    ++n;
    auto r = ingest(*st, c, mail(k.from, "Out of office", "auto" + std::to_string(n) + "@x", k.headers), std::nullopt, n);
    INFO(k.from << " " << k.headers);
    CHECK(r.kind == IngestResult::Kind::created);
    CHECK_FALSE(r.acknowledgement_queued);
    CHECK(r.note.find("no acknowledgement") != std::string::npos);
  }
  auto cnt = counts(*st);
  CHECK(cnt.tickets == cases.size());
  CHECK(cnt.outbox == 0);
}

TEST_CASE("Acknowledgements to one address are rate-limited per hour") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  c.intake.acks_per_address_per_hour = 2;
  auto st = store::open_sqlite_store({c.store.path});
  for (int i = 0; i < 4; ++i) ingest(*st, c, mail("loop@kund.se", "Hi", "r" + std::to_string(i) + "@x"), std::nullopt, 100 + i);
  CHECK(counts(*st).outbox == 2);
  ingest(*st, c, mail("loop@kund.se", "Hi", "later@x"), std::nullopt, 100 + 3601);
  CHECK(counts(*st).outbox == 3);
}

TEST_CASE("The same mail twice is stored once, by mailbox position or by content") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  auto st = store::open_sqlite_store({c.store.path});
  auto m = mail("a@kund.se", "Once", "once@kund.se");
  store::MailOrigin o{"INBOX", 1, 5};
  CHECK(ingest(*st, c, m, o, 1).kind == IngestResult::Kind::created);
  CHECK(ingest(*st, c, m, o, 2).kind == IngestResult::Kind::duplicate);
  // After a UIDVALIDITY change the same mail comes back at a new position.
  auto r = ingest(*st, c, "Received: from mx2 by mx1\r\n" + m, store::MailOrigin{"INBOX", 2, 1}, 3);
  CHECK(r.kind == IngestResult::Kind::duplicate);
  CHECK(r.ticket_id == 1);
  // A mail without Message-ID dedupes by content alone.
  auto anon = mail("a@kund.se", "No id", "");
  CHECK(ingest(*st, c, anon, std::nullopt, 4).kind == IngestResult::Kind::created);
  CHECK(ingest(*st, c, anon, std::nullopt, 5).kind == IngestResult::Kind::duplicate);
  auto cnt = counts(*st);
  CHECK(cnt.tickets == 2);
  CHECK(cnt.outbox == 2);
  auto tx = st->begin(store::Store::Mode::read);
  auto box = tx->mailbox("INBOX");
  REQUIRE(box);
  CHECK(box->uidvalidity == 2);
  CHECK(box->last_uid == 1);
}

TEST_CASE("A mail piped with LF line ends and the same fetched over IMAP with CRLF are one mail") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  auto st = store::open_sqlite_store({c.store.path});
  auto crlf = mail("a@kund.se", "Both ways", "both@kund.se", "", "Line one\r\nLine two\r\n");
  std::string lf;
  for (std::size_t i = 0; i < crlf.size(); ++i)
    if (!(crlf[i] == '\r' && i + 1 < crlf.size() && crlf[i + 1] == '\n')) lf += crlf[i];
  REQUIRE(lf.find('\r') == std::string::npos);
  CHECK(content_hash(lf) == content_hash(crlf));
  CHECK(content_hash(lf) != content_hash(crlf + "\r\nmore\r\n"));
  CHECK(ingest(*st, c, lf, std::nullopt, 1).kind == IngestResult::Kind::created);  // the MTA's pipe
  auto r = ingest(*st, c, crlf, store::MailOrigin{"INBOX", 1, 1}, 2);               // the IMAP poll
  CHECK(r.kind == IngestResult::Kind::duplicate);
  CHECK(r.ticket_id == 1);
  CHECK(counts(*st).tickets == 1);
}

TEST_CASE("A repeat of a mail stored before line ends were read alike is still recognised") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  auto st = store::open_sqlite_store({c.store.path});
  auto m = mail("a@kund.se", "Old", "old@kund.se");
  REQUIRE(content_hash_v4(m) != content_hash(m));
  {
    // As servicedesk up to schema version 4 stored it: the hash told CRLF from LF.
    auto tx = st->begin(store::Store::Mode::write);
    tx->add_raw({1, store::MailOrigin{"INBOX", 1, 1}, "old@kund.se", content_hash_v4(m), m, "", false});
    tx->commit();
  }
  auto r = ingest(*st, c, m, store::MailOrigin{"INBOX", 2, 1}, 2);  // renumbered mailbox: a new position
  CHECK(r.kind == IngestResult::Kind::duplicate);
}

TEST_CASE("A mail the parser cannot read is still stored and becomes a ticket") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  auto st = store::open_sqlite_store({c.store.path});
  static constexpr char kGarbage[] = "\0\xff\xfe not a mail at all\r\n\r\n\x01\x02";
  std::string garbage(kGarbage, sizeof kGarbage - 1);  // NULs included
  auto r = ingest(*st, c, garbage, std::nullopt, 1);
  CHECK(r.kind == IngestResult::Kind::created);
  CHECK_FALSE(r.acknowledgement_queued);
  auto tx = st->begin(store::Store::Mode::read);
  auto t = tx->ticket(r.ticket_id);
  REQUIRE(t);
  CHECK(t->subject == "(no subject)");
  auto evs = tx->events(r.ticket_id);
  bool flagged = false;
  for (const auto& e : evs) flagged = flagged || e.kind == "parse-problems" || e.kind == "quarantined";
  CHECK(flagged);
}

TEST_CASE("A store failure at any step of ingest leaves nothing half-done, and a retry stores the mail once") {
  // Fault injection: make the Nth SQL step fail, for every N until ingest gets through.
  test::TempDir dir;
  auto c = test::desk_config(dir);
  { store::open_sqlite_store({c.store.path}); }  // create and migrate outside the count
  auto m = mail("a@kund.se", "Fragile", "fragile@kund.se");
  store::MailOrigin o{"INBOX", 1, 1};
  int failures = 0;
  for (int n = 1; n < 200; ++n) {
    try {
      auto st = store::open_sqlite_store({c.store.path, 1000, n});
      ingest(*st, c, m, o, 10);
      break;
    } catch (const store::StoreError& e) {
      CHECK(e.transient);
      ++failures;
      auto st = store::open_sqlite_store({c.store.path});
      auto cnt = counts(*st);
      INFO("failure at step " << n);
      CHECK(cnt.tickets == 0);
      CHECK(cnt.outbox == 0);
      auto tx = st->begin(store::Store::Mode::read);
      CHECK_FALSE(tx->mailbox("INBOX"));
    }
  }
  CHECK(failures > 5);  // every step of the transaction was made to fail once
  auto st = store::open_sqlite_store({c.store.path});
  CHECK(ingest(*st, c, m, o, 11).kind == IngestResult::Kind::duplicate);
  auto cnt = counts(*st);
  CHECK(cnt.tickets == 1);
  CHECK(cnt.outbox == 1);
}

TEST_CASE("Ticket references are read with or without prefix, in any case") {
  Config c;
  c.service.ticket_prefix = "SD";
  CHECK(ticket_ref(c, 42) == "SD-42");
  CHECK(parse_ticket_ref(c, "SD-42") == 42);
  CHECK(parse_ticket_ref(c, "sd-42") == 42);
  CHECK(parse_ticket_ref(c, "42") == 42);
  CHECK_FALSE(parse_ticket_ref(c, "SD-"));
  CHECK_FALSE(parse_ticket_ref(c, "XY-42"));
  CHECK(ticket_tag_in(c, "Re: AW: [SD-7] Printer") == 7);
  CHECK(ticket_tag_in(c, "[SD-x] [SD-8]") == 8);
  CHECK_FALSE(ticket_tag_in(c, "SD-7 without brackets"));
}

TEST_CASE("A monitoring rule opens an incident with its priority and repeated alerts join it") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  Config::Rule r;
  r.name = "nagios";
  r.from = "*@monitor.example.com";
  r.subject = "re:^PROBLEM";
  r.category = "incident";
  r.priority = "high";
  r.alert_key = R"(re:^PROBLEM: (\S+))";
  c.intake.rules.push_back(r);
  auto st = store::open_sqlite_store({c.store.path});
  auto a1 = ingest(*st, c, mail("nagios@monitor.example.com", "PROBLEM: db1 is DOWN", "n1@m"), std::nullopt, 1);
  auto a2 = ingest(*st, c, mail("nagios@monitor.example.com", "PROBLEM: db1 is DOWN", "n2@m"), std::nullopt, 2);
  auto b1 = ingest(*st, c, mail("nagios@monitor.example.com", "PROBLEM: web2 is DOWN", "n3@m"), std::nullopt, 3);
  auto other = ingest(*st, c, mail("anna@kund.se", "PROBLEM: db1 is DOWN", "x@k"), std::nullopt, 4);
  CHECK(a1.kind == IngestResult::Kind::created);
  CHECK(a2.kind == IngestResult::Kind::joined);
  CHECK(a2.ticket_id == a1.ticket_id);
  CHECK(b1.ticket_id != a1.ticket_id);
  CHECK(other.ticket_id != a1.ticket_id);
  auto tx = st->begin(store::Store::Mode::read);
  auto t = tx->ticket(a1.ticket_id).value();
  CHECK(t.category == "incident");
  CHECK(t.priority == "high");
  CHECK(t.alert_key == "db1");
  CHECK(t.repeat_count == 1);
  CHECK_FALSE(t.unverified);
  CHECK(tx->ticket(other.ticket_id)->priority == "medium");
}

TEST_CASE("Rules match by glob or regular expression ignoring case") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  Config::Rule r;
  r.name = "orders";
  r.subject = "*ORDER*";
  r.category = "order";
  c.intake.rules.push_back(r);
  auto st = store::open_sqlite_store({c.store.path});
  auto a = ingest(*st, c, mail("a@kund.se", "New order for licences", "o1@k"), std::nullopt, 1);
  auto b = ingest(*st, c, mail("a@kund.se", "Printer", "o2@k"), std::nullopt, 2);
  auto tx = st->begin(store::Store::Mode::read);
  CHECK(tx->ticket(a.ticket_id)->category == "order");
  CHECK(tx->ticket(b.ticket_id)->category == "");
}

TEST_CASE("With unknown_sender reject a stranger's mail is stored and answered once but opens no ticket") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  c.intake.unknown_sender = "reject";
  c.intake.acks_per_address_per_hour = 1;
  auto st = store::open_sqlite_store({c.store.path});
  {
    auto tx = st->begin(store::Store::Mode::write);
    tx->add_organisation({0, "Acme", {"acme.se"}, "", "", "", 0, std::nullopt});
    tx->add_contact({"anna@acme.se", "Anna", "Acme"});
    tx->commit();
  }
  auto r1 = ingest(*st, c, mail("stranger@else.com", "Hi", "s1@e"), std::nullopt, 1);
  auto r2 = ingest(*st, c, mail("stranger@else.com", "Hi again", "s2@e"), std::nullopt, 2);
  CHECK(r1.kind == IngestResult::Kind::rejected);
  CHECK(r2.kind == IngestResult::Kind::rejected);
  CHECK(ingest(*st, c, mail("stranger@else.com", "Hi", "s1@e"), std::nullopt, 3).kind == IngestResult::Kind::duplicate);
  auto ok = ingest(*st, c, mail("Anna@Acme.se", "Real problem", "a1@acme"), std::nullopt, 4);
  CHECK(ok.kind == IngestResult::Kind::created);
  auto tx = st->begin(store::Store::Mode::read);
  CHECK(tx->tickets().size() == 1);
  CHECK(tx->ticket(ok.ticket_id)->organisation == "Acme");
  auto out = tx->due_outbox(100, 100);
  CHECK(std::count_if(out.begin(), out.end(), [](auto& o) { return o.kind == "unknown-sender"; }) == 1);
}

TEST_CASE("A reply to a resolved ticket reopens it and one to a closed ticket opens a new one that refers to it") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  auto st = store::open_sqlite_store({c.store.path});
  auto first = ingest(*st, c, mail("a@kund.se", "Broken", "b1@k"), std::nullopt, 1);
  {
    auto tx = st->begin(store::Store::Mode::write);
    set_status(*tx, first.ticket_id, Status::resolved, 2);
    tx->commit();
  }
  auto r = ingest(*st, c, mail("a@kund.se", "Re: [SD-1] Broken", "b2@k"), std::nullopt, 3);
  CHECK(r.ticket_id == first.ticket_id);
  {
    auto tx = st->begin(store::Store::Mode::write);
    CHECK(tx->ticket(first.ticket_id)->status == "open");
    CHECK_FALSE(tx->ticket(first.ticket_id)->resolved_at);
    set_status(*tx, first.ticket_id, Status::closed, 4);
    tx->commit();
  }
  auto n = ingest(*st, c, mail("a@kund.se", "Re: [SD-1] Broken", "b3@k"), std::nullopt, 5);
  CHECK(n.kind == IngestResult::Kind::created);
  auto tx = st->begin(store::Store::Mode::read);
  CHECK(tx->ticket(n.ticket_id)->refers_to == first.ticket_id);
  CHECK(tx->ticket(first.ticket_id)->status == "closed");
}

TEST_CASE("An automatic reply on a resolved ticket does not reopen it") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  auto st = store::open_sqlite_store({c.store.path});
  auto first = ingest(*st, c, mail("a@kund.se", "Broken", "b1@k"), std::nullopt, 1);
  {
    auto tx = st->begin(store::Store::Mode::write);
    set_status(*tx, first.ticket_id, Status::resolved, 2);
    tx->commit();
  }
  auto r = ingest(*st, c, mail("a@kund.se", "Out of office: [SD-1] Broken", "ooo@k", "Auto-Submitted: auto-replied\r\n"),
                  std::nullopt, 3);
  CHECK(r.ticket_id == first.ticket_id);
  auto tx = st->begin(store::Store::Mode::read);
  CHECK(tx->ticket(first.ticket_id)->status == "resolved");
}

TEST_CASE("A contact's ticket opened during the organisation's hypercare is marked and its incidents use the hypercare SLA") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  Config::Rule r;
  r.subject = "*DOWN*";
  r.category = "incident";
  c.intake.rules.push_back(r);
  auto st = store::open_sqlite_store({c.store.path});
  {
    auto tx = st->begin(store::Store::Mode::write);
    store::Organisation o;
    o.name = "Acme";
    o.domains = {"acme.se"};
    o.hypercare_start = "2026-11-16";
    o.hypercare_weeks = 2;
    tx->add_organisation(o);
    tx->add_contact({"anna@acme.se", "Anna", "Acme"});
    tx->commit();
  }
  const store::Time during = 1795330800;  // 2026-11-22T05:00:00Z
  auto in = ingest(*st, c, mail("anna@acme.se", "Question", "h1@acme"), std::nullopt, during);
  auto down = ingest(*st, c, mail("anna@acme.se", "Site DOWN", "h2@acme"), std::nullopt, during + 1);
  auto after = ingest(*st, c, mail("anna@acme.se", "Site DOWN again", "h3@acme"), std::nullopt, during + 14 * 86400);
  auto tx = st->begin(store::Store::Mode::read);
  CHECK(tx->ticket(in.ticket_id)->hypercare);
  CHECK(tx->ticket(in.ticket_id)->sla == "standard");
  CHECK(tx->ticket(down.ticket_id)->sla == "hypercare");
  CHECK_FALSE(tx->ticket(after.ticket_id)->hypercare);
  CHECK(tx->ticket(after.ticket_id)->sla == "standard");
}
