// Benchmark: due times (Calendar::add), business time between instants
// (Calendar::between) and due_with_pauses for N tickets with varied starts and targets in
// the standard "dk" and "se" calendars. Prints wall time per operation kind.
// Diagnostics: prints to stdout; the checksum keeps the optimiser from dropping work.
// Security: none.
#include "sla/calendar.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace {

using namespace std::chrono_literals;
using sd::sla::Instant;
using sd::sla::Seconds;

struct Ticket {
  Instant start;
  Seconds target;
  std::vector<sd::sla::Pause> pauses;
};

}  // namespace

int main(int argc, char** argv) {
  const std::size_t count = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100'000;
  const sd::sla::Calendar dk(sd::sla::default_calendar_spec("dk"));
  const sd::sla::Calendar se(sd::sla::default_calendar_spec("se"));

  // Starts spread over 2026-2027 (every DST change, holiday and year end included),
  // targets 1-16 business hours plus up to an hour of extra minutes.
  std::mt19937_64 rng(20261122);
  const Instant first{date::sys_days{date::year{2026} / 1 / 1}};
  std::uniform_int_distribution<long> start_seconds(0, 2L * 365 * 86400);
  std::uniform_int_distribution<int> hours(1, 16), extra_minutes(0, 59), pause_hours(1, 72);
  std::vector<Ticket> tickets(count);
  for (std::size_t i = 0; i < count; ++i) {
    auto& t = tickets[i];
    t.start = first + Seconds{start_seconds(rng)};
    t.target = std::chrono::hours{hours(rng)} + std::chrono::minutes{extra_minutes(rng)};
    if (i % 4 == 0) t.pauses.push_back({t.start + 2h, t.start + std::chrono::hours{2 + pause_hours(rng)}});
  }

  auto time = [&](const char* what, auto&& op) {
    long long checksum = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < count; ++i) {
      const auto& cal = i % 2 == 0 ? dk : se;
      checksum += op(cal, tickets[i]);
    }
    const auto t1 = std::chrono::steady_clock::now();
    const double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    std::printf("%-34s %8zu ops %9.1f ms %8.0f ns/op  (checksum %lld)\n", what, count, ms,
                ms * 1e6 / static_cast<double>(count), checksum);
  };

  time("Calendar::add (due time)", [](const sd::sla::Calendar& cal, const Ticket& t) {
    return cal.add(t.start, t.target).time_since_epoch().count();
  });
  time("Calendar::between (start, +7 days)", [](const sd::sla::Calendar& cal, const Ticket& t) {
    return cal.between(t.start, t.start + 168h).count();
  });
  time("due_with_pauses (1 in 4 paused)", [](const sd::sla::Calendar& cal, const Ticket& t) {
    const auto due = sd::sla::due_with_pauses(cal, t.start, t.target, t.pauses);
    return due ? due->time_since_epoch().count() : 0;
  });
  {
    // Construction precomputes closures for 1970-2199; the daemon should build each
    // calendar once.
    constexpr int builds = 200;
    long long checksum = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < builds; ++i) {
      const sd::sla::Calendar cal(sd::sla::default_calendar_spec(i % 2 == 0 ? "dk" : "se"));
      checksum += static_cast<long long>(cal.spec().name.size());
    }
    const auto t1 = std::chrono::steady_clock::now();
    const double us = std::chrono::duration<double, std::micro>(t1 - t0).count() / builds;
    std::printf("%-34s %8d ops %9.1f us/op  (checksum %lld)\n", "Calendar construction", builds, us, checksum);
  }
  time("Calendar::is_open", [](const sd::sla::Calendar& cal, const Ticket& t) {
    return static_cast<long long>(cal.is_open(t.start));
  });
  return 0;
}
