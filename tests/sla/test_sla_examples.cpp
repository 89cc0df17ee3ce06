// Worked examples to the minute in the standard calendars (weekends, Christmas, year end,
// the 2026 DST changes), the documented DST choices for hours that overlap a change,
// formatting and parsing of instants, priorities, and constructor diagnostics.
#include "sla/calendar.h"

#include <catch2/catch.hpp>

#include <random>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using sd::sla::Calendar;
using sd::sla::Instant;

Instant at(std::string_view rfc3339) {
  const auto t = sd::sla::parse_rfc3339(rfc3339);
  REQUIRE(t.has_value());
  return *t;
}

const Calendar& dk() {
  static const Calendar cal(sd::sla::default_calendar_spec("dk"));
  return cal;
}

const Calendar& se() {
  static const Calendar cal(sd::sla::default_calendar_spec("se"));
  return cal;
}

// Europe/Copenhagen, open only on Sundays 00:00-04:00 and 02:30-03:30 on Saturdays: hours
// that contain the DST changes (02:00 -> 03:00 in March, 03:00 -> 02:00 in October).
Calendar night_calendar() {
  sd::sla::CalendarSpec spec;
  spec.name = "night";
  spec.time_zone = "Europe/Copenhagen";
  spec.week[6] = {{0h, 4h}};
  return Calendar(spec);
}

}  // namespace

TEST_CASE("An hour before Friday's closing is due on Monday morning", "[sla][examples]") {
  const auto due = dk().add(at("2026-11-20T15:30:00+01:00"), 1h);
  CHECK(dk().rfc3339_local(due) == "2026-11-23T08:30:00+01:00");
  CHECK(se().rfc3339_local(se().add(at("2026-11-20T16:30:00+01:00"), 1h)) == "2026-11-23T08:30:00+01:00");
}

TEST_CASE("A ticket raised on Christmas Eve starts counting after Christmas", "[sla][examples]") {
  const Instant christmas_eve = at("2026-12-24T10:00:00+01:00");
  CHECK(dk().rfc3339_local(dk().add(christmas_eve, 1h)) == "2026-12-28T09:00:00+01:00");
  // Three full Danish days, then New Year's Eve, New Year's Day and a weekend.
  CHECK(dk().rfc3339_local(dk().add(christmas_eve, 24h)) == "2026-12-30T16:00:00+01:00");
  CHECK(dk().rfc3339_local(dk().add(christmas_eve, 25h)) == "2027-01-04T09:00:00+01:00");
  // Used up exactly at closing: due at closing, not the next morning.
  CHECK(se().rfc3339_local(se().add(christmas_eve, 9h)) == "2026-12-28T17:00:00+01:00");
  CHECK(se().rfc3339_local(se().add(christmas_eve, 10h)) == "2026-12-29T09:00:00+01:00");
}

TEST_CASE("Swedish time crosses the year end and skips Epiphany", "[sla][examples]") {
  const Instant start = at("2026-12-30T16:30:00+01:00");
  CHECK(se().rfc3339_local(se().add(start, 1h)) == "2027-01-04T08:30:00+01:00");
  // 0:30 on 30 Dec, 9 h on 4 and 5 Jan, Epiphany (Wed 6 Jan) closed, 1:30 on 7 Jan.
  CHECK(se().rfc3339_local(se().add(start, 20h)) == "2027-01-07T09:30:00+01:00");
  CHECK(se().between(start, at("2027-01-07T09:30:00+01:00")) == 20h);
}

TEST_CASE("Due times cross the March 2026 change to summer time", "[sla][examples]") {
  CHECK(dk().rfc3339_local(dk().add(at("2026-03-27T15:30:00+01:00"), 1h)) == "2026-03-30T08:30:00+02:00");
  CHECK(dk().between(at("2026-03-27T15:00:00+01:00"), at("2026-03-30T09:00:00+02:00")) == 2h);
  CHECK(se().rfc3339_local(se().add(at("2026-03-27T16:00:00+01:00"), 2h)) == "2026-03-30T09:00:00+02:00");
  CHECK(sd::sla::rfc3339_utc(dk().add(at("2026-03-27T15:30:00+01:00"), 1h)) == "2026-03-30T06:30:00Z");
}

