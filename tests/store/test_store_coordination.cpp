// tests/store/test_store_coordination.cpp: what several daemons on one store rely on (store.h:
// Coordination, Outbox::claim_outbox, Store::set_fence), on either backend
// (tests/support/test_store.h): leases taken, renewed, refused and taken over with a new epoch
// on the database's clock; the fence that keeps a daemon that lost its lease from committing a
// watermark; outbox rows claimed by one daemon at a time; daemons' heartbeats with what they hold.
#include <catch2/catch.hpp>

#include "store/store.h"

#include <chrono>
#include <string>
#include <thread>

#include "tests/support/new_ticket.h"
#include "tests/support/tempdir.h"
#include "tests/support/test_store.h"

using namespace sd::store;

namespace {

const std::string kInbox = "mailbox:INBOX";

Lease take(Store& st, const std::string& holder, std::int64_t seconds, const std::string& name = kInbox) {
  auto tx = st.begin(Store::Mode::write);
  auto l = tx->take_lease(name, holder, seconds);
  tx->commit();
  return l;
}


std::vector<std::int64_t> ids(const std::vector<OutboxItem>& rows) {
  std::vector<std::int64_t> out;
  for (const auto& o : rows) out.push_back(o.id);
  return out;
}

using Ids = std::vector<std::int64_t>;

// A poll pass's commit: the mail's raw bytes and the new watermark, as desk/ingest.cpp does it.
void commit_pass(Store& st, std::int64_t uid) {
  auto tx = st.begin(Store::Mode::write);
  RawMail r{100, MailOrigin{"INBOX", 7, uid}, "m" + std::to_string(uid) + "@kund.se", "h" + std::to_string(uid),
            "Subject: x\r\n\r\nbody", "", false};
  tx->add_raw(r);
  tx->set_in_flight({"INBOX", 7, {uid}, 0, "run"});
  tx->set_mailbox({"INBOX", 7, uid, 100, uid});
  tx->commit();
}

}  // namespace

TEST_CASE("A free lease is taken with epoch 1, and renewing it keeps the epoch and moves the expiry") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  CHECK_FALSE(st->begin(Store::Mode::read)->lease(kInbox));
  auto now = st->begin(Store::Mode::read)->database_now();
  auto first = take(*st, "daemon-a", 15);
  CHECK(first.name == kInbox);
  CHECK(first.holder == "daemon-a");
  CHECK(first.epoch == 1);
  CHECK(first.expires_at >= now + 15);
  CHECK(first.expires_at <= now + 17);
  auto renewed = take(*st, "daemon-a", 600);
  CHECK(renewed.holder == "daemon-a");
  CHECK(renewed.epoch == 1);
  CHECK(renewed.expires_at >= now + 600);
  auto read = st->begin(Store::Mode::read)->lease(kInbox);
  REQUIRE(read);
  CHECK(read->epoch == 1);
  CHECK(read->expires_at == renewed.expires_at);
  // Another lease is another row with an epoch of its own.
  CHECK(take(*st, "daemon-b", 15, "mailbox:Support").epoch == 1);
  auto all = st->begin(Store::Mode::read)->leases();
  REQUIRE(all.size() == 2);
  CHECK(all[0].name == "mailbox:INBOX");  // by name
  CHECK(all[1].name == "mailbox:Support");
  CHECK(all[1].holder == "daemon-b");
}

TEST_CASE("Another daemon cannot take a lease before it expires, and takes it after with the next epoch") {
  sd::test::TempDir dir;
  auto a = sd::test::open_test_store(dir);
  auto b = sd::test::open_test_store(dir);
  take(*a, "daemon-a", 60);
  auto refused = take(*b, "daemon-b", 60);
  CHECK(refused.holder == "daemon-a");  // the lease as it stands: still a's
  CHECK(refused.epoch == 1);
  CHECK(b->begin(Store::Mode::read)->lease(kInbox)->holder == "daemon-a");

  // a's renewal falls short (a lease of 0 s has run out at once); b takes it over.
  take(*a, "daemon-a", 0);
  auto taken = take(*b, "daemon-b", 60);
  CHECK(taken.holder == "daemon-b");
  CHECK(taken.epoch == 2);
  // a comes back: b holds it now, and a renewal by a is refused.
  auto late = take(*a, "daemon-a", 60);
  CHECK(late.holder == "daemon-b");
  CHECK(late.epoch == 2);
}

