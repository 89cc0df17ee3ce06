// tests/daemon/test_daemon_faults.cpp: every store and SMTP call on the ingest and outbox
// paths made to fail in turn (the Nth fails, N rising until the path gets through), each
// time checking what the daemon promises: ingest stores a mail completely or not at all,
// and the outbox marks a mail sent only after the server took it and loses none.
//
// No mocks: the real SQLite store with StoreOptions::fail_at_step, and a real SMTP server
// (aiosmtpd, tests/support/smtp_server.h) with SmtpSettings::fail_at_call. Each N starts from
// a copy of one prepared store file, so every run sees the same state and the same steps.
#include <catch2/catch.hpp>

#include "daemon/outbox.h"
#include "desk/ingest.h"
#include "desk/ticket_change.h"
#include "notify/smtp.h"
#include "tests/support/desk_config.h"
#include "tests/support/smtp_server.h"
#include "tests/support/tempdir.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <sstream>

using namespace sd;

namespace {

constexpr store::Time kNow = 1795330800;  // 2026-11-22T05:00:00Z
constexpr int kMaxSteps = 1000;           // a loop that gets this far never succeeds: a bug

std::string mail(const std::string& from, const std::string& subject, const std::string& msgid) {
  return "From: " + from + "\r\nTo: servicedesk@example.com\r\nSubject: " + subject + "\r\nMessage-ID: <" + msgid +
         ">\r\nDate: Sun, 22 Nov 2026 07:00:00 +0100\r\n\r\nHello, it is broken.\r\n";
}

// Steps that opening an existing store takes, so that a fault can be aimed past them at the
// call under test: the first k that lets the open through is one more than its steps.
int steps_to_open(const std::string& path) {
  for (int k = 1; k < 100; ++k) {
    try {
      store::open_sqlite_store({path, 1000, k});
    } catch (const store::StoreError&) {
      continue;
    }
    return k - 1;
  }
  throw std::runtime_error("opening the store never got through");
}

// A copy of the prepared store for one run. The prepared store is closed, so its WAL has
// been checkpointed into the main file and the copy is complete.
std::string copy_of(const test::TempDir& dir, const std::string& base, const std::string& name) {
  std::string path = dir.file(name + ".db");
  std::filesystem::copy_file(base, path);
  return path;
}

// Everything ingest and the outbox write, read back through the store's interface.
struct StoreState {
  std::size_t tickets = 0, messages_in = 0, messages_out = 0, events = 0;
  std::set<std::int64_t> raw_ids;          // raw mails that messages came from
  std::vector<store::OutboxItem> outbox;   // every status, by id
  std::optional<store::MailboxState> inbox;
  std::string text;  // all of the above, one line per row: equal texts, equal states

