#include <catch2/catch.hpp>

#include "desk/agent_mail.h"
#include "desk/desk.h"
#include "desk/ingest.h"
#include "desk/sla_clock.h"
#include "desk/ticket_change.h"
#include "tests/support/desk_config.h"
#include "tests/support/new_ticket.h"
#include "tests/support/tempdir.h"

#include <sys/stat.h>

#include <algorithm>

using namespace sd;

namespace {
store::Time at(const char* rfc3339) { return sla::parse_rfc3339(rfc3339).value().time_since_epoch().count(); }

store::Ticket ticket(store::Time created, const char* priority) {
  store::Ticket t;
  t.id = 1;
  t.status = "new";
  t.priority = priority;
  t.sla = "standard";
  t.created_at = created;
  t.requester = "kunde@kund.dk";
  return t;
}
}  // namespace

TEST_CASE("A highest ticket opened late on Friday is due on Monday morning in the dk calendar") {
  auto c = builtin_config();
  SlaClock clock(c);
  auto t = ticket(at("2026-11-20T15:30:00+01:00"), "highest");
  auto r = clock.evaluate(t, {}, at("2026-11-20T15:31:00+01:00"));
  REQUIRE(r.first_response_due);
  CHECK(*r.first_response_due == at("2026-11-23T08:30:00+01:00"));
  CHECK_FALSE(r.resolution_due);
  CHECK(r.state == "ok");
  REQUIRE(r.deadlines.size() == 3);
  CHECK(r.deadlines[0].kind == "warning");
  CHECK(r.deadlines[0].at == at("2026-11-23T08:15:00+01:00"));  // 45 business minutes
  CHECK(r.deadlines[1].kind == "breach");
  // The built-in reminder to update the customer: 4 business hours of silence for highest.
  CHECK(r.deadlines[2].kind == "reminder");
  CHECK(r.deadlines[2].at == at("2026-11-23T11:30:00+01:00"));
  CHECK(clock.evaluate(t, {}, at("2026-11-23T08:20:00+01:00")).state == "warning");
  CHECK(clock.evaluate(t, {}, at("2026-11-23T08:31:00+01:00")).state == "breached");
}

TEST_CASE("A priority change recomputes the target from the ticket's start") {
  auto c = builtin_config();
  SlaClock clock(c);
  auto t = ticket(at("2026-11-23T09:00:00+01:00"), "medium");
  CHECK(*clock.evaluate(t, {}, t.created_at).first_response_due == at("2026-11-24T09:00:00+01:00"));
  t.priority = "high";
  CHECK(*clock.evaluate(t, {}, t.created_at).first_response_due == at("2026-11-23T13:00:00+01:00"));
}

TEST_CASE("Pending stops the clock and the wait pushes the due out") {
  auto c = builtin_config();
  SlaClock clock(c);
  auto t = ticket(at("2026-11-23T09:00:00+01:00"), "highest");
  t.status = "pending";
  std::vector<store::PausePeriod> pauses = {{at("2026-11-23T09:30:00+01:00"), std::nullopt}};
  auto r = clock.evaluate(t, pauses, at("2026-11-23T12:00:00+01:00"));
  CHECK(r.state == "paused");
  CHECK_FALSE(r.first_response_due);
  CHECK(r.deadlines.empty());
  t.status = "open";
  pauses[0].to = at("2026-11-23T11:00:00+01:00");
  r = clock.evaluate(t, pauses, at("2026-11-23T11:00:00+01:00"));
  CHECK(*r.first_response_due == at("2026-11-23T11:30:00+01:00"));
}

