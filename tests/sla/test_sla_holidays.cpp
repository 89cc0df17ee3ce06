// Built-in holiday rules against published calendars, Easter against known dates, and the
// closed-day logic of a Calendar (extra closed and extra open dates).
#include "published_holidays.h"
#include "sla/calendar.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace {

using sd::sla::Holiday;

std::vector<Holiday> published(const std::vector<sd::sla::test::PublishedHoliday>& table, int year) {
  std::vector<Holiday> out;
  for (const auto& h : table) {
    if (h.year == year) out.push_back({sd::sla::test::to_ymd(h), h.name});
  }
  return out;
}

std::string render(const std::vector<Holiday>& v) {
  std::string s;
  for (const auto& h : v) s += date::format("%F ", h.day) + h.name + "\n";
  return s;
}

date::year_month_day ymd(int y, unsigned m, unsigned d) { return date::year{y} / date::month{m} / date::day{d}; }

}  // namespace

TEST_CASE("Easter Sunday matches the published dates", "[sla][holidays]") {
  CHECK(sd::sla::easter_sunday(2024) == ymd(2024, 3, 31));
  CHECK(sd::sla::easter_sunday(2025) == ymd(2025, 4, 20));
  CHECK(sd::sla::easter_sunday(2026) == ymd(2026, 4, 5));
  CHECK(sd::sla::easter_sunday(2027) == ymd(2027, 3, 28));
  CHECK(sd::sla::easter_sunday(2000) == ymd(2000, 4, 23));
  CHECK(sd::sla::easter_sunday(1961) == ymd(1961, 4, 2));
  // The extremes of the Gregorian computus: earliest 22 March, latest 25 April.
  CHECK(sd::sla::easter_sunday(2285) == ymd(2285, 3, 22));
  CHECK(sd::sla::easter_sunday(2038) == ymd(2038, 4, 25));
  CHECK(sd::sla::easter_sunday(1943) == ymd(1943, 4, 25));
}

TEST_CASE("Easter always falls on a Sunday between 22 March and 25 April", "[sla][holidays]") {
  for (int y = 1583; y <= 9999; y += 7) {
    const auto e = sd::sla::easter_sunday(y);
    INFO(y);
    REQUIRE(date::weekday{date::sys_days{e}} == date::Sunday);
    REQUIRE(e >= ymd(y, 3, 22));
    REQUIRE(e <= ymd(y, 4, 25));
  }
}

TEST_CASE("Danish holidays 2023-2028 match the published calendar", "[sla][holidays]") {
  for (int year = 2023; year <= 2028; ++year) {
    INFO(year);
    CHECK(render(sd::sla::builtin_holidays("DK", year)) == render(published(sd::sla::test::published_dk(), year)));
  }
}

TEST_CASE("Swedish holidays 2023-2028 match the published calendar", "[sla][holidays]") {
  for (int year = 2023; year <= 2028; ++year) {
    INFO(year);
    CHECK(render(sd::sla::builtin_holidays("SE", year)) == render(published(sd::sla::test::published_se(), year)));
  }
}

TEST_CASE("Swedish holidays follow the law of each year around 1939, 1953 and 2005", "[sla][holidays]") {
  for (int year : {1938, 1939, 1952, 1953, 2004, 2005}) {
    INFO(year);
    CHECK(render(sd::sla::builtin_holidays("SE", year)) ==
          render(published(sd::sla::test::published_se_law_changes(), year)));
  }
}

