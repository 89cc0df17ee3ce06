// tests/store/test_store_postgresql.cpp: what is PostgreSQL's own in the PostgreSQL backend
// (store/pg_store.cpp), tagged [postgresql] and run only in the PostgreSQL run (each test opens a
// fresh database on the shared throwaway cluster, tests/support/pg_cluster.h): several
// connections racing for outbox rows, a lease and a fresh database's migration; text PostgreSQL
// cannot hold (not UTF-8, NUL) beside raw bytes it must keep exactly; very long Message-IDs; the
// wake-up by LISTEN/NOTIFY and connections re-established across a server restart; a frozen
// writer ended by the server; ticket numbers from a sequence; pg_dump backups; the daemon's
// full-text fold (store/pg_fold.h) against the schema's sd_fold() on the server.
#include <catch2/catch.hpp>

#include "store/pg_fold.h"
#include "store/store.h"

#include <poll.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/new_ticket.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/tempdir.h"
#include "tests/support/test_store.h"

using namespace sd::store;
using namespace std::chrono_literals;

namespace {

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

// Every byte value, in every position mod 256 over the length.
std::string all_bytes(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + i / 256) & 0xff);
  return s;
}

// Lets `n` threads go at the same moment.
class StartLine {
 public:
  explicit StartLine(int n) : n_(n) {}
  void wait() {
    ++ready_;
    while (ready_ < n_) std::this_thread::yield();
  }

 private:
  int n_;
  std::atomic<int> ready_{0};
};

// The server is started again whatever the test does, so no later test finds it stopped.
struct ServerBack {
  ~ServerBack() {
    try {
      sd::test::shared_pg_cluster().start_server();
    } catch (const std::exception& e) {
      WARN(e.what());
    }
  }
};

}  // namespace