  std::size_t outbox_of(const std::string& kind) const {
    return static_cast<std::size_t>(
        std::count_if(outbox.begin(), outbox.end(), [&](const auto& o) { return o.kind == kind; }));
  }
  std::size_t outbox_with(const std::string& status) const {
    return static_cast<std::size_t>(
        std::count_if(outbox.begin(), outbox.end(), [&](const auto& o) { return o.status == status; }));
  }
};

StoreState state_of(store::Store& st) {
  StoreState s;
  std::ostringstream out;
  auto tx = st.begin(store::Store::Mode::read);
  for (const auto& t : tx->tickets()) {
    ++s.tickets;
    out << "ticket " << t.id << " " << t.status << " updated " << t.updated_at << " messages " << t.message_count
        << " repeats " << t.repeat_count << " first response " << t.first_response_at.value_or(-1) << "\n";
    for (const auto& m : tx->messages(t.id)) {
      (m.direction == "in" ? s.messages_in : s.messages_out) += 1;
      if (m.raw_id) s.raw_ids.insert(*m.raw_id);
      out << "  message " << m.id << " " << m.direction << " raw " << m.raw_id.value_or(0) << " <" << m.message_id
          << ">\n";
    }
    for (const auto& e : tx->events(t.id)) {
      ++s.events;
      out << "  event " << e.at << " " << e.actor << " " << e.kind << " " << e.detail << "\n";
    }
    for (const auto& p : tx->pauses(t.id)) out << "  pause " << p.from << "-" << p.to.value_or(-1) << "\n";
  }
  for (const char* status : {"pending", "sent", "failed"})
    for (auto& o : tx->outbox(status)) s.outbox.push_back(std::move(o));
  std::sort(s.outbox.begin(), s.outbox.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  for (const auto& o : s.outbox)
    out << "outbox " << o.id << " " << o.kind << " " << o.status << " attempts " << o.attempts << " next "
        << o.next_attempt_at << " <" << o.message_id << "> " << o.last_error << "\n";
  s.inbox = tx->mailbox("INBOX");
  if (s.inbox) out << "INBOX " << s.inbox->uidvalidity << "/" << s.inbox->last_uid << "\n";
  s.text = out.str();
  return s;
}

StoreState state_of(const std::string& path) {
  auto st = store::open_sqlite_store({path});
  return state_of(*st);
}

// Whether the raw mail is stored: at its mailbox position, and by Message-ID and content.
struct RawPresence {
  bool at_origin = false, by_content = false;
  bool operator==(const RawPresence&) const = default;
};

RawPresence raw_presence(store::Store& st, const std::string& raw, const std::string& message_id,
                         const store::MailOrigin& origin) {
  auto tx = st.begin(store::Store::Mode::read);
  return {tx->raw_at(origin).has_value(), tx->raw_with(message_id, content_hash(raw)).has_value()};
}

// One ingest scenario: the mails (one: ingest(), as the pipe does; several: ingest_batch(),
// as the poller does), and what a successful ingest must have done to the prepared state.
struct IngestScenario {
  std::string name;
  std::vector<IncomingMail> mails;
  std::vector<std::string> message_ids;  // of each mail, for the look-up by content
  std::function<void(const StoreState& before, const StoreState& after, const std::vector<IngestResult>& r)>
      check_stored;
};

std::vector<IngestResult> run_ingest(store::Store& st, const Config& c, const IngestScenario& sc, store::Time now) {
  if (sc.mails.size() == 1) return {ingest(st, c, sc.mails[0].raw, sc.mails[0].origin, now)};
  return ingest_batch(st, c, sc.mails, now);
}

std::vector<RawPresence> raw_presence(store::Store& st, const IngestScenario& sc) {
  std::vector<RawPresence> out;
  for (std::size_t i = 0; i < sc.mails.size(); ++i)
    out.push_back(raw_presence(st, sc.mails[i].raw, sc.message_ids[i], *sc.mails[i].origin));
  return out;
}

// Runs the scenario with the Nth step of ingest failing, for N = 1, 2, ... until ingest gets
// through without a fault, on a fresh copy of `base` each time. Returns how many N failed.
int ingest_under_every_fault(const test::TempDir& dir, const Config& c, const std::string& base,
                             const IngestScenario& sc) {
  REQUIRE(sc.mails.size() == sc.message_ids.size());
  const int open_steps = steps_to_open(base);
  const StoreState before = state_of(base);
  std::vector<RawPresence> raw_before;
  {
    auto st = store::open_sqlite_store({base});
    raw_before = raw_presence(*st, sc);
  }
  int faults = 0;
  for (int n = 1; n < kMaxSteps; ++n) {
    INFO(sc.name << ": store fault at step " << n << " of ingest");
    std::string db = copy_of(dir, base, sc.name + "-" + std::to_string(n));
    std::unique_ptr<store::Store> st;
    REQUIRE_NOTHROW(st = store::open_sqlite_store({db, 1000, open_steps + n}));
    std::vector<IngestResult> r;
    bool failed = false;
    try {
      r = run_ingest(*st, c, sc, kNow + 100);
    } catch (const store::StoreError& e) {
      failed = true;
      ++faults;
      CHECK(e.transient);
    }
    // Checks read through a second connection: after a run that got through, the fault is
    // still armed on the first.
    auto check = store::open_sqlite_store({db});
    if (failed) {
      // Nothing of any mail: not its raw bytes, not its ticket change, no outbox row, and
      // the watermark where it was. The store (its fault now spent) is reused for the retry,
      // as the poller keeps its store after a failed pass.
      auto after = state_of(*check);
      CHECK(after.text == before.text);
      CHECK(raw_presence(*check, sc) == raw_before);
      r = run_ingest(*st, c, sc, kNow + 100);
    }
    REQUIRE(r.size() == sc.mails.size());
    auto stored = state_of(*check);
    sc.check_stored(before, stored, r);
    // And once more: a repeat changes nothing, so each mail is stored exactly once. (Checked
    // after the first retry and after the fault-free run only: each ingest builds the SLA
    // calendars, the bulk of this test's time under ASan, and every retry stores the same.)
    if (!failed || faults == 1) {
      auto again = run_ingest(*check, c, sc, kNow + 200);
      for (const auto& a : again) CHECK(a.kind == IngestResult::Kind::duplicate);
      CHECK(state_of(*check).text == stored.text);
    }
    if (!failed) return faults;
  }
  FAIL(sc.name << ": ingest never got through");
  return faults;
}

// A store with a registered agent (so new tickets and replies also notify agents), written
// at `path` and closed.
void prepare_desk(const std::string& path) {
  auto st = store::open_sqlite_store({path});
  auto tx = st->begin(store::Store::Mode::write);
  tx->add_agent({"agent@example.com", "Agent Smith"});
  tx->commit();
}

void check_watermark(const StoreState& s, const store::MailOrigin& o) {
  REQUIRE(s.inbox);
  CHECK(s.inbox->uidvalidity == o.uidvalidity);
  CHECK(s.inbox->last_uid == o.uid);
}

}  // namespace

TEST_CASE("A store failure at any step of ingesting a new mail stores none of it and a retry stores it once") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  std::string base = dir.file("base.db");
  prepare_desk(base);
  IngestScenario sc{"new",
                    {{mail("Anna Berg <anna@kund.se>", "Printer broken", "m1@kund.se"), store::MailOrigin{"INBOX", 7, 1}}},
                    {"m1@kund.se"},
                    [](const StoreState& before, const StoreState& after, const std::vector<IngestResult>& rs) {
                      const auto& r = rs[0];
                      CHECK(r.kind == IngestResult::Kind::created);
                      CHECK(r.acknowledgement_queued);
                      CHECK(after.tickets == before.tickets + 1);
                      CHECK(after.messages_in == before.messages_in + 1);
                      CHECK(after.raw_ids.size() == before.raw_ids.size() + 1);
                      CHECK(after.outbox_of("acknowledgement") == before.outbox_of("acknowledgement") + 1);
                      CHECK(after.outbox_of("agent-notification") == before.outbox_of("agent-notification") + 1);
                      check_watermark(after, {"INBOX", 7, 1});
                    }};
  int faults = ingest_under_every_fault(dir, c, base, sc);
  INFO("ingest of a new mail failed at " << faults << " steps");
  CHECK(faults >= 20);  // the loop really went through the transaction, not just its start (29 when written)
}

