// desk/visibility.h: who may see a ticket and who may add to it. One rule for mail, the
// command line and the portal.
//
// The rule (may_see):
// - an agent sees every ticket;
// - a registered contact sees the tickets they requested, those whose Cc list they are on
//   (not removed by an agent), and, when their effective visibility is "organisation", all
//   of their organisation's. Effective visibility: the contact's own setting, or their
//   organisation's when the contact's is "inherit" (organisation: "organisation", the
//   seed's default, or "own"). The Cc list is how a contact is "on the thread": the desk
//   keeps the organisation's contacts named in a mail's From/To/Cc on it
//   (desk/ingest.cpp: keep_contacts_on_cc), and an agent's #cc remove takes them off;
// - anyone else (an address the directory does not know) sees a ticket they requested or
//   whose customer-visible thread they are on (on_thread): so a stranger the customer put
//   in Cc can answer by mail. Strangers have no portal sign-in, so this reaches mail only.
// may_join is may_see: a mail joins a ticket only if its sender may see it.
//
// scope_for turns a party into the store query of the tickets they may see, so a list
// (portal, API) and may_see never disagree; tests/desk/test_desk_visibility.cpp checks it.
//
// Security: internal messages (notes, mails kept but not applied) put nobody on a thread:
// they passed no visibility rule. A mail with several From addresses speaks for none of
// them, so it carries no agent's or contact's rights (party_of with `ambiguous`).
#pragma once

#include "store/store.h"

#include <optional>
#include <string>

namespace sd {

// Someone a ticket is seen by or mailed from, with the rights the directory gives them.
struct Party {
  std::string address;  // lower case
  std::optional<store::Agent> agent;
  std::optional<store::Contact> contact;
  std::optional<std::string> domain_organisation;  // the organisation of the address's mail domain
};
Party party_of(store::Transaction& tx, const std::string& address, bool ambiguous = false);

// Whether `address` took part in the ticket's customer-visible thread (its requester, or an
// earlier From, To or Cc of a message that is not internal).
bool on_thread(store::Transaction& tx, const store::Ticket& t, const std::string& address);

// "organisation" or "own": the contact's setting, or its organisation's for "inherit" (and
// for an organisation that is gone or a value the store should not hold: "own", the narrower).
std::string effective_visibility(store::Transaction& tx, const store::Contact& c);

// See the rule above.
bool may_see(store::Transaction& tx, const store::Ticket& t, const Party& p);
// Whether a mail from `p` that refers to the ticket joins it (else it opens a new ticket):
// the same rule as may_see, so a reference cannot be used to read or write another
// organisation's ticket.
bool may_join(store::Transaction& tx, const store::Ticket& t, const Party& p);

// The filter of the tickets `p` may see, for find_tickets/count_tickets (add statuses, a
// search, sort and paging to it): for an agent no restriction, for a contact their scope
// (TicketQuery::visible_to, visible_organisation). nullopt for anyone else: they have no
// list (the portal signs in only agents and contacts).
std::optional<store::TicketQuery> scope_for(store::Transaction& tx, const Party& p);

}  // namespace sd
