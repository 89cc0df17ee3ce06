// Built-in public holiday rules for the business calendars (Danish and Swedish).
//
// Pure computation: no I/O, no time zones. Easter is computed with the Gregorian
// computus, so every rule works for any year in [1583, 9999].
// Diagnostics: std::invalid_argument for unknown rules, std::out_of_range for years
// outside [1583, 9999].
// Security: none; inputs are configuration values, not customer data.
#pragma once

#include <date/date.h>

#include <string>
#include <string_view>
#include <vector>

namespace sd::sla {

struct Holiday {
  date::year_month_day day;
  std::string name;  // English, e.g. "Good Friday", "Great Prayer Day"

  friend bool operator==(const Holiday&, const Holiday&) = default;
};

// Easter Sunday in the Gregorian calendar (anonymous Gregorian algorithm).
date::year_month_day easter_sunday(int year);

// The holidays of `rules` ("" = none, "DK", "SE") in `year` under the laws of that year
// (docs/sla.md lists the changes modelled), sorted by date. Two holidays on the same date
// (Whit Monday and Constitution Day in Denmark 2028) are both listed.
// Holidays that fall on a weekend are listed too; they close nothing extra there.
std::vector<Holiday> builtin_holidays(std::string_view rules, int year);

// True when `rules` is one builtin_holidays() understands.
bool known_holiday_rules(std::string_view rules) noexcept;

}  // namespace sd::sla