TEST_CASE("A store failure at any step of ingesting a reply leaves its ticket as it was and a retry joins it once") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  std::string base = dir.file("base.db");
  prepare_desk(base);
  {
    auto st = store::open_sqlite_store({base});
    auto first = ingest(*st, c, mail("anna@kund.se", "Printer broken", "m1@kund.se"), store::MailOrigin{"INBOX", 7, 1}, kNow);
    REQUIRE(first.ticket_id == 1);
    // Waiting for the customer: the reply also moves the ticket back to open.
    auto tx = st->begin(store::Store::Mode::write);
    set_status(*tx, 1, Status::pending, kNow + 10);
    tx->commit();
  }
  IngestScenario sc{"reply",
                    {{mail("anna@kund.se", "Re: [SD-1] Printer broken", "m2@kund.se"), store::MailOrigin{"INBOX", 7, 2}}},
                    {"m2@kund.se"},
                    [](const StoreState& before, const StoreState& after, const std::vector<IngestResult>& rs) {
                      const auto& r = rs[0];
                      CHECK(r.kind == IngestResult::Kind::joined);
                      CHECK(r.ticket_id == 1);
                      CHECK_FALSE(r.acknowledgement_queued);
                      CHECK(after.tickets == before.tickets);
                      CHECK(after.messages_in == before.messages_in + 1);
                      CHECK(after.raw_ids.size() == before.raw_ids.size() + 1);
                      CHECK(after.outbox_of("acknowledgement") == before.outbox_of("acknowledgement"));
                      CHECK(after.outbox_of("agent-notification") == before.outbox_of("agent-notification") + 1);
                      CHECK(after.text.find("ticket 1 open") != std::string::npos);
                      check_watermark(after, {"INBOX", 7, 2});
                    }};
  int faults = ingest_under_every_fault(dir, c, base, sc);
  INFO("ingest of a reply failed at " << faults << " steps");
  CHECK(faults >= 20);  // 31 when written
}

