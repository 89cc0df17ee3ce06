// tests/store/test_store_notices.cpp: maintenance notices in the store (store/notices.h) on
// either backend (tests/support/test_store.h): a notice and its organisations kept as given,
// the coming ones (not ended, not cancelled), cancelling once, and the once-only key of a
// notice's mails, also between two connections racing.
#include <catch2/catch.hpp>

#include "store/notices.h"
#include "store/store.h"

#include "tests/support/tempdir.h"
#include "tests/support/test_store.h"

#include <string>

using namespace sd::store;

namespace {

void two_organisations(Transaction& tx) {
  Organisation kund;
  kund.name = "Kund AB";
  kund.domains = {"kund.se"};
  tx.add_organisation(kund);
  Organisation annan;
  annan.name = "Annan A/S";
  annan.domains = {"annan.dk"};
  tx.add_organisation(annan);
}

Notice notice_of(const std::string& kind, Time start, Time end) {
  Notice n;
  n.kind = kind;
  n.starts_at = start;
  n.ends_at = end;
  n.text = "Planned work on the database servers.";
  n.created_at = 1000;
  n.created_by = "operator:root";
  return n;
}

}  // namespace

TEST_CASE("A maintenance notice is kept as given, with the organisations it concerns") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  two_organisations(*tx);
  auto all = notice_of("infrastructure", 5000, 8600);
  all.text_sv = "Planerat arbete på databasservrarna.";
  auto some = notice_of("emergency", 3000, 4000);
  some.all_organisations = false;
  some.organisations = {"Kund AB", "Annan A/S", "Kund AB"};
  auto a = tx->notices().add_notice(all);
  auto b = tx->notices().add_notice(some);
  CHECK(a != b);
  tx->commit();

  auto rx = st->begin(Store::Mode::read);
  auto n = rx->notices().notice(a);
  REQUIRE(n);
  CHECK(n->kind == "infrastructure");
  CHECK(n->starts_at == 5000);
  CHECK(n->ends_at == 8600);
  CHECK(n->all_organisations);
  CHECK(n->organisations.empty());
  CHECK(n->text == "Planned work on the database servers.");
  CHECK(n->text_sv == "Planerat arbete på databasservrarna.");
  CHECK(n->text_da.empty());
  CHECK(n->created_by == "operator:root");
  CHECK_FALSE(n->cancelled_at);
  auto m = rx->notices().notice(b);
  REQUIRE(m);
  CHECK_FALSE(m->all_organisations);
  CHECK(m->organisations == std::vector<std::string>{"Annan A/S", "Kund AB"});  // each once, by name
  auto list = rx->notices().notices();
  REQUIRE(list.size() == 2);
  CHECK(list[0].id == b);  // by start
  CHECK_FALSE(rx->notices().notice(9999));
}

TEST_CASE("A notice naming an organisation that does not exist is refused and nothing is kept") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  {
    auto tx = st->begin(Store::Mode::write);
    two_organisations(*tx);
    tx->commit();
  }
  auto tx = st->begin(Store::Mode::write);
  auto n = notice_of("upgrade", 5000, 6000);
  n.all_organisations = false;
  n.organisations = {"Kund AB", "Nobody Ltd"};
  try {
    tx->notices().add_notice(n);
    FAIL("no refusal");
  } catch (const StoreError& e) {
    CHECK(e.refused);
    CHECK(std::string(e.what()) == "no organisation named 'Nobody Ltd'");
  }
  CHECK(tx->notices().notices().empty());
}

TEST_CASE("Coming notices are those not cancelled whose window has not ended; a notice is cancelled once") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto ended = tx->notices().add_notice(notice_of("infrastructure", 1000, 2000));
  auto running = tx->notices().add_notice(notice_of("integrations", 1500, 3000));
  auto later = tx->notices().add_notice(notice_of("upgrade", 4000, 5000));
  auto cancelled = tx->notices().add_notice(notice_of("upgrade", 4500, 5000));
  CHECK(tx->notices().cancel_notice(cancelled, 2500));
  CHECK_FALSE(tx->notices().cancel_notice(cancelled, 2600));  // once
  CHECK_FALSE(tx->notices().cancel_notice(777, 2600));
  auto coming = tx->notices().coming_notices(2500);
  REQUIRE(coming.size() == 2);
  CHECK(coming[0].id == running);
  CHECK(coming[1].id == later);
  CHECK(tx->notices().coming_notices(2000).size() == 2);  // ended at 2000: ends_at is not after now
  CHECK(tx->notices().notice(cancelled)->cancelled_at == std::optional<Time>(2500));
  CHECK(tx->notices().notice(ended)->ends_at == 2000);
  tx->commit();
}

TEST_CASE("A notice's mail is recorded once per recipient and kind, also by two connections") {
  sd::test::TempDir dir;
  auto a = sd::test::open_test_store(dir);
  auto b = sd::test::open_test_store(dir);
  std::int64_t id = 0;
  {
    auto tx = a->begin(Store::Mode::write);
    id = tx->notices().add_notice(notice_of("infrastructure", 5000, 6000));
    CHECK(tx->notices().record_notice_mail({id, "anna@kund.se", "notice", "Kund AB", 100}));
    CHECK_FALSE(tx->notices().record_notice_mail({id, "anna@kund.se", "notice", "Kund AB", 101}));
    CHECK(tx->notices().record_notice_mail({id, "anna@kund.se", "cancellation", "Kund AB", 102}));
    tx->commit();
  }
  {
    auto tx = b->begin(Store::Mode::write);  // a second daemon, after the first committed
    CHECK_FALSE(tx->notices().record_notice_mail({id, "anna@kund.se", "notice", "Kund AB", 200}));
    CHECK(tx->notices().record_notice_mail({id, "bo@annan.dk", "notice", "Annan A/S", 200}));
    tx->commit();
  }
  auto rx = a->begin(Store::Mode::read);
  auto mails = rx->notices().notice_mails(id);
  REQUIRE(mails.size() == 3);
  CHECK(mails[0].recipient == "anna@kund.se");
  CHECK(mails[0].what == "notice");
  CHECK(mails[0].at == 100);
  CHECK(mails[1].what == "cancellation");
  CHECK(mails[2].recipient == "bo@annan.dk");
  CHECK(mails[2].organisation == "Annan A/S");
}

TEST_CASE("A rolled-back notice leaves nothing behind") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  {
    auto tx = st->begin(Store::Mode::write);
    auto id = tx->notices().add_notice(notice_of("emergency", 5000, 6000));
    tx->notices().record_notice_mail({id, "anna@kund.se", "notice", "Kund AB", 100});
  }  // no commit
  auto rx = st->begin(Store::Mode::read);
  CHECK(rx->notices().notices().empty());
}
