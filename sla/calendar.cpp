// Business calendar arithmetic: opening intervals in a zone's wall-clock time, mapped to
// UTC one constant-offset tzdb period at a time, so DST changes need no special cases.
//
// Diagnostics: std::invalid_argument from the constructor naming the calendar and the
// fault; std::runtime_error from add()/between() only if no open time exists within ten
// years (possible only when extra_closed closes that long).
// Security: none; no I/O besides date/tz reading tzdata.
#include "sla/calendar.h"

#include <algorithm>
#include <iterator>
#include <stdexcept>
#include <string>

namespace sd::sla {
namespace {

using std::chrono::minutes;
using namespace std::chrono_literals;

constexpr int max_empty_days = 3660;  // ten years without open time: give up

// Years whose closures are precomputed at construction (~84,000 bits).
constexpr int precomputed_first_year = 1970;
constexpr int precomputed_last_year = 2199;

std::size_t weekday_index(date::local_days d) {
  return date::weekday{d}.iso_encoding() - 1;  // Monday = 0
}

// Zero-padded decimal of a non-negative value. (Built with a buffer rather than
// std::string::insert, which trips a false -Wrestrict in GCC 12 at -O3.)
std::string padded(long v, int width) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v > 0 && n < 20);
  while (n < width) buf[n++] = '0';
  return std::string(std::make_reverse_iterator(buf + n), std::make_reverse_iterator(buf));
}

std::string two_digits(long v) { return padded(v, 2); }
std::string four_digits(int v) { return v < 0 ? "-" + padded(-static_cast<long>(v), 4) : padded(v, 4); }

std::vector<date::local_days> sorted_days(const std::vector<date::year_month_day>& in) {
  std::vector<date::local_days> out;
  out.reserve(in.size());
  for (const auto& d : in) out.push_back(date::local_days{d});
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool contains(const std::vector<date::local_days>& sorted, date::local_days d) {
  return std::binary_search(sorted.begin(), sorted.end(), d);
}

bool builtin_holiday(std::string_view rules, date::local_days d) {
  if (rules.empty()) return false;
  const date::year_month_day ymd{d};
  const int y = static_cast<int>(ymd.year());
  if (y < 1583 || y > 9999) return false;  // outside the computus range: no holidays
  for (const auto& h : builtin_holidays(rules, y)) {
    if (h.day == ymd) return true;
  }
  return false;
}

}  // namespace

Calendar::Calendar(CalendarSpec spec) : spec_(std::move(spec)) {
  auto fail = [this](const std::string& what) {
    throw std::invalid_argument("calendar '" + spec_.name + "': " + what);
  };

  try {
    zone_ = date::locate_zone(spec_.time_zone);
  } catch (const std::exception&) {
    fail("unknown time zone '" + spec_.time_zone + "'");
  }
  // Loads the zone's transitions now rather than on the first (possibly concurrent) use.
  (void)zone_->get_info(std::chrono::sys_seconds{});

  static constexpr const char* day_names[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                              "Friday", "Saturday", "Sunday"};
  bool any_hours = false;
  for (std::size_t i = 0; i < 7; ++i) {
    auto intervals = spec_.week[i];
    std::sort(intervals.begin(), intervals.end(),
              [](const OpeningInterval& a, const OpeningInterval& b) { return a.from < b.from; });
    for (std::size_t k = 0; k < intervals.size(); ++k) {
      const auto& iv = intervals[k];
      const std::string where = std::string(day_names[i]) + " interval " +
                                std::to_string(iv.from.count()) + "-" +
                                std::to_string(iv.to.count()) + " min";
      if (iv.from < 0min || iv.to > minutes{24h}) fail(where + " is outside 00:00-24:00");
      if (iv.from >= iv.to) fail(where + " does not end after it starts");
      if (k > 0 && iv.from < intervals[k - 1].to) fail(where + " overlaps the one before");
      const auto from = static_cast<std::int32_t>(Seconds{iv.from}.count());
      const auto to = static_cast<std::int32_t>(Seconds{iv.to}.count());
      if (!week_[i].empty() && week_[i].back().to == from) {
        week_[i].back().to = to;  // adjacent intervals: one piece
      } else {
        week_[i].push_back({from, to});
      }
      any_hours = true;
    }
  }
  if (!any_hours) fail("no opening hours in the week");

  if (!known_holiday_rules(spec_.holiday_rules)) {
    fail("unknown holiday rules '" + spec_.holiday_rules + "' (expected \"\", \"DK\" or \"SE\")");
  }
  for (const auto& d : spec_.extra_closed) {
    if (!d.ok()) fail("invalid extra closed date");
  }
  for (const auto& d : spec_.extra_open) {
    if (!d.ok()) fail("invalid extra open date");
  }
  extra_closed_ = sorted_days(spec_.extra_closed);
  extra_open_ = sorted_days(spec_.extra_open);

  closed_first_ = date::local_days{date::year{precomputed_first_year} / 1 / 1};
  const date::local_days end{date::year{precomputed_last_year + 1} / 1 / 1};
  closed_.assign(static_cast<std::size_t>((end - closed_first_).count()), false);
  auto mark = [&](date::local_days d, bool closed) {
    if (d >= closed_first_ && d < end) closed_[static_cast<std::size_t>((d - closed_first_).count())] = closed;
  };
  if (!spec_.holiday_rules.empty()) {
    for (int y = precomputed_first_year; y <= precomputed_last_year; ++y) {
      for (const auto& h : builtin_holidays(spec_.holiday_rules, y)) mark(date::local_days{h.day}, true);
    }
  }
  for (auto d : extra_closed_) mark(d, true);
  for (auto d : extra_open_) mark(d, false);
}