TEST_CASE("A store failure at any step of ingesting a repeated mail changes nothing and a retry finds the duplicate") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  std::string base = dir.file("base.db");
  prepare_desk(base);
  auto m = mail("anna@kund.se", "Printer broken", "m1@kund.se");
  {
    auto st = store::open_sqlite_store({base});
    REQUIRE(ingest(*st, c, m, store::MailOrigin{"INBOX", 7, 1}, kNow).ticket_id == 1);
  }
  auto unchanged_but_watermark = [](store::MailOrigin o) {
    return [o](const StoreState& before, const StoreState& after, const std::vector<IngestResult>& rs) {
      const auto& r = rs[0];
      CHECK(r.kind == IngestResult::Kind::duplicate);
      CHECK(r.ticket_id == 1);
      CHECK(after.tickets == before.tickets);
      CHECK(after.messages_in == before.messages_in);
      CHECK(after.raw_ids == before.raw_ids);
      CHECK(after.outbox.size() == before.outbox.size());
      CHECK(after.events == before.events);
      check_watermark(after, o);
    };
  };
  // The same position again (a poll pass that died before flagging the mail).
  IngestScenario same{"same-position", {{m, store::MailOrigin{"INBOX", 7, 1}}}, {"m1@kund.se"},
                      unchanged_but_watermark({"INBOX", 7, 1})};
  // The same mail delivered again at a new position, with another trace header.
  IngestScenario moved{"new-position", {{"Received: from mx2 by mx1\r\n" + m, store::MailOrigin{"INBOX", 7, 2}}},
                       {"m1@kund.se"}, unchanged_but_watermark({"INBOX", 7, 2})};
  int same_faults = ingest_under_every_fault(dir, c, base, same);
  int moved_faults = ingest_under_every_fault(dir, c, base, moved);
  INFO("ingest of a repeat failed at " << same_faults << " steps (same position), " << moved_faults << " (new position)");
  CHECK(same_faults >= 4);   // 5: begin, the look-up by position, the watermark read and write, commit
  CHECK(moved_faults >= 5);  // 6: and the look-up by content, after the one by position missed
}