TEST_CASE("The Swedish desk is closed on Whit Monday until 2004 and on 6 June from 2005", "[sla][holidays]") {
  const sd::sla::Calendar se(sd::sla::default_calendar_spec("se"));
  CHECK(se.is_closed_day(ymd(2004, 5, 31)));        // Whit Monday
  CHECK_FALSE(se.is_closed_day(ymd(2003, 6, 6)));   // a Friday, Swedish Flag Day only
  CHECK_FALSE(se.is_closed_day(ymd(2000, 6, 6)));
  CHECK(se.is_closed_day(ymd(2005, 6, 6)));         // National Day, a Monday
  CHECK_FALSE(se.is_closed_day(ymd(2005, 5, 16)));  // Whit Monday, a working day since
  CHECK(se.open_intervals(ymd(2005, 5, 16)).size() == 1);
  // One of the two in every year `servicedesk sla holidays` accepts, never both.
  for (int y = 1900; y <= 2200; ++y) {
    INFO(y);
    const auto days = sd::sla::builtin_holidays("SE", y);
    const auto named = [&](const char* n) {
      return std::count_if(days.begin(), days.end(), [&](const Holiday& h) { return h.name == n; });
    };
    CHECK(named("Whit Monday") == (y <= 2004 ? 1 : 0));
    CHECK(named("National Day") == (y >= 2005 ? 1 : 0));
    CHECK(named("May Day") == (y >= 1939 ? 1 : 0));
    CHECK(named("Annunciation Day") == (y <= 1952 ? 1 : 0));
    CHECK(named("All Saints' Day") == (y >= 1953 ? 1 : 0));
  }
}

TEST_CASE("Before 1953 the Swedish midsummer is 23 and 24 June and 25 March is closed", "[sla][holidays]") {
  const sd::sla::Calendar se(sd::sla::default_calendar_spec("se"));
  CHECK(se.is_closed_day(ymd(1952, 3, 25)));         // Annunciation Day, a Tuesday
  CHECK_FALSE(se.is_closed_day(ymd(1953, 3, 25)));   // moved to a Sunday by the reform
  CHECK(se.is_closed_day(ymd(1952, 6, 23)));         // Midsummer Eve, a Monday
  CHECK(se.is_closed_day(ymd(1952, 6, 24)));         // Midsummer Day, a Tuesday
  CHECK_FALSE(se.is_closed_day(ymd(1952, 6, 20)));   // the Friday a later rule would close
  CHECK(se.is_closed_day(ymd(1953, 6, 19)));         // from 1953: Friday and Saturday
  CHECK_FALSE(se.is_closed_day(ymd(1953, 6, 23)));
  CHECK_FALSE(se.is_closed_day(ymd(1938, 5, 1)));    // a Sunday, and no holiday until 1939
  CHECK(se.is_closed_day(ymd(1939, 5, 1)));
}

TEST_CASE("Great Prayer Day is a holiday until 2023 and a working day from 2024", "[sla][holidays]") {
  const sd::sla::Calendar dk(sd::sla::default_calendar_spec("dk"));
  CHECK(dk.is_closed_day(ymd(2023, 5, 5)));
  CHECK(dk.is_closed_day(ymd(2019, 5, 17)));
  // 2024: fourth Friday after Easter was 26 April; it is an ordinary working day.
  CHECK_FALSE(dk.is_closed_day(ymd(2024, 4, 26)));
  CHECK_FALSE(dk.is_closed_day(ymd(2026, 5, 1)));
  for (int y = 2024; y <= 2040; ++y) {
    for (const auto& h : sd::sla::builtin_holidays("DK", y)) CHECK(h.name != "Great Prayer Day");
  }
  const auto dk2023 = sd::sla::builtin_holidays("DK", 2023);
  CHECK(std::count(dk2023.begin(), dk2023.end(), Holiday{ymd(2023, 5, 5), "Great Prayer Day"}) == 1);
}

