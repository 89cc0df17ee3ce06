// reports/report.h: the managers' reports of one month: SLA compliance, tickets per
// category, agents' time against the included allowance, and the incident log.
//
// Contract: write_report() reads the store in one read transaction (a consistent
// snapshot), builds the whole report and only then writes it, so a bad request or a store
// failure leaves `out` untouched. Months are UTC calendar months, [first day 00:00Z, first
// day of the next month 00:00Z). The figures and the formats are described in
// docs/reports.md; field names of the csv and json output are an interface: add, never
// rename.
// Diagnostics: std::invalid_argument naming what is wrong (unknown kind, malformed month,
// unknown format, an organisation that does not exist); store::StoreError from the store;
// ConfigError when an SLA names no calendar.
// Security: every text that came from mail (subjects, names, event details) is escaped for
// the format it goes into: HTML/SVG entities, RFC 4180 quoting (and a leading ' before
// = + - @ so a spreadsheet does not run it as a formula), control characters replaced in
// text output so a subject cannot drive the terminal. The HTML page loads nothing and runs
// no script.
#pragma once

#include "config/config.h"
#include "store/store.h"

#include <ostream>
#include <string>

namespace sd {

struct ReportRequest {
  std::string kind;    // "sla", "categories", "time", "incidents"
  std::string month;   // "YYYY-MM" (months are taken in UTC)
  std::string org;     // organisation name; empty: all
  std::string format;  // "text", "csv", "json", "html"
};

// Writes one report. Throws std::invalid_argument naming what is wrong (bad kind, month or format).
// An empty format is text; an organisation that does not exist is refused the same way.
// `s` as HTML text: & < > " ' escaped, control characters (but newline and tab) a space.
std::string html_text(const std::string& s);

void write_report(store::Store& store, const Config& config, const ReportRequest& request, std::ostream& out, store::Time now);

}  // namespace sd
