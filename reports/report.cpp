// reports/report.cpp: the managers' reports (see report.h; figures in docs/reports.md).
//
// Shape: each report is first built as a format-free Report (one table of rows, optional
// detail tables per row, bar charts, notes) from one read transaction; four renderers then
// write it as text, csv, json or html. So every report has the same columns in every
// format, and the escaping lives in one place per format.
#include "reports/report.h"

#include "api/json.h"
#include "core/text.h"
#include "core/vocabulary.h"
#include "desk/from_portal.h"
#include "desk/ingest.h"
#include "desk/sla_clock.h"
#include "sla/calendar.h"
#include "store/estimates.h"
#include "store/incidents.h"

#include <date/date.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <variant>
#include <vector>

namespace sd {

std::string html_text(const std::string& s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        // Control characters are not allowed in HTML text.
        if ((static_cast<unsigned char>(ch) < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7F) out += ' ';
        else out += ch;
    }
  }
  return out;
}

namespace {

using store::Time;

// ---------------------------------------------------------------------------------------
// The report model.

using Value = std::variant<std::monostate, std::string, std::int64_t, double>;  // monostate: no figure

struct Column {
  std::string key;    // csv header and json field name: an interface
  std::string title;  // text and html header
  bool numeric = false;
  int decimals = 0;   // for double values
  std::size_t text_width = 0;  // text format only: longer values are cut (0: never)
  int part = 0;  // text and html: 0 = in every part (the row's name), n = in part n only
  bool url = false;  // html: an http(s) value is a link to itself
};

Column text_col(std::string key, std::string title, std::size_t width = 0) {
  return {std::move(key), std::move(title), false, 0, width};
}
Column url_col(std::string key, std::string title) {
  Column c = text_col(std::move(key), std::move(title));
  c.url = true;
  return c;
}
Column int_col(std::string key, std::string title) { return {std::move(key), std::move(title), true, 0, 0}; }
Column num_col(std::string key, std::string title, int decimals) {
  return {std::move(key), std::move(title), true, decimals, 0};
}

struct Table {
  std::vector<Column> columns;
  std::vector<std::vector<Value>> rows;
  bool last_is_total = false;  // the last row sums the others (shown bold in html)
  // Text and html show a wide table as one narrower table per part (columns of part n
  // with those of part 0); csv and json keep it whole.
  std::vector<std::string> part_titles;  // of parts 1, 2, ...
};

std::vector<std::pair<std::string, Table>> parts_of(const Table& t) {
  if (t.part_titles.empty()) return {{"", t}};
  std::vector<std::pair<std::string, Table>> out;
  for (std::size_t p = 1; p <= t.part_titles.size(); ++p) {
    Table part;
    part.last_is_total = t.last_is_total;
    std::vector<std::size_t> keep;
    for (std::size_t i = 0; i < t.columns.size(); ++i)
      if (t.columns[i].part == 0 || static_cast<std::size_t>(t.columns[i].part) == p) keep.push_back(i);
    for (auto i : keep) part.columns.push_back(t.columns[i]);
    for (const auto& r : t.rows) {
      std::vector<Value> row;
      for (auto i : keep) row.push_back(r[i]);
      part.rows.push_back(std::move(row));
    }
    out.emplace_back(t.part_titles[p - 1], std::move(part));
  }
  return out;
}

// Horizontal grouped bars: one group per label, one bar per series.
struct Chart {
  std::string title;
  std::string unit;  // after each value, e.g. " min"
  int decimals = 0;
  std::vector<std::string> series, colours;
  std::vector<std::string> labels;
  std::vector<std::vector<double>> values;  // [label][series]; NaN: no such figure (no bar, "none")
};

struct Report {
  std::string kind, title, month;
  std::string org;  // empty: all
  Time from = 0, to = 0, generated_at = 0;
  Table table;
  // Incidents: each row has a detail table (its timeline), parallel to table.rows.
  std::string detail_key;
  std::vector<std::string> detail_titles;
  std::vector<Table> details;
  std::vector<Chart> charts;
  std::vector<std::string> notes;  // how the figures were computed
  nlohmann::json extra = nlohmann::json::object();  // more top-level json fields
};

// ---------------------------------------------------------------------------------------
// Months (UTC).

struct Month {
  int year = 0;
  unsigned month = 0;
  Time from = 0, to = 0;
  std::string name;  // "2026-11"
};

Time epoch_seconds(date::sys_days d) { return std::chrono::duration_cast<std::chrono::seconds>(d.time_since_epoch()).count(); }

Month month_of(int year, unsigned month) {
  Month m;
  m.year = year;
  m.month = month;
  auto first = date::year(year) / date::month(month) / 1;
  m.from = epoch_seconds(date::sys_days(first));
  m.to = epoch_seconds(date::sys_days(first + date::months(1)));
  m.name = fmt::format("{:04d}-{:02d}", year, month);
  return m;
}

// "2026-11" -> November 2026, or what is wrong with the text (a parse boundary: the caller
// decides how to refuse it).
tl::expected<Month, std::string> parse_month(const std::string& s) {
  auto digit = [&](std::size_t i) { return s[i] >= '0' && s[i] <= '9'; };
  bool shape = s.size() == 7 && s[4] == '-' && digit(0) && digit(1) && digit(2) && digit(3) && digit(5) && digit(6);
  if (!shape) return tl::make_unexpected(fmt::format("month '{}' is not of the form YYYY-MM", s));
  int year = std::stoi(s.substr(0, 4));
  auto month = static_cast<unsigned>(std::stoi(s.substr(5, 2)));
  if (month < 1 || month > 12) return tl::make_unexpected(fmt::format("month '{}': no month {:02d}", s, month));
  if (year < 1970) return tl::make_unexpected(fmt::format("month '{}' is before 1970", s));
  return month_of(year, month);
}

Month previous(const Month& m) { return m.month == 1 ? month_of(m.year - 1, 12) : month_of(m.year, m.month - 1); }

// ---------------------------------------------------------------------------------------
// Figures.

std::string org_label(const std::string& org) { return org.empty() ? "(none)" : org; }

// "(none)" sorts after the names.
bool org_less(const std::string& a, const std::string& b) {
  if (a.empty() != b.empty()) return b.empty();
  return a < b;
}

sla::Instant instant(Time t) { return sla::Instant(std::chrono::seconds(t)); }

std::vector<sla::Pause> sla_pauses(const std::vector<store::PausePeriod>& ps) {
  std::vector<sla::Pause> out;
  for (const auto& p : ps) out.push_back({instant(p.from), p.to ? std::optional(instant(*p.to)) : std::nullopt});
  return out;
}

std::size_t priority_index(const std::string& p) {
  return static_cast<std::size_t>(sla::parse_priority(p).value_or(sla::Priority::medium));
}

double round_to(double v, int decimals) {
  double f = std::pow(10.0, decimals);
  return std::round(v * f) / f;
}

// Median: the middle value, or the mean of the two middle values.
std::optional<double> median(std::vector<double> v) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// 90th percentile by nearest rank: the smallest value at or above which 90% of them lie.
std::optional<double> p90(std::vector<double> v) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  auto rank = static_cast<std::size_t>(std::ceil(0.9 * static_cast<double>(v.size())));
  return v[std::max<std::size_t>(rank, 1) - 1];
}

