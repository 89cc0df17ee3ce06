// tests/daemon/test_daemon_cluster.cpp: several daemons on one store (daemon/cluster.h,
// daemon/outbox.h): outbox rows claimed so that each mail goes out once, a dead daemon's
// claims taken over when they expire, the mailbox's lease handed over with a new epoch, and
// the fence that keeps a holder who lost the lease from committing.
//
// Real components only: the SQLite store (each "daemon" has its own connection, as separate
// processes would), aiosmtpd for SMTP, the scripted IMAP server for a poll pass. The
// PostgreSQL variants of the store's side are tests/store's. Claims and leases run on the
// database's clock, which for SQLite is this host's: the tests that wait for an expiry wait
// about two real seconds.
#include <catch2/catch.hpp>

#include "daemon/cluster.h"
#include "daemon/outbox.h"
#include "daemon/poller.h"
#include "imap/imap_session.h"
#include "notify/compose.h"
#include "store/store.h"
#include "tests/support/desk_config.h"
#include "tests/support/imap_server.h"
#include "tests/support/new_ticket.h"
#include "tests/support/smtp_server.h"
#include "tests/support/tempdir.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <thread>

using namespace sd;
using namespace std::chrono_literals;

namespace {

constexpr store::Time kT0 = 1795330800;  // 2026-11-22T05:00:00Z

// A desk's store with one ticket and a real SMTP server; mails queued for it.
struct Desk2 {
  test::TempDir dir;
  Config c = test::desk_config(dir);
  test::SmtpServer server{dir.file("maildir")};
  std::unique_ptr<store::Store> st = store::open_sqlite_store({c.store.path});
  std::int64_t ticket = 0;

  Desk2() {
    auto tx = st->begin(store::Store::Mode::write);
    ticket = tx->create_ticket(test::new_ticket("Skrivaren", "anna@kund.se", "Anna Andersson", kT0));
    tx->commit();
  }

  // `n` mails, each to its own customer; their Message-IDs in order.
  std::vector<std::string> queue(int n) {
    std::vector<std::string> ids;
    auto tx = st->begin(store::Store::Mode::write);
    for (int i = 0; i < n; ++i) {
      notify::Draft d;
      d.from = {c.service.name, c.service.address};
      d.to = {{"", fmt::format("kund{}@kund.se", i)}};
      d.subject = fmt::format("[SD-1] Re: Skrivaren ({})", i);
      d.body_text = "Hej,\n\nHär är guiden.\n";
      d.date = kT0;
      d.message_id_domain = "example.com";
      auto composed = notify::compose(d);
      store::OutboxItem o;
      o.ticket_id = ticket;
      o.kind = "reply";
      o.mail_from = c.service.address;
      o.recipients = {fmt::format("kund{}@kund.se", i)};
      o.message_id = composed.message_id;
      o.bytes = composed.bytes;
      o.next_attempt_at = kT0;
      o.created_at = kT0;
      tx->enqueue(o);
      ids.push_back(composed.message_id);
    }
    tx->commit();
    return ids;
  }

  // How often the server took each Message-ID.
  std::map<std::string, int> accepted() const {
    std::map<std::string, int> n;
    for (const auto& m : server.accepted()) ++n[m.message_id];
    return n;
  }

  std::size_t with_status(const std::string& status) const {
    return st->begin(store::Store::Mode::read)->outbox(status).size();
  }
};

std::string bare(std::string id) {
  if (id.size() >= 2 && id.front() == '<' && id.back() == '>') id = id.substr(1, id.size() - 2);
  return id;
}

// Each of `ids` taken exactly once, and nothing else.
void check_sent_once(const Desk2& d, const std::vector<std::string>& ids) {
  auto took = d.accepted();
  CHECK(took.size() == ids.size());
  for (const auto& id : ids) {
    INFO("Message-ID " << id);
    auto it = took.find(bare(id));
    REQUIRE(it != took.end());
    CHECK(it->second == 1);
  }
}

std::string mail(const std::string& from, const std::string& subject, const std::string& msgid) {
  return "From: " + from + "\r\nTo: servicedesk@example.com\r\nSubject: " + subject + "\r\nMessage-ID: <" + msgid +
         ">\r\nDate: Sun, 22 Nov 2026 07:00:00 +0100\r\n\r\nHello, it is broken.\r\n";
}

}  // namespace

