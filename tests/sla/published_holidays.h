// Danish and Swedish holidays 2023-2028 as published (e.g. the Danish Agency for Labour
// Market's and the Swedish government's calendars; Danish bank holidays per
// Finans Danmark), and Swedish years around each change of the law. Hard-coded on purpose: the tests must not derive them from the code
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

// Sweden in the years around each change of its holiday law, from the laws themselves (May
// Day from 1939; SFS 1952:48 from 1953: no Annunciation Day, Midsummer on a Friday and
// Saturday, All Saints' Day back on a Saturday; SFS 2004:1320 from 2005: National Day
// instead of Whit Monday). Dates worked out by hand from each year's Easter.
inline const std::vector<PublishedHoliday>& published_se_law_changes() {
  static const std::vector<PublishedHoliday> v = {
      {1938, 1, 1, "New Year's Day"}, {1938, 1, 6, "Epiphany"}, {1938, 3, 25, "Annunciation Day"},
      {1938, 4, 15, "Good Friday"}, {1938, 4, 17, "Easter Sunday"}, {1938, 4, 18, "Easter Monday"},
      {1938, 5, 26, "Ascension Day"}, {1938, 6, 5, "Whit Sunday"}, {1938, 6, 6, "Whit Monday"},
      {1938, 6, 23, "Midsummer Eve"}, {1938, 6, 24, "Midsummer Day"}, {1938, 12, 24, "Christmas Eve"},
      {1938, 12, 25, "Christmas Day"}, {1938, 12, 26, "Boxing Day"}, {1938, 12, 31, "New Year's Eve"},

      {1939, 1, 1, "New Year's Day"}, {1939, 1, 6, "Epiphany"}, {1939, 3, 25, "Annunciation Day"},
      {1939, 4, 7, "Good Friday"}, {1939, 4, 9, "Easter Sunday"}, {1939, 4, 10, "Easter Monday"},
      {1939, 5, 1, "May Day"}, {1939, 5, 18, "Ascension Day"}, {1939, 5, 28, "Whit Sunday"},
      {1939, 5, 29, "Whit Monday"}, {1939, 6, 23, "Midsummer Eve"}, {1939, 6, 24, "Midsummer Day"},
      {1939, 12, 24, "Christmas Eve"}, {1939, 12, 25, "Christmas Day"}, {1939, 12, 26, "Boxing Day"},
      {1939, 12, 31, "New Year's Eve"},

      {1952, 1, 1, "New Year's Day"}, {1952, 1, 6, "Epiphany"}, {1952, 3, 25, "Annunciation Day"},
      {1952, 4, 11, "Good Friday"}, {1952, 4, 13, "Easter Sunday"}, {1952, 4, 14, "Easter Monday"},
      {1952, 5, 1, "May Day"}, {1952, 5, 22, "Ascension Day"}, {1952, 6, 1, "Whit Sunday"},
      {1952, 6, 2, "Whit Monday"}, {1952, 6, 23, "Midsummer Eve"}, {1952, 6, 24, "Midsummer Day"},
      {1952, 12, 24, "Christmas Eve"}, {1952, 12, 25, "Christmas Day"}, {1952, 12, 26, "Boxing Day"},
      {1952, 12, 31, "New Year's Eve"},

      {1953, 1, 1, "New Year's Day"}, {1953, 1, 6, "Epiphany"}, {1953, 4, 3, "Good Friday"},
      {1953, 4, 5, "Easter Sunday"}, {1953, 4, 6, "Easter Monday"}, {1953, 5, 1, "May Day"},
      {1953, 5, 14, "Ascension Day"}, {1953, 5, 24, "Whit Sunday"}, {1953, 5, 25, "Whit Monday"},
      {1953, 6, 19, "Midsummer Eve"}, {1953, 6, 20, "Midsummer Day"}, {1953, 10, 31, "All Saints' Day"},
      {1953, 12, 24, "Christmas Eve"}, {1953, 12, 25, "Christmas Day"}, {1953, 12, 26, "Boxing Day"},
      {1953, 12, 31, "New Year's Eve"},

      {2004, 1, 1, "New Year's Day"}, {2004, 1, 6, "Epiphany"}, {2004, 4, 9, "Good Friday"},
      {2004, 4, 11, "Easter Sunday"}, {2004, 4, 12, "Easter Monday"}, {2004, 5, 1, "May Day"},
      {2004, 5, 20, "Ascension Day"}, {2004, 5, 30, "Whit Sunday"}, {2004, 5, 31, "Whit Monday"},
      {2004, 6, 25, "Midsummer Eve"}, {2004, 6, 26, "Midsummer Day"}, {2004, 11, 6, "All Saints' Day"},
      {2004, 12, 24, "Christmas Eve"}, {2004, 12, 25, "Christmas Day"}, {2004, 12, 26, "Boxing Day"},
      {2004, 12, 31, "New Year's Eve"},

      {2005, 1, 1, "New Year's Day"}, {2005, 1, 6, "Epiphany"}, {2005, 3, 25, "Good Friday"},
      {2005, 3, 27, "Easter Sunday"}, {2005, 3, 28, "Easter Monday"}, {2005, 5, 1, "May Day"},
      {2005, 5, 5, "Ascension Day"}, {2005, 5, 15, "Whit Sunday"}, {2005, 6, 6, "National Day"},
      {2005, 6, 24, "Midsummer Eve"}, {2005, 6, 25, "Midsummer Day"}, {2005, 11, 5, "All Saints' Day"},
      {2005, 12, 24, "Christmas Eve"}, {2005, 12, 25, "Christmas Day"}, {2005, 12, 26, "Boxing Day"},
      {2005, 12, 31, "New Year's Eve"},
  };
  return v;
}

inline date::year_month_day to_ymd(const PublishedHoliday& h) {
  return date::year{h.year} / date::month{h.month} / date::day{h.day};
}

}  // namespace sd::sla::test