TEST_CASE("A first response in time is met and leaves only the reminder to keep the customer informed") {
  auto c = builtin_config();
  SlaClock clock(c);
  auto t = ticket(at("2026-11-23T09:00:00+01:00"), "highest");
  t.first_response_at = at("2026-11-23T09:20:00+01:00");
  auto r = clock.evaluate(t, {}, at("2026-11-23T15:00:00+01:00"), t.first_response_at);
  CHECK(r.state == "met");
  // No warning or breach is left; the built-in update_hours (4 for highest) count from the answer.
  REQUIRE(r.deadlines.size() == 1);
  CHECK(r.deadlines[0].kind == "reminder");
  CHECK(r.deadlines[0].at == at("2026-11-23T13:20:00+01:00"));
  CHECK_FALSE(next_sla_due(r.deadlines, {}));
  c.slas["standard"].update = {};  // update_hours off: nothing at all
  SlaClock quiet(c);
  CHECK(quiet.evaluate(t, {}, at("2026-11-23T15:00:00+01:00"), t.first_response_at).deadlines.empty());
}

TEST_CASE("Warnings and breaches fire once each and a late start fires only the breach") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  SlaClock clock(c);
  auto st = store::open_sqlite_store({c.store.path});
  {
    auto tx = st->begin(store::Store::Mode::write);
    tx->create_ticket(sd::test::new_ticket("Down", "k@kund.dk", "", at("2026-11-23T09:00:00+01:00"), "highest"));
    tx->create_ticket(sd::test::new_ticket("Also down", "k@kund.dk", "", at("2026-11-23T09:00:00+01:00"), "highest"));
    tx->commit();
  }
  auto r = fire_due_sla_events(*st, c, clock, at("2026-11-23T09:10:00+01:00"));
  CHECK(r.fired == 0);
  CHECK(r.next_at == at("2026-11-23T09:45:00+01:00"));
  r = fire_due_sla_events(*st, c, clock, at("2026-11-23T09:46:00+01:00"));
  CHECK(r.fired == 2);  // both tickets warned
  CHECK(r.mail_queued);
  CHECK(r.next_at == at("2026-11-23T10:00:00+01:00"));
  CHECK(fire_due_sla_events(*st, c, clock, at("2026-11-23T09:47:00+01:00")).fired == 0);
  r = fire_due_sla_events(*st, c, clock, at("2026-11-23T10:01:00+01:00"));
  CHECK(r.fired == 2);
  // What still comes: the built-in reminder to update the customer (update_hours, 4 business
  // hours for highest), which is no warning or breach.
  CHECK(r.next_at == at("2026-11-23T13:00:00+01:00"));
  auto tx = st->begin(store::Store::Mode::read);
  auto events = tx->sla_events(1);
  REQUIRE(events.size() == 2);
  CHECK(tx->due_outbox(at("2026-11-24T00:00:00+01:00"), 100).size() == 4);
}

TEST_CASE("What fell due while the daemon was down fires once at start without a stale warning") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  SlaClock clock(c);
  auto st = store::open_sqlite_store({c.store.path});
  {
    auto tx = st->begin(store::Store::Mode::write);
    tx->create_ticket(sd::test::new_ticket("Down", "k@kund.dk", "", at("2026-11-23T09:00:00+01:00"), "highest"));
    tx->commit();
  }
  auto r = fire_due_sla_events(*st, c, clock, at("2026-11-23T12:00:00+01:00"));
  CHECK(r.fired == 1);
  auto tx = st->begin(store::Store::Mode::read);
  auto out = tx->due_outbox(at("2026-11-24T00:00:00+01:00"), 100);
  REQUIRE(out.size() == 1);
  CHECK(out[0].kind == "sla-breach");
  CHECK(out[0].bytes.find("Monday 23 November 2026, 10:00 CET") != std::string::npos);
}

TEST_CASE("An agent is reminded to update the customer after the configured business hours of silence") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  c.slas["standard"].update[static_cast<std::size_t>(sla::Priority::medium)] = sla::Seconds(4 * 3600);
  SlaClock clock(c);
  auto st = store::open_sqlite_store({c.store.path});
  {
    auto tx = st->begin(store::Store::Mode::write);
    auto id = tx->create_ticket(sd::test::new_ticket("Slow", "k@kund.dk", "", at("2026-11-23T09:00:00+01:00")));
    set_status(*tx, id, Status::open, at("2026-11-23T09:00:00+01:00"));
    tx->commit();
  }
  auto r = fire_due_sla_events(*st, c, clock, at("2026-11-23T12:59:00+01:00"));
  CHECK(r.fired == 0);
  r = fire_due_sla_events(*st, c, clock, at("2026-11-23T13:01:00+01:00"));
  CHECK(r.fired == 1);
  CHECK(fire_due_sla_events(*st, c, clock, at("2026-11-23T14:00:00+01:00")).fired == 0);
  auto tx = st->begin(store::Store::Mode::read);
  auto out = tx->due_outbox(at("2026-11-24T00:00:00+01:00"), 100);
  REQUIRE(out.size() == 1);
  CHECK(out[0].kind == "sla-reminder");
}