TEST_CASE("Eight daemons claiming the outbox at once claim every row exactly once", "[postgresql]") {
  auto url = sd::test::pg_test_database();
  constexpr int kRows = 400, kDaemons = 8;
  {
    auto st = open_store(url);
    auto tx = st->begin(Store::Mode::write);
    for (int i = 0; i < kRows; ++i) tx->enqueue(sd::test::queued_ack("k" + std::to_string(i) + "@kund.se"));
    tx->commit();
  }
  std::mutex m;
  std::map<std::int64_t, int> claims;  // row -> how many times it was claimed
  std::vector<std::string> errors;
  StartLine start(kDaemons);
  std::vector<std::thread> daemons;
  for (int d = 0; d < kDaemons; ++d)
    daemons.emplace_back([&, d] {
      try {
        auto st = open_store(url);  // a connection of its own, as a daemon has
        start.wait();
        for (;;) {
          auto tx = st->begin(Store::Mode::write);
          auto rows = tx->claim_outbox(1000, 7, "daemon-" + std::to_string(d), 600);
          tx->commit();
          if (rows.empty()) break;
          std::lock_guard lock(m);
          for (const auto& r : rows) ++claims[r.id];
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(m);
        errors.push_back(e.what());
      }
    });
  for (auto& t : daemons) t.join();
  CHECK(errors.empty());
  for (const auto& e : errors) INFO(e);
  CHECK(claims.size() == kRows);
  CHECK(std::all_of(claims.begin(), claims.end(), [](const auto& c) { return c.second == 1; }));
  auto st = open_store(url);
  auto tx = st->begin(Store::Mode::read);
  CHECK(tx->due_outbox(1000, kRows).empty());
}

TEST_CASE("Two daemons racing for a free or expired lease: exactly one holds it, and the epoch grows by one", "[postgresql]") {
  auto url = sd::test::pg_test_database();
  auto a = open_store(url);
  auto b = open_store(url);
  for (int round = 0; round < 30; ++round) {
    const std::string name = "mailbox:round-" + std::to_string(round % 10);  // free, then expired twice
    Lease got_a, got_b;
    StartLine start(2);
    auto race = [&](Store& st, const std::string& holder, Lease& out) {
      start.wait();
      auto tx = st.begin(Store::Mode::write);
      out = tx->take_lease(name, holder, 0);  // runs out at once, so the next round races again
      tx->commit();
    };
    std::thread ta(race, std::ref(*a), "daemon-a", std::ref(got_a));
    std::thread tb(race, std::ref(*b), "daemon-b", std::ref(got_b));
    ta.join();
    tb.join();
    INFO("round " << round);
    // Each saw the lease as it stood after its own take: the second one in took it from the
    // first (the first one's had run out at once), so the epochs differ by one and the
    // holders name who came last; never two takers of the same epoch.
    CHECK(got_a.epoch != got_b.epoch);
    const Lease& last = got_a.epoch > got_b.epoch ? got_a : got_b;
    const Lease& first = got_a.epoch > got_b.epoch ? got_b : got_a;
    CHECK(last.epoch == first.epoch + 1);
    CHECK(first.holder != last.holder);
    CHECK(a->begin(Store::Mode::read)->lease(name)->epoch == last.epoch);
  }
  // With a lease that lasts, of two racing takers one holds it and the other is told so.
  for (int round = 0; round < 20; ++round) {
    const std::string name = "mailbox:long-" + std::to_string(round);
    Lease got_a, got_b;
    StartLine start(2);
    auto race = [&](Store& st, const std::string& holder, Lease& out) {
      start.wait();
      auto tx = st.begin(Store::Mode::write);
      out = tx->take_lease(name, holder, 600);
      tx->commit();
    };
    std::thread ta(race, std::ref(*a), "daemon-a", std::ref(got_a));
    std::thread tb(race, std::ref(*b), "daemon-b", std::ref(got_b));
    ta.join();
    tb.join();
    INFO("round " << round);
    CHECK(got_a.holder == got_b.holder);
    CHECK(got_a.epoch == 1);
    CHECK(got_b.epoch == 1);
  }
}

TEST_CASE("Several processes opening a fresh database at once migrate it once and all get in", "[postgresql]") {
  for (int round = 0; round < 3; ++round) {
    auto url = sd::test::pg_test_database();
    constexpr int kOpeners = 6;
    StartLine start(kOpeners);
    std::atomic<int> failed{0};
    std::vector<std::thread> openers;
    std::mutex m;
    std::vector<std::string> errors;
    for (int i = 0; i < kOpeners; ++i)
      openers.emplace_back([&] {
        start.wait();
        try {
          auto st = open_store(url);
          st->begin(Store::Mode::read)->tickets();
        } catch (const StoreError& e) {
          ++failed;
          std::lock_guard lock(m);
          errors.push_back(e.what());
        }
      });
    for (auto& t : openers) t.join();
    for (const auto& e : errors) INFO(e);
    REQUIRE(failed == 0);
    auto out = sd::test::command_output("/usr/lib/postgresql/15/bin/psql -X -q -At -d " + sd::test::shell_quoted(url) +
                                        " -c 'SELECT count(*), max(version) FROM schema_version'");
    CHECK(out == "1|13\n");
  }
}

TEST_CASE("Text that is not UTF-8 or holds NUL is stored with U+FFFD and fails nothing, and raw bytes come back exactly", "[postgresql]") {
  auto url = sd::test::pg_test_database();
  auto st = open_store(url);
  const std::string latin1_subject = "Fel i \xE5tg\xE4rden";         // ISO 8859-1, as a broken mail says it
  const std::string with_nul = std::string("Rad ett\0rad tv\xC3\xA5", 16);  // NUL inside valid UTF-8
  const std::string truncated = "Hej\xC3";                             // a sequence cut short
  const std::string raw = all_bytes(256 * 256);
  std::int64_t ticket = 0, raw_id = 0;
  {
    auto tx = st->begin(Store::Mode::write);
    auto t = sd::test::new_ticket(latin1_subject, "anna@kund.se", truncated, 100);
    ticket = tx->create_ticket(t);
    raw_id = tx->add_raw(RawMail{100, MailOrigin{"INBOX", 1, 1}, "bad\xFF@kund.se", "h1", raw, with_nul, false});
    MessageRecord m;
    m.ticket_id = ticket;
    m.direction = "in";
    m.raw_id = raw_id;
    m.message_id = "bad\xFF@kund.se";
    m.from_addr = "anna@kund.se";
    m.from_name = truncated;
    m.subject = latin1_subject;
    m.body_text = with_nul + " \xFF\xFE";
    m.new_text = with_nul;
    m.created_at = 100;
    AttachmentRecord a;
    a.filename = "r\xE4kning.bin";
    a.content_type = "application/octet-stream";
    a.data = raw;
    a.size = static_cast<std::int64_t>(raw.size());
    m.attachments = {a};
    tx->add_message(m);
    tx->add_event({ticket, 101, "system", "note", with_nul, true});
    REQUIRE_NOTHROW(tx->commit());
  }
  auto tx = st->begin(Store::Mode::read);
  auto t = tx->ticket(ticket);
  REQUIRE(t);
  CHECK(t->subject == "Fel i \xEF\xBF\xBDtg\xEF\xBF\xBD" "rden");
  CHECK(t->requester_name == "Hej\xEF\xBF\xBD");
  auto msgs = tx->messages(ticket);
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0].body_text == "Rad ett\xEF\xBF\xBDrad tv\xC3\xA5 \xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(msgs[0].new_text == "Rad ett\xEF\xBF\xBDrad tv\xC3\xA5");
  CHECK(msgs[0].attachments.at(0).filename == "r\xEF\xBF\xBDkning.bin");
  CHECK(tx->events(ticket).at(0).detail == "Rad ett\xEF\xBF\xBDrad tv\xC3\xA5");
  // bytea keeps every byte value exactly: the raw mail and the attachment.
  auto q = tx->quarantined_mail(raw_id);
  REQUIRE(q);
  CHECK(q->bytes.size() == raw.size());
  CHECK(q->bytes == raw);
  CHECK(q->problems == "Rad ett\xEF\xBF\xBDrad tv\xC3\xA5");
  CHECK(tx->attachment(ticket, 1)->data == raw);
  // The Message-ID is looked up as it was stored, so de-duplication still finds the mail.
  CHECK(tx->raw_with("bad\xFF@kund.se", "h1"));
  CHECK(tx->has_raw_with_message_id("bad\xFF@kund.se"));
  CHECK(tx->ticket_by_message_ids({"bad\xFF@kund.se"}) == ticket);
  // A search of such text is no error either.
  TicketQuery search;
  search.search = "\xE5tg\xE4rden \xFF";
  CHECK_NOTHROW(tx->find_tickets(search));
}

