// desk/visibility.cpp: see visibility.h.
#include "desk/visibility.h"

#include <algorithm>

namespace sd {

Party party_of(store::Transaction& tx, const std::string& address, bool ambiguous) {
  Party p{address, std::nullopt, std::nullopt};
  if (ambiguous || address.empty()) return p;
  p.agent = tx.agent(address);
  p.contact = tx.contact(address);
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

bool may_see(store::Transaction& tx, const store::Ticket& t, const Party& p) {
  if (p.agent) return true;
  if (p.contact && !t.organisation.empty() && p.contact->organisation == t.organisation) return true;
  return !p.address.empty() && on_thread(tx, t, p.address);
}

bool may_join(store::Transaction& tx, const store::Ticket& t, const Party& p) { return may_see(tx, t, p); }

}  // namespace sd
