// tests/daemon/test_daemon_imap_session.cpp: a hostile IMAP server against our IMAP reader
// and the poller (issue 11, finding 7), and the poller's crash breaker (finding 2).
//
// The server is tests/support/imap_server.h, scripted to do what Dovecot cannot be made to do:
// huge literals, millions of `{0}` literals, sizes that lie. Each test asserts what an operator
// would check: a clear error naming the cap, memory bounded (the process's peak RSS, VmHWM,
// reset before the attack), the big mail a quarantined ticket while it stays unflagged on the
// server, the mail behind it stored. The crash breaker runs each pass in a forked child that
// really dies (SIGKILL from the [test] fault crash_on_subject), on a real SQLite store.
//
// Security notes: test code; the server listens on loopback only.
#include <catch2/catch.hpp>

#include "daemon/poller.h"
#include "desk/ingest.h"
#include "imap/imap_session.h"
#include "tests/support/desk_config.h"
#include "tests/support/imap_server.h"
#include "tests/support/tempdir.h"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

using namespace sd;
using Catch::Matchers::Contains;

namespace {

constexpr store::Time kNow = 1795330800;  // 2026-11-22T05:00:00Z
constexpr std::size_t kMiB = std::size_t(1) << 20;

std::string mail(const std::string& from, const std::string& subject, const std::string& msgid,
                 const std::string& body = "Hello, it is broken.\r\n") {
  return "From: " + from + "\r\nTo: servicedesk@example.com\r\nSubject: " + subject + "\r\nMessage-ID: <" + msgid +
         ">\r\nDate: Sun, 22 Nov 2026 07:00:00 +0100\r\n\r\n" + body;
}

// The process's memory in KiB from /proc/self/status ("VmHWM": the peak, "VmRSS": now).
long status_kib(const std::string& key) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
  throw std::runtime_error("no " + key + " in /proc/self/status");
}

// Peak RSS from here on: the kernel resets VmHWM to the current RSS on "5" to clear_refs.
struct PeakMemory {
  PeakMemory() {
    std::ofstream("/proc/self/clear_refs") << "5";
    start_kib = status_kib("VmRSS");
  }
  std::size_t growth_mib() const { return static_cast<std::size_t>(std::max(0L, status_kib("VmHWM") - start_kib)) / 1024; }
  long start_kib;
};

// A desk whose mails may be at most 1 MiB, in batches of 1 MiB: one answer may carry 3 MiB.
struct TestDesk {
  explicit TestDesk(const test::ScriptedImapServer& server) : c(test::desk_config(dir)) {
    c.imap.url = server.url();
    c.imap.username = "servicedesk";
    c.limits.max_message_bytes = kMiB;
    c.imap.batch_max_bytes = kMiB;
    c.imap.timeout_s = 10;
    st = store::open_sqlite_store({c.store.path});
  }
  ImapSettings settings() const { return {c.imap.url, c.imap.username, "secret", c.imap.timeout_s}; }
  PollResult poll(Mailbox& box) {
    std::atomic<bool> stopping{false};
    return poll_mailbox(box, *st, c, [] { return kNow; }, stopping);
  }
  store::MailboxState inbox() { return st->begin(store::Store::Mode::read)->mailbox("INBOX").value(); }
  std::vector<store::Ticket> tickets() { return st->begin(store::Store::Mode::read)->tickets(); }
  std::vector<store::QuarantinedMail> quarantined() { return st->begin(store::Store::Mode::read)->quarantined_mails(); }
  bool has_ticket(const std::string& subject) {
    auto all = tickets();
    return std::any_of(all.begin(), all.end(), [&](const auto& t) { return t.subject == subject; });
  }

  test::TempDir dir;
  Config c;
  std::unique_ptr<store::Store> st;
};

