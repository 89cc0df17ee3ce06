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

namespace {
// --orgs all|A,B, or exit 64.
OrganisationChoice organisations_of(const std::string& text) {
  auto orgs = parse_organisation_choice(text);
  if (!orgs) throw CommandError(Failure::usage, "--orgs: say all, or the organisations' names separated by commas");
  return *orgs;
}
}  // namespace

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
  if (!trim(a.orgs).empty()) {
    auto orgs = organisations_of(a.orgs);
    d.all_organisations = orgs.all;
    d.organisations = orgs.names;
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

int cmd_incident_update(const Config& c, const IncidentArgs& a) {
  auto id = parse_ticket_ref(c, a.ref);
  if (!id) throw CommandError(Failure::usage, fmt::format("'{}' is not a ticket id (expected e.g. {}-100)", a.ref, c.service.ticket_prefix));
  if (trim(a.orgs).empty() && a.alert_keys.empty())
    throw CommandError(Failure::usage, "say what to add: --orgs all|A,B and/or --alert-key KEY");
  std::optional<OrganisationChoice> orgs;
  if (!trim(a.orgs).empty()) orgs = organisations_of(a.orgs);
  auto st = open_store(c);
  auto tx = st->begin(store::Store::Mode::write);
  std::string actor = "operator:" + a.operator_name;
  auto now = clock_now(c);
  if (orgs)
    if (auto done = add_incident_organisations(*tx, *id, *orgs, actor, now); !done)
      throw CommandError(Failure::bad_input, fmt::format("{}: {}", ticket_ref(c, *id), done.error()));
  for (const auto& k : a.alert_keys)
    if (auto done = add_incident_alert_key(*tx, *id, k, actor, now); !done)
      throw CommandError(Failure::bad_input, fmt::format("{}: {}", ticket_ref(c, *id), done.error()));
  std::string affected;
  for (const auto& o : affected_organisations(*tx, *id)) affected += (affected.empty() ? "" : ", ") + o;
  tx->commit();
  std::cout << fmt::format("{}: affects {}\n", ticket_ref(c, *id), affected.empty() ? "no organisation yet" : printable(affected));
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
