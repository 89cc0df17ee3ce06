// desk/incidents.h: major incidents (seed 000, section 3; issue 16), the one module that
// mail (desk/ingest.cpp), the command line (`servicedesk incident`, `ticket set --incident`,
// `report incident`) and the portal call. A major incident is a ticket of category incident
// marked major (store/incidents.h), assigned to its incident manager, highest priority by
// default. Customers' tickets are linked to it (by an agent, or by themselves when their
// alert key is one of the incident's while it is open); an agent's update with #broadcast
// goes to the people of the linked tickets and the contacts of the affected organisations,
// once per person, on their own thread; resolving the incident resolves the linked tickets,
// one resolution mail per person.
//
// Rules:
// - Only a registered agent declares, links, unlinks, broadcasts or records a root cause;
//   the callers establish who (mail: judge_agent_mail(); the CLI: the operator; the portal: an
//   agent's session) and pass the actor. Customers' mail runs no commands at all.
// - Automatic requesters (a monitoring system: the ticket's mail from its requester was
//   automatic, RFC 3834, or the ticket came by an alert key from someone who is no contact)
//   get no broadcast and no resolution mail. Agents and the desk's own addresses never do.
// - A contact of an organisation the incident does not affect (no linked ticket of theirs or
//   of their organisation, not named by --orgs) gets nothing.
// - Nothing internal reaches a customer: the broadcast carries the agent's words framed by the
//   customer's language, the resolution its resolution text; notes, root cause and follow-up
//   stay with the agents.
// - An unlinked ticket is left alone by the incident's resolution.
//
// Diagnostics: refusals are returned as text (tl::unexpected) and change nothing; the caller
// reports them (a command-error mail, exit 65, a portal error page).
#pragma once

#include "core/vocabulary.h"
#include "desk/desk.h"
#include "store/incidents.h"
#include "store/store.h"

#include <tl/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sd {

struct IncidentDeclaration {
  std::string title;
  std::string agent;                     // the incident manager: assignee and requester of the incident's ticket
  std::optional<std::int64_t> from;      // --from SD-42: linked at once
  bool all_organisations = false;        // --orgs all
  std::vector<std::string> organisations;  // --orgs A,B (names of registered organisations)
  std::vector<std::string> alert_keys;   // --alert-key KEY...
  std::optional<Priority> priority;      // default highest
  std::string text;                      // what is known so far (internal)
};

// Declares a major incident: a new ticket (category incident, the agent assigned, priority
// highest unless given), marked major, the organisations and alert keys recorded, `from`
// linked; its agents (the assignee, and the team address or every agent) get its
// notification with a tokened Reply-To. `how` says where it came from ("cli", "mail",
// "portal"). Returns the new ticket's id.
tl::expected<std::int64_t, std::string> declare_incident(store::Transaction& tx, const Desk& desk,
                                                         const IncidentDeclaration& d, const std::string& actor,
                                                         const std::string& how, store::Time now);

// Links ticket `ticket` to incident `incident` (replacing an earlier link). Refused for an
// unknown ticket or incident, an incident itself, a closed incident.
tl::expected<void, std::string> link_to_incident(store::Transaction& tx, const Desk& desk, std::int64_t ticket,
                                                 std::int64_t incident, const std::string& actor,
                                                 const std::string& how, store::Time now);
// Unlinks it; refused when it is linked to none.
tl::expected<void, std::string> unlink_from_incident(store::Transaction& tx, const Desk& desk, std::int64_t ticket,
                                                     const std::string& actor, store::Time now);

// A new ticket with an alert key links itself to the open incident naming that key; true when it did.
bool link_by_alert_key(store::Transaction& tx, const Desk& desk, const store::Ticket& t, store::Time now);

// A new ticket opened by a contact's answer to a broadcast that carried the incident's own
// tag (they had no ticket of their own): linked to that incident while it is open, when the
// incident affects the contact's organisation already (a tag alone links nobody else's
// organisation in); true when it did.
bool link_answer_to_incident(store::Transaction& tx, const Desk& desk, const store::Ticket& t, std::int64_t tagged,
                             store::Time now);