TEST_CASE("Resolved tickets close by themselves after the configured days and the customer is told") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  c.intake.auto_close_days = 7;
  SlaClock clock(c);
  auto st = store::open_sqlite_store({c.store.path});
  {
    auto tx = st->begin(store::Store::Mode::write);
    auto id = tx->create_ticket(sd::test::new_ticket("Done", "k@kund.dk", "Kunde", at("2026-11-02T09:00:00+01:00")));
    set_status(*tx, id, Status::resolved, at("2026-11-03T09:00:00+01:00"));
    tx->commit();
  }
  fire_due_sla_events(*st, c, clock, at("2026-11-09T09:00:00+01:00"));
  {
    auto tx = st->begin(store::Store::Mode::read);
    CHECK(tx->ticket(1)->status == "resolved");
  }
  auto r = fire_due_sla_events(*st, c, clock, at("2026-11-10T09:01:00+01:00"));
  CHECK(r.mail_queued);
  auto tx = st->begin(store::Store::Mode::read);
  CHECK(tx->ticket(1)->status == "closed");
  auto out = tx->due_outbox(at("2026-11-11T00:00:00+01:00"), 100);
  REQUIRE(out.size() == 1);
  CHECK(out[0].kind == "status-closed");
  CHECK(out[0].recipients == std::vector<std::string>{"k@kund.dk"});
}

TEST_CASE("A hypercare period ends by itself and the end is logged once") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  SlaClock clock(c);
  auto st = store::open_sqlite_store({c.store.path});
  {
    auto tx = st->begin(store::Store::Mode::write);
    store::Organisation o;
    o.name = "Acme";
    o.domains = {"acme.se"};
    o.hypercare_start = "2026-11-02";
    o.hypercare_weeks = 2;
    tx->add_organisation(o);
    tx->commit();
  }
  auto r = fire_due_sla_events(*st, c, clock, at("2026-11-10T12:00:00+01:00"));
  CHECK(r.next_at == at("2026-11-16T00:00:00Z"));
  fire_due_sla_events(*st, c, clock, at("2026-11-16T00:00:01Z"));
  std::optional<store::Time> ended;
  {
    auto tx = st->begin(store::Store::Mode::read);
    ended = tx->organisation("Acme")->hypercare_ended_at;
  }
  CHECK(ended == at("2026-11-16T00:00:01Z"));
  CHECK_FALSE(fire_due_sla_events(*st, c, clock, at("2026-11-17T00:00:00Z")).next_at);
  // A week before its end (9 November) the agents were asked to confirm or extend
  // (desk/keep_informed.h), once.
  {
    auto tx = st->begin(store::Store::Mode::read);
    auto asked = tx->due_outbox(at("2026-12-01T00:00:00Z"), 100);
    REQUIRE(asked.size() == 1);
    CHECK(asked[0].kind == "hypercare-confirm");
    CHECK(asked[0].recipients == std::vector<std::string>{"agents@example.com"});
  }
  auto tx = st->begin(store::Store::Mode::read);
  CHECK(tx->organisation("Acme")->hypercare_ended_at == ended);
}