Value opt_value(const std::optional<double>& v, int decimals) {
  return v ? Value(round_to(*v, decimals)) : Value();
}

Value opt_time_value(const std::optional<Time>& t) { return t ? Value(rfc3339_utc(*t)) : Value(); }

Value percent(std::int64_t part, std::int64_t whole) {
  return whole > 0 ? Value(round_to(100.0 * static_cast<double>(part) / static_cast<double>(whole), 1)) : Value();
}

double minutes(std::int64_t seconds) { return round_to(static_cast<double>(seconds) / 60.0, 1); }

const Config::Sla& sla_of(const Config& c, const std::string& name) {
  auto it = c.slas.find(name);
  return it != c.slas.end() ? it->second : c.slas.at(c.sla.default_sla);
}

struct Source {
  store::Transaction& tx;
  const Config& config;
  const SlaClock& clock;
  Time now;
  std::string org;  // filter; empty: all
  bool wanted(const store::Ticket& t) const { return org.empty() || t.organisation == org; }
};

// What the reports need of one ticket's SLA: its evaluation (due times count only the
// pauses before a met target) and business hours from its start, pauses excluded.
struct TicketFacts {
  TicketFacts(const Source& src, const store::Ticket& t)
      : ticket(t),
        stored_pauses(src.tx.pauses(t.id)),
        eval(src.clock.evaluate(t, stored_pauses, src.now)),
        cal(src.clock.calendar(t.sla)),
        pauses(sla_pauses(stored_pauses)),
        priority(priority_index(t.priority)) {}

  std::optional<double> business_hours(const std::optional<Time>& at) const {
    if (!at) return std::nullopt;
    auto s = sla::elapsed_with_pauses(cal, instant(ticket.created_at), instant(*at), pauses);
    return static_cast<double>(s.count()) / 3600.0;
  }

  const store::Ticket& ticket;
  std::vector<store::PausePeriod> stored_pauses;
  TicketSla eval;
  const sla::Calendar& cal;
  std::vector<sla::Pause> pauses;
  std::size_t priority;
};

// ---- sla ----

// How a ticket stands against one target.
enum class Outcome { no_target, met, breached, open };

Outcome outcome(bool has_target, const std::optional<Time>& due, const std::optional<Time>& done, Time now) {
  if (!has_target) return Outcome::no_target;
  // A target met while its clock stood still (due unknown) was met.
  if (done) return !due || *done <= *due ? Outcome::met : Outcome::breached;
  if (due && now > *due) return Outcome::breached;
  return Outcome::open;  // not yet due, or paused
}

struct Tally {
  std::int64_t met = 0, breached = 0, open = 0, with_target = 0;
  std::vector<double> hours;  // business hours to the target's event, pauses excluded
  void add(Outcome o, std::optional<double> h) {
    if (o != Outcome::no_target) ++with_target;
    if (o == Outcome::met) ++met;
    if (o == Outcome::breached) ++breached;
    if (o == Outcome::open) ++open;
    if (h) hours.push_back(*h);
  }
};

struct SlaGroup {
  std::int64_t tickets = 0;
  Tally first_response, resolution;
};

void add_sla_row(Table& t, const std::string& group, const std::string& name, const SlaGroup& g) {
  const auto& f = g.first_response;
  const auto& r = g.resolution;
  t.rows.push_back({group, name, g.tickets, f.met, f.breached, f.open, percent(f.met, f.met + f.breached),
                    opt_value(median(f.hours), 2), opt_value(p90(f.hours), 2), r.with_target, r.met, r.breached, r.open,
                    percent(r.met, r.met + r.breached), opt_value(median(r.hours), 2), opt_value(p90(r.hours), 2)});
}

