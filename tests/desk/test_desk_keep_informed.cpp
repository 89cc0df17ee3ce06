// tests/desk/test_desk_keep_informed.cpp: keeping customers informed on long cases (issue 16;
// desk/keep_informed.h): the agents' update reminder's built-in defaults, the customer's
// automatic status mail after customer_update_hours of silence (internal notes never in it,
// pending tickets and automatic requesters skipped, once per silence however often and by
// however many daemons the clock runs), the account agent, hypercare extended and ended with
// who and when, the confirmation a week before the end and the weekly summaries.
#include <catch2/catch.hpp>

#include "desk/desk.h"
#include "desk/keep_informed.h"
#include "desk/on_behalf.h"
#include "desk/sla_clock.h"
#include "desk/ticket_change.h"
#include "parser/parse.h"
#include "store/keep_informed.h"
#include "tests/support/desk_config.h"
#include "tests/support/new_ticket.h"
#include "tests/support/tempdir.h"

#include <algorithm>

using namespace sd;

namespace {

store::Time at(const char* rfc3339) { return sla::parse_rfc3339(rfc3339).value().time_since_epoch().count(); }

constexpr std::size_t kMedium = static_cast<std::size_t>(sla::Priority::medium);
const store::Time kMonday = at("2026-11-23T09:00:00+01:00");  // dk calendar: Mon-Fri 08-16

std::vector<store::OutboxItem> mails(store::Store& st, const std::string& kind) {
  auto tx = st.begin(store::Store::Mode::read);
  std::vector<store::OutboxItem> out;
  for (auto& o : tx->due_outbox(at("2030-01-01T00:00:00Z"), 1000))
    if (o.kind == kind) out.push_back(std::move(o));
  return out;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
// What the recipient reads: the subject and the body decoded.
std::string subject_of(const store::OutboxItem& o) { return parser::parse(o.bytes, {}).subject; }
std::string body_of(const store::OutboxItem& o) { return parser::parse(o.bytes, {}).body_text; }

// A desk whose medium tickets get a customer update after 4 business hours of silence.
Config informed_config(const test::TempDir& dir) {
  auto c = test::desk_config(dir);
  c.slas["standard"].customer_update[kMedium] = sla::Seconds(4 * 3600);
  return c;
}

std::int64_t open_ticket(store::Transaction& tx, const std::string& requester, store::Time when,
                         const std::string& alert_key = "") {
  auto nt = sd::test::new_ticket("Skrivaren skriver inte", requester, "Kim Kund", when);
  nt.alert_key = alert_key;
  auto id = tx.create_ticket(nt);
  set_status(tx, id, Status::open, when);
  return id;
}

}  // namespace

TEST_CASE("The built-in SLAs remind agents after 4, 8, 16, 24 and 40 business hours; customer updates are off") {
  auto c = builtin_config();
  for (const char* name : {"standard", "hypercare", "standard-se", "hypercare-se"}) {
    INFO(name);
    const auto& s = c.slas.at(name);
    std::vector<std::int64_t> hours;
    for (const auto& u : s.update) hours.push_back(u ? u->count() / 3600 : -1);
    CHECK(hours == std::vector<std::int64_t>{4, 8, 16, 24, 40});
    CHECK(std::none_of(s.customer_update.begin(), s.customer_update.end(), [](auto& u) { return u.has_value(); }));
  }
}

TEST_CASE("With the built-in SLAs an open ticket's agent is reminded once after 16 business hours, the customer "
          "gets nothing") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  SlaClock clock(c);
  auto st = store::open_sqlite_store({c.store.path});
  {
    auto tx = st->begin(store::Store::Mode::write);
    auto id = open_ticket(*tx, "k@kund.dk", kMonday);
    tx->set_first_response(id, kMonday + 600);  // answered in time: no first-response deadlines left
    tx->commit();
  }
  // Mon 09:00 + 16 business hours of 08-16: Wednesday 09:00.
  CHECK(fire_due_sla_events(*st, c, clock, at("2026-11-25T08:59:00+01:00")).fired == 0);
  CHECK(fire_due_sla_events(*st, c, clock, at("2026-11-25T09:01:00+01:00")).fired == 1);
  CHECK(fire_due_sla_events(*st, c, clock, at("2026-11-30T09:01:00+01:00")).fired == 0);
  CHECK(mails(*st, "sla-reminder").size() == 1);
  CHECK(mails(*st, "customer-update").empty());
}

