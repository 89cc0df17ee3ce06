// tests/desk/test_desk_visibility.cpp: who sees what (organisation or own, a Cc'd contact,
// agents), one rule for mail and lists (may_see and scope_for agree on every ticket), and the
// directory's rules for the portal: one role per address, and removing or moving a person
// ends their sessions.
#include <catch2/catch.hpp>

#include "desk/directory.h"
#include "desk/visibility.h"
#include "tests/support/test_desk.h"

#include <algorithm>
#include <set>

using namespace sd;
using sd::test::kAgent;
using sd::test::kCustomer;
using sd::test::kNow;
using sd::test::TestDesk;

namespace {

// Acme gets a second contact, Karl, with a ticket of his own (SD-2); SD-1 is Anna's.
void add_colleague(TestDesk& d) {
  {
    auto tx = d.st->begin(store::Store::Mode::write);
    add_contact(*tx, {"karl@acme.se", "Karl", "Acme"});
    tx->commit();
  }
  auto r = d.take(TestDesk::mail("Karl <karl@acme.se>", "servicedesk@example.com", "Lönefilen", "k1@acme.se"));
  REQUIRE(r.ticket_id == 2);
}

void set_visibility(TestDesk& d, const std::string& who, const std::string& v) {
  auto tx = d.st->begin(store::Store::Mode::write);
  set_contact(*tx, who, std::nullopt, v);
  tx->commit();
}

bool sees(TestDesk& d, const std::string& who, std::int64_t ticket) {
  auto tx = d.st->begin(store::Store::Mode::read);
  return may_see(*tx, *tx->ticket(ticket), party_of(*tx, who));
}

// Every ticket: may_see and the list scope_for gives say the same.
void check_list_agrees(TestDesk& d, const std::string& who) {
  auto tx = d.st->begin(store::Store::Mode::read);
  auto p = party_of(*tx, who);
  auto q = scope_for(*tx, p);
  REQUIRE(q);
  std::set<std::int64_t> listed;
  for (const auto& t : tx->find_tickets(*q)) listed.insert(t.id);
  CHECK(tx->count_tickets(*q) == static_cast<std::int64_t>(listed.size()));
  for (const auto& t : tx->tickets()) {
    INFO(who << " and ticket " << t.id);
    CHECK(may_see(*tx, t, p) == (listed.count(t.id) == 1));
  }
}

store::PortalSession session(const std::string& email, const std::string& role) {
  return {email, role, "c", kNow, kNow};
}

}  // namespace

TEST_CASE("By default a contact sees the whole organisation's tickets, and the list agrees") {
  TestDesk d;
  add_colleague(d);
  CHECK(sees(d, kCustomer, 2));  // Karl's ticket
  CHECK(sees(d, "karl@acme.se", 1));
  CHECK_FALSE(sees(d, "bo@beta.dk", 1));
  CHECK(sees(d, kAgent, 1));
  for (const auto& who : {kCustomer, std::string("karl@acme.se"), std::string("bo@beta.dk"), kAgent})
    check_list_agrees(d, who);
}

TEST_CASE("A contact with own cannot see a colleague's ticket, by list, by may_see or by replying to it") {
  TestDesk d;
  add_colleague(d);
  set_visibility(d, kCustomer, "own");
  CHECK(sees(d, kCustomer, 1));
  CHECK_FALSE(sees(d, kCustomer, 2));
  check_list_agrees(d, kCustomer);
  // Anna answers with Karl's ticket's tag: her mail opens a ticket of her own instead.
  auto before = d.ticket(2).message_count;
  auto r = d.take(TestDesk::mail("Anna Berg <" + kCustomer + ">", "servicedesk@example.com", "Re: [SD-2] Lönefilen",
                                 "a2@acme.se"));
  CHECK(r.ticket_id == 3);
  CHECK(d.ticket(2).message_count == before);
}

TEST_CASE("An organisation set to own narrows its contacts who inherit, not one who chose organisation") {
  TestDesk d;
  add_colleague(d);
  {
    auto tx = d.st->begin(store::Store::Mode::write);
    auto o = *tx->organisation("Acme");
    o.visibility = "own";
    tx->update_organisation(o);
    tx->commit();
  }
  CHECK_FALSE(sees(d, kCustomer, 2));
  CHECK_FALSE(sees(d, "karl@acme.se", 1));
  set_visibility(d, "karl@acme.se", "organisation");
  CHECK(sees(d, "karl@acme.se", 1));
  check_list_agrees(d, kCustomer);
  check_list_agrees(d, "karl@acme.se");
}

TEST_CASE("A contact with own who is on a ticket's Cc list sees it, and not once an agent removed them") {
  TestDesk d;
  add_colleague(d);
  set_visibility(d, kCustomer, "own");
  // Karl writes on his ticket with Anna in Cc: the desk keeps her on its Cc list.
  auto before = d.ticket(2).message_count;
  d.take(TestDesk::mail("Karl <karl@acme.se>", "servicedesk@example.com", "Re: [SD-2] Lönefilen", "k2@acme.se",
                        "Cc: " + kCustomer + "\r\n"));
  CHECK(d.ticket(2).message_count > before);
  CHECK(sees(d, kCustomer, 2));
  check_list_agrees(d, kCustomer);
  {
    auto tx = d.st->begin(store::Store::Mode::write);
    tx->set_cc(2, {kCustomer, kAgent, kNow + 100, true}, true);
    tx->commit();
  }
  CHECK_FALSE(sees(d, kCustomer, 2));
  check_list_agrees(d, kCustomer);
}