void build_sla(Report& rep, Source& src) {
  std::array<SlaGroup, 5> by_priority;
  std::map<std::string, SlaGroup, decltype(&org_less)> by_org(&org_less);
  SlaGroup total;
  if (!src.org.empty()) by_org[src.org];
  for (const auto& t : src.tx.tickets_created(rep.from, rep.to)) {
    if (!src.wanted(t)) continue;
    TicketFacts f(src, t);
    const auto& policy = src.clock.sla(t.sla);
    auto p = f.priority;
    auto fr = outcome(policy.first_response[p].has_value(), f.eval.first_response_due, t.first_response_at, src.now);
    auto res = outcome(policy.resolution[p].has_value(), f.eval.resolution_due, t.resolved_at, src.now);
    auto fr_h = f.business_hours(t.first_response_at);
    auto res_h = f.business_hours(t.resolved_at);
    for (SlaGroup* g : {&by_priority[p], &by_org[t.organisation], &total}) {
      ++g->tickets;
      g->first_response.add(fr, fr_h);
      g->resolution.add(res, res_h);
    }
  }

  auto in_part = [](Column c, int part) {
    c.part = part;
    return c;
  };
  rep.table.columns = {text_col("group", "Group"),
                       text_col("name", "Name"),
                       int_col("tickets", "Tickets"),
                       in_part(int_col("first_response_met", "Met"), 1),
                       in_part(int_col("first_response_breached", "Breached"), 1),
                       in_part(int_col("first_response_open", "Open"), 1),
                       in_part(num_col("first_response_compliance_pct", "Met %", 1), 1),
                       in_part(num_col("first_response_median_hours", "Median h", 2), 1),
                       in_part(num_col("first_response_p90_hours", "90th pct h", 2), 1),
                       in_part(int_col("resolution_targets", "With target"), 2),
                       in_part(int_col("resolution_met", "Met"), 2),
                       in_part(int_col("resolution_breached", "Breached"), 2),
                       in_part(int_col("resolution_open", "Open"), 2),
                       in_part(num_col("resolution_compliance_pct", "Met %", 1), 2),
                       in_part(num_col("resolution_median_hours", "Median h", 2), 2),
                       in_part(num_col("resolution_p90_hours", "90th pct h", 2), 2)};
  rep.table.part_titles = {"First response", "Resolution"};
  Chart by_p{"First response per priority", "", 0, {"met", "breached", "open"}, {"#2e7d32", "#c62828", "#9e9e9e"}, {}, {}};
  for (std::size_t i = 0; i < by_priority.size(); ++i) {
    std::string name(sla::to_string(static_cast<sla::Priority>(i)));
    add_sla_row(rep.table, "priority", name, by_priority[i]);
    const auto& f = by_priority[i].first_response;
    by_p.labels.push_back(name);
    by_p.values.push_back({double(f.met), double(f.breached), double(f.open)});
  }
  Chart by_o = by_p;
  by_o.title = "First response per organisation";
  by_o.labels.clear();
  by_o.values.clear();
  for (const auto& [org, g] : by_org) {
    add_sla_row(rep.table, "organisation", org_label(org), g);
    by_o.labels.push_back(org_label(org));
    by_o.values.push_back({double(g.first_response.met), double(g.first_response.breached), double(g.first_response.open)});
  }
  add_sla_row(rep.table, "total", "all", total);
  rep.table.last_is_total = true;
  rep.charts = {by_p, by_o};
  rep.notes = {
      "Tickets created in the month; priority, organisation and SLA as they stand now.",
      "Met: the first response (resolution) came at or before its due time. Breached: it came later, or has not "
      "come and the due time has passed. Open: not yet due, or the clock stands still (pending).",
      "Due times are those of the ticket's SLA on its business calendar, pushed out by the time the ticket was "
      "pending, as the daemon computes them; a target that was met is held against the pauses before it only.",
      "Median and 90th percentile (nearest rank) in business hours of the ticket's calendar from creation to the "
      "first response (resolution), without the time the ticket was pending or resolved.",
      "Resolution times are over all resolved tickets; met/breached/open only over tickets whose SLA has a "
      "resolution target for their priority (With target).",
      "Met % = met / (met + breached)."};
}

// ---- categories ----

const std::vector<std::string>& standard_categories() {
  static const std::vector<std::string> v = [] {
    std::vector<std::string> names;
    for (auto c : kCategories) names.emplace_back(to_string(c));
    return names;
  }();
  return v;
}

std::string category_label(const std::string& c) { return c.empty() ? "uncategorised" : c; }