TEST_CASE("After customer_update_hours of silence the customer gets the status and the agents' last words, never "
          "an internal note, once") {
  test::TempDir dir;
  auto c = informed_config(dir);
  Desk desk(c);
  auto st = store::open_sqlite_store({c.store.path});
  std::int64_t id = 0;
  {
    auto tx = st->begin(store::Store::Mode::write);
    tx->add_agent({"eva@example.com", "Eva Ek"});
    id = open_ticket(*tx, "k@kund.dk", kMonday);
    tx->set_cc(id, {"chef@kund.dk", "system", kMonday, false}, false);
    REQUIRE(agent_writes(*tx, desk, id, "eva@example.com", "Vi har beställt en ny toner.", false, kMonday + 1800));
    REQUIRE(agent_writes(*tx, desk, id, "eva@example.com", "HEMLIGT: kunden har inte betalat", true, kMonday + 3600));
    tx->commit();
  }
  // The silence starts with Eva's answer at 09:30; 4 business hours later is 13:30. The
  // internal note at 10:00 is no update to the customer and moves nothing.
  CHECK(fire_due_sla_events(*st, desk, at("2026-11-23T13:29:00+01:00")).fired == 0);
  auto r = fire_due_sla_events(*st, desk, at("2026-11-23T13:31:00+01:00"));
  CHECK(r.fired == 1);
  CHECK(r.mail_queued);
  auto out = mails(*st, "customer-update");
  REQUIRE(out.size() == 1);
  CHECK(out[0].recipients == std::vector<std::string>{"k@kund.dk", "chef@kund.dk"});
  CHECK(subject_of(out[0]) == "[SD-1] Status of your case: Skrivaren skriver inte");
  CHECK(has(out[0].bytes, "Auto-Submitted: auto-generated"));
  auto b = body_of(out[0]);
  CHECK(has(b, "Your case SD-1 is open and being worked on."));
  CHECK(has(b, "> Vi har beställt en ny toner.\n"));
  CHECK(has(b, "Eva Ek"));
  CHECK_FALSE(has(b, "HEMLIGT"));
  CHECK_FALSE(has(b, "betalat"));

  // The clock again, later the same day and days later: the silence was told once.
  CHECK(fire_due_sla_events(*st, desk, at("2026-11-23T15:00:00+01:00")).fired == 0);
  CHECK(fire_due_sla_events(*st, desk, at("2026-11-26T15:00:00+01:00")).fired == 1);  // the agent's reminder (16 h)
  CHECK(mails(*st, "customer-update").size() == 1);
  CHECK(mails(*st, "sla-reminder").size() == 1);

  // The agent writes again: a new silence, told once more 4 business hours later.
  {
    auto tx = st->begin(store::Store::Mode::write);
    REQUIRE(agent_writes(*tx, desk, id, "eva@example.com", "Tonern kommer på fredag.", false,
                         at("2026-11-27T09:00:00+01:00")));
    tx->commit();
  }
  CHECK(fire_due_sla_events(*st, desk, at("2026-11-27T13:01:00+01:00")).fired == 1);
  out = mails(*st, "customer-update");
  REQUIRE(out.size() == 2);
  CHECK(has(body_of(out[1]), "> Tonern kommer på fredag.\n"));
  auto tx = st->begin(store::Store::Mode::read);
  auto events = tx->events(id, false);
  CHECK(std::count_if(events.begin(), events.end(), [](auto& e) {
          return e.kind == "customer-notified" && e.detail == "customer-update";
        }) == 2);
}

