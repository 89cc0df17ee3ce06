// tests/desk/test_desk_notices.cpp: maintenance notices and recurring service windows
// (desk/notices.h) as a contact and an operator would check them: who gets which mail, when,
// in which language and zone; nothing twice; cancellations only to those told; windows
// across DST and on the first Saturday; the acknowledgement during a window; hostile texts.
//
// Security notes: test code; the store and config live in a private temporary directory.
#include <catch2/catch.hpp>

#include "desk/desk.h"
#include "desk/ingest.h"
#include "desk/notices.h"
#include "parser/parse.h"
#include "store/notices.h"
#include "tests/support/tempdir.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace sd;

namespace {

store::Time at(const char* rfc3339) { return sla::parse_rfc3339(rfc3339).value().time_since_epoch().count(); }

constexpr store::Time kDay = 86400;
const store::Time kNow = at("2026-11-18T10:00:00Z");

// Three organisations: Acme (sv, the se calendar), Beta (da, dk), Gamma (en, a London
// calendar); two contacts at Acme, one each at Beta and Gamma.
struct NoticeDesk {
  test::TempDir dir;
  Config c;
  std::unique_ptr<Desk> desk;
  std::unique_ptr<store::Store> st;

  explicit NoticeDesk(const std::string& extra = "") {
    auto pw = dir.write("pw", "x\n");
    ::chmod(pw.c_str(), 0600);
    auto path = dir.write("servicedesk.toml", fmt::format(R"(
[service]
name = "Example Servicedesk"
address = "servicedesk@example.com"
[imap]
url = "imap://127.0.0.1:1/INBOX"
username = "desk"
password_file = "{pw}"
[smtp]
url = "smtp://127.0.0.1:1"
[store]
path = "{store}"
[calendars.uk]
time_zone = "Europe/London"
weekdays = ["09:00-17:00"]
[slas.standard-uk]
calendar = "uk"
{extra}
)",
                                                          fmt::arg("pw", pw), fmt::arg("store", dir.file("sd.db")),
                                                          fmt::arg("extra", extra)));
    c = load_config(path);
    desk = std::make_unique<Desk>(c);
    st = store::open_sqlite_store({c.store.path});
    auto tx = st->begin(store::Store::Mode::write);
    tx->add_organisation({0, "Acme", {"acme.se"}, "standard-se", "sv", "", 0, std::nullopt});
    tx->add_organisation({0, "Beta", {"beta.dk"}, "standard", "da", "", 0, std::nullopt});
    tx->add_organisation({0, "Gamma", {"gamma.co.uk"}, "standard-uk", "en", "", 0, std::nullopt});
    tx->add_contact({"anna@acme.se", "Anna Berg", "Acme"});
    tx->add_contact({"nils@acme.se", "Nils Holm", "Acme"});
    tx->add_contact({"bo@beta.dk", "Bo Jensen", "Beta"});
    tx->add_contact({"jane@gamma.co.uk", "Jane Smith", "Gamma"});
    tx->commit();
  }

  NoticeRequest request(const std::string& kind, store::Time start, store::Time end,
                        std::vector<std::string> orgs = {}) const {
    NoticeRequest r;
    r.kind = kind;
    r.starts_at = start;
    r.ends_at = end;
    r.organisations = std::move(orgs);
    r.text = "The database servers get new disks.\n";
    r.actor = "operator:test";
    return r;
  }

  std::int64_t add(const NoticeRequest& r, store::Time now = kNow, NoticeRun* run = nullptr) {
    auto tx = st->begin(store::Store::Mode::write);
    auto id = add_notice(*tx, *desk, r, now, run);
    tx->commit();
    return id;
  }
  NoticeRun run(store::Time now) { return send_due_notices(*st, *desk, now); }
  int cancel(std::int64_t id, store::Time now) {
    auto tx = st->begin(store::Store::Mode::write);
    int told = cancel_notice(*tx, *desk, id, now);
    tx->commit();
    return told;
  }

