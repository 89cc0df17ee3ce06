// Calendar::add, between and is_open against an independent brute force that steps minute by
// minute through UTC, converts each minute to local time with date/tz and asks a plain
// predicate (weekday, minute of day, published holiday table) whether it is open.
// The cases are generated from a fixed seed, so a failure reproduces; they cluster around
// DST changes, year ends and every holiday of 2025-2027, starts fall inside and outside
// opening hours and targets are whole and fractional hours.
#include "published_holidays.h"
#include "sla/calendar.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define SD_SLA_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define SD_SLA_SANITIZED 1
#endif
#endif

namespace {

using namespace std::chrono_literals;
using sd::sla::Calendar;
using sd::sla::CalendarSpec;
using sd::sla::Instant;
using sd::sla::OpeningInterval;

// Sanitizer builds run a quarter of the cases to stay within a few minutes.
#ifdef SD_SLA_SANITIZED
constexpr int case_divisor = 4;
#else
constexpr int case_divisor = 1;
#endif

struct PlainInterval {
  int from, to;  // minutes after local midnight
};

// The reference: its own notion of a calendar, shared with the library only through the
// CalendarSpec built from the same plain data.
struct Reference {
  std::string label;
  const date::time_zone* zone;
  std::vector<PlainInterval> week[7];  // 0 = Monday
  std::set<date::local_days> holidays;

  bool open(Instant t) const {
    const auto local = zone->to_local(t);
    const auto day = date::floor<date::days>(local);
    if (holidays.count(day)) return false;
    const int minute = static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(local - day).count());
    const unsigned wd = date::weekday{day}.iso_encoding() - 1;
    for (const auto& iv : week[wd]) {
      if (minute >= iv.from && minute < iv.to) return true;
    }
    return false;
  }

  // The minute that completes `minutes` open minutes ends at the due time.
  Instant add(Instant start, long minutes) const {
    if (minutes == 0) return start;
    long counted = 0;
    for (Instant t = start;; t += 60s) {
      if (open(t) && ++counted == minutes) return t + 60s;
    }
  }

  long between(Instant a, Instant b) const {
    long n = 0;
    for (Instant t = a; t < b; t += 60s) n += open(t) ? 1 : 0;
    return n;
  }
};

std::set<date::local_days> holiday_days(const std::vector<sd::sla::test::PublishedHoliday>& table) {
  std::set<date::local_days> out;
  for (const auto& h : table) out.insert(date::local_days{sd::sla::test::to_ymd(h)});
  return out;
}

struct Subject {
  Reference ref;
  Calendar cal;
};

Subject make_subject(std::string label, std::string zone, std::vector<PlainInterval> weekday_hours,
                     std::vector<PlainInterval> weekend_hours, std::string rules) {
  Reference ref;
  ref.label = label;
  ref.zone = date::locate_zone(zone);
  CalendarSpec spec;
  spec.name = label;
  spec.time_zone = zone;
  spec.holiday_rules = rules;
  for (int d = 0; d < 7; ++d) {
    ref.week[d] = d < 5 ? weekday_hours : weekend_hours;
    for (const auto& iv : ref.week[d]) {
      spec.week[static_cast<std::size_t>(d)].push_back({std::chrono::minutes{iv.from}, std::chrono::minutes{iv.to}});
    }
  }
  if (rules == "DK") ref.holidays = holiday_days(sd::sla::test::published_dk());
  if (rules == "SE") ref.holidays = holiday_days(sd::sla::test::published_se());
  return Subject{std::move(ref), Calendar(std::move(spec))};
}

std::vector<Subject> make_subjects() {
  std::vector<Subject> s;
  // The two standard calendars, built by hand so the reference does not rely on
  // default_calendar_spec (checked separately below).
  s.push_back(make_subject("dk", "Europe/Copenhagen", {{480, 960}}, {}, "DK"));
  s.push_back(make_subject("se", "Europe/Stockholm", {{480, 1020}}, {}, "SE"));
  // Hours that overlap the DST changes themselves (02:00-03:00 local in the EU).
  s.push_back(make_subject("night shift", "Europe/Copenhagen", {{0, 210}, {1320, 1440}}, {{0, 210}, {1320, 1440}}, ""));
  s.push_back(make_subject("edges", "Europe/Stockholm", {{90, 150}, {165, 195}, {720, 780}}, {{90, 150}, {165, 195}}, "SE"));
  s.push_back(make_subject("around the clock", "America/New_York", {{0, 1440}}, {{0, 1440}}, ""));
  // Half-hour DST change at 02:00 local.
  s.push_back(make_subject("lord howe", "Australia/Lord_Howe", {{60, 180}, {540, 1020}}, {{60, 180}}, ""));
  return s;
}