TEST_CASE("A Message-ID of 100 kB is stored and found again for de-duplication", "[postgresql]") {
  auto url = sd::test::pg_test_database();
  auto st = open_store(url);
  std::string id(100'000, 'x');
  for (std::size_t i = 0; i < id.size(); i += 97) id[i] = static_cast<char>('a' + i % 26);
  id = "<" + id + "@kund.se>";
  std::string other = id;
  other[other.size() - 10] = '!';  // the same but for one character near the end
  std::int64_t ticket = 0;
  {
    auto tx = st->begin(Store::Mode::write);
    ticket = tx->create_ticket(sd::test::new_ticket("Lång", "anna@kund.se", "Anna", 100));
    auto raw_id = tx->add_raw(RawMail{100, MailOrigin{"INBOX", 1, 1}, id, "h1", "Subject: x\r\n\r\nbody", "", false});
    MessageRecord m;
    m.ticket_id = ticket;
    m.direction = "in";
    m.raw_id = raw_id;
    m.message_id = id;
    m.created_at = 100;
    tx->add_message(m);
    REQUIRE_NOTHROW(tx->commit());
  }
  {
    auto tx = st->begin(Store::Mode::write);
    auto hit = tx->raw_with(id, "h1");
    REQUIRE(hit);
    CHECK(hit->ticket_id == ticket);
    CHECK(tx->has_raw_with_message_id(id));
    CHECK_FALSE(tx->has_raw_with_message_id(other));
    CHECK_FALSE(tx->raw_with(other, "h1"));
    CHECK(tx->ticket_by_message_ids({other, id}) == ticket);
    CHECK_FALSE(tx->ticket_by_message_ids({other}));
    // The same mail again (another UID) is refused by the store itself; one that differs is not.
    CHECK_THROWS_AS(tx->add_raw(RawMail{100, MailOrigin{"INBOX", 1, 2}, id, "h1", "x", "", false}), StoreError);
  }
  auto tx = st->begin(Store::Mode::write);
  CHECK_NOTHROW(tx->add_raw(RawMail{100, MailOrigin{"INBOX", 1, 3}, other, "h1", "x", "", false}));
  CHECK_NOTHROW(tx->commit());
}

TEST_CASE("The outbox's listener wakes after a commit with mail, not after a rollback, and again after a server restart", "[postgresql]") {
  ServerBack back;
  auto& cluster = sd::test::shared_pg_cluster();
  auto url = sd::test::pg_test_database();
  auto daemon = open_store(url);
  auto l = listen(*daemon);
  auto cli = open_store(url);
  auto queue = [&](const std::string& to, bool commit) {
    auto tx = cli->begin(Store::Mode::write);
    tx->enqueue(sd::test::queued_ack(to));
    if (commit) tx->commit();
  };
  queue("anna@kund.se", true);
  CHECK(woken(*l, 2000));
  queue("lost@kund.se", false);
  CHECK_FALSE(woken(*l, 300));

  cluster.stop_server();
  CHECK_FALSE(woken(*l, 300));  // an outage is no wake-up storm
  cluster.start_server();
  // The listener connects again by itself (every 2 s) and wakes once, for mail queued while it
  // was away.
  CHECK(woken(*l, 6000));
  CHECK_FALSE(woken(*l, 300));
  // The CLI's connection broke too: its next transaction connects again, and its mail wakes.
  queue("bo@kund.se", true);
  CHECK(woken(*l, 2000));
  CHECK(daemon->begin(Store::Mode::read)->outbox("pending").size() == 2);
}

TEST_CASE("A transaction while the server is down is a transient error, and the same Store works again once it is back", "[postgresql]") {
  ServerBack back;
  auto& cluster = sd::test::shared_pg_cluster();
  auto url = sd::test::pg_test_database();
  auto st = open_store(url, {"", 1000});
  auto idle = open_store(url);  // sleeps through the outage: its first transaction after it must work
  std::int64_t id = 0;
  {
    auto tx = st->begin(Store::Mode::write);
    id = tx->create_ticket(sd::test::new_ticket("Before", "anna@kund.se", "Anna", 100));
    tx->commit();
  }
  CHECK(st->begin(Store::Mode::read)->ticket(id));  // its statements are prepared now
  auto in_hand = st->begin(Store::Mode::write);     // a transaction open when the server goes
  in_hand->create_ticket(sd::test::new_ticket("Lost", "anna@kund.se", "Anna", 100));
  cluster.stop_server();
  auto transient = [](auto&& f) {
    try {
      f();
      FAIL("the store answered with its server down");
    } catch (const StoreError& e) {
      INFO(e.what());
      CHECK(e.transient);
      CHECK_FALSE(e.refused);
    }
  };
  transient([&] { in_hand->commit(); });
  in_hand.reset();
  transient([&] { st->begin(Store::Mode::write); });
  transient([&] { st->begin(Store::Mode::read)->tickets(); });
  transient([&] { open_store(url); });
  cluster.start_server();
  REQUIRE_NOTHROW(idle->begin(Store::Mode::read)->ticket(id));
  {
    auto tx = st->begin(Store::Mode::write);
    REQUIRE(tx->ticket(id));
    tx->create_ticket(sd::test::new_ticket("After", "anna@kund.se", "Anna", 200));
    REQUIRE_NOTHROW(tx->commit());
  }
  auto all = st->begin(Store::Mode::read)->tickets();
  REQUIRE(all.size() == 2);
  CHECK(all[0].subject == "After");
  CHECK(all[1].subject == "Before");
}

TEST_CASE("A writer frozen inside its transaction is ended by the server, and the other writers go on", "[postgresql]") {
  auto url = sd::test::pg_test_database();
  auto frozen = open_store(url, {"", 5000, 0, "", "", 300});
  auto other = open_store(url, {"", 5000});
  auto tx = frozen->begin(Store::Mode::write);  // holds the write lock
  tx->create_ticket(sd::test::new_ticket("Frozen", "anna@kund.se", "Anna", 100));
  std::this_thread::sleep_for(1s);  // SIGSTOP, a hung host
  auto before = std::chrono::steady_clock::now();
  {
    auto w = other->begin(Store::Mode::write);
    w->create_ticket(sd::test::new_ticket("Goes on", "bo@kund.se", "Bo", 100));
    w->commit();
  }
  CHECK(std::chrono::steady_clock::now() - before < 1s);  // the lock was free, no wait for it
  try {
    tx->commit();
    FAIL("the frozen writer committed");
  } catch (const StoreError& e) {
    CHECK(e.transient);
  }
  tx.reset();
  auto again = frozen->begin(Store::Mode::read);
  auto all = again->tickets();
  REQUIRE(all.size() == 1);
  CHECK(all[0].subject == "Goes on");
}

// Documented in store/pg_store.cpp: an identity sequence does not roll back. SQLite's
// AUTOINCREMENT does (its counter is a row in the transaction), so there the numbers have no
// gaps after a rollback.
TEST_CASE("Ticket numbers come from a sequence: a rolled-back ticket leaves a gap, a number is never given twice", "[postgresql]") {
  auto url = sd::test::pg_test_database();
  auto st = open_store(url);
  std::int64_t first = 0, lost = 0, next = 0;
  {
    auto tx = st->begin(Store::Mode::write);
    first = tx->create_ticket(sd::test::new_ticket("one", "a@kund.se", "", 1));
    tx->commit();
  }
  {
    auto tx = st->begin(Store::Mode::write);
    lost = tx->create_ticket(sd::test::new_ticket("rolled back", "a@kund.se", "", 2));
  }
  {
    auto tx = st->begin(Store::Mode::write);
    next = tx->create_ticket(sd::test::new_ticket("two", "a@kund.se", "", 3));
    tx->commit();
  }
  CHECK(first == 1);
  CHECK(lost == 2);
  CHECK(next == 3);  // 2 is gone for good
  auto tx = st->begin(Store::Mode::read);
  CHECK_FALSE(tx->ticket(2));
  CHECK(tx->tickets().size() == 2);
}

TEST_CASE("A backup of a PostgreSQL store is pg_dump's archive in a new private file, and an existing name is refused", "[postgresql]") {
  sd::test::TempDir dir;
  auto url = sd::test::pg_test_database();
  auto st = open_store(url);
  {
    auto tx = st->begin(Store::Mode::write);
    tx->create_ticket(sd::test::new_ticket("Backed up", "anna@kund.se", "Anna", 100));
    tx->commit();
  }
  auto path = dir.file("sd.dump");
  st->backup(path);
  struct stat s {};
  REQUIRE(::stat(path.c_str(), &s) == 0);
  CHECK((s.st_mode & 0777) == 0600);
  std::string head(5, '\0');
  std::ifstream(path, std::ios::binary).read(head.data(), 5);
  CHECK(head == "PGDMP");
  try {
    st->backup(path);
    FAIL("an existing file was overwritten");
  } catch (const StoreError& e) {
    CHECK(e.refused);
  }
}

namespace {

std::string hex(std::string_view s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// Texts of random code points from the blocks where folds could differ: Latin with its marks,
// Greek, Cyrillic, Arabic with its vowel marks, Devanagari, Hangul (NFD makes jamo of it),
// CJK, fullwidth forms, the combining blocks sd_fold drops and those it keeps, punctuation,
// digits of other scripts, emoji, private use; and ASCII between them.
std::vector<std::string> random_texts(int n) {
  static constexpr std::pair<char32_t, char32_t> kBlocks[] = {
      {0x20, 0x7E},     {0xA0, 0x24F},    {0x250, 0x2FF},   {0x300, 0x36F},   {0x370, 0x3FF},   {0x400, 0x52F},
      {0x590, 0x6FF},   {0x900, 0x97F},   {0xE00, 0xE7F},   {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF}, {0x1E00, 0x1FFF},
      {0x2000, 0x206F}, {0x20A0, 0x20FF}, {0x2100, 0x218F}, {0x2460, 0x24FF}, {0x3040, 0x30FF}, {0x4E00, 0x4E80},
      {0xAC00, 0xAD00}, {0xFB00, 0xFB4F}, {0xFE20, 0xFE2F}, {0xFF00, 0xFFEF}, {0x1D400, 0x1D7FF}, {0x1F300, 0x1F6FF},
      {0xE000, 0xE010}, {0x10400, 0x1044F}};
  std::mt19937 rnd(15);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string t;
    int len = 1 + static_cast<int>(rnd() % 40);
    for (int k = 0; k < len; ++k) {
      auto [from, to] = kBlocks[rnd() % std::size(kBlocks)];
      char32_t c = from + rnd() % (to - from + 1);
      if (c >= 0xD800 && c <= 0xDFFF) c = 'x';
      append_utf8(t, c);
      if (rnd() % 3 == 0) t += "abc Malmo 1.2.3 anna@kund.se"[rnd() % 28];
    }
    out.push_back(std::move(t));
  }
  return out;
}

// Texts of every kind for the fold and the words made of it.
std::vector<std::string> fold_texts() {
  std::vector<std::string> texts = {
      "",
      "   ",
      "Hello, World!",
      "anna@kund.se faktura.pdf 1.2.3 https://example.com/a?b=c&d=e",
      "Malmö Århus ÆBLE øl Łódź Straße İstanbul ǅ ﬁle",
      "Ἀθῆναι ΣΊΣΥΦΟΣ σίσυφος",
      "Москва ЁЖИК й",
      "한국어 텍스트",
      "中文 日本語のテキスト カタカナ",
      "عَرَبِيّ", "हिन्दी",
      "e\xCC\x81t\xC3\xA9 a\xCC\x8A",  // é as e + U+0301, and a + ring
      "\xE2\x80\x8D\xE2\x80\x8B zero\xE2\x80\x8Bwidth",
      "x\xEF\xBF\xBDy",  // U+FFFD
      "ＡＢＣ１２３ ²³ ½ Ⅻ ⓐ",
      "𝐀𝐁𝐂 😀👍🏽 🇸🇪",
      "\t\r\n--==**  trailing   ",
  };
  // left(text, 100000): a long body is folded from its first 100,000 characters.
  std::string long_text;
  for (int i = 0; i < 12000; ++i) long_text += "Ärende ";
  texts.push_back(long_text);
  for (auto& t : random_texts(2000)) texts.push_back(std::move(t));
  return texts;
}

// psql's output lines.
std::vector<std::string> output_lines(std::string_view rest) {
  std::vector<std::string> out;
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    out.emplace_back(rest.substr(0, nl));
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
  }
  return out;
}

}  // namespace

