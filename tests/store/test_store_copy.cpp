// tests/store/test_store_copy.cpp: store copy (store/copy.h) between SQLite stores: a desk
// filled through the store's interface reads back the same from the copy, numbers and search
// carry on there, every refusal writes nothing, a verification failure and a failure at any
// statement roll the whole copy back. The PostgreSQL cases are in test_store_copy_pg.cpp.
// Each test has its own directory.
#include <catch2/catch.hpp>

#include "store/copy.h"
#include "store/store.h"
#include "tests/store/copy_fixture.h"
#include "tests/store/sqlite_shell.h"
#include "tests/support/tempdir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string>

using namespace sd::store;
using sd::test::sqlite_output;

namespace {

std::string url_of(const std::string& path) { return "sqlite://" + path; }

CopyEnd at(const std::string& path) { return CopyEnd{url_of(path), {}}; }

std::unique_ptr<Store> open_path(const std::string& path) {
  StoreOptions o;
  o.path = path;
  return open_sqlite_store(o);
}

// A desk in `path`, with a meta row (which only a migration writes) too.
sd::test::FilledDesk filled(const std::string& path) {
  sd::test::FilledDesk f;
  {
    auto st = open_path(path);
    f = sd::test::fill_desk(*st);
  }
  sqlite_output(path, "INSERT INTO meta(key, value) VALUES ('legacy_tokens_until', '1790000000')");
  return f;
}

// Holds an SQLite store's lock file as a running daemon does (daemon/daemon.cpp StoreLock).
class HeldLock {
 public:
  explicit HeldLock(const std::string& store_path) {
    fd_ = ::open((store_path + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    REQUIRE(fd_ >= 0);
    REQUIRE(::flock(fd_, LOCK_EX | LOCK_NB) == 0);
    REQUIRE(::write(fd_, "4242\n", 5) == 5);
  }
  ~HeldLock() { ::close(fd_); }
  HeldLock(const HeldLock&) = delete;
  HeldLock& operator=(const HeldLock&) = delete;

 private:
  int fd_ = -1;
};

CopyRefused::Reason refusal_of(const CopyEnd& from, const CopyEnd& to, std::string* message = nullptr) {
  try {
    copy_store(from, to);
  } catch (const CopyRefused& e) {
    if (message) *message = e.what();
    return e.reason;
  }
  FAIL("the copy was not refused");
  return CopyRefused::Reason::same_store;
}

std::int64_t rows_of(const std::string& path, const std::string& table) {
  return std::stoll(sqlite_output(path, "SELECT count(*) FROM " + table));
}

// Rows in all of the desk's tables; 0 for a store whose first migration never committed.
std::int64_t rows_in_all(const std::string& path) {
  if (sqlite_output(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'daemons'") == "0\n") return 0;
  std::string sum = "SELECT 0";
  for (const auto& t : copied_tables()) sum += " + (SELECT count(*) FROM " + t + ")";
  return std::stoll(sqlite_output(path, sum));
}

}  // namespace

TEST_CASE("a desk copied into a new SQLite store reads back the same through the store's interface", "[copy]") {
  sd::test::TempDir dir;
  auto src = dir.file("old.db"), dst = dir.file("new.db");
  auto desk = filled(src);
  auto report = copy_store(at(src), at(dst));

  auto a = open_path(src), b = open_path(dst);
  auto before = sd::test::dump(*a, desk);
  CHECK(before.find("attachment") != std::string::npos);
  CHECK(sd::test::dump(*b, desk) == before);
  CHECK(report.from == "sqlite store " + src);
  CHECK(report.to == "sqlite store " + dst);
  // Every table of the schema, each with rows: the desk above fills them all.
  REQUIRE(report.tables.size() == copied_tables().size());
  for (std::size_t i = 0; i < report.tables.size(); ++i) {
    INFO(report.tables[i].name);
    CHECK(report.tables[i].name == copied_tables()[i]);
    CHECK(report.tables[i].rows > 0);
    CHECK(report.tables[i].rows == rows_of(dst, report.tables[i].name));
    CHECK(report.tables[i].sha256.size() == 64);
    CHECK(report.tables[i].text_replaced == 0);
  }
  // The bytes as stored, blob for blob.
  CHECK(sqlite_output(src, "SELECT hex(data) FROM attachments ORDER BY id") ==
        sqlite_output(dst, "SELECT hex(data) FROM attachments ORDER BY id"));
  CHECK(sqlite_output(dst, "SELECT typeof(bytes) FROM raw_mails GROUP BY 1") == "blob\n");
  std::string hex = sd::test::hex_of(sd::test::all_256_bytes());
  std::transform(hex.begin(), hex.end(), hex.begin(), [](char c) { return static_cast<char>(std::toupper(c)); });
  CHECK(sqlite_output(dst, "SELECT hex(data) FROM attachments WHERE filename = 'bytes.bin'") == hex + "\n");
}

TEST_CASE("after a copy new tickets continue at the next number and search finds the copied words", "[copy]") {
  sd::test::TempDir dir;
  auto src = dir.file("old.db"), dst = dir.file("new.db");
  auto desk = filled(src);
  auto report = copy_store(at(src), at(dst));
  CHECK(report.next_ticket == desk.highest_ticket + 1);

  auto b = open_path(dst);
  auto tx = b->begin(Store::Mode::write);
  TicketQuery body;
  body.search = "tomma sidor";  // a message's body (FTS5, filled by the triggers on insert)
  auto found = tx->find_tickets(body);
  REQUIRE(found.size() == 1);
  CHECK(found[0].subject == "Skrivaren fungerar inte");
  TicketQuery subject;
  subject.search = "fakturan";
  REQUIRE(tx->find_tickets(subject).size() == 1);
  CHECK(tx->find_tickets(subject)[0].requester == "bo@kund.se");
  CHECK(tx->create_ticket(sd::test::new_ticket("Ny", "x@kund.se", "", 1'790'000'000)) == desk.highest_ticket + 1);
  tx->commit();
  CHECK(sqlite_output(dst, "SELECT seq FROM sqlite_sequence WHERE name = 'tickets'") ==
        std::to_string(desk.highest_ticket + 1) + "\n");
}

TEST_CASE("store copy knows every table and column of the schema and refuses a store with others", "[copy]") {
  sd::test::TempDir dir;
  auto src = dir.file("old.db"), dst = dir.file("new.db");
  filled(src);
  // The desk's tables: not SQLite's own, nor FTS5's index tables.
  auto listed = sqlite_output(src,
                              "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND "
                              "name NOT LIKE 'sqlite_%' ORDER BY name");
  auto known = copied_tables();
  std::sort(known.begin(), known.end());
  std::string expected;
  for (const auto& t : known) expected += t + "\n";
  CHECK(listed == expected);

  SECTION("a table it does not know") {
    sqlite_output(src, "CREATE TABLE notes_of_mine (x TEXT)");
    std::string why;
    CHECK(refusal_of(at(src), at(dst), &why) == CopyRefused::Reason::unknown_schema);
    CHECK(why.find("notes_of_mine") != std::string::npos);
  }
  SECTION("a column it does not know") {
    sqlite_output(src, "ALTER TABLE agents ADD COLUMN phone TEXT");
    std::string why;
    CHECK(refusal_of(at(src), at(dst), &why) == CopyRefused::Reason::unknown_schema);
    CHECK(why.find("agents") != std::string::npos);
  }
  CHECK(rows_in_all(dst) == 0);
}

TEST_CASE("store copy refuses a target that holds data and changes neither store", "[copy]") {
  sd::test::TempDir dir;
  auto src = dir.file("old.db"), dst = dir.file("new.db");
  auto desk = filled(src);
  {
    auto t = open_path(dst);
    auto tx = t->begin(Store::Mode::write);
    tx->add_agent({"someone@example.com", "Someone"});
    tx->commit();
  }
  auto source_before = [&] { return sd::test::dump(*open_path(src), desk); }();
  std::string why;
  CHECK(refusal_of(at(src), at(dst), &why) == CopyRefused::Reason::target_holds_data);
  CHECK(why.find("agents") != std::string::npos);
  CHECK(rows_in_all(dst) == 1);
  CHECK(sd::test::dump(*open_path(src), desk) == source_before);
}

TEST_CASE("store copy refuses the same store as source and target, however it is spelt", "[copy]") {
  sd::test::TempDir dir;
  auto src = dir.file("old.db");
  filled(src);
  std::string why;
  CHECK(refusal_of(at(src), at(src), &why) == CopyRefused::Reason::same_store);
  CHECK(why.find(src) != std::string::npos);
  auto other_spelling = std::filesystem::path(src).parent_path().string() + "/./old.db";
  CHECK(refusal_of(at(src), at(other_spelling)) == CopyRefused::Reason::same_store);
}

TEST_CASE("store copy refuses a source that does not exist, and creates nothing", "[copy]") {
  sd::test::TempDir dir;
  auto src = dir.file("missing.db"), dst = dir.file("new.db");
  CHECK(refusal_of(at(src), at(dst)) == CopyRefused::Reason::no_source);
  CHECK_FALSE(std::filesystem::exists(src));
  CHECK_FALSE(std::filesystem::exists(dst));
}

TEST_CASE("store copy refuses a store whose daemon holds its lock, before the target is created", "[copy]") {
  sd::test::TempDir dir;
  auto src = dir.file("old.db"), dst = dir.file("new.db");
  filled(src);
  std::string why;
  SECTION("on the source") {
    HeldLock daemon(src);
    CHECK(refusal_of(at(src), at(dst), &why) == CopyRefused::Reason::daemon_running);
    CHECK(why.find("pid 4242") != std::string::npos);
    CHECK(why.find("source") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dst));
  }
  SECTION("on the target") {
    HeldLock daemon(dst);
    CHECK(refusal_of(at(src), at(dst), &why) == CopyRefused::Reason::daemon_running);
    CHECK(why.find("target") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dst));
  }
  // Once the daemon is gone the same copy goes through, and lets go of both locks.
  auto report = copy_store(at(src), at(dst));
  CHECK(report.tables.size() == copied_tables().size());
  HeldLock daemon_again(src);
  HeldLock daemon_on_new(dst);
}

TEST_CASE("a verification failure rolls the copy back and names the table", "[copy]") {
  sd::test::TempDir dir;
  auto src = dir.file("old.db"), dst = dir.file("new.db");
  filled(src);
  open_path(dst);  // an empty store, with a trigger that changes what it is given
  std::string table;
  SECTION("a value changed on the way in") {
    table = "agents";
    sqlite_output(dst, "CREATE TRIGGER spoil AFTER INSERT ON agents BEGIN "
                       "UPDATE agents SET name = upper(new.name) WHERE email = new.email; END");
  }
  SECTION("a row lost on the way in") {
    table = "ticket_cc";
    sqlite_output(dst, "CREATE TRIGGER spoil AFTER INSERT ON ticket_cc WHEN new.removed = 1 BEGIN "
                       "DELETE FROM ticket_cc WHERE id = new.id; END");
  }
  try {
    copy_store(at(src), at(dst));
    FAIL("the copy was verified");
  } catch (const CopyRefused&) {
    FAIL("refused instead of verified");
  } catch (const StoreError& e) {
    std::string why = e.what();
    CHECK(why.find("verification failed for table " + table + ":") != std::string::npos);
    CHECK(why.find("rolled back") != std::string::npos);
  }
  CHECK(rows_in_all(dst) == 0);
  sqlite_output(dst, "DROP TRIGGER spoil");
  CHECK(copy_store(at(src), at(dst)).tables.size() == copied_tables().size());
}

TEST_CASE("a failure at any statement of the copy leaves the target empty", "[copy]") {
  // The Nth statement of the source or of the target fails, for N = 1, 2, ... until the
  // copy goes through: each failed copy must have left the target empty, or the next one
  // would be refused (a target that holds data) instead of failing or succeeding.
  sd::test::TempDir dir;
  auto src = dir.file("old.db"), dst = dir.file("new.db");
  auto desk = filled(src);
  for (bool on_target : {true, false}) {
    INFO((on_target ? "target" : "source"));
    // Migrated already: a fault while a new store switches to WAL is retried by the store itself.
    open_path(dst);
    int n = 1;
    for (;; ++n) {
      CopyEnd from = at(src), to = at(dst);
      (on_target ? to : from).options.fail_at_step = n;
      try {
        copy_store(from, to);
        break;
      } catch (const CopyRefused& e) {
        FAIL("step " << n << ": refused: " << e.what());
      } catch (const StoreError& e) {
        REQUIRE(e.transient);  // the injected fault, nothing else
      }
    }
    WARN((on_target ? "target" : "source") << ": the copy took " << n - 1 << " statements");
    CHECK(n > 100);  // every table read, written and read back
    CHECK(sd::test::dump(*open_path(dst), desk) == sd::test::dump(*open_path(src), desk));
    std::filesystem::remove(dst);
  }
}