TEST_CASE("A ticket no agent has answered yet gets a customer update that says it is in the queue") {
  test::TempDir dir;
  auto c = informed_config(dir);
  Desk desk(c);
  auto st = store::open_sqlite_store({c.store.path});
  {
    auto tx = st->begin(store::Store::Mode::write);
    store::Organisation o;
    o.name = "Kund AB";
    o.domains = {"kund.se"};
    o.language = "sv";
    tx->add_organisation(o);
    auto nt = sd::test::new_ticket("Fakturan saknas", "anna@kund.se", "Anna Andersson", kMonday);
    nt.organisation = "Kund AB";
    tx->create_ticket(nt);
    tx->commit();
  }
  fire_due_sla_events(*st, desk, at("2026-11-23T13:01:00+01:00"));
  auto out = mails(*st, "customer-update");
  REQUIRE(out.size() == 1);
  CHECK(subject_of(out[0]) == "[SD-1] Status för ditt ärende: Fakturan saknas");
  auto b = body_of(out[0]);
  CHECK(has(b, "Hej Anna,"));
  CHECK(has(b, "Ditt ärende SD-1 är öppet och väntar på en handläggare."));
  CHECK(has(b, "Ingen handläggare har svarat ännu"));
}

TEST_CASE("A subject or agent's words that look like template tags stay text in the customer update") {
  test::TempDir dir;
  auto c = informed_config(dir);
  Desk desk(c);
  auto st = store::open_sqlite_store({c.store.path});
  {
    auto tx = st->begin(store::Store::Mode::write);
    tx->add_agent({"eva@example.com", "Eva"});
    auto nt = sd::test::new_ticket("Hj\xc3\xa4lp {{status}} {{#last_words}}x{{/last_words}}", "k@kund.dk", "", kMonday);
    auto id = tx->create_ticket(nt);
    REQUIRE(agent_writes(*tx, desk, id, "eva@example.com", "Se {{service_name}} och {{^since}}y{{/since}}", false,
                         kMonday + 60));
    tx->commit();
  }
  fire_due_sla_events(*st, desk, at("2026-11-23T13:05:00+01:00"));
  auto out = mails(*st, "customer-update");
  REQUIRE(out.size() == 1);
  CHECK(subject_of(out[0]) == "[SD-1] Status of your case: Hj\xc3\xa4lp {{status}} {{#last_words}}x{{/last_words}}");
  CHECK(has(body_of(out[0]), "> Se {{service_name}} och {{^since}}y{{/since}}\n"));
}

TEST_CASE("Pending, resolved and closed tickets get no customer update, nor does an automatic requester") {
  test::TempDir dir;
  auto c = informed_config(dir);
  Desk desk(c);
  auto st = store::open_sqlite_store({c.store.path});
  std::int64_t alert_with_cc = 0;
  {
    auto tx = st->begin(store::Store::Mode::write);
    auto pending = open_ticket(*tx, "p@kund.dk", kMonday);
    set_status(*tx, pending, Status::pending, kMonday + 60);
    auto resolved = open_ticket(*tx, "r@kund.dk", kMonday);
    set_status(*tx, resolved, Status::resolved, kMonday + 60);
    auto closed = open_ticket(*tx, "c@kund.dk", kMonday);
    set_status(*tx, closed, Status::closed, kMonday + 60);
    open_ticket(*tx, "nagios@monitor.kund.dk", kMonday, "disk-full");
    alert_with_cc = open_ticket(*tx, "zabbix@monitor.kund.dk", kMonday, "cpu");
    tx->set_cc(alert_with_cc, {"drift@kund.dk", "system", kMonday, false}, false);
    // Opened by automatic mail (Auto-Submitted), and by a bounce.
    auto robot = open_ticket(*tx, "robot@kund.dk", kMonday);
    store::MessageRecord m;
    m.ticket_id = robot;
    m.direction = "in";
    m.message_id = "robot.1@kund.dk";
    m.from_addr = "robot@kund.dk";
    m.subject = "Nightly job failed";
    m.body_text = m.new_text = "Job 42 failed.";
    m.automatic = "Auto-Submitted: auto-generated";
    m.created_at = kMonday;
    tx->add_message(m);
    open_ticket(*tx, "MAILER-DAEMON@kund.dk", kMonday);
    tx->commit();
  }
  fire_due_sla_events(*st, desk, at("2026-11-30T13:01:00+01:00"));
  auto out = mails(*st, "customer-update");
  // Only the person on the monitoring alert's Cc list hears; the machine itself does not.
  REQUIRE(out.size() == 1);
  CHECK(out[0].recipients == std::vector<std::string>{"drift@kund.dk"});
  CHECK(out[0].ticket_id == alert_with_cc);
  auto tx = st->begin(store::Store::Mode::read);
  auto events = tx->events(4);
  CHECK(std::any_of(events.begin(), events.end(), [](auto& e) {
    return e.kind == "customer-not-notified" && e.internal && e.detail.find("automatic") != std::string::npos;
  }));
}

