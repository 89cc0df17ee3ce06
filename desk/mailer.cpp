// desk/mailer.cpp: queues outgoing mail in the caller's transaction (see mailer.h; its
// security note says which recipients are refused).
#include "desk/mailer.h"

#include "core/log.h"
#include "core/text.h"
#include "desk/from_portal.h"
#include "desk/ingest.h"
#include "desk/keep_informed.h"
#include "notify/templates.h"

namespace sd {

std::string domain_of(const std::string& addr) {
  auto at = addr.find('@');
  return at == std::string::npos ? "localhost" : addr.substr(at + 1);
}

void thread_on_ticket(store::Transaction& tx, std::int64_t ticket_id, notify::Draft& d) {
  auto msgs = tx.messages(ticket_id);
  std::vector<std::string> ids;
  for (const auto& m : msgs)
    if (notify::valid_msg_id(m.message_id)) ids.push_back(m.message_id);
  if (ids.empty()) return;
  d.in_reply_to = ids.back();
  d.references = {ids.front()};
  if (ids.size() > 1) d.references.push_back(ids.back());
}

std::optional<QueuedMail> queue_mail(store::Transaction& tx, const Config& c, MailToQueue mail, store::Time now) {
  auto& d = mail.draft;
  std::string ticket = mail.ticket_id ? ticket_ref(c, *mail.ticket_id) : std::string("no ticket");
  if (!notify::valid_addr_spec(mail.to.email)) {
    // The address is the sender's bytes: the log shows it as printable text only.
    log::warning("{}: {} not queued: '{}' is not a mail address we can send to", ticket, mail.kind,
                 printable(utf8_prefix(mail.to.email, 200)));
    return std::nullopt;
  }
  if (!notify::valid_addr_spec(c.service.address) || (!d.from.email.empty() && !notify::valid_addr_spec(d.from.email))) {
    log::warning("{}: {} not queued: the service address is not a mail address we can send from", ticket, mail.kind);
    return std::nullopt;
  }
  d.to = {mail.to};
  d.cc.clear();
  for (const auto& cc : mail.cc) {
    if (notify::valid_addr_spec(cc.email) && lower(cc.email) != lower(mail.to.email)) d.cc.push_back(cc);
    else if (!notify::valid_addr_spec(cc.email))
      log::warning("{}: {}: Cc '{}' left out: not a mail address we can send to", ticket, mail.kind,
                   printable(utf8_prefix(cc.email, 200)));
  }
  d.date = now;
  if (d.from.email.empty()) d.from = {c.service.name, c.service.address};
  d.message_id_domain = domain_of(c.service.address);
  if (mail.ticket_id) d.extra_headers.emplace_back("X-Servicedesk-Ticket", ticket_ref(c, *mail.ticket_id));
  auto composed = notify::compose(d);

  store::OutboxItem o;
  o.ticket_id = mail.ticket_id;
  o.kind = mail.kind;
  o.mail_from = c.service.address;
  o.recipients = {mail.to.email};
  for (const auto& cc : d.cc) o.recipients.push_back(cc.email);
  o.attachment_ids = mail.attachment_ids;
  o.message_id = composed.message_id;
  o.bytes = composed.bytes;
  o.next_attempt_at = now;
  o.created_at = now;
  QueuedMail q{composed.message_id, tx.enqueue(o)};

  if (mail.ticket_id && mail.record) {
    store::MessageRecord out;
    out.ticket_id = *mail.ticket_id;
    out.direction = "out";
    out.outbox_id = q.outbox_id;
    out.message_id = composed.message_id;
    out.from_addr = d.from.email;
    out.from_name = d.from.name;
    out.to = {lower(mail.to.email)};
    for (const auto& cc : d.cc) out.cc.push_back(lower(cc.email));
    out.subject = d.subject;
    out.date = now;
    out.body_text = d.body_text;
    out.new_text = d.body_text;
    out.automatic = d.auto_submitted;
    out.created_at = now;
    tx.add_message(out);
  }
  return q;
}

std::vector<notify::Mailbox> cc_recipients(store::Transaction& tx, const store::Ticket& t) {
  std::vector<notify::Mailbox> cc;
  for (const auto& e : tx.cc_entries(t.id))
    if (!e.removed && e.address != t.requester) {
      auto contact = tx.contact(e.address);
      cc.push_back({contact ? contact->name : "", e.address});
    }
  return cc;
}

std::string mail_subject(const Desk& desk, const store::Ticket& t) {
  return notify::subject_without_tags(t.subject, desk.config().service.ticket_prefix, desk.templates().subject_words());
}

std::map<std::string, std::string> customer_vars(const Desk& desk, const store::Ticket& t, const notify::Mailbox& to) {
  const auto& c = desk.config();
  return {{"ticket", ticket_ref(c, t.id)},
          {"subject", mail_subject(desk, t)},
          {"requester_name", to.name.empty() ? to.email : to.name},
          {"requester_first_name", notify::first_name(to.name)},
          {"service_name", c.service.name},
          {"continues", t.refers_to ? ticket_ref(c, *t.refers_to) : ""},
          {"portal_link", portal_link(c, t.id)}};
}

void mail_customer(store::Transaction& tx, const Desk& desk, const store::Ticket& t, const std::string& kind,
                   const std::string& text, const std::string& agent_name, store::Time now,
                   const std::vector<std::int64_t>& attachment_ids) {
  const auto& c = desk.config();
  const auto& tpl = desk.templates().get(kind, language_of(tx, c, t));
  auto vars = customer_vars(desk, t, {t.requester_name, t.requester});
  vars["agent_name"] = agent_name.empty() ? c.service.name : agent_name;
  vars["agent"] = agent_name;
  vars["text"] = text.empty() ? "" : text + "\n";
  MailToQueue q;
  q.ticket_id = t.id;
  q.kind = kind;
  q.to = {t.requester_name, t.requester};
  q.cc = cc_recipients(tx, t);
  q.attachment_ids = attachment_ids;
  q.draft.from = {agent_name.empty() ? c.service.name : agent_name + " (" + c.service.name + ")", c.service.address};
  q.draft.subject = notify::render(tpl.subject, vars);
  q.draft.body_text = notify::render(tpl.body, vars);
  thread_on_ticket(tx, t.id, q.draft);
  if (queue_mail(tx, c, q, now)) {
    tx.add_event({t.id, now, "system", "customer-notified", kind});
    // The words the customer got: what a later customer update quotes (desk/keep_informed.h).
    remember_customer_words(tx, t.id, agent_name, text, now);
  }
  else tx.add_event({t.id, now, "system", "customer-not-notified", kind + ": the requester's address cannot be mailed"});
}

std::string language_of(store::Transaction& tx, const Config& c, const store::Ticket& t) {
  if (!t.organisation.empty())
    if (auto org = tx.organisation(t.organisation); org && !org->language.empty()) return org->language;
  return c.service.language;
}

}  // namespace sd
