// tests/store/copy_fixture.h: a desk for the tests of `store copy` (store/copy.h), filled
// through the store's interface only, with a row in every table a desk fills, and a dump of
// everything that interface reads back, so a copy is compared with its source as the desk
// sees them, whichever backend holds them.
//
// Contract: fill_desk() writes into an empty store and returns what the tests look for
// afterwards. dump() reads in a write transaction that it rolls back (the portal's checks
// of a login link, a rate counter and a form key are writes), so it changes nothing; lists
// whose order the store does not promise are sorted.
#pragma once

#include "store/estimates.h"
#include "store/notices.h"
#include "store/incidents.h"
#include "store/keep_informed.h"
#include "store/store.h"
#include "tests/support/new_ticket.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace sd::test {

// Every byte value, NULs and CR LF included, then the same backwards.
inline std::string all_256_bytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
  for (int i = 255; i >= 0; --i) s += static_cast<char>(i);
  return s;
}

struct FilledDesk {
  std::int64_t highest_ticket = 0;
  std::vector<std::string> session_hashes, login_tokens, rate_keys, form_keys;
};

inline store::AttachmentRecord copy_file(const std::string& name, const std::string& data, const std::string& type) {
  store::AttachmentRecord a;
  a.filename = name;
  a.content_type = type;
  a.size = static_cast<std::int64_t>(data.size());
  a.data = data;
  return a;
}