TEST_CASE("Due times cross the October 2026 change to standard time", "[sla][examples]") {
  CHECK(dk().rfc3339_local(dk().add(at("2026-10-23T15:00:00+02:00"), 2h)) == "2026-10-26T09:00:00+01:00");
  CHECK(se().rfc3339_local(se().add(at("2026-10-23T16:00:00+02:00"), 8h)) == "2026-10-26T15:00:00+01:00");
  CHECK(dk().between(at("2026-10-23T00:00:00+02:00"), at("2026-10-27T00:00:00+01:00")) == 16h);  // Fri + Mon
}

TEST_CASE("Hours that contain a DST change last as long as the wall clock really runs", "[sla][examples]") {
  const Calendar night = night_calendar();
  // 29 March 2026: 00:00-04:00 local lasts 3 real hours (02:00-03:00 does not exist).
  CHECK(night.between(at("2026-03-28T12:00:00+01:00"), at("2026-03-29T12:00:00+02:00")) == 3h);
  CHECK(night.rfc3339_local(night.add(at("2026-03-28T12:00:00+01:00"), 3h)) == "2026-03-29T04:00:00+02:00");
  CHECK(night.rfc3339_local(night.add(at("2026-03-28T12:00:00+01:00"), 2h)) == "2026-03-29T03:00:00+02:00");
  // 25 October 2026: 00:00-04:00 local lasts 5 real hours (02:00-03:00 happens twice).
  CHECK(night.between(at("2026-10-24T12:00:00+02:00"), at("2026-10-25T12:00:00+01:00")) == 5h);
  CHECK(night.rfc3339_local(night.add(at("2026-10-24T12:00:00+02:00"), 3h)) == "2026-10-25T02:00:00+01:00");
  CHECK(night.rfc3339_local(night.add(at("2026-10-24T12:00:00+02:00"), 4h)) == "2026-10-25T03:00:00+01:00");
  CHECK(night.is_open(at("2026-10-25T02:30:00+02:00")));
  CHECK(night.is_open(at("2026-10-25T02:30:00+01:00")));

  // An interval inside the repeated hour is open during both occurrences; one inside the
  // skipped hour is partly or wholly absent.
  sd::sla::CalendarSpec spec;
  spec.name = "edge";
  spec.time_zone = "Europe/Copenhagen";
  spec.week[6] = {{150min, 210min}};  // 02:30-03:30
  const Calendar edge(spec);
  CHECK(edge.between(at("2026-03-29T00:00:00+01:00"), at("2026-03-29T12:00:00+02:00")) == 30min);
  CHECK(edge.between(at("2026-10-25T00:00:00+02:00"), at("2026-10-25T12:00:00+01:00")) == 90min);
  const auto pieces = edge.open_intervals(date::year{2026} / 10 / 25);
  REQUIRE(pieces.size() == 2);
  CHECK(sd::sla::rfc3339_utc(pieces[0].first) == "2026-10-25T00:30:00Z");
  CHECK(sd::sla::rfc3339_utc(pieces[0].second) == "2026-10-25T01:00:00Z");
  CHECK(sd::sla::rfc3339_utc(pieces[1].first) == "2026-10-25T01:30:00Z");
  CHECK(sd::sla::rfc3339_utc(pieces[1].second) == "2026-10-25T02:30:00Z");
}

