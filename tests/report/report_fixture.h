// tests/report/report_fixture.h: a service desk with two months of tickets, filled through
// the real ingest path and changed through the store's Transaction API as agents would.
//
// The month of the reports is November 2026 (October for the trend). Europe/Copenhagen is
// UTC+1 then, so the "dk" calendar's business hours are 07:00-15:00 UTC, Monday to Friday.
// 2 November 2026 is a Monday. Tickets (ids in ingest order):
//   SD-1  2026-10-15 anna (Kund AB)  support
//   SD-2  2026-10-16 anna (Kund AB)  incident
//   SD-3  2026-10-20 bo   (Acme)     support
//   SD-4  2026-10-31T23:59:59Z eve (no organisation) feature: the last second of October
//   SD-5  Mon 2 Nov 07:00Z anna incident, high: first response 08:00 (1 h, met), not resolved
//   SD-6  Mon 2 Nov 08:00Z anna support, medium: first response Tue 09:00 (9 h, breached)
//   SD-7  Mon 2 Nov 09:00Z anna incident, high: first response 09:30 (0.5 h), resolved 13:00 (4 h)
//   SD-8  Tue 3 Nov 07:00Z bo order, medium: no response (breached by now)
//   SD-9  Wed 4 Nov 08:00Z eve uncategorised, medium: pending since 08:30 (open, paused)
//   SD-10 Wed 4 Nov 10:00Z bo feature, lowest: no response, not yet due
//   SD-11 2026-12-01T00:00:00Z anna support: the first second of December
// The standard SLA gets a resolution target of 8 business hours for priority high; Acme runs
// on "gold" (the standard targets, 60 minutes included a month). "now" is Wed 4 Nov 12:00Z.
#pragma once

#include <catch2/catch.hpp>