  // Every mail queued, of `kind`, by recipient.
  std::map<std::string, std::vector<parser::ParsedMail>> mails(const std::string& kind) {
    auto tx = st->begin(store::Store::Mode::read);
    std::map<std::string, std::vector<parser::ParsedMail>> out;
    for (auto& o : tx->due_outbox(kNow + 3650 * kDay, 100000))
      if (o.kind == kind)
        for (const auto& r : o.recipients) out[r].push_back(parser::parse(o.bytes));
    return out;
  }
};

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

Config::MaintenanceWindow window(const char* days, int start_minute, int end_minute) {
  Config::MaintenanceWindow w;
  w.kind = "infrastructure";
  w.calendar = "se";
  w.days = days;
  // The config's loader decides weekday and ordinal (tests/config); here they are as it reads them.
  std::string d = days;
  static const std::map<std::string, std::pair<int, int>> known = {
      {"daily", {-1, 0}}, {"saturday", {5, 0}}, {"first-saturday", {5, 1}}, {"last-friday", {4, -1}}};
  w.weekday = known.at(d).first;
  w.ordinal = known.at(d).second;
  w.start_minute = start_minute;
  w.end_minute = end_minute;
  return w;
}

const date::time_zone& stockholm() { return *date::locate_zone("Europe/Stockholm"); }

}  // namespace

// ---- windows ----

TEST_CASE("A daily 04:00-05:00 Swedish window is 03:00-04:00 UTC in winter and 02:00-03:00 UTC in summer") {
  auto w = window("daily", 4 * 60, 5 * 60);
  auto winter = next_occurrence(w, stockholm(), at("2026-11-18T10:00:00Z"));
  REQUIRE(winter);
  CHECK(winter->start == at("2026-11-19T03:00:00Z"));
  CHECK(winter->end == at("2026-11-19T04:00:00Z"));
  auto summer = next_occurrence(w, stockholm(), at("2026-06-10T00:00:00Z"));
  REQUIRE(summer);
  CHECK(summer->start == at("2026-06-10T02:00:00Z"));
  CHECK(summer->end == at("2026-06-10T03:00:00Z"));
  // In progress: the occurrence that has begun is the one given.
  auto now = next_occurrence(w, stockholm(), at("2026-11-19T03:30:00Z"));
  REQUIRE(now);
  CHECK(now->start == at("2026-11-19T03:00:00Z"));
}

TEST_CASE("Across the DST changes a window lasts its wall-clock span and a start in the gap begins at the change") {
  // 2026-03-29: Stockholm's clocks go from 02:00 CET to 03:00 CEST (01:00 UTC).
  auto gap = window("daily", 2 * 60 + 30, 3 * 60 + 30);
  auto spring = next_occurrence(gap, stockholm(), at("2026-03-28T23:00:00Z"));
  REQUIRE(spring);
  CHECK(spring->start == at("2026-03-29T01:00:00Z"));  // 02:30 does not exist: 03:00 CEST
  CHECK(spring->end == at("2026-03-29T01:30:00Z"));    // 03:30 CEST
  // The day before and after: a whole hour.
  auto before = next_occurrence(gap, stockholm(), at("2026-03-27T23:00:00Z"));
  CHECK(before->end - before->start == 3600);
  // 2026-10-25: 03:00 CEST becomes 02:00 CET; a window 01:00-04:00 lasts four real hours.
  auto fall = next_occurrence(window("daily", 60, 4 * 60), stockholm(), at("2026-10-24T22:00:00Z"));
  REQUIRE(fall);
  CHECK(fall->start == at("2026-10-24T23:00:00Z"));  // 01:00 CEST
  CHECK(fall->end == at("2026-10-25T03:00:00Z"));    // 04:00 CET
  // The daily 04:00-05:00 on both change days stays at local 04:00.
  auto four = window("daily", 4 * 60, 5 * 60);
  CHECK(next_occurrence(four, stockholm(), at("2026-03-28T23:00:00Z"))->start == at("2026-03-29T02:00:00Z"));
  CHECK(next_occurrence(four, stockholm(), at("2026-10-24T22:00:00Z"))->start == at("2026-10-25T03:00:00Z"));
}