void build_categories(Report& rep, Source& src, const Month& month) {
  Month prev = previous(month);
  std::map<std::string, std::array<std::int64_t, 2>> by_cat;
  std::map<std::string, std::array<std::int64_t, 2>, decltype(&org_less)> by_org(&org_less);
  std::array<std::int64_t, 2> total{0, 0};
  for (const auto& c : standard_categories()) by_cat[c];
  by_cat[""];
  if (!src.org.empty()) by_org[src.org];
  for (int which = 0; which < 2; ++which) {
    const Month& m = which == 0 ? month : prev;
    for (const auto& t : src.tx.tickets_created(m.from, m.to)) {
      if (!src.wanted(t)) continue;
      ++by_cat[t.category][static_cast<std::size_t>(which)];
      ++by_org[t.organisation][static_cast<std::size_t>(which)];
      ++total[static_cast<std::size_t>(which)];
    }
  }
  // The seed's categories first, then any other a rule or agent set, "uncategorised" last.
  std::vector<std::string> order = standard_categories();
  for (const auto& [c, n] : by_cat)
    if (!c.empty() && std::find(order.begin(), order.end(), c) == order.end()) order.push_back(c);
  order.push_back("");

  rep.table.columns = {text_col("group", "Group"),       text_col("name", "Name"),
                       int_col("count", rep.month),      int_col("previous_count", prev.name),
                       int_col("difference", "Change"),  num_col("change_pct", "Change %", 1)};
  auto row = [&](const std::string& group, const std::string& name, const std::array<std::int64_t, 2>& n) {
    Value pct = n[1] > 0 ? Value(round_to(100.0 * static_cast<double>(n[0] - n[1]) / static_cast<double>(n[1]), 1)) : Value();
    rep.table.rows.push_back({group, name, n[0], n[1], n[0] - n[1], pct});
  };
  Chart cat_chart{"Tickets per category", "", 0, {rep.month, prev.name}, {"#1565c0", "#90caf9"}, {}, {}};
  Chart org_chart = cat_chart;
  org_chart.title = "Tickets per organisation";
  for (const auto& c : order) {
    row("category", category_label(c), by_cat[c]);
    cat_chart.labels.push_back(category_label(c));
    cat_chart.values.push_back({double(by_cat[c][0]), double(by_cat[c][1])});
  }
  for (const auto& [o, n] : by_org) {
    row("organisation", org_label(o), n);
    org_chart.labels.push_back(org_label(o));
    org_chart.values.push_back({double(n[0]), double(n[1])});
  }
  row("total", "all", total);
  rep.table.last_is_total = true;
  rep.charts = {cat_chart, org_chart};
  rep.extra["previous_month"] = prev.name;
  rep.notes = {"Tickets created in " + rep.month + " against those created in " + prev.name +
                   "; category and organisation as they stand now.",
               "Change % is the change against the previous month; none when the previous month had no tickets.",
               "uncategorised: no category set; (none): opened by a sender of no organisation."};
}

// ---- time ----

void build_time(Report& rep, Source& src) {
  struct Spent {
    std::int64_t counted_s = 0, incident_s = 0, entries = 0;
    std::set<std::int64_t> tickets;
    // Estimates the customer approves (desk/estimates.h): those approved in the month, and the
    // time on tickets with an estimate approved before the entry (the work to invoice).
    std::int64_t approved = 0, approved_s = 0, billable_s = 0;
  };
  std::map<std::string, Spent, decltype(&org_less)> by_org(&org_less);
  std::map<std::string, std::string> sla_name;  // organisation -> its SLA
  for (const auto& o : src.tx.organisations()) {
    if (!src.org.empty() && o.name != src.org) continue;
    by_org[o.name];
    sla_name[o.name] = o.sla.empty() || !src.config.slas.count(o.sla) ? src.config.sla.default_sla : o.sla;
  }
  std::map<std::int64_t, std::optional<Time>> first_approval;  // ticket -> its first approved estimate's answer
  auto approved_at = [&](std::int64_t ticket) {
    auto it = first_approval.find(ticket);
    if (it != first_approval.end()) return it->second;
    std::optional<Time> at;
    for (const auto& e : src.tx.estimates().estimates_of(ticket))
      if (e.state == "approved" && e.answered_at && (!at || *e.answered_at < *at)) at = e.answered_at;
    return first_approval[ticket] = at;
  };
  for (const auto& e : src.tx.time_entries(rep.from, rep.to)) {
    if (!src.org.empty() && e.organisation != src.org) continue;
    auto& s = by_org[e.organisation];
    (e.category == "incident" ? s.incident_s : s.counted_s) += e.seconds;
    ++s.entries;
    s.tickets.insert(e.ticket_id);
    if (e.category != "incident" && !e.organisation.empty())
      if (auto at = approved_at(e.ticket_id); at && *at <= e.at) s.billable_s += e.seconds;
  }
  auto approved_list = nlohmann::json::array();
  for (const auto& e : src.tx.estimates().estimates_answered("approved", rep.from, rep.to)) {
    if (!src.org.empty() && e.organisation != src.org) continue;
    auto& s = by_org[e.organisation];
    ++s.approved;
    s.approved_s += e.seconds;
    approved_list.push_back({{"ticket", ticket_ref(src.config, e.ticket_id)},
                             {"organisation", e.organisation},
                             {"estimate", e.id},
                             {"minutes", minutes(e.seconds)},
                             {"text", e.text},
                             {"agent", e.agent},
                             {"approved_by", e.answered_by},
                             {"approved_at", rfc3339_utc(*e.answered_at)},
                             {"approved_via", e.answered_via}});
  }
  rep.extra["approved_estimates"] = std::move(approved_list);

  rep.table.columns = {text_col("organisation", "Organisation"),
                       text_col("sla", "SLA"),
                       num_col("included_minutes", "Included min", 1),
                       num_col("spent_minutes", "Spent min", 1),
                       num_col("over_minutes", "Over min", 1),
                       num_col("incident_minutes", "Incidents min", 1),
                       num_col("total_minutes", "Total min", 1),
                       int_col("tickets", "Tickets"),
                       int_col("entries", "Entries"),
                       int_col("approved_estimates", "Approved"),
                       num_col("approved_estimate_minutes", "Approved min", 1),
                       num_col("billable_minutes", "Billable min", 1)};
  Chart chart{"Time spent against the included allowance", " min", 1, {"spent", "included", "incidents"},
              {"#1565c0", "#9e9e9e", "#ef6c00"}, {}, {}};
  std::int64_t inc_sum = 0, counted_sum = 0, over_sum = 0, incident_sum = 0, entries_sum = 0;
  std::int64_t approved_sum = 0, approved_s_sum = 0, billable_sum = 0;
  std::set<std::int64_t> all_tickets;
  for (const auto& [org, s] : by_org) {
    // Senders of no organisation are no customer with an allowance: nothing is included or over.
    std::optional<std::int64_t> included, over;
    std::string sla;
    if (!org.empty()) {
      sla = sla_name.count(org) ? sla_name[org] : src.config.sla.default_sla;
      included = std::int64_t{sla_of(src.config, sla).included_minutes_per_month} * 60;
      over = std::max<std::int64_t>(0, s.counted_s - *included);
      inc_sum += *included;
      over_sum += *over;
    }
    counted_sum += s.counted_s;
    incident_sum += s.incident_s;
    entries_sum += s.entries;
    approved_sum += s.approved;
    approved_s_sum += s.approved_s;
    billable_sum += s.billable_s;
    all_tickets.insert(s.tickets.begin(), s.tickets.end());
    rep.table.rows.push_back({org_label(org), sla.empty() ? Value() : Value(sla),
                              included ? Value(minutes(*included)) : Value(), minutes(s.counted_s),
                              over ? Value(minutes(*over)) : Value(), minutes(s.incident_s),
                              minutes(s.counted_s + s.incident_s), std::int64_t(s.tickets.size()), s.entries,
                              s.approved, minutes(s.approved_s), minutes(s.billable_s)});
    chart.labels.push_back(org_label(org));
    chart.values.push_back({minutes(s.counted_s), included ? minutes(*included) : std::nan(""), minutes(s.incident_s)});
  }
  rep.table.rows.push_back({std::string("all"), Value(), minutes(inc_sum), minutes(counted_sum), minutes(over_sum),
                            minutes(incident_sum), minutes(counted_sum + incident_sum),
                            std::int64_t(all_tickets.size()), entries_sum, approved_sum, minutes(approved_s_sum),
                            minutes(billable_sum)});
  rep.table.last_is_total = true;
  rep.charts = {chart};
  rep.notes = {
      "Time entries recorded in the month, by the organisation and category of their ticket as they stand now.",
      "Spent: time on tickets that are not incidents; it counts against the allowance included in the "
      "organisation's SLA (included_minutes_per_month; the default SLA when the organisation names none).",
      "Over = spent - included, when positive: work beyond the allowance, billed after the customer approves an "
      "estimate.",
      "Incidents (category incident) are shown apart and not counted against the allowance: incidents in standard "
      "software are not limited.",
      "(none): tickets of senders of no organisation; no allowance applies. The row 'all' sums the rows.",
      "Approved: estimates the customer approved in the month (by mail or on the portal), with their estimated "
      "minutes; json lists each under approved_estimates.",
      "Billable: time in the month on the organisation's tickets that are not incidents, recorded after an estimate "
      "of that ticket was approved: the work to invoice."};
}