// Three mails: a normal one, one in the middle (`big`), a normal one behind it.
std::vector<test::ScriptedMail> three_mails(std::string big, std::int64_t big_listed_size = -1) {
  return {{1, mail("anna@kund.example", "Printer broken", "m1@kund.example")},
          {2, std::move(big), big_listed_size},
          {3, mail("bo@kund.example", "VPN down", "m3@kund.example")}};
}

std::string big_mail() {
  return mail("carl@kund.example", "Logs attached", "m2@kund.example", std::string(2 * kMiB, 'x') + "\r\n");
}

// What a user checks after a pass over three_mails(): the mails around the big one are
// tickets and flagged \Seen; the big one is a quarantined ticket saying it was too large, and
// on the server it carries no flag; the watermark and done_uid are past all three.
void check_big_mail_quarantined(TestDesk& desk, const test::ScriptedImapServer& server) {
  CHECK(desk.has_ticket("Printer broken"));
  CHECK(desk.has_ticket("VPN down"));
  CHECK(desk.has_ticket("Logs attached"));  // from its header
  auto q = desk.quarantined();
  REQUIRE(q.size() == 1);
  CHECK(q[0].quarantined);
  CHECK_THAT(q[0].problems, Contains("too large to fetch"));
  CHECK(q[0].ticket_id.has_value());
  auto full = desk.st->begin(store::Store::Mode::read)->quarantined_mail(q[0].raw_id);
  CHECK_THAT(full->bytes, Contains("Subject: Logs attached"));
  CHECK(full->bytes.size() < 4096);  // the header only
  CHECK(server.flags(1) == std::set<std::string>{"\\Seen"});
  CHECK(server.flags(2).empty());
  CHECK(server.flags(3) == std::set<std::string>{"\\Seen"});
  CHECK(desk.inbox().last_uid == 3);
  CHECK(desk.inbox().done_uid == 3);
}

}  // namespace

TEST_CASE("A mail listed above limits.max_message_bytes is not fetched whole: its header becomes a quarantined ticket, "
          "it stays unflagged on the server, and the mail behind it is stored") {
  test::ScriptedImapServer server(three_mails(big_mail()));
  TestDesk desk(server);
  {
    ImapSession session(desk.settings(), imap_limits(desk.c));
    desk.poll(session);
  }
  check_big_mail_quarantined(desk, server);
  CHECK(server.count_commands("UID FETCH 1,3 (UID BODY.PEEK[])") == 1);
  CHECK(server.count_commands("UID FETCH 2 (UID BODY.PEEK[HEADER])") == 1);
  CHECK(server.count_commands("BODY[]") == 0);  // never a fetch that sets \Seen

  // The next pass leaves it alone: no fetch, no flag, no second ticket.
  {
    ImapSession session(desk.settings(), imap_limits(desk.c));
    CHECK(desk.poll(session).fetched == 0);
  }
  CHECK(desk.tickets().size() == 3);
  CHECK(server.flags(2).empty());
  CHECK(server.count_commands("UID FETCH 2 ") == 1);
}

TEST_CASE("The per-UID client quarantines a mail listed above limits.max_message_bytes by its header and leaves it "
          "unflagged on the server") {
  test::ScriptedImapServer server(three_mails(big_mail()));
  TestDesk desk(server);
  desk.c.imap.fetch = "per_uid";
  {
    ImapClient client(desk.settings(), imap_limits(desk.c));
    desk.poll(client);
  }
  check_big_mail_quarantined(desk, server);
  CHECK(server.count_commands("UID FETCH 2 BODY[]") == 0);  // libcurl's fetch would set \Seen
  CHECK(server.count_commands("UID FETCH 2 (UID BODY.PEEK[HEADER])") == 1);
}