TEST_CASE("The next opening is now when open and the next morning when closed", "[sla][examples]") {
  CHECK(dk().next_open(at("2026-11-23T10:00:00+01:00")) == at("2026-11-23T10:00:00+01:00"));
  CHECK(dk().next_open(at("2026-11-23T16:00:00+01:00")) == at("2026-11-24T08:00:00+01:00"));
  CHECK(dk().next_open(at("2026-12-23T17:00:00+01:00")) == at("2026-12-28T08:00:00+01:00"));
  CHECK(se().next_open(at("2026-03-27T17:00:00+01:00")) == at("2026-03-30T08:00:00+02:00"));
  CHECK(se().next_open(at("2026-06-18T17:00:00+02:00")) == at("2026-06-22T08:00:00+02:00"));  // midsummer
}

TEST_CASE("Zero business time leaves the start where it is, open or not", "[sla][examples]") {
  const Instant saturday = at("2026-11-21T11:00:00+01:00");
  CHECK(dk().add(saturday, 0s) == saturday);
  CHECK(dk().add(saturday, -5min) == saturday);
  const Instant monday = at("2026-11-23T10:00:00+01:00");
  CHECK(dk().add(monday, 0s) == monday);
}

TEST_CASE("Seconds are counted exactly and opening edges are half-open", "[sla][examples]") {
  CHECK(dk().add(at("2026-11-23T09:00:30+01:00"), 90s) == at("2026-11-23T09:02:00+01:00"));
  CHECK(dk().add(at("2026-11-23T15:59:30+01:00"), 60s) == at("2026-11-24T08:00:30+01:00"));
  CHECK(dk().add(at("2026-11-23T06:00:00+01:00"), 1s) == at("2026-11-23T08:00:01+01:00"));
  CHECK(dk().is_open(at("2026-11-23T08:00:00+01:00")));
  CHECK(dk().is_open(at("2026-11-23T15:59:59+01:00")));
  CHECK_FALSE(dk().is_open(at("2026-11-23T16:00:00+01:00")));
  CHECK_FALSE(dk().is_open(at("2026-11-23T07:59:59+01:00")));
  CHECK(dk().between(at("2026-11-23T12:00:00+01:00"), at("2026-11-23T12:00:00+01:00")) == 0s);
  CHECK(dk().between(at("2026-11-24T12:00:00+01:00"), at("2026-11-23T12:00:00+01:00")) == 0s);
  CHECK(dk().between(at("2026-11-23T15:59:59+01:00"), at("2026-11-24T08:00:01+01:00")) == 2s);
}

TEST_CASE("Hours running to midnight join the next day's hours from midnight", "[sla][examples]") {
  sd::sla::CalendarSpec spec;
  spec.name = "late";
  spec.time_zone = "Europe/Stockholm";
  spec.week[0] = {{20h, 24h}};
  spec.week[1] = {{0h, 4h}, {4h, 6h}};  // adjacent intervals are one stretch
  const Calendar late(spec);
  CHECK(late.add(at("2026-11-23T23:00:00+01:00"), 2h) == at("2026-11-24T01:00:00+01:00"));
  CHECK(late.add(at("2026-11-23T23:00:00+01:00"), 6h) == at("2026-11-24T05:00:00+01:00"));
  CHECK(late.add(at("2026-11-23T23:00:00+01:00"), 7h) == at("2026-11-24T06:00:00+01:00"));
  CHECK(late.add(at("2026-11-23T23:00:00+01:00"), 8h) == at("2026-11-30T21:00:00+01:00"));
}

TEST_CASE("Long targets walk through many weeks", "[sla][examples]") {
  // A year of Danish business time is 8 h for every open day, counted day by day here.
  const Instant start = at("2026-01-01T00:00:00+01:00");
  const Instant end = at("2027-01-01T00:00:00+01:00");
  const auto year = dk().between(start, end);
  int open_days = 0;
  for (date::sys_days d = date::sys_days{date::year{2026} / 1 / 1}; d < date::sys_days{date::year{2027} / 1 / 1};
       d += date::days{1}) {
    const date::weekday wd{d};
    if (wd != date::Saturday && wd != date::Sunday && !dk().is_closed_day(date::year_month_day{d})) ++open_days;
  }
  CHECK(year == open_days * 8h);
  CHECK(open_days == 261 - 11);  // 261 weekdays, 11 of them holidays (Constitution Day a Friday)
  CHECK(dk().add(start, year) == at("2026-12-30T16:00:00+01:00"));
}

