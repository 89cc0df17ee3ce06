// tests/store/test_store_incidents.cpp: major incidents in the store (store/incidents.h,
// schema 13) on either backend (tests/support/test_store.h): declaring one with its
// organisations and alert keys, a ticket linked to one incident at a time, unlinking kept on
// record, the open incident of an alert key, incidents by the time they were declared.
#include <catch2/catch.hpp>

#include "store/incidents.h"
#include "store/store.h"

#include <string>

#include "tests/support/new_ticket.h"
#include "tests/support/tempdir.h"
#include "tests/support/test_store.h"

using namespace sd::store;

namespace {

Incident incident_of(std::int64_t id, Time at) {
  Incident i;
  i.ticket_id = id;
  i.title = "Inloggningen ligger nere";
  i.declared_by = "agent@desk.example";
  i.declared_at = at;
  i.organisations = {"Kund AB", "Annan A/S", "Kund AB"};
  i.alert_keys = {"login-down"};
  return i;
}

}  // namespace

TEST_CASE("A declared incident reads back with its organisations, alert keys, root cause and follow-up") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto id = tx->create_ticket(sd::test::new_ticket("Login down", "agent@desk.example", "Agent", 1000, "highest"));
  tx->incidents().declare(incident_of(id, 1000));
  CHECK_THROWS_AS(tx->incidents().declare(incident_of(id, 1001)), StoreError);
  CHECK_THROWS_AS(tx->incidents().declare(incident_of(id + 99, 1001)), StoreError);
  CHECK(tx->incidents().add_alert_key(id, "db-down"));
  CHECK_FALSE(tx->incidents().add_alert_key(id, "db-down"));
  CHECK_FALSE(tx->incidents().add_organisation(id, "Annan A/S"));
  tx->incidents().set_root_cause(id, "Certifikatet gick ut");
  tx->incidents().set_follow_up(id, "Bevaka certifikat");
  tx->incidents().set_all_organisations(id, true);
  tx->commit();

  auto rd = st->begin(Store::Mode::read);
  auto i = rd->incidents().incident(id);
  REQUIRE(i);
  CHECK(i->title == "Inloggningen ligger nere");
  CHECK(i->declared_by == "agent@desk.example");
  CHECK(i->declared_at == 1000);
  CHECK(i->all_organisations);
  CHECK(i->organisations == std::vector<std::string>{"Annan A/S", "Kund AB"});
  CHECK(i->alert_keys == std::vector<std::string>{"db-down", "login-down"});
  CHECK(i->root_cause == "Certifikatet gick ut");
  CHECK(i->follow_up == "Bevaka certifikat");
  CHECK_FALSE(rd->incidents().incident(id + 1));
  CHECK(rd->incidents().incidents_declared(1000, 1001).size() == 1);
  CHECK(rd->incidents().incidents_declared(1001, 2000).empty());
}

TEST_CASE("A ticket is linked to one incident at a time, and its unlinking stays on record") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto& in = tx->incidents();
  auto a = tx->create_ticket(sd::test::new_ticket("Login down", "agent@desk.example", "Agent", 1000));
  auto b = tx->create_ticket(sd::test::new_ticket("DB down", "agent@desk.example", "Agent", 1000));
  auto t = tx->create_ticket(sd::test::new_ticket("Kan inte logga in", "anna@kund.se", "Anna", 1100));
  auto u = tx->create_ticket(sd::test::new_ticket("Fel", "bo@annan.dk", "Bo", 1200));
  in.declare(incident_of(a, 1000));
  in.declare(incident_of(b, 1000));
  CHECK_THROWS_AS(in.link({t, t, "agent@desk.example", 1100, "cli", "", std::nullopt}), StoreError);  // t is no incident
  CHECK_THROWS_AS(in.link({u + 50, a, "agent@desk.example", 1100, "cli", "", std::nullopt}), StoreError);
  in.link({t, a, "agent@desk.example", 1100, "mail", "", std::nullopt});
  in.link({u, a, "system", 1200, "alert-key", "", std::nullopt});
  CHECK(in.links(a, false).size() == 2);
  in.link({t, b, "agent@desk.example", 1300, "cli", "", std::nullopt});  // moved to b
  REQUIRE(in.link_of(t));
  CHECK(in.link_of(t)->incident_id == b);
  CHECK(in.links(a, false).size() == 1);
  CHECK(in.unlink(u, "agent@desk.example", 1400));
  CHECK_FALSE(in.unlink(u, "agent@desk.example", 1500));
  CHECK(in.links(a, false).empty());
  auto all = in.links(a, true);
  REQUIRE(all.size() == 1);
  CHECK(all[0].ticket_id == u);
  CHECK(all[0].how == "alert-key");
  CHECK(all[0].unlinked_by == "agent@desk.example");
  CHECK(all[0].unlinked_at == std::optional<Time>(1400));
  CHECK_FALSE(in.link_of(a));
  in.link({u, a, "agent@desk.example", 1600, "portal", "", std::nullopt});  // linked again
  CHECK_FALSE(in.link_of(u)->unlinked_at);
  tx->commit();
}

TEST_CASE("An alert key finds the newest open incident that names it, never a resolved one") {
  sd::test::TempDir dir;
  auto st = sd::test::open_test_store(dir);
  auto tx = st->begin(Store::Mode::write);
  auto a = tx->create_ticket(sd::test::new_ticket("Login down", "agent@desk.example", "Agent", 1000));
  auto b = tx->create_ticket(sd::test::new_ticket("Login down again", "agent@desk.example", "Agent", 2000));
  tx->incidents().declare(incident_of(a, 1000));
  CHECK(tx->incidents().open_incident_with_alert_key("login-down") == std::optional<std::int64_t>(a));
  tx->incidents().declare(incident_of(b, 2000));
  CHECK(tx->incidents().open_incident_with_alert_key("login-down") == std::optional<std::int64_t>(b));
  tx->write_status(b, "resolved", 3000);
  CHECK(tx->incidents().open_incident_with_alert_key("login-down") == std::optional<std::int64_t>(a));
  tx->write_status(a, "closed", 3000);
  CHECK_FALSE(tx->incidents().open_incident_with_alert_key("login-down"));
  CHECK_FALSE(tx->incidents().open_incident_with_alert_key("LOGIN-DOWN"));
  tx->commit();
}
