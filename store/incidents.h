// store/incidents.h: major incidents in the store (schema 13, "incidents" section): which
// ticket is a major incident, the organisations and alert keys it names, and which customer
// tickets are linked to it. A Transaction's incidents() (store/store.h); implemented once for
// both backends in store/sql_incidents.h.
//
// Contract: the store records what it is told; who may declare, link or broadcast, and what a
// link does to a ticket, are the desk's (desk/incidents.h). A ticket is linked to at most one
// incident at a time; an unlinked ticket keeps its row with who unlinked it and when, so the
// incident's report names it and resolving the incident leaves it alone. Addresses and
// organisation names are kept as given; alert keys as given (the desk compares them exactly,
// as join_repeated_alert does).
#pragma once

#include "store/store.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sd::store {

struct Incident {
  std::int64_t ticket_id = 0;  // the incident's own ticket (category incident)
  std::string title;
  std::string declared_by;  // an agent's address, or "operator:NAME"
  Time declared_at = 0;
  bool all_organisations = false;          // --orgs all
  std::vector<std::string> organisations;  // named beyond those of linked tickets, by name
  std::vector<std::string> alert_keys;     // new tickets with one of these link themselves while it is open
  std::string root_cause;                  // the last #rca
  std::string follow_up;                   // the last #followup
};

struct IncidentLink {
  std::int64_t ticket_id = 0;
  std::int64_t incident_id = 0;
  std::string linked_by;
  Time linked_at = 0;
  std::string how;  // "from", "mail", "cli", "portal", "alert-key"
  std::string unlinked_by;
  std::optional<Time> unlinked_at;  // set: an agent unlinked it; no longer part of the incident
};

class Incidents {
 public:
  // Marks an existing ticket a major incident. Throws StoreError (refused) when it is one already.
  virtual void declare(const Incident& i) = 0;
  virtual std::optional<Incident> incident(std::int64_t ticket_id) = 0;
  // Incidents declared in [from, to), oldest first.
  virtual std::vector<Incident> incidents_declared(Time from, Time to) = 0;
  // True when the key was new to the incident.
  virtual bool add_alert_key(std::int64_t incident_id, const std::string& key) = 0;
  virtual bool add_organisation(std::int64_t incident_id, const std::string& organisation) = 0;
  virtual void set_all_organisations(std::int64_t incident_id, bool all) = 0;
  virtual void set_root_cause(std::int64_t incident_id, const std::string& text) = 0;
  virtual void set_follow_up(std::int64_t incident_id, const std::string& text) = 0;
  // The open incident (its ticket's status is open) with this alert key; the newest if several.
  virtual std::optional<std::int64_t> open_incident_with_alert_key(const std::string& key) = 0;

  // Links a ticket (replacing any earlier link or unlinking of it). Throws StoreError
  // (refused) for a ticket or incident that does not exist.
  virtual void link(const IncidentLink& l) = 0;
  // Marks the ticket's current link unlinked; false when it had none.
  virtual bool unlink(std::int64_t ticket_id, const std::string& by, Time at) = 0;
  // The ticket's row, unlinked or not; nullopt when it was never linked.
  virtual std::optional<IncidentLink> link_of(std::int64_t ticket_id) = 0;
  // The incident's rows by the time they were linked (then ticket), unlinked ones only when asked.
  virtual std::vector<IncidentLink> links(std::int64_t incident_id, bool include_unlinked) = 0;

 protected:
  ~Incidents() = default;
};

}  // namespace sd::store
