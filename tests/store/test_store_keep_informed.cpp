// tests/store/test_store_keep_informed.cpp: the store's KeepInformed (store/keep_informed.h) on
// both backends: account agents, organisation events, mailings recorded once (also by two
// connections, as two daemons), the agents' last words per ticket, and an organisation's
// tickets resolved in a window.
#include <catch2/catch.hpp>

#include "store/keep_informed.h"
#include "store/store.h"

#include "tests/support/new_ticket.h"
#include "tests/support/tempdir.h"
#include "tests/support/test_store.h"

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

}  // namespace

TEST_CASE("An organisation's account agent is set, replaced and removed; an unknown organisation is refused") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  two_organisations(*tx);
  auto& k = tx->keep_informed();
  CHECK(k.account_agent("Kund AB").empty());
  k.set_account_agent("Kund AB", "eva@example.com");
  k.set_account_agent("Kund AB", "bo@example.com");
  CHECK(k.account_agent("Kund AB") == "bo@example.com");
  CHECK(k.account_agent("Annan A/S").empty());
  k.set_account_agent("Kund AB", "");
  CHECK(k.account_agent("Kund AB").empty());
  try {
    k.set_account_agent("Ingen AB", "eva@example.com");
    FAIL("an unknown organisation took an account agent");
  } catch (const StoreError& e) {
    CHECK(e.refused);
    CHECK_FALSE(e.transient);
  }
  CHECK(k.account_agent("Ingen AB").empty());
}

TEST_CASE("Organisation events are kept in order per organisation") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  {
    auto tx = st->begin(Store::Mode::write);
    two_organisations(*tx);
    auto& k = tx->keep_informed();
    k.add_org_event({"Kund AB", 200, "eva@example.com", "hypercare-ended", "early"});
    k.add_org_event({"Kund AB", 100, "operator:root", "hypercare-extended", "by 2 weeks"});
    k.add_org_event({"Annan A/S", 150, "system", "hypercare-summary", "week 1"});
    CHECK_THROWS_AS(k.add_org_event({"Ingen AB", 1, "system", "x", ""}), StoreError);
    tx->commit();
  }
  auto tx = st->begin(Store::Mode::read);
  auto events = tx->keep_informed().org_events("Kund AB");
  REQUIRE(events.size() == 2);
  CHECK(events[0].kind == "hypercare-extended");
  CHECK(events[0].actor == "operator:root");
  CHECK(events[0].at == 100);
  CHECK(events[0].detail == "by 2 weeks");
  CHECK(events[1].kind == "hypercare-ended");
  CHECK(tx->keep_informed().org_events("Annan A/S").size() == 1);
}

TEST_CASE("A mailing is recorded once, also by a second connection after the first committed") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  {
    auto tx = st->begin(Store::Mode::write);
    two_organisations(*tx);
    CHECK(tx->keep_informed().record_org_mailing("Kund AB", "hypercare-summary:1", 100));
    CHECK_FALSE(tx->keep_informed().record_org_mailing("Kund AB", "hypercare-summary:1", 101));
    CHECK(tx->keep_informed().record_org_mailing("Annan A/S", "hypercare-summary:1", 100));
    tx->commit();
  }
  auto other = sd::test::open_test_store(dir);
  auto tx = other->begin(Store::Mode::write);
  CHECK_FALSE(tx->keep_informed().record_org_mailing("Kund AB", "hypercare-summary:1", 500));
  CHECK(tx->keep_informed().record_org_mailing("Kund AB", "hypercare-summary:2", 500));
}

TEST_CASE("A ticket keeps the agents' last words to its customer, the newest replacing the older") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto id = tx->create_ticket(sd::test::new_ticket("Skrivaren", "anna@kund.se", "Anna", 1000));
  auto& k = tx->keep_informed();
  CHECK_FALSE(k.customer_words(id));
  k.set_customer_words(id, {1100, "Eva Ek", "Vi tittar på det.\nMvh Eva"});
  k.set_customer_words(id, {1200, "Bo", "Tonern är beställd."});
  auto w = k.customer_words(id);
  REQUIRE(w);
  CHECK(w->at == 1200);
  CHECK(w->agent == "Bo");
  CHECK(w->words == "Tonern är beställd.");
}

TEST_CASE("An organisation's tickets resolved in a window are listed by resolution time") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  two_organisations(*tx);
  auto ticket = [&](const char* org, Time created, std::optional<Time> resolved) {
    auto nt = sd::test::new_ticket("T", "x@kund.se", "", created);
    nt.organisation = org;
    auto id = tx->create_ticket(nt);
    if (resolved) tx->set_resolved_at(id, *resolved);
    return id;
  };
  auto late = ticket("Kund AB", 100, 900);
  auto early = ticket("Kund AB", 100, 300);
  ticket("Kund AB", 100, 1000);   // at the window's end: outside
  ticket("Kund AB", 100, 99);     // before it
  ticket("Kund AB", 100, std::nullopt);
  ticket("Annan A/S", 100, 500);  // another organisation's
  CHECK(tx->keep_informed().tickets_resolved("Kund AB", 100, 1000) == std::vector<std::int64_t>{early, late});
}

TEST_CASE("The last update to a customer is the newest out message a person sent, not an automatic or internal one") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto id = tx->create_ticket(sd::test::new_ticket("Skrivaren", "anna@kund.se", "Anna", 1000));
  CHECK_FALSE(tx->keep_informed().last_customer_update(id));
  auto message = [&](const char* direction, Time at, const char* automatic, bool internal) {
    MessageRecord m;
    m.ticket_id = id;
    m.direction = direction;
    m.message_id = "m" + std::to_string(at) + "@example.com";
    m.from_addr = "servicedesk@example.com";
    m.subject = "Re: Skrivaren";
    m.body_text = m.new_text = "text";
    m.automatic = automatic;
    m.internal = internal;
    m.created_at = at;
    tx->add_message(m);
  };
  message("out", 1001, "auto-replied", false);  // the acknowledgement
  CHECK_FALSE(tx->keep_informed().last_customer_update(id));
  message("out", 1200, "", false);  // an agent's answer
  message("in", 1300, "", false);   // the customer's reply
  message("out", 1400, "auto-generated", false);
  message("out", 1500, "", true);
  CHECK(tx->keep_informed().last_customer_update(id) == 1200);
}
