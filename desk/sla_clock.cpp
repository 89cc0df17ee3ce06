// desk/sla_clock.cpp: see sla_clock.h.
#include "desk/sla_clock.h"

#include "core/log.h"
#include "core/text.h"
#include "core/vocabulary.h"
#include "desk/agent_mail.h"
#include "desk/desk.h"
#include "desk/estimates.h"
#include "desk/ingest.h"
#include "desk/keep_informed.h"
#include "desk/mailer.h"
#include "desk/ticket_change.h"
#include "notify/templates.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

namespace sd {
namespace {

sla::Instant instant(store::Time t) { return sla::Instant(std::chrono::seconds(t)); }
store::Time seconds(sla::Instant t) { return t.time_since_epoch().count(); }

std::size_t priority_index(const std::string& p) {
  return static_cast<std::size_t>(sla::parse_priority(p).value_or(sla::Priority::medium));
}

// The holiday rules (sla/holidays.h) of a language's country; "" for English, which has none.
std::string_view holidays_of_language(const std::string& language) {
  return language == "sv" ? "SE" : language == "da" ? "DK" : "";
}

const Config::Sla* sla_named(const Config& c, const std::string& name) {
  auto it = c.slas.find(name);
  if (it == c.slas.end()) it = c.slas.find(c.sla.default_sla);
  return it == c.slas.end() ? nullptr : &it->second;
}

std::string holidays_of_sla(const Config& c, const std::string& sla_name) {
  const auto* s = sla_named(c, sla_name);
  if (!s) return "";
  auto cal = c.calendars.find(s->calendar);
  return cal == c.calendars.end() ? "" : cal->second.holiday_rules;
}

}  // namespace

std::vector<notify::Mailbox> sla_recipients(const Config& c, const Config::Sla& policy, const std::string& kind,
                                            const std::string& assignee, const std::vector<store::Agent>& agents) {
  if (kind == "breach" && !policy.escalation_address.empty()) return {{"", policy.escalation_address}};
  if (!assignee.empty()) {
    auto agent = std::find_if(agents.begin(), agents.end(), [&](auto& a) { return a.email == assignee; });
    return {{agent == agents.end() ? "" : agent->name, assignee}};
  }
  if (!c.sla.agents_address.empty()) return {{"", c.sla.agents_address}};
  if (!c.agents.team_address.empty()) return {{"", c.agents.team_address}};
  std::vector<notify::Mailbox> to;
  for (const auto& a : agents) to.push_back({a.name, a.email});
  return to;
}

bool calendar_fits_language(const Config& c, const std::string& sla_name, const std::string& language) {
  auto wanted = holidays_of_language(language);
  auto kept = holidays_of_sla(c, sla_name);
  return wanted.empty() || kept.empty() || kept == wanted;
}

std::string sla_for_language(const Config& c, const std::string& language) {
  if (calendar_fits_language(c, c.sla.default_sla, language)) return c.sla.default_sla;
  for (const auto& [danish, swedish] : kSwedishSlas) {
    if (danish != "standard") continue;
    for (auto name : {danish, swedish})
      if (c.slas.count(std::string(name)) && calendar_fits_language(c, std::string(name), language))
        return std::string(name);
  }
  return c.sla.default_sla;
}

std::optional<std::string> hypercare_sla(const Config& c, const std::string& sla_name) {
  std::vector<std::string> candidates;
  for (const auto& [danish, swedish] : kSwedishSlas)
    if (danish == "hypercare")
      for (auto name : {danish, swedish})
        if (c.slas.count(std::string(name))) candidates.emplace_back(name);
  const auto* base = sla_named(c, sla_name);
  if (base)
    for (const auto& name : candidates)
      if (c.slas.at(name).calendar == base->calendar) return name;
  auto rules = holidays_of_sla(c, sla_name);
  if (!rules.empty())
    for (const auto& name : candidates)
      if (holidays_of_sla(c, name) == rules) return name;
  if (c.slas.count("hypercare")) return std::string("hypercare");
  return std::nullopt;
}

store::Time clock_now(const Config& c) {
  auto real = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  return real.count() + c.test.clock_offset_s;
}

SlaClock::SlaClock(const Config& c) : config_(c) {
  for (const auto& [name, spec] : c.calendars) calendars_.emplace(name, sla::Calendar(spec));
  for (const auto& [name, s] : c.slas)
    if (!calendars_.count(s.calendar))
      throw ConfigError(fmt::format("{}: SLA '{}' names no known calendar '{}'", c.path, name, s.calendar));
}

const Config::Sla& SlaClock::sla(const std::string& name) const {
  auto it = config_.slas.find(name);
  return it != config_.slas.end() ? it->second : config_.slas.at(config_.sla.default_sla);
}

const sla::Calendar& SlaClock::calendar(const std::string& sla_name) const {
  return calendars_.at(sla(sla_name).calendar);
}

const sla::Calendar* SlaClock::calendar_named(const std::string& name) const {
  auto it = calendars_.find(name);
  return it == calendars_.end() ? nullptr : &it->second;
}

TicketSla SlaClock::evaluate(const store::Ticket& t, const std::vector<store::PausePeriod>& pauses,
                             store::Time now, std::optional<store::Time> last_update) const {
  const auto& policy = sla(t.sla);
  const auto& cal = calendar(t.sla);
  auto p = priority_index(t.priority);
  std::vector<sla::Pause> ps;
  for (const auto& x : pauses)
    ps.push_back({instant(x.from), x.to ? std::optional(instant(*x.to)) : std::nullopt});

  TicketSla r;
  auto status = parse_status(t.status).value_or(Status::open);
  bool paused = waits_for_customer(status), done = is_done(status);
  bool any_breach = false, any_warning = false, all_met = true, any_target = false;
  auto run = [&](const char* target, const std::optional<sla::Seconds>& goal, const std::optional<store::Time>& met,
                 std::optional<store::Time>& due_out) {
    if (!goal) return;
    any_target = true;
    // A target met counts against the pauses before it only; one still running against all.
    std::vector<sla::Pause> before_met;
    if (met)
      for (const auto& x : ps)
        if (x.from < instant(*met)) before_met.push_back({x.from, std::min(x.to.value_or(instant(*met)), instant(*met))});
    auto due = sla::due_with_pauses(cal, instant(t.created_at), *goal, met ? before_met : ps);
    if (due) due_out = seconds(*due);
    if (met) {
      if (due_out && *met > *due_out) any_breach = true;
      return;
    }
    all_met = false;
    if (!due) return;  // the clock stands still
    auto warn_goal = sla::Seconds(static_cast<std::int64_t>(static_cast<double>(goal->count()) * policy.warning_share));
    auto warn = sla::due_with_pauses(cal, instant(t.created_at), warn_goal, ps);
    store::Time warn_at = warn ? seconds(*warn) : *due_out;
    if (now >= *due_out) any_breach = true;
    else if (now >= warn_at) any_warning = true;
    if (done) return;
    r.deadlines.push_back({target, "warning", warn_at, *due_out});
    r.deadlines.push_back({target, "breach", *due_out, *due_out});
  };
  run("first_response", policy.first_response[p], t.first_response_at, r.first_response_due);
  run("resolution", policy.resolution[p], t.resolved_at, r.resolution_due);
  // Keeping the customer informed once they have waited this long for news: the agent is
  // reminded (update_hours), the customer mailed their ticket's status (customer_update_hours,
  // desk/keep_informed.h). Each is keyed by the start of the silence, so it fires once per
  // silence.
  auto silence = [&](const std::optional<sla::Seconds>& goal, const char* target, const char* kind) {
    if (!goal || paused || done) return;
    store::Time since = std::max(last_update.value_or(t.created_at), t.created_at);
    std::vector<sla::Pause> later;
    for (const auto& x : ps)
      if (!x.to || *x.to > instant(since)) later.push_back(x);
    if (auto due = sla::due_with_pauses(cal, instant(since), *goal, later))
      r.deadlines.push_back({fmt::format("{}:{}", target, since), kind, seconds(*due), seconds(*due)});
  };
  silence(policy.update[p], "update", "reminder");
  silence(policy.customer_update[p], "customer-update", "customer-update");
  std::sort(r.deadlines.begin(), r.deadlines.end(), [](auto& a, auto& b) { return a.at < b.at; });

  if (any_breach) r.state = "breached";
  else if (paused) r.state = "paused";
  else if (any_target && all_met) r.state = "met";
  else if (any_warning) r.state = "warning";
  else r.state = done ? "met" : "ok";
  return r;
}

std::optional<HypercarePeriod> hypercare_period(const store::Organisation& org) {
  if (org.hypercare_start.empty() || org.hypercare_weeks <= 0) return std::nullopt;
  auto start = sla::parse_rfc3339(org.hypercare_start + "T00:00:00Z");
  if (!start) return std::nullopt;
  store::Time s = start->time_since_epoch().count();
  store::Time end = s + org.hypercare_weeks * 7 * 86400;
  // Ended early by agreement (org hypercare end): from then on nothing is hypercare.
  if (org.hypercare_ended_at && *org.hypercare_ended_at < end) end = std::max(s, *org.hypercare_ended_at);
  return HypercarePeriod{s, end};
}

void change_category(store::Transaction& tx, const Config& c, const store::Ticket& t, const std::string& category,
                     const std::string& actor, store::Time now) {
  if (category == t.category) return;
  tx.set_category(t.id, category, now);
  tx.add_event({t.id, now, actor, "category", fmt::format("{} -> {}", t.category.empty() ? "(none)" : t.category, category)});
  if (!t.hypercare || category != "incident") return;
  if (auto hypercare = hypercare_sla(c, t.sla); hypercare && *hypercare != t.sla) {
    tx.set_sla(t.id, *hypercare, now);
    tx.add_event({t.id, now, "system", "sla", fmt::format("{} -> {} (an incident in hypercare)", t.sla, *hypercare)});
  }
}

namespace {

// A hypercare period ends by itself; the end is logged once. Returns the next end to come.
std::optional<store::Time> end_hypercare_periods(store::Transaction& tx, store::Time now) {
  std::optional<store::Time> next;
  for (auto org : tx.organisations()) {
    auto period = hypercare_period(org);
    if (!period || org.hypercare_ended_at) continue;
    if (period->end > now) {
      next = next ? std::min(*next, period->end) : period->end;
      continue;
    }
    log::notice("organisation {}: hypercare ended ({} weeks from {}); its new tickets run on the standard SLA",
                org.name, org.hypercare_weeks, org.hypercare_start);
    org.hypercare_ended_at = now;
    tx.update_organisation(org);
  }
  return next;
}

// Resolved tickets close by themselves after intake.auto_close_days; the customer is told.
bool close_resolved_tickets(store::Transaction& tx, const Desk& desk, store::Time now) {
  const auto& c = desk.config();
  if (c.intake.auto_close_days <= 0) return false;
  bool mailed = false;
  for (const auto& t : tx.resolved_before(now - c.intake.auto_close_days * 86400LL)) {
    TicketChange ch;
    ch.status = Status::closed;
    ch.why = fmt::format("after {} days", c.intake.auto_close_days);
    change_ticket(tx, desk, t, ch, "system", now);
    mail_customer(tx, desk, *tx.ticket(t.id), "status-closed", "", "", now);
    mailed = true;
  }
  return mailed;
}

std::string target_words(const std::string& target) {
  return target == "first_response" ? "first response" : target == "resolution" ? "resolution" : "an update to the customer";
}

// One deadline that has come: recorded, and mailed to whoever must act (sla-warning,
// sla-breach, sla-reminder templates).
void fire(store::Transaction& tx, const Desk& desk, const store::Ticket& t, const SlaDeadline& d, store::Time now) {
  const auto& c = desk.config();
  const auto& policy = desk.clock().sla(t.sla);
  std::string ref = ticket_ref(c, t.id), target = target_words(d.target);
  std::string due = desk.clock().calendar(t.sla).format_local(sla::Instant(std::chrono::seconds(d.due)), "en");
  auto to = sla_recipients(c, policy, d.kind, t.assignee, tx.agents());
  store::Event e{t.id, now, "system", "sla-" + d.kind, fmt::format("{} due {}", target, due)};
  e.internal = true;
  tx.add_event(e);
  std::string told;
  for (const auto& r : to) told += (told.empty() ? "" : ", ") + r.email;
  if (to.empty())
    log::warning("ticket {}: SLA {} for {} (due {}); nobody to tell: no agent is registered and neither "
                 "sla.agents_address nor agents.team_address is set",
                 ref, d.kind, target, due);
  else
    log::notice("ticket {}: SLA {} for {} (due {}); mailing {}", ref, d.kind, target, due, told);
  const auto& tpl = desk.templates().get("sla-" + d.kind, "en");
  std::map<std::string, std::string> vars = {
      {"ticket", ref},          {"subject", mail_subject(desk, t)},
      {"requester", t.requester}, {"requester_name", t.requester_name},
      {"organisation", t.organisation.empty() ? "(none)" : t.organisation},
      {"priority", t.priority}, {"status", t.status},
      {"target", target},       {"due", due}};
  // Each recipient answers through the ticket's agent Reply-To with a token of its own, as
  // the agents' notification does: valid for an agent and for the team address, so the
  // one who must act can do it by answering (docs/sla.md, "Who is told").
  const std::string& secret = desk.token_secret();
  for (const auto& r : to) {
    MailToQueue q;
    q.ticket_id = t.id;
    q.kind = "sla-" + d.kind;
    q.to = r;
    q.record = false;  // internal: not part of the customer's thread
    q.draft.subject = notify::render(tpl.subject, vars);
    q.draft.body_text = notify::render(tpl.body, vars);
    q.draft.reply_to = {{c.service.name, agent_reply_to(c, secret, t.id, lower(r.email), now)}};
    q.draft.auto_submitted = "auto-generated";
    thread_on_ticket(tx, t.id, q.draft);
    queue_mail(tx, c, q, now);
  }
}

}  // namespace

bool has_fired(const std::vector<store::SlaEvent>& fired, const SlaDeadline& d) {
  return std::any_of(fired.begin(), fired.end(), [&](auto& f) { return f.target == d.target && f.kind == d.kind; });
}

std::optional<store::Time> next_sla_due(const std::vector<SlaDeadline>& deadlines,
                                        const std::vector<store::SlaEvent>& fired, std::optional<store::Time> after) {
  for (const auto& d : deadlines)
    if ((d.kind == "warning" || d.kind == "breach") && (!after || d.at > *after) && !has_fired(fired, d)) return d.at;
  return std::nullopt;
}

SlaFireResult fire_due_sla_events(store::Store& st, const Desk& desk, store::Time now) {
  SlaFireResult res;
  const auto& clock = desk.clock();
  auto tx = st.begin(store::Store::Mode::write);
  // Before the ends are noticed: the summary of a period's last week goes out at its end.
  auto informed = keep_organisations_informed(*tx, desk, now);
  res.mail_queued = informed.mail_queued;
  res.next_at = end_hypercare_periods(*tx, now);
  if (informed.next_at) res.next_at = res.next_at ? std::min(*res.next_at, *informed.next_at) : *informed.next_at;
  res.mail_queued = close_resolved_tickets(*tx, desk, now) || res.mail_queued;
  auto earliest = [&](store::Time at) { res.next_at = res.next_at ? std::min(*res.next_at, at) : at; };
  // Estimates without an answer: the requester reminded, the agent told (desk/estimates.h).
  auto estimates = fire_estimate_reminders(*tx, desk, now);
  if (estimates.next_at) earliest(*estimates.next_at);
  res.fired += estimates.fired;
  res.mail_queued = res.mail_queued || estimates.mail_queued;
  for (const auto& t : tx->open_tickets()) {
    std::optional<store::Time> last_update;
    const auto& policy = clock.sla(t.sla);
    if (policy.update[priority_index(t.priority)] || policy.customer_update[priority_index(t.priority)])
      last_update = last_customer_update(*tx, t.id);
    auto eval = clock.evaluate(t, tx->pauses(t.id), now, last_update);
    auto fired = tx->sla_events(t.id);
    for (const auto& d : eval.deadlines) {
      if (has_fired(fired, d)) continue;
      if (d.at > now) {
        earliest(d.at);
        continue;
      }
      // A warning that fell due together with its breach (the daemon was down) is moot.
      bool moot = d.kind == "warning" && now >= d.due;
      if (!tx->record_sla_event({t.id, d.target, d.kind, d.at, now}) || moot) continue;
      ++res.fired;
      if (d.kind == "customer-update") {
        store::Time since = std::stoll(d.target.substr(d.target.find(':') + 1));
        if (mail_customer_update(*tx, desk, t, since, now)) res.mail_queued = true;
        continue;
      }
      fire(*tx, desk, t, d, now);
      res.mail_queued = true;
    }
    // The stored next due time follows the clock (also after a reload changed the SLAs).
    if (auto next_due = next_sla_due(eval.deadlines, fired, now); next_due != t.sla_next_due)
      tx->set_sla_next_due(t.id, next_due);
  }
  tx->commit();
  return res;
}

SlaFireResult fire_due_sla_events(store::Store& st, const Config& c, const SlaClock&, store::Time now) {
  Desk desk(c);
  return fire_due_sla_events(st, desk, now);
}

}  // namespace sd