// ---- incidents ----

void build_incidents(Report& rep, Source& src) {
  rep.table.columns = {text_col("ticket", "Ticket"),
                       text_col("subject", "Subject", 48),
                       text_col("organisation", "Organisation"),
                       text_col("requester", "Requester"),
                       text_col("priority", "Priority"),
                       text_col("status", "Status"),
                       text_col("sla_name", "SLA"),
                       text_col("sla_state", "SLA state"),
                       text_col("created_at", "Created"),
                       text_col("first_response_due", "First response due"),
                       text_col("first_response_at", "First response"),
                       text_col("resolution_due", "Resolution due"),
                       text_col("resolved_at", "Resolved"),
                       num_col("first_response_hours", "First response business h", 2),
                       num_col("resolution_hours", "Resolution business h", 2),
                       num_col("time_spent_minutes", "Time spent min", 1),
                       // A major incident (desk/incidents.h): the command of its own report,
                       // and its page on the portal when portal.base_url is set.
                       text_col("major_incident_report", "Major incident report"),
                       url_col("major_incident_report_url", "Major incident report on the portal")};
  rep.detail_key = "timeline";
  Chart chart{"Incidents per priority", "", 0, {"incidents"}, {"#c62828"}, {}, {}};
  std::array<double, 5> per_priority{};
  for (const auto& t : src.tx.tickets_created(rep.from, rep.to)) {
    if (!src.wanted(t) || t.category != "incident") continue;
    TicketFacts f(src, t);
    const auto& eval = f.eval;
    auto p = f.priority;
    auto fr_due = eval.first_response_due;
    auto res_due = eval.resolution_due;
    auto business_hours = [&](const std::optional<Time>& at) -> Value {
      auto h = f.business_hours(at);
      return h ? Value(round_to(*h, 2)) : Value{};
    };
    std::string ref = ticket_ref(src.config, t.id);
    bool major = src.tx.incidents().incident(t.id).has_value();
    std::string report_url = major ? portal_incident_report_link(src.config, t.id) : "";
    ++per_priority[p];
    rep.table.rows.push_back({ref, t.subject, org_label(t.organisation), t.requester, t.priority, t.status, t.sla,
                              eval.state, rfc3339_utc(t.created_at), opt_time_value(fr_due),
                              opt_time_value(t.first_response_at), opt_time_value(res_due),
                              opt_time_value(t.resolved_at), business_hours(t.first_response_at),
                              business_hours(t.resolved_at), minutes(t.time_spent_s),
                              major ? Value("servicedesk report incident " + ref) : Value(),
                              major && !report_url.empty() ? Value(report_url) : Value()});

    struct Entry {
      Time at;
      std::string actor, kind, detail;
    };
    std::vector<Entry> line;
    bool has_created = false;
    for (const auto& e : src.tx.events(t.id)) {
      has_created = has_created || e.kind == "created";
      line.push_back({e.at, e.actor, e.kind, e.detail});
    }
    if (!has_created) line.insert(line.begin(), {t.created_at, t.requester, "created", ""});
    auto against = [](Time at, const std::optional<Time>& due) {
      return due ? fmt::format("{} (due {})", at <= *due ? "met" : "breached", rfc3339_utc(*due)) : std::string();
    };
    if (t.first_response_at)
      line.push_back({*t.first_response_at, "system", "first-response", against(*t.first_response_at, fr_due)});
    if (t.resolved_at) line.push_back({*t.resolved_at, "system", "resolved", against(*t.resolved_at, res_due)});
    std::stable_sort(line.begin(), line.end(), [](const Entry& a, const Entry& b) { return a.at < b.at; });
    Table detail;
    detail.columns = {text_col("at", "At"), text_col("actor", "Actor"), text_col("kind", "What"),
                      text_col("detail", "Detail", 72)};
    for (const auto& e : line) detail.rows.push_back({rfc3339_utc(e.at), e.actor, e.kind, e.detail});
    rep.details.push_back(std::move(detail));
    rep.detail_titles.push_back(ref + ": " + t.subject + " (SLA " + eval.state + ")");
  }
  for (std::size_t i = 0; i < per_priority.size(); ++i) {
    chart.labels.emplace_back(sla::to_string(static_cast<sla::Priority>(i)));
    chart.values.push_back({per_priority[i]});
  }
  rep.charts = {chart};
  rep.notes = {"Every ticket of category incident created in the month, with its events in time order.",
               "first-response and resolved mark those moments and whether they met their due time.",
               "SLA state as the daemon reports it now: ok, warning, breached, met or paused.",
               "Business hours from creation on the ticket's SLA calendar, without the time it was pending.",
               "Major incidents name the command of their own report (timeline, affected organisations and "
               "contacts, duration, breaches, root cause, recurring problems): servicedesk report incident SD-n, "
               "and, when portal.base_url is set, a link to it on the portal (for agents)."};
}