TEST_CASE("A first-saturday window is on the month's first Saturday only, and the next comes the month after") {
  auto w = window("first-saturday", 9 * 60, 18 * 60);
  CHECK(window_on_day(w, date::year{2026} / 12 / 5));
  CHECK_FALSE(window_on_day(w, date::year{2026} / 12 / 12));
  CHECK_FALSE(window_on_day(w, date::year{2026} / 12 / 4));  // a Friday
  CHECK(window_on_day(w, date::year{2027} / 1 / 2));
  auto dec = next_occurrence(w, stockholm(), at("2026-11-18T10:00:00Z"));
  REQUIRE(dec);
  CHECK(dec->start == at("2026-12-05T08:00:00Z"));  // 09:00 CET
  CHECK(dec->end == at("2026-12-05T17:00:00Z"));
  auto jan = next_occurrence(w, stockholm(), at("2026-12-05T17:00:00Z"));  // the December one just ended
  REQUIRE(jan);
  CHECK(jan->start == at("2027-01-02T08:00:00Z"));
  auto last = window("last-friday", 20 * 60, 21 * 60);
  CHECK(window_on_day(last, date::year{2026} / 12 / 25));
  CHECK_FALSE(window_on_day(last, date::year{2026} / 12 / 18));
  CHECK(window_on_day(last, date::year{2027} / 1 / 29));
  auto weekly = window("saturday", 9 * 60, 18 * 60);
  CHECK(window_on_day(weekly, date::year{2026} / 12 / 12));
}

TEST_CASE("A window past midnight is in progress after midnight and ends on the next day") {
  auto w = window("saturday", 23 * 60, 90);
  auto occ = next_occurrence(w, stockholm(), at("2026-12-05T23:30:00Z"));  // Sunday 00:30 CET
  REQUIRE(occ);
  CHECK(occ->start == at("2026-12-05T22:00:00Z"));
  CHECK(occ->end == at("2026-12-06T00:30:00Z"));
}

TEST_CASE("The acknowledgement of a ticket opened during a window says until when, in the customer's language and zone") {
  NoticeDesk d(R"(
[[maintenance.windows]]
kind = "infrastructure"
calendar = "se"
days = "daily"
start = "04:00"
end = "05:00"
)");
  auto mail = [](const std::string& from, const std::string& id) {
    return "From: " + from + "\r\nTo: servicedesk@example.com\r\nSubject: Inget fungerar\r\nMessage-ID: <" + id +
           ">\r\nDate: Thu, 19 Nov 2026 04:30:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHej\r\n";
  };
  auto during = at("2026-11-19T03:30:00Z");
  REQUIRE(ingest(*d.st, *d.desk, mail("Anna Berg <anna@acme.se>", "m1@acme.se"), std::nullopt, during).ticket_id);
  REQUIRE(ingest(*d.st, *d.desk, mail("Bo Jensen <bo@beta.dk>", "m2@beta.dk"), std::nullopt, during).ticket_id);
  REQUIRE(ingest(*d.st, *d.desk, mail("Jane Smith <jane@gamma.co.uk>", "m3@gamma.co.uk"), std::nullopt, during).ticket_id);
  REQUIRE(ingest(*d.st, *d.desk, mail("Nils Holm <nils@acme.se>", "m4@acme.se"), std::nullopt, during + 3600).ticket_id);
  auto acks = d.mails("acknowledgement");
  CHECK(contains(acks["anna@acme.se"].at(0).body_text, "Underhåll pågår till torsdag 19 november 2026, 05:00 CET"));
  CHECK(contains(acks["bo@beta.dk"].at(0).body_text, "Der udføres vedligeholdelse indtil torsdag 19. november 2026, 05:00 CET"));
  // Gamma's calendar is London's: the same end is 04:00 GMT there.
  CHECK(contains(acks["jane@gamma.co.uk"].at(0).body_text, "Maintenance is in progress until Thursday 19 November 2026, 04:00 GMT"));
  // An hour later the window is over: no such line.
  CHECK_FALSE(contains(acks["nils@acme.se"].at(0).body_text, "Underhåll pågår"));
}

