// reports/incident_report.cpp: see incident_report.h.
#include "reports/incident_report.h"
#include "reports/report.h"

#include "api/json.h"
#include "core/text.h"
#include "desk/desk.h"
#include "desk/incidents.h"
#include "desk/ingest.h"
#include "store/incidents.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace sd {
namespace {

constexpr store::Time kSixMonths = 183 * 86400;

struct Entry {
  store::Time at = 0;
  std::string what, detail, actor;
};
struct SlaHours {
  std::string sla;
  double hours = 0;
};
struct Breach {
  std::string ticket, target, organisation;
  store::Time due = 0, fired_at = 0;
};
struct Recurring {
  std::string organisation, kind, value;  // kind: "alert key" or "category"
  std::int64_t tickets = 0;
};
struct LinkedRow {
  std::string ticket, subject, organisation, requester, status, how;
  store::Time linked_at = 0;
  std::optional<store::Time> unlinked_at;
};

struct IncidentReport {
  std::string ticket, title, status, manager, declared_by, root_cause, follow_up, resolution;
  store::Time declared_at = 0;
  std::optional<store::Time> resolved_at;
  store::Time ended = 0;  // resolved_at, or now
  std::vector<std::string> alert_keys;
  std::vector<Entry> timeline;
  std::vector<LinkedRow> linked;
  std::vector<std::string> organisations;
  std::vector<std::pair<std::string, std::string>> contacts;  // address, organisation
  std::vector<SlaHours> business;
  std::vector<Breach> breaches;
  std::vector<Recurring> recurring;
};

IncidentReport build(store::Transaction& tx, const Desk& desk, std::int64_t id, store::Time now) {
  const auto& c = desk.config();
  auto inc = tx.incidents().incident(id);
  auto t = tx.ticket(id);
  if (!inc || !t) throw std::invalid_argument(fmt::format("{} is no major incident", ticket_ref(c, id)));
  IncidentReport r;
  r.ticket = ticket_ref(c, id);
  r.title = inc->title;
  r.status = t->status;
  r.manager = t->assignee;
  r.declared_by = inc->declared_by;
  r.declared_at = inc->declared_at;
  r.root_cause = inc->root_cause;
  r.follow_up = inc->follow_up;
  r.resolution = t->resolution;
  r.resolved_at = t->resolved_at;
  r.ended = t->resolved_at.value_or(now);
  r.alert_keys = inc->alert_keys;

  // The timeline, from the incident's own events.
  static const std::map<std::string, std::string> kWhat = {
      {"incident-declared", "declared"},   {"incident-linked", "linked report"},  {"incident-unlinked", "unlinked"},
      {"incident-broadcast", "broadcast"}, {"incident-rca", "root cause"},      {"incident-followup", "follow-up"},
      {"incident-key", "alert key"},       {"incident-orgs", "organisations"},  {"incident-resolved", "customers told"}};
  for (const auto& e : tx.events(id)) {
    if (auto w = kWhat.find(e.kind); w != kWhat.end()) r.timeline.push_back({e.at, w->second, e.detail, e.actor});
    else if (e.kind == "status" && e.detail.find("-> resolved") != std::string::npos)
      r.timeline.push_back({e.at, "resolved", r.resolution, e.actor});
    else if (e.kind == "status" || e.kind == "reopened") r.timeline.push_back({e.at, "status", e.detail, e.actor});
  }

  std::set<std::string> slas;
  if (!t->sla.empty()) slas.insert(t->sla);
  for (const auto& l : tx.incidents().links(id, true)) {
    auto lt = tx.ticket(l.ticket_id);
    if (!lt) continue;
    r.linked.push_back({ticket_ref(c, lt->id), lt->subject, lt->organisation, lt->requester, lt->status, l.how, l.linked_at,
                        l.unlinked_at});
    if (l.unlinked_at) continue;
    if (!lt->sla.empty()) slas.insert(lt->sla);
    for (const auto& e : tx.sla_events(lt->id))
      if (e.kind == "breach") r.breaches.push_back({ticket_ref(c, lt->id), e.target, lt->organisation, e.due, e.fired_at});
  }
  r.organisations = affected_organisations(tx, id);
  for (const auto& o : r.organisations)
    if (auto org = tx.organisation(o)) slas.insert(!org->sla.empty() && c.slas.count(org->sla) ? org->sla : c.sla.default_sla);
  for (const auto& p : incident_audience(tx, desk, id)) r.contacts.push_back({p.address, p.organisation});

  for (const auto& s : slas) {
    if (!c.slas.count(s)) continue;
    const auto& cal = desk.clock().calendar(s);
    auto secs = cal.between(sla::Instant(std::chrono::seconds(r.declared_at)), sla::Instant(std::chrono::seconds(r.ended)));
    r.business.push_back({s, static_cast<double>(secs.count()) / 3600.0});
  }

  // Recurring problems: what the affected organisations reported twice or more in the six months before it ended.
  std::map<std::tuple<std::string, std::string, std::string>, std::int64_t> counts;
  std::set<std::string> orgs(r.organisations.begin(), r.organisations.end());
  for (const auto& x : tx.tickets_created(r.ended - kSixMonths, r.ended + 1)) {
    if (x.organisation.empty() || !orgs.count(x.organisation) || tx.incidents().incident(x.id)) continue;
    if (!x.alert_key.empty()) ++counts[{x.organisation, "alert key", x.alert_key}];
    if (!x.category.empty()) ++counts[{x.organisation, "category", x.category}];
  }
  for (const auto& [k, n] : counts)
    if (n >= 2) r.recurring.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), n});
  return r;
}