TEST_CASE("A lease runs out by the database's clock") {
  sd::test::TempDir dir;
  auto a = sd::test::open_test_store(dir);
  auto b = sd::test::open_test_store(dir);
  auto held = take(*a, "daemon-a", 1);
  CHECK(take(*b, "daemon-b", 60).holder == "daemon-a");
  // Wait for the database's clock, not this host's, to pass the expiry.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (b->begin(Store::Mode::read)->database_now() < held.expires_at && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto taken = take(*b, "daemon-b", 60);
  CHECK(taken.holder == "daemon-b");
  CHECK(taken.epoch == 2);
}

TEST_CASE("A released lease is free for another at once, and only its holder releases it") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  take(*st, "daemon-a", 600);
  {
    auto tx = st->begin(Store::Mode::write);
    tx->release_lease(kInbox, "daemon-b");  // not b's: nothing happens
    tx->commit();
  }
  CHECK(take(*st, "daemon-b", 60).holder == "daemon-a");
  {
    auto tx = st->begin(Store::Mode::write);
    tx->release_lease(kInbox, "daemon-a");
    tx->commit();
  }
  auto released = st->begin(Store::Mode::read)->lease(kInbox);
  REQUIRE(released);
  CHECK(released->epoch == 1);  // releasing keeps the epoch
  auto taken = take(*st, "daemon-b", 60);
  CHECK(taken.holder == "daemon-b");
  CHECK(taken.epoch == 2);
}

TEST_CASE("A store fenced by a lease another daemon took cannot commit a watermark or mails in hand, and the new holder can") {
  sd::test::TempDir dir;
  auto a = sd::test::open_test_store(dir);
  auto b = sd::test::open_test_store(dir);
  auto mine = take(*a, "daemon-a", 60);
  a->set_fence(Store::Fence{kInbox, "daemon-a", mine.epoch, 60});
  commit_pass(*a, 1);  // the rightful holder commits

  // a freezes past its lease; b takes the mailbox over.
  take(*a, "daemon-a", 0);
  auto theirs = take(*b, "daemon-b", 60);
  REQUIRE(theirs.epoch == mine.epoch + 1);

  // a wakes and tries to commit its batch: nothing of it commits.
  {
    auto tx = a->begin(Store::Mode::write);
    RawMail r{100, MailOrigin{"INBOX", 7, 2}, "m2@kund.se", "h2", "Subject: x\r\n\r\nbody", "", false};
    tx->add_raw(r);
    CHECK_THROWS_AS(tx->set_mailbox({"INBOX", 7, 2, 100, 2}), FencedError);
  }
  {
    auto tx = a->begin(Store::Mode::write);
    try {
      tx->set_in_flight({"INBOX", 7, {2, 3}, 0, "run-a"});
      FAIL("a fenced store recorded mails in hand");
    } catch (const FencedError& e) {
      CHECK_FALSE(e.transient);
      CHECK(std::string(e.what()).find(kInbox) != std::string::npos);
    }
  }
  CHECK_THROWS_AS(commit_pass(*a, 2), FencedError);
  {
    auto tx = b->begin(Store::Mode::read);
    CHECK(tx->mailbox("INBOX")->last_uid == 1);  // the watermark unchanged
    CHECK(tx->in_flight("INBOX")->uids == std::vector<std::int64_t>{1});
    CHECK_FALSE(tx->raw_at({"INBOX", 7, 2}));
    CHECK(tx->lease(kInbox)->holder == "daemon-b");
  }
  // Work that is no watermark is not fenced: a's outbox and the portal go on.
  {
    auto tx = a->begin(Store::Mode::write);
    tx->create_ticket(sd::test::new_ticket("VPN", "anna@kund.se", "Anna", 100));
    REQUIRE_NOTHROW(tx->commit());
  }
  // The new holder, fenced by its own epoch, commits.
  b->set_fence(Store::Fence{kInbox, "daemon-b", theirs.epoch, 60});
  commit_pass(*b, 2);
  CHECK(b->begin(Store::Mode::read)->mailbox("INBOX")->last_uid == 2);
  // Without a fence (one daemon), nothing is checked.
  a->set_fence(std::nullopt);
  commit_pass(*a, 3);
  CHECK(a->begin(Store::Mode::read)->mailbox("INBOX")->last_uid == 3);
}

