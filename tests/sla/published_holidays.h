// Danish and Swedish holidays 2023-2028 as published (e.g. the Danish Agency for Labour
// Market's and the Swedish government's calendars; Danish bank holidays per
// Finans Danmark). Hard-coded on purpose: the tests must not derive them from the code
// under test. Sorted by date; Danish 2028 has Whit Monday and Constitution Day both on
// 5 June.
#pragma once

#include <date/date.h>

#include <vector>

namespace sd::sla::test {

struct PublishedHoliday {
  int year;
  unsigned month, day;
  const char* name;
};

inline const std::vector<PublishedHoliday>& published_dk() {
  static const std::vector<PublishedHoliday> v = {
      {2023, 1, 1, "New Year's Day"}, {2023, 4, 6, "Maundy Thursday"}, {2023, 4, 7, "Good Friday"},
      {2023, 4, 9, "Easter Sunday"}, {2023, 4, 10, "Easter Monday"}, {2023, 5, 5, "Great Prayer Day"},
      {2023, 5, 18, "Ascension Day"}, {2023, 5, 19, "Friday after Ascension Day"},
      {2023, 5, 28, "Whit Sunday"}, {2023, 5, 29, "Whit Monday"}, {2023, 6, 5, "Constitution Day"},
      {2023, 12, 24, "Christmas Eve"}, {2023, 12, 25, "Christmas Day"}, {2023, 12, 26, "Boxing Day"},
      {2023, 12, 31, "New Year's Eve"},

      {2024, 1, 1, "New Year's Day"}, {2024, 3, 28, "Maundy Thursday"}, {2024, 3, 29, "Good Friday"},
      {2024, 3, 31, "Easter Sunday"}, {2024, 4, 1, "Easter Monday"}, {2024, 5, 9, "Ascension Day"},
      {2024, 5, 10, "Friday after Ascension Day"}, {2024, 5, 19, "Whit Sunday"},
      {2024, 5, 20, "Whit Monday"}, {2024, 6, 5, "Constitution Day"}, {2024, 12, 24, "Christmas Eve"},
      {2024, 12, 25, "Christmas Day"}, {2024, 12, 26, "Boxing Day"}, {2024, 12, 31, "New Year's Eve"},

      {2025, 1, 1, "New Year's Day"}, {2025, 4, 17, "Maundy Thursday"}, {2025, 4, 18, "Good Friday"},
      {2025, 4, 20, "Easter Sunday"}, {2025, 4, 21, "Easter Monday"}, {2025, 5, 29, "Ascension Day"},
      {2025, 5, 30, "Friday after Ascension Day"}, {2025, 6, 5, "Constitution Day"},
      {2025, 6, 8, "Whit Sunday"}, {2025, 6, 9, "Whit Monday"}, {2025, 12, 24, "Christmas Eve"},
      {2025, 12, 25, "Christmas Day"}, {2025, 12, 26, "Boxing Day"}, {2025, 12, 31, "New Year's Eve"},

      {2026, 1, 1, "New Year's Day"}, {2026, 4, 2, "Maundy Thursday"}, {2026, 4, 3, "Good Friday"},
      {2026, 4, 5, "Easter Sunday"}, {2026, 4, 6, "Easter Monday"}, {2026, 5, 14, "Ascension Day"},
      {2026, 5, 15, "Friday after Ascension Day"}, {2026, 5, 24, "Whit Sunday"},
      {2026, 5, 25, "Whit Monday"}, {2026, 6, 5, "Constitution Day"}, {2026, 12, 24, "Christmas Eve"},
      {2026, 12, 25, "Christmas Day"}, {2026, 12, 26, "Boxing Day"}, {2026, 12, 31, "New Year's Eve"},

      {2027, 1, 1, "New Year's Day"}, {2027, 3, 25, "Maundy Thursday"}, {2027, 3, 26, "Good Friday"},
      {2027, 3, 28, "Easter Sunday"}, {2027, 3, 29, "Easter Monday"}, {2027, 5, 6, "Ascension Day"},
      {2027, 5, 7, "Friday after Ascension Day"}, {2027, 5, 16, "Whit Sunday"},
      {2027, 5, 17, "Whit Monday"}, {2027, 6, 5, "Constitution Day"}, {2027, 12, 24, "Christmas Eve"},
      {2027, 12, 25, "Christmas Day"}, {2027, 12, 26, "Boxing Day"}, {2027, 12, 31, "New Year's Eve"},

      {2028, 1, 1, "New Year's Day"}, {2028, 4, 13, "Maundy Thursday"}, {2028, 4, 14, "Good Friday"},
      {2028, 4, 16, "Easter Sunday"}, {2028, 4, 17, "Easter Monday"}, {2028, 5, 25, "Ascension Day"},
      {2028, 5, 26, "Friday after Ascension Day"}, {2028, 6, 4, "Whit Sunday"},
      {2028, 6, 5, "Whit Monday"}, {2028, 6, 5, "Constitution Day"}, {2028, 12, 24, "Christmas Eve"},
      {2028, 12, 25, "Christmas Day"}, {2028, 12, 26, "Boxing Day"}, {2028, 12, 31, "New Year's Eve"},
  };
  return v;
}

inline const std::vector<PublishedHoliday>& published_se() {
  static const std::vector<PublishedHoliday> v = {
      {2023, 1, 1, "New Year's Day"}, {2023, 1, 6, "Epiphany"}, {2023, 4, 7, "Good Friday"},
      {2023, 4, 9, "Easter Sunday"}, {2023, 4, 10, "Easter Monday"}, {2023, 5, 1, "May Day"},
      {2023, 5, 18, "Ascension Day"}, {2023, 5, 28, "Whit Sunday"}, {2023, 6, 6, "National Day"},
      {2023, 6, 23, "Midsummer Eve"}, {2023, 6, 24, "Midsummer Day"}, {2023, 11, 4, "All Saints' Day"},
      {2023, 12, 24, "Christmas Eve"}, {2023, 12, 25, "Christmas Day"}, {2023, 12, 26, "Boxing Day"},
      {2023, 12, 31, "New Year's Eve"},

      {2024, 1, 1, "New Year's Day"}, {2024, 1, 6, "Epiphany"}, {2024, 3, 29, "Good Friday"},
      {2024, 3, 31, "Easter Sunday"}, {2024, 4, 1, "Easter Monday"}, {2024, 5, 1, "May Day"},
      {2024, 5, 9, "Ascension Day"}, {2024, 5, 19, "Whit Sunday"}, {2024, 6, 6, "National Day"},
      {2024, 6, 21, "Midsummer Eve"}, {2024, 6, 22, "Midsummer Day"}, {2024, 11, 2, "All Saints' Day"},
      {2024, 12, 24, "Christmas Eve"}, {2024, 12, 25, "Christmas Day"}, {2024, 12, 26, "Boxing Day"},
      {2024, 12, 31, "New Year's Eve"},

      {2025, 1, 1, "New Year's Day"}, {2025, 1, 6, "Epiphany"}, {2025, 4, 18, "Good Friday"},
      {2025, 4, 20, "Easter Sunday"}, {2025, 4, 21, "Easter Monday"}, {2025, 5, 1, "May Day"},
      {2025, 5, 29, "Ascension Day"}, {2025, 6, 6, "National Day"}, {2025, 6, 8, "Whit Sunday"},
      {2025, 6, 20, "Midsummer Eve"}, {2025, 6, 21, "Midsummer Day"}, {2025, 11, 1, "All Saints' Day"},
      {2025, 12, 24, "Christmas Eve"}, {2025, 12, 25, "Christmas Day"}, {2025, 12, 26, "Boxing Day"},
      {2025, 12, 31, "New Year's Eve"},

      {2026, 1, 1, "New Year's Day"}, {2026, 1, 6, "Epiphany"}, {2026, 4, 3, "Good Friday"},
      {2026, 4, 5, "Easter Sunday"}, {2026, 4, 6, "Easter Monday"}, {2026, 5, 1, "May Day"},
      {2026, 5, 14, "Ascension Day"}, {2026, 5, 24, "Whit Sunday"}, {2026, 6, 6, "National Day"},
      {2026, 6, 19, "Midsummer Eve"}, {2026, 6, 20, "Midsummer Day"}, {2026, 10, 31, "All Saints' Day"},
      {2026, 12, 24, "Christmas Eve"}, {2026, 12, 25, "Christmas Day"}, {2026, 12, 26, "Boxing Day"},
      {2026, 12, 31, "New Year's Eve"},

      {2027, 1, 1, "New Year's Day"}, {2027, 1, 6, "Epiphany"}, {2027, 3, 26, "Good Friday"},
      {2027, 3, 28, "Easter Sunday"}, {2027, 3, 29, "Easter Monday"}, {2027, 5, 1, "May Day"},
      {2027, 5, 6, "Ascension Day"}, {2027, 5, 16, "Whit Sunday"}, {2027, 6, 6, "National Day"},
      {2027, 6, 25, "Midsummer Eve"}, {2027, 6, 26, "Midsummer Day"}, {2027, 11, 6, "All Saints' Day"},
      {2027, 12, 24, "Christmas Eve"}, {2027, 12, 25, "Christmas Day"}, {2027, 12, 26, "Boxing Day"},
      {2027, 12, 31, "New Year's Eve"},

      {2028, 1, 1, "New Year's Day"}, {2028, 1, 6, "Epiphany"}, {2028, 4, 14, "Good Friday"},
      {2028, 4, 16, "Easter Sunday"}, {2028, 4, 17, "Easter Monday"}, {2028, 5, 1, "May Day"},
      {2028, 5, 25, "Ascension Day"}, {2028, 6, 4, "Whit Sunday"}, {2028, 6, 6, "National Day"},
      {2028, 6, 23, "Midsummer Eve"}, {2028, 6, 24, "Midsummer Day"}, {2028, 11, 4, "All Saints' Day"},
      {2028, 12, 24, "Christmas Eve"}, {2028, 12, 25, "Christmas Day"}, {2028, 12, 26, "Boxing Day"},
      {2028, 12, 31, "New Year's Eve"},
  };
  return v;
}

inline date::year_month_day to_ymd(const PublishedHoliday& h) {
  return date::year{h.year} / date::month{h.month} / date::day{h.day};
}

}  // namespace sd::sla::test
