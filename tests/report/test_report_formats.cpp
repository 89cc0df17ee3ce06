// tests/report/test_report_formats.cpp: the same report as text, csv, json and html; escaping;
// requests that are wrong.
#include "tests/report/report_fixture.h"

#include <iostream>
#include <set>
#include <stdexcept>

using namespace sd;
using namespace sd::test;

namespace {
const std::vector<std::string> kKinds = {"sla", "categories", "time", "incidents"};

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("Every report as csv has a header row and one line per json row") {
  ReportDesk desk;
  for (const auto& kind : kKinds) {
    INFO(kind);
    auto csv = parse_csv(desk.report(kind, "2026-11", "csv"));
    auto j = desk.json(kind);
    std::size_t expected = 0;
    for (const auto& r : j.at("rows")) expected += kind == "incidents" ? r.at("timeline").size() : 1;
    REQUIRE(csv.size() == expected + 1);
    // The header is the json field names, in the same order.
    std::vector<std::string> keys;
    for (const auto& [k, v] : j.at("rows")[0].items())
      if (k != "timeline") keys.push_back(k);
    for (const auto& k : keys) CHECK(std::find(csv[0].begin(), csv[0].end(), k) != csv[0].end());
  }
  auto sla = parse_csv(desk.report("sla", "2026-11", "csv"));
  CHECK(sla[0][0] == "group");
  CHECK(sla[0][2] == "tickets");
  CHECK(sla[0][3] == "first_response_met");
  CHECK(sla.back()[0] == "total");
  CHECK(sla.back()[2] == "6");
}

TEST_CASE("Csv keeps commas and quotes of a subject and defuses a formula") {
  ReportDesk desk;
  auto csv = parse_csv(desk.report("incidents", "2026-11", "csv"));
  auto col = static_cast<std::size_t>(std::find(csv[0].begin(), csv[0].end(), "subject") - csv[0].begin());
  REQUIRE(col < csv[0].size());
  CHECK(csv[1][col] == kScriptSubject);
  std::set<std::string> subjects;
  for (std::size_t i = 1; i < csv.size(); ++i) subjects.insert(csv[i][col]);
  CHECK(subjects.count("'=SUM(A1) dashboard down") == 1);
  CHECK(std::find(csv[0].begin(), csv[0].end(), "timeline_kind") != csv[0].end());
  auto org = parse_csv(desk.report("time", "2026-11", "csv"));
  CHECK(org[1][0] == kAcme);
}

TEST_CASE("Html is one self-contained page with an svg chart and escapes what came from mail") {
  ReportDesk desk;
  for (const auto& kind : kKinds) {
    INFO(kind);
    auto page = desk.report(kind, "2026-11", "html");
    CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK(has(page, "<svg"));
    CHECK(has(page, "</html>"));
    CHECK_FALSE(has(page, "<script"));
    CHECK_FALSE(has(page, "src="));
    CHECK_FALSE(has(page, "href="));
    CHECK_FALSE(has(page, "http"));
    CHECK_FALSE(has(page, "@import"));
  }
  auto incidents = desk.report("incidents", "2026-11", "html");
  CHECK(has(incidents, "Export fails &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;, again"));
  CHECK(has(incidents, "Restarted the &lt;b&gt;service&lt;/b&gt;"));
  CHECK_FALSE(has(incidents, "<b>service"));
  auto sla = desk.report("sla", "2026-11", "html");
  CHECK(has(sla, "Acme &lt;Tools&gt; &amp; Co"));
  CHECK_FALSE(has(sla, "Acme <Tools>"));
}

TEST_CASE("Text mentions each organisation in aligned columns") {
  ReportDesk desk;
  auto sla = desk.report("sla", "2026-11", "text");
  for (const char* org : {"Kund AB", kAcme, "(none)"}) CHECK(has(sla, org));
  auto time = desk.report("time", "2026-11", "text");
  for (const char* org : {"Kund AB", kAcme, "Tomma AB", "(none)"}) CHECK(has(time, org));
  auto cats = desk.report("categories", "2026-11", "text");
  for (const char* org : {"Kund AB", kAcme, "(none)"}) CHECK(has(cats, org));
  // The header line and the lines under it are equally long where the last column is a number.
  std::istringstream in(time);
  std::string line;
  std::vector<std::size_t> widths;
  while (std::getline(in, line))
    if (has(line, "Entries") || has(line, "Kund AB") || has(line, "Tomma AB")) widths.push_back(line.size());
  REQUIRE(widths.size() == 3);
  CHECK(widths[0] == widths[1]);
  CHECK(widths[1] == widths[2]);
}

TEST_CASE("Text output drops control characters a subject could drive a terminal with") {
  ReportDesk desk(false);
  auto id = desk.mail("Anna <anna@kund.se>", "Alarm", at("2026-11-02T07:00:00Z"));
  {
    auto tx = desk.write();
    tx->set_category(id, "incident", at("2026-11-02T07:00:00Z"));
    note(*tx, id, at("2026-11-02T07:10:00Z"), "operator:x", "red \x1b[31malert\x1b[0m");
    tx->commit();
  }
  auto text = desk.report("incidents", "2026-11", "text");
  CHECK_FALSE(has(text, "\x1b"));
  CHECK(has(text, "red  [31malert [0m"));
}

TEST_CASE("Json replaces bytes that are no UTF-8 instead of failing the report") {
  ReportDesk desk(false);
  {
    auto tx = desk.write();
    store::NewTicket t;
    t.subject = "Fel i \xE5tkomst";  // Latin-1, not UTF-8
    t.requester = "anna@kund.se";
    t.created_at = at("2026-11-02T07:00:00Z");
    t.sla = "standard";
    t.category = "incident";
    t.organisation = "Kund AB";
    tx->create_ticket(t);
    tx->commit();
  }
  auto j = desk.json("incidents");
  REQUIRE(j.at("rows").size() == 1);
  CHECK(j.at("rows")[0].at("subject") == "Fel i \xEF\xBF\xBDtkomst");
  CHECK(j.at("rows")[0].at("timeline")[0].at("kind") == "created");  // no event: the report adds it
}

TEST_CASE("A month without tickets gives empty reports, not errors") {
  ReportDesk desk;
  CHECK(desk.json("incidents", "2027-03").at("rows").empty());
  CHECK(has(desk.report("incidents", "2027-03", "text"), "Nothing in this month."));
  CHECK(parse_csv(desk.report("incidents", "2027-03", "csv")).size() == 1);
  CHECK(row(desk.json("sla", "2027-03"), "total", "all").at("tickets") == 0);
  CHECK(has(desk.report("sla", "2027-03", "html"), "<svg"));
}

TEST_CASE("A wrong kind month format or organisation is refused before anything is written") {
  ReportDesk desk(false);
  struct Case {
    ReportRequest request;
    std::string says;
  };
  std::vector<Case> cases = {
      {{"billing", "2026-11", "", "text"}, "billing"},
      {{"sla", "2026-13", "", "text"}, "2026-13"},
      {{"sla", "2026-00", "", "text"}, "2026-00"},
      {{"sla", "2026-1", "", "text"}, "YYYY-MM"},
      {{"sla", "November", "", "text"}, "YYYY-MM"},
      {{"sla", "", "", "text"}, "YYYY-MM"},
      {{"sla", "2026-11-01", "", "text"}, "YYYY-MM"},
      {{"sla", "2026-11", "", "pdf"}, "pdf"},
      {{"sla", "2026-11", "Nobody Ltd", "text"}, "Nobody Ltd"},
  };
  for (const auto& c : cases) {
    INFO(c.request.kind << " " << c.request.month << " " << c.request.org << " " << c.request.format);
    std::ostringstream out;
    try {
      write_report(*desk.store, desk.config, c.request, out, desk.now);
      FAIL("no exception");
    } catch (const std::invalid_argument& e) {
      CHECK(has(e.what(), c.says));
    }
    CHECK(out.str().empty());
  }
}

TEST_CASE("An empty format means text") {
  ReportDesk desk;
  CHECK(desk.report("sla", "2026-11", "") == desk.report("sla", "2026-11", "text"));
}

TEST_CASE("Json names the report its month and the organisation filter") {
  ReportDesk desk;
  auto j = desk.json("time", "2026-11", "Kund AB");
  CHECK(j.at("report") == "time");
  CHECK(j.at("month") == "2026-11");
  CHECK(j.at("from") == "2026-11-01T00:00:00Z");
  CHECK(j.at("to") == "2026-12-01T00:00:00Z");
  CHECK(j.at("org") == "Kund AB");
  CHECK(j.at("generated_at") == "2026-11-04T12:00:00Z");
  CHECK(j.at("rows").is_array());
}

// Hidden (run with `test_report [.print]`): every report of the fixture in every format on
// standard output, for a look at the layout and for docs/reports.md.
TEST_CASE("Print every report of the fixture", "[.print]") {
  ReportDesk desk;
  for (const auto& kind : kKinds)
    for (const char* format : {"text", "csv", "json", "html"})
      std::cout << "==== " << kind << " " << format << "\n" << desk.report(kind, "2026-11", format) << "\n";
  SUCCEED();
}