TEST_CASE("Two daemons' clocks running at the same moment send one customer update") {
  test::TempDir dir;
  auto c = informed_config(dir);
  Desk desk(c);
  auto one = store::open_sqlite_store({c.store.path});
  auto two = store::open_sqlite_store({c.store.path});
  {
    auto tx = one->begin(store::Store::Mode::write);
    open_ticket(*tx, "k@kund.dk", kMonday);
    tx->commit();
  }
  auto now = at("2026-11-23T13:01:00+01:00");
  auto first = fire_due_sla_events(*one, desk, now);
  auto second = fire_due_sla_events(*two, desk, now);
  CHECK(first.fired + second.fired == 1);
  CHECK(mails(*one, "customer-update").size() == 1);
}

TEST_CASE("customer_update_hours is read per priority and 0 turns a reminder off") {
  test::TempDir dir;
  auto path = dir.write("sd.toml", R"(
[service]
address = "servicedesk@example.com"
[imap]
url = "imaps://mail.example.com/INBOX"
username = "sd"
password_file = "/dev/null"
[smtp]
url = "smtps://mail.example.com"
[store]
path = "/tmp/x.db"
[slas.standard]
update_hours = { medium = 0, low = 30 }
customer_update_hours = { high = 6, medium = 12.5 }
)");
  auto c = load_config(path);
  const auto& s = c.slas.at("standard");
  CHECK_FALSE(s.update[kMedium]);
  CHECK(s.update[static_cast<std::size_t>(sla::Priority::low)] == sla::Seconds(30 * 3600));
  CHECK(s.update[static_cast<std::size_t>(sla::Priority::highest)] == sla::Seconds(4 * 3600));  // the default stays
  CHECK(s.customer_update[static_cast<std::size_t>(sla::Priority::high)] == sla::Seconds(6 * 3600));
  CHECK(s.customer_update[kMedium] == sla::Seconds(12 * 3600 + 1800));
  CHECK_FALSE(s.customer_update[static_cast<std::size_t>(sla::Priority::low)]);
  // The Swedish twin follows the Danish one as configured.
  CHECK(c.slas.at("standard-se").customer_update[kMedium] == sla::Seconds(12 * 3600 + 1800));
}

// --- account agent and hypercare --------------------------------------------------------

namespace {

// Kund AB (Swedish) in hypercare from Monday 2 November 2026 for `weeks` weeks, with two
// contacts: anna sees the organisation's tickets, bo only his own.
void hypercare_org(store::Transaction& tx, int weeks) {
  store::Organisation o;
  o.name = "Kund AB";
  o.domains = {"kund.se"};
  o.language = "sv";
  o.hypercare_start = "2026-11-02";
  o.hypercare_weeks = weeks;
  tx.add_organisation(o);
  tx.add_contact({"anna@kund.se", "Anna Andersson", "Kund AB", "inherit"});
  tx.add_contact({"bo@kund.se", "Bo Berg", "Kund AB", "own"});
  tx.add_agent({"eva@example.com", "Eva Ek"});
}

std::vector<std::string> kinds_of(const std::vector<store::OrgEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.kind);
  return out;
}

}  // namespace