// ---------------------------------------------------------------------------------------
// Renderers.

std::size_t utf8_length(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
  return n;
}

// The first `n` code points.
std::string first_code_points(const std::string& s, std::size_t n) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && count++ == n) return s.substr(0, i);
  }
  return s;
}

std::string cut(const std::string& s, std::size_t width) {
  if (width == 0 || utf8_length(s) <= width) return s;
  return first_code_points(s, width - 3) + "...";
}

std::string format_value(const Value& v, const Column& c) {
  if (std::holds_alternative<std::string>(v)) return std::get<std::string>(v);
  if (std::holds_alternative<std::int64_t>(v)) return std::to_string(std::get<std::int64_t>(v));
  if (std::holds_alternative<double>(v)) return fmt::format("{:.{}f}", std::get<double>(v) + 0.0, c.decimals);
  return "";
}

nlohmann::json json_value(const Value& v) {
  if (std::holds_alternative<std::string>(v)) return std::get<std::string>(v);
  if (std::holds_alternative<std::int64_t>(v)) return std::get<std::int64_t>(v);
  if (std::holds_alternative<double>(v)) return std::get<double>(v);
  return nullptr;
}

nlohmann::json json_rows(const Table& t) {
  auto rows = nlohmann::json::array();
  for (const auto& r : t.rows) {
    nlohmann::json o = nlohmann::json::object();
    for (std::size_t i = 0; i < t.columns.size(); ++i) o[t.columns[i].key] = json_value(r[i]);
    rows.push_back(std::move(o));
  }
  return rows;
}

std::string org_words(const Report& r) { return r.org.empty() ? "all organisations" : "organisation " + r.org; }

// ---- text ----

void text_table(std::ostream& out, const Table& t, const std::string& indent) {
  std::vector<std::vector<std::string>> cells;
  std::vector<std::size_t> width(t.columns.size());
  for (std::size_t i = 0; i < t.columns.size(); ++i) width[i] = utf8_length(t.columns[i].title);
  for (const auto& r : t.rows) {
    std::vector<std::string> line;
    for (std::size_t i = 0; i < t.columns.size(); ++i) {
      std::string s = std::holds_alternative<std::monostate>(r[i]) ? "-" : format_value(r[i], t.columns[i]);
      s = cut(printable(s), t.columns[i].text_width);
      width[i] = std::max(width[i], utf8_length(s));
      line.push_back(std::move(s));
    }
    cells.push_back(std::move(line));
  }
  auto emit = [&](const std::vector<std::string>& line) {
    std::string s = indent;
    for (std::size_t i = 0; i < line.size(); ++i) {
      std::string pad(width[i] - utf8_length(line[i]), ' ');
      bool last = i + 1 == line.size();
      s += t.columns[i].numeric ? pad + line[i] : line[i] + (last ? "" : pad);
      if (!last) s += "  ";
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << '\n';
  };
  std::vector<std::string> titles;
  for (const auto& c : t.columns) titles.push_back(c.title);
  emit(titles);
  std::vector<std::string> rules;
  for (std::size_t w : width) rules.emplace_back(w, '-');
  emit(rules);
  for (const auto& line : cells) emit(line);
}

void render_text(std::ostream& out, const Report& r) {
  out << printable(r.title) << ": " << r.month << ", " << printable(org_words(r)) << '\n';
  out << "Generated " << rfc3339_utc(r.generated_at) << " (months in UTC)\n";
  if (r.table.rows.empty()) out << "\nNothing in this month.\n";
  if (r.details.empty()) {
    for (const auto& [title, part] : parts_of(r.table)) {
      if (r.table.rows.empty()) break;
      out << '\n';
      if (!title.empty()) out << printable(title) << '\n';
      text_table(out, part, "");
    }
  }
  // Rows with details (incidents) are too wide for a line: one block each, the row's
  // fields one a line, then its detail table.
  for (std::size_t i = 0; i < r.details.size(); ++i) {
    out << '\n' << printable(r.detail_titles[i]) << '\n';
    std::size_t width = 0;
    for (const auto& c : r.table.columns) width = std::max(width, utf8_length(c.title));
    for (std::size_t k = 0; k < r.table.columns.size(); ++k) {
      const auto& c = r.table.columns[k];
      const auto& v = r.table.rows[i][k];
      std::string s = std::holds_alternative<std::monostate>(v) ? "-" : printable(format_value(v, c));
      out << "  " << c.title << ':' << std::string(width - utf8_length(c.title) + 1, ' ') << s << '\n';
    }
    text_table(out, r.details[i], "  ");
  }
  out << "\nNotes:\n";
  for (const auto& n : r.notes) out << "- " << printable(n) << '\n';
}

// ---- csv (RFC 4180) ----

std::string csv_field(const Value& v, const Column& c) {
  std::string s = format_value(v, c);
  // A spreadsheet runs a text cell that starts like a formula; a leading ' keeps it text.
  if (std::holds_alternative<std::string>(v) && !s.empty() && std::string_view("=+-@\t\r").find(s[0]) != std::string_view::npos)
    s = "'" + s;
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) {
    if (ch == '"') q += '"';
    q += ch;
  }
  return q + '"';
}