inline FilledDesk fill_desk(store::Store& st, store::Time now = 1'780'000'000) {
  using namespace store;
  FilledDesk f;
  auto tx = st.begin(Store::Mode::write);

  Organisation kund;
  kund.name = "Kund AB";
  kund.domains = {"kund.se", "kund.nu"};
  kund.sla = "standard-se";
  kund.language = "sv";
  kund.hypercare_start = "2026-05-04";
  kund.hypercare_weeks = 6;
  tx->add_organisation(kund);
  Organisation firma;
  firma.name = "Firma ApS";
  firma.domains = {"firma.dk"};
  firma.visibility = "own";
  tx->add_organisation(firma);
  kund.hypercare_ended_at = now - 10;
  tx->update_organisation(kund);
  tx->add_contact({"anna@kund.se", "Anna Andersson", "Kund AB", "inherit"});
  tx->add_contact({"bo@kund.se", "Bo Berg", "Kund AB", "own"});
  tx->add_contact({"dorte@firma.dk", "Dorte Dahl", "Firma ApS", "organisation"});
  tx->add_agent({"agnes@example.com", "Agnes Agent"});
  tx->add_agent({"sven@example.com", "Sven Support"});

  std::string raw_bytes = "From: Anna <anna@kund.se>\r\nSubject: Skrivaren\r\n\r\n" + all_256_bytes();
  RawMail raw;
  raw.received_at = now;
  raw.origin = MailOrigin{"INBOX", 7, 41};
  raw.message_id = "1@kund.se";
  raw.content_hash = "aa11";
  raw.bytes = raw_bytes;
  auto raw_id = tx->add_raw(raw);
  RawMail broken;
  broken.received_at = now + 1;
  broken.message_id = "";
  broken.content_hash = "bb22";
  broken.bytes = std::string_view("\x00\xff garbage\r\n", 12);
  broken.problems = "no From\nno Date";
  broken.quarantined = true;
  tx->add_raw(broken);

  auto t1 = tx->create_ticket(new_ticket("Skrivaren fungerar inte", "anna@kund.se", "Anna Andersson", now, "high"));
  auto nt2 = new_ticket("Fakturan för maj", "bo@kund.se", "Bo Berg", now + 60);
  nt2.organisation = "Kund AB";
  nt2.category = "support";
  nt2.hypercare = true;
  auto t2 = tx->create_ticket(nt2);
  auto nt3 = new_ticket("ALERT disk full on srv1", "monitor@firma.dk", "", now + 120, "highest");
  nt3.organisation = "Firma ApS";
  nt3.unverified = true;
  nt3.alert_key = "srv1/disk";
  auto t3 = tx->create_ticket(nt3);
  auto nt4 = new_ticket("Skrivaren igen", "anna@kund.se", "Anna Andersson", now + 180);
  nt4.refers_to = t1;
  auto t4 = tx->create_ticket(nt4);
  f.highest_ticket = t4;

  MessageRecord in;
  in.ticket_id = t1;
  in.direction = "in";
  in.raw_id = raw_id;
  in.message_id = "1@kund.se";
  in.from_addr = "anna@kund.se";
  in.from_name = "Anna Andersson";
  in.to = {"servicedesk@example.com"};
  in.cc = {"bo@kund.se", "chef@kund.se"};
  in.subject = "Skrivaren fungerar inte";
  in.date = now - 5;
  in.body_text = "Hej,\nskrivaren på plan 3 skriver ut tomma sidor.\n> citat\n";
  in.new_text = "Hej,\nskrivaren på plan 3 skriver ut tomma sidor.";
  in.created_at = now;
  in.attachments = {copy_file("bytes.bin", all_256_bytes(), "application/octet-stream"),
                    copy_file("skärmbild.png", std::string("\x89PNG\r\n\x1a\n\0\0", 10), "image/png"),
                    copy_file("huge.iso", "", "application/x-iso9660-image")};
  in.attachments[1].content_id = "img1@kund.se";
  in.attachments[1].is_inline = true;
  in.attachments[2].size = 900'000'000;  // kept = false: only the metadata
  tx->add_message(in);
  MessageRecord note;
  note.ticket_id = t1;
  note.direction = "in";
  note.message_id = "note.1@example.com";
  note.from_addr = "agnes@example.com";
  note.subject = "Note";
  note.body_text = "Toner beställd.";
  note.new_text = "Toner beställd.";
  note.automatic = "";
  note.created_at = now + 30;
  note.internal = true;
  tx->add_message(note);
  MessageRecord alert;
  alert.ticket_id = t3;
  alert.direction = "in";
  alert.message_id = "alert.9@firma.dk";
  alert.from_addr = "monitor@firma.dk";
  alert.subject = nt3.subject;
  alert.body_text = "filesystem /var 100% used";
  alert.new_text = alert.body_text;
  alert.automatic = "Auto-Submitted: auto-generated";
  alert.created_at = now + 120;
  tx->add_message(alert);

  auto files = tx->attachments(t1);
  OutboxItem reply;
  reply.ticket_id = t1;
  reply.kind = "reply";
  reply.mail_from = "servicedesk@example.com";
  reply.recipients = {"anna@kund.se", "Bo@Kund.se"};
  reply.message_id = "reply.1@example.com";
  reply.bytes = "Subject: Re: [SD-1] Skrivaren\r\n\r\nHej Anna!\r\n";
  reply.attachment_ids = {files.at(1).id, files.at(0).id};
  reply.next_attempt_at = reply.created_at = now + 40;
  auto o1 = tx->enqueue(reply);
  MessageRecord out;
  out.ticket_id = t1;
  out.direction = "out";
  out.outbox_id = o1;
  out.message_id = reply.message_id;
  out.from_addr = "servicedesk@example.com";
  out.to = {"anna@kund.se"};
  out.subject = "Re: [SD-1] Skrivaren";
  out.body_text = "Hej Anna! Ny toner kommer.";
  out.new_text = out.body_text;
  out.created_at = now + 40;
  tx->add_message(out);
  OutboxItem ack;
  ack.ticket_id = t2;
  ack.kind = "acknowledgement";
  ack.mail_from = "servicedesk@example.com";
  ack.recipients = {"bo@kund.se"};
  ack.message_id = "ack.2@example.com";
  ack.bytes = "Subject: [SD-2] Tack\r\n\r\n.\r\n";
  ack.next_attempt_at = ack.created_at = now + 61;
  auto o2 = tx->enqueue(ack);
  tx->mark_sent(o2, now + 62);
  OutboxItem bounced = ack;
  bounced.ticket_id.reset();
  bounced.kind = "login-link";
  bounced.recipients = {"nobody@kund.se"};
  bounced.message_id = "login.3@example.com";
  auto o3 = tx->enqueue(bounced);
  tx->mark_failed(o3, "550 no such user");
  OutboxItem waiting = ack;
  waiting.ticket_id = t3;
  waiting.kind = "agent-notification";
  waiting.recipients = {"agnes@example.com", "sven@example.com"};
  waiting.message_id = "notify.4@example.com";
  auto o4 = tx->enqueue(waiting);
  tx->mark_retry(o4, now + 600, "451 try later");
  tx->set_recipients(o4, {"sven@example.com"});

  tx->add_event({t1, now, "system", "created", "", false});
  tx->add_event({t1, now + 30, "agnes@example.com", "note", "Toner beställd.", true});
  tx->add_event({t2, now + 60, "operator:root", "status", "new -> pending", false});
  tx->write_status(t2, "pending", now + 70);
  tx->start_pause(t2, now + 70);
  tx->end_pause(t2, now + 400);
  tx->start_pause(t2, now + 500);
  tx->set_assignee(t1, "agnes@example.com", now + 31);
  tx->set_first_response(t1, now + 40);
  tx->set_sla_next_due(t1, now + 3600);
  tx->set_category(t1, "incident", now + 32);
  tx->write_status(t4, "resolved", now + 200);
  tx->set_resolved_at(t4, now + 200);
  tx->set_resolution(t4, "Ny skrivare.");
  tx->count_repeat(t3, now + 130);
  tx->count_repeat(t3, now + 140);
  // Fired out of key order: the copy keeps the order they fired in.
  tx->record_sla_event({t3, "resolution", "warning", now + 900, now + 901});
  tx->record_sla_event({t3, "first_response", "breach", now + 800, now + 902});
  tx->record_sla_event({t1, "update", "reminder", now + 700, now + 903});
  tx->add_time({t1, now + 35, "agnes@example.com", 900, "", ""});
  tx->add_time({t3, now + 150, "sven@example.com", 1800, "", ""});
  tx->set_cc(t1, {"bo@kund.se", "system", now, false}, false);
  tx->set_cc(t1, {"chef@kund.se", "system", now, false}, false);
  tx->set_cc(t1, {"chef@kund.se", "agnes@example.com", now + 33, true}, false);

  tx->set_mailbox({"INBOX", 7, 41, now + 2, 40});
  tx->set_in_flight({"INBOX", 7, {42, 43, 45}, 1, "run-abc"});

  f.login_tokens = {"tok-used", "tok-fresh"};
  tx->add_login_token("tok-used", "anna@kund.se", now, now + 900);
  tx->use_login_token("tok-used", now + 10);
  tx->add_login_token("tok-fresh", "dorte@firma.dk", now, now + 900);
  f.session_hashes = {"sess-anna", "sess-agnes"};
  tx->add_session("sess-anna", {"anna@kund.se", "contact", "csrf-1", now, now + 50});
  tx->add_session("sess-agnes", {"agnes@example.com", "agent", "csrf-2", now + 5, now + 55});
  f.rate_keys = {"login:anna@kund.se", "client:192.0.2.7"};
  tx->count_rate("login:anna@kund.se", now - now % 3600);
  tx->count_rate("login:anna@kund.se", now - now % 3600);
  tx->count_rate("client:192.0.2.7", now - now % 60);
  f.form_keys = {"form-1"};
  tx->use_form_key("form-1", now);

  tx->take_lease("mailbox:INBOX", "host1:123:1", 15);
  tx->take_lease("mailbox:INBOX", "host1:123:1", 15);
  DaemonRecord d;
  d.id = "host1:123:1";
  d.host = "host1";
  d.pid = 123;
  d.started_at = now;
  tx->heartbeat(d);
  OutboxItem claimed = ack;
  claimed.ticket_id = t2;
  claimed.kind = "status-pending";
  claimed.message_id = "status.5@example.com";
  claimed.next_attempt_at = now + 30;  // the only one due at now + 35
  tx->enqueue(claimed);
  tx->claim_outbox(now + 35, 10, "host1:123:1", 60);

  // Schema 13, estimates: one answered with its reminder, one awaiting, a month's notice.
  Estimate e;
  e.ticket_id = t2;
  e.seconds = 3 * 3600;
  e.text = "Bygga om flödet";
  e.agent = "agnes@example.com";
  e.requester = "anna@kund.se";
  e.organisation = "Kund AB";
  e.created_at = now + 40;
  auto answered = tx->estimates().add_estimate(e);
  tx->estimates().record_estimate_notice(answered, "customer-reminder", now + 41);
  tx->estimates().answer_estimate(answered, "approved", "anna@kund.se", now + 42, "mail", "Reply-To token, <a@kund.se>");
  e.seconds = 1800;
  tx->estimates().add_estimate(e);
  tx->estimates().record_allowance_notice("Kund AB", "2026-05", t2, "agnes@example.com", now + 43);

  // Maintenance notices (schema 13): one for every organisation, cancelled after it was
  // mailed, and one for Firma only.
  Notice everyone;
  everyone.kind = "infrastructure";
  everyone.starts_at = now + 7 * 86400;
  everyone.ends_at = everyone.starts_at + 3600;
  everyone.text = "Nya diskar.\n";
  everyone.text_sv = "Nya diskar, på svenska.\n";
  everyone.created_at = now;
  everyone.created_by = "operator:root";
  auto n1 = tx->notices().add_notice(everyone);
  tx->notices().record_notice_mail({n1, "anna@kund.se", "notice", "Kund AB", now});
  tx->notices().record_notice_mail({n1, "anna@kund.se", "cancellation", "Kund AB", now + 60});
  tx->notices().cancel_notice(n1, now + 60);
  Notice firma_only = everyone;
  firma_only.kind = "emergency";
  firma_only.all_organisations = false;
  firma_only.organisations = {"Firma ApS"};
  tx->notices().add_notice(firma_only);
  // A major incident (t4) with an organisation and an alert key; t1 linked, t3 unlinked.
  Incident inc;
  inc.ticket_id = t4;
  inc.title = "Inloggningen ligger nere";
  inc.declared_by = "agnes@example.com";
  inc.declared_at = now + 40;
  inc.organisations = {"Kund AB"};
  inc.alert_keys = {"login-down"};
  inc.root_cause = "Certifikat";
  tx->incidents().declare(inc);
  tx->incidents().link({t1, t4, "agnes@example.com", now + 41, "mail", "", std::nullopt});
  tx->incidents().link({t3, t4, "system", now + 42, "alert-key", "", std::nullopt});
  tx->incidents().unlink(t3, "agnes@example.com", now + 43);
  // Keeping customers informed (schema 13).
  auto& informed = tx->keep_informed();
  informed.set_account_agent("Kund AB", "agnes@example.com");
  informed.add_org_event({"Kund AB", now + 60, "agnes@example.com", "hypercare-extended", "2 weeks"});
  informed.record_org_mailing("Kund AB", "hypercare-summary:1", now + 70);
  informed.set_customer_words(t1, {now + 40, "Agnes", "Toner är på väg."});
  tx->commit();
  return f;
}

