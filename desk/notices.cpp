// desk/notices.cpp: maintenance notices and recurring service windows (see notices.h for the
// contract and the security note on the texts).
#include "desk/notices.h"

#include "core/log.h"
#include "core/text.h"
#include "core/vocabulary.h"
#include "desk/desk.h"
#include "desk/mailer.h"
#include "notify/templates.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <set>

namespace sd {

bool is_notice_kind(std::string_view kind) {
  return std::find(std::begin(kNoticeKinds), std::end(kNoticeKinds), kind) != std::end(kNoticeKinds);
}

tl::expected<std::string, std::string> checked_notice_text(std::string_view bytes, const std::string& what) {
  if (bytes.size() > kMaxNoticeTextBytes)
    return tl::make_unexpected(fmt::format("{}: {} bytes, more than the {} a notice's text may have", what,
                                           bytes.size(), kMaxNoticeTextBytes));
  if (bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
  if (!valid_utf8(bytes))
    return tl::make_unexpected(fmt::format("{}: not UTF-8 text (save it as UTF-8)", what));
  std::string out;
  out.reserve(bytes.size());
  int line = 1;
  for (std::size_t i = 0; i < bytes.size();) {
    auto ch = text_detail::decode_utf8(bytes, i);
    char32_t cp = ch.cp;
    if (cp == '\r') {
      out += '\n';
      ++line;
      i += (i + 1 < bytes.size() && bytes[i + 1] == '\n') ? 2 : 1;
      continue;
    }
    if (cp == '\n') ++line;
    if (cp != '\n' && cp != '\t' && is_terminal_control(cp))
      return tl::make_unexpected(fmt::format("{}: line {}: a control character (U+{:04X}) is not allowed in a notice's text",
                                             what, line, static_cast<unsigned>(cp)));
    out.append(bytes.substr(i, ch.len));
    i += ch.len;
  }
  // Trailing blanks of each line and blank lines at the end go; the text ends with one LF.
  std::string trimmed;
  std::size_t start = 0;
  while (start <= out.size()) {
    auto nl = out.find('\n', start);
    std::string l = out.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    while (!l.empty() && (l.back() == ' ' || l.back() == '\t')) l.pop_back();
    trimmed += l + "\n";
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  while (trimmed.size() >= 2 && trimmed[trimmed.size() - 1] == '\n' && trimmed[trimmed.size() - 2] == '\n')
    trimmed.pop_back();
  if (trimmed.find_first_not_of(" \t\n") == std::string::npos)
    return tl::make_unexpected(fmt::format("{}: the text is empty", what));
  return trimmed;
}

store::Time parse_notice_time(const std::string& text, const std::string& option) {
  auto t = sla::parse_rfc3339(text);
  if (!t)
    throw NoticeError(fmt::format("{} '{}' is not an RFC 3339 time with an offset, like 2026-12-05T09:00:00+01:00 or "
                                  "2026-12-05T08:00:00Z",
                                  option, printable(utf8_prefix(text, 80))),
                      true);
  return t->time_since_epoch().count();
}

store::Time notice_due(const Config& c, const store::Notice& n) {
  if (n.kind == "emergency") return n.created_at;
  return n.starts_at - static_cast<store::Time>(c.notices.lead_days) * 86400;
}

bool notice_concerns(const store::Notice& n, const std::string& org) {
  if (org.empty()) return false;
  return n.all_organisations || std::find(n.organisations.begin(), n.organisations.end(), org) != n.organisations.end();
}

std::vector<store::Notice> coming_notices_for(store::Transaction& tx, const std::string& org, store::Time now) {
  std::vector<store::Notice> out;
  for (auto& n : tx.notices().coming_notices(now))
    if (notice_concerns(n, org)) out.push_back(std::move(n));
  return out;
}

const std::string& notice_text_in(const store::Notice& n, std::string_view language) {
  if (language == "sv" && !n.text_sv.empty()) return n.text_sv;
  if (language == "da" && !n.text_da.empty()) return n.text_da;
  return n.text;
}

std::string notice_kind_words(std::string_view kind, std::string_view language) {
  struct Words {
    std::string_view kind, en, sv, da;
  };
  static constexpr Words words[] = {
      {"infrastructure", "infrastructure maintenance", "underhåll av infrastruktur", "vedligeholdelse af infrastruktur"},
      {"integrations", "maintenance of integrations", "underhåll av integrationer", "vedligeholdelse af integrationer"},
      {"upgrade", "upgrade work", "uppgradering", "opgradering"},
      {"emergency", "emergency maintenance", "akut underhåll", "akut vedligeholdelse"},
  };
  for (const auto& w : words)
    if (w.kind == kind) return std::string(language == "sv" ? w.sv : language == "da" ? w.da : w.en);
  return std::string(kind);
}

namespace {

// What a recipient's mail is written in and for: the organisation's language and the
// calendar of its SLA (an organisation gone since: the service's language, the default SLA).
struct Reader {
  std::string language;
  const sla::Calendar* calendar = nullptr;
};

Reader reader_of(store::Transaction& tx, const Desk& desk, const std::string& organisation) {
  const auto& c = desk.config();
  Reader r{c.service.language, &desk.clock().calendar(c.sla.default_sla)};
  if (auto org = tx.organisation(organisation)) {
    if (!org->language.empty()) r.language = org->language;
    r.calendar = &desk.clock().calendar(org->sla);
  }
  return r;
}

std::string local(const sla::Calendar& cal, store::Time t, const std::string& language) {
  return cal.format_local(sla::Instant(std::chrono::seconds(t)), language);
}

std::string portal_home(const Config& c) { return c.portal.base_url.empty() ? "" : c.portal.base_url + "/"; }

// One mail of a notice ("notice" or "notice-cancelled") to one contact; true when queued.
bool mail_notice(store::Transaction& tx, const Desk& desk, const store::Notice& n, const std::string& kind,
                 const store::Contact& to, const std::string& organisation, store::Time now) {
  const auto& c = desk.config();
  auto reader = reader_of(tx, desk, organisation);
  const auto& tpl = desk.templates().get(kind, reader.language);
  std::map<std::string, std::string> vars = {
      {"kind", notice_kind_words(n.kind, reader.language)},
      {"start", local(*reader.calendar, n.starts_at, reader.language)},
      {"end", local(*reader.calendar, n.ends_at, reader.language)},
      {"time_zone", reader.calendar->spec().time_zone},
      {"text", notice_text_in(n, reader.language)},
      {"organisation", organisation},
      {"requester_first_name", notify::first_name(to.name)},
      {"service_name", c.service.name},
      {"portal_link", portal_home(c)}};
  MailToQueue q;
  q.kind = kind;
  q.to = {to.name, to.email};
  q.record = false;
  q.draft.subject = notify::render(tpl.subject, vars);
  q.draft.body_text = notify::render(tpl.body, vars);
  q.draft.auto_submitted = "auto-generated";
  q.draft.extra_headers.emplace_back("X-Servicedesk-Notice", std::to_string(n.id));
  return queue_mail(tx, c, q, now).has_value();
}

// The notice's mails due at `now` for every contact of the organisations it concerns.
int announce(store::Transaction& tx, const Desk& desk, const store::Notice& n, store::Time now) {
  std::set<std::string> done;
  for (const auto& m : tx.notices().notice_mails(n.id))
    if (m.what == "notice") done.insert(m.recipient);
  int mailed = 0;
  for (const auto& contact : tx.contacts("")) {
    if (!notice_concerns(n, contact.organisation) || done.count(contact.email)) continue;
    if (!tx.notices().record_notice_mail({n.id, contact.email, "notice", contact.organisation, now})) continue;
    if (mail_notice(tx, desk, n, "notice", contact, contact.organisation, now)) ++mailed;
  }
  if (mailed > 0) log::notice("maintenance notice {} ({}): mailed to {} contact(s)", n.id, n.kind, mailed);
  return mailed;
}

}  // namespace

NoticeRun send_due_notices(store::Transaction& tx, const Desk& desk, store::Time now) {
  NoticeRun run;
  for (const auto& n : tx.notices().coming_notices(now)) {
    auto due = notice_due(desk.config(), n);
    if (due > now) {
      run.next_at = run.next_at ? std::min(*run.next_at, due) : due;
      continue;
    }
    run.mailed += announce(tx, desk, n, now);
  }
  run.mail_queued = run.mailed > 0;
  return run;
}

NoticeRun send_due_notices(store::Store& st, const Desk& desk, store::Time now) {
  auto tx = st.begin(store::Store::Mode::write);
  auto run = send_due_notices(*tx, desk, now);
  tx->commit();
  return run;
}

std::int64_t add_notice(store::Transaction& tx, const Desk& desk, const NoticeRequest& req, store::Time now,
                        NoticeRun* run) {
  if (!is_notice_kind(req.kind))
    throw NoticeError(fmt::format("--kind '{}' is not infrastructure, integrations, upgrade or emergency",
                                  printable(utf8_prefix(req.kind, 80))),
                      true);
  if (req.ends_at <= req.starts_at) throw NoticeError("--end must be after --start", true);
  if (req.ends_at <= now) throw NoticeError("--end is in the past: the window is over", false);
  if (req.text.empty()) throw NoticeError("a notice needs a text (--text-file)", true);
  store::Notice n;
  n.kind = req.kind;
  n.starts_at = req.starts_at;
  n.ends_at = req.ends_at;
  n.all_organisations = req.organisations.empty();
  for (const auto& name : req.organisations) {
    if (!tx.organisation(name)) throw NoticeError(fmt::format("no organisation '{}'", printable(name)), false);
    n.organisations.push_back(name);
  }
  n.text = req.text;
  n.text_sv = req.text_sv;
  n.text_da = req.text_da;
  n.created_at = now;
  n.created_by = req.actor;
  auto id = tx.notices().add_notice(n);
  log::notice("maintenance notice {} added: {} from {} to {} for {}", id, n.kind, sla::rfc3339_utc(sla::Instant(std::chrono::seconds(n.starts_at))),
              sla::rfc3339_utc(sla::Instant(std::chrono::seconds(n.ends_at))),
              n.all_organisations ? std::string("every organisation") : fmt::format("{}", fmt::join(n.organisations, ", ")));
  auto r = send_due_notices(tx, desk, now);
  if (run) *run = r;
  return id;
}

int cancel_notice(store::Transaction& tx, const Desk& desk, std::int64_t id, store::Time now) {
  auto n = tx.notices().notice(id);
  if (!n) throw NoticeError(fmt::format("no notice {}", id), false);
  if (n->cancelled_at) throw NoticeError(fmt::format("notice {} is cancelled already", id), false);
  if (n->ends_at <= now) throw NoticeError(fmt::format("notice {} has ended: nothing to cancel", id), false);
  tx.notices().cancel_notice(id, now);
  int told = 0;
  for (const auto& m : tx.notices().notice_mails(id)) {
    if (m.what != "notice") continue;
    if (!tx.notices().record_notice_mail({id, m.recipient, "cancellation", m.organisation, now})) continue;
    auto contact = tx.contact(m.recipient);
    store::Contact to{m.recipient, contact ? contact->name : "", m.organisation};
    if (mail_notice(tx, desk, *n, "notice-cancelled", to, m.organisation, now)) ++told;
  }
  log::notice("maintenance notice {} cancelled; {} contact(s) told", id, told);
  return told;
}

// ---- recurring windows ----

bool window_on_day(const Config::MaintenanceWindow& w, date::year_month_day day) {
  if (w.weekday < 0) return true;
  date::weekday wd{date::sys_days(day)};
  if (static_cast<int>(wd.iso_encoding()) - 1 != w.weekday) return false;
  unsigned d = static_cast<unsigned>(day.day());
  if (w.ordinal == 0) return true;
  if (w.ordinal > 0) return static_cast<int>((d - 1) / 7 + 1) == w.ordinal;
  auto last = date::year_month_day_last(day.year(), date::month_day_last(day.month())).day();
  return d + 7 > static_cast<unsigned>(last);
}

std::optional<WindowOccurrence> next_occurrence(const Config::MaintenanceWindow& w, const date::time_zone& zone,
                                                store::Time from) {
  using namespace std::chrono;
  auto local_now = zone.to_local(sys_seconds(seconds(from)));
  auto today = date::floor<date::days>(local_now);
  // A window past midnight may have begun yesterday; a monthly one comes within 5 weeks.
  for (auto d = today - date::days(1); d <= today + date::days(40); d += date::days(1)) {
    if (!window_on_day(w, date::year_month_day(date::sys_days(d.time_since_epoch())))) continue;
    auto start_local = date::local_seconds(d) + minutes(w.start_minute);
    auto end_day = w.end_minute > w.start_minute ? d : d + date::days(1);
    auto end_local = date::local_seconds(end_day) + minutes(w.end_minute);
    // choose::earliest: a time in the fall-back hour is its first occurrence; one in the
    // spring-forward gap is the transition itself (date/tz gives that for nonexistent times).
    auto start = zone.to_sys(start_local, date::choose::earliest).time_since_epoch().count();
    auto end = zone.to_sys(end_local, date::choose::earliest).time_since_epoch().count();
    if (end <= start || end <= from) continue;
    return WindowOccurrence{start, end, &w};
  }
  return std::nullopt;
}

namespace {
const date::time_zone* zone_of(const Config& c, const std::string& calendar) {
  auto it = c.calendars.find(calendar);
  if (it == c.calendars.end()) return nullptr;
  try {
    return date::locate_zone(it->second.time_zone);
  } catch (const std::exception&) {
    return nullptr;  // the config's check (sla::Calendar) refuses an unknown zone at load
  }
}
}  // namespace

std::vector<WindowOccurrence> next_windows(const Config& c, store::Time now) {
  std::vector<WindowOccurrence> out;
  for (const auto& w : c.maintenance.windows)
    if (const auto* zone = zone_of(c, w.calendar))
      if (auto occ = next_occurrence(w, *zone, now)) out.push_back(*occ);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
  return out;
}

std::vector<WindowOccurrence> windows_in_progress(const Config& c, store::Time now) {
  std::vector<WindowOccurrence> out;
  for (const auto& occ : next_windows(c, now))
    if (occ.start <= now) out.push_back(occ);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.end > b.end; });
  return out;
}

std::string window_words(const Config& c, const Config::MaintenanceWindow& w, std::string_view language) {
  static constexpr std::string_view en_days[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
  static constexpr std::string_view sv_days[] = {"måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"};
  static constexpr std::string_view da_days[] = {"mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"};
  static constexpr std::string_view en_ord[] = {"last", "", "first", "second", "third", "fourth"};
  static constexpr std::string_view sv_ord[] = {"sista", "", "första", "andra", "tredje", "fjärde"};
  static constexpr std::string_view da_ord[] = {"sidste", "", "første", "anden", "tredje", "fjerde"};
  bool sv = language == "sv", da = language == "da";
  std::string days;
  if (w.weekday < 0) {
    days = sv ? "dagligen" : da ? "dagligt" : "daily";
  } else {
    auto day = (sv ? sv_days : da ? da_days : en_days)[w.weekday];
    if (w.ordinal == 0) days = fmt::format(fmt::runtime(sv ? "varje {}" : da ? "hver {}" : "every {}"), day);
    else
      days = fmt::format(fmt::runtime(sv ? "{} {}en i månaden" : da ? "{} {} i måneden" : "the {} {} of the month"),
                         (sv ? sv_ord : da ? da_ord : en_ord)[w.ordinal + 1], day);
  }
  auto it = c.calendars.find(w.calendar);
  std::string zone = it == c.calendars.end() ? w.calendar : it->second.time_zone;
  return fmt::format("{} {:02d}:{:02d}-{:02d}:{:02d} ({})", days, w.start_minute / 60, w.start_minute % 60,
                     w.end_minute / 60, w.end_minute % 60, zone);
}

std::optional<store::Time> maintenance_until(store::Transaction& tx, const Config& c, const std::string& org,
                                             store::Time now) {
  std::vector<store::Notice> notices;
  if (!org.empty()) notices = coming_notices_for(tx, org, now);
  // What is in progress at `t`, and when the last of it ends.
  auto end_of_what_runs_at = [&](store::Time t) {
    std::optional<store::Time> until;
    auto later = [&](store::Time e) { until = until ? std::max(*until, e) : e; };
    for (const auto& occ : windows_in_progress(c, t)) later(occ.end);
    for (const auto& n : notices)
      if (n.starts_at <= t && n.ends_at > t) later(n.ends_at);
    return until;
  };
  // Windows that follow each other without a gap (the seed's infrastructure 04:00-05:00, then
  // integrations 05:00-08:00) are one stretch of maintenance: "until 08:00". Bounded: a chain
  // of windows round the clock must not loop for ever.
  auto until = end_of_what_runs_at(now);
  for (int i = 0; until && i < 16; ++i) {
    auto next = end_of_what_runs_at(*until);
    if (!next || *next <= *until) break;
    until = next;
  }
  return until;
}

}  // namespace sd
