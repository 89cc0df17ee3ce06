// desk/ticket_change.h: the one way a ticket's state changes: status, priority, category,
// assignee and time, with their events, SLA pauses, resolution and the customer's mail.
// An agent's mail, the command line, the SLA clock's housekeeping and later the portal all
// describe what they want as a TicketChange and call change_ticket(); none of them writes a
// ticket's fields itself.
//
// Rules (the seeds'; docs/ARCHITECTURE.md):
// - Only a registered agent can be assigned; anything refused leaves the ticket as it was.
// - The SLA clock stands still while the status pauses it (pending, resolved, closed).
// - The customer is told when the case is resolved: with the agent's words as the resolution,
//   or the resolution template alone; that mail counts as the first response if none came
//   before. An agent's words on any other change go to the customer as one mail (the status
//   mail of the new status, or a reply). Other changes without words stay silent.
// - An answer on a new ticket opens it.
// - Only an estimate (desk/estimates.h) sets awaiting-approval; a ticket that leaves it by any
//   other change has its awaiting estimate withdrawn, which approves nothing. Time recorded
//   past an organisation's included minutes tells the agent (note_time_against_allowance()).
#pragma once

#include "core/vocabulary.h"
#include "desk/desk.h"
#include "store/store.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sd {

// An agent's change of the ticket's Cc list (#cc add ADDR, #cc remove ADDR).
struct CcChange {
  bool add = true;
  std::string address;  // lower case
};

struct TicketChange {
  std::optional<Status> status;
  std::optional<Priority> priority;
  std::optional<Category> category;
  std::optional<std::string> assignee;  // an agent's address; "" unassigns
  std::int64_t time_s = 0;              // agent's time to record
  bool note = false;                    // `text` is an internal note, not for the customer
  std::string text;                     // the agent's words (for the customer unless `note`)
  std::string agent_name;               // who speaks in the customer's mail; empty: the desk
  std::vector<std::int64_t> attachment_ids;  // files the customer's mail carries (the agent's own)
  std::vector<CcChange> cc;                  // applied before the customer's mail, which goes to the new list
  // How the status change reads in the ticket's events: "status", or "reopened" for a
  // customer's reply on a resolved ticket; `why` follows the change ("customer replied").
  std::string status_event = "status";
  std::string why;
  // Set by desk/estimates.cpp alone: only an estimate puts a ticket in awaiting-approval, so
  // change_ticket() refuses that status to anyone else (an agent's #status, `ticket set`).
  bool from_estimate = false;
  // No mail to the customer: the caller tells them itself (a major incident's linked tickets,
  // resolved with one mail per person: desk/incidents.h). A major incident's own ticket is
  // always quiet: its requester is the agent who declared it.
  bool quiet = false;
};

struct ChangeOutcome {
  std::vector<std::string> refused;  // non-empty: nothing was changed
  bool mail_queued = false;          // the customer was mailed
  Status status = Status::new_;      // after the change
};

// Applies `change` to ticket `t` inside the caller's write transaction, as `actor` (an agent's
// address, "operator:NAME", "system").
ChangeOutcome change_ticket(store::Transaction& tx, const Desk& desk, const store::Ticket& t,
                            const TicketChange& change, const std::string& actor, store::Time now);

// The status alone, with the SLA pause and resolved_at it implies: no event, no mail. The
// rule change_ticket() applies; for imports and tests that set a ticket's state up.
void set_status(store::Transaction& tx, std::int64_t ticket, Status status, store::Time now);

// The first SLA due time of a ticket about to be created (status new, no pause, nothing
// fired): what refresh_sla_due() would store right after, stored with the ticket instead.
std::optional<store::Time> first_sla_due(const Desk& desk, const store::NewTicket& ticket, store::Time now);

// Keeps the ticket's stored next SLA due time (its earliest coming warning or breach) current,
// and returns the ticket as it now stands (nullopt: no such ticket), so a caller that goes on
// with it need not read it again.
std::optional<store::Ticket> refresh_sla_due(store::Transaction& tx, const Desk& desk, std::int64_t ticket,
                                             store::Time now);

}  // namespace sd
