// tests/report/test_report_time.cpp: time spent per organisation against the included allowance.
#include "tests/report/report_fixture.h"

using namespace sd;
using namespace sd::test;

TEST_CASE("The time report sets time spent against the allowance and keeps incidents apart") {
  ReportDesk desk;
  auto j = desk.json("time");
  auto& kund = row_where(j, "organisation", "Kund AB");
  CHECK(kund.at("sla") == "standard");
  CHECK(kund.at("included_minutes") == 15.0);
  CHECK(kund.at("spent_minutes") == 22.0);     // 10 + 12 on SD-6; October and December left out
  CHECK(kund.at("over_minutes") == 7.0);
  CHECK(kund.at("incident_minutes") == 35.0);  // SD-5 and SD-7: not against the allowance
  CHECK(kund.at("total_minutes") == 57.0);
  CHECK(kund.at("tickets") == 3);
  CHECK(kund.at("entries") == 4);

  auto& acme = row_where(j, "organisation", kAcme);
  CHECK(acme.at("sla") == "gold");
  CHECK(acme.at("included_minutes") == 60.0);
  CHECK(acme.at("spent_minutes") == 45.0);
  CHECK(acme.at("over_minutes") == 0.0);
}

TEST_CASE("The time report lists organisations without time and senders of no organisation") {
  ReportDesk desk;
  auto j = desk.json("time");
  auto& tomma = row_where(j, "organisation", "Tomma AB");
  CHECK(tomma.at("included_minutes") == 15.0);
  CHECK(tomma.at("spent_minutes") == 0.0);
  CHECK(tomma.at("over_minutes") == 0.0);
  auto& none = row_where(j, "organisation", "(none)");
  CHECK(none.at("spent_minutes") == 20.0);
  CHECK(none.at("included_minutes").is_null());
  CHECK(none.at("over_minutes").is_null());
  auto& all = row_where(j, "organisation", "all");
  CHECK(all.at("included_minutes") == 90.0);
  CHECK(all.at("spent_minutes") == 87.0);
  CHECK(all.at("over_minutes") == 7.0);
  CHECK(all.at("incident_minutes") == 35.0);
  CHECK(all.at("total_minutes") == 122.0);
  CHECK(all.at("tickets") == 5);
  CHECK(all.at("entries") == 6);
  std::vector<std::string> order;
  for (const auto& r : j.at("rows")) order.push_back(r.at("organisation"));
  CHECK(order == std::vector<std::string>{kAcme, "Kund AB", "Tomma AB", "(none)", "all"});
}

TEST_CASE("The time report for one organisation shows that organisation only") {
  ReportDesk desk;
  auto j = desk.json("time", "2026-11", "Kund AB");
  REQUIRE(j.at("rows").size() == 2);
  CHECK(j.at("rows")[0].at("organisation") == "Kund AB");
  CHECK(j.at("rows")[1].at("spent_minutes") == 22.0);
}

TEST_CASE("An organisation without an SLA of its own gets the default SLA's allowance") {
  ReportDesk desk;
  desk.config.slas.at("standard").included_minutes_per_month = 20;
  auto j = desk.json("time");
  CHECK(row_where(j, "organisation", "Kund AB").at("included_minutes") == 20.0);
  CHECK(row_where(j, "organisation", "Kund AB").at("over_minutes") == 2.0);
  CHECK(row_where(j, "organisation", kAcme).at("included_minutes") == 60.0);
}

TEST_CASE("Time of October is October's") {
  ReportDesk desk;
  auto j = desk.json("time", "2026-10");
  CHECK(row_where(j, "organisation", "Kund AB").at("spent_minutes") == 100.0);
  CHECK(row_where(j, "organisation", "Kund AB").at("over_minutes") == 85.0);
}