TEST_CASE("A fenced commit renews its lease") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto held = take(*st, "daemon-a", 5);
  st->set_fence(Store::Fence{kInbox, "daemon-a", held.epoch, 600});
  commit_pass(*st, 1);
  auto after = st->begin(Store::Mode::read)->lease(kInbox);
  REQUIRE(after);
  CHECK(after->expires_at >= held.expires_at + 590);
  CHECK(after->epoch == held.epoch);
}

TEST_CASE("Claimed outbox rows are due for no other daemon until the claim ends or runs out") {
  sd::test::TempDir dir;
  auto a = sd::test::open_test_store(dir);
  auto b = sd::test::open_test_store(dir);
  Ids all;
  {
    auto tx = a->begin(Store::Mode::write);
    for (const char* to : {"anna@kund.se", "bo@kund.se", "cecilia@kund.se", "david@kund.se"}) all.push_back(tx->enqueue(sd::test::queued_ack(to)));
    tx->commit();
  }
  Ids mine, theirs;
  {
    auto tx = a->begin(Store::Mode::write);
    mine = ids(tx->claim_outbox(1000, 2, "daemon-a", 60));
    tx->commit();
  }
  CHECK(mine == Ids{all[0], all[1]});  // oldest first
  {
    auto tx = b->begin(Store::Mode::write);
    CHECK(ids(tx->due_outbox(1000, 10)) == Ids{all[2], all[3]});
    theirs = ids(tx->claim_outbox(1000, 10, "daemon-b", 0));  // a claim that runs out at once
    tx->commit();
  }
  CHECK(theirs == Ids{all[2], all[3]});
  {
    auto tx = b->begin(Store::Mode::write);
    CHECK(ids(tx->claim_outbox(1000, 10, "daemon-b", 60)) == Ids{all[2], all[3]});  // b's own ran out: claimed afresh
    CHECK(tx->claim_outbox(1000, 10, "daemon-b", 60).empty());
    CHECK(tx->due_outbox(1000, 10).empty());
    // The next attempt is when the first claim runs out, not the rows' own due time.
    auto next = tx->next_outbox_attempt();
    REQUIRE(next);
    CHECK(*next >= tx->database_now() + 58);
    tx->commit();
  }
  {
    auto tx = a->begin(Store::Mode::write);
    tx->mark_sent(all[0], 200);           // sent: done, never due again
    tx->mark_retry(all[1], 150, "421");   // retried: the claim ends, the row is due for anyone
    tx->commit();
  }
  {
    auto tx = b->begin(Store::Mode::write);
    CHECK(ids(tx->due_outbox(1000, 10)) == Ids{all[1]});
    tx->release_outbox_claims("daemon-b");  // b stops: its unfinished rows are free again
    CHECK(ids(tx->due_outbox(1000, 10)) == Ids{all[2], all[3], all[1]});  // by due time: the retry is due later
    tx->commit();
  }
  auto tx = a->begin(Store::Mode::write);
  auto again = tx->claim_outbox(1000, 10, "daemon-a", 60);
  CHECK(ids(again) == Ids{all[2], all[3], all[1]});
  CHECK(again[2].attempts == 1);
  CHECK(again[2].recipients == std::vector<std::string>{"bo@kund.se"});
  CHECK(again[2].bytes == sd::test::queued_ack("bo@kund.se").bytes);  // a claim hands out the whole row
  tx->mark_failed(all[1], "550");
  tx->release_outbox_claims("daemon-a");
  CHECK(ids(tx->due_outbox(1000, 10)) == Ids{all[2], all[3]});
  CHECK(tx->outbox("failed").size() == 1);
  CHECK(tx->outbox("sent").size() == 1);
}

