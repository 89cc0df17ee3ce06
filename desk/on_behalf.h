// desk/on_behalf.h: what an agent does without a mail of their own: opening a ticket for a
// customer who phoned or walked in (`ticket new`, and `#requester` by mail), and answering or
// noting on a ticket from the command line (`ticket reply`, `ticket note`).
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
#include "store/store.h"

#include <tl/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>

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

// The agent's answer to the customer (internal_note = false: mailed, as a reply by mail) or an
// internal note (never mailed to the customer), on an existing ticket.
tl::expected<void, std::string> agent_writes(store::Transaction& tx, const Desk& desk, std::int64_t ticket_id,
                                             const std::string& agent, const std::string& text, bool internal_note,
                                             store::Time now);

}  // namespace sd