#include "desk/ingest.h"
#include "desk/ticket_change.h"
#include "reports/report.h"
#include "sla/calendar.h"
#include "tests/support/tempdir.h"

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace sd::test {

inline store::Time at(const char* rfc3339) {
  auto t = sla::parse_rfc3339(rfc3339);
  REQUIRE(t);
  return t->time_since_epoch().count();
}

// Named fields rather than aggregate braces: the store's structs grow.
inline void note(store::Transaction& tx, std::int64_t ticket, store::Time when, const std::string& actor,
                 const std::string& detail) {
  store::Event e;
  e.ticket_id = ticket;
  e.at = when;
  e.actor = actor;
  e.kind = "note";
  e.detail = detail;
  tx.add_event(e);
}

inline constexpr const char* kAcme = "Acme <Tools> & Co";
inline constexpr const char* kScriptSubject = "Export fails <script>alert(\"x\")</script>, again";

class ReportDesk {
 public:
  // seed = false: organisations and contacts only, no tickets.
  explicit ReportDesk(bool seed = true) {
    config = builtin_config();
    config.service.name = "Example Servicedesk";
    config.service.address = "servicedesk@example.com";
    config.store.path = dir.file("sd.db");
    auto& standard = config.slas.at("standard");
    standard.resolution[static_cast<std::size_t>(sla::Priority::high)] = sla::Seconds(8 * 3600);
    Config::Sla gold = standard;
    gold.included_minutes_per_month = 60;
    config.slas["gold"] = gold;
    store = store::open_sqlite_store({config.store.path});
    {
      auto tx = store->begin(store::Store::Mode::write);
      auto organisation = [&](const std::string& name, const std::string& domain, const std::string& sla) {
        store::Organisation o;
        o.name = name;
        o.domains = {domain};
        o.sla = sla;
        tx->add_organisation(o);
      };
      organisation("Kund AB", "kund.se", "");
      organisation(kAcme, "acme.example", "gold");
      organisation("Tomma AB", "tomma.example", "");
      auto contact = [&](const std::string& email, const std::string& name, const std::string& org) {
        store::Contact c;
        c.email = email;
        c.name = name;
        c.organisation = org;
        tx->add_contact(c);
      };
      contact("anna@kund.se", "Anna Berg", "Kund AB");
      contact("bo@acme.example", "Bo Ek", kAcme);
      tx->commit();
    }
    if (seed) fill();
  }

  // One new ticket from a raw mail through ingest(); returns its id.
  std::int64_t mail(const std::string& from, const std::string& subject, store::Time when) {
    std::string raw = "From: " + from + "\r\nTo: servicedesk@example.com\r\nSubject: " + subject +
                      "\r\nMessage-ID: <m" + std::to_string(++count_) + "@test>\r\n" +
                      "Date: Mon, 2 Nov 2026 08:00:00 +0100\r\n\r\nHello\r\n";
    auto r = ingest(*store, config, raw, std::nullopt, when);
    REQUIRE(r.kind == IngestResult::Kind::created);
    return r.ticket_id;
  }

  std::unique_ptr<store::Transaction> write() { return store->begin(store::Store::Mode::write); }

  std::string report(const std::string& kind, const std::string& month, const std::string& format,
                     const std::string& org = "") {
    std::ostringstream out;
    write_report(*store, config, {kind, month, org, format}, out, now);
    return out.str();
  }

  nlohmann::json json(const std::string& kind, const std::string& month = "2026-11", const std::string& org = "") {
    return nlohmann::json::parse(report(kind, month, "json", org));
  }

  TempDir dir;
  Config config;
  std::unique_ptr<store::Store> store;
  store::Time now = at("2026-11-04T12:00:00Z");

 private:
  void fill() {
    const std::string anna = "Anna Berg <anna@kund.se>", bo = "Bo Ek <bo@acme.example>", eve = "eve@gmail.example";
    std::int64_t o1 = mail(anna, "VPN question", at("2026-10-15T09:00:00Z"));
    std::int64_t o2 = mail(anna, "Server down", at("2026-10-16T09:00:00Z"));
    std::int64_t o3 = mail(bo, "Invoice layout", at("2026-10-20T09:00:00Z"));
    std::int64_t o4 = mail(eve, "Dark mode please", at("2026-10-31T23:59:59Z"));
    std::int64_t t5 = mail(anna, kScriptSubject, at("2026-11-02T07:00:00Z"));
    std::int64_t t6 = mail(anna, "How do I add a user?", at("2026-11-02T08:00:00Z"));
    std::int64_t t7 = mail(anna, "=SUM(A1) dashboard down", at("2026-11-02T09:00:00Z"));
    std::int64_t t8 = mail(bo, "New report template", at("2026-11-03T07:00:00Z"));
    std::int64_t t9 = mail(eve, "Broken \"export\", please", at("2026-11-04T08:00:00Z"));
    std::int64_t t10 = mail(bo, "Wish: keyboard shortcuts", at("2026-11-04T10:00:00Z"));
    std::int64_t d11 = mail(anna, "Happy new year", at("2026-12-01T00:00:00Z"));
    REQUIRE(d11 == 11);

    auto tx = write();
    tx->set_category(o1, "support", at("2026-10-15T10:00:00Z"));
    tx->set_category(o2, "incident", at("2026-10-16T10:00:00Z"));
    tx->set_category(o3, "support", at("2026-10-20T10:00:00Z"));
    tx->set_category(o4, "feature", at("2026-11-02T08:00:00Z"));

    tx->set_category(t5, "incident", at("2026-11-02T07:05:00Z"));
    tx->set_priority(t5, "high", at("2026-11-02T07:05:00Z"));
    note(*tx, t5, at("2026-11-02T07:45:00Z"), "operator:lena", "Restarted the <b>service</b>");
    tx->set_first_response(t5, at("2026-11-02T08:00:00Z"));

    tx->set_category(t6, "support", at("2026-11-02T08:05:00Z"));
    tx->set_first_response(t6, at("2026-11-03T09:00:00Z"));

    tx->set_category(t7, "incident", at("2026-11-02T09:05:00Z"));
    tx->set_priority(t7, "high", at("2026-11-02T09:05:00Z"));
    tx->set_first_response(t7, at("2026-11-02T09:30:00Z"));
    set_status(*tx, t7, Status::resolved, at("2026-11-02T13:00:00Z"));

    tx->set_category(t8, "order", at("2026-11-03T07:05:00Z"));
    set_status(*tx, t9, Status::pending, at("2026-11-04T08:30:00Z"));
    tx->set_category(t10, "feature", at("2026-11-04T10:05:00Z"));
    tx->set_priority(t10, "lowest", at("2026-11-04T10:05:00Z"));
    tx->set_category(d11, "support", at("2026-12-01T00:05:00Z"));

    auto minutes = [&](std::int64_t ticket, const char* when, std::int64_t m) {
      store::TimeEntry e;
      e.ticket_id = ticket;
      e.at = at(when);
      e.agent = "lena@example.com";
      e.seconds = m * 60;
      tx->add_time(e);
    };
    minutes(t5, "2026-11-02T08:00:00Z", 30);  // incident
    minutes(t7, "2026-11-02T13:00:00Z", 5);   // incident
    minutes(t6, "2026-11-03T09:00:00Z", 10);
    minutes(t6, "2026-11-04T09:00:00Z", 12);
    minutes(t8, "2026-11-03T10:00:00Z", 45);
    minutes(t9, "2026-11-04T09:00:00Z", 20);
    minutes(o1, "2026-10-15T10:00:00Z", 100);  // October
    minutes(t6, "2026-12-01T00:00:00Z", 50);   // December
    tx->commit();
  }

  int count_ = 0;
};

// The row of a json report with this group and name (sla and categories reports).
inline const nlohmann::json& row(const nlohmann::json& report, const std::string& group, const std::string& name) {
  for (const auto& r : report.at("rows"))
    if (r.at("group") == group && r.at("name") == name) return r;
  FAIL("no row " << group << " " << name);
  throw std::logic_error("unreachable");
}

inline const nlohmann::json& row_where(const nlohmann::json& report, const std::string& field, const std::string& value) {
  for (const auto& r : report.at("rows"))
    if (r.at(field) == value) return r;
  FAIL("no row with " << field << " = " << value);
  throw std::logic_error("unreachable");
}

// A strict RFC 4180 reader: CRLF line ends, quotes only around whole fields, "" inside them.
inline std::vector<std::vector<std::string>> parse_csv(const std::string& s) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, was_quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char ch = s[i];
    if (quoted) {
      if (ch == '"' && i + 1 < s.size() && s[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        field += ch;
      }
      continue;
    }
    if (ch == '"') {
      REQUIRE(field.empty());
      REQUIRE_FALSE(was_quoted);
      quoted = was_quoted = true;
    } else if (ch == ',') {
      row.push_back(field);
      field.clear();
      was_quoted = false;
    } else if (ch == '\r') {
      REQUIRE(i + 1 < s.size());
      REQUIRE(s[i + 1] == '\n');
      ++i;
      row.push_back(field);
      rows.push_back(row);
      field.clear();
      row.clear();
      was_quoted = false;
    } else {
      REQUIRE(ch != '\n');  // a bare LF outside quotes is no line end in RFC 4180
      REQUIRE_FALSE(was_quoted);
      field += ch;
    }
  }
  REQUIRE_FALSE(quoted);
  REQUIRE(row.empty());  // the last line ends with CRLF too
  REQUIRE(field.empty());
  for (const auto& r : rows) REQUIRE(r.size() == rows.front().size());
  return rows;
}

}  // namespace sd::test
