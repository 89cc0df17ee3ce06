// tests/store/test_store_copy_pg.cpp: store copy (store/copy.h) between SQLite and a real
// PostgreSQL 15 (tests/support/pg_cluster.h: one throwaway cluster for this binary, a new
// database per test): SQLite -> PostgreSQL -> SQLite reads back the same at each step with
// the same content hashes, ticket numbers continue (past a number PostgreSQL gave in a
// rolled-back transaction too), search works on PostgreSQL, text PostgreSQL cannot hold is
// counted, refusals and failures write nothing, and the command line prints the copy.
// One CTest runs the whole binary (label postgresql), so the cluster starts once.
#include <catch2/catch.hpp>

#include "store/copy.h"
#include "store/store.h"
#include "tests/cli/cli_run.h"
#include "tests/store/copy_fixture.h"
#include "tests/store/sqlite_shell.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/tempdir.h"

#include <cstdlib>
#include <filesystem>
#include <string>

using namespace sd::store;
using sd::test::sqlite_output;

namespace {

std::string sqlite_url(const std::string& path) { return "sqlite://" + path; }

std::string new_database() { return sd::test::shared_pg_cluster().create_database(); }

std::unique_ptr<Store> open_url(const std::string& url) { return open_store(url); }

// A desk in an SQLite file whose daemon stopped an hour ago (its heartbeat is old: a daemon
// that beat within the last minute keeps a PostgreSQL store from being copied).
sd::test::FilledDesk filled(const std::string& path) {
  sd::test::FilledDesk f;
  {
    auto st = open_url(sqlite_url(path));
    f = sd::test::fill_desk(*st);
  }
  sqlite_output(path,
                "INSERT INTO meta(key, value) VALUES ('legacy_tokens_until', '1790000000'); "
                "UPDATE daemons SET heartbeat_at = heartbeat_at - 3600");
  return f;
}

CopyRefused::Reason refusal_of(const std::string& from, const std::string& to, std::string* message = nullptr) {
  try {
    copy_store({from, {}}, {to, {}});
  } catch (const CopyRefused& e) {
    if (message) *message = e.what();
    return e.reason;
  }
  FAIL("the copy was not refused");
  return CopyRefused::Reason::same_store;
}

// psql on a test database (trust authentication on loopback).
void psql(const std::string& url, const std::string& sql) {
  std::string cmd = "/usr/lib/postgresql/15/bin/psql -q -v ON_ERROR_STOP=1 -d '" + url + "' -c \"" + sql + "\" >/dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
}

// What the line of the copy's report for `table` says after the table's name.
std::string line_of(const std::string& out, const std::string& table) {
  auto at = out.find("\n  " + table + " ");
  if (at == std::string::npos) return "(no line)";
  auto end = out.find('\n', at + 1);
  auto line = out.substr(at + 3 + table.size(), end - at - 3 - table.size());
  return line.substr(line.find_first_not_of(' '));
}

bool empty(const std::string& url) {
  auto st = open_url(url);
  auto tx = st->begin(Store::Mode::read);
  return tx->tickets().empty() && tx->agents().empty() && tx->organisations().empty() && tx->daemons(0).empty();
}

}  // namespace

