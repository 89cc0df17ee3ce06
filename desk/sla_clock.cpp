// desk/sla_clock.cpp: see sla_clock.h.
#include "desk/sla_clock.h"

#include "core/log.h"
#include "desk/ingest.h"
#include "desk/mailer.h"

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

}  // namespace

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
  bool paused = t.status == "pending";
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
    if (t.status == "resolved" || t.status == "closed") return;
    r.deadlines.push_back({target, "warning", warn_at, *due_out});
    r.deadlines.push_back({target, "breach", *due_out, *due_out});
  };
  run("first_response", policy.first_response[p], t.first_response_at, r.first_response_due);
  run("resolution", policy.resolution[p], t.resolved_at, r.resolution_due);
  // Keeping the customer informed: a reminder once the customer has waited this long for news.
  if (policy.update[p] && !paused && t.status != "resolved" && t.status != "closed") {
    store::Time since = std::max(last_update.value_or(t.created_at), t.created_at);
    std::vector<sla::Pause> later;
    for (const auto& x : ps)
      if (!x.to || *x.to > instant(since)) later.push_back(x);
    if (auto due = sla::due_with_pauses(cal, instant(since), *policy.update[p], later))
      r.deadlines.push_back({fmt::format("update:{}", since), "reminder", seconds(*due), seconds(*due)});
  }
  std::sort(r.deadlines.begin(), r.deadlines.end(), [](auto& a, auto& b) { return a.at < b.at; });

  if (any_breach) r.state = "breached";
  else if (paused) r.state = "paused";
  else if (any_target && all_met) r.state = "met";
  else if (any_warning) r.state = "warning";
  else r.state = (t.status == "resolved" || t.status == "closed") ? "met" : "ok";
  return r;
}

std::optional<HypercarePeriod> hypercare_period(const store::Organisation& org) {
  if (org.hypercare_start.empty() || org.hypercare_weeks <= 0) return std::nullopt;
  auto start = sla::parse_rfc3339(org.hypercare_start + "T00:00:00Z");
  if (!start) return std::nullopt;
  store::Time s = start->time_since_epoch().count();
  return HypercarePeriod{s, s + org.hypercare_weeks * 7 * 86400};
}

void change_category(store::Transaction& tx, const Config& c, const store::Ticket& t, const std::string& category,
                     const std::string& actor, store::Time now) {
  if (category == t.category) return;
  tx.set_category(t.id, category, now);
  tx.add_event({t.id, now, actor, "category", fmt::format("{} -> {}", t.category.empty() ? "(none)" : t.category, category)});
  if (t.hypercare && category == "incident" && t.sla != "hypercare" && c.slas.count("hypercare")) {
    tx.set_sla(t.id, "hypercare", now);
    tx.add_event({t.id, now, "system", "sla", fmt::format("{} -> hypercare (an incident in hypercare)", t.sla)});
  }
}

