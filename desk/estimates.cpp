// desk/estimates.cpp: see estimates.h.
#include "desk/estimates.h"

#include "core/log.h"
#include "core/text.h"
#include "core/vocabulary.h"
#include "desk/agent_mail.h"
#include "desk/ingest.h"
#include "desk/mailer.h"
#include "desk/ticket_change.h"
#include "notify/templates.h"

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <sstream>

namespace sd {
namespace {

constexpr std::int64_t kDay = 86400;
// The approval address's local part after "servicedesk+": a word no ticket reference is, so
// find_plus_address() never takes an approval address for an agent's.
constexpr std::string_view kApprovePrefix = "approve.";

// ASCII lower case, and the upper-case letters of the Nordic words (Ä, Ö, Å, Ø, Æ) too.
std::string fold(std::string s) {
  s = lower(std::move(s));
  static const std::pair<std::string_view, std::string_view> kUpper[] = {
      {"\xc3\x84", "\xc3\xa4"}, {"\xc3\x96", "\xc3\xb6"}, {"\xc3\x85", "\xc3\xa5"}, {"\xc3\x98", "\xc3\xb8"},
      {"\xc3\x86", "\xc3\xa6"}};
  for (const auto& [up, low] : kUpper)
    for (auto at = s.find(up); at != std::string::npos; at = s.find(up, at)) s.replace(at, up.size(), low);
  return s;
}

std::string estimate_ref(std::int64_t id) { return fmt::format("estimate {}", id); }

// The agents as a whole: agents.team_address when set, else every registered agent.
std::vector<notify::Mailbox> team_or_agents(store::Transaction& tx, const Config& c) {
  if (!c.agents.team_address.empty()) return {{"", c.agents.team_address}};
  std::vector<notify::Mailbox> to;
  for (const auto& a : tx.agents()) to.push_back({a.name, a.email});
  return to;
}

// Who hears of an estimate: the agent who made it while registered, else the ticket's
// assignee, else the team.
std::vector<notify::Mailbox> agents_of(store::Transaction& tx, const Config& c, const std::string& agent,
                                       const store::Ticket& t) {
  if (auto a = tx.agent(lower(agent))) return {{a->name, a->email}};
  if (!t.assignee.empty()) return {{"", t.assignee}};
  return team_or_agents(tx, c);
}

// A mail of ours to agents about ticket `t` (`kind`: an agents' template), each with the
// ticket's agent Reply-To and a token of their own, as the SLA clock's mails.
bool mail_agents(store::Transaction& tx, const Desk& desk, const store::Ticket& t, const std::string& kind,
                 const std::vector<notify::Mailbox>& to, const std::map<std::string, std::string>& vars,
                 store::Time now) {
  const auto& c = desk.config();
  const auto& tpl = desk.templates().get(kind, "en");
  bool queued = false;
  for (const auto& r : to) {
    MailToQueue q;
    q.ticket_id = t.id;
    q.kind = kind;
    q.to = r;
    q.record = false;  // internal: not part of the customer's thread
    q.draft.subject = notify::render(tpl.subject, vars);
    q.draft.body_text = notify::render(tpl.body, vars);
    q.draft.reply_to = {{c.service.name, agent_reply_to(c, desk.token_secret(), t.id, lower(r.email), now)}};
    q.draft.auto_submitted = "auto-generated";
    thread_on_ticket(tx, t.id, q.draft);
    queued = queue_mail(tx, c, q, now).has_value() || queued;
  }
  return queued;
}

// The placeholders of the customers' estimate mails.
std::map<std::string, std::string> estimate_vars(store::Transaction& tx, const Desk& desk, const store::Ticket& t,
                                                 const store::Estimate& e, const std::string& agent_name,
                                                 const std::string& words) {
  const auto& c = desk.config();
  auto vars = customer_vars(desk, t, {t.requester_name, t.requester});
  std::string lang = language_of(tx, c, t);
  vars["agent_name"] = agent_name.empty() ? c.service.name : agent_name;
  vars["agent"] = agent_name;
  vars["text"] = words.empty() ? "" : words + "\n";
  vars["estimate"] = estimate_duration(e.seconds);
  vars["estimate_text"] = e.text;
  vars["approve_word"] = lang == "sv" ? "godkänn" : lang == "da" ? "godkend" : "approve";
  vars["decline_word"] = lang == "sv" ? "avböj" : lang == "da" ? "afvis" : "decline";
  vars["sent"] = desk.clock().calendar(t.sla).format_local(sla::Instant(std::chrono::seconds(e.created_at)), lang);
  return vars;
}

// The estimate mail, or its reminder: to the requester alone with the estimate's own Reply-To
// (its token is a bearer secret for that requester, so it is in no other mailbox), and one copy
// for the ticket's Cc list whose Reply-To is the plain desk address (their replies are ordinary
// replies; a contact's answer counts there only with a DMARC pass).
bool mail_estimate(store::Transaction& tx, const Desk& desk, const store::Ticket& t, const store::Estimate& e,
                   const std::string& kind, const std::string& agent_name, const std::string& words,
                   const std::vector<std::int64_t>& attachment_ids, store::Time now) {
  const auto& c = desk.config();
  const auto& tpl = desk.templates().get(kind, language_of(tx, c, t));
  auto vars = estimate_vars(tx, desk, t, e, agent_name, words);
  MailToQueue q;
  q.ticket_id = t.id;
  q.kind = kind;
  q.to = {t.requester_name, e.requester};
  q.attachment_ids = attachment_ids;
  q.draft.from = {agent_name.empty() ? c.service.name : agent_name + " (" + c.service.name + ")", c.service.address};
  q.draft.reply_to = {{c.service.name, estimate_reply_address(c, desk.token_secret(), t.id, e.id, e.requester, now)}};
  q.draft.subject = notify::render(tpl.subject, vars);
  q.draft.body_text = notify::render(tpl.body, vars);
  if (kind != "estimate") q.draft.auto_submitted = "auto-generated";
  thread_on_ticket(tx, t.id, q.draft);
  auto copy = q;
  if (!queue_mail(tx, c, q, now)) {
    tx.add_event({t.id, now, "system", "customer-not-notified", kind + ": the requester's address cannot be mailed"});
    return false;
  }
  tx.add_event({t.id, now, "system", "customer-notified", kind});
  auto cc = cc_recipients(tx, t);
  if (!cc.empty()) {
    copy.to = cc.front();
    copy.cc.assign(cc.begin() + 1, cc.end());
    copy.draft.reply_to = {{c.service.name, c.service.address}};
    copy.record = false;  // the requester's mail is the thread's message
    if (queue_mail(tx, c, copy, now)) tx.add_event({t.id, now, "system", "customer-notified", kind + " (Cc copy)"});
  }
  return true;
}

std::string month_of(store::Time t) {
  date::year_month_day d{date::floor<date::days>(date::sys_seconds(std::chrono::seconds(t)))};
  return fmt::format("{:04}-{:02}", int(d.year()), unsigned(d.month()));
}

// [first day 00:00Z, first day of the next month 00:00Z) of the UTC month of `t`.
std::pair<store::Time, store::Time> month_bounds(store::Time t) {
  date::year_month_day d{date::floor<date::days>(date::sys_seconds(std::chrono::seconds(t)))};
  auto first = date::sys_days(d.year() / d.month() / 1);
  auto next = date::sys_days((d.year() / d.month() / 1) + date::months(1));
  return {std::chrono::duration_cast<std::chrono::seconds>(first.time_since_epoch()).count(),
          std::chrono::duration_cast<std::chrono::seconds>(next.time_since_epoch()).count()};
}

}  // namespace

// ---- words and addresses ----

std::optional<EstimateAnswer> estimate_answer_word(std::string_view line) {
  std::string w = fold(trim(std::string(line)));
  while (!w.empty() && (w.back() == '.' || w.back() == '!')) w.pop_back();
  w = trim(w);
  for (const char* a : {"approve", "godk\xc3\xa4nn", "godkend"})
    if (w == a) return EstimateAnswer::approve;
  for (const char* d : {"decline", "avb\xc3\xb6j", "afvis"})
    if (w == d) return EstimateAnswer::decline;
  return std::nullopt;
}

std::optional<EstimateAnswer> estimate_answer_in(const std::string& new_text) {
  std::istringstream in(new_text);
  std::string line;
  while (std::getline(in, line))
    if (!trim(line).empty()) return estimate_answer_word(line);
  return std::nullopt;
}

std::string_view to_string(EstimateAnswer a) { return a == EstimateAnswer::approve ? "approved" : "declined"; }

std::string estimate_token(const std::string& secret, const std::string& ticket_ref, std::int64_t estimate,
                           const std::string& recipient, std::int64_t issue_day) {
  std::string day = std::to_string(issue_day);
  // A purpose of its own first: no agent's token (ticket, recipient, day) MACs the same text.
  return day + "." +
         token_mac_hex(secret, "estimate-approval\n" + lower(ticket_ref) + "\n" + std::to_string(estimate) + "\n" +
                             lower(recipient) + "\n" + day);
}

std::string estimate_reply_address(const Config& c, const std::string& secret, std::int64_t ticket,
                                   std::int64_t estimate, const std::string& requester, store::Time now) {
  const auto& a = c.service.address;
  auto at = a.find('@');
  if (at == std::string::npos) return a;
  std::string ref = ticket_ref(c, ticket);
  // A process without the secret (the portal) while tokens are on: the daemon's outbox fills
  // the token in at send time (fill_send_time_estimate_token()).
  if (secret.empty())
    return c.agents.token_secret_file.empty()
               ? a
               : fmt::format("{}+{}{}.{}.{}{}", a.substr(0, at), kApprovePrefix, ref, estimate, kSendTimeToken, a.substr(at));
  return fmt::format("{}+{}{}.{}.{}{}", a.substr(0, at), kApprovePrefix, ref, estimate,
                     estimate_token(secret, ref, estimate, requester, now / kDay), a.substr(at));
}

std::optional<std::string> fill_send_time_estimate_token(std::string_view mail, const Config& c,
                                                         const std::string& secret, std::int64_t ticket,
                                                         const std::string& requester, store::Time now) {
  const auto& a = c.service.address;
  auto at = a.find('@');
  if (at == std::string::npos) return std::nullopt;
  auto field = first_reply_to(mail);
  if (!field) return std::nullopt;
  // servicedesk+approve.SD-42.<estimate>.<placeholder>@example.com: the estimate's number is
  // read from our own field, then the whole address must be there as we wrote it.
  std::string prefix = fmt::format("{}+{}{}.", a.substr(0, at), kApprovePrefix, ticket_ref(c, ticket));
  auto p = field->value.find(prefix);
  if (p == std::string_view::npos) return std::nullopt;
  std::size_t digits = p + prefix.size(), end = digits;
  while (end < field->value.size() && end - digits < 15 && field->value[end] >= '0' && field->value[end] <= '9') ++end;
  if (end == digits) return std::nullopt;
  std::int64_t estimate = std::stoll(std::string(field->value.substr(digits, end - digits)));
  std::string placeholder = fmt::format("{}{}.{}{}", prefix, estimate, kSendTimeToken, a.substr(at));
  std::string filled = secret.empty() ? a : estimate_reply_address(c, secret, ticket, estimate, requester, now);
  return replace_reply_to_address(mail, placeholder, filled);
}

std::optional<EstimateAddress> find_estimate_address(const Config& c, const parser::ParsedMail& m) {
  const auto& own = c.service.address;
  auto at = own.find('@');
  if (at == std::string::npos) return std::nullopt;
  std::string local = lower(own.substr(0, at)) + "+" + std::string(kApprovePrefix), domain = lower(own.substr(at));
  for (const auto* list : {&m.to, &m.cc})
    for (const auto& x : *list) {
      std::string a = lower(x.email);
      if (a.rfind(local, 0) != 0 || a.size() <= local.size() + domain.size() ||
          a.compare(a.size() - domain.size(), domain.size(), domain) != 0)
        continue;
      // sd-42.7.<day>.<mac>
      std::string detail = a.substr(local.size(), a.size() - domain.size() - local.size());
      auto d1 = detail.find('.');
      if (d1 == std::string::npos) continue;
      auto ticket = parse_ticket_ref(c, detail.substr(0, d1));
      auto d2 = detail.find('.', d1 + 1);
      if (!ticket || d2 == std::string::npos) continue;
      std::string id = detail.substr(d1 + 1, d2 - d1 - 1);
      if (id.empty() || id.size() > 15 || !std::all_of(id.begin(), id.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
        continue;
      return EstimateAddress{*ticket, std::stoll(id), detail.substr(d2 + 1)};
    }
  return std::nullopt;
}

TokenCheck check_estimate_token(const std::string& secret, const std::string& ticket_ref, std::int64_t estimate,
                                const std::string& recipient, const std::string& token, store::Time now,
                                int token_days) {
  if (secret.empty() || token.empty()) return TokenCheck::wrong;
  auto dot = token.find('.');
  if (dot == std::string::npos || dot == 0 || dot > kTokenDayDigits) return TokenCheck::wrong;
  std::string day_text = token.substr(0, dot);
  if (!std::all_of(day_text.begin(), day_text.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
    return TokenCheck::wrong;
  std::int64_t day = std::stoll(day_text);
  if (!same_secret_text(estimate_token(secret, ticket_ref, estimate, recipient, day), token)) return TokenCheck::wrong;
  std::int64_t today = now / kDay;
  if (day > today + 1) return TokenCheck::wrong;
  return today - day > token_days ? TokenCheck::expired : TokenCheck::valid;
}

std::string estimate_duration(std::int64_t seconds) {
  std::int64_t h = seconds / 3600, m = (seconds % 3600) / 60;
  if (h > 0 && m > 0) return fmt::format("{}h{}m", h, m);
  if (h > 0) return fmt::format("{}h", h);
  return fmt::format("{}m", m);
}

// ---- the agent's estimate ----

std::string estimate_problem(store::Transaction& tx, const store::Ticket& t, const EstimateRequest& r) {
  auto status = parse_status(t.status).value_or(Status::open);
  if (is_done(status)) return fmt::format("the ticket is {}: reopen it first (#status open)", t.status);
  if (r.seconds <= 0) return "no time: say how long the work takes, as in '#estimate 3h what the work is'";
  if (trim(r.text).empty()) return "no text: say what the work is, as in '#estimate 3h what the work is'";
  if (t.organisation.empty()) return "the ticket belongs to no organisation, so no registered contact can approve it";
  auto contact = tx.contact(t.requester);
  if (!contact || contact->organisation != t.organisation)
    return fmt::format("the requester {} is no registered contact of {}, so they cannot approve it "
                       "(servicedesk contact add --org '{}' {})",
                       t.requester, t.organisation, t.organisation, t.requester);
  return "";
}

tl::expected<std::int64_t, std::string> make_estimate(store::Transaction& tx, const Desk& desk,
                                                      const store::Ticket& t, const EstimateRequest& r,
                                                      store::Time now) {
  if (auto why = estimate_problem(tx, t, r); !why.empty()) return tl::unexpected(why);
  auto& es = tx.estimates();
  if (auto old = es.awaiting_estimate(t.id)) {
    es.answer_estimate(old->id, "withdrawn", r.agent, now, "system", "replaced by a newer estimate");
    tx.add_event({t.id, now, r.agent, "estimate-withdrawn", estimate_ref(old->id) + ": replaced by a newer estimate"});
  }
  store::Estimate e;
  e.ticket_id = t.id;
  e.seconds = r.seconds;
  e.text = trim(r.text);
  e.agent = r.agent;
  e.requester = t.requester;
  e.organisation = t.organisation;
  e.created_at = now;
  e.id = es.add_estimate(e);
  tx.add_event({t.id, now, r.agent, "estimate",
                fmt::format("{}: {} for approval by {}: {}", estimate_ref(e.id), estimate_duration(e.seconds), e.requester,
                            utf8_prefix(e.text, 200))});
  TicketChange ch;
  ch.status = Status::awaiting_approval;
  ch.from_estimate = true;
  ch.why = estimate_ref(e.id);
  change_ticket(tx, desk, t, ch, r.agent, now);
  if (mail_estimate(tx, desk, *tx.ticket(t.id), e, "estimate", r.agent_name, r.words, r.attachment_ids, now))
    tx.set_first_response(t.id, now);
  refresh_sla_due(tx, desk, t.id, now);
  return e.id;
}

// ---- the customer's answer ----

EstimateReplyVerdict judge_estimate_reply(store::Transaction& tx, const Desk& desk, const store::Ticket& t,
                                          const parser::ParsedMail& m, const std::string& from, store::Time now) {
  const auto& c = desk.config();
  EstimateReplyVerdict v;
  v.answer = estimate_answer_in(m.new_text);
  if (!v.answer) return v;  // says nothing about the estimate: an ordinary reply
  v.estimate = tx.estimates().awaiting_estimate(t.id);
  if (!v.estimate) {
    v.why = "the ticket has no estimate awaiting an answer (answered before, withdrawn, or none made)";
    return v;
  }
  if (m.automatic) {
    v.why = "an automatic mail (" + *m.automatic + ")";
    return v;
  }
  auto contact = m.from_ambiguous ? std::nullopt : tx.contact(from);
  if (!contact || t.organisation.empty() || contact->organisation != t.organisation) {
    v.why = m.from_ambiguous ? "several From addresses"
                             : fmt::format("{} is no registered contact of {}", from.empty() ? "(no sender)" : from,
                                           t.organisation.empty() ? "the ticket's organisation" : t.organisation);
    return v;
  }
  std::string token_why;
  if (auto addr = find_estimate_address(c, m)) {
    // An answer addressed to another ticket's or estimate's approval address is not this one's,
    // however well its sender is authenticated.
    if (addr->ticket != t.id || addr->estimate != v.estimate->id) {
      v.why = addr->ticket != t.id ? "its approval address is another ticket's" : "its approval address is another estimate's";
      return v;
    }
    {
      auto check = check_estimate_token(desk.token_secret(), ticket_ref(c, t.id), addr->estimate, from, addr->token, now,
                                        c.agents.token_days);
      if (check == TokenCheck::valid) {
        v.counts = true;
        v.trust = "Reply-To token";
        return v;
      }
      token_why = check == TokenCheck::expired
                      ? fmt::format("its approval token has expired (tokens last {} days)", c.agents.token_days)
                      : "its approval token is not valid for " + from;
    }
  } else {
    token_why = "it does not answer the estimate mail's Reply-To";
  }
  if (authenticated_by_trusted_server(c, m)) {
    v.counts = true;
    v.trust = "DMARC pass";
    return v;
  }
  v.why = token_why + ", and no trusted server authenticated the sender";
  return v;
}

bool take_estimate_reply(store::Transaction& tx, const Desk& desk, const store::Ticket& t, const parser::ParsedMail& m,
                         const std::string& from, store::Time now) {
  auto v = judge_estimate_reply(tx, desk, t, m, from, now);
  if (!v.answer) return false;
  const auto& c = desk.config();
  if (!v.counts) {
    std::string what = fmt::format("'{}' from {} did not answer the estimate: {}", to_string(*v.answer) == "approved" ? "approve" : "decline",
                                   from.empty() ? "(no sender)" : from, v.why);
    store::Event e{t.id, now, "system", "estimate-answer-not-counted", what};
    e.internal = true;
    tx.add_event(e);
    log::warning("security: ticket {}: mail <{}>: {}", ticket_ref(c, t.id), m.message_id, what);
    return false;
  }
  std::string detail = v.trust + (m.message_id.empty() ? "" : ", <" + m.message_id + ">");
  // The customer's words after the answer's line go to the agent with the answer.
  std::string rest = m.new_text;
  auto nl = rest.find('\n', rest.find_first_not_of(" \t\r\n"));
  rest = nl == std::string::npos ? "" : trim(rest.substr(nl + 1));
  return answer_estimate(tx, desk, t, v.estimate->id, *v.answer, from, "mail", detail, rest, now).has_value();
}

tl::expected<void, std::string> answer_estimate(store::Transaction& tx, const Desk& desk, const store::Ticket& t,
                                                std::int64_t estimate_id, EstimateAnswer answer, const std::string& by,
                                                const std::string& via, const std::string& detail,
                                                const std::string& text, store::Time now) {
  const auto& c = desk.config();
  auto e = tx.estimates().estimate(estimate_id);
  if (!e || e->ticket_id != t.id) return tl::unexpected(fmt::format("no estimate {} on {}", estimate_id, ticket_ref(c, t.id)));
  std::string state(to_string(answer));
  if (!tx.estimates().answer_estimate(e->id, state, by, now, via, detail))
    return tl::unexpected(fmt::format("{} of {} was {} before", estimate_ref(e->id), ticket_ref(c, t.id),
                                      e->state == "awaiting" ? "answered" : e->state));
  tx.add_event({t.id, now, by, "estimate-" + state,
                fmt::format("{} ({}) {} by {} via {} ({})", estimate_ref(e->id), estimate_duration(e->seconds), state, by,
                            via, detail)});
  TicketChange ch;
  ch.status = Status::open;
  ch.why = estimate_ref(e->id) + " " + state;
  change_ticket(tx, desk, t, ch, by, now);
  auto after = *tx.ticket(t.id);
  std::string at = desk.clock().calendar(t.sla).format_local(sla::Instant(std::chrono::seconds(now)), "en");
  mail_agents(tx, desk, after, "estimate-answered", agents_of(tx, c, e->agent, after),
              {{"ticket", ticket_ref(c, t.id)},
               {"subject", mail_subject(desk, after)},
               {"answer", state},
               {"by", by},
               {"via", via},
               {"how", detail},
               {"at", at},
               {"estimate", estimate_duration(e->seconds)},
               {"estimate_text", e->text},
               {"organisation", t.organisation},
               {"text", text.empty() ? "" : "\n---- " + by + " wrote ----\n" + utf8_prefix(text, 4000) + "\n----\n"}},
              now);
  log::notice("ticket {}: {} {} by {} via {}", ticket_ref(c, t.id), estimate_ref(e->id), state, by, via);
  return {};
}

tl::expected<void, std::string> answer_estimate_on_portal(store::Transaction& tx, const Desk& desk,
                                                          std::int64_t ticket_id, std::int64_t estimate_id,
                                                          const std::string& contact, EstimateAnswer answer,
                                                          store::Time now) {
  auto t = tx.ticket(ticket_id);
  std::string who = lower(contact);
  auto person = tx.contact(who);
  if (!t || !person || t->organisation.empty() || person->organisation != t->organisation)
    return tl::unexpected(std::string("only a registered contact of the ticket's organisation can answer its estimate"));
  auto open = tx.estimates().awaiting_estimate(t->id);
  if (!open || open->id != estimate_id)
    return tl::unexpected(std::string("this estimate awaits no answer any more"));
  return answer_estimate(tx, desk, *t, estimate_id, answer, who, "portal", "signed-in session", "", now);
}

void withdraw_awaiting_estimate(store::Transaction& tx, std::int64_t ticket_id, const std::string& actor,
                                const std::string& why, store::Time now) {
  auto e = tx.estimates().awaiting_estimate(ticket_id);
  if (!e || !tx.estimates().answer_estimate(e->id, "withdrawn", actor, now, "system", why)) return;
  tx.add_event({ticket_id, now, actor, "estimate-withdrawn", estimate_ref(e->id) + ": " + why + " (no approval)"});
}

// ---- the clock ----

store::Time add_business_days(const sla::Calendar& cal, store::Time from, int days) {
  const auto* zone = date::locate_zone(cal.spec().time_zone);
  auto local = zone->to_local(date::sys_seconds(std::chrono::seconds(from)));
  auto day = date::floor<date::days>(local);
  auto time_of_day = local - day;
  for (int counted = 0, guard = 0; counted < days && guard < 3660; ++guard) {
    day += date::days(1);
    if (!cal.open_intervals(date::year_month_day(date::sys_days(day.time_since_epoch()))).empty()) ++counted;
  }
  auto at = zone->to_sys(day + time_of_day, date::choose::latest);
  return at.time_since_epoch().count();
}

EstimateClockResult fire_estimate_reminders(store::Transaction& tx, const Desk& desk, store::Time now) {
  const auto& c = desk.config();
  EstimateClockResult res;
  auto earliest = [&](store::Time at) { res.next_at = res.next_at ? std::min(*res.next_at, at) : at; };
  for (const auto& e : tx.estimates().awaiting_estimates()) {
    auto t = tx.ticket(e.ticket_id);
    if (!t || t->status != to_string(Status::awaiting_approval)) continue;
    const auto& cal = desk.clock().calendar(t->sla);
    auto notices = tx.estimates().estimate_notices(e.id);
    auto sent = [&](const char* k) { return std::find(notices.begin(), notices.end(), k) != notices.end(); };
    if (!sent("customer-reminder")) {
      auto at = add_business_days(cal, e.created_at, kEstimateReminderDays);
      if (at > now) earliest(at);
      else if (tx.estimates().record_estimate_notice(e.id, "customer-reminder", now)) {
        store::Event ev{t->id, now, "system", "estimate-reminder", estimate_ref(e.id) + ": the requester is reminded"};
        tx.add_event(ev);
        res.mail_queued = mail_estimate(tx, desk, *t, e, "estimate-reminder", "", "", {}, now) || res.mail_queued;
        ++res.fired;
      }
    }
    if (!sent("agent-told")) {
      auto at = add_business_days(cal, e.created_at, kEstimateAgentToldDays);
      if (at > now) earliest(at);
      else if (tx.estimates().record_estimate_notice(e.id, "agent-told", now)) {
        store::Event ev{t->id, now, "system", "estimate-unanswered",
                        fmt::format("{}: no answer after {} business days; the agent is told", estimate_ref(e.id),
                                    kEstimateAgentToldDays)};
        ev.internal = true;
        tx.add_event(ev);
        std::string sent_at = cal.format_local(sla::Instant(std::chrono::seconds(e.created_at)), "en");
        res.mail_queued = mail_agents(tx, desk, *t, "estimate-unanswered", agents_of(tx, c, e.agent, *t),
                                      {{"ticket", ticket_ref(c, t->id)},
                                       {"subject", mail_subject(desk, *t)},
                                       {"requester", e.requester},
                                       {"organisation", t->organisation},
                                       {"estimate", estimate_duration(e.seconds)},
                                       {"estimate_text", e.text},
                                       {"sent", sent_at},
                                       {"days", std::to_string(kEstimateAgentToldDays)}},
                                      now) ||
                          res.mail_queued;
        ++res.fired;
      }
    }
  }
  return res;
}

// ---- included minutes ----

void note_time_against_allowance(store::Transaction& tx, const Desk& desk, const store::Ticket& t,
                                 std::int64_t added_s, const std::string& actor, store::Time now) {
  if (added_s <= 0 || t.organisation.empty() || t.category == to_string(Category::incident)) return;
  const auto& c = desk.config();
  auto org = tx.organisation(t.organisation);
  if (!org) return;
  // As `report time` counts: the SLA the organisation names, else the default SLA.
  std::string sla_name = org->sla.empty() || !c.slas.count(org->sla) ? c.sla.default_sla : org->sla;
  auto sla = c.slas.find(sla_name);
  if (sla == c.slas.end()) return;
  std::int64_t included = std::int64_t{sla->second.included_minutes_per_month} * 60;
  auto [from, to] = month_bounds(now);
  std::int64_t spent = 0;
  for (const auto& e : tx.time_entries(from, to))
    if (e.organisation == t.organisation && e.category != to_string(Category::incident)) spent += e.seconds;
  if (!(spent > included && spent - added_s <= included)) return;  // not this entry that crossed it
  std::string month = month_of(now);
  std::string agent = tx.agent(lower(actor)) ? lower(actor) : "";
  if (!tx.estimates().record_allowance_notice(t.organisation, month, t.id, agent.empty() ? actor : agent, now)) return;
  std::vector<notify::Mailbox> to_whom;
  if (!agent.empty()) to_whom = {{"", agent}};
  else if (!t.assignee.empty()) to_whom = {{"", t.assignee}};
  else to_whom = team_or_agents(tx, c);
  bool approved = false;
  for (const auto& e : tx.estimates().estimates_of(t.id)) approved = approved || e.state == "approved";
  store::Event ev{t.id, now, "system", "allowance-used",
                  fmt::format("{}'s {} included minutes of {} are used up ({} min spent)", t.organisation,
                              included / 60, month, spent / 60)};
  ev.internal = true;
  tx.add_event(ev);
  mail_agents(tx, desk, t, "allowance-used", to_whom,
              {{"ticket", ticket_ref(c, t.id)},
               {"subject", mail_subject(desk, t)},
               {"organisation", t.organisation},
               {"month", month},
               {"included", std::to_string(included / 60)},
               {"spent", std::to_string(spent / 60)},
               {"approved", approved ? "This ticket has an approved estimate." : ""}},
              now);
}

}  // namespace sd
