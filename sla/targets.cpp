// SLA clocks on a business calendar: priorities, and due/elapsed time with pauses
// (pending periods during which the clock stands still).
// Diagnostics: none thrown here beyond Calendar's.
// Security: none.
#include "sla/calendar.h"

#include <algorithm>
#include <array>

namespace sd::sla {
namespace {

using namespace std::chrono_literals;


// A pause as a half-open interval; to == nullopt means still open (runs forever).
struct Span {
  Instant from;
  std::optional<Instant> to;
};

bool ends_before(const std::optional<Instant>& end, Instant t) { return end && *end < t; }

// Sorted, merged, non-empty pauses. Overlapping or touching pauses become one, so
// paused business time is never counted twice.
std::vector<Span> normalise(const std::vector<Pause>& pauses) {
  std::vector<Span> spans;
  for (const auto& p : pauses) {
    if (p.to && *p.to <= p.from) continue;  // empty (or reversed) pause
    spans.push_back({p.from, p.to});
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.from < b.from; });
  std::vector<Span> merged;
  for (const auto& s : spans) {
    if (!merged.empty() && !ends_before(merged.back().to, s.from)) {
      auto& last = merged.back();
      if (!s.to) {
        last.to.reset();
      } else if (last.to && *s.to > *last.to) {
        last.to = s.to;
      }
    } else {
      merged.push_back(s);
    }
  }
  return merged;
}

}  // namespace

Seconds default_first_response_target(Priority p) {
  switch (p) {
    case Priority::highest: return 1h;
    case Priority::high: return 4h;
    case Priority::medium: return 8h;
    case Priority::low: return 12h;
    case Priority::lowest: return 16h;
  }
  return 8h;
}

std::optional<Instant> due_with_pauses(const Calendar& cal, Instant start, Seconds target,
                                       const std::vector<Pause>& pauses) {
  if (target <= Seconds::zero()) return start;
  Instant cursor = start;  // business time before cursor is accounted for
  Seconds remaining = target;
  for (const auto& p : normalise(pauses)) {
    if (p.to && *p.to <= cursor) continue;  // over before the clock started
    const Instant pause_from = std::max(p.from, cursor);
    const Seconds before_pause = cal.between(cursor, pause_from);
    if (before_pause >= remaining) break;  // due before this pause begins
    remaining -= before_pause;
    if (!p.to) return std::nullopt;  // clock stopped with target left
    cursor = *p.to;
  }
  return cal.add(cursor, remaining);
}

Seconds elapsed_with_pauses(const Calendar& cal, Instant start, Instant now, const std::vector<Pause>& pauses) {
  if (now <= start) return Seconds::zero();
  Seconds total{0};
  Instant cursor = start;
  for (const auto& p : normalise(pauses)) {
    if (p.from >= now) break;
    if (p.to && *p.to <= cursor) continue;
    total += cal.between(cursor, std::max(p.from, cursor));
    cursor = p.to ? std::min(*p.to, now) : now;
  }
  total += cal.between(cursor, now);
  return total;
}

}  // namespace sd::sla