TEST_CASE("Two outbox deliverers on one store, each claiming as it goes, send every mail exactly once") {
  Desk2 d;
  const auto ids = d.queue(40);
  auto st_a = store::open_sqlite_store({d.c.store.path});
  auto st_b = store::open_sqlite_store({d.c.store.path});
  std::atomic<bool> stopping{false}, go{false};
  OutboxRun run_a, run_b;
  std::string error_a, error_b;
  auto deliverer = [&](store::Store& st, const std::string& claimer, OutboxRun& run, std::string& error) {
    return std::thread([&, claimer] {
      notify::SmtpClient smtp({d.server.url(), "", "", 10});
      while (!go) std::this_thread::yield();
      try {
        run = deliver_due(st, smtp, d.c, [] { return kT0; }, stopping, claimer);
      } catch (const std::exception& e) {
        error = e.what();
      }
    });
  };
  auto a = deliverer(*st_a, "host-a:101:1", run_a, error_a);
  auto b = deliverer(*st_b, "host-b:202:1", run_b, error_b);
  go = true;
  a.join();
  b.join();
  CHECK(error_a.empty());
  CHECK(error_b.empty());
  INFO("deliverer a sent " << run_a.sent << ", b sent " << run_b.sent);
  CHECK(run_a.sent + run_b.sent == 40);
  CHECK(run_a.sent > 0);  // both took part: 40 sends take far longer than a claim
  CHECK(run_b.sent > 0);
  check_sent_once(d, ids);
  CHECK(d.with_status("sent") == 40);
  CHECK(d.with_status("pending") == 0);
  // Every claim ended with its row: neither deliverer holds anything now.
  auto tx = d.st->begin(store::Store::Mode::write);
  tx->heartbeat({"host-a:101:1", "host-a", 101, kT0, 0, {}, 0});
  tx->heartbeat({"host-b:202:1", "host-b", 202, kT0, 0, {}, 0});
  auto daemons = tx->daemons(0);
  REQUIRE(daemons.size() == 2);
  for (const auto& dr : daemons) CHECK(dr.outbox_claims == 0);
}

TEST_CASE("Mail claimed by a daemon that died before sending is sent by another once the claim expires, with the "
          "same Message-ID, and not before") {
  Desk2 d;
  const auto ids = d.queue(3);
  {
    // The dead daemon: claimed the rows for 1 s and was never heard of again.
    auto tx = d.st->begin(store::Store::Mode::write);
    tx->heartbeat({"host-dead:1:1", "host-dead", 1, kT0, 0, {}, 0});
    REQUIRE(tx->claim_outbox(kT0, 10, "host-dead:1:1", 1).size() == 3);
    tx->commit();
  }
  std::atomic<bool> stopping{false};
  notify::SmtpClient smtp({d.server.url(), "", "", 10});
  auto other = store::open_sqlite_store({d.c.store.path});
  auto early = deliver_due(*other, smtp, d.c, [] { return kT0; }, stopping, "host-alive:2:1");
  CHECK(early.sent == 0);
  CHECK(d.server.accepted().empty());
  // The run says when to look again: when the claim runs out, not never.
  REQUIRE(early.next_attempt_at.has_value());
  CHECK(*early.next_attempt_at <= other->begin(store::Store::Mode::read)->database_now() + 1);
  {
    auto tx = d.st->begin(store::Store::Mode::read);
    auto daemons = tx->daemons(0);
    REQUIRE(daemons.size() == 1);
    CHECK(daemons[0].outbox_claims == 3);  // status shows them held by the dead one meanwhile
  }
  std::this_thread::sleep_for(2100ms);
  auto later = deliver_due(*other, smtp, d.c, [] { return kT0; }, stopping, "host-alive:2:1");
  CHECK(later.sent == 3);
  check_sent_once(d, ids);
  CHECK(d.with_status("sent") == 3);
}

TEST_CASE("On a store of one daemon, a new daemon releases the claims of the daemons recorded before it at once") {
  Desk2 d;
  const auto ids = d.queue(2);
  {
    auto tx = d.st->begin(store::Store::Mode::write);
    tx->heartbeat({"host:1:1", "host", 1, kT0, 0, {}, 0});
    REQUIRE(tx->claim_outbox(kT0, 10, "host:1:1", 3600).size() == 2);  // killed with an hour's claim
    tx->commit();
  }
  DaemonIdentity me{"host:2:2", "host", 2, kT0};
  heartbeat(*d.st, me);
  CHECK(forget_dead_daemons(*d.st, me) == 1);
  {
    auto tx = d.st->begin(store::Store::Mode::read);
    auto daemons = tx->daemons(0);
    REQUIRE(daemons.size() == 1);
    CHECK(daemons[0].id == "host:2:2");
  }
  std::atomic<bool> stopping{false};
  notify::SmtpClient smtp({d.server.url(), "", "", 10});
  CHECK(deliver_due(*d.st, smtp, d.c, [] { return kT0; }, stopping, me.id).sent == 2);
  check_sent_once(d, ids);
}

