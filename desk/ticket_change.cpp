// desk/ticket_change.cpp: see ticket_change.h.
#include "desk/ticket_change.h"

#include "core/text.h"
#include "desk/estimates.h"
#include "desk/incidents.h"
#include "desk/mailer.h"

#include <fmt/format.h>

#include <algorithm>

namespace sd {
namespace {

std::string arrow(const std::string& from, std::string_view to) {
  return fmt::format("{} -> {}", from.empty() ? "(none)" : from, to);
}

// Status, SLA pauses and resolved_at move together.
void write_status(store::Transaction& tx, const store::Ticket& t, Status from, Status to, store::Time now) {
  tx.write_status(t.id, std::string(to_string(to)), now);
  if (pauses_sla(to) && !pauses_sla(from)) tx.start_pause(t.id, now);
  if (!pauses_sla(to) && pauses_sla(from)) tx.end_pause(t.id, now);
  if (is_done(to) && !t.resolved_at) tx.set_resolved_at(t.id, now);
  if (!is_done(to) && t.resolved_at) tx.set_resolved_at(t.id, std::nullopt);
}

// The customer's mail for a change: the agent's words framed by the new status, or the
// resolution template alone when a case is resolved without words.
std::optional<std::string> customer_mail_kind(Status from, Status to, bool words) {
  if (words) {
    if (to == Status::pending) return "status-pending";
    if (to == Status::resolved) return "status-resolved";
    if (from == Status::new_) return "status-open";
    return "reply";
  }
  if (to == Status::resolved && from != Status::resolved) return "status-resolved";
  return std::nullopt;
}

}  // namespace

void set_status(store::Transaction& tx, std::int64_t id, Status status, store::Time now) {
  auto t = tx.ticket(id);
  if (!t) throw store::StoreError(fmt::format("store: no ticket {}", id), false, true);
  auto from = parse_status(t->status).value_or(Status::open);
  if (from != status) write_status(tx, *t, from, status, now);
}

ChangeOutcome change_ticket(store::Transaction& tx, const Desk& desk, const store::Ticket& t,
                            const TicketChange& ch, const std::string& actor, store::Time now) {
  ChangeOutcome out;
  Status from = parse_status(t.status).value_or(Status::open);
  out.status = from;
  if (ch.assignee && !ch.assignee->empty() && !tx.agent(*ch.assignee))
    out.refused.push_back(fmt::format("{} is not a registered agent (servicedesk agent add)", *ch.assignee));
  if (ch.status == Status::awaiting_approval && !ch.from_estimate && from != Status::awaiting_approval)
    out.refused.push_back("awaiting-approval comes with an estimate only: #estimate 3h TEXT, or servicedesk ticket "
                          "estimate");
  if (!out.refused.empty()) return out;

  auto event = [&](const std::string& kind, const std::string& detail, bool internal = false) {
    store::Event e{t.id, now, actor, kind, detail};
    e.internal = internal;
    tx.add_event(e);
  };
  if (ch.priority && to_string(*ch.priority) != t.priority) {
    tx.set_priority(t.id, std::string(to_string(*ch.priority)), now);
    event("priority", arrow(t.priority, to_string(*ch.priority)));
  }
  if (ch.category) change_category(tx, desk.config(), t, std::string(to_string(*ch.category)), actor, now);
  if (ch.assignee && *ch.assignee != t.assignee) {
    tx.set_assignee(t.id, *ch.assignee, now);
    event("assign", arrow(t.assignee, ch.assignee->empty() ? "(none)" : *ch.assignee));
  }
  if (ch.time_s > 0) {
    tx.add_time({t.id, now, actor, ch.time_s, "", ""});
    event("time", fmt::format("{} min", ch.time_s / 60));
    note_time_against_allowance(tx, desk, *tx.ticket(t.id), ch.time_s, actor, now);
  }
  for (const auto& cc : ch.cc) {
    store::CcEntry e{cc.address, actor, now, !cc.add};
    if (tx.set_cc(t.id, e, true)) event("cc", (cc.add ? "added " : "removed ") + cc.address);
  }
  // Files without a word still go to the customer, as the agent's answer.
  bool words = !ch.note && (!ch.text.empty() || !ch.attachment_ids.empty());
  Status to = ch.status.value_or(from == Status::new_ && words ? Status::open : from);
  if (to != from) {
    write_status(tx, t, from, to, now);
    event(ch.status_event, arrow(t.status, to_string(to)) + (ch.why.empty() ? "" : " (" + ch.why + ")"));
    if (from == Status::awaiting_approval)
      withdraw_awaiting_estimate(tx, t.id, actor, fmt::format("the status was set to {}", to_string(to)), now);
  }
  out.status = to;
  if (ch.note) event("note", utf8_prefix(ch.text, 200), true);
  if (to == Status::resolved && !ch.note && !ch.text.empty()) tx.set_resolution(t.id, ch.text);

  const bool incident = tx.incidents().incident(t.id).has_value();
  if (auto kind = customer_mail_kind(from, to, words); kind && !ch.quiet && !incident) {
    auto now_t = *tx.ticket(t.id);
    mail_customer(tx, desk, now_t, *kind, words ? ch.text : "", ch.agent_name, now, ch.attachment_ids);
    tx.set_first_response(t.id, now);
    event("reply", "answer mailed to " + now_t.requester);
    out.mail_queued = true;
  }
  refresh_sla_due(tx, desk, t.id, now);
  // A major incident resolved: its linked tickets with it (desk/incidents.h).
  if (incident && to == Status::resolved && from != Status::resolved) {
    std::string resolution = ch.note || ch.text.empty() ? tx.ticket(t.id)->resolution : ch.text;
    if (resolve_linked_tickets(tx, desk, t.id, resolution, ch.agent_name, actor, now) > 0) out.mail_queued = true;
  }
  return out;
}

std::optional<store::Time> first_sla_due(const Desk& desk, const store::NewTicket& nt, store::Time now) {
  store::Ticket t;
  t.status = to_string(Status::new_);
  t.sla = nt.sla;
  t.priority = nt.priority;
  t.created_at = nt.created_at;
  return next_sla_due(desk.clock().evaluate(t, {}, now).deadlines, {});
}

std::optional<store::Ticket> refresh_sla_due(store::Transaction& tx, const Desk& desk, std::int64_t id,
                                             store::Time now) {
  auto t = tx.ticket(id);
  if (!t) return t;
  std::optional<store::Time> next;
  if (is_open(parse_status(t->status).value_or(Status::open)))
    next = next_sla_due(desk.clock().evaluate(*t, tx.pauses(id), now).deadlines, tx.sla_events(id));
  if (next != t->sla_next_due) {
    tx.set_sla_next_due(id, next);
    t->sla_next_due = next;
  }
  return t;
}

}  // namespace sd
