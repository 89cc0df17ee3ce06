// SLA clocks with pauses (pending periods): due_with_pauses and elapsed_with_pauses on
// worked examples, and on generated cases against a minute-stepping count of open,
// unpaused minutes.
#include "sla/calendar.h"

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using sd::sla::Calendar;
using sd::sla::Instant;
using sd::sla::Pause;

// Also used in static initialisers, so no REQUIRE here: a bad literal throws.
Instant at(std::string_view rfc3339) { return sd::sla::parse_rfc3339(rfc3339).value(); }

const Calendar& dk() {
  static const Calendar cal(sd::sla::default_calendar_spec("dk"));
  return cal;
}

std::string local(std::optional<Instant> t) { return t ? dk().rfc3339_local(*t) : "no due (clock stopped)"; }

// Monday 23 November 2026, Copenhagen (+01:00).
const Instant monday_0900 = at("2026-11-23T09:00:00+01:00");
Instant mon(const char* hhmm) { return at(std::string("2026-11-23T") + hhmm + ":00+01:00"); }
Instant tue(const char* hhmm) { return at(std::string("2026-11-24T") + hhmm + ":00+01:00"); }

}  // namespace

TEST_CASE("Without pauses the due time is plain business-time addition", "[sla][pauses]") {
  CHECK(local(sd::sla::due_with_pauses(dk(), monday_0900, 4h, {})) == "2026-11-23T13:00:00+01:00");
  CHECK(local(sd::sla::due_with_pauses(dk(), monday_0900, 0s, {{mon("08:00"), std::nullopt}})) ==
        "2026-11-23T09:00:00+01:00");
}

TEST_CASE("A pause before the due pushes it out by the business time it contains", "[sla][pauses]") {
  CHECK(local(sd::sla::due_with_pauses(dk(), monday_0900, 4h, {{mon("10:00"), mon("11:00")}})) ==
        "2026-11-23T14:00:00+01:00");
  // Overnight pause: 6 h on Monday and 2 h on Tuesday of business time.
  CHECK(local(sd::sla::due_with_pauses(dk(), monday_0900, 4h, {{mon("10:00"), tue("10:00")}})) ==
        "2026-11-24T13:00:00+01:00");
  // A pause while closed contains no business time and pushes nothing.
  CHECK(local(sd::sla::due_with_pauses(dk(), monday_0900, 8h, {{mon("17:00"), tue("07:00")}})) ==
        "2026-11-24T09:00:00+01:00");
}

TEST_CASE("A pause that begins at or after the due changes nothing", "[sla][pauses]") {
  CHECK(local(sd::sla::due_with_pauses(dk(), monday_0900, 4h, {{mon("14:00"), mon("15:00")}})) ==
        "2026-11-23T13:00:00+01:00");
  CHECK(local(sd::sla::due_with_pauses(dk(), monday_0900, 4h, {{mon("13:00"), mon("14:00")}})) ==
        "2026-11-23T13:00:00+01:00");
}

TEST_CASE("A later pause counts when an earlier pause pushed the due past its start", "[sla][pauses]") {
  // The first pause moves the due from 13:00 to 15:00; the second starts at 14:00, before it.
  CHECK(local(sd::sla::due_with_pauses(dk(), monday_0900, 4h,
                                       {{mon("14:00"), mon("14:30")}, {mon("10:00"), mon("12:00")}})) ==
        "2026-11-23T15:30:00+01:00");
}

TEST_CASE("While a pause is open the clock is stopped and there is no due", "[sla][pauses]") {
  CHECK_FALSE(sd::sla::due_with_pauses(dk(), monday_0900, 4h, {{mon("11:00"), std::nullopt}}).has_value());
  CHECK_FALSE(sd::sla::due_with_pauses(dk(), monday_0900, 4h,
                                       {{mon("10:00"), mon("11:00")}, {mon("13:30"), std::nullopt}})
                   .has_value());
  // Pending since Saturday morning: the clock stopped before Monday's due.
  CHECK_FALSE(sd::sla::due_with_pauses(dk(), at("2026-11-20T15:00:00+01:00"), 4h,
                                       {{at("2026-11-21T10:00:00+01:00"), std::nullopt}})
                  .has_value());
  // The target was already missed when the ticket went pending: the due stays.
  CHECK(local(sd::sla::due_with_pauses(dk(), monday_0900, 4h, {{mon("13:30"), std::nullopt}})) ==
        "2026-11-23T13:00:00+01:00");
}