void csv_line(std::ostream& out, const std::vector<Column>& cols, const std::vector<Value>& row) {
  for (std::size_t i = 0; i < cols.size(); ++i) out << (i ? "," : "") << csv_field(row[i], cols[i]);
  out << "\r\n";
}

void render_csv(std::ostream& out, const Report& r) {
  std::vector<Column> cols = r.table.columns;
  // With details (the incidents' timelines): one line per timeline entry, the ticket's
  // columns repeated, so the file stays one flat table.
  std::vector<Column> detail_cols = r.details.empty() ? std::vector<Column>{} : r.details.front().columns;
  if (!r.detail_key.empty() && detail_cols.empty())
    detail_cols = {text_col("at", ""), text_col("actor", ""), text_col("kind", ""), text_col("detail", "")};
  for (auto c : detail_cols) {
    c.key = r.detail_key + "_" + c.key;
    cols.push_back(c);
  }
  std::vector<Value> header;
  for (const auto& c : cols) header.emplace_back(c.key);
  std::vector<Column> plain(cols.size(), text_col("", ""));
  csv_line(out, plain, header);
  for (std::size_t i = 0; i < r.table.rows.size(); ++i) {
    if (r.detail_key.empty()) {
      csv_line(out, cols, r.table.rows[i]);
      continue;
    }
    for (const auto& d : r.details[i].rows) {
      auto row = r.table.rows[i];
      row.insert(row.end(), d.begin(), d.end());
      csv_line(out, cols, row);
    }
  }
}

// ---- json ----

void render_json(std::ostream& out, const Report& r) {
  nlohmann::json j = {{"report", r.kind},
                      {"title", r.title},
                      {"month", r.month},
                      {"from", rfc3339_utc(r.from)},
                      {"to", rfc3339_utc(r.to)},
                      {"org", r.org.empty() ? nlohmann::json() : nlohmann::json(r.org)},
                      {"generated_at", rfc3339_utc(r.generated_at)}};
  j.update(r.extra);
  auto rows = json_rows(r.table);
  for (std::size_t i = 0; i < r.details.size(); ++i) rows[i][r.detail_key] = json_rows(r.details[i]);
  j["rows"] = std::move(rows);
  j["notes"] = r.notes;
  // Subjects are the senders' bytes: invalid UTF-8 becomes U+FFFD instead of failing the
  // report, and terminal controls are escaped (json_text).
  out << json_text(j) << '\n';
}

// ---- html ----

std::string html(const std::string& s) { return html_text(s); }

void svg_chart(std::ostream& out, const Chart& c) {
  if (c.labels.empty()) return;
  constexpr int label_w = 170, bar_area = 420, bar_h = 14, group_gap = 10, top = 30, width = 720;
  const int n = static_cast<int>(c.series.size());
  double max = 0;
  for (const auto& v : c.values)
    for (double x : v)
      if (!std::isnan(x)) max = std::max(max, x);
  const int height = top + static_cast<int>(c.labels.size()) * (n * bar_h + group_gap) + 4;
  out << fmt::format("<figure><figcaption>{}</figcaption>\n", html(c.title));
  out << fmt::format(R"(<svg width="{0}" height="{1}" viewBox="0 0 {0} {1}" role="img" aria-label="{2}" )"
                     R"(font-family="sans-serif" font-size="12">)"
                     "\n",
                     width, height, html(c.title));
  int x = label_w;
  for (int s = 0; s < n; ++s) {
    out << fmt::format(R"(<rect x="{}" y="6" width="12" height="12" fill="{}"/><text x="{}" y="16">{}</text>)"
                       "\n",
                       x, c.colours[static_cast<std::size_t>(s)], x + 16, html(c.series[static_cast<std::size_t>(s)]));
    x += 16 + 8 * static_cast<int>(utf8_length(c.series[static_cast<std::size_t>(s)])) + 20;
  }
  for (std::size_t g = 0; g < c.labels.size(); ++g) {
    int y0 = top + static_cast<int>(g) * (n * bar_h + group_gap);
    out << fmt::format(R"(<text x="{}" y="{}" text-anchor="end">{}</text>)"
                       "\n",
                       label_w - 8, y0 + n * bar_h / 2 + 4, html(cut(c.labels[g], 24)));
    for (int s = 0; s < n; ++s) {
      double v = c.values[g][static_cast<std::size_t>(s)];
      int w = max > 0 && !std::isnan(v) ? static_cast<int>(std::lround(v / max * bar_area)) : 0;
      std::string shown = std::isnan(v) ? std::string("none") : fmt::format("{:.{}f}{}", v + 0.0, c.decimals, c.unit);
      int y = y0 + s * bar_h;
      out << fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{} {}: {}</title></rect>)"
                         R"(<text x="{}" y="{}" font-size="11">{}</text>)"
                         "\n",
                         label_w, y, w, bar_h - 2, c.colours[static_cast<std::size_t>(s)], html(c.labels[g]),
                         html(c.series[static_cast<std::size_t>(s)]), html(shown), label_w + w + 4, y + bar_h - 3,
                         html(shown));
    }
  }
  out << "</svg></figure>\n";
}