bool Calendar::closed_local_day(date::local_days d) const {
  const auto idx = (d - closed_first_).count();
  if (idx >= 0 && static_cast<std::size_t>(idx) < closed_.size()) {
    return closed_[static_cast<std::size_t>(idx)];
  }
  if (contains(extra_open_, d)) return false;
  return contains(extra_closed_, d) || builtin_holiday(spec_.holiday_rules, d);
}

bool Calendar::is_closed_day(date::year_month_day local_day) const {
  if (!local_day.ok()) return false;
  return closed_local_day(date::local_days{local_day});
}

// Within one tzdb period [info.begin, info.end) the offset is constant, so local wall-clock
// interval [day + from, day + to) is exactly the UTC interval [day + from - offset,
// day + to - offset) clipped to the period. Walking period by period, and within a period
// day by day, yields every instant whose local time is open, in UTC order, with no special
// case for gaps (spring forward) or repeated hours (fall back).
template <class F>
void Calendar::walk_open(Instant from, F&& f) const {
  Instant lower = from;
  int empty_days = 0;
  for (;;) {
    const auto info = zone_->get_info(lower);
    const Seconds offset = info.offset;
    const Instant period_end = info.end;
    auto day = date::floor<date::days>(date::local_seconds{lower.time_since_epoch() + offset});
    for (;; ++day) {
      const Instant day_start{Seconds{day.time_since_epoch()} - offset};
      if (day_start >= period_end) break;
      bool any = false;
      if (!closed_local_day(day)) {
        for (const auto& iv : week_[weekday_index(day)]) {
          Instant a = day_start + Seconds{iv.from};
          Instant b = day_start + Seconds{iv.to};
          if (a < lower) a = lower;
          if (b > period_end) b = period_end;
          if (a < b) {
            any = true;
            if (!f(a, b, day)) return;
          }
        }
      }
      if (any) {
        empty_days = 0;
      } else if (++empty_days > max_empty_days) {
        throw std::runtime_error("calendar '" + spec_.name + "': no open time within ten years of " +
                                 rfc3339_utc(from));
      }
    }
    lower = period_end;
  }
}

Instant Calendar::add(Instant start, Seconds business) const {
  if (business <= Seconds::zero()) return start;
  Seconds remaining = business;
  Instant due = start;
  walk_open(start, [&](Instant a, Instant b, date::local_days) {
    const Seconds available = b - a;
    if (remaining <= available) {
      due = a + remaining;
      return false;
    }
    remaining -= available;
    return true;
  });
  return due;
}

Seconds Calendar::between(Instant a, Instant b) const {
  if (b <= a) return Seconds::zero();
  Seconds sum{0};
  walk_open(a, [&](Instant x, Instant y, date::local_days) {
    if (x >= b) return false;
    sum += std::min(y, b) - x;
    return y < b;
  });
  return sum;
}

