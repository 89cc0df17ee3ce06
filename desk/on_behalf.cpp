// desk/on_behalf.cpp: an agent's answer or note from the command line or the portal
// (on_behalf.h says the contract). open_ticket_for() is in ingest.cpp: it opens the ticket by
// the mail path's steps.
#include "desk/on_behalf.h"

#include "core/text.h"
#include "desk/attachments.h"
#include "desk/ingest.h"
#include "desk/ticket_change.h"

#include <fmt/format.h>

namespace sd {

tl::expected<ChangeOutcome, std::string> agent_writes(store::Transaction& tx, const Desk& desk, std::int64_t ticket_id,
                                                      const std::string& agent_address, const AgentWork& work,
                                                      store::Time now) {
  const auto& c = desk.config();
  auto agent = tx.agent(lower(agent_address));
  if (!agent) return tl::unexpected(fmt::format("{} is not a registered agent (servicedesk agent add)", agent_address));
  auto t = tx.ticket(ticket_id);
  if (!t) return tl::unexpected(fmt::format("no ticket {}", ticket_ref(c, ticket_id)));
  const auto& want = work.change;
  bool words = !trim(work.text).empty();
  bool changes = want.status || want.priority || want.category || want.assignee || want.time_s > 0 || !want.cc.empty();
  if (!words && work.files.empty() && !changes) return tl::unexpected(std::string("the text is empty"));
  // Refused before anything is written: change_ticket() would refuse it too, but the message
  // below would already be stored.
  if (want.assignee && !want.assignee->empty() && !tx.agent(lower(*want.assignee)))
    return tl::unexpected(fmt::format("{} is not a registered agent (servicedesk agent add)", *want.assignee));

  // The agent's words are kept whole on the ticket, as their mail would be: a note as an
  // internal message; an answer as the "out" message its mail records, and, when it has
  // files, also as the agent's own message that holds them (as an agent's mail is kept).
  std::int64_t message_row = 0;
  if ((work.internal_note && (words || !work.files.empty())) || (!work.internal_note && !work.files.empty())) {
    parser::ParsedMail m;
    m.from = {agent->name, agent->email};
    m.subject = t->subject;
    m.body_text = m.new_text = work.text;
    m.attachments = work.files;
    store::MessageRecord rec = message_record(m);
    rec.ticket_id = t->id;
    rec.direction = "in";
    rec.from_addr = agent->email;
    rec.created_at = now;
    rec.internal = work.internal_note;
    message_row = tx.add_message(rec);
  }
  TicketChange ch = want;
  if (ch.assignee) ch.assignee = lower(*ch.assignee);
  ch.note = work.internal_note;
  ch.text = work.text;
  ch.agent_name = agent->name.empty() ? agent->email : agent->name;
  ch.attachment_ids.clear();
  if (!ch.note && message_row != 0) {
    std::vector<store::AttachmentInfo> files;
    for (auto& f : tx.attachments(t->id))
      if (f.message_id == message_row) files.push_back(std::move(f));
    auto fit = attach_what_fits(files, c.notify.attach_max_bytes, ticket_ref(c, t->id));
    ch.attachment_ids = fit.ids;
    if (fit.left_out > 0) {
      store::Event e{t->id, now, agent->email, "attachments-not-mailed", fit.listing};
      e.internal = true;
      tx.add_event(e);
    }
  }
  auto outcome = change_ticket(tx, desk, *t, ch, agent->email, now);
  if (!outcome.refused.empty()) return tl::unexpected(outcome.refused.front());
  tx.touch_ticket(t->id, now);
  return outcome;
}

tl::expected<void, std::string> agent_writes(store::Transaction& tx, const Desk& desk, std::int64_t ticket_id,
                                             const std::string& agent_address, const std::string& text,
                                             bool internal_note, store::Time now) {
  if (trim(text).empty()) {
    if (!tx.agent(lower(agent_address)))
      return tl::unexpected(fmt::format("{} is not a registered agent (servicedesk agent add)", agent_address));
    if (!tx.ticket(ticket_id)) return tl::unexpected(fmt::format("no ticket {}", ticket_ref(desk.config(), ticket_id)));
    return tl::unexpected(std::string("the text is empty"));
  }
  AgentWork work;
  work.text = text;
  work.internal_note = internal_note;
  auto done = agent_writes(tx, desk, ticket_id, agent_address, work, now);
  if (!done) return tl::unexpected(done.error());
  return {};
}

}  // namespace sd