TEST_CASE("Local times are formatted in English, Swedish and Danish", "[sla][examples]") {
  const Instant winter = at("2026-11-23T08:00:00Z");
  CHECK(dk().format_local(winter) == "Monday 23 November 2026, 09:00 CET");
  CHECK(dk().format_local(winter, "sv") == "måndag 23 november 2026, 09:00 CET");
  CHECK(dk().format_local(winter, "da") == "mandag 23. november 2026, 09:00 CET");
  CHECK(dk().format_local(winter, "da-DK") == "mandag 23. november 2026, 09:00 CET");
  CHECK(dk().format_local(winter, "fr") == "Monday 23 November 2026, 09:00 CET");
  const Instant summer = at("2026-06-19T10:15:59Z");
  CHECK(se().format_local(summer) == "Friday 19 June 2026, 12:15 CEST");
  CHECK(se().format_local(summer, "sv_SE") == "fredag 19 juni 2026, 12:15 CEST");
  CHECK(se().format_local(at("2026-03-01T07:05:00Z"), "da") == "søndag 1. marts 2026, 08:05 CET");
  CHECK(se().format_local(at("2026-05-02T07:05:00Z"), "sv") == "lördag 2 maj 2026, 09:05 CEST");
}

TEST_CASE("RFC 3339 instants are written in UTC and local time and read back", "[sla][examples]") {
  const Instant t = at("2026-11-23T08:00:00Z");
  CHECK(sd::sla::rfc3339_utc(t) == "2026-11-23T08:00:00Z");
  CHECK(dk().rfc3339_local(t) == "2026-11-23T09:00:00+01:00");
  CHECK(dk().rfc3339_local(at("2026-07-01T00:00:00Z")) == "2026-07-01T02:00:00+02:00");
  sd::sla::CalendarSpec ny = sd::sla::default_calendar_spec("dk");
  ny.time_zone = "America/New_York";
  CHECK(Calendar(ny).rfc3339_local(t) == "2026-11-23T03:00:00-05:00");

  CHECK(sd::sla::parse_rfc3339("2026-11-23T09:00:00+01:00") == t);
  CHECK(sd::sla::parse_rfc3339("2026-11-23T03:00:00-05:00") == t);
  CHECK(sd::sla::parse_rfc3339("2026-11-23t08:00:00.987654z") == t);
  CHECK(sd::sla::parse_rfc3339("2026-11-23 08:00:00Z") == t);
  CHECK(sd::sla::parse_rfc3339("2026-11-23T13:30:00+05:30") == t);
  for (const char* bad : {"", "2026-11-23", "2026-11-23T08:00:00", "2026-02-29T08:00:00Z", "2026-11-23T24:00:00Z",
                          "2026-11-23T08:60:00Z", "2026-11-23T08:00:60Z", "2026-11-23T08:00:00+1:00",
                          "2026-11-23T08:00:00.Z", "2026-11-23T08:00:00Zjunk", "2026-11-23T08:00:00+24:00",
                          "26-11-23T08:00:00Z", "2026/11/23T08:00:00Z", "2026-11-23T08:00Z", "2026-13-01T00:00:00Z"}) {
    INFO(bad);
    CHECK_FALSE(sd::sla::parse_rfc3339(bad).has_value());
  }
  CHECK(sd::sla::parse_rfc3339("2028-02-29T00:00:00Z").has_value());

  std::mt19937_64 rng(42);
  std::uniform_int_distribution<long> seconds(0, 20L * 365 * 86400);
  const Instant base = at("2020-01-01T00:00:00Z");
  for (int i = 0; i < 2000; ++i) {
    const Instant x = base + std::chrono::seconds{seconds(rng)};
    INFO(sd::sla::rfc3339_utc(x));
    REQUIRE(sd::sla::parse_rfc3339(dk().rfc3339_local(x)) == x);
    REQUIRE(sd::sla::parse_rfc3339(se().rfc3339_local(x)) == x);
    REQUIRE(sd::sla::parse_rfc3339(sd::sla::rfc3339_utc(x)) == x);
  }
}