TEST_CASE("A ticket resolved in time keeps its resolution due and counts as met") {
  auto c = builtin_config();
  c.slas["standard"].resolution[static_cast<std::size_t>(sla::Priority::high)] = sla::Seconds(8 * 3600);
  SlaClock clock(c);
  auto t = ticket(at("2026-11-23T09:00:00+01:00"), "high");
  t.status = "resolved";
  t.first_response_at = at("2026-11-23T09:30:00+01:00");
  t.resolved_at = at("2026-11-23T15:00:00+01:00");
  std::vector<store::PausePeriod> pauses = {{at("2026-11-23T15:00:00+01:00"), std::nullopt}};
  auto r = clock.evaluate(t, pauses, at("2026-11-25T09:00:00+01:00"));
  REQUIRE(r.resolution_due);
  CHECK(*r.resolution_due == at("2026-11-24T09:00:00+01:00"));
  CHECK(r.state == "met");
}

TEST_CASE("A hypercare ticket that becomes an incident runs on the hypercare SLA") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  SlaClock clock(c);
  auto st = store::open_sqlite_store({c.store.path});
  auto tx = st->begin(store::Store::Mode::write);
  auto nt = sd::test::new_ticket("Down", "k@acme.se", "", at("2026-11-23T09:00:00+01:00"));
  nt.hypercare = true;
  auto id = tx->create_ticket(nt);
  auto before = clock.evaluate(*tx->ticket(id), {}, nt.created_at).first_response_due;
  CHECK(before == at("2026-11-24T09:00:00+01:00"));  // medium: 8 business hours of Mon-Fri 08-16
  change_category(*tx, c, *tx->ticket(id), "incident", "eva@example.com", nt.created_at);
  auto t = *tx->ticket(id);
  CHECK(t.sla == "hypercare");
  CHECK(t.category == "incident");
  CHECK(clock.evaluate(t, {}, nt.created_at).first_response_due == at("2026-11-23T13:00:00+01:00"));  // high's 4 h
}

// --- who hears of a deadline (issue 13: "Escalations reach someone") --------------------

namespace {

constexpr const char* kSecret = "0123456789abcdef0123456789abcdef";

// The example config's [sla] and [agents] as shipped (no agents_address, no team address,
// no escalation address), a store in `dir`, tokens on.
Config example_desk(const test::TempDir& dir) {
  Config c = load_config(SD_SOURCE_DIR "/config/servicedesk.example.toml");
  c.store.path = dir.file("sd.db");
  c.store.url = "sqlite://" + c.store.path;
  c.agents.token_secret_file = dir.write("token", std::string(kSecret) + "\n");
  ::chmod(c.agents.token_secret_file.c_str(), 0600);
  c.service.templates_dir.clear();
  return c;
}

// A highest ticket of k@kund.dk opened Monday 09:00: warned at 09:45, breached at 10:00.
std::int64_t open_highest_ticket(store::Store& st, const std::vector<store::Agent>& agents,
                                 const std::string& assignee = "") {
  auto tx = st.begin(store::Store::Mode::write);
  for (const auto& a : agents) tx->add_agent(a);
  auto nt = sd::test::new_ticket("Down", "k@kund.dk", "Kund", at("2026-11-23T09:00:00+01:00"), "highest");
  nt.assignee = assignee;
  auto id = tx->create_ticket(nt);
  tx->commit();
  return id;
}

std::vector<store::OutboxItem> sla_mails(store::Store& st, const std::string& kind) {
  auto tx = st.begin(store::Store::Mode::read);
  std::vector<store::OutboxItem> out;
  for (auto& o : tx->due_outbox(at("2027-01-01T00:00:00+01:00"), 100))
    if (o.kind == kind) out.push_back(std::move(o));
  return out;
}

// The plus-address of the mail's Reply-To header (unfolded), or "" when it has none.
std::string reply_to_of(const std::string& bytes) {
  auto p = bytes.find("\r\nReply-To:");
  if (p == std::string::npos) return "";
  auto end = bytes.find("\r\n", p + 2);
  while (end != std::string::npos && end + 2 < bytes.size() && (bytes[end + 2] == ' ' || bytes[end + 2] == '\t'))
    end = bytes.find("\r\n", end + 2);
  auto header = bytes.substr(p, end - p);
  auto open = header.find('<'), close = header.find('>');
  return open == std::string::npos ? "" : header.substr(open + 1, close - open - 1);
}

const std::vector<store::Agent> kAgents = {{"eva@example.com", "Eva Ek"}, {"bo@example.com", "Bo Berg"}};

}  // namespace