TEST_CASE("A store failure at any step of ingesting a batch stores none of its mails and a retry stores each once") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  std::string base = dir.file("base.db");
  prepare_desk(base);
  auto first = mail("anna@kund.se", "Printer broken", "m1@kund.se");
  {
    auto st = store::open_sqlite_store({base});
    REQUIRE(ingest(*st, c, first, store::MailOrigin{"INBOX", 7, 1}, kNow).ticket_id == 1);
  }
  auto bo = mail("Bo <bo@kund.se>", "VPN down", "b1@kund.se");
  // What one poll pass may bring: new mails, a reply, a repeat of a stored mail, and a repeat
  // of a mail earlier in the same batch (found by the same transaction's look-up).
  IngestScenario sc{"batch",
                    {{bo, store::MailOrigin{"INBOX", 7, 2}},
                     {mail("anna@kund.se", "Re: [SD-1] Printer broken", "m2@kund.se"), store::MailOrigin{"INBOX", 7, 3}},
                     {mail("cecilia@kund.se", "Invoice", "c1@kund.se"), store::MailOrigin{"INBOX", 7, 4}},
                     {"Received: from mx2 by mx1\r\n" + first, store::MailOrigin{"INBOX", 7, 5}},
                     {"Received: from mx3 by mx1\r\n" + bo, store::MailOrigin{"INBOX", 7, 6}}},
                    {"b1@kund.se", "m2@kund.se", "c1@kund.se", "m1@kund.se", "b1@kund.se"},
                    [](const StoreState& before, const StoreState& after, const std::vector<IngestResult>& r) {
                      CHECK(r[0].kind == IngestResult::Kind::created);
                      CHECK(r[1].kind == IngestResult::Kind::joined);
                      CHECK(r[1].ticket_id == 1);
                      CHECK(r[2].kind == IngestResult::Kind::created);
                      CHECK(r[3].kind == IngestResult::Kind::duplicate);
                      CHECK(r[3].ticket_id == 1);
                      CHECK(r[4].kind == IngestResult::Kind::duplicate);
                      CHECK(r[4].ticket_id == r[0].ticket_id);
                      CHECK(after.tickets == before.tickets + 2);
                      CHECK(after.messages_in == before.messages_in + 3);
                      CHECK(after.raw_ids.size() == before.raw_ids.size() + 3);
                      CHECK(after.outbox_of("acknowledgement") == before.outbox_of("acknowledgement") + 2);
                      CHECK(after.outbox_of("agent-notification") == before.outbox_of("agent-notification") + 3);
                      check_watermark(after, {"INBOX", 7, 6});
                    }};
  int faults = ingest_under_every_fault(dir, c, base, sc);
  INFO("ingest of a batch of " << sc.mails.size() << " failed at " << faults << " steps");
  CHECK(faults >= 60);  // 88 when written, for five mails in one transaction
}

namespace {

// Three customers' mails, each acknowledged: K outbox rows due at kNow + i.
constexpr int kAcks = 3;
const std::vector<std::string> kCustomers = {"anna@kund.se", "bo@kund.se", "cecilia@kund.se"};

std::string prepare_acknowledgements(const test::TempDir& dir, const Config& c) {
  std::string base = dir.file("base.db");
  auto st = store::open_sqlite_store({base});
  for (int i = 0; i < kAcks; ++i) {
    auto r = ingest(*st, c, mail(kCustomers[i], "Problem " + std::to_string(i), "p" + std::to_string(i) + "@kund.se"),
                    store::MailOrigin{"INBOX", 7, i + 1}, kNow + i);
    REQUIRE(r.acknowledgement_queued);
  }
  auto s = state_of(*st);
  REQUIRE(s.outbox.size() == static_cast<std::size_t>(kAcks));
  REQUIRE(s.outbox_with("pending") == static_cast<std::size_t>(kAcks));
  return base;
}

std::map<std::string, int> accepted_by_id(const test::SmtpServer& server) {
  std::map<std::string, int> n;
  for (const auto& m : server.accepted()) ++n[m.message_id];
  return n;
}

std::size_t events_of(store::Store& st, std::int64_t ticket, const std::string& kind) {
  auto tx = st.begin(store::Store::Mode::read);
  auto evs = tx->events(ticket);
  return static_cast<std::size_t>(std::count_if(evs.begin(), evs.end(), [&](const auto& e) { return e.kind == kind; }));
}

const store::OutboxItem& row(const StoreState& s, std::int64_t id) {
  auto it = std::find_if(s.outbox.begin(), s.outbox.end(), [&](const auto& o) { return o.id == id; });
  REQUIRE(it != s.outbox.end());
  return *it;
}

}  // namespace

