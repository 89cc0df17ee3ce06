// tests/report/test_report_sla.cpp: SLA compliance per priority and per organisation.
#include "desk/ticket_change.h"
#include "tests/report/report_fixture.h"

using namespace sd;
using namespace sd::test;

TEST_CASE("The SLA report counts first responses met breached and open per priority") {
  ReportDesk desk;
  auto j = desk.json("sla");
  CHECK(j.at("report") == "sla");
  CHECK(j.at("month") == "2026-11");
  CHECK(j.at("org").is_null());

  auto& high = row(j, "priority", "high");  // SD-5 (1 h) and SD-7 (0.5 h), both met
  CHECK(high.at("tickets") == 2);
  CHECK(high.at("first_response_met") == 2);
  CHECK(high.at("first_response_breached") == 0);
  CHECK(high.at("first_response_open") == 0);
  CHECK(high.at("first_response_compliance_pct") == 100.0);
  CHECK(high.at("first_response_median_hours") == 0.75);
  CHECK(high.at("first_response_p90_hours") == 1.0);

  auto& medium = row(j, "priority", "medium");  // SD-6 late, SD-8 unanswered and overdue, SD-9 pending
  CHECK(medium.at("tickets") == 3);
  CHECK(medium.at("first_response_met") == 0);
  CHECK(medium.at("first_response_breached") == 2);
  CHECK(medium.at("first_response_open") == 1);
  CHECK(medium.at("first_response_compliance_pct") == 0.0);
  CHECK(medium.at("first_response_median_hours") == 9.0);

  auto& lowest = row(j, "priority", "lowest");  // SD-10, due on Friday
  CHECK(lowest.at("tickets") == 1);
  CHECK(lowest.at("first_response_open") == 1);
  CHECK(lowest.at("first_response_compliance_pct").is_null());
  CHECK(lowest.at("first_response_median_hours").is_null());

  for (const char* empty : {"highest", "low"}) {
    auto& r = row(j, "priority", empty);
    CHECK(r.at("tickets") == 0);
    CHECK(r.at("first_response_median_hours").is_null());
  }
}

TEST_CASE("The SLA report counts resolution only where the SLA has a resolution target") {
  ReportDesk desk;
  auto j = desk.json("sla");
  auto& high = row(j, "priority", "high");
  CHECK(high.at("resolution_targets") == 2);
  CHECK(high.at("resolution_met") == 1);       // SD-7 resolved after 4 of 8 business hours
  CHECK(high.at("resolution_breached") == 1);  // SD-5 unresolved, due Monday 15:00Z
  CHECK(high.at("resolution_open") == 0);
  CHECK(high.at("resolution_compliance_pct") == 50.0);
  CHECK(high.at("resolution_median_hours") == 4.0);
  auto& medium = row(j, "priority", "medium");
  CHECK(medium.at("resolution_targets") == 0);
  CHECK(medium.at("resolution_met") == 0);
  CHECK(medium.at("resolution_breached") == 0);
  CHECK(medium.at("resolution_compliance_pct").is_null());
}

TEST_CASE("The SLA report gives each organisation and the total a row of their own") {
  ReportDesk desk;
  auto j = desk.json("sla");
  auto& kund = row(j, "organisation", "Kund AB");
  CHECK(kund.at("tickets") == 3);
  CHECK(kund.at("first_response_met") == 2);
  CHECK(kund.at("first_response_breached") == 1);
  CHECK(kund.at("first_response_median_hours") == 1.0);
  CHECK(kund.at("first_response_p90_hours") == 9.0);
  auto& acme = row(j, "organisation", kAcme);
  CHECK(acme.at("tickets") == 2);
  CHECK(acme.at("first_response_breached") == 1);
  CHECK(acme.at("first_response_open") == 1);
  auto& none = row(j, "organisation", "(none)");
  CHECK(none.at("tickets") == 1);
  CHECK(none.at("first_response_open") == 1);
  auto& total = row(j, "total", "all");
  CHECK(total.at("tickets") == 6);
  CHECK(total.at("first_response_met") == 2);
  CHECK(total.at("first_response_breached") == 2);
  CHECK(total.at("first_response_open") == 2);
  CHECK(total.at("first_response_compliance_pct") == 50.0);
  CHECK(total.at("first_response_median_hours") == 1.0);
  CHECK(total.at("first_response_p90_hours") == 9.0);
  // 5 priorities, 3 organisations with tickets (Tomma AB has none), the total.
  CHECK(j.at("rows").size() == 9);
}

