// desk/sla_clock.h: holds each ticket to its SLA: due times, state, and the warnings and
// breaches that fall due.
//
// Contract: due times are derived: from the ticket's start, its priority and SLA, and the
// periods its clock stood still (pending, or resolved until reopened). So a priority change
// recomputes the targets from the ticket's start. Only the next one (the earliest coming
// warning or breach) is also stored, as the queues' sort key: the state machine
// (desk/ticket_change.h) and every run of the clock keep it current. Fired warnings and
// breaches are recorded in the store, one per ticket, target and kind: a restart fires
// nothing twice, and what fell due while the daemon was down fires once at start.
#pragma once

#include "config/config.h"
#include "notify/compose.h"
#include "sla/calendar.h"
#include "store/store.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sd {

class Desk;  // desk/desk.h

// A point at which the clock must act.
struct SlaDeadline {
  // "first_response", "resolution", or "update:<start of the silence>" and
  // "customer-update:<start of the silence>" (desk/keep_informed.h)
  std::string target;
  std::string kind;    // "warning", "breach", "reminder" or "customer-update"
  store::Time at = 0;  // when to act
  store::Time due = 0;  // the target's due time
};

struct TicketSla {
  std::optional<store::Time> first_response_due, resolution_due;
  std::string state;  // ok, warning, breached, met, paused
  std::vector<SlaDeadline> deadlines;  // for targets still running, in time order
};

class SlaClock {
 public:
  explicit SlaClock(const Config& config);  // throws ConfigError for an SLA naming no calendar

  const Config::Sla& sla(const std::string& name) const;  // unknown names: the default SLA
  const sla::Calendar& calendar(const std::string& sla_name) const;
  const sla::Calendar* calendar_named(const std::string& calendar_name) const;  // nullptr if none
  // last_update: when the customer last had a mail from an agent (for update reminders).
  TicketSla evaluate(const store::Ticket& t, const std::vector<store::PausePeriod>& pauses, store::Time now,
                     std::optional<store::Time> last_update = std::nullopt) const;

 private:
  const Config& config_;
  std::map<std::string, sla::Calendar> calendars_;
};

// Whether deadline `d` has fired (is among the ticket's recorded SLA events).
bool has_fired(const std::vector<store::SlaEvent>& fired, const SlaDeadline& d);
// The ticket's next SLA due time as stored: the earliest warning or breach among
// `deadlines` (in time order) that has not fired, and falls after `after` when given.
std::optional<store::Time> next_sla_due(const std::vector<SlaDeadline>& deadlines,
                                        const std::vector<store::SlaEvent>& fired,
                                        std::optional<store::Time> after = std::nullopt);

struct SlaFireResult {
  int fired = 0;
  bool mail_queued = false;
  std::optional<store::Time> next_at;  // earliest deadline still to come
};

// Fires every deadline that has come (recording it and queuing its mail), closes resolved
// tickets past intake.auto_close_days, in one transaction, and says when the next comes.
SlaFireResult fire_due_sla_events(store::Store& store, const Desk& desk, store::Time now);
// The same with a Desk built from `config` for this call (tests; throws ConfigError).
SlaFireResult fire_due_sla_events(store::Store& store, const Config& config, const SlaClock& clock, store::Time now);

// Who is told of an SLA deadline of `kind` ("warning", "reminder" or "breach") under
// `policy`, the one rule for the clock and for check-config: a warning or reminder goes to
// the ticket's `assignee`, else sla.agents_address, else agents.team_address, else every
// registered agent (`agents`); a breach to the policy's escalation_address, else the same
// chain. Empty only when none of them exists (check-config asks with no assignee).
std::vector<notify::Mailbox> sla_recipients(const Config& c, const Config::Sla& policy, const std::string& kind,
                                            const std::string& assignee, const std::vector<store::Agent>& agents);

// Whether the calendar of SLA `sla_name` (unknown: the default SLA) keeps the holidays of
// `language`'s country: false only for a Swedish (sv) organisation on a calendar with
// another country's holidays (DK) or a Danish (da) one on SE's. English, and calendars
// without holiday rules, fit anything.
bool calendar_fits_language(const Config& c, const std::string& sla_name, const std::string& language);
// The SLA `org add` gives an organisation of `language` that names none: the default SLA
// when its calendar fits the language, else the first built-in standard SLA that does
// (sv: standard-se), else the default.
std::string sla_for_language(const Config& c, const std::string& language);
// The hypercare SLA for a ticket on SLA `sla_name`: the built-in hypercare SLA (hypercare,
// hypercare-se) on the same calendar (by name, else by holiday rules), else "hypercare";
// nullopt when the config has none.
std::optional<std::string> hypercare_sla(const Config& c, const std::string& sla_name);

// Sets a ticket's category; a hypercare ticket that becomes an incident moves to the
// hypercare SLA of its calendar (hypercare_sla(); its targets recomputed from the ticket's
// start). Records both as events.
void change_category(store::Transaction& tx, const Config& c, const store::Ticket& t, const std::string& category,
                     const std::string& actor, store::Time now);

// An organisation's hypercare period [start, end) in UTC days, or nullopt when it has none;
// one ended early (org hypercare end) ends when it was ended.
struct HypercarePeriod {
  store::Time start = 0, end = 0;
  bool covers(store::Time t) const { return t >= start && t < end; }
};
std::optional<HypercarePeriod> hypercare_period(const store::Organisation& org);

// The clock the daemon and the commands go by: the system clock plus the test offset.
store::Time clock_now(const Config& config);

}  // namespace sd
