// Danish and Swedish public holidays, computed per year from the Gregorian Easter date and
// the holiday laws in force that year (Denmark: Great Prayer Day until 2023; Sweden: May
// Day from 1939, the 1953 reform, National Day instead of Whit Monday from 2005).
// Diagnostics: std::invalid_argument (unknown rules), std::out_of_range (year).
// Security: none.
#include "sla/holidays.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace sd::sla {
namespace {

constexpr int first_year = 1583;  // first full year of the Gregorian calendar
constexpr int last_year = 9999;

void check_year(int year) {
  if (year < first_year || year > last_year) {
    throw std::out_of_range("holiday year " + std::to_string(year) + " outside [" +
                            std::to_string(first_year) + ", " + std::to_string(last_year) + "]");
  }
}

date::year_month_day ymd(int y, unsigned m, unsigned d) {
  return date::year{y} / date::month{m} / date::day{d};
}

date::year_month_day plus_days(date::year_month_day d, int n) {
  return date::year_month_day{date::sys_days{d} + date::days{n}};
}

// The first `wd` on or after year/month/day.
date::year_month_day weekday_on_or_after(int y, unsigned m, unsigned d, date::weekday wd) {
  const date::sys_days base{ymd(y, m, d)};
  return date::year_month_day{base + (wd - date::weekday{base})};
}

// Sweden's holidays as the law of `year` had them (docs/sla.md, "Holidays"). Only the laws
// that moved a date for 1900 onwards are modelled; earlier years get the 1900 rules.
// Midsummer Eve, Christmas Eve and New Year's Eve are in no holiday act: they are closed
// days by custom, collective agreements and the banks, so the desk counts them every year.
void add_swedish(int year, date::year_month_day easter, std::vector<Holiday>& out) {
  auto add = [&out](date::year_month_day d, const char* name) { out.push_back({d, name}); };
  constexpr int first_may_day = 1939;         // May Day a public holiday from 1939
  constexpr int reform_1953 = 1953;           // SFS 1952:48, in force from 1953
  constexpr int first_national_day = 2005;    // SFS 2004:1320: National Day for Whit Monday

  add(ymd(year, 1, 1), "New Year's Day");
  add(ymd(year, 1, 6), "Epiphany");
  // 1953 gave a spring holiday to the autumn: Annunciation went to a Sunday.
  if (year < reform_1953) add(ymd(year, 3, 25), "Annunciation Day");
  add(plus_days(easter, -2), "Good Friday");
  add(easter, "Easter Sunday");
  add(plus_days(easter, 1), "Easter Monday");
  if (year >= first_may_day) add(ymd(year, 5, 1), "May Day");
  add(plus_days(easter, 39), "Ascension Day");
  if (year >= first_national_day) add(ymd(year, 6, 6), "National Day");
  add(plus_days(easter, 49), "Whit Sunday");
  if (year < first_national_day) add(plus_days(easter, 50), "Whit Monday");
  // Until 1952 Midsummer Day was St John's Day, 24 June, whatever the weekday.
  const auto midsummer_day =
      year < reform_1953 ? ymd(year, 6, 24) : weekday_on_or_after(year, 6, 20, date::Saturday);
  add(plus_days(midsummer_day, -1), "Midsummer Eve");
  add(midsummer_day, "Midsummer Day");
  // Not a holiday from the 1772 reform until 1953 brought it back on a Saturday.
  if (year >= reform_1953) add(weekday_on_or_after(year, 10, 31, date::Saturday), "All Saints' Day");
  add(ymd(year, 12, 24), "Christmas Eve");
  add(ymd(year, 12, 25), "Christmas Day");
  add(ymd(year, 12, 26), "Boxing Day");
  add(ymd(year, 12, 31), "New Year's Eve");
}

}  // namespace

date::year_month_day easter_sunday(int year) {
  check_year(year);
  // Anonymous Gregorian algorithm (Meeus/Jones/Butcher).
  const int a = year % 19;
  const int b = year / 100;
  const int c = year % 100;
  const int d = b / 4;
  const int e = b % 4;
  const int f = (b + 8) / 25;
  const int g = (b - f + 1) / 3;
  const int h = (19 * a + b - d - g + 15) % 30;
  const int i = c / 4;
  const int k = c % 4;
  const int l = (32 + 2 * e + 2 * i - h - k) % 7;
  const int m = (a + 11 * h + 22 * l) / 451;
  const int month = (h + l - 7 * m + 114) / 31;
  const int day = (h + l - 7 * m + 114) % 31 + 1;
  return ymd(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
}

bool known_holiday_rules(std::string_view rules) noexcept {
  return rules.empty() || rules == "DK" || rules == "SE";
}

std::vector<Holiday> builtin_holidays(std::string_view rules, int year) {
  if (!known_holiday_rules(rules)) {
    throw std::invalid_argument("unknown holiday rules '" + std::string(rules) +
                                "' (expected \"\", \"DK\" or \"SE\")");
  }
  check_year(year);
  std::vector<Holiday> out;
  if (rules.empty()) return out;

  const auto easter = easter_sunday(year);
  auto add = [&](date::year_month_day d, const char* name) { out.push_back({d, name}); };

  if (rules == "DK") {
    add(ymd(year, 1, 1), "New Year's Day");
    add(plus_days(easter, -3), "Maundy Thursday");
    add(plus_days(easter, -2), "Good Friday");
    add(easter, "Easter Sunday");
    add(plus_days(easter, 1), "Easter Monday");
    // Store bededag, the fourth Friday after Easter; abolished by law from 2024.
    if (year <= 2023) add(plus_days(easter, 26), "Great Prayer Day");
    add(plus_days(easter, 39), "Ascension Day");
    // Not a public holiday, but banks are closed and the seed's "bank holidays" count.
    add(plus_days(easter, 40), "Friday after Ascension Day");
    add(plus_days(easter, 49), "Whit Sunday");
    add(plus_days(easter, 50), "Whit Monday");
    add(ymd(year, 6, 5), "Constitution Day");
    add(ymd(year, 12, 24), "Christmas Eve");
    add(ymd(year, 12, 25), "Christmas Day");
    add(ymd(year, 12, 26), "Boxing Day");
    add(ymd(year, 12, 31), "New Year's Eve");
  } else {
    add_swedish(year, easter, out);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Holiday& x, const Holiday& y) { return x.day < y.day; });
  return out;
}

}  // namespace sd::sla