TEST_CASE("A server that sends three literals of 100 MB in its answer for a mail listed as small cannot make us "
          "hold them: the mail becomes a quarantined ticket by its header and memory stays bounded") {
  const std::size_t kLiteral = 100 * kMiB;
  test::ScriptedImapServer* self = nullptr;
  test::ScriptedImapServer server(
      three_mails(mail("carl@kund.example", "Logs attached", "m2@kund.example"), 2000),
      [&self, kLiteral](test::ScriptedImapServer::Conn& conn, const std::string& tag, const std::string& cmd) {
        if (cmd.find("BODY.PEEK[]") == std::string::npos) return false;
        const auto& mails = self->mails();
        std::string size = std::to_string(kLiteral);
        bool ok = conn.send(test::ScriptedImapServer::fetch_response(1, 1, "BODY[]", mails[0].bytes)) &&
                  conn.send("* 2 FETCH (UID 2 BODY[] {" + size + "}\r\n") && conn.send_filler(kLiteral) &&
                  conn.send(" BODY[TEXT] {" + size + "}\r\n") && conn.send_filler(kLiteral) &&
                  conn.send(" BODY[1] {" + size + "}\r\n") && conn.send_filler(kLiteral) && conn.send(")\r\n") &&
                  conn.send(test::ScriptedImapServer::fetch_response(3, 3, "BODY[]", mails[2].bytes)) &&
                  conn.send(tag + " OK fetched\r\n");
        (void)ok;
        return true;
      });
  self = &server;
  TestDesk desk(server);
  PeakMemory peak;
  {
    ImapSession session(desk.settings(), imap_limits(desk.c));
    desk.poll(session);
  }
  CHECK(peak.growth_mib() < 48);  // the old reader held all 300 MB
  check_big_mail_quarantined(desk, server);
}

TEST_CASE("A server that sends 20 million {0} literals in one response gets a protocol error naming the cap, and "
          "memory stays bounded") {
  test::ScriptedImapServer server({{1, mail("anna@kund.example", "Printer broken", "m1@kund.example")}},
                                  [](test::ScriptedImapServer::Conn& conn, const std::string& tag, const std::string& cmd) {
                                    if (cmd.find("RFC822.SIZE") == std::string::npos) return false;
                                    bool ok = conn.send("* 1 FETCH (UID 1 RFC822.SIZE 10 X-JUNK {0}\r\n") &&
                                              conn.send_repeated(" {0}\r\n", 20'000'000) &&
                                              conn.send(")\r\n" + tag + " OK fetched\r\n");
                                    (void)ok;
                                    return true;
                                  });
  TestDesk desk(server);
  PeakMemory peak;
  ImapSession session(desk.settings(), imap_limits(desk.c));
  try {
    session.list_from(1);
    FAIL("the listing was accepted");
  } catch (const ImapError& e) {
    CHECK(e.kind == ImapError::Kind::protocol);
    CHECK_THAT(e.what(), Contains("more than 8 literals, the cap for one response"));
  }
  CHECK(peak.growth_mib() < 32);
}

TEST_CASE("A server that answers a mail fetch with 20 million responses of one {0} literal each gets a protocol "
          "error naming the cap on one answer, and memory stays bounded") {
  test::ScriptedImapServer server({{1, mail("anna@kund.example", "Printer broken", "m1@kund.example")}},
                                  [](test::ScriptedImapServer::Conn& conn, const std::string& tag, const std::string& cmd) {
                                    if (cmd.find("BODY.PEEK[]") == std::string::npos) return false;
                                    bool ok = conn.send_repeated("* 1 FETCH (UID 1 BODY[] {0}\r\n)\r\n", 20'000'000) &&
                                              conn.send(tag + " OK fetched\r\n");
                                    (void)ok;
                                    return true;
                                  });
  TestDesk desk(server);
  PeakMemory peak;
  ImapSession session(desk.settings(), imap_limits(desk.c));
  session.status();
  std::size_t taken = 0;
  try {
    session.fetch(7, {1}, [&](std::int64_t, std::string&&) { ++taken; }, [](std::int64_t, std::int64_t) {});
    FAIL("the answer was accepted");
  } catch (const ImapError& e) {
    CHECK(e.kind == ImapError::Kind::protocol);
    CHECK_THAT(e.what(), Contains(fmt::format("larger than {} bytes, the cap for one answer", 3 * kMiB)));
  }
  CHECK(taken == 1);  // a mail sent again is not taken again
  CHECK(peak.growth_mib() < 32);
}

