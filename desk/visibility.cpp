// desk/visibility.cpp: see visibility.h.
#include "desk/visibility.h"

#include "desk/mailer.h"

#include <algorithm>

namespace sd {

Party party_of(store::Transaction& tx, const std::string& address, bool ambiguous) {
  Party p{address, std::nullopt, std::nullopt, std::nullopt};
  if (address.empty()) return p;
  auto found = tx.look_up_sender(address, domain_of(address));
  p.domain_organisation = std::move(found.domain_organisation);
  if (ambiguous) return p;  // several From addresses: none of them is trusted as the sender
  p.agent = std::move(found.agent);
  p.contact = std::move(found.contact);
  return p;
}

bool on_thread(store::Transaction& tx, const store::Ticket& t, const std::string& addr) {
  if (t.requester == addr) return true;
  for (const auto& msg : tx.messages(t.id)) {
    if (msg.internal) continue;
    if (msg.from_addr == addr) return true;
    for (const auto* list : {&msg.to, &msg.cc})
      if (std::find(list->begin(), list->end(), addr) != list->end()) return true;
  }
  return false;
}

std::string effective_visibility(store::Transaction& tx, const store::Contact& c) {
  std::string v = c.visibility;
  if (v.empty() || v == "inherit") {
    auto org = tx.organisation(c.organisation);
    v = org ? org->visibility : "own";
  }
  return v == "organisation" ? v : "own";
}

namespace {

bool on_cc_list(store::Transaction& tx, const store::Ticket& t, const std::string& addr) {
  auto cc = tx.cc_entries(t.id);
  return std::any_of(cc.begin(), cc.end(), [&](const store::CcEntry& e) { return !e.removed && e.address == addr; });
}

}  // namespace

// Kept in step with the store's scope filter (TicketQuery::visible_to): requester, Cc list
// not removed, organisation when visible.
bool may_see(store::Transaction& tx, const store::Ticket& t, const Party& p) {
  if (p.agent) return true;
  if (p.address.empty()) return false;
  if (p.contact) {
    if (t.requester == p.address || on_cc_list(tx, t, p.address)) return true;
    return !t.organisation.empty() && t.organisation == p.contact->organisation &&
           effective_visibility(tx, *p.contact) == "organisation";
  }
  return on_thread(tx, t, p.address);
}

bool may_join(store::Transaction& tx, const store::Ticket& t, const Party& p) { return may_see(tx, t, p); }

std::optional<store::TicketQuery> scope_for(store::Transaction& tx, const Party& p) {
  if (p.agent) return store::TicketQuery{};
  if (!p.contact || p.address.empty()) return std::nullopt;
  store::TicketQuery q;
  q.visible_to = p.address;
  if (effective_visibility(tx, *p.contact) == "organisation") q.visible_organisation = p.contact->organisation;
  return q;
}

}  // namespace sd