TEST_CASE("The daemon's full-text fold is the server's sd_fold() on every kind of text", "[postgresql]") {
  auto url = sd::test::pg_test_database();
  open_store(url);  // the schema, with sd_fold()
  auto texts = fold_texts();
  sd::test::TempDir dir;
  {
    std::ofstream in(dir.file("texts"));
    for (const auto& t : texts) in << hex(t) << "\n";
  }
  {
    std::ofstream sql(dir.file("fold.sql"));
    sql << "CREATE TEMP TABLE texts (id serial, h text);\n"
        << "\\copy texts (h) FROM '" << dir.file("texts") << "'\n"
        << "SELECT encode(convert_to(sd_fold(left(convert_from(decode(h, 'hex'), 'UTF8'), 100000)), 'UTF8'), 'hex') "
           "FROM texts ORDER BY id;\n";
  }
  auto out = sd::test::command_output("/usr/lib/postgresql/15/bin/psql -X -q -At -v ON_ERROR_STOP=1 -d " +
                                      sd::test::shell_quoted(url) + " -f " + sd::test::shell_quoted(dir.file("fold.sql")));
  auto server = output_lines(out);
  REQUIRE(server.size() == texts.size());
  int differ = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (hex(search_fold(texts[i])) == server[i]) continue;
    ++differ;
    UNSCOPED_INFO("text " << i << " (" << hex(texts[i]) << "): daemon " << hex(search_fold(texts[i])) << ", server " << server[i]);
  }
  CHECK(differ == 0);
}

