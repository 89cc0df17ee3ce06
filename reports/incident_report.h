// reports/incident_report.h: one major incident's report (`servicedesk report incident
// SD-100`), built from the store's record of it (store/incidents.h) and its tickets' events:
// the timeline (declared, each linked report with its organisation, each broadcast, root
// cause and follow-up, resolution), the affected organisations and contacts, the duration in
// wall-clock time and in each affected SLA's business hours (sla/ calendars), the SLA
// breaches of its linked tickets, and the recurring problems of the affected organisations
// (alert keys and categories seen twice or more in the 6 months before it ended).
//
// Contract: one read transaction; the whole report is built before anything is written, so a
// refusal leaves `out` untouched. Field names of the json output are an interface: add,
// never rename. Diagnostics: std::invalid_argument for a ticket that is no major incident or
// a format other than text, html, json. Security: every text from mail or agents is escaped
// for its format (printable() in text, HTML entities, json_text()); the HTML loads nothing and
// runs no script. Root cause and follow-up are internal: this report is for the desk and its
// managers, never mailed to customers.
#pragma once

#include "config/config.h"
#include "store/store.h"

#include <cstdint>
#include <ostream>
#include <string>

namespace sd {

void write_incident_report(store::Store& store, const Config& config, std::int64_t incident, const std::string& format,
                           std::ostream& out, store::Time now);

}  // namespace sd
