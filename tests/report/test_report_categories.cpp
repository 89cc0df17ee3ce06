// tests/report/test_report_categories.cpp: tickets per category and organisation, with the trend.
#include "tests/report/report_fixture.h"

using namespace sd;
using namespace sd::test;

namespace {
void check_trend(const nlohmann::json& r, int count, int previous) {
  INFO(r.dump());
  CHECK(r.at("count") == count);
  CHECK(r.at("previous_count") == previous);
  CHECK(r.at("difference") == count - previous);
}
}  // namespace

TEST_CASE("The categories report counts tickets per category against the previous month") {
  ReportDesk desk;
  auto j = desk.json("categories");
  CHECK(j.at("month") == "2026-11");
  CHECK(j.at("previous_month") == "2026-10");
  check_trend(row(j, "category", "incident"), 2, 1);
  CHECK(row(j, "category", "incident").at("change_pct") == 100.0);
  check_trend(row(j, "category", "support"), 1, 2);
  CHECK(row(j, "category", "support").at("change_pct") == -50.0);
  check_trend(row(j, "category", "order"), 1, 0);
  CHECK(row(j, "category", "order").at("change_pct").is_null());
  check_trend(row(j, "category", "feature"), 1, 1);  // SD-4 in the last second of October
  CHECK(row(j, "category", "feature").at("change_pct") == 0.0);
  check_trend(row(j, "category", "uncategorised"), 1, 0);
  check_trend(row(j, "total", "all"), 6, 4);  // SD-11 in the first second of December is not counted
  CHECK(row(j, "total", "all").at("change_pct") == 50.0);
}

TEST_CASE("The categories report lists the seed's categories first and uncategorised last") {
  ReportDesk desk;
  auto j = desk.json("categories");
  std::vector<std::string> names;
  for (const auto& r : j.at("rows"))
    if (r.at("group") == "category") names.push_back(r.at("name"));
  CHECK(names == std::vector<std::string>{"incident", "support", "order", "feature", "uncategorised"});
}

TEST_CASE("The categories report counts tickets per organisation with the trend") {
  ReportDesk desk;
  auto j = desk.json("categories");
  check_trend(row(j, "organisation", "Kund AB"), 3, 2);
  CHECK(row(j, "organisation", "Kund AB").at("change_pct") == 50.0);
  check_trend(row(j, "organisation", kAcme), 2, 1);
  check_trend(row(j, "organisation", "(none)"), 1, 1);
  for (const auto& r : j.at("rows")) CHECK(r.at("name") != "Tomma AB");  // no tickets in either month
}

TEST_CASE("The categories report for one organisation counts its tickets in both months") {
  ReportDesk desk;
  auto j = desk.json("categories", "2026-11", kAcme);
  check_trend(row(j, "category", "order"), 1, 0);
  check_trend(row(j, "category", "support"), 0, 1);
  check_trend(row(j, "category", "feature"), 1, 0);
  check_trend(row(j, "category", "incident"), 0, 0);
  check_trend(row(j, "total", "all"), 2, 1);
}

TEST_CASE("A category outside the seed's four gets a row of its own") {
  ReportDesk desk;
  {
    auto tx = desk.write();
    tx->set_category(10, "billing", at("2026-11-05T08:00:00Z"));
    tx->commit();
  }
  auto j = desk.json("categories");
  check_trend(row(j, "category", "billing"), 1, 0);
  check_trend(row(j, "category", "feature"), 0, 1);
}

TEST_CASE("The trend of January is against December of the year before") {
  ReportDesk desk;
  auto j = desk.json("categories", "2027-01");
  CHECK(j.at("previous_month") == "2026-12");
  check_trend(row(j, "category", "support"), 0, 1);  // SD-11
}
