// cli/incidents.h: `servicedesk incident new` (declare a major incident; prints its id),
// `servicedesk incident update SD-100 --orgs ... --alert-key ...` (what is found later) and
// `servicedesk report incident SD-100` (its report). `ticket set --incident` is in
// cli/tickets.cpp. Every change goes through desk/incidents.h in one write transaction.
//
// Contract: as every command (cli/exit_status.h): 64 for an argument of the wrong shape (a
// ticket id, --orgs), 65 for what the desk refuses (an unknown agent, organisation or ticket).
#pragma once

#include "config/config.h"

#include <string>
#include <vector>

namespace sd {

struct IncidentArgs {
  std::string title, agent, from, orgs, operator_name, priority;
  std::vector<std::string> alert_keys;
  std::string ref;  // incident update: the incident
};
int cmd_incident_new(const Config& c, const IncidentArgs& a);
// Adds affected organisations (--orgs all|A,B) and alert keys to an incident; 64 when neither
// is given, 65 for a ticket that is no major incident or an unknown organisation.
int cmd_incident_update(const Config& c, const IncidentArgs& a);

// format: text, html or json.
int cmd_report_incident(const Config& c, const std::string& ref, const std::string& format);

}  // namespace sd