TEST_CASE("Swedish midsummer and All Saints' Day follow their weekday rules in every year", "[sla][holidays]") {
  CHECK(sd::sla::Calendar(sd::sla::default_calendar_spec("se")).is_closed_day(ymd(2026, 6, 19)));
  for (int y = 1990; y <= 2100; ++y) {
    INFO(y);
    int seen = 0;
    for (const auto& h : sd::sla::builtin_holidays("SE", y)) {
      const auto wd = date::weekday{date::sys_days{h.day}};
      if (h.name == "Midsummer Eve") {
        ++seen;
        CHECK(wd == date::Friday);
        CHECK(h.day >= ymd(y, 6, 19));
        CHECK(h.day <= ymd(y, 6, 25));
      } else if (h.name == "Midsummer Day") {
        ++seen;
        CHECK(wd == date::Saturday);
        CHECK(h.day >= ymd(y, 6, 20));
        CHECK(h.day <= ymd(y, 6, 26));
      } else if (h.name == "All Saints' Day") {
        ++seen;
        CHECK(wd == date::Saturday);
        CHECK(h.day >= ymd(y, 10, 31));
        CHECK(h.day <= ymd(y, 11, 6));
      }
    }
    CHECK(seen == 3);
  }
}

TEST_CASE("Holiday rules other than DK, SE and none are rejected", "[sla][holidays]") {
  CHECK(sd::sla::builtin_holidays("", 2026).empty());
  CHECK_THROWS_AS(sd::sla::builtin_holidays("NO", 2026), std::invalid_argument);
  CHECK_THROWS_AS(sd::sla::builtin_holidays("dk", 2026), std::invalid_argument);
  CHECK_THROWS_AS(sd::sla::builtin_holidays("DK", 1200), std::out_of_range);
  auto spec = sd::sla::default_calendar_spec("dk");
  spec.holiday_rules = "FI";
  CHECK_THROWS_WITH(sd::sla::Calendar(spec), Catch::Contains("FI"));
}

TEST_CASE("Extra closed dates close a day and extra open dates cancel a closure", "[sla][holidays]") {
  auto spec = sd::sla::default_calendar_spec("dk");
  spec.extra_closed = {ymd(2026, 11, 27), ymd(2026, 12, 25)};  // a Friday off; a holiday anyway
  spec.extra_open = {ymd(2026, 12, 24)};                        // open on Christmas Eve
  const sd::sla::Calendar cal(spec);

  CHECK(cal.is_closed_day(ymd(2026, 11, 27)));
  CHECK_FALSE(cal.is_closed_day(ymd(2026, 12, 24)));
  CHECK(cal.is_closed_day(ymd(2026, 12, 25)));
  CHECK_FALSE(cal.is_closed_day(ymd(2026, 11, 28)));  // a Saturday: no hours, but not "closed"

  const auto closed = cal.closed_dates(2026);
  std::vector<Holiday> expected;
  for (const auto& h : published(sd::sla::test::published_dk(), 2026)) {
    if (h.day == ymd(2026, 12, 24)) continue;
    expected.push_back(h);
    if (h.day == ymd(2026, 6, 5)) expected.push_back({ymd(2026, 11, 27), "Closed"});
  }
  CHECK(render(closed) == render(expected));

  // Christmas Eve is a Thursday with weekday hours: 08:00-16:00 Copenhagen.
  const auto hours = cal.open_intervals(ymd(2026, 12, 24));
  REQUIRE(hours.size() == 1);
  CHECK(sd::sla::rfc3339_utc(hours[0].first) == "2026-12-24T07:00:00Z");
  CHECK(sd::sla::rfc3339_utc(hours[0].second) == "2026-12-24T15:00:00Z");
  CHECK(cal.open_intervals(ymd(2026, 11, 27)).empty());
}

TEST_CASE("Closures outside the precomputed years are still honoured", "[sla][holidays]") {
  auto spec = sd::sla::default_calendar_spec("se");
  spec.extra_closed = {ymd(2300, 3, 1)};
  const sd::sla::Calendar cal(spec);
  CHECK(cal.is_closed_day(ymd(2300, 12, 25)));
  CHECK(cal.is_closed_day(ymd(2300, 3, 1)));
  CHECK(cal.is_closed_day(ymd(1960, 6, 6)));  // Whit Monday 1960: the rules apply to any year
  CHECK_FALSE(cal.is_closed_day(ymd(2300, 3, 2)));
}
