// desk/on_behalf.cpp: an agent's answer or note from the command line (on_behalf.h says the
// contract). open_ticket_for() is in ingest.cpp: it opens the ticket by the mail path's steps.
#include "desk/on_behalf.h"

#include "core/text.h"
#include "desk/ingest.h"
#include "desk/ticket_change.h"

#include <fmt/format.h>

namespace sd {

tl::expected<void, std::string> agent_writes(store::Transaction& tx, const Desk& desk, std::int64_t ticket_id,
                                             const std::string& agent_address, const std::string& text,
                                             bool internal_note, store::Time now) {
  auto agent = tx.agent(lower(agent_address));
  if (!agent) return tl::unexpected(fmt::format("{} is not a registered agent (servicedesk agent add)", agent_address));
  auto t = tx.ticket(ticket_id);
  if (!t) return tl::unexpected(fmt::format("no ticket {}", ticket_ref(desk.config(), ticket_id)));
  if (trim(text).empty()) return tl::unexpected(std::string("the text is empty"));
  // The agent's words are kept whole on the ticket, as their mail would be: a note as an
  // internal message; an answer as the "out" message its mail records.
  if (internal_note) {
    store::MessageRecord rec;
    rec.ticket_id = t->id;
    rec.direction = "in";
    rec.from_addr = agent->email;
    rec.from_name = agent->name;
    rec.subject = t->subject;
    rec.body_text = rec.new_text = text;
    rec.created_at = now;
    rec.internal = true;
    tx.add_message(rec);
  }
  TicketChange ch;
  ch.note = internal_note;
  ch.text = text;
  ch.agent_name = agent->name.empty() ? agent->email : agent->name;
  change_ticket(tx, desk, *t, ch, agent->email, now);
  tx.touch_ticket(t->id, now);
  return {};
}

}  // namespace sd