TEST_CASE("A server that announces a literal above the cap outside a mail fetch gets a protocol error naming it "
          "before any of it is held") {
  test::ScriptedImapServer server({}, [](test::ScriptedImapServer::Conn& conn, const std::string& tag, const std::string& cmd) {
    if (cmd.rfind("SELECT ", 0) != 0) return false;
    bool ok = conn.send("* OK [UIDVALIDITY 7] {524288000}\r\n") && conn.send_filler(524'288'000) &&
              conn.send("\r\n" + tag + " OK selected\r\n");
    (void)ok;
    return true;
  });
  TestDesk desk(server);
  PeakMemory peak;
  ImapSession session(desk.settings(), imap_limits(desk.c));
  try {
    session.status();
    FAIL("the literal was accepted");
  } catch (const ImapError& e) {
    CHECK(e.kind == ImapError::Kind::protocol);
    CHECK_THAT(e.what(), Contains("a literal of 524288000 bytes, above the cap of 1048576 (limits.max_message_bytes)"));
  }
  CHECK(peak.growth_mib() < 32);
}

TEST_CASE("A server that announces a literal above 4 GiB in a mail fetch gets a protocol error: no mail is that large") {
  test::ScriptedImapServer server({{1, mail("anna@kund.example", "Printer broken", "m1@kund.example")}},
                                  [](test::ScriptedImapServer::Conn& conn, const std::string&, const std::string& cmd) {
                                    if (cmd.find("BODY.PEEK[]") == std::string::npos) return false;
                                    (void)(conn.send("* 1 FETCH (UID 1 BODY[] {5000000000}\r\n") && conn.send_filler(kMiB));
                                    return true;
                                  });
  TestDesk desk(server);
  ImapSession session(desk.settings(), imap_limits(desk.c));
  session.status();
  REQUIRE_THROWS_WITH(session.fetch(7, {1}, [](std::int64_t, std::string&&) {}, [](std::int64_t, std::int64_t) {}),
                      Contains("a literal of 5000000000 bytes") && Contains("no mail is that large"));
}

TEST_CASE("The limits on one IMAP answer follow the config: a literal up to limits.max_message_bytes, an answer up to "
          "a batch, one mail and 1 MiB") {
  Config c = builtin_config();
  c.limits.max_message_bytes = 10 * kMiB;
  c.imap.batch_max_bytes = 4 * kMiB;
  auto l = imap_limits(c);
  CHECK(l.max_literal == 10 * kMiB);
  CHECK(l.max_answer_bytes == 15 * kMiB);
  CHECK(l.max_literals_per_response == 8);
}

TEST_CASE("The mails a poll pass has in hand are recorded in the store with the process that recorded them") {
  test::TempDir dir;
  auto st = store::open_sqlite_store({dir.file("sd.db")});
  CHECK_FALSE(st->begin(store::Store::Mode::read)->in_flight("INBOX").has_value());
  {
    auto tx = st->begin(store::Store::Mode::write);
    tx->set_in_flight({"INBOX", 7, {3, 4, 9}, 2, "123-456"});
    tx->commit();
  }
  auto f = st->begin(store::Store::Mode::read)->in_flight("INBOX");
  REQUIRE(f.has_value());
  CHECK(f->uidvalidity == 7);
  CHECK(f->uids == std::vector<std::int64_t>{3, 4, 9});
  CHECK(f->deaths == 2);
  CHECK(f->run == "123-456");
  {
    auto tx = st->begin(store::Store::Mode::write);
    tx->set_in_flight({"INBOX", 7, {}, 0, "789-1"});
    tx->commit();
  }
  CHECK(st->begin(store::Store::Mode::read)->in_flight("INBOX")->uids.empty());
}

