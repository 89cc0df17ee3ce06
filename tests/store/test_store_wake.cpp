// tests/store/test_store_wake.cpp: the outbox's wake-up (Store::listen_for_outbox): a commit
// that queued mail wakes the listener, nothing else does, a failure never blocks a commit, on
// either backend (tests/support/test_store.h: SQLite's socket, PostgreSQL's LISTEN/NOTIFY);
// and, tagged [sqlite], that the socket beside an SQLite store is set up and cleaned up safely.
#include <catch2/catch.hpp>

#include "store/store.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <filesystem>
#include <fstream>
#include <string>
#include "tests/support/new_ticket.h"
#include "tests/support/tempdir.h"
#include "tests/support/test_store.h"

using namespace sd::store;
namespace fs = std::filesystem;

namespace {

// Whether a wake-up arrives within `ms`; takes it.
bool woken(OutboxListener& l, int ms) {
  pollfd p{l.fd(), POLLIN, 0};
  if (::poll(&p, 1, ms) <= 0) return false;
  return l.drain();
}


std::unique_ptr<OutboxListener> listen(Store& st) {
  auto l = st.listen_for_outbox();
  INFO((l ? std::string() : l.error()));
  REQUIRE(l);
  return std::move(*l);
}

// A socket file as a daemon killed with -9 leaves it: bound once, nobody on it now.
void leave_stale_socket(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  ::close(fd);
}

}  // namespace

TEST_CASE("A commit that queued outgoing mail wakes the outbox's listener, in another process's store too") {
  sd::test::TempDir dir;
  auto daemon = sd::test::open_test_store(dir);
  auto l = listen(*daemon);
  auto other = sd::test::open_test_store(dir);  // the MTA's `servicedesk ingest`, a `ticket set`
  CHECK_FALSE(woken(*l, 0));
  {
    auto tx = other->begin(Store::Mode::write);
    tx->create_ticket(sd::test::new_ticket("VPN", "anna@kund.se", "Anna", 100));
    tx->enqueue(sd::test::queued_ack("anna@kund.se"));
    CHECK_FALSE(woken(*l, 0));  // not before the commit: the daemon would find nothing yet
    auto before = std::chrono::steady_clock::now();
    tx->commit();
    CHECK(woken(*l, 2000));
    CHECK(std::chrono::steady_clock::now() - before < std::chrono::milliseconds(500));
  }
  {
    auto tx = other->begin(Store::Mode::write);  // no mail in it
    tx->create_ticket(sd::test::new_ticket("Skrivare", "bo@kund.se", "Bo", 100));
    tx->add_event({1, 101, "system", "note", "x", true});
    tx->commit();
    CHECK_FALSE(woken(*l, 200));
  }
}

TEST_CASE("A rolled-back transaction, a failed commit and the sender's own bookkeeping wake nobody") {
  sd::test::TempDir dir;
  auto daemon = sd::test::open_test_store(dir);
  auto l = listen(*daemon);
  std::int64_t id = 0;
  {
    auto tx = daemon->begin(Store::Mode::write);
    tx->enqueue(sd::test::queued_ack("lost@kund.se"));
  }  // rolled back
  CHECK_FALSE(woken(*l, 200));
  {
    auto tx = daemon->begin(Store::Mode::write);
    id = tx->enqueue(sd::test::queued_ack("anna@kund.se"));
    tx->commit();
  }
  REQUIRE(woken(*l, 2000));
  // The daemon's outbox marking what it did must not wake itself again.
  {
    auto tx = daemon->begin(Store::Mode::write);
    tx->mark_retry(id, 200, "421 try later");
    tx->set_recipients(id, {"anna@kund.se"});
    tx->commit();
  }
  CHECK_FALSE(woken(*l, 200));
  {
    auto tx = daemon->begin(Store::Mode::write);
    tx->mark_sent(id, 300);
    tx->commit();
  }
  CHECK_FALSE(woken(*l, 200));
  // Every step of a commit with mail made to fail in turn: a failure wakes nobody, the one
  // run that gets through wakes once.
  bool through = false;
  for (int k = 1; k < 200 && !through; ++k) {
    try {
      auto st = sd::test::open_test_store(dir, {"", 1000, k});
      auto tx = st->begin(Store::Mode::write);
      tx->create_ticket(sd::test::new_ticket("VPN", "anna@kund.se", "Anna", 100));
      tx->enqueue(sd::test::queued_ack("bo@kund.se"));
      tx->commit();
      through = true;
    } catch (const StoreError& e) {
      INFO(e.what());
      REQUIRE(e.transient);
      REQUIRE_FALSE(woken(*l, sd::test::testing_postgresql() ? 20 : 0));  // a NOTIFY comes over the network
    }
  }
  REQUIRE(through);
  CHECK(woken(*l, 2000));
}

TEST_CASE("An operator's retry of a failed mail wakes the outbox, a retry that changed nothing does not") {
  sd::test::TempDir dir;
  auto daemon = sd::test::open_test_store(dir);
  std::int64_t failed = 0, sent = 0;
  {
    auto tx = daemon->begin(Store::Mode::write);
    failed = tx->enqueue(sd::test::queued_ack("anna@kund.se"));
    sent = tx->enqueue(sd::test::queued_ack("bo@kund.se"));
    tx->mark_failed(failed, "550 no such user");
    tx->mark_sent(sent, 150);
    tx->commit();
  }
  auto l = listen(*daemon);
  auto cli = sd::test::open_test_store(dir);
  {
    auto tx = cli->begin(Store::Mode::write);
    CHECK_FALSE(tx->retry_outbox(sent, 200));  // a sent mail is not sent again
    tx->commit();
  }
  CHECK_FALSE(woken(*l, 200));
  {
    auto tx = cli->begin(Store::Mode::write);
    CHECK(tx->retry_outbox(failed, 200));
    tx->commit();
  }
  CHECK(woken(*l, 2000));
}