bool Calendar::is_open(Instant t) const {
  const auto info = zone_->get_info(t);
  const date::local_seconds local{t.time_since_epoch() + info.offset};
  const auto day = date::floor<date::days>(local);
  if (closed_local_day(day)) return false;
  const auto second_of_day = (local - day).count();
  for (const auto& iv : week_[weekday_index(day)]) {
    if (second_of_day >= iv.from && second_of_day < iv.to) return true;
  }
  return false;
}

Instant Calendar::next_open(Instant t) const {
  Instant first = t;
  walk_open(t, [&](Instant a, Instant, date::local_days) {
    first = a;
    return false;
  });
  return first;
}

std::vector<std::pair<Instant, Instant>> Calendar::open_intervals(date::year_month_day local_day) const {
  std::vector<std::pair<Instant, Instant>> out;
  if (!local_day.ok()) return out;
  const date::local_days day{local_day};
  // UTC offsets lie within [-26h, +26h] with a wide margin; every instant of the local day
  // lies in this UTC window.
  const Instant lo{Seconds{day.time_since_epoch()} - Seconds{26h}};
  const Instant hi{Seconds{(day + date::days{1}).time_since_epoch()} + Seconds{26h}};
  walk_open(lo, [&](Instant a, Instant b, date::local_days d) {
    if (a >= hi) return false;
    if (d == day) {
      if (!out.empty() && out.back().second == a) {
        out.back().second = b;  // split only by a tzdb period boundary
      } else {
        out.emplace_back(a, b);
      }
    }
    return true;
  });
  return out;
}

std::vector<Holiday> Calendar::closed_dates(int year) const {
  std::vector<Holiday> out;
  if (!spec_.holiday_rules.empty()) out = builtin_holidays(spec_.holiday_rules, year);
  for (const auto& d : extra_closed_) {
    const date::year_month_day ymd{d};
    if (static_cast<int>(ymd.year()) != year) continue;
    const bool listed = std::any_of(out.begin(), out.end(), [&](const Holiday& h) { return h.day == ymd; });
    if (!listed) out.push_back({ymd, "Closed"});
  }
  std::erase_if(out, [&](const Holiday& h) { return contains(extra_open_, date::local_days{h.day}); });
  std::stable_sort(out.begin(), out.end(), [](const Holiday& a, const Holiday& b) { return a.day < b.day; });
  return out;
}

std::string Calendar::format_local(Instant t, std::string_view language) const {
  static constexpr const char* en_days[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                            "Friday", "Saturday", "Sunday"};
  static constexpr const char* sv_days[] = {"måndag", "tisdag", "onsdag", "torsdag",
                                            "fredag", "lördag", "söndag"};
  static constexpr const char* da_days[] = {"mandag", "tirsdag", "onsdag", "torsdag",
                                            "fredag", "lørdag",  "søndag"};
  static constexpr const char* en_months[] = {"January", "February", "March",     "April",
                                              "May",     "June",     "July",      "August",
                                              "September", "October", "November", "December"};
  static constexpr const char* sv_months[] = {"januari", "februari", "mars",      "april",
                                              "maj",     "juni",     "juli",      "augusti",
                                              "september", "oktober", "november", "december"};
  static constexpr const char* da_months[] = {"januar", "februar", "marts",     "april",
                                              "maj",    "juni",    "juli",      "august",
                                              "september", "oktober", "november", "december"};

  std::string lang(language.substr(0, language.find_first_of("-_")));
  for (auto& c : lang) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);

  const auto info = zone_->get_info(t);
  const date::local_seconds local{t.time_since_epoch() + info.offset};
  const auto day = date::floor<date::days>(local);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<Seconds> time{local - day};
  const std::size_t wd = weekday_index(day);
  const std::size_t mo = static_cast<unsigned>(ymd.month()) - 1;
  const std::string d = std::to_string(static_cast<unsigned>(ymd.day()));
  const std::string y = std::to_string(static_cast<int>(ymd.year()));
  const std::string hm = two_digits(time.hours().count()) + ":" + two_digits(time.minutes().count());

  if (lang == "sv") return std::string(sv_days[wd]) + " " + d + " " + sv_months[mo] + " " + y + ", " + hm + " " + info.abbrev;
  if (lang == "da") return std::string(da_days[wd]) + " " + d + ". " + da_months[mo] + " " + y + ", " + hm + " " + info.abbrev;
  return std::string(en_days[wd]) + " " + d + " " + en_months[mo] + " " + y + ", " + hm + " " + info.abbrev;
}

