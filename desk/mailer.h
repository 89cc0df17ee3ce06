// desk/mailer.h: queues the service desk's outgoing mails in the outbox, inside the
// caller's transaction, so a mail goes out if and only if the change that causes it commits.
//
// Contract: queue_mail() composes (notify/), writes the outbox row and, when the mail
// belongs to a ticket and `record` is set, an "out" message on the ticket, whose
// Message-ID later replies thread on. Nothing is sent here: the outbox worker sends.
//
// Security: the recipient is usually an address a mail named (From, Reply-To). A mail
// to an address that is not an RFC 5321 Mailbox (notify::valid_addr_spec: no comma, space,
// control or 8-bit byte, one @) is not queued at all: queue_mail() logs a warning and
// returns no QueuedMail. The change that caused it still commits (the ticket is kept).
#pragma once

#include "config/config.h"
#include "desk/desk.h"
#include "notify/compose.h"
#include "store/store.h"

#include <map>
#include <optional>
#include <string>

namespace sd {

struct QueuedMail {
  std::string message_id;
  std::int64_t outbox_id = 0;
};

struct MailToQueue {
  std::optional<std::int64_t> ticket_id;
  std::string kind;        // outbox kind: acknowledgement, agent-notification, status-open, reply, ...
  notify::Mailbox to;
  std::vector<notify::Mailbox> cc;        // an address we cannot send to is left out (logged)
  std::vector<std::int64_t> attachment_ids;  // attachment rows the outbox adds at send time
  notify::Draft draft;     // from, subject, body, threading; `to` and date are filled in here
  bool record = true;      // keep an "out" message on the ticket
};

// std::nullopt: not queued, because the recipient or our own address is not a mail address
// we can send to (logged as a warning).
std::optional<QueuedMail> queue_mail(store::Transaction& tx, const Config& c, MailToQueue mail, store::Time now);

// The Message-IDs a new mail on this ticket should thread on: the first message and the
// latest one, among those that are valid msg-ids (a foreign one may not be).
void thread_on_ticket(store::Transaction& tx, std::int64_t ticket_id, notify::Draft& draft);

std::string domain_of(const std::string& address);

// The ticket's subject as our mails carry it after our tag: without our own tags, the Re:/SV:/
// Fwd: in front of them and our subjects' words after them (notify::subject_without_tags), so
// a ticket opened by an answer to a closed one's mail reads "[SD-17] Skrivaren", not
// "[SD-17] Re: [SD-1] Löst: Skrivaren". Every kind's {{subject}}, agents' too.
std::string mail_subject(const Desk& desk, const store::Ticket& t);

// The placeholders every mail to the customer of ticket `t` shares, for the mail to `to`:
// ticket, subject (mail_subject()), requester_name (to's name, else address),
// requester_first_name (notify::first_name of to's name), service_name, continues (the
// closed ticket `t` continues, or nothing), portal_link (the ticket's page on the portal,
// or nothing when portal.base_url is unset). The caller adds its kind's own.
std::map<std::string, std::string> customer_vars(const Desk& desk, const store::Ticket& t, const notify::Mailbox& to);

// The customer's mail of `kind` (a template: status-open, status-pending, ..., reply) on
// their ticket, in their organisation's language, from the agent by name where given; to the
// requester with the ticket's Cc list (cc_recipients), carrying `attachment_ids`.
void mail_customer(store::Transaction& tx, const Desk& desk, const store::Ticket& t, const std::string& kind,
                   const std::string& text, const std::string& agent_name, store::Time now,
                   const std::vector<std::int64_t>& attachment_ids = {});

// Who the ticket's customer mails go to in Cc: its Cc list without removed entries and
// without the requester.
std::vector<notify::Mailbox> cc_recipients(store::Transaction& tx, const store::Ticket& t);

// The language of the ticket's customer: their organisation's, else the service's.
std::string language_of(store::Transaction& tx, const Config& c, const store::Ticket& t);

}  // namespace sd
