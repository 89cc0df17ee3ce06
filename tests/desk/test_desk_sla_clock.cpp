#include <catch2/catch.hpp>

#include "desk/sla_clock.h"
#include "desk/ticket_change.h"
#include "tests/support/desk_config.h"
#include "tests/support/new_ticket.h"
#include "tests/support/tempdir.h"

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
  REQUIRE(r.deadlines.size() == 2);
  CHECK(r.deadlines[0].kind == "warning");
  CHECK(r.deadlines[0].at == at("2026-11-23T08:15:00+01:00"));  // 45 business minutes
  CHECK(r.deadlines[1].kind == "breach");
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

TEST_CASE("A first response in time is met and leaves nothing to fire") {
  auto c = builtin_config();
  SlaClock clock(c);
  auto t = ticket(at("2026-11-23T09:00:00+01:00"), "highest");
  t.first_response_at = at("2026-11-23T09:20:00+01:00");
  auto r = clock.evaluate(t, {}, at("2026-11-23T15:00:00+01:00"));
  CHECK(r.state == "met");
  CHECK(r.deadlines.empty());
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
  CHECK_FALSE(r.next_at);
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
