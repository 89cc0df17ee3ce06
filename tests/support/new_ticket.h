// tests/support/new_ticket.h: a ticket to create in a store test, with the fields a test names,
// and an acknowledgement to queue in its outbox.
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

// An acknowledgement to `to`, queued and due at 100 (Message-ID ack.TO).
inline store::OutboxItem queued_ack(const std::string& to) {
  store::OutboxItem o;
  o.kind = "acknowledgement";
  o.mail_from = "servicedesk@example.com";
  o.recipients = {to};
  o.message_id = "ack." + to;
  o.bytes = "Subject: [SD-1] Tack\r\n\r\nTack.\r\n";
  o.next_attempt_at = o.created_at = 100;
  return o;
}

}  // namespace sd::test