TEST_CASE("a desk copied SQLite -> PostgreSQL -> SQLite reads back the same at each step, with the same hashes",
          "[copy][postgresql]") {
  sd::test::TempDir dir;
  auto first = dir.file("first.db"), back = dir.file("back.db");
  auto pg = new_database();
  auto desk = filled(first);

  auto there = copy_store({sqlite_url(first), {}}, {pg, {}});
  CHECK(there.to == "postgresql store");
  auto again = copy_store({pg, {}}, {sqlite_url(back), {}});
  CHECK(again.from == "postgresql store");

  auto original = sd::test::dump(*open_url(sqlite_url(first)), desk);
  CHECK(sd::test::dump(*open_url(pg), desk) == original);
  CHECK(sd::test::dump(*open_url(sqlite_url(back)), desk) == original);
  // The hash is over values, not over a backend's way of storing them.
  REQUIRE(there.tables.size() == copied_tables().size());
  REQUIRE(again.tables.size() == there.tables.size());
  for (std::size_t i = 0; i < there.tables.size(); ++i) {
    INFO(there.tables[i].name);
    CHECK(there.tables[i].rows > 0);
    CHECK(again.tables[i].rows == there.tables[i].rows);
    CHECK(again.tables[i].sha256 == there.tables[i].sha256);
  }
  CHECK(sqlite_output(first, "SELECT hex(bytes) FROM raw_mails ORDER BY id") ==
        sqlite_output(back, "SELECT hex(bytes) FROM raw_mails ORDER BY id"));

  // On PostgreSQL: search by its GIN indexes, and the next ticket after the highest.
  CHECK(there.next_ticket == desk.highest_ticket + 1);
  auto st = open_url(pg);
  auto tx = st->begin(Store::Mode::write);
  TicketQuery body;
  body.search = "tomma sidor";
  auto found = tx->find_tickets(body);
  REQUIRE(found.size() == 1);
  CHECK(found[0].subject == "Skrivaren fungerar inte");
  TicketQuery subject;
  subject.search = "fakturan";
  REQUIRE(tx->find_tickets(subject).size() == 1);
  CHECK(tx->create_ticket(sd::test::new_ticket("Ny", "x@kund.se", "", 1'790'000'000)) == desk.highest_ticket + 1);
  // Every identity continues past the copied rows, not only the tickets'.
  Organisation third;
  third.name = "Tredje AB";
  third.domains = {"tredje.se"};
  CHECK(tx->add_organisation(third) == 3);
  OutboxItem mail;
  mail.kind = "reply";
  mail.mail_from = "servicedesk@example.com";
  mail.recipients = {"x@kund.se"};
  mail.message_id = "new@example.com";
  mail.bytes = "Subject: x\r\n\r\n.\r\n";
  CHECK(tx->enqueue(mail) == 6);
  tx->commit();
}

TEST_CASE("a ticket number PostgreSQL gave in a rolled-back transaction is not given again after a copy to SQLite",
          "[copy][postgresql]") {
  sd::test::TempDir dir;
  auto first = dir.file("first.db"), back = dir.file("back.db");
  auto pg = new_database();
  auto desk = filled(first);
  copy_store({sqlite_url(first), {}}, {pg, {}});
  {
    auto st = open_url(pg);
    auto tx = st->begin(Store::Mode::write);
    CHECK(tx->create_ticket(sd::test::new_ticket("Rolled back", "x@kund.se", "", 1'790'000'000)) ==
          desk.highest_ticket + 1);
  }  // rolled back: PostgreSQL's sequence keeps the number given
  auto report = copy_store({pg, {}}, {sqlite_url(back), {}});
  CHECK(report.next_ticket == desk.highest_ticket + 2);
  auto st = open_url(sqlite_url(back));
  auto tx = st->begin(Store::Mode::write);
  CHECK(tx->create_ticket(sd::test::new_ticket("Next", "x@kund.se", "", 1'790'000'000)) == desk.highest_ticket + 2);
}

TEST_CASE("text PostgreSQL cannot hold arrives with U+FFFD, verified and counted", "[copy][postgresql]") {
  sd::test::TempDir dir;
  auto first = dir.file("first.db");
  auto pg = new_database();
  std::int64_t ticket = 0;
  {
    auto st = open_url(sqlite_url(first));
    auto tx = st->begin(Store::Mode::write);
    ticket = tx->create_ticket(sd::test::new_ticket("Caf\xe9 menu", "anna@kund.se", "Anna", 1'780'000'000));
    MessageRecord m;
    m.ticket_id = ticket;
    m.direction = "in";
    m.message_id = "latin1@kund.se";
    m.from_addr = "anna@kund.se";
    m.body_text = std::string("nul\0here", 8);
    m.new_text = "fine";
    m.created_at = 1'780'000'000;
    tx->add_message(m);
    tx->commit();
  }
  auto report = copy_store({sqlite_url(first), {}}, {pg, {}});
  for (const auto& t : report.tables) {
    INFO(t.name);
    CHECK(t.text_replaced == (t.name == "tickets" || t.name == "messages" ? 1 : 0));
  }
  auto st = open_url(pg);
  auto tx = st->begin(Store::Mode::read);
  CHECK(tx->ticket(ticket)->subject == "Caf\xEF\xBF\xBD menu");
  CHECK(tx->messages(ticket).at(0).body_text == "nul\xEF\xBF\xBDhere");
}

TEST_CASE("store copy refuses a PostgreSQL store that holds data, or that a daemon ran on in the last minute",
          "[copy][postgresql]") {
  sd::test::TempDir dir;
  auto first = dir.file("first.db");
  filled(first);
  auto pg = new_database();
  std::string why;
  SECTION("a target with a row") {
    {
      auto st = open_url(pg);
      auto tx = st->begin(Store::Mode::write);
      tx->add_agent({"someone@example.com", "Someone"});
      tx->commit();
    }
    CHECK(refusal_of(sqlite_url(first), pg, &why) == CopyRefused::Reason::target_holds_data);
    CHECK(why.find("agents") != std::string::npos);
    CHECK(open_url(pg)->begin(Store::Mode::read)->agents().size() == 1);
  }
  SECTION("a target a daemon beats on") {
    {
      auto st = open_url(pg);
      auto tx = st->begin(Store::Mode::write);
      tx->heartbeat({"db1:77:1", "db1", 77, 1'780'000'000, 0, {}, 0});
      tx->commit();
    }
    CHECK(refusal_of(sqlite_url(first), pg, &why) == CopyRefused::Reason::daemon_running);
    CHECK(why.find("db1 pid 77") != std::string::npos);
    CHECK(why.find("target") != std::string::npos);
  }
  SECTION("a source a daemon beats on") {
    copy_store({sqlite_url(first), {}}, {pg, {}});
    {
      auto st = open_url(pg);
      auto tx = st->begin(Store::Mode::write);
      tx->heartbeat({"db2:88:1", "db2", 88, 1'780'000'000, 0, {}, 0});
      tx->commit();
    }
    auto other = dir.file("other.db");
    CHECK(refusal_of(pg, sqlite_url(other), &why) == CopyRefused::Reason::daemon_running);
    CHECK(why.find("source") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(other));
  }
  // The password a URL may hold is never repeated.
  CHECK(why.find("postgresql://") == std::string::npos);
}

TEST_CASE("store copy refuses one PostgreSQL database as source and target, however the URL is spelt",
          "[copy][postgresql]") {
  auto pg = new_database();
  CHECK(refusal_of(pg, pg) == CopyRefused::Reason::same_store);
  // postgresql://postgres@127.0.0.1:PORT/NAME, spelt another way.
  std::string other = "postgres://postgres@127.0.0.1:" + pg.substr(pg.rfind(':') + 1) + "?connect_timeout=5";
  CHECK(refusal_of(pg, other) == CopyRefused::Reason::same_store);
}

TEST_CASE("a failure in the PostgreSQL target, or in its verification, leaves it empty", "[copy][postgresql]") {
  sd::test::TempDir dir;
  auto first = dir.file("first.db");
  auto desk = filled(first);
  auto pg = new_database();
  open_url(pg);  // created and migrated
  SECTION("the Nth statement fails") {
    // Every ninth statement, for N = 1, 10, ... until the copy goes through (it ends the loop).
    for (int n = 1;; n += 9) {
      INFO("step " << n);
      CopyEnd to{pg, {}};
      to.options.fail_at_step = n;
      try {
        copy_store({sqlite_url(first), {}}, to);
        CHECK(n > 50);
        break;
      } catch (const CopyRefused& e) {
        FAIL("refused: " << e.what());
      } catch (const StoreError& e) {
        REQUIRE(e.transient);
        REQUIRE(empty(pg));
      }
    }
    // What went through on the last try is the whole desk; the next copy is into a new database.
    CHECK(sd::test::dump(*open_url(pg), desk) == sd::test::dump(*open_url(sqlite_url(first)), desk));
    pg = new_database();
  }
  SECTION("what goes in comes out otherwise") {
    psql(pg, "CREATE FUNCTION spoil() RETURNS trigger LANGUAGE plpgsql AS \\$\\$ BEGIN "
             "NEW.body_text := upper(NEW.body_text); RETURN NEW; END \\$\\$; "
             "CREATE TRIGGER spoil BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION spoil()");
    try {
      copy_store({sqlite_url(first), {}}, {pg, {}});
      FAIL("the copy was verified");
    } catch (const StoreError& e) {
      CHECK(std::string(e.what()).find("verification failed for table messages:") != std::string::npos);
    }
    CHECK(empty(pg));
    psql(pg, "DROP TRIGGER spoil ON messages");
  }
  copy_store({sqlite_url(first), {}}, {pg, {}});
  CHECK(sd::test::dump(*open_url(pg), desk) == sd::test::dump(*open_url(sqlite_url(first)), desk));
}

TEST_CASE("servicedesk store copy moves a desk to PostgreSQL and prints what it copied", "[copy][postgresql][cli]") {
  sd::test::TempDir dir;
  auto config = sd::test::write_config(dir);  // its store is dir/sd.db
  filled(dir.file("sd.db"));
  auto pg = new_database();
  auto r = sd::test::servicedesk(config, "store copy --from sqlite://" + dir.file("sd.db") + " --to '" + pg + "'");
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  CHECK(sd::test::contains(r.out, "copied sqlite store " + dir.file("sd.db") + " to postgresql store:\n"));
  CHECK(line_of(r.out, "tickets") == "4 rows");
  CHECK(line_of(r.out, "attachments") == "3 rows");
  CHECK(line_of(r.out, "sla_events") == "3 rows");
  CHECK(sd::test::contains(r.out, "verified: 29 tables, row counts and content hashes match\n"));
  CHECK(sd::test::contains(r.out, "new tickets continue at SD-5\n"));
  CHECK_FALSE(sd::test::contains(r.out, "postgresql://"));

  auto again = sd::test::servicedesk(config, "store copy --from sqlite://" + dir.file("sd.db") + " --to '" + pg + "'");
  CHECK(again.status == 65);
  CHECK(sd::test::contains(again.err, "servicedesk: store copy refused: the target (--to) holds data"));
  CHECK_FALSE(sd::test::contains(again.err, "postgresql://"));
  CHECK(again.out.empty());
}