TEST_CASE("Windows that follow each other without a gap are one stretch of maintenance") {
  NoticeDesk d(R"(
[[maintenance.windows]]
kind = "infrastructure"
calendar = "se"
days = "daily"
start = "04:00"
end = "05:00"
[[maintenance.windows]]
kind = "integrations"
calendar = "se"
days = "daily"
start = "05:00"
end = "08:00"
)");
  auto tx = d.st->begin(store::Store::Mode::read);
  CHECK(maintenance_until(*tx, d.c, "Acme", at("2026-11-19T03:30:00Z")) == std::optional<store::Time>(at("2026-11-19T07:00:00Z")));
  CHECK(maintenance_until(*tx, d.c, "", at("2026-11-19T06:00:00Z")) == std::optional<store::Time>(at("2026-11-19T07:00:00Z")));
  CHECK_FALSE(maintenance_until(*tx, d.c, "Acme", at("2026-11-19T07:00:00Z")));  // 08:00 CET: over
  CHECK(windows_in_progress(d.c, at("2026-11-19T03:30:00Z")).size() == 1);
  auto next = next_windows(d.c, at("2026-11-19T08:00:00Z"));
  REQUIRE(next.size() == 2);
  CHECK(next[0].start == at("2026-11-20T03:00:00Z"));
  CHECK(next[0].window->kind == "infrastructure");
  CHECK(next[1].start == at("2026-11-20T04:00:00Z"));
}

TEST_CASE("A ticket opened while its organisation's notice is in progress is told until when; another organisation's is not") {
  NoticeDesk d;
  d.add(d.request("emergency", kNow, kNow + 2 * 3600, {"Acme"}));
  auto mail = [](const std::string& from, const std::string& id) {
    return "From: " + from + "\r\nTo: servicedesk@example.com\r\nSubject: Nere\r\nMessage-ID: <" + id +
           ">\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHej\r\n";
  };
  ingest(*d.st, *d.desk, mail("anna@acme.se", "n1@acme.se"), std::nullopt, kNow + 600);
  ingest(*d.st, *d.desk, mail("bo@beta.dk", "n2@beta.dk"), std::nullopt, kNow + 600);
  auto acks = d.mails("acknowledgement");
  CHECK(contains(acks["anna@acme.se"].at(0).body_text, "Underhåll pågår till onsdag 18 november 2026, 13:00 CET"));
  CHECK_FALSE(contains(acks["bo@beta.dk"].at(0).body_text, "vedligeholdelse"));
}

TEST_CASE("Windows are described in the reader's language with their zone") {
  NoticeDesk d;
  auto w = window("first-saturday", 9 * 60, 18 * 60);
  CHECK(window_words(d.c, w, "en") == "the first Saturday of the month 09:00-18:00 (Europe/Stockholm)");
  CHECK(window_words(d.c, w, "sv") == "första lördagen i månaden 09:00-18:00 (Europe/Stockholm)");
  CHECK(window_words(d.c, window("daily", 4 * 60, 5 * 60), "da") == "dagligt 04:00-05:00 (Europe/Stockholm)");
}

// ---- notices ----