namespace {

// One poll pass in a child process, as the daemon's would be after a restart: 0 when it
// ended normally, else the signal that killed it (negated) or its exit code.
int pass_in_child(const TestDesk& desk) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int code = 0;
    try {
      auto st = store::open_sqlite_store({desk.c.store.path});
      ImapSession session(desk.settings(), imap_limits(desk.c));
      std::atomic<bool> stopping{false};
      poll_mailbox(session, *st, desk.c, [] { return kNow; }, stopping);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child pass failed: %s\n", e.what());
      code = 3;
    }
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("A mail that kills the daemon while it is handled is stored raw and quarantined once the daemon has died "
          "with it twice in its batch and once alone, and the mails around it are stored") {
  test::ScriptedImapServer server(three_mails(mail("dora@kund.example", "POISON please", "m2@kund.example")));
  TestDesk desk(server);
  desk.c.test.fault = "crash_on_subject:POISON";

  // Twice with the whole batch in hand: nothing is stored.
  CHECK(pass_in_child(desk) == -SIGKILL);
  CHECK(desk.tickets().empty());
  CHECK(pass_in_child(desk) == -SIGKILL);
  CHECK(desk.tickets().empty());
  // Then one by one: the mail before it is stored, and it kills the process alone.
  CHECK(pass_in_child(desk) == -SIGKILL);
  CHECK(desk.has_ticket("Printer broken"));
  CHECK(desk.tickets().size() == 1);
  // It is not parsed again: stored raw, quarantined, passed; the mail behind it is stored.
  CHECK(pass_in_child(desk) == 0);
  CHECK(desk.has_ticket("VPN down"));
  CHECK(desk.tickets().size() == 2);
  auto q = desk.quarantined();
  REQUIRE(q.size() == 1);
  CHECK(q[0].quarantined);
  CHECK_FALSE(q[0].ticket_id.has_value());
  CHECK_THAT(q[0].problems, Contains("the daemon died 3 times while handling this mail"));
  auto full = desk.st->begin(store::Store::Mode::read)->quarantined_mail(q[0].raw_id);
  CHECK_THAT(full->bytes, Contains("Subject: POISON please"));
  CHECK(desk.inbox().last_uid == 3);
  CHECK(desk.inbox().done_uid == 3);
  CHECK(server.flags(3) == std::set<std::string>{"\\Seen"});

  // A later pass has nothing to do and dies no more.
  CHECK(pass_in_child(desk) == 0);
  CHECK(desk.quarantined().size() == 1);
}

TEST_CASE("A mail that kills the daemon while the per-UID client has it alone is quarantined after two deaths") {
  test::ScriptedImapServer server(three_mails(mail("dora@kund.example", "POISON please", "m2@kund.example")));
  TestDesk desk(server);
  desk.c.test.fault = "crash_on_subject:POISON";
  desk.c.imap.batch_max_mails = 1;  // as the per-UID client takes them
  CHECK(pass_in_child(desk) == -SIGKILL);
  CHECK(desk.tickets().size() == 1);
  CHECK(pass_in_child(desk) == -SIGKILL);
  CHECK(pass_in_child(desk) == 0);
  CHECK(desk.tickets().size() == 2);
  auto q = desk.quarantined();
  REQUIRE(q.size() == 1);
  CHECK_THAT(q[0].problems, Contains("the daemon died 2 times while handling this mail"));
}

TEST_CASE("A daemon that is stopped and started between passes counts no death: mails are never quarantined by "
          "restarts alone") {
  test::ScriptedImapServer server(three_mails(mail("dora@kund.example", "Ordinary", "m2@kund.example")));
  TestDesk desk(server);
  for (int i = 0; i < 3; ++i) CHECK(pass_in_child(desk) == 0);
  CHECK(desk.tickets().size() == 3);
  CHECK(desk.quarantined().empty());
}
