// Business calendars and SLA clocks: when is the service desk open, and when is a
// ticket's target due in business time.
//
// Pure library: no I/O except date/tz reading the system tzdata (/usr/share/zoneinfo)
// the first time a zone is looked up. Semantics (see docs/sla.md):
// - Business time is the set of instants whose local wall-clock time in the calendar's
//   zone lies inside an opening interval of a day that is not closed. On a DST change an
//   interval is as long in real seconds as that wall-clock span really lasts: an interval
//   crossing spring-forward is an hour shorter, one crossing fall-back an hour longer.
// - All intervals are half-open, [from, to).
// Diagnostics: the Calendar constructor throws std::invalid_argument naming the calendar
// and what is wrong; add()/between() never throw for a valid calendar.
// Thread safety: a Calendar is immutable after construction; const members may be called
// from any number of threads at once (date/tz initialises zones with std::call_once).
// Limitation: date/tz with the OS tzdata only knows explicit transitions (until 2037);
// later years get the zone's last offset (standard time all year).
#pragma once

#include "core/vocabulary.h"
#include "sla/holidays.h"

#include <date/date.h>
#include <date/tz.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sd::sla {

using Seconds = std::chrono::seconds;
using Instant = std::chrono::sys_seconds;  // UTC

// Minutes after local midnight, 0 <= from < to <= 24h; the interval is [from, to).
struct OpeningInterval {
  std::chrono::minutes from, to;
  friend bool operator==(const OpeningInterval&, const OpeningInterval&) = default;
};

struct CalendarSpec {
  std::string name;
  std::string time_zone;                             // IANA name, e.g. "Europe/Copenhagen"
  std::array<std::vector<OpeningInterval>, 7> week;  // index 0 = Monday ... 6 = Sunday
  std::string holiday_rules;                         // "", "DK" or "SE"
  // extra_closed closes a date (e.g. a company day off); extra_open cancels a closure
  // (built-in holiday or extra_closed) so the date keeps its weekday's hours.
  std::vector<date::year_month_day> extra_closed, extra_open;
};

class Calendar {
 public:
  // Throws std::invalid_argument naming what is wrong: unknown zone, unknown holiday
  // rules, an interval outside [0, 24h] or with from >= to, overlapping intervals on a
  // day, or a week without any opening hours (business time would never pass).
  explicit Calendar(CalendarSpec spec);

  // The earliest instant at which `business` open time after `start` has elapsed.
  // business <= 0 returns start unchanged, open or not. A start outside opening hours
  // counts from the next opening. A target used up exactly at closing is due at closing.
  Instant add(Instant start, Seconds business) const;

  // Open time within [a, b); 0 if b <= a.
  Seconds between(Instant a, Instant b) const;

  bool is_open(Instant t) const;

  // t itself when open, else the next opening (e.g. "we open again Monday 08:00").
  Instant next_open(Instant t) const;

  // Built-in holiday or extra closed, and not extra open. Weekends without opening hours
  // are not "closed days" in this sense; they simply have no hours.
  bool is_closed_day(date::year_month_day local_day) const;

  // Built-in holidays plus extra closed dates (named "Closed"), minus extra open dates,
  // sorted by date. An extra closed date that is already a holiday is not listed twice.
  std::vector<Holiday> closed_dates(int year) const;

  // Local time to the minute (seconds are dropped), with the zone's abbreviation.
  // en: "Monday 23 November 2026, 09:00 CET"; sv: "måndag 23 november 2026, 09:00 CET";
  // da: "mandag 23. november 2026, 09:00 CET". The language's primary subtag decides
  // ("sv-SE" is Swedish); anything else is English.
  std::string format_local(Instant t, std::string_view language = "en") const;

  // "2026-11-23T09:00:00+01:00". Offsets that are not whole minutes (local mean time
  // before ~1900) are truncated to the minute and the local time shifted to match, so the
  // string still denotes `t`.
  std::string rfc3339_local(Instant t) const;

  const CalendarSpec& spec() const { return spec_; }

  // The open UTC intervals on the local day `local_day` (empty on a closed day), in
  // order. Exposed for diagnostics and for callers that render opening hours.
  std::vector<std::pair<Instant, Instant>> open_intervals(date::year_month_day local_day) const;

 private:
  struct DaySeconds {
    std::int32_t from, to;  // seconds after local midnight
  };

  bool closed_local_day(date::local_days d) const;
  // Calls f(a, b) for each open interval [a, b) with b > from, in order, clipped to start
  // at `from`, until f returns false.
  template <class F>
  void walk_open(Instant from, F&& f) const;

  CalendarSpec spec_;
  const date::time_zone* zone_ = nullptr;
  std::array<std::vector<DaySeconds>, 7> week_;  // normalised, index 0 = Monday
  // Precomputed closures (built-in + extra closed - extra open) for local days in
  // [closed_first_, closed_first_ + closed_.size()); outside it they are computed per call.
  date::local_days closed_first_{};
  std::vector<bool> closed_;
  std::vector<date::local_days> extra_closed_, extra_open_;  // sorted
};

// "2026-11-23T09:00:00+01:00", "2026-11-23T08:00:00Z", fractional seconds allowed (and
// truncated); 't'/'z' and a space for 'T' are accepted as RFC 3339 allows. nullopt when
// malformed or out of range (second 60 included: sys_seconds has no leap seconds).
std::optional<Instant> parse_rfc3339(std::string_view s);
std::string rfc3339_utc(Instant t);  // "2026-11-23T08:00:00Z"

// Standard calendars matching the seeds: "dk" = Europe/Copenhagen Mon-Fri 08:00-16:00 with
// DK holidays, "se" = Europe/Stockholm Mon-Fri 08:00-17:00 with SE holidays.
// Throws std::invalid_argument for other names.
CalendarSpec default_calendar_spec(std::string_view name);

// ---- SLA targets and state ----

// Priorities are the desk's vocabulary (core/vocabulary.h): "highest" (also "critical"),
// "high", "medium", "low", "lowest"; case-insensitive.
using sd::Priority;
using sd::parse_priority;
using sd::to_string;
// First-response targets of the seeds: 1, 4, 8, 12, 16 business hours.
Seconds default_first_response_target(Priority p);

// A pending period: the SLA clock stands still. Open-ended (to == nullopt) while still
// pending. Overlapping pauses count once; a pause with to < from is empty.
struct Pause {
  Instant from;
  std::optional<Instant> to;
};

// Due instant of a target of `target` business time counted from `start` when the clock
// stands still during the pauses: the earliest T such that the open, unpaused time in
// [start, T) equals target. So each pause that begins before the (pushed) due pushes it out
// by the business time inside the pause; pauses that begin at or after it change nothing.
// nullopt while a still-open pause began before the due (the clock is stopped). An open
// pause that begins at or after the due leaves it in place (the target was already missed).
std::optional<Instant> due_with_pauses(const Calendar& cal, Instant start, Seconds target,
                                       const std::vector<Pause>& pauses);

// Business time consumed from `start` to `now`, excluding pauses (an open pause runs to now).
Seconds elapsed_with_pauses(const Calendar& cal, Instant start, Instant now,
                            const std::vector<Pause>& pauses);

}  // namespace sd::sla