TEST_CASE("A notice reaches each affected contact lead_days before the start, in their language and zone") {
  NoticeDesk d;
  auto start = at("2026-12-05T08:00:00Z"), end = at("2026-12-05T17:00:00Z");
  auto r = d.request("infrastructure", start, end);
  r.text_sv = "Databasservrarna får nya diskar.\n";
  NoticeRun added;
  auto id = d.add(r, kNow, &added);
  CHECK(added.mailed == 0);  // 17 days ahead: not yet
  CHECK(added.next_at == std::optional<store::Time>(start - 7 * kDay));
  CHECK(d.mails("notice").empty());
  auto early = d.run(start - 7 * kDay - 1);
  CHECK(early.mailed == 0);
  CHECK(early.next_at == std::optional<store::Time>(start - 7 * kDay));
  auto due = d.run(start - 7 * kDay);
  CHECK(due.mailed == 4);
  CHECK(due.mail_queued);
  CHECK_FALSE(due.next_at);
  auto mails = d.mails("notice");
  REQUIRE(mails.size() == 4);
  const auto& anna = mails["anna@acme.se"].at(0);
  CHECK(anna.subject == "Underhållsmeddelande: underhåll av infrastruktur från lördag 5 december 2026, 09:00 CET");
  CHECK(contains(anna.body_text, "Hej Anna,"));
  CHECK(contains(anna.body_text, "Från: lördag 5 december 2026, 09:00 CET"));
  CHECK(contains(anna.body_text, "Till: lördag 5 december 2026, 18:00 CET"));
  CHECK(contains(anna.body_text, "Databasservrarna får nya diskar."));  // the Swedish text
  const auto& bo = mails["bo@beta.dk"].at(0);
  CHECK(contains(bo.body_text, "Fra: lørdag 5. december 2026, 09:00 CET"));
  CHECK(contains(bo.body_text, "The database servers get new disks."));  // no Danish text given: the default
  const auto& jane = mails["jane@gamma.co.uk"].at(0);
  CHECK(jane.subject == "Maintenance notice: infrastructure maintenance from Saturday 5 December 2026, 08:00 GMT");
  CHECK(contains(jane.body_text, "To:   Saturday 5 December 2026, 17:00 GMT"));
  CHECK(jane.automatic.has_value());  // Auto-Submitted: auto-generated, so auto-responders stay quiet
  auto tx = d.st->begin(store::Store::Mode::read);
  CHECK(tx->notices().notice_mails(id).size() == 4);
}

TEST_CASE("Emergency maintenance is mailed at once, whatever its start") {
  NoticeDesk d;
  NoticeRun run;
  d.add(d.request("emergency", kNow + 30 * kDay, kNow + 30 * kDay + 3600), kNow, &run);
  CHECK(run.mailed == 4);
  auto mails = d.mails("notice");
  CHECK(mails.size() == 4);
  CHECK(contains(mails["anna@acme.se"].at(0).subject, "akut underhåll"));
  CHECK(contains(mails["bo@beta.dk"].at(0).subject, "akut vedligeholdelse"));
}

TEST_CASE("A notice whose lead time is already past is mailed at once") {
  NoticeDesk d;
  NoticeRun run;
  d.add(d.request("upgrade", kNow + 2 * kDay, kNow + 2 * kDay + 3600), kNow, &run);
  CHECK(run.mailed == 4);
  CHECK(d.mails("notice").size() == 4);
}

TEST_CASE("A contact of an organisation the notice does not concern gets nothing") {
  NoticeDesk d;
  d.add(d.request("integrations", kNow + kDay, kNow + kDay + 3600, {"Acme", "Gamma"}));
  auto mails = d.mails("notice");
  CHECK(mails.size() == 3);
  CHECK(mails.count("anna@acme.se"));
  CHECK(mails.count("nils@acme.se"));
  CHECK(mails.count("jane@gamma.co.uk"));
  CHECK_FALSE(mails.count("bo@beta.dk"));
  // Nor on the portal's list of coming notices.
  auto tx = d.st->begin(store::Store::Mode::read);
  CHECK(coming_notices_for(*tx, "Beta", kNow).empty());
  CHECK(coming_notices_for(*tx, "Acme", kNow).size() == 1);
  CHECK(coming_notices_for(*tx, "", kNow).empty());  // a sender of no organisation
}