// Dates worth clustering starts around: DST changes of the zone, year ends, and every
// holiday of the reference, all within 2025-2027.
std::vector<Instant> interesting_instants(const Reference& ref) {
  std::vector<Instant> out;
  const Instant lo{date::sys_days{date::year{2025} / 1 / 1}};
  const Instant hi{date::sys_days{date::year{2027} / 12 / 31}};
  for (Instant t = lo; t < hi;) {
    const auto info = ref.zone->get_info(t);
    if (info.end >= hi) break;
    out.push_back(info.end);
    t = info.end;
  }
  for (int y = 2024; y <= 2027; ++y) out.push_back(Instant{date::sys_days{date::year{y} / 12 / 31}} + 12h);
  for (auto d : ref.holidays) {
    const Instant t{date::sys_days{d.time_since_epoch()}};
    if (t >= lo && t < hi) out.push_back(t + 12h);
  }
  return out;
}

Instant random_start(std::mt19937_64& rng, const std::vector<Instant>& interesting) {
  std::uniform_int_distribution<int> pick(0, 99);
  const int kind = pick(rng);
  if (kind < 35) {  // anywhere in 2025-2027
    std::uniform_int_distribution<long> minute(0, 3L * 365 * 1440 - 20 * 1440);
    return Instant{date::sys_days{date::year{2025} / 1 / 1}} + std::chrono::minutes{minute(rng)};
  }
  std::uniform_int_distribution<std::size_t> which(0, interesting.size() - 1);
  const Instant base = interesting[which(rng)];
  if (kind < 45) {  // right at a DST change or holiday noon, a few minutes either side
    std::uniform_int_distribution<long> near(-3, 3);
    return base + std::chrono::minutes{near(rng)};
  }
  std::uniform_int_distribution<long> around(-4 * 1440, 2 * 1440);  // days before and after
  return date::floor<std::chrono::minutes>(base) + std::chrono::minutes{around(rng)};
}

// Some starts land exactly on opening or closing, or a minute off.
Instant maybe_snap_to_edge(std::mt19937_64& rng, const Reference& ref, Instant t) {
  std::uniform_int_distribution<int> pick(0, 99);
  if (pick(rng) >= 20) return t;
  const auto local = ref.zone->to_local(t);
  const auto day = date::floor<date::days>(local);
  const auto& hours = ref.week[date::weekday{day}.iso_encoding() - 1];
  if (hours.empty()) return t;
  std::uniform_int_distribution<std::size_t> which(0, hours.size() - 1);
  const auto& iv = hours[which(rng)];
  std::uniform_int_distribution<int> edge(0, 1), jitter(-1, 1);
  const int minute = (edge(rng) ? iv.from : iv.to) + jitter(rng);
  const auto snapped = date::local_seconds{day} + std::chrono::minutes{minute};
  try {
    return ref.zone->to_sys(snapped);
  } catch (const std::exception&) {  // nonexistent or ambiguous local time: keep t
    return t;
  }
}

long random_target_minutes(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> pick(0, 99);
  const int kind = pick(rng);
  if (kind < 5) return 0;
  if (kind < 30) {
    const int whole[] = {1, 4, 8, 12, 16};
    std::uniform_int_distribution<int> i(0, 4);
    return whole[i(rng)] * 60L;
  }
  std::uniform_int_distribution<long> any(1, 16 * 60 + 59);  // fractional hours
  return any(rng);
}

std::string describe(const Reference& ref, Instant start, long minutes) {
  std::ostringstream s;
  s << ref.label << ": start " << sd::sla::rfc3339_utc(start) << " (local "
    << date::format("%F %T", ref.zone->to_local(start)) << "), " << minutes << " min";
  return s.str();
}

}  // namespace

