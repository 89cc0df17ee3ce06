// tests/store/test_store_estimates.cpp: estimates the customer approves in the store (schema 13,
// store/estimates.h), on either backend (tests/support/test_store.h): one awaiting estimate per
// ticket, an answer set once, reminders and included-minutes notices recorded once even by two
// stores racing, the answered estimates of a month.
#include <catch2/catch.hpp>

#include "store/estimates.h"
#include "store/store.h"

#include <string>
#include <vector>

#include "tests/support/new_ticket.h"
#include "tests/support/tempdir.h"
#include "tests/support/test_store.h"

using namespace sd::store;

namespace {

Estimate estimate_of(std::int64_t ticket, Time at, std::int64_t seconds = 3 * 3600) {
  Estimate e;
  e.ticket_id = ticket;
  e.seconds = seconds;
  e.text = "Rebuild the CRM flow — två steg";
  e.agent = "eva@example.com";
  e.requester = "anna@kund.se";
  e.organisation = "Kund AB";
  e.created_at = at;
  return e;
}

std::int64_t a_ticket(Transaction& tx, Time at = 100) {
  return tx.create_ticket(sd::test::new_ticket("Flöde", "anna@kund.se", "Anna", at));
}

}  // namespace

TEST_CASE("An estimate is kept as given and a ticket has at most one awaiting an answer") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto t = a_ticket(*tx);
  auto id = tx->estimates().add_estimate(estimate_of(t, 200));
  auto e = tx->estimates().estimate(id);
  REQUIRE(e);
  CHECK(e->ticket_id == t);
  CHECK(e->seconds == 3 * 3600);
  CHECK(e->text == "Rebuild the CRM flow — två steg");
  CHECK(e->agent == "eva@example.com");
  CHECK(e->requester == "anna@kund.se");
  CHECK(e->organisation == "Kund AB");
  CHECK(e->created_at == 200);
  CHECK(e->state == "awaiting");
  CHECK_FALSE(e->answered_at);
  CHECK(e->answered_by.empty());
  REQUIRE(tx->estimates().awaiting_estimate(t));
  CHECK(tx->estimates().awaiting_estimate(t)->id == id);
  try {
    tx->estimates().add_estimate(estimate_of(t, 300));
    FAIL("a second awaiting estimate was taken");
  } catch (const StoreError& err) {
    CHECK(err.refused);
    CHECK_FALSE(err.transient);
  }
  CHECK_FALSE(tx->estimates().estimate(id + 100));
  CHECK_FALSE(tx->estimates().awaiting_estimate(t + 100));
  tx->commit();
}

TEST_CASE("An estimate is answered once: a second answer, or one to a withdrawn estimate, changes nothing") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto t = a_ticket(*tx);
  auto& es = tx->estimates();
  auto first = es.add_estimate(estimate_of(t, 200));
  CHECK(es.answer_estimate(first, "approved", "anna@kund.se", 400, "mail", "token; <m1@kund.se>"));
  CHECK_FALSE(es.answer_estimate(first, "declined", "bertil@kund.se", 500, "portal", "session"));
  auto e = *es.estimate(first);
  CHECK(e.state == "approved");
  CHECK(e.answered_by == "anna@kund.se");
  CHECK(e.answered_at == std::optional<Time>(400));
  CHECK(e.answered_via == "mail");
  CHECK(e.answer_detail == "token; <m1@kund.se>");
  CHECK_FALSE(es.awaiting_estimate(t));

  // Answered, the ticket may have a new one; withdrawn, it answers nothing any more.
  auto second = es.add_estimate(estimate_of(t, 600, 3600));
  CHECK(es.answer_estimate(second, "withdrawn", "eva@example.com", 700, "mail", "a newer estimate"));
  CHECK_FALSE(es.answer_estimate(second, "approved", "anna@kund.se", 800, "portal", "session"));
  CHECK(es.estimate(second)->state == "withdrawn");
  auto all = es.estimates_of(t);
  REQUIRE(all.size() == 2);
  CHECK(all[0].id == first);
  CHECK(all[1].id == second);
  tx->commit();
}

TEST_CASE("Of two stores answering one estimate, only the first answer counts") {
  sd::test::TempDir dir;
  auto a = sd::test::open_test_store(dir);
  auto b = sd::test::open_test_store(dir);
  std::int64_t id = 0;
  {
    auto tx = a->begin(Store::Mode::write);
    id = tx->estimates().add_estimate(estimate_of(a_ticket(*tx), 200));
    tx->commit();
  }
  {
    auto tx = a->begin(Store::Mode::write);
    CHECK(tx->estimates().answer_estimate(id, "approved", "anna@kund.se", 300, "mail", "token"));
    tx->commit();
  }
  auto tx = b->begin(Store::Mode::write);
  CHECK_FALSE(tx->estimates().answer_estimate(id, "declined", "anna@kund.se", 301, "portal", "session"));
  CHECK(tx->estimates().estimate(id)->state == "approved");
}

TEST_CASE("An estimate's reminders and an organisation's included-minutes notice are recorded once") {
  sd::test::TempDir dir;
  auto a = sd::test::open_test_store(dir);
  auto b = sd::test::open_test_store(dir);
  std::int64_t id = 0, t = 0;
  {
    auto tx = a->begin(Store::Mode::write);
    t = a_ticket(*tx);
    id = tx->estimates().add_estimate(estimate_of(t, 200));
    CHECK(tx->estimates().record_estimate_notice(id, "customer-reminder", 1000));
    CHECK(tx->estimates().record_allowance_notice("Kund AB", "2026-11", t, "eva@example.com", 1000));
    tx->commit();
  }
  auto tx = b->begin(Store::Mode::write);
  CHECK_FALSE(tx->estimates().record_estimate_notice(id, "customer-reminder", 1001));
  CHECK(tx->estimates().record_estimate_notice(id, "agent-told", 2000));
  CHECK_FALSE(tx->estimates().record_allowance_notice("Kund AB", "2026-11", t, "olle@example.com", 1001));
  CHECK(tx->estimates().record_allowance_notice("Kund AB", "2026-12", t, "eva@example.com", 3000));
  CHECK(tx->estimates().record_allowance_notice("Annan A/S", "2026-11", t, "eva@example.com", 3000));
  CHECK(tx->estimates().estimate_notices(id) == std::vector<std::string>{"customer-reminder", "agent-told"});
  tx->commit();
}

TEST_CASE("The estimates answered in a month are those whose answer falls in it, oldest answer first") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto& es = tx->estimates();
  auto t1 = a_ticket(*tx), t2 = a_ticket(*tx), t3 = a_ticket(*tx), t4 = a_ticket(*tx);
  auto e1 = es.add_estimate(estimate_of(t1, 100));
  auto e2 = es.add_estimate(estimate_of(t2, 100));
  auto e3 = es.add_estimate(estimate_of(t3, 100));
  es.add_estimate(estimate_of(t4, 100));  // still awaiting
  es.answer_estimate(e1, "approved", "anna@kund.se", 2000, "mail", "");
  es.answer_estimate(e2, "approved", "anna@kund.se", 1500, "portal", "");
  es.answer_estimate(e3, "declined", "anna@kund.se", 1600, "mail", "");
  auto approved = es.estimates_answered("approved", 1000, 3000);
  REQUIRE(approved.size() == 2);
  CHECK(approved[0].id == e2);
  CHECK(approved[1].id == e1);
  CHECK(es.estimates_answered("approved", 2001, 3000).empty());
  CHECK(es.estimates_answered("declined", 1000, 3000).size() == 1);
  CHECK(es.awaiting_estimates().size() == 1);
  tx->commit();
}