TEST_CASE("The account agent must be a registered agent; who set it and when is recorded") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  auto st = store::open_sqlite_store({c.store.path});
  auto tx = st->begin(store::Store::Mode::write);
  hypercare_org(*tx, 3);
  auto now = at("2026-11-03T10:00:00Z");
  // A contact's address, an unknown one, and one of the wrong shape are refused; nothing is stored.
  try {
    set_account_agent(*tx, "Kund AB", "anna@kund.se", "operator:root", now);
    FAIL("a contact became account agent");
  } catch (const KeepInformedError& e) {
    CHECK_FALSE(e.malformed);
    CHECK(std::string(e.what()) == "anna@kund.se is not a registered agent (servicedesk agent add anna@kund.se)");
  }
  CHECK_THROWS_AS(set_account_agent(*tx, "Kund AB", "mallory@evil.example", "operator:root", now), KeepInformedError);
  try {
    set_account_agent(*tx, "Kund AB", "eva@example.com, mallory@evil.example", "operator:root", now);
    FAIL("two addresses taken");
  } catch (const KeepInformedError& e) {
    CHECK(e.malformed);
  }
  CHECK_THROWS_AS(set_account_agent(*tx, "No Such AB", "eva@example.com", "operator:root", now), KeepInformedError);
  CHECK(tx->keep_informed().account_agent("Kund AB").empty());
  CHECK(tx->keep_informed().org_events("Kund AB").empty());

  set_account_agent(*tx, "Kund AB", "Eva@Example.com", "operator:root", now);
  CHECK(tx->keep_informed().account_agent("Kund AB") == "eva@example.com");
  auto events = tx->keep_informed().org_events("Kund AB");
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == "account-agent");
  CHECK(events[0].actor == "operator:root");
  CHECK(events[0].at == now);
  CHECK(events[0].detail == "(none) -> eva@example.com");
  CHECK(hypercare_recipients(*tx, c, "Kund AB") == std::vector<std::string>{"eva@example.com"});
  // Without one (or once it is no agent): the team address, else sla.agents_address.
  set_account_agent(*tx, "Kund AB", "", "eva@example.com", now + 1);
  CHECK(hypercare_recipients(*tx, c, "Kund AB") == std::vector<std::string>{"agents@example.com"});
  c.agents.team_address = "team@example.com";
  CHECK(hypercare_recipients(*tx, c, "Kund AB") == std::vector<std::string>{"team@example.com"});
}

TEST_CASE("Hypercare extended and ended early record who and when; an ended one takes no new tickets") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  auto st = store::open_sqlite_store({c.store.path});
  auto tx = st->begin(store::Store::Mode::write);
  hypercare_org(*tx, 3);  // 2 November to 22 November
  auto now = at("2026-11-16T10:00:00Z");
  CHECK_THROWS_AS(extend_hypercare(*tx, "Kund AB", 0, "eva@example.com", now), KeepInformedError);
  CHECK(extend_hypercare(*tx, "Kund AB", 2, "eva@example.com", now) == at("2026-12-07T00:00:00Z"));
  CHECK(tx->organisation("Kund AB")->hypercare_weeks == 5);

  auto later = at("2026-11-20T14:00:00Z");
  end_hypercare(*tx, "Kund AB", "eva@example.com", later);
  auto o = *tx->organisation("Kund AB");
  CHECK(o.hypercare_ended_at == later);
  auto period = hypercare_period(o);
  REQUIRE(period);
  CHECK_FALSE(period->covers(later + 60));  // a ticket opened now is no hypercare ticket
  CHECK(period->covers(later - 60));
  auto events = tx->keep_informed().org_events("Kund AB");
  CHECK(kinds_of(events) == std::vector<std::string>{"hypercare-extended", "hypercare-ended"});
  CHECK(events[0].actor == "eva@example.com");
  CHECK(events[0].at == now);
  CHECK(events[0].detail == "by 2 weeks to 5 weeks: ends after 2026-12-06 (was 2026-11-22)");
  CHECK(events[1].at == later);
  // Over is over: neither can be done again.
  CHECK_THROWS_AS(end_hypercare(*tx, "Kund AB", "eva@example.com", later + 60), KeepInformedError);
  CHECK_THROWS_AS(extend_hypercare(*tx, "Kund AB", 1, "eva@example.com", later + 60), KeepInformedError);
  store::Organisation none;
  none.name = "Utan AB";
  none.domains = {"utan.se"};
  tx->add_organisation(none);
  CHECK_THROWS_AS(extend_hypercare(*tx, "Utan AB", 1, "eva@example.com", now), KeepInformedError);
  CHECK_THROWS_AS(end_hypercare(*tx, "Utan AB", "eva@example.com", now), KeepInformedError);
}