void html_table(std::ostream& out, const Table& t) {
  out << "<table>\n<thead><tr>";
  for (const auto& c : t.columns) out << (c.numeric ? "<th class=\"n\">" : "<th>") << html(c.title) << "</th>";
  out << "</tr></thead>\n<tbody>\n";
  for (const auto& r : t.rows) {
    bool total = t.last_is_total && &r == &t.rows.back();
    out << (total ? "<tr class=\"total\">" : "<tr>");
    for (std::size_t i = 0; i < t.columns.size(); ++i) {
      std::string s = std::holds_alternative<std::monostate>(r[i]) ? "&#8211;" : html(format_value(r[i], t.columns[i]));
      if (const auto* v = std::get_if<std::string>(&r[i]);
          v && t.columns[i].url && (v->rfind("https://", 0) == 0 || v->rfind("http://", 0) == 0))
        s = "<a href=\"" + s + "\">" + s + "</a>";
      out << (t.columns[i].numeric ? "<td class=\"n\">" : "<td>") << s << "</td>";
    }
    out << "</tr>\n";
  }
  out << "</tbody></table>\n";
}

constexpr const char* kStyle = R"(body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em}
.meta{color:#555;margin-top:0}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f2f2f2}.n{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:bold;background:#fafafa}
figure{margin:1.2em 0}figcaption{font-weight:bold;margin-bottom:.4em}
ul.notes{color:#444;font-size:.9em})";

void render_html(std::ostream& out, const Report& r) {
  std::string heading = r.title + ": " + r.month;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<title>" << html(heading + ", " + org_words(r)) << "</title>\n<style>\n"
      << kStyle << "\n</style>\n</head>\n<body>\n"
      << "<h1>" << html(heading) << "</h1>\n"
      << "<p class=\"meta\">" << html(org_words(r)) << " &#183; " << html(rfc3339_utc(r.from)) << " to "
      << html(rfc3339_utc(r.to)) << " &#183; generated " << html(rfc3339_utc(r.generated_at)) << "</p>\n";
  for (const auto& c : r.charts) svg_chart(out, c);
  if (r.table.rows.empty()) out << "<p>Nothing in this month.</p>\n";
  else
    for (const auto& [title, part] : parts_of(r.table)) {
      if (!title.empty()) out << "<h2>" << html(title) << "</h2>\n";
      html_table(out, part);
    }
  for (std::size_t i = 0; i < r.details.size(); ++i) {
    out << "<h2>" << html(r.detail_titles[i]) << "</h2>\n";
    html_table(out, r.details[i]);
  }
  out << "<h2>How the figures are computed</h2>\n<ul class=\"notes\">\n";
  for (const auto& n : r.notes) out << "<li>" << html(n) << "</li>\n";
  out << "</ul>\n</body>\n</html>\n";
}

}  // namespace

void write_report(store::Store& store, const Config& config, const ReportRequest& request, std::ostream& out,
                  store::Time now) {
  static const std::map<std::string, std::string> titles = {{"sla", "SLA compliance"},
                                                            {"categories", "Tickets per category"},
                                                            {"time", "Time spent"},
                                                            {"incidents", "Incidents"}};
  auto title = titles.find(request.kind);
  if (title == titles.end())
    throw std::invalid_argument(fmt::format("unknown report '{}' (sla, categories, time or incidents)", request.kind));
  auto parsed_month = parse_month(request.month);
  if (!parsed_month) throw std::invalid_argument(parsed_month.error());
  const Month month = *parsed_month;
  std::string format = request.format.empty() ? "text" : request.format;
  if (format != "text" && format != "csv" && format != "json" && format != "html")
    throw std::invalid_argument(fmt::format("unknown format '{}' (text, csv, json or html)", request.format));

  SlaClock clock(config);
  auto tx = store.begin(store::Store::Mode::read);
  if (!request.org.empty() && !tx->organisation(request.org))
    throw std::invalid_argument(fmt::format("no organisation '{}'", request.org));

  Report rep;
  rep.kind = request.kind;
  rep.title = title->second;
  rep.month = month.name;
  rep.org = request.org;
  rep.from = month.from;
  rep.to = month.to;
  rep.generated_at = now;
  Source src{*tx, config, clock, now, request.org};
  if (rep.kind == "sla") build_sla(rep, src);
  else if (rep.kind == "categories") build_categories(rep, src, month);
  else if (rep.kind == "time") build_time(rep, src);
  else build_incidents(rep, src);

  if (format == "text") render_text(out, rep);
  else if (format == "csv") render_csv(out, rep);
  else if (format == "json") render_json(out, rep);
  else render_html(out, rep);
}

}  // namespace sd
