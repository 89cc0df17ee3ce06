// The one ticket state machine (desk/ticket_change.h), the Desk built at load (desk/desk.h),
// and `quarantine retry` through the same ingest: what an operator, an agent and a customer
// see after each change.
#include <catch2/catch.hpp>

#include "desk/agent_mail.h"
#include "desk/desk.h"
#include "desk/directory.h"
#include "desk/ingest.h"
#include "desk/ticket_change.h"
#include "desk/visibility.h"
#include "tests/support/desk_config.h"
#include "tests/support/tempdir.h"

#include <sys/stat.h>

#include <fstream>

using namespace sd;

namespace {

constexpr store::Time kNow = 1'795'000'000;  // 2026-11-18, a Wednesday

std::string mail(const std::string& from, const std::string& subject, const std::string& msgid,
                 const std::string& body = "Hello\r\n") {
  return "From: " + from + "\r\nTo: servicedesk@example.com\r\nSubject: " + subject + "\r\nMessage-ID: <" + msgid +
         ">\r\nDate: Wed, 18 Nov 2026 09:00:00 +0100\r\n\r\n" + body;
}

// The mails queued to `to` of outbox kind `kind`.
std::vector<store::OutboxItem> mails_to(store::Store& st, const std::string& to, const std::string& kind) {
  auto tx = st.begin(store::Store::Mode::read);
  std::vector<store::OutboxItem> out;
  for (auto& o : tx->due_outbox(kNow * 2, 1000))
    if (o.kind == kind && o.recipients == std::vector<std::string>{to}) out.push_back(o);
  return out;
}

void write_file(const std::string& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
}

struct Fixture {
  test::TempDir dir;
  Config c = test::desk_config(dir);
  std::unique_ptr<store::Store> st = store::open_sqlite_store({c.store.path});
  std::unique_ptr<Desk> desk = std::make_unique<Desk>(c);
  Fixture() {
    auto tx = st->begin(store::Store::Mode::write);
    tx->add_agent({"eva@example.com", "Eva Agent"});
    tx->commit();
    ingest(*st, *desk, mail("Anna Berg <anna@kund.se>", "Printer broken", "m1@kund.se"), std::nullopt, kNow);
  }
  store::Ticket ticket() {
    auto tx = st->begin(store::Store::Mode::read);
    return *tx->ticket(1);
  }
  ChangeOutcome change(const TicketChange& ch, store::Time at = kNow + 600) {
    auto tx = st->begin(store::Store::Mode::write);
    auto out = change_ticket(*tx, *desk, *tx->ticket(1), ch, "operator:root", at);
    tx->commit();
    return out;
  }
};

}  // namespace

TEST_CASE("Resolving a ticket without words tells the customer and counts as the first response") {
  Fixture f;
  TicketChange ch;
  ch.status = Status::resolved;
  auto out = f.change(ch);
  CHECK(out.mail_queued);
  auto t = f.ticket();
  CHECK(t.status == "resolved");
  REQUIRE(t.first_response_at);
  CHECK(*t.first_response_at == kNow + 600);
  auto mails = mails_to(*f.st, "anna@kund.se", "status-resolved");
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].bytes.find("Subject: [SD-1] Resolved: Printer broken") != std::string::npos);
  // The SLA is met by the answer, not by silence.
  auto tx = f.st->begin(store::Store::Mode::read);
  CHECK(f.desk->clock().evaluate(t, tx->pauses(1), kNow + 700).state == "met");
}

TEST_CASE("An agent's words with the resolution are mailed once and kept as the ticket's resolution") {
  Fixture f;
  TicketChange ch;
  ch.status = Status::resolved;
  ch.text = "The toner was replaced.";
  ch.agent_name = "Eva Agent";
  f.change(ch);
  auto mails = mails_to(*f.st, "anna@kund.se", "status-resolved");
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].bytes.find("The toner was replaced.") != std::string::npos);
  CHECK(f.ticket().resolution == "The toner was replaced.");
}