TEST_CASE("A week before hypercare ends the account agent is asked once to confirm or extend, and again after an "
          "extension") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  Desk desk(c);
  auto st = store::open_sqlite_store({c.store.path});
  {
    auto tx = st->begin(store::Store::Mode::write);
    hypercare_org(*tx, 3);  // ends after 22 November: asked on 16 November 00:00 UTC
    set_account_agent(*tx, "Kund AB", "eva@example.com", "operator:root", at("2026-11-02T09:00:00Z"));
    tx->commit();
  }
  auto r = fire_due_sla_events(*st, desk, at("2026-11-15T23:59:00Z"));
  CHECK(mails(*st, "hypercare-confirm").empty());
  CHECK(r.next_at == at("2026-11-16T00:00:00Z"));
  fire_due_sla_events(*st, desk, at("2026-11-16T00:00:05Z"));
  fire_due_sla_events(*st, desk, at("2026-11-16T08:00:00Z"));
  auto out = mails(*st, "hypercare-confirm");
  REQUIRE(out.size() == 1);
  CHECK(out[0].recipients == std::vector<std::string>{"eva@example.com"});
  CHECK(subject_of(out[0]) == "Hypercare of Kund AB ends 2026-11-22: confirm or extend");
  CHECK(has(body_of(out[0]), "servicedesk org hypercare extend 'Kund AB' --weeks N --agent YOU"));
  CHECK(has(body_of(out[0]), "servicedesk org hypercare end 'Kund AB' --agent YOU"));
  {
    auto tx = st->begin(store::Store::Mode::write);
    extend_hypercare(*tx, "Kund AB", 1, "eva@example.com", at("2026-11-17T10:00:00Z"));
    tx->commit();
  }
  // The new end is 29 November: asked again on 23 November.
  fire_due_sla_events(*st, desk, at("2026-11-22T12:00:00Z"));
  CHECK(mails(*st, "hypercare-confirm").size() == 1);
  fire_due_sla_events(*st, desk, at("2026-11-23T00:00:01Z"));
  out = mails(*st, "hypercare-confirm");
  REQUIRE(out.size() == 2);
  CHECK(has(subject_of(out[1]), "ends 2026-11-29"));
  // It still ends by itself, at the end of the agreed weeks.
  fire_due_sla_events(*st, desk, at("2026-11-30T00:00:01Z"));
  auto tx = st->begin(store::Store::Mode::read);
  CHECK(tx->organisation("Kund AB")->hypercare_ended_at == at("2026-11-30T00:00:01Z"));
}