TEST_CASE("A deliverer told to stop gives back the rows it claimed and did not send, for another to send at once") {
  Desk2 d;
  const auto ids = d.queue(12);
  std::atomic<bool> stopping{false};
  notify::SmtpClient smtp({d.server.url(), "", "", 10});
  // SIGTERM comes while the first mail of the first batch is being recorded.
  int calls = 0;
  auto now = [&] {
    if (++calls == 3) stopping = true;
    return kT0;
  };
  auto run = deliver_due(*d.st, smtp, d.c, now, stopping, "host-a:1:1");
  CHECK(run.sent >= 1);
  CHECK(run.sent < kOutboxBatch);
  {
    auto tx = d.st->begin(store::Store::Mode::write);
    tx->heartbeat({"host-a:1:1", "host-a", 1, kT0, 0, {}, 0});
    CHECK(tx->daemons(0).at(0).outbox_claims == 0);
  }
  stopping = false;
  auto other = store::open_sqlite_store({d.c.store.path});
  CHECK(deliver_due(*other, smtp, d.c, [] { return kT0; }, stopping, "host-b:2:1").sent == 12 - run.sent);
  check_sent_once(d, ids);
}

TEST_CASE("One daemon holds the mailbox lease, another stands by, and takes it with a new epoch once it has run out, "
          "told when the previous holder's lease expired") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  auto st_a = store::open_sqlite_store({c.store.path});
  auto st_b = store::open_sqlite_store({c.store.path});
  const std::string lease = mailbox_lease_name("INBOX");
  CHECK(lease == "mailbox:INBOX");

  auto a = take_mailbox_lease(*st_a, lease, "host-a:1:1", 1);
  CHECK(a.held);
  CHECK(a.taken);
  CHECK_FALSE(a.before.has_value());
  CHECK(a.lease.epoch == 1);

  auto b = take_mailbox_lease(*st_b, lease, "host-b:2:1", 1);
  CHECK_FALSE(b.held);
  CHECK(b.lease.holder == "host-a:1:1");
  CHECK(daemon_words(b.lease.holder) == "host-a pid 1");
  // A standby's renewal never takes it, not even once it has run out.
  std::this_thread::sleep_for(2100ms);
  CHECK_FALSE(renew_mailbox_lease(*st_b, lease, "host-b:2:1", 1).held);
  CHECK(st_b->begin(store::Store::Mode::read)->lease(lease)->holder == "host-a:1:1");

  // Run out and nobody took it: the holder's renewal keeps it, at the same epoch.
  auto renewed = renew_mailbox_lease(*st_a, lease, "host-a:1:1", 1);
  CHECK(renewed.held);
  CHECK(renewed.lease.epoch == 1);

  std::this_thread::sleep_for(2100ms);
  auto taken = take_mailbox_lease(*st_b, lease, "host-b:2:1", 15);
  CHECK(taken.held);
  CHECK(taken.taken);
  CHECK(taken.lease.epoch == 2);
  REQUIRE(taken.before.has_value());
  CHECK(taken.before->holder == "host-a:1:1");
  CHECK(taken.before->expires_at <= taken.now);  // the handover took now - expires_at
  CHECK(taken.now - taken.before->expires_at < 5);

  // The old holder finds it gone; taking it again is refused while it is live.
  CHECK_FALSE(renew_mailbox_lease(*st_a, lease, "host-a:1:1", 15).held);
  CHECK(take_mailbox_lease(*st_a, lease, "host-a:1:1", 15).lease.holder == "host-b:2:1");
  // A clean stop gives it back at once: the next taker need not wait for the expiry.
  leave_store(*st_b, {"host-b:2:1", "host-b", 2, kT0}, lease);
  auto back = take_mailbox_lease(*st_a, lease, "host-a:1:1", 15);
  CHECK(back.held);
  CHECK(back.lease.epoch == 3);
}

