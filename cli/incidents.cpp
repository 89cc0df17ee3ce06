// cli/incidents.cpp: see incidents.h.
#include "cli/incidents.h"

#include "cli/exit_status.h"
#include "core/text.h"
#include "core/vocabulary.h"
#include "desk/desk.h"
#include "desk/incidents.h"
#include "desk/ingest.h"
#include "desk/sla_clock.h"
#include "reports/incident_report.h"

#include <fmt/format.h>

#include <iostream>
#include <stdexcept>

namespace sd {

int cmd_incident_new(const Config& c, const IncidentArgs& a) {
  IncidentDeclaration d;
  d.title = trim(a.title);
  if (d.title.empty()) throw CommandError(Failure::usage, "--title must not be empty");
  d.agent = lower(trim(a.agent));
  if (!a.from.empty()) {
    auto id = parse_ticket_ref(c, a.from);
    if (!id) throw CommandError(Failure::usage, fmt::format("--from '{}' is not a ticket id (expected e.g. {}-42)", a.from, c.service.ticket_prefix));
    d.from = *id;
  }
  if (!a.priority.empty()) {
    d.priority = parse_priority(a.priority);
    if (!d.priority) throw CommandError(Failure::usage, fmt::format("--priority '{}': {}", a.priority, names_of(kPriorities, ", ")));
  }
  std::string orgs = trim(a.orgs);
  if (lower(orgs) == "all") d.all_organisations = true;
  else
    for (std::size_t pos = 0; pos < orgs.size();) {
      auto comma = orgs.find(',', pos);
      std::string name = trim(orgs.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
      if (name.empty()) throw CommandError(Failure::usage, "--orgs: an empty organisation name (say all, or A,B)");
      d.organisations.push_back(name);
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
  d.alert_keys = a.alert_keys;
  Desk desk(c);
  auto st = open_store(c);
  auto tx = st->begin(store::Store::Mode::write);
  auto id = declare_incident(*tx, desk, d, "operator:" + a.operator_name, "cli", clock_now(c));
  if (!id) throw CommandError(Failure::bad_input, id.error());
  tx->commit();
  std::cout << ticket_ref(c, *id) << "\n";
  return 0;
}

int cmd_report_incident(const Config& c, const std::string& ref, const std::string& format) {
  auto id = parse_ticket_ref(c, ref);
  if (!id) throw CommandError(Failure::usage, fmt::format("'{}' is not a ticket id (expected e.g. {}-100)", ref, c.service.ticket_prefix));
  auto st = open_store(c);
  try {
    write_incident_report(*st, c, *id, format, std::cout, clock_now(c));
  } catch (const std::invalid_argument& e) {
    throw CommandError(Failure::bad_input, e.what());
  }
  return 0;
}

}  // namespace sd