TEST_CASE("Another organisation's contact sees a ticket only when put on its Cc list") {
  TestDesk d;
  CHECK_FALSE(sees(d, "bo@beta.dk", 1));
  {
    auto tx = d.st->begin(store::Store::Mode::write);
    tx->set_cc(1, {"bo@beta.dk", kAgent, kNow + 100, false}, true);
    tx->commit();
  }
  CHECK(sees(d, "bo@beta.dk", 1));
  check_list_agrees(d, "bo@beta.dk");
}

TEST_CASE("A stranger on a ticket's thread may still answer by mail, but has no list") {
  TestDesk d;
  d.take(TestDesk::mail("Anna Berg <" + kCustomer + ">", "servicedesk@example.com", "Re: [SD-1] Skrivaren", "c2@acme.se",
                        "Cc: Lev <lev@supplier.example>\r\n"));
  CHECK(sees(d, "lev@supplier.example", 1));
  CHECK_FALSE(sees(d, "other@supplier.example", 1));
  auto tx = d.st->begin(store::Store::Mode::read);
  CHECK_FALSE(scope_for(*tx, party_of(*tx, "lev@supplier.example")));
  CHECK_FALSE(scope_for(*tx, party_of(*tx, kAgent, true)));  // several From: no rights, no list
}

TEST_CASE("An address is a contact or an agent, never both") {
  TestDesk d;
  auto tx = d.st->begin(store::Store::Mode::write);
  CHECK_THROWS_WITH(add_contact(*tx, {"EVA@example.com", "Eva", "Beta"}), Catch::Contains("is an agent"));
  CHECK_THROWS_WITH(add_agent(*tx, {"Anna@Acme.se", "Anna"}), Catch::Contains("is a contact of 'Acme'"));
  CHECK_FALSE(tx->contact(kAgent));
  CHECK_FALSE(tx->agent(kCustomer));
  try {
    add_agent(*tx, {kCustomer, ""});
  } catch (const DirectoryError& e) {
    CHECK_FALSE(e.malformed);  // a rule, not a typo: exit 65
  }
}

TEST_CASE("Removing a contact or an agent ends their portal sessions in the same transaction") {
  TestDesk d;
  {
    auto tx = d.st->begin(store::Store::Mode::write);
    tx->add_session("anna-1", session(kCustomer, "contact"));
    tx->add_session("anna-2", session(kCustomer, "contact"));
    tx->add_session("eva", session(kAgent, "agent"));
    tx->add_session("bo", session("bo@beta.dk", "contact"));
    CHECK(remove_contact(*tx, "Anna@acme.se"));
    CHECK(remove_agent(*tx, kAgent));
    CHECK_FALSE(remove_contact(*tx, "nobody@acme.se"));
    tx->commit();
  }
  auto tx = d.st->begin(store::Store::Mode::read);
  CHECK_FALSE(tx->session("anna-1"));
  CHECK_FALSE(tx->session("anna-2"));
  CHECK_FALSE(tx->session("eva"));
  CHECK(tx->session("bo"));
}

TEST_CASE("A removal that rolls back leaves the sessions") {
  TestDesk d;
  {
    auto tx = d.st->begin(store::Store::Mode::write);
    tx->add_session("anna", session(kCustomer, "contact"));
    tx->commit();
  }
  {
    auto tx = d.st->begin(store::Store::Mode::write);
    remove_contact(*tx, kCustomer);
  }
  CHECK(d.st->begin(store::Store::Mode::read)->session("anna"));
}

TEST_CASE("Moving a contact to another organisation ends their sessions and changes what they see") {
  TestDesk d;
  {
    auto tx = d.st->begin(store::Store::Mode::write);
    tx->add_session("anna", session(kCustomer, "contact"));
    tx->add_session("bo", session("bo@beta.dk", "contact"));
    set_contact(*tx, "bo@beta.dk", std::nullopt, "own");  // no move: the session stays
    auto moved = set_contact(*tx, kCustomer, std::string("Beta"), std::nullopt);
    CHECK(moved.organisation == "Beta");
    CHECK(moved.visibility == "inherit");
    tx->commit();
  }
  auto tx = d.st->begin(store::Store::Mode::read);
  CHECK_FALSE(tx->session("anna"));
  CHECK(tx->session("bo"));
  // SD-1 was Acme's and hers: she still sees it as its requester, through Beta nothing more.
  CHECK(may_see(*tx, *tx->ticket(1), party_of(*tx, kCustomer)));
  CHECK(tx->contact(kCustomer)->organisation == "Beta");
}

TEST_CASE("set_contact refuses what does not fit: no such contact, organisation or visibility, a full organisation") {
  TestDesk d;
  auto tx = d.st->begin(store::Store::Mode::write);
  CHECK_THROWS_AS(set_contact(*tx, "nobody@acme.se", std::nullopt, "own"), DirectoryError);
  CHECK_THROWS_WITH(set_contact(*tx, kCustomer, std::string("Nowhere"), std::nullopt), Catch::Contains("no organisation"));
  try {
    set_contact(*tx, kCustomer, std::nullopt, "everyone");
    FAIL("accepted");
  } catch (const DirectoryError& e) {
    CHECK(e.malformed);
  }
  for (int i = 1; i < static_cast<int>(kMaxContacts); ++i)
    add_contact(*tx, {"c" + std::to_string(i) + "@beta.dk", "", "Beta"});
  CHECK_THROWS_WITH(set_contact(*tx, kCustomer, std::string("Beta"), std::nullopt), Catch::Contains("the most allowed"));
  CHECK(tx->contact(kCustomer)->organisation == "Acme");
  CHECK_THROWS_AS(add_contact(*tx, {"x@acme.se", "", "Acme", "public"}), DirectoryError);
}