TEST_CASE("Overlapping, unsorted, reversed and early pauses are each counted once", "[sla][pauses]") {
  CHECK(local(sd::sla::due_with_pauses(dk(), monday_0900, 4h, {{mon("10:30"), mon("11:30")}, {mon("10:00"), mon("11:00")}})) ==
        "2026-11-23T14:30:00+01:00");
  CHECK(local(sd::sla::due_with_pauses(dk(), monday_0900, 4h, {{mon("10:00"), mon("12:00")}, {mon("10:30"), mon("11:00")}})) ==
        "2026-11-23T15:00:00+01:00");
  CHECK(local(sd::sla::due_with_pauses(dk(), monday_0900, 4h, {{mon("11:00"), mon("10:00")}})) ==
        "2026-11-23T13:00:00+01:00");
  // Began before the ticket: only the part after the start counts.
  CHECK(local(sd::sla::due_with_pauses(dk(), monday_0900, 4h, {{mon("08:00"), mon("10:00")}})) ==
        "2026-11-23T14:00:00+01:00");
  CHECK(local(sd::sla::due_with_pauses(dk(), monday_0900, 4h, {{mon("07:00"), mon("08:30")}})) ==
        "2026-11-23T13:00:00+01:00");
}

TEST_CASE("Elapsed business time leaves out the paused stretches", "[sla][pauses]") {
  CHECK(sd::sla::elapsed_with_pauses(dk(), monday_0900, tue("10:00"), {}) == 9h);
  CHECK(sd::sla::elapsed_with_pauses(dk(), monday_0900, tue("10:00"), {{mon("10:00"), mon("11:00")}}) == 8h);
  CHECK(sd::sla::elapsed_with_pauses(dk(), monday_0900, tue("10:00"), {{tue("09:00"), std::nullopt}}) == 8h);
  CHECK(sd::sla::elapsed_with_pauses(dk(), monday_0900, tue("10:00"),
                                     {{mon("08:00"), mon("10:00")}, {mon("15:00"), tue("08:30")}, {tue("11:00"), std::nullopt}}) ==
        6h + 30min);
  CHECK(sd::sla::elapsed_with_pauses(dk(), monday_0900, monday_0900, {}) == 0s);
  CHECK(sd::sla::elapsed_with_pauses(dk(), tue("10:00"), monday_0900, {}) == 0s);
  CHECK(sd::sla::elapsed_with_pauses(dk(), monday_0900, tue("10:00"), {{mon("07:00"), std::nullopt}}) == 0s);
}

TEST_CASE("Due and elapsed time with pauses agree with a minute-stepping count", "[sla][pauses]") {
  std::mt19937_64 rng(0x9a05e);
  const Calendar se(sd::sla::default_calendar_spec("se"));
  const Instant base = at("2026-01-01T00:00:00Z");
  std::uniform_int_distribution<long> start_minute(0, 360L * 1440);
  std::uniform_int_distribution<long> target_minutes(0, 16 * 60);
  std::uniform_int_distribution<int> pause_count(0, 4), open_end(0, 9);
  std::uniform_int_distribution<long> pause_offset(-1440, 5 * 1440), pause_length(0, 2 * 1440);

  int checked = 0, stopped = 0;
  for (int i = 0; i < 600; ++i) {
    const Calendar& cal = i % 2 ? se : dk();
    const Instant start = base + std::chrono::minutes{start_minute(rng)};
    const auto target = std::chrono::minutes{target_minutes(rng)};
    std::vector<Pause> pauses;
    for (int k = pause_count(rng); k > 0; --k) {
      const Instant from = start + std::chrono::minutes{pause_offset(rng)};
      std::optional<Instant> to = from + std::chrono::minutes{pause_length(rng)};
      if (open_end(rng) == 0) to.reset();
      pauses.push_back({from, to});
    }
    auto paused = [&](Instant t) {
      for (const auto& p : pauses) {
        if (t >= p.from && (!p.to || t < *p.to)) return true;
      }
      return false;
    };
    // Reference: step minute by minute from start, counting open, unpaused minutes.
    std::optional<Instant> expected = start;
    if (target > 0s) {
      long counted = 0;
      const Instant limit = start + std::chrono::hours{24 * 30};
      for (Instant t = start;; t += 60s) {
        if (t >= limit) {  // only an open pause can stop the count this long
          expected.reset();
          break;
        }
        if (cal.is_open(t) && !paused(t) && ++counted == target.count()) {
          expected = t + 60s;
          break;
        }
      }
    }
    const auto due = sd::sla::due_with_pauses(cal, start, target, pauses);
    INFO("case " << i << " start " << sd::sla::rfc3339_utc(start) << " target " << target.count() << " min, "
                 << pauses.size() << " pauses");
    REQUIRE(due.has_value() == expected.has_value());
    if (!due) {
      ++stopped;
      continue;
    }
    REQUIRE(sd::sla::rfc3339_utc(*due) == sd::sla::rfc3339_utc(*expected));
    REQUIRE(sd::sla::elapsed_with_pauses(cal, start, *due, pauses) == target);
    if (target > 0s) REQUIRE(sd::sla::elapsed_with_pauses(cal, start, *due - 1s, pauses) < target);
    ++checked;
  }
  INFO(checked << " checked, " << stopped << " stopped");
  CHECK(checked > 300);
  CHECK(stopped > 20);
}
