// desk/keep_informed.cpp: see keep_informed.h.
//
// Security: a ticket's subject and the agents' words are the customer's and the agents' own
// text, inserted into mails as values (never read as template text, notify/templates.h); a
// weekly summary lists to each contact only the tickets desk/visibility.h lets them see, so
// a contact whose visibility is "own" never learns of a colleague's ticket through it.
#include "desk/keep_informed.h"

#include "core/log.h"
#include "core/text.h"
#include "core/vocabulary.h"
#include "desk/directory.h"
#include "desk/ingest.h"
#include "desk/mailer.h"
#include "desk/sla_clock.h"
#include "desk/visibility.h"
#include "notify/templates.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

namespace sd {
namespace {

constexpr std::size_t kQuotedLines = 15;      // of the agents' last words in a customer update
constexpr std::size_t kQuotedBytes = 1500;
constexpr std::size_t kSummaryLines = 50;     // tickets listed per section of a weekly summary

sla::Instant instant(store::Time t) { return sla::Instant(std::chrono::seconds(t)); }

void org_event(store::Transaction& tx, const std::string& org, const std::string& actor, const std::string& kind,
               const std::string& detail, store::Time now) {
  tx.keep_informed().add_org_event({org, now, actor, kind, detail});
}

// The agents' words as a quote: "> " before each line, bounded.
std::string quoted(const std::string& words) {
  std::string text = utf8_prefix(trim(words), kQuotedBytes), out;
  std::size_t lines = 0, pos = 0;
  while (pos <= text.size() && lines < kQuotedLines) {
    auto nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out += (line.empty() ? ">" : "> " + line) + "\n";
    ++lines;
    if (nl == std::string::npos) return out;
    pos = nl + 1;
  }
  return out + "> ...\n";
}

std::optional<store::Organisation> organisation_or_refuse(store::Transaction& tx, const std::string& name) {
  auto o = tx.organisation(name);
  if (!o) throw KeepInformedError(fmt::format("no organisation '{}'", name), false);
  return o;
}

// The last day of a hypercare period ending (exclusive) at `end`: the day before a natural
// end (midnight UTC), the day itself of one ended early.
std::string last_day(store::Time end) { return utc_day(end - 1); }

std::string language_of_org(const Config& c, const store::Organisation& o) {
  return o.language.empty() ? c.service.language : o.language;
}

// "  SD-3  Skrivaren (open and being worked on)" for each ticket, at most kSummaryLines.
std::string ticket_lines(const Desk& desk, const std::vector<store::Ticket>& tickets, const std::string& lang) {
  std::string out;
  for (std::size_t i = 0; i < tickets.size() && i < kSummaryLines; ++i)
    out += fmt::format("  {}  {} ({})\n", desk.ref(tickets[i].id), printable(utf8_prefix(mail_subject(desk, tickets[i]), 120)),
                       notify::status_words(tickets[i].status, lang));
  if (tickets.size() > kSummaryLines) out += fmt::format("  ... (+{})\n", tickets.size() - kSummaryLines);
  return out;
}

void ask_to_confirm(store::Transaction& tx, const Desk& desk, const store::Organisation& o,
                    const HypercarePeriod& period, store::Time now) {
  const auto& c = desk.config();
  store::TicketQuery q;
  q.organisation = o.name;
  for (auto st : kStatuses)
    if (is_open(st)) q.statuses.emplace_back(to_string(st));
  const auto& tpl = desk.templates().get("hypercare-confirm", "en");
  std::map<std::string, std::string> vars = {{"organisation", o.name},
                                             {"start", o.hypercare_start},
                                             {"weeks", std::to_string(o.hypercare_weeks)},
                                             {"end", last_day(period.end)},
                                             {"open_count", std::to_string(tx.count_tickets(q))}};
  auto to = hypercare_recipients(tx, c, o.name);
  if (to.empty()) {
    log::warning("organisation {}: hypercare ends after {}; nobody to ask to confirm or extend: no agent is "
                 "registered and neither agents.team_address nor sla.agents_address is set",
                 o.name, last_day(period.end));
  }
  for (const auto& addr : to) {
    MailToQueue m;
    m.kind = "hypercare-confirm";
    auto agent = tx.agent(addr);
    m.to = {agent ? agent->name : "", addr};
    m.record = false;
    m.draft.subject = notify::render(tpl.subject, vars);
    m.draft.body_text = notify::render(tpl.body, vars);
    m.draft.auto_submitted = "auto-generated";
    queue_mail(tx, c, m, now);
  }
  std::string told;
  for (const auto& a : to) told += (told.empty() ? "" : ", ") + a;
  org_event(tx, o.name, "system", "hypercare-confirmation-asked",
            fmt::format("ends after {}; asked {}", last_day(period.end), told.empty() ? "nobody" : told), now);
  log::notice("organisation {}: hypercare ends after {}; asked {} to confirm or extend", o.name, last_day(period.end),
              told.empty() ? "nobody" : told);
}

// The summary of week [from, to) of hypercare to each of the organisation's contacts.
void send_summary(store::Transaction& tx, const Desk& desk, const store::Organisation& o, const HypercarePeriod& period,
                  store::Time from, store::Time to, store::Time now) {
  const auto& c = desk.config();
  std::string lang = language_of_org(c, o);
  store::TicketQuery q;
  q.organisation = o.name;
  for (auto st : kStatuses)
    if (is_open(st)) q.statuses.emplace_back(to_string(st));
  auto open = tx.find_tickets(q);
  std::vector<store::Ticket> resolved;
  for (auto id : tx.keep_informed().tickets_resolved(o.name, from, to))
    if (auto t = tx.ticket(id)) resolved.push_back(std::move(*t));
  const auto& tpl = desk.templates().get("hypercare-summary", lang);
  int sent = 0;
  for (const auto& contact : tx.contacts(o.name)) {
    auto party = party_of(tx, contact.email);
    std::vector<store::Ticket> open_seen, resolved_seen;
    for (const auto& t : open)
      if (may_see(tx, t, party)) open_seen.push_back(t);
    for (const auto& t : resolved)
      if (may_see(tx, t, party)) resolved_seen.push_back(t);
    std::map<std::string, std::string> vars = {{"organisation", o.name},
                                               {"name", notify::first_name(contact.name)},
                                               {"service_name", c.service.name},
                                               {"from", utc_day(from)},
                                               {"to", last_day(to)},
                                               {"hypercare_end", last_day(period.end)},
                                               {"open_count", std::to_string(open_seen.size())},
                                               {"open_tickets", ticket_lines(desk, open_seen, lang)},
                                               {"resolved_count", std::to_string(resolved_seen.size())},
                                               {"resolved_tickets", ticket_lines(desk, resolved_seen, lang)}};
    MailToQueue m;
    m.kind = "hypercare-summary";
    m.to = {contact.name, contact.email};
    m.record = false;
    m.draft.subject = notify::render(tpl.subject, vars);
    m.draft.body_text = notify::render(tpl.body, vars);
    m.draft.auto_submitted = "auto-generated";
    if (queue_mail(tx, c, m, now)) ++sent;
  }
  org_event(tx, o.name, "system", "hypercare-summary",
            fmt::format("week {} to {}: {} open, {} resolved; mailed to {} contacts", utc_day(from), last_day(to),
                        open.size(), resolved.size(), sent),
            now);
}

}  // namespace

std::string utc_day(store::Time t) {
  auto day = std::chrono::floor<std::chrono::days>(instant(t));
  std::chrono::year_month_day ymd{day};
  return fmt::format("{:04d}-{:02d}-{:02d}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

std::optional<store::Time> last_customer_update(store::Transaction& tx, std::int64_t ticket_id) {
  return tx.keep_informed().last_customer_update(ticket_id);
}

bool automatic_requester(store::Transaction& tx, const store::Ticket& t) {
  auto local = lower(t.requester.substr(0, t.requester.find('@')));
  if (local == "mailer-daemon" || local == "postmaster") return true;
  for (const auto& m : tx.messages(t.id))
    if (m.direction == "in" && !m.internal && lower(m.from_addr) == lower(t.requester) && !m.automatic.empty())
      return true;
  // An alert key comes from an intake rule for monitoring mail; a registered contact's own
  // mail is a person's even when a rule gave it one.
  return !t.alert_key.empty() && !tx.contact(lower(t.requester));
}

void remember_customer_words(store::Transaction& tx, std::int64_t ticket_id, const std::string& agent_name,
                             const std::string& words, store::Time now) {
  if (trim(words).empty()) return;
  tx.keep_informed().set_customer_words(ticket_id, {now, agent_name, words});
}

bool mail_customer_update(store::Transaction& tx, const Desk& desk, const store::Ticket& t, store::Time since,
                          store::Time now) {
  const auto& c = desk.config();
  auto cc = cc_recipients(tx, t);
  notify::Mailbox to{t.requester_name, t.requester};
  if (automatic_requester(tx, t)) {
    if (cc.empty()) {
      store::Event e{t.id, now, "system", "customer-not-notified",
                     "customer-update: the requester is automatic (monitoring) and the ticket has no Cc list"};
      e.internal = true;
      tx.add_event(e);
      return false;
    }
    to = cc.front();
    cc.erase(cc.begin());
  }
  std::string lang = language_of(tx, c, t);
  const auto& cal = desk.clock().calendar(t.sla);
  auto vars = customer_vars(desk, t, to);
  vars["status"] = notify::status_words(t.status, lang);
  vars["since"] = cal.format_local(instant(since), lang);
  if (auto w = tx.keep_informed().customer_words(t.id)) {
    vars["last_words"] = quoted(w->words);
    vars["last_agent"] = printable(utf8_prefix(w->agent, 120));
    vars["last_at"] = cal.format_local(instant(w->at), lang);
  }
  const auto& tpl = desk.templates().get("customer-update", lang);
  MailToQueue q;
  q.ticket_id = t.id;
  q.kind = "customer-update";
  q.to = to;
  q.cc = cc;
  q.draft.subject = notify::render(tpl.subject, vars);
  q.draft.body_text = notify::render(tpl.body, vars);
  // Automatic: it starts no new silence, so it goes once per silence (and the agents'
  // update_hours reminder still comes).
  q.draft.auto_submitted = "auto-generated";
  thread_on_ticket(tx, t.id, q.draft);
  if (!queue_mail(tx, c, q, now)) {
    tx.add_event({t.id, now, "system", "customer-not-notified", "customer-update: the address cannot be mailed"});
    return false;
  }
  tx.add_event({t.id, now, "system", "customer-notified", "customer-update"});
  log::info("ticket {}: no news to the customer since {}; status mailed to {}", desk.ref(t.id),
            cal.format_local(instant(since), "en"), to.email);
  return true;
}

void set_account_agent(store::Transaction& tx, const std::string& organisation, const std::string& agent,
                       const std::string& actor, store::Time now) {
  organisation_or_refuse(tx, organisation);
  std::string address = lower(agent);
  if (!address.empty()) {
    if (!plausible_address(address)) throw KeepInformedError(fmt::format("'{}' is not a mail address", agent), true);
    if (!tx.agent(address))
      throw KeepInformedError(
          fmt::format("{} is not a registered agent (servicedesk agent add {})", address, address), false);
  }
  auto before = tx.keep_informed().account_agent(organisation);
  if (before == address) return;
  tx.keep_informed().set_account_agent(organisation, address);
  org_event(tx, organisation, actor, "account-agent",
            fmt::format("{} -> {}", before.empty() ? "(none)" : before, address.empty() ? "(none)" : address), now);
}

std::vector<std::string> hypercare_recipients(store::Transaction& tx, const Config& c, const std::string& organisation) {
  auto account = tx.keep_informed().account_agent(organisation);
  if (!account.empty() && tx.agent(account)) return {account};
  if (!c.agents.team_address.empty()) return {c.agents.team_address};
  if (!c.sla.agents_address.empty()) return {c.sla.agents_address};
  std::vector<std::string> all;
  for (const auto& a : tx.agents()) all.push_back(a.email);
  return all;
}

store::Time extend_hypercare(store::Transaction& tx, const std::string& organisation, int weeks,
                             const std::string& actor, store::Time now) {
  if (weeks < 1 || weeks > 520) throw KeepInformedError("--weeks must be a number of weeks from 1 to 520", true);
  auto o = *organisation_or_refuse(tx, organisation);
  auto period = hypercare_period(o);
  if (!period)
    throw KeepInformedError(fmt::format("'{}' has no hypercare period to extend (servicedesk org set '{}' "
                                        "--hypercare-start YYYY-MM-DD --hypercare-weeks N)",
                                        o.name, o.name),
                            false);
  if (o.hypercare_ended_at || period->end <= now)
    throw KeepInformedError(fmt::format("the hypercare of '{}' ended after {}; agree a new period with "
                                        "servicedesk org set '{}' --hypercare-start YYYY-MM-DD --hypercare-weeks N",
                                        o.name, last_day(period->end), o.name),
                            false);
  auto old_end = period->end;
  o.hypercare_weeks += weeks;
  tx.update_organisation(o);
  auto new_end = hypercare_period(o)->end;
  org_event(tx, o.name, actor, "hypercare-extended",
            fmt::format("by {} weeks to {} weeks: ends after {} (was {})", weeks, o.hypercare_weeks, last_day(new_end),
                        last_day(old_end)),
            now);
  log::notice("organisation {}: hypercare extended by {} weeks by {}; it ends after {}", o.name, weeks, actor,
              last_day(new_end));
  return new_end;
}

void end_hypercare(store::Transaction& tx, const std::string& organisation, const std::string& actor, store::Time now) {
  auto o = *organisation_or_refuse(tx, organisation);
  auto period = hypercare_period(o);
  if (!period || o.hypercare_ended_at || period->end <= now)
    throw KeepInformedError(fmt::format("'{}' is not in hypercare{}", o.name,
                                        period ? fmt::format(" (it ended after {})", last_day(period->end)) : ""),
                            false);
  if (now < period->start)
    throw KeepInformedError(fmt::format("the hypercare of '{}' begins on {}; change or remove it with servicedesk "
                                        "org set '{}' --hypercare-start YYYY-MM-DD --hypercare-weeks N",
                                        o.name, o.hypercare_start, o.name),
                            false);
  o.hypercare_ended_at = now;
  tx.update_organisation(o);
  org_event(tx, o.name, actor, "hypercare-ended",
            fmt::format("early, by agreement, after {} days (planned to end after {})", (now - period->start) / 86400,
                        last_day(period->end)),
            now);
  log::notice("organisation {}: hypercare ended early by {}; its new tickets run on the standard SLA", o.name, actor);
}

KeepInformedRun keep_organisations_informed(store::Transaction& tx, const Desk& desk, store::Time now) {
  KeepInformedRun run;
  auto next = [&](store::Time at) { run.next_at = run.next_at ? std::min(*run.next_at, at) : at; };
  for (const auto& o : tx.organisations()) {
    auto period = hypercare_period(o);
    if (!period || o.hypercare_ended_at) continue;
    // A week before the end (at the start for a one-week period): confirm or extend.
    store::Time ask_at = std::max(period->start, period->end - kHypercareWeek);
    if (now < ask_at) next(ask_at);
    else if (now < period->end &&
             tx.keep_informed().record_org_mailing(o.name, "hypercare-confirm:" + utc_day(period->end), now)) {
      ask_to_confirm(tx, desk, o, *period, now);
      run.mail_queued = true;
    }
    // After each week: its summary; after a downtime, only the latest week's, and none a
    // week or more after the period ended.
    store::Time upto = std::min(now, period->end);
    auto weeks = upto >= period->start ? (upto - period->start) / kHypercareWeek : 0;
    if (weeks >= 1 && now < period->start + weeks * kHypercareWeek + kHypercareWeek &&
        tx.keep_informed().record_org_mailing(o.name, fmt::format("hypercare-summary:{}", weeks), now)) {
      store::Time to = period->start + weeks * kHypercareWeek;
      send_summary(tx, desk, o, *period, to - kHypercareWeek, to, now);
      run.mail_queued = true;
    }
    store::Time next_week = period->start + (weeks + 1) * kHypercareWeek;
    if (next_week <= period->end) next(next_week);
  }
  return run;
}

}  // namespace sd