TEST_CASE("Due times agree with a minute-stepping reference in every test calendar", "[sla][reference]") {
  std::mt19937_64 rng(0x5eed'5a1a);
  for (const auto& subject : make_subjects()) {
    const auto& ref = subject.ref;
    const auto interesting = interesting_instants(ref);
    const bool standard = ref.label == "dk" || ref.label == "se";
    const int cases = (standard ? 5000 : 1500) / case_divisor;
    std::vector<std::string> mismatches;
    for (int i = 0; i < cases; ++i) {
      const Instant start = maybe_snap_to_edge(rng, ref, random_start(rng, interesting));
      const long minutes = random_target_minutes(rng);
      const Instant expected = ref.add(start, minutes);
      const Instant got = subject.cal.add(start, std::chrono::minutes{minutes});
      if (got != expected) {
        mismatches.push_back(describe(ref, start, minutes) + ": expected " + sd::sla::rfc3339_utc(expected) +
                             ", got " + sd::sla::rfc3339_utc(got));
      }
      // The due time is exactly the target away in business time.
      if (minutes > 0 && subject.cal.between(start, got) != std::chrono::minutes{minutes}) {
        mismatches.push_back(describe(ref, start, minutes) + ": between(start, due) differs from target");
      }
    }
    INFO(ref.label << ": " << mismatches.size() << " mismatches of " << cases);
    for (std::size_t k = 0; k < std::min<std::size_t>(mismatches.size(), 5); ++k) INFO(mismatches[k]);
    CHECK(mismatches.empty());
  }
}

TEST_CASE("Open time between two instants agrees with a minute-stepping reference", "[sla][reference]") {
  std::mt19937_64 rng(0xb37ee17);
  for (const auto& subject : make_subjects()) {
    const auto& ref = subject.ref;
    const auto interesting = interesting_instants(ref);
    const int cases = 1000 / case_divisor;
    std::vector<std::string> mismatches;
    std::uniform_int_distribution<long> span(-60, 6 * 1440);  // negative spans must give 0
    for (int i = 0; i < cases; ++i) {
      const Instant a = maybe_snap_to_edge(rng, ref, random_start(rng, interesting));
      const Instant b = a + std::chrono::minutes{span(rng)};
      const long expected = ref.between(a, b);
      const auto got = subject.cal.between(a, b);
      if (got != std::chrono::minutes{expected}) {
        mismatches.push_back(ref.label + ": [" + sd::sla::rfc3339_utc(a) + ", " + sd::sla::rfc3339_utc(b) +
                             "): expected " + std::to_string(expected) + " min, got " +
                             std::to_string(got.count()) + " s");
      }
    }
    INFO(ref.label << ": " << mismatches.size() << " mismatches of " << cases);
    for (std::size_t k = 0; k < std::min<std::size_t>(mismatches.size(), 5); ++k) INFO(mismatches[k]);
    CHECK(mismatches.empty());
  }
}

TEST_CASE("Whether the desk is open agrees with the reference to the second", "[sla][reference]") {
  std::mt19937_64 rng(0x09e7);
  for (const auto& subject : make_subjects()) {
    const auto& ref = subject.ref;
    const auto interesting = interesting_instants(ref);
    std::vector<std::string> mismatches;
    std::uniform_int_distribution<long> second(0, 59);
    for (int i = 0; i < 20000 / case_divisor; ++i) {
      const Instant t = maybe_snap_to_edge(rng, ref, random_start(rng, interesting)) + std::chrono::seconds{second(rng)};
      if (subject.cal.is_open(t) != ref.open(t)) mismatches.push_back(ref.label + ": " + sd::sla::rfc3339_utc(t));
    }
    INFO(ref.label << ": " << mismatches.size() << " mismatches");
    for (std::size_t k = 0; k < std::min<std::size_t>(mismatches.size(), 5); ++k) INFO(mismatches[k]);
    CHECK(mismatches.empty());
  }
}

TEST_CASE("Every published holiday closes the standard calendars all day", "[sla][reference]") {
  for (const char* name : {"dk", "se"}) {
    const Calendar cal(sd::sla::default_calendar_spec(name));
    const auto& table = std::string(name) == "dk" ? sd::sla::test::published_dk() : sd::sla::test::published_se();
    for (const auto& h : table) {
      const date::local_days day{sd::sla::test::to_ymd(h)};
      INFO(name << " " << h.name << " " << h.year);
      CHECK(cal.is_closed_day(sd::sla::test::to_ymd(h)));
      const auto zone = date::locate_zone(cal.spec().time_zone);
      const Instant midnight = zone->to_sys(date::local_seconds{day});
      const Instant next = zone->to_sys(date::local_seconds{day + date::days{1}});
      CHECK(cal.between(midnight, next) == 0s);
      CHECK(cal.open_intervals(sd::sla::test::to_ymd(h)).empty());
    }
  }
}

TEST_CASE("The standard calendar specs match the seeds' hours and zones", "[sla]") {
  const auto dk = sd::sla::default_calendar_spec("dk");
  CHECK(dk.time_zone == "Europe/Copenhagen");
  CHECK(dk.holiday_rules == "DK");
  const auto se = sd::sla::default_calendar_spec("se");
  CHECK(se.time_zone == "Europe/Stockholm");
  CHECK(se.holiday_rules == "SE");
  for (std::size_t d = 0; d < 7; ++d) {
    if (d < 5) {
      CHECK(dk.week[d] == std::vector<OpeningInterval>{{8h, 16h}});
      CHECK(se.week[d] == std::vector<OpeningInterval>{{8h, 17h}});
    } else {
      CHECK(dk.week[d].empty());
      CHECK(se.week[d].empty());
    }
  }
  CHECK_THROWS_AS(sd::sla::default_calendar_spec("no"), std::invalid_argument);
}