TEST_CASE("During hypercare each contact gets a weekly summary of the tickets they may see, in the organisation's "
          "language, once a week") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  Desk desk(c);
  auto st = store::open_sqlite_store({c.store.path});
  {
    auto tx = st->begin(store::Store::Mode::write);
    hypercare_org(*tx, 2);
    auto ticket = [&](const char* subject, const char* requester, const char* when) {
      auto nt = sd::test::new_ticket(subject, requester, "", at(when));
      nt.organisation = "Kund AB";
      nt.hypercare = true;
      return tx->create_ticket(nt);
    };
    ticket("Inloggningen fungerar inte", "anna@kund.se", "2026-11-03T09:00:00Z");
    ticket("Bos rapport saknas", "bo@kund.se", "2026-11-04T09:00:00Z");
    auto done = ticket("Exporten var tom", "anna@kund.se", "2026-11-04T10:00:00Z");
    set_status(*tx, done, Status::resolved, at("2026-11-05T10:00:00Z"));
    auto old = ticket("Gammalt fel", "anna@kund.se", "2026-11-02T08:00:00Z");
    set_status(*tx, old, Status::resolved, at("2026-11-09T10:00:00Z"));  // resolved in week 2
    // Another organisation's ticket, resolved that week too: never in Kund AB's summaries.
    store::Organisation other;
    other.name = "Annan AB";
    other.domains = {"annan.se"};
    tx->add_organisation(other);
    auto nt = sd::test::new_ticket("Annans hemliga fel", "olle@annan.se", "", at("2026-11-03T09:00:00Z"));
    nt.organisation = "Annan AB";
    auto theirs = tx->create_ticket(nt);
    set_status(*tx, theirs, Status::resolved, at("2026-11-04T09:00:00Z"));
    tx->commit();
  }
  auto r = fire_due_sla_events(*st, desk, at("2026-11-08T12:00:00Z"));
  CHECK(mails(*st, "hypercare-summary").empty());
  CHECK(r.next_at <= at("2026-11-09T00:00:00Z"));
  fire_due_sla_events(*st, desk, at("2026-11-09T00:00:10Z"));
  fire_due_sla_events(*st, desk, at("2026-11-09T00:05:00Z"));  // a restart, or another daemon: nothing twice
  auto out = mails(*st, "hypercare-summary");
  REQUIRE(out.size() == 2);
  auto to = [&](const std::string& who) {
    auto it = std::find_if(out.begin(), out.end(), [&](auto& o) { return o.recipients.front() == who; });
    REQUIRE(it != out.end());
    return body_of(*it);
  };
  auto anna = to("anna@kund.se"), bo = to("bo@kund.se");
  CHECK(subject_of(out[0]) == "Hypercare: Kund ABs ärenden, 2026-11-02 till 2026-11-08");
  CHECK(has(anna, "Hej Anna,"));
  CHECK(has(anna, "2026-11-02 till 2026-11-08"));
  CHECK(has(anna, "SD-1  Inloggningen fungerar inte"));
  CHECK(has(anna, "SD-2  Bos rapport saknas"));
  CHECK(has(anna, "SD-3  Exporten var tom (löst)"));
  CHECK_FALSE(has(anna, "SD-4  Gammalt fel (l"));  // resolved the next week
  CHECK_FALSE(has(anna, "Annans"));
  // Bo sees his own tickets only: not a word of Anna's.
  CHECK(has(bo, "SD-2  Bos rapport saknas"));
  CHECK_FALSE(has(bo, "Inloggningen"));
  CHECK_FALSE(has(bo, "Exporten"));
  CHECK_FALSE(has(bo, "Annans"));
  // Week 2 ends with the period: its summary comes, then the period ends by itself.
  fire_due_sla_events(*st, desk, at("2026-11-16T00:00:10Z"));
  out = mails(*st, "hypercare-summary");
  CHECK(out.size() == 4);
  CHECK(std::any_of(out.begin(), out.end(), [](auto& o) { return has(body_of(o), "SD-4  Gammalt fel (löst)"); }));
  auto r2 = fire_due_sla_events(*st, desk, at("2026-11-23T00:00:10Z"));
  CHECK(mails(*st, "hypercare-summary").size() == 4);
  CHECK_FALSE(r2.next_at);
  auto tx = st->begin(store::Store::Mode::read);
  auto kinds = kinds_of(tx->keep_informed().org_events("Kund AB"));
  CHECK(std::count(kinds.begin(), kinds.end(), "hypercare-summary") == 2);
  CHECK(std::count(kinds.begin(), kinds.end(), "hypercare-confirmation-asked") == 1);
}