TEST_CASE("Who hears an SLA deadline: the assignee, else sla.agents_address, else the team address, else every agent") {
  auto c = builtin_config();
  const auto& standard = c.slas.at("standard");
  auto emails = [](const std::vector<notify::Mailbox>& to) {
    std::vector<std::string> v;
    for (const auto& m : to) v.push_back(m.email);
    return v;
  };
  using V = std::vector<std::string>;
  CHECK(sla_recipients(c, standard, "warning", "", {}).empty());  // nobody: check-config warns
  CHECK(emails(sla_recipients(c, standard, "warning", "", kAgents)) == V{"eva@example.com", "bo@example.com"});
  CHECK(sla_recipients(c, standard, "warning", "", kAgents)[0].name == "Eva Ek");
  CHECK(emails(sla_recipients(c, standard, "breach", "", kAgents)) == V{"eva@example.com", "bo@example.com"});
  c.agents.team_address = "team@example.com";
  CHECK(emails(sla_recipients(c, standard, "warning", "", kAgents)) == V{"team@example.com"});
  c.sla.agents_address = "agents@example.com";
  CHECK(emails(sla_recipients(c, standard, "reminder", "", kAgents)) == V{"agents@example.com"});
  CHECK(emails(sla_recipients(c, standard, "warning", "bo@example.com", kAgents)) == V{"bo@example.com"});
  CHECK(sla_recipients(c, standard, "warning", "bo@example.com", kAgents)[0].name == "Bo Berg");
  // A breach goes to the escalation address when the SLA has one, assigned or not.
  CHECK(emails(sla_recipients(c, standard, "breach", "bo@example.com", kAgents)) == V{"bo@example.com"});
  auto escalated = standard;
  escalated.escalation_address = "boss@example.com";
  CHECK(emails(sla_recipients(c, escalated, "breach", "bo@example.com", kAgents)) == V{"boss@example.com"});
  CHECK(emails(sla_recipients(c, escalated, "warning", "", kAgents)) == V{"agents@example.com"});
}

TEST_CASE("With the example config an unassigned ticket's SLA warning and breach reach every agent, each with its own "
          "token in the Reply-To") {
  test::TempDir dir;
  auto c = example_desk(dir);
  Desk desk(c);
  auto st = store::open_sqlite_store({c.store.path});
  auto id = open_highest_ticket(*st, kAgents);
  auto warned_at = at("2026-11-23T09:46:00+01:00");
  CHECK(fire_due_sla_events(*st, desk, warned_at).fired == 1);
  auto warnings = sla_mails(*st, "sla-warning");
  REQUIRE(warnings.size() == 2);  // the old clock: "no address configured to tell", nothing sent
  for (const auto& w : warnings) {
    REQUIRE(w.recipients.size() == 1);
    const auto& agent = w.recipients[0];
    CAPTURE(agent);
    CHECK(reply_to_of(w.bytes) == agent_reply_address(c, kSecret, id, agent, warned_at));
  }
  std::vector<std::string> to = {warnings[0].recipients[0], warnings[1].recipients[0]};
  std::sort(to.begin(), to.end());
  CHECK(to == std::vector<std::string>{"bo@example.com", "eva@example.com"});
  CHECK(fire_due_sla_events(*st, desk, at("2026-11-23T10:01:00+01:00")).fired == 1);
  CHECK(sla_mails(*st, "sla-breach").size() == 2);
}