TEST_CASE("A store whose mailbox lease another daemon took over cannot commit a watermark: FencedError, and nothing "
          "of the transaction is committed") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  auto st_a = store::open_sqlite_store({c.store.path});
  auto st_b = store::open_sqlite_store({c.store.path});
  const std::string lease = mailbox_lease_name("INBOX");
  auto a = take_mailbox_lease(*st_a, lease, "host-a:1:1", 1);
  REQUIRE(a.held);
  st_a->set_fence(store::Store::Fence{lease, "host-a:1:1", a.lease.epoch, 1});
  {
    // While it holds the lease, the fenced store commits, and the check renews the lease.
    auto tx = st_a->begin(store::Store::Mode::write);
    tx->set_mailbox({"INBOX", 7, 10, kT0, 10});
    tx->commit();
  }
  std::this_thread::sleep_for(2100ms);  // a freeze past the lease
  auto b = take_mailbox_lease(*st_b, lease, "host-b:2:1", 15);
  REQUIRE(b.held);
  CHECK(b.lease.epoch == a.lease.epoch + 1);

  {
    auto tx = st_a->begin(store::Store::Mode::write);
    tx->create_ticket(test::new_ticket("Written before the watermark", "anna@kund.se", "Anna", kT0));
    CHECK_THROWS_AS(tx->set_mailbox({"INBOX", 7, 20, kT0 + 60, 20}), store::FencedError);
    // The caller cannot get past it: the transaction is abandoned (rolled back).
  }
  {
    auto tx = st_a->begin(store::Store::Mode::write);
    CHECK_THROWS_AS(tx->set_in_flight({"INBOX", 7, {11, 12}, 0, "a"}), store::FencedError);
  }
  auto tx = st_b->begin(store::Store::Mode::read);
  auto box = tx->mailbox("INBOX");
  REQUIRE(box.has_value());
  CHECK(box->last_uid == 10);
  CHECK(box->done_uid == 10);
  CHECK(tx->tickets().empty());
  CHECK_FALSE(tx->in_flight("INBOX").has_value());
  CHECK(tx->lease(lease)->holder == "host-b:2:1");  // the failed check did not renew the old holder's
}

TEST_CASE("A poll pass by a daemon whose lease was taken over stores none of its mails and flags none, the new "
          "holder's pass stores each once") {
  test::ScriptedImapServer server({{1, mail("anna@kund.example", "Printer broken", "c1@kund.example")},
                                   {2, mail("bo@kund.example", "VPN down", "c2@kund.example")}});
  test::TempDir dir;
  auto c = test::desk_config(dir);
  c.imap.url = server.url();
  c.imap.username = "servicedesk";
  c.imap.timeout_s = 10;
  auto st_a = store::open_sqlite_store({c.store.path});
  auto st_b = store::open_sqlite_store({c.store.path});
  ImapSettings settings{c.imap.url, c.imap.username, "secret", c.imap.timeout_s};
  std::atomic<bool> stopping{false};
  const std::string lease = mailbox_lease_name("INBOX");

  auto a = take_mailbox_lease(*st_a, lease, "host-a:1:1", 1);
  REQUIRE(a.held);
  st_a->set_fence(store::Store::Fence{lease, "host-a:1:1", a.lease.epoch, 1});
  std::this_thread::sleep_for(2100ms);  // frozen past the lease...
  auto b = take_mailbox_lease(*st_b, lease, "host-b:2:1", 15);
  REQUIRE(b.held);
  st_b->set_fence(store::Store::Fence{lease, "host-b:2:1", b.lease.epoch, 15});
  {
    // ... and awake: its pass cannot commit a thing.
    ImapSession box(settings, imap_limits(c));
    CHECK_THROWS_AS(poll_mailbox(box, *st_a, c, [] { return kT0; }, stopping), store::FencedError);
  }
  CHECK(st_b->begin(store::Store::Mode::read)->tickets().empty());
  CHECK(server.flags(1).empty());
  CHECK(server.flags(2).empty());

  ImapSession box(settings, imap_limits(c));
  auto r = poll_mailbox(box, *st_b, c, [] { return kT0; }, stopping);
  CHECK(r.created == 2);
  auto tx = st_b->begin(store::Store::Mode::read);
  CHECK(tx->tickets().size() == 2);
  CHECK(tx->mailbox("INBOX")->last_uid == 2);
  CHECK(server.flags(1) == std::set<std::string>{"\\Seen"});
  CHECK(server.flags(2) == std::set<std::string>{"\\Seen"});
}

TEST_CASE("A daemon's id names its host, process and start, the lease's rhythm follows imap.lease_s") {
  const auto& me = this_daemon();
  CHECK(me.pid == ::getpid());
  CHECK(me.id == fmt::format("{}:{}:{}", me.host, me.pid, me.started_at));
  CHECK(&this_daemon() == &me);
  CHECK(daemon_words(me.id) == fmt::format("{} pid {}", me.host, me.pid));
  CHECK(daemon_words("not-an-id") == "not-an-id");

  auto t = lease_timing(15);
  CHECK(t.renew == 5000ms);
  CHECK(t.standby == 3750ms);
  CHECK(t.heartbeat == 5000ms);
  auto quick = lease_timing(2);
  CHECK(quick.renew == 666ms);
  CHECK(quick.standby == 1000ms);  // at least a second
  CHECK(quick.heartbeat == 1000ms);
  auto slow = lease_timing(600);
  CHECK(slow.renew == 200s);
  CHECK(slow.heartbeat == 5s);  // at most five seconds
}