namespace {

std::string rfc3339_with_offset(Instant t, Seconds offset_to_use) {
  const date::local_seconds local{t.time_since_epoch() + offset_to_use};
  const auto day = date::floor<date::days>(local);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<Seconds> time{local - day};
  std::string s = four_digits(static_cast<int>(ymd.year())) + "-" +
                  two_digits(static_cast<unsigned>(ymd.month())) + "-" +
                  two_digits(static_cast<unsigned>(ymd.day())) + "T" + two_digits(time.hours().count()) +
                  ":" + two_digits(time.minutes().count()) + ":" + two_digits(time.seconds().count());
  return s;
}

}  // namespace

std::string Calendar::rfc3339_local(Instant t) const {
  const auto info = zone_->get_info(t);
  const auto offset = std::chrono::duration_cast<minutes>(info.offset);  // truncates toward zero
  const long total = offset.count();
  const long magnitude = total < 0 ? -total : total;
  return rfc3339_with_offset(t, offset) + (total < 0 ? "-" : "+") + two_digits(magnitude / 60) + ":" +
         two_digits(magnitude % 60);
}

std::string rfc3339_utc(Instant t) { return rfc3339_with_offset(t, Seconds::zero()) + "Z"; }

std::optional<Instant> parse_rfc3339(std::string_view s) {
  std::size_t pos = 0;
  auto number = [&](std::size_t width) -> std::optional<int> {
    if (pos + width > s.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = 0; i < width; ++i) {
      const char c = s[pos + i];
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
    }
    pos += width;
    return v;
  };
  auto expect = [&](std::string_view any_of) {
    if (pos >= s.size() || any_of.find(s[pos]) == std::string_view::npos) return false;
    ++pos;
    return true;
  };

  const auto year = number(4);
  if (!year || !expect("-")) return std::nullopt;
  const auto month = number(2);
  if (!month || !expect("-")) return std::nullopt;
  const auto day = number(2);
  if (!day || !expect("Tt ")) return std::nullopt;
  const auto hour = number(2);
  if (!hour || !expect(":")) return std::nullopt;
  const auto minute = number(2);
  if (!minute || !expect(":")) return std::nullopt;
  const auto second = number(2);
  if (!second) return std::nullopt;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const std::size_t digits_start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == digits_start) return std::nullopt;
  }
  Seconds offset{0};
  if (expect("Zz")) {
    // UTC
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const bool negative = s[pos] == '-';
    ++pos;
    const auto oh = number(2);
    if (!oh || !expect(":")) return std::nullopt;
    const auto om = number(2);
    if (!om || *oh > 23 || *om > 59) return std::nullopt;
    offset = std::chrono::hours{*oh} + minutes{*om};
    if (negative) offset = -offset;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;

  const date::year_month_day ymd{date::year{*year}, date::month{static_cast<unsigned>(*month)},
                                 date::day{static_cast<unsigned>(*day)}};
  if (!ymd.ok() || *hour > 23 || *minute > 59 || *second > 59) return std::nullopt;
  return Instant{date::sys_days{ymd}} + std::chrono::hours{*hour} + minutes{*minute} + Seconds{*second} - offset;
}

CalendarSpec default_calendar_spec(std::string_view name) {
  CalendarSpec spec;
  spec.name = std::string(name);
  minutes close;
  if (name == "dk") {
    spec.time_zone = "Europe/Copenhagen";
    spec.holiday_rules = "DK";
    close = 16h;
  } else if (name == "se") {
    spec.time_zone = "Europe/Stockholm";
    spec.holiday_rules = "SE";
    close = 17h;
  } else {
    throw std::invalid_argument("unknown standard calendar '" + std::string(name) + "' (expected \"dk\" or \"se\")");
  }
  for (std::size_t i = 0; i < 5; ++i) spec.week[i] = {OpeningInterval{8h, close}};
  return spec;
}

}  // namespace sd::sla