std::string duration_words(store::Time s) {
  if (s < 0) s = 0;
  return fmt::format("{}h {:02}m", s / 3600, (s % 3600) / 60);
}

std::string when(store::Time t) { return rfc3339_utc(t); }

void render_text(std::ostream& out, const IncidentReport& r) {
  auto p = [](const std::string& s) { return printable(s); };
  out << fmt::format("Major incident {}: {}\n", r.ticket, p(r.title));
  out << fmt::format("Status: {}   Manager: {}   Declared by: {}\n", r.status, p(r.manager), p(r.declared_by));
  out << fmt::format("Declared: {}   Resolved: {}\n", when(r.declared_at), r.resolved_at ? when(*r.resolved_at) : "not yet");
  out << fmt::format("Duration: {} wall-clock{}\n", duration_words(r.ended - r.declared_at), r.resolved_at ? "" : " (so far)");
  for (const auto& b : r.business) out << fmt::format("  {:.2f} business hours on SLA {}\n", b.hours, p(b.sla));
  if (!r.alert_keys.empty()) {
    out << "Alert keys:";
    for (const auto& k : r.alert_keys) out << " " << p(k);
    out << "\n";
  }
  out << "\nTimeline\n";
  for (const auto& e : r.timeline)
    out << fmt::format("  {}  {:<15} {}  ({})\n", when(e.at), e.what, p(utf8_prefix(e.detail, 200)), p(e.actor));
  out << "\nLinked reports\n";
  if (r.linked.empty()) out << "  none\n";
  for (const auto& l : r.linked)
    out << fmt::format("  {}  {}  {}  {}  linked {} ({}){}\n", l.ticket, p(l.organisation.empty() ? "(no organisation)" : l.organisation),
                       p(l.requester), l.status, when(l.linked_at), l.how,
                       l.unlinked_at ? "  unlinked " + when(*l.unlinked_at) : "");
  out << "\nAffected organisations\n";
  if (r.organisations.empty()) out << "  none\n";
  for (const auto& o : r.organisations) out << "  " << p(o) << "\n";
  out << "\nContacts informed\n";
  if (r.contacts.empty()) out << "  none\n";
  for (const auto& [a, o] : r.contacts) out << fmt::format("  {}  {}\n", p(a), p(o));
  out << "\nSLA breaches of linked tickets\n";
  if (r.breaches.empty()) out << "  none\n";
  for (const auto& b : r.breaches)
    out << fmt::format("  {}  {}  {}  due {}  fired {}\n", b.ticket, p(b.organisation), b.target, when(b.due), when(b.fired_at));
  out << "\nRoot cause\n  " << (r.root_cause.empty() ? "not recorded (#rca TEXT)" : p(r.root_cause)) << "\n";
  out << "Follow-up\n  " << (r.follow_up.empty() ? "not recorded (#followup TEXT)" : p(r.follow_up)) << "\n";
  out << "\nRecurring problems (6 months, per affected organisation)\n";
  if (r.recurring.empty()) out << "  none\n";
  for (const auto& x : r.recurring)
    out << fmt::format("  {}  {} {}: {} tickets\n", p(x.organisation), x.kind, p(x.value), x.tickets);
}

nlohmann::json to_json(const IncidentReport& r) {
  auto opt = [](const std::optional<store::Time>& t) { return t ? nlohmann::json(rfc3339_utc(*t)) : nlohmann::json(); };
  nlohmann::json j = {{"report", "incident"},
                      {"ticket", r.ticket},
                      {"title", r.title},
                      {"status", r.status},
                      {"manager", r.manager},
                      {"declared_by", r.declared_by},
                      {"declared_at", rfc3339_utc(r.declared_at)},
                      {"resolved_at", opt(r.resolved_at)},
                      {"duration_seconds", r.ended - r.declared_at},
                      {"alert_keys", r.alert_keys},
                      {"organisations", r.organisations},
                      {"root_cause", r.root_cause},
                      {"follow_up", r.follow_up},
                      {"resolution", r.resolution}};
  j["business_hours"] = nlohmann::json::array();
  for (const auto& b : r.business) j["business_hours"].push_back({{"sla", b.sla}, {"hours", b.hours}});
  j["timeline"] = nlohmann::json::array();
  for (const auto& e : r.timeline)
    j["timeline"].push_back({{"at", rfc3339_utc(e.at)}, {"what", e.what}, {"detail", e.detail}, {"actor", e.actor}});
  j["linked"] = nlohmann::json::array();
  for (const auto& l : r.linked)
    j["linked"].push_back({{"ticket", l.ticket}, {"subject", l.subject}, {"organisation", l.organisation},
                           {"requester", l.requester}, {"status", l.status}, {"how", l.how},
                           {"linked_at", rfc3339_utc(l.linked_at)}, {"unlinked_at", opt(l.unlinked_at)}});
  j["contacts"] = nlohmann::json::array();
  for (const auto& [a, o] : r.contacts) j["contacts"].push_back({{"address", a}, {"organisation", o}});
  j["sla_breaches"] = nlohmann::json::array();
  for (const auto& b : r.breaches)
    j["sla_breaches"].push_back({{"ticket", b.ticket}, {"organisation", b.organisation}, {"target", b.target},
                                 {"due", rfc3339_utc(b.due)}, {"fired_at", rfc3339_utc(b.fired_at)}});
  j["recurring"] = nlohmann::json::array();
  for (const auto& x : r.recurring)
    j["recurring"].push_back({{"organisation", x.organisation}, {"kind", x.kind}, {"value", x.value}, {"tickets", x.tickets}});
  return j;
}