TEST_CASE("Daemons are listed by their heartbeats with the leases and outbox claims they hold, and forgotten") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto now = st->begin(Store::Mode::read)->database_now();
  Ids claimed;
  {
    auto tx = st->begin(Store::Mode::write);
    tx->heartbeat({"b-host:20:1", "b-host", 20, now - 50, 0, {}, 0});
    tx->heartbeat({"a-host:10:1", "a-host", 10, now - 100, 0, {}, 0});
    tx->heartbeat({"a-host:11:1", "a-host", 11, now - 10, 0, {}, 0});
    tx->take_lease(kInbox, "a-host:10:1", 60);
    tx->take_lease("mailbox:Support", "a-host:10:1", 60);
    tx->take_lease("mailbox:Old", "a-host:11:1", 0);  // ran out: not held
    for (const char* to : {"anna@kund.se", "bo@kund.se", "cecilia@kund.se"}) tx->enqueue(sd::test::queued_ack(to));
    claimed = ids(tx->claim_outbox(1000, 2, "b-host:20:1", 60));
    tx->commit();
  }
  auto tx = st->begin(Store::Mode::write);
  auto ds = tx->daemons(0);
  REQUIRE(ds.size() == 3);
  CHECK(ds[0].id == "a-host:10:1");  // by host and pid
  CHECK(ds[1].id == "a-host:11:1");
  CHECK(ds[2].id == "b-host:20:1");
  CHECK(ds[0].host == "a-host");
  CHECK(ds[0].pid == 10);
  CHECK(ds[0].started_at == now - 100);
  CHECK(ds[0].heartbeat_at >= now);
  CHECK(ds[0].heartbeat_at <= now + 2);  // the database's clock, not the caller's started_at
  CHECK(ds[0].leases == std::vector<std::string>{"mailbox:INBOX", "mailbox:Support"});
  CHECK(ds[0].outbox_claims == 0);
  CHECK(ds[1].leases.empty());
  CHECK(ds[2].leases.empty());
  CHECK(ds[2].outbox_claims == 2);
  // A claim that ended (sent) no longer counts.
  REQUIRE(claimed.size() == 2);
  tx->mark_sent(claimed[1], 200);
  CHECK(tx->daemons(0)[2].outbox_claims == 1);

  CHECK(tx->daemons(now + 100).empty());  // none heard from since
  tx->forget_daemon("a-host:11:1");
  CHECK(tx->daemons(0).size() == 2);
  CHECK(tx->forget_daemons_before(now + 100) == 2);
  CHECK(tx->daemons(0).empty());
  tx->commit();
}

TEST_CASE("A heartbeat refreshes a daemon's record") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto now = st->begin(Store::Mode::read)->database_now();
  for (int i = 0; i < 2; ++i) {
    auto tx = st->begin(Store::Mode::write);
    tx->heartbeat({"a-host:10:1", i == 0 ? "a-host" : "a-host.example.com", 10, now - 100 + i, 0, {}, 0});
    tx->commit();
  }
  auto ds = st->begin(Store::Mode::read)->daemons(now - 1);
  REQUIRE(ds.size() == 1);
  CHECK(ds[0].host == "a-host.example.com");
  CHECK(ds[0].heartbeat_at >= now);
}