TEST_CASE("A store failure at any step of outbox delivery loses no mail and marks none sent that the server did not take") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  std::string base = prepare_acknowledgements(dir, c);
  const int open_steps = steps_to_open(base);
  test::SmtpServer server(dir.file("maildir"));
  const auto now = [] { return kNow + 60; };
  std::atomic<bool> stopping{false};

  // A fault between the server's 250 and the COMMIT that records it is absorbed: deliver_due
  // tries that transaction again, so such a run succeeds, without a duplicate. So the loop
  // does not stop at the first run that succeeds, only once no fault has hit for longer than
  // the recording of every mail takes (4 steps each: begin, mark_sent, add_event, commit).
  int faults = 0, absorbed = 0, duplicates = 0, last_fault = 0;
  for (int n = 1; n < kMaxSteps && n <= last_fault + 4 * kAcks + 4; ++n) {
    INFO("store fault at step " << n << " of deliver_due");
    server.clear();
    std::string db = copy_of(dir, base, "outbox-" + std::to_string(n));
    std::unique_ptr<store::Store> st;
    REQUIRE_NOTHROW(st = store::open_sqlite_store({db, 1000, open_steps + n}));
    notify::SmtpClient smtp({server.url(), "", "", 10});
    bool failed = false;
    try {
      deliver_due(*st, smtp, c, now, stopping);
    } catch (const store::StoreError& e) {
      failed = true;
      ++faults;
      last_fault = n;
      CHECK(e.transient);
    }
    auto check = store::open_sqlite_store({db});  // as in ingest_under_every_fault
    if (failed) {
      auto s = state_of(*check);
      auto took = accepted_by_id(server);
      CHECK(s.outbox.size() == static_cast<std::size_t>(kAcks));  // none lost
      CHECK(s.outbox_with("failed") == 0);
      CHECK(s.outbox_with("sent") + s.outbox_with("pending") == static_cast<std::size_t>(kAcks));
      for (const auto& o : s.outbox) {
        INFO("outbox row " << o.id << " <" << o.message_id << "> " << o.status);
        int times = took.count(o.message_id) ? took[o.message_id] : 0;
        CHECK(times <= 1);  // one run sends a mail once
        if (o.status == "sent") CHECK(times == 1);  // never sent on the store's word alone
        if (o.status == "pending") {
          // A store fault postpones nothing: the row is due as it was, and was not accepted
          // (an accepted one would have been recorded on the second try).
          CHECK(o.attempts == 0);
          CHECK(o.next_attempt_at <= now());
          CHECK(times == 0);
        }
      }
      // The daemon keeps its store and its SMTP client after a failed run, and tries again.
      deliver_due(*st, smtp, c, now, stopping);
    }
    auto s = state_of(*check);
    auto accepted = server.accepted();
    CHECK(s.outbox_with("sent") == static_cast<std::size_t>(kAcks));
    std::set<std::string> reached;
    for (const auto& m : accepted)
      for (const auto& r : m.recipients) reached.insert(r);
    CHECK(reached == std::set<std::string>(kCustomers.begin(), kCustomers.end()));
    auto took = accepted_by_id(server);
    for (const auto& o : s.outbox) CHECK(took.count(o.message_id) == 1);
    int dup = static_cast<int>(accepted.size()) - kAcks;
    CHECK(dup == 0);
    duplicates += dup;
    for (std::int64_t t = 1; t <= kAcks; ++t) CHECK(events_of(*check, t, "acknowledgement-sent") == 1);
    if (!failed) ++absorbed;  // or no fault hit at all: the last 4 * kAcks + 4 runs
  }
  absorbed -= 4 * kAcks + 4;  // the runs past every step of delivery, where no fault hit
  INFO("deliver_due failed at " << faults << " steps and absorbed a fault at " << absorbed << "; " << duplicates
                                << " duplicates");
  CHECK(faults >= 5);                // the reads before and after the sends (7 when written)
  CHECK(absorbed >= 4 * kAcks - 4);  // the recording of each mail (12 when written)
  CHECK(duplicates == 0);
}