TEST_CASE("Each mail goes once: running twice, restarting or a second daemon sends nothing again") {
  NoticeDesk d;
  d.add(d.request("emergency", kNow + kDay, kNow + kDay + 3600));
  CHECK(d.run(kNow + 60).mailed == 0);
  auto other = store::open_sqlite_store({d.c.store.path});  // another process on the same store
  Desk second(d.c);
  CHECK(send_due_notices(*other, second, kNow + 120).mailed == 0);
  auto mails = d.mails("notice");
  REQUIRE(mails.size() == 4);
  for (const auto& [to, list] : mails) CHECK(list.size() == 1);
  // A contact registered later, while the notice is coming, is told once on the next run.
  {
    auto tx = d.st->begin(store::Store::Mode::write);
    tx->add_contact({"eva@beta.dk", "Eva", "Beta"});
    tx->commit();
  }
  CHECK(d.run(kNow + 180).mailed == 1);
  CHECK(d.run(kNow + 240).mailed == 0);
  CHECK(d.mails("notice").at("eva@beta.dk").size() == 1);
  // Once the window has ended nobody new is told.
  {
    auto tx = d.st->begin(store::Store::Mode::write);
    tx->add_contact({"olle@acme.se", "Olle", "Acme"});
    tx->commit();
  }
  CHECK(d.run(kNow + kDay + 3600).mailed == 0);
}

TEST_CASE("A cancellation goes only to those who got the notice, once each") {
  NoticeDesk d;
  auto start = kNow + 10 * kDay;
  auto id = d.add(d.request("infrastructure", start, start + 3600, {"Acme", "Beta"}));
  d.run(start - 7 * kDay);  // Anna, Nils and Bo are told
  {
    auto tx = d.st->begin(store::Store::Mode::write);
    tx->add_contact({"olle@acme.se", "Olle", "Acme"});  // registered after the notice went out
    tx->commit();
  }
  CHECK(d.cancel(id, start - 6 * kDay) == 3);
  auto cancelled = d.mails("notice-cancelled");
  CHECK(cancelled.size() == 3);
  CHECK(cancelled.count("anna@acme.se"));
  CHECK(cancelled.count("bo@beta.dk"));
  CHECK_FALSE(cancelled.count("olle@acme.se"));
  CHECK_FALSE(cancelled.count("jane@gamma.co.uk"));
  CHECK(cancelled["anna@acme.se"].at(0).subject == "Inställt: underhåll av infrastruktur från lördag 28 november 2026, 11:00 CET");
  CHECK(contains(cancelled["bo@beta.dk"].at(0).body_text, "Vi har aflyst vedligeholdelse af infrastruktur"));
  // Cancelled: nobody more is told, and it cannot be cancelled twice.
  CHECK(d.run(start - 5 * kDay).mailed == 0);
  CHECK_FALSE(d.mails("notice").count("olle@acme.se"));
  CHECK_THROWS_WITH(d.cancel(id, start - 5 * kDay), fmt::format("notice {} is cancelled already", id));
  CHECK(d.mails("notice-cancelled").size() == 3);
}

TEST_CASE("A notice cancelled before anyone was told sends nothing at all") {
  NoticeDesk d;
  auto start = kNow + 20 * kDay;
  auto id = d.add(d.request("upgrade", start, start + 3600));
  CHECK(d.cancel(id, kNow + kDay) == 0);
  CHECK(d.run(start - 7 * kDay).mailed == 0);
  CHECK(d.mails("notice").empty());
  CHECK(d.mails("notice-cancelled").empty());
}