TEST_CASE("The daemon's words of a folded text are the server's to_tsvector() and phraseto_tsquery() of it", "[postgresql]") {
  auto url = sd::test::pg_test_database();
  open_store(url);
  std::vector<std::string> folded;
  for (const auto& t : fold_texts()) folded.push_back(search_fold(t));
  // Where the parser reads an alphanumeric run as more than one word: a number in scientific
  // notation first (the hex of a hash, 71e6e494, is two words to it).
  folded.push_back("71e6e494 0e2ee4e 12e3abc 1e5 abc1e5 1e 1ee5 e5 007 0x1f 2e10e 9e9e9e9 1e2345678");
  std::mt19937 rnd(7);
  for (int i = 0; i < 3000; ++i) {
    static const char* kPieces[] = {"0", "1", "e", "9", "x", "a", " ", "\xC3\xBC"};
    std::string t;
    for (int k = 1 + static_cast<int>(rnd() % 12); k > 0; --k) t += kPieces[rnd() % std::size(kPieces)];
    folded.push_back(search_fold(t));
  }
  // Limits: a word's 255 positions, position 16383, long words left out (from 2047 bytes;
  // a word of exactly 2047 bytes was read otherwise by a fresh Debian 12 root's server than by
  // this machine's, so the texts here stay clear of that edge).
  std::string many, longest;
  for (int i = 0; i < 300; ++i) many += "ja nej ";
  for (int i = 0; i < 17000; ++i) longest += i % 2 ? "b " : "c ";
  folded.push_back(many);
  folded.push_back(longest + "end");
  folded.push_back("x " + std::string(3000, 'a') + " y " + std::string(2046, 'b') + " z");
  std::string ae1023, ae1024;
  for (int i = 0; i < 1023; ++i) ae1023 += "\xC3\xA4";
  ae1024 = ae1023 + "\xC3\xA4";
  folded.push_back("x " + ae1023 + " " + ae1024 + " y");

  sd::test::TempDir dir;
  {
    std::ofstream in(dir.file("words"));
    // A query is a user's search word, of at most kMaxPhraseWords words: longer texts are
    // compared as vectors only.
    for (const auto& f : folded)
      in << hex(f) << "\t" << hex(search_vector(f)) << "\t" << hex(search_query(f)) << "\t"
         << (std::count(f.begin(), f.end(), ' ') < 200 ? 1 : 0) << "\n";
  }
  {
    std::ofstream sql(dir.file("words.sql"));
    sql << "SET client_min_messages = warning;\n"
        << "CREATE TEMP TABLE words (id serial, f text, v text, q text, c int);\n"
        << "\\copy words (f, v, q, c) FROM '" << dir.file("words") << "'\n"
        << "SELECT id, CAST(v AS tsvector)::text = to_tsvector('simple', f)::text, "
           "CASE WHEN c = 1 THEN CAST(q AS tsquery)::text = phraseto_tsquery('simple', f)::text ELSE true END FROM "
           "(SELECT id, c, convert_from(decode(f, 'hex'), 'UTF8') AS f, convert_from(decode(v, 'hex'), 'UTF8') AS v, "
           "convert_from(decode(q, 'hex'), 'UTF8') AS q FROM words) AS w ORDER BY id;\n";
  }
  auto out = sd::test::command_output("/usr/lib/postgresql/15/bin/psql -X -q -At -v ON_ERROR_STOP=1 -d " +
                                      sd::test::shell_quoted(url) + " -f " + sd::test::shell_quoted(dir.file("words.sql")));
  auto rows = output_lines(out);
  REQUIRE(rows.size() == folded.size());
  int differ = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    bool same_vector = rows[i].find("|t|") != std::string::npos;
    bool same_query = rows[i].size() > 2 && rows[i].substr(rows[i].size() - 2) == "|t";
    if (same_vector && same_query) continue;
    ++differ;
    UNSCOPED_INFO("folded text " << i << " (" << folded[i].substr(0, 200) << "): " << rows[i] << "; daemon's vector "
                                 << search_vector(folded[i]).substr(0, 200) << ", query " << search_query(folded[i]).substr(0, 200));
  }
  CHECK(differ == 0);
}