TEST_CASE("A store failure at any step of rescheduling the outbox after a lost SMTP connection loses no mail") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  std::string base = prepare_acknowledgements(dir, c);
  const int open_steps = steps_to_open(base);
  test::SmtpServer server(dir.file("maildir"));
  const store::Time t0 = kNow + 60, later = t0 + c.smtp.retry_max_s;
  std::atomic<bool> stopping{false};

  int faults = 0;
  for (int n = 1; n < kMaxSteps; ++n) {
    INFO("SMTP connection lost at the first send, store fault at step " << n << " of deliver_due");
    server.clear();
    std::string db = copy_of(dir, base, "down-" + std::to_string(n));
    std::unique_ptr<store::Store> st;
    REQUIRE_NOTHROW(st = store::open_sqlite_store({db, 1000, open_steps + n}));
    notify::SmtpSettings settings{server.url(), "", "", 10};
    settings.fail_at_call = 1;
    settings.fail_code = 0;
    notify::SmtpClient smtp(settings);
    bool failed = false;
    try {
      deliver_due(*st, smtp, c, [t0] { return t0; }, stopping);
    } catch (const store::StoreError& e) {
      failed = true;
      ++faults;
      CHECK(e.transient);
    }
    auto check = store::open_sqlite_store({db});
    auto s = state_of(*check);
    CHECK(server.accepted().empty());
    CHECK(s.outbox_with("pending") == static_cast<std::size_t>(kAcks));
    for (const auto& o : s.outbox) {
      INFO("outbox row " << o.id << " attempts " << o.attempts << " next " << o.next_attempt_at);
      // Either rescheduled with its backoff, or left as it was (the reschedule rolled back).
      if (o.attempts == 1) CHECK(o.next_attempt_at == t0 + retry_delay(c, 1));
      else CHECK((o.attempts == 0 && o.next_attempt_at <= t0));
    }
    // The next run after the backoff finds the server back and sends each mail once. (A new
    // client: when the store fault came before the first send, the SMTP one is still armed.)
    store::Store& daemon_store = failed ? *st : *check;  // after a run that got through, st's fault is still armed
    notify::SmtpClient back({server.url(), "", "", 10});
    auto run = deliver_due(daemon_store, back, c, [later] { return later; }, stopping);
    CHECK(run.sent == kAcks);
    CHECK(state_of(*check).outbox_with("sent") == static_cast<std::size_t>(kAcks));
    auto took = accepted_by_id(server);
    CHECK(took.size() == static_cast<std::size_t>(kAcks));
    for (const auto& [id, times] : took) CHECK(times == 1);
    if (!failed) break;
  }
  INFO("deliver_due with the server down failed at " << faults << " steps");
  CHECK(faults >= 10);  // 14 when written: the due read, the failed mail's retry, the rest's, the schedule read
}