std::string html(const std::string& s) { return html_text(s); }  // reports/report.h

void render_html(std::ostream& out, const IncidentReport& r) {
  out << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Major incident " << html(r.ticket) << "</title>"
      << "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
         "padding:2px 6px;text-align:left}</style></head><body>\n";
  out << "<h1>Major incident " << html(r.ticket) << ": " << html(r.title) << "</h1>\n";
  out << "<p>Status " << html(r.status) << ", manager " << html(r.manager) << ", declared " << when(r.declared_at)
      << " by " << html(r.declared_by) << ", resolved " << (r.resolved_at ? when(*r.resolved_at) : "not yet") << ".</p>\n";
  out << "<p>Duration " << duration_words(r.ended - r.declared_at) << " wall-clock";
  for (const auto& b : r.business) out << fmt::format("; {:.2f} business hours on SLA ", b.hours) << html(b.sla);
  out << ".</p>\n";
  auto table = [&](const std::string& title, const std::vector<std::string>& head,
                   const std::vector<std::vector<std::string>>& rows) {
    out << "<h2>" << html(title) << "</h2>\n";
    if (rows.empty()) {
      out << "<p>none</p>\n";
      return;
    }
    out << "<table><tr>";
    for (const auto& h : head) out << "<th>" << html(h) << "</th>";
    out << "</tr>\n";
    for (const auto& row : rows) {
      out << "<tr>";
      for (const auto& v : row) out << "<td>" << html(v) << "</td>";
      out << "</tr>\n";
    }
    out << "</table>\n";
  };
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : r.timeline) rows.push_back({when(e.at), e.what, e.detail, e.actor});
  table("Timeline", {"At", "What", "Detail", "By"}, rows);
  rows.clear();
  for (const auto& l : r.linked)
    rows.push_back({l.ticket, l.subject, l.organisation, l.requester, l.status, when(l.linked_at) + " (" + l.how + ")",
                    l.unlinked_at ? when(*l.unlinked_at) : ""});
  table("Linked reports", {"Ticket", "Subject", "Organisation", "Requester", "Status", "Linked", "Unlinked"}, rows);
  rows.clear();
  for (const auto& o : r.organisations) rows.push_back({o});
  table("Affected organisations", {"Organisation"}, rows);
  rows.clear();
  for (const auto& [a, o] : r.contacts) rows.push_back({a, o});
  table("Contacts informed", {"Address", "Organisation"}, rows);
  rows.clear();
  for (const auto& b : r.breaches) rows.push_back({b.ticket, b.organisation, b.target, when(b.due), when(b.fired_at)});
  table("SLA breaches of linked tickets", {"Ticket", "Organisation", "Target", "Due", "Fired"}, rows);
  out << "<h2>Root cause</h2>\n<p>" << (r.root_cause.empty() ? "not recorded" : html(r.root_cause)) << "</p>\n";
  out << "<h2>Follow-up</h2>\n<p>" << (r.follow_up.empty() ? "not recorded" : html(r.follow_up)) << "</p>\n";
  rows.clear();
  for (const auto& x : r.recurring) rows.push_back({x.organisation, x.kind, x.value, std::to_string(x.tickets)});
  table("Recurring problems (6 months)", {"Organisation", "Kind", "Value", "Tickets"}, rows);
  out << "</body></html>\n";
}

}  // namespace

void write_incident_report(store::Store& store, const Config& config, std::int64_t incident, const std::string& format,
                           std::ostream& out, store::Time now) {
  if (format != "text" && format != "html" && format != "json")
    throw std::invalid_argument(fmt::format("unknown format '{}' (text, html or json)", format));
  Desk desk(config, false);
  IncidentReport r;
  {
    auto tx = store.begin(store::Store::Mode::read);
    r = build(*tx, desk, incident, now);
  }
  std::ostringstream text;
  if (format == "json") text << json_text(to_json(r)) << '\n';
  else if (format == "html") render_html(text, r);
  else render_text(text, r);
  out << text.str();
}

}  // namespace sd