TEST_CASE("Message bodies are stored compressed with lz4, raw mails as they came, and both read back exactly", "[postgresql]") {
  auto url = sd::test::pg_test_database();
  auto st = open_store(url);
  std::string mail = "From: anna@kund.se\r\nSubject: Skrivaren\r\n\r\n";
  for (int i = 0; i < 400; ++i) mail += "Skrivaren skriver ut tomma sidor, rad " + std::to_string(i) + ".\r\n";
  std::int64_t raw_id = 0;
  {
    auto tx = st->begin(Store::Mode::write);
    raw_id = tx->add_raw({100, std::nullopt, "lz4@kund.se", "h", mail, "", false});
    auto ticket = tx->create_ticket(sd::test::new_ticket("Skrivaren", "anna@kund.se", "Anna", 100));
    MessageRecord m;
    m.ticket_id = ticket;
    m.raw_id = raw_id;
    m.direction = "in";
    m.body_text = m.new_text = mail;
    tx->add_message(m);
    tx->commit();
  }
  auto out = sd::test::command_output(
      "/usr/lib/postgresql/15/bin/psql -X -q -At -v ON_ERROR_STOP=1 -d " + sd::test::shell_quoted(url) + " -c " +
      sd::test::shell_quoted("SELECT pg_column_compression(r.bytes), pg_column_compression(m.body_text), "
                             "pg_column_size(m.body_text) < length(m.body_text) / 2 FROM raw_mails r JOIN messages m ON m.raw_id = r.id"));
  CHECK(out == "|lz4|t\n");  // the raw bytes' column is STORAGE EXTERNAL: never compressed
  auto tx = st->begin(Store::Mode::read);
  auto back = tx->quarantined_mail(raw_id);  // any raw mail by its id, with its bytes
  REQUIRE(back);
  CHECK(back->bytes == mail);
  CHECK(tx->messages(back->ticket_id.value_or(0)).at(0).body_text == mail);
}