TEST_CASE("Changes without words other than resolving stay silent") {
  Fixture f;
  TicketChange ch;
  ch.status = Status::pending;
  ch.priority = Priority::high;
  ch.category = Category::support;
  auto out = f.change(ch);
  CHECK_FALSE(out.mail_queued);
  CHECK(mails_to(*f.st, "anna@kund.se", "status-pending").empty());
  auto t = f.ticket();
  CHECK(t.status == "pending");
  CHECK(t.priority == "high");
  CHECK_FALSE(t.first_response_at);
}

TEST_CASE("Only a registered agent can be assigned, on every path, and a refusal changes nothing") {
  Fixture f;
  TicketChange ch;
  ch.assignee = "nobody@elsewhere.example";
  ch.status = Status::resolved;
  auto out = f.change(ch);
  REQUIRE(out.refused.size() == 1);
  CHECK(out.refused[0].find("nobody@elsewhere.example is not a registered agent") != std::string::npos);
  auto t = f.ticket();
  CHECK(t.assignee.empty());
  CHECK(t.status == "new");
  ch.assignee = "eva@example.com";
  CHECK(f.change(ch).refused.empty());
  CHECK(f.ticket().assignee == "eva@example.com");
}

TEST_CASE("Pending and resolved stop the SLA clock and a reopened ticket's clock runs again") {
  Fixture f;
  TicketChange pend;
  pend.status = Status::pending;
  f.change(pend, kNow + 100);
  TicketChange open;
  open.status = Status::open;
  f.change(open, kNow + 400);
  auto tx = f.st->begin(store::Store::Mode::read);
  auto pauses = tx->pauses(1);
  REQUIRE(pauses.size() == 1);
  CHECK(pauses[0].from == kNow + 100);
  CHECK(pauses[0].to == std::optional<store::Time>(kNow + 400));
  CHECK_FALSE(tx->ticket(1)->resolved_at);
}

TEST_CASE("The next SLA due time is stored with the ticket and follows its priority") {
  Fixture f;
  auto before = f.ticket().sla_next_due;
  REQUIRE(before);  // the first-response warning of a medium ticket
  TicketChange ch;
  ch.priority = Priority::highest;
  f.change(ch);
  auto after = f.ticket().sla_next_due;
  REQUIRE(after);
  CHECK(*after < *before);
  TicketChange done;
  done.status = Status::resolved;
  f.change(done);
  CHECK_FALSE(f.ticket().sla_next_due);  // a resolved ticket has nothing coming
}

TEST_CASE("A new ticket's first SLA due time, known before the ticket exists, is what the refresh stores") {
  Fixture f;
  auto t = f.ticket();
  REQUIRE(t.sla_next_due);
  store::NewTicket nt;
  nt.sla = t.sla;
  nt.created_at = t.created_at;
  nt.priority = t.priority;
  CHECK(first_sla_due(*f.desk, nt, t.created_at) == t.sla_next_due);
  for (auto p : {Priority::highest, Priority::high, Priority::low, Priority::lowest}) {
    TicketChange ch;
    ch.priority = p;
    f.change(ch, t.created_at);
    nt.priority = to_string(p);
    INFO(nt.priority);
    CHECK(first_sla_due(*f.desk, nt, t.created_at) == f.ticket().sla_next_due);
  }
}

TEST_CASE("A customer sees their organisation's tickets and those they are on, an agent sees all") {
  Fixture f;
  auto tx = f.st->begin(store::Store::Mode::write);
  tx->add_organisation({0, "Beta", {"beta.dk"}, "", "", "", 0, std::nullopt});
  tx->add_contact({"bo@beta.dk", "Bo", "Beta"});
  auto t = *tx->ticket(1);
  CHECK(may_see(*tx, t, party_of(*tx, "anna@kund.se")));
  CHECK(may_see(*tx, t, party_of(*tx, "eva@example.com")));
  CHECK_FALSE(may_see(*tx, t, party_of(*tx, "bo@beta.dk")));  // another organisation's contact
  CHECK_FALSE(may_see(*tx, t, party_of(*tx, "eva@example.com", true)));  // several From: no agent's rights
  CHECK_FALSE(may_join(*tx, t, party_of(*tx, "")));
}