TEST_CASE("A notice the desk refuses is said so and nothing is stored") {
  NoticeDesk d;
  auto refused = [&](NoticeRequest r, bool malformed, const std::string& what) {
    auto tx = d.st->begin(store::Store::Mode::write);
    try {
      add_notice(*tx, *d.desk, r, kNow);
      FAIL("not refused: " << what);
    } catch (const NoticeError& e) {
      CHECK(e.malformed == malformed);
      CHECK(std::string(e.what()) == what);
    }
  };
  refused(d.request("cosmic", kNow + kDay, kNow + 2 * kDay), true,
          "--kind 'cosmic' is not infrastructure, integrations, upgrade or emergency");
  refused(d.request("upgrade", kNow + kDay, kNow + kDay), true, "--end must be after --start");
  refused(d.request("upgrade", kNow - 2 * kDay, kNow - kDay), false, "--end is in the past: the window is over");
  refused(d.request("upgrade", kNow + kDay, kNow + 2 * kDay, {"Acme", "Nobody"}), false, "no organisation 'Nobody'");
  auto tx = d.st->begin(store::Store::Mode::read);
  CHECK(tx->notices().notices().empty());
  CHECK_THROWS_WITH(parse_notice_time("2026-12-05 09:00", "--start"),
                    "--start '2026-12-05 09:00' is not an RFC 3339 time with an offset, like 2026-12-05T09:00:00+01:00 "
                    "or 2026-12-05T08:00:00Z");
  CHECK_THROWS_AS(parse_notice_time("2026-12-05T09:00:00", "--start"), NoticeError);  // no offset
  CHECK(parse_notice_time("2026-12-05T09:00:00+01:00", "--start") == at("2026-12-05T08:00:00Z"));
}

// ---- hostile texts ----

TEST_CASE("A notice's text file that is huge, not UTF-8 or has control characters is refused with the line") {
  CHECK(checked_notice_text(std::string(kMaxNoticeTextBytes + 1, 'a'), "--text-file big.txt").error() ==
        "--text-file big.txt: 32769 bytes, more than the 32768 a notice's text may have");
  CHECK(checked_notice_text("Planerat \xE5tg\xE4rd\n", "--text-file latin1.txt").error() ==
        "--text-file latin1.txt: not UTF-8 text (save it as UTF-8)");
  CHECK(checked_notice_text("ok\nsecond \x1b[2Jline\n", "--text-file esc.txt").error() ==
        "--text-file esc.txt: line 2: a control character (U+001B) is not allowed in a notice's text");
  CHECK(checked_notice_text("a\n\nc \xE2\x80\xAEtxt.exe\n", "f").error() ==
        "f: line 3: a control character (U+202E) is not allowed in a notice's text");  // a bidi override
  CHECK(checked_notice_text(std::string("nul\0here", 8), "f").error() ==
        "f: line 1: a control character (U+0000) is not allowed in a notice's text");
  CHECK(checked_notice_text("\xC2\x9B" "31m", "f").error().find("U+009B") != std::string::npos);  // C1 CSI
  CHECK(checked_notice_text(" \n\t\n", "f").error() == "f: the text is empty");
  CHECK(checked_notice_text("", "f").error() == "f: the text is empty");
}

TEST_CASE("A notice's text is made plain: BOM dropped, CRLF as LF, trailing blanks gone, tabs and UTF-8 kept") {
  CHECK(checked_notice_text("\xEF\xBB\xBFHej,\r\nvi uppgraderar.  \r\n\r\n\r\n", "f").value() == "Hej,\nvi uppgraderar.\n");
  CHECK(checked_notice_text("a\rb", "f").value() == "a\nb\n");
  CHECK(checked_notice_text("Kolumn\tvärde æøå\n", "f").value() == "Kolumn\tvärde æøå\n");
}

TEST_CASE("A notice's text is the mail's text, never template text or a header") {
  NoticeDesk d;
  auto r = d.request("emergency", kNow + kDay, kNow + kDay + 3600, {"Gamma"});
  r.text = "{{service_name}} {{#text}}x{{/text}}\nBcc: everyone@example.com\n";
  d.add(r);
  auto mail = d.mails("notice").at("jane@gamma.co.uk").at(0);
  CHECK(contains(mail.body_text, "{{service_name}} {{#text}}x{{/text}}\nBcc: everyone@example.com"));
  REQUIRE(mail.to.size() == 1);
  CHECK(mail.to[0].email == "jane@gamma.co.uk");
  CHECK(mail.cc.empty());
}
