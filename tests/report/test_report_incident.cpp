// tests/report/test_report_incident.cpp: one major incident's report (reports/incident_report.h)
// as a manager reads it: its timeline from the events, the linked reports with their
// organisations, the people informed, wall-clock and business duration, the linked tickets'
// SLA breaches, root cause and follow-up, the recurring problems; each format escaped.
#include <catch2/catch.hpp>

#include "desk/desk.h"
#include "desk/incidents.h"
#include "desk/ticket_change.h"
#include "reports/incident_report.h"
#include "store/incidents.h"
#include "tests/support/test_desk.h"

#include <nlohmann/json.hpp>

#include <sstream>

using namespace sd;
using sd::test::kAgent;
using sd::test::kNow;
using sd::test::TestDesk;

namespace {

// SD-1 (Anna, Acme) and SD-2 (Anna, Acme) both support; SD-3 (Bo, Beta); the incident SD-4
// declared at kNow + 100 from SD-1, SD-3 linked, SD-2 linked and unlinked, resolved two hours later.
struct ReportDesk : TestDesk {
  std::int64_t incident = 0;
  explicit ReportDesk(const std::string& title = "Inloggningen ligger nere") {
    REQUIRE(take(mail("Anna Berg <anna@acme.se>", "servicedesk@example.com", "Igen", "a2@acme.se")).ticket_id == 2);
    REQUIRE(take(mail("Bo <bo@beta.dk>", "servicedesk@example.com", "Login", "b1@beta.dk")).ticket_id == 3);
    Desk desk(c);
    auto tx = st->begin(store::Store::Mode::write);
    for (std::int64_t id : {1, 2}) {
      TicketChange ch;
      ch.category = Category::support;
      change_ticket(*tx, desk, *tx->ticket(id), ch, kAgent, kNow + 10);
    }
    IncidentDeclaration d;
    d.title = title;
    d.agent = kAgent;
    d.from = 1;
    auto id = declare_incident(*tx, desk, d, "operator:root", "cli", kNow + 100);
    REQUIRE(id);
    incident = *id;
    REQUIRE(link_to_incident(*tx, desk, 3, incident, kAgent, "mail", kNow + 200));
    REQUIRE(link_to_incident(*tx, desk, 2, incident, kAgent, "cli", kNow + 250));
    REQUIRE(unlink_from_incident(*tx, desk, 2, kAgent, kNow + 260));
    REQUIRE(broadcast_incident(*tx, desk, incident, "Vi arbetar på det.", "Eva", kAgent, kNow + 300));
    REQUIRE(record_root_cause(*tx, incident, "Ett utgånget certifikat", kAgent, kNow + 400));
    REQUIRE(record_follow_up(*tx, incident, "Bevaka certifikat", kAgent, kNow + 400));
    tx->record_sla_event({3, "first_response", "breach", kNow + 1000, kNow + 1000});
    TicketChange resolve;
    resolve.status = Status::resolved;
    resolve.text = "Certifikatet är förnyat.";
    change_ticket(*tx, desk, *tx->ticket(incident), resolve, kAgent, kNow + 100 + 7200);
    tx->commit();
  }
  std::string report(const std::string& format) {
    std::ostringstream out;
    write_incident_report(*st, c, incident, format, out, kNow + 100000);
    return out.str();
  }
};

}  // namespace

TEST_CASE("The incident report's JSON has the timeline, the linked reports, the people informed, the durations, the "
          "breaches, the root cause and the recurring problems") {
  ReportDesk d;
  auto j = nlohmann::json::parse(d.report("json"));
  CHECK(j["ticket"] == "SD-4");
  CHECK(j["title"] == "Inloggningen ligger nere");
  CHECK(j["status"] == "resolved");
  CHECK(j["duration_seconds"] == 7200);
  REQUIRE(j["business_hours"].size() >= 1);
  for (const auto& b : j["business_hours"]) {
    CHECK(b["hours"].get<double>() >= 0.0);
    CHECK(b["hours"].get<double>() <= 2.0);
  }
  std::vector<std::string> whats;
  for (const auto& e : j["timeline"]) whats.push_back(e["what"]);
  CHECK(whats.front() == "declared");
  CHECK(std::count(whats.begin(), whats.end(), "linked report") == 3);
  for (const char* w : {"unlinked", "broadcast", "root cause", "follow-up", "resolved", "customers told"})
    CHECK(std::find(whats.begin(), whats.end(), w) != whats.end());
  REQUIRE(j["linked"].size() == 3);
  CHECK(j["linked"][0]["ticket"] == "SD-1");
  CHECK(j["linked"][0]["organisation"] == "Acme");
  CHECK(j["linked"][0]["how"] == "from");
  CHECK(j["linked"][2]["ticket"] == "SD-2");
  CHECK_FALSE(j["linked"][2]["unlinked_at"].is_null());
  CHECK(j["organisations"] == nlohmann::json::array({"Acme", "Beta"}));
  std::vector<std::string> people;
  for (const auto& c : j["contacts"]) people.push_back(c["address"]);
  std::sort(people.begin(), people.end());
  CHECK(people == std::vector<std::string>{"anna@acme.se", "bo@beta.dk"});
  REQUIRE(j["sla_breaches"].size() == 1);
  CHECK(j["sla_breaches"][0]["ticket"] == "SD-3");
  CHECK(j["root_cause"] == "Ett utgånget certifikat");
  CHECK(j["follow_up"] == "Bevaka certifikat");
  CHECK(j["resolution"] == "Certifikatet är förnyat.");
  // Acme's two support tickets recur; Beta's one ticket does not.
  REQUIRE(j["recurring"].size() == 1);
  CHECK(j["recurring"][0]["organisation"] == "Acme");
  CHECK(j["recurring"][0]["kind"] == "category");
  CHECK(j["recurring"][0]["value"] == "support");
  CHECK(j["recurring"][0]["tickets"] == 2);
}

TEST_CASE("The incident report's text and HTML escape what agents and mails wrote; a ticket that is no incident is refused") {
  ReportDesk d("Login <script>alert(1)</script> \x1b[31mred");
  auto html = d.report("html");
  CHECK(html.find("<script>") == std::string::npos);
  CHECK(html.find("&lt;script&gt;") != std::string::npos);
  CHECK(html.find("Ett utgånget certifikat") != std::string::npos);
  auto text = d.report("text");
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find("Root cause\n  Ett utgånget certifikat") != std::string::npos);
  CHECK(text.find("SD-3  Beta") != std::string::npos);
  std::ostringstream out;
  CHECK_THROWS_AS(write_incident_report(*d.st, d.c, 1, "text", out, kNow), std::invalid_argument);
  CHECK_THROWS_AS(write_incident_report(*d.st, d.c, d.incident, "csv", out, kNow), std::invalid_argument);
  CHECK(out.str().empty());
}