TEST_CASE("A burst of commits with mail is one wake-up for the listener, and none blocks") {
  sd::test::TempDir dir;
  auto daemon = sd::test::open_test_store(dir);
  auto l = listen(*daemon);
  auto other = sd::test::open_test_store(dir);
  auto before = std::chrono::steady_clock::now();
  for (int i = 0; i < 300; ++i) {  // far more than a unix socket's queue holds (10 by default)
    auto tx = other->begin(Store::Mode::write);
    tx->enqueue(sd::test::queued_ack("k" + std::to_string(i) + "@kund.se"));
    tx->commit();
  }
  CHECK(std::chrono::steady_clock::now() - before < std::chrono::seconds(20));
  // The daemon looks a moment later (PostgreSQL's notifications are still on their way while
  // the last commits return): everything waiting then is one wake-up.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(woken(*l, 2000));
  CHECK_FALSE(woken(*l, 100));  // drained at once
}

TEST_CASE("Without a listener, or with a dead one's socket left behind, a commit with mail goes through at once", "[sqlite]") {
  sd::test::TempDir dir;
  auto path = dir.file("sd.db");
  auto st = open_sqlite_store({path});
  auto commit_mail = [&] {
    auto before = std::chrono::steady_clock::now();
    auto tx = st->begin(Store::Mode::write);
    tx->enqueue(sd::test::queued_ack("anna@kund.se"));
    REQUIRE_NOTHROW(tx->commit());
    return std::chrono::steady_clock::now() - before;
  };
  CHECK(commit_mail() < std::chrono::seconds(1));
  leave_stale_socket(path + ".wake");
  CHECK(commit_mail() < std::chrono::seconds(1));
  CHECK(st->begin(Store::Mode::read)->outbox("pending").size() == 2);
}

TEST_CASE("The listener replaces a dead one's socket, is mode 0660, and removes its socket when it goes", "[sqlite]") {
  sd::test::TempDir dir;
  auto path = dir.file("sd.db");
  auto sock = path + ".wake";
  auto st = open_sqlite_store({path});
  leave_stale_socket(sock);
  {
    auto l = listen(*st);
    struct stat s {};
    REQUIRE(::lstat(sock.c_str(), &s) == 0);
    CHECK(S_ISSOCK(s.st_mode));
    CHECK((s.st_mode & 0777) == 0660);
    auto tx = st->begin(Store::Mode::write);
    tx->enqueue(sd::test::queued_ack("anna@kund.se"));
    tx->commit();
    CHECK(woken(*l, 2000));
  }
  CHECK_FALSE(fs::exists(fs::symlink_status(sock)));
}

TEST_CASE("The listener leaves alone anything at its path that is not a socket, and says why", "[sqlite]") {
  sd::test::TempDir dir;
  auto path = dir.file("sd.db");
  auto sock = path + ".wake";
  auto st = open_sqlite_store({path});
  dir.write("sd.db.wake", "an operator's notes");
  auto l = st->listen_for_outbox();
  REQUIRE_FALSE(l);
  CHECK(l.error().find("not a socket") != std::string::npos);
  CHECK(std::ifstream(sock).good());
  fs::remove(sock);
  fs::create_symlink(dir.file("elsewhere"), sock);
  auto again = st->listen_for_outbox();
  REQUIRE_FALSE(again);
  CHECK(fs::is_symlink(sock));
  CHECK_FALSE(fs::exists(dir.file("elsewhere")));
}

TEST_CASE("A store path too long for a socket name gives no listener, and commits go through without wake-ups", "[sqlite]") {
  sd::test::TempDir dir;
  std::string deep = dir.file(std::string(60, 'd'));
  fs::create_directories(deep + "/" + std::string(60, 'e'));
  auto path = deep + "/" + std::string(60, 'e') + "/sd.db";
  auto st = open_sqlite_store({path});
  auto l = st->listen_for_outbox();
  REQUIRE_FALSE(l);
  CHECK(l.error().find("longer than the 107 bytes") != std::string::npos);
  auto tx = st->begin(Store::Mode::write);
  tx->enqueue(sd::test::queued_ack("anna@kund.se"));
  REQUIRE_NOTHROW(tx->commit());
}

TEST_CASE("A process that reaches the store by another name wakes the same listener", "[sqlite]") {
  sd::test::TempDir dir;
  fs::create_directories(dir.file("real"));
  fs::create_directory_symlink(dir.file("real"), dir.file("link"));
  auto daemon = open_sqlite_store({dir.file("real/sd.db")});
  auto l = listen(*daemon);
  auto cwd = fs::current_path();
  fs::current_path(dir.file("link"));
  {
    auto other = open_sqlite_store({"./sd.db"});  // relative, through the link
    auto tx = other->begin(Store::Mode::write);
    tx->enqueue(sd::test::queued_ack("anna@kund.se"));
    tx->commit();
  }
  fs::current_path(cwd);
  CHECK(woken(*l, 2000));
}