inline std::string dump_ticket(const store::Ticket& t) {
  return fmt::format(
      "ticket {} '{}' {} {} '{}' {} '{}' {} {} sla={} as='{}' fr={} res={} org='{}' unv={} hyp={} time={} alert='{}' rep={} "
      "refers={} due={} resolution='{}' msgs={}\n",
      t.id, t.subject, t.status, t.requester, t.requester_name, t.priority, t.category, t.created_at, t.updated_at, t.sla,
      t.assignee, t.first_response_at.value_or(-1), t.resolved_at.value_or(-1), t.organisation, t.unverified, t.hypercare,
      t.time_spent_s, t.alert_key, t.repeat_count, t.refers_to.value_or(-1), t.sla_next_due.value_or(-1), t.resolution,
      t.message_count);
}

inline std::string hex_of(const std::string& s) {
  std::string out;
  for (unsigned char c : s) out += fmt::format("{:02x}", c);
  return out;
}

// Everything the store's interface reads back of a desk fill_desk() made, as text.
inline std::string dump(store::Store& st, const FilledDesk& f) {
  using namespace store;
  std::string out;
  auto tx = st.begin(Store::Mode::write);  // rolled back: the portal's probes below are writes
  for (auto& o : tx->organisations()) {
    std::sort(o.domains.begin(), o.domains.end());
    out += fmt::format("org {} {} [{}] sla={} lang={} hc={}+{} ended={} vis={}\n", o.id, o.name, fmt::join(o.domains, ","),
                       o.sla, o.language, o.hypercare_start, o.hypercare_weeks, o.hypercare_ended_at.value_or(-1),
                       o.visibility);
    for (const auto& d : o.domains) out += fmt::format("domain {} -> {}\n", d, tx->organisation_of_domain(d).value_or("?"));
  }
  for (const auto& c : tx->contacts("")) out += fmt::format("contact {} '{}' {} {}\n", c.email, c.name, c.organisation, c.visibility);
  for (const auto& a : tx->agents()) out += fmt::format("agent {} '{}'\n", a.email, a.name);
  for (const auto& t : tx->tickets()) {
    out += dump_ticket(t);
    for (const auto& m : tx->messages(t.id)) {
      out += fmt::format("  message {} {} raw={} outbox={} <{}> {} '{}' to=[{}] cc=[{}] '{}' date={} body={} new={} auto='{}' "
                         "at={} internal={}\n",
                         m.id, m.direction, m.raw_id.value_or(-1), m.outbox_id.value_or(-1), m.message_id, m.from_addr,
                         m.from_name, fmt::join(m.to, ","), fmt::join(m.cc, ","), m.subject, m.date.value_or(-1),
                         hex_of(m.body_text), hex_of(m.new_text), m.automatic, m.created_at, m.internal);
      for (const auto& a : m.attachments)
        out += fmt::format("    carries {} #{} {}\n", a.id, a.number, a.filename);
    }
    for (const auto& a : tx->attachments(t.id)) {
      auto full = tx->attachment(t.id, a.number);
      out += fmt::format("  attachment {} #{} msg={} '{}' {} cid={} inline={} size={} kept={} internal={} at={} data={}\n",
                         a.id, a.number, a.message_id, a.filename, a.content_type, a.content_id, a.is_inline, a.size, a.kept,
                         a.internal, a.created_at, full ? hex_of(full->data) : "none");
    }
    for (const auto& c : tx->cc_entries(t.id))
      out += fmt::format("  cc {} by {} at {} removed={}\n", c.address, c.added_by, c.at, c.removed);
    for (const auto& e : tx->events(t.id)) out += fmt::format("  event {} {} {} '{}' {}\n", e.at, e.actor, e.kind, e.detail, e.internal);
    for (const auto& p : tx->pauses(t.id)) out += fmt::format("  pause {}..{}\n", p.from, p.to.value_or(-1));
    for (const auto& e : tx->sla_events(t.id))
      out += fmt::format("  sla {} {} due={} fired={}\n", e.target, e.kind, e.due, e.fired_at);
  }
  for (const char* status : {"pending", "sent", "failed"})
    for (const auto& o : tx->outbox(status))
      out += fmt::format("outbox {} t={} {} {} [{}] <{}> {} attempts={} next={} err='{}' at={} sent={}\n", o.id,
                         o.ticket_id.value_or(-1), o.kind, o.mail_from, fmt::join(o.recipients, ","), o.message_id, o.status,
                         o.attempts, o.next_attempt_at, o.last_error, o.created_at, o.sent_at.value_or(-1));
  for (const auto& o : tx->due_outbox(std::numeric_limits<Time>::max() / 2, 100))
    out += fmt::format("due {} bytes={} files=[{}]\n", o.id, hex_of(o.bytes), fmt::join(o.attachment_ids, ","));
  out += fmt::format("next attempt: {}\n", tx->next_outbox_attempt().value_or(-1));
  out += fmt::format("acks to bo: {}\n", tx->count_sent_or_queued("acknowledgement", "bo@kund.se", 0));
  for (const auto& q : tx->quarantined_mails()) {
    auto full = tx->quarantined_mail(q.raw_id);
    out += fmt::format("quarantine {} at={} <{}> '{}' {} ticket={} bytes={}\n", q.raw_id, q.received_at, q.message_id,
                       q.problems, q.quarantined, q.ticket_id.value_or(-1), full ? hex_of(full->bytes) : "none");
  }
  if (auto hit = tx->raw_at({"INBOX", 7, 41})) out += fmt::format("raw at INBOX/7/41: {}\n", hit->raw_id);
  if (auto hit = tx->raw_with("1@kund.se", "aa11")) out += fmt::format("raw with 1@kund.se: {}\n", hit->raw_id);
  if (auto m = tx->mailbox("INBOX"))
    out += fmt::format("mailbox {} {} {} {} {}\n", m->name, m->uidvalidity, m->last_uid, m->last_poll_at.value_or(-1), m->done_uid);
  if (auto fl = tx->in_flight("INBOX"))
    out += fmt::format("in flight {} [{}] deaths={} run={}\n", fl->uidvalidity, fmt::join(fl->uids, ","), fl->deaths, fl->run);
  for (const auto& e : tx->time_entries(0, std::numeric_limits<Time>::max()))
    out += fmt::format("time {} {} {} {}\n", e.ticket_id, e.at, e.agent, e.seconds);
  out += fmt::format("legacy tokens until: {}\n", tx->meta("legacy_tokens_until").value_or("-"));
  for (const auto& h : f.session_hashes)
    if (auto s = tx->session(h)) out += fmt::format("session {} {} {} {} {} {}\n", h, s->email, s->role, s->csrf, s->created_at, s->last_seen_at);
  for (const auto& t : f.login_tokens)
    out += fmt::format("login token {}: {}\n", t, tx->use_login_token(t, 1'780'000'100).value_or("unusable"));
  for (const auto& k : f.rate_keys)
    out += fmt::format("rate {}: {}\n", k, tx->count_rate(k, 1'780'000'000 - 1'780'000'000 % (k.starts_with("login") ? 3600 : 60)));
  for (const auto& k : f.form_keys) out += fmt::format("form key {} unused: {}\n", k, tx->use_form_key(k, 1'780'000'100));
  for (const auto& l : tx->leases()) out += fmt::format("lease {} {} epoch={} expires={}\n", l.name, l.holder, l.epoch, l.expires_at);
  for (const auto& d : tx->daemons(0))
    out += fmt::format("daemon {} {} {} {} {}\n", d.id, d.host, d.pid, d.started_at, d.heartbeat_at);
  for (std::int64_t id = 1; id <= f.highest_ticket; ++id)
    for (const auto& e : tx->estimates().estimates_of(id))
      out += fmt::format("estimate {} ticket {} {}s {} {} {} {} {} {} {} {} {} {} notices {}\n", e.id, e.ticket_id,
                         e.seconds, e.text, e.agent, e.requester, e.organisation, e.created_at, e.state, e.answered_by,
                         e.answered_at.value_or(-1), e.answered_via, e.answer_detail,
                         fmt::join(tx->estimates().estimate_notices(e.id), ","));
  out += fmt::format("allowance notice again: {}\n",
                     tx->estimates().record_allowance_notice("Kund AB", "2026-05", 1, "x", 1'780'000'100));
  for (const auto& n : tx->notices().notices()) {
    out += fmt::format("notice {} {} {}..{} all={} [{}] text={} sv={} da={} at={} by={} cancelled={}\n", n.id, n.kind,
                       n.starts_at, n.ends_at, n.all_organisations, fmt::join(n.organisations, ","), hex_of(n.text),
                       hex_of(n.text_sv), hex_of(n.text_da), n.created_at, n.created_by, n.cancelled_at.value_or(-1));
    for (const auto& m : tx->notices().notice_mails(n.id))
      out += fmt::format("  notice mail {} {} {} at={}\n", m.recipient, m.what, m.organisation, m.at);
  }
  for (const auto& t : tx->tickets()) {
    if (auto i = tx->incidents().incident(t.id))
      out += fmt::format("incident {} '{}' {} {} all={} orgs=[{}] keys=[{}] rca='{}' followup='{}'\n", i->ticket_id, i->title,
                         i->declared_by, i->declared_at, i->all_organisations, fmt::join(i->organisations, ","),
                         fmt::join(i->alert_keys, ","), i->root_cause, i->follow_up);
    if (auto l = tx->incidents().link_of(t.id))
      out += fmt::format("incident link {} -> {} by {} at {} {} unlinked by '{}' at {}\n", l->ticket_id, l->incident_id,
                         l->linked_by, l->linked_at, l->how, l->unlinked_by, l->unlinked_at.value_or(-1));
  }
  return out;
}

}  // namespace sd::test
