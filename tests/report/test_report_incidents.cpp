// tests/report/test_report_incidents.cpp: every incident of the month with its timeline.
#include "tests/report/report_fixture.h"
#include "store/incidents.h"

using namespace sd;
using namespace sd::test;

namespace {
std::vector<std::string> kinds(const nlohmann::json& incident) {
  std::vector<std::string> out;
  for (const auto& e : incident.at("timeline")) out.push_back(e.at("kind"));
  return out;
}
}  // namespace

TEST_CASE("The incidents report lists every incident created in the month") {
  ReportDesk desk;
  auto j = desk.json("incidents");
  REQUIRE(j.at("rows").size() == 2);
  CHECK(j.at("rows")[0].at("ticket") == "SD-5");
  CHECK(j.at("rows")[1].at("ticket") == "SD-7");
  auto october = desk.json("incidents", "2026-10");
  REQUIRE(october.at("rows").size() == 1);
  CHECK(october.at("rows")[0].at("ticket") == "SD-2");
}

TEST_CASE("An incident's row carries its due times and SLA state") {
  ReportDesk desk;
  auto j = desk.json("incidents");
  auto& sd5 = j.at("rows")[0];
  CHECK(sd5.at("subject") == kScriptSubject);
  CHECK(sd5.at("organisation") == "Kund AB");
  CHECK(sd5.at("priority") == "high");
  CHECK(sd5.at("created_at") == "2026-11-02T07:00:00Z");
  CHECK(sd5.at("first_response_due") == "2026-11-02T11:00:00Z");
  CHECK(sd5.at("first_response_at") == "2026-11-02T08:00:00Z");
  CHECK(sd5.at("resolution_due") == "2026-11-02T15:00:00Z");
  CHECK(sd5.at("resolved_at").is_null());
  CHECK(sd5.at("sla_state") == "breached");  // resolution overdue
  CHECK(sd5.at("first_response_hours") == 1.0);
  CHECK(sd5.at("time_spent_minutes") == 30.0);
  auto& sd7 = j.at("rows")[1];
  CHECK(sd7.at("sla_state") == "met");
  CHECK(sd7.at("resolved_at") == "2026-11-02T13:00:00Z");
  CHECK(sd7.at("resolution_due") == "2026-11-03T09:00:00Z");
  CHECK(sd7.at("resolution_hours") == 4.0);
}

TEST_CASE("An incident's timeline holds its events with first response and resolution in time order") {
  ReportDesk desk;
  auto j = desk.json("incidents");
  auto sd5 = kinds(j.at("rows")[0]);
  REQUIRE(sd5.size() >= 3);
  CHECK(sd5.front() == "created");
  CHECK(std::find(sd5.begin(), sd5.end(), "note") != sd5.end());
  CHECK(sd5.back() == "first-response");
  std::string previous;
  for (const auto& e : j.at("rows")[0].at("timeline")) {
    CHECK(e.at("at").get<std::string>() >= previous);
    previous = e.at("at");
  }
  auto& note = j.at("rows")[0].at("timeline")[static_cast<std::size_t>(
      std::find(sd5.begin(), sd5.end(), "note") - sd5.begin())];
  CHECK(note.at("actor") == "operator:lena");
  CHECK(note.at("detail") == "Restarted the <b>service</b>");
  CHECK(j.at("rows")[0].at("timeline").back().at("detail") == "met (due 2026-11-02T11:00:00Z)");
  auto sd7 = kinds(j.at("rows")[1]);
  REQUIRE(sd7.size() >= 3);
  CHECK(sd7[sd7.size() - 2] == "first-response");
  CHECK(sd7.back() == "resolved");
  CHECK(j.at("rows")[1].at("timeline").back().at("detail") == "met (due 2026-11-03T09:00:00Z)");
}

TEST_CASE("The incidents report for one organisation leaves out the others' incidents") {
  ReportDesk desk;
  CHECK(desk.json("incidents", "2026-11", "Kund AB").at("rows").size() == 2);
  CHECK(desk.json("incidents", "2026-11", kAcme).at("rows").empty());
}

TEST_CASE("A major incident's row names its report's command and, with portal.base_url, links its portal page") {
  ReportDesk desk;
  {
    auto tx = desk.write();
    store::Incident i;
    i.ticket_id = 7;
    i.title = "Dashboard down";
    i.declared_by = "operator:root";
    i.declared_at = at("2026-11-02T09:05:00Z");
    tx->incidents().declare(i);
    tx->commit();
  }
  auto rows = desk.json("incidents").at("rows");
  CHECK(rows[0].at("major_incident_report").is_null());  // SD-5: an incident, not a major one
  CHECK(rows[1].at("major_incident_report") == "servicedesk report incident SD-7");
  CHECK(rows[1].at("major_incident_report_url").is_null());  // no portal configured: no link
  CHECK(desk.report("incidents", "2026-11", "html").find("<a href") == std::string::npos);

  desk.config.portal.base_url = "https://desk.example.com/";
  rows = desk.json("incidents").at("rows");
  CHECK(rows[0].at("major_incident_report_url").is_null());
  CHECK(rows[1].at("major_incident_report_url") == "https://desk.example.com/incidents/SD-7/report");
  auto html = desk.report("incidents", "2026-11", "html");
  CHECK(html.find("<a href=\"https://desk.example.com/incidents/SD-7/report\">") != std::string::npos);
  CHECK(desk.report("incidents", "2026-11", "csv").find("https://desk.example.com/incidents/SD-7/report") !=
        std::string::npos);

  // A base_url that is no http(s) address is shown, never linked.
  desk.config.portal.base_url = "javascript:alert(1)//";
  CHECK(desk.report("incidents", "2026-11", "html").find("<a href") == std::string::npos);
}
