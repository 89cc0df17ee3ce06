// desk/notices.h: maintenance notices and the recurring service windows (seed 000, 4.1-4.1.3):
// "where planned maintenance may affect the product's functionality, the customer is
// notified one week in advance"; emergency maintenance "without the customer's consent".
// The one place the command line (`servicedesk notice`), the daemon's clock and the portal
// call.
//
// Contract:
// - A notice concerns every organisation or those it names. Each contact of such an
//   organisation gets its mail `[notices] lead_days` before the start (emergency: at once;
//   a moment already past: at once), with the window in the zone of the organisation's SLA
//   calendar and the text in the organisation's language where one was given (else the
//   default text). Whether a mail goes out is decided inside the caller's write transaction
//   by the store's once-only key (notice, recipient, kind of mail): a second run, a restart
//   or a second daemon sends nothing twice. Contacts registered later, while the notice is
//   still coming, get it on the clock's next run.
// - Cancelling tells exactly those who got the notice, once each.
// - A recurring window is wall-clock time in its calendar's zone: on a DST change its
//   occurrence is as long as that wall-clock span really is; a start inside the
//   spring-forward gap begins at the transition, an end inside the fall-back hour is its
//   first (earlier) occurrence.
//
// Security: a notice's texts come from files an operator names, which may be anything:
// checked_notice_text() refuses what is not UTF-8 text of a bounded size, and control
// characters (C0 but tab and newline, DEL, C1, bidi controls and line separators) with the
// line they are on; CRLF becomes LF. In mail and on the portal the text is a value, never
// template text or HTML.
#pragma once

#include "config/config.h"
#include "sla/calendar.h"
#include "store/notices.h"
#include "store/store.h"

#include <tl/expected.hpp>

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sd {

class Desk;  // desk/desk.h

// What the desk refuses of a notice: `malformed` for a value of the wrong shape (a time, a
// kind), else a rule (an organisation that does not exist, a notice already cancelled).
struct NoticeError : std::runtime_error {
  NoticeError(const std::string& what, bool malformed_) : std::runtime_error(what), malformed(malformed_) {}
  bool malformed;
};

inline constexpr std::size_t kMaxNoticeTextBytes = 32 * 1024;
inline constexpr std::string_view kNoticeKinds[] = {"infrastructure", "integrations", "upgrade", "emergency"};
bool is_notice_kind(std::string_view kind);

// A notice's text from the bytes of a file, made plain: a UTF-8 BOM dropped, CRLF and CR as
// LF, trailing blanks and blank lines at the end dropped. An error naming `what` (the file)
// and, for a control character, its line: more than kMaxNoticeTextBytes, not UTF-8, a
// control character, nothing but blanks.
tl::expected<std::string, std::string> checked_notice_text(std::string_view bytes, const std::string& what);

// "2026-12-05T09:00:00+01:00" or "...Z": RFC 3339 with an offset, else NoticeError
// (malformed) naming `option` and the form.
store::Time parse_notice_time(const std::string& text, const std::string& option);

struct NoticeRequest {
  std::string kind;
  store::Time starts_at = 0, ends_at = 0;
  std::vector<std::string> organisations;  // empty: all
  std::string text, text_sv, text_da;      // checked_notice_text()'s
  std::string actor;                       // "operator:NAME"
};

struct NoticeRun {
  int mailed = 0;            // mails queued by this run
  bool mail_queued = false;  // so the outbox is woken
  std::optional<store::Time> next_at;  // the next notice's moment to mail, if any
};

// When a notice's mails go out: its creation for an emergency, else lead_days before the start.
store::Time notice_due(const Config& c, const store::Notice& n);

// Adds a notice (throws NoticeError: a kind not of kNoticeKinds, an end not after the start
// or already past, an organisation that does not exist, an empty text) and, in the same
// transaction, mails whoever it is due for already. Returns the id.
std::int64_t add_notice(store::Transaction& tx, const Desk& desk, const NoticeRequest& req, store::Time now,
                        NoticeRun* run = nullptr);

// Cancels a notice and mails its cancellation to those who got the notice; how many were
// told. Throws NoticeError: no such notice, cancelled already, ended already.
int cancel_notice(store::Transaction& tx, const Desk& desk, std::int64_t id, store::Time now);

// Every coming notice's mails that are due at `now` and not yet decided, in the caller's
// write transaction; and when the next is due.
NoticeRun send_due_notices(store::Transaction& tx, const Desk& desk, store::Time now);
// The same in a write transaction of its own (the daemon's clock).
NoticeRun send_due_notices(store::Store& st, const Desk& desk, store::Time now);

// Whether a coming notice concerns organisation `org` (by name; empty: none).
bool notice_concerns(const store::Notice& n, const std::string& org);
// The coming notices (not ended, not cancelled) that concern `org`, by start.
std::vector<store::Notice> coming_notices_for(store::Transaction& tx, const std::string& org, store::Time now);

// The default text or the one of `language` (sv, da) where it was given.
const std::string& notice_text_in(const store::Notice& n, std::string_view language);
// "Infrastructure maintenance", "Underhåll av infrastruktur" ...: a kind in words.
std::string notice_kind_words(std::string_view kind, std::string_view language);

// ---- recurring windows ----

// One occurrence of a window: [start, end) in UTC.
struct WindowOccurrence {
  store::Time start = 0, end = 0;
  const Config::MaintenanceWindow* window = nullptr;
};

// Whether the window takes place on local day `day` (its start is on that day).
bool window_on_day(const Config::MaintenanceWindow& w, date::year_month_day day);
// The first occurrence of `w` that ends after `from` (it may be in progress at `from`), in
// the time zone `zone`; nullopt only for a window that never occurs.
std::optional<WindowOccurrence> next_occurrence(const Config::MaintenanceWindow& w, const date::time_zone& zone,
                                                store::Time from);
// The windows of the config in progress at `now`; the one that lasts longest first.
std::vector<WindowOccurrence> windows_in_progress(const Config& c, store::Time now);
// Each window's next occurrence (in progress or coming), by start.
std::vector<WindowOccurrence> next_windows(const Config& c, store::Time now);
// The window's rule in words: "daily 04:00-05:00", "first Saturday 09:00-18:00" ... (en, sv, da),
// with the zone's name ("Europe/Stockholm").
std::string window_words(const Config& c, const Config::MaintenanceWindow& w, std::string_view language);

// When maintenance in progress at `now` ends for organisation `org`'s customers: the latest
// end of the windows in progress and of the organisation's notices in progress, and of what
// follows them without a gap (04:00-05:00 then 05:00-08:00: 08:00); nullopt when none is.
// For the acknowledgement of a ticket opened during one.
std::optional<store::Time> maintenance_until(store::Transaction& tx, const Config& c, const std::string& org,
                                             store::Time now);

}  // namespace sd