TEST_CASE("An agent acts on an SLA warning by answering it: #resolve through its Reply-To resolves the ticket") {
  test::TempDir dir;
  auto c = example_desk(dir);
  Desk desk(c);
  auto st = store::open_sqlite_store({c.store.path});
  auto id = open_highest_ticket(*st, kAgents);
  auto now = at("2026-11-23T09:46:00+01:00");
  fire_due_sla_events(*st, desk, now);
  auto warnings = sla_mails(*st, "sla-warning");
  auto eva = std::find_if(warnings.begin(), warnings.end(), [](auto& w) { return w.recipients[0] == "eva@example.com"; });
  REQUIRE(eva != warnings.end());
  std::string answer = "From: Eva Ek <eva@example.com>\r\nTo: " + reply_to_of(eva->bytes) +
                       "\r\nSubject: Re: [SD-1] SLA warning\r\nMessage-ID: <answer1@example.com>\r\n"
                       "In-Reply-To: <" + eva->message_id + ">\r\nDate: Mon, 23 Nov 2026 09:50:00 +0100\r\n\r\n"
                       "#resolve\r\nThe printer is back.\r\n";
  ingest(*st, desk, answer, std::nullopt, now + 240);
  auto tx = st->begin(store::Store::Mode::read);
  CHECK(tx->ticket(id)->status == "resolved");
}

TEST_CASE("An assigned ticket's warning goes to its agent alone, and a breach to the team address with the team's "
          "token when there is no escalation address") {
  test::TempDir dir;
  auto c = example_desk(dir);
  c.agents.team_address = "Team@Example.com";
  Desk desk(c);
  auto st = store::open_sqlite_store({c.store.path});
  auto id = open_highest_ticket(*st, kAgents, "bo@example.com");
  fire_due_sla_events(*st, desk, at("2026-11-23T09:46:00+01:00"));
  auto warnings = sla_mails(*st, "sla-warning");
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].recipients == std::vector<std::string>{"bo@example.com"});
  auto breached_at = at("2026-11-23T10:01:00+01:00");
  fire_due_sla_events(*st, desk, breached_at);
  auto breaches = sla_mails(*st, "sla-breach");
  REQUIRE(breaches.size() == 1);
  CHECK(breaches[0].recipients == std::vector<std::string>{"bo@example.com"});

  // Unassigned, the breach goes to the team, whose token the agent path accepts.
  auto other = open_highest_ticket(*st, {});
  fire_due_sla_events(*st, desk, breached_at + 86400 * 7);
  breaches = sla_mails(*st, "sla-breach");
  auto team = std::find_if(breaches.begin(), breaches.end(), [&](auto& b) { return b.ticket_id == other; });
  REQUIRE(team != breaches.end());
  CHECK(team->recipients == std::vector<std::string>{"Team@Example.com"});  // as configured
  // The token is the one the agent path checks: of the team address in lower case.
  CHECK(reply_to_of(team->bytes) == agent_reply_address(c, kSecret, other, "team@example.com", breached_at + 86400 * 7));
  CHECK(id != other);
}

TEST_CASE("A breach goes to the SLA's escalation address, also of an assigned ticket") {
  test::TempDir dir;
  auto c = example_desk(dir);
  c.slas.at("standard").escalation_address = "boss@example.com";
  Desk desk(c);
  auto st = store::open_sqlite_store({c.store.path});
  open_highest_ticket(*st, kAgents, "bo@example.com");
  fire_due_sla_events(*st, desk, at("2026-11-23T10:01:00+01:00"));
  auto breaches = sla_mails(*st, "sla-breach");
  REQUIRE(breaches.size() == 1);
  CHECK(breaches[0].recipients == std::vector<std::string>{"boss@example.com"});
}

// --- calendars that follow the organisation's language ---------------------------------

TEST_CASE("A Swedish organisation gets standard-se and a Danish or English one the default, unless the default fits") {
  auto c = builtin_config();
  CHECK(sla_for_language(c, "sv") == "standard-se");
  CHECK(sla_for_language(c, "da") == "standard");
  CHECK(sla_for_language(c, "en") == "standard");
  c.sla.default_sla = "standard-se";  // a Swedish desk
  CHECK(sla_for_language(c, "sv") == "standard-se");
  CHECK(sla_for_language(c, "da") == "standard");
  CHECK(sla_for_language(c, "en") == "standard-se");
}