TEST_CASE("A broken operator template is a config error when the Desk is built, not a quarantined mail") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  std::string tpl = dir.file("templates");
  ::mkdir(tpl.c_str(), 0700);
  c.service.templates_dir = tpl;
  write_file(tpl + "/acknowledgement.sv.txt", "Subject: [{{ticket}}] {{subject}}\n\nHej {{namn}},\n");
  try {
    Desk d(c);
    FAIL("a template with an unknown placeholder was accepted");
  } catch (const ConfigError& e) {
    std::string what = e.what();
    CHECK(what.find("acknowledgement.sv.txt:3: {{namn}} is no placeholder of acknowledgement") != std::string::npos);
  }
  write_file(tpl + "/acknowledgement.sv.txt", "Hej {{requester_name}},\n");
  CHECK_THROWS_WITH(Desk(c), Catch::Contains("acknowledgement.sv.txt:1: a template starts with a line \"Subject: ...\""));
  ::unlink((tpl + "/acknowledgement.sv.txt").c_str());
  write_file(tpl + "/acknowledgment.txt", "Subject: x\n\nx\n");  // misspelt kind
  CHECK_THROWS_WITH(Desk(c), Catch::Contains("acknowledgment.txt: no template kind of that name"));
  ::unlink((tpl + "/acknowledgment.txt").c_str());
  write_file(tpl + "/acknowledgement.sv.txt", "Subject: [{{ticket}}] Tack: {{subject}}\n\nHej {{requester_name}}!\n");
  Desk ok(c);
  CHECK(ok.templates().get("acknowledgement", "sv").body == "Hej {{requester_name}}!\n");
  CHECK(ok.templates().get("acknowledgement", "da").subject == "[{{ticket}}] {{subject}}");  // built-in
}

TEST_CASE("A token secret that others may read stops the Desk at load, and no mail is taken meanwhile") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  c.agents.token_secret_file = dir.file("token.secret");
  write_file(c.agents.token_secret_file, "0123456789abcdef0123456789abcdef\n", 0644);
  CHECK_THROWS_AS(Desk(c), ConfigError);
  auto st = store::open_sqlite_store({c.store.path});
  CHECK_THROWS_AS(ingest(*st, c, mail("anna@kund.se", "Printer", "m9@kund.se"), std::nullopt, kNow), ConfigError);
  auto tx = st->begin(store::Store::Mode::read);
  CHECK(tx->quarantined_mails().empty());  // the mail stays where it was: nothing stored "without a ticket"
  CHECK(tx->tickets().empty());
}

TEST_CASE("quarantine retry of a mail stored without a ticket runs the same ingest and opens its ticket") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  auto st = store::open_sqlite_store({c.store.path});
  auto raw = mail("Anna Berg <anna@kund.se>", "Printer broken", "m1@kund.se");
  quarantine_unhandled(*st, raw, std::nullopt, kNow, "a bug");
  std::int64_t raw_id = 0;
  {
    auto tx = st->begin(store::Store::Mode::read);
    auto q = tx->quarantined_mails();
    REQUIRE(q.size() == 1);
    CHECK_FALSE(q[0].ticket_id);
    raw_id = q[0].raw_id;
  }
  Desk desk(c);
  auto r = reingest(*st, desk, raw_id, kNow + 60);
  CHECK(r.kind == IngestResult::Kind::created);
  CHECK(r.ticket_id == 1);
  auto tx = st->begin(store::Store::Mode::read);
  CHECK(tx->quarantined_mails().empty());  // parsed cleanly now: off the list
  auto t = tx->ticket(1);
  REQUIRE(t);
  CHECK(t->requester == "anna@kund.se");
  CHECK(tx->messages(1).front().raw_id == std::optional<std::int64_t>(raw_id));
  tx.reset();
  CHECK(mails_to(*st, "anna@kund.se", "acknowledgement").size() == 1);
  CHECK(reingest(*st, desk, raw_id, kNow + 120).kind == IngestResult::Kind::duplicate);  // never twice
}

