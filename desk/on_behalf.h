// desk/on_behalf.h: what an agent does without a mail of their own: opening a ticket for a
// customer who phoned or walked in (`ticket new`, and `#requester` by mail), and answering or
// noting on a ticket from the command line (`ticket reply`, `ticket note`) and from the
// portal (desk/from_portal.h: an answer with files and the changes of mail commands).
//
// Contract: each runs the same desk path as mail inside the caller's write transaction (the
// acknowledgement, the agents' notification, the ticket state machine, events naming the
// agent) and queues mail in the outbox; the caller commits. Errors are returned as text for
// the operator (an unknown agent or ticket, an address that cannot be mailed), nothing changed.
//
// Security: `agent` must be a registered agent; the CLI runs as the desk's operator, and a
// mail reaches open_ticket_for() only after the agent path's trust rules (desk/agent_mail.h).
#pragma once

#include "core/vocabulary.h"
#include "desk/desk.h"
#include "desk/ticket_change.h"
#include "parser/parse.h"
#include "store/store.h"

#include <tl/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sd {

struct OnBehalf {
  std::string requester;       // the customer's address
  std::string requester_name;  // optional display name
  std::string subject;
  std::string agent;           // a registered agent's address: assigned, and named as the opener
  std::optional<Priority> priority;
  std::optional<Category> category;
  std::string text;            // what the customer asked, in the agent's words; may be empty
};

// Opens the ticket and queues the customer's ordinary acknowledgement; returns the ticket id.
tl::expected<std::int64_t, std::string> open_ticket_for(store::Transaction& tx, const Desk& desk, const OnBehalf& what,
                                                        store::Time now);

// An agent's work on a ticket in one go, as one mail of theirs with commands would do it.
struct AgentWork {
  std::string text;            // the answer to the customer, or the internal note
  bool internal_note = false;  // never mailed to the customer
  // Status, priority, category, assignee, time, Cc: what a mail's commands set. Its note,
  // text, agent_name and attachment_ids are filled in from the rest.
  TicketChange change;
  // Stored on the agent's message (a note's: internal); an answer's go to the customer with
  // it, as many as notify.attach_max_bytes lets one mail carry (the rest are listed).
  std::vector<parser::Attachment> files;
};

// Through change_ticket(), the one state machine. An assignee who is no registered agent, or
// nothing to do at all (no words, no files, no change), is refused with nothing changed.
tl::expected<ChangeOutcome, std::string> agent_writes(store::Transaction& tx, const Desk& desk, std::int64_t ticket_id,
                                                      const std::string& agent, const AgentWork& work,
                                                      store::Time now);

// The agent's answer to the customer (internal_note = false: mailed, as a reply by mail) or an
// internal note (never mailed to the customer), on an existing ticket: agent_writes() above
// with words only, which must not be empty.
tl::expected<void, std::string> agent_writes(store::Transaction& tx, const Desk& desk, std::int64_t ticket_id,
                                             const std::string& agent, const std::string& text, bool internal_note,
                                             store::Time now);

}  // namespace sd