TEST_CASE("A language fits a calendar with its country's holidays or none, and not another country's") {
  auto c = builtin_config();
  CHECK_FALSE(calendar_fits_language(c, "standard", "sv"));
  CHECK(calendar_fits_language(c, "standard-se", "sv"));
  CHECK_FALSE(calendar_fits_language(c, "hypercare-se", "da"));
  CHECK(calendar_fits_language(c, "hypercare", "da"));
  CHECK(calendar_fits_language(c, "standard", "en"));
  CHECK(calendar_fits_language(c, "standard-se", "en"));
  c.calendars["plain"] = sla::default_calendar_spec("se");
  c.calendars["plain"].holiday_rules = "";
  c.slas["plain"] = c.slas.at("standard");
  c.slas["plain"].calendar = "plain";
  CHECK(calendar_fits_language(c, "plain", "sv"));
  CHECK(calendar_fits_language(c, "plain", "da"));
}

TEST_CASE("Hypercare follows the calendar of the ticket's SLA") {
  auto c = builtin_config();
  CHECK(hypercare_sla(c, "standard") == "hypercare");
  CHECK(hypercare_sla(c, "standard-se") == "hypercare-se");
  CHECK(hypercare_sla(c, "hypercare-se") == "hypercare-se");
  CHECK(hypercare_sla(c, "no-such-sla") == "hypercare");  // the default SLA's calendar
  c.calendars["se-north"] = sla::default_calendar_spec("se");
  c.slas["gold"] = c.slas.at("standard");
  c.slas["gold"].calendar = "se-north";  // another name, Swedish holidays
  CHECK(hypercare_sla(c, "gold") == "hypercare-se");
  c.slas.erase("hypercare-se");
  CHECK(hypercare_sla(c, "standard-se") == "hypercare");
  c.slas.erase("hypercare");
  CHECK_FALSE(hypercare_sla(c, "standard-se"));
}

TEST_CASE("A Swedish hypercare ticket that becomes an incident runs on hypercare-se, in Swedish hours") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  SlaClock clock(c);
  auto st = store::open_sqlite_store({c.store.path});
  auto tx = st->begin(store::Store::Mode::write);
  auto nt = sd::test::new_ticket("Nere", "k@acme.se", "", at("2026-11-23T16:00:00+01:00"));
  nt.sla = "standard-se";
  nt.hypercare = true;
  auto id = tx->create_ticket(nt);
  change_category(*tx, c, *tx->ticket(id), "incident", "eva@example.com", nt.created_at);
  auto t = *tx->ticket(id);
  CHECK(t.sla == "hypercare-se");
  // High's 4 business hours from Monday 16:00 in Stockholm (open until 17:00): Tuesday 11:00.
  // On the Danish calendar (closed at 16:00) it would be Tuesday 12:00.
  CHECK(clock.evaluate(t, {}, nt.created_at).first_response_due == at("2026-11-24T11:00:00+01:00"));
}

TEST_CASE("A new incident of a Swedish organisation in hypercare opens on hypercare-se") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  Config::Rule rule;
  rule.name = "incidents";
  rule.category = "incident";
  c.intake.rules.push_back(rule);
  auto st = store::open_sqlite_store({c.store.path});
  {
    auto tx = st->begin(store::Store::Mode::write);
    store::Organisation o;
    o.name = "Acme AB";
    o.domains = {"acme.se"};
    o.language = "sv";
    o.sla = "standard-se";
    o.hypercare_start = "2026-11-16";
    o.hypercare_weeks = 4;
    tx->add_organisation(o);
    tx->add_contact({"anna@acme.se", "Anna", "Acme AB"});
    tx->commit();
  }
  std::string raw = "From: Anna <anna@acme.se>\r\nTo: servicedesk@example.com\r\nSubject: Allt nere\r\n"
                    "Message-ID: <h1@acme.se>\r\nDate: Mon, 23 Nov 2026 09:00:00 +0100\r\n\r\nHjälp\r\n";
  auto r = ingest(*st, c, raw, std::nullopt, at("2026-11-23T09:00:00+01:00"));
  auto tx = st->begin(store::Store::Mode::read);
  auto t = tx->ticket(r.ticket_id);
  REQUIRE(t);
  CHECK(t->hypercare);
  CHECK(t->sla == "hypercare-se");
}
