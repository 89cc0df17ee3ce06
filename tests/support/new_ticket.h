// tests/support/new_ticket.h: a ticket to create in a store test, with the fields a test names.
#pragma once

#include "store/store.h"

namespace sd::test {

inline store::NewTicket new_ticket(std::string subject, std::string requester, std::string name, store::Time at,
                                   std::string priority = "medium") {
  store::NewTicket t;
  t.subject = std::move(subject);
  t.requester = std::move(requester);
  t.requester_name = std::move(name);
  t.created_at = at;
  t.sla = "standard";
  t.priority = std::move(priority);
  return t;
}

}  // namespace sd::test