TEST_CASE("The agents' command help is generated from the table the commands are read by") {
  auto help = agent_commands_help();
  for (const char* word : {"#status open|pending|resolved|closed", "#resolve", "#priority highest|high|medium|low|lowest",
                           "#category incident|support|order|feature", "#assign someone@example.com|me",
                           "#time 15m|1h30m", "#note"})
    CHECK(help.find(word) != std::string::npos);
  // Every word the help names is understood.
  CHECK(parse_agent_commands("#status pending\n#resolve\n#priority lowest\n#category order\n#assign me\n#time 15m\n#note\nx")
            .errors.empty());
}

TEST_CASE("The vocabulary reads each name back and refuses anything else") {
  for (auto s : kStatuses) CHECK(parse_status(to_string(s)) == s);
  for (auto p : kPriorities) CHECK(parse_priority(to_string(p)) == p);
  for (auto c : kCategories) CHECK(parse_category(to_string(c)) == c);
  for (auto l : kLanguages) CHECK(parse_language(to_string(l)) == l);
  CHECK(parse_priority("Critical") == Priority::highest);
  CHECK(parse_status("OPEN") == Status::open);
  CHECK_FALSE(parse_status("opened"));
  CHECK_FALSE(parse_status(""));
  CHECK_FALSE(parse_category("incident\n"));
  CHECK(names_of(kStatuses) == "new|open|pending|awaiting-approval|resolved|closed");
  CHECK(parse_status("Awaiting-Approval") == Status::awaiting_approval);
  CHECK(pauses_sla(Status::awaiting_approval));
  CHECK(is_open(Status::awaiting_approval));
  CHECK_FALSE(is_done(Status::awaiting_approval));
}

TEST_CASE("A status set alone keeps one pause from pending through resolved, and sets the resolution time") {
  Fixture f;
  auto tx = f.st->begin(store::Store::Mode::write);
  auto events_before = tx->events(1).size();
  set_status(*tx, 1, Status::pending, kNow + 200);
  set_status(*tx, 1, Status::resolved, kNow + 300);  // still paused: the same pause goes on
  CHECK(tx->ticket(1)->resolved_at == kNow + 300);
  set_status(*tx, 1, Status::open, kNow + 400);
  CHECK_FALSE(tx->ticket(1)->resolved_at);
  auto p = tx->pauses(1);
  REQUIRE(p.size() == 1);
  CHECK(p[0].from == kNow + 200);
  CHECK(p[0].to == kNow + 400);
  CHECK(tx->events(1).size() == events_before);  // a silent change records nothing
}

TEST_CASE("An organisation has at most ten contact persons, each a plain mail address") {
  Fixture f;
  auto tx = f.st->begin(store::Store::Mode::write);
  tx->add_organisation({0, "Beta", {"beta.dk"}, "", "", "", 0, std::nullopt});
  for (int i = 0; i < 10; ++i) add_contact(*tx, {"Person" + std::to_string(i) + "@Beta.dk", "", "Beta"});
  CHECK(tx->contacts("Beta").size() == 10);
  CHECK(tx->contact("person3@beta.dk"));  // lower-cased
  try {
    add_contact(*tx, {"eleventh@beta.dk", "", "Beta"});
    FAIL("an 11th contact was added");
  } catch (const DirectoryError& e) {
    CHECK_FALSE(e.malformed);
    CHECK(std::string(e.what()).find("has 10 contacts already") != std::string::npos);
  }
  CHECK_FALSE(tx->contact("eleventh@beta.dk"));
  for (const char* bad : {"bo", "bo@", "@beta.dk", "bo@beta.dk, eve@evil.example", "bo@beta.dk\r\nBcc: x@y"}) {
    INFO(bad);
    CHECK_THROWS_AS(add_agent(*tx, {bad, ""}), DirectoryError);
  }
  CHECK_THROWS_WITH(add_contact(*tx, {"a@gamma.dk", "", "Gamma"}), Catch::Contains("no organisation 'Gamma'"));
  store::Organisation o;
  o.language = "de";
  CHECK_THROWS_AS(check_organisation(f.c, o), DirectoryError);
  o.language = "da";
  o.sla = "platinum";
  CHECK_THROWS_WITH(check_organisation(f.c, o), Catch::Contains("no SLA named 'platinum'"));
}
