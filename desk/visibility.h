// desk/visibility.h: who may see a ticket and who may add to it. One rule for mail, the
// command line and the portal.
//
// Security: a customer sees only their organisation's tickets and those whose thread they
// are on. Internal messages (notes, mails kept but not applied) put nobody on a thread: they
// passed no visibility rule. A mail with several From addresses speaks for none of them, so
// it carries no agent's or contact's rights (party_of with `ambiguous`).
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
};
Party party_of(store::Transaction& tx, const std::string& address, bool ambiguous = false);

// Whether `address` took part in the ticket's customer-visible thread (its requester, or an
// earlier From, To or Cc of a message that is not internal).
bool on_thread(store::Transaction& tx, const store::Ticket& t, const std::string& address);

// Agents see every ticket; a contact sees their organisation's; anyone sees a ticket whose
// thread they are on.
bool may_see(store::Transaction& tx, const store::Ticket& t, const Party& p);
// Whether a mail from `p` that refers to the ticket joins it (else it opens a new ticket):
// the same rule as may_see, so a reference cannot be used to read or write another
// organisation's ticket.
bool may_join(store::Transaction& tx, const store::Ticket& t, const Party& p);

}  // namespace sd