SlaFireResult fire_due_sla_events(store::Store& st, const Config& c, const SlaClock& clock, store::Time now) {
  SlaFireResult res;
  auto tx = st.begin(store::Store::Mode::write);
  // A hypercare period ends by itself; the end is logged once.
  for (auto org : tx->organisations()) {
    auto period = hypercare_period(org);
    if (!period || org.hypercare_ended_at) continue;
    store::Time end = period->end;
    if (end > now) {
      res.next_at = res.next_at ? std::min(*res.next_at, end) : end;
      continue;
    }
    log::notice("organisation {}: hypercare ended ({} weeks from {}); its new tickets run on the standard SLA",
                org.name, org.hypercare_weeks, org.hypercare_start);
    org.hypercare_ended_at = now;
    tx->update_organisation(org);
  }
  // Resolved tickets close by themselves after auto_close_days.
  if (c.intake.auto_close_days > 0)
    for (const auto& t : tx->resolved_before(now - c.intake.auto_close_days * 86400LL)) {
      tx->set_status(t.id, "closed", now);
      tx->add_event({t.id, now, "system", "status", fmt::format("resolved -> closed (after {} days)", c.intake.auto_close_days)});
      mail_customer(*tx, c, *tx->ticket(t.id), "status-closed", "", "", now);
      res.mail_queued = true;
    }
  for (const auto& t : tx->open_tickets()) {
    std::optional<store::Time> last_update;
    const auto& update_target = clock.sla(t.sla).update[static_cast<std::size_t>(
        sla::parse_priority(t.priority).value_or(sla::Priority::medium))];
    if (update_target)
      for (const auto& msg : tx->messages(t.id))
        if (msg.direction == "out" && msg.automatic.empty()) last_update = msg.created_at;
    auto eval = clock.evaluate(t, tx->pauses(t.id), now, last_update);
    if (eval.deadlines.empty()) continue;
    auto fired = tx->sla_events(t.id);
    auto has_fired = [&](const SlaDeadline& d) {
      return std::any_of(fired.begin(), fired.end(), [&](auto& f) { return f.target == d.target && f.kind == d.kind; });
    };
    for (const auto& d : eval.deadlines) {
      if (has_fired(d)) continue;
      if (d.at > now) {
        res.next_at = res.next_at ? std::min(*res.next_at, d.at) : d.at;
        continue;
      }
      // A warning that fell due together with its breach (the daemon was down) is moot.
      if (d.kind == "warning" && now >= d.due) {
        tx->record_sla_event({t.id, d.target, d.kind, d.at, now});
        continue;
      }
      if (!tx->record_sla_event({t.id, d.target, d.kind, d.at, now})) continue;
      ++res.fired;
      const auto& policy = clock.sla(t.sla);
      const auto& cal = clock.calendar(t.sla);
      std::string ref = ticket_ref(c, t.id);
      std::string target_words = d.target == "first_response" ? "first response"
                                 : d.target == "resolution"   ? "resolution"
                                                              : "an update to the customer";
      std::string due_words = cal.format_local(sla::Instant(std::chrono::seconds(d.due)), "en");
      std::string to = d.kind == "breach" && !policy.escalation_address.empty() ? policy.escalation_address
                       : !t.assignee.empty()                                    ? t.assignee
                                                                                : c.sla.agents_address;
      tx->add_event({t.id, now, "system", "sla-" + d.kind, fmt::format("{} due {}", target_words, due_words)});
      log::notice("ticket {}: SLA {} for {} (due {}){}", ref, d.kind, target_words, due_words,
                  to.empty() ? "; no address configured to tell" : "; mailing " + to);
      if (to.empty()) continue;
      MailToQueue q;
      q.ticket_id = t.id;
      q.kind = "sla-" + d.kind;
      q.to = {"", to};
      q.record = false;  // internal: not part of the customer's thread
      q.draft.subject = d.kind == "breach"    ? fmt::format("[{}] SLA breached: {} was due {}", ref, target_words, due_words)
                        : d.kind == "reminder" ? fmt::format("[{}] Reminder: {} was due {}", ref, target_words, due_words)
                                               : fmt::format("[{}] SLA warning: {} due {}", ref, target_words, due_words);
      q.draft.body_text = fmt::format(
          "Ticket {}: {}\nRequester: {} <{}>\nOrganisation: {}\nPriority: {}\nStatus: {}\n{} due: {}\n\n{}\n", ref,
          t.subject, t.requester_name, t.requester, t.organisation.empty() ? "(none)" : t.organisation, t.priority,
          t.status, target_words, due_words,
          d.kind == "breach"     ? "The target has been missed. Please act now."
          : d.kind == "reminder" ? "The customer has heard nothing for a while: please send them the latest status."
                                 : "The target is near. Please act.");
      q.draft.auto_submitted = "auto-generated";
      queue_mail(*tx, c, q, now);
      res.mail_queued = true;
    }
  }
  tx->commit();
  return res;
}

}  // namespace sd