TEST_CASE("Priorities parse case-insensitively and name their first-response targets", "[sla][examples]") {
  using sd::sla::Priority;
  CHECK(sd::sla::parse_priority("highest") == Priority::highest);
  CHECK(sd::sla::parse_priority("Critical") == Priority::highest);
  CHECK(sd::sla::parse_priority("HIGH") == Priority::high);
  CHECK(sd::sla::parse_priority("medium") == Priority::medium);
  CHECK(sd::sla::parse_priority("low") == Priority::low);
  CHECK(sd::sla::parse_priority("lowest") == Priority::lowest);
  CHECK_FALSE(sd::sla::parse_priority("urgent").has_value());
  CHECK_FALSE(sd::sla::parse_priority("").has_value());
  for (auto p : {Priority::highest, Priority::high, Priority::medium, Priority::low, Priority::lowest}) {
    CHECK(sd::sla::parse_priority(sd::sla::to_string(p)) == p);
  }
  CHECK(sd::sla::default_first_response_target(Priority::highest) == 1h);
  CHECK(sd::sla::default_first_response_target(Priority::high) == 4h);
  CHECK(sd::sla::default_first_response_target(Priority::medium) == 8h);
  CHECK(sd::sla::default_first_response_target(Priority::low) == 12h);
  CHECK(sd::sla::default_first_response_target(Priority::lowest) == 16h);
}

TEST_CASE("A calendar with a bad zone or bad hours is refused with the reason", "[sla][examples]") {
  auto spec = sd::sla::default_calendar_spec("dk");
  spec.time_zone = "Europe/Atlantis";
  CHECK_THROWS_WITH(Calendar(spec), Catch::Contains("Europe/Atlantis") && Catch::Contains("dk"));

  auto bad = [](std::vector<sd::sla::OpeningInterval> monday, const char* reason) {
    auto s = sd::sla::default_calendar_spec("se");
    s.week[0] = std::move(monday);
    INFO(reason);
    CHECK_THROWS_AS(Calendar(s), std::invalid_argument);
    CHECK_THROWS_WITH(Calendar(s), Catch::Contains("Monday"));
  };
  bad({{16h, 8h}}, "ends before it starts");
  bad({{8h, 8h}}, "empty");
  bad({{-1min, 8h}}, "before midnight");
  bad({{8h, 25h}}, "after midnight");
  bad({{8h, 12h}, {11h, 13h}}, "overlapping");

  auto closed = sd::sla::default_calendar_spec("dk");
  closed.week = {};
  CHECK_THROWS_WITH(Calendar(closed), Catch::Contains("no opening hours"));
  CHECK_NOTHROW(Calendar(sd::sla::default_calendar_spec("se")));
}

TEST_CASE("One calendar answers from several threads at once", "[sla][examples]") {
  const Calendar cal(sd::sla::default_calendar_spec("se"));
  const Instant base = at("2026-01-01T00:00:00Z");
  std::vector<Instant> expected;
  for (int i = 0; i < 2000; ++i) expected.push_back(cal.add(base + std::chrono::minutes{i * 317}, std::chrono::minutes{60 + i % 900}));
  std::vector<int> wrong(4, 0);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < 2000; ++i) {
        if (cal.add(base + std::chrono::minutes{i * 317}, std::chrono::minutes{60 + i % 900}) != expected[i]) ++wrong[k];
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(wrong == std::vector<int>(4, 0));
}