// "all" or "A, B" (--orgs, #incident-orgs, the portal's field): the organisations named, or
// nullopt when a name is empty ("A,,B", "") or the text is not one line.
struct OrganisationChoice {
  bool all = false;
  std::vector<std::string> names;
};
std::optional<OrganisationChoice> parse_organisation_choice(const std::string& text);

// #incident-orgs all|A,B and `incident update --orgs`: organisations found affected after the
// declaration (their contacts get the broadcasts from now on). None is ever taken off: who
// was told stays told, and the report names them. Refused for a ticket that is no major
// incident or an organisation that is not registered; nothing changes then.
tl::expected<void, std::string> add_incident_organisations(store::Transaction& tx, std::int64_t incident,
                                                           const OrganisationChoice& orgs, const std::string& actor,
                                                           store::Time now);

// #incident-key KEY, #rca TEXT, #followup TEXT on an incident.
tl::expected<void, std::string> add_incident_alert_key(store::Transaction& tx, std::int64_t incident,
                                                       const std::string& key, const std::string& actor,
                                                       store::Time now);
tl::expected<void, std::string> record_root_cause(store::Transaction& tx, std::int64_t incident, const std::string& text,
                                                  const std::string& actor, store::Time now);
tl::expected<void, std::string> record_follow_up(store::Transaction& tx, std::int64_t incident, const std::string& text,
                                                 const std::string& actor, store::Time now);

// One person an incident's customer mail goes to, on their own thread.
struct IncidentRecipient {
  std::string address;  // lower case
  std::string name;
  std::string language;
  std::int64_t thread = 0;               // their most recent linked ticket, or 0: the incident's own tag
  std::vector<std::int64_t> others;      // their other linked tickets, named in the mail
  std::string organisation;
};
// Who hears of the incident, each once (see the rules above), in a stable order.
std::vector<IncidentRecipient> incident_audience(store::Transaction& tx, const Desk& desk, std::int64_t incident);
// The organisations it affects: of its linked tickets, named by --orgs, or all with --orgs all.
std::vector<std::string> affected_organisations(store::Transaction& tx, std::int64_t incident);
// Whether the ticket's requester is a monitoring system: automatic_requester() in
// desk/keep_informed.h, the one rule for every mail the desk sends on its own.

// An agent's update on the incident: `text` to every person of the audience
// (incident-update), recorded on each linked ticket; how many mails were queued. Refused for
// a ticket that is no incident or an empty text.
tl::expected<int, std::string> broadcast_incident(store::Transaction& tx, const Desk& desk, std::int64_t incident,
                                                  const std::string& text, const std::string& agent_name,
                                                  const std::string& actor, store::Time now);

// The incident's update (not broadcast) to its agents but `sender`: the agents' notification.
void tell_incident_agents(store::Transaction& tx, const Desk& desk, std::int64_t incident, const std::string& event,
                          const std::string& text, const std::string& sender, store::Time now);

// An agent's words on the incident's own ticket, by mail (apply_incident_commands() in
// desk/ingest.cpp) or on the portal (agent_works() in desk/from_portal.cpp), after
// change_ticket() applied the rest of it: with `broadcast` (and not `resolving`, whose
// resolution mail replaces it) to everyone it affects (broadcast_incident()); then, when there
// were words, to its agents but `actor` (tell_incident_agents(): "Incident update (agents
// only)", "Incident update, broadcast to N people", "Incident resolved"). The caller keeps the
// words off the incident's own requester (an internal note, unless resolving). True when a
// mail was queued.
bool incident_update_by_agent(store::Transaction& tx, const Desk& desk, std::int64_t incident, const std::string& text,
                              bool broadcast, bool resolving, const std::string& agent_name, const std::string& actor,
                              store::Time now);

// Called by change_ticket() when an incident becomes resolved: its linked open tickets are
// resolved with `resolution` (no mail of their own), and each person of the audience gets one
// incident-resolved mail. How many mails.
int resolve_linked_tickets(store::Transaction& tx, const Desk& desk, std::int64_t incident,
                           const std::string& resolution, const std::string& agent_name, const std::string& actor,
                           store::Time now);

}  // namespace sd