TEST_CASE("An SMTP failure on one mail of the outbox retries or fails that mail alone and sends the others once") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  std::string base = prepare_acknowledgements(dir, c);
  test::SmtpServer server(dir.file("maildir"));
  const store::Time t0 = kNow + 60;
  std::atomic<bool> stopping{false};

  std::vector<std::int64_t> due_order;
  {
    auto st = store::open_sqlite_store({base});
    auto tx = st->begin(store::Store::Mode::read);
    for (const auto& o : tx->due_outbox(t0, 100)) due_order.push_back(o.id);
  }
  REQUIRE(due_order.size() == static_cast<std::size_t>(kAcks));

  struct Variant {
    const char* name;
    long code;
  };
  for (Variant v : {Variant{"transient", 451}, Variant{"permanent", 550}, Variant{"connection", 0}}) {
    for (int n = 1; n <= kAcks; ++n) {
      INFO(v.name << " SMTP failure (" << v.code << ") at send " << n);
      server.clear();
      std::string db = copy_of(dir, base, std::string("smtp-") + v.name + "-" + std::to_string(n));
      auto st = store::open_sqlite_store({db});
      notify::SmtpSettings settings{server.url(), "", "", 10};
      settings.fail_at_call = n;
      settings.fail_code = v.code;
      notify::SmtpClient smtp(settings);
      auto run = deliver_due(*st, smtp, c, [t0] { return t0; }, stopping);

      auto s = state_of(*st);
      auto took = accepted_by_id(server);
      // A connection failure is the server's for the rest of the run: those mails wait too.
      std::size_t last_hit = v.code == 0 ? due_order.size() : static_cast<std::size_t>(n);
      std::set<std::int64_t> hit(due_order.begin() + (n - 1), due_order.begin() + static_cast<long>(last_hit));
      std::size_t sent = 0;
      for (auto id : due_order) {
        const auto& o = row(s, id);
        INFO("outbox row " << id << " " << o.status << " " << o.last_error);
        CHECK(o.attempts == 1);
        if (!hit.count(id)) {
          CHECK(o.status == "sent");
          CHECK(took[o.message_id] == 1);
          ++sent;
          continue;
        }
        CHECK(took.count(o.message_id) == 0);
        CHECK(o.last_error.find("injected fault") != std::string::npos);
        REQUIRE(o.ticket_id);
        if (v.code >= 500) {
          CHECK(o.status == "failed");
          CHECK(events_of(*st, *o.ticket_id, "delivery-failed") == 1);
          CHECK(events_of(*st, *o.ticket_id, "acknowledgement-sent") == 0);
        } else {
          CHECK(o.status == "pending");
          CHECK(o.next_attempt_at > t0);
          CHECK(o.next_attempt_at == t0 + retry_delay(c, 1));
          CHECK(events_of(*st, *o.ticket_id, "delivery-failed") == 0);
        }
      }
      CHECK(static_cast<std::size_t>(run.sent) == sent);
      CHECK(accepted_by_id(server).size() == sent);
      CHECK(server.accepted().size() == sent);  // exactly the sent ones, each once
      if (v.code >= 500) {
        CHECK(run.failed == 1);
        CHECK_FALSE(run.next_attempt_at);
      } else {
        CHECK(static_cast<std::size_t>(run.retried) == hit.size());
        CHECK(run.next_attempt_at == t0 + retry_delay(c, 1));
      }

      // Nothing is due before the retry time; at it, the waiting mails go out once each.
      auto early = deliver_due(*st, smtp, c, [t0] { return t0 + 1; }, stopping);
      CHECK(early.sent + early.retried + early.failed == 0);
      auto later = deliver_due(*st, smtp, c, [&] { return t0 + retry_delay(c, 1); }, stopping);
      auto s2 = state_of(*st);
      took = accepted_by_id(server);
      if (v.code >= 500) {
        CHECK(later.sent == 0);
        CHECK(s2.outbox_with("failed") == 1);
        CHECK(server.accepted().size() == sent);
      } else {
        CHECK(static_cast<std::size_t>(later.sent) == hit.size());
        CHECK(s2.outbox_with("sent") == static_cast<std::size_t>(kAcks));
        CHECK(server.accepted().size() == static_cast<std::size_t>(kAcks));
        for (const auto& o : s2.outbox) CHECK(took[o.message_id] == 1);
      }
    }
  }
}