TEST_CASE("The SLA report for one organisation counts its tickets only") {
  ReportDesk desk;
  auto j = desk.json("sla", "2026-11", "Kund AB");
  CHECK(j.at("org") == "Kund AB");
  CHECK(row(j, "total", "all").at("tickets") == 3);
  CHECK(row(j, "priority", "medium").at("tickets") == 1);
  std::size_t orgs = 0;
  for (const auto& r : j.at("rows")) orgs += r.at("group") == "organisation";
  CHECK(orgs == 1);
  // An organisation without tickets in the month still gets its row.
  auto empty = desk.json("sla", "2026-11", "Tomma AB");
  CHECK(row(empty, "organisation", "Tomma AB").at("tickets") == 0);
}

TEST_CASE("A pending ticket stays open however late the report is made") {
  ReportDesk desk;
  desk.now = at("2026-11-30T12:00:00Z");
  auto j = desk.json("sla");
  CHECK(row(j, "organisation", "(none)").at("first_response_open") == 1);       // SD-9, still pending
  CHECK(row(j, "priority", "lowest").at("first_response_breached") == 1);       // SD-10 is overdue now
  CHECK(row(j, "total", "all").at("first_response_open") == 1);
}

TEST_CASE("A response exactly at its due time is met and one a second later is breached") {
  ReportDesk desk(false);
  // Medium (8 business hours) from Monday 07:00Z is due Monday 15:00Z (16:00 in Copenhagen).
  auto on_time = desk.mail("Anna <anna@kund.se>", "On time", at("2026-11-02T07:00:00Z"));
  auto late = desk.mail("Anna <anna@kund.se>", "Late", at("2026-11-02T07:00:00Z"));
  {
    auto tx = desk.write();
    tx->set_first_response(on_time, at("2026-11-02T15:00:00Z"));
    tx->set_first_response(late, at("2026-11-02T15:00:01Z"));
    tx->commit();
  }
  auto total = row(desk.json("sla"), "total", "all");
  CHECK(total.at("first_response_met") == 1);
  CHECK(total.at("first_response_breached") == 1);
}

TEST_CASE("First response hours count business time only and leave out the time a ticket was pending") {
  ReportDesk desk(false);
  // Friday 6 Nov 13:00Z (14:00 local) answered Monday 9 Nov 08:00Z: 2 h on Friday, 1 h on Monday.
  auto weekend = desk.mail("Anna <anna@kund.se>", "Over the weekend", at("2026-11-06T13:00:00Z"));
  // Tuesday 10 Nov 07:00Z, pending 08:00-09:00Z, answered 10:00Z: 2 business hours.
  auto paused = desk.mail("Anna <anna@kund.se>", "Waited for us", at("2026-11-10T07:00:00Z"));
  {
    auto tx = desk.write();
    tx->set_priority(weekend, "high", at("2026-11-06T13:00:00Z"));
    tx->set_first_response(weekend, at("2026-11-09T08:00:00Z"));
    set_status(*tx, paused, Status::pending, at("2026-11-10T08:00:00Z"));
    set_status(*tx, paused, Status::open, at("2026-11-10T09:00:00Z"));
    tx->set_first_response(paused, at("2026-11-10T10:00:00Z"));
    tx->commit();
  }
  desk.now = at("2026-11-30T12:00:00Z");
  auto j = desk.json("sla");
  CHECK(row(j, "priority", "high").at("first_response_median_hours") == 3.0);
  CHECK(row(j, "priority", "high").at("first_response_met") == 1);  // 4 h target
  CHECK(row(j, "priority", "medium").at("first_response_median_hours") == 2.0);
  CHECK(row(j, "total", "all").at("first_response_median_hours") == 2.5);
}
